//! Adapters to the services Guild can use but does not require.
//!
//! Each adapter is optional: without its configuration Guild runs on an in-process default. The
//! heavy client libraries live only in this crate, so domain crates compile and test without them.
//! Today: Redis (readiness, and the health that lets its adapters fall back to in-process state
//! while it does not answer), email (SMTP and the development recorder), rate limiters, pub/sub and
//! presence (Redis and in-memory) and blob storage (local directory and
//! S3-compatible), AI models (`ai`: any OpenAI-compatible API), and OpenID providers for single sign-on (`oidc`,
//! through the SSRF guard of `fetch`).
//!
//! One file per adapter (`storage/local.rs`, `storage/s3.rs`, …); what the adapters of one port
//! share stays in the port's `mod.rs`, which re-exports them.

pub mod ai;
pub mod fetch;
pub mod mail;
pub mod oidc;
pub mod presence;
pub mod pubsub;
pub mod ratelimit;
pub mod redis;
pub mod storage;

/// A failed call to an external service.
#[derive(Debug, thiserror::Error)]
pub enum IntegrationError {
    /// The adapter's configuration is unusable (bad URL, missing setting).
    #[error("{service} is misconfigured: {message}")]
    Misconfigured {
        /// Which service.
        service: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The service did not answer, or answered with an error.
    #[error("{service} is unavailable: {message}")]
    Unavailable {
        /// Which service.
        service: &'static str,
        /// What happened.
        message: String,
    },
}

impl guild_kernel::ErrorCode for IntegrationError {
    fn code(&self) -> &'static str {
        match self {
            Self::Misconfigured { .. } => "integration_misconfigured",
            Self::Unavailable { .. } => "dependency_unavailable",
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::Misconfigured { .. } => 500,
            Self::Unavailable { .. } => 503,
        }
    }
}
