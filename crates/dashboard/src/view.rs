//! The page templates and the small conversions they need (times, money, errors in the
//! words of the API's problem documents).

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use textbird_app::{AppError, Estimate, Message};
use textbird_types::Money;

/// What every signed-in page shows in its header.
pub(crate) struct Nav {
    pub page: &'static str,
    pub account: String,
    pub csrf: String,
}

/// A message as a row of the log.
pub(crate) struct MessageRow {
    pub id: String,
    pub created: String,
    pub to: String,
    pub from: String,
    pub body: String,
    pub status: String,
    pub parts: i32,
    pub price: String,
    pub encoding: String,
}

impl MessageRow {
    pub fn new(m: &Message) -> Self {
        MessageRow {
            id: m.id.clone(),
            created: time(m.created_at),
            to: m.to.clone(),
            from: m.sender.clone(),
            body: m.body.clone(),
            status: m.status.clone(),
            parts: m.parts,
            price: Money(m.price).to_string(),
            encoding: m.encoding.clone(),
        }
    }
}

/// An API key as a row of its list.
pub(crate) struct KeyRow {
    pub id: String,
    pub name: String,
    pub created: String,
    pub expires: String,
    pub state: &'static str,
}

#[derive(Template)]
#[template(path = "login.html")]
pub(crate) struct LoginPage {
    pub csrf: String,
    pub username: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "overview.html")]
pub(crate) struct OverviewPage {
    pub nav: Nav,
    pub balance: String,
    pub total: u64,
    pub by_status: Vec<(String, usize)>,
    pub recent_window: usize,
    pub rows: Vec<MessageRow>,
}

#[derive(Template)]
#[template(path = "send.html")]
pub(crate) struct SendPage {
    pub nav: Nav,
    pub to: String,
    pub from: String,
    pub body: String,
    pub send_at: String,
    pub estimate: Estimate,
    pub estimate_price: String,
    pub error: Option<String>,
    pub fields: Vec<(String, String)>,
    /// Accepted messages: id, recipient, status.
    pub sent: Vec<(String, String, String)>,
    pub total_price: String,
}

#[derive(Template)]
#[template(path = "counter.html")]
pub(crate) struct Counter {
    pub estimate: Estimate,
    pub estimate_price: String,
}

/// The message log's filters, as typed (for the form to show them again).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct LogQuery {
    pub to: String,
    pub status: String,
    pub client_ref: String,
    pub created_from: String,
    pub created_to: String,
    pub cursor: String,
}

#[derive(Template)]
#[template(path = "messages.html")]
pub(crate) struct MessagesPage {
    pub nav: Nav,
    pub q: LogQuery,
    pub statuses: &'static [&'static str],
    pub rows: Vec<MessageRow>,
    pub self_url: String,
    pub next_url: Option<String>,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "message.html")]
pub(crate) struct MessagePage {
    pub nav: Nav,
    pub m: MessageRow,
    pub error: Option<String>,
    /// Status, time, detail.
    pub events: Vec<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "keys.html")]
pub(crate) struct KeysPage {
    pub nav: Nav,
    pub keys: Vec<KeyRow>,
    pub issued: Option<String>,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "problem.html")]
struct ProblemPage<'a> {
    title: &'a str,
    detail: &'a str,
}

/// Renders a template as an HTML page (or fragment).
pub(crate) fn page<T: Template>(status: StatusCode, t: &T) -> Response {
    match t.render() {
        Ok(html) => (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "dashboard template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// A page that only says what went wrong.
pub(crate) fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    page(status, &ProblemPage { title, detail })
}

/// The status, title and detail of an error, as the API's problem documents word them.
pub(crate) fn describe(e: &AppError) -> (StatusCode, &'static str, String) {
    match e {
        AppError::Validation(fields) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Validation failed",
            fields.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; "),
        ),
        AppError::NotFound(what) => (StatusCode::NOT_FOUND, "Not found", format!("No such {what}.")),
        AppError::InsufficientBalance { needed, available } => (
            StatusCode::PAYMENT_REQUIRED,
            "Insufficient balance",
            format!("This request costs {needed}; the balance is {available}. Nothing was sent."),
        ),
        AppError::Conflict(m) => (StatusCode::CONFLICT, "Conflict", m.clone()),
        AppError::Unauthorized => {
            (StatusCode::UNAUTHORIZED, "Unauthorized", "The username or password is wrong.".into())
        }
        AppError::Forbidden => (StatusCode::FORBIDDEN, "Forbidden", "This account may not do that.".into()),
        AppError::RateLimited(wait) => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            format!("Too many attempts; nothing was done. Try again in {} s.", wait.as_secs().max(1)),
        ),
        AppError::Unavailable | AppError::IdempotencyInFlight | AppError::IdempotencyMismatch => {
            (StatusCode::SERVICE_UNAVAILABLE, "Service unavailable", e.to_string())
        }
        AppError::Internal(_) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal error", "Something went wrong on our side.".into())
        }
    }
}

/// An error as a whole page.
pub(crate) fn error_page(e: &AppError) -> Response {
    let (status, title, detail) = describe(e);
    problem(status, title, &detail)
}

/// An epoch-milliseconds time as `2026-12-02 15:04:05 UTC`.
pub(crate) fn time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map_or_else(|_| ms.to_string(), |t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
}
