//! Verifications (one-time passwords), their sends, the fraud guard's prefix blocks, and the
//! sealed text of masked messages. Status changes and their `verification.*` webhooks are
//! written in one transaction.

use sqlx::{QueryBuilder, Row};

use super::batch::Fanout;
use super::rows::page_limit;
use super::{Db, DbRow};
use crate::StoreError;
use crate::model::Page;
use crate::verification_model::{
    AccountFraudSettings, CheckOutcome, PrefixBlock, SendKey, Verification, VerificationSend,
};

/// The account's verification `id`, read through `e` (the pool, or a write transaction).
async fn by_id<'e, E: sqlx::Executor<'e, Database = Db>>(
    e: E,
    account_id: &str,
    id: &str,
) -> Result<Option<Verification>, StoreError> {
    let sql = format!("SELECT {} FROM verifications WHERE account_id = $1 AND id = $2", Verification::COLUMNS);
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account_id).bind(id).fetch_optional(e).await?;
    Ok(row.as_ref().map(verification))
}

fn verification(r: &DbRow) -> Verification {
    Verification {
        id: r.get(0),
        account_id: r.get(1),
        phone: r.get(2),
        status: r.get(3),
        code_hash: r.get(4),
        code_sealed: r.get(5),
        code_length: r.get(6),
        checks: r.get(7),
        sends: r.get(8),
        is_test: r.get(9),
        message_id: r.get(10),
        expires_at: r.get(11),
        created_at: r.get(12),
        updated_at: r.get(13),
    }
}

/// The `verification.*` webhook payload, in the envelope of every other event. Never the code.
pub(crate) fn verification_payload(event: &str, v: &Verification, at: i64) -> String {
    serde_json::json!({
        "type": event,
        "timestamp": textbird_types::format_millis(at),
        "data": {
            "id": v.id,
            "to": v.phone,
            "status": v.status,
            "checks": v.checks,
            "sends": v.sends,
            "expires_at": textbird_types::format_millis(v.expires_at),
            "created_at": textbird_types::format_millis(v.created_at),
        }
    })
    .to_string()
}

impl super::SqlStore {
    pub async fn insert_verification(&self, v: &Verification) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO verifications ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            Verification::COLUMNS
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&v.id)
            .bind(&v.account_id)
            .bind(&v.phone)
            .bind(&v.status)
            .bind(&v.code_hash)
            .bind(&v.code_sealed)
            .bind(v.code_length)
            .bind(v.checks)
            .bind(v.sends)
            .bind(v.is_test)
            .bind(&v.message_id)
            .bind(v.expires_at)
            .bind(v.created_at)
            .bind(v.updated_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn find_verification(&self, account_id: &str, id: &str) -> Result<Option<Verification>, StoreError> {
        by_id(&self.pool, account_id, id).await
    }

    /// The newest verification of `phone` still pending (whether or not its time ran out).
    pub async fn pending_verification(
        &self,
        account_id: &str,
        phone: &str,
    ) -> Result<Option<Verification>, StoreError> {
        let sql = format!(
            "SELECT {} FROM verifications WHERE account_id = $1 AND phone = $2 AND status = 'pending' \
             ORDER BY created_at DESC, id DESC LIMIT 1",
            Verification::COLUMNS
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account_id).bind(phone).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(verification))
    }

    /// The newest verification of `phone`, whatever its status.
    pub async fn latest_verification(&self, account_id: &str, phone: &str) -> Result<Option<Verification>, StoreError> {
        let sql = format!(
            "SELECT {} FROM verifications WHERE account_id = $1 AND phone = $2 \
             ORDER BY created_at DESC, id DESC LIMIT 1",
            Verification::COLUMNS
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account_id).bind(phone).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(verification))
    }

    /// Newest first.
    pub async fn list_verifications(&self, account_id: &str, page: &Page) -> Result<Vec<Verification>, StoreError> {
        let mut qb: QueryBuilder<Db> =
            QueryBuilder::new(format!("SELECT {} FROM verifications WHERE account_id = ", Verification::COLUMNS));
        qb.push_bind(account_id.to_owned());
        if let Some(after) = &page.after {
            qb.push(" AND id < ").push_bind(after.clone());
        }
        qb.push(" ORDER BY id DESC LIMIT ").push_bind(page_limit(page.limit));
        Ok(qb.build().fetch_all(&self.pool).await?.iter().map(verification).collect())
    }

    /// Records one send: the send row, the verification's send count and its latest message.
    pub async fn record_verification_send(&self, send: &VerificationSend) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO verification_sends (verification_id, account_id, phone, prefix, client, message_id, sent_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&send.verification_id)
        .bind(&send.account_id)
        .bind(&send.phone)
        .bind(&send.prefix)
        .bind(&send.client)
        .bind(&send.message_id)
        .bind(send.sent_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE verifications SET sends = sends + 1, message_id = coalesce($1, message_id), updated_at = $2 \
             WHERE id = $3 AND account_id = $4",
        )
        .bind(&send.message_id)
        .bind(send.sent_at)
        .bind(&send.verification_id)
        .bind(&send.account_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sends of the account to `value` (a number, a prefix or a client hash) at or after
    /// `since`, and the oldest of them.
    pub async fn count_verification_sends(
        &self,
        account_id: &str,
        key: SendKey,
        value: &str,
        since: i64,
    ) -> Result<(i64, Option<i64>), StoreError> {
        let column = match key {
            SendKey::Phone => "phone",
            SendKey::Prefix => "prefix",
            SendKey::Client => "client",
        };
        let sql = format!(
            "SELECT count(*), min(sent_at) FROM verification_sends \
             WHERE account_id = $1 AND {column} = $2 AND sent_at >= $3"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(value)
            .bind(since)
            .fetch_one(&self.pool)
            .await?;
        Ok((row.get(0), row.get(1)))
    }

    /// Statuses of the last `limit` verifications of the account to numbers starting with
    /// `phone_prefix` (a `+` and digits) created before `before`.
    pub async fn recent_statuses(
        &self,
        account_id: &str,
        phone_prefix: &str,
        before: i64,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        let pattern = format!("{phone_prefix}%");
        let rows = sqlx::query(
            "SELECT status FROM verifications WHERE account_id = $1 AND phone LIKE $2 AND created_at < $3 \
             ORDER BY created_at DESC LIMIT $4",
        )
        .bind(account_id)
        .bind(pattern)
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// One check of a pending verification: counts it, and approves it when `matched`, locks it
    /// when the checks run out, expires it when its time ran out (a check of an expired
    /// verification is not counted). A verification no longer pending is returned as it is.
    pub async fn check_verification(
        &self,
        account_id: &str,
        id: &str,
        matched: bool,
        max_checks: i32,
        now: i64,
    ) -> Result<Option<CheckOutcome>, StoreError> {
        let mut tx = self.begin_write().await?;
        let Some(mut v) = by_id(&mut *tx, account_id, id).await? else {
            return Ok(None);
        };
        if v.status != "pending" {
            return Ok(Some(CheckOutcome { verification: v, approved: false }));
        }
        let (status, checks, event) = if v.expires_at <= now {
            ("expired", v.checks, "verification.expired")
        } else if matched {
            ("approved", v.checks + 1, "verification.approved")
        } else if v.checks + 1 >= max_checks {
            ("max_attempts_reached", v.checks + 1, "verification.max_attempts_reached")
        } else {
            ("pending", v.checks + 1, "")
        };
        let changed = sqlx::query(
            "UPDATE verifications SET status = $1, checks = $2, updated_at = $3 \
             WHERE id = $4 AND account_id = $5 AND status = 'pending' AND checks = $6",
        )
        .bind(status)
        .bind(checks)
        .bind(now)
        .bind(id)
        .bind(account_id)
        .bind(v.checks)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            // Another check won the race; this one counts as a failure of its own.
            tx.commit().await?;
            return Ok(self
                .find_verification(account_id, id)
                .await?
                .map(|v| CheckOutcome { verification: v, approved: false }));
        }
        v.status = status.to_owned();
        v.checks = checks;
        v.updated_at = now;
        let queued = if event.is_empty() { false } else { self.close_verification(&mut tx, &v, event, now).await? };
        tx.commit().await?;
        if queued {
            self.signals.notify_deliveries();
        }
        Ok(Some(CheckOutcome { approved: status == "approved", verification: v }))
    }

    /// Moves a pending verification to `status` (expired, canceled) with its webhook; the
    /// verification as it is afterwards, `None` when there is none.
    pub async fn end_verification(
        &self,
        account_id: &str,
        id: &str,
        status: &str,
        event: &'static str,
        now: i64,
    ) -> Result<Option<Verification>, StoreError> {
        let mut tx = self.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE verifications SET status = $1, updated_at = $2 WHERE id = $3 AND account_id = $4 AND status = 'pending'",
        )
        .bind(status)
        .bind(now)
        .bind(id)
        .bind(account_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let v = by_id(&mut *tx, account_id, id).await?;
        let mut queued = false;
        if changed > 0
            && let Some(v) = &v
        {
            queued = self.close_verification(&mut tx, v, event, now).await?;
        }
        tx.commit().await?;
        if queued {
            self.signals.notify_deliveries();
        }
        Ok(v)
    }

    /// What ending a verification does besides its status: the sealed texts of its messages
    /// are dropped (the code is of no use any more) and its webhooks are queued.
    async fn close_verification(
        &self,
        tx: &mut sqlx::Transaction<'static, Db>,
        v: &Verification,
        event: &'static str,
        now: i64,
    ) -> Result<bool, StoreError> {
        sqlx::query(
            "DELETE FROM message_secrets WHERE message_id IN \
             (SELECT message_id FROM verification_sends WHERE verification_id = $1 AND message_id IS NOT NULL)",
        )
        .bind(&v.id)
        .execute(&mut **tx)
        .await?;
        let mut fan = Fanout::default();
        // Delivered by the real clock: `now` runs ahead of it under `[verifications] test_clock`.
        let payload = verification_payload(event, v, now);
        fan.webhooks(&self.webhooks, &v.account_id, event, None, &payload, textbird_types::now_millis());
        let queued = fan.has_deliveries();
        fan.flush(tx).await?;
        Ok(queued)
    }

    /// The active block of `prefix` for the account, if any.
    pub async fn prefix_block(
        &self,
        account_id: &str,
        prefix: &str,
        now: i64,
    ) -> Result<Option<PrefixBlock>, StoreError> {
        let row = sqlx::query(
            "SELECT prefix, reason, blocked_at, blocked_until FROM prefix_blocks \
             WHERE account_id = $1 AND prefix = $2 AND blocked_until > $3",
        )
        .bind(account_id)
        .bind(prefix)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| PrefixBlock {
            prefix: r.get(0),
            reason: r.get(1),
            blocked_at: r.get(2),
            blocked_until: r.get(3),
        }))
    }

    /// Blocks `prefix` for the account until `until` and queues `verification.blocked`
    /// webhooks; false when it was blocked already (nothing queued again).
    pub async fn block_prefix(
        &self,
        account_id: &str,
        prefix: &str,
        reason: &str,
        now: i64,
        until: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM prefix_blocks WHERE account_id = $1 AND prefix = $2 AND blocked_until <= $3")
            .bind(account_id)
            .bind(prefix)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO prefix_blocks (account_id, prefix, reason, blocked_at, blocked_until) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, prefix) DO NOTHING",
        )
        .bind(account_id)
        .bind(prefix)
        .bind(reason)
        .bind(now)
        .bind(until)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let mut queued = false;
        if inserted {
            let payload = serde_json::json!({
                "type": "verification.blocked",
                "timestamp": textbird_types::format_millis(now),
                "data": {
                    "prefix": prefix,
                    "reason": reason,
                    "blocked_until": textbird_types::format_millis(until),
                }
            })
            .to_string();
            let mut fan = Fanout::default();
            fan.webhooks(
                &self.webhooks,
                account_id,
                "verification.blocked",
                None,
                &payload,
                textbird_types::now_millis(),
            );
            queued = fan.has_deliveries();
            fan.flush(&mut tx).await?;
        }
        tx.commit().await?;
        if queued {
            self.signals.notify_deliveries();
        }
        Ok(inserted)
    }

    /// The account's own fraud settings, cached with what every send consults.
    pub async fn account_fraud_settings(&self, account_id: &str) -> Result<AccountFraudSettings, StoreError> {
        Ok(self.send_facts(account_id).await?.fraud.clone())
    }

    pub(crate) async fn load_fraud_settings(&self, account_id: &str) -> Result<AccountFraudSettings, StoreError> {
        let row =
            sqlx::query("SELECT allowed_countries, daily_spend_cap FROM account_fraud_settings WHERE account_id = $1")
                .bind(account_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row
            .map(|r| AccountFraudSettings {
                allowed_countries: r
                    .get::<Option<String>, _>(0)
                    .map(|c| c.split(',').filter(|c| !c.is_empty()).map(str::to_owned).collect()),
                daily_spend_cap: r.get(1),
            })
            .unwrap_or_default())
    }

    pub async fn put_account_fraud_settings(
        &self,
        account_id: &str,
        settings: &AccountFraudSettings,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO account_fraud_settings (account_id, allowed_countries, daily_spend_cap, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (account_id) DO UPDATE SET \
             allowed_countries = excluded.allowed_countries, daily_spend_cap = excluded.daily_spend_cap, \
             updated_at = excluded.updated_at",
        )
        .bind(account_id)
        .bind(settings.allowed_countries.as_ref().map(|c| c.join(",")))
        .bind(settings.daily_spend_cap)
        .bind(now)
        .execute(&self.pool)
        .await?;
        self.facts_changed(account_id).await
    }

    /// What the account's messages created at or after `since` cost (in micros).
    pub async fn spent_since(&self, account_id: &str, since: i64) -> Result<i64, StoreError> {
        // Message ids are UUIDv7, ordered by their creation time: the account's index on
        // (account_id, id) finds the day's messages without an index of its own.
        let first_id = format!("{:08x}-{:04x}-0000-0000-000000000000", since >> 16, since & 0xffff);
        let row = sqlx::query(
            "SELECT CAST(coalesce(sum(price), 0) AS BIGINT) FROM messages WHERE account_id = $1 AND id >= $2",
        )
        .bind(account_id)
        .bind(first_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.get(0))
    }

    pub async fn message_secrets(&self, ids: &[&str]) -> Result<Vec<(String, String)>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb: QueryBuilder<Db> =
            QueryBuilder::new("SELECT message_id, sealed FROM message_secrets WHERE message_id IN (");
        let mut sep = qb.separated(", ");
        for id in ids {
            sep.push_bind((*id).to_owned());
        }
        qb.push(")");
        Ok(qb.build().fetch_all(&self.pool).await?.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}
