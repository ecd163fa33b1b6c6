//! Broadcasts: their records and the `Store` methods that keep them. Every method is scoped
//! to `account_id`; another account's broadcast is treated as absent.

use crate::model::Page;
use crate::{Store, StoreError};

/// A broadcast as stored. Its messages are the messages whose `batch_id` is its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broadcast {
    pub id: String,
    pub account_id: String,
    pub name: String,
    /// `expanding`, `running`, `paused`, `canceled`, `completed`.
    pub status: String,
    pub pause_reason: Option<String>,
    /// The request as accepted, JSON.
    pub spec: String,
    pub send_at: Option<i64>,
    /// Recipients the estimate counted when the broadcast was created.
    pub recipients: i64,
    /// Recipients read so far (turned into messages or skipped).
    pub read: i64,
    /// Recipients turned into messages so far.
    pub expanded: i64,
    pub skipped_duplicate: i64,
    pub skipped_opted_out: i64,
    pub skipped_unsubscribed: i64,
    pub skipped_invalid: i64,
    /// What the messages composed so far cost.
    pub total_price: i64,
    /// Where expansion reads on.
    pub position: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub completed_at: Option<i64>,
    pub skipped_frequency_cap: i64,
    /// Messages whose send time quiet hours moved.
    pub deferred: i64,
    pub campaign_id: Option<String>,
}

/// Filters for listing broadcasts.
#[derive(Debug, Clone, Default)]
pub struct BroadcastFilter {
    pub status: Option<String>,
    pub campaign_id: Option<String>,
    pub name_contains: Option<String>,
    pub created_from: Option<i64>,
    pub created_to: Option<i64>,
    pub send_from: Option<i64>,
    pub send_to: Option<i64>,
}

/// How many of a broadcast's messages are in one status, and what they cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCount {
    pub status: String,
    pub count: i64,
    pub price: i64,
}

/// A campaign: a name and a date window for the broadcasts it groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    pub id: String,
    pub account_id: String,
    pub name: String,
    /// Epoch ms; the window is open from `start_date` until `end_date`.
    pub start_date: Option<i64>,
    pub end_date: Option<i64>,
    pub enabled: bool,
    pub is_default: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One segment of a segmented broadcast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub broadcast_id: String,
    /// 0 for the first.
    pub index: i32,
    /// Messages it is to hold.
    pub size: i64,
    /// Messages it holds so far.
    pub expanded: i64,
    /// A text for this segment instead of the broadcast's.
    pub body: Option<String>,
    pub template_id: Option<String>,
    pub send_at: Option<i64>,
    pub started_at: i64,
    /// When its last message was stored.
    pub completed_at: Option<i64>,
}

/// A batch's messages by number prefix and by hour.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Breakdown {
    /// `(one number of the prefix, messages, price of those not canceled)` per first five
    /// characters of the number (`+3161`).
    pub by_prefix: Vec<(String, i64, i64)>,
    /// `(start of the hour in epoch ms, messages)` by the hour they are (or were) due.
    pub by_hour: Vec<(i64, i64)>,
}

impl Store {
    pub async fn create_broadcast(&self, b: &Broadcast) -> Result<(), StoreError> {
        delegate!(self, s => s.create_broadcast(b).await)
    }
    pub async fn find_broadcast(&self, account_id: &str, id: &str) -> Result<Option<Broadcast>, StoreError> {
        delegate!(self, s => s.find_broadcast(account_id, id).await)
    }
    /// Newest first.
    pub async fn list_broadcasts(
        &self,
        account_id: &str,
        filter: &BroadcastFilter,
        page: &Page,
    ) -> Result<Vec<Broadcast>, StoreError> {
        delegate!(self, s => s.list_broadcasts(account_id, filter, page).await)
    }
    /// Moves a broadcast from one of `from` to `to`; false when it was in none of them.
    pub async fn set_broadcast_status(
        &self,
        account_id: &str,
        id: &str,
        from: &[&str],
        to: &str,
        pause_reason: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        delegate!(self, s => s.set_broadcast_status(account_id, id, from, to, pause_reason, now).await)
    }
    /// Broadcasts still expanding or running, and those paused for want of credit, of every
    /// account, oldest first.
    pub async fn open_broadcasts(&self, limit: u32) -> Result<Vec<Broadcast>, StoreError> {
        delegate!(self, s => s.open_broadcasts(limit).await)
    }
    /// A broadcast's messages by status.
    pub async fn batch_status_counts(&self, account_id: &str, batch_id: &str) -> Result<Vec<StatusCount>, StoreError> {
        delegate!(self, s => s.batch_status_counts(account_id, batch_id).await)
    }
    /// Holds a batch's scheduled messages (they stop becoming due), or lets them go again at
    /// their send time moved on by `shift_ms`. Returns how many were changed.
    pub async fn hold_batch(
        &self,
        account_id: &str,
        batch_id: &str,
        hold: bool,
        shift_ms: i64,
    ) -> Result<u64, StoreError> {
        delegate!(self, s => s.hold_batch(account_id, batch_id, hold, shift_ms).await)
    }
    /// Up to `limit` ids of a batch's messages still scheduled.
    pub async fn scheduled_of_batch(
        &self,
        account_id: &str,
        batch_id: &str,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        delegate!(self, s => s.scheduled_of_batch(account_id, batch_id, limit).await)
    }
    /// Those of `phones` that already have a message of the batch, or that its broadcast
    /// left out (`BroadcastProgress::skipped_numbers`).
    pub async fn batch_numbers(&self, batch_id: &str, phones: &[&str]) -> Result<Vec<String>, StoreError> {
        delegate!(self, s => s.batch_numbers(batch_id, phones).await)
    }
}

impl Store {
    /// Queues the webhooks of an account-level event (`broadcast.*`, its payload the whole
    /// envelope) to every endpoint of the account subscribed to it.
    pub async fn queue_event(
        &self,
        account_id: &str,
        event_type: &'static str,
        payload: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        delegate!(self, s => s.queue_event(account_id, event_type, payload, at).await)
    }
}

impl Store {
    /// Takes (or renews) the right to expand a broadcast until `until`, so one worker of all
    /// the nodes sharing the database expands it; false while another holds it.
    pub async fn lease_broadcast(&self, id: &str, owner: &str, now: i64, until: i64) -> Result<bool, StoreError> {
        delegate!(self, s => s.lease_broadcast(id, owner, now, until).await)
    }
}

impl Store {
    /// How many messages of the account's broadcasts each of `phones` was sent since `since`
    /// (canceled ones do not count); numbers with none are left out.
    pub async fn broadcast_message_counts(
        &self,
        account_id: &str,
        phones: &[&str],
        since: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        delegate!(self, s => s.broadcast_message_counts(account_id, phones, since).await)
    }
}

impl Store {
    /// A batch's messages by number prefix and by the hour they are due.
    pub async fn batch_breakdown(&self, account_id: &str, batch_id: &str) -> Result<Breakdown, StoreError> {
        delegate!(self, s => s.batch_breakdown(account_id, batch_id).await)
    }
}

impl Store {
    /// Adds a segment; false when the broadcast already has one with its index.
    pub async fn create_segment(&self, segment: &Segment) -> Result<bool, StoreError> {
        delegate!(self, s => s.create_segment(segment).await)
    }
    /// A broadcast's segments, first first.
    pub async fn segments(&self, broadcast_id: &str) -> Result<Vec<Segment>, StoreError> {
        delegate!(self, s => s.segments(broadcast_id).await)
    }
    /// The batch's messages created in `[from, to)` by status, with the clicks and the
    /// links clicked at least once of their short links.
    pub async fn batch_window_counts(
        &self,
        account_id: &str,
        batch_id: &str,
        from: i64,
        to: i64,
    ) -> Result<(Vec<StatusCount>, i64, i64), StoreError> {
        delegate!(self, s => s.batch_window_counts(account_id, batch_id, from, to).await)
    }
}

impl Store {
    /// Stores a campaign; false when it is a second default campaign of its account.
    pub async fn create_campaign(&self, campaign: &Campaign) -> Result<bool, StoreError> {
        delegate!(self, s => s.create_campaign(campaign).await)
    }
    pub async fn find_campaign(&self, account_id: &str, id: &str) -> Result<Option<Campaign>, StoreError> {
        delegate!(self, s => s.find_campaign(account_id, id).await)
    }
    pub async fn default_campaign(&self, account_id: &str) -> Result<Option<Campaign>, StoreError> {
        delegate!(self, s => s.default_campaign(account_id).await)
    }
    /// Newest first.
    pub async fn list_campaigns(&self, account_id: &str, page: &Page) -> Result<Vec<Campaign>, StoreError> {
        delegate!(self, s => s.list_campaigns(account_id, page).await)
    }
    pub async fn update_campaign(&self, campaign: &Campaign) -> Result<bool, StoreError> {
        delegate!(self, s => s.update_campaign(campaign).await)
    }
}
