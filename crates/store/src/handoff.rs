//! Messages accepted for sending at once go straight to this node's dispatcher: the accept
//! records the dispatcher's lease on the row it inserts and, once that commit is durable, the
//! writer hands the message over in memory. The claim that would otherwise pick it up from the
//! queue (a second write of the row and a second commit before the message can leave) is not
//! needed. The lease is the same as a claim's: if this node dies holding the message, the lease
//! runs out and any node claims it, flagged as a possible duplicate.
//!
//! The dispatcher offers room: a message is handed over only while it has fewer messages in
//! flight than it can hold, so a burst fills the queue instead of memory.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, mpsc};

use crate::model::DispatchItem;

/// Where messages are handed over, shared by the writer and the dispatcher.
#[derive(Clone, Default)]
pub struct Handoff {
    taker: Arc<Mutex<Option<Taker>>>,
}

/// The dispatcher that takes hand-overs: its lease owner and length, its count of messages in
/// flight and how many it holds at most.
#[derive(Clone)]
pub struct Taker {
    pub owner: String,
    pub lease_ms: i64,
    pub inflight: Arc<AtomicUsize>,
    pub capacity: usize,
    /// Told when places are given back.
    pub room: Arc<Notify>,
    /// One send per commit: the messages it leased.
    pub tx: mpsc::UnboundedSender<Vec<DispatchItem>>,
}

/// Places reserved in the dispatcher for messages of one transaction; given back unless the
/// messages are delivered after the commit.
pub(crate) struct Reserved {
    taker: Option<Taker>,
    items: Vec<DispatchItem>,
}

impl Handoff {
    /// From now on, messages due at once go to `taker`.
    pub fn attach(&self, taker: Taker) {
        *self.taker.lock().expect("poisoned") = Some(taker);
    }

    /// No more hand-overs (the dispatcher is stopping); those already reserved still arrive.
    pub fn detach(&self) {
        self.taker.lock().expect("poisoned").take();
    }

    /// An empty reservation for one transaction.
    pub(crate) fn reserve(&self) -> Reserved {
        Reserved { taker: self.taker.lock().expect("poisoned").clone(), items: Vec::new() }
    }
}

impl Reserved {
    /// The lease owner and end for one more message, if the dispatcher has room for it; the
    /// message (`item`, given the lease's end) is then handed over after the commit.
    pub(crate) fn lease(&mut self, now: i64, item: impl FnOnce(i64) -> DispatchItem) -> Option<(String, i64)> {
        let t = self.taker.as_ref()?;
        t.inflight.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < t.capacity).then_some(n + 1)).ok()?;
        let (owner, until) = (t.owner.clone(), now + t.lease_ms);
        self.items.push(item(until));
        Some((owner, until))
    }

    /// After the commit: the messages go to the dispatcher.
    pub(crate) fn deliver(mut self) {
        let Some(taker) = self.taker.take() else { return };
        let items = std::mem::take(&mut self.items);
        let n = items.len();
        if n > 0 && taker.tx.send(items).is_err() {
            // The dispatcher is gone; the leases bring the messages back to the queue.
            taker.inflight.fetch_sub(n, Ordering::AcqRel);
            taker.room.notify_one();
        }
    }
}

impl Drop for Reserved {
    /// Not committed: the places go back (the rows were never written).
    fn drop(&mut self) {
        if let Some(taker) = &self.taker
            && !self.items.is_empty()
        {
            taker.inflight.fetch_sub(self.items.len(), Ordering::AcqRel);
            taker.room.notify_one();
        }
    }
}
