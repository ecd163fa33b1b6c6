//! `Idempotency-Key`: a retried create with the same key and body gets the first answer back
//! (marked as a replay) and never a second message or charge; the same key with another body
//! is refused; keys are scoped per account and bounded in length.

use serde_json::{Value, json};
use textbird_test_support::{Reply, Server, WebhookSink, assert_problem};

const BIN: &str = env!("CARGO_BIN_EXE_textbird");

async fn send_keyed(server: &Server, api_key: &str, idem: &str, body: &Value) -> Reply {
    server.request("POST", api_key, "/v1/messages", Some(body), &[("idempotency-key", idem)]).await
}

#[tokio::test]
async fn same_key_and_body_replays_the_first_answer_and_sends_once() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let body = json!({"to": ["+31612345678", "+31612345679", "bad"], "from": "Acme", "body": "Hi", "client_ref": "r1"});
    let first = send_keyed(&server, &acme.api_key, "order-42", &body).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.header("idempotent-replayed"), None, "the first answer is not a replay");
    for _ in 0..3 {
        let again = send_keyed(&server, &acme.api_key, "order-42", &body).await;
        assert_eq!(again.status, 201, "{}", again.text);
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
        assert!(again.header("content-type").is_some_and(|c| c.starts_with("application/json")));
        assert_eq!(again.body, first.body, "the replay is the first answer, byte for byte in meaning");
    }
    let stored = server.all_messages(&acme.api_key, "").await;
    assert_eq!(stored.len(), 2, "one message per valid recipient, once");
    let mut stored_ids: Vec<&str> = stored.iter().map(|m| m["id"].as_str().unwrap()).collect();
    let mut first_ids: Vec<&str> =
        first.body["messages"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    stored_ids.sort_unstable();
    first_ids.sort_unstable();
    assert_eq!(stored_ids, first_ids);
    assert_eq!(server.balance(&acme.api_key).await, "9.9900", "charged once");
}

#[tokio::test]
async fn concurrent_retries_never_create_a_second_message() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let to: Vec<String> = (0..200).map(|i| format!("+316{}", 10_000_000 + i)).collect();
    let body = json!({"to": to, "from": "Acme", "body": "Hi"});
    let (a, b, c, d) = tokio::join!(
        send_keyed(&server, &acme.api_key, "race", &body),
        send_keyed(&server, &acme.api_key, "race", &body),
        send_keyed(&server, &acme.api_key, "race", &body),
        send_keyed(&server, &acme.api_key, "race", &body),
    );
    let mut firsts = 0;
    for r in [&a, &b, &c, &d] {
        match (r.status, r.header("idempotent-replayed")) {
            (201, None) => firsts += 1,
            (201, Some("true")) => {}
            (409, _) => assert_eq!(assert_problem(r, 409)["type"], "/problems/idempotency-key-in-flight"),
            other => panic!("unexpected answer {other:?}: {}", r.text),
        }
    }
    assert_eq!(firsts, 1, "exactly one request did the work");
    assert_eq!(server.all_messages(&acme.api_key, "").await.len(), 200);
    assert_eq!(server.balance(&acme.api_key).await, "9.0000");
    let again = send_keyed(&server, &acme.api_key, "race", &body).await;
    assert_eq!((again.status, again.header("idempotent-replayed")), (201, Some("true")));
}

#[tokio::test]
async fn same_key_with_a_different_body_is_refused() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let body = json!({"to": "+31612345678", "from": "Acme", "body": "Hi"});
    assert_eq!(send_keyed(&server, &acme.api_key, "k1", &body).await.status, 201);
    for other in [
        json!({"to": "+31612345678", "from": "Acme", "body": "Hi!"}),
        json!({"to": "+31612345679", "from": "Acme", "body": "Hi"}),
    ] {
        let r = send_keyed(&server, &acme.api_key, "k1", &other).await;
        let p = assert_problem(&r, 422);
        assert_eq!(p["type"], "/problems/idempotency-key-reused");
        assert_eq!(r.header("idempotent-replayed"), None);
    }
    assert_eq!(server.all_messages(&acme.api_key, "").await.len(), 1);
    assert_eq!(server.balance(&acme.api_key).await, "9.9950");
}

#[tokio::test]
async fn accounts_use_the_same_key_independently() {
    let server = Server::start(BIN, "");
    let a = server.create_account("Alpha", "10", "NL");
    let b = server.create_account("Beta", "10", "NL");
    let body = json!({"to": "+31612345678", "from": "Same", "body": "Hi"});
    let ra = send_keyed(&server, &a.api_key, "shared-key", &body).await;
    let rb = send_keyed(&server, &b.api_key, "shared-key", &body).await;
    assert_eq!((ra.status, rb.status), (201, 201), "{} / {}", ra.text, rb.text);
    assert_eq!(rb.header("idempotent-replayed"), None, "B's first use is not a replay of A's");
    assert_ne!(ra.body["messages"][0]["id"], rb.body["messages"][0]["id"]);
    assert_eq!(server.all_messages(&a.api_key, "").await.len(), 1);
    assert_eq!(server.all_messages(&b.api_key, "").await.len(), 1);
    // A's replay still gives A's answer.
    let again = send_keyed(&server, &a.api_key, "shared-key", &body).await;
    assert_eq!(again.body, ra.body);
}

#[tokio::test]
async fn key_length_is_bounded_to_255() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let body = json!({"to": "+31612345678", "from": "Acme", "body": "Hi"});
    let r = send_keyed(&server, &acme.api_key, &"k".repeat(256), &body).await;
    let p = assert_problem(&r, 422);
    assert_eq!(p["errors"][0]["field"], "Idempotency-Key", "{p}");
    assert!(server.all_messages(&acme.api_key, "").await.is_empty());
    let r = send_keyed(&server, &acme.api_key, &"k".repeat(255), &body).await;
    assert_eq!(r.status, 201, "255 characters are fine: {}", r.text);
    let r = send_keyed(&server, &acme.api_key, &"k".repeat(255), &body).await;
    assert_eq!(r.header("idempotent-replayed"), Some("true"));
    assert_eq!(server.all_messages(&acme.api_key, "").await.len(), 1);
}

#[tokio::test]
async fn a_refused_request_does_not_use_up_its_key() {
    let server = Server::start(BIN, "");
    let poor = server.create_account("Poor", "0", "NL");
    let body = json!({"to": "+31612345678", "from": "Acme", "body": "Hi"});
    let r = send_keyed(&server, &poor.api_key, "retry-me", &body).await;
    assert_problem(&r, 402);
    let out = server.cli(&["accounts", "credit", "--id", &poor.id, "--amount", "1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r = send_keyed(&server, &poor.api_key, "retry-me", &body).await;
    assert_eq!(r.status, 201, "after topping up, the same key sends: {}", r.text);
    assert_eq!(r.header("idempotent-replayed"), None);
    assert_eq!(server.all_messages(&poor.api_key, "").await.len(), 1);
}

#[tokio::test]
async fn webhook_creation_with_a_key_is_replayed_too() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let sink = WebhookSink::start(vec![]).await;
    let body = json!({"url": sink.url, "events": ["message.delivered"]});
    let headers = [("idempotency-key", "hook-1")];
    let first = server.request("POST", &acme.api_key, "/v1/webhooks", Some(&body), &headers).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let again = server.request("POST", &acme.api_key, "/v1/webhooks", Some(&body), &headers).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(again.body["secret"], first.body["secret"]);
    let (_, hooks) = server.get(&acme.api_key, "/v1/webhooks").await;
    assert_eq!(hooks.as_array().map(Vec::len), Some(1), "one endpoint: {hooks}");
    let other = json!({"url": sink.url, "events": ["*"]});
    let r = server.request("POST", &acme.api_key, "/v1/webhooks", Some(&other), &headers).await;
    assert_problem(&r, 422);
}
