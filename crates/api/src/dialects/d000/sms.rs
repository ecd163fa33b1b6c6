//! 000's SMS endpoints: `POST /api/v3/sms/send` (to numbers), `POST /api/v3/sms/campaign`
//! (to contact groups, personalised), `GET /api/v3/sms/{uid}` and `GET /api/v3/sms` (sent and
//! received messages, newest first).
//!
//! Status words, from the native status: `Pending` (accepted, queued), `Scheduled`, `Sent`
//! (handed to the carrier, no report yet), `Delivered`, `Cancelled`, `Failed` (undelivered,
//! expired, rejected, failed, deleted, unknown). A received message is `Delivered`.

use std::collections::{HashMap, HashSet};

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use textbird_app::{AliasKind, App, Counted, Inbound, Message, Principal, SendOutcome, SendRequest, SendResult};
use textbird_types::Money;

use super::paginate::PageRequest;
use super::{Call, Error, international, laravel_time, resolve, respond};
use crate::dialects::digits;

fn status_word(native: &str) -> &'static str {
    match native {
        "accepted" | "queued" => "Pending",
        "scheduled" => "Scheduled",
        "submitted" => "Sent",
        "delivered" => "Delivered",
        "canceled" => "Cancelled",
        _ => "Failed",
    }
}

/// 000's `sms_type` of a native encoding.
fn sms_type(encoding: &str) -> &'static str {
    if encoding == "ucs2" { "unicode" } else { "plain" }
}

/// What 000 shows of a sent message, from a stored one or one just sent.
struct Outgoing<'a> {
    to: &'a str,
    from: &'a str,
    body: &'a str,
    status: &'a str,
    encoding: &'a str,
    parts: i64,
    price: i64,
    send_at: Option<i64>,
    client_ref: Option<&'a str>,
    created_at: i64,
    updated_at: i64,
}

impl Outgoing<'_> {
    fn dto(&self, uid: &str) -> Value {
        json!({
            "uid": uid,
            "to": digits(self.to),
            "from": digits(self.from),
            "message": self.body,
            "sms_type": sms_type(self.encoding),
            "status": status_word(self.status),
            "direction": "outgoing",
            "sms_count": self.parts,
            "cost": Money(self.price).to_string(),
            "schedule_time": self.send_at.map(laravel_time),
            "dlt_template_id": self.client_ref,
            "created_at": laravel_time(self.created_at),
            "updated_at": laravel_time(self.updated_at),
        })
    }
}

fn stored(m: &Message) -> Outgoing<'_> {
    Outgoing {
        to: &m.to,
        from: &m.sender,
        body: &m.body,
        status: &m.status,
        encoding: &m.encoding,
        parts: i64::from(m.parts),
        price: m.price,
        send_at: m.send_at,
        client_ref: m.client_ref.as_deref(),
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

fn incoming(m: &Inbound, uid: &str) -> Value {
    json!({
        "uid": uid,
        "to": digits(&m.to),
        "from": digits(&m.from),
        "message": m.body,
        "sms_type": "plain",
        "status": "Delivered",
        "direction": "incoming",
        "sms_count": null,
        "cost": Money::ZERO.to_string(),
        "schedule_time": null,
        "dlt_template_id": null,
        "created_at": laravel_time(m.created_at),
        "updated_at": laravel_time(m.created_at),
    })
}

/// The fields both sends share: `sender_id`, `type`, `message`, `schedule_time`,
/// `dlt_template_id` (kept as the messages' `client_ref`).
fn sending(call: &Call, to: Vec<String>, group_ids: Vec<String>, message: String) -> Result<SendRequest, Error> {
    let from = call.required("sender_id")?;
    let kind = call.required("type")?;
    if !kind.eq_ignore_ascii_case("plain") && !kind.eq_ignore_ascii_case("unicode") {
        return Err(Error::invalid("The type must be plain or unicode."));
    }
    let send_at = match call.text("schedule_time")? {
        Some(t) => Some(schedule_time(&t, &call.p.timezone)?),
        None => None,
    };
    Ok(SendRequest {
        to,
        group_ids,
        from: Some(from),
        body: message,
        send_at,
        client_ref: call.text("dlt_template_id")?,
        ..SendRequest::default()
    })
}

/// `Y-m-d H:i` (or with seconds) in the account's time zone, or RFC 3339, as RFC 3339.
fn schedule_time(raw: &str, timezone: &str) -> Result<String, Error> {
    if let Ok(t) = raw.parse::<jiff::Timestamp>() {
        return Ok(t.to_string());
    }
    let bad = || Error::invalid("The schedule_time must be a date and time as Y-m-d H:i (or RFC 3339).");
    let civil = ["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
        .iter()
        .find_map(|f| jiff::civil::DateTime::strptime(f, raw).ok())
        .ok_or_else(bad)?;
    let zoned = civil.in_tz(timezone).or_else(|_| civil.in_tz("UTC")).map_err(|_| bad())?;
    Ok(zoned.timestamp().to_string())
}

/// Sends, and answers with `data` and, when some recipients were refused, a `message`
/// naming them.
async fn send_and_show(
    app: &App,
    p: &Principal,
    req: SendRequest,
    show: impl FnOnce(&SendOutcome, Vec<Value>) -> Value,
) -> Result<Response, Error> {
    let SendResult::Sent(outcome) = app.send(p, req, None).await? else {
        return Err(Error(axum::http::StatusCode::CONFLICT, "This request was already answered.".into()));
    };
    let ids: Vec<String> = outcome.messages.iter().map(|m| m.id.clone()).collect();
    let aliases = app.aliases(p, AliasKind::Message, &ids).await?;
    let shown: Vec<Value> = outcome
        .messages
        .iter()
        .map(|m| {
            let uid = aliases.get(&m.id).map(|a| a.uid.as_str()).unwrap_or_default();
            let price = m.price.micros();
            Outgoing {
                to: &m.to,
                from: &m.from,
                body: &m.body,
                status: m.status.as_str(),
                encoding: m.encoding,
                parts: i64::from(m.parts),
                price,
                send_at: m.send_at,
                client_ref: m.client_ref.as_deref(),
                created_at: m.created_at,
                updated_at: m.created_at,
            }
            .dto(uid)
        })
        .collect();
    let mut body = json!({"status": "success", "data": show(&outcome, shown)});
    if !outcome.errors.is_empty() {
        let refused: Vec<String> = outcome.errors.iter().map(|e| format!("{} ({})", digits(&e.to), e.code)).collect();
        body["message"] = json!(format!(
            "Sent to {} of {} recipients; not sent: {}.",
            outcome.messages.len(),
            outcome.messages.len() + outcome.errors.len(),
            refused.join(", ")
        ));
    }
    Ok(Json(body).into_response())
}

/// `POST /api/v3/sms/send`: `message` to every number of `recipient` (comma-separated, with
/// the country code). `data` is the message when `recipient` names one number, else the list
/// of messages.
pub(super) async fn send(State(app): State<App>, req: Request) -> Response {
    try_send(&app, req).await.unwrap_or_else(IntoResponse::into_response)
}

async fn try_send(app: &App, req: Request) -> Result<Response, Error> {
    let call = Call::read(app, req).await?;
    let to: Vec<String> =
        call.required("recipient")?.split(',').map(str::trim).filter(|n| !n.is_empty()).map(international).collect();
    if to.is_empty() {
        return Err(Error::invalid("The recipient field is required."));
    }
    let single = to.len() == 1;
    let message = call.required("message")?;
    let req = sending(&call, to, Vec::new(), message)?;
    send_and_show(
        app,
        &call.p,
        req,
        |_, mut shown| if single && shown.len() == 1 { shown.remove(0) } else { json!(shown) },
    )
    .await
}

/// `POST /api/v3/sms/campaign`: `message` to every contact of the groups `contact_list_id`
/// (comma-separated uids; `recipient` is read when it is absent, as the document's example
/// sends it), personalised with each contact's fields: `{PHONE}`, `{FIRST_NAME}`,
/// `{LAST_NAME}`, `{EMAIL}` and the groups' own fields (`{COMPANY}` for a field `company`), in any case and
/// in single or double braces. `data` describes the campaign and lists its messages.
pub(super) async fn campaign(State(app): State<App>, req: Request) -> Response {
    try_campaign(&app, req).await.unwrap_or_else(IntoResponse::into_response)
}

async fn try_campaign(app: &App, req: Request) -> Result<Response, Error> {
    let call = Call::read(app, req).await?;
    let lists = match call.text("contact_list_id")? {
        Some(l) => l,
        None => call.text("recipient")?.ok_or_else(|| Error::invalid("The contact_list_id field is required."))?,
    };
    let uids: Vec<&str> = lists.split(',').map(str::trim).filter(|u| !u.is_empty()).collect();
    let mut group_ids = Vec::with_capacity(uids.len());
    let mut names: HashSet<String> = textbird_app::template::BUILT_IN_FIELDS.iter().map(|f| (*f).to_owned()).collect();
    for uid in &uids {
        let id = resolve(app, &call.p, AliasKind::Group, uid, "contact list").await?;
        names.extend(app.group(&call.p, &id).await?.fields.into_iter().map(|f| f.name));
        group_ids.push(id);
    }
    if group_ids.is_empty() {
        return Err(Error::invalid("The contact_list_id field is required."));
    }
    let text = call.required("message")?;
    let req = sending(&call, Vec::new(), group_ids, native_tokens(&text, &names))?;
    let (from, dlt, kind) = (req.from.clone(), req.client_ref.clone(), call.required("type")?.to_ascii_lowercase());
    send_and_show(app, &call.p, req, |outcome, shown| {
        let first = outcome.messages.first();
        json!({
            "contact_list_id": uids,
            "sender_id": from,
            "sms_type": kind,
            "message": text,
            "status": first.map_or("Pending", |m| status_word(m.status.as_str())),
            "schedule_time": first.and_then(|m| m.send_at).map(laravel_time),
            "dlt_template_id": dlt,
            "recipients": outcome.messages.len(),
            "cost": outcome.total_price.to_string(),
            "messages": shown,
        })
    })
    .await
}

/// `text` with 000's field tags (`{FIRST_NAME}`, `{{first_name}}`, `{COMPANY}`) written as
/// the native `{{first_name}}`; braces around anything but a name in `names` stay as they are.
fn native_tokens(text: &str, names: &HashSet<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        let double = after.starts_with("{{");
        let (inner_start, close) = if double { (2, "}}") } else { (1, "}") };
        let translated = after[inner_start..].find(close).and_then(|end| {
            let name = after[inner_start..inner_start + end].trim().to_ascii_lowercase();
            names.contains(&name).then(|| (format!("{{{{{name}}}}}"), inner_start + end + close.len()))
        });
        if let Some((token, used)) = translated {
            out.push_str(&token);
            rest = &after[used..];
        } else {
            let keep = if double { 2 } else { 1 };
            out.push_str(&after[..keep]);
            rest = &after[keep..];
        }
    }
    out.push_str(rest);
    out
}

/// `GET /api/v3/sms/{uid}`: one sent or received message.
pub(super) async fn show(State(app): State<App>, Path(message_uid): Path<String>, req: Request) -> Response {
    respond(
        async {
            let call = Call::read(&app, req).await?;
            let not_found = || Error::not_found(format!("No message with uid {:?}.", message_uid.trim()));
            match app.alias_by_uid(&call.p, message_uid.trim()).await? {
                Some((AliasKind::Message, id)) => Ok(stored(&app.message(&call.p, &id).await?.0).dto(&message_uid)),
                Some((AliasKind::Inbound, id)) => Ok(incoming(&app.inbound_message(&call.p, &id).await?, &message_uid)),
                _ => Err(not_found()),
            }
        }
        .await,
    )
}

use crate::dialects::traffic::Traffic as Item;

/// `GET /api/v3/sms`: sent and received messages, newest first (see `paginate` for how far
/// back a list reaches).
pub(super) async fn list(State(app): State<App>, req: Request) -> Response {
    respond(try_list(&app, req).await)
}

async fn try_list(app: &App, req: Request) -> Result<Value, Error> {
    let call = Call::read(app, req).await?;
    let page = PageRequest::read(&call)?;
    let p = &call.p;
    // Only as far as this page reaches, and no deeper than a list walks.
    let reach = page.range(usize::MAX).end.min(super::paginate::MAX_LISTED);
    let mut all = crate::dialects::traffic::newest(app, p, reach).await?;
    let total = app.count(p, Counted::Messages).await? + app.count(p, Counted::Inbound).await?;
    let total = usize::try_from(total).unwrap_or(usize::MAX).min(super::paginate::MAX_LISTED);
    let shown: Vec<Item> = all.drain(page.range(all.len())).collect();
    let aliases = crate::dialects::traffic::aliases(app, p, &shown).await?;
    let data: Vec<Value> = shown
        .iter()
        .map(|i| {
            let uid = aliases.get(i.id()).map_or("", |a| a.uid.as_str());
            match i {
                Item::Sent(m) => stored(m).dto(uid),
                Item::Received(m) => incoming(m, uid),
            }
        })
        .collect();
    Ok(page.paginator(&data, total))
}

/// The uids of the caller's objects `ids`, by native id.
pub(super) async fn uids(
    app: &App,
    p: &Principal,
    kind: AliasKind,
    ids: &[String],
) -> Result<HashMap<String, String>, Error> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(app.aliases(p, kind, ids).await?.into_iter().map(|(id, a)| (id, a.uid)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_tags_become_native_tokens_and_other_braces_stay() {
        let names: HashSet<String> = ["first_name", "company"].iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(
            native_tokens("Hi {FIRST_NAME} of {{ Company }}, {x} {{y}} { {", &names),
            "Hi {{first_name}} of {{company}}, {x} {{y}} { {"
        );
        assert_eq!(native_tokens("{first_name}{FIRST_NAME", &names), "{{first_name}}{FIRST_NAME");
    }

    #[test]
    fn schedule_time_is_read_in_the_accounts_zone_or_as_rfc_3339() {
        assert_eq!(schedule_time("2021-12-20 07:00", "Europe/Amsterdam").unwrap(), "2021-12-20T06:00:00Z");
        assert_eq!(schedule_time("2021-12-20 07:00:30", "UTC").unwrap(), "2021-12-20T07:00:30Z");
        assert_eq!(schedule_time("2021-12-20T07:00:00+02:00", "UTC").unwrap(), "2021-12-20T05:00:00Z");
        assert!(schedule_time("20/12/2021", "UTC").is_err());
    }
}
