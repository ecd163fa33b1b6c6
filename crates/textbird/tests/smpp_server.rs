//! Textbird's SMPP server (customers bind to it) against ESMEs built with someone else's SMPP
//! software (npm `smpp`: `tests/peers/esme.js`; Python `smpplib`: `tests/peers/esme.py`):
//! binds with the account's username and password, submissions that are the same messages
//! as over HTTP, delivery receipts and inbound messages on the customer's bind only, refusals
//! with the right status and no charge, and malformed PDUs that never hurt the server
//! (RELIABILITY.md, SMPP, server side).

use std::time::Duration;

use serde_json::{Value, json};
use textbird_test_support::{Account, Peer, Server, eventually};

const BIN: &str = env!("CARGO_BIN_EXE_textbird");
const OURS: &str = "+31687654321";

fn start() -> (Server, Account) {
    let server = Server::start(BIN, "");
    assert!(!server.smpp.is_empty(), "textbird printed no `SMPP listening on` line; log: {}", server.log());
    let acme = server.create_account("Acme", "10", "NL");
    (server, acme)
}

fn credentials(account: &Account) -> (String, String) {
    let user = account.json["username"].as_str().expect("username").to_owned();
    let password = account.json["password"].as_str().expect("password").to_owned();
    (user, password)
}

/// `esme.js` bound (by itself) with the account's credentials, plus `args`.
async fn bound_esme(server: &Server, account: &Account, args: &[&str]) -> Peer {
    let (user, password) = credentials(account);
    let mut all = vec!["--system-id", user.as_str(), "--password", password.as_str()];
    all.extend_from_slice(args);
    let esme = Peer::esme_js(&server.smpp, &all);
    let resp = esme.wait_event(15, "bind_resp").await;
    assert_eq!(resp["command_status"], 0, "bind refused: {resp}");
    esme
}

fn status(e: &Value) -> u64 {
    e["command_status"].as_u64().unwrap_or_else(|| panic!("no command_status in {e}"))
}

async fn submit_resp(esme: &Peer, tag: &str) -> Value {
    esme.wait_for(15, |e| e["event"] == "submit_sm_resp" && e["tag"] == tag).await
}

async fn healthy(server: &Server) {
    let r = server.raw("GET", "/healthz", &[], Vec::new()).await;
    assert_eq!(r.status().as_u16(), 200, "healthz");
}

#[tokio::test]
async fn binds_with_the_accounts_username_and_password_only() {
    let (server, acme) = start();
    let (user, password) = credentials(&acme);
    for bind in ["transceiver", "transmitter", "receiver"] {
        let esme = Peer::esme_js(&server.smpp, &["--system-id", &user, "--password", &password, "--bind", bind]);
        let resp = esme.wait_event(15, "bind_resp").await;
        assert_eq!(status(&resp), 0, "{bind}: {resp}");
    }
    let wrong = Peer::esme_js(&server.smpp, &["--system-id", &user, "--password", "wrongpw1"]);
    let resp = wrong.wait_event(15, "bind_resp").await;
    assert_eq!(status(&resp), 0x0D, "ESME_RBINDFAIL: {resp}");
    let nobody = Peer::esme_js(&server.smpp, &["--system-id", "nobody", "--password", &password]);
    let resp = nobody.wait_event(15, "bind_resp").await;
    assert_eq!(status(&resp), 0x0D, "an unknown user is refused the same way: {resp}");

    let py = Peer::esme_py(&server.smpp, &["--system-id", &user, "--password", &password]);
    assert_eq!(status(&py.wait_event(15, "bind_resp").await), 0);
    let py = Peer::esme_py(&server.smpp, &["--system-id", &user, "--password", "wrong"]);
    assert_eq!(status(&py.wait_event(15, "bind_resp").await), 0x0D);
}

#[tokio::test]
async fn a_password_longer_than_eight_characters_is_refused_even_when_it_starts_right() {
    let (server, acme) = start();
    let (user, password) = credentials(&acme);
    assert_eq!(password.len(), 8, "account passwords fit SMPP's field");
    for suffix in ["x", "xxxxxxxx"] {
        let long = format!("{password}{suffix}");
        let esme = Peer::esme_js(&server.smpp, &["--system-id", &user, "--password", &long]);
        let resp = esme.wait_event(15, "bind_resp").await;
        assert_eq!(status(&resp), 0x0E, "ESME_RINVPASWD for {} characters: {resp}", long.len());
    }
    // (smpplib cuts a password to 8 octets itself before sending it, so only npm `smpp`,
    // which sends what it is given, can show the server's side.)
    // The right password still binds.
    bound_esme(&server, &acme, &[]).await;
}

#[tokio::test]
async fn a_submission_is_a_message_like_any_other_with_a_receipt_on_the_customers_bind() {
    let (server, acme) = start();
    let other = server.create_account("Other", "10", "NL");
    let bystander = bound_esme(&server, &other, &[]).await;
    let esme = bound_esme(&server, &acme, &[]).await;
    let before = server.balance(&acme.api_key).await;
    esme.send(&json!({"cmd": "submit", "tag": "gsm", "to": "+31612345678", "from": "Acme",
        "text": "Hello over SMPP", "registered_delivery": 1}));
    esme.send(&json!({"cmd": "submit", "tag": "ucs2", "to": "+31612345679", "from": "Acme",
        "text": "Привет", "data_coding": 8}));

    let resp = submit_resp(&esme, "gsm").await;
    assert_eq!(status(&resp), 0, "{resp}");
    let id = resp["message_id"].as_str().expect("message_id").to_owned();
    let (code, m) = server.get(&acme.api_key, &format!("/v1/messages/{id}")).await;
    assert_eq!(code, 200, "the submit_sm_resp id is the message id: {m}");
    assert_eq!(
        (m["to"].as_str(), m["from"].as_str(), m["body"].as_str()),
        (Some("+31612345678"), Some("Acme"), Some("Hello over SMPP"))
    );

    let ucs2 = submit_resp(&esme, "ucs2").await;
    assert_eq!(status(&ucs2), 0, "{ucs2}");
    let all = server.all_messages(&acme.api_key, "").await;
    assert_eq!(all.len(), 2, "{all:?}");
    let m2 = all.iter().find(|m| m["id"] == ucs2["message_id"]).expect("the UCS-2 message is listed");
    assert_eq!(m2["body"], "Привет", "UCS-2 decoded: {m2}");

    let receipt = esme.wait_for(20, |e| e["event"] == "deliver_sm" && e["esm_class"] == 4).await;
    assert_eq!(receipt["receipted_message_id"], id.as_str(), "{receipt}");
    let text = receipt["short_message"].as_str().unwrap_or_default();
    assert!(text.contains("stat:DELIVRD"), "{receipt}");
    assert!(text.contains(&format!("id:{id}")), "{receipt}");
    assert_eq!(receipt["destination_addr"], "Acme", "a receipt goes back to the sender: {receipt}");
    eventually(10, "delivered over the API too", || async {
        let (_, m) = server.get(&acme.api_key, &format!("/v1/messages/{id}")).await;
        (m["status"] == "delivered").then_some(())
    })
    .await;
    assert_ne!(server.balance(&acme.api_key).await, before, "SMPP sends are charged like any other");

    tokio::time::sleep(Duration::from_secs(1)).await;
    let receipts = esme.events_named("deliver_sm");
    assert_eq!(receipts.len(), 1, "one receipt (only the first asked for one): {receipts:?}");
    assert!(bystander.events_named("deliver_sm").is_empty(), "another account's bind sees nothing");
}

#[tokio::test]
async fn smpplib_submits_a_message_and_a_long_one_and_gets_its_receipt() {
    let (server, acme) = start();
    let (user, password) = credentials(&acme);
    let esme = Peer::esme_py(&server.smpp, &["--system-id", &user, "--password", &password]);
    assert_eq!(status(&esme.wait_event(15, "bind_resp").await), 0);
    esme.send(&json!({"cmd": "submit", "tag": "short", "to": "+31612345678", "from": "Acme",
        "text": "Hello from smpplib", "registered_delivery": 1}));
    let resp = esme.wait_for(15, |e| e["event"] == "submit_sm_resp" && e["tag"] == "short").await;
    assert_eq!(status(&resp), 0, "{resp}");
    let id = resp["message_id"].as_str().expect("message_id").to_owned();
    let receipt = esme.wait_for(20, |e| e["event"] == "deliver_sm" && e["esm_class"] == 4).await;
    assert_eq!(receipt["receipted_message_id"], id.as_str(), "{receipt}");

    let long = "smpplib splits this text by itself. ".repeat(11);
    esme.send(&json!({"cmd": "submit_long", "tag": "long", "to": "+31612345679", "from": "Acme", "text": long}));
    let parts = esme.wait_count(15, 3, |e| e["event"] == "submit_sm_resp" && e["tag"] == "long").await;
    for p in &parts {
        assert_eq!(status(p), 0, "every UDH part accepted: {p}");
        assert!(!p["message_id"].as_str().unwrap_or_default().is_empty(), "every part gets a message id: {p}");
    }
    let all = server.all_messages(&acme.api_key, "").await;
    assert!(all.iter().any(|m| m["to"] == "+31612345679"), "the long message is listed: {all:?}");
}

#[tokio::test]
async fn invalid_and_opted_out_destinations_are_refused_with_their_status_and_not_charged() {
    let (server, acme) = start();
    let (status_code, o) = server.post(&acme.api_key, "/v1/opt-outs", &json!({"phone": "+31612345670"})).await;
    assert_eq!(status_code, 201, "{o}");
    let esme = bound_esme(&server, &acme, &[]).await;
    let before = server.balance(&acme.api_key).await;
    esme.send(&json!({"cmd": "submit", "tag": "invalid", "to": "abc", "text": "hi"}));
    esme.send(&json!({"cmd": "submit", "tag": "opted-out", "to": "+31612345670", "text": "hi"}));
    esme.send(&json!({"cmd": "submit", "tag": "ok", "to": "+31612345671", "text": "hi"}));
    assert_eq!(status(&submit_resp(&esme, "invalid").await), 0x0B, "ESME_RINVDSTADR");
    assert_eq!(status(&submit_resp(&esme, "opted-out").await), 0x401, "Textbird's destination opted out");
    assert_eq!(status(&submit_resp(&esme, "ok").await), 0, "the session goes on");
    let all = server.all_messages(&acme.api_key, "").await;
    let charged: Vec<&Value> = all.iter().filter(|m| m["to"] != "+31612345671").collect();
    assert!(charged.iter().all(|m| m["price"] == "0.0000"), "nothing charged for refusals: {charged:?}");
    let price: f64 =
        all.iter().find(|m| m["to"] == "+31612345671").unwrap()["price"].as_str().unwrap().parse().unwrap();
    let expected = format!("{:.4}", before.parse::<f64>().unwrap() - price);
    assert_eq!(server.balance(&acme.api_key).await, expected, "only the accepted message is charged");
}

#[tokio::test]
async fn an_inbound_message_reaches_the_owners_bind_only() {
    let (server, acme) = start();
    let (code, n) = server.post(&acme.api_key, "/v1/numbers", &json!({"number": OURS})).await;
    assert_eq!(code, 201, "{n}");
    let other = server.create_account("Other", "10", "NL");
    let bystander = bound_esme(&server, &other, &[]).await;
    let esme = bound_esme(&server, &acme, &[]).await;
    let r = server
        .request(
            "POST",
            &acme.api_key,
            "/v1/simulator/inbound",
            Some(&json!({"from": "+46701234567", "to": OURS, "body": "hello"})),
            &[],
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let mo = esme.wait_for(20, |e| e["event"] == "deliver_sm").await;
    assert_eq!(mo["esm_class"], 0, "a message, not a receipt: {mo}");
    assert_eq!(mo["short_message"], "hello", "{mo}");
    assert_eq!(mo["source_addr"].as_str().unwrap_or_default().trim_start_matches('+'), "46701234567", "{mo}");
    assert_eq!(mo["destination_addr"].as_str().unwrap_or_default().trim_start_matches('+'), "31687654321", "{mo}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(bystander.events_named("deliver_sm").is_empty(), "another account's bind sees nothing");
}

#[tokio::test]
async fn an_unknown_command_gets_generic_nack_and_the_session_goes_on() {
    let (server, acme) = start();
    let esme = bound_esme(&server, &acme, &[]).await;
    esme.send(&json!({"cmd": "raw", "hex": "00000010 00000999 00000000 00000042"}));
    let nack = esme.wait_event(15, "generic_nack").await;
    assert_eq!((status(&nack), nack["seq"].as_u64()), (3, Some(0x42)), "ESME_RINVCMDID for our sequence: {nack}");
    esme.send(&json!({"cmd": "enquire_link"}));
    let resp = esme.wait_event(15, "enquire_link_resp").await;
    assert_eq!(status(&resp), 0, "{resp}");
    assert!(esme.events_named("close").is_empty(), "still connected");
}

#[tokio::test]
async fn an_absurd_command_length_closes_the_connection_and_hurts_nothing_else() {
    let (server, acme) = start();
    let esme = bound_esme(&server, &acme, &[]).await;
    let survivor = bound_esme(&server, &acme, &[]).await;
    esme.send(&json!({"cmd": "raw", "hex": "7fffffff 00000004 00000000 00000043"}));
    esme.wait_event(15, "close").await;
    if let Some(nack) = esme.events_named("generic_nack").first() {
        assert_eq!(status(nack), 0x02, "ESME_RINVCMDLEN if anything: {nack}");
    }
    healthy(&server).await;
    survivor.send(&json!({"cmd": "enquire_link"}));
    assert_eq!(status(&survivor.wait_event(15, "enquire_link_resp").await), 0, "other sessions are untouched");
    let fresh = bound_esme(&server, &acme, &[]).await;
    fresh.send(&json!({"cmd": "submit", "tag": "after", "to": "+31612345678", "text": "still here"}));
    assert_eq!(status(&submit_resp(&fresh, "after").await), 0);
}

#[tokio::test]
async fn a_submission_before_bind_and_a_second_bind_are_refused() {
    let (server, acme) = start();
    let (user, password) = credentials(&acme);
    let esme = Peer::esme_js(&server.smpp, &["--system-id", &user, "--password", &password, "--no-bind"]);
    esme.wait_event(15, "connect").await;
    esme.send(&json!({"cmd": "submit", "tag": "early", "to": "+31612345678", "text": "too early"}));
    assert_eq!(status(&submit_resp(&esme, "early").await), 0x04, "ESME_RINVBNDSTS");
    esme.send(&json!({"cmd": "bind"}));
    let first = esme.wait_event(15, "bind_resp").await;
    assert_eq!(status(&first), 0, "{first}");
    esme.send(&json!({"cmd": "bind"}));
    let binds = esme.wait_count(15, 2, |e| e["event"] == "bind_resp").await;
    assert_eq!(status(&binds[1]), 0x05, "ESME_RALYBND: {binds:?}");
    assert!(server.all_messages(&acme.api_key, "").await.is_empty());
}

#[tokio::test]
async fn unbind_is_answered_and_the_connection_closes() {
    let (server, acme) = start();
    let esme = bound_esme(&server, &acme, &[]).await;
    esme.send(&json!({"cmd": "unbind"}));
    assert_eq!(status(&esme.wait_event(15, "unbind_resp").await), 0);
    esme.wait_event(15, "close").await;
    healthy(&server).await;
}

/// The customer's `deliver_sm`s among `esme`'s events: receipts (by message id) and inbound
/// texts.
fn delivered_to(esme: &Peer) -> (Vec<String>, Vec<String>) {
    let all = esme.events_named("deliver_sm");
    let receipts = all.iter().filter(|e| e["esm_class"] == 4).map(|e| e["receipted_message_id"].to_string()).collect();
    let texts = all.iter().filter(|e| e["esm_class"] == 0).map(|e| e["short_message"].to_string()).collect();
    (receipts, texts)
}

#[tokio::test]
async fn receipts_and_inbound_messages_wait_for_an_offline_customer_across_a_kill_and_are_taken_once() {
    let (mut server, acme) = start();
    let (code, n) = server.post(&acme.api_key, "/v1/numbers", &json!({"number": OURS})).await;
    assert_eq!(code, 201, "{n}");
    // The account binds a receiver once, then has none.
    let receiver = bound_esme(&server, &acme, &["--bind", "receiver"]).await;
    receiver.send(&json!({"cmd": "unbind"}));
    receiver.wait_event(15, "unbind_resp").await;
    drop(receiver);

    let tx = bound_esme(&server, &acme, &["--bind", "transmitter"]).await;
    tx.send(&json!({"cmd": "submit", "tag": "r", "to": "+31612345678", "from": "Acme",
        "text": "receipt wanted", "registered_delivery": 1}));
    let resp = submit_resp(&tx, "r").await;
    assert_eq!(status(&resp), 0, "{resp}");
    let id = resp["message_id"].as_str().expect("message_id").to_owned();
    eventually(20, "delivered", || async {
        let (_, m) = server.get(&acme.api_key, &format!("/v1/messages/{id}")).await;
        (m["status"] == "delivered").then_some(())
    })
    .await;
    let (code, b) = server
        .post(
            &acme.api_key,
            "/v1/simulator/inbound",
            &json!({"from": "+46701234567", "to": OURS, "body": "while away"}),
        )
        .await;
    assert_eq!(code, 202, "{b}");
    eventually(10, "the inbound message stored", || async {
        let (_, page) = server.get(&acme.api_key, "/v1/inbound").await;
        (page["data"].as_array().is_some_and(|d| !d.is_empty())).then_some(())
    })
    .await;
    drop(tx);

    // Nothing was bound to take them; kill -9 forgets everything held in memory.
    server.kill9();
    server.restart();

    // A receiver that answers every deliver_sm with an error (ESME_RX_T_APPN) takes nothing.
    let refuser = bound_esme(&server, &acme, &["--bind", "receiver", "--deliver-status", "100"]).await;
    eventually(20, "both offered to the refusing receiver", || async {
        let (receipts, texts) = delivered_to(&refuser);
        (!receipts.is_empty() && !texts.is_empty()).then_some(())
    })
    .await;
    // A refused deliver_sm is offered again after a pause, not at once.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (receipts, texts) = delivered_to(&refuser);
    assert!(receipts.len() <= 4 && texts.len() <= 4, "the refusing receiver is not flooded: {receipts:?} {texts:?}");
    refuser.send(&json!({"cmd": "unbind"}));
    refuser.wait_event(15, "unbind_resp").await;
    drop(refuser);

    let esme = bound_esme(&server, &acme, &["--bind", "receiver"]).await;
    let receipt = esme.wait_for(20, |e| e["event"] == "deliver_sm" && e["esm_class"] == 4).await;
    assert_eq!(receipt["receipted_message_id"], id.as_str(), "{receipt}");
    assert!(receipt["short_message"].as_str().unwrap_or_default().contains("stat:DELIVRD"), "{receipt}");
    let mo = esme.wait_for(20, |e| e["event"] == "deliver_sm" && e["esm_class"] == 0).await;
    assert_eq!(mo["short_message"], "while away", "{mo}");
    // Answers are recorded (in batches) before they are settled; then a kill loses nothing
    // taken, and nothing taken comes again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(delivered_to(&esme), (vec![format!("\"{id}\"")], vec!["\"while away\"".to_owned()]), "each once");
    drop(esme);
    server.kill9();
    server.restart();
    let again = bound_esme(&server, &acme, &["--bind", "transceiver"]).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(delivered_to(&again), (vec![], vec![]), "what was taken is not owed any more");
    healthy(&server).await;
}

#[tokio::test]
async fn query_sm_tells_a_messages_state_and_cancel_sm_cancels_a_scheduled_one_with_a_refund() {
    let (server, acme) = start();
    let other = server.create_account("Other", "10", "NL");
    let esme = bound_esme(&server, &acme, &[]).await;
    let before = server.balance(&acme.api_key).await;
    // At once, and in an hour (relative time: 1 h from now).
    esme.send(&json!({"cmd": "submit", "tag": "now", "to": "+31612345678", "text": "at once"}));
    esme.send(&json!({"cmd": "submit", "tag": "later", "to": "+31612345679", "text": "in an hour",
        "schedule_delivery_time": "000000010000000R", "validity_period": "000001000000000R"}));
    let now_id = submit_resp(&esme, "now").await["message_id"].as_str().expect("id").to_owned();
    let later = submit_resp(&esme, "later").await;
    assert_eq!(status(&later), 0, "{later}");
    let later_id = later["message_id"].as_str().expect("id").to_owned();
    let (_, m) = server.get(&acme.api_key, &format!("/v1/messages/{later_id}")).await;
    assert_eq!(m["status"], "scheduled", "schedule_delivery_time is honoured: {m}");
    // A long message in parts takes the first part's schedule.
    esme.send(&json!({"cmd": "submit_long", "tag": "long", "to": "+31612345670", "text": "b".repeat(200),
        "schedule_delivery_time": "000000010000000R"}));
    let long = submit_resp(&esme, "long").await;
    assert_eq!(status(&long), 0, "{long}");
    let (_, m) = server.get(&acme.api_key, &format!("/v1/messages/{}", long["message_id"].as_str().expect("id"))).await;
    assert_eq!((m["status"].as_str(), m["parts"].as_u64()), (Some("scheduled"), Some(2)), "{m}");
    eventually(20, "the first delivered", || async {
        let (_, m) = server.get(&acme.api_key, &format!("/v1/messages/{now_id}")).await;
        (m["status"] == "delivered").then_some(())
    })
    .await;

    esme.send(&json!({"cmd": "query", "tag": "q1", "message_id": now_id}));
    let q = esme.wait_for(15, |e| e["event"] == "query_sm_resp" && e["tag"] == "q1").await;
    assert_eq!((status(&q), q["message_state"].as_u64()), (0, Some(2)), "DELIVERED: {q}");
    assert!(!q["final_date"].as_str().unwrap_or_default().is_empty(), "a final date: {q}");
    esme.send(&json!({"cmd": "query", "tag": "q2", "message_id": later_id}));
    let q = esme.wait_for(15, |e| e["event"] == "query_sm_resp" && e["tag"] == "q2").await;
    assert_eq!((status(&q), q["message_state"].as_u64()), (0, Some(1)), "ENROUTE while scheduled: {q}");

    // Another account's ids are unknown ids, for query and cancel alike.
    let intruder = bound_esme(&server, &other, &[]).await;
    intruder.send(&json!({"cmd": "query", "tag": "x", "message_id": later_id}));
    let q = intruder.wait_for(15, |e| e["event"] == "query_sm_resp").await;
    assert_eq!(status(&q), 0x0C, "ESME_RINVMSGID: {q}");
    intruder.send(&json!({"cmd": "cancel", "tag": "x", "message_id": later_id}));
    let c = intruder.wait_for(15, |e| e["event"] == "cancel_sm_resp").await;
    assert_eq!(status(&c), 0x0C, "ESME_RINVMSGID: {c}");

    // A delivered message cannot be canceled; the scheduled one can, and is refunded.
    esme.send(&json!({"cmd": "cancel", "tag": "c1", "message_id": now_id}));
    let c = esme.wait_for(15, |e| e["event"] == "cancel_sm_resp" && e["tag"] == "c1").await;
    assert_eq!(status(&c), 0x11, "ESME_RCANCELFAIL: {c}");
    let charged = server.balance(&acme.api_key).await;
    esme.send(&json!({"cmd": "cancel", "tag": "c2", "message_id": later_id}));
    let c = esme.wait_for(15, |e| e["event"] == "cancel_sm_resp" && e["tag"] == "c2").await;
    assert_eq!(status(&c), 0, "{c}");
    let (_, m) = server.get(&acme.api_key, &format!("/v1/messages/{later_id}")).await;
    assert_eq!(m["status"], "canceled", "{m}");
    let refunded = server.balance(&acme.api_key).await;
    assert_ne!(refunded, charged, "the canceled message is refunded");
    assert_ne!(refunded, before, "the delivered one stays charged");
    esme.send(&json!({"cmd": "query", "tag": "q3", "message_id": later_id}));
    let q = esme.wait_for(15, |e| e["event"] == "query_sm_resp" && e["tag"] == "q3").await;
    assert_eq!(q["message_state"].as_u64(), Some(4), "DELETED once canceled: {q}");

    // An unreadable schedule is ESME_RINVSCHED, a validity that ends before it starts
    // ESME_RINVEXPIRY; neither is stored or charged.
    esme.send(&json!({"cmd": "submit", "tag": "bad1", "to": "+31612345670", "text": "x",
        "schedule_delivery_time": "99999999999999+X"}));
    assert_eq!(status(&submit_resp(&esme, "bad1").await), 0x61);
    esme.send(&json!({"cmd": "submit", "tag": "bad2", "to": "+31612345670", "text": "x",
        "schedule_delivery_time": "000000020000000R", "validity_period": "000000010000000R"}));
    assert_eq!(status(&submit_resp(&esme, "bad2").await), 0x62);
    assert_eq!(server.balance(&acme.api_key).await, refunded, "refusals are not charged");
    assert_eq!(server.all_messages(&acme.api_key, "").await.len(), 3, "nothing stored for them");
}

#[tokio::test]
async fn submit_multi_reaches_each_destination_and_a_group_under_one_id_and_replace_sm_rewrites_a_scheduled_message() {
    let (server, acme) = start();
    let other = server.create_account("Other", "10", "NL");
    let key = &acme.api_key;
    let (code, group) = server.post(key, "/v1/groups", &json!({"name": "Team"})).await;
    assert_eq!(code, 201, "{group}");
    let (code, contact) =
        server.post(key, "/v1/contacts", &json!({"phone": "+31612340001", "group_ids": [group["id"]]})).await;
    assert_eq!(code, 201, "{contact}");
    let esme = bound_esme(&server, &acme, &[]).await;

    // Two numbers, an invalid one, a repeat and a distribution list: one id for all, the
    // refused ones listed with their status.
    esme.send(&json!({"cmd": "multi", "tag": "m1", "registered_delivery": 1, "text": "hello all",
        "dests": ["+31612340002", "+31612340003", "12", "+31612340002", {"dl_name": "team"}]}));
    let m = esme.wait_for(15, |e| e["event"] == "submit_multi_resp" && e["tag"] == "m1").await;
    assert_eq!(status(&m), 0, "{m}");
    let multi_id = m["message_id"].as_str().expect("an id").to_owned();
    let refused: Vec<(String, u64)> = m["unsuccess"]
        .as_array()
        .expect("unsuccess")
        .iter()
        .map(|u| {
            (
                u["destination_addr"].as_str().unwrap_or_default().to_owned(),
                u["error_status_code"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(refused, [("12".to_owned(), 0x0B), ("31612340002".to_owned(), 0x0B)], "{m}");
    let stored = server.all_messages(key, "").await;
    assert_eq!(stored.len(), 3, "one message per accepted destination: {stored:?}");

    // Each destination's receipt carries the submission's id, from that destination.
    let receipts = eventually(30, "three receipts", || async {
        let r: Vec<Value> = esme.events_named("deliver_sm").into_iter().filter(|e| e["esm_class"] == 4).collect();
        (r.len() >= 3).then_some(r)
    })
    .await;
    let mut from: Vec<&str> = receipts.iter().map(|r| r["source_addr"].as_str().unwrap_or_default()).collect();
    from.sort_unstable();
    assert_eq!(from, ["31612340001", "31612340002", "31612340003"], "{receipts:?}");
    for r in &receipts {
        assert_eq!(r["receipted_message_id"], multi_id.as_str(), "{r}");
        assert!(r["short_message"].as_str().unwrap_or_default().contains(&format!("id:{multi_id}")), "{r}");
    }
    esme.send(&json!({"cmd": "query", "tag": "q1", "message_id": multi_id}));
    let q = esme.wait_for(15, |e| e["event"] == "query_sm_resp" && e["tag"] == "q1").await;
    assert_eq!((status(&q), q["message_state"].as_u64()), (0, Some(2)), "DELIVERED once all are: {q}");

    // An unknown list refuses the whole submission; nothing is stored.
    esme.send(&json!({"cmd": "multi", "tag": "m2", "dests": ["+31612340004", {"dl_name": "Nobody"}]}));
    let m = esme.wait_for(15, |e| e["event"] == "submit_multi_resp" && e["tag"] == "m2").await;
    assert_eq!(status(&m), 0x34, "ESME_RINVDLNAME: {m}");
    assert_eq!(server.all_messages(key, "").await.len(), 3);

    // A scheduled submit_multi is canceled one destination at a time, then as a whole.
    esme.send(&json!({"cmd": "multi", "tag": "m3", "dests": ["+31612340005", "+31612340006", "+31612340007"],
        "schedule_delivery_time": "000000010000000R", "text": "later"}));
    let m = esme.wait_for(15, |e| e["event"] == "submit_multi_resp" && e["tag"] == "m3").await;
    assert_eq!(status(&m), 0, "{m}");
    let later = m["message_id"].as_str().expect("id").to_owned();
    let charged = server.balance(key).await;
    esme.send(&json!({"cmd": "cancel", "tag": "c1", "message_id": later, "to": "+31612340006"}));
    let c = esme.wait_for(15, |e| e["event"] == "cancel_sm_resp" && e["tag"] == "c1").await;
    assert_eq!(status(&c), 0, "{c}");
    let canceled = server.all_messages(key, "&status=canceled").await;
    assert_eq!(canceled.len(), 1, "only that destination: {canceled:?}");
    assert_eq!(canceled[0]["to"], "+31612340006");
    let after_one = server.balance(key).await;
    assert_ne!(after_one, charged, "the canceled destination is refunded");
    esme.send(&json!({"cmd": "query", "tag": "q2", "message_id": later}));
    let q = esme.wait_for(15, |e| e["event"] == "query_sm_resp" && e["tag"] == "q2").await;
    assert_eq!(q["message_state"].as_u64(), Some(1), "ENROUTE while two are scheduled: {q}");
    esme.send(&json!({"cmd": "cancel", "tag": "c2", "message_id": later, "to": ""}));
    let c = esme.wait_for(15, |e| e["event"] == "cancel_sm_resp" && e["tag"] == "c2").await;
    assert_eq!(status(&c), 0, "{c}");
    assert_eq!(server.all_messages(key, "&status=canceled").await.len(), 3);
    esme.send(&json!({"cmd": "cancel", "tag": "c3", "message_id": later, "to": ""}));
    let c = esme.wait_for(15, |e| e["event"] == "cancel_sm_resp" && e["tag"] == "c3").await;
    assert_eq!(status(&c), 0x11, "nothing left to cancel: {c}");
    // replace_sm does not take a submit_multi's id.
    esme.send(&json!({"cmd": "replace", "tag": "r0", "message_id": later, "text": "x"}));
    let r = esme.wait_for(15, |e| e["event"] == "replace_sm_resp" && e["tag"] == "r0").await;
    assert_eq!(status(&r), 0x13, "ESME_RREPLACEFAIL: {r}");

    // replace_sm: a longer text costs its extra part, and a new schedule makes it due.
    esme.send(&json!({"cmd": "submit", "tag": "s1", "to": "+31612340008", "text": "short",
        "schedule_delivery_time": "000000010000000R"}));
    let s1 = submit_resp(&esme, "s1").await;
    let id = s1["message_id"].as_str().expect("id").to_owned();
    let before = server.balance(key).await;
    let (_, m) = server.get(key, &format!("/v1/messages/{id}")).await;
    assert_eq!((m["status"].as_str(), m["parts"].as_u64()), (Some("scheduled"), Some(1)), "{m}");
    let intruder = bound_esme(&server, &other, &[]).await;
    intruder.send(&json!({"cmd": "replace", "tag": "x", "message_id": id, "text": "mine now"}));
    let r = intruder.wait_for(15, |e| e["event"] == "replace_sm_resp").await;
    assert_eq!(status(&r), 0x0C, "another account's id is unknown: {r}");
    let long = "a".repeat(200);
    esme.send(&json!({"cmd": "replace", "tag": "r1", "message_id": id, "text": long}));
    let r = esme.wait_for(15, |e| e["event"] == "replace_sm_resp" && e["tag"] == "r1").await;
    assert_eq!(status(&r), 0, "{r}");
    let (_, m) = server.get(key, &format!("/v1/messages/{id}")).await;
    assert_eq!(
        (m["body"].as_str(), m["parts"].as_u64(), m["status"].as_str()),
        (Some(long.as_str()), Some(2), Some("scheduled")),
        "{m}"
    );
    let after = server.balance(key).await;
    assert_ne!(after, before, "the extra part is charged");
    esme.send(&json!({"cmd": "replace", "tag": "r2", "message_id": id, "schedule_delivery_time": "000000000001000R"}));
    let r = esme.wait_for(15, |e| e["event"] == "replace_sm_resp" && e["tag"] == "r2").await;
    assert_eq!(status(&r), 0, "{r}");
    eventually(30, "the replaced message delivered", || async {
        let (_, m) = server.get(key, &format!("/v1/messages/{id}")).await;
        (m["status"] == "delivered" && m["body"] == long.as_str()).then_some(())
    })
    .await;
    esme.send(&json!({"cmd": "replace", "tag": "r3", "message_id": id, "text": "too late"}));
    let r = esme.wait_for(15, |e| e["event"] == "replace_sm_resp" && e["tag"] == "r3").await;
    assert_eq!(status(&r), 0x13, "a message that went out cannot be replaced: {r}");
    assert_eq!(server.balance(key).await, after, "refused replacements change nothing");
}
