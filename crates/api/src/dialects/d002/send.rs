//! 002's sends: `POST /api/v1/sms/` (one message), `POST /api/v1/sms/to_many` (one body, a
//! list of `{to, external_id}`) and `POST /api/v1/sms/many` (a list of `{to, body,
//! external_id}`). Each message is one native send, so it is charged, queued and delivered as
//! any other; `external_id` is kept as the message's `client_ref`.
//!
//! `from` is a number the account owns; when it is absent or not one of them, the account's
//! first number is used, as the document says. In the lists, an item that cannot be sent
//! (missing or invalid `to`, missing `body`, an `external_id` that is no integer, an opted-out
//! number, too little balance) is `-1` among the ids while the others are sent; a problem
//! with the request as a whole (no `list`, no `body` for `to_many`, a bad `scheduled`) is a
//! 422 and sends nothing.

use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::{Value, json};
use textbird_app::{AliasKind, App, Principal, SendRequest, SendResult};

use super::messages::{Item, seqs, view};
use super::{Error, authenticated, integer, integer_value, reply, required, respond, scheduled};
use crate::dialects::Params;

/// Items in one `list`.
const MAX_LIST: usize = 1000;

/// What every message of one request shares.
struct Common {
    from: Option<String>,
    send_at: Option<String>,
}

/// One message to send.
struct Outgoing {
    to: String,
    body: String,
    external_id: Option<i64>,
}

/// Digits only, so `+50672004393`, `50672004393` and `506 7200 4393` are the same number.
fn digits_of(number: &str) -> String {
    number.chars().filter(char::is_ascii_digit).collect()
}

async fn common(app: &App, p: &Principal, body: &Params) -> Result<Common, Error> {
    let wanted = body.text("from").map_err(Error::invalid)?.map(digits_of).filter(|d| !d.is_empty());
    let owned = app.numbers(p).await?;
    let from = wanted
        .and_then(|w| owned.iter().find(|n| digits_of(&n.number) == w))
        .or_else(|| owned.first())
        .map(|n| n.number.clone());
    let send_at = match body.text("scheduled").map_err(Error::invalid)?.map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(scheduled::parse(s, &p.timezone).map_err(Error::invalid)?.to_string()),
    };
    Ok(Common { from, send_at })
}

/// A recipient as written: a `+` sent unencoded in a form arrives as a space, and digits
/// that begin with one are international.
fn recipient(raw: &str) -> String {
    let trimmed = raw.trim();
    if raw.starts_with(' ') && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        format!("+{trimmed}")
    } else {
        trimmed.to_owned()
    }
}

/// Sends one message; its native id and its status when it was accepted.
async fn send(app: &App, p: &Principal, common: &Common, out: Outgoing) -> Result<(String, String), Error> {
    let req = SendRequest {
        to: vec![recipient(&out.to)],
        from: common.from.clone(),
        body: out.body,
        send_at: common.send_at.clone(),
        client_ref: out.external_id.map(|n| n.to_string()),
        ..SendRequest::default()
    };
    let SendResult::Sent(outcome) = app.send(p, req, None).await? else {
        return Err(Error::invalid("This request was already answered."));
    };
    if let Some(m) = outcome.messages.into_iter().next() {
        return Ok((m.id, m.status.as_str().to_owned()));
    }
    let detail = outcome.errors.into_iter().next().map_or_else(|| "Nothing was sent.".to_owned(), |e| e.detail);
    Err(Error::invalid(format!("to: {detail}")))
}

/// `POST /api/v1/sms/`: `to`, `body`, `from`, `scheduled`, `external_id`; the message as
/// `GET /api/v1/sms/{id}` shows it.
pub(super) async fn one(State(app): State<App>, req: Request) -> Response {
    respond(try_one(&app, req).await)
}

async fn try_one(app: &App, req: Request) -> Result<Value, Error> {
    let (p, _, body) = authenticated(app, req).await?;
    let out = Outgoing {
        to: required(&body, "to")?,
        body: required(&body, "body")?,
        external_id: integer(&body, "external_id")?,
    };
    let common = common(app, &p, &body).await?;
    let (id, accepted) = send(app, &p, &common, out).await?;
    let (mut message, _) = app.message(&p, &id).await?;
    // The answer tells what was accepted, as the document's example does, even when the
    // message has already left by the time it is read back.
    message.status = accepted;
    view(app, &p, Item::Sent(Box::new(message))).await
}

/// `POST /api/v1/sms/to_many`: body, from, scheduled and a list of `{to, external_id}`.
pub(super) async fn to_many(State(app): State<App>, req: Request) -> Response {
    reply(send_list(&app, req, true).await)
}

/// `POST /api/v1/sms/many`: from, scheduled and a list of `{to, body, external_id}`.
pub(super) async fn many(State(app): State<App>, req: Request) -> Response {
    reply(send_list(&app, req, false).await)
}

/// One item of a list as a message to send, or why it is not one.
fn item(value: &Value, shared_body: Option<&str>) -> Result<Outgoing, Error> {
    let fields = value.as_object().cloned().ok_or_else(|| Error::invalid("A list item must be an object."))?;
    let item = Params { fields };
    let body = match shared_body {
        Some(b) => b.to_owned(),
        None => required(&item, "body")?,
    };
    Ok(Outgoing {
        to: required(&item, "to")?,
        body,
        external_id: integer_value(item.fields.get("external_id"), "external_id")?,
    })
}

async fn send_list(app: &App, req: Request, one_body: bool) -> Result<Value, Error> {
    let (p, _, body) = authenticated(app, req).await?;
    let shared_body = if one_body { Some(required(&body, "body")?) } else { None };
    let list = match body.fields.get("list") {
        None | Some(Value::Null) => return Err(Error::invalid("The list field is required.")),
        Some(Value::Array(items)) if items.is_empty() => return Err(Error::invalid("The list field is required.")),
        Some(Value::Array(items)) if items.len() > MAX_LIST => {
            return Err(Error::invalid(format!("The list holds at most {MAX_LIST} items.")));
        }
        Some(Value::Array(items)) => items,
        Some(_) => return Err(Error::invalid("The list field must be an array of objects.")),
    };
    let common = common(app, &p, &body).await?;
    let mut sent: Vec<Option<String>> = Vec::with_capacity(list.len());
    for value in list {
        let outcome = match item(value, shared_body.as_deref()) {
            Ok(out) => send(app, &p, &common, out).await.map(|(id, _)| id),
            Err(e) => Err(e),
        };
        if let Err(e) = &outcome {
            tracing::debug!(error = ?e, "a list item was not sent");
        }
        sent.push(outcome.ok());
    }
    let seq = seqs(app, &p, AliasKind::Message, sent.iter().flatten().cloned().collect()).await?;
    let ids: Vec<i64> = sent.iter().map(|id| id.as_ref().and_then(|id| seq.get(id)).copied().unwrap_or(-1)).collect();
    Ok(json!({"result": "ok", "ids": ids}))
}
