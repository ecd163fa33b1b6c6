//! Broadcast records, and the progress each accepted chunk commits with its messages.

use sqlx::{QueryBuilder, Row};

use super::{Conn, Db, DbRow};
use crate::StoreError;
use crate::broadcasts_api::{Breakdown, Broadcast, BroadcastFilter, Campaign, Segment, StatusCount};
use crate::model::{BroadcastProgress, Page};

const COLUMNS: &str = "id, account_id, name, status, pause_reason, spec, send_at, recipients, read_count, expanded, \
     skipped_duplicate, skipped_opted_out, skipped_unsubscribed, skipped_invalid, total_price, position, created_at, \
     updated_at, completed_at, skipped_frequency_cap, deferred, campaign_id";

fn broadcast(r: &DbRow) -> Broadcast {
    Broadcast {
        id: r.get(0),
        account_id: r.get(1),
        name: r.get(2),
        status: r.get(3),
        pause_reason: r.get(4),
        spec: r.get(5),
        send_at: r.get(6),
        recipients: r.get(7),
        read: r.get(8),
        expanded: r.get(9),
        skipped_duplicate: r.get(10),
        skipped_opted_out: r.get(11),
        skipped_unsubscribed: r.get(12),
        skipped_invalid: r.get(13),
        total_price: r.get(14),
        position: r.get(15),
        created_at: r.get(16),
        updated_at: r.get(17),
        completed_at: r.get(18),
        skipped_frequency_cap: r.get(19),
        deferred: r.get(20),
        campaign_id: r.get(21),
    }
}

/// Advances a broadcast by one chunk, in the transaction that stores the chunk's messages.
pub(super) async fn advance(c: &mut Conn, account_id: &str, p: &BroadcastProgress, now: i64) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE broadcasts SET position = $1, read_count = read_count + $2, expanded = expanded + $3, \
         skipped_duplicate = skipped_duplicate + $4, skipped_opted_out = skipped_opted_out + $5, \
         skipped_unsubscribed = skipped_unsubscribed + $6, skipped_invalid = skipped_invalid + $7, \
         total_price = total_price + $8, \
         status = CASE WHEN $9 AND status = 'expanding' THEN 'running' ELSE status END, updated_at = $10, \
         skipped_frequency_cap = skipped_frequency_cap + $13, deferred = deferred + $14 \
         WHERE id = $11 AND account_id = $12",
    )
    .bind(&p.position)
    .bind(p.read)
    .bind(p.expanded)
    .bind(p.skipped_duplicate)
    .bind(p.skipped_opted_out)
    .bind(p.skipped_unsubscribed)
    .bind(p.skipped_invalid)
    .bind(p.price)
    .bind(p.done)
    .bind(now)
    .bind(&p.broadcast_id)
    .bind(account_id)
    .bind(p.skipped_frequency_cap)
    .bind(p.deferred)
    .execute(&mut *c)
    .await?;
    for chunk in p.skipped_numbers.chunks(250) {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new("INSERT INTO broadcast_skips (broadcast_id, phone) ");
        qb.push_values(chunk, |mut q, phone| {
            q.push_bind(&p.broadcast_id).push_bind(phone);
        });
        qb.push(" ON CONFLICT DO NOTHING");
        qb.build().execute(&mut *c).await?;
    }
    if let Some(idx) = p.segment {
        sqlx::query(
            "UPDATE broadcast_segments SET expanded = expanded + $1, \
             completed_at = CASE WHEN expanded + $2 >= size OR $3 THEN $4 ELSE completed_at END \
             WHERE broadcast_id = $5 AND idx = $6",
        )
        .bind(p.expanded)
        .bind(p.expanded)
        .bind(p.done)
        .bind(now)
        .bind(&p.broadcast_id)
        .bind(idx)
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

impl super::SqlStore {
    pub async fn create_broadcast(&self, b: &Broadcast) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO broadcasts (id, account_id, name, status, pause_reason, spec, send_at, recipients, position, \
             created_at, updated_at, campaign_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&b.id)
        .bind(&b.account_id)
        .bind(&b.name)
        .bind(&b.status)
        .bind(&b.pause_reason)
        .bind(&b.spec)
        .bind(b.send_at)
        .bind(b.recipients)
        .bind(&b.position)
        .bind(b.created_at)
        .bind(b.updated_at)
        .bind(&b.campaign_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn find_broadcast(&self, account_id: &str, id: &str) -> Result<Option<Broadcast>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM broadcasts WHERE account_id = $1 AND id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account_id).bind(id).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(broadcast))
    }

    pub async fn list_broadcasts(
        &self,
        account_id: &str,
        f: &BroadcastFilter,
        page: &Page,
    ) -> Result<Vec<Broadcast>, StoreError> {
        let mut qb: QueryBuilder<Db> =
            QueryBuilder::new(format!("SELECT {COLUMNS} FROM broadcasts WHERE account_id = "));
        qb.push_bind(account_id);
        if let Some(after) = &page.after {
            qb.push(" AND id < ").push_bind(after);
        }
        if let Some(s) = &f.status {
            qb.push(" AND status = ").push_bind(s);
        }
        if let Some(c) = &f.campaign_id {
            qb.push(" AND campaign_id = ").push_bind(c);
        }
        if let Some(n) = &f.name_contains {
            qb.push(" AND lower(name) LIKE ").push_bind(format!("%{}%", n.to_lowercase()));
        }
        if let Some(t) = f.created_from {
            qb.push(" AND created_at >= ").push_bind(t);
        }
        if let Some(t) = f.created_to {
            qb.push(" AND created_at < ").push_bind(t);
        }
        if let Some(t) = f.send_from {
            qb.push(" AND coalesce(send_at, created_at) >= ").push_bind(t);
        }
        if let Some(t) = f.send_to {
            qb.push(" AND coalesce(send_at, created_at) < ").push_bind(t);
        }
        qb.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(page.limit));
        Ok(qb.build().fetch_all(&self.pool).await?.iter().map(broadcast).collect())
    }

    pub async fn set_broadcast_status(
        &self,
        account_id: &str,
        id: &str,
        from: &[&str],
        to: &str,
        pause_reason: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new("UPDATE broadcasts SET status = ");
        qb.push_bind(to).push(", pause_reason = ").push_bind(pause_reason).push(", updated_at = ").push_bind(now);
        if to == "completed" || to == "canceled" {
            qb.push(", completed_at = ").push_bind(now);
        }
        qb.push(" WHERE account_id = ").push_bind(account_id).push(" AND id = ").push_bind(id).push(" AND status IN (");
        let mut list = qb.separated(", ");
        for s in from {
            list.push_bind(*s);
        }
        qb.push(")");
        Ok(qb.build().execute(&self.pool).await?.rows_affected() == 1)
    }

    pub async fn open_broadcasts(&self, limit: u32) -> Result<Vec<Broadcast>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM broadcasts WHERE status IN ('expanding', 'running') \
             OR (status = 'paused' AND pause_reason = 'insufficient_balance') ORDER BY created_at LIMIT $1"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(i64::from(limit)).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(broadcast).collect())
    }

    pub async fn batch_status_counts(&self, account_id: &str, batch_id: &str) -> Result<Vec<StatusCount>, StoreError> {
        let rows = sqlx::query(
            "SELECT status, count(*), CAST(coalesce(sum(price), 0) AS BIGINT) FROM messages WHERE account_id = $1 AND batch_id = $2 \
             GROUP BY status",
        )
        .bind(account_id)
        .bind(batch_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| StatusCount { status: r.get(0), count: r.get(1), price: r.get::<i64, _>(2) }).collect())
    }

    pub async fn hold_batch(
        &self,
        account_id: &str,
        batch_id: &str,
        hold: bool,
        shift_ms: i64,
    ) -> Result<u64, StoreError> {
        let sql = if hold {
            "UPDATE messages SET next_attempt_at = $1 WHERE account_id = $2 AND batch_id = $3 \
             AND status = 'scheduled' AND trigger_id IS NULL AND $4 = $4"
        } else {
            "UPDATE messages SET next_attempt_at = coalesce(send_at, created_at) + $4 WHERE next_attempt_at = $1 \
             AND account_id = $2 AND batch_id = $3 AND status = 'scheduled' AND trigger_id IS NULL"
        };
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(sql)
            .bind(super::content::WAITING_FOR_TRIGGER)
            .bind(account_id)
            .bind(batch_id)
            .bind(shift_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n)
    }

    pub async fn scheduled_of_batch(
        &self,
        account_id: &str,
        batch_id: &str,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT id FROM messages WHERE account_id = $1 AND batch_id = $2 AND status = 'scheduled' LIMIT $3",
        )
        .bind(account_id)
        .bind(batch_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    pub async fn batch_numbers(&self, batch_id: &str, phones: &[&str]) -> Result<Vec<String>, StoreError> {
        if phones.is_empty() {
            return Ok(Vec::new());
        }
        // One index probe per number, whatever plan the database keeps for the statement (a
        // generic plan for `to_number IN (...)` scans every message of the batch instead).
        let mut qb: QueryBuilder<Db> = QueryBuilder::new("WITH v(phone) AS (VALUES ");
        let mut list = qb.separated(", ");
        for p in phones {
            list.push("(").push_bind_unseparated(*p).push_unseparated(")");
        }
        qb.push(") SELECT v.phone FROM v WHERE EXISTS (SELECT 1 FROM messages m WHERE m.batch_id = ");
        qb.push_bind(batch_id);
        qb.push(" AND m.to_number = v.phone) OR EXISTS (SELECT 1 FROM broadcast_skips s WHERE s.broadcast_id = ");
        qb.push_bind(batch_id);
        qb.push(" AND s.phone = v.phone)");
        Ok(qb.build().fetch_all(&self.pool).await?.iter().map(|r| r.get(0)).collect())
    }
}

impl super::SqlStore {
    /// Queues the webhooks of an account-level event (`broadcast.*`) to every endpoint of the
    /// account that subscribes to it.
    pub async fn queue_event(
        &self,
        account_id: &str,
        event_type: &'static str,
        payload: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        let mut fan = super::batch::Fanout::default();
        fan.webhooks(&self.webhooks, account_id, event_type, None, payload, at);
        if !fan.has_deliveries() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        fan.flush(&mut tx).await?;
        tx.commit().await?;
        self.signals.notify_deliveries();
        Ok(())
    }
}

impl super::SqlStore {
    /// Takes (or renews) the right to expand a broadcast until `until`; false while another
    /// worker holds it.
    pub async fn lease_broadcast(&self, id: &str, owner: &str, now: i64, until: i64) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE broadcasts SET lease_owner = $1, lease_until = $2 WHERE id = $3 \
             AND (lease_owner IS NULL OR lease_owner = $4 OR lease_until < $5)",
        )
        .bind(owner)
        .bind(until)
        .bind(id)
        .bind(owner)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }
}

impl super::SqlStore {
    pub async fn broadcast_message_counts(
        &self,
        account_id: &str,
        phones: &[&str],
        since: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        if phones.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(
            "SELECT m.to_number, count(*) FROM messages m JOIN broadcasts b ON b.id = m.batch_id \
             WHERE m.account_id = ",
        );
        qb.push_bind(account_id)
            .push(" AND b.account_id = ")
            .push_bind(account_id)
            .push(" AND m.status <> 'canceled' AND m.created_at >= ")
            .push_bind(since)
            .push(" AND m.to_number IN (");
        let mut list = qb.separated(", ");
        for p in phones {
            list.push_bind(*p);
        }
        qb.push(") GROUP BY m.to_number");
        Ok(qb.build().fetch_all(&self.pool).await?.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}

impl super::SqlStore {
    pub async fn batch_breakdown(&self, account_id: &str, batch_id: &str) -> Result<Breakdown, StoreError> {
        let prefixes = sqlx::query(
            "SELECT min(to_number), count(*), \
             CAST(coalesce(sum(CASE WHEN status <> 'canceled' THEN price ELSE 0 END), 0) AS BIGINT) \
             FROM messages WHERE account_id = $1 AND batch_id = $2 GROUP BY substr(to_number, 1, 5)",
        )
        .bind(account_id)
        .bind(batch_id)
        .fetch_all(&self.pool)
        .await?;
        let hours = sqlx::query(
            "SELECT coalesce(send_at, created_at) / 3600000 AS hour, count(*) FROM messages \
             WHERE account_id = $1 AND batch_id = $2 GROUP BY coalesce(send_at, created_at) / 3600000 ORDER BY hour",
        )
        .bind(account_id)
        .bind(batch_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(Breakdown {
            by_prefix: prefixes.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect(),
            by_hour: hours.iter().map(|r| (r.get::<i64, _>(0) * 3_600_000, r.get(1))).collect(),
        })
    }
}

const SEGMENT_COLUMNS: &str = "broadcast_id, idx, size, expanded, body, template_id, send_at, started_at, completed_at";

fn segment(r: &DbRow) -> Segment {
    Segment {
        broadcast_id: r.get(0),
        index: r.get(1),
        size: r.get(2),
        expanded: r.get(3),
        body: r.get(4),
        template_id: r.get(5),
        send_at: r.get(6),
        started_at: r.get(7),
        completed_at: r.get(8),
    }
}

impl super::SqlStore {
    pub async fn create_segment(&self, s: &Segment) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "INSERT INTO broadcast_segments (broadcast_id, idx, size, body, template_id, send_at, started_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (broadcast_id, idx) DO NOTHING",
        )
        .bind(&s.broadcast_id)
        .bind(s.index)
        .bind(s.size)
        .bind(&s.body)
        .bind(&s.template_id)
        .bind(s.send_at)
        .bind(s.started_at)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn segments(&self, broadcast_id: &str) -> Result<Vec<Segment>, StoreError> {
        let sql = format!("SELECT {SEGMENT_COLUMNS} FROM broadcast_segments WHERE broadcast_id = $1 ORDER BY idx");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(broadcast_id).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(segment).collect())
    }

    pub async fn batch_window_counts(
        &self,
        account_id: &str,
        batch_id: &str,
        from: i64,
        to: i64,
    ) -> Result<(Vec<StatusCount>, i64, i64), StoreError> {
        let rows = sqlx::query(
            "SELECT status, count(*), CAST(coalesce(sum(price), 0) AS BIGINT) FROM messages \
             WHERE account_id = $1 AND batch_id = $2 AND created_at >= $3 AND created_at < $4 GROUP BY status",
        )
        .bind(account_id)
        .bind(batch_id)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        let counts = rows.iter().map(|r| StatusCount { status: r.get(0), count: r.get(1), price: r.get(2) }).collect();
        let clicks = sqlx::query(
            "SELECT CAST(coalesce(sum(c.n), 0) AS BIGINT), count(s.first_clicked_at) FROM short_links s \
             JOIN messages m ON m.id = s.message_id \
             LEFT JOIN (SELECT code, count(*) AS n FROM link_clicks GROUP BY code) c ON c.code = s.code \
             WHERE s.account_id = $1 AND s.batch_id = $2 AND s.kind <> 'unsubscribe' \
             AND m.created_at >= $3 AND m.created_at < $4",
        )
        .bind(account_id)
        .bind(batch_id)
        .bind(from)
        .bind(to)
        .fetch_one(&self.pool)
        .await?;
        Ok((counts, clicks.get(0), clicks.get(1)))
    }
}

const CAMPAIGN_COLUMNS: &str =
    "id, account_id, name, start_date, end_date, enabled, is_default, created_at, updated_at";

fn campaign(r: &DbRow) -> Campaign {
    Campaign {
        id: r.get(0),
        account_id: r.get(1),
        name: r.get(2),
        start_date: r.get(3),
        end_date: r.get(4),
        enabled: r.get(5),
        is_default: r.get(6),
        created_at: r.get(7),
        updated_at: r.get(8),
    }
}

impl super::SqlStore {
    /// Stores a campaign; a second default campaign of one account is not stored (false).
    pub async fn create_campaign(&self, c: &Campaign) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "INSERT INTO campaigns (id, account_id, name, start_date, end_date, enabled, is_default, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
        )
        .bind(&c.id)
        .bind(&c.account_id)
        .bind(&c.name)
        .bind(c.start_date)
        .bind(c.end_date)
        .bind(c.enabled)
        .bind(c.is_default)
        .bind(c.created_at)
        .bind(c.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn find_campaign(&self, account_id: &str, id: &str) -> Result<Option<Campaign>, StoreError> {
        let sql = format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE account_id = $1 AND id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account_id).bind(id).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(campaign))
    }

    pub async fn default_campaign(&self, account_id: &str) -> Result<Option<Campaign>, StoreError> {
        let sql = format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE account_id = $1 AND is_default");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account_id).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(campaign))
    }

    pub async fn list_campaigns(&self, account_id: &str, page: &Page) -> Result<Vec<Campaign>, StoreError> {
        let mut qb: QueryBuilder<Db> =
            QueryBuilder::new(format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE account_id = "));
        qb.push_bind(account_id);
        if let Some(after) = &page.after {
            qb.push(" AND id < ").push_bind(after);
        }
        qb.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(page.limit));
        Ok(qb.build().fetch_all(&self.pool).await?.iter().map(campaign).collect())
    }

    pub async fn update_campaign(&self, c: &Campaign) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE campaigns SET name = $1, start_date = $2, end_date = $3, enabled = $4, updated_at = $5 \
             WHERE account_id = $6 AND id = $7",
        )
        .bind(&c.name)
        .bind(c.start_date)
        .bind(c.end_date)
        .bind(c.enabled)
        .bind(c.updated_at)
        .bind(&c.account_id)
        .bind(&c.id)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }
}
