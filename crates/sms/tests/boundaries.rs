//! Fixed vectors at every billing boundary.

use textbird_sms::{Encoding, analyze, encode_gsm7, gsm7_septets, is_gsm7, split};

/// Every default-alphabet character in septet order, 0x1B (escape) omitted.
const BASIC_IN_ORDER: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

fn lens(parts: &[String], encoding: Encoding) -> Vec<usize> {
    parts
        .iter()
        .map(|p| match encoding {
            Encoding::Gsm7 => gsm7_septets(p).unwrap(),
            Encoding::Ucs2 => p.encode_utf16().count(),
        })
        .collect()
}

/// Checks encoding, units and per-part sizes, plus the analyze/split and
/// concatenation invariants every vector must satisfy.
fn check(text: &str, encoding: Encoding, units: usize, part_sizes: &[usize]) {
    let a = analyze(text);
    let s = split(text);
    assert_eq!(a.encoding, encoding, "encoding");
    assert_eq!(s.encoding, encoding, "split encoding");
    assert_eq!(a.units, units, "units");
    assert_eq!(lens(&s.parts, encoding), part_sizes, "part sizes");
    assert_eq!(a.parts as usize, s.parts.len(), "analyze vs split");
    assert_eq!(s.parts.concat(), text, "concat");
}

#[test]
fn full_basic_table_is_one_septet_each() {
    assert_eq!(BASIC_IN_ORDER.chars().count(), 127);
    let expected: Vec<u8> = (0u8..0x80).filter(|&b| b != 0x1B).collect();
    assert_eq!(encode_gsm7(BASIC_IN_ORDER), Some(expected));
    check(BASIC_IN_ORDER, Encoding::Gsm7, 127, &[127]);
}

#[test]
fn extension_chars_cost_two() {
    let ext = "^{}\\[~]|€\u{0C}";
    check(ext, Encoding::Gsm7, 20, &[20]);
    assert_eq!(encode_gsm7("€|"), Some(vec![0x1B, 0x65, 0x1B, 0x40]));
}

#[test]
fn empty_text() {
    let a = analyze("");
    assert_eq!((a.encoding, a.units, a.parts), (Encoding::Gsm7, 0, 1));
    assert_eq!(split("").parts, vec![String::new()]);
}

#[test]
fn gsm_160_vs_161() {
    check(&"a".repeat(160), Encoding::Gsm7, 160, &[160]);
    check(&"a".repeat(161), Encoding::Gsm7, 161, &[153, 8]);
}

#[test]
fn gsm_306_vs_307() {
    check(&"a".repeat(306), Encoding::Gsm7, 306, &[153, 153]);
    check(&"a".repeat(307), Encoding::Gsm7, 307, &[153, 153, 1]);
}

#[test]
fn gsm_escape_never_straddles_a_boundary() {
    // '€' would occupy septets 153 and 154: it moves whole to part 2.
    let text = format!("{}€{}", "a".repeat(152), "b".repeat(10));
    check(&text, Encoding::Gsm7, 164, &[152, 12]);
    let s = split(&text);
    assert_eq!(s.parts[0], "a".repeat(152));
    assert!(s.parts[1].starts_with('€'));

    // One septet earlier it fits exactly as septets 152-153.
    let text = format!("{}€{}", "a".repeat(151), "b".repeat(10));
    check(&text, Encoding::Gsm7, 163, &[153, 10]);
    assert!(split(&text).parts[0].ends_with('€'));
}

#[test]
fn eighty_vs_eighty_one_extension_chars() {
    check(&"€".repeat(80), Encoding::Gsm7, 160, &[160]);
    // 76 per part (152 septets): a 77th would straddle septet 153/154.
    check(&"€".repeat(81), Encoding::Gsm7, 162, &[152, 10]);
}

#[test]
fn escapes_can_need_more_than_ceil_units_over_153() {
    // 306 septets would be 2 parts of plain text, but 153 '€' need 3.
    check(&"€".repeat(153), Encoding::Gsm7, 306, &[152, 152, 2]);
    assert_eq!(analyze(&"€".repeat(153)).parts, 3);
}

#[test]
fn ucs2_70_vs_71() {
    check(&"ж".repeat(70), Encoding::Ucs2, 70, &[70]);
    check(&"ж".repeat(71), Encoding::Ucs2, 71, &[67, 4]);
}

#[test]
fn ucs2_134_vs_135() {
    check(&"ж".repeat(134), Encoding::Ucs2, 134, &[67, 67]);
    check(&"ж".repeat(135), Encoding::Ucs2, 135, &[67, 67, 1]);
}

#[test]
fn surrogate_pair_never_straddles_a_boundary() {
    // The emoji would be units 67 and 68: it moves whole to part 2.
    let text = format!("{}😀{}", "ж".repeat(66), "ж".repeat(10));
    check(&text, Encoding::Ucs2, 78, &[66, 12]);
    assert!(split(&text).parts[1].starts_with('😀'));

    // One unit earlier it fits exactly as units 66-67.
    let text = format!("{}😀{}", "ж".repeat(65), "ж".repeat(10));
    check(&text, Encoding::Ucs2, 77, &[67, 10]);
    assert!(split(&text).parts[0].ends_with('😀'));
}

#[test]
fn emoji_only_texts() {
    check("😀", Encoding::Ucs2, 2, &[2]);
    check(&"😀".repeat(35), Encoding::Ucs2, 70, &[70]);
    check(&"😀".repeat(36), Encoding::Ucs2, 72, &[66, 6]);
    // 134 units: plain text would be 2 parts, pairs need 3.
    check(&"😀".repeat(67), Encoding::Ucs2, 134, &[66, 66, 2]);
}

#[test]
fn one_non_gsm_char_switches_everything_to_ucs2() {
    let plain = format!("{}{}", "a".repeat(100), "c");
    check(&plain, Encoding::Gsm7, 101, &[101]);
    let mixed = format!("{}{}", "a".repeat(100), "ç");
    check(&mixed, Encoding::Ucs2, 101, &[67, 34]);
    // Extension characters are one UTF-16 unit once in UCS-2.
    check("€€ж", Encoding::Ucs2, 3, &[3]);
    check("Hello 😀", Encoding::Ucs2, 8, &[8]);
}

#[test]
fn accented_letters_follow_the_real_table() {
    for gsm in ["é", "É", "è", "Ç", "ù", "ì", "ò", "à", "Ä", "ñ", "ß", "¤", "§", "¿", "¡"] {
        assert!(is_gsm7(gsm), "{gsm:?} is in 03.38");
    }
    // Only upper-case Ç is at 0x09; these look Latin but are not in 03.38.
    for not in ["ç", "á", "í", "ó", "ú", "ê", "â", "õ", "È", "Ù", "`", "\t"] {
        assert!(!is_gsm7(not), "{not:?} is not in 03.38");
        assert_eq!(analyze(not).encoding, Encoding::Ucs2);
    }
}

#[test]
fn crlf_and_form_feed() {
    check("a\r\nb", Encoding::Gsm7, 4, &[4]);
    check("a\u{0C}b", Encoding::Gsm7, 4, &[4]);
}
