//! The operator interface contract: health, Prometheus metrics, the `OpenAPI` document and a
//! self-contained docs page; the admin account printed on first start; the `accounts`,
//! `rates` and `migrate` commands with their output shapes and `--help`; and a database
//! newer than the binary refused with a clear message.

use std::process::Command;

use serde_json::{Value, json};
use textbird_test_support::{Reply, Server, eventually};

const BIN: &str = env!("CARGO_BIN_EXE_textbird");

async fn fetch(server: &Server, path: &str) -> Reply {
    Reply::read(server.raw("GET", path, &[], Vec::new()).await).await
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn healthz_answers_200_without_credentials() {
    let server = Server::start(BIN, "");
    let r = fetch(&server, "/healthz").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "ok");
}

#[tokio::test]
async fn metrics_expose_message_queue_http_and_latency_series() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let (_, sent) =
        server.post(&acme.api_key, "/v1/messages", &json!({"to": "+31612345678", "from": "Acme", "body": "Hi"})).await;
    let id = sent["messages"][0]["id"].as_str().unwrap().to_owned();
    eventually(10, "delivered", || async {
        let (_, m) = server.get(&acme.api_key, &format!("/v1/messages/{id}")).await;
        (m["status"] == "delivered").then_some(())
    })
    .await;
    let r = fetch(&server, "/metrics").await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").is_some_and(|c| c.starts_with("text/plain")));
    let text = r.text;
    for series in [
        "textbird_messages_total{status=\"delivered\"} 1",
        "textbird_messages_total{status=\"queued\"} 1",
        "textbird_queue_depth",
        "textbird_http_requests_total{",
        "textbird_dispatch_latency_seconds_count 1",
    ] {
        assert!(text.contains(series), "{series} missing from /metrics:\n{text}");
    }
    assert!(text.contains("route=\"/v1/messages/{id}\""), "routes are labelled by template:\n{text}");
    assert!(!text.contains(&id), "no message id in metric labels");
    assert!(!text.contains(&acme.api_key), "no key in metrics");
}

#[tokio::test]
async fn openapi_document_lists_the_native_api() {
    let server = Server::start(BIN, "");
    let r = fetch(&server, "/openapi.json").await;
    assert_eq!(r.status, 200);
    let doc: Value = serde_json::from_str(&r.text).expect("valid JSON");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "{}", doc["openapi"]);
    for path in ["/v1/messages", "/v1/messages/{id}", "/v1/webhooks", "/v1/webhooks/{id}/rotate-secret", "/v1/account"]
    {
        assert!(doc["paths"].get(path).is_some(), "{path} is documented");
    }
    assert!(doc["paths"]["/v1/messages"]["post"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test]
async fn docs_page_renders_from_local_assets() {
    let server = Server::start(BIN, "");
    let page = fetch(&server, "/docs").await;
    assert_eq!(page.status, 200, "/docs (redirects followed)");
    let page = fetch(&server, "/docs/").await;
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").is_some_and(|c| c.starts_with("text/html")));
    let html = page.text;
    let assets: Vec<String> = ["src=\"", "href=\""]
        .iter()
        .flat_map(|attr| html.split(attr).skip(1).map(|rest| rest.split('"').next().unwrap_or_default().to_owned()))
        .collect();
    assert!(assets.iter().any(|a| a.contains(".js")), "the page loads scripts: {assets:?}");
    for asset in &assets {
        assert!(!asset.starts_with("http") && !asset.starts_with("//"), "{asset} is not served locally");
        let path = match asset.strip_prefix("./") {
            Some(rel) => format!("/docs/{rel}"),
            None if asset.starts_with('/') => asset.clone(),
            None => format!("/docs/{asset}"),
        };
        let r = fetch(&server, &path).await;
        assert_eq!(r.status, 200, "{path}");
        assert!(!r.text.is_empty(), "{path}");
    }
    let init = fetch(&server, "/docs/swagger-initializer.js").await;
    assert!(init.text.contains("/openapi.json"), "the page renders our document:\n{}", init.text);
}

#[tokio::test]
async fn first_start_prints_a_working_admin_account_once() {
    let mut server = Server::start(BIN, "");
    let admin = server.admin.clone();
    let (status, account) = server.get(&admin.api_key, "/v1/account").await;
    assert_eq!(status, 200, "{account}");
    assert_eq!(account["username"], "admin");
    assert_eq!(account["id"].as_str(), Some(admin.id.as_str()));
    server.kill9();
    server.restart();
    let out = server.cli(&["accounts", "list"]);
    let lines: Vec<Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    assert_eq!(lines.len(), 1, "a restart creates no second admin: {lines:?}");
    let (status, _) = server.get(&admin.api_key, "/v1/account").await;
    assert_eq!(status, 200, "the admin key survives a restart");
}

#[tokio::test]
async fn accounts_create_prints_every_credential_and_each_works() {
    let server = Server::start(BIN, "");
    let out = server.cli(&["accounts", "create", "--name", "Zed Ltd", "--balance", "5", "--country", "nl"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "exactly one JSON object: {text}");
    let created: Value = serde_json::from_str(text.trim()).expect("JSON");
    for key in ["id", "api_key", "api_token", "username", "password", "client_id", "client_secret"] {
        assert!(created[key].as_str().is_some_and(|v| !v.is_empty()), "{key} in {created}");
    }
    let api_key = created["api_key"].as_str().unwrap();
    assert!(api_key.starts_with("tbk_") && api_key.len() >= 36, "recognisable, ≥ 128 bits: {api_key}");
    let token = created["api_token"].as_str().unwrap();
    let (n, random) = token.split_once('|').expect("N|random");
    assert!(n.parse::<u64>().is_ok() && random.len() >= 20, "{token}");
    for bearer in [api_key, token] {
        let (status, account) = server.get(bearer, "/v1/account").await;
        assert_eq!(status, 200, "{account}");
        assert_eq!((account["balance"].as_str(), account["country"].as_str()), (Some("5.0000"), Some("NL")));
    }
    for not_bearer in ["password", "client_secret", "client_id", "username"] {
        let (status, _) = server.get(created[not_bearer].as_str().unwrap(), "/v1/account").await;
        assert_eq!(status, 401, "{not_bearer} is not a bearer credential");
    }
    for bad in [["--country", "XX"], ["--balance", "-5"], ["--balance", "lots"], ["--timezone", "Mars/Base"]] {
        let arg = format!("{}={}", bad[0], bad[1]);
        let out = server.cli(&["accounts", "create", "--name", "Bad", &arg]);
        assert!(!out.status.success(), "{bad:?} refused");
        assert!(stdout(&out).is_empty(), "nothing printed as if created");
        let field = bad[0].trim_start_matches("--");
        assert!(stderr(&out).contains(field), "{bad:?}: {}", stderr(&out));
    }
}

#[tokio::test]
async fn accounts_list_and_credit_work_while_the_server_runs() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "5", "NL");
    let out = server.cli(&["accounts", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    let ids: Vec<&str> = lines.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [server.admin.id.as_str(), acme.id.as_str()]);
    assert_eq!(lines[1]["balance"], "5.0000");
    for line in &lines {
        for secret in ["api_key", "api_token", "password", "password_hash", "client_secret", "callback_secret"] {
            assert!(line.get(secret).is_none(), "accounts list must not print {secret}");
        }
    }
    let out = server.cli(&["accounts", "credit", "--id", &acme.id, "--amount", "2.5"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed: Value = serde_json::from_str(stdout(&out).trim()).expect("JSON");
    assert_eq!(printed["balance"], "7.5000");
    assert_eq!(server.balance(&acme.api_key).await, "7.5000", "the running server sees it at once");
    let out = server.cli(&["accounts", "credit", "--id", &acme.id, "--amount", "-1.25"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(server.balance(&acme.api_key).await, "6.2500");
    let out = server.cli(&["accounts", "credit", "--id", "no-such-account", "--amount", "1"]);
    assert!(!out.status.success());
    let out = server.cli(&["migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("up to date"));
}

#[test]
fn help_works_on_every_command() {
    let commands: [&[&str]; 10] = [
        &[],
        &["serve"],
        &["migrate"],
        &["accounts"],
        &["accounts", "create"],
        &["accounts", "list"],
        &["accounts", "credit"],
        &["rates"],
        &["rates", "import"],
        &["rates", "list"],
    ];
    for args in commands {
        let out = Command::new(BIN).args(args).arg("--help").output().expect("run textbird");
        assert!(out.status.success(), "{args:?} --help: {}", stderr(&out));
        let text = stdout(&out);
        assert!(text.contains("Usage:"), "{args:?} --help:\n{text}");
    }
    let out = Command::new(BIN).arg("--version").output().expect("run");
    assert!(stdout(&out).starts_with("textbird "), "{}", stdout(&out));
    let out = Command::new(BIN).arg("frobnicate").output().expect("run");
    assert!(!out.status.success(), "unknown commands fail");
}

#[tokio::test]
async fn a_database_newer_than_the_binary_is_refused() {
    let mut server = Server::start(BIN, "");
    server.kill9();
    let checksum = if server.on_postgres() { "decode('00', 'hex')" } else { "X'00'" };
    server.sql(&format!(
        "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time) \
         VALUES (99999999999999, 'from the future', CURRENT_TIMESTAMP, TRUE, {checksum}, 0)"
    ));
    for args in [&["migrate"][..], &["accounts", "list"][..]] {
        let out = server.cli(args);
        assert!(!out.status.success(), "{args:?} must refuse a newer schema");
        let err = stderr(&out);
        assert!(err.contains("newer") && err.contains("99999999999999"), "{args:?}: {err}");
    }
}

#[test]
fn sigterm_right_after_the_listening_line_is_a_clean_shutdown() {
    // Scripts treat `Listening on` as readiness; a SIGTERM from then on must shut down
    // gracefully (exit 0), not kill the process with the signal's default action.
    for _ in 0..5 {
        let mut server = Server::start(BIN, "");
        server.terminate();
    }
}

#[test]
fn migrate_creates_the_same_schema_on_an_empty_postgresql_database() {
    let Some(db) = textbird_test_support::postgres::scratch("migrate_creates_the_same_schema") else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite_url = format!("sqlite://{}", dir.path().join("textbird.db").display());
    for url in [&db.url, &sqlite_url] {
        let out = Command::new(BIN).args(["migrate", "--database-url", url]).output().expect("run");
        assert!(out.status.success(), "{url}: {}", stderr(&out));
        assert!(stdout(&out).contains("up to date"), "{}", stdout(&out));
    }
    let pg = textbird_test_support::postgres::query;
    let versions = "SELECT count(*) FROM _sqlx_migrations WHERE success";
    assert_eq!(pg(&db.url, versions), pg(&sqlite_url, versions), "the same migrations on both");
    // The same tables with the same columns, in the same order.
    let pg_columns = pg(
        &db.url,
        "SELECT string_agg(table_name || '.' || column_name, ',' ORDER BY table_name COLLATE \"C\", ordinal_position) \
         FROM information_schema.columns WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'",
    )
    .expect("columns");
    let sqlite_columns = pg(
        &sqlite_url,
        "SELECT group_concat(t.name || '.' || c.name, ',') FROM (SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE '\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite%' ORDER BY name) t, pragma_table_info(t.name) c",
    )
    .expect("columns");
    assert_eq!(pg_columns, sqlite_columns);
    // A second run has nothing left to do.
    let out = Command::new(BIN).args(["migrate", "--database-url", &db.url]).output().expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
}
