//! Several `textbird serve` nodes sharing one PostgreSQL database (a schema of its own in
//! `TEXTBIRD_TEST_DATABASE_URL`) and one carrier (the npm `smpp` SMSC peer, which logs every
//! `submit_sm` with its session): the queue is shared with leases, a node killed with -9
//! loses its leases to the others, duplicates come only from what the killed node had in
//! flight, scheduled messages fire once, webhooks go out once, and a connector's messages
//! per second hold across nodes. Skipped (saying so) without PostgreSQL; CI requires it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use textbird_test_support::{Peer, Server, WebhookSink, eventually, postgres};

const BIN: &str = env!("CARGO_BIN_EXE_textbird");
const WINDOW: u64 = 10;

/// One node's configuration: the SMSC as its only route, short leases so a dead node's work
/// moves on quickly.
fn node_config(smsc: &Peer, tps: u32) -> String {
    format!(
        r#"
[dispatcher]
lease_secs = {lease}

[[connectors]]
name = "carrier"
kind = "smpp"
host = "127.0.0.1"
port = {port}
system_id = "textbird"
password = "secret"
bind = "transceiver"
window = {WINDOW}
tps = {tps}

[[routes]]
prefix = ""
connector = "carrier"
"#,
        port = smsc.port,
        lease = if tps > 0 { 10 } else { 5 }
    )
}

/// Starts `n` nodes one after another; returns them with the SMSC session each one bound.
async fn start_nodes(n: usize, smsc: &Peer, config: &str, url: &str) -> (Vec<Server>, Vec<u64>) {
    let mut nodes = Vec::new();
    let mut sessions = Vec::new();
    for i in 0..n {
        nodes.push(Server::start_node(BIN, config, url));
        let binds = smsc.wait_count(30, i + 1, |e| e["event"] == "bind" && e["ok"] == true).await;
        sessions.push(binds[i]["session"].as_u64().expect("session id"));
    }
    (nodes, sessions)
}

fn submits(smsc: &Peer) -> Vec<Value> {
    smsc.events_named("submit").into_iter().filter(|e| e["command_status"] == 0).collect()
}

/// The SMSC's `submit_sm`s grouped by destination.
fn by_destination(submits: &[Value]) -> HashMap<String, Vec<&Value>> {
    let mut map: HashMap<String, Vec<&Value>> = HashMap::new();
    for s in submits {
        map.entry(s["destination_addr"].as_str().unwrap_or_default().to_owned()).or_default().push(s);
    }
    map
}

/// Posts one batch to the first live node from `start`, moving on (with the same
/// idempotency key, so a batch is never stored twice) when a node does not answer.
async fn post_batch(
    http: &reqwest::Client,
    bases: &[String],
    dead: &[AtomicBool],
    start: usize,
    key: &str,
    body: &Value,
    idempotency_key: &str,
) -> u16 {
    for attempt in 0..bases.len() * 20 {
        let i = (start + attempt) % bases.len();
        if dead[i].load(Ordering::Acquire) {
            continue;
        }
        let sent = http
            .post(format!("{}/v1/messages", bases[i]))
            .bearer_auth(key)
            .header("Idempotency-Key", idempotency_key)
            .json(body)
            .send()
            .await;
        match sent {
            Ok(res) if res.status().as_u16() != 503 && res.status().as_u16() != 409 => return res.status().as_u16(),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("no node accepted batch {idempotency_key}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_share_20000_messages_and_a_killed_node_loses_only_its_window() {
    const BATCHES: usize = 200;
    const PER_BATCH: usize = 100;
    const TOTAL: usize = BATCHES * PER_BATCH;
    const KILL_AFTER: usize = 5_000;
    const KILLED: usize = 1;
    let Some(db) = postgres::scratch("three_nodes_share_20000_messages") else { return };
    let smsc = Peer::smsc(&["--dlr", "none"]);
    let config = node_config(&smsc, 0);
    let (mut nodes, sessions) = start_nodes(3, &smsc, &config, &db.url).await;
    let acme = nodes[0].create_account("Acme", "100000", "SE");
    let bases: Arc<Vec<String>> = Arc::new(nodes.iter().map(|n| n.base.clone()).collect());
    let dead: Arc<Vec<AtomicBool>> = Arc::new((0..3).map(|_| AtomicBool::new(false)).collect());

    // Six clients, each spreading its batches over the nodes, paced so sending is still
    // going on when the node dies.
    let next = Arc::new(AtomicUsize::new(0));
    let http = reqwest::Client::new();
    let started = Instant::now();
    let clients: Vec<_> = (0..6)
        .map(|_| {
            let (http, bases, dead, next, key) =
                (http.clone(), bases.clone(), dead.clone(), next.clone(), acme.api_key.clone());
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                loop {
                    let b = next.fetch_add(1, Ordering::AcqRel);
                    if b >= BATCHES {
                        return statuses;
                    }
                    let to: Vec<String> = (0..PER_BATCH).map(|i| format!("+46701{:06}", b * PER_BATCH + i)).collect();
                    let body = json!({"to": to, "from": "Acme", "body": format!("batch {b}")});
                    statuses.push(post_batch(&http, &bases, &dead, b, &key, &body, &format!("batch-{b}")).await);
                    tokio::time::sleep(Duration::from_millis(150)).await;
                }
            })
        })
        .collect();

    // Mid-stream, the second node dies without a chance to finish anything.
    eventually(120, "the carrier to see the first submissions", || async {
        (smsc.events_named("submit").len() >= KILL_AFTER).then_some(())
    })
    .await;
    dead[KILLED].store(true, Ordering::Release);
    tokio::task::block_in_place(|| nodes[KILLED].kill9());
    let killed_at = started.elapsed();
    let sent_at_kill = next.load(Ordering::Acquire).min(BATCHES);

    let mut statuses = Vec::new();
    for c in clients {
        statuses.extend(c.await.expect("client"));
    }
    assert!(statuses.iter().all(|s| *s == 201), "every batch acknowledged once: {statuses:?}");
    assert_eq!(statuses.len(), BATCHES);

    // Every acknowledged message reaches the carrier, the killed node's leased ones after
    // their leases ran out.
    let deadline = Instant::now() + Duration::from_mins(4);
    loop {
        let seen = by_destination(&submits(&smsc)).len();
        if seen >= TOTAL {
            break;
        }
        assert!(Instant::now() < deadline, "only {seen} of {TOTAL} destinations reached the carrier");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let all = submits(&smsc);
    let by_dest = by_destination(&all);
    let duplicates: Vec<(&String, &Vec<&Value>)> = by_dest.iter().filter(|(_, s)| s.len() > 1).collect();
    let mut per_session: BTreeMap<u64, usize> = BTreeMap::new();
    for s in &all {
        *per_session.entry(s["session"].as_u64().unwrap_or_default()).or_default() += 1;
    }
    println!(
        "3 nodes, {TOTAL} messages in {BATCHES} batches; node {KILLED} killed at {:.1} s ({sent_at_kill} batches sent); \
         all submitted after {:.1} s; {} submit_sm for {} destinations: {} duplicated; per node session: {per_session:?}",
        killed_at.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        all.len(),
        by_dest.len(),
        duplicates.len(),
    );
    assert_eq!(by_dest.len(), TOTAL, "no destination lost and none invented");
    for (dest, seen) in &duplicates {
        assert_eq!(
            seen[0]["session"].as_u64(),
            Some(sessions[KILLED]),
            "a duplicate must have been in flight on the killed node first: {dest} {seen:?}"
        );
        assert_eq!(seen.len(), 2, "sent at most once more: {dest} {seen:?}");
    }
    // A window slot is free only once its outcome is stored, so at most a window's worth of
    // submissions had no recorded outcome when the node died.
    assert!(
        duplicates.len() as u64 <= WINDOW,
        "{} duplicates exceed the killed node's in-flight window",
        duplicates.len()
    );

    // The database agrees: exactly the acknowledged messages, each recorded as submitted,
    // and every duplicate flagged as possible.
    let live = &nodes[0];
    assert_eq!(live.sql("SELECT count(*) FROM messages").as_deref(), Some(TOTAL.to_string().as_str()));
    eventually(60, "every message recorded as submitted", || async {
        (live.sql("SELECT count(*) FROM messages WHERE status = 'submitted'").as_deref() == Some(&*TOTAL.to_string()))
            .then_some(())
    })
    .await;
    let flagged: usize = live.sql("SELECT count(*) FROM messages WHERE possible_duplicate").unwrap().parse().unwrap();
    assert!(flagged >= duplicates.len(), "{flagged} flagged possible duplicates, {} real ones", duplicates.len());
    println!("possible_duplicate flags: {flagged}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_fire_scheduled_messages_once_post_webhooks_once_and_share_the_rate_limit() {
    const TPS: usize = 40;
    const MESSAGES: usize = 240;
    let Some(db) = postgres::scratch("two_nodes_fire_scheduled_messages_once") else { return };
    let smsc = Peer::smsc(&["--dlr", "none"]);
    let config = node_config(&smsc, TPS as u32);
    let (nodes, _) = start_nodes(2, &smsc, &config, &db.url).await;
    let acme = nodes[0].create_account("Acme", "1000", "SE");
    let sink = WebhookSink::start(Vec::new()).await;
    let (status, hook) =
        nodes[1].post(&acme.api_key, "/v1/webhooks", &json!({"url": sink.url, "events": ["message.submitted"]})).await;
    assert_eq!(status, 201, "{hook}");

    // Scheduled a little ahead, through both nodes; each fires once.
    let send_at = (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(3)).to_string();
    for (n, node) in nodes.iter().enumerate() {
        let to: Vec<String> = (0..MESSAGES / 2).map(|i| format!("+46702{n}{i:05}")).collect();
        let (status, body) = node
            .post(&acme.api_key, "/v1/messages", &json!({"to": to, "from": "Acme", "body": "hi", "send_at": send_at}))
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let all = smsc.wait_count(60, MESSAGES, |e| e["event"] == "submit" && e["command_status"] == 0).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let all_now = submits(&smsc);
    assert_eq!(all_now.len(), MESSAGES, "each scheduled message submitted exactly once");
    assert_eq!(by_destination(&all).len(), MESSAGES);

    // Both nodes sent, and together they kept to the connector's rate.
    let sessions: HashSet<u64> = all.iter().filter_map(|s| s["session"].as_u64()).collect();
    assert_eq!(sessions.len(), 2, "both nodes took part");
    let times: Vec<i64> = all.iter().map(|s| s["t"].as_i64().expect("t")).collect();
    let (first, last) = (*times.iter().min().unwrap(), *times.iter().max().unwrap());
    let mut per_second: BTreeMap<i64, usize> = BTreeMap::new();
    for t in &times {
        *per_second.entry(t / 1000).or_default() += 1;
    }
    println!("{MESSAGES} messages at {TPS}/s over two nodes took {} ms; per second: {per_second:?}", last - first);
    let busiest = per_second.values().max().copied().unwrap_or_default();
    assert!(busiest <= TPS + TPS / 5, "{busiest} submissions in one second exceed {TPS}/s shared by two nodes");
    assert!(per_second.len() >= MESSAGES / TPS, "{MESSAGES} messages at {TPS}/s need {} seconds", MESSAGES / TPS);

    // One webhook per submission, whichever node wrote it.
    let delivered = eventually(60, "a webhook per submission", || async {
        let got = sink.events("message.submitted");
        (got.len() >= MESSAGES).then_some(got)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let delivered_now = sink.events("message.submitted");
    let ids: HashSet<String> = delivered_now.iter().map(|r| r.headers["webhook-id"].clone()).collect();
    assert_eq!(delivered_now.len(), MESSAGES, "each webhook posted once");
    assert_eq!(ids.len(), delivered.len().max(MESSAGES));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_smpp_customer_gets_receipts_and_inbound_messages_another_node_handled() {
    const MESSAGES: usize = 40;
    let Some(db) = postgres::scratch("an_smpp_customer_gets_receipts") else { return };
    // The customer binds to node 0, whose only carrier is down: every message it claims goes
    // back to the queue, and node 1 (the simulator) sends them all. Each receipt must come
    // from a final state that node 0 only finds in the database.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let down = format!(
        "[[connectors]]\nname = \"carrier\"\nkind = \"smpp\"\nhost = \"127.0.0.1\"\nport = {closed}\n\
         system_id = \"x\"\npassword = \"x\"\n\n[[routes]]\nprefix = \"\"\nconnector = \"carrier\"\n"
    );
    let nodes = [
        Server::start_node(BIN, &down, &db.url),
        Server::start_node(BIN, "[simulator]\ndelivery_delay_ms = 50\n", &db.url),
    ];
    let acme = nodes[0].create_account("Acme", "10", "SE");
    let user = acme.json["username"].as_str().expect("username");
    let password = acme.json["password"].as_str().expect("password");
    let esme = Peer::esme_js(&nodes[0].smpp, &["--system-id", user, "--password", password]);
    assert_eq!(esme.wait_event(15, "bind_resp").await["command_status"], 0);
    for i in 0..MESSAGES {
        esme.send(&json!({"cmd": "submit", "tag": format!("m{i}"), "to": format!("+4670400{i:04}"), "from": "Acme",
            "text": "receipt please", "registered_delivery": 1}));
    }
    let resps = esme.wait_count(30, MESSAGES, |e| e["event"] == "submit_sm_resp").await;
    let ids: HashSet<String> = resps.iter().filter_map(|r| r["message_id"].as_str().map(str::to_owned)).collect();
    assert_eq!(ids.len(), MESSAGES, "{resps:?}");
    // Each message bounces off node 0 (every 5 s) until node 1 claims it: allow for a busy machine.
    let receipts = esme.wait_count(90, MESSAGES, |e| e["event"] == "deliver_sm" && e["esm_class"] == 4).await;
    let receipted: HashSet<String> =
        receipts.iter().filter_map(|r| r["receipted_message_id"].as_str().map(str::to_owned)).collect();
    assert_eq!(receipted, ids, "one receipt per message, wherever it was sent");
    println!("{MESSAGES} receipts over the customer's bind on node 0 for messages node 1 sent");

    // A reply reaches node 1's carrier; the customer bound to node 0 gets it, once.
    let number = "+46709999999";
    let (code, n) = nodes[1].post(&acme.api_key, "/v1/numbers", &json!({"number": number})).await;
    assert_eq!(code, 201, "{n}");
    let r = nodes[1]
        .request(
            "POST",
            &acme.api_key,
            "/v1/simulator/inbound",
            Some(&json!({"from": "+46701234567", "to": number, "body": "reply via node 1"})),
            &[],
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let mo = esme.wait_for(20, |e| e["event"] == "deliver_sm" && e["esm_class"] == 0).await;
    assert_eq!(mo["short_message"], "reply via node 1", "{mo}");
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mos = esme.events().into_iter().filter(|e| e["event"] == "deliver_sm" && e["esm_class"] == 0).count();
    assert_eq!(mos, 1, "passed on once, though later sweeps see it again");
}

/// Failed logins are counted in the database: failures on one node lock the account on the
/// other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_on_one_node_lock_the_account_on_the_other() {
    let Some(db) = postgres::scratch("failed_logins_on_one_node") else { return };
    let config = "[logins]\nmax_failures_per_hour = 5\nfailures_before_delay = 1000\n";
    let a = Server::start_node(BIN, config, &db.url);
    let b = Server::start_node(BIN, config, &db.url);
    let acme = a.create_account("Acme", "10", "NL");
    let user = acme.json["username"].as_str().unwrap();
    let password = acme.json["password"].as_str().unwrap();
    for i in 0..5 {
        assert_eq!(generate_key(if i % 2 == 0 { &a } else { &b }, user, "wrongpw1").await, 401);
    }
    assert_eq!(generate_key(&b, user, password).await, 429, "node b counts node a's failures");
    assert_eq!(generate_key(&a, user, password).await, 429);
}

async fn generate_key(server: &Server, user: &str, password: &str) -> u16 {
    let body = format!("username={user}&password={password}&expiry_days=1").into_bytes();
    let headers = [("content-type", "application/x-www-form-urlencoded")];
    server.raw("POST", "/api/generate-key", &headers, body).await.status().as_u16()
}
