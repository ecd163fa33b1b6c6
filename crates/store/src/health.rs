//! Whether this node's writes are getting through. A database can answer reads while it
//! refuses writes (a full disk, a read-only PostgreSQL, a revoked privilege); the writer
//! records each refusal here and clears it after the next commit that wrote something, so
//! `/healthz` can say so and recovery is noticed without a restart.

use std::sync::{Arc, Mutex};

/// Why writes fail, and since when (epoch milliseconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteFailure {
    pub since: i64,
    pub reason: String,
}

#[derive(Clone, Default)]
pub(crate) struct WriteHealth {
    failing: Arc<Mutex<Option<WriteFailure>>>,
}

impl WriteHealth {
    /// A write was refused; the first refusal of a run of them sets `since`.
    pub(crate) fn refused(&self, reason: &str) {
        let mut failing = self.failing.lock().expect("poisoned");
        if failing.is_none() {
            tracing::error!(reason, "database writes are failing");
            metrics::gauge!("textbird_store_writes_failing").set(1.0);
        }
        let since = failing.as_ref().map_or_else(textbird_types::now_millis, |f| f.since);
        *failing = Some(WriteFailure { since, reason: reason.to_owned() });
    }

    /// A transaction that wrote something committed.
    pub(crate) fn committed(&self) {
        let mut failing = self.failing.lock().expect("poisoned");
        if let Some(f) = failing.take() {
            let ms = textbird_types::now_millis() - f.since;
            tracing::info!(failed_for_ms = ms, "database writes succeed again");
            metrics::gauge!("textbird_store_writes_failing").set(0.0);
        }
    }

    pub(crate) fn failure(&self) -> Option<WriteFailure> {
        self.failing.lock().expect("poisoned").clone()
    }
}
