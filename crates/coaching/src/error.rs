//! [`CoachingError`]: what coaching operations refuse, with stable codes.

use guild_db::DbError;
use guild_kernel::sealed::SealError;
use guild_kernel::{ErrorCode, FieldError};

/// A refused or failed coaching operation.
#[derive(Debug, thiserror::Error)]
pub enum CoachingError {
    /// No such thing the actor may see (other tenants' ids included); the code names it
    /// (`coachee_not_found`, `coaching_session_not_found`, `action_item_not_found`).
    #[error("not found ({0})")]
    NotFound(&'static str),
    /// Not allowed for the actor.
    #[error("not allowed")]
    Forbidden,
    /// Nobody coaches themselves.
    #[error("you cannot coach yourself")]
    CannotCoachSelf,
    /// `If-Match` named another revision.
    #[error("it changed since you read it (revision {current}, not {expected})")]
    StaleRevision {
        /// What the client sent.
        expected: i32,
        /// What it is at.
        current: i32,
    },
    /// The session is no longer SCHEDULED (or, for notes and scores, was cancelled).
    #[error("the session can no longer change this way")]
    SessionClosed,
    /// COMPLETED and NO_SHOW need the session to have started.
    #[error("the session has not started yet")]
    NotStarted,
    /// The item is DONE or CANCELLED.
    #[error("the action item is closed")]
    ItemClosed,
    /// A per-coachee daily limit (sessions, quick notes) or the open items' limit was reached;
    /// the code names it.
    #[error("limit reached ({0})")]
    LimitReached(&'static str),
    /// Enrolling the coachee in an item's module or path failed otherwise.
    #[error(transparent)]
    Learning(Box<guild_progress::paths::PathError>),
    /// Input that breaks a rule.
    #[error("the request has invalid fields")]
    Invalid(Vec<FieldError>),
    /// A sealed value does not open (a key missing from `GUILD_ENCRYPTION_KEYS`, or tampering).
    #[error("a sealed value does not open: {0}")]
    Seal(#[from] SealError),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl CoachingError {
    /// One invalid field.
    pub fn invalid(field: &str, code: &str, message: &str) -> Self {
        Self::Invalid(vec![FieldError::new(field, code, message)])
    }
}

impl From<diesel::result::Error> for CoachingError {
    fn from(err: diesel::result::Error) -> Self {
        Self::Db(DbError::from(err))
    }
}

impl From<guild_kernel::Denied> for CoachingError {
    fn from(_: guild_kernel::Denied) -> Self {
        Self::Forbidden
    }
}

impl ErrorCode for CoachingError {
    fn code(&self) -> &'static str {
        match self {
            Self::NotFound(code) | Self::LimitReached(code) => code,
            Self::Forbidden => "forbidden",
            Self::CannotCoachSelf => "cannot_coach_self",
            Self::StaleRevision { .. } => "precondition_failed",
            Self::SessionClosed => "coaching_session_closed",
            Self::NotStarted => "coaching_session_not_started",
            Self::ItemClosed => "action_item_closed",
            Self::Invalid(_) => "validation_failed",
            Self::Learning(e) => e.code(),
            Self::Seal(_) => "internal_error",
            Self::Db(e) => e.code(),
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::NotFound(_) => 404,
            Self::Forbidden | Self::CannotCoachSelf => 403,
            Self::StaleRevision { .. } => 412,
            Self::SessionClosed | Self::NotStarted | Self::ItemClosed | Self::LimitReached(_) => {
                409
            }
            Self::Invalid(_) => 422,
            Self::Learning(e) => e.status(),
            Self::Seal(_) => 500,
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
