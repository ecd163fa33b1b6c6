//! Totals of the caller's records, for front ends that show page counts over cursor lists.

use textbird_store::Counted;

use crate::{App, AppError, Principal};

impl App {
    /// How many records of `what` the caller's account holds.
    pub async fn count(&self, p: &Principal, what: Counted) -> Result<u64, AppError> {
        Ok(self.store().count_owned(&p.account_id, what).await?)
    }
}
