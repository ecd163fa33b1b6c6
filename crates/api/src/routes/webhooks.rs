//! `/v1/webhooks`: endpoints, secret rotation, deliveries and attempts.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use textbird_app::{App, EVENT_TYPES, Webhook, WebhookChange};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Page, opt_time, time};
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, JsonBody, Query, idempotency_key};

pub(super) fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(create_webhook, list_webhooks))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(rotate_secret))
        .routes(routes!(list_deliveries))
        .routes(routes!(list_all_deliveries))
        .routes(routes!(list_attempts))
        .routes(routes!(event_types))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateBody {
    url: String,
    /// Event types, or `["*"]` for all. May be left out for a format that shows only some.
    #[serde(default)]
    events: Vec<String>,
    /// The shape deliveries are posted in: `native` (the default, signed Standard Webhooks
    /// envelopes) or `cloudware` (the message webhooks of the Cloudware-style API: only
    /// `message.received` and `message.submitted`).
    #[serde(default)]
    format: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct WebhookDto {
    id: String,
    url: String,
    events: Vec<String>,
    format: String,
    enabled: bool,
    disabled_reason: Option<String>,
    failing_since: Option<String>,
    created_at: String,
    updated_at: String,
    /// Only in the answer that created the endpoint or rotated its secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

fn dto(w: Webhook, secret: Option<String>) -> WebhookDto {
    WebhookDto {
        id: w.id,
        url: w.url,
        events: w.events,
        format: w.format,
        enabled: w.enabled,
        disabled_reason: w.disabled_reason,
        failing_since: opt_time(w.failing_since),
        created_at: time(w.created_at),
        updated_at: time(w.updated_at),
        secret,
    }
}

/// Create an endpoint. The signing secret (`whsec_...`) is shown only here.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = CreateBody,
    responses((status = 201, body = WebhookDto), (status = 422, body = Problem)))]
async fn create_webhook(
    State(app): State<App>,
    Auth(p): Auth,
    headers: HeaderMap,
    body: JsonBody<CreateBody>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers, &body.hash)?;
    let _guard = match &key {
        Some(k) => {
            if let Some(r) = app.idempotent_replay(&p, k).await? {
                let mut res = (StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK), r.body).into_response();
                res.headers_mut().insert("content-type", "application/json".parse().expect("static"));
                res.headers_mut().insert("idempotent-replayed", "true".parse().expect("static"));
                return Ok(res);
            }
            Some(app.idempotency_begin(&p, k)?)
        }
        None => None,
    };
    let created = app.create_webhook(&p, body.value.url, body.value.events, body.value.format).await?;
    let out = dto(created.webhook, Some(created.secret));
    if let Some(k) = &key {
        app.idempotency_save(&p, k, 201, serde_json::to_string(&out).unwrap_or_default()).await?;
    }
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks", responses((status = 200, body = Vec<WebhookDto>)))]
async fn list_webhooks(State(app): State<App>, Auth(p): Auth) -> Result<Json<Vec<WebhookDto>>, ApiError> {
    Ok(Json(app.webhooks(&p).await?.into_iter().map(|w| dto(w, None)).collect()))
}

#[utoipa::path(get, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = WebhookDto), (status = 404, body = Problem)))]
async fn get_webhook(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<WebhookDto>, ApiError> {
    Ok(Json(dto(app.webhook(&p, &id).await?, None)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateBody {
    url: Option<String>,
    events: Option<Vec<String>>,
    /// Re-enable an endpoint that was disabled, or pause one.
    enabled: Option<bool>,
}

#[utoipa::path(patch, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)), request_body = UpdateBody,
    responses((status = 200, body = WebhookDto), (status = 404, body = Problem)))]
async fn update_webhook(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    body: JsonBody<UpdateBody>,
) -> Result<Json<WebhookDto>, ApiError> {
    let b = body.value;
    let w = app.update_webhook(&p, &id, WebhookChange { url: b.url, events: b.events, enabled: b.enabled }).await?;
    Ok(Json(dto(w, None)))
}

#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_webhook(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    app.delete_webhook(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// New signing secret; for 24 hours deliveries carry signatures by both old and new.
#[utoipa::path(post, path = "/v1/webhooks/{id}/rotate-secret", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = WebhookDto), (status = 404, body = Problem)))]
async fn rotate_secret(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<WebhookDto>, ApiError> {
    let secret = app.rotate_webhook_secret(&p, &id).await?;
    Ok(Json(dto(app.webhook(&p, &id).await?, Some(secret))))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct DeliveryDto {
    /// Also the `webhook-id` header of every attempt.
    id: String,
    webhook_id: Option<String>,
    url: String,
    event_type: String,
    /// `pending`, `succeeded`, `failed` or `canceled`.
    state: String,
    attempts: i32,
    next_attempt_at: Option<String>,
    last_status: Option<i32>,
    last_error: Option<String>,
    created_at: String,
    #[schema(value_type = Object)]
    payload: serde_json::Value,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageParams {
    cursor: Option<String>,
    limit: Option<u32>,
}

async fn deliveries(
    app: &App,
    p: &textbird_app::Principal,
    webhook_id: Option<&str>,
    q: PageParams,
) -> Result<Json<Page<DeliveryDto>>, ApiError> {
    let (items, next_cursor) = app.webhook_deliveries(p, webhook_id, q.cursor, q.limit).await?;
    Ok(Json(Page {
        data: items
            .into_iter()
            .map(|d| DeliveryDto {
                next_attempt_at: (d.state == "pending").then(|| time(d.next_attempt_at)),
                id: d.id,
                webhook_id: d.webhook_id,
                url: d.url,
                event_type: d.event_type,
                state: d.state,
                attempts: d.attempts,
                last_status: d.last_status,
                last_error: d.last_error,
                created_at: time(d.created_at),
                payload: serde_json::from_str(&d.payload).unwrap_or(serde_json::Value::Null),
            })
            .collect(),
        next_cursor,
    }))
}

/// Deliveries to one endpoint, newest first.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = String, Path), PageParams),
    responses((status = 200, body = Page<DeliveryDto>), (status = 404, body = Problem)))]
async fn list_deliveries(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Query(q): Query<PageParams>,
) -> Result<Json<Page<DeliveryDto>>, ApiError> {
    deliveries(&app, &p, Some(&id), q).await
}

/// Every delivery of the account (endpoints and per-message callback URLs), newest first.
#[utoipa::path(get, path = "/v1/webhook-deliveries", tag = "webhooks", params(PageParams), responses((status = 200, body = Page<DeliveryDto>)))]
async fn list_all_deliveries(
    State(app): State<App>,
    Auth(p): Auth,
    Query(q): Query<PageParams>,
) -> Result<Json<Page<DeliveryDto>>, ApiError> {
    deliveries(&app, &p, None, q).await
}

#[derive(Serialize, ToSchema)]
pub(crate) struct AttemptDto {
    status_code: Option<i32>,
    error: Option<String>,
    duration_ms: i64,
    at: String,
}

/// Every attempt of one delivery.
#[utoipa::path(get, path = "/v1/webhook-deliveries/{id}/attempts", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = Vec<AttemptDto>), (status = 404, body = Problem)))]
async fn list_attempts(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<Vec<AttemptDto>>, ApiError> {
    let attempts = app.delivery_attempts(&p, &id).await?;
    Ok(Json(
        attempts
            .into_iter()
            .map(|a| AttemptDto {
                status_code: a.status_code,
                error: a.error,
                duration_ms: a.duration_ms,
                at: time(a.created_at),
            })
            .collect(),
    ))
}

/// Event types an endpoint can subscribe to.
#[utoipa::path(get, path = "/v1/webhook-event-types", tag = "webhooks", responses((status = 200, body = Vec<String>)))]
async fn event_types() -> Json<Vec<&'static str>> {
    Json(EVENT_TYPES.to_vec())
}
