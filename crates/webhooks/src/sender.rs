//! The HTTP client that delivers one webhook request, guarded against SSRF.

use std::error::Error as StdError;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};

use crate::retry::parse_retry_after;
use crate::ssrf::{Blocked, Policy, UrlError, check_ip, check_url};

/// Total time one delivery may take, connect to last body byte read.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// Upper bound on connecting alone, so an unreachable host fails fast.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How much of the receiver's response body we keep for the delivery log.
pub const BODY_SNIPPET_LIMIT: usize = 1024;

/// What the receiver answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status code; redirects come back as-is, never followed.
    pub status: u16,
    /// The `Retry-After` header, parsed and capped (see [`parse_retry_after`]).
    pub retry_after: Option<Duration>,
    /// At most the first [`BODY_SNIPPET_LIMIT`] bytes of the body, lossily decoded.
    pub body_snippet: String,
}

/// Why a delivery got no response. Display texts never contain the URL or
/// header values, so they are safe to store and show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The destination (literal or resolved) is refused by the SSRF policy.
    #[error("blocked: {0}")]
    Blocked(Blocked),
    /// The URL itself is unusable (scheme, syntax, no host).
    #[error("{0}")]
    InvalidUrl(UrlError),
    /// Connecting or the whole exchange exceeded its time limit.
    #[error("request timed out")]
    Timeout,
    /// DNS failure, refused connection, TLS failure and the like.
    #[error("connection failed: {0}")]
    Connect(String),
    /// Anything else (bad header, protocol error, client setup).
    #[error("request failed: {0}")]
    Other(String),
}

impl From<UrlError> for SendError {
    fn from(err: UrlError) -> Self {
        match err {
            UrlError::Blocked(b) => Self::Blocked(b),
            other => Self::InvalidUrl(other),
        }
    }
}

/// Sends webhook requests. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct Sender {
    client: reqwest::Client,
    policy: Policy,
}

impl Sender {
    /// A sender with the given SSRF policy and total per-request `timeout`
    /// (use [`DEFAULT_TIMEOUT`] outside tests).
    pub fn new(policy: Policy, timeout: Duration) -> Result<Self, SendError> {
        let client = reqwest::Client::builder()
            // A redirect could point anywhere, including past the guard's literal-IP check.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            // Through a proxy, our resolver would judge the proxy's address and
            // the proxy would reach the real target unchecked.
            .no_proxy()
            .dns_resolver(GuardedResolver { policy })
            .user_agent(concat!("textbird-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SendError::Other(describe(&e)))?;
        Ok(Self { client, policy })
    }

    /// POSTs `body` with `headers` to `url` and returns the receiver's answer,
    /// whatever its status. Errors mean no HTTP response was obtained.
    pub async fn post(&self, url: &str, headers: &[(&str, String)], body: Vec<u8>) -> Result<Response, SendError> {
        // Literal-IP hosts never reach the resolver, so they are judged here.
        let url = check_url(url, self.policy)?;
        let mut map = HeaderMap::with_capacity(headers.len());
        for (name, value) in headers {
            // Name the header but never echo its value: it may be a signature or token.
            let bad = || SendError::Other(format!("invalid header {name:?}"));
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?;
            let value = HeaderValue::from_str(value).map_err(|_| bad())?;
            map.append(name, value);
        }
        let mut resp = self.client.post(url).headers(map).body(body).send().await.map_err(|e| map_error(&e))?;

        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let mut snippet = Vec::new();
        // Read only what we keep; a failure mid-body still leaves a valid status,
        // so it is not an error for the delivery.
        while snippet.len() < BODY_SNIPPET_LIMIT {
            match resp.chunk().await {
                Ok(Some(chunk)) => snippet.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(error = %describe(&e), "webhook response body read failed");
                    break;
                }
            }
        }
        Ok(Response { status, retry_after, body_snippet: snippet_text(&snippet) })
    }
}

/// Lossy UTF-8 of at most [`BODY_SNIPPET_LIMIT`] bytes, cut on a char boundary.
fn snippet_text(bytes: &[u8]) -> String {
    let bytes = &bytes[..bytes.len().min(BODY_SNIPPET_LIMIT)];
    let mut text = String::from_utf8_lossy(bytes).into_owned();
    if text.len() > BODY_SNIPPET_LIMIT {
        // Replacement characters can make the text longer than the bytes were.
        let mut end = BODY_SNIPPET_LIMIT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

fn map_error(err: &reqwest::Error) -> SendError {
    // The resolver's refusal arrives wrapped several layers deep.
    let mut source: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(blocked) = e.downcast_ref::<Blocked>() {
            return SendError::Blocked(*blocked);
        }
        source = e.source();
    }
    if err.is_timeout() {
        SendError::Timeout
    } else if err.is_connect() {
        SendError::Connect(describe(err))
    } else {
        SendError::Other(describe(err))
    }
}

/// The error and its causes joined by ": ", without the request URL, which can
/// carry credentials or tokens.
fn describe(err: &reqwest::Error) -> String {
    let mut text = String::new();
    let mut source: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = source {
        let part = if std::ptr::addr_eq(e, err) {
            // reqwest's own Display appends the URL; rebuild it without.
            strip_url(err)
        } else {
            e.to_string()
        };
        // Layers often repeat their cause's text; skip echoes.
        if !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
        source = e.source();
    }
    text
}

fn strip_url(err: &reqwest::Error) -> String {
    let full = err.to_string();
    match err.url() {
        Some(url) => full.replace(&format!(" for url ({url})"), ""),
        None => full,
    }
}

/// Resolves with the system resolver (via tokio) and refuses the whole lookup
/// if any address is blocked: a name that resolves to a public and a private
/// address could otherwise be steered to the private one.
struct GuardedResolver {
    policy: Policy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            for addr in &addrs {
                if let Err(blocked) = check_ip(addr.ip(), policy) {
                    tracing::debug!(%host, %blocked, "webhook destination refused at resolve time");
                    return Err(Box::new(blocked) as Box<dyn StdError + Send + Sync>);
                }
            }
            // The checked list is exactly what hyper connects to: no second lookup to race.
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_is_bounded_and_lossy() {
        assert_eq!(snippet_text(b"ok"), "ok");
        assert_eq!(snippet_text(&[b'a'; 5000]).len(), BODY_SNIPPET_LIMIT);
        assert_eq!(snippet_text(&[0xff, b'x']), "\u{fffd}x");
        let bad = vec![0xff; 2000];
        let text = snippet_text(&bad);
        assert!(text.len() <= BODY_SNIPPET_LIMIT && text.chars().all(|c| c == '\u{fffd}'));
    }

    #[test]
    fn url_errors_map_to_send_errors() {
        let deny = Policy::default();
        let err: SendError = check_url("http://127.0.0.1/", deny).unwrap_err().into();
        assert!(matches!(err, SendError::Blocked(_)));
        let err: SendError = check_url("gopher://x/", deny).unwrap_err().into();
        assert!(matches!(err, SendError::InvalidUrl(UrlError::Scheme(_))));
    }
}
