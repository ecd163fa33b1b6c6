//! Recipient lists and unsubscribe lists: the records and the `Store` calls for them.

use crate::{Page, Store, StoreError};

/// Which kind of list: numbers to send to, or numbers never to send to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Recipients,
    Unsubscribe,
}

impl ListKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ListKind::Recipients => "recipients",
            ListKind::Unsubscribe => "unsubscribe",
        }
    }
}

#[derive(Debug, Clone)]
pub struct List {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub enabled: bool,
    /// Members now.
    pub count: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A number in a list with the data templates can read. Every text is already checked
/// against its length limit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Member {
    /// E.164 with the `+`.
    pub phone: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub url: Option<String>,
    pub custom: Option<String>,
    /// `custom1`..`custom4`.
    pub customs: [Option<String>; 4],
    pub created_at: i64,
}

/// Which lists `list_lists` returns.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Lists whose name contains this (case-insensitive).
    pub name: Option<String>,
    pub enabled: Option<bool>,
}

impl Store {
    pub async fn create_list(&self, kind: ListKind, list: &List) -> Result<(), StoreError> {
        delegate!(self, s => s.create_list(kind, list).await)
    }
    pub async fn find_list(&self, account_id: &str, kind: ListKind, id: &str) -> Result<Option<List>, StoreError> {
        delegate!(self, s => s.find_list(account_id, kind, id).await)
    }
    /// Whether the account's list is enabled; `None` when it has no such list. Unlike
    /// `find_list`, does not count the members (a broadcast asks for every chunk).
    pub async fn list_enabled(&self, account_id: &str, kind: ListKind, id: &str) -> Result<Option<bool>, StoreError> {
        delegate!(self, s => s.list_enabled(account_id, kind, id).await)
    }
    pub async fn list_lists(
        &self,
        account_id: &str,
        kind: ListKind,
        filter: &ListFilter,
        page: &Page,
    ) -> Result<Vec<List>, StoreError> {
        delegate!(self, s => s.list_lists(account_id, kind, filter, page).await)
    }
    /// Renames or enables/disables a list; false when the account has no such list.
    pub async fn update_list(
        &self,
        account_id: &str,
        kind: ListKind,
        id: &str,
        name: Option<&str>,
        enabled: Option<bool>,
    ) -> Result<bool, StoreError> {
        delegate!(self, s => s.update_list(account_id, kind, id, name, enabled).await)
    }
    /// Deletes a list and its members; false when the account has no such list.
    pub async fn delete_list(&self, account_id: &str, kind: ListKind, id: &str) -> Result<bool, StoreError> {
        delegate!(self, s => s.delete_list(account_id, kind, id).await)
    }
    /// Adds members (a number already in the list is left as it is) in one transaction,
    /// tagged with `import_id`; returns how many were new.
    pub async fn insert_members(
        &self,
        list_id: &str,
        import_id: Option<&str>,
        members: &[Member],
    ) -> Result<u64, StoreError> {
        delegate!(self, s => s.insert_members(list_id, import_id, members).await)
    }
    /// Takes back what one import added to a list.
    pub async fn remove_import(&self, list_id: &str, import_id: &str) -> Result<u64, StoreError> {
        delegate!(self, s => s.remove_import(list_id, import_id).await)
    }
    /// Makes the members staged under `staging_id` the list's members, in one transaction.
    pub async fn replace_members(&self, list_id: &str, staging_id: &str) -> Result<(), StoreError> {
        delegate!(self, s => s.replace_members(list_id, staging_id).await)
    }
    /// Members by number, after the cursor.
    pub async fn list_members(&self, list_id: &str, page: &Page) -> Result<Vec<Member>, StoreError> {
        delegate!(self, s => s.list_members(list_id, page).await)
    }
    pub async fn remove_member(&self, list_id: &str, phone: &str) -> Result<bool, StoreError> {
        delegate!(self, s => s.remove_member(list_id, phone).await)
    }
    /// Which of `phones` are on the account's enabled unsubscribe lists (only `list_ids`
    /// when given): `(phone, list name)`.
    pub async fn unsubscribed(
        &self,
        account_id: &str,
        list_ids: Option<&[String]>,
        phones: &[&str],
    ) -> Result<Vec<(String, String)>, StoreError> {
        delegate!(self, s => s.unsubscribed(account_id, list_ids, phones).await)
    }
}
