//! Texts kept out of the clear at rest that the server must read back once: the real body of
//! a message whose stored body is masked (a verification code's SMS), and a pending
//! verification's code (for re-sending it). Sealed under `[secrets] key` when one is
//! configured; without one they are still encrypted, under a key built into the binary, so the
//! code never appears in the database as text (obfuscation only: configure a key).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use sha2::{Digest, Sha256};

use crate::{Keyring, SealError, Sealed};

const UNKEYED: &str = "tbobf1:";

fn unkeyed_cipher() -> ChaCha20Poly1305 {
    let key: [u8; 32] = Sha256::digest(b"textbird unkeyed message text").into();
    ChaCha20Poly1305::new(&Key::from(key))
}

/// The keyed hash (HMAC-SHA256, hex) of a verification's code, bound to the verification:
/// keyed with a key derived from `[secrets] key`, or one built into the binary without it.
pub fn code_hash(keyring: &Keyring, verification_id: &str, code: &str) -> String {
    use hmac::{KeyInit as _, Mac};
    let key = keyring.mac_key().unwrap_or_else(|| Sha256::digest(b"textbird unkeyed code hash").into());
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(verification_id.as_bytes());
    mac.update(b":");
    mac.update(code.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// `plain` sealed for the row `id` (its associated data).
pub fn seal_text(keyring: &Keyring, id: &str, plain: &str) -> String {
    if keyring.current_id().is_some() {
        return keyring.seal(plain, Sealed::MessageText);
    }
    let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
    let sealed = unkeyed_cipher()
        .encrypt(&nonce, Payload { msg: plain.as_bytes(), aad: id.as_bytes() })
        .expect("ChaCha20-Poly1305 seals any message under 256 GiB");
    let mut bytes = nonce.to_vec();
    bytes.extend_from_slice(&sealed);
    format!("{UNKEYED}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The plain text of what [`seal_text`] stored for `id`.
pub fn open_text(keyring: &Keyring, id: &str, stored: &str) -> Result<String, SealError> {
    let Some(rest) = stored.strip_prefix(UNKEYED) else {
        return keyring.open(stored, Sealed::MessageText);
    };
    let bytes = URL_SAFE_NO_PAD.decode(rest).map_err(|_| SealError::Corrupt)?;
    if bytes.len() < 12 {
        return Err(SealError::Corrupt);
    }
    let (nonce, sealed) = bytes.split_at(12);
    let nonce: [u8; 12] = nonce.try_into().map_err(|_| SealError::Corrupt)?;
    let plain = unkeyed_cipher()
        .decrypt(&Nonce::from(nonce), Payload { msg: sealed, aad: id.as_bytes() })
        .map_err(|_| SealError::Corrupt)?;
    String::from_utf8(plain).map_err(|_| SealError::Corrupt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_text_opens_only_for_its_row_and_does_not_show_the_text() {
        let keyring = Keyring::default();
        let sealed = seal_text(&keyring, "m1", "Your code is 493817");
        assert!(!sealed.contains("493817"));
        assert_eq!(open_text(&keyring, "m1", &sealed).unwrap(), "Your code is 493817");
        assert!(open_text(&keyring, "m2", &sealed).is_err());
        let keyed = Keyring::new(&[7; 32], &[]);
        let sealed = seal_text(&keyed, "m1", "Your code is 493817");
        assert!(sealed.starts_with("tbsec1:"));
        assert_eq!(open_text(&keyed, "m1", &sealed).unwrap(), "Your code is 493817");
    }
}
