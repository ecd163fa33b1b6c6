//! GSM 7-bit packing (3GPP TS 23.038 §6.1.2.1.1), used when a PDU carries
//! septets without a user data header.

/// Packs septets into octets, least significant bit first: eight septets
/// fill seven octets. Only the low seven bits of each input byte are used.
///
/// Spare bits in the last octet are zero; the septet count travels
/// separately (the UDL), so no CR padding is needed to disambiguate `@`.
pub fn pack_septets(septets: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity((septets.len() * 7).div_ceil(8));
    let mut acc: u16 = 0;
    let mut bits = 0u32;
    for &s in septets {
        acc |= u16::from(s & 0x7F) << bits;
        bits += 7;
        if bits >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            bits -= 8;
        }
    }
    if bits > 0 {
        out.push(acc as u8);
    }
    out
}

/// Unpacks `count` septets from packed octets, the inverse of
/// [`pack_septets`]. If `packed` holds fewer than `count` whole septets,
/// returns only those it holds rather than inventing data.
pub fn unpack_septets(packed: &[u8], count: usize) -> Vec<u8> {
    let available = packed.len().saturating_mul(8) / 7;
    let count = count.min(available);
    let mut out = Vec::with_capacity(count);
    let mut acc: u16 = 0;
    let mut bits = 0u32;
    let mut octets = packed.iter();
    while out.len() < count {
        if bits < 7 {
            // `available` guarantees an octet remains whenever one is needed.
            let Some(&o) = octets.next() else { break };
            acc |= u16::from(o) << bits;
            bits += 8;
        }
        out.push((acc & 0x7F) as u8);
        acc >>= 7;
        bits -= 7;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_world_vector() {
        // The classic 23.038 / PDU-tutorial example: "hellohello".
        let septets = b"hellohello";
        let packed = pack_septets(septets);
        assert_eq!(packed, vec![0xE8, 0x32, 0x9B, 0xFD, 0x46, 0x97, 0xD9, 0xEC, 0x37]);
        assert_eq!(unpack_septets(&packed, 10), septets.to_vec());
    }

    #[test]
    fn eight_septets_fill_seven_octets() {
        let packed = pack_septets(&[0x7F; 8]);
        assert_eq!(packed, vec![0xFF; 7]);
        assert_eq!(unpack_septets(&packed, 8), vec![0x7F; 8]);
    }

    #[test]
    fn short_input_is_truncated_not_padded() {
        assert_eq!(unpack_septets(&[0xE8], 5), vec![0x68]);
        assert_eq!(unpack_septets(&[], 5), Vec::<u8>::new());
        assert_eq!(pack_septets(&[]), Vec::<u8>::new());
    }
}
