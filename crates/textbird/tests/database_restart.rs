//! PostgreSQL restarted under two running nodes (a server of the test's own, so nobody
//! else's database goes down): while it is away the API answers 503 and stores nothing
//! unacknowledged; when it is back the nodes carry on by themselves, and every message that
//! was acknowledged is delivered once. Skipped (saying so) without PostgreSQL's binaries.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use textbird_test_support::postgres::PrivatePostgres;
use textbird_test_support::{Server, eventually};

const BIN: &str = env!("CARGO_BIN_EXE_textbird");
const CONFIG: &str = "[simulator]\ndelivery_delay_ms = 100\n\n[dispatcher]\nlease_secs = 10\n";

#[derive(Default)]
struct Tally {
    /// Message id by destination, for every acknowledged send.
    acked: Mutex<HashMap<String, String>>,
    unavailable: AtomicUsize,
    unreachable: AtomicUsize,
}

/// Sends message `n` until a node acknowledges it, with one idempotency key throughout, so a
/// retry after an unanswered request can never store it twice.
async fn send_until_acked(http: &reqwest::Client, bases: &[String], key: &str, n: usize, tally: &Tally) {
    let to = format!("+46703{n:06}");
    let deadline = Instant::now() + Duration::from_mins(1);
    for attempt in 0.. {
        assert!(Instant::now() < deadline, "message {n} was never acknowledged");
        let base = &bases[(n + attempt) % bases.len()];
        let sent = http
            .post(format!("{base}/v1/messages"))
            .bearer_auth(key)
            .header("Idempotency-Key", format!("m-{n}"))
            .json(&json!({"to": to, "from": "Acme", "body": format!("message {n}")}))
            .send()
            .await;
        match sent {
            Ok(res) if res.status().as_u16() == 201 => {
                let body: Value = res.json().await.expect("JSON");
                let id = body["messages"][0]["id"].as_str().or(body["id"].as_str()).expect("message id").to_owned();
                tally.acked.lock().unwrap().insert(to, id);
                return;
            }
            Ok(res) if matches!(res.status().as_u16(), 503 | 409) => {
                tally.unavailable.fetch_add(1, Ordering::Relaxed);
            }
            Ok(res) => panic!("unexpected answer {} for message {n}", res.status()),
            Err(_) => {
                tally.unreachable.fetch_add(1, Ordering::Relaxed);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_recover_from_a_database_restart_and_lose_nothing_acknowledged() {
    let Some(pg) = PrivatePostgres::start("nodes_recover_from_a_database_restart") else { return };
    let nodes = [Server::start_node(BIN, CONFIG, &pg.url), Server::start_node(BIN, CONFIG, &pg.url)];
    let acme = nodes[0].create_account("Acme", "1000", "SE");
    let bases: Arc<Vec<String>> = Arc::new(nodes.iter().map(|n| n.base.clone()).collect());
    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicUsize::new(0));
    let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (http, bases, tally, stop, next, key) =
                (http.clone(), bases.clone(), tally.clone(), stop.clone(), next.clone(), acme.api_key.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Acquire) {
                    let n = next.fetch_add(1, Ordering::AcqRel);
                    send_until_acked(&http, &bases, &key, n, &tally).await;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = tally.acked.lock().unwrap().len();
    tokio::task::block_in_place(|| pg.stop_server());
    // Longer than a request waits for a connection (5 s), so some are turned away.
    tokio::time::sleep(Duration::from_secs(7)).await;
    let during = tally.acked.lock().unwrap().len();
    tokio::task::block_in_place(|| pg.start_server());
    let restarted = Instant::now();
    // Sending goes on by itself once the nodes have reconnected.
    eventually(60, "acknowledgements after the restart", || async {
        (tally.acked.lock().unwrap().len() > during + 20).then_some(())
    })
    .await;
    let recovered_in = restarted.elapsed();
    stop.store(true, Ordering::Release);
    for c in clients {
        c.await.expect("client");
    }
    let acked = tally.acked.lock().unwrap().clone();
    println!(
        "{} messages acknowledged ({before} before the stop, {} while the database was down); {} answers 503, {} unanswered \
         requests; sending resumed {:.1} s after the restart",
        acked.len(),
        during - before,
        tally.unavailable.load(Ordering::Relaxed),
        tally.unreachable.load(Ordering::Relaxed),
        recovered_in.as_secs_f64()
    );
    assert!(tally.unavailable.load(Ordering::Relaxed) > 0, "requests during the outage are answered 503");

    // Every acknowledged message is stored exactly once and ends delivered.
    let total = acked.len();
    let node = &nodes[1];
    assert_eq!(
        node.sql("SELECT count(*) FROM messages").as_deref(),
        Some(total.to_string().as_str()),
        "no message twice"
    );
    eventually(90, "every acknowledged message delivered", || async {
        let n: usize = node.sql("SELECT count(*) FROM messages WHERE status = 'delivered'").unwrap().parse().unwrap();
        (n == total).then_some(())
    })
    .await;
    for (to, id) in acked.iter().take(50) {
        let (status, m) = node.get(&acme.api_key, &format!("/v1/messages/{id}")).await;
        assert_eq!((status, m["to"].as_str()), (200, Some(to.as_str())), "{m}");
    }
    let sql = format!(
        "SELECT (SELECT balance FROM accounts WHERE id = '{id}') - \
         CAST((SELECT coalesce(sum(amount), 0) FROM ledger WHERE account_id = '{id}') AS BIGINT)",
        id = acme.id
    );
    assert_eq!(node.sql(&sql).as_deref(), Some("0"), "the ledger sums to the balance");
    for n in &nodes {
        let res = reqwest::get(n.url("/healthz")).await.expect("healthz");
        assert_eq!(res.status(), 200, "both nodes healthy again");
    }
}
