//! Connection bursts: the HTTP and SMPP listeners queue 320 simultaneous connections (their
//! `listen(2)` backlog, `[http] backlog` and `[smpp_server] backlog`, is 1,024 unless
//! configured), so none is reset or left waiting for a SYN retransmission. The server is
//! stopped (SIGSTOP) while the burst connects, so only the kernel's queue can hold it; then
//! every connection is served.

use std::time::Duration;

use textbird_test_support::Server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BIN: &str = env!("CARGO_BIN_EXE_textbird");
const BURST: usize = 320;
/// A handshake the kernel completes from its queue takes microseconds; one dropped for a full
/// queue is retried after a second.
const HANDSHAKE: Duration = Duration::from_millis(900);

fn signal(server: &Server, sig: &str) {
    let ok = std::process::Command::new("kill").args([sig, &server.pid().to_string()]).status().unwrap().success();
    assert!(ok, "kill {sig}");
}

/// Opens `BURST` connections to `addr` at once while the server cannot accept; all of them
/// must be established without waiting.
async fn burst(server: &Server, addr: &str) -> Vec<TcpStream> {
    signal(server, "-STOP");
    let connects = (0..BURST).map(|_| tokio::time::timeout(HANDSHAKE, TcpStream::connect(addr.to_owned())));
    let results = futures::future::join_all(connects).await;
    signal(server, "-CONT");
    let mut streams = Vec::new();
    let mut late = 0;
    for r in results {
        match r {
            Ok(Ok(s)) => streams.push(s),
            Ok(Err(e)) => panic!("a connection was refused or reset: {e}"),
            Err(_) => late += 1,
        }
    }
    assert_eq!(late, 0, "{late} of {BURST} connections did not fit the listen queue");
    streams
}

#[tokio::test]
async fn a_burst_of_320_http_connections_is_queued_and_served() {
    let server = Server::start(BIN, "");
    let addr = server.base.trim_start_matches("http://").to_owned();
    let streams = burst(&server, &addr).await;
    let requests = streams.into_iter().map(|mut s| async move {
        s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await?;
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    });
    let answers = tokio::time::timeout(Duration::from_mins(1), futures::future::join_all(requests)).await.unwrap();
    for a in answers {
        let a = a.expect("no reset");
        assert!(a.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&a));
    }
}

#[tokio::test]
async fn a_burst_of_320_smpp_connections_is_queued_and_answered() {
    let server = Server::start(BIN, "[smpp_server]\nmax_sessions = 1000\n");
    let streams = burst(&server, &server.smpp).await;
    // enquire_link needs no bind: each session answers it.
    let enquire = [0, 0, 0, 16, 0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 1];
    let requests = streams.into_iter().map(|mut s| async move {
        s.write_all(&enquire).await?;
        let mut header = [0_u8; 16];
        s.read_exact(&mut header).await?;
        Ok::<_, std::io::Error>(header)
    });
    let answers = tokio::time::timeout(Duration::from_mins(1), futures::future::join_all(requests)).await.unwrap();
    for a in answers {
        let h = a.expect("no reset");
        assert_eq!(&h[4..8], &[0x80, 0, 0, 0x15], "enquire_link_resp");
        assert_eq!(&h[8..12], &[0, 0, 0, 0], "status 0");
    }
}

#[tokio::test]
async fn the_backlog_is_configurable() {
    // A backlog of 16 cannot hold the burst: the setting reaches the socket.
    let server = Server::start(BIN, "[http]\nbacklog = 16\n");
    let addr = server.base.trim_start_matches("http://").to_owned();
    signal(&server, "-STOP");
    let connects = (0..64).map(|_| tokio::time::timeout(HANDSHAKE, TcpStream::connect(addr.clone())));
    let results = futures::future::join_all(connects).await;
    signal(&server, "-CONT");
    let established = results.iter().filter(|r| matches!(r, Ok(Ok(_)))).count();
    assert!(established < 64, "a queue of 16 held {established} of 64 connections");
}
