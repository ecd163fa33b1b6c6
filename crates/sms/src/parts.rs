//! Counting and splitting messages into concatenated-SMS parts.
//!
//! Analysis and splitting share one cut routine so the billed part count
//! can never drift from what is actually sent.

use crate::Encoding;
use crate::gsm7::{Code, gsm7_septets, lookup};

/// Septets that fit in a single, unconcatenated GSM 7-bit SMS.
pub const GSM7_SINGLE: usize = 160;
/// Septets per part once a 6-octet concatenation UDH takes its share.
pub const GSM7_MULTI: usize = 153;
/// UTF-16 code units that fit in a single UCS-2 SMS.
pub const UCS2_SINGLE: usize = 70;
/// UTF-16 code units per part of a concatenated UCS-2 SMS.
pub const UCS2_MULTI: usize = 67;

/// What a message costs: its encoding, size and part count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Analysis {
    /// The encoding the message must be sent in.
    pub encoding: Encoding,
    /// GSM septets (extension characters count two) or UTF-16 code units.
    pub units: usize,
    /// Number of SMS parts; always at least 1, and always equal to
    /// `split(text).parts.len()`.
    pub parts: u32,
}

/// A message cut into the texts of its concatenated-SMS parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// The encoding every part is sent in.
    pub encoding: Encoding,
    /// Part texts in order; never empty, and concatenating them yields the
    /// original text exactly. The empty message is one empty part.
    pub parts: Vec<String>,
}

/// Counts the encoding, units and parts of `text` without allocating.
pub fn analyze(text: &str) -> Analysis {
    let (encoding, units) = measure(text);
    let mut parts: u32 = 1;
    for_each_cut(text, encoding, units, |_| parts += 1);
    Analysis { encoding, units, parts }
}

/// Splits `text` into the parts it is sent as.
///
/// A part never ends in the middle of a character: a GSM extension
/// character (escape + code) or a UTF-16 surrogate pair that would straddle
/// a boundary moves whole to the next part, so parts may number more than
/// `ceil(units / 153)` (or `/ 67`).
pub fn split(text: &str) -> Split {
    let (encoding, units) = measure(text);
    let mut parts = Vec::new();
    let mut start = 0;
    for_each_cut(text, encoding, units, |cut| {
        parts.push(text[start..cut].to_owned());
        start = cut;
    });
    parts.push(text[start..].to_owned());
    Split { encoding, parts }
}

fn measure(text: &str) -> (Encoding, usize) {
    match gsm7_septets(text) {
        Some(septets) => (Encoding::Gsm7, septets),
        None => (Encoding::Ucs2, text.encode_utf16().count()),
    }
}

fn cost(encoding: Encoding, c: char) -> usize {
    match encoding {
        // `measure` chose GSM only if every char has a code; 1 is unreachable.
        Encoding::Gsm7 => lookup(c).map_or(1, Code::septets),
        Encoding::Ucs2 => c.len_utf16(),
    }
}

/// Calls `on_cut` with the byte offset where each part after the first
/// begins. Greedy packing is optimal here: every character costs at most 2
/// units, so no choice of earlier cut can fit more into later parts.
fn for_each_cut(text: &str, encoding: Encoding, units: usize, mut on_cut: impl FnMut(usize)) {
    let (single, multi) = match encoding {
        Encoding::Gsm7 => (GSM7_SINGLE, GSM7_MULTI),
        Encoding::Ucs2 => (UCS2_SINGLE, UCS2_MULTI),
    };
    if units <= single {
        return;
    }
    let mut used = 0;
    for (at, c) in text.char_indices() {
        let k = cost(encoding, c);
        if used + k > multi {
            on_cut(at);
            used = 0;
        }
        used += k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_one_gsm_part() {
        let a = analyze("");
        assert_eq!((a.encoding, a.units, a.parts), (Encoding::Gsm7, 0, 1));
        assert_eq!(split("").parts, vec![String::new()]);
    }

    #[test]
    fn analyze_matches_split_on_small_cases() {
        for text in ["a", "€", "😀", "ç", &"x".repeat(161), &"é".repeat(71)] {
            assert_eq!(analyze(text).parts as usize, split(text).parts.len());
        }
    }
}
