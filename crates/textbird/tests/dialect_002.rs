//! Dialect 002 (`BulkTextMessage` style, `/api/v1`): the document's example requests replayed
//! (token, send as JSON and as a form, to many, many, one, by external id, the lists, contacts
//! and groups), every error in the dialect's envelope, expired tokens, other accounts' ids, and
//! a message sent through the dialect seen, delivered and charged as a native one.

use base64::Engine as _;
use serde_json::{Value, json};
use textbird_test_support::{Account, Reply, Server, eventually};

const BIN: &str = env!("CARGO_BIN_EXE_textbird");
/// The document's numbers: the account's own (`from`), Nestor's and Laura's.
const OWN: &str = "+50672004393";
const NESTOR: &str = "+50768819519";
const LAURA: &str = "+50767832484";
const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";
/// The document's JSON send example.
const SEND_EXAMPLE: &str = r#"{
    "to": "+50768819519",
    "from": "50672004393",
    "scheduled": "2016/06/26 10:00 GMT-5",
    "body": "Just a test",
    "external_id":999}"#;
const SEND_FORM_EXAMPLE: &str =
    "to=%2B50768819519&from=50672004393&external_id=999&scheduled=2016/06/26 10:00 GMT-5&body=Just a test";
const TO_MANY_EXAMPLE: &str = r#"{
    "from": "50672004393",
    "body": "Just a test",
    "list": [
        {"to":"+50768819519", "external_id":901},
        {"to":"+50767832484", "external_id":902}
    ]}"#;
const MANY_EXAMPLE: &str = r#"{
    "from": "50672004393",
    "list": [
        {"to":"+50768819519", "body":"To test user"},
        {"to":"+50767832484", "body":"to Joe test"}
    ]}"#;
const CONTACT_EXAMPLE: &str =
    r#"{"first_name": "John", "last_name": "Doe", "main_phone": "+13014438888", "reference": "ABC"}"#;

/// A Costa Rican account that owns the document's `from` number, with an access token.
struct Client {
    account: Account,
    token: String,
}

async fn client(server: &Server, name: &str) -> Client {
    let account = server.create_account(name, "10", "CR");
    let (status, body) = server.post(&account.api_key, "/v1/numbers", &json!({"number": OWN})).await;
    assert!(status == 201 || status == 409, "{status} {body}");
    let token = token(server, &account).await;
    Client { account, token }
}

/// The document's token request: a form with the client id and secret.
async fn token(server: &Server, account: &Account) -> String {
    let form = format!("client_id={}&client_secret={}", account.json["client_id"], account.json["client_secret"])
        .replace('"', "");
    let r = call(server, "POST", "/api/v1/oauth/access_token", None, FORM, &form).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 3600);
    r.body["access_token"].as_str().expect("access_token").to_owned()
}

async fn call(server: &Server, method: &str, path: &str, token: Option<&str>, content_type: &str, body: &str) -> Reply {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", content_type)];
    if let Some(b) = &bearer {
        headers.push(("authorization", b.as_str()));
    }
    Reply::read(server.raw(method, path, &headers, body.as_bytes().to_vec()).await).await
}

impl Client {
    async fn get(&self, server: &Server, path: &str) -> Reply {
        call(server, "GET", path, Some(&self.token), JSON, "").await
    }

    async fn post(&self, server: &Server, path: &str, content_type: &str, body: &str) -> Reply {
        call(server, "POST", path, Some(&self.token), content_type, body).await
    }
}

/// `{"data":..., "result":"ok"}` with `status`; the data.
fn ok(r: &Reply) -> Value {
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["result"], "ok", "{}", r.text);
    r.body["data"].clone()
}

/// 002's error envelope with `status`; the message.
fn assert_error(r: &Reply, status: u16) -> String {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.body["result"], "error", "{}", r.text);
    assert_eq!(r.body["error"]["code"], status, "{}", r.text);
    let m = r.body["error"]["message"].as_str().unwrap_or_else(|| panic!("no message: {}", r.text));
    assert!(!m.is_empty());
    m.to_owned()
}

/// The document's message shape.
fn assert_message(m: &Value, number: &str, content: &str, direction: &str) {
    assert_eq!(m["number"], number, "{m}");
    assert_eq!(m["content"], content, "{m}");
    assert_eq!(m["direction"], direction, "{m}");
    assert!(m["id"].as_i64().is_some_and(|id| id > 0), "{m}");
    assert_eq!(m["created"]["timezone"], "UTC", "{m}");
    assert_eq!(m["created"]["timezone_type"], 3, "{m}");
    let date = m["created"]["date"].as_str().unwrap();
    assert!(date.len() == 26 && date.as_bytes()[10] == b' ' && date.as_bytes()[19] == b'.', "{date}");
    assert!(["queued", "sent", "received"].contains(&m["status"].as_str().unwrap()), "{m}");
}

/// The native view of the message sent with `external_id`.
async fn native(server: &Server, c: &Client, external_id: i64) -> Value {
    let (status, page) = server.get(&c.account.api_key, &format!("/v1/messages?client_ref={external_id}")).await;
    assert_eq!(status, 200, "{page}");
    page["data"][0].clone()
}

#[tokio::test]
async fn the_token_endpoint_answers_as_the_document_and_refuses_bad_clients() {
    // Every bad request below comes from one address: no delay between them here (the limits
    // themselves are `login_limits.rs`'s).
    let server = Server::start(BIN, "[logins]\nfailures_before_delay = 100\n");
    let acme = server.create_account("Acme", "10", "CR");
    let (id, secret) = (acme.json["client_id"].as_str().unwrap(), acme.json["client_secret"].as_str().unwrap());
    assert!(!token(&server, &acme).await.is_empty());
    let path = "/api/v1/oauth/access_token";
    let body = json!({"grant_type": "client_credentials", "client_id": id, "client_secret": secret}).to_string();
    let r = call(&server, "POST", path, None, JSON, &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    for (body, status, error) in [
        (format!("client_id={id}&client_secret=wrong"), 401, "invalid_client"),
        (format!("client_id=nobody&client_secret={secret}"), 401, "invalid_client"),
        (format!("client_secret={secret}"), 401, "invalid_client"),
        (format!("client_id={id}"), 401, "invalid_client"),
        (format!("client_id={id}&client_secret="), 401, "invalid_client"),
        (String::new(), 401, "invalid_client"),
        (format!("grant_type=password&client_id={id}&client_secret={secret}"), 400, "unsupported_grant_type"),
        ("{\"client_id\":".to_owned(), 400, "invalid_request"),
    ] {
        let r = call(&server, "POST", path, None, FORM, &body).await;
        assert_eq!((r.status, r.body["error"].as_str()), (status, Some(error)), "{body}: {}", r.text);
        assert!(r.body["error_description"].is_string(), "{}", r.text);
        if status == 401 {
            assert_eq!(r.header("www-authenticate"), Some("Basic"), "{body}");
        }
    }
    // HTTP Basic: a wrong or missing secret is 401 `invalid_client` with `WWW-Authenticate: Basic`.
    let basic = |user_pass: &str| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(user_pass));
    for credentials in [format!("{id}:wrong"), format!("{id}:"), format!("nobody:{secret}")] {
        let auth = basic(&credentials);
        let headers = [("authorization", auth.as_str()), ("content-type", FORM)];
        let r = server.raw("POST", path, &headers, b"grant_type=client_credentials".to_vec()).await;
        assert_eq!(r.status().as_u16(), 401, "{credentials}");
        assert_eq!(r.headers().get("www-authenticate").and_then(|v| v.to_str().ok()), Some("Basic"));
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client", "{credentials}: {body}");
    }
    let auth = basic(&format!("{id}:{secret}"));
    let r = server.raw("POST", path, &[("authorization", auth.as_str()), ("content-type", FORM)], Vec::new()).await;
    assert_eq!(r.status().as_u16(), 200, "Basic with the right secret");
    // The client id and secret are not an access token.
    let r = call(&server, "GET", "/api/v1/sms/", Some(secret), JSON, "").await;
    assert_error(&r, 401);
    assert_error(&call(&server, "GET", path, None, JSON, "").await, 405);
}

#[tokio::test]
async fn every_endpoint_wants_a_live_token_and_an_expired_one_is_refused() {
    let server = Server::start(BIN, "");
    let c = client(&server, "Acme").await;
    let endpoints = [
        ("GET", "/api/v1/sms/"),
        ("GET", "/api/v1/sms/1"),
        ("GET", "/api/v1/sms/by_external/999"),
        ("POST", "/api/v1/sms/"),
        ("POST", "/api/v1/sms/to_many"),
        ("POST", "/api/v1/sms/many"),
        ("GET", "/api/v1/contact/"),
        ("GET", "/api/v1/contact/1"),
        ("POST", "/api/v1/contact/"),
        ("GET", "/api/v1/contact_group/"),
        ("GET", "/api/v1/contact_group/1"),
        ("POST", "/api/v1/contact_group/"),
    ];
    for (method, path) in endpoints {
        for token in [None, Some("not-a-token")] {
            let r = call(&server, method, path, token, JSON, SEND_EXAMPLE).await;
            assert_error(&r, 401);
            assert_eq!(r.header("www-authenticate"), Some("Bearer"), "{method} {path}");
        }
    }
    assert_eq!(c.get(&server, "/api/v1/sms/").await.status, 200);
    // An hour later (moved there in the database): refused everywhere.
    server.sql("UPDATE credentials SET expires_at = 1 WHERE kind = 'oauth_token'");
    eventually(10, "the expired token refused", || async {
        (c.get(&server, "/api/v1/sms/").await.status == 401).then_some(())
    })
    .await;
    for (method, path) in endpoints {
        assert_error(&call(&server, method, path, Some(&c.token), JSON, SEND_EXAMPLE).await, 401);
    }
    let fresh = token(&server, &c.account).await;
    assert_eq!(call(&server, "GET", "/api/v1/sms/", Some(&fresh), JSON, "").await.status, 200);
}

#[tokio::test]
async fn the_documents_json_send_is_a_native_message_delivered_and_charged_alike() {
    let server = Server::start(BIN, "");
    let c = client(&server, "Acme").await;
    let before = server.balance(&c.account.api_key).await;
    let sent = ok(&c.post(&server, "/api/v1/sms/", JSON, SEND_EXAMPLE).await);
    assert_message(&sent, NESTOR, "Just a test", "sending");
    assert_eq!(sent["status"], "queued");
    assert_eq!(sent["external_id"], 999);
    assert!(sent.get("contact").is_none(), "no contact has this number yet: {sent}");
    // The same message natively: from the owned number, the past schedule sent at once.
    let m = native(&server, &c, 999).await;
    assert_eq!(
        (m["to"].as_str(), m["from"].as_str(), m["body"].as_str()),
        (Some(NESTOR), Some(OWN), Some("Just a test"))
    );
    let id = m["id"].as_str().unwrap().to_owned();
    eventually(20, "delivery", || async {
        let (_, m) = server.get(&c.account.api_key, &format!("/v1/messages/{id}")).await;
        (m["status"] == "delivered").then_some(())
    })
    .await;
    let one = ok(&c.get(&server, &format!("/api/v1/sms/{}", sent["id"])).await);
    assert_eq!((one["id"].clone(), one["status"].as_str()), (sent["id"].clone(), Some("sent")));
    assert_eq!(ok(&c.get(&server, "/api/v1/sms/by_external/999").await)["id"], sent["id"]);
    // Charged as a native send of the same text is.
    let (status, natively) =
        server.post(&c.account.api_key, "/v1/messages", &json!({"to": NESTOR, "body": "Just a test"})).await;
    assert_eq!(status, 201, "{natively}");
    assert_eq!(natively["messages"][0]["price"], m["price"]);
    let price: f64 = m["price"].as_str().unwrap().parse().unwrap();
    let after: f64 = server.balance(&c.account.api_key).await.parse().unwrap();
    let before: f64 = before.parse().unwrap();
    assert!((before - after - 2.0 * price).abs() < 1e-9, "{before} - {after} is two sends of {price}");
}

#[tokio::test]
async fn the_documents_form_send_works_and_from_falls_back_to_an_owned_number() {
    let server = Server::start(BIN, "");
    let c = client(&server, "Acme").await;
    let sent = ok(&c.post(&server, "/api/v1/sms/", FORM, SEND_FORM_EXAMPLE).await);
    assert_message(&sent, NESTOR, "Just a test", "sending");
    assert_eq!(sent["external_id"], 999);
    // A `from` the account does not own is replaced by its first number, as documented.
    let r = c.post(&server, "/api/v1/sms/", FORM, "to=%2B50767832484&from=50600000000&body=Hi&external_id=5").await;
    assert_message(&ok(&r), LAURA, "Hi", "sending");
    assert_eq!(native(&server, &c, 5).await["from"], OWN);
}

#[tokio::test]
async fn scheduled_dates_are_read_with_their_zone_and_held() {
    let server = Server::start(BIN, "");
    let c = client(&server, "Acme").await;
    let later = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(48);
    let at_minus_5 = later.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(-5)));
    let amsterdam = later.to_zoned(jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap());
    let minute = later.as_second() / 60 * 60;
    for (n, when) in [
        (1, format!("{} GMT-5", at_minus_5.strftime("%Y/%m/%d %H:%M"))),
        (2, format!("{} Europe/Amsterdam", amsterdam.strftime("%Y/%m/%d %H:%M"))),
    ] {
        let body = json!({"to": NESTOR, "body": "Later", "scheduled": when, "external_id": n}).to_string();
        let sent = ok(&c.post(&server, "/api/v1/sms/", JSON, &body).await);
        assert_eq!(sent["status"], "queued", "{sent}");
        let m = native(&server, &c, n).await;
        assert_eq!(m["status"], "scheduled", "{m}");
        let send_at: jiff::Timestamp = m["send_at"].as_str().unwrap().parse().unwrap();
        assert_eq!(send_at.as_second(), minute, "{when}");
    }
    for bad in ["tomorrow", "2016/02/30 10:00 GMT", "2016/06/26 10:00 Mars/Olympus"] {
        let body = json!({"to": NESTOR, "body": "x", "scheduled": bad}).to_string();
        assert!(assert_error(&c.post(&server, "/api/v1/sms/", JSON, &body).await, 422).contains("scheduled"));
    }
}

#[tokio::test]
async fn to_many_and_many_replay_the_document_and_mark_failed_items() {
    let server = Server::start(BIN, "");
    let c = client(&server, "Acme").await;
    for (path, example) in [("/api/v1/sms/to_many", TO_MANY_EXAMPLE), ("/api/v1/sms/many", MANY_EXAMPLE)] {
        let r = c.post(&server, path, JSON, example).await;
        assert_eq!((r.status, r.body["result"].as_str()), (200, Some("ok")), "{}", r.text);
        let ids = r.body["ids"].as_array().unwrap();
        assert!(ids.len() == 2 && ids.iter().all(|id| id.as_i64().is_some_and(|id| id > 0)), "{}", r.text);
    }
    let one = ok(&c.get(&server, "/api/v1/sms/by_external/902").await);
    assert_message(&one, LAURA, "Just a test", "sending");
    // A failed item is -1; the others are sent.
    let to_many = json!({"body": "B", "list": [
        {"to": NESTOR, "external_id": 1}, {"to": "12"}, {"external_id": 3}, {"to": LAURA, "external_id": "x"},
        "no object", {"to": LAURA, "external_id": 6}]});
    let r = c.post(&server, "/api/v1/sms/to_many", JSON, &to_many.to_string()).await;
    let ids: Vec<i64> = r.body["ids"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
    assert_eq!(ids.iter().map(|id| *id > 0).collect::<Vec<_>>(), [true, false, false, false, false, true], "{ids:?}");
    assert!(ids.iter().filter(|id| **id <= 0).all(|id| *id == -1));
    let many = json!({"list": [{"to": NESTOR}, {"to": LAURA, "body": "ok", "external_id": 7}]});
    let r = c.post(&server, "/api/v1/sms/many", JSON, &many.to_string()).await;
    assert_eq!(r.body["ids"][0], -1, "{}", r.text);
    assert_eq!(ok(&c.get(&server, "/api/v1/sms/by_external/7").await)["id"], r.body["ids"][1]);
    // Problems of the whole request send nothing.
    for (path, body) in [
        ("/api/v1/sms/to_many", json!({"list": [{"to": NESTOR}]})),
        ("/api/v1/sms/to_many", json!({"body": "B"})),
        ("/api/v1/sms/many", json!({"list": "x"})),
        ("/api/v1/sms/many", json!({"list": []})),
        ("/api/v1/sms/many", json!({"list": [{"to": NESTOR, "body": "B"}], "scheduled": "soon"})),
    ] {
        assert_error(&c.post(&server, path, JSON, &body.to_string()).await, 422);
    }
    assert_error(&c.post(&server, "/api/v1/sms/many", JSON, "{\"list\": [").await, 400);
}

/// Creates a contact through the dialect; its integer id.
async fn contact(server: &Server, c: &Client, first: &str, last: &str, phone: &str) -> i64 {
    let body = json!({"first_name": first, "last_name": last, "main_phone": phone}).to_string();
    ok(&c.post(server, "/api/v1/contact/", JSON, &body).await)["id"].as_i64().unwrap()
}

#[tokio::test]
async fn the_message_list_merges_sent_and_received_newest_first_with_contacts_and_pages() {
    let server = Server::start(BIN, "");
    let c = client(&server, "Acme").await;
    let nestor = contact(&server, &c, "Nestor", "Panama", NESTOR).await;
    for i in 0..15 {
        let to = if i % 2 == 0 { NESTOR } else { LAURA };
        let body = json!({"to": to, "body": format!("out {i}")}).to_string();
        ok(&c.post(&server, "/api/v1/sms/", JSON, &body).await);
    }
    let inbound = json!({"from": "+50650191906", "to": OWN, "body": "Mi clave 8496"});
    let (status, b) = server.post(&c.account.api_key, "/v1/simulator/inbound", &inbound).await;
    assert_eq!(status, 202, "{b}");
    eventually(10, "inbound stored", || async {
        let (_, page) = server.get(&c.account.api_key, "/v1/inbound").await;
        (page["data"].as_array().map_or(0, Vec::len) == 1).then_some(())
    })
    .await;
    let last = ok(&c.post(&server, "/api/v1/sms/", JSON, &json!({"to": NESTOR, "body": "last"}).to_string()).await);
    // The document's request: no parameters.
    let first = c.get(&server, "/api/v1/sms/").await;
    let data = ok(&first);
    let p = &first.body["meta"]["pagination"];
    assert_eq!(
        (p["count"].as_u64(), p["current_page"].as_u64(), p["per_page"].as_u64()),
        (Some(15), Some(1), Some(15))
    );
    assert_eq!((p["total"].as_u64(), p["total_pages"].as_u64()), (Some(17), Some(2)), "{p}");
    let next = p["links"]["next"].as_str().unwrap();
    assert!(next.starts_with("http://") && next.ends_with("/api/v1/sms?page=2"), "{next}");
    assert_eq!(data[0]["id"], last["id"]);
    assert_message(&data[0], NESTOR, "last", "sending");
    assert_eq!(data[0]["contact"]["data"]["id"], nestor);
    assert_eq!(data[0]["contact"]["data"]["display_name"], "Nestor Panama");
    assert_eq!(data[0]["contact"]["data"]["main_phone"], NESTOR);
    assert_eq!(data[0]["contact"]["data"]["is_public"], 0);
    let received = &data[1];
    assert_message(received, "+50650191906", "Mi clave 8496", "incoming");
    assert_eq!((received["status"].as_str(), received.get("contact")), (Some("received"), None));
    assert!(received["external_id"].is_null());
    assert_eq!(data[2]["contact"]["data"]["id"], nestor);
    assert!(data[3].get("contact").is_none(), "Laura is no contact: {}", data[3]);
    assert_eq!(ok(&c.get(&server, &format!("/api/v1/sms/{}", received["id"])).await), *received);
    let second = c.get(&server, "/api/v1/sms?page=2").await;
    let rest = ok(&second);
    let p = &second.body["meta"]["pagination"];
    assert_eq!((p["count"].as_u64(), p["current_page"].as_u64()), (Some(2), Some(2)), "{p}");
    assert!(p["links"]["previous"].as_str().unwrap().ends_with("/api/v1/sms?page=1"));
    assert!(p["links"].get("next").is_none(), "{p}");
    assert_eq!(rest[1]["content"], "out 0");
    let mut ids: Vec<i64> =
        data.as_array().unwrap().iter().chain(rest.as_array().unwrap()).map(|m| m["id"].as_i64().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 17);
    let beyond = c.get(&server, "/api/v1/sms/?page=3").await;
    assert_eq!((ok(&beyond), beyond.body["meta"]["pagination"]["count"].clone()), (json!([]), json!(0)));
    assert_error(&c.get(&server, "/api/v1/sms/?page=0").await, 422);
}

#[tokio::test]
async fn contacts_and_groups_replay_the_document() {
    let server = Server::start(BIN, "");
    let c = client(&server, "Acme").await;
    let created = ok(&c.post(&server, "/api/v1/contact/", JSON, CONTACT_EXAMPLE).await);
    let want = json!({"display_name": "John Doe", "first_name": "John", "id": created["id"], "is_public": 0,
        "last_name": "Doe", "main_phone": "+13014438888", "reference": "ABC", "status": 0});
    assert_eq!(created, want);
    assert_eq!(ok(&c.get(&server, &format!("/api/v1/contact/{}", created["id"])).await), want);
    // The document's form example has a 13-digit US number, which is none: refused. The same
    // request with a real number is a contact.
    let form = "first_name=John&last_name=Doe&main_phone=%2B1301585886967&reference=ABC";
    assert!(assert_error(&c.post(&server, "/api/v1/contact/", FORM, form).await, 422).contains("main_phone"));
    let form = "first_name=Jane&last_name=Doe&main_phone=%2B13015858869&reference=ABC";
    assert_eq!(ok(&c.post(&server, "/api/v1/contact/", FORM, form).await)["display_name"], "Jane Doe");
    // Groups: made here (beyond the document), listed as the document shows.
    let vip = ok(&c.post(&server, "/api/v1/contact_group/", FORM, "name=Group VIP").await);
    assert_eq!(ok(&c.get(&server, &format!("/api/v1/contact_group/{}", vip["id"])).await), vip);
    let body =
        json!({"first_name": "Nestor", "last_name": "Panama", "main_phone": NESTOR, "contact_group_id": vip["id"]});
    let nestor = ok(&c.post(&server, "/api/v1/contact/", JSON, &body.to_string()).await);
    let (_, native) = server.get(&c.account.api_key, "/v1/contacts?phone=%2B50768819519").await;
    assert_eq!(native["data"][0]["group_ids"].as_array().map(Vec::len), Some(1), "{native}");
    let r = c.get(&server, "/api/v1/contact_group/").await;
    assert_eq!(ok(&r), json!([{"id": vip["id"], "name": "Group VIP"}]));
    assert_eq!(r.body["meta"]["pagination"]["links"], json!([]));
    assert_eq!(r.body["meta"]["pagination"]["total"], 1);
    for i in 0..15 {
        contact(&server, &c, &format!("Test{i}"), "User", &format!("+5076881{:04}", 1000 + i)).await;
    }
    let r = c.get(&server, "/api/v1/contact/").await;
    let p = &r.body["meta"]["pagination"];
    assert_eq!((p["count"].as_u64(), p["total"].as_u64(), p["total_pages"].as_u64()), (Some(15), Some(18), Some(2)));
    assert_eq!(ok(&r)[2], nestor, "oldest first");
    let page2 = ok(&c.get(&server, "/api/v1/contact/?page=2").await);
    assert_eq!(page2.as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn bad_input_gets_the_dialects_envelope_and_never_a_500() {
    let server = Server::start(BIN, "");
    let c = client(&server, "Acme").await;
    for (path, body, status) in [
        ("/api/v1/sms/", "{\"to\": ", 400),
        ("/api/v1/sms/", "[1, 2]", 400),
        ("/api/v1/sms/", r#"{"body": "no to"}"#, 422),
        ("/api/v1/sms/", r#"{"to": "+50768819519"}"#, 422),
        ("/api/v1/sms/", r#"{"to": 50768819519, "body": "x"}"#, 422),
        ("/api/v1/sms/", r#"{"to": "+50768819519", "body": ["x"]}"#, 422),
        ("/api/v1/sms/", r#"{"to": "+50768819519", "body": "x", "external_id": "abc"}"#, 422),
        ("/api/v1/sms/", r#"{"to": "+50768819519", "body": "x", "external_id": 1.5}"#, 422),
        ("/api/v1/sms/", r#"{"to": "12", "body": "x"}"#, 422),
        ("/api/v1/sms/", r#"{"to": "not a number", "body": "x"}"#, 422),
        ("/api/v1/contact/", "{", 400),
        ("/api/v1/contact/", r#"{"first_name": "A", "last_name": "B"}"#, 422),
        ("/api/v1/contact/", r#"{"first_name": "A", "main_phone": "+50768819519"}"#, 422),
        ("/api/v1/contact/", r#"{"first_name": 1, "last_name": "B", "main_phone": "+50768819519"}"#, 422),
        ("/api/v1/contact/", r#"{"first_name": "A", "last_name": "B", "main_phone": "12"}"#, 422),
        (
            "/api/v1/contact/",
            r#"{"first_name": "A", "last_name": "B", "main_phone": "+50768819519", "contact_group_id": "x"}"#,
            422,
        ),
        (
            "/api/v1/contact/",
            r#"{"first_name": "A", "last_name": "B", "main_phone": "+50768819519", "contact_group_id": 99999}"#,
            404,
        ),
        ("/api/v1/contact_group/", "{", 400),
        ("/api/v1/contact_group/", "{}", 422),
        ("/api/v1/contact_group/", r#"{"name": 5}"#, 422),
    ] {
        let m = assert_error(&c.post(&server, path, JSON, body).await, status);
        assert!(!m.to_lowercase().contains("internal"), "{path} {body}: {m}");
    }
    for path in [
        "/api/v1/sms/99999",
        "/api/v1/sms/abc",
        "/api/v1/sms/-1",
        "/api/v1/sms/by_external/12345",
        "/api/v1/sms/by_external/abc",
        "/api/v1/contact/99999",
        "/api/v1/contact/abc",
        "/api/v1/contact_group/99999",
    ] {
        assert_error(&c.get(&server, path).await, 404);
    }
    // An id of another kind is no id of this kind.
    let group = ok(&c.post(&server, "/api/v1/contact_group/", JSON, r#"{"name": "G"}"#).await)["id"].clone();
    assert_error(&c.get(&server, &format!("/api/v1/contact/{group}")).await, 404);
    assert_error(&c.get(&server, &format!("/api/v1/sms/{group}")).await, 404);
    for (method, path) in [("DELETE", "/api/v1/sms/1"), ("PUT", "/api/v1/sms/"), ("GET", "/api/v1/sms/to_many")] {
        assert_error(&call(&server, method, path, Some(&c.token), JSON, "").await, 405);
    }
}

#[tokio::test]
async fn another_accounts_ids_are_not_found() {
    let server = Server::start(BIN, "");
    let acme = client(&server, "Acme").await;
    let other = server.create_account("Other", "10", "CR");
    let other = Client { token: token(&server, &other).await, account: other };
    let sms = ok(&acme.post(&server, "/api/v1/sms/", JSON, SEND_EXAMPLE).await)["id"].clone();
    let contact = contact(&server, &acme, "Nestor", "Panama", NESTOR).await;
    let group = ok(&acme.post(&server, "/api/v1/contact_group/", JSON, r#"{"name": "G"}"#).await)["id"].clone();
    for path in [
        format!("/api/v1/sms/{sms}"),
        "/api/v1/sms/by_external/999".to_owned(),
        format!("/api/v1/contact/{contact}"),
        format!("/api/v1/contact_group/{group}"),
    ] {
        assert_eq!(acme.get(&server, &path).await.status, 200, "{path}");
        assert_error(&other.get(&server, &path).await, 404);
    }
    let body = json!({"first_name": "A", "last_name": "B", "main_phone": LAURA, "contact_group_id": group});
    assert_error(&other.post(&server, "/api/v1/contact/", JSON, &body.to_string()).await, 404);
    for (list, n) in [("/api/v1/sms/", 0), ("/api/v1/contact/", 0), ("/api/v1/contact_group/", 0)] {
        let r = other.get(&server, list).await;
        assert_eq!(ok(&r).as_array().map(Vec::len), Some(n), "{list}");
        assert_eq!(r.body["meta"]["pagination"]["total"], 0);
    }
    // The other account owns no number: its sends say so.
    let m =
        assert_error(&other.post(&server, "/api/v1/sms/", JSON, r#"{"to": "+50768819519", "body": "x"}"#).await, 422);
    assert!(m.contains("from"), "{m}");
}
