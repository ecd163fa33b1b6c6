//! `/v1/senders` and `/v1/sender-lists`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use textbird_app::{App, SenderChange, SenderList, SenderRecord};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::NamedPageParams;
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, JsonBody, Query};
use crate::routes::{Page, time};

pub(super) fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(create_sender, list_senders))
        .routes(routes!(get_sender, update_sender, delete_sender))
        .routes(routes!(create_sender_list, list_sender_lists))
        .routes(routes!(get_sender_list, update_sender_list, delete_sender_list))
        .routes(routes!(add_senders))
        .routes(routes!(remove_sender))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct SenderDto {
    id: String,
    /// Alphanumeric (up to 11 characters) or numeric (up to 15 digits).
    value: String,
    /// Sends from a disabled sender are refused.
    enabled: bool,
    created_at: String,
    updated_at: String,
}

fn sender_dto(s: SenderRecord) -> SenderDto {
    SenderDto {
        id: s.id,
        value: s.value,
        enabled: s.enabled,
        created_at: time(s.created_at),
        updated_at: time(s.updated_at),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateSenderBody {
    value: String,
    /// Default true.
    enabled: Option<bool>,
}

#[utoipa::path(post, path = "/v1/senders", tag = "senders", request_body = CreateSenderBody,
    responses((status = 201, body = SenderDto), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_sender(
    State(app): State<App>,
    Auth(p): Auth,
    body: JsonBody<CreateSenderBody>,
) -> Result<(StatusCode, Json<SenderDto>), ApiError> {
    let b = body.value;
    let sender = app.create_sender(&p, &b.value, b.enabled.unwrap_or(true)).await?;
    Ok((StatusCode::CREATED, Json(sender_dto(sender))))
}

/// Senders, oldest first; `name` filters on the value.
#[utoipa::path(get, path = "/v1/senders", tag = "senders", params(NamedPageParams),
    responses((status = 200, body = Page<SenderDto>), (status = 422, body = Problem)))]
async fn list_senders(
    State(app): State<App>,
    Auth(p): Auth,
    Query(q): Query<NamedPageParams>,
) -> Result<Json<Page<SenderDto>>, ApiError> {
    let (items, next_cursor) = app.senders(&p, q.name, q.cursor, q.limit).await?;
    Ok(Json(Page { data: items.into_iter().map(sender_dto).collect(), next_cursor }))
}

#[utoipa::path(get, path = "/v1/senders/{id}", tag = "senders", params(("id" = String, Path)),
    responses((status = 200, body = SenderDto), (status = 404, body = Problem)))]
async fn get_sender(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<SenderDto>, ApiError> {
    Ok(Json(sender_dto(app.sender(&p, &id).await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateSenderBody {
    value: Option<String>,
    enabled: Option<bool>,
}

#[utoipa::path(patch, path = "/v1/senders/{id}", tag = "senders", params(("id" = String, Path)),
    request_body = UpdateSenderBody,
    responses((status = 200, body = SenderDto), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn update_sender(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    body: JsonBody<UpdateSenderBody>,
) -> Result<Json<SenderDto>, ApiError> {
    let b = body.value;
    Ok(Json(sender_dto(app.update_sender(&p, &id, SenderChange { value: b.value, enabled: b.enabled }).await?)))
}

/// Deletes the sender and takes it out of every sender list.
#[utoipa::path(delete, path = "/v1/senders/{id}", tag = "senders", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_sender(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    app.delete_sender(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub(crate) struct SenderListDto {
    id: String,
    name: String,
    sender_ids: Vec<String>,
    created_at: String,
    updated_at: String,
}

fn list_dto(l: SenderList) -> SenderListDto {
    SenderListDto {
        id: l.id,
        name: l.name,
        sender_ids: l.sender_ids,
        created_at: time(l.created_at),
        updated_at: time(l.updated_at),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateListBody {
    name: String,
    /// The account's senders.
    sender_ids: Option<Vec<String>>,
}

#[utoipa::path(post, path = "/v1/sender-lists", tag = "senders", request_body = CreateListBody,
    responses((status = 201, body = SenderListDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn create_sender_list(
    State(app): State<App>,
    Auth(p): Auth,
    body: JsonBody<CreateListBody>,
) -> Result<(StatusCode, Json<SenderListDto>), ApiError> {
    let b = body.value;
    let list = app.create_sender_list(&p, &b.name, &b.sender_ids.unwrap_or_default()).await?;
    Ok((StatusCode::CREATED, Json(list_dto(list))))
}

/// Sender lists, oldest first.
#[utoipa::path(get, path = "/v1/sender-lists", tag = "senders", params(NamedPageParams),
    responses((status = 200, body = Page<SenderListDto>), (status = 422, body = Problem)))]
async fn list_sender_lists(
    State(app): State<App>,
    Auth(p): Auth,
    Query(q): Query<NamedPageParams>,
) -> Result<Json<Page<SenderListDto>>, ApiError> {
    let (items, next_cursor) = app.sender_lists(&p, q.name, q.cursor, q.limit).await?;
    Ok(Json(Page { data: items.into_iter().map(list_dto).collect(), next_cursor }))
}

#[utoipa::path(get, path = "/v1/sender-lists/{id}", tag = "senders", params(("id" = String, Path)),
    responses((status = 200, body = SenderListDto), (status = 404, body = Problem)))]
async fn get_sender_list(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<SenderListDto>, ApiError> {
    Ok(Json(list_dto(app.sender_list(&p, &id).await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateListBody {
    name: String,
}

/// Renames the list (its senders change through `/senders`).
#[utoipa::path(patch, path = "/v1/sender-lists/{id}", tag = "senders", params(("id" = String, Path)),
    request_body = UpdateListBody,
    responses((status = 200, body = SenderListDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_sender_list(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    body: JsonBody<UpdateListBody>,
) -> Result<Json<SenderListDto>, ApiError> {
    Ok(Json(list_dto(app.rename_sender_list(&p, &id, &body.value.name).await?)))
}

#[utoipa::path(delete, path = "/v1/sender-lists/{id}", tag = "senders", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_sender_list(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.delete_sender_list(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SenderIdsBody {
    /// The account's senders.
    sender_ids: Vec<String>,
}

/// Adds senders to the list; answers the list.
#[utoipa::path(post, path = "/v1/sender-lists/{id}/senders", tag = "senders", params(("id" = String, Path)),
    request_body = SenderIdsBody,
    responses((status = 200, body = SenderListDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_senders(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    body: JsonBody<SenderIdsBody>,
) -> Result<Json<SenderListDto>, ApiError> {
    Ok(Json(list_dto(app.add_to_sender_list(&p, &id, &body.value.sender_ids).await?)))
}

/// Takes a sender out of the list (the sender stays).
#[utoipa::path(delete, path = "/v1/sender-lists/{id}/senders/{sender_id}", tag = "senders",
    params(("id" = String, Path), ("sender_id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn remove_sender(
    State(app): State<App>,
    Auth(p): Auth,
    Path((id, sender_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    app.remove_from_sender_list(&p, &id, &sender_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
