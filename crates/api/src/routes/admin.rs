//! `/v1/admin/...`: the operator's API, for admin accounts only (404 for every other caller).
//! Accounts (create, list, read, change, suspend, credit), the rate table, connectors (status,
//! pause, resume), routes and usage per account per day.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use textbird_app::{
    AccountUpdate, AdminAccount, App, AppError, ConnectorStatus, CreatedAccount, NewAccountRequest, RateRow,
    RatesImported, RouteRow, UsageRow, parse_rates_csv,
};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, Problem};
use crate::extract::{Admin, JsonBody, Query};

pub(super) fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(create_account, list_accounts))
        .routes(routes!(get_account, update_account))
        .routes(routes!(suspend_account))
        .routes(routes!(unsuspend_account))
        .routes(routes!(credit_account))
        .routes(routes!(import_rates, list_rates))
        .routes(routes!(delete_rate))
        .routes(routes!(list_connectors))
        .routes(routes!(pause_connector))
        .routes(routes!(resume_connector))
        .routes(routes!(list_routes))
        .routes(routes!(usage))
}

/// `{"data": [...]}`.
#[derive(Serialize)]
struct Data<T> {
    data: Vec<T>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewAccountBody {
    name: String,
    /// ISO 3166 alpha-2; default `US`.
    country: Option<String>,
    /// Opening balance; default 0.
    balance: Option<String>,
    /// IANA time zone; default `UTC`.
    timezone: Option<String>,
}

/// Creates an account; answers it with every credential, shown only now (the shape
/// `textbird accounts create` prints).
#[utoipa::path(post, path = "/v1/admin/accounts", tag = "admin", request_body = NewAccountBody,
    responses((status = 201, description = "The account and its credentials"), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn create_account(
    State(app): State<App>,
    Admin(p): Admin,
    body: JsonBody<NewAccountBody>,
) -> Result<(StatusCode, Json<CreatedAccount>), ApiError> {
    let b = body.value;
    let created = app
        .admin_create_account(
            &p,
            NewAccountRequest {
                name: b.name,
                balance: b.balance.unwrap_or_else(|| "0".into()),
                country: b.country.unwrap_or_else(|| "US".into()),
                timezone: b.timezone.unwrap_or_else(|| "UTC".into()),
                is_admin: false,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Every account.
#[utoipa::path(get, path = "/v1/admin/accounts", tag = "admin",
    responses((status = 200, description = "`{\"data\": [account]}`"), (status = 404, body = Problem)))]
async fn list_accounts(State(app): State<App>, Admin(p): Admin) -> Result<Json<Data<AdminAccount>>, ApiError> {
    Ok(Json(Data { data: app.admin_accounts(&p).await? }))
}

#[utoipa::path(get, path = "/v1/admin/accounts/{id}", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, description = "The account"), (status = 404, body = Problem)))]
async fn get_account(
    State(app): State<App>,
    Admin(p): Admin,
    Path(id): Path<String>,
) -> Result<Json<AdminAccount>, ApiError> {
    Ok(Json(app.admin_account(&p, &id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccountChangeBody {
    name: Option<String>,
    country: Option<String>,
    timezone: Option<String>,
}

/// Changes an account's name, country or time zone.
#[utoipa::path(patch, path = "/v1/admin/accounts/{id}", tag = "admin", params(("id" = String, Path)),
    request_body = AccountChangeBody,
    responses((status = 200, description = "The account"), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_account(
    State(app): State<App>,
    Admin(p): Admin,
    Path(id): Path<String>,
    body: JsonBody<AccountChangeBody>,
) -> Result<Json<AdminAccount>, ApiError> {
    let b = body.value;
    let update = AccountUpdate { name: b.name, country: b.country, timezone: b.timezone };
    Ok(Json(app.admin_update_account(&p, &id, update).await?))
}

/// Suspends an account: its keys, tokens and password stop working (within a second on
/// every node); its data stays.
#[utoipa::path(post, path = "/v1/admin/accounts/{id}/suspend", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, description = "The account"), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn suspend_account(
    State(app): State<App>,
    Admin(p): Admin,
    Path(id): Path<String>,
) -> Result<Json<AdminAccount>, ApiError> {
    Ok(Json(app.admin_suspend_account(&p, &id, true).await?))
}

/// Reinstates a suspended account.
#[utoipa::path(post, path = "/v1/admin/accounts/{id}/unsuspend", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, description = "The account"), (status = 404, body = Problem)))]
async fn unsuspend_account(
    State(app): State<App>,
    Admin(p): Admin,
    Path(id): Path<String>,
) -> Result<Json<AdminAccount>, ApiError> {
    Ok(Json(app.admin_suspend_account(&p, &id, false).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreditBody {
    /// Decimal, e.g. `"12.50"`; negative removes credit.
    #[schema(value_type = String)]
    amount: serde_json::Value,
}

/// Adds credit to an account (negative: removes it), with a ledger entry.
#[utoipa::path(post, path = "/v1/admin/accounts/{id}/credit", tag = "admin", params(("id" = String, Path)),
    request_body = CreditBody,
    responses((status = 200, description = "The account with its new balance"), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn credit_account(
    State(app): State<App>,
    Admin(p): Admin,
    Path(id): Path<String>,
    body: JsonBody<CreditBody>,
) -> Result<Json<AdminAccount>, ApiError> {
    let amount = match body.value.amount {
        serde_json::Value::String(s) => s,
        serde_json::Value::Number(n) => n.to_string(),
        _ => return Err(AppError::field("amount", "must be a decimal amount such as \"12.50\"").into()),
    };
    Ok(Json(app.admin_credit(&p, &id, &amount).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RateInput {
    prefix: String,
    price: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RatesBody {
    /// `prefix,price` rows (a header row is allowed), as `textbird rates import` reads them.
    csv: Option<String>,
    rates: Option<Vec<RateInput>>,
}

/// Adds or updates rates (price per message part by destination prefix), from `csv` or
/// `rates`.
#[utoipa::path(post, path = "/v1/admin/rates", tag = "admin", request_body = RatesBody,
    responses((status = 200, description = "`{\"imported\", \"changed\"}`"), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn import_rates(
    State(app): State<App>,
    Admin(p): Admin,
    body: JsonBody<RatesBody>,
) -> Result<Json<RatesImported>, ApiError> {
    let mut text = body.value.csv.unwrap_or_default();
    for r in body.value.rates.unwrap_or_default() {
        if r.prefix.contains([',', '\n', '"']) || r.price.contains([',', '\n', '"']) {
            return Err(AppError::field("rates", "prefix and price must be plain values").into());
        }
        text.push('\n');
        text.push_str(&format!("{},{}", r.prefix, r.price));
    }
    let rows = parse_rates_csv(&text)?;
    if rows.is_empty() {
        return Err(AppError::field("csv", "give `csv` or `rates` with at least one row").into());
    }
    Ok(Json(app.admin_import_rates(&p, &rows).await?))
}

/// The rate table, by prefix.
#[utoipa::path(get, path = "/v1/admin/rates", tag = "admin",
    responses((status = 200, description = "`{\"data\": [{\"prefix\", \"price\"}]}`"), (status = 404, body = Problem)))]
async fn list_rates(State(app): State<App>, Admin(p): Admin) -> Result<Json<Data<RateRow>>, ApiError> {
    Ok(Json(Data { data: app.admin_rates(&p).await? }))
}

#[utoipa::path(delete, path = "/v1/admin/rates/{prefix}", tag = "admin", params(("prefix" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_rate(
    State(app): State<App>,
    Admin(p): Admin,
    Path(prefix): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.admin_delete_rate(&p, &prefix).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every configured connector on this node: bound, window in use, throughput, queue depth,
/// last error, reconnects, paused.
#[utoipa::path(get, path = "/v1/admin/connectors", tag = "admin",
    responses((status = 200, description = "`{\"data\": [connector]}`"), (status = 404, body = Problem)))]
async fn list_connectors(State(app): State<App>, Admin(p): Admin) -> Result<Json<Data<ConnectorStatus>>, ApiError> {
    Ok(Json(Data { data: app.admin_connectors(&p).await? }))
}

/// Stops handing messages to a connector on every node (its bind stays up).
#[utoipa::path(post, path = "/v1/admin/connectors/{name}/pause", tag = "admin", params(("name" = String, Path)),
    responses((status = 200, description = "The connector"), (status = 404, body = Problem)))]
async fn pause_connector(
    State(app): State<App>,
    Admin(p): Admin,
    Path(name): Path<String>,
) -> Result<Json<ConnectorStatus>, ApiError> {
    Ok(Json(app.admin_pause_connector(&p, &name, true).await?))
}

/// Hands messages to a paused connector again.
#[utoipa::path(post, path = "/v1/admin/connectors/{name}/resume", tag = "admin", params(("name" = String, Path)),
    responses((status = 200, description = "The connector"), (status = 404, body = Problem)))]
async fn resume_connector(
    State(app): State<App>,
    Admin(p): Admin,
    Path(name): Path<String>,
) -> Result<Json<ConnectorStatus>, ApiError> {
    Ok(Json(app.admin_pause_connector(&p, &name, false).await?))
}

/// The configured routes (destination prefix, connector, priority).
#[utoipa::path(get, path = "/v1/admin/routes", tag = "admin",
    responses((status = 200, description = "`{\"data\": [route]}`"), (status = 404, body = Problem)))]
async fn list_routes(State(app): State<App>, Admin(p): Admin) -> Result<Json<Data<RouteRow>>, ApiError> {
    Ok(Json(Data { data: app.admin_routes(&p)? }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct UsageParams {
    /// One account; default every account.
    account_id: Option<String>,
    /// First day, `YYYY-MM-DD` (UTC); default 30 days ago.
    from: Option<String>,
    /// Last day, included; default today.
    to: Option<String>,
}

/// Messages, parts and cost per account per UTC day.
#[utoipa::path(get, path = "/v1/admin/usage", tag = "admin", params(UsageParams),
    responses((status = 200, description = "`{\"data\": [{\"account_id\", \"day\", \"messages\", \"parts\", \"cost\"}]}`"),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn usage(
    State(app): State<App>,
    Admin(p): Admin,
    Query(q): Query<UsageParams>,
) -> Result<Json<Data<UsageRow>>, ApiError> {
    let rows = app.admin_usage(&p, q.account_id.as_deref(), q.from.as_deref(), q.to.as_deref()).await?;
    Ok(Json(Data { data: rows }))
}
