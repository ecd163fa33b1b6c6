//! API keys an account manages itself (`/v1/keys`): named, with scopes and an expiry, listed
//! by their prefix, revoked one at a time (effective at once on this node and within a
//! second on the others), rotated with an overlap during which old and new both work.

use serde::Serialize;
use textbird_store::NewKey;
use textbird_types::{format_millis, new_id, now_millis};

use crate::accounts::API_KEY_PREFIX;
use crate::scopes::{SCOPE_KEYS, SCOPES, allows, parse_scopes};
use crate::secrets::{random_key, sha256_hex};
use crate::{App, AppError, Principal};

/// Keys made here.
const MANAGED_KIND: &str = "managed_api_key";
/// Every kind of key `/v1/keys` lists and revokes: the account's first key, keys issued by
/// the dialects' key endpoints, and keys made here.
const KEY_KINDS: [&str; 3] = ["api_key", "issued_api_key", MANAGED_KIND];
/// Characters of a key shown in lists and logs (`tbk_` and 8 more).
const PREFIX_LEN: usize = 12;
/// How long a rotated key keeps working when the request does not say.
pub const DEFAULT_ROTATION_OVERLAP_SECS: i64 = 86_400;
pub const MAX_ROTATION_OVERLAP_SECS: i64 = 30 * 86_400;

/// A key as lists show it: never the key itself.
#[derive(Debug, Clone, Serialize)]
pub struct KeyInfo {
    pub id: String,
    pub name: Option<String>,
    /// The key's first characters; `null` for keys made before prefixes were kept.
    pub prefix: Option<String>,
    pub scopes: Vec<String>,
    pub expires_at: Option<String>,
    pub created_at: String,
}

/// A new key: `key` is shown only now.
#[derive(Debug, Clone, Serialize)]
pub struct CreatedKey {
    pub id: String,
    pub name: Option<String>,
    pub key: String,
    pub prefix: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<String>,
    pub created_at: String,
}

/// What a new key is to be.
#[derive(Debug, Clone, Default)]
pub struct KeyRequest {
    pub name: String,
    /// RFC 3339.
    pub expires_at: Option<String>,
    /// `None`: the caller's own scopes.
    pub scopes: Option<Vec<String>>,
}

fn all_scopes() -> Vec<String> {
    SCOPES.iter().map(|s| (*s).to_owned()).collect()
}

impl App {
    pub async fn list_keys(&self, p: &Principal) -> Result<Vec<KeyInfo>, AppError> {
        let keys = self.store().list_keys(&p.account_id, &KEY_KINDS, now_millis()).await?;
        Ok(keys
            .into_iter()
            .map(|k| KeyInfo {
                id: k.id,
                name: k.name.or_else(|| (k.kind == "api_key").then(|| "account key".to_owned())),
                prefix: k.prefix,
                scopes: k.scopes.map_or_else(all_scopes, |s| s.split_whitespace().map(str::to_owned).collect()),
                expires_at: k.expires_at.map(format_millis),
                created_at: format_millis(k.created_at),
            })
            .collect())
    }

    /// A new key for the caller's account, with at most the caller's own scopes.
    pub async fn create_key(&self, p: &Principal, req: KeyRequest) -> Result<CreatedKey, AppError> {
        let now = now_millis();
        let name = req.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::field("name", "must be 1 to 100 characters"));
        }
        let expires_at = match req.expires_at.as_deref() {
            None => None,
            Some(t) => {
                let at: jiff::Timestamp =
                    t.parse().map_err(|_| AppError::field("expires_at", "must be an RFC 3339 time"))?;
                let ms = at.as_millisecond();
                if ms <= now {
                    return Err(AppError::field("expires_at", "must be in the future"));
                }
                Some(ms)
            }
        };
        let scopes = match req.scopes {
            Some(s) => parse_scopes(&s)?,
            None => p.scopes.clone().unwrap_or_else(all_scopes),
        };
        if let Some(bad) = scopes.iter().find(|s| !allows(p.scopes.as_deref(), s)) {
            return Err(AppError::field("scopes", format!("this key does not have {bad:?} to give")));
        }
        self.insert_key(p, Some(name), scopes, expires_at, now).await
    }

    async fn insert_key(
        &self,
        p: &Principal,
        name: Option<String>,
        scopes: Vec<String>,
        expires_at: Option<i64>,
        now: i64,
    ) -> Result<CreatedKey, AppError> {
        if !allows(p.scopes.as_deref(), SCOPE_KEYS) {
            return Err(AppError::Forbidden);
        }
        let key = random_key(API_KEY_PREFIX);
        let prefix: String = key.chars().take(PREFIX_LEN).collect();
        let id = new_id();
        self.store()
            .insert_key(&NewKey {
                id: id.clone(),
                account_id: p.account_id.clone(),
                kind: MANAGED_KIND.into(),
                lookup: sha256_hex(&key),
                name: name.clone(),
                scopes: Some(scopes.join(" ")),
                prefix: Some(prefix.clone()),
                expires_at,
                created_at: now,
            })
            .await?;
        tracing::info!(account = %p.account_id, key = %prefix, "API key created");
        Ok(CreatedKey {
            id,
            name,
            key,
            prefix,
            scopes,
            expires_at: expires_at.map(format_millis),
            created_at: format_millis(now),
        })
    }

    /// Revokes one of the account's keys: refused at once on this node, within a second on
    /// every other.
    pub async fn revoke_key(&self, p: &Principal, id: &str) -> Result<(), AppError> {
        if !self.store().revoke_key(&p.account_id, id, &KEY_KINDS, now_millis()).await? {
            return Err(AppError::NotFound("key"));
        }
        self.forget_credentials();
        tracing::info!(account = %p.account_id, key_id = %id, "API key revoked");
        Ok(())
    }

    /// A new key with the same name, scopes and expiry as key `id`, which keeps working for
    /// `overlap_secs` more (default a day), so clients can switch without a gap.
    pub async fn rotate_key(&self, p: &Principal, id: &str, overlap_secs: Option<i64>) -> Result<CreatedKey, AppError> {
        let overlap = overlap_secs.unwrap_or(DEFAULT_ROTATION_OVERLAP_SECS);
        if !(0..=MAX_ROTATION_OVERLAP_SECS).contains(&overlap) {
            return Err(AppError::field("overlap_seconds", format!("must be 0 to {MAX_ROTATION_OVERLAP_SECS}")));
        }
        let now = now_millis();
        let old = self
            .store()
            .list_keys(&p.account_id, &KEY_KINDS, now)
            .await?
            .into_iter()
            .find(|k| k.id == id)
            .ok_or(AppError::NotFound("key"))?;
        let scopes = old.scopes.map_or_else(all_scopes, |s| s.split_whitespace().map(str::to_owned).collect());
        if let Some(bad) = scopes.iter().find(|s| !allows(p.scopes.as_deref(), s)) {
            return Err(AppError::field("scopes", format!("this key does not have {bad:?} to give")));
        }
        let created = self.insert_key(p, old.name, scopes, old.expires_at, now).await?;
        let until = old.expires_at.map_or(now + overlap * 1000, |e| e.min(now + overlap * 1000));
        self.store().expire_key(&p.account_id, id, &KEY_KINDS, now, until).await?;
        self.forget_credentials();
        Ok(created)
    }
}
