//! Records as the store reads and writes them. Wire formats live in the front ends; these are
//! the domain's own shapes.

use textbird_types::Status;

#[derive(Debug, Clone)]
pub struct NewAccount {
    pub id: String,
    pub name: String,
    pub balance: i64,
    pub country: String,
    pub timezone: String,
    pub is_admin: bool,
    pub username: String,
    pub password_hash: String,
    pub callback_secret: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub balance: i64,
    pub country: String,
    pub timezone: String,
    pub is_admin: bool,
    pub username: String,
    pub password_hash: String,
    pub created_at: i64,
}

/// Kinds of credential: `api_key`, `api_token`, `oauth_client`.
#[derive(Debug, Clone)]
pub struct NewCredential {
    pub id: String,
    pub account_id: String,
    pub kind: String,
    /// What a request is looked up by: the SHA-256 of a key or token, or an OAuth client id.
    pub lookup: String,
    /// SHA-256 of an OAuth client secret.
    pub secret_hash: Option<String>,
    pub expires_at: Option<i64>,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct Credential {
    pub id: String,
    pub account_id: String,
    pub kind: String,
    pub secret_hash: Option<String>,
    pub expires_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rate {
    pub prefix: String,
    pub price: i64,
}

#[derive(Debug, Clone)]
pub struct OwnedNumber {
    pub number: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct OptOut {
    pub phone: String,
    pub sender: String,
    pub created_at: i64,
}

/// Cursor pagination: items after `after` (by id), at most `limit`.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub after: Option<String>,
    pub limit: u32,
}

/// How often one subject failed a password check since some time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureCount {
    pub subject: String,
    pub failures: u32,
    /// Epoch ms of the oldest and the newest failure counted.
    pub first_at: i64,
    pub last_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewMessage {
    pub id: String,
    pub account_id: String,
    pub batch_id: String,
    pub to: String,
    pub sender: String,
    pub body: String,
    pub encoding: String,
    pub parts: i32,
    pub price: i64,
    /// `Queued` or `Scheduled`.
    pub status: Status,
    pub client_ref: Option<String>,
    pub callback_url: Option<String>,
    pub send_at: Option<i64>,
    pub valid_until: i64,
    pub created_at: i64,
    /// The trigger the message waits for (`Scheduled`, due only once it fires).
    pub trigger_id: Option<String>,
    /// How long after its trigger fires the message becomes due.
    pub trigger_delay_ms: Option<i64>,
    /// An SMPP customer asked for its receipt (`registered_delivery`): it is kept for them
    /// until they take it.
    pub smpp_receipt: bool,
    /// The id an SMPP customer knows the message by when it is not its own (every message
    /// of one `submit_multi` shares that submission's id).
    pub smpp_ref: Option<String>,
    /// When `body` is masked (a verification's code shown as `******`): the real text, which
    /// only the carrier gets. Stored sealed, in the accept's transaction.
    pub masked: Option<Masked>,
}

/// The real text of a message stored masked, in the clear (for a hand-off at accept) and
/// sealed (stored).
#[derive(Debug, Clone)]
pub struct Masked {
    pub plain: String,
    pub sealed: String,
}

#[derive(Debug, Clone)]
pub struct IdempotencyRecord {
    pub account_id: String,
    pub credential_id: String,
    pub key: String,
    pub request_hash: String,
    pub status_code: u16,
    pub response: String,
    pub created_at: i64,
}

/// New content for a scheduled message (`replace_sm`), computed from the message as read:
/// it applies only while the message is still scheduled at `old_price`.
#[derive(Debug, Clone)]
pub struct Replacement {
    pub account_id: String,
    pub message_id: String,
    pub old_price: i64,
    pub body: String,
    pub encoding: String,
    pub parts: i32,
    pub price: i64,
    /// The new send time; `None` keeps the message's.
    pub send_at: Option<i64>,
    pub valid_until: i64,
    /// Whether an SMPP customer awaits the receipt; `None` keeps what was asked.
    pub smpp_receipt: Option<bool>,
    pub now: i64,
}

/// What became of a [`Replacement`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplaceOutcome {
    Replaced,
    /// The message is no longer scheduled (or changed meanwhile): nothing was written.
    NotScheduled,
    /// The longer text costs more than the balance holds: nothing was written.
    InsufficientBalance,
}

/// One accepted request: all its messages are stored, or none.
#[derive(Debug, Clone)]
pub struct AcceptBatch {
    pub account_id: String,
    pub debit: i64,
    pub messages: Vec<NewMessage>,
    pub idempotency: Option<IdempotencyRecord>,
    /// The queue lane the messages are claimed in.
    pub lane: Lane,
    /// A broadcast's expansion advanced by this batch, committed with its messages.
    pub progress: Option<BroadcastProgress>,
}

/// Queue lanes, claimed in this order: a lane's due messages go before any of the next one's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Verification codes.
    Verification = 0,
    /// Single sends (the API, SMPP, automatic replies).
    Transactional = 1,
    /// Broadcasts.
    Bulk = 2,
}

/// How far one chunk took a broadcast's expansion.
#[derive(Debug, Clone, Default)]
pub struct BroadcastProgress {
    pub broadcast_id: String,
    /// Where the next chunk starts reading the audience.
    pub position: String,
    /// Recipients read in this chunk (messages and skips).
    pub read: i64,
    /// Messages composed in this chunk.
    pub expanded: i64,
    pub skipped_duplicate: i64,
    pub skipped_opted_out: i64,
    pub skipped_unsubscribed: i64,
    pub skipped_invalid: i64,
    pub skipped_frequency_cap: i64,
    /// Messages whose send time quiet hours moved.
    pub deferred: i64,
    /// What the chunk's messages cost.
    pub price: i64,
    /// The segment the chunk belongs to, for segmented broadcasts.
    pub segment: Option<i32>,
    /// The last chunk: the broadcast is fully expanded.
    pub done: bool,
    /// The numbers this chunk left out (opted out, unsubscribed, capped), remembered so a
    /// later occurrence counts as a duplicate.
    pub skipped_numbers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcceptOutcome {
    Stored,
    InsufficientBalance,
    /// Another request already stored a response under this idempotency key.
    IdempotencyTaken,
}

#[derive(Debug, Clone)]
pub struct Message {
    pub id: String,
    pub account_id: String,
    pub batch_id: String,
    pub to: String,
    pub sender: String,
    pub body: String,
    pub encoding: String,
    pub parts: i32,
    pub price: i64,
    pub status: String,
    pub client_ref: Option<String>,
    pub callback_url: Option<String>,
    pub send_at: Option<i64>,
    pub valid_until: i64,
    pub attempts: i32,
    pub connector: Option<String>,
    pub carrier_id: Option<String>,
    pub error_code: Option<String>,
    pub error_detail: Option<String>,
    pub possible_duplicate: bool,
    pub created_at: i64,
    pub updated_at: i64,
    /// The id an SMPP customer knows the message by when it is not `id` (`submit_multi`).
    pub smpp_ref: Option<String>,
}

impl Message {
    /// The id an SMPP customer knows the message by.
    pub fn smpp_id(&self) -> &str {
        self.smpp_ref.as_deref().unwrap_or(&self.id)
    }
}

#[derive(Debug, Clone)]
pub struct MessageEvent {
    pub status: String,
    pub detail: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Default)]
pub struct MessageFilter {
    pub status: Option<String>,
    pub to: Option<String>,
    pub client_ref: Option<String>,
    pub created_from: Option<i64>,
    pub created_to: Option<i64>,
    /// The send (or broadcast) the messages belong to.
    pub batch_id: Option<String>,
}

/// A change reported for a message. With `retry_at` the message goes back to the queue
/// (status stays `queued`) instead of changing state.
#[derive(Debug, Clone)]
pub struct StatusChange {
    pub message_id: String,
    pub status: Status,
    pub at: i64,
    pub connector: Option<String>,
    pub carrier_id: Option<String>,
    pub error_code: Option<String>,
    pub detail: Option<String>,
    pub retry_at: Option<i64>,
    /// Whether reaching the new state returns the price to the account: by default for
    /// states that mean the carrier never took the message; a carrier's own report of
    /// expiry after submission is not refunded.
    pub refund: bool,
    /// A retry of a submission whose fate is unknown (the link dropped or no response came):
    /// the carrier may have it already.
    pub possible_duplicate: bool,
}

impl StatusChange {
    pub fn new(message_id: impl Into<String>, status: Status, at: i64) -> Self {
        Self {
            message_id: message_id.into(),
            status,
            at,
            connector: None,
            carrier_id: None,
            error_code: None,
            detail: None,
            retry_at: None,
            refund: status.refunds(),
            possible_duplicate: false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Claim {
    pub owner: String,
    pub now: i64,
    pub lease_until: i64,
    pub limit: u32,
}

/// A leased message, with what a connector needs to send it.
#[derive(Debug, Clone)]
pub struct DispatchItem {
    pub id: String,
    pub account_id: String,
    pub to: String,
    pub sender: String,
    pub body: String,
    pub encoding: String,
    pub parts: i32,
    pub valid_until: i64,
    pub attempts: i32,
    pub possible_duplicate: bool,
    /// When the message first became due: its `send_at`, or when it was accepted.
    pub due_at: i64,
    /// When this claim's lease runs out and another node may take the message.
    pub lease_until: i64,
    /// Whether it travels in the bulk lane (a broadcast's): a connector takes every waiting
    /// message of the other lanes before it.
    pub bulk: bool,
    /// Whether its stored body is masked (the verification lane's): the claim gives it its
    /// real text.
    pub masked: bool,
}

#[derive(Debug, Clone)]
pub struct NewInbound {
    pub id: String,
    pub account_id: String,
    pub from: String,
    pub to: String,
    pub body: String,
    pub connector: String,
    /// `stop` / `start` / `help` when the body is such a keyword.
    pub keyword: Option<String>,
    /// Opt-out scope sender: `""` for the whole account.
    pub opt_out_sender: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct Inbound {
    pub id: String,
    pub from: String,
    pub to: String,
    pub body: String,
    pub connector: String,
    pub keyword: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct Webhook {
    pub id: String,
    pub account_id: String,
    pub url: String,
    /// Event types, or `["*"]` for all.
    pub events: Vec<String>,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_until: Option<i64>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The shape deliveries are posted in: `native`, or a vendor dialect's (`cloudware`).
    pub format: String,
}

impl Webhook {
    pub fn wants(&self, event_type: &str) -> bool {
        self.enabled && self.events.iter().any(|e| e == "*" || e == event_type)
    }
}

#[derive(Debug, Clone)]
pub struct DeliveryJob {
    pub id: String,
    pub account_id: String,
    pub webhook_id: Option<String>,
    pub url: String,
    pub event_type: String,
    pub payload: String,
    pub attempts: i32,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub webhook_id: Option<String>,
    pub url: String,
    pub event_type: String,
    pub payload: String,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct Attempt {
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub created_at: i64,
}

/// What happens to a delivery after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryNext {
    Succeeded,
    RetryAt(i64),
    /// Out of retries.
    Dead,
    /// The endpoint answered 410 Gone or kept failing: disable it.
    DisableEndpoint(String),
}

#[derive(Debug, Clone)]
pub struct AttemptResult {
    pub delivery_id: String,
    pub account_id: String,
    pub webhook_id: Option<String>,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub at: i64,
    pub next: DeliveryNext,
}

/// The integer id and the uid a vendor dialect shows for a native object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias {
    pub seq: i64,
    pub uid: String,
    /// `message`, `inbound`, `contact`, `group`.
    pub kind: String,
    /// The object's native id.
    pub target: String,
}

/// An alias to give a native object, unless it has one.
#[derive(Debug, Clone)]
pub struct NewAlias {
    pub target: String,
    pub uid: String,
    pub created_at: i64,
}
