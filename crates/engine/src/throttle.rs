//! A token bucket for messages per second, with time passed in so it tests without sleeping.

use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// `rate` per second with a burst of one second's worth (at least 1).
    pub fn new(rate: u32, now: Instant) -> Self {
        let rate = f64::from(rate);
        Self { rate, burst: rate.max(1.0), tokens: rate.max(1.0), last: now }
    }

    /// Takes a token, or says how long until one is available.
    pub fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
        }
    }

    /// Empties the bucket and holds it back for `pause` (a carrier said "throttled").
    pub fn pause(&mut self, now: Instant, pause: Duration) {
        self.tokens = -pause.as_secs_f64() * self.rate;
        self.last = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_to_rate_after_burst() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10, t0);
        let taken = (0..100).filter(|_| b.try_take(t0).is_ok()).count();
        assert_eq!(taken, 10, "burst is one second");
        let wait = b.try_take(t0).unwrap_err();
        assert!(wait <= Duration::from_millis(100));
        let t1 = t0 + Duration::from_secs(2);
        let later = (0..100).filter(|_| b.try_take(t1).is_ok()).count();
        assert_eq!(later, 10, "refills to the burst, not beyond");
    }

    #[test]
    fn pause_holds_back() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(100, t0);
        b.pause(t0, Duration::from_secs(1));
        assert!(b.try_take(t0 + Duration::from_millis(500)).is_err());
        assert!(b.try_take(t0 + Duration::from_millis(1011)).is_ok());
    }
}
