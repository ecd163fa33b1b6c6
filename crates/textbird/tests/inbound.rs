//! Inbound messages: a message to an owned number is stored and announced by a signed
//! `message.received` webhook; whole-message STOP keywords opt the sender out (a later send to
//! them is refused and not charged) and START opts back in; opt-outs can be managed over the
//! API; HELP gets a free automatic reply; a number belongs to one account only.

use serde_json::{Value, json};
use textbird_test_support::{Server, WebhookSink, assert_problem, eventually};

const BIN: &str = env!("CARGO_BIN_EXE_textbird");
const OURS: &str = "+31687654321";

async fn server_with_number() -> (Server, String) {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let (status, n) = server.post(&acme.api_key, "/v1/numbers", &json!({"number": "0687654321"})).await;
    assert_eq!(status, 201, "{n}");
    assert_eq!(n["number"], OURS, "local form normalised in the account's country");
    (server, acme.api_key)
}

async fn inject(server: &Server, key: &str, from: &str, body: &str) {
    let r = server
        .request("POST", key, "/v1/simulator/inbound", Some(&json!({"from": from, "to": OURS, "body": body})), &[])
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
}

/// Waits until the account has received `n` inbound messages; returns them, newest first.
async fn inbound(server: &Server, key: &str, n: usize) -> Vec<Value> {
    eventually(10, &format!("{n} inbound messages"), || async {
        let (_, page) = server.get(key, "/v1/inbound").await;
        let data = page["data"].as_array()?.clone();
        (data.len() == n).then_some(data)
    })
    .await
}

async fn opted_out(server: &Server, key: &str) -> Vec<String> {
    let (status, page) = server.get(key, "/v1/opt-outs").await;
    assert_eq!(status, 200, "{page}");
    page["data"].as_array().unwrap().iter().map(|o| o["phone"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn inbound_is_listed_and_announced_by_a_signed_webhook() {
    let (server, key) = server_with_number().await;
    let sink = WebhookSink::start(vec![]).await;
    let (status, hook) =
        server.post(&key, "/v1/webhooks", &json!({"url": sink.url, "events": ["message.received"]})).await;
    assert_eq!(status, 201, "{hook}");
    let (_, numbers) = server.get(&key, "/v1/numbers").await;
    assert_eq!(numbers[0]["number"], OURS);
    let (status, sent) = server.post(&key, "/v1/messages", &json!({"to": "+31612345678", "body": "Hi"})).await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["messages"][0]["from"], OURS, "an owned number is the default sender");

    inject(&server, &key, "0612345678", "Hello there").await;
    let got = inbound(&server, &key, 1).await;
    let m = &got[0];
    assert_eq!(
        (m["from"].as_str(), m["to"].as_str(), m["body"].as_str()),
        (Some("+31612345678"), Some(OURS), Some("Hello there"))
    );
    assert!(m["keyword"].is_null(), "{m}");
    assert_eq!(m["connector"], "simulator");
    let received = eventually(10, "message.received webhook", || async { sink.events("message.received").pop() }).await;
    assert!(received.verify(hook["secret"].as_str().unwrap()), "signed with the endpoint secret");
    let data = &received.json()["data"];
    assert_eq!(data["id"], m["id"]);
    assert_eq!(data["body"], "Hello there");
    assert_eq!(data["from"], "+31612345678");

    let to_nobody = json!({"from": "+31612345678", "to": "+31687650000", "body": "hi"});
    let r = server.request("POST", &key, "/v1/simulator/inbound", Some(&to_nobody), &[]).await;
    assert_problem(&r, 404);
    let bad = json!({"from": "not a number", "to": OURS, "body": "hi"});
    let r = server.request("POST", &key, "/v1/simulator/inbound", Some(&bad), &[]).await;
    assert_eq!(assert_problem(&r, 422)["errors"][0]["field"], "from");
    assert_eq!(inbound(&server, &key, 1).await.len(), 1);
}

#[tokio::test]
async fn stop_keywords_opt_out_and_later_sends_are_refused_free_of_charge() {
    let (server, key) = server_with_number().await;
    let senders = [
        ("+31612345671", "STOP"),
        ("+31612345672", " stop "),
        ("+31612345673", "Unsubscribe"),
        ("+31612345674", "STOP PLEASE"),
        ("+31612345675", "please stop"),
    ];
    for (from, body) in senders {
        inject(&server, &key, from, body).await;
    }
    let got = inbound(&server, &key, senders.len()).await;
    for m in &got {
        let expected = if m["from"].as_str().unwrap() <= "+31612345673" { json!("stop") } else { Value::Null };
        assert_eq!(m["keyword"], expected, "{m}");
    }
    assert_eq!(opted_out(&server, &key).await, ["+31612345671", "+31612345672", "+31612345673"]);

    let before = server.balance(&key).await;
    let to = ["+31612345671", "+31612345674", "+31612345672", "+31612345675", "+31612345673"];
    let (status, sent) = server.post(&key, "/v1/messages", &json!({"to": to, "from": "Acme", "body": "Sale!"})).await;
    assert_eq!(status, 201, "{sent}");
    let sent_to: Vec<&str> = sent["messages"].as_array().unwrap().iter().map(|m| m["to"].as_str().unwrap()).collect();
    assert_eq!(sent_to, ["+31612345674", "+31612345675"]);
    let errors: Vec<(u64, &str, &str)> = sent["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["index"].as_u64().unwrap(), e["to"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        errors,
        [(0, "+31612345671", "opted_out"), (2, "+31612345672", "opted_out"), (4, "+31612345673", "opted_out")]
    );
    assert_eq!(sent["total_price"], "0.0100");
    let expected = format!("{:.4}", before.parse::<f64>().unwrap() - 0.01);
    assert_eq!(server.balance(&key).await, expected, "only the two sent messages are charged");

    let r = server
        .request("POST", &key, "/v1/messages", Some(&json!({"to": "0612345671", "from": "Acme", "body": "x"})), &[])
        .await;
    let p = assert_problem(&r, 422);
    assert_eq!(p["errors"][0]["field"], "to[0]");
    assert!(p["errors"][0]["message"].as_str().unwrap().contains("opted_out"), "{p}");
    assert_eq!(server.balance(&key).await, expected);
    assert_eq!(server.all_messages(&key, "").await.len(), 2);
}

#[tokio::test]
async fn start_opts_back_in() {
    let (server, key) = server_with_number().await;
    inject(&server, &key, "+31612345671", "STOP").await;
    inbound(&server, &key, 1).await;
    assert_eq!(opted_out(&server, &key).await, ["+31612345671"]);
    inject(&server, &key, "+31612345671", "Start").await;
    let got = inbound(&server, &key, 2).await;
    assert_eq!(got[0]["keyword"], "start");
    assert!(opted_out(&server, &key).await.is_empty());
    let (status, sent) =
        server.post(&key, "/v1/messages", &json!({"to": "+31612345671", "from": "Acme", "body": "Welcome back"})).await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["errors"], json!([]));
}

#[tokio::test]
async fn opt_outs_are_managed_over_the_api() {
    let (server, key) = server_with_number().await;
    let (status, added) = server.post(&key, "/v1/opt-outs", &json!({"phone": "0612345670"})).await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(added["phone"], "+31612345670");
    let (status, _) = server.post(&key, "/v1/opt-outs", &json!({"phone": "+31612345670"})).await;
    assert_eq!(status, 201, "adding twice is harmless");
    assert_eq!(opted_out(&server, &key).await, ["+31612345670"]);
    let body = json!({"to": "+31612345670", "from": "Acme", "body": "Hi"});
    let (status, _) = server.post(&key, "/v1/messages", &body).await;
    assert_eq!(status, 422, "refused while opted out");

    let (status, _) = server.delete(&key, "/v1/opt-outs/%2B31612345670").await;
    assert_eq!(status, 204);
    assert!(opted_out(&server, &key).await.is_empty());
    let (status, sent) = server.post(&key, "/v1/messages", &body).await;
    assert_eq!(status, 201, "{sent}");
    let r = server.request("DELETE", &key, "/v1/opt-outs/%2B31612345670", None, &[]).await;
    assert_problem(&r, 404);
    let r = server.request("POST", &key, "/v1/opt-outs", Some(&json!({"phone": "12"})), &[]).await;
    assert_eq!(assert_problem(&r, 422)["errors"][0]["field"], "phone");
}

#[tokio::test]
async fn a_number_belongs_to_one_account() {
    let (server, key) = server_with_number().await;
    let other = server.create_account("Other", "10", "NL");
    let r = server.request("POST", &other.api_key, "/v1/numbers", Some(&json!({"number": OURS})), &[]).await;
    assert_problem(&r, 409);
    let (_, numbers) = server.get(&other.api_key, "/v1/numbers").await;
    assert_eq!(numbers, json!([]));
    let (status, _) = server.post(&key, "/v1/numbers", &json!({"number": OURS})).await;
    assert_eq!(status, 201, "the owner adding it again is harmless");
    let (status, _) = server.delete(&key, "/v1/numbers/%2B31687654321").await;
    assert_eq!(status, 204);
    let (status, n) = server.post(&other.api_key, "/v1/numbers", &json!({"number": OURS})).await;
    assert_eq!(status, 201, "released numbers can be taken: {n}");
}

#[tokio::test]
async fn help_gets_a_free_automatic_reply() {
    let (server, key) = server_with_number().await;
    inject(&server, &key, "+31612345678", "help").await;
    let got = inbound(&server, &key, 1).await;
    assert_eq!(got[0]["keyword"], "help");
    let reply = eventually(10, "HELP reply delivered", || async {
        let all = server.all_messages(&key, "").await;
        all.into_iter().find(|m| m["status"] == "delivered")
    })
    .await;
    assert_eq!(reply["to"], "+31612345678");
    assert_eq!(reply["from"], OURS);
    assert_eq!(reply["body"], "Reply STOP to opt out, START to opt back in.");
    assert_eq!(reply["price"], "0.0000");
    assert_eq!(server.all_messages(&key, "").await.len(), 1);
    assert_eq!(server.balance(&key).await, "10.0000");
    assert!(opted_out(&server, &key).await.is_empty(), "HELP does not opt out");
}
