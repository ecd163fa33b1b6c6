//! Screening a send's recipients: the account's allowed countries, opt-outs and unsubscribe
//! lists, shared by single sends, broadcasts and estimates.

use std::collections::{HashMap, HashSet};

use super::{Addressed, RecipientError};
use crate::fraud::country_allowed;
use crate::{App, AppError, Principal};

impl App {
    /// Removes from `valid` the recipients in a country the account may not send to, who
    /// opted out of their sender or are on one of the unsubscribe lists consulted (`None`:
    /// every enabled one), recording each in `errors`.
    pub(crate) async fn screen(
        &self,
        p: &Principal,
        valid: &mut Vec<Addressed>,
        unsubscribe_list_ids: Option<&[String]>,
        errors: &mut Vec<RecipientError>,
    ) -> Result<(), AppError> {
        let allowed = self.allowed_countries(p).await?;
        if !allowed.is_empty() {
            valid.retain(|a| {
                let keep = country_allowed(&allowed, &a.to);
                if !keep {
                    let country = a.to.country().unwrap_or_else(|| "this number's country".into());
                    errors.push(RecipientError {
                        index: a.index,
                        to: a.to.as_str().to_owned(),
                        code: "country_not_allowed",
                        detail: format!("this account may not send to {country}"),
                    });
                }
                keep
            });
        }
        if valid.is_empty() {
            return Ok(());
        }
        let phones: Vec<&str> = valid.iter().map(|a| a.to.as_str()).collect();
        let mut by_sender: HashMap<&str, Vec<&str>> = HashMap::new();
        for a in valid.iter() {
            by_sender.entry(a.from.as_str()).or_default().push(a.to.as_str());
        }
        let mut opted: HashSet<(String, String)> = HashSet::new();
        for (from, phones) in by_sender {
            for phone in self.store().opted_out(&p.account_id, from, &phones).await? {
                opted.insert((from.to_owned(), phone));
            }
        }
        let unsubscribed: HashMap<String, String> =
            self.store().unsubscribed(&p.account_id, unsubscribe_list_ids, &phones).await?.into_iter().collect();
        if !opted.is_empty() || !unsubscribed.is_empty() {
            valid.retain(|a| {
                let reason = if opted.contains(&(a.from.as_str().to_owned(), a.to.as_str().to_owned())) {
                    Some(("opted_out", "the recipient has opted out of messages from this account".to_owned()))
                } else {
                    unsubscribed
                        .get(a.to.as_str())
                        .map(|list| ("unsubscribed", format!("the number is on the unsubscribe list {list:?}")))
                };
                let keep = reason.is_none();
                if let Some((code, detail)) = reason {
                    errors.push(RecipientError { index: a.index, to: a.to.as_str().to_owned(), code, detail });
                }
                keep
            });
        }
        Ok(())
    }
}
