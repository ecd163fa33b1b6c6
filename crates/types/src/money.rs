use std::fmt;

/// An amount of account credit in millionths of the currency unit.
///
/// Integers keep sums exact (the ledger must add up to the balance); six decimals cover
/// every per-part price a carrier quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(pub i64);

const SCALE: i64 = 1_000_000;
const DECIMALS: usize = 6;
/// Prices are shown with at least four decimals (`0.0050`), more only when needed.
const MIN_SHOWN_DECIMALS: usize = 4;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a decimal amount with at most six decimals: {0:?}")]
pub struct MoneyError(pub String);

impl Money {
    pub const ZERO: Money = Money(0);

    pub fn micros(self) -> i64 {
        self.0
    }

    /// Parses `"12"`, `"0.0050"`, `"-1.5"`; at most six decimals.
    pub fn parse(s: &str) -> Result<Self, MoneyError> {
        let err = || MoneyError(s.to_owned());
        let t = s.trim();
        let (neg, t) = t.strip_prefix('-').map_or((false, t), |r| (true, r));
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        if int.is_empty() && frac.is_empty()
            || frac.len() > DECIMALS
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(err());
        }
        let whole: i64 = if int.is_empty() { 0 } else { int.parse().map_err(|_| err())? };
        let mut frac_val: i64 = if frac.is_empty() { 0 } else { frac.parse().map_err(|_| err())? };
        for _ in frac.len()..DECIMALS {
            frac_val *= 10;
        }
        let v = whole.checked_mul(SCALE).and_then(|w| w.checked_add(frac_val)).ok_or_else(err)?;
        Ok(Money(if neg { -v } else { v }))
    }

    pub fn checked_mul(self, n: i64) -> Option<Money> {
        self.0.checked_mul(n).map(Money)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let whole = abs / SCALE as u64;
        let mut frac = format!("{:06}", abs % SCALE as u64);
        while frac.len() > MIN_SHOWN_DECIMALS && frac.ends_with('0') {
            frac.pop();
        }
        write!(f, "{sign}{whole}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        assert_eq!(Money::parse("0.0050").unwrap(), Money(5_000));
        assert_eq!(Money::parse("12").unwrap(), Money(12_000_000));
        assert_eq!(Money::parse("-1.5").unwrap(), Money(-1_500_000));
        assert_eq!(Money(5_000).to_string(), "0.0050");
        assert_eq!(Money(1_234_567).to_string(), "1.234567");
        assert_eq!(Money(-1_500_000).to_string(), "-1.5000");
        for bad in ["", ".", "1.2345678", "abc", "1e3", "--1"] {
            assert!(Money::parse(bad).is_err(), "{bad}");
        }
    }
}
