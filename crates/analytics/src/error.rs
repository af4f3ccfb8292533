//! [`AnalyticsError`]: what the read-side views refuse, with stable codes.

use guild_db::DbError;
use guild_kernel::{Denied, ErrorCode, FieldError};

/// A refused or failed read.
#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    /// No such thing the actor may see (other tenants' ids and members outside the actor's scope
    /// included); the code names it (`member_not_found`, `group_not_found`).
    #[error("not found ({0})")]
    NotFound(&'static str),
    /// The actor lacks the permission.
    #[error(transparent)]
    Forbidden(#[from] Denied),
    /// Input that breaks a rule.
    #[error("the request has invalid fields")]
    Invalid(Vec<FieldError>),
    /// A rule of learning or progress refused.
    #[error(transparent)]
    Learning(#[from] guild_learning::LearningError),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl AnalyticsError {
    /// One invalid field.
    pub fn invalid(field: &str, code: &str, message: &str) -> Self {
        Self::Invalid(vec![FieldError::new(field, code, message)])
    }
}

impl From<diesel::result::Error> for AnalyticsError {
    fn from(err: diesel::result::Error) -> Self {
        Self::Db(DbError::from(err))
    }
}

impl ErrorCode for AnalyticsError {
    fn code(&self) -> &'static str {
        match self {
            Self::NotFound(code) => code,
            Self::Forbidden(e) => e.code(),
            Self::Invalid(_) => "validation_failed",
            Self::Learning(e) => e.code(),
            Self::Db(e) => e.code(),
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::NotFound(_) => 404,
            Self::Forbidden(_) => 403,
            Self::Invalid(_) => 422,
            Self::Learning(e) => e.status(),
            Self::Db(e) => e.status(),
        }
    }

    fn field_errors(&self) -> Vec<FieldError> {
        match self {
            Self::Invalid(errors) => errors.clone(),
            Self::Learning(e) => e.field_errors(),
            _ => Vec::new(),
        }
    }
}
