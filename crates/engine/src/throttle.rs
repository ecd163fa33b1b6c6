//! Messages per second: a token bucket per node (time passed in, so it tests without
//! sleeping), and a budget shared by every node of one database.

use std::time::{Duration, Instant};

use textbird_store::Store;

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

/// A node's draw on a per-second budget that every node sharing the database draws from,
/// so N nodes together stay within one connector's limit rather than N times it. Units are
/// taken from the database in chunks; a chunk is good only for the second it was granted in.
pub(crate) struct SharedBudget {
    store: Store,
    key: String,
    limit: u32,
    chunk: u32,
    left: u32,
    until: Instant,
    /// `false` once the store said it needs no sharing (`SQLite`: one node).
    shared: bool,
}

/// Pause when the database cannot be asked: hold back rather than exceed the limit.
const BUDGET_RETRY: Duration = Duration::from_millis(250);

impl SharedBudget {
    pub(crate) fn new(store: Store, key: String, limit: u32) -> Self {
        let now = Instant::now();
        Self { store, key, limit, chunk: (limit / 10).max(1), left: 0, until: now, shared: true }
    }

    /// Waits until this node may send one more.
    pub(crate) async fn take(&mut self) {
        while self.shared {
            let now = Instant::now();
            if self.left > 0 && now < self.until {
                self.left -= 1;
                return;
            }
            match self.store.take_budget(&self.key, self.chunk, self.limit).await {
                Ok(None) => self.shared = false,
                Ok(Some((granted, next_ms))) => {
                    let next = Duration::from_millis(next_ms.max(1));
                    if granted > 0 {
                        self.left = granted;
                        self.until = Instant::now() + next;
                    } else {
                        tokio::time::sleep(next).await;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, key = %self.key, "cannot take from the shared budget");
                    tokio::time::sleep(BUDGET_RETRY).await;
                }
            }
        }
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
