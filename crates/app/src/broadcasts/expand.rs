//! The broadcast worker: expands each broadcast a chunk at a time (one chunk per broadcast
//! per round, so broadcasts of every account share the node fairly), and completes those
//! whose messages have all left the queue. Each chunk's messages are stored with the
//! broadcast's new position and counters in one writer transaction, so after a crash the
//! walk resumes exactly after the last committed chunk: no recipient gets two messages and
//! none is skipped.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use textbird_store::{AcceptBatch, AcceptOutcome, Broadcast, BroadcastProgress, Lane, Segment};
use textbird_types::{Money, Status, now_millis, parse_country};

use super::audience::{Read, Walk};
use super::local_time::{self, Quiet};
use super::{BroadcastRequest, CHUNK};
use crate::send::{Addressed, Composition};
use crate::{App, AppError, Principal, Recipient};

/// How long the worker waits when no broadcast had work.
const IDLE: Duration = Duration::from_millis(200);
/// Broadcasts looked at per round.
const PER_ROUND: u32 = 100;
/// How long a worker may hold a broadcast without expanding a chunk of it.
const LEASE_MS: i64 = 15_000;
/// Running broadcasts are checked for completion every this many rounds.
const COMPLETION_EVERY: u64 = 10;

impl App {
    /// Runs broadcasts until `stop` turns true.
    pub async fn run_broadcasts(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let owner = textbird_types::new_id();
        let mut round: u64 = 0;
        loop {
            if *stop.borrow() {
                return;
            }
            round += 1;
            let wait = match self.broadcast_round(&owner, round.is_multiple_of(COMPLETION_EVERY)).await {
                Ok(true) => Duration::ZERO,
                Ok(false) => IDLE,
                Err(e) => {
                    tracing::warn!(error = %e, "broadcast round failed");
                    Duration::from_secs(1)
                }
            };
            if wait.is_zero() {
                tokio::task::yield_now().await;
            } else {
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }

    /// One chunk of every expanding broadcast, and a completion check of every running one;
    /// whether any chunk was expanded.
    async fn broadcast_round(&self, owner: &str, check_done: bool) -> Result<bool, AppError> {
        let mut busy = false;
        for b in self.store().open_broadcasts(PER_ROUND).await? {
            match b.status.as_str() {
                "expanding" => {
                    let now = now_millis();
                    if !self.store().lease_broadcast(&b.id, owner, now, now + LEASE_MS).await? {
                        continue;
                    }
                    // Read again under the lease: another worker may have moved it on.
                    let Some(b) = self.store().find_broadcast(&b.account_id, &b.id).await? else {
                        continue;
                    };
                    if b.status != "expanding" {
                        continue;
                    }
                    match self.expand_chunk(&b).await {
                        Ok(worked) => busy |= worked,
                        Err(e) => {
                            tracing::warn!(broadcast = %b.id, error = %e, "cannot expand a broadcast chunk");
                            if matches!(e, AppError::NotFound(_) | AppError::Validation(_)) {
                                self.pause_for(&b, "content_unavailable").await?;
                            }
                        }
                    }
                }
                "running" if check_done => self.complete_if_done(&b).await?,
                "paused" if check_done => self.resume_if_credited(&b).await?,
                _ => {}
            }
        }
        Ok(busy)
    }

    async fn principal_of(&self, account_id: &str) -> Result<Principal, AppError> {
        let a = self.store().find_account(account_id).await?.ok_or(AppError::NotFound("account"))?;
        Ok(Principal {
            account_id: a.id,
            credential_id: String::new(),
            country: parse_country(&a.country),
            timezone: a.timezone,
            is_admin: false,
        })
    }

    /// Reads, screens, composes and stores the next chunk of `b`; false when it has nothing
    /// to do yet (a segment waiting for its evaluation) or was paused instead.
    async fn expand_chunk(&self, b: &Broadcast) -> Result<bool, AppError> {
        let p = self.principal_of(&b.account_id).await?;
        let req: BroadcastRequest = serde_json::from_str(&b.spec).map_err(|e| AppError::Internal(e.to_string()))?;
        let mut checked = self.resolve_broadcast(&p, req).await?;
        let Some((segment, limit)) = self.segment_gate(b, &checked).await? else {
            return Ok(false);
        };
        let mut planned = b.send_at;
        if let Some(seg) = &segment {
            let shorten = checked.req.shorten_links != Some(false);
            if let Some(body) = &seg.body {
                checked.texts = vec![super::text_of(body.clone(), crate::template::has_tokens(body), shorten)];
            } else if let Some(id) = &seg.template_id {
                let t = self.store().find_template(&b.account_id, id).await?.ok_or(AppError::NotFound("template"))?;
                checked.texts = vec![super::text_of(t.body, true, shorten)];
            }
            if seg.send_at.is_some() {
                planned = seg.send_at;
            }
        }
        let mut walk = Walk::parse(&b.position);
        let reads = self.read_chunk(&p, &checked.req.audience, &mut walk, limit).await?;
        let mut progress = BroadcastProgress {
            broadcast_id: b.id.clone(),
            position: walk.position(),
            read: reads.len() as i64,
            done: walk.done(),
            segment: segment.as_ref().map(|s| s.index),
            ..BroadcastProgress::default()
        };
        // De-duplication: within the chunk, and against the numbers earlier chunks stored or left out.
        let numbers: Vec<String> =
            reads.iter().filter_map(|r| r.number.as_ref().ok().map(|n| n.as_str().to_owned())).collect();
        let refs: Vec<&str> = numbers.iter().map(String::as_str).collect();
        let mut seen: HashSet<String> = self.store().batch_numbers(&b.id, &refs).await?.into_iter().collect();
        let mut valid = Vec::with_capacity(reads.len());
        for (index, r) in reads.into_iter().enumerate() {
            let Read { number, data } = r;
            let Ok(n) = number else {
                progress.skipped_invalid += 1;
                continue;
            };
            let from = checked.senders[rand::random_range(0..checked.senders.len())].clone();
            let data = data.unwrap_or_else(|| Recipient::phone(n.as_str()));
            valid.push(Addressed { index, to: n, data, from });
        }
        // Duplicates first (as the estimate counts them); the numbers left out are remembered
        // with the chunk, so their later occurrences are duplicates too.
        valid.retain(|a| {
            let fresh = seen.insert(a.to.as_str().to_owned());
            if !fresh {
                progress.skipped_duplicate += 1;
            }
            fresh
        });
        let mut errors = Vec::new();
        self.screen(&p, &mut valid, checked.req.unsubscribe_list_ids.as_deref(), &mut errors).await?;
        for e in errors {
            match e.code {
                "opted_out" => progress.skipped_opted_out += 1,
                // A country the account may not send to is not a number it can reach.
                "country_not_allowed" => progress.skipped_invalid += 1,
                _ => progress.skipped_unsubscribed += 1,
            }
            progress.skipped_numbers.push(e.to);
        }
        progress.skipped_frequency_cap =
            self.apply_cap(&p, checked.req.frequency_cap.as_ref(), &mut valid, &mut progress.skipped_numbers).await?;
        // Each recipient's own time: a wall-clock send time and quiet hours are read in it.
        let quiet = checked.req.quiet_hours.as_ref().and_then(|q| {
            Some(Quiet { start: super::request::parse_hhmm(&q.start)?, end: super::request::parse_hhmm(&q.end)? })
        });
        let wall_clock = if checked.req.local_time == Some(true) {
            checked.req.send_at.as_deref().and_then(local_time::wall_clock)
        } else {
            None
        };
        let zones: HashMap<String, Vec<jiff::tz::TimeZone>> = if quiet.is_some() || wall_clock.is_some() {
            valid
                .iter()
                .map(|a| (a.to.as_str().to_owned(), local_time::zones_of(&a.to, &a.data, &p.timezone)))
                .collect()
        } else {
            HashMap::new()
        };
        // Texts rotate over the recipients in the order they were expanded.
        let mut by_text: Vec<Vec<Addressed>> = (0..checked.texts.len()).map(|_| Vec::new()).collect();
        for (k, a) in valid.into_iter().enumerate() {
            by_text[(b.expanded as usize + k) % checked.texts.len()].push(a);
        }
        let now = now_millis();
        let validity = (self.settings().messages.default_validity_secs * 1000) as i64;
        // A trigger not fired yet holds the messages; once fired, they are due after its delay.
        let delay = checked.req.trigger_delay_secs.unwrap_or(0).min(30 * 24 * 3600) as i64 * 1000;
        let (trigger, send_at) = match &checked.req.trigger_id {
            None => (None, planned),
            Some(id) => match self.store().find_trigger(&b.account_id, id).await? {
                None => return Err(AppError::NotFound("trigger")),
                Some(t) => match t.fired_at {
                    Some(fired) => (None, Some(fired + delay)),
                    None => (Some((t.id, delay)), None),
                },
            },
        };
        let mut rows = Vec::new();
        let mut total = 0i64;
        for ((text, render), group) in checked.texts.iter().zip(by_text) {
            if group.is_empty() {
                continue;
            }
            let c = Composition {
                body: text,
                render: *render,
                status: Status::Scheduled,
                send_at,
                valid_until: send_at.unwrap_or(now).max(now) + validity,
                trigger: trigger.clone(),
                client_ref: None,
                callback_url: checked.req.callback_url.clone(),
                batch_id: b.id.clone(),
                now,
                smpp_receipt: false,
                smpp_ref: None,
            };
            let (composed, _, price) = self.compose(&p, &c, group).await?;
            rows.extend(composed);
            total += price.0;
        }
        if trigger.is_none() && !zones.is_empty() {
            for row in &mut rows {
                let Some(z) = zones.get(&row.to) else { continue };
                let mut at = row.send_at.unwrap_or(now);
                if let Some(local) = wall_clock.and_then(|w| local_time::local_instant(w, z)) {
                    at = local.max(now);
                }
                if let Some(q) = quiet {
                    let deferred = local_time::defer(at, z, q);
                    if deferred > at {
                        progress.deferred += 1;
                        at = deferred;
                    }
                }
                row.send_at = (at > now).then_some(at);
                row.valid_until = at.max(now) + validity;
            }
        }
        // `max_per_second`: the k-th message of the broadcast is due no sooner than k / rate
        // seconds after its start, so the broadcast drains at that pace whatever the
        // connector could take (times stored with the messages: a restart keeps the pace).
        if let Some(rate) = checked.req.max_per_second.filter(|r| *r > 0)
            && trigger.is_none()
        {
            let start = planned.unwrap_or(b.created_at);
            for (k, row) in rows.iter_mut().enumerate() {
                let paced = start + (b.expanded + k as i64) * 1000 / i64::from(rate);
                let at = row.send_at.unwrap_or(now).max(paced);
                row.valid_until += (at - row.send_at.unwrap_or(now).max(now)).max(0);
                row.send_at = (at > now).then_some(at);
            }
        }
        progress.expanded = rows.len() as i64;
        progress.price = total;
        let completes = segment.as_ref().is_some_and(|s| s.expanded + progress.expanded >= s.size || progress.done);
        let batch = AcceptBatch {
            account_id: b.account_id.clone(),
            debit: total,
            messages: rows,
            idempotency: None,
            lane: Lane::Bulk,
            progress: Some(progress),
        };
        match self.check_spend_cap(&p, Money(total)).await {
            Ok(()) => {}
            Err(AppError::SpendCapReached { .. }) => {
                self.pause_for(b, "spend_cap_reached").await?;
                return Ok(false);
            }
            Err(e) => return Err(e),
        }
        match self.store().accept(batch).await? {
            AcceptOutcome::Stored => {}
            AcceptOutcome::InsufficientBalance => {
                self.pause_for(b, "insufficient_balance").await?;
                return Ok(false);
            }
            AcceptOutcome::IdempotencyTaken => return Err(AppError::Internal("a broadcast chunk has no key".into())),
        }
        if completes {
            self.broadcast_event(b, "broadcast.segment_completed", None).await;
        }
        // Canceled while this chunk was composed: what it stored is canceled too.
        if let Some(now) = self.store().find_broadcast(&b.account_id, &b.id).await? {
            match now.status.as_str() {
                "canceled" => self.cancel_rest(&b.account_id, &b.id).await?,
                "paused" => {
                    self.store().hold_batch(&b.account_id, &b.id, true, 0).await?;
                }
                _ => {}
            }
        }
        Ok(true)
    }

    /// Whether `b` may expand a chunk now, of which segment and of at most how many
    /// recipients: `None` when it must wait (a `ctr` segment before its evaluation) or was
    /// paused (its recipient cap reached, a `manual` segment done, a `ctr` segment below its
    /// threshold).
    async fn segment_gate(
        &self,
        b: &Broadcast,
        c: &super::Checked,
    ) -> Result<Option<(Option<Segment>, u32)>, AppError> {
        let mut limit = i64::from(CHUNK);
        let rules = c.req.segments.as_ref();
        if let Some(cap) = rules.and_then(|s| s.recipient_cap) {
            if b.expanded >= cap {
                self.pause_for(b, "cap_reached").await?;
                return Ok(None);
            }
            limit = limit.min(cap - b.expanded);
        }
        let Some(rules) = rules.filter(|s| s.mode == "manual" || s.mode == "ctr") else {
            return Ok(Some((None, limit as u32)));
        };
        let now = now_millis();
        let segments = self.store().segments(&b.id).await?;
        let current = match segments.last() {
            None => {
                let first = Segment {
                    broadcast_id: b.id.clone(),
                    index: 0,
                    size: rules.first_segment_size.unwrap_or(i64::MAX / 4),
                    expanded: 0,
                    body: None,
                    template_id: None,
                    send_at: None,
                    started_at: now,
                    completed_at: None,
                };
                self.store().create_segment(&first).await?;
                first
            }
            Some(last) if last.completed_at.is_none() => last.clone(),
            Some(last) => {
                if rules.mode == "manual" {
                    self.pause_for(b, "segment_completed").await?;
                    return Ok(None);
                }
                let done_at = last.completed_at.unwrap_or(now);
                if now < done_at + rules.evaluate_after_secs.unwrap_or(0) as i64 * 1000 {
                    return Ok(None);
                }
                let conversion = self.segment_conversion(b, &segments, segments.len() - 1).await?;
                if conversion < rules.conversion_threshold.unwrap_or(0.0) {
                    self.pause_for(b, "threshold_not_met").await?;
                    return Ok(None);
                }
                let next = Segment {
                    broadcast_id: b.id.clone(),
                    index: last.index + 1,
                    size: rules.next_segment_size.unwrap_or(last.size),
                    expanded: 0,
                    body: None,
                    template_id: None,
                    send_at: None,
                    started_at: now,
                    completed_at: None,
                };
                self.store().create_segment(&next).await?;
                next
            }
        };
        limit = limit.min(current.size - current.expanded).max(1);
        Ok(Some((Some(current), limit as u32)))
    }

    /// Unique clicks per message of segment `i`, in percent.
    pub(crate) async fn segment_conversion(
        &self,
        b: &Broadcast,
        segments: &[Segment],
        i: usize,
    ) -> Result<f64, AppError> {
        let (from, to) = super::segment_window(segments, i);
        let (counts, _, unique) = self.store().batch_window_counts(&b.account_id, &b.id, from, to).await?;
        let messages: i64 = counts.iter().filter(|c| c.status != "canceled").map(|c| c.count).sum();
        Ok(if messages == 0 { 0.0 } else { unique as f64 * 100.0 / messages as f64 })
    }

    /// Pauses a broadcast that cannot go on by itself.
    async fn pause_for(&self, b: &Broadcast, reason: &'static str) -> Result<(), AppError> {
        let now = now_millis();
        if self
            .store()
            .set_broadcast_status(&b.account_id, &b.id, &["expanding", "running"], "paused", Some(reason), now)
            .await?
        {
            self.store().hold_batch(&b.account_id, &b.id, true, 0).await?;
            self.broadcast_event(b, "broadcast.paused", Some(reason)).await;
        }
        Ok(())
    }

    /// Resumes a broadcast paused for want of credit once its account has some again.
    async fn resume_if_credited(&self, b: &Broadcast) -> Result<(), AppError> {
        let Some(account) = self.store().find_account(&b.account_id).await? else {
            return Ok(());
        };
        if account.balance <= 0 {
            return Ok(());
        }
        let to = if b.position == Walk::DONE { "running" } else { "expanding" };
        if self.store().set_broadcast_status(&b.account_id, &b.id, &["paused"], to, None, now_millis()).await? {
            self.release_held(b).await?;
        }
        Ok(())
    }

    /// Completes a running broadcast once none of its messages waits in the queue any more.
    async fn complete_if_done(&self, b: &Broadcast) -> Result<(), AppError> {
        let counts = self.store().batch_status_counts(&b.account_id, &b.id).await?;
        if counts.iter().any(|c| c.status == "scheduled" || c.status == "queued") {
            return Ok(());
        }
        if self
            .store()
            .set_broadcast_status(&b.account_id, &b.id, &["running"], "completed", None, now_millis())
            .await?
        {
            self.broadcast_event(b, "broadcast.completed", None).await;
        }
        Ok(())
    }

    /// Queues a `broadcast.*` webhook; a failure is logged, never the caller's.
    pub(crate) async fn broadcast_event(&self, b: &Broadcast, event: &'static str, reason: Option<&str>) {
        let Ok(Some(fresh)) = self.store().find_broadcast(&b.account_id, &b.id).await else {
            return;
        };
        let at = now_millis();
        let payload = serde_json::json!({
            "type": event,
            "timestamp": textbird_types::format_millis(at),
            "data": {
                "id": fresh.id,
                "name": fresh.name,
                "status": fresh.status,
                "pause_reason": reason.map(str::to_owned).or(fresh.pause_reason),
                "recipients": fresh.recipients,
                "expanded": fresh.expanded,
            }
        })
        .to_string();
        if let Err(e) = self.store().queue_event(&b.account_id, event, &payload, at).await {
            tracing::warn!(broadcast = %b.id, error = %e, "cannot queue a broadcast webhook");
        }
    }
}
