//! The traits behind which optional external services sit (mail, rate limits, blob storage,
//! pub/sub, presence, AI models: [`ai`], OpenID providers: [`oidc`]). Implementations live in `guild-integrations` (SMTP, Redis, S3) with
//! in-process defaults, so domain crates and tests never depend on a client library.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

pub mod ai;
pub mod oidc;

pub use ai::{AiCapability, AiError, AiModel};
pub use oidc::{ClientCredentials, OpenIdClient, ProviderMetadata};

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An email to one recipient.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Email {
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// An optional HTML body.
    pub html: Option<String>,
    /// Extra header fields (`List-Unsubscribe`, …), name and value. Names are ASCII letters,
    /// digits and `-`; values one line of printable ASCII. A mailer refuses an email whose headers
    /// break that ([`MailError::Rejected`]), so no value can inject another header.
    pub headers: Vec<(String, String)>,
    /// Files sent with the email (a calendar invitation, …), after the body.
    pub attachments: Vec<Attachment>,
}

/// A file attached to an [`Email`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The file name the recipient sees (`event.ics`): letters, digits, `.`, `-` and `_`.
    pub filename: String,
    /// Its media type with parameters (`text/calendar; method=REQUEST; charset=UTF-8`).
    pub content_type: String,
    /// Its bytes.
    pub content: Vec<u8>,
}

impl Email {
    /// Checks [`headers`](Self::headers): a name of ASCII letters, digits and `-` (at most 76
    /// characters), a value of printable ASCII without line breaks (at most 900 characters).
    pub fn check_headers(&self) -> Result<(), MailError> {
        for (name, value) in &self.headers {
            let name_ok = !name.is_empty()
                && name.len() <= 76
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if !name_ok {
                return Err(MailError::Rejected(format!("invalid header name {name:?}")));
            }
            let value_ok = value.len() <= 900 && value.bytes().all(|b| (b' '..=b'~').contains(&b));
            if !value_ok {
                return Err(MailError::Rejected(format!(
                    "invalid value of header {name}"
                )));
            }
        }
        for attachment in &self.attachments {
            let name_ok = !attachment.filename.is_empty()
                && attachment.filename.len() <= 100
                && attachment
                    .filename
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !name_ok {
                return Err(MailError::Rejected(format!(
                    "invalid attachment name {:?}",
                    attachment.filename
                )));
            }
        }
        Ok(())
    }
}

/// Sending an email failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// The address or message is unusable: retrying will not help.
    #[error("rejected: {0}")]
    Rejected(String),
    /// The mail server could not be reached or failed: retry later.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

/// Sends email.
pub trait Mailer: Send + Sync + std::fmt::Debug {
    /// Sends one email.
    fn send<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<(), MailError>>;
}

/// A limit: at most `limit` hits per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateRule {
    /// Hits allowed per window.
    pub limit: u32,
    /// The window.
    pub window: Duration,
}

/// The outcome of one hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    /// Whether this hit is allowed.
    pub allowed: bool,
    /// The rule's limit.
    pub limit: u32,
    /// Hits left in the current window.
    pub remaining: u32,
    /// When the window resets (and, when refused, when to retry).
    pub reset_after: Duration,
}

/// The rate limiter could not decide; callers refuse the request (fail closed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rate limiter unavailable: {0}")]
pub struct RateLimitUnavailable(pub String);

/// Counts hits per key in fixed windows.
pub trait RateLimiter: Send + Sync + std::fmt::Debug {
    /// Records a hit on `key` and says whether it is within `rule`.
    fn hit<'a>(
        &'a self,
        key: &'a str,
        rule: RateRule,
    ) -> BoxFuture<'a, Result<RateDecision, RateLimitUnavailable>>;

    /// Says whether a hit on `key` would be within `rule`, without counting one: for limits
    /// that count failures only (`allowed` is false once the window holds `rule.limit` hits).
    fn peek<'a>(
        &'a self,
        key: &'a str,
        rule: RateRule,
    ) -> BoxFuture<'a, Result<RateDecision, RateLimitUnavailable>>;

    /// Counts a hit at once when the counters live in this process (no future, no await);
    /// `None` when the limiter must ask a server, and the caller uses [`hit`](Self::hit).
    fn hit_local(&self, key: &str, rule: RateRule) -> Option<RateDecision> {
        let _ = (key, rule);
        None
    }
}

/// What a [`BlobStore`] knows about a stored blob without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobMeta {
    /// The blob's key.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// The content type given when it was stored.
    pub content_type: String,
}

/// An upload a client performs itself, straight to storage: send the bytes with `method` to
/// `url`, with `headers`, before `expires_at` (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedUpload {
    /// Where to send the bytes.
    pub url: String,
    /// The HTTP method (`PUT`).
    pub method: &'static str,
    /// Headers the request must carry (the content type the URL was signed for).
    pub headers: Vec<(String, String)>,
    /// When the URL stops working, in Unix seconds.
    pub expires_at: u64,
}

/// A [`BlobStore`] call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlobError {
    /// No blob has that key.
    #[error("blob not found")]
    NotFound,
    /// The request is unusable (a malformed key, say): retrying will not help.
    #[error("rejected: {0}")]
    Rejected(String),
    /// The storage backend could not be reached or failed: retry later.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

/// The longest key a [`BlobStore`] accepts, in bytes.
pub const MAX_BLOB_KEY_LEN: usize = 512;

/// The longest `/`-separated segment of a blob key, in bytes: file systems cap a file name at 255
/// bytes, and the local store adds a suffix to each.
pub const MAX_BLOB_KEY_SEGMENT_LEN: usize = 200;

/// The longest lifetime a [`BlobStore::signed_get_url`] accepts: 7 days, as on S3.
pub const MAX_SIGNED_URL_TTL: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Checks a blob key, as every [`BlobStore`] does before touching storage.
///
/// Keys look like `tenants/<uuid>/assets/<uuid>`: non-empty, at most [`MAX_BLOB_KEY_LEN`] bytes,
/// only `[A-Za-z0-9/._-]`, no leading `/`, no empty, `.` or `..` segment (so no `//` and no
/// trailing `/`), and no segment longer than [`MAX_BLOB_KEY_SEGMENT_LEN`]. That keeps keys safe
/// as relative file paths and as URL paths, and portable between stores.
pub fn validate_blob_key(key: &str) -> Result<(), BlobError> {
    let reject = |why: &str| Err(BlobError::Rejected(format!("invalid blob key: {why}")));
    if key.is_empty() {
        return reject("empty");
    }
    if key.len() > MAX_BLOB_KEY_LEN {
        return reject("longer than 512 bytes");
    }
    if !key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'_' | b'-'))
    {
        return reject("only A-Z, a-z, 0-9, '/', '.', '_' and '-' are allowed");
    }
    if key.starts_with('/') {
        return reject("starts with '/'");
    }
    if key.split('/').any(|s| matches!(s, "" | "." | "..")) {
        return reject("has an empty, '.' or '..' segment");
    }
    if key.split('/').any(|s| s.len() > MAX_BLOB_KEY_SEGMENT_LEN) {
        return reject("has a segment longer than 200 bytes");
    }
    Ok(())
}

/// Stores opaque blobs (uploaded media, exports) by key.
///
/// Every method checks its key with [`validate_blob_key`] and answers [`BlobError::Rejected`]
/// for a bad one without touching storage. Content types must be printable ASCII, at most 255
/// bytes; signed URLs live at least one second and at most [`MAX_SIGNED_URL_TTL`]. Failures of
/// the backend are [`BlobError::Unavailable`]; their messages never carry credentials.
pub trait BlobStore: Send + Sync + std::fmt::Debug {
    /// Stores `bytes` under `key` with its content type, replacing any blob already there.
    fn put<'a>(
        &'a self,
        key: &'a str,
        bytes: Vec<u8>,
        content_type: &'a str,
    ) -> BoxFuture<'a, Result<(), BlobError>>;

    /// Reads a whole blob; [`BlobError::NotFound`] when there is none.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Vec<u8>, BlobError>>;

    /// Describes a blob without reading it; [`BlobError::NotFound`] when there is none.
    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<BlobMeta, BlobError>>;

    /// Deletes a blob. Deleting a missing key is `Ok` (idempotent).
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), BlobError>>;

    /// A URL that lets its holder GET the blob until `expires_in` passes.
    fn signed_get_url<'a>(
        &'a self,
        key: &'a str,
        expires_in: Duration,
    ) -> BoxFuture<'a, Result<String, BlobError>>;

    /// A signed upload that lets its holder store the blob `key` with `content_type` until
    /// `expires_in` passes. `max_size` is the declared size: stores enforce it at upload time
    /// (S3 signs it as the exact `Content-Length`; the local store refuses a longer body); the
    /// caller checks the stored size with [`head`](Self::head) afterwards in any case.
    fn signed_put_url<'a>(
        &'a self,
        key: &'a str,
        content_type: &'a str,
        max_size: u64,
        expires_in: Duration,
    ) -> BoxFuture<'a, Result<SignedUpload, BlobError>> {
        let _ = (key, content_type, max_size, expires_in);
        Box::pin(async {
            Err(BlobError::Rejected(
                "this store does not support direct uploads".to_owned(),
            ))
        })
    }

    /// Seals a direct upload: moves the blob at `from` (the key a signed upload wrote to) to
    /// `to`, content type included, so the signed upload URL, which names `from`, can no longer
    /// change what is read at `to`. [`BlobError::NotFound`] when nothing is at `from`. Stores
    /// that can refuse further uploads to `from` do (the local store); on S3 a later PUT to
    /// `from` lands beside the sealed blob, never on it.
    ///
    /// The default reads the blob, stores it at `to` and deletes `from`.
    fn seal<'a>(&'a self, from: &'a str, to: &'a str) -> BoxFuture<'a, Result<(), BlobError>> {
        Box::pin(async move {
            let meta = self.head(from).await?;
            let bytes = self.get(from).await?;
            self.put(to, bytes, &meta.content_type).await?;
            self.delete(from).await
        })
    }

    /// Reads at most the first `len` bytes of a blob (all of it when shorter), without reading
    /// the rest; [`BlobError::NotFound`] when there is none.
    fn read_prefix<'a>(
        &'a self,
        key: &'a str,
        len: usize,
    ) -> BoxFuture<'a, Result<Vec<u8>, BlobError>> {
        Box::pin(async move {
            let mut bytes = self.get(key).await?;
            bytes.truncate(len);
            Ok(bytes)
        })
    }
}

/// What a [`Subscription`] receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// A message published on the channel.
    Message(String),
    /// Messages were dropped because this subscriber fell behind: whoever relies on every
    /// message reads what it missed from where it is stored.
    Lagged,
}

/// The messages of one subscribed channel, from the moment of subscribing.
pub trait Subscription: Send + std::fmt::Debug {
    /// The next delivery; `None` once the bus is closed.
    fn next(&mut self) -> BoxFuture<'_, Option<Delivery>>;
}

/// Publishing failed (the shared bus is unreachable).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pub/sub unavailable: {0}")]
pub struct PubSubError(pub String);

/// Publish/subscribe between the processes of one deployment, for real-time pushes: a write
/// commits to PostgreSQL first, then is published; a subscriber that misses a message reads it
/// back from PostgreSQL. Delivery is best effort and at most once.
pub trait PubSub: Send + Sync + std::fmt::Debug {
    /// Publishes `message` to every current subscriber of `channel`.
    fn publish<'a>(
        &'a self,
        channel: &'a str,
        message: &'a str,
    ) -> BoxFuture<'a, Result<(), PubSubError>>;

    /// Subscribes to `channel`; the subscription ends when it is dropped.
    fn subscribe(&self, channel: &str) -> Box<dyn Subscription>;
}

/// A member seen online, as [`Presence::online`] lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Online {
    /// The member.
    pub user: crate::UserId,
    /// Since when they have been online without a gap longer than the presence TTL.
    pub since: chrono::DateTime<chrono::Utc>,
}

/// Who is online, per tenant, and each member's open event streams.
///
/// A member is online for the adapter's TTL (90 s by default) after they were last seen:
/// [`touch`](Self::touch) (a heartbeat), or [`open_stream`](Self::open_stream) and
/// [`refresh_stream`](Self::refresh_stream) while a stream is open. Time comes in as `now` from
/// the caller's clock, so whether someone is still online is decided by the app's clock, not the
/// store's. A stream holds one of the member's at most `cap` slots until it is closed or its TTL
/// passes without a refresh (an instance that died releases nothing, and its slots lapse).
///
/// No method fails: an adapter whose shared store is unreachable answers from its own process
/// meanwhile (what other instances saw is then missing from its answers).
pub trait Presence: Send + Sync + std::fmt::Debug {
    /// Marks the member seen at `now`.
    fn touch<'a>(
        &'a self,
        tenant: crate::TenantId,
        user: crate::UserId,
        now: chrono::DateTime<chrono::Utc>,
    ) -> BoxFuture<'a, ()>;

    /// The tenant's members seen within the TTL before `now`, in no particular order.
    fn online<'a>(
        &'a self,
        tenant: crate::TenantId,
        now: chrono::DateTime<chrono::Utc>,
    ) -> BoxFuture<'a, Vec<Online>>;

    /// Claims a slot for `stream` among the member's at most `cap` open streams and marks the
    /// member seen; `false`, claiming nothing, when every slot is held.
    fn open_stream<'a>(
        &'a self,
        tenant: crate::TenantId,
        user: crate::UserId,
        stream: uuid::Uuid,
        cap: u32,
        now: chrono::DateTime<chrono::Utc>,
    ) -> BoxFuture<'a, bool>;

    /// Keeps an open stream's slot for another TTL and marks its member seen.
    fn refresh_stream<'a>(
        &'a self,
        tenant: crate::TenantId,
        user: crate::UserId,
        stream: uuid::Uuid,
        now: chrono::DateTime<chrono::Utc>,
    ) -> BoxFuture<'a, ()>;

    /// Releases a stream's slot (the member stays online until the TTL passes).
    fn close_stream<'a>(
        &'a self,
        tenant: crate::TenantId,
        user: crate::UserId,
        stream: uuid::Uuid,
    ) -> BoxFuture<'a, ()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_header(name: &str, value: &str) -> Email {
        Email {
            to: "a@example.com".into(),
            subject: "s".into(),
            text: "t".into(),
            html: None,
            headers: vec![(name.into(), value.into())],
            attachments: Vec::new(),
        }
    }

    #[test]
    fn attachment_names_cannot_break_out_of_their_header() {
        let mut email = with_header("X-Ok", "v");
        email.attachments.push(Attachment {
            filename: "event-2.ics".into(),
            content_type: "text/calendar".into(),
            content: b"BEGIN:VCALENDAR".to_vec(),
        });
        assert!(email.check_headers().is_ok());
        for bad in [
            "",
            "../x.ics",
            "a b.ics",
            "x.ics\r\nBcc: v@example.com",
            "x\".ics",
        ] {
            email.attachments[0].filename = bad.into();
            assert!(
                matches!(email.check_headers(), Err(MailError::Rejected(_))),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn headers_cannot_inject_another_header() {
        assert!(
            with_header("List-Unsubscribe", "<https://example.com/u?t=1>")
                .check_headers()
                .is_ok()
        );
        for (name, value) in [
            ("List-Unsubscribe", "<https://x>\r\nBcc: victim@example.com"),
            ("List-Unsubscribe", "<https://x>\nBcc: v@example.com"),
            ("Bad Name", "v"),
            ("Bad:Name", "v"),
            ("", "v"),
            ("X-Name", "caf\u{e9}"),
        ] {
            assert!(
                matches!(
                    with_header(name, value).check_headers(),
                    Err(MailError::Rejected(_))
                ),
                "{name:?}: {value:?}"
            );
        }
    }
}

/// What a web page says about itself, for a link preview: its `og:`/`twitter:` meta tags, or its
/// `<title>` and `description` meta tag when it has no Open Graph tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkPreview {
    /// The page's title (at most 300 characters, whitespace collapsed).
    pub title: Option<String>,
    /// The page's description (at most 1,000 characters, whitespace collapsed).
    pub description: Option<String>,
    /// The page's image, downloaded through the same guard (a preview never hot-links it). `None`
    /// when the page names none, or it could not be fetched, is not an image, or is too large.
    pub image: Option<FetchedImage>,
}

/// An image downloaded for a [`LinkPreview`].
#[derive(Clone, PartialEq, Eq)]
pub struct FetchedImage {
    /// The content type the image's bytes were sniffed as (`image/png`, `image/jpeg`, …).
    pub content_type: String,
    /// The image.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for FetchedImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FetchedImage")
            .field("content_type", &self.content_type)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// Fetching a URL on a member's behalf failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The guard refused the destination (a scheme other than `https`, a loopback, private,
    /// link-local or metadata address, a redirect to one, too many redirects): never retried.
    #[error("refused: {0}")]
    Refused(String),
    /// The answer was not usable (an error status, not HTML, larger than the limit).
    #[error("unusable: {0}")]
    Unusable(String),
    /// The host could not be reached or did not answer in time: a later retry may succeed.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

/// Fetches link previews through a guard against server-side request forgery: every connection
/// (redirects included) goes only to a public address, checked on the address actually
/// connected to, within time and size limits.
pub trait LinkPreviewer: Send + Sync + std::fmt::Debug {
    /// The preview of `url` (an absolute `https` URL).
    fn preview<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<LinkPreview, FetchError>>;
}

/// What a webhook endpoint answered: its status and the start of its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookResponse {
    /// The HTTP status.
    pub status: u16,
    /// At most the first kilobyte of the body (lossy UTF-8).
    pub excerpt: String,
}

/// Posts signed webhook messages through the same guard against server-side request forgery as
/// [`LinkPreviewer`]: `https` only, every resolved address public (the address connected to),
/// no redirects followed (a redirect is an answer like any other), within a time limit and a
/// cap on the body read.
pub trait WebhookSender: Send + Sync + std::fmt::Debug {
    /// Whether `url` may be an endpoint, without connecting: `https` on its default port, no
    /// credentials, an IP literal only if public. (Names are checked when they resolve.)
    fn check_url(&self, url: &str) -> Result<(), FetchError>;

    /// POSTs `body` (JSON) to `url` with `headers`; any answer is `Ok`, whatever its status.
    fn post<'a>(
        &'a self,
        url: &'a str,
        headers: &'a [(String, String)],
        body: &'a [u8],
    ) -> BoxFuture<'a, Result<WebhookResponse, FetchError>>;
}
