//! The dispatcher: leases due messages from the queue, checks validity, routes each to the
//! first connector that is up, and hands it to that connector's worker, which applies the
//! window (outstanding submissions) and the throttle (messages per second). Outcomes go to
//! the status sink. A carrier that throttles or refuses for now hands the message to the next
//! route at once (failover); with no route left, or when the carrier may have it already, it
//! comes back to the queue with backoff.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::RngExt;
use textbird_config::Settings;
use textbird_store::{Claim, DispatchItem, StatusChange, Store, Taker};
use textbird_types::{Status, now_millis};
use tokio::sync::{Notify, Semaphore, mpsc, watch};
use tokio::task::JoinHandle;

use crate::connector::{Connector, Retry, SubmitOutcome};
use crate::router::Router;
use crate::status_sink::StatusSink;
use crate::throttle::{SharedBudget, TokenBucket};

/// Longest sleep between queue scans when nothing wakes the dispatcher: the safety net for
/// leases that expired and messages written by another process.
const SAFETY_SCAN: Duration = Duration::from_secs(1);
/// Retry delay when every connector for a destination is down.
const ALL_DOWN_RETRY_MS: i64 = 5_000;
/// How long a connector holds back after the carrier says it is throttling us.
const THROTTLED_PAUSE: Duration = Duration::from_secs(1);
pub(crate) struct Dispatcher {
    store: Store,
    owner: String,
    routes: Arc<Routes>,
    sink: StatusSink,
    batch_size: u32,
    lease_ms: i64,
    inflight: Arc<AtomicUsize>,
    room: Arc<Notify>,
    capacity: usize,
}

/// A connector and the queues feeding its worker: one for bulk messages, one for the rest,
/// which the worker always takes first, so a draining broadcast never holds up a single send.
struct Lane {
    connector: Arc<dyn Connector>,
    queue: mpsc::Sender<Routed>,
    bulk: mpsc::Sender<Routed>,
}

impl Lane {
    fn queue_for(&self, item: &DispatchItem) -> &mpsc::Sender<Routed> {
        if item.bulk { &self.bulk } else { &self.queue }
    }
}

/// A leased message on its way to a connector, with the connectors that already said "not
/// now" to it in this claim.
struct Routed {
    item: DispatchItem,
    tried: Vec<String>,
}

/// The routes and the connector lanes, shared by the dispatcher and the workers (which hand a
/// message on to the next route).
struct Routes {
    router: Router,
    lanes: HashMap<String, Lane>,
}

impl Routes {
    /// The first lane for `to` whose connector is up and not in `tried`; and whether any
    /// route matched at all.
    fn next(&self, to: &str, tried: &[String]) -> (Option<&Lane>, bool) {
        let digits = to.trim_start_matches('+');
        let mut any_route = false;
        for name in self.router.candidates(digits) {
            any_route = true;
            if tried.iter().any(|t| t == name) {
                continue;
            }
            if let Some(lane) = self.lanes.get(name).filter(|l| l.connector.is_up()) {
                return (Some(lane), true);
            }
        }
        (None, any_route)
    }
}

/// What a connector worker needs to report outcomes.
#[derive(Clone)]
struct Outcomes {
    sink: StatusSink,
    inflight: Arc<AtomicUsize>,
    room: Arc<Notify>,
    max_attempts: i32,
    lease_ms: i64,
}

impl Outcomes {
    fn done(&self, change: StatusChange) {
        self.sink.push(change);
        self.abandon();
    }

    fn done_holding(&self, change: StatusChange, slot: tokio::sync::OwnedSemaphorePermit) {
        self.sink.push_holding(change, slot);
        self.abandon();
    }

    /// Frees the item's place without recording anything: its lease decides what follows.
    fn abandon(&self) {
        self.inflight.fetch_sub(1, Ordering::AcqRel);
        self.room.notify_one();
    }
}

impl Dispatcher {
    pub(crate) fn new(
        store: Store,
        settings: &Settings,
        owner: String,
        router: Router,
        connectors: Vec<Arc<dyn Connector>>,
        sink: StatusSink,
    ) -> Self {
        let inflight = Arc::new(AtomicUsize::new(0));
        let room = Arc::new(Notify::new());
        let outcomes = Outcomes {
            sink: sink.clone(),
            inflight: inflight.clone(),
            room: room.clone(),
            max_attempts: settings.dispatcher.max_attempts as i32,
            lease_ms: lease_ms(settings),
        };
        let mut capacity = 0;
        let mut lanes = HashMap::new();
        let mut workers = Vec::new();
        for c in connectors {
            // Enough queued per connector to keep its window full for a couple of seconds,
            // far less than a lease lasts.
            let depth = (c.window() * 2 + c.tps() as usize * 2).max(16);
            capacity += depth;
            let (tx, rx) = mpsc::channel(depth);
            let (bulk_tx, bulk_rx) = mpsc::channel(depth);
            // Nodes sharing a database share each connector's messages per second.
            let budget =
                (c.tps() > 0).then(|| SharedBudget::new(store.clone(), format!("connector:{}", c.name()), c.tps()));
            workers.push((c.clone(), Queues { first: rx, bulk: bulk_rx }, budget));
            lanes.insert(c.name().to_owned(), Lane { connector: c, queue: tx, bulk: bulk_tx });
        }
        let table = Arc::new(Routes { router, lanes });
        for (c, queues, budget) in workers {
            tokio::spawn(connector_worker(c, queues, outcomes.clone(), budget, table.clone()));
        }
        Self {
            store,
            owner,
            routes: table,
            sink,
            batch_size: settings.dispatcher.batch_size.max(1),
            lease_ms: lease_ms(settings),
            inflight,
            room,
            capacity,
        }
    }

    pub(crate) fn spawn(self, stop: watch::Receiver<bool>) -> JoinHandle<()> {
        // Messages accepted on this node for sending at once come straight here, leased by
        // their accept (see the store's `handoff.rs`), while there is room for them.
        let (tx, mut handed) = mpsc::unbounded_channel::<Vec<DispatchItem>>();
        self.store.signals().handoff().attach(Taker {
            owner: self.owner.clone(),
            lease_ms: self.lease_ms,
            inflight: self.inflight.clone(),
            capacity: self.capacity,
            room: self.room.clone(),
            tx,
        });
        let (routes, sink, inflight) = (self.routes.clone(), self.sink.clone(), self.inflight.clone());
        tokio::spawn(async move {
            while let Some(items) = handed.recv().await {
                let now = now_millis();
                for item in items {
                    route(&routes, &sink, &inflight, item, now).await;
                }
            }
        });
        tokio::spawn(self.run(stop))
    }

    async fn run(self, mut stop: watch::Receiver<bool>) {
        let signals = self.store.signals().clone();
        while !*stop.borrow() {
            let free = self.capacity.saturating_sub(self.inflight.load(Ordering::Acquire));
            if free == 0 {
                tokio::select! {
                    () = self.room.notified() => {}
                    _ = stop.changed() => {}
                }
                continue;
            }
            let now = now_millis();
            let claim = Claim {
                owner: self.owner.clone(),
                now,
                lease_until: now + self.lease_ms,
                limit: self.batch_size.min(free as u32),
            };
            let items = match self.store.claim_due(claim).await {
                Ok(items) => items,
                Err(e) => {
                    tracing::error!(error = %e, "cannot claim due messages");
                    tokio::time::sleep(SAFETY_SCAN).await;
                    continue;
                }
            };
            if items.is_empty() {
                let wait = self.until_next_due().await;
                tokio::select! {
                    () = signals.messages_ready() => {}
                    () = tokio::time::sleep(wait) => {}
                    _ = stop.changed() => {}
                }
                continue;
            }
            for item in items {
                self.route(item, now).await;
            }
        }
        // Nothing more is handed over; what was (counted in flight) is still routed.
        self.store.signals().handoff().detach();
        // Let what is in flight finish so its outcome is recorded, not retried later.
        while self.inflight.load(Ordering::Acquire) > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.sink.flush().await;
    }

    async fn until_next_due(&self) -> Duration {
        match self.store.next_due_at().await {
            Ok(Some(at)) => Duration::from_millis((at - now_millis()).clamp(1, SAFETY_SCAN.as_millis() as i64) as u64),
            _ => SAFETY_SCAN,
        }
    }

    async fn route(&self, item: DispatchItem, now: i64) {
        self.inflight.fetch_add(1, Ordering::AcqRel);
        route(&self.routes, &self.sink, &self.inflight, item, now).await;
    }
}

/// Sends a message whose place in flight is already counted to the first route that is up, or
/// records why it cannot go.
async fn route(routes: &Routes, sink: &StatusSink, inflight: &AtomicUsize, item: DispatchItem, now: i64) {
    let finish = |change: StatusChange| {
        sink.push(change);
        inflight.fetch_sub(1, Ordering::AcqRel);
    };
    if now > item.valid_until {
        let mut c = StatusChange::new(&item.id, Status::Expired, now);
        c.detail = Some("validity period ended before submission".into());
        return finish(c);
    }
    let (lane, any_route) = routes.next(&item.to, &[]);
    if let Some(lane) = lane {
        if let Err(mpsc::error::SendError(Routed { item, .. })) =
            lane.queue_for(&item).send(Routed { item, tried: Vec::new() }).await
        {
            let mut c = StatusChange::new(&item.id, Status::Queued, now);
            c.retry_at = Some(now + ALL_DOWN_RETRY_MS);
            c.detail = Some("connector stopped".into());
            finish(c);
        }
        return;
    }
    let mut c = StatusChange::new(&item.id, Status::Failed, now);
    if any_route {
        c.status = Status::Queued;
        c.retry_at = Some(now + ALL_DOWN_RETRY_MS);
        c.detail = Some("every connector for this destination is down".into());
    } else {
        c.error_code = Some("no_route".into());
        c.detail = Some(format!("no route for destination prefix of {}", mask(&item.to)));
    }
    finish(c);
}

fn lease_ms(settings: &Settings) -> i64 {
    (settings.dispatcher.lease_secs.max(5) * 1000) as i64
}

fn mask(number: &str) -> String {
    let keep = number.len().min(4);
    format!("{}…", &number[..keep])
}

/// Submits one connector's messages within its window and throttle (this node's bucket and,
/// where nodes share the database, their common budget).
async fn connector_worker(
    connector: Arc<dyn Connector>,
    mut queues: Queues,
    out: Outcomes,
    mut budget: Option<SharedBudget>,
    routes: Arc<Routes>,
) {
    let window = Arc::new(Semaphore::new(connector.window().max(1)));
    let tps = connector.tps();
    let bucket = Arc::new(Mutex::new((tps > 0).then(|| TokenBucket::new(tps, Instant::now()))));
    let paused_until: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    while let Some(Routed { item, tried }) = queues.next().await {
        loop {
            let now = Instant::now();
            let pause = paused_until.lock().expect("poisoned").filter(|t| *t > now);
            let wait = match pause {
                Some(until) => Some(until - now),
                None => bucket.lock().expect("poisoned").as_mut().and_then(|b| b.try_take(now).err()),
            };
            match wait {
                Some(w) => tokio::time::sleep(w).await,
                None => break,
            }
        }
        if let Some(budget) = budget.as_mut() {
            budget.take().await;
        }
        let permit = window.clone().acquire_owned().await.expect("semaphore never closes");
        let now = now_millis();
        if now + out.lease_ms / 2 > item.lease_until {
            // It waited behind the throttle for half its lease: submitted now, its outcome
            // might be recorded after another node took it over. Leave it to the lease's end
            // (it comes back flagged as a possible duplicate, though it was never sent).
            metrics::counter!("textbird_dispatch_lease_lapsed_total").increment(1);
            out.abandon();
            continue;
        }
        if now > item.valid_until {
            // It waited out its validity behind the throttle or the window.
            let mut c = StatusChange::new(&item.id, Status::Expired, now);
            c.detail = Some("validity period ended before submission".into());
            out.done(c);
            continue;
        }
        let (connector, out, paused_until, routes) =
            (connector.clone(), out.clone(), paused_until.clone(), routes.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let outcome = connector.submit(&item).await;
            metrics::histogram!("textbird_submit_seconds", "connector" => connector.name().to_owned())
                .record(started.elapsed().as_secs_f64());
            let now = now_millis();
            let change = match outcome {
                SubmitOutcome::Accepted { carrier_id } => {
                    metrics::histogram!("textbird_dispatch_latency_seconds")
                        .record((now - item.due_at).max(0) as f64 / 1000.0);
                    let mut c = StatusChange::new(&item.id, Status::Submitted, now);
                    c.connector = Some(connector.name().to_owned());
                    c.carrier_id = Some(carrier_id);
                    c
                }
                SubmitOutcome::Temporary { retry, code, detail } => {
                    if retry == Retry::Throttled {
                        *paused_until.lock().expect("poisoned") = Some(Instant::now() + THROTTLED_PAUSE);
                    }
                    if retry != Retry::Unknown {
                        // It certainly did not go out: the next route may take it now.
                        let mut tried = tried;
                        tried.push(connector.name().to_owned());
                        match fail_over(&routes, Routed { item, tried }) {
                            None => {
                                metrics::counter!("textbird_dispatch_failovers_total", "from" => connector.name().to_owned())
                                    .increment(1);
                                drop(permit);
                                return;
                            }
                            Some(back) => {
                                return out.done_holding(
                                    temporary(&back.item, retry, code, detail, now, out.max_attempts),
                                    permit,
                                );
                            }
                        }
                    }
                    temporary(&item, retry, code, detail, now, out.max_attempts)
                }
                SubmitOutcome::Permanent { code, detail } => {
                    let mut c = StatusChange::new(&item.id, Status::Rejected, now);
                    c.connector = Some(connector.name().to_owned());
                    c.error_code = Some(code);
                    c.detail = Some(detail);
                    c
                }
            };
            // The window slot stays taken until the outcome is stored.
            out.done_holding(change, permit);
        });
    }
}

/// A connector worker's two queues.
struct Queues {
    first: mpsc::Receiver<Routed>,
    bulk: mpsc::Receiver<Routed>,
}

impl Queues {
    /// The next message: any of the first queue's before the bulk queue's; `None` once both
    /// are closed and empty.
    async fn next(&mut self) -> Option<Routed> {
        tokio::select! {
            biased;
            Some(m) = self.first.recv() => Some(m),
            Some(m) = self.bulk.recv() => Some(m),
            else => None,
        }
    }
}

/// Hands a message a connector could not take now to the next route's worker, without
/// waiting; gives it back when there is none, or its lane is full (it goes back to the queue).
fn fail_over(table: &Routes, message: Routed) -> Option<Routed> {
    let Some(lane) = table.next(&message.item.to, &message.tried).0 else { return Some(message) };
    match lane.queue_for(&message.item).try_send(message) {
        Ok(()) => None,
        Err(mpsc::error::TrySendError::Full(back) | mpsc::error::TrySendError::Closed(back)) => Some(back),
    }
}

/// Back to the queue with exponential backoff and jitter, or `failed` after the last attempt.
fn temporary(
    item: &DispatchItem,
    retry: Retry,
    code: String,
    detail: String,
    now: i64,
    max_attempts: i32,
) -> StatusChange {
    if item.attempts >= max_attempts {
        let mut c = StatusChange::new(&item.id, Status::Failed, now);
        c.error_code = Some(code);
        c.detail = Some(format!("gave up after {} attempts: {detail}", item.attempts));
        return c;
    }
    let base_ms = 1000_i64 << item.attempts.clamp(0, 8);
    let jitter = rand::rng().random_range(0.8..1.2);
    let mut c = StatusChange::new(&item.id, Status::Queued, now);
    c.retry_at = Some(now + (base_ms as f64 * jitter) as i64);
    // The carrier may have taken it before the link or the answer was lost.
    c.possible_duplicate = retry == Retry::Unknown;
    c.error_code = Some(code);
    c.detail = Some(detail);
    c
}
