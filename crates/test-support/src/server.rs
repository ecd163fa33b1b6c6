use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running `textbird serve` with a fresh data directory, killed when dropped.
pub struct Server {
    pub base: String,
    /// `host:port` of the customer-facing SMPP server, from its `SMPP listening on` line
    /// (empty when the server printed none).
    pub smpp: String,
    pub admin: Account,
    bin: PathBuf,
    database: Database,
    /// Whether the processes get [`POSTGRES_SECRETS_KEY`] (on PostgreSQL, unless the
    /// configuration has a `[secrets]` section of its own).
    shared_key: bool,
    dir: tempfile::TempDir,
    child: Option<Child>,
    http: reqwest::Client,
}

/// Credentials of an account, as `accounts create` prints them.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub api_key: String,
    pub json: Value,
}

const START_TIMEOUT: Duration = Duration::from_secs(30);
/// The `[secrets] key` of servers on PostgreSQL, where nodes (and the commands run beside
/// them) must share one; on `SQLite` each server makes its own in its data directory.
pub const POSTGRES_SECRETS_KEY: &str = "dGV4dGJpcmQtdGVzdC1zZWNyZXRzLWtleS0zMmJ5dGU=";

/// Where a server keeps its data.
enum Database {
    /// An `SQLite` file in its directory.
    Sqlite,
    /// A PostgreSQL schema of its own, dropped with the server.
    Scratch(crate::postgres::PgScratch),
    /// A PostgreSQL database other servers share (a node of several).
    Shared(String),
}

impl Server {
    /// Starts the binary at `bin` with `config` (TOML) appended to a test base config that
    /// allows webhooks to loopback.
    pub fn start(bin: &str, config: &str) -> Server {
        let database = if crate::postgres::servers_use_postgres() {
            Database::Scratch(
                crate::postgres::scratch("server").expect("TEXTBIRD_TEST_BACKEND=postgres needs a database"),
            )
        } else {
            Database::Sqlite
        };
        Server::start_on(bin, config, database)
    }

    /// Starts a server on `SQLite` whatever the run's backend (for tests of `SQLite` itself).
    pub fn start_sqlite(bin: &str, config: &str) -> Server {
        Server::start_on(bin, config, Database::Sqlite)
    }

    /// Starts one node of several on the PostgreSQL database at `url` (the first node to
    /// start creates the admin account; `admin` is empty on the others).
    pub fn start_node(bin: &str, config: &str, url: &str) -> Server {
        Server::start_on(bin, config, Database::Shared(url.to_owned()))
    }

    fn start_on(bin: &str, config: &str, database: Database) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let base_config = if config.contains("[webhooks]") {
            config.to_owned()
        } else {
            format!("[webhooks]\nallow_private_networks = true\n{config}")
        };
        std::fs::write(dir.path().join("textbird.toml"), base_config).expect("write config");
        let mut s = Server {
            base: String::new(),
            smpp: String::new(),
            admin: Account { id: String::new(), api_key: String::new(), json: Value::Null },
            bin: PathBuf::from(bin),
            shared_key: !matches!(database, Database::Sqlite) && !config.contains("[secrets]"),
            database,
            dir,
            child: None,
            http: reqwest::Client::new(),
        };
        let admin = s.spawn();
        s.admin = match (&s.database, admin) {
            (_, Some(admin)) => admin,
            (Database::Shared(_), None) => Account { id: String::new(), api_key: String::new(), json: Value::Null },
            _ => panic!("first start prints the admin account"),
        };
        s
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("data").join("textbird.db")
    }

    /// The database this server uses, as a `--database-url`.
    pub fn database_url(&self) -> String {
        match &self.database {
            Database::Scratch(pg) => pg.url.clone(),
            Database::Shared(url) => url.clone(),
            Database::Sqlite => format!("sqlite://{}", self.db_path().display()),
        }
    }

    /// Environment every process of this server gets.
    fn env(&self) -> Vec<(&'static str, &'static str)> {
        if self.shared_key { vec![("TEXTBIRD_SECRETS__KEY", POSTGRES_SECRETS_KEY)] } else { Vec::new() }
    }

    fn common_args(&self) -> Vec<String> {
        let mut args = vec![
            "--config".into(),
            self.dir.path().join("textbird.toml").display().to_string(),
            "--data-dir".into(),
            self.dir.path().join("data").display().to_string(),
        ];
        if !matches!(self.database, Database::Sqlite) {
            args.extend(["--database-url".into(), self.database_url()]);
        }
        args
    }

    /// Starts the process and waits for its listening line; returns the admin account when
    /// this start created it.
    fn spawn(&mut self) -> Option<Account> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))
            .expect("log");
        let mut child = Command::new(&self.bin)
            .arg("serve")
            .args(self.common_args())
            .args(["--http", "127.0.0.1:0", "--smpp", "127.0.0.1:0"])
            .envs(self.env())
            .env("RUST_LOG", "info,sqlx=warn")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("spawn textbird");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        let mut admin = None;
        self.smpp.clear();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx.recv_timeout(left).unwrap_or_else(|_| panic!("textbird did not start; log: {}", self.log()));
            if line.starts_with('{') && admin.is_none() {
                admin = Some(parse_account(&line));
            }
            if let Some(addr) = line.strip_prefix("SMPP listening on ") {
                addr.trim().clone_into(&mut self.smpp);
            }
            if let Some(url) = line.strip_prefix("Listening on ") {
                url.trim().clone_into(&mut self.base);
                break;
            }
        }
        self.child = Some(child);
        admin
    }

    /// The server's stderr so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then waits; returns how long the process took to exit.
    pub fn terminate(&mut self) -> Duration {
        let mut c = self.child.take().expect("running");
        let started = Instant::now();
        let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
        let status = c.wait().expect("wait");
        assert!(status.success(), "textbird exited with {status}; log: {}", self.log());
        started.elapsed()
    }

    /// Starts again on the same database.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop it first");
        self.spawn();
    }

    /// Runs a command of the binary against this server's config and database.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(&self.bin).args(args).args(self.common_args()).envs(self.env()).output().expect("run textbird")
    }

    pub fn create_account(&self, name: &str, balance: &str, country: &str) -> Account {
        let out = self.cli(&["accounts", "create", "--name", name, "--balance", balance, "--country", country]);
        assert!(out.status.success(), "accounts create failed: {}", String::from_utf8_lossy(&out.stderr));
        parse_account(String::from_utf8_lossy(&out.stdout).lines().last().expect("a JSON line"))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, key: &str, path: &str) -> (u16, Value) {
        let res = self.http.get(self.url(path)).bearer_auth(key).send().await.expect("GET");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, key: &str, path: &str, body: &Value) -> (u16, Value) {
        let res = self.http.post(self.url(path)).bearer_auth(key).json(body).send().await.expect("POST");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Any method, an optional JSON body and extra headers; the whole answer comes back.
    pub async fn request(
        &self,
        method: &str,
        key: &str,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self.http.request(method.parse().expect("method"), self.url(path)).bearer_auth(key);
        if let Some(b) = body {
            req = req.json(b);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Reply::read(req.send().await.expect("request")).await
    }

    pub async fn patch(&self, key: &str, path: &str, body: &Value) -> (u16, Value) {
        let r = self.request("PATCH", key, path, Some(body), &[]).await;
        (r.status, r.body)
    }

    pub async fn delete(&self, key: &str, path: &str) -> (u16, Value) {
        let r = self.request("DELETE", key, path, None, &[]).await;
        (r.status, r.body)
    }

    /// The account's balance as `/v1/account` shows it (`"9.9950"`).
    pub async fn balance(&self, key: &str) -> String {
        let (status, account) = self.get(key, "/v1/account").await;
        assert_eq!(status, 200, "{account}");
        account["balance"].as_str().expect("balance").to_owned()
    }

    /// Every message of the account (all pages), newest first.
    pub async fn all_messages(&self, key: &str, query: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/messages?limit=1000{query}&cursor={c}"),
                None => format!("/v1/messages?limit=1000{query}"),
            };
            let (status, page) = self.get(key, &path).await;
            assert_eq!(status, 200, "{page}");
            out.extend(page["data"].as_array().expect("data").iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return out,
            }
        }
    }

    /// Runs one statement on this server's database (either backend); the first column of the
    /// first row as text, if any.
    pub fn sql(&self, statement: &str) -> Option<String> {
        crate::postgres::query(&self.database_url(), statement)
    }

    /// Whether this server runs on PostgreSQL.
    pub fn on_postgres(&self) -> bool {
        !matches!(self.database, Database::Sqlite)
    }

    /// Writes `contents` to `name` in the server's directory; returns the path.
    pub fn write_file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).expect("write file");
        path
    }

    /// Sends raw bytes with headers, for malformed-input tests.
    pub async fn raw(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> reqwest::Response {
        let mut req = self.http.request(method.parse().expect("method"), self.url(path)).body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().await.expect("request")
    }
}

/// A whole HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    /// The body parsed as JSON, `Null` when it is not JSON.
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub async fn read(res: reqwest::Response) -> Reply {
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, headers, body, text }
    }

    /// A header's value, if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn parse_account(line: &str) -> Account {
    let json: Value = serde_json::from_str(line).expect("account JSON");
    Account {
        id: json["id"].as_str().expect("id").to_owned(),
        api_key: json["api_key"].as_str().expect("api_key").to_owned(),
        json,
    }
}
