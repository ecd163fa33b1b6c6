//! `POST /api/v1/oauth/access_token`: the `OAuth` 2 client-credentials grant (RFC 6749
//! §4.4). `client_id` and `client_secret` come as form fields (the document's way), JSON, or
//! HTTP Basic; `grant_type`, when given, must be `client_credentials`. The answer is
//! `{"access_token","token_type":"Bearer","expires_in":3600}`; errors are RFC 6749's
//! (`{"error":"invalid_client","error_description":...}`: 401 with `WWW-Authenticate: Basic`
//! for a client that did not authenticate, whether its id or secret is wrong or missing; 400
//! for a malformed request).

use axum::Json;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use textbird_app::{App, AppError};

use crate::dialects::Params;
use crate::dialects::{app_error, retry_after};
use crate::extract::origin::client_ip;

fn error(status: StatusCode, code: &str, description: &str) -> Response {
    let mut res = (status, Json(json!({"error": code, "error_description": description}))).into_response();
    // Every 401 names the scheme (RFC 9110 §15.5.2), which RFC 6749 §5.2 requires when the
    // client used Basic.
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
    }
    no_store(res)
}

/// Token answers are never cached (RFC 6749 §5.1).
fn no_store(mut res: Response) -> Response {
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

/// `client_id:client_secret` from `Authorization: Basic ...`.
fn basic(parts: &Parts) -> Option<(String, String)> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

pub(super) async fn access_token(State(app): State<App>, req: Request) -> Response {
    let Ok((parts, body)) = Params::read(req, &app).await else {
        return error(StatusCode::BAD_REQUEST, "invalid_request", "The request body could not be read.");
    };
    let field = |name: &str| body.text(name).ok().flatten().map(str::trim).filter(|v| !v.is_empty());
    if let Some(grant) = field("grant_type")
        && grant != "client_credentials"
    {
        return error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "Only client_credentials is supported.");
    }
    // A client that did not authenticate (no id, or no secret) is `invalid_client` (RFC 6749
    // §5.2: "no client authentication included"), 401 like a wrong secret.
    let (id, secret) = match (field("client_id"), field("client_secret"), basic(&parts)) {
        (Some(id), Some(secret), _) => (id.to_owned(), secret.to_owned()),
        (None, None, Some(credentials)) => credentials,
        _ => return error(StatusCode::UNAUTHORIZED, "invalid_client", "Client authentication failed."),
    };
    match app.oauth_access_token(&id, &secret, client_ip(&parts)).await {
        Ok(t) => no_store(
            Json(json!({"access_token": t.token, "token_type": "Bearer", "expires_in": t.expires_in})).into_response(),
        ),
        Err(AppError::Unauthorized) => {
            error(StatusCode::UNAUTHORIZED, "invalid_client", "Client authentication failed.")
        }
        Err(e) => {
            let (status, message) = app_error(&e, &str::to_owned);
            let code = if status == StatusCode::TOO_MANY_REQUESTS { "slow_down" } else { "server_error" };
            let mut res = error(status, code, &message);
            retry_after(&mut res, e.retry_after());
            res
        }
    }
}
