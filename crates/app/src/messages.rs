//! Reading and canceling the caller's messages.

use textbird_store::{Message, MessageEvent, MessageFilter, Page};
use textbird_types::{Msisdn, Status, now_millis, parse_rfc3339_millis};

use crate::{App, AppError, FieldError, Principal};

pub const DEFAULT_PAGE: u32 = 50;
pub const MAX_PAGE: u32 = 1000;

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
}
