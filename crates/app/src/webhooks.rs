//! Webhook endpoints: subscribe to event types, rotate secrets, inspect deliveries and every
//! attempt.

use textbird_store::{Attempt, Delivery, Webhook};
use textbird_types::{new_id, now_millis};

use crate::messages::{next_cursor, page};
use crate::{App, AppError, FieldError, Principal};

/// Every event type an endpoint can subscribe to (`*` means all).
pub const EVENT_TYPES: [&str; 25] = [
    "message.queued",
    "message.scheduled",
    "message.submitted",
    "message.delivered",
    "message.undelivered",
    "message.expired",
    "message.rejected",
    "message.failed",
    "message.canceled",
    "message.deleted",
    "message.unknown",
    "message.received",
    "link.clicked",
    "broadcast.started",
    "broadcast.paused",
    "broadcast.segment_completed",
    "broadcast.completed",
    "broadcast.resumed",
    "broadcast.canceled",
    "verification.approved",
    "verification.expired",
    "verification.canceled",
    "verification.max_attempts_reached",
    "verification.blocked",
    "*",
];
/// The shapes an endpoint's deliveries can be posted in, with the event types each can show
/// (`None`: all). `native` is the default; `cloudware` is vendor dialect 003's message
/// webhook (`message_received`, `message_sent`).
pub const WEBHOOK_FORMATS: [(&str, Option<&[&str]>); 2] =
    [("native", None), ("cloudware", Some(&["message.received", "message.submitted"]))];
/// How long the previous secret keeps signing after a rotation.
const ROTATION_OVERLAP_MS: i64 = 24 * 3600 * 1000;
const MAX_WEBHOOKS: usize = 50;

pub struct WebhookCreated {
    pub webhook: Webhook,
    /// Shown once.
    pub secret: String,
}

#[derive(Debug, Default)]
pub struct WebhookChange {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

impl App {
    /// The event types an endpoint of `format` subscribes to: those it names, or every one the
    /// format shows when it shows only some and names none.
    fn validate_events(format: &str, events: &[String]) -> Result<Vec<String>, FieldError> {
        if let Some((name, Some(shown))) = WEBHOOK_FORMATS.iter().find(|(name, _)| *name == format) {
            if events.is_empty() {
                return Ok(shown.iter().map(|e| (*e).to_owned()).collect());
            }
            if events.iter().any(|e| !shown.contains(&e.as_str())) {
                return Err(FieldError::new("events", format!("the {name} format shows only {}", shown.join(" and "))));
            }
        }
        if events.is_empty() {
            return Err(FieldError::new("events", "needs at least one event type"));
        }
        let mut out: Vec<String> = Vec::new();
        for e in events {
            if !EVENT_TYPES.contains(&e.as_str()) {
                return Err(FieldError::new("events", format!("unknown event type {e:?}")));
            }
            if !out.contains(e) {
                out.push(e.clone());
            }
        }
        Ok(out)
    }

    pub async fn create_webhook(
        &self,
        p: &Principal,
        url: String,
        events: Vec<String>,
        format: Option<String>,
    ) -> Result<WebhookCreated, AppError> {
        let mut problems = Vec::new();
        if let Err(e) = self.check_target_url(&url) {
            problems.push(FieldError::new("url", e));
        }
        let format = format.unwrap_or_else(|| WEBHOOK_FORMATS[0].0.to_owned());
        let events = if WEBHOOK_FORMATS.iter().any(|(name, _)| *name == format) {
            Self::validate_events(&format, &events).map_err(|e| problems.push(e)).unwrap_or_default()
        } else {
            let names: Vec<&str> = WEBHOOK_FORMATS.iter().map(|(n, _)| *n).collect();
            problems.push(FieldError::new("format", format!("must be one of {}", names.join(", "))));
            Vec::new()
        };
        if !problems.is_empty() {
            return Err(AppError::Validation(problems));
        }
        if self.store().list_webhooks(&p.account_id).await?.len() >= MAX_WEBHOOKS {
            return Err(AppError::Conflict(format!("an account can have at most {MAX_WEBHOOKS} webhook endpoints")));
        }
        let now = now_millis();
        let secret = textbird_webhooks::generate_secret();
        let webhook = Webhook {
            id: new_id(),
            account_id: p.account_id.clone(),
            url,
            events,
            secret: secret.clone(),
            previous_secret: None,
            previous_until: None,
            enabled: true,
            disabled_reason: None,
            failing_since: None,
            created_at: now,
            updated_at: now,
            format,
        };
        self.store().create_webhook(&webhook).await?;
        Ok(WebhookCreated { webhook, secret })
    }

    pub async fn webhooks(&self, p: &Principal) -> Result<Vec<Webhook>, AppError> {
        Ok(self.store().list_webhooks(&p.account_id).await?)
    }

    pub async fn webhook(&self, p: &Principal, id: &str) -> Result<Webhook, AppError> {
        self.store().find_webhook(&p.account_id, id).await?.ok_or(AppError::NotFound("webhook"))
    }

    pub async fn update_webhook(&self, p: &Principal, id: &str, change: WebhookChange) -> Result<Webhook, AppError> {
        let mut w = self.webhook(p, id).await?;
        let mut problems = Vec::new();
        if let Some(url) = change.url {
            if let Err(e) = self.check_target_url(&url) {
                problems.push(FieldError::new("url", e));
            }
            w.url = url;
        }
        if let Some(events) = change.events {
            match Self::validate_events(&w.format, &events) {
                Ok(e) => w.events = e,
                Err(e) => problems.push(e),
            }
        }
        if !problems.is_empty() {
            return Err(AppError::Validation(problems));
        }
        if let Some(enabled) = change.enabled {
            w.enabled = enabled;
            if enabled {
                w.disabled_reason = None;
                w.failing_since = None;
            }
        }
        w.updated_at = now_millis();
        self.store().update_webhook(&w).await?;
        Ok(w)
    }

    pub async fn delete_webhook(&self, p: &Principal, id: &str) -> Result<(), AppError> {
        if self.store().delete_webhook(&p.account_id, id).await? { Ok(()) } else { Err(AppError::NotFound("webhook")) }
    }

    /// A new secret; the old one keeps signing (as a second signature) for 24 hours.
    pub async fn rotate_webhook_secret(&self, p: &Principal, id: &str) -> Result<String, AppError> {
        let mut w = self.webhook(p, id).await?;
        let now = now_millis();
        let secret = textbird_webhooks::generate_secret();
        w.previous_secret = Some(std::mem::replace(&mut w.secret, secret.clone()));
        w.previous_until = Some(now + ROTATION_OVERLAP_MS);
        w.updated_at = now;
        self.store().update_webhook(&w).await?;
        Ok(secret)
    }

    pub async fn webhook_deliveries(
        &self,
        p: &Principal,
        webhook_id: Option<&str>,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<(Vec<Delivery>, Option<String>), AppError> {
        if let Some(id) = webhook_id {
            self.webhook(p, id).await?;
        }
        let page = page(cursor, limit)?;
        let items = self.store().list_deliveries(&p.account_id, webhook_id, &page).await?;
        let next = next_cursor(&items, &page, |d| &d.id);
        Ok((items, next))
    }

    pub async fn delivery_attempts(&self, p: &Principal, delivery_id: &str) -> Result<Vec<Attempt>, AppError> {
        self.store().find_delivery(&p.account_id, delivery_id).await?.ok_or(AppError::NotFound("delivery"))?;
        Ok(self.store().list_attempts(&p.account_id, delivery_id).await?)
    }
}
