//! The SMPP client connector: Textbird as an ESME bound to a carrier's SMSC.
//!
//! Each link (one transceiver, or a transmitter and a receiver) has a supervisor that
//! connects, binds, keeps the link alive with `enquire_link`, and reconnects with
//! exponential backoff and jitter when it drops or a bind fails. Submissions go out on the
//! sending link within its window; delivery receipts and inbound messages come in on the
//! receiving link and become carrier events. Receipts are matched to messages by the
//! carrier's message id: in memory for recent submissions, in the database after that, and a
//! receipt that overtakes its `submit_sm_resp` waits for it.

use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use rand::RngExt;
use textbird_config::{BindMode, ConnectorSettings, LongMessageMode};
use textbird_smpp::frame::{FrameCodec, FrameError};
use textbird_smpp::ids;
use textbird_smpp::pdu::status::CommandStatus;
use textbird_smpp::pdu::{self, BindKind, Packet, Pdu, ShortMessage, id, status};
use textbird_smpp::receipt::{self, State};
use textbird_smpp::session::{RequestError, Session, is_response};
use textbird_smpp::wire::{self, Assembler, LongMessages, Outgoing};
use textbird_store::{DispatchItem, Store};
use textbird_types::Status;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::codec::FramedRead;

mod correlator;

use crate::carrier_events::{CarrierEvent, Durable};
use crate::connector::{Connector, Retry, SubmitOutcome};
use correlator::{Correlator, Report};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Parts of inbound messages wait this long for the rest.
const REASSEMBLY_TIMEOUT: Duration = Duration::from_mins(1);
const REASSEMBLY_GROUPS: usize = 10_000;
/// How long a carrier's `deliver_sm` waits for its effect to be committed before it is
/// answered `ESME_RX_T_APPN` (send it again later): past the wait for a receipt that
/// overtook its `submit_sm_resp`, within common SMSC response timeouts.
const DURABLE_WAIT: Duration = Duration::from_secs(35);

/// One SMPP carrier connection (one or more binds), as the dispatcher sees it.
pub struct SmppConnector {
    ctx: Arc<Ctx>,
    /// The sessions that submit (transceivers or transmitters), one per bind.
    senders: Vec<Arc<Link>>,
    /// Where the next submission starts looking for a bound session.
    next_sender: AtomicUsize,
    next_ref: AtomicU16,
    tasks: Vec<JoinHandle<()>>,
}

/// What a link's tasks share.
struct Ctx {
    settings: ConnectorSettings,
    long: LongMessages,
    correlator: Correlator,
    events: mpsc::Sender<CarrierEvent>,
    assembler: Mutex<Assembler>,
    /// Reconnects and the last error, for operators.
    state: Arc<crate::ConnectorState>,
}

/// The bound session of one link, when there is one.
#[derive(Default)]
struct Link {
    session: Mutex<Option<Arc<Session>>>,
}

impl Link {
    fn current(&self) -> Option<Arc<Session>> {
        self.session.lock().expect("poisoned").clone().filter(|s| !s.is_closed())
    }
    fn set(&self, s: Option<Arc<Session>>) {
        *self.session.lock().expect("poisoned") = s;
    }
}

impl SmppConnector {
    /// Starts the link supervisors; they run until `stop` turns true, then unbind.
    pub fn start(
        settings: ConnectorSettings,
        store: Store,
        events: mpsc::Sender<CarrierEvent>,
        stop: watch::Receiver<bool>,
        state: Arc<crate::ConnectorState>,
    ) -> Arc<SmppConnector> {
        let long = match settings.split {
            LongMessageMode::Udh => LongMessages::Udh,
            LongMessageMode::Sar => LongMessages::Sar,
            LongMessageMode::Payload => LongMessages::Payload,
        };
        let ctx = Arc::new(Ctx {
            correlator: Correlator::new(settings.name.clone(), store, events.clone()),
            settings,
            long,
            events,
            assembler: Mutex::new(Assembler::new(REASSEMBLY_TIMEOUT, REASSEMBLY_GROUPS)),
            state,
        });
        let mut senders = Vec::new();
        let mut tasks = Vec::new();
        for _ in 0..ctx.settings.binds.max(1) {
            let sender = Arc::new(Link::default());
            match ctx.settings.bind {
                BindMode::Transceiver => {
                    tasks.push(tokio::spawn(supervise(
                        ctx.clone(),
                        sender.clone(),
                        BindKind::Transceiver,
                        stop.clone(),
                    )));
                }
                BindMode::TransmitterReceiver => {
                    tasks.push(tokio::spawn(supervise(
                        ctx.clone(),
                        sender.clone(),
                        BindKind::Transmitter,
                        stop.clone(),
                    )));
                    let receiver = Arc::new(Link::default());
                    tasks.push(tokio::spawn(supervise(ctx.clone(), receiver, BindKind::Receiver, stop.clone())));
                }
            }
            senders.push(sender);
        }
        tasks.push(tokio::spawn(housekeeping(ctx.clone(), stop)));
        let seed: u16 = rand::rng().random();
        Arc::new(SmppConnector {
            ctx,
            senders,
            next_sender: AtomicUsize::new(0),
            next_ref: AtomicU16::new(seed),
            tasks,
        })
    }

    /// Waits (up to `grace`) for the links to unbind after `stop`.
    pub async fn stopped(&self, grace: Duration) {
        let deadline = tokio::time::Instant::now() + grace;
        for t in &self.tasks {
            while !t.is_finished() && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

impl SmppConnector {
    /// A bound session, taking turns over the binds that are up.
    fn bound_session(&self) -> Option<Arc<Session>> {
        let n = self.senders.len();
        let start = self.next_sender.fetch_add(1, Ordering::Relaxed);
        (0..n).find_map(|i| self.senders[(start + i) % n].current())
    }
}

#[async_trait::async_trait]
impl Connector for SmppConnector {
    fn name(&self) -> &str {
        &self.ctx.settings.name
    }
    fn is_up(&self) -> bool {
        self.senders.iter().any(|l| l.current().is_some())
    }
    fn window(&self) -> usize {
        self.ctx.settings.window.max(1) as usize * self.senders.len()
    }
    fn tps(&self) -> u32 {
        self.ctx.settings.tps
    }

    async fn submit(&self, item: &DispatchItem) -> SubmitOutcome {
        let Some(session) = self.bound_session() else {
            return SubmitOutcome::Temporary {
                retry: Retry::Refused,
                code: "link_down".into(),
                detail: "not bound to the carrier".into(),
            };
        };
        let outgoing = Outgoing {
            from: &item.sender,
            to: &item.to,
            body: &item.body,
            registered_delivery: self.ctx.settings.registered_delivery,
            reference: self.next_ref.fetch_add(1, Ordering::Relaxed),
        };
        if self.ctx.long != LongMessages::Payload && textbird_sms::analyze(&item.body).parts > 255 {
            return SubmitOutcome::Permanent {
                code: "too_long".into(),
                detail: "more than 255 parts cannot be concatenated; use split = \"payload\"".into(),
            };
        }
        let timeout = Duration::from_secs(self.ctx.settings.response_timeout_secs.max(1));
        let mut carrier_ids = Vec::new();
        for sm in wire::submits(&outgoing, self.ctx.long) {
            let answer = session.request(&Pdu::SubmitSm(sm), timeout).await;
            match answer {
                Ok(Packet { pdu: Pdu::SubmitSmResp { message_id }, status: status::OK, .. }) => {
                    carrier_ids.push(ids::normalize(&message_id));
                }
                Ok(p) => {
                    let code = status::code(p.status);
                    let detail = format!("carrier answered {} with {code}", command_name(p.command_id));
                    let retry = match status::typed(p.status) {
                        CommandStatus::EsmeRthrottled | CommandStatus::EsmeRmsgqful => Retry::Throttled,
                        CommandStatus::EsmeRsyserr | CommandStatus::EsmeRxTAppn => Retry::Refused,
                        _ => return SubmitOutcome::Permanent { code, detail },
                    };
                    // Parts the carrier already took would go out twice, wherever it is retried.
                    let retry = if carrier_ids.is_empty() { retry } else { Retry::Unknown };
                    return SubmitOutcome::Temporary { retry, code, detail };
                }
                Err(RequestError::Encode(e)) => {
                    return SubmitOutcome::Permanent { code: "encode".into(), detail: e.to_string() };
                }
                Err(e @ RequestError::Timeout(_)) => {
                    return SubmitOutcome::Temporary {
                        retry: Retry::Unknown,
                        code: "response_timeout".into(),
                        detail: e.to_string(),
                    };
                }
                Err(RequestError::Closed) => {
                    return SubmitOutcome::Temporary {
                        retry: Retry::Unknown,
                        code: "link_lost".into(),
                        detail: "the link dropped before the carrier answered".into(),
                    };
                }
            }
        }
        let first = carrier_ids.first().cloned().unwrap_or_default();
        self.ctx.correlator.remember(&carrier_ids, &item.id);
        SubmitOutcome::Accepted { carrier_id: first }
    }
}

fn command_name(command_id: u32) -> &'static str {
    match command_id {
        id::GENERIC_NACK => "submit_sm (generic_nack)",
        _ => "submit_sm",
    }
}

/// Connects, binds and serves one link until `stop`, reconnecting with backoff.
async fn supervise(ctx: Arc<Ctx>, link: Arc<Link>, kind: BindKind, mut stop: watch::Receiver<bool>) {
    let s = &ctx.settings;
    let mut failures: u32 = 0;
    loop {
        if *stop.borrow() {
            return;
        }
        match connect(s, kind).await {
            Ok((session, reader, writer)) => {
                failures = 0;
                tracing::info!(connector = %s.name, bind = ?kind, "bound to the carrier");
                metrics::gauge!("textbird_smpp_bound", "connector" => s.name.clone()).increment(1.0);
                link.set(Some(session.clone()));
                let why = serve(&ctx, &session, reader, &mut stop).await;
                link.set(None);
                session.close();
                writer.abort();
                metrics::gauge!("textbird_smpp_bound", "connector" => s.name.clone()).decrement(1.0);
                if *stop.borrow() {
                    tracing::info!(connector = %s.name, "unbound from the carrier");
                    return;
                }
                tracing::warn!(connector = %s.name, reason = %why, "carrier link lost; reconnecting");
                ctx.state.error(format!("link lost: {why}"));
            }
            Err(e) => {
                tracing::warn!(connector = %s.name, error = %e, "cannot bind to the carrier");
                ctx.state.error(format!("cannot bind: {e}"));
            }
        }
        failures += 1;
        let delay = backoff(failures, Duration::from_secs(s.reconnect_max_secs.max(1)));
        metrics::counter!("textbird_smpp_reconnects_total", "connector" => s.name.clone()).increment(1);
        ctx.state.reconnected();
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = stop.changed() => {}
        }
    }
}

/// 1 s, 2 s, 4 s ... capped at `max`, each up to 25 % longer so many connectors do not
/// retry in step (never shorter: the first retry waits at least a second).
fn backoff(failures: u32, max: Duration) -> Duration {
    let base = Duration::from_secs(1u64 << failures.saturating_sub(1).min(16)).min(max);
    base.mul_f64(rand::rng().random_range(1.0..1.25)).min(max.max(Duration::from_secs(1)))
}

type Reader = FramedRead<tokio::net::tcp::OwnedReadHalf, FrameCodec>;

async fn connect(s: &ConnectorSettings, kind: BindKind) -> Result<(Arc<Session>, Reader, JoinHandle<()>), String> {
    let addr = format!("{}:{}", s.host, s.port);
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&addr))
        .await
        .map_err(|_| format!("connecting to {addr} timed out"))?
        .map_err(|e| format!("connecting to {addr}: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (read, write) = stream.into_split();
    let (session, writer) = Session::start(write);
    let mut reader = FramedRead::new(read, FrameCodec::default());
    let bind = Pdu::Bind {
        kind,
        system_id: s.system_id.clone(),
        password: s.password.expose().to_owned(),
        system_type: s.system_type.clone(),
        address_range: s.address_range.clone(),
    };
    let sequence = session.next_sequence();
    let bytes = pdu::encode(status::OK, sequence, &bind).map_err(|e| e.to_string())?;
    session.send_bytes(bytes).await.map_err(|e| e.to_string())?;
    let timeout = Duration::from_secs(s.response_timeout_secs.clamp(1, 30));
    let answer = tokio::time::timeout(timeout, reader.next()).await.map_err(|_| "no bind response".to_owned())?;
    let frame = match answer {
        Some(Ok(f)) => f,
        Some(Err(e)) => return Err(e.to_string()),
        None => return Err("the carrier closed the connection during bind".into()),
    };
    match pdu::decode(&frame) {
        Ok(Packet { pdu: Pdu::BindResp { .. }, status: status::OK, .. }) => Ok((session, reader, writer)),
        Ok(p) => {
            writer.abort();
            Err(format!("bind refused with {}", status::code(p.status)))
        }
        Err(e) => {
            writer.abort();
            Err(e.to_string())
        }
    }
}

/// Reads one bound session until it ends; returns why it ended.
async fn serve(ctx: &Arc<Ctx>, session: &Arc<Session>, mut reader: Reader, stop: &mut watch::Receiver<bool>) -> String {
    let s = &ctx.settings;
    let idle = Duration::from_secs(s.enquire_link_secs.max(1));
    let timeout = Duration::from_secs(s.response_timeout_secs.max(1));
    let mut last_heard = Instant::now();
    let mut probe: Option<JoinHandle<bool>> = None;
    let mut tick = tokio::time::interval(Duration::from_millis(500).min(idle));
    loop {
        tokio::select! {
            frame = reader.next() => {
                let frame = match frame {
                    Some(Ok(f)) => f,
                    Some(Err(FrameError::Io(e))) => return format!("read failed: {e}"),
                    Some(Err(e)) => {
                        let _ = session.send_bytes(pdu::generic_nack(status::INVCMDLEN, 0)).await;
                        return format!("unreadable PDU: {e}");
                    }
                    None => return "the carrier closed the connection".into(),
                };
                last_heard = Instant::now();
                match pdu::decode(&frame) {
                    Ok(packet) if is_response(&packet) => {
                        if !session.complete(packet.clone()) && packet.pdu != Pdu::EnquireLinkResp {
                            tracing::debug!(connector = %s.name, seq = packet.sequence, "response to no outstanding request");
                        }
                    }
                    Ok(packet) => {
                        if handle_request(ctx, session, packet).await {
                            return "the carrier unbound".into();
                        }
                    }
                    Err(e) => {
                        tracing::warn!(connector = %s.name, error = %e, "malformed PDU from the carrier");
                        let _ = session.send_bytes(pdu::generic_nack(e.status, e.sequence)).await;
                    }
                }
            }
            _ = tick.tick() => {
                if let Some(p) = probe.take_if(|p| p.is_finished())
                    && !p.await.unwrap_or(false)
                {
                    return "enquire_link got no response".into();
                }
                if probe.is_none() && last_heard.elapsed() >= idle {
                    let session = session.clone();
                    probe = Some(tokio::spawn(async move {
                        session.request(&Pdu::EnquireLink, timeout).await.is_ok()
                    }));
                }
            }
            _ = stop.changed() => {
                if *stop.borrow() {
                    // Unbind politely; a carrier that does not answer is dropped anyway.
                    let _ = session.request(&Pdu::Unbind, Duration::from_secs(2)).await;
                    return "shutting down".into();
                }
            }
        }
    }
}

/// Handles a request from the carrier; `true` when the session must end (unbind).
async fn handle_request(ctx: &Arc<Ctx>, session: &Arc<Session>, packet: Packet) -> bool {
    let seq = packet.sequence;
    match packet.pdu {
        Pdu::EnquireLink => {
            let _ = session.send(status::OK, seq, &Pdu::EnquireLinkResp).await;
        }
        Pdu::Unbind => {
            let _ = session.send(status::OK, seq, &Pdu::UnbindResp).await;
            return true;
        }
        Pdu::DeliverSm(sm) | Pdu::DataSm(sm) => {
            let resp = if packet.command_id == id::DATA_SM {
                Pdu::DataSmResp { message_id: String::new() }
            } else {
                Pdu::DeliverSmResp
            };
            // Answered once what it carries is committed, from a task of its own: the loop
            // reads on, so the receipts of a burst share commits (the carrier's window allows
            // several unanswered deliver_sm).
            let stored = on_message(ctx, &sm).await;
            let session = session.clone();
            tokio::spawn(async move {
                let ok = matches!(tokio::time::timeout(DURABLE_WAIT, stored).await, Ok(Ok(true)));
                if !ok {
                    metrics::counter!("textbird_carrier_deliver_refused_total").increment(1);
                }
                let _ = session.send(if ok { status::OK } else { status::X_T_APPN }, seq, &resp).await;
            });
        }
        _ => {
            let _ = session.send_bytes(pdu::generic_nack(status::INVCMDID, seq)).await;
        }
    }
    false
}

/// A receipt or an inbound message from the carrier, handed on; the receiver resolves to
/// `true` once its effect is committed (or there is nothing to store), `false` when it cannot
/// be taken now.
async fn on_message(ctx: &Arc<Ctx>, sm: &ShortMessage) -> tokio::sync::oneshot::Receiver<bool> {
    let (durable, stored) = Durable::channel();
    if sm.is_receipt() {
        let text = receipt::parse(sm.user_data());
        let carrier_id = sm.receipted_message_id.clone().or_else(|| text.as_ref().map(|r| r.id.clone()));
        let Some(carrier_id) = carrier_id.filter(|c| !c.trim().is_empty()) else {
            metrics::counter!("textbird_orphan_reports_total").increment(1);
            tracing::warn!(connector = %ctx.settings.name, "receipt without a message id");
            durable.done(true);
            return stored;
        };
        let state = sm
            .message_state
            .and_then(State::from_message_state)
            .or_else(|| text.as_ref().and_then(|r| r.stat.as_deref()).map(State::from_stat))
            .unwrap_or(State::Unknown);
        if !state.is_final() {
            durable.done(true);
            return stored;
        }
        let err = text.as_ref().and_then(|r| r.err.clone());
        let report = Report {
            carrier_id: ids::normalize(&carrier_id),
            status: status_of(state),
            error_code: err.filter(|e| !e.trim_start_matches('0').is_empty()),
            detail: format!("stat:{}", state.stat()),
            received: Instant::now(),
            durable,
        };
        ctx.correlator.report(report).await;
        return stored;
    }
    let assembled = ctx.assembler.lock().expect("poisoned").push(sm, Instant::now());
    match assembled {
        Some(msg) => {
            if let Err(mpsc::error::SendError(CarrierEvent::Inbound { durable, .. })) =
                ctx.events.send(inbound(ctx, msg, durable)).await
            {
                durable.done(false);
            }
        }
        // A part before the last is held in memory and acknowledged now: holding its answer
        // until the last part is stored would stall a carrier that sends parts one at a time.
        None => durable.done(true),
    }
    stored
}

fn inbound(ctx: &Ctx, msg: wire::Assembled, durable: Durable) -> CarrierEvent {
    CarrierEvent::Inbound {
        connector: ctx.settings.name.clone(),
        from: wire::number(&msg.from),
        to: wire::number(&msg.to),
        body: msg.text,
        durable,
    }
}

fn status_of(state: State) -> Status {
    match state {
        State::Delivered => Status::Delivered,
        State::Undeliverable => Status::Undelivered,
        State::Expired => Status::Expired,
        State::Rejected => Status::Rejected,
        State::Deleted => Status::Deleted,
        State::Enroute | State::Accepted | State::Unknown => Status::Unknown,
    }
}

/// Inbound parts given up on, and receipts still waiting for their message.
async fn housekeeping(ctx: Arc<Ctx>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => if *stop.borrow() { return },
        }
        let expired = ctx.assembler.lock().expect("poisoned").expire(Instant::now());
        for msg in expired {
            tracing::warn!(connector = %ctx.settings.name, missing = msg.missing, "inbound message incomplete; keeping the parts that came");
            let _ = ctx.events.send(inbound(&ctx, msg, Durable::none())).await;
        }
        ctx.correlator.retry_early().await;
    }
}
