//! kill -9 in the middle of a stream of sends: every message the API acknowledged is still
//! there after a restart and is sent, the ledger still sums to the balance, and the messages
//! that were leased at the kill come back flagged `possible_duplicate` (RELIABILITY.md,
//! Messages; DESIGN.md, quality bar "Durability").
//!
//! The scenario: four clients send single and small-batch requests as fast as the server
//! answers; after at least a second and a few thousand acknowledged messages the server is
//! killed with SIGKILL while requests are in flight. Delivery reports are slowed (300 ms) so
//! messages are queued, leased, submitted and delivered at the moment of the kill; leases are
//! 5 s (the shortest allowed) so the killed process's leases run out soon after the restart.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use textbird_store::{OpenOptions, Store};
use textbird_test_support::Server;
use textbird_types::Money;

const BIN: &str = env!("CARGO_BIN_EXE_textbird");
const CONFIG: &str = "[simulator]\ndelivery_delay_ms = 300\n\n[dispatcher]\nlease_secs = 5\n";
const OPENING_BALANCE: &str = "1000000";
const CLIENTS: usize = 4;
/// Load runs at least this long and until `TARGET_ACKNOWLEDGED` messages were acknowledged...
const MIN_LOAD: Duration = Duration::from_secs(1);
const TARGET_ACKNOWLEDGED: usize = 3_000;
/// ...but never longer than this.
const MAX_LOAD: Duration = Duration::from_secs(15);
/// Fewer acknowledged messages than this and the kill proved little.
const MIN_ACKNOWLEDGED: usize = 1_000;
/// Bound on the time from the restart until every message has been handed to the carrier:
/// the 5 s lease of the killed process, a 1 s safety scan, and the submissions themselves.
const DRAIN_BOUND: Duration = Duration::from_secs(30);

/// Both tests kill a server under load; running them side by side on two cores would only
/// measure each other.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A message the API acknowledged with a 201.
#[derive(Debug, Clone)]
struct Acked {
    id: String,
    client_ref: String,
}

/// What the clients saw before the kill.
#[derive(Default)]
struct Load {
    acked: Mutex<Vec<Acked>>,
    acked_count: AtomicUsize,
    requests_acked: AtomicUsize,
    /// Requests that got no answer (the kill, or a connection error).
    unanswered: AtomicUsize,
    /// Answers other than 201 before the kill: `status body`.
    unexpected: Mutex<Vec<String>>,
    killed: AtomicBool,
}

/// One client: sequential requests of 1 to 5 recipients, each with a unique `client_ref`.
async fn client(http: reqwest::Client, url: String, key: String, c: usize, load: Arc<Load>) {
    let mut n = 0_usize;
    while !load.killed.load(Ordering::Acquire) {
        n += 1;
        let recipients = if n.is_multiple_of(2) { 1 } else { 2 + n % 4 };
        let to: Vec<String> = (0..recipients).map(|i| format!("+3161{c}{:06}", (n * 5 + i) % 1_000_000)).collect();
        let client_ref = format!("crash-{c}-{n}");
        let body = json!({
            "to": if recipients == 1 { json!(to[0]) } else { json!(to) },
            "from": "Acme",
            "body": format!("Crash test {client_ref}"),
            "client_ref": client_ref,
        });
        let answer = async {
            let res = http.post(&url).bearer_auth(&key).json(&body).send().await?;
            let status = res.status().as_u16();
            Ok::<_, reqwest::Error>((status, res.text().await?))
        }
        .await;
        match answer {
            Ok((201, text)) => {
                // A body cut off by the kill is no acknowledgement.
                let Ok(sent) = serde_json::from_str::<Value>(&text) else {
                    load.unanswered.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                let messages = sent["messages"].as_array().expect("messages in a 201");
                assert_eq!(messages.len(), recipients, "every recipient accepted: {sent}");
                let mut acked = load.acked.lock().unwrap();
                for m in messages {
                    acked.push(Acked { id: m["id"].as_str().expect("id").to_owned(), client_ref: client_ref.clone() });
                }
                drop(acked);
                load.acked_count.fetch_add(messages.len(), Ordering::AcqRel);
                load.requests_acked.fetch_add(1, Ordering::Relaxed);
            }
            Ok((status, text)) => load.unexpected.lock().unwrap().push(format!("{status} {text}")),
            Err(_) => {
                load.unanswered.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
}

/// Every message of the account, by id, read through the API page by page.
async fn all_messages(server: &Server, key: &str) -> HashMap<String, Value> {
    let messages = server.all_messages(key, "").await;
    messages.into_iter().map(|m| (m["id"].as_str().expect("id").to_owned(), m)).collect()
}

fn count_by<'a>(messages: impl Iterator<Item = &'a Value>, field: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for m in messages {
        let value = m[field].as_str().map_or_else(|| m[field].to_string(), str::to_owned);
        *counts.entry(value).or_default() += 1;
    }
    counts
}

fn price(m: &Value) -> i64 {
    Money::parse(m["price"].as_str().expect("price")).expect("a price").micros()
}

async fn balance(server: &Server, key: &str) -> i64 {
    let (status, account) = server.get(key, "/v1/account").await;
    assert_eq!(status, 200, "{account}");
    Money::parse(account["balance"].as_str().expect("balance")).expect("a balance").micros()
}

/// The server after a kill -9 under load and a restart, with what was acknowledged.
struct Crashed {
    server: Server,
    key: String,
    account_id: String,
    acked: Vec<Acked>,
    restarted_at: Instant,
}

/// Runs the load, kills the server mid-stream, checks the database as the kill left it, and
/// restarts the server on it.
async fn crash_mid_stream() -> Crashed {
    let mut server = Server::start(BIN, CONFIG);
    let acme = server.create_account("Acme", OPENING_BALANCE, "NL");
    let load = Arc::new(Load::default());
    let http = reqwest::Client::new();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let args = (http.clone(), server.url("/v1/messages"), acme.api_key.clone(), c, load.clone());
            tokio::spawn(client(args.0, args.1, args.2, args.3, args.4))
        })
        .collect();

    let started = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let elapsed = started.elapsed();
        let enough = load.acked_count.load(Ordering::Acquire) >= TARGET_ACKNOWLEDGED;
        if elapsed >= MAX_LOAD || (elapsed >= MIN_LOAD && enough) {
            break;
        }
    }
    // Mid-stream: the clients are still sending while the process dies.
    tokio::task::block_in_place(|| server.kill9());
    let load_time = started.elapsed();
    load.killed.store(true, Ordering::Release);
    for c in clients {
        c.await.expect("client task");
    }
    let unexpected = load.unexpected.lock().unwrap().clone();
    assert!(unexpected.is_empty(), "every answer before the kill is a 201: {unexpected:?}");
    let acked = load.acked.lock().unwrap().clone();
    println!(
        "load: {} messages acknowledged in {} requests over {:.2} s ({:.0} messages/s); {} requests unanswered at the kill",
        acked.len(),
        load.requests_acked.load(Ordering::Relaxed),
        load_time.as_secs_f64(),
        acked.len() as f64 / load_time.as_secs_f64(),
        load.unanswered.load(Ordering::Relaxed),
    );
    assert!(acked.len() >= MIN_ACKNOWLEDGED, "only {} messages acknowledged before the kill", acked.len());

    // The database exactly as the kill left it: messages in every state, ledger intact.
    let store = Store::open_url(&server.database_url(), &OpenOptions { migrate: false, ..OpenOptions::default() })
        .await
        .expect("open the killed server's database");
    let at_kill = store.count_by_status().await.expect("count_by_status");
    println!("at the kill: {at_kill:?}");
    let held = store.find_account(&acme.id).await.unwrap().expect("account").balance;
    assert_eq!(store.ledger_sum(&acme.id).await.unwrap(), held, "the ledger sums to the balance right after kill -9");
    store.close().await;
    let stored_at_kill: i64 = at_kill.iter().map(|(_, n)| n).sum();
    assert!(stored_at_kill >= acked.len() as i64, "fewer messages stored ({stored_at_kill}) than acknowledged");

    server.restart();
    let restarted_at = Instant::now();
    Crashed { server, key: acme.api_key, account_id: acme.id, acked, restarted_at }
}

impl Crashed {
    /// Every acknowledged message is stored with what was sent; the balance is the opening
    /// balance less the price of every stored message (acknowledged or not: a commit whose
    /// answer the kill swallowed was still charged, once).
    async fn assert_nothing_lost(&self) -> HashMap<String, Value> {
        let stored = all_messages(&self.server, &self.key).await;
        let missing: Vec<&Acked> = self.acked.iter().filter(|a| !stored.contains_key(&a.id)).collect();
        assert!(missing.is_empty(), "{} acknowledged messages lost, e.g. {:?}", missing.len(), &missing[..1]);
        for a in &self.acked {
            assert_eq!(stored[&a.id]["client_ref"], a.client_ref.as_str(), "{a:?}");
        }
        let (status, one) = self.server.get(&self.key, &format!("/v1/messages/{}", self.acked[0].id)).await;
        assert_eq!(status, 200, "{one}");
        let opening = Money::parse(OPENING_BALANCE).unwrap().micros();
        let charged: i64 = stored.values().map(price).sum();
        assert_eq!(balance(&self.server, &self.key).await, opening - charged, "balance = opening - prices of stored");
        println!(
            "after restart: {} stored ({} acknowledged, {} committed but unanswered at the kill)",
            stored.len(),
            self.acked.len(),
            stored.len() - self.acked.len(),
        );
        stored
    }

    /// Polls the message list until `done` holds for every stored message or `bound` passes;
    /// returns the last listing and how long it took since the restart.
    async fn wait_for(&self, what: &str, bound: Duration, done: impl Fn(&Value) -> bool) -> HashMap<String, Value> {
        loop {
            let stored = all_messages(&self.server, &self.key).await;
            let pending: Vec<&Value> = stored.values().filter(|m| !done(m)).collect();
            if pending.is_empty() {
                println!("all {} messages {what} {:.2} s after the restart", stored.len(), self.since_restart());
                return stored;
            }
            assert!(
                self.restarted_at.elapsed() < bound,
                "{} of {} messages not {what} {:.0} s after the restart; statuses {:?}; e.g. {}",
                pending.len(),
                stored.len(),
                bound.as_secs_f64(),
                count_by(stored.values(), "status"),
                pending[0],
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    fn since_restart(&self) -> f64 {
        self.restarted_at.elapsed().as_secs_f64()
    }

    fn report_duplicates(&self, stored: &HashMap<String, Value>) -> usize {
        let flagged = stored.values().filter(|m| m["possible_duplicate"] == true).count();
        let acked_flagged = self.acked.iter().filter(|a| stored[&a.id]["possible_duplicate"] == true).count();
        println!(
            "possible duplicates: {flagged} of {} stored ({acked_flagged} of {} acknowledged)",
            stored.len(),
            self.acked.len()
        );
        flagged
    }

    /// Stops the server cleanly and checks the ledger against the balance in the database.
    async fn assert_ledger_after_stop(mut self) {
        let api_balance = balance(&self.server, &self.key).await;
        tokio::task::block_in_place(|| self.server.terminate());
        let store =
            Store::open_url(&self.server.database_url(), &OpenOptions { migrate: false, ..OpenOptions::default() })
                .await
                .expect("open database");
        let account = store.find_account(&self.account_id).await.unwrap().expect("account");
        assert_eq!(account.balance, api_balance);
        assert_eq!(store.ledger_sum(&self.account_id).await.unwrap(), account.balance, "ledger sums to the balance");
        store.close().await;
    }
}

fn left_the_queue(m: &Value) -> bool {
    !matches!(m["status"].as_str(), Some("queued" | "scheduled" | "accepted"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_messages_survive_kill_9_and_are_all_sent() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let crashed = crash_mid_stream().await;
    crashed.assert_nothing_lost().await;

    // At-least-once to the carrier: every stored message leaves the queue again, including
    // those the killed process had leased.
    let stored = crashed.wait_for("handed to the carrier", DRAIN_BOUND, left_the_queue).await;
    let statuses = count_by(stored.values(), "status");
    let outcomes: Vec<&String> = statuses.keys().filter(|s| !matches!(s.as_str(), "submitted" | "delivered")).collect();
    assert!(outcomes.is_empty(), "the default simulator only submits and delivers: {statuses:?}");
    let flagged = crashed.report_duplicates(&stored);
    for m in stored.values().filter(|m| m["possible_duplicate"] == true) {
        assert!(m["attempts"].as_i64().unwrap() >= 2, "a possible duplicate was handed out twice: {m}");
    }
    // Only what the killed process had leased can be a duplicate: at most the dispatcher's
    // capacity (twice the simulator's window of 1000) plus one claim (500).
    assert!(flagged <= 2_500, "{flagged} possible duplicates exceed what can be in flight");

    // Give the carrier's reports time to arrive, then say where everything ended up.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let settled = all_messages(&crashed.server, &crashed.key).await;
    println!("{:.1} s after the restart: {:?}", crashed.since_restart(), count_by(settled.values(), "status"));
    crashed.assert_ledger_after_stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_messages_reach_a_final_state_after_kill_9() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let crashed = crash_mid_stream().await;
    crashed.assert_nothing_lost().await;
    let stored = crashed.wait_for("delivered", DRAIN_BOUND, |m| m["status"] == "delivered").await;
    crashed.report_duplicates(&stored);
    crashed.assert_ledger_after_stop().await;
}
