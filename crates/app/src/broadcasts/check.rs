//! Checking a broadcast request: every field, every id the account must own, its senders
//! and texts resolved.

use std::collections::HashSet;

use textbird_store::ListKind;
use textbird_types::{Sender, now_millis, parse_rfc3339_millis};

use super::{BroadcastRequest, Checked, MAX_AHEAD_MS, request, text_of};
use crate::{App, AppError, FieldError, Principal};

impl App {
    /// Checks every field of a broadcast request and resolves its senders and texts. Unknown
    /// ids (another account's too) are `NotFound`; bad values are problems naming the field.
    pub(super) async fn check_broadcast(&self, p: &Principal, req: BroadcastRequest) -> Result<Checked, AppError> {
        self.checked_broadcast(p, req, true).await
    }

    /// A stored broadcast's request resolved again (its senders and texts) for a chunk.
    pub(crate) async fn resolve_broadcast(&self, p: &Principal, req: BroadcastRequest) -> Result<Checked, AppError> {
        self.checked_broadcast(p, req, false).await
    }

    /// `creating`: the request is new, so its time must lie ahead and a campaign must exist.
    pub(super) async fn checked_broadcast(
        &self,
        p: &Principal,
        req: BroadcastRequest,
        creating: bool,
    ) -> Result<Checked, AppError> {
        let now = now_millis();
        let mut problems = Vec::new();
        let a = &req.audience;
        if a.list_ids.is_empty() && a.group_ids.is_empty() && a.contact_ids.is_empty() && a.numbers.is_empty() {
            problems.push(FieldError::new(
                "audience",
                "is empty: give `list_ids`, `group_ids`, `contact_ids` or `numbers`",
            ));
        }
        if let Some(name) = &req.name
            && (name.trim().is_empty() || name.chars().count() > 200)
        {
            problems.push(FieldError::new("name", "must be 1 to 200 characters"));
        }
        let send_at = match req.send_at.as_deref() {
            None => None,
            Some(s) => match parse_rfc3339_millis(s) {
                None => {
                    problems.push(FieldError::new("send_at", "must be an RFC 3339 timestamp with an offset"));
                    None
                }
                Some(t) if creating && t < now - 60_000 => {
                    problems.push(FieldError::new("send_at", "is in the past"));
                    None
                }
                Some(t) if creating && t - now > MAX_AHEAD_MS => {
                    problems.push(FieldError::new("send_at", "must be within a year"));
                    None
                }
                Some(t) => (t > now).then_some(t),
            },
        };
        if let Some(q) = &req.quiet_hours {
            for (field, v) in [("quiet_hours.start", &q.start), ("quiet_hours.end", &q.end)] {
                if request::parse_hhmm(v).is_none() {
                    problems.push(FieldError::new(field, "must be a time of day as HH:MM"));
                }
            }
        }
        if let Some(s) = &req.segments {
            if !["all", "manual", "ctr"].contains(&s.mode.as_str()) {
                problems.push(FieldError::new("segments.mode", "must be all, manual or ctr"));
            }
            for (field, v) in [
                ("segments.first_segment_size", s.first_segment_size),
                ("segments.next_segment_size", s.next_segment_size),
                ("segments.recipient_cap", s.recipient_cap),
            ] {
                if v.is_some_and(|v| v < 1) {
                    problems.push(FieldError::new(field, "must be at least 1"));
                }
            }
            if s.conversion_threshold.is_some_and(|t| !(1.0..=100.0).contains(&t)) {
                problems.push(FieldError::new("segments.conversion_threshold", "must be 1 to 100 (%)"));
            }
        }
        if req.max_per_second.is_some_and(|m| m < 1) {
            problems.push(FieldError::new("max_per_second", "must be at least 1"));
        }
        if let Some(cap) = &req.frequency_cap
            && (cap.max < 1 || cap.per_hours < 1)
        {
            problems.push(FieldError::new("frequency_cap", "`max` and `per_hours` must be at least 1"));
        }
        let campaign_id = if creating {
            self.broadcast_campaign(p, req.campaign_id.as_deref(), send_at.unwrap_or(now)).await?.id
        } else {
            req.campaign_id.clone().unwrap_or_default()
        };
        // Texts: `body`, `template_id` or `template_ids`, one of them.
        let shorten = req.shorten_links != Some(false);
        let given = [req.body.is_some(), req.template_id.is_some(), !req.template_ids.is_empty()];
        let mut texts = Vec::new();
        match given.iter().filter(|g| **g).count() {
            0 => problems.push(FieldError::new("body", "is missing: give `body`, `template_id` or `template_ids`")),
            1 => {}
            _ => problems.push(FieldError::new("body", "give one of `body`, `template_id` and `template_ids`")),
        }
        let max_parts = self.settings().messages.max_parts;
        if let Some(body) = &req.body {
            if body.trim().is_empty() {
                problems.push(FieldError::new("body", "is empty"));
            } else if body.chars().count() > self.settings().messages.max_body_chars {
                problems.push(FieldError::new(
                    "body",
                    format!("must be at most {} characters", self.settings().messages.max_body_chars),
                ));
            } else if let Some(problem) = crate::send::body_problem(body, max_parts, !crate::template::has_tokens(body))
            {
                problems.push(FieldError::new("body", problem));
            }
            texts.push(text_of(body.clone(), crate::template::has_tokens(body), shorten));
        }
        let template_ids: Vec<String> = req.template_id.iter().chain(&req.template_ids).cloned().collect();
        for id in &template_ids {
            let t = self.store().find_template(&p.account_id, id).await?.ok_or(AppError::NotFound("template"))?;
            texts.push(text_of(t.body, true, shorten));
        }
        // Senders: `from`, `sender_ids` or `sender_list_ids`.
        let mut senders = Vec::new();
        let given = [req.from.is_some(), !req.sender_ids.is_empty(), !req.sender_list_ids.is_empty()];
        if given.iter().filter(|g| **g).count() > 1 {
            problems.push(FieldError::new("from", "give one of `from`, `sender_ids` and `sender_list_ids`"));
        }
        if let Some(from) = &req.from {
            match Sender::parse(from) {
                Ok(s) => senders.push(s),
                Err(e) => problems.push(FieldError::new("from", e.to_string())),
            }
        }
        if !req.sender_ids.is_empty() {
            let found = self.store().find_senders(&p.account_id, &req.sender_ids).await?;
            let distinct: HashSet<&String> = req.sender_ids.iter().collect();
            if found.len() < distinct.len() {
                return Err(AppError::NotFound("sender"));
            }
            for s in found.into_iter().filter(|s| s.enabled) {
                senders.push(Sender::parse(&s.value).map_err(|e| AppError::field("sender_ids", e.to_string()))?);
            }
            if senders.is_empty() {
                problems.push(FieldError::new("sender_ids", "none of these senders is enabled"));
            }
        }
        for id in &req.sender_list_ids {
            for v in self.sender_list_senders(p, id).await? {
                senders.push(Sender::parse(&v).map_err(|e| AppError::field("sender_list_ids", e.to_string()))?);
            }
        }
        if given.iter().all(|g| !*g) {
            match self.store().list_numbers(&p.account_id).await?.into_iter().next() {
                Some(n) => senders.extend(Sender::parse(&n.number).ok()),
                None => {
                    problems.push(FieldError::new("from", "is required (the account owns no number to default to)"));
                }
            }
        }
        if senders.is_empty() && problems.is_empty() {
            problems.push(FieldError::new("from", "no sender to send from"));
        }
        // Every id of the audience is the caller's.
        for id in &req.audience.list_ids {
            let enabled = self
                .store()
                .list_enabled(&p.account_id, ListKind::Recipients, id)
                .await?
                .ok_or(AppError::NotFound("list"))?;
            if !enabled {
                problems.push(FieldError::new("audience.list_ids", "this list is disabled"));
            }
        }
        if !req.audience.group_ids.is_empty() {
            let distinct: HashSet<&String> = req.audience.group_ids.iter().collect();
            if self.store().find_groups(&p.account_id, &req.audience.group_ids).await?.len() < distinct.len() {
                return Err(AppError::NotFound("group"));
            }
        }
        if !req.audience.contact_ids.is_empty() {
            if req.audience.contact_ids.len() > crate::MAX_IDS_PER_REQUEST {
                problems.push(FieldError::new(
                    "audience.contact_ids",
                    format!("at most {} ids", crate::MAX_IDS_PER_REQUEST),
                ));
            }
            let distinct: HashSet<&String> = req.audience.contact_ids.iter().collect();
            if self.store().find_contacts(&p.account_id, &req.audience.contact_ids).await?.len() < distinct.len() {
                return Err(AppError::NotFound("contact"));
            }
        }
        if req.audience.numbers.len() > self.settings().messages.max_recipients {
            problems.push(FieldError::new(
                "audience.numbers",
                format!("at most {} numbers (put more on a list)", self.settings().messages.max_recipients),
            ));
        }
        if let Some(ids) = &req.unsubscribe_list_ids {
            for id in ids {
                if self.store().list_enabled(&p.account_id, ListKind::Unsubscribe, id).await?.is_none() {
                    return Err(AppError::NotFound("unsubscribe list"));
                }
            }
        }
        if let Some(id) = &req.trigger_id {
            self.store().find_trigger(&p.account_id, id).await?.ok_or(AppError::NotFound("trigger"))?;
        }
        if !problems.is_empty() {
            return Err(AppError::Validation(problems));
        }
        Ok(Checked { req, senders, texts, send_at, campaign_id })
    }
}
