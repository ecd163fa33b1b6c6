//! What every send consults, per recently active account, held in memory: its opt-outs, and
//! its disabled senders, enabled unsubscribe lists and fraud settings. A database round trip
//! per request was the largest single cost of accepting a message. Writes through this process update
//! the cache at once; a short lifetime (and, on PostgreSQL, a change notice) bounds how stale
//! it can be after a change made elsewhere (another process or node).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How long a loaded value is trusted.
pub(crate) const TTL: Duration = Duration::from_secs(2);
/// Accounts with more opt-outs than this are asked the database directly.
pub(crate) const MAX_CACHED: usize = 100_000;
const MAX_ACCOUNTS: usize = 10_000;

/// `(phone, sender)`; sender `""` covers every sender of the account.
pub(crate) type Entries = HashSet<(String, String)>;

/// The account's opt-outs.
pub(crate) type OptOutCache = AccountCache<Entries>;

/// What a send checks besides opt-outs: disabled sender values, and the enabled
/// unsubscribe lists as `(id, name)`.
#[derive(Debug, Default)]
pub(crate) struct SendFacts {
    pub(crate) disabled_senders: HashSet<String>,
    pub(crate) unsubscribe_lists: Vec<(String, String)>,
    /// The account's own allowed countries and daily spend cap.
    pub(crate) fraud: crate::AccountFraudSettings,
}

/// A loaded value and when it was loaded.
type Loaded<T> = (Arc<T>, Instant);

/// Per-account values, each trusted for [`TTL`] after it was loaded.
pub(crate) struct AccountCache<T> {
    by_account: Arc<RwLock<HashMap<String, Loaded<T>>>>,
    /// Bumped by every invalidation, so a value read from the database before a change
    /// cannot be stored after it.
    generation: Arc<AtomicU64>,
}

impl<T> Clone for AccountCache<T> {
    fn clone(&self) -> Self {
        Self { by_account: self.by_account.clone(), generation: self.generation.clone() }
    }
}

impl<T> Default for AccountCache<T> {
    fn default() -> Self {
        Self { by_account: Arc::default(), generation: Arc::default() }
    }
}

impl<T> AccountCache<T> {
    /// The account's value if cached and fresh.
    pub(crate) fn get(&self, account_id: &str) -> Option<Arc<T>> {
        let map = self.by_account.read().expect("account cache poisoned");
        map.get(account_id).filter(|(_, at)| at.elapsed() < TTL).map(|(e, _)| e.clone())
    }

    /// The generation to pass to `put` for a value about to be read from the database.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Stores a value read at `generation`, unless an invalidation happened since.
    pub(crate) fn put(&self, account_id: &str, value: Arc<T>, generation: u64) {
        let mut map = self.by_account.write().expect("account cache poisoned");
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if map.len() >= MAX_ACCOUNTS {
            map.clear();
        }
        map.insert(account_id.to_owned(), (value, Instant::now()));
    }

    /// Forgets an account's value after a write, so the next read reloads it.
    pub(crate) fn invalidate(&self, account_id: &str) {
        let mut map = self.by_account.write().expect("account cache poisoned");
        self.generation.fetch_add(1, Ordering::AcqRel);
        map.remove(account_id);
    }

    /// Forgets every value (another node changed what it did not name).
    pub(crate) fn invalidate_all(&self) {
        let mut map = self.by_account.write().expect("account cache poisoned");
        self.generation.fetch_add(1, Ordering::AcqRel);
        map.clear();
    }
}

/// Which of `phones` the entries opt out of messages from `sender`.
pub(crate) fn matching(entries: &Entries, sender: &str, phones: &[&str]) -> Vec<String> {
    if entries.is_empty() {
        return Vec::new();
    }
    phones
        .iter()
        .filter(|p| {
            entries.contains(&((**p).to_owned(), String::new()))
                || entries.contains(&((**p).to_owned(), sender.to_owned()))
        })
        .map(|p| (*p).to_owned())
        .collect()
}
