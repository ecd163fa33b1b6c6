//! Property tests for message id matching: no panics, canonical output, and hex/decimal
//! spellings of the same number always finding each other.

use proptest::prelude::*;
use textbird_smpp::ids::{alternates, normalize};

const CASES: u32 = 4_096;

/// Ids as carriers write them: hex or decimal digits in either case, zero-padded,
/// with stray whitespace and NULs around them.
fn carrier_id() -> impl Strategy<Value = String> {
    ("[ \t\0]{0,3}", "0{0,6}", "[0-9a-fA-F]{0,34}", "[ \t\r\n\0]{0,3}").prop_map(|(a, b, c, d)| format!("{a}{b}{c}{d}"))
}

fn any_id() -> impl Strategy<Value = String> {
    prop_oneof![carrier_id(), any::<String>(), "[0 \t\0xX-]{0,8}"]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn normalize_is_idempotent(id in any_id()) {
        let once = normalize(&id);
        prop_assert_eq!(normalize(&once), once.clone());
        prop_assert!(once.len() <= id.len());
        prop_assert!(!once.starts_with('0') || once == "0");
    }

    #[test]
    fn alternates_are_normalized_distinct_and_few(id in any_id()) {
        let all = alternates(&id);
        prop_assert!(all.len() <= 3);
        let normalized = normalize(&id);
        if normalized.is_empty() {
            prop_assert!(all.is_empty());
        } else {
            prop_assert_eq!(&all[0], &normalized);
        }
        for (i, entry) in all.iter().enumerate() {
            prop_assert_eq!(&normalize(entry), entry);
            prop_assert!(!all[..i].contains(entry), "duplicate {entry:?} in {all:?}");
        }
    }

    #[test]
    fn decimal_id_finds_its_hex_spelling(n in any::<u64>()) {
        let all = alternates(&n.to_string());
        prop_assert!(all.contains(&normalize(&format!("{n:X}"))), "{all:?}");
    }

    #[test]
    fn hex_id_finds_its_decimal_spelling(n in any::<u64>()) {
        let all = alternates(&format!("{n:08x}"));
        prop_assert!(all.contains(&n.to_string()), "{all:?}");
        let upper_padded = alternates(&format!(" {n:020X}\0"));
        prop_assert!(upper_padded.contains(&n.to_string()), "{upper_padded:?}");
    }

    #[test]
    fn every_u128_round_trips_both_ways(n in any::<u128>()) {
        let (hex, decimal) = (format!("{n:x}"), n.to_string());
        prop_assert!(alternates(&hex).contains(&decimal));
        prop_assert!(alternates(&decimal).contains(&hex));
    }

    #[test]
    fn case_and_padding_do_not_change_the_alternates(id in carrier_id()) {
        let padded = format!("\0 000{} \0", id.to_ascii_uppercase());
        let id_zeros = format!("000{id}");
        prop_assert_eq!(alternates(&padded), alternates(&id_zeros));
    }
}
