//! [`AiError`]: what AI operations refuse, with stable codes.

use guild_db::DbError;
use guild_kernel::{ErrorCode, FieldError};

/// A refused or failed AI operation.
#[derive(Debug, thiserror::Error)]
pub enum AiError {
    /// No such thing the actor may see (other tenants' ids included).
    #[error("not found ({0})")]
    NotFound(&'static str),
    /// Not allowed for the actor.
    #[error("not allowed")]
    Forbidden,
    /// No model is configured for what was asked.
    #[error("no AI model is configured")]
    NotConfigured,
    /// The tenant's tokens for the month are spent.
    #[error("the AI budget of this month is spent")]
    BudgetExhausted,
    /// The model provider failed (after its retries) or answered something unusable.
    #[error("the AI provider is unavailable")]
    Unavailable,
    /// The member asked as many questions as they may in a day.
    #[error("you asked as many questions as you may today")]
    QuestionLimitReached,
    /// The question is not in a state that allows this.
    #[error("the question does not allow this now")]
    InvalidStatus,
    /// Nobody but the asker mentors the module: there is no one to escalate to.
    #[error("the module has no mentor to answer")]
    NoMentor,
    /// Nobody accepts their own answer.
    #[error("you cannot accept your own answer")]
    CannotAcceptOwnAnswer,
    /// The member or the tenant has as many module builds queued or running as allowed.
    #[error("too many module builds are under way")]
    BuildLimitReached,
    /// The file of a build cannot be read (damaged, encrypted, not what it says it is).
    #[error("the file cannot be read: {0}")]
    SourceUnreadable(String),
    /// The file of a build is above a limit (pages, characters).
    #[error("the file is too large to build from: {0}")]
    SourceTooLarge(&'static str),
    /// The file of a build has no text (a scan, a silent video).
    #[error("the file has no text to build from")]
    SourceHasNoText,
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

impl AiError {
    /// One invalid field.
    pub fn invalid(field: &str, code: &str, message: &str) -> Self {
        Self::Invalid(vec![FieldError::new(field, code, message)])
    }
}

impl From<diesel::result::Error> for AiError {
    fn from(err: diesel::result::Error) -> Self {
        Self::Db(DbError::from(err))
    }
}

impl From<guild_kernel::ports::AiError> for AiError {
    fn from(err: guild_kernel::ports::AiError) -> Self {
        match err {
            guild_kernel::ports::AiError::NotConfigured(_) => Self::NotConfigured,
            _ => Self::Unavailable,
        }
    }
}

impl ErrorCode for AiError {
    fn code(&self) -> &'static str {
        match self {
            Self::NotFound(code) => code,
            Self::Forbidden => "forbidden",
            Self::NotConfigured => "ai_not_configured",
            Self::BudgetExhausted => "ai_budget_exhausted",
            Self::Unavailable => "dependency_unavailable",
            Self::QuestionLimitReached => "question_limit_reached",
            Self::InvalidStatus => "invalid_status_transition",
            Self::NoMentor => "module_has_no_mentor",
            Self::CannotAcceptOwnAnswer => "cannot_accept_own_answer",
            Self::BuildLimitReached => "module_build_limit_reached",
            Self::SourceUnreadable(_) => "source_unreadable",
            Self::SourceTooLarge(_) => "source_too_large",
            Self::SourceHasNoText => "source_has_no_text",
            Self::Learning(e) => e.code(),
            Self::Invalid(_) => "validation_failed",
            Self::Db(e) => e.code(),
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::NotFound(_) => 404,
            Self::Forbidden | Self::CannotAcceptOwnAnswer => 403,
            Self::NotConfigured | Self::Unavailable => 503,
            Self::BudgetExhausted | Self::QuestionLimitReached => 429,
            Self::InvalidStatus | Self::NoMentor | Self::BuildLimitReached => 409,
            Self::SourceUnreadable(_) | Self::SourceTooLarge(_) | Self::SourceHasNoText => 422,
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
