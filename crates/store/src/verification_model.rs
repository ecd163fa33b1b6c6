//! Records of the verification (one-time password) service and its fraud guard.

/// A verification: a code sent to a number, checked until approved, expired, canceled or
/// locked after too many checks.
#[derive(Debug, Clone)]
pub struct Verification {
    pub id: String,
    pub account_id: String,
    pub phone: String,
    /// `pending`, `approved`, `expired`, `max_attempts_reached`, `canceled`.
    pub status: String,
    /// Keyed hash of the code; never the code.
    pub code_hash: String,
    /// The code sealed for re-sending it.
    pub code_sealed: String,
    pub code_length: i32,
    pub checks: i32,
    pub sends: i32,
    pub is_test: bool,
    pub message_id: Option<String>,
    pub expires_at: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Verification {
    pub(crate) const COLUMNS: &'static str = "id, account_id, phone, status, code_hash, code_sealed, code_length, \
         checks, sends, is_test, message_id, expires_at, created_at, updated_at";
}

/// One send of a verification code, counted by the send limits and the fraud guard.
#[derive(Debug, Clone)]
pub struct VerificationSend {
    pub verification_id: String,
    pub account_id: String,
    pub phone: String,
    /// The destination's first six digits.
    pub prefix: String,
    /// A hash of the requesting client's address, or empty.
    pub client: String,
    pub sent_at: i64,
    /// The message that carried the code (none for a test number).
    pub message_id: Option<String>,
}

/// How a check ended, as stored.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    pub verification: Verification,
    /// Whether this check approved it.
    pub approved: bool,
}

/// A destination prefix the fraud guard blocked.
#[derive(Debug, Clone)]
pub struct PrefixBlock {
    pub prefix: String,
    pub reason: String,
    pub blocked_at: i64,
    pub blocked_until: i64,
}

/// An account's own fraud settings (`None`: the operator's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountFraudSettings {
    pub allowed_countries: Option<Vec<String>>,
    /// Micros.
    pub daily_spend_cap: Option<i64>,
}

/// What a send counter counts over.
#[derive(Debug, Clone, Copy)]
pub enum SendKey {
    Phone,
    Prefix,
    Client,
}
