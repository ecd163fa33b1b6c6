//! Sending: validate, apply opt-outs, compute encoding, parts and price, and store every
//! message of the request with its debit in one transaction. Only then is the send
//! acknowledged.

use std::collections::HashSet;

use textbird_store::{AcceptBatch, AcceptOutcome, Lane, ListKind, NewMessage};
use textbird_types::{Money, Msisdn, Sender, Status, new_id, now_millis, parse_rfc3339_millis};

use crate::idempotency::{IdempotencyKey, Replay};
use crate::{App, AppError, FieldError, Principal, Recipient};

mod screen;

/// Validity bounds: 1 s to 72 h.
pub(crate) const MIN_VALIDITY_SECS: u64 = 1;
pub(crate) const MAX_VALIDITY_SECS: u64 = 72 * 3600;
/// How far ahead a send may be scheduled.
pub(crate) const MAX_SCHEDULE_AHEAD_MS: i64 = 366 * 24 * 3600 * 1000;
const MAX_CLIENT_REF: usize = 255;
const MAX_URL: usize = 2048;

#[derive(Debug, Clone, Default)]
pub struct SendRequest {
    pub to: Vec<String>,
    pub from: Option<String>,
    /// Empty when `template_id` gives the text.
    pub body: String,
    /// A template of the account whose body is the text (instead of `body`).
    pub template_id: Option<String>,
    /// A trigger of the account the messages wait for (instead of `send_at`).
    pub trigger_id: Option<String>,
    /// How long after the trigger fires the messages become due.
    pub trigger_delay_secs: Option<u64>,
    /// RFC 3339.
    pub send_at: Option<String>,
    pub callback_url: Option<String>,
    pub client_ref: Option<String>,
    pub validity_secs: Option<u64>,
    /// Recipient lists whose members are sent to as well (after `to`).
    pub list_ids: Vec<String>,
    /// Unsubscribe lists to consult; `None` consults every enabled one of the account. The
    /// default list (opt-outs and STOP) is always consulted.
    pub unsubscribe_list_ids: Option<Vec<String>>,
    /// Contacts, and the contacts of groups, sent to as well (after the lists' members).
    pub contact_ids: Vec<String>,
    pub group_ids: Vec<String>,
    /// Each message takes a random enabled sender of this list (instead of `from`).
    pub sender_list_id: Option<String>,
    /// Submitted over SMPP with `registered_delivery`: the receipt is kept for the customer
    /// until one of its receivers takes it.
    pub smpp_receipt: bool,
    /// Submitted in one `submit_multi`: every message is known to the customer by the
    /// batch's id, which the submission was answered with.
    pub smpp_multi: bool,
}

#[derive(Debug, Clone)]
pub struct SentMessage {
    pub id: String,
    pub to: String,
    pub from: String,
    pub body: String,
    pub status: Status,
    pub parts: u32,
    pub encoding: &'static str,
    pub price: Money,
    pub send_at: Option<i64>,
    pub client_ref: Option<String>,
    pub created_at: i64,
}

/// A secret kept out of a send's stored text: the text holds `mask` where the carrier gets
/// `secret`.
#[derive(Debug, Clone)]
pub(crate) struct Reveal {
    pub mask: String,
    pub secret: String,
}

/// A recipient that was not sent to, and why.
#[derive(Debug, Clone)]
pub struct RecipientError {
    pub index: usize,
    pub to: String,
    /// Position among the recipients: `to` first, then the lists' members in order.
    /// `invalid_number`, `duplicate`, `opted_out`, `unsubscribed`, `country_not_allowed`.
    pub code: &'static str,
    pub detail: String,
}

/// A recipient who passed the number checks, with the data its text reads and the sender
/// its message goes from.
pub(crate) struct Addressed {
    /// Position among the request's recipients (for `RecipientError::index`).
    pub index: usize,
    pub to: Msisdn,
    pub data: Recipient,
    pub from: Sender,
}

/// What every message of one composition shares.
pub(crate) struct Composition<'a> {
    pub body: &'a str,
    /// Whether `body` has tokens to render per recipient.
    pub render: bool,
    pub status: Status,
    pub send_at: Option<i64>,
    pub valid_until: i64,
    /// The trigger the messages wait for, and the delay after it fires (ms).
    pub trigger: Option<(String, i64)>,
    pub client_ref: Option<String>,
    pub callback_url: Option<String>,
    pub batch_id: String,
    pub now: i64,
    /// Whether the SMPP customer asked for a receipt (delivered to it as `deliver_sm`).
    pub smpp_receipt: bool,
    /// The reference shared by the messages of one SMPP `submit_multi`.
    pub smpp_ref: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SendOutcome {
    pub batch_id: String,
    pub messages: Vec<SentMessage>,
    pub errors: Vec<RecipientError>,
    pub total_price: Money,
}

/// What a send produced: new messages, or the stored answer to an earlier identical request.
#[derive(Debug)]
pub enum SendResult {
    Sent(SendOutcome),
    Replayed(Replay),
}

/// Renders the response stored with an idempotency key.
pub type Render<'a> = &'a (dyn Fn(&SendOutcome) -> (u16, String) + Sync);

/// Why a message text cannot be sent, if it cannot: a control character other than layout
/// (checked always), or more than `max_parts` parts (checked when `final_text`, the text as it
/// will go out; a template is measured once rendered).
pub(crate) fn body_problem(text: &str, max_parts: u32, final_text: bool) -> Option<String> {
    if let Some(problem) = control_problem(text) {
        return Some(problem);
    }
    let analysis = final_text.then(|| textbird_sms::analyze(text))?;
    (analysis.parts > max_parts).then(|| {
        format!(
            "takes {} parts in {}, more than the {max_parts} a message may take",
            analysis.parts,
            analysis.encoding.as_str()
        )
    })
}

fn control_problem(text: &str) -> Option<String> {
    textbird_sms::forbidden_control(text).map(|(at, c)| {
        format!(
            "must not contain control characters (U+{:04X} at character {at}); only newline, carriage return and tab are allowed",
            u32::from(c)
        )
    })
}

impl App {
    pub async fn send(
        &self,
        p: &Principal,
        req: SendRequest,
        idempotency: Option<(&IdempotencyKey, Render<'_>)>,
    ) -> Result<SendResult, AppError> {
        self.send_with(p, req, idempotency, None).await
    }

    /// A send whose stored text is masked: `reveal` says what stands in for the secret in the
    /// text and what the carrier gets instead (a verification code).
    pub(crate) async fn send_with(
        &self,
        p: &Principal,
        req: SendRequest,
        idempotency: Option<(&IdempotencyKey, Render<'_>)>,
        reveal: Option<&Reveal>,
    ) -> Result<SendResult, AppError> {
        let settings = &self.settings().messages;
        let now = now_millis();
        let mut problems = Vec::new();
        let (body, render) = self.send_text(p, req.body.clone(), req.template_id.as_deref(), &mut problems).await?;
        if body.is_empty() && problems.is_empty() {
            problems.push(FieldError::new("body", "is missing or empty: give `body` or `template_id`"));
        } else if body.chars().count() > settings.max_body_chars {
            problems.push(FieldError::new("body", format!("must be at most {} characters", settings.max_body_chars)));
        } else if let Some(problem) = body_problem(&body, settings.max_parts, !render) {
            problems.push(FieldError::new("body", problem));
        }
        let sender = match (req.from.as_deref(), &req.sender_list_id) {
            (Some(_), Some(_)) => {
                problems.push(FieldError::new("sender_list_id", "give either `from` or `sender_list_id`, not both"));
                None
            }
            (None, Some(_)) => Some(None),
            (Some(f), None) => {
                Sender::parse(f).map_err(|e| problems.push(FieldError::new("from", e.to_string()))).ok().map(Some)
            }
            (None, None) => {
                if let Some(n) = self.store().list_numbers(&p.account_id).await?.into_iter().next() {
                    Sender::parse(&n.number).ok().map(Some)
                } else {
                    problems.push(FieldError::new("from", "is required (the account owns no number to default to)"));
                    None
                }
            }
        };
        let send_at = match req.send_at.as_deref() {
            None => None,
            Some(s) => match parse_rfc3339_millis(s) {
                None => {
                    problems.push(FieldError::new("send_at", "must be an RFC 3339 timestamp with an offset"));
                    None
                }
                Some(t) if t - now > MAX_SCHEDULE_AHEAD_MS => {
                    problems.push(FieldError::new("send_at", "must be within a year"));
                    None
                }
                Some(t) => (t > now).then_some(t),
            },
        };
        let (trigger, send_at) = self.trigger_hold(p, &req, send_at, now, &mut problems).await?;
        if let Some(url) = &req.callback_url
            && let Err(e) = self.check_target_url(url)
        {
            problems.push(FieldError::new("callback_url", e));
        }
        if let Some(client_ref) = &req.client_ref {
            if client_ref.chars().count() > MAX_CLIENT_REF {
                problems.push(FieldError::new("client_ref", format!("must be at most {MAX_CLIENT_REF} characters")));
            } else if let Some(problem) = control_problem(client_ref) {
                problems.push(FieldError::new("client_ref", problem));
            }
        }
        let validity = req.validity_secs.unwrap_or(settings.default_validity_secs);
        if !(MIN_VALIDITY_SECS..=MAX_VALIDITY_SECS).contains(&validity) {
            problems.push(FieldError::new(
                "validity_period",
                format!("must be {MIN_VALIDITY_SECS} to {MAX_VALIDITY_SECS} seconds"),
            ));
        }
        if req.to.is_empty() && req.list_ids.is_empty() && req.contact_ids.is_empty() && req.group_ids.is_empty() {
            problems.push(FieldError::new(
                "to",
                "is missing: give at least one recipient in `to`, `list_ids`, `contact_ids` or `group_ids`",
            ));
        } else if req.to.len() > settings.max_recipients {
            problems.push(FieldError::new("to", format!("at most {} recipients per request", settings.max_recipients)));
        }
        let (Some(sender), true) = (sender, problems.is_empty()) else {
            return Err(AppError::Validation(problems));
        };
        let senders = match (sender, &req.sender_list_id) {
            (Some(s), _) => {
                self.check_sender_enabled(p, s.as_str()).await?;
                vec![s]
            }
            (None, Some(list)) => self
                .sender_list_senders(p, list)
                .await?
                .iter()
                .map(|v| Sender::parse(v).map_err(|e| AppError::field("sender_list_id", e.to_string())))
                .collect::<Result<_, _>>()?,
            (None, None) => unreachable!("a send has a sender or a sender list"),
        };
        let mut members = self.list_recipients(p, &req.list_ids, settings.max_recipients - req.to.len()).await?;
        if !req.contact_ids.is_empty() || !req.group_ids.is_empty() {
            members.extend(self.recipients_from_contacts(p, &req.contact_ids, &req.group_ids).await?);
            if req.to.len() + members.len() > settings.max_recipients {
                return Err(AppError::field(
                    "group_ids",
                    format!("a send reaches at most {} recipients", settings.max_recipients),
                ));
            }
        }
        if let Some(ids) = &req.unsubscribe_list_ids {
            for (i, id) in ids.iter().enumerate() {
                if self.store().list_enabled(&p.account_id, ListKind::Unsubscribe, id).await?.is_none() {
                    return Err(AppError::field(&format!("unsubscribe_list_ids[{i}]"), "no such unsubscribe list"));
                }
            }
        }

        let mut errors = Vec::new();
        let count = req.to.len() + members.len();
        let mut seen = HashSet::with_capacity(count);
        let mut valid: Vec<Addressed> = Vec::with_capacity(count);
        let given = req.to.iter().map(|raw| (raw.clone(), Msisdn::parse(raw, p.country), None));
        let listed = members.into_iter().map(|m| (m.phone.clone(), Ok(Msisdn::from_trusted(m.phone.clone())), Some(m)));
        for (index, (raw, parsed, member)) in given.chain(listed).enumerate() {
            match parsed {
                Err(e) => errors.push(RecipientError { index, to: raw, code: "invalid_number", detail: e.to_string() }),
                Ok(n) if !seen.insert(n.clone()) => errors.push(RecipientError {
                    index,
                    to: n.into_string(),
                    code: "duplicate",
                    detail: "this number appears earlier in the request".into(),
                }),
                Ok(n) => {
                    let data = member.unwrap_or_else(|| Recipient::phone(n.as_str()));
                    let from = senders[rand::random_range(0..senders.len())].clone();
                    valid.push(Addressed { index, to: n, data, from });
                }
            }
        }
        self.screen(p, &mut valid, req.unsubscribe_list_ids.as_deref(), &mut errors).await?;
        errors.sort_by_key(|e| e.index);
        if valid.is_empty() {
            return Err(AppError::Validation(
                errors
                    .iter()
                    .map(|e| FieldError::new(format!("to[{}]", e.index), format!("{}: {}", e.code, e.detail)))
                    .collect(),
            ));
        }

        let status = if send_at.is_some() || trigger.is_some() { Status::Scheduled } else { Status::Queued };
        let valid_until = send_at.unwrap_or(now) + (validity * 1000) as i64;
        let batch_id = new_id();
        let composition = Composition {
            body: &body,
            render,
            status,
            send_at,
            valid_until,
            trigger,
            client_ref: req.client_ref.clone(),
            callback_url: req.callback_url.clone(),
            batch_id: batch_id.clone(),
            now,
            smpp_receipt: req.smpp_receipt,
            smpp_ref: req.smpp_multi.then(|| batch_id.clone()),
        };
        let (mut rows, sent, total) = self.compose(p, &composition, valid).await?;
        if let Err(e) = self.check_spend_cap(p, total).await {
            if render {
                self.store().delete_short_links(&p.account_id, &batch_id).await?;
            }
            return Err(e);
        }
        if let Some(r) = reveal {
            for row in &mut rows {
                let plain = row.body.replacen(&r.mask, &r.secret, 1);
                row.masked = Some(self.store().mask(&row.id, plain));
            }
        }
        let outcome = SendOutcome { batch_id, messages: sent, errors, total_price: total };
        let record = idempotency.map(|(key, render)| {
            let (status, response) = render(&outcome);
            key.record(p, status, response)
        });
        let key = idempotency.map(|(k, _)| k.clone());
        let batch = AcceptBatch {
            account_id: p.account_id.clone(),
            debit: total.0,
            messages: rows,
            idempotency: record,
            lane: if reveal.is_some() { Lane::Verification } else { Lane::Transactional },
            progress: None,
        };
        let batch_id = outcome.batch_id.clone();
        let stored = self.store().accept(batch).await?;
        if render && stored != AcceptOutcome::Stored {
            // Nothing was sent, so the short links minted for it lead nowhere.
            self.store().delete_short_links(&p.account_id, &batch_id).await?;
        }
        match stored {
            AcceptOutcome::Stored => Ok(SendResult::Sent(outcome)),
            AcceptOutcome::InsufficientBalance => {
                let available = self.account(p).await.map(|a| Money(a.balance).to_string()).unwrap_or_default();
                Err(AppError::InsufficientBalance { needed: total.to_string(), available })
            }
            AcceptOutcome::IdempotencyTaken => {
                let key = key.expect("only keyed sends can collide");
                self.idempotent_replay(p, &key).await?.map(SendResult::Replayed).ok_or(AppError::IdempotencyInFlight)
            }
        }
    }

    /// Composes the messages of `valid`: each text personalised (with its short links),
    /// checked again once rendered, measured and priced. Nothing is stored but the short
    /// links, which are removed again when a rendered text is refused.
    pub(crate) async fn compose(
        &self,
        p: &Principal,
        c: &Composition<'_>,
        valid: Vec<Addressed>,
    ) -> Result<(Vec<NewMessage>, Vec<SentMessage>, Money), AppError> {
        let max_parts = self.settings().messages.max_parts;
        let ids: Vec<String> = valid.iter().map(|_| new_id()).collect();
        let recipients: Vec<Recipient> = valid.iter().map(|a| a.data.clone()).collect();
        let bodies = self.personalise(p, c.body, c.render, &recipients, &ids, &c.batch_id).await?;
        let mut total = Money::ZERO;
        let mut sent = Vec::with_capacity(valid.len());
        let mut rows = Vec::with_capacity(valid.len());
        // A rendered text is checked again: a recipient's fields may have made it longer or
        // brought a control character into it.
        if c.render
            && let Some(problem) = bodies.iter().find_map(|b| body_problem(b, max_parts, true))
        {
            self.store().delete_short_links(&p.account_id, &c.batch_id).await?;
            return Err(AppError::field("body", format!("as rendered for a recipient, {problem}")));
        }
        for ((a, id), body) in valid.into_iter().zip(ids).zip(bodies) {
            let (to, sender) = (a.to, a.from);
            let analysis = textbird_sms::analyze(&body);
            let encoding = analysis.encoding.as_str();
            let price = self
                .rates()
                .price_per_part(to.digits())
                .checked_mul(i64::from(analysis.parts))
                .ok_or_else(|| AppError::Internal("price overflow".into()))?;
            total = Money(total.0 + price.0);
            rows.push(NewMessage {
                id: id.clone(),
                account_id: p.account_id.clone(),
                batch_id: c.batch_id.clone(),
                to: to.as_str().to_owned(),
                sender: sender.as_str().to_owned(),
                body: body.clone(),
                encoding: encoding.to_owned(),
                parts: analysis.parts as i32,
                price: price.0,
                status: c.status,
                client_ref: c.client_ref.clone(),
                callback_url: c.callback_url.clone(),
                send_at: c.send_at,
                valid_until: c.valid_until,
                created_at: c.now,
                trigger_id: c.trigger.as_ref().map(|(id, _)| id.clone()),
                trigger_delay_ms: c.trigger.as_ref().map(|(_, delay)| *delay),
                smpp_receipt: c.smpp_receipt,
                smpp_ref: c.smpp_ref.clone(),
                masked: None,
            });
            sent.push(SentMessage {
                id,
                to: to.into_string(),
                from: sender.as_str().to_owned(),
                body,
                status: c.status,
                parts: analysis.parts,
                encoding,
                price,
                send_at: c.send_at,
                client_ref: c.client_ref.clone(),
                created_at: c.now,
            });
        }
        Ok((rows, sent, total))
    }

    /// A URL Textbird may post to: http(s), and not a literal private address unless the
    /// operator allows those. Host names are checked again at connect time.
    pub fn check_target_url(&self, url: &str) -> Result<(), String> {
        if url.len() > MAX_URL {
            return Err(format!("must be at most {MAX_URL} characters"));
        }
        let policy =
            textbird_webhooks::Policy { allow_private_networks: self.settings().webhooks.allow_private_networks };
        textbird_webhooks::check_url(url, policy).map(|_| ()).map_err(|e| e.to_string())
    }
}
