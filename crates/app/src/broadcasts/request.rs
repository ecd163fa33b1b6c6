//! A broadcast request, as given and as stored with the broadcast (its `spec`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BroadcastRequest {
    pub campaign_id: Option<String>,
    pub name: Option<String>,
    pub audience: BroadcastAudience,
    /// Unsubscribe lists consulted besides the default one (`None`: every enabled one).
    pub unsubscribe_list_ids: Option<Vec<String>>,
    pub body: Option<String>,
    pub template_id: Option<String>,
    /// Rotated evenly over the recipients.
    #[serde(default)]
    pub template_ids: Vec<String>,
    pub from: Option<String>,
    /// Each message takes a random enabled sender of these.
    #[serde(default)]
    pub sender_ids: Vec<String>,
    /// Each message takes a random enabled sender of these lists.
    #[serde(default)]
    pub sender_list_ids: Vec<String>,
    /// RFC 3339.
    pub send_at: Option<String>,
    pub local_time: Option<bool>,
    pub quiet_hours: Option<QuietHours>,
    pub trigger_id: Option<String>,
    pub trigger_delay_secs: Option<u64>,
    pub max_per_second: Option<u32>,
    pub frequency_cap: Option<FrequencyCap>,
    pub segments: Option<Segments>,
    pub shorten_links: Option<bool>,
    pub callback_url: Option<String>,
    /// The `estimate_hash` of the estimate the caller saw.
    #[serde(skip_serializing)]
    pub estimate_hash: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BroadcastAudience {
    #[serde(default)]
    pub list_ids: Vec<String>,
    #[serde(default)]
    pub group_ids: Vec<String>,
    #[serde(default)]
    pub contact_ids: Vec<String>,
    #[serde(default)]
    pub numbers: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct QuietHours {
    /// `HH:MM`, the recipient's local time.
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FrequencyCap {
    pub max: u32,
    pub per_hours: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Segments {
    /// `all`, `manual` or `ctr`.
    pub mode: String,
    pub first_segment_size: Option<i64>,
    pub next_segment_size: Option<i64>,
    /// Percent, 1 to 100.
    pub conversion_threshold: Option<f64>,
    pub evaluate_after_secs: Option<u64>,
    pub recipient_cap: Option<i64>,
}

/// Minutes after midnight of an `HH:MM` time of day.
pub(crate) fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 && s.trim().len() == 5).then_some(h * 60 + m)
}
