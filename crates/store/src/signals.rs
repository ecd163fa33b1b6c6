//! Wake-ups from the writer to the workers that drain what it wrote, so queues are woken on
//! new work instead of being polled.

use std::sync::Arc;

use tokio::sync::Notify;

#[derive(Clone, Default)]
pub struct Signals {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    messages: Notify,
    deliveries: Notify,
}

impl Signals {
    /// Resolves after messages became due (or right away if that happened since the last call).
    pub async fn messages_ready(&self) {
        self.inner.messages.notified().await;
    }
    /// Resolves after webhook deliveries were queued.
    pub async fn deliveries_ready(&self) {
        self.inner.deliveries.notified().await;
    }
    pub fn notify_messages(&self) {
        self.inner.messages.notify_one();
    }
    pub fn notify_deliveries(&self) {
        self.inner.deliveries.notify_one();
    }
}
