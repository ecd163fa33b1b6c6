//! How a message is laid out on the wire: addresses (TON/NPI), data coding, and long
//! messages as UDH-concatenated parts, SAR-tagged parts or one `message_payload`.

use textbird_sms::{Encoding, decode_gsm7, decode_ucs2, encode_gsm7, encode_ucs2};

use crate::pdu::{Address, ShortMessage};
use crate::udh;

/// How a connector sends messages longer than one SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LongMessages {
    /// A 6-octet user data header with an 8-bit reference in each part (`esm_class` UDHI).
    #[default]
    Udh,
    /// `sar_msg_ref_num` / `sar_total_segments` / `sar_segment_seqnum` TLVs on each part.
    Sar,
    /// The whole text in one `message_payload` TLV, `short_message` empty.
    Payload,
}

pub const TON_INTERNATIONAL: u8 = 1;
pub const TON_NATIONAL: u8 = 2;
pub const TON_ALPHANUMERIC: u8 = 5;
pub const NPI_ISDN: u8 = 1;

/// The address for a sender or recipient as stored by Textbird: `+` and digits is
/// international (TON 1 / NPI 1, sent without the `+`); other digits are a short code or
/// national number (TON 0 / NPI 1, as given); anything else is alphanumeric (TON 5 / NPI 0).
pub fn address(s: &str) -> Address {
    if let Some(digits) = s.strip_prefix('+').filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())) {
        Address { ton: TON_INTERNATIONAL, npi: NPI_ISDN, addr: digits.to_owned() }
    } else if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        Address { ton: 0, npi: NPI_ISDN, addr: s.to_owned() }
    } else {
        Address { ton: TON_ALPHANUMERIC, npi: 0, addr: s.to_owned() }
    }
}

/// The number an address names, in Textbird's form (`+` for international ones).
///
/// Numbers with TON 0 and 10 or more digits are read as international too: carriers often
/// leave the TON unset on full numbers.
pub fn number(a: &Address) -> String {
    let digits = !a.addr.is_empty() && a.addr.bytes().all(|b| b.is_ascii_digit());
    if digits && (a.ton == TON_INTERNATIONAL || (a.ton == 0 && a.addr.len() >= 10)) {
        format!("+{}", a.addr)
    } else {
        a.addr.clone()
    }
}

/// The octets of `text` in `encoding`: GSM 03.38 septets one per octet (`data_coding` 0) or
/// UTF-16BE (`data_coding` 8).
pub fn encode_text(text: &str, encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::Gsm7 => encode_gsm7(text).unwrap_or_else(|| text.bytes().map(|b| b & 0x7f).collect()),
        Encoding::Ucs2 => encode_ucs2(text),
    }
}

/// Text from user data octets in `data_coding`: 0 GSM 03.38, 1 IA5 (ASCII), 3 Latin-1,
/// 8 UCS-2; anything else read as lossy UTF-8.
pub fn decode_text(data_coding: u8, bytes: &[u8]) -> String {
    match data_coding {
        0 => decode_gsm7(bytes),
        1 => bytes.iter().map(|b| char::from(b & 0x7f)).collect(),
        3 => bytes.iter().map(|b| char::from(*b)).collect(),
        8 => decode_ucs2(bytes),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// What every `submit_sm` of one message shares.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub body: &'a str,
    pub registered_delivery: bool,
    /// A concatenation reference (the low 8 bits are used for UDH).
    pub reference: u16,
}

/// The `submit_sm`s for one message, in order.
pub fn submits(msg: &Outgoing<'_>, long: LongMessages) -> Vec<ShortMessage> {
    let split = textbird_sms::split(msg.body);
    let encoding = split.encoding;
    let base = ShortMessage {
        source: address(msg.from),
        dest: address(msg.to),
        esm_class: 0,
        registered_delivery: u8::from(msg.registered_delivery),
        data_coding: encoding.data_coding(),
        ..ShortMessage::default()
    };
    if split.parts.len() == 1 {
        return vec![ShortMessage { short_message: encode_text(msg.body, encoding), ..base }];
    }
    if long == LongMessages::Payload {
        return vec![ShortMessage { message_payload: Some(encode_text(msg.body, encoding)), ..base }];
    }
    let total = split.parts.len().min(255) as u8;
    split
        .parts
        .iter()
        .take(255)
        .enumerate()
        .map(|(i, text)| {
            let seq = (i + 1) as u8;
            let data = encode_text(text, encoding);
            match long {
                LongMessages::Udh => {
                    let mut sm = udh::concat_header(msg.reference as u8, total, seq).to_vec();
                    sm.extend_from_slice(&data);
                    ShortMessage { esm_class: 0x40, short_message: sm, ..base.clone() }
                }
                _ => ShortMessage { sar: Some((msg.reference, total, seq)), short_message: data, ..base.clone() },
            }
        })
        .collect()
}

/// One part of an inbound message: where it belongs and its user data, or the whole
/// message when it is not concatenated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Whole(Vec<u8>),
    Part { concat: udh::Concat, data: Vec<u8> },
}

/// Splits an inbound `deliver_sm`/`data_sm` into its user data and concatenation info
/// (UDH or SAR). A malformed UDH is treated as no UDH at all, keeping every octet.
pub fn incoming(sm: &ShortMessage) -> Incoming {
    let data = sm.user_data();
    if sm.has_udh()
        && let Ok((concat, offset)) = udh::parse(data)
    {
        let body = data[offset.min(data.len())..].to_vec();
        return match concat {
            Some(concat) if concat.total > 1 => Incoming::Part { concat, data: body },
            _ => Incoming::Whole(body),
        };
    }
    if let Some((reference, total, seq)) = sm.sar.filter(|(_, t, s)| *t > 1 && *s >= 1 && s <= t) {
        return Incoming::Part { concat: udh::Concat { reference, total, seq }, data: data.to_vec() };
    }
    Incoming::Whole(data.to_vec())
}

/// Turns inbound `deliver_sm`/`data_sm`/`submit_sm` PDUs into whole texts, holding parts of
/// concatenated messages until the rest arrive (any order) or their time runs out.
pub struct Assembler {
    parts: crate::reassembly::Reassembler,
}

/// A message put together from its parts (or given up on with some missing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assembled {
    pub from: Address,
    pub to: Address,
    pub text: String,
    /// Parts that never arrived (only for messages given up on).
    pub missing: usize,
}

impl Assembler {
    pub fn new(timeout: std::time::Duration, max_messages: usize) -> Self {
        Self { parts: crate::reassembly::Reassembler::new(timeout, max_messages) }
    }

    /// The whole text once `sm` completes a message.
    pub fn push(&mut self, sm: &ShortMessage, now: std::time::Instant) -> Option<Assembled> {
        match incoming(sm) {
            Incoming::Whole(data) => Some(Assembled {
                from: sm.source.clone(),
                to: sm.dest.clone(),
                text: decode_text(sm.data_coding, &data),
                missing: 0,
            }),
            Incoming::Part { concat, data } => {
                let key = crate::reassembly::PartKey {
                    from: sm.source.addr.clone(),
                    to: sm.dest.addr.clone(),
                    reference: concat.reference,
                    total: concat.total,
                };
                // Each part carries its own data_coding in front, to decode the whole later.
                let mut tagged = Vec::with_capacity(data.len() + 3);
                tagged.extend_from_slice(&[sm.data_coding, sm.source.ton, sm.dest.ton]);
                tagged.extend_from_slice(&data);
                let parts = self.parts.push(key.clone(), concat.seq, tagged, now)?;
                Some(join(&key, parts.iter().map(|p| Some(p.as_slice()))))
            }
        }
    }

    /// Messages whose missing parts did not come in time, with what did arrive.
    pub fn expire(&mut self, now: std::time::Instant) -> Vec<Assembled> {
        self.parts
            .expire(now)
            .into_iter()
            .filter(|i| i.parts.iter().any(Option::is_some))
            .map(|i| join(&i.key, i.parts.iter().map(Option::as_deref)))
            .collect()
    }

    pub fn pending(&self) -> usize {
        self.parts.pending()
    }
}

fn join<'a>(key: &crate::reassembly::PartKey, parts: impl Iterator<Item = Option<&'a [u8]>>) -> Assembled {
    let mut data = Vec::new();
    let (mut coding, mut from_ton, mut to_ton, mut missing) = (0, 0, 0, 0);
    for part in parts {
        match part {
            Some(p) if p.len() >= 3 => {
                (coding, from_ton, to_ton) = (p[0], p[1], p[2]);
                data.extend_from_slice(&p[3..]);
            }
            _ => missing += 1,
        }
    }
    let npi = |ton| if ton == TON_ALPHANUMERIC { 0 } else { NPI_ISDN };
    Assembled {
        from: Address { ton: from_ton, npi: npi(from_ton), addr: key.from.clone() },
        to: Address { ton: to_ton, npi: npi(to_ton), addr: key.to.clone() },
        text: decode_text(coding, &data),
        missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(body: &str) -> Outgoing<'_> {
        Outgoing { from: "Acme", to: "+31612345678", body, registered_delivery: true, reference: 0x1234 }
    }

    #[test]
    fn addresses() {
        assert_eq!(address("+31612345678"), Address { ton: 1, npi: 1, addr: "31612345678".into() });
        assert_eq!(address("Acme"), Address { ton: 5, npi: 0, addr: "Acme".into() });
        assert_eq!(address("12345"), Address { ton: 0, npi: 1, addr: "12345".into() });
        assert_eq!(number(&address("+31612345678")), "+31612345678");
    }

    #[test]
    fn single_part_gsm_and_ucs2() {
        let sm = &submits(&out("Hello"), LongMessages::Udh)[0];
        assert_eq!((sm.data_coding, sm.esm_class, sm.registered_delivery), (0, 0, 1));
        assert_eq!(sm.short_message, b"Hello");
        let sm = &submits(&out("Привет"), LongMessages::Udh)[0];
        assert_eq!(sm.data_coding, 8);
        assert_eq!(decode_text(8, &sm.short_message), "Привет");
    }

    #[test]
    fn long_messages_three_ways() {
        let body = "x".repeat(400);
        let udh = submits(&out(&body), LongMessages::Udh);
        assert_eq!(udh.len(), 3);
        for (i, sm) in udh.iter().enumerate() {
            assert_eq!(sm.esm_class, 0x40);
            assert_eq!(&sm.short_message[..6], &[5, 0, 3, 0x34, 3, i as u8 + 1]);
        }
        let sar = submits(&out(&body), LongMessages::Sar);
        assert_eq!(
            sar.iter().map(|s| s.sar.unwrap()).collect::<Vec<_>>(),
            [(0x1234, 3, 1), (0x1234, 3, 2), (0x1234, 3, 3)]
        );
        assert!(sar.iter().all(|s| s.esm_class == 0));
        let payload = submits(&out(&body), LongMessages::Payload);
        assert_eq!(payload.len(), 1);
        assert!(payload[0].short_message.is_empty());
        assert_eq!(payload[0].message_payload.as_deref().map(<[u8]>::len), Some(400));
    }

    #[test]
    fn assembles_in_any_order() {
        let body = "z".repeat(300) + "end";
        let mut parts = submits(&out(&body), LongMessages::Sar);
        parts.reverse();
        let mut a = Assembler::new(std::time::Duration::from_secs(5), 10);
        let now = std::time::Instant::now();
        let got: Vec<_> = parts.iter().filter_map(|p| a.push(p, now)).collect();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].text, body);
        assert_eq!(number(&got[0].to), "+31612345678");
    }

    #[test]
    fn incoming_parts() {
        let parts = submits(&out(&"y".repeat(200)), LongMessages::Udh);
        match incoming(&ShortMessage { esm_class: 0x40, ..parts[1].clone() }) {
            Incoming::Part { concat, data } => {
                assert_eq!((concat.total, concat.seq), (2, 2));
                assert_eq!(data.len(), 47);
            }
            Incoming::Whole(_) => panic!("a part"),
        }
    }
}
