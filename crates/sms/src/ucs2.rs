//! UCS-2 as SMSCs actually use it: UTF-16 big-endian, surrogate pairs
//! included, because modern handsets render them and carriers pass them on.

/// Encodes `text` as UTF-16BE (SMPP `data_coding` 8).
pub fn encode_ucs2(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

/// Decodes UTF-16BE, replacing unpaired surrogates and a dangling odd final
/// byte with U+FFFD; carrier data is never trusted to be well formed.
pub fn decode_ucs2(bytes: &[u8]) -> String {
    let chunks = bytes.chunks_exact(2);
    let odd = !chunks.remainder().is_empty();
    let units = chunks.map(|pair| u16::from_be_bytes([pair[0], pair[1]]));
    let mut out: String = char::decode_utf16(units).map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER)).collect();
    if odd {
        out.push(char::REPLACEMENT_CHARACTER);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bmp_and_astral() {
        assert_eq!(encode_ucs2("aç"), vec![0x00, 0x61, 0x00, 0xE7]);
        assert_eq!(encode_ucs2("😀"), vec![0xD8, 0x3D, 0xDE, 0x00]);
        assert_eq!(decode_ucs2(&[0xD8, 0x3D, 0xDE, 0x00]), "😀");
    }

    #[test]
    fn malformed_input_is_replaced() {
        assert_eq!(decode_ucs2(&[0x00, 0x61, 0x00]), "a\u{FFFD}");
        assert_eq!(decode_ucs2(&[0xD8, 0x3D]), "\u{FFFD}");
        assert_eq!(decode_ucs2(&[0xDE, 0x00, 0x00, 0x62]), "\u{FFFD}b");
        assert_eq!(decode_ucs2(&[]), "");
    }
}
