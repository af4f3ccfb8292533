//! Registrations for live events: seats, the waitlist and its promotions, bulk additions.
//!
//! Owns `live_event_registrations`.
//!
//! - **Never overbooked.** Every change of seats happens under the event row's lock
//!   (`SELECT … FOR UPDATE`): registering reads `registered_count` and `capacity`, takes a seat
//!   or a waitlist place numbered by the event's `next_position`, and moves the counter in the
//!   same transaction; `registered_count <= capacity` is also a CHECK. However many members race,
//!   the lock admits them one at a time: the first `capacity` get seats, the others wait in the
//!   order they were admitted.
//! - **Waitlist.** A freed seat (an unregistration, a larger capacity) goes to the waitlist's
//!   head (lowest position) in the same transaction, which publishes [`Promoted`]: the api layer
//!   tells them (EVENT_PROMOTED).
//! - **Who registers**: members acting for themselves (not VIEWERs) who see the event, while it
//!   is SCHEDULED and has not started (409 `registration_closed`); at most
//!   [`MAX_ACTIVE_PER_MEMBER`] upcoming registrations per member. Registering again while
//!   registered or waiting changes nothing. Managers of the event add members in bulk
//!   ([`add_members`], at most [`MAX_BULK`] at once), seated while seats remain, then waitlisted.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{live_event_registrations as r, live_events as e};
use guild_kernel::{Actor, DomainEvent, Page, PageRequest, TenantId, TenantRole};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::LiveError;
use crate::events::{self, EventRow, EventStatus, Mine};
use crate::input::after_position;

/// How many upcoming events one member may be registered (or waiting) for.
pub const MAX_ACTIVE_PER_MEMBER: i64 = 100;
/// How many members one bulk addition names.
pub const MAX_BULK: usize = 500;

guild_kernel::string_enum!(
    /// Where a member stands for an event.
    RegistrationStatus {
        /// Holds a seat.
        Registered => "REGISTERED",
        /// Waits for a seat.
        Waitlisted => "WAITLISTED",
        /// Gave their seat or place back.
        Cancelled => "CANCELLED",
    }
);

/// A member's registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The event.
    pub event_id: Uuid,
    /// The member.
    pub user_id: Uuid,
    /// Their name.
    pub name: String,
    /// Where they stand.
    pub status: RegistrationStatus,
    /// Arrival order among the event's registrations.
    pub position: i64,
    /// Their place on the waitlist (1 = next), while waiting.
    pub waitlist_place: Option<i64>,
    /// Who added them, when not themselves.
    pub added_by: Option<Uuid>,
    /// When they registered (this time).
    pub created_at: DateTime<Utc>,
    /// When a freed seat went to them.
    pub promoted_at: Option<DateTime<Utc>>,
    /// When their attendance was confirmed.
    pub attended_at: Option<DateTime<Utc>>,
}

/// A member registered or joined the waitlist: the api layer tells them (EVENT_REGISTERED).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registered {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The event.
    pub event_id: Uuid,
    /// The member.
    pub user_id: Uuid,
    /// REGISTERED or WAITLISTED.
    pub status: RegistrationStatus,
    /// Their position (a new one each time they register again: one notification each).
    pub position: i64,
}

impl DomainEvent for Registered {
    const KIND: &'static str = "live.registered";
}

/// A waiting member got a freed seat: the api layer tells them (EVENT_PROMOTED).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Promoted {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The event.
    pub event_id: Uuid,
    /// The member.
    pub user_id: Uuid,
    /// Their position.
    pub position: i64,
}

impl DomainEvent for Promoted {
    const KIND: &'static str = "live.promoted";
}

/// Who may register themselves: a member acting for themselves, not a VIEWER, not the platform
/// owner looking into a tenant.
fn check_member(actor: &Actor) -> Result<(), LiveError> {
    if actor.impersonating || !actor.acts_as_member() || actor.role == TenantRole::Viewer {
        return Err(LiveError::Forbidden);
    }
    Ok(())
}

fn check_open(row: &EventRow, now: DateTime<Utc>) -> Result<(), LiveError> {
    if row.status != EventStatus::Scheduled {
        return Err(LiveError::NotScheduled);
    }
    if row.starts_at <= now {
        return Err(LiveError::RegistrationClosed);
    }
    Ok(())
}

#[derive(QueryableByName)]
struct Taken {
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = BigInt)]
    position: i64,
}

/// Seats `users` (in order) on the locked event `row` while seats remain, then waitlists them;
/// members already registered or waiting are left as they are. Publishes [`Registered`] for
/// each one placed. Returns who was placed, with their status.
async fn place(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    row: &EventRow,
    users: &[Uuid],
    added_by: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Vec<(Uuid, RegistrationStatus)>, LiveError> {
    let mut seats = row.capacity - row.registered_count;
    let mut position = row.next_position;
    let mut placed = Vec::new();
    for user in users {
        let status = if seats > 0 {
            RegistrationStatus::Registered
        } else {
            RegistrationStatus::Waitlisted
        };
        // A new row, or a cancelled one taken up again; an active one is left alone.
        let taken: Option<Taken> = guild_db::sql(
            "INSERT INTO live_event_registrations AS x \
               (tenant_id, event_id, user_id, status, position, added_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             ON CONFLICT (tenant_id, event_id, user_id) DO UPDATE \
               SET status = EXCLUDED.status, position = EXCLUDED.position, \
                   added_by = EXCLUDED.added_by, created_at = EXCLUDED.created_at, \
                   updated_at = EXCLUDED.updated_at, promoted_at = NULL \
               WHERE x.status = 'CANCELLED' \
             RETURNING x.status, x.position",
        )
        .bind::<SqlUuid, _>(tenant.into_uuid())
        .bind::<SqlUuid, _>(row.id)
        .bind::<SqlUuid, _>(*user)
        .bind::<Text, _>(status.as_str())
        .bind::<BigInt, _>(position)
        .bind::<Nullable<SqlUuid>, _>(added_by)
        .bind::<Timestamptz, _>(now)
        .get_result(conn)
        .await
        .optional()?;
        let Some(taken) = taken else { continue };
        debug_assert_eq!(taken.status, status.as_str());
        if status == RegistrationStatus::Registered {
            seats -= 1;
        }
        guild_db::outbox::publish(
            conn,
            Some(tenant),
            &Registered {
                tenant_id: tenant.into_uuid(),
                event_id: row.id,
                user_id: *user,
                status,
                position: taken.position,
            },
        )
        .await?;
        position += 1;
        placed.push((*user, status));
    }
    let seated = i32::try_from(
        placed
            .iter()
            .filter(|(_, s)| *s == RegistrationStatus::Registered)
            .count(),
    )
    .unwrap_or(i32::MAX);
    diesel::update(e::table.find((tenant.into_uuid(), row.id)))
        .set((
            e::registered_count.eq(e::registered_count + seated),
            e::next_position.eq(position),
        ))
        .execute(conn)
        .await?;
    Ok(placed)
}

/// Registers the actor for an event they see: a seat while one remains, else a waitlist place.
/// Registering again while registered or waiting changes nothing.
pub async fn register(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    event: Uuid,
    now: DateTime<Utc>,
) -> Result<Registration, LiveError> {
    check_member(actor)?;
    let row = events::visible(conn, actor, event, true).await?;
    check_open(&row, now)?;
    let user = actor.user_id.into_uuid();
    let active: i64 = r::table
        .inner_join(e::table.on(e::tenant_id.eq(r::tenant_id).and(e::id.eq(r::event_id))))
        .filter(r::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(r::user_id.eq(user))
        .filter(r::status.ne(RegistrationStatus::Cancelled.as_str()))
        .filter(e::ends_at.gt(now))
        .filter(r::event_id.ne(event))
        .count()
        .get_result(conn)
        .await?;
    if active >= MAX_ACTIVE_PER_MEMBER {
        return Err(LiveError::RegistrationLimitReached);
    }
    place(conn, actor.tenant_id, &row, &[user], None, now).await?;
    one(conn, actor.tenant_id, event, user)
        .await?
        .ok_or(LiveError::NotFound("registration_not_found"))
}

/// Gives the actor's seat or waitlist place back (while the event is SCHEDULED and has not
/// started). A freed seat goes to the waitlist's head in the same transaction.
pub async fn unregister(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    event: Uuid,
    now: DateTime<Utc>,
) -> Result<(), LiveError> {
    let row = events::visible(conn, actor, event, true).await?;
    let tenant = actor.tenant_id.into_uuid();
    let user = actor.user_id.into_uuid();
    let status: Option<String> = r::table
        .find((tenant, event, user))
        .select(r::status)
        .first(conn)
        .await
        .optional()?;
    let status = status
        .and_then(|s| s.parse::<RegistrationStatus>().ok())
        .filter(|s| *s != RegistrationStatus::Cancelled)
        .ok_or(LiveError::NotFound("registration_not_found"))?;
    check_open(&row, now)?;
    diesel::update(r::table.find((tenant, event, user)))
        .set((
            r::status.eq(RegistrationStatus::Cancelled.as_str()),
            r::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    if status == RegistrationStatus::Registered {
        diesel::update(e::table.find((tenant, event)))
            .set(e::registered_count.eq(e::registered_count - 1))
            .execute(conn)
            .await?;
        promote(conn, actor.tenant_id, event, 1, now).await?;
    }
    Ok(())
}

#[derive(QueryableByName)]
struct PromotedRow {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = BigInt)]
    position: i64,
}

/// Seats up to `seats` members from the head of the waitlist of `event`, whose row the caller
/// holds locked and whose capacity has room for them; publishes [`Promoted`] for each.
pub(crate) async fn promote(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    event: Uuid,
    seats: i64,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, LiveError> {
    let promoted: Vec<PromotedRow> = guild_db::sql(
        "UPDATE live_event_registrations x SET status = 'REGISTERED', promoted_at = $3, \
           updated_at = $3 \
         WHERE x.tenant_id = $1 AND x.event_id = $2 AND x.user_id IN ( \
           SELECT w.user_id FROM live_event_registrations w \
           WHERE w.tenant_id = $1 AND w.event_id = $2 AND w.status = 'WAITLISTED' \
           ORDER BY w.position LIMIT $4) \
         RETURNING x.user_id, x.position",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(event)
    .bind::<Timestamptz, _>(now)
    .bind::<BigInt, _>(seats)
    .load(conn)
    .await?;
    if promoted.is_empty() {
        return Ok(Vec::new());
    }
    let n = i32::try_from(promoted.len()).unwrap_or(i32::MAX);
    diesel::update(e::table.find((tenant.into_uuid(), event)))
        .set(e::registered_count.eq(e::registered_count + n))
        .execute(conn)
        .await?;
    for p in &promoted {
        guild_db::outbox::publish(
            conn,
            Some(tenant),
            &Promoted {
                tenant_id: tenant.into_uuid(),
                event_id: event,
                user_id: p.user_id,
                position: p.position,
            },
        )
        .await?;
    }
    Ok(promoted.into_iter().map(|p| p.user_id).collect())
}

/// What a bulk addition did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkResult {
    /// Given a seat.
    pub registered: Vec<Uuid>,
    /// Put on the waitlist (no seat left).
    pub waitlisted: Vec<Uuid>,
    /// Already registered or waiting, or not an active member of the tenant.
    pub skipped: Vec<Uuid>,
}

#[derive(QueryableByName)]
struct Member {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
}

/// Adds members to an event (its managers, while it is SCHEDULED and has not started), in the
/// order given: seats while they remain, then the waitlist. Audited.
pub async fn add_members(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    event: Uuid,
    users: &[Uuid],
    now: DateTime<Utc>,
) -> Result<BulkResult, LiveError> {
    if users.is_empty() || users.len() > MAX_BULK {
        return Err(LiveError::invalid(
            "user_ids",
            "length",
            &format!("name 1 to {MAX_BULK} members"),
        ));
    }
    let row = events::managed(conn, actor, event, true).await?;
    check_open(&row, now)?;
    let mut seen = BTreeSet::new();
    let wanted: Vec<Uuid> = users.iter().copied().filter(|u| seen.insert(*u)).collect();
    let members: Vec<Member> = guild_db::sql(
        "SELECT user_id FROM memberships WHERE tenant_id = $1 AND user_id = ANY($2) \
           AND status = 'ACTIVE'",
    )
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<Array<SqlUuid>, _>(&wanted)
    .load(conn)
    .await?;
    let members: BTreeSet<Uuid> = members.into_iter().map(|m| m.user_id).collect();
    let candidates: Vec<Uuid> = wanted
        .iter()
        .copied()
        .filter(|u| members.contains(u))
        .collect();
    let placed = place(
        conn,
        actor.tenant_id,
        &row,
        &candidates,
        Some(actor.user_id.into_uuid()),
        now,
    )
    .await?;
    let mut result = BulkResult::default();
    let placed_ids: BTreeSet<Uuid> = placed.iter().map(|(u, _)| *u).collect();
    for (user, status) in placed {
        match status {
            RegistrationStatus::Registered => result.registered.push(user),
            _ => result.waitlisted.push(user),
        }
    }
    result.skipped = wanted
        .into_iter()
        .filter(|u| !placed_ids.contains(u))
        .collect();
    guild_db::audit::record(
        conn,
        actor,
        "live_event.members_added",
        "live_event",
        Some(event.to_string()),
        serde_json::json!({
            "registered": result.registered.len(),
            "waitlisted": result.waitlisted.len(),
            "skipped": result.skipped.len(),
        }),
    )
    .await?;
    Ok(result)
}

#[derive(QueryableByName)]
struct RegRow {
    #[diesel(sql_type = SqlUuid)]
    event_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = BigInt)]
    position: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    waitlist_place: Option<i64>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    added_by: Option<Uuid>,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    promoted_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    attended_at: Option<DateTime<Utc>>,
}

impl From<RegRow> for Registration {
    fn from(x: RegRow) -> Self {
        Self {
            event_id: x.event_id,
            user_id: x.user_id,
            name: x.name,
            status: x.status.parse().unwrap_or(RegistrationStatus::Cancelled),
            position: x.position,
            waitlist_place: x.waitlist_place,
            added_by: x.added_by,
            created_at: x.created_at,
            promoted_at: x.promoted_at,
            attended_at: x.attended_at,
        }
    }
}

const REG_COLUMNS: &str = "x.event_id, x.user_id, u.name, x.status, x.position, \
    CASE WHEN x.status = 'WAITLISTED' THEN (SELECT count(*) FROM live_event_registrations w \
      WHERE w.tenant_id = x.tenant_id AND w.event_id = x.event_id AND w.status = 'WAITLISTED' \
        AND w.position <= x.position) END AS waitlist_place, \
    x.added_by, x.created_at, x.promoted_at, x.attended_at \
    FROM live_event_registrations x JOIN users u ON u.id = x.user_id";

async fn one(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    event: Uuid,
    user: Uuid,
) -> Result<Option<Registration>, LiveError> {
    let row: Option<RegRow> = guild_db::sql(format!(
        "SELECT {REG_COLUMNS} WHERE x.tenant_id = $1 AND x.event_id = $2 AND x.user_id = $3"
    ))
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(event)
    .bind::<SqlUuid, _>(user)
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.map(Registration::from))
}

/// The registrations of an event, in arrival order (cancelled ones left out), for its managers
/// and hosts.
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    event: Uuid,
    page: &PageRequest,
) -> Result<Page<Registration>, LiveError> {
    let row = events::visible(conn, actor, event, false).await?;
    if !events::may_host(conn, actor, &row).await? {
        return Err(LiveError::Forbidden);
    }
    let after = after_position(page)?;
    let rows: Vec<RegRow> = guild_db::sql(format!(
        "SELECT {REG_COLUMNS} WHERE x.tenant_id = $1 AND x.event_id = $2 \
           AND x.status <> 'CANCELLED' AND ($3::bigint IS NULL OR x.position > $3) \
         ORDER BY x.position LIMIT $4"
    ))
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(event)
    .bind::<Nullable<BigInt>, _>(after)
    .bind::<BigInt, _>(i64::from(page.limit()) + 1)
    .load(conn)
    .await?;
    let items: Vec<Registration> = rows.into_iter().map(Registration::from).collect();
    Ok(Page::from_overfetch(items, page.limit(), |x| {
        x.position.to_string()
    }))
}

#[derive(QueryableByName)]
struct Waiting {
    #[diesel(sql_type = SqlUuid)]
    event_id: Uuid,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// How many members wait for each of `events`.
pub(crate) async fn waitlist_counts(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    events: &[Uuid],
) -> Result<HashMap<Uuid, i64>, LiveError> {
    let rows: Vec<Waiting> = guild_db::sql(
        "SELECT event_id, count(*) AS n FROM live_event_registrations \
         WHERE tenant_id = $1 AND event_id = ANY($2) AND status = 'WAITLISTED' \
         GROUP BY event_id",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<Array<SqlUuid>, _>(events)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|w| (w.event_id, w.n)).collect())
}

/// The member's active registrations among `events`.
pub(crate) async fn mine(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    user: Uuid,
    events: &[Uuid],
) -> Result<HashMap<Uuid, Mine>, LiveError> {
    let rows: Vec<RegRow> = guild_db::sql(format!(
        "SELECT {REG_COLUMNS} WHERE x.tenant_id = $1 AND x.user_id = $2 \
           AND x.event_id = ANY($3) AND x.status <> 'CANCELLED'"
    ))
    .bind::<SqlUuid, _>(tenant)
    .bind::<SqlUuid, _>(user)
    .bind::<Array<SqlUuid>, _>(events)
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|x| {
            let reg = Registration::from(x);
            (
                reg.event_id,
                Mine {
                    status: reg.status,
                    waitlist_place: reg.waitlist_place,
                    attended_at: reg.attended_at,
                },
            )
        })
        .collect())
}
