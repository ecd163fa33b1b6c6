//! An account's audience: contacts, the groups they belong to (whose custom fields their
//! members carry), senders and sender lists; and what the send path reads of them
//! (`recipients_from_contacts`, `sender_list_senders`, `check_sender_enabled`).

mod contacts;
mod fields;
mod groups;
mod senders;

use std::collections::HashSet;

use textbird_store::{Contact, Page};

use crate::{App, AppError, FieldError, Principal, Recipient};

pub use contacts::{ContactChange, ContactDetails, ContactInput, ContactQuery};
pub use groups::GroupChange;
pub use senders::SenderChange;

/// Ids one request may name (group ids of a contact, contacts added to a group at once,
/// senders of a list).
pub const MAX_IDS_PER_REQUEST: usize = 1000;
const MAX_NAME_CHARS: usize = 100;
/// Rows read per query when walking a whole group.
const WALK_PAGE: u32 = 1000;

/// The distinct ids of `ids`, in their first order; too many is a problem with `field`.
fn distinct_ids(ids: &[String], field: &str) -> Result<Vec<String>, AppError> {
    if ids.len() > MAX_IDS_PER_REQUEST {
        return Err(AppError::field(field, format!("at most {MAX_IDS_PER_REQUEST} ids")));
    }
    let mut seen = HashSet::new();
    Ok(ids.iter().filter(|id| seen.insert(id.as_str())).cloned().collect())
}

/// `found` in the order of `ids`, or `NotFound(what)` when any of `ids` is missing from it.
fn in_order<T>(
    ids: &[String],
    mut found: Vec<T>,
    id: impl Fn(&T) -> &String,
    what: &'static str,
) -> Result<Vec<T>, AppError> {
    if found.len() < ids.len() {
        return Err(AppError::NotFound(what));
    }
    found.sort_by_key(|item| ids.iter().position(|i| i == id(item)));
    Ok(found)
}

/// A required display name: trimmed, 1 to `MAX_NAME_CHARS` characters.
fn check_name(field: &str, name: &str) -> Result<String, FieldError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(FieldError::new(field, format!("must be 1 to {MAX_NAME_CHARS} characters")));
    }
    Ok(name.to_owned())
}

pub(crate) fn recipient(c: Contact) -> Recipient {
    Recipient {
        phone: c.phone,
        first_name: c.first_name,
        last_name: c.last_name,
        email: c.email,
        url: None,
        custom: None,
        fields: c.fields,
    }
}

impl App {
    /// The recipients of a send to contacts and groups: each of `contact_ids`, then every
    /// member of `group_ids`, each phone once. An id that is not the caller's contact or
    /// group is `NotFound`.
    pub async fn recipients_from_contacts(
        &self,
        p: &Principal,
        contact_ids: &[String],
        group_ids: &[String],
    ) -> Result<Vec<crate::Recipient>, AppError> {
        let mut contacts = self.contacts_by_ids(p, contact_ids, "contact_ids").await?;
        let group_ids = distinct_ids(group_ids, "group_ids")?;
        self.groups_by_ids(p, &group_ids).await?;
        let mut page = Page { after: None, limit: WALK_PAGE };
        loop {
            let batch = self.store().list_group_contacts(&p.account_id, &group_ids, &page).await?;
            let full = batch.len() == WALK_PAGE as usize;
            page.after = batch.last().map(|c| c.id.clone());
            contacts.extend(batch);
            if !full {
                break;
            }
        }
        let mut phones = HashSet::new();
        contacts.retain(|c| phones.insert(c.phone.clone()));
        Ok(contacts.into_iter().map(recipient).collect())
    }

    /// The values of the enabled senders of one of the caller's sender lists; a list with
    /// none enabled is a problem with `sender_list_id`.
    pub async fn sender_list_senders(&self, p: &Principal, sender_list_id: &str) -> Result<Vec<String>, AppError> {
        self.sender_list(p, sender_list_id).await?;
        let senders = self.store().sender_list_senders(&p.account_id, sender_list_id).await?;
        let values: Vec<String> = senders.into_iter().filter(|s| s.enabled).map(|s| s.value).collect();
        if values.is_empty() {
            return Err(AppError::field("sender_list_id", "this sender list has no enabled sender"));
        }
        Ok(values)
    }

    /// Refuses `from` when the caller registered it as a sender and disabled it; a sender the
    /// account never registered passes.
    pub async fn check_sender_enabled(&self, p: &Principal, from: &str) -> Result<(), AppError> {
        if self.store().sender_disabled(&p.account_id, from.trim()).await? {
            return Err(AppError::field("from", "this sender is disabled"));
        }
        Ok(())
    }
}
