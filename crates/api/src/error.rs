//! Every error of the native API as an RFC 9457 problem document
//! (`application/problem+json`): type, title, status, detail, and field-level `errors`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use textbird_app::{AppError, FieldError};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
    /// Seconds, sent as `Retry-After` (429).
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemField {
    pub field: String,
    pub message: String,
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, title: &str, detail: Option<String>) -> Self {
        Self {
            kind: format!("/problems/{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
            errors: Vec::new(),
            retry_after: None,
        }
    }

    pub fn with_fields(mut self, fields: Vec<FieldError>) -> Self {
        self.errors = fields.into_iter().map(|f| ProblemField { field: f.field, message: f.message }).collect();
        self
    }

    pub fn validation(fields: Vec<FieldError>) -> Self {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "The request is invalid",
            Some("See `errors` for each field.".into()),
        )
        .with_fields(fields)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = (status, Json(&self)).into_response();
        res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        match status {
            StatusCode::UNAUTHORIZED => {
                res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            StatusCode::TOO_MANY_REQUESTS => {
                let secs = self.retry_after.unwrap_or(1);
                res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            _ => {}
        }
        res
    }
}

/// The API's one mapping from use-case errors to HTTP.
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError(e)
    }
}

impl From<AppError> for Problem {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Validation(fields) => Problem::validation(fields),
            AppError::NotFound(what) => {
                Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found", Some(format!("No such {what}.")))
            }
            AppError::InsufficientBalance { needed, available } => Problem::new(
                StatusCode::PAYMENT_REQUIRED,
                "insufficient-balance",
                "Insufficient balance",
                Some(format!("This request costs {needed}; the balance is {available}. Nothing was sent.")),
            ),
            AppError::Conflict(m) => Problem::new(StatusCode::CONFLICT, "conflict", "Conflict", Some(m)),
            AppError::SpendCapReached { cap, spent } => Problem::new(
                StatusCode::PAYMENT_REQUIRED,
                "spend-cap-reached",
                "Daily spend cap reached",
                Some(format!(
                    "This account may spend {cap} a day and has spent {spent} today; this request would pass the cap. \
                     Nothing was sent or charged."
                )),
            ),
            e @ AppError::IdempotencyMismatch => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "Idempotency-Key reused",
                Some(e.to_string()),
            ),
            e @ AppError::IdempotencyInFlight => Problem::new(
                StatusCode::CONFLICT,
                "idempotency-key-in-flight",
                "Request in progress",
                Some(e.to_string()),
            ),
            AppError::Unauthorized => Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Unauthorized",
                Some("Send a valid API key as `Authorization: Bearer <key>`.".into()),
            ),
            AppError::RateLimited(wait) => {
                let mut p = Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate-limited",
                    "Too many requests",
                    Some("This account's request rate is over its limit; nothing was done.".into()),
                );
                p.retry_after = Some(wait.as_secs_f64().ceil().max(1.0) as u64);
                p
            }
            AppError::Forbidden => Problem::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", None),
            AppError::Unavailable => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
                Some("The database is not answering; nothing was stored. Retry shortly.".into()),
            ),
            AppError::Internal(_) => {
                Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error", None)
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        Problem::from(self.0).into_response()
    }
}

pub(crate) async fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found", Some("No such endpoint.".into()))
}

/// A known path with a method it does not have (axum adds the `Allow` header).
pub(crate) async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        Some("This endpoint does not accept this method; `Allow` lists the ones it does.".into()),
    )
}

pub(crate) fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error", None).into_response()
}
