//! Carrier receipts are acknowledged only once they are durable: an SMSC built with someone
//! else's SMPP software (npm `smpp`, `tests/peers/smsc.js`) sends 300 delivery receipts, the
//! server is killed with SIGKILL (by the SMSC) the moment the last `deliver_sm_resp` arrives, and after a
//! restart all 300 messages are final. A real SMSC never sends an acknowledged receipt again,
//! so any receipt answered before its commit would leave its message `submitted` for ever.

use serde_json::{Value, json};
use textbird_test_support::{Peer, Server, eventually};

const BIN: &str = env!("CARGO_BIN_EXE_textbird");
const MESSAGES: usize = 300;

fn carrier(port: u16) -> String {
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
"#
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
