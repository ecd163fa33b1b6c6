//! Dialect 003 ("Cloudware" style, `/v1/sms`): the document's example requests replayed
//! (JSON send, queue, list), form bodies, every error in the dialect's own envelope, and a
//! message sent through the dialect seen and delivered by the native side.

use serde_json::{Value, json};
use textbird_test_support::{Reply, Server, WebhookSink, eventually};

const BIN: &str = env!("CARGO_BIN_EXE_textbird");
const OWN: &str = "+2348031234567";
/// The document's example body (with a real number for `recipient_number`).
const EXAMPLE: &str = r#"{"to": "2348012345678", "message": "Your message here"}"#;

/// A Nigerian account owning `OWN`; its API key.
async fn account(server: &Server) -> String {
    let acme = server.create_account("Acme", "10", "NG");
    let (status, body) = server.post(&acme.api_key, "/v1/numbers", &json!({"number": OWN})).await;
    assert_eq!(status, 201, "{body}");
    acme.api_key
}

async fn call(server: &Server, path: &str, auth: Option<&str>, content_type: &str, body: &str) -> Reply {
    let bearer = auth.map(|k| format!("Bearer {k}"));
    let mut headers = vec![("content-type", content_type)];
    if let Some(b) = &bearer {
        headers.push(("authorization", b.as_str()));
    }
    Reply::read(server.raw("POST", path, &headers, body.as_bytes().to_vec()).await).await
}

async fn get(server: &Server, key: &str, path_or_url: &str) -> Reply {
    let url = if path_or_url.starts_with("http") { path_or_url.to_owned() } else { server.url(path_or_url) };
    let res = reqwest::Client::new().get(url).bearer_auth(key).send().await.expect("GET");
    Reply::read(res).await
}

fn assert_error(r: &Reply, status: u16) -> String {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.body["status"], "error", "{}", r.text);
    let m = r.body["message"].as_str().unwrap_or_else(|| panic!("no message: {}", r.text));
    assert!(!m.is_empty());
    assert!(r.body.get("type").is_none(), "not an RFC 9457 problem: {}", r.text);
    m.to_owned()
}

fn assert_sent(r: &Reply, status: u16, to: &str, message: &str) -> Value {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.body["status"], "success", "{}", r.text);
    let d = &r.body["data"];
    assert!(d["id"].as_str().is_some_and(|id| !id.is_empty()), "{d}");
    assert_eq!(d["to"], to);
    assert_eq!(d["from"], OWN.trim_start_matches('+'));
    assert_eq!(d["message"], message);
    assert_eq!(d["status"], "queued");
    for t in ["created_at", "updated_at"] {
        let t = d[t].as_str().unwrap_or_else(|| panic!("{t}: {d}"));
        assert!(t.ends_with('Z') && t.len() == 20, "{t}");
    }
    d.clone()
}

#[tokio::test]
async fn the_documents_send_example_sends_and_the_message_is_delivered() {
    let server = Server::start(BIN, "");
    let key = account(&server).await;
    let r = call(&server, "/v1/sms/send", Some(&key), "application/json", EXAMPLE).await;
    let d = assert_sent(&r, 200, "2348012345678", "Your message here");
    let id = d["id"].as_str().unwrap();
    let (status, native) = server.get(&key, &format!("/v1/messages/{id}")).await;
    assert_eq!(status, 200, "{native}");
    assert_eq!(native["to"], "+2348012345678");
    assert_eq!(native["body"], "Your message here");
    eventually(20, "delivery", || async {
        let (_, m) = server.get(&key, &format!("/v1/messages/{id}")).await;
        (m["status"] == "delivered").then_some(())
    })
    .await;
    let list = get(&server, &key, "/v1/sms/messages").await;
    assert_eq!(list.body["data"][0]["message_id"], id, "{}", list.text);
    assert!(list.body["data"][0]["sent_at"].is_string(), "{}", list.text);
}

#[tokio::test]
async fn queue_answers_202_and_numbers_may_carry_a_plus_and_come_as_a_form() {
    let server = Server::start(BIN, "");
    let key = account(&server).await;
    let r = call(&server, "/v1/sms/queue", Some(&key), "application/json", EXAMPLE).await;
    assert_sent(&r, 202, "2348012345678", "Your message here");
    let r =
        call(&server, "/v1/sms/send", Some(&key), "application/json", r#"{"to":"+2348012345679","message":"x"}"#).await;
    assert_sent(&r, 200, "2348012345679", "x");
    let form = "application/x-www-form-urlencoded";
    let r = call(&server, "/v1/sms/send", Some(&key), form, "to=2348012345670&message=Hello+there").await;
    assert_sent(&r, 200, "2348012345670", "Hello there");
    let r = call(&server, "/v1/sms/send", Some(&key), form, "to=+2348012345672&message=Hi").await;
    assert_sent(&r, 200, "2348012345672", "Hi");
    let r = call(&server, "/v1/sms/queue", Some(&key), form, "to=%2B2348012345671&message=Hi&from=Acme").await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.body["data"]["from"], "Acme");
    assert_eq!(server.all_messages(&key, "").await.len(), 5);
}

#[tokio::test]
async fn bad_requests_get_the_error_envelope_and_send_nothing() {
    let server = Server::start(BIN, "");
    let key = account(&server).await;
    let json = "application/json";
    let m = assert_error(&call(&server, "/v1/sms/send", Some(&key), json, r#"{"to": "2348012345678""#).await, 400);
    assert!(m.contains("JSON"), "{m}");
    let m = assert_error(&call(&server, "/v1/sms/send", Some(&key), json, r#"{"to": "2348012345678"}"#).await, 400);
    assert!(m.contains("message"), "{m}");
    let m = assert_error(&call(&server, "/v1/sms/queue", Some(&key), json, r#"{"message": "Hi"}"#).await, 400);
    assert!(m.contains("to"), "{m}");
    let m = assert_error(
        &call(&server, "/v1/sms/send", Some(&key), json, r#"{"to": 2348012345678, "message": "Hi"}"#).await,
        400,
    );
    assert!(m.contains("string"), "{m}");
    assert_error(&call(&server, "/v1/sms/send", Some(&key), json, r#"["to"]"#).await, 400);
    let m =
        assert_error(&call(&server, "/v1/sms/send", Some(&key), json, r#"{"to": "12", "message": "Hi"}"#).await, 422);
    assert!(m.contains("to"), "{m}");
    let good = r#"{"to": "2348012345678", "message": "Hi"}"#;
    let r = call(&server, "/v1/sms/send", None, json, good).await;
    assert_error(&r, 401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    assert_error(&call(&server, "/v1/sms/send", Some("tbk_wrong"), json, good).await, 401);
    assert_error(&get(&server, "tbk_wrong", "/v1/sms/messages").await, 401);
    assert!(server.all_messages(&key, "").await.is_empty());
    assert_eq!(server.balance(&key).await, "10.0000");
}

#[tokio::test]
async fn the_list_merges_sent_and_received_newest_first_over_token_pages() {
    let server = Server::start(BIN, "");
    let key = account(&server).await;
    let json = "application/json";
    for (i, to) in ["2348012345678", "2348012345679", "2348012345678"].iter().enumerate() {
        let body = format!(r#"{{"to": "{to}", "message": "out {i}"}}"#);
        assert_eq!(call(&server, "/v1/sms/send", Some(&key), json, &body).await.status, 200);
        let (status, b) = server
            .post(
                &key,
                "/v1/simulator/inbound",
                &json!({"from": format!("+{to}"), "to": OWN, "body": format!("in {i}")}),
            )
            .await;
        assert_eq!(status, 202, "{b}");
        eventually(10, "inbound stored", || async {
            let (_, page) = server.get(&key, "/v1/inbound").await;
            (page["data"].as_array().map_or(0, Vec::len) == i + 1).then_some(())
        })
        .await;
    }
    // The document's example: no parameters.
    let first = get(&server, &key, "/v1/sms/messages").await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["query"], "");
    assert!(first.body["next_page"].is_null(), "{}", first.text);
    let all = first.body["data"].as_array().unwrap().clone();
    let texts: Vec<&str> = all.iter().map(|m| m["message"].as_str().unwrap()).collect();
    assert_eq!(texts, ["in 2", "out 2", "in 1", "out 1", "in 0", "out 0"]);
    let inbound = &all[0];
    assert_eq!(inbound["type"], "message_received");
    assert_eq!(inbound["from"], "2348012345678");
    assert_eq!(inbound["to"], OWN.trim_start_matches('+'));
    assert!(inbound["message_id"].is_string() && inbound["created_at"].is_string() && inbound["sent_at"].is_string());
    assert_eq!(all[1]["type"], "message_sent");
    assert_eq!(all[1]["from"], OWN.trim_start_matches('+'));
    assert_eq!(all[1]["to"], "2348012345678");

    // Pages of two, following next_page, give the same messages in the same order.
    let mut url = "/v1/sms/messages?limit=2".to_owned();
    let mut paged = Vec::new();
    loop {
        let page = get(&server, &key, &url).await;
        assert_eq!(page.status, 200, "{}", page.text);
        paged.extend(page.body["data"].as_array().unwrap().iter().cloned());
        match page.body["next_page"].as_str() {
            Some(next) => {
                assert!(next.starts_with("http://") && next.contains("/v1/sms/messages?token="), "{next}");
                url = next.to_owned();
            }
            None => break,
        }
    }
    // Compared by id: an outbound message's `sent_at` may be filled in between the two reads.
    let ids = |v: &[Value]| v.iter().map(|m| m["message_id"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(ids(&paged), ids(&all));

    // Filters, echoed in `query`, and kept by the token.
    let by_phone = get(&server, &key, "/v1/sms/messages?phone=%2B2348012345678&limit=3").await;
    assert_eq!(by_phone.body["query"], "phone=2348012345678", "{}", by_phone.text);
    let mut got: Vec<Value> = by_phone.body["data"].as_array().unwrap().clone();
    let next = by_phone.body["next_page"].as_str().expect("a second page").to_owned();
    got.extend(get(&server, &key, &next).await.body["data"].as_array().unwrap().iter().cloned());
    let texts: Vec<&str> = got.iter().map(|m| m["message"].as_str().unwrap()).collect();
    assert_eq!(texts, ["in 2", "out 2", "in 0", "out 0"]);
    let sent_to = get(&server, &key, "/v1/sms/messages?to=2348012345679").await;
    let texts: Vec<&str> =
        sent_to.body["data"].as_array().unwrap().iter().map(|m| m["message"].as_str().unwrap()).collect();
    assert_eq!(texts, ["out 1"]);
    let from = get(&server, &key, "/v1/sms/messages?from=2348012345679").await;
    let texts: Vec<&str> =
        from.body["data"].as_array().unwrap().iter().map(|m| m["message"].as_str().unwrap()).collect();
    assert_eq!(texts, ["in 1"]);

    // A tampered token is refused in the envelope.
    let tampered = format!("{next}x");
    assert_error(&get(&server, &key, &tampered).await, 400);
    assert_error(&get(&server, &key, "/v1/sms/messages?token=!!!").await, 400);
    assert_error(&get(&server, &key, "/v1/sms/messages?limit=0").await, 400);
}

#[tokio::test]
async fn dialect_routes_are_not_in_the_native_openapi_document() {
    let server = Server::start(BIN, "");
    let doc: Value = reqwest::get(server.url("/openapi.json")).await.unwrap().json().await.unwrap();
    let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    assert!(paths.iter().any(|p| p.as_str() == "/v1/messages"), "{paths:?}");
    assert!(!paths.iter().any(|p| p.starts_with("/v1/sms") || p.starts_with("/api/")), "{paths:?}");
}

#[tokio::test]
async fn a_cloudware_webhook_gets_message_received_and_message_sent_as_documented() {
    let server = Server::start(BIN, "");
    let key = account(&server).await;
    let sink = WebhookSink::start(vec![]).await;
    let native = WebhookSink::start(vec![]).await;
    // The account's 003-style webhook URL, beside a native endpoint.
    let (status, hook) = server.post(&key, "/v1/webhooks", &json!({"url": sink.url, "format": "cloudware"})).await;
    assert_eq!(status, 201, "{hook}");
    assert_eq!(hook["format"], "cloudware");
    assert_eq!(hook["events"], json!(["message.received", "message.submitted"]));
    let (status, _) = server.post(&key, "/v1/webhooks", &json!({"url": native.url, "events": ["*"]})).await;
    assert_eq!(status, 201);
    // A format shows only its own events, and unknown formats are refused.
    for body in [
        json!({"url": sink.url, "format": "cloudware", "events": ["message.delivered"]}),
        json!({"url": sink.url, "format": "nope", "events": ["*"]}),
    ] {
        let (status, problem) = server.post(&key, "/v1/webhooks", &body).await;
        assert_eq!(status, 422, "{problem}");
    }

    let sent = call(&server, "/v1/sms/send", Some(&key), "application/json", EXAMPLE).await;
    let sent = assert_sent(&sent, 200, "2348012345678", "Your message here");
    let (status, b) = server
        .post(&key, "/v1/simulator/inbound", &json!({"from": "+2348012345678", "to": OWN, "body": "Hello, World!"}))
        .await;
    assert_eq!(status, 202, "{b}");
    let got = eventually(20, "both 003 webhooks", || async {
        let got = sink.received();
        (got.len() >= 2).then_some(got)
    })
    .await;
    let keys = ["type", "from", "to", "message", "message_id", "created_at", "sent_at"];
    let by_type = |t: &str| {
        got.iter()
            .map(textbird_test_support::Received::json)
            .find(|j| j["type"] == t)
            .unwrap_or_else(|| panic!("no {t}"))
    };
    let out = by_type("message_sent");
    let mut names: Vec<&str> = out.as_object().unwrap().keys().map(String::as_str).collect();
    names.sort_unstable();
    let mut expected = keys.to_vec();
    expected.sort_unstable();
    assert_eq!(names, expected, "{out}");
    assert_eq!(out["from"], OWN.trim_start_matches('+'));
    assert_eq!(out["to"], "2348012345678");
    assert_eq!(out["message"], "Your message here");
    assert_eq!(out["message_id"], sent["id"]);
    let inbound = by_type("message_received");
    assert_eq!(inbound["from"], "2348012345678");
    assert_eq!(inbound["to"], OWN.trim_start_matches('+'));
    assert_eq!(inbound["message"], "Hello, World!");
    for m in [&out, &inbound] {
        for t in ["created_at", "sent_at"] {
            let t = m[t].as_str().unwrap_or_else(|| panic!("{t}: {m}"));
            assert!(t.ends_with('Z') && t.len() == 20, "{t}");
        }
        assert_eq!(got.iter().filter(|r| r.json()["type"] == m["type"]).count(), 1, "once each");
    }
    // The message ids are those the list shows.
    let list = get(&server, &key, "/v1/sms/messages").await;
    let ids: Vec<&Value> = list.body["data"].as_array().unwrap().iter().map(|m| &m["message_id"]).collect();
    assert!(ids.contains(&&inbound["message_id"]) && ids.contains(&&out["message_id"]), "{}", list.text);
    // The native endpoint got the native events as well.
    eventually(20, "native webhooks", || async {
        (!native.events("message.received").is_empty() && !native.events("message.delivered").is_empty()).then_some(())
    })
    .await;
}
