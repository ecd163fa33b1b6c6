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
    query(&base, &format!("CREATE SCHEMA {schema}"));
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    Some(PgScratch { url, base, schema })
}

impl Drop for PgScratch {
    fn drop(&mut self) {
        query(&self.base, &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
    }
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

/// A PostgreSQL server of the test's own (`initdb` and `pg_ctl` from the machine's
/// PostgreSQL binaries, run as the `postgres` user when the test runs as root), so a test can
/// stop and restart the database under a running Textbird without touching anyone else's.
/// Stopped and removed when dropped.
pub struct PrivatePostgres {
    /// `postgres://postgres@127.0.0.1:PORT/postgres`
    pub url: String,
    bin: std::path::PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    as_root: bool,
}

impl PrivatePostgres {
    /// Creates and starts the server, or `None` (saying why) when PostgreSQL's binaries are
    /// not installed; a failure instead when `TEXTBIRD_REQUIRE_POSTGRES` is set.
    pub fn start(test: &str) -> Option<PrivatePostgres> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .find(|b| b.join("initdb").is_file() && b.join("pg_ctl").is_file());
        let Some(bin) = bin else {
            assert!(
                std::env::var_os(REQUIRE_VAR).is_none(),
                "{test}: PostgreSQL's initdb and pg_ctl are not installed"
            );
            eprintln!("SKIPPED {test}: PostgreSQL's server binaries (initdb, pg_ctl) are not installed");
            return None;
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let as_root = std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        if as_root {
            let status = std::process::Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(status.success(), "chown the data directory to postgres");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port();
        let pg =
            PrivatePostgres { url: format!("postgres://postgres@127.0.0.1:{port}/postgres"), bin, dir, port, as_root };
        let data = pg.data();
        pg.run("initdb", &["-D", &data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"]);
        pg.start_server();
        Some(pg)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// A PostgreSQL tool, run as `postgres` when the tests run as root.
    fn command(&self, tool: &str) -> std::process::Command {
        let exe = self.bin.join(tool);
        if self.as_root {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            std::process::Command::new(&exe)
        }
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let out = self.command(tool).args(args).current_dir(self.dir.path()).output().expect("run PostgreSQL tool");
        assert!(
            out.status.success(),
            "{tool} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start_server(&self) {
        let data = self.data();
        let log = self.dir.path().join("server.log").display().to_string();
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        self.run("pg_ctl", &["-D", &data, "-l", &log, "-o", &options, "-w", "-t", "60", "start"]);
    }

    /// Stops the server (fast: open connections are cut, as in a restart).
    pub fn stop_server(&self) {
        let data = self.data();
        self.run("pg_ctl", &["-D", &data, "-m", "fast", "-w", "-t", "60", "stop"]);
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self.command("pg_ctl").args(["-D", &data, "-m", "immediate", "-w", "stop"]).output();
    }
}
