//! The carrier SMSC peer, its connector configuration, and helpers the tests share.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Value, json};
use textbird_test_support::{Peer, Server};

pub const BIN: &str = env!("CARGO_BIN_EXE_textbird");
pub const OURS: &str = "+31687654321";

/// The `[[connectors]]` and `[[routes]]` blocks for a carrier behind `smsc`.
pub struct Carrier {
    pub port: u16,
    pub password: &'static str,
    pub bind: &'static str,
    pub binds: u32,
    pub split: &'static str,
    pub window: u32,
    pub enquire_link_secs: u64,
    pub response_timeout_secs: u64,
    pub route_prefix: &'static str,
}

impl Carrier {
    pub fn new(smsc: &Peer) -> Carrier {
        Carrier {
            port: smsc.port,
            password: "secret",
            bind: "transceiver",
            binds: 1,
            split: "udh",
            window: 10,
            enquire_link_secs: 30,
            response_timeout_secs: 60,
            route_prefix: "",
        }
    }

    pub fn toml(&self) -> String {
        format!(
            r#"
[[connectors]]
name = "carrier"
kind = "smpp"
host = "127.0.0.1"
port = {port}
system_id = "textbird"
password = "{password}"
bind = "{bind}"
binds = {binds}
window = {window}
tps = 0
enquire_link_secs = {enquire}
split = "{split}"
response_timeout_secs = {timeout}

[[routes]]
prefix = "{prefix}"
connector = "carrier"
"#,
            port = self.port,
            password = self.password,
            bind = self.bind,
            binds = self.binds,
            window = self.window,
            enquire = self.enquire_link_secs,
            split = self.split,
            timeout = self.response_timeout_secs,
            prefix = self.route_prefix,
        )
    }

    pub fn start(&self) -> (Server, String) {
        let server = Server::start(BIN, &self.toml());
        let acme = server.create_account("Acme", "10", "NL");
        (server, acme.api_key)
    }
}

/// Sends one message; returns its id.
pub async fn send(server: &Server, key: &str, to: &str, from: &str, body: &str) -> String {
    let (status, sent) = server.post(key, "/v1/messages", &json!({"to": to, "from": from, "body": body})).await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["errors"], json!([]), "{sent}");
    sent["messages"][0]["id"].as_str().expect("id").to_owned()
}

/// Waits until the message's status is one of `wanted`; returns the message.
pub async fn wait_status(server: &Server, key: &str, id: &str, wanted: &[&str], secs: u64) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let (status, m) = server.get(key, &format!("/v1/messages/{id}")).await;
        assert_eq!(status, 200, "{m}");
        if wanted.iter().any(|w| m["status"] == *w) {
            return m;
        }
        if tokio::time::Instant::now() >= deadline {
            let log = server.log();
            let tail: String =
                log.lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
            panic!("message {id} did not become {wanted:?} in {secs} s: {m}\nserver log tail:\n{tail}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The error code of a message: `error_code`, or `error.code` as the API has written it so far.
pub fn error_code(m: &Value) -> Option<&str> {
    m["error_code"].as_str().or_else(|| m["error"]["code"].as_str())
}

pub async fn own_number(server: &Server, key: &str) {
    let (status, n) = server.post(key, "/v1/numbers", &json!({"number": OURS})).await;
    assert_eq!(status, 201, "{n}");
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

pub fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex {s:?}");
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}

pub fn u64_of(e: &Value, key: &str) -> u64 {
    e[key].as_u64().unwrap_or_else(|| panic!("{key} missing in {e}"))
}

pub fn submits_to(smsc: &Peer, digits: &str) -> Vec<Value> {
    smsc.events_named("submit").into_iter().filter(|e| e["destination_addr"] == digits).collect()
}

/// A GSM body of `len` characters whose every position is recognisable, so parts that come
/// back in the wrong order or overlap do not compare equal.
pub fn long_gsm_body(len: usize) -> String {
    let mut s = String::new();
    let mut i = 0;
    while s.len() < len {
        let _ = write!(s, "{i:03} word ");
        i += 1;
    }
    s.truncate(len);
    s
}
