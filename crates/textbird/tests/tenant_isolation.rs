//! One account can never read, change or learn of another's objects: every foreign message,
//! webhook, delivery and number answers 404 (never 403), lists never show foreign rows, and a
//! refused foreign request changes nothing.

use serde_json::{Value, json};
use textbird_test_support::{Account, Server, WebhookSink, assert_problem, eventually, rfc3339_from_now};

const BIN: &str = env!("CARGO_BIN_EXE_textbird");

/// Two accounts on one server; A has a scheduled and a delivered message and a webhook whose
/// delivery succeeded.
struct World {
    server: Server,
    a: Account,
    b: Account,
    scheduled: String,
    delivered: String,
    webhook: Value,
    delivery: String,
    _sink: WebhookSink,
}

async fn world() -> World {
    let server = Server::start(BIN, "");
    let a = server.create_account("Alpha", "10", "NL");
    let b = server.create_account("Beta", "10", "NL");
    let sink = WebhookSink::start(vec![]).await;
    let (status, webhook) =
        server.post(&a.api_key, "/v1/webhooks", &json!({"url": sink.url, "events": ["message.delivered"]})).await;
    assert_eq!(status, 201, "{webhook}");
    let later = json!({"to": "+31612345678", "from": "Alpha", "body": "later", "send_at": rfc3339_from_now(3_600_000)});
    let (status, sent) = server.post(&a.api_key, "/v1/messages", &later).await;
    assert_eq!(status, 201, "{sent}");
    let scheduled = sent["messages"][0]["id"].as_str().unwrap().to_owned();
    let now = json!({"to": "+31612345679", "from": "Alpha", "body": "now"});
    let (_, sent_now) = server.post(&a.api_key, "/v1/messages", &now).await;
    let delivered = sent_now["messages"][0]["id"].as_str().unwrap().to_owned();
    let hook_id = webhook["id"].as_str().unwrap().to_owned();
    let delivery = eventually(10, "A's delivery succeeded", || async {
        let (_, page) = server.get(&a.api_key, &format!("/v1/webhooks/{hook_id}/deliveries")).await;
        page["data"]
            .as_array()?
            .iter()
            .find(|d| d["state"] == "succeeded")
            .map(|d| d["id"].as_str().unwrap().to_owned())
    })
    .await;
    World { server, a, b, scheduled, delivered, webhook, delivery, _sink: sink }
}

async fn assert_404(server: &Server, key: &str, method: &str, path: &str, body: Option<&Value>) {
    let r = server.request(method, key, path, body, &[]).await;
    let p = assert_problem(&r, 404);
    assert_eq!(p["type"], "/problems/not-found", "{method} {path}");
}

#[tokio::test]
async fn another_accounts_message_is_404_to_read_and_to_cancel() {
    let w = world().await;
    let (s, b) = (&w.server, &w.b.api_key);
    for id in [&w.scheduled, &w.delivered] {
        assert_404(s, b, "GET", &format!("/v1/messages/{id}"), None).await;
        assert_404(s, b, "POST", &format!("/v1/messages/{id}/cancel"), None).await;
    }
    let (status, m) = s.get(&w.a.api_key, &format!("/v1/messages/{}", w.scheduled)).await;
    assert_eq!(status, 200);
    assert_eq!(m["status"], "scheduled", "B's cancel changed nothing: {m}");
    assert_eq!(s.balance(&w.a.api_key).await, "9.9900", "and refunded nothing");
    assert_eq!(s.balance(b).await, "10.0000");
}

#[tokio::test]
async fn another_accounts_webhook_and_its_deliveries_are_404() {
    let w = world().await;
    let (s, b) = (&w.server, &w.b.api_key);
    let id = w.webhook["id"].as_str().unwrap();
    let path = format!("/v1/webhooks/{id}");
    assert_404(s, b, "GET", &path, None).await;
    assert_404(s, b, "PATCH", &path, Some(&json!({"enabled": false, "url": "http://127.0.0.1:9/x"}))).await;
    assert_404(s, b, "DELETE", &path, None).await;
    assert_404(s, b, "POST", &format!("{path}/rotate-secret"), None).await;
    assert_404(s, b, "GET", &format!("{path}/deliveries"), None).await;
    assert_404(s, b, "GET", &format!("/v1/webhook-deliveries/{}/attempts", w.delivery), None).await;

    let (status, after) = s.get(&w.a.api_key, &path).await;
    assert_eq!(status, 200, "B's DELETE did not delete it");
    for field in ["url", "enabled", "events", "updated_at"] {
        assert_eq!(after[field], w.webhook[field], "B changed {field}");
    }
    let (_, hooks) = s.get(b, "/v1/webhooks").await;
    assert_eq!(hooks, json!([]), "B lists no foreign endpoint");
    let (_, deliveries) = s.get(b, "/v1/webhook-deliveries").await;
    assert_eq!(deliveries["data"], json!([]), "B lists no foreign delivery");
    let (status, attempts) = s.get(&w.a.api_key, &format!("/v1/webhook-deliveries/{}/attempts", w.delivery)).await;
    assert_eq!(status, 200);
    assert_eq!(attempts.as_array().map(Vec::len), Some(1), "{attempts}");
}

#[tokio::test]
async fn lists_never_show_another_accounts_rows() {
    let w = world().await;
    let (s, b) = (&w.server, &w.b.api_key);
    let (status, sent) =
        s.post(b, "/v1/messages", &json!({"to": "+31612345678", "from": "Beta", "body": "mine"})).await;
    assert_eq!(status, 201, "{sent}");
    let mine = sent["messages"][0]["id"].as_str().unwrap();
    let listed = s.all_messages(b, "").await;
    let ids: Vec<&str> = listed.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [mine]);
    // Filters that match A's rows exactly still find none of them.
    for q in ["&to=%2B31612345679", "&status=scheduled", "&client_ref=x"] {
        assert!(s.all_messages(b, q).await.is_empty(), "{q}");
    }
    // A cursor taken from A's ids does not reveal them either.
    let (_, page) = s.get(b, &format!("/v1/messages?cursor={}", "f".repeat(36))).await;
    let ids: Vec<&str> = page["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [mine]);
    assert_eq!(s.all_messages(&w.a.api_key, "").await.len(), 2, "A still sees exactly its own");
}

#[tokio::test]
async fn inbound_to_another_accounts_number_is_404_and_stores_nothing() {
    let w = world().await;
    let (s, a, b) = (&w.server, &w.a.api_key, &w.b.api_key);
    let (status, number) = s.post(a, "/v1/numbers", &json!({"number": "+31687654321"})).await;
    assert_eq!(status, 201, "{number}");
    let inject = json!({"from": "+31612345670", "to": "+31687654321", "body": "STOP"});
    assert_404(s, b, "POST", "/v1/simulator/inbound", Some(&inject)).await;
    // B cannot take A's number, nor learn who owns it, nor remove it.
    let taken = s.request("POST", b, "/v1/numbers", Some(&json!({"number": "+31687654321"})), &[]).await;
    let problem = assert_problem(&taken, 409);
    assert!(!problem.to_string().contains(&w.a.id), "the conflict does not reveal the owner: {problem}");
    assert_404(s, b, "DELETE", "/v1/numbers/%2B31687654321", None).await;
    let (_, numbers) = s.get(b, "/v1/numbers").await;
    assert_eq!(numbers, json!([]));

    // A's own injection lands with A, and only with A.
    let hello = json!({"from": "+31612345670", "to": "+31687654321", "body": "hi"});
    let injected = s.request("POST", a, "/v1/simulator/inbound", Some(&hello), &[]).await;
    assert_eq!(injected.status, 202, "{}", injected.text);
    eventually(10, "A's inbound", || async {
        let (_, page) = s.get(a, "/v1/inbound").await;
        (page["data"].as_array()?.len() == 1).then_some(())
    })
    .await;
    let (_, page) = s.get(a, "/v1/inbound").await;
    assert_eq!(page["data"][0]["body"], "hi", "B's STOP never arrived: {page}");
    let (_, page) = s.get(b, "/v1/inbound").await;
    assert_eq!(page["data"], json!([]));
    let (_, opt_outs) = s.get(a, "/v1/opt-outs").await;
    assert_eq!(opt_outs["data"], json!([]), "B's STOP opted nobody out of A's messages");
}

#[tokio::test]
async fn opt_outs_are_per_account() {
    let w = world().await;
    let (s, a, b) = (&w.server, &w.a.api_key, &w.b.api_key);
    let (status, _) = s.post(a, "/v1/opt-outs", &json!({"phone": "+31612345677"})).await;
    assert_eq!(status, 201);
    let (_, list) = s.get(b, "/v1/opt-outs").await;
    assert_eq!(list["data"], json!([]));
    let (status, sent) =
        s.post(b, "/v1/messages", &json!({"to": "+31612345677", "from": "Beta", "body": "still fine"})).await;
    assert_eq!(status, 201, "A's opt-out does not bind B: {sent}");
    assert_eq!(sent["errors"], json!([]));
    assert_404(s, b, "DELETE", "/v1/opt-outs/%2B31612345677", None).await;
    let (_, list) = s.get(a, "/v1/opt-outs").await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(1), "B could not lift A's opt-out: {list}");
}
