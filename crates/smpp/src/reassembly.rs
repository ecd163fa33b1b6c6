//! Reassembly of concatenated inbound messages, whether the parts were numbered by a User
//! Data Header ([`crate::udh`]) or by the `sar_msg_ref_num`, `sar_total_segments` and
//! `sar_segment_seqnum` TLVs (SMPP 3.4 §5.3.2.22-24).
//!
//! Parts may arrive in any order and some may never arrive. A [`Reassembler`] keeps the
//! parts of each message until it is complete, gives up on a message after a timeout, and
//! holds a bounded number of messages and bytes whatever its peers send: past either limit
//! it gives up on the oldest message early. It does no I/O and reads no clock; the caller
//! passes `now` and calls [`Reassembler::expire`] periodically.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Default cap on the bytes of part data held, both in incomplete messages and in messages
/// given up on but not yet collected by [`Reassembler::expire`] (each cap separately).
pub const DEFAULT_MAX_BYTES: usize = 16 * 1024 * 1024;

/// What identifies the parts of one message: the reference alone repeats every 256 (or
/// 65,536) messages and is chosen by each sender independently.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PartKey {
    /// The originating address (`source_addr`).
    pub from: String,
    /// The destination address (`destination_addr`).
    pub to: String,
    /// The concatenation reference number (UDH) or `sar_msg_ref_num`.
    pub reference: u16,
    /// The number of parts (UDH) or `sar_total_segments`.
    pub total: u8,
}

/// A message given up on, with the parts that did arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incomplete {
    /// Which message.
    pub key: PartKey,
    /// Part data by sequence number: index `seq - 1`, `None` for a part that never came.
    pub parts: Vec<Option<Vec<u8>>>,
}

/// Collects the parts of concatenated messages until each is complete.
#[derive(Debug)]
pub struct Reassembler {
    timeout: Duration,
    max_groups: usize,
    max_bytes: usize,
    groups: HashMap<PartKey, Group>,
    /// Groups by age: first part's arrival, then a counter to break ties.
    by_age: BTreeMap<(Instant, u64), PartKey>,
    next_tiebreak: u64,
    stored_bytes: usize,
    /// Groups evicted for space, waiting for the next `expire`.
    evicted: VecDeque<Incomplete>,
    evicted_bytes: usize,
    dropped: u64,
}

#[derive(Debug)]
struct Group {
    age: (Instant, u64),
    parts: Vec<Option<Vec<u8>>>,
    received: usize,
    /// Part data plus the addresses in the key, so long addresses count too.
    bytes: usize,
}

impl Reassembler {
    /// A reassembler that gives up on a message `timeout` after its first part arrived and
    /// holds at most `max_groups` incomplete messages and [`DEFAULT_MAX_BYTES`] of data.
    pub fn new(timeout: Duration, max_groups: usize) -> Self {
        Self {
            timeout,
            max_groups,
            max_bytes: DEFAULT_MAX_BYTES,
            groups: HashMap::new(),
            by_age: BTreeMap::new(),
            next_tiebreak: 0,
            stored_bytes: 0,
            evicted: VecDeque::new(),
            evicted_bytes: 0,
            dropped: 0,
        }
    }

    /// Sets the byte cap (instead of [`DEFAULT_MAX_BYTES`]).
    pub fn with_max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// Stores one part and returns every part's data in sequence order once all
    /// `key.total` parts are in (the message is then forgotten).
    ///
    /// A part whose `seq` was already received is ignored (the first one wins); `seq` 0 or
    /// past `key.total` is ignored; a message of one part completes at once. Starting a new
    /// message when `max_groups` are pending, or going over the byte cap, evicts the oldest
    /// messages, which the next [`Reassembler::expire`] returns.
    pub fn push(&mut self, key: PartKey, seq: u8, data: Vec<u8>, now: Instant) -> Option<Vec<Vec<u8>>> {
        if seq == 0 || seq > key.total {
            return None;
        }
        if key.total == 1 {
            return Some(vec![data]);
        }
        let index = usize::from(seq - 1);
        let data_len = data.len();

        let group = match self.groups.entry(key) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => {
                let age = (now, self.next_tiebreak);
                self.next_tiebreak += 1;
                self.by_age.insert(age, entry.key().clone());
                let bytes = entry.key().from.len() + entry.key().to.len();
                self.stored_bytes += bytes;
                let parts = vec![None; usize::from(entry.key().total)];
                entry.insert(Group { age, parts, received: 0, bytes })
            }
        };
        let slot = &mut group.parts[index];
        if slot.is_some() {
            return None;
        }
        *slot = Some(data);
        group.received += 1;
        group.bytes += data_len;
        self.stored_bytes += data_len;

        if group.received == group.parts.len() {
            let age = group.age;
            let key = self.by_age.remove(&age)?;
            let group = self.groups.remove(&key)?;
            self.stored_bytes -= group.bytes;
            return group.parts.into_iter().collect();
        }
        self.enforce_limits();
        None
    }

    /// Gives up on the messages whose first part arrived more than `timeout` before `now`
    /// and returns them, after the ones evicted for space since the last call, oldest first.
    pub fn expire(&mut self, now: Instant) -> Vec<Incomplete> {
        let mut out: Vec<Incomplete> = self.evicted.drain(..).collect();
        self.evicted_bytes = 0;
        while let Some((&(first_seen, _), _)) = self.by_age.first_key_value() {
            if now.saturating_duration_since(first_seen) <= self.timeout {
                break;
            }
            if let Some(incomplete) = self.pop_oldest() {
                out.push(incomplete);
            }
        }
        out
    }

    /// How many incomplete messages are held (not counting evicted ones awaiting `expire`).
    pub fn pending(&self) -> usize {
        self.groups.len()
    }

    /// Bytes held in incomplete messages (part data and addresses).
    pub fn stored_bytes(&self) -> usize {
        self.stored_bytes
    }

    /// How many evicted messages were discarded because `expire` was not called before
    /// evictions piled up past `max_groups` messages or the byte cap.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    fn pop_oldest(&mut self) -> Option<Incomplete> {
        let (_, key) = self.by_age.pop_first()?;
        let group = self.groups.remove(&key)?;
        self.stored_bytes -= group.bytes;
        Some(Incomplete { key, parts: group.parts })
    }

    /// Evicts the oldest groups while over either cap, then discards the oldest evicted
    /// ones while those are over the same caps.
    fn enforce_limits(&mut self) {
        while self.groups.len() > self.max_groups || self.stored_bytes > self.max_bytes {
            let Some(incomplete) = self.pop_oldest() else { break };
            self.evicted_bytes += incomplete_bytes(&incomplete);
            self.evicted.push_back(incomplete);
        }
        while self.evicted.len() > self.max_groups || self.evicted_bytes > self.max_bytes {
            let Some(incomplete) = self.evicted.pop_front() else { break };
            self.evicted_bytes -= incomplete_bytes(&incomplete);
            self.dropped += 1;
        }
    }
}

fn incomplete_bytes(incomplete: &Incomplete) -> usize {
    let data: usize = incomplete.parts.iter().flatten().map(Vec::len).sum();
    data + incomplete.key.from.len() + incomplete.key.to.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_mins(1);

    fn key(reference: u16, total: u8) -> PartKey {
        PartKey { from: "+4915100000001".into(), to: "12345".into(), reference, total }
    }

    #[test]
    fn parts_in_any_order_complete_in_sequence_order() {
        let mut r = Reassembler::new(TIMEOUT, 10);
        let now = Instant::now();
        assert_eq!(r.push(key(1, 3), 3, b"c".to_vec(), now), None);
        assert_eq!(r.push(key(1, 3), 1, b"a".to_vec(), now), None);
        assert_eq!(r.pending(), 1);
        assert_eq!(r.push(key(1, 3), 2, b"b".to_vec(), now), Some(vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]));
        assert_eq!(r.pending(), 0);
        assert_eq!(r.stored_bytes(), 0);
    }

    #[test]
    fn single_part_completes_at_once() {
        let mut r = Reassembler::new(TIMEOUT, 10);
        assert_eq!(r.push(key(1, 1), 1, b"x".to_vec(), Instant::now()), Some(vec![b"x".to_vec()]));
        assert_eq!(r.pending(), 0);
    }

    #[test]
    fn repeated_part_keeps_the_first_copy() {
        let mut r = Reassembler::new(TIMEOUT, 10);
        let now = Instant::now();
        r.push(key(1, 2), 1, b"first".to_vec(), now);
        assert_eq!(r.push(key(1, 2), 1, b"second".to_vec(), now), None);
        assert_eq!(r.push(key(1, 2), 2, b"!".to_vec(), now), Some(vec![b"first".to_vec(), b"!".to_vec()]));
    }

    #[test]
    fn out_of_range_sequence_numbers_are_ignored() {
        let mut r = Reassembler::new(TIMEOUT, 10);
        let now = Instant::now();
        assert_eq!(r.push(key(1, 2), 0, b"x".to_vec(), now), None);
        assert_eq!(r.push(key(1, 2), 3, b"x".to_vec(), now), None);
        assert_eq!(r.push(key(1, 0), 1, b"x".to_vec(), now), None);
        assert_eq!(r.pending(), 0);
    }

    #[test]
    fn same_reference_from_different_senders_is_kept_apart() {
        let mut r = Reassembler::new(TIMEOUT, 10);
        let now = Instant::now();
        let other = PartKey { from: "+4915100000002".into(), ..key(1, 2) };
        r.push(key(1, 2), 1, b"a".to_vec(), now);
        assert_eq!(r.push(other, 2, b"z".to_vec(), now), None);
        assert_eq!(r.pending(), 2);
    }

    #[test]
    fn incomplete_message_expires_after_the_timeout() {
        let mut r = Reassembler::new(TIMEOUT, 10);
        let start = Instant::now();
        r.push(key(1, 3), 2, b"b".to_vec(), start);
        r.push(key(2, 2), 1, b"x".to_vec(), start + Duration::from_secs(30));
        assert!(r.expire(start + TIMEOUT).is_empty(), "exactly the timeout is not past it");
        let expired = r.expire(start + TIMEOUT + Duration::from_millis(1));
        assert_eq!(expired, [Incomplete { key: key(1, 3), parts: vec![None, Some(b"b".to_vec()), None] }]);
        assert_eq!(r.pending(), 1);
        let expired = r.expire(start + Duration::from_secs(91));
        assert_eq!(expired.len(), 1);
        assert_eq!(r.pending(), 0);
        assert_eq!(r.stored_bytes(), 0);
    }

    #[test]
    fn a_new_message_past_max_groups_evicts_the_oldest() {
        let mut r = Reassembler::new(TIMEOUT, 2);
        let now = Instant::now();
        r.push(key(1, 2), 1, b"a".to_vec(), now);
        r.push(key(2, 2), 1, b"b".to_vec(), now + Duration::from_secs(1));
        r.push(key(3, 2), 1, b"c".to_vec(), now + Duration::from_secs(2));
        assert_eq!(r.pending(), 2);
        let expired = r.expire(now + Duration::from_secs(3));
        assert_eq!(expired, [Incomplete { key: key(1, 2), parts: vec![Some(b"a".to_vec()), None] }]);
        assert!(r.expire(now + Duration::from_secs(3)).is_empty());
    }

    #[test]
    fn going_over_the_byte_cap_evicts_the_oldest() {
        let key_bytes = key(0, 0).from.len() + key(0, 0).to.len();
        let mut r = Reassembler::new(TIMEOUT, 10).with_max_bytes(2 * (key_bytes + 100));
        let now = Instant::now();
        r.push(key(1, 3), 1, vec![0; 100], now);
        r.push(key(2, 3), 1, vec![0; 100], now + Duration::from_secs(1));
        assert_eq!(r.pending(), 2);
        r.push(key(2, 3), 2, vec![0; 1], now + Duration::from_secs(2));
        assert_eq!(r.pending(), 1);
        assert!(r.stored_bytes() <= 2 * (key_bytes + 100));
        assert_eq!(r.expire(now + Duration::from_secs(2))[0].key, key(1, 3));
    }

    #[test]
    fn evictions_not_collected_are_bounded_and_counted() {
        let mut r = Reassembler::new(TIMEOUT, 1);
        let now = Instant::now();
        for reference in 0..5 {
            r.push(key(reference, 2), 1, b"a".to_vec(), now);
        }
        assert_eq!(r.pending(), 1);
        assert_eq!(r.dropped(), 3);
        let expired = r.expire(now);
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0].key, key(3, 2));
    }

    #[test]
    fn zero_max_groups_holds_nothing() {
        let mut r = Reassembler::new(TIMEOUT, 0);
        let now = Instant::now();
        assert_eq!(r.push(key(1, 2), 1, b"a".to_vec(), now), None);
        assert_eq!(r.pending(), 0);
        assert_eq!(r.push(key(1, 1), 1, b"a".to_vec(), now), Some(vec![b"a".to_vec()]));
    }
}
