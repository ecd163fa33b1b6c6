//! Scheduled sends: `send_at` holds a message until its time (and not a moment before), a
//! scheduled message can be canceled once with a refund and a `canceled` event, anything
//! else cannot be canceled, and bad times are refused.

use serde_json::{Value, json};
use textbird_test_support::{
    Server, WebhookSink, assert_problem, eventually, millis, rfc3339_from_now, rfc3339_from_now_with_offset,
};

const BIN: &str = env!("CARGO_BIN_EXE_textbird");

async fn send_at(server: &Server, key: &str, at: &str) -> (u16, Value) {
    server.post(key, "/v1/messages", &json!({"to": "+31612345678", "from": "Acme", "body": "Hi", "send_at": at})).await
}

async fn wait_status(server: &Server, key: &str, id: &str, status: &str) -> Value {
    eventually(15, &format!("message {status}"), || async {
        let (_, m) = server.get(key, &format!("/v1/messages/{id}")).await;
        (m["status"] == status).then_some(m)
    })
    .await
}

fn statuses(m: &Value) -> Vec<String> {
    m["events"].as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_scheduled_message_is_canceled_once_with_a_refund_and_an_event() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let sink = WebhookSink::start(vec![]).await;
    let (status, endpoint) =
        server.post(&acme.api_key, "/v1/webhooks", &json!({"url": sink.url, "events": ["message.canceled"]})).await;
    assert_eq!(status, 201, "{endpoint}");
    let at = rfc3339_from_now(3_600_000);
    let (status, sent) = send_at(&server, &acme.api_key, &at).await;
    assert_eq!(status, 201, "{sent}");
    let m = &sent["messages"][0];
    assert_eq!(m["status"], "scheduled");
    assert_eq!(millis(m["send_at"].as_str().unwrap()), millis(&at));
    let id = m["id"].as_str().unwrap();
    assert_eq!(server.balance(&acme.api_key).await, "9.9950", "charged when accepted");

    let (status, canceled) = server.post(&acme.api_key, &format!("/v1/messages/{id}/cancel"), &json!({})).await;
    assert_eq!(status, 200, "{canceled}");
    assert_eq!(canceled["status"], "canceled");
    assert_eq!(server.balance(&acme.api_key).await, "10.0000", "refunded");
    let (_, full) = server.get(&acme.api_key, &format!("/v1/messages/{id}")).await;
    assert_eq!(statuses(&full), ["scheduled", "canceled"]);
    let hook =
        eventually(10, "canceled webhook", || async { sink.events("message.canceled").into_iter().next() }).await;
    assert!(hook.verify(endpoint["secret"].as_str().unwrap()), "signed with the endpoint secret");
    assert_eq!(hook.json()["data"]["id"], id);

    let r = server.request("POST", &acme.api_key, &format!("/v1/messages/{id}/cancel"), None, &[]).await;
    let p = assert_problem(&r, 409);
    assert!(p["detail"].as_str().is_some_and(|d| d.contains("canceled")), "{p}");
    assert_eq!(server.balance(&acme.api_key).await, "10.0000", "refunded exactly once");
    // It stays canceled: its time never comes.
    let (_, full) = server.get(&acme.api_key, &format!("/v1/messages/{id}")).await;
    assert_eq!(full["status"], "canceled");
}

#[tokio::test]
async fn a_delivered_message_cannot_be_canceled() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let (_, sent) =
        server.post(&acme.api_key, "/v1/messages", &json!({"to": "+31612345678", "from": "Acme", "body": "Hi"})).await;
    let id = sent["messages"][0]["id"].as_str().unwrap();
    wait_status(&server, &acme.api_key, id, "delivered").await;
    let r = server.request("POST", &acme.api_key, &format!("/v1/messages/{id}/cancel"), None, &[]).await;
    let p = assert_problem(&r, 409);
    assert!(p["detail"].as_str().is_some_and(|d| d.contains("delivered")), "{p}");
    let (_, m) = server.get(&acme.api_key, &format!("/v1/messages/{id}")).await;
    assert_eq!(m["status"], "delivered");
    assert_eq!(server.balance(&acme.api_key).await, "9.9950", "no refund");
}

#[tokio::test]
async fn a_message_scheduled_two_seconds_ahead_goes_out_only_then() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let at = rfc3339_from_now(2_000);
    let due = millis(&at);
    let (status, sent) = send_at(&server, &acme.api_key, &at).await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["messages"][0]["status"], "scheduled");
    let id = sent["messages"][0]["id"].as_str().unwrap().to_owned();
    let m = wait_status(&server, &acme.api_key, &id, "delivered").await;
    assert_eq!(statuses(&m), ["scheduled", "queued", "submitted", "delivered"]);
    for e in &m["events"].as_array().unwrap()[1..] {
        let t = millis(e["at"].as_str().unwrap());
        assert!(t >= due, "{} at {t}, before send_at {due}", e["status"]);
    }
    let delivered_at = millis(m["events"][3]["at"].as_str().unwrap());
    assert!(delivered_at - due < 3_000, "not held much longer than asked: {} ms late", delivered_at - due);
    assert_eq!(millis(m["send_at"].as_str().unwrap()), due);
}

#[tokio::test]
async fn send_at_in_the_past_sends_at_once() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let (status, sent) = send_at(&server, &acme.api_key, &rfc3339_from_now(-3_600_000)).await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["messages"][0]["status"], "queued");
    let id = sent["messages"][0]["id"].as_str().unwrap();
    let m = wait_status(&server, &acme.api_key, id, "delivered").await;
    assert_eq!(statuses(&m), ["queued", "submitted", "delivered"]);
}

#[tokio::test]
async fn send_at_must_be_rfc3339_with_an_offset_and_within_a_year() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let next_year = rfc3339_from_now(400 * 24 * 3_600_000);
    for bad in ["tomorrow", "2030-01-01 10:00", "2030-01-01T10:00:00", "1700000000", "", next_year.as_str()] {
        let (status, p) = send_at(&server, &acme.api_key, bad).await;
        assert_eq!(status, 422, "{bad:?}: {p}");
        assert_eq!(p["errors"][0]["field"], "send_at", "{bad:?}: {p}");
    }
    let at = rfc3339_from_now_with_offset(3_600_000, 2);
    assert!(at.ends_with("+02:00"), "{at}");
    let (status, sent) = send_at(&server, &acme.api_key, &at).await;
    assert_eq!(status, 201, "any offset is fine: {sent}");
    let shown = sent["messages"][0]["send_at"].as_str().unwrap();
    assert!(shown.ends_with('Z'), "shown in UTC: {shown}");
    assert_eq!(millis(shown), millis(&at));
    assert_eq!(server.all_messages(&acme.api_key, "").await.len(), 1);
}
