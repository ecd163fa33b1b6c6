//! Failed password checks counted in the database, batch ownership, and opt-out pages
//! filtered in the query.

use textbird_store::{Page, Store};

use crate::fixtures::{T0, accept, account, batch, messages};

const HOUR: i64 = 3_600_000;

pub async fn login_failures_are_counted_per_subject_within_the_window(store: &Store) {
    assert!(store.login_failures(&["user:a", "addr:1"], T0).await.unwrap().is_empty());
    store.record_login_failure(&["user:a", "addr:1"], T0).await.unwrap();
    store.record_login_failure(&["user:a", "addr:2"], T0 + 10).await.unwrap();
    store.record_login_failure(&["user:b"], T0 + 20).await.unwrap();
    let mut counts = store.login_failures(&["user:a", "addr:1", "addr:3"], T0).await.unwrap();
    counts.sort_by(|a, b| a.subject.cmp(&b.subject));
    let seen: Vec<(&str, u32, i64, i64)> =
        counts.iter().map(|c| (c.subject.as_str(), c.failures, c.first_at, c.last_at)).collect();
    assert_eq!(seen, [("addr:1", 1, T0, T0), ("user:a", 2, T0, T0 + 10)], "only the subjects asked, with failures");
    let later = store.login_failures(&["user:a"], T0 + 5).await.unwrap();
    assert_eq!((later[0].failures, later[0].first_at), (1, T0 + 10), "older failures are outside the window");

    assert_eq!(store.prune_login_failures(T0 + 15).await.unwrap(), 4, "the four rows older than the cut");
    assert!(store.login_failures(&["user:a"], T0 - HOUR).await.unwrap().is_empty());
    assert_eq!(store.login_failures(&["user:b"], T0 - HOUR).await.unwrap()[0].failures, 1);
}

pub async fn a_batch_exists_for_its_own_account_only(store: &Store) {
    let acme = account(store, 1_000_000).await;
    let other = account(store, 1_000_000).await;
    let b = batch(&acme, messages(&acme, 2));
    let batch_id = b.messages[0].batch_id.clone();
    accept(store, b).await;
    assert!(store.batch_exists(&acme, &batch_id).await.unwrap());
    assert!(!store.batch_exists(&other, &batch_id).await.unwrap(), "another account's batch is not there");
    assert!(!store.batch_exists(&acme, "no-such-batch").await.unwrap());
}

pub async fn account_wide_opt_outs_fill_every_page(store: &Store) {
    let acme = account(store, 0).await;
    // Sender-scoped opt-outs sort between the account-wide ones; a page of account-wide ones
    // must not come back short because of them.
    for i in 0..10 {
        let phone = format!("+3161234{i:04}");
        let sender = if i % 2 == 0 { "" } else { "+3197010000001" };
        store.set_opt_out(&acme, &phone, sender, true).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_opt_outs(&acme, Some(""), &Page { after: after.clone(), limit: 2 }).await.unwrap();
        assert!(page.iter().all(|o| o.sender.is_empty()), "only account-wide ones");
        seen.extend(page.iter().map(|o| o.phone.clone()));
        if page.len() < 2 {
            break;
        }
        after = page.last().map(|o| o.phone.clone());
    }
    assert_eq!(seen.len(), 5, "every account-wide opt-out, in full pages: {seen:?}");
    assert_eq!(store.list_opt_outs(&acme, None, &Page { after: None, limit: 100 }).await.unwrap().len(), 10);
}
