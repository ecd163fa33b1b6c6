//! `/v1/groups`: contact groups, their custom fields and their members.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use textbird_app::{App, ContactGroup, FieldDef, FieldType, GroupChange};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::contacts::{ContactDto, contact_dto};
use super::{AddedDto, NamedPageParams};
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, JsonBody, Query};
use crate::routes::inbound::PageParams;
use crate::routes::{Page, time};

pub(super) fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(create_group, list_groups))
        .routes(routes!(get_group, update_group, delete_group))
        .routes(routes!(add_contacts, list_group_contacts))
        .routes(routes!(remove_contact))
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub(crate) enum FieldKind {
    String,
    Number,
    /// `YYYY-MM-DD`.
    Date,
    /// `"true"` or `"false"`.
    Boolean,
}

/// A custom field the group's members carry (values are always JSON strings).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FieldDto {
    /// `^[a-z][a-z0-9_]{0,31}$`, not a template token (`first_name`, `last_name`, `email`,
    /// `url`, `custom`, `custom1`..`custom4`, `phone`).
    name: String,
    #[serde(rename = "type")]
    kind: FieldKind,
    /// Every member must have a non-empty value.
    #[serde(default)]
    required: bool,
}

fn field_def(f: FieldDto) -> FieldDef {
    let kind = match f.kind {
        FieldKind::String => FieldType::String,
        FieldKind::Number => FieldType::Number,
        FieldKind::Date => FieldType::Date,
        FieldKind::Boolean => FieldType::Boolean,
    };
    FieldDef { name: f.name, kind, required: f.required }
}

fn field_dto(f: FieldDef) -> FieldDto {
    let kind = match f.kind {
        FieldType::String => FieldKind::String,
        FieldType::Number => FieldKind::Number,
        FieldType::Date => FieldKind::Date,
        FieldType::Boolean => FieldKind::Boolean,
    };
    FieldDto { name: f.name, kind, required: f.required }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct GroupDto {
    id: String,
    name: String,
    fields: Vec<FieldDto>,
    created_at: String,
    updated_at: String,
}

fn group_dto(g: ContactGroup) -> GroupDto {
    GroupDto {
        id: g.id,
        name: g.name,
        fields: g.fields.into_iter().map(field_dto).collect(),
        created_at: time(g.created_at),
        updated_at: time(g.updated_at),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateBody {
    name: String,
    fields: Option<Vec<FieldDto>>,
}

#[utoipa::path(post, path = "/v1/groups", tag = "contacts", request_body = CreateBody,
    responses((status = 201, body = GroupDto), (status = 422, body = Problem)))]
async fn create_group(
    State(app): State<App>,
    Auth(p): Auth,
    body: JsonBody<CreateBody>,
) -> Result<(StatusCode, Json<GroupDto>), ApiError> {
    let b = body.value;
    let fields = b.fields.unwrap_or_default().into_iter().map(field_def).collect();
    Ok((StatusCode::CREATED, Json(group_dto(app.create_group(&p, &b.name, fields).await?))))
}

/// Groups, oldest first.
#[utoipa::path(get, path = "/v1/groups", tag = "contacts", params(NamedPageParams),
    responses((status = 200, body = Page<GroupDto>), (status = 422, body = Problem)))]
async fn list_groups(
    State(app): State<App>,
    Auth(p): Auth,
    Query(q): Query<NamedPageParams>,
) -> Result<Json<Page<GroupDto>>, ApiError> {
    let (items, next_cursor) = app.groups(&p, q.name, q.cursor, q.limit).await?;
    Ok(Json(Page { data: items.into_iter().map(group_dto).collect(), next_cursor }))
}

#[utoipa::path(get, path = "/v1/groups/{id}", tag = "contacts", params(("id" = String, Path)),
    responses((status = 200, body = GroupDto), (status = 404, body = Problem)))]
async fn get_group(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>) -> Result<Json<GroupDto>, ApiError> {
    Ok(Json(group_dto(app.group(&p, &id).await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateBody {
    name: Option<String>,
    /// Replaces the definitions; refused (422) when a member's values would not fit them.
    fields: Option<Vec<FieldDto>>,
}

#[utoipa::path(patch, path = "/v1/groups/{id}", tag = "contacts", params(("id" = String, Path)), request_body = UpdateBody,
    responses((status = 200, body = GroupDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_group(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    body: JsonBody<UpdateBody>,
) -> Result<Json<GroupDto>, ApiError> {
    let b = body.value;
    let change = GroupChange { name: b.name, fields: b.fields.map(|f| f.into_iter().map(field_def).collect()) };
    Ok(Json(group_dto(app.update_group(&p, &id, change).await?)))
}

/// Deletes the group; its contacts stay.
#[utoipa::path(delete, path = "/v1/groups/{id}", tag = "contacts", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_group(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    app.delete_group(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContactIdsBody {
    /// 1 to 1000 of the account's contacts.
    contact_ids: Vec<String>,
}

/// Adds contacts to the group; each one's fields must fit this group's and its other groups'.
#[utoipa::path(post, path = "/v1/groups/{id}/contacts", tag = "contacts", params(("id" = String, Path)),
    request_body = ContactIdsBody,
    responses((status = 200, body = AddedDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_contacts(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    body: JsonBody<ContactIdsBody>,
) -> Result<Json<AddedDto>, ApiError> {
    let added = app.add_to_group(&p, &id, &body.value.contact_ids).await?;
    Ok(Json(AddedDto { added }))
}

/// The group's contacts, oldest first.
#[utoipa::path(get, path = "/v1/groups/{id}/contacts", tag = "contacts", params(("id" = String, Path), PageParams),
    responses((status = 200, body = Page<ContactDto>), (status = 404, body = Problem)))]
async fn list_group_contacts(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Query(q): Query<PageParams>,
) -> Result<Json<Page<ContactDto>>, ApiError> {
    let (items, next_cursor) = app.group_contacts(&p, &id, q.cursor, q.limit).await?;
    Ok(Json(Page { data: items.into_iter().map(contact_dto).collect(), next_cursor }))
}

/// Takes a contact out of the group (the contact stays).
#[utoipa::path(delete, path = "/v1/groups/{id}/contacts/{contact_id}", tag = "contacts",
    params(("id" = String, Path), ("contact_id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn remove_contact(
    State(app): State<App>,
    Auth(p): Auth,
    Path((id, contact_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    app.remove_from_group(&p, &id, &contact_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
