//! [`NotificationsError`]: what inbox, stream, presence, session, template, email and changelog
//! operations refuse, with stable codes.

use guild_db::DbError;
use guild_kernel::{ErrorCode, FieldError};

use crate::templates::TemplateProblem;

/// A refused or failed operation.
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
    /// Only a member of the tenant may do this (not the platform owner acting in it).
    #[error("not a member of this tenant")]
    NotAMember,
    /// The tenant turned presence off.
    #[error("presence is turned off in this organization")]
    PresenceDisabled,
    /// The tenant has no template of its own for that type and locale.
    #[error("the tenant has no template of its own for this type and locale")]
    TemplateNotFound,
    /// Not allowed for the actor's role (templates and presence settings are for ADMIN and
    /// above, in person, not API keys).
    #[error("not allowed for your role")]
    Forbidden,
    /// `If-Match` names another revision.
    #[error(
        "the template changed since you read it (expected revision {expected}, current {current})"
    )]
    StaleRevision {
        /// What the client had.
        expected: i32,
        /// What is stored (0: none).
        current: i32,
    },
    /// A template that does not parse or render.
    #[error("{}", describe(.0))]
    Template(Vec<TemplateProblem>),
    /// The tenant keeps as many templates as it may.
    #[error("a tenant keeps at most {} templates", crate::templates::MAX_TEMPLATES)]
    TemplateLimit,
    /// Input that breaks a rule.
    #[error("the request has invalid fields")]
    Invalid(Vec<FieldError>),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

fn describe(problems: &[TemplateProblem]) -> String {
    let kind = if problems.iter().any(|p| p.syntax) {
        "has a syntax error"
    } else {
        "does not render"
    };
    let first = problems.first().map(|p| {
        let at = p.line.map(|l| format!(" on line {l}")).unwrap_or_default();
        format!(": {}{at}: {}", p.part, p.message)
    });
    format!("the template {kind}{}", first.unwrap_or_default())
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
            Self::Forbidden => "forbidden",
            Self::PresenceDisabled => "presence_disabled",
            Self::TemplateNotFound => "template_not_found",
            Self::StaleRevision { .. } => "precondition_failed",
            Self::Template(problems) if problems.iter().any(|p| p.syntax) => {
                "template_syntax_error"
            }
            Self::Template(_) => "template_render_error",
            Self::TemplateLimit => "template_limit_reached",
            Self::Invalid(_) => "validation_failed",
            Self::Db(e) => e.code(),
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::NotFound | Self::TemplateNotFound | Self::EntryNotFound => 404,
            Self::NotAMember
            | Self::Forbidden
            | Self::PresenceDisabled
            | Self::NotPlatformOwner => 403,
            Self::StaleRevision { .. } => 412,
            Self::TemplateLimit => 409,
            Self::Template(_) | Self::Invalid(_) => 422,
            Self::Db(e) => e.status(),
        }
    }

    fn field_errors(&self) -> Vec<FieldError> {
        match self {
            Self::Invalid(errors) => errors.clone(),
            Self::Template(problems) => problems.iter().map(TemplateProblem::field_error).collect(),
            _ => Vec::new(),
        }
    }
}
