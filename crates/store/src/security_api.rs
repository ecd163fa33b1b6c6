//! The `Store` methods for failed password checks, sealed secrets and batch ownership.

use crate::model::FailureCount;
use crate::{Store, StoreError};

impl Store {
    /// Failures of each of `subjects` at or after `since` (epoch ms); subjects without any
    /// are left out.
    pub async fn login_failures(&self, subjects: &[&str], since: i64) -> Result<Vec<FailureCount>, StoreError> {
        delegate!(self, s => s.login_failures(subjects, since).await)
    }
    /// Records one failure of each of `subjects` at `at`, for every node to see.
    pub async fn record_login_failure(&self, subjects: &[&str], at: i64) -> Result<(), StoreError> {
        delegate!(self, s => s.record_login_failure(subjects, at).await)
    }
    /// Deletes failures older than `before`; how many.
    pub async fn prune_login_failures(&self, before: i64) -> Result<u64, StoreError> {
        delegate!(self, s => s.prune_login_failures(before).await)
    }
    /// Whether the account sent a batch (one send request) with this id.
    pub async fn batch_exists(&self, account_id: &str, batch_id: &str) -> Result<bool, StoreError> {
        delegate!(self, s => s.batch_exists(account_id, batch_id).await)
    }
    /// Seals again, under the current `[secrets] key`, every stored secret that is plain text
    /// or sealed under a previous key; how many.
    pub async fn reseal_secrets(&self) -> Result<u64, StoreError> {
        delegate!(self, s => s.reseal_secrets().await)
    }
}
