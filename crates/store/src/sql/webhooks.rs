//! Webhook endpoints, their deliveries and attempts (reads and configuration writes; the
//! outbox itself is written by the batching writer).

use sqlx::Row;

use super::rows::{self, DELIVERY_COLUMNS, WEBHOOK_COLUMNS, page_limit};
use crate::model::{Attempt, Delivery, Page, Webhook};
use crate::{Keyring, Sealed, StoreError};

pub(super) async fn load_all(pool: &sqlx::Pool<super::Db>, keyring: &Keyring) -> Result<Vec<Webhook>, StoreError> {
    let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks");
    sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?.iter().map(|r| opened(keyring, r)).collect()
}

/// A webhook row with its secrets opened.
fn opened(keyring: &Keyring, r: &super::DbRow) -> Result<Webhook, StoreError> {
    let mut w = rows::webhook(r);
    w.secret = keyring.open(&w.secret, Sealed::WebhookSecret)?;
    if let Some(prev) = &w.previous_secret {
        w.previous_secret = Some(keyring.open(prev, Sealed::WebhookPreviousSecret)?);
    }
    Ok(w)
}

/// The secrets of `w` as they are stored.
fn sealed(keyring: &Keyring, w: &Webhook) -> (String, Option<String>) {
    (
        keyring.seal(&w.secret, Sealed::WebhookSecret),
        w.previous_secret.as_deref().map(|p| keyring.seal(p, Sealed::WebhookPreviousSecret)),
    )
}

impl super::SqlStore {
    /// Hands leased deliveries back to the queue, due at `at` (a node could not post them in
    /// time; another scan, here or on another node, takes them).
    pub async fn release_deliveries(&self, ids: &[String], at: i64) -> Result<u64, StoreError> {
        let mut released = 0;
        for chunk in ids.chunks(500) {
            let mut qb: sqlx::QueryBuilder<super::Db> =
                sqlx::QueryBuilder::new("UPDATE webhook_deliveries SET next_attempt_at = ");
            qb.push_bind(at).push(" WHERE state = 'pending' AND id IN (");
            let mut sep = qb.separated(", ");
            for id in chunk {
                sep.push_bind(id);
            }
            qb.push(")");
            released += qb.build().execute(&self.pool).await?.rows_affected();
        }
        Ok(released)
    }

    pub async fn create_webhook(&self, w: &Webhook) -> Result<(), StoreError> {
        let (secret, previous_secret) = sealed(&self.keyring, w);
        sqlx::query(
            "INSERT INTO webhooks (id, account_id, url, events, secret, previous_secret, previous_until, enabled, \
             disabled_reason, failing_since, created_at, updated_at, format) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&w.id)
        .bind(&w.account_id)
        .bind(&w.url)
        .bind(w.events.join(","))
        .bind(&secret)
        .bind(&previous_secret)
        .bind(w.previous_until)
        .bind(w.enabled)
        .bind(&w.disabled_reason)
        .bind(w.failing_since)
        .bind(w.created_at)
        .bind(w.updated_at)
        .bind(&w.format)
        .execute(&self.pool)
        .await?;
        self.webhooks.upsert(w);
        super::announce(&self.pool, "webhooks").await?;
        Ok(())
    }

    pub async fn find_webhook(&self, account_id: &str, id: &str) -> Result<Option<Webhook>, StoreError> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1 AND account_id = $2");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| opened(&self.keyring, &r))
            .transpose()
    }

    pub async fn list_webhooks(&self, account_id: &str) -> Result<Vec<Webhook>, StoreError> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE account_id = $1 ORDER BY id");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| opened(&self.keyring, r))
            .collect()
    }

    pub async fn update_webhook(&self, w: &Webhook) -> Result<bool, StoreError> {
        let (secret, previous_secret) = sealed(&self.keyring, w);
        let r = sqlx::query(
            "UPDATE webhooks SET url = $1, events = $2, secret = $3, previous_secret = $4, previous_until = $5, \
             enabled = $6, disabled_reason = $7, failing_since = $8, updated_at = $9 WHERE id = $10 AND account_id = $11",
        )
        .bind(&w.url)
        .bind(w.events.join(","))
        .bind(&secret)
        .bind(&previous_secret)
        .bind(w.previous_until)
        .bind(w.enabled)
        .bind(&w.disabled_reason)
        .bind(w.failing_since)
        .bind(w.updated_at)
        .bind(&w.id)
        .bind(&w.account_id)
        .execute(&self.pool)
        .await?;
        if r.rows_affected() > 0 {
            self.webhooks.upsert(w);
            super::announce(&self.pool, "webhooks").await?;
        }
        Ok(r.rows_affected() > 0)
    }

    pub async fn delete_webhook(&self, account_id: &str, id: &str) -> Result<bool, StoreError> {
        let r = sqlx::query("DELETE FROM webhooks WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account_id)
            .execute(&self.pool)
            .await?;
        self.webhooks.remove(account_id, id);
        super::announce(&self.pool, "webhooks").await?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn list_deliveries(
        &self,
        account_id: &str,
        webhook_id: Option<&str>,
        page: &Page,
    ) -> Result<Vec<Delivery>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE account_id = $1 AND ($2 IS NULL OR webhook_id = $3) \
             AND id < $4 ORDER BY id DESC LIMIT $5"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(webhook_id)
            .bind(webhook_id)
            .bind(page.after.as_deref().unwrap_or("\u{10ffff}"))
            .bind(page_limit(page.limit))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(rows::delivery).collect())
    }

    pub async fn find_delivery(&self, account_id: &str, id: &str) -> Result<Option<Delivery>, StoreError> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1 AND account_id = $2");
        Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(rows::delivery))
    }

    pub async fn list_attempts(&self, account_id: &str, delivery_id: &str) -> Result<Vec<Attempt>, StoreError> {
        let rows = sqlx::query(
            "SELECT status_code, error, duration_ms, created_at FROM webhook_attempts \
             WHERE delivery_id = $1 AND account_id = $2 ORDER BY id",
        )
        .bind(delivery_id)
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| Attempt { status_code: r.get(0), error: r.get(1), duration_ms: r.get(2), created_at: r.get(3) })
            .collect())
    }

    /// When the next pending delivery is due (or its lease runs out), if any is pending.
    pub async fn next_delivery_due_at(&self) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT min(next_attempt_at) FROM webhook_deliveries WHERE state = 'pending'")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.get(0))
    }

    pub async fn signing_secrets(
        &self,
        account_id: &str,
        webhook_id: Option<&str>,
        now: i64,
    ) -> Result<Vec<String>, StoreError> {
        let Some(id) = webhook_id else {
            let row = sqlx::query("SELECT callback_secret FROM accounts WHERE id = $1")
                .bind(account_id)
                .fetch_optional(&self.pool)
                .await?;
            return row
                .map(|r| self.keyring.open(&r.get::<String, _>(0), Sealed::CallbackSecret).map_err(StoreError::from))
                .into_iter()
                .collect();
        };
        // From memory: the writer's cache holds every endpoint, so no read can fail here.
        Ok(self.webhooks.secrets(account_id, id, now).unwrap_or_default())
    }
}
