//! 000's contact lists (native contact groups) and their contacts, under `/api/v3/contacts`.
//!
//! A contact's fields are written as 000's tags: `PHONE`, `FIRST_NAME`, `LAST_NAME`, `EMAIL`,
//! and any field its group defines in capitals (`COMPANY` for the group field `company`);
//! tags are read in any case. A number is one contact per account, which may be in several
//! lists: storing a number that is already a contact (of another list) adds that contact to
//! the list, and deleting a contact that is in other lists too only takes it out of this one.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, patch, post};
use serde_json::{Map, Value, json};
use textbird_app::{
    AliasKind, App, AppError, ContactChange, ContactDetails, ContactGroup, ContactInput, ContactQuery, GroupChange,
    Principal,
};

use super::paginate::{PageRequest, WALK_PAGE, walk};
use super::sms::uids;
use super::{Call, Error, international, laravel_time, only, resolve, respond, text_value, uid};
use crate::dialects::digits;

pub(super) fn router() -> Router<App> {
    Router::new()
        .route("/api/v3/contacts", only(post(create_group).get(list_groups)))
        .route("/api/v3/contacts/{group_id}", only(patch(update_group).delete(delete_group)))
        .route("/api/v3/contacts/{group_id}/show", only(post(show_group).get(show_group)))
        .route("/api/v3/contacts/{group_id}/store", only(post(store)))
        .route("/api/v3/contacts/{group_id}/search/{uid}", only(post(search).get(search)))
        .route("/api/v3/contacts/{group_id}/update/{uid}", only(patch(update)))
        .route("/api/v3/contacts/{group_id}/delete/{uid}", only(delete(remove)))
        .route("/api/v3/contacts/{group_id}/all", only(post(all).get(all)))
}

/// Contact fields kept in the contact itself rather than among its group fields.
const OWN_FIELDS: [&str; 4] = ["phone", "first_name", "last_name", "email"];

fn group_dto(g: &ContactGroup, uid: &str) -> Value {
    let fields: Vec<Value> = g
        .fields
        .iter()
        .map(|f| json!({"tag": f.name.to_ascii_uppercase(), "type": f.kind, "required": f.required}))
        .collect();
    json!({
        "uid": uid,
        "name": g.name,
        "fields": fields,
        "created_at": laravel_time(g.created_at),
        "updated_at": laravel_time(g.updated_at),
    })
}

fn contact_dto(c: &ContactDetails, uid: &str, group_uid: &str) -> Value {
    let c = &c.contact;
    let mut fields = Map::new();
    fields.insert("PHONE".into(), json!(digits(&c.phone)));
    for (tag, value) in [("FIRST_NAME", &c.first_name), ("LAST_NAME", &c.last_name), ("EMAIL", &c.email)] {
        if let Some(v) = value {
            fields.insert(tag.into(), json!(v));
        }
    }
    for (name, value) in &c.fields {
        fields.insert(name.to_ascii_uppercase(), json!(value));
    }
    json!({
        "uid": uid,
        "group_id": group_uid,
        "phone": digits(&c.phone),
        "first_name": c.first_name,
        "last_name": c.last_name,
        "email": c.email,
        "fields": fields,
        "created_at": laravel_time(c.created_at),
        "updated_at": laravel_time(c.updated_at),
    })
}

async fn group_of(app: &App, p: &Principal, group_uid: &str) -> Result<ContactGroup, Error> {
    let id = resolve(app, p, AliasKind::Group, group_uid, "contact list").await?;
    Ok(app.group(p, &id).await?)
}

/// `POST /api/v3/contacts`: a new contact list named `name`.
async fn create_group(State(app): State<App>, req: Request) -> Response {
    respond(
        async {
            let call = Call::read(&app, req).await?;
            let g = app.create_group(&call.p, &call.required("name")?, Vec::new()).await?;
            Ok(group_dto(&g, &uid(&app, &call.p, AliasKind::Group, &g.id).await?))
        }
        .await,
    )
}

/// `GET /api/v3/contacts`: the account's contact lists, paginated.
async fn list_groups(State(app): State<App>, req: Request) -> Response {
    respond(
        async {
            let call = Call::read(&app, req).await?;
            let page = PageRequest::read(&call)?;
            let (app, p) = (&app, &call.p);
            let all = walk(move |cursor| app.groups(p, None, cursor, Some(WALK_PAGE))).await?;
            let shown = &all[page.range(all.len())];
            let ids: Vec<String> = shown.iter().map(|g| g.id.clone()).collect();
            let by_id = uids(app, p, AliasKind::Group, &ids).await?;
            let data: Vec<Value> =
                shown.iter().map(|g| group_dto(g, by_id.get(&g.id).map_or("", String::as_str))).collect();
            Ok(page.paginator(&data, all.len()))
        }
        .await,
    )
}

/// `POST /api/v3/contacts/{group_id}/show`: one contact list.
async fn show_group(State(app): State<App>, Path(group_uid): Path<String>, req: Request) -> Response {
    respond(
        async {
            let call = Call::read(&app, req).await?;
            let g = group_of(&app, &call.p, &group_uid).await?;
            Ok(group_dto(&g, group_uid.trim()))
        }
        .await,
    )
}

/// `PATCH /api/v3/contacts/{group_id}`: renames a contact list.
async fn update_group(State(app): State<App>, Path(group_uid): Path<String>, req: Request) -> Response {
    respond(
        async {
            let call = Call::read(&app, req).await?;
            let g = group_of(&app, &call.p, &group_uid).await?;
            let change = GroupChange { name: Some(call.required("name")?), fields: None };
            let g = app.update_group(&call.p, &g.id, change).await?;
            Ok(group_dto(&g, group_uid.trim()))
        }
        .await,
    )
}

/// `DELETE /api/v3/contacts/{group_id}`: deletes a contact list (its contacts stay); `data`
/// is the list as it was.
async fn delete_group(State(app): State<App>, Path(group_uid): Path<String>, req: Request) -> Response {
    respond(
        async {
            let call = Call::read(&app, req).await?;
            let g = group_of(&app, &call.p, &group_uid).await?;
            app.delete_group(&call.p, &g.id).await?;
            Ok(group_dto(&g, group_uid.trim()))
        }
        .await,
    )
}

/// The contact fields a request gives, by native name (lower case); `None` for a field given
/// as null or blank.
fn contact_fields(call: &Call) -> Result<BTreeMap<String, Option<String>>, Error> {
    let mut out = BTreeMap::new();
    for (tag, value) in &call.body.fields {
        out.insert(tag.to_ascii_lowercase(), text_value(tag, Some(value))?);
    }
    Ok(out)
}

/// `PHONE`, which a store and an update both require.
fn phone(fields: &BTreeMap<String, Option<String>>) -> Result<String, Error> {
    let phone = fields.get("phone").cloned().flatten().ok_or_else(|| Error::invalid("The PHONE field is required."))?;
    Ok(international(&phone))
}

/// `POST /api/v3/contacts/{group_id}/store`: a new contact in a list. A number that is
/// already a contact of the account (in another list) joins this one, with the fields given.
async fn store(State(app): State<App>, Path(group_uid): Path<String>, req: Request) -> Response {
    respond(
        async {
            let call = Call::read(&app, req).await?;
            let g = group_of(&app, &call.p, &group_uid).await?;
            let given = contact_fields(&call)?;
            let text = |name: &str| given.get(name).cloned().flatten();
            let input = ContactInput {
                phone: phone(&given)?,
                first_name: text("first_name"),
                last_name: text("last_name"),
                email: text("email"),
                reference: None,
                fields: given
                    .iter()
                    .filter(|(name, _)| !OWN_FIELDS.contains(&name.as_str()))
                    .filter_map(|(name, v)| v.clone().map(|v| (name.clone(), v)))
                    .collect(),
                group_ids: vec![g.id.clone()],
            };
            let phone = input.phone.clone();
            let c = match app.create_contact(&call.p, input).await {
                Err(AppError::Conflict(_)) => join(&app, &call.p, &g.id, &phone, given).await?,
                other => other?,
            };
            Ok(contact_dto(&c, &uid(&app, &call.p, AliasKind::Contact, &c.contact.id).await?, group_uid.trim()))
        }
        .await,
    )
}

/// The account's contact with `phone` joins the list `group_id` and takes the fields given.
async fn join(
    app: &App,
    p: &Principal,
    group_id: &str,
    phone: &str,
    given: BTreeMap<String, Option<String>>,
) -> Result<ContactDetails, Error> {
    let taken = || Error(StatusCode::CONFLICT, "This PHONE is already in this contact list.".into());
    let query = ContactQuery { phone: Some(phone.to_owned()), ..ContactQuery::default() };
    let existing = app.contacts(p, query).await?.0.into_iter().next().ok_or_else(taken)?;
    if existing.group_ids.iter().any(|g| g == group_id) {
        return Err(taken());
    }
    let id = existing.contact.id;
    app.add_to_group(p, group_id, std::slice::from_ref(&id)).await?;
    match app.update_contact(p, &id, change(given, &existing.contact.fields)).await {
        Ok(c) => Ok(c),
        Err(e) => {
            // Joined with fields it could not take: leave as it was.
            app.remove_from_group(p, group_id, &id).await?;
            Err(e.into())
        }
    }
}

/// The change `given` makes to a contact whose group fields are `fields`: a tag given empty
/// clears its value, tags not given keep theirs.
fn change(mut given: BTreeMap<String, Option<String>>, fields: &BTreeMap<String, String>) -> ContactChange {
    // Native changes clear a value with an empty string.
    let mut own = |name: &str| given.remove(name).map(Option::unwrap_or_default);
    let (first_name, last_name, email) = (own("first_name"), own("last_name"), own("email"));
    let phone = given.remove("phone").flatten().map(|n| international(&n));
    let fields = (!given.is_empty()).then(|| {
        let mut fields = fields.clone();
        for (name, value) in given {
            match value {
                Some(v) => fields.insert(name, v),
                None => fields.remove(&name),
            };
        }
        fields
    });
    ContactChange { phone, first_name, last_name, email, reference: None, fields }
}

/// One contact of a list, from their uids; a contact not in the list is a 404.
async fn member(app: &App, p: &Principal, group_uid: &str, contact_uid: &str) -> Result<ContactDetails, Error> {
    let g = group_of(app, p, group_uid).await?;
    let id = resolve(app, p, AliasKind::Contact, contact_uid, "contact").await?;
    let c = app.contact(p, &id).await?;
    if !c.group_ids.contains(&g.id) {
        return Err(Error::not_found(format!("No contact with uid {:?} in this contact list.", contact_uid.trim())));
    }
    Ok(c)
}

/// `POST /api/v3/contacts/{group_id}/search/{uid}`: one contact of a list.
async fn search(
    State(app): State<App>,
    Path((group_uid, contact_uid)): Path<(String, String)>,
    req: Request,
) -> Response {
    respond(
        async {
            let call = Call::read(&app, req).await?;
            let c = member(&app, &call.p, &group_uid, &contact_uid).await?;
            Ok(contact_dto(&c, contact_uid.trim(), group_uid.trim()))
        }
        .await,
    )
}

/// `PATCH /api/v3/contacts/{group_id}/update/{uid}`: changes the fields given (`PHONE` is
/// required); a field given empty is cleared, the others stay.
async fn update(
    State(app): State<App>,
    Path((group_uid, contact_uid)): Path<(String, String)>,
    req: Request,
) -> Response {
    respond(
        async {
            let call = Call::read(&app, req).await?;
            let c = member(&app, &call.p, &group_uid, &contact_uid).await?;
            let given = contact_fields(&call)?;
            phone(&given)?;
            let change = change(given, &c.contact.fields);
            let c = app.update_contact(&call.p, &c.contact.id, change).await?;
            Ok(contact_dto(&c, contact_uid.trim(), group_uid.trim()))
        }
        .await,
    )
}

/// `DELETE /api/v3/contacts/{group_id}/delete/{uid}`: deletes a contact, or only takes it out
/// of the list when it is in other lists too; `data` is the contact as it was.
async fn remove(
    State(app): State<App>,
    Path((group_uid, contact_uid)): Path<(String, String)>,
    req: Request,
) -> Response {
    respond(
        async {
            let call = Call::read(&app, req).await?;
            let c = member(&app, &call.p, &group_uid, &contact_uid).await?;
            if c.group_ids.len() > 1 {
                let list = resolve(&app, &call.p, AliasKind::Group, &group_uid, "contact list").await?;
                app.remove_from_group(&call.p, &list, &c.contact.id).await?;
            } else {
                app.delete_contact(&call.p, &c.contact.id).await?;
            }
            Ok(contact_dto(&c, contact_uid.trim(), group_uid.trim()))
        }
        .await,
    )
}

/// `POST /api/v3/contacts/{group_id}/all`: a list's contacts, paginated.
async fn all(State(app): State<App>, Path(group_uid): Path<String>, req: Request) -> Response {
    respond(
        async {
            let call = Call::read(&app, req).await?;
            let page = PageRequest::read(&call)?;
            let (app, p) = (&app, &call.p);
            let g = group_of(app, p, &group_uid).await?;
            let gid = &g.id;
            let members = walk(move |cursor| app.group_contacts(p, gid, cursor, Some(WALK_PAGE))).await?;
            let shown = &members[page.range(members.len())];
            let ids: Vec<String> = shown.iter().map(|c| c.contact.id.clone()).collect();
            let by_id = uids(app, p, AliasKind::Contact, &ids).await?;
            let data: Vec<Value> = shown
                .iter()
                .map(|c| contact_dto(c, by_id.get(&c.contact.id).map_or("", String::as_str), group_uid.trim()))
                .collect();
            Ok(page.paginator(&data, members.len()))
        }
        .await,
    )
}
