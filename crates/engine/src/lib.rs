//! Textbird's background work: the dispatcher that leases due messages and hands them to
//! connectors (with routing, throttles, windows and retries), the built-in simulated carrier,
//! the handler for what carriers report back (delivery reports, inbound messages and their
//! opt-out keywords), the webhook deliverer, and housekeeping. Everything here talks to the
//! database only through `textbird-store`.

mod carrier_events;
mod connector;
mod dispatcher;
mod handsets;
pub mod keywords;
mod maintenance;
mod router;
mod simulator;
mod smpp_client;
mod status_sink;
mod throttle;
mod webhook_deliverer;

use std::sync::Arc;
use std::time::Duration;

use textbird_config::{ConnectorKind, Settings};
use textbird_store::Store;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub use carrier_events::{CarrierEvent, Durable};
pub use connector::{Connector, Retry, SubmitOutcome};
pub use handsets::{HandsetMessage, Handsets};
pub use router::Router;
pub use simulator::Simulator;
pub use throttle::TokenBucket;

/// Renders a native webhook payload (`{"type","timestamp","data"}`; message events' `data`
/// also carries the message's `body`) in an endpoint's own shape, or `None` when the shape
/// has nothing for the event. Front ends that define their own callback shapes provide these.
pub type PayloadFormat = fn(event_type: &str, payload: &serde_json::Value) -> Option<serde_json::Value>;
/// The webhook shapes besides `native`, by name.
pub type PayloadFormats = std::collections::HashMap<&'static str, PayloadFormat>;

/// Carrier reports waiting to be handled; connectors wait when it is full.
const CARRIER_EVENT_QUEUE: usize = 65_536;

/// The running background workers of one node.
pub struct Engine {
    events: mpsc::Sender<CarrierEvent>,
    stop: watch::Sender<bool>,
    links_stop: watch::Sender<bool>,
    links: Vec<Arc<smpp_client::SmppConnector>>,
    dispatcher: JoinHandle<()>,
    others: Vec<JoinHandle<()>>,
    sink: status_sink::StatusSink,
    handsets: Handsets,
}

/// Errors that keep the engine from starting.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("connector {0:?}: {1}")]
    Misconfigured(String, String),
}

impl Engine {
    /// Starts every worker. `node_id` names this node's leases.
    pub fn start(
        store: Store,
        settings: &Settings,
        node_id: String,
        formats: PayloadFormats,
    ) -> Result<Engine, EngineError> {
        let (events_tx, events_rx) = mpsc::channel(CARRIER_EVENT_QUEUE);
        let (stop, stop_rx) = watch::channel(false);
        let sink = status_sink::StatusSink::spawn(store.clone());
        let (links_stop, links_stop_rx) = watch::channel(false);
        let mut links = Vec::new();
        let mut connectors: Vec<Arc<dyn Connector>> = Vec::new();
        let handsets = Handsets::default();
        for c in &settings.connectors {
            match c.kind {
                ConnectorKind::Simulator => {
                    let sim = Arc::new(
                        Simulator::new(
                            c.name.clone(),
                            c.window as usize,
                            c.tps,
                            settings.simulator.clone(),
                            events_tx.clone(),
                        )
                        .with_handsets(handsets.clone()),
                    );
                    tokio::spawn(sim.clone().recover(store.clone()));
                    connectors.push(sim);
                }
                ConnectorKind::Smpp => {
                    if c.host.is_empty() || c.port == 0 {
                        return Err(EngineError::Misconfigured(c.name.clone(), "host and port are required".into()));
                    }
                    let link = smpp_client::SmppConnector::start(
                        c.clone(),
                        store.clone(),
                        events_tx.clone(),
                        links_stop_rx.clone(),
                    );
                    links.push(link.clone());
                    connectors.push(link);
                }
            }
        }
        let router = Router::new(&settings.routes);
        let dispatcher =
            dispatcher::Dispatcher::new(store.clone(), settings, node_id, router, connectors, sink.clone())
                .spawn(stop_rx.clone());
        let others = vec![
            tokio::spawn(carrier_events::run(store.clone(), settings.messages.clone(), events_rx, sink.clone())),
            webhook_deliverer::spawn(store.clone(), &settings.webhooks, formats, stop_rx.clone()),
            tokio::spawn(maintenance::run(store, settings.messages.clone(), stop_rx)),
        ];
        Ok(Engine { events: events_tx, stop, links_stop, links, dispatcher, others, sink, handsets })
    }

    /// Where connectors (and the simulator's inbound injection) report to.
    pub fn carrier_events(&self) -> mpsc::Sender<CarrierEvent> {
        self.events.clone()
    }

    /// What the simulated carrier's recipients' phones show.
    pub fn handsets(&self) -> Handsets {
        self.handsets.clone()
    }

    /// Stops claiming new work, lets submissions in flight finish (up to `grace`), records
    /// their outcomes, then stops the other workers.
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(grace, self.dispatcher).await.is_err() {
            tracing::warn!("dispatcher did not finish in time; leased messages will be retried");
        }
        self.sink.flush().await;
        // Carrier links unbind only after the last submission's answer is in.
        let _ = self.links_stop.send(true);
        for link in &self.links {
            link.stopped(Duration::from_secs(3)).await;
        }
        for h in self.others {
            h.abort();
        }
    }
}
