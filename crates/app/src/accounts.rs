//! Accounts and their credentials: every way an account can authenticate is created with it
//! and shown once.

use serde::Serialize;
use textbird_store::{NewAccount, NewCredential};
use textbird_types::{Money, new_id, now_millis, parse_country};

use crate::secrets::{hash_password, random_alphanumeric, random_key, sha256_hex};
use crate::{App, AppError};

/// Prefix that makes a Textbird API key recognisable (in logs, secret scanners).
pub(crate) const API_KEY_PREFIX: &str = "tbk_";
const CLIENT_ID_PREFIX: &str = "tbc_";
/// SMPP 3.4 caps `password` at 8 octets and strict clients cut longer ones, so the account
/// password (used for SMPP binds and username/password APIs) has 8 random alphanumerics:
/// 47 bits, stored as Argon2id, with failed checks limited per account and per address (`[logins]`).
const PASSWORD_LEN: usize = 8;
/// SMPP 3.4 caps `system_id` at 15 octets: usernames fit (8 + `-` + 6).
const USERNAME_SLUG_LEN: usize = 8;
const TOKEN_LEN: usize = 40;

#[derive(Debug, Clone)]
pub struct NewAccountRequest {
    pub name: String,
    pub balance: String,
    pub country: String,
    pub timezone: String,
    pub is_admin: bool,
}

/// A new account with every credential in clear text: shown once, never stored so.
#[derive(Debug, Clone, Serialize)]
pub struct CreatedAccount {
    pub id: String,
    pub name: String,
    pub balance: String,
    pub country: String,
    pub api_key: String,
    pub api_token: String,
    pub username: String,
    pub password: String,
    pub client_id: String,
    pub client_secret: String,
    /// Signs webhooks sent to a message's own `callback_url`.
    pub callback_secret: String,
}

impl App {
    pub async fn create_account(&self, req: NewAccountRequest) -> Result<CreatedAccount, AppError> {
        let name = req.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::field("name", "must be 1 to 100 characters"));
        }
        let balance = Money::parse(&req.balance).map_err(|e| AppError::field("balance", e.to_string()))?;
        if balance.micros() < 0 {
            return Err(AppError::field("balance", "must not be negative"));
        }
        let country = req.country.trim().to_ascii_uppercase();
        if parse_country(&country).is_none() {
            return Err(AppError::field("country", "must be an ISO 3166 alpha-2 code such as NL"));
        }
        if jiff::tz::TimeZone::get(&req.timezone).is_err() {
            return Err(AppError::field("timezone", "unknown time zone"));
        }
        let id = new_id();
        let now = now_millis();
        let username = format!("{}-{}", slug(&name), random_alphanumeric(6).to_ascii_lowercase());
        let username = if req.is_admin && self.store().find_account_by_username("admin").await?.is_none() {
            "admin".to_owned()
        } else {
            username
        };
        let password = random_alphanumeric(PASSWORD_LEN);
        let api_key = random_key(API_KEY_PREFIX);
        let token_number: u32 = rand::random::<u32>() % 1_000_000 + 1;
        let api_token = format!("{token_number}|{}", random_alphanumeric(TOKEN_LEN));
        let client_id = format!("{CLIENT_ID_PREFIX}{}", random_alphanumeric(24));
        let client_secret = random_alphanumeric(TOKEN_LEN);
        let callback_secret = textbird_webhooks::generate_secret();
        let credential = |kind: &str, lookup: String, secret_hash: Option<String>| NewCredential {
            id: new_id(),
            account_id: id.clone(),
            kind: kind.to_owned(),
            lookup,
            secret_hash,
            expires_at: None,
            created_at: now,
        };
        let credentials = [
            credential("api_key", sha256_hex(&api_key), None),
            credential("api_token", sha256_hex(&api_token), None),
            credential("oauth_client", client_id.clone(), Some(sha256_hex(&client_secret))),
        ];
        let account = NewAccount {
            id: id.clone(),
            name: name.clone(),
            balance: balance.micros(),
            country: country.clone(),
            timezone: req.timezone,
            is_admin: req.is_admin,
            username: username.clone(),
            password_hash: hash_password(&password)?,
            callback_secret: callback_secret.clone(),
            created_at: now,
        };
        self.store().create_account(&account, &credentials).await?;
        Ok(CreatedAccount {
            id,
            name,
            balance: balance.to_string(),
            country,
            api_key,
            api_token,
            username,
            password,
            client_id,
            client_secret,
            callback_secret,
        })
    }

    /// The caller's own account.
    pub async fn account(&self, p: &crate::Principal) -> Result<textbird_store::Account, AppError> {
        self.store().find_account(&p.account_id).await?.ok_or(AppError::NotFound("account"))
    }

    /// Checks a username and password. Unknown users cost the same time as wrong passwords.
    /// Only `App::login` calls it, under the limits on guessing.
    pub(crate) async fn verify_login(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<textbird_store::Account>, AppError> {
        const DUMMY: &str =
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$J5JVK0Ux7zWqmbCNTzJmPPRqyvTBFIz7hbEAqAvp3iU";
        let account = self.store().find_account_by_username(username).await?;
        let hash = account.as_ref().map_or(DUMMY, |a| a.password_hash.as_str()).to_owned();
        let password = password.to_owned();
        let ok = tokio::task::spawn_blocking(move || crate::secrets::verify_password(&password, &hash))
            .await
            .unwrap_or(false);
        Ok(account.filter(|a| ok && a.suspended_at.is_none()))
    }
}

fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .filter_map(|c| {
            if c.is_ascii_alphanumeric() {
                Some(c.to_ascii_lowercase())
            } else if c == ' ' || c == '-' {
                Some('-')
            } else {
                None
            }
        })
        .take(USERNAME_SLUG_LEN)
        .collect();
    let s = s.trim_matches('-').to_owned();
    if s.is_empty() { "account".into() } else { s }
}
