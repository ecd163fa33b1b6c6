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

async fn balance_with(server: &Server, key: &str) -> Reply {
    Reply::read(server.raw("GET", "/api/v2/account/balance", &[("x-api-key", key)], Vec::new()).await).await
}

#[tokio::test]
async fn keys_are_generated_revoked_and_regenerated_with_the_accounts_password() {
    let server = Server::start(BIN, "");
    let (_, user, pass) = account(&server).await;
    let login = form(&[("username", &user), ("password", &pass)]);
    // The document's JSON example, with the credentials in the query.
    let r = post(&server, &format!("/api/generate-key?{login}"), "application/json", r#"{"expiry_days": 3}"#).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "success", "{}", r.text);
    let first = r.body["api_key"].as_str().expect("api_key").to_owned();
    let expires = r.body["expires_at"].as_str().expect("expires_at");
    let days = (expires.parse::<jiff::Timestamp>().unwrap() - jiff::Timestamp::now()).get_seconds() as f64 / 86_400.0;
    assert!((2.99..=3.0).contains(&days), "expires in {days} days");
    assert_eq!(balance_with(&server, &first).await.status, 200);
    // A second key beside it, the credentials in the form.
    let r = post(&server, "/api/generate-key", FORM, &format!("{login}&expiry_days=365")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let second = r.body["api_key"].as_str().expect("api_key").to_owned();
    assert_ne!(first, second);

    // The document's regenerate example: every key made here is replaced by one new key.
    let r = post(&server, &format!("/api/regenerate-key?{login}"), "application/json", r#"{"expiry_days": 9}"#).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["revoked"], 2, "{}", r.text);
    let third = r.body["api_key"].as_str().expect("api_key").to_owned();
    for old in [&first, &second] {
        let r = balance_with(&server, old).await;
        assert_eq!((r.status, r.body["error"].as_str()), (401, Some("Invalid API key")), "{}", r.text);
    }
    assert_eq!(balance_with(&server, &third).await.status, 200);

    // The document's revoke example (no body).
    let r = post(&server, &format!("/api/revoke-key?{login}"), "application/json", "").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["revoked"], 1, "{}", r.text);
    assert_eq!(balance_with(&server, &third).await.status, 401);
    let r = post(&server, &format!("/api/revoke-key?{login}"), "application/json", "").await;
    assert_eq!((r.status, &r.body["revoked"]), (200, &json!(0)), "{}", r.text);
}

#[tokio::test]
async fn key_requests_are_checked_before_anything_changes() {
    let server = Server::start(BIN, "");
    let (acme, user, pass) = account(&server).await;
    let login = form(&[("username", &user), ("password", &pass)]);
    let keys = || server.sql(&format!("SELECT count(*) FROM credentials WHERE account_id = '{}'", acme.id));
    let before = keys();
    for (body, error) in [
        (r#"{"expiry_days": 0}"#, "The expiry days field must be at least 1."),
        (r#"{"expiry_days": 366}"#, "The expiry days field must not be greater than 365."),
        (r#"{"expiry_days": "soon"}"#, "The expiry days field must be an integer."),
        (r#"{"expiry_days": 2.5}"#, "The expiry days field must be an integer."),
    ] {
        for path in ["/api/generate-key", "/api/regenerate-key"] {
            let r = post(&server, &format!("{path}?{login}"), "application/json", body).await;
            assert_eq!((r.status, &r.body), (422, &json!({"error": error})), "{path} {body}: {}", r.text);
        }
    }
    let r = post(&server, &format!("/api/generate-key?{login}"), "application/json", r#"{"expiry_days": 3"#).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.body["error"].as_str().is_some_and(|e| e.contains("JSON")), "{}", r.text);
    for path in ["/api/generate-key", "/api/revoke-key", "/api/regenerate-key"] {
        let wrong = form(&[("username", &user), ("password", "wrong")]);
        for query in [String::new(), wrong] {
            let r = post(&server, &format!("{path}?{query}"), "application/json", r#"{"expiry_days": 3}"#).await;
            assert_eq!((r.status, &r.body), (401, &json!({"error": "Unauthorized."})), "{path}: {}", r.text);
        }
    }
    assert_eq!(keys(), before, "no key was made or revoked");
}

#[tokio::test]
async fn an_expired_key_is_refused() {
    let server = Server::start(BIN, "");
    let (_, user, pass) = account(&server).await;
    let login = form(&[("username", &user), ("password", &pass)]);
    let r = post(&server, &format!("/api/generate-key?{login}"), FORM, "expiry_days=1").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let key = r.body["api_key"].as_str().expect("api_key");
    // A day later (the clock cannot be moved; the key's end is).
    server.sql("UPDATE credentials SET expires_at = 1000 WHERE kind = 'issued_api_key'");
    let r = balance_with(&server, key).await;
    assert_eq!((r.status, r.body["error"].as_str()), (401, Some("Invalid API key")), "{}", r.text);
}

#[tokio::test]
async fn a_wrong_method_gets_the_dialects_own_405() {
    let server = Server::start(BIN, "");
    for (method, path) in [
        ("DELETE", "/api/v2/sms/send"),
        ("POST", "/api/v2/account/balance"),
        ("POST", "/api/v2"),
        ("GET", "/api/generate-key"),
        ("GET", "/api/revoke-key"),
        ("PUT", "/api/regenerate-key"),
    ] {
        let r = Reply::read(server.raw(method, path, &[], Vec::new()).await).await;
        assert_eq!((r.status, &r.body), (405, &json!({"error": "Method not allowed."})), "{method} {path}: {}", r.text);
    }
    // 003's paths, and the one both share, answer in 003's envelope.
    for (method, path) in [("GET", "/v1/sms/send"), ("GET", "/v1/sms/queue"), ("POST", "/v1/sms/messages")] {
        let r = Reply::read(server.raw(method, path, &[], Vec::new()).await).await;
        assert_eq!((r.status, &r.body["status"]), (405, &json!("error")), "{method} {path}: {}", r.text);
        assert!(r.body["message"].is_string(), "{}", r.text);
    }
}
