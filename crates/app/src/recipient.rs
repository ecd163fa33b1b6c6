//! Who a message goes to and what it can be personalised with: a list member's or a
//! contact's data, or only a number.

use std::collections::BTreeMap;

/// One recipient of a send, with the data its template tokens read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recipient {
    /// E.164, with the `+`.
    pub phone: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub url: Option<String>,
    pub custom: Option<String>,
    /// `custom1`..`custom4` and a contact's group fields, by name.
    pub fields: BTreeMap<String, String>,
}

impl Recipient {
    /// A recipient known only by its number.
    pub fn phone(phone: impl Into<String>) -> Self {
        Self { phone: phone.into(), ..Self::default() }
    }
}
