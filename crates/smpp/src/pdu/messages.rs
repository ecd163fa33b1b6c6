//! Conversions between Textbird's `ShortMessage` and `rusmpp`'s typed `submit_sm`,
//! `deliver_sm` and `data_sm`, in both directions.

use bytes::{BufMut, Bytes, BytesMut};
use rusmpp::types::{AnyOctetString, COctetString, EmptyOrFullCOctetString, OctetString};
use rusmpp::values::{DataCoding, EsmClass, MessagePayload, MessageState, Npi, RegisteredDelivery, Ton};
use rusmpp::{Command, CommandStatus};

use super::{Address, EncodeFailure, ShortMessage, field};
use crate::frame::Frame;

pub(super) fn rusmpp_decode(frame: &Frame) -> Result<Command, String> {
    use rusmpp::decode::DecodeWithLength;
    let mut buf = BytesMut::with_capacity(12 + frame.body.len());
    buf.put_u32(frame.command_id);
    buf.put_u32(frame.status);
    buf.put_u32(frame.sequence);
    buf.extend_from_slice(&frame.body);
    let len = buf.len();
    Command::decode(&mut buf, len).map(|(c, _)| c).map_err(|e| e.to_string())
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

pub(super) fn from_submit(p: &rusmpp::pdus::SubmitSm) -> ShortMessage {
    let mut sm = common_fields!(p);
    sm.validity_period = ecstr(&p.validity_period);
    sm.schedule_delivery_time = ecstr(&p.schedule_delivery_time);
    sm.short_message = p.short_message().as_ref().to_vec();
    read_tlvs!(sm, p.tlvs());
    sm
}

pub(super) fn from_deliver(p: &rusmpp::pdus::DeliverSm) -> ShortMessage {
    let mut sm = common_fields!(p);
    sm.short_message = p.short_message().as_ref().to_vec();
    read_tlvs!(sm, p.tlvs());
    sm
}

pub(super) fn from_data(p: &rusmpp::pdus::DataSm) -> ShortMessage {
    let mut sm = common_fields!(p);
    read_tlvs!(sm, p.tlvs());
    sm
}

/// A `submit_multi` as the message (its `dest` empty) and its destinations.
pub(super) fn from_submit_multi(p: &rusmpp::pdus::SubmitMulti) -> (ShortMessage, Vec<super::Dest>) {
    use rusmpp::values::DestAddress;
    let mut sm = ShortMessage {
        source: Address {
            ton: u8::from(p.source_addr_ton),
            npi: u8::from(p.source_addr_npi),
            addr: cstr(&p.source_addr),
        },
        esm_class: u8::from(p.esm_class),
        registered_delivery: u8::from(p.registered_delivery),
        data_coding: u8::from(p.data_coding),
        validity_period: ecstr(&p.validity_period),
        schedule_delivery_time: ecstr(&p.schedule_delivery_time),
        short_message: p.short_message().as_ref().to_vec(),
        ..ShortMessage::default()
    };
    read_tlvs!(sm, p.tlvs());
    let dests = p
        .dest_address()
        .iter()
        .map(|d| match d {
            DestAddress::SmeAddress(a) => super::Dest::Sme(Address {
                ton: u8::from(a.dest_addr_ton),
                npi: u8::from(a.dest_addr_npi),
                addr: cstr(&a.destination_addr),
            }),
            DestAddress::DistributionListName(l) => super::Dest::List(cstr(&l.dl_name)),
        })
        .collect();
    (sm, dests)
}

/// A `replace_sm` as its message id and the new message (its `dest` empty).
pub(super) fn from_replace(p: &rusmpp::pdus::ReplaceSm) -> (String, ShortMessage) {
    let sm = ShortMessage {
        source: Address {
            ton: u8::from(p.source_addr_ton),
            npi: u8::from(p.source_addr_npi),
            addr: cstr(&p.source_addr),
        },
        registered_delivery: u8::from(p.registered_delivery),
        validity_period: ecstr(&p.validity_period),
        schedule_delivery_time: ecstr(&p.schedule_delivery_time),
        short_message: p.short_message().as_ref().to_vec(),
        message_payload: p.message_payload().map(|m| m.value.as_ref().to_vec()),
        ..ShortMessage::default()
    };
    (cstr(&p.message_id), sm)
}

pub(super) fn rusmpp_encode(status: u32, sequence: u32, pdu: rusmpp::Pdu) -> Bytes {
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

/// The fields every message PDU's builder shares: addresses, `esm_class` (always explicit:
/// `EsmClass::default()` is not 0) and `registered_delivery`.
macro_rules! addressed {
    ($builder:expr, $sm:ident, $f:ident) => {
        $builder
            .source_addr_ton(Ton::from($sm.source.ton))
            .source_addr_npi(Npi::from($sm.source.npi))
            .source_addr($f.source_addr)
            .dest_addr_ton(Ton::from($sm.dest.ton))
            .dest_addr_npi(Npi::from($sm.dest.npi))
            .destination_addr($f.destination_addr)
            .esm_class(EsmClass::from($sm.esm_class))
            .registered_delivery(RegisteredDelivery::from($sm.registered_delivery))
    };
}

pub(super) fn to_submit(sm: &ShortMessage) -> Result<rusmpp::pdus::SubmitSm, EncodeFailure> {
    use rusmpp::tlvs::MessageSubmissionRequestTlvValue as T;
    let f = fields(sm)?;
    let tlvs = submission_tlvs!(T, sm);
    Ok(addressed!(rusmpp::pdus::SubmitSm::builder(), sm, f)
        .validity_period(field("validity_period", EmptyOrFullCOctetString::from_vec(cbytes(&sm.validity_period)))?)
        .schedule_delivery_time(field(
            "schedule_delivery_time",
            EmptyOrFullCOctetString::from_vec(cbytes(&sm.schedule_delivery_time)),
        )?)
        .data_coding(DataCoding::from(sm.data_coding))
        .short_message(f.short_message)
        .tlvs(tlvs)
        .build())
}

pub(super) fn to_deliver(sm: &ShortMessage) -> Result<rusmpp::pdus::DeliverSm, EncodeFailure> {
    use rusmpp::tlvs::MessageDeliveryRequestTlvValue as T;
    let f = fields(sm)?;
    let mut tlvs = submission_tlvs!(T, sm);
    if let Some(id) = &sm.receipted_message_id {
        tlvs.push(T::ReceiptedMessageId(field("receipted_message_id", COctetString::from_str_checked(id))?));
    }
    if let Some(state) = sm.message_state {
        tlvs.push(T::MessageState(MessageState::from(state)));
    }
    Ok(addressed!(rusmpp::pdus::DeliverSm::builder(), sm, f)
        .data_coding(DataCoding::from(sm.data_coding))
        .short_message(f.short_message)
        .tlvs(tlvs)
        .build())
}

pub(super) fn to_data(sm: &ShortMessage) -> Result<rusmpp::pdus::DataSm, EncodeFailure> {
    use rusmpp::tlvs::MessageSubmissionRequestTlvValue as T;
    let f = fields(sm)?;
    let mut tlvs = submission_tlvs!(T, sm);
    if sm.message_payload.is_none() && !sm.short_message.is_empty() {
        tlvs.insert(0, T::MessagePayload(MessagePayload::new(AnyOctetString::from_slice(&sm.short_message))));
    }
    Ok(addressed!(rusmpp::pdus::DataSm::builder(), sm, f)
        .data_coding(DataCoding::from(sm.data_coding))
        .tlvs(tlvs)
        .build())
}

fn cbytes(s: &str) -> Vec<u8> {
    let mut b = s.as_bytes().to_vec();
    b.push(0);
    b
}
