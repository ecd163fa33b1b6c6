//! Counting an account's records of one kind.

use sqlx::Row;

use crate::{Counted, StoreError};

impl super::SqlStore {
    pub async fn count_owned(&self, account_id: &str, what: Counted) -> Result<u64, StoreError> {
        let sql = match what {
            Counted::Messages => "SELECT count(*) FROM messages WHERE account_id = $1",
            Counted::Inbound => "SELECT count(*) FROM inbound_messages WHERE account_id = $1",
            Counted::Contacts => "SELECT count(*) FROM contacts WHERE account_id = $1",
            Counted::Groups => "SELECT count(*) FROM contact_groups WHERE account_id = $1",
        };
        let n: i64 = sqlx::query(sql).bind(account_id).fetch_one(&self.pool).await?.get(0);
        Ok(n.max(0) as u64)
    }
}
