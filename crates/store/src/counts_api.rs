//! How many records of a kind an account holds (for lists that show totals and page counts).

use crate::{Store, StoreError};

/// What `Store::count_owned` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Outbound messages, in every status.
    Messages,
    Inbound,
    Contacts,
    Groups,
}

impl Store {
    /// How many records of `what` the account holds.
    pub async fn count_owned(&self, account_id: &str, what: Counted) -> Result<u64, StoreError> {
        delegate!(self, s => s.count_owned(account_id, what).await)
    }
}
