//! Inbound messages, the numbers that receive them, opt-outs, and the simulator's injection
//! of an inbound message (which travels the same path as a carrier's).

use textbird_config::ConnectorKind;
use textbird_engine::CarrierEvent;
use textbird_store::{Inbound, OptOut, OwnedNumber};
use textbird_types::Msisdn;

use crate::messages::{next_cursor, page};
use crate::{App, AppError, Principal};

/// An inbound SMS to inject through the simulated carrier.
#[derive(Debug, Clone)]
pub struct InjectInbound {
    pub from: String,
    pub to: String,
    pub body: String,
}

const MAX_INBOUND_CHARS: usize = 1600;

impl App {
    pub async fn inbound(
        &self,
        p: &Principal,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<(Vec<Inbound>, Option<String>), AppError> {
        let page = page(cursor, limit)?;
        let items = self.store().list_inbound(&p.account_id, &page).await?;
        let next = next_cursor(&items, &page, |m| &m.id);
        Ok((items, next))
    }

    /// One of the account's inbound messages.
    pub async fn inbound_message(&self, p: &Principal, id: &str) -> Result<Inbound, AppError> {
        self.store().find_inbound(&p.account_id, id).await?.ok_or(AppError::NotFound("message"))
    }

    pub async fn inject_inbound(&self, p: &Principal, req: InjectInbound) -> Result<(), AppError> {
        let from = Msisdn::parse(&req.from, p.country).map_err(|e| AppError::field("from", e.to_string()))?;
        let to = Msisdn::parse(&req.to, p.country).map_err(|e| AppError::field("to", e.to_string()))?;
        if req.body.is_empty() || req.body.chars().count() > MAX_INBOUND_CHARS {
            return Err(AppError::field("body", format!("must be 1 to {MAX_INBOUND_CHARS} characters")));
        }
        if self.store().find_number_owner(to.as_str()).await?.as_deref() != Some(p.account_id.as_str()) {
            return Err(AppError::NotFound("number"));
        }
        let connector = self
            .settings()
            .connectors
            .iter()
            .find(|c| c.kind == ConnectorKind::Simulator)
            .ok_or_else(|| AppError::Conflict("no simulator connector is configured".into()))?
            .name
            .clone();
        let events = self.inner.carrier_events.as_ref().ok_or(AppError::Unavailable)?;
        events
            .send(CarrierEvent::Inbound {
                connector,
                from: from.into_string(),
                to: to.into_string(),
                body: req.body,
                durable: textbird_engine::Durable::none(),
            })
            .await
            .map_err(|_| AppError::Unavailable)
    }

    pub async fn numbers(&self, p: &Principal) -> Result<Vec<OwnedNumber>, AppError> {
        Ok(self.store().list_numbers(&p.account_id).await?)
    }

    pub async fn add_number(&self, p: &Principal, number: &str) -> Result<String, AppError> {
        let n = Msisdn::parse(number, p.country).map_err(|e| AppError::field("number", e.to_string()))?;
        self.store().add_number(&p.account_id, n.as_str()).await?;
        Ok(n.into_string())
    }

    pub async fn remove_number(&self, p: &Principal, number: &str) -> Result<(), AppError> {
        let n = Msisdn::parse(number, p.country).map_err(|_| AppError::NotFound("number"))?;
        if self.store().remove_number(&p.account_id, n.as_str()).await? {
            Ok(())
        } else {
            Err(AppError::NotFound("number"))
        }
    }

    pub async fn opt_outs(
        &self,
        p: &Principal,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<(Vec<OptOut>, Option<String>), AppError> {
        self.opt_outs_of(p, None, cursor, limit).await
    }

    /// The account-wide opt-outs (the default unsubscribe list), a page at a time.
    pub async fn account_opt_outs(
        &self,
        p: &Principal,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<(Vec<OptOut>, Option<String>), AppError> {
        self.opt_outs_of(p, Some(""), cursor, limit).await
    }

    async fn opt_outs_of(
        &self,
        p: &Principal,
        sender: Option<&str>,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<(Vec<OptOut>, Option<String>), AppError> {
        let page = page(cursor, limit)?;
        let items = self.store().list_opt_outs(&p.account_id, sender, &page).await?;
        let next = next_cursor(&items, &page, |o| &o.phone);
        Ok((items, next))
    }

    /// Opts a number out of (or back into) every message of the account.
    pub async fn set_opt_out(&self, p: &Principal, phone: &str, opted_out: bool) -> Result<String, AppError> {
        let n = Msisdn::parse(phone, p.country).map_err(|e| AppError::field("phone", e.to_string()))?;
        let changed = self.store().set_opt_out(&p.account_id, n.as_str(), "", opted_out).await?;
        if !opted_out && !changed {
            return Err(AppError::NotFound("opt-out"));
        }
        Ok(n.into_string())
    }
}
