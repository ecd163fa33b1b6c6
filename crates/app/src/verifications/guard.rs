//! The fraud guard of verifications: allowed countries, per-prefix velocity and conversion
//! blocks with a safe list, the per-client key, and how long a refused caller waits.

use std::net::IpAddr;
use std::time::Duration;

use sha2::{Digest, Sha256};
use textbird_store::SendKey;
use textbird_types::Msisdn;

use super::{HOUR_MS, LOCK_STRIPES, VerificationError};
use crate::fraud::country_allowed;
use crate::{App, Principal};

pub(super) fn client_key(ip: Option<IpAddr>) -> String {
    ip.map(|ip| hex::encode(&Sha256::digest(format!("verification client {ip}"))[..16])).unwrap_or_default()
}

pub(super) fn retry_after(oldest: Option<i64>, window_ms: i64, now: i64) -> Duration {
    let at = oldest.unwrap_or(now) + window_ms;
    Duration::from_millis((at - now).max(1000) as u64)
}

impl App {
    pub(super) fn verify_lock(&self, account_id: &str, prefix: &str) -> &tokio::sync::Mutex<()> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (account_id, prefix).hash(&mut h);
        &self.inner.verify_locks[(h.finish() as usize) % LOCK_STRIPES]
    }

    /// Refuses a destination outside the account's allowed countries (before any charge).
    pub(super) async fn check_country(&self, p: &Principal, to: &Msisdn) -> Result<(), VerificationError> {
        if country_allowed(&self.allowed_countries(p).await?, to) {
            return Ok(());
        }
        Err(VerificationError::CountryNotAllowed { country: to.country().unwrap_or_else(|| "unknown".into()) })
    }

    /// The fraud guard for one more verification to `prefix`: refused while the prefix is
    /// blocked; blocked (with a `verification.blocked` webhook) when it is over the hourly
    /// velocity limit or its verifications are almost never approved. Safe prefixes pass.
    pub(super) async fn guard_prefix(
        &self,
        p: &Principal,
        to: &Msisdn,
        prefix: &str,
        now: i64,
    ) -> Result<(), VerificationError> {
        let settings = &self.settings().verifications;
        if settings.safe_prefixes.iter().any(|s| to.digits().starts_with(s.trim_start_matches('+'))) {
            return Ok(());
        }
        if let Some(block) = self.store().prefix_block(&p.account_id, prefix, now).await? {
            return Err(VerificationError::Blocked { prefix: block.prefix, until: block.blocked_until });
        }
        let mut reason = None;
        if settings.prefix_limit_per_hour > 0 {
            let (count, _) =
                self.store().count_verification_sends(&p.account_id, SendKey::Prefix, prefix, now - HOUR_MS).await?;
            if count >= i64::from(settings.prefix_limit_per_hour) {
                reason = Some("velocity");
            }
        }
        if reason.is_none() && settings.conversion_window > 0 {
            // Only verifications old enough to have been answered say anything.
            let before = now - (settings.send_window_secs * 1000) as i64;
            let statuses = self
                .store()
                .recent_verification_statuses(&p.account_id, &format!("+{prefix}"), before, settings.conversion_window)
                .await?;
            if statuses.len() as u32 >= settings.conversion_window {
                let approved = statuses.iter().filter(|s| *s == "approved").count();
                if (approved as f64) * 100.0 / (statuses.len() as f64) < settings.min_conversion_percent {
                    reason = Some("conversion");
                }
            }
        }
        let Some(reason) = reason else {
            return Ok(());
        };
        let until = now + (settings.prefix_block_secs * 1000) as i64;
        if self.store().block_prefix(&p.account_id, prefix, reason, now, until).await? {
            metrics::counter!("textbird_verification_prefix_blocks_total", "reason" => reason).increment(1);
            tracing::warn!(account = %p.account_id, prefix, reason, "fraud guard blocked a destination prefix");
        }
        Err(VerificationError::Blocked { prefix: prefix.to_owned(), until })
    }
}
