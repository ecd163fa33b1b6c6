//! Broadcasts: one message to a whole audience (numbers, recipient lists, groups, contacts),
//! estimated before it is committed, then expanded in chunks by a background worker that
//! composes each chunk through the same path as a single send (`send::compose`) and stores it
//! in one writer transaction together with the broadcast's progress. Pause holds the messages
//! not yet due, resume lets them go, cancel refunds every message not yet sent.

mod audience;
mod campaigns;
mod check;
mod estimate;
mod expand;
mod local_time;
mod request;

use std::collections::BTreeMap;

use textbird_store::{Broadcast, BroadcastFilter, StatusCount};
use textbird_types::{Money, Msisdn, Sender, new_id, now_millis, parse_rfc3339_millis};

use crate::messages::{next_cursor, page};
use crate::{App, AppError, FieldError, Principal};
use audience::Walk;
pub use campaigns::{CampaignChange, CampaignInput};
pub(crate) use estimate::country_of;
pub use request::{BroadcastAudience, BroadcastRequest, FrequencyCap, QuietHours, Segments};

/// Recipients read per chunk.
pub(crate) const CHUNK: u32 = 500;
/// How far ahead a broadcast may be scheduled.
const MAX_AHEAD_MS: i64 = 365 * 24 * 3600 * 1000;

/// What a broadcast would do, computed without storing anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Estimate {
    pub recipients: i64,
    pub messages: i64,
    pub parts: i64,
    pub total_price: Money,
    /// Country (ISO 3166 alpha-2, `ZZ` when unknown) → (recipients, price).
    pub by_country: BTreeMap<String, (i64, Money)>,
    pub skipped: Skipped,
    /// The first recipient's message.
    pub sample: Option<(String, String)>,
    pub warnings: Vec<String>,
    /// Changes whenever the recipients, their number or the price change.
    pub hash: String,
}

/// Recipients read but not sent to, by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Skipped {
    pub duplicate: i64,
    pub opted_out: i64,
    pub unsubscribed: i64,
    pub invalid: i64,
    /// Left out by the frequency cap.
    pub frequency_cap: i64,
}

/// A broadcast with its counters.
#[derive(Debug, Clone)]
pub struct BroadcastView {
    pub broadcast: Broadcast,
    /// The status a client sees (`scheduled` while it waits for its time).
    pub status: String,
    pub counters: Counters,
    /// Its segments (one, the whole broadcast, when it is not segmented).
    pub segments: Vec<SegmentView>,
}

/// One segment and the counters of its messages.
#[derive(Debug, Clone)]
pub struct SegmentView {
    pub index: i32,
    pub size: Option<i64>,
    pub expanded: i64,
    pub completed: bool,
    pub counters: Counters,
}

/// Where a segment's messages lie in creation time: from its start to the next one's.
pub(crate) fn segment_window(segments: &[textbird_store::Segment], i: usize) -> (i64, i64) {
    let from = segments[i].started_at;
    let to = segments.get(i + 1).map_or(i64::MAX, |s| s.started_at);
    (from, to)
}

/// Adds messages by status to counters; returns what the messages not refunded cost.
fn add_counts(c: &mut Counters, counts: &[StatusCount]) -> i64 {
    let mut cost = 0;
    for s in counts {
        match s.status.as_str() {
            "scheduled" => c.scheduled += s.count,
            "queued" => c.queued += s.count,
            "submitted" => c.submitted += s.count,
            "delivered" => c.delivered += s.count,
            "undelivered" => c.undelivered += s.count,
            "failed" => c.failed += s.count,
            "canceled" => c.canceled += s.count,
            "expired" => c.expired += s.count,
            _ => {}
        }
        if s.status != "canceled" {
            cost += s.price;
        }
    }
    cost
}

/// A next segment of a segmented broadcast.
#[derive(Debug, Clone, Default)]
pub struct NextSegment {
    pub size: i64,
    pub body: Option<String>,
    pub template_id: Option<String>,
    /// RFC 3339.
    pub send_at: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Counters {
    pub recipients: i64,
    pub expanded: i64,
    pub scheduled: i64,
    pub queued: i64,
    pub submitted: i64,
    pub delivered: i64,
    pub undelivered: i64,
    pub failed: i64,
    pub canceled: i64,
    pub expired: i64,
    pub skipped: Skipped,
    /// What the messages not refunded cost.
    pub cost: Money,
    /// Clicks on the messages' short links, and the links clicked at least once.
    pub clicks: i64,
    pub unique_clicks: i64,
    /// Unique clicks per message expanded, in percent.
    pub conversion: f64,
    /// Messages whose send time quiet hours moved.
    pub deferred: i64,
}

/// Filters and cursor for listing broadcasts.
#[derive(Debug, Clone, Default)]
pub struct BroadcastQuery {
    pub campaign_id: Option<String>,
    pub status: Option<String>,
    pub name_contains: Option<String>,
    pub created_from: Option<String>,
    pub created_to: Option<String>,
    pub send_from: Option<String>,
    pub send_to: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// A broadcast's report: its counters, and its messages by status.
#[derive(Debug, Clone)]
pub struct BroadcastReport {
    pub view: BroadcastView,
    pub by_status: Vec<StatusCount>,
    /// Country → (messages, price of those not canceled).
    pub by_country: BTreeMap<String, (i64, Money)>,
    /// (start of the hour, epoch ms; messages due in it).
    pub by_hour: Vec<(i64, i64)>,
}

/// What a create needs after checking: the request made whole.
pub(crate) struct Checked {
    pub req: BroadcastRequest,
    /// Sender values messages are given at random.
    pub senders: Vec<Sender>,
    /// Texts rotated over the recipients, each with whether it renders per recipient.
    pub texts: Vec<(String, bool)>,
    pub send_at: Option<i64>,
    /// The campaign it joins.
    pub campaign_id: String,
}

const STATUSES: &[&str] = &["scheduled", "expanding", "running", "paused", "completed", "canceled"];

impl App {
    /// What creating `req` would send, to whom and at what price; stores nothing.
    pub async fn estimate_broadcast(&self, p: &Principal, req: BroadcastRequest) -> Result<Estimate, AppError> {
        let checked = self.check_broadcast(p, req).await?;
        self.estimate_checked(p, &checked).await
    }

    /// Creates a broadcast; with `estimate_hash`, only if the estimate is still the same
    /// (otherwise `Err(Drifted)` with the fresh one, and nothing is created).
    pub async fn create_broadcast(&self, p: &Principal, req: BroadcastRequest) -> Result<Created, AppError> {
        let checked = self.check_broadcast(p, req).await?;
        let estimate = self.estimate_checked(p, &checked).await?;
        if let Some(hash) = &checked.req.estimate_hash
            && *hash != estimate.hash
        {
            return Ok(Created::Drifted(Box::new(estimate)));
        }
        if estimate.recipients == 0 {
            return Err(AppError::field("audience", "no recipient is left once duplicates and opt-outs are removed"));
        }
        let now = now_millis();
        let id = new_id();
        let spec = serde_json::to_string(&checked.req).map_err(|e| AppError::Internal(e.to_string()))?;
        let b = Broadcast {
            id: id.clone(),
            account_id: p.account_id.clone(),
            name: checked.req.name.clone().unwrap_or_else(|| format!("Broadcast {}", &id[..8.min(id.len())])),
            status: "expanding".into(),
            pause_reason: None,
            spec,
            send_at: checked.send_at,
            recipients: estimate.recipients,
            read: 0,
            expanded: 0,
            skipped_duplicate: 0,
            skipped_opted_out: 0,
            skipped_unsubscribed: 0,
            skipped_invalid: 0,
            total_price: 0,
            position: Walk::START.into(),
            created_at: now,
            updated_at: now,
            completed_at: None,
            skipped_frequency_cap: 0,
            deferred: 0,
            campaign_id: Some(checked.campaign_id.clone()),
        };
        self.store().create_broadcast(&b).await?;
        self.broadcast_event(&b, "broadcast.started", None).await;
        Ok(Created::Created(Box::new(self.broadcast(p, &id).await?)))
    }

    pub async fn broadcast(&self, p: &Principal, id: &str) -> Result<BroadcastView, AppError> {
        let b = self.store().find_broadcast(&p.account_id, id).await?.ok_or(AppError::NotFound("broadcast"))?;
        self.view(b).await
    }

    pub async fn broadcasts(
        &self,
        p: &Principal,
        q: BroadcastQuery,
    ) -> Result<(Vec<BroadcastView>, Option<String>), AppError> {
        let mut problems = Vec::new();
        if let Some(s) = &q.status
            && !STATUSES.contains(&s.as_str())
        {
            problems.push(FieldError::new("status", format!("must be one of {}", STATUSES.join(", "))));
        }
        let mut time = |field: &str, v: &Option<String>| {
            v.as_deref().and_then(|s| {
                let t = parse_rfc3339_millis(s);
                if t.is_none() {
                    problems.push(FieldError::new(field, "must be an RFC 3339 timestamp"));
                }
                t
            })
        };
        if let Some(id) = &q.campaign_id {
            self.campaign(p, id).await?;
        }
        let filter = BroadcastFilter {
            campaign_id: q.campaign_id.clone(),
            status: q.status.clone().filter(|s| s != "scheduled"),
            name_contains: q.name_contains.clone(),
            created_from: time("created_from", &q.created_from),
            created_to: time("created_to", &q.created_to),
            send_from: time("send_from", &q.send_from),
            send_to: time("send_to", &q.send_to),
        };
        if !problems.is_empty() {
            return Err(AppError::Validation(problems));
        }
        let page = page(q.cursor, q.limit)?;
        let items = self.store().list_broadcasts(&p.account_id, &filter, &page).await?;
        let next = next_cursor(&items, &page, |b| &b.id);
        let mut views = Vec::with_capacity(items.len());
        for b in items {
            let v = self.view(b).await?;
            if q.status.as_deref().is_none_or(|s| s == v.status) {
                views.push(v);
            }
        }
        Ok((views, next))
    }

    /// Stops a broadcast: expansion halts and its messages not yet due are held.
    pub async fn pause_broadcast(&self, p: &Principal, id: &str) -> Result<BroadcastView, AppError> {
        let b = self.store().find_broadcast(&p.account_id, id).await?.ok_or(AppError::NotFound("broadcast"))?;
        let now = now_millis();
        if !self
            .store()
            .set_broadcast_status(&p.account_id, &b.id, &["expanding", "running"], "paused", Some("manual"), now)
            .await?
        {
            return Err(AppError::Conflict(format!(
                "only a running broadcast can be paused; this one is {}",
                b.status
            )));
        }
        self.store().hold_batch(&p.account_id, &b.id, true, 0).await?;
        let v = self.broadcast(p, id).await?;
        self.broadcast_event(&v.broadcast, "broadcast.paused", Some("manual")).await;
        Ok(v)
    }

    /// Lets the held messages of a paused broadcast become due again: at their send times, or
    /// for a paced broadcast (`max_per_second`) moved on by the time it was paused, so it
    /// keeps its pace instead of sending the backlog at once.
    async fn release_held(&self, b: &Broadcast) -> Result<(), AppError> {
        let paced = serde_json::from_str::<BroadcastRequest>(&b.spec).ok().and_then(|r| r.max_per_second).is_some();
        let shift = if paced { (now_millis() - b.updated_at).max(0) } else { 0 };
        self.store().hold_batch(&b.account_id, &b.id, false, shift).await?;
        Ok(())
    }

    /// Lets a paused broadcast go on where it stopped.
    pub async fn resume_broadcast(&self, p: &Principal, id: &str) -> Result<BroadcastView, AppError> {
        let b = self.store().find_broadcast(&p.account_id, id).await?.ok_or(AppError::NotFound("broadcast"))?;
        let to = if b.position == Walk::DONE { "running" } else { "expanding" };
        if !self.store().set_broadcast_status(&p.account_id, &b.id, &["paused"], to, None, now_millis()).await? {
            return Err(AppError::Conflict(format!(
                "only a paused broadcast can be resumed; this one is {}",
                b.status
            )));
        }
        self.release_held(&b).await?;
        self.broadcast_event(&b, "broadcast.resumed", None).await;
        self.broadcast(p, id).await
    }

    /// Ends a broadcast: nothing more is expanded and every message not yet sent is canceled
    /// and refunded (each exactly once).
    pub async fn cancel_broadcast(&self, p: &Principal, id: &str) -> Result<BroadcastView, AppError> {
        let b = self.store().find_broadcast(&p.account_id, id).await?.ok_or(AppError::NotFound("broadcast"))?;
        if !self
            .store()
            .set_broadcast_status(
                &p.account_id,
                &b.id,
                &["expanding", "running", "paused"],
                "canceled",
                None,
                now_millis(),
            )
            .await?
        {
            return Err(AppError::Conflict(format!("this broadcast is already {}", b.status)));
        }
        self.cancel_rest(&p.account_id, &b.id).await?;
        self.broadcast_event(&b, "broadcast.canceled", None).await;
        self.broadcast(p, id).await
    }

    /// Sends one more segment of a segmented broadcast whose last segment is done (a `manual`
    /// one, or a `ctr` one paused below its threshold), with its own text or time if given.
    pub async fn continue_broadcast(
        &self,
        p: &Principal,
        id: &str,
        next: NextSegment,
    ) -> Result<BroadcastView, AppError> {
        let b = self.store().find_broadcast(&p.account_id, id).await?.ok_or(AppError::NotFound("broadcast"))?;
        let mut problems = Vec::new();
        if next.size < 1 {
            problems.push(FieldError::new("size", "must be at least 1"));
        }
        if next.body.is_some() && next.template_id.is_some() {
            problems.push(FieldError::new("body", "give either body or template_id, not both"));
        }
        if let Some(body) = &next.body
            && let Some(problem) =
                crate::send::body_problem(body, self.settings().messages.max_parts, !crate::template::has_tokens(body))
        {
            problems.push(FieldError::new("body", problem));
        }
        let now = now_millis();
        let send_at = match next.send_at.as_deref() {
            None => None,
            Some(s) => match parse_rfc3339_millis(s) {
                Some(t) if t >= now - 60_000 && t - now <= MAX_AHEAD_MS => Some(t),
                _ => {
                    problems.push(FieldError::new("send_at", "must be an RFC 3339 time from now to a year ahead"));
                    None
                }
            },
        };
        if !problems.is_empty() {
            return Err(AppError::Validation(problems));
        }
        if let Some(t) = &next.template_id {
            self.store().find_template(&p.account_id, t).await?.ok_or(AppError::NotFound("template"))?;
        }
        let segments = self.store().segments(&b.id).await?;
        let Some(last) = segments.last() else {
            return Err(AppError::Conflict("this broadcast is not sent in segments".into()));
        };
        if last.completed_at.is_none() || b.status != "paused" {
            return Err(AppError::Conflict(format!(
                "a segment can be added to a paused broadcast whose last segment is done; this one is {}",
                b.status
            )));
        }
        if b.position == Walk::DONE {
            return Err(AppError::Conflict("every recipient has been sent to".into()));
        }
        let segment = textbird_store::Segment {
            broadcast_id: b.id.clone(),
            index: last.index + 1,
            size: next.size,
            expanded: 0,
            body: next.body,
            template_id: next.template_id,
            send_at,
            started_at: now,
            completed_at: None,
        };
        if !self.store().create_segment(&segment).await? {
            return Err(AppError::Conflict("another segment was added meanwhile".into()));
        }
        self.store().set_broadcast_status(&p.account_id, &b.id, &["paused"], "expanding", None, now).await?;
        self.release_held(&b).await?;
        self.broadcast(p, id).await
    }

    pub async fn broadcast_report(&self, p: &Principal, id: &str) -> Result<BroadcastReport, AppError> {
        let view = self.broadcast(p, id).await?;
        let by_status = self.store().batch_status_counts(&p.account_id, id).await?;
        let breakdown = self.store().batch_breakdown(&p.account_id, id).await?;
        let mut by_country: BTreeMap<String, (i64, Money)> = BTreeMap::new();
        for (number, count, price) in breakdown.by_prefix {
            let e = by_country.entry(country_of(&Msisdn::from_trusted(number))).or_insert((0, Money::ZERO));
            e.0 += count;
            e.1 = Money(e.1.0 + price);
        }
        Ok(BroadcastReport { view, by_status, by_country, by_hour: breakdown.by_hour })
    }

    /// Cancels (and so refunds) every message of the batch still scheduled.
    pub(crate) async fn cancel_rest(&self, account_id: &str, batch_id: &str) -> Result<(), AppError> {
        loop {
            let ids = self.store().scheduled_of_batch(account_id, batch_id, CHUNK).await?;
            if ids.is_empty() {
                return Ok(());
            }
            let now = now_millis();
            let mut canceled = 0;
            let mut set = tokio::task::JoinSet::new();
            for m in ids {
                let (store, account) = (self.store().clone(), account_id.to_owned());
                set.spawn(async move { store.cancel(&account, &m, now).await });
            }
            while let Some(r) = set.join_next().await {
                canceled += usize::from(r.map_err(|e| AppError::Internal(e.to_string()))??);
            }
            if canceled == 0 {
                // Everything left became due meanwhile: it is being sent.
                return Ok(());
            }
        }
    }

    async fn view(&self, b: Broadcast) -> Result<BroadcastView, AppError> {
        let counts = self.store().batch_status_counts(&b.account_id, &b.id).await?;
        let mut c = Counters {
            recipients: b.recipients,
            expanded: b.expanded,
            skipped: Skipped {
                duplicate: b.skipped_duplicate,
                opted_out: b.skipped_opted_out,
                unsubscribed: b.skipped_unsubscribed,
                invalid: b.skipped_invalid,
                frequency_cap: b.skipped_frequency_cap,
            },
            deferred: b.deferred,
            ..Counters::default()
        };
        let cost = add_counts(&mut c, &counts);
        c.cost = Money(cost);
        let links = self.store().link_report(&b.account_id, textbird_store::ReportBy::Batch, &b.id).await?;
        c.clicks = links.clicks;
        c.unique_clicks = links.unique_clicks;
        if b.expanded > 0 {
            c.conversion = (links.unique_clicks as f64 * 10_000.0 / b.expanded as f64).round() / 100.0;
        }
        let mut status = if b.status == "running" && b.send_at.is_some_and(|t| t > now_millis()) {
            "scheduled".to_owned()
        } else {
            b.status.clone()
        };
        if (status == "running" || status == "expanding")
            && let Some(trigger) = serde_json::from_str::<BroadcastRequest>(&b.spec).ok().and_then(|r| r.trigger_id)
            && self.store().find_trigger(&b.account_id, &trigger).await?.is_some_and(|t| t.fired_at.is_none())
        {
            "waiting_for_trigger".clone_into(&mut status);
        }
        let mut segments = Vec::new();
        let stored = self.store().segments(&b.id).await?;
        for (i, seg) in stored.iter().enumerate() {
            let (from, to) = segment_window(&stored, i);
            let (counts, clicks, unique) = self.store().batch_window_counts(&b.account_id, &b.id, from, to).await?;
            let mut sc = Counters {
                recipients: seg.size.min(b.recipients),
                expanded: seg.expanded,
                clicks,
                unique_clicks: unique,
                ..Counters::default()
            };
            sc.cost = Money(add_counts(&mut sc, &counts));
            if seg.expanded > 0 {
                sc.conversion = (unique as f64 * 10_000.0 / seg.expanded as f64).round() / 100.0;
            }
            segments.push(SegmentView {
                index: seg.index,
                size: (seg.size < i64::MAX / 4).then_some(seg.size),
                expanded: seg.expanded,
                completed: seg.completed_at.is_some(),
                counters: sc,
            });
        }
        if segments.is_empty() {
            segments.push(SegmentView {
                index: 0,
                size: None,
                expanded: c.expanded,
                completed: b.position == Walk::DONE,
                counters: c.clone(),
            });
        }
        Ok(BroadcastView { broadcast: b, status, counters: c, segments })
    }
}

/// What a create did.
#[derive(Debug)]
pub enum Created {
    Created(Box<BroadcastView>),
    /// The estimate changed since the one the caller saw: nothing was created.
    Drifted(Box<Estimate>),
}

/// A broadcast's text as it is composed: `(text, whether to render it)`, with the URLs
/// written in it turned into per-recipient short links unless `shorten_links` is false.
pub(crate) fn text_of(text: String, render: bool, shorten: bool) -> (String, bool) {
    match crate::template::wrap_literal_urls(&text).filter(|_| shorten) {
        Some(wrapped) => (wrapped, true),
        None => (text, render),
    }
}
