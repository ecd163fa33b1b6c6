//! `/v1/broadcasts`: one message to a whole audience. Estimate first (nothing is stored), then
//! create with the estimate's hash (a changed audience or price is 409 with the fresh
//! estimate); pause, resume and cancel (which refunds every message not yet sent); counters
//! and a report.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use textbird_app::{
    App, BroadcastAudience, BroadcastQuery, BroadcastRequest, BroadcastView, Counters, Created, Estimate, FrequencyCap,
    NextSegment, QuietHours, SegmentView, Segments,
};
use textbird_types::Money;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Page, opt_time, time};
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, JsonBody, Query};

pub(super) fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(create_broadcast, list_broadcasts))
        .routes(routes!(estimate_broadcast))
        .routes(routes!(get_broadcast))
        .routes(routes!(pause_broadcast))
        .routes(routes!(resume_broadcast))
        .routes(routes!(cancel_broadcast))
        .routes(routes!(broadcast_report))
        .routes(routes!(add_segment))
}

#[derive(Deserialize, ToSchema, Default)]
pub(crate) struct AudienceBody {
    #[serde(default)]
    list_ids: Vec<String>,
    #[serde(default)]
    group_ids: Vec<String>,
    #[serde(default)]
    contact_ids: Vec<String>,
    /// Phone numbers, E.164 or national in the account's country.
    #[serde(default)]
    numbers: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct ExcludeBody {
    #[serde(default)]
    unsubscribe_list_ids: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct QuietHoursBody {
    /// `HH:MM` in the recipient's time.
    start: String,
    end: String,
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct FrequencyCapBody {
    max: u32,
    per_hours: u32,
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct SegmentsBody {
    /// `all`, `manual` or `ctr`.
    mode: String,
    first_segment_size: Option<i64>,
    next_segment_size: Option<i64>,
    /// Percent, 1 to 100.
    conversion_threshold: Option<f64>,
    evaluate_after_secs: Option<u64>,
    recipient_cap: Option<i64>,
}

/// A broadcast: its audience, its text (a body or templates), its senders and its schedule.
#[derive(Deserialize, ToSchema)]
pub(crate) struct BroadcastBody {
    campaign_id: Option<String>,
    name: Option<String>,
    #[serde(default)]
    audience: Option<AudienceBody>,
    exclude: Option<ExcludeBody>,
    body: Option<String>,
    template_id: Option<String>,
    /// Rotated evenly over the recipients.
    #[serde(default)]
    template_ids: Vec<String>,
    from: Option<String>,
    /// A random enabled sender of these per message.
    #[serde(default)]
    sender_ids: Vec<String>,
    /// A random enabled sender of these lists per message.
    #[serde(default)]
    sender_list_ids: Vec<String>,
    /// RFC 3339; at most a year ahead.
    send_at: Option<String>,
    local_time: Option<bool>,
    quiet_hours: Option<QuietHoursBody>,
    trigger_id: Option<String>,
    trigger_delay_secs: Option<u64>,
    max_per_second: Option<u32>,
    frequency_cap: Option<FrequencyCapBody>,
    segments: Option<SegmentsBody>,
    shorten_links: Option<bool>,
    callback_url: Option<String>,
    /// The `estimate_hash` of an estimate: the broadcast is created only if nothing changed.
    estimate_hash: Option<String>,
}

impl From<BroadcastBody> for BroadcastRequest {
    fn from(b: BroadcastBody) -> Self {
        let a = b.audience.unwrap_or_default();
        BroadcastRequest {
            campaign_id: b.campaign_id,
            name: b.name,
            audience: BroadcastAudience {
                list_ids: a.list_ids,
                group_ids: a.group_ids,
                contact_ids: a.contact_ids,
                numbers: a.numbers,
            },
            unsubscribe_list_ids: b.exclude.map(|e| e.unsubscribe_list_ids),
            body: b.body,
            template_id: b.template_id,
            template_ids: b.template_ids,
            from: b.from,
            sender_ids: b.sender_ids,
            sender_list_ids: b.sender_list_ids,
            send_at: b.send_at,
            local_time: b.local_time,
            quiet_hours: b.quiet_hours.map(|q| QuietHours { start: q.start, end: q.end }),
            trigger_id: b.trigger_id,
            trigger_delay_secs: b.trigger_delay_secs,
            max_per_second: b.max_per_second,
            frequency_cap: b.frequency_cap.map(|f| FrequencyCap { max: f.max, per_hours: f.per_hours }),
            segments: b.segments.map(|s| Segments {
                mode: s.mode,
                first_segment_size: s.first_segment_size,
                next_segment_size: s.next_segment_size,
                conversion_threshold: s.conversion_threshold,
                evaluate_after_secs: s.evaluate_after_secs,
                recipient_cap: s.recipient_cap,
            }),
            shorten_links: b.shorten_links,
            callback_url: b.callback_url,
            estimate_hash: b.estimate_hash,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct SkippedDto {
    duplicate: i64,
    opted_out: i64,
    unsubscribed: i64,
    invalid: i64,
    /// Left out by `frequency_cap` (shown when there are any).
    #[serde(skip_serializing_if = "is_zero")]
    frequency_cap: i64,
}

#[allow(clippy::trivially_copy_pass_by_ref, reason = "serde passes fields by reference")]
fn is_zero(n: &i64) -> bool {
    *n == 0
}

#[derive(Serialize, ToSchema)]
pub(crate) struct CountryDto {
    country: String,
    recipients: i64,
    price: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct SampleDto {
    to: String,
    body: String,
}

/// What a broadcast would send, to whom and at what price.
#[derive(Serialize, ToSchema)]
pub(crate) struct EstimateDto {
    recipients: i64,
    messages: i64,
    parts: i64,
    total_price: String,
    by_country: Vec<CountryDto>,
    skipped: SkippedDto,
    sample: Option<SampleDto>,
    warnings: Vec<String>,
    /// Give it as `estimate_hash` when creating: a changed audience or price is then refused.
    estimate_hash: String,
}

fn estimate_dto(e: Estimate) -> EstimateDto {
    EstimateDto {
        recipients: e.recipients,
        messages: e.messages,
        parts: e.parts,
        total_price: e.total_price.to_string(),
        by_country: e
            .by_country
            .into_iter()
            .map(|(country, (recipients, price))| CountryDto { country, recipients, price: price.to_string() })
            .collect(),
        skipped: SkippedDto {
            duplicate: e.skipped.duplicate,
            opted_out: e.skipped.opted_out,
            unsubscribed: e.skipped.unsubscribed,
            invalid: e.skipped.invalid,
            frequency_cap: e.skipped.frequency_cap,
        },
        sample: e.sample.map(|(to, body)| SampleDto { to, body }),
        warnings: e.warnings,
        estimate_hash: e.hash,
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct CountersDto {
    recipients: i64,
    /// Recipients turned into messages so far.
    expanded: i64,
    scheduled: i64,
    queued: i64,
    submitted: i64,
    delivered: i64,
    undelivered: i64,
    failed: i64,
    canceled: i64,
    expired: i64,
    clicks: i64,
    unique_clicks: i64,
    /// Unique clicks per message, in percent.
    conversion: f64,
    skipped: SkippedDto,
    /// Messages held back by quiet hours.
    deferred: i64,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct SegmentDto {
    /// 0 for the first.
    index: i32,
    /// Messages it is to hold (null: the rest of the audience).
    size: Option<i64>,
    /// Messages it holds so far.
    expanded: i64,
    /// Whether all its messages are stored.
    completed: bool,
    counters: CountersDto,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct BroadcastDto {
    id: String,
    campaign_id: Option<String>,
    name: String,
    /// `scheduled`, `waiting_for_trigger`, `expanding`, `running`, `paused`, `completed`, `canceled`.
    status: String,
    pause_reason: Option<String>,
    send_at: Option<String>,
    counters: CountersDto,
    segments: Vec<SegmentDto>,
    /// What the messages not refunded cost.
    cost: String,
    created_at: String,
    updated_at: String,
    completed_at: Option<String>,
}

fn counters_dto(c: &Counters) -> CountersDto {
    CountersDto {
        recipients: c.recipients,
        expanded: c.expanded,
        scheduled: c.scheduled,
        queued: c.queued,
        submitted: c.submitted,
        delivered: c.delivered,
        undelivered: c.undelivered,
        failed: c.failed,
        canceled: c.canceled,
        expired: c.expired,
        clicks: c.clicks,
        unique_clicks: c.unique_clicks,
        conversion: c.conversion,
        skipped: SkippedDto {
            duplicate: c.skipped.duplicate,
            opted_out: c.skipped.opted_out,
            unsubscribed: c.skipped.unsubscribed,
            invalid: c.skipped.invalid,
            frequency_cap: c.skipped.frequency_cap,
        },
        deferred: c.deferred,
    }
}

fn segment_dto(s: &SegmentView) -> SegmentDto {
    SegmentDto {
        index: s.index,
        size: s.size,
        expanded: s.expanded,
        completed: s.completed,
        counters: counters_dto(&s.counters),
    }
}

fn broadcast_dto(v: BroadcastView) -> BroadcastDto {
    let b = v.broadcast;
    BroadcastDto {
        id: b.id,
        campaign_id: b.campaign_id,
        name: b.name,
        status: v.status,
        pause_reason: b.pause_reason,
        send_at: opt_time(b.send_at),
        counters: counters_dto(&v.counters),
        segments: v.segments.iter().map(segment_dto).collect(),
        cost: v.counters.cost.to_string(),
        created_at: time(b.created_at),
        updated_at: time(b.updated_at),
        completed_at: opt_time(b.completed_at),
    }
}

/// What a broadcast would send, to whom and at what price. Nothing is stored.
#[utoipa::path(post, path = "/v1/broadcasts/estimate", tag = "broadcasts", request_body = BroadcastBody,
    responses((status = 200, body = EstimateDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn estimate_broadcast(
    State(app): State<App>,
    Auth(p): Auth,
    body: JsonBody<BroadcastBody>,
) -> Result<Json<EstimateDto>, ApiError> {
    Ok(Json(estimate_dto(app.estimate_broadcast(&p, body.value.into()).await?)))
}

/// The 409 answer to a create whose estimate changed: a problem document with the fresh
/// estimate under `estimate`.
#[derive(Serialize)]
struct Drifted {
    #[serde(flatten)]
    problem: Problem,
    estimate: EstimateDto,
}

/// Creates a broadcast; it is expanded and sent in the background. With `estimate_hash`, a
/// changed audience or price is refused (409, with the fresh estimate) and nothing is created.
#[utoipa::path(post, path = "/v1/broadcasts", tag = "broadcasts", request_body = BroadcastBody,
    responses((status = 201, body = BroadcastDto), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn create_broadcast(
    State(app): State<App>,
    Auth(p): Auth,
    body: JsonBody<BroadcastBody>,
) -> Result<Response, ApiError> {
    match app.create_broadcast(&p, body.value.into()).await? {
        Created::Created(v) => Ok((StatusCode::CREATED, Json(broadcast_dto(*v))).into_response()),
        Created::Drifted(e) => {
            let problem = Problem::new(
                StatusCode::CONFLICT,
                "conflict",
                "Conflict",
                Some(
                    "The recipients or the price changed since the estimate; see `estimate`. Nothing was created."
                        .into(),
                ),
            );
            let mut res = (StatusCode::CONFLICT, Json(Drifted { problem, estimate: estimate_dto(*e) })).into_response();
            res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
            Ok(res)
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct BroadcastListParams {
    campaign_id: Option<String>,
    status: Option<String>,
    /// Case-insensitive part of the name.
    name: Option<String>,
    /// RFC 3339, inclusive.
    created_from: Option<String>,
    /// RFC 3339, exclusive.
    created_to: Option<String>,
    /// RFC 3339, inclusive: when the broadcast sends.
    send_from: Option<String>,
    /// RFC 3339, exclusive.
    send_to: Option<String>,
    cursor: Option<String>,
    /// 1 to 1000, default 50.
    limit: Option<u32>,
}

/// Broadcasts, newest first.
#[utoipa::path(get, path = "/v1/broadcasts", tag = "broadcasts", params(BroadcastListParams),
    responses((status = 200, body = Page<BroadcastDto>), (status = 422, body = Problem)))]
async fn list_broadcasts(
    State(app): State<App>,
    Auth(p): Auth,
    Query(q): Query<BroadcastListParams>,
) -> Result<Json<Page<BroadcastDto>>, ApiError> {
    let (items, next_cursor) = app
        .broadcasts(
            &p,
            BroadcastQuery {
                campaign_id: q.campaign_id,
                status: q.status,
                name_contains: q.name,
                created_from: q.created_from,
                created_to: q.created_to,
                send_from: q.send_from,
                send_to: q.send_to,
                cursor: q.cursor,
                limit: q.limit,
            },
        )
        .await?;
    Ok(Json(Page { data: items.into_iter().map(broadcast_dto).collect(), next_cursor }))
}

#[utoipa::path(get, path = "/v1/broadcasts/{id}", tag = "broadcasts", params(("id" = String, Path)),
    responses((status = 200, body = BroadcastDto), (status = 404, body = Problem)))]
async fn get_broadcast(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<BroadcastDto>, ApiError> {
    Ok(Json(broadcast_dto(app.broadcast(&p, &id).await?)))
}

/// Pauses a broadcast: expansion stops and its messages not yet due are held.
#[utoipa::path(post, path = "/v1/broadcasts/{id}/pause", tag = "broadcasts", params(("id" = String, Path)),
    responses((status = 200, body = BroadcastDto), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn pause_broadcast(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<BroadcastDto>, ApiError> {
    Ok(Json(broadcast_dto(app.pause_broadcast(&p, &id).await?)))
}

/// Resumes a paused broadcast where it stopped.
#[utoipa::path(post, path = "/v1/broadcasts/{id}/resume", tag = "broadcasts", params(("id" = String, Path)),
    responses((status = 200, body = BroadcastDto), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn resume_broadcast(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<BroadcastDto>, ApiError> {
    Ok(Json(broadcast_dto(app.resume_broadcast(&p, &id).await?)))
}

/// Cancels a broadcast: every message not yet sent is canceled and refunded, once.
#[utoipa::path(post, path = "/v1/broadcasts/{id}/cancel", tag = "broadcasts", params(("id" = String, Path)),
    responses((status = 200, body = BroadcastDto), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn cancel_broadcast(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<BroadcastDto>, ApiError> {
    Ok(Json(broadcast_dto(app.cancel_broadcast(&p, &id).await?)))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct StatusCountDto {
    status: String,
    messages: i64,
    price: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct HourDto {
    /// The start of the hour (RFC 3339).
    hour: String,
    /// Messages due in that hour.
    messages: i64,
}

/// A broadcast's report.
#[derive(Serialize, ToSchema)]
pub(crate) struct ReportDto {
    broadcast: BroadcastDto,
    segments: Vec<SegmentDto>,
    by_status: Vec<StatusCountDto>,
    by_country: Vec<CountryDto>,
    by_hour: Vec<HourDto>,
    clicks: i64,
    unique_clicks: i64,
    conversion: f64,
    /// What the messages not refunded cost.
    cost: String,
}

#[utoipa::path(get, path = "/v1/broadcasts/{id}/report", tag = "broadcasts", params(("id" = String, Path)),
    responses((status = 200, body = ReportDto), (status = 404, body = Problem)))]
async fn broadcast_report(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<ReportDto>, ApiError> {
    let r = app.broadcast_report(&p, &id).await?;
    let (clicks, unique_clicks, conversion) =
        (r.view.counters.clicks, r.view.counters.unique_clicks, r.view.counters.conversion);
    let segments = r.view.segments.iter().map(segment_dto).collect();
    let broadcast = broadcast_dto(r.view);
    let cost = broadcast.cost.clone();
    Ok(Json(ReportDto {
        broadcast,
        segments,
        by_status: r
            .by_status
            .into_iter()
            .map(|s| StatusCountDto { status: s.status, messages: s.count, price: Money(s.price).to_string() })
            .collect(),
        by_country: r
            .by_country
            .into_iter()
            .map(|(country, (recipients, price))| CountryDto { country, recipients, price: price.to_string() })
            .collect(),
        by_hour: r.by_hour.into_iter().map(|(hour, messages)| HourDto { hour: time(hour), messages }).collect(),
        clicks,
        unique_clicks,
        conversion,
        cost,
    }))
}

/// The next segment of a segmented broadcast.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SegmentBody {
    /// Messages it is to hold.
    size: i64,
    /// A text for this segment instead of the broadcast's.
    body: Option<String>,
    template_id: Option<String>,
    /// RFC 3339.
    send_at: Option<String>,
}

/// Continues a `manual` broadcast, or a `ctr` one paused below its threshold, with one more
/// segment.
#[utoipa::path(post, path = "/v1/broadcasts/{id}/segments", tag = "broadcasts", params(("id" = String, Path)),
    request_body = SegmentBody,
    responses((status = 200, body = BroadcastDto), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn add_segment(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    body: JsonBody<SegmentBody>,
) -> Result<Json<BroadcastDto>, ApiError> {
    let b = body.value;
    let next = NextSegment { size: b.size, body: b.body, template_id: b.template_id, send_at: b.send_at };
    Ok(Json(broadcast_dto(app.continue_broadcast(&p, &id, next).await?)))
}
