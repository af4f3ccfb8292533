//! One-click unsubscribe tokens (RFC 8058): what the `List-Unsubscribe` link of a notification
//! or digest email carries, so its recipient can turn that email off without signing in.
//!
//! A token names a tenant, a member and a [`Scope`] (one notification type, or every
//! notification email), and is signed with HMAC-SHA-256 under a server secret
//! (`GUILD_UNSUBSCRIBE_SECRET`): `base64url(payload) "." base64url(tag)`, the tag computed over
//! a version label and the payload. [`UnsubscribeKey::verify`] compares tags in constant time
//! and refuses anything it did not sign, or signed and altered since. A token does nothing but
//! turn emails off, so it does not expire; changing the secret ends every one given out.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use guild_kernel::{TenantId, UserId};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use crate::NotificationType;

/// Signed into every tag, so a tag made for another purpose with the same key never verifies.
const LABEL: &[u8] = b"guild-unsubscribe-v1\0";
/// The longest token [`UnsubscribeKey::verify`] looks at.
pub const MAX_TOKEN_LEN: usize = 512;

/// What a token turns off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The emails of one notification type.
    Type(NotificationType),
    /// Every notification email (digests too).
    All,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Self::Type(kind) => kind.as_str(),
            Self::All => "ALL",
        }
    }
}

/// Who and what a verified token names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsubscribe {
    /// The tenant whose emails.
    pub tenant: TenantId,
    /// The member.
    pub user: UserId,
    /// What to turn off.
    pub scope: Scope,
}

/// The token is not one this server signed, or was altered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the unsubscribe token is not valid")]
pub struct InvalidToken;

/// The secret unsubscribe tokens are signed with.
#[derive(Clone)]
pub struct UnsubscribeKey(Vec<u8>);

impl std::fmt::Debug for UnsubscribeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UnsubscribeKey(…)")
    }
}

impl UnsubscribeKey {
    /// A key from a secret (at least 32 bytes in production; the configuration checks).
    pub fn new(secret: &[u8]) -> Self {
        Self(secret.to_vec())
    }

    fn mac(&self) -> Hmac<Sha256> {
        self.labelled(LABEL)
    }

    /// An HMAC under this secret that starts with `label`: other tokens signed with the same
    /// secret (the reply addresses of [`crate::reply`]) use a label of their own, so a tag made
    /// for one purpose never verifies for another.
    pub(crate) fn labelled(&self, label: &[u8]) -> Hmac<Sha256> {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(label);
        mac
    }

    /// A token for `what`.
    pub fn sign(&self, what: &Unsubscribe) -> String {
        let mut payload = Vec::with_capacity(64);
        payload.extend_from_slice(what.tenant.into_uuid().as_bytes());
        payload.extend_from_slice(what.user.into_uuid().as_bytes());
        payload.extend_from_slice(what.scope.as_str().as_bytes());
        let mut mac = self.mac();
        mac.update(&payload);
        let tag = mac.finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// What `token` names, if this key signed it exactly as it is.
    pub fn verify(&self, token: &str) -> Result<Unsubscribe, InvalidToken> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(InvalidToken);
        }
        let (payload, tag) = token.split_once('.').ok_or(InvalidToken)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| InvalidToken)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| InvalidToken)?;
        let mut mac = self.mac();
        mac.update(&payload);
        // Constant time: `verify_slice` compares every byte whatever the first difference.
        mac.verify_slice(&tag).map_err(|_| InvalidToken)?;
        if payload.len() < 33 {
            return Err(InvalidToken);
        }
        let (ids, scope) = payload.split_at(32);
        let tenant = Uuid::from_slice(&ids[..16]).map_err(|_| InvalidToken)?;
        let user = Uuid::from_slice(&ids[16..]).map_err(|_| InvalidToken)?;
        let scope = match std::str::from_utf8(scope).map_err(|_| InvalidToken)? {
            "ALL" => Scope::All,
            kind => Scope::Type(kind.parse().map_err(|_| InvalidToken)?),
        };
        Ok(Unsubscribe {
            tenant: TenantId(tenant),
            user: UserId(user),
            scope,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn what(scope: Scope) -> Unsubscribe {
        Unsubscribe {
            tenant: TenantId(Uuid::now_v7()),
            user: UserId(Uuid::now_v7()),
            scope,
        }
    }

    #[test]
    fn a_signed_token_verifies_to_what_it_names() {
        let key = UnsubscribeKey::new(b"0123456789abcdef0123456789abcdef");
        for scope in [Scope::All, Scope::Type(NotificationType::QuizResult)] {
            let w = what(scope);
            let token = key.sign(&w);
            assert!(token.len() < 200, "{token}");
            assert!(
                token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
                "URL-safe: {token}"
            );
            assert_eq!(key.verify(&token), Ok(w));
        }
    }

    #[test]
    fn forged_altered_or_foreign_tokens_are_refused() {
        let key = UnsubscribeKey::new(b"0123456789abcdef0123456789abcdef");
        let other = UnsubscribeKey::new(b"another secret of thirty-two bytes!");
        let w = what(Scope::Type(NotificationType::QuizResult));
        let token = key.sign(&w);
        let (payload, tag) = token.split_once('.').unwrap_or_default();

        // Another member's payload under the original tag.
        let mut forged = w;
        forged.user = UserId(Uuid::now_v7());
        let forged_payload = key.sign(&forged);
        let (forged_payload, _) = forged_payload.split_once('.').unwrap_or_default();
        // The scope widened to every email.
        let mut bytes = URL_SAFE_NO_PAD.decode(payload).unwrap_or_default();
        bytes.truncate(32);
        bytes.extend_from_slice(b"ALL");
        let widened = URL_SAFE_NO_PAD.encode(&bytes);
        // One character of the tag changed.
        let mut flipped = tag.to_owned().into_bytes();
        flipped[5] = if flipped[5] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap_or_default();

        for bad in [
            format!("{forged_payload}.{tag}"),
            format!("{widened}.{tag}"),
            format!("{payload}.{flipped}"),
            format!("{payload}."),
            payload.to_owned(),
            String::new(),
            "not a token".to_owned(),
            format!("{payload}.{tag}x"),
            "a".repeat(MAX_TOKEN_LEN + 1),
            other.sign(&w),
        ] {
            assert_eq!(key.verify(&bad), Err(InvalidToken), "{bad}");
        }
    }
}
