//! Who is calling. Every use case takes a `Principal`, and every read and write it makes is
//! scoped to the principal's account.

use phonenumber::country::Id as CountryId;
use textbird_types::{now_millis, parse_country};

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
}

impl App {
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
        let (credential, account) =
            self.store().find_principal(&lookup, now_millis()).await?.ok_or(AppError::Unauthorized)?;
        if credential.kind == "oauth_client" {
            return Err(AppError::Unauthorized);
        }
        Ok(Principal {
            account_id: account.id,
            credential_id: credential.id,
            country: parse_country(&account.country),
            timezone: account.timezone,
            is_admin: account.is_admin,
        })
    }
}
