//! Broadcasts: progress committed with a chunk's messages (and not without them), status
//! changes only from the states named, held batches, leases, and the bulk lane claimed after
//! the transactional one.

use textbird_store::{AcceptOutcome, Broadcast, BroadcastProgress, Lane, Store};

use crate::fixtures::{PRICE, T0, accept, batch, claim, claim_ids, message, phone, scheduled};

fn broadcast(account_id: &str) -> Broadcast {
    Broadcast {
        id: textbird_types::new_id(),
        account_id: account_id.to_owned(),
        name: "Spring".into(),
        status: "expanding".into(),
        pause_reason: None,
        spec: "{}".into(),
        send_at: None,
        recipients: 3,
        read: 0,
        expanded: 0,
        skipped_duplicate: 0,
        skipped_opted_out: 0,
        skipped_unsubscribed: 0,
        skipped_invalid: 0,
        total_price: 0,
        position: "0:".into(),
        created_at: T0,
        updated_at: T0,
        completed_at: None,
        skipped_frequency_cap: 0,
        deferred: 0,
        campaign_id: None,
    }
}

pub async fn a_chunk_commits_its_progress_with_its_messages_only(store: &Store) {
    let acme = crate::fixtures::account(store, 2 * PRICE).await;
    let b = broadcast(&acme);
    store.create_broadcast(&b).await.unwrap();
    let mut chunk = batch(&acme, vec![message(&acme, &phone(1), PRICE), message(&acme, &phone(2), PRICE)]);
    for m in &mut chunk.messages {
        m.batch_id.clone_from(&b.id);
    }
    chunk.lane = Lane::Bulk;
    chunk.progress = Some(BroadcastProgress {
        broadcast_id: b.id.clone(),
        position: "1:+31610000002".into(),
        read: 3,
        expanded: 2,
        skipped_duplicate: 1,
        price: 2 * PRICE,
        ..BroadcastProgress::default()
    });
    accept(store, chunk).await;
    let got = store.find_broadcast(&acme, &b.id).await.unwrap().unwrap();
    assert_eq!((got.position.as_str(), got.read, got.expanded, got.skipped_duplicate), ("1:+31610000002", 3, 2, 1));
    assert_eq!((got.total_price, got.status.as_str()), (2 * PRICE, "expanding"));
    let known = store.batch_numbers(&b.id, &[&phone(1), &phone(3)]).await.unwrap();
    assert_eq!(known, vec![phone(1)]);

    // The account cannot pay for the next chunk: neither its messages nor its progress stay.
    let mut poor = batch(&acme, vec![message(&acme, &phone(3), PRICE)]);
    poor.progress = Some(BroadcastProgress {
        broadcast_id: b.id.clone(),
        position: "done".into(),
        read: 1,
        expanded: 1,
        done: true,
        ..BroadcastProgress::default()
    });
    assert_eq!(store.accept(poor).await.unwrap(), AcceptOutcome::InsufficientBalance);
    let same = store.find_broadcast(&acme, &b.id).await.unwrap().unwrap();
    assert_eq!((same.position.as_str(), same.read, same.status.as_str()), ("1:+31610000002", 3, "expanding"));

    // An empty last chunk finishes the expansion.
    let mut last = batch(&acme, Vec::new());
    last.progress = Some(BroadcastProgress {
        broadcast_id: b.id.clone(),
        position: "done".into(),
        done: true,
        ..Default::default()
    });
    accept(store, last).await;
    let done = store.find_broadcast(&acme, &b.id).await.unwrap().unwrap();
    assert_eq!((done.position.as_str(), done.status.as_str()), ("done", "running"));
    let other = crate::fixtures::account(store, 0).await;
    assert!(store.find_broadcast(&other, &b.id).await.unwrap().is_none(), "another account's is absent");
}

pub async fn status_changes_only_from_the_states_named_and_leases_exclude_each_other(store: &Store) {
    let acme = crate::fixtures::account(store, 0).await;
    let b = broadcast(&acme);
    store.create_broadcast(&b).await.unwrap();
    let other = crate::fixtures::account(store, 0).await;
    assert!(!store.set_broadcast_status(&other, &b.id, &["expanding"], "paused", None, T0).await.unwrap());
    assert!(store.set_broadcast_status(&acme, &b.id, &["expanding"], "paused", Some("manual"), T0).await.unwrap());
    assert!(!store.set_broadcast_status(&acme, &b.id, &["expanding", "running"], "paused", None, T0).await.unwrap());
    let got = store.find_broadcast(&acme, &b.id).await.unwrap().unwrap();
    assert_eq!((got.status.as_str(), got.pause_reason.as_deref()), ("paused", Some("manual")));
    assert!(store.open_broadcasts(10).await.unwrap().iter().all(|o| o.id != b.id), "a paused one is not open");
    assert!(store.set_broadcast_status(&acme, &b.id, &["paused"], "canceled", None, T0 + 1).await.unwrap());
    assert_eq!(store.find_broadcast(&acme, &b.id).await.unwrap().unwrap().completed_at, Some(T0 + 1));

    assert!(store.lease_broadcast(&b.id, "a", T0, T0 + 1000).await.unwrap());
    assert!(!store.lease_broadcast(&b.id, "b", T0 + 999, T0 + 2000).await.unwrap(), "held by a");
    assert!(store.lease_broadcast(&b.id, "a", T0 + 999, T0 + 2000).await.unwrap(), "a renews");
    assert!(store.lease_broadcast(&b.id, "b", T0 + 2001, T0 + 3000).await.unwrap(), "expired: b takes it");
}

pub async fn a_held_batch_is_not_promoted_until_let_go(store: &Store) {
    let acme = crate::fixtures::account(store, 10 * PRICE).await;
    let mut held = batch(&acme, vec![scheduled(&acme, &phone(1), PRICE, T0 + 10)]);
    let batch_id = held.messages[0].batch_id.clone();
    held.lane = Lane::Bulk;
    let ids = accept(store, held).await;
    assert_eq!(store.hold_batch(&acme, &batch_id, true, 0).await.unwrap(), 1);
    assert!(claim_ids(store, claim("n", T0 + 100, T0 + 1000, 10)).await.is_empty(), "held");
    assert_eq!(store.scheduled_of_batch(&acme, &batch_id, 10).await.unwrap(), ids);
    assert_eq!(store.hold_batch(&acme, &batch_id, false, 0).await.unwrap(), 1);
    assert_eq!(claim_ids(store, claim("n", T0 + 100, T0 + 1000, 10)).await, ids, "let go at its time");
    let counts = store.batch_status_counts(&acme, &batch_id).await.unwrap();
    assert_eq!(counts.len(), 1);
    assert_eq!((counts[0].status.as_str(), counts[0].count, counts[0].price), ("queued", 1, PRICE));
}

pub async fn the_transactional_lane_is_claimed_before_the_bulk_lane(store: &Store) {
    let acme = crate::fixtures::account(store, 100 * PRICE).await;
    let mut bulk = batch(&acme, (0..5).map(|i| message(&acme, &phone(i), PRICE)).collect());
    bulk.lane = Lane::Bulk;
    let bulk_ids = accept(store, bulk).await;
    // Created later (due later), but transactional.
    let mut single = message(&acme, &phone(99), PRICE);
    single.created_at = T0 + 5;
    let single_id = accept(store, batch(&acme, vec![single])).await;
    let first = claim_ids(store, claim("n", T0 + 10, T0 + 1000, 1)).await;
    assert_eq!(first, single_id, "the single send goes first");
    let rest = claim_ids(store, claim("n", T0 + 10, T0 + 1000, 10)).await;
    assert_eq!(rest.len(), bulk_ids.len());
}
