//! The webhook deliverer: leases due outbox rows, signs and posts them (each endpoint with its
//! own small share of the concurrency, so one slow tenant cannot hold up the others), and
//! records every attempt with what follows from it: done, retry on the ladder or as
//! `Retry-After` asks, give up, or disable the endpoint.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::RngExt;
use textbird_config::WebhookSettings;

use crate::PayloadFormats;
use textbird_store::{AttemptResult, DeliveryJob, DeliveryNext, Store, StoreError};
use textbird_types::now_millis;
use textbird_webhooks::{Outcome, Policy, Sender, classify, retry_delay, signature_header};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinHandle;

/// Deliveries in flight to one endpoint at once.
const PER_ENDPOINT: usize = 4;
/// Deliveries one endpoint may have claimed and waiting for its slots; more are handed back
/// to the queue, so a slow endpoint holds only this much of the node's backlog.
const PER_ENDPOINT_WAITING: usize = 64;
/// Claimed deliveries a node holds (posting or waiting), per unit of concurrency.
const BACKLOG_PER_SLOT: usize = 8;
/// When a delivery handed back (its endpoint was saturated) is due again.
const HAND_BACK_MS: i64 = 1_000;
/// Safety-net scan interval when nothing signals new deliveries.
const SAFETY_SCAN: Duration = Duration::from_secs(1);
/// The lease beyond the timeout covers recording the outcome.
const LEASE_MARGIN_MS: i64 = 15_000;
const USER_AGENT: &str = concat!("Textbird-Webhooks/", env!("CARGO_PKG_VERSION"));

struct Deliverer {
    store: Store,
    sender: Sender,
    timeout: Duration,
    /// Posts in flight.
    global: Arc<Semaphore>,
    /// Claimed deliveries held (posting or waiting for their endpoint).
    backlog: Arc<Semaphore>,
    endpoints: Mutex<HashMap<String, Arc<Endpoint>>>,
    results: mpsc::UnboundedSender<AttemptResult>,
    formats: PayloadFormats,
}

/// One endpoint's slots and how many claimed deliveries wait for them.
struct Endpoint {
    slots: Arc<Semaphore>,
    waiting: std::sync::atomic::AtomicUsize,
}

pub(crate) fn spawn(
    store: Store,
    settings: &WebhookSettings,
    formats: PayloadFormats,
    stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let policy = Policy { allow_private_networks: settings.allow_private_networks };
    let timeout = Duration::from_secs(settings.timeout_secs.max(1));
    let sender = Sender::new(policy, timeout).expect("the HTTP client builds with static settings");
    let (results, results_rx) = mpsc::unbounded_channel();
    tokio::spawn(record(store.clone(), results_rx));
    let deliverer = Arc::new(Deliverer {
        store,
        sender,
        timeout,
        global: Arc::new(Semaphore::new(settings.concurrency.max(1))),
        backlog: Arc::new(Semaphore::new(settings.concurrency.max(1) * BACKLOG_PER_SLOT)),
        endpoints: Mutex::new(HashMap::new()),
        results,
        formats,
    });
    let lease_ms = timeout.as_millis() as i64 + LEASE_MARGIN_MS;
    tokio::spawn(run(deliverer, lease_ms, stop))
}

async fn run(d: Arc<Deliverer>, lease_ms: i64, mut stop: watch::Receiver<bool>) {
    use std::sync::atomic::Ordering;
    let signals = d.store.signals().clone();
    while !*stop.borrow() {
        let free = d.backlog.available_permits() as u32;
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
        let mut handed_back = Vec::new();
        let mut taken = 0;
        for job in jobs {
            let key = job.webhook_id.clone().unwrap_or_else(|| job.url.clone());
            let endpoint = d
                .endpoints
                .lock()
                .expect("poisoned")
                .entry(key)
                .or_insert_with(|| {
                    Arc::new(Endpoint { slots: Arc::new(Semaphore::new(PER_ENDPOINT)), waiting: 0.into() })
                })
                .clone();
            let Ok(held) = d.backlog.clone().try_acquire_owned() else {
                handed_back.push(job.id);
                continue;
            };
            if endpoint.waiting.fetch_add(1, Ordering::AcqRel) >= PER_ENDPOINT_WAITING {
                endpoint.waiting.fetch_sub(1, Ordering::AcqRel);
                handed_back.push(job.id);
                continue;
            }
            taken += 1;
            // Posted only while enough of the lease is left to record the outcome before
            // another scan may take the delivery over; otherwise the lease decides.
            let deadline = tokio::time::Instant::now()
                + Duration::from_millis(u64::try_from(lease_ms).unwrap_or(0))
                    .saturating_sub(d.timeout + Duration::from_secs(1));
            let d = d.clone();
            tokio::spawn(async move {
                let permits = tokio::time::timeout_at(deadline, async {
                    let slot = endpoint.slots.clone().acquire_owned().await.expect("never closed");
                    let global = d.global.clone().acquire_owned().await.expect("never closed");
                    (slot, global)
                })
                .await;
                endpoint.waiting.fetch_sub(1, Ordering::AcqRel);
                let Ok(permits) = permits else { return };
                let result = d.attempt(&job).await;
                drop((permits, held));
                let _ = d.results.send(result);
            });
        }
        if !handed_back.is_empty()
            && let Err(e) = d.store.release_deliveries(&handed_back, now_millis() + HAND_BACK_MS).await
        {
            tracing::warn!(error = %e, "cannot hand webhook deliveries back; their leases will");
        }
        if taken == 0 {
            // Until the next delivery is due (a retry lands on its time, not up to a scan
            // later), new deliveries, or the safety-net scan.
            let wait = until_next_due(&d.store).await;
            tokio::select! {
                () = signals.deliveries_ready() => {}
                () = tokio::time::sleep(wait) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

/// How long until the next pending delivery is due, at most the safety-net scan.
async fn until_next_due(store: &Store) -> Duration {
    match store.next_delivery_due_at().await {
        Ok(Some(at)) => Duration::from_millis((at - now_millis()).clamp(1, SAFETY_SCAN.as_millis() as i64) as u64),
        _ => SAFETY_SCAN,
    }
}

/// The secrets to sign with, or, when they could not be read (the database was briefly
/// away), the error to record and the retry that follows: a blip never ends a delivery.
fn secrets_or_retry(
    read: Result<Vec<String>, StoreError>,
    attempt_no: u32,
    now: i64,
) -> Result<Vec<String>, (String, DeliveryNext)> {
    read.map_err(|e| {
        tracing::warn!(error = %e, "cannot read webhook signing secrets; the delivery will be retried");
        ("the signing secrets could not be read; will retry".to_owned(), retry(attempt_no, now, None))
    })
}

impl Deliverer {
    async fn attempt(&self, job: &DeliveryJob) -> AttemptResult {
        let started = Instant::now();
        let now = now_millis();
        let attempt_no = (job.attempts + 1) as u32;
        let timestamp = now / 1000;
        let read = self.store.signing_secrets(&job.account_id, job.webhook_id.as_deref(), now).await;
        let signed = match secrets_or_retry(read, attempt_no, now) {
            Err(unreadable) => Err(unreadable),
            Ok(secrets) => {
                let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
                let signed = self.body(job).await.and_then(|body| {
                    let signature = signature_header(&refs, &job.id, timestamp, &body)
                        .map_err(|e| (format!("cannot sign: {e}"), false))?;
                    Ok((body, signature))
                });
                signed.map_err(|(e, transient)| {
                    let next = if transient { retry(attempt_no, now, None) } else { DeliveryNext::Dead };
                    (e, next)
                })
            }
        };
        let (status_code, error, next) = match signed {
            Err((e, next)) => (None, Some(e), next),
            Ok((body, signature)) => {
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
        if error.is_some() {
            // The endpoint's id and the HTTP status: never its URL (which may carry a token),
            // the error text (which names the URL) or the payload.
            tracing::warn!(
                webhook = ?job.webhook_id,
                delivery = %job.id,
                status = ?status_code,
                "webhook attempt failed"
            );
        }
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

impl Deliverer {
    /// What to post: the stored payload, or its rendering in the endpoint's own shape. A
    /// message event's rendering also sees the message's text, as it is now. Errors say
    /// whether another attempt may do better.
    async fn body(&self, job: &DeliveryJob) -> Result<Vec<u8>, (String, bool)> {
        let format = job.webhook_id.as_deref().and_then(|id| self.store.webhook_format(&job.account_id, id));
        let Some(format) = format.filter(|f| f != "native") else {
            return Ok(job.payload.as_bytes().to_vec());
        };
        let render =
            self.formats.get(format.as_str()).ok_or_else(|| (format!("unknown webhook format {format:?}"), false))?;
        let mut payload: serde_json::Value =
            serde_json::from_str(&job.payload).map_err(|e| (format!("the stored payload is not JSON: {e}"), false))?;
        if job.event_type.starts_with("message.") && job.event_type != "message.received" {
            let id = payload["data"]["id"].as_str().unwrap_or_default().to_owned();
            let message = self.store.find_message(&job.account_id, &id).await.map_err(|e| {
                // The attempt's error is shown to the account: the cause stays in the log.
                tracing::warn!(error = %e, delivery = %job.id, "cannot read the message a webhook renders");
                ("the message could not be read; will retry".to_owned(), true)
            })?;
            if let (Some(m), Some(data)) = (message, payload["data"].as_object_mut()) {
                data.insert("body".into(), m.body.into());
            }
        }
        let shaped = render(&job.event_type, &payload)
            .ok_or_else(|| (format!("the {format} format has nothing for {}", job.event_type), false))?;
        Ok(shaped.to_string().into_bytes())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_that_cannot_be_read_are_a_retry_not_the_end() {
        let now = 1_000_000;
        let blip = Err(StoreError::Unavailable("connection reset".into()));
        let (error, next) = secrets_or_retry(blip, 1, now).expect_err("no secrets");
        assert!(error.contains("will retry"), "{error}");
        match next {
            DeliveryNext::RetryAt(at) => assert!((now + 4_000..=now + 6_000).contains(&at), "retry at {at}"),
            other => panic!("a blip must be retried, got {other:?}"),
        }
        let read = secrets_or_retry(Ok(vec!["whsec_a".into()]), 1, now);
        assert_eq!(read, Ok(vec!["whsec_a".to_owned()]));
    }
}
