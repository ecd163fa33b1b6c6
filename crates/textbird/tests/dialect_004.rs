//! Dialect 004 (generic `/v1/sms/send`): username/password as URL query or form params,
//! comma-separated local numbers read in the account's country, the document's exact error
//! bodies, and the shared path telling 003's requests from 004's.

use serde_json::{Value, json};
use textbird_test_support::{Account, Reply, Server, eventually};

const BIN: &str = env!("CARGO_BIN_EXE_textbird");
const FORM: &str = "application/x-www-form-urlencoded";

/// A Kenyan account owning a number to send from.
async fn account(server: &Server) -> (Account, String, String) {
    let acme = server.create_account("Acme", "10", "KE");
    let (status, body) = server.post(&acme.api_key, "/v1/numbers", &json!({"number": "+254722000000"})).await;
    assert_eq!(status, 201, "{body}");
    let user = acme.json["username"].as_str().expect("username").to_owned();
    let pass = acme.json["password"].as_str().expect("password").to_owned();
    (acme, user, pass)
}

fn form(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{k}={}", urlencode(v))).collect::<Vec<_>>().join("&")
}

fn urlencode(v: &str) -> String {
    v.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }
        })
        .collect()
}

async fn post(server: &Server, path: &str, content_type: &str, body: &str) -> Reply {
    Reply::read(server.raw("POST", path, &[("content-type", content_type)], body.as_bytes().to_vec()).await).await
}

#[tokio::test]
async fn the_documents_form_example_sends_to_every_local_number_and_they_are_delivered() {
    let server = Server::start(BIN, "");
    let (acme, user, pass) = account(&server).await;
    let body = form(&[
        ("numbers", "0701234567, 0712345678"),
        ("message_body", "Hello, this is a test message."),
        ("username", &user),
        ("password", &pass),
    ]);
    let r = post(&server, "/v1/sms/send", FORM, &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "success", "{}", r.text);
    let data = r.body["data"].as_array().expect("data");
    let numbers: Vec<&str> = data.iter().map(|d| d["number"].as_str().unwrap()).collect();
    assert_eq!(numbers, ["254701234567", "254712345678"]);
    for d in data {
        assert_eq!(d["status"], "queued");
        let id = d["message_id"].as_str().expect("message_id");
        let (status, m) = server.get(&acme.api_key, &format!("/v1/messages/{id}")).await;
        assert_eq!(status, 200, "{m}");
        assert_eq!(m["body"], "Hello, this is a test message.");
        assert_eq!(m["from"], "+254722000000");
        eventually(20, "delivery", || async {
            let (_, m) = server.get(&acme.api_key, &format!("/v1/messages/{id}")).await;
            (m["status"] == "delivered").then_some(())
        })
        .await;
    }
}

#[tokio::test]
async fn credentials_and_fields_may_come_in_the_url_query_or_as_json() {
    let server = Server::start(BIN, "");
    let (acme, user, pass) = account(&server).await;
    let query = form(&[("username", &user), ("password", &pass), ("numbers", "0701234567"), ("message_body", "Hi")]);
    let r = post(&server, &format!("/v1/sms/send?{query}"), FORM, "").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let creds = form(&[("username", &user), ("password", &pass)]);
    let body = json!({"numbers": "0712345678", "message_body": "Hi"}).to_string();
    let r = post(&server, &format!("/v1/sms/send?{creds}"), "application/json", &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(server.all_messages(&acme.api_key, "").await.len(), 2);
}

#[tokio::test]
async fn errors_are_the_documents_exact_bodies_and_send_nothing() {
    let server = Server::start(BIN, "");
    let (acme, user, pass) = account(&server).await;
    let unauthorized = json!({"error": "Unauthorized."});
    let invalid = json!({"error": "Invalid phone number format."});
    for (u, p) in [(user.as_str(), "wrong"), ("nobody", pass.as_str()), ("", "")] {
        let r = post(
            &server,
            "/v1/sms/send",
            FORM,
            &form(&[("username", u), ("password", p), ("numbers", "0701234567"), ("message_body", "Hi")]),
        )
        .await;
        assert_eq!((r.status, &r.body), (401, &unauthorized), "{}", r.text);
    }
    let r = post(&server, "/v1/sms/send", FORM, &form(&[("numbers", "0701234567"), ("message_body", "Hi")])).await;
    assert_eq!((r.status, &r.body), (401, &unauthorized), "{}", r.text);
    for numbers in ["12345", "", "07012345678901234", "abc, def"] {
        let r = post(
            &server,
            "/v1/sms/send",
            FORM,
            &form(&[("username", &user), ("password", &pass), ("numbers", numbers), ("message_body", "Hi")]),
        )
        .await;
        assert_eq!((r.status, &r.body), (400, &invalid), "{numbers:?}: {}", r.text);
    }
    let r = post(
        &server,
        "/v1/sms/send",
        FORM,
        &form(&[("username", &user), ("password", &pass), ("numbers", "0701234567")]),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.body["error"].as_str().is_some_and(|e| e.contains("message_body")), "{}", r.text);
    assert!(server.all_messages(&acme.api_key, "").await.is_empty());
    assert_eq!(server.balance(&acme.api_key).await, "10.0000");
}

#[tokio::test]
async fn a_bad_number_among_good_ones_is_reported_beside_the_sent_ones() {
    let server = Server::start(BIN, "");
    let (acme, user, pass) = account(&server).await;
    let r = post(
        &server,
        "/v1/sms/send",
        FORM,
        &form(&[("username", &user), ("password", &pass), ("numbers", "0701234567,123"), ("message_body", "Hi")]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let data: &Vec<Value> = r.body["data"].as_array().unwrap();
    assert_eq!(data[0]["status"], "queued");
    assert_eq!(data[1]["number"], "123");
    assert_eq!(data[1]["status"], "rejected");
    assert!(data[1]["message_id"].is_null());
    assert_eq!(server.all_messages(&acme.api_key, "").await.len(), 1);
}

#[tokio::test]
async fn the_shared_path_tells_003_requests_from_004_requests() {
    let server = Server::start(BIN, "");
    let (acme, user, _) = account(&server).await;
    // A Bearer token with to/message is 003's, whatever else is there.
    let auth = format!("Bearer {}", acme.api_key);
    let headers = [("authorization", auth.as_str()), ("content-type", "application/json")];
    let body = json!({"to": "254701234567", "message": "Hi"}).to_string().into_bytes();
    let r = Reply::read(server.raw("POST", "/v1/sms/send", &headers, body).await).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["data"]["to"], "254701234567");
    // 004's fields without a token are 004's: its own 401 body.
    let r = post(&server, &format!("/v1/sms/send?username={user}"), FORM, "numbers=0701234567&message_body=Hi").await;
    assert_eq!(r.body, json!({"error": "Unauthorized."}), "{}", r.text);
    // A body that is not JSON, without a token: 004's envelope.
    let r = post(&server, &format!("/v1/sms/send?username={user}"), "application/json", "{\"numbers\":").await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.body["error"].as_str().is_some_and(|e| e.contains("JSON")), "{}", r.text);
    // Neither: 003's envelope.
    let r = post(&server, "/v1/sms/send", FORM, "to=254701234567&message=Hi").await;
    assert_eq!((r.status, &r.body["status"]), (401, &json!("error")), "{}", r.text);
}

#[tokio::test]
async fn api_v2_takes_an_api_key_in_the_header_or_a_parameter() {
    let server = Server::start(BIN, "");
    let (acme, _, _) = account(&server).await;
    let key = acme.api_key.as_str();
    let required = json!({"error": "API key is required", "help": "Provide X-API-Key header or api_key parameter"});
    for (method, path) in
        [("GET", "/api/v2/sms/send"), ("POST", "/api/v2/sms/send"), ("GET", "/api/v2/account/balance")]
    {
        let r = Reply::read(server.raw(method, path, &[("accept", "application/json")], Vec::new()).await).await;
        assert_eq!((r.status, &r.body), (401, &required), "{method} {path}: {}", r.text);
    }
    let r = Reply::read(server.raw("GET", "/api/v2/account/balance", &[("x-api-key", "tbk_wrong")], Vec::new()).await)
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.body["error"], "Invalid API key");
    let r = Reply::read(server.raw("GET", "/api/v2/account/balance", &[("x-api-key", key)], Vec::new()).await).await;
    assert_eq!((r.status, &r.body), (200, &json!({"status": "success", "balance": "10.0000"})), "{}", r.text);

    let body = form(&[("numbers", "0701234567"), ("message_body", "Hi")]).into_bytes();
    let r =
        Reply::read(server.raw("POST", "/api/v2/sms/send", &[("x-api-key", key), ("content-type", FORM)], body).await)
            .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["data"][0]["number"], "254701234567");
    let query = form(&[("api_key", key), ("numbers", "0712345678"), ("message_body", "Hi")]);
    let r = Reply::read(server.raw("GET", &format!("/api/v2/sms/send?{query}"), &[], Vec::new()).await).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let query = form(&[("api_key", key), ("numbers", "12"), ("message_body", "Hi")]);
    let r = Reply::read(server.raw("GET", &format!("/api/v2/sms/send?{query}"), &[], Vec::new()).await).await;
    assert_eq!((r.status, &r.body), (400, &json!({"error": "Invalid phone number format."})), "{}", r.text);
    assert_eq!(server.all_messages(key, "").await.len(), 2);
    let r =
        Reply::read(server.raw("GET", &format!("/api/v2/account/balance?api_key={key}"), &[], Vec::new()).await).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_ne!(r.body["balance"], "10.0000", "the sends were paid for");
}

#[tokio::test]
async fn the_documentation_pages_are_html() {
    let server = Server::start(BIN, "");
    for (path, needle) in [("/api/v2", "/api/v2/sms/send"), ("/api/oauth2-callback", "oauth2-redirect.js")] {
        let r = Reply::read(server.raw("GET", path, &[("accept", "application/json")], Vec::new()).await).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert!(r.header("content-type").is_some_and(|c| c.starts_with("text/html")), "{path}");
        assert!(r.text.contains(needle), "{path}: {}", r.text);
    }
}

#[tokio::test]
async fn api_v2_allows_60_requests_a_minute_per_key_and_says_how_many_are_left() {
    let server = Server::start(BIN, "");
    let (acme, _, _) = account(&server).await;
    let key = acme.api_key.as_str();
    for left in (0..60).rev() {
        let r =
            Reply::read(server.raw("GET", "/api/v2/account/balance", &[("x-api-key", key)], Vec::new()).await).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.header("x-ratelimit-limit"), Some("60"));
        assert_eq!(r.header("x-ratelimit-remaining"), Some(left.to_string().as_str()));
    }
    let r = Reply::read(server.raw("GET", &format!("/api/v2/sms/send?api_key={key}"), &[], Vec::new()).await).await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert!(r.body["error"].is_string(), "{}", r.text);
    assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
    // The native API and the other dialects are not counted against it.
    assert_eq!(server.get(key, "/v1/account").await.0, 200);
}
