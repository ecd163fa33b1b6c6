//! The `Store` methods for what SMPP customers are owed (receipts and inbound messages).

use crate::model::{Inbound, Message};
use crate::{Store, StoreError};

impl Store {
    /// Remembers that the account binds SMPP receivers, so its inbound messages are kept.
    pub async fn note_smpp_receiver(&self, account_id: &str, at: i64) -> Result<(), StoreError> {
        delegate!(self, s => s.note_smpp_receiver(account_id, at).await)
    }
    /// The account's final messages whose receipts it awaits over SMPP, finished before
    /// `before` (epoch ms), oldest first.
    pub async fn owed_receipts(&self, account_id: &str, before: i64, limit: u32) -> Result<Vec<Message>, StoreError> {
        delegate!(self, s => s.owed_receipts(account_id, before, limit).await)
    }
    /// The account's inbound messages not yet taken over SMPP, received before `before`.
    pub async fn owed_inbound(&self, account_id: &str, before: i64, limit: u32) -> Result<Vec<Inbound>, StoreError> {
        delegate!(self, s => s.owed_inbound(account_id, before, limit).await)
    }
    /// Records that the customer took these receipts (by message id) and inbound messages.
    pub async fn smpp_taken(&self, receipts: &[String], inbound: &[String]) -> Result<(), StoreError> {
        delegate!(self, s => s.smpp_taken(receipts, inbound).await)
    }
    /// Gives up on what was owed since before `before`; how many receipts and inbound messages.
    pub async fn smpp_give_up(&self, before: i64) -> Result<(u64, u64), StoreError> {
        delegate!(self, s => s.smpp_give_up(before).await)
    }
    /// Receipts and inbound messages owed over SMPP.
    pub async fn smpp_owed_counts(&self) -> Result<(u64, u64), StoreError> {
        delegate!(self, s => s.smpp_owed_counts().await)
    }
}
