//! What an identity provider's provisioning (SCIM 2.0, see the `guild-scim` crate) needs beyond
//! [`crate::members`] and [`crate::groups`]: the provider's own id of a member or group
//! (`external_id`, unique per tenant when set), renaming a member, and finding members and groups
//! by a small filter language ([`Match`]) a page at a time (offset and count, as SCIM pages).
//!
//! Everything else a provider does goes through the members' and groups' own functions (invite,
//! manager, deactivation, removal, group members), so their rules, audit rows and events stay the
//! same. Removed members are not found here: to a provider they were deleted.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{groups, memberships};
use guild_kernel::{Actor, GroupId, MembershipStatus, Permission, Target, UserId, authorize};
use uuid::Uuid;

use crate::error::on_unique;
use crate::{TenancyError, audit};

/// The longest `external_id` (the column's CHECK says the same).
pub const MAX_EXTERNAL_ID: usize = 200;

/// How a [`Match`] compares an attribute with a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// Equal.
    Eq,
    /// Contains.
    Contains,
    /// Starts with.
    StartsWith,
}

/// A member's attribute a [`Match`] can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberAttr {
    /// The email address (case-insensitive).
    Email,
    /// The shown name (case-insensitive).
    Name,
    /// The provider's id (case-sensitive).
    ExternalId,
}

/// A group's attribute a [`Match`] can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupAttr {
    /// The name (case-insensitive).
    Name,
    /// The provider's id (case-sensitive).
    ExternalId,
}

/// An attribute's SQL and whether it compares case-insensitively.
pub trait Column: Copy {
    /// The SQL expression and whether it is compared case-insensitively.
    fn sql(self) -> (&'static str, bool);
}

impl Column for MemberAttr {
    fn sql(self) -> (&'static str, bool) {
        match self {
            Self::Email => ("u.email", true),
            Self::Name => (
                "(CASE WHEN m.status = 'INVITED' AND m.invited_name IS NOT NULL \
                 THEN m.invited_name ELSE u.name END)",
                true,
            ),
            Self::ExternalId => ("m.external_id", false),
        }
    }
}

impl Column for GroupAttr {
    fn sql(self) -> (&'static str, bool) {
        match self {
            Self::Name => ("g.name", true),
            Self::ExternalId => ("g.external_id", false),
        }
    }
}

/// A filter over attributes `A`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match<A> {
    /// The attribute compares with the value.
    Cmp(A, Cmp, String),
    /// The attribute has a value.
    Present(A),
    /// Both hold.
    And(Box<Match<A>>, Box<Match<A>>),
    /// Either holds.
    Or(Box<Match<A>>, Box<Match<A>>),
    /// Never holds (an attribute the resource does not have, compared with something).
    Nothing,
}

fn like_escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

impl<A: Column> Match<A> {
    /// Renders the filter as SQL with numbered parameters from `$next` on, pushing their values.
    fn render(&self, binds: &mut Vec<String>, first: usize) -> String {
        match self {
            Self::Cmp(attr, cmp, value) => {
                let (col, folded) = attr.sql();
                let col = if folded {
                    format!("lower({col})")
                } else {
                    col.to_owned()
                };
                let value = if folded {
                    value.to_lowercase()
                } else {
                    value.clone()
                };
                let (value, op) = match cmp {
                    Cmp::Eq => (value, "="),
                    Cmp::Contains => (format!("%{}%", like_escape(&value)), "LIKE"),
                    Cmp::StartsWith => (format!("{}%", like_escape(&value)), "LIKE"),
                };
                binds.push(value);
                format!("{col} {op} ${}", first + binds.len() - 1)
            }
            Self::Present(attr) => format!("({} IS NOT NULL)", attr.sql().0),
            Self::And(a, b) => format!(
                "({} AND {})",
                a.render(binds, first),
                b.render(binds, first)
            ),
            Self::Or(a, b) => format!("({} OR {})", a.render(binds, first), b.render(binds, first)),
            Self::Nothing => "FALSE".to_owned(),
        }
    }
}

/// A member as a provider sees them.
#[derive(Debug, Clone)]
pub struct Provisioned {
    /// The user.
    pub user_id: Uuid,
    /// Email.
    pub email: String,
    /// The shown name.
    pub name: String,
    /// Where the membership is (never REMOVED here).
    pub status: MembershipStatus,
    /// Their manager.
    pub manager_id: Option<Uuid>,
    /// The provider's id.
    pub external_id: Option<String>,
    /// Their groups: id and name, by name.
    pub groups: Vec<(Uuid, String)>,
    /// Joined.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

#[derive(QueryableByName)]
struct MemberRow {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    manager_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    external_id: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    updated_at: DateTime<Utc>,
}

#[derive(QueryableByName)]
struct Total {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Pair {
    #[diesel(sql_type = SqlUuid)]
    a: Uuid,
    #[diesel(sql_type = SqlUuid)]
    b: Uuid,
    #[diesel(sql_type = Text)]
    name: String,
}

/// A page of results and how many there are in all.
#[derive(Debug, Clone)]
pub struct Found<T> {
    /// How many match.
    pub total: i64,
    /// The page.
    pub items: Vec<T>,
}

/// A page: skip `offset`, take at most `count`.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// Rows skipped.
    pub offset: i64,
    /// Rows taken.
    pub count: i64,
}

const MEMBER_FROM: &str = "FROM memberships m JOIN users u ON u.id = m.user_id \
     WHERE m.tenant_id = $1 AND m.status <> 'REMOVED'";

/// Members matching `filter` (all without one), by user id, a window at a time (MANAGE_USERS
/// tenant-wide): a count, a page and the page's groups, three queries whatever the page size.
pub async fn find_members(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    filter: Option<&Match<MemberAttr>>,
    window: Window,
) -> Result<Found<Provisioned>, TenancyError> {
    authorize(actor, Permission::ManageUsers, Target::Tenant)?;
    let mut binds = Vec::new();
    let clause = filter
        .map(|f| format!(" AND {}", f.render(&mut binds, 2)))
        .unwrap_or_default();
    let tenant = actor.tenant_id.into_uuid();
    let mut count = guild_db::sql(format!("SELECT count(*) AS n {MEMBER_FROM}{clause}"))
        .bind::<SqlUuid, _>(tenant);
    for b in &binds {
        count = count.bind::<Text, _>(b.clone());
    }
    let total = count.get_result::<Total>(conn).await?.n;
    if window.count == 0 || total == 0 {
        return Ok(Found {
            total,
            items: Vec::new(),
        });
    }
    let n = binds.len();
    let mut page = guild_db::sql(format!(
        "SELECT m.user_id, u.email, {name} AS name, m.status, m.manager_id, m.external_id, \
         m.created_at, m.updated_at {MEMBER_FROM}{clause} ORDER BY m.user_id \
         OFFSET ${} LIMIT ${}",
        n + 2,
        n + 3,
        name = MemberAttr::Name.sql().0,
    ))
    .bind::<SqlUuid, _>(tenant);
    for b in binds {
        page = page.bind::<Text, _>(b);
    }
    let rows: Vec<MemberRow> = page
        .bind::<BigInt, _>(window.offset)
        .bind::<BigInt, _>(window.count)
        .load(conn)
        .await?;
    let items = with_groups(conn, actor, rows).await?;
    Ok(Found { total, items })
}

async fn with_groups(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    rows: Vec<MemberRow>,
) -> Result<Vec<Provisioned>, TenancyError> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.user_id).collect();
    let pairs: Vec<Pair> = guild_db::sql(
        "SELECT ug.user_id AS a, g.id AS b, g.name FROM user_groups ug \
         JOIN groups g ON g.tenant_id = ug.tenant_id AND g.id = ug.group_id \
         WHERE ug.tenant_id = $1 AND ug.user_id = ANY($2) ORDER BY lower(g.name), g.id",
    )
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<diesel::sql_types::Array<SqlUuid>, _>(ids)
    .load(conn)
    .await?;
    let mut groups: HashMap<Uuid, Vec<(Uuid, String)>> = HashMap::new();
    for p in pairs {
        groups.entry(p.a).or_default().push((p.b, p.name));
    }
    rows.into_iter()
        .map(|r| {
            Ok(Provisioned {
                user_id: r.user_id,
                email: r.email,
                name: r.name,
                status: crate::parse_column(&r.status)?,
                manager_id: r.manager_id,
                external_id: r.external_id,
                groups: groups.remove(&r.user_id).unwrap_or_default(),
                created_at: r.created_at,
                updated_at: r.updated_at,
            })
        })
        .collect()
}

/// One member as a provider sees them (MANAGE_USERS tenant-wide); a removed member, or one of
/// another tenant, is `MemberNotFound`.
pub async fn member(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    user: UserId,
) -> Result<Provisioned, TenancyError> {
    authorize(actor, Permission::ManageUsers, Target::Tenant)?;
    let rows: Vec<MemberRow> = guild_db::sql(format!(
        "SELECT m.user_id, u.email, {name} AS name, m.status, m.manager_id, m.external_id, \
         m.created_at, m.updated_at {MEMBER_FROM} AND m.user_id = $2",
        name = MemberAttr::Name.sql().0,
    ))
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(user.into_uuid())
    .load(conn)
    .await?;
    if rows.is_empty() {
        return Err(TenancyError::MemberNotFound);
    }
    with_groups(conn, actor, rows)
        .await?
        .pop()
        .ok_or(TenancyError::MemberNotFound)
}

fn check_external_id(external_id: Option<&str>) -> Result<(), TenancyError> {
    if let Some(id) = external_id
        && (id.is_empty() || id.chars().count() > MAX_EXTERNAL_ID)
    {
        return Err(TenancyError::invalid(
            "externalId",
            "invalid_external_id",
            "1 to 200 characters",
        ));
    }
    Ok(())
}

fn external_id_taken() -> TenancyError {
    TenancyError::invalid(
        "externalId",
        "external_id_taken",
        "another member or group of this tenant has this externalId",
    )
}

/// Sets (or clears) a member's provider id (MANAGE_USERS on them, and the role rule).
pub async fn set_member_external_id(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    user: UserId,
    external_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), TenancyError> {
    check_external_id(external_id)?;
    let member = crate::members::current_target(conn, actor, user).await?;
    let before: Option<String> = memberships::table
        .find((actor.tenant_id.into_uuid(), user.into_uuid()))
        .select(memberships::external_id)
        .first(conn)
        .await?;
    if before.as_deref() == external_id {
        return Ok(());
    }
    diesel::update(memberships::table.find((actor.tenant_id.into_uuid(), user.into_uuid())))
        .set((
            memberships::external_id.eq(external_id),
            memberships::updated_at.eq(now),
        ))
        .execute(conn)
        .await
        .map_err(on_unique(
            "memberships_external_id_key",
            external_id_taken(),
        ))?;
    audit::record(
        conn,
        actor,
        "MEMBER_EXTERNAL_ID_CHANGED",
        "member",
        Some(member.user_id.to_string()),
        serde_json::json!({ "from": before, "to": external_id }),
    )
    .await
}

/// Renames a member who has not accepted their invitation yet (MANAGE_USERS on them, and the
/// role rule): the invited name changes. Once they joined, the name is their account's own,
/// shared by every tenant they belong to: `Invalid` (`name_is_the_account_s`).
pub async fn rename_member(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    user: UserId,
    name: &str,
    now: DateTime<Utc>,
) -> Result<(), TenancyError> {
    crate::members::check_invited_name(name)?;
    let member = crate::members::current_target(conn, actor, user).await?;
    let name = name.trim();
    if member.name == name {
        return Ok(());
    }
    if member.status != MembershipStatus::Invited {
        return Err(TenancyError::invalid(
            "name",
            "name_is_the_account_s",
            "a member who joined names their account themselves",
        ));
    }
    diesel::update(memberships::table.find((actor.tenant_id.into_uuid(), user.into_uuid())))
        .set((
            memberships::invited_name.eq(Some(name)),
            memberships::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    audit::record(
        conn,
        actor,
        "MEMBER_RENAMED",
        "member",
        Some(user.to_string()),
        serde_json::json!({ "from": member.name, "to": name }),
    )
    .await
}

/// A group as a provider sees it.
#[derive(Debug, Clone)]
pub struct ProvisionedGroup {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// The provider's id.
    pub external_id: Option<String>,
    /// Its members (never removed ones): user id and shown name, by user id.
    pub members: Vec<(Uuid, String)>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

#[derive(QueryableByName)]
struct GroupRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Nullable<Text>)]
    external_id: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    updated_at: DateTime<Utc>,
}

const GROUP_FROM: &str = "FROM groups g WHERE g.tenant_id = $1";

/// Groups matching `filter` (all without one), by id, a window at a time (MANAGE_GROUPS
/// tenant-wide), with their members: three queries whatever the page size.
pub async fn find_groups(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    filter: Option<&Match<GroupAttr>>,
    window: Window,
) -> Result<Found<ProvisionedGroup>, TenancyError> {
    authorize(actor, Permission::ManageGroups, Target::Tenant)?;
    let mut binds = Vec::new();
    let clause = filter
        .map(|f| format!(" AND {}", f.render(&mut binds, 2)))
        .unwrap_or_default();
    let tenant = actor.tenant_id.into_uuid();
    let mut count = guild_db::sql(format!("SELECT count(*) AS n {GROUP_FROM}{clause}"))
        .bind::<SqlUuid, _>(tenant);
    for b in &binds {
        count = count.bind::<Text, _>(b.clone());
    }
    let total = count.get_result::<Total>(conn).await?.n;
    if window.count == 0 || total == 0 {
        return Ok(Found {
            total,
            items: Vec::new(),
        });
    }
    let n = binds.len();
    let mut page = guild_db::sql(format!(
        "SELECT g.id, g.name, g.external_id, g.created_at, g.updated_at {GROUP_FROM}{clause} \
         ORDER BY g.id OFFSET ${} LIMIT ${}",
        n + 2,
        n + 3
    ))
    .bind::<SqlUuid, _>(tenant);
    for b in binds {
        page = page.bind::<Text, _>(b);
    }
    let rows: Vec<GroupRow> = page
        .bind::<BigInt, _>(window.offset)
        .bind::<BigInt, _>(window.count)
        .load(conn)
        .await?;
    let items = with_members(conn, actor, rows).await?;
    Ok(Found { total, items })
}

async fn with_members(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    rows: Vec<GroupRow>,
) -> Result<Vec<ProvisionedGroup>, TenancyError> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let pairs: Vec<Pair> = guild_db::sql(format!(
        "SELECT ug.group_id AS a, ug.user_id AS b, {name} AS name FROM user_groups ug \
         JOIN memberships m ON m.tenant_id = ug.tenant_id AND m.user_id = ug.user_id \
         JOIN users u ON u.id = ug.user_id \
         WHERE ug.tenant_id = $1 AND ug.group_id = ANY($2) AND m.status <> 'REMOVED' \
         ORDER BY ug.user_id",
        name = MemberAttr::Name.sql().0,
    ))
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<diesel::sql_types::Array<SqlUuid>, _>(ids)
    .load(conn)
    .await?;
    let mut members: HashMap<Uuid, Vec<(Uuid, String)>> = HashMap::new();
    for p in pairs {
        members.entry(p.a).or_default().push((p.b, p.name));
    }
    Ok(rows
        .into_iter()
        .map(|r| ProvisionedGroup {
            members: members.remove(&r.id).unwrap_or_default(),
            id: r.id,
            name: r.name,
            external_id: r.external_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
        .collect())
}

/// One group as a provider sees it (MANAGE_GROUPS tenant-wide).
pub async fn group(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: GroupId,
) -> Result<ProvisionedGroup, TenancyError> {
    authorize(actor, Permission::ManageGroups, Target::Tenant)?;
    let rows: Vec<GroupRow> = guild_db::sql(format!(
        "SELECT g.id, g.name, g.external_id, g.created_at, g.updated_at {GROUP_FROM} AND g.id = $2"
    ))
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(id.into_uuid())
    .load(conn)
    .await?;
    if rows.is_empty() {
        return Err(TenancyError::GroupNotFound);
    }
    with_members(conn, actor, rows)
        .await?
        .pop()
        .ok_or(TenancyError::GroupNotFound)
}

/// Sets (or clears) a group's provider id (MANAGE_GROUPS on it).
pub async fn set_group_external_id(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: GroupId,
    external_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), TenancyError> {
    check_external_id(external_id)?;
    crate::groups::get(conn, actor, id).await?;
    let id = id.into_uuid();
    authorize(actor, Permission::ManageGroups, Target::Groups(&[id]))?;
    let before: Option<String> = groups::table
        .find((actor.tenant_id.into_uuid(), id))
        .select(groups::external_id)
        .first(conn)
        .await?;
    if before.as_deref() == external_id {
        return Ok(());
    }
    diesel::update(groups::table.find((actor.tenant_id.into_uuid(), id)))
        .set((
            groups::external_id.eq(external_id),
            groups::updated_at.eq(now),
        ))
        .execute(conn)
        .await
        .map_err(on_unique("groups_external_id_key", external_id_taken()))?;
    audit::record(
        conn,
        actor,
        "GROUP_EXTERNAL_ID_CHANGED",
        "group",
        Some(id.to_string()),
        serde_json::json!({ "from": before, "to": external_id }),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_renders_with_numbered_parameters_and_escaped_patterns() {
        let filter = Match::Or(
            Box::new(Match::Cmp(MemberAttr::Email, Cmp::Eq, "A@x.COM".into())),
            Box::new(Match::And(
                Box::new(Match::Cmp(MemberAttr::Name, Cmp::StartsWith, "50%_".into())),
                Box::new(Match::Present(MemberAttr::ExternalId)),
            )),
        );
        let mut binds = Vec::new();
        let sql = filter.render(&mut binds, 2);
        assert!(
            sql.starts_with("(lower(u.email) = $2 OR (lower((CASE"),
            "{sql}"
        );
        assert!(
            sql.contains("LIKE $3 AND (m.external_id IS NOT NULL)))"),
            "{sql}"
        );
        assert_eq!(binds, vec!["a@x.com".to_owned(), "50\\%\\_%".to_owned()]);
    }
}
