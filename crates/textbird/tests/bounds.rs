//! Bounds on what is sent (RELIABILITY.md, Bounds): more parts than `[messages] max_parts`,
//! control characters in `body` and `client_ref`, and `00` read as international only where
//! the account's country dials it, on the native API, a dialect and the SMPP server (npm
//! `smpp` as the customer). Every refusal stores and charges nothing.

use serde_json::{Value, json};
use textbird_test_support::{Account, Peer, Reply, Server, assert_problem, problem_fields};

const BIN: &str = env!("CARGO_BIN_EXE_textbird");
const TO: &str = "+31612345678";

fn start() -> (Server, Account) {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    (server, acme)
}

async fn send(server: &Server, key: &str, body: &Value) -> Reply {
    server.request("POST", key, "/v1/messages", Some(body), &[]).await
}

/// Messages stored and balance: what a refused send must leave as it was.
async fn footprint(server: &Server, key: &str) -> (usize, String) {
    (server.all_messages(key, "").await.len(), server.balance(key).await)
}

#[tokio::test]
async fn more_parts_than_the_cap_are_refused_and_not_charged() {
    let (server, acme) = start();
    let key = &acme.api_key;
    let before = footprint(&server, key).await;
    for (body, what) in
        [("a".repeat(1531), "11 GSM parts"), ("ж".repeat(671), "11 UCS-2 parts"), ("ж".repeat(1600), "24 UCS-2 parts")]
    {
        let reply = send(&server, key, &json!({"to": TO, "from": "Acme", "body": body})).await;
        assert_eq!(problem_fields(assert_problem(&reply, 422)), ["body"], "{what}: {}", reply.text);
        assert!(reply.text.contains("more than the 10"), "{}", reply.text);
    }
    assert_eq!(footprint(&server, key).await, before, "nothing stored, nothing charged");
    // Ten parts are fine.
    for body in ["a".repeat(1530), "ж".repeat(670)] {
        let reply = send(&server, key, &json!({"to": TO, "from": "Acme", "body": body})).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        assert_eq!(reply.body["messages"][0]["parts"], 10);
    }
}

#[tokio::test]
async fn the_part_cap_is_configurable_and_applies_to_rendered_templates() {
    let server = Server::start(BIN, "[messages]\nmax_parts = 2\n");
    let acme = server.create_account("Acme", "10", "NL");
    let key = &acme.api_key;
    let reply = send(&server, key, &json!({"to": TO, "from": "Acme", "body": "a".repeat(307)})).await;
    assert_problem(&reply, 422);
    // A template short enough itself, made longer by a contact's field when rendered.
    let (status, group) =
        server.post(key, "/v1/groups", &json!({"name": "G", "fields": [{"name": "note", "type": "string"}]})).await;
    assert_eq!(status, 201, "{group}");
    let (status, contact) = server
        .post(
            key,
            "/v1/contacts",
            &json!({"phone": TO, "group_ids": [group["id"]], "fields": {"note": "x".repeat(310)}}),
        )
        .await;
    assert_eq!(status, 201, "{contact}");
    let before = footprint(&server, key).await;
    let body = json!({"contact_ids": [contact["id"]], "from": "Acme", "body": "Hi {{note}}"});
    let reply = send(&server, key, &body).await;
    assert_eq!(problem_fields(assert_problem(&reply, 422)), ["body"], "{}", reply.text);
    assert!(reply.text.contains("as rendered"), "{}", reply.text);
    assert_eq!(footprint(&server, key).await, before);
}

#[tokio::test]
async fn control_characters_are_refused_in_body_and_client_ref() {
    let (server, acme) = start();
    let key = &acme.api_key;
    let before = footprint(&server, key).await;
    for (field, value) in [
        ("body", "Hello\u{0}world"),
        ("body", "\u{1b}[31mred"),
        ("body", "del\u{7f}"),
        ("body", "c1\u{85}"),
        ("client_ref", "ref\u{0}"),
        ("client_ref", "ref\u{7}bell"),
    ] {
        let mut body = json!({"to": TO, "from": "Acme", "body": "Hi"});
        body[field] = json!(value);
        let reply = send(&server, key, &body).await;
        assert_eq!(problem_fields(assert_problem(&reply, 422)), [field], "{value:?}: {}", reply.text);
    }
    assert_eq!(footprint(&server, key).await, before, "nothing stored, nothing charged");
    let reply =
        send(&server, key, &json!({"to": TO, "from": "Acme", "body": "Line 1\nLine 2\r\n\tend", "client_ref": "a\tb"}))
            .await;
    assert_eq!(reply.status, 201, "newline, carriage return and tab are text: {}", reply.text);
}

#[tokio::test]
async fn a_leading_00_is_international_only_where_the_country_dials_00() {
    let server = Server::start(BIN, "");
    let us = server.create_account("Us", "10", "US");
    let nl = server.create_account("Nl", "10", "NL");
    let reply = send(&server, &us.api_key, &json!({"to": "0031612345678", "from": "Acme", "body": "Hi"})).await;
    assert_eq!(problem_fields(assert_problem(&reply, 422)), ["to[0]"], "{}", reply.text);
    assert_eq!(footprint(&server, &us.api_key).await, (0, "10.0000".to_owned()));
    let reply = send(&server, &us.api_key, &json!({"to": "011 31 6 12345678", "from": "Acme", "body": "Hi"})).await;
    assert_eq!(reply.body["messages"][0]["to"], TO, "011 is the US prefix: {}", reply.text);
    let reply = send(&server, &nl.api_key, &json!({"to": "0031612345678", "from": "Acme", "body": "Hi"})).await;
    assert_eq!(reply.body["messages"][0]["to"], TO, "00 is the Dutch prefix: {}", reply.text);
}

#[tokio::test]
async fn a_dialect_refuses_the_same_bounds_in_its_envelope() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "KE");
    let key = acme.api_key.as_str();
    let before = footprint(&server, key).await;
    for text in ["a".repeat(1531), "null\u{0}byte".to_owned()] {
        let body = format!("numbers=0701234567&message_body={}", urlencode(&text)).into_bytes();
        let headers = [("x-api-key", key), ("content-type", "application/x-www-form-urlencoded")];
        let r = Reply::read(server.raw("POST", "/api/v2/sms/send", &headers, body).await).await;
        assert_eq!(r.status, 400, "{}", r.text);
        assert!(
            r.body["error"].as_str().is_some_and(|e| e.starts_with("message_body")),
            "004's field name: {}",
            r.text
        );
    }
    assert_eq!(footprint(&server, key).await, before);
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

#[tokio::test]
async fn the_smpp_server_refuses_the_same_bounds_with_esme_rinvmsglen() {
    let (server, acme) = start();
    let user = acme.json["username"].as_str().unwrap();
    let password = acme.json["password"].as_str().unwrap();
    let esme = Peer::esme_js(&server.smpp, &["--system-id", user, "--password", password]);
    assert_eq!(esme.wait_event(15, "bind_resp").await["command_status"], 0);
    let before = footprint(&server, &acme.api_key).await;
    esme.send(&json!({"cmd": "submit_long", "tag": "long", "parts": "payload", "to": TO, "from": "Acme", "text": "a".repeat(1531)}));
    esme.send(&json!({"cmd": "submit", "tag": "nul", "to": TO, "from": "Acme", "text": "a\u{0}b", "data_coding": 8}));
    for tag in ["long", "nul"] {
        let resp = esme.wait_for(15, |e| e["event"] == "submit_sm_resp" && e["tag"] == tag).await;
        assert_eq!(resp["command_status"], 1, "ESME_RINVMSGLEN for {tag}: {resp}");
    }
    assert_eq!(footprint(&server, &acme.api_key).await, before, "nothing stored, nothing charged");
}
