//! Settings of the defences at the edges: limits on password guessing (`[logins]`) and the
//! key that seals stored secrets (`[secrets]`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::Secret;

/// Limits on password guessing (`[logins]`), applied to every check of a password or client
/// secret: HTTP logins, SMPP binds, `OAuth` client secrets, the dashboard's sign-in. Failures
/// are counted per account (the username or client id tried, known or not) and per client
/// address (IPv6 by /64), in the database, so every node sharing it enforces the same limit.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoginSettings {
    /// Failures an hour per account and per address; past it every check is refused, the
    /// right password too, until the oldest failure is an hour old.
    pub max_failures_per_hour: u32,
    /// Failures in the hour before each further check has to wait.
    pub failures_before_delay: u32,
    /// The first wait, in milliseconds; it doubles with every further failure.
    pub first_delay_ms: u64,
    /// The longest wait, in seconds.
    pub max_delay_secs: u64,
}

impl Default for LoginSettings {
    fn default() -> Self {
        Self { max_failures_per_hour: 100, failures_before_delay: 5, first_delay_ms: 1000, max_delay_secs: 60 }
    }
}

/// The key that encrypts secrets the server must read back (webhook signing secrets, `SMPP`
/// connector passwords) at rest (`[secrets]`).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct SecretSettings {
    /// 32 random bytes, base64 (`textbird secrets generate-key` prints one). Best given as
    /// `TEXTBIRD_SECRETS__KEY` or through `key_file`, not in a file next to the database.
    /// Every node sharing a database needs the same key. Unset (and no `key_file`): a key is
    /// generated once beside the `SQLite` file (`data_dir/secrets.key`).
    pub key: Secret,
    /// A file holding the key (base64), instead of `key`.
    pub key_file: Option<PathBuf>,
    /// Keys used before `key`: still read, never written with; `textbird secrets rotate`
    /// re-encrypts everything under `key` so they can be dropped.
    pub previous_keys: Vec<Secret>,
}

/// An address (`192.0.2.7`, `::1`) as a one-address network, or a network (`10.0.0.0/8`).
pub fn parse_network(text: &str) -> Option<ipnet::IpNet> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>().ok().or_else(|| text.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
}
