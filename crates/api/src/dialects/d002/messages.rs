//! 002's messages as it shows them: `GET /api/v1/sms/{id}`, `GET /api/v1/sms/by_external/{id}`
//! and `GET /api/v1/sms/` (sent and received, newest first).

use std::collections::HashMap;

use axum::extract::{Path, Request, State};
use axum::response::Response;
use serde_json::{Value, json};
use textbird_app::{AliasKind, App, Counted, MessageQuery, Principal};

use super::contacts::by_number;
use super::{Error, listing, principal, reply, respond};

const WHAT: &str = "sms";

/// A message as 002 lists them: one the account sent, or one it received.
pub(super) use crate::dialects::traffic::Traffic as Item;

/// 002's three status words for the native states:
/// - `queued`: Textbird still holds the message (`accepted`, `scheduled`, `queued`);
/// - `sent`: it has left Textbird's hands: handed to the carrier (`submitted`), delivered
///   (`delivered`), or ended in any other final state (`undelivered`, `expired`, `rejected`,
///   `failed`, `canceled`, `deleted`, `unknown`). The vendor has no word for failure; the
///   native `GET /v1/messages/{id}` tells these apart.
/// - `received`: every inbound message.
pub(super) fn status_word(native: &str) -> &'static str {
    match native {
        "accepted" | "scheduled" | "queued" => "queued",
        _ => "sent",
    }
}

/// `{date, timezone, timezone_type}` in UTC, as PHP's `DateTime` serialises itself.
fn created(ms: i64) -> Value {
    let date = jiff::Timestamp::from_millisecond(ms).map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string());
    json!({
        "date": format!("{}.{:06}", date.unwrap_or_default(), ms.rem_euclid(1000) * 1000),
        "timezone": "UTC",
        "timezone_type": 3,
    })
}

/// The integer ids of `ids` (native ids of `kind`).
pub(super) async fn seqs(
    app: &App,
    p: &Principal,
    kind: AliasKind,
    ids: Vec<String>,
) -> Result<HashMap<String, i64>, Error> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(app.aliases(p, kind, &ids).await?.into_iter().map(|(id, a)| (id, a.seq)).collect())
}

/// `items` as 002 shows them, each with its integer id and, when its number is a contact's,
/// the contact.
pub(super) async fn views(app: &App, p: &Principal, items: &[Item]) -> Result<Vec<Value>, Error> {
    let aliases = crate::dialects::traffic::aliases(app, p, items).await?;
    let contacts = by_number(app, p, items.iter().map(Item::other_party)).await?;
    Ok(items
        .iter()
        .map(|item| {
            let (id, content, created_at, direction, status, external_id) = match item {
                Item::Sent(m) => (
                    aliases.get(&m.id).map(|a| a.seq),
                    &m.body,
                    m.created_at,
                    "sending",
                    status_word(&m.status),
                    m.client_ref.as_deref().and_then(|r| r.parse::<i64>().ok()),
                ),
                Item::Received(m) => {
                    (aliases.get(&m.id).map(|a| a.seq), &m.body, m.created_at, "incoming", "received", None)
                }
            };
            let mut view = json!({
                "content": content,
                "created": created(created_at),
                "direction": direction,
                "external_id": external_id,
                "id": id,
                "number": item.other_party(),
                "status": status,
            });
            if let Some(contact) = contacts.get(item.other_party()) {
                view["contact"] = json!({"data": contact});
            }
            view
        })
        .collect())
}

/// One item as 002 shows it.
pub(super) async fn view(app: &App, p: &Principal, item: Item) -> Result<Value, Error> {
    views(app, p, &[item]).await?.pop().ok_or_else(|| Error::not_found(WHAT))
}

/// `GET /api/v1/sms/{id}`: a sent or a received message.
pub(super) async fn one(State(app): State<App>, Path(id): Path<String>, req: Request) -> Response {
    respond(try_one(&app, &id, req).await)
}

async fn try_one(app: &App, id: &str, req: Request) -> Result<Value, Error> {
    let p = principal(app, &req.into_parts().0).await?;
    let seq = super::path_id(id, WHAT)?;
    let item = match app.alias_by_seq(&p, seq).await? {
        Some((AliasKind::Message, id)) => Item::Sent(Box::new(app.message(&p, &id).await?.0)),
        Some((AliasKind::Inbound, id)) => Item::Received(app.inbound_message(&p, &id).await?),
        _ => return Err(Error::not_found(WHAT)),
    };
    view(app, &p, item).await
}

/// `GET /api/v1/sms/by_external/{external_id}`: the newest message sent with this
/// `external_id` (kept as the native `client_ref`).
pub(super) async fn by_external(State(app): State<App>, Path(id): Path<String>, req: Request) -> Response {
    respond(try_by_external(&app, &id, req).await)
}

async fn try_by_external(app: &App, external_id: &str, req: Request) -> Result<Value, Error> {
    let p = principal(app, &req.into_parts().0).await?;
    let external_id: i64 = external_id.trim().parse().map_err(|_| Error::not_found(WHAT))?;
    let q = MessageQuery { client_ref: Some(external_id.to_string()), limit: Some(1), ..MessageQuery::default() };
    let m = app.messages(&p, q).await?.items.into_iter().next().ok_or_else(|| Error::not_found(WHAT))?;
    view(app, &p, Item::Sent(Box::new(m))).await
}

/// `GET /api/v1/sms/?page=N`: sent and received messages merged, newest first.
pub(super) async fn list(State(app): State<App>, req: Request) -> Response {
    reply(try_list(&app, req).await)
}

async fn try_list(app: &App, req: Request) -> Result<Value, Error> {
    let (p, parts, page) = listing(app, req).await?;
    let p = &p;
    let items = page.slice(crate::dialects::traffic::newest(app, p, page.end()).await?);
    let total = app.count(p, Counted::Messages).await? + app.count(p, Counted::Inbound).await?;
    let data = views(app, p, &items).await?;
    Ok(json!({
        "data": data,
        "meta": page.meta(&parts, "/api/v1/sms", items.len(), total),
        "result": "ok",
    }))
}
