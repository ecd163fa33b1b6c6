//! Textbird's settings: one typed tree with defaults, read in layers — built-in defaults,
//! then `textbird.toml`, then `TEXTBIRD_SECTION__KEY` environment variables, then command-line
//! flags (applied by the binary). Secrets are wrapped so they never print. Depends on no other
//! Textbird crate.

mod imports;
mod secret;
mod security;
mod verifications;

pub use imports::ImportSettings;
pub use security::{LoginSettings, SecretSettings, parse_network};
pub use verifications::{FraudSettings, VerificationSettings};

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

pub use secret::Secret;

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(String);

/// Everything an operator can set.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub http: HttpSettings,
    pub smpp_server: SmppServerSettings,
    pub database: DatabaseSettings,
    pub simulator: SimulatorSettings,
    pub connectors: Vec<ConnectorSettings>,
    pub routes: Vec<RouteSettings>,
    pub webhooks: WebhookSettings,
    pub messages: MessageSettings,
    pub imports: ImportSettings,
    pub rates: RateSettings,
    pub dispatcher: DispatcherSettings,
    pub links: LinkSettings,
    pub logins: LoginSettings,
    pub secrets: SecretSettings,
    pub verifications: VerificationSettings,
    pub fraud: FraudSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// Address the HTTP API listens on.
    pub listen: String,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// API requests per second per account (burst of one second's worth); 0 = unlimited.
    pub requests_per_second: u32,
    /// Connections the kernel queues before they are accepted (the `listen(2)` backlog; the
    /// kernel caps it at `net.core.somaxconn`).
    pub backlog: u32,
    /// This API as its clients reach it, such as `https://api.example.com`: the base of the
    /// next-page URLs some dialects return. Empty: from the request (`X-Forwarded-Proto` and
    /// `X-Forwarded-Host` when the connection comes from a trusted proxy, else `Host`).
    pub public_base_url: String,
    /// Addresses or networks (`10.0.0.0/8`, `::1`) of the reverse proxies in front of this
    /// server. Only connections from these have their `X-Forwarded-For`, `X-Forwarded-Proto`
    /// and `X-Forwarded-Host` believed; every other client's are ignored.
    pub trusted_proxies: Vec<String>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            max_body_bytes: 4 * 1024 * 1024,
            requests_per_second: 0,
            backlog: DEFAULT_BACKLOG,
            public_base_url: String::new(),
            trusted_proxies: Vec::new(),
        }
    }
}

/// `listen(2)` backlog of the HTTP and SMPP listeners unless configured: bursts of several
/// hundred simultaneous connections are queued, not reset.
pub const DEFAULT_BACKLOG: u32 = 1024;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmppServerSettings {
    /// Address the customer-facing SMPP server listens on.
    pub listen: String,
    /// Outstanding requests a customer may have on one session before `ESME_RMSGQFUL`.
    pub window: u32,
    /// No longer used: failed binds count towards the `[logins]` limits, like every other
    /// password check. Accepted so that existing configuration files still load.
    pub max_failed_binds_per_minute: u32,
    /// Seconds without any PDU from the customer before the session is closed.
    pub idle_timeout_secs: u64,
    /// Sessions allowed at once (all accounts together).
    pub max_sessions: u32,
    /// Connections the kernel queues before they are accepted (`listen(2)` backlog).
    pub backlog: u32,
    /// Receipts and inbound messages wait for a customer's receiver this long (seconds)
    /// before they are given up on.
    pub outbox_max_age_secs: u64,
}

impl Default for SmppServerSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:2775".into(),
            window: 100,
            max_failed_binds_per_minute: 10,
            idle_timeout_secs: 300,
            max_sessions: 1000,
            backlog: DEFAULT_BACKLOG,
            outbox_max_age_secs: 3 * 24 * 3600,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `postgres://...` switches to `PostgreSQL`; unset means `SQLite` in `data_dir`.
    pub url: Option<Secret>,
    /// Where the `SQLite` file lives.
    pub data_dir: PathBuf,
    /// `full` fsyncs every (batched) commit; `normal` survives process crashes but may lose
    /// the last commits on power loss.
    pub sqlite_synchronous: String,
    /// Connections for reads.
    pub max_connections: u32,
    /// PostgreSQL: writer connections per node, each committing its own batches (`SQLite`
    /// always has one). More helps when the database has cores to spare; all of them
    /// contend for the same hot rows (an account's balance).
    pub writers: u32,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: None,
            data_dir: PathBuf::from("./data"),
            sqlite_synchronous: "full".into(),
            max_connections: 8,
            writers: 2,
        }
    }
}

impl DatabaseSettings {
    /// The `SQLite` file used when no URL is set.
    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("textbird.db")
    }
}

/// The built-in simulated carrier.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimulatorSettings {
    /// Time to answer a submission, in milliseconds.
    pub submit_latency_ms: u64,
    /// Time from submission to the delivery report, in milliseconds.
    pub delivery_delay_ms: u64,
    /// Relative weights of the final outcomes.
    pub delivered: f64,
    pub undelivered: f64,
    pub expired: f64,
    pub rejected: f64,
}

impl Default for SimulatorSettings {
    fn default() -> Self {
        Self {
            submit_latency_ms: 0,
            delivery_delay_ms: 200,
            delivered: 1.0,
            undelivered: 0.0,
            expired: 0.0,
            rejected: 0.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConnectorKind {
    Simulator,
    Smpp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BindMode {
    Transceiver,
    TransmitterReceiver,
}

/// One carrier connection (`[[connectors]]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorSettings {
    pub name: String,
    pub kind: ConnectorKind,
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub port: u16,
    #[serde(default)]
    pub system_id: String,
    #[serde(default)]
    pub password: Secret,
    #[serde(default)]
    pub system_type: String,
    #[serde(default = "default_bind")]
    pub bind: BindMode,
    /// SMPP: sessions this node opens to the carrier (each a transceiver, or a transmitter
    /// and a receiver); submissions are spread over those that are up. Per node: N nodes
    /// open N times this many.
    #[serde(default = "default_binds")]
    pub binds: u32,
    /// Outstanding submissions at once, per bind.
    #[serde(default = "default_window")]
    pub window: u32,
    /// Messages per second, 0 = unlimited.
    #[serde(default)]
    pub tps: u32,
    #[serde(default = "default_enquire_link")]
    pub enquire_link_secs: u64,
    /// SMPP: how messages longer than one SMS go out.
    #[serde(default)]
    pub split: LongMessageMode,
    /// SMPP: seconds to wait for a response before the request counts as lost.
    #[serde(default = "default_response_timeout")]
    pub response_timeout_secs: u64,
    /// SMPP: longest pause between reconnection attempts (they start at 1 s and double).
    #[serde(default = "default_reconnect_max")]
    pub reconnect_max_secs: u64,
    /// SMPP: the bind's `address_range`.
    #[serde(default)]
    pub address_range: String,
    /// SMPP: ask the carrier for delivery receipts.
    #[serde(default = "default_true")]
    pub registered_delivery: bool,
}

/// How an SMPP connector sends messages longer than one SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LongMessageMode {
    /// User data header with an 8-bit reference in each part.
    #[default]
    Udh,
    /// SAR TLVs on each part.
    Sar,
    /// One `message_payload` TLV holding the whole text.
    Payload,
}

fn default_response_timeout() -> u64 {
    60
}
fn default_reconnect_max() -> u64 {
    60
}
fn default_true() -> bool {
    true
}

fn default_bind() -> BindMode {
    BindMode::Transceiver
}
fn default_window() -> u32 {
    10
}
fn default_binds() -> u32 {
    1
}
fn default_enquire_link() -> u64 {
    30
}

impl ConnectorSettings {
    /// The connector that exists when none is configured.
    pub fn default_simulator() -> Self {
        Self {
            name: "simulator".into(),
            kind: ConnectorKind::Simulator,
            host: String::new(),
            port: 0,
            system_id: String::new(),
            password: Secret::default(),
            system_type: String::new(),
            bind: BindMode::Transceiver,
            binds: 1,
            window: 1000,
            tps: 0,
            enquire_link_secs: 30,
            split: LongMessageMode::Udh,
            response_timeout_secs: 60,
            reconnect_max_secs: 60,
            address_range: String::new(),
            registered_delivery: true,
        }
    }
}

/// Which connector carries which destinations (`[[routes]]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSettings {
    /// Destination prefix in digits without `+`; `""` matches everything.
    #[serde(default)]
    pub prefix: String,
    pub connector: String,
    #[serde(default)]
    pub priority: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    /// Allow targets on loopback, private and link-local networks.
    pub allow_private_networks: bool,
    /// Per-attempt timeout in seconds.
    pub timeout_secs: u64,
    /// Deliveries in flight at once, across all endpoints.
    pub concurrency: usize,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self { allow_private_networks: false, timeout_secs: 15, concurrency: 64 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct LinkSettings {
    /// Where recipients open short links (`{public_base_url}/l/CODE`) and where triggers are
    /// fired (`/t/TOKEN`): this server as the internet reaches it, such as
    /// `https://go.example.com`. Empty: `http://` and the address the HTTP API listens on.
    pub public_base_url: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptOutScope {
    /// A STOP opts the number out of every message of the account.
    Account,
    /// A STOP opts the number out of messages from the number it was sent to.
    Sender,
}

/// What a `submitted` message becomes when no final receipt came within its validity period
/// plus `receipt_grace_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoReceiptStatus {
    /// The carrier's verdict is not known (the default: it may well have been delivered).
    Unknown,
    /// Treated as expired at the carrier (not refunded: the carrier took it).
    Expired,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MessageSettings {
    /// Validity when a send does not give one, in seconds.
    pub default_validity_secs: u64,
    pub opt_out_scope: OptOutScope,
    /// Reply sent to HELP; empty sends none.
    pub help_reply: String,
    /// Recipients in one send request.
    pub max_recipients: usize,
    /// Body length in characters.
    pub max_body_chars: usize,
    /// How long after its validity period ends a `submitted` message may still get its
    /// receipt, in seconds; then it becomes `no_receipt_status`, with an event and a webhook.
    pub receipt_grace_secs: u64,
    pub no_receipt_status: NoReceiptStatus,
    /// Parts (SMS segments) one message may take; a longer body is refused, not charged.
    pub max_parts: u32,
}

impl Default for MessageSettings {
    fn default() -> Self {
        Self {
            default_validity_secs: 48 * 3600,
            opt_out_scope: OptOutScope::Account,
            help_reply: "Reply STOP to opt out, START to opt back in.".into(),
            max_recipients: 10_000,
            max_body_chars: 1600,
            receipt_grace_secs: 3600,
            no_receipt_status: NoReceiptStatus::Unknown,
            max_parts: 10,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateSettings {
    /// Price per part where no rate prefix matches.
    pub default_price: String,
}

impl Default for RateSettings {
    fn default() -> Self {
        Self { default_price: "0.0050".into() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DispatcherSettings {
    /// Messages claimed per queue scan.
    pub batch_size: u32,
    /// How long a claimed message stays with its node before others may take it.
    pub lease_secs: u64,
    /// Attempts before a temporary failure becomes final.
    pub max_attempts: u32,
    /// This node's name, unique among the nodes sharing a database. Its leases carry it, so
    /// a node restarted under the same name takes its own leases back at once instead of
    /// waiting for them to expire. Empty: the host name and the HTTP port.
    pub node: String,
}

impl Default for DispatcherSettings {
    fn default() -> Self {
        Self { batch_size: 500, lease_secs: 120, max_attempts: 10, node: String::new() }
    }
}

impl Settings {
    /// Defaults, then `config` (if it exists, or must exist when `required`), then
    /// `TEXTBIRD_SECTION__KEY` environment variables.
    pub fn load(config: &Path, required: bool) -> Result<Self, ConfigError> {
        if required && !config.exists() {
            return Err(ConfigError(format!("{} does not exist", config.display())));
        }
        let figment = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file(config))
            .merge(Env::prefixed("TEXTBIRD_").filter(|k| k.as_str().contains("__")).split("__"));
        let mut settings: Settings = figment.extract().map_err(|e| ConfigError(e.to_string()))?;
        settings.fill_defaults();
        settings.validate()?;
        Ok(settings)
    }

    /// A simulator and a catch-all route exist when nothing else is configured.
    pub fn fill_defaults(&mut self) {
        if self.connectors.is_empty() {
            self.connectors.push(ConnectorSettings::default_simulator());
        }
        if self.routes.is_empty() {
            let connector = self.connectors[0].name.clone();
            self.routes.push(RouteSettings { prefix: String::new(), connector, priority: 0 });
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        for r in &self.routes {
            if !self.connectors.iter().any(|c| c.name == r.connector) {
                return Err(ConfigError(format!("route {:?} names unknown connector {:?}", r.prefix, r.connector)));
            }
        }
        let mut names: Vec<&str> = self.connectors.iter().map(|c| c.name.as_str()).collect();
        names.sort_unstable();
        if names.windows(2).any(|w| w[0] == w[1]) {
            return Err(ConfigError("two connectors share a name".into()));
        }
        let sim = &self.simulator;
        let weights = [sim.delivered, sim.undelivered, sim.expired, sim.rejected];
        if weights.iter().any(|w| !w.is_finite() || *w < 0.0) || weights.iter().sum::<f64>() <= 0.0 {
            return Err(ConfigError("simulator outcome ratios must be non-negative and not all zero".into()));
        }
        let base = &self.links.public_base_url;
        if !(base.is_empty() || base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ConfigError("links.public_base_url must start with http:// or https://".into()));
        }
        let api_base = &self.http.public_base_url;
        if !(api_base.is_empty() || api_base.starts_with("http://") || api_base.starts_with("https://")) {
            return Err(ConfigError("http.public_base_url must start with http:// or https://".into()));
        }
        for proxy in &self.http.trusted_proxies {
            if parse_network(proxy).is_none() {
                return Err(ConfigError(format!("http.trusted_proxies: {proxy:?} is not an address or network")));
            }
        }
        if self.messages.max_parts == 0 || self.messages.max_parts > 255 {
            return Err(ConfigError("messages.max_parts must be 1 to 255".into()));
        }
        if !matches!(self.database.sqlite_synchronous.as_str(), "full" | "normal") {
            return Err(ConfigError("database.sqlite_synchronous must be \"full\" or \"normal\"".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
