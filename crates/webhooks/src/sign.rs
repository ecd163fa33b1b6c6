//! Standard Webhooks signatures: `v1,<base64 HMAC-SHA256>` over `"{id}.{timestamp}.{body}"`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, KeyInit as _, Mac as _};
use rand::Rng as _;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Prefix of every secret we hand out, as the Standard Webhooks spec names it.
pub const SECRET_PREFIX: &str = "whsec_";

/// Version tag of the only signature scheme we produce (symmetric HMAC-SHA256).
const SCHEME: &str = "v1";

/// Default clock skew a receiver accepts, per the spec: five minutes.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// A signing secret that cannot be used. The message never echoes the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The part after `whsec_` is not valid standard base64.
    #[error("webhook secret is not valid base64")]
    InvalidBase64,
    /// The secret decodes to no key bytes at all.
    #[error("webhook secret is empty")]
    Empty,
    /// `signature_header` was given no secrets to sign with.
    #[error("no webhook secret to sign with")]
    NoSecrets,
}

/// A fresh secret: `whsec_` + base64 of 32 bytes from a CSPRNG.
///
/// `rand::rng()` is a `ChaCha12` generator seeded and periodically reseeded from
/// the operating system, which is what the rand docs recommend for keys.
pub fn generate_secret() -> String {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", B64.encode(key))
}

/// Decodes a secret to its HMAC key. The `whsec_` prefix is optional, as in the
/// reference libraries, so secrets pasted without it still work.
fn decode_key(secret: &str) -> Result<Vec<u8>, SecretError> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    let key = B64.decode(encoded.trim()).map_err(|_| SecretError::InvalidBase64)?;
    if key.is_empty() {
        return Err(SecretError::Empty);
    }
    Ok(key)
}

fn mac_for(key: &[u8], msg_id: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail for a non-empty key.
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// Signs one message: returns `v1,<base64 signature>`.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &[u8]) -> Result<String, SecretError> {
    let key = decode_key(secret)?;
    let tag = mac_for(&key, msg_id, timestamp, body).finalize().into_bytes();
    Ok(format!("{SCHEME},{}", B64.encode(tag)))
}

/// The `webhook-signature` header value: one signature per secret, space separated,
/// so during a rotation receivers holding either the old or the new secret verify.
pub fn signature_header(secrets: &[&str], msg_id: &str, timestamp: i64, body: &[u8]) -> Result<String, SecretError> {
    if secrets.is_empty() {
        return Err(SecretError::NoSecrets);
    }
    let sigs = secrets.iter().map(|s| sign(s, msg_id, timestamp, body)).collect::<Result<Vec<_>, _>>()?;
    Ok(sigs.join(" "))
}

/// Checks a `webhook-signature` header as a receiver would: the timestamp must be
/// within `tolerance_secs` of `now` (both Unix seconds) and at least one `v1`
/// signature in the header must match. Tags are compared in constant time.
pub fn verify(
    secret: &str,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
    header_value: &str,
    now: i64,
    tolerance_secs: i64,
) -> bool {
    if now.abs_diff(timestamp) > tolerance_secs.unsigned_abs() {
        return false;
    }
    let Ok(key) = decode_key(secret) else {
        return false;
    };
    let mac = mac_for(&key, msg_id, timestamp, body);
    header_value.split_whitespace().any(|candidate| {
        let Some((SCHEME, encoded)) = candidate.split_once(',') else {
            return false;
        };
        let Ok(tag) = B64.decode(encoded) else {
            return false;
        };
        // verify_slice compares in constant time and rejects wrong lengths.
        mac.clone().verify_slice(&tag).is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // The worked example from the Standard Webhooks specification.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const MSG_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const EXPECTED: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn spec_vector() {
        assert_eq!(sign(SECRET, MSG_ID, TS, BODY).unwrap(), EXPECTED);
    }

    #[test]
    fn prefix_is_optional() {
        let bare = SECRET.strip_prefix(SECRET_PREFIX).unwrap();
        assert_eq!(sign(bare, MSG_ID, TS, BODY).unwrap(), EXPECTED);
    }

    #[test]
    fn bad_secrets_are_errors() {
        assert_eq!(sign("whsec_!!!", MSG_ID, TS, BODY), Err(SecretError::InvalidBase64));
        assert_eq!(sign("whsec_", MSG_ID, TS, BODY), Err(SecretError::Empty));
        assert_eq!(signature_header(&[], MSG_ID, TS, BODY), Err(SecretError::NoSecrets));
        // The message must not leak the secret it rejected.
        assert!(!SecretError::InvalidBase64.to_string().contains("!!!"));
    }

    #[test]
    fn generated_secrets_are_fresh_32_byte_keys() {
        let a = generate_secret();
        let b = generate_secret();
        assert_ne!(a, b);
        assert!(a.starts_with(SECRET_PREFIX));
        assert_eq!(decode_key(&a).unwrap().len(), 32);
        let sig = sign(&a, MSG_ID, TS, BODY).unwrap();
        assert!(verify(&a, MSG_ID, TS, BODY, &sig, TS, DEFAULT_TOLERANCE_SECS));
    }

    #[test]
    fn rotation_header_verifies_with_either_secret() {
        let new = generate_secret();
        let header = signature_header(&[SECRET, &new], MSG_ID, TS, BODY).unwrap();
        assert_eq!(header.split(' ').count(), 2);
        assert!(header.starts_with(EXPECTED));
        assert!(verify(SECRET, MSG_ID, TS, BODY, &header, TS, 300));
        assert!(verify(&new, MSG_ID, TS, BODY, &header, TS, 300));
        assert!(!verify(&generate_secret(), MSG_ID, TS, BODY, &header, TS, 300));
    }

    #[test]
    fn verify_rejects_tampering_and_stale_timestamps() {
        let ok = |body: &[u8], header: &str, now: i64| verify(SECRET, MSG_ID, TS, body, header, now, 300);
        assert!(ok(BODY, EXPECTED, TS));
        assert!(ok(BODY, EXPECTED, TS + 300));
        assert!(ok(BODY, EXPECTED, TS - 300));
        assert!(!ok(BODY, EXPECTED, TS + 301));
        assert!(!ok(BODY, EXPECTED, TS - 301));
        assert!(!ok(br#"{"test": 2432232315}"#, EXPECTED, TS));
        assert!(!ok(BODY, "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", TS));
        assert!(!ok(BODY, "v1,not-base64", TS));
        assert!(!ok(BODY, "v1,g0hM9SsE", TS)); // truncated tag
        assert!(!ok(BODY, "", TS));
        assert!(ok(BODY, &format!("v1,AAAA {EXPECTED}"), TS));
        assert!(!verify(SECRET, "msg_other", TS, BODY, EXPECTED, TS, 300));
    }
}
