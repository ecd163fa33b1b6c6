//! `/healthz` and `/metrics`: for load balancers and Prometheus, without authentication
//! (`/metrics` takes a bearer token when `[metrics] token` is set).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use textbird_app::App;

use crate::MetricsRender;

pub(crate) fn router(metrics: MetricsRender) -> Router<App> {
    Router::new().route("/healthz", get(healthz)).route(
        "/metrics",
        get(move |State(app): State<App>, headers: axum::http::HeaderMap| {
            let metrics = metrics.clone();
            async move {
                if !metrics_allowed(&app, &headers) {
                    return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], String::new())
                        .into_response();
                }
                ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], metrics()).into_response()
            }
        }),
    )
}

/// With `[metrics] token` set, only a request bearing it (compared as digests, so the
/// comparison's time says nothing about the token).
fn metrics_allowed(app: &App, headers: &axum::http::HeaderMap) -> bool {
    use sha2::{Digest, Sha256};
    let token = app.settings().metrics.token.expose();
    if token.is_empty() {
        return true;
    }
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .unwrap_or_default();
    Sha256::digest(given.trim().as_bytes()) == Sha256::digest(token.as_bytes())
}

/// 200 while the database answers and takes writes; 503 with the reason (and `Retry-After`)
/// while it does not, so a load balancer sends traffic elsewhere.
async fn healthz(State(app): State<App>) -> axum::response::Response {
    match app.unhealthy().await {
        None => (StatusCode::OK, Json(serde_json::json!({ "status": "ok" }))).into_response(),
        Some(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            Json(serde_json::json!({ "status": "unavailable", "reason": reason })),
        )
            .into_response(),
    }
}
