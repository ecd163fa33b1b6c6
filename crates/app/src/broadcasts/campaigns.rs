//! Campaigns: named groups of broadcasts with an optional date window. Every account has one
//! default campaign (made when first needed), which broadcasts without `campaign_id` join;
//! deleting a campaign disables it, and a disabled campaign or one outside its window takes
//! no new broadcast.

use textbird_store::Campaign;
use textbird_types::{new_id, now_millis, parse_rfc3339_millis};

use crate::messages::{next_cursor, page};
use crate::{App, AppError, FieldError, Principal};

const MAX_NAME_CHARS: usize = 100;
const DAY_MS: i64 = 24 * 3600 * 1000;

/// A new campaign. Dates are RFC 3339 times or `YYYY-MM-DD` (a whole day, UTC).
#[derive(Debug, Clone, Default)]
pub struct CampaignInput {
    pub name: String,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
}

/// A change to a campaign; `None` keeps a value.
#[derive(Debug, Clone, Default)]
pub struct CampaignChange {
    pub name: Option<String>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub enabled: Option<bool>,
}

/// Epoch ms of a date: an RFC 3339 time, or the start (or, for an end, the end) of a day.
fn parse_date(s: &str, end: bool) -> Option<i64> {
    if let Some(t) = parse_rfc3339_millis(s) {
        return Some(t);
    }
    let day: jiff::civil::Date = s.trim().parse().ok()?;
    let start = day.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp().as_millisecond();
    Some(if end { start + DAY_MS } else { start })
}

fn check_name(name: &str, problems: &mut Vec<FieldError>) -> String {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        problems.push(FieldError::new("name", format!("must be 1 to {MAX_NAME_CHARS} characters")));
    }
    name.to_owned()
}

fn dates(start: Option<&str>, end: Option<&str>, problems: &mut Vec<FieldError>) -> (Option<i64>, Option<i64>) {
    // A date given but not valid is a problem recorded (and the change is refused).
    let mut one = |field: &str, v: Option<&str>, is_end: bool| {
        v.and_then(|s| {
            let t = parse_date(s, is_end);
            if t.is_none() {
                problems.push(FieldError::new(field, "must be an RFC 3339 time or a date (YYYY-MM-DD)"));
            }
            t
        })
    };
    (one("start_date", start, false), one("end_date", end, true))
}

impl App {
    pub async fn create_campaign(&self, p: &Principal, input: CampaignInput) -> Result<Campaign, AppError> {
        let mut problems = Vec::new();
        let name = check_name(&input.name, &mut problems);
        let (start, end) = dates(input.start_date.as_deref(), input.end_date.as_deref(), &mut problems);
        if let (Some(s), Some(e)) = (start, end)
            && e < s
        {
            problems.push(FieldError::new("end_date", "must not be before start_date"));
        }
        if !problems.is_empty() {
            return Err(AppError::Validation(problems));
        }
        self.default_campaign(p).await?;
        let now = now_millis();
        let c = Campaign {
            id: new_id(),
            account_id: p.account_id.clone(),
            name,
            start_date: start,
            end_date: end,
            enabled: true,
            is_default: false,
            created_at: now,
            updated_at: now,
        };
        self.store().create_campaign(&c).await?;
        Ok(c)
    }

    pub async fn campaign(&self, p: &Principal, id: &str) -> Result<Campaign, AppError> {
        self.default_campaign(p).await?;
        self.store().find_campaign(&p.account_id, id).await?.ok_or(AppError::NotFound("campaign"))
    }

    pub async fn campaigns(
        &self,
        p: &Principal,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<(Vec<Campaign>, Option<String>), AppError> {
        self.default_campaign(p).await?;
        let page = page(cursor, limit)?;
        let items = self.store().list_campaigns(&p.account_id, &page).await?;
        let next = next_cursor(&items, &page, |c| &c.id);
        Ok((items, next))
    }

    pub async fn update_campaign(&self, p: &Principal, id: &str, change: CampaignChange) -> Result<Campaign, AppError> {
        let mut c = self.campaign(p, id).await?;
        let mut problems = Vec::new();
        if let Some(name) = &change.name {
            c.name = check_name(name, &mut problems);
        }
        let (start, end) = dates(change.start_date.as_deref(), change.end_date.as_deref(), &mut problems);
        if start.is_some() {
            c.start_date = start;
        }
        if end.is_some() {
            c.end_date = end;
        }
        if let (Some(s), Some(e)) = (c.start_date, c.end_date)
            && e < s
        {
            problems.push(FieldError::new("end_date", "must not be before start_date"));
        }
        if change.enabled == Some(false) && c.is_default {
            problems.push(FieldError::new("enabled", "the default campaign cannot be disabled"));
        }
        if !problems.is_empty() {
            return Err(AppError::Validation(problems));
        }
        if let Some(enabled) = change.enabled {
            c.enabled = enabled;
        }
        c.updated_at = now_millis();
        if !self.store().update_campaign(&c).await? {
            return Err(AppError::NotFound("campaign"));
        }
        Ok(c)
    }

    /// Disables a campaign (its broadcasts stay); the default campaign cannot be.
    pub async fn delete_campaign(&self, p: &Principal, id: &str) -> Result<Campaign, AppError> {
        let c = self.campaign(p, id).await?;
        if c.is_default {
            return Err(AppError::Conflict("the default campaign cannot be disabled".into()));
        }
        self.update_campaign(p, id, CampaignChange { enabled: Some(false), ..CampaignChange::default() }).await
    }

    /// The account's default campaign, made if it has none yet.
    pub(crate) async fn default_campaign(&self, p: &Principal) -> Result<Campaign, AppError> {
        if let Some(c) = self.store().default_campaign(&p.account_id).await? {
            return Ok(c);
        }
        let now = now_millis();
        let c = Campaign {
            id: new_id(),
            account_id: p.account_id.clone(),
            name: "Default".into(),
            start_date: None,
            end_date: None,
            enabled: true,
            is_default: true,
            created_at: now,
            updated_at: now,
        };
        self.store().create_campaign(&c).await?;
        // Another request may have made it first.
        self.store().default_campaign(&p.account_id).await?.ok_or(AppError::NotFound("campaign"))
    }

    /// The campaign a new broadcast sending at `at` joins: `id`, or the default one. Another
    /// account's is `NotFound`; a disabled one, or one whose window does not hold `at`, is a
    /// problem with `campaign_id`.
    pub(crate) async fn broadcast_campaign(
        &self,
        p: &Principal,
        id: Option<&str>,
        at: i64,
    ) -> Result<Campaign, AppError> {
        let c = match id {
            None => return self.default_campaign(p).await,
            Some(id) => self.campaign(p, id).await?,
        };
        if !c.enabled {
            return Err(AppError::field("campaign_id", "this campaign is disabled"));
        }
        if c.start_date.is_some_and(|s| at < s) || c.end_date.is_some_and(|e| at >= e) {
            return Err(AppError::field("campaign_id", "the broadcast falls outside this campaign's dates"));
        }
        Ok(c)
    }
}
