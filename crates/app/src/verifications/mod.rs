//! Verifications (one-time passwords): a random code sent to a number through the same send
//! path as every message (stored masked, charged, queued), checked in constant time against
//! its keyed hash, with Twilio Verify's limits as the floor (5 checks, 5 sends per number per
//! 10 minutes, 60 s to 24 h of life, single use), test numbers that never reach a carrier,
//! and the fraud guard against SMS pumping: allowed destination countries, per-prefix
//! velocity and conversion blocks with a safe list, and per-client limits. The code never
//! appears in logs, webhooks or message objects.

use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use subtle::ConstantTimeEq;
use textbird_store::{SendKey, StoreError, Verification, VerificationSend};
use textbird_types::{Msisdn, new_id, now_millis, parse_rfc3339_millis};

use crate::messages::{next_cursor, page};
use crate::send::Reveal;
use crate::{App, AppError, FieldError, HandsetMessage, Principal, SendRequest, SendResult};

mod code;
mod guard;

use code::{new_code, valid_code_format};
use guard::{client_key, retry_after};

pub const MIN_CODE_LENGTH: u32 = 4;
pub const MAX_CODE_LENGTH: u32 = 10;
pub const DEFAULT_CODE_LENGTH: u32 = 6;
pub const MIN_TTL_SECS: u64 = 60;
pub const MAX_TTL_SECS: u64 = 86_400;
pub const DEFAULT_TTL_SECS: u64 = 600;
/// Digits of the destination that make its prefix for the fraud guard.
const PREFIX_DIGITS: usize = 6;
const HOUR_MS: i64 = 3_600_000;
const CODE_TOKEN: &str = "{{code}}";
/// Locks deciding verification requests, chosen by account and destination prefix.
pub(crate) const LOCK_STRIPES: usize = 64;

#[derive(Debug, Clone, Default)]
pub struct VerificationRequest {
    pub to: String,
    pub body: Option<String>,
    pub template_id: Option<String>,
    pub from: Option<String>,
    pub code_length: Option<u32>,
    pub ttl_secs: Option<u64>,
    /// RFC 3339.
    pub send_at: Option<String>,
    /// The requesting client's address, for the per-client limit.
    pub client: Option<IpAddr>,
}

/// A verification as its owner sees it.
#[derive(Debug, Clone)]
pub struct VerificationView {
    pub verification: Verification,
    pub attempts_left: u32,
    pub sends_left: u32,
}

pub struct VerificationList {
    pub items: Vec<VerificationView>,
    pub next_cursor: Option<String>,
}

/// A check: by the verification's id, or by the number it was sent to.
#[derive(Debug, Clone)]
pub struct CheckRequest {
    pub id: Option<String>,
    pub to: Option<String>,
    pub code: String,
}

/// What a check answers. A wrong code and an unknown verification answer the same.
#[derive(Debug, Clone)]
pub struct CheckAnswer {
    pub id: Option<String>,
    pub status: String,
    pub valid: bool,
}

/// Why a verification was not created or checked.
#[derive(Debug, thiserror::Error)]
pub enum VerificationError {
    #[error(transparent)]
    App(#[from] AppError),
    /// The number had its sends within the window; the next is allowed after this.
    #[error("too many codes sent to this number")]
    SendLimit(Duration),
    /// The requesting client made too many requests; the next is allowed after this.
    #[error("too many verification requests from this client")]
    ClientLimit(Duration),
    /// The verification's checks ran out.
    #[error("the verification's checks are used up")]
    MaxAttempts,
    /// The fraud guard blocked the destination's prefix until `until` (epoch ms).
    #[error("the destination prefix {prefix} is blocked")]
    Blocked { prefix: String, until: i64 },
    /// The account may not send to the destination's country.
    #[error("sending to {country} is not allowed")]
    CountryNotAllowed { country: String },
}

impl From<StoreError> for VerificationError {
    fn from(e: StoreError) -> Self {
        VerificationError::App(e.into())
    }
}

impl App {
    /// Attaches the simulated carrier's phones (the node runs the simulator).
    pub fn attach_handsets(&self, handsets: textbird_engine::Handsets) {
        let _ = self.inner.handsets.set(handsets);
    }

    /// What `to`'s simulated phone shows of the caller's messages the simulator delivered,
    /// newest first, with their real text (codes included).
    pub fn handset_messages(&self, p: &Principal, to: &str) -> Result<Vec<HandsetMessage>, AppError> {
        let to = Msisdn::parse(to, p.country).map_err(|e| AppError::field("to", e.to_string()))?;
        Ok(self.inner.handsets.get().map(|h| h.messages(&p.account_id, to.as_str())).unwrap_or_default())
    }

    /// The verification clock: real time, plus what the test clock was moved forward by.
    fn verification_now(&self) -> i64 {
        now_millis() + self.inner.clock_offset_ms.load(Ordering::Relaxed)
    }

    /// Moves the verification clock forward (only with `[verifications] test_clock`); the
    /// total offset in seconds.
    pub fn advance_verification_clock(&self, secs: u64) -> Result<i64, AppError> {
        if !self.settings().verifications.test_clock {
            return Err(AppError::NotFound("test clock"));
        }
        let by = i64::try_from(secs).unwrap_or(i64::MAX / 4).saturating_mul(1000);
        Ok((self.inner.clock_offset_ms.fetch_add(by, Ordering::Relaxed) + by) / 1000)
    }

    pub async fn create_verification(
        &self,
        p: &Principal,
        req: VerificationRequest,
    ) -> Result<VerificationView, VerificationError> {
        let settings = &self.settings().verifications;
        let mut problems = Vec::new();
        let to =
            Msisdn::parse(&req.to, p.country).map_err(|e| problems.push(FieldError::new("to", e.to_string()))).ok();
        let code_length = req.code_length.unwrap_or(DEFAULT_CODE_LENGTH);
        if !(MIN_CODE_LENGTH..=MAX_CODE_LENGTH).contains(&code_length) {
            problems.push(FieldError::new("code_length", format!("must be {MIN_CODE_LENGTH} to {MAX_CODE_LENGTH}")));
        }
        let ttl = req.ttl_secs.unwrap_or(DEFAULT_TTL_SECS);
        if !(MIN_TTL_SECS..=MAX_TTL_SECS).contains(&ttl) {
            problems.push(FieldError::new("ttl_secs", format!("must be {MIN_TTL_SECS} to {MAX_TTL_SECS} seconds")));
        }
        let text = match (&req.body, &req.template_id) {
            (Some(_), Some(_)) => {
                problems.push(FieldError::new("template_id", "give either `body` or `template_id`, not both"));
                None
            }
            (Some(body), None) => {
                if !body.contains(CODE_TOKEN) {
                    problems.push(FieldError::new("body", "must contain {{code}} where the code goes"));
                }
                Some(body.clone())
            }
            (None, Some(id)) => {
                let (text, _) = self.send_text(p, String::new(), Some(id.as_str()), &mut problems).await?;
                if !text.is_empty() && !text.contains(CODE_TOKEN) {
                    problems.push(FieldError::new("template_id", "the template's body must contain {{code}}"));
                }
                Some(text)
            }
            (None, None) => Some(settings.default_body.clone()),
        };
        let now = self.verification_now();
        let expires_at = now + (ttl * 1000) as i64;
        let send_at = match req.send_at.as_deref() {
            None => None,
            Some(s) => match parse_rfc3339_millis(s) {
                None => {
                    problems.push(FieldError::new("send_at", "must be an RFC 3339 timestamp with an offset"));
                    None
                }
                Some(t) if t >= now_millis() + (ttl * 1000) as i64 => {
                    problems.push(FieldError::new("send_at", "must be before the code expires (`ttl_secs` from now)"));
                    None
                }
                Some(_) => Some(s.to_owned()),
            },
        };
        let (Some(to), Some(text), true) = (to, text, problems.is_empty()) else {
            return Err(AppError::Validation(problems).into());
        };
        let test_code = settings
            .test_numbers
            .iter()
            .any(|n| Msisdn::parse(n, None).is_ok_and(|n| n == to))
            .then(|| settings.test_code.clone());
        self.check_country(p, &to).await?;
        let prefix: String = to.digits().chars().take(PREFIX_DIGITS).collect();
        let _decided_alone = self.verify_lock(&p.account_id, &prefix).lock().await;
        let client = client_key(req.client);
        if settings.per_client_per_hour > 0 && !client.is_empty() {
            let (count, oldest) =
                self.store().count_verification_sends(&p.account_id, SendKey::Client, &client, now - HOUR_MS).await?;
            if count >= i64::from(settings.per_client_per_hour) {
                return Err(VerificationError::ClientLimit(retry_after(oldest, HOUR_MS, now)));
            }
        }
        let window_ms = (settings.send_window_secs * 1000) as i64;
        let (sent, oldest) =
            self.store().count_verification_sends(&p.account_id, SendKey::Phone, to.as_str(), now - window_ms).await?;
        if sent >= i64::from(settings.max_sends) {
            return Err(VerificationError::SendLimit(retry_after(oldest, window_ms, now)));
        }
        let from = req.from.clone().unwrap_or_else(|| settings.default_from.clone());

        // Asking again while one is pending re-sends its code.
        if let Some(v) = self.store().pending_verification(&p.account_id, to.as_str()).await? {
            if v.expires_at > now {
                if test_code.is_none() {
                    self.guard_prefix(p, &to, &prefix, now).await?;
                }
                let code = self.store().open_text(&v.id, &v.code_sealed)?;
                let message_id = if v.is_test {
                    None
                } else {
                    Some(self.send_code(p, &to, &text, &from, &code, send_at, v.expires_at, now).await?)
                };
                self.record_send(&v, &prefix, &client, message_id, now).await?;
                let v = self
                    .store()
                    .find_verification(&p.account_id, &v.id)
                    .await?
                    .ok_or(AppError::NotFound("verification"))?;
                return Ok(self.verification_view(v, now).await?);
            }
            self.store().end_verification(&p.account_id, &v.id, "expired", "verification.expired", now).await?;
        }
        if test_code.is_none() {
            self.guard_prefix(p, &to, &prefix, now).await?;
        }
        let is_test = test_code.is_some();
        let code = test_code.unwrap_or_else(|| new_code(code_length));
        let id = new_id();
        let message_id = if is_test {
            None
        } else {
            Some(self.send_code(p, &to, &text, &from, &code, send_at, expires_at, now).await?)
        };
        let v = Verification {
            code_hash: self.store().code_hash(&id, &code),
            code_sealed: self.store().seal_text(&id, &code),
            id,
            account_id: p.account_id.clone(),
            phone: to.as_str().to_owned(),
            status: "pending".into(),
            code_length: code.len() as i32,
            checks: 0,
            sends: 0,
            is_test,
            message_id: None,
            expires_at,
            created_at: now,
            updated_at: now,
        };
        self.store().insert_verification(&v).await?;
        self.record_send(&v, &prefix, &client, message_id, now).await?;
        let v =
            self.store().find_verification(&p.account_id, &v.id).await?.ok_or(AppError::NotFound("verification"))?;
        Ok(self.verification_view(v, now).await?)
    }

    /// Sends the code through the ordinary send path; the stored text shows it masked.
    #[expect(clippy::too_many_arguments, reason = "one private call site per path; a struct would only rename them")]
    async fn send_code(
        &self,
        p: &Principal,
        to: &Msisdn,
        text: &str,
        from: &str,
        code: &str,
        send_at: Option<String>,
        expires_at: i64,
        now: i64,
    ) -> Result<String, VerificationError> {
        let mask = "*".repeat(code.len());
        let starts = send_at.as_deref().and_then(parse_rfc3339_millis).unwrap_or_else(now_millis).max(now_millis());
        // The SMS is never valid longer than the code.
        let remaining = expires_at - now - (starts - now_millis());
        let validity = (remaining / 1000).max(1) as u64;
        let req = SendRequest {
            to: vec![to.as_str().to_owned()],
            from: Some(from.to_owned()),
            body: text.replace(CODE_TOKEN, &mask),
            send_at,
            validity_secs: Some(validity),
            ..SendRequest::default()
        };
        match self.send_with(p, req, None, Some(&Reveal { mask, secret: code.to_owned() })).await? {
            SendResult::Sent(outcome) => outcome
                .messages
                .into_iter()
                .next()
                .map(|m| m.id)
                .ok_or_else(|| AppError::Internal("a verification send produced no message".into()).into()),
            SendResult::Replayed(_) => {
                Err(AppError::Internal("a verification send has no idempotency key".into()).into())
            }
        }
    }

    async fn record_send(
        &self,
        v: &Verification,
        prefix: &str,
        client: &str,
        message_id: Option<String>,
        now: i64,
    ) -> Result<(), StoreError> {
        self.store()
            .record_verification_send(&VerificationSend {
                verification_id: v.id.clone(),
                account_id: v.account_id.clone(),
                phone: v.phone.clone(),
                prefix: prefix.to_owned(),
                client: client.to_owned(),
                sent_at: now,
                message_id,
            })
            .await
    }

    async fn verification_view(&self, v: Verification, now: i64) -> Result<VerificationView, AppError> {
        let settings = &self.settings().verifications;
        let window_ms = (settings.send_window_secs * 1000) as i64;
        let (sent, _) =
            self.store().count_verification_sends(&v.account_id, SendKey::Phone, &v.phone, now - window_ms).await?;
        let attempts_left = settings.max_checks.saturating_sub(v.checks.max(0) as u32);
        let sends_left = settings.max_sends.saturating_sub(sent.max(0) as u32);
        let (attempts_left, sends_left) = if v.status == "pending" { (attempts_left, sends_left) } else { (0, 0) };
        Ok(VerificationView { verification: v, attempts_left, sends_left })
    }

    /// A verification of the caller's; a pending one whose time ran out is expired first.
    pub async fn verification(&self, p: &Principal, id: &str) -> Result<VerificationView, AppError> {
        let now = self.verification_now();
        let mut v =
            self.store().find_verification(&p.account_id, id).await?.ok_or(AppError::NotFound("verification"))?;
        if v.status == "pending" && v.expires_at <= now {
            v = self
                .store()
                .end_verification(&p.account_id, id, "expired", "verification.expired", now)
                .await?
                .ok_or(AppError::NotFound("verification"))?;
        }
        self.verification_view(v, now).await
    }

    pub async fn verifications(
        &self,
        p: &Principal,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<VerificationList, AppError> {
        let now = self.verification_now();
        let page = page(cursor, limit)?;
        let rows = self.store().list_verifications(&p.account_id, &page).await?;
        let next_cursor = next_cursor(&rows, &page, |v| &v.id);
        let mut items = Vec::with_capacity(rows.len());
        for mut v in rows {
            if v.status == "pending" && v.expires_at <= now {
                v.status = "expired".into();
            }
            items.push(self.verification_view(v, now).await?);
        }
        Ok(VerificationList { items, next_cursor })
    }

    /// Cancels a pending verification; its code is no longer accepted.
    pub async fn cancel_verification(&self, p: &Principal, id: &str) -> Result<VerificationView, AppError> {
        let now = self.verification_now();
        let v = self.verification(p, id).await?.verification;
        if v.status != "pending" {
            return Err(AppError::Conflict(format!(
                "only pending verifications can be canceled; this one is {}",
                v.status
            )));
        }
        let v = self
            .store()
            .end_verification(&p.account_id, id, "canceled", "verification.canceled", now)
            .await?
            .ok_or(AppError::NotFound("verification"))?;
        self.verification_view(v, now).await
    }

    /// Checks a code. A wrong code and an unknown verification answer the same; a locked
    /// verification answers `MaxAttempts`.
    pub async fn check_verification(&self, p: &Principal, req: CheckRequest) -> Result<CheckAnswer, VerificationError> {
        let settings = &self.settings().verifications;
        let mut problems = Vec::new();
        if !valid_code_format(&req.code) {
            problems.push(FieldError::new("code", format!("must be {MIN_CODE_LENGTH} to {MAX_CODE_LENGTH} digits")));
        }
        let to = match (&req.id, &req.to) {
            (None, Some(t)) => {
                Msisdn::parse(t, p.country).map_err(|e| problems.push(FieldError::new("to", e.to_string()))).ok()
            }
            (None, None) => {
                problems.push(FieldError::new("to", "is required"));
                None
            }
            (Some(_), _) => None,
        };
        if !problems.is_empty() {
            return Err(AppError::Validation(problems).into());
        }
        let now = self.verification_now();
        let found = match (&req.id, &to) {
            (Some(id), _) => self.store().find_verification(&p.account_id, id).await?,
            (None, Some(to)) => match self.store().pending_verification(&p.account_id, to.as_str()).await? {
                Some(v) => Some(v),
                None => self.store().latest_verification(&p.account_id, to.as_str()).await?,
            },
            (None, None) => None,
        };
        let by_id = req.id.clone();
        let hidden = |status: &str| CheckAnswer { id: by_id.clone(), status: status.to_owned(), valid: false };
        let Some(v) = found else {
            // The same work as a real check, so the answer's timing does not tell either.
            let _ = self.store().code_hash("unknown", &req.code);
            return Ok(hidden("pending"));
        };
        let candidate = self.store().code_hash(&v.id, &req.code);
        let matched: bool = candidate.as_bytes().ct_eq(v.code_hash.as_bytes()).into();
        if v.status == "max_attempts_reached" {
            return Err(VerificationError::MaxAttempts);
        }
        if v.status != "pending" {
            return Ok(CheckAnswer { id: Some(v.id), status: v.status, valid: false });
        }
        let outcome = self
            .store()
            .check_verification(&p.account_id, &v.id, matched, settings.max_checks as i32, now)
            .await?
            .ok_or(AppError::NotFound("verification"))?;
        let status = outcome.verification.status.clone();
        if outcome.approved {
            tracing::info!(verification = %v.id, "verification approved");
            return Ok(CheckAnswer { id: Some(v.id), status, valid: true });
        }
        if status == "pending" {
            return Ok(hidden("pending"));
        }
        Ok(CheckAnswer { id: Some(v.id), status, valid: false })
    }
}
