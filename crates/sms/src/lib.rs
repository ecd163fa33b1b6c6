//! SMS text encoding for Textbird: decides whether a message goes out in the
//! GSM 03.38 7-bit default alphabet or in UCS-2, counts its septets or UTF-16
//! units, splits it into concatenated-SMS parts exactly as billed, and
//! converts text to and from the wire forms SMPP and PDU mode carry
//! (unpacked and packed septets, UTF-16BE). It is pure — no I/O, no async —
//! and depends on nothing of Textbird, so it can be tested and reused alone.

mod gsm7;
mod pack;
mod parts;
mod ucs2;

use std::fmt;
use std::str::FromStr;

pub use gsm7::{ESCAPE, decode_gsm7, encode_gsm7, gsm7_septets, is_gsm7};
pub use pack::{pack_septets, unpack_septets};
pub use parts::{Analysis, GSM7_MULTI, GSM7_SINGLE, Split, UCS2_MULTI, UCS2_SINGLE, analyze, split};
pub use ucs2::{decode_ucs2, encode_ucs2};

/// The first control character in `text` a message may not carry, with its position (in
/// characters): every Unicode control (`Cc`: NUL, ESC, DEL, the C1 range, form feed) except
/// newline, carriage return and tab, the three that handsets show as layout.
pub fn forbidden_control(text: &str) -> Option<(usize, char)> {
    text.chars().enumerate().find(|(_, c)| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

/// The character encoding an SMS is sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// GSM 03.38 7-bit default alphabet plus its extension table.
    Gsm7,
    /// UCS-2, sent as UTF-16BE (surrogate pairs allowed).
    Ucs2,
}

impl Encoding {
    /// The stable lowercase name, as stored and shown in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Gsm7 => "gsm7",
            Encoding::Ucs2 => "ucs2",
        }
    }

    /// Parses the exact name produced by [`Encoding::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "gsm7" => Some(Encoding::Gsm7),
            "ucs2" => Some(Encoding::Ucs2),
            _ => None,
        }
    }

    /// The SMPP `data_coding` value: 0 (SMSC default alphabet) or 8 (UCS-2).
    pub fn data_coding(self) -> u8 {
        match self {
            Encoding::Gsm7 => 0,
            Encoding::Ucs2 => 8,
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is neither `"gsm7"` nor `"ucs2"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown SMS encoding {0:?}, expected \"gsm7\" or \"ucs2\"")]
pub struct UnknownEncoding(pub String);

impl FromStr for Encoding {
    type Err = UnknownEncoding;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Encoding::parse(s).ok_or_else(|| UnknownEncoding(s.to_owned()))
    }
}

#[cfg(test)]
mod control_tests {
    use super::forbidden_control;

    #[test]
    fn layout_characters_pass_and_other_controls_are_found() {
        assert_eq!(forbidden_control("Line 1\nLine 2\r\n\tend €😀"), None);
        assert_eq!(forbidden_control("a\0b"), Some((1, '\0')));
        assert_eq!(forbidden_control("\u{1b}[31m"), Some((0, '\u{1b}')));
        assert_eq!(forbidden_control("x\u{7f}"), Some((1, '\u{7f}')));
        assert_eq!(forbidden_control("page\u{c}break"), Some((4, '\u{c}')));
        assert_eq!(forbidden_control("c1\u{85}"), Some((2, '\u{85}')));
        assert_eq!(forbidden_control("zero\u{200d}width joiner"), None, "format characters are text");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_names_round_trip() {
        for e in [Encoding::Gsm7, Encoding::Ucs2] {
            assert_eq!(Encoding::parse(e.as_str()), Some(e));
            assert_eq!(e.to_string().parse::<Encoding>(), Ok(e));
        }
        assert_eq!(Encoding::parse("GSM7"), None);
        assert!("utf8".parse::<Encoding>().is_err());
    }
}
