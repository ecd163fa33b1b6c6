//! Property tests for framing and PDU coding: no byte stream, however it is chunked, panics
//! the frame codec or the PDU decoder; absurd `command_length`s are refused before anything
//! is allocated; `submit_sm`, `deliver_sm` and `data_sm` survive encode → frame → decode;
//! mangled PDUs are refused, not panicked on; and the `submit_sm`s of any text are legal
//! PDUs that put the text back together.

use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};
use proptest::prelude::*;
use textbird_smpp::frame::{DEFAULT_MAX_PDU, Frame, FrameCodec, FrameError, HEADER_LEN};
use textbird_smpp::pdu::{self, Address, Packet, Pdu, ShortMessage, id};
use textbird_smpp::wire::{self, Assembler, LongMessages, Outgoing};
use tokio_util::codec::Decoder;

const CASES: u32 = 4_096;

/// Command ids Textbird handles, responses included.
const REAL_IDS: [u32; 13] =
    [0x1, 0x2, 0x4, 0x5, 0x6, 0x9, 0x15, 0x103, 0x8000_0004, 0x8000_0005, 0x8000_0009, 0x8000_0015, 0x8000_0000];

fn command_id() -> impl Strategy<Value = u32> {
    prop_oneof![3 => prop::sample::select(REAL_IDS.to_vec()), 1 => any::<u32>()]
}

fn header(len: u32, command_id: u32, status: u32, sequence: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN);
    for word in [len, command_id, status, sequence] {
        out.extend_from_slice(&word.to_be_bytes());
    }
    out
}

/// A plausible header (length 16..2000, a real or random id) and a body that is usually as
/// long as announced, sometimes not.
fn plausible_segment() -> impl Strategy<Value = Vec<u8>> {
    (16u32..2000, command_id(), prop_oneof![Just(0u32), any::<u32>()], any::<u32>(), any::<bool>()).prop_flat_map(
        |(len, cmd, status, seq, exact)| {
            let body_len = if exact { (len as usize - HEADER_LEN)..=(len as usize - HEADER_LEN) } else { 0..=64 };
            prop::collection::vec(any::<u8>(), body_len).prop_map(move |body| {
                let mut out = header(len, cmd, status, seq);
                out.extend(body);
                out
            })
        },
    )
}

/// An encoded message PDU, to reach the decoder's deeper paths.
fn valid_segment() -> impl Strategy<Value = Vec<u8>> {
    (message_pdu(), any::<u32>()).prop_map(|(p, seq)| pdu::encode(0, seq, &p).expect("encodes").to_vec())
}

fn segment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => plausible_segment(),
        1 => valid_segment(),
        1 => prop::collection::vec(any::<u8>(), 0..64),
    ]
}

fn stream() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..512),
        4 => prop::collection::vec(segment(), 0..6).prop_map(|s| s.concat()),
    ]
}

/// What feeding a stream produced: the frames, then the framing error that ended it.
struct Fed {
    frames: Vec<Frame>,
    error: Option<String>,
    consumed: usize,
}

/// Feeds `stream` to `codec` in chunks of the given sizes (cycled), decoding after each
/// chunk as `FramedRead` does; stops at the first framing error.
fn feed(codec: &mut FrameCodec, stream: &[u8], chunks: &[usize]) -> Fed {
    let mut buf = BytesMut::new();
    let mut fed = Fed { frames: Vec::new(), error: None, consumed: 0 };
    let mut at = 0;
    let mut sizes = chunks.iter().copied().cycle();
    while at < stream.len() {
        let n = sizes.next().unwrap_or(stream.len()).clamp(1, stream.len() - at);
        buf.extend_from_slice(&stream[at..at + n]);
        at += n;
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(frame)) => {
                    fed.consumed += HEADER_LEN + frame.body.len();
                    fed.frames.push(frame);
                }
                Ok(None) => break,
                Err(e) => {
                    fed.error = Some(e.to_string());
                    return fed;
                }
            }
        }
    }
    fed
}

/// Decodes a frame; the answer always names the frame's command and sequence.
fn check_decode(frame: &Frame) -> Result<Option<Packet>, TestCaseError> {
    match pdu::decode(frame) {
        Ok(p) => {
            prop_assert_eq!((p.command_id, p.status, p.sequence), (frame.command_id, frame.status, frame.sequence));
            Ok(Some(p))
        }
        Err(e) => {
            prop_assert_eq!((e.command_id, e.sequence), (frame.command_id, frame.sequence));
            Ok(None)
        }
    }
}

fn address() -> impl Strategy<Value = Address> {
    (
        prop::sample::select(vec![0u8, 1, 2, 5]),
        prop::sample::select(vec![0u8, 1]),
        prop_oneof!["[0-9]{1,20}", "[A-Za-z0-9]{1,20}"],
    )
        .prop_map(|(ton, npi, addr)| Address { ton, npi, addr })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Submit,
    Deliver,
    Data,
}

fn short_message(kind: Kind) -> impl Strategy<Value = ShortMessage> {
    let validity = if kind == Kind::Submit {
        prop::sample::select(vec![String::new(), "000001000000000R".to_owned(), "251231235959000+".to_owned()]).boxed()
    } else {
        Just(String::new()).boxed()
    };
    // deliver_sm's and data_sm's schedule is not read back (data_sm has none).
    let schedule = if kind == Kind::Submit {
        prop::sample::select(vec![String::new(), "000000010000000R".to_owned(), "261202160000004+".to_owned()]).boxed()
    } else {
        Just(String::new()).boxed()
    };
    let receipt = if kind == Kind::Deliver {
        (prop::option::of("[A-Za-z0-9]{0,64}"), prop::option::of(0u8..=8)).boxed()
    } else {
        Just((None, None)).boxed()
    };
    (
        (address(), address()),
        (prop::sample::select(vec![0u8, 0x40, 0x04]), 0u8..=1, prop::sample::select(vec![0u8, 8]), validity, schedule),
        prop::collection::vec(any::<u8>(), 0..=254),
        prop::option::of(prop::collection::vec(any::<u8>(), 0..=2000)),
        prop::option::of((any::<u16>(), any::<u8>(), any::<u8>())),
        receipt,
    )
        .prop_map(
            |(
                (source, dest),
                (esm_class, registered_delivery, data_coding, validity_period, schedule_delivery_time),
                short_message,
                message_payload,
                sar,
                (receipted_message_id, message_state),
            )| ShortMessage {
                source,
                dest,
                esm_class,
                registered_delivery,
                data_coding,
                validity_period,
                schedule_delivery_time,
                short_message,
                message_payload,
                sar,
                receipted_message_id,
                message_state,
            },
        )
}

fn message_pdu() -> impl Strategy<Value = Pdu> {
    prop_oneof![
        short_message(Kind::Submit).prop_map(Pdu::SubmitSm),
        short_message(Kind::Deliver).prop_map(Pdu::DeliverSm),
        short_message(Kind::Data).prop_map(Pdu::DataSm),
    ]
}

/// The one frame `bytes` holds, with nothing left over.
fn single_frame(bytes: &[u8]) -> Result<Frame, TestCaseError> {
    let mut buf = BytesMut::from(bytes);
    let frame = FrameCodec::default().decode(&mut buf);
    let frame = match frame {
        Ok(Some(f)) => f,
        other => return Err(TestCaseError::fail(format!("not one frame: {other:?}"))),
    };
    prop_assert!(buf.is_empty(), "{} octets left over", buf.len());
    Ok(frame)
}

/// What `sm` reads back as: a zero-length TLV carries no value, so an empty
/// `message_payload` comes back absent (`rusmpp` decodes it as no value).
fn as_read(sm: &ShortMessage) -> ShortMessage {
    ShortMessage { message_payload: sm.message_payload.clone().filter(|p| !p.is_empty()), ..sm.clone() }
}

/// What a `data_sm` carrying `sm` reads back as: `short_message` travels as `message_payload`
/// (`data_sm` has no `short_message` field) unless a payload is already there.
fn as_data_sm(sm: &ShortMessage) -> ShortMessage {
    let message_payload =
        sm.message_payload.clone().or_else(|| (!sm.short_message.is_empty()).then(|| sm.short_message.clone()));
    as_read(&ShortMessage { short_message: Vec::new(), message_payload, validity_period: String::new(), ..sm.clone() })
}

/// A character of the GSM 03.38 default alphabet or its extension table.
fn gsm_char() -> impl Strategy<Value = char> {
    const ALPHABET: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà\u{0C}^{}\\[~]|€";
    prop::sample::select(ALPHABET.chars().collect::<Vec<_>>())
}

fn text() -> impl Strategy<Value = String> {
    let gsm = prop::collection::vec(gsm_char(), 0..=1000).prop_map(String::from_iter);
    let other = prop::collection::vec(
        prop_oneof![
            4 => gsm_char(),
            1 => prop::sample::select(vec!['😀', '中', 'ş', 'ą', 'Ж', '\u{FEFF}', '\0', '\u{1B}', '\u{10FFFF}']),
            1 => any::<char>(),
        ],
        0..=1000,
    )
    .prop_map(String::from_iter);
    prop_oneof![gsm, other]
}

fn sender() -> impl Strategy<Value = String> {
    prop_oneof!["[A-Za-z][A-Za-z0-9]{0,10}", "\\+[1-9][0-9]{6,14}", "[0-9]{3,8}"]
}

fn long_messages() -> impl Strategy<Value = LongMessages> {
    prop::sample::select(vec![LongMessages::Udh, LongMessages::Sar, LongMessages::Payload])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    /// Chunking never changes what the codec yields, frames re-encode to exactly the octets
    /// they came from, an error names a bad length, and decode never panics.
    #[test]
    fn any_stream_in_any_chunks(
        stream in stream(),
        chunks in prop::collection::vec(1usize..=512, 1..16),
        max in prop_oneof![Just(DEFAULT_MAX_PDU), 16usize..3000],
    ) {
        let mut codec = FrameCodec::new(max);
        let fed = feed(&mut codec, &stream, &chunks);
        let whole = feed(&mut FrameCodec::new(max), &stream, &[stream.len().max(1)]);
        prop_assert_eq!(&fed.frames, &whole.frames);
        prop_assert_eq!(&fed.error, &whole.error);

        let again: Vec<u8> = fed.frames.iter().flat_map(|f| f.to_bytes().to_vec()).collect();
        prop_assert_eq!(&again[..], &stream[..fed.consumed]);
        let rest = &stream[fed.consumed..];
        if rest.len() >= 4 {
            let announced = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            let bad = !(HEADER_LEN..=max).contains(&announced);
            prop_assert_eq!(fed.error.is_some(), bad, "announced {}, error {:?}", announced, fed.error);
            if !bad {
                prop_assert!(rest.len() < announced, "a whole frame was left undecoded");
            }
        } else {
            prop_assert!(fed.error.is_none());
        }
        for frame in &fed.frames {
            check_decode(frame)?;
        }
    }

    /// Lengths past the limit are refused from the first four octets, reserving nothing.
    #[test]
    fn oversized_lengths_are_refused_without_reserving(
        len in prop_oneof![Just(0x7FFF_FFFFu32), Just(u32::MAX), (DEFAULT_MAX_PDU as u32 + 1)..=u32::MAX],
        first in 0usize..4,
        rest in prop::collection::vec(any::<u8>(), 0..32),
    ) {
        let mut codec = FrameCodec::default();
        let mut buf = BytesMut::with_capacity(64);
        let head = header(len, id::SUBMIT_SM, 0, 1);
        buf.extend_from_slice(&head[..first]);
        prop_assert!(codec.decode(&mut buf).expect("too short to judge").is_none());
        buf.extend_from_slice(&head[first..]);
        buf.extend_from_slice(&rest);
        match codec.decode(&mut buf) {
            Err(FrameError::TooLong(got, limit)) => prop_assert_eq!((got, limit), (len, DEFAULT_MAX_PDU)),
            other => return Err(TestCaseError::fail(format!("not refused: {other:?}"))),
        }
        prop_assert!(buf.capacity() < 1024, "capacity {} after refusing {}", buf.capacity(), len);
    }

    /// Lengths below the header are refused as soon as they are read.
    #[test]
    fn undersized_lengths_are_refused(len in 0u32..16, rest in prop::collection::vec(any::<u8>(), 0..32)) {
        let mut buf = BytesMut::from(&header(len, id::ENQUIRE_LINK, 0, 1)[..4]);
        buf.extend_from_slice(&rest);
        prop_assert!(matches!(FrameCodec::default().decode(&mut buf), Err(FrameError::TooShort(l)) if l == len));
    }

    #[test]
    fn submit_sm_round_trips(sm in short_message(Kind::Submit), status in prop_oneof![Just(0u32), any::<u32>()], seq: u32) {
        let bytes = pdu::encode(status, seq, &Pdu::SubmitSm(sm.clone())).expect("encodes");
        // header, service_type "\0", src ton/npi + addr\0, dst ton/npi + addr\0, then esm_class.
        let esm_at = HEADER_LEN + 1 + 2 + sm.source.addr.len() + 1 + 2 + sm.dest.addr.len() + 1;
        prop_assert_eq!(bytes[esm_at], sm.esm_class, "esm_class octet on the wire");
        let packet = pdu::decode(&single_frame(&bytes)?).expect("decodes");
        prop_assert_eq!((packet.command_id, packet.status, packet.sequence), (id::SUBMIT_SM, status, seq));
        prop_assert_eq!(packet.pdu, Pdu::SubmitSm(as_read(&sm)));
    }

    #[test]
    fn deliver_sm_round_trips(sm in short_message(Kind::Deliver), seq: u32) {
        let bytes = pdu::encode(0, seq, &Pdu::DeliverSm(sm.clone())).expect("encodes");
        let esm_at = HEADER_LEN + 1 + 2 + sm.source.addr.len() + 1 + 2 + sm.dest.addr.len() + 1;
        prop_assert_eq!(bytes[esm_at], sm.esm_class, "esm_class octet on the wire");
        let packet = pdu::decode(&single_frame(&bytes)?).expect("decodes");
        prop_assert_eq!((packet.command_id, packet.sequence), (id::DELIVER_SM, seq));
        let Pdu::DeliverSm(got) = packet.pdu else { return Err(TestCaseError::fail("not a deliver_sm")) };
        prop_assert_eq!(got.is_receipt(), sm.esm_class == 0x04);
        prop_assert_eq!(got, as_read(&sm));
    }

    #[test]
    fn data_sm_round_trips(sm in short_message(Kind::Data), seq: u32) {
        let bytes = pdu::encode(0, seq, &Pdu::DataSm(sm.clone())).expect("encodes");
        let esm_at = HEADER_LEN + 1 + 2 + sm.source.addr.len() + 1 + 2 + sm.dest.addr.len() + 1;
        prop_assert_eq!(bytes[esm_at], sm.esm_class, "esm_class octet on the wire");
        let packet = pdu::decode(&single_frame(&bytes)?).expect("decodes");
        prop_assert_eq!((packet.command_id, packet.sequence), (id::DATA_SM, seq));
        let Pdu::DataSm(got) = packet.pdu else { return Err(TestCaseError::fail("not a data_sm")) };
        prop_assert_eq!(got.user_data(), sm.user_data(), "the user data survives");
        prop_assert_eq!(got, as_data_sm(&sm));
    }

    /// Flipped bits and cut-off ends, through the codec (length fixed up or not) and straight
    /// into decode: refused or decoded, never a panic.
    #[test]
    fn mangled_pdus_never_panic(
        p in message_pdu(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 0..8),
        cut in prop::option::of(any::<prop::sample::Index>()),
        fix_length: bool,
        chunks in prop::collection::vec(1usize..=64, 1..4),
    ) {
        let mut bytes = pdu::encode(0, 7, &p).expect("encodes").to_vec();
        let command_id = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        for (at, mask) in &flips {
            let i = at.index(bytes.len());
            bytes[i] ^= mask;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        if fix_length && bytes.len() >= 4 {
            let len = bytes.len() as u32;
            bytes[..4].copy_from_slice(&len.to_be_bytes());
        }
        let fed = feed(&mut FrameCodec::default(), &bytes, &chunks);
        for frame in &fed.frames {
            check_decode(frame)?;
        }
        // The body alone under the original command id, whatever the header now says.
        let body = bytes.get(HEADER_LEN..).unwrap_or_default();
        let mut frame_bytes = BytesMut::new();
        frame_bytes.put_slice(body);
        check_decode(&Frame { command_id, status: 0, sequence: 7, body: frame_bytes.freeze() })?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_048))]

    /// The `submit_sm`s of any text are legal PDUs that put the text back together, in any
    /// order of arrival.
    #[test]
    fn submits_encode_and_reassemble(
        body in text(),
        long in long_messages(),
        from in sender(),
        to in "\\+[1-9][0-9]{6,14}",
        reference: u16,
        registered_delivery: bool,
        order in prop::collection::vec(any::<u32>(), 255),
    ) {
        let msg = Outgoing { from: &from, to: &to, body: &body, registered_delivery, reference };
        let parts = wire::submits(&msg, long);
        prop_assert!(!parts.is_empty() && parts.len() <= 255, "{} parts", parts.len());
        if long == LongMessages::Payload {
            prop_assert_eq!(parts.len(), 1);
        }
        let mut decoded = Vec::with_capacity(parts.len());
        for (i, sm) in parts.iter().enumerate() {
            prop_assert!(sm.short_message.len() <= 254, "part {} has {} octets", i, sm.short_message.len());
            prop_assert!(
                sm.short_message.is_empty() || sm.message_payload.as_ref().is_none_or(Vec::is_empty),
                "part {} has both short_message and message_payload", i
            );
            let bytes = pdu::encode(0, i as u32 + 1, &Pdu::SubmitSm(sm.clone()))
                .map_err(|e| TestCaseError::fail(format!("part {i} does not encode: {e}")))?;
            let packet = pdu::decode(&single_frame(&bytes)?).expect("decodes");
            prop_assert_eq!(&packet.pdu, &Pdu::SubmitSm(sm.clone()));
            decoded.push(sm.clone());
        }
        let mut indices: Vec<usize> = (0..decoded.len()).collect();
        indices.sort_by_key(|&i| order[i]);
        let mut assembler = Assembler::new(Duration::from_mins(1), 16);
        let now = Instant::now();
        let mut done = Vec::new();
        for (n, &i) in indices.iter().enumerate() {
            if let Some(whole) = assembler.push(&decoded[i], now) {
                done.push((n, whole));
            }
        }
        prop_assert_eq!(done.len(), 1, "completed messages");
        let (n, whole) = &done[0];
        prop_assert_eq!(*n, indices.len() - 1, "completed only by the last part");
        prop_assert_eq!(&whole.text, &body);
        prop_assert_eq!(whole.missing, 0);
        prop_assert_eq!(&whole.from, &wire::address(&from));
        prop_assert_eq!(&whole.to, &wire::address(&to));
        prop_assert_eq!(assembler.pending(), 0);
    }
}

/// However long the text, a message is at most 255 parts (the UDH and SAR counters are one
/// octet), each a legal PDU.
#[test]
fn parts_are_capped_at_255() {
    let body = "x".repeat(153 * 300);
    for long in [LongMessages::Udh, LongMessages::Sar] {
        let msg = Outgoing { from: "Acme", to: "+31612345678", body: &body, registered_delivery: false, reference: 9 };
        let parts = wire::submits(&msg, long);
        assert_eq!(parts.len(), 255, "{long:?}");
        for sm in &parts {
            pdu::encode(0, 1, &Pdu::SubmitSm(sm.clone())).expect("encodes");
        }
    }
}
