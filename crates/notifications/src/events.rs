//! The facts this crate publishes to the outbox.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A notification reached a member's inbox: its email follows, immediately or in a digest, as
/// the member's preferences say (`guild_api::reactions::emails`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationDelivered {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The recipient.
    pub user_id: Uuid,
    /// The notification.
    pub notification_id: Uuid,
}

impl guild_kernel::DomainEvent for NotificationDelivered {
    const KIND: &'static str = "notifications.delivered";
}

/// A broadcast reached many inboxes (up to 1,000 notifications): each one's email follows as
/// for [`NotificationDelivered`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BroadcastDelivered {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The notifications written.
    pub notification_ids: Vec<Uuid>,
}

impl guild_kernel::DomainEvent for BroadcastDelivered {
    const KIND: &'static str = "notifications.broadcast_delivered";
}
