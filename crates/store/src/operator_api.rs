//! The `Store` methods for operators: account changes and suspension, rate deletion,
//! connector pauses (shared by every node on the database), usage per account per day.

use crate::model::{AccountChange, KeyRecord, NewKey, UsageDay};
use crate::{Store, StoreError};

impl Store {
    /// Changes the given fields of an account; false when there is no such account.
    pub async fn update_account(&self, id: &str, change: &AccountChange) -> Result<bool, StoreError> {
        delegate!(self, s => s.update_account(id, change).await)
    }
    /// Suspends (`Some(when)`) or reinstates (`None`) an account; false when there is none.
    pub async fn set_account_suspended(&self, id: &str, at: Option<i64>) -> Result<bool, StoreError> {
        delegate!(self, s => s.set_account_suspended(id, at).await)
    }
    /// Removes the rate for exactly `prefix`; false when there was none.
    pub async fn delete_rate(&self, prefix: &str) -> Result<bool, StoreError> {
        delegate!(self, s => s.delete_rate(prefix).await)
    }
    /// Pauses (`Some(when)`) or resumes (`None`) a connector on every node.
    pub async fn set_connector_paused(&self, name: &str, paused_at: Option<i64>) -> Result<(), StoreError> {
        delegate!(self, s => s.set_connector_paused(name, paused_at).await)
    }
    /// The names of the paused connectors.
    pub async fn paused_connectors(&self) -> Result<Vec<String>, StoreError> {
        delegate!(self, s => s.paused_connectors().await)
    }
    /// Messages, parts and cost per account (one, or every one) per UTC day, for messages
    /// created in `[from, until)`.
    pub async fn usage(&self, account_id: Option<&str>, from: i64, until: i64) -> Result<Vec<UsageDay>, StoreError> {
        delegate!(self, s => s.usage(account_id, from, until).await)
    }
    /// A consistent copy of the live `SQLite` database in the new file `target`. On
    /// PostgreSQL, `pg_dump` makes the consistent copy.
    pub async fn backup_into(&self, target: &std::path::Path) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.backup_into(target).await,
            Store::Postgres(_) => Err(StoreError::Unsupported(
                "on PostgreSQL, back up with pg_dump (a consistent copy while the servers run)".into(),
            )),
        }
    }
    /// Stores an API key managed through `/v1/keys` (name, scopes, prefix).
    pub async fn insert_key(&self, key: &NewKey) -> Result<(), StoreError> {
        delegate!(self, s => s.insert_key(key).await)
    }
    /// The account's live keys of `kinds`, newest first.
    pub async fn list_keys(&self, account_id: &str, kinds: &[&str], now: i64) -> Result<Vec<KeyRecord>, StoreError> {
        delegate!(self, s => s.list_keys(account_id, kinds, now).await)
    }
    /// Revokes one live key of the account at `now`; false when there is none.
    pub async fn revoke_key(&self, account_id: &str, id: &str, kinds: &[&str], now: i64) -> Result<bool, StoreError> {
        delegate!(self, s => s.end_key(account_id, id, kinds, now, true, now).await)
    }
    /// Makes one live key of the account expire at `at`; false when there is none.
    pub async fn expire_key(
        &self,
        account_id: &str,
        id: &str,
        kinds: &[&str],
        now: i64,
        at: i64,
    ) -> Result<bool, StoreError> {
        delegate!(self, s => s.end_key(account_id, id, kinds, now, false, at).await)
    }
}
