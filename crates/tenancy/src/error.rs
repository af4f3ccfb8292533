//! [`TenancyError`]: everything identity and access can refuse, with stable codes.

use guild_db::DbError;
use guild_kernel::{Denied, ErrorCode, FieldError};

/// A refused or failed tenancy operation.
#[derive(Debug, thiserror::Error)]
pub enum TenancyError {
    /// Wrong email or password (never says which).
    #[error("the email or password is wrong")]
    InvalidCredentials,
    /// A refresh, invite or reset token that is unknown, used or expired.
    #[error("the token is invalid or has expired")]
    InvalidToken,
    /// A refresh token was presented twice: its whole family is now revoked.
    #[error("the refresh token was already used; every session of this sign-in is revoked")]
    RefreshReused,
    /// The tenant is archived.
    #[error("the tenant is archived")]
    TenantArchived,
    /// The user is not a member of the tenant.
    #[error("you are not a member of this tenant")]
    NotAMember,
    /// The membership is deactivated or not yet accepted.
    #[error("your membership of this tenant is not active")]
    MembershipInactive,
    /// The tenant signs its members in through its identity provider only (OWNERs aside).
    #[error("this tenant signs its members in through single sign-on only")]
    SsoRequired,
    /// The actor lacks a permission.
    #[error(transparent)]
    Forbidden(#[from] Denied),
    /// The actor may not act on a member whose role is above theirs, or give such a role.
    #[error("you cannot give or change a role above your own")]
    RoleNotAssignable,
    /// Removing or demoting the last OWNER would leave the tenant without one.
    #[error("a tenant keeps at least one active OWNER")]
    LastOwner,
    /// The manager chosen is the member or someone below them.
    #[error("the manager would create a cycle in the manager tree")]
    ManagerCycle,
    /// No such tenant.
    #[error("tenant not found")]
    TenantNotFound,
    /// No such member in this tenant.
    #[error("member not found")]
    MemberNotFound,
    /// No such group in this tenant.
    #[error("group not found")]
    GroupNotFound,
    /// No such API key in this tenant.
    #[error("API key not found")]
    ApiKeyNotFound,
    /// The slug is taken.
    #[error("the slug is taken")]
    SlugTaken,
    /// The email belongs to another account.
    #[error("an account with this email exists")]
    EmailTaken,
    /// The user is already a member.
    #[error("the user is already a member of this tenant")]
    AlreadyMember,
    /// A group with this name exists.
    #[error("a group with this name exists")]
    GroupNameTaken,
    /// The account's address is not verified yet (follow the link in the verification email).
    #[error("verify your email address first")]
    EmailNotVerified,
    /// The account's address is already verified.
    #[error("the email address is already verified")]
    EmailAlreadyVerified,
    /// No pending invitation of this user to this tenant.
    #[error("invitation not found")]
    InvitationNotFound,
    /// The member has not accepted their invitation yet, so they cannot be (re)activated.
    #[error("the member has not accepted their invitation yet")]
    InvitationPending,
    /// The member was removed: only an erasure applies to them now.
    #[error("the member was removed from this tenant")]
    MemberRemoved,
    /// Only a removed member is erased.
    #[error("remove the member before erasing their personal data")]
    MemberNotRemoved,
    /// The account is still a member of a tenant; it cannot be erased.
    #[error("the account is still a member of a tenant")]
    MemberElsewhere,
    /// Only the platform owner changes a tenant's plan.
    #[error("only the platform owner changes a tenant's plan")]
    PlanChangeForbidden,
    /// The tenant sent as many invitations today as its plan allows.
    #[error("the tenant has sent its {cap} invitations for today (the {plan} plan's cap)")]
    InvitationCapReached {
        /// The daily cap.
        cap: u32,
        /// The tenant's plan.
        plan: String,
    },
    /// Input that passed shape checks but breaks a rule.
    #[error("the request has invalid fields")]
    Invalid(Vec<FieldError>),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl TenancyError {
    /// One invalid field.
    pub fn invalid(field: &str, code: &str, message: &str) -> Self {
        Self::Invalid(vec![FieldError::new(field, code, message)])
    }
}

impl From<diesel::result::Error> for TenancyError {
    fn from(err: diesel::result::Error) -> Self {
        Self::Db(DbError::from(err))
    }
}

impl ErrorCode for TenancyError {
    fn code(&self) -> &'static str {
        match self {
            Self::InvalidCredentials => "invalid_credentials",
            Self::InvalidToken => "invalid_token",
            Self::RefreshReused => "refresh_token_reused",
            Self::TenantArchived => "tenant_archived",
            Self::NotAMember => "not_a_member",
            Self::MembershipInactive => "membership_inactive",
            Self::SsoRequired => "sso_required",
            Self::Forbidden(e) => e.code(),
            Self::RoleNotAssignable => "role_not_assignable",
            Self::LastOwner => "last_owner",
            Self::ManagerCycle => "manager_cycle",
            Self::TenantNotFound => "tenant_not_found",
            Self::MemberNotFound => "member_not_found",
            Self::GroupNotFound => "group_not_found",
            Self::ApiKeyNotFound => "api_key_not_found",
            Self::SlugTaken => "slug_taken",
            Self::EmailTaken => "email_taken",
            Self::AlreadyMember => "already_member",
            Self::GroupNameTaken => "group_name_taken",
            Self::EmailNotVerified => "email_not_verified",
            Self::EmailAlreadyVerified => "email_already_verified",
            Self::InvitationNotFound => "invitation_not_found",
            Self::InvitationPending => "invitation_pending",
            Self::PlanChangeForbidden => "plan_change_forbidden",
            Self::MemberRemoved => "member_removed",
            Self::MemberNotRemoved => "member_not_removed",
            Self::MemberElsewhere => "member_of_another_tenant",
            Self::InvitationCapReached { .. } => "invitation_cap_reached",
            Self::Invalid(_) => "validation_failed",
            Self::Db(e) => e.code(),
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::InvalidCredentials | Self::InvalidToken | Self::RefreshReused => 401,
            Self::TenantArchived
            | Self::NotAMember
            | Self::MembershipInactive
            | Self::SsoRequired
            | Self::Forbidden(_)
            | Self::RoleNotAssignable
            | Self::EmailNotVerified
            | Self::PlanChangeForbidden => 403,
            Self::TenantNotFound
            | Self::MemberNotFound
            | Self::GroupNotFound
            | Self::ApiKeyNotFound
            | Self::InvitationNotFound => 404,
            Self::LastOwner
            | Self::SlugTaken
            | Self::EmailTaken
            | Self::AlreadyMember
            | Self::GroupNameTaken
            | Self::EmailAlreadyVerified
            | Self::InvitationPending
            | Self::MemberRemoved
            | Self::MemberNotRemoved
            | Self::MemberElsewhere => 409,
            Self::ManagerCycle | Self::Invalid(_) => 422,
            Self::InvitationCapReached { .. } => 429,
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

/// Maps a unique violation on `constraint` to `err`, passing every other error through.
pub(crate) fn on_unique(
    constraint: &'static str,
    err: TenancyError,
) -> impl FnOnce(diesel::result::Error) -> TenancyError {
    move |e| match DbError::from(e) {
        DbError::UniqueViolation { constraint: c } if c == constraint => err,
        other => TenancyError::Db(other),
    }
}
