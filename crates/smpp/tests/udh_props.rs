//! Property tests for the User Data Header: no panics on any bytes, offsets inside the
//! message, and the headers we write read back.

use proptest::prelude::*;
use textbird_smpp::udh::{Concat, concat_header, concat_header16, parse};

const CASES: u32 = 8_192;

/// Bytes that look like a UDH often enough to reach the element walk.
fn udh_like() -> impl Strategy<Value = Vec<u8>> {
    let element = (prop_oneof![Just(0x00u8), Just(0x08), any::<u8>()], 0u8..8).prop_flat_map(|(iei, len)| {
        (Just(iei), Just(len), prop::collection::vec(any::<u8>(), 0..=usize::from(len) + 1))
    });
    (prop::collection::vec(element, 0..4), prop::collection::vec(any::<u8>(), 0..20), -2i16..=2).prop_map(
        |(elements, payload, udhl_skew)| {
            let mut header = Vec::new();
            for (iei, len, data) in elements {
                header.push(iei);
                header.push(len);
                header.extend(data);
            }
            let udhl = (header.len() as i16 + udhl_skew).clamp(0, 255) as u8;
            let mut sm = vec![udhl];
            sm.extend(header);
            sm.extend(payload);
            sm
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn never_panics_and_offset_is_inside(sm in prop_oneof![any::<Vec<u8>>(), udh_like()]) {
        if let Ok((concat, offset)) = parse(&sm) {
            prop_assert_eq!(offset, 1 + usize::from(sm[0]));
            prop_assert!(offset <= sm.len());
            if let Some(c) = concat {
                prop_assert!(c.total >= 1 && c.seq >= 1 && c.seq <= c.total);
            }
        }
    }

    #[test]
    fn eight_bit_header_round_trips(reference: u8, total: u8, seq: u8, payload: Vec<u8>) {
        let mut sm = concat_header(reference, total, seq).to_vec();
        sm.extend_from_slice(&payload);
        let expected = (total >= 1 && seq >= 1 && seq <= total)
            .then_some(Concat { reference: u16::from(reference), total, seq });
        prop_assert_eq!(parse(&sm), Ok((expected, 6)));
    }

    #[test]
    fn sixteen_bit_header_round_trips(reference: u16, total: u8, seq: u8, payload: Vec<u8>) {
        let mut sm = concat_header16(reference, total, seq).to_vec();
        sm.extend_from_slice(&payload);
        let expected = (total >= 1 && seq >= 1 && seq <= total).then_some(Concat { reference, total, seq });
        prop_assert_eq!(parse(&sm), Ok((expected, 7)));
    }

    #[test]
    fn valid_parts_round_trip(reference: u16, total in 1u8..=255, seq_seed: u8, payload: Vec<u8>) {
        let seq = seq_seed % total + 1;
        let mut sm = concat_header16(reference, total, seq).to_vec();
        sm.extend_from_slice(&payload);
        let (concat, offset) = parse(&sm).expect("our own header parses");
        prop_assert_eq!(concat, Some(Concat { reference, total, seq }));
        prop_assert_eq!(&sm[offset..], &payload[..]);
    }

    #[test]
    fn truncated_headers_are_errors_not_panics(reference: u16, total: u8, seq: u8, cut in 0usize..7) {
        let sm = concat_header16(reference, total, seq);
        prop_assert!(parse(&sm[..cut]).is_err());
    }
}
