//! `Idempotency-Key`: the same key with the same request gives the first response again; with
//! a different request it is refused; while the first is still running, a retry is told to
//! wait. For sends, the response is stored in the same transaction as the messages, so a
//! crash can never leave messages without their key or a key without its messages.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use textbird_store::IdempotencyRecord;
use textbird_types::now_millis;

use crate::{App, AppError, Principal};

pub const MAX_KEY_LEN: usize = 255;

/// A key and the fingerprint of the request that came with it.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub key: String,
    pub request_hash: String,
}

/// A stored response to give back.
#[derive(Debug, Clone)]
pub struct Replay {
    pub status: u16,
    pub body: String,
}

type Slot = (String, String, String);

#[derive(Default)]
pub(crate) struct InFlight(Arc<Mutex<HashSet<Slot>>>);

/// Holds a key as in flight until dropped.
pub struct InFlightGuard {
    set: Arc<Mutex<HashSet<Slot>>>,
    slot: Slot,
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.set.lock().expect("poisoned").remove(&self.slot);
    }
}

impl IdempotencyKey {
    pub fn new(key: &str, request_hash: String) -> Result<Self, AppError> {
        if key.is_empty() || key.len() > MAX_KEY_LEN || key.chars().any(char::is_control) {
            return Err(AppError::field("Idempotency-Key", format!("must be 1 to {MAX_KEY_LEN} printable characters")));
        }
        Ok(Self { key: key.to_owned(), request_hash })
    }

    pub(crate) fn record(&self, p: &Principal, status: u16, response: String) -> IdempotencyRecord {
        IdempotencyRecord {
            account_id: p.account_id.clone(),
            credential_id: p.credential_id.clone(),
            key: self.key.clone(),
            request_hash: self.request_hash.clone(),
            status_code: status,
            response,
            created_at: now_millis(),
        }
    }
}

impl App {
    /// The stored response for this key, if any; an error if the key came with another request.
    pub async fn idempotent_replay(&self, p: &Principal, key: &IdempotencyKey) -> Result<Option<Replay>, AppError> {
        match self.store().find_idempotency(&p.account_id, &p.credential_id, &key.key).await? {
            None => Ok(None),
            Some(r) if r.request_hash == key.request_hash => {
                Ok(Some(Replay { status: r.status_code, body: r.response }))
            }
            Some(_) => Err(AppError::IdempotencyMismatch),
        }
    }

    /// Marks the key as in progress on this node; a second request with it gets 409.
    pub fn idempotency_begin(&self, p: &Principal, key: &IdempotencyKey) -> Result<InFlightGuard, AppError> {
        let slot = (p.account_id.clone(), p.credential_id.clone(), key.key.clone());
        let set = self.inner.in_flight.0.clone();
        if !set.lock().expect("poisoned").insert(slot.clone()) {
            return Err(AppError::IdempotencyInFlight);
        }
        Ok(InFlightGuard { set, slot })
    }

    /// Stores the response of a create that is not a send (after it happened).
    pub async fn idempotency_save(
        &self,
        p: &Principal,
        key: &IdempotencyKey,
        status: u16,
        body: String,
    ) -> Result<(), AppError> {
        self.store().save_idempotency(&key.record(p, status, body)).await?;
        Ok(())
    }
}
