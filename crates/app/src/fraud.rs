//! The limits that apply to every send path: allowed destination countries and the daily spend
//! cap. The operator's `[fraud]` section sets the defaults; an account can only narrow them
//! (`GET`/`PATCH /v1/account/settings`).

use textbird_store::AccountFraudSettings;
use textbird_types::{Money, Msisdn, now_millis, parse_country};

use crate::{App, AppError, FieldError, Principal};

/// The spend cap's day (UTC).
const DAY_MS: i64 = 24 * 3600 * 1000;

/// The fraud settings in force for an account, and what the account set itself.
#[derive(Debug, Clone)]
pub struct FraudSettingsView {
    /// Countries the account may send to; empty: every country.
    pub allowed_countries: Vec<String>,
    pub daily_spend_cap: Option<Money>,
    /// The operator's defaults.
    pub operator_allowed_countries: Vec<String>,
    pub operator_daily_spend_cap: Option<Money>,
    /// What the account set (`None`: the operator's).
    pub account: AccountFraudSettings,
}

/// A change to an account's fraud settings: `None` leaves a field, `Some(None)` clears it
/// (back to the operator's), `Some(Some(v))` sets it.
#[derive(Debug, Clone, Default)]
pub struct FraudChange {
    pub allowed_countries: Option<Option<Vec<String>>>,
    pub daily_spend_cap: Option<Option<String>>,
}

/// Whether `to` is in one of `allowed` (empty: every country).
pub(crate) fn country_allowed(allowed: &[String], to: &Msisdn) -> bool {
    allowed.is_empty() || to.country().is_some_and(|c| allowed.iter().any(|a| a.eq_ignore_ascii_case(&c)))
}

impl App {
    fn operator_spend_cap(&self) -> Result<Option<Money>, AppError> {
        let cap = self.settings().fraud.daily_spend_cap.trim();
        if cap.is_empty() {
            return Ok(None);
        }
        Money::parse(cap).map(Some).map_err(|_| AppError::Internal("[fraud] daily_spend_cap is not an amount".into()))
    }

    pub async fn account_settings(&self, p: &Principal) -> Result<FraudSettingsView, AppError> {
        let account = self.store().account_fraud_settings(&p.account_id).await?;
        let operator_allowed_countries = self.settings().fraud.allowed_countries.clone();
        let operator_daily_spend_cap = self.operator_spend_cap()?;
        let (allowed_countries, daily_spend_cap) = self.in_force(&account)?;
        Ok(FraudSettingsView {
            allowed_countries,
            daily_spend_cap,
            operator_allowed_countries,
            operator_daily_spend_cap,
            account,
        })
    }

    /// Changes the account's own settings; they can only narrow the operator's.
    pub async fn update_account_settings(
        &self,
        p: &Principal,
        change: FraudChange,
    ) -> Result<FraudSettingsView, AppError> {
        let mut settings = self.store().account_fraud_settings(&p.account_id).await?;
        let operator = &self.settings().fraud.allowed_countries;
        let mut problems = Vec::new();
        if let Some(countries) = change.allowed_countries {
            settings.allowed_countries = match countries {
                None => None,
                Some(list) => {
                    let mut out: Vec<String> = Vec::new();
                    for (i, c) in list.iter().enumerate() {
                        let field = format!("allowed_countries[{i}]");
                        if parse_country(c).is_none() || c.trim().len() != 2 {
                            problems.push(FieldError::new(field, format!("{c:?} is not an ISO 3166 country code")));
                        } else if !operator.is_empty() && !operator.iter().any(|o| o.eq_ignore_ascii_case(c.trim())) {
                            problems.push(FieldError::new(field, format!("the operator does not allow {c}")));
                        } else if !out.iter().any(|o| o.eq_ignore_ascii_case(c.trim())) {
                            out.push(c.trim().to_ascii_uppercase());
                        }
                    }
                    if list.is_empty() {
                        problems.push(FieldError::new(
                            "allowed_countries",
                            "name at least one country, or null for the operator's",
                        ));
                    }
                    Some(out)
                }
            };
        }
        if let Some(cap) = change.daily_spend_cap {
            settings.daily_spend_cap = match cap.as_deref().map(Money::parse) {
                None => None,
                Some(Ok(m)) if m.0 >= 0 => Some(m.0),
                Some(_) => {
                    problems.push(FieldError::new("daily_spend_cap", "must be an amount such as \"25.00\""));
                    None
                }
            };
        }
        if !problems.is_empty() {
            return Err(AppError::Validation(problems));
        }
        self.store().put_account_fraud_settings(&p.account_id, &settings, now_millis()).await?;
        self.account_settings(p).await
    }

    /// The countries the account may send to and its daily spend cap: its own settings where
    /// it has them (the cap: the lower of its own and the operator's), else the operator's.
    fn in_force(&self, account: &AccountFraudSettings) -> Result<(Vec<String>, Option<Money>), AppError> {
        let countries =
            account.allowed_countries.clone().unwrap_or_else(|| self.settings().fraud.allowed_countries.clone());
        let cap = match (self.operator_spend_cap()?, account.daily_spend_cap) {
            (Some(o), Some(a)) => Some(Money(o.0.min(a))),
            (o, a) => o.or(a.map(Money)),
        };
        Ok((countries, cap))
    }

    /// The countries the account may send to now (empty: every country).
    pub(crate) async fn allowed_countries(&self, p: &Principal) -> Result<Vec<String>, AppError> {
        Ok(self.in_force(&self.store().account_fraud_settings(&p.account_id).await?)?.0)
    }

    /// Refuses a send that would take the account past its daily spend cap (UTC day).
    pub(crate) async fn check_spend_cap(&self, p: &Principal, cost: Money) -> Result<(), AppError> {
        let Some(cap) = self.in_force(&self.store().account_fraud_settings(&p.account_id).await?)?.1 else {
            return Ok(());
        };
        let today = now_millis().div_euclid(DAY_MS) * DAY_MS;
        let spent = Money(self.store().spent_since(&p.account_id, today).await?);
        if spent.0 + cost.0 > cap.0 {
            return Err(AppError::SpendCapReached { cap: cap.to_string(), spent: spent.to_string() });
        }
        Ok(())
    }
}
