//! Gathers status changes from every connector and writes them in batches, so a burst of
//! submissions or reports costs a few transactions, not one each.

use std::time::Duration;

use textbird_store::{StatusChange, Store};
use tokio::sync::{OwnedSemaphorePermit, mpsc, oneshot};

const MAX_CHANGES_PER_WRITE: usize = 1024;

enum Item {
    /// A change, and what to let go of once it is stored (a connector's window slot).
    Change(StatusChange, Option<OwnedSemaphorePermit>),
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
        let _ = self.tx.send(Item::Change(change, None));
    }

    /// Like `push`, holding `slot` until the change is stored: a submission's window slot is
    /// free only once its outcome is durable, so what a crash can send twice is at most the
    /// window.
    pub(crate) fn push_holding(&self, change: StatusChange, slot: OwnedSemaphorePermit) {
        let _ = self.tx.send(Item::Change(change, Some(slot)));
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
    let mut waiters = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(item) = next.take() {
            match item {
                Item::Change(c, slot) => {
                    batch.push(c);
                    held.extend(slot);
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
