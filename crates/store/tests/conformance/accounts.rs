//! Accepting messages against the balance, the ledger, and idempotency keys.

use std::collections::HashSet;

use textbird_store::{AcceptOutcome, StatusChange, Store, StoreError};
use textbird_types::Status;

use crate::fixtures::{
    PRICE, accept, all_messages, assert_balance, batch, events_of, idempotency, message, messages, phone,
};

pub async fn accept_stores_every_message_of_a_batch_and_debits_once(store: &Store) {
    let acme = crate::fixtures::account(store, 1_000_000).await;
    let request = batch(
        &acme,
        vec![message(&acme, &phone(1), PRICE), message(&acme, &phone(2), PRICE), message(&acme, &phone(3), 2 * PRICE)],
    );
    let batch_id = request.messages[0].batch_id.clone();
    let ids = accept(store, request).await;

    let stored = all_messages(store, &acme).await;
    assert_eq!(stored.len(), 3, "every message of the batch is stored");
    for id in &ids {
        let m = store.find_message(&acme, id).await.unwrap().expect("stored");
        assert_eq!(m.status, "queued");
        assert_eq!(m.batch_id, batch_id);
        assert!(!m.possible_duplicate);
        assert_eq!(events_of(store, id).await, ["queued"], "one event for the accepted state");
    }
    // One debit of the batch's total, recorded in the ledger (the ledger still sums to it).
    assert_balance(store, &acme, 1_000_000 - 4 * PRICE).await;
}

pub async fn insufficient_balance_stores_nothing_and_keeps_the_balance(store: &Store) {
    let acme = crate::fixtures::account(store, 2 * PRICE).await;
    let mut request = batch(&acme, messages(&acme, 3));
    request.idempotency = Some(idempotency(&acme, "key-poor"));
    let ids: Vec<String> = request.messages.iter().map(|m| m.id.clone()).collect();

    assert_eq!(store.accept(request).await.unwrap(), AcceptOutcome::InsufficientBalance);
    for id in &ids {
        assert!(store.find_message(&acme, id).await.unwrap().is_none(), "no message of a refused batch is stored");
    }
    assert!(all_messages(store, &acme).await.is_empty());
    assert_balance(store, &acme, 2 * PRICE).await;
    // The key is free again, so the client can retry once it has topped up.
    assert!(store.find_idempotency(&acme, "credential-1", "key-poor").await.unwrap().is_none());

    // What fits still goes through.
    accept(store, batch(&acme, messages(&acme, 2))).await;
    assert_balance(store, &acme, 0).await;
}

pub async fn one_poor_request_does_not_fail_its_neighbours(store: &Store) {
    let acme = crate::fixtures::account(store, 2 * PRICE + 1).await;
    let rich = crate::fixtures::account(store, 1_000_000).await;
    // Sent together, these land in one writer batch: three debits of PRICE against 2 PRICE + 1.
    let (a, b, c, d) = tokio::join!(
        store.accept(batch(&acme, messages(&acme, 1))),
        store.accept(batch(&acme, messages(&acme, 1))),
        store.accept(batch(&acme, messages(&acme, 1))),
        store.accept(batch(&rich, messages(&rich, 1))),
    );
    let outcomes = [a.unwrap(), b.unwrap(), c.unwrap()];
    let stored = outcomes.iter().filter(|o| **o == AcceptOutcome::Stored).count();
    let refused = outcomes.iter().filter(|o| **o == AcceptOutcome::InsufficientBalance).count();
    assert_eq!((stored, refused), (2, 1), "{outcomes:?}");
    assert_eq!(d.unwrap(), AcceptOutcome::Stored, "another account's request is unaffected");
    assert_eq!(all_messages(store, &acme).await.len(), 2);
    assert_balance(store, &acme, 1).await;
    assert_balance(store, &rich, 1_000_000 - PRICE).await;
}

pub async fn balance_can_never_go_negative(store: &Store) {
    let acme = crate::fixtures::account(store, 10_000).await;
    let err = store.adjust_balance(&acme, -10_001, "manual").await.expect_err("a balance below zero is refused");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_balance(store, &acme, 10_000).await;

    assert_eq!(store.adjust_balance(&acme, -10_000, "manual").await.unwrap(), 0, "down to exactly zero is fine");
    assert!(store.adjust_balance(&acme, -1, "manual").await.is_err());
    assert_eq!(store.adjust_balance(&acme, 7, "top-up").await.unwrap(), 7);
    assert_balance(store, &acme, 7).await;
    assert!(store.adjust_balance("no-such-account", 5, "top-up").await.is_err());
}

pub async fn taken_idempotency_key_stores_no_second_message(store: &Store) {
    let acme = crate::fixtures::account(store, 1_000_000).await;
    let mut first = batch(&acme, messages(&acme, 1));
    first.idempotency = Some(idempotency(&acme, "key-1"));
    accept(store, first).await;

    let mut second = batch(&acme, messages(&acme, 1));
    second.idempotency = Some(idempotency(&acme, "key-1"));
    let second_id = second.messages[0].id.clone();
    assert_eq!(store.accept(second).await.unwrap(), AcceptOutcome::IdempotencyTaken);
    assert!(store.find_message(&acme, &second_id).await.unwrap().is_none(), "no second message");
    assert_eq!(all_messages(store, &acme).await.len(), 1);
    assert_balance(store, &acme, 1_000_000 - PRICE).await;
    let record = store.find_idempotency(&acme, "credential-1", "key-1").await.unwrap().expect("the first record");
    assert_eq!((record.status_code, record.response.as_str()), (201, "{}"));
}

pub async fn concurrent_requests_with_one_key_store_one_message(store: &Store) {
    let acme = crate::fixtures::account(store, 1_000_000).await;
    let keyed = || {
        let mut b = batch(&acme, messages(&acme, 2));
        b.idempotency = Some(idempotency(&acme, "same-key"));
        b
    };
    let (a, b, c) = tokio::join!(store.accept(keyed()), store.accept(keyed()), store.accept(keyed()));
    let outcomes = [a.unwrap(), b.unwrap(), c.unwrap()];
    assert_eq!(outcomes.iter().filter(|o| **o == AcceptOutcome::Stored).count(), 1, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| **o == AcceptOutcome::IdempotencyTaken).count(), 2, "{outcomes:?}");
    assert_eq!(all_messages(store, &acme).await.len(), 2);
    assert_balance(store, &acme, 1_000_000 - 2 * PRICE).await;
}

pub async fn ledger_sums_to_balance_after_10_000_concurrent_accepts(store: &Store) {
    const TASKS: usize = 50;
    const PER_TASK: usize = 200;
    let opening = 1_000_000_000;
    let acme = crate::fixtures::account(store, opening).await;
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let (store, acme) = (store.clone(), acme.clone());
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::with_capacity(PER_TASK);
            let mut sent = 0;
            while sent < PER_TASK {
                // Requests of 1 to 4 recipients, so batches of different shapes meet in the writer.
                let n = (1 + (t + sent) % 4).min(PER_TASK - sent);
                let request =
                    batch(&acme, (0..n).map(|i| message(&acme, &phone(t * PER_TASK + sent + i), PRICE)).collect());
                ids.extend(accept(&store, request).await);
                sent += n;
            }
            ids
        }));
    }
    let mut accepted = HashSet::new();
    for t in tasks {
        accepted.extend(t.await.expect("task"));
    }
    assert_eq!(accepted.len(), TASKS * PER_TASK);

    let stored: HashSet<String> = all_messages(store, &acme).await.into_iter().map(|m| m.id).collect();
    assert_eq!(stored, accepted, "every accepted message is stored, and nothing else");
    assert_balance(store, &acme, opening - (TASKS * PER_TASK) as i64 * PRICE).await;
    let counts = store.count_by_status().await.unwrap();
    assert_eq!(counts, [("queued".to_owned(), (TASKS * PER_TASK) as i64)]);

    // Refunds on top keep the ledger in step with the balance.
    let refunded: Vec<StatusChange> =
        accepted.iter().take(100).map(|id| StatusChange::new(id, Status::Rejected, crate::fixtures::T0 + 1)).collect();
    assert_eq!(store.apply_status(refunded).await.unwrap(), 100);
    assert_balance(store, &acme, opening - (TASKS * PER_TASK - 100) as i64 * PRICE).await;
}
