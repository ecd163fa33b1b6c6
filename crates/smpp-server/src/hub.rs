//! Where `deliver_sm`s for customers wait: receipts for messages submitted with
//! `registered_delivery`, and inbound messages to the account's numbers. They go to one of
//! the account's bound receivers (or transceivers), or wait in a bounded queue per account
//! until one binds. Final states come from this node's writer; where nodes share a
//! database, those recorded by other nodes are looked up every few seconds.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use textbird_app::App;
use textbird_app::Notice;
use textbird_smpp::pdu::ShortMessage;
use textbird_smpp::receipt::{self, Receipt, State};
use textbird_smpp::wire;
use tokio::sync::{broadcast, mpsc, watch};

/// `deliver_sm`s kept per account while none of its receivers is bound.
const QUEUE_PER_ACCOUNT: usize = 100_000;
/// Messages whose receipts are awaited, at most (the oldest are forgotten first).
const WANTED_MAX: usize = 2_000_000;
/// `deliver_sm`s buffered per bound session.
pub(crate) const SESSION_BUFFER: usize = 1024;
/// Where nodes share a database, another node may record a message's final state (this node
/// never hears of it): awaited receipts are looked up this often...
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(2);
/// ...the oldest this many at a time.
const SWEEP_BATCH: usize = 5_000;
/// Inbound messages received by other nodes are looked for this far back (their clocks
/// and commits may lag), de-duplicated against the ids already passed on.
const INBOUND_LOOKBACK_MS: i64 = 10_000;
/// Inbound messages looked up per account and sweep.
const INBOUND_BATCH: u32 = 5_000;
/// Inbound message ids remembered as passed on.
const SEEN_INBOUND_MAX: usize = 200_000;

/// A bound receiver: its id and where its `deliver_sm`s go.
type Receiver = (u64, mpsc::Sender<ShortMessage>);

#[derive(Default)]
pub(crate) struct Hub {
    receivers: Mutex<HashMap<String, Vec<Receiver>>>,
    queued: Mutex<HashMap<String, VecDeque<ShortMessage>>>,
    /// message id → account, for messages submitted with `registered_delivery`.
    wanted: Mutex<(HashMap<String, String>, VecDeque<String>)>,
    /// Accounts that have bound over SMPP since start: only they get inbound messages queued.
    /// With each, the time from which inbound messages received by other nodes are owed.
    smpp_accounts: Mutex<HashMap<String, i64>>,
    /// Inbound messages already passed on (from this node's notices or a sweep), newest last.
    seen_inbound: Mutex<(HashSet<String>, VecDeque<String>)>,
    next_id: AtomicU64,
}

impl Hub {
    pub(crate) fn start(notices: broadcast::Receiver<Arc<Notice>>, app: App, stop: watch::Receiver<bool>) -> Arc<Hub> {
        let hub = Arc::new(Hub::default());
        tokio::spawn(listen(hub.clone(), notices, stop.clone()));
        if app.is_shared() {
            tokio::spawn(sweep(hub.clone(), app, stop));
        }
        hub
    }

    /// The oldest awaited receipts' message ids, dropping ids already answered from the front.
    fn oldest_wanted(&self, n: usize) -> Vec<String> {
        let mut wanted = self.wanted.lock().expect("poisoned");
        let (map, order) = &mut *wanted;
        while order.front().is_some_and(|id| !map.contains_key(id)) {
            order.pop_front();
        }
        order.iter().filter(|id| map.contains_key(*id)).take(n).cloned().collect()
    }

    pub(crate) fn want_receipt(&self, message_id: &str, account_id: &str) {
        let mut wanted = self.wanted.lock().expect("poisoned");
        let (map, order) = &mut *wanted;
        map.insert(message_id.to_owned(), account_id.to_owned());
        order.push_back(message_id.to_owned());
        while order.len() > WANTED_MAX {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
    }

    /// Registers a bound receiver; what waited for the account is handed to it.
    pub(crate) fn attach(&self, account_id: &str) -> (u64, mpsc::Receiver<ShortMessage>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(SESSION_BUFFER);
        self.smpp_accounts
            .lock()
            .expect("poisoned")
            .entry(account_id.to_owned())
            .or_insert_with(textbird_types::now_millis);
        self.receivers.lock().expect("poisoned").entry(account_id.to_owned()).or_default().push((id, tx));
        let waiting = self.queued.lock().expect("poisoned").remove(account_id).unwrap_or_default();
        for sm in waiting {
            self.deliver(account_id, sm);
        }
        (id, rx)
    }

    pub(crate) fn detach(&self, account_id: &str, id: u64) {
        let mut receivers = self.receivers.lock().expect("poisoned");
        if let Some(list) = receivers.get_mut(account_id) {
            list.retain(|(i, _)| *i != id);
            if list.is_empty() {
                receivers.remove(account_id);
            }
        }
    }

    /// Hands `sm` to a bound receiver of the account with room, or queues it.
    pub(crate) fn deliver(&self, account_id: &str, sm: ShortMessage) {
        let mut sm = Some(sm);
        {
            let receivers = self.receivers.lock().expect("poisoned");
            if let Some(list) = receivers.get(account_id) {
                // Spread over the account's receivers, starting at a different one each time.
                let start = self.next_id.fetch_add(1, Ordering::Relaxed) as usize;
                for k in 0..list.len() {
                    let (_, tx) = &list[(start + k) % list.len()];
                    match tx.try_send(sm.take().expect("still here")) {
                        Ok(()) => return,
                        Err(mpsc::error::TrySendError::Full(back) | mpsc::error::TrySendError::Closed(back)) => {
                            sm = Some(back);
                        }
                    }
                }
            }
        }
        let mut queued = self.queued.lock().expect("poisoned");
        let q = queued.entry(account_id.to_owned()).or_default();
        if q.len() >= QUEUE_PER_ACCOUNT {
            q.pop_front();
            metrics::counter!("textbird_smpp_server_dropped_total").increment(1);
        }
        q.push_back(sm.expect("not delivered"));
    }

    fn on_notice(&self, notice: &Notice) {
        match notice {
            Notice::Final { message_id, account_id: _, to, from, status, error_code, created_at, at } => {
                let account = {
                    let mut wanted = self.wanted.lock().expect("poisoned");
                    wanted.0.remove(message_id)
                };
                if let Some(account) = account {
                    self.deliver(
                        &account,
                        receipt_for(message_id, to, from, status, error_code.as_deref(), *created_at, *at),
                    );
                }
            }
            Notice::Inbound { id, account_id, from, to, body, .. } => {
                if self.smpp_accounts.lock().expect("poisoned").contains_key(account_id) && self.first_sight(id) {
                    self.deliver(account_id, inbound_sm(from, to, body));
                }
            }
        }
    }

    /// Whether inbound message `id` is new here (remembered for the next sweeps).
    fn first_sight(&self, id: &str) -> bool {
        let mut seen = self.seen_inbound.lock().expect("poisoned");
        let (set, order) = &mut *seen;
        if !set.insert(id.to_owned()) {
            return false;
        }
        order.push_back(id.to_owned());
        while order.len() > SEEN_INBOUND_MAX {
            if let Some(old) = order.pop_front() {
                set.remove(&old);
            }
        }
        true
    }
}

/// An inbound message as the `deliver_sm` a customer receives.
fn inbound_sm(from: &str, to: &str, body: &str) -> ShortMessage {
    let encoding = textbird_sms::analyze(body).encoding;
    let sm = ShortMessage {
        source: wire::address(from),
        dest: wire::address(to),
        data_coding: encoding.data_coding(),
        short_message: wire::encode_text(body, encoding),
        ..ShortMessage::default()
    };
    if sm.short_message.len() > 254 {
        ShortMessage { message_payload: Some(sm.short_message.clone()), short_message: Vec::new(), ..sm }
    } else {
        sm
    }
}

/// A delivery receipt in the de-facto standard format, with the TLVs that carry the same.
fn receipt_for(
    message_id: &str,
    to: &str,
    from: &str,
    status: &str,
    error_code: Option<&str>,
    created_at: i64,
    at: i64,
) -> ShortMessage {
    let state = match status {
        "delivered" => State::Delivered,
        "undelivered" => State::Undeliverable,
        "expired" => State::Expired,
        "rejected" | "failed" => State::Rejected,
        "deleted" | "canceled" => State::Deleted,
        _ => State::Unknown,
    };
    let err = error_code
        .map(|e| e.trim_start_matches("0x").trim_start_matches('0').chars().take(3).collect::<String>())
        .filter(|e| e.chars().all(|c| c.is_ascii_alphanumeric()) && !e.is_empty())
        .unwrap_or_else(|| "000".into());
    let text = receipt::format(&Receipt {
        id: message_id.to_owned(),
        sub: Some(1),
        dlvrd: Some(u32::from(state == State::Delivered)),
        submit_date: Some(receipt::date(created_at)),
        done_date: Some(receipt::date(at)),
        stat: Some(state.stat().to_owned()),
        err: Some(err),
        text: Some(String::new()),
    });
    ShortMessage {
        source: wire::address(to),
        dest: wire::address(from),
        esm_class: 0x04,
        short_message: text.into_bytes(),
        receipted_message_id: Some(message_id.to_owned()),
        message_state: Some(state.message_state()),
        ..ShortMessage::default()
    }
}

/// Receipts for messages another node finished, and inbound messages another node received:
/// looked up in the database.
async fn sweep(hub: Arc<Hub>, app: App, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(SWEEP_EVERY) => {}
            _ = stop.changed() => if *stop.borrow() { return } else { continue },
        }
        sweep_inbound(&hub, &app).await;
        let ids = hub.oldest_wanted(SWEEP_BATCH);
        if ids.is_empty() {
            continue;
        }
        match app.finished_messages(&ids).await {
            Ok(done) => {
                for m in done {
                    hub.on_notice(&Notice::Final {
                        message_id: m.id,
                        account_id: m.account_id,
                        to: m.to,
                        from: m.sender,
                        status: m.status,
                        error_code: m.error_code,
                        created_at: m.created_at,
                        at: m.updated_at,
                    });
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot look up awaited receipts"),
        }
    }
}

async fn sweep_inbound(hub: &Hub, app: &App) {
    let accounts: Vec<(String, i64)> =
        hub.smpp_accounts.lock().expect("poisoned").iter().map(|(a, t)| (a.clone(), *t)).collect();
    for (account, since) in accounts {
        let from = since.max(textbird_types::now_millis() - INBOUND_LOOKBACK_MS);
        match app.inbound_since(&account, from, INBOUND_BATCH).await {
            Ok(found) => {
                for m in found {
                    if hub.first_sight(&m.id) {
                        hub.deliver(&account, inbound_sm(&m.from, &m.to, &m.body));
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot look up inbound messages"),
        }
    }
}

async fn listen(hub: Arc<Hub>, mut notices: broadcast::Receiver<Arc<Notice>>, mut stop: watch::Receiver<bool>) {
    loop {
        let notice = tokio::select! {
            n = notices.recv() => n,
            _ = stop.changed() => if *stop.borrow() { return } else { continue },
        };
        match notice {
            Ok(n) => hub.on_notice(&n),
            Err(broadcast::error::RecvError::Lagged(n)) => {
                metrics::counter!("textbird_smpp_server_lagged_total").increment(n);
                tracing::warn!(missed = n, "SMPP server fell behind; some receipts were not passed on");
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}
