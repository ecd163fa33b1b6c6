use std::fmt;

use phonenumber::country::Id as CountryId;

mod validity;

/// A validated phone number in E.164 form (`+31612345678`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Msisdn(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NumberError {
    #[error("{0:?} is not a phone number")]
    Unparsable(String),
    #[error("{0:?} is not a valid phone number for its country")]
    Invalid(String),
}

/// Parses an ISO 3166 alpha-2 country code (`"NL"`, case-insensitive).
pub fn parse_country(code: &str) -> Option<CountryId> {
    code.trim().to_ascii_uppercase().parse().ok()
}

/// Numbers longer than this cannot be E.164 (15 digits plus formatting); refusing early keeps
/// hostile input away from the parser.
const MAX_INPUT_LEN: usize = 40;

impl Msisdn {
    /// Reads a number as a person would write it. Numbers with `+` are international; so are
    /// those that start with the international call prefix of `default_country` (`00` in the
    /// Netherlands, `011` in the United States: the `phonenumber` metadata's), and everything
    /// else is national in `default_country`. So `0031…` is `+31…` for a Dutch account and
    /// no number at all for an American one. Without a default country, a bare digit string
    /// (after an optional `00`) is taken as international.
    pub fn parse(input: &str, default_country: Option<CountryId>) -> Result<Self, NumberError> {
        let unparsable = || NumberError::Unparsable(input.to_owned());
        let trimmed = input.trim();
        // Digits and the punctuation numbers are written with, nothing else: the parser would
        // read letters as a keypad spells them (`not-a-number-1099` would become a number).
        if trimmed.is_empty()
            || trimmed.len() > MAX_INPUT_LEN
            || !trimmed.bytes().all(|b| b.is_ascii_digit() || b" +-().".contains(&b))
        {
            return Err(unparsable());
        }
        let country = if trimmed.starts_with('+') { None } else { default_country };
        match country {
            // The parser strips the country's own international prefix, and only that.
            Some(country) => {
                let number = phonenumber::parse(Some(country), trimmed).map_err(|_| unparsable())?;
                Self::validated(&number, input)
            }
            None if trimmed.starts_with('+') => Self::parse_strict(trimmed, input),
            None => {
                let text = trimmed.strip_prefix("00").unwrap_or(trimmed);
                normalised_plus(text).ok_or_else(unparsable).and_then(|t| Self::parse_strict(&t, input))
            }
        }
    }

    fn parse_strict(text: &str, input: &str) -> Result<Self, NumberError> {
        let number = phonenumber::parse(None, text).map_err(|_| NumberError::Unparsable(input.to_owned()))?;
        Self::validated(&number, input)
    }

    fn validated(number: &phonenumber::PhoneNumber, input: &str) -> Result<Self, NumberError> {
        if !validity::is_valid(number) {
            return Err(NumberError::Invalid(input.to_owned()));
        }
        Ok(Msisdn(validity::e164(number)))
    }

    /// Wraps a string already known to be E.164 (read back from storage).
    pub fn from_trusted(e164: String) -> Self {
        Msisdn(e164)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits without `+`, as used for rate prefixes and SMPP addresses.
    pub fn digits(&self) -> &str {
        self.0.trim_start_matches('+')
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// The ISO 3166 alpha-2 country the number belongs to (`NL`), when the metadata knows it.
    pub fn country(&self) -> Option<String> {
        let number = phonenumber::parse(None, &self.0).ok()?;
        number.country().id().map(|id| id.as_ref().to_owned())
    }

    /// Masks all but the country prefix and last two digits, for logs.
    pub fn masked(&self) -> String {
        let d = self.digits();
        let keep_end = d.len().saturating_sub(2);
        let head: String = d.chars().take(2.min(keep_end)).collect();
        format!("+{head}{}{}", "*".repeat(keep_end.saturating_sub(head.len())), &d[keep_end..])
    }
}

fn normalised_plus(text: &str) -> Option<String> {
    let digits: String = text.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.')).collect();
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then(|| format!("+{digits}"))
}

impl fmt::Display for Msisdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nl() -> Option<CountryId> {
        parse_country("nl")
    }

    #[test]
    fn international_forms_normalise_to_e164() {
        for input in ["+31612345678", "+31 6 12345678", "0031612345678", "31612345678"] {
            assert_eq!(Msisdn::parse(input, None).unwrap().as_str(), "+31612345678", "{input}");
        }
    }

    #[test]
    fn local_numbers_use_the_default_country() {
        assert_eq!(Msisdn::parse("06 1234 5678", nl()).unwrap().as_str(), "+31612345678");
        assert_eq!(Msisdn::parse("(202) 555-0143", parse_country("US")).unwrap().as_str(), "+12025550143");
    }

    #[test]
    fn a_leading_00_is_international_only_where_the_country_dials_00() {
        assert_eq!(Msisdn::parse("0031612345678", nl()).unwrap().as_str(), "+31612345678", "NL dials 00");
        assert_eq!(Msisdn::parse("0044 7911 123456", parse_country("GB")).unwrap().as_str(), "+447911123456");
        let us = parse_country("US");
        assert!(Msisdn::parse("0031612345678", us).is_err(), "the US dials 011, so 0031… is no number there");
        assert_eq!(Msisdn::parse("011 31 6 12345678", us).unwrap().as_str(), "+31612345678", "011 is the US's");
        assert_eq!(Msisdn::parse("+31612345678", us).unwrap().as_str(), "+31612345678", "+ is always international");
    }

    #[test]
    fn invalid_numbers_are_refused() {
        for bad in [
            "",
            "hello",
            "+1",
            "+3161234567890123",
            "+999123456",
            &"9".repeat(50),
            "not-a-number-1099",
            "+31 6 CALLME1",
        ] {
            assert!(Msisdn::parse(bad, nl()).is_err(), "{bad}");
        }
    }

    #[test]
    fn masking_hides_the_middle() {
        let m = Msisdn::parse("+31612345678", None).unwrap();
        assert_eq!(m.masked(), "+31*******78");
    }
}
