//! `/v1/links` and `/v1/link-lists` (with CSV import), click reports per link and per send,
//! and `/l/{code}`, where recipients open their short links (no credentials: the code is the
//! secret).

use axum::Json;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use textbird_app::{
    App, AppError, Link, LinkInput, LinkList, LinkListAddition, LinkListWithLinks, LinkReport, MAX_IMPORT_BYTES, Opened,
};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::content::{ListParams, NameBody, page_of, public_answer};
use super::{Page, time};
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, JsonBody, Query};

pub(super) fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(create_link, list_links))
        .routes(routes!(get_link, update_link, delete_link))
        .routes(routes!(link_report))
        .routes(routes!(batch_link_report))
        .routes(routes!(create_link_list, list_link_lists))
        .routes(routes!(get_link_list, rename_link_list, delete_link_list))
        .routes(routes!(add_links))
        .routes(routes!(remove_link))
        .routes(routes!(import_links))
        .routes(routes!(open_link))
}

/// Where some visitors go instead of `url`.
#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlatformLinks {
    /// Desktop browsers go here.
    bot_redirect: Option<String>,
    /// Link-preview bots go here.
    preview_url: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LinkBody {
    name: String,
    /// Absolute http(s) URL, at most 2048 characters.
    url: String,
    platform_based_links: Option<PlatformLinks>,
}

impl From<LinkBody> for LinkInput {
    fn from(b: LinkBody) -> Self {
        let p = b.platform_based_links.unwrap_or_default();
        LinkInput { name: b.name, url: b.url, bot_redirect: p.bot_redirect, preview_url: p.preview_url }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LinkPatch {
    name: Option<String>,
    url: Option<String>,
    /// Replaces both platform links (a missing one is cleared).
    platform_based_links: Option<PlatformLinks>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct LinkDto {
    id: String,
    name: String,
    url: String,
    platform_based_links: Option<PlatformLinks>,
    created_at: String,
    updated_at: String,
}

fn link_dto(l: Link) -> LinkDto {
    let platform = (l.bot_redirect.is_some() || l.preview_url.is_some())
        .then_some(PlatformLinks { bot_redirect: l.bot_redirect, preview_url: l.preview_url });
    LinkDto {
        id: l.id,
        name: l.name,
        url: l.url,
        platform_based_links: platform,
        created_at: time(l.created_at),
        updated_at: time(l.updated_at),
    }
}

/// Create a link, used as `{{link:ID}}`; every recipient gets a short link of their own.
#[utoipa::path(post, path = "/v1/links", tag = "content", request_body = LinkBody,
    responses((status = 201, body = LinkDto), (status = 422, body = Problem)))]
async fn create_link(
    State(app): State<App>,
    Auth(p): Auth,
    body: JsonBody<LinkBody>,
) -> Result<(StatusCode, Json<LinkDto>), ApiError> {
    Ok((StatusCode::CREATED, Json(link_dto(app.create_link(&p, body.value.into()).await?))))
}

#[utoipa::path(get, path = "/v1/links", tag = "content", params(ListParams),
    responses((status = 200, body = Page<LinkDto>), (status = 422, body = Problem)))]
async fn list_links(
    State(app): State<App>,
    Auth(p): Auth,
    Query(q): Query<ListParams>,
) -> Result<Json<Page<LinkDto>>, ApiError> {
    Ok(page_of(app.links(&p, q.into()).await?, link_dto))
}

#[utoipa::path(get, path = "/v1/links/{id}", tag = "content", params(("id" = String, Path)),
    responses((status = 200, body = LinkDto), (status = 404, body = Problem)))]
async fn get_link(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>) -> Result<Json<LinkDto>, ApiError> {
    Ok(Json(link_dto(app.link(&p, &id).await?)))
}

#[utoipa::path(patch, path = "/v1/links/{id}", tag = "content", params(("id" = String, Path)), request_body = LinkPatch,
    responses((status = 200, body = LinkDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_link(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    body: JsonBody<LinkPatch>,
) -> Result<Json<LinkDto>, ApiError> {
    let b = body.value;
    let platform = b.platform_based_links.map(|pl| (pl.bot_redirect, pl.preview_url));
    Ok(Json(link_dto(app.update_link(&p, &id, b.name, b.url, platform).await?)))
}

#[utoipa::path(delete, path = "/v1/links/{id}", tag = "content", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_link(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    app.delete_link(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ReportDto {
    /// Short links sent (one per recipient and link).
    recipients: i64,
    /// Every opening, bots included.
    clicks: i64,
    /// Short links opened at least once by someone other than a bot.
    unique_clicks: i64,
    /// `unique_clicks / recipients * 100`.
    conversion_percent: f64,
}

fn report_dto(r: LinkReport) -> ReportDto {
    #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    let conversion = if r.recipients == 0 { 0.0 } else { r.unique_clicks as f64 / r.recipients as f64 * 100.0 };
    ReportDto {
        recipients: r.recipients,
        clicks: r.clicks,
        unique_clicks: r.unique_clicks,
        conversion_percent: conversion,
    }
}

/// Clicks on a link's short links, over every send.
#[utoipa::path(get, path = "/v1/links/{id}/report", tag = "content", params(("id" = String, Path)),
    responses((status = 200, body = ReportDto), (status = 404, body = Problem)))]
async fn link_report(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<ReportDto>, ApiError> {
    Ok(Json(report_dto(app.link_report(&p, &id).await?)))
}

/// Clicks on the short links of one send (zeros for a send without links); 404 for a batch
/// the account did not send.
#[utoipa::path(get, path = "/v1/batches/{batch_id}/link-report", tag = "content", params(("batch_id" = String, Path)),
    responses((status = 200, body = ReportDto), (status = 404, body = Problem)))]
async fn batch_link_report(
    State(app): State<App>,
    Auth(p): Auth,
    Path(batch_id): Path<String>,
) -> Result<Json<ReportDto>, ApiError> {
    Ok(Json(report_dto(app.batch_link_report(&p, &batch_id).await?)))
}

// ----- link lists -----

/// Links to add: existing ones by id, and new ones.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddLinksBody {
    #[serde(default)]
    link_ids: Vec<String>,
    #[serde(default)]
    links: Vec<LinkBody>,
}

impl From<AddLinksBody> for LinkListAddition {
    fn from(b: AddLinksBody) -> Self {
        LinkListAddition { link_ids: b.link_ids, links: b.links.into_iter().map(Into::into).collect() }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LinkListBody {
    name: String,
    #[serde(default)]
    link_ids: Vec<String>,
    #[serde(default)]
    links: Vec<LinkBody>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct LinkListDto {
    id: String,
    name: String,
    /// In order; recipient `i` of a send gets link `i mod n`. Only when one list is read.
    #[serde(skip_serializing_if = "Option::is_none")]
    links: Option<Vec<LinkDto>>,
    created_at: String,
    updated_at: String,
}

fn list_dto(l: LinkList, links: Option<Vec<Link>>) -> LinkListDto {
    LinkListDto {
        id: l.id,
        name: l.name,
        links: links.map(|v| v.into_iter().map(link_dto).collect()),
        created_at: time(l.created_at),
        updated_at: time(l.updated_at),
    }
}

fn full_list_dto(l: LinkListWithLinks) -> Json<LinkListDto> {
    Json(list_dto(l.list, Some(l.links)))
}

/// Create a link list, used as `{{link_list:ID}}`, from existing links and new ones.
#[utoipa::path(post, path = "/v1/link-lists", tag = "content", request_body = LinkListBody,
    responses((status = 201, body = LinkListDto), (status = 422, body = Problem)))]
async fn create_link_list(
    State(app): State<App>,
    Auth(p): Auth,
    body: JsonBody<LinkListBody>,
) -> Result<(StatusCode, Json<LinkListDto>), ApiError> {
    let b = body.value;
    let add = AddLinksBody { link_ids: b.link_ids, links: b.links }.into();
    Ok((StatusCode::CREATED, full_list_dto(app.create_link_list(&p, b.name, add).await?)))
}

#[utoipa::path(get, path = "/v1/link-lists", tag = "content", params(ListParams),
    responses((status = 200, body = Page<LinkListDto>), (status = 422, body = Problem)))]
async fn list_link_lists(
    State(app): State<App>,
    Auth(p): Auth,
    Query(q): Query<ListParams>,
) -> Result<Json<Page<LinkListDto>>, ApiError> {
    Ok(page_of(app.link_lists(&p, q.into()).await?, |l| list_dto(l, None)))
}

#[utoipa::path(get, path = "/v1/link-lists/{id}", tag = "content", params(("id" = String, Path)),
    responses((status = 200, body = LinkListDto), (status = 404, body = Problem)))]
async fn get_link_list(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<LinkListDto>, ApiError> {
    Ok(full_list_dto(app.link_list(&p, &id).await?))
}

#[utoipa::path(patch, path = "/v1/link-lists/{id}", tag = "content", params(("id" = String, Path)), request_body = NameBody,
    responses((status = 200, body = LinkListDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn rename_link_list(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    body: JsonBody<NameBody>,
) -> Result<Json<LinkListDto>, ApiError> {
    Ok(full_list_dto(app.rename_link_list(&p, &id, body.value.name).await?))
}

/// Delete a link list (its links stay).
#[utoipa::path(delete, path = "/v1/link-lists/{id}", tag = "content", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_link_list(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.delete_link_list(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add links to a list: existing ones by id, new ones by name and URL.
#[utoipa::path(post, path = "/v1/link-lists/{id}/links", tag = "content", params(("id" = String, Path)),
    request_body = AddLinksBody,
    responses((status = 200, body = LinkListDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_links(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    body: JsonBody<AddLinksBody>,
) -> Result<Json<LinkListDto>, ApiError> {
    Ok(full_list_dto(app.add_to_link_list(&p, &id, body.value.into()).await?))
}

/// Take a link out of a list (the link stays).
#[utoipa::path(delete, path = "/v1/link-lists/{id}/links/{link_id}", tag = "content",
    params(("id" = String, Path), ("link_id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn remove_link(
    State(app): State<App>,
    Auth(p): Auth,
    Path((id, link_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    app.remove_from_link_list(&p, &id, &link_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn bad_upload(detail: String) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "bad-upload", "Cannot read the upload", Some(detail))
}

/// Add the links of a CSV file (`name,url` per row) to a list: a multipart form with a `file`
/// part of at most 1 MiB.
#[utoipa::path(post, path = "/v1/link-lists/{id}/import", tag = "content", params(("id" = String, Path)),
    request_body(content_type = "multipart/form-data", description = "`file`: CSV, `name,url` per row"),
    responses((status = 200, body = LinkListDto), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn import_links(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    mut form: Multipart,
) -> Result<Response, ApiError> {
    app.link_list_record(&p, &id).await?;
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => return Err(AppError::field("file", "is required (a multipart part named `file`)").into()),
            Err(e) => return Ok(bad_upload(e.body_text()).into_response()),
        };
        if field.name() != Some("file") {
            continue;
        }
        let bytes = match field.bytes().await {
            Ok(b) => b,
            Err(e) => return Ok(bad_upload(e.body_text()).into_response()),
        };
        if bytes.len() > MAX_IMPORT_BYTES {
            return Err(AppError::field("file", format!("must be at most {MAX_IMPORT_BYTES} bytes")).into());
        }
        return Ok(full_list_dto(app.import_link_list(&p, &id, &bytes).await?).into_response());
    }
}

/// Open a short link: the click is recorded and the visitor redirected (302). Unknown codes
/// are 404.
#[utoipa::path(get, path = "/l/{code}", tag = "content", params(("code" = String, Path)), security(()),
    responses((status = 302, description = "To the link's target"), (status = 200, description = "Unsubscribed"),
        (status = 404, description = "No such link")))]
async fn open_link(State(app): State<App>, Path(code): Path<String>, headers: HeaderMap) -> Response {
    let ua = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    match app.open_short_link(&code, ua).await {
        Ok(Opened::Redirect(url)) => {
            (StatusCode::FOUND, [(header::LOCATION, url), (header::CACHE_CONTROL, "no-store".into())]).into_response()
        }
        Ok(Opened::Unsubscribed) => public_answer(&Ok("You will receive no more messages from this sender.\n")),
        Err(e) => public_answer(&Err(e)),
    }
}
