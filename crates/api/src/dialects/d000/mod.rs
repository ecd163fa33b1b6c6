//! Dialect 000 ("Bwatmesaj" style, `/api/v3`): sending to numbers and to contact groups,
//! reading messages, contact groups and their contacts, the balance and the profile.
//! `Authorization: Bearer <api token>` (the `N|random` token `accounts create` prints);
//! `{"status":"success","data":...}` and `{"status":"error","message":...}`; every object
//! named by a 13-hex-character uid; numbers as digits with the country code; times as
//! Laravel writes them (`2021-12-20T07:00:00.000000Z`); lists as Laravel's length-aware
//! paginator.
//!
//! Status codes: 400 for a body that cannot be read, 401 without a valid token, 402 when the
//! balance does not cover a send, 404 for an unknown uid or one of another account, 405 for
//! a wrong method, 409 for a conflict, 422 for a missing or invalid field, 429 when the
//! account sends too many requests.

mod contacts;
mod paginate;
mod sms;

use axum::extract::Request;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, any, get};
use axum::{Json, Router};
use serde_json::{Value, json};
use textbird_app::{AliasKind, App, AppError, Principal};
use textbird_types::Money;

use super::{BodyError, Params, app_error};

pub(super) fn router() -> Router<App> {
    Router::new()
        .route("/api/v3/sms/send", only(axum::routing::post(sms::send)))
        .route("/api/v3/sms/campaign", only(axum::routing::post(sms::campaign)))
        .route("/api/v3/sms", only(get(sms::list)))
        // The document names the list's endpoint with a trailing slash.
        .route("/api/v3/sms/", only(get(sms::list)))
        .route("/api/v3/sms/{uid}", only(get(sms::show)))
        .route("/api/v3/balance", only(get(balance)))
        .route("/api/v3/me", only(get(me)))
        .merge(contacts::router())
        .route("/api/v3/{*rest}", any(|| async { Error::not_found("No such endpoint.") }))
}

/// A route whose other methods get 000's 405.
fn only(route: MethodRouter<App>) -> MethodRouter<App> {
    route.fallback(|| async { Error(StatusCode::METHOD_NOT_ALLOWED, "This method is not allowed here.".into()) })
}

/// An error in 000's envelope.
#[derive(Debug)]
pub(super) struct Error(StatusCode, String);

impl Error {
    fn invalid(message: impl Into<String>) -> Self {
        Error(StatusCode::UNPROCESSABLE_ENTITY, message.into())
    }

    fn not_found(message: impl Into<String>) -> Self {
        Error(StatusCode::NOT_FOUND, message.into())
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let mut res = (self.0, Json(json!({"status": "error", "message": self.1}))).into_response();
        if self.0 == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}

impl From<AppError> for Error {
    fn from(e: AppError) -> Self {
        let (status, message) = app_error(&e, &field_name);
        if message.is_empty() {
            return Error::invalid("Nothing was sent: no recipient could be reached.");
        }
        Error(status, message)
    }
}

/// A native field name as 000 calls it.
fn field_name(native: &str) -> String {
    let (head, tail) = native.find(['[', '.']).map_or((native, ""), |i| native.split_at(i));
    let head = match head {
        "body" => "message",
        "from" => "sender_id",
        "to" => "recipient",
        "send_at" => "schedule_time",
        "group_ids" => "contact_list_id",
        "phone" => "PHONE",
        "first_name" => "FIRST_NAME",
        "last_name" => "LAST_NAME",
        "email" => "EMAIL",
        "fields" => return tail.trim_start_matches('.').to_ascii_uppercase(),
        other => other,
    };
    format!("{head}{tail}")
}

fn body_error(e: BodyError) -> Error {
    match e {
        BodyError::Malformed(m) => Error(StatusCode::BAD_REQUEST, m),
        BodyError::TooLarge => Error(StatusCode::PAYLOAD_TOO_LARGE, "The request body is too large.".into()),
        BodyError::Unreadable => Error(StatusCode::BAD_REQUEST, "The request body could not be read.".into()),
    }
}

/// An authenticated request: its caller, its URL and its parameters (the body's, else the
/// query's).
pub(super) struct Call {
    p: Principal,
    parts: Parts,
    body: Params,
}

impl Call {
    /// Authenticates first, so that a request without a valid token is a 401 whatever its
    /// body; then reads the body.
    async fn read(app: &App, req: Request) -> Result<Call, Error> {
        let (parts, body) = req.into_parts();
        let p = principal(app, &parts).await?;
        let (parts, mut params) = Params::read(Request::from_parts(parts, body), app).await.map_err(body_error)?;
        for (k, v) in Params::query(&parts).fields {
            params.fields.entry(k).or_insert(v);
        }
        Ok(Call { p, parts, body: params })
    }

    /// A parameter as text: strings as they are, integers spelt out; `None` when absent,
    /// null or blank.
    fn text(&self, name: &str) -> Result<Option<String>, Error> {
        text_value(name, self.body.fields.get(name))
    }

    fn required(&self, name: &str) -> Result<String, Error> {
        self.text(name)?.ok_or_else(|| Error::invalid(format!("The {name} field is required.")))
    }
}

/// A number as 000 writes it: with the country code, so digits alone are international.
fn international(number: &str) -> String {
    if number.bytes().all(|b| b.is_ascii_digit()) { format!("+{number}") } else { number.to_owned() }
}

fn text_value(name: &str, value: Option<&Value>) -> Result<Option<String>, Error> {
    let text = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
        Some(_) => return Err(Error::invalid(format!("The {name} field must be a string."))),
    };
    Ok(Some(text).filter(|t| !t.is_empty()))
}

async fn principal(app: &App, parts: &Parts) -> Result<Principal, Error> {
    let unauthorized = || Error(StatusCode::UNAUTHORIZED, "Unauthenticated.".into());
    let token = super::bearer_token(parts).ok_or_else(unauthorized)?;
    let p = app.authenticate_bearer(token).await.map_err(|_| unauthorized())?;
    app.admit(&p)?;
    Ok(p)
}

/// The native id of the caller's object of `kind` with this uid; any other uid (unknown,
/// another kind, another account's) is a 404 naming `what`.
async fn resolve(app: &App, p: &Principal, kind: AliasKind, uid: &str, what: &str) -> Result<String, Error> {
    match app.alias_by_uid(p, uid.trim()).await? {
        Some((k, id)) if k == kind => Ok(id),
        _ => Err(Error::not_found(format!("No {what} with uid {:?}.", uid.trim()))),
    }
}

/// The uid of one of the caller's objects.
async fn uid(app: &App, p: &Principal, kind: AliasKind, id: &str) -> Result<String, Error> {
    Ok(app.alias(p, kind, id).await?.uid)
}

/// A time as Laravel serialises it: UTC with microseconds (`2021-12-20T07:00:00.000000Z`).
fn laravel_time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| format!("{}.{:06}Z", t.strftime("%Y-%m-%dT%H:%M:%S"), ms.rem_euclid(1000) * 1000))
        .unwrap_or_default()
}

fn success(data: Value) -> Response {
    let mut body = serde_json::Map::new();
    body.insert("status".into(), "success".into());
    body.insert("data".into(), data);
    Json(Value::Object(body)).into_response()
}

fn respond(result: Result<Value, Error>) -> Response {
    result.map_or_else(IntoResponse::into_response, success)
}

/// `GET /api/v3/balance`: the account's balance, as a decimal in the account's currency.
async fn balance(axum::extract::State(app): axum::extract::State<App>, req: Request) -> Response {
    respond(
        async {
            let call = Call::read(&app, req).await?;
            let account = app.account(&call.p).await?;
            Ok(json!({"remaining_balance": Money(account.balance).to_string()}))
        }
        .await,
    )
}

/// `GET /api/v3/me`: the account's profile.
async fn me(axum::extract::State(app): axum::extract::State<App>, req: Request) -> Response {
    respond(
        async {
            let call = Call::read(&app, req).await?;
            let a = app.account(&call.p).await?;
            Ok(json!({
                "name": a.name,
                "username": a.username,
                "country": a.country,
                "timezone": a.timezone,
                "remaining_balance": Money(a.balance).to_string(),
                "created_at": laravel_time(a.created_at),
            }))
        }
        .await,
    )
}
