//! Webhook delivery as promised: failures are retried on the ladder under the same
//! `webhook-id` with every attempt recorded; 410 disables the endpoint; redirects are failures
//! and never followed; private targets are refused at registration and at connect time; secret
//! rotation signs with both secrets; per-message callbacks are signed with the account's
//! callback secret; event types are validated.

use serde_json::{Value, json};
use textbird_test_support::{Server, WebhookSink, assert_problem, eventually, millis};

const BIN: &str = env!("CARGO_BIN_EXE_textbird");
const OTHER_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

async fn subscribe(server: &Server, key: &str, url: &str, events: &[&str]) -> Value {
    let (status, hook) = server.post(key, "/v1/webhooks", &json!({"url": url, "events": events})).await;
    assert_eq!(status, 201, "{hook}");
    hook
}

async fn send(server: &Server, key: &str, extra: &Value) -> String {
    let mut body = json!({"to": "+31612345678", "from": "Acme", "body": "Hi"});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let (status, sent) = server.post(key, "/v1/messages", &body).await;
    assert_eq!(status, 201, "{sent}");
    sent["messages"][0]["id"].as_str().unwrap().to_owned()
}

/// The endpoint's deliveries, once `ready` accepts them.
async fn deliveries(server: &Server, key: &str, hook: &Value, ready: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let path = format!("/v1/webhooks/{}/deliveries", hook["id"].as_str().unwrap());
    eventually(20, "deliveries", || async {
        let (_, page) = server.get(key, &path).await;
        let data = page["data"].as_array()?.clone();
        ready(&data).then_some(data)
    })
    .await
}

async fn attempts(server: &Server, key: &str, delivery_id: &str) -> Vec<Value> {
    let (status, list) = server.get(key, &format!("/v1/webhook-deliveries/{delivery_id}/attempts")).await;
    assert_eq!(status, 200, "{list}");
    list.as_array().unwrap().clone()
}

#[tokio::test]
async fn a_failed_delivery_is_retried_after_about_5_s_with_the_same_webhook_id() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let sink = WebhookSink::start(vec![500]).await;
    let hook = subscribe(&server, &acme.api_key, &sink.url, &["message.delivered"]).await;
    send(&server, &acme.api_key, &json!({})).await;
    let got = eventually(15, "the retry", || async {
        let got = sink.received();
        (got.len() >= 2).then_some(got)
    })
    .await;
    assert_eq!(got.len(), 2, "one failure, one success, nothing more");
    assert_eq!(got[0].headers["webhook-id"], got[1].headers["webhook-id"], "same webhook-id on every attempt");
    assert_eq!(got[0].body, got[1].body);
    assert!(got.iter().all(|r| r.verify(hook["secret"].as_str().unwrap())));

    let list =
        deliveries(&server, &acme.api_key, &hook, |d| d.first().is_some_and(|d| d["state"] == "succeeded")).await;
    assert_eq!(list.len(), 1);
    let d = &list[0];
    assert_eq!(d["id"].as_str(), Some(got[0].headers["webhook-id"].as_str()), "the delivery id is the webhook-id");
    assert_eq!((d["attempts"].as_i64(), d["last_status"].as_i64()), (Some(2), Some(200)));
    assert_eq!(d["event_type"], "message.delivered");
    let tries = attempts(&server, &acme.api_key, d["id"].as_str().unwrap()).await;
    let codes: Vec<Option<i64>> = tries.iter().map(|a| a["status_code"].as_i64()).collect();
    assert_eq!(codes, [Some(500), Some(200)]);
    assert_eq!(tries[0]["error"], "HTTP 500");
    assert!(tries[1]["error"].is_null());
    // From the start of one attempt to the start of the next (`at` is when an attempt ended):
    // the ladder's 5 s ± 20 %, with 150 ms for the deliverer to wake and sign.
    let started = |a: &Value| millis(a["at"].as_str().unwrap()) - a["duration_ms"].as_i64().unwrap();
    let gap = started(&tries[1]) - started(&tries[0]);
    assert!((4_000..=6_150).contains(&gap), "second attempt {gap} ms after the first; the ladder says 5 s ± 20%");
}

#[tokio::test]
async fn a_410_disables_the_endpoint() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let sink = WebhookSink::start(vec![410]).await;
    let hook = subscribe(&server, &acme.api_key, &sink.url, &["message.delivered"]).await;
    let path = format!("/v1/webhooks/{}", hook["id"].as_str().unwrap());
    send(&server, &acme.api_key, &json!({})).await;
    let disabled = eventually(15, "endpoint disabled", || async {
        let (_, h) = server.get(&acme.api_key, &path).await;
        (h["enabled"] == false).then_some(h)
    })
    .await;
    assert!(disabled["disabled_reason"].as_str().is_some_and(|r| r.contains("410")), "{disabled}");
    let list = deliveries(&server, &acme.api_key, &hook, |d| d.len() == 1).await;
    assert_eq!(list[0]["state"], "failed", "not retried: {}", list[0]);
    assert_eq!(list[0]["last_status"], 410);

    // Later events are not queued for a disabled endpoint.
    let id = send(&server, &acme.api_key, &json!({})).await;
    eventually(10, "second message delivered", || async {
        let (_, m) = server.get(&acme.api_key, &format!("/v1/messages/{id}")).await;
        (m["status"] == "delivered").then_some(())
    })
    .await;
    assert_eq!(deliveries(&server, &acme.api_key, &hook, |_| true).await.len(), 1);
    assert_eq!(sink.received().len(), 1);

    let (status, enabled) = server.patch(&acme.api_key, &path, &json!({"enabled": true})).await;
    assert_eq!(status, 200, "{enabled}");
    assert_eq!((enabled["enabled"].as_bool(), enabled["disabled_reason"].is_null()), (Some(true), true));
    send(&server, &acme.api_key, &json!({})).await;
    eventually(10, "delivery after re-enabling", || async { (sink.received().len() == 2).then_some(()) }).await;
}

#[tokio::test]
async fn a_redirect_is_a_failure_and_is_not_followed() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let target = WebhookSink::start(vec![]).await;
    let redirecting = WebhookSink::redirecting(vec![302], &target.url).await;
    let hook = subscribe(&server, &acme.api_key, &redirecting.url, &["message.delivered"]).await;
    send(&server, &acme.api_key, &json!({})).await;
    let list = deliveries(&server, &acme.api_key, &hook, |d| d.first().is_some_and(|d| d["attempts"] == 1)).await;
    let d = &list[0];
    assert_eq!(d["state"], "pending", "a 3xx is retried like any failure: {d}");
    assert_eq!(d["last_status"], 302);
    assert!(d["next_attempt_at"].is_string(), "{d}");
    let tries = attempts(&server, &acme.api_key, d["id"].as_str().unwrap()).await;
    assert_eq!(tries[0]["status_code"], 302);
    assert_eq!(redirecting.received().len(), 1);
    assert!(target.received().is_empty(), "the Location was not followed");
}

#[tokio::test]
async fn private_targets_are_refused_when_the_operator_has_not_allowed_them() {
    let server = Server::start(BIN, "[webhooks]\nallow_private_networks = false\n");
    let acme = server.create_account("Acme", "10", "NL");
    for url in [
        "http://127.0.0.1:9/x",
        "http://0x7f.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://2130706433/",
        "http://0177.0.0.1/",
        "http://[::1]/",
        "http://169.254.169.254/latest/meta-data",
        "http://10.1.2.3/",
        "http://192.168.1.1/",
        "ftp://example.com/",
        "not a url",
    ] {
        let r = server
            .request("POST", &acme.api_key, "/v1/webhooks", Some(&json!({"url": url, "events": ["*"]})), &[])
            .await;
        assert_eq!(assert_problem(&r, 422)["errors"][0]["field"], "url", "{url}");
    }
    let body = json!({"to": "+31612345678", "from": "Acme", "body": "Hi", "callback_url": "http://127.0.0.1:9/x"});
    let r = server.request("POST", &acme.api_key, "/v1/messages", Some(&body), &[]).await;
    assert_eq!(assert_problem(&r, 422)["errors"][0]["field"], "callback_url");

    let (_, hooks) = server.get(&acme.api_key, "/v1/webhooks").await;
    assert_eq!(hooks, json!([]), "nothing refused was stored");

    // A name is judged when it resolves: accepted now, blocked at connect time.
    let sink = WebhookSink::start(vec![]).await;
    let by_name = sink.url.replace("127.0.0.1", "localhost");
    let hook = subscribe(&server, &acme.api_key, &by_name, &["message.delivered"]).await;
    send(&server, &acme.api_key, &json!({})).await;
    let list = deliveries(&server, &acme.api_key, &hook, |d| d.first().is_some_and(|d| d["attempts"] == 1)).await;
    let error = list[0]["last_error"].as_str().unwrap_or_default().to_owned();
    assert!(error.contains("blocked"), "{}", list[0]);
    assert!(list[0]["last_status"].is_null(), "no HTTP exchange happened");
    let tries = attempts(&server, &acme.api_key, list[0]["id"].as_str().unwrap()).await;
    assert!(tries[0]["error"].as_str().is_some_and(|e| e.contains("blocked")), "{tries:?}");
    assert!(sink.received().is_empty(), "the sink on loopback was never reached");
    // Nor can an endpoint be moved onto a private address later.
    let path = format!("/v1/webhooks/{}", hook["id"].as_str().unwrap());
    let r = server.request("PATCH", &acme.api_key, &path, Some(&json!({"url": "http://[::1]:9/"})), &[]).await;
    assert_eq!(assert_problem(&r, 422)["errors"][0]["field"], "url");
    let (_, unchanged) = server.get(&acme.api_key, &path).await;
    assert_eq!(unchanged["url"], by_name.as_str());
}

#[tokio::test]
async fn after_rotation_deliveries_verify_with_the_old_and_the_new_secret() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let sink = WebhookSink::start(vec![]).await;
    let hook = subscribe(&server, &acme.api_key, &sink.url, &["message.delivered"]).await;
    let old = hook["secret"].as_str().unwrap().to_owned();
    let path = format!("/v1/webhooks/{}", hook["id"].as_str().unwrap());
    let (status, rotated) = server.post(&acme.api_key, &format!("{path}/rotate-secret"), &json!({})).await;
    assert_eq!(status, 200, "{rotated}");
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert!(new.starts_with("whsec_") && new != old);
    let (_, shown) = server.get(&acme.api_key, &path).await;
    assert!(shown.get("secret").is_none(), "the secret is shown only on creation and rotation: {shown}");

    send(&server, &acme.api_key, &json!({})).await;
    let got = eventually(10, "delivered webhook", || async { sink.events("message.delivered").pop() }).await;
    let signatures: Vec<&str> = got.headers["webhook-signature"].split(' ').collect();
    assert_eq!(signatures.len(), 2, "{signatures:?}");
    assert!(signatures.iter().all(|s| s.starts_with("v1,")));
    assert!(got.verify(&old), "receivers still holding the old secret verify");
    assert!(got.verify(&new), "receivers with the new secret verify");
    assert!(!got.verify(OTHER_SECRET));
}

#[tokio::test]
async fn a_per_message_callback_url_gets_events_signed_with_the_account_callback_secret() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let secret = acme.json["callback_secret"].as_str().expect("accounts create prints callback_secret").to_owned();
    let sink = WebhookSink::start(vec![]).await;
    let id = send(&server, &acme.api_key, &json!({"callback_url": sink.url, "client_ref": "cb"})).await;
    let got = eventually(10, "callback events", || async {
        let got = sink.received();
        got.iter().any(|r| r.json()["type"] == "message.delivered").then_some(got)
    })
    .await;
    let mut types: Vec<String> = got.iter().map(|r| r.json()["type"].as_str().unwrap().to_owned()).collect();
    types.sort();
    assert_eq!(types, ["message.delivered", "message.queued", "message.submitted"]);
    for r in &got {
        assert!(r.verify(&secret), "signed with the account's callback secret");
        assert!(!r.verify(OTHER_SECRET));
        assert_eq!(r.json()["data"]["id"], id);
        assert_eq!(r.json()["data"]["client_ref"], "cb");
    }
    let admin_secret = server.admin.json["callback_secret"].as_str().unwrap();
    assert!(!got[0].verify(admin_secret), "not with another account's secret");
    let (_, all) = server.get(&acme.api_key, "/v1/webhook-deliveries").await;
    let data = all["data"].as_array().unwrap();
    assert_eq!(data.len(), 3);
    assert!(data.iter().all(|d| d["webhook_id"].is_null() && d["url"] == sink.url.as_str()), "{all}");
}

#[tokio::test]
async fn event_types_are_listed_and_unknown_ones_refused() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let (status, types) = server.get(&acme.api_key, "/v1/webhook-event-types").await;
    assert_eq!(status, 200);
    let types: Vec<&str> = types.as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    for t in ["message.queued", "message.delivered", "message.undelivered", "message.canceled", "message.received"] {
        assert!(types.contains(&t), "{t} in {types:?}");
    }
    for events in [json!(["message.sent"]), json!([]), json!(["message.delivered", "nope"]), json!("*")] {
        let body = json!({"url": "http://127.0.0.1:9/x", "events": events});
        let r = server.request("POST", &acme.api_key, "/v1/webhooks", Some(&body), &[]).await;
        assert_eq!(assert_problem(&r, 422)["errors"][0]["field"], "events", "{events}");
    }
    let hook = subscribe(&server, &acme.api_key, "http://127.0.0.1:9/x", &["*", "message.delivered", "*"]).await;
    assert_eq!(hook["events"], json!(["*", "message.delivered"]), "duplicates dropped");
    let path = format!("/v1/webhooks/{}", hook["id"].as_str().unwrap());
    let r = server.request("PATCH", &acme.api_key, &path, Some(&json!({"events": ["bogus"]})), &[]).await;
    assert_problem(&r, 422);
    let (_, unchanged) = server.get(&acme.api_key, &path).await;
    assert_eq!(unchanged["events"], hook["events"]);
    let (_, hooks) = server.get(&acme.api_key, "/v1/webhooks").await;
    assert_eq!(hooks.as_array().map(Vec::len), Some(1), "refused creations stored nothing");
}
