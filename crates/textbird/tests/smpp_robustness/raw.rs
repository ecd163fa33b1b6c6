//! Raw SMPP bytes over TCP: PDU builders, a reader, a seeded RNG, and health checks.

use std::collections::HashMap;
use std::time::Duration;

use textbird_test_support::{Account, Server};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const BIN: &str = env!("CARGO_BIN_EXE_textbird");
/// How long any single answer may take.
pub const WAIT: Duration = Duration::from_secs(10);

pub const GENERIC_NACK: u32 = 0x8000_0000;
pub const RESPONSE: u32 = 0x8000_0000;
pub const BIND_RECEIVER: u32 = 0x01;
pub const BIND_TRANSMITTER: u32 = 0x02;
pub const QUERY_SM: u32 = 0x03;
pub const SUBMIT_SM: u32 = 0x04;
pub const DELIVER_SM: u32 = 0x05;
pub const UNBIND: u32 = 0x06;
pub const BIND_TRANSCEIVER: u32 = 0x09;
pub const ENQUIRE_LINK: u32 = 0x15;
pub const DATA_SM: u32 = 0x103;

pub const OK: u32 = 0x00;
pub const INVMSGLEN: u32 = 0x01;
pub const INVCMDLEN: u32 = 0x02;
pub const INVCMDID: u32 = 0x03;
pub const INVBNDSTS: u32 = 0x04;
pub const ALYBND: u32 = 0x05;
pub const BINDFAIL: u32 = 0x0D;
pub const INVPASWD: u32 = 0x0E;

/// Command ids worth sending more often than chance would: Textbird's own, the other SMPP 3.4
/// commands, and responses.
pub const KNOWN_IDS: [u32; 22] = [
    BIND_RECEIVER,
    BIND_TRANSMITTER,
    QUERY_SM,
    SUBMIT_SM,
    DELIVER_SM,
    UNBIND,
    0x07,
    0x08,
    BIND_TRANSCEIVER,
    0x0B,
    ENQUIRE_LINK,
    0x21,
    0x102,
    DATA_SM,
    GENERIC_NACK,
    0x8000_0001,
    0x8000_0003,
    0x8000_0004,
    0x8000_0005,
    0x8000_0009,
    0x8000_0015,
    0x8000_0103,
];

/// splitmix64: deterministic, good enough to pick bytes.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn u32(&mut self) -> u32 {
        self.next() as u32
    }
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// A PDU as read off the wire.
#[derive(Debug, Clone)]
pub struct Raw {
    pub command_id: u32,
    pub status: u32,
    pub sequence: u32,
    pub body: Vec<u8>,
}

pub fn pdu(command_id: u32, status: u32, sequence: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + body.len());
    for word in [(16 + body.len()) as u32, command_id, status, sequence] {
        out.extend_from_slice(&word.to_be_bytes());
    }
    out.extend_from_slice(body);
    out
}

/// `system_id\0 password\0 system_type\0`, interface version 3.4, `addr_ton`, `addr_npi`,
/// empty `address_range`.
pub fn bind_body(system_id: &[u8], password: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    for s in [system_id, password, b""] {
        b.extend_from_slice(s);
        b.push(0);
    }
    b.extend_from_slice(&[0x34, 0x00, 0x00, 0x00]);
    b
}

/// A well-formed `submit_sm` body (also the layout of `deliver_sm`).
pub fn submit_body(from: &str, to: &str, text: &[u8]) -> Vec<u8> {
    let mut b = vec![0]; // service_type
    b.extend_from_slice(&[5, 0]);
    b.extend_from_slice(from.as_bytes());
    b.push(0);
    b.extend_from_slice(&[1, 1]);
    b.extend_from_slice(to.as_bytes());
    b.push(0);
    // esm_class, protocol_id, priority_flag, schedule_delivery_time, validity_period,
    // registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id.
    b.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0]);
    b.push(text.len() as u8);
    b.extend_from_slice(text);
    b
}

/// A well-formed `data_sm` body: no `short_message`, the text in a `message_payload` TLV.
pub fn data_sm_body(from: &str, to: &str, text: &[u8]) -> Vec<u8> {
    let mut b = vec![0];
    b.extend_from_slice(&[5, 0]);
    b.extend_from_slice(from.as_bytes());
    b.push(0);
    b.extend_from_slice(&[1, 1]);
    b.extend_from_slice(to.as_bytes());
    b.push(0);
    b.extend_from_slice(&[0, 0, 0]); // esm_class, registered_delivery, data_coding
    b.extend_from_slice(&0x0424u16.to_be_bytes());
    b.extend_from_slice(&(text.len() as u16).to_be_bytes());
    b.extend_from_slice(text);
    b
}

/// Reads one PDU; `None` at the end of the stream (or a reset).
pub async fn read_pdu<R: AsyncRead + Unpin>(r: &mut R) -> Option<Raw> {
    let mut head = [0u8; 16];
    r.read_exact(&mut head).await.ok()?;
    let word = |i: usize| u32::from_be_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    let len = word(0) as usize;
    assert!((16..=70_000).contains(&len), "the server sent command_length {len}");
    let mut body = vec![0; len - 16];
    r.read_exact(&mut body).await.ok()?;
    Some(Raw { command_id: word(4), status: word(8), sequence: word(12), body })
}

/// One raw client connection.
pub struct Conn {
    pub stream: TcpStream,
}

impl Conn {
    pub async fn open(server: &Server) -> Conn {
        assert!(!server.smpp.is_empty(), "textbird printed no `SMPP listening on` line; log: {}", server.log());
        let stream = tokio::time::timeout(WAIT, TcpStream::connect(&server.smpp))
            .await
            .expect("connect in time")
            .expect("connect to the SMPP server");
        stream.set_nodelay(true).expect("nodelay");
        Conn { stream }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// The next PDU from the server, `None` when it closed the connection.
    pub async fn recv(&mut self) -> Option<Raw> {
        tokio::time::timeout(WAIT, read_pdu(&mut self.stream)).await.expect("an answer in time")
    }

    /// Sends a request and returns the response with its sequence number, skipping anything
    /// else the server sends meanwhile.
    pub async fn request(&mut self, command_id: u32, sequence: u32, body: &[u8]) -> Raw {
        self.send(&pdu(command_id, 0, sequence, body)).await;
        loop {
            let got = self.recv().await.unwrap_or_else(|| panic!("closed instead of answering 0x{command_id:08X}"));
            if got.command_id & RESPONSE != 0 && got.sequence == sequence {
                return got;
            }
        }
    }

    /// Waits for the server to close the connection, ignoring what it sends first.
    pub async fn closed_by_server(&mut self) -> Vec<Raw> {
        let mut before = Vec::new();
        while let Some(p) = self.recv().await {
            before.push(p);
        }
        before
    }
}

pub fn credentials(account: &Account) -> (String, String) {
    let user = account.json["username"].as_str().expect("username").to_owned();
    let password = account.json["password"].as_str().expect("password").to_owned();
    (user, password)
}

pub fn start() -> (Server, Account) {
    let server = Server::start(BIN, "");
    assert!(!server.smpp.is_empty(), "textbird printed no `SMPP listening on` line; log: {}", server.log());
    let acme = server.create_account("Acme", "10", "NL");
    (server, acme)
}

/// `/healthz` answers, a fresh `bind_transceiver` with the account's credentials succeeds,
/// and nothing panicked.
pub async fn still_healthy(server: &Server, account: &Account) {
    let r = server.raw("GET", "/healthz", &[], Vec::new()).await;
    assert_eq!(r.status().as_u16(), 200, "healthz; log: {}", server.log());
    let (user, password) = credentials(account);
    let mut conn = Conn::open(server).await;
    let resp = conn.request(BIND_TRANSCEIVER, 1, &bind_body(user.as_bytes(), password.as_bytes())).await;
    assert_eq!(resp.command_id, BIND_TRANSCEIVER | RESPONSE, "{resp:?}");
    assert_eq!(resp.status, OK, "a fresh bind is accepted: {resp:?}; log: {}", server.log());
    let resp = conn.request(UNBIND, 2, &[]).await;
    assert_eq!((resp.command_id, resp.status), (UNBIND | RESPONSE, OK));
    let log = server.log();
    assert!(!log.contains("panicked"), "the server panicked: {log}");
}

/// A random command id: never `unbind` (it ends the session), and a bind only when
/// `allow_bind` (an unbound session would try it as a login, and failed logins are limited
/// per address; garbage binds are tested on their own).
pub fn random_command_id(rng: &mut Rng, allow_bind: bool) -> u32 {
    loop {
        let id = if rng.chance(15) {
            [SUBMIT_SM, DATA_SM, DELIVER_SM][rng.below(3)]
        } else if rng.chance(60) {
            KNOWN_IDS[rng.below(KNOWN_IDS.len())]
        } else {
            rng.u32()
        };
        let bind = matches!(id, BIND_RECEIVER | BIND_TRANSMITTER | BIND_TRANSCEIVER);
        if id != UNBIND && (allow_bind || !bind) {
            return id;
        }
    }
}

/// A random body: noise of some length, or a real `submit_sm` / `data_sm` with bits flipped.
pub fn random_body(rng: &mut Rng, command_id: u32) -> Vec<u8> {
    if matches!(command_id, SUBMIT_SM | DELIVER_SM | DATA_SM) && rng.chance(50) {
        let len = rng.below(160);
        let text = rng.bytes(len);
        let mut body = if command_id == DATA_SM {
            data_sm_body("Acme", "31612345678", &text)
        } else {
            submit_body("Acme", "31612345678", &text)
        };
        for _ in 0..rng.below(4) {
            let i = rng.below(body.len());
            body[i] ^= 1 << rng.below(8);
        }
        if rng.chance(20) {
            body.truncate(rng.below(body.len() + 1));
        }
        return body;
    }
    let len = match rng.below(10) {
        0 => 0,
        1 => rng.below(4000),
        _ => rng.below(200),
    };
    rng.bytes(len)
}

/// Sends `n` random PDUs with sequence numbers 1..=n on `conn`, then an `enquire_link` as a
/// marker; returns what was sent and every response the server sent, by sequence number,
/// once the marker is answered (so every PDU before it was read and handled) and a second
/// has passed without more.
pub async fn random_frames(conn: Conn, rng: &mut Rng, n: u32, allow_bind: bool) -> (Vec<Raw>, HashMap<u32, Vec<Raw>>) {
    const MARKER: u32 = 0x7FFF_FF00;
    let (mut read, mut write) = conn.stream.into_split();
    let reader = tokio::spawn(async move {
        let mut answers: HashMap<u32, Vec<Raw>> = HashMap::new();
        let mut marked = false;
        loop {
            let p = if marked {
                // Submissions are answered when stored, possibly after the marker: wait
                // for a quiet second to count late (and duplicate) answers too.
                match tokio::time::timeout(Duration::from_secs(1), read_pdu(&mut read)).await {
                    Ok(Some(p)) => p,
                    Ok(None) | Err(_) => return Some(answers),
                }
            } else {
                read_pdu(&mut read).await?
            };
            // Requests from the server (a deliver_sm) are not answers.
            if p.command_id & RESPONSE == 0 {
                continue;
            }
            marked |= p.sequence == MARKER && p.command_id == ENQUIRE_LINK | RESPONSE;
            answers.entry(p.sequence).or_default().push(p);
        }
    });
    let mut sent = Vec::new();
    let mut bytes = Vec::new();
    for sequence in 1..=n {
        let command_id = random_command_id(rng, allow_bind);
        let status = if rng.chance(80) { OK } else { rng.u32() };
        let body = random_body(rng, command_id);
        bytes.extend(pdu(command_id, status, sequence, &body));
        sent.push(Raw { command_id, status, sequence, body });
    }
    bytes.extend(pdu(ENQUIRE_LINK, OK, MARKER, &[]));
    for chunk in bytes.chunks(1 + rng.below(3000)) {
        write.write_all(chunk).await.expect("write random frames");
    }
    let answers = tokio::time::timeout(Duration::from_mins(1), reader)
        .await
        .expect("the marker enquire_link is answered in time")
        .expect("reader task")
        .expect("the server kept the connection open through the random frames");
    (sent, answers)
}
