//! Credits: prices come from the imported rate table (longest prefix, times parts); a send the
//! balance cannot cover is refused whole and charges nothing; carrier rejections and validity
//! expiry are refunded exactly once, carrier non-delivery is not; the ledger always sums to
//! the balance.

use serde_json::{Value, json};
use textbird_test_support::{Account, Server, assert_problem, eventually};

const BIN: &str = env!("CARGO_BIN_EXE_textbird");

async fn send(server: &Server, key: &str, body: Value) -> (u16, Value) {
    server.post(key, "/v1/messages", &body).await
}

async fn wait_status(server: &Server, key: &str, id: &str, status: &str) -> Value {
    eventually(15, &format!("message {id} {status}"), || async {
        let (_, m) = server.get(key, &format!("/v1/messages/{id}")).await;
        (m["status"] == status).then_some(m)
    })
    .await
}

/// The ledger rows of the account add up to its balance (checked in the database itself).
fn assert_ledger_matches(server: &Server, account: &Account) {
    let sql = format!(
        "SELECT (SELECT balance FROM accounts WHERE id = '{id}') - \
         CAST((SELECT coalesce(sum(amount), 0) FROM ledger WHERE account_id = '{id}') AS BIGINT)",
        id = account.id
    );
    assert_eq!(server.sql(&sql).as_deref(), Some("0"), "balance minus ledger sum");
}

#[tokio::test]
async fn price_is_longest_rate_prefix_times_parts() {
    let mut server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let csv = server.write_file("rates.csv", "prefix,price\n+31,0.0700\n316, 0.0650\n");
    let out = server.cli(&["rates", "import", csv.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: Value = serde_json::from_slice(&out.stdout).expect("import prints JSON");
    assert_eq!(printed["imported"], 2);
    let out = server.cli(&["rates", "list"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "prefix,price\n31,0.0700\n316,0.0650\n");
    let bad = server.write_file("bad.csv", "31,0.07\n32,abc\n");
    let out = server.cli(&["rates", "import", bad.to_str().unwrap()]);
    assert!(!out.status.success(), "a bad row fails the import");
    assert!(String::from_utf8_lossy(&out.stderr).contains("row 2"), "{}", String::from_utf8_lossy(&out.stderr));
    server.kill9();
    server.restart();

    let long = "x".repeat(200);
    for (to, body, parts, price) in [
        ("+31612345678", "Hi", 1, "0.0650"),
        ("+31201234567", "Hi", 1, "0.0700"),
        ("+32470123456", "Hi", 1, "0.0050"),
        ("+31612345678", long.as_str(), 2, "0.1300"),
    ] {
        let (status, sent) = send(&server, &acme.api_key, json!({"to": to, "from": "Acme", "body": body})).await;
        assert_eq!(status, 201, "{sent}");
        assert_eq!(sent["messages"][0]["parts"], parts, "{to}");
        assert_eq!(sent["messages"][0]["price"], price, "{to}");
    }
    assert_eq!(server.balance(&acme.api_key).await, "9.7300");
    assert_ledger_matches(&server, &acme);
}

#[tokio::test]
async fn insufficient_balance_is_402_and_nothing_is_stored() {
    let server = Server::start(BIN, "");
    let poor = server.create_account("Poor", "0.0040", "NL");
    let (status, p) = send(&server, &poor.api_key, json!({"to": "+31612345678", "from": "Acme", "body": "Hi"})).await;
    assert_eq!(status, 402, "{p}");
    assert_eq!(p["type"], "/problems/insufficient-balance");
    let detail = p["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("0.0050") && detail.contains("0.0040"), "{p}");
    // All or nothing: the first recipient alone would fit in a larger balance, but not both.
    let ok = server.create_account("Ok", "0.0070", "NL");
    let r = server
        .request(
            "POST",
            &ok.api_key,
            "/v1/messages",
            Some(&json!({"to": ["+31612345678", "+31612345679"], "from": "Acme", "body": "Hi"})),
            &[],
        )
        .await;
    assert_problem(&r, 402);
    for (account, balance) in [(&poor, "0.0040"), (&ok, "0.0070")] {
        assert!(server.all_messages(&account.api_key, "").await.is_empty());
        assert_eq!(server.balance(&account.api_key).await, balance);
        assert_ledger_matches(&server, account);
    }
}

#[tokio::test]
async fn a_send_costing_exactly_the_balance_leaves_zero() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "0.0100", "NL");
    let body = json!({"to": "+31612345678", "from": "Acme", "body": "y".repeat(161)});
    let (status, sent) = send(&server, &acme.api_key, body.clone()).await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["total_price"], "0.0100");
    assert_eq!(server.balance(&acme.api_key).await, "0.0000");
    let (status, _) = send(&server, &acme.api_key, json!({"to": "+31612345678", "from": "Acme", "body": "1"})).await;
    assert_eq!(status, 402, "the balance never goes negative");
    assert_eq!(server.balance(&acme.api_key).await, "0.0000");
    let out = server.cli(&["accounts", "credit", "--id", &acme.id, "--amount", "-0.0001"]);
    assert!(!out.status.success(), "an operator debit cannot go below zero either");
    assert_eq!(server.balance(&acme.api_key).await, "0.0000");
    assert_ledger_matches(&server, &acme);
}

#[tokio::test]
async fn carrier_rejection_is_final_and_refunded() {
    let server = Server::start(BIN, "[simulator]\ndelivered = 0.0\nrejected = 1.0\n");
    let acme = server.create_account("Acme", "10", "NL");
    let (status, sent) =
        send(&server, &acme.api_key, json!({"to": "+31612345678", "from": "Acme", "body": "Hi"})).await;
    assert_eq!(status, 201, "{sent}");
    let id = sent["messages"][0]["id"].as_str().unwrap();
    let m = wait_status(&server, &acme.api_key, id, "rejected").await;
    assert_eq!(m["error"]["code"], "0x00000045", "{m}");
    assert!(m["error"]["detail"].is_string(), "{m}");
    assert_eq!(server.balance(&acme.api_key).await, "10.0000");
    assert_ledger_matches(&server, &acme);
}

#[tokio::test]
async fn carrier_non_delivery_is_final_and_not_refunded() {
    let server = Server::start(BIN, "[simulator]\ndelivered = 0.0\nundelivered = 1.0\n");
    let acme = server.create_account("Acme", "10", "NL");
    let (_, sent) = send(&server, &acme.api_key, json!({"to": "+31612345678", "from": "Acme", "body": "Hi"})).await;
    let id = sent["messages"][0]["id"].as_str().unwrap();
    let m = wait_status(&server, &acme.api_key, id, "undelivered").await;
    assert_eq!(m["error"]["code"], "001", "{m}");
    let statuses: Vec<&str> = m["events"].as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["queued", "submitted", "undelivered"]);
    assert_eq!(server.balance(&acme.api_key).await, "9.9950");
    assert_ledger_matches(&server, &acme);
}

#[tokio::test]
async fn messages_outliving_their_validity_expire_and_are_refunded() {
    let config = r#"
[[connectors]]
name = "slow"
kind = "simulator"
tps = 1
window = 1

[[routes]]
prefix = ""
connector = "slow"
"#;
    let server = Server::start(BIN, config);
    let acme = server.create_account("Acme", "10", "NL");
    let to: Vec<String> = (1..=6).map(|i| format!("+3161234567{i}")).collect();
    let (status, sent) =
        send(&server, &acme.api_key, json!({"to": to, "from": "Acme", "body": "Hi", "validity_period": 1})).await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["total_price"], "0.0300");
    let finals = eventually(20, "every message final", || async {
        let all = server.all_messages(&acme.api_key, "").await;
        all.iter().all(|m| m["status"] == "delivered" || m["status"] == "expired").then_some(all)
    })
    .await;
    let delivered = finals.iter().filter(|m| m["status"] == "delivered").count();
    let expired: Vec<&Value> = finals.iter().filter(|m| m["status"] == "expired").collect();
    assert!(delivered >= 1, "the first message fits in the throttle");
    assert!(expired.len() >= 3, "at 1 message/s at most two make it within 1 s: {delivered} delivered");
    for m in &expired {
        let id = m["id"].as_str().unwrap();
        let (_, full) = server.get(&acme.api_key, &format!("/v1/messages/{id}")).await;
        let last = full["events"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["status"], "expired");
        assert!(last["detail"].as_str().is_some_and(|d| d.contains("validity")), "{last}");
        assert!(full["connector"].is_null() && full["carrier_id"].is_null(), "never submitted: {full}");
    }
    // Only what was delivered is paid for: 10 - 0.0050 per delivered message.
    let expected = format!("{:.4}", 10.0 - 0.005 * delivered as f64);
    assert_eq!(server.balance(&acme.api_key).await, expected);
    let out = server.cli(&["accounts", "credit", "--id", &acme.id, "--amount", "2.5"]);
    assert!(out.status.success());
    let expected = format!("{:.4}", 12.5 - 0.005 * delivered as f64);
    assert_eq!(server.balance(&acme.api_key).await, expected);
    assert_ledger_matches(&server, &acme);
}
