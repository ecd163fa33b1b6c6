//! Test peers for end-to-end suites: a real `textbird serve` process on an ephemeral port
//! with its own temporary database, the command-line interface against it, and a webhook
//! receiver that records (and can refuse) what it is sent, and SMPP peers built with other
//! people's SMPP software (an SMSC and ESMEs, see `peers`). Nothing here is mocked: the
//! server under test is the release binary's code, storage is a real `SQLite` file, or a
//! schema of its own in a real PostgreSQL database when `TEXTBIRD_TEST_BACKEND=postgres`
//! (see `postgres`).

mod peers;
pub mod postgres;
mod server;
mod webhook_sink;

pub use peers::Peer;
pub use server::{Account, Reply, Server};
pub use webhook_sink::{Received, WebhookSink};

/// Polls `check` every 50 ms until it returns `Some`, or panics after `secs`.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out after {secs} s waiting for {what}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Now plus `offset_ms` as RFC 3339 (UTC, milliseconds), for `send_at` and list filters.
pub fn rfc3339_from_now(offset_ms: i64) -> String {
    let t = jiff::Timestamp::now() + jiff::SignedDuration::from_millis(offset_ms);
    format!("{t:.3}")
}

/// Like `rfc3339_from_now`, written with a fixed UTC offset of `hours` (`...T12:00:00+02:00`).
pub fn rfc3339_from_now_with_offset(offset_ms: i64, hours: i8) -> String {
    let t = jiff::Timestamp::now() + jiff::SignedDuration::from_millis(offset_ms);
    let tz = jiff::tz::TimeZone::fixed(jiff::tz::Offset::constant(hours));
    t.to_zoned(tz).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// Milliseconds since the epoch of an RFC 3339 timestamp the API returned.
pub fn millis(rfc3339: &str) -> i64 {
    rfc3339.parse::<jiff::Timestamp>().unwrap_or_else(|e| panic!("{rfc3339:?} is not RFC 3339: {e}")).as_millisecond()
}

/// Asserts `reply` is an RFC 9457 problem document with `status`; returns its JSON.
pub fn assert_problem(reply: &Reply, status: u16) -> &serde_json::Value {
    assert_eq!(reply.status, status, "status; body: {}", reply.text);
    let ct = reply.header("content-type").unwrap_or_default();
    assert!(ct.starts_with("application/problem+json"), "content-type {ct:?}; body: {}", reply.text);
    let p = &reply.body;
    assert!(p["type"].is_string(), "problem has a type: {p}");
    assert!(p["title"].is_string(), "problem has a title: {p}");
    assert_eq!(p["status"], status, "problem status: {p}");
    p
}

/// The `field` values of a problem's `errors`.
pub fn problem_fields(problem: &serde_json::Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|a| a.iter().map(|e| e["field"].as_str().unwrap_or_default().to_owned()).collect())
        .unwrap_or_default()
}

/// A `multipart/form-data` body: `(name, file name, bytes)` per part (a file name makes it a
/// file part). Returns the content type (with its boundary) and the body.
pub fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    const BOUNDARY: &str = "textbird-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, file, bytes) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match file {
            Some(f) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}
