//! `/v1/lists` (recipient lists) and `/v1/unsubscribe-lists`: the same operations on both
//! kinds (create, get, list, rename or disable, delete, add numbers, import a file, preview a
//! file, page through members, remove one, export as CSV).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use textbird_app::{
    App, FilePreview, ImportCounts, ImportRequest, List, ListFilter, ListKind, Mapping, Member, Principal,
};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::inbound::PageParams;
use super::{Page, time};
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, JsonBody, Query, Upload};
use export::export_csv;

mod export;

/// Routes that take JSON.
pub(super) fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(recipients::create, recipients::list_all))
        .routes(routes!(recipients::get, recipients::update, recipients::delete))
        .routes(routes!(recipients::add_numbers))
        .routes(routes!(recipients::members))
        .routes(routes!(recipients::remove_member))
        .routes(routes!(recipients::export))
        .routes(routes!(unsubscribe::create, unsubscribe::list_all))
        .routes(routes!(unsubscribe::get, unsubscribe::update, unsubscribe::delete))
        .routes(routes!(unsubscribe::add_numbers))
        .routes(routes!(unsubscribe::members))
        .routes(routes!(unsubscribe::remove_member))
        .routes(routes!(unsubscribe::export))
}

/// Routes that take files: no body limit but `[imports] max_file_bytes`, and no 30 s timeout.
pub(crate) fn uploads() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(recipients::import))
        .routes(routes!(unsubscribe::import))
        .routes(routes!(preview))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ListDto {
    id: String,
    name: String,
    enabled: bool,
    /// Numbers in the list.
    count: i64,
    created_at: String,
    updated_at: String,
}

fn list_dto(l: List) -> ListDto {
    ListDto {
        id: l.id,
        name: l.name,
        enabled: l.enabled,
        count: l.count,
        created_at: time(l.created_at),
        updated_at: time(l.updated_at),
    }
}

/// What an import or an add did.
#[derive(Serialize, ToSchema)]
pub(crate) struct CountsDto {
    /// New numbers in the list.
    inserted: u64,
    /// Numbers already in the list, or repeated in the request or file.
    duplicate: u64,
    /// Values that are not phone numbers.
    wrong: u64,
    /// Rows (or numbers) read, a header row not counted.
    total: u64,
    /// The list's id.
    list_id: String,
    /// Numbers in the list now.
    count: i64,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct MemberBody {
    phone: String,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    url: Option<String>,
    custom: Option<String>,
    custom1: Option<String>,
    custom2: Option<String>,
    custom3: Option<String>,
    custom4: Option<String>,
}

/// A number alone, or a number with its data.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum NumberOrMember {
    Number(String),
    Member(Box<MemberBody>),
}

impl From<NumberOrMember> for Member {
    fn from(n: NumberOrMember) -> Self {
        let m = match n {
            NumberOrMember::Number(phone) => MemberBody { phone, ..MemberBody::default() },
            NumberOrMember::Member(m) => *m,
        };
        Member {
            phone: m.phone,
            first_name: m.first_name,
            last_name: m.last_name,
            email: m.email,
            url: m.url,
            custom: m.custom,
            customs: [m.custom1, m.custom2, m.custom3, m.custom4],
            created_at: 0,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateListBody {
    name: String,
    /// Numbers to start with (`"+316..."` or `{"phone":..., "first_name":...}`).
    numbers: Option<Vec<NumberOrMember>>,
}

/// The new list; with `numbers`, also what adding them did.
#[derive(Serialize, ToSchema)]
pub(crate) struct CreatedListDto {
    #[serde(flatten)]
    list: ListDto,
    #[serde(skip_serializing_if = "Option::is_none")]
    inserted: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duplicate: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wrong: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total: Option<u64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateListBody {
    name: Option<String>,
    enabled: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NumbersBody {
    numbers: Vec<NumberOrMember>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListParams {
    cursor: Option<String>,
    /// 1 to 1000, default 50.
    limit: Option<u32>,
    /// Lists whose name contains this, ignoring case.
    name: Option<String>,
    /// Only enabled (`true`) or disabled (`false`) lists.
    enabled: Option<bool>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImportParams {
    /// Cut over-long fields instead of refusing the file (also a form part).
    truncate: Option<bool>,
    /// Replace the list's members with the file's (also a form part).
    replace: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct MemberDto {
    phone: String,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    url: Option<String>,
    custom: Option<String>,
    custom1: Option<String>,
    custom2: Option<String>,
    custom3: Option<String>,
    custom4: Option<String>,
    created_at: String,
}

fn member_dto(m: Member) -> MemberDto {
    let [custom1, custom2, custom3, custom4] = m.customs;
    MemberDto {
        phone: m.phone,
        first_name: m.first_name,
        last_name: m.last_name,
        email: m.email,
        url: m.url,
        custom: m.custom,
        custom1,
        custom2,
        custom3,
        custom4,
        created_at: time(m.created_at),
    }
}

/// A file's first rows, and per column whether every value is a number and whether any is
/// longer than each limit (names 50, email and url 255, anything 5000).
#[derive(Serialize, ToSchema)]
pub(crate) struct PreviewDto {
    data: Vec<Vec<String>>,
    total_rows: usize,
    is_all_num: Vec<bool>,
    is_exceed_length_50: Vec<bool>,
    is_exceed_length_255: Vec<bool>,
    is_exceed_length_5000: Vec<bool>,
}

fn preview_dto(p: FilePreview) -> PreviewDto {
    PreviewDto {
        data: p.rows,
        total_rows: p.total_rows,
        is_all_num: p.all_numeric,
        is_exceed_length_50: p.exceeds_50,
        is_exceed_length_255: p.exceeds_255,
        is_exceed_length_5000: p.exceeds_5000,
    }
}

async fn counts_dto(
    app: &App,
    p: &Principal,
    kind: ListKind,
    id: &str,
    c: ImportCounts,
) -> Result<CountsDto, ApiError> {
    let list = app.list(p, kind, id).await?;
    Ok(CountsDto {
        inserted: c.inserted,
        duplicate: c.duplicate,
        wrong: c.wrong,
        total: c.total,
        list_id: list.id,
        count: list.count,
    })
}

async fn create_list(app: &App, p: &Principal, kind: ListKind, b: CreateListBody) -> Result<Response, ApiError> {
    let list = app.create_list(p, kind, &b.name).await?;
    let mut created =
        CreatedListDto { list: list_dto(list), inserted: None, duplicate: None, wrong: None, total: None };
    if let Some(numbers) = b.numbers {
        match app.add_members(p, kind, &created.list.id, numbers.into_iter().map(Into::into).collect()).await {
            Ok(c) => {
                created.list.count = c.inserted as i64;
                (created.inserted, created.duplicate, created.wrong, created.total) =
                    (Some(c.inserted), Some(c.duplicate), Some(c.wrong), Some(c.total));
            }
            Err(e) => {
                // Nothing is kept from a refused request.
                app.delete_list(p, kind, &created.list.id).await.ok();
                return Err(e.into());
            }
        }
    }
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn list_lists(app: &App, p: &Principal, kind: ListKind, q: ListParams) -> Result<Json<Page<ListDto>>, ApiError> {
    let filter = ListFilter { name: q.name, enabled: q.enabled };
    let (items, next_cursor) = app.lists(p, kind, filter, q.cursor, q.limit).await?;
    Ok(Json(Page { data: items.into_iter().map(list_dto).collect(), next_cursor }))
}

async fn import_file(
    app: &App,
    p: &Principal,
    kind: ListKind,
    id: &str,
    q: ImportParams,
    mut upload: Upload,
) -> Result<Json<CountsDto>, Response> {
    let file = upload.take_file().map_err(IntoResponse::into_response)?;
    let mapping = match upload.text("mapping") {
        Some(m) => Mapping::parse(m)
            .map_err(|e| Problem::validation(vec![textbird_app::FieldError::new("mapping", e)]).into_response())?,
        None => Mapping::phone_only(),
    };
    let truncate = upload.flag("truncate", q.truncate).map_err(IntoResponse::into_response)?;
    let replace = upload.flag("replace", q.replace).map_err(IntoResponse::into_response)?;
    let request = ImportRequest { mapping, truncate, replace };
    // The temporary file lives until the import is done; the import runs to its end (or takes
    // back what it wrote) even if the client goes away.
    let (app2, p2, id2) = (app.clone(), p.clone(), id.to_owned());
    let path = file.path().to_owned();
    let counts = tokio::spawn(async move {
        let r = app2.import_file(&p2, kind, &id2, path, request).await;
        drop(file);
        r
    })
    .await
    .map_err(|_| ApiError(textbird_app::AppError::Internal("import task".into())).into_response())?
    .map_err(|e| ApiError(e).into_response())?;
    counts_dto(app, p, kind, id, counts).await.map(Json).map_err(IntoResponse::into_response)
}

/// The same handlers for each kind of list, under its own paths and tag.
macro_rules! list_routes {
    ($module:ident, $kind:expr, $tag:literal, $base:literal, $one:literal, $numbers:literal, $import:literal,
     $members:literal, $member:literal, $export:literal) => {
        pub(super) mod $module {
            use super::*;

            /// Creates a list, optionally with numbers.
            #[utoipa::path(post, path = $base, tag = $tag, request_body = CreateListBody,
                responses((status = 201, body = CreatedListDto), (status = 422, body = Problem)))]
            pub(crate) async fn create(
                State(app): State<App>,
                Auth(p): Auth,
                body: JsonBody<CreateListBody>,
            ) -> Result<Response, ApiError> {
                create_list(&app, &p, $kind, body.value).await
            }

            #[utoipa::path(get, path = $base, tag = $tag, params(ListParams),
                responses((status = 200, body = Page<ListDto>)))]
            pub(crate) async fn list_all(
                State(app): State<App>,
                Auth(p): Auth,
                Query(q): Query<ListParams>,
            ) -> Result<Json<Page<ListDto>>, ApiError> {
                list_lists(&app, &p, $kind, q).await
            }

            #[utoipa::path(get, path = $one, tag = $tag, params(("id" = String, Path)),
                responses((status = 200, body = ListDto), (status = 404, body = Problem)))]
            pub(crate) async fn get(
                State(app): State<App>,
                Auth(p): Auth,
                Path(id): Path<String>,
            ) -> Result<Json<ListDto>, ApiError> {
                Ok(Json(list_dto(app.list(&p, $kind, &id).await?)))
            }

            /// Renames, disables (a disabled list is not sent to or consulted) or enables.
            #[utoipa::path(patch, path = $one, tag = $tag, params(("id" = String, Path)), request_body = UpdateListBody,
                responses((status = 200, body = ListDto), (status = 404, body = Problem)))]
            pub(crate) async fn update(
                State(app): State<App>,
                Auth(p): Auth,
                Path(id): Path<String>,
                body: JsonBody<UpdateListBody>,
            ) -> Result<Json<ListDto>, ApiError> {
                let b = body.value;
                Ok(Json(list_dto(app.update_list(&p, $kind, &id, b.name.as_deref(), b.enabled).await?)))
            }

            /// Deletes the list and its members.
            #[utoipa::path(delete, path = $one, tag = $tag, params(("id" = String, Path)),
                responses((status = 204), (status = 404, body = Problem)))]
            pub(crate) async fn delete(
                State(app): State<App>,
                Auth(p): Auth,
                Path(id): Path<String>,
            ) -> Result<StatusCode, ApiError> {
                app.delete_list(&p, $kind, &id).await?;
                Ok(StatusCode::NO_CONTENT)
            }

            /// Adds numbers (up to 10,000 a request).
            #[utoipa::path(post, path = $numbers, tag = $tag, params(("id" = String, Path)), request_body = NumbersBody,
                responses((status = 200, body = CountsDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
            pub(crate) async fn add_numbers(
                State(app): State<App>,
                Auth(p): Auth,
                Path(id): Path<String>,
                body: JsonBody<NumbersBody>,
            ) -> Result<Json<CountsDto>, ApiError> {
                let inputs = body.value.numbers.into_iter().map(Into::into).collect();
                let counts = app.add_members(&p, $kind, &id, inputs).await?;
                Ok(Json(counts_dto(&app, &p, $kind, &id, counts).await?))
            }

            /// Imports a CSV (any delimiter, quoted fields, BOM, UTF-8 or Latin-1), XLSX or XLS
            /// file as `multipart/form-data`: `file`, `mapping` (JSON, column number to field:
            /// `{"0":"phone_number","1":"first_name"}`; default: phone numbers in column 0),
            /// `truncate`, `replace`. All or nothing: a refused file leaves the list as it was.
            #[utoipa::path(post, path = $import, tag = $tag, params(("id" = String, Path), ImportParams),
                request_body(content_type = "multipart/form-data", description = "file, mapping, truncate, replace"),
                responses((status = 200, body = CountsDto), (status = 404, body = Problem), (status = 413, body = Problem),
                    (status = 422, body = Problem)))]
            pub(crate) async fn import(
                State(app): State<App>,
                Auth(p): Auth,
                Path(id): Path<String>,
                Query(q): Query<ImportParams>,
                upload: Upload,
            ) -> Result<Json<CountsDto>, Response> {
                import_file(&app, &p, $kind, &id, q, upload).await
            }

            /// Members by number.
            #[utoipa::path(get, path = $members, tag = $tag, params(("id" = String, Path), PageParams),
                responses((status = 200, body = Page<MemberDto>), (status = 404, body = Problem)))]
            pub(crate) async fn members(
                State(app): State<App>,
                Auth(p): Auth,
                Path(id): Path<String>,
                Query(q): Query<PageParams>,
            ) -> Result<Json<Page<MemberDto>>, ApiError> {
                let (items, next_cursor) = app.members(&p, $kind, &id, q.cursor, q.limit).await?;
                Ok(Json(Page { data: items.into_iter().map(member_dto).collect(), next_cursor }))
            }

            #[utoipa::path(delete, path = $member, tag = $tag, params(("id" = String, Path), ("phone" = String, Path)),
                responses((status = 204), (status = 404, body = Problem)))]
            pub(crate) async fn remove_member(
                State(app): State<App>,
                Auth(p): Auth,
                Path((id, phone)): Path<(String, String)>,
            ) -> Result<StatusCode, ApiError> {
                app.remove_member(&p, $kind, &id, &phone).await?;
                Ok(StatusCode::NO_CONTENT)
            }

            /// The members as CSV; cells that a spreadsheet would run as formulas are prefixed
            /// with `'`.
            #[utoipa::path(get, path = $export, tag = $tag, params(("id" = String, Path)),
                responses((status = 200, content_type = "text/csv", body = String), (status = 404, body = Problem)))]
            pub(crate) async fn export(
                State(app): State<App>,
                Auth(p): Auth,
                Path(id): Path<String>,
            ) -> Result<Response, ApiError> {
                let list = app.list(&p, $kind, &id).await?;
                Ok(export_csv(app, p, $kind, list.id, &list.name))
            }
        }
    };
}

list_routes!(
    recipients,
    ListKind::Recipients,
    "lists",
    "/v1/lists",
    "/v1/lists/{id}",
    "/v1/lists/{id}/numbers",
    "/v1/lists/{id}/import",
    "/v1/lists/{id}/members",
    "/v1/lists/{id}/members/{phone}",
    "/v1/lists/{id}/export"
);

list_routes!(
    unsubscribe,
    ListKind::Unsubscribe,
    "lists",
    "/v1/unsubscribe-lists",
    "/v1/unsubscribe-lists/{id}",
    "/v1/unsubscribe-lists/{id}/numbers",
    "/v1/unsubscribe-lists/{id}/import",
    "/v1/unsubscribe-lists/{id}/members",
    "/v1/unsubscribe-lists/{id}/members/{phone}",
    "/v1/unsubscribe-lists/{id}/export"
);

/// Reads a whole file (as an import would) and shows its first rows and, per column, whether
/// every value is a number and whether any is over each length limit. Nothing is stored.
#[utoipa::path(post, path = "/v1/lists/preview", tag = "lists",
    request_body(content_type = "multipart/form-data", description = "file"),
    responses((status = 200, body = PreviewDto), (status = 413, body = Problem), (status = 422, body = Problem)))]
async fn preview(State(app): State<App>, Auth(_p): Auth, mut upload: Upload) -> Result<Json<PreviewDto>, Response> {
    let file = upload.take_file().map_err(IntoResponse::into_response)?;
    let path = file.path().to_owned();
    let p = app.preview_file(path).await.map_err(|e| ApiError(e).into_response())?;
    drop(file);
    Ok(Json(preview_dto(p)))
}
