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

async fn healthz(State(app): State<App>) -> impl IntoResponse {
    if app.healthy().await {
        (StatusCode::OK, Json(serde_json::json!({ "status": "ok" })))
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({ "status": "database unavailable" })))
    }
}
