//! Facts this crate tells the rest of Guild (webhooks) through the outbox, written in the
//! transaction of the change: a member's membership, a group, a group's members.

use diesel_async::AsyncPgConnection;
use guild_kernel::{DomainEvent, TenantId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::TenancyError;
use crate::members::Member;

/// A membership changed; `change` says how (INVITED, JOINED, ROLE_CHANGED, MANAGER_CHANGED,
/// DEACTIVATED, REACTIVATED, REMOVED), the rest is the member as they are now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberChanged {
    /// The tenant.
    pub tenant_id: Uuid,
    /// How.
    pub change: String,
    /// The member.
    pub user_id: Uuid,
    /// Their email address.
    pub email: String,
    /// Their name.
    pub name: String,
    /// Their role now.
    pub role: String,
    /// Their membership's status now.
    pub status: String,
    /// Their manager now.
    pub manager_id: Option<Uuid>,
}

impl DomainEvent for MemberChanged {
    const KIND: &'static str = "tenancy.member_changed";
}

/// A group was CREATED, UPDATED or DELETED.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupChanged {
    /// The tenant.
    pub tenant_id: Uuid,
    /// How.
    pub change: String,
    /// The group.
    pub group_id: Uuid,
    /// Its name (before deletion, for DELETED).
    pub name: String,
}

impl DomainEvent for GroupChanged {
    const KIND: &'static str = "tenancy.group_changed";
}

/// Members were ADDED to or REMOVED from a group (only those whose membership changed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMembersChanged {
    /// The tenant.
    pub tenant_id: Uuid,
    /// How.
    pub change: String,
    /// The group.
    pub group_id: Uuid,
    /// The members.
    pub user_ids: Vec<Uuid>,
}

impl DomainEvent for GroupMembersChanged {
    const KIND: &'static str = "tenancy.group_members_changed";
}

/// Publishes `change` of `member` (as they are after it).
pub(crate) async fn member(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    change: &str,
    member: &Member,
) -> Result<(), TenancyError> {
    let event = MemberChanged {
        tenant_id: tenant.into_uuid(),
        change: change.to_owned(),
        user_id: member.user_id,
        email: member.email.clone(),
        name: member.name.clone(),
        role: member.role.as_str().to_owned(),
        status: member.status.as_str().to_owned(),
        manager_id: member.manager_id,
    };
    guild_db::outbox::publish(conn, Some(tenant), &event).await?;
    Ok(())
}

/// Publishes `change` of group `group` named `name`.
pub(crate) async fn group(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    change: &str,
    group: Uuid,
    name: &str,
) -> Result<(), TenancyError> {
    let event = GroupChanged {
        tenant_id: tenant.into_uuid(),
        change: change.to_owned(),
        group_id: group,
        name: name.to_owned(),
    };
    guild_db::outbox::publish(conn, Some(tenant), &event).await?;
    Ok(())
}

/// Publishes that `users` were `change`d (ADDED, REMOVED) in `group`; nothing when none were.
pub(crate) async fn group_members(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    change: &str,
    group: Uuid,
    mut users: Vec<Uuid>,
) -> Result<(), TenancyError> {
    if users.is_empty() {
        return Ok(());
    }
    users.sort_unstable();
    let event = GroupMembersChanged {
        tenant_id: tenant.into_uuid(),
        change: change.to_owned(),
        group_id: group,
        user_ids: users,
    };
    guild_db::outbox::publish(conn, Some(tenant), &event).await?;
    Ok(())
}
