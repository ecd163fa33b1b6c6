//! Whether a parsed number is valid, and its E.164 text: the `phonenumber` crate's answers,
//! found with less work.
//!
//! `phonenumber::is_valid` classifies the number, trying the patterns of up to ten number
//! types (premium rate, toll free, ... voicemail, then fixed line and mobile) and stopping at
//! the first that matches; only "none matched" makes it invalid. Validity needs only "some
//! type matches", so this tries mobile and fixed line first (nearly every number an SMS goes
//! to is one of the two) and the rest after: two patterns instead of ten for a mobile
//! number. The region is chosen exactly as the crate chooses it. Its E.164 formatter also
//! looks up the country's display formats, which E.164 never uses; here the text is written
//! directly. The tests compare both answers with the crate's over every country code.

use phonenumber::metadata::{DATABASE, Descriptor, Metadata};
use phonenumber::{PhoneNumber, country};

/// `phonenumber::is_valid(number)`.
pub(super) fn is_valid(number: &PhoneNumber) -> bool {
    let national = number.national().to_string();
    metadata_for(number.country().code(), &national).is_some_and(|meta| has_a_type(meta, &national))
}

/// `number.format().mode(Mode::E164).to_string()` for a number that is valid.
pub(super) fn e164(number: &PhoneNumber) -> String {
    format!("+{}{}", number.country().code(), number.national())
}

/// The metadata `phonenumber` judges a number by: its code's only region, or among several
/// the first whose leading digits start the number (or, without leading digits, whose
/// patterns it matches).
fn metadata_for(code: u16, national: &str) -> Option<&'static Metadata> {
    let regions = DATABASE.region(&code)?;
    if let [region] = regions[..] {
        if region == "001" {
            return DATABASE.by_code(&code).and_then(|m| m.into_iter().next());
        }
        let id: country::Id = region.parse().ok()?;
        return DATABASE.by_id(id.as_ref());
    }
    regions.into_iter().find_map(|region| {
        let meta = DATABASE.by_id(region)?;
        let chosen = match meta.leading_digits() {
            Some(pattern) => pattern.find(national).is_some_and(|m| m.start() == 0),
            None => has_a_type(meta, national),
        };
        chosen.then_some(meta)
    })
}

/// Whether the number matches the country's general pattern and that of some number type.
fn has_a_type(meta: &Metadata, national: &str) -> bool {
    let d = meta.descriptors();
    if !d.general().is_match(national) {
        return false;
    }
    let types: [Option<&Descriptor>; 10] = [
        d.mobile(),
        d.fixed_line(),
        d.premium_rate(),
        d.toll_free(),
        d.shared_cost(),
        d.voip(),
        d.personal_number(),
        d.pager(),
        d.uan(),
        d.voicemail(),
    ];
    types.into_iter().flatten().any(|t| t.is_match(national))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic spread of digit strings: every length from 4 to 15, many prefixes.
    fn digits(seed: u64, len: usize) -> String {
        let mut x = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from(b'0' + (x % 10) as u8)
            })
            .collect()
    }

    #[test]
    fn answers_as_the_crate_does_for_every_country_code() {
        let mut valid = 0;
        let mut checked = 0;
        for code in 1..1000_u16 {
            if DATABASE.region(&code).is_none() {
                continue;
            }
            for i in 0..300_u64 {
                let len = 4 + (i % 12) as usize;
                let text = format!("+{code}{}", digits(u64::from(code) * 1000 + i, len));
                let Ok(number) = phonenumber::parse(None, &text) else { continue };
                checked += 1;
                let expected = phonenumber::is_valid(&number);
                assert_eq!(is_valid(&number), expected, "{text}");
                if expected {
                    valid += 1;
                    assert_eq!(e164(&number), number.format().mode(phonenumber::Mode::E164).to_string(), "{text}");
                }
            }
        }
        assert!(checked > 50_000 && valid > 2_000, "a real spread: {checked} parsed, {valid} valid");
    }

    #[test]
    fn numbers_with_a_leading_zero_and_shared_codes_are_judged_alike() {
        // Italy keeps the leading 0 of fixed lines; +1 and +7 are shared by several regions.
        for text in ["+390612345678", "+393123456789", "+12025550143", "+16135550123", "+77012345678", "+74951234567"] {
            let number = phonenumber::parse(None, text).unwrap();
            assert_eq!(is_valid(&number), phonenumber::is_valid(&number), "{text}");
            assert!(is_valid(&number), "{text} is valid");
            assert_eq!(e164(&number), number.format().mode(phonenumber::Mode::E164).to_string(), "{text}");
        }
    }
}
