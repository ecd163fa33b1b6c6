//! A database that refuses writes: the data directory's file system full (a size-limited
//! tmpfs), and a PostgreSQL database switched to read-only. While writes fail, sends get 503
//! with `Retry-After` (never 500) and `/healthz` says why; once writes are possible again the
//! node takes them within 5 s, without a restart, and every message it acknowledged is there.
//! The tmpfs test needs root (to mount); the PostgreSQL one a test database. Each says
//! SKIPPED otherwise.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use textbird_test_support::{Reply, Server, eventually, postgres};

const BIN: &str = env!("CARGO_BIN_EXE_textbird");
const CONFIG: &str = "[simulator]\ndelivery_delay_ms = 100\n";
/// Writes must get through this soon after they are possible again.
const RESUME_WITHIN: Duration = Duration::from_secs(5);

/// A tmpfs of `size` mounted on a temporary directory, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .ok()?;
        if !out.status.success() {
            eprintln!(
                "SKIPPED full disk test: cannot mount a tmpfs (needs root): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return None;
        }
        Some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

/// Fills the file system holding `dir` with one file; returns its path.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).expect("filler");
    let chunk = vec![0_u8; 64 * 1024];
    while f.write_all(&chunk).is_ok() {}
    let mut byte = [0_u8; 1];
    while f.write_all(&byte).is_ok() {
        byte[0] = 1;
    }
    let _ = f.sync_all();
    path
}

async fn send(server: &Server, key: &str, n: usize) -> Reply {
    let body =
        json!({"to": format!("+3161{n:07}"), "from": "Acme", "body": format!("message {n}: {}", "x".repeat(120))});
    server.request("POST", key, "/v1/messages", Some(&body), &[]).await
}

async fn healthz(server: &Server) -> Reply {
    Reply::read(server.raw("GET", "/healthz", &[], Vec::new()).await).await
}

/// Sends until one is refused; checks the refusal and `/healthz`; returns the acknowledged ids.
async fn send_until_refused(server: &Server, key: &str) -> Vec<String> {
    let mut acked = Vec::new();
    let deadline = Instant::now() + Duration::from_mins(1);
    for n in 0.. {
        assert!(Instant::now() < deadline, "writes never failed; {} acknowledged", acked.len());
        let r = send(server, key, n).await;
        match r.status {
            201 => acked.push(r.body["messages"][0]["id"].as_str().expect("id").to_owned()),
            503 => {
                let p = textbird_test_support::assert_problem(&r, 503);
                assert_eq!(p["type"], "/problems/unavailable", "{p}");
                assert!(r.header("retry-after").is_some(), "503 carries Retry-After");
                break;
            }
            other => panic!("a send answered {other} while writes fail: {}; log: {}", r.text, server.log()),
        }
    }
    let health = eventually(10, "/healthz to report failing writes", || async {
        let h = healthz(server).await;
        (h.status == 503).then_some(h)
    })
    .await;
    assert_eq!(health.body["status"], "unavailable", "{}", health.text);
    assert!(health.body["reason"].as_str().is_some_and(|r| r.contains("refused writes")), "{}", health.text);
    assert!(health.header("retry-after").is_some());
    // For as long as the space stays short, every answer is a 503 or (for a write that still
    // fits) a 201: never a 500.
    let until = Instant::now() + Duration::from_secs(2);
    let mut n = 1_000_000;
    while Instant::now() < until {
        let r = send(server, key, n).await;
        match r.status {
            201 => acked.push(r.body["messages"][0]["id"].as_str().expect("id").to_owned()),
            503 => {}
            other => panic!("a send answered {other} while writes fail: {}", r.text),
        }
        n += 1;
    }
    acked
}

/// After writes are possible again: a send succeeds within `RESUME_WITHIN`, `/healthz` is
/// 200, and every acknowledged message is stored.
async fn assert_resumes(server: &Server, key: &str, acked: &[String], possible_since: Instant) {
    let mut n = 2_000_000;
    loop {
        let r = send(server, key, n).await;
        if r.status == 201 {
            break;
        }
        assert_eq!(r.status, 503, "{}", r.text);
        assert!(
            possible_since.elapsed() < RESUME_WITHIN,
            "writes did not resume within {RESUME_WITHIN:?}; log: {}",
            server.log()
        );
        n += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let resumed = possible_since.elapsed();
    eprintln!("writes resumed {} ms after they were possible again", resumed.as_millis());
    let health = eventually(5, "/healthz to be 200 again", || async {
        let h = healthz(server).await;
        (h.status == 200).then_some(h)
    })
    .await;
    assert_eq!(health.body["status"], "ok");
    for id in acked {
        let (status, m) = server.get(key, &format!("/v1/messages/{id}")).await;
        assert_eq!(status, 200, "acknowledged message {id} is stored: {m}");
    }
    eventually(30, "every acknowledged message to be delivered", || async {
        let all: Vec<Value> = server.all_messages(key, "").await;
        let delivered = all.iter().filter(|m| m["status"] == "delivered").count();
        (delivered > acked.len()).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_disk_answers_503_and_writes_resume_when_space_returns() {
    let Some(fs) = Tmpfs::mount("12m") else { return };
    let db = fs.path().join("textbird.db");
    let config = format!("{CONFIG}\n[database]\nurl = \"sqlite://{}\"\n", db.display());
    let server = Server::start_sqlite(BIN, &config);
    let account = server.create_account("Acme", "1000", "NL");
    let key = account.api_key.clone();
    // Warm up: the database works.
    assert_eq!(send(&server, &key, 0).await.status, 201);

    let filler = fill(fs.path());
    let acked = send_until_refused(&server, &key).await;
    std::fs::remove_file(&filler).expect("free the space");
    assert_resumes(&server, &key, &acked, Instant::now()).await;
}

/// A database of its own on the test PostgreSQL server, dropped when dropped.
struct OwnDatabase {
    admin: String,
    name: String,
    url: String,
}

impl OwnDatabase {
    fn create() -> Option<OwnDatabase> {
        let scratch = postgres::scratch("read_only_database")?;
        drop(scratch);
        let base = std::env::var(postgres::DATABASE_URL_VAR).expect("checked by scratch");
        let (server, _) = base.rsplit_once('/').expect("a database URL");
        let name = format!("textbird_ro_{}_{}", std::process::id(), unique_suffix());
        postgres::query(&base, &format!("CREATE DATABASE {name}"));
        Some(OwnDatabase { admin: base.clone(), url: format!("{server}/{name}"), name })
    }

    /// Sets `default_transaction_read_only` and cuts the database's sessions, so the server's
    /// new ones start with it (as after a failover to a standby, or an operator's switch).
    fn make_read_only(&self) {
        postgres::query(&self.admin, &format!("ALTER DATABASE {} SET default_transaction_read_only = on", self.name));
        postgres::query(
            &self.admin,
            &format!(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{}' AND pid <> pg_backend_pid()",
                self.name
            ),
        );
    }
}

impl Drop for OwnDatabase {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(|| {
            postgres::query(&self.admin, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        });
    }
}

fn unique_suffix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos() as u64
        % 1_000_000_007
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_postgres_answers_503_and_writes_resume_when_writable() {
    let Some(db) = OwnDatabase::create() else { return };
    let server = Server::start_node(BIN, CONFIG, &db.url);
    let account = server.create_account("Acme", "1000", "NL");
    let key = account.api_key.clone();
    assert_eq!(send(&server, &key, 0).await.status, 201);

    db.make_read_only();
    let acked = send_until_refused(&server, &key).await;
    // Writable again: only new sessions see it, so the server must reopen its own.
    postgres::query(&db.admin, &format!("ALTER DATABASE {} RESET default_transaction_read_only", db.name));
    assert_resumes(&server, &key, &acked, Instant::now()).await;
    drop(server);
}
