//! Webhook outbox: leasing due deliveries and recording attempts.

use sqlx::{Row, SqliteConnection};

use super::DISABLE_AFTER_MS;
use crate::StoreError;
use crate::model::{AttemptResult, DeliveryJob, DeliveryNext};
use crate::webhook_cache::WebhookCache;

pub(super) async fn record_attempts(
    c: &mut SqliteConnection,
    results: &[AttemptResult],
    hooks: &WebhookCache,
) -> Result<(), StoreError> {
    for a in results {
        sqlx::query(
            "INSERT INTO webhook_attempts (delivery_id, account_id, status_code, error, duration_ms, created_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&a.delivery_id)
        .bind(&a.account_id)
        .bind(a.status_code.map(i64::from))
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
            "UPDATE webhook_deliveries SET state = ?, attempts = attempts + 1, next_attempt_at = ?, last_status = ?, \
             last_error = ?, updated_at = ? WHERE id = ?",
        )
        .bind(state)
        .bind(next_at)
        .bind(a.status_code.map(i64::from))
        .bind(&a.error)
        .bind(a.at)
        .bind(&a.delivery_id)
        .execute(&mut *c)
        .await?;
        let Some(webhook_id) = &a.webhook_id else { continue };
        let disable_reason = match &a.next {
            DeliveryNext::Succeeded => {
                sqlx::query("UPDATE webhooks SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL")
                    .bind(webhook_id)
                    .execute(&mut *c)
                    .await?;
                None
            }
            DeliveryNext::DisableEndpoint(reason) => Some(reason.clone()),
            DeliveryNext::RetryAt(_) | DeliveryNext::Dead => {
                let row = sqlx::query(
                    "UPDATE webhooks SET failing_since = coalesce(failing_since, ?) WHERE id = ? RETURNING failing_since",
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
            sqlx::query("UPDATE webhooks SET enabled = FALSE, disabled_reason = ?, updated_at = ? WHERE id = ?")
                .bind(&reason)
                .bind(a.at)
                .bind(webhook_id)
                .execute(&mut *c)
                .await?;
            sqlx::query("UPDATE webhook_deliveries SET state = 'canceled', updated_at = ? WHERE webhook_id = ? AND state = 'pending'")
                .bind(a.at)
                .bind(webhook_id)
                .execute(&mut *c)
                .await?;
            hooks.disable(webhook_id, &reason);
            tracing::warn!(webhook_id = %webhook_id, reason = %reason, "webhook endpoint disabled");
        }
    }
    Ok(())
}

pub(super) async fn claim_deliveries(
    c: &mut SqliteConnection,
    now: i64,
    lease_until: i64,
    limit: u32,
) -> Result<Vec<DeliveryJob>, StoreError> {
    let rows = sqlx::query(
        "UPDATE webhook_deliveries SET next_attempt_at = ?, updated_at = ? WHERE id IN (SELECT id FROM webhook_deliveries \
         WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?) \
         RETURNING id, account_id, webhook_id, url, event_type, payload, attempts, created_at",
    )
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
