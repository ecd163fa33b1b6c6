//! The webhook endpoints of every account, held in memory so the writer can fan an event out
//! to its subscribers inside the event's own transaction without a query per event.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::model::Webhook;

#[derive(Clone, Default)]
pub(crate) struct WebhookCache {
    by_account: Arc<RwLock<HashMap<String, Vec<Arc<Webhook>>>>>,
}

impl WebhookCache {
    pub(crate) fn replace_all(&self, hooks: Vec<Webhook>) {
        let mut map: HashMap<String, Vec<Arc<Webhook>>> = HashMap::new();
        for h in hooks {
            map.entry(h.account_id.clone()).or_default().push(Arc::new(h));
        }
        *self.by_account.write().expect("webhook cache poisoned") = map;
    }

    pub(crate) fn upsert(&self, hook: &Webhook) {
        let mut map = self.by_account.write().expect("webhook cache poisoned");
        let list = map.entry(hook.account_id.clone()).or_default();
        list.retain(|h| h.id != hook.id);
        list.push(Arc::new(hook.clone()));
    }

    pub(crate) fn remove(&self, account_id: &str, id: &str) {
        if let Some(list) = self.by_account.write().expect("webhook cache poisoned").get_mut(account_id) {
            list.retain(|h| h.id != id);
        }
    }

    pub(crate) fn disable(&self, id: &str, reason: &str) {
        let mut map = self.by_account.write().expect("webhook cache poisoned");
        for list in map.values_mut() {
            for h in list.iter_mut().filter(|h| h.id == id) {
                let mut updated = (**h).clone();
                updated.enabled = false;
                updated.disabled_reason = Some(reason.to_owned());
                *h = Arc::new(updated);
            }
        }
    }

    /// The shape an endpoint's deliveries are posted in (`None` for an unknown endpoint).
    pub(crate) fn format(&self, account_id: &str, id: &str) -> Option<String> {
        let map = self.by_account.read().expect("webhook cache poisoned");
        map.get(account_id)?.iter().find(|h| h.id == id).map(|h| h.format.clone())
    }

    /// The secrets that sign an endpoint's deliveries (current first, then the previous one
    /// while its rotation overlap lasts); `None` for an unknown endpoint.
    pub(crate) fn secrets(&self, account_id: &str, id: &str, now: i64) -> Option<Vec<String>> {
        let map = self.by_account.read().expect("webhook cache poisoned");
        let w = map.get(account_id)?.iter().find(|h| h.id == id)?;
        let mut secrets = vec![w.secret.clone()];
        if let (Some(prev), Some(until)) = (&w.previous_secret, w.previous_until)
            && until > now
        {
            secrets.push(prev.clone());
        }
        Some(secrets)
    }

    /// Endpoints of `account_id` subscribed to `event_type`: `(webhook id, url)`.
    pub(crate) fn subscribers(&self, account_id: &str, event_type: &str) -> Vec<(String, String)> {
        let map = self.by_account.read().expect("webhook cache poisoned");
        map.get(account_id)
            .map(|list| list.iter().filter(|h| h.wants(event_type)).map(|h| (h.id.clone(), h.url.clone())).collect())
            .unwrap_or_default()
    }
}
