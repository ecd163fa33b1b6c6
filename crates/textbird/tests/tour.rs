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

#[tokio::test]
async fn an_account_over_its_request_rate_gets_429_and_nothing_is_stored() {
    let server = Server::start(BIN, "[http]\nrequests_per_second = 2\n");
    let flood = server.create_account("Flood", "10", "NL");
    let calm = server.create_account("Calm", "10", "NL");
    let mut limited = 0;
    let mut sent = 0;
    for i in 0..10 {
        let body = json!({"to": "+31612345678", "from": "Acme", "body": format!("flood {i}")});
        let res = server
            .raw(
                "POST",
                "/v1/messages",
                &[("authorization", &format!("Bearer {}", flood.api_key)), ("content-type", "application/json")],
                body.to_string().into_bytes(),
            )
            .await;
        match res.status().as_u16() {
            201 => sent += 1,
            429 => {
                limited += 1;
                assert!(res.headers().get("retry-after").is_some(), "429 carries Retry-After");
                let problem: serde_json::Value = res.json().await.unwrap();
                assert_eq!(problem["status"], 429);
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(limited > 0 && sent >= 2, "sent {sent}, limited {limited}");
    // Reads count against the same budget: let it refill for the two checks below.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (_, list) = server.get(&flood.api_key, "/v1/messages?limit=100").await;
    assert_eq!(list["data"].as_array().unwrap().len(), sent, "refused requests stored nothing");
    let (_, account) = server.get(&flood.api_key, "/v1/account").await;
    assert_eq!(account["balance"], format!("{:.4}", 10.0 - 0.005 * f64::from(u32::try_from(sent).unwrap())));
    // Another tenant is unaffected by the flood.
    let (status, _) =
        server.post(&calm.api_key, "/v1/messages", &json!({"to": "+31612345678", "from": "Calm", "body": "hi"})).await;
    assert_eq!(status, 201);
}
