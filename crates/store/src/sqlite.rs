//! The embedded `SQLite` backend: WAL, one writer connection owned by the batching writer
//! task, a pool of readers. One process owns the queue.

#[allow(clippy::duplicate_mod, reason = "the shared SQL is compiled once per backend on purpose")]
#[path = "sql/mod.rs"]
mod sql;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use crate::{OpenOptions, StoreError};
pub use sql::SqlStore as SqliteStore;

pub(crate) type Db = sqlx::Sqlite;
/// Takes the write lock at once (see `SqlStore::begin_write`).
const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";
/// One process owns the queue, so claims need no row locks.
const SKIP_LOCKED: &str = "";
/// The write transaction already holds the only write lock.
const FOR_UPDATE: &str = "";
/// Leases left by an earlier process of this database are this process's to release.
const OWNS_QUEUE: bool = true;
/// Run by the writer between its own transactions (see `writer.rs`).
const WRITER_CHECKPOINT: Option<&str> = Some("PRAGMA wal_checkpoint(PASSIVE)");
/// Every write goes through this process, which updates its caches itself.
const ANNOUNCE: Option<&str> = None;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a statement waits for the write lock before giving up (the CLI writing while
/// the server runs, or a checkpoint).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens (creating if needed) the database at `path`.
pub(crate) async fn open(path: &Path, options: &OpenOptions) -> Result<SqliteStore, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", dir.display())))?;
    }
    let connect = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(if options.sqlite_synchronous_full { SqliteSynchronous::Full } else { SqliteSynchronous::Normal })
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true)
        .pragma("cache_size", "-16384")
        // Checkpoints run in the background (see `checkpoint_in_background`), never in the
        // writer's commit where they would stall every request of that batch.
        .pragma("wal_autocheckpoint", "0")
        // A WAL that grew under load is cut back to this size once it starts over.
        .pragma("journal_size_limit", "67108864")
        .pragma("mmap_size", "67108864")
        .pragma("temp_store", "memory")
        .log_statements(tracing::log::LevelFilter::Trace);
    let pool = SqlitePoolOptions::new()
        .max_connections(options.max_connections.max(1))
        .acquire_timeout(Duration::from_secs(10))
        .before_acquire(|conn, _| Box::pin(async move { Ok(sql::usable(conn)) }))
        .connect_with(connect.clone())
        .await?;
    let has_table = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'";
    sql::check_schema(&pool, &MIGRATOR, has_table, options.migrate).await?;
    tokio::spawn(checkpoint_in_background(pool.clone()));
    // One write lock: one writer, batching everything.
    SqliteStore::start(pool, connect, 1, options.keyring.clone()).await
}

/// How often the WAL is copied back into the database file.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(500);

/// PASSIVE checkpoints from a reader connection: they copy what no reader still needs and
/// never block the writer. Ends when the pool is closed.
async fn checkpoint_in_background(pool: SqlitePool) {
    loop {
        tokio::time::sleep(CHECKPOINT_INTERVAL).await;
        if pool.is_closed() {
            return;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
            if pool.is_closed() {
                return;
            }
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
    }
}
