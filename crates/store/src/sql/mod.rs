//! The SQL both backends share. This module is compiled once per backend: `sqlite.rs` and
//! `postgres.rs` each include it with `#[path]`, after defining `Db` (the sqlx database) and
//! the few dialect constants the statements need (`BEGIN_WRITE`, `SKIP_LOCKED`, ...). Every
//! statement is written once, with `$N` placeholders, which both drivers accept; integers are
//! `BIGINT` except the counters the model holds as `i32` (`parts`, `attempts`, HTTP statuses),
//! which are `INTEGER` on both.
//!
//! Statements run over and over with a varying limit write it `LIMIT ($N + 0)`: `SQLite` reads
//! a bare bound `LIMIT $N` while planning, so every new value throws the prepared statement
//! away and compiles it again at its next step (3.51's `sqlite3ExprIsInteger` marks the
//! parameter); an expression is read only when the statement runs.

mod accounts;
mod aliases;
mod batch;
mod broadcasts;
mod content;
mod counts;
mod lists;
mod messages;
mod outbox;
mod people;
mod rows;
mod security;
mod verifications;
mod webhooks;
mod writer;

use std::sync::Arc;

use sqlx::{Connection, Database, Pool};

use crate::Keyring;
use crate::health::{WriteFailure, WriteHealth};
use crate::opt_out_cache::{AccountCache, OptOutCache, SendFacts};
use crate::webhook_cache::WebhookCache;
use crate::{Signals, StoreError};
use writer::Writer;

pub(crate) use super::Db;
use super::{ANNOUNCE, BEGIN_WRITE, FOR_UPDATE, OWNS_QUEUE, SKIP_LOCKED, WRITER_CHECKPOINT};

pub(crate) type Conn = <Db as Database>::Connection;
pub(crate) type DbRow = <Db as Database>::Row;
pub(crate) type ConnectOptions = <Conn as Connection>::Options;

/// One backend's store: a pool for reads and configuration writes, and the batching writer
/// for the hot path.
#[derive(Clone)]
pub struct SqlStore {
    pub(crate) pool: Pool<Db>,
    writer: Writer,
    webhooks: WebhookCache,
    signals: Signals,
    opt_outs: OptOutCache,
    facts: AccountCache<SendFacts>,
    health: WriteHealth,
    pub(crate) keyring: Arc<Keyring>,
}

impl SqlStore {
    /// Loads the caches and starts `writers` writers, each opening its own connection with
    /// `writer`.
    pub(crate) async fn start(
        pool: Pool<Db>,
        writer: ConnectOptions,
        writers: usize,
        keyring: Arc<Keyring>,
    ) -> Result<Self, StoreError> {
        let webhooks = WebhookCache::default();
        webhooks.replace_all(webhooks::load_all(&pool, &keyring).await?);
        let signals = Signals::default();
        let opt_outs = OptOutCache::default();
        let health = WriteHealth::default();
        let writer =
            Writer::spawn(writer, writers, webhooks.clone(), signals.clone(), opt_outs.clone(), health.clone()).await?;
        Ok(Self { pool, writer, webhooks, signals, opt_outs, facts: AccountCache::default(), health, keyring })
    }

    /// Why this node's writes are being refused, while they are.
    pub fn write_failure(&self) -> Option<WriteFailure> {
        self.health.failure()
    }

    pub fn signals(&self) -> &Signals {
        &self.signals
    }

    pub(crate) fn writer(&self) -> &Writer {
        &self.writer
    }

    /// Caches other nodes may have made stale, as a change notice names them
    /// (`opt_outs:ACCOUNT`, `facts:ACCOUNT`); anything else, or `None`, rereads the webhook
    /// endpoints and forgets every account's cached values.
    #[allow(dead_code, reason = "only nodes that share a database hear of others' changes")]
    pub(crate) async fn refresh_caches(&self, notice: Option<&str>) -> Result<(), StoreError> {
        if let Some(account_id) = notice.and_then(|n| n.strip_prefix("opt_outs:")) {
            self.opt_outs.invalidate(account_id);
        } else if let Some(account_id) = notice.and_then(|n| n.strip_prefix("facts:")) {
            self.facts.invalidate(account_id);
        } else {
            self.opt_outs.invalidate_all();
            self.facts.invalidate_all();
            self.webhooks.replace_all(webhooks::load_all(&self.pool, &self.keyring).await?);
        }
        Ok(())
    }

    /// The account's disabled senders, enabled unsubscribe lists and fraud settings, cached.
    pub(crate) async fn send_facts(&self, account_id: &str) -> Result<Arc<SendFacts>, StoreError> {
        if let Some(facts) = self.facts.get(account_id) {
            return Ok(facts);
        }
        let generation = self.facts.generation();
        let disabled_senders = sqlx::query_scalar("SELECT value FROM senders WHERE account_id = $1 AND NOT enabled")
            .bind(account_id)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .collect();
        let unsubscribe_lists =
            sqlx::query_as("SELECT id, name FROM lists WHERE account_id = $1 AND kind = 'unsubscribe' AND enabled")
                .bind(account_id)
                .fetch_all(&self.pool)
                .await?;
        let fraud = self.load_fraud_settings(account_id).await?;
        let facts = Arc::new(SendFacts { disabled_senders, unsubscribe_lists, fraud });
        self.facts.put(account_id, facts.clone(), generation);
        Ok(facts)
    }

    /// After a write to the account's senders or lists: forgets what this node and every
    /// node sharing the database cached of them.
    pub(crate) async fn facts_changed(&self, account_id: &str) -> Result<(), StoreError> {
        self.facts.invalidate(account_id);
        announce(&self.pool, &format!("facts:{account_id}")).await
    }

    /// The shape an endpoint's deliveries are posted in (`None` for an unknown endpoint).
    pub fn webhook_format(&self, account_id: &str, webhook_id: &str) -> Option<String> {
        self.webhooks.format(account_id, webhook_id)
    }

    pub async fn close(&self) {
        self.writer.shutdown().await;
        self.pool.close().await;
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Begins a write transaction; on `SQLite` it takes the write lock at once, so it waits on
    /// `busy_timeout` instead of failing when it would upgrade from a read.
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Db>, StoreError> {
        Ok(self.pool.begin_with(BEGIN_WRITE).await?)
    }
}

/// Whether a pooled connection may be handed out: one a failed commit left counting an open
/// transaction (see `writer::settled`) is closed instead.
pub(crate) fn usable(conn: &Conn) -> bool {
    !conn.is_in_transaction()
}

/// Tells every node sharing the database that something it caches changed: `webhooks`, or
/// `opt_outs:ACCOUNT`. Inside a transaction the notice goes out when it commits.
pub(crate) async fn announce<'e, E>(executor: E, what: &str) -> Result<(), StoreError>
where
    E: sqlx::Executor<'e, Database = Db>,
{
    if let Some(sql) = ANNOUNCE {
        sqlx::query(sql).bind(what).execute(executor).await?;
    }
    Ok(())
}

/// Applies pending migrations (when allowed) and refuses a database newer than this binary.
/// `has_table` counts the migrations table (how differs by backend).
pub(crate) async fn check_schema(
    pool: &Pool<Db>,
    migrator: &sqlx::migrate::Migrator,
    has_table: &'static str,
    migrate: bool,
) -> Result<(), StoreError> {
    use sqlx::Row;
    let binary = migrator.iter().map(|m| m.version).max().unwrap_or(0);
    let mut conn = pool.acquire().await?;
    let has_table: i64 = sqlx::query(has_table).fetch_one(&mut *conn).await?.get(0);
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
        migrator.run(&mut *conn).await?;
    }
    conn.close().await.ok();
    Ok(())
}
