//! Textbird's SMPP server against hostile and broken clients, over raw TCP: hundreds of
//! random PDUs (seeded, so every run sends the same bytes), requests before bind, binds with
//! garbage in them, `command_length`s of 2^31-1 and 2^32-1, and connections that stop in
//! the middle of a header. Every request is answered or refused, absurd lengths close the
//! connection without the server reading on, and afterwards the server still answers
//! `/healthz`, still binds a customer, and has logged no panic.

use std::collections::HashMap;
use std::time::Duration;

use textbird_test_support::{Account, Server};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BIN: &str = env!("CARGO_BIN_EXE_textbird");
/// How long any single answer may take.
const WAIT: Duration = Duration::from_secs(10);

const GENERIC_NACK: u32 = 0x8000_0000;
const RESPONSE: u32 = 0x8000_0000;
const BIND_RECEIVER: u32 = 0x01;
const BIND_TRANSMITTER: u32 = 0x02;
const QUERY_SM: u32 = 0x03;
const SUBMIT_SM: u32 = 0x04;
const DELIVER_SM: u32 = 0x05;
const UNBIND: u32 = 0x06;
const BIND_TRANSCEIVER: u32 = 0x09;
const ENQUIRE_LINK: u32 = 0x15;
const DATA_SM: u32 = 0x103;

const OK: u32 = 0x00;
const INVMSGLEN: u32 = 0x01;
const INVCMDLEN: u32 = 0x02;
const INVCMDID: u32 = 0x03;
const INVBNDSTS: u32 = 0x04;
const ALYBND: u32 = 0x05;
const BINDFAIL: u32 = 0x0D;

/// Command ids worth sending more often than chance would: Textbird's own, the other SMPP 3.4
/// commands, and responses.
const KNOWN_IDS: [u32; 22] = [
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
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn u32(&mut self) -> u32 {
        self.next() as u32
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// A PDU as read off the wire.
#[derive(Debug, Clone)]
struct Raw {
    command_id: u32,
    status: u32,
    sequence: u32,
    body: Vec<u8>,
}

fn pdu(command_id: u32, status: u32, sequence: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + body.len());
    for word in [(16 + body.len()) as u32, command_id, status, sequence] {
        out.extend_from_slice(&word.to_be_bytes());
    }
    out.extend_from_slice(body);
    out
}

/// `system_id\0 password\0 system_type\0`, interface version 3.4, `addr_ton`, `addr_npi`,
/// empty `address_range`.
fn bind_body(system_id: &[u8], password: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    for s in [system_id, password, b""] {
        b.extend_from_slice(s);
        b.push(0);
    }
    b.extend_from_slice(&[0x34, 0x00, 0x00, 0x00]);
    b
}

/// A well-formed `submit_sm` body (also the layout of `deliver_sm`).
fn submit_body(from: &str, to: &str, text: &[u8]) -> Vec<u8> {
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
fn data_sm_body(from: &str, to: &str, text: &[u8]) -> Vec<u8> {
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
async fn read_pdu<R: AsyncRead + Unpin>(r: &mut R) -> Option<Raw> {
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
struct Conn {
    stream: TcpStream,
}

impl Conn {
    async fn open(server: &Server) -> Conn {
        assert!(!server.smpp.is_empty(), "textbird printed no `SMPP listening on` line; log: {}", server.log());
        let stream = tokio::time::timeout(WAIT, TcpStream::connect(&server.smpp))
            .await
            .expect("connect in time")
            .expect("connect to the SMPP server");
        stream.set_nodelay(true).expect("nodelay");
        Conn { stream }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// The next PDU from the server, `None` when it closed the connection.
    async fn recv(&mut self) -> Option<Raw> {
        tokio::time::timeout(WAIT, read_pdu(&mut self.stream)).await.expect("an answer in time")
    }

    /// Sends a request and returns the response with its sequence number, skipping anything
    /// else the server sends meanwhile.
    async fn request(&mut self, command_id: u32, sequence: u32, body: &[u8]) -> Raw {
        self.send(&pdu(command_id, 0, sequence, body)).await;
        loop {
            let got = self.recv().await.unwrap_or_else(|| panic!("closed instead of answering 0x{command_id:08X}"));
            if got.command_id & RESPONSE != 0 && got.sequence == sequence {
                return got;
            }
        }
    }

    /// Waits for the server to close the connection, ignoring what it sends first.
    async fn closed_by_server(&mut self) -> Vec<Raw> {
        let mut before = Vec::new();
        while let Some(p) = self.recv().await {
            before.push(p);
        }
        before
    }
}

fn credentials(account: &Account) -> (String, String) {
    let user = account.json["username"].as_str().expect("username").to_owned();
    let password = account.json["password"].as_str().expect("password").to_owned();
    (user, password)
}

fn start() -> (Server, Account) {
    let server = Server::start(BIN, "");
    assert!(!server.smpp.is_empty(), "textbird printed no `SMPP listening on` line; log: {}", server.log());
    let acme = server.create_account("Acme", "10", "NL");
    (server, acme)
}

/// `/healthz` answers, a fresh `bind_transceiver` with the account's credentials succeeds,
/// and nothing panicked.
async fn still_healthy(server: &Server, account: &Account) {
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
fn random_command_id(rng: &mut Rng, allow_bind: bool) -> u32 {
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
fn random_body(rng: &mut Rng, command_id: u32) -> Vec<u8> {
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
async fn random_frames(conn: Conn, rng: &mut Rng, n: u32, allow_bind: bool) -> (Vec<Raw>, HashMap<u32, Vec<Raw>>) {
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

#[tokio::test]
async fn random_frames_before_and_after_bind_are_answered_or_refused() {
    let (server, acme) = start();
    let mut rng = Rng(0x7E87_B12D_5EED_0001);

    // Not bound: every request gets exactly one refusal, responses get nothing or a
    // generic_nack, and the session stays up.
    let (sent, answers) = random_frames(Conn::open(&server).await, &mut rng, 500, false).await;
    for p in &sent {
        let got = answers.get(&p.sequence).map(Vec::as_slice).unwrap_or_default();
        let what = format!("0x{:08X} (seq {}, {} octets body)", p.command_id, p.sequence, p.body.len());
        if p.command_id & RESPONSE == 0 {
            assert_eq!(got.len(), 1, "one answer to request {what}: {got:?}");
            let a = &got[0];
            assert!(
                a.command_id == GENERIC_NACK || a.command_id == p.command_id | RESPONSE,
                "answer to {what} is its response or generic_nack: {a:?}"
            );
            if p.command_id == ENQUIRE_LINK {
                assert_eq!(a.status, OK, "enquire_link needs no bind: {a:?}");
            } else {
                assert!(matches!(a.status, INVMSGLEN | INVCMDID | INVBNDSTS), "refusal of {what}: {a:?}");
            }
        } else {
            assert!(got.len() <= 1, "at most one answer to response {what}: {got:?}");
            if let Some(a) = got.first() {
                assert_eq!((a.command_id, a.status), (GENERIC_NACK, INVCMDID), "answer to {what}");
            }
        }
    }
    let requests = sent.iter().filter(|p| p.command_id & RESPONSE == 0).count();
    assert!(requests > 200, "the random frames were mostly requests ({requests})");

    // Bound: anything goes except unbind; the session survives and answers at most once.
    let (user, password) = credentials(&acme);
    let mut conn = Conn::open(&server).await;
    let resp = conn.request(BIND_TRANSCEIVER, 1, &bind_body(user.as_bytes(), password.as_bytes())).await;
    assert_eq!(resp.status, OK, "{resp:?}");
    let (sent, answers) = random_frames(conn, &mut rng, 300, true).await;
    for p in &sent {
        let got = answers.get(&p.sequence).map(Vec::as_slice).unwrap_or_default();
        assert!(got.len() <= 1, "at most one answer to 0x{:08X} seq {}: {got:?}", p.command_id, p.sequence);
        if let Some(a) = got.first() {
            assert!(a.command_id == GENERIC_NACK || a.command_id == p.command_id | RESPONSE, "{p:?} -> {a:?}");
        }
        let bind = matches!(p.command_id, BIND_RECEIVER | BIND_TRANSMITTER | BIND_TRANSCEIVER);
        if bind && let Some(a) = got.first().filter(|a| a.command_id != GENERIC_NACK) {
            assert_eq!(a.status, ALYBND, "a second bind on a bound session: {a:?}");
        }
    }

    still_healthy(&server, &acme).await;
}

#[tokio::test]
async fn requests_before_bind_and_garbage_binds_are_refused() {
    let (server, acme) = start();
    let (user, password) = credentials(&acme);
    let mut conn = Conn::open(&server).await;

    let submit = submit_body("Acme", "31612345678", b"Hi");
    for (seq, (command_id, body)) in [
        (SUBMIT_SM, submit.clone()),
        (DATA_SM, data_sm_body("Acme", "31612345678", b"Hi")),
        (DELIVER_SM, submit.clone()),
        (QUERY_SM, b"1\0\x01\x011\0".to_vec()),
        (0x21, Vec::new()),
    ]
    .into_iter()
    .enumerate()
    {
        let seq = seq as u32 + 10;
        let a = conn.request(command_id, seq, &body).await;
        assert!(a.command_id == GENERIC_NACK || a.command_id == command_id | RESPONSE, "0x{command_id:08X}: {a:?}");
        assert_eq!(a.status, INVBNDSTS, "0x{command_id:08X} before bind is ESME_RINVBNDSTS: {a:?}");
    }
    let a = conn.request(ENQUIRE_LINK, 20, &[]).await;
    assert_eq!((a.command_id, a.status), (ENQUIRE_LINK | RESPONSE, OK), "enquire_link needs no bind");
    let a = conn.request(0x0000_0999, 21, &[]).await;
    assert_eq!((a.command_id, a.status), (GENERIC_NACK, INVCMDID), "an unknown command");

    // Binds with garbage: no terminators, no body, invalid UTF-8, over-long fields, junk
    // after the fields, a wrong password. None binds; the session goes on unbound.
    let mut over_long = bind_body(&[b'u'; 200], &[b'p'; 200]);
    over_long.extend_from_slice(&[0xFF; 50]);
    let mut junk_after = bind_body(user.as_bytes(), b"not-the-password");
    junk_after.extend_from_slice(&[0xAB; 300]);
    let garbage: [(u32, Vec<u8>); 6] = [
        (BIND_TRANSCEIVER, vec![b'A'; 300]),
        (BIND_RECEIVER, Vec::new()),
        (BIND_TRANSMITTER, bind_body(&[0xFF, 0xFE, 0x80, 0xC0], &[0xED, 0xA0, 0x80])),
        (BIND_TRANSCEIVER, over_long),
        (BIND_TRANSCEIVER, junk_after),
        (BIND_TRANSCEIVER, bind_body(b"", b"")),
    ];
    for (i, (command_id, body)) in garbage.iter().enumerate() {
        let seq = 100 + i as u32;
        let a = conn.request(*command_id, seq, body).await;
        assert!(a.command_id == GENERIC_NACK || a.command_id == command_id | RESPONSE, "garbage bind {i}: {a:?}");
        assert_ne!(a.status, OK, "garbage bind {i} was accepted: {a:?}");
        if a.command_id != GENERIC_NACK {
            assert_eq!(a.status, BINDFAIL, "garbage bind {i}: {a:?}");
        }
        let after = conn.request(SUBMIT_SM, 200 + i as u32, &submit).await;
        assert_eq!(after.status, INVBNDSTS, "still unbound after garbage bind {i}: {after:?}");
    }

    // The same connection can still bind properly.
    let a = conn.request(BIND_TRANSCEIVER, 300, &bind_body(user.as_bytes(), password.as_bytes())).await;
    assert_eq!((a.command_id, a.status), (BIND_TRANSCEIVER | RESPONSE, OK), "{a:?}");
    let a = conn.request(BIND_TRANSCEIVER, 301, &bind_body(user.as_bytes(), password.as_bytes())).await;
    assert_eq!(a.status, ALYBND, "{a:?}");

    still_healthy(&server, &acme).await;
}

/// Writes until the connection breaks; the server that closed it no longer reads, so this
/// fails after a write or two instead of filling a 2 GiB PDU.
async fn writes_fail(conn: &mut Conn) -> bool {
    let chunk = vec![0x5A; 64 * 1024];
    for _ in 0..200 {
        if conn.stream.write_all(&chunk).await.is_err() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

#[tokio::test]
async fn absurd_lengths_close_the_connection_without_reading_on() {
    let (server, acme) = start();
    for (len, name) in [(0x7FFF_FFFFu32, "2^31-1"), (u32::MAX, "2^32-1"), (70_001, "just over the limit"), (15, "15")] {
        let mut conn = Conn::open(&server).await;
        conn.send(&[len.to_be_bytes(), SUBMIT_SM.to_be_bytes(), [0; 4], 0x43u32.to_be_bytes()].concat()).await;
        let before = conn.closed_by_server().await;
        assert!(
            before.iter().all(|p| (p.command_id, p.status) == (GENERIC_NACK, INVCMDLEN)),
            "length {name}: only a generic_nack ESME_RINVCMDLEN before closing: {before:?}"
        );
        assert!(writes_fail(&mut conn).await, "length {name}: the server kept reading");
    }

    // The same after a good PDU on the same connection, and with the body following at once.
    let mut conn = Conn::open(&server).await;
    let a = conn.request(ENQUIRE_LINK, 1, &[]).await;
    assert_eq!(a.status, OK);
    let mut bytes = pdu(ENQUIRE_LINK, 0, 2, &[]);
    bytes.extend_from_slice(&[0x7F, 0xFF, 0xFF, 0xFF, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 3]);
    bytes.extend_from_slice(&[0; 4096]);
    conn.send(&bytes).await;
    let before = conn.closed_by_server().await;
    assert!(
        before.iter().all(|p| (p.command_id == ENQUIRE_LINK | RESPONSE && p.sequence == 2)
            || (p.command_id, p.status) == (GENERIC_NACK, INVCMDLEN)),
        "{before:?}"
    );
    assert!(writes_fail(&mut conn).await, "the server kept reading");

    still_healthy(&server, &acme).await;
}

#[tokio::test]
async fn partial_headers_and_abrupt_closes_are_harmless() {
    let (server, acme) = start();
    let (user, password) = credentials(&acme);

    // A partial header, then gone.
    for n in 1..16 {
        let mut conn = Conn::open(&server).await;
        conn.send(&pdu(ENQUIRE_LINK, 0, 1, &[])[..n]).await;
        drop(conn);
    }
    // A partial header, then a half-close: the server sees the end and closes too.
    let mut conn = Conn::open(&server).await;
    conn.send(&[0, 0]).await;
    conn.stream.shutdown().await.expect("half-close");
    assert!(conn.closed_by_server().await.is_empty(), "nothing to answer");
    // A header announcing more than comes, then a half-close.
    let mut conn = Conn::open(&server).await;
    let mut partial = pdu(SUBMIT_SM, 0, 5, &submit_body("Acme", "31612345678", b"Hello"));
    partial.truncate(partial.len() - 3);
    conn.send(&partial).await;
    conn.stream.shutdown().await.expect("half-close");
    assert!(conn.closed_by_server().await.is_empty(), "a truncated PDU is not answered");
    // Bound, then a partial PDU and gone: the binding goes away cleanly.
    let mut conn = Conn::open(&server).await;
    let a = conn.request(BIND_TRANSCEIVER, 1, &bind_body(user.as_bytes(), password.as_bytes())).await;
    assert_eq!(a.status, OK, "{a:?}");
    conn.send(&partial[..9]).await;
    drop(conn);
    // Many at once, each cut off at a different place.
    let whole = pdu(BIND_TRANSCEIVER, 0, 1, &bind_body(user.as_bytes(), password.as_bytes()));
    let mut conns = Vec::new();
    for cut in 0..whole.len() {
        let mut conn = Conn::open(&server).await;
        conn.send(&whole[..cut]).await;
        conns.push(conn);
    }
    drop(conns);

    still_healthy(&server, &acme).await;
}
