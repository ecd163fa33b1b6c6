//! Reads of messages, their events and inbound messages.

use sqlx::{QueryBuilder, Row};

use super::Db;

use super::rows::{self, INBOUND_COLUMNS, MESSAGE_COLUMNS, page_limit};
use crate::StoreError;
use crate::model::{Inbound, Message, MessageEvent, MessageFilter, Page};

impl super::SqlStore {
    pub async fn find_message(&self, account_id: &str, id: &str) -> Result<Option<Message>, StoreError> {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1 AND account_id = $2");
        Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(rows::message))
    }

    pub async fn messages_by_smpp_ref(&self, account_id: &str, smpp_ref: &str) -> Result<Vec<Message>, StoreError> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE account_id = $1 AND smpp_ref = $2 ORDER BY created_at, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account_id).bind(smpp_ref).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(rows::message).collect())
    }

    /// The events of one message, oldest first.
    pub async fn message_events(&self, message_id: &str) -> Result<Vec<MessageEvent>, StoreError> {
        let rows =
            sqlx::query("SELECT status, detail, created_at FROM message_events WHERE message_id = $1 ORDER BY id")
                .bind(message_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.iter().map(|r| MessageEvent { status: r.get(0), detail: r.get(1), created_at: r.get(2) }).collect())
    }

    /// Newest first; `page.after` is the last id of the previous page.
    pub async fn list_messages(
        &self,
        account_id: &str,
        f: &MessageFilter,
        page: &Page,
    ) -> Result<Vec<Message>, StoreError> {
        let mut qb: QueryBuilder<Db> =
            QueryBuilder::new(format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE account_id = "));
        qb.push_bind(account_id);
        if let Some(after) = &page.after {
            qb.push(" AND id < ").push_bind(after);
        }
        if let Some(s) = &f.status {
            qb.push(" AND status = ").push_bind(s);
        }
        if let Some(to) = &f.to {
            qb.push(" AND to_number = ").push_bind(to);
        }
        if let Some(r) = &f.client_ref {
            qb.push(" AND client_ref = ").push_bind(r);
        }
        if let Some(t) = f.created_from {
            qb.push(" AND created_at >= ").push_bind(t);
        }
        if let Some(t) = f.created_to {
            qb.push(" AND created_at < ").push_bind(t);
        }
        if let Some(b) = &f.batch_id {
            qb.push(" AND batch_id = ").push_bind(b);
        }
        qb.push(" ORDER BY id DESC LIMIT ").push_bind(page_limit(page.limit));
        Ok(qb.build().fetch_all(&self.pool).await?.iter().map(rows::message).collect())
    }

    pub async fn list_inbound(&self, account_id: &str, page: &Page) -> Result<Vec<Inbound>, StoreError> {
        let mut qb: QueryBuilder<Db> =
            QueryBuilder::new(format!("SELECT {INBOUND_COLUMNS} FROM inbound_messages WHERE account_id = "));
        qb.push_bind(account_id);
        if let Some(after) = &page.after {
            qb.push(" AND id < ").push_bind(after);
        }
        qb.push(" ORDER BY id DESC LIMIT ").push_bind(page_limit(page.limit));
        Ok(qb.build().fetch_all(&self.pool).await?.iter().map(rows::inbound).collect())
    }

    pub async fn find_inbound(&self, account_id: &str, id: &str) -> Result<Option<Inbound>, StoreError> {
        let sql = format!("SELECT {INBOUND_COLUMNS} FROM inbound_messages WHERE id = $1 AND account_id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).bind(account_id).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(rows::inbound))
    }

    pub async fn release_stale_leases(&self, now: i64, node: &str) -> Result<u64, StoreError> {
        // Where one process owns the queue every lease is stale at start; where nodes share
        // it, only this node's own (from before its restart) are.
        let all = "UPDATE messages SET next_attempt_at = $1 WHERE status = 'queued' AND lease_owner IS NOT NULL \
                   AND next_attempt_at > $1";
        let r = if super::OWNS_QUEUE {
            sqlx::query(all).bind(now).execute(&self.pool).await?
        } else {
            let own = format!("{all} AND substr(lease_owner, 1, length($2)) = $2");
            sqlx::query(sqlx::AssertSqlSafe(own)).bind(now).bind(format!("{node}/")).execute(&self.pool).await?
        };
        Ok(r.rows_affected())
    }

    pub async fn awaiting_report(&self, connector: &str, limit: u32) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, carrier_id FROM messages WHERE connector = $1 AND status = 'submitted' AND carrier_id IS NOT NULL LIMIT ($2 + 0)",
        )
        .bind(connector)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    pub async fn find_by_carrier_id(
        &self,
        connector: &str,
        carrier_ids: &[String],
    ) -> Result<Option<String>, StoreError> {
        for carrier_id in carrier_ids {
            let row = sqlx::query("SELECT id FROM messages WHERE connector = $1 AND carrier_id = $2 LIMIT 1")
                .bind(connector)
                .bind(carrier_id)
                .fetch_optional(&self.pool)
                .await?;
            if let Some(r) = row {
                return Ok(Some(r.get(0)));
            }
        }
        Ok(None)
    }

    pub async fn count_by_status(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query("SELECT status, count(*) FROM messages GROUP BY status").fetch_all(&self.pool).await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// When the next queued or scheduled message becomes due, for the dispatcher's timer.
    /// Up to `limit` messages still `submitted` whose validity ended before `before`, oldest
    /// first.
    pub async fn submitted_before(&self, before: i64, limit: u32) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT id FROM messages WHERE status = 'submitted' AND valid_until < $1 ORDER BY valid_until LIMIT ($2 + 0)",
        )
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    pub async fn next_due_at(&self) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query(
            "SELECT min(t) FROM (SELECT min(next_attempt_at) AS t FROM messages WHERE status = 'queued' \
             UNION ALL SELECT min(next_attempt_at) FROM messages WHERE status = 'scheduled') AS due",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(row.get(0))
    }

    pub async fn find_idempotency(
        &self,
        account_id: &str,
        credential_id: &str,
        key: &str,
    ) -> Result<Option<crate::IdempotencyRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT request_hash, status_code, response, created_at FROM idempotency_keys \
             WHERE account_id = $1 AND credential_id = $2 AND key = $3",
        )
        .bind(account_id)
        .bind(credential_id)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| crate::IdempotencyRecord {
            account_id: account_id.to_owned(),
            credential_id: credential_id.to_owned(),
            key: key.to_owned(),
            request_hash: r.get(0),
            status_code: u16::try_from(r.get::<i32, _>(1)).unwrap_or_default(),
            response: r.get(2),
            created_at: r.get(3),
        }))
    }

    pub async fn save_idempotency(&self, k: &crate::IdempotencyRecord) -> Result<bool, StoreError> {
        let mut conn = self.pool.acquire().await?;
        insert_idempotency(&mut conn, k).await
    }

    pub async fn prune(&self, before: i64) -> Result<u64, StoreError> {
        let a = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(a)
    }
}

/// Stores a response under its key unless the key is taken; false when it was.
pub(super) async fn insert_idempotency(c: &mut super::Conn, k: &crate::IdempotencyRecord) -> Result<bool, StoreError> {
    let r = sqlx::query(
        "INSERT INTO idempotency_keys (account_id, credential_id, key, request_hash, status_code, response, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
    )
    .bind(&k.account_id)
    .bind(&k.credential_id)
    .bind(&k.key)
    .bind(&k.request_hash)
    .bind(i32::from(k.status_code))
    .bind(&k.response)
    .bind(k.created_at)
    .execute(&mut *c)
    .await?;
    Ok(r.rows_affected() > 0)
}
