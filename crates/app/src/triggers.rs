//! Triggers: an unguessable activation URL that, once opened, releases the messages bound to
//! the trigger (after their delay).

use textbird_store::Trigger;
use textbird_types::{new_id, now_millis};

use crate::content::{check_name, validated};
use crate::{App, AppError, FieldError, Principal};

/// Random characters of a trigger's activation token.
const TRIGGER_TOKEN_LEN: usize = 32;
/// Longest wait after a trigger fires: 30 days.
const MAX_TRIGGER_DELAY_SECS: u64 = 30 * 24 * 3600;

impl App {
    pub async fn create_trigger(&self, p: &Principal, name: String) -> Result<Trigger, AppError> {
        let mut problems = Vec::new();
        check_name(&name, &mut problems);
        validated(problems)?;
        let now = now_millis();
        let t = Trigger {
            id: new_id(),
            account_id: p.account_id.clone(),
            name,
            token: crate::secrets::random_alphanumeric(TRIGGER_TOKEN_LEN),
            fired_at: None,
            created_at: now,
            updated_at: now,
        };
        self.store().create_trigger(&t).await?;
        Ok(t)
    }

    pub async fn rename_trigger(&self, p: &Principal, id: &str, name: String) -> Result<Trigger, AppError> {
        let mut t = self.trigger(p, id).await?;
        let mut problems = Vec::new();
        check_name(&name, &mut problems);
        validated(problems)?;
        t.name = name;
        t.updated_at = now_millis();
        self.store().update_trigger(&t).await?;
        Ok(t)
    }

    /// Where a trigger is fired: `{public_base_url}/t/{token}`.
    pub fn trigger_url(&self, t: &Trigger) -> String {
        format!("{}/t/{}", self.public_base(), t.token)
    }

    /// Fires the trigger whose activation token is `token` (no credentials: the token is the
    /// secret). Firing again changes nothing.
    pub async fn fire_trigger(&self, token: &str) -> Result<(), AppError> {
        if token.len() != TRIGGER_TOKEN_LEN || !token.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(AppError::NotFound("trigger"));
        }
        let t = self.store().find_trigger_by_token(token).await?.ok_or(AppError::NotFound("trigger"))?;
        let released = self.store().fire_trigger(&t.account_id, &t.id, now_millis()).await?;
        tracing::info!(trigger = %t.id, released, "trigger fired");
        Ok(())
    }

    /// What a send's trigger means for its messages: `(Some((trigger id, delay ms)), None)`
    /// while the trigger has not fired (they wait for it); once it has, none, and they are
    /// due at its firing time plus the delay (returned as their send time, if still ahead).
    pub(crate) async fn trigger_hold(
        &self,
        p: &Principal,
        req: &crate::SendRequest,
        send_at: Option<i64>,
        now: i64,
        problems: &mut Vec<FieldError>,
    ) -> Result<(Option<(String, i64)>, Option<i64>), AppError> {
        let Some(id) = req.trigger_id.as_deref() else {
            if req.trigger_delay_secs.is_some() {
                problems.push(FieldError::new("trigger_delay_secs", "needs trigger_id"));
            }
            return Ok((None, send_at));
        };
        if req.send_at.is_some() {
            problems.push(FieldError::new("send_at", "give either send_at or trigger_id, not both"));
        }
        let delay_secs = req.trigger_delay_secs.unwrap_or(0);
        if delay_secs > MAX_TRIGGER_DELAY_SECS {
            problems.push(FieldError::new("trigger_delay_secs", format!("must be at most {MAX_TRIGGER_DELAY_SECS}")));
        }
        let delay = i64::try_from(delay_secs.min(MAX_TRIGGER_DELAY_SECS)).unwrap_or(0) * 1000;
        Ok(match self.store().find_trigger(&p.account_id, id).await? {
            None => {
                problems.push(FieldError::new("trigger_id", "no such trigger"));
                (None, send_at)
            }
            Some(Trigger { fired_at: Some(fired), .. }) => (None, (fired + delay > now).then_some(fired + delay)),
            Some(t) => (Some((t.id, delay)), None),
        })
    }
}
