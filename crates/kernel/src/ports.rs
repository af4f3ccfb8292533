//! The traits behind which optional external services sit. Implementations live in
//! `guild-integrations` (SMTP, Redis) with in-process defaults, so domain crates and tests never
//! depend on a client library.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An email to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// An optional HTML body.
    pub html: Option<String>,
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
}
