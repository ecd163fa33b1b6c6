//! Wake-ups from the writer to the workers that drain what it wrote, so queues are woken on
//! new work instead of being polled.

use std::sync::Arc;

use tokio::sync::{Notify, broadcast};

use crate::handoff::Handoff;

/// Notices kept for slow listeners before the oldest are dropped.
const NOTICE_BUFFER: usize = 65_536;

#[derive(Clone)]
pub struct Signals {
    inner: Arc<Inner>,
}

struct Inner {
    messages: Notify,
    deliveries: Notify,
    notices: broadcast::Sender<Arc<Notice>>,
    handoff: Handoff,
}

impl Default for Signals {
    fn default() -> Self {
        let (notices, _) = broadcast::channel(NOTICE_BUFFER);
        Self {
            inner: Arc::new(Inner {
                messages: Notify::new(),
                deliveries: Notify::new(),
                notices,
                handoff: Handoff::default(),
            }),
        }
    }
}

/// What this node committed that live sessions may want to pass on (the SMPP server's
/// receipts and inbound messages), published after the commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A message reached a terminal state.
    Final {
        message_id: String,
        account_id: String,
        to: String,
        from: String,
        status: String,
        error_code: Option<String>,
        created_at: i64,
        at: i64,
    },
    /// An inbound message was stored.
    Inbound { id: String, account_id: String, from: String, to: String, body: String, at: i64 },
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
    /// Notices from now on. A receiver that falls more than 65,536 behind loses the oldest.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Notice>> {
        self.inner.notices.subscribe()
    }
    /// Whether anyone listens (notices are not even collected otherwise).
    pub fn has_listeners(&self) -> bool {
        self.inner.notices.receiver_count() > 0
    }
    pub fn publish(&self, notice: Notice) {
        let _ = self.inner.notices.send(Arc::new(notice));
    }
    /// Where messages due at once are handed to this node's dispatcher.
    pub fn handoff(&self) -> &Handoff {
        &self.inner.handoff
    }
    pub fn notify_messages(&self) {
        self.inner.messages.notify_one();
    }
    pub fn notify_deliveries(&self) {
        self.inner.deliveries.notify_one();
    }
}
