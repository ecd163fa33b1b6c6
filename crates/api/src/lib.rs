//! Textbird's HTTP front end: the native `/v1` API (axum), its `OpenAPI` document and docs page,
//! health and metrics endpoints, and the other platforms' APIs it speaks (`dialects`). Handlers are thin: extract (auth, validated body,
//! idempotency, pagination), call one `textbird-app` use case, map the result. Errors become
//! RFC 9457 problem documents in one place (`error.rs`). Depends on `textbird-app`, never on
//! the store.

mod dialects;
mod error;
mod extract;
mod metrics_layer;
mod problems;
mod routes;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use routes::SecurityAddon;
use textbird_app::App;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

pub use error::Problem;
/// The client address and public base URL of a request, for routers merged beside this one
/// (they need the [`Origins`] extension layered over them too).
pub use extract::origin::{Origins, client_ip, public_base};

/// A request taking longer than this is answered 408 rather than held open.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// File imports read and write up to millions of rows.
const UPLOAD_TIMEOUT: Duration = Duration::from_mins(10);

#[derive(OpenApi)]
#[openapi(
    info(title = "Textbird API", description = "Send and receive SMS, track delivery, receive signed webhooks."),
    modifiers(&SecurityAddon),
    tags(
        (name = "messages", description = "Outbound messages"),
        (name = "inbound", description = "Inbound messages, numbers and opt-outs"),
        (name = "webhooks", description = "Webhook endpoints and deliveries"),
        (name = "account", description = "The caller's account"),
        (name = "lists", description = "Recipient lists, unsubscribe lists and file imports"),
        (name = "contacts", description = "Contacts, contact groups and their custom fields"),
        (name = "senders", description = "Registered senders and sender lists"),
        (name = "content", description = "Templates, word spinners, links and link lists, triggers, short links and clicks"),
        (name = "broadcasts", description = "Broadcasts: one message to a whole audience, estimated first"),
        (name = "verifications", description = "One-time passwords (verifications) and the simulated handset view"),
    )
)]
struct ApiDoc;

/// Renders the Prometheus text exposition for `/metrics`.
pub type MetricsRender = std::sync::Arc<dyn Fn() -> String + Send + Sync>;

/// Renders a native webhook payload in another shape (`None`: nothing for this event).
pub type WebhookFormat = fn(&str, &serde_json::Value) -> Option<serde_json::Value>;

/// The webhook shapes the dialects define, by the name an endpoint's `format` gives: each
/// renders a native webhook payload in its dialect's shape (see `textbird_engine::PayloadFormat`).
pub fn webhook_formats() -> Vec<(&'static str, WebhookFormat)> {
    dialects::webhook_formats()
}

/// The whole HTTP application.
pub fn router(app: App, metrics: MetricsRender) -> Router {
    let max_body = app.settings().http.max_body_bytes;
    let origins = extract::origin::Origins::new(&app.settings().http);
    let (api, mut openapi) = routes::v1(OpenApiRouter::with_openapi(ApiDoc::openapi())).split_for_parts();
    let (uploads, upload_doc) = routes::lists::uploads().split_for_parts();
    openapi.merge(upload_doc);
    let uploads = uploads
        .layer(DefaultBodyLimit::disable())
        .layer(TimeoutLayer::with_status_code(http::StatusCode::REQUEST_TIMEOUT, UPLOAD_TIMEOUT));
    Router::new()
        .merge(api)
        .merge(dialects::router())
        .merge(routes::system::router(metrics))
        .merge(problems::router())
        .merge(SwaggerUi::new("/docs").url("/openapi.json", openapi))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(TimeoutLayer::with_status_code(http::StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT))
        .merge(uploads)
        .layer(axum::middleware::from_fn(metrics_layer::record))
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(axum::Extension(origins))
        .with_state(app)
}
