//! The sender against a real HTTP server on 127.0.0.1.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{any, post};
use textbird_webhooks::{Outcome, Policy, SendError, Sender, classify, generate_secret, signature_header, verify};

/// Every request the server saw: path, headers, body.
type Seen = Arc<Mutex<Vec<(String, HeaderMap, Bytes)>>>;

const ALLOW: Policy = Policy { allow_private_networks: true };

fn record(State(seen): &State<Seen>, uri: &axum::http::Uri, headers: HeaderMap, body: Bytes) {
    seen.lock().unwrap().push((uri.path().to_owned(), headers, body));
}

async fn serve() -> (SocketAddr, Seen) {
    let seen: Seen = Arc::default();
    let app = Router::new()
        .route(
            "/hook",
            post(|s: State<Seen>, u: axum::http::Uri, h: HeaderMap, b: Bytes| async move {
                record(&s, &u, h, b);
                (StatusCode::OK, "thanks")
            }),
        )
        .route(
            "/redirect",
            any(|s: State<Seen>, u: axum::http::Uri, h: HeaderMap, b: Bytes| async move {
                record(&s, &u, h, b);
                (StatusCode::FOUND, [(header::LOCATION, "/hook")], "moved")
            }),
        )
        .route(
            "/slow",
            post(|| async {
                tokio::time::sleep(Duration::from_secs(10)).await;
                "late"
            }),
        )
        .route("/busy", post(|| async { (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "7")], "slow down") }))
        .route("/big", post(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "x".repeat(100_000)).into_response() }))
        .route("/gone", post(|| async { StatusCode::GONE }))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, seen)
}

fn sender(policy: Policy) -> Sender {
    Sender::new(policy, Duration::from_millis(500)).unwrap()
}

#[tokio::test]
async fn post_arrives_signed_with_headers_and_body() {
    let (addr, seen) = serve().await;
    let secret = generate_secret();
    let body = br#"{"type":"message.delivered"}"#.to_vec();
    let (id, ts) = ("msg_1", 1_700_000_000);
    let sig = signature_header(&[&secret], id, ts, &body).unwrap();
    let headers = [
        ("content-type", "application/json".to_owned()),
        ("webhook-id", id.to_owned()),
        ("webhook-timestamp", ts.to_string()),
        ("webhook-signature", sig.clone()),
    ];
    let resp = sender(ALLOW).post(&format!("http://{addr}/hook"), &headers, body.clone()).await.unwrap();
    assert_eq!((resp.status, resp.body_snippet.as_str()), (200, "thanks"));
    assert_eq!(resp.retry_after, None);
    assert_eq!(classify(resp.status), Outcome::Success);

    let seen = seen.lock().unwrap();
    let (path, got_headers, got_body) = &seen[0];
    assert_eq!(path, "/hook");
    assert_eq!(got_body.as_ref(), body.as_slice());
    assert_eq!(got_headers["content-type"], "application/json");
    assert_eq!(got_headers["webhook-id"], id);
    let got_sig = got_headers["webhook-signature"].to_str().unwrap();
    assert_eq!(got_sig, sig);
    assert!(verify(&secret, id, ts, got_body, got_sig, ts, 300));
}

#[tokio::test]
async fn redirect_is_returned_not_followed() {
    let (addr, seen) = serve().await;
    let resp = sender(ALLOW).post(&format!("http://{addr}/redirect"), &[], b"{}".to_vec()).await.unwrap();
    assert_eq!(resp.status, 302);
    assert_eq!(classify(resp.status), Outcome::Retry);
    let paths: Vec<_> = seen.lock().unwrap().iter().map(|r| r.0.clone()).collect();
    assert_eq!(paths, ["/redirect"]);
}

#[tokio::test]
async fn slow_server_times_out() {
    let (addr, _) = serve().await;
    let started = std::time::Instant::now();
    let err = sender(ALLOW).post(&format!("http://{addr}/slow"), &[], vec![]).await.unwrap_err();
    assert_eq!(err, SendError::Timeout);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn localhost_is_refused_at_connect_time_by_default() {
    let (addr, seen) = serve().await;
    let url = format!("http://localhost:{}/hook", addr.port());
    let err = sender(Policy::default()).post(&url, &[], b"{}".to_vec()).await.unwrap_err();
    let SendError::Blocked(blocked) = &err else {
        panic!("expected Blocked, got {err:?}");
    };
    assert!(blocked.ip.is_loopback());
    assert!(err.to_string().starts_with("blocked: destination address"), "{err}");
    assert!(seen.lock().unwrap().is_empty(), "the server must see nothing");

    let resp = sender(ALLOW).post(&url, &[], b"{}".to_vec()).await.unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn literal_loopback_is_refused_before_any_connection() {
    let (addr, seen) = serve().await;
    for url in [
        format!("http://{addr}/hook"),
        format!("http://0177.0.0.1:{}/hook", addr.port()),
        format!("http://2130706433:{}/hook", addr.port()),
    ] {
        let err = sender(Policy::default()).post(&url, &[], vec![]).await.unwrap_err();
        assert!(matches!(err, SendError::Blocked(_)), "{url}: {err:?}");
    }
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn retry_after_is_read_from_a_429() {
    let (addr, _) = serve().await;
    let resp = sender(ALLOW).post(&format!("http://{addr}/busy"), &[], vec![]).await.unwrap();
    assert_eq!(resp.status, 429);
    assert_eq!(resp.retry_after, Some(Duration::from_secs(7)));
    assert_eq!(resp.body_snippet, "slow down");
    assert_eq!(classify(resp.status), Outcome::RetryAfterHonoured);
}

#[tokio::test]
async fn large_body_is_cut_to_a_snippet_and_410_disables() {
    let (addr, _) = serve().await;
    let s = sender(ALLOW);
    let resp = s.post(&format!("http://{addr}/big"), &[], vec![]).await.unwrap();
    assert_eq!(resp.status, 500);
    assert_eq!(resp.body_snippet.len(), 1024);
    let resp = s.post(&format!("http://{addr}/gone"), &[], vec![]).await.unwrap();
    assert_eq!(classify(resp.status), Outcome::Disable);
}

#[tokio::test]
async fn closed_port_is_a_connect_error_without_secrets() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://user:hunter2@127.0.0.1:{port}/hook?token=s3cret");
    let headers = [("authorization", "Bearer topsecret".to_owned())];
    let err = sender(ALLOW).post(&url, &headers, vec![]).await.unwrap_err();
    assert!(matches!(err, SendError::Connect(_)), "{err:?}");
    let text = err.to_string();
    for secret in ["hunter2", "s3cret", "topsecret", "127.0.0.1"] {
        assert!(!text.contains(secret), "{text}");
    }
}

#[tokio::test]
async fn bad_header_is_reported_by_name_only() {
    let headers = [("x-token", "line\nbreak-secret".to_owned())];
    let err = sender(ALLOW).post("http://127.0.0.1:9/", &headers, vec![]).await.unwrap_err();
    assert_eq!(err, SendError::Other("invalid header \"x-token\"".to_owned()));
}
