//! What the SMPP server's customers are owed: receipts of messages they submitted with
//! `registered_delivery`, and inbound messages of accounts that bind receivers, kept in the
//! database until a receiver takes them (so a restart, or another node, loses none). These
//! reads are the server's own, not a caller's: each names the account it reads for.

use textbird_store::{Inbound, Message};

use crate::{App, AppError};

impl App {
    /// Whether several nodes may share this database (and so each other's work).
    pub fn is_shared(&self) -> bool {
        self.store().is_shared()
    }

    /// Remembers that the account binds SMPP receivers: from now on its inbound messages are
    /// kept for it until one takes them.
    pub async fn note_smpp_receiver(&self, account_id: &str) -> Result<(), AppError> {
        Ok(self.store().note_smpp_receiver(account_id, textbird_types::now_millis()).await?)
    }

    /// The account's final messages whose receipts it awaits over SMPP, finished before
    /// `before` (epoch ms), oldest first.
    pub async fn owed_receipts(&self, account_id: &str, before: i64, limit: u32) -> Result<Vec<Message>, AppError> {
        Ok(self.store().owed_receipts(account_id, before, limit).await?)
    }

    /// The caller's messages of one `submit_multi`, by the id it was answered with; empty
    /// when there is none (or it is another account's).
    pub async fn smpp_messages(&self, p: &crate::Principal, smpp_ref: &str) -> Result<Vec<Message>, AppError> {
        Ok(self.store().messages_by_smpp_ref(&p.account_id, smpp_ref).await?)
    }

    /// The account's inbound messages no receiver has taken yet, received before `before`.
    pub async fn owed_inbound(&self, account_id: &str, before: i64, limit: u32) -> Result<Vec<Inbound>, AppError> {
        Ok(self.store().owed_inbound(account_id, before, limit).await?)
    }

    /// Records that receivers took these receipts (by message id) and inbound messages.
    pub async fn smpp_taken(&self, receipts: &[String], inbound: &[String]) -> Result<(), AppError> {
        Ok(self.store().smpp_taken(receipts, inbound).await?)
    }

    /// Gives up on what was owed for longer than `max_age_secs`; how many receipts and
    /// inbound messages.
    pub async fn smpp_give_up(&self, max_age_secs: u64) -> Result<(u64, u64), AppError> {
        let age = i64::try_from(max_age_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        Ok(self.store().smpp_give_up(textbird_types::now_millis().saturating_sub(age)).await?)
    }

    /// Receipts and inbound messages owed to SMPP customers.
    pub async fn smpp_owed_counts(&self) -> Result<(u64, u64), AppError> {
        Ok(self.store().smpp_owed_counts().await?)
    }
}
