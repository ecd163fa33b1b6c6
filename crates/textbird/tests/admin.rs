//! The admin API (`/v1/admin/...`): admin accounts only, 404 for every other caller;
//! accounts (create, list, get, update, suspend, credit with a ledger entry), rates (import,
//! list, delete), connectors (status, pause and resume that hold back claiming), routes and
//! usage per account per day; and the commands that call the same services.

use serde_json::{Value, json};
use textbird_test_support::{Reply, Server, eventually};

const BIN: &str = env!("CARGO_BIN_EXE_textbird");

/// A simulator for the messages and an SMPP carrier that never answers (nothing listens on
/// its port), so one connector never binds.
fn config() -> String {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    format!(
        "[[connectors]]\nname = \"sim\"\nkind = \"simulator\"\n\n\
         [[connectors]]\nname = \"carrier\"\nkind = \"smpp\"\nhost = \"127.0.0.1\"\nport = {closed}\n\
         system_id = \"x\"\npassword = \"x\"\nreconnect_max_secs = 1\n\n\
         [[routes]]\nprefix = \"\"\nconnector = \"sim\"\n\n[[routes]]\nprefix = \"44\"\nconnector = \"carrier\"\npriority = 1\n"
    )
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn every_admin_route_is_404_for_other_keys_and_without_one() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "5", "NL");
    let routes: [(&str, String); 13] = [
        ("GET", "/v1/admin/accounts".to_owned()),
        ("POST", "/v1/admin/accounts".to_owned()),
        ("GET", format!("/v1/admin/accounts/{}", acme.id)),
        ("PATCH", format!("/v1/admin/accounts/{}", acme.id)),
        ("POST", format!("/v1/admin/accounts/{}/suspend", acme.id)),
        ("POST", format!("/v1/admin/accounts/{}/credit", acme.id)),
        ("GET", "/v1/admin/rates".to_owned()),
        ("POST", "/v1/admin/rates".to_owned()),
        ("DELETE", "/v1/admin/rates/31".to_owned()),
        ("GET", "/v1/admin/connectors".to_owned()),
        ("POST", "/v1/admin/connectors/simulator/pause".to_owned()),
        ("GET", "/v1/admin/routes".to_owned()),
        ("GET", "/v1/admin/usage".to_owned()),
    ];
    for (method, path) in routes {
        let body = br#"{"name":"X","amount":"100","csv":"31,1"}"#.to_vec();
        let auth = format!("Bearer {}", acme.api_key);
        for headers in [vec![("authorization", auth.as_str())], vec![]] {
            let mut headers = headers;
            headers.push(("content-type", "application/json"));
            let r = Reply::read(server.raw(method, &path, &headers, body.clone()).await).await;
            assert_eq!(r.status, 404, "{method} {path} with {} key: {}", headers.len(), r.text);
            assert_eq!(r.body["type"], "/problems/not-found", "{}", r.text);
        }
    }
    // Nothing changed: the suspend and the credit did not happen.
    assert_eq!(server.balance(&acme.api_key).await, "5.0000");
    let (status, _) = server.get(&server.admin.api_key, "/v1/admin/accounts").await;
    assert_eq!(status, 200, "the admin's key is let in");
}

#[tokio::test]
async fn admin_manages_accounts_and_credit() {
    let server = Server::start(BIN, "");
    let admin = server.admin.api_key.clone();

    let (status, created) =
        server.post(&admin, "/v1/admin/accounts", &json!({"name": "Zed Ltd", "country": "nl", "balance": "3"})).await;
    assert_eq!(status, 201, "{created}");
    for key in ["id", "api_key", "api_token", "username", "password", "client_id", "client_secret"] {
        assert!(created[key].as_str().is_some_and(|v| !v.is_empty()), "{key} in {created}");
    }
    assert_eq!((created["country"].as_str(), created["balance"].as_str()), (Some("NL"), Some("3.0000")));
    let id = created["id"].as_str().unwrap().to_owned();
    let key = created["api_key"].as_str().unwrap().to_owned();
    let (status, own) = server.get(&key, "/v1/account").await;
    assert_eq!((status, own["id"].as_str()), (200, Some(id.as_str())), "its key works: {own}");

    let (status, bad) = server.post(&admin, "/v1/admin/accounts", &json!({"name": "Bad", "country": "XX"})).await;
    assert_eq!(status, 422, "{bad}");
    assert_eq!(bad["errors"][0]["field"], "country");

    let (status, list) = server.get(&admin, "/v1/admin/accounts").await;
    assert_eq!(status, 200, "{list}");
    let ids: Vec<&str> = list["data"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [server.admin.id.as_str(), id.as_str()]);
    for a in list["data"].as_array().unwrap() {
        for secret in ["api_key", "password", "password_hash", "client_secret", "callback_secret"] {
            assert!(a.get(secret).is_none(), "no {secret} in the list: {a}");
        }
    }

    let (status, one) = server.get(&admin, &format!("/v1/admin/accounts/{id}")).await;
    assert_eq!((status, one["name"].as_str(), one["suspended"].as_bool()), (200, Some("Zed Ltd"), Some(false)));
    let (status, missing) = server.get(&admin, "/v1/admin/accounts/no-such-account").await;
    assert_eq!(status, 404, "{missing}");

    let (status, changed) = server
        .patch(&admin, &format!("/v1/admin/accounts/{id}"), &json!({"name": "Zed BV", "timezone": "Europe/Amsterdam"}))
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!((changed["name"].as_str(), changed["timezone"].as_str()), (Some("Zed BV"), Some("Europe/Amsterdam")));
    let (status, _) =
        server.patch(&admin, &format!("/v1/admin/accounts/{id}"), &json!({"timezone": "Mars/Base"})).await;
    assert_eq!(status, 422);

    let (status, credited) =
        server.post(&admin, &format!("/v1/admin/accounts/{id}/credit"), &json!({"amount": "2.5"})).await;
    assert_eq!((status, credited["balance"].as_str()), (200, Some("5.5000")), "{credited}");
    assert_eq!(server.balance(&key).await, "5.5000");
    let ledger = server
        .sql(&format!("SELECT count(*) FROM ledger WHERE account_id = '{id}' AND reason = 'operator credit'"))
        .unwrap();
    assert_eq!(ledger, "1", "one ledger entry for the credit");
    let sum = server.sql(&format!("SELECT CAST(sum(amount) AS BIGINT) FROM ledger WHERE account_id = '{id}'")).unwrap();
    assert_eq!(sum, "5500000", "the ledger sums to the balance");
    let (status, _) = server.post(&admin, &format!("/v1/admin/accounts/{id}/credit"), &json!({"amount": "-10"})).await;
    assert_eq!(status, 409, "the balance cannot go negative");
    let (status, _) = server.post(&admin, &format!("/v1/admin/accounts/{id}/credit"), &json!({"amount": "lots"})).await;
    assert_eq!(status, 422);
    let (status, _) = server.post(&admin, "/v1/admin/accounts/nobody/credit", &json!({"amount": "1"})).await;
    assert_eq!(status, 404);
    assert_eq!(server.balance(&key).await, "5.5000", "refused credits changed nothing");

    let (status, suspended) = server.post(&admin, &format!("/v1/admin/accounts/{id}/suspend"), &json!({})).await;
    assert_eq!((status, suspended["suspended"].as_bool()), (200, Some(true)), "{suspended}");
    let (status, _) = server.get(&key, "/v1/account").await;
    assert_eq!(status, 401, "a suspended account's key stops working at once");
    let (status, _) = server.post(&admin, &format!("/v1/admin/accounts/{}/suspend", server.admin.id), &json!({})).await;
    assert_eq!(status, 409, "an admin cannot lock itself out");
    let (status, _) = server.post(&admin, &format!("/v1/admin/accounts/{id}/unsuspend"), &json!({})).await;
    assert_eq!(status, 200);
    let (status, _) = server.get(&key, "/v1/account").await;
    assert_eq!(status, 200, "reinstated");

    // The command line calls the same services.
    let out = server.cli(&["accounts", "suspend", "--id", &id]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(printed["suspended"], true);
    eventually(5, "the server sees the suspension", || async {
        (server.get(&key, "/v1/account").await.0 == 401).then_some(())
    })
    .await;
}

#[tokio::test]
async fn admin_manages_rates() {
    let server = Server::start(BIN, "");
    let admin = server.admin.api_key.clone();
    let (status, done) =
        server.post(&admin, "/v1/admin/rates", &json!({"csv": "prefix,price\n+31,0.0700\n316,0.0650\n"})).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["imported"], 2);
    let (status, done) =
        server.post(&admin, "/v1/admin/rates", &json!({"rates": [{"prefix": "44", "price": "0.04"}]})).await;
    assert_eq!(status, 200, "{done}");
    let (status, bad) = server.post(&admin, "/v1/admin/rates", &json!({"csv": "3a,0.1\n"})).await;
    assert_eq!(status, 422, "{bad}");
    let (_, list) = server.get(&admin, "/v1/admin/rates").await;
    assert_eq!(
        list["data"],
        json!([{"prefix": "31", "price": "0.0700"}, {"prefix": "316", "price": "0.0650"}, {"prefix": "44", "price": "0.0400"}])
    );
    // This node prices with the new table at once.
    let acme = server.create_account("Acme", "1", "NL");
    let (status, sent) =
        server.post(&acme.api_key, "/v1/messages", &json!({"to": "+31612345678", "from": "Acme", "body": "Hi"})).await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(server.balance(&acme.api_key).await, "0.9350");

    let (status, _) = server.delete(&admin, "/v1/admin/rates/316").await;
    assert_eq!(status, 204);
    let (status, _) = server.delete(&admin, "/v1/admin/rates/316").await;
    assert_eq!(status, 404);
    let out = server.cli(&["rates", "list"]);
    assert_eq!(stdout(&out), "prefix,price\n31,0.0700\n44,0.0400\n");
}

#[tokio::test]
async fn admin_sees_and_pauses_connectors_and_reads_routes_and_usage() {
    let server = Server::start(BIN, &config());
    let admin = server.admin.api_key.clone();
    let acme = server.create_account("Acme", "10", "NL");

    let carrier = eventually(10, "the carrier's failed binds are counted", || async {
        let (_, list) = server.get(&admin, "/v1/admin/connectors").await;
        let c = list["data"].as_array()?.iter().find(|c| c["name"] == "carrier")?.clone();
        (c["reconnects"].as_u64()? >= 1).then_some(c)
    })
    .await;
    assert_eq!(carrier["kind"], "smpp");
    assert_eq!(carrier["bound"], false);
    assert!(carrier["last_error"].as_str().is_some_and(|e| e.contains("bind")), "{carrier}");
    let (_, list) = server.get(&admin, "/v1/admin/connectors").await;
    let sim = list["data"].as_array().unwrap().iter().find(|c| c["name"] == "sim").unwrap().clone();
    for field in
        ["name", "kind", "bound", "window_in_use", "throughput", "queue_depth", "last_error", "reconnects", "paused"]
    {
        assert!(sim.get(field).is_some(), "{field} in {sim}");
    }
    assert_eq!(
        (sim["kind"].as_str(), sim["bound"].as_bool(), sim["paused"].as_bool()),
        (Some("simulator"), Some(true), Some(false))
    );

    // Paused: messages wait in the queue; the connector stays up.
    let (status, paused) = server.post(&admin, "/v1/admin/connectors/sim/pause", &json!({})).await;
    assert_eq!(
        (status, paused["paused"].as_bool(), paused["bound"].as_bool()),
        (200, Some(true), Some(true)),
        "{paused}"
    );
    let (status, _) = server.post(&admin, "/v1/admin/connectors/nope/pause", &json!({})).await;
    assert_eq!(status, 404);
    let (status, sent) =
        server.post(&acme.api_key, "/v1/messages", &json!({"to": "+31612345678", "from": "Acme", "body": "Hi"})).await;
    assert_eq!(status, 201, "{sent}");
    let id = sent["messages"][0]["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let (_, m) = server.get(&acme.api_key, &format!("/v1/messages/{id}")).await;
    assert_eq!(m["status"], "queued", "a paused connector is handed nothing: {m}");
    let out = server.cli(&["connectors", "list"]);
    assert!(
        stdout(&out).contains(r#""name":"sim","paused":true"#) || stdout(&out).contains(r#""paused":true"#),
        "{}",
        stdout(&out)
    );

    let (status, resumed) = server.post(&admin, "/v1/admin/connectors/sim/resume", &json!({})).await;
    assert_eq!((status, resumed["paused"].as_bool()), (200, Some(false)));
    eventually(15, "delivered after the resume", || async {
        let (_, m) = server.get(&acme.api_key, &format!("/v1/messages/{id}")).await;
        (m["status"] == "delivered").then_some(())
    })
    .await;

    let (status, routes) = server.get(&admin, "/v1/admin/routes").await;
    assert_eq!(status, 200, "{routes}");
    assert_eq!(
        routes["data"],
        json!([{"prefix": "", "connector": "sim", "priority": 0}, {"prefix": "44", "connector": "carrier", "priority": 1}])
    );

    let (status, usage) = server.get(&admin, &format!("/v1/admin/usage?account_id={}", acme.id)).await;
    assert_eq!(status, 200, "{usage}");
    let today = &today_utc();
    assert_eq!(
        usage["data"],
        json!([{"account_id": acme.id, "day": today, "messages": 1, "parts": 1, "cost": "0.0050"}]),
        "{usage}"
    );
    let (status, _) = server.get(&admin, "/v1/admin/usage?from=yesterday").await;
    assert_eq!(status, 422);

    // Gauges of a connector that never bound are there, at 0, with HELP and TYPE.
    let r = Reply::read(server.raw("GET", "/metrics", &[], Vec::new()).await).await;
    assert!(r.text.contains("textbird_smpp_bound{connector=\"carrier\"} 0"), "{}", r.text);
    assert!(r.text.contains("textbird_build_info{version="), "{}", r.text);
    for line in r.text.lines().filter(|l| l.starts_with("# TYPE ")) {
        let name = line.split_whitespace().nth(2).unwrap();
        assert!(r.text.contains(&format!("# HELP {name} ")), "{name} has HELP text:\n{}", r.text);
    }
}

/// Today's UTC date as `YYYY-MM-DD`.
fn today_utc() -> String {
    let days = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() / 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[tokio::test]
async fn one_access_log_line_per_request_without_secrets() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "5", "NL");
    let body = serde_json::to_vec(&json!({"to": "+31612345678", "from": "Acme", "body": "Secret text"})).unwrap();
    let auth = format!("Bearer {}", acme.api_key);
    let headers = [("authorization", auth.as_str()), ("content-type", "application/json"), ("x-request-id", "req-42")];
    let r = Reply::read(server.raw("POST", "/v1/messages", &headers, body).await).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.header("x-request-id"), Some("req-42"), "the client's request id comes back");
    let r = Reply::read(server.raw("GET", "/healthz", &[], Vec::new()).await).await;
    let made = r.header("x-request-id").expect("a request id is made").to_owned();
    let log = eventually(5, "the access lines are written", || async {
        let log = server.log();
        (log.contains("req-42") && log.contains(&made)).then_some(log)
    })
    .await;
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("req-42")).collect();
    assert_eq!(lines.len(), 1, "one line for the request: {lines:?}");
    let line = lines[0];
    for part in ["POST", "/v1/messages", "201", "latency_ms", acme.id.as_str()] {
        assert!(line.contains(part), "{part} in {line}");
    }
    assert!(!line.contains('\u{1b}'), "no colour codes in a log file: {line}");
    for secret in [acme.api_key.as_str(), "31612345678", "Secret text"] {
        assert!(!log.contains(secret), "{secret} never logged");
    }
}

#[tokio::test]
async fn sqlite_files_are_private_and_a_second_server_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let server = Server::start_sqlite(BIN, "");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let db = server.db_path();
    assert_eq!(mode(db.parent().unwrap()), 0o700, "data directory");
    assert_eq!(mode(&db), 0o600, "database file");
    let mut wal = db.clone().into_os_string();
    wal.push("-wal");
    assert_eq!(mode(std::path::Path::new(&wal)), 0o600, "WAL file");

    let mut second = std::process::Command::new(BIN)
        .current_dir(server.dir())
        .args(["serve", "--http", "127.0.0.1:0", "--smpp", "", "--database-url", &server.database_url()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = second.kill();
            panic!("a second server on the same SQLite database kept running");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(second.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(!status.success());
    assert!(err.contains("another textbird server is using the database") && err.contains("textbird.db"), "{err}");
    let (status, _) = server.get(&server.admin.api_key, "/v1/account").await;
    assert_eq!(status, 200, "the first server is untouched");
}

#[tokio::test]
async fn backup_while_serving_restores_to_a_working_database() {
    use std::os::unix::fs::PermissionsExt;
    let server = Server::start_sqlite(BIN, "");
    let acme = server.create_account("Acme", "5", "NL");
    let (status, _) =
        server.post(&acme.api_key, "/v1/messages", &json!({"to": "+31612345678", "from": "Acme", "body": "Hi"})).await;
    assert_eq!(status, 201);
    let target = server.dir().join("copy").join("textbird.db");
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    let out = server.cli(&["backup", target.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::metadata(&target).unwrap().permissions().mode() & 0o777, 0o600);
    let again = server.cli(&["backup", target.to_str().unwrap()]);
    assert!(!again.status.success(), "an existing file is not overwritten");
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"), "{}", String::from_utf8_lossy(&again.stderr));

    // The copy opens as a database of its own, with the accounts and the message.
    let url = format!("sqlite://{}", target.display());
    let out = server.cli(&["accounts", "list", "--database-url", &url]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed = stdout(&out);
    assert!(listed.contains(&acme.id) && listed.contains(&server.admin.id), "{listed}");
    let out = server.cli(&["usage", "--database-url", &url, "--account", &acme.id]);
    assert!(stdout(&out).contains(r#""messages":1"#), "{}", stdout(&out));
}

fn textbird_in(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .env_remove("TEXTBIRD_CONFIG")
        .env_remove("TEXTBIRD_DATABASE_URL")
        .output()
        .unwrap()
}

#[test]
fn config_is_read_from_the_working_directory_only_and_shown_redacted() {
    let parent = tempfile::tempdir().unwrap();
    std::fs::write(parent.path().join("textbird.toml"), "[http]\nlisten = \"127.0.0.1:9999\"\n").unwrap();
    let child = parent.path().join("child");
    std::fs::create_dir(&child).unwrap();
    let out = textbird_in(&child, &["config", "show"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let shown: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_ne!(shown["http"]["listen"], "127.0.0.1:9999", "a parent directory's file is not read");
    let out = textbird_in(parent.path(), &["config", "show"]);
    let shown: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(shown["http"]["listen"], "127.0.0.1:9999", "./textbird.toml is read");

    let secret_config = "[database]\nurl = \"postgres://tb:hunter2pw@db.example:5432/tb\"\n\n\
        [secrets]\nkey = \"dGV4dGJpcmQtdGVzdC1zZWNyZXRzLWtleS0zMmJ5dGU=\"\n\n\
        [[connectors]]\nname = \"carrier\"\nkind = \"smpp\"\nhost = \"smsc.example\"\nport = 2775\n\
        system_id = \"tb\"\npassword = \"carrierpw\"\n";
    std::fs::write(child.join("other.toml"), secret_config).unwrap();
    let out = textbird_in(&child, &["config", "show", "--config", "other.toml"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    for secret in ["hunter2pw", "carrierpw", "dGV4dGJpcmQtdGVzdC1zZWNyZXRzLWtleS0zMmJ5dGU="] {
        assert!(!text.contains(secret), "{secret} is redacted:\n{text}");
    }
    assert!(text.contains("postgres://tb:<redacted>@db.example:5432/tb"), "{text}");
    assert!(text.contains("smsc.example"), "{text}");

    let out = textbird_in(&child, &["config", "check", "other.toml"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::write(child.join("bad.toml"), "[http]\nlisen = \"x\"\n").unwrap();
    let out = textbird_in(&child, &["config", "check", "bad.toml"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml") && err.contains("lisen"), "names the file and the key: {err}");
    let out = textbird_in(&child, &["config", "check", "missing.toml"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));
}

/// Dotted keys of the effective configuration with their values (JSON); keys of array
/// entries (`connectors[].name`) with `None`, as their defaults depend on the entry.
fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, Option<String>)>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&key, v, out);
            }
        }
        Value::Array(items) if items.first().is_some_and(Value::is_object) => {
            let mut fields = Vec::new();
            flatten("", &items[0], &mut fields);
            out.extend(fields.into_iter().map(|(k, _)| (format!("{prefix}[].{k}"), None)));
        }
        other => out.push((prefix.to_owned(), Some(other.to_string()))),
    }
}

#[test]
fn config_md_lists_every_key_with_its_default_and_the_sample_is_valid() {
    let empty = tempfile::tempdir().unwrap();
    let out = textbird_in(empty.path(), &["config", "show"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let defaults: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut keys = Vec::new();
    flatten("", &defaults, &mut keys);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let doc = std::fs::read_to_string(root.join("docs/CONFIG.md")).unwrap();
    let mut missing = Vec::new();
    for (key, value) in &keys {
        let row = doc.lines().find(|l| l.starts_with(&format!("| `{key}` |")));
        match (row, value) {
            (None, _) => missing.push(format!("{key} (default {})", value.as_deref().unwrap_or("-"))),
            (Some(row), Some(v)) if !row.contains(&format!("`{v}`")) => {
                missing.push(format!("{key}: the default is {v}, the row says {row}"));
            }
            _ => {}
        }
    }
    assert!(missing.is_empty(), "docs/CONFIG.md is out of step with the code:\n{}", missing.join("\n"));
    let sample = root.join("textbird.example.toml");
    let out = textbird_in(empty.path(), &["config", "check", sample.to_str().unwrap()]);
    assert!(out.status.success(), "the sample is valid: {}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn metrics_take_a_bearer_token_when_one_is_configured() {
    let server = Server::start(BIN, "[metrics]\ntoken = \"scrape-me\"\n");
    let r = Reply::read(server.raw("GET", "/metrics", &[], Vec::new()).await).await;
    assert_eq!(r.status, 401);
    let r = Reply::read(server.raw("GET", "/metrics", &[("authorization", "Bearer wrong")], Vec::new()).await).await;
    assert_eq!(r.status, 401);
    let r =
        Reply::read(server.raw("GET", "/metrics", &[("authorization", "Bearer scrape-me")], Vec::new()).await).await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains("# HELP textbird_build_info"), "{}", r.text);
}
