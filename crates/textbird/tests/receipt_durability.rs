//! Carrier receipts are acknowledged only once they are durable: an SMSC built with someone
//! else's SMPP software (npm `smpp`, `tests/peers/smsc.js`) sends 300 delivery receipts, the
//! server is killed with SIGKILL (by the SMSC) the moment the last `deliver_sm_resp` arrives, and after a
//! restart all 300 messages are final. A real SMSC never sends an acknowledged receipt again,
//! so any receipt answered before its commit would leave its message `submitted` for ever.
//! And a receipt that never comes: the message is given up on after its validity period plus
//! the grace period, with an event and a webhook.

use serde_json::{Value, json};
use textbird_test_support::{Peer, Server, WebhookSink, eventually};

const BIN: &str = env!("CARGO_BIN_EXE_textbird");
const MESSAGES: usize = 300;

fn carrier(port: u16) -> String {
    carrier_with(port, "")
}

fn carrier_with(port: u16, extra: &str) -> String {
    format!(
        r#"
[[connectors]]
name = "carrier"
kind = "smpp"
host = "127.0.0.1"
port = {port}
system_id = "textbird"
password = "secret"
bind = "transceiver"
window = 50
tps = 0

[[routes]]
prefix = ""
connector = "carrier"
{extra}"#
    )
}

async fn statuses(server: &Server, key: &str) -> Vec<Value> {
    server.all_messages(key, "").await
}

fn count(messages: &[Value], status: &str) -> usize {
    messages.iter().filter(|m| m["status"] == status).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_answered_before_a_kill_9_are_all_applied_after_the_restart() {
    // No automatic receipts: the test sends them once every message is submitted.
    let smsc = Peer::smsc(&["--dlr", "none"]);
    let mut server = Server::start(BIN, &carrier(smsc.port));
    let acme = server.create_account("Acme", "100", "NL");
    let to: Vec<String> = (0..MESSAGES).map(|i| format!("+3161{i:07}")).collect();
    let (status, sent) =
        server.post(&acme.api_key, "/v1/messages", &json!({"to": to, "from": "Acme", "body": "receipt me"})).await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["messages"].as_array().map(Vec::len), Some(MESSAGES), "{sent}");

    eventually(60, "every message to be submitted", || async {
        let all = statuses(&server, &acme.api_key).await;
        (count(&all, "submitted") == MESSAGES).then_some(())
    })
    .await;
    let accepted: Vec<String> = smsc
        .events_named("submit")
        .into_iter()
        .filter(|e| e["command_status"] == 0)
        .map(|e| e["message_id"].as_str().expect("carrier id").to_owned())
        .collect();
    assert_eq!(accepted.len(), MESSAGES, "one accepted submit_sm per message");

    // The SMSC kills the server itself the moment it has the last answer: nothing more gets a
    // chance to finish, as in a crash right after acknowledging.
    smsc.send(&json!({"cmd": "kill_after", "pid": server.pid(), "receipts": MESSAGES}));
    for id in &accepted {
        smsc.send(&json!({"cmd": "receipt", "id": id, "stat": "DELIVRD", "from": "+31610000000", "to": "Acme"}));
    }
    let answered = smsc
        .wait_count(60, MESSAGES, |e| {
            e["event"] == "deliver_sm_resp" && e["what"].as_str().is_some_and(|w| w.starts_with("receipt"))
        })
        .await;
    smsc.wait_event(10, "killed").await;
    tokio::task::block_in_place(|| server.kill9());
    let refused = answered.iter().filter(|e| e["command_status"] != 0).count();
    assert_eq!(refused, 0, "every receipt answered 0 while the database works: {answered:?}");

    server.restart();
    // Nothing would make a lost receipt's message final, so wait a while, then count.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let delivered = loop {
        let delivered = count(&statuses(&server, &acme.api_key).await, "delivered");
        if delivered == MESSAGES || std::time::Instant::now() > deadline {
            break delivered;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(delivered, MESSAGES, "messages final after the restart (the rest stay submitted for ever)");
    eprintln!("{delivered}/{MESSAGES} messages delivered after a kill -9 right after their receipts were answered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_whose_receipt_never_comes_becomes_unknown_after_validity_and_grace() {
    let smsc = Peer::smsc(&["--dlr", "none"]);
    let server = Server::start(BIN, &carrier_with(smsc.port, "\n[messages]\nreceipt_grace_secs = 1\n"));
    let acme = server.create_account("Acme", "10", "NL");
    let sink = WebhookSink::start(vec![]).await;
    let (status, hook) =
        server.post(&acme.api_key, "/v1/webhooks", &json!({"url": sink.url, "events": ["message.unknown"]})).await;
    assert_eq!(status, 201, "{hook}");
    let body = json!({"to": "+31612345678", "from": "Acme", "body": "no receipt", "validity_period": 2});
    let (status, sent) = server.post(&acme.api_key, "/v1/messages", &body).await;
    assert_eq!(status, 201, "{sent}");
    let id = sent["messages"][0]["id"].as_str().expect("id").to_owned();
    let path = format!("/v1/messages/{id}");
    eventually(30, "the message to be submitted", || async {
        let (_, m) = server.get(&acme.api_key, &path).await;
        (m["status"] == "submitted" || m["status"] == "unknown").then_some(())
    })
    .await;
    // Validity 2 s, grace 1 s, and the sweep runs every 10 s.
    let m = eventually(40, "the message to be given up on", || async {
        let (_, m) = server.get(&acme.api_key, &path).await;
        (m["status"] == "unknown").then_some(m)
    })
    .await;
    assert_eq!(m["error"]["code"], "no_receipt", "{m}");
    let events: Vec<&str> =
        m["events"].as_array().expect("events").iter().filter_map(|e| e["status"].as_str()).collect();
    assert_eq!(events.last(), Some(&"unknown"), "{m}");
    let hook =
        eventually(20, "the message.unknown webhook", || async { sink.events("message.unknown").into_iter().next() })
            .await;
    assert_eq!(hook.json()["data"]["id"], id.as_str());
    let (_, account) = server.get(&acme.api_key, "/v1/account").await;
    assert_eq!(account["balance"], "9.9950", "not refunded: the carrier took it");
}
