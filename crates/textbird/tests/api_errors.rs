//! Bad input to the native API gets an exact RFC 9457 problem document (status, type, title,
//! detail, field errors) and stores nothing; partly bad sends deliver the good part; numbers,
//! senders and encodings are normalised as documented; lists filter and paginate exactly.

use std::collections::HashSet;

use serde_json::{Value, json};
use textbird_test_support::{Reply, Server, assert_problem, millis, problem_fields, rfc3339_from_now};

const BIN: &str = env!("CARGO_BIN_EXE_textbird");

async fn send_raw(server: &Server, key: &str, content_type: &str, body: &str) -> Reply {
    let auth = format!("Bearer {key}");
    let headers = [("authorization", auth.as_str()), ("content-type", content_type)];
    Reply::read(server.raw("POST", "/v1/messages", &headers, body.as_bytes().to_vec()).await).await
}

async fn send(server: &Server, key: &str, body: &Value) -> Reply {
    server.request("POST", key, "/v1/messages", Some(body), &[]).await
}

/// Asserts a 422 whose `errors` name `field`; returns the message given for it.
fn field_error(reply: &Reply, field: &str) -> String {
    let p = assert_problem(reply, 422);
    let errors = p["errors"].as_array().unwrap_or_else(|| panic!("422 without errors: {p}"));
    let e = errors.iter().find(|e| e["field"] == field).unwrap_or_else(|| panic!("no error for {field:?}: {p}"));
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{p}");
    e["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn malformed_json_is_a_400_problem_and_stores_nothing() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let r = send_raw(&server, &acme.api_key, "application/json", r#"{"to": "+31612345678", "body": "#).await;
    let p = assert_problem(&r, 400);
    assert_eq!(p["type"], "/problems/malformed-json");
    assert!(p["detail"].as_str().is_some_and(|d| d.contains("not valid JSON")), "{p}");
    assert!(server.all_messages(&acme.api_key, "").await.is_empty());
    assert_eq!(server.balance(&acme.api_key).await, "10.0000");
}

#[tokio::test]
async fn wrong_types_missing_and_unknown_fields_are_422_naming_the_field() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let key = &acme.api_key;
    field_error(&send(&server, key, &json!({"to": 5, "from": "Acme", "body": "Hi"})).await, "to");
    field_error(&send(&server, key, &json!({"to": "+31612345678", "from": "Acme", "body": 1})).await, "body");
    field_error(&send(&server, key, &json!({"to": ["+31612345678", 7], "from": "Acme", "body": "Hi"})).await, "to");
    // Mass assignment: server-owned fields cannot be set by a client.
    for (field, value) in [("price", json!("0.0000")), ("status", json!("delivered")), ("account_id", json!("x"))] {
        let mut body = json!({"to": "+31612345678", "from": "Acme", "body": "Hi"});
        body[field] = value;
        let m = field_error(&send(&server, key, &body).await, field);
        assert!(m.contains("unknown field"), "{m}");
    }
    let m = field_error(&send(&server, key, &json!({"to": "+31612345678", "from": "Acme"})).await, "body");
    assert!(m.contains("missing"), "{m}");
    let m = field_error(&send(&server, key, &json!({"from": "Acme", "body": "Hi"})).await, "to");
    assert!(m.contains("missing"), "{m}");
    // No `from` and no owned number to default to.
    field_error(&send(&server, key, &json!({"to": "+31612345678", "body": "Hi"})).await, "from");
    field_error(&send(&server, key, &json!({"to": "+31612345678", "from": "Acme", "body": ""})).await, "body");
    field_error(&send(&server, key, &json!({"to": [], "from": "Acme", "body": "Hi"})).await, "to");
    assert!(server.all_messages(key, "").await.is_empty(), "no refused request stored a message");
    assert_eq!(server.balance(key).await, "10.0000");
}

#[tokio::test]
async fn missing_or_wrong_credentials_are_401_with_www_authenticate() {
    let server = Server::start(BIN, "");
    let body = br#"{"to": "+31612345678", "from": "Acme", "body": "Hi"}"#.to_vec();
    let json_ct = ("content-type", "application/json");
    for auth in [None, Some("Bearer tbk_wrong"), Some("Basic dXNlcjpwYXNz"), Some("Bearer"), Some("tbk_x")] {
        let mut headers = vec![json_ct];
        if let Some(a) = auth {
            headers.push(("authorization", a));
        }
        let r = Reply::read(server.raw("POST", "/v1/messages", &headers, body.clone()).await).await;
        let p = assert_problem(&r, 401);
        assert_eq!(p["type"], "/problems/unauthorized", "{auth:?}");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"), "{auth:?}");
    }
    let r = Reply::read(server.raw("GET", "/v1/account", &[], Vec::new()).await).await;
    assert_problem(&r, 401);
}

#[tokio::test]
async fn wrong_content_type_is_415_and_oversized_body_is_413() {
    let server = Server::start(BIN, "[http]\nmax_body_bytes = 65536\n");
    let acme = server.create_account("Acme", "10", "NL");
    let ok = r#"{"to": "+31612345678", "from": "Acme", "body": "Hi"}"#;
    for ct in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
        let p = assert_problem(&send_raw(&server, &acme.api_key, ct, ok).await, 415).clone();
        assert_eq!(p["type"], "/problems/unsupported-media-type", "{ct}");
    }
    let big = json!({"to": "+31612345678", "from": "Acme", "body": "x".repeat(100 * 1024)}).to_string();
    let r = send_raw(&server, &acme.api_key, "application/json", &big).await;
    let p = assert_problem(&r, 413);
    assert_eq!(p["type"], "/problems/body-too-large");
    assert!(p["detail"].as_str().is_some_and(|d| d.contains("65536")), "{p}");
    assert!(server.all_messages(&acme.api_key, "").await.is_empty());
}

#[tokio::test]
async fn unknown_route_is_a_404_problem_and_wrong_method_a_405_problem() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    for path in ["/v1/nope", "/v2/messages", "/v1"] {
        let r = server.request("GET", &acme.api_key, path, None, &[]).await;
        assert_eq!(assert_problem(&r, 404)["type"], "/problems/not-found", "{path}");
    }
    let r = server.request("GET", &acme.api_key, "/v1/messages/0190a0a0-0000-7000-8000-000000000000", None, &[]).await;
    assert_problem(&r, 404);
    for (method, path) in [("PUT", "/v1/messages"), ("DELETE", "/v1/messages"), ("POST", "/v1/account")] {
        let r = server.request(method, &acme.api_key, path, None, &[]).await;
        assert_eq!(assert_problem(&r, 405)["type"], "/problems/method-not-allowed", "{method} {path}");
        assert!(r.header("allow").is_some(), "{method} {path} says what is allowed");
    }
}

#[tokio::test]
async fn invalid_recipients_are_reported_by_index_while_the_others_are_sent() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let to = json!(["+31612345678", "not-a-number", "+3161234", "0612345679", "+31612345678"]);
    let r = send(&server, &acme.api_key, &json!({"to": to, "from": "Acme", "body": "Hi"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let sent: Vec<&str> = r.body["messages"].as_array().unwrap().iter().map(|m| m["to"].as_str().unwrap()).collect();
    assert_eq!(sent, ["+31612345678", "+31612345679"]);
    let errors: Vec<(u64, &str)> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["index"].as_u64().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(errors, [(1, "invalid_number"), (2, "invalid_number"), (4, "duplicate")]);
    assert_eq!(r.body["total_price"], "0.0100");
    assert_eq!(server.all_messages(&acme.api_key, "").await.len(), 2);
    assert_eq!(server.balance(&acme.api_key).await, "9.9900");

    let r = send(&server, &acme.api_key, &json!({"to": ["nope", "+3161"], "from": "Acme", "body": "Hi"})).await;
    assert_eq!(problem_fields(assert_problem(&r, 422)), ["to[0]", "to[1]"]);
    let many: Vec<String> = (0..10_001).map(|i| format!("+316{:08}", 10_000_000 + i)).collect();
    field_error(&send(&server, &acme.api_key, &json!({"to": many, "from": "Acme", "body": "Hi"})).await, "to");
    assert_eq!(server.all_messages(&acme.api_key, "").await.len(), 2, "refused sends store nothing");
    assert_eq!(server.balance(&acme.api_key).await, "9.9900");
}

#[tokio::test]
async fn sender_rules_and_local_number_normalisation() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    for bad in ["ABCDEFGHIJKL", "1234567890123456", "Acme!", "Ac😀", "  "] {
        let r = send(&server, &acme.api_key, &json!({"to": "+31612345678", "from": bad, "body": "Hi"})).await;
        field_error(&r, "from");
    }
    for good in ["ABCDEFGHIJK", "123456789012345", "+3197010203040", "Acme Co.'s&"] {
        let r = send(&server, &acme.api_key, &json!({"to": "+31612345678", "from": good, "body": "Hi"})).await;
        assert_eq!(r.status, 201, "{good}: {}", r.text);
        assert_eq!(r.body["messages"][0]["from"], good);
    }
    let r = send(&server, &acme.api_key, &json!({"to": "0612345678", "from": "Acme", "body": "Hi"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["messages"][0]["to"], "+31612345678");
    let r = send(&server, &acme.api_key, &json!({"to": "0031 6 1234 5679", "from": "Acme", "body": "Hi"})).await;
    assert_eq!(r.body["messages"][0]["to"], "+31612345679", "{}", r.text);
}

#[tokio::test]
async fn encoding_and_parts_are_computed_and_priced_per_part() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let cases = [
        ("a".repeat(160), 1, "gsm7", "0.0050"),
        ("a".repeat(161), 2, "gsm7", "0.0100"),
        ("€".repeat(80), 1, "gsm7", "0.0050"),
        ("€".repeat(81), 2, "gsm7", "0.0100"),
        ("Hi 😀".to_owned(), 1, "ucs2", "0.0050"),
        ("é".repeat(70), 1, "gsm7", "0.0050"),
        ("ł".repeat(70), 1, "ucs2", "0.0050"),
        ("ł".repeat(71), 2, "ucs2", "0.0100"),
    ];
    for (body, parts, encoding, price) in cases {
        let r = send(&server, &acme.api_key, &json!({"to": "+31612345678", "from": "Acme", "body": body})).await;
        assert_eq!(r.status, 201, "{}", r.text);
        let m = &r.body["messages"][0];
        assert_eq!((m["parts"].as_u64().unwrap(), m["encoding"].as_str().unwrap()), (parts, encoding), "{body}");
        assert_eq!(m["price"], price, "{body}");
    }
}

/// Sorted ids of every message the list returns for `query`.
async fn ids(server: &Server, key: &str, query: &str) -> Vec<String> {
    let mut v: Vec<String> =
        server.all_messages(key, query).await.iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn list_filters_select_exactly_the_matching_messages() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let later = rfc3339_from_now(3_600_000);
    let mut sent = Vec::new();
    for (to, client_ref, scheduled) in [
        ("+31612345671", "a", false),
        ("+31612345672", "b", true),
        ("+31612345671", "b", true),
        ("+31612345673", "c", false),
    ] {
        let mut body = json!({"to": to, "from": "Acme", "body": "Hi", "client_ref": client_ref});
        if scheduled {
            body["send_at"] = json!(later);
        }
        let r = send(&server, &acme.api_key, &body).await;
        assert_eq!(r.status, 201, "{}", r.text);
        sent.push(r.body["messages"][0].clone());
    }
    let expect = |pick: &dyn Fn(&Value) -> bool| {
        let mut v: Vec<String> =
            sent.iter().filter(|m| pick(m)).map(|m| m["id"].as_str().unwrap().to_owned()).collect();
        v.sort();
        v
    };
    assert_eq!(ids(&server, &acme.api_key, "&status=scheduled").await, expect(&|m| m["status"] == "scheduled"));
    assert_eq!(ids(&server, &acme.api_key, "&to=%2B31612345671").await, expect(&|m| m["to"] == "+31612345671"));
    assert_eq!(
        ids(&server, &acme.api_key, "&to=0612345671").await,
        expect(&|m| m["to"] == "+31612345671"),
        "local form is normalised"
    );
    assert_eq!(ids(&server, &acme.api_key, "&client_ref=b").await, expect(&|m| m["client_ref"] == "b"));
    assert_eq!(ids(&server, &acme.api_key, "&client_ref=b&to=%2B31612345672").await.len(), 1);
    let pivot = sent[2]["created_at"].as_str().unwrap().to_owned();
    let at = |m: &Value| millis(m["created_at"].as_str().unwrap());
    assert_eq!(
        ids(&server, &acme.api_key, &format!("&created_from={pivot}")).await,
        expect(&|m| at(m) >= millis(&pivot))
    );
    assert_eq!(ids(&server, &acme.api_key, &format!("&created_to={pivot}")).await, expect(&|m| at(m) < millis(&pivot)));
    assert!(ids(&server, &acme.api_key, "&status=failed").await.is_empty());
    for bad in ["status=sent", "to=abc", "created_from=yesterday", "created_to=2026-13-01", "colour=red"] {
        let r = server.request("GET", &acme.api_key, &format!("/v1/messages?{bad}"), None, &[]).await;
        assert_problem(&r, 422);
    }
}

#[tokio::test]
async fn cursor_pagination_visits_every_message_once_newest_first() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let to: Vec<String> = (1..=5).map(|i| format!("+3161234567{i}")).collect();
    let r = send(&server, &acme.api_key, &json!({"to": to, "from": "Acme", "body": "Hi"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let mut seen: Vec<String> = Vec::new();
    let mut path = "/v1/messages?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let (status, page) = server.get(&acme.api_key, &path).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        let data = page["data"].as_array().unwrap();
        assert!(data.len() <= 2, "limit is honoured: {page}");
        seen.extend(data.iter().map(|m| m["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/messages?limit=2&cursor={c}"),
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(pages, 3);
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), 5, "no duplicates: {seen:?}");
    let mut newest_first = seen.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, newest_first);
    for bad in ["limit=0", "limit=5000", "limit=-1", "limit=ten", "cursor=!!", "cursor=a%20b"] {
        let r = server.request("GET", &acme.api_key, &format!("/v1/messages?{bad}"), None, &[]).await;
        let p = assert_problem(&r, 422);
        let field = bad.split('=').next().unwrap();
        assert!(p.to_string().contains(field), "{bad}: {p}");
    }
}

/// A problem's `type` is a link: it resolves to a page saying what the error means and what
/// to do, and `/problems` lists every type and code.
#[tokio::test]
async fn problem_types_resolve_to_their_catalogue_pages() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let missing =
        server.request("GET", &acme.api_key, "/v1/messages/0190a1b2-0000-7000-8000-000000000000", None, &[]).await;
    let kind = assert_problem(&missing, 404)["type"].as_str().unwrap().to_owned();
    let page = server.raw("GET", &kind, &[], Vec::new()).await;
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let text = page.text().await.unwrap();
    assert!(text.contains("<h1>Not found</h1>") && text.contains("What to do"), "{text}");

    let index = server.raw("GET", "/problems", &[], Vec::new()).await.text().await.unwrap();
    for slug in ["validation", "malformed-json", "insufficient-balance", "unavailable"] {
        assert!(index.contains(&format!("/problems/{slug}")), "{slug} missing from the index");
    }
    for code in ["invalid_number", "opted_out", "unsubscribed", "no_route"] {
        assert!(index.contains(code), "{code} missing from the index");
    }
    let unknown = Reply::read(server.raw("GET", "/problems/no-such-thing", &[], Vec::new()).await).await;
    assert_eq!(assert_problem(&unknown, 404)["type"], "/problems/not-found");
}
