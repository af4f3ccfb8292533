//! Secrets sealed at rest: AES-256-GCM under a keyring whose keys have ids, so keys rotate.
//!
//! A [`Keyring`] holds one or more 32-byte keys, each with an id (`GUILD_ENCRYPTION_KEYS`:
//! `kid1:base64key,kid2:base64key`). The first key seals; every key opens. A sealed value is
//! text, `<key id>.<base64 of nonce ‖ ciphertext ‖ tag>`, so a row keeps the id of the key that
//! sealed it and opens after a newer key took the first place. Each seal takes a fresh random
//! 96-bit nonce. The caller names what the value belongs to (`context`, e.g.
//! `webhook_endpoint:<tenant>:<id>`), bound as associated data: a sealed value copied into
//! another row does not open there.
//!
//! Nothing here knows where values are stored; webhook secrets, coaching's private notes and the
//! single sign-on client secrets (and PKCE verifiers) use it.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The key id of the development key ([`Keyring::development`]).
pub const DEVELOPMENT_KEY_ID: &str = "dev";

/// Why a value could not be sealed or opened, or a keyring not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The sealed text does not have the `<key id>.<base64>` shape.
    #[error("not a sealed value")]
    Malformed,
    /// No key of the keyring has the value's key id.
    #[error("no key with id {0}")]
    UnknownKey(String),
    /// The value was changed, sealed for another context, or under another key of that id.
    #[error("the sealed value does not open")]
    Tampered,
    /// The keyring's configuration is wrong.
    #[error("{0}")]
    BadKeyring(String),
    /// No randomness for a nonce.
    #[error("no randomness available")]
    Random,
}

/// Keys that seal and open secrets; the first one seals.
#[derive(Clone)]
pub struct Keyring {
    keys: Vec<(String, Aes256Gcm)>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("Keyring").field("key_ids", &ids).finish()
    }
}

impl Keyring {
    /// A keyring of `(id, 32-byte key)` pairs; the first seals. Ids are 1 to 32 characters of
    /// `[A-Za-z0-9_-]`, each once.
    pub fn new(keys: Vec<(String, [u8; 32])>) -> Result<Self, SealError> {
        if keys.is_empty() {
            return Err(SealError::BadKeyring("no key".to_owned()));
        }
        let mut out: Vec<(String, Aes256Gcm)> = Vec::with_capacity(keys.len());
        for (id, key) in keys {
            let valid = (1..=32).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !valid {
                return Err(SealError::BadKeyring(format!(
                    "key id {id:?}: 1 to 32 letters, digits, `_` or `-`"
                )));
            }
            if out.iter().any(|(other, _)| *other == id) {
                return Err(SealError::BadKeyring(format!("key id {id} twice")));
            }
            out.push((id, Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key))));
        }
        Ok(Self { keys: out })
    }

    /// Reads `kid1:base64key,kid2:base64key` (standard base64 of 32 bytes each).
    pub fn parse(spec: &str) -> Result<Self, SealError> {
        let mut keys = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (id, b64) = part
                .split_once(':')
                .ok_or_else(|| SealError::BadKeyring(format!("{part:?}: expected id:base64")))?;
            let bytes = STANDARD
                .decode(b64.trim())
                .map_err(|_| SealError::BadKeyring(format!("key {id}: not base64")))?;
            let key: [u8; 32] = bytes
                .try_into()
                .map_err(|_| SealError::BadKeyring(format!("key {id}: expected 32 bytes")))?;
            keys.push((id.trim().to_owned(), key));
        }
        Self::new(keys)
    }

    /// The development keyring: one key derived deterministically from a fixed phrase, so
    /// values sealed before a restart still open. It protects nothing (the phrase is public);
    /// production sets `GUILD_ENCRYPTION_KEYS`.
    pub fn development() -> Self {
        let mut key = [0u8; 32];
        for (i, b) in b"guild development encryption key, not a secret"
            .iter()
            .cycle()
            .take(32)
            .enumerate()
        {
            key[i] = b.wrapping_mul(31).wrapping_add(i as u8);
        }
        Self {
            keys: vec![(
                DEVELOPMENT_KEY_ID.to_owned(),
                Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key)),
            )],
        }
    }

    /// The id of the key that seals.
    pub fn sealing_key_id(&self) -> &str {
        self.keys.first().map_or("", |(id, _)| id.as_str())
    }

    /// Seals `plaintext` for `context` with the first key.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Result<String, SealError> {
        let (id, cipher) = self
            .keys
            .first()
            .ok_or_else(|| SealError::BadKeyring("no key".to_owned()))?;
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|_| SealError::Random)?;
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| SealError::Tampered)?;
        let mut bytes = Vec::with_capacity(12 + sealed.len());
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&sealed);
        Ok(format!("{id}.{}", STANDARD.encode(bytes)))
    }

    /// Opens a value sealed for `context` by any key of the keyring.
    pub fn open(&self, context: &str, sealed: &str) -> Result<Vec<u8>, SealError> {
        let (id, b64) = sealed.split_once('.').ok_or(SealError::Malformed)?;
        let bytes = STANDARD.decode(b64).map_err(|_| SealError::Malformed)?;
        if bytes.len() < 12 + 16 {
            return Err(SealError::Malformed);
        }
        let (_, cipher) = self
            .keys
            .iter()
            .find(|(kid, _)| kid == id)
            .ok_or_else(|| SealError::UnknownKey(id.to_owned()))?;
        let (nonce, body) = bytes.split_at(12);
        cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| SealError::Tampered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(ids: &[(&str, u8)]) -> Keyring {
        Keyring::new(
            ids.iter()
                .map(|(id, b)| ((*id).to_owned(), [*b; 32]))
                .collect(),
        )
        .expect("a keyring")
    }

    #[test]
    fn a_sealed_value_opens_for_its_context_and_does_not_show_the_plaintext() {
        let keys = ring(&[("k1", 1)]);
        let sealed = keys.seal("endpoint:a", b"whsec_secret").expect("sealed");
        assert!(sealed.starts_with("k1."));
        assert!(!sealed.contains("whsec"));
        assert_ne!(
            sealed,
            keys.seal("endpoint:a", b"whsec_secret").expect("sealed"),
            "fresh nonce"
        );
        assert_eq!(
            keys.open("endpoint:a", &sealed).expect("opens"),
            b"whsec_secret"
        );
    }

    #[test]
    fn a_tampered_value_or_another_context_does_not_open() {
        let keys = ring(&[("k1", 1)]);
        let sealed = keys.seal("endpoint:a", b"secret").expect("sealed");
        let (id, b64) = sealed.split_once('.').expect("shape");
        let mut bytes = STANDARD.decode(b64).expect("base64");
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = format!("{id}.{}", STANDARD.encode(&bytes));
        assert_eq!(keys.open("endpoint:a", &tampered), Err(SealError::Tampered));
        bytes[last] ^= 1;
        bytes[14] ^= 0x80;
        let tampered = format!("{id}.{}", STANDARD.encode(&bytes));
        assert_eq!(keys.open("endpoint:a", &tampered), Err(SealError::Tampered));
        assert_eq!(keys.open("endpoint:b", &sealed), Err(SealError::Tampered));
        assert_eq!(keys.open("endpoint:a", "k1.!!"), Err(SealError::Malformed));
        assert_eq!(
            keys.open("endpoint:a", "nothing"),
            Err(SealError::Malformed)
        );
    }

    #[test]
    fn an_unknown_key_id_or_another_key_under_the_same_id_does_not_open() {
        let sealed = ring(&[("k1", 1)]).seal("c", b"secret").expect("sealed");
        assert_eq!(
            ring(&[("k2", 1)]).open("c", &sealed),
            Err(SealError::UnknownKey("k1".to_owned()))
        );
        assert_eq!(
            ring(&[("k1", 2)]).open("c", &sealed),
            Err(SealError::Tampered)
        );
    }

    #[test]
    fn after_a_rotation_the_new_key_seals_and_old_values_still_open() {
        let old = ring(&[("k1", 1)]);
        let sealed_before = old.seal("c", b"before").expect("sealed");
        let rotated = ring(&[("k2", 2), ("k1", 1)]);
        assert_eq!(rotated.sealing_key_id(), "k2");
        assert_eq!(rotated.open("c", &sealed_before).expect("opens"), b"before");
        let sealed_after = rotated.seal("c", b"after").expect("sealed");
        assert!(sealed_after.starts_with("k2."));
        assert!(
            old.open("c", &sealed_after).is_err(),
            "the old ring lacks k2"
        );
    }

    #[test]
    fn the_keyring_is_read_from_its_setting_and_refuses_bad_keys() {
        let b64 = STANDARD.encode([7u8; 32]);
        let keys = Keyring::parse(&format!("new:{b64}, old:{}", STANDARD.encode([8u8; 32])))
            .expect("parsed");
        assert_eq!(keys.sealing_key_id(), "new");
        assert!(Keyring::parse("").is_err());
        assert!(Keyring::parse("k1").is_err());
        assert!(Keyring::parse("k1:notbase64!").is_err());
        assert!(Keyring::parse(&format!("k1:{}", STANDARD.encode([1u8; 16]))).is_err());
        assert!(Keyring::parse(&format!("k1:{b64},k1:{b64}")).is_err());
        assert!(Keyring::parse(&format!("bad.id:{b64}")).is_err());
        let dev = Keyring::development();
        let sealed = dev.seal("c", b"x").expect("sealed");
        assert_eq!(
            Keyring::development().open("c", &sealed).expect("opens"),
            b"x"
        );
    }
}
