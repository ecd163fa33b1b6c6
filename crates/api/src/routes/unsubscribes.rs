//! `/v1/unsubscribes`: the account's default unsubscribe list (the numbers that sent STOP are
//! on it too), consulted on every send beside the named unsubscribe lists.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use textbird_app::App;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::inbound::PageParams;
use super::{Page, time};
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, JsonBody, Query};

pub(super) fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(add_unsubscribe, list_unsubscribes)).routes(routes!(remove_unsubscribe))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UnsubscribeBody {
    phone: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct UnsubscribeDto {
    phone: String,
    created_at: String,
}

/// Adds a number to the account's default unsubscribe list: no message of the account goes
/// to it (the numbers that sent STOP are on this list too).
#[utoipa::path(post, path = "/v1/unsubscribes", tag = "lists", request_body = UnsubscribeBody,
    responses((status = 201, body = UnsubscribeDto), (status = 422, body = Problem)))]
async fn add_unsubscribe(
    State(app): State<App>,
    Auth(p): Auth,
    body: JsonBody<UnsubscribeBody>,
) -> Result<(StatusCode, Json<UnsubscribeDto>), ApiError> {
    let phone = app.set_opt_out(&p, &body.value.phone, true).await?;
    Ok((StatusCode::CREATED, Json(UnsubscribeDto { phone, created_at: time(textbird_types::now_millis()) })))
}

/// The default unsubscribe list, by number.
#[utoipa::path(get, path = "/v1/unsubscribes", tag = "lists", params(PageParams),
    responses((status = 200, body = Page<UnsubscribeDto>)))]
async fn list_unsubscribes(
    State(app): State<App>,
    Auth(p): Auth,
    Query(q): Query<PageParams>,
) -> Result<Json<Page<UnsubscribeDto>>, ApiError> {
    let (items, next_cursor) = app.account_opt_outs(&p, q.cursor, q.limit).await?;
    Ok(Json(Page {
        data: items.into_iter().map(|o| UnsubscribeDto { phone: o.phone, created_at: time(o.created_at) }).collect(),
        next_cursor,
    }))
}

#[utoipa::path(delete, path = "/v1/unsubscribes/{phone}", tag = "lists", params(("phone" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn remove_unsubscribe(
    State(app): State<App>,
    Auth(p): Auth,
    Path(phone): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.set_opt_out(&p, &phone, false).await?;
    Ok(StatusCode::NO_CONTENT)
}
