//! The `Store` methods for dashboard sessions and named API keys.

use crate::model::{Account, NewCredential};
use crate::{Store, StoreError};

/// One signed-in browser. `lookup` is the SHA-256 of the session cookie's token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardSession {
    pub lookup: String,
    pub account_id: String,
    pub created_at: i64,
    pub last_seen_at: i64,
}

/// An API key as its owner sees it in a list: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedKey {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl Store {
    pub async fn insert_dashboard_session(&self, session: &DashboardSession) -> Result<(), StoreError> {
        delegate!(self, s => s.insert_dashboard_session(session).await)
    }
    /// The session with this lookup value last seen at or after `seen_since`, with its account.
    pub async fn dashboard_session(
        &self,
        lookup: &str,
        seen_since: i64,
    ) -> Result<Option<(DashboardSession, Account)>, StoreError> {
        delegate!(self, s => s.dashboard_session(lookup, seen_since).await)
    }
    /// Marks the session used at `at` (never moves it back).
    pub async fn touch_dashboard_session(&self, lookup: &str, at: i64) -> Result<(), StoreError> {
        delegate!(self, s => s.touch_dashboard_session(lookup, at).await)
    }
    /// Ends the session; whether there was one.
    pub async fn delete_dashboard_session(&self, lookup: &str) -> Result<bool, StoreError> {
        delegate!(self, s => s.delete_dashboard_session(lookup).await)
    }
    /// Deletes sessions last seen before `before`; how many.
    pub async fn prune_dashboard_sessions(&self, before: i64) -> Result<u64, StoreError> {
        delegate!(self, s => s.prune_dashboard_sessions(before).await)
    }
    /// Stores a credential with the name its owner gave it.
    pub async fn insert_named_credential(&self, credential: &NewCredential, name: &str) -> Result<(), StoreError> {
        delegate!(self, s => s.insert_named_credential(credential, name).await)
    }
    /// The account's credentials of `kind`, newest first, revoked and expired ones too.
    pub async fn named_keys(&self, account_id: &str, kind: &str) -> Result<Vec<NamedKey>, StoreError> {
        delegate!(self, s => s.named_keys(account_id, kind).await)
    }
    /// Revokes one of the account's credentials of `kind`; whether a live one was revoked.
    pub async fn revoke_credential(
        &self,
        account_id: &str,
        kind: &str,
        id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        delegate!(self, s => s.revoke_credential(account_id, kind, id, now).await)
    }
}
