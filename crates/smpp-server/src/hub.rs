//! Where `deliver_sm`s for customers come from: receipts for messages submitted with
//! `registered_delivery`, and inbound messages to the account's numbers. Both are kept in the
//! database until one of the account's bound receivers (or transceivers) answers the
//! `deliver_sm` (a durable outbox: a restart or an unbound customer loses none). This node
//! hands out what it finishes itself at once; a sweep hands out the rest (what another node
//! finished or received, what waited while no receiver was bound, what was sent before a
//! restart) and gives up on what waited longer than `[smpp_server] outbox_max_age_secs`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use textbird_app::App;
use textbird_app::Notice;
use textbird_smpp::pdu::ShortMessage;
use textbird_smpp::receipt::{self, Receipt, State};
use textbird_smpp::wire;
use tokio::sync::{broadcast, mpsc, watch};

/// Messages whose receipts this node hands out as soon as they are final, at most (the
/// oldest are left to the sweep).
const WANTED_MAX: usize = 2_000_000;
/// `deliver_sm`s buffered per bound session.
pub(crate) const SESSION_BUFFER: usize = 1024;
/// How often what is owed to bound accounts is looked up...
const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// ...at most this many of each kind per account and sweep...
const SWEEP_BATCH: u32 = 1_000;
/// ...among what finished (or arrived) this long ago: fresher ones are being handed out by
/// the node that finished them.
const SWEEP_GRACE_MS: i64 = 3_000;
/// How often what waited too long is given up on, and the gauges of what is owed refreshed.
const GIVE_UP_EVERY: Duration = Duration::from_secs(30);
/// Answers recorded in one write, at most.
const TAKEN_BATCH: usize = 1_000;

/// What a `deliver_sm` hands out: a receipt (by message id) or an inbound message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Owed {
    Receipt(String),
    Inbound(String),
}

/// A `deliver_sm` and what its answer settles.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub(crate) owed: Owed,
    pub(crate) sm: ShortMessage,
}

/// A bound receiver: its id and where its `deliver_sm`s go.
type Receiver = (u64, mpsc::Sender<Item>);

/// Whose receipt a message is: the account, and the id the customer knows the message by
/// when it is not its own (a `submit_multi`'s).
type Wanted = (String, Option<String>);

pub(crate) struct Hub {
    receivers: Mutex<HashMap<String, Vec<Receiver>>>,
    /// message id → account and the id the customer knows the message by when it is not
    /// its own, for messages this node accepted with `registered_delivery`.
    wanted: Mutex<(HashMap<String, Wanted>, VecDeque<String>)>,
    /// Handed to a session and not yet settled: neither offered again nor swept up.
    handed: Mutex<HashSet<Owed>>,
    /// Accounts recorded as binding receivers (once per run).
    noted: Mutex<HashSet<String>>,
    /// Answered `deliver_sm`s, for the writer of `smpp_taken`.
    taken: mpsc::UnboundedSender<Owed>,
    next_id: AtomicU64,
}

impl Hub {
    pub(crate) fn start(
        notices: broadcast::Receiver<Arc<Notice>>,
        app: App,
        max_age_secs: u64,
        stop: watch::Receiver<bool>,
    ) -> Arc<Hub> {
        let (taken, taken_rx) = mpsc::unbounded_channel();
        let hub = Arc::new(Hub {
            receivers: Mutex::default(),
            wanted: Mutex::default(),
            handed: Mutex::default(),
            noted: Mutex::default(),
            taken,
            next_id: AtomicU64::new(0),
        });
        tokio::spawn(listen(hub.clone(), notices, stop.clone()));
        tokio::spawn(sweep(hub.clone(), app.clone(), stop.clone()));
        tokio::spawn(record_taken(hub.clone(), app.clone(), taken_rx));
        tokio::spawn(give_up(app, max_age_secs, stop));
        hub
    }

    pub(crate) fn want_receipt(&self, message_id: &str, account_id: &str, smpp_ref: Option<&str>) {
        let mut wanted = self.wanted.lock().expect("poisoned");
        let (map, order) = &mut *wanted;
        map.insert(message_id.to_owned(), (account_id.to_owned(), smpp_ref.map(str::to_owned)));
        order.push_back(message_id.to_owned());
        while order.len() > WANTED_MAX {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
    }

    /// Registers a bound receiver; whether the account is yet to be recorded as binding
    /// receivers. What it is owed reaches it with the next sweep.
    pub(crate) fn attach(&self, account_id: &str) -> (u64, mpsc::Receiver<Item>, bool) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(SESSION_BUFFER);
        self.receivers.lock().expect("poisoned").entry(account_id.to_owned()).or_default().push((id, tx));
        let first = self.noted.lock().expect("poisoned").insert(account_id.to_owned());
        (id, rx, first)
    }

    /// Forgets that the account was recorded as binding receivers (the write failed).
    pub(crate) fn unnote(&self, account_id: &str) {
        self.noted.lock().expect("poisoned").remove(account_id);
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

    /// Hands `item` to a bound receiver of the account unless it is handed out already.
    fn offer(&self, account_id: &str, item: Item) {
        if self.handed.lock().expect("poisoned").insert(item.owed.clone()) {
            self.redeliver(account_id, item);
        }
    }

    /// Hands a handed-out `item` that was not taken to a bound receiver of the account with
    /// room; without one it is left to the database (and the sweep after the next bind).
    pub(crate) fn redeliver(&self, account_id: &str, item: Item) {
        let mut item = Some(item);
        {
            let receivers = self.receivers.lock().expect("poisoned");
            if let Some(list) = receivers.get(account_id) {
                // Spread over the account's receivers, starting at a different one each time.
                let start = self.next_id.fetch_add(1, Ordering::Relaxed) as usize;
                for k in 0..list.len() {
                    let (_, tx) = &list[(start + k) % list.len()];
                    match tx.try_send(item.take().expect("still here")) {
                        Ok(()) => return,
                        Err(mpsc::error::TrySendError::Full(back) | mpsc::error::TrySendError::Closed(back)) => {
                            item = Some(back);
                        }
                    }
                }
            }
        }
        let owed = item.expect("not delivered").owed;
        self.handed.lock().expect("poisoned").remove(&owed);
    }

    /// The customer answered the `deliver_sm` for `owed`: recorded, then settled.
    pub(crate) fn took(&self, owed: Owed) {
        if let Err(mpsc::error::SendError(owed)) = self.taken.send(owed) {
            self.handed.lock().expect("poisoned").remove(&owed);
        }
    }

    fn bound_accounts(&self) -> Vec<String> {
        self.receivers.lock().expect("poisoned").keys().cloned().collect()
    }

    fn on_notice(&self, notice: &Notice) {
        match notice {
            Notice::Final { message_id, account_id: _, to, from, status, error_code, created_at, at } => {
                let wanted = self.wanted.lock().expect("poisoned").0.remove(message_id);
                if let Some((account, smpp_ref)) = wanted {
                    let id = smpp_ref.as_deref().unwrap_or(message_id);
                    let sm = receipt_for(id, to, from, status, error_code.as_deref(), *created_at, *at);
                    self.offer(&account, Item { owed: Owed::Receipt(message_id.clone()), sm });
                }
            }
            Notice::Inbound { id, account_id, from, to, body, .. } => {
                if self.receivers.lock().expect("poisoned").contains_key(account_id) {
                    self.offer(account_id, Item { owed: Owed::Inbound(id.clone()), sm: inbound_sm(from, to, body) });
                }
            }
        }
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

/// A message status as an SMPP message state: not yet final is `ENROUTE`.
pub(crate) fn state_of(status: &str) -> State {
    match status {
        "delivered" => State::Delivered,
        "undelivered" => State::Undeliverable,
        "expired" => State::Expired,
        "rejected" | "failed" => State::Rejected,
        "deleted" | "canceled" => State::Deleted,
        "accepted" | "scheduled" | "queued" | "submitted" => State::Enroute,
        _ => State::Unknown,
    }
}

/// A delivery receipt in the de-facto standard format, with the TLVs that carry the same;
/// `message_id` is the id the customer was answered with.
fn receipt_for(
    message_id: &str,
    to: &str,
    from: &str,
    status: &str,
    error_code: Option<&str>,
    created_at: i64,
    at: i64,
) -> ShortMessage {
    let state = state_of(status);
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

/// Hands bound accounts what they are owed and no session holds: receipts of messages
/// another node finished, or finished while no receiver was bound or before a restart, and
/// inbound messages likewise.
async fn sweep(hub: Arc<Hub>, app: App, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(SWEEP_EVERY) => {}
            _ = stop.changed() => if *stop.borrow() { return } else { continue },
        }
        let before = textbird_types::now_millis() - SWEEP_GRACE_MS;
        for account in hub.bound_accounts() {
            match app.owed_receipts(&account, before, SWEEP_BATCH).await {
                Ok(done) => {
                    for m in done {
                        let sm = receipt_for(
                            m.smpp_id(),
                            &m.to,
                            &m.sender,
                            &m.status,
                            m.error_code.as_deref(),
                            m.created_at,
                            m.updated_at,
                        );
                        hub.offer(&account, Item { owed: Owed::Receipt(m.id), sm });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot look up receipts owed to SMPP customers"),
            }
            match app.owed_inbound(&account, before, SWEEP_BATCH).await {
                Ok(found) => {
                    for m in found {
                        let sm = inbound_sm(&m.from, &m.to, &m.body);
                        hub.offer(&account, Item { owed: Owed::Inbound(m.id), sm });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot look up inbound messages owed to SMPP customers"),
            }
        }
    }
}

/// Records answered `deliver_sm`s in batches; each is settled (and may be swept up no more)
/// once recorded. A failed write is tried again: until then nothing is handed out twice.
async fn record_taken(hub: Arc<Hub>, app: App, mut taken: mpsc::UnboundedReceiver<Owed>) {
    let mut batch = Vec::with_capacity(TAKEN_BATCH);
    while taken.recv_many(&mut batch, TAKEN_BATCH).await > 0 {
        let (mut receipts, mut inbound) = (Vec::new(), Vec::new());
        for owed in &batch {
            match owed {
                Owed::Receipt(id) => receipts.push(id.clone()),
                Owed::Inbound(id) => inbound.push(id.clone()),
            }
        }
        while let Err(e) = app.smpp_taken(&receipts, &inbound).await {
            tracing::warn!(error = %e, "cannot record what SMPP customers took; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let mut handed = hub.handed.lock().expect("poisoned");
        for owed in batch.drain(..) {
            handed.remove(&owed);
        }
    }
}

/// Gives up on receipts and inbound messages no receiver took within `max_age_secs`, and
/// keeps the gauges of what is owed.
async fn give_up(app: App, max_age_secs: u64, mut stop: watch::Receiver<bool>) {
    loop {
        match app.smpp_give_up(max_age_secs).await {
            Ok((receipts, inbound)) => {
                metrics::counter!("textbird_smpp_outbox_given_up_total", "kind" => "receipt").increment(receipts);
                metrics::counter!("textbird_smpp_outbox_given_up_total", "kind" => "inbound").increment(inbound);
                if receipts + inbound > 0 {
                    tracing::warn!(receipts, inbound, "gave up on what SMPP customers did not take in time");
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot give up on old receipts owed to SMPP customers"),
        }
        if let Ok((receipts, inbound)) = app.smpp_owed_counts().await {
            metrics::gauge!("textbird_smpp_outbox_owed", "kind" => "receipt").set(receipts as f64);
            metrics::gauge!("textbird_smpp_outbox_owed", "kind" => "inbound").set(inbound as f64);
        }
        tokio::select! {
            () = tokio::time::sleep(GIVE_UP_EVERY) => {}
            _ = stop.changed() => if *stop.borrow() { return },
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
                // What was missed is still owed in the database: the sweep hands it out.
                metrics::counter!("textbird_smpp_server_lagged_total").increment(n);
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}
