//! Message bodies at rest. The outbox keeps every body sealed with AES-256-GCM under a key
//! derived (HKDF-SHA256) from the secret key, so the database and its backups hold no working
//! registration or reset link; only the worker, which has the secret key, opens a body to send
//! it, and a sent message's bodies are wiped. The message's Message-ID, recipient and which
//! body it is are bound in as associated data, so a sealed body cannot be moved to another row
//! or recipient.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hkdf::Hkdf;
use rand::RngCore;
use sha2::Sha256;

/// How a sealed body starts; anything else is a body from before sealing (sent as it is).
pub const PREFIX: &str = "sealed-v1:";
/// The HKDF context: a key for this use only, unrelated to the session cookie key.
const KEY_INFO: &[u8] = b"orgportal outbox message bodies v1";
const NONCE_LEN: usize = 12;

/// Which of a message's two bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Text,
    Html,
}

/// The key that seals and opens outbox bodies. `Debug` shows nothing of it.
#[derive(Clone)]
pub struct BodyKey(Aes256Gcm);

impl std::fmt::Debug for BodyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BodyKey(<redacted>)")
    }
}

/// Why a stored body could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("the body cannot be sealed")]
    Unsealable,
    #[error("the stored body is damaged")]
    Damaged,
    #[error("the body was sealed under another secret key (ORGPORTAL_SECRET_KEY changed) or was altered")]
    WrongKey,
}

fn associated_data(message_id: &str, recipient: &str, part: Part) -> Vec<u8> {
    let part = match part {
        Part::Text => "text",
        Part::Html => "html",
    };
    format!("{message_id}\n{recipient}\n{part}").into_bytes()
}

impl BodyKey {
    /// The body key for the portal's secret key (any length; HKDF spreads it to 256 bits).
    pub fn derive(secret: &[u8]) -> Self {
        Self::derive_for(secret, KEY_INFO)
    }

    /// A key for another use of sealing (`info` names the use), unrelated to every other key
    /// derived from the same secret.
    pub fn derive_for(secret: &[u8], info: &[u8]) -> Self {
        let mut key = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's limit of 255 × 32, so expand cannot fail.
        let expanded = Hkdf::<Sha256>::new(None, secret).expand(info, &mut key);
        debug_assert!(expanded.is_ok());
        Self(Aes256Gcm::new(aes_gcm::Key::<Aes256Gcm>::from_slice(&key)))
    }

    /// `plain` sealed, bound to `aad`: the prefix and base64url of a fresh random nonce
    /// followed by the ciphertext and its tag.
    pub fn seal_bytes(&self, plain: &[u8], aad: &[u8]) -> Result<String, OpenError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .0
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
            .map_err(|_| OpenError::Unsealable)?;
        let mut bytes = Vec::with_capacity(NONCE_LEN + sealed.len());
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// What `seal_bytes` sealed with the same `aad`.
    pub fn open_bytes(&self, stored: &str, aad: &[u8]) -> Result<Vec<u8>, OpenError> {
        let encoded = stored.strip_prefix(PREFIX).ok_or(OpenError::Damaged)?;
        let bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| OpenError::Damaged)?;
        if bytes.len() < NONCE_LEN {
            return Err(OpenError::Damaged);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        self.0.decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad }).map_err(|_| OpenError::WrongKey)
    }

    /// `body` sealed for the message `message_id` to `recipient`.
    pub fn seal(&self, body: &str, message_id: &str, recipient: &str, part: Part) -> Result<String, OpenError> {
        self.seal_bytes(body.as_bytes(), &associated_data(message_id, recipient, part))
    }

    /// The body as written, from what the outbox stores. A body stored before sealing existed
    /// (no prefix) is returned as it is.
    pub fn open(&self, stored: &str, message_id: &str, recipient: &str, part: Part) -> Result<String, OpenError> {
        if !stored.starts_with(PREFIX) {
            return Ok(stored.to_owned());
        }
        let plain = self.open_bytes(stored, &associated_data(message_id, recipient, part))?;
        String::from_utf8(plain).map_err(|_| OpenError::Damaged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINK: &str = "https://portal.example.com/register/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdE";

    #[test]
    fn a_sealed_body_hides_its_text_and_opens_with_the_same_key() {
        let key = BodyKey::derive(&[7u8; 64]);
        let sealed = key.seal(LINK, "<m1@x>", "a@example.com", Part::Text).unwrap();
        assert!(sealed.starts_with(PREFIX));
        assert!(!sealed.contains("register") && !sealed.contains("AbCdEf"), "{sealed}");
        assert_eq!(key.open(&sealed, "<m1@x>", "a@example.com", Part::Text).unwrap(), LINK);
        // A fresh nonce each time: the same body never seals to the same text.
        assert_ne!(sealed, key.seal(LINK, "<m1@x>", "a@example.com", Part::Text).unwrap());
    }

    #[test]
    fn another_key_row_recipient_or_part_cannot_open_it() {
        let key = BodyKey::derive(&[7u8; 64]);
        let sealed = key.seal(LINK, "<m1@x>", "a@example.com", Part::Text).unwrap();
        let other = BodyKey::derive(&[8u8; 64]);
        assert!(matches!(other.open(&sealed, "<m1@x>", "a@example.com", Part::Text), Err(OpenError::WrongKey)));
        assert!(key.open(&sealed, "<m2@x>", "a@example.com", Part::Text).is_err());
        assert!(key.open(&sealed, "<m1@x>", "attacker@example.com", Part::Text).is_err());
        assert!(key.open(&sealed, "<m1@x>", "a@example.com", Part::Html).is_err());
        assert!(matches!(key.open("sealed-v1:!!", "<m1@x>", "a", Part::Text), Err(OpenError::Damaged)));
        assert!(matches!(key.open("sealed-v1:AAAA", "<m1@x>", "a", Part::Text), Err(OpenError::Damaged)));
    }

    #[test]
    fn a_body_from_before_sealing_is_read_as_it_is() {
        let key = BodyKey::derive(b"k");
        assert_eq!(key.open("plain words", "<m@x>", "a@b.co", Part::Html).unwrap(), "plain words");
        assert_eq!(format!("{key:?}"), "BodyKey(<redacted>)");
    }
}
