//! Message content end to end: templates rendered per recipient at send time (and previewed),
//! word spinners, links turned into per-recipient short links whose clicks are counted,
//! reported and announced by webhook, link lists spread over a send, unsubscription links,
//! triggers that hold messages until they fire, and one account never reaching another's
//! content.

use serde_json::{Value, json};
use textbird_test_support::{Server, WebhookSink, assert_problem, eventually, problem_fields};

const BIN: &str = env!("CARGO_BIN_EXE_textbird");
const DESKTOP_UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36";
const BOT_UA: &str = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)";
const PHONE_UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) Mobile/15E148 Safari/604.1";

async fn create(server: &Server, key: &str, path: &str, body: &Value) -> Value {
    let (status, created) = server.post(key, path, body).await;
    assert_eq!(status, 201, "POST {path}: {created}");
    created
}

fn id(v: &Value) -> &str {
    v["id"].as_str().expect("id")
}

async fn send(server: &Server, key: &str, body: &Value) -> Value {
    let (status, sent) = server.post(key, "/v1/messages", body).await;
    assert_eq!(status, 201, "{sent}");
    sent
}

/// The stored message (its rendered body).
async fn message(server: &Server, key: &str, id: &str) -> Value {
    let (status, m) = server.get(key, &format!("/v1/messages/{id}")).await;
    assert_eq!(status, 200, "{m}");
    m
}

/// The short-link codes in a body, in order.
fn codes(body: &str) -> Vec<String> {
    body.match_indices("/l/")
        .map(|(i, _)| body[i + 3..].chars().take_while(char::is_ascii_alphanumeric).collect())
        .collect()
}

/// Opens `/l/{code}` as `user_agent` without following redirects: status and `Location`.
async fn open(server: &Server, code: &str, user_agent: &str) -> (u16, Option<String>) {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = client.get(server.url(&format!("/l/{code}"))).header("user-agent", user_agent).send().await.unwrap();
    let location = res.headers().get("location").map(|v| v.to_str().unwrap().to_owned());
    (res.status().as_u16(), location)
}

#[tokio::test]
async fn templates_are_created_listed_changed_previewed_and_deleted() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let key = &acme.api_key;
    let t =
        create(&server, key, "/v1/templates", &json!({"name": "Welcome", "body": "Hi {{first_name}}, {{custom1}}!"}))
            .await;
    create(&server, key, "/v1/templates", &json!({"name": "Other", "body": "Plain"})).await;

    let (status, page) = server.get(key, "/v1/templates?name=welc").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["data"].as_array().unwrap().len(), 1, "the name filter: {page}");
    let (_, first) = server.get(key, "/v1/templates?limit=1").await;
    let cursor = first["next_cursor"].as_str().expect("a full page has a cursor");
    let (_, second) = server.get(key, &format!("/v1/templates?limit=1&cursor={cursor}")).await;
    assert_ne!(first["data"][0]["id"], second["data"][0]["id"]);

    let path = format!("/v1/templates/{}", id(&t));
    let (status, changed) = server.patch(key, &path, &json!({"body": "Hello {{first_name}}{{random_symbol}}"})).await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["name"], "Welcome");
    let recipient = json!({"recipient": {"phone": "+31612345678", "first_name": "Ann"}});
    let (status, preview) = server.post(key, &format!("{path}/render"), &recipient).await;
    assert_eq!(status, 200, "{preview}");
    let body = preview["body"].as_str().unwrap();
    assert!(body.starts_with("Hello Ann") && body.chars().count() == 10, "{preview}");
    assert_eq!((preview["encoding"].as_str(), preview["parts"].as_i64()), (Some("gsm7"), Some(1)));

    let (status, preview) =
        server.post(key, "/v1/render", &json!({"body": "Ünïcode {{last_name}}.", "recipient": {}})).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!((preview["body"].as_str(), preview["encoding"].as_str()), (Some("Ünïcode ."), Some("ucs2")));

    for bad in ["Hi {{first_name", "{{First}}", "{{coupon:1}}", "{{word_spinner:nope}}", "{{link_list:nope}}"] {
        let r = server.request("POST", key, "/v1/templates", Some(&json!({"name": "Bad", "body": bad})), &[]).await;
        let p = assert_problem(&r, 422);
        assert_eq!(problem_fields(p), ["body"], "{bad}: {p}");
        let token = bad.trim_start_matches("Hi ");
        assert!(p["errors"][0]["message"].as_str().unwrap().contains(token), "{bad}: the error names the token: {p}");
    }
    let (status, _) = server.delete(key, &path).await;
    assert_eq!(status, 204);
    let r = server.request("GET", key, &path, None, &[]).await;
    assert_problem(&r, 404);
}

#[tokio::test]
async fn a_template_send_renders_each_message_and_prices_it_by_its_own_text() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let key = &acme.api_key;
    let spinner =
        create(&server, key, "/v1/spinners", &json!({"name": "Greeting", "words": ["Hi", "Hello", "Hey"]})).await;
    let body = format!("{{{{word_spinner:{}}}}} {{{{first_name}}}}, your code is ready", id(&spinner));
    let t = create(&server, key, "/v1/templates", &json!({"name": "T", "body": body})).await;
    let to = ["+31612345670", "+31612345671", "+31612345672", "+31612345673"];
    let sent = send(&server, key, &json!({"to": to, "from": "Acme", "template_id": id(&t)})).await;
    for m in sent["messages"].as_array().unwrap() {
        let stored = message(&server, key, m["id"].as_str().unwrap()).await;
        let text = stored["body"].as_str().unwrap();
        let (word, rest) = text.split_once(' ').unwrap();
        assert!(["Hi", "Hello", "Hey"].contains(&word), "a word of the spinner: {text}");
        assert_eq!(rest, ", your code is ready", "no first name renders empty, never a token");
    }

    let r = server
        .request(
            "POST",
            key,
            "/v1/messages",
            Some(&json!({"to": to[0], "from": "Acme", "body": "x", "template_id": id(&t)})),
            &[],
        )
        .await;
    assert_eq!(problem_fields(assert_problem(&r, 422)), ["body"]);
}

#[tokio::test]
async fn an_unknown_token_at_send_time_is_refused_and_nothing_is_charged() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let key = &acme.api_key;
    let before = server.balance(key).await;
    for body in ["Hi {{link:missing}}", "Hi {{first_name", "Hi {{nope:1}}"] {
        let r = server
            .request(
                "POST",
                key,
                "/v1/messages",
                Some(&json!({"to": "+31612345678", "from": "Acme", "body": body})),
                &[],
            )
            .await;
        let p = assert_problem(&r, 422);
        assert_eq!(problem_fields(p), ["body"], "{body}: {p}");
    }
    assert_eq!(server.balance(key).await, before);
    assert!(server.all_messages(key, "").await.is_empty());
}

#[tokio::test]
async fn a_link_becomes_a_short_link_per_recipient_whose_clicks_are_counted_and_announced() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let key = &acme.api_key;
    let sink = WebhookSink::start(vec![]).await;
    create(&server, key, "/v1/webhooks", &json!({"url": sink.url, "events": ["link.clicked"]})).await;
    let link =
        create(&server, key, "/v1/links", &json!({"name": "Shop", "url": "https://shop.example.com/sale"})).await;
    let body = format!("Sale! {{{{link:{}}}}}", id(&link));
    let sent = send(&server, key, &json!({"to": ["+31612345678", "+31612345679"], "from": "Acme", "body": body})).await;
    let first = &sent["messages"][0];
    let stored = message(&server, key, first["id"].as_str().unwrap()).await;
    let text = stored["body"].as_str().unwrap();
    let code = codes(text).pop().expect("a short link in the body");
    assert!(code.len() >= 10, "{text}");
    assert!(text.starts_with(&format!("Sale! {}/l/", server.base)), "{text}");
    assert!(!text.contains("{{"), "{text}");

    assert_eq!(open(&server, &code, BOT_UA).await, (302, Some("https://shop.example.com/sale".into())));
    assert_eq!(open(&server, &code, PHONE_UA).await.0, 302);
    assert_eq!(open(&server, &code, PHONE_UA).await.0, 302);
    assert_eq!(open(&server, "Zz9Zz9Zz9Zz9", PHONE_UA).await, (404, None));

    let (status, report) = server.get(key, &format!("/v1/links/{}/report", id(&link))).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report, json!({"recipients": 2, "clicks": 3, "unique_clicks": 1, "conversion_percent": 50.0}));
    let (_, batch) = server.get(key, &format!("/v1/batches/{}/link-report", sent["batch_id"].as_str().unwrap())).await;
    assert_eq!(batch, report);

    let got = eventually(15, "three link.clicked webhooks", || async {
        let got = sink.events("link.clicked");
        (got.len() >= 3).then_some(got)
    })
    .await;
    let events: Vec<Value> = got.iter().map(textbird_test_support::Received::json).collect();
    let data = &events.iter().find(|e| e["data"]["unique"] == true).expect("one unique click")["data"];
    assert_eq!(data["message_id"], first["id"]);
    assert_eq!(data["batch_id"], sent["batch_id"]);
    assert_eq!(data["link_id"], link["id"]);
    assert_eq!(data["phone"], "+31612345678");
    assert_eq!(data["user_agent_class"], "mobile");
    let bot = events.iter().find(|e| e["data"]["user_agent_class"] == "bot").expect("the bot's click");
    assert_eq!(bot["data"]["unique"], false, "bots never count as unique");
}

#[tokio::test]
async fn platform_links_send_bots_to_the_preview_and_desktops_to_the_bot_redirect() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let key = &acme.api_key;
    let link = create(
        &server,
        key,
        "/v1/links",
        &json!({"name": "App", "url": "https://example.com/app",
                "platform_based_links": {"bot_redirect": "https://example.com/desktop", "preview_url": "https://example.com/preview"}}),
    )
    .await;
    let r = server
        .request("POST", key, "/v1/links", Some(&json!({"name": "Bad", "url": "ftp://example.com/x"})), &[])
        .await;
    assert_eq!(problem_fields(assert_problem(&r, 422)), ["url"]);
    let sent = send(
        &server,
        key,
        &json!({"to": "+31612345678", "from": "Acme", "body": format!("Go {{{{link:{}}}}}", id(&link))}),
    )
    .await;
    let stored = message(&server, key, sent["messages"][0]["id"].as_str().unwrap()).await;
    let code = codes(stored["body"].as_str().unwrap()).pop().unwrap();
    assert_eq!(open(&server, &code, BOT_UA).await.1.as_deref(), Some("https://example.com/preview"));
    assert_eq!(open(&server, &code, DESKTOP_UA).await.1.as_deref(), Some("https://example.com/desktop"));
    assert_eq!(open(&server, &code, PHONE_UA).await.1.as_deref(), Some("https://example.com/app"));
}

#[tokio::test]
async fn an_opened_unsubscription_link_opts_the_recipient_out() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let key = &acme.api_key;
    let sent = send(
        &server,
        key,
        &json!({"to": "+31612345678", "from": "Acme", "body": "News. Stop: {{unsubscription_link}}"}),
    )
    .await;
    let stored = message(&server, key, sent["messages"][0]["id"].as_str().unwrap()).await;
    let code = codes(stored["body"].as_str().unwrap()).pop().unwrap();
    assert_eq!(open(&server, &code, BOT_UA).await.0, 200, "a preview bot does not opt anyone out");
    let (status, again) =
        server.post(key, "/v1/messages", &json!({"to": "+31612345678", "from": "Acme", "body": "Hi"})).await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(open(&server, &code, PHONE_UA).await.0, 200);
    let r = server
        .request("POST", key, "/v1/messages", Some(&json!({"to": "+31612345678", "from": "Acme", "body": "Hi"})), &[])
        .await;
    let p = assert_problem(&r, 422);
    assert!(p["errors"][0]["message"].as_str().unwrap().starts_with("opted_out"), "{p}");
}

#[tokio::test]
async fn a_link_list_is_spread_evenly_over_the_recipients() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let key = &acme.api_key;
    let a = create(&server, key, "/v1/links", &json!({"name": "A", "url": "https://a.example.com/"})).await;
    let list = create(
        &server,
        key,
        "/v1/link-lists",
        &json!({"name": "Mirrors", "link_ids": [id(&a)], "links": [{"name": "B", "url": "https://b.example.com/"}]}),
    )
    .await;
    assert_eq!(list["links"].as_array().unwrap().len(), 2, "{list}");
    let to = ["+31612345670", "+31612345671", "+31612345672", "+31612345673"];
    let sent =
        send(&server, key, &json!({"to": to, "from": "Acme", "body": format!("Go {{{{link_list:{}}}}}", id(&list))}))
            .await;
    let mut targets = Vec::new();
    for m in sent["messages"].as_array().unwrap() {
        let stored = message(&server, key, m["id"].as_str().unwrap()).await;
        let code = codes(stored["body"].as_str().unwrap()).pop().unwrap();
        targets.push(open(&server, &code, PHONE_UA).await.1.unwrap());
    }
    targets.sort();
    assert_eq!(
        targets,
        ["https://a.example.com/", "https://a.example.com/", "https://b.example.com/", "https://b.example.com/"]
    );

    let path = format!("/v1/link-lists/{}", id(&list));
    let (status, _) = server.delete(key, &format!("{path}/links/{}", id(&a))).await;
    assert_eq!(status, 204);
    let boundary = "XBOUNDARYX";
    let form = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"links.csv\"\r\nContent-Type: text/csv\r\n\r\n\
         name,url\nC,https://c.example.com/\nD,https://d.example.com/\n\r\n--{boundary}--\r\n"
    );
    let auth = format!("Bearer {key}");
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let headers = [("authorization", auth.as_str()), ("content-type", content_type.as_str())];
    let res = server.raw("POST", &format!("{path}/import"), &headers, form.into_bytes()).await;
    let reply = textbird_test_support::Reply::read(res).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let names: Vec<&str> =
        reply.body["links"].as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["B", "C", "D"]);
}

#[tokio::test]
async fn a_message_waits_for_its_trigger_and_is_delivered_once_it_fires() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let key = &acme.api_key;
    let trigger = create(&server, key, "/v1/triggers", &json!({"name": "Checkout"})).await;
    let url = trigger["activation_url"].as_str().unwrap();
    let token = url.rsplit("/t/").next().unwrap();
    assert!(token.len() >= 32, "{url}");
    let sent = send(
        &server,
        key,
        &json!({"to": "+31612345678", "from": "Acme", "body": "Thanks!", "trigger_id": id(&trigger)}),
    )
    .await;
    let msg_id = sent["messages"][0]["id"].as_str().unwrap();
    assert_eq!(sent["messages"][0]["status"], "scheduled");
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(message(&server, key, msg_id).await["status"], "scheduled", "still waiting for the trigger");

    let fired = reqwest::get(server.url(&format!("/t/{token}"))).await.unwrap();
    assert_eq!(fired.status().as_u16(), 200);
    let again = reqwest::Client::new().post(server.url(&format!("/t/{token}"))).send().await.unwrap();
    assert_eq!(again.status().as_u16(), 200, "firing twice is fine");
    assert_eq!(reqwest::get(server.url("/t/nope")).await.unwrap().status().as_u16(), 404);
    eventually(15, "the message delivered", || async {
        (message(&server, key, msg_id).await["status"] == "delivered").then_some(())
    })
    .await;
    let (_, t) = server.get(key, &format!("/v1/triggers/{}", id(&trigger))).await;
    assert!(t["fired_at"].is_string(), "{t}");
}

#[tokio::test]
async fn another_accounts_content_is_404_and_unusable_at_send_time() {
    let server = Server::start(BIN, "");
    let a = server.create_account("Alpha", "10", "NL");
    let b = server.create_account("Beta", "10", "NL");
    let (ka, kb) = (&a.api_key, &b.api_key);
    let template = create(&server, ka, "/v1/templates", &json!({"name": "T", "body": "Hi"})).await;
    let spinner = create(&server, ka, "/v1/spinners", &json!({"name": "S", "words": ["a"]})).await;
    let link = create(&server, ka, "/v1/links", &json!({"name": "L", "url": "https://example.com/"})).await;
    let list = create(&server, ka, "/v1/link-lists", &json!({"name": "LL", "link_ids": [id(&link)]})).await;
    let trigger = create(&server, ka, "/v1/triggers", &json!({"name": "Tr"})).await;
    for (kind, item) in [
        ("templates", &template),
        ("spinners", &spinner),
        ("links", &link),
        ("link-lists", &list),
        ("triggers", &trigger),
    ] {
        let path = format!("/v1/{kind}/{}", id(item));
        for method in ["GET", "DELETE"] {
            let r = server.request(method, kb, &path, None, &[]).await;
            assert_problem(&r, 404);
        }
        let r = server.request("PATCH", kb, &path, Some(&json!({"name": "mine"})), &[]).await;
        assert_problem(&r, 404);
        let (_, page) = server.get(kb, &format!("/v1/{kind}")).await;
        assert_eq!(page["data"], json!([]), "{kind}");
    }
    let r = server.request("GET", kb, &format!("/v1/links/{}/report", id(&link)), None, &[]).await;
    assert_problem(&r, 404);
    let r =
        server.request("POST", kb, "/v1/link-lists", Some(&json!({"name": "x", "link_ids": [id(&link)]})), &[]).await;
    assert_eq!(problem_fields(assert_problem(&r, 422)), ["link_ids[0]"]);

    let base = json!({"to": "+31612345678", "from": "Beta"});
    let attempts = [
        ("template_id", json!({"template_id": id(&template)})),
        ("body", json!({"body": format!("{{{{word_spinner:{}}}}}", id(&spinner))})),
        ("body", json!({"body": format!("{{{{link:{}}}}}", id(&link))})),
        ("body", json!({"body": format!("{{{{link_list:{}}}}}", id(&list))})),
        ("trigger_id", json!({"body": "Hi", "trigger_id": id(&trigger)})),
    ];
    for (field, extra) in attempts {
        let mut body = base.clone();
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let r = server.request("POST", kb, "/v1/messages", Some(&body), &[]).await;
        assert_eq!(problem_fields(assert_problem(&r, 422)), [field], "{body}");
    }
    assert!(server.all_messages(kb, "").await.is_empty());
}

#[tokio::test]
async fn malformed_content_requests_are_problems() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let key = &acme.api_key;
    let auth = format!("Bearer {key}");
    let headers = [("authorization", auth.as_str()), ("content-type", "application/json")];
    for path in ["/v1/templates", "/v1/spinners", "/v1/links", "/v1/link-lists", "/v1/triggers", "/v1/render"] {
        let res = server.raw("POST", path, &headers, b"{\"na".to_vec()).await;
        let reply = textbird_test_support::Reply::read(res).await;
        assert_eq!(assert_problem(&reply, 400)["type"], "/problems/malformed-json", "{path}");
    }
    let r = server.request("POST", key, "/v1/spinners", Some(&json!({"name": "S", "words": []})), &[]).await;
    assert_eq!(problem_fields(assert_problem(&r, 422)), ["words"]);
    let r =
        server.request("POST", key, "/v1/spinners", Some(&json!({"name": "S", "words": ["a"], "extra": 1})), &[]).await;
    assert_eq!(problem_fields(assert_problem(&r, 422)), ["extra"]);
    let r = server.request("GET", key, "/v1/templates?limit=0", None, &[]).await;
    assert_problem(&r, 422);
}

#[tokio::test]
async fn a_batch_link_report_is_found_for_its_own_account_only() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let other = server.create_account("Other", "10", "NL");
    let body = json!({"to": "+31612345678", "from": "Acme", "body": "No links here"});
    let (status, sent) = server.post(&acme.api_key, "/v1/messages", &body).await;
    assert_eq!(status, 201, "{sent}");
    let path = format!("/v1/batches/{}/link-report", sent["batch_id"].as_str().unwrap());
    let (status, report) = server.get(&acme.api_key, &path).await;
    assert_eq!((status, report["recipients"].as_i64()), (200, Some(0)), "the owner's send without links: {report}");
    let reply = server.request("GET", &other.api_key, &path, None, &[]).await;
    assert_problem(&reply, 404);
    let reply = server
        .request("GET", &acme.api_key, "/v1/batches/01900000-0000-7000-8000-000000000000/link-report", None, &[])
        .await;
    assert_problem(&reply, 404);
}

#[tokio::test]
async fn content_routes_are_in_the_openapi_document() {
    let server = Server::start(BIN, "");
    let doc: Value = reqwest::get(server.url("/openapi.json")).await.unwrap().json().await.unwrap();
    for path in [
        "/v1/templates",
        "/v1/templates/{id}/render",
        "/v1/render",
        "/v1/spinners/{id}",
        "/v1/links/{id}/report",
        "/v1/batches/{batch_id}/link-report",
        "/v1/link-lists/{id}/import",
        "/v1/triggers",
        "/l/{code}",
        "/t/{token}",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is documented");
    }
    assert!(doc["paths"]["/v1/messages"]["post"]["requestBody"].is_object());
}

#[tokio::test]
async fn a_send_refused_for_its_balance_leaves_no_short_links() {
    let server = Server::start(BIN, "");
    let poor = server.create_account("Poor", "0.001", "NL");
    let key = &poor.api_key;
    let link = create(&server, key, "/v1/links", &json!({"name": "Shop", "url": "https://shop.example/sale"})).await;
    let body = json!({"to": ["+31612345678", "+31612345679"], "from": "Acme", "body": format!("Sale: {{{{link:{}}}}}", id(&link))});
    let reply = server.request("POST", key, "/v1/messages", Some(&body), &[]).await;
    assert_problem(&reply, 402);
    assert_eq!(server.sql("SELECT count(*) FROM short_links").as_deref(), Some("0"));
    let (_, report) = server.get(key, &format!("/v1/links/{}/report", id(&link))).await;
    assert_eq!(report["recipients"], 0, "{report}");
}
