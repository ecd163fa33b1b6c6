//! `/v1/templates`, `/v1/spinners`, `/v1/triggers` and rendering previews; `/t/{token}`
//! fires a trigger without credentials (the token is the secret). Links and link lists are
//! in `links.rs`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use textbird_app::{App, AppError, ContentPage, ContentQuery, Preview, Recipient, Spinner, Template, Trigger};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Page, opt_time, time};
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, JsonBody, Query};

pub(super) fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(create_template, list_templates))
        .routes(routes!(get_template, update_template, delete_template))
        .routes(routes!(render_template))
        .routes(routes!(render_text))
        .routes(routes!(create_spinner, list_spinners))
        .routes(routes!(get_spinner, update_spinner, delete_spinner))
        .routes(routes!(create_trigger, list_triggers))
        .routes(routes!(get_trigger, update_trigger, delete_trigger))
        .routes(routes!(fire_trigger_get, fire_trigger_post))
}

/// Filters and cursor of a content list.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListParams {
    /// Only those whose name contains this (ignoring case).
    name: Option<String>,
    cursor: Option<String>,
    /// 1 to 1000, default 50.
    limit: Option<u32>,
}

impl From<ListParams> for ContentQuery {
    fn from(q: ListParams) -> Self {
        ContentQuery { name: q.name, cursor: q.cursor, limit: q.limit }
    }
}

/// A page of records as DTOs.
pub(crate) fn page_of<T, D: ToSchema>(p: ContentPage<T>, dto: impl Fn(T) -> D) -> Json<Page<D>> {
    Json(Page { data: p.items.into_iter().map(dto).collect(), next_cursor: p.next_cursor })
}

/// A body with only a name.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NameBody {
    pub(super) name: String,
}

// ----- templates -----

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TemplateBody {
    name: String,
    /// Text with tokens: `{{first_name}}`, `{{last_name}}`, `{{email}}`, `{{url}}`, `{{custom}}`,
    /// `{{custom1}}`..`{{custom4}}`, a group field `{{name}}`, `{{word_spinner:ID}}`, `{{link:ID}}`,
    /// `{{link_list:ID}}`, `{{shorten_url}}`, `{{unsubscription_link}}`, `{{random_symbol}}`.
    body: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TemplatePatch {
    name: Option<String>,
    body: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct TemplateDto {
    id: String,
    name: String,
    body: String,
    created_at: String,
    updated_at: String,
}

fn template_dto(t: Template) -> TemplateDto {
    TemplateDto { id: t.id, name: t.name, body: t.body, created_at: time(t.created_at), updated_at: time(t.updated_at) }
}

/// Create a template; what its tokens refer to must exist.
#[utoipa::path(post, path = "/v1/templates", tag = "content", request_body = TemplateBody,
    responses((status = 201, body = TemplateDto), (status = 422, body = Problem)))]
async fn create_template(
    State(app): State<App>,
    Auth(p): Auth,
    body: JsonBody<TemplateBody>,
) -> Result<(StatusCode, Json<TemplateDto>), ApiError> {
    let b = body.value;
    Ok((StatusCode::CREATED, Json(template_dto(app.create_template(&p, b.name, b.body).await?))))
}

#[utoipa::path(get, path = "/v1/templates", tag = "content", params(ListParams),
    responses((status = 200, body = Page<TemplateDto>), (status = 422, body = Problem)))]
async fn list_templates(
    State(app): State<App>,
    Auth(p): Auth,
    Query(q): Query<ListParams>,
) -> Result<Json<Page<TemplateDto>>, ApiError> {
    Ok(page_of(app.templates(&p, q.into()).await?, template_dto))
}

#[utoipa::path(get, path = "/v1/templates/{id}", tag = "content", params(("id" = String, Path)),
    responses((status = 200, body = TemplateDto), (status = 404, body = Problem)))]
async fn get_template(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<TemplateDto>, ApiError> {
    Ok(Json(template_dto(app.template(&p, &id).await?)))
}

#[utoipa::path(patch, path = "/v1/templates/{id}", tag = "content", params(("id" = String, Path)), request_body = TemplatePatch,
    responses((status = 200, body = TemplateDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_template(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    body: JsonBody<TemplatePatch>,
) -> Result<Json<TemplateDto>, ApiError> {
    let b = body.value;
    Ok(Json(template_dto(app.update_template(&p, &id, b.name, b.body).await?)))
}

#[utoipa::path(delete, path = "/v1/templates/{id}", tag = "content", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_template(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.delete_template(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- rendering -----

/// The recipient a preview is rendered for.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecipientBody {
    phone: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    url: Option<String>,
    custom: Option<String>,
    /// `custom1`..`custom4` and group fields.
    #[serde(default)]
    fields: BTreeMap<String, String>,
}

impl From<RecipientBody> for Recipient {
    fn from(r: RecipientBody) -> Self {
        Recipient {
            phone: r.phone.unwrap_or_default(),
            first_name: r.first_name,
            last_name: r.last_name,
            email: r.email,
            url: r.url,
            custom: r.custom,
            fields: r.fields,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RenderTemplateBody {
    #[serde(default)]
    recipient: RecipientBody,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RenderTextBody {
    body: String,
    #[serde(default)]
    recipient: RecipientBody,
}

/// A rendered message; short links are placeholders of the real length.
#[derive(Serialize, ToSchema)]
pub(crate) struct PreviewDto {
    body: String,
    /// `gsm7` or `ucs2`.
    encoding: &'static str,
    parts: u32,
}

fn preview_dto(p: Preview) -> PreviewDto {
    PreviewDto { body: p.body, encoding: p.encoding, parts: p.parts }
}

/// Preview a template for one recipient (nothing is stored).
#[utoipa::path(post, path = "/v1/templates/{id}/render", tag = "content", params(("id" = String, Path)),
    request_body = RenderTemplateBody,
    responses((status = 200, body = PreviewDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn render_template(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    body: JsonBody<RenderTemplateBody>,
) -> Result<Json<PreviewDto>, ApiError> {
    let t = app.template(&p, &id).await?;
    Ok(Json(preview_dto(app.render_preview(&p, &t.body, &body.value.recipient.into()).await?)))
}

/// Preview a message text with tokens for one recipient (nothing is stored).
#[utoipa::path(post, path = "/v1/render", tag = "content", request_body = RenderTextBody,
    responses((status = 200, body = PreviewDto), (status = 422, body = Problem)))]
async fn render_text(
    State(app): State<App>,
    Auth(p): Auth,
    body: JsonBody<RenderTextBody>,
) -> Result<Json<PreviewDto>, ApiError> {
    let b = body.value;
    Ok(Json(preview_dto(app.render_preview(&p, &b.body, &b.recipient.into()).await?)))
}

// ----- word spinners -----

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SpinnerBody {
    name: String,
    /// 1 to 100 words, each 1 to 160 characters; a message gets one at random.
    words: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SpinnerPatch {
    name: Option<String>,
    words: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct SpinnerDto {
    id: String,
    name: String,
    words: Vec<String>,
    created_at: String,
    updated_at: String,
}

fn spinner_dto(s: Spinner) -> SpinnerDto {
    SpinnerDto {
        id: s.id,
        name: s.name,
        words: s.words,
        created_at: time(s.created_at),
        updated_at: time(s.updated_at),
    }
}

/// Create a word spinner, used as `{{word_spinner:ID}}`.
#[utoipa::path(post, path = "/v1/spinners", tag = "content", request_body = SpinnerBody,
    responses((status = 201, body = SpinnerDto), (status = 422, body = Problem)))]
async fn create_spinner(
    State(app): State<App>,
    Auth(p): Auth,
    body: JsonBody<SpinnerBody>,
) -> Result<(StatusCode, Json<SpinnerDto>), ApiError> {
    let b = body.value;
    Ok((StatusCode::CREATED, Json(spinner_dto(app.create_spinner(&p, b.name, b.words).await?))))
}

#[utoipa::path(get, path = "/v1/spinners", tag = "content", params(ListParams),
    responses((status = 200, body = Page<SpinnerDto>), (status = 422, body = Problem)))]
async fn list_spinners(
    State(app): State<App>,
    Auth(p): Auth,
    Query(q): Query<ListParams>,
) -> Result<Json<Page<SpinnerDto>>, ApiError> {
    Ok(page_of(app.spinners(&p, q.into()).await?, spinner_dto))
}

#[utoipa::path(get, path = "/v1/spinners/{id}", tag = "content", params(("id" = String, Path)),
    responses((status = 200, body = SpinnerDto), (status = 404, body = Problem)))]
async fn get_spinner(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<SpinnerDto>, ApiError> {
    Ok(Json(spinner_dto(app.spinner(&p, &id).await?)))
}

#[utoipa::path(patch, path = "/v1/spinners/{id}", tag = "content", params(("id" = String, Path)), request_body = SpinnerPatch,
    responses((status = 200, body = SpinnerDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_spinner(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    body: JsonBody<SpinnerPatch>,
) -> Result<Json<SpinnerDto>, ApiError> {
    let b = body.value;
    Ok(Json(spinner_dto(app.update_spinner(&p, &id, b.name, b.words).await?)))
}

#[utoipa::path(delete, path = "/v1/spinners/{id}", tag = "content", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_spinner(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    app.delete_spinner(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- triggers -----

#[derive(Serialize, ToSchema)]
pub(crate) struct TriggerDto {
    id: String,
    name: String,
    /// Opening this URL (GET or POST, no credentials) fires the trigger.
    activation_url: String,
    fired_at: Option<String>,
    created_at: String,
    updated_at: String,
}

fn trigger_dto(app: &App, t: Trigger) -> TriggerDto {
    TriggerDto {
        activation_url: app.trigger_url(&t),
        id: t.id,
        name: t.name,
        fired_at: opt_time(t.fired_at),
        created_at: time(t.created_at),
        updated_at: time(t.updated_at),
    }
}

/// Create a trigger: messages sent with its id wait until its activation URL is opened.
#[utoipa::path(post, path = "/v1/triggers", tag = "content", request_body = NameBody,
    responses((status = 201, body = TriggerDto), (status = 422, body = Problem)))]
async fn create_trigger(
    State(app): State<App>,
    Auth(p): Auth,
    body: JsonBody<NameBody>,
) -> Result<(StatusCode, Json<TriggerDto>), ApiError> {
    let t = app.create_trigger(&p, body.value.name).await?;
    Ok((StatusCode::CREATED, Json(trigger_dto(&app, t))))
}

#[utoipa::path(get, path = "/v1/triggers", tag = "content", params(ListParams),
    responses((status = 200, body = Page<TriggerDto>), (status = 422, body = Problem)))]
async fn list_triggers(
    State(app): State<App>,
    Auth(p): Auth,
    Query(q): Query<ListParams>,
) -> Result<Json<Page<TriggerDto>>, ApiError> {
    Ok(page_of(app.triggers(&p, q.into()).await?, |t| trigger_dto(&app, t)))
}

#[utoipa::path(get, path = "/v1/triggers/{id}", tag = "content", params(("id" = String, Path)),
    responses((status = 200, body = TriggerDto), (status = 404, body = Problem)))]
async fn get_trigger(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<TriggerDto>, ApiError> {
    let t = app.trigger(&p, &id).await?;
    Ok(Json(trigger_dto(&app, t)))
}

#[utoipa::path(patch, path = "/v1/triggers/{id}", tag = "content", params(("id" = String, Path)), request_body = NameBody,
    responses((status = 200, body = TriggerDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_trigger(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    body: JsonBody<NameBody>,
) -> Result<Json<TriggerDto>, ApiError> {
    let t = app.rename_trigger(&p, &id, body.value.name).await?;
    Ok(Json(trigger_dto(&app, t)))
}

#[utoipa::path(delete, path = "/v1/triggers/{id}", tag = "content", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_trigger(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    app.delete_trigger(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A plain-text answer for the public (unauthenticated) pages: nothing about accounts.
pub(crate) fn public_answer(result: &Result<&'static str, AppError>) -> Response {
    match result {
        Ok(text) => (StatusCode::OK, *text).into_response(),
        Err(AppError::NotFound(_)) => (StatusCode::NOT_FOUND, "Not found\n").into_response(),
        Err(AppError::Unavailable) => (StatusCode::SERVICE_UNAVAILABLE, "Try again shortly\n").into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong\n").into_response(),
    }
}

async fn fire(app: &App, token: &str) -> Response {
    public_answer(&app.fire_trigger(token).await.map(|()| "Trigger fired\n"))
}

/// Fire a trigger (no credentials; firing again changes nothing).
#[utoipa::path(get, path = "/t/{token}", tag = "content", params(("token" = String, Path)), security(()),
    responses((status = 200, description = "Fired"), (status = 404, description = "No such trigger")))]
async fn fire_trigger_get(State(app): State<App>, Path(token): Path<String>) -> Response {
    fire(&app, &token).await
}

/// Fire a trigger (no credentials; firing again changes nothing).
#[utoipa::path(post, path = "/t/{token}", tag = "content", params(("token" = String, Path)), security(()),
    responses((status = 200, description = "Fired"), (status = 404, description = "No such trigger")))]
async fn fire_trigger_post(State(app): State<App>, Path(token): Path<String>) -> Response {
    fire(&app, &token).await
}
