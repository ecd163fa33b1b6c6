//! One customer connection: bind, then submissions in and `deliver_sm`s out, until unbind,
//! idle timeout, a broken stream or shutdown. No input can panic it: every PDU is decoded
//! defensively, and anything undecodable is answered with `generic_nack`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use textbird_app::{AppError, Principal, SendRequest, SendResult};
use textbird_smpp::frame::{FrameCodec, FrameError};
use textbird_smpp::pdu::{self, Address, BindKind, Packet, Pdu, ShortMessage, id, status};
use textbird_smpp::reassembly::{PartKey, Reassembler};
use textbird_smpp::receipt::State;
use textbird_smpp::session::{Session, is_response};
use textbird_smpp::time;
use textbird_smpp::udh::Concat;
use textbird_smpp::wire::{self, Incoming};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_util::bytes::Bytes;
use tokio_util::codec::FramedRead;

use crate::Shared;
use crate::hub::Item;

/// What Textbird calls itself in bind responses.
const SYSTEM_ID: &str = "textbird";
/// How long a `deliver_sm` waits for the customer's response.
const DELIVER_TIMEOUT: Duration = Duration::from_secs(30);
/// SMPP 3.4 §4.1.1: `password` is a C-Octet String of at most 9 octets, 8 and the NUL.
const MAX_PASSWORD_LEN: usize = 8;
/// Parts of a concatenated submission wait this long for the rest.
const PARTS_TIMEOUT: Duration = Duration::from_mins(1);

struct Bound {
    principal: Principal,
    kind: BindKind,
    receiver: Option<u64>,
}

/// Incomplete long submissions a session holds at most; past it the oldest is given up on.
const PARTS_MAX_MESSAGES: usize = 1000;
/// Each held part's data starts with its `sequence_number` and the fields `send` needs.
const PART_TAG: usize = 10;

pub(crate) async fn serve(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr, mut stop: watch::Receiver<bool>) {
    let _ = stream.set_nodelay(true);
    let (read, write) = stream.into_split();
    let (session, writer) = Session::start(write);
    let mut reader = FramedRead::new(read, FrameCodec::default());
    let idle = Duration::from_secs(shared.settings.idle_timeout_secs.max(5));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let parts = Arc::new(Mutex::new(Reassembler::new(PARTS_TIMEOUT, PARTS_MAX_MESSAGES)));
    let mut bound: Option<Bound> = None;
    let mut outbound: Option<mpsc::Receiver<Item>> = None;
    let out_window = Arc::new(tokio::sync::Semaphore::new(shared.settings.window.max(1) as usize));
    let mut sweep = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            frame = tokio::time::timeout(idle, reader.next()) => {
                let frame = match frame {
                    Err(_) => { tracing::info!(peer = %peer, "SMPP session idle; closing"); break }
                    Ok(None | Some(Err(FrameError::Io(_)))) => break,
                    Ok(Some(Ok(f))) => f,
                    Ok(Some(Err(e))) => {
                        tracing::warn!(peer = %peer, error = %e, "unreadable PDU; closing");
                        let _ = session.send_bytes(pdu::generic_nack(status::INVCMDLEN, 0)).await;
                        break;
                    }
                };
                let packet = match pdu::decode(&frame) {
                    Ok(p) => p,
                    Err(e) => {
                        let _ = session.send_bytes(pdu::generic_nack(e.status, e.sequence)).await;
                        continue;
                    }
                };
                if is_response(&packet) {
                    session.complete(packet);
                    continue;
                }
                match (&bound, packet.pdu) {
                    (None, Pdu::Bind { kind, system_id, password, .. }) => {
                        let resp = Pdu::BindResp { kind, system_id: SYSTEM_ID.into() };
                        match bind(&shared, peer, &system_id, &password).await {
                            Ok(principal) => {
                                let receiver = if kind.can_receive() {
                                    let (rid, rx, first) = shared.hub.attach(&principal.account_id);
                                    if first {
                                        note_receiver(&shared, &principal.account_id).await;
                                    }
                                    outbound = Some(rx);
                                    Some(rid)
                                } else {
                                    None
                                };
                                tracing::info!(peer = %peer, account = %principal.account_id, ?kind, "SMPP customer bound");
                                bound = Some(Bound { principal, kind, receiver });
                                let _ = session.send(status::OK, packet.sequence, &resp).await;
                            }
                            Err(code) => {
                                let _ = session.send(code, packet.sequence, &resp).await;
                            }
                        }
                    }
                    (Some(_), Pdu::Bind { kind, .. }) => {
                        let resp = Pdu::BindResp { kind, system_id: SYSTEM_ID.into() };
                        let _ = session.send(status::ALYBND, packet.sequence, &resp).await;
                    }
                    (_, Pdu::EnquireLink) => {
                        let _ = session.send(status::OK, packet.sequence, &Pdu::EnquireLinkResp).await;
                    }
                    (_, Pdu::Unbind) => {
                        let _ = session.send(status::OK, packet.sequence, &Pdu::UnbindResp).await;
                        break;
                    }
                    (None, _) => {
                        let _ = session.send_bytes(nack_for(packet.command_id, status::INVBNDSTS, packet.sequence)).await;
                    }
                    (Some(b), Pdu::SubmitSm(sm) | Pdu::DataSm(sm)) => {
                        let data_sm = packet.command_id == id::DATA_SM;
                        let reply = |message_id: String| if data_sm { Pdu::DataSmResp { message_id } } else { Pdu::SubmitSmResp { message_id } };
                        if !b.kind.can_send() {
                            let _ = session.send(status::INVBNDSTS, packet.sequence, &reply(String::new())).await;
                            continue;
                        }
                        if in_flight.load(Ordering::Acquire) >= shared.settings.window.max(1) as usize {
                            let _ = session.send(status::MSGQFUL, packet.sequence, &reply(String::new())).await;
                            continue;
                        }
                        if let Err(AppError::RateLimited(_)) = shared.app.admit(&b.principal) {
                            let _ = session.send(status::THROTTLED, packet.sequence, &reply(String::new())).await;
                            continue;
                        }
                        in_flight.fetch_add(1, Ordering::AcqRel);
                        let (shared, session, principal, in_flight, parts) =
                            (shared.clone(), session.clone(), b.principal.clone(), in_flight.clone(), parts.clone());
                        tokio::spawn(async move {
                            submit(&shared, &session, &principal, packet.sequence, sm, data_sm, &parts).await;
                            in_flight.fetch_sub(1, Ordering::AcqRel);
                        });
                    }
                    (Some(b), Pdu::QuerySm { message_id, .. }) => {
                        let (shared, session, principal) = (shared.clone(), session.clone(), b.principal.clone());
                        tokio::spawn(async move {
                            let (code, resp) = query(&shared, &principal, &message_id).await;
                            let _ = session.send(code, packet.sequence, &resp).await;
                        });
                    }
                    (Some(b), Pdu::CancelSm { message_id, .. }) => {
                        let (shared, session, principal) = (shared.clone(), session.clone(), b.principal.clone());
                        tokio::spawn(async move {
                            let code = cancel(&shared, &principal, &message_id).await;
                            let _ = session.send(code, packet.sequence, &Pdu::CancelSmResp).await;
                        });
                    }
                    (Some(_), Pdu::DeliverSm(_)) => {
                        let _ = session.send_bytes(nack_for(packet.command_id, status::INVCMDID, packet.sequence)).await;
                    }
                    (Some(_), _) => {
                        let _ = session.send_bytes(pdu::generic_nack(status::INVCMDID, packet.sequence)).await;
                    }
                }
            }
            // A window slot first, then the next deliver_sm: waiting for a slot must not stop
            // the loop from reading the responses that free one.
            (permit, sm) = async {
                let permit = out_window.clone().acquire_owned().await;
                (permit, outbound.as_mut().expect("checked").recv().await)
            }, if outbound.is_some() => {
                let Some(item) = sm else { outbound = None; continue };
                let Ok(permit) = permit else { break };
                let (session, hub, account) = (session.clone(), shared.hub.clone(), bound.as_ref().map(|b| b.principal.account_id.clone()).unwrap_or_default());
                tokio::spawn(async move {
                    let answer = session.request(&Pdu::DeliverSm(item.sm.clone()), DELIVER_TIMEOUT).await;
                    drop(permit);
                    if matches!(answer, Ok(Packet { status: status::OK, .. })) {
                        hub.took(item.owed);
                    } else {
                        // Not taken: it goes to another receiver of the account, or waits.
                        hub.redeliver(&account, item);
                    }
                });
            }
            _ = sweep.tick() => expire_parts(&session, &parts).await,
            _ = stop.changed() => if *stop.borrow() {
                let _ = session.request(&Pdu::Unbind, Duration::from_secs(2)).await;
                break;
            },
        }
    }
    if let Some(b) = &bound {
        if let Some(rid) = b.receiver {
            shared.hub.detach(&b.principal.account_id, rid);
        }
        // deliver_sm handed to this session but not sent go back to the account's queue.
        if let Some(mut rx) = outbound.take() {
            rx.close();
            while let Ok(item) = rx.try_recv() {
                shared.hub.redeliver(&b.principal.account_id, item);
            }
        }
    }
    session.close();
    drop(session);
    let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
}

/// `query_sm`: the message's state, as its receipt would give it; another account's message
/// is as unknown as one that does not exist.
async fn query(shared: &Shared, principal: &Principal, message_id: &str) -> (u32, Pdu) {
    let none =
        Pdu::QuerySmResp { message_id: String::new(), final_date: String::new(), message_state: 0, error_code: 0 };
    match shared.app.message(principal, message_id).await {
        Ok((m, _)) => {
            let state = crate::hub::state_of(&m.status);
            let final_date = if state == State::Enroute { String::new() } else { time::to_smpp(m.updated_at / 1000) };
            let error_code = m.error_code.as_deref().and_then(network_error).unwrap_or(0);
            (
                status::OK,
                Pdu::QuerySmResp { message_id: m.id, final_date, message_state: state.message_state(), error_code },
            )
        }
        Err(AppError::NotFound(_)) => (status::INVMSGID, none),
        Err(e) => {
            tracing::error!(error = %e, "SMPP query_sm failed");
            (status::SYSERR, none)
        }
    }
}

/// A carrier's error code as `query_sm_resp`'s one-octet `error_code`, when it is one.
fn network_error(code: &str) -> Option<u8> {
    let code = code.trim();
    match code.strip_prefix("0x") {
        Some(hex) => u8::from_str_radix(hex, 16).ok(),
        None => code.parse().ok(),
    }
}

/// `cancel_sm` of one message by id (canceled and refunded while it is scheduled). Canceling
/// by source and destination without an id is refused.
async fn cancel(shared: &Shared, principal: &Principal, message_id: &str) -> u32 {
    if message_id.is_empty() {
        return status::CANCELFAIL;
    }
    match shared.app.cancel(principal, message_id).await {
        Ok(_) => status::OK,
        Err(AppError::NotFound(_)) => status::INVMSGID,
        Err(AppError::Conflict(_)) => status::CANCELFAIL,
        Err(e) => {
            tracing::error!(error = %e, "SMPP cancel_sm failed");
            status::SYSERR
        }
    }
}

/// Records, once per run and account, that the account binds receivers: its inbound
/// messages are kept for it from then on (before the bind is answered, so that none received
/// after the answer is missed).
async fn note_receiver(shared: &Shared, account_id: &str) {
    if let Err(e) = shared.app.note_smpp_receiver(account_id).await {
        tracing::warn!(error = %e, "cannot record an SMPP receiver bind");
        shared.hub.unnote(account_id);
    }
}

/// Checks a bind's credentials: the principal, or the status to refuse it with. A `password`
/// longer than SMPP 3.4 allows is `ESME_RINVPASWD` (never compared on its first 8 octets);
/// wrong credentials, unknown users and binds refused by the login limits are all
/// `ESME_RBINDFAIL`.
async fn bind(shared: &Shared, peer: SocketAddr, system_id: &str, password: &str) -> Result<Principal, u32> {
    // SMPP's C-Octet Strings are ASCII, where characters are octets; an octet that is not
    // UTF-8 was read as one replacement character.
    if password.chars().count() > MAX_PASSWORD_LEN {
        tracing::warn!(peer = %peer, "SMPP bind refused: password longer than 8 octets");
        return Err(status::INVPASWD);
    }
    match shared.app.login(system_id, password, Some(peer.ip())).await {
        Ok(principal) => Ok(principal),
        Err(e) => {
            tracing::warn!(peer = %peer, error = %e, "SMPP bind refused");
            Err(status::BINDFAIL)
        }
    }
}

/// The response PDU for `command_id` with an error status, or `generic_nack`.
fn nack_for(command_id: u32, code: u32, sequence: u32) -> Bytes {
    let resp = match command_id {
        id::SUBMIT_SM => Pdu::SubmitSmResp { message_id: String::new() },
        id::DATA_SM => Pdu::DataSmResp { message_id: String::new() },
        id::DELIVER_SM => Pdu::DeliverSmResp,
        _ => return pdu::generic_nack(code, sequence),
    };
    pdu::encode(code, sequence, &resp).unwrap_or_else(|_| pdu::generic_nack(code, sequence))
}

/// One `submit_sm`/`data_sm`: whole messages go to `App::send` at once; parts of a
/// concatenated one wait for the rest, and every part is answered with the message's id
/// once the whole message is stored.
async fn submit(
    shared: &Shared,
    session: &Session,
    principal: &Principal,
    sequence: u32,
    sm: ShortMessage,
    data_sm: bool,
    parts: &Mutex<Reassembler>,
) {
    let reply =
        |message_id: String| if data_sm { Pdu::DataSmResp { message_id } } else { Pdu::SubmitSmResp { message_id } };
    let (sm, sequences) = match wire::incoming(&sm) {
        Incoming::Whole(data) => (ShortMessage { short_message: data, message_payload: None, ..sm }, vec![sequence]),
        Incoming::Part { concat, data } => match add_part(parts, &sm, concat, sequence, &data) {
            Some(whole) => whole,
            None => return,
        },
    };
    let (code, message_id) = send(shared, principal, &sm).await;
    for seq in sequences {
        let _ = session.send(code, seq, &reply(message_id.clone())).await;
    }
}

/// Holds a part; returns the whole message and the sequence numbers of all its parts once
/// the last one is in.
fn add_part(
    parts: &Mutex<Reassembler>,
    sm: &ShortMessage,
    concat: Concat,
    sequence: u32,
    data: &[u8],
) -> Option<(ShortMessage, Vec<u32>)> {
    let key = PartKey {
        from: sm.source.addr.clone(),
        to: sm.dest.addr.clone(),
        reference: concat.reference,
        total: concat.total,
    };
    let mut tagged = Vec::with_capacity(PART_TAG + data.len());
    tagged.extend_from_slice(&sequence.to_be_bytes());
    tagged.extend_from_slice(&[
        sm.data_coding,
        sm.source.ton,
        sm.source.npi,
        sm.dest.ton,
        sm.dest.npi,
        sm.registered_delivery,
    ]);
    tagged.extend_from_slice(data);
    let all = parts.lock().expect("poisoned").push(key.clone(), concat.seq, tagged, Instant::now())?;
    let first = all.first()?;
    let whole = ShortMessage {
        source: Address { ton: first[5], npi: first[6], addr: key.from },
        dest: Address { ton: first[7], npi: first[8], addr: key.to },
        data_coding: first[4],
        registered_delivery: first[9],
        short_message: all.iter().flat_map(|p| p[PART_TAG..].iter().copied()).collect(),
        ..ShortMessage::default()
    };
    Some((whole, all.iter().map(|p| part_sequence(p)).collect()))
}

fn part_sequence(tagged: &[u8]) -> u32 {
    u32::from_be_bytes([tagged[0], tagged[1], tagged[2], tagged[3]])
}

/// Answers the parts of messages that never completed (or were pushed out for space).
async fn expire_parts(session: &Session, parts: &Mutex<Reassembler>) {
    let expired: Vec<u32> = {
        let mut parts = parts.lock().expect("poisoned");
        parts
            .expire(Instant::now())
            .into_iter()
            .flat_map(|i| i.parts.into_iter().flatten().map(|p| part_sequence(&p)))
            .collect()
    };
    for seq in expired {
        let _ = session.send(status::SUBMITFAIL, seq, &Pdu::SubmitSmResp { message_id: String::new() }).await;
    }
}

/// Sends through the same pipeline as the HTTP API; returns the status to answer and the
/// message id.
async fn send(shared: &Shared, principal: &Principal, sm: &ShortMessage) -> (u32, String) {
    let to = if sm.dest.ton == wire::TON_INTERNATIONAL { wire::number(&sm.dest) } else { sm.dest.addr.clone() };
    let from = match sm.source.ton {
        wire::TON_INTERNATIONAL => wire::number(&sm.source),
        _ => sm.source.addr.clone(),
    };
    let request_receipt = sm.registered_delivery & 0x03 != 0;
    let now = textbird_types::now_millis() / 1000;
    let Ok(schedule) = time::parse(&sm.schedule_delivery_time).map(|t| t.map(|t| t.at(now))) else {
        return (status::INVSCHED, String::new());
    };
    let Ok(expiry) = time::parse(&sm.validity_period).map(|t| t.map(|t| t.at(now))) else {
        return (status::INVEXPIRY, String::new());
    };
    let starts = schedule.unwrap_or(now).max(now);
    let validity_secs = match expiry {
        Some(e) if e <= starts => return (status::INVEXPIRY, String::new()),
        Some(e) => Some(u64::try_from(e - starts).unwrap_or(1)),
        None => None,
    };
    let request = SendRequest {
        to: vec![to],
        from: (!from.is_empty()).then_some(from),
        body: wire::decode_text(sm.data_coding, &sm.short_message),
        send_at: schedule.filter(|t| *t > now).map(time::to_rfc3339),
        callback_url: None,
        client_ref: None,
        validity_secs,
        smpp_receipt: request_receipt,
        ..SendRequest::default()
    };
    match shared.app.send(principal, request, None).await {
        Ok(SendResult::Sent(outcome)) => {
            if let Some(m) = outcome.messages.first() {
                if request_receipt {
                    shared.hub.want_receipt(&m.id, &principal.account_id);
                }
                metrics::counter!("textbird_smpp_server_submits_total", "status" => "ok").increment(1);
                return (status::OK, m.id.clone());
            }
            let code = match outcome.errors.first().map(|e| e.code) {
                Some("opted_out") => status::OPTED_OUT,
                Some("invalid_number" | "duplicate") => status::INVDSTADR,
                _ => status::SUBMITFAIL,
            };
            (code, String::new())
        }
        Ok(SendResult::Replayed(_)) => (status::SUBMITFAIL, String::new()),
        Err(AppError::Validation(fields)) => {
            let code = match fields.first().map(|f| (f.field.as_str(), f.message.as_str())) {
                Some((f, _)) if f.starts_with("from") => status::INVSRCADR,
                Some((f, m)) if f.starts_with("to") && m.starts_with("opted_out") => status::OPTED_OUT,
                Some((f, _)) if f.starts_with("to") => status::INVDSTADR,
                Some(("body", _)) => status::INVMSGLEN,
                _ => status::SUBMITFAIL,
            };
            (code, String::new())
        }
        Err(AppError::InsufficientBalance { .. }) => (status::NO_CREDIT, String::new()),
        Err(AppError::RateLimited(_)) => (status::THROTTLED, String::new()),
        Err(e) => {
            tracing::error!(error = %e, "SMPP submission failed");
            (status::SYSERR, String::new())
        }
    }
}
