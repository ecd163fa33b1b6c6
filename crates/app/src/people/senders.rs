//! Senders an account registers (each can be disabled) and sender lists gathering them.

use textbird_store::{SenderList, SenderRecord};
use textbird_types::{Sender, new_id, now_millis};

use super::{check_name, distinct_ids, in_order};
use crate::messages::{next_cursor, page};
use crate::{App, AppError, Principal};

/// Changes to a sender.
#[derive(Debug, Clone, Default)]
pub struct SenderChange {
    pub value: Option<String>,
    /// A disabled sender is refused by sends that name it.
    pub enabled: Option<bool>,
}

fn parse_sender(value: &str) -> Result<String, AppError> {
    Sender::parse(value).map(|s| s.as_str().to_owned()).map_err(|e| AppError::field("value", e.to_string()))
}

impl App {
    pub async fn create_sender(&self, p: &Principal, value: &str, enabled: bool) -> Result<SenderRecord, AppError> {
        let value = parse_sender(value)?;
        let now = now_millis();
        let sender = SenderRecord {
            id: new_id(),
            account_id: p.account_id.clone(),
            value,
            enabled,
            created_at: now,
            updated_at: now,
        };
        self.store().create_sender(&sender).await?;
        Ok(sender)
    }

    pub async fn sender(&self, p: &Principal, id: &str) -> Result<SenderRecord, AppError> {
        Ok(self.senders_by_ids(p, &[id.to_owned()]).await?.remove(0))
    }

    /// Senders by id whose value contains `name` (case-insensitively).
    pub async fn senders(
        &self,
        p: &Principal,
        name: Option<String>,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<(Vec<SenderRecord>, Option<String>), AppError> {
        let page = page(cursor, limit)?;
        let name = name.filter(|n| !n.is_empty());
        let items = self.store().list_senders(&p.account_id, name.as_deref(), &page).await?;
        let next = next_cursor(&items, &page, |s| &s.id);
        Ok((items, next))
    }

    pub async fn update_sender(&self, p: &Principal, id: &str, change: SenderChange) -> Result<SenderRecord, AppError> {
        let mut sender = self.sender(p, id).await?;
        if let Some(value) = change.value {
            sender.value = parse_sender(&value)?;
        }
        if let Some(enabled) = change.enabled {
            sender.enabled = enabled;
        }
        sender.updated_at = now_millis();
        if !self.store().update_sender(&sender).await? {
            return Err(AppError::NotFound("sender"));
        }
        Ok(sender)
    }

    /// Deletes a sender and takes it out of every list.
    pub async fn delete_sender(&self, p: &Principal, id: &str) -> Result<(), AppError> {
        if self.store().delete_sender(&p.account_id, id).await? { Ok(()) } else { Err(AppError::NotFound("sender")) }
    }

    pub async fn create_sender_list(
        &self,
        p: &Principal,
        name: &str,
        sender_ids: &[String],
    ) -> Result<SenderList, AppError> {
        let name = check_name("name", name).map_err(|e| AppError::Validation(vec![e]))?;
        let sender_ids = distinct_ids(sender_ids, "sender_ids")?;
        self.senders_by_ids(p, &sender_ids).await?;
        let now = now_millis();
        let list = SenderList {
            id: new_id(),
            account_id: p.account_id.clone(),
            name,
            sender_ids,
            created_at: now,
            updated_at: now,
        };
        self.store().create_sender_list(&list).await?;
        self.sender_list(p, &list.id).await
    }

    pub async fn sender_list(&self, p: &Principal, id: &str) -> Result<SenderList, AppError> {
        let ids = [id.to_owned()];
        let found = self.store().find_sender_lists(&p.account_id, &ids).await?;
        Ok(in_order(&ids, found, |l| &l.id, "sender list")?.remove(0))
    }

    /// Sender lists by id whose name contains `name` (case-insensitively).
    pub async fn sender_lists(
        &self,
        p: &Principal,
        name: Option<String>,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<(Vec<SenderList>, Option<String>), AppError> {
        let page = page(cursor, limit)?;
        let name = name.filter(|n| !n.is_empty());
        let items = self.store().list_sender_lists(&p.account_id, name.as_deref(), &page).await?;
        let next = next_cursor(&items, &page, |l| &l.id);
        Ok((items, next))
    }

    /// Renames a sender list.
    pub async fn rename_sender_list(&self, p: &Principal, id: &str, name: &str) -> Result<SenderList, AppError> {
        let mut list = self.sender_list(p, id).await?;
        list.name = check_name("name", name).map_err(|e| AppError::Validation(vec![e]))?;
        list.updated_at = now_millis();
        if !self.store().update_sender_list(&list).await? {
            return Err(AppError::NotFound("sender list"));
        }
        Ok(list)
    }

    pub async fn delete_sender_list(&self, p: &Principal, id: &str) -> Result<(), AppError> {
        if self.store().delete_sender_list(&p.account_id, id).await? {
            Ok(())
        } else {
            Err(AppError::NotFound("sender list"))
        }
    }

    /// Adds the caller's senders to one of its lists; returns the list.
    pub async fn add_to_sender_list(
        &self,
        p: &Principal,
        id: &str,
        sender_ids: &[String],
    ) -> Result<SenderList, AppError> {
        let list = self.sender_list(p, id).await?;
        if sender_ids.is_empty() {
            return Err(AppError::field("sender_ids", "needs at least one sender id"));
        }
        let sender_ids = distinct_ids(sender_ids, "sender_ids")?;
        self.senders_by_ids(p, &sender_ids).await?;
        self.store().add_to_sender_list(&p.account_id, &list.id, &sender_ids, now_millis()).await?;
        self.sender_list(p, id).await
    }

    pub async fn remove_from_sender_list(&self, p: &Principal, id: &str, sender_id: &str) -> Result<(), AppError> {
        self.sender_list(p, id).await?;
        if self.store().remove_from_sender_list(&p.account_id, id, sender_id).await? {
            Ok(())
        } else {
            Err(AppError::NotFound("sender"))
        }
    }

    /// The caller's senders `ids` (distinct), in their order; any other id is `NotFound`.
    async fn senders_by_ids(&self, p: &Principal, ids: &[String]) -> Result<Vec<SenderRecord>, AppError> {
        let ids = distinct_ids(ids, "sender_ids")?;
        let found = self.store().find_senders(&p.account_id, &ids).await?;
        in_order(&ids, found, |s| &s.id, "sender")
    }
}
