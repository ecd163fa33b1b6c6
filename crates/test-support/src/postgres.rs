//! Throwaway PostgreSQL schemas for tests, in the database `TEXTBIRD_TEST_DATABASE_URL`
//! names (CI creates one database per run and drops it afterwards). Each test gets its own
//! schema, selected through the URL's `search_path` option, so tests run in parallel without
//! seeing each other's tables; the schema is dropped when the guard is.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{Connection, Executor, PgConnection, Row, SqliteConnection};

/// The variable naming the database tests may create schemas in.
pub const DATABASE_URL_VAR: &str = "TEXTBIRD_TEST_DATABASE_URL";
/// Set (to anything) where a missing PostgreSQL must fail the run instead of skipping (CI).
pub const REQUIRE_VAR: &str = "TEXTBIRD_REQUIRE_POSTGRES";
/// `postgres` runs every end-to-end server of the suite on PostgreSQL.
pub const BACKEND_VAR: &str = "TEXTBIRD_TEST_BACKEND";

/// Schemas made by this process so far, for unique names.
static SEQ: AtomicU32 = AtomicU32::new(0);

/// A schema of its own in the test database; dropped (with everything in it) on drop.
pub struct PgScratch {
    /// A URL whose connections use the schema.
    pub url: String,
    base: String,
    schema: String,
}

/// Whether the end-to-end servers of this run use PostgreSQL.
pub fn servers_use_postgres() -> bool {
    std::env::var(BACKEND_VAR).is_ok_and(|v| v == "postgres")
}

/// A fresh schema, or `None` (saying so on stderr) when no test database is configured.
/// Panics instead when `TEXTBIRD_REQUIRE_POSTGRES` is set, so CI cannot pass by skipping.
pub fn scratch(test: &str) -> Option<PgScratch> {
    let Ok(base) = std::env::var(DATABASE_URL_VAR) else {
        assert!(
            std::env::var_os(REQUIRE_VAR).is_none(),
            "{test}: {REQUIRE_VAR} is set but {DATABASE_URL_VAR} is not: PostgreSQL tests cannot be skipped here"
        );
        eprintln!("SKIPPED {test}: PostgreSQL tests need {DATABASE_URL_VAR} (a database they may create schemas in)");
        return None;
    };
    let schema = format!("t{}_{}_{:08x}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed), rand_u32());
    run(&base, &format!("CREATE SCHEMA {schema}"));
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    Some(PgScratch { url, base, schema })
}

impl Drop for PgScratch {
    fn drop(&mut self) {
        run(&self.base, &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
    }
}

fn run(url: &str, sql: &str) {
    query(url, sql);
}

/// Runs one statement against a database URL (`sqlite://` or `postgres://`) on a connection
/// of its own, from a thread of its own so it works inside and outside an async runtime.
/// Returns the first column of the first row, as text, when there is one. Panics on error.
pub fn query(url: &str, sql: &str) -> Option<String> {
    let (url, sql) = (url.to_owned(), sql.to_owned());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            let fail = |e: sqlx::Error| -> ! { panic!("{sql}: {e}") };
            if url.starts_with("sqlite:") {
                let mut conn = SqliteConnection::connect(&url).await.unwrap_or_else(|e| fail(e));
                let row = conn.fetch_optional(sqlx::AssertSqlSafe(sql.clone())).await.unwrap_or_else(|e| fail(e));
                let _ = conn.close().await;
                row.map(|r| first_column(&r))
            } else {
                let mut conn = PgConnection::connect(&url).await.unwrap_or_else(|e| fail(e));
                let row = conn.fetch_optional(sqlx::AssertSqlSafe(sql.clone())).await.unwrap_or_else(|e| fail(e));
                let _ = conn.close().await;
                row.map(|r| first_column(&r))
            }
        })
    })
    .join()
    .expect("database helper thread")
}

/// The first column as text, whatever its type (integers and text are what tests read).
fn first_column<R: Row>(row: &R) -> String
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    if row.columns().is_empty() {
        return String::new();
    }
    row.try_get::<i64, _>(0).map(|v| v.to_string()).or_else(|_| row.try_get::<String, _>(0)).unwrap_or_default()
}

fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    #[allow(clippy::cast_possible_truncation)]
    let v = h.finish() as u32;
    v
}
