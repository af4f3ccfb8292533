//! [`SocialError`]: what chat, discussion, announcement, suggestion, feed and reaction
//! operations refuse, with stable codes.

use guild_db::DbError;
use guild_kernel::{ErrorCode, FieldError};

/// A refused or failed operation.
#[derive(Debug, thiserror::Error)]
pub enum SocialError {
    /// No such thing the actor may see (other tenants' ids included); the problem code names it
    /// (`room_not_found`, `message_not_found`, …).
    #[error("not found ({0})")]
    NotFound(&'static str),
    /// Not allowed for the actor's role.
    #[error("not allowed for your role")]
    Forbidden,
    /// The discussion is locked: only its moderators reply.
    #[error("the discussion is locked")]
    Locked,
    /// The discussion holds as many posts as it may.
    #[error("the discussion is full")]
    Full,
    /// The suggestion is closed (REJECTED or CONVERTED): its votes no longer change.
    #[error("the suggestion is closed")]
    SuggestionClosed,
    /// One does not vote for one's own suggestion.
    #[error("you cannot vote for your own suggestion")]
    CannotVoteOwnSuggestion,
    /// One does not review (change the status of, convert) one's own suggestion.
    #[error("another reviewer decides on your own suggestion")]
    CannotReviewOwnSuggestion,
    /// The status (of a suggestion or a feed post) cannot move from where it is to where it was
    /// asked to.
    #[error("this status change is not allowed")]
    InvalidTransition,
    /// The member has as many open suggestions as they may.
    #[error("you have as many open suggestions as you may")]
    SuggestionLimitReached,
    /// The suggestion holds as many comments as it may.
    #[error("the suggestion has as many comments as it may")]
    CommentsFull,
    /// A moderator acting on their own feed post.
    #[error("you cannot moderate your own post")]
    CannotModerateOwnPost,
    /// The post holds as many replies as it may.
    #[error("the post takes no more replies")]
    ReplyLimit,
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

impl SocialError {
    /// One invalid field.
    pub fn invalid(field: &str, code: &str, message: &str) -> Self {
        Self::Invalid(vec![FieldError::new(field, code, message)])
    }
}

impl From<diesel::result::Error> for SocialError {
    fn from(err: diesel::result::Error) -> Self {
        Self::Db(DbError::from(err))
    }
}

impl ErrorCode for SocialError {
    fn code(&self) -> &'static str {
        match self {
            Self::NotFound(code) => code,
            Self::Forbidden => "forbidden",
            Self::Locked => "discussion_locked",
            Self::Full => "discussion_full",
            Self::SuggestionClosed => "suggestion_closed",
            Self::CannotVoteOwnSuggestion => "cannot_vote_own_suggestion",
            Self::CannotReviewOwnSuggestion => "cannot_review_own_suggestion",
            Self::InvalidTransition => "invalid_status_transition",
            Self::SuggestionLimitReached => "suggestion_limit_reached",
            Self::CommentsFull => "suggestion_comments_full",
            Self::CannotModerateOwnPost => "cannot_moderate_own_post",
            Self::ReplyLimit => "reply_limit_reached",
            Self::Learning(e) => e.code(),
            Self::Invalid(_) => "validation_failed",
            Self::Db(e) => e.code(),
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::NotFound(_) => 404,
            Self::Forbidden
            | Self::CannotVoteOwnSuggestion
            | Self::CannotReviewOwnSuggestion
            | Self::CannotModerateOwnPost => 403,
            Self::Locked
            | Self::Full
            | Self::SuggestionClosed
            | Self::InvalidTransition
            | Self::SuggestionLimitReached
            | Self::CommentsFull
            | Self::ReplyLimit => 409,
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
