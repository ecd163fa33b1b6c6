//! Property tests over arbitrary and GSM-heavy text.

use proptest::prelude::*;
use textbird_sms::{
    Encoding, GSM7_MULTI, GSM7_SINGLE, UCS2_MULTI, UCS2_SINGLE, analyze, decode_gsm7, decode_ucs2, encode_gsm7,
    encode_ucs2, gsm7_septets, is_gsm7, pack_septets, split, unpack_septets,
};

const GSM_CHARS: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€\u{0C}";

/// Mostly-plain GSM text with extension characters often enough to land on
/// part boundaries.
fn gsm_text() -> impl Strategy<Value = String> {
    let chars: Vec<char> = GSM_CHARS.chars().collect();
    let ext: Vec<char> = "^{}\\[~]|€\u{0C}".chars().collect();
    prop::collection::vec(prop_oneof![3 => prop::sample::select(chars), 1 => prop::sample::select(ext)], 0..500)
        .prop_map(|v| v.into_iter().collect())
}

/// GSM text salted with non-GSM BMP and astral characters.
fn mixed_text() -> impl Strategy<Value = String> {
    let chars: Vec<char> = GSM_CHARS.chars().collect();
    let other: Vec<char> = "çжあ😀🇩🇪𝄞€".chars().collect();
    prop::collection::vec(prop_oneof![3 => prop::sample::select(chars), 1 => prop::sample::select(other)], 0..300)
        .prop_map(|v| v.into_iter().collect())
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![gsm_text(), mixed_text(), any::<String>(), "\\PC{0,400}"]
}

fn units(encoding: Encoding, s: &str) -> usize {
    match encoding {
        Encoding::Gsm7 => gsm7_septets(s).expect("GSM part must be GSM"),
        Encoding::Ucs2 => s.encode_utf16().count(),
    }
}

fn check_split(text: &str) {
    let a = analyze(text);
    let s = split(text);
    assert_eq!(a.encoding, s.encoding);
    assert_eq!(a.parts as usize, s.parts.len());
    assert!(a.parts >= 1);
    assert_eq!(s.parts.concat(), text);
    assert_eq!(a.encoding == Encoding::Gsm7, is_gsm7(text));

    let sizes: Vec<usize> = s.parts.iter().map(|p| units(s.encoding, p)).collect();
    assert_eq!(sizes.iter().sum::<usize>(), a.units);
    let (single, multi) = match s.encoding {
        Encoding::Gsm7 => (GSM7_SINGLE, GSM7_MULTI),
        Encoding::Ucs2 => (UCS2_SINGLE, UCS2_MULTI),
    };
    if s.parts.len() == 1 {
        assert!(a.units <= single);
    } else {
        assert!(a.units > single);
        for (i, part) in s.parts.iter().enumerate() {
            assert!(!part.is_empty());
            assert!(sizes[i] <= multi, "part {i} has {} units", sizes[i]);
            // Greedy: the next part's first char did not fit in this one.
            if let Some(next) = s.parts.get(i + 1) {
                let first = next.chars().next().unwrap().to_string();
                assert!(sizes[i] + units(s.encoding, &first) > multi);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn split_invariants(text in any_text()) {
        check_split(&text);
    }

    #[test]
    fn gsm_round_trip(text in gsm_text()) {
        let bytes = encode_gsm7(&text).expect("GSM text encodes");
        prop_assert_eq!(Some(bytes.len()), gsm7_septets(&text));
        prop_assert!(bytes.iter().all(|&b| b < 0x80));
        prop_assert_eq!(decode_gsm7(&bytes), text);
    }

    #[test]
    fn gsm_encode_is_none_exactly_when_not_gsm(text in any_text()) {
        prop_assert_eq!(encode_gsm7(&text).is_some(), is_gsm7(&text));
    }

    #[test]
    fn ucs2_round_trip(text in any_text()) {
        let bytes = encode_ucs2(&text);
        prop_assert_eq!(bytes.len(), 2 * text.encode_utf16().count());
        prop_assert_eq!(decode_ucs2(&bytes), text);
    }

    #[test]
    fn pack_round_trip(septets in prop::collection::vec(0u8..0x80, 0..400)) {
        let packed = pack_septets(&septets);
        prop_assert_eq!(packed.len(), (septets.len() * 7).div_ceil(8));
        prop_assert_eq!(unpack_septets(&packed, septets.len()), septets);
    }

    #[test]
    fn packed_gsm_text_round_trips(text in gsm_text()) {
        let septets = encode_gsm7(&text).unwrap();
        let back = unpack_septets(&pack_septets(&septets), septets.len());
        prop_assert_eq!(decode_gsm7(&back), text);
    }

    #[test]
    fn decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400), count in 0usize..1000) {
        let _ = decode_gsm7(&bytes);
        let _ = decode_ucs2(&bytes);
        let septets = unpack_septets(&bytes, count);
        prop_assert!(septets.len() <= count);
        prop_assert!(septets.iter().all(|&s| s < 0x80));
        let _ = pack_septets(&bytes);
    }

    #[test]
    fn decoded_gsm_is_valid_after_cleanup(bytes in prop::collection::vec(0u8..0x80, 0..200)) {
        // Anything decoded from in-range septets re-encodes, bar the U+FFFD
        // a truncated trailing escape yields.
        let text = decode_gsm7(&bytes);
        let cleaned: String = text.chars().filter(|&c| c != '\u{FFFD}').collect();
        prop_assert!(is_gsm7(&cleaned));
    }
}
