//! What every connector (simulator, SMPP, ...) offers the dispatcher.

use textbird_store::DispatchItem;

/// How a carrier answered one submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitOutcome {
    /// Taken; `carrier_id` correlates later delivery reports.
    Accepted { carrier_id: String },
    /// Try again later (throttled, queue full, link down...).
    Temporary { code: String, detail: String },
    /// Refused for good (`rejected`, refunded).
    Permanent { code: String, detail: String },
}

/// A carrier connection. Throttling, windows, retries and failover are the dispatcher's job;
/// a connector only sends and reports back through the carrier event channel.
#[async_trait::async_trait]
pub trait Connector: Send + Sync {
    fn name(&self) -> &str;
    /// Whether it can take submissions now (bound, not shutting down).
    fn is_up(&self) -> bool;
    /// Outstanding submissions allowed at once.
    fn window(&self) -> usize;
    /// Messages per second, 0 = unlimited.
    fn tps(&self) -> u32;
    async fn submit(&self, item: &DispatchItem) -> SubmitOutcome;
}
