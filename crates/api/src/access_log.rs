//! One access-log line per request: method, route template, status, latency, request id, the
//! authenticated account's id and its key's prefix (keys made through `/v1/keys`). Never the key, the body, the query or a phone number (the
//! route is the template, so ids and numbers in paths stay out too). The request id comes
//! from the client's `x-request-id` when it is a plain token, else is made here, and is sent
//! back in `x-request-id`.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

pub(crate) const REQUEST_ID: &str = "x-request-id";

/// Where the auth extractor notes the caller's account, for the access log.
#[derive(Clone, Default)]
pub(crate) struct LoggedAccount(pub Arc<OnceLock<(String, Option<String>)>>);

pub(crate) async fn log(mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map_or_else(textbird_types::new_id, str::to_owned);
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let account = LoggedAccount::default();
    req.extensions_mut().insert(account.clone());
    let mut res = next.run(req).await;
    let status = res.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let (account, key) = account.0.get().map_or(("-", "-"), |(a, k)| (a.as_str(), k.as_deref().unwrap_or("-")));
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    tracing::info!(
        target: "textbird::access",
        method = %method,
        route = %route,
        status,
        latency_ms = (latency_ms * 10.0).round() / 10.0,
        request_id = %id,
        account = %account,
        key = %key,
        "request"
    );
    res
}
