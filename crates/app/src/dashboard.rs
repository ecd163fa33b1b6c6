//! The web dashboard's sessions and its named API keys. A sign-in checks the password through
//! [`App::login`] (so the `[logins]` limits apply) and stores a session under the SHA-256 of a
//! random token; the token lives only in the browser's cookie. Sessions are in the database,
//! so any node sharing it recognises them; one unused for `[dashboard] idle_minutes` is over.

use std::net::IpAddr;

use textbird_store::{NamedKey, NewCredential};
use textbird_types::{new_id, now_millis, parse_country};

use crate::keys::{DAY_MS, ISSUED_KEY_KIND};
use crate::secrets::{random_key, sha256_hex};
use crate::{App, AppError, DEFAULT_KEY_DAYS, IssuedKey, MAX_KEY_DAYS, Principal};

/// The prefix of a session token (so one found in a log is recognisable).
const SESSION_PREFIX: &str = "tbs_";
/// A session's last use is written at most this often.
const TOUCH_EVERY_MS: i64 = 30_000;
/// Longest name of an API key.
pub const MAX_KEY_NAME: usize = 100;

/// A signed-in browser: the token for its cookie, and who it is.
#[derive(Debug, Clone)]
pub struct DashboardSession {
    pub token: String,
    pub principal: Principal,
}

impl App {
    /// Signs in with a username and password from the client address `from`; the new
    /// session's token is for the browser only.
    pub async fn dashboard_sign_in(
        &self,
        username: &str,
        password: &str,
        from: Option<IpAddr>,
    ) -> Result<DashboardSession, AppError> {
        let login = self.login(username, password, from).await?;
        let token = random_key(SESSION_PREFIX);
        let now = now_millis();
        self.store()
            .insert_dashboard_session(&textbird_store::DashboardSession {
                lookup: sha256_hex(&token),
                account_id: login.account_id.clone(),
                created_at: now,
                last_seen_at: now,
            })
            .await?;
        let principal = Principal { credential_id: format!("dashboard:{}", login.account_id), ..login };
        Ok(DashboardSession { token, principal })
    }

    /// Who a session token belongs to; `Unauthorized` when it is unknown, signed out or
    /// unused past the idle limit. Marks the session used.
    pub async fn dashboard_principal(&self, token: &str) -> Result<Principal, AppError> {
        if !token.starts_with(SESSION_PREFIX) || token.len() > 128 {
            return Err(AppError::Unauthorized);
        }
        let lookup = sha256_hex(token);
        let now = now_millis();
        let idle_ms = i64::try_from(self.settings().dashboard.idle_minutes.saturating_mul(60_000)).unwrap_or(i64::MAX);
        let (session, account) = self
            .store()
            .dashboard_session(&lookup, now.saturating_sub(idle_ms))
            .await?
            .ok_or(AppError::Unauthorized)?;
        if now - session.last_seen_at >= TOUCH_EVERY_MS {
            self.store().touch_dashboard_session(&lookup, now).await?;
        }
        Ok(Principal {
            credential_id: format!("dashboard:{}", account.id),
            country: parse_country(&account.country),
            account_id: account.id,
            timezone: account.timezone,
            is_admin: account.is_admin,
        })
    }

    /// Ends the session of this token (nothing when there is none).
    pub async fn dashboard_sign_out(&self, token: &str) -> Result<(), AppError> {
        self.store().delete_dashboard_session(&sha256_hex(token)).await?;
        Ok(())
    }

    /// The CSRF token of the session with this token: derived from it, so it needs no storage
    /// and cannot be computed without the cookie.
    pub fn dashboard_csrf(&self, token: &str) -> String {
        sha256_hex(&format!("csrf:{token}"))
    }

    /// A random token for a form shown before sign-in (kept in a cookie of its own).
    pub fn dashboard_form_token(&self) -> String {
        random_key("tbf_")
    }

    /// A new API key with a name, that stops working after `days` (1 to 365, default 30).
    pub async fn issue_named_api_key(
        &self,
        p: &Principal,
        name: &str,
        days: Option<i64>,
    ) -> Result<IssuedKey, AppError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_KEY_NAME {
            return Err(AppError::field("name", format!("must be 1 to {MAX_KEY_NAME} characters")));
        }
        let days = days.unwrap_or(DEFAULT_KEY_DAYS);
        if !(1..=MAX_KEY_DAYS).contains(&days) {
            return Err(AppError::field("expiry_days", format!("must be 1 to {MAX_KEY_DAYS}")));
        }
        let now = now_millis();
        let key = random_key(crate::accounts::API_KEY_PREFIX);
        let expires_at = now + days * DAY_MS;
        let credential = NewCredential {
            id: new_id(),
            account_id: p.account_id.clone(),
            kind: ISSUED_KEY_KIND.into(),
            lookup: sha256_hex(&key),
            secret_hash: None,
            expires_at: Some(expires_at),
            created_at: now,
        };
        self.store().insert_named_credential(&credential, name).await?;
        Ok(IssuedKey { key, expires_at })
    }

    /// The caller's issued API keys, newest first (revoked and recently expired ones too).
    pub async fn api_keys(&self, p: &Principal) -> Result<Vec<NamedKey>, AppError> {
        Ok(self.store().named_keys(&p.account_id, ISSUED_KEY_KIND).await?)
    }

    /// Revokes one of the caller's issued API keys; another account's key is not found. It
    /// stops working on this node at once, on others within a second.
    pub async fn revoke_api_key(&self, p: &Principal, id: &str) -> Result<(), AppError> {
        if !self.store().revoke_credential(&p.account_id, ISSUED_KEY_KIND, id, now_millis()).await? {
            return Err(AppError::NotFound("API key"));
        }
        self.forget_credentials();
        Ok(())
    }
}

/// What a message would cost before it is sent: for the send form's live counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Estimate {
    pub chars: usize,
    pub encoding: &'static str,
    pub parts: u32,
    /// For every recipient (by its digits) at the current rates, all parts.
    pub price: textbird_types::Money,
    /// Recipients named in `to` (comma, semicolon or line separated).
    pub recipients: usize,
}

impl App {
    /// Measures `body` as it would go out and prices it for the recipients in `to`.
    pub fn estimate(&self, to: &str, body: &str) -> Estimate {
        let analysis = textbird_sms::analyze(body);
        let recipients: Vec<&str> = to.split([',', ';', '\n']).map(str::trim).filter(|s| !s.is_empty()).collect();
        let per_message = recipients
            .iter()
            .map(|r| {
                let digits: String = r.chars().filter(char::is_ascii_digit).collect();
                self.rates().price_per_part(&digits).checked_mul(i64::from(analysis.parts)).unwrap_or_default()
            })
            .fold(textbird_types::Money::ZERO, |a, b| textbird_types::Money(a.0.saturating_add(b.0)));
        Estimate {
            chars: body.chars().count(),
            encoding: analysis.encoding.as_str(),
            parts: analysis.parts,
            price: per_message,
            recipients: recipients.len(),
        }
    }
}
