//! Dialect 000 ("Bwatmesaj" style, `/api/v3`): the document's example requests replayed as
//! written (three of them are not valid JSON and get the dialect's 400), then corrected; contact
//! lists and contacts; campaigns personalised with contact fields; the Laravel paginator; every
//! error in the dialect's own envelope; and a message sent through the dialect seen, delivered
//! and charged as the native message it is.

use serde_json::{Value, json};
use textbird_test_support::{Reply, Server, eventually, millis};

const BIN: &str = env!("CARGO_BIN_EXE_textbird");
/// A number the account owns (receives inbound messages).
const OWN: &str = "+31612000000";

/// The document's examples, byte for byte (with the account's token in place of its `13|...`).
const SEND_SINGLE: &str = r#"{
"recipient":"31612345678",
"sender_id":"YourName",
"type":"plain",
"message":"This is a test message"
}"#;
const SEND_SCHEDULED: &str = r#"{
"recipient":"31612345678,880172145789",
"sender_id":"YourName",
"type":"plain",
"message":"This is a test message",
"schedule_time=2021-12-20 07:00"
}"#;
const CONTACT: &str = r#"{
"PHONE":"8801721970168",
"FIRST_NAME":"Jhon",
"LAST_NAME":"Doe",
}"#;

/// The campaign examples with a contact list's uid in place of the document's.
fn campaign_single(list: &str) -> String {
    format!(
        "{{\n\"recipient\":\"{list}\",\n\"sender_id\":\"YourName\",\n\"type\":\"plain\",\n\"message\":\"This is a test message\"\n}}"
    )
}
fn campaign_scheduled(lists: &str) -> String {
    format!(
        "{{\n\"recipient\":\"{lists}\",\n\"sender_id\":\"YourName\",\n\"type\":\"plain\",\n\"message\":\"This is a test message\",\n\"schedule_time=2021-12-20 07:00\"\n}}"
    )
}

/// A Dutch account (the first one owns `OWN`): its `api_token` (for 000) and its API key (for
/// `/v1`).
async fn account(server: &Server, name: &str) -> (String, String) {
    let acct = server.create_account(name, "10", "NL");
    if name == "Acme" {
        let (status, body) = server.post(&acct.api_key, "/v1/numbers", &json!({"number": OWN})).await;
        assert_eq!(status, 201, "{body}");
    }
    let token = acct.json["api_token"].as_str().expect("api_token").to_owned();
    assert!(token.split_once('|').is_some_and(|(n, _)| n.parse::<u64>().is_ok()), "{token}");
    (token, acct.api_key)
}

/// A request as the document's curl examples make it: Bearer token, JSON content type, JSON
/// accepted.
async fn call(server: &Server, method: &str, path: &str, token: Option<&str>, body: &str) -> Reply {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", "application/json"), ("accept", "application/json")];
    if let Some(b) = &bearer {
        headers.push(("authorization", b.as_str()));
    }
    Reply::read(server.raw(method, path, &headers, body.as_bytes().to_vec()).await).await
}

fn ok(r: &Reply) -> &Value {
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "success", "{}", r.text);
    &r.body["data"]
}

fn assert_error(r: &Reply, status: u16) -> String {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.body["status"], "error", "{}", r.text);
    let m = r.body["message"].as_str().unwrap_or_else(|| panic!("no message: {}", r.text));
    assert!(!m.is_empty(), "{}", r.text);
    m.to_owned()
}

fn is_uid(v: &Value) -> bool {
    v.as_str().is_some_and(|u| u.len() == 13 && u.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A new contact list; its uid.
async fn list(server: &Server, token: &str, name: &str) -> String {
    let r = call(server, "POST", "/api/v3/contacts", Some(token), &json!({"name": name}).to_string()).await;
    let data = ok(&r);
    assert!(is_uid(&data["uid"]), "{}", r.text);
    assert_eq!(data["name"], name);
    data["uid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_documents_send_examples_are_answered_and_the_malformed_one_is_a_400() {
    let server = Server::start(BIN, "");
    let (token, key) = account(&server, "Acme").await;
    let r = call(&server, "POST", "/api/v3/sms/send", Some(&token), SEND_SINGLE).await;
    let m = ok(&r);
    assert!(is_uid(&m["uid"]), "{}", r.text);
    assert_eq!(m["to"], "31612345678");
    assert_eq!(m["from"], "YourName");
    assert_eq!(m["message"], "This is a test message");
    assert_eq!(m["sms_type"], "plain");
    assert_eq!(m["direction"], "outgoing");
    assert_eq!(m["sms_count"], 1);
    assert!(["Pending", "Sent", "Delivered"].contains(&m["status"].as_str().unwrap()), "{}", r.text);
    assert!(m["cost"].is_string() && m["created_at"].as_str().unwrap().ends_with('Z'));
    // The document's second example is not JSON (`"schedule_time=..."` inside an object).
    let e = assert_error(&call(&server, "POST", "/api/v3/sms/send", Some(&token), SEND_SCHEDULED).await, 400);
    assert!(e.contains("JSON"), "{e}");
    assert_eq!(server.all_messages(&key, "").await.len(), 1);
    // Read back by uid, as the document's third example does.
    let uid = m["uid"].as_str().unwrap();
    let r = call(&server, "GET", &format!("/api/v3/sms/{uid}"), Some(&token), "").await;
    assert_eq!(ok(&r)["message"], "This is a test message");
    assert_eq!(ok(&r)["uid"], uid);
    // The document's own uid belongs to nobody here.
    assert_error(&call(&server, "GET", "/api/v3/sms/606812e63f78b", Some(&token), "").await, 404);
}

#[tokio::test]
async fn several_recipients_and_a_schedule_time_in_the_accounts_zone() {
    let server = Server::start(BIN, "");
    let out = server.cli(&[
        "accounts",
        "create",
        "--name",
        "Zed",
        "--balance",
        "10",
        "--country",
        "NL",
        "--timezone",
        "Europe/Amsterdam",
    ]);
    let acct: Value = serde_json::from_slice(out.stdout.rsplit(|b| *b == b'\n').find(|l| !l.is_empty()).unwrap())
        .expect("account JSON");
    let (token, key) = (acct["api_token"].as_str().unwrap(), acct["api_key"].as_str().unwrap());
    // The corrected second example, scheduled a month ahead: its time is Amsterdam's.
    let local = jiff::Zoned::now()
        .in_tz("Europe/Amsterdam")
        .unwrap()
        .checked_add(jiff::Span::new().days(30))
        .unwrap()
        .datetime()
        .round(jiff::Unit::Minute)
        .unwrap();
    let utc = local.in_tz("Europe/Amsterdam").unwrap().timestamp().strftime("%Y-%m-%dT%H:%M:%S").to_string();
    let body = json!({
        "recipient": "31612345678,8801721970168", "sender_id": "YourName", "type": "plain",
        "message": "This is a test message", "schedule_time": local.strftime("%Y-%m-%d %H:%M").to_string(),
        "dlt_template_id": "1107161234",
    });
    let r = call(&server, "POST", "/api/v3/sms/send", Some(token), &body.to_string()).await;
    let data = ok(&r).as_array().expect("one message per recipient").clone();
    assert_eq!(data.len(), 2);
    assert_eq!(data[1]["to"], "8801721970168");
    for m in &data {
        assert_eq!(m["status"], "Scheduled", "{}", r.text);
        assert_eq!(m["schedule_time"], format!("{utc}.000000Z"));
        assert_eq!(m["dlt_template_id"], "1107161234");
    }
    let native = server.all_messages(key, "").await;
    let at = millis(&format!("{utc}Z"));
    assert!(native.iter().all(|m| millis(m["send_at"].as_str().unwrap()) == at && m["client_ref"] == "1107161234"));
    // RFC 3339 is read too; a bad number among good ones is reported beside the sent ones.
    let body = json!({
        "recipient": "31612345678,12", "sender_id": "31612000000", "type": "unicode",
        "message": "Hi", "schedule_time": format!("{}+00:00", utc),
    });
    let r = call(&server, "POST", "/api/v3/sms/send", Some(token), &body.to_string()).await;
    assert_eq!(ok(&r).as_array().map(Vec::len), Some(1), "{}", r.text);
    assert_eq!(ok(&r)[0]["schedule_time"], format!("{utc}.000000Z"));
    assert_eq!(ok(&r)[0]["from"], "31612000000");
    assert!(r.body["message"].as_str().is_some_and(|m| m.contains("1 of 2") && m.contains("12")), "{}", r.text);
}

#[tokio::test]
async fn a_message_sent_through_the_dialect_is_the_native_message_delivered_and_charged() {
    let server = Server::start(BIN, "");
    let (token, key) = account(&server, "Acme").await;
    let r = call(&server, "POST", "/api/v3/sms/send", Some(&token), SEND_SINGLE).await;
    let uid = ok(&r)["uid"].as_str().unwrap().to_owned();
    let cost = ok(&r)["cost"].as_str().unwrap().to_owned();
    let native = server.all_messages(&key, "").await;
    assert_eq!(native.len(), 1);
    let id = native[0]["id"].as_str().unwrap();
    let (status, m) = server.get(&key, &format!("/v1/messages/{id}")).await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(
        (&m["to"], &m["from"], &m["body"]),
        (&json!("+31612345678"), &json!("YourName"), &json!(SEND_SINGLE_TEXT))
    );
    assert_eq!(m["price"], cost);
    let balance: f64 = server.balance(&key).await.parse().unwrap();
    assert!((10.0 - balance - cost.parse::<f64>().unwrap()).abs() < 1e-9, "charged the message's cost");
    eventually(20, "delivery", || async {
        let (_, m) = server.get(&key, &format!("/v1/messages/{id}")).await;
        (m["status"] == "delivered").then_some(())
    })
    .await;
    let r = call(&server, "GET", &format!("/api/v3/sms/{uid}"), Some(&token), "").await;
    assert_eq!(ok(&r)["status"], "Delivered");
    let r = call(&server, "GET", "/api/v3/balance", Some(&token), "").await;
    assert_eq!(ok(&r)["remaining_balance"], server.balance(&key).await);
    let r = call(&server, "GET", "/api/v3/me", Some(&token), "").await;
    assert_eq!(ok(&r)["name"], "Acme");
    assert_eq!(ok(&r)["timezone"], "UTC");
}

const SEND_SINGLE_TEXT: &str = "This is a test message";

#[tokio::test]
async fn contact_lists_and_contacts_round_trip_by_uid() {
    let server = Server::start(BIN, "");
    let (token, _) = account(&server, "Acme").await;
    let t = Some(token.as_str());
    let group = list(&server, &token, "Customers").await;
    let base = format!("/api/v3/contacts/{group}");
    // The document's store example has a trailing comma: not JSON.
    assert_error(&call(&server, "POST", &format!("{base}/store"), t, CONTACT).await, 400);
    let fixed = CONTACT.replace("\"Doe\",\n}", "\"Doe\"\n}");
    let r = call(&server, "POST", &format!("{base}/store"), t, &fixed).await;
    let c = ok(&r).clone();
    assert!(is_uid(&c["uid"]), "{}", r.text);
    assert_eq!(
        (&c["phone"], &c["first_name"], &c["group_id"]),
        (&json!("8801721970168"), &json!("Jhon"), &json!(group))
    );
    assert_eq!(c["fields"]["LAST_NAME"], "Doe");
    let cu = c["uid"].as_str().unwrap();
    for method in ["POST", "GET"] {
        let r = call(&server, method, &format!("{base}/search/{cu}"), t, "").await;
        assert_eq!(ok(&r)["first_name"], "Jhon");
        let r = call(&server, method, &format!("{base}/all"), t, "").await;
        assert_eq!(ok(&r)["total"], 1);
        assert_eq!(ok(&r)["data"][0]["uid"], cu);
    }
    // The document's update example, as written and corrected.
    assert_error(&call(&server, "PATCH", &format!("{base}/update/{cu}"), t, CONTACT).await, 400);
    let change = json!({"PHONE": "8801721970168", "FIRST_NAME": "John"}).to_string();
    let r = call(&server, "PATCH", &format!("{base}/update/{cu}"), t, &change).await;
    assert_eq!((&ok(&r)["first_name"], &ok(&r)["last_name"]), (&json!("John"), &json!("Doe")));
    // The group endpoints.
    let r = call(&server, "POST", &format!("{base}/show"), t, "").await;
    assert_eq!(ok(&r)["name"], "Customers");
    let r = call(&server, "PATCH", &base, t, &json!({"name": "Clients"}).to_string()).await;
    assert_eq!(ok(&r)["name"], "Clients");
    let r = call(&server, "GET", "/api/v3/contacts", t, "").await;
    assert_eq!((&ok(&r)["total"], &ok(&r)["data"][0]["uid"]), (&json!(1), &json!(group)));
    // The same number in a second list is the same contact; deleting it there keeps it here.
    let other = list(&server, &token, "Other").await;
    let again = json!({"PHONE": "+8801721970168", "LAST_NAME": "Roe"}).to_string();
    let r = call(&server, "POST", &format!("/api/v3/contacts/{other}/store"), t, &again).await;
    assert_eq!(
        (&ok(&r)["uid"], &ok(&r)["first_name"], &ok(&r)["last_name"]),
        (&json!(cu), &json!("John"), &json!("Roe"))
    );
    assert_error(&call(&server, "POST", &format!("/api/v3/contacts/{other}/store"), t, &again).await, 409);
    ok(&call(&server, "DELETE", &format!("/api/v3/contacts/{other}/delete/{cu}"), t, "").await);
    ok(&call(&server, "POST", &format!("{base}/search/{cu}"), t, "").await);
    // Delete, as the document's example does; then it is gone.
    let r = call(&server, "DELETE", &format!("{base}/delete/{cu}"), t, "").await;
    assert_eq!(ok(&r)["uid"], cu);
    assert_error(&call(&server, "POST", &format!("{base}/search/{cu}"), t, "").await, 404);
    let r = call(&server, "DELETE", &base, t, "").await;
    assert_eq!(ok(&r)["uid"], group);
    assert_error(&call(&server, "POST", &format!("{base}/show"), t, "").await, 404);
}

#[tokio::test]
async fn a_campaign_reaches_every_contact_of_its_lists_personalised() {
    let server = Server::start(BIN, "");
    let (token, key) = account(&server, "Acme").await;
    let t = Some(token.as_str());
    let (a, b) = (list(&server, &token, "A").await, list(&server, &token, "B").await);
    for (group, phone, name) in [(&a, "31612345678", "Ann"), (&b, "31612345679", "Bob")] {
        let body = json!({"PHONE": phone, "FIRST_NAME": name}).to_string();
        ok(&call(&server, "POST", &format!("/api/v3/contacts/{group}/store"), t, &body).await);
    }
    // The document's first example, as written (the list's uid in `recipient`).
    let r = call(&server, "POST", "/api/v3/sms/campaign", t, &campaign_single(&a)).await;
    let data = ok(&r);
    assert_eq!((&data["recipients"], &data["contact_list_id"]), (&json!(1), &json!([a])), "{}", r.text);
    assert!(is_uid(&data["messages"][0]["uid"]));
    // The second is not JSON.
    assert_error(
        &call(&server, "POST", "/api/v3/sms/campaign", t, &campaign_scheduled(&format!("{a},{b}"))).await,
        400,
    );
    // Both lists, with field tags in 000's capitals and the native spelling.
    let body = json!({
        "contact_list_id": format!("{a},{b}"), "sender_id": "YourName", "type": "plain",
        "message": "Hi {FIRST_NAME}, {{first_name}}! {not a tag} {PHONE}",
    });
    let r = call(&server, "POST", "/api/v3/sms/campaign", t, &body.to_string()).await;
    let data = ok(&r);
    let mut texts: Vec<&str> =
        data["messages"].as_array().unwrap().iter().map(|m| m["message"].as_str().unwrap()).collect();
    texts.sort_unstable();
    assert_eq!(texts, ["Hi Ann, Ann! {not a tag} +31612345678", "Hi Bob, Bob! {not a tag} +31612345679"]);
    let uid = data["messages"][0]["uid"].as_str().unwrap();
    let r = call(&server, "GET", &format!("/api/v3/sms/{uid}"), t, "").await;
    assert!(ok(&r)["message"].as_str().unwrap().starts_with("Hi "), "{}", r.text);
    assert_eq!(server.all_messages(&key, "").await.len(), 3);
    // An unknown field tag in double braces is refused rather than sent as is.
    let body = json!({"contact_list_id": a, "sender_id": "YourName", "type": "plain", "message": "Hi {{NICKNAME}}"});
    assert_error(&call(&server, "POST", "/api/v3/sms/campaign", t, &body.to_string()).await, 422);
}

#[tokio::test]
async fn the_list_is_a_laravel_paginator_over_sent_and_received_messages() {
    let server = Server::start(BIN, "");
    let (token, key) = account(&server, "Acme").await;
    let t = Some(token.as_str());
    for i in 0..3 {
        let body = json!({"recipient": "31612345678", "sender_id": "YourName", "type": "plain", "message": format!("out {i}")});
        ok(&call(&server, "POST", "/api/v3/sms/send", t, &body.to_string()).await);
    }
    let (status, b) =
        server.post(&key, "/v1/simulator/inbound", &json!({"from": "+31612345678", "to": OWN, "body": "in 0"})).await;
    assert_eq!(status, 202, "{b}");
    eventually(10, "inbound stored", || async {
        let (_, page) = server.get(&key, "/v1/inbound").await;
        (page["data"].as_array().map_or(0, Vec::len) == 1).then_some(())
    })
    .await;
    let r = call(&server, "GET", "/api/v3/sms", t, "").await;
    let page = ok(&r);
    assert_eq!(
        (&page["total"], &page["current_page"], &page["last_page"], &page["per_page"]),
        (&json!(4), &json!(1), &json!(1), &json!(15))
    );
    let texts: Vec<&str> = page["data"].as_array().unwrap().iter().map(|m| m["message"].as_str().unwrap()).collect();
    assert_eq!(texts, ["in 0", "out 2", "out 1", "out 0"]);
    let inbound = &page["data"][0];
    assert_eq!(
        (&inbound["direction"], &inbound["from"], &inbound["to"]),
        (&json!("incoming"), &json!("31612345678"), &json!("31612000000"))
    );
    let r = call(&server, "GET", &format!("/api/v3/sms/{}", inbound["uid"].as_str().unwrap()), t, "").await;
    assert_eq!(ok(&r)["message"], "in 0");
    // Pages of three.
    let r = call(&server, "GET", "/api/v3/sms?per_page=3&page=2", t, "").await;
    let page = ok(&r);
    assert_eq!((&page["from"], &page["to"], &page["last_page"]), (&json!(4), &json!(4), &json!(2)), "{}", r.text);
    assert_eq!(page["data"][0]["message"], "out 0");
    assert!(page["next_page_url"].is_null());
    assert!(page["prev_page_url"].as_str().unwrap().ends_with("/api/v3/sms?page=1&per_page=3"));
    assert!(page["path"].as_str().unwrap().ends_with("/api/v3/sms"));
    assert_error(&call(&server, "GET", "/api/v3/sms?page=zero", t, "").await, 422);
    // The document's endpoint line has a trailing slash.
    assert_eq!(ok(&call(&server, "GET", "/api/v3/sms/", t, "").await)["total"], 4);
}

#[tokio::test]
async fn every_endpoint_answers_bad_input_in_the_dialects_envelope() {
    let server = Server::start(BIN, "");
    let (token, key) = account(&server, "Acme").await;
    let (other, _) = account(&server, "Other").await;
    let t = Some(token.as_str());
    let g = list(&server, &token, "Mine").await;
    let theirs = list(&server, &other, "Theirs").await;
    let c = call(&server, "POST", &format!("/api/v3/contacts/{g}/store"), t, r#"{"PHONE": "31612345678"}"#).await;
    let c = ok(&c)["uid"].as_str().unwrap().to_owned();
    let their_c =
        call(&server, "POST", &format!("/api/v3/contacts/{theirs}/store"), Some(&other), r#"{"PHONE": "31612345678"}"#)
            .await;
    let their_c = ok(&their_c)["uid"].as_str().unwrap().to_owned();
    let send = r#"{"recipient": "31612345678", "sender_id": "Me", "type": "plain", "message": "Hi"}"#;
    let endpoints: Vec<(&str, String, String)> = vec![
        ("POST", "/api/v3/sms/send".into(), send.into()),
        (
            "POST",
            "/api/v3/sms/campaign".into(),
            format!(r#"{{"contact_list_id": "{g}", "sender_id": "Me", "type": "plain", "message": "Hi"}}"#),
        ),
        ("GET", "/api/v3/sms".into(), String::new()),
        ("GET", format!("/api/v3/sms/{c}"), String::new()),
        ("GET", "/api/v3/balance".into(), String::new()),
        ("GET", "/api/v3/me".into(), String::new()),
        ("POST", "/api/v3/contacts".into(), r#"{"name": "New"}"#.into()),
        ("GET", "/api/v3/contacts".into(), String::new()),
        ("POST", format!("/api/v3/contacts/{g}/show"), String::new()),
        ("PATCH", format!("/api/v3/contacts/{g}"), r#"{"name": "Renamed"}"#.into()),
        ("POST", format!("/api/v3/contacts/{g}/store"), r#"{"PHONE": "31612345670"}"#.into()),
        ("POST", format!("/api/v3/contacts/{g}/search/{c}"), String::new()),
        ("PATCH", format!("/api/v3/contacts/{g}/update/{c}"), r#"{"PHONE": "31612345678"}"#.into()),
        ("POST", format!("/api/v3/contacts/{g}/all"), String::new()),
        ("DELETE", format!("/api/v3/contacts/{g}/delete/{c}"), String::new()),
        ("DELETE", format!("/api/v3/contacts/{g}"), String::new()),
    ];
    for (method, path, body) in &endpoints {
        for bad in [None, Some("13|wrong"), Some("")] {
            let r = call(&server, method, path, bad, body).await;
            assert_error(&r, 401);
            assert_eq!(r.header("www-authenticate"), Some("Bearer"), "{method} {path}");
        }
        if !body.is_empty() {
            assert_error(&call(&server, method, path, t, "{\"name\": ").await, 400);
            assert_error(&call(&server, method, path, t, "[1, 2]").await, 400);
        }
    }
    // Missing and mistyped fields.
    for field in ["recipient", "sender_id", "type", "message"] {
        let mut body: Value = serde_json::from_str(send).unwrap();
        body.as_object_mut().unwrap().remove(field);
        let m = assert_error(&call(&server, "POST", "/api/v3/sms/send", t, &body.to_string()).await, 422);
        assert!(m.contains(field), "{m}");
        body[field] = json!(["x"]);
        let m = assert_error(&call(&server, "POST", "/api/v3/sms/send", t, &body.to_string()).await, 422);
        assert!(m.contains(field), "{m}");
    }
    let campaign = json!({"sender_id": "Me", "type": "plain", "message": "Hi"});
    assert!(
        assert_error(&call(&server, "POST", "/api/v3/sms/campaign", t, &campaign.to_string()).await, 422)
            .contains("contact_list_id")
    );
    for (path, body) in [
        ("/api/v3/contacts".to_owned(), json!({})),
        ("/api/v3/contacts".to_owned(), json!({"name": {"a": 1}})),
        (format!("/api/v3/contacts/{g}/store"), json!({"FIRST_NAME": "Ann"})),
        (format!("/api/v3/contacts/{g}/store"), json!({"PHONE": true})),
    ] {
        assert_error(&call(&server, "POST", &path, t, &body.to_string()).await, 422);
    }
    assert_error(&call(&server, "PATCH", &format!("/api/v3/contacts/{g}"), t, "{}").await, 422);
    assert_error(
        &call(&server, "PATCH", &format!("/api/v3/contacts/{g}/update/{c}"), t, r#"{"FIRST_NAME": "A"}"#).await,
        422,
    );
    // Invalid values.
    let m = assert_error(&call(&server, "POST", "/api/v3/sms/send", t, &send.replace("31612345678", "12")).await, 422);
    assert!(m.contains("recipient"), "{m}");
    assert_error(&call(&server, "POST", "/api/v3/sms/send", t, &send.replace("plain", "voice")).await, 422);
    assert_error(
        &call(
            &server,
            "POST",
            "/api/v3/sms/send",
            t,
            &send.replace("\"Hi\"", "\"Hi\", \"schedule_time\": \"tomorrow\""),
        )
        .await,
        422,
    );
    assert_error(
        &call(&server, "POST", "/api/v3/sms/send", t, &send.replace("\"Me\"", "\"Much too long a name\"")).await,
        422,
    );
    assert_error(&call(&server, "POST", &format!("/api/v3/contacts/{g}/store"), t, r#"{"PHONE": "12"}"#).await, 422);
    assert_error(
        &call(
            &server,
            "POST",
            &format!("/api/v3/contacts/{g}/store"),
            t,
            r#"{"PHONE": "31612345671", "COMPANY": "X"}"#,
        )
        .await,
        422,
    );
    assert_error(&call(&server, "GET", "/api/v3/sms?per_page=1000", t, "").await, 422);
    // Unknown uids, uids of another kind, and the other account's uids: 404.
    for uid in ["0123456789abc", "nope", theirs.as_str(), their_c.as_str(), c.as_str()] {
        assert_error(&call(&server, "GET", &format!("/api/v3/sms/{uid}"), t, "").await, 404);
    }
    for (group, contact) in [
        (theirs.as_str(), c.as_str()),
        (g.as_str(), their_c.as_str()),
        (g.as_str(), g.as_str()),
        ("0123456789abc", c.as_str()),
    ] {
        for (method, action) in [("POST", "search"), ("PATCH", "update"), ("DELETE", "delete")] {
            let path = format!("/api/v3/contacts/{group}/{action}/{contact}");
            assert_error(&call(&server, method, &path, t, r#"{"PHONE": "31612345678"}"#).await, 404);
        }
    }
    for (method, suffix) in [("POST", "/show"), ("POST", "/all"), ("PATCH", ""), ("DELETE", ""), ("POST", "/store")] {
        let path = format!("/api/v3/contacts/{theirs}{suffix}");
        assert_error(&call(&server, method, &path, t, r#"{"name": "X", "PHONE": "31612345670"}"#).await, 404);
    }
    let body = json!({"contact_list_id": theirs, "sender_id": "Me", "type": "plain", "message": "Hi"});
    assert_error(&call(&server, "POST", "/api/v3/sms/campaign", t, &body.to_string()).await, 404);
    // Wrong methods and unknown paths.
    assert_error(&call(&server, "GET", "/api/v3/sms/send", t, "").await, 405);
    assert_error(&call(&server, "PUT", &format!("/api/v3/contacts/{g}"), t, "{}").await, 405);
    assert_error(&call(&server, "GET", "/api/v3/nothing/here", t, "").await, 404);
    // None of it sent anything or cost anything.
    assert!(server.all_messages(&key, "").await.is_empty());
    assert_eq!(server.balance(&key).await, "10.0000");
}

#[tokio::test]
async fn page_urls_believe_forwarded_headers_only_from_trusted_proxies() {
    let forwarded = [("x-forwarded-host", "evil.example"), ("x-forwarded-proto", "https")];
    let cases = [
        ("", None),
        ("[http]\ntrusted_proxies = [\"127.0.0.0/8\"]\n", Some("https://evil.example")),
        (
            "[http]\npublic_base_url = \"https://sms.example.com/\"\ntrusted_proxies = [\"127.0.0.1\"]\n",
            Some("https://sms.example.com"),
        ),
    ];
    for (config, base) in cases {
        let server = Server::start(BIN, config);
        let (token, _) = account(&server, "Acme").await;
        let bearer = format!("Bearer {token}");
        let mut headers = vec![("authorization", bearer.as_str()), ("accept", "application/json")];
        headers.extend(forwarded);
        let r = Reply::read(server.raw("GET", "/api/v3/sms", &headers, Vec::new()).await).await;
        let path = ok(&r)["path"].as_str().unwrap().to_owned();
        // Untrusted: the Host the client connected to, never the forwarded one.
        let expected = base.map_or_else(|| format!("{}/api/v3/sms", server.base), |b| format!("{b}/api/v3/sms"));
        assert_eq!(path, expected, "config {config:?}");
    }
}
