use std::fmt;

/// A validated originator: alphanumeric (≤ 11 GSM letters, digits, space and `'._-+&`) or
/// numeric (≤ 15 digits, optionally with a leading `+`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sender {
    value: String,
    alphanumeric: bool,
}

pub const MAX_ALPHANUMERIC: usize = 11;
pub const MAX_NUMERIC: usize = 15;
const PUNCTUATION: &str = " '._-+&";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SenderError {
    #[error("sender is empty")]
    Empty,
    #[error("numeric sender longer than {MAX_NUMERIC} digits")]
    NumericTooLong,
    #[error("alphanumeric sender longer than {MAX_ALPHANUMERIC} characters")]
    AlphanumericTooLong,
    #[error("sender contains {0:?}, allowed are GSM letters, digits, space and '._-+&")]
    BadCharacter(char),
}

impl Sender {
    pub fn parse(input: &str) -> Result<Self, SenderError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(SenderError::Empty);
        }
        let digits = s.strip_prefix('+').unwrap_or(s);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            if digits.len() > MAX_NUMERIC {
                return Err(SenderError::NumericTooLong);
            }
            return Ok(Sender { value: s.to_owned(), alphanumeric: false });
        }
        if let Some(c) = s.chars().find(|&c| !allowed_alphanumeric_char(c)) {
            return Err(SenderError::BadCharacter(c));
        }
        if s.chars().count() > MAX_ALPHANUMERIC {
            return Err(SenderError::AlphanumericTooLong);
        }
        Ok(Sender { value: s.to_owned(), alphanumeric: true })
    }

    pub fn as_str(&self) -> &str {
        &self.value
    }

    pub fn is_alphanumeric(&self) -> bool {
        self.alphanumeric
    }
}

fn allowed_alphanumeric_char(c: char) -> bool {
    PUNCTUATION.contains(c) || (c.is_alphanumeric() && textbird_sms::is_gsm7(c.encode_utf8(&mut [0; 4])))
}

impl fmt::Display for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphanumeric_and_numeric_limits() {
        assert!(Sender::parse("Acme").unwrap().is_alphanumeric());
        assert!(Sender::parse("Acme Co.'s&").is_ok());
        assert_eq!(Sender::parse("ABCDEFGHIJKL"), Err(SenderError::AlphanumericTooLong));
        assert!(!Sender::parse("+123456789012345").unwrap().is_alphanumeric());
        assert_eq!(Sender::parse("1234567890123456"), Err(SenderError::NumericTooLong));
        assert_eq!(Sender::parse("Acme!"), Err(SenderError::BadCharacter('!')));
        assert_eq!(Sender::parse("Ac😀"), Err(SenderError::BadCharacter('😀')));
        assert_eq!(Sender::parse("  "), Err(SenderError::Empty));
        assert!(Sender::parse("Café").is_ok());
    }
}
