//! What live sessions on one node need to hear of work other nodes committed on a shared
//! database (the SMPP server's receipts and inbound messages for its bound receivers). These
//! reads are the node's own, not a caller's: each result names the account it belongs to.

use textbird_store::{Inbound, Message};

use crate::{App, AppError};

impl App {
    /// Whether several nodes may share this database (and so each other's work).
    pub fn is_shared(&self) -> bool {
        self.store().is_shared()
    }

    /// Those of `ids` that have reached a final state, whichever account they belong to.
    pub async fn finished_messages(&self, ids: &[String]) -> Result<Vec<Message>, AppError> {
        Ok(self.store().finished(ids).await?)
    }

    /// An account's inbound messages received at or after `since` (epoch ms), oldest first.
    pub async fn inbound_since(&self, account_id: &str, since: i64, limit: u32) -> Result<Vec<Inbound>, AppError> {
        Ok(self.store().inbound_since(account_id, since, limit).await?)
    }
}
