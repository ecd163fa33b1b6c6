use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use textbird_app::{App, AppError, Principal};

use crate::error::ApiError;

/// The authenticated caller (`Authorization: Bearer <api key>`).
pub(crate) struct Auth(pub Principal);

impl FromRequestParts<App> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).ok_or(AppError::Unauthorized)?;
        let (scheme, token) = header.split_once(' ').ok_or(AppError::Unauthorized)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AppError::Unauthorized.into());
        }
        let principal = app.authenticate_bearer(token).await?;
        if let Some(logged) = parts.extensions.get::<crate::access_log::LoggedAccount>() {
            let _ = logged.0.set((principal.account_id.clone(), principal.key_prefix.clone()));
        }
        // A key made with scopes reaches only the routes they cover.
        principal.authorize(parts.method.as_str(), parts.uri.path())?;
        app.admit(&principal)?;
        Ok(Auth(principal))
    }
}
