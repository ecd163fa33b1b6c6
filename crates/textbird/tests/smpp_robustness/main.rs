//! Textbird's SMPP server against hostile and broken clients, over raw TCP: hundreds of
//! random PDUs (seeded, so every run sends the same bytes), requests before bind, binds with
//! garbage in them, `command_length`s of 2^31-1 and 2^32-1, and connections that stop in
//! the middle of a header. Every request is answered or refused, absurd lengths close the
//! connection without the server reading on, and afterwards the server still answers
//! `/healthz`, still binds a customer, and has logged no panic.

mod raw;

use std::time::Duration;

use tokio::io::AsyncWriteExt;

use raw::*;

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
    // after the fields, a wrong password. None binds; the session goes on unbound. A password
    // over SMPP's 8 octets is ESME_RINVPASWD, any other refusal ESME_RBINDFAIL.
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
            let expected = if matches!(i, 3 | 4) { INVPASWD } else { BINDFAIL };
            assert_eq!(a.status, expected, "garbage bind {i}: {a:?}");
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
