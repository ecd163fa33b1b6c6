//! Opt-outs of recently active accounts, held in memory: every send consults them, and a
//! database round trip per request was the largest single cost of accepting a message.
//! Writes through this process update the cache at once; a short lifetime bounds how stale
//! it can be after a change made elsewhere (another process or node).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How long a loaded set is trusted.
pub(crate) const TTL: Duration = Duration::from_secs(2);
/// Accounts with more opt-outs than this are asked the database directly.
pub(crate) const MAX_CACHED: usize = 100_000;
const MAX_ACCOUNTS: usize = 10_000;

/// `(phone, sender)`; sender `""` covers every sender of the account.
pub(crate) type Entries = HashSet<(String, String)>;

/// A loaded set and when it was loaded.
type Cached = (Arc<Entries>, Instant);

#[derive(Clone, Default)]
pub(crate) struct OptOutCache {
    by_account: Arc<RwLock<HashMap<String, Cached>>>,
    /// Bumped by every invalidation, so a set read from the database before a change cannot
    /// be stored after it.
    generation: Arc<AtomicU64>,
}

impl OptOutCache {
    /// The account's opt-outs if cached and fresh.
    pub(crate) fn get(&self, account_id: &str) -> Option<Arc<Entries>> {
        let map = self.by_account.read().expect("opt-out cache poisoned");
        map.get(account_id).filter(|(_, at)| at.elapsed() < TTL).map(|(e, _)| e.clone())
    }

    /// The generation to pass to `put` for a set about to be read from the database.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Stores a set read at `generation`, unless an invalidation happened since.
    pub(crate) fn put(&self, account_id: &str, entries: Entries, generation: u64) {
        let mut map = self.by_account.write().expect("opt-out cache poisoned");
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if map.len() >= MAX_ACCOUNTS {
            map.clear();
        }
        map.insert(account_id.to_owned(), (Arc::new(entries), Instant::now()));
    }

    /// Forgets an account's set after a write, so the next read reloads it.
    pub(crate) fn invalidate(&self, account_id: &str) {
        let mut map = self.by_account.write().expect("opt-out cache poisoned");
        self.generation.fetch_add(1, Ordering::AcqRel);
        map.remove(account_id);
    }

    /// Forgets every set (another node changed opt-outs it did not name).
    pub(crate) fn invalidate_all(&self) {
        let mut map = self.by_account.write().expect("opt-out cache poisoned");
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
