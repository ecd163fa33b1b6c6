//! What the writer does inside one transaction: accepting messages, status transitions with
//! their events, refunds and webhook outbox rows, queue claims, inbound messages and webhook
//! outcomes. Statements are multi-row wherever the batch allows.

use std::collections::HashMap;

use sqlx::sqlite::SqliteRow;
use sqlx::{Connection, QueryBuilder, Row, Sqlite, SqliteConnection};
use textbird_types::{Money, Status, format_millis, new_id, now_millis};

use super::writer::{Done, Op};
use crate::model::{
    AcceptBatch, AcceptOutcome, AttemptResult, Claim, DeliveryJob, DeliveryNext, DispatchItem, NewInbound, StatusChange,
};
use crate::webhook_cache::WebhookCache;
use crate::{Signals, StoreError};

/// Rows per multi-row statement; keeps bound parameters far below `SQLite`'s limit.
const ROWS_PER_STATEMENT: usize = 250;
/// Scheduled messages promoted to the queue per claim.
const PROMOTE_LIMIT: i64 = 1000;
/// A webhook endpoint failing this long is disabled.
const DISABLE_AFTER_MS: i64 = 5 * 24 * 3600 * 1000;

const TERMINAL: &str = "('delivered', 'undelivered', 'expired', 'rejected', 'failed', 'canceled')";
/// What a transition needs to know about the message it moved.
const TRANSITION_COLUMNS: &str = "messages.id, messages.account_id, messages.to_number, messages.sender, \
     messages.parts, messages.price, messages.client_ref, messages.callback_url, messages.status, \
     messages.error_code, messages.error_detail, messages.created_at";

/// Events, outbox rows and refunds gathered while a batch runs, written at its end.
#[derive(Default)]
struct Fanout {
    events: Vec<(String, &'static str, Option<String>, i64)>,
    deliveries: Vec<NewDelivery>,
    refunds: Vec<(String, String, i64, i64)>,
    transitions: HashMap<&'static str, u64>,
    /// Messages became due for dispatch.
    queued: bool,
}

struct NewDelivery {
    id: String,
    account_id: String,
    webhook_id: Option<String>,
    url: String,
    event_type: &'static str,
    payload: String,
    at: i64,
}

impl Fanout {
    /// Queues one outbox row per subscribed endpoint (and the message's own callback URL).
    fn webhooks(
        &mut self,
        hooks: &WebhookCache,
        account_id: &str,
        event_type: &'static str,
        callback: Option<&str>,
        payload: &str,
        at: i64,
    ) {
        for (webhook_id, url) in hooks.subscribers(account_id, event_type) {
            self.deliveries.push(NewDelivery {
                id: new_id(),
                account_id: account_id.to_owned(),
                webhook_id: Some(webhook_id),
                url,
                event_type,
                payload: payload.to_owned(),
                at,
            });
        }
        if let Some(url) = callback {
            self.deliveries.push(NewDelivery {
                id: new_id(),
                account_id: account_id.to_owned(),
                webhook_id: None,
                url: url.to_owned(),
                event_type,
                payload: payload.to_owned(),
                at,
            });
        }
    }

    async fn flush(self, c: &mut SqliteConnection) -> Result<HashMap<&'static str, u64>, StoreError> {
        for chunk in self.events.chunks(ROWS_PER_STATEMENT) {
            let mut qb: QueryBuilder<Sqlite> =
                QueryBuilder::new("INSERT INTO message_events (message_id, status, detail, created_at) ");
            qb.push_values(chunk, |mut b, (id, status, detail, at)| {
                b.push_bind(id).push_bind(*status).push_bind(detail).push_bind(*at);
            });
            qb.build().execute(&mut *c).await?;
        }
        for chunk in self.deliveries.chunks(ROWS_PER_STATEMENT) {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO webhook_deliveries (id, account_id, webhook_id, url, event_type, payload, state, \
                 attempts, next_attempt_at, created_at, updated_at) ",
            );
            qb.push_values(chunk, |mut b, d| {
                b.push_bind(&d.id)
                    .push_bind(&d.account_id)
                    .push_bind(&d.webhook_id)
                    .push_bind(&d.url)
                    .push_bind(d.event_type)
                    .push_bind(&d.payload)
                    .push_bind("pending")
                    .push_bind(0_i64)
                    .push_bind(d.at)
                    .push_bind(d.at)
                    .push_bind(d.at);
            });
            qb.build().execute(&mut *c).await?;
        }
        let mut credit: HashMap<String, i64> = HashMap::new();
        for chunk in self.refunds.chunks(ROWS_PER_STATEMENT) {
            let mut qb: QueryBuilder<Sqlite> =
                QueryBuilder::new("INSERT INTO ledger (account_id, message_id, amount, reason, created_at) ");
            qb.push_values(chunk, |mut b, (account, message, amount, at)| {
                b.push_bind(account).push_bind(message).push_bind(*amount).push_bind("refund").push_bind(*at);
            });
            // The unique index on refunds makes a second refund of a message a no-op.
            qb.push(" ON CONFLICT DO NOTHING RETURNING account_id, amount");
            for r in qb.build().fetch_all(&mut *c).await? {
                *credit.entry(r.get(0)).or_default() += r.get::<i64, _>(1);
            }
        }
        for (account, amount) in credit {
            sqlx::query("UPDATE accounts SET balance = balance + ? WHERE id = ?")
                .bind(amount)
                .bind(account)
                .execute(&mut *c)
                .await?;
        }
        Ok(self.transitions)
    }
}

/// The webhook payload announcing a message's new state.
#[allow(clippy::too_many_arguments)]
fn message_payload(
    event_type: &str,
    at: i64,
    id: &str,
    to: &str,
    sender: &str,
    status: &str,
    parts: i64,
    price: i64,
    client_ref: Option<&str>,
    error_code: Option<&str>,
    error_detail: Option<&str>,
    created_at: i64,
) -> String {
    serde_json::json!({
        "type": event_type,
        "timestamp": format_millis(at),
        "data": {
            "id": id,
            "to": to,
            "from": sender,
            "status": status,
            "parts": parts,
            "price": Money(price).to_string(),
            "client_ref": client_ref,
            "error_code": error_code,
            "error_detail": error_detail,
            "created_at": format_millis(created_at),
            "updated_at": format_millis(at),
        }
    })
    .to_string()
}

/// Runs every op of a batch in one transaction; one result per op, in order.
pub(super) async fn run_all(
    conn: &mut SqliteConnection,
    ops: &[Op],
    hooks: &WebhookCache,
    signals: &Signals,
) -> Result<Vec<Done>, StoreError> {
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let c: &mut SqliteConnection = &mut tx;
    let mut fan = Fanout::default();
    let mut out: Vec<Option<Done>> = ops.iter().map(|_| None).collect();

    let accepts: Vec<(usize, &AcceptBatch)> = ops
        .iter()
        .enumerate()
        .filter_map(|(i, op)| if let Op::Accept(b, _) = op { Some((i, b)) } else { None })
        .collect();
    if !accepts.is_empty() {
        let batches: Vec<&AcceptBatch> = accepts.iter().map(|(_, b)| *b).collect();
        let outcomes = accept_many(c, &batches, &mut fan, hooks).await?;
        for ((i, _), o) in accepts.iter().zip(outcomes) {
            out[*i] = Some(Done::Accept(o));
        }
    }
    for (i, op) in ops.iter().enumerate() {
        let done = match op {
            Op::Accept(..) | Op::Shutdown(_) => continue,
            Op::Receive(inbound, _) => {
                receive(c, inbound, &mut fan, hooks).await?;
                Done::Unit
            }
            Op::Status(changes, _) => Done::Status(apply_status(c, changes, &mut fan, hooks).await?),
            Op::Cancel { account_id, message_id, now, .. } => {
                Done::Cancel(cancel(c, account_id, message_id, *now, &mut fan, hooks).await?)
            }
            Op::Attempts(results, _) => {
                record_attempts(c, results, hooks).await?;
                Done::Unit
            }
            Op::Claim(claim, _) => Done::Claim(claim_due(c, claim, &mut fan, hooks).await?),
            Op::ClaimDeliveries { now, lease_until, limit, .. } => {
                Done::Deliveries(claim_deliveries(c, *now, *lease_until, *limit).await?)
            }
        };
        out[i] = Some(done);
    }
    let (queued, deliveries) = (fan.queued, !fan.deliveries.is_empty());
    let transitions = fan.flush(c).await?;
    tx.commit().await?;
    if queued {
        signals.notify_messages();
    }
    if deliveries {
        signals.notify_deliveries();
    }
    for (status, n) in transitions {
        metrics::counter!("textbird_messages_total", "status" => status).increment(n);
    }
    Ok(out.into_iter().map(|d| d.expect("every op has a result")).collect())
}

async fn accept_many(
    c: &mut SqliteConnection,
    batches: &[&AcceptBatch],
    fan: &mut Fanout,
    hooks: &WebhookCache,
) -> Result<Vec<AcceptOutcome>, StoreError> {
    let mut outcomes = vec![AcceptOutcome::Stored; batches.len()];
    for (i, b) in batches.iter().enumerate() {
        if let Some(k) = &b.idempotency
            && !super::messages::insert_idempotency(c, k).await?
        {
            outcomes[i] = AcceptOutcome::IdempotencyTaken;
        }
    }
    // One debit per account for the whole batch; only if that fails, request by request.
    let mut by_account: HashMap<&str, (i64, Vec<usize>)> = HashMap::new();
    for (i, b) in batches.iter().enumerate() {
        if outcomes[i] == AcceptOutcome::Stored && b.debit > 0 {
            let e = by_account.entry(b.account_id.as_str()).or_default();
            e.0 += b.debit;
            e.1.push(i);
        }
    }
    for (account, (total, idxs)) in by_account {
        if debit(c, account, total).await? {
            continue;
        }
        for i in idxs {
            if !debit(c, account, batches[i].debit).await? {
                outcomes[i] = AcceptOutcome::InsufficientBalance;
                if let Some(k) = &batches[i].idempotency {
                    sqlx::query("DELETE FROM idempotency_keys WHERE account_id = ? AND credential_id = ? AND key = ?")
                        .bind(&k.account_id)
                        .bind(&k.credential_id)
                        .bind(&k.key)
                        .execute(&mut *c)
                        .await?;
                }
            }
        }
    }
    let stored: Vec<&AcceptBatch> =
        batches.iter().zip(&outcomes).filter(|(_, o)| **o == AcceptOutcome::Stored).map(|(b, _)| *b).collect();
    let debits: Vec<&&AcceptBatch> = stored.iter().filter(|b| b.debit > 0).collect();
    let now = now_millis();
    for chunk in debits.chunks(ROWS_PER_STATEMENT) {
        let mut qb: QueryBuilder<Sqlite> =
            QueryBuilder::new("INSERT INTO ledger (account_id, amount, reason, created_at) ");
        qb.push_values(chunk, |mut q, b| {
            q.push_bind(&b.account_id).push_bind(-b.debit).push_bind("send").push_bind(now);
        });
        qb.build().execute(&mut *c).await?;
    }
    let messages: Vec<_> = stored.iter().flat_map(|b| &b.messages).collect();
    for chunk in messages.chunks(ROWS_PER_STATEMENT) {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO messages (id, account_id, batch_id, to_number, sender, body, encoding, parts, price, status, \
             client_ref, callback_url, send_at, valid_until, next_attempt_at, created_at, updated_at) ",
        );
        qb.push_values(chunk, |mut q, m| {
            q.push_bind(&m.id)
                .push_bind(&m.account_id)
                .push_bind(&m.batch_id)
                .push_bind(&m.to)
                .push_bind(&m.sender)
                .push_bind(&m.body)
                .push_bind(&m.encoding)
                .push_bind(m.parts)
                .push_bind(m.price)
                .push_bind(m.status.as_str())
                .push_bind(&m.client_ref)
                .push_bind(&m.callback_url)
                .push_bind(m.send_at)
                .push_bind(m.valid_until)
                .push_bind(m.send_at.unwrap_or(m.created_at))
                .push_bind(m.created_at)
                .push_bind(m.created_at);
        });
        qb.build().execute(&mut *c).await?;
    }
    for m in messages {
        let event_type = m.status.event_type();
        fan.events.push((m.id.clone(), m.status.as_str(), None, m.created_at));
        *fan.transitions.entry(m.status.as_str()).or_default() += 1;
        fan.queued |= m.status == Status::Queued;
        let wanted = m.callback_url.is_some() || !hooks.subscribers(&m.account_id, event_type).is_empty();
        if wanted {
            let payload = message_payload(
                event_type,
                m.created_at,
                &m.id,
                &m.to,
                &m.sender,
                m.status.as_str(),
                i64::from(m.parts),
                m.price,
                m.client_ref.as_deref(),
                None,
                None,
                m.created_at,
            );
            fan.webhooks(hooks, &m.account_id, event_type, m.callback_url.as_deref(), &payload, m.created_at);
        }
    }
    Ok(outcomes)
}

async fn debit(c: &mut SqliteConnection, account: &str, amount: i64) -> Result<bool, StoreError> {
    let r = sqlx::query("UPDATE accounts SET balance = balance - ? WHERE id = ? AND balance >= ?")
        .bind(amount)
        .bind(account)
        .bind(amount)
        .execute(&mut *c)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Records what follows from rows that just changed state (read back with `TRANSITION_COLUMNS`).
fn record_transitions(
    rows: &[SqliteRow],
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
        fan.events.push((id, status.as_str(), detail, at));
    }
}

fn is_failure(status: Status) -> bool {
    matches!(status, Status::Undelivered | Status::Expired | Status::Rejected | Status::Failed)
}

/// Splits changes so no message appears twice in one statement (UPDATE ... FROM needs one
/// source row per target); later changes of a message go to later rounds.
fn rounds(changes: &[StatusChange]) -> Vec<Vec<&StatusChange>> {
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

async fn apply_status(
    c: &mut SqliteConnection,
    changes: &[StatusChange],
    fan: &mut Fanout,
    hooks: &WebhookCache,
) -> Result<usize, StoreError> {
    let mut applied = 0;
    for round in rounds(changes) {
        let (retries, moves): (Vec<&StatusChange>, Vec<&StatusChange>) =
            round.into_iter().partition(|c| c.retry_at.is_some());
        for chunk in retries.chunks(ROWS_PER_STATEMENT) {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "UPDATE messages SET next_attempt_at = v.column2, error_code = v.column3, error_detail = v.column4, \
                 updated_at = v.column5, lease_owner = NULL, lease_until = NULL FROM (",
            );
            qb.push_values(chunk, |mut b, ch| {
                b.push_bind(&ch.message_id)
                    .push_bind(ch.retry_at)
                    .push_bind(&ch.error_code)
                    .push_bind(&ch.detail)
                    .push_bind(ch.at);
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
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
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

async fn cancel(
    c: &mut SqliteConnection,
    account_id: &str,
    message_id: &str,
    now: i64,
    fan: &mut Fanout,
    hooks: &WebhookCache,
) -> Result<bool, StoreError> {
    let sql = format!(
        "UPDATE messages SET status = 'canceled', updated_at = ?, lease_owner = NULL, lease_until = NULL \
         WHERE id = ? AND account_id = ? AND status = 'scheduled' RETURNING {TRANSITION_COLUMNS}"
    );
    let rows =
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now).bind(message_id).bind(account_id).fetch_all(&mut *c).await?;
    record_transitions(&rows, now, &HashMap::new(), &|_, _| true, fan, hooks);
    Ok(!rows.is_empty())
}

async fn claim_due(
    c: &mut SqliteConnection,
    claim: &Claim,
    fan: &mut Fanout,
    hooks: &WebhookCache,
) -> Result<Vec<DispatchItem>, StoreError> {
    let promote = format!(
        "UPDATE messages SET status = 'queued', updated_at = ? WHERE id IN (SELECT id FROM messages \
         WHERE status = 'scheduled' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?) RETURNING {TRANSITION_COLUMNS}"
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
    let rows = sqlx::query(
        "UPDATE messages SET lease_owner = ?, lease_until = ?, next_attempt_at = ?, attempts = attempts + 1, \
         possible_duplicate = CASE WHEN lease_owner IS NOT NULL THEN TRUE ELSE possible_duplicate END \
         WHERE id IN (SELECT id FROM messages WHERE status = 'queued' AND next_attempt_at <= ? \
         ORDER BY next_attempt_at LIMIT ?) \
         RETURNING id, account_id, to_number, sender, body, encoding, parts, valid_until, attempts, possible_duplicate, \
         coalesce(send_at, created_at)",
    )
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
        })
        .collect())
}

async fn receive(
    c: &mut SqliteConnection,
    m: &NewInbound,
    fan: &mut Fanout,
    hooks: &WebhookCache,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO inbound_messages (id, account_id, from_number, to_number, body, connector, keyword, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&m.id)
    .bind(&m.account_id)
    .bind(&m.from)
    .bind(&m.to)
    .bind(&m.body)
    .bind(&m.connector)
    .bind(&m.keyword)
    .bind(m.created_at)
    .execute(&mut *c)
    .await?;
    match m.keyword.as_deref() {
        Some("stop") => {
            sqlx::query("INSERT INTO opt_outs (account_id, phone, sender, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING")
                .bind(&m.account_id)
                .bind(&m.from)
                .bind(&m.opt_out_sender)
                .bind(m.created_at)
                .execute(&mut *c)
                .await?;
        }
        Some("start") => {
            sqlx::query("DELETE FROM opt_outs WHERE account_id = ? AND phone = ? AND sender = ?")
                .bind(&m.account_id)
                .bind(&m.from)
                .bind(&m.opt_out_sender)
                .execute(&mut *c)
                .await?;
        }
        _ => {}
    }
    let event_type = "message.received";
    let payload = serde_json::json!({
        "type": event_type,
        "timestamp": format_millis(m.created_at),
        "data": {
            "id": m.id, "from": m.from, "to": m.to, "body": m.body,
            "keyword": m.keyword, "received_at": format_millis(m.created_at),
        }
    })
    .to_string();
    fan.webhooks(hooks, &m.account_id, event_type, None, &payload, m.created_at);
    *fan.transitions.entry("received").or_default() += 1;
    Ok(())
}

async fn record_attempts(
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

async fn claim_deliveries(
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
