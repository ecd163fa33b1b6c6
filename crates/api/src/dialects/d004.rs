//! Dialect 004 (generic): `POST /v1/sms/send` with the account's `username`/`password` and
//! comma-separated local `numbers`. Errors are `{"error": "..."}`.

use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use textbird_app::{App, AppError, SendRequest, SendResult};

use super::{Params, app_error, digits};

const INVALID_NUMBER: &str = "Invalid phone number format.";
const UNAUTHORIZED: &str = "Unauthorized.";

pub(super) fn router() -> Router<App> {
    Router::new()
}

/// An error in 004's envelope.
struct Error(StatusCode, String);

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"error": self.1}))).into_response()
    }
}

impl From<AppError> for Error {
    fn from(e: AppError) -> Self {
        // A refused recipient is the document's one validation answer.
        if let AppError::Validation(fields) = &e
            && fields.iter().any(|f| f.field.starts_with("to"))
        {
            return Error(StatusCode::BAD_REQUEST, INVALID_NUMBER.into());
        }
        let (status, message) = app_error(&e, &|f| f.replacen("body", "message_body", 1));
        let status = if status == StatusCode::UNPROCESSABLE_ENTITY { StatusCode::BAD_REQUEST } else { status };
        Error(status, message)
    }
}

/// A parameter from the form or JSON body, else from the URL query.
fn param<'a>(query: &'a Params, body: &'a Params, name: &str) -> Result<Option<&'a str>, Error> {
    let bad = |m| Error(StatusCode::BAD_REQUEST, m);
    Ok(body.text(name).map_err(bad)?.or(query.text(name).map_err(bad)?))
}

/// `POST /v1/sms/send`: the message to every number; 200 with each number's message id.
pub(super) async fn send(app: App, query: Params, body: Params) -> Response {
    match try_send(&app, &query, &body).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn try_send(app: &App, query: &Params, body: &Params) -> Result<Value, Error> {
    let username = param(query, body, "username")?.unwrap_or_default();
    let password = param(query, body, "password")?.unwrap_or_default();
    let p = app.login(username, password).await.map_err(|_| Error(StatusCode::UNAUTHORIZED, UNAUTHORIZED.into()))?;
    app.admit(&p)?;
    let numbers: Vec<String> = param(query, body, "numbers")?
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    if numbers.is_empty() {
        return Err(Error(StatusCode::BAD_REQUEST, INVALID_NUMBER.into()));
    }
    let message = param(query, body, "message_body")?.unwrap_or_default().to_owned();
    if message.trim().is_empty() {
        return Err(Error(StatusCode::BAD_REQUEST, "The message_body field is required.".into()));
    }
    let req = SendRequest { to: numbers.clone(), body: message, ..SendRequest::default() };
    let SendResult::Sent(outcome) = app.send(&p, req, None).await? else {
        return Err(Error(StatusCode::CONFLICT, "This request was already answered.".into()));
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
