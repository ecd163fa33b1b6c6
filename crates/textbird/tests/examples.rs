//! The programs in `examples/` run against a real server: the quickstart sends a message and
//! follows it to `delivered`, and each webhook receiver (Python, Node.js, Go) verifies the
//! signatures of real deliveries and refuses a forged one.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use textbird_test_support::{Server, eventually};

const BIN: &str = env!("CARGO_BIN_EXE_textbird");

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// A child process whose stdout lines are collected as they come; killed when dropped.
struct Program {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Program {
    fn start(cmd: &[&str], env: &[(&str, &str)]) -> Program {
        let mut command = Command::new(cmd[0]);
        command.args(&cmd[1..]).stdout(Stdio::piped()).stderr(Stdio::inherit());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {cmd:?} (is it installed? scripts/test installs it): {e}"));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().expect("piped stdout");
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Program { child, lines }
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// The port from the `listening on PORT` line every receiver prints first.
    async fn port(&self) -> u16 {
        eventually(60, "the receiver to listen", || async {
            self.lines().iter().find_map(|l| l.strip_prefix("listening on ").map(|p| p.trim().parse().unwrap()))
        })
        .await
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn quickstart_sends_a_message_and_follows_it_to_delivered() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let script = examples().join("quickstart.py");
    let out = tokio::task::spawn_blocking({
        let base = server.url("");
        let key = acme.api_key.clone();
        move || {
            Command::new("python3")
                .arg(script)
                .arg("+31612345678")
                .env("TEXTBIRD_URL", base.trim_end_matches('/'))
                .env("TEXTBIRD_API_KEY", key)
                .output()
                .expect("python3 runs")
        }
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "quickstart failed: {stdout} {}", String::from_utf8_lossy(&out.stderr));
    let statuses: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(statuses.first().unwrap()["status"], "queued", "{stdout}");
    assert_eq!(statuses.last().unwrap()["status"], "delivered", "{stdout}");
    let id = statuses[0]["id"].as_str().unwrap();
    let (status, message) = server.get(&acme.api_key, &format!("/v1/messages/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(message["status"], "delivered");

    // With a wrong key it reports the problem and exits 2.
    let script = examples().join("quickstart.py");
    let base = server.url("");
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(script)
            .env("TEXTBIRD_URL", base.trim_end_matches('/'))
            .env("TEXTBIRD_API_KEY", "tb_wrong")
            .output()
            .expect("python3 runs")
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/problems/unauthorized"));
}

/// Creates an endpoint for `message.delivered` at the receiver, sends a message, and checks that
/// the receiver printed that delivery as verified and refuses a forged request.
async fn receiver_verifies_deliveries(cmd: &[&str]) {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    // The secret is shown when the endpoint is created, and the receiver needs it at start: so
    // take a free port first, then start the receiver on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let created = server
        .request(
            "POST",
            &acme.api_key,
            "/v1/webhooks",
            Some(&json!({"url": format!("http://127.0.0.1:{port}/hook"), "events": ["message.delivered"]})),
            &[],
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let secret = created.body["secret"].as_str().unwrap().to_owned();
    let port_arg = port.to_string();
    let mut args: Vec<&str> = cmd.to_vec();
    args.push(&port_arg);
    let receiver = Program::start(&args, &[("TEXTBIRD_WEBHOOK_SECRET", &secret)]);
    assert_eq!(receiver.port().await, port);

    let sent = server
        .request(
            "POST",
            &acme.api_key,
            "/v1/messages",
            Some(&json!({"to": "+31612345678", "from": "Acme", "body": "Hi"})),
            &[],
        )
        .await;
    assert_eq!(sent.status, 201, "{:?}", sent.body);
    let id = sent.body["messages"][0]["id"].as_str().unwrap().to_owned();
    let event: Value = eventually(60, "the receiver to print the verified delivery", || async {
        receiver.lines().iter().filter_map(|l| serde_json::from_str::<Value>(l).ok()).find(|e| e["data"]["id"] == id)
    })
    .await;
    assert_eq!(event["verified"], true);
    assert_eq!(event["type"], "message.delivered");
    assert_eq!(event["data"]["status"], "delivered");

    // A forged signature, a stale timestamp and a missing signature are refused.
    let http = reqwest::Client::new();
    let now = jiff::Timestamp::now().as_second();
    for (ts, sig) in [(now, "v1,Zm9yZ2Vk"), (now - 3600, "v1,Zm9yZ2Vk"), (now, "")] {
        let res = http
            .post(format!("http://127.0.0.1:{port}/hook"))
            .header("webhook-id", "msg_forged")
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", sig)
            .body(r#"{"type":"message.delivered","data":{"id":"forged"}}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{ts} {sig:?}");
    }
    assert!(!receiver.lines().iter().any(|l| l.contains("forged")));
}

#[tokio::test]
async fn python_webhook_receiver_verifies_signatures() {
    let script = examples().join("webhooks/python/receiver.py");
    receiver_verifies_deliveries(&["python3", script.to_str().unwrap()]).await;
}

#[tokio::test]
async fn node_webhook_receiver_verifies_signatures() {
    let script = examples().join("webhooks/node/receiver.js");
    receiver_verifies_deliveries(&["node", script.to_str().unwrap()]).await;
}

#[tokio::test]
async fn go_webhook_receiver_verifies_signatures() {
    // Built first and run directly: `go run` would leave its compiled child behind when killed.
    let script = examples().join("webhooks/go/receiver.go");
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("receiver");
    let built = Command::new("go")
        .args(["build", "-o", exe.to_str().unwrap(), script.to_str().unwrap()])
        .env("GO111MODULE", "off")
        .status()
        .unwrap_or_else(|e| panic!("cannot run go (scripts/test installs golang-go): {e}"));
    assert!(built.success(), "go build failed");
    receiver_verifies_deliveries(&[exe.to_str().unwrap()]).await;
}
