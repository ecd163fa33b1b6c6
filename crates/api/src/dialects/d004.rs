//! Dialect 004 (generic): `POST /v1/sms/send` with the account's `username`/`password` and
//! comma-separated local `numbers`; `GET|POST /api/v2/sms/send` and
//! `GET /api/v2/account/balance` with an API key; the HTML pages `/api/v2` and
//! `/api/oauth2-callback`. Errors are `{"error": "..."}`.

use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use textbird_app::{App, AppError, MAX_KEY_DAYS, Principal, SendRequest, SendResult};
use textbird_types::Money;

use super::{BodyError, Params, app_error, digits, retry_after};
use crate::extract::origin::client_ip;

const INVALID_NUMBER: &str = "Invalid phone number format.";
const UNAUTHORIZED: &str = "Unauthorized.";
/// `/api/v2` requests a minute per API key.
const V2_PER_MINUTE: u32 = 60;

pub(super) fn router() -> Router<App> {
    Router::new()
        .route("/api/v2/sms/send", get(v2_send).post(v2_send).fallback(wrong_method))
        .route("/api/v2/account/balance", get(v2_balance).fallback(wrong_method))
        .route("/api/v2", get(|| async { Html(DOCS_PAGE) }).fallback(wrong_method))
        .route("/api/oauth2-callback", get(|| async { Html(OAUTH2_CALLBACK) }).fallback(wrong_method))
        .route("/api/generate-key", key_route(KeyAction::Generate))
        .route("/api/revoke-key", key_route(KeyAction::Revoke))
        .route("/api/regenerate-key", key_route(KeyAction::Regenerate))
}

/// A method a 004 path does not take: 405 in 004's envelope.
async fn wrong_method() -> Response {
    Error::new(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed.".into(), None).into_response()
}

/// `GET /api/v2`: what this dialect serves (the vendor shows a Swagger page here).
const DOCS_PAGE: &str = r#"<!doctype html>
<html lang="en-US">
<head><meta charset="utf-8"><title>SMS API v2</title></head>
<body>
<h1>SMS API v2</h1>
<p>Authenticate with an API key in the <code>X-API-Key</code> header or the <code>api_key</code> parameter.</p>
<ul>
<li><code>GET|POST /api/v2/sms/send</code>: <code>numbers</code> (comma separated), <code>message_body</code></li>
<li><code>GET /api/v2/account/balance</code></li>
<li><code>POST /v1/sms/send</code>: <code>username</code>, <code>password</code>, <code>numbers</code>, <code>message_body</code></li>
</ul>
</body>
</html>
"#;

/// `GET /api/oauth2-callback`: the docs page's `OAuth2` redirect helper, as the document shows it.
const OAUTH2_CALLBACK: &str = r#"<!doctype html>
<html lang="en-US">
<body>
<script src="oauth2-redirect.js"></script>
</body>
</html>
"#;

/// An error in 004's envelope: status, message, the `help` line of `/api/v2` answers, and
/// the `Retry-After` of a refusal that passes.
struct Error(StatusCode, String, Option<String>, Option<std::time::Duration>);

impl Error {
    fn new(status: StatusCode, error: String, help: Option<String>) -> Self {
        Error(status, error, help, None)
    }

    /// An error with the `help` line the `/api/v2` answers carry.
    fn with_help(status: StatusCode, error: &str, help: &str) -> Self {
        Error::new(status, error.to_owned(), Some(help.to_owned()))
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let body = match self.2 {
            Some(help) => json!({"error": self.1, "help": help}),
            None => json!({"error": self.1}),
        };
        let mut res = (self.0, Json(body)).into_response();
        retry_after(&mut res, self.3);
        res
    }
}

impl From<AppError> for Error {
    fn from(e: AppError) -> Self {
        // A refused recipient is the document's one validation answer.
        if let AppError::Validation(fields) = &e
            && fields.iter().any(|f| f.field.starts_with("to"))
        {
            return Error::new(StatusCode::BAD_REQUEST, INVALID_NUMBER.into(), None);
        }
        let (status, message) = app_error(&e, &|f| f.replacen("body", "message_body", 1));
        let status = if status == StatusCode::UNPROCESSABLE_ENTITY { StatusCode::BAD_REQUEST } else { status };
        Error(status, message, None, e.retry_after())
    }
}

/// A parameter from the form or JSON body, else from the URL query.
fn param<'a>(query: &'a Params, body: &'a Params, name: &str) -> Result<Option<&'a str>, Error> {
    let bad = |m| Error::new(StatusCode::BAD_REQUEST, m, None);
    Ok(body.text(name).map_err(bad)?.or(query.text(name).map_err(bad)?))
}

fn respond(result: Result<Value, Error>) -> Response {
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `POST /v1/sms/send`: the message to every number; 200 with each number's message id.
pub(super) async fn send(app: App, parts: &Parts, query: Params, body: Params) -> Response {
    respond(try_send(&app, parts, &query, &body).await)
}

async fn try_send(app: &App, parts: &Parts, query: &Params, body: &Params) -> Result<Value, Error> {
    let p = login(app, parts, query, body).await?;
    send_as(app, &p, query, body).await
}

/// The account whose `username` and `password` the request carries. Past the limits on
/// failed logins: 429 with `Retry-After`, whatever the password.
async fn login(app: &App, parts: &Parts, query: &Params, body: &Params) -> Result<Principal, Error> {
    let username = param(query, body, "username")?.unwrap_or_default();
    let password = param(query, body, "password")?.unwrap_or_default();
    let p = app.login(username, password, client_ip(parts)).await.map_err(|e| match e {
        AppError::RateLimited(_) | AppError::Unavailable => Error::from(e),
        _ => Error::new(StatusCode::UNAUTHORIZED, UNAUTHORIZED.into(), None),
    })?;
    app.admit(&p)?;
    Ok(p)
}

/// What the key endpoints do after logging in.
#[derive(Clone, Copy)]
enum KeyAction {
    Generate,
    Revoke,
    Regenerate,
}

fn key_route(action: KeyAction) -> MethodRouter<App> {
    post(move |State(app): State<App>, req: Request| key_request(app, req, action)).fallback(wrong_method)
}

/// `POST /api/generate-key`, `/api/revoke-key`, `/api/regenerate-key`: API keys for
/// `/api/v2` that expire after `expiry_days` (1 to 365; 30 when absent), authenticated with
/// the account's `username` and `password`. Revoking ends every key made here (not the key
/// the account was created with); regenerating revokes them, then makes a new one.
async fn key_request(app: App, req: Request, action: KeyAction) -> Response {
    let (parts, body) = match Params::read(req, &app).await {
        Ok(read) => read,
        Err(e) => return body_error(e),
    };
    respond(try_key(&app, &parts, &Params::query(&parts), &body, action).await)
}

async fn try_key(app: &App, parts: &Parts, query: &Params, body: &Params, action: KeyAction) -> Result<Value, Error> {
    let p = login(app, parts, query, body).await?;
    if let KeyAction::Revoke = action {
        let revoked = app.revoke_issued_api_keys(&p).await?;
        let message = if revoked == 0 { "No API key to revoke." } else { "API key revoked." };
        return Ok(json!({"status": "success", "message": message, "revoked": revoked}));
    }
    // Checked before anything is revoked.
    let days = expiry_days(query, body)?;
    let revoked = match action {
        KeyAction::Regenerate => app.revoke_issued_api_keys(&p).await?,
        KeyAction::Generate | KeyAction::Revoke => 0,
    };
    let key = app.issue_api_key(&p, days).await?;
    let expires_at = super::seconds(key.expires_at);
    Ok(json!({"status": "success", "api_key": key.key, "expires_at": expires_at, "revoked": revoked}))
}

/// `expiry_days` as a whole number of days, from JSON or form; a 422 naming the rule broken.
fn expiry_days(query: &Params, body: &Params) -> Result<Option<i64>, Error> {
    let invalid = |m: String| Error::new(StatusCode::UNPROCESSABLE_ENTITY, m, None);
    let value = body.fields.get("expiry_days").or_else(|| query.fields.get("expiry_days"));
    let days = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        Some(_) => None,
    }
    .ok_or_else(|| invalid("The expiry days field must be an integer.".into()))?;
    if days < 1 {
        return Err(invalid("The expiry days field must be at least 1.".into()));
    }
    if days > MAX_KEY_DAYS {
        return Err(invalid(format!("The expiry days field must not be greater than {MAX_KEY_DAYS}.")));
    }
    Ok(Some(days))
}

/// The account behind `X-API-Key` or the `api_key` parameter (a Textbird API key).
async fn api_key(app: &App, parts: &Parts, query: &Params, body: &Params) -> Result<Principal, Error> {
    let header = parts.headers.get("x-api-key").and_then(|v| v.to_str().ok());
    let key = match header {
        Some(k) => Some(k),
        None => param(query, body, "api_key")?,
    };
    let refuse = |error: &str| {
        Error::with_help(StatusCode::UNAUTHORIZED, error, "Provide X-API-Key header or api_key parameter")
    };
    let key = key.map(str::trim).filter(|k| !k.is_empty()).ok_or_else(|| refuse("API key is required"))?;
    let p = app.authenticate_bearer(key).await.map_err(|_| refuse("Invalid API key"))?;
    app.admit(&p)?;
    Ok(p)
}

/// An authenticated `/api/v2` request: its caller, its parameters, and the requests its key
/// has left this minute. A refused one is the finished answer.
struct V2 {
    p: Principal,
    query: Params,
    body: Params,
    remaining: u32,
}

pub(super) fn body_error(e: BodyError) -> Response {
    match e {
        BodyError::Malformed(m) => Error::new(StatusCode::BAD_REQUEST, m, None),
        BodyError::TooLarge => Error::new(StatusCode::PAYLOAD_TOO_LARGE, "The request body is too large.".into(), None),
        BodyError::Unreadable => {
            Error::new(StatusCode::BAD_REQUEST, "The request body could not be read.".into(), None)
        }
    }
    .into_response()
}

async fn v2_request(app: &App, req: Request) -> Result<V2, Response> {
    let (parts, body) = Params::read(req, app).await.map_err(body_error)?;
    let query = Params::query(&parts);
    let p = api_key(app, &parts, &query, &body).await.map_err(IntoResponse::into_response)?;
    match app.admit_per_minute(&p, V2_PER_MINUTE) {
        Ok(remaining) => Ok(V2 { p, query, body, remaining }),
        Err(e) => Err(with_limit(Error::from(e).into_response(), 0)),
    }
}

/// The `/api/v2` rate-limit headers.
fn with_limit(mut res: Response, remaining: u32) -> Response {
    let h = res.headers_mut();
    h.insert("x-ratelimit-limit", HeaderValue::from(V2_PER_MINUTE));
    h.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    res
}

/// `GET|POST /api/v2/sms/send`: as `/v1/sms/send`, authenticated with an API key.
async fn v2_send(State(app): State<App>, req: Request) -> Response {
    match v2_request(&app, req).await {
        Ok(r) => with_limit(respond(send_as(&app, &r.p, &r.query, &r.body).await), r.remaining),
        Err(res) => res,
    }
}

/// `GET /api/v2/account/balance`.
async fn v2_balance(State(app): State<App>, req: Request) -> Response {
    match v2_request(&app, req).await {
        Ok(r) => {
            let balance = app
                .account(&r.p)
                .await
                .map(|a| json!({"status": "success", "balance": Money(a.balance).to_string()}))
                .map_err(Error::from);
            with_limit(respond(balance), r.remaining)
        }
        Err(res) => res,
    }
}

async fn send_as(app: &App, p: &Principal, query: &Params, body: &Params) -> Result<Value, Error> {
    let numbers: Vec<String> = param(query, body, "numbers")?
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    if numbers.is_empty() {
        return Err(Error::new(StatusCode::BAD_REQUEST, INVALID_NUMBER.into(), None));
    }
    let message = param(query, body, "message_body")?.unwrap_or_default().to_owned();
    if message.trim().is_empty() {
        return Err(Error::new(StatusCode::BAD_REQUEST, "The message_body field is required.".into(), None));
    }
    let req = SendRequest { to: numbers.clone(), body: message, ..SendRequest::default() };
    let SendResult::Sent(outcome) = app.send(p, req, None).await? else {
        return Err(Error::new(StatusCode::CONFLICT, "This request was already answered.".into(), None));
    };
    let mut sent = outcome.messages.iter();
    let mut refused = outcome.errors.iter().peekable();
    let data: Vec<Value> = numbers
        .iter()
        .enumerate()
        .map(|(index, number)| {
            if let Some(e) = refused.next_if(|e| e.index == index) {
                return json!({"number": number, "message_id": null, "status": "rejected", "reason": e.detail});
            }
            let m = sent.next();
            json!({
                "number": m.map_or_else(|| number.clone(), |m| digits(&m.to)),
                "message_id": m.map(|m| m.id.clone()),
                "status": "queued",
            })
        })
        .collect();
    Ok(json!({"status": "success", "message": "SMS sent", "data": data}))
}
