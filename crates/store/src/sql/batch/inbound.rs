//! Inbound messages and the opt-outs their keywords change.

use super::Conn;
use textbird_types::format_millis;

use super::Fanout;
use crate::StoreError;
use crate::model::NewInbound;
use crate::webhook_cache::WebhookCache;

pub(super) async fn receive(
    c: &mut Conn,
    m: &NewInbound,
    fan: &mut Fanout,
    hooks: &WebhookCache,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO inbound_messages (id, account_id, from_number, to_number, body, connector, keyword, created_at, \
         smpp_state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
         (SELECT 1 FROM smpp_receivers WHERE smpp_receivers.account_id = $2))",
    )
    .bind(&m.id)
    .bind(&m.account_id)
    .bind(&m.from)
    .bind(&m.to)
    .bind(&m.body)
    .bind(&m.connector)
    .bind(&m.keyword)
    .bind(m.created_at)
    .execute(&mut *c)
    .await?;
    match m.keyword.as_deref() {
        Some("stop") => {
            sqlx::query("INSERT INTO opt_outs (account_id, phone, sender, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
                .bind(&m.account_id)
                .bind(&m.from)
                .bind(&m.opt_out_sender)
                .bind(m.created_at)
                .execute(&mut *c)
                .await?;
        }
        Some("start") => {
            sqlx::query("DELETE FROM opt_outs WHERE account_id = $1 AND phone = $2 AND sender = $3")
                .bind(&m.account_id)
                .bind(&m.from)
                .bind(&m.opt_out_sender)
                .execute(&mut *c)
                .await?;
        }
        _ => {}
    }
    if m.keyword.is_some() {
        super::super::announce(&mut *c, &format!("opt_outs:{}", m.account_id)).await?;
    }
    let event_type = "message.received";
    let payload = serde_json::json!({
        "type": event_type,
        "timestamp": format_millis(m.created_at),
        "data": {
            "id": m.id, "from": m.from, "to": m.to, "body": m.body,
            "keyword": m.keyword, "received_at": format_millis(m.created_at),
        }
    })
    .to_string();
    fan.webhooks(hooks, &m.account_id, event_type, None, &payload, m.created_at);
    *fan.transitions.entry("received").or_default() += 1;
    if fan.notify {
        fan.notices.push(crate::signals::Notice::Inbound {
            id: m.id.clone(),
            account_id: m.account_id.clone(),
            from: m.from.clone(),
            to: m.to.clone(),
            body: m.body.clone(),
            at: m.created_at,
        });
    }
    Ok(())
}
