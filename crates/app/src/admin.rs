//! What operators do across accounts: accounts (create, list, read, change, suspend, credit),
//! the rate table, connectors (status, pause and resume), routes and usage per account per
//! day. Every method takes the caller and answers `NotFound` unless it is an admin account,
//! so the same calls serve the admin API, the dashboard and the command line
//! ([`Principal::operator`]).

use serde::Serialize;
use textbird_config::ConnectorKind;
use textbird_engine::{ConnectorBoard, ConnectorStatus};
use textbird_store::{Account, AccountChange, Rate};
use textbird_types::{Money, format_millis, now_millis, parse_country};

use crate::{App, AppError, CreatedAccount, NewAccountRequest, Principal};

const DAY_MS: i64 = 86_400_000;
/// Days of usage returned when the request names no start.
const DEFAULT_USAGE_DAYS: i64 = 30;
/// Longest usage range, in days.
const MAX_USAGE_DAYS: i64 = 366;

/// An account as operators see it (no secrets).
#[derive(Debug, Clone, Serialize)]
pub struct AdminAccount {
    pub id: String,
    pub name: String,
    pub username: String,
    pub balance: String,
    pub country: String,
    pub timezone: String,
    pub admin: bool,
    pub suspended: bool,
    pub suspended_at: Option<String>,
    pub created_at: String,
}

impl From<Account> for AdminAccount {
    fn from(a: Account) -> Self {
        Self {
            id: a.id,
            name: a.name,
            username: a.username,
            balance: Money(a.balance).to_string(),
            country: a.country,
            timezone: a.timezone,
            admin: a.is_admin,
            suspended: a.suspended_at.is_some(),
            suspended_at: a.suspended_at.map(format_millis),
            created_at: format_millis(a.created_at),
        }
    }
}

/// Fields of an account to change (`None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct AccountUpdate {
    pub name: Option<String>,
    pub country: Option<String>,
    pub timezone: Option<String>,
}

/// One row of the rate table.
#[derive(Debug, Clone, Serialize)]
pub struct RateRow {
    pub prefix: String,
    pub price: String,
}

/// What a rate import did.
#[derive(Debug, Clone, Serialize)]
pub struct RatesImported {
    /// Rows read.
    pub imported: usize,
    /// Rows added or changed.
    pub changed: u64,
}

/// One configured route.
#[derive(Debug, Clone, Serialize)]
pub struct RouteRow {
    pub prefix: String,
    pub connector: String,
    pub priority: i32,
}

/// One account's messages created on one UTC day.
#[derive(Debug, Clone, Serialize)]
pub struct UsageRow {
    pub account_id: String,
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub messages: i64,
    pub parts: i64,
    pub cost: String,
}

impl Principal {
    /// The operator at the command line: an admin of no account in particular.
    pub fn operator() -> Principal {
        Principal {
            account_id: String::new(),
            credential_id: "command-line".into(),
            country: None,
            timezone: "UTC".into(),
            is_admin: true,
            scopes: None,
            key_prefix: None,
        }
    }
}

fn require_admin(p: &Principal) -> Result<(), AppError> {
    if p.is_admin { Ok(()) } else { Err(AppError::NotFound("resource")) }
}

impl App {
    /// Lets the admin calls see this node's connectors (the running engine's board).
    pub fn attach_connectors(&self, board: ConnectorBoard) {
        let _ = self.inner.connectors.set(board);
    }

    pub async fn admin_create_account(
        &self,
        p: &Principal,
        req: NewAccountRequest,
    ) -> Result<CreatedAccount, AppError> {
        require_admin(p)?;
        let created = self.create_account(NewAccountRequest { is_admin: false, ..req }).await?;
        tracing::info!(account = %created.id, "account created");
        Ok(created)
    }

    pub async fn admin_accounts(&self, p: &Principal) -> Result<Vec<AdminAccount>, AppError> {
        require_admin(p)?;
        Ok(self.store().list_accounts().await?.into_iter().map(AdminAccount::from).collect())
    }

    pub async fn admin_account(&self, p: &Principal, id: &str) -> Result<AdminAccount, AppError> {
        require_admin(p)?;
        self.store().find_account(id).await?.map(AdminAccount::from).ok_or(AppError::NotFound("account"))
    }

    pub async fn admin_update_account(
        &self,
        p: &Principal,
        id: &str,
        update: AccountUpdate,
    ) -> Result<AdminAccount, AppError> {
        require_admin(p)?;
        let mut errors = Vec::new();
        let name = update.name.map(|n| n.trim().to_owned());
        if name.as_ref().is_some_and(|n| n.is_empty() || n.chars().count() > 100) {
            errors.push(crate::FieldError::new("name", "must be 1 to 100 characters"));
        }
        let country = update.country.map(|c| c.trim().to_ascii_uppercase());
        if country.as_ref().is_some_and(|c| parse_country(c).is_none()) {
            errors.push(crate::FieldError::new("country", "must be an ISO 3166 alpha-2 code such as NL"));
        }
        if update.timezone.as_ref().is_some_and(|t| jiff::tz::TimeZone::get(t).is_err()) {
            errors.push(crate::FieldError::new("timezone", "unknown time zone"));
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let change = AccountChange { name, country, timezone: update.timezone };
        if !self.store().update_account(id, &change).await? {
            return Err(AppError::NotFound("account"));
        }
        self.forget_credentials();
        self.admin_account(p, id).await
    }

    /// Suspends (or reinstates) an account: its keys, tokens and password stop working at
    /// once on this node and within a second on the others. An admin cannot suspend its own
    /// account.
    pub async fn admin_suspend_account(
        &self,
        p: &Principal,
        id: &str,
        suspend: bool,
    ) -> Result<AdminAccount, AppError> {
        require_admin(p)?;
        if suspend && id == p.account_id {
            return Err(AppError::Conflict("an account cannot suspend itself".into()));
        }
        let at = suspend.then(now_millis);
        if !self.store().set_account_suspended(id, at).await? {
            return Err(AppError::NotFound("account"));
        }
        self.forget_credentials();
        tracing::info!(account = %id, suspended = suspend, "account suspension changed");
        self.admin_account(p, id).await
    }

    /// Adds `amount` (negative: removes it) to an account's balance, with a ledger entry.
    pub async fn admin_credit(&self, p: &Principal, id: &str, amount: &str) -> Result<AdminAccount, AppError> {
        require_admin(p)?;
        let amount = Money::parse(amount.trim()).map_err(|e| AppError::field("amount", e.to_string()))?;
        if amount.micros() == 0 {
            return Err(AppError::field("amount", "must not be zero"));
        }
        if self.store().find_account(id).await?.is_none() {
            return Err(AppError::NotFound("account"));
        }
        self.store().adjust_balance(id, amount.micros(), "operator credit").await?;
        tracing::info!(account = %id, amount = %amount, "account credited");
        self.admin_account(p, id).await
    }

    pub async fn admin_rates(&self, p: &Principal) -> Result<Vec<RateRow>, AppError> {
        require_admin(p)?;
        Ok(self
            .store()
            .list_rates()
            .await?
            .into_iter()
            .map(|r| RateRow { prefix: r.prefix, price: Money(r.price).to_string() })
            .collect())
    }

    /// Adds or updates rates (see [`crate::parse_rates_csv`]); this node uses them at once,
    /// the others within `RATES_RELOAD_INTERVAL`.
    pub async fn admin_import_rates(&self, p: &Principal, rates: &[Rate]) -> Result<RatesImported, AppError> {
        require_admin(p)?;
        let changed = self.store().upsert_rates(rates).await?;
        self.rates().reload(self.store()).await?;
        tracing::info!(rows = rates.len(), changed, "rates imported");
        Ok(RatesImported { imported: rates.len(), changed })
    }

    pub async fn admin_delete_rate(&self, p: &Principal, prefix: &str) -> Result<(), AppError> {
        require_admin(p)?;
        if !self.store().delete_rate(prefix.trim_start_matches('+')).await? {
            return Err(AppError::NotFound("rate"));
        }
        self.rates().reload(self.store()).await?;
        Ok(())
    }

    /// Every configured connector's state on this node (without a running engine, such as
    /// at the command line: only whether it is paused).
    pub async fn admin_connectors(&self, p: &Principal) -> Result<Vec<ConnectorStatus>, AppError> {
        require_admin(p)?;
        if let Some(board) = self.inner.connectors.get() {
            return Ok(board.statuses());
        }
        let paused = self.store().paused_connectors().await?;
        Ok(self
            .settings()
            .connectors
            .iter()
            .map(|c| ConnectorStatus {
                name: c.name.clone(),
                kind: match c.kind {
                    ConnectorKind::Simulator => "simulator",
                    ConnectorKind::Smpp => "smpp",
                }
                .into(),
                bound: false,
                window_in_use: 0,
                throughput: 0.0,
                queue_depth: 0,
                last_error: None,
                reconnects: 0,
                paused: paused.contains(&c.name),
            })
            .collect())
    }

    /// Pauses (or resumes) a connector on every node: no messages are handed to it (its
    /// bind stays up) until it is resumed. Messages it would have carried take the next
    /// route, or wait in the queue.
    pub async fn admin_pause_connector(
        &self,
        p: &Principal,
        name: &str,
        pause: bool,
    ) -> Result<ConnectorStatus, AppError> {
        require_admin(p)?;
        if !self.settings().connectors.iter().any(|c| c.name == name) {
            return Err(AppError::NotFound("connector"));
        }
        self.store().set_connector_paused(name, pause.then(now_millis)).await?;
        if let Some(state) = self.inner.connectors.get().and_then(|b| b.get(name)) {
            // This node at once; the others when they next read the pauses.
            let paused = self.store().paused_connectors().await?;
            state.set_paused_from(&paused);
        }
        tracing::info!(connector = %name, paused = pause, "connector pause changed by an operator");
        self.admin_connectors(p).await?.into_iter().find(|c| c.name == name).ok_or(AppError::NotFound("connector"))
    }

    pub fn admin_routes(&self, p: &Principal) -> Result<Vec<RouteRow>, AppError> {
        require_admin(p)?;
        Ok(self
            .settings()
            .routes
            .iter()
            .map(|r| RouteRow {
                prefix: r.prefix.trim_start_matches('+').to_owned(),
                connector: r.connector.clone(),
                priority: r.priority,
            })
            .collect())
    }

    /// Messages, parts and cost per account per UTC day, from `from` to `to` (`YYYY-MM-DD`,
    /// both included; default: the last 30 days), for one account or every one.
    pub async fn admin_usage(
        &self,
        p: &Principal,
        account_id: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Vec<UsageRow>, AppError> {
        require_admin(p)?;
        let today = now_millis().div_euclid(DAY_MS) * DAY_MS;
        let until = match to {
            Some(d) => parse_day(d, "to")? + DAY_MS,
            None => today + DAY_MS,
        };
        let from = match from {
            Some(d) => parse_day(d, "from")?,
            None => until - DEFAULT_USAGE_DAYS * DAY_MS,
        };
        if from >= until {
            return Err(AppError::field("from", "must not be after `to`"));
        }
        if until - from > MAX_USAGE_DAYS * DAY_MS {
            return Err(AppError::field("from", format!("the range is at most {MAX_USAGE_DAYS} days")));
        }
        if let Some(id) = account_id
            && self.store().find_account(id).await?.is_none()
        {
            return Err(AppError::NotFound("account"));
        }
        Ok(self
            .store()
            .usage(account_id, from, until)
            .await?
            .into_iter()
            .map(|u| UsageRow {
                account_id: u.account_id,
                day: format_millis(u.day_start)[..10].to_owned(),
                messages: u.messages,
                parts: u.parts,
                cost: Money(u.cost).to_string(),
            })
            .collect())
    }
}

/// Epoch ms of the start of a `YYYY-MM-DD` day (UTC).
fn parse_day(s: &str, field: &str) -> Result<i64, AppError> {
    let date: jiff::civil::Date = s.trim().parse().map_err(|_| AppError::field(field, "must be a date YYYY-MM-DD"))?;
    let zoned =
        date.to_zoned(jiff::tz::TimeZone::UTC).map_err(|_| AppError::field(field, "must be a date YYYY-MM-DD"))?;
    Ok(zoned.timestamp().as_millisecond())
}
