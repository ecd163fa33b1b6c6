//! Dashboard sessions (looked up by the SHA-256 of the cookie's token) and named API keys.

use sqlx::Row;

use super::rows::{self, ACCOUNT_COLUMNS};
use crate::StoreError;
use crate::dashboard_api::{DashboardSession, NamedKey};
use crate::model::{Account, NewCredential};

impl super::SqlStore {
    pub async fn insert_dashboard_session(&self, s: &DashboardSession) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO dashboard_sessions (lookup, account_id, created_at, last_seen_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&s.lookup)
        .bind(&s.account_id)
        .bind(s.created_at)
        .bind(s.last_seen_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The session with this lookup value seen at or after `seen_since`, with its account.
    pub async fn dashboard_session(
        &self,
        lookup: &str,
        seen_since: i64,
    ) -> Result<Option<(DashboardSession, Account)>, StoreError> {
        let sql = format!(
            "SELECT s.lookup, s.account_id, s.created_at, s.last_seen_at, {} FROM dashboard_sessions s \
             JOIN accounts a ON a.id = s.account_id WHERE s.lookup = $1 AND s.last_seen_at >= $2",
            ACCOUNT_COLUMNS.split(", ").map(|c| format!("a.{c}")).collect::<Vec<_>>().join(", ")
        );
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(lookup).bind(seen_since).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| {
            let session = DashboardSession {
                lookup: r.get(0),
                account_id: r.get(1),
                created_at: r.get(2),
                last_seen_at: r.get(3),
            };
            (session, rows::account_at(&r, 4))
        }))
    }

    /// Marks the session used at `at`.
    pub async fn touch_dashboard_session(&self, lookup: &str, at: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE dashboard_sessions SET last_seen_at = $1 WHERE lookup = $2 AND last_seen_at < $1")
            .bind(at)
            .bind(lookup)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends the session; whether there was one.
    pub async fn delete_dashboard_session(&self, lookup: &str) -> Result<bool, StoreError> {
        let r =
            sqlx::query("DELETE FROM dashboard_sessions WHERE lookup = $1").bind(lookup).execute(&self.pool).await?;
        Ok(r.rows_affected() > 0)
    }

    /// Deletes sessions last seen before `before`; how many.
    pub async fn prune_dashboard_sessions(&self, before: i64) -> Result<u64, StoreError> {
        let r = sqlx::query("DELETE FROM dashboard_sessions WHERE last_seen_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }

    /// Stores a credential with the name its owner gave it.
    pub async fn insert_named_credential(&self, c: &NewCredential, name: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO credentials (id, account_id, kind, lookup, secret_hash, expires_at, created_at, name) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&c.id)
        .bind(&c.account_id)
        .bind(&c.kind)
        .bind(&c.lookup)
        .bind(&c.secret_hash)
        .bind(c.expires_at)
        .bind(c.created_at)
        .bind(name)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The account's credentials of `kind`, newest first, revoked and expired ones too.
    pub async fn named_keys(&self, account_id: &str, kind: &str) -> Result<Vec<NamedKey>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, COALESCE(name, ''), created_at, expires_at, revoked_at FROM credentials \
             WHERE account_id = $1 AND kind = $2 ORDER BY created_at DESC, id DESC LIMIT 500",
        )
        .bind(account_id)
        .bind(kind)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| NamedKey {
                id: r.get(0),
                name: r.get(1),
                created_at: r.get(2),
                expires_at: r.get(3),
                revoked_at: r.get(4),
            })
            .collect())
    }

    /// Revokes one of the account's credentials of `kind`; whether a live one was revoked.
    pub async fn revoke_credential(
        &self,
        account_id: &str,
        kind: &str,
        id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE credentials SET revoked_at = $1 WHERE account_id = $2 AND kind = $3 AND id = $4 \
             AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(account_id)
        .bind(kind)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() > 0)
    }
}
