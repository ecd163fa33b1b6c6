//! Textbird's use cases: sending, reading and canceling messages, inbound messages, webhooks,
//! contacts, groups and senders, accounts and their credentials, rates. Front ends (the HTTP API, its dialects, the SMPP
//! server, the dashboard) call these and nothing below them; every call is scoped to the
//! authenticated account. No wire formats here: results are domain values, errors are
//! `AppError`, and each front end maps them once to its own format.

mod accounts;
mod aliases;
mod auth;
mod broadcasts;
mod clicks;
mod content;
mod counts;
mod error;
mod fraud;
mod idempotency;
mod imports;
mod inbound;
mod keys;
mod lists;
mod logins;
mod messages;
mod people;
mod rates;
mod recipient;
mod relay;
mod render;
mod secrets;
mod send;
pub mod template;
mod triggers;
mod verifications;
mod webhooks;

use std::sync::Arc;

use textbird_config::Settings;
use textbird_engine::CarrierEvent;
use textbird_store::Store;
use tokio::sync::mpsc;

pub use accounts::{CreatedAccount, NewAccountRequest};
pub use aliases::{AliasKind, UID_LEN};
pub use auth::Principal;
pub use broadcasts::{
    BroadcastAudience, BroadcastQuery, BroadcastReport, BroadcastRequest, BroadcastView, CampaignChange, CampaignInput,
    Counters, Created, Estimate, FrequencyCap, NextSegment, QuietHours, SegmentView, Segments, Skipped,
};
pub use clicks::{Opened, user_agent_class};
pub use content::{
    ContentPage, ContentQuery, LinkInput, LinkListAddition, LinkListWithLinks, MAX_IMPORT_BYTES, MAX_LIST_LINKS,
};
pub use error::{AppError, FieldError};
pub use fraud::{FraudChange, FraudSettingsView};
pub use idempotency::{IdempotencyKey, Replay};
pub use imports::{Mapping, Preview as FilePreview, neutralise};
pub use inbound::InjectInbound;
pub use keys::{ACCESS_TOKEN_SECONDS, AccessToken, DEFAULT_KEY_DAYS, IssuedKey, MAX_KEY_DAYS};
pub use lists::{ImportCounts, ImportRequest};
pub use messages::{MessageList, MessageQuery, Replace};
pub use people::{
    ContactChange, ContactDetails, ContactInput, ContactQuery, GroupChange, MAX_IDS_PER_REQUEST, SenderChange,
};
pub use rates::{RELOAD_INTERVAL as RATES_RELOAD_INTERVAL, RateTable, parse_rates_csv};
pub use recipient::Recipient;
pub use render::{CODE_LEN, Preview};
pub use send::{RecipientError, SendOutcome, SendRequest, SendResult, SentMessage};
pub use textbird_engine::HandsetMessage;
pub use textbird_store::{
    Account, Alias, Attempt, Contact, ContactGroup, Counted, Delivery, FieldDef, FieldType, Inbound, Link, LinkList,
    LinkReport, List, ListFilter, ListKind, Member, Message, MessageEvent, Notice, OptOut, OwnedNumber, Page,
    SenderList, SenderRecord, Spinner, Template, Trigger, Webhook,
};
pub use textbird_store::{Broadcast, Campaign, StatusCount};
pub use verifications::{
    CheckAnswer, CheckRequest, VerificationError, VerificationList, VerificationRequest, VerificationView,
};
pub use webhooks::{EVENT_TYPES, WEBHOOK_FORMATS, WebhookChange, WebhookCreated};
/// Everything a use case needs, shared by every front end of one node.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    settings: Settings,
    rates: RateTable,
    carrier_events: Option<mpsc::Sender<CarrierEvent>>,
    in_flight: idempotency::InFlight,
    principals: auth::PrincipalCache,
    budgets: auth::Budgets,
    minute_windows: auth::MinuteWindows,
    login_checks: logins::Running,
    /// Imports running at once on this node.
    imports: tokio::sync::Semaphore,
    /// The simulated carrier's phones, when the node runs the simulator.
    handsets: std::sync::OnceLock<textbird_engine::Handsets>,
    /// How far the verification clock runs ahead (testing only, `[verifications] test_clock`).
    clock_offset_ms: std::sync::atomic::AtomicI64,
    /// Verification requests to one destination prefix are decided one at a time on a node, so
    /// concurrent requests cannot all pass a limit at once.
    verify_locks: Vec<tokio::sync::Mutex<()>>,
}

impl App {
    /// `carrier_events` is where injected inbound messages go (the engine's channel); `None`
    /// for command-line use without a running engine.
    pub async fn new(
        store: Store,
        settings: Settings,
        carrier_events: Option<mpsc::Sender<CarrierEvent>>,
    ) -> Result<Self, AppError> {
        let rates = RateTable::load(&store, &settings.rates.default_price).await?;
        let imports = tokio::sync::Semaphore::new(settings.imports.concurrent.max(1));
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                settings,
                rates,
                carrier_events,
                in_flight: idempotency::InFlight::default(),
                principals: auth::PrincipalCache::default(),
                budgets: auth::Budgets::default(),
                minute_windows: auth::MinuteWindows::default(),
                login_checks: logins::Running::default(),
                imports,
                handsets: std::sync::OnceLock::new(),
                clock_offset_ms: std::sync::atomic::AtomicI64::new(0),
                verify_locks: (0..verifications::LOCK_STRIPES).map(|_| tokio::sync::Mutex::new(())).collect(),
            }),
        })
    }

    /// Terminal statuses and inbound messages as this node commits them (for live sessions
    /// such as SMPP receivers).
    pub fn notices(&self) -> tokio::sync::broadcast::Receiver<std::sync::Arc<textbird_store::Notice>> {
        self.store().signals().subscribe()
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    pub fn rates(&self) -> &RateTable {
        &self.inner.rates
    }

    /// Whether the database answers and takes writes.
    pub async fn healthy(&self) -> bool {
        self.unhealthy().await.is_none()
    }

    /// Why this node cannot store what it is sent now, if it cannot: the database does not
    /// answer, or it refuses writes (a full disk, a read-only database). The reason names the
    /// cause without the database's own message.
    pub async fn unhealthy(&self) -> Option<String> {
        if let Err(e) = self.inner.store.ping().await {
            tracing::warn!(error = %e, "health check: the database does not answer");
            return Some("the database does not answer".into());
        }
        self.inner.store.write_failure().map(|f| {
            let secs = (textbird_types::now_millis() - f.since).max(0) / 1000;
            tracing::warn!(reason = %f.reason, "health check: writes are failing");
            format!("the database has refused writes for {secs} s")
        })
    }
}
