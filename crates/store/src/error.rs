/// What can go wrong below the use cases. `Unavailable` means the database could not answer
/// (a 503 to API clients); nothing else leaks driver details upward.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("the database schema (version {database}) is newer than this binary (version {binary}); upgrade Textbird")]
    SchemaTooNew { database: i64, binary: i64 },
    #[error("the database schema is behind this binary; run `textbird migrate`")]
    SchemaBehind,
    #[error("write failed: {0}")]
    Failed(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Sealed(#[from] crate::SealError),
}

impl StoreError {
    /// Whether the cause is the database being down, busy or full rather than a bug.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Unavailable(_) => true,
            StoreError::Database(e) => {
                self.is_connection_lost()
                    || self.is_write_refused()
                    || matches!(e, sqlx::Error::PoolTimedOut)
                    || e.as_database_error().is_some_and(|d| {
                        let msg = d.message();
                        // SQLite: busy, full, I/O. PostgreSQL: class 53 (insufficient
                        // resources: disk full, out of memory, too many connections), 57014
                        // (statement timeout), and what `is_contention` retries.
                        let code = pg_code(d).unwrap_or_default();
                        msg.contains("locked")
                            || msg.contains("full")
                            || msg.contains("disk I/O")
                            || code.starts_with("53")
                            || code == "57014"
                            || code.starts_with("40")
                    })
            }
            _ => false,
        }
    }

    /// Whether the database refuses to write at all for now: `SQLite` out of space, read-only
    /// or failing I/O; PostgreSQL out of disk (53100), in a read-only transaction (25006, e.g.
    /// `default_transaction_read_only`) or lacking a privilege (42501). Such a state outlives
    /// the transaction, and a setting like read-only is read when a session starts, so the
    /// connection that saw it is reopened before the next try.
    pub fn is_write_refused(&self) -> bool {
        let StoreError::Database(e) = self else { return false };
        e.as_database_error().is_some_and(|d| {
            if let Some(code) = pg_code(d) {
                matches!(code, "53100" | "25006" | "42501")
            } else {
                let msg = d.message();
                msg.contains("full") || msg.contains("readonly") || msg.contains("disk I/O")
            }
        })
    }

    /// Whether the connection that returned this error is gone (the server restarted or the
    /// network dropped), so it must be reopened rather than reused.
    pub fn is_connection_lost(&self) -> bool {
        let StoreError::Database(e) = self else { return false };
        matches!(
            e,
            sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed | sqlx::Error::Protocol(_)
        ) || e.as_database_error().is_some_and(|d| {
            // PostgreSQL class 08 (connection exception) and 57P01..57P03 (the server is
            // shutting down or starting up).
            let code = pg_code(d).unwrap_or_default();
            code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03")
        })
    }

    /// Whether the database aborted the transaction to resolve a race with another one (a
    /// deadlock or a serialization failure); running it again is the remedy.
    pub fn is_contention(&self) -> bool {
        let StoreError::Database(e) = self else { return false };
        e.as_database_error().and_then(pg_code).is_some_and(|c| c == "40P01" || c == "40001")
    }
}

/// The SQLSTATE of a PostgreSQL error (`None` for other databases, whose codes mean other
/// things).
fn pg_code(d: &dyn sqlx::error::DatabaseError) -> Option<&str> {
    d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().map(sqlx::postgres::PgDatabaseError::code)
}
