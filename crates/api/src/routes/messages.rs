//! `/v1/messages`: send, get, list, cancel.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use textbird_app::{App, Message, MessageEvent, MessageQuery, SendOutcome, SendRequest};
use textbird_types::Money;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Page, opt_time, time};
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, JsonBody, Query, idempotency_key};

pub(super) fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(send_messages, list_messages))
        .routes(routes!(get_message))
        .routes(routes!(cancel_message))
}

/// One recipient or many.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum Recipients {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SendBody {
    /// E.164 numbers, or local numbers read in the account's country; up to 10,000.
    #[schema(value_type = Object, example = json!("+31612345678"))]
    to: Option<Recipients>,
    /// Recipient lists whose members are sent to as well; templates read their data.
    list_ids: Option<Vec<String>>,
    /// Unsubscribe lists to consult (default: every enabled one); numbers on them are skipped
    /// with the reason `unsubscribed`. The default list (`/v1/unsubscribes`, STOP) always applies.
    unsubscribe_list_ids: Option<Vec<String>>,
    /// Contacts, and every contact of these groups, sent to as well; templates read their fields.
    contact_ids: Option<Vec<String>>,
    group_ids: Option<Vec<String>>,
    /// Each message takes a random enabled sender of this sender list (instead of `from`).
    sender_list_id: Option<String>,
    /// Alphanumeric (≤ 11) or numeric (≤ 15 digits) sender; defaults to a number the account owns.
    from: Option<String>,
    /// The text; may hold template tokens such as `{{first_name}}` or `{{link:ID}}`. Required
    /// unless `template_id` is given.
    body: Option<String>,
    /// Send a template's body instead of `body`.
    template_id: Option<String>,
    /// The messages wait (status `scheduled`) until this trigger fires.
    trigger_id: Option<String>,
    /// Seconds after the trigger fires before the messages are sent (default 0).
    trigger_delay_secs: Option<u64>,
    /// RFC 3339; the message is scheduled until then.
    send_at: Option<String>,
    /// Receives this message's status webhooks (signed with the account's callback secret).
    callback_url: Option<String>,
    /// Your reference, returned and filterable.
    client_ref: Option<String>,
    /// Seconds the message may wait before it is sent (1 to 259200; default 172800).
    validity_period: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct SentDto {
    id: String,
    to: String,
    from: String,
    status: String,
    parts: u32,
    encoding: &'static str,
    price: String,
    send_at: Option<String>,
    client_ref: Option<String>,
    created_at: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct RecipientErrorDto {
    index: usize,
    to: String,
    code: &'static str,
    detail: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct SendResponse {
    batch_id: String,
    messages: Vec<SentDto>,
    errors: Vec<RecipientErrorDto>,
    total_price: String,
}

fn send_response(o: &SendOutcome) -> SendResponse {
    SendResponse {
        batch_id: o.batch_id.clone(),
        messages: o
            .messages
            .iter()
            .map(|m| SentDto {
                id: m.id.clone(),
                to: m.to.clone(),
                from: m.from.clone(),
                status: m.status.to_string(),
                parts: m.parts,
                encoding: m.encoding,
                price: m.price.to_string(),
                send_at: opt_time(m.send_at),
                client_ref: m.client_ref.clone(),
                created_at: time(m.created_at),
            })
            .collect(),
        errors: o
            .errors
            .iter()
            .map(|e| RecipientErrorDto { index: e.index, to: e.to.clone(), code: e.code, detail: e.detail.clone() })
            .collect(),
        total_price: o.total_price.to_string(),
    }
}

fn replayed(status: u16, body: String) -> Response {
    let mut res = (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body).into_response();
    let h = res.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    h.insert("idempotent-replayed", HeaderValue::from_static("true"));
    res
}

/// Send a message to one or many recipients.
#[utoipa::path(post, path = "/v1/messages", tag = "messages", request_body = SendBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Same key + same body within 24 h gives the same response and no second message")),
    responses((status = 201, body = SendResponse), (status = 402, body = Problem), (status = 422, body = Problem)))]
async fn send_messages(
    State(app): State<App>,
    Auth(p): Auth,
    headers: HeaderMap,
    body: JsonBody<SendBody>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers, &body.hash)?;
    let _guard = match &key {
        Some(k) => {
            if let Some(r) = app.idempotent_replay(&p, k).await? {
                return Ok(replayed(r.status, r.body));
            }
            Some(app.idempotency_begin(&p, k)?)
        }
        None => None,
    };
    let b = body.value;
    let to = match b.to {
        None => Vec::new(),
        Some(Recipients::One(t)) => vec![t],
        Some(Recipients::Many(v)) => v,
    };
    let req = SendRequest {
        to,
        from: b.from,
        body: b.body.unwrap_or_default(),
        template_id: b.template_id,
        trigger_id: b.trigger_id,
        trigger_delay_secs: b.trigger_delay_secs,
        send_at: b.send_at,
        callback_url: b.callback_url,
        client_ref: b.client_ref,
        validity_secs: b.validity_period,
        list_ids: b.list_ids.unwrap_or_default(),
        unsubscribe_list_ids: b.unsubscribe_list_ids,
        contact_ids: b.contact_ids.unwrap_or_default(),
        group_ids: b.group_ids.unwrap_or_default(),
        sender_list_id: b.sender_list_id,
        smpp_receipt: false,
        smpp_multi: false,
    };
    let render = |o: &SendOutcome| (201, serde_json::to_string(&send_response(o)).unwrap_or_default());
    let result = match &key {
        Some(k) => app.send(&p, req, Some((k, &render))).await?,
        None => app.send(&p, req, None).await?,
    };
    Ok(match result {
        textbird_app::SendResult::Sent(o) => (StatusCode::CREATED, Json(send_response(&o))).into_response(),
        textbird_app::SendResult::Replayed(r) => replayed(r.status, r.body),
    })
}

#[derive(Serialize, ToSchema)]
pub(crate) struct EventDto {
    status: String,
    at: String,
    detail: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorDto {
    code: Option<String>,
    detail: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct MessageDto {
    id: String,
    batch_id: String,
    to: String,
    from: String,
    body: String,
    status: String,
    parts: i32,
    encoding: String,
    price: String,
    client_ref: Option<String>,
    callback_url: Option<String>,
    send_at: Option<String>,
    valid_until: String,
    attempts: i32,
    connector: Option<String>,
    carrier_id: Option<String>,
    error: Option<ErrorDto>,
    /// Set when the message may have reached the carrier twice (a node died mid-submission).
    possible_duplicate: bool,
    created_at: String,
    updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    events: Option<Vec<EventDto>>,
}

fn message_dto(m: Message, events: Option<Vec<MessageEvent>>) -> MessageDto {
    let error = (m.error_code.is_some() || m.error_detail.is_some())
        .then_some(ErrorDto { code: m.error_code, detail: m.error_detail });
    MessageDto {
        id: m.id,
        batch_id: m.batch_id,
        to: m.to,
        from: m.sender,
        body: m.body,
        status: m.status,
        parts: m.parts,
        encoding: m.encoding,
        price: Money(m.price).to_string(),
        client_ref: m.client_ref,
        callback_url: m.callback_url,
        send_at: opt_time(m.send_at),
        valid_until: time(m.valid_until),
        attempts: m.attempts,
        connector: m.connector,
        carrier_id: m.carrier_id,
        error,
        possible_duplicate: m.possible_duplicate,
        created_at: time(m.created_at),
        updated_at: time(m.updated_at),
        events: events.map(|ev| {
            ev.into_iter().map(|e| EventDto { status: e.status, at: time(e.created_at), detail: e.detail }).collect()
        }),
    }
}

/// A message with its status history.
#[utoipa::path(get, path = "/v1/messages/{id}", tag = "messages", params(("id" = String, Path)),
    responses((status = 200, body = MessageDto), (status = 404, body = Problem)))]
async fn get_message(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<MessageDto>, ApiError> {
    let (m, events) = app.message(&p, &id).await?;
    Ok(Json(message_dto(m, Some(events))))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListParams {
    status: Option<String>,
    to: Option<String>,
    client_ref: Option<String>,
    /// RFC 3339, inclusive.
    created_from: Option<String>,
    /// RFC 3339, exclusive.
    created_to: Option<String>,
    cursor: Option<String>,
    /// 1 to 1000, default 50.
    limit: Option<u32>,
    /// Only the messages of this broadcast.
    broadcast_id: Option<String>,
}

/// Messages, newest first.
#[utoipa::path(get, path = "/v1/messages", tag = "messages", params(ListParams),
    responses((status = 200, body = Page<MessageDto>), (status = 422, body = Problem)))]
async fn list_messages(
    State(app): State<App>,
    Auth(p): Auth,
    Query(q): Query<ListParams>,
) -> Result<Json<Page<MessageDto>>, ApiError> {
    let list = app
        .messages(
            &p,
            MessageQuery {
                status: q.status,
                to: q.to,
                client_ref: q.client_ref,
                created_from: q.created_from,
                created_to: q.created_to,
                cursor: q.cursor,
                limit: q.limit,
                broadcast_id: q.broadcast_id,
            },
        )
        .await?;
    Ok(Json(Page {
        data: list.items.into_iter().map(|m| message_dto(m, None)).collect(),
        next_cursor: list.next_cursor,
    }))
}

/// Cancel a scheduled message; its price is refunded.
#[utoipa::path(post, path = "/v1/messages/{id}/cancel", tag = "messages", params(("id" = String, Path)),
    responses((status = 200, body = MessageDto), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn cancel_message(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<MessageDto>, ApiError> {
    Ok(Json(message_dto(app.cancel(&p, &id).await?, None)))
}
