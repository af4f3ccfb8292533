//! Live events: what they are (title, time with the organiser's IANA time zone, location,
//! capacity, hosts, target groups, an optional linked module), who sees and who manages them,
//! and their status flow.
//!
//! Owns `live_events`, `live_event_hosts` and `live_event_groups`.
//!
//! - **Who sees an event**: its hosts; the mentors of its linked module; holders of
//!   MANAGE_ALL_MODULES (ADMIN and above); members registered for it; and the members it targets
//!   — the members of its groups, or everyone in the tenant when it has none. Anything else is
//!   404 `event_not_found`, as if it did not exist.
//! - **Who manages it** (edits, cancels, completes, adds members): MANAGE_ALL_MODULES holders
//!   (tenant-wide, or scoped to the linked module), and the mentors of the linked module — for
//!   that module's audience only: a mentor's event names at least one group and only groups the
//!   module is assigned to. Visible but not manageable is 403.
//! - **Revision**: every change bumps `revision`, the ETag a write must send back as `If-Match`
//!   (412 when stale) and the SEQUENCE of the event's iCalendar.
//! - **Status**: SCHEDULED → CANCELLED (any time, [`cancel`]) or COMPLETED (once it started,
//!   [`complete`]); neither changes again. A change of time or place publishes [`EventChanged`]
//!   and a cancellation [`EventCancelled`]; the api layer tells the registrants.
//! - **Limits**: a title of 200 characters, a description of 10,000, an address of 500, at most
//!   [`MAX_HOSTS`] hosts and [`MAX_GROUPS`] groups, events of at most [`MAX_DURATION_HOURS`],
//!   capacity 1 to [`MAX_CAPACITY`], at most [`MAX_UPCOMING_PER_CREATOR`] upcoming events per
//!   creator.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{live_event_groups as g, live_event_hosts as h, live_events as e};
use guild_kernel::{Actor, DomainEvent, Page, PageRequest, Permission, Target, authorize};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::LiveError;
use crate::input::{after_time, text, time_cursor};
use crate::registrations::{self, RegistrationStatus};

/// The longest title.
pub const MAX_TITLE: usize = 200;
/// The longest description.
pub const MAX_DESCRIPTION: usize = 10_000;
/// The longest address.
pub const MAX_ADDRESS: usize = 500;
/// The most hosts of one event.
pub const MAX_HOSTS: usize = 10;
/// The most target groups of one event.
pub const MAX_GROUPS: usize = 50;
/// The largest capacity.
pub const MAX_CAPACITY: i32 = 10_000;
/// The longest event.
pub const MAX_DURATION_HOURS: i64 = 24 * 7;
/// How many upcoming SCHEDULED events one member may have created.
pub const MAX_UPCOMING_PER_CREATOR: i64 = 200;

guild_kernel::string_enum!(
    /// Where an event is in its life.
    EventStatus {
        /// Planned: members register.
        Scheduled => "SCHEDULED",
        /// Called off.
        Cancelled => "CANCELLED",
        /// Took place.
        Completed => "COMPLETED",
    }
);

guild_kernel::string_enum!(
    /// Where an event takes place.
    LocationType {
        /// A meeting URL.
        Online => "ONLINE",
        /// An address.
        Physical => "PHYSICAL",
        /// Both.
        Hybrid => "HYBRID",
    }
);

/// What a new event is, or what an edit makes of one (checked as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventInput {
    /// One line.
    pub title: String,
    /// Plain text (may be empty).
    pub description: String,
    /// When it starts.
    pub starts_at: DateTime<Utc>,
    /// When it ends (after it starts).
    pub ends_at: DateTime<Utc>,
    /// The organiser's IANA time zone (`Europe/Paris`).
    pub time_zone: String,
    /// Where.
    pub location_type: LocationType,
    /// The `https` meeting URL (ONLINE, HYBRID).
    pub meeting_url: Option<String>,
    /// The address (PHYSICAL, HYBRID).
    pub address: Option<String>,
    /// Seats.
    pub capacity: i32,
    /// The module it belongs to (set when created only).
    pub module_id: Option<Uuid>,
    /// Attendance counts toward the linked module's completion.
    pub required: bool,
    /// Who runs it (the creator when empty at creation).
    pub host_ids: Vec<Uuid>,
    /// The groups it is for; empty: the whole tenant.
    pub group_ids: Vec<Uuid>,
}

/// A change to an event: the fields given replace the event's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventChanges {
    /// One line.
    pub title: Option<String>,
    /// Plain text.
    pub description: Option<String>,
    /// When it starts.
    pub starts_at: Option<DateTime<Utc>>,
    /// When it ends.
    pub ends_at: Option<DateTime<Utc>>,
    /// IANA time zone.
    pub time_zone: Option<String>,
    /// Where.
    pub location_type: Option<LocationType>,
    /// The meeting URL (`Some(None)` removes it).
    pub meeting_url: Option<Option<String>>,
    /// The address (`Some(None)` removes it).
    pub address: Option<Option<String>>,
    /// Seats (not below the members registered; more seats promote the waitlist).
    pub capacity: Option<i32>,
    /// Attendance counts toward the linked module's completion.
    pub required: Option<bool>,
    /// Who runs it.
    pub host_ids: Option<Vec<Uuid>>,
    /// The groups it is for.
    pub group_ids: Option<Vec<Uuid>>,
}

/// The asking member's registration for an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mine {
    /// REGISTERED or WAITLISTED (a cancelled registration is none).
    pub status: RegistrationStatus,
    /// Their place on the waitlist (1 = next to get a seat).
    pub waitlist_place: Option<i64>,
    /// When their attendance was confirmed.
    pub attended_at: Option<DateTime<Utc>>,
}

/// An event as the asking member sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Its id.
    pub id: Uuid,
    /// One line.
    pub title: String,
    /// Plain text.
    pub description: String,
    /// When it starts.
    pub starts_at: DateTime<Utc>,
    /// When it ends.
    pub ends_at: DateTime<Utc>,
    /// The organiser's IANA time zone.
    pub time_zone: String,
    /// Where.
    pub location_type: LocationType,
    /// The meeting URL.
    pub meeting_url: Option<String>,
    /// The address.
    pub address: Option<String>,
    /// Seats.
    pub capacity: i32,
    /// Seats taken.
    pub registered_count: i32,
    /// Members waiting for a seat.
    pub waitlist_count: i64,
    /// The linked module.
    pub module_id: Option<Uuid>,
    /// Attendance counts toward the linked module's completion.
    pub required: bool,
    /// Where it is in its life.
    pub status: EventStatus,
    /// Bumped by every change: the ETag and the iCalendar SEQUENCE.
    pub revision: i32,
    /// Who runs it.
    pub host_ids: Vec<Uuid>,
    /// The groups it is for (empty: the whole tenant).
    pub group_ids: Vec<Uuid>,
    /// Who created it.
    pub created_by: Uuid,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// The asking member's registration.
    pub mine: Option<Mine>,
    /// The asking member may edit, cancel and complete it, and add members.
    pub manageable: bool,
}

/// A row of `live_events`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = e)]
pub struct EventRow {
    /// The tenant.
    pub tenant_id: Uuid,
    /// Its id.
    pub id: Uuid,
    /// One line.
    pub title: String,
    /// Plain text.
    pub description: String,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End.
    pub ends_at: DateTime<Utc>,
    /// IANA zone.
    pub time_zone: String,
    /// Where.
    #[diesel(deserialize_as = String)]
    pub location_type: LocationType,
    /// The meeting URL.
    pub meeting_url: Option<String>,
    /// The address.
    pub address: Option<String>,
    /// Seats.
    pub capacity: i32,
    /// The linked module.
    pub module_id: Option<Uuid>,
    /// Counts toward the module.
    pub required: bool,
    /// Status.
    #[diesel(deserialize_as = String)]
    pub status: EventStatus,
    /// When the status last changed.
    pub status_changed_at: Option<DateTime<Utc>>,
    /// ETag and SEQUENCE.
    pub revision: i32,
    /// Seats taken.
    pub registered_count: i32,
    /// The next registration's position.
    pub next_position: i64,
    /// Creator.
    pub created_by: Uuid,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// An event's time or place changed: the api layer tells its registrants (EVENT_CHANGED).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventChanged {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The event.
    pub event_id: Uuid,
    /// Its revision after the change (one notification per revision).
    pub revision: i32,
    /// Who changed it (not told).
    pub by: Uuid,
}

impl DomainEvent for EventChanged {
    const KIND: &'static str = "live.changed";
}

/// An event was cancelled: the api layer tells its registrants and waitlist (EVENT_CANCELLED).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventCancelled {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The event.
    pub event_id: Uuid,
    /// Who cancelled it (not told).
    pub by: Uuid,
}

impl DomainEvent for EventCancelled {
    const KIND: &'static str = "live.cancelled";
}

/// An event was marked COMPLETED: the api layer emails each registrant their attendance link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventCompleted {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The event.
    pub event_id: Uuid,
}

impl DomainEvent for EventCompleted {
    const KIND: &'static str = "live.completed";
}

pub(crate) fn not_found() -> LiveError {
    LiveError::NotFound("event_not_found")
}

/// Who sees an event `e` of tenant `$1`, for the member `$2`: hosts, mentors of the linked
/// module, registrants, and the targeted members (its groups', or everyone without groups).
/// MANAGE_ALL_MODULES holders see every event and skip it.
pub const SEES_EVENT: &str = "( EXISTS (SELECT 1 FROM live_event_hosts hh WHERE hh.tenant_id = $1 \
        AND hh.event_id = e.id AND hh.user_id = $2) \
    OR EXISTS (SELECT 1 FROM module_mentors mm WHERE mm.tenant_id = $1 \
        AND mm.module_id = e.module_id AND mm.user_id = $2) \
    OR EXISTS (SELECT 1 FROM live_event_registrations rr WHERE rr.tenant_id = $1 \
        AND rr.event_id = e.id AND rr.user_id = $2 AND rr.status <> 'CANCELLED') \
    OR NOT EXISTS (SELECT 1 FROM live_event_groups gg WHERE gg.tenant_id = $1 \
        AND gg.event_id = e.id) \
    OR EXISTS (SELECT 1 FROM live_event_groups gg JOIN user_groups ug \
        ON ug.tenant_id = gg.tenant_id AND ug.group_id = gg.group_id \
        WHERE gg.tenant_id = $1 AND gg.event_id = e.id AND ug.user_id = $2) )";

/// Holds MANAGE_ALL_MODULES tenant-wide: sees and manages every event.
fn manages_all(actor: &Actor) -> bool {
    authorize(actor, Permission::ManageAllModules, Target::Tenant).is_ok()
}

#[derive(QueryableByName)]
struct Seen {
    #[diesel(sql_type = Bool)]
    seen: bool,
}

/// Loads an event the actor may see (404 `event_not_found` otherwise); `lock` takes the row's
/// lock for the rest of the transaction.
pub async fn visible(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    lock: bool,
) -> Result<EventRow, LiveError> {
    let query = e::table
        .find((actor.tenant_id.into_uuid(), id))
        .select(EventRow::as_select());
    let row = if lock {
        query.for_update().first(conn).await
    } else {
        query.first(conn).await
    }
    .optional()?
    .ok_or_else(not_found)?;
    if manages_all(actor) {
        return Ok(row);
    }
    let seen: Seen = guild_db::sql(format!(
        "SELECT {SEES_EVENT} AS seen FROM live_events e WHERE e.tenant_id = $1 AND e.id = $3"
    ))
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<SqlUuid, _>(id)
    .get_result(conn)
    .await?;
    if seen.seen { Ok(row) } else { Err(not_found()) }
}

/// Whether the actor manages the event: MANAGE_ALL_MODULES (tenant-wide, or on the linked
/// module), or a mentor of the linked module.
pub async fn may_manage(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    row: &EventRow,
) -> Result<bool, LiveError> {
    let target = row.module_id.map_or(Target::Tenant, Target::Module);
    if authorize(actor, Permission::ManageAllModules, target).is_ok() {
        return Ok(true);
    }
    match row.module_id {
        Some(module) if actor.acts_as_member() => {
            Ok(guild_learning::access::is_mentor(conn, actor, module).await?)
        }
        _ => Ok(false),
    }
}

/// Loads an event the actor manages: invisible is 404, visible but not managed 403.
pub async fn managed(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    lock: bool,
) -> Result<EventRow, LiveError> {
    let row = visible(conn, actor, id, lock).await?;
    if may_manage(conn, actor, &row).await? {
        Ok(row)
    } else {
        Err(LiveError::Forbidden)
    }
}

/// Whether the actor manages or hosts the event: hosts list its registrants and confirm
/// attendance.
pub async fn may_host(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    row: &EventRow,
) -> Result<bool, LiveError> {
    if may_manage(conn, actor, row).await? {
        return Ok(true);
    }
    Ok(actor.acts_as_member() && is_host(conn, actor, row.id).await?)
}

/// Whether the actor hosts the event.
pub async fn is_host(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    event: Uuid,
) -> Result<bool, LiveError> {
    Ok(diesel::select(diesel::dsl::exists(
        h::table
            .filter(h::tenant_id.eq(actor.tenant_id.into_uuid()))
            .filter(h::event_id.eq(event))
            .filter(h::user_id.eq(actor.user_id.into_uuid())),
    ))
    .get_result(conn)
    .await?)
}

/// Checks the whole of an event's fields (after an edit too).
fn check(input: &mut EventInput, now: DateTime<Utc>, new: bool) -> Result<(), LiveError> {
    let mut errors = Vec::new();
    match text("title", &input.title, MAX_TITLE, false) {
        Ok(t) => input.title = t,
        Err(LiveError::Invalid(e)) => errors.extend(e),
        Err(e) => return Err(e),
    }
    match text("description", &input.description, MAX_DESCRIPTION, true) {
        Ok(t) => input.description = t,
        Err(LiveError::Invalid(e)) => errors.extend(e),
        Err(e) => return Err(e),
    }
    let field = |f: &str, code: &str, m: &str| guild_kernel::FieldError::new(f, code, m);
    if input.ends_at <= input.starts_at {
        errors.push(field("ends_at", "order", "must be after starts_at"));
    } else if input.ends_at - input.starts_at > Duration::hours(MAX_DURATION_HOURS) {
        errors.push(field(
            "ends_at",
            "range",
            &format!("an event lasts at most {MAX_DURATION_HOURS} hours"),
        ));
    }
    if new && input.starts_at <= now {
        errors.push(field("starts_at", "range", "must be in the future"));
    }
    if input.time_zone.parse::<chrono_tz::Tz>().is_err() {
        errors.push(field(
            "time_zone",
            "time_zone",
            "must be an IANA time zone such as Europe/Paris",
        ));
    }
    let online = matches!(
        input.location_type,
        LocationType::Online | LocationType::Hybrid
    );
    let physical = matches!(
        input.location_type,
        LocationType::Physical | LocationType::Hybrid
    );
    match (&input.meeting_url, online) {
        (Some(url), true) => {
            if let Err(bad) = guild_kernel::check_link(url) {
                errors.push(bad.field_error("meeting_url"));
            }
        }
        (None, true) => errors.push(field(
            "meeting_url",
            "required",
            "an ONLINE or HYBRID event needs an https meeting URL",
        )),
        (Some(_), false) => errors.push(field(
            "meeting_url",
            "not_allowed",
            "a PHYSICAL event has no meeting URL",
        )),
        (None, false) => {}
    }
    match (input.address.take(), physical) {
        (Some(address), true) => match text("address", &address, MAX_ADDRESS, false) {
            Ok(a) => input.address = Some(a),
            Err(LiveError::Invalid(e)) => errors.extend(e),
            Err(e) => return Err(e),
        },
        (None, true) => errors.push(field(
            "address",
            "required",
            "a PHYSICAL or HYBRID event needs an address",
        )),
        (Some(_), false) => errors.push(field(
            "address",
            "not_allowed",
            "an ONLINE event has no address",
        )),
        (None, false) => {}
    }
    if !(1..=MAX_CAPACITY).contains(&input.capacity) {
        errors.push(field(
            "capacity",
            "range",
            &format!("must be 1 to {MAX_CAPACITY}"),
        ));
    }
    if input.required && input.module_id.is_none() {
        errors.push(field(
            "required",
            "not_allowed",
            "only an event linked to a module can be required",
        ));
    }
    dedupe(&mut input.host_ids);
    dedupe(&mut input.group_ids);
    if input.host_ids.len() > MAX_HOSTS {
        errors.push(field(
            "host_ids",
            "length",
            &format!("at most {MAX_HOSTS} hosts"),
        ));
    }
    if input.group_ids.len() > MAX_GROUPS {
        errors.push(field(
            "group_ids",
            "length",
            &format!("at most {MAX_GROUPS} groups"),
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(LiveError::Invalid(errors))
    }
}

fn dedupe(ids: &mut Vec<Uuid>) {
    let mut seen = BTreeSet::new();
    ids.retain(|id| seen.insert(*id));
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// Checks hosts (active members, not VIEWERs) and groups (of the tenant; for a mentor who does
/// not manage all modules, at least one and only groups the module is assigned to).
async fn check_people(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    input: &EventInput,
) -> Result<(), LiveError> {
    let tenant = actor.tenant_id.into_uuid();
    let hosts: Vec<Id> = guild_db::sql(
        "SELECT user_id AS id FROM memberships WHERE tenant_id = $1 AND user_id = ANY($2) \
           AND status = 'ACTIVE' AND role <> 'VIEWER'",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<Array<SqlUuid>, _>(&input.host_ids)
    .load(conn)
    .await?;
    if hosts.len() != input.host_ids.len() {
        return Err(LiveError::invalid(
            "host_ids",
            "unknown",
            "every host must be an active member who is not a VIEWER",
        ));
    }
    let groups: Vec<Id> = guild_db::sql(
        "SELECT gr.id FROM groups gr WHERE gr.tenant_id = $1 AND gr.id = ANY($2) \
           AND ($3::uuid IS NULL OR EXISTS (SELECT 1 FROM module_groups mg \
                WHERE mg.tenant_id = $1 AND mg.module_id = $3 AND mg.group_id = gr.id))",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<Array<SqlUuid>, _>(&input.group_ids)
    .bind::<Nullable<SqlUuid>, _>(if manages_all_for(actor, input.module_id) {
        None
    } else {
        input.module_id
    })
    .load(conn)
    .await?;
    if groups.len() != input.group_ids.len() {
        return Err(LiveError::invalid(
            "group_ids",
            "unknown",
            "every group must exist (and, for a mentor, be assigned the module)",
        ));
    }
    if input.group_ids.is_empty() && !manages_all_for(actor, input.module_id) {
        return Err(LiveError::invalid(
            "group_ids",
            "required",
            "a mentor's event names the module's groups it is for",
        ));
    }
    Ok(())
}

fn manages_all_for(actor: &Actor, module: Option<Uuid>) -> bool {
    let target = module.map_or(Target::Tenant, Target::Module);
    authorize(actor, Permission::ManageAllModules, target).is_ok()
}

/// Creates an event (SCHEDULED): MANAGE_ALL_MODULES holders (tenant-wide, or on the linked
/// module), and the mentors of the linked module for its groups. Audited.
pub async fn create(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    input: &EventInput,
    now: DateTime<Utc>,
) -> Result<Event, LiveError> {
    let mut input = input.clone();
    let tenant = actor.tenant_id.into_uuid();
    match input.module_id {
        Some(module) => {
            guild_learning::access::visible(conn, actor, module).await?;
            let mentor = actor.acts_as_member()
                && guild_learning::access::is_mentor(conn, actor, module).await?;
            if !(mentor || manages_all_for(actor, Some(module))) {
                return Err(LiveError::Forbidden);
            }
        }
        None if manages_all(actor) => {}
        None => return Err(LiveError::Forbidden),
    }
    if input.host_ids.is_empty() {
        input.host_ids.push(actor.user_id.into_uuid());
    }
    check(&mut input, now, true)?;
    check_people(conn, actor, &input).await?;
    let upcoming: i64 = e::table
        .filter(e::tenant_id.eq(tenant))
        .filter(e::created_by.eq(actor.user_id.into_uuid()))
        .filter(e::status.eq(EventStatus::Scheduled.as_str()))
        .filter(e::ends_at.gt(now))
        .count()
        .get_result(conn)
        .await?;
    if upcoming >= MAX_UPCOMING_PER_CREATOR {
        return Err(LiveError::EventLimitReached);
    }
    let id = Uuid::now_v7();
    diesel::insert_into(e::table)
        .values((
            e::tenant_id.eq(tenant),
            e::id.eq(id),
            e::title.eq(&input.title),
            e::description.eq(&input.description),
            e::starts_at.eq(input.starts_at),
            e::ends_at.eq(input.ends_at),
            e::time_zone.eq(&input.time_zone),
            e::location_type.eq(input.location_type.as_str()),
            e::meeting_url.eq(&input.meeting_url),
            e::address.eq(&input.address),
            e::capacity.eq(input.capacity),
            e::module_id.eq(input.module_id),
            e::required.eq(input.required),
            e::created_by.eq(actor.user_id.into_uuid()),
            e::created_at.eq(now),
            e::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    write_people(conn, tenant, id, &input.host_ids, &input.group_ids).await?;
    guild_db::audit::record(
        conn,
        actor,
        "live_event.created",
        "live_event",
        Some(id.to_string()),
        serde_json::json!({ "module_id": input.module_id, "capacity": input.capacity }),
    )
    .await?;
    get(conn, actor, id, now).await
}

async fn write_people(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    event: Uuid,
    hosts: &[Uuid],
    groups: &[Uuid],
) -> Result<(), LiveError> {
    diesel::delete(
        h::table
            .filter(h::tenant_id.eq(tenant))
            .filter(h::event_id.eq(event)),
    )
    .execute(conn)
    .await?;
    diesel::delete(
        g::table
            .filter(g::tenant_id.eq(tenant))
            .filter(g::event_id.eq(event)),
    )
    .execute(conn)
    .await?;
    let host_rows: Vec<_> = hosts
        .iter()
        .map(|u| {
            (
                h::tenant_id.eq(tenant),
                h::event_id.eq(event),
                h::user_id.eq(*u),
            )
        })
        .collect();
    diesel::insert_into(h::table)
        .values(&host_rows)
        .execute(conn)
        .await?;
    if !groups.is_empty() {
        let group_rows: Vec<_> = groups
            .iter()
            .map(|gr| {
                (
                    g::tenant_id.eq(tenant),
                    g::event_id.eq(event),
                    g::group_id.eq(*gr),
                )
            })
            .collect();
        diesel::insert_into(g::table)
            .values(&group_rows)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Gets an event the actor may see.
pub async fn get(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    _now: DateTime<Utc>,
) -> Result<Event, LiveError> {
    let row = visible(conn, actor, id, false).await?;
    let manageable = may_manage(conn, actor, &row).await?;
    let mut events = complete_rows(conn, actor, vec![row]).await?;
    let mut event = events.pop().ok_or_else(not_found)?;
    event.manageable = manageable;
    Ok(event)
}

/// Loads an event's hosts, groups, waitlist and the actor's registration for `rows`, in a fixed
/// number of queries.
async fn complete_rows(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    rows: Vec<EventRow>,
) -> Result<Vec<Event>, LiveError> {
    let tenant = actor.tenant_id.into_uuid();
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let hosts: Vec<(Uuid, Uuid)> = h::table
        .filter(h::tenant_id.eq(tenant))
        .filter(h::event_id.eq_any(&ids))
        .order((h::event_id, h::user_id))
        .select((h::event_id, h::user_id))
        .load(conn)
        .await?;
    let groups: Vec<(Uuid, Uuid)> = g::table
        .filter(g::tenant_id.eq(tenant))
        .filter(g::event_id.eq_any(&ids))
        .order((g::event_id, g::group_id))
        .select((g::event_id, g::group_id))
        .load(conn)
        .await?;
    let waiting = registrations::waitlist_counts(conn, tenant, &ids).await?;
    let mine = registrations::mine(conn, tenant, actor.user_id.into_uuid(), &ids).await?;
    let mut hosts_of: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (event, user) in hosts {
        hosts_of.entry(event).or_default().push(user);
    }
    let mut groups_of: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (event, group) in groups {
        groups_of.entry(event).or_default().push(group);
    }
    let manage_all = manages_all(actor);
    Ok(rows
        .into_iter()
        .map(|r| {
            let id = r.id;
            Event {
                host_ids: hosts_of.remove(&id).unwrap_or_default(),
                group_ids: groups_of.remove(&id).unwrap_or_default(),
                waitlist_count: waiting.get(&id).copied().unwrap_or(0),
                mine: mine.get(&id).cloned(),
                manageable: manage_all,
                ..Event::from(r)
            }
        })
        .collect())
}

impl From<EventRow> for Event {
    /// The event's own columns; no hosts, groups, waitlist or registration of anyone.
    fn from(r: EventRow) -> Self {
        Self {
            id: r.id,
            host_ids: Vec::new(),
            group_ids: Vec::new(),
            waitlist_count: 0,
            mine: None,
            manageable: false,
            title: r.title,
            description: r.description,
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            time_zone: r.time_zone,
            location_type: r.location_type,
            meeting_url: r.meeting_url,
            address: r.address,
            capacity: r.capacity,
            registered_count: r.registered_count,
            module_id: r.module_id,
            required: r.required,
            status: r.status,
            revision: r.revision,
            created_by: r.created_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Which events a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// Events not ended yet that the member may see (targeted, hosting, registered…), soonest
    /// first; cancelled ones included so they learn of it.
    #[default]
    Upcoming,
    /// Ended events whose attendance was confirmed for the member, latest first.
    Attended,
}

/// Lists the actor's events of `scope`, a page at a time.
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    scope: Scope,
    page: &PageRequest,
    now: DateTime<Utc>,
) -> Result<Page<Event>, LiveError> {
    let after = after_time(page)?;
    let limit = i64::from(page.limit());
    let (at, id) = after.map_or((None, None), |(at, id)| (Some(at), Some(id)));
    let sql = match scope {
        Scope::Upcoming => format!(
            "SELECT e.id FROM live_events e WHERE e.tenant_id = $1 AND e.ends_at > $3 \
               AND e.status <> 'COMPLETED' AND ($4 OR {SEES_EVENT}) \
               AND ($5::timestamptz IS NULL OR (e.starts_at, e.id) > ($5, $6)) \
             ORDER BY e.starts_at, e.id LIMIT $7"
        ),
        Scope::Attended => "SELECT e.id FROM live_events e JOIN live_event_registrations r \
               ON r.tenant_id = e.tenant_id AND r.event_id = e.id AND r.user_id = $2 \
             WHERE e.tenant_id = $1 AND r.attended_at IS NOT NULL AND e.starts_at <= $3 \
               AND ($5::timestamptz IS NULL OR (e.starts_at, e.id) < ($5, $6)) \
             ORDER BY e.starts_at DESC, e.id DESC LIMIT $7"
            .to_owned(),
    };
    let ids: Vec<Id> = guild_db::sql(sql)
        .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
        .bind::<SqlUuid, _>(actor.user_id.into_uuid())
        .bind::<Timestamptz, _>(now)
        .bind::<Bool, _>(manages_all(actor))
        .bind::<Nullable<Timestamptz>, _>(at)
        .bind::<Nullable<SqlUuid>, _>(id)
        .bind::<BigInt, _>(limit + 1)
        .load(conn)
        .await?;
    let ids: Vec<Uuid> = ids.into_iter().map(|i| i.id).collect();
    let mut found: HashMap<Uuid, EventRow> = e::table
        .filter(e::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(e::id.eq_any(&ids))
        .select(EventRow::as_select())
        .load(conn)
        .await?
        .into_iter()
        .map(|row| (row.id, row))
        .collect();
    let rows = ids.iter().filter_map(|id| found.remove(id)).collect();
    let events = complete_rows(conn, actor, rows).await?;
    Ok(Page::from_overfetch(events, page.limit(), |ev| {
        time_cursor(ev.starts_at, ev.id)
    }))
}

fn check_revision(row: &EventRow, expected: i32) -> Result<(), LiveError> {
    if row.revision == expected {
        Ok(())
    } else {
        Err(LiveError::StaleRevision {
            expected,
            current: row.revision,
        })
    }
}

/// Changes an event (its managers, while SCHEDULED, `expected` being the revision read). The
/// result is checked as a whole; the capacity never drops below the members registered (409
/// `capacity_below_registered`), and more seats promote the waitlist's head. A change of time or
/// place publishes [`EventChanged`]. Audited.
pub async fn update(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    expected: i32,
    changes: &EventChanges,
    now: DateTime<Utc>,
) -> Result<Event, LiveError> {
    let row = managed(conn, actor, id, true).await?;
    check_revision(&row, expected)?;
    if row.status != EventStatus::Scheduled {
        return Err(LiveError::NotScheduled);
    }
    let tenant = actor.tenant_id.into_uuid();
    let current = complete_rows(conn, actor, vec![row.clone()])
        .await?
        .pop()
        .ok_or_else(not_found)?;
    let mut input = EventInput {
        title: changes.title.clone().unwrap_or(row.title.clone()),
        description: changes
            .description
            .clone()
            .unwrap_or(row.description.clone()),
        starts_at: changes.starts_at.unwrap_or(row.starts_at),
        ends_at: changes.ends_at.unwrap_or(row.ends_at),
        time_zone: changes.time_zone.clone().unwrap_or(row.time_zone.clone()),
        location_type: changes.location_type.unwrap_or(row.location_type),
        meeting_url: changes
            .meeting_url
            .clone()
            .unwrap_or(row.meeting_url.clone()),
        address: changes.address.clone().unwrap_or(row.address.clone()),
        capacity: changes.capacity.unwrap_or(row.capacity),
        module_id: row.module_id,
        required: changes.required.unwrap_or(row.required),
        host_ids: changes.host_ids.clone().unwrap_or(current.host_ids.clone()),
        group_ids: changes
            .group_ids
            .clone()
            .unwrap_or(current.group_ids.clone()),
    };
    // Moving an event that has not started into the past is refused like creating one there.
    let moved = input.starts_at != row.starts_at;
    check(&mut input, now, moved)?;
    if input.host_ids.is_empty() {
        return Err(LiveError::invalid(
            "host_ids",
            "required",
            "an event has at least one host",
        ));
    }
    check_people(conn, actor, &input).await?;
    if input.capacity < row.registered_count {
        return Err(LiveError::CapacityBelowRegistered);
    }
    let time_or_place = input.starts_at != row.starts_at
        || input.ends_at != row.ends_at
        || input.time_zone != row.time_zone
        || input.location_type != row.location_type
        || input.meeting_url != row.meeting_url
        || input.address != row.address;
    let revision = row.revision + 1;
    diesel::update(e::table.find((tenant, id)))
        .set((
            e::title.eq(&input.title),
            e::description.eq(&input.description),
            e::starts_at.eq(input.starts_at),
            e::ends_at.eq(input.ends_at),
            e::time_zone.eq(&input.time_zone),
            e::location_type.eq(input.location_type.as_str()),
            e::meeting_url.eq(&input.meeting_url),
            e::address.eq(&input.address),
            e::capacity.eq(input.capacity),
            e::required.eq(input.required),
            e::revision.eq(revision),
            e::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    if changes.host_ids.is_some() || changes.group_ids.is_some() {
        write_people(conn, tenant, id, &input.host_ids, &input.group_ids).await?;
    }
    if input.capacity > row.registered_count {
        let free = input.capacity - row.registered_count;
        registrations::promote(conn, actor.tenant_id, id, i64::from(free), now).await?;
    }
    if time_or_place {
        guild_db::outbox::publish(
            conn,
            Some(actor.tenant_id),
            &EventChanged {
                tenant_id: tenant,
                event_id: id,
                revision,
                by: actor.user_id.into_uuid(),
            },
        )
        .await?;
    }
    guild_db::audit::record(
        conn,
        actor,
        "live_event.updated",
        "live_event",
        Some(id.to_string()),
        serde_json::json!({ "revision": revision, "time_or_place": time_or_place }),
    )
    .await?;
    get(conn, actor, id, now).await
}

/// Cancels a SCHEDULED event (its managers, `expected` being the revision read): publishes
/// [`EventCancelled`]. Registrations stay, so the registrants can be told. Audited.
pub async fn cancel(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    expected: i32,
    now: DateTime<Utc>,
) -> Result<Event, LiveError> {
    set_status(conn, actor, id, expected, EventStatus::Cancelled, now).await?;
    guild_db::outbox::publish(
        conn,
        Some(actor.tenant_id),
        &EventCancelled {
            tenant_id: actor.tenant_id.into_uuid(),
            event_id: id,
            by: actor.user_id.into_uuid(),
        },
    )
    .await?;
    get(conn, actor, id, now).await
}

/// Marks a SCHEDULED event that has started COMPLETED (its managers; 409 `event_not_started`
/// before its start) and publishes [`EventCompleted`]. Audited.
pub async fn complete(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    expected: i32,
    now: DateTime<Utc>,
) -> Result<Event, LiveError> {
    set_status(conn, actor, id, expected, EventStatus::Completed, now).await?;
    guild_db::outbox::publish(
        conn,
        Some(actor.tenant_id),
        &EventCompleted {
            tenant_id: actor.tenant_id.into_uuid(),
            event_id: id,
        },
    )
    .await?;
    get(conn, actor, id, now).await
}

async fn set_status(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    expected: i32,
    status: EventStatus,
    now: DateTime<Utc>,
) -> Result<(), LiveError> {
    let row = managed(conn, actor, id, true).await?;
    check_revision(&row, expected)?;
    if row.status != EventStatus::Scheduled {
        return Err(LiveError::NotScheduled);
    }
    if status == EventStatus::Completed && row.starts_at > now {
        return Err(LiveError::NotStarted);
    }
    diesel::update(e::table.find((actor.tenant_id.into_uuid(), id)))
        .set((
            e::status.eq(status.as_str()),
            e::status_changed_at.eq(now),
            e::revision.eq(row.revision + 1),
            e::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    guild_db::audit::record(
        conn,
        actor,
        &format!("live_event.{}", status.as_str().to_lowercase()),
        "live_event",
        Some(id.to_string()),
        serde_json::json!({ "revision": row.revision + 1 }),
    )
    .await?;
    Ok(())
}

/// What a notification about an event says: its title, time and place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// One line.
    pub title: String,
    /// When it starts.
    pub starts_at: DateTime<Utc>,
    /// When it ends.
    pub ends_at: DateTime<Utc>,
    /// The organiser's IANA time zone.
    pub time_zone: String,
    /// Where.
    pub location_type: LocationType,
    /// The meeting URL.
    pub meeting_url: Option<String>,
    /// The address.
    pub address: Option<String>,
    /// Its status.
    pub status: EventStatus,
}

impl Notice {
    /// The start in the organiser's zone, and where: the join link for ONLINE, the address for
    /// PHYSICAL, both for HYBRID.
    pub fn when_and_where(&self) -> String {
        let when = match self.time_zone.parse::<chrono_tz::Tz>() {
            Ok(tz) => self
                .starts_at
                .with_timezone(&tz)
                .format("%a %d %b %Y, %H:%M (%Z)")
                .to_string(),
            Err(_) => self.starts_at.format("%a %d %b %Y, %H:%M UTC").to_string(),
        };
        let place = match self.location_type {
            LocationType::Online => format!("Join: {}", self.meeting_url.as_deref().unwrap_or("")),
            LocationType::Physical => format!("At: {}", self.address.as_deref().unwrap_or("")),
            LocationType::Hybrid => format!(
                "At: {}, or join: {}",
                self.address.as_deref().unwrap_or(""),
                self.meeting_url.as_deref().unwrap_or("")
            ),
        };
        format!("{when}. {place}")
    }
}

/// What notifications of `event` say (`None` when it was deleted).
pub async fn notice(
    conn: &mut AsyncPgConnection,
    tenant: guild_kernel::TenantId,
    event: Uuid,
) -> Result<Option<Notice>, LiveError> {
    let row: Option<EventRow> = e::table
        .find((tenant.into_uuid(), event))
        .select(EventRow::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(|r| Notice {
        title: r.title,
        starts_at: r.starts_at,
        ends_at: r.ends_at,
        time_zone: r.time_zone,
        location_type: r.location_type,
        meeting_url: r.meeting_url,
        address: r.address,
        status: r.status,
    }))
}

/// The members registered or waiting for `event`, in user order: who hears of its changes.
pub async fn attendees(
    conn: &mut AsyncPgConnection,
    tenant: guild_kernel::TenantId,
    event: Uuid,
) -> Result<Vec<Uuid>, LiveError> {
    use guild_db::schema::live_event_registrations as r;
    Ok(r::table
        .filter(r::tenant_id.eq(tenant.into_uuid()))
        .filter(r::event_id.eq(event))
        .filter(r::status.ne(RegistrationStatus::Cancelled.as_str()))
        .order(r::user_id)
        .select(r::user_id)
        .load(conn)
        .await?)
}

/// The module `event` counts toward (`None`: it is not required for a module, or is gone).
pub async fn required_for(
    conn: &mut AsyncPgConnection,
    tenant: guild_kernel::TenantId,
    event: Uuid,
) -> Result<Option<Uuid>, LiveError> {
    Ok(e::table
        .find((tenant.into_uuid(), event))
        .filter(e::required.eq(true))
        .select(e::module_id)
        .first::<Option<Uuid>>(conn)
        .await
        .optional()?
        .flatten())
}
