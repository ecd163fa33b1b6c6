//! `/v1/account`: the caller's own account.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use textbird_app::App;
use textbird_types::Money;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::time;
use crate::error::ApiError;
use crate::extract::Auth;

pub(super) fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(get_account))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct AccountDto {
    id: String,
    name: String,
    balance: String,
    country: String,
    timezone: String,
    username: String,
    created_at: String,
}

/// The account behind the API key, with its balance.
#[utoipa::path(get, path = "/v1/account", tag = "account", responses((status = 200, body = AccountDto)))]
async fn get_account(State(app): State<App>, Auth(p): Auth) -> Result<Json<AccountDto>, ApiError> {
    let a = app.account(&p).await?;
    Ok(Json(AccountDto {
        id: a.id,
        name: a.name,
        balance: Money(a.balance).to_string(),
        country: a.country,
        timezone: a.timezone,
        username: a.username,
        created_at: time(a.created_at),
    }))
}
