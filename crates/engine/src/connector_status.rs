//! What each connector is doing now, for operators (`GET /v1/admin/connectors`, metrics):
//! bound or not, window in use, recent throughput, queued messages, last error, reconnects,
//! and whether an operator paused it. A paused connector keeps its bind but is handed no
//! messages; pauses live in the database, so every node on it honours them.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde::Serialize;
use textbird_store::Store;
use tokio::sync::{Semaphore, watch};

use crate::connector::Connector;

/// How often each node rereads the paused connectors (pauses made elsewhere reach it within).
pub const PAUSE_POLL: Duration = Duration::from_millis(500);
/// Throughput is averaged over this many seconds.
const THROUGHPUT_SECS: u64 = 10;

/// One connector's live state.
pub struct ConnectorState {
    name: String,
    kind: &'static str,
    paused: AtomicBool,
    reconnects: AtomicU64,
    last_error: Mutex<Option<String>>,
    /// Accepted submissions per second, for the last `THROUGHPUT_SECS`.
    accepted: Mutex<VecDeque<(u64, u64)>>,
    started: Instant,
    connector: OnceLock<Arc<dyn Connector>>,
    window: OnceLock<(Arc<Semaphore>, usize)>,
    queue: OnceLock<Box<dyn Fn() -> usize + Send + Sync>>,
}

impl ConnectorState {
    pub(crate) fn new(name: &str, kind: &'static str) -> Arc<Self> {
        // Registered at 0 from the start, so alerts on them fire for a connector that never bound.
        if kind == "smpp" {
            metrics::gauge!("textbird_smpp_bound", "connector" => name.to_owned()).set(0.0);
            metrics::counter!("textbird_smpp_reconnects_total", "connector" => name.to_owned()).absolute(0);
        }
        metrics::gauge!("textbird_connector_paused", "connector" => name.to_owned()).set(0.0);
        Arc::new(Self {
            name: name.to_owned(),
            kind,
            paused: AtomicBool::new(false),
            reconnects: AtomicU64::new(0),
            last_error: Mutex::new(None),
            accepted: Mutex::new(VecDeque::new()),
            started: Instant::now(),
            connector: OnceLock::new(),
            window: OnceLock::new(),
            queue: OnceLock::new(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Acquire)
    }

    /// Paused when `paused` (the names stored in the database) names it.
    pub fn set_paused_from(&self, paused: &[String]) {
        self.set_paused(paused.iter().any(|p| *p == self.name));
    }

    pub(crate) fn set_paused(&self, paused: bool) {
        if self.paused.swap(paused, Ordering::AcqRel) != paused {
            tracing::info!(connector = %self.name, paused, "connector {}", if paused { "paused" } else { "resumed" });
        }
        metrics::gauge!("textbird_connector_paused", "connector" => self.name.clone()).set(f64::from(u8::from(paused)));
    }

    pub(crate) fn reconnected(&self) {
        self.reconnects.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn error(&self, e: impl Into<String>) {
        *self.last_error.lock().expect("poisoned") = Some(e.into());
    }

    pub(crate) fn accepted(&self) {
        let sec = self.started.elapsed().as_secs();
        let mut q = self.accepted.lock().expect("poisoned");
        match q.back_mut() {
            Some((s, n)) if *s == sec => *n += 1,
            _ => q.push_back((sec, 1)),
        }
        while q.front().is_some_and(|(s, _)| *s + THROUGHPUT_SECS < sec) {
            q.pop_front();
        }
    }

    pub(crate) fn attach(&self, connector: Arc<dyn Connector>) {
        let _ = self.connector.set(connector);
    }

    pub(crate) fn attach_window(&self, window: Arc<Semaphore>, size: usize) {
        let _ = self.window.set((window, size));
    }

    pub(crate) fn attach_queue(&self, len: Box<dyn Fn() -> usize + Send + Sync>) {
        let _ = self.queue.set(len);
    }

    fn throughput(&self) -> f64 {
        let sec = self.started.elapsed().as_secs();
        let q = self.accepted.lock().expect("poisoned");
        let n: u64 = q.iter().filter(|(s, _)| *s + THROUGHPUT_SECS > sec && *s < sec).map(|(_, n)| n).sum();
        let span = sec.clamp(1, THROUGHPUT_SECS);
        (n as f64 / span as f64 * 10.0).round() / 10.0
    }

    pub fn status(&self) -> ConnectorStatus {
        ConnectorStatus {
            name: self.name.clone(),
            kind: self.kind.to_owned(),
            bound: self.connector.get().is_some_and(|c| c.is_up()),
            window_in_use: self.window.get().map_or(0, |(w, size)| size.saturating_sub(w.available_permits())),
            throughput: self.throughput(),
            queue_depth: self.queue.get().map_or(0, |f| f()),
            last_error: self.last_error.lock().expect("poisoned").clone(),
            reconnects: self.reconnects.load(Ordering::Relaxed),
            paused: self.is_paused(),
        }
    }
}

/// A connector's state at one moment.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectorStatus {
    pub name: String,
    /// `simulator` or `smpp`.
    pub kind: String,
    pub bound: bool,
    /// Submissions waiting for the carrier's answer.
    pub window_in_use: usize,
    /// Accepted submissions per second, averaged over the last 10 s.
    pub throughput: f64,
    /// Messages handed to this connector on this node and not yet submitted.
    pub queue_depth: usize,
    pub last_error: Option<String>,
    pub reconnects: u64,
    pub paused: bool,
}

/// Every configured connector of this node, in configuration order.
#[derive(Clone, Default)]
pub struct ConnectorBoard(Arc<Vec<Arc<ConnectorState>>>);

impl ConnectorBoard {
    pub(crate) fn new(states: Vec<Arc<ConnectorState>>) -> Self {
        Self(Arc::new(states))
    }

    pub fn get(&self, name: &str) -> Option<&Arc<ConnectorState>> {
        self.0.iter().find(|s| s.name == name)
    }

    pub fn statuses(&self) -> Vec<ConnectorStatus> {
        self.0.iter().map(|s| s.status()).collect()
    }

    /// Applies the paused set stored in the database.
    pub fn apply_pauses(&self, paused: &[String]) {
        for s in self.0.iter() {
            s.set_paused(paused.iter().any(|p| *p == s.name));
        }
    }

    /// Rereads the paused connectors every `PAUSE_POLL` until `stop`.
    pub(crate) async fn follow_pauses(self, store: Store, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            match store.paused_connectors().await {
                Ok(paused) => self.apply_pauses(&paused),
                Err(e) => tracing::warn!(error = %e, "cannot read the paused connectors"),
            }
            tokio::select! {
                () = tokio::time::sleep(PAUSE_POLL) => {}
                _ = stop.changed() => {}
            }
        }
    }
}
