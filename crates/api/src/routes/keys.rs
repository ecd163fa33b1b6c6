//! `/v1/keys`: the account's API keys. Made with a name, an optional expiry and optional
//! scopes (the key is shown only in the answer to its creation), listed by prefix, revoked
//! one at a time, rotated with an overlap.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use textbird_app::{App, CreatedKey, KeyInfo, KeyRequest};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, Problem};
use crate::extract::{Auth, JsonBody, Query};

pub(super) fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(create_key, list_keys)).routes(routes!(revoke_key)).routes(routes!(rotate_key))
}

#[derive(Serialize)]
struct Data<T> {
    data: Vec<T>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewKeyBody {
    name: String,
    /// RFC 3339; default: never.
    expires_at: Option<String>,
    /// Any of `messages:send`, `messages:read`, `audience`, `webhooks`, `keys`, `admin`;
    /// default: the calling key's own.
    scopes: Option<Vec<String>>,
}

/// Makes a key. The answer is the only time `key` is shown; `prefix` identifies it later.
#[utoipa::path(post, path = "/v1/keys", tag = "account", request_body = NewKeyBody,
    responses((status = 201, description = "`{\"id\", \"name\", \"key\", \"prefix\", \"scopes\", \"expires_at\", \"created_at\"}`"),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_key(
    State(app): State<App>,
    Auth(p): Auth,
    body: JsonBody<NewKeyBody>,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    let b = body.value;
    let created = app.create_key(&p, KeyRequest { name: b.name, expires_at: b.expires_at, scopes: b.scopes }).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// The account's live keys, newest first (never the keys themselves).
#[utoipa::path(get, path = "/v1/keys", tag = "account",
    responses((status = 200, description = "`{\"data\": [{\"id\", \"name\", \"prefix\", \"scopes\", \"expires_at\", \"created_at\"}]}`")))]
async fn list_keys(State(app): State<App>, Auth(p): Auth) -> Result<Json<Data<KeyInfo>>, ApiError> {
    Ok(Json(Data { data: app.list_keys(&p).await? }))
}

/// Revokes a key: refused within a second on every node.
#[utoipa::path(delete, path = "/v1/keys/{id}", tag = "account", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn revoke_key(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    app.revoke_key(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct RotateParams {
    /// Seconds the old key keeps working (default 86400, at most 30 days).
    overlap_seconds: Option<i64>,
}

/// A new key with the old one's name, scopes and expiry; the old one keeps working for
/// `overlap_seconds` (a query parameter).
#[utoipa::path(post, path = "/v1/keys/{id}/rotate", tag = "account", params(("id" = String, Path), RotateParams),
    responses((status = 201, description = "The new key, as creation answers it"), (status = 404, body = Problem)))]
async fn rotate_key(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Query(q): Query<RotateParams>,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    let overlap = q.overlap_seconds;
    Ok((StatusCode::CREATED, Json(app.rotate_key(&p, &id, overlap).await?)))
}
