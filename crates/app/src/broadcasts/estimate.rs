//! The estimate of a broadcast (a walk through its whole audience that stores nothing), and the
//! frequency cap both the estimate and the expansion apply.

use std::collections::{BTreeMap, HashSet};

use sha2::{Digest, Sha256};
use textbird_types::{Money, Msisdn, now_millis};

use super::audience::{Read, Walk};
use super::{CHUNK, Checked, Estimate, FrequencyCap, Skipped};
use crate::{App, AppError, Principal, Recipient};

impl App {
    /// Walks the whole audience as expansion would, counting (only numbers are kept, for
    /// de-duplication).
    pub(super) async fn estimate_checked(&self, p: &Principal, c: &Checked) -> Result<Estimate, AppError> {
        let mut walk = Walk::start();
        let mut seen: HashSet<u64> = HashSet::new();
        let mut skipped = Skipped::default();
        let (mut recipients, mut parts, mut price) = (0i64, 0i64, 0i64);
        let mut by_country: BTreeMap<String, (i64, Money)> = BTreeMap::new();
        let mut sample = None;
        let mut warnings = Vec::new();
        let mut hasher = Sha256::new();
        let unsubscribe = c.req.unsubscribe_list_ids.as_deref();
        let mut text_parts: Vec<Option<i64>> = vec![None; c.texts.len()];
        while !walk.done() {
            let reads = self.read_chunk(p, &c.req.audience, &mut walk, CHUNK).await?;
            let mut valid = Vec::new();
            for (i, r) in reads.into_iter().enumerate() {
                let Read { number, data, .. } = r;
                let Ok(n) = number else {
                    skipped.invalid += 1;
                    continue;
                };
                let from = c.senders[rand::random_range(0..c.senders.len())].clone();
                let data = data.unwrap_or_else(|| Recipient::phone(n.as_str()));
                valid.push(crate::send::Addressed { index: i, to: n, data, from });
            }
            // Duplicates first: a number is counted once, by the reason its first occurrence
            // was left out, or as a message.
            valid.retain(|a| {
                let fresh = seen.insert(a.to.digits().parse::<u64>().unwrap_or(0));
                if !fresh {
                    skipped.duplicate += 1;
                }
                fresh
            });
            let mut errors = Vec::new();
            self.screen(p, &mut valid, unsubscribe, &mut errors).await?;
            for e in &errors {
                match e.code {
                    "opted_out" => skipped.opted_out += 1,
                    "country_not_allowed" => skipped.invalid += 1,
                    _ => skipped.unsubscribed += 1,
                }
            }
            skipped.frequency_cap +=
                self.apply_cap(p, c.req.frequency_cap.as_ref(), &mut valid, &mut Vec::new()).await?;
            for a in valid {
                let t = (recipients as usize) % c.texts.len();
                if sample.is_none() {
                    let (text, render) = &c.texts[t];
                    let body = if *render { self.render_preview(p, text, &a.data).await?.body } else { text.clone() };
                    sample = Some((a.to.as_str().to_owned(), body));
                }
                let n_parts = if let Some(n) = text_parts[t] {
                    n
                } else {
                    let (text, render) = &c.texts[t];
                    let n = if *render {
                        i64::from(self.render_preview(p, text, &a.data).await?.parts)
                    } else {
                        i64::from(textbird_sms::analyze(text).parts)
                    };
                    text_parts[t] = Some(n);
                    n
                };
                let cost = self.rates().price_per_part(a.to.digits()).0 * n_parts;
                recipients += 1;
                parts += n_parts;
                price += cost;
                let e = by_country.entry(country_of(&a.to)).or_insert((0, Money::ZERO));
                e.0 += 1;
                e.1 = Money(e.1.0 + cost);
                hasher.update(a.to.as_str().as_bytes());
                hasher.update(b"\n");
            }
        }
        if c.texts.iter().any(|(_, render)| *render) {
            warnings
                .push("the texts are personalised: parts and price are estimated from the first recipient's".into());
        }
        hasher.update(format!("{recipients}/{parts}/{price}").as_bytes());
        let hash = hex::encode(&hasher.finalize()[..16]);
        Ok(Estimate {
            recipients,
            messages: recipients,
            parts,
            total_price: Money(price),
            by_country,
            skipped,
            sample,
            warnings,
            hash,
        })
    }

    /// Leaves out of `valid` the recipients who already had `cap.max` messages of the
    /// account's broadcasts in the last `cap.per_hours`; returns how many.
    pub(crate) async fn apply_cap(
        &self,
        p: &Principal,
        cap: Option<&FrequencyCap>,
        valid: &mut Vec<crate::send::Addressed>,
        capped: &mut Vec<String>,
    ) -> Result<i64, AppError> {
        let Some(cap) = cap else {
            return Ok(0);
        };
        let since = now_millis() - i64::from(cap.per_hours) * 3_600_000;
        let phones: Vec<&str> = valid.iter().map(|a| a.to.as_str()).collect();
        let counts: std::collections::HashMap<String, i64> =
            self.store().broadcast_message_counts(&p.account_id, &phones, since).await?.into_iter().collect();
        let before = valid.len();
        valid.retain(|a| {
            let keep = counts.get(a.to.as_str()).is_none_or(|n| *n < i64::from(cap.max));
            if !keep {
                capped.push(a.to.as_str().to_owned());
            }
            keep
        });
        Ok((before - valid.len()) as i64)
    }
}

/// The ISO 3166 country a number belongs to, `ZZ` when the metadata does not say.
pub(crate) fn country_of(n: &Msisdn) -> String {
    phonenumber::parse(None, n.as_str())
        .ok()
        .and_then(|p| p.country().id())
        .map_or_else(|| "ZZ".to_owned(), |id| format!("{id:?}"))
}
