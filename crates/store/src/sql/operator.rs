//! What operators change and read across accounts: account details and suspension, rates,
//! connector pauses, usage per account per day.

use sqlx::Row;

use crate::StoreError;
use crate::model::{AccountChange, KeyRecord, NewKey, UsageDay};

/// A day in ms (the usage query divides by it literally).
const DAY_MS: i64 = 86_400_000;

impl super::SqlStore {
    pub async fn update_account(&self, id: &str, change: &AccountChange) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE accounts SET name = coalesce($2, name), country = coalesce($3, country), \
             timezone = coalesce($4, timezone) WHERE id = $1",
        )
        .bind(id)
        .bind(&change.name)
        .bind(&change.country)
        .bind(&change.timezone)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn set_account_suspended(&self, id: &str, at: Option<i64>) -> Result<bool, StoreError> {
        let r = sqlx::query("UPDATE accounts SET suspended_at = $2 WHERE id = $1")
            .bind(id)
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn delete_rate(&self, prefix: &str) -> Result<bool, StoreError> {
        let r = sqlx::query("DELETE FROM rates WHERE prefix = $1").bind(prefix).execute(&self.pool).await?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn set_connector_paused(&self, name: &str, paused_at: Option<i64>) -> Result<(), StoreError> {
        match paused_at {
            Some(at) => {
                sqlx::query("INSERT INTO connector_pauses (name, paused_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(name)
                    .bind(at)
                    .execute(&self.pool)
                    .await?;
            }
            None => {
                sqlx::query("DELETE FROM connector_pauses WHERE name = $1").bind(name).execute(&self.pool).await?;
            }
        }
        Ok(())
    }

    pub async fn paused_connectors(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT name FROM connector_pauses ORDER BY name").fetch_all(&self.pool).await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    pub async fn usage(&self, account_id: Option<&str>, from: i64, until: i64) -> Result<Vec<UsageDay>, StoreError> {
        let rows = sqlx::query(
            "SELECT account_id, CAST(created_at / 86400000 AS BIGINT) AS day, CAST(count(*) AS BIGINT), \
             CAST(coalesce(sum(parts), 0) AS BIGINT), CAST(coalesce(sum(price), 0) AS BIGINT) \
             FROM messages WHERE created_at >= $1 AND created_at < $2 AND ($3 IS NULL OR account_id = $3) \
             GROUP BY account_id, CAST(created_at / 86400000 AS BIGINT) ORDER BY day, account_id",
        )
        .bind(from)
        .bind(until)
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| UsageDay {
                account_id: r.get(0),
                day_start: r.get::<i64, _>(1) * DAY_MS,
                messages: r.get(2),
                parts: r.get(3),
                cost: r.get(4),
            })
            .collect())
    }

    pub async fn insert_key(&self, k: &NewKey) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO credentials (id, account_id, kind, lookup, secret_hash, expires_at, created_at, name, scopes, \
             prefix) VALUES ($1, $2, $3, $4, NULL, $5, $6, $7, $8, $9)",
        )
        .bind(&k.id)
        .bind(&k.account_id)
        .bind(&k.kind)
        .bind(&k.lookup)
        .bind(k.expires_at)
        .bind(k.created_at)
        .bind(&k.name)
        .bind(&k.scopes)
        .bind(&k.prefix)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The account's live keys of the given kinds, newest first.
    pub async fn list_keys(&self, account_id: &str, kinds: &[&str], now: i64) -> Result<Vec<KeyRecord>, StoreError> {
        let mut qb: sqlx::QueryBuilder<super::Db> = sqlx::QueryBuilder::new(
            "SELECT id, kind, name, scopes, prefix, expires_at, created_at FROM credentials WHERE account_id = ",
        );
        qb.push_bind(account_id)
            .push(" AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ")
            .push_bind(now)
            .push(") AND kind IN (");
        let mut sep = qb.separated(", ");
        for k in kinds {
            sep.push_bind(*k);
        }
        qb.push(") ORDER BY created_at DESC, id");
        let rows = qb.build().fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .map(|r| KeyRecord {
                id: r.get(0),
                kind: r.get(1),
                name: r.get(2),
                scopes: r.get(3),
                prefix: r.get(4),
                expires_at: r.get(5),
                created_at: r.get(6),
            })
            .collect())
    }

    /// Revokes (`until` = now) or shortens (`until` later) one live key of the account; false
    /// when the account has no such live key.
    pub async fn end_key(
        &self,
        account_id: &str,
        id: &str,
        kinds: &[&str],
        now: i64,
        revoke: bool,
        until: i64,
    ) -> Result<bool, StoreError> {
        let mut qb: sqlx::QueryBuilder<super::Db> = sqlx::QueryBuilder::new("UPDATE credentials SET ");
        if revoke {
            qb.push("revoked_at = ").push_bind(until);
        } else {
            qb.push("expires_at = ").push_bind(until);
        }
        qb.push(" WHERE account_id = ")
            .push_bind(account_id)
            .push(" AND id = ")
            .push_bind(id)
            .push(" AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ")
            .push_bind(now)
            .push(") AND kind IN (");
        let mut sep = qb.separated(", ");
        for k in kinds {
            sep.push_bind(*k);
        }
        qb.push(")");
        Ok(qb.build().execute(&self.pool).await?.rows_affected() > 0)
    }
}
