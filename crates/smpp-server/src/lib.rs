//! Customer-facing SMPP: Textbird as an SMSC. Customers bind with their account's username
//! and password (checked by `App::login`, under the same limits on guessing as every other
//! login, counted per account and per client address); `submit_sm` and `data_sm` go through the same `App::send` as the HTTP API
//! (validated, charged, opt-outs refused); receipts and inbound messages go back to the
//! account's bound receivers as `deliver_sm`, kept in the database until one of them
//! answers it (see `hub`).

mod hub;
mod session;

use std::sync::Arc;
use std::time::Duration;

use textbird_app::App;
use textbird_config::SmppServerSettings;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use hub::Hub;

/// Shared by every session of the server.
pub(crate) struct Shared {
    app: App,
    settings: SmppServerSettings,
    hub: Arc<Hub>,
}

/// Accepts customer connections on `listener` until `stop` turns true.
pub async fn run(app: App, settings: SmppServerSettings, listener: TcpListener, mut stop: watch::Receiver<bool>) {
    let hub = Hub::start(app.notices(), app.clone(), settings.outbox_max_age_secs, stop.clone());
    let slots = Arc::new(Semaphore::new(settings.max_sessions.max(1) as usize));
    let shared = Arc::new(Shared { app, settings, hub });
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.changed() => if *stop.borrow() { return } else { continue },
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "cannot accept an SMPP connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!(peer = %peer, "too many SMPP sessions; connection refused");
            drop(stream);
            continue;
        };
        let (shared, stop) = (shared.clone(), stop.clone());
        tokio::spawn(async move {
            metrics::gauge!("textbird_smpp_server_sessions").increment(1.0);
            session::serve(shared, stream, peer, stop).await;
            metrics::gauge!("textbird_smpp_server_sessions").decrement(1.0);
            drop(slot);
        });
    }
}
