//! Inbound messages and the opt-outs their keywords change.

use textbird_store::{NewInbound, Page, Store};
use textbird_types::new_id;

use crate::fixtures::T0;

const HANDSET: &str = "+31612345678";
const OUR_NUMBER: &str = "+3197010000001";

fn inbound(account_id: &str, body: &str, keyword: Option<&str>, opt_out_sender: &str, at: i64) -> NewInbound {
    NewInbound {
        id: new_id(),
        account_id: account_id.to_owned(),
        from: HANDSET.into(),
        to: OUR_NUMBER.into(),
        body: body.into(),
        connector: "simulator".into(),
        keyword: keyword.map(str::to_owned),
        opt_out_sender: opt_out_sender.into(),
        created_at: at,
    }
}

async fn opted_out(store: &Store, account_id: &str, sender: &str) -> Vec<String> {
    store.opted_out(account_id, sender, &[HANDSET, "+31687654321"]).await.unwrap()
}

/// The stored opt-outs of the account: `(phone, sender)`.
async fn stored_opt_outs(store: &Store, account_id: &str) -> Vec<(String, String)> {
    let page = Page { after: None, limit: 100 };
    store.list_opt_outs(account_id, None, &page).await.unwrap().into_iter().map(|o| (o.phone, o.sender)).collect()
}

fn entry(sender: &str) -> (String, String) {
    (HANDSET.to_owned(), sender.to_owned())
}

pub async fn stop_opts_out_and_start_opts_back_in(store: &Store) {
    let acme = crate::fixtures::account(store, 0).await;
    let other = crate::fixtures::account(store, 0).await;
    store.receive(inbound(&acme, "hello", None, "", T0)).await.unwrap();
    assert!(stored_opt_outs(store, &acme).await.is_empty(), "an ordinary message opts nobody out");

    store.receive(inbound(&acme, " Stop ", Some("stop"), "", T0 + 1)).await.unwrap();
    assert_eq!(stored_opt_outs(store, &acme).await, [entry("")]);
    assert!(stored_opt_outs(store, &other).await.is_empty(), "only for the account it was sent to");
    store.receive(inbound(&acme, "STOP", Some("stop"), "", T0 + 2)).await.unwrap();
    assert_eq!(stored_opt_outs(store, &acme).await, [entry("")], "a second STOP is harmless");

    store.receive(inbound(&acme, "start", Some("start"), "", T0 + 3)).await.unwrap();
    assert!(stored_opt_outs(store, &acme).await.is_empty());

    let received = store.list_inbound(&acme, &Page { after: None, limit: 10 }).await.unwrap();
    let bodies: Vec<&str> = received.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["start", "STOP", " Stop ", "hello"], "every inbound message is kept, newest first");
    assert_eq!(received[0].keyword.as_deref(), Some("start"));
    assert_eq!(received[3].keyword, None);
}

pub async fn sender_scoped_stop_applies_to_that_sender_only(store: &Store) {
    let acme = crate::fixtures::account(store, 0).await;
    store.receive(inbound(&acme, "STOP", Some("stop"), OUR_NUMBER, T0)).await.unwrap();
    assert_eq!(stored_opt_outs(store, &acme).await, [entry(OUR_NUMBER)]);
    store.receive(inbound(&acme, "START", Some("start"), "", T0 + 1)).await.unwrap();
    assert_eq!(stored_opt_outs(store, &acme).await, [entry(OUR_NUMBER)], "START in another scope removes nothing");
    store.receive(inbound(&acme, "START", Some("start"), OUR_NUMBER, T0 + 2)).await.unwrap();
    assert!(stored_opt_outs(store, &acme).await.is_empty());
}

/// What sends consult: once `receive` returns, its keyword is in force (RELIABILITY.md: a send
/// to an opted-out number is refused). Repeated, because a stale read is a race.
pub async fn opted_out_reflects_a_keyword_as_soon_as_receive_returns(store: &Store) {
    let acme = crate::fixtures::account(store, 0).await;
    let mut at = T0;
    for round in 0..20 {
        at += 10;
        store.receive(inbound(&acme, "STOP", Some("stop"), "", at)).await.unwrap();
        assert_eq!(opted_out(store, &acme, "Acme").await, [HANDSET], "round {round}: after STOP");
        assert_eq!(
            opted_out(store, &acme, "Other").await,
            [HANDSET],
            "round {round}: account scope covers every sender"
        );
        store.receive(inbound(&acme, "START", Some("start"), "", at + 1)).await.unwrap();
        assert!(opted_out(store, &acme, "Acme").await.is_empty(), "round {round}: after START");
        store.receive(inbound(&acme, "STOP", Some("stop"), OUR_NUMBER, at + 2)).await.unwrap();
        assert_eq!(opted_out(store, &acme, OUR_NUMBER).await, [HANDSET], "round {round}: after a sender-scoped STOP");
        assert!(opted_out(store, &acme, "Acme").await.is_empty(), "round {round}: only for that sender");
        store.receive(inbound(&acme, "START", Some("start"), OUR_NUMBER, at + 3)).await.unwrap();
        assert!(opted_out(store, &acme, OUR_NUMBER).await.is_empty(), "round {round}: after a sender-scoped START");
    }
}
