//! Property tests for reassembly: any arrival order (with duplicates) gives the message
//! back exactly once, and arbitrary traffic never panics or outgrows its limits.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use textbird_smpp::reassembly::{PartKey, Reassembler};

const CASES: u32 = 4_096;
const TIMEOUT: Duration = Duration::from_mins(1);

fn key(reference: u16, total: u8) -> PartKey {
    PartKey { from: "+15550100".into(), to: "+15550199".into(), reference, total }
}

/// A message of 1..=10 parts, the order they arrive in, and duplicate arrivals.
#[derive(Debug, Clone)]
struct Scenario {
    parts: Vec<Vec<u8>>,
    /// Part indexes in arrival order.
    order: Vec<usize>,
    /// `(after, pick)`: right after the `after`-th arrival, one of the parts already sent is
    /// sent again (with other data).
    dups: Vec<(usize, usize)>,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..20), 1..=10).prop_flat_map(|parts| {
        let n = parts.len();
        let order = Just((0..n).collect::<Vec<_>>()).prop_shuffle();
        let dups = prop::collection::vec((0..n, 0..n), 0..6);
        (Just(parts), order, dups).prop_map(|(parts, order, dups)| Scenario { parts, order, dups })
    })
}

#[derive(Debug, Clone)]
enum Op {
    Push { reference: u16, total: u8, seq: u8, len: usize, from: u8, advance_ms: u64 },
    Expire { advance_ms: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0u16..6, 0u8..5, 0u8..6, 0usize..64, 0u8..3, 0u64..5_000).prop_map(
            |(reference, total, seq, len, from, advance_ms)| Op::Push { reference, total, seq, len, from, advance_ms }
        ),
        1 => (0u64..120_000).prop_map(|advance_ms| Op::Expire { advance_ms }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn any_order_with_duplicates_completes_exactly_once(scenario in scenario()) {
        let Scenario { parts, order, dups } = scenario;
        let total = parts.len() as u8;
        let mut r = Reassembler::new(TIMEOUT, 4);
        let now = Instant::now();
        let mut completions = Vec::new();
        for (arrival, &index) in order.iter().enumerate() {
            let seq = index as u8 + 1;
            if let Some(done) = r.push(key(7, total), seq, parts[index].clone(), now) {
                completions.push(done);
            }
            // Duplicates only before the last part: after it a duplicate starts a new message.
            if arrival + 1 < order.len() {
                for &(_, pick) in dups.iter().filter(|(after, _)| *after == arrival) {
                    let resent = order[pick % (arrival + 1)];
                    let garbage = vec![0xEE; 3];
                    prop_assert_eq!(r.push(key(7, total), resent as u8 + 1, garbage, now), None);
                }
            }
        }
        prop_assert_eq!(completions, vec![parts]);
        prop_assert_eq!(r.pending(), 0);
        prop_assert_eq!(r.stored_bytes(), 0);
        prop_assert!(r.expire(now + TIMEOUT * 2).is_empty());
    }

    #[test]
    fn arbitrary_traffic_stays_within_limits(
        ops in prop::collection::vec(op(), 0..200),
        max_groups in 0usize..6,
        max_bytes in 0usize..400,
    ) {
        let mut r = Reassembler::new(TIMEOUT, max_groups).with_max_bytes(max_bytes);
        let mut now = Instant::now();
        for op in ops {
            match op {
                Op::Push { reference, total, seq, len, from, advance_ms } => {
                    now += Duration::from_millis(advance_ms);
                    let key = PartKey { from: format!("+1555{from}"), to: "1".into(), reference, total };
                    if let Some(done) = r.push(key, seq, vec![seq; len], now) {
                        prop_assert_eq!(done.len(), usize::from(total));
                        for (i, part) in done.iter().enumerate() {
                            prop_assert!(part.iter().all(|&b| usize::from(b) == i + 1));
                        }
                    }
                }
                Op::Expire { advance_ms } => {
                    now += Duration::from_millis(advance_ms);
                    for incomplete in r.expire(now) {
                        prop_assert_eq!(incomplete.parts.len(), usize::from(incomplete.key.total));
                        prop_assert!(incomplete.parts.iter().any(Option::is_some));
                    }
                }
            }
            prop_assert!(r.pending() <= max_groups);
            prop_assert!(r.stored_bytes() <= max_bytes);
        }
        r.expire(now + TIMEOUT + Duration::from_millis(1));
        prop_assert_eq!(r.pending(), 0);
        prop_assert_eq!(r.stored_bytes(), 0);
    }

    #[test]
    fn arbitrary_pushes_with_unordered_clocks_never_panic(
        pushes in prop::collection::vec((any::<u16>(), any::<u8>(), any::<u8>(), any::<Vec<u8>>(), 0u64..200_000), 0..100),
    ) {
        let base = Instant::now();
        let mut r = Reassembler::new(TIMEOUT, 8);
        for (reference, total, seq, data, at_ms) in pushes {
            let now = base + Duration::from_millis(at_ms);
            let _ = r.push(key(reference % 4, total % 12), seq % 14, data, now);
            prop_assert!(r.pending() <= 8);
            if at_ms % 7 == 0 {
                let _ = r.expire(now);
            }
        }
    }
}
