//! Failed password checks, counted in the database so every node sharing it sees the same
//! failures; re-sealing stored secrets under the current key; batch ownership.

use sqlx::{QueryBuilder, Row};

use super::Db;
use crate::model::FailureCount;
use crate::{Sealed, StoreError};

impl super::SqlStore {
    /// Failures of each of `subjects` at or after `since`; subjects without any are left out.
    pub async fn login_failures(&self, subjects: &[&str], since: i64) -> Result<Vec<FailureCount>, StoreError> {
        if subjects.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(
            "SELECT subject, count(*), min(failed_at), max(failed_at) FROM login_failures WHERE failed_at >= ",
        );
        qb.push_bind(since).push(" AND subject IN (");
        let mut sep = qb.separated(", ");
        for s in subjects {
            sep.push_bind(*s);
        }
        qb.push(") GROUP BY subject");
        let rows = qb.build().fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .map(|r| FailureCount {
                subject: r.get(0),
                failures: u32::try_from(r.get::<i64, _>(1)).unwrap_or(u32::MAX),
                first_at: r.get(2),
                last_at: r.get(3),
            })
            .collect())
    }

    /// Records one failure of each of `subjects` at `at`.
    pub async fn record_login_failure(&self, subjects: &[&str], at: i64) -> Result<(), StoreError> {
        if subjects.is_empty() {
            return Ok(());
        }
        let mut qb: QueryBuilder<Db> = QueryBuilder::new("INSERT INTO login_failures (subject, failed_at) ");
        qb.push_values(subjects, |mut row, s| {
            row.push_bind(*s).push_bind(at);
        });
        qb.build().execute(&self.pool).await?;
        Ok(())
    }

    /// Deletes failures older than `before`; how many.
    pub async fn prune_login_failures(&self, before: i64) -> Result<u64, StoreError> {
        let r = sqlx::query("DELETE FROM login_failures WHERE failed_at < $1").bind(before).execute(&self.pool).await?;
        Ok(r.rows_affected())
    }

    /// Whether the account sent a batch with this id.
    pub async fn batch_exists(&self, account_id: &str, batch_id: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 FROM messages WHERE account_id = $1 AND batch_id = $2 LIMIT 1")
            .bind(account_id)
            .bind(batch_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Seals again every stored secret that is not sealed under the current key: plain text
    /// from before encryption, or sealed under a previous key. A row is changed only while it
    /// still holds what was read, so a secret rotated meanwhile is left as it is. How many
    /// values were sealed again (none without a current key).
    pub async fn reseal_secrets(&self) -> Result<u64, StoreError> {
        if self.keyring.current_id().is_none() {
            return Ok(0);
        }
        let mut resealed = 0;
        let webhooks = sqlx::query("SELECT id, secret, previous_secret FROM webhooks").fetch_all(&self.pool).await?;
        for row in &webhooks {
            let (id, secret, previous): (String, String, Option<String>) = (row.get(0), row.get(1), row.get(2));
            let values = [
                ("secret", Some(secret), Sealed::WebhookSecret),
                ("previous_secret", previous, Sealed::WebhookPreviousSecret),
            ];
            for (column, value, what) in values {
                let Some(value) = value else { continue };
                resealed += self.reseal("webhooks", column, &id, &value, what).await?;
            }
        }
        let accounts = sqlx::query("SELECT id, callback_secret FROM accounts").fetch_all(&self.pool).await?;
        for row in &accounts {
            let (id, value): (String, String) = (row.get(0), row.get(1));
            resealed += self.reseal("accounts", "callback_secret", &id, &value, Sealed::CallbackSecret).await?;
        }
        Ok(resealed)
    }

    async fn reseal(&self, table: &str, column: &str, id: &str, value: &str, what: Sealed) -> Result<u64, StoreError> {
        if !self.keyring.is_stale(value) {
            return Ok(0);
        }
        let fresh = self.keyring.seal(&self.keyring.open(value, what)?, what);
        let sql = format!("UPDATE {table} SET {column} = $1 WHERE id = $2 AND {column} = $3");
        let r = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(fresh).bind(id).bind(value).execute(&self.pool).await?;
        Ok(r.rows_affected())
    }
}
