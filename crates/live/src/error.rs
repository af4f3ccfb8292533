//! [`LiveError`]: what live event operations refuse, with stable codes.

use guild_db::DbError;
use guild_kernel::{ErrorCode, FieldError};

/// A refused or failed operation on live events.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// No such thing the actor may see (other tenants' ids included); the code names it
    /// (`event_not_found`, `registration_not_found`).
    #[error("not found ({0})")]
    NotFound(&'static str),
    /// Not allowed for the actor.
    #[error("not allowed")]
    Forbidden,
    /// `If-Match` named another revision than the event's.
    #[error("the event changed since you read it (revision {current}, not {expected})")]
    StaleRevision {
        /// What the client sent.
        expected: i32,
        /// What the event is at.
        current: i32,
    },
    /// The event is CANCELLED or COMPLETED: it changes no more.
    #[error("the event is no longer scheduled")]
    NotScheduled,
    /// Registration (or unregistration) is closed: the event started.
    #[error("registration is closed: the event has started")]
    RegistrationClosed,
    /// The event has not started yet (it cannot be completed, nor attendance confirmed).
    #[error("the event has not started yet")]
    NotStarted,
    /// A new capacity below the members already registered.
    #[error("the capacity is below the members already registered")]
    CapacityBelowRegistered,
    /// The creator has as many upcoming events as they may.
    #[error("you have as many upcoming events as you may")]
    EventLimitReached,
    /// The member holds as many upcoming registrations as they may.
    #[error("you are registered for as many upcoming events as you may")]
    RegistrationLimitReached,
    /// Not an attendance link this server signed, or altered.
    #[error("the attendance link is not valid")]
    InvalidLink,
    /// The attendance link expired.
    #[error("the attendance link expired")]
    LinkExpired,
    /// The attendance link was used already.
    #[error("the attendance link was used already")]
    LinkUsed,
    /// The event holds as many materials as it may.
    #[error("the event has as many materials as it may")]
    MaterialLimitReached,
    /// Nobody confirms their own attendance for others: another host or an admin does.
    #[error("another host or an admin confirms your attendance")]
    CannotConfirmOwnAttendance,
    /// A rule of learning (a module's visibility) refused.
    #[error(transparent)]
    Learning(#[from] guild_learning::LearningError),
    /// Input that breaks a rule.
    #[error("the request has invalid fields")]
    Invalid(Vec<FieldError>),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl LiveError {
    /// One invalid field.
    pub fn invalid(field: &str, code: &str, message: &str) -> Self {
        Self::Invalid(vec![FieldError::new(field, code, message)])
    }
}

impl From<diesel::result::Error> for LiveError {
    fn from(err: diesel::result::Error) -> Self {
        Self::Db(DbError::from(err))
    }
}

impl ErrorCode for LiveError {
    fn code(&self) -> &'static str {
        match self {
            Self::NotFound(code) => code,
            Self::Forbidden => "forbidden",
            Self::StaleRevision { .. } => "precondition_failed",
            Self::NotScheduled => "event_not_scheduled",
            Self::RegistrationClosed => "registration_closed",
            Self::NotStarted => "event_not_started",
            Self::CapacityBelowRegistered => "capacity_below_registered",
            Self::EventLimitReached => "event_limit_reached",
            Self::RegistrationLimitReached => "registration_limit_reached",
            Self::MaterialLimitReached => "material_limit_reached",
            Self::InvalidLink => "invalid_token",
            Self::LinkExpired => "attendance_link_expired",
            Self::LinkUsed => "attendance_link_used",
            Self::CannotConfirmOwnAttendance => "cannot_confirm_own_attendance",
            Self::Learning(e) => e.code(),
            Self::Invalid(_) => "validation_failed",
            Self::Db(e) => e.code(),
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::NotFound(_) => 404,
            Self::Forbidden | Self::CannotConfirmOwnAttendance => 403,
            Self::InvalidLink => 401,
            Self::LinkExpired => 410,
            Self::LinkUsed => 409,
            Self::StaleRevision { .. } => 412,
            Self::NotScheduled
            | Self::RegistrationClosed
            | Self::NotStarted
            | Self::CapacityBelowRegistered
            | Self::EventLimitReached
            | Self::RegistrationLimitReached
            | Self::MaterialLimitReached => 409,
            Self::Learning(e) => e.status(),
            Self::Invalid(_) => 422,
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
