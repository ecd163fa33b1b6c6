//! Contact groups: a name, the custom fields their members carry, and the members.

use textbird_store::{ContactGroup, FieldDef, Page};
use textbird_types::{new_id, now_millis};

use super::fields::{check_definitions, check_values};
use super::{ContactDetails, WALK_PAGE, check_name, distinct_ids, in_order};
use crate::messages::{next_cursor, page};
use crate::{App, AppError, FieldError, Principal};

/// Problems reported at most when a change to a group's fields would leave members invalid.
const MAX_MEMBER_PROBLEMS: usize = 10;

/// Changes to a group; `fields` replaces the definitions, and every member must still be valid
/// under them.
#[derive(Debug, Clone, Default)]
pub struct GroupChange {
    pub name: Option<String>,
    pub fields: Option<Vec<FieldDef>>,
}

impl App {
    pub async fn create_group(
        &self,
        p: &Principal,
        name: &str,
        fields: Vec<FieldDef>,
    ) -> Result<ContactGroup, AppError> {
        let mut problems = check_definitions(&fields);
        let name = check_name("name", name).map_err(|e| problems.push(e)).unwrap_or_default();
        if !problems.is_empty() {
            return Err(AppError::Validation(problems));
        }
        let now = now_millis();
        let group = ContactGroup {
            id: new_id(),
            account_id: p.account_id.clone(),
            name,
            fields,
            created_at: now,
            updated_at: now,
        };
        self.store().create_group(&group).await?;
        Ok(group)
    }

    pub async fn group(&self, p: &Principal, id: &str) -> Result<ContactGroup, AppError> {
        Ok(self.groups_by_ids(p, &[id.to_owned()]).await?.remove(0))
    }

    /// Groups by id whose name contains `name` (case-insensitively).
    pub async fn groups(
        &self,
        p: &Principal,
        name: Option<String>,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<(Vec<ContactGroup>, Option<String>), AppError> {
        let page = page(cursor, limit)?;
        let name = name.filter(|n| !n.is_empty());
        let items = self.store().list_groups(&p.account_id, name.as_deref(), &page).await?;
        let next = next_cursor(&items, &page, |g| &g.id);
        Ok((items, next))
    }

    pub async fn update_group(&self, p: &Principal, id: &str, change: GroupChange) -> Result<ContactGroup, AppError> {
        let mut group = self.group(p, id).await?;
        let mut problems = Vec::new();
        if let Some(name) = change.name {
            match check_name("name", &name) {
                Ok(n) => group.name = n,
                Err(e) => problems.push(e),
            }
        }
        if let Some(fields) = change.fields {
            problems.extend(check_definitions(&fields));
            group.fields = fields;
            if problems.is_empty() {
                problems.extend(self.members_left_invalid(p, &group).await?);
            }
        }
        if !problems.is_empty() {
            return Err(AppError::Validation(problems));
        }
        group.updated_at = now_millis();
        if !self.store().update_group(&group).await? {
            return Err(AppError::NotFound("group"));
        }
        Ok(group)
    }

    /// Members whose fields `group`'s new definitions would refuse (the first few).
    async fn members_left_invalid(&self, p: &Principal, group: &ContactGroup) -> Result<Vec<FieldError>, AppError> {
        let mut problems = Vec::new();
        let group_ids = [group.id.clone()];
        let mut page = Page { after: None, limit: WALK_PAGE };
        loop {
            let batch = self.store().list_group_contacts(&p.account_id, &group_ids, &page).await?;
            let full = batch.len() == WALK_PAGE as usize;
            page.after = batch.last().map(|c| c.id.clone());
            let members = self.with_groups(p, batch).await?;
            for (member, groups) in members.iter().zip(self.groups_of(p, &members, group).await?) {
                for e in check_values(&member.contact.fields, &groups, "fields") {
                    let message = format!("contact {} would be invalid: {} {}", member.contact.id, e.field, e.message);
                    problems.push(FieldError::new("fields", message));
                }
            }
            if !full || problems.len() >= MAX_MEMBER_PROBLEMS {
                problems.truncate(MAX_MEMBER_PROBLEMS);
                return Ok(problems);
            }
        }
    }

    /// Deletes a group; its contacts stay (with the field values they had).
    pub async fn delete_group(&self, p: &Principal, id: &str) -> Result<(), AppError> {
        if self.store().delete_group(&p.account_id, id).await? { Ok(()) } else { Err(AppError::NotFound("group")) }
    }

    /// Adds contacts to a group, each checked against the group's fields and its other
    /// groups'; returns how many were not members yet.
    pub async fn add_to_group(&self, p: &Principal, group_id: &str, contact_ids: &[String]) -> Result<u64, AppError> {
        let group = self.group(p, group_id).await?;
        if contact_ids.is_empty() {
            return Err(AppError::field("contact_ids", "needs at least one contact id"));
        }
        let contacts = self.contacts_by_ids(p, contact_ids, "contact_ids").await?;
        let members = self.with_groups(p, contacts).await?;
        let mut problems = Vec::new();
        for (member, groups) in members.iter().zip(self.groups_of(p, &members, &group).await?) {
            let i = contact_ids.iter().position(|id| *id == member.contact.id).unwrap_or_default();
            problems.extend(check_values(&member.contact.fields, &groups, &format!("contact_ids[{i}].fields")));
        }
        if !problems.is_empty() {
            return Err(AppError::Validation(problems));
        }
        let ids: Vec<String> = members.into_iter().map(|m| m.contact.id).collect();
        Ok(self.store().add_to_group(&p.account_id, &group.id, &ids, now_millis()).await?)
    }

    pub async fn remove_from_group(&self, p: &Principal, group_id: &str, contact_id: &str) -> Result<(), AppError> {
        self.group(p, group_id).await?;
        if self.store().remove_from_group(&p.account_id, group_id, contact_id).await? {
            Ok(())
        } else {
            Err(AppError::NotFound("contact"))
        }
    }

    /// A page of a group's members, by id.
    pub async fn group_contacts(
        &self,
        p: &Principal,
        group_id: &str,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<(Vec<ContactDetails>, Option<String>), AppError> {
        let group = self.group(p, group_id).await?;
        let page = page(cursor, limit)?;
        let items = self.store().list_group_contacts(&p.account_id, &[group.id], &page).await?;
        let next = next_cursor(&items, &page, |c| &c.id);
        Ok((self.with_groups(p, items).await?, next))
    }

    /// The caller's groups `ids` (distinct), in their order; any other id is `NotFound`.
    pub(super) async fn groups_by_ids(&self, p: &Principal, ids: &[String]) -> Result<Vec<ContactGroup>, AppError> {
        let ids = distinct_ids(ids, "group_ids")?;
        let found = self.store().find_groups(&p.account_id, &ids).await?;
        in_order(&ids, found, |g| &g.id, "group")
    }
}
