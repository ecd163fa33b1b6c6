//! Housekeeping: gauges that need a query (messages by status, queue depth), pruning of
//! idempotency records past their 24 hours, deletion of credentials (access tokens,
//! expiring API keys) a day after they expired, and of failed logins older than the hour
//! their limit counts.

use std::time::Duration;

use textbird_store::Store;
use textbird_types::now_millis;
use tokio::sync::watch;

const GAUGE_INTERVAL: Duration = Duration::from_secs(10);
const PRUNE_EVERY: u32 = 360;
/// Idempotency keys are kept at least this long.
const IDEMPOTENCY_KEEP_MS: i64 = 25 * 3600 * 1000;
/// Expired credentials are kept this long (so a refused key can still be traced to its account).
const EXPIRED_CREDENTIALS_KEEP_MS: i64 = 24 * 3600 * 1000;
/// Failed logins are counted over an hour (`[logins]`).
const LOGIN_FAILURES_KEEP_MS: i64 = 3600 * 1000;

pub(crate) async fn run(store: Store, mut stop: watch::Receiver<bool>) {
    let mut tick = 0_u32;
    loop {
        if let Ok(counts) = store.count_by_status().await {
            let mut depth = 0;
            for (status, n) in counts {
                if status == "queued" || status == "scheduled" {
                    depth += n;
                }
                metrics::gauge!("textbird_messages", "status" => status).set(n as f64);
            }
            metrics::gauge!("textbird_queue_depth").set(depth as f64);
        }
        if tick.is_multiple_of(PRUNE_EVERY) {
            match store.prune(now_millis() - IDEMPOTENCY_KEEP_MS).await {
                Ok(n) if n > 0 => tracing::info!(removed = n, "pruned old idempotency keys"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "pruning failed"),
            }
            match store.purge_expired_credentials(now_millis() - EXPIRED_CREDENTIALS_KEEP_MS).await {
                Ok(n) if n > 0 => tracing::info!(removed = n, "deleted expired credentials"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "deleting expired credentials failed"),
            }
            if let Err(e) = store.prune_login_failures(now_millis() - LOGIN_FAILURES_KEEP_MS).await {
                tracing::warn!(error = %e, "deleting old failed logins failed");
            }
        }
        tick = tick.wrapping_add(1);
        tokio::select! {
            () = tokio::time::sleep(GAUGE_INTERVAL) => {}
            _ = stop.changed() => return,
        }
    }
}
