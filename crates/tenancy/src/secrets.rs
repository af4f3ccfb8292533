//! Passwords and tokens.
//!
//! Passwords are hashed with argon2id (19 MiB, 2 passes, 1 lane: OWASP's recommendation) on a
//! blocking thread, so a login never stalls the async workers. Tokens (refresh, invite, reset, API
//! keys) are 32 random bytes shown once as URL-safe base64 and stored only as their SHA-256.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::TenancyError;

/// argon2id memory cost, KiB.
pub const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
/// argon2id passes.
pub const ARGON2_PASSES: u32 = 2;
/// argon2id lanes.
pub const ARGON2_LANES: u32 = 1;

/// The shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 10;

fn argon2() -> Argon2<'static> {
    let params =
        Params::new(ARGON2_MEMORY_KIB, ARGON2_PASSES, ARGON2_LANES, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Refuses passwords that are too short or too long.
pub fn check_password_rules(field: &str, password: &str) -> Result<(), TenancyError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_LEN {
        return Err(TenancyError::invalid(
            field,
            "weak_password",
            &format!("must be at least {MIN_PASSWORD_LEN} characters"),
        ));
    }
    if password.len() > 1024 {
        return Err(TenancyError::invalid(
            field,
            "length",
            "must be at most 1024 bytes",
        ));
    }
    Ok(())
}

/// Hashes a password (PHC string).
pub async fn hash_password(password: &str) -> Result<String, TenancyError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| internal(&e))?;
        let salt = SaltString::encode_b64(&salt).map_err(|e| internal(&e))?;
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| internal(&e))
    })
    .await
    .map_err(|e| internal(&e))?
}

/// A hash of a random password, verified against when the account does not exist, so that
/// "no such user" takes as long as "wrong password".
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$QkF4pN5X1Z5sHhD7l2H1oLp1q0a9e6n4b8k3w2y7u5c";

/// Checks a password against a stored hash (or the dummy hash when there is none).
pub async fn verify_password(password: &str, hash: Option<&str>) -> bool {
    let password = password.to_owned();
    let (hash, real) = match hash {
        Some(h) => (h.to_owned(), true),
        None => (DUMMY_HASH.to_owned(), false),
    };
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                argon2()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
        && real
}

/// A new random token, as shown to its holder.
pub fn new_token() -> Result<String, TenancyError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| internal(&e))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// What is stored of a token.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn internal(e: &dyn std::fmt::Display) -> TenancyError {
    TenancyError::Db(guild_db::DbError::Unavailable(format!(
        "crypto failure: {e}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_password_verifies_against_its_hash_only() {
        let hash = hash_password("correct horse battery").await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("correct horse battery", Some(&hash)).await);
        assert!(!verify_password("wrong horse battery", Some(&hash)).await);
        assert!(!verify_password("correct horse battery", None).await);
    }

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a).len(), 32);
        assert_ne!(token_hash(&a), token_hash(&b));
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(check_password_rules("password", "short").is_err());
        assert!(check_password_rules("password", "long enough pass").is_ok());
    }
}
