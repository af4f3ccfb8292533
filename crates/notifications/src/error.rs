//! [`NotificationsError`]: what inbox, stream, presence and session operations refuse, with
//! stable codes.

use guild_db::DbError;
use guild_kernel::{ErrorCode, FieldError};

/// A refused or failed inbox operation.
#[derive(Debug, thiserror::Error)]
pub enum NotificationsError {
    /// No such notification in the actor's own inbox.
    #[error("notification not found")]
    NotFound,
    /// Only a member of the tenant may do this (not the platform owner acting in it).
    #[error("not a member of this tenant")]
    NotAMember,
    /// Not allowed for the actor's role.
    #[error("not allowed")]
    Forbidden,
    /// The tenant turned presence off.
    #[error("presence is turned off in this organization")]
    PresenceDisabled,
    /// Input that breaks a rule.
    #[error("the request has invalid fields")]
    Invalid(Vec<FieldError>),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl NotificationsError {
    /// One invalid field.
    pub fn invalid(field: &str, code: &str, message: &str) -> Self {
        Self::Invalid(vec![FieldError::new(field, code, message)])
    }
}

impl From<diesel::result::Error> for NotificationsError {
    fn from(err: diesel::result::Error) -> Self {
        Self::Db(DbError::from(err))
    }
}

impl ErrorCode for NotificationsError {
    fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "notification_not_found",
            Self::NotAMember => "not_a_member",
            Self::Forbidden => "forbidden",
            Self::PresenceDisabled => "presence_disabled",
            Self::Invalid(_) => "validation_failed",
            Self::Db(e) => e.code(),
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::NotFound => 404,
            Self::NotAMember | Self::Forbidden | Self::PresenceDisabled => 403,
            Self::Invalid(_) => 422,
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
