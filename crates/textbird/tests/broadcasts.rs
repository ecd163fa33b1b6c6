//! Broadcasts against a real server and its simulator: estimate then commit (a changed
//! audience is 409 with the fresh estimate and creates nothing), the whole lifecycle with
//! exact counters, webhooks and the ledger, pause/resume/cancel with refunds of exactly what
//! was not sent, kill -9 in the middle of an expansion, the bulk lane yielding to a single
//! send, tenant isolation of every id and the bad inputs.

use std::collections::HashSet;

use serde_json::{Value, json};
use textbird_test_support::{Server, WebhookSink, assert_problem, eventually, problem_fields, rfc3339_from_now};

const BIN: &str = env!("CARGO_BIN_EXE_textbird");

fn number(i: usize) -> String {
    format!("+3161{i:07}")
}

async fn list_with(server: &Server, key: &str, name: &str, numbers: &[String]) -> String {
    let (status, list) = server.post(key, "/v1/lists", &json!({"name": name})).await;
    assert_eq!(status, 201, "{list}");
    let id = list["id"].as_str().unwrap().to_owned();
    for chunk in numbers.chunks(1000) {
        let (status, added) = server.post(key, &format!("/v1/lists/{id}/numbers"), &json!({"numbers": chunk})).await;
        assert!(status == 200 || status == 201, "{status} {added}");
    }
    id
}

async fn wait_broadcast(
    server: &Server,
    key: &str,
    id: &str,
    secs: u64,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    eventually(secs, what, || async {
        let (status, b) = server.get(key, &format!("/v1/broadcasts/{id}")).await;
        assert_eq!(status, 200, "{b}");
        done(&b).then_some(b)
    })
    .await
}

fn n(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[tokio::test]
async fn a_broadcast_is_estimated_committed_expanded_delivered_and_completed() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "100", "NL");
    let key = &acme.api_key;
    let sink = WebhookSink::start(vec![]).await;
    let (status, hook) = server
        .post(key, "/v1/webhooks", &json!({"url": sink.url, "events": ["broadcast.started", "broadcast.completed"]}))
        .await;
    assert_eq!(status, 201, "{hook}");
    // Two lists sharing two numbers; one number opted out, one unsubscribed.
    let first: Vec<String> = (0..6).map(number).collect();
    let second: Vec<String> = (4..10).map(number).collect();
    let a = list_with(&server, key, "First", &first).await;
    let b = list_with(&server, key, "Second", &second).await;
    let (status, _) = server.post(key, "/v1/opt-outs", &json!({"phone": number(1)})).await;
    assert_eq!(status, 201);
    // `/v1/unsubscribes` is the account-wide opt-out list; a named unsubscribe list is consulted too.
    let (status, unsub) =
        server.post(key, "/v1/unsubscribe-lists", &json!({"name": "Complaints", "numbers": [number(8)]})).await;
    assert_eq!(status, 201, "{unsub}");
    let body = json!({
        "name": "Spring sale",
        "audience": {"list_ids": [a, b], "numbers": ["not a number", number(20)]},
        "body": "Spring sale: 20% off",
        "from": "Acme",
    });
    let (status, estimate) = server.post(key, "/v1/broadcasts/estimate", &body).await;
    assert_eq!(status, 200, "{estimate}");
    // 14 read: 1 invalid, 2 duplicates, 1 opted out, 1 unsubscribed: 9 recipients.
    assert_eq!(n(&estimate["recipients"]), 9, "{estimate}");
    assert_eq!(n(&estimate["messages"]), 9);
    assert_eq!(n(&estimate["parts"]), 9);
    assert_eq!(estimate["total_price"], "0.0450");
    assert_eq!(estimate["skipped"], json!({"duplicate": 2, "opted_out": 1, "unsubscribed": 1, "invalid": 1}));
    assert_eq!(estimate["by_country"], json!([{"country": "NL", "recipients": 9, "price": "0.0450"}]));
    assert_eq!(estimate["sample"]["body"], "Spring sale: 20% off");
    let hash = estimate["estimate_hash"].as_str().unwrap();
    let (_, again) = server.post(key, "/v1/broadcasts/estimate", &body).await;
    assert_eq!(again["estimate_hash"], hash, "the same audience gives the same hash");
    assert_eq!(server.balance(key).await, "100.0000", "an estimate stores and charges nothing");
    let (_, none) = server.get(key, "/v1/broadcasts").await;
    assert_eq!(none["data"], json!([]));

    let mut create = body.clone();
    create["estimate_hash"] = json!(hash);
    let (status, created) = server.post(key, "/v1/broadcasts", &create).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["name"], "Spring sale");
    assert_eq!(n(&created["counters"]["recipients"]), 9);

    let done = wait_broadcast(&server, key, id, 30, "completed", |b| b["status"] == "completed").await;
    let c = &done["counters"];
    assert_eq!(n(&c["expanded"]), 9, "{done}");
    assert_eq!(n(&c["delivered"]) + n(&c["submitted"]), 9, "{done}");
    assert_eq!(c["skipped"], json!({"duplicate": 2, "opted_out": 1, "unsubscribed": 1, "invalid": 1}));
    assert_eq!(server.balance(key).await, "99.9550");

    let messages = server.all_messages(key, &format!("&broadcast_id={id}")).await;
    let mut to: Vec<String> = messages.iter().map(|m| m["to"].as_str().unwrap().to_owned()).collect();
    to.sort_unstable();
    let mut expected: Vec<String> = [0, 2, 3, 4, 5, 6, 7, 9, 20].iter().map(|i| number(*i)).collect();
    expected.sort_unstable();
    assert_eq!(to, expected, "each recipient once; no opted-out, unsubscribed or invalid number");
    let (_, all) = server.get(key, "/v1/messages?limit=1000").await;
    assert_eq!(all["data"].as_array().unwrap().len(), 9, "nothing else was sent");

    let (status, report) = server.get(key, &format!("/v1/broadcasts/{id}/report")).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["cost"], "0.0450");
    let sent: i64 = report["by_status"].as_array().unwrap().iter().map(|s| n(&s["messages"])).sum();
    assert_eq!(sent, 9, "{report}");
    assert_eq!(report["by_country"], json!([{"country": "NL", "recipients": 9, "price": "0.0450"}]));
    let hourly: i64 = report["by_hour"].as_array().unwrap().iter().map(|h| n(&h["messages"])).sum();
    assert_eq!(hourly, 9, "{report}");

    for event in ["broadcast.started", "broadcast.completed"] {
        let hook = eventually(10, event, || async { sink.events(event).into_iter().next() }).await;
        assert_eq!(hook.json()["data"]["id"], id);
    }
    let (_, listed) = server.get(key, "/v1/broadcasts?status=completed&name=spring").await;
    assert_eq!(listed["data"][0]["id"], id, "{listed}");
    let (_, other) = server.get(key, "/v1/broadcasts?name=winter").await;
    assert_eq!(other["data"], json!([]));
}

#[tokio::test]
async fn a_changed_audience_is_refused_with_the_fresh_estimate_and_nothing_is_created() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "100", "NL");
    let key = &acme.api_key;
    let list = list_with(&server, key, "News", &(0..3).map(number).collect::<Vec<_>>()).await;
    let body = json!({"audience": {"list_ids": [list]}, "body": "Hi", "from": "Acme"});
    let (_, estimate) = server.post(key, "/v1/broadcasts/estimate", &body).await;
    assert_eq!(n(&estimate["recipients"]), 3);
    let (status, _) = server.post(key, &format!("/v1/lists/{list}/numbers"), &json!({"numbers": [number(7)]})).await;
    assert!(status == 200 || status == 201);
    let mut create = body.clone();
    create["estimate_hash"] = estimate["estimate_hash"].clone();
    let r = server.request("POST", key, "/v1/broadcasts", Some(&create), &[]).await;
    let p = assert_problem(&r, 409);
    assert_eq!(n(&p["estimate"]["recipients"]), 4, "{p}");
    assert_ne!(p["estimate"]["estimate_hash"], estimate["estimate_hash"]);
    let (_, none) = server.get(key, "/v1/broadcasts").await;
    assert_eq!(none["data"], json!([]), "nothing was created");
    assert_eq!(server.balance(key).await, "100.0000", "nothing was charged");
    // With the fresh hash it goes through.
    create["estimate_hash"] = p["estimate"]["estimate_hash"].clone();
    let (status, created) = server.post(key, "/v1/broadcasts", &create).await;
    assert_eq!(status, 201, "{created}");
}

#[tokio::test]
async fn a_scheduled_broadcast_is_paused_resumed_and_canceled_with_every_message_refunded_once() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let key = &acme.api_key;
    let numbers: Vec<String> = (0..1200).map(number).collect();
    let list = list_with(&server, key, "Big", &numbers).await;
    let at = rfc3339_from_now(3_600_000);
    let (status, created) = server
        .post(
            key,
            "/v1/broadcasts",
            &json!({"audience": {"list_ids": [list]}, "body": "Later", "from": "Acme", "send_at": at}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    // The walk ends with a chunk that finds the audience exhausted.
    let b = wait_broadcast(&server, key, id, 60, "expanded", |b| {
        n(&b["counters"]["expanded"]) == 1200 && b["status"] != "expanding"
    })
    .await;
    assert_eq!(b["status"], "scheduled", "{b}");
    assert_eq!(n(&b["counters"]["scheduled"]), 1200);
    assert_eq!(server.balance(key).await, "4.0000", "1200 × 0.005 charged when accepted");

    let (status, paused) = server.post(key, &format!("/v1/broadcasts/{id}/pause"), &json!({})).await;
    assert_eq!(status, 200, "{paused}");
    assert_eq!(paused["status"], "paused");
    assert_eq!(paused["pause_reason"], "manual");
    let r = server.request("POST", key, &format!("/v1/broadcasts/{id}/pause"), None, &[]).await;
    assert_problem(&r, 409);
    let (status, resumed) = server.post(key, &format!("/v1/broadcasts/{id}/resume"), &json!({})).await;
    assert_eq!(status, 200, "{resumed}");
    assert_eq!(resumed["status"], "scheduled");

    let (status, canceled) = server.post(key, &format!("/v1/broadcasts/{id}/cancel"), &json!({})).await;
    assert_eq!(status, 200, "{canceled}");
    assert_eq!(canceled["status"], "canceled");
    assert_eq!(n(&canceled["counters"]["canceled"]), 1200, "{canceled}");
    assert_eq!(n(&canceled["counters"]["scheduled"]), 0);
    assert_eq!(canceled["cost"], "0.0000");
    assert_eq!(server.balance(key).await, "10.0000", "every message refunded");
    let r = server.request("POST", key, &format!("/v1/broadcasts/{id}/cancel"), None, &[]).await;
    assert_problem(&r, 409);
    assert_eq!(server.balance(key).await, "10.0000", "refunded exactly once");
    let refunds = server
        .sql(&format!("SELECT count(*) FROM ledger WHERE account_id = '{}' AND reason = 'refund'", acme.id))
        .unwrap();
    assert_eq!(refunds.trim(), "1200");
    let sum = server
        .sql(&format!("SELECT CAST(sum(amount) AS BIGINT) FROM ledger WHERE account_id = '{}'", acme.id))
        .unwrap();
    assert_eq!(sum.trim(), "10000000", "the ledger sums to the balance");
}

#[tokio::test]
async fn kill_9_in_the_middle_of_an_expansion_leaves_exact_counts_after_the_restart() {
    let mut server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "1000", "NL");
    let key = acme.api_key.clone();
    let total = 20_000;
    let numbers: Vec<String> = (0..total).map(number).collect();
    let list = list_with(&server, &key, "Huge", &numbers).await;
    let at = rfc3339_from_now(3_600_000);
    let (status, created) = server
        .post(
            &key,
            "/v1/broadcasts",
            &json!({"audience": {"list_ids": [list]}, "body": "Hi", "from": "Acme", "send_at": at}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let mid =
        wait_broadcast(&server, &key, &id, 60, "expansion under way", |b| n(&b["counters"]["expanded"]) > 0).await;
    server.kill9();
    let at_kill = n(&mid["counters"]["expanded"]);
    server.restart();
    let b = wait_broadcast(&server, &key, &id, 120, "expanded", |b| b["status"] != "expanding").await;
    assert_eq!(n(&b["counters"]["expanded"]), total as i64, "{b}");
    assert_eq!(n(&b["counters"]["scheduled"]), total as i64, "{b}");
    let distinct = server
        .sql(&format!("SELECT count(DISTINCT to_number) || '/' || count(*) FROM messages WHERE batch_id = '{id}'"))
        .unwrap();
    assert_eq!(distinct.trim(), format!("{total}/{total}"), "one message per recipient (killed at {at_kill})");
    let expected = format!("{:.4}", 1000.0 - total as f64 * 0.005);
    assert_eq!(server.balance(&key).await, expected);
    let sum = server
        .sql(&format!("SELECT CAST(sum(amount) AS BIGINT) FROM ledger WHERE account_id = '{}'", acme.id))
        .unwrap();
    assert_eq!(sum.trim(), format!("{}", (1000.0 - total as f64 * 0.005) as i64 * 1_000_000), "ledger");
}

#[tokio::test]
async fn a_single_send_overtakes_a_draining_broadcast_on_the_same_connector() {
    let config = "[[connectors]]\nname = \"slow\"\nkind = \"simulator\"\ntps = 20\nwindow = 2\n\n\
                  [[routes]]\nprefix = \"\"\nconnector = \"slow\"\n";
    let server = Server::start(BIN, config);
    let acme = server.create_account("Acme", "100", "NL");
    let key = &acme.api_key;
    let list = list_with(&server, key, "Many", &(0..300).map(number).collect::<Vec<_>>()).await;
    let (status, created) = server
        .post(key, "/v1/broadcasts", &json!({"audience": {"list_ids": [list]}, "body": "Bulk", "from": "Acme"}))
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    wait_broadcast(&server, key, id, 30, "draining", |b| {
        n(&b["counters"]["submitted"]) + n(&b["counters"]["delivered"]) >= 20
    })
    .await;
    let started = std::time::Instant::now();
    let (status, sent) =
        server.post(key, "/v1/messages", &json!({"to": "+31620000001", "from": "Acme", "body": "Your code"})).await;
    assert_eq!(status, 201, "{sent}");
    let mid = sent["messages"][0]["id"].as_str().unwrap().to_owned();
    eventually(5, "the single send submitted", || async {
        let (_, m) = server.get(key, &format!("/v1/messages/{mid}")).await;
        (m["status"] == "submitted" || m["status"] == "delivered").then_some(())
    })
    .await;
    let waited = started.elapsed();
    let (_, b) = server.get(key, &format!("/v1/broadcasts/{id}")).await;
    let waiting = n(&b["counters"]["scheduled"]) + n(&b["counters"]["queued"]);
    assert!(waiting > 100, "the broadcast was still draining ({waiting} waiting) when the single send went out");
    assert!(waited.as_millis() < 3000, "the single send waited {waited:?}");
}

#[tokio::test]
async fn another_accounts_ids_are_not_found_and_bad_input_names_the_field() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let other = server.create_account("Other", "10", "NL");
    let list = list_with(&server, &acme.api_key, "Mine", &[number(1)]).await;
    let (status, created) = server
        .post(
            &acme.api_key,
            "/v1/broadcasts",
            &json!({"audience": {"list_ids": [list]}, "body": "Hi", "from": "Acme", "send_at": rfc3339_from_now(3_600_000)}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    wait_broadcast(&server, &acme.api_key, id, 10, "expanded", |b| b["status"] == "scheduled").await;
    let key = &other.api_key;
    for path in [
        format!("/v1/broadcasts/{id}"),
        format!("/v1/broadcasts/{id}/report"),
        format!("/v1/messages?broadcast_id={id}"),
    ] {
        let r = server.request("GET", key, &path, None, &[]).await;
        assert_problem(&r, 404);
    }
    for action in ["pause", "resume", "cancel"] {
        let r = server.request("POST", key, &format!("/v1/broadcasts/{id}/{action}"), None, &[]).await;
        assert_problem(&r, 404);
    }
    let (_, mine) = server.get(&acme.api_key, &format!("/v1/broadcasts/{id}")).await;
    assert_eq!(mine["status"], "scheduled", "untouched by the other account");
    let ids = [
        json!({"audience": {"list_ids": [list]}, "body": "Hi", "from": "X"}),
        json!({"audience": {"group_ids": ["nope"]}, "body": "Hi", "from": "X"}),
        json!({"audience": {"contact_ids": ["nope"]}, "body": "Hi", "from": "X"}),
        json!({"audience": {"numbers": [number(1)]}, "template_id": "nope", "from": "X"}),
        json!({"audience": {"numbers": [number(1)]}, "body": "Hi", "sender_ids": ["nope"]}),
        json!({"audience": {"numbers": [number(1)]}, "body": "Hi", "sender_list_ids": ["nope"]}),
        json!({"audience": {"numbers": [number(1)]}, "body": "Hi", "from": "X", "trigger_id": "nope"}),
        json!({"audience": {"numbers": [number(1)]}, "body": "Hi", "from": "X", "campaign_id": "nope"}),
        json!({"audience": {"numbers": [number(1)]}, "body": "Hi", "from": "X", "exclude": {"unsubscribe_list_ids": ["nope"]}}),
    ];
    for body in &ids {
        for path in ["/v1/broadcasts", "/v1/broadcasts/estimate"] {
            let r = server.request("POST", key, path, Some(body), &[]).await;
            assert_problem(&r, 404);
        }
    }
    let bad = [
        (json!({"audience": {}, "body": "Hi", "from": "X"}), "audience"),
        (json!({"audience": {"numbers": [number(1)]}, "from": "X"}), "body"),
        (
            json!({"audience": {"numbers": [number(1)]}, "body": "Hi", "from": "X", "segments": {"mode": "ctr", "conversion_threshold": 0}}),
            "segments.conversion_threshold",
        ),
        (
            json!({"audience": {"numbers": [number(1)]}, "body": "Hi", "from": "X", "segments": {"mode": "ctr", "conversion_threshold": 101}}),
            "segments.conversion_threshold",
        ),
        (
            json!({"audience": {"numbers": [number(1)]}, "body": "Hi", "from": "X", "segments": {"mode": "manual", "first_segment_size": 0}}),
            "segments.first_segment_size",
        ),
        (
            json!({"audience": {"numbers": [number(1)]}, "body": "Hi", "from": "X", "quiet_hours": {"start": "25:00", "end": "08:00"}}),
            "quiet_hours.start",
        ),
        (
            json!({"audience": {"numbers": [number(1)]}, "body": "Hi", "from": "X", "send_at": rfc3339_from_now(-3_600_000)}),
            "send_at",
        ),
        (
            json!({"audience": {"numbers": [number(1)]}, "body": "Hi", "from": "X", "send_at": rfc3339_from_now(400 * 24 * 3_600_000)}),
            "send_at",
        ),
    ];
    for (body, field) in &bad {
        let r = server.request("POST", key, "/v1/broadcasts", Some(body), &[]).await;
        let p = assert_problem(&r, 422);
        assert!(problem_fields(p).iter().any(|f| f == field), "{field}: {p}");
    }
    let (_, none) = server.get(key, "/v1/broadcasts").await;
    assert_eq!(none["data"], json!([]), "nothing was created");
    assert_eq!(server.balance(key).await, "10.0000", "nothing was charged");
}

#[tokio::test]
async fn the_openapi_document_covers_every_broadcast_operation() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "1", "NL");
    let (status, doc) = server.get(&acme.api_key, "/openapi.json").await;
    assert_eq!(status, 200);
    for (path, method) in [
        ("/v1/broadcasts", "post"),
        ("/v1/broadcasts", "get"),
        ("/v1/broadcasts/estimate", "post"),
        ("/v1/broadcasts/{id}", "get"),
        ("/v1/broadcasts/{id}/pause", "post"),
        ("/v1/broadcasts/{id}/resume", "post"),
        ("/v1/broadcasts/{id}/cancel", "post"),
        ("/v1/broadcasts/{id}/report", "get"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path} is documented");
    }
    let (_, events) = server.get(&acme.api_key, "/v1/webhook-event-types").await;
    for event in ["broadcast.started", "broadcast.paused", "broadcast.segment_completed", "broadcast.completed"] {
        assert!(events.as_array().unwrap().iter().any(|e| e == event), "{event} in {events}");
    }
}

/// The recipient's own time: a wall-clock `send_at` with `local_time` goes at that time in
/// each recipient's zone, and quiet hours (read in that zone) defer a message to their end.
#[tokio::test]
async fn local_time_and_quiet_hours_follow_each_recipients_zone() {
    use jiff::tz::TimeZone;
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let key = &acme.api_key;
    let dutch = number(1);
    let british = "+447911123456".to_owned();
    let tomorrow = jiff::Timestamp::now().to_zoned(TimeZone::UTC).date().tomorrow().unwrap();
    let wall = format!("{tomorrow}T09:00:00+00:00");
    let (status, created) = server
        .post(
            key,
            "/v1/broadcasts",
            &json!({"audience": {"numbers": [dutch, british]}, "body": "Morning", "from": "Acme",
                    "send_at": wall, "local_time": true}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    wait_broadcast(&server, key, id, 30, "expanded", |b| n(&b["counters"]["expanded"]) == 2).await;
    let messages = server.all_messages(key, &format!("&broadcast_id={id}")).await;
    let at = |to: &str| {
        let m = messages.iter().find(|m| m["to"] == to).unwrap();
        m["send_at"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap()
    };
    let expect = |zone: &str| {
        format!("{tomorrow}T09:00:00")
            .parse::<jiff::civil::DateTime>()
            .unwrap()
            .to_zoned(TimeZone::get(zone).unwrap())
            .unwrap()
            .timestamp()
    };
    assert_eq!(at(&dutch), expect("Europe/Amsterdam"), "09:00 in Amsterdam");
    assert_eq!(at(&british), expect("Europe/London"), "09:00 in London");

    // Quiet from an hour ago until two hours from now, Amsterdam time: deferred to the end.
    let ams = jiff::Timestamp::now().to_zoned(TimeZone::get("Europe/Amsterdam").unwrap());
    let hhmm = |z: &jiff::Zoned| format!("{:02}:{:02}", z.hour(), z.minute());
    let start = ams.checked_sub(jiff::SignedDuration::from_hours(1)).unwrap();
    let end = ams.checked_add(jiff::SignedDuration::from_hours(2)).unwrap();
    let (status, quiet) = server
        .post(
            key,
            "/v1/broadcasts",
            &json!({"audience": {"numbers": [number(2)]}, "body": "Later", "from": "Acme",
                    "quiet_hours": {"start": hhmm(&start), "end": hhmm(&end)}}),
        )
        .await;
    assert_eq!(status, 201, "{quiet}");
    let qid = quiet["id"].as_str().unwrap();
    let b = wait_broadcast(&server, key, qid, 30, "expanded", |b| n(&b["counters"]["expanded"]) == 1).await;
    assert_eq!(n(&b["counters"]["deferred"]), 1, "{b}");
    let m = &server.all_messages(key, &format!("&broadcast_id={qid}")).await[0];
    assert_eq!(m["status"], "scheduled", "deferred, not dropped: {m}");
    let due = m["send_at"]
        .as_str()
        .unwrap()
        .parse::<jiff::Timestamp>()
        .unwrap()
        .to_zoned(TimeZone::get("Europe/Amsterdam").unwrap());
    assert_eq!(hhmm(&due), hhmm(&end), "due when the quiet hours end in Amsterdam");
    assert_eq!(due.second(), 0);
}

/// A frequency cap counts a recipient's messages across every broadcast of the account.
#[tokio::test]
async fn a_frequency_cap_counts_messages_across_broadcasts() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let key = &acme.api_key;
    let body = |numbers: Vec<String>| {
        json!({"audience": {"numbers": numbers}, "body": "Hi", "from": "Acme",
               "send_at": rfc3339_from_now(3_600_000), "frequency_cap": {"max": 1, "per_hours": 24}})
    };
    let (status, first) = server.post(key, "/v1/broadcasts", &body(vec![number(1)])).await;
    assert_eq!(status, 201, "{first}");
    let id = first["id"].as_str().unwrap();
    wait_broadcast(&server, key, id, 30, "expanded", |b| n(&b["counters"]["expanded"]) == 1).await;
    let (_, estimate) = server.post(key, "/v1/broadcasts/estimate", &body(vec![number(1), number(2)])).await;
    assert_eq!(n(&estimate["recipients"]), 1, "{estimate}");
    assert_eq!(n(&estimate["skipped"]["frequency_cap"]), 1, "{estimate}");
    let (status, second) = server.post(key, "/v1/broadcasts", &body(vec![number(1), number(2)])).await;
    assert_eq!(status, 201, "{second}");
    let sid = second["id"].as_str().unwrap();
    let b = wait_broadcast(&server, key, sid, 30, "expanded", |b| b["status"] != "expanding").await;
    assert_eq!(n(&b["counters"]["expanded"]), 1, "{b}");
    assert_eq!(n(&b["counters"]["skipped"]["frequency_cap"]), 1, "{b}");
    let to: Vec<String> = server
        .all_messages(key, &format!("&broadcast_id={sid}"))
        .await
        .iter()
        .map(|m| m["to"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(to, vec![number(2)]);
}

const PHONE_UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) Mobile/15E148 Safari/604.1";

/// Opens a short link as a phone would (no redirect followed).
async fn click(server: &Server, body: &str) {
    let at = body.find("/l/").expect("a short link in the body");
    let code: String = body[at + 3..].chars().take_while(char::is_ascii_alphanumeric).collect();
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = client.get(server.url(&format!("/l/{code}"))).header("user-agent", PHONE_UA).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 302);
}

/// A `ctr` broadcast sends its next segment only when the last one's unique clicks reached
/// the threshold, and pauses otherwise; a segment added by hand continues it.
#[tokio::test]
async fn ctr_continuation_follows_real_clicks_on_the_short_links() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let key = &acme.api_key;
    let sink = WebhookSink::start(vec![]).await;
    let (status, _) = server
        .post(
            key,
            "/v1/webhooks",
            &json!({"url": sink.url, "events": ["broadcast.segment_completed", "broadcast.paused"]}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, link) =
        server.post(key, "/v1/links", &json!({"name": "Sale", "url": "https://shop.example.com/sale"})).await;
    assert_eq!(status, 201, "{link}");
    let list = list_with(&server, key, "Shoppers", &(0..40).map(number).collect::<Vec<_>>()).await;
    let (status, created) = server
        .post(
            key,
            "/v1/broadcasts",
            &json!({"audience": {"list_ids": [list]}, "body": format!("Sale! {{{{link:{}}}}}", link["id"].as_str().unwrap()),
                    "from": "Acme", "send_at": rfc3339_from_now(3_600_000),
                    "segments": {"mode": "ctr", "first_segment_size": 10, "next_segment_size": 10,
                                 "conversion_threshold": 20, "evaluate_after_secs": 3}}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let b = wait_broadcast(&server, key, id, 30, "first segment", |b| b["segments"][0]["completed"] == true).await;
    assert_eq!(n(&b["counters"]["expanded"]), 10, "{b}");
    // Three of the ten click: 30 % ≥ 20 %.
    let first = server.all_messages(key, &format!("&broadcast_id={id}")).await;
    for m in first.iter().take(3) {
        click(&server, m["body"].as_str().unwrap()).await;
    }
    let b = wait_broadcast(&server, key, id, 30, "second segment", |b| b["status"] == "paused").await;
    assert_eq!(n(&b["counters"]["expanded"]), 20, "the second segment went: {b}");
    assert_eq!(b["pause_reason"], "threshold_not_met", "nobody clicked in the second: {b}");
    assert_eq!(n(&b["segments"][0]["counters"]["unique_clicks"]), 3, "{b}");
    assert_eq!(b["segments"][0]["counters"]["conversion"], 30.0);
    assert_eq!(n(&b["segments"][1]["counters"]["unique_clicks"]), 0);

    let (status, more) =
        server.post(key, &format!("/v1/broadcasts/{id}/segments"), &json!({"size": 5, "body": "Last call"})).await;
    assert_eq!(status, 200, "{more}");
    let b = wait_broadcast(&server, key, id, 30, "third segment", |b| {
        n(&b["counters"]["expanded"]) == 25 && b["status"] == "paused"
    })
    .await;
    assert_eq!(n(&b["segments"][2]["expanded"]), 5, "{b}");
    let bodies: Vec<String> = server
        .all_messages(key, &format!("&broadcast_id={id}"))
        .await
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(bodies.iter().filter(|b| *b == "Last call").count(), 5);
    let completed = eventually(10, "segment webhooks", || async {
        let got = sink.events("broadcast.segment_completed");
        (got.len() >= 3).then_some(got)
    })
    .await;
    assert!(completed.iter().all(|h| h.json()["data"]["id"] == id));
    let r = server.request("POST", key, &format!("/v1/broadcasts/{id}/segments"), Some(&json!({"size": 0})), &[]).await;
    let p = assert_problem(&r, 422);
    assert!(problem_fields(p).iter().any(|f| f == "size"), "{p}");
}

/// A `manual` broadcast stops after each segment until told to go on; a recipient cap stops
/// a broadcast for good.
#[tokio::test]
async fn manual_segments_and_the_recipient_cap_pause_the_broadcast() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let key = &acme.api_key;
    let list = list_with(&server, key, "Many", &(0..20).map(number).collect::<Vec<_>>()).await;
    let at = rfc3339_from_now(3_600_000);
    let (status, manual) = server
        .post(
            key,
            "/v1/broadcasts",
            &json!({"audience": {"list_ids": [list]}, "body": "Hi", "from": "Acme", "send_at": at,
                    "segments": {"mode": "manual", "first_segment_size": 4}}),
        )
        .await;
    assert_eq!(status, 201, "{manual}");
    let id = manual["id"].as_str().unwrap();
    let b = wait_broadcast(&server, key, id, 30, "paused", |b| b["status"] == "paused").await;
    assert_eq!((n(&b["counters"]["expanded"]), b["pause_reason"].as_str()), (4, Some("segment_completed")), "{b}");
    let (status, _) = server.post(key, &format!("/v1/broadcasts/{id}/segments"), &json!({"size": 3})).await;
    assert_eq!(status, 200);
    let b = wait_broadcast(&server, key, id, 30, "paused again", |b| {
        b["status"] == "paused" && n(&b["counters"]["expanded"]) == 7
    })
    .await;
    assert_eq!(b["segments"].as_array().unwrap().len(), 2, "{b}");

    let (status, capped) = server
        .post(
            key,
            "/v1/broadcasts",
            &json!({"audience": {"list_ids": [list]}, "body": "Hi", "from": "Acme", "send_at": at,
                    "segments": {"mode": "all", "recipient_cap": 7}}),
        )
        .await;
    assert_eq!(status, 201, "{capped}");
    let cid = capped["id"].as_str().unwrap();
    let b = wait_broadcast(&server, key, cid, 30, "capped", |b| b["status"] == "paused").await;
    assert_eq!((n(&b["counters"]["expanded"]), b["pause_reason"].as_str()), (7, Some("cap_reached")), "{b}");
}

/// Every account has a default campaign that broadcasts join; a campaign outside its dates,
/// or disabled, takes no new broadcast; another account's campaign is not found.
#[tokio::test]
async fn campaigns_group_broadcasts_and_guard_their_dates() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let other = server.create_account("Other", "10", "NL");
    let key = &acme.api_key;
    let (status, list) = server.get(key, "/v1/campaigns").await;
    assert_eq!(status, 200, "{list}");
    let defaults: Vec<&Value> = list["data"].as_array().unwrap().iter().filter(|c| c["is_default"] == true).collect();
    assert_eq!(defaults.len(), 1, "{list}");
    let default_id = defaults[0]["id"].as_str().unwrap().to_owned();
    let at = rfc3339_from_now(3_600_000);
    let body = |campaign: Option<&str>| {
        let mut b = json!({"audience": {"numbers": [number(1)]}, "body": "Hi", "from": "Acme", "send_at": at});
        if let Some(c) = campaign {
            b["campaign_id"] = json!(c);
        }
        b
    };
    let (status, plain) = server.post(key, "/v1/broadcasts", &body(None)).await;
    assert_eq!(status, 201, "{plain}");
    assert_eq!(plain["campaign_id"], default_id.as_str());

    let (status, later) = server
        .post(key, "/v1/campaigns", &json!({"name": "Next year", "start_date": rfc3339_from_now(200 * 86_400_000)}))
        .await;
    assert_eq!(status, 201, "{later}");
    assert_eq!(later["enabled"], true);
    assert_eq!(later["is_default"], false);
    let later_id = later["id"].as_str().unwrap();
    let r = server.request("POST", key, "/v1/broadcasts", Some(&body(Some(later_id))), &[]).await;
    let p = assert_problem(&r, 422);
    assert!(problem_fields(p).iter().any(|f| f == "campaign_id"), "{p}");

    let (status, now) = server.post(key, "/v1/campaigns", &json!({"name": "Spring", "end_date": "2099-12-31"})).await;
    assert_eq!(status, 201, "{now}");
    let now_id = now["id"].as_str().unwrap();
    let (status, joined) = server.post(key, "/v1/broadcasts", &body(Some(now_id))).await;
    assert_eq!(status, 201, "{joined}");
    let (_, filtered) = server.get(key, &format!("/v1/broadcasts?campaign_id={now_id}")).await;
    assert_eq!(filtered["data"].as_array().unwrap().len(), 1, "{filtered}");
    assert_eq!(filtered["data"][0]["id"], joined["id"]);

    let (status, renamed) = server.patch(key, &format!("/v1/campaigns/{now_id}"), &json!({"name": "Spring 2"})).await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["name"], "Spring 2");
    let (status, disabled) = server.delete(key, &format!("/v1/campaigns/{now_id}")).await;
    assert_eq!(status, 200, "{disabled}");
    assert_eq!(disabled["enabled"], false);
    let r = server.request("POST", key, "/v1/broadcasts", Some(&body(Some(now_id))), &[]).await;
    assert_problem(&r, 422);
    let r = server.request("DELETE", key, &format!("/v1/campaigns/{default_id}"), None, &[]).await;
    assert_problem(&r, 409);

    for (method, path) in [("GET", format!("/v1/campaigns/{now_id}")), ("DELETE", format!("/v1/campaigns/{now_id}"))] {
        let r = server.request(method, &other.api_key, &path, None, &[]).await;
        assert_problem(&r, 404);
    }
    let r = server.request("POST", &other.api_key, "/v1/broadcasts", Some(&body(Some(later_id))), &[]).await;
    assert_problem(&r, 404);
}

/// Every URL written in a broadcast's body becomes a tracked short link per recipient (each
/// recipient's own, leading to the URL), unless `shorten_links` is false.
#[tokio::test]
async fn urls_written_in_the_body_become_a_tracked_short_link_per_recipient() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let key = &acme.api_key;
    let body = "Sale: https://shop.example.com/sale?c=spring. Hurry!";
    let request = |shorten: Option<bool>| {
        let mut b = json!({"audience": {"numbers": [number(1), number(2), number(3)]}, "body": body, "from": "Acme",
                           "send_at": rfc3339_from_now(3_600_000)});
        if let Some(s) = shorten {
            b["shorten_links"] = json!(s);
        }
        b
    };
    let (status, estimate) = server.post(key, "/v1/broadcasts/estimate", &request(None)).await;
    assert_eq!(status, 200, "{estimate}");
    let sample = estimate["sample"]["body"].as_str().unwrap();
    assert!(sample.starts_with("Sale: http") && sample.contains("/l/") && sample.ends_with(". Hurry!"), "{sample}");
    let (status, created) = server.post(key, "/v1/broadcasts", &request(None)).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    wait_broadcast(&server, key, id, 10, "expanded", |b| b["status"] == "scheduled").await;
    let bodies: Vec<String> = server
        .all_messages(key, &format!("&broadcast_id={id}"))
        .await
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(bodies.len(), 3);
    let codes: HashSet<&str> = bodies.iter().map(|b| &b[b.find("/l/").expect(b) + 3..][..10]).collect();
    assert_eq!(codes.len(), 3, "one short link per recipient: {bodies:?}");
    for b in &bodies {
        assert!(!b.contains("shop.example.com") && b.ends_with(". Hurry!"), "{b}");
    }
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let code = codes.iter().next().unwrap();
    let res = client.get(server.url(&format!("/l/{code}"))).header("user-agent", PHONE_UA).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 302);
    assert_eq!(res.headers()["location"], "https://shop.example.com/sale?c=spring");
    let (_, b) = server.get(key, &format!("/v1/broadcasts/{id}")).await;
    assert_eq!(n(&b["counters"]["unique_clicks"]), 1, "{b}");

    let (status, plain) = server.post(key, "/v1/broadcasts", &request(Some(false))).await;
    assert_eq!(status, 201, "{plain}");
    let plain_id = plain["id"].as_str().unwrap();
    wait_broadcast(&server, key, plain_id, 10, "expanded", |b| b["status"] == "scheduled").await;
    for m in server.all_messages(key, &format!("&broadcast_id={plain_id}")).await {
        assert_eq!(m["body"], body, "shorten_links: false keeps the text as written");
    }
}

/// `max_per_second` spreads a broadcast's messages over time: the k-th is due k / rate
/// seconds after the start.
#[tokio::test]
async fn max_per_second_paces_the_broadcast() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let key = &acme.api_key;
    let start = std::time::Instant::now();
    let (status, created) = server
        .post(
            key,
            "/v1/broadcasts",
            &json!({"audience": {"numbers": (0..12).map(number).collect::<Vec<_>>()}, "body": "Paced",
                    "from": "Acme", "max_per_second": 4}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let b = wait_broadcast(&server, key, id, 20, "all sent", |b| {
        n(&b["counters"]["submitted"]) + n(&b["counters"]["delivered"]) == 12
    })
    .await;
    let took = start.elapsed();
    assert!(took.as_millis() >= 2500, "12 messages at 4/s take about 3 s, not {took:?}: {b}");
    let mut due: Vec<String> = server
        .all_messages(key, &format!("&broadcast_id={id}"))
        .await
        .iter()
        .filter_map(|m| m["send_at"].as_str().map(str::to_owned))
        .collect();
    due.sort();
    assert!(due.len() >= 10, "the paced messages carry their send times: {due:?}");
}

/// A number left out (unsubscribed) that appears again in another source is a duplicate the
/// second time, in the estimate and in the expansion alike, even when a chunk lies between.
#[tokio::test]
async fn a_left_out_number_seen_again_is_a_duplicate() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let key = &acme.api_key;
    let first = list_with(&server, key, "First", &(0..600).map(number).collect::<Vec<_>>()).await;
    let second = list_with(&server, key, "Second", &[number(3), number(700)]).await;
    let (status, unsub) =
        server.post(key, "/v1/unsubscribe-lists", &json!({"name": "Complaints", "numbers": [number(3)]})).await;
    assert_eq!(status, 201, "{unsub}");
    let body = json!({"audience": {"list_ids": [first, second], "numbers": [number(3)]}, "body": "Hi", "from": "Acme",
                      "send_at": rfc3339_from_now(3_600_000)});
    let expected = json!({"duplicate": 2, "opted_out": 0, "unsubscribed": 1, "invalid": 0});
    let (status, estimate) = server.post(key, "/v1/broadcasts/estimate", &body).await;
    assert_eq!(status, 200, "{estimate}");
    assert_eq!(estimate["skipped"], expected, "{estimate}");
    assert_eq!(n(&estimate["recipients"]), 600);
    let (status, created) = server.post(key, "/v1/broadcasts", &body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let b = wait_broadcast(&server, key, id, 30, "expanded", |b| b["status"] == "scheduled").await;
    let skipped = &b["counters"]["skipped"];
    assert_eq!((skipped["duplicate"].clone(), skipped["unsubscribed"].clone()), (json!(2), json!(1)), "{b}");
    assert_eq!(n(&b["counters"]["expanded"]), 600, "{b}");
}
