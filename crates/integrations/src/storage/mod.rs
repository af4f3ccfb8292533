//! Blob storage: the two [`BlobStore`](guild_kernel::ports::BlobStore)s Guild ships.
//!
//! - [`LocalBlobStore`] keeps blobs as files under a directory: the default, needing no setup. It
//!   signs download and upload URLs itself (HMAC-SHA256) and offers
//!   [`LocalBlobStore::verify_signature`], [`LocalBlobStore::verify_put_signature`] and
//!   [`LocalBlobStore::put_stream`], so the API can serve those URLs.
//! - [`S3BlobStore`] talks to any S3-compatible service (AWS S3, MinIO, Cloudflare R2, ...)
//!   through aws-sdk-s3, and hands out presigned GET and PUT URLs.
//!
//! Both check every key with [`validate_blob_key`](guild_kernel::ports::validate_blob_key) before touching storage, sort failures into
//! [`BlobError::NotFound`], [`BlobError::Rejected`] and [`BlobError::Unavailable`], and never put
//! a secret (signing key, S3 secret) into an error message or `Debug` output.
//!
//! One file per adapter (`local.rs`, `s3.rs`); this module keeps what both share: content type,
//! lifetime and base URL checks, and the clock signed URLs are dated by.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use guild_kernel::ports::{BlobError, MAX_SIGNED_URL_TTL};

mod local;
mod s3;

pub use local::{LocalBlobStore, MIN_SIGNING_KEY_LEN, READ_CHUNK};
pub use s3::{S3BlobStore, S3Config};

/// The content type reported for a blob stored without one (an S3 object uploaded by another
/// tool, a local blob whose type file went missing).
const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// The longest content type accepted, in bytes.
const MAX_CONTENT_TYPE_LEN: usize = 255;

fn rejected(message: impl Into<String>) -> BlobError {
    BlobError::Rejected(message.into())
}

/// Content types end up in HTTP headers and in a file: printable ASCII only, bounded.
fn validate_content_type(content_type: &str) -> Result<(), BlobError> {
    if content_type.is_empty() {
        return Err(rejected("invalid content type: empty"));
    }
    if content_type.len() > MAX_CONTENT_TYPE_LEN {
        return Err(rejected("invalid content type: longer than 255 bytes"));
    }
    if !content_type.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        return Err(rejected(
            "invalid content type: only printable ASCII is allowed",
        ));
    }
    Ok(())
}

fn validate_ttl(expires_in: Duration) -> Result<(), BlobError> {
    if expires_in < Duration::from_secs(1) {
        return Err(rejected("a signed URL must live at least one second"));
    }
    if expires_in > MAX_SIGNED_URL_TTL {
        return Err(rejected("a signed URL may live at most 7 days"));
    }
    Ok(())
}

/// A signed URL's lifetime in whole seconds, rounded up so the URL lives at least `expires_in`.
fn whole_seconds(expires_in: Duration) -> u64 {
    expires_in.as_secs() + u64::from(expires_in.subsec_nanos() > 0)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `http://` or `https://` followed by a host, without credentials, query or fragment.
fn check_base_url(url: &str) -> Result<(), String> {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return Err("must start with http:// or https://".to_owned());
    };
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        return Err("has no host".to_owned());
    }
    if authority.contains('@') {
        return Err("must not contain credentials".to_owned());
    }
    if rest.contains(['?', '#']) || rest.contains(char::is_whitespace) {
        return Err("must not contain a query, a fragment or spaces".to_owned());
    }
    Ok(())
}
