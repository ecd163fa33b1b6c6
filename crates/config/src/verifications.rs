//! `[verifications]`: the one-time-password service and its fraud guard (the operator's
//! defaults; accounts can only narrow the destination countries).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VerificationSettings {
    /// The SMS text when a request gives none; must contain `{{code}}`.
    pub default_body: String,
    /// The sender when a request gives none.
    pub default_from: String,
    /// Checks per verification; then `max_attempts_reached`.
    pub max_checks: u32,
    /// Sends (first and re-sends) per number within `send_window_secs`.
    pub max_sends: u32,
    pub send_window_secs: u64,
    /// Numbers whose verifications are never sent: their code is `test_code`.
    pub test_numbers: Vec<String>,
    pub test_code: String,
    /// Verifications to one six-digit destination prefix within an hour before that prefix is
    /// blocked for `prefix_block_secs`; 0: no limit.
    pub prefix_limit_per_hour: u32,
    pub prefix_block_secs: u64,
    /// Prefixes (digits, without `+`) never blocked by the fraud guard.
    pub safe_prefixes: Vec<String>,
    /// The conversion guard: a prefix whose last `conversion_window` verifications were
    /// approved below `min_conversion_percent` is blocked as well; 0: off.
    pub conversion_window: u32,
    pub min_conversion_percent: f64,
    /// Verification requests per client address per hour; 0: no limit.
    pub per_client_per_hour: u32,
    /// Testing only: lets `POST /v1/simulator/clock` move the verification clock forward.
    pub test_clock: bool,
}

impl Default for VerificationSettings {
    fn default() -> Self {
        Self {
            default_body: "Your verification code is {{code}}".into(),
            default_from: "Verify".into(),
            max_checks: 5,
            max_sends: 5,
            send_window_secs: 600,
            test_numbers: Vec::new(),
            test_code: "000000".into(),
            prefix_limit_per_hour: 0,
            prefix_block_secs: 12 * 3600,
            safe_prefixes: Vec::new(),
            conversion_window: 0,
            min_conversion_percent: 0.0,
            per_client_per_hour: 0,
            test_clock: false,
        }
    }
}

/// `[fraud]`: limits on every send path (API, dialects, SMPP, broadcasts, verifications).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct FraudSettings {
    /// ISO 3166 alpha-2 codes (`NL`, `GB`) messages may go to; empty: every country.
    pub allowed_countries: Vec<String>,
    /// Most an account's messages may cost per UTC day (`"25.00"`); empty: no cap. Sends past
    /// it are refused with 402 before anything is charged.
    pub daily_spend_cap: String,
}
