//! Webhook outbox: leasing due deliveries and recording attempts.

use sqlx::Row;

use super::Conn;

use super::super::SKIP_LOCKED;
use super::DISABLE_AFTER_MS;
use crate::StoreError;
use crate::model::{AttemptResult, DeliveryJob, DeliveryNext};
use crate::webhook_cache::WebhookCache;

pub(super) async fn record_attempts(
    c: &mut Conn,
    results: &[AttemptResult],
    hooks: &WebhookCache,
) -> Result<(), StoreError> {
    for a in results {
        sqlx::query(
            "INSERT INTO webhook_attempts (delivery_id, account_id, status_code, error, duration_ms, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&a.delivery_id)
        .bind(&a.account_id)
        .bind(a.status_code.map(i32::from))
        .bind(&a.error)
        .bind(a.duration_ms)
        .bind(a.at)
        .execute(&mut *c)
        .await?;
        let (state, next_at) = match &a.next {
            DeliveryNext::Succeeded => ("succeeded", a.at),
            DeliveryNext::RetryAt(t) => ("pending", *t),
            DeliveryNext::Dead | DeliveryNext::DisableEndpoint(_) => ("failed", a.at),
        };
        sqlx::query(
            "UPDATE webhook_deliveries SET state = $1, attempts = attempts + 1, next_attempt_at = $2, last_status = $3, \
             last_error = $4, updated_at = $5 WHERE id = $6",
        )
        .bind(state)
        .bind(next_at)
        .bind(a.status_code.map(i32::from))
        .bind(&a.error)
        .bind(a.at)
        .bind(&a.delivery_id)
        .execute(&mut *c)
        .await?;
        let Some(webhook_id) = &a.webhook_id else { continue };
        let disable_reason = match &a.next {
            DeliveryNext::Succeeded => {
                sqlx::query("UPDATE webhooks SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL")
                    .bind(webhook_id)
                    .execute(&mut *c)
                    .await?;
                None
            }
            DeliveryNext::DisableEndpoint(reason) => Some(reason.clone()),
            DeliveryNext::RetryAt(_) | DeliveryNext::Dead => {
                let row = sqlx::query(
                    "UPDATE webhooks SET failing_since = coalesce(failing_since, $1) WHERE id = $2 RETURNING failing_since",
                )
                .bind(a.at)
                .bind(webhook_id)
                .fetch_optional(&mut *c)
                .await?;
                row.and_then(|r| r.get::<Option<i64>, _>(0))
                    .filter(|since| a.at - since >= DISABLE_AFTER_MS)
                    .map(|_| "failing for 5 days".to_owned())
            }
        };
        if let Some(reason) = disable_reason {
            sqlx::query("UPDATE webhooks SET enabled = FALSE, disabled_reason = $1, updated_at = $2 WHERE id = $3")
                .bind(&reason)
                .bind(a.at)
                .bind(webhook_id)
                .execute(&mut *c)
                .await?;
            sqlx::query("UPDATE webhook_deliveries SET state = 'canceled', updated_at = $1 WHERE webhook_id = $2 AND state = 'pending'")
                .bind(a.at)
                .bind(webhook_id)
                .execute(&mut *c)
                .await?;
            hooks.disable(webhook_id, &reason);
            super::super::announce(&mut *c, "webhooks").await?;
            tracing::warn!(webhook_id = %webhook_id, reason = %reason, "webhook endpoint disabled");
        }
    }
    Ok(())
}

pub(super) async fn claim_deliveries(
    c: &mut Conn,
    now: i64,
    lease_until: i64,
    limit: u32,
) -> Result<Vec<DeliveryJob>, StoreError> {
    let sql = format!(
        "UPDATE webhook_deliveries SET next_attempt_at = $1, updated_at = $2 WHERE id IN (SELECT id FROM webhook_deliveries \
         WHERE state = 'pending' AND next_attempt_at <= $3 ORDER BY next_attempt_at LIMIT ($4 + 0){SKIP_LOCKED}) \
         RETURNING id, account_id, webhook_id, url, event_type, payload, attempts, created_at"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(lease_until)
        .bind(now)
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&mut *c)
        .await?;
    Ok(rows
        .iter()
        .map(|r| DeliveryJob {
            id: r.get(0),
            account_id: r.get(1),
            webhook_id: r.get(2),
            url: r.get(3),
            event_type: r.get(4),
            payload: r.get(5),
            attempts: r.get(6),
            created_at: r.get(7),
        })
        .collect())
}
