//! When to try again: the attempt ladder, status classification and `Retry-After`.

use std::time::{Duration, SystemTime};

/// The longest wait a `Retry-After` header can impose; a receiver asking for
/// more would otherwise park a delivery indefinitely.
pub const MAX_RETRY_AFTER: Duration = Duration::from_hours(24);

/// Delay before each attempt, counted from the failure of the one before it:
/// the Standard Webhooks / Svix schedule. Its length is the attempt budget.
const LADDER: [Duration; 8] = [
    Duration::ZERO,
    Duration::from_secs(5),
    Duration::from_mins(5),
    Duration::from_mins(30),
    Duration::from_hours(2),
    Duration::from_hours(5),
    Duration::from_hours(10),
    Duration::from_hours(10),
];

/// Total attempts per message, the first try included.
pub const MAX_ATTEMPTS: u32 = LADDER.len() as u32;

/// How long to wait after attempt number `attempt` (1 = the first try) failed,
/// or `None` when that was the last attempt the ladder allows.
///
/// `jitter_unit` is a uniform draw in `[0, 1)` supplied by the caller (so tests
/// are deterministic); it scales the step by a factor in `[0.8, 1.2)`, which
/// spreads retries from many messages that failed together. `attempt` 0 means
/// "nothing tried yet" and gives the immediate first step.
pub fn retry_delay(attempt: u32, jitter_unit: f64) -> Option<Duration> {
    let base = *LADDER.get(attempt as usize)?;
    // Out-of-range or NaN input must not produce a negative or absurd delay.
    let unit = if jitter_unit.is_finite() { jitter_unit.clamp(0.0, 1.0) } else { 0.5 };
    Some(base.mul_f64(0.8 + 0.4 * unit))
}

/// What a delivery's HTTP status means for the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx: delivered.
    Success,
    /// 410 Gone: the receiver asks us to stop; disable the endpoint.
    Disable,
    /// 429, 502, 503, 504: retry, waiting at least what `Retry-After` asks.
    RetryAfterHonoured,
    /// Anything else, redirects included (we never follow them): retry on the ladder.
    Retry,
}

/// Classifies a response status.
pub fn classify(status: u16) -> Outcome {
    match status {
        200..=299 => Outcome::Success,
        410 => Outcome::Disable,
        429 | 502..=504 => Outcome::RetryAfterHonoured,
        _ => Outcome::Retry,
    }
}

/// Parses a `Retry-After` value: delta-seconds or an HTTP-date, relative to
/// `now`. Capped at [`MAX_RETRY_AFTER`]; a date in the past gives zero.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let wait = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // All digits: only overflow can fail, and an overflowing value is "very long".
        Duration::from_secs(value.parse::<u64>().unwrap_or(u64::MAX))
    } else {
        let at = httpdate::parse_http_date(value).ok()?;
        at.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60;
    const HOUR: u64 = 60 * MIN;

    #[test]
    fn ladder_without_jitter() {
        // 0.5 is the midpoint: factor exactly 1.0.
        let d = |n| retry_delay(n, 0.5).map(|d| d.as_secs());
        assert_eq!(d(0), Some(0));
        assert_eq!(d(1), Some(5));
        assert_eq!(d(2), Some(5 * MIN));
        assert_eq!(d(3), Some(30 * MIN));
        assert_eq!(d(4), Some(2 * HOUR));
        assert_eq!(d(5), Some(5 * HOUR));
        assert_eq!(d(6), Some(10 * HOUR));
        assert_eq!(d(7), Some(10 * HOUR));
        assert_eq!(d(8), None);
        assert_eq!(d(u32::MAX), None);
        assert_eq!(MAX_ATTEMPTS, 8);
    }

    #[test]
    fn jitter_is_plus_minus_twenty_percent() {
        assert_eq!(retry_delay(2, 0.0), Some(Duration::from_mins(4)));
        let hi = retry_delay(2, 0.999_999).unwrap();
        assert!(hi < Duration::from_mins(6) && hi > Duration::from_secs(359));
        // Nonsense input is clamped, never panics or goes negative.
        assert_eq!(retry_delay(2, -3.0), Some(Duration::from_mins(4)));
        assert_eq!(retry_delay(2, 7.0), Some(Duration::from_mins(6)));
        assert_eq!(retry_delay(2, f64::NAN), Some(Duration::from_mins(5)));
        assert_eq!(retry_delay(0, 0.9), Some(Duration::ZERO));
    }

    #[test]
    fn classification() {
        for s in [200, 201, 204, 299] {
            assert_eq!(classify(s), Outcome::Success, "{s}");
        }
        assert_eq!(classify(410), Outcome::Disable);
        for s in [429, 502, 503, 504] {
            assert_eq!(classify(s), Outcome::RetryAfterHonoured, "{s}");
        }
        for s in [100, 301, 302, 308, 400, 401, 404, 500, 501, 505, 599] {
            assert_eq!(classify(s), Outcome::Retry, "{s}");
        }
    }

    #[test]
    fn retry_after_delta_seconds() {
        let now = SystemTime::now();
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_mins(2)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("999999999", now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("99999999999999999999999", now), Some(MAX_RETRY_AFTER));
        for bad in ["", "-5", "1.5", "soon", "12 s"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn retry_after_http_date() {
        // Sun, 06 Nov 1994 08:49:37 GMT
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        let date = "Sun, 06 Nov 1994 08:51:37 GMT";
        assert_eq!(parse_retry_after(date, now), Some(Duration::from_mins(2)));
        let past = "Sun, 06 Nov 1994 08:00:00 GMT";
        assert_eq!(parse_retry_after(past, now), Some(Duration::ZERO));
        let far = "Sat, 06 Nov 2094 08:49:37 GMT";
        assert_eq!(parse_retry_after(far, now), Some(MAX_RETRY_AFTER));
    }
}
