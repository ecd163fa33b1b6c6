//! Housekeeping: gauges that need a query (messages by status, queue depth), pruning of
//! idempotency records past their 24 hours, deletion of credentials (access tokens,
//! expiring API keys) a day after they expired, of failed logins older than the hour their
//! limit counts, of dashboard sessions unused for a week, and giving up on receipts that never came (`submitted` past the validity
//! period plus the grace period).

use std::time::Duration;

use textbird_config::{MessageSettings, NoReceiptStatus};
use textbird_store::{StatusChange, Store};
use textbird_types::{Status, now_millis};
use tokio::sync::watch;

const GAUGE_INTERVAL: Duration = Duration::from_secs(10);
const PRUNE_EVERY: u32 = 360;
/// Messages given up on per status write.
const SWEEP_BATCH: u32 = 1000;
/// Idempotency keys are kept at least this long.
const IDEMPOTENCY_KEEP_MS: i64 = 25 * 3600 * 1000;
/// Expired credentials are kept this long (so a refused key can still be traced to its account).
const EXPIRED_CREDENTIALS_KEEP_MS: i64 = 24 * 3600 * 1000;
/// Failed logins are counted over an hour (`[logins]`).
const LOGIN_FAILURES_KEEP_MS: i64 = 3600 * 1000;
/// Dashboard sessions unused this long are deleted (the idle limit, `[dashboard]
/// idle_minutes`, ends them sooner; this only clears the table).
const DASHBOARD_SESSIONS_KEEP_MS: i64 = 7 * 24 * 3600 * 1000;

pub(crate) async fn run(store: Store, messages: MessageSettings, mut stop: watch::Receiver<bool>) {
    let mut tick = 0_u32;
    loop {
        sweep_submitted(&store, &messages).await;
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
            if let Err(e) = store.prune_dashboard_sessions(now_millis() - DASHBOARD_SESSIONS_KEEP_MS).await {
                tracing::warn!(error = %e, "deleting unused dashboard sessions failed");
            }
        }
        tick = tick.wrapping_add(1);
        tokio::select! {
            () = tokio::time::sleep(GAUGE_INTERVAL) => {}
            _ = stop.changed() => return,
        }
    }
}

/// `submitted` messages whose receipt did not come within their validity plus the grace
/// period become `unknown` or `expired` (as configured), each with its event and webhook. Not
/// refunded: the carrier took them. A receipt that still comes changes nothing (terminal
/// states never change).
async fn sweep_submitted(store: &Store, settings: &MessageSettings) {
    let status = match settings.no_receipt_status {
        NoReceiptStatus::Unknown => Status::Unknown,
        NoReceiptStatus::Expired => Status::Expired,
    };
    let grace_ms = i64::try_from(settings.receipt_grace_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    loop {
        let now = now_millis();
        let ids = match store.submitted_before(now.saturating_sub(grace_ms), SWEEP_BATCH).await {
            Ok(ids) => ids,
            Err(e) => {
                tracing::warn!(error = %e, "cannot look for messages without receipts");
                return;
            }
        };
        let n = ids.len();
        let changes: Vec<StatusChange> = ids
            .into_iter()
            .map(|id| {
                let mut c = StatusChange::new(id, status, now);
                c.refund = false;
                c.error_code = Some("no_receipt".into());
                c.detail = Some(format!(
                    "no delivery receipt within the validity period and {} s more",
                    settings.receipt_grace_secs
                ));
                c
            })
            .collect();
        match store.apply_status(changes).await {
            Ok(moved) if moved > 0 => {
                metrics::counter!("textbird_receipts_given_up_total").increment(moved as u64);
                tracing::info!(messages = moved, status = %status, "gave up waiting for delivery receipts");
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "cannot give up on messages without receipts");
                return;
            }
        }
        if n < SWEEP_BATCH as usize {
            return;
        }
    }
}
