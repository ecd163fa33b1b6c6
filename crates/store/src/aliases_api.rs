//! The `Store` methods for dialect aliases and credentials issued after an account exists.

use crate::model::{Alias, NewAlias, NewCredential};
use crate::{Store, StoreError};

impl Store {
    /// The aliases of `new`'s targets (all of `kind`, all the account's), creating those
    /// missing. A target whose proposed uid was taken comes back without an alias.
    pub async fn ensure_aliases(
        &self,
        account_id: &str,
        kind: &str,
        new: &[NewAlias],
    ) -> Result<Vec<Alias>, StoreError> {
        delegate!(self, s => s.ensure_aliases(account_id, kind, new).await)
    }
    /// The aliases those of `targets` (all of `kind`, all the account's) have; a read.
    pub async fn find_aliases(&self, account_id: &str, kind: &str, targets: &[&str]) -> Result<Vec<Alias>, StoreError> {
        delegate!(self, s => s.find_aliases(account_id, kind, targets).await)
    }
    pub async fn find_alias_by_seq(&self, account_id: &str, seq: i64) -> Result<Option<Alias>, StoreError> {
        delegate!(self, s => s.find_alias_by_seq(account_id, seq).await)
    }
    pub async fn find_alias_by_uid(&self, account_id: &str, uid: &str) -> Result<Option<Alias>, StoreError> {
        delegate!(self, s => s.find_alias_by_uid(account_id, uid).await)
    }
    pub async fn insert_credential(&self, credential: &NewCredential) -> Result<(), StoreError> {
        delegate!(self, s => s.insert_credential(credential).await)
    }
    /// Revokes the account's live credentials of `kind`; how many there were.
    pub async fn revoke_credentials(&self, account_id: &str, kind: &str, now: i64) -> Result<u64, StoreError> {
        delegate!(self, s => s.revoke_credentials(account_id, kind, now).await)
    }
    /// Deletes credentials that expired before `before`.
    pub async fn purge_expired_credentials(&self, before: i64) -> Result<u64, StoreError> {
        delegate!(self, s => s.purge_expired_credentials(before).await)
    }
}
