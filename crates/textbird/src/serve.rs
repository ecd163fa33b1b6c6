//! `textbird serve`: open the database, create the admin account on first start, start the
//! engine and the HTTP server, and shut down gracefully on SIGTERM or Ctrl-C.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use metrics_exporter_prometheus::PrometheusBuilder;
use textbird_app::{App, NewAccountRequest};
use textbird_config::Settings;
use textbird_engine::Engine;

use crate::commands::{describe, keyring, open_connector_passwords, open_store};

/// SIGTERM to exit: in-flight submissions get this long, the whole shutdown stays under 10 s.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(7);
const LATENCY_BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

pub async fn serve(mut settings: Settings) -> anyhow::Result<()> {
    let prometheus = PrometheusBuilder::new()
        .set_buckets(&LATENCY_BUCKETS)
        .context("metrics buckets")?
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    let keyring = keyring(&settings)?;
    open_connector_passwords(&mut settings, &keyring)?;
    if keyring.current_id().is_none() {
        tracing::warn!("webhook signing secrets are stored unencrypted: set [secrets] key (the same on every node)");
    }
    let store = open_store(&settings, true).await?;
    // Secrets stored before encryption, or under a previous key, are sealed under the current one.
    let resealed = store.reseal_secrets().await?;
    if resealed > 0 {
        tracing::info!(
            count = resealed,
            key = keyring.current_id().unwrap_or_default(),
            "sealed stored secrets under the current key"
        );
    }
    // Bound before any work starts, so the node's default name can carry its port.
    let listener = listen(&settings.http.listen, settings.http.backlog)
        .await
        .with_context(|| format!("cannot listen on {}", settings.http.listen))?;
    let addr = listener.local_addr()?;
    let node = node_name(&settings, addr.port());
    if settings.links.public_base_url.is_empty() {
        settings.links.public_base_url = format!("http://{addr}");
    }
    // Whatever this node had leased before it stopped is not in flight any more (on SQLite
    // this process owns the whole queue; on PostgreSQL only this node's leases are touched).
    let released = store.release_stale_leases(textbird_types::now_millis(), &node).await?;
    if released > 0 {
        tracing::warn!(count = released, "messages leased by a previous run are due again (possible duplicates)");
    }
    tracing::info!(node = %node, database = store.backend(), "starting");
    let node_id = format!("{node}/{}-{}", std::process::id(), textbird_types::new_id());
    let formats = textbird_api::webhook_formats().into_iter().collect();
    let engine = Engine::start(store.clone(), &settings, node_id, formats)?;
    let app = App::new(store.clone(), settings.clone(), Some(engine.carrier_events())).await.map_err(describe)?;
    app.attach_handsets(engine.handsets());
    first_start(&app).await?;

    let rates_app = app.clone();
    let rates_task = tokio::spawn(async move {
        loop {
            tokio::time::sleep(textbird_app::RATES_RELOAD_INTERVAL).await;
            if let Err(e) = rates_app.rates().reload(rates_app.store()).await {
                tracing::warn!(error = %e, "cannot reload rates");
            }
        }
    });

    // Broadcasts are expanded in the background, a chunk at a time.
    let (broadcasts_stop, broadcasts_stop_rx) = tokio::sync::watch::channel(false);
    let broadcasts_app = app.clone();
    let broadcasts_task = tokio::spawn(async move { broadcasts_app.run_broadcasts(broadcasts_stop_rx).await });

    // The customer-facing SMPP server (an empty address turns it off).
    let (smpp_stop, smpp_stop_rx) = tokio::sync::watch::channel(false);
    let smpp_task = if settings.smpp_server.listen.is_empty() {
        None
    } else {
        let smpp = listen(&settings.smpp_server.listen, settings.smpp_server.backlog)
            .await
            .with_context(|| format!("cannot listen for SMPP on {}", settings.smpp_server.listen))?;
        let addr = smpp.local_addr()?;
        tracing::info!(smpp = %addr, "SMPP server listening");
        println!("SMPP listening on {addr}");
        let task = textbird_smpp_server::run(app.clone(), settings.smpp_server.clone(), smpp, smpp_stop_rx);
        Some(tokio::spawn(task))
    };

    let shutdown = shutdown_signal()?;
    tracing::info!(http = %addr, "textbird is serving");
    // A stable line on stdout, so scripts and tests can find the port when it was 0.
    println!("Listening on http://{addr}");
    let router = textbird_api::router(app, Arc::new(move || prometheus.render()));
    // Connect info: the peer's address, for the limits on failed logins.
    axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
        .context("HTTP server")?;

    tracing::info!("shutting down: finishing in-flight work");
    rates_task.abort();
    let _ = broadcasts_stop.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(3), broadcasts_task).await;
    // Customers are unbound first, so no new submissions arrive while the queue drains.
    let _ = smpp_stop.send(true);
    if let Some(task) = smpp_task {
        let _ = tokio::time::timeout(Duration::from_secs(3), task).await;
    }
    engine.shutdown(SHUTDOWN_GRACE).await;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// A listener on `address` (`host:port`, the first address it resolves to) whose kernel
/// queue holds `backlog` connections not yet accepted, so a burst is queued rather than reset.
async fn listen(address: &str, backlog: u32) -> std::io::Result<tokio::net::TcpListener> {
    let addr = tokio::net::lookup_host(address)
        .await?
        .next()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "the address resolves to nothing"))?;
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog.max(1))
}

/// `[dispatcher] node`, or the host name and the HTTP port: unique among nodes on one
/// database as long as nodes on one host listen on different ports.
fn node_name(settings: &Settings, port: u16) -> String {
    if !settings.dispatcher.node.is_empty() {
        return settings.dispatcher.node.clone();
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{host}:{port}")
}

/// On an empty database, creates the `admin` account and prints its credentials once.
/// Nodes starting together on one new database race for it: one creates it, the others
/// find it there.
async fn first_start(app: &App) -> anyhow::Result<()> {
    if app.store().count_accounts().await? > 0 {
        return Ok(());
    }
    let created = app
        .create_account(NewAccountRequest {
            name: "admin".into(),
            balance: "0".into(),
            country: "US".into(),
            timezone: "UTC".into(),
            is_admin: true,
        })
        .await;
    let created = match created {
        Ok(created) => created,
        Err(_) if app.store().find_account_by_username("admin").await?.is_some() => return Ok(()),
        Err(e) => return Err(describe(e)),
    };
    println!("First start: created the admin account. Its credentials are shown only now:");
    println!("{}", serde_json::to_string(&created)?);
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C. The handlers are installed by `signal()` itself, so a
/// signal sent right after the server announced itself is a graceful shutdown, not a kill.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot install the SIGTERM handler")?;
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .context("cannot install the SIGINT handler")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}
