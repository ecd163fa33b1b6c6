//! One customer connection: bind, then submissions in and `deliver_sm`s out, until unbind,
//! idle timeout, a broken stream or shutdown. No input can panic it: every PDU is decoded
//! defensively, and anything undecodable is answered with `generic_nack`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use textbird_app::{AppError, Message, Principal, Replace, SendRequest, SendResult};
use textbird_smpp::frame::{FrameCodec, FrameError};
use textbird_smpp::pdu::{self, Address, BindKind, Dest, Packet, Pdu, ShortMessage, id, status};
use textbird_smpp::reassembly::{PartKey, Reassembler};
use textbird_smpp::receipt::State;
use textbird_smpp::session::{RequestError, Session, is_response};
use textbird_smpp::time;
use textbird_smpp::udh::Concat;
use textbird_smpp::wire::{self, Incoming};
use textbird_sms::Encoding;
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
/// A `deliver_sm` the customer refused (or did not answer) is offered again after this
/// pause, not at once: a receiver that refuses everything is not flooded.
const REFUSED_PAUSE: Duration = Duration::from_secs(1);
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
/// Each held part's data starts with its `sequence_number` and the fixed-size fields `send`
/// needs, then the schedule and the validity (each a length octet and the text).
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
                    // An operation before bind is refused as such, however malformed.
                    Err(e) if bound.is_none() && needs_bind(e.command_id) => {
                        let _ = session.send_bytes(nack_for(e.command_id, status::INVBNDSTS, e.sequence)).await;
                        continue;
                    }
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
                    (Some(b), Pdu::SubmitMulti { sm, dests }) => {
                        let refuse = || Pdu::SubmitMultiResp { message_id: String::new(), unsuccess: Vec::new() };
                        let code = if !b.kind.can_send() {
                            status::INVBNDSTS
                        } else if in_flight.load(Ordering::Acquire) >= shared.settings.window.max(1) as usize {
                            status::MSGQFUL
                        } else if let Err(AppError::RateLimited(_)) = shared.app.admit(&b.principal) {
                            status::THROTTLED
                        } else {
                            status::OK
                        };
                        if code != status::OK {
                            let _ = session.send(code, packet.sequence, &refuse()).await;
                            continue;
                        }
                        in_flight.fetch_add(1, Ordering::AcqRel);
                        let (shared, session, principal, in_flight) =
                            (shared.clone(), session.clone(), b.principal.clone(), in_flight.clone());
                        tokio::spawn(async move {
                            let (code, resp) = submit_multi(&shared, &principal, &sm, &dests).await;
                            let _ = session.send(code, packet.sequence, &resp).await;
                            in_flight.fetch_sub(1, Ordering::AcqRel);
                        });
                    }
                    (Some(b), Pdu::ReplaceSm { message_id, sm }) => {
                        let (shared, session, principal) = (shared.clone(), session.clone(), b.principal.clone());
                        tokio::spawn(async move {
                            let code = replace(&shared, &principal, &message_id, &sm).await;
                            let _ = session.send(code, packet.sequence, &Pdu::ReplaceSmResp).await;
                        });
                    }
                    (Some(b), Pdu::QuerySm { message_id, .. }) => {
                        let (shared, session, principal) = (shared.clone(), session.clone(), b.principal.clone());
                        tokio::spawn(async move {
                            let (code, resp) = query(&shared, &principal, &message_id).await;
                            let _ = session.send(code, packet.sequence, &resp).await;
                        });
                    }
                    (Some(b), Pdu::CancelSm { message_id, dest, .. }) => {
                        let (shared, session, principal) = (shared.clone(), session.clone(), b.principal.clone());
                        tokio::spawn(async move {
                            let code = cancel(&shared, &principal, &message_id, &dest).await;
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
                    match answer {
                        Ok(Packet { status: status::OK, .. }) => hub.took(item.owed),
                        // Not taken: it goes to a receiver of the account (after a pause
                        // when this one refused it), or waits in the database.
                        Err(RequestError::Closed) => hub.redeliver(&account, item),
                        Ok(_) | Err(_) => {
                            tokio::time::sleep(REFUSED_PAUSE).await;
                            hub.redeliver(&account, item);
                        }
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
/// is as unknown as one that does not exist. A `submit_multi` is answered for the
/// destination that speaks for it (see [`speaking_for`]).
async fn query(shared: &Shared, principal: &Principal, message_id: &str) -> (u32, Pdu) {
    let none =
        Pdu::QuerySmResp { message_id: String::new(), final_date: String::new(), message_state: 0, error_code: 0 };
    let found = match submission(shared, principal, message_id).await {
        Ok(found) => found,
        Err(e) => return (send_failure(&e), none),
    };
    let Some(m) = speaking_for(&found) else { return (status::INVMSGID, none) };
    let state = crate::hub::state_of(&m.status);
    let final_date = if state == State::Enroute { String::new() } else { time::to_smpp(m.updated_at / 1000) };
    let error_code = m.error_code.as_deref().and_then(network_error).unwrap_or(0);
    let resp = Pdu::QuerySmResp {
        message_id: message_id.to_owned(),
        final_date,
        message_state: state.message_state(),
        error_code,
    };
    (status::OK, resp)
}

/// The messages a customer knows by `message_id`: the one with that id, or those of the
/// `submit_multi` answered with it; none when neither is the caller's.
async fn submission(shared: &Shared, principal: &Principal, message_id: &str) -> Result<Vec<Message>, AppError> {
    if message_id.is_empty() {
        return Ok(Vec::new());
    }
    match shared.app.message(principal, message_id).await {
        Ok((m, _)) => Ok(vec![m]),
        Err(AppError::NotFound(_)) => shared.app.smpp_messages(principal, message_id).await,
        Err(e) => Err(e),
    }
}

/// The message whose state a submission reports: while any is pending, that one; once all
/// are final, the first that was not delivered, or else the last to be delivered.
fn speaking_for(found: &[Message]) -> Option<&Message> {
    let state = |m: &Message| crate::hub::state_of(&m.status);
    found
        .iter()
        .find(|m| state(m) == State::Enroute)
        .or_else(|| found.iter().find(|m| state(m) != State::Delivered))
        .or_else(|| found.iter().max_by_key(|m| m.updated_at))
}

/// A carrier's error code as `query_sm_resp`'s one-octet `error_code`, when it is one.
fn network_error(code: &str) -> Option<u8> {
    let code = code.trim();
    match code.strip_prefix("0x") {
        Some(hex) => u8::from_str_radix(hex, 16).ok(),
        None => code.parse().ok(),
    }
}

/// `cancel_sm` by `message_id`: the message, or each destination of a `submit_multi` (only
/// the one to `dest` when it is given), is canceled and refunded while it is scheduled.
/// Canceling by source and destination without an id is refused.
async fn cancel(shared: &Shared, principal: &Principal, message_id: &str, dest: &Address) -> u32 {
    let found = match submission(shared, principal, message_id).await {
        Ok(found) if found.is_empty() && message_id.is_empty() => return status::CANCELFAIL,
        Ok(found) if found.is_empty() => return status::INVMSGID,
        Ok(found) => found,
        Err(e) => return send_failure(&e),
    };
    // The destination picks among a submit_multi's messages; a single message is found by its id.
    let wanted = number_of(dest);
    let digits = |n: &str| n.trim_start_matches('+').to_owned();
    let multi = found.iter().any(|m| m.smpp_ref.as_deref() == Some(message_id));
    let mut canceled = 0;
    for m in found.iter().filter(|m| !multi || wanted.is_empty() || digits(&m.to) == digits(&wanted)) {
        match shared.app.cancel(principal, &m.id).await {
            Ok(_) => canceled += 1,
            Err(AppError::Conflict(_)) => {}
            Err(e) => return send_failure(&e),
        }
    }
    if canceled == 0 { status::CANCELFAIL } else { status::OK }
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
/// Whether a command is one a session must be bound for.
fn needs_bind(command_id: u32) -> bool {
    matches!(
        command_id,
        id::SUBMIT_SM | id::DATA_SM | id::DELIVER_SM | id::SUBMIT_MULTI | id::REPLACE_SM | id::CANCEL_SM | id::QUERY_SM
    )
}

fn nack_for(command_id: u32, code: u32, sequence: u32) -> Bytes {
    let resp = match command_id {
        id::SUBMIT_SM => Pdu::SubmitSmResp { message_id: String::new() },
        id::DATA_SM => Pdu::DataSmResp { message_id: String::new() },
        id::DELIVER_SM => Pdu::DeliverSmResp,
        id::SUBMIT_MULTI => Pdu::SubmitMultiResp { message_id: String::new(), unsuccess: Vec::new() },
        id::REPLACE_SM => Pdu::ReplaceSmResp,
        id::CANCEL_SM => Pdu::CancelSmResp,
        id::QUERY_SM => {
            Pdu::QuerySmResp { message_id: String::new(), final_date: String::new(), message_state: 0, error_code: 0 }
        }
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
    let (schedule, validity) = (sm.schedule_delivery_time.as_bytes(), sm.validity_period.as_bytes());
    let mut tagged = Vec::with_capacity(PART_TAG + 2 + schedule.len() + validity.len() + data.len());
    tagged.extend_from_slice(&sequence.to_be_bytes());
    tagged.extend_from_slice(&[
        sm.data_coding,
        sm.source.ton,
        sm.source.npi,
        sm.dest.ton,
        sm.dest.npi,
        sm.registered_delivery,
    ]);
    // Both are C-Octet Strings of at most 17 octets (decoding refuses longer ones).
    for field in [schedule, validity] {
        tagged.push(u8::try_from(field.len()).unwrap_or(u8::MAX));
        tagged.extend_from_slice(&field[..field.len().min(usize::from(u8::MAX))]);
    }
    tagged.extend_from_slice(data);
    let all = parts.lock().expect("poisoned").push(key.clone(), concat.seq, tagged, Instant::now())?;
    let first = all.first()?;
    let (schedule, validity, _) = part_fields(first);
    let whole = ShortMessage {
        source: Address { ton: first[5], npi: first[6], addr: key.from },
        dest: Address { ton: first[7], npi: first[8], addr: key.to },
        data_coding: first[4],
        registered_delivery: first[9],
        // The first part's schedule and validity are the message's.
        schedule_delivery_time: String::from_utf8_lossy(schedule).into_owned(),
        validity_period: String::from_utf8_lossy(validity).into_owned(),
        short_message: all.iter().flat_map(|p| part_fields(p).2.iter().copied()).collect(),
        ..ShortMessage::default()
    };
    Some((whole, all.iter().map(|p| part_sequence(p)).collect()))
}

/// A held part's schedule, validity and data.
fn part_fields(tagged: &[u8]) -> (&[u8], &[u8], &[u8]) {
    let rest = &tagged[PART_TAG..];
    let (schedule, rest) = rest[1..].split_at(usize::from(rest[0]));
    let (validity, data) = rest[1..].split_at(usize::from(rest[0]));
    (schedule, validity, data)
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

/// A destination address as Textbird reads numbers: international ones with their `+`.
fn number_of(a: &Address) -> String {
    if a.ton == wire::TON_INTERNATIONAL { wire::number(a) } else { a.addr.clone() }
}

/// `schedule_delivery_time` and `validity_period` as a send time (epoch s, when later than
/// now) and a validity counted from it; the status to refuse them with otherwise.
fn timing(sm: &ShortMessage) -> Result<(Option<i64>, Option<u64>), u32> {
    let now = textbird_types::now_millis() / 1000;
    let schedule = time::parse(&sm.schedule_delivery_time).map_err(|_| status::INVSCHED)?.map(|t| t.at(now));
    let expiry = time::parse(&sm.validity_period).map_err(|_| status::INVEXPIRY)?.map(|t| t.at(now));
    let starts = schedule.unwrap_or(now).max(now);
    let validity_secs = match expiry {
        Some(e) if e <= starts => return Err(status::INVEXPIRY),
        Some(e) => Some(u64::try_from(e - starts).unwrap_or(1)),
        None => None,
    };
    Ok((schedule.filter(|t| *t > now), validity_secs))
}

/// The native send request for a submission to `to`.
fn request_for(sm: &ShortMessage, to: Vec<String>) -> Result<SendRequest, u32> {
    let from = number_of(&sm.source);
    let (send_at, validity_secs) = timing(sm)?;
    Ok(SendRequest {
        to,
        from: (!from.is_empty()).then_some(from),
        body: wire::decode_text(sm.data_coding, &sm.short_message),
        send_at: send_at.map(time::to_rfc3339),
        validity_secs,
        smpp_receipt: sm.registered_delivery & 0x03 != 0,
        ..SendRequest::default()
    })
}

/// The SMPP status for a recipient the send refused (`RecipientError::code`).
fn recipient_status(code: &str) -> u32 {
    match code {
        "opted_out" => status::OPTED_OUT,
        "invalid_number" | "duplicate" | "country_not_allowed" => status::INVDSTADR,
        _ => status::SUBMITFAIL,
    }
}

/// The SMPP status for a send that failed as a whole.
fn send_failure(e: &AppError) -> u32 {
    match e {
        AppError::Validation(fields) => match fields.first().map(|f| (f.field.as_str(), f.message.as_str())) {
            Some((f, _)) if f.starts_with("from") => status::INVSRCADR,
            Some((f, m)) if f.starts_with("to") && m.starts_with("opted_out") => status::OPTED_OUT,
            Some((f, _)) if f.starts_with("to") => status::INVDSTADR,
            Some(("body", _)) => status::INVMSGLEN,
            Some(("send_at", _)) => status::INVSCHED,
            Some(("validity_period", _)) => status::INVEXPIRY,
            _ => status::SUBMITFAIL,
        },
        AppError::InsufficientBalance { .. } | AppError::SpendCapReached { .. } => status::NO_CREDIT,
        AppError::RateLimited(_) => status::THROTTLED,
        AppError::NotFound(_) => status::INVMSGID,
        e => {
            tracing::error!(error = %e, "SMPP request failed");
            status::SYSERR
        }
    }
}

fn count_submit() {
    metrics::counter!("textbird_smpp_server_submits_total", "status" => "ok").increment(1);
}

/// Sends through the same pipeline as the HTTP API; returns the status to answer and the
/// message id.
async fn send(shared: &Shared, principal: &Principal, sm: &ShortMessage) -> (u32, String) {
    let request = match request_for(sm, vec![number_of(&sm.dest)]) {
        Ok(r) => r,
        Err(code) => return (code, String::new()),
    };
    let request_receipt = request.smpp_receipt;
    match shared.app.send(principal, request, None).await {
        Ok(SendResult::Sent(outcome)) => {
            if let Some(m) = outcome.messages.first() {
                if request_receipt {
                    shared.hub.want_receipt(&m.id, &principal.account_id, None);
                }
                count_submit();
                return (status::OK, m.id.clone());
            }
            (outcome.errors.first().map_or(status::SUBMITFAIL, |e| recipient_status(e.code)), String::new())
        }
        Ok(SendResult::Replayed(_)) => (status::SUBMITFAIL, String::new()),
        Err(e) => (send_failure(&e), String::new()),
    }
}

/// `submit_multi`: one send to every destination (a distribution list is the account's
/// contact group of that name), answered with the id of the whole submission, which its
/// receipts, `query_sm` and `cancel_sm` use. Destinations refused one by one are listed in
/// the answer with their status; when none is left, the first one's status answers it.
async fn submit_multi(shared: &Shared, principal: &Principal, sm: &ShortMessage, dests: &[Dest]) -> (u32, Pdu) {
    let refused = |code: u32, unsuccess: Vec<(Address, u32)>| {
        (code, Pdu::SubmitMultiResp { message_id: String::new(), unsuccess })
    };
    if dests.is_empty() {
        return refused(status::INVNUMDESTS, Vec::new());
    }
    let mut to = Vec::new();
    let mut addresses = Vec::new();
    let mut group_ids = Vec::new();
    for d in dests {
        match d {
            Dest::Sme(a) => {
                to.push(number_of(a));
                addresses.push(a.clone());
            }
            Dest::List(name) => match group_named(shared, principal, name).await {
                Ok(Some(id)) => group_ids.push(id),
                Ok(None) => return refused(status::INVDLNAME, Vec::new()),
                Err(e) => return refused(send_failure(&e), Vec::new()),
            },
        }
    }
    let mut request = match request_for(sm, to) {
        Ok(r) => r,
        Err(code) => return refused(code, Vec::new()),
    };
    request.group_ids = group_ids;
    request.smpp_multi = true;
    let request_receipt = request.smpp_receipt;
    // A refused recipient as the answer lists it: as it was given, or as a list member's number.
    let unsuccess_of = |index: usize, to: &str, code: u32| {
        let address = addresses.get(index).cloned().unwrap_or_else(|| wire::address(to));
        (address, code)
    };
    match shared.app.send(principal, request, None).await {
        Ok(SendResult::Sent(outcome)) => {
            let unsuccess: Vec<_> =
                outcome.errors.iter().map(|e| unsuccess_of(e.index, &e.to, recipient_status(e.code))).collect();
            if outcome.messages.is_empty() {
                let code = unsuccess.first().map_or(status::SUBMITFAIL, |u| u.1);
                return refused(code, unsuccess);
            }
            if request_receipt {
                for m in &outcome.messages {
                    shared.hub.want_receipt(&m.id, &principal.account_id, Some(&outcome.batch_id));
                }
            }
            count_submit();
            (status::OK, Pdu::SubmitMultiResp { message_id: outcome.batch_id, unsuccess })
        }
        Ok(SendResult::Replayed(_)) => refused(status::SUBMITFAIL, Vec::new()),
        Err(AppError::Validation(fields)) if fields.iter().all(|f| f.field.starts_with("to[")) => {
            // Every recipient was refused: `to[i]` with `code: detail`.
            let unsuccess: Vec<_> = fields
                .iter()
                .filter_map(|f| {
                    let index = f.field.strip_prefix("to[")?.strip_suffix(']')?.parse().ok()?;
                    let code = f.message.split(':').next().unwrap_or_default();
                    let number = addresses.get(index).map(number_of).unwrap_or_default();
                    Some(unsuccess_of(index, &number, recipient_status(code)))
                })
                .collect();
            let code = unsuccess.first().map_or(status::SUBMITFAIL, |u| u.1);
            refused(code, unsuccess)
        }
        Err(e) => refused(send_failure(&e), Vec::new()),
    }
}

/// The account's contact group called `name` (a `submit_multi` distribution list).
async fn group_named(shared: &Shared, principal: &Principal, name: &str) -> Result<Option<String>, AppError> {
    let (groups, _) = shared.app.groups(principal, Some(name.to_owned()), None, Some(100)).await?;
    Ok(groups.into_iter().find(|g| g.name.eq_ignore_ascii_case(name)).map(|g| g.id))
}

/// `replace_sm`: a scheduled message takes the new text, schedule, validity and receipt
/// request (an empty text, schedule or validity keeps the message's). Replacement text is
/// read in the alphabet the message went out in: UCS-2 for a UCS-2 message, else the
/// default alphabet. A message already handed to the carrier, or a `submit_multi`, is
/// `ESME_RREPLACEFAIL`.
async fn replace(shared: &Shared, principal: &Principal, message_id: &str, sm: &ShortMessage) -> u32 {
    let m = match shared.app.message(principal, message_id).await {
        Ok((m, _)) => m,
        Err(AppError::NotFound(_)) => {
            return match shared.app.smpp_messages(principal, message_id).await {
                Ok(found) if !found.is_empty() => status::REPLACEFAIL,
                Ok(_) => status::INVMSGID,
                Err(e) => send_failure(&e),
            };
        }
        Err(e) => return send_failure(&e),
    };
    let now = textbird_types::now_millis() / 1000;
    let Ok(schedule) = time::parse(&sm.schedule_delivery_time).map(|t| t.map(|t| t.at(now))) else {
        return status::INVSCHED;
    };
    let Ok(expiry) = time::parse(&sm.validity_period).map(|t| t.map(|t| t.at(now))) else {
        return status::INVEXPIRY;
    };
    let data = sm.user_data();
    let data_coding = if m.encoding == Encoding::Ucs2.as_str() { Encoding::Ucs2.data_coding() } else { 0 };
    let r = Replace {
        body: (!data.is_empty()).then(|| wire::decode_text(data_coding, data)),
        send_at: schedule.map(|t| t * 1000),
        valid_until: expiry.map(|t| t * 1000),
        smpp_receipt: Some(sm.registered_delivery & 0x03 != 0),
    };
    let receipt = r.smpp_receipt == Some(true);
    match shared.app.replace(principal, &m.id, r).await {
        Ok(m) => {
            if receipt {
                shared.hub.want_receipt(&m.id, &principal.account_id, None);
            }
            status::OK
        }
        Err(AppError::Conflict(_)) => status::REPLACEFAIL,
        Err(e) => send_failure(&e),
    }
}
