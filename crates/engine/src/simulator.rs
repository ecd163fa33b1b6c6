//! The built-in simulated carrier: accepts submissions after a configurable latency, reports
//! delivery after a configurable delay with outcomes drawn by configured ratios, and takes
//! injected inbound messages. It produces exactly the events a real carrier connection does.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::RngExt;
use textbird_config::SimulatorSettings;
use textbird_store::DispatchItem;
use textbird_types::{Status, now_millis};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::carrier_events::CarrierEvent;
use crate::connector::{Connector, SubmitOutcome};

/// Reports waiting for their delivery time.
const PENDING_REPORTS: usize = 1 << 20;

pub struct Simulator {
    name: String,
    window: usize,
    tps: u32,
    settings: SimulatorSettings,
    next_id: AtomicU64,
    reports: mpsc::Sender<(Instant, CarrierEvent)>,
    handsets: Option<crate::Handsets>,
}

impl Simulator {
    /// `window` and `tps` come from the connector's `[[connectors]]` entry.
    pub fn new(
        name: String,
        window: usize,
        tps: u32,
        settings: SimulatorSettings,
        events: mpsc::Sender<CarrierEvent>,
    ) -> Self {
        let (reports, rx) = mpsc::channel(PENDING_REPORTS);
        tokio::spawn(report_when_due(rx, events));
        let seed = now_millis().unsigned_abs() << 20;
        Self { name, window, tps, settings, next_id: AtomicU64::new(seed), reports, handsets: None }
    }

    /// Shows what this simulator delivers on the recipients' simulated phones.
    pub fn with_handsets(mut self, handsets: crate::Handsets) -> Self {
        self.handsets = Some(handsets);
        self
    }

    fn draw(&self) -> Status {
        let s = &self.settings;
        let total = s.delivered + s.undelivered + s.expired + s.rejected;
        let mut x = rand::rng().random::<f64>() * total;
        for (weight, status) in [
            (s.delivered, Status::Delivered),
            (s.undelivered, Status::Undelivered),
            (s.expired, Status::Expired),
            (s.rejected, Status::Rejected),
        ] {
            if x < weight {
                return status;
            }
            x -= weight;
        }
        Status::Delivered
    }
}

/// The delay is the same for every message, so reports come due in the order they were
/// queued: a FIFO replaces a timer per message.
async fn report_when_due(mut rx: mpsc::Receiver<(Instant, CarrierEvent)>, events: mpsc::Sender<CarrierEvent>) {
    let mut pending: VecDeque<(Instant, CarrierEvent)> = VecDeque::new();
    loop {
        if pending.is_empty() {
            match rx.recv().await {
                Some(item) => pending.push_back(item),
                None => return,
            }
        }
        while let Ok(item) = rx.try_recv() {
            pending.push_back(item);
        }
        let due = pending.front().map(|(at, _)| *at).expect("not empty");
        tokio::select! {
            () = tokio::time::sleep_until(due) => {
                let now = Instant::now();
                while pending.front().is_some_and(|(at, _)| *at <= now) {
                    let (_, ev) = pending.pop_front().expect("checked");
                    if events.send(ev).await.is_err() {
                        return;
                    }
                }
            }
            item = rx.recv() => match item {
                Some(item) => pending.push_back(item),
                None if pending.is_empty() => return,
                None => {}
            },
        }
    }
}

/// Reports recovered per start-up at most; more would wait for the next start.
const RECOVER_LIMIT: u32 = 1_000_000;

impl Simulator {
    /// A real carrier still sends the reports of messages it took before we restarted; the
    /// simulator's pending reports lived in memory, so it draws them again for every message
    /// of this connector still waiting for one.
    pub async fn recover(self: std::sync::Arc<Self>, store: textbird_store::Store) {
        let pending = match store.awaiting_report(&self.name, RECOVER_LIMIT).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "simulator cannot read messages awaiting reports");
                return;
            }
        };
        if !pending.is_empty() {
            tracing::info!(count = pending.len(), connector = %self.name, "re-sending delivery reports lost at restart");
        }
        for (id, carrier_id) in pending {
            // Rejection happens at submission; these were already taken.
            let outcome = match self.draw() {
                Status::Rejected => Status::Delivered,
                other => other,
            };
            let due = Instant::now() + Duration::from_millis(self.settings.delivery_delay_ms);
            if self.reports.send((due, self.report(id, carrier_id, outcome))).await.is_err() {
                return;
            }
        }
    }

    fn report(&self, message_id: String, carrier_id: String, outcome: Status) -> CarrierEvent {
        let (error_code, stat) = match outcome {
            Status::Undelivered => (Some("001".to_owned()), "UNDELIV"),
            Status::Expired => (Some("002".to_owned()), "EXPIRED"),
            _ => (None, "DELIVRD"),
        };
        CarrierEvent::Report {
            connector: self.name.clone(),
            message_id: Some(message_id),
            carrier_id,
            status: outcome,
            error_code,
            detail: Some(format!("stat:{stat}")),
            durable: crate::carrier_events::Durable::none(),
        }
    }
}

#[async_trait::async_trait]
impl Connector for Simulator {
    fn name(&self) -> &str {
        &self.name
    }
    fn is_up(&self) -> bool {
        true
    }
    fn window(&self) -> usize {
        self.window
    }
    fn tps(&self) -> u32 {
        self.tps
    }

    async fn submit(&self, item: &DispatchItem) -> SubmitOutcome {
        if self.settings.submit_latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(self.settings.submit_latency_ms)).await;
        }
        let outcome = self.draw();
        if outcome == Status::Rejected {
            return SubmitOutcome::Permanent {
                code: "0x00000045".into(),
                detail: "simulated rejection (ESME_RSUBMITFAIL)".into(),
            };
        }
        let carrier_id = format!("{:x}", self.next_id.fetch_add(1, Ordering::Relaxed));
        let report = self.report(item.id.clone(), carrier_id.clone(), outcome);
        if outcome == Status::Delivered
            && let Some(handsets) = &self.handsets
        {
            handsets.deliver(crate::HandsetMessage {
                message_id: item.id.clone(),
                account_id: item.account_id.clone(),
                from: item.sender.clone(),
                to: item.to.clone(),
                body: item.body.clone(),
                received_at: now_millis() + self.settings.delivery_delay_ms as i64,
            });
        }
        let due = Instant::now() + Duration::from_millis(self.settings.delivery_delay_ms);
        // A full report queue only delays the report; the submission itself succeeded.
        let _ = self.reports.send((due, report)).await;
        SubmitOutcome::Accepted { carrier_id }
    }
}
