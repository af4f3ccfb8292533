//! Facts this crate tells the rest of Guild through the outbox, written in the transaction that
//! changes a rank or reviews a redemption.

use guild_kernel::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A member's rank changed (it only ever rises: it follows `lifetime_xp`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RankChanged {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The member.
    pub user_id: Uuid,
    /// The rank before.
    pub from: String,
    /// The rank now.
    pub to: String,
    /// The member's lifetime XP now.
    pub lifetime_xp: i32,
}

impl DomainEvent for RankChanged {
    const KIND: &'static str = "gamification.rank_changed";
}

/// What both redemption events carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedemptionReviewed {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The member who redeemed.
    pub user_id: Uuid,
    /// The redemption.
    pub redemption_id: Uuid,
    /// The reward.
    pub reward_id: Uuid,
    /// Its cost.
    pub cost_xp: i32,
    /// Why (rejections and cancellations).
    pub reason: Option<String>,
}

/// A redemption was approved (at once, or by a reviewer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedemptionApproved(pub RedemptionReviewed);

impl DomainEvent for RedemptionApproved {
    const KIND: &'static str = "gamification.redemption_approved";
}

/// A pending redemption was rejected by a reviewer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedemptionRejected(pub RedemptionReviewed);

impl DomainEvent for RedemptionRejected {
    const KIND: &'static str = "gamification.redemption_rejected";
}
