//! Secrets at rest (RELIABILITY.md, Secrets at rest): webhook signing secrets and callback
//! secrets are stored sealed, deliveries are still signed with the secret the API showed,
//! plain rows from before encryption are sealed at start, a key rotation keeps everything
//! readable, and a sealed SMPP connector password binds to a real SMSC (npm `smpp`).

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use textbird_test_support::{Account, Peer, Server, WebhookSink, eventually};

const BIN: &str = env!("CARGO_BIN_EXE_textbird");
const KEY_A: &str = "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=";
const KEY_B: &str = "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=";

async fn subscribe(server: &Server, key: &str, url: &str) -> Value {
    let body = json!({"url": url, "events": ["message.delivered"]});
    let (status, hook) = server.post(key, "/v1/webhooks", &body).await;
    assert_eq!(status, 201, "{hook}");
    hook
}

async fn send(server: &Server, key: &str) {
    let (status, sent) =
        server.post(key, "/v1/messages", &json!({"to": "+31612345678", "from": "Acme", "body": "Hi"})).await;
    assert_eq!(status, 201, "{sent}");
}

/// Sends a message and waits for its `message.delivered` webhook; whether it verifies with
/// `secret`.
async fn delivered_and_signed(server: &Server, account: &Account, sink: &WebhookSink, secret: &str) -> bool {
    let before = sink.events("message.delivered").len();
    send(server, &account.api_key).await;
    let got = eventually(30, "the delivered webhook", || async {
        let got = sink.events("message.delivered");
        (got.len() > before).then_some(got)
    })
    .await;
    got.last().unwrap().verify(secret)
}

fn stored(server: &Server, sql: &str) -> String {
    server.sql(sql).unwrap_or_default()
}

#[tokio::test]
async fn webhook_and_callback_secrets_are_stored_sealed_and_still_sign() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let sink = WebhookSink::start(vec![]).await;
    let hook = subscribe(&server, &acme.api_key, &sink.url).await;
    let secret = hook["secret"].as_str().unwrap();
    let column = stored(&server, &format!("SELECT secret FROM webhooks WHERE id = '{}'", hook["id"].as_str().unwrap()));
    assert!(column.starts_with("tbsec1:"), "sealed: {column}");
    assert!(!column.contains(secret.trim_start_matches("whsec_")), "no plain text in the database");
    let callback = acme.json["callback_secret"].as_str().unwrap();
    let column = stored(&server, &format!("SELECT callback_secret FROM accounts WHERE id = '{}'", acme.id));
    assert!(column.starts_with("tbsec1:") && !column.contains(callback.trim_start_matches("whsec_")), "{column}");
    assert!(delivered_and_signed(&server, &acme, &sink, secret).await, "signed with the secret shown at creation");
    if !server.on_postgres() {
        let key = server.dir().join("data").join("secrets.key");
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&key).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600, "the key made on first start is its owner's only");
    }
}

#[tokio::test]
async fn plain_secrets_from_before_encryption_are_sealed_at_start_and_keep_working() {
    let mut server = Server::start(BIN, &format!("[secrets]\nkey = \"{KEY_A}\"\n"));
    let acme = server.create_account("Acme", "10", "NL");
    let sink = WebhookSink::start(vec![]).await;
    let hook = subscribe(&server, &acme.api_key, &sink.url).await;
    let id = hook["id"].as_str().unwrap().to_owned();
    // A database written before encryption: the secret in plain text.
    let plain = "whsec_cGxhaW4tdGV4dC1zZWNyZXQtZnJvbS1iZWZvcmU=";
    server.terminate();
    server.sql(&format!("UPDATE webhooks SET secret = '{plain}' WHERE id = '{id}'"));
    server.restart();
    let column = stored(&server, &format!("SELECT secret FROM webhooks WHERE id = '{id}'"));
    assert!(column.starts_with("tbsec1:"), "sealed at start: {column}");
    assert!(delivered_and_signed(&server, &acme, &sink, plain).await, "still signs with the same secret");
}

#[tokio::test]
async fn a_key_rotation_keeps_every_secret_readable_and_moves_them_to_the_new_key() {
    let mut server = Server::start(BIN, &format!("[secrets]\nkey = \"{KEY_A}\"\n"));
    let acme = server.create_account("Acme", "10", "NL");
    let sink = WebhookSink::start(vec![]).await;
    let hook = subscribe(&server, &acme.api_key, &sink.url).await;
    let (id, secret) = (hook["id"].as_str().unwrap().to_owned(), hook["secret"].as_str().unwrap().to_owned());
    let sealed_a = stored(&server, &format!("SELECT secret FROM webhooks WHERE id = '{id}'"));
    let config = server.dir().join("textbird.toml");
    let base = std::fs::read_to_string(&config).unwrap();

    // The new key, with the old one still readable: the start re-seals under the new key.
    server.terminate();
    let rotated =
        base.replace(&format!("key = \"{KEY_A}\""), &format!("key = \"{KEY_B}\"\nprevious_keys = [\"{KEY_A}\"]"));
    std::fs::write(&config, &rotated).unwrap();
    server.restart();
    let sealed_b = stored(&server, &format!("SELECT secret FROM webhooks WHERE id = '{id}'"));
    let key_id = |v: &str| v.split(':').nth(1).unwrap_or_default().to_owned();
    assert_ne!(key_id(&sealed_a), key_id(&sealed_b), "sealed under the new key: {sealed_a} -> {sealed_b}");
    let out = server.cli(&["secrets", "rotate"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (report["resealed"].as_u64(), report["key"].as_str()),
        (Some(0), Some(key_id(&sealed_b).as_str())),
        "{report}"
    );
    assert!(delivered_and_signed(&server, &acme, &sink, &secret).await);

    // The old key dropped: nothing needs it any more.
    server.terminate();
    std::fs::write(&config, base.replace(&format!("key = \"{KEY_A}\""), &format!("key = \"{KEY_B}\""))).unwrap();
    server.restart();
    assert!(delivered_and_signed(&server, &acme, &sink, &secret).await, "readable without the old key");
}

#[tokio::test]
async fn a_sealed_connector_password_binds_to_the_carrier() {
    let seal = |value: &str| {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(BIN)
            .args(["secrets", "seal", "--data-dir"])
            .arg(dir.path())
            .env("TEXTBIRD_SECRETS__KEY", KEY_A)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{value}").unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let sealed = seal("secret");
    assert!(sealed.starts_with("tbsec1:") && !sealed.contains("secret"), "{sealed}");
    let smsc = Peer::smsc(&["--password", "secret"]);
    let config = format!(
        "[secrets]\nkey = \"{KEY_A}\"\n\n[[connectors]]\nname = \"carrier\"\nkind = \"smpp\"\nhost = \"127.0.0.1\"\nport = {}\n\
         system_id = \"textbird\"\npassword = \"{sealed}\"\n\n[[routes]]\nprefix = \"\"\nconnector = \"carrier\"\n",
        smsc.port
    );
    let server = Server::start(BIN, &config);
    let acme = server.create_account("Acme", "10", "NL");
    send(&server, &acme.api_key).await;
    let bind = smsc.wait_event(30, "bind").await;
    assert_eq!(bind["ok"], true, "the carrier accepted the opened password: {bind}");
    smsc.wait_event(30, "submit").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
}
