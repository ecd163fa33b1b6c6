//! `/v1/campaigns`: named groups of broadcasts with an optional date window. Every account
//! has a default campaign, which broadcasts without `campaign_id` join; deleting a campaign
//! disables it.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use textbird_app::{App, Campaign, CampaignChange, CampaignInput};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::inbound::PageParams;
use super::{Page, opt_time, time};
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, JsonBody, Query};

pub(super) fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(create_campaign, list_campaigns)).routes(routes!(
        get_campaign,
        update_campaign,
        delete_campaign
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CampaignBody {
    name: String,
    /// RFC 3339, or a date (`YYYY-MM-DD`, from the start of that day, UTC).
    start_date: Option<String>,
    /// RFC 3339, or a date (`YYYY-MM-DD`, until the end of that day, UTC).
    end_date: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CampaignPatch {
    name: Option<String>,
    start_date: Option<String>,
    end_date: Option<String>,
    enabled: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct CampaignDto {
    id: String,
    name: String,
    start_date: Option<String>,
    end_date: Option<String>,
    /// A disabled campaign takes no new broadcast.
    enabled: bool,
    /// The campaign broadcasts without `campaign_id` join.
    is_default: bool,
    created_at: String,
    updated_at: String,
}

fn dto(c: Campaign) -> CampaignDto {
    CampaignDto {
        id: c.id,
        name: c.name,
        start_date: opt_time(c.start_date),
        end_date: opt_time(c.end_date),
        enabled: c.enabled,
        is_default: c.is_default,
        created_at: time(c.created_at),
        updated_at: time(c.updated_at),
    }
}

#[utoipa::path(post, path = "/v1/campaigns", tag = "broadcasts", request_body = CampaignBody,
    responses((status = 201, body = CampaignDto), (status = 422, body = Problem)))]
async fn create_campaign(
    State(app): State<App>,
    Auth(p): Auth,
    body: JsonBody<CampaignBody>,
) -> Result<(StatusCode, Json<CampaignDto>), ApiError> {
    let b = body.value;
    let input = CampaignInput { name: b.name, start_date: b.start_date, end_date: b.end_date };
    Ok((StatusCode::CREATED, Json(dto(app.create_campaign(&p, input).await?))))
}

/// Campaigns, newest first (the default one included).
#[utoipa::path(get, path = "/v1/campaigns", tag = "broadcasts", params(PageParams),
    responses((status = 200, body = Page<CampaignDto>)))]
async fn list_campaigns(
    State(app): State<App>,
    Auth(p): Auth,
    Query(q): Query<PageParams>,
) -> Result<Json<Page<CampaignDto>>, ApiError> {
    let (items, next_cursor) = app.campaigns(&p, q.cursor, q.limit).await?;
    Ok(Json(Page { data: items.into_iter().map(dto).collect(), next_cursor }))
}

#[utoipa::path(get, path = "/v1/campaigns/{id}", tag = "broadcasts", params(("id" = String, Path)),
    responses((status = 200, body = CampaignDto), (status = 404, body = Problem)))]
async fn get_campaign(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<CampaignDto>, ApiError> {
    Ok(Json(dto(app.campaign(&p, &id).await?)))
}

#[utoipa::path(patch, path = "/v1/campaigns/{id}", tag = "broadcasts", params(("id" = String, Path)),
    request_body = CampaignPatch,
    responses((status = 200, body = CampaignDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_campaign(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    body: JsonBody<CampaignPatch>,
) -> Result<Json<CampaignDto>, ApiError> {
    let b = body.value;
    let change = CampaignChange { name: b.name, start_date: b.start_date, end_date: b.end_date, enabled: b.enabled };
    Ok(Json(dto(app.update_campaign(&p, &id, change).await?)))
}

/// Disables a campaign: it takes no new broadcast; its broadcasts go on.
#[utoipa::path(delete, path = "/v1/campaigns/{id}", tag = "broadcasts", params(("id" = String, Path)),
    responses((status = 200, body = CampaignDto), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn delete_campaign(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<CampaignDto>, ApiError> {
    Ok(Json(dto(app.delete_campaign(&p, &id).await?)))
}
