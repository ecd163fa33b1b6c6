//! The GSM 03.38 (3GPP TS 23.038) default alphabet and its extension table.
//!
//! National language shift tables are deliberately not supported: a message
//! that needs one is billed and sent as UCS-2, which every handset renders.

/// The escape septet that introduces an extension-table character.
pub const ESCAPE: u8 = 0x1B;

/// The default alphabet, indexed by septet value.
///
/// 0x1B is the escape, not a character; the `'\u{1B}'` placeholder is never
/// looked up because both directions treat that slot specially.
const BASIC: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', '\u{1B}', 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

/// The extension table: (code after the escape, character).
///
/// 0x0D (CR2) and 0x1B (reserved for a further table) are control codes with
/// no character of their own, so they are absent and decode by the fallback.
const EXTENSION: [(u8, char); 10] = [
    (0x0A, '\u{0C}'),
    (0x14, '^'),
    (0x28, '{'),
    (0x29, '}'),
    (0x2F, '\\'),
    (0x3C, '['),
    (0x3D, '~'),
    (0x3E, ']'),
    (0x40, '|'),
    (0x65, '€'),
];

/// How one character is written in GSM 7-bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Code {
    /// A default-alphabet septet.
    Basic(u8),
    /// An extension-table code, sent after [`ESCAPE`].
    Extended(u8),
}

impl Code {
    /// Septets this character occupies on the air interface.
    pub(crate) fn septets(self) -> usize {
        match self {
            Code::Basic(_) => 1,
            Code::Extended(_) => 2,
        }
    }
}

const NONE: u16 = u16::MAX;
const EXT_FLAG: u16 = 0x100;

/// Reverse lookup for U+0000..=U+00FF, where almost all real traffic lives;
/// entries are a septet, `EXT_FLAG | code`, or `NONE`.
const LATIN1: [u16; 256] = build_latin1();

const fn build_latin1() -> [u16; 256] {
    let mut table = [NONE; 256];
    let mut i = 0;
    while i < BASIC.len() {
        let c = BASIC[i] as u32;
        if i != ESCAPE as usize && c < 256 {
            table[c as usize] = i as u16;
        }
        i += 1;
    }
    let mut j = 0;
    while j < EXTENSION.len() {
        let (code, c) = EXTENSION[j];
        if (c as u32) < 256 {
            table[c as usize] = EXT_FLAG | code as u16;
        }
        j += 1;
    }
    table
}

/// The GSM code for `c`, or `None` if it needs UCS-2.
pub(crate) fn lookup(c: char) -> Option<Code> {
    if let Ok(byte) = u8::try_from(c) {
        return match LATIN1[usize::from(byte)] {
            NONE => None,
            v if v & EXT_FLAG != 0 => Some(Code::Extended(v as u8)),
            v => Some(Code::Basic(v as u8)),
        };
    }
    // Only the Greek capitals and € live above U+00FF, so a short scan beats
    // a second table; the escape placeholder is below U+0100 and never hit.
    if let Some(i) = BASIC.iter().position(|&b| b == c) {
        return Some(Code::Basic(i as u8));
    }
    EXTENSION.iter().find(|&&(_, e)| e == c).map(|&(code, _)| Code::Extended(code))
}

/// Septets needed to send `text` in the GSM 7-bit default alphabet, counting
/// extension-table characters as two; `None` if any character is outside
/// the basic and extension tables.
pub fn gsm7_septets(text: &str) -> Option<usize> {
    text.chars().try_fold(0usize, |n, c| Some(n + lookup(c)?.septets()))
}

/// Whether every character of `text` is in the GSM 03.38 basic or
/// extension table (the empty string is).
pub fn is_gsm7(text: &str) -> bool {
    gsm7_septets(text).is_some()
}

/// Encodes `text` as unpacked septets, one per byte, with extension
/// characters as `0x1B` followed by their code — the form SMPP carries for
/// `data_coding` 0. `None` if any character is not representable.
pub fn encode_gsm7(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        match lookup(c)? {
            Code::Basic(s) => out.push(s),
            Code::Extended(s) => out.extend_from_slice(&[ESCAPE, s]),
        }
    }
    Some(out)
}

/// Decodes unpacked septets, the inverse of [`encode_gsm7`].
///
/// Malformed input never fails, because it arrives from carriers:
/// - an escape followed by a code with no extension character shows the
///   basic-table character for that code, as 03.38 tells receivers to do;
/// - escape + escape (reserved for a future table) shows a space, per 03.38;
/// - a trailing lone escape, or any byte above 0x7F, becomes U+FFFD.
pub fn decode_gsm7(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut iter = bytes.iter().copied();
    while let Some(b) = iter.next() {
        let c = match b {
            ESCAPE => match iter.next() {
                None => char::REPLACEMENT_CHARACTER,
                Some(ESCAPE) => ' ',
                Some(code) => extension_char(code).or_else(|| basic_char(code)).unwrap_or(char::REPLACEMENT_CHARACTER),
            },
            _ => basic_char(b).unwrap_or(char::REPLACEMENT_CHARACTER),
        };
        out.push(c);
    }
    out
}

fn basic_char(septet: u8) -> Option<char> {
    BASIC.get(usize::from(septet)).copied()
}

fn extension_char(code: u8) -> Option<char> {
    EXTENSION.iter().find(|&&(k, _)| k == code).map(|&(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_basic_entry_round_trips() {
        for (i, &c) in BASIC.iter().enumerate() {
            if i == usize::from(ESCAPE) {
                continue;
            }
            assert_eq!(lookup(c), Some(Code::Basic(i as u8)), "{c:?}");
            assert_eq!(decode_gsm7(&[i as u8]), c.to_string());
        }
    }

    #[test]
    fn every_extension_entry_round_trips() {
        for &(code, c) in &EXTENSION {
            assert_eq!(lookup(c), Some(Code::Extended(code)), "{c:?}");
            assert_eq!(decode_gsm7(&[ESCAPE, code]), c.to_string());
        }
    }

    #[test]
    fn tables_do_not_overlap() {
        let mut all: Vec<char> = BASIC.to_vec();
        all.remove(usize::from(ESCAPE));
        all.extend(EXTENSION.iter().map(|&(_, c)| c));
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n);
        assert_eq!(n, 127 + 10);
    }

    #[test]
    fn the_escape_control_char_is_not_gsm() {
        assert_eq!(lookup('\u{1B}'), None);
        assert!(!is_gsm7("\u{1B}"));
    }

    #[test]
    fn lookalikes_are_not_gsm() {
        // ç, ` and tab are common in Latin text yet absent from 03.38.
        for c in ['ç', '`', '\t', 'á', 'í', 'ó', 'ú', 'Ã', 'õ', 'α', '\0', '\u{A0}'] {
            assert_eq!(lookup(c), None, "{c:?}");
        }
    }

    #[test]
    fn decode_fallbacks() {
        // ESC + 'A' (0x41) has no extension char: show 'A'.
        assert_eq!(decode_gsm7(&[ESCAPE, 0x41]), "A");
        // CR2 falls back to the basic CR.
        assert_eq!(decode_gsm7(&[ESCAPE, 0x0D]), "\r");
        assert_eq!(decode_gsm7(&[ESCAPE, ESCAPE]), " ");
        assert_eq!(decode_gsm7(&[0x41, ESCAPE]), "A\u{FFFD}");
        assert_eq!(decode_gsm7(&[0x80, 0xFF]), "\u{FFFD}\u{FFFD}");
        assert_eq!(decode_gsm7(&[ESCAPE, 0x80]), "\u{FFFD}");
    }

    #[test]
    fn encode_examples() {
        assert_eq!(encode_gsm7("@a€"), Some(vec![0x00, 0x61, 0x1B, 0x65]));
        assert_eq!(encode_gsm7("ç"), None);
        assert_eq!(encode_gsm7(""), Some(vec![]));
        assert_eq!(gsm7_septets("[x]"), Some(5));
        assert_eq!(gsm7_septets("\u{0C}"), Some(2));
    }
}
