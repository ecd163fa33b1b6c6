//! `/v1/contacts`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use textbird_app::{App, ContactChange, ContactDetails, ContactInput, ContactQuery};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, Problem};
use crate::extract::{Auth, JsonBody, Query};
use crate::routes::{Page, time};

pub(super) fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(create_contact, list_contacts)).routes(routes!(
        get_contact,
        update_contact,
        delete_contact
    ))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ContactDto {
    id: String,
    /// E.164.
    phone: String,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    reference: Option<String>,
    /// Values of the fields its groups define.
    fields: BTreeMap<String, String>,
    group_ids: Vec<String>,
    created_at: String,
    updated_at: String,
}

pub(super) fn contact_dto(d: ContactDetails) -> ContactDto {
    let c = d.contact;
    ContactDto {
        id: c.id,
        phone: c.phone,
        first_name: c.first_name,
        last_name: c.last_name,
        email: c.email,
        reference: c.reference,
        fields: c.fields,
        group_ids: d.group_ids,
        created_at: time(c.created_at),
        updated_at: time(c.updated_at),
    }
}

/// A field value as JSON gives it: text, a number or a boolean (kept as text; a group's field
/// type decides what is valid).
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum FieldValue {
    Text(String),
    #[schema(value_type = f64)]
    Number(serde_json::Number),
    Bool(bool),
}

fn texts(fields: BTreeMap<String, FieldValue>) -> BTreeMap<String, String> {
    fields
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                FieldValue::Text(t) => t,
                FieldValue::Number(n) => n.to_string(),
                FieldValue::Bool(b) => b.to_string(),
            };
            (k, text)
        })
        .collect()
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateBody {
    /// E.164, or national in the account's country; one contact per phone.
    phone: String,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    reference: Option<String>,
    /// Values (text, numbers or booleans), checked against the fields of every group in
    /// `group_ids`.
    fields: Option<BTreeMap<String, FieldValue>>,
    group_ids: Option<Vec<String>>,
}

#[utoipa::path(post, path = "/v1/contacts", tag = "contacts", request_body = CreateBody,
    responses((status = 201, body = ContactDto), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn create_contact(
    State(app): State<App>,
    Auth(p): Auth,
    body: JsonBody<CreateBody>,
) -> Result<(StatusCode, Json<ContactDto>), ApiError> {
    let b = body.value;
    let input = ContactInput {
        phone: b.phone,
        first_name: b.first_name,
        last_name: b.last_name,
        email: b.email,
        reference: b.reference,
        fields: b.fields.map(texts).unwrap_or_default(),
        group_ids: b.group_ids.unwrap_or_default(),
    };
    Ok((StatusCode::CREATED, Json(contact_dto(app.create_contact(&p, input).await?))))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListParams {
    /// Case-insensitive substring of `first_name last_name`.
    name: Option<String>,
    /// The contact with this number (read like a contact's phone).
    phone: Option<String>,
    cursor: Option<String>,
    /// 1 to 1000, default 50.
    limit: Option<u32>,
}

/// Contacts, oldest first.
#[utoipa::path(get, path = "/v1/contacts", tag = "contacts", params(ListParams),
    responses((status = 200, body = Page<ContactDto>), (status = 422, body = Problem)))]
async fn list_contacts(
    State(app): State<App>,
    Auth(p): Auth,
    Query(q): Query<ListParams>,
) -> Result<Json<Page<ContactDto>>, ApiError> {
    let query = ContactQuery { name: q.name, phone: q.phone, cursor: q.cursor, limit: q.limit };
    let (items, next_cursor) = app.contacts(&p, query).await?;
    Ok(Json(Page { data: items.into_iter().map(contact_dto).collect(), next_cursor }))
}

#[utoipa::path(get, path = "/v1/contacts/{id}", tag = "contacts", params(("id" = String, Path)),
    responses((status = 200, body = ContactDto), (status = 404, body = Problem)))]
async fn get_contact(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<ContactDto>, ApiError> {
    Ok(Json(contact_dto(app.contact(&p, &id).await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateBody {
    phone: Option<String>,
    /// An empty string clears it (likewise `last_name`, `email`, `reference`).
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    reference: Option<String>,
    /// Replaces every field value.
    fields: Option<BTreeMap<String, FieldValue>>,
}

#[utoipa::path(patch, path = "/v1/contacts/{id}", tag = "contacts", params(("id" = String, Path)), request_body = UpdateBody,
    responses((status = 200, body = ContactDto), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn update_contact(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    body: JsonBody<UpdateBody>,
) -> Result<Json<ContactDto>, ApiError> {
    let b = body.value;
    let change = ContactChange {
        phone: b.phone,
        first_name: b.first_name,
        last_name: b.last_name,
        email: b.email,
        reference: b.reference,
        fields: b.fields.map(texts),
    };
    Ok(Json(contact_dto(app.update_contact(&p, &id, change).await?)))
}

/// Deletes the contact and takes it out of its groups.
#[utoipa::path(delete, path = "/v1/contacts/{id}", tag = "contacts", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_contact(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    app.delete_contact(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
