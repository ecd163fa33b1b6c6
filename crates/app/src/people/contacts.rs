//! Contacts: one per phone per account, with a name, email, reference and the custom fields
//! their groups define.

use std::collections::{BTreeMap, HashMap};

use textbird_store::{Contact, ContactFilter, ContactGroup};
use textbird_types::{Msisdn, new_id, now_millis};

use super::fields::check_values;
use super::{MAX_NAME_CHARS, distinct_ids, in_order};
use crate::messages::{next_cursor, page};
use crate::{App, AppError, FieldError, Principal};

const MAX_EMAIL_CHARS: usize = 254;

/// A new contact.
#[derive(Debug, Clone, Default)]
pub struct ContactInput {
    /// E.164, or national in the account's country.
    pub phone: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub reference: Option<String>,
    pub fields: BTreeMap<String, String>,
    /// Groups it joins; their field definitions check `fields`.
    pub group_ids: Vec<String>,
}

/// Changes to a contact: `None` keeps a value, an empty string clears it, and `fields`
/// replaces all of them.
#[derive(Debug, Clone, Default)]
pub struct ContactChange {
    pub phone: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub reference: Option<String>,
    pub fields: Option<BTreeMap<String, String>>,
}

/// Filters and cursor for listing contacts.
#[derive(Debug, Clone, Default)]
pub struct ContactQuery {
    /// Case-insensitive substring of `first_name last_name`.
    pub name: Option<String>,
    /// Exact number (normalised like a contact's).
    pub phone: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// A contact and the groups it is in.
#[derive(Debug, Clone)]
pub struct ContactDetails {
    pub contact: Contact,
    pub group_ids: Vec<String>,
}

/// An optional text: trimmed, empty is `None`, longer than `max` a problem with `field`.
fn optional_text(field: &str, value: Option<String>, max: usize, problems: &mut Vec<FieldError>) -> Option<String> {
    let value = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())?;
    if value.chars().count() > max {
        problems.push(FieldError::new(field, format!("at most {max} characters")));
    }
    Some(value)
}

fn check_email(email: Option<&String>, problems: &mut Vec<FieldError>) {
    let Some(email) = email else { return };
    let well_formed = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && domain.contains('.') && !domain.contains('@') && !email.chars().any(char::is_whitespace)
    });
    if !well_formed {
        problems.push(FieldError::new("email", "is not an email address"));
    }
}

fn parse_phone(p: &Principal, raw: &str, problems: &mut Vec<FieldError>) -> String {
    match Msisdn::parse(raw, p.country) {
        Ok(n) => n.into_string(),
        Err(e) => {
            problems.push(FieldError::new("phone", e.to_string()));
            String::new()
        }
    }
}

/// The texts of a contact, checked: `(first_name, last_name, email, reference)`.
type Texts = (Option<String>, Option<String>, Option<String>, Option<String>);

fn check_texts(
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    reference: Option<String>,
    problems: &mut Vec<FieldError>,
) -> Texts {
    let first_name = optional_text("first_name", first_name, MAX_NAME_CHARS, problems);
    let last_name = optional_text("last_name", last_name, MAX_NAME_CHARS, problems);
    let email = optional_text("email", email, MAX_EMAIL_CHARS, problems);
    check_email(email.as_ref(), problems);
    let reference = optional_text("reference", reference, MAX_NAME_CHARS, problems);
    (first_name, last_name, email, reference)
}

impl App {
    pub async fn create_contact(&self, p: &Principal, input: ContactInput) -> Result<ContactDetails, AppError> {
        let mut problems = Vec::new();
        let phone = parse_phone(p, &input.phone, &mut problems);
        let (first_name, last_name, email, reference) =
            check_texts(input.first_name, input.last_name, input.email, input.reference, &mut problems);
        let group_ids = distinct_ids(&input.group_ids, "group_ids")?;
        let groups = self.groups_by_ids(p, &group_ids).await?;
        problems.extend(check_values(&input.fields, &groups, "fields"));
        if !problems.is_empty() {
            return Err(AppError::Validation(problems));
        }
        let now = now_millis();
        let contact = Contact {
            id: new_id(),
            account_id: p.account_id.clone(),
            phone,
            first_name,
            last_name,
            email,
            reference,
            fields: input.fields,
            created_at: now,
            updated_at: now,
        };
        self.store().create_contact(&contact, &group_ids).await?;
        let mut group_ids = group_ids;
        group_ids.sort();
        Ok(ContactDetails { contact, group_ids })
    }

    pub async fn contact(&self, p: &Principal, id: &str) -> Result<ContactDetails, AppError> {
        let contact = self.store().find_contact(&p.account_id, id).await?.ok_or(AppError::NotFound("contact"))?;
        Ok(self.with_groups(p, vec![contact]).await?.remove(0))
    }

    /// Contacts by id, filtered by `name` or `phone`.
    pub async fn contacts(
        &self,
        p: &Principal,
        q: ContactQuery,
    ) -> Result<(Vec<ContactDetails>, Option<String>), AppError> {
        let page = page(q.cursor, q.limit)?;
        let phone = match q.phone {
            Some(raw) => {
                Some(Msisdn::parse(&raw, p.country).map_err(|e| AppError::field("phone", e.to_string()))?.into_string())
            }
            None => None,
        };
        let filter = ContactFilter { name: q.name.filter(|n| !n.is_empty()), phone };
        let items = self.store().list_contacts(&p.account_id, &filter, &page).await?;
        let next = next_cursor(&items, &page, |c| &c.id);
        Ok((self.with_groups(p, items).await?, next))
    }

    pub async fn update_contact(
        &self,
        p: &Principal,
        id: &str,
        change: ContactChange,
    ) -> Result<ContactDetails, AppError> {
        let ContactDetails { mut contact, group_ids } = self.contact(p, id).await?;
        let mut problems = Vec::new();
        if let Some(raw) = change.phone {
            contact.phone = parse_phone(p, &raw, &mut problems);
        }
        let keep = |new: Option<String>, old: Option<String>| match new {
            Some(v) => Some(v),
            None => old,
        };
        let (first_name, last_name, email, reference) = check_texts(
            keep(change.first_name, contact.first_name),
            keep(change.last_name, contact.last_name),
            keep(change.email, contact.email),
            keep(change.reference, contact.reference),
            &mut problems,
        );
        (contact.first_name, contact.last_name, contact.email, contact.reference) =
            (first_name, last_name, email, reference);
        if let Some(fields) = change.fields {
            contact.fields = fields;
            let groups = self.groups_by_ids(p, &group_ids).await?;
            problems.extend(check_values(&contact.fields, &groups, "fields"));
        }
        if !problems.is_empty() {
            return Err(AppError::Validation(problems));
        }
        contact.updated_at = now_millis();
        if !self.store().update_contact(&contact).await? {
            return Err(AppError::NotFound("contact"));
        }
        Ok(ContactDetails { contact, group_ids })
    }

    pub async fn delete_contact(&self, p: &Principal, id: &str) -> Result<(), AppError> {
        if self.store().delete_contact(&p.account_id, id).await? { Ok(()) } else { Err(AppError::NotFound("contact")) }
    }

    /// The caller's contacts among `ids` (distinct, in their order); any other id is
    /// `NotFound`.
    pub(super) async fn contacts_by_ids(
        &self,
        p: &Principal,
        ids: &[String],
        field: &str,
    ) -> Result<Vec<Contact>, AppError> {
        let ids = distinct_ids(ids, field)?;
        let found = self.store().find_contacts(&p.account_id, &ids).await?;
        in_order(&ids, found, |c| &c.id, "contact")
    }

    /// Each contact with the ids of its groups.
    pub(super) async fn with_groups(
        &self,
        p: &Principal,
        contacts: Vec<Contact>,
    ) -> Result<Vec<ContactDetails>, AppError> {
        let ids: Vec<String> = contacts.iter().map(|c| c.id.clone()).collect();
        let mut groups: HashMap<String, Vec<String>> = HashMap::new();
        for (contact_id, group_id) in self.store().contact_group_ids(&p.account_id, &ids).await? {
            groups.entry(contact_id).or_default().push(group_id);
        }
        Ok(contacts
            .into_iter()
            .map(|contact| {
                let group_ids = groups.remove(&contact.id).unwrap_or_default();
                ContactDetails { contact, group_ids }
            })
            .collect())
    }

    /// The groups each of `contacts` would be in with `extra` added.
    pub(super) async fn groups_of(
        &self,
        p: &Principal,
        contacts: &[ContactDetails],
        extra: &ContactGroup,
    ) -> Result<Vec<Vec<ContactGroup>>, AppError> {
        let mut ids: Vec<String> = contacts.iter().flat_map(|c| c.group_ids.iter().cloned()).collect();
        ids.sort();
        ids.dedup();
        let groups = self.store().find_groups(&p.account_id, &ids).await?;
        Ok(contacts
            .iter()
            .map(|c| {
                let mut of: Vec<ContactGroup> =
                    groups.iter().filter(|g| g.id != extra.id && c.group_ids.contains(&g.id)).cloned().collect();
                of.push(extra.clone());
                of
            })
            .collect())
    }
}
