//! Groups of members (teams, departments, cohorts): any member may list them; MANAGE_GROUPS
//! (tenant-wide, or scoped to the group) edits them and their members.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{groups, memberships, user_groups};
use guild_kernel::{
    Actor, GroupId, Keyset, Page, PageRequest, Permission, Target, TenantRole, UserId, authorize,
};
use serde::Serialize;
use uuid::Uuid;

use crate::error::on_unique;
use crate::{TenancyError, audit};

/// A group row with its member count.
type CountedRow = (
    Uuid,
    String,
    String,
    DateTime<Utc>,
    DateTime<Utc>,
    Option<i64>,
);

/// A group.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    /// Id.
    pub id: Uuid,
    /// Name, unique in the tenant (case-insensitive).
    pub name: String,
    /// Display colour, `#RRGGBB`.
    pub color: String,
    /// How many members it has.
    pub member_count: i64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

type GroupRow = (Uuid, String, String, DateTime<Utc>, DateTime<Utc>);

/// The tenant's groups with their member counts, by name (case-insensitive) and then id, a page
/// at a time (one query).
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    page: &PageRequest,
) -> Result<Page<Group>, TenancyError> {
    const SORT: &str = "name";
    let limit = page.limit();
    let counts = user_groups::table
        .filter(user_groups::tenant_id.eq(groups::tenant_id))
        .filter(user_groups::group_id.eq(groups::id))
        .count()
        .single_value();
    let mut query = groups::table
        .filter(groups::tenant_id.eq(actor.tenant_id.into_uuid()))
        .select((
            (
                groups::id,
                groups::name,
                groups::color,
                groups::created_at,
                groups::updated_at,
                counts,
            ),
            crate::lower(groups::name),
        ))
        .order((crate::lower(groups::name).asc(), groups::id.asc()))
        .limit(i64::from(limit) + 1)
        .into_boxed();
    if let Some(after) = crate::cursor_keyset(page, SORT)? {
        query = query.filter(
            crate::lower(groups::name)
                .gt(after.key.clone())
                .or(crate::lower(groups::name)
                    .eq(after.key)
                    .and(groups::id.gt(after.id))),
        );
    }
    let rows: Vec<(CountedRow, String)> = query.load(conn).await?;
    let rows = rows
        .into_iter()
        .map(|((id, name, color, created_at, updated_at, n), key)| {
            (
                Group {
                    id,
                    name,
                    color,
                    member_count: n.unwrap_or(0),
                    created_at,
                    updated_at,
                },
                key,
            )
        })
        .collect();
    let page = Page::from_overfetch(rows, limit, |(g, key): &(Group, String)| {
        Keyset {
            sort: SORT.to_owned(),
            key: key.clone(),
            id: g.id,
        }
        .raw()
    });
    Ok(Page {
        data: page.data.into_iter().map(|(g, _)| g).collect(),
        next_cursor: page.next_cursor,
    })
}

/// One group.
pub async fn get(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: GroupId,
) -> Result<Group, TenancyError> {
    let id = id.into_uuid();
    let row: GroupRow = groups::table
        .find((actor.tenant_id.into_uuid(), id))
        .select((
            groups::id,
            groups::name,
            groups::color,
            groups::created_at,
            groups::updated_at,
        ))
        .first(conn)
        .await
        .optional()?
        .ok_or(TenancyError::GroupNotFound)?;
    let count: i64 = user_groups::table
        .filter(user_groups::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(user_groups::group_id.eq(id))
        .count()
        .get_result(conn)
        .await?;
    let (id, name, color, created_at, updated_at) = row;
    Ok(Group {
        id,
        name,
        color,
        member_count: count,
        created_at,
        updated_at,
    })
}

/// Creates a group (MANAGE_GROUPS tenant-wide).
pub async fn create(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    name: &str,
    color: Option<&str>,
) -> Result<Group, TenancyError> {
    authorize(actor, Permission::ManageGroups, Target::Tenant)?;
    let id = Uuid::now_v7();
    diesel::insert_into(groups::table)
        .values((
            groups::tenant_id.eq(actor.tenant_id.into_uuid()),
            groups::id.eq(id),
            groups::name.eq(name.trim()),
            groups::color.eq(color.unwrap_or("#6366F1")),
        ))
        .execute(conn)
        .await
        .map_err(on_unique("groups_name_key", TenancyError::GroupNameTaken))?;
    audit::record(
        conn,
        actor,
        "GROUP_CREATED",
        "group",
        Some(id.to_string()),
        serde_json::json!({ "name": name }),
    )
    .await?;
    crate::events::group(conn, actor.tenant_id, "CREATED", id, name.trim()).await?;
    get(conn, actor, GroupId(id)).await
}

/// Renames or recolours a group.
pub async fn update(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: GroupId,
    name: Option<&str>,
    color: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Group, TenancyError> {
    get(conn, actor, id).await?;
    let id = id.into_uuid();
    authorize(actor, Permission::ManageGroups, Target::Groups(&[id]))?;
    diesel::update(groups::table.find((actor.tenant_id.into_uuid(), id)))
        .set((
            name.map(|n| groups::name.eq(n.trim().to_owned())),
            color.map(|c| groups::color.eq(c.to_owned())),
            groups::updated_at.eq(now),
        ))
        .execute(conn)
        .await
        .map_err(on_unique("groups_name_key", TenancyError::GroupNameTaken))?;
    audit::record(
        conn,
        actor,
        "GROUP_UPDATED",
        "group",
        Some(id.to_string()),
        serde_json::json!({ "name": name, "color": color }),
    )
    .await?;
    let group = get(conn, actor, GroupId(id)).await?;
    crate::events::group(conn, actor.tenant_id, "UPDATED", id, &group.name).await?;
    Ok(group)
}

/// Deletes a group (its memberships go with it; the members stay).
pub async fn delete(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: GroupId,
) -> Result<(), TenancyError> {
    let group = get(conn, actor, id).await?;
    let id = id.into_uuid();
    authorize(actor, Permission::ManageGroups, Target::Groups(&[id]))?;
    diesel::delete(groups::table.find((actor.tenant_id.into_uuid(), id)))
        .execute(conn)
        .await?;
    audit::record(
        conn,
        actor,
        "GROUP_DELETED",
        "group",
        Some(id.to_string()),
        serde_json::json!({ "name": group.name }),
    )
    .await?;
    crate::events::group(conn, actor.tenant_id, "DELETED", id, &group.name).await?;
    Ok(())
}

/// Joining a group puts a member under every grant scoped to it, so a grant cannot widen itself:
/// nobody pulls in a member whose role is at or above their own (an OWNER may), and an actor whose
/// MANAGE_GROUPS is scoped pulls in only members they could already manage where they are now.
async fn may_pull_in(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    members: &[(Uuid, String)],
) -> Result<(), TenancyError> {
    for (_, role) in members {
        let role = role.parse::<TenantRole>().unwrap_or(TenantRole::Owner);
        if !(actor.role == TenantRole::Owner || actor.role.rank() < role.rank()) {
            return Err(TenancyError::RoleNotAssignable);
        }
    }
    if authorize(actor, Permission::ManageGroups, Target::Tenant).is_ok() {
        return Ok(());
    }
    let ids: Vec<Uuid> = members.iter().map(|(id, _)| *id).collect();
    let rows: Vec<(Uuid, Uuid)> = user_groups::table
        .filter(user_groups::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(user_groups::user_id.eq_any(&ids))
        .select((user_groups::user_id, user_groups::group_id))
        .load(conn)
        .await?;
    for user in ids {
        let groups: Vec<Uuid> = rows
            .iter()
            .filter(|(u, _)| *u == user)
            .map(|(_, g)| *g)
            .collect();
        authorize(
            actor,
            Permission::ManageGroups,
            Target::User {
                id: UserId(user),
                groups: &groups,
            },
        )?;
    }
    Ok(())
}

/// Adds members in bulk; ids that are not members of the tenant fail the whole call, and so
/// does any member the actor may not pull in (see [`may_pull_in`]).
pub async fn add_members(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: GroupId,
    users: &[UserId],
) -> Result<Group, TenancyError> {
    get(conn, actor, id).await?;
    let id = id.into_uuid();
    authorize(actor, Permission::ManageGroups, Target::Groups(&[id]))?;
    let ids: Vec<Uuid> = users.iter().map(|u| u.into_uuid()).collect();
    let roles: Vec<(Uuid, String)> = memberships::table
        .filter(memberships::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(memberships::user_id.eq_any(&ids))
        .select((memberships::user_id, memberships::role))
        .load(conn)
        .await?;
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    if roles.len() != unique.len() {
        return Err(TenancyError::MemberNotFound);
    }
    may_pull_in(conn, actor, &roles).await?;
    let rows: Vec<_> = unique
        .iter()
        .map(|u| {
            (
                user_groups::tenant_id.eq(actor.tenant_id.into_uuid()),
                user_groups::group_id.eq(id),
                user_groups::user_id.eq(*u),
            )
        })
        .collect();
    let added: Vec<Uuid> = diesel::insert_into(user_groups::table)
        .values(rows)
        .on_conflict_do_nothing()
        .returning(user_groups::user_id)
        .get_results(conn)
        .await?;
    crate::events::group_members(conn, actor.tenant_id, "ADDED", id, added).await?;
    audit::record(
        conn,
        actor,
        "GROUP_MEMBERS_ADDED",
        "group",
        Some(id.to_string()),
        serde_json::json!({ "user_ids": ids }),
    )
    .await?;
    get(conn, actor, GroupId(id)).await
}

/// Removes members in bulk; ids not in the group are ignored.
pub async fn remove_members(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: GroupId,
    users: &[UserId],
) -> Result<Group, TenancyError> {
    get(conn, actor, id).await?;
    let id = id.into_uuid();
    authorize(actor, Permission::ManageGroups, Target::Groups(&[id]))?;
    let ids: Vec<Uuid> = users.iter().map(|u| u.into_uuid()).collect();
    let removed: Vec<Uuid> = diesel::delete(
        user_groups::table
            .filter(user_groups::tenant_id.eq(actor.tenant_id.into_uuid()))
            .filter(user_groups::group_id.eq(id))
            .filter(user_groups::user_id.eq_any(&ids)),
    )
    .returning(user_groups::user_id)
    .get_results(conn)
    .await?;
    crate::events::group_members(conn, actor.tenant_id, "REMOVED", id, removed).await?;
    audit::record(
        conn,
        actor,
        "GROUP_MEMBERS_REMOVED",
        "group",
        Some(id.to_string()),
        serde_json::json!({ "user_ids": ids }),
    )
    .await?;
    get(conn, actor, GroupId(id)).await
}
