//! [`WebhookError`]: what webhook operations refuse, with stable codes.

use guild_db::DbError;
use guild_kernel::sealed::SealError;
use guild_kernel::{ErrorCode, FieldError};

/// A refused or failed operation.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// No such endpoint (or delivery) in the actor's tenant; the code names which.
    #[error("not found ({0})")]
    NotFound(&'static str),
    /// The actor lacks MANAGE_WEBHOOKS.
    #[error(transparent)]
    Denied(#[from] guild_kernel::Denied),
    /// The tenant has as many endpoints as it may.
    #[error("the tenant has as many webhook endpoints as it may")]
    EndpointLimit,
    /// The endpoint changed since the revision the request named.
    #[error("the endpoint changed (now revision {current})")]
    StaleRevision {
        /// The revision it is at.
        current: i32,
    },
    /// The endpoint is disabled: it takes no test ping and no replay until it is enabled.
    #[error("the endpoint is disabled")]
    EndpointDisabled,
    /// Input that breaks a rule.
    #[error("the request has invalid fields")]
    Invalid(Vec<FieldError>),
    /// A stored secret did not open (a missing or changed encryption key).
    #[error("a stored secret could not be opened: {0}")]
    Sealed(#[from] SealError),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl WebhookError {
    /// One invalid field.
    pub fn invalid(field: &str, code: &str, message: &str) -> Self {
        Self::Invalid(vec![FieldError::new(field, code, message)])
    }
}

impl From<diesel::result::Error> for WebhookError {
    fn from(err: diesel::result::Error) -> Self {
        Self::Db(DbError::from(err))
    }
}

impl ErrorCode for WebhookError {
    fn code(&self) -> &'static str {
        match self {
            Self::NotFound(code) => code,
            Self::Denied(e) => e.code(),
            Self::EndpointLimit => "webhook_endpoint_limit_reached",
            Self::StaleRevision { .. } => "precondition_failed",
            Self::EndpointDisabled => "webhook_endpoint_disabled",
            Self::Invalid(_) => "validation_failed",
            Self::Sealed(_) => "internal_error",
            Self::Db(e) => e.code(),
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::NotFound(_) => 404,
            Self::Denied(e) => e.status(),
            Self::EndpointLimit | Self::EndpointDisabled => 409,
            Self::StaleRevision { .. } => 412,
            Self::Invalid(_) => 422,
            Self::Sealed(_) => 500,
            Self::Db(e) => e.status(),
        }
    }

    fn field_errors(&self) -> Vec<FieldError> {
        match self {
            Self::Invalid(errors) => errors.clone(),
            _ => Vec::new(),
        }
    }
}
