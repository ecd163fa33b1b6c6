//! The verification (OTP) service against a real server and its simulated carrier: the code
//! is read from the recipient's simulated phone, as a handset would show it, never from the
//! database. Send → check approved, single use, 5 wrong checks then locked, re-sends of the
//! same code and the send limit, expiry by the injected clock, test numbers, the fraud guard
//! against a pumping run through one prefix range, allowed countries, bad input, and that no
//! code appears in the log, the database, webhooks or message objects.

use std::time::Duration;

use serde_json::{Value, json};
use textbird_test_support::{Server, WebhookSink, assert_problem, eventually, problem_fields};

const BIN: &str = env!("CARGO_BIN_EXE_textbird");
const CONFIG: &str = r#"
[simulator]
delivery_delay_ms = 20

[verifications]
test_numbers = ["+15005550006"]
test_code = "424242"
prefix_limit_per_hour = 20
safe_prefixes = ["316555"]
test_clock = true
"#;
const TO: &str = "+31612345678";

async fn create(server: &Server, key: &str, body: &Value) -> Value {
    let (status, v) = server.post(key, "/v1/verifications", body).await;
    assert_eq!(status, 201, "{v}");
    v
}

/// The code in the newest message `to`'s simulated phone shows.
async fn code_on_handset(server: &Server, key: &str, to: &str, messages: usize) -> String {
    let path = format!("/v1/simulator/messages?to={}", to.replace('+', "%2B"));
    let inbox: Vec<Value> = eventually(15, "the code on the handset", || async {
        let (status, inbox) = server.get(key, &path).await;
        assert_eq!(status, 200, "{inbox}");
        let inbox = inbox.as_array()?.clone();
        (inbox.len() >= messages).then_some(inbox)
    })
    .await;
    let body = inbox[0]["body"].as_str().unwrap();
    let code: String = body.chars().filter(char::is_ascii_digit).collect();
    assert!(!code.is_empty(), "no code in {body:?}");
    code
}

async fn check(server: &Server, key: &str, id: &str, code: &str) -> (u16, Value) {
    server.post(key, &format!("/v1/verifications/{id}/check"), &json!({"code": code})).await
}

fn wrong(code: &str) -> String {
    code.chars().map(|c| char::from(b'0' + (c as u8 - b'0' + 1) % 10)).collect()
}

#[tokio::test]
async fn a_code_read_from_the_handset_approves_once_and_is_masked_everywhere_else() {
    let server = Server::start(BIN, CONFIG);
    let acme = server.create_account("Acme", "10", "NL");
    let sink = WebhookSink::start(vec![]).await;
    let (status, _) = server
        .post(&acme.api_key, "/v1/webhooks", &json!({"url": sink.url, "events": ["verification.approved"]}))
        .await;
    assert_eq!(status, 201);

    let v = create(&server, &acme.api_key, &json!({"to": TO})).await;
    assert_eq!(v["status"], "pending");
    assert_eq!(v["to"], TO);
    assert_eq!(v["attempts_left"], 5);
    assert_eq!(v["sends_left"], 4);
    assert!(v["expires_at"].is_string());
    let id = v["id"].as_str().unwrap();
    let code = code_on_handset(&server, &acme.api_key, TO, 1).await;
    assert_eq!(code.len(), 6);

    let (status, answer) = check(&server, &acme.api_key, id, &code).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer, json!({"id": id, "status": "approved", "valid": true}));
    let (status, replay) = check(&server, &acme.api_key, id, &code).await;
    assert_eq!(status, 200);
    assert_eq!(replay["valid"], false, "a code is accepted once: {replay}");
    let (_, got) = server.get(&acme.api_key, &format!("/v1/verifications/{id}")).await;
    assert_eq!(got["status"], "approved");

    // The message object shows the text with the code masked.
    let messages = server.all_messages(&acme.api_key, "").await;
    assert_eq!(messages.len(), 1);
    let body = messages[0]["body"].as_str().unwrap();
    assert_eq!(body, "Your verification code is ******");
    let hooks = eventually(15, "the approved webhook", || async {
        let got = sink.received();
        (!got.is_empty()).then_some(got)
    })
    .await;
    let event = hooks[0].json();
    assert_eq!(event["type"], "verification.approved");
    assert_eq!(event["data"]["id"], id);
    assert!(!hooks[0].body.contains(&code), "the webhook carries no code");

    // Checking by number: a fresh verification, approved through /v1/verifications/check.
    let other = "+31612345679";
    create(&server, &acme.api_key, &json!({"to": other, "code_length": 8})).await;
    let code = code_on_handset(&server, &acme.api_key, other, 1).await;
    assert_eq!(code.len(), 8);
    let (status, bad) =
        server.post(&acme.api_key, "/v1/verifications/check", &json!({"to": other, "code": wrong(&code)})).await;
    assert_eq!(status, 200);
    let (_, unknown) =
        server.post(&acme.api_key, "/v1/verifications/check", &json!({"to": "+31612345670", "code": code})).await;
    assert_eq!(bad, unknown, "a wrong code and no such verification answer the same");
    let (status, ok) = server.post(&acme.api_key, "/v1/verifications/check", &json!({"to": other, "code": code})).await;
    assert_eq!(status, 200);
    assert_eq!(ok["status"], "approved");
    assert_eq!(ok["valid"], true);
}

#[tokio::test]
async fn five_wrong_codes_lock_the_verification_and_the_right_one_is_refused_after() {
    let server = Server::start(BIN, CONFIG);
    let acme = server.create_account("Acme", "10", "NL");
    let v = create(&server, &acme.api_key, &json!({"to": TO})).await;
    let id = v["id"].as_str().unwrap();
    let code = code_on_handset(&server, &acme.api_key, TO, 1).await;
    let bad = wrong(&code);
    for _ in 0..4 {
        let (status, answer) = check(&server, &acme.api_key, id, &bad).await;
        assert_eq!(status, 200);
        assert_eq!(answer, json!({"id": id, "status": "pending", "valid": false}));
    }
    let (_, unknown) = check(&server, &acme.api_key, "no-such-verification", &bad).await;
    assert_eq!(unknown, json!({"id": "no-such-verification", "status": "pending", "valid": false}));
    let (status, fifth) = check(&server, &acme.api_key, id, &bad).await;
    assert_eq!(status, 200);
    assert_eq!(fifth["status"], "max_attempts_reached");
    assert_eq!(fifth["valid"], false);
    let locked = server
        .request("POST", &acme.api_key, &format!("/v1/verifications/{id}/check"), Some(&json!({"code": code})), &[])
        .await;
    assert_problem(&locked, 429);
    assert!(locked.headers.contains_key("retry-after"));
    let (_, got) = server.get(&acme.api_key, &format!("/v1/verifications/{id}")).await;
    assert_eq!(got["status"], "max_attempts_reached");
    assert_eq!(got["attempts_left"], 0);
}

#[tokio::test]
async fn asking_again_resends_the_same_code_until_the_send_limit() {
    let server = Server::start(BIN, CONFIG);
    let acme = server.create_account("Acme", "10", "NL");
    let first = create(&server, &acme.api_key, &json!({"to": TO})).await;
    let code = code_on_handset(&server, &acme.api_key, TO, 1).await;
    for sends_left in (0..4).rev() {
        let again = create(&server, &acme.api_key, &json!({"to": TO})).await;
        assert_eq!(again["id"], first["id"], "the pending verification is re-sent");
        assert_eq!(again["sends_left"], sends_left);
    }
    assert_eq!(code_on_handset(&server, &acme.api_key, TO, 5).await, code, "the same code every time");
    let balance = server.balance(&acme.api_key).await;
    let sixth = server.request("POST", &acme.api_key, "/v1/verifications", Some(&json!({"to": TO})), &[]).await;
    let problem = assert_problem(&sixth, 429);
    assert_eq!(problem["type"], "/problems/verification-send-limit");
    let after: u64 = sixth.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=600).contains(&after), "Retry-After {after}");
    assert_eq!(server.balance(&acme.api_key).await, balance, "a refused send is not charged");
    assert_eq!(server.all_messages(&acme.api_key, "").await.len(), 5);
    let (status, answer) = check(&server, &acme.api_key, first["id"].as_str().unwrap(), &code).await;
    assert_eq!(status, 200);
    assert_eq!(answer["status"], "approved");
}

#[tokio::test]
async fn a_code_expires_by_the_injected_clock_and_a_canceled_one_is_refused() {
    let server = Server::start(BIN, CONFIG);
    let acme = server.create_account("Acme", "10", "NL");
    let sink = WebhookSink::start(vec![]).await;
    let (status, _) =
        server.post(&acme.api_key, "/v1/webhooks", &json!({"url": sink.url, "events": ["verification.expired"]})).await;
    assert_eq!(status, 201);
    let v = create(&server, &acme.api_key, &json!({"to": TO, "ttl_secs": 60})).await;
    let id = v["id"].as_str().unwrap();
    let code = code_on_handset(&server, &acme.api_key, TO, 1).await;
    // The SMS may not outlive the code.
    let messages = server.all_messages(&acme.api_key, "").await;
    let valid_until = textbird_test_support::millis(messages[0]["valid_until"].as_str().unwrap());
    let expires_at = textbird_test_support::millis(v["expires_at"].as_str().unwrap());
    assert!(valid_until <= expires_at + 1000, "validity {valid_until} past the code's expiry {expires_at}");

    let (status, clock) = server.post(&acme.api_key, "/v1/simulator/clock", &json!({"advance_secs": 61})).await;
    assert_eq!(status, 200, "{clock}");
    let (status, answer) = check(&server, &acme.api_key, id, &code).await;
    assert_eq!(status, 200);
    assert_eq!(answer, json!({"id": id, "status": "expired", "valid": false}));
    let hooks = eventually(15, "the expired webhook", || async {
        let got = sink.received();
        (!got.is_empty()).then_some(got)
    })
    .await;
    assert_eq!(hooks[0].json()["type"], "verification.expired");

    // Canceled: the right code is refused.
    let other = "+31612345670";
    let v = create(&server, &acme.api_key, &json!({"to": other})).await;
    let id = v["id"].as_str().unwrap();
    let code = code_on_handset(&server, &acme.api_key, other, 1).await;
    let (status, canceled) = server.post(&acme.api_key, &format!("/v1/verifications/{id}/cancel"), &json!({})).await;
    assert_eq!(status, 200, "{canceled}");
    assert_eq!(canceled["status"], "canceled");
    let (_, answer) = check(&server, &acme.api_key, id, &code).await;
    assert_eq!(answer, json!({"id": id, "status": "canceled", "valid": false}));
    let again = server.request("POST", &acme.api_key, &format!("/v1/verifications/{id}/cancel"), None, &[]).await;
    assert_problem(&again, 409);
}

#[tokio::test]
async fn a_test_number_takes_the_fixed_code_and_never_reaches_a_carrier() {
    let server = Server::start(BIN, CONFIG);
    let acme = server.create_account("Acme", "10", "NL");
    let balance = server.balance(&acme.api_key).await;
    let v = create(&server, &acme.api_key, &json!({"to": "+15005550006"})).await;
    assert_eq!(v["message_id"], Value::Null);
    let (status, answer) = check(&server, &acme.api_key, v["id"].as_str().unwrap(), "424242").await;
    assert_eq!(status, 200);
    assert_eq!(answer["status"], "approved");
    assert!(server.all_messages(&acme.api_key, "").await.is_empty(), "no message was sent");
    assert_eq!(server.balance(&acme.api_key).await, balance, "nothing was charged");
}

#[tokio::test]
async fn a_pumping_run_through_one_prefix_is_blocked_after_the_threshold() {
    let server = Server::start(BIN, CONFIG);
    let acme = server.create_account("Acme", "1000", "NL");
    let sink = WebhookSink::start(vec![]).await;
    let (status, _) =
        server.post(&acme.api_key, "/v1/webhooks", &json!({"url": sink.url, "events": ["verification.blocked"]})).await;
    assert_eq!(status, 201);
    let statuses: Vec<u16> = futures::future::join_all((0..8).map(|worker| {
        let server = &server;
        let key = acme.api_key.clone();
        async move {
            let mut out = Vec::new();
            for i in (worker..10_000).step_by(8) {
                let to = format!("+3161230{i:04}");
                let r = server.request("POST", &key, "/v1/verifications", Some(&json!({"to": to})), &[]).await;
                if r.status != 201 {
                    assert_eq!(r.body["type"], "/problems/destination-blocked", "{}", r.body);
                }
                out.push(r.status);
            }
            out
        }
    }))
    .await
    .into_iter()
    .flatten()
    .collect();
    let sent = statuses.iter().filter(|s| **s == 201).count();
    assert_eq!(sent, 20, "the prefix is blocked after 20 verifications in an hour");
    assert_eq!(statuses.iter().filter(|s| **s == 403).count(), 10_000 - 20);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let messages = server.all_messages(&acme.api_key, "").await;
    assert_eq!(messages.len(), 20, "no carrier submission beyond the threshold");
    let hooks = eventually(15, "the blocked webhook", || async {
        let got = sink.received();
        (!got.is_empty()).then_some(got)
    })
    .await;
    let event = hooks[0].json();
    assert_eq!(event["type"], "verification.blocked");
    assert_eq!(event["data"]["prefix"], "316123");
    assert_eq!(sink.received().len(), 1, "one block, one webhook");
    // Another prefix, and a safe one, still work.
    create(&server, &acme.api_key, &json!({"to": "+31612400000"})).await;
    for i in 0..25 {
        create(&server, &acme.api_key, &json!({"to": format!("+3165550{i:04}")})).await;
    }
    let metrics = server.request("GET", &acme.api_key, "/metrics", None, &[]).await;
    assert!(metrics.text.contains("textbird_verification_prefix_blocks_total"), "the block is counted");
}

#[tokio::test]
async fn a_disallowed_country_is_refused_before_anything_is_charged() {
    let config = format!("{CONFIG}\n[fraud]\nallowed_countries = [\"NL\", \"BE\"]\n");
    let server = Server::start(BIN, &config);
    let acme = server.create_account("Acme", "10", "NL");
    let balance = server.balance(&acme.api_key).await;
    for to in ["+447911123456", "+14155552671", "+8801712345678", "+37120012345", "+5352123456"] {
        let r = server.request("POST", &acme.api_key, "/v1/verifications", Some(&json!({"to": to})), &[]).await;
        let problem = assert_problem(&r, 403);
        assert_eq!(problem["type"], "/problems/country-not-allowed", "{to}: {problem}");
        assert_eq!(problem_fields(problem), vec!["to".to_owned()]);
        let r = server
            .request("POST", &acme.api_key, "/v1/messages", Some(&json!({"to": to, "from": "Acme", "body": "Hi"})), &[])
            .await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert!(r.text.contains("country_not_allowed"), "{}", r.text);
    }
    assert!(server.all_messages(&acme.api_key, "").await.is_empty());
    assert_eq!(server.balance(&acme.api_key).await, balance);
    create(&server, &acme.api_key, &json!({"to": "+32470123456"})).await;

    // The account narrows the operator's list; it cannot widen it.
    let r = server
        .request("PATCH", &acme.api_key, "/v1/account/settings", Some(&json!({"allowed_countries": ["GB"]})), &[])
        .await;
    let problem = assert_problem(&r, 422);
    assert_eq!(problem_fields(problem), vec!["allowed_countries[0]".to_owned()]);
    let (status, settings) =
        server.patch(&acme.api_key, "/v1/account/settings", &json!({"allowed_countries": ["nl"]})).await;
    assert_eq!(status, 200, "{settings}");
    assert_eq!(settings["allowed_countries"], json!(["NL"]));
    assert_eq!(settings["operator"]["allowed_countries"], json!(["NL", "BE"]));
    let r = server.request("POST", &acme.api_key, "/v1/verifications", Some(&json!({"to": "+32470123457"})), &[]).await;
    assert_eq!(assert_problem(&r, 403)["type"], "/problems/country-not-allowed");
    create(&server, &acme.api_key, &json!({"to": TO})).await;
    let (_, settings) = server.patch(&acme.api_key, "/v1/account/settings", &json!({"allowed_countries": null})).await;
    assert_eq!(settings["allowed_countries"], json!(["NL", "BE"]));
}

#[tokio::test]
async fn bad_input_names_the_field_and_sends_nothing() {
    let server = Server::start(BIN, CONFIG);
    let acme = server.create_account("Acme", "10", "NL");
    let other = server.create_account("Other", "10", "NL");
    let balance = server.balance(&acme.api_key).await;
    let cases = [
        (json!({"to": TO, "code_length": 3}), "code_length"),
        (json!({"to": TO, "code_length": 11}), "code_length"),
        (json!({"to": TO, "ttl_secs": 59}), "ttl_secs"),
        (json!({"to": TO, "ttl_secs": 86_401}), "ttl_secs"),
        (json!({"to": TO, "body": "Your code"}), "body"),
        (json!({"to": "not a number"}), "to"),
        (json!({"to": "+999"}), "to"),
    ];
    for (body, field) in cases {
        let r = server.request("POST", &acme.api_key, "/v1/verifications", Some(&body), &[]).await;
        let problem = assert_problem(&r, 422);
        assert!(problem_fields(problem).contains(&field.to_owned()), "{body}: {problem}");
    }
    let v = create(&server, &acme.api_key, &json!({"to": TO, "body": "Code {{code}} for Acme"})).await;
    let id = v["id"].as_str().unwrap();
    for code in ["12ab56", "123", "12345678901", ""] {
        let r = server
            .request("POST", &acme.api_key, &format!("/v1/verifications/{id}/check"), Some(&json!({"code": code})), &[])
            .await;
        let problem = assert_problem(&r, 422);
        assert_eq!(problem_fields(problem), vec!["code".to_owned()], "{code:?}");
    }
    let (status, _) = server.get(&other.api_key, &format!("/v1/verifications/{id}")).await;
    assert_eq!(status, 404, "another account's verification is 404");
    let r = server.request("POST", &other.api_key, &format!("/v1/verifications/{id}/cancel"), None, &[]).await;
    assert_problem(&r, 404);
    let (_, list) = server.get(&other.api_key, "/v1/verifications").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 0);
    let (_, list) = server.get(&acme.api_key, "/v1/verifications").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    let code = code_on_handset(&server, &acme.api_key, TO, 1).await;
    let (_, answer) = check(&server, &other.api_key, id, &code).await;
    assert_eq!(answer["valid"], false, "another account cannot check it");
    let (status, inbox) = server.get(&other.api_key, "/v1/simulator/messages?to=%2B31612345678").await;
    assert_eq!(status, 200);
    assert_eq!(inbox, json!([]), "another account's phone view shows none of Acme's messages");
    let doc = server.request("GET", &acme.api_key, "/openapi.json", None, &[]).await.body;
    for (path, method) in [
        ("/v1/verifications", "post"),
        ("/v1/verifications", "get"),
        ("/v1/verifications/{id}", "get"),
        ("/v1/verifications/{id}/check", "post"),
        ("/v1/verifications/check", "post"),
        ("/v1/verifications/{id}/cancel", "post"),
        ("/v1/simulator/messages", "get"),
        ("/v1/account/settings", "patch"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path} is documented");
    }
    assert_ne!(server.balance(&acme.api_key).await, balance, "only the valid request was charged");
    assert_eq!(server.all_messages(&acme.api_key, "").await.len(), 1);
}

/// Every byte of the database (both backends), as text where it is text.
fn database_dump(server: &Server) -> String {
    if server.on_postgres() {
        let out = std::process::Command::new("pg_dump")
            .args(["--data-only", &server.database_url()])
            .output()
            .expect("pg_dump");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        return String::from_utf8_lossy(&out.stdout).into_owned();
    }
    let mut all = Vec::new();
    for entry in std::fs::read_dir(server.dir().join("data")).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("textbird.db")) {
            all.extend(std::fs::read(&path).unwrap());
        }
    }
    String::from_utf8_lossy(&all).into_owned()
}

#[tokio::test]
async fn no_code_is_in_the_log_or_the_database() {
    let server = Server::start(BIN, CONFIG);
    let acme = server.create_account("Acme", "10", "NL");
    let mut codes = Vec::new();
    for i in 0..3 {
        let to = format!("+3161234560{i}");
        let v = create(&server, &acme.api_key, &json!({"to": to, "code_length": 10})).await;
        let code = code_on_handset(&server, &acme.api_key, &to, 1).await;
        if i == 0 {
            let (_, answer) = check(&server, &acme.api_key, v["id"].as_str().unwrap(), &code).await;
            assert_eq!(answer["status"], "approved");
        }
        codes.push(code);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = server.log();
    let dump = database_dump(&server);
    assert!(dump.contains("Your verification code is **********"), "the dump holds the masked text");
    for code in &codes {
        assert!(!log.contains(code.as_str()), "the log holds a code");
        assert!(!dump.contains(code.as_str()), "the database holds a code");
    }
}

#[tokio::test]
async fn the_daily_spend_cap_stops_every_send_with_402() {
    let config = format!("{CONFIG}\n[fraud]\ndaily_spend_cap = \"0.0200\"\n");
    let server = Server::start(BIN, &config);
    let acme = server.create_account("Acme", "10", "NL");
    for i in 0..3 {
        let (status, sent) = server
            .post(
                &acme.api_key,
                "/v1/messages",
                &json!({"to": format!("+3161111000{i}"), "from": "Acme", "body": "Hi"}),
            )
            .await;
        assert_eq!(status, 201, "{sent}");
    }
    create(&server, &acme.api_key, &json!({"to": TO})).await;
    let balance = server.balance(&acme.api_key).await;
    let r = server
        .request(
            "POST",
            &acme.api_key,
            "/v1/messages",
            Some(&json!({"to": "+31611110009", "from": "Acme", "body": "Hi"})),
            &[],
        )
        .await;
    let problem = assert_problem(&r, 402);
    assert_eq!(problem["type"], "/problems/spend-cap-reached");
    assert!(problem["detail"].as_str().unwrap().contains("0.0200"), "{problem}");
    let r = server.request("POST", &acme.api_key, "/v1/verifications", Some(&json!({"to": "+31611110008"})), &[]).await;
    assert_problem(&r, 402);
    assert_eq!(server.balance(&acme.api_key).await, balance, "nothing charged past the cap");
    assert_eq!(server.all_messages(&acme.api_key, "").await.len(), 4);

    // An account's own cap is lower still; another account is not affected by Acme's spending.
    let other = server.create_account("Other", "10", "NL");
    let (status, settings) =
        server.patch(&other.api_key, "/v1/account/settings", &json!({"daily_spend_cap": "0.0050"})).await;
    assert_eq!(status, 200, "{settings}");
    assert_eq!(settings["daily_spend_cap"], "0.0050");
    let (status, _) = server
        .post(&other.api_key, "/v1/messages", &json!({"to": "+31611110007", "from": "Other", "body": "Hi"}))
        .await;
    assert_eq!(status, 201);
    let r = server
        .request(
            "POST",
            &other.api_key,
            "/v1/messages",
            Some(&json!({"to": "+31611110006", "from": "Other", "body": "Hi"})),
            &[],
        )
        .await;
    assert_problem(&r, 402);
}
