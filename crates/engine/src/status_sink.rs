//! Gathers status changes from every connector and writes them in batches, so a burst of
//! submissions or reports costs a few transactions, not one each.

use std::time::Duration;

use textbird_store::{StatusChange, Store};
use tokio::sync::{OwnedSemaphorePermit, mpsc, oneshot};

use crate::carrier_events::Durable;

const MAX_CHANGES_PER_WRITE: usize = 1024;

/// What to let go of, or tell, once a change is stored.
enum Hold {
    None,
    /// A connector's window slot.
    Slot(OwnedSemaphorePermit),
    /// A carrier waiting for its `deliver_sm_resp`.
    Durable(Durable),
}

enum Item {
    Change(StatusChange, Hold),
    Flush(oneshot::Sender<()>),
}

#[derive(Clone)]
pub(crate) struct StatusSink {
    tx: mpsc::UnboundedSender<Item>,
}

impl StatusSink {
    pub(crate) fn spawn(store: Store) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(store, rx));
        Self { tx }
    }

    pub(crate) fn push(&self, change: StatusChange) {
        let _ = self.tx.send(Item::Change(change, Hold::None));
    }

    /// Like `push`, telling `durable` once the change is committed: a carrier's receipt is
    /// acknowledged only then. The changes of many receipts share one commit.
    pub(crate) fn push_durable(&self, change: StatusChange, durable: Durable) {
        if let Err(mpsc::error::SendError(Item::Change(_, Hold::Durable(d)))) =
            self.tx.send(Item::Change(change, Hold::Durable(durable)))
        {
            d.done(false);
        }
    }

    /// Like `push`, holding `slot` until the change is stored: a submission's window slot is
    /// free only once its outcome is durable, so what a crash can send twice is at most the
    /// window.
    pub(crate) fn push_holding(&self, change: StatusChange, slot: OwnedSemaphorePermit) {
        let _ = self.tx.send(Item::Change(change, Hold::Slot(slot)));
    }

    /// Resolves once everything pushed before it is written.
    pub(crate) async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Item::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

async fn run(store: Store, mut rx: mpsc::UnboundedReceiver<Item>) {
    let mut batch = Vec::new();
    let mut held = Vec::new();
    let mut durables: Vec<Durable> = Vec::new();
    let mut waiters = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(item) = next.take() {
            match item {
                Item::Change(c, keep) => {
                    batch.push(c);
                    match keep {
                        Hold::None => {}
                        Hold::Slot(slot) => held.push(slot),
                        Hold::Durable(d) => durables.push(d),
                    }
                }
                Item::Flush(w) => waiters.push(w),
            }
            if batch.len() < MAX_CHANGES_PER_WRITE {
                next = rx.try_recv().ok();
            }
        }
        while !batch.is_empty() {
            match store.apply_status(batch.clone()).await {
                Ok(_) => {
                    batch.clear();
                    held.clear();
                    for d in durables.drain(..) {
                        d.done(true);
                    }
                }
                Err(e) => {
                    // Outcomes must not be dropped while the database is briefly away: the
                    // messages are leased and would be sent again.
                    tracing::error!(error = %e, changes = batch.len(), "cannot record status changes; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
        for w in waiters.drain(..) {
            let _ = w.send(());
        }
    }
}
