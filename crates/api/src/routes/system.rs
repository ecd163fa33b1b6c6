//! `/healthz` and `/metrics`: for load balancers and Prometheus, without authentication.

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
        get(move || {
            let metrics = metrics.clone();
            async move { ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], metrics()) }
        }),
    )
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
