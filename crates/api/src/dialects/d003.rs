//! Dialect 003 ("Cloudware" style): `POST /v1/sms/send`, `POST /v1/sms/queue`,
//! `GET /v1/sms/messages`. Bearer API key; `{"data":...,"status":"success"}` and
//! `{"status":"error","message":...}`; numbers as digits with the country code, no `+`.

use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use textbird_app::{App, AppError, Inbound, Message, MessageQuery, Principal, SendRequest, SendResult};

use super::{BodyError, Params, app_error, digits, seconds};

/// Messages per page of `GET /v1/sms/messages` unless `limit` says otherwise.
const PAGE: u32 = 50;
const MAX_PAGE: u32 = 100;

pub(super) fn router() -> Router<App> {
    Router::new()
        .route("/v1/sms/queue", post(queue).fallback(wrong_method))
        .route("/v1/sms/messages", get(list).fallback(wrong_method))
}

/// A method a 003 path does not take: 405 in 003's envelope.
pub(super) async fn wrong_method() -> Response {
    Error(StatusCode::METHOD_NOT_ALLOWED, "This method is not allowed on this path.".into()).into_response()
}

/// An error in 003's envelope.
struct Error(StatusCode, String);

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let mut res = (self.0, Json(json!({"status": "error", "message": self.1}))).into_response();
        if self.0 == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        }
        res
    }
}

impl From<AppError> for Error {
    fn from(e: AppError) -> Self {
        let (status, message) = app_error(&e, &|f| f.replacen("body", "message", 1));
        Error(status, message)
    }
}

fn bad(message: impl Into<String>) -> Error {
    Error(StatusCode::BAD_REQUEST, message.into())
}

pub(super) fn body_error(e: BodyError) -> Response {
    match e {
        BodyError::Malformed(m) => bad(m),
        BodyError::TooLarge => Error(StatusCode::PAYLOAD_TOO_LARGE, "The request body is too large.".into()),
        BodyError::Unreadable => bad("The request body could not be read."),
    }
    .into_response()
}

async fn principal(app: &App, parts: &Parts) -> Result<Principal, Error> {
    let unauthorized = || Error(StatusCode::UNAUTHORIZED, "Unauthorized: send `Authorization: Bearer <token>`.".into());
    let token = super::bearer_token(parts).ok_or_else(unauthorized)?;
    let p = app.authenticate_bearer(token).await.map_err(|_| unauthorized())?;
    app.admit(&p)?;
    Ok(p)
}

/// 003's status words: `queued` (accepted, scheduled, queued), `sent` (handed to the
/// carrier), `delivered`, `failed` (every final state short of delivery).
fn status_word(native: &str) -> &'static str {
    match native {
        "accepted" | "scheduled" | "queued" => "queued",
        "submitted" => "sent",
        "delivered" => "delivered",
        _ => "failed",
    }
}

async fn queue(State(app): State<App>, req: Request) -> Response {
    match Params::read(req, &app).await {
        Ok((parts, body)) => send(app, parts, body, true).await,
        Err(e) => body_error(e),
    }
}

/// `POST /v1/sms/send` (200) and `/v1/sms/queue` (202 Accepted): one message to `to`.
pub(super) async fn send(app: App, parts: Parts, body: Params, queued: bool) -> Response {
    match try_send(&app, &parts, &body).await {
        Ok(data) => {
            let status = if queued { StatusCode::ACCEPTED } else { StatusCode::OK };
            (status, Json(json!({"data": data, "status": "success"}))).into_response()
        }
        Err(e) => e.into_response(),
    }
}

async fn try_send(app: &App, parts: &Parts, body: &Params) -> Result<Value, Error> {
    let p = principal(app, parts).await?;
    let required = |name: &str| match body.text(name) {
        Err(m) => Err(bad(m)),
        Ok(None) => Err(bad(format!("The {name} field is required."))),
        Ok(Some(v)) if v.trim().is_empty() => Err(bad(format!("The {name} field is required."))),
        Ok(Some(v)) => Ok(v.to_owned()),
    };
    let to = required("to")?;
    let message = required("message")?;
    let from = body.text("from").map_err(bad)?.map(str::to_owned);
    // The country code is always there: digits alone are international, not local.
    // A `+` sent unencoded in a form arrives as a space.
    let to = to.trim();
    let to = if to.bytes().all(|b| b.is_ascii_digit()) { format!("+{to}") } else { to.to_owned() };
    let req = SendRequest { to: vec![to], from, body: message, ..SendRequest::default() };
    let SendResult::Sent(outcome) = app.send(&p, req, None).await? else {
        return Err(Error(StatusCode::CONFLICT, "This request was already answered.".into()));
    };
    let m = outcome.messages.first().ok_or_else(|| bad("Nothing was sent."))?;
    Ok(json!({
        "id": m.id,
        "to": digits(&m.to),
        "from": digits(&m.from),
        "message": m.body,
        "status": status_word(m.status.as_str()),
        "created_at": seconds(m.created_at),
        "updated_at": seconds(m.created_at),
    }))
}

/// What `GET /v1/sms/messages` filters on and where the next page starts. It travels as the
/// opaque `token` (base64url of this JSON); each source's cursor is a native list cursor.
#[derive(Serialize, Deserialize, Default)]
struct Cursor {
    phone: Option<String>,
    to: Option<String>,
    from: Option<String>,
    limit: u32,
    /// Where the sent and the received messages continue, and whether they are exhausted.
    sent: Option<String>,
    sent_done: bool,
    received: Option<String>,
    received_done: bool,
}

impl Cursor {
    fn from_query(q: &Params) -> Result<Cursor, Error> {
        if let Some(token) = q.text("token").map_err(bad)? {
            return URL_SAFE_NO_PAD
                .decode(token.trim())
                .ok()
                .and_then(|b| serde_json::from_slice::<Cursor>(&b).ok())
                .filter(|c| (1..=MAX_PAGE).contains(&c.limit))
                .ok_or_else(|| bad("The token is not one from a previous page."));
        }
        let limit = match q.text("limit").map_err(bad)? {
            None => PAGE,
            Some(l) => l
                .parse()
                .ok()
                .filter(|n| (1..=MAX_PAGE).contains(n))
                .ok_or_else(|| bad(format!("The limit must be 1 to {MAX_PAGE}.")))?,
        };
        let filter = |name: &str| -> Result<Option<String>, Error> {
            Ok(q.text(name).map_err(bad)?.map(number_key).filter(|n| !n.is_empty()))
        };
        Ok(Cursor { phone: filter("phone")?, to: filter("to")?, from: filter("from")?, limit, ..Cursor::default() })
    }

    fn token(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// The filters as a query string (`phone=2348012345678&from=...`).
    fn query(&self) -> String {
        let pairs: Vec<(&str, &String)> = [("phone", &self.phone), ("to", &self.to), ("from", &self.from)]
            .into_iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
            .collect();
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }

    fn matches(&self, from: &str, to: &str) -> bool {
        let (from, to) = (number_key(from), number_key(to));
        self.phone.as_ref().is_none_or(|p| *p == from || *p == to)
            && self.to.as_ref().is_none_or(|t| *t == to)
            && self.from.as_ref().is_none_or(|f| *f == from)
    }
}

/// A number or sender as compared by the filters: `+40722000000`, `40722000000` and
/// ` 40722000000` (a `+` decoded from a URL) are the same.
fn number_key(s: &str) -> String {
    s.trim().trim_start_matches('+').to_owned()
}

enum Item<'a> {
    Sent(&'a Message),
    Received(&'a Inbound),
}

impl Item<'_> {
    fn key(&self) -> (i64, &str) {
        match self {
            Item::Sent(m) => (m.created_at, &m.id),
            Item::Received(m) => (m.created_at, &m.id),
        }
    }

    fn numbers(&self) -> (&str, &str) {
        match self {
            Item::Sent(m) => (&m.sender, &m.to),
            Item::Received(m) => (&m.from, &m.to),
        }
    }

    fn dto(&self) -> Value {
        let (kind, id, body, created, sent) = match self {
            Item::Sent(m) => {
                let sent = matches!(m.status.as_str(), "submitted" | "delivered").then_some(m.updated_at);
                ("message_sent", &m.id, &m.body, m.created_at, sent)
            }
            Item::Received(m) => ("message_received", &m.id, &m.body, m.created_at, Some(m.created_at)),
        };
        let (from, to) = self.numbers();
        event(kind, from, to, body, id, &seconds(created), sent.map(seconds).as_deref())
    }
}

/// One sent or received message as 003 shows it, in lists and webhooks alike.
fn event(kind: &str, from: &str, to: &str, message: &str, id: &str, created_at: &str, sent_at: Option<&str>) -> Value {
    json!({
        "type": kind,
        "from": digits(from),
        "to": digits(to),
        "message": message,
        "message_id": id,
        "created_at": created_at,
        "sent_at": sent_at,
    })
}

/// The `cloudware` webhook format: a native `message.received` or `message.submitted`
/// payload as 003's `message_received` / `message_sent` webhook; nothing for other events.
pub(super) fn webhook(event_type: &str, payload: &Value) -> Option<Value> {
    let d = &payload["data"];
    let text = |name: &str| d[name].as_str().unwrap_or_default();
    // Native times carry milliseconds; 003 shows whole seconds.
    let time = |name: &str| {
        d[name].as_str().and_then(|t| t.parse::<jiff::Timestamp>().ok()).map(|t| seconds(t.as_millisecond()))
    };
    let (kind, created, sent) = match event_type {
        "message.received" => ("message_received", time("received_at"), time("received_at")),
        "message.submitted" => ("message_sent", time("created_at"), time("updated_at")),
        _ => return None,
    };
    let created = created.unwrap_or_default();
    Some(event(kind, text("from"), text("to"), text("body"), text("id"), &created, sent.as_deref()))
}

/// `GET /v1/sms/messages`: sent and received messages, newest first, merged from the native
/// lists of each. A page may hold fewer than `limit` messages when filters skip some.
async fn list(State(app): State<App>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    match try_list(&app, &parts).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn try_list(app: &App, parts: &Parts) -> Result<Value, Error> {
    let p = principal(app, parts).await?;
    let mut c = Cursor::from_query(&Params::query(parts))?;
    let stale = |e: AppError| match e {
        AppError::Validation(_) => bad("The token is not one from a previous page."),
        other => other.into(),
    };
    let (sent, sent_more) = if c.sent_done {
        (Vec::new(), false)
    } else {
        let q = MessageQuery { cursor: c.sent.clone(), limit: Some(c.limit), ..MessageQuery::default() };
        let list = app.messages(&p, q).await.map_err(stale)?;
        (list.items, list.next_cursor.is_some())
    };
    let (received, received_more) = if c.received_done {
        (Vec::new(), false)
    } else {
        let (items, next) = app.inbound(&p, c.received.clone(), Some(c.limit)).await.map_err(stale)?;
        (items, next.is_some())
    };
    let (sent_len, received_len) = (sent.len(), received.len());
    let mut sent = sent.iter().map(Item::Sent).peekable();
    let mut received = received.iter().map(Item::Received).peekable();
    let (mut used_sent, mut used_received) = (0, 0);
    let mut data = Vec::new();
    for _ in 0..c.limit {
        // A side whose fetched page ran out while it has more cannot be ordered against.
        let take_sent = match (sent.peek(), received.peek()) {
            (Some(s), Some(r)) => s.key() >= r.key(),
            (Some(_), None) if !received_more => true,
            (None, Some(_)) if !sent_more => false,
            _ => break,
        };
        let item = if take_sent { sent.next() } else { received.next() };
        let Some(item) = item else { break };
        match &item {
            Item::Sent(m) => {
                used_sent += 1;
                c.sent = Some(m.id.clone());
            }
            Item::Received(m) => {
                used_received += 1;
                c.received = Some(m.id.clone());
            }
        }
        let (from, to) = item.numbers();
        if c.matches(from, to) {
            data.push(item.dto());
        }
    }
    c.sent_done = c.sent_done || (used_sent == sent_len && !sent_more);
    c.received_done = c.received_done || (used_received == received_len && !received_more);
    let next_page = (!(c.sent_done && c.received_done))
        .then(|| format!("{}/v1/sms/messages?token={}", crate::extract::origin::public_base(parts), c.token()));
    Ok(json!({"query": c.query(), "data": data, "next_page": next_page}))
}
