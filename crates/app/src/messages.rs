//! Reading, canceling and replacing the caller's messages.

use textbird_store::{Message, MessageEvent, MessageFilter, Page, ReplaceOutcome, Replacement};
use textbird_types::Money;
use textbird_types::{Msisdn, Status, now_millis, parse_rfc3339_millis};

use crate::send::{MAX_SCHEDULE_AHEAD_MS, MAX_VALIDITY_SECS, MIN_VALIDITY_SECS, body_problem};
use crate::{App, AppError, FieldError, Principal};

pub const DEFAULT_PAGE: u32 = 50;
pub const MAX_PAGE: u32 = 1000;

/// New content for a scheduled message; `None` keeps what it has.
#[derive(Debug, Clone, Default)]
pub struct Replace {
    pub body: Option<String>,
    /// Epoch ms; a time already past makes the message due at once.
    pub send_at: Option<i64>,
    /// Epoch ms; unchanged, the message keeps its validity, counted from when it is due.
    pub valid_until: Option<i64>,
    /// Whether an SMPP customer awaits its receipt.
    pub smpp_receipt: Option<bool>,
}

/// Filters and cursor for listing messages.
#[derive(Debug, Clone, Default)]
pub struct MessageQuery {
    pub status: Option<String>,
    pub to: Option<String>,
    pub client_ref: Option<String>,
    /// RFC 3339, inclusive.
    pub created_from: Option<String>,
    /// RFC 3339, exclusive.
    pub created_to: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
    /// Only the messages of this broadcast (another account's is `NotFound`).
    pub broadcast_id: Option<String>,
}

pub struct MessageList {
    pub items: Vec<Message>,
    /// Pass as `cursor` for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Validates a page size and cursor.
pub(crate) fn page(cursor: Option<String>, limit: Option<u32>) -> Result<Page, AppError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(AppError::field("limit", format!("must be 1 to {MAX_PAGE}")));
    }
    if cursor
        .as_ref()
        .is_some_and(|c| c.len() > 64 || !c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'+'))
    {
        return Err(AppError::field("cursor", "is not a cursor from a previous page"));
    }
    Ok(Page { after: cursor, limit })
}

/// The cursor for the page after `items`: the last item's key when the page is full.
pub(crate) fn next_cursor<T>(items: &[T], page: &Page, key: impl Fn(&T) -> &str) -> Option<String> {
    (items.len() == page.limit as usize).then(|| items.last().map(|i| key(i).to_owned())).flatten()
}

impl App {
    pub async fn message(&self, p: &Principal, id: &str) -> Result<(Message, Vec<MessageEvent>), AppError> {
        let m = self.store().find_message(&p.account_id, id).await?.ok_or(AppError::NotFound("message"))?;
        let events = self.store().message_events(&m.id).await?;
        Ok((m, events))
    }

    pub async fn messages(&self, p: &Principal, q: MessageQuery) -> Result<MessageList, AppError> {
        let mut problems = Vec::new();
        if let Some(s) = &q.status
            && s.parse::<Status>().is_err()
        {
            problems.push(FieldError::new("status", "unknown status"));
        }
        let to = match q.to.as_deref() {
            None => None,
            Some(t) => match Msisdn::parse(t, p.country) {
                Ok(n) => Some(n.into_string()),
                Err(e) => {
                    problems.push(FieldError::new("to", e.to_string()));
                    None
                }
            },
        };
        let mut time = |field: &str, v: &Option<String>| {
            v.as_deref().and_then(|s| {
                let t = parse_rfc3339_millis(s);
                if t.is_none() {
                    problems.push(FieldError::new(field, "must be an RFC 3339 timestamp"));
                }
                t
            })
        };
        let created_from = time("created_from", &q.created_from);
        let created_to = time("created_to", &q.created_to);
        if !problems.is_empty() {
            return Err(AppError::Validation(problems));
        }
        let page = page(q.cursor, q.limit)?;
        if let Some(id) = &q.broadcast_id
            && self.store().find_broadcast(&p.account_id, id).await?.is_none()
        {
            return Err(AppError::NotFound("broadcast"));
        }
        let filter = MessageFilter {
            status: q.status,
            to,
            client_ref: q.client_ref,
            created_from,
            created_to,
            batch_id: q.broadcast_id,
        };
        let items = self.store().list_messages(&p.account_id, &filter, &page).await?;
        let next_cursor = next_cursor(&items, &page, |m| &m.id);
        Ok(MessageList { items, next_cursor })
    }

    /// Cancels a scheduled message (refunding it). Others cannot be canceled.
    pub async fn cancel(&self, p: &Principal, id: &str) -> Result<Message, AppError> {
        let m = self.store().find_message(&p.account_id, id).await?.ok_or(AppError::NotFound("message"))?;
        if !self.store().cancel(&p.account_id, &m.id, now_millis()).await? {
            return Err(AppError::Conflict(format!(
                "only scheduled messages can be canceled; this one is {}",
                m.status
            )));
        }
        self.store().find_message(&p.account_id, id).await?.ok_or(AppError::NotFound("message"))
    }

    /// Gives a scheduled message a new text, send time, validity or receipt request. The
    /// price follows the new number of parts at the message's own rate; the difference is
    /// charged (refused when the balance is short) or refunded in the same transaction.
    pub async fn replace(&self, p: &Principal, id: &str, r: Replace) -> Result<Message, AppError> {
        let settings = &self.settings().messages;
        let m = self.store().find_message(&p.account_id, id).await?.ok_or(AppError::NotFound("message"))?;
        let not_scheduled =
            |status: &str| AppError::Conflict(format!("only scheduled messages can be replaced; this one is {status}"));
        if m.status != Status::Scheduled.as_str() {
            return Err(not_scheduled(&m.status));
        }
        let now = now_millis();
        let body = r.body.unwrap_or_else(|| m.body.clone());
        if body.is_empty() {
            return Err(AppError::field("body", "must not be empty"));
        }
        if body.chars().count() > settings.max_body_chars {
            return Err(AppError::field("body", format!("must be at most {} characters", settings.max_body_chars)));
        }
        if let Some(problem) = body_problem(&body, settings.max_parts, true) {
            return Err(AppError::field("body", problem));
        }
        if let Some(t) = r.send_at
            && t - now > MAX_SCHEDULE_AHEAD_MS
        {
            return Err(AppError::field("send_at", "must be within a year"));
        }
        let send_at = r.send_at.map(|t| t.max(now));
        let due = send_at.or(m.send_at).unwrap_or(m.created_at);
        let valid_until = r.valid_until.unwrap_or(due + (m.valid_until - m.send_at.unwrap_or(m.created_at)));
        let validity = (valid_until - due) / 1000;
        if !(MIN_VALIDITY_SECS as i64..=MAX_VALIDITY_SECS as i64).contains(&validity) {
            return Err(AppError::field(
                "validity_period",
                format!("must end {MIN_VALIDITY_SECS} to {MAX_VALIDITY_SECS} seconds after the message is due"),
            ));
        }
        let analysis = textbird_sms::analyze(&body);
        let parts = i32::try_from(analysis.parts).map_err(|_| AppError::Internal("parts overflow".into()))?;
        let price = if m.parts > 0 { m.price / i64::from(m.parts) * i64::from(parts) } else { 0 };
        let replacement = Replacement {
            account_id: p.account_id.clone(),
            message_id: m.id.clone(),
            old_price: m.price,
            body,
            encoding: analysis.encoding.as_str().to_owned(),
            parts,
            price,
            send_at,
            valid_until,
            smpp_receipt: r.smpp_receipt,
            now,
        };
        match self.store().replace(replacement).await? {
            ReplaceOutcome::Replaced => {
                self.store().find_message(&p.account_id, id).await?.ok_or(AppError::NotFound("message"))
            }
            ReplaceOutcome::NotScheduled => {
                let now = self.store().find_message(&p.account_id, id).await?.ok_or(AppError::NotFound("message"))?;
                Err(not_scheduled(&now.status))
            }
            ReplaceOutcome::InsufficientBalance => {
                let available = self.account(p).await.map(|a| Money(a.balance).to_string()).unwrap_or_default();
                Err(AppError::InsufficientBalance { needed: Money(price - m.price).to_string(), available })
            }
        }
    }
}
