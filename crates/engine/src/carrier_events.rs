//! What carriers report back: delivery reports become status changes; inbound messages are
//! stored for the account owning the destination number, with opt-out keywords applied.
//! Each event can carry a [`Durable`]: it is told once the event's effect is committed, so a
//! connector answers its carrier only then (a carrier never sends an acknowledged receipt
//! again).

use std::sync::{Arc, Mutex};

use textbird_config::{MessageSettings, OptOutScope};
use textbird_store::{AcceptBatch, Lane, NewInbound, NewMessage, StatusChange, Store};
use textbird_types::{Msisdn, Status, new_id, now_millis};
use tokio::sync::{mpsc, oneshot};

use crate::keywords::{self, Keyword};
use crate::status_sink::StatusSink;

/// Where a connector hears that what a carrier sent is stored (`true`), or cannot be now
/// (`false`, or the sender dropped): it answers the carrier's `deliver_sm` accordingly. Told
/// once; clones share it (a receipt waiting for its message is kept under several ids).
#[derive(Clone, Default)]
pub struct Durable(Option<Arc<Mutex<Option<oneshot::Sender<bool>>>>>);

impl Durable {
    /// Nobody waits (the simulator, injected messages).
    pub fn none() -> Self {
        Self(None)
    }

    /// A `Durable` and the receiver its outcome arrives on.
    pub fn channel() -> (Self, oneshot::Receiver<bool>) {
        let (tx, rx) = oneshot::channel();
        (Self(Some(Arc::new(Mutex::new(Some(tx))))), rx)
    }

    /// Tells the waiter, the first time only.
    pub fn done(&self, stored: bool) {
        if let Some(tx) = self.0.as_ref().and_then(|m| m.lock().expect("poisoned").take()) {
            let _ = tx.send(stored);
        }
    }
}

impl std::fmt::Debug for Durable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Durable(waited on)" } else { "Durable(none)" })
    }
}

/// An event from a connector.
#[derive(Debug, Clone)]
pub enum CarrierEvent {
    /// A delivery report. `message_id` is set when the connector knows Textbird's id;
    /// an empty `carrier_id` keeps the one recorded at submission.
    Report {
        connector: String,
        message_id: Option<String>,
        carrier_id: String,
        status: Status,
        error_code: Option<String>,
        detail: Option<String>,
        durable: Durable,
    },
    /// A message from a handset to one of the accounts' numbers.
    Inbound { connector: String, from: String, to: String, body: String, durable: Durable },
}

pub(crate) async fn run(
    store: Store,
    settings: MessageSettings,
    mut rx: mpsc::Receiver<CarrierEvent>,
    sink: StatusSink,
) {
    while let Some(event) = rx.recv().await {
        match event {
            CarrierEvent::Report { connector, message_id, carrier_id, status, error_code, detail, durable } => {
                let Some(id) = message_id else {
                    metrics::counter!("textbird_orphan_reports_total").increment(1);
                    tracing::warn!(connector = %connector, carrier_id = %carrier_id, "delivery report for an unknown message");
                    // Counted is all an orphan gets; sending it again would change nothing.
                    durable.done(true);
                    continue;
                };
                let mut c = StatusChange::new(id, status, now_millis());
                c.carrier_id = (!carrier_id.is_empty()).then_some(carrier_id);
                c.error_code = error_code;
                c.detail = detail;
                // The carrier took the message: its own verdict is not refunded.
                c.refund = false;
                sink.push_durable(c, durable);
            }
            CarrierEvent::Inbound { connector, from, to, body, durable } => {
                // Inbound messages are independent of each other; one slow write must not
                // hold up delivery reports.
                let (store, settings) = (store.clone(), settings.clone());
                tokio::spawn(async move {
                    match receive(&store, &settings, connector, &from, &to, body).await {
                        Ok(()) => durable.done(true),
                        Err(e) => {
                            tracing::error!(error = %e, "cannot store inbound message");
                            durable.done(false);
                        }
                    }
                });
            }
        }
    }
}

async fn receive(
    store: &Store,
    settings: &MessageSettings,
    connector: String,
    from: &str,
    to: &str,
    body: String,
) -> Result<(), textbird_store::StoreError> {
    let normalise = |n: &str| Msisdn::parse(n, None).map_or_else(|_| n.trim().to_owned(), Msisdn::into_string);
    let (from, to) = (normalise(from), normalise(to));
    let Some(account_id) = store.find_number_owner(&to).await? else {
        metrics::counter!("textbird_inbound_unrouted_total").increment(1);
        tracing::warn!(connector = %connector, "inbound message to a number no account owns");
        return Ok(());
    };
    let keyword = keywords::classify(&body);
    let opt_out_sender = match settings.opt_out_scope {
        OptOutScope::Account => String::new(),
        OptOutScope::Sender => to.clone(),
    };
    let now = now_millis();
    store
        .receive(NewInbound {
            id: new_id(),
            account_id: account_id.clone(),
            from: from.clone(),
            to: to.clone(),
            body,
            connector,
            keyword: keyword.map(|k| k.as_str().to_owned()),
            opt_out_sender,
            created_at: now,
        })
        .await?;
    if keyword == Some(Keyword::Help) && !settings.help_reply.is_empty() {
        // The HELP answer is the operator's, so it is free for the account.
        let analysis = textbird_sms::analyze(&settings.help_reply);
        let message = NewMessage {
            id: new_id(),
            account_id: account_id.clone(),
            batch_id: new_id(),
            to: from,
            sender: to,
            body: settings.help_reply.clone(),
            encoding: analysis.encoding.as_str().to_owned(),
            parts: analysis.parts as i32,
            price: 0,
            status: Status::Queued,
            client_ref: Some("help-reply".into()),
            callback_url: None,
            send_at: None,
            valid_until: now + (settings.default_validity_secs * 1000) as i64,
            trigger_id: None,
            trigger_delay_ms: None,
            smpp_receipt: false,
            smpp_ref: None,
            masked: None,
            created_at: now,
        };
        store
            .accept(AcceptBatch {
                account_id,
                debit: 0,
                messages: vec![message],
                idempotency: None,
                lane: Lane::Transactional,
                progress: None,
            })
            .await?;
    }
    Ok(())
}
