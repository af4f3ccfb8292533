//! The provisioning flows: each SCIM operation as calls to tenancy's member and group functions
//! (invite, rename, manager, deactivation, removal, group members), inside the caller's one
//! tenant transaction, so the members' and groups' rules, audit rows, events and limits apply
//! to a provider exactly as to an admin. The actor is the SCIM key's creator, limited to
//! MANAGE_USERS and MANAGE_GROUPS (see the api layer's SCIM routes).

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use guild_kernel::{Actor, GroupId, MembershipStatus, TenantRole, UserId};
use guild_tenancy::members::{self, Invite};
use guild_tenancy::provisioning::{self, Found, Provisioned, ProvisionedGroup, Window};
use guild_tenancy::quota::InviteCaps;
use guild_tenancy::{TenancyError, groups};
use uuid::Uuid;

use crate::ScimError;
use crate::patch::{GroupChange, UserChange};
use crate::resource::{GroupInput, UserInput};

/// A page request as SCIM sends it: `startIndex` (1-based) and `count`.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    /// The 1-based index of the first result (values below 1 are 1).
    pub start_index: i64,
    /// How many results at most (capped at [`crate::MAX_PAGE`]; negative is 0).
    pub count: i64,
}

impl Paging {
    /// Reads `startIndex` and `count`, as the RFC says: below 1 is 1, negative is 0, the count
    /// defaults to and is capped at [`crate::MAX_PAGE`].
    pub fn new(start_index: Option<i64>, count: Option<i64>) -> Self {
        Self {
            start_index: start_index.unwrap_or(1).max(1),
            count: count.unwrap_or(crate::MAX_PAGE).clamp(0, crate::MAX_PAGE),
        }
    }

    fn window(self) -> Window {
        Window {
            offset: self.start_index - 1,
            count: self.count,
        }
    }
}

/// Users matching `filter`, a page at a time.
pub async fn list_users(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    filter: Option<&str>,
    paging: Paging,
) -> Result<Found<Provisioned>, ScimError> {
    let matched = filter
        .map(|f| crate::filter::parse(f).and_then(|f| crate::filter::users(&f)))
        .transpose()?;
    Ok(provisioning::find_members(conn, actor, matched.as_ref(), paging.window()).await?)
}

/// One User.
pub async fn get_user(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<Provisioned, ScimError> {
    Ok(provisioning::member(conn, actor, UserId(id)).await?)
}

fn manager_error(e: TenancyError) -> ScimError {
    match e {
        TenancyError::MemberNotFound => {
            ScimError::value("the manager is not a User of this tenant")
        }
        other => other.into(),
    }
}

/// Creates a User: an invitation (EMPLOYEE), as an admin's, with its email, daily cap, audit row
/// and event; then the provider's id. The member joins when they accept the invitation.
pub async fn create_user(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    caps: &InviteCaps,
    input: &UserInput,
    now: DateTime<Utc>,
) -> Result<Provisioned, ScimError> {
    if !input.active {
        return Err(ScimError::mutability(
            "a new User starts active: an invitation cannot be deactivated before it is accepted",
        ));
    }
    if let Some(manager) = input.manager {
        provisioning::member(conn, actor, UserId(manager))
            .await
            .map_err(manager_error)?;
    }
    let invite = Invite {
        email: input.email.clone(),
        name: input.name.clone(),
        role: TenantRole::Employee,
        manager_id: input.manager.map(UserId),
        group_ids: Vec::new(),
    };
    let member = members::invite(conn, actor, &invite, caps, now).await?;
    let user = UserId(member.user_id);
    if input.external_id.is_some() {
        provisioning::set_member_external_id(conn, actor, user, input.external_id.as_deref(), now)
            .await?;
    }
    get_user(conn, actor, member.user_id).await
}

/// Replaces a User: name, provider id, manager and active become the body's; the address must
/// stay the same.
pub async fn replace_user(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    input: &UserInput,
    now: DateTime<Utc>,
) -> Result<Provisioned, ScimError> {
    let changes = vec![
        UserChange::Email(input.email.clone()),
        UserChange::Name(input.name.clone()),
        UserChange::ExternalId(input.external_id.clone()),
        UserChange::Manager(input.manager),
        UserChange::Active(input.active),
    ];
    patch_user(conn, actor, id, &changes, now).await
}

/// Applies a User's changes in order; one that changes nothing does nothing (no audit row).
pub async fn patch_user(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    changes: &[UserChange],
    now: DateTime<Utc>,
) -> Result<Provisioned, ScimError> {
    let mut current = get_user(conn, actor, id).await?;
    let user = UserId(id);
    for change in changes {
        match change {
            UserChange::Email(email) => {
                if !email.eq_ignore_ascii_case(&current.email) {
                    return Err(ScimError::mutability(
                        "userName is the member's address, their account's own: it cannot change here",
                    ));
                }
            }
            UserChange::Name(name) => {
                provisioning::rename_member(conn, actor, user, name, now).await?;
            }
            UserChange::ExternalId(external) => {
                provisioning::set_member_external_id(conn, actor, user, external.as_deref(), now)
                    .await?;
            }
            UserChange::Manager(manager) => {
                if *manager != current.manager_id {
                    members::set_manager(conn, actor, user, manager.map(UserId), now)
                        .await
                        .map_err(manager_error)?;
                    current.manager_id = *manager;
                }
            }
            UserChange::Active(active) => {
                let is_active = current.status != MembershipStatus::Deactivated;
                if *active != is_active {
                    let member = members::set_active(conn, actor, user, *active, now).await?;
                    current.status = member.status;
                }
            }
        }
    }
    get_user(conn, actor, id).await
}

/// Deletes a User: the member is removed from the tenant (their history stays; a pending
/// invitation is withdrawn).
pub async fn delete_user(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), ScimError> {
    get_user(conn, actor, id).await?;
    members::remove(conn, actor, UserId(id), now).await?;
    Ok(())
}

/// Groups matching `filter`, a page at a time.
pub async fn list_groups(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    filter: Option<&str>,
    paging: Paging,
) -> Result<Found<ProvisionedGroup>, ScimError> {
    let matched = filter
        .map(|f| crate::filter::parse(f).and_then(|f| crate::filter::groups(&f)))
        .transpose()?;
    Ok(provisioning::find_groups(conn, actor, matched.as_ref(), paging.window()).await?)
}

/// One Group.
pub async fn get_group(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<ProvisionedGroup, ScimError> {
    Ok(provisioning::group(conn, actor, GroupId(id)).await?)
}

fn members_error(e: TenancyError) -> ScimError {
    match e {
        TenancyError::MemberNotFound => {
            ScimError::value("every member must be a User of this tenant")
        }
        other => other.into(),
    }
}

async fn add(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    users: &[Uuid],
) -> Result<(), ScimError> {
    if users.is_empty() {
        return Ok(());
    }
    let users: Vec<UserId> = users.iter().copied().map(UserId).collect();
    groups::add_members(conn, actor, GroupId(id), &users)
        .await
        .map_err(members_error)?;
    Ok(())
}

async fn remove(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    users: &[Uuid],
) -> Result<(), ScimError> {
    if users.is_empty() {
        return Ok(());
    }
    let users: Vec<UserId> = users.iter().copied().map(UserId).collect();
    groups::remove_members(conn, actor, GroupId(id), &users).await?;
    Ok(())
}

/// Creates a Group with its provider id and members.
pub async fn create_group(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    input: &GroupInput,
    now: DateTime<Utc>,
) -> Result<ProvisionedGroup, ScimError> {
    let group = groups::create(conn, actor, &input.name, None).await?;
    if input.external_id.is_some() {
        provisioning::set_group_external_id(
            conn,
            actor,
            GroupId(group.id),
            input.external_id.as_deref(),
            now,
        )
        .await?;
    }
    add(conn, actor, group.id, &input.members).await?;
    get_group(conn, actor, group.id).await
}

/// Replaces a Group: name, provider id and members become the body's.
pub async fn replace_group(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    input: &GroupInput,
    now: DateTime<Utc>,
) -> Result<ProvisionedGroup, ScimError> {
    let changes = vec![
        GroupChange::Name(input.name.clone()),
        GroupChange::ExternalId(input.external_id.clone()),
        GroupChange::Replace(input.members.clone()),
    ];
    patch_group(conn, actor, id, &changes, now).await
}

/// Applies a Group's changes in order.
pub async fn patch_group(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    changes: &[GroupChange],
    now: DateTime<Utc>,
) -> Result<ProvisionedGroup, ScimError> {
    let current = get_group(conn, actor, id).await?;
    let mut name = current.name;
    for change in changes {
        match change {
            GroupChange::Name(new) => {
                if *new != name {
                    groups::update(conn, actor, GroupId(id), Some(new), None, now).await?;
                    name.clone_from(new);
                }
            }
            GroupChange::ExternalId(external) => {
                provisioning::set_group_external_id(
                    conn,
                    actor,
                    GroupId(id),
                    external.as_deref(),
                    now,
                )
                .await?;
            }
            GroupChange::Add(users) => add(conn, actor, id, users).await?,
            GroupChange::Remove(users) => remove(conn, actor, id, users).await?,
            GroupChange::Replace(users) => {
                let now_in: Vec<Uuid> = get_group(conn, actor, id)
                    .await?
                    .members
                    .into_iter()
                    .map(|(u, _)| u)
                    .collect();
                let leaving: Vec<Uuid> = now_in
                    .iter()
                    .filter(|u| !users.contains(u))
                    .copied()
                    .collect();
                let joining: Vec<Uuid> = users
                    .iter()
                    .filter(|u| !now_in.contains(u))
                    .copied()
                    .collect();
                remove(conn, actor, id, &leaving).await?;
                add(conn, actor, id, &joining).await?;
            }
        }
    }
    get_group(conn, actor, id).await
}

/// Deletes a Group (its members stay members).
pub async fn delete_group(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<(), ScimError> {
    groups::delete(conn, actor, GroupId(id)).await?;
    Ok(())
}
