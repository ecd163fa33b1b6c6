//! Textbird's storage: record types, the `Store` that every other crate goes through, and
//! the backends behind it. SQL lives here and nowhere else. The hot path (accepting messages,
//! status changes, queue claims, webhook outcomes) goes through a single writer per node that
//! commits whole batches at once (group commit); reads use a pool. Migrations are SQL files
//! embedded per backend. The statements are written once (`sql/`) and compiled for each
//! backend (`sqlite.rs`, `postgres.rs`). Depends only on `textbird-types`.

/// Forwards a `Store` method to the backend behind it (defined before the modules that
/// add `impl Store` blocks of their own).
macro_rules! delegate {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            Store::Sqlite($s) => $e,
            Store::Postgres($s) => $e,
        }
    };
}

mod aliases_api;
mod broadcasts_api;
mod content_api;
mod content_model;
mod counts_api;
mod error;
mod handoff;
mod health;
mod lists;
mod masked;
mod model;
mod opt_out_cache;
mod outbox_api;
mod people_api;
mod people_model;
mod postgres;
mod sealed;
mod security_api;
mod signals;
mod sqlite;
mod verification_model;
mod verifications_api;
mod webhook_cache;

use std::path::Path;
use std::sync::Arc;

pub use broadcasts_api::{Breakdown, Broadcast, BroadcastFilter, Campaign, Segment, StatusCount};
pub use content_model::*;
pub use counts_api::Counted;
pub use error::StoreError;
pub use handoff::{Handoff, Taker};
pub use health::WriteFailure;
pub use lists::{List, ListFilter, ListKind, Member};
pub use model::*;
pub use people_model::{Contact, ContactFilter, ContactGroup, FieldDef, FieldType, SenderList, SenderRecord};
pub use postgres::PostgresStore;
pub use sealed::{KEY_LEN, Keyring, SealError, Sealed};
pub use signals::{Notice, Signals};
pub use sqlite::SqliteStore;
pub use verification_model::{
    AccountFraudSettings, CheckOutcome, PrefixBlock, SendKey, Verification, VerificationSend,
};

/// The one storage handle front ends and workers hold. Each backend is a variant, so callers
/// carry no type parameters.
#[derive(Clone)]
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

/// How a store is opened.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// `full` fsyncs every batched commit; `normal` trusts the OS page cache.
    pub sqlite_synchronous_full: bool,
    /// Connections for reads.
    pub max_connections: u32,
    /// Writers (each with its own connection and batches) on PostgreSQL; `SQLite` has one.
    pub writers: usize,
    /// Whether to apply pending migrations (every command does; tests that inspect a
    /// stopped server's database only check).
    pub migrate: bool,
    /// Seals secrets the server reads back (webhook and callback signing secrets) before they
    /// are stored, and opens them when read. Empty: they are stored as they are.
    pub keyring: Arc<Keyring>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self { sqlite_synchronous_full: true, max_connections: 8, writers: 2, migrate: true, keyring: Arc::default() }
    }
}

impl Store {
    /// Opens (creating if needed) the `SQLite` database at `path`.
    pub async fn open_sqlite(path: &Path, options: &OpenOptions) -> Result<Store, StoreError> {
        Ok(Store::Sqlite(sqlite::open(path, options).await?))
    }

    /// Opens a database from a URL: `sqlite://PATH` or `postgres://...`.
    pub async fn open_url(url: &str, options: &OpenOptions) -> Result<Store, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            return Self::open_sqlite(Path::new(path), options).await;
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Store::Postgres(postgres::open(url, options).await?));
        }
        Err(StoreError::Unsupported("database URL must start with sqlite:// or postgres://".into()))
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Waits for queued writes to commit and closes connections.
    pub async fn close(&self) {
        delegate!(self, s => s.close().await);
    }

    /// Wake-ups for the workers that drain the queues this store fills.
    pub fn signals(&self) -> &Signals {
        delegate!(self, s => s.signals())
    }

    /// `SELECT 1`, for health checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        delegate!(self, s => s.ping().await)
    }

    /// Why this node's writes are being refused (a full disk, a read-only database), while
    /// they are; `None` once a write has got through again.
    pub fn write_failure(&self) -> Option<WriteFailure> {
        delegate!(self, s => s.write_failure())
    }

    /// Takes up to `want` of the `limit` units this second allows under `key` on every node
    /// sharing the database: `Some((granted, ms until the next second))`. `None` on `SQLite`,
    /// where one node owns the work and an in-memory budget is exact.
    pub async fn take_budget(&self, key: &str, want: u32, limit: u32) -> Result<Option<(u32, u64)>, StoreError> {
        match self {
            Store::Sqlite(_) => Ok(None),
            Store::Postgres(s) => s.take_budget(key, want, limit).await.map(Some),
        }
    }

    // ----- accounts and credentials -----

    pub async fn create_account(&self, account: &NewAccount, credentials: &[NewCredential]) -> Result<(), StoreError> {
        delegate!(self, s => s.create_account(account, credentials).await)
    }
    pub async fn count_accounts(&self) -> Result<i64, StoreError> {
        delegate!(self, s => s.count_accounts().await)
    }
    pub async fn list_accounts(&self) -> Result<Vec<Account>, StoreError> {
        delegate!(self, s => s.list_accounts().await)
    }
    pub async fn find_account(&self, id: &str) -> Result<Option<Account>, StoreError> {
        delegate!(self, s => s.find_account(id).await)
    }
    pub async fn find_account_by_username(&self, username: &str) -> Result<Option<Account>, StoreError> {
        delegate!(self, s => s.find_account_by_username(username).await)
    }
    /// The live (not revoked, not expired) credential whose lookup value is `lookup`.
    pub async fn find_credential(&self, lookup: &str, now: i64) -> Result<Option<Credential>, StoreError> {
        delegate!(self, s => s.find_credential(lookup, now).await)
    }
    pub async fn find_principal(&self, lookup: &str, now: i64) -> Result<Option<(Credential, Account)>, StoreError> {
        delegate!(self, s => s.find_principal(lookup, now).await)
    }
    /// Stores a response under an idempotency key unless one is there; false if one was.
    pub async fn save_idempotency(&self, record: &IdempotencyRecord) -> Result<bool, StoreError> {
        delegate!(self, s => s.save_idempotency(record).await)
    }
    pub async fn adjust_balance(&self, account_id: &str, amount: i64, reason: &str) -> Result<i64, StoreError> {
        delegate!(self, s => s.adjust_balance(account_id, amount, reason).await)
    }
    pub async fn ledger_sum(&self, account_id: &str) -> Result<i64, StoreError> {
        delegate!(self, s => s.ledger_sum(account_id).await)
    }

    // ----- rates, numbers, opt-outs -----

    pub async fn list_rates(&self) -> Result<Vec<Rate>, StoreError> {
        delegate!(self, s => s.list_rates().await)
    }
    pub async fn upsert_rates(&self, rates: &[Rate]) -> Result<u64, StoreError> {
        delegate!(self, s => s.upsert_rates(rates).await)
    }
    pub async fn add_number(&self, account_id: &str, number: &str) -> Result<bool, StoreError> {
        delegate!(self, s => s.add_number(account_id, number).await)
    }
    pub async fn remove_number(&self, account_id: &str, number: &str) -> Result<bool, StoreError> {
        delegate!(self, s => s.remove_number(account_id, number).await)
    }
    pub async fn list_numbers(&self, account_id: &str) -> Result<Vec<OwnedNumber>, StoreError> {
        delegate!(self, s => s.list_numbers(account_id).await)
    }
    pub async fn find_number_owner(&self, number: &str) -> Result<Option<String>, StoreError> {
        delegate!(self, s => s.find_number_owner(number).await)
    }
    /// Which of `phones` are opted out of messages from `sender` (or from the whole account).
    pub async fn opted_out(&self, account_id: &str, sender: &str, phones: &[&str]) -> Result<Vec<String>, StoreError> {
        delegate!(self, s => s.opted_out(account_id, sender, phones).await)
    }
    /// Opt-outs by phone; with `sender`, only that sender's (`""`: the account-wide ones).
    pub async fn list_opt_outs(
        &self,
        account_id: &str,
        sender: Option<&str>,
        page: &Page,
    ) -> Result<Vec<OptOut>, StoreError> {
        delegate!(self, s => s.list_opt_outs(account_id, sender, page).await)
    }
    pub async fn set_opt_out(
        &self,
        account_id: &str,
        phone: &str,
        sender: &str,
        opted_out: bool,
    ) -> Result<bool, StoreError> {
        delegate!(self, s => s.set_opt_out(account_id, phone, sender, opted_out).await)
    }

    // ----- messages: the hot path, through the batching writer -----

    /// Debits the balance and stores the messages (and their idempotency record) in one
    /// transaction; returns once committed.
    pub async fn accept(&self, batch: AcceptBatch) -> Result<AcceptOutcome, StoreError> {
        delegate!(self, s => s.writer().accept(batch).await)
    }
    /// Applies status changes; only real transitions produce events, webhooks and refunds.
    pub async fn apply_status(&self, changes: Vec<StatusChange>) -> Result<usize, StoreError> {
        delegate!(self, s => s.writer().apply_status(changes).await)
    }
    /// Promotes due scheduled messages and leases up to `limit` due messages to `owner`.
    pub async fn claim_due(&self, claim: Claim) -> Result<Vec<DispatchItem>, StoreError> {
        let mut items = delegate!(self, s => s.writer().claim_due(claim).await)?;
        self.reveal(&mut items).await?;
        Ok(items)
    }
    /// Cancels a scheduled message of `account_id`; false when there is none to cancel.
    pub async fn cancel(&self, account_id: &str, message_id: &str, now: i64) -> Result<bool, StoreError> {
        delegate!(self, s => s.writer().cancel(account_id, message_id, now).await)
    }
    /// Gives a scheduled message new content (see [`Replacement`]).
    pub async fn replace(&self, r: Replacement) -> Result<ReplaceOutcome, StoreError> {
        delegate!(self, s => s.writer().replace(r).await)
    }
    /// The messages of `account_id` that an SMPP customer knows by `smpp_ref`, oldest first.
    pub async fn messages_by_smpp_ref(&self, account_id: &str, smpp_ref: &str) -> Result<Vec<Message>, StoreError> {
        delegate!(self, s => s.messages_by_smpp_ref(account_id, smpp_ref).await)
    }
    /// Stores an inbound message, applies its opt-out keyword, queues its webhooks.
    pub async fn receive(&self, inbound: NewInbound) -> Result<(), StoreError> {
        delegate!(self, s => s.writer().receive(inbound).await)
    }
    /// Records webhook attempts and reschedules, completes or disables deliveries.
    pub async fn record_attempts(&self, results: Vec<AttemptResult>) -> Result<(), StoreError> {
        delegate!(self, s => s.writer().record_attempts(results).await)
    }
    /// Leases up to `limit` due webhook deliveries.
    pub async fn claim_deliveries(
        &self,
        now: i64,
        lease_until: i64,
        limit: u32,
    ) -> Result<Vec<DeliveryJob>, StoreError> {
        delegate!(self, s => s.writer().claim_deliveries(now, lease_until, limit).await)
    }

    /// At start-up of node `node`: messages it leased before it stopped (killed
    /// mid-submission) become due now, to be flagged `possible_duplicate` when claimed. On
    /// `SQLite` one process owns the queue, so every lease is released; on PostgreSQL only the
    /// leases whose owner is `node/...`: other nodes' leases run out on their own.
    pub async fn release_stale_leases(&self, now: i64, node: &str) -> Result<u64, StoreError> {
        delegate!(self, s => s.release_stale_leases(now, node).await)
    }
    /// Messages a connector took that have no final report yet: `(id, carrier_id)`.
    pub async fn awaiting_report(&self, connector: &str, limit: u32) -> Result<Vec<(String, String)>, StoreError> {
        delegate!(self, s => s.awaiting_report(connector, limit).await)
    }
    /// The message a connector's carrier knows by any of `carrier_ids` (the forms one id can
    /// take), for delivery reports that arrive after the sender's memory of it is gone.
    pub async fn find_by_carrier_id(
        &self,
        connector: &str,
        carrier_ids: &[String],
    ) -> Result<Option<String>, StoreError> {
        delegate!(self, s => s.find_by_carrier_id(connector, carrier_ids).await)
    }
    pub async fn find_message(&self, account_id: &str, id: &str) -> Result<Option<Message>, StoreError> {
        delegate!(self, s => s.find_message(account_id, id).await)
    }
    /// Whether several nodes may share this database (and so each other's work).
    pub fn is_shared(&self) -> bool {
        matches!(self, Store::Postgres(_))
    }
    pub async fn message_events(&self, message_id: &str) -> Result<Vec<MessageEvent>, StoreError> {
        delegate!(self, s => s.message_events(message_id).await)
    }
    pub async fn list_messages(
        &self,
        account_id: &str,
        filter: &MessageFilter,
        page: &Page,
    ) -> Result<Vec<Message>, StoreError> {
        delegate!(self, s => s.list_messages(account_id, filter, page).await)
    }
    pub async fn find_inbound(&self, account_id: &str, id: &str) -> Result<Option<Inbound>, StoreError> {
        delegate!(self, s => s.find_inbound(account_id, id).await)
    }
    pub async fn list_inbound(&self, account_id: &str, page: &Page) -> Result<Vec<Inbound>, StoreError> {
        delegate!(self, s => s.list_inbound(account_id, page).await)
    }
    pub async fn count_by_status(&self) -> Result<Vec<(String, i64)>, StoreError> {
        delegate!(self, s => s.count_by_status().await)
    }
    /// Up to `limit` messages still `submitted` whose validity ended before `before`.
    pub async fn submitted_before(&self, before: i64, limit: u32) -> Result<Vec<String>, StoreError> {
        delegate!(self, s => s.submitted_before(before, limit).await)
    }
    pub async fn next_due_at(&self) -> Result<Option<i64>, StoreError> {
        delegate!(self, s => s.next_due_at().await)
    }

    // ----- webhooks -----

    pub async fn create_webhook(&self, webhook: &Webhook) -> Result<(), StoreError> {
        delegate!(self, s => s.create_webhook(webhook).await)
    }
    pub async fn find_webhook(&self, account_id: &str, id: &str) -> Result<Option<Webhook>, StoreError> {
        delegate!(self, s => s.find_webhook(account_id, id).await)
    }
    pub async fn list_webhooks(&self, account_id: &str) -> Result<Vec<Webhook>, StoreError> {
        delegate!(self, s => s.list_webhooks(account_id).await)
    }
    pub async fn update_webhook(&self, webhook: &Webhook) -> Result<bool, StoreError> {
        delegate!(self, s => s.update_webhook(webhook).await)
    }
    pub async fn delete_webhook(&self, account_id: &str, id: &str) -> Result<bool, StoreError> {
        delegate!(self, s => s.delete_webhook(account_id, id).await)
    }
    /// Hands leased deliveries back to the queue, due at `at`.
    pub async fn release_deliveries(&self, ids: &[String], at: i64) -> Result<u64, StoreError> {
        delegate!(self, s => s.release_deliveries(ids, at).await)
    }
    pub async fn list_deliveries(
        &self,
        account_id: &str,
        webhook_id: Option<&str>,
        page: &Page,
    ) -> Result<Vec<Delivery>, StoreError> {
        delegate!(self, s => s.list_deliveries(account_id, webhook_id, page).await)
    }
    pub async fn find_delivery(&self, account_id: &str, id: &str) -> Result<Option<Delivery>, StoreError> {
        delegate!(self, s => s.find_delivery(account_id, id).await)
    }
    pub async fn list_attempts(&self, account_id: &str, delivery_id: &str) -> Result<Vec<Attempt>, StoreError> {
        delegate!(self, s => s.list_attempts(account_id, delivery_id).await)
    }
    /// The shape an endpoint's deliveries are posted in (`native`, or a dialect's), from
    /// memory; `None` for an unknown endpoint.
    pub fn webhook_format(&self, account_id: &str, webhook_id: &str) -> Option<String> {
        delegate!(self, s => s.webhook_format(account_id, webhook_id))
    }
    /// When the next pending webhook delivery is due (or its lease runs out).
    pub async fn next_delivery_due_at(&self) -> Result<Option<i64>, StoreError> {
        delegate!(self, s => s.next_delivery_due_at().await)
    }
    /// Secrets that sign a delivery: the endpoint's (current first, from memory), or the
    /// account's callback secret when `webhook_id` is `None` (read from the database).
    pub async fn signing_secrets(
        &self,
        account_id: &str,
        webhook_id: Option<&str>,
        now: i64,
    ) -> Result<Vec<String>, StoreError> {
        delegate!(self, s => s.signing_secrets(account_id, webhook_id, now).await)
    }

    // ----- idempotency -----

    pub async fn find_idempotency(
        &self,
        account_id: &str,
        credential_id: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        delegate!(self, s => s.find_idempotency(account_id, credential_id, key).await)
    }
    /// Removes idempotency records older than `before`.
    pub async fn prune(&self, before: i64) -> Result<u64, StoreError> {
        delegate!(self, s => s.prune(before).await)
    }
}
