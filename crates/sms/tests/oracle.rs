//! Cross-checks part counts and contents against the independent
//! `sms_splitter` crate, whose default options use the same 03.38 tables,
//! 160/153 and 70/67 limits, and whole-character boundary rules.

use proptest::prelude::*;
use sms_splitter::SplitSms;
use textbird_sms::{Encoding, analyze, split};

fn compare(text: &str) {
    let owned: String = text.into();
    let theirs = SplitSms::default().split(owned);
    let ours = split(text);
    let a = analyze(text);
    let (expected_set, their_units) = match ours.encoding {
        Encoding::Gsm7 => ("GSM", theirs.bytes),
        Encoding::Ucs2 => ("Unicode", theirs.bytes / 2),
    };
    assert_eq!(theirs.character_set, expected_set, "{text:?}");
    assert_eq!(their_units, a.units, "{text:?}");
    let their_parts: Vec<&str> = theirs.parts.iter().map(|p| p.content.as_str()).collect();
    assert_eq!(their_parts, ours.parts, "{text:?}");
}

#[test]
fn boundary_samples_agree() {
    let samples = [
        String::new(),
        "Hello World!".to_owned(),
        "a".repeat(160),
        "a".repeat(161),
        "a".repeat(306),
        "a".repeat(307),
        format!("{}€{}", "a".repeat(152), "b".repeat(10)),
        format!("{}€{}", "a".repeat(151), "b".repeat(10)),
        "€".repeat(80),
        "€".repeat(81),
        "€".repeat(153),
        "ж".repeat(70),
        "ж".repeat(71),
        "ж".repeat(134),
        "ж".repeat(135),
        format!("{}😀{}", "ж".repeat(66), "ж".repeat(10)),
        format!("{}😀{}", "ж".repeat(65), "ж".repeat(10)),
        "😀".repeat(36),
        "😀".repeat(67),
        format!("{}ç", "a".repeat(100)),
    ];
    for s in &samples {
        compare(s);
    }
}

const GSM_CHARS: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€\u{0C}";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_texts_agree(
        chars in prop::collection::vec(
            prop_oneof![
                6 => prop::sample::select(GSM_CHARS.chars().collect::<Vec<_>>()),
                2 => prop::sample::select("€[]{}".chars().collect::<Vec<_>>()),
                1 => prop::sample::select("çжあ😀𝄞".chars().collect::<Vec<_>>()),
            ],
            0..400,
        )
    ) {
        let text: String = chars.into_iter().collect();
        compare(&text);
    }

    #[test]
    fn arbitrary_strings_agree(text in any::<String>()) {
        compare(&text);
    }
}
