//! The `Store` methods for an account's audience: contacts and their groups, senders and
//! sender lists. Every method is scoped to `account_id`; ids of another account are treated
//! as absent.

use crate::model::Page;
use crate::people_model::{Contact, ContactFilter, ContactGroup, SenderList, SenderRecord};
use crate::{Store, StoreError};

impl Store {
    // ----- contacts -----

    /// Stores a contact in those of `group_ids` that are its account's groups; `Conflict`
    /// when the account has a contact with this phone.
    pub async fn create_contact(&self, contact: &Contact, group_ids: &[String]) -> Result<(), StoreError> {
        delegate!(self, s => s.create_contact(contact, group_ids).await)
    }
    pub async fn find_contact(&self, account_id: &str, id: &str) -> Result<Option<Contact>, StoreError> {
        delegate!(self, s => s.find_contact(account_id, id).await)
    }
    /// Those of `ids` that are the account's contacts, by id.
    pub async fn find_contacts(&self, account_id: &str, ids: &[String]) -> Result<Vec<Contact>, StoreError> {
        delegate!(self, s => s.find_contacts(account_id, ids).await)
    }
    pub async fn list_contacts(
        &self,
        account_id: &str,
        filter: &ContactFilter,
        page: &Page,
    ) -> Result<Vec<Contact>, StoreError> {
        delegate!(self, s => s.list_contacts(account_id, filter, page).await)
    }
    /// `Conflict` when another contact of the account has the new phone.
    pub async fn update_contact(&self, contact: &Contact) -> Result<bool, StoreError> {
        delegate!(self, s => s.update_contact(contact).await)
    }
    /// Deletes a contact and its group memberships.
    pub async fn delete_contact(&self, account_id: &str, id: &str) -> Result<bool, StoreError> {
        delegate!(self, s => s.delete_contact(account_id, id).await)
    }
    /// `(contact_id, group_id)` for each group each of `contact_ids` is in.
    pub async fn contact_group_ids(
        &self,
        account_id: &str,
        contact_ids: &[String],
    ) -> Result<Vec<(String, String)>, StoreError> {
        delegate!(self, s => s.contact_group_ids(account_id, contact_ids).await)
    }

    // ----- contact groups -----

    pub async fn create_group(&self, group: &ContactGroup) -> Result<(), StoreError> {
        delegate!(self, s => s.create_group(group).await)
    }
    /// Those of `ids` that are the account's groups, by id.
    pub async fn find_groups(&self, account_id: &str, ids: &[String]) -> Result<Vec<ContactGroup>, StoreError> {
        delegate!(self, s => s.find_groups(account_id, ids).await)
    }
    /// Groups whose name contains `name`, case-insensitively.
    pub async fn list_groups(
        &self,
        account_id: &str,
        name: Option<&str>,
        page: &Page,
    ) -> Result<Vec<ContactGroup>, StoreError> {
        delegate!(self, s => s.list_groups(account_id, name, page).await)
    }
    pub async fn update_group(&self, group: &ContactGroup) -> Result<bool, StoreError> {
        delegate!(self, s => s.update_group(group).await)
    }
    /// Deletes a group and its memberships; its contacts stay.
    pub async fn delete_group(&self, account_id: &str, id: &str) -> Result<bool, StoreError> {
        delegate!(self, s => s.delete_group(account_id, id).await)
    }
    /// Adds those of `contact_ids` that are the account's contacts to one of its groups;
    /// returns how many were not members yet.
    pub async fn add_to_group(
        &self,
        account_id: &str,
        group_id: &str,
        contact_ids: &[String],
        now: i64,
    ) -> Result<u64, StoreError> {
        delegate!(self, s => s.add_to_group(account_id, group_id, contact_ids, now).await)
    }
    pub async fn remove_from_group(
        &self,
        account_id: &str,
        group_id: &str,
        contact_id: &str,
    ) -> Result<bool, StoreError> {
        delegate!(self, s => s.remove_from_group(account_id, group_id, contact_id).await)
    }
    /// A page of the contacts in any of `group_ids` (each once), by id.
    pub async fn list_group_contacts(
        &self,
        account_id: &str,
        group_ids: &[String],
        page: &Page,
    ) -> Result<Vec<Contact>, StoreError> {
        delegate!(self, s => s.list_group_contacts(account_id, group_ids, page).await)
    }

    // ----- senders and sender lists -----

    /// `Conflict` when the account registered this value already.
    pub async fn create_sender(&self, sender: &SenderRecord) -> Result<(), StoreError> {
        delegate!(self, s => s.create_sender(sender).await)
    }
    /// Those of `ids` that are the account's senders, by id.
    pub async fn find_senders(&self, account_id: &str, ids: &[String]) -> Result<Vec<SenderRecord>, StoreError> {
        delegate!(self, s => s.find_senders(account_id, ids).await)
    }
    pub async fn find_sender_by_value(
        &self,
        account_id: &str,
        value: &str,
    ) -> Result<Option<SenderRecord>, StoreError> {
        delegate!(self, s => s.find_sender_by_value(account_id, value).await)
    }
    /// Whether the account registered this sender value and disabled it; cached for a
    /// moment, and forgotten by every write to the account's senders.
    pub async fn sender_disabled(&self, account_id: &str, value: &str) -> Result<bool, StoreError> {
        delegate!(self, s => s.sender_disabled(account_id, value).await)
    }
    /// Senders whose value contains `name`, case-insensitively.
    pub async fn list_senders(
        &self,
        account_id: &str,
        name: Option<&str>,
        page: &Page,
    ) -> Result<Vec<SenderRecord>, StoreError> {
        delegate!(self, s => s.list_senders(account_id, name, page).await)
    }
    pub async fn update_sender(&self, sender: &SenderRecord) -> Result<bool, StoreError> {
        delegate!(self, s => s.update_sender(sender).await)
    }
    /// Deletes a sender and takes it out of every list.
    pub async fn delete_sender(&self, account_id: &str, id: &str) -> Result<bool, StoreError> {
        delegate!(self, s => s.delete_sender(account_id, id).await)
    }
    /// Stores a list with those of its `sender_ids` that are the account's senders.
    pub async fn create_sender_list(&self, list: &SenderList) -> Result<(), StoreError> {
        delegate!(self, s => s.create_sender_list(list).await)
    }
    /// Those of `ids` that are the account's sender lists, by id.
    pub async fn find_sender_lists(&self, account_id: &str, ids: &[String]) -> Result<Vec<SenderList>, StoreError> {
        delegate!(self, s => s.find_sender_lists(account_id, ids).await)
    }
    /// Sender lists whose name contains `name`, case-insensitively.
    pub async fn list_sender_lists(
        &self,
        account_id: &str,
        name: Option<&str>,
        page: &Page,
    ) -> Result<Vec<SenderList>, StoreError> {
        delegate!(self, s => s.list_sender_lists(account_id, name, page).await)
    }
    /// Renames a list.
    pub async fn update_sender_list(&self, list: &SenderList) -> Result<bool, StoreError> {
        delegate!(self, s => s.update_sender_list(list).await)
    }
    pub async fn delete_sender_list(&self, account_id: &str, id: &str) -> Result<bool, StoreError> {
        delegate!(self, s => s.delete_sender_list(account_id, id).await)
    }
    /// Adds those of `sender_ids` that are the account's senders; returns how many were new.
    pub async fn add_to_sender_list(
        &self,
        account_id: &str,
        list_id: &str,
        sender_ids: &[String],
        now: i64,
    ) -> Result<u64, StoreError> {
        delegate!(self, s => s.add_to_sender_list(account_id, list_id, sender_ids, now).await)
    }
    pub async fn remove_from_sender_list(
        &self,
        account_id: &str,
        list_id: &str,
        sender_id: &str,
    ) -> Result<bool, StoreError> {
        delegate!(self, s => s.remove_from_sender_list(account_id, list_id, sender_id).await)
    }
    /// The senders of one of the account's lists.
    pub async fn sender_list_senders(&self, account_id: &str, list_id: &str) -> Result<Vec<SenderRecord>, StoreError> {
        delegate!(self, s => s.sender_list_senders(account_id, list_id).await)
    }
}
