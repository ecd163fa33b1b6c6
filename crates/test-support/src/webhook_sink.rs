use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

/// One request the sink received.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("webhook body is JSON")
    }

    /// Checks the Standard Webhooks signature with `secret`.
    pub fn verify(&self, secret: &str) -> bool {
        let id = &self.headers["webhook-id"];
        let ts: i64 = self.headers["webhook-timestamp"].parse().expect("timestamp");
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64;
        textbird_webhooks::verify(secret, id, ts, self.body.as_bytes(), &self.headers["webhook-signature"], now, 300)
    }
}

#[derive(Default)]
struct Shared {
    received: Vec<Received>,
    /// Statuses to answer with, in order; then 200.
    script: Vec<u16>,
    /// `Location` sent with 3xx answers.
    location: Option<String>,
}

/// An HTTP receiver on 127.0.0.1 recording every POST.
#[derive(Clone)]
pub struct WebhookSink {
    pub url: String,
    shared: Arc<Mutex<Shared>>,
}

impl WebhookSink {
    /// Answers the statuses in `script` to the first requests, 200 after.
    pub async fn start(script: Vec<u16>) -> WebhookSink {
        Self::start_with(script, None).await
    }

    /// Like `start`, and 3xx answers carry `Location: location`.
    pub async fn redirecting(script: Vec<u16>, location: &str) -> WebhookSink {
        Self::start_with(script, Some(location.to_owned())).await
    }

    async fn start_with(script: Vec<u16>, location: Option<String>) -> WebhookSink {
        let shared = Arc::new(Mutex::new(Shared { received: Vec::new(), script, location }));
        let app = Router::new().route("/{*path}", post(receive)).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        WebhookSink { url, shared }
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().expect("poisoned").received.clone()
    }

    /// Received bodies whose `type` is `event_type`.
    pub fn events(&self, event_type: &str) -> Vec<Received> {
        self.received().into_iter().filter(|r| r.json()["type"] == event_type).collect()
    }
}

async fn receive(State(shared): State<Arc<Mutex<Shared>>>, headers: HeaderMap, body: Bytes) -> Response {
    let mut s = shared.lock().expect("poisoned");
    s.received.push(Received {
        headers: headers
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let status = if s.script.is_empty() { 200 } else { s.script.remove(0) };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    match &s.location {
        Some(location) if status.is_redirection() => (status, [(header::LOCATION, location.clone())]).into_response(),
        _ => status.into_response(),
    }
}
