//! [`LearningError`]: what content operations refuse, with stable codes.

use guild_db::DbError;
use guild_kernel::{Denied, ErrorCode, FieldError};

/// A refused or failed content operation.
#[derive(Debug, thiserror::Error)]
pub enum LearningError {
    /// No such module visible to the actor (other tenants' and hidden ones included).
    #[error("module not found")]
    ModuleNotFound,
    /// No such section in the module.
    #[error("section not found")]
    SectionNotFound,
    /// No such category.
    #[error("category not found")]
    CategoryNotFound,
    /// No such group.
    #[error("group not found")]
    GroupNotFound,
    /// The mentor is not a member of the tenant.
    #[error("the mentor is not a member of this tenant")]
    MentorNotFound,
    /// The actor lacks a permission.
    #[error(transparent)]
    Forbidden(#[from] Denied),
    /// `If-Match` names another revision.
    #[error(
        "the resource changed since you read it (expected revision {expected}, current {current})"
    )]
    StaleRevision {
        /// What the client had.
        expected: i32,
        /// What is stored.
        current: i32,
    },
    /// Publishing a module without sections.
    #[error("a module needs at least one section to be published")]
    EmptyModule,
    /// The status change is not allowed (e.g. an archived module edited).
    #[error("{0}")]
    InvalidTransition(&'static str),
    /// The prerequisites would form a cycle.
    #[error("these prerequisites would form a cycle")]
    PrerequisiteCycle,
    /// A reorder that does not list exactly the module's sections.
    #[error("the order must list every section of the module exactly once")]
    BadOrder,
    /// A category with that name exists.
    #[error("a category with this name exists")]
    CategoryNameTaken,
    /// A new version of a module that did not change since its latest version.
    #[error("nothing changed since the latest version")]
    NoChanges,
    /// Input that breaks a rule.
    #[error("the request has invalid fields")]
    Invalid(Vec<FieldError>),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl LearningError {
    /// One invalid field.
    pub fn invalid(field: &str, code: &str, message: &str) -> Self {
        Self::Invalid(vec![FieldError::new(field, code, message)])
    }
}

impl From<diesel::result::Error> for LearningError {
    fn from(err: diesel::result::Error) -> Self {
        Self::Db(DbError::from(err))
    }
}

impl ErrorCode for LearningError {
    fn code(&self) -> &'static str {
        match self {
            Self::ModuleNotFound => "module_not_found",
            Self::SectionNotFound => "section_not_found",
            Self::CategoryNotFound => "category_not_found",
            Self::GroupNotFound => "group_not_found",
            Self::MentorNotFound => "member_not_found",
            Self::Forbidden(e) => e.code(),
            Self::StaleRevision { .. } => "precondition_failed",
            Self::EmptyModule => "module_empty",
            Self::InvalidTransition(_) => "invalid_status_transition",
            Self::PrerequisiteCycle => "prerequisite_cycle",
            Self::BadOrder => "invalid_order",
            Self::CategoryNameTaken => "category_name_taken",
            Self::NoChanges => "no_changes",
            Self::Invalid(_) => "validation_failed",
            Self::Db(e) => e.code(),
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::ModuleNotFound
            | Self::SectionNotFound
            | Self::CategoryNotFound
            | Self::GroupNotFound
            | Self::MentorNotFound => 404,
            Self::Forbidden(_) => 403,
            Self::StaleRevision { .. } => 412,
            Self::CategoryNameTaken | Self::InvalidTransition(_) | Self::NoChanges => 409,
            Self::EmptyModule | Self::PrerequisiteCycle | Self::BadOrder | Self::Invalid(_) => 422,
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

/// Maps a foreign-key violation to `err` (a referenced row is missing), passing every other error
/// through.
pub(crate) fn on_missing_reference(
    err: LearningError,
) -> impl FnOnce(diesel::result::Error) -> LearningError {
    move |e| match DbError::from(e) {
        DbError::ForeignKeyViolation { .. } => err,
        other => LearningError::Db(other),
    }
}
