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
}

impl StoreError {
    /// Whether the cause is the database being down, busy or full rather than a bug.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Unavailable(_) => true,
            StoreError::Database(e) => {
                matches!(
                    e,
                    sqlx::Error::PoolTimedOut
                        | sqlx::Error::PoolClosed
                        | sqlx::Error::Io(_)
                        | sqlx::Error::WorkerCrashed
                ) || e.as_database_error().is_some_and(|d| {
                    let msg = d.message();
                    msg.contains("locked") || msg.contains("full") || msg.contains("disk I/O")
                })
            }
            _ => false,
        }
    }
}
