//! [`GamificationError`]: what XP and reward operations refuse, with stable codes.

use guild_db::DbError;
use guild_kernel::{Denied, ErrorCode, FieldError};

/// A refused or failed gamification operation.
#[derive(Debug, thiserror::Error)]
pub enum GamificationError {
    /// No such reward in the tenant.
    #[error("reward not found")]
    RewardNotFound,
    /// No such redemption the actor may see.
    #[error("redemption not found")]
    RedemptionNotFound,
    /// No such member in the tenant.
    #[error("member not found")]
    MemberNotFound,
    /// No such group in the tenant.
    #[error("group not found")]
    GroupNotFound,
    /// A group's leaderboard asked for by someone who is not in the group and may not see its
    /// members (it would tell who belongs to it).
    #[error("only members of this group and those who may see its members see its leaderboard")]
    GroupBoardForbidden,
    /// The actor lacks a permission.
    #[error(transparent)]
    Forbidden(#[from] Denied),
    /// Approving or rejecting one's own redemption (nobody reviews their own).
    #[error("you cannot approve or reject your own redemption")]
    CannotReviewOwnRedemption,
    /// A manual award or deduction of one's own XP.
    #[error("you cannot award or deduct XP to yourself")]
    CannotAwardSelf,
    /// A deduction or redemption larger than the spendable balance.
    #[error("not enough XP: {available} spendable, {needed} needed")]
    InsufficientXp {
        /// Spendable XP.
        available: i32,
        /// XP asked for.
        needed: i32,
    },
    /// The reward is inactive.
    #[error("the reward is not available")]
    RewardInactive,
    /// No stock left.
    #[error("the reward is out of stock")]
    OutOfStock,
    /// The reward's cost, approval rule, limit or kind of stock changed while it was being
    /// redeemed; nothing was taken, and redeeming again uses the new terms.
    #[error("the reward changed while it was being redeemed; try again")]
    RewardChanged,
    /// The member reached the reward's monthly limit.
    #[error("you have redeemed this reward as often as allowed this month")]
    MonthlyLimitReached,
    /// Approving, rejecting or cancelling a redemption that is no longer pending.
    #[error("the redemption is no longer pending")]
    RedemptionNotPending,
    /// Hiding oneself from the leaderboard where the tenant does not allow it.
    #[error("this organization does not allow hiding from the leaderboard")]
    OptOutNotAllowed,
    /// Input that breaks a rule.
    #[error("the request has invalid fields")]
    Invalid(Vec<FieldError>),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl GamificationError {
    /// One invalid field.
    pub fn invalid(field: &str, code: &str, message: &str) -> Self {
        Self::Invalid(vec![FieldError::new(field, code, message)])
    }
}

impl From<diesel::result::Error> for GamificationError {
    fn from(err: diesel::result::Error) -> Self {
        Self::Db(DbError::from(err))
    }
}

impl ErrorCode for GamificationError {
    fn code(&self) -> &'static str {
        match self {
            Self::RewardNotFound => "reward_not_found",
            Self::RedemptionNotFound => "redemption_not_found",
            Self::MemberNotFound => "member_not_found",
            Self::GroupNotFound => "group_not_found",
            Self::GroupBoardForbidden => "leaderboard_group_forbidden",
            Self::Forbidden(e) => e.code(),
            Self::CannotReviewOwnRedemption => "cannot_review_own_redemption",
            Self::CannotAwardSelf => "cannot_award_self",
            Self::InsufficientXp { .. } => "insufficient_xp",
            Self::RewardInactive => "reward_inactive",
            Self::OutOfStock => "reward_out_of_stock",
            Self::RewardChanged => "reward_changed",
            Self::MonthlyLimitReached => "reward_monthly_limit_reached",
            Self::RedemptionNotPending => "redemption_not_pending",
            Self::OptOutNotAllowed => "leaderboard_opt_out_not_allowed",
            Self::Invalid(_) => "validation_failed",
            Self::Db(e) => e.code(),
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::RewardNotFound
            | Self::RedemptionNotFound
            | Self::MemberNotFound
            | Self::GroupNotFound => 404,
            Self::Forbidden(_)
            | Self::GroupBoardForbidden
            | Self::CannotReviewOwnRedemption
            | Self::CannotAwardSelf => 403,
            Self::InsufficientXp { .. }
            | Self::RewardInactive
            | Self::OutOfStock
            | Self::RewardChanged
            | Self::MonthlyLimitReached
            | Self::RedemptionNotPending
            | Self::OptOutNotAllowed => 409,
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
