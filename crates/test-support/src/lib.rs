//! Test peers for end-to-end suites: a real `textbird serve` process on an ephemeral port
//! with its own temporary database, the command-line interface against it, and a webhook
//! receiver that records (and can refuse) what it is sent. Nothing here is mocked: the
//! server under test is the release binary's code, storage is a real `SQLite` file.

mod server;
mod webhook_sink;

pub use server::{Account, Server};
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
