//! Secrets the server has to read back (webhook signing secrets, the accounts' callback
//! secrets, SMPP connector passwords), encrypted at rest with ChaCha20-Poly1305 under a key
//! from the configuration. A sealed value is text:
//!
//! ```text
//! tbsec1:<key id, 8 hex>:<base64url(12-byte nonce ‖ ciphertext ‖ 16-byte tag)>
//! ```
//!
//! The key id (the start of the SHA-256 of the key) says which key opens it, so values sealed
//! under a previous key are still read while everything is re-sealed under the current one.
//! The associated data is what the value is (`webhook.secret`, ...), so a ciphertext moved to
//! another column does not open. A value without the prefix is plain text from before
//! encryption: it is read as it is, and re-sealed by [`crate::Store::reseal_secrets`].

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use sha2::{Digest, Sha256};

const PREFIX: &str = "tbsec1:";
const NONCE_LEN: usize = 12;
pub const KEY_LEN: usize = 32;

/// What a sealed value is: the associated data it is sealed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sealed {
    WebhookSecret,
    WebhookPreviousSecret,
    CallbackSecret,
    ConnectorPassword,
    /// The real text of a message stored masked (a verification code's SMS), and the code.
    MessageText,
}

impl Sealed {
    fn label(self) -> &'static [u8] {
        match self {
            Sealed::WebhookSecret => b"webhook.secret",
            Sealed::WebhookPreviousSecret => b"webhook.previous_secret",
            Sealed::CallbackSecret => b"account.callback_secret",
            Sealed::ConnectorPassword => b"connector.password",
            Sealed::MessageText => b"message.text",
        }
    }
}

/// Why a key or a sealed value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("a secrets key must be {KEY_LEN} bytes in base64 (`textbird secrets generate-key` prints one)")]
    BadKey,
    #[error("a secret is sealed with key {0}, which is neither [secrets] key nor one of previous_keys")]
    UnknownKey(String),
    #[error("a sealed secret does not open: it was altered, or sealed for another use")]
    Corrupt,
    #[error("a sealed secret was found but no [secrets] key is configured")]
    NoKey,
}

struct SealKey {
    id: String,
    cipher: ChaCha20Poly1305,
    /// A key for keyed hashes, derived from this one.
    mac: [u8; 32],
}

impl SealKey {
    fn new(bytes: &[u8; KEY_LEN]) -> Self {
        let id = hex::encode(&Sha256::digest([b"textbird secrets key ".as_slice(), bytes].concat())[..4]);
        let mac = Sha256::digest([b"textbird mac key ".as_slice(), bytes].concat()).into();
        Self { id, cipher: ChaCha20Poly1305::new(&Key::from(*bytes)), mac }
    }
}

/// The current key (sealing and opening) and previous keys (opening only). Without a current
/// key nothing is sealed: values are stored as they are, and a sealed one cannot be read.
#[derive(Default)]
pub struct Keyring {
    current: Option<SealKey>,
    previous: Vec<SealKey>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current.as_ref().map(|k| &k.id))
            .field("previous", &self.previous.iter().map(|k| &k.id).collect::<Vec<_>>())
            .finish()
    }
}

impl Keyring {
    /// A keyring sealing with `current` and also opening with `previous`.
    pub fn new(current: &[u8; KEY_LEN], previous: &[[u8; KEY_LEN]]) -> Self {
        Self { current: Some(SealKey::new(current)), previous: previous.iter().map(SealKey::new).collect() }
    }

    /// Reads a key written as base64 (standard or URL-safe, padded or not).
    pub fn parse_key(text: &str) -> Result<[u8; KEY_LEN], SealError> {
        let text = text.trim();
        let bytes = [STANDARD.decode(text), URL_SAFE.decode(text), URL_SAFE_NO_PAD.decode(text)]
            .into_iter()
            .find_map(Result::ok)
            .ok_or(SealError::BadKey)?;
        bytes.try_into().map_err(|_| SealError::BadKey)
    }

    /// A new random key, in base64.
    pub fn generate_key() -> String {
        STANDARD.encode(ChaCha20Poly1305::generate_key(&mut OsRng))
    }

    /// A key for keyed hashes (such as verification codes), derived from the current key.
    pub fn mac_key(&self) -> Option<[u8; 32]> {
        self.current.as_ref().map(|k| k.mac)
    }

    /// The id of the key new values are sealed with.
    pub fn current_id(&self) -> Option<&str> {
        self.current.as_ref().map(|k| k.id.as_str())
    }

    /// `plain` sealed under the current key (as it is without one).
    pub fn seal(&self, plain: &str, what: Sealed) -> String {
        let Some(key) = &self.current else {
            return plain.to_owned();
        };
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = key
            .cipher
            .encrypt(&nonce, Payload { msg: plain.as_bytes(), aad: what.label() })
            .expect("ChaCha20-Poly1305 seals any message under 256 GiB");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!("{PREFIX}{}:{}", key.id, URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The plain text of a stored value: opened when sealed, as it is when stored before
    /// encryption.
    pub fn open(&self, stored: &str, what: Sealed) -> Result<String, SealError> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_owned());
        };
        let (id, data) = rest.split_once(':').ok_or(SealError::Corrupt)?;
        let key = self.current.iter().chain(&self.previous).find(|k| k.id == id).ok_or_else(|| {
            if self.current.is_none() { SealError::NoKey } else { SealError::UnknownKey(id.to_owned()) }
        })?;
        let bytes = URL_SAFE_NO_PAD.decode(data).map_err(|_| SealError::Corrupt)?;
        if bytes.len() < NONCE_LEN {
            return Err(SealError::Corrupt);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SealError::Corrupt)?;
        let plain = key
            .cipher
            .decrypt(&Nonce::from(nonce), Payload { msg: sealed, aad: what.label() })
            .map_err(|_| SealError::Corrupt)?;
        String::from_utf8(plain).map_err(|_| SealError::Corrupt)
    }

    /// Whether a stored value needs sealing again: plain text while a key is configured, or
    /// sealed under a key that is not the current one.
    pub fn is_stale(&self, stored: &str) -> bool {
        let Some(current) = &self.current else {
            return false;
        };
        match stored.strip_prefix(PREFIX).and_then(|rest| rest.split_once(':')) {
            Some((id, _)) => id != current.id,
            None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> [u8; KEY_LEN] {
        [n; KEY_LEN]
    }

    #[test]
    fn a_sealed_value_opens_for_its_use_only() {
        let ring = Keyring::new(&key(1), &[]);
        let sealed = ring.seal("whsec_abc", Sealed::WebhookSecret);
        assert!(sealed.starts_with("tbsec1:") && !sealed.contains("whsec_abc"), "{sealed}");
        assert_ne!(sealed, ring.seal("whsec_abc", Sealed::WebhookSecret), "a fresh nonce each time");
        assert_eq!(ring.open(&sealed, Sealed::WebhookSecret).unwrap(), "whsec_abc");
        assert_eq!(ring.open(&sealed, Sealed::CallbackSecret), Err(SealError::Corrupt), "bound to its use");
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(ring.open(&tampered, Sealed::WebhookSecret), Err(SealError::Corrupt));
        assert!(!ring.is_stale(&sealed));
    }

    #[test]
    fn previous_keys_open_and_only_the_current_one_seals() {
        let old = Keyring::new(&key(1), &[]);
        let sealed_old = old.seal("secret", Sealed::ConnectorPassword);
        let rotated = Keyring::new(&key(2), &[key(1)]);
        assert_eq!(rotated.open(&sealed_old, Sealed::ConnectorPassword).unwrap(), "secret");
        assert!(rotated.is_stale(&sealed_old), "sealed under a previous key");
        let sealed_new = rotated.seal("secret", Sealed::ConnectorPassword);
        assert!(!rotated.is_stale(&sealed_new));
        assert!(sealed_new.contains(rotated.current_id().unwrap()));
        let dropped = Keyring::new(&key(2), &[]);
        assert!(matches!(dropped.open(&sealed_old, Sealed::ConnectorPassword), Err(SealError::UnknownKey(_))));
        assert_eq!(Keyring::default().open(&sealed_new, Sealed::ConnectorPassword), Err(SealError::NoKey));
    }

    #[test]
    fn plain_values_from_before_pass_and_are_stale() {
        let ring = Keyring::new(&key(1), &[]);
        assert_eq!(ring.open("whsec_plain", Sealed::WebhookSecret).unwrap(), "whsec_plain");
        assert!(ring.is_stale("whsec_plain"));
        let none = Keyring::default();
        assert_eq!(none.seal("x", Sealed::WebhookSecret), "x");
        assert!(!none.is_stale("x"));
    }

    #[test]
    fn keys_are_read_from_base64() {
        let text = Keyring::generate_key();
        let bytes = Keyring::parse_key(&text).unwrap();
        assert_eq!(STANDARD.encode(bytes), text);
        assert_eq!(Keyring::parse_key(&URL_SAFE_NO_PAD.encode(bytes)).unwrap(), bytes);
        assert_eq!(Keyring::parse_key("c2hvcnQ="), Err(SealError::BadKey));
        assert_eq!(Keyring::parse_key("not base64!"), Err(SealError::BadKey));
    }
}
