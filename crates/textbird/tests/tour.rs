//! The README's tour, end to end: an account sends a message, the simulated carrier delivers
//! it, and the account's webhook endpoint receives signed events for it.

use serde_json::json;
use textbird_test_support::{Server, WebhookSink, eventually};

const BIN: &str = env!("CARGO_BIN_EXE_textbird");

#[tokio::test]
async fn message_is_delivered_and_its_webhooks_are_signed() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let sink = WebhookSink::start(vec![]).await;
    let (status, hook) = server
        .post(
            &acme.api_key,
            "/v1/webhooks",
            &json!({"url": sink.url, "events": ["message.delivered", "message.submitted"]}),
        )
        .await;
    assert_eq!(status, 201, "{hook}");
    let secret = hook["secret"].as_str().expect("secret shown on creation").to_owned();
    assert!(secret.starts_with("whsec_"));

    let (status, sent) =
        server.post(&acme.api_key, "/v1/messages", &json!({"to": "+31612345678", "from": "Acme", "body": "Hi"})).await;
    assert_eq!(status, 201, "{sent}");
    let msg = &sent["messages"][0];
    assert_eq!(msg["status"], "queued");
    assert_eq!(msg["parts"], 1);
    assert_eq!(msg["encoding"], "gsm7");
    assert_eq!(msg["price"], "0.0050");
    let id = msg["id"].as_str().unwrap().to_owned();

    let delivered = eventually(10, "delivered status", || async {
        let (_, m) = server.get(&acme.api_key, &format!("/v1/messages/{id}")).await;
        (m["status"] == "delivered").then_some(m)
    })
    .await;
    let statuses: Vec<&str> =
        delivered["events"].as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["queued", "submitted", "delivered"]);
    assert!(delivered["error"].is_null(), "a delivered message carries no error: {delivered}");

    let hook =
        eventually(10, "delivered webhook", || async { sink.events("message.delivered").into_iter().next() }).await;
    assert!(hook.verify(&secret), "signature must verify with the endpoint secret");
    assert!(!hook.verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), "and not with another");
    assert_eq!(hook.json()["data"]["id"], id);
    assert_eq!(hook.json()["data"]["status"], "delivered");
    assert!(sink.events("message.queued").is_empty(), "only subscribed events are sent");

    let (_, account) = server.get(&acme.api_key, "/v1/account").await;
    assert_eq!(account["balance"], "9.9950");
}
