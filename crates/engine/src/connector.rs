//! What every connector (simulator, SMPP, ...) offers the dispatcher.

use textbird_store::DispatchItem;

/// How a carrier answered one submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitOutcome {
    /// Taken; `carrier_id` correlates later delivery reports.
    Accepted { carrier_id: String },
    /// Try again later (throttled, queue full, link down...); `retry` says how.
    Temporary { retry: Retry, code: String, detail: String },
    /// Refused for good (`rejected`, refunded).
    Permanent { code: String, detail: String },
}

/// Why a submission is to be tried again, in the terms the dispatcher acts on (each connector
/// maps its own protocol's answers: SMPP's typed `CommandStatus`, for one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// The carrier asks to slow down (SMPP `ESME_RTHROTTLED`, `ESME_RMSGQFUL`): this connector
    /// pauses, and the next route may take the message now.
    Throttled,
    /// The carrier, or the link to it, cannot take it now and certainly did not (SMPP
    /// `ESME_RSYSERR`, `ESME_RX_T_APPN`, not bound): the next route may take it now.
    Refused,
    /// No answer came, or the link dropped with it outstanding, or only some of its parts
    /// were taken: the carrier may have it, so it is retried later as a possible duplicate.
    Unknown,
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
