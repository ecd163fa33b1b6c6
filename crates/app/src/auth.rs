//! Who is calling. Every use case takes a `Principal`, and every read and write it makes is
//! scoped to the principal's account.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use phonenumber::country::Id as CountryId;
use textbird_types::{now_millis, parse_country};

use crate::logins::Subject;
use crate::secrets::sha256_hex;
use crate::{App, AppError};

/// An authenticated caller: an account and the credential it used.
#[derive(Debug, Clone)]
pub struct Principal {
    pub account_id: String,
    pub credential_id: String,
    /// Numbers without a country code are read in this country.
    pub country: Option<CountryId>,
    pub timezone: String,
    pub is_admin: bool,
    /// What the credential may do (see `scopes.rs`); `None`: everything.
    pub scopes: Option<Vec<String>>,
    /// The key's prefix, for logs (keys made through `/v1/keys`).
    pub key_prefix: Option<String>,
}

/// How long a resolved credential is trusted without asking the database again. Short, so a
/// credential revoked elsewhere (another node, the command line) stops working within it;
/// revocations made through this node clear the cache at once.
const PRINCIPAL_TTL: Duration = Duration::from_secs(1);
/// Entries kept at most; the cache starts over when full.
const PRINCIPAL_CACHE_MAX: usize = 10_000;

/// Recently resolved credentials, by the SHA-256 of the secret.
#[derive(Default)]
pub(crate) struct PrincipalCache(RwLock<HashMap<String, (Principal, Instant)>>);

impl PrincipalCache {
    fn get(&self, lookup: &str) -> Option<Principal> {
        let map = self.0.read().expect("poisoned");
        map.get(lookup).filter(|(_, at)| at.elapsed() < PRINCIPAL_TTL).map(|(p, _)| p.clone())
    }

    fn put(&self, lookup: String, p: Principal) {
        let mut map = self.0.write().expect("poisoned");
        if map.len() >= PRINCIPAL_CACHE_MAX {
            map.clear();
        }
        map.insert(lookup, (p, Instant::now()));
    }

    pub(crate) fn clear(&self) {
        self.0.write().expect("poisoned").clear();
    }
}

/// Per-account request budgets (`[http] requests_per_second`), so one tenant's flood is
/// refused before it costs anything and cannot crowd out the others.
#[derive(Default)]
pub(crate) struct Budgets(std::sync::Mutex<HashMap<String, textbird_engine::TokenBucket>>);

/// Per-credential one-minute windows, for APIs that promise a number of requests a minute per
/// key: when the credential's window opened and how many requests it has taken.
#[derive(Default)]
pub(crate) struct MinuteWindows(std::sync::Mutex<HashMap<String, (Instant, u32)>>);

const MINUTE: Duration = Duration::from_mins(1);

impl App {
    /// Counts one request of the principal's credential against `limit` a minute (on this
    /// node): the requests left in the current minute, or `RateLimited` with the wait.
    pub fn admit_per_minute(&self, p: &Principal, limit: u32) -> Result<u32, AppError> {
        let now = Instant::now();
        let mut windows = self.inner.minute_windows.0.lock().expect("poisoned");
        if windows.len() >= PRINCIPAL_CACHE_MAX {
            windows.retain(|_, (opened, _)| now.duration_since(*opened) < MINUTE);
        }
        let (opened, used) = windows.entry(p.credential_id.clone()).or_insert((now, 0));
        if now.duration_since(*opened) >= MINUTE {
            (*opened, *used) = (now, 0);
        }
        if *used >= limit {
            return Err(AppError::RateLimited(MINUTE.saturating_sub(now.duration_since(*opened))));
        }
        *used += 1;
        Ok(limit - *used)
    }

    /// Admits one request of the principal's account, or says when to retry. A refused
    /// request has had no effect.
    pub fn admit(&self, p: &Principal) -> Result<(), AppError> {
        let rate = self.settings().http.requests_per_second;
        if rate == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut budgets = self.inner.budgets.0.lock().expect("poisoned");
        let bucket =
            budgets.entry(p.account_id.clone()).or_insert_with(|| textbird_engine::TokenBucket::new(rate, now));
        bucket.try_take(now).map_err(AppError::RateLimited)
    }

    /// Forgets every cached credential (after a revocation).
    pub fn forget_credentials(&self) {
        self.inner.principals.clear();
    }

    /// Resolves an API key or API token (`Authorization: Bearer ...`). Unknown, revoked and
    /// expired credentials are indistinguishable.
    pub async fn authenticate_bearer(&self, token: &str) -> Result<Principal, AppError> {
        let token = token.trim();
        if token.is_empty() || token.len() > 512 {
            return Err(AppError::Unauthorized);
        }
        // The lookup is by hash: the stored value reveals nothing, and the comparison happens
        // on a digest the caller cannot steer byte by byte.
        let lookup = sha256_hex(token);
        if let Some(p) = self.inner.principals.get(&lookup) {
            return Ok(p);
        }
        let (credential, account) =
            self.store().find_principal(&lookup, now_millis()).await?.ok_or(AppError::Unauthorized)?;
        if credential.kind == "oauth_client" {
            return Err(AppError::Unauthorized);
        }
        let principal = Principal {
            account_id: account.id,
            credential_id: credential.id,
            country: parse_country(&account.country),
            timezone: account.timezone,
            is_admin: account.is_admin,
            scopes: credential.scopes.map(|s| s.split_whitespace().map(str::to_owned).collect()),
            key_prefix: credential.prefix,
        };
        self.inner.principals.put(lookup, principal.clone());
        Ok(principal)
    }

    /// Logs in with an account's username and password (HTTP logins, SMPP binds, the
    /// dashboard), from the client address `from` when known. Wrong passwords and unknown
    /// users are both `Unauthorized`, after the same Argon2 work; past the `[logins]` limits
    /// (per username and per address) every attempt is `RateLimited`, the right password
    /// too.
    pub async fn login(&self, username: &str, password: &str, from: Option<IpAddr>) -> Result<Principal, AppError> {
        if username.is_empty() || username.len() > 128 || password.len() > 256 {
            return Err(AppError::Unauthorized);
        }
        let account = self.limited(Subject::User(username), from, self.verify_login(username, password)).await?;
        Ok(Principal {
            credential_id: format!("password:{}", account.id),
            country: parse_country(&account.country),
            account_id: account.id,
            timezone: account.timezone,
            is_admin: account.is_admin,
            scopes: None,
            key_prefix: None,
        })
    }
}
