//! Status changes: transitions, their events, refunds and webhook outbox rows.

use textbird_store::{Page, StatusChange, Store, Webhook};
use textbird_types::{Status, new_id};

use crate::fixtures::{PRICE, T0, accept_one, apply, assert_balance, claim, claimed, events_of, status_of};

fn change(id: &str, status: Status, at: i64) -> StatusChange {
    StatusChange::new(id, status, at)
}

pub async fn terminal_states_never_regress(store: &Store) {
    let acme = crate::fixtures::account(store, 1_000_000).await;
    let id = accept_one(store, &acme).await;
    claimed(store, claim("node-a", T0, T0 + 60_000, 10)).await;

    assert_eq!(apply(store, vec![change(&id, Status::Submitted, T0 + 1)]).await, 1);
    assert_eq!(apply(store, vec![change(&id, Status::Delivered, T0 + 2)]).await, 1);
    assert_eq!(
        apply(store, vec![change(&id, Status::Delivered, T0 + 3)]).await,
        0,
        "a repeated report changes nothing"
    );
    assert_eq!(apply(store, vec![change(&id, Status::Undelivered, T0 + 4)]).await, 0);
    assert_eq!(apply(store, vec![change(&id, Status::Submitted, T0 + 5)]).await, 0, "an ENROUTE after DELIVRD");
    assert_eq!(apply(store, vec![change(&id, Status::Rejected, T0 + 6)]).await, 0);

    assert_eq!(status_of(store, &acme, &id).await, "delivered");
    assert_eq!(events_of(store, &id).await, ["queued", "submitted", "delivered"], "one event per distinct transition");
    let m = store.find_message(&acme, &id).await.unwrap().unwrap();
    assert_eq!(m.updated_at, T0 + 2, "nothing touched the row after it was delivered");
    assert_balance(store, &acme, 1_000_000 - PRICE).await;
}

pub async fn refunding_transition_refunds_exactly_once(store: &Store) {
    let acme = crate::fixtures::account(store, 1_000_000).await;
    let id = accept_one(store, &acme).await;
    assert_balance(store, &acme, 1_000_000 - PRICE).await;

    let mut rejected = change(&id, Status::Rejected, T0 + 1);
    rejected.error_code = Some("0x00000045".into());
    rejected.detail = Some("submit failed".into());
    assert!(rejected.refund, "rejected refunds by default");
    assert_eq!(apply(store, vec![rejected.clone()]).await, 1);
    assert_balance(store, &acme, 1_000_000).await;

    assert_eq!(apply(store, vec![rejected.clone()]).await, 0);
    let (a, b) = tokio::join!(store.apply_status(vec![rejected.clone()]), store.apply_status(vec![rejected]));
    assert_eq!(a.unwrap() + b.unwrap(), 0);
    assert_balance(store, &acme, 1_000_000).await;

    let m = store.find_message(&acme, &id).await.unwrap().unwrap();
    assert_eq!(m.status, "rejected");
    assert_eq!((m.error_code.as_deref(), m.error_detail.as_deref()), (Some("0x00000045"), Some("submit failed")));
    assert_eq!(events_of(store, &id).await, ["queued", "rejected"]);
}

pub async fn refunding_transition_refunds_once_when_repeated_in_one_call(store: &Store) {
    let acme = crate::fixtures::account(store, 1_000_000).await;
    let id = accept_one(store, &acme).await;
    let other = accept_one(store, &acme).await;
    let applied = apply(
        store,
        vec![
            change(&id, Status::Failed, T0 + 1),
            change(&other, Status::Expired, T0 + 1),
            change(&id, Status::Failed, T0 + 2),
            change(&id, Status::Rejected, T0 + 3),
        ],
    )
    .await;
    assert_eq!(applied, 2, "one transition per message");
    assert_eq!(status_of(store, &acme, &id).await, "failed");
    assert_eq!(status_of(store, &acme, &other).await, "expired");
    assert_balance(store, &acme, 1_000_000).await;
}

pub async fn change_without_refund_keeps_the_price(store: &Store) {
    let acme = crate::fixtures::account(store, 1_000_000).await;
    let id = accept_one(store, &acme).await;
    apply(store, vec![change(&id, Status::Submitted, T0 + 1)]).await;
    // The carrier took it and later reports it expired: its verdict, not refunded.
    let mut expired = change(&id, Status::Expired, T0 + 2);
    expired.refund = false;
    assert_eq!(apply(store, vec![expired]).await, 1);
    assert_eq!(status_of(store, &acme, &id).await, "expired");
    assert_balance(store, &acme, 1_000_000 - PRICE).await;

    let undelivered = accept_one(store, &acme).await;
    assert!(!change(&undelivered, Status::Undelivered, T0).refund, "undelivered is not refunded by default");
    apply(store, vec![change(&undelivered, Status::Undelivered, T0 + 3)]).await;
    assert_balance(store, &acme, 1_000_000 - 2 * PRICE).await;
}

pub async fn changes_for_one_message_in_one_call_apply_in_order(store: &Store) {
    let acme = crate::fixtures::account(store, 1_000_000).await;
    let id = accept_one(store, &acme).await;
    let reversed = accept_one(store, &acme).await;
    claimed(store, claim("node-a", T0, T0 + 60_000, 10)).await;

    let mut submitted = change(&id, Status::Submitted, T0 + 10);
    submitted.carrier_id = Some("c-1".into());
    let applied = apply(
        store,
        vec![
            submitted,
            change(&reversed, Status::Delivered, T0 + 15),
            change(&id, Status::Delivered, T0 + 20),
            change(&reversed, Status::Submitted, T0 + 25),
        ],
    )
    .await;
    assert_eq!(applied, 3);

    let m = store.find_message(&acme, &id).await.unwrap().unwrap();
    assert_eq!((m.status.as_str(), m.carrier_id.as_deref(), m.updated_at), ("delivered", Some("c-1"), T0 + 20));
    let events = store.message_events(&id).await.unwrap();
    let seen: Vec<(&str, i64)> = events.iter().map(|e| (e.status.as_str(), e.created_at)).collect();
    assert_eq!(seen, [("queued", T0), ("submitted", T0 + 10), ("delivered", T0 + 20)]);

    assert_eq!(status_of(store, &acme, &reversed).await, "delivered", "a later intermediate state does not regress");
    assert_eq!(events_of(store, &reversed).await, ["queued", "delivered"]);
}

pub async fn one_webhook_per_distinct_transition(store: &Store) {
    let acme = crate::fixtures::account(store, 1_000_000).await;
    let hook = Webhook {
        id: new_id(),
        account_id: acme.clone(),
        url: "https://example.com/hooks".into(),
        events: vec!["message.submitted".into(), "message.delivered".into()],
        secret: "whsec_Y29uZm9ybWFuY2UtdGVzdC1zZWNyZXQ=".into(),
        previous_secret: None,
        previous_until: None,
        enabled: true,
        disabled_reason: None,
        failing_since: None,
        created_at: T0,
        updated_at: T0,
        format: "native".into(),
    };
    store.create_webhook(&hook).await.unwrap();
    let id = accept_one(store, &acme).await;

    apply(store, vec![change(&id, Status::Submitted, T0 + 1), change(&id, Status::Submitted, T0 + 2)]).await;
    apply(store, vec![change(&id, Status::Delivered, T0 + 3)]).await;
    apply(store, vec![change(&id, Status::Delivered, T0 + 4), change(&id, Status::Undelivered, T0 + 5)]).await;

    let page = Page { after: None, limit: 100 };
    let deliveries = store.list_deliveries(&acme, Some(&hook.id), &page).await.unwrap();
    let mut types: Vec<&str> = deliveries.iter().map(|d| d.event_type.as_str()).collect();
    types.sort_unstable();
    assert_eq!(types, ["message.delivered", "message.submitted"], "queued is not subscribed; repeats add nothing");
    for d in &deliveries {
        assert_eq!(d.state, "pending");
        assert!(d.payload.contains(&id), "{}", d.payload);
    }
}
