//! `/v1/verifications`: one-time passwords (create, check, get, cancel, list) and the
//! simulated carrier's handset view `/v1/simulator/messages`.

use std::net::IpAddr;

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use textbird_app::{App, CheckAnswer, CheckRequest, VerificationError, VerificationRequest, VerificationView};
use textbird_types::format_millis;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Page, time};
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, JsonBody, Query};

pub(super) fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(create_verification, list_verifications))
        .routes(routes!(get_verification))
        .routes(routes!(check_verification))
        .routes(routes!(check_verification_by_number))
        .routes(routes!(cancel_verification))
        .routes(routes!(handset_messages))
        .routes(routes!(advance_clock))
}

/// The requesting client's address (behind trusted proxies, the one they name).
pub(crate) struct ClientIp(Option<IpAddr>);

impl FromRequestParts<App> for ClientIp {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &App) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(crate::extract::origin::client_ip(parts)))
    }
}

/// Maps a verification refusal to its problem document.
fn problem(e: VerificationError) -> Problem {
    let retry = |mut p: Problem, wait: std::time::Duration| {
        p.retry_after = Some(wait.as_secs_f64().ceil().max(1.0) as u64);
        p
    };
    match e {
        VerificationError::App(e) => e.into(),
        VerificationError::SendLimit(wait) => retry(
            Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "verification-send-limit",
                "Too many codes sent",
                Some("This number was sent the most codes allowed for now; nothing was sent or charged.".into()),
            ),
            wait,
        ),
        VerificationError::ClientLimit(wait) => retry(
            Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "verification-client-limit",
                "Too many verification requests",
                Some("This client made the most verification requests allowed for now; nothing was sent.".into()),
            ),
            wait,
        ),
        VerificationError::MaxAttempts => retry(
            Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "verification-locked",
                "Verification locked",
                Some("This verification's checks are used up (max_attempts_reached); start a new one.".into()),
            ),
            std::time::Duration::from_mins(10),
        ),
        VerificationError::Blocked { prefix, until } => Problem::new(
            StatusCode::FORBIDDEN,
            "destination-blocked",
            "Destination blocked",
            Some(format!(
                "Numbers starting +{prefix} are blocked by the fraud guard until {}; nothing was sent or charged.",
                format_millis(until)
            )),
        )
        .with_fields(vec![textbird_app::FieldError::new("to", format!("the prefix +{prefix} is blocked"))]),
        VerificationError::CountryNotAllowed { country } => Problem::new(
            StatusCode::FORBIDDEN,
            "country-not-allowed",
            "Country not allowed",
            Some(format!("This account may not send to {country}; nothing was sent or charged.")),
        )
        .with_fields(vec![textbird_app::FieldError::new("to", format!("{country} is not an allowed country"))]),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateBody {
    /// E.164, or a local number read in the account's country.
    to: String,
    /// The SMS text; must contain `{{code}}`. Default: the operator's text.
    body: Option<String>,
    /// A template whose body (with `{{code}}`) is the text, instead of `body`.
    template_id: Option<String>,
    /// The sender; default: the operator's (`[verifications] default_from`).
    from: Option<String>,
    /// Digits of the code, 4 to 10 (default 6).
    code_length: Option<u32>,
    /// Seconds the code is valid, 60 to 86400 (default 600).
    ttl_secs: Option<u64>,
    /// RFC 3339: send the code later (before it expires).
    send_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct VerificationDto {
    id: String,
    to: String,
    /// `pending`, `approved`, `expired`, `max_attempts_reached`, `canceled`.
    status: String,
    expires_at: String,
    /// Checks left before the verification locks.
    attempts_left: u32,
    /// Sends (re-sends of the code) left to this number in the current window.
    sends_left: u32,
    code_length: i32,
    checks: i32,
    sends: i32,
    /// The message that carried the code last (none for a test number).
    message_id: Option<String>,
    created_at: String,
    updated_at: String,
}

fn dto(v: VerificationView) -> VerificationDto {
    let VerificationView { verification: v, attempts_left, sends_left } = v;
    VerificationDto {
        id: v.id,
        to: v.phone,
        status: v.status,
        expires_at: time(v.expires_at),
        attempts_left,
        sends_left,
        code_length: v.code_length,
        checks: v.checks,
        sends: v.sends,
        message_id: v.message_id,
        created_at: time(v.created_at),
        updated_at: time(v.updated_at),
    }
}

/// Start a verification: a random code is sent to `to`. Asking again while one is pending
/// re-sends the same code (counted against the number's send limit).
#[utoipa::path(post, path = "/v1/verifications", tag = "verifications", request_body = CreateBody,
    responses((status = 201, body = VerificationDto), (status = 402, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn create_verification(
    State(app): State<App>,
    Auth(p): Auth,
    ClientIp(client): ClientIp,
    body: JsonBody<CreateBody>,
) -> Result<(StatusCode, Json<VerificationDto>), Problem> {
    let b = body.value;
    let req = VerificationRequest {
        to: b.to,
        body: b.body,
        template_id: b.template_id,
        from: b.from,
        code_length: b.code_length,
        ttl_secs: b.ttl_secs,
        send_at: b.send_at,
        client,
    };
    let v = app.create_verification(&p, req).await.map_err(problem)?;
    Ok((StatusCode::CREATED, Json(dto(v))))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListParams {
    cursor: Option<String>,
    /// 1 to 1000, default 50.
    limit: Option<u32>,
}

/// Verifications, newest first.
#[utoipa::path(get, path = "/v1/verifications", tag = "verifications", params(ListParams),
    responses((status = 200, body = Page<VerificationDto>), (status = 422, body = Problem)))]
async fn list_verifications(
    State(app): State<App>,
    Auth(p): Auth,
    Query(q): Query<ListParams>,
) -> Result<Json<Page<VerificationDto>>, ApiError> {
    let list = app.verifications(&p, q.cursor, q.limit).await?;
    Ok(Json(Page { data: list.items.into_iter().map(dto).collect(), next_cursor: list.next_cursor }))
}

/// A verification (never its code).
#[utoipa::path(get, path = "/v1/verifications/{id}", tag = "verifications", params(("id" = String, Path)),
    responses((status = 200, body = VerificationDto), (status = 404, body = Problem)))]
async fn get_verification(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<VerificationDto>, ApiError> {
    Ok(Json(dto(app.verification(&p, &id).await?)))
}

/// Cancel a pending verification; its code is no longer accepted.
#[utoipa::path(post, path = "/v1/verifications/{id}/cancel", tag = "verifications", params(("id" = String, Path)),
    responses((status = 200, body = VerificationDto), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn cancel_verification(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<VerificationDto>, ApiError> {
    Ok(Json(dto(app.cancel_verification(&p, &id).await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckBody {
    /// The code the user typed: 4 to 10 digits.
    code: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckByNumberBody {
    /// The number the code was sent to.
    to: String,
    code: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct CheckDto {
    /// The verification; for a check by number, only when the code was accepted.
    id: Option<String>,
    /// `approved`, `pending`, `expired`, `max_attempts_reached`, `canceled`.
    status: String,
    /// Whether this check accepted the code (each code is accepted once).
    valid: bool,
}

fn check_dto(a: CheckAnswer) -> CheckDto {
    CheckDto { id: a.id, status: a.status, valid: a.valid }
}

/// Check a code. A wrong code and an unknown verification give the same answer; after 5
/// wrong codes the verification is `max_attempts_reached` and further checks get 429.
#[utoipa::path(post, path = "/v1/verifications/{id}/check", tag = "verifications", params(("id" = String, Path)),
    request_body = CheckBody,
    responses((status = 200, body = CheckDto), (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn check_verification(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    body: JsonBody<CheckBody>,
) -> Result<Json<CheckDto>, Problem> {
    let req = CheckRequest { id: Some(id), to: None, code: body.value.code };
    Ok(Json(check_dto(app.check_verification(&p, req).await.map_err(problem)?)))
}

/// Check a code by the number it was sent to (its newest verification).
#[utoipa::path(post, path = "/v1/verifications/check", tag = "verifications", request_body = CheckByNumberBody,
    responses((status = 200, body = CheckDto), (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn check_verification_by_number(
    State(app): State<App>,
    Auth(p): Auth,
    body: JsonBody<CheckByNumberBody>,
) -> Result<Json<CheckDto>, Problem> {
    let b = body.value;
    let req = CheckRequest { id: None, to: Some(b.to), code: b.code };
    Ok(Json(check_dto(app.check_verification(&p, req).await.map_err(problem)?)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct HandsetParams {
    /// The recipient's number.
    to: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct HandsetMessageDto {
    message_id: String,
    from: String,
    to: String,
    /// The text as the phone shows it (verification codes included).
    body: String,
    received_at: String,
}

/// What a recipient's phone shows of the caller's messages the simulated carrier delivered,
/// newest first, as received (codes included). Real carriers' messages are not shown.
#[utoipa::path(get, path = "/v1/simulator/messages", tag = "verifications", params(HandsetParams),
    responses((status = 200, body = Vec<HandsetMessageDto>), (status = 422, body = Problem)))]
async fn handset_messages(
    State(app): State<App>,
    Auth(p): Auth,
    Query(q): Query<HandsetParams>,
) -> Result<Json<Vec<HandsetMessageDto>>, ApiError> {
    let messages = app.handset_messages(&p, &q.to)?;
    Ok(Json(
        messages
            .into_iter()
            .map(|m| HandsetMessageDto {
                message_id: m.message_id,
                from: m.from,
                to: m.to,
                body: m.body,
                received_at: time(m.received_at),
            })
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClockBody {
    /// Seconds to move the verification clock forward.
    advance_secs: u64,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ClockDto {
    /// How far the verification clock now runs ahead of real time, in seconds.
    offset_secs: i64,
}

/// Testing only (`[verifications] test_clock = true`; 404 otherwise): moves the clock that
/// verifications expire by forward, for the whole server.
#[utoipa::path(post, path = "/v1/simulator/clock", tag = "verifications", request_body = ClockBody,
    responses((status = 200, body = ClockDto), (status = 404, body = Problem)))]
async fn advance_clock(
    State(app): State<App>,
    Auth(_caller): Auth,
    body: JsonBody<ClockBody>,
) -> Result<Json<ClockDto>, ApiError> {
    Ok(Json(ClockDto { offset_secs: app.advance_verification_clock(body.value.advance_secs)? }))
}
