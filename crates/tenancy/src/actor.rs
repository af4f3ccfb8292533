//! Building the [`Actor`] of a request: re-validates the membership on every call (the api layer
//! caches the result for at most 30 seconds) and loads the grants and, when a grant is scoped to
//! it, the manager subtree.

use diesel::prelude::*;
use diesel::sql_types::Uuid as SqlUuid;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{memberships, tenants, user_permissions, users};
use guild_kernel::{Actor, GlobalRole, Grant, GrantScope, TenantId, TenantRole, UserId};
use uuid::Uuid;

use crate::TenancyError;

/// Global role, session generation, tenant archived-at, membership role and status.
type AccessRow = (
    String,
    i32,
    Option<chrono::DateTime<chrono::Utc>>,
    Option<String>,
    Option<String>,
);

/// Loads who `user` is in `tenant`, refusing archived tenants and inactive or missing
/// memberships. A platform OWNER who is not a member acts as OWNER, marked as impersonating.
pub async fn load_actor(
    conn: &mut AsyncPgConnection,
    user: UserId,
    tenant: TenantId,
) -> Result<Actor, TenancyError> {
    Ok(load_session_actor(conn, user, tenant).await?.0)
}

/// [`load_actor`], with the account's session generation read in the same statement (access
/// tokens of an earlier generation are refused).
pub async fn load_session_actor(
    conn: &mut AsyncPgConnection,
    user: UserId,
    tenant: TenantId,
) -> Result<(Actor, i32), TenancyError> {
    let row: Option<AccessRow> = users::table
        .inner_join(tenants::table.on(tenants::id.eq(tenant.into_uuid())))
        .left_join(
            memberships::table.on(memberships::tenant_id
                .eq(tenants::id)
                .and(memberships::user_id.eq(users::id))),
        )
        .filter(users::id.eq(user.into_uuid()))
        .select((
            users::global_role,
            users::session_generation,
            tenants::archived_at,
            memberships::role.nullable(),
            memberships::status.nullable(),
        ))
        .first(conn)
        .await
        .optional()?;
    let Some((global_role, generation, archived_at, role, status)) = row else {
        return Err(TenancyError::NotAMember);
    };
    let global_role = global_role
        .parse::<GlobalRole>()
        .unwrap_or(GlobalRole::Employee);
    if archived_at.is_some() {
        return Err(TenancyError::TenantArchived);
    }
    let (role, impersonating) = match (role, status.as_deref()) {
        // A removed member's membership is kept for their history only.
        (Some(_), Some("REMOVED")) => return Err(TenancyError::NotAMember),
        (Some(role), Some("ACTIVE")) => (
            role.parse::<TenantRole>().unwrap_or(TenantRole::Viewer),
            false,
        ),
        (Some(_), _) => return Err(TenancyError::MembershipInactive),
        (None, _) if global_role == GlobalRole::Owner => (TenantRole::Owner, true),
        (None, _) => return Err(TenancyError::NotAMember),
    };

    let rows: Vec<(String, serde_json::Value)> = user_permissions::table
        .filter(user_permissions::tenant_id.eq(tenant.into_uuid()))
        .filter(user_permissions::user_id.eq(user.into_uuid()))
        .select((user_permissions::permission, user_permissions::scope))
        .load(conn)
        .await?;
    let grants: Vec<Grant> = rows
        .into_iter()
        .filter_map(|(permission, scope)| {
            Some(Grant {
                permission: permission.parse().ok()?,
                scope: serde_json::from_value::<GrantScope>(scope).unwrap_or_default(),
            })
        })
        .collect();
    let subtree = if grants.iter().any(|g| g.scope.manager_subtree) {
        subtree(conn, tenant, user).await?
    } else {
        Vec::new()
    };
    let actor = Actor {
        user_id: user,
        tenant_id: tenant,
        role,
        global_role,
        grants,
        subtree,
        impersonating,
        api_key: None,
        request_id: None,
    };
    Ok((actor, generation))
}

#[derive(QueryableByName)]
struct Member {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
}

/// Every member below `manager` in the tenant's manager tree.
pub async fn subtree(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    manager: UserId,
) -> Result<Vec<UserId>, TenancyError> {
    let rows: Vec<Member> = guild_db::sql(
        "WITH RECURSIVE below AS ( \
             SELECT user_id FROM memberships WHERE tenant_id = $1 AND manager_id = $2 \
             UNION \
             SELECT m.user_id FROM memberships m JOIN below b ON m.manager_id = b.user_id \
             WHERE m.tenant_id = $1) \
         SELECT user_id FROM below",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(manager.into_uuid())
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| UserId(r.user_id)).collect())
}
