//! Sending one signed webhook HTTP request, safely. This crate signs payloads the
//! Standard Webhooks way (`whsec_` secrets, `v1,` HMAC-SHA256 signatures, several
//! side by side during rotation), refuses destinations on private, loopback,
//! metadata and other special networks both for literal IPs and for every
//! address a hostname resolves to, posts with a bounded timeout and without
//! following redirects, and says when to retry: the attempt ladder, how to treat
//! a status code and how to read `Retry-After`. It knows nothing of Textbird's
//! store, its endpoints table or its delivery log: callers bring the URL, the
//! secrets and the body, and record the outcome themselves.
#![warn(missing_docs)]

mod retry;
mod sender;
mod sign;
mod ssrf;

pub use retry::{MAX_ATTEMPTS, MAX_RETRY_AFTER, Outcome, classify, parse_retry_after, retry_delay};
pub use sender::{BODY_SNIPPET_LIMIT, DEFAULT_TIMEOUT, Response, SendError, Sender};
pub use sign::{DEFAULT_TOLERANCE_SECS, SECRET_PREFIX, SecretError, generate_secret, sign, signature_header, verify};
pub use ssrf::{BlockReason, Blocked, Policy, UrlError, check_ip, check_url};
