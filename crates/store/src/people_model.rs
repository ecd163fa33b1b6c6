//! Records of an account's audience: contacts, the groups they belong to (with the custom
//! fields each group defines), senders and sender lists.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub id: String,
    pub account_id: String,
    /// E.164, with the `+`; one contact per phone per account.
    pub phone: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub reference: Option<String>,
    /// Custom field values by name (stored as a JSON object).
    pub fields: BTreeMap<String, String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Which contacts a list returns; `None` means no restriction.
#[derive(Debug, Clone, Default)]
pub struct ContactFilter {
    /// Case-insensitive substring of `first_name last_name`.
    pub name: Option<String>,
    /// Exact E.164.
    pub phone: Option<String>,
}

/// The type a group's custom field holds (every value is stored as a string).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    String,
    Number,
    /// `YYYY-MM-DD`.
    Date,
    /// `true` or `false`.
    Boolean,
}

/// A custom field a group defines for its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDef {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: FieldType,
    pub required: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactGroup {
    pub id: String,
    pub account_id: String,
    pub name: String,
    /// Stored as a JSON array.
    pub fields: Vec<FieldDef>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderRecord {
    pub id: String,
    pub account_id: String,
    /// A valid originator (see `textbird_types::Sender`); unique per account.
    pub value: String,
    pub enabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderList {
    pub id: String,
    pub account_id: String,
    pub name: String,
    /// By when they were added, then by id.
    pub sender_ids: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}
