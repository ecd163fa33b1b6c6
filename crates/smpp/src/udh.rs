//! The User Data Header (3GPP TS 23.040 §9.2.3.24) at the start of a `short_message` whose
//! `esm_class` has the UDHI bit (0x40) set, as far as concatenation needs it.
//!
//! The header is a length octet (UDHL, not counting itself) followed by information
//! elements, each `IEI, length, data`. Two of them describe a part of a concatenated
//! message: IEI 0x00 with an 8-bit reference and IEI 0x08 with a 16-bit one, both followed
//! by the number of parts and this part's sequence number (from 1).

/// IEI of "Concatenated short messages, 8-bit reference number" (23.040 §9.2.3.24.1).
pub const IEI_CONCAT_8: u8 = 0x00;
/// IEI of "Concatenated short messages, 16-bit reference number" (23.040 §9.2.3.24.8).
pub const IEI_CONCAT_16: u8 = 0x08;

/// Where a part sits in a concatenated message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Concat {
    /// "Concatenated short message reference number", the same in every part of one
    /// message; an 8-bit reference is widened.
    pub reference: u16,
    /// "Maximum number of short messages in the concatenated short message", from 1.
    pub total: u8,
    /// "Sequence number of the current short message", from 1 to `total`.
    pub seq: u8,
}

/// Why a User Data Header could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UdhError {
    /// The `short_message` is empty: there is no UDHL octet.
    #[error("UDHI is set but the short message is empty")]
    Empty,
    /// UDHL claims more octets than the `short_message` holds.
    #[error("UDH length {udhl} runs past the {available} octets after it")]
    HeaderOverrun {
        /// The UDHL octet.
        udhl: u8,
        /// Octets present after the UDHL.
        available: usize,
    },
    /// An information element (its IEI and length octets, or its data) runs past the header.
    #[error("information element at header offset {offset} runs past the header")]
    ElementOverrun {
        /// Offset of the element's IEI from the start of the `short_message`.
        offset: usize,
    },
    /// A concatenation element whose length is not 3 (8-bit reference) or 4 (16-bit).
    #[error("concatenation element 0x{iei:02x} has length {len}")]
    BadConcatLength {
        /// The element identifier.
        iei: u8,
        /// The length it declared.
        len: u8,
    },
}

/// Reads the User Data Header at the start of `short_message` and returns the
/// concatenation it describes, if any, and the offset at which the user data starts
/// (`1 + UDHL`, never past the end). Call it only when the `esm_class` UDHI bit is set.
///
/// Every information element is bounds-checked; elements other than concatenation are
/// skipped. If several concatenation elements are present, the last one counts, as
/// 23.040 §9.2.3.24 says of repeated non-repeatable elements.
///
/// A concatenation element with `total` 0, `seq` 0 or `seq > total` is meaningless; 23.040
/// says to ignore such an element, so the part is reported as not concatenated
/// (`Ok((None, offset))`) and can still be delivered on its own.
pub fn parse(short_message: &[u8]) -> Result<(Option<Concat>, usize), UdhError> {
    let (&udhl, after) = short_message.split_first().ok_or(UdhError::Empty)?;
    let header = after.get(..usize::from(udhl)).ok_or(UdhError::HeaderOverrun { udhl, available: after.len() })?;

    let mut concat = None;
    let mut pos = 0;
    while pos < header.len() {
        let overrun = UdhError::ElementOverrun { offset: 1 + pos };
        let &[iei, len, ..] = &header[pos..] else {
            return Err(overrun);
        };
        let data = header.get(pos + 2..pos + 2 + usize::from(len)).ok_or(overrun)?;
        match (iei, data) {
            (IEI_CONCAT_8, &[reference, total, seq]) => {
                concat = Some(Concat { reference: u16::from(reference), total, seq });
            }
            (IEI_CONCAT_16, &[hi, lo, total, seq]) => {
                concat = Some(Concat { reference: u16::from_be_bytes([hi, lo]), total, seq });
            }
            (IEI_CONCAT_8 | IEI_CONCAT_16, _) => return Err(UdhError::BadConcatLength { iei, len }),
            _ => {}
        }
        pos += 2 + usize::from(len);
    }

    let concat = concat.filter(|c| c.total > 0 && c.seq > 0 && c.seq <= c.total);
    Ok((concat, 1 + header.len()))
}

/// The 6-octet header of one part with an 8-bit reference: `05 00 03 ref total seq`.
pub fn concat_header(reference: u8, total: u8, seq: u8) -> [u8; 6] {
    [0x05, IEI_CONCAT_8, 0x03, reference, total, seq]
}

/// The 7-octet header of one part with a 16-bit reference: `06 08 04 refhi reflo total seq`.
pub fn concat_header16(reference: u16, total: u8, seq: u8) -> [u8; 7] {
    let [hi, lo] = reference.to_be_bytes();
    [0x06, IEI_CONCAT_16, 0x04, hi, lo, total, seq]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_8_bit_reference() {
        let mut sm = concat_header(0xAB, 3, 2).to_vec();
        sm.extend_from_slice(b"hello");
        assert_eq!(parse(&sm), Ok((Some(Concat { reference: 0xAB, total: 3, seq: 2 }), 6)));
        assert_eq!(&sm[6..], b"hello");
    }

    #[test]
    fn reads_a_16_bit_reference() {
        let sm = concat_header16(0x1234, 5, 5);
        assert_eq!(sm, [0x06, 0x08, 0x04, 0x12, 0x34, 0x05, 0x05]);
        assert_eq!(parse(&sm), Ok((Some(Concat { reference: 0x1234, total: 5, seq: 5 }), 7)));
    }

    #[test]
    fn skips_other_elements() {
        // A port-addressing element (0x05, 4 octets), then the concatenation element.
        let sm = [0x0B, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0x00, 0x03, 0x07, 0x02, 0x01, b'x'];
        assert_eq!(parse(&sm), Ok((Some(Concat { reference: 7, total: 2, seq: 1 }), 12)));
    }

    #[test]
    fn header_without_concatenation_gives_only_the_offset() {
        assert_eq!(parse(&[0x00, b'a']), Ok((None, 1)));
        assert_eq!(parse(&[0x03, 0x24, 0x01, 0x01, b'a']), Ok((None, 4)));
    }

    #[test]
    fn last_concatenation_element_wins() {
        let sm = [0x0B, 0x00, 0x03, 0x01, 0x02, 0x01, 0x08, 0x04, 0x00, 0x09, 0x03, 0x03];
        assert_eq!(parse(&sm), Ok((Some(Concat { reference: 9, total: 3, seq: 3 }), 12)));
    }

    #[test]
    fn meaningless_numbering_is_not_concatenated() {
        assert_eq!(parse(&concat_header(1, 0, 0)), Ok((None, 6)));
        assert_eq!(parse(&concat_header(1, 2, 0)), Ok((None, 6)));
        assert_eq!(parse(&concat_header(1, 2, 3)), Ok((None, 6)));
    }

    #[test]
    fn empty_message_is_an_error() {
        assert_eq!(parse(&[]), Err(UdhError::Empty));
    }

    #[test]
    fn header_longer_than_the_message_is_an_error() {
        assert_eq!(parse(&[0x05, 0x00, 0x03]), Err(UdhError::HeaderOverrun { udhl: 5, available: 2 }));
    }

    #[test]
    fn element_running_past_the_header_is_an_error() {
        assert_eq!(parse(&[0x01, 0x00, b'a']), Err(UdhError::ElementOverrun { offset: 1 }));
        assert_eq!(parse(&[0x04, 0x00, 0x03, 0x01, 0x02, b'a']), Err(UdhError::ElementOverrun { offset: 1 }));
        assert_eq!(parse(&[0x04, 0x24, 0x00, 0x25, 0x05]), Err(UdhError::ElementOverrun { offset: 3 }));
    }

    #[test]
    fn concatenation_element_of_the_wrong_length_is_an_error() {
        assert_eq!(parse(&[0x04, 0x00, 0x02, 0x01, 0x02]), Err(UdhError::BadConcatLength { iei: 0x00, len: 2 }));
        assert_eq!(parse(&[0x05, 0x08, 0x03, 0x01, 0x02, 0x01]), Err(UdhError::BadConcatLength { iei: 0x08, len: 3 }));
    }
}
