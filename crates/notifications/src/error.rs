//! [`NotificationsError`]: what inbox and changelog operations refuse, with stable codes.

use guild_db::DbError;
use guild_kernel::{ErrorCode, FieldError};

/// A refused or failed inbox operation.
#[derive(Debug, thiserror::Error)]
pub enum NotificationsError {
    /// No such notification in the actor's own inbox.
    #[error("notification not found")]
    NotFound,
    /// No such changelog entry.
    #[error("changelog entry not found")]
    EntryNotFound,
    /// Only the platform owner writes the changelog.
    #[error("only the platform owner writes the changelog")]
    NotPlatformOwner,
    /// The actor has no membership to keep a read marker on (a platform owner acting in a tenant).
    #[error("only members of the tenant keep a read marker")]
    NotAMember,
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
            Self::EntryNotFound => "changelog_entry_not_found",
            Self::NotPlatformOwner => "forbidden",
            Self::NotAMember => "not_a_member",
            Self::Invalid(_) => "validation_failed",
            Self::Db(e) => e.code(),
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::NotFound | Self::EntryNotFound => 404,
            Self::NotPlatformOwner | Self::NotAMember => 403,
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
