//! Dialect 002 (`BulkTextMessage` style, `/api/v1`): an `OAuth` client-credentials token
//! endpoint, then messages (one, by external id, send one, send to many, send many, a list of
//! sent and received), contacts and contact groups, with a Bearer access token.
//!
//! Wire shapes: success is `{"data":...,"result":"ok"}` (lists add `meta.pagination`, sends to
//! many answer `{"result":"ok","ids":[...]}`); an error is
//! `{"result":"error","error":{"code":<HTTP status>,"message":"..."}}` with 400 (unreadable
//! body), 401 (missing, wrong or expired token), 404 (unknown id, another account's id),
//! 405, 409, 422 (missing field, wrong type, invalid number or date) or 429. The token
//! endpoint answers errors as RFC 6749 does (`{"error":"invalid_client",...}`). Ids are the
//! integer aliases of the native objects (`App::aliases`).

mod contacts;
mod messages;
mod oauth;
mod page;
mod scheduled;
mod send;

use axum::extract::Request;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use textbird_app::{App, AppError, Principal};

use super::{BodyError, Params, app_error, bearer_token};

pub(super) fn router() -> Router<App> {
    let sms = || get(messages::list).post(send::one).fallback(wrong_method);
    let contact = || get(contacts::list).post(contacts::create).fallback(wrong_method);
    let group = || get(contacts::groups).post(contacts::create_group).fallback(wrong_method);
    Router::new()
        .route("/api/v1/oauth/access_token", with_405(post(oauth::access_token)))
        .route("/api/v1/sms", sms())
        .route("/api/v1/sms/", sms())
        .route("/api/v1/sms/to_many", with_405(post(send::to_many)))
        .route("/api/v1/sms/many", with_405(post(send::many)))
        .route("/api/v1/sms/by_external/{external_id}", with_405(get(messages::by_external)))
        .route("/api/v1/sms/{id}", with_405(get(messages::one)))
        .route("/api/v1/contact", contact())
        .route("/api/v1/contact/", contact())
        .route("/api/v1/contact/{id}", with_405(get(contacts::one)))
        .route("/api/v1/contact_group", group())
        .route("/api/v1/contact_group/", group())
        .route("/api/v1/contact_group/{id}", with_405(get(contacts::group)))
}

fn with_405(route: MethodRouter<App>) -> MethodRouter<App> {
    route.fallback(wrong_method)
}

async fn wrong_method() -> Response {
    Error::new(StatusCode::METHOD_NOT_ALLOWED, "This method is not allowed on this path.").into_response()
}

/// An error in 002's envelope.
#[derive(Debug)]
pub(super) struct Error {
    status: StatusCode,
    message: String,
}

impl Error {
    pub(super) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Error { status, message: message.into() }
    }

    /// A field that is missing, of the wrong type or not valid: 422.
    pub(super) fn invalid(message: impl Into<String>) -> Self {
        Error::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    pub(super) fn not_found(what: &str) -> Self {
        Error::new(StatusCode::NOT_FOUND, format!("No such {what}."))
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let body = json!({"result": "error", "error": {"code": self.status.as_u16(), "message": self.message}});
        let mut res = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}

impl From<AppError> for Error {
    fn from(e: AppError) -> Self {
        let (status, message) = app_error(&e, &|f| native_field(f));
        Error::new(status, message)
    }
}

impl From<BodyError> for Error {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::Malformed(m) => Error::new(StatusCode::BAD_REQUEST, m),
            BodyError::TooLarge => Error::new(StatusCode::PAYLOAD_TOO_LARGE, "The request body is too large."),
            BodyError::Unreadable => Error::new(StatusCode::BAD_REQUEST, "The request body could not be read."),
        }
    }
}

/// A native field name as 002 calls it.
fn native_field(field: &str) -> String {
    const NAMES: [(&str, &str); 4] = [
        ("phone", "main_phone"),
        ("send_at", "scheduled"),
        ("client_ref", "external_id"),
        ("group_ids", "contact_group_id"),
    ];
    NAMES
        .iter()
        .find_map(|(native, ours)| field.strip_prefix(native).map(|rest| format!("{ours}{rest}")))
        .unwrap_or_else(|| field.to_owned())
}

/// `{"data": data, "result": "ok"}`, or the error.
pub(super) fn respond(result: Result<Value, Error>) -> Response {
    reply(result.map(|data| json!({"data": data, "result": "ok"})))
}

/// A whole body (lists and sends to many say more than `data`), or the error.
pub(super) fn reply(result: Result<Value, Error>) -> Response {
    match result {
        Ok(body) => Json(body).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The caller behind `Authorization: Bearer <access token>`. Expired and unknown tokens are
/// the same 401.
pub(super) async fn principal(app: &App, parts: &Parts) -> Result<Principal, Error> {
    let unauthorized =
        || Error::new(StatusCode::UNAUTHORIZED, "Unauthorized: send `Authorization: Bearer <access token>`.");
    let token = bearer_token(parts).ok_or_else(unauthorized)?;
    let p = app.authenticate_bearer(token).await.map_err(|_| unauthorized())?;
    app.admit(&p)?;
    Ok(p)
}

/// An authenticated request with its body's parameters (JSON or form). The credentials are
/// checked before the body is read.
pub(super) async fn authenticated(app: &App, req: Request) -> Result<(Principal, Parts, Params), Error> {
    let (parts, body) = req.into_parts();
    let p = principal(app, &parts).await?;
    let (parts, params) = Params::read(Request::from_parts(parts, body), app).await?;
    Ok((p, parts, params))
}

/// An authenticated list request and the page it asks for.
async fn listing(app: &App, req: Request) -> Result<(Principal, Parts, page::Page), Error> {
    let parts = req.into_parts().0;
    let p = principal(app, &parts).await?;
    let page = page::Page::from_query(&parts)?;
    Ok((p, parts, page))
}

/// A required text field: 422 when missing, blank or not a string.
pub(super) fn required(params: &Params, name: &str) -> Result<String, Error> {
    match params.text(name).map_err(Error::invalid)? {
        Some(v) if !v.trim().is_empty() => Ok(v.trim().to_owned()),
        _ => Err(Error::invalid(format!("The {name} field is required."))),
    }
}

/// An optional integer field: a JSON integer, or digits in a form (an empty form value is
/// absent).
pub(super) fn integer(params: &Params, name: &str) -> Result<Option<i64>, Error> {
    integer_value(params.fields.get(name), name)
}

pub(super) fn integer_value(value: Option<&Value>, name: &str) -> Result<Option<i64>, Error> {
    let wrong = || Error::invalid(format!("The {name} field must be an integer."));
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(wrong),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| wrong()),
        Some(_) => Err(wrong()),
    }
}

/// An integer id from a path: anything else is no object of 002's.
pub(super) fn path_id(raw: &str, what: &str) -> Result<i64, Error> {
    raw.trim().parse().ok().filter(|n: &i64| *n > 0).ok_or_else(|| Error::not_found(what))
}
