use textbird_store::StoreError;

/// A problem with one field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// JSON-pointer-like path: `to[3]`, `send_at`.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// Why a use case did not succeed. Each front end maps these once to its own format.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("the request is invalid")]
    Validation(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("insufficient balance: {needed} needed, {available} available")]
    InsufficientBalance { needed: String, available: String },
    #[error("{0}")]
    Conflict(String),
    /// The account's daily spend cap would be passed.
    #[error("daily spend cap reached: {spent} of {cap} spent today")]
    SpendCapReached { cap: String, spent: String },
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyMismatch,
    #[error("a request with this Idempotency-Key is still in progress")]
    IdempotencyInFlight,
    #[error("missing or invalid credentials")]
    Unauthorized,
    #[error("not allowed")]
    Forbidden,
    #[error("too many requests; retry after {0:?}")]
    RateLimited(std::time::Duration),
    #[error("the service is temporarily unavailable")]
    Unavailable,
    #[error("internal error")]
    Internal(String),
}

impl AppError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        AppError::Validation(vec![FieldError::new(field, message)])
    }

    /// When a refusal that passes with time may be retried (`Retry-After`).
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            AppError::RateLimited(after) => Some(*after),
            AppError::Unavailable => Some(std::time::Duration::from_secs(1)),
            _ => None,
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        if e.is_unavailable() {
            tracing::warn!(error = %e, "database unavailable");
            return AppError::Unavailable;
        }
        match e {
            StoreError::Conflict(m) => AppError::Conflict(m),
            StoreError::Unavailable(_) => AppError::Unavailable,
            other => {
                tracing::error!(error = %other, "storage error");
                AppError::Internal(other.to_string())
            }
        }
    }
}
