//! The PDUs Textbird speaks, decoded from [`Frame`]s and encoded back.
//!
//! The message-carrying PDUs (`submit_sm`, `deliver_sm`, `data_sm`) are decoded and encoded
//! with `rusmpp`'s types. The bind PDUs are read by hand: SMPP 3.4 caps `password` at 8 and
//! `system_id` at 15 octets, but real ESMEs send longer ones, so binds are read leniently up
//! to 64 octets per field and the server decides what to refuse (a `password` over 8 octets
//! is `ESME_RINVPASWD`, never cut to its first 8). The small
//! fixed responses are written by hand too; they are a header and at most one C string.

mod messages;
#[cfg(test)]
mod tests;

use bytes::Bytes;

use crate::frame::Frame;
use messages::{
    from_data, from_deliver, from_replace, from_submit, from_submit_multi, rusmpp_decode, rusmpp_encode, to_data,
    to_deliver, to_submit,
};

/// Command ids (SMPP 3.4 section 5.1.2.1).
pub mod id {
    pub const GENERIC_NACK: u32 = 0x8000_0000;
    pub const BIND_RECEIVER: u32 = 0x0000_0001;
    pub const BIND_TRANSMITTER: u32 = 0x0000_0002;
    pub const QUERY_SM: u32 = 0x0000_0003;
    pub const SUBMIT_SM: u32 = 0x0000_0004;
    pub const DELIVER_SM: u32 = 0x0000_0005;
    pub const UNBIND: u32 = 0x0000_0006;
    pub const REPLACE_SM: u32 = 0x0000_0007;
    pub const CANCEL_SM: u32 = 0x0000_0008;
    pub const BIND_TRANSCEIVER: u32 = 0x0000_0009;
    pub const ENQUIRE_LINK: u32 = 0x0000_0015;
    pub const SUBMIT_MULTI: u32 = 0x0000_0021;
    pub const DATA_SM: u32 = 0x0000_0103;
    pub const RESPONSE: u32 = 0x8000_0000;
}

/// Command statuses Textbird sends or acts on.
pub mod status {
    pub use rusmpp::CommandStatus;

    pub const OK: u32 = 0x0000_0000;
    pub const INVMSGLEN: u32 = 0x0000_0001;
    pub const INVCMDLEN: u32 = 0x0000_0002;
    pub const INVCMDID: u32 = 0x0000_0003;
    pub const INVBNDSTS: u32 = 0x0000_0004;
    pub const ALYBND: u32 = 0x0000_0005;
    pub const SYSERR: u32 = 0x0000_0008;
    pub const INVSRCADR: u32 = 0x0000_000A;
    pub const INVDSTADR: u32 = 0x0000_000B;
    /// `ESME_RINVMSGID`: no such message (another account's is none either).
    pub const INVMSGID: u32 = 0x0000_000C;
    pub const BINDFAIL: u32 = 0x0000_000D;
    /// `ESME_RINVPASWD`: invalid password.
    pub const INVPASWD: u32 = 0x0000_000E;
    /// `ESME_RCANCELFAIL`: the message cannot be canceled (it is no longer scheduled).
    pub const CANCELFAIL: u32 = 0x0000_0011;
    pub const REPLACEFAIL: u32 = 0x0000_0013;
    pub const INVNUMDESTS: u32 = 0x0000_0033;
    pub const INVDLNAME: u32 = 0x0000_0034;
    pub const MSGQFUL: u32 = 0x0000_0014;
    pub const SUBMITFAIL: u32 = 0x0000_0045;
    pub const THROTTLED: u32 = 0x0000_0058;
    /// `ESME_RINVSCHED`: an unreadable `schedule_delivery_time`.
    pub const INVSCHED: u32 = 0x0000_0061;
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

    /// A `command_status` as rusmpp's typed `CommandStatus` (unknown values keep their
    /// number as `Other`).
    pub fn typed(status: u32) -> CommandStatus {
        CommandStatus::from(status)
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
    /// `submit_sm`'s `schedule_delivery_time` (empty: at once).
    pub schedule_delivery_time: String,
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
    /// `query_sm`: the state of a message submitted earlier.
    QuerySm {
        message_id: String,
        source: Address,
    },
    QuerySmResp {
        message_id: String,
        /// Absolute SMPP time of the final state, empty while there is none.
        final_date: String,
        message_state: u8,
        error_code: u8,
    },
    /// `cancel_sm`: cancel a message submitted earlier and not yet sent.
    CancelSm {
        service_type: String,
        message_id: String,
        source: Address,
        dest: Address,
    },
    CancelSmResp,
    /// `submit_multi`: one message to several destinations; `sm.dest` is unused.
    SubmitMulti {
        sm: ShortMessage,
        dests: Vec<Dest>,
    },
    /// The id all destinations share, and those that were refused with their status.
    SubmitMultiResp {
        message_id: String,
        unsuccess: Vec<(Address, u32)>,
    },
    /// `replace_sm`: new text, schedule, validity or receipt request for a message
    /// submitted earlier; `sm` carries them (and `source`), `dest` is unused.
    ReplaceSm {
        message_id: String,
        sm: ShortMessage,
    },
    ReplaceSmResp,
    EnquireLink,
    EnquireLinkResp,
    Unbind,
    UnbindResp,
    GenericNack,
    /// A valid command Textbird does not handle (answered with `generic_nack` or
    /// `ESME_RINVCMDID` by the session).
    Unsupported,
}

/// A destination of `submit_multi`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dest {
    Sme(Address),
    /// A distribution list, by name.
    List(String),
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
        id::QUERY_SM => {
            let mut r = Reader::new(body);
            let parsed = (|| {
                let message_id = r.cstring()?;
                let source = r.address()?;
                Some((message_id, source))
            })();
            let Some((message_id, source)) = parsed else {
                return Err(fail(status::INVMSGLEN, "malformed query_sm".into()));
            };
            Pdu::QuerySm { message_id, source }
        }
        id::CANCEL_SM => {
            let mut r = Reader::new(body);
            let parsed = (|| {
                let service_type = r.cstring()?;
                let message_id = r.cstring()?;
                let source = r.address()?;
                let dest = r.address()?;
                Some((service_type, message_id, source, dest))
            })();
            let Some((service_type, message_id, source, dest)) = parsed else {
                return Err(fail(status::INVMSGLEN, "malformed cancel_sm".into()));
            };
            Pdu::CancelSm { service_type, message_id, source, dest }
        }
        c if c == id::ENQUIRE_LINK | id::RESPONSE => Pdu::EnquireLinkResp,
        c if c == id::UNBIND | id::RESPONSE => Pdu::UnbindResp,
        id::GENERIC_NACK => Pdu::GenericNack,
        id::ENQUIRE_LINK => Pdu::EnquireLink,
        id::UNBIND => Pdu::Unbind,
        id::SUBMIT_MULTI | id::REPLACE_SM => {
            let command = rusmpp_decode(frame).map_err(|d| fail(status::INVMSGLEN, d))?;
            match command.pdu() {
                Some(rusmpp::Pdu::SubmitMulti(p)) => {
                    let (sm, dests) = from_submit_multi(p);
                    Pdu::SubmitMulti { sm, dests }
                }
                Some(rusmpp::Pdu::ReplaceSm(p)) => {
                    let (message_id, sm) = from_replace(p);
                    Pdu::ReplaceSm { message_id, sm }
                }
                _ => return Err(fail(status::INVMSGLEN, "missing body".into())),
            }
        }
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
        // Other SMPP 3.4 commands (outbind, alert_notification).
        0x0000_000B | 0x0000_0102 => Pdu::Unsupported,
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
    /// `addr_ton`, `addr_npi` and the address.
    fn address(&mut self) -> Option<Address> {
        let (&ton, &npi) = (self.bytes.first()?, self.bytes.get(1)?);
        self.skip(2);
        Some(Address { ton, npi, addr: self.cstring()? })
    }
    fn cstring(&mut self) -> Option<String> {
        let end = self.bytes.iter().take(LENIENT_CSTRING).position(|b| *b == 0)?;
        let s = String::from_utf8_lossy(&self.bytes[..end]).into_owned();
        self.bytes = &self.bytes[end + 1..];
        Some(s)
    }
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
        Pdu::QuerySm { message_id, source } => {
            let mut body = Vec::new();
            put_cstring(&mut body, message_id);
            put_address(&mut body, source);
            simple(id::QUERY_SM, &body)
        }
        Pdu::QuerySmResp { message_id, final_date, message_state, error_code } => {
            if status == status::OK {
                let mut body = Vec::new();
                put_cstring(&mut body, message_id);
                put_cstring(&mut body, final_date);
                body.extend_from_slice(&[*message_state, *error_code]);
                simple(id::QUERY_SM | id::RESPONSE, &body)
            } else {
                simple(id::QUERY_SM | id::RESPONSE, &[])
            }
        }
        Pdu::CancelSm { service_type, message_id, source, dest } => {
            let mut body = Vec::new();
            put_cstring(&mut body, service_type);
            put_cstring(&mut body, message_id);
            put_address(&mut body, source);
            put_address(&mut body, dest);
            simple(id::CANCEL_SM, &body)
        }
        Pdu::CancelSmResp => simple(id::CANCEL_SM | id::RESPONSE, &[]),
        Pdu::SubmitMulti { sm, dests } => simple(id::SUBMIT_MULTI, &submit_multi_body(sm, dests)?),
        Pdu::SubmitMultiResp { message_id, unsuccess } => {
            let mut body = Vec::new();
            put_cstring(&mut body, message_id);
            body.push(u8::try_from(unsuccess.len()).map_err(|_| EncodeFailure {
                field: "unsuccess_sme",
                detail: format!("{} destinations; at most 255 fit", unsuccess.len()),
            })?);
            for (address, code) in unsuccess {
                put_address(&mut body, address);
                body.extend_from_slice(&code.to_be_bytes());
            }
            simple(id::SUBMIT_MULTI | id::RESPONSE, &body)
        }
        Pdu::ReplaceSm { message_id, sm } => {
            let mut body = Vec::new();
            put_cstring(&mut body, message_id);
            put_address(&mut body, &sm.source);
            put_cstring(&mut body, &sm.schedule_delivery_time);
            put_cstring(&mut body, &sm.validity_period);
            body.extend_from_slice(&[sm.registered_delivery, 0]);
            put_short_message(&mut body, &sm.short_message)?;
            simple(id::REPLACE_SM, &body)
        }
        Pdu::ReplaceSmResp => simple(id::REPLACE_SM | id::RESPONSE, &[]),
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

fn put_cstring(body: &mut Vec<u8>, s: &str) {
    body.extend_from_slice(s.as_bytes());
    body.push(0);
}

fn put_address(body: &mut Vec<u8>, a: &Address) {
    body.extend_from_slice(&[a.ton, a.npi]);
    put_cstring(body, &a.addr);
}

/// `sm_length` and `short_message`.
fn put_short_message(body: &mut Vec<u8>, data: &[u8]) -> Result<(), EncodeFailure> {
    let len = u8::try_from(data.len())
        .map_err(|_| EncodeFailure { field: "short_message", detail: format!("{} octets; at most 255", data.len()) })?;
    body.push(len);
    body.extend_from_slice(data);
    Ok(())
}

/// The body of a `submit_multi` (SMPP 3.4 §4.5.1), with `message_payload` as a TLV.
fn submit_multi_body(sm: &ShortMessage, dests: &[Dest]) -> Result<Vec<u8>, EncodeFailure> {
    let mut body = Vec::new();
    put_cstring(&mut body, "");
    put_address(&mut body, &sm.source);
    body.push(u8::try_from(dests.len()).map_err(|_| EncodeFailure {
        field: "dest_address",
        detail: format!("{} destinations; at most 255", dests.len()),
    })?);
    for d in dests {
        match d {
            Dest::Sme(a) => {
                body.push(1);
                put_address(&mut body, a);
            }
            Dest::List(name) => {
                body.push(2);
                put_cstring(&mut body, name);
            }
        }
    }
    // esm_class, protocol_id, priority_flag.
    body.extend_from_slice(&[sm.esm_class, 0, 0]);
    put_cstring(&mut body, &sm.schedule_delivery_time);
    put_cstring(&mut body, &sm.validity_period);
    // registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id.
    body.extend_from_slice(&[sm.registered_delivery, 0, sm.data_coding, 0]);
    put_short_message(&mut body, &sm.short_message)?;
    if let Some(payload) = &sm.message_payload {
        let len = u16::try_from(payload.len()).map_err(|_| EncodeFailure {
            field: "message_payload",
            detail: format!("{} octets; at most {} fit", payload.len(), u16::MAX),
        })?;
        body.extend_from_slice(&0x0424u16.to_be_bytes());
        body.extend_from_slice(&len.to_be_bytes());
        body.extend_from_slice(payload);
    }
    Ok(body)
}

/// A `generic_nack` with `status` for `sequence`.
pub fn generic_nack(status: u32, sequence: u32) -> Bytes {
    Frame { command_id: id::GENERIC_NACK, status, sequence, body: Bytes::new() }.to_bytes()
}
