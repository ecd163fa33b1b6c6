//! Limits on password guessing. Every check of a password or client secret (`App::login` for
//! HTTP logins, SMPP binds and the dashboard; `App::oauth_access_token`) runs through
//! [`App::limited`], which counts failures per account and per client address in the
//! database, so every node sharing it enforces one limit:
//! - after `failures_before_delay` failures in the last hour, each further check waits a
//!   growing delay (doubling from `first_delay_ms` up to `max_delay_secs`) after the last
//!   failure, and checks wait their turn instead of running side by side;
//! - after `max_failures_per_hour`, every check is refused, the right password too, until the
//!   oldest failure is an hour old.
//!
//! A refused check is answered before the password is looked at. The account subject is the
//! name tried, whether or not an account has it, so an unknown user and a wrong password are
//! limited, counted and answered alike.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use textbird_config::LoginSettings;
use textbird_store::FailureCount;
use textbird_types::now_millis;

use crate::secrets::sha256_hex;
use crate::{App, AppError};

/// The window failures are counted in.
pub(crate) const WINDOW_MS: i64 = 3_600_000;
/// The shortest `Retry-After` a refusal names.
const MIN_RETRY: Duration = Duration::from_secs(1);

/// Whose secret a check is about.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Subject<'a> {
    /// A username (logins, SMPP binds, the dashboard).
    User(&'a str),
    /// An `OAuth` client id.
    Client(&'a str),
}

/// What the limits are counted under: the SHA-256 of the subject and of the client's
/// address, so the table holds no typed name or address.
fn keys(subject: Subject<'_>, from: Option<IpAddr>) -> Vec<String> {
    let who = match subject {
        Subject::User(name) => format!("login:user:{name}"),
        Subject::Client(id) => format!("login:client:{id}"),
    };
    let mut keys = vec![sha256_hex(&who)];
    if let Some(ip) = from {
        keys.push(sha256_hex(&format!("login:addr:{}", address_key(ip))));
    }
    keys
}

/// An IPv4 address as itself (IPv4-mapped IPv6 too); an IPv6 address by its /64, the block
/// one customer line usually gets.
pub(crate) fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                v4.to_string()
            } else {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        }
    }
}

/// How long a subject with `failures` in the window (`first_at`..`last_at`, epoch ms) must
/// wait before its next check, `others` being checks of it still running on this node.
/// `None`: it may be checked now.
pub(crate) fn wait(
    policy: &LoginSettings,
    failures: u32,
    others: u32,
    first_at: i64,
    last_at: i64,
    now: i64,
) -> Option<Duration> {
    let ms = |ms: i64| Duration::from_millis(u64::try_from(ms).unwrap_or(0)).max(MIN_RETRY);
    if failures >= policy.max_failures_per_hour {
        return Some(ms(first_at + WINDOW_MS - now));
    }
    if failures < policy.failures_before_delay {
        return None;
    }
    let doublings = (failures - policy.failures_before_delay).min(20);
    let delay = policy.first_delay_ms.saturating_mul(1 << doublings).min(policy.max_delay_secs.saturating_mul(1000));
    let delay = i64::try_from(delay).unwrap_or(i64::MAX);
    if others > 0 {
        return Some(ms(delay));
    }
    let until = last_at.saturating_add(delay);
    (now < until).then(|| ms(until - now))
}

/// Checks running on this node, by key: a check that starts counts those already running as
/// failures it cannot see yet, so one node never lets more through than the limit.
#[derive(Default)]
pub(crate) struct Running(Mutex<HashMap<String, u32>>);

/// One check's place in [`Running`], given back when dropped.
struct Place<'a> {
    running: &'a Running,
    keys: Vec<String>,
}

impl Running {
    /// Takes a place for `keys`; how many checks of each were already running.
    fn enter(&self, keys: Vec<String>) -> (Place<'_>, Vec<u32>) {
        let mut map = self.0.lock().expect("poisoned");
        let others = keys
            .iter()
            .map(|k| {
                let n = map.entry(k.clone()).or_insert(0);
                *n += 1;
                *n - 1
            })
            .collect();
        (Place { running: self, keys }, others)
    }
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        let mut map = self.running.0.lock().expect("poisoned");
        for k in &self.keys {
            if let Some(n) = map.get_mut(k) {
                *n -= 1;
                if *n == 0 {
                    map.remove(k);
                }
            }
        }
    }
}

impl App {
    /// Runs `check` (a password or secret comparison: `Some` when it matched) under the
    /// limits of `subject` and of the client address `from`. A refusal is `RateLimited`,
    /// before `check` runs; a mismatch is recorded and `Unauthorized`.
    pub(crate) async fn limited<T, F>(
        &self,
        subject: Subject<'_>,
        from: Option<IpAddr>,
        check: F,
    ) -> Result<T, AppError>
    where
        F: Future<Output = Result<Option<T>, AppError>>,
    {
        let keys = keys(subject, from);
        // The place is taken before the failures are read: a check that finishes in between
        // has recorded its failure before giving its place back, so it is counted once or
        // twice, never missed.
        let (place, others) = self.inner.login_checks.enter(keys.clone());
        let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let now = now_millis();
        let counts = self.store().login_failures(&key_refs, now - WINDOW_MS).await?;
        let policy = &self.settings().logins;
        let refused = keys
            .iter()
            .zip(&others)
            .filter_map(|(key, &running)| {
                let seen = counts.iter().find(|c| &c.subject == key);
                let (failures, first_at, last_at) =
                    seen.map_or((0, now, 0), |c: &FailureCount| (c.failures, c.first_at, c.last_at));
                wait(policy, failures.saturating_add(running), running, first_at, last_at, now)
            })
            .max();
        if let Some(retry) = refused {
            metrics::counter!("textbird_login_refusals_total", "subject" => subject.kind()).increment(1);
            tracing::warn!(
                subject = subject.kind(),
                retry_secs = retry.as_secs(),
                "password check refused: too many failures"
            );
            return Err(AppError::RateLimited(retry));
        }
        let outcome = check.await;
        if let Ok(None) = outcome {
            metrics::counter!("textbird_login_failures_total", "subject" => subject.kind()).increment(1);
            if let Err(e) = self.store().record_login_failure(&key_refs, now_millis()).await {
                tracing::error!(error = %e, "cannot record a failed password check");
            }
        }
        drop(place);
        outcome?.ok_or(AppError::Unauthorized)
    }
}

impl Subject<'_> {
    fn kind(self) -> &'static str {
        match self {
            Subject::User(_) => "user",
            Subject::Client(_) => "client",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> LoginSettings {
        LoginSettings { max_failures_per_hour: 100, failures_before_delay: 5, first_delay_ms: 1000, max_delay_secs: 60 }
    }

    const NOW: i64 = 1_700_000_000_000;

    #[test]
    fn the_first_failures_cost_nothing() {
        for n in 0..5 {
            assert_eq!(wait(&policy(), n, 0, NOW - 10, NOW - 1, NOW), None, "{n} failures");
        }
        assert_eq!(wait(&policy(), 3, 2, NOW - 10, NOW - 1, NOW), None, "checks may run side by side");
    }

    #[test]
    fn the_delay_doubles_up_to_its_cap() {
        let after_last = |n| wait(&policy(), n, 0, NOW - 100_000, NOW, NOW);
        assert_eq!(after_last(5), Some(Duration::from_secs(1)));
        assert_eq!(after_last(6), Some(Duration::from_secs(2)));
        assert_eq!(after_last(8), Some(Duration::from_secs(8)));
        assert_eq!(after_last(11), Some(Duration::from_mins(1)));
        assert_eq!(after_last(99), Some(Duration::from_mins(1)));
        assert_eq!(wait(&policy(), 6, 0, NOW - 100_000, NOW - 2_000, NOW), None, "the delay has passed");
        assert_eq!(wait(&policy(), 6, 0, NOW - 100_000, NOW - 500, NOW), Some(Duration::from_millis(1_500)));
        assert_eq!(
            wait(&policy(), 6, 1, NOW - 100_000, NOW - 9_000, NOW),
            Some(Duration::from_secs(2)),
            "one at a time"
        );
    }

    #[test]
    fn past_the_limit_everything_waits_for_the_oldest_failure_to_age() {
        let p = LoginSettings { first_delay_ms: 0, ..policy() };
        assert_eq!(wait(&p, 99, 0, NOW - 1000, NOW - 1, NOW), None);
        assert_eq!(wait(&p, 100, 0, NOW - 600_000, NOW - 1, NOW), Some(Duration::from_mins(50)));
        assert_eq!(wait(&p, 100, 0, NOW - WINDOW_MS, NOW - 1, NOW), Some(MIN_RETRY));
    }

    #[test]
    fn addresses_are_counted_by_customer_line() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(address_key(ip("192.0.2.7")), "192.0.2.7");
        assert_eq!(address_key(ip("::ffff:192.0.2.7")), "192.0.2.7");
        assert_eq!(address_key(ip("2001:db8:1:2:3:4:5:6")), address_key(ip("2001:db8:1:2:ffff::1")));
        assert_ne!(address_key(ip("2001:db8:1:2::1")), address_key(ip("2001:db8:1:3::1")));
    }

    #[test]
    fn keys_hide_what_was_typed() {
        let k = keys(Subject::User("alice"), Some("192.0.2.7".parse().unwrap()));
        assert_eq!(k.len(), 2);
        assert!(k.iter().all(|k| k.len() == 64 && !k.contains("alice")));
        assert_ne!(keys(Subject::User("x"), None), keys(Subject::Client("x"), None));
    }

    #[test]
    fn running_checks_are_counted_until_they_finish() {
        let running = Running::default();
        let (a, first) = running.enter(vec!["k".into()]);
        let (b, second) = running.enter(vec!["k".into()]);
        assert_eq!((first, second), (vec![0], vec![1]));
        drop(a);
        drop(b);
        assert!(running.0.lock().unwrap().is_empty(), "nothing is left behind");
    }
}
