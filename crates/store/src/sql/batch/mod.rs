//! What the writer does inside one transaction: accepting messages, status transitions with
//! their events, refunds and webhook outbox rows, queue claims, inbound messages and webhook
//! outcomes. Statements are multi-row wherever the batch allows.

use std::collections::HashMap;

use sqlx::{Connection, QueryBuilder, Row};

use super::{Conn, Db, DbRow};
use textbird_types::{Money, format_millis, new_id};

use super::writer::{Done, Op};

mod accept;
mod deliveries;
mod inbound;
mod status;

use crate::model::AcceptBatch;
use crate::webhook_cache::WebhookCache;
use crate::{Signals, StoreError};
use accept::accept_many;
use deliveries::{claim_deliveries, record_attempts};
use inbound::receive;
use status::{apply_status, cancel, claim_due, replace};

/// Rows per multi-row statement; keeps bound parameters far below `SQLite`'s limit.
const ROWS_PER_STATEMENT: usize = 250;
/// Scheduled messages promoted to the queue per claim.
const PROMOTE_LIMIT: i64 = 1000;
/// A webhook endpoint failing this long is disabled.
const DISABLE_AFTER_MS: i64 = 5 * 24 * 3600 * 1000;

pub(super) const TERMINAL: &str =
    "('delivered', 'undelivered', 'expired', 'rejected', 'failed', 'canceled', 'deleted', 'unknown')";
/// What a transition needs to know about the message it moved.
const TRANSITION_COLUMNS: &str = "messages.id, messages.account_id, messages.to_number, messages.sender, \
     messages.parts, messages.price, messages.client_ref, messages.callback_url, messages.status, \
     messages.error_code, messages.error_detail, messages.created_at";

/// Events, outbox rows and refunds gathered while a batch runs, written at its end.
#[derive(Default)]
pub(super) struct Fanout {
    events: Vec<(String, &'static str, Option<String>, i64)>,
    deliveries: Vec<NewDelivery>,
    refunds: Vec<(String, String, i64, i64)>,
    transitions: HashMap<&'static str, u64>,
    /// Messages became due for dispatch.
    queued: bool,
    /// Whether to collect `notices` (someone listens).
    notify: bool,
    notices: Vec<crate::signals::Notice>,
    /// Messages accepted for sending at once, leased to this node's dispatcher, handed to it
    /// after the commit.
    handed: Option<crate::handoff::Reserved>,
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
    pub(super) fn webhooks(
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

    pub(super) fn has_deliveries(&self) -> bool {
        !self.deliveries.is_empty()
    }

    pub(super) async fn flush(self, c: &mut Conn) -> Result<HashMap<&'static str, u64>, StoreError> {
        for chunk in self.events.chunks(ROWS_PER_STATEMENT) {
            let mut qb: QueryBuilder<Db> =
                QueryBuilder::new("INSERT INTO message_events (message_id, status, detail, created_at) ");
            qb.push_values(chunk, |mut b, (id, status, detail, at)| {
                b.push_bind(id).push_bind(*status).push_bind(detail).push_bind(*at);
            });
            qb.build().execute(&mut *c).await?;
        }
        for chunk in self.deliveries.chunks(ROWS_PER_STATEMENT) {
            let mut qb: QueryBuilder<Db> = QueryBuilder::new(
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
            let mut qb: QueryBuilder<Db> =
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
        // In account order, so concurrent writers cannot deadlock on two accounts.
        let mut credit: Vec<(String, i64)> = credit.into_iter().collect();
        credit.sort_unstable();
        for (account, amount) in credit {
            sqlx::query("UPDATE accounts SET balance = balance + $1 WHERE id = $2")
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
    parts: i32,
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

/// The writer's own smallest write (one row of `write_probe`), to learn whether writes get
/// through again after the database refused them.
pub(super) async fn probe(conn: &mut Conn) -> Result<(), StoreError> {
    let mut tx = conn.begin_with(super::BEGIN_WRITE).await?;
    sqlx::query("INSERT INTO write_probe (id, at) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET at = excluded.at")
        .bind(textbird_types::now_millis())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Runs every op of a batch in one transaction; one result per op, in order.
pub(super) async fn run_all(
    conn: &mut Conn,
    ops: &[Op],
    hooks: &WebhookCache,
    signals: &Signals,
) -> Result<Vec<Done>, StoreError> {
    let mut tx = conn.begin_with(super::BEGIN_WRITE).await?;
    let c: &mut Conn = &mut tx;
    let mut fan = Fanout { notify: signals.has_listeners(), ..Fanout::default() };
    if ops.iter().any(|op| matches!(op, Op::Accept(..))) {
        fan.handed = Some(signals.handoff().reserve());
    }
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
            Op::Replace(r, _) => Done::Replace(replace(c, r, &mut fan).await?),
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
    let (queued, deliveries) = (fan.queued, fan.has_deliveries());
    let notices = std::mem::take(&mut fan.notices);
    let handed = fan.handed.take();
    let transitions = fan.flush(c).await?;
    tx.commit().await?;
    if let Some(handed) = handed {
        handed.deliver();
    }
    for n in notices {
        signals.publish(n);
    }
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
