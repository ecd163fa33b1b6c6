//! The embedded `SQLite` backend: WAL, one writer connection owned by the batching writer
//! task, a pool of readers.

mod accounts;
mod batch;
mod messages;
mod rows;
mod webhooks;
mod writer;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Row};

use crate::opt_out_cache::OptOutCache;
use crate::webhook_cache::WebhookCache;
use crate::{OpenOptions, Signals, StoreError};
pub(crate) use writer::Writer;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a statement waits for the write lock before giving up (the CLI writing while
/// the server runs, or a checkpoint).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    writer: Writer,
    webhooks: WebhookCache,
    signals: Signals,
    opt_outs: OptOutCache,
}

impl SqliteStore {
    pub async fn open(path: &Path, options: &OpenOptions) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", dir.display())))?;
        }
        let connect = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(if options.sqlite_synchronous_full {
                SqliteSynchronous::Full
            } else {
                SqliteSynchronous::Normal
            })
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
            .connect_with(connect.clone())
            .await?;
        check_schema(&pool, options.migrate).await?;
        let webhooks = WebhookCache::default();
        webhooks.replace_all(webhooks::load_all(&pool).await?);
        let conn = connect.connect().await?;
        tokio::spawn(checkpoint_in_background(pool.clone()));
        let signals = Signals::default();
        let opt_outs = OptOutCache::default();
        let writer = Writer::spawn(conn, webhooks.clone(), signals.clone(), opt_outs.clone());
        Ok(Self { pool, writer, webhooks, signals, opt_outs })
    }

    pub fn signals(&self) -> &Signals {
        &self.signals
    }

    pub(crate) fn writer(&self) -> &Writer {
        &self.writer
    }

    pub async fn close(&self) {
        self.writer.shutdown().await;
        self.pool.close().await;
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Begins a write transaction that takes the write lock at once, so it waits on
    /// `busy_timeout` instead of failing when it would upgrade from a read.
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
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

/// Applies pending migrations (when allowed) and refuses a database newer than this binary.
async fn check_schema(pool: &SqlitePool, migrate: bool) -> Result<(), StoreError> {
    let binary = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    let mut conn = pool.acquire().await?;
    let has_table: i64 =
        sqlx::query("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'")
            .fetch_one(&mut *conn)
            .await?
            .get(0);
    let database: i64 = if has_table > 0 {
        sqlx::query("SELECT coalesce(max(version), 0) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *conn)
            .await?
            .get(0)
    } else {
        0
    };
    if database > binary {
        return Err(StoreError::SchemaTooNew { database, binary });
    }
    if database < binary {
        if !migrate {
            return Err(StoreError::SchemaBehind);
        }
        MIGRATOR.run(&mut *conn).await?;
    }
    conn.close().await.ok();
    Ok(())
}
