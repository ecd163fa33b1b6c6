//! Encode/decode cases for the PDUs Textbird handles.

use super::*;
use bytes::BytesMut;
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

#[test]
fn query_sm_and_cancel_sm_round_trip() {
    let source = Address { ton: 5, npi: 0, addr: "Acme".into() };
    let q = Pdu::QuerySm { message_id: "0190abc".into(), source: source.clone() };
    let p = round_trip(0, &q);
    assert_eq!((p.command_id, p.pdu), (id::QUERY_SM, q));
    let c = Pdu::CancelSm {
        service_type: String::new(),
        message_id: "0190abc".into(),
        source,
        dest: Address { ton: 1, npi: 1, addr: "31612345678".into() },
    };
    let p = round_trip(0, &c);
    assert_eq!((p.command_id, p.pdu), (id::CANCEL_SM, c));
}

#[test]
fn query_sm_resp_carries_the_state_and_a_failure_only_its_header() {
    let ok = encode(
        0,
        7,
        &Pdu::QuerySmResp {
            message_id: "m1".into(),
            final_date: "261202160000000+".into(),
            message_state: 2,
            error_code: 0,
        },
    )
    .expect("encodes");
    assert_eq!(&ok[4..8], &(id::QUERY_SM | id::RESPONSE).to_be_bytes());
    assert_eq!(&ok[16..], b"m1\x00261202160000000+\x00\x02\x00");
    let failed = encode(
        status::INVMSGID,
        7,
        &Pdu::QuerySmResp { message_id: String::new(), final_date: String::new(), message_state: 0, error_code: 0 },
    )
    .expect("encodes");
    assert_eq!(failed.len(), 16);
}

#[test]
fn a_truncated_cancel_sm_is_refused_not_guessed() {
    let frame = Frame { command_id: id::CANCEL_SM, status: 0, sequence: 3, body: Bytes::from_static(b"\x000190") };
    let err = decode(&frame).expect_err("truncated");
    assert_eq!((err.status, err.sequence), (status::INVMSGLEN, 3));
}
