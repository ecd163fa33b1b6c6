//! The HTTP APIs of other SMS platforms, served beside the native one so that a client
//! written for one of them works by changing only the host name (see `docs/DIALECTS.md`).
//! One module per dialect; each is a thin adapter that translates requests and responses and
//! calls the same `textbird_app::App` use cases as the native routes. Each answers in its own
//! envelopes: no RFC 9457 problems here, and none of these routes is in the `OpenAPI` document.

mod d000;
mod d002;
mod d003;
mod d004;
mod traffic;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::Response;
use axum::routing::post;
use serde_json::{Map, Value};
use textbird_app::{App, AppError};

/// Every dialect's routes, one line per dialect, plus the paths two dialects share.
pub(crate) fn router() -> Router<App> {
    Router::new()
        .merge(d000::router())
        .merge(d002::router())
        .merge(d003::router())
        .merge(d004::router())
        .route("/v1/sms/send", post(shared_sms_send).fallback(d003::wrong_method))
}

/// The webhook shapes of the dialects that define their own (named as an endpoint's `format`).
pub(crate) fn webhook_formats() -> Vec<(&'static str, crate::WebhookFormat)> {
    vec![("cloudware", d003::webhook)]
}

/// `POST /v1/sms/send` is both 003's send (a Bearer token, `to`/`message`) and 004's
/// (`username`/`password`, `numbers`/`message_body`): a request without a Bearer token that
/// carries any of 004's fields is 004's; every other one is 003's. A body that cannot be read
/// is answered by 003 when a Bearer token came with it, else by 004.
async fn shared_sms_send(State(app): State<App>, req: Request) -> Response {
    const FIELDS_004: [&str; 4] = ["username", "password", "numbers", "message_body"];
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().get(..6).is_some_and(|s| s.eq_ignore_ascii_case("bearer")));
    let (parts, body) = match Params::read(req, &app).await {
        Ok(read) => read,
        Err(e) => return if bearer { d003::body_error(e) } else { d004::body_error(e) },
    };
    let query = Params::query(&parts);
    let is_004 = FIELDS_004.iter().any(|f| body.fields.contains_key(*f) || query.fields.contains_key(*f));
    if !bearer && is_004 {
        d004::send(app, &parts, query, body).await
    } else {
        d003::send(app, parts, body, false).await
    }
}

/// Why a request's parameters could not be read.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// Not JSON, or JSON that is not an object.
    Malformed(String),
    TooLarge,
    Unreadable,
}

/// A request's named parameters: a JSON object, form fields or query parameters (form and
/// query values are strings; a repeated name keeps its last value).
#[derive(Debug, Default)]
pub(crate) struct Params {
    pub fields: Map<String, Value>,
}

impl Params {
    /// The body, as JSON when the content type says so, else as form fields (an empty body
    /// has no fields).
    pub async fn read(req: Request, app: &App) -> Result<(Parts, Params), BodyError> {
        let (parts, body) = req.into_parts();
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), app).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE { BodyError::TooLarge } else { BodyError::Unreadable }
        })?;
        let is_json = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|ct| ct.split(';').next())
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json") || m.trim().ends_with("+json"));
        let looks_json = bytes.iter().find(|b| !b.is_ascii_whitespace()).is_some_and(|b| *b == b'{' || *b == b'[');
        let params = if bytes.iter().all(u8::is_ascii_whitespace) {
            Params::default()
        } else if is_json || looks_json {
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(fields)) => Params { fields },
                Ok(_) => return Err(BodyError::Malformed("the body must be a JSON object".into())),
                Err(e) => return Err(BodyError::Malformed(format!("the body is not valid JSON: {e}"))),
            }
        } else {
            Params::form(&bytes)
        };
        Ok((parts, params))
    }

    /// The URL's query parameters.
    pub fn query(parts: &Parts) -> Params {
        Params::form(parts.uri.query().unwrap_or_default().as_bytes())
    }

    fn form(bytes: &[u8]) -> Params {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes).unwrap_or_default();
        Params { fields: pairs.into_iter().map(|(k, v)| (k, Value::String(v))).collect() }
    }

    /// A string parameter: `Ok(None)` when absent or null, `Err` naming its type otherwise.
    pub fn text(&self, name: &str) -> Result<Option<&str>, String> {
        match self.fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(format!("The {name} field must be a string.")),
        }
    }
}

/// The token of `Authorization: Bearer <token>`, if the request carries one.
pub(crate) fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token)
}

/// A number as these dialects write it: digits with the country code, no `+`.
pub(crate) fn digits(number: &str) -> String {
    number.trim_start_matches('+').to_owned()
}

/// RFC 3339 in UTC to the second (`2023-01-01T00:00:00Z`).
pub(crate) fn seconds(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map(|t| format!("{t:.0}")).unwrap_or_default()
}

/// Adds `Retry-After` (whole seconds, at least 1) to a refusal that passes with time.
pub(crate) fn retry_after(res: &mut Response, after: Option<std::time::Duration>) {
    if let Some(after) = after {
        let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
        res.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs.max(1)));
    }
}

/// A use-case error as a status and a sentence, for a dialect's own envelope. `rename` maps a
/// native field name to the dialect's (`body` is 003's `message`).
pub(crate) fn app_error(e: &AppError, rename: &dyn Fn(&str) -> String) -> (StatusCode, String) {
    match e {
        AppError::Validation(fields) => {
            let said: Vec<String> = fields.iter().map(|f| format!("{}: {}", rename(&f.field), f.message)).collect();
            (StatusCode::UNPROCESSABLE_ENTITY, said.join("; "))
        }
        AppError::NotFound(what) => (StatusCode::NOT_FOUND, format!("No such {what}.")),
        AppError::InsufficientBalance { needed, available } => (
            StatusCode::PAYMENT_REQUIRED,
            format!("Insufficient balance: this costs {needed}, the balance is {available}. Nothing was sent."),
        ),
        AppError::Conflict(m) => (StatusCode::CONFLICT, m.clone()),
        AppError::SpendCapReached { cap, spent } => (
            StatusCode::PAYMENT_REQUIRED,
            format!("Daily spend cap reached: {spent} of {cap} spent today. Nothing was sent."),
        ),
        AppError::IdempotencyMismatch | AppError::IdempotencyInFlight => (StatusCode::CONFLICT, e.to_string()),
        AppError::Unauthorized => (StatusCode::UNAUTHORIZED, "Unauthorized.".into()),
        AppError::Forbidden => (StatusCode::FORBIDDEN, "Forbidden.".into()),
        AppError::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "Too many requests; retry shortly.".into()),
        AppError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "Service unavailable; retry shortly.".into()),
        AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "Internal error.".into()),
    }
}
