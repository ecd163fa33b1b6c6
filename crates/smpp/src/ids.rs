//! Message id matching between a `submit_sm_resp` and the delivery receipts that follow it.
//!
//! SMPP 3.4 §5.2.23 only says a `message_id` is a C-Octet String of up to 65 octets, "the
//! unique message identifier reference assigned by the SMSC". In practice carriers hand out
//! the id in `submit_sm_resp` in one form (often hex) and quote it in the receipt's `id:`
//! field or `receipted_message_id` TLV in another (often decimal), with different case or
//! leading zeros. [`normalize`] gives one canonical spelling and [`alternates`] every
//! spelling the same id may take, so a receipt can be looked up under each of them.

/// Returns the canonical spelling of a message id: ASCII whitespace and NUL bytes trimmed
/// from both ends, ASCII letters lowercased, leading zeros stripped.
///
/// An id made only of zeros becomes `"0"`; an empty (or blank) id stays empty. Whitespace
/// or NULs that surface once the zeros are gone are stripped too (`"0 7"` becomes `"7"`),
/// so that `normalize(normalize(id)) == normalize(id)` for every input.
pub fn normalize(id: &str) -> String {
    let trimmed = id.trim_matches(is_padding);
    if trimmed.is_empty() {
        return String::new();
    }
    let stripped = trimmed.trim_start_matches(|c: char| c == '0' || is_padding(c));
    if stripped.is_empty() {
        return "0".to_owned();
    }
    stripped.to_ascii_lowercase()
}

/// Returns every spelling under which `id` may have been reported, [`normalize`]d, with
/// `normalize(id)` first and no duplicates (at most three entries; none for an empty id).
///
/// After the normalized id come, when it is all decimal digits and fits in a `u128`, its
/// lowercase hex form, and when it is all hex digits and fits in a `u128`, its decimal form.
/// An id such as `"10"` is ambiguous (ten, or sixteen if it was hex), so it yields
/// `["10", "a", "16"]`: the caller decides which of the matches it trusts, typically by
/// looking each alternate up among the ids it actually submitted.
pub fn alternates(id: &str) -> Vec<String> {
    let normalized = normalize(id);
    if normalized.is_empty() {
        return Vec::new();
    }
    let as_hex = normalized
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| normalized.parse::<u128>().ok())
        .flatten()
        .map(|value| format!("{value:x}"));
    let as_decimal = normalized
        .bytes()
        .all(|b| b.is_ascii_hexdigit())
        .then(|| u128::from_str_radix(&normalized, 16).ok())
        .flatten()
        .map(|value| value.to_string());

    let mut out = Vec::with_capacity(3);
    out.push(normalized);
    for candidate in [as_hex, as_decimal].into_iter().flatten() {
        if !out.contains(&candidate) {
            out.push(candidate);
        }
    }
    out
}

/// Padding carriers leave around ids: ASCII whitespace and the C-string terminator.
fn is_padding(c: char) -> bool {
    c.is_ascii_whitespace() || c == '\0'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_trims_lowercases_and_strips_leading_zeros() {
        assert_eq!(normalize("  00AbC1\0\0"), "abc1");
        assert_eq!(normalize("\t12345\r\n"), "12345");
        assert_eq!(normalize("1000"), "1000");
    }

    #[test]
    fn all_zero_id_becomes_a_single_zero() {
        assert_eq!(normalize("0000"), "0");
        assert_eq!(normalize(" 0 \0"), "0");
    }

    #[test]
    fn blank_id_stays_empty() {
        assert_eq!(normalize(""), "");
        assert_eq!(normalize(" \0\t"), "");
        assert!(alternates("").is_empty());
        assert!(alternates(" \0 ").is_empty());
    }

    #[test]
    fn normalize_leaves_non_ascii_alone() {
        assert_eq!(normalize("0ÄBC"), "Äbc");
    }

    #[test]
    fn decimal_id_also_matches_its_hex_form() {
        assert_eq!(alternates("255"), ["255", "ff", "597"]);
        assert_eq!(alternates("0000000256"), ["256", "100", "598"]);
    }

    #[test]
    fn hex_id_also_matches_its_decimal_form() {
        assert_eq!(alternates("0000FF"), ["ff", "255"]);
        assert_eq!(alternates("1A2B3C4D"), ["1a2b3c4d", "439041101"]);
    }

    #[test]
    fn id_that_is_neither_number_has_one_spelling() {
        assert_eq!(alternates("msg-42"), ["msg-42"]);
        assert_eq!(alternates("0xFF"), ["xff"]);
    }

    #[test]
    fn small_ids_are_deduplicated() {
        assert_eq!(alternates("0"), ["0"]);
        assert_eq!(alternates("007"), ["7"]);
        assert_eq!(alternates("10"), ["10", "a", "16"]);
    }

    #[test]
    fn ids_beyond_u128_keep_only_the_spellings_that_fit() {
        let decimal = "9".repeat(38);
        assert_eq!(alternates(&decimal).len(), 2, "38 nines fit in a u128 as decimal, not as hex");
        assert_eq!(alternates(&"9".repeat(40)).len(), 1);
        let hex = "f".repeat(33);
        assert_eq!(alternates(&hex), [hex.as_str()]);
        let max = u128::MAX.to_string();
        assert_eq!(alternates(&max), [max.clone(), format!("{:x}", u128::MAX)]);
    }
}
