//! SIGTERM with messages in flight: the process finishes what it started, records the outcome
//! of every submission, and exits 0 within 10 s; after a restart nothing acknowledged is lost
//! and nothing is sent twice (RELIABILITY.md, Messages; DESIGN.md, "The message pipeline").
//!
//! The simulated carrier takes 200 ms to answer each submission and has a window of 50, so of
//! a few hundred messages sent just before the signal some are being submitted, some are
//! leased and waiting for the window, and the rest are still queued when it arrives.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use textbird_store::{OpenOptions, Store};
use textbird_test_support::Server;

const BIN: &str = env!("CARGO_BIN_EXE_textbird");
const CONFIG: &str = r#"
[simulator]
submit_latency_ms = 200

[[connectors]]
name = "slow-carrier"
kind = "simulator"
window = 50

[[routes]]
prefix = ""
connector = "slow-carrier"
"#;
const CLIENTS: usize = 4;
/// Requests per client, of 1 to 5 recipients each: 292 messages in all.
const REQUESTS_PER_CLIENT: usize = 25;
/// The promise: SIGTERM to exit in under 10 s.
const EXIT_BOUND: Duration = Duration::from_secs(10);
/// From the restart until every message reached its end state.
const DRAIN_BOUND: Duration = Duration::from_secs(20);

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Recipients of request `n`: 1, 3, 5, 3 repeating.
fn recipients(n: usize) -> usize {
    [1, 3, 5, 3][n % 4]
}

/// Sends a few hundred messages from `CLIENTS` concurrent clients; returns the acknowledged ids.
async fn send_all(server: &Server, key: &str) -> Vec<String> {
    let http = reqwest::Client::new();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (http, url, key) = (http.clone(), server.url("/v1/messages"), key.to_owned());
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for n in 0..REQUESTS_PER_CLIENT {
                    let to: Vec<String> = (0..recipients(n)).map(|i| format!("+3162{c}{n:03}{i:03}")).collect();
                    let body = json!({"to": to, "from": "Acme", "body": format!("Shutdown {c}-{n}"), "client_ref": format!("shutdown-{c}-{n}")});
                    let res = http.post(&url).bearer_auth(&key).json(&body).send().await.expect("POST");
                    assert_eq!(res.status().as_u16(), 201);
                    let sent: Value = res.json().await.expect("JSON");
                    ids.extend(sent["messages"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()));
                }
                ids
            })
        })
        .collect();
    let mut ids = Vec::new();
    for t in tasks {
        ids.extend(t.await.expect("client"));
    }
    ids
}

/// Every message of the account, by id, read through the API page by page.
async fn all_messages(server: &Server, key: &str) -> HashMap<String, Value> {
    let messages = server.all_messages(key, "").await;
    messages.into_iter().map(|m| (m["id"].as_str().expect("id").to_owned(), m)).collect()
}

fn statuses(messages: &HashMap<String, Value>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for m in messages.values() {
        *counts.entry(m["status"].as_str().unwrap_or("?").to_owned()).or_default() += 1;
    }
    counts
}

/// Sends, sends SIGTERM while submissions are in flight, checks the exit and the database as
/// the shutdown left it, restarts, and checks that every acknowledged message is there.
async fn terminate_in_flight() -> (Server, String, Vec<String>, Instant) {
    let mut server = Server::start(BIN, CONFIG);
    let acme = server.create_account("Acme", "1000", "NL");
    let ids = send_all(&server, &acme.api_key).await;
    assert!(ids.len() >= 250, "{} messages acknowledged", ids.len());

    let took = tokio::task::block_in_place(|| server.terminate());
    println!("SIGTERM with {} messages just sent: exited 0 after {:.2} s", ids.len(), took.as_secs_f64());
    assert!(took < EXIT_BOUND, "shutdown took {took:?}");

    let store = Store::open_url(&server.database_url(), &OpenOptions { migrate: false, ..OpenOptions::default() })
        .await
        .expect("open database");
    let at_exit = store.count_by_status().await.unwrap();
    println!("at exit: {at_exit:?}");
    let balance = store.find_account(&acme.id).await.unwrap().expect("account").balance;
    assert_eq!(store.ledger_sum(&acme.id).await.unwrap(), balance, "ledger sums to the balance");
    store.close().await;

    server.restart();
    let restarted = Instant::now();
    let stored = all_messages(&server, &acme.api_key).await;
    assert_eq!(stored.len(), ids.len(), "nothing more, nothing less than was acknowledged");
    for id in &ids {
        assert!(stored.contains_key(id), "acknowledged message {id} lost");
    }
    (server, acme.api_key, ids, restarted)
}

/// Polls until `done` holds for every message; panics after `DRAIN_BOUND`.
async fn wait_for(
    server: &Server,
    key: &str,
    restarted: Instant,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> HashMap<String, Value> {
    loop {
        let stored = all_messages(server, key).await;
        let pending: Vec<&Value> = stored.values().filter(|m| !done(m)).collect();
        if pending.is_empty() {
            println!(
                "all {} messages {what} {:.2} s after the restart",
                stored.len(),
                restarted.elapsed().as_secs_f64()
            );
            return stored;
        }
        assert!(
            restarted.elapsed() < DRAIN_BOUND,
            "{} messages not {what} {DRAIN_BOUND:?} after the restart: {:?}; e.g. {}",
            pending.len(),
            statuses(&stored),
            pending[0]
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn assert_no_duplicates(stored: &HashMap<String, Value>) {
    // A clean shutdown recorded every submission it started: nothing was left leased, so
    // nothing is handed out again as a possible duplicate.
    let flagged: Vec<&Value> = stored.values().filter(|m| m["possible_duplicate"] == true).collect();
    assert!(flagged.is_empty(), "{} possible duplicates after a clean shutdown, e.g. {}", flagged.len(), flagged[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_with_messages_in_flight_exits_0_within_10_s_and_loses_nothing() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let (mut server, key, _, restarted) = terminate_in_flight().await;
    let stored = wait_for(&server, &key, restarted, "handed to the carrier", |m| {
        matches!(m["status"].as_str(), Some("submitted" | "delivered"))
    })
    .await;
    assert_no_duplicates(&stored);
    tokio::time::sleep(Duration::from_secs(1)).await;
    println!("1 s later: {:?}", statuses(&all_messages(&server, &key).await));
    let again = tokio::task::block_in_place(|| server.terminate());
    assert!(again < EXIT_BOUND, "second shutdown took {again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_with_messages_in_flight_then_every_message_is_delivered() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let (server, key, _, restarted) = terminate_in_flight().await;
    let stored = wait_for(&server, &key, restarted, "delivered", |m| m["status"] == "delivered").await;
    assert_no_duplicates(&stored);
}
