//! The PDUs Textbird speaks, decoded from [`Frame`]s and encoded back.
//!
//! The message-carrying PDUs (`submit_sm`, `deliver_sm`, `data_sm`) are decoded and encoded
//! with `rusmpp`'s types. The bind PDUs are read by hand: SMPP 3.4 caps `password` at 8 and
//! `system_id` at 15 octets, but real ESMEs send longer ones (and Textbird's account
//! passwords are longer), so binds are read leniently up to 64 octets per field. The small
//! fixed responses are written by hand too; they are a header and at most one C string.

use bytes::{BufMut, Bytes, BytesMut};
use rusmpp::types::{AnyOctetString, COctetString, EmptyOrFullCOctetString, OctetString};
use rusmpp::values::{DataCoding, EsmClass, MessagePayload, MessageState, Npi, RegisteredDelivery, Ton};
use rusmpp::{Command, CommandStatus};

use crate::frame::{Frame, HEADER_LEN};

/// Command ids (SMPP 3.4 section 5.1.2.1).
pub mod id {
    pub const GENERIC_NACK: u32 = 0x8000_0000;
    pub const BIND_RECEIVER: u32 = 0x0000_0001;
    pub const BIND_TRANSMITTER: u32 = 0x0000_0002;
    pub const SUBMIT_SM: u32 = 0x0000_0004;
    pub const DELIVER_SM: u32 = 0x0000_0005;
    pub const UNBIND: u32 = 0x0000_0006;
    pub const BIND_TRANSCEIVER: u32 = 0x0000_0009;
    pub const ENQUIRE_LINK: u32 = 0x0000_0015;
    pub const DATA_SM: u32 = 0x0000_0103;
    pub const RESPONSE: u32 = 0x8000_0000;
}

/// Command statuses Textbird sends or acts on.
pub mod status {
    pub const OK: u32 = 0x0000_0000;
    pub const INVMSGLEN: u32 = 0x0000_0001;
    pub const INVCMDLEN: u32 = 0x0000_0002;
    pub const INVCMDID: u32 = 0x0000_0003;
    pub const INVBNDSTS: u32 = 0x0000_0004;
    pub const ALYBND: u32 = 0x0000_0005;
    pub const SYSERR: u32 = 0x0000_0008;
    pub const INVSRCADR: u32 = 0x0000_000A;
    pub const INVDSTADR: u32 = 0x0000_000B;
    pub const BINDFAIL: u32 = 0x0000_000D;
    pub const MSGQFUL: u32 = 0x0000_0014;
    pub const SUBMITFAIL: u32 = 0x0000_0045;
    pub const THROTTLED: u32 = 0x0000_0058;
    pub const INVEXPIRY: u32 = 0x0000_0062;
    pub const X_T_APPN: u32 = 0x0000_0064;
    /// Textbird (vendor range): the destination opted out of messages from this account.
    pub const OPTED_OUT: u32 = 0x0000_0401;
    /// Textbird (vendor range): the account's balance does not cover the message.
    pub const NO_CREDIT: u32 = 0x0000_0402;

    /// `0x0000000B` form used in error codes.
    pub fn code(status: u32) -> String {
        format!("0x{status:08X}")
    }

    /// Statuses that mean "not now" rather than "never".
    pub fn is_temporary(status: u32) -> bool {
        matches!(status, THROTTLED | MSGQFUL | SYSERR | X_T_APPN)
    }
}

/// How a session is bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindKind {
    Transmitter,
    Receiver,
    Transceiver,
}

impl BindKind {
    pub fn command_id(self) -> u32 {
        match self {
            BindKind::Transmitter => id::BIND_TRANSMITTER,
            BindKind::Receiver => id::BIND_RECEIVER,
            BindKind::Transceiver => id::BIND_TRANSCEIVER,
        }
    }
    pub fn can_send(self) -> bool {
        self != BindKind::Receiver
    }
    pub fn can_receive(self) -> bool {
        self != BindKind::Transmitter
    }
}

/// A source or destination address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    pub ton: u8,
    pub npi: u8,
    pub addr: String,
}

/// The fields of `submit_sm`, `deliver_sm` and `data_sm` that Textbird uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShortMessage {
    pub source: Address,
    pub dest: Address,
    pub esm_class: u8,
    pub registered_delivery: u8,
    pub data_coding: u8,
    pub validity_period: String,
    pub short_message: Vec<u8>,
    pub message_payload: Option<Vec<u8>>,
    /// `sar_msg_ref_num`, `sar_total_segments`, `sar_segment_seqnum`.
    pub sar: Option<(u16, u8, u8)>,
    pub receipted_message_id: Option<String>,
    pub message_state: Option<u8>,
}

impl ShortMessage {
    /// `esm_class` bit 6: `short_message` starts with a user data header.
    pub fn has_udh(&self) -> bool {
        self.esm_class & 0x40 != 0
    }
    /// `esm_class` bits 2-5 = 0001: an SMSC delivery receipt.
    pub fn is_receipt(&self) -> bool {
        self.esm_class & 0x3c == 0x04
    }
    /// The user data: `message_payload` when present, else `short_message`.
    pub fn user_data(&self) -> &[u8] {
        self.message_payload.as_deref().unwrap_or(&self.short_message)
    }
}

/// A decoded PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pdu {
    Bind {
        kind: BindKind,
        system_id: String,
        password: String,
        system_type: String,
        address_range: String,
    },
    BindResp {
        kind: BindKind,
        system_id: String,
    },
    SubmitSm(ShortMessage),
    SubmitSmResp {
        message_id: String,
    },
    DeliverSm(ShortMessage),
    DeliverSmResp,
    DataSm(ShortMessage),
    DataSmResp {
        message_id: String,
    },
    EnquireLink,
    EnquireLinkResp,
    Unbind,
    UnbindResp,
    GenericNack,
    /// A valid command Textbird does not handle (answered with `generic_nack` or
    /// `ESME_RINVCMDID` by the session).
    Unsupported,
}

/// A PDU with its header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub command_id: u32,
    pub status: u32,
    pub sequence: u32,
    pub pdu: Pdu,
}

/// Why a frame could not be decoded; the session answers with `status` and carries on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot decode command 0x{command_id:08X}: {detail}")]
pub struct DecodeFailure {
    pub command_id: u32,
    pub sequence: u32,
    /// The `command_status` to answer with.
    pub status: u32,
    pub detail: String,
}

/// Longest C string accepted in a bind or a response.
const LENIENT_CSTRING: usize = 65;

/// Decodes a frame. Unknown command ids are an error (`ESME_RINVCMDID`); malformed bodies of
/// known commands are an error with the status to answer.
pub fn decode(frame: &Frame) -> Result<Packet, DecodeFailure> {
    let fail = |status: u32, detail: String| DecodeFailure {
        command_id: frame.command_id,
        sequence: frame.sequence,
        status,
        detail,
    };
    let body = &frame.body[..];
    let pdu = match frame.command_id {
        id::BIND_TRANSMITTER | id::BIND_RECEIVER | id::BIND_TRANSCEIVER => {
            let kind = bind_kind(frame.command_id);
            let mut r = Reader::new(body);
            let parsed = (|| {
                let system_id = r.cstring()?;
                let password = r.cstring()?;
                let system_type = r.cstring()?;
                Some((system_id, password, system_type))
            })();
            let Some((system_id, password, system_type)) = parsed else {
                return Err(fail(status::INVMSGLEN, "malformed bind".into()));
            };
            // interface_version, addr_ton and addr_npi, then address_range (missing: empty).
            r.skip(3);
            let address_range = r.cstring().unwrap_or_default();
            Pdu::Bind { kind, system_id, password, system_type, address_range }
        }
        c if c & id::RESPONSE != 0 && matches!(c & !id::RESPONSE, 1 | 2 | 9) => {
            let system_id = Reader::new(body).cstring().unwrap_or_default();
            Pdu::BindResp { kind: bind_kind(c & !id::RESPONSE), system_id }
        }
        c if c == id::SUBMIT_SM | id::RESPONSE => {
            Pdu::SubmitSmResp { message_id: Reader::new(body).cstring().unwrap_or_default() }
        }
        c if c == id::DATA_SM | id::RESPONSE => {
            Pdu::DataSmResp { message_id: Reader::new(body).cstring().unwrap_or_default() }
        }
        c if c == id::DELIVER_SM | id::RESPONSE => Pdu::DeliverSmResp,
        c if c == id::ENQUIRE_LINK | id::RESPONSE => Pdu::EnquireLinkResp,
        c if c == id::UNBIND | id::RESPONSE => Pdu::UnbindResp,
        id::GENERIC_NACK => Pdu::GenericNack,
        id::ENQUIRE_LINK => Pdu::EnquireLink,
        id::UNBIND => Pdu::Unbind,
        id::SUBMIT_SM | id::DELIVER_SM | id::DATA_SM => {
            let command = rusmpp_decode(frame).map_err(|d| fail(status::INVMSGLEN, d))?;
            let sm = match command.pdu() {
                Some(rusmpp::Pdu::SubmitSm(p)) => from_submit(p),
                Some(rusmpp::Pdu::DeliverSm(p)) => from_deliver(p),
                Some(rusmpp::Pdu::DataSm(p)) => from_data(p),
                _ => return Err(fail(status::INVMSGLEN, "missing body".into())),
            };
            match frame.command_id {
                id::SUBMIT_SM => Pdu::SubmitSm(sm),
                id::DELIVER_SM => Pdu::DeliverSm(sm),
                _ => Pdu::DataSm(sm),
            }
        }
        // Other SMPP commands (query_sm, cancel_sm, replace_sm, submit_multi, ...).
        0x0000_0003 | 0x0000_0007 | 0x0000_0008 | 0x0000_000B | 0x0000_0021 | 0x0000_0102 => Pdu::Unsupported,
        // A response Textbird never asks for (query_sm_resp, ...): nothing waits for it.
        c if c & id::RESPONSE != 0 => Pdu::Unsupported,
        other => return Err(fail(status::INVCMDID, format!("unknown command id 0x{other:08X}"))),
    };
    Ok(Packet { command_id: frame.command_id, status: frame.status, sequence: frame.sequence, pdu })
}

fn bind_kind(command_id: u32) -> BindKind {
    match command_id {
        id::BIND_RECEIVER => BindKind::Receiver,
        id::BIND_TRANSMITTER => BindKind::Transmitter,
        _ => BindKind::Transceiver,
    }
}

fn rusmpp_decode(frame: &Frame) -> Result<Command, String> {
    use rusmpp::decode::DecodeWithLength;
    let mut buf = BytesMut::with_capacity(12 + frame.body.len());
    buf.put_u32(frame.command_id);
    buf.put_u32(frame.status);
    buf.put_u32(frame.sequence);
    buf.extend_from_slice(&frame.body);
    let len = buf.len();
    Command::decode(&mut buf, len).map(|(c, _)| c).map_err(|e| e.to_string())
}

/// Reads C strings leniently (bounded, lossy UTF-8).
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }
    fn skip(&mut self, n: usize) {
        self.bytes = &self.bytes[n.min(self.bytes.len())..];
    }
    fn cstring(&mut self) -> Option<String> {
        let end = self.bytes.iter().take(LENIENT_CSTRING).position(|b| *b == 0)?;
        let s = String::from_utf8_lossy(&self.bytes[..end]).into_owned();
        self.bytes = &self.bytes[end + 1..];
        Some(s)
    }
}

/// The text of a C string, without its terminating NUL.
fn cstr<const MIN: usize, const MAX: usize>(c: &COctetString<MIN, MAX>) -> String {
    String::from_utf8_lossy(c.as_ref()).trim_end_matches('\0').to_owned()
}

fn ecstr<const N: usize>(c: &EmptyOrFullCOctetString<N>) -> String {
    String::from_utf8_lossy(c.as_ref()).trim_end_matches('\0').to_owned()
}

macro_rules! read_tlvs {
    ($sm:ident, $tlvs:expr) => {
        for tlv in $tlvs {
            match tlv.value() {
                Some(rusmpp::tlvs::TlvValue::MessagePayload(p)) => {
                    $sm.message_payload = Some(p.value.as_ref().to_vec())
                }
                Some(rusmpp::tlvs::TlvValue::SarMsgRefNum(r)) => {
                    $sm.sar.get_or_insert((0, 0, 0)).0 = *r;
                }
                Some(rusmpp::tlvs::TlvValue::SarTotalSegments(t)) => {
                    $sm.sar.get_or_insert((0, 0, 0)).1 = *t;
                }
                Some(rusmpp::tlvs::TlvValue::SarSegmentSeqnum(s)) => {
                    $sm.sar.get_or_insert((0, 0, 0)).2 = *s;
                }
                Some(rusmpp::tlvs::TlvValue::ReceiptedMessageId(id)) => {
                    $sm.receipted_message_id = Some(cstr(id));
                }
                Some(rusmpp::tlvs::TlvValue::MessageState(s)) => {
                    $sm.message_state = Some(u8::from(*s));
                }
                _ => {}
            }
        }
    };
}

macro_rules! common_fields {
    ($p:ident) => {
        ShortMessage {
            source: Address {
                ton: u8::from($p.source_addr_ton),
                npi: u8::from($p.source_addr_npi),
                addr: cstr(&$p.source_addr),
            },
            dest: Address {
                ton: u8::from($p.dest_addr_ton),
                npi: u8::from($p.dest_addr_npi),
                addr: cstr(&$p.destination_addr),
            },
            esm_class: u8::from($p.esm_class),
            registered_delivery: u8::from($p.registered_delivery),
            data_coding: u8::from($p.data_coding),
            ..ShortMessage::default()
        }
    };
}

fn from_submit(p: &rusmpp::pdus::SubmitSm) -> ShortMessage {
    let mut sm = common_fields!(p);
    sm.validity_period = ecstr(&p.validity_period);
    sm.short_message = p.short_message().as_ref().to_vec();
    read_tlvs!(sm, p.tlvs());
    sm
}

fn from_deliver(p: &rusmpp::pdus::DeliverSm) -> ShortMessage {
    let mut sm = common_fields!(p);
    sm.short_message = p.short_message().as_ref().to_vec();
    read_tlvs!(sm, p.tlvs());
    sm
}

fn from_data(p: &rusmpp::pdus::DataSm) -> ShortMessage {
    let mut sm = common_fields!(p);
    read_tlvs!(sm, p.tlvs());
    sm
}

/// Why a PDU could not be encoded (a field too long for its SMPP type).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot encode {field}: {detail}")]
pub struct EncodeFailure {
    pub field: &'static str,
    pub detail: String,
}

fn field<T, E: std::fmt::Display>(name: &'static str, r: Result<T, E>) -> Result<T, EncodeFailure> {
    r.map_err(|e| EncodeFailure { field: name, detail: e.to_string() })
}

/// Encodes `pdu` as a complete PDU (length included).
pub fn encode(status: u32, sequence: u32, pdu: &Pdu) -> Result<Bytes, EncodeFailure> {
    let simple = |command_id: u32, body: &[u8]| {
        Frame { command_id, status, sequence, body: Bytes::copy_from_slice(body) }.to_bytes()
    };
    let with_cstring = |command_id: u32, s: &str| {
        let mut body = Vec::with_capacity(s.len() + 1);
        body.extend_from_slice(s.as_bytes());
        body.push(0);
        simple(command_id, &body)
    };
    Ok(match pdu {
        Pdu::Bind { kind, system_id, password, system_type, address_range } => {
            let mut body = Vec::new();
            for s in [system_id, password, system_type] {
                body.extend_from_slice(s.as_bytes());
                body.push(0);
            }
            // interface_version 3.4, addr_ton, addr_npi, then address_range.
            body.extend_from_slice(&[0x34, 0, 0]);
            body.extend_from_slice(address_range.as_bytes());
            body.push(0);
            simple(kind.command_id(), &body)
        }
        Pdu::BindResp { kind, system_id } => with_cstring(kind.command_id() | id::RESPONSE, system_id),
        Pdu::SubmitSmResp { message_id } => {
            if status == status::OK {
                with_cstring(id::SUBMIT_SM | id::RESPONSE, message_id)
            } else {
                simple(id::SUBMIT_SM | id::RESPONSE, &[])
            }
        }
        Pdu::DataSmResp { message_id } => with_cstring(id::DATA_SM | id::RESPONSE, message_id),
        Pdu::DeliverSmResp => with_cstring(id::DELIVER_SM | id::RESPONSE, ""),
        Pdu::EnquireLink => simple(id::ENQUIRE_LINK, &[]),
        Pdu::EnquireLinkResp => simple(id::ENQUIRE_LINK | id::RESPONSE, &[]),
        Pdu::Unbind => simple(id::UNBIND, &[]),
        Pdu::UnbindResp => simple(id::UNBIND | id::RESPONSE, &[]),
        Pdu::GenericNack | Pdu::Unsupported => simple(id::GENERIC_NACK, &[]),
        Pdu::SubmitSm(sm) => rusmpp_encode(status, sequence, to_submit(sm)?.into()),
        Pdu::DeliverSm(sm) => rusmpp_encode(status, sequence, to_deliver(sm)?.into()),
        Pdu::DataSm(sm) => rusmpp_encode(status, sequence, to_data(sm)?.into()),
    })
}

fn rusmpp_encode(status: u32, sequence: u32, pdu: rusmpp::Pdu) -> Bytes {
    use tokio_util::codec::Encoder;
    let command = Command::new(CommandStatus::from(status), sequence, pdu);
    let mut out = BytesMut::new();
    rusmpp::tokio_codec::CommandCodec::new().encode(&command, &mut out).expect("encoding to memory cannot fail");
    out.freeze()
}

struct Fields {
    source_addr: COctetString<1, 21>,
    destination_addr: COctetString<1, 21>,
    short_message: OctetString<0, 255>,
}

fn fields(sm: &ShortMessage) -> Result<Fields, EncodeFailure> {
    Ok(Fields {
        source_addr: field("source_addr", COctetString::from_str_checked(&sm.source.addr))?,
        destination_addr: field("destination_addr", COctetString::from_str_checked(&sm.dest.addr))?,
        short_message: field("short_message", OctetString::from_slice(&sm.short_message))?,
    })
}

/// `COctetString` from a `&str`, naming the error.
trait FromStrChecked: Sized {
    fn from_str_checked(s: &str) -> Result<Self, String>;
}

impl<const MIN: usize, const MAX: usize> FromStrChecked for COctetString<MIN, MAX> {
    fn from_str_checked(s: &str) -> Result<Self, String> {
        let mut bytes = s.as_bytes().to_vec();
        bytes.push(0);
        COctetString::from_vec(bytes).map_err(|e| format!("{e} ({s:?})"))
    }
}

/// A TLV's length is 16 bits: a longer `message_payload` cannot be sent.
const MAX_PAYLOAD: usize = u16::MAX as usize;

macro_rules! submission_tlvs {
    ($tlv:ident, $sm:ident) => {{
        let mut tlvs = Vec::new();
        if let Some(payload) = &$sm.message_payload {
            if payload.len() > MAX_PAYLOAD {
                return Err(EncodeFailure {
                    field: "message_payload",
                    detail: format!("{} octets; at most {MAX_PAYLOAD} fit", payload.len()),
                });
            }
            tlvs.push($tlv::MessagePayload(MessagePayload::new(AnyOctetString::from_slice(payload))));
        }
        if let Some((r, total, seq)) = $sm.sar {
            tlvs.push($tlv::SarMsgRefNum(r));
            tlvs.push($tlv::SarTotalSegments(total));
            tlvs.push($tlv::SarSegmentSeqnum(seq));
        }
        tlvs
    }};
}

fn to_submit(sm: &ShortMessage) -> Result<rusmpp::pdus::SubmitSm, EncodeFailure> {
    use rusmpp::tlvs::MessageSubmissionRequestTlvValue as T;
    let f = fields(sm)?;
    let tlvs = submission_tlvs!(T, sm);
    Ok(rusmpp::pdus::SubmitSm::builder()
        .source_addr_ton(Ton::from(sm.source.ton))
        .source_addr_npi(Npi::from(sm.source.npi))
        .source_addr(f.source_addr)
        .dest_addr_ton(Ton::from(sm.dest.ton))
        .dest_addr_npi(Npi::from(sm.dest.npi))
        .destination_addr(f.destination_addr)
        // Always explicit: EsmClass::default() is not 0.
        .esm_class(EsmClass::from(sm.esm_class))
        .registered_delivery(RegisteredDelivery::from(sm.registered_delivery))
        .validity_period(field("validity_period", EmptyOrFullCOctetString::from_vec(cbytes(&sm.validity_period)))?)
        .data_coding(DataCoding::from(sm.data_coding))
        .short_message(f.short_message)
        .tlvs(tlvs)
        .build())
}

fn to_deliver(sm: &ShortMessage) -> Result<rusmpp::pdus::DeliverSm, EncodeFailure> {
    use rusmpp::tlvs::MessageDeliveryRequestTlvValue as T;
    let f = fields(sm)?;
    let mut tlvs = submission_tlvs!(T, sm);
    if let Some(id) = &sm.receipted_message_id {
        tlvs.push(T::ReceiptedMessageId(field("receipted_message_id", COctetString::from_str_checked(id))?));
    }
    if let Some(state) = sm.message_state {
        tlvs.push(T::MessageState(MessageState::from(state)));
    }
    Ok(rusmpp::pdus::DeliverSm::builder()
        .source_addr_ton(Ton::from(sm.source.ton))
        .source_addr_npi(Npi::from(sm.source.npi))
        .source_addr(f.source_addr)
        .dest_addr_ton(Ton::from(sm.dest.ton))
        .dest_addr_npi(Npi::from(sm.dest.npi))
        .destination_addr(f.destination_addr)
        .esm_class(EsmClass::from(sm.esm_class))
        .registered_delivery(RegisteredDelivery::from(sm.registered_delivery))
        .data_coding(DataCoding::from(sm.data_coding))
        .short_message(f.short_message)
        .tlvs(tlvs)
        .build())
}

fn to_data(sm: &ShortMessage) -> Result<rusmpp::pdus::DataSm, EncodeFailure> {
    use rusmpp::tlvs::MessageSubmissionRequestTlvValue as T;
    let f = fields(sm)?;
    let mut tlvs = submission_tlvs!(T, sm);
    if sm.message_payload.is_none() && !sm.short_message.is_empty() {
        tlvs.insert(0, T::MessagePayload(MessagePayload::new(AnyOctetString::from_slice(&sm.short_message))));
    }
    Ok(rusmpp::pdus::DataSm::builder()
        .source_addr_ton(Ton::from(sm.source.ton))
        .source_addr_npi(Npi::from(sm.source.npi))
        .source_addr(f.source_addr)
        .dest_addr_ton(Ton::from(sm.dest.ton))
        .dest_addr_npi(Npi::from(sm.dest.npi))
        .destination_addr(f.destination_addr)
        .esm_class(EsmClass::from(sm.esm_class))
        .registered_delivery(RegisteredDelivery::from(sm.registered_delivery))
        .data_coding(DataCoding::from(sm.data_coding))
        .tlvs(tlvs)
        .build())
}

fn cbytes(s: &str) -> Vec<u8> {
    let mut b = s.as_bytes().to_vec();
    b.push(0);
    b
}

/// A `generic_nack` with `status` for `sequence`.
pub fn generic_nack(status: u32, sequence: u32) -> Bytes {
    Frame { command_id: id::GENERIC_NACK, status, sequence, body: Bytes::new() }.to_bytes()
}

/// The header length, for size arithmetic by callers.
pub const HEADER: usize = HEADER_LEN;

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_util::codec::Decoder;

    fn round_trip(status: u32, pdu: &Pdu) -> Packet {
        let bytes = encode(status, 42, pdu).expect("encodes");
        let frame = crate::frame::FrameCodec::default().decode(&mut BytesMut::from(&bytes[..])).unwrap().unwrap();
        decode(&frame).expect("decodes")
    }

    #[test]
    fn submit_sm_round_trips_with_tlvs() {
        let sm = ShortMessage {
            source: Address { ton: 5, npi: 0, addr: "Acme".into() },
            dest: Address { ton: 1, npi: 1, addr: "31612345678".into() },
            esm_class: 0,
            registered_delivery: 1,
            data_coding: 8,
            short_message: vec![0, 0x41],
            sar: Some((7, 3, 2)),
            ..ShortMessage::default()
        };
        let p = round_trip(0, &Pdu::SubmitSm(sm.clone()));
        assert_eq!(p.command_id, id::SUBMIT_SM);
        assert_eq!(p.sequence, 42);
        assert_eq!(p.pdu, Pdu::SubmitSm(sm));
    }

    #[test]
    fn esm_class_zero_is_encoded_as_zero() {
        let bytes = encode(
            0,
            1,
            &Pdu::SubmitSm(ShortMessage {
                source: Address { addr: "A".into(), ..Address::default() },
                dest: Address { addr: "1".into(), ..Address::default() },
                ..ShortMessage::default()
            }),
        )
        .unwrap();
        // header 16, service_type 1, src ton/npi 2, "A\0" 2, dst ton/npi 2, "1\0" 2 -> esm_class.
        assert_eq!(bytes[16 + 1 + 2 + 2 + 2 + 2], 0);
    }

    #[test]
    fn receipt_round_trips() {
        let sm = ShortMessage {
            source: Address { ton: 1, npi: 1, addr: "31612345678".into() },
            dest: Address { ton: 5, npi: 0, addr: "Acme".into() },
            esm_class: 4,
            short_message: b"id:1 stat:DELIVRD".to_vec(),
            receipted_message_id: Some("1".into()),
            message_state: Some(2),
            ..ShortMessage::default()
        };
        assert_eq!(round_trip(0, &Pdu::DeliverSm(sm.clone())).pdu, Pdu::DeliverSm(sm));
    }

    #[test]
    fn long_bind_credentials_are_read() {
        let bind = Pdu::Bind {
            kind: BindKind::Transceiver,
            system_id: "acme-abcdef-long-name".into(),
            password: "x".repeat(24),
            system_type: String::new(),
            address_range: "^316".into(),
        };
        assert_eq!(round_trip(0, &bind).pdu, bind);
    }

    #[test]
    fn oversize_payload_is_refused_not_mangled() {
        let sm = ShortMessage {
            source: Address { addr: "A".into(), ..Address::default() },
            dest: Address { addr: "1".into(), ..Address::default() },
            message_payload: Some(vec![0x41; 65_536]),
            ..ShortMessage::default()
        };
        assert_eq!(encode(0, 1, &Pdu::SubmitSm(sm)).unwrap_err().field, "message_payload");
    }

    #[test]
    fn unexpected_responses_are_not_errors() {
        let frame = Frame { command_id: 0x8000_0003, status: 0, sequence: 5, body: Bytes::new() };
        assert_eq!(decode(&frame).unwrap().pdu, Pdu::Unsupported);
    }

    #[test]
    fn unknown_command_is_invcmdid() {
        let frame = Frame { command_id: 0x999, status: 0, sequence: 5, body: Bytes::new() };
        let err = decode(&frame).unwrap_err();
        assert_eq!((err.status, err.sequence), (status::INVCMDID, 5));
    }

    #[test]
    fn truncated_submit_is_a_decode_failure() {
        let frame = Frame { command_id: id::SUBMIT_SM, status: 0, sequence: 9, body: Bytes::from_static(b"\0\x05") };
        assert_eq!(decode(&frame).unwrap_err().status, status::INVMSGLEN);
    }
}
