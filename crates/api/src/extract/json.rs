use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use textbird_app::{App, FieldError, IdempotencyKey};

use crate::error::{ApiError, Problem};

/// A JSON body, parsed with errors that say where it went wrong, plus the SHA-256 of the
/// raw bytes (the request's fingerprint for idempotency).
pub(crate) struct JsonBody<T> {
    pub value: T,
    pub hash: String,
}

impl<T: DeserializeOwned> FromRequest<App> for JsonBody<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, app: &App) -> Result<Self, Self::Rejection> {
        let is_json = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| {
            ct.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json") || m.trim().ends_with("+json"))
        });
        if !is_json {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                Some("Send the body as `Content-Type: application/json`.".into()),
            ));
        }
        let bytes = Bytes::from_request(req, app).await.map_err(|e| {
            let status = e.status();
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                Problem::new(
                    status,
                    "body-too-large",
                    "Request body too large",
                    Some(format!("The limit is {} bytes.", app.settings().http.max_body_bytes)),
                )
            } else {
                Problem::new(status, "bad-body", "Cannot read the request body", None)
            }
        })?;
        let hash = hex::encode(Sha256::digest(&bytes));
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    "malformed-json",
                    "Malformed JSON",
                    Some(format!("The body is not valid JSON: {inner}")),
                )
            } else {
                let message = strip_position(&inner.to_string());
                Problem::validation(vec![FieldError::new(field_of(&path, &message), message)])
            }
        })?;
        Ok(JsonBody { value, hash })
    }
}

/// The field an error is about: its path, or for a missing or unknown field the field itself
/// (a missing `to` is about `to`, not about the object that lacks it, whose path is `.`).
fn field_of(path: &str, message: &str) -> String {
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|p| message.strip_prefix(p))
        .and_then(|rest| rest.split('`').next());
    match named {
        Some(name) if path == "." => name.to_owned(),
        Some(name) if path != name && !path.ends_with(&format!(".{name}")) => format!("{path}.{name}"),
        _ if path == "." => "body".to_owned(),
        _ => path.to_owned(),
    }
}

/// serde's messages end in "at line 1 column 12", which means nothing to an API user once
/// the field is named.
fn strip_position(msg: &str) -> String {
    msg.split(" at line ").next().unwrap_or(msg).to_owned()
}

/// The `Idempotency-Key` header, if sent, bound to this request's fingerprint.
pub(crate) fn idempotency_key(headers: &HeaderMap, hash: &str) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else { return Ok(None) };
    let key = v.to_str().map_err(|_| textbird_app::AppError::field("Idempotency-Key", "must be printable ASCII"))?;
    Ok(Some(IdempotencyKey::new(key, hash.to_owned())?))
}
