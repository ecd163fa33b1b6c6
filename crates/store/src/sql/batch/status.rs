//! Status transitions, cancels and queue claims, with the events, refunds and outbox rows
//! that follow from them.

use std::collections::HashMap;

use sqlx::{QueryBuilder, Row};

use super::{Conn, Db, DbRow};
use textbird_types::{Status, now_millis};

use super::super::{FOR_UPDATE, SKIP_LOCKED};
use super::{Fanout, PROMOTE_LIMIT, ROWS_PER_STATEMENT, TERMINAL, TRANSITION_COLUMNS, message_payload};
use crate::StoreError;
use crate::model::{Claim, DispatchItem, ReplaceOutcome, Replacement, StatusChange};
use crate::webhook_cache::WebhookCache;

/// Records what follows from rows that just changed state (read back with `TRANSITION_COLUMNS`).
pub(super) fn record_transitions(
    rows: &[DbRow],
    at: i64,
    details: &HashMap<&str, Option<&str>>,
    refund: &dyn Fn(&str, Status) -> bool,
    fan: &mut Fanout,
    hooks: &WebhookCache,
) {
    for r in rows {
        let id: String = r.get(0);
        let account: String = r.get(1);
        let status_text: String = r.get(8);
        let Ok(status) = status_text.parse::<Status>() else { continue };
        let price: i64 = r.get(5);
        let callback: Option<String> = r.get(7);
        let event_type = status.event_type();
        let detail = details.get(id.as_str()).copied().flatten().map(str::to_owned);
        *fan.transitions.entry(status.as_str()).or_default() += 1;
        fan.queued |= status == Status::Queued;
        if price > 0 && refund(&id, status) {
            fan.refunds.push((account.clone(), id.clone(), price, at));
        }
        if callback.is_some() || !hooks.subscribers(&account, event_type).is_empty() {
            let error_code: Option<String> = r.get(9);
            let error_detail: Option<String> = r.get(10);
            let payload = message_payload(
                event_type,
                at,
                &id,
                &r.get::<String, _>(2),
                &r.get::<String, _>(3),
                status.as_str(),
                r.get(4),
                price,
                r.get::<Option<String>, _>(6).as_deref(),
                error_code.as_deref(),
                error_detail.as_deref(),
                r.get(11),
            );
            fan.webhooks(hooks, &account, event_type, callback.as_deref(), &payload, at);
        }
        if fan.notify && status.is_terminal() {
            fan.notices.push(crate::signals::Notice::Final {
                message_id: id.clone(),
                account_id: account.clone(),
                to: r.get(2),
                from: r.get(3),
                status: status.as_str().to_owned(),
                error_code: r.get(9),
                created_at: r.get(11),
                at,
            });
        }
        fan.events.push((id, status.as_str(), detail, at));
    }
}

pub(super) fn is_failure(status: Status) -> bool {
    matches!(status, Status::Undelivered | Status::Expired | Status::Rejected | Status::Failed)
}

/// Splits changes so no message appears twice in one statement (UPDATE ... FROM needs one
/// source row per target); later changes of a message go to later rounds.
pub(super) fn rounds(changes: &[StatusChange]) -> Vec<Vec<&StatusChange>> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut rounds: Vec<Vec<&StatusChange>> = Vec::new();
    for ch in changes {
        let n = seen.entry(ch.message_id.as_str()).or_default();
        if rounds.len() <= *n {
            rounds.push(Vec::new());
        }
        rounds[*n].push(ch);
        *n += 1;
    }
    rounds
}

pub(super) async fn apply_status(
    c: &mut Conn,
    changes: &[StatusChange],
    fan: &mut Fanout,
    hooks: &WebhookCache,
) -> Result<usize, StoreError> {
    let mut applied = 0;
    for round in rounds(changes) {
        let (retries, moves): (Vec<&StatusChange>, Vec<&StatusChange>) =
            round.into_iter().partition(|c| c.retry_at.is_some());
        for chunk in retries.chunks(ROWS_PER_STATEMENT) {
            let mut qb: QueryBuilder<Db> = QueryBuilder::new(
                "UPDATE messages SET next_attempt_at = v.column2, error_code = v.column3, error_detail = v.column4, \
                 updated_at = v.column5, lease_owner = NULL, lease_until = NULL, \
                 possible_duplicate = possible_duplicate OR v.column6 FROM (",
            );
            qb.push_values(chunk, |mut b, ch| {
                b.push_bind(&ch.message_id)
                    .push_bind(ch.retry_at)
                    .push_bind(&ch.error_code)
                    .push_bind(&ch.detail)
                    .push_bind(ch.at)
                    .push_bind(ch.possible_duplicate);
            });
            qb.push(") AS v WHERE messages.id = v.column1 AND messages.status = 'queued' RETURNING messages.id");
            let ids: Vec<String> = qb.build().fetch_all(&mut *c).await?.iter().map(|r| r.get(0)).collect();
            let by_id: HashMap<&str, &StatusChange> = chunk.iter().map(|ch| (ch.message_id.as_str(), *ch)).collect();
            for id in ids {
                let ch = by_id[id.as_str()];
                let detail = format!("retry: {}", ch.detail.as_deref().unwrap_or("temporary failure"));
                fan.events.push((id, "queued", Some(detail), ch.at));
            }
        }
        for chunk in moves.chunks(ROWS_PER_STATEMENT) {
            let mut qb: QueryBuilder<Db> = QueryBuilder::new(
                "UPDATE messages SET status = v.column2, updated_at = v.column3, \
                 connector = coalesce(v.column4, messages.connector), carrier_id = coalesce(v.column5, messages.carrier_id), \
                 error_code = coalesce(v.column6, messages.error_code), error_detail = coalesce(v.column7, messages.error_detail), \
                 lease_owner = NULL, lease_until = NULL FROM (",
            );
            qb.push_values(chunk, |mut b, ch| {
                b.push_bind(&ch.message_id)
                    .push_bind(ch.status.as_str())
                    .push_bind(ch.at)
                    .push_bind(&ch.connector)
                    .push_bind(&ch.carrier_id)
                    .push_bind(&ch.error_code)
                    // The detail describes the error only for outcomes that are failures.
                    .push_bind(if ch.error_code.is_some() || is_failure(ch.status) {
                        ch.detail.as_deref()
                    } else {
                        None
                    });
            });
            qb.push(format!(
                ") AS v WHERE messages.id = v.column1 AND messages.status NOT IN {TERMINAL} \
                 AND messages.status <> v.column2 RETURNING {TRANSITION_COLUMNS}"
            ));
            let rows = qb.build().fetch_all(&mut *c).await?;
            applied += rows.len();
            let details: HashMap<&str, Option<&str>> =
                chunk.iter().map(|ch| (ch.message_id.as_str(), ch.detail.as_deref())).collect();
            // Changes in one chunk may carry different times; each event takes its own.
            let at_by_id: HashMap<&str, i64> = chunk.iter().map(|ch| (ch.message_id.as_str(), ch.at)).collect();
            let refunds: HashMap<&str, bool> = chunk.iter().map(|ch| (ch.message_id.as_str(), ch.refund)).collect();
            let refund = |id: &str, _: Status| refunds.get(id).copied().unwrap_or(false);
            for r in &rows {
                let id: String = r.get(0);
                let at = at_by_id.get(id.as_str()).copied().unwrap_or_else(now_millis);
                record_transitions(std::slice::from_ref(r), at, &details, &refund, fan, hooks);
            }
        }
    }
    Ok(applied)
}

pub(super) async fn cancel(
    c: &mut Conn,
    account_id: &str,
    message_id: &str,
    now: i64,
    fan: &mut Fanout,
    hooks: &WebhookCache,
) -> Result<bool, StoreError> {
    let sql = format!(
        "UPDATE messages SET status = 'canceled', updated_at = $1, lease_owner = NULL, lease_until = NULL \
         WHERE id = $2 AND account_id = $3 AND status = 'scheduled' RETURNING {TRANSITION_COLUMNS}"
    );
    let rows =
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now).bind(message_id).bind(account_id).fetch_all(&mut *c).await?;
    record_transitions(&rows, now, &HashMap::new(), &|_, _| true, fan, hooks);
    Ok(!rows.is_empty())
}

/// Gives a scheduled message new content, charging or refunding the difference in price,
/// with an event. Nothing is written unless the message is still scheduled at the price the
/// replacement was computed from (and, when it takes a new send time, not waiting for a
/// trigger).
pub(super) async fn replace(c: &mut Conn, r: &Replacement, fan: &mut Fanout) -> Result<ReplaceOutcome, StoreError> {
    let sql = format!(
        "SELECT price FROM messages WHERE id = $1 AND account_id = $2 AND status = 'scheduled' \
         AND ($3 = FALSE OR trigger_id IS NULL){FOR_UPDATE}"
    );
    let price: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(&r.message_id)
        .bind(&r.account_id)
        .bind(r.send_at.is_some())
        .fetch_optional(&mut *c)
        .await?;
    if price != Some(r.old_price) {
        return Ok(ReplaceOutcome::NotScheduled);
    }
    let delta = r.price - r.old_price;
    if delta > 0 && !super::accept::debit(c, &r.account_id, delta).await? {
        return Ok(ReplaceOutcome::InsufficientBalance);
    }
    if delta < 0 {
        sqlx::query("UPDATE accounts SET balance = balance + $1 WHERE id = $2")
            .bind(-delta)
            .bind(&r.account_id)
            .execute(&mut *c)
            .await?;
    }
    if delta != 0 {
        sqlx::query("INSERT INTO ledger (account_id, amount, reason, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&r.account_id)
            .bind(-delta)
            .bind("replace")
            .bind(r.now)
            .execute(&mut *c)
            .await?;
    }
    sqlx::query(
        "UPDATE messages SET body = $1, encoding = $2, parts = $3, price = $4, send_at = coalesce($5, send_at), \
         next_attempt_at = coalesce($6, next_attempt_at), valid_until = $7, \
         smpp_state = CASE WHEN $8 THEN $9 ELSE smpp_state END, updated_at = $10 WHERE id = $11",
    )
    .bind(&r.body)
    .bind(&r.encoding)
    .bind(r.parts)
    .bind(r.price)
    .bind(r.send_at)
    .bind(r.send_at)
    .bind(r.valid_until)
    .bind(r.smpp_receipt.is_some())
    .bind(r.smpp_receipt.and_then(|wanted| wanted.then_some(super::super::outbox::OWED)))
    .bind(r.now)
    .bind(&r.message_id)
    .execute(&mut *c)
    .await?;
    fan.events.push((r.message_id.clone(), Status::Scheduled.as_str(), Some("replaced".into()), r.now));
    Ok(ReplaceOutcome::Replaced)
}

pub(super) async fn claim_due(
    c: &mut Conn,
    claim: &Claim,
    fan: &mut Fanout,
    hooks: &WebhookCache,
) -> Result<Vec<DispatchItem>, StoreError> {
    let promote = format!(
        "UPDATE messages SET status = 'queued', updated_at = $1 WHERE id IN (SELECT id FROM messages \
         WHERE status = 'scheduled' AND next_attempt_at <= $2 ORDER BY next_attempt_at LIMIT ($3 + 0){SKIP_LOCKED}) \
         RETURNING {TRANSITION_COLUMNS}"
    );
    let promoted = sqlx::query(sqlx::AssertSqlSafe(promote))
        .bind(claim.now)
        .bind(claim.now)
        .bind(PROMOTE_LIMIT)
        .fetch_all(&mut *c)
        .await?;
    record_transitions(&promoted, claim.now, &HashMap::new(), &|_, _| false, fan, hooks);

    // A message still carrying a lease owner was claimed before and never reported back: it
    // may already be at the carrier.
    // Other nodes claim from the same queue: rows one of them has locked are skipped, not
    // waited for, and a row is leased by one claim only.
    let sql = format!(
        "UPDATE messages SET lease_owner = $1, lease_until = $2, next_attempt_at = $3, attempts = attempts + 1, \
         possible_duplicate = CASE WHEN lease_owner IS NOT NULL THEN TRUE ELSE possible_duplicate END \
         WHERE id IN (SELECT id FROM messages WHERE status = 'queued' AND next_attempt_at <= $4 \
         ORDER BY lane, next_attempt_at LIMIT ($5 + 0){SKIP_LOCKED}) \
         RETURNING id, account_id, to_number, sender, body, encoding, parts, valid_until, attempts, possible_duplicate, \
         coalesce(send_at, created_at), lane"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&claim.owner)
        .bind(claim.lease_until)
        .bind(claim.lease_until)
        .bind(claim.now)
        .bind(i64::from(claim.limit))
        .fetch_all(&mut *c)
        .await?;
    Ok(rows
        .iter()
        .map(|r| DispatchItem {
            id: r.get(0),
            account_id: r.get(1),
            to: r.get(2),
            sender: r.get(3),
            body: r.get(4),
            encoding: r.get(5),
            parts: r.get(6),
            valid_until: r.get(7),
            attempts: r.get(8),
            possible_duplicate: r.get(9),
            due_at: r.get(10),
            lease_until: claim.lease_until,
            bulk: r.get::<i32, _>(11) == crate::model::Lane::Bulk as i32,
            masked: r.get::<i32, _>(11) == crate::model::Lane::Verification as i32,
        })
        .collect())
}
