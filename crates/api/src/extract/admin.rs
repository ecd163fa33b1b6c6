use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use textbird_app::{App, AppError, Principal};

use super::Auth;
use crate::error::ApiError;

/// An admin account's caller. Every other caller, with a key or without, gets 404: the admin
/// API does not reveal that it exists.
pub(crate) struct Admin(pub Principal);

impl FromRequestParts<App> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        match Auth::from_request_parts(parts, app).await {
            Ok(Auth(p)) if p.is_admin => Ok(Admin(p)),
            Err(ApiError(e @ (AppError::RateLimited(_) | AppError::Unavailable))) => Err(e.into()),
            _ => Err(AppError::NotFound("resource").into()),
        }
    }
}
