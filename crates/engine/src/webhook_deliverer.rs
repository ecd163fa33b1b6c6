//! The webhook deliverer: leases due outbox rows, signs and posts them (each endpoint with its
//! own small share of the concurrency, so one slow tenant cannot hold up the others), and
//! records every attempt with what follows from it: done, retry on the ladder or as
//! `Retry-After` asks, give up, or disable the endpoint.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::RngExt;
use textbird_config::WebhookSettings;
use textbird_store::{AttemptResult, DeliveryJob, DeliveryNext, Store};
use textbird_types::now_millis;
use textbird_webhooks::{Outcome, Policy, Sender, classify, retry_delay, signature_header};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinHandle;

/// Deliveries in flight to one endpoint at once.
const PER_ENDPOINT: usize = 4;
/// Safety-net scan interval when nothing signals new deliveries.
const SAFETY_SCAN: Duration = Duration::from_secs(1);
/// A delivery skipped because its endpoint is saturated comes back after its lease; the
/// lease beyond the timeout covers recording the outcome.
const LEASE_MARGIN_MS: i64 = 15_000;
const USER_AGENT: &str = concat!("Textbird-Webhooks/", env!("CARGO_PKG_VERSION"));

struct Deliverer {
    store: Store,
    sender: Sender,
    global: Arc<Semaphore>,
    endpoints: Mutex<HashMap<String, Arc<Semaphore>>>,
    results: mpsc::UnboundedSender<AttemptResult>,
}

pub(crate) fn spawn(store: Store, settings: &WebhookSettings, stop: watch::Receiver<bool>) -> JoinHandle<()> {
    let policy = Policy { allow_private_networks: settings.allow_private_networks };
    let timeout = Duration::from_secs(settings.timeout_secs.max(1));
    let sender = Sender::new(policy, timeout).expect("the HTTP client builds with static settings");
    let (results, results_rx) = mpsc::unbounded_channel();
    tokio::spawn(record(store.clone(), results_rx));
    let deliverer = Arc::new(Deliverer {
        store,
        sender,
        global: Arc::new(Semaphore::new(settings.concurrency.max(1))),
        endpoints: Mutex::new(HashMap::new()),
        results,
    });
    let lease_ms = timeout.as_millis() as i64 + LEASE_MARGIN_MS;
    tokio::spawn(run(deliverer, lease_ms, stop))
}

async fn run(d: Arc<Deliverer>, lease_ms: i64, mut stop: watch::Receiver<bool>) {
    let signals = d.store.signals().clone();
    while !*stop.borrow() {
        let free = d.global.available_permits() as u32;
        let now = now_millis();
        let jobs = if free == 0 {
            Vec::new()
        } else {
            match d.store.claim_deliveries(now, now + lease_ms, free).await {
                Ok(jobs) => jobs,
                Err(e) => {
                    tracing::error!(error = %e, "cannot claim webhook deliveries");
                    Vec::new()
                }
            }
        };
        if jobs.is_empty() {
            tokio::select! {
                () = signals.deliveries_ready() => {}
                () = tokio::time::sleep(SAFETY_SCAN) => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        for job in jobs {
            let key = job.webhook_id.clone().unwrap_or_else(|| job.url.clone());
            let endpoint = d
                .endpoints
                .lock()
                .expect("poisoned")
                .entry(key)
                .or_insert_with(|| Arc::new(Semaphore::new(PER_ENDPOINT)))
                .clone();
            // A saturated endpoint's delivery waits out its lease instead of a slot.
            let Ok(endpoint_permit) = endpoint.try_acquire_owned() else { continue };
            let Ok(global_permit) = d.global.clone().try_acquire_owned() else { continue };
            let d = d.clone();
            tokio::spawn(async move {
                let result = d.attempt(&job).await;
                drop((endpoint_permit, global_permit));
                let _ = d.results.send(result);
            });
        }
    }
}

impl Deliverer {
    async fn attempt(&self, job: &DeliveryJob) -> AttemptResult {
        let started = Instant::now();
        let now = now_millis();
        let attempt_no = (job.attempts + 1) as u32;
        let timestamp = now / 1000;
        let secrets =
            self.store.signing_secrets(&job.account_id, job.webhook_id.as_deref(), now).await.unwrap_or_default();
        let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let body = job.payload.as_bytes().to_vec();
        let (status_code, error, next) = match signature_header(&refs, &job.id, timestamp, &body) {
            Err(e) => (None, Some(format!("cannot sign: {e}")), DeliveryNext::Dead),
            Ok(signature) => {
                let headers = [
                    ("content-type", "application/json".to_owned()),
                    ("user-agent", USER_AGENT.to_owned()),
                    ("webhook-id", job.id.clone()),
                    ("webhook-timestamp", timestamp.to_string()),
                    ("webhook-signature", signature),
                ];
                match self.sender.post(&job.url, &headers, body).await {
                    Ok(resp) => {
                        let next = match classify(resp.status) {
                            Outcome::Success => DeliveryNext::Succeeded,
                            Outcome::Disable if job.webhook_id.is_some() => {
                                DeliveryNext::DisableEndpoint("the endpoint answered 410 Gone".into())
                            }
                            Outcome::Disable => DeliveryNext::Dead,
                            Outcome::RetryAfterHonoured => retry(attempt_no, now, resp.retry_after),
                            Outcome::Retry => retry(attempt_no, now, None),
                        };
                        let error = (!matches!(next, DeliveryNext::Succeeded)).then(|| format!("HTTP {}", resp.status));
                        (Some(resp.status), error, next)
                    }
                    Err(e) => (None, Some(e.to_string()), retry(attempt_no, now, None)),
                }
            }
        };
        metrics::counter!("textbird_webhook_attempts_total", "outcome" => if next == DeliveryNext::Succeeded { "success" } else { "failure" })
            .increment(1);
        AttemptResult {
            delivery_id: job.id.clone(),
            account_id: job.account_id.clone(),
            webhook_id: job.webhook_id.clone(),
            status_code,
            error,
            duration_ms: started.elapsed().as_millis() as i64,
            at: now_millis(),
            next,
        }
    }
}

/// The next attempt's time on the ladder, later if the receiver asked for more time.
fn retry(attempt_no: u32, now: i64, retry_after: Option<Duration>) -> DeliveryNext {
    match retry_delay(attempt_no, rand::rng().random::<f64>()) {
        None => DeliveryNext::Dead,
        Some(ladder) => {
            let wait = retry_after.map_or(ladder, |asked| asked.max(ladder));
            DeliveryNext::RetryAt(now + wait.as_millis() as i64)
        }
    }
}

/// Writes attempt outcomes in batches.
async fn record(store: Store, mut rx: mpsc::UnboundedReceiver<AttemptResult>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while let Ok(r) = rx.try_recv() {
            batch.push(r);
        }
        while let Err(e) = store.record_attempts(batch.clone()).await {
            tracing::error!(error = %e, "cannot record webhook attempts; retrying");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}
