//! Limits on password guessing (RELIABILITY.md, Accounts): failures counted per account and per
//! client address on every path that checks a password or client secret (dialect 004's
//! username/password endpoints, SMPP binds from a real peer on several source addresses,
//! `OAuth` client secrets), a growing delay, the right password refused while limited, and
//! an unknown user answered exactly like a wrong password. Loopback is 127.0.0.0/8, so one
//! machine can be a dozen clients.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use textbird_test_support::{Account, Peer, Server};

const BIN: &str = env!("CARGO_BIN_EXE_textbird");
const FORM: &str = "application/x-www-form-urlencoded";
/// No delay, so a test reaches the hard limit at once.
const NO_DELAY: &str = "failures_before_delay = 1000\n";

fn credentials(account: &Account) -> (String, String) {
    let user = account.json["username"].as_str().expect("username").to_owned();
    let password = account.json["password"].as_str().expect("password").to_owned();
    (user, password)
}

fn loopback(n: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, n])
}

/// An HTTP client whose connections come from `from`.
fn client_from(from: IpAddr) -> reqwest::Client {
    reqwest::Client::builder().local_address(from).build().expect("client")
}

struct Answer {
    status: u16,
    retry_after: Option<u64>,
    body: Value,
}

async fn generate_key(server: &Server, client: &reqwest::Client, user: &str, password: &str) -> Answer {
    let body = format!("username={user}&password={password}&expiry_days=1");
    let res = client
        .post(server.url("/api/generate-key"))
        .header("content-type", FORM)
        .body(body)
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    let retry_after = res.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    let body = res.json().await.unwrap_or(Value::Null);
    Answer { status, retry_after, body }
}

#[tokio::test]
async fn failed_logins_lock_the_account_and_the_right_password_is_refused_too() {
    let server = Server::start(BIN, &format!("[logins]\nmax_failures_per_hour = 10\n{NO_DELAY}"));
    let acme = server.create_account("Acme", "10", "NL");
    let (user, password) = credentials(&acme);
    // Ten wrong passwords from ten addresses: each is a plain 401.
    for i in 0..10 {
        let a = generate_key(&server, &client_from(loopback(10 + i)), &user, "wrongpw1").await;
        assert_eq!((a.status, &a.body), (401, &json!({"error": "Unauthorized."})), "failure {i}");
    }
    // The account is locked whatever the address and the password.
    let fresh = client_from(loopback(40));
    for pw in ["wrongpw1", password.as_str()] {
        let a = generate_key(&server, &fresh, &user, pw).await;
        assert_eq!(a.status, 429, "locked: {}", a.body);
        let retry = a.retry_after.expect("Retry-After");
        assert!((3000..=3600).contains(&retry), "until the oldest failure is an hour old: {retry}");
    }
    assert_eq!(
        server
            .sql(&format!(
                "SELECT count(*) FROM credentials WHERE account_id = '{}' AND kind = 'issued_api_key'",
                acme.id
            ))
            .as_deref(),
        Some("0"),
        "no key was issued"
    );
    // Another account is not affected, from any of those addresses.
    let other = server.create_account("Other", "10", "NL");
    let (other_user, other_password) = credentials(&other);
    let a = generate_key(&server, &client_from(loopback(10)), &other_user, &other_password).await;
    assert_eq!(a.status, 200, "{}", a.body);
    // The native send path of dialect 004 is the same door.
    let res = fresh
        .post(server.url("/v1/sms/send"))
        .header("content-type", FORM)
        .body(format!("username={user}&password={password}&numbers=0612345678&message_body=Hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 429);
    assert_eq!(server.sql("SELECT count(*) FROM messages").as_deref(), Some("0"), "nothing sent");
}

#[tokio::test]
async fn an_unknown_user_is_answered_and_limited_exactly_like_a_wrong_password() {
    let server = Server::start(BIN, &format!("[logins]\nmax_failures_per_hour = 6\n{NO_DELAY}"));
    let acme = server.create_account("Acme", "10", "NL");
    let (user, _) = credentials(&acme);
    let mut timings = [Vec::new(), Vec::new()];
    for i in 0..6 {
        for (who, name) in [user.as_str(), "nobody-xyz"].into_iter().enumerate() {
            let client = client_from(loopback(20 + (i * 2 + who) as u8));
            let started = Instant::now();
            let a = generate_key(&server, &client, name, "wrongpw1").await;
            timings[who].push(started.elapsed());
            assert_eq!((a.status, &a.body), (401, &json!({"error": "Unauthorized."})), "{name} #{i}");
        }
    }
    for name in [user.as_str(), "nobody-xyz"] {
        let a = generate_key(&server, &client_from(loopback(60)), name, "wrongpw1").await;
        assert_eq!(a.status, 429, "{name} is limited after as many failures: {}", a.body);
    }
    // Both paths pay for one Argon2 verification: their medians are of one size.
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2].as_secs_f64()
    };
    let (known, unknown) = (median(&mut timings[0]), median(&mut timings[1]));
    assert!(unknown > known / 3.0 && unknown < known * 3.0, "known {known:.3}s, unknown {unknown:.3}s");
}

#[tokio::test]
async fn failures_from_one_address_lock_that_address_for_every_account() {
    let server = Server::start(BIN, &format!("[logins]\nmax_failures_per_hour = 5\n{NO_DELAY}"));
    let acme = server.create_account("Acme", "10", "NL");
    let (user, password) = credentials(&acme);
    let attacker = client_from(loopback(77));
    for i in 0..5 {
        // A different (unknown) name each time: only the address adds up.
        let a = generate_key(&server, &attacker, &format!("guess-{i}"), "wrongpw1").await;
        assert_eq!(a.status, 401);
    }
    let a = generate_key(&server, &attacker, &user, &password).await;
    assert_eq!(a.status, 429, "the address is locked, even for a right password: {}", a.body);
    let a = generate_key(&server, &client_from(loopback(78)), &user, &password).await;
    assert_eq!(a.status, 200, "from elsewhere the account works: {}", a.body);
}

#[tokio::test]
async fn each_failure_past_the_first_few_waits_longer() {
    let config = "[logins]\nfailures_before_delay = 2\nfirst_delay_ms = 1000\nmax_delay_secs = 4\n";
    let server = Server::start(BIN, config);
    let acme = server.create_account("Acme", "10", "NL");
    let (user, password) = credentials(&acme);
    let client = client_from(loopback(90));
    for _ in 0..2 {
        assert_eq!(generate_key(&server, &client, &user, "wrongpw1").await.status, 401);
    }
    let mut waits = Vec::new();
    for _ in 0..3 {
        // At once: refused, with the wait.
        let a = generate_key(&server, &client, &user, "wrongpw1").await;
        assert_eq!(a.status, 429, "{}", a.body);
        let wait = a.retry_after.expect("Retry-After");
        waits.push(wait);
        // After the wait: checked again (and wrong again).
        tokio::time::sleep(Duration::from_secs(wait) + Duration::from_millis(200)).await;
        assert_eq!(generate_key(&server, &client, &user, "wrongpw1").await.status, 401);
    }
    assert_eq!(waits, [1, 2, 4], "the delay doubles from 1 s up to its cap");
    let a = generate_key(&server, &client, &user, &password).await;
    assert_eq!(a.status, 429, "the right password waits its turn too");
    tokio::time::sleep(Duration::from_secs(a.retry_after.unwrap()) + Duration::from_millis(200)).await;
    assert_eq!(generate_key(&server, &client, &user, &password).await.status, 200);
}

/// Binds `n` times from `from` with `password`; the statuses.
async fn binds(server: &Server, from: IpAddr, user: &str, password: &str, n: usize) -> Vec<u64> {
    let from = from.to_string();
    let args = ["--system-id", user, "--password", password, "--local-address", from.as_str()];
    let esme = Peer::esme_js(&server.smpp, &args);
    for _ in 1..n {
        esme.send(&json!({"cmd": "bind"}));
    }
    let answers = esme.wait_count(60, n, |e| e["event"] == "bind_resp").await;
    answers.iter().map(|e| e["command_status"].as_u64().expect("status")).collect()
}

#[tokio::test]
async fn smpp_bind_failures_spread_over_twelve_addresses_still_lock_the_account() {
    let server = Server::start(BIN, &format!("[logins]\n{NO_DELAY}"));
    let acme = server.create_account("Acme", "10", "NL");
    let (user, password) = credentials(&acme);
    // 108 wrong passwords, 9 from each of 12 addresses: no address reaches 100, the account
    // does.
    let mut statuses = Vec::new();
    for n in 0..12 {
        statuses.extend(binds(&server, loopback(100 + n), &user, "wrongpw1", 9).await);
    }
    assert!(statuses.iter().all(|s| *s == 0x0D), "every wrong bind is ESME_RBINDFAIL: {statuses:?}");
    let checked = server.sql("SELECT count(*) FROM login_failures").unwrap();
    assert_eq!(checked, "200", "100 failures counted for the account and 100 for the addresses: {checked}");
    // The right password, from an address that never failed, is refused while locked.
    assert_eq!(binds(&server, loopback(120), &user, &password, 1).await, [0x0D]);
    // Another account binds from an address of the attack.
    let other = server.create_account("Other", "10", "NL");
    let (other_user, other_password) = credentials(&other);
    assert_eq!(binds(&server, loopback(100), &other_user, &other_password, 1).await, [0]);
}

async fn token(server: &Server, from: IpAddr, id: &str, secret: &str) -> Answer {
    let res = client_from(from)
        .post(server.url("/api/v1/oauth/access_token"))
        .header("content-type", FORM)
        .body(format!("grant_type=client_credentials&client_id={id}&client_secret={secret}"))
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    let retry_after = res.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    Answer { status, retry_after, body: res.json().await.unwrap_or(Value::Null) }
}

#[tokio::test]
async fn oauth_client_secrets_are_limited_like_passwords() {
    let server = Server::start(BIN, &format!("[logins]\nmax_failures_per_hour = 5\n{NO_DELAY}"));
    let acme = server.create_account("Acme", "10", "CR");
    let (id, secret) = (acme.json["client_id"].as_str().unwrap(), acme.json["client_secret"].as_str().unwrap());
    for n in 0..5 {
        let a = token(&server, loopback(130 + n), id, "wrong").await;
        assert_eq!((a.status, a.body["error"].as_str()), (401, Some("invalid_client")), "{}", a.body);
    }
    let a = token(&server, loopback(140), id, secret).await;
    assert_eq!(a.status, 429, "the right secret is refused while limited: {}", a.body);
    assert_eq!(a.body["error"], "slow_down");
    assert!(a.retry_after.is_some_and(|s| s > 3000), "{:?}", a.retry_after);
    // The account's username and password are another subject.
    let (user, password) = credentials(&acme);
    assert_eq!(generate_key(&server, &client_from(loopback(141)), &user, &password).await.status, 200);
}
