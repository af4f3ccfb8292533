//! Members of a tenant: listing and searching, inviting, roles, managers, deactivation, removal
//! and permission grants.
//!
//! Role rules: nobody acts on a member whose role is at or above their own (an OWNER may act on
//! anyone), nobody gives a role at or above their own (an OWNER may give OWNER), and a tenant
//! always keeps one active OWNER.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{memberships, user_groups, user_permissions, users};
use guild_kernel::auth::MEMBER_VIEWERS;
use guild_kernel::{
    Actor, DomainEvent, Grant, GrantScope, Keyset, MemberScope, MembershipStatus, Page,
    PageRequest, Permission, Target, TenantId, TenantRole, UserId, authorize, member_scope,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::on_unique;
use crate::quota::InviteCaps;
use crate::tenants::{insert_membership, insert_user};
use crate::{TenancyError, audit};

/// A member as admins see them.
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    /// The user.
    pub user_id: Uuid,
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
    /// Role in this tenant.
    pub role: TenantRole,
    /// Where the membership is.
    pub status: MembershipStatus,
    /// Their manager, if any.
    pub manager_id: Option<Uuid>,
    /// Groups they belong to.
    pub group_ids: Vec<Uuid>,
    /// When they joined.
    pub created_at: DateTime<Utc>,
}

type MemberRow = (
    Uuid,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<Uuid>,
    DateTime<Utc>,
);

/// An invitation email must go out: the worker mints the single-use token and sends it, so a
/// crash between the invite and the email loses nothing and no token is stored in plain text.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InviteRequested {
    /// The tenant invited to.
    pub tenant_id: Uuid,
    /// The invited user.
    pub user_id: Uuid,
}

impl DomainEvent for InviteRequested {
    const KIND: &'static str = "tenancy.invite_requested";
}

guild_kernel::string_enum!(
    /// How the member list is sorted: by a field, ascending, or descending with a leading `-`;
    /// ties by user id.
    MemberSort {
        /// By the shown name, A to Z.
        Name => "name",
        /// By the shown name, Z to A.
        NameDesc => "-name",
        /// By email, A to Z.
        Email => "email",
        /// By email, Z to A.
        EmailDesc => "-email",
        /// Oldest membership first.
        CreatedAt => "created_at",
        /// Newest membership first.
        CreatedAtDesc => "-created_at",
    }
);

/// The shown name: the invited name until the invitation is accepted (see [`to_member`]).
const SHOWN_NAME: &str = "(CASE WHEN memberships.status = 'INVITED' AND memberships.invited_name IS NOT NULL \
     THEN memberships.invited_name ELSE users.name END)";

impl MemberSort {
    /// The SQL of the sort key, the SQL type to cast the cursor's key to, and whether it is
    /// descending.
    fn parts(self) -> (&'static str, &'static str, bool) {
        match self {
            Self::Name => (SHOWN_NAME, "text", false),
            Self::NameDesc => (SHOWN_NAME, "text", true),
            Self::Email => ("users.email", "text", false),
            Self::EmailDesc => ("users.email", "text", true),
            Self::CreatedAt => ("memberships.created_at", "timestamptz", false),
            Self::CreatedAtDesc => ("memberships.created_at", "timestamptz", true),
        }
    }

    fn key(self, m: &Member) -> String {
        match self {
            Self::Name | Self::NameDesc => m.name.clone(),
            Self::Email | Self::EmailDesc => m.email.clone(),
            Self::CreatedAt | Self::CreatedAtDesc => Keyset::time_key(m.created_at),
        }
    }
}

/// Filters for [`list`].
#[derive(Debug, Clone, Default)]
pub struct MemberFilter {
    /// Only this role.
    pub role: Option<TenantRole>,
    /// Only this status.
    pub status: Option<MembershipStatus>,
    /// Only members of this group.
    pub group_id: Option<Uuid>,
    /// Name or email contains this (case-insensitive).
    pub q: Option<String>,
}

async fn groups_of(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    users: &[Uuid],
) -> Result<HashMap<Uuid, Vec<Uuid>>, TenancyError> {
    let rows: Vec<(Uuid, Uuid)> = user_groups::table
        .filter(user_groups::tenant_id.eq(tenant.into_uuid()))
        .filter(user_groups::user_id.eq_any(users))
        .select((user_groups::user_id, user_groups::group_id))
        .order(user_groups::group_id)
        .load(conn)
        .await?;
    let mut map: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (user, group) in rows {
        map.entry(user).or_default().push(group);
    }
    Ok(map)
}

fn to_member(
    row: MemberRow,
    groups: &mut HashMap<Uuid, Vec<Uuid>>,
) -> Result<Member, TenancyError> {
    let (user_id, email, name, invited_name, role, status, manager_id, created_at) = row;
    let status: MembershipStatus = crate::parse_column(&status)?;
    // Until the invitation is accepted the member is shown with the name the inviter typed, never
    // the account's own: an invitation must not reveal whether the address already had an account.
    let name = match invited_name {
        Some(invited) if status == MembershipStatus::Invited => invited,
        _ => name,
    };
    Ok(Member {
        user_id,
        email,
        name,
        role: crate::parse_column(&role)?,
        status,
        manager_id,
        group_ids: groups.remove(&user_id).unwrap_or_default(),
        created_at,
    })
}

fn member_columns() -> (
    memberships::user_id,
    users::email,
    users::name,
    memberships::invited_name,
    memberships::role,
    memberships::status,
    memberships::manager_id,
    memberships::created_at,
) {
    (
        memberships::user_id,
        users::email,
        users::name,
        memberships::invited_name,
        memberships::role,
        memberships::status,
        memberships::manager_id,
        memberships::created_at,
    )
}

/// Lists the members the actor reaches (MANAGE_USERS, VIEW_ALL_PROGRESS, VIEW_GROUP_PROGRESS or
/// VIEW_MANAGER_DASHBOARD, each as far as its scope reaches: tenant-wide, the granted groups' members,
/// the manager subtree; see [`guild_kernel::member_scope`]), in a fixed number of queries whatever
/// the page size: by user id without a `sort`, else by the sort's key and then user id (keyset:
/// the cursor carries both).
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    filter: &MemberFilter,
    sort: Option<MemberSort>,
    page: &PageRequest,
) -> Result<Page<Member>, TenancyError> {
    use diesel::dsl::sql;
    use diesel::sql_types::{Bool, Text, Uuid as SqlUuid};
    let scope = member_scope(actor, MEMBER_VIEWERS)?;
    let limit = page.limit();
    let mut query = memberships::table
        .inner_join(users::table.on(users::id.eq(memberships::user_id)))
        .filter(memberships::tenant_id.eq(actor.tenant_id.into_uuid()))
        .select(member_columns())
        .limit(i64::from(limit) + 1)
        .into_boxed();
    match sort {
        None => {
            query = query.order(memberships::user_id.asc());
            if let Some(after) = crate::cursor_uuid(page)? {
                query = query.filter(memberships::user_id.gt(after));
            }
        }
        Some(sort) => {
            let (key, cast, desc) = sort.parts();
            let dir = if desc { "DESC" } else { "ASC" };
            query = query.order(sql::<Text>(&format!(
                "{key} {dir}, memberships.user_id {dir}"
            )));
            if let Some(after) = crate::cursor_keyset(page, sort.as_str())? {
                let op = if desc { "<" } else { ">" };
                query = query.filter(
                    sql::<Bool>(&format!("({key}, memberships.user_id) {op} (CAST("))
                        .bind::<Text, _>(after.key)
                        .sql(&format!(" AS {cast}), "))
                        .bind::<SqlUuid, _>(after.id)
                        .sql(")"),
                );
            }
        }
    }
    if scope != MemberScope::All {
        query = query.filter(guild_db::scope::filter(
            &scope,
            "memberships.user_id",
            "memberships.tenant_id",
        ));
    }
    if let Some(role) = filter.role {
        query = query.filter(memberships::role.eq(role.as_str()));
    }
    match filter.status {
        Some(status) => query = query.filter(memberships::status.eq(status.as_str())),
        // Removed members are listed only when asked for.
        None => query = query.filter(memberships::status.ne(MembershipStatus::Removed.as_str())),
    }
    if let Some(group) = filter.group_id {
        query = query.filter(diesel::dsl::exists(
            user_groups::table
                .filter(user_groups::tenant_id.eq(memberships::tenant_id))
                .filter(user_groups::user_id.eq(memberships::user_id))
                .filter(user_groups::group_id.eq(group)),
        ));
    }
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = format!(
            "%{}%",
            q.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        query = query.filter(
            users::name
                .ilike(pattern.clone())
                .or(users::email.ilike(pattern)),
        );
    }
    let rows: Vec<MemberRow> = query.load(conn).await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.0).collect();
    let mut groups = groups_of(conn, actor.tenant_id, &ids).await?;
    let members = rows
        .into_iter()
        .map(|r| to_member(r, &mut groups))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_overfetch(
        members,
        limit,
        |m: &Member| match sort {
            None => m.user_id.to_string(),
            Some(sort) => Keyset {
                sort: sort.as_str().to_owned(),
                key: sort.key(m),
                id: m.user_id,
            }
            .raw(),
        },
    ))
}

/// One member; members may read themselves, and whoever lists members reads those their list
/// shows (the same [`member_scope`]): a member outside it is 404, as one of another tenant.
pub async fn get(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    user: UserId,
) -> Result<Member, TenancyError> {
    let member = load(conn, actor.tenant_id, user).await?;
    if user != actor.user_id
        && !member_scope(actor, MEMBER_VIEWERS)?.covers(user, &member.group_ids)
    {
        return Err(TenancyError::MemberNotFound);
    }
    Ok(member)
}

pub(crate) async fn load(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
) -> Result<Member, TenancyError> {
    let row: MemberRow = memberships::table
        .inner_join(users::table.on(users::id.eq(memberships::user_id)))
        .filter(memberships::tenant_id.eq(tenant.into_uuid()))
        .filter(memberships::user_id.eq(user.into_uuid()))
        .select(member_columns())
        .first(conn)
        .await
        .optional()?
        .ok_or(TenancyError::MemberNotFound)?;
    let mut groups = groups_of(conn, tenant, &[row.0]).await?;
    to_member(row, &mut groups)
}

fn role_of(member: &Member) -> TenantRole {
    member.role
}

/// May `actor` act on a member with `role`?
fn may_act_on(actor: &Actor, role: TenantRole) -> bool {
    actor.role == TenantRole::Owner || actor.role.rank() < role.rank()
}

/// May `actor` give `role`?
fn may_give(actor: &Actor, role: TenantRole) -> bool {
    actor.role == TenantRole::Owner || actor.role.rank() < role.rank()
}

/// Loads the target and checks MANAGE_USERS on them and the role rule.
async fn managed_target(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    user: UserId,
) -> Result<Member, TenancyError> {
    let member = load(conn, actor.tenant_id, user).await?;
    authorize(
        actor,
        Permission::ManageUsers,
        Target::User {
            id: user,
            groups: &member.group_ids,
        },
    )?;
    if !may_act_on(actor, role_of(&member)) {
        return Err(TenancyError::RoleNotAssignable);
    }
    Ok(member)
}

/// [`managed_target`], refusing a member who was removed (their history stays, nothing about
/// them changes but an erasure).
pub(crate) async fn current_target(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    user: UserId,
) -> Result<Member, TenancyError> {
    let member = managed_target(conn, actor, user).await?;
    if member.status == MembershipStatus::Removed {
        return Err(TenancyError::MemberRemoved);
    }
    Ok(member)
}

/// Fails with `LastOwner` unless an active OWNER other than `leaving` remains. The active owners'
/// rows are locked first, so two owners demoting (or removing) each other at once take turns and
/// the second sees the first's change: one of them stays.
async fn ensure_another_owner(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    leaving: UserId,
) -> Result<(), TenancyError> {
    let owners: Vec<Uuid> = memberships::table
        .filter(memberships::tenant_id.eq(tenant.into_uuid()))
        .filter(memberships::role.eq(TenantRole::Owner.as_str()))
        .filter(memberships::status.eq("ACTIVE"))
        .select(memberships::user_id)
        .for_update()
        .load(conn)
        .await?;
    let others = owners.iter().filter(|o| **o != leaving.into_uuid()).count();
    if others == 0 {
        Err(TenancyError::LastOwner)
    } else {
        Ok(())
    }
}

/// An invitation.
#[derive(Debug, Clone)]
pub struct Invite {
    /// Who.
    pub email: String,
    /// Their name (used when the account is new).
    pub name: String,
    /// Their role.
    pub role: TenantRole,
    /// Their manager.
    pub manager_id: Option<UserId>,
    /// Groups to add them to.
    pub group_ids: Vec<Uuid>,
}

/// Invites someone (MANAGE_USERS): creates the account if new and adds an INVITED membership,
/// takes one unit of the tenant's daily invitation cap, then queues the invitation email. The
/// membership stays INVITED until the address's owner
/// accepts (see [`crate::invitations`]); an existing account's name is never changed, and the
/// answer is the same whether or not the address already had an account.
pub async fn invite(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    invite: &Invite,
    caps: &InviteCaps,
    now: DateTime<Utc>,
) -> Result<Member, TenancyError> {
    authorize(
        actor,
        Permission::ManageUsers,
        Target::Groups(&invite.group_ids),
    )
    .or_else(|_| authorize(actor, Permission::ManageUsers, Target::Tenant))?;
    if !may_give(actor, invite.role) {
        return Err(TenancyError::RoleNotAssignable);
    }
    check_invited_name(&invite.name)?;
    let existing: Option<Uuid> = users::table
        .filter(crate::lower(users::email).eq(invite.email.trim().to_lowercase()))
        .select(users::id)
        .first(conn)
        .await
        .optional()?;
    let user = match existing {
        Some(id) => UserId(id),
        None => {
            insert_user(
                conn,
                &invite.email,
                &invite.name,
                None,
                guild_kernel::GlobalRole::Employee,
                crate::tenants::Address::Unverified,
                now,
            )
            .await?
        }
    };
    let status = MembershipStatus::Invited;
    if let Some(manager) = invite.manager_id {
        load(conn, actor.tenant_id, manager).await?;
    }
    let key = (actor.tenant_id.into_uuid(), user.into_uuid());
    let earlier: Option<String> = memberships::table
        .find(key)
        .select(memberships::status)
        .first(conn)
        .await
        .optional()?;
    match earlier.as_deref() {
        // Someone removed earlier is invited again: their kept membership waits for them.
        Some("REMOVED") => {
            diesel::update(memberships::table.find(key))
                .set((
                    memberships::status.eq(status.as_str()),
                    memberships::role.eq(invite.role.as_str()),
                    memberships::manager_id.eq(invite.manager_id.map(UserId::into_uuid)),
                    memberships::removed_at.eq(None::<DateTime<Utc>>),
                    memberships::updated_at.eq(now),
                ))
                .execute(conn)
                .await?;
        }
        Some(_) => return Err(TenancyError::AlreadyMember),
        None => {
            insert_membership(
                conn,
                actor.tenant_id,
                user,
                invite.role,
                status,
                invite.manager_id.map(UserId::into_uuid),
            )
            .await?;
        }
    }
    diesel::update(memberships::table.find(key))
        .set(memberships::invited_name.eq(Some(invite.name.trim())))
        .execute(conn)
        .await?;
    add_to_groups(conn, actor.tenant_id, user, &invite.group_ids).await?;
    crate::quota::take(conn, actor.tenant_id, 1, caps, now).await?;
    guild_db::outbox::publish(
        conn,
        Some(actor.tenant_id),
        &InviteRequested {
            tenant_id: actor.tenant_id.into_uuid(),
            user_id: user.into_uuid(),
        },
    )
    .await?;
    audit::record(
        conn,
        actor,
        "MEMBER_INVITED",
        "member",
        Some(user.to_string()),
        serde_json::json!({ "email": invite.email, "role": invite.role, "status": status }),
    )
    .await?;
    let member = load(conn, actor.tenant_id, user).await?;
    crate::events::member(conn, actor.tenant_id, "INVITED", &member).await?;
    Ok(member)
}

/// The invited name is the one text an inviter puts in the email: one line, no control
/// characters, so it cannot lay out a message of its own (the email is plain text, so markup is
/// shown as typed, never rendered).
pub(crate) fn check_invited_name(name: &str) -> Result<(), TenancyError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(TenancyError::invalid(
            "name",
            "invalid_name",
            "1 to 200 characters on one line, without control characters",
        ));
    }
    Ok(())
}

pub(crate) async fn add_to_groups(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    groups: &[Uuid],
) -> Result<(), TenancyError> {
    if groups.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = groups
        .iter()
        .map(|g| {
            (
                user_groups::tenant_id.eq(tenant.into_uuid()),
                user_groups::group_id.eq(*g),
                user_groups::user_id.eq(user.into_uuid()),
            )
        })
        .collect();
    let added: Vec<Uuid> = diesel::insert_into(user_groups::table)
        .values(rows)
        .on_conflict_do_nothing()
        .returning(user_groups::group_id)
        .get_results(conn)
        .await
        .map_err(|e| match guild_db::DbError::from(e) {
            guild_db::DbError::ForeignKeyViolation { .. } => TenancyError::GroupNotFound,
            other => TenancyError::Db(other),
        })?;
    for group in added {
        crate::events::group_members(conn, tenant, "ADDED", group, vec![user.into_uuid()]).await?;
    }
    Ok(())
}

/// Changes a member's role.
pub async fn change_role(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    user: UserId,
    role: TenantRole,
    now: DateTime<Utc>,
) -> Result<Member, TenancyError> {
    let member = current_target(conn, actor, user).await?;
    if !may_give(actor, role) {
        return Err(TenancyError::RoleNotAssignable);
    }
    let before = role_of(&member);
    if before == TenantRole::Owner && role != TenantRole::Owner {
        ensure_another_owner(conn, actor.tenant_id, user).await?;
    }
    diesel::update(memberships::table.find((actor.tenant_id.into_uuid(), user.into_uuid())))
        .set((
            memberships::role.eq(role.as_str()),
            memberships::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    audit::record(
        conn,
        actor,
        "MEMBER_ROLE_CHANGED",
        "member",
        Some(user.to_string()),
        serde_json::json!({ "from": before, "to": role }),
    )
    .await?;
    let member = load(conn, actor.tenant_id, user).await?;
    if before != role {
        crate::events::member(conn, actor.tenant_id, "ROLE_CHANGED", &member).await?;
    }
    Ok(member)
}

/// Sets (or clears) a member's manager, refusing cycles.
pub async fn set_manager(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    user: UserId,
    manager: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<Member, TenancyError> {
    let member = current_target(conn, actor, user).await?;
    if let Some(manager) = manager {
        // Two changes checked at once could each see no cycle and together make one: the
        // tenant's manager changes take turns.
        guild_db::lock_xact(conn, &format!("manager_tree:{}", actor.tenant_id)).await?;
        load(conn, actor.tenant_id, manager).await?;
        let below = crate::actor::subtree(conn, actor.tenant_id, user).await?;
        if manager == user || below.contains(&manager) {
            return Err(TenancyError::ManagerCycle);
        }
    }
    diesel::update(memberships::table.find((actor.tenant_id.into_uuid(), user.into_uuid())))
        .set((
            memberships::manager_id.eq(manager.map(UserId::into_uuid)),
            memberships::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    audit::record(
        conn,
        actor,
        "MEMBER_MANAGER_CHANGED",
        "member",
        Some(user.to_string()),
        serde_json::json!({ "from": member.manager_id, "to": manager }),
    )
    .await?;
    let after = load(conn, actor.tenant_id, user).await?;
    if after.manager_id != member.manager_id {
        crate::events::member(conn, actor.tenant_id, "MANAGER_CHANGED", &after).await?;
    }
    Ok(after)
}

/// Deactivates (`active = false`) or reactivates a member. An invitation not yet accepted can be
/// neither: only its holder turns it into an active membership (remove it to withdraw it).
pub async fn set_active(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    user: UserId,
    active: bool,
    now: DateTime<Utc>,
) -> Result<Member, TenancyError> {
    let member = current_target(conn, actor, user).await?;
    if member.status == MembershipStatus::Invited {
        return Err(TenancyError::InvitationPending);
    }
    if !active && role_of(&member) == TenantRole::Owner {
        ensure_another_owner(conn, actor.tenant_id, user).await?;
    }
    let status = if active {
        MembershipStatus::Active
    } else {
        MembershipStatus::Deactivated
    }
    .as_str();
    diesel::update(memberships::table.find((actor.tenant_id.into_uuid(), user.into_uuid())))
        .filter(memberships::status.ne("INVITED"))
        .set((
            memberships::status.eq(status),
            memberships::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    let action = if active {
        "MEMBER_REACTIVATED"
    } else {
        "MEMBER_DEACTIVATED"
    };
    audit::record(
        conn,
        actor,
        action,
        "member",
        Some(user.to_string()),
        serde_json::json!({}),
    )
    .await?;
    let after = load(conn, actor.tenant_id, user).await?;
    if after.status != member.status {
        let change = if active { "REACTIVATED" } else { "DEACTIVATED" };
        crate::events::member(conn, actor.tenant_id, change, &after).await?;
    }
    Ok(after)
}

/// Removes a member from the tenant (their account stays).
pub async fn remove(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<(), TenancyError> {
    let member = current_target(conn, actor, user).await?;
    if role_of(&member) == TenantRole::Owner {
        ensure_another_owner(conn, actor.tenant_id, user).await?;
    }
    let (tenant, id) = (actor.tenant_id.into_uuid(), user.into_uuid());
    if member.status == MembershipStatus::Invited {
        // A withdrawn invitation: the account never acted here, there is no history to keep.
        diesel::delete(memberships::table.find((tenant, id)))
            .execute(conn)
            .await?;
    } else {
        // The membership stays as REMOVED, so certificates, the XP ledger, completions and the
        // audit trail that refer to it stay; what gave access goes.
        diesel::update(memberships::table.find((tenant, id)))
            .set((
                memberships::status.eq("REMOVED"),
                memberships::removed_at.eq(Some(now)),
                memberships::manager_id.eq(None::<Uuid>),
                memberships::updated_at.eq(now),
            ))
            .execute(conn)
            .await?;
        diesel::update(memberships::table)
            .filter(memberships::tenant_id.eq(tenant))
            .filter(memberships::manager_id.eq(id))
            .set(memberships::manager_id.eq(None::<Uuid>))
            .execute(conn)
            .await?;
        diesel::delete(
            user_groups::table
                .filter(user_groups::tenant_id.eq(tenant))
                .filter(user_groups::user_id.eq(id)),
        )
        .execute(conn)
        .await?;
        diesel::delete(
            user_permissions::table
                .filter(user_permissions::tenant_id.eq(tenant))
                .filter(user_permissions::user_id.eq(id)),
        )
        .execute(conn)
        .await?;
    }
    audit::record(
        conn,
        actor,
        "MEMBER_REMOVED",
        "member",
        Some(user.to_string()),
        serde_json::json!({ "email": member.email, "role": member.role }),
    )
    .await?;
    let removed = Member {
        status: MembershipStatus::Removed,
        manager_id: None,
        group_ids: Vec::new(),
        ..member
    };
    crate::events::member(conn, actor.tenant_id, "REMOVED", &removed).await?;
    Ok(())
}

/// Erases a removed member's personal fields on request (MANAGE_USERS, as for removal): their
/// name and email are replaced in the account and in this tenant's audit trail, and the account
/// can no longer sign in; certificates, the XP ledger and the audit rows stay, under the
/// replaced name. Only an account that no tenant has as a member any more is erased (the account
/// is shared by every tenant it belongs to): the cross-tenant check and the account's own rows
/// are [`erase_account`]'s, run outside the tenant transaction.
pub async fn check_erasable(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    user: UserId,
) -> Result<(), TenancyError> {
    let member = managed_target(conn, actor, user).await?;
    if member.status != MembershipStatus::Removed {
        return Err(TenancyError::MemberNotRemoved);
    }
    Ok(())
}

/// The account's side of an erasure (a cross-tenant write, outside any tenant transaction):
/// refused while any tenant still has the account as a member.
pub async fn erase_account(
    conn: &mut AsyncPgConnection,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<(), TenancyError> {
    use diesel_async::AsyncConnection;
    use guild_db::schema::{email_tokens, refresh_tokens};
    conn.transaction::<_, TenancyError, _>(async |conn| {
        let elsewhere: i64 = memberships::table
            .filter(memberships::user_id.eq(user.into_uuid()))
            .filter(memberships::status.ne("REMOVED"))
            .count()
            .get_result(conn)
            .await?;
        if elsewhere > 0 {
            return Err(TenancyError::MemberElsewhere);
        }
        let id = user.into_uuid();
        diesel::update(users::table.find(id))
            .set((
                users::email.eq(format!("erased-{}@erased.invalid", id.simple())),
                users::name.eq("Erased member"),
                users::password_hash.eq(None::<String>),
                users::email_verified_at.eq(None::<DateTime<Utc>>),
                users::erased_at.eq(Some(now)),
                users::session_generation.eq(users::session_generation + 1),
                users::updated_at.eq(now),
            ))
            .execute(conn)
            .await?;
        diesel::update(memberships::table)
            .filter(memberships::user_id.eq(id))
            .set(memberships::invited_name.eq(None::<String>))
            .execute(conn)
            .await?;
        diesel::update(refresh_tokens::table)
            .filter(refresh_tokens::user_id.eq(id))
            .filter(refresh_tokens::revoked_at.is_null())
            .set(refresh_tokens::revoked_at.eq(Some(now)))
            .execute(conn)
            .await?;
        diesel::delete(email_tokens::table.filter(email_tokens::user_id.eq(id)))
            .execute(conn)
            .await?;
        Ok(())
    })
    .await
}

/// The tenant's side of an erasure: the email disappears from the audit trail's details, and
/// the erasure itself is recorded (without personal data).
pub async fn record_erasure(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    user: UserId,
) -> Result<(), TenancyError> {
    guild_db::audit::scrub_personal_details(conn, actor.tenant_id.into_uuid(), &user.to_string())
        .await?;
    audit::record(
        conn,
        actor,
        "MEMBER_ERASED",
        "member",
        Some(user.to_string()),
        serde_json::json!({}),
    )
    .await
}

/// A member's explicit grants.
pub async fn grants(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    user: UserId,
) -> Result<Vec<Grant>, TenancyError> {
    get(conn, actor, user).await?;
    let rows: Vec<(String, serde_json::Value)> = user_permissions::table
        .filter(user_permissions::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(user_permissions::user_id.eq(user.into_uuid()))
        .select((user_permissions::permission, user_permissions::scope))
        .order(user_permissions::permission)
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(p, scope)| {
            Some(Grant {
                permission: p.parse().ok()?,
                scope: serde_json::from_value::<GrantScope>(scope).unwrap_or_default(),
            })
        })
        .collect())
}

/// A page of a member's explicit grants, by permission (the cursor is the last permission).
pub async fn grants_page(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    user: UserId,
    page: &PageRequest,
) -> Result<Page<Grant>, TenancyError> {
    get(conn, actor, user).await?;
    let limit = page.limit();
    let mut query = user_permissions::table
        .filter(user_permissions::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(user_permissions::user_id.eq(user.into_uuid()))
        .select((user_permissions::permission, user_permissions::scope))
        .order(user_permissions::permission)
        .limit(i64::from(limit) + 1)
        .into_boxed();
    if let Some(after) = page.cursor().map_err(|_| crate::invalid_cursor())? {
        query = query.filter(user_permissions::permission.gt(after.0));
    }
    let rows: Vec<(String, serde_json::Value)> = query.load(conn).await?;
    let grants = rows
        .into_iter()
        .map(|(p, scope)| {
            Ok(Grant {
                permission: crate::parse_column(&p)?,
                scope: serde_json::from_value::<GrantScope>(scope).unwrap_or_default(),
            })
        })
        .collect::<Result<Vec<_>, TenancyError>>()?;
    Ok(Page::from_overfetch(grants, limit, |g: &Grant| {
        g.permission.as_str().to_owned()
    }))
}

/// Replaces a member's explicit grants. Only permissions the actor holds tenant-wide can be given.
pub async fn set_grants(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    user: UserId,
    grants: &[Grant],
) -> Result<Vec<Grant>, TenancyError> {
    current_target(conn, actor, user).await?;
    for grant in grants {
        authorize(actor, grant.permission, Target::Tenant)?;
    }
    diesel::delete(
        user_permissions::table
            .filter(user_permissions::tenant_id.eq(actor.tenant_id.into_uuid()))
            .filter(user_permissions::user_id.eq(user.into_uuid())),
    )
    .execute(conn)
    .await?;
    let rows: Vec<_> = grants
        .iter()
        .map(|g| {
            (
                user_permissions::tenant_id.eq(actor.tenant_id.into_uuid()),
                user_permissions::user_id.eq(user.into_uuid()),
                user_permissions::permission.eq(g.permission.as_str()),
                user_permissions::scope.eq(serde_json::to_value(&g.scope).unwrap_or_default()),
            )
        })
        .collect();
    if !rows.is_empty() {
        diesel::insert_into(user_permissions::table)
            .values(rows)
            .execute(conn)
            .await
            .map_err(on_unique(
                "user_permissions_pkey",
                TenancyError::invalid("grants", "duplicate", "each permission may appear once"),
            ))?;
    }
    audit::record(
        conn,
        actor,
        "MEMBER_PERMISSIONS_CHANGED",
        "member",
        Some(user.to_string()),
        serde_json::json!({ "grants": grants }),
    )
    .await?;
    self::grants(conn, actor, user).await
}

/// A member of a tenant found by its slug: who to sign in as.
#[derive(Debug, Clone, QueryableByName)]
pub struct SlugMember {
    /// The user's email address.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub email: String,
    /// The user.
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub user_id: Uuid,
    /// The tenant.
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub tenant_id: Uuid,
}

/// Every member of the tenant `slug` (none if there is no such tenant), across tenants: for the
/// command that signs tokens for the benchmark's members, not for requests.
pub async fn of_tenant_slug(
    conn: &mut AsyncPgConnection,
    slug: &str,
) -> Result<Vec<SlugMember>, guild_db::DbError> {
    Ok(diesel::sql_query(
        "SELECT u.email, m.user_id, m.tenant_id FROM memberships m \
         JOIN tenants t ON t.id = m.tenant_id JOIN users u ON u.id = m.user_id \
         WHERE t.slug = $1",
    )
    .bind::<diesel::sql_types::Text, _>(slug)
    .load(conn)
    .await?)
}
