//! Who coaches whom, and who sees a member's coaching.
//!
//! Owns `coaching_relationships`.
//!
//! - **Coaches** of a member: their manager (`memberships.manager_id`), by default and without a
//!   row, and the coaches an admin added (MANAGE_USERS holders, tenant-wide) — rows here. Nobody
//!   is their own coach (`cannot_coach_self`, also a CHECK).
//! - **Who sees a member's coaching** (sessions with their scores and shared notes, the action
//!   plan, the overview): the member themselves, their coaches, and every manager above them in
//!   the manager tree (the chain up from the member, walked with a recursive query). Anyone else —
//!   an admin, a peer manager, another tenant — gets 404 `coachee_not_found`, as if the member
//!   were not there. What only coaches write (sessions, action items for others, quick notes) is
//!   refused with 403 to those who merely see it.
//! - The coach's private notes and quick notes are read by the coach who wrote them only.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::coaching_relationships as r;
use guild_kernel::{Actor, Permission, Target, authorize};
use serde::Serialize;
use uuid::Uuid;

use crate::CoachingError;

/// How the actor stands to a member's coaching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// The member is the actor.
    Own,
    /// The actor coaches the member (their manager, or a coach an admin added).
    Coach,
    /// The actor is above the member in the manager tree (not their direct coach).
    Manager,
    /// None of these: the member's coaching is invisible (404).
    None,
}

impl Relation {
    /// The actor sees the member's coaching.
    pub fn sees(self) -> bool {
        !matches!(self, Self::None)
    }
}

/// Where a coach comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CoachSource {
    /// The member's manager.
    Manager,
    /// Added by an admin.
    Assigned,
}

impl CoachSource {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manager => "MANAGER",
            Self::Assigned => "ASSIGNED",
        }
    }
}

/// A coach of a member, or a coachee of a coach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The member.
    pub user_id: Uuid,
    /// Their name.
    pub name: String,
    /// Why they are in the list.
    pub source: CoachSource,
}

pub(crate) fn coachee_not_found() -> CoachingError {
    CoachingError::NotFound("coachee_not_found")
}

#[derive(QueryableByName)]
struct Standing {
    #[diesel(sql_type = Bool)]
    member: bool,
    #[diesel(sql_type = Bool)]
    coaches: bool,
    #[diesel(sql_type = Bool)]
    above: bool,
}

/// How `actor` stands to `coachee`'s coaching; 404 `coachee_not_found` when `coachee` is not a
/// member of the tenant. An API key that does not act as a member stands nowhere (its routes are
/// refused before this, see `docs/PERMISSIONS.md`).
pub async fn relation(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    coachee: Uuid,
) -> Result<Relation, CoachingError> {
    let s: Standing = guild_db::sql(
        "SELECT EXISTS (SELECT 1 FROM memberships WHERE tenant_id = $1 AND user_id = $3 \
                  AND status IN ('ACTIVE', 'DEACTIVATED')) AS member, \
           (EXISTS (SELECT 1 FROM memberships WHERE tenant_id = $1 AND user_id = $3 \
                  AND manager_id = $2) \
            OR EXISTS (SELECT 1 FROM coaching_relationships WHERE tenant_id = $1 \
                  AND coachee_id = $3 AND coach_id = $2)) AS coaches, \
           EXISTS (WITH RECURSIVE up (id) AS ( \
                  SELECT manager_id FROM memberships WHERE tenant_id = $1 AND user_id = $3 \
                     AND manager_id IS NOT NULL \
                  UNION \
                  SELECT m.manager_id FROM memberships m JOIN up ON m.user_id = up.id \
                   WHERE m.tenant_id = $1 AND m.manager_id IS NOT NULL) \
                SELECT 1 FROM up WHERE id = $2) AS above",
    )
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<SqlUuid, _>(coachee)
    .get_result(conn)
    .await?;
    if !s.member {
        return Err(coachee_not_found());
    }
    if !actor.acts_as_member() {
        return Ok(Relation::None);
    }
    Ok(if coachee == actor.user_id.into_uuid() {
        Relation::Own
    } else if s.coaches {
        Relation::Coach
    } else if s.above {
        Relation::Manager
    } else {
        Relation::None
    })
}

/// The actor's relation to `coachee`, refusing one who does not see their coaching (404).
pub async fn seen(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    coachee: Uuid,
) -> Result<Relation, CoachingError> {
    let rel = relation(conn, actor, coachee).await?;
    if rel.sees() {
        Ok(rel)
    } else {
        Err(coachee_not_found())
    }
}

/// Refuses an actor who does not coach `coachee`: themselves (403 `cannot_coach_self`), someone
/// who only sees it (403 `forbidden`), anyone else (404).
pub async fn coached(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    coachee: Uuid,
) -> Result<(), CoachingError> {
    match seen(conn, actor, coachee).await? {
        Relation::Coach => Ok(()),
        Relation::Own => Err(CoachingError::CannotCoachSelf),
        _ => Err(CoachingError::Forbidden),
    }
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    source: String,
}

fn person(row: Row) -> Person {
    Person {
        user_id: row.user_id,
        name: row.name,
        source: if row.source == "MANAGER" {
            CoachSource::Manager
        } else {
            CoachSource::Assigned
        },
    }
}

fn manages_users(actor: &Actor) -> bool {
    authorize(actor, Permission::ManageUsers, Target::Tenant).is_ok()
}

/// The coaches of `coachee`: their manager first, then the coaches admins added, by name. For
/// those who see the member's coaching and for MANAGE_USERS holders.
pub async fn coaches_of(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    coachee: Uuid,
) -> Result<Vec<Person>, CoachingError> {
    if !manages_users(actor) {
        seen(conn, actor, coachee).await?;
    } else {
        relation(conn, actor, coachee).await?;
    }
    let rows: Vec<Row> = guild_db::sql(
        "SELECT u.id AS user_id, u.name, 'MANAGER' AS source FROM memberships m \
           JOIN users u ON u.id = m.manager_id \
          WHERE m.tenant_id = $1 AND m.user_id = $2 AND m.manager_id IS NOT NULL \
         UNION ALL \
         SELECT u.id, u.name, 'ASSIGNED' FROM coaching_relationships c JOIN users u ON u.id = c.coach_id \
          WHERE c.tenant_id = $1 AND c.coachee_id = $2 \
            AND c.coach_id IS DISTINCT FROM (SELECT manager_id FROM memberships \
                 WHERE tenant_id = $1 AND user_id = $2) \
         ORDER BY 3 DESC, 2, 1",
    )
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(coachee)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(person).collect())
}

/// The actor's coachees: the active members they manage directly, and those an admin made them
/// coach, by name (at most [`MAX_LISTED`]).
pub async fn coachees(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
) -> Result<Vec<Person>, CoachingError> {
    if !actor.acts_as_member() {
        return Ok(Vec::new());
    }
    let rows: Vec<Row> = guild_db::sql(
        "SELECT DISTINCT ON (name, user_id) user_id, name, source FROM ( \
           SELECT u.id AS user_id, u.name, 'MANAGER' AS source FROM memberships m \
             JOIN users u ON u.id = m.user_id \
            WHERE m.tenant_id = $1 AND m.manager_id = $2 AND m.status = 'ACTIVE' \
           UNION ALL \
           SELECT u.id, u.name, 'ASSIGNED' FROM coaching_relationships c \
             JOIN memberships m ON m.tenant_id = c.tenant_id AND m.user_id = c.coachee_id \
             JOIN users u ON u.id = c.coachee_id \
            WHERE c.tenant_id = $1 AND c.coach_id = $2 AND m.status = 'ACTIVE') x \
         ORDER BY name, user_id, source DESC LIMIT 1000",
    )
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(person).collect())
}

/// The most coachees [`coachees`] lists.
pub const MAX_LISTED: usize = 1000;

/// The most coaches an admin adds to one member.
pub const MAX_ASSIGNED_COACHES: i64 = 20;

#[derive(QueryableByName)]
struct Active {
    #[diesel(sql_type = Bool)]
    ok: bool,
}

/// Makes `coach` a coach of `coachee` (MANAGE_USERS tenant-wide; never oneself's coach, 403
/// `cannot_coach_self`; both active members, the coach not a VIEWER). Adding twice changes
/// nothing. Audited.
pub async fn add_coach(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    coachee: Uuid,
    coach: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<Person>, CoachingError> {
    authorize(actor, Permission::ManageUsers, Target::Tenant)?;
    relation(conn, actor, coachee).await?;
    if coach == coachee {
        return Err(CoachingError::CannotCoachSelf);
    }
    let tenant = actor.tenant_id.into_uuid();
    let active: Active = guild_db::sql(
        "SELECT EXISTS (SELECT 1 FROM memberships WHERE tenant_id = $1 AND user_id = $2 \
                AND status = 'ACTIVE' AND role <> 'VIEWER') AS ok",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<SqlUuid, _>(coach)
    .get_result(conn)
    .await?;
    if !active.ok {
        return Err(CoachingError::invalid(
            "coach_id",
            "unknown",
            "the coach must be an active member who is not a VIEWER",
        ));
    }
    let count: i64 = r::table
        .filter(r::tenant_id.eq(tenant))
        .filter(r::coachee_id.eq(coachee))
        .count()
        .get_result(conn)
        .await?;
    if count >= MAX_ASSIGNED_COACHES {
        return Err(CoachingError::LimitReached("coach_limit_reached"));
    }
    let added = diesel::insert_into(r::table)
        .values((
            r::tenant_id.eq(tenant),
            r::coachee_id.eq(coachee),
            r::coach_id.eq(coach),
            r::created_by.eq(actor.user_id.into_uuid()),
            r::created_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    if added > 0 {
        guild_db::audit::record(
            conn,
            actor,
            "coaching.coach_added",
            "user",
            Some(coachee.to_string()),
            serde_json::json!({ "coach_id": coach }),
        )
        .await?;
    }
    coaches_of(conn, actor, coachee).await
}

/// Removes a coach an admin added (MANAGE_USERS tenant-wide); 404 `coach_not_found` when
/// `coach` is not such a coach of `coachee` (a manager stays their reports' coach). Audited.
pub async fn remove_coach(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    coachee: Uuid,
    coach: Uuid,
) -> Result<(), CoachingError> {
    authorize(actor, Permission::ManageUsers, Target::Tenant)?;
    relation(conn, actor, coachee).await?;
    let removed = diesel::delete(
        r::table
            .filter(r::tenant_id.eq(actor.tenant_id.into_uuid()))
            .filter(r::coachee_id.eq(coachee))
            .filter(r::coach_id.eq(coach)),
    )
    .execute(conn)
    .await?;
    if removed == 0 {
        return Err(CoachingError::NotFound("coach_not_found"));
    }
    guild_db::audit::record(
        conn,
        actor,
        "coaching.coach_removed",
        "user",
        Some(coachee.to_string()),
        serde_json::json!({ "coach_id": coach }),
    )
    .await?;
    Ok(())
}
