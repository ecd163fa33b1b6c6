//! The `Store` methods of the verification service and its fraud guard.

use crate::masked::{code_hash, open_text, seal_text};
use crate::model::{DispatchItem, Page};
use crate::verification_model::{
    AccountFraudSettings, CheckOutcome, PrefixBlock, SendKey, Verification, VerificationSend,
};
use crate::{Store, StoreError};

impl Store {
    pub async fn insert_verification(&self, v: &Verification) -> Result<(), StoreError> {
        delegate!(self, s => s.insert_verification(v).await)
    }
    pub async fn find_verification(&self, account_id: &str, id: &str) -> Result<Option<Verification>, StoreError> {
        delegate!(self, s => s.find_verification(account_id, id).await)
    }
    /// The newest pending verification of `phone` (its time may have run out).
    pub async fn pending_verification(
        &self,
        account_id: &str,
        phone: &str,
    ) -> Result<Option<Verification>, StoreError> {
        delegate!(self, s => s.pending_verification(account_id, phone).await)
    }
    /// The newest verification of `phone`, whatever its status.
    pub async fn latest_verification(&self, account_id: &str, phone: &str) -> Result<Option<Verification>, StoreError> {
        delegate!(self, s => s.latest_verification(account_id, phone).await)
    }
    /// Newest first.
    pub async fn list_verifications(&self, account_id: &str, page: &Page) -> Result<Vec<Verification>, StoreError> {
        delegate!(self, s => s.list_verifications(account_id, page).await)
    }
    /// Records one send of a verification's code.
    pub async fn record_verification_send(&self, send: &VerificationSend) -> Result<(), StoreError> {
        delegate!(self, s => s.record_verification_send(send).await)
    }
    /// Sends to `value` (by `key`) since `since`, and the oldest of them.
    pub async fn count_verification_sends(
        &self,
        account_id: &str,
        key: SendKey,
        value: &str,
        since: i64,
    ) -> Result<(i64, Option<i64>), StoreError> {
        delegate!(self, s => s.count_verification_sends(account_id, key, value, since).await)
    }
    /// Statuses of the last `limit` verifications to numbers starting with `phone_prefix`
    /// created before `before`.
    pub async fn recent_verification_statuses(
        &self,
        account_id: &str,
        phone_prefix: &str,
        before: i64,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        delegate!(self, s => s.recent_statuses(account_id, phone_prefix, before, limit).await)
    }
    /// One check of a verification (see the backend for the rules); `None` when there is none.
    pub async fn check_verification(
        &self,
        account_id: &str,
        id: &str,
        matched: bool,
        max_checks: i32,
        now: i64,
    ) -> Result<Option<CheckOutcome>, StoreError> {
        delegate!(self, s => s.check_verification(account_id, id, matched, max_checks, now).await)
    }
    /// Ends a pending verification with `status` and its `event` webhook.
    pub async fn end_verification(
        &self,
        account_id: &str,
        id: &str,
        status: &str,
        event: &'static str,
        now: i64,
    ) -> Result<Option<Verification>, StoreError> {
        delegate!(self, s => s.end_verification(account_id, id, status, event, now).await)
    }
    pub async fn prefix_block(
        &self,
        account_id: &str,
        prefix: &str,
        now: i64,
    ) -> Result<Option<PrefixBlock>, StoreError> {
        delegate!(self, s => s.prefix_block(account_id, prefix, now).await)
    }
    /// Blocks a destination prefix with a `verification.blocked` webhook; false when it was
    /// blocked already.
    pub async fn block_prefix(
        &self,
        account_id: &str,
        prefix: &str,
        reason: &str,
        now: i64,
        until: i64,
    ) -> Result<bool, StoreError> {
        delegate!(self, s => s.block_prefix(account_id, prefix, reason, now, until).await)
    }
    /// The keyed hash of a verification's code (see `masked`).
    pub fn code_hash(&self, verification_id: &str, code: &str) -> String {
        delegate!(self, s => code_hash(&s.keyring, verification_id, code))
    }
    /// The account's own fraud settings (defaults when it has none).
    pub async fn account_fraud_settings(&self, account_id: &str) -> Result<AccountFraudSettings, StoreError> {
        delegate!(self, s => s.account_fraud_settings(account_id).await)
    }
    pub async fn put_account_fraud_settings(
        &self,
        account_id: &str,
        settings: &AccountFraudSettings,
        now: i64,
    ) -> Result<(), StoreError> {
        delegate!(self, s => s.put_account_fraud_settings(account_id, settings, now).await)
    }
    /// What the account's messages created at or after `since` cost.
    pub async fn spent_since(&self, account_id: &str, since: i64) -> Result<i64, StoreError> {
        delegate!(self, s => s.spent_since(account_id, since).await)
    }
    /// Seals `plain` for the row `id` (see `masked`).
    pub fn seal_text(&self, id: &str, plain: &str) -> String {
        delegate!(self, s => seal_text(&s.keyring, id, plain))
    }
    pub fn open_text(&self, id: &str, stored: &str) -> Result<String, StoreError> {
        delegate!(self, s => Ok(open_text(&s.keyring, id, stored)?))
    }
    /// `plain`, the real text of the message `id` whose stored body is masked, sealed.
    pub fn mask(&self, id: &str, plain: String) -> crate::model::Masked {
        let sealed = self.seal_text(id, &plain);
        crate::model::Masked { plain, sealed }
    }
    /// Gives claimed messages whose stored body is masked their real text, for the carrier.
    pub(crate) async fn reveal(&self, items: &mut [DispatchItem]) -> Result<(), StoreError> {
        let ids: Vec<&str> = items.iter().filter(|i| i.masked).map(|i| i.id.as_str()).collect();
        if ids.is_empty() {
            return Ok(());
        }
        let secrets = delegate!(self, s => s.message_secrets(&ids).await)?;
        for (id, sealed) in secrets {
            let text = self.open_text(&id, &sealed)?;
            if let Some(item) = items.iter_mut().find(|i| i.id == id) {
                item.body = text;
            }
        }
        Ok(())
    }
}
