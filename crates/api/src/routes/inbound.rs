//! `/v1/inbound`, `/v1/numbers`, `/v1/opt-outs`, and the simulator's inbound injection.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use textbird_app::{App, Inbound, InjectInbound};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Page, time};
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, JsonBody, Query};

pub(super) fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_inbound))
        .routes(routes!(inject_inbound))
        .routes(routes!(list_numbers, add_number))
        .routes(routes!(remove_number))
        .routes(routes!(list_opt_outs, add_opt_out))
        .routes(routes!(remove_opt_out))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageParams {
    pub(crate) cursor: Option<String>,
    /// 1 to 1000, default 50.
    pub(crate) limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct InboundDto {
    id: String,
    from: String,
    to: String,
    body: String,
    /// `stop`, `start` or `help` when the message was such a keyword.
    keyword: Option<String>,
    connector: String,
    received_at: String,
}

fn inbound_dto(m: Inbound) -> InboundDto {
    InboundDto {
        id: m.id,
        from: m.from,
        to: m.to,
        body: m.body,
        keyword: m.keyword,
        connector: m.connector,
        received_at: time(m.created_at),
    }
}

/// Messages received on the account's numbers, newest first.
#[utoipa::path(get, path = "/v1/inbound", tag = "inbound", params(PageParams), responses((status = 200, body = Page<InboundDto>)))]
async fn list_inbound(
    State(app): State<App>,
    Auth(p): Auth,
    Query(q): Query<PageParams>,
) -> Result<Json<Page<InboundDto>>, ApiError> {
    let (items, next_cursor) = app.inbound(&p, q.cursor, q.limit).await?;
    Ok(Json(Page { data: items.into_iter().map(inbound_dto).collect(), next_cursor }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct InjectBody {
    from: String,
    /// One of the account's numbers.
    to: String,
    body: String,
}

/// Make the simulated carrier deliver an inbound SMS, exactly as a real carrier would.
#[utoipa::path(post, path = "/v1/simulator/inbound", tag = "inbound", request_body = InjectBody,
    responses((status = 202, description = "Handed to the carrier pipeline"), (status = 404, body = Problem)))]
async fn inject_inbound(
    State(app): State<App>,
    Auth(p): Auth,
    body: JsonBody<InjectBody>,
) -> Result<StatusCode, ApiError> {
    let b = body.value;
    app.inject_inbound(&p, InjectInbound { from: b.from, to: b.to, body: b.body }).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Serialize, ToSchema)]
pub(crate) struct NumberDto {
    number: String,
    created_at: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NumberBody {
    number: String,
}

/// Numbers the account owns: they receive inbound messages and are the default sender.
#[utoipa::path(get, path = "/v1/numbers", tag = "inbound", responses((status = 200, body = Vec<NumberDto>)))]
async fn list_numbers(State(app): State<App>, Auth(p): Auth) -> Result<Json<Vec<NumberDto>>, ApiError> {
    let numbers = app.numbers(&p).await?;
    Ok(Json(numbers.into_iter().map(|n| NumberDto { number: n.number, created_at: time(n.created_at) }).collect()))
}

#[utoipa::path(post, path = "/v1/numbers", tag = "inbound", request_body = NumberBody,
    responses((status = 201, body = NumberBody), (status = 409, body = Problem)))]
async fn add_number(
    State(app): State<App>,
    Auth(p): Auth,
    body: JsonBody<NumberBody>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let number = app.add_number(&p, &body.value.number).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "number": number }))))
}

#[utoipa::path(delete, path = "/v1/numbers/{number}", tag = "inbound", params(("number" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn remove_number(
    State(app): State<App>,
    Auth(p): Auth,
    Path(number): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.remove_number(&p, &number).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub(crate) struct OptOutDto {
    phone: String,
    /// Empty when the opt-out covers the whole account.
    sender: String,
    created_at: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OptOutBody {
    phone: String,
}

/// Numbers that opted out (by STOP or by API); sends to them are refused and not charged.
#[utoipa::path(get, path = "/v1/opt-outs", tag = "inbound", params(PageParams), responses((status = 200, body = Page<OptOutDto>)))]
async fn list_opt_outs(
    State(app): State<App>,
    Auth(p): Auth,
    Query(q): Query<PageParams>,
) -> Result<Json<Page<OptOutDto>>, ApiError> {
    let (items, next_cursor) = app.opt_outs(&p, q.cursor, q.limit).await?;
    Ok(Json(Page {
        data: items
            .into_iter()
            .map(|o| OptOutDto { phone: o.phone, sender: o.sender, created_at: time(o.created_at) })
            .collect(),
        next_cursor,
    }))
}

#[utoipa::path(post, path = "/v1/opt-outs", tag = "inbound", request_body = OptOutBody, responses((status = 201, body = OptOutBody)))]
async fn add_opt_out(
    State(app): State<App>,
    Auth(p): Auth,
    body: JsonBody<OptOutBody>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let phone = app.set_opt_out(&p, &body.value.phone, true).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "phone": phone }))))
}

#[utoipa::path(delete, path = "/v1/opt-outs/{phone}", tag = "inbound", params(("phone" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn remove_opt_out(
    State(app): State<App>,
    Auth(p): Auth,
    Path(phone): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.set_opt_out(&p, &phone, false).await?;
    Ok(StatusCode::NO_CONTENT)
}
