//! Accepting messages: idempotency keys, debits, ledger rows, message and event rows.

use std::collections::HashMap;

use sqlx::QueryBuilder;

use super::{Conn, Db};
use textbird_types::{Status, now_millis};

use super::{Fanout, ROWS_PER_STATEMENT, message_payload};
use crate::StoreError;
use crate::model::{AcceptBatch, AcceptOutcome, DispatchItem, Lane, NewMessage};
use crate::webhook_cache::WebhookCache;

pub(super) async fn accept_many(
    c: &mut Conn,
    batches: &[&AcceptBatch],
    fan: &mut Fanout,
    hooks: &WebhookCache,
) -> Result<Vec<AcceptOutcome>, StoreError> {
    let mut outcomes = vec![AcceptOutcome::Stored; batches.len()];
    for (i, b) in batches.iter().enumerate() {
        if let Some(k) = &b.idempotency
            && !super::super::messages::insert_idempotency(c, k).await?
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
    // In account order, so two writers debiting the same accounts cannot deadlock.
    let mut by_account: Vec<_> = by_account.into_iter().collect();
    by_account.sort_unstable_by_key(|(account, _)| *account);
    for (account, (total, idxs)) in by_account {
        if debit(c, account, total).await? {
            continue;
        }
        for i in idxs {
            if !debit(c, account, batches[i].debit).await? {
                outcomes[i] = AcceptOutcome::InsufficientBalance;
                if let Some(k) = &batches[i].idempotency {
                    sqlx::query(
                        "DELETE FROM idempotency_keys WHERE account_id = $1 AND credential_id = $2 AND key = $3",
                    )
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
        let mut qb: QueryBuilder<Db> =
            QueryBuilder::new("INSERT INTO ledger (account_id, amount, reason, created_at) ");
        qb.push_values(chunk, |mut q, b| {
            q.push_bind(&b.account_id).push_bind(-b.debit).push_bind("send").push_bind(now);
        });
        qb.build().execute(&mut *c).await?;
    }
    for b in &stored {
        if let Some(progress) = &b.progress {
            super::super::broadcasts::advance(c, &b.account_id, progress, now).await?;
        }
    }
    let messages: Vec<_> = stored.iter().flat_map(|b| b.messages.iter().map(move |m| (m, b.lane))).collect();
    // Messages due now are leased to this node's dispatcher while it has room, and handed to
    // it after the commit (see `handoff.rs`); the others wait in the queue for its claim. Bulk
    // messages always wait for the claim, which takes the lanes in order.
    let leases: Vec<Option<(String, i64)>> = messages
        .iter()
        .map(|(m, lane)| {
            let due_now =
                *lane != Lane::Bulk && m.status == Status::Queued && m.trigger_id.is_none() && due_at(m) <= now;
            fan.handed.as_mut().filter(|_| due_now)?.lease(now, |until| dispatch_item(m, until))
        })
        .collect();
    let rows: Vec<_> = messages.iter().zip(&leases).collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(
            "INSERT INTO messages (id, account_id, batch_id, to_number, sender, body, encoding, parts, price, status, \
             client_ref, callback_url, send_at, valid_until, next_attempt_at, created_at, updated_at, trigger_id, \
             trigger_delay_ms, smpp_state, smpp_ref, lease_owner, lease_until, attempts, lane) ",
        );
        qb.push_values(chunk, |mut q, ((m, lane), lease)| {
            let lease = lease.as_ref();
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
                // A leased message is due again when its lease runs out, as after a claim.
                .push_bind(lease.map_or_else(|| due_at(m), |(_, until)| *until))
                .push_bind(m.created_at)
                .push_bind(m.created_at)
                .push_bind(&m.trigger_id)
                .push_bind(m.trigger_delay_ms)
                .push_bind(m.smpp_receipt.then_some(super::super::outbox::OWED))
                .push_bind(&m.smpp_ref)
                .push_bind(lease.map(|(owner, _)| owner.as_str()))
                .push_bind(lease.map(|(_, until)| *until))
                .push_bind(i32::from(lease.is_some()))
                .push_bind(*lane as i32);
        });
        qb.build().execute(&mut *c).await?;
    }
    let secrets: Vec<(&str, &str)> =
        messages.iter().filter_map(|(m, _)| Some((m.id.as_str(), m.masked.as_ref()?.sealed.as_str()))).collect();
    for chunk in secrets.chunks(ROWS_PER_STATEMENT) {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new("INSERT INTO message_secrets (message_id, sealed) ");
        qb.push_values(chunk, |mut q, (id, sealed)| {
            q.push_bind(*id).push_bind(*sealed);
        });
        qb.build().execute(&mut *c).await?;
    }
    for ((m, _), lease) in rows {
        let event_type = m.status.event_type();
        fan.events.push((m.id.clone(), m.status.as_str(), None, m.created_at));
        *fan.transitions.entry(m.status.as_str()).or_default() += 1;
        fan.queued |= m.status == Status::Queued && lease.is_none();
        let wanted = m.callback_url.is_some() || !hooks.subscribers(&m.account_id, event_type).is_empty();
        if wanted {
            let payload = message_payload(
                event_type,
                m.created_at,
                &m.id,
                &m.to,
                &m.sender,
                m.status.as_str(),
                m.parts,
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

/// What the dispatcher needs of a message leased to it at accept (as a claim reads it back).
fn dispatch_item(m: &NewMessage, lease_until: i64) -> DispatchItem {
    DispatchItem {
        id: m.id.clone(),
        account_id: m.account_id.clone(),
        to: m.to.clone(),
        sender: m.sender.clone(),
        // The carrier gets the real text of a masked message.
        body: m.masked.as_ref().map_or(&m.body, |x| &x.plain).clone(),
        encoding: m.encoding.clone(),
        parts: m.parts,
        valid_until: m.valid_until,
        attempts: 1,
        possible_duplicate: false,
        due_at: m.send_at.unwrap_or(m.created_at),
        lease_until,
        // Bulk messages are never handed over at accept.
        bulk: false,
        // The real text is already in `body`.
        masked: false,
    }
}

/// When a new message is due: its send time, or never while it waits for a trigger.
fn due_at(m: &NewMessage) -> i64 {
    if m.trigger_id.is_some() { super::super::content::WAITING_FOR_TRIGGER } else { m.send_at.unwrap_or(m.created_at) }
}

pub(super) async fn debit(c: &mut Conn, account: &str, amount: i64) -> Result<bool, StoreError> {
    let r = sqlx::query("UPDATE accounts SET balance = balance - $1 WHERE id = $2 AND balance >= $3")
        .bind(amount)
        .bind(account)
        .bind(amount)
        .execute(&mut *c)
        .await?;
    Ok(r.rows_affected() == 1)
}
