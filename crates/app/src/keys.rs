//! Credentials issued after an account exists: `OAuth` client-credentials access tokens (an
//! hour each) and API keys that expire after a chosen number of days.

use std::net::IpAddr;

use subtle::ConstantTimeEq;
use textbird_store::NewCredential;
use textbird_types::{new_id, now_millis};

use crate::accounts::API_KEY_PREFIX;
use crate::logins::Subject;
use crate::secrets::{random_alphanumeric, random_key, sha256_hex};
use crate::{App, AppError, Principal};

/// Seconds an access token is accepted for.
pub const ACCESS_TOKEN_SECONDS: i64 = 3600;
const ACCESS_TOKEN_LEN: usize = 48;
const ACCESS_TOKEN_KIND: &str = "oauth_token";
/// Keys issued through the key endpoints (the key made with the account is `api_key`).
pub(crate) const ISSUED_KEY_KIND: &str = "issued_api_key";
/// Days an issued key lives when the request does not say.
pub const DEFAULT_KEY_DAYS: i64 = 30;
pub const MAX_KEY_DAYS: i64 = 365;
pub(crate) const DAY_MS: i64 = 86_400_000;

/// A new access token, shown once.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub token: String,
    pub expires_in: i64,
}

/// A new API key, shown once.
#[derive(Debug, Clone)]
pub struct IssuedKey {
    pub key: String,
    pub expires_at: i64,
}

impl App {
    /// Exchanges an account's `OAuth` client id and secret for an access token. Unknown ids
    /// and wrong secrets are both `Unauthorized`, after the same work; past the `[logins]`
    /// limits (per client id and per address `from`) every request is `RateLimited`.
    pub async fn oauth_access_token(
        &self,
        client_id: &str,
        client_secret: &str,
        from: Option<IpAddr>,
    ) -> Result<AccessToken, AppError> {
        const DUMMY: &str = "0000000000000000000000000000000000000000000000000000000000000000";
        if client_id.len() > 128 || client_secret.len() > 256 {
            return Err(AppError::Unauthorized);
        }
        let now = now_millis();
        let check = async {
            let credential = self.store().find_credential(client_id, now).await?.filter(|c| c.kind == "oauth_client");
            let stored = credential.as_ref().and_then(|c| c.secret_hash.clone()).unwrap_or_else(|| DUMMY.to_owned());
            let matches: bool = sha256_hex(client_secret).as_bytes().ct_eq(stored.as_bytes()).into();
            Ok(credential.filter(|_| matches))
        };
        let credential = self.limited(Subject::Client(client_id), from, check).await?;
        let token = random_alphanumeric(ACCESS_TOKEN_LEN);
        self.store()
            .insert_credential(&NewCredential {
                id: new_id(),
                account_id: credential.account_id,
                kind: ACCESS_TOKEN_KIND.into(),
                lookup: sha256_hex(&token),
                secret_hash: None,
                expires_at: Some(now + ACCESS_TOKEN_SECONDS * 1000),
                created_at: now,
            })
            .await?;
        Ok(AccessToken { token, expires_in: ACCESS_TOKEN_SECONDS })
    }

    /// A new API key for the caller's account that stops working after `days` (1 to 365,
    /// default 30).
    pub async fn issue_api_key(&self, p: &Principal, days: Option<i64>) -> Result<IssuedKey, AppError> {
        let days = days.unwrap_or(DEFAULT_KEY_DAYS);
        if !(1..=MAX_KEY_DAYS).contains(&days) {
            return Err(AppError::field("expiry_days", format!("must be 1 to {MAX_KEY_DAYS}")));
        }
        let now = now_millis();
        let key = random_key(API_KEY_PREFIX);
        let expires_at = now + days * DAY_MS;
        self.store()
            .insert_credential(&NewCredential {
                id: new_id(),
                account_id: p.account_id.clone(),
                kind: ISSUED_KEY_KIND.into(),
                lookup: sha256_hex(&key),
                secret_hash: None,
                expires_at: Some(expires_at),
                created_at: now,
            })
            .await?;
        Ok(IssuedKey { key, expires_at })
    }

    /// Revokes every key issued by `issue_api_key` for the caller's account; how many were
    /// live. They stop working on this node at once, on others within a second.
    pub async fn revoke_issued_api_keys(&self, p: &Principal) -> Result<u64, AppError> {
        let n = self.store().revoke_credentials(&p.account_id, ISSUED_KEY_KIND, now_millis()).await?;
        self.forget_credentials();
        Ok(n)
    }
}
