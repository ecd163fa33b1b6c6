//! Accounts, messages and claims for the bodies, and short readers of what the store holds.

use textbird_store::{
    AcceptBatch, AcceptOutcome, Claim, DispatchItem, IdempotencyRecord, Lane, MessageFilter, NewAccount, NewMessage,
    Page, StatusChange, Store,
};
use textbird_types::{Status, new_id};

/// The suite's clock: every message is created at `T0` and claims pass times relative to it.
pub const T0: i64 = 1_700_000_000_000;
/// 0.005 in millionths, the default price of one part.
pub const PRICE: i64 = 5_000;
/// Validity of the fixtures' messages.
const VALIDITY_MS: i64 = 48 * 3600 * 1000;

/// Creates an account holding `balance` (millionths) and returns its id.
pub async fn account(store: &Store, balance: i64) -> String {
    let id = new_id();
    store
        .create_account(
            &NewAccount {
                id: id.clone(),
                name: format!("Conformance {id}"),
                balance,
                country: "NL".into(),
                timezone: "UTC".into(),
                is_admin: false,
                username: format!("user-{id}"),
                password_hash: "not-a-real-hash".into(),
                callback_secret: "whsec_Y29uZm9ybWFuY2UtdGVzdC1zZWNyZXQ=".into(),
                created_at: T0,
            },
            &[],
        )
        .await
        .expect("create account");
    id
}

/// A queued one-part message to `to` at `price`, created at `T0`.
pub fn message(account_id: &str, to: &str, price: i64) -> NewMessage {
    NewMessage {
        id: new_id(),
        account_id: account_id.to_owned(),
        batch_id: new_id(),
        to: to.to_owned(),
        sender: "Acme".into(),
        body: format!("Hello {to}"),
        encoding: "gsm7".into(),
        parts: 1,
        price,
        status: Status::Queued,
        client_ref: None,
        callback_url: None,
        send_at: None,
        valid_until: T0 + VALIDITY_MS,
        trigger_id: None,
        trigger_delay_ms: None,
        smpp_receipt: false,
        smpp_ref: None,
        masked: None,
        created_at: T0,
    }
}

/// A message scheduled for `send_at`.
pub fn scheduled(account_id: &str, to: &str, price: i64, send_at: i64) -> NewMessage {
    NewMessage {
        status: Status::Scheduled,
        send_at: Some(send_at),
        valid_until: send_at + VALIDITY_MS,
        ..message(account_id, to, price)
    }
}

/// `n` queued messages at `PRICE` to distinct numbers.
pub fn messages(account_id: &str, n: usize) -> Vec<NewMessage> {
    (0..n).map(|i| message(account_id, &phone(i), PRICE)).collect()
}

/// A distinct Dutch mobile number per `i`.
pub fn phone(i: usize) -> String {
    format!("+3161{:07}", i % 10_000_000)
}

/// One request: its messages share a batch id and one debit of their summed prices.
pub fn batch(account_id: &str, mut messages: Vec<NewMessage>) -> AcceptBatch {
    let batch_id = new_id();
    for m in &mut messages {
        m.batch_id.clone_from(&batch_id);
    }
    AcceptBatch {
        account_id: account_id.to_owned(),
        debit: messages.iter().map(|m| m.price).sum(),
        messages,
        idempotency: None,
        lane: Lane::Transactional,
        progress: None,
    }
}

/// The record a send with `key` stores.
pub fn idempotency(account_id: &str, key: &str) -> IdempotencyRecord {
    IdempotencyRecord {
        account_id: account_id.to_owned(),
        credential_id: "credential-1".into(),
        key: key.to_owned(),
        request_hash: "hash-of-the-request".into(),
        status_code: 201,
        response: "{}".into(),
        created_at: T0,
    }
}

/// Accepts the batch and expects it stored; returns the message ids.
pub async fn accept(store: &Store, batch: AcceptBatch) -> Vec<String> {
    let ids = batch.messages.iter().map(|m| m.id.clone()).collect();
    assert_eq!(store.accept(batch).await.expect("accept"), AcceptOutcome::Stored);
    ids
}

/// Accepts one queued message at `PRICE` and returns its id.
pub async fn accept_one(store: &Store, account_id: &str) -> String {
    accept(store, batch(account_id, messages(account_id, 1))).await.remove(0)
}

pub fn claim(owner: &str, now: i64, lease_until: i64, limit: u32) -> Claim {
    Claim { owner: owner.to_owned(), now, lease_until, limit }
}

pub async fn claim_ids(store: &Store, claim: Claim) -> Vec<String> {
    let mut ids: Vec<String> = claimed(store, claim).await.into_iter().map(|d| d.id).collect();
    ids.sort();
    ids
}

pub async fn claimed(store: &Store, claim: Claim) -> Vec<DispatchItem> {
    store.claim_due(claim).await.expect("claim_due")
}

pub async fn apply(store: &Store, changes: Vec<StatusChange>) -> usize {
    store.apply_status(changes).await.expect("apply_status")
}

pub async fn status_of(store: &Store, account_id: &str, id: &str) -> String {
    store.find_message(account_id, id).await.expect("find_message").expect("message exists").status
}

/// The statuses of a message's events, oldest first.
pub async fn events_of(store: &Store, id: &str) -> Vec<String> {
    store.message_events(id).await.expect("message_events").into_iter().map(|e| e.status).collect()
}

pub async fn balance(store: &Store, account_id: &str) -> i64 {
    store.find_account(account_id).await.expect("find_account").expect("account exists").balance
}

/// Asserts the balance is `expected` and the ledger sums to it.
pub async fn assert_balance(store: &Store, account_id: &str, expected: i64) {
    assert_eq!(balance(store, account_id).await, expected, "balance");
    assert_eq!(store.ledger_sum(account_id).await.expect("ledger_sum"), expected, "ledger sums to the balance");
}

/// Every message of the account, newest first, read page by page.
pub async fn all_messages(store: &Store, account_id: &str) -> Vec<textbird_store::Message> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = Page { after, limit: 1000 };
        let items = store.list_messages(account_id, &MessageFilter::default(), &page).await.expect("list_messages");
        let full = items.len() == 1000;
        after = items.last().map(|m| m.id.clone());
        out.extend(items);
        if !full {
            return out;
        }
    }
}
