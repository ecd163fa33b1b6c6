//! The queue: leases, their expiry, retries, scheduled messages and cancelation.

use textbird_store::{StatusChange, Store};
use textbird_types::Status;

use crate::fixtures::{
    PRICE, T0, accept, accept_one, assert_balance, batch, claim, claim_ids, claimed, events_of, messages, phone,
    scheduled, status_of,
};

const LEASE_MS: i64 = 60_000;

pub async fn claim_leases_up_to_limit_and_never_twice_while_leased(store: &Store) {
    let acme = crate::fixtures::account(store, 1_000_000).await;
    let mut ids = accept(store, batch(&acme, messages(&acme, 5))).await;
    ids.sort();

    let first = claimed(store, claim("node-a", T0, T0 + LEASE_MS, 3)).await;
    assert_eq!(first.len(), 3, "no more than the limit");
    for item in &first {
        assert!(!item.possible_duplicate, "a first lease is not a duplicate");
        assert_eq!(item.attempts, 1);
        assert_eq!(item.due_at, T0);
        assert_eq!(item.account_id, acme);
    }
    let second = claim_ids(store, claim("node-b", T0 + 1, T0 + LEASE_MS, 10)).await;
    assert_eq!(second.len(), 2, "only what is not leased");
    let mut all: Vec<String> = first.iter().map(|d| d.id.clone()).chain(second).collect();
    all.sort();
    all.dedup();
    assert_eq!(all, ids, "every message handed out exactly once");

    assert!(claim_ids(store, claim("node-c", T0 + LEASE_MS - 1, T0 + 2 * LEASE_MS, 10)).await.is_empty());
    for id in &ids {
        assert_eq!(status_of(store, &acme, id).await, "queued", "a leased message stays queued");
    }
}

pub async fn expired_lease_hands_message_out_again_as_possible_duplicate(store: &Store) {
    let acme = crate::fixtures::account(store, 1_000_000).await;
    let ids = accept(store, batch(&acme, messages(&acme, 2))).await;
    assert_eq!(claimed(store, claim("node-a", T0, T0 + LEASE_MS, 10)).await.len(), 2);

    // node-a died without reporting; its leases run out.
    let again = claimed(store, claim("node-b", T0 + LEASE_MS, T0 + 2 * LEASE_MS, 10)).await;
    assert_eq!(again.len(), 2, "expired leases come back");
    for item in &again {
        assert!(item.possible_duplicate, "it may have reached the carrier already: {item:?}");
        assert_eq!(item.attempts, 2);
    }
    for id in &ids {
        let m = store.find_message(&acme, id).await.unwrap().unwrap();
        assert!(m.possible_duplicate, "the flag is stored");
    }
    assert!(claimed(store, claim("node-c", T0 + LEASE_MS + 1, T0 + 3 * LEASE_MS, 10)).await.is_empty());
}

/// A dispatcher attached to the hand-off gets messages due at once from their accept, leased
/// as a claim would lease them, as many as it has room for; the rest wait in the queue.
pub async fn accepted_messages_are_handed_to_the_dispatcher_within_its_room(store: &Store) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let acme = crate::fixtures::account(store, 1_000_000).await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let inflight = Arc::new(AtomicUsize::new(0));
    store.signals().handoff().attach(textbird_store::Taker {
        owner: "node-a".into(),
        lease_ms: LEASE_MS,
        inflight: inflight.clone(),
        capacity: 2,
        room: Arc::default(),
        tx,
    });
    let before = textbird_types::now_millis();
    let ids = accept(store, batch(&acme, messages(&acme, 3))).await;
    store.signals().handoff().detach();
    let handed = rx.try_recv().expect("handed over after the commit");
    assert_eq!(handed.len(), 2, "as many as there is room for");
    assert_eq!(inflight.load(Ordering::Acquire), 2, "counted in flight");
    for item in &handed {
        assert!(ids.contains(&item.id));
        assert_eq!((item.attempts, item.possible_duplicate, item.due_at), (1, false, T0));
        assert!(item.lease_until >= before + LEASE_MS, "leased for the lease's length");
        assert_eq!(status_of(store, &acme, &item.id).await, "queued");
    }
    // The third waits in the queue; the two handed over are leased, so no claim takes them...
    let now = textbird_types::now_millis();
    let rest = claim_ids(store, claim("node-b", now, now + LEASE_MS, 10)).await;
    let third: Vec<&String> = ids.iter().filter(|id| !handed.iter().any(|h| &h.id == *id)).collect();
    assert_eq!(rest.iter().collect::<Vec<_>>(), third);
    // ...until their lease runs out (the node died holding them): then they come back.
    let lease_end = handed.iter().map(|h| h.lease_until).max().unwrap();
    let again = claimed(store, claim("node-b", lease_end, lease_end + LEASE_MS, 10)).await;
    assert_eq!(again.len(), 2);
    for item in &again {
        assert!(item.possible_duplicate, "it may have reached the carrier already");
        assert_eq!(item.attempts, 2);
    }
    // Detached: later accepts wait in the queue.
    accept(store, batch(&acme, messages(&acme, 1))).await;
    assert!(rx.try_recv().is_err(), "nothing handed over once detached");
}

pub async fn reported_message_is_not_handed_out_again(store: &Store) {
    let acme = crate::fixtures::account(store, 1_000_000).await;
    let ids = accept(store, batch(&acme, messages(&acme, 2))).await;
    assert_eq!(claimed(store, claim("node-a", T0, T0 + LEASE_MS, 10)).await.len(), 2);
    let mut submitted = StatusChange::new(&ids[0], Status::Submitted, T0 + 10);
    submitted.connector = Some("simulator".into());
    submitted.carrier_id = Some("abc123".into());
    assert_eq!(crate::fixtures::apply(store, vec![submitted]).await, 1);

    let again = claim_ids(store, claim("node-b", T0 + LEASE_MS, T0 + 2 * LEASE_MS, 10)).await;
    assert_eq!(again, [ids[1].clone()], "only the message nobody reported on comes back");
    let m = store.find_message(&acme, &ids[0]).await.unwrap().unwrap();
    assert_eq!((m.status.as_str(), m.possible_duplicate), ("submitted", false));
    assert_eq!((m.connector.as_deref(), m.carrier_id.as_deref()), (Some("simulator"), Some("abc123")));
}

pub async fn retry_returns_message_to_queue_at_retry_at(store: &Store) {
    let acme = crate::fixtures::account(store, 1_000_000).await;
    let id = accept_one(store, &acme).await;
    assert_eq!(claimed(store, claim("node-a", T0, T0 + LEASE_MS, 10)).await.len(), 1);

    let retry_at = T0 + 30_000;
    let mut change = StatusChange::new(&id, Status::Queued, T0 + 100);
    change.retry_at = Some(retry_at);
    change.error_code = Some("0x00000058".into());
    change.detail = Some("throttled".into());
    crate::fixtures::apply(store, vec![change]).await;

    let m = store.find_message(&acme, &id).await.unwrap().unwrap();
    assert_eq!(m.status, "queued");
    assert_eq!(m.error_code.as_deref(), Some("0x00000058"));
    let events = store.message_events(&id).await.unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[1].status, "queued");
    assert!(events[1].detail.as_deref().is_some_and(|d| d.contains("throttled")), "{events:?}");

    assert!(claimed(store, claim("node-a", retry_at - 1, retry_at + LEASE_MS, 10)).await.is_empty(), "not before");
    let again = claimed(store, claim("node-a", retry_at, retry_at + LEASE_MS, 10)).await;
    assert_eq!(again.len(), 1, "claimable from retry_at on");
    assert_eq!(again[0].attempts, 2);
    assert!(!again[0].possible_duplicate, "a message handed back is not a duplicate");
}

pub async fn scheduled_message_is_promoted_when_due_and_not_before(store: &Store) {
    let acme = crate::fixtures::account(store, 1_000_000).await;
    let send_at = T0 + 600_000;
    let id = accept(store, batch(&acme, vec![scheduled(&acme, &phone(1), PRICE, send_at)])).await.remove(0);
    assert_eq!(status_of(store, &acme, &id).await, "scheduled");
    assert_eq!(events_of(store, &id).await, ["scheduled"]);

    assert!(claimed(store, claim("node-a", T0, T0 + LEASE_MS, 10)).await.is_empty());
    assert!(claimed(store, claim("node-a", send_at - 1, send_at + LEASE_MS, 10)).await.is_empty());
    assert_eq!(status_of(store, &acme, &id).await, "scheduled", "not promoted before it is due");

    let due = claimed(store, claim("node-a", send_at, send_at + LEASE_MS, 10)).await;
    assert_eq!(due.len(), 1, "promoted and handed out once due");
    assert_eq!(due[0].due_at, send_at);
    assert_eq!(status_of(store, &acme, &id).await, "queued");
    assert_eq!(events_of(store, &id).await, ["scheduled", "queued"]);
    let events = store.message_events(&id).await.unwrap();
    assert_eq!(events[1].created_at, send_at, "the queued event is dated by the claim's clock");
}

pub async fn only_scheduled_messages_can_be_canceled(store: &Store) {
    let acme = crate::fixtures::account(store, 1_000_000).await;
    let other = crate::fixtures::account(store, 1_000_000).await;
    let send_at = T0 + 600_000;
    let later = accept(store, batch(&acme, vec![scheduled(&acme, &phone(1), PRICE, send_at)])).await.remove(0);
    let now = accept_one(store, &acme).await;
    assert_balance(store, &acme, 1_000_000 - 2 * PRICE).await;

    assert!(!store.cancel(&other, &later, T0 + 1).await.unwrap(), "another account cannot cancel it");
    assert!(!store.cancel(&acme, &now, T0 + 1).await.unwrap(), "a queued message cannot be canceled");
    assert_eq!(status_of(store, &acme, &now).await, "queued");

    assert!(store.cancel(&acme, &later, T0 + 2).await.unwrap());
    assert_eq!(status_of(store, &acme, &later).await, "canceled");
    assert_eq!(events_of(store, &later).await, ["scheduled", "canceled"]);
    assert_balance(store, &acme, 1_000_000 - PRICE).await;

    assert!(!store.cancel(&acme, &later, T0 + 3).await.unwrap(), "once only");
    assert_balance(store, &acme, 1_000_000 - PRICE).await;
    let due = claim_ids(store, claim("node-a", send_at, send_at + LEASE_MS, 10)).await;
    assert_eq!(due, [now], "a canceled message is never sent");
    assert_eq!(status_of(store, &acme, &later).await, "canceled");
}
