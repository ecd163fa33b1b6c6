//! 002's contacts (`/api/v1/contact/`) and contact groups (`/api/v1/contact_group/`): one,
//! create, and the paginated lists (oldest first, as the native lists).
//!
//! Beyond the document: `GET /api/v1/contact_group/{id}` and `POST /api/v1/contact_group/`
//! (`name`), so that a client of this API can make the groups it files contacts in.

use std::collections::HashMap;

use axum::extract::{Path, Request, State};
use axum::response::Response;
use serde_json::{Value, json};
use textbird_app::{AliasKind, App, Contact, ContactGroup, ContactInput, ContactQuery, Counted, Principal};

use super::messages::seqs;
use super::{Error, authenticated, integer, listing, principal, reply, required, respond};
use crate::dialects::traffic::first;

const CONTACT: &str = "contact";
const GROUP: &str = "contact group";

/// A contact as 002 shows it (`is_public` and `status` are always 0: Textbird has no such
/// notions).
fn contact_view(c: &Contact, seq: Option<&i64>) -> Value {
    let display_name: Vec<&str> = [&c.first_name, &c.last_name].into_iter().flatten().map(String::as_str).collect();
    json!({
        "display_name": display_name.join(" "),
        "first_name": c.first_name,
        "id": seq,
        "is_public": 0,
        "last_name": c.last_name,
        "main_phone": c.phone,
        "reference": c.reference,
        "status": 0,
    })
}

fn group_view(g: &ContactGroup, seq: Option<&i64>) -> Value {
    json!({"id": seq, "name": g.name})
}

/// The contacts whose phone is one of `numbers`, as a message's `contact.data` shows them
/// (without `reference`), by number. Numbers that are no contact's are absent.
pub(super) async fn by_number(
    app: &App,
    p: &Principal,
    numbers: impl Iterator<Item = &str>,
) -> Result<HashMap<String, Value>, Error> {
    let mut numbers: Vec<&str> = numbers.collect();
    numbers.sort_unstable();
    numbers.dedup();
    let mut found = Vec::new();
    for number in numbers {
        let q = ContactQuery { phone: Some(number.to_owned()), limit: Some(1), ..ContactQuery::default() };
        // A sender that is no phone number (an alphanumeric one) is nobody's.
        if let Ok((contacts, _)) = app.contacts(p, q).await
            && let Some(c) = contacts.into_iter().next()
        {
            found.push((number.to_owned(), c.contact));
        }
    }
    let ids = seqs(app, p, AliasKind::Contact, found.iter().map(|(_, c)| c.id.clone()).collect()).await?;
    Ok(found
        .into_iter()
        .map(|(number, c)| {
            let mut view = contact_view(&c, ids.get(&c.id));
            if let Some(fields) = view.as_object_mut() {
                fields.remove("reference");
            }
            (number, view)
        })
        .collect())
}

/// The native id of the account's object of `kind` with this integer id.
async fn resolve(app: &App, p: &Principal, seq: i64, kind: AliasKind, what: &str) -> Result<String, Error> {
    match app.alias_by_seq(p, seq).await? {
        Some((k, id)) if k == kind => Ok(id),
        _ => Err(Error::not_found(what)),
    }
}

/// `GET /api/v1/contact/{id}`.
pub(super) async fn one(State(app): State<App>, Path(id): Path<String>, req: Request) -> Response {
    respond(try_one(&app, &id, req).await)
}

async fn try_one(app: &App, id: &str, req: Request) -> Result<Value, Error> {
    let p = principal(app, &req.into_parts().0).await?;
    let seq = super::path_id(id, CONTACT)?;
    let contact = app.contact(&p, &resolve(app, &p, seq, AliasKind::Contact, CONTACT).await?).await?.contact;
    Ok(contact_view(&contact, Some(&seq)))
}

/// `POST /api/v1/contact/`: `first_name`, `last_name`, `main_phone` (required), `reference`,
/// `contact_group_id`.
pub(super) async fn create(State(app): State<App>, req: Request) -> Response {
    respond(try_create(&app, req).await)
}

async fn try_create(app: &App, req: Request) -> Result<Value, Error> {
    let (p, _, body) = authenticated(app, req).await?;
    let first_name = required(&body, "first_name")?;
    let last_name = required(&body, "last_name")?;
    let phone = required(&body, "main_phone")?;
    let reference = body.text("reference").map_err(Error::invalid)?.map(str::to_owned);
    let group_ids = match integer(&body, "contact_group_id")? {
        Some(seq) => vec![resolve(app, &p, seq, AliasKind::Group, GROUP).await?],
        None => Vec::new(),
    };
    let input = ContactInput {
        phone,
        first_name: Some(first_name),
        last_name: Some(last_name),
        reference,
        group_ids,
        ..ContactInput::default()
    };
    let contact = app.create_contact(&p, input).await?.contact;
    let seq = app.alias(&p, AliasKind::Contact, &contact.id).await?.seq;
    Ok(contact_view(&contact, Some(&seq)))
}

/// `GET /api/v1/contact/?page=N`.
pub(super) async fn list(State(app): State<App>, req: Request) -> Response {
    reply(try_list(&app, req).await)
}

async fn try_list(app: &App, req: Request) -> Result<Value, Error> {
    let (p, parts, page) = listing(app, req).await?;
    let contacts = first(page.end(), |cursor, limit| {
        app.contacts(&p, ContactQuery { cursor, limit: Some(limit), ..ContactQuery::default() })
    })
    .await?;
    let contacts = page.slice(contacts);
    let ids = seqs(app, &p, AliasKind::Contact, contacts.iter().map(|c| c.contact.id.clone()).collect()).await?;
    let data: Vec<Value> = contacts.iter().map(|c| contact_view(&c.contact, ids.get(&c.contact.id))).collect();
    let total = app.count(&p, Counted::Contacts).await?;
    Ok(json!({"data": data, "meta": page.meta(&parts, "/api/v1/contact", data.len(), total), "result": "ok"}))
}

/// `GET /api/v1/contact_group/?page=N`.
pub(super) async fn groups(State(app): State<App>, req: Request) -> Response {
    reply(try_groups(&app, req).await)
}

async fn try_groups(app: &App, req: Request) -> Result<Value, Error> {
    let (p, parts, page) = listing(app, req).await?;
    let groups = first(page.end(), |cursor, limit| app.groups(&p, None, cursor, Some(limit))).await?;
    let groups = page.slice(groups);
    let ids = seqs(app, &p, AliasKind::Group, groups.iter().map(|g| g.id.clone()).collect()).await?;
    let data: Vec<Value> = groups.iter().map(|g| group_view(g, ids.get(&g.id))).collect();
    let total = app.count(&p, Counted::Groups).await?;
    Ok(json!({"data": data, "meta": page.meta(&parts, "/api/v1/contact_group", data.len(), total), "result": "ok"}))
}

/// `GET /api/v1/contact_group/{id}`.
pub(super) async fn group(State(app): State<App>, Path(id): Path<String>, req: Request) -> Response {
    respond(try_group(&app, &id, req).await)
}

async fn try_group(app: &App, id: &str, req: Request) -> Result<Value, Error> {
    let p = principal(app, &req.into_parts().0).await?;
    let seq = super::path_id(id, GROUP)?;
    let group = app.group(&p, &resolve(app, &p, seq, AliasKind::Group, GROUP).await?).await?;
    Ok(group_view(&group, Some(&seq)))
}

/// `POST /api/v1/contact_group/`: name.
pub(super) async fn create_group(State(app): State<App>, req: Request) -> Response {
    respond(try_create_group(&app, req).await)
}

async fn try_create_group(app: &App, req: Request) -> Result<Value, Error> {
    let (p, _, body) = authenticated(app, req).await?;
    let group = app.create_group(&p, &required(&body, "name")?, Vec::new()).await?;
    let seq = app.alias(&p, AliasKind::Group, &group.id).await?.seq;
    Ok(group_view(&group, Some(&seq)))
}
