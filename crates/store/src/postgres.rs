//! The PostgreSQL backend, for one node or several sharing one database: the same statements
//! as `SQLite` (see `sql/mod.rs`), claims that skip rows another node has locked, leases that
//! run out when a node dies, and cache invalidations announced to every node with
//! `LISTEN`/`NOTIFY`.

#[allow(clippy::duplicate_mod, reason = "the shared SQL is compiled once per backend on purpose")]
#[path = "sql/mod.rs"]
mod sql;

use std::str::FromStr;
use std::time::Duration;

use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions, PgSslMode};

use crate::{OpenOptions, StoreError};
pub use sql::SqlStore as PostgresStore;

pub(crate) type Db = sqlx::Postgres;
const BEGIN_WRITE: &str = "BEGIN";
/// Several nodes claim from one queue: a row another node has locked is skipped.
const SKIP_LOCKED: &str = " FOR UPDATE SKIP LOCKED";
/// A row read to be changed in the same transaction is locked against other writers.
const FOR_UPDATE: &str = " FOR UPDATE";
/// Other nodes may be alive and holding leases; a dead node's leases simply run out.
const OWNS_QUEUE: bool = false;
const WRITER_CHECKPOINT: Option<&str> = None;
/// Announces a change that other nodes cache (delivered when the transaction commits).
const ANNOUNCE: Option<&str> = Some("SELECT pg_notify('textbird_cache', $1)");

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How long one statement may run before the database cancels it.
const STATEMENT_TIMEOUT: &str = "30s";
/// How long a request waits for a pooled connection before it is answered 503.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// A full cache reload this often, in case a notice was lost with a connection.
const CACHE_REFRESH: Duration = Duration::from_secs(30);

/// Connects to the database at `url` (`postgres://...`).
pub(crate) async fn open(url: &str, options: &OpenOptions) -> Result<PostgresStore, StoreError> {
    let mut connect = PgConnectOptions::from_str(url)?;
    // On this machine TLS buys nothing and costs much (measured: batches accepted 10x slower
    // through sqlx's TLS stream), so a loopback or socket connection without an explicit
    // `sslmode` goes without it. Anywhere else the libpq default (`prefer`) holds.
    if !url.contains("sslmode=") && is_local(connect.get_host()) {
        connect = connect.ssl_mode(PgSslMode::Disable);
    }
    let connect = connect
        .application_name("textbird")
        .options([("statement_timeout", STATEMENT_TIMEOUT), ("lock_timeout", "10s")])
        .log_statements(tracing::log::LevelFilter::Trace);
    let pool = PgPoolOptions::new()
        .max_connections(options.max_connections.max(2))
        .min_connections(0)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // A connection the server dropped (a restart) is noticed before a request gets it.
        .test_before_acquire(true)
        .before_acquire(|conn, _| Box::pin(async move { Ok(sql::usable(conn)) }))
        .idle_timeout(Duration::from_mins(5))
        .connect_with(connect.clone())
        .await
        .map_err(|e| StoreError::Unavailable(format!("cannot connect to PostgreSQL: {e}")))?;
    let has_table =
        "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = '_sqlx_migrations'";
    sql::check_schema(&pool, &MIGRATOR, has_table, options.migrate).await?;
    // Writers per node, each a connection with its own batches: PostgreSQL commits them side
    // by side, so a node is not bound by one commit's round trips at a time.
    let store = PostgresStore::start(pool.clone(), connect, options.writers.max(1), options.keyring.clone()).await?;
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.listen("textbird_cache").await?;
    tokio::spawn(follow_changes(listener, store.clone()));
    Ok(store)
}

/// A loopback address or a Unix socket directory.
fn is_local(host: &str) -> bool {
    host.starts_with('/')
        || host == "localhost"
        || host.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl PostgresStore {
    /// Takes up to `want` of the `limit` units the current second allows under `key`, across
    /// every node: returns what was granted and the milliseconds until the next second. The
    /// second is the database's, so nodes whose clocks differ still share one budget.
    pub async fn take_budget(&self, key: &str, want: u32, limit: u32) -> Result<(u32, u64), StoreError> {
        let row: (i64, i64) = sqlx::query_as(
            "INSERT INTO rate_budgets AS b (key, window_start, used, granted) \
             VALUES ($1, floor(extract(epoch FROM clock_timestamp()))::bigint, least($2, $3), least($2, $3)) \
             ON CONFLICT (key) DO UPDATE SET \
               granted = CASE WHEN b.window_start = excluded.window_start \
                 THEN greatest(0, least($2, $3 - b.used)) ELSE least($2, $3) END, \
               used = CASE WHEN b.window_start = excluded.window_start \
                 THEN b.used + greatest(0, least($2, $3 - b.used)) ELSE least($2, $3) END, \
               window_start = excluded.window_start \
             RETURNING granted, 1000 - (floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint % 1000)",
        )
        .bind(key)
        .bind(i64::from(want))
        .bind(i64::from(limit))
        .fetch_one(&self.pool)
        .await?;
        Ok((u32::try_from(row.0).unwrap_or(0), u64::try_from(row.1).unwrap_or(0)))
    }
}

/// Applies other nodes' (and this node's) change notices to the caches until the pool closes.
/// A lost connection may have lost notices with it, so every cache is reloaded after one.
async fn follow_changes(mut listener: PgListener, store: PostgresStore) {
    let mut refresh = tokio::time::interval(CACHE_REFRESH);
    refresh.tick().await;
    loop {
        let reload_all = tokio::select! {
            n = listener.try_recv() => match n {
                Ok(Some(n)) => {
                    if let Err(e) = store.refresh_caches(Some(n.payload())).await {
                        tracing::warn!(error = %e, "cache refresh failed");
                    }
                    false
                }
                Ok(None) => true,
                Err(sqlx::Error::PoolClosed) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "change notices interrupted");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    true
                }
            },
            _ = refresh.tick() => true,
        };
        if reload_all && let Err(e) = store.refresh_caches(None).await {
            tracing::warn!(error = %e, "cache refresh failed");
        }
    }
}
