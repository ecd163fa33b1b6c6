//! Matching delivery receipts to messages by the carrier's message id: recent ids in memory
//! (two generations), older ones in the database, and receipts that overtake their
//! `submit_sm_resp` held until it arrives.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use textbird_smpp::ids;
use textbird_store::Store;
use textbird_types::Status;
use tokio::sync::mpsc;

use crate::carrier_events::{CarrierEvent, Durable};

/// How long a receipt waits for the `submit_sm_resp` (or the database) to name its message.
const EARLY_RECEIPT_WAIT: Duration = Duration::from_secs(30);
/// Carrier ids remembered in memory per generation; older ones are looked up in the database.
const RECENT_IDS: usize = 1_000_000;

/// A final delivery report, before it is matched to a message.
#[derive(Debug, Clone)]
pub(super) struct Report {
    pub(super) carrier_id: String,
    pub(super) status: Status,
    pub(super) error_code: Option<String>,
    pub(super) detail: String,
    pub(super) received: Instant,
    /// Told once the report's status change is committed (or it is given up on).
    pub(super) durable: Durable,
}

/// Matches carrier message ids to Textbird messages.
pub(super) struct Correlator {
    connector: String,
    store: Store,
    events: mpsc::Sender<CarrierEvent>,
    /// Two generations of recent ids: when `current` is full it becomes `previous`.
    recent: Mutex<(HashMap<String, String>, HashMap<String, String>)>,
    /// Receipts that came before their `submit_sm_resp`, by normalised carrier id.
    early: Mutex<HashMap<String, Report>>,
}

impl Correlator {
    pub(super) fn new(connector: String, store: Store, events: mpsc::Sender<CarrierEvent>) -> Self {
        Self {
            connector,
            store,
            events,
            recent: Mutex::new((HashMap::new(), HashMap::new())),
            early: Mutex::new(HashMap::new()),
        }
    }

    pub(super) fn remember(&self, carrier_ids: &[String], message_id: &str) {
        {
            let mut recent = self.recent.lock().expect("poisoned");
            if recent.0.len() >= RECENT_IDS {
                let full = std::mem::take(&mut recent.0);
                recent.1 = full;
            }
            for c in carrier_ids {
                recent.0.insert(c.clone(), message_id.to_owned());
            }
        }
        let waiting: Vec<Report> = {
            let mut early = self.early.lock().expect("poisoned");
            if early.is_empty() {
                return;
            }
            let found: Vec<Report> = carrier_ids.iter().filter_map(|c| early.remove(c)).collect();
            for r in &found {
                for alias in ids::alternates(&r.carrier_id) {
                    early.remove(&alias);
                }
            }
            found
        };
        for report in waiting {
            self.emit(message_id.to_owned(), report);
        }
    }

    fn lookup_recent(&self, candidates: &[String]) -> Option<String> {
        let recent = self.recent.lock().expect("poisoned");
        candidates.iter().find_map(|c| recent.0.get(c).or_else(|| recent.1.get(c)).cloned())
    }

    pub(super) async fn report(&self, report: Report) {
        let candidates = ids::alternates(&report.carrier_id);
        if let Some(message_id) = self.lookup_recent(&candidates) {
            return self.emit(message_id, report);
        }
        match self.store.find_by_carrier_id(&self.connector, &candidates).await {
            Ok(Some(message_id)) => self.emit(message_id, report),
            Ok(None) => {
                // Probably ahead of its submit_sm_resp: wait for it under every form of the id.
                let mut early = self.early.lock().expect("poisoned");
                for c in candidates {
                    early.insert(c, report.clone());
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot look up a receipt's message");
                // The carrier is told to send it again later.
                report.durable.done(false);
            }
        }
    }

    /// Looks again for receipts that were early; gives up on old ones (orphans).
    pub(super) async fn retry_early(&self) {
        let stale: Vec<(String, Report)> = {
            let mut early = self.early.lock().expect("poisoned");
            let keys: Vec<String> = early
                .iter()
                .filter(|(_, r)| r.received.elapsed() > Duration::from_secs(2))
                .map(|(k, _)| k.clone())
                .collect();
            keys.into_iter().filter_map(|k| early.remove(&k).map(|r| (k, r))).collect()
        };
        let mut seen = std::collections::HashSet::new();
        for (key, report) in stale {
            if !seen.insert(report.carrier_id.clone()) {
                continue;
            }
            let candidates = ids::alternates(&report.carrier_id);
            let found = match self.lookup_recent(&candidates) {
                Some(m) => Some(m),
                None => self.store.find_by_carrier_id(&self.connector, &candidates).await.ok().flatten(),
            };
            match found {
                Some(message_id) => self.emit(message_id, report),
                None if report.received.elapsed() > EARLY_RECEIPT_WAIT => {
                    metrics::counter!("textbird_orphan_reports_total").increment(1);
                    tracing::warn!(connector = %self.connector, carrier_id = %report.carrier_id, "delivery report for an unknown message");
                    // Sending it again would not find the message either.
                    report.durable.done(true);
                }
                None => {
                    self.early.lock().expect("poisoned").insert(key, report);
                }
            }
        }
    }

    fn emit(&self, message_id: String, r: Report) {
        // The id stays as the carrier gave it at submission; the receipt may spell it otherwise.
        let event = CarrierEvent::Report {
            connector: self.connector.clone(),
            message_id: Some(message_id),
            carrier_id: String::new(),
            status: r.status,
            error_code: r.error_code,
            detail: Some(r.detail),
            durable: r.durable.clone(),
        };
        if self.events.try_send(event).is_err() {
            // The carrier is answered with a temporary error and sends it again.
            tracing::error!(connector = %self.connector, "carrier event queue full; a delivery report is refused for now");
            r.durable.done(false);
        }
    }
}
