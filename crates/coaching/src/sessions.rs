//! Coaching sessions: a coach meets a coachee at a time for a duration, about focus areas each
//! scored before and after, with an agenda and notes both see, and the coach's private notes.
//!
//! Owns `coaching_sessions` and `coaching_session_scores`.
//!
//! - **Who**: a coach of the coachee ([`crate::relationships`]) schedules; the session's coach
//!   changes it; whoever sees the coachee's coaching reads it (404 `coaching_session_not_found`
//!   for anyone else, another tenant included). Nobody schedules a session with themselves (403
//!   `cannot_coach_self`).
//! - **Status**: SCHEDULED → CANCELLED (any time), COMPLETED or NO_SHOW (once it started, 409
//!   `coaching_session_not_started`); none changes again (409 `coaching_session_closed`). Its
//!   time and duration change only while SCHEDULED; agenda, shared notes and scores until it is
//!   cancelled.
//! - **Revision**: every change bumps `revision`, the ETag a write sends back as `If-Match` (412
//!   when stale) and the SEQUENCE of the session's iCalendar entry.
//! - **Scores**: up to [`MAX_FOCUS_AREAS`] focus areas, each named once, scored before and after
//!   on the tenant's scale ([`crate::settings`]) with at most two decimals (a `numeric(5, 2)`).
//! - **Private notes** are sealed with the keyring for this session's row
//!   (`coaching_session:<tenant>:<id>`), never part of the session as others read it, read and
//!   written by the session's coach only, and every read is audited
//!   (`coaching_session.private_notes_read`).
//! - **Limits**: at most [`MAX_SESSIONS_PER_COACHEE_PER_DAY`] sessions scheduled for one coachee
//!   in 24 hours (counted under a per-coachee lock; 409 `session_limit_reached`), an agenda of
//!   5,000 characters, shared and private notes of 20,000.
//! - Scheduling publishes [`SessionScheduled`], a change of time or duration [`SessionChanged`],
//!   a cancellation [`SessionCancelled`]: the api layer tells the coachee with a calendar
//!   invitation.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel::sql_types::{
    Array, BigInt, Double, Int4, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::coaching_sessions as s;
use guild_kernel::sealed::Keyring;
use guild_kernel::{Actor, DomainEvent, FieldError, Page, PageRequest, TenantId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::CoachingError;
use crate::input::{after_time, text, time_cursor};
use crate::relationships;
use crate::settings;

/// The most focus areas of one session.
pub const MAX_FOCUS_AREAS: usize = 10;
/// The longest focus area name.
pub const MAX_FOCUS_AREA: usize = 100;
/// The longest agenda.
pub const MAX_AGENDA: usize = 5_000;
/// The longest shared or private notes.
pub const MAX_NOTES: usize = 20_000;
/// The shortest session, in minutes.
pub const MIN_DURATION: i32 = 5;
/// The longest session, in minutes.
pub const MAX_DURATION: i32 = 480;
/// How many sessions may be scheduled for one coachee in 24 hours.
pub const MAX_SESSIONS_PER_COACHEE_PER_DAY: i64 = 5;

guild_kernel::string_enum!(
    /// Where a session is in its life.
    SessionStatus {
        /// Planned.
        Scheduled => "SCHEDULED",
        /// Took place.
        Completed => "COMPLETED",
        /// Called off.
        Cancelled => "CANCELLED",
        /// The coachee did not come.
        NoShow => "NO_SHOW",
    }
);

/// A focus area with its scores.
#[derive(Debug, Clone, PartialEq)]
pub struct FocusArea {
    /// Its name, once per session.
    pub name: String,
    /// The score before the session.
    pub score_before: Option<f64>,
    /// The score after it.
    pub score_after: Option<f64>,
}

/// A new session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionInput {
    /// Who is coached.
    pub coachee_id: Uuid,
    /// When it starts (in the future).
    pub scheduled_at: DateTime<Utc>,
    /// How long, in minutes.
    pub duration_minutes: i32,
    /// What it is about, shared with the coachee.
    pub agenda: String,
    /// Its focus areas.
    pub focus_areas: Vec<FocusArea>,
}

/// A change to a session: the fields given replace the session's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionChanges {
    /// A new time (while SCHEDULED).
    pub scheduled_at: Option<DateTime<Utc>>,
    /// A new duration (while SCHEDULED).
    pub duration_minutes: Option<i32>,
    /// A new agenda.
    pub agenda: Option<String>,
    /// New shared notes.
    pub shared_notes: Option<String>,
    /// The focus areas, replaced whole.
    pub focus_areas: Option<Vec<FocusArea>>,
}

/// A session as those who see it read it (never its private notes).
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// Id.
    pub id: Uuid,
    /// The coach.
    pub coach_id: Uuid,
    /// The coachee.
    pub coachee_id: Uuid,
    /// When it starts.
    pub scheduled_at: DateTime<Utc>,
    /// How long, in minutes.
    pub duration_minutes: i32,
    /// Where it is in its life.
    pub status: SessionStatus,
    /// What it is about.
    pub agenda: String,
    /// Notes coach and coachee share.
    pub shared_notes: String,
    /// The focus areas with their scores, in order.
    pub focus_areas: Vec<FocusArea>,
    /// The ETag and iCalendar SEQUENCE (minus one).
    pub revision: i32,
    /// When its status last changed.
    pub status_changed_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// The asking member is its coach: they change it and keep its private notes.
    pub mine_to_manage: bool,
}

/// A row of `coaching_sessions` (without its sealed notes).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = s)]
pub struct SessionRow {
    /// Id.
    pub id: Uuid,
    /// The coach.
    pub coach_id: Uuid,
    /// The coachee.
    pub coachee_id: Uuid,
    /// Start.
    pub scheduled_at: DateTime<Utc>,
    /// Minutes.
    pub duration_minutes: i32,
    /// Status.
    #[diesel(deserialize_as = String)]
    pub status: SessionStatus,
    /// Agenda.
    pub agenda: String,
    /// Shared notes.
    pub shared_notes: String,
    /// Revision.
    pub revision: i32,
    /// Status change.
    pub status_changed_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A session was scheduled: the api layer tells the coachee (COACHING_SESSION_SCHEDULED) with a
/// calendar invitation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionScheduled {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The session.
    pub session_id: Uuid,
    /// The coachee.
    pub coachee_id: Uuid,
}

impl DomainEvent for SessionScheduled {
    const KIND: &'static str = "coaching.session_scheduled";
}

/// A session's time or duration changed: the api layer tells the coachee
/// (COACHING_SESSION_CHANGED, once per revision) with the updated invitation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionChanged {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The session.
    pub session_id: Uuid,
    /// The coachee.
    pub coachee_id: Uuid,
    /// Its revision after the change.
    pub revision: i32,
}

impl DomainEvent for SessionChanged {
    const KIND: &'static str = "coaching.session_changed";
}

/// A session was cancelled: the api layer tells the coachee (COACHING_SESSION_CANCELLED) with a
/// calendar cancellation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionCancelled {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The session.
    pub session_id: Uuid,
    /// The coachee.
    pub coachee_id: Uuid,
}

impl DomainEvent for SessionCancelled {
    const KIND: &'static str = "coaching.session_cancelled";
}

pub(crate) fn not_found() -> CoachingError {
    CoachingError::NotFound("coaching_session_not_found")
}

/// The sealing context of a session's private notes.
pub(crate) fn context(tenant: Uuid, id: Uuid) -> String {
    format!("coaching_session:{tenant}:{id}")
}

/// Loads a session the actor may see: its coach, or whoever sees its coachee's coaching (404
/// otherwise); `lock` takes the row's lock for the rest of the transaction.
pub async fn visible(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    lock: bool,
) -> Result<SessionRow, CoachingError> {
    let query = s::table
        .find((actor.tenant_id.into_uuid(), id))
        .select(SessionRow::as_select());
    let row = if lock {
        query.for_update().first(conn).await
    } else {
        query.first(conn).await
    }
    .optional()?
    .ok_or_else(not_found)?;
    if actor.acts_as_member() && row.coach_id == actor.user_id.into_uuid() {
        return Ok(row);
    }
    match relationships::relation(conn, actor, row.coachee_id).await {
        Ok(rel) if rel.sees() => Ok(row),
        Ok(_) | Err(CoachingError::NotFound(_)) => Err(not_found()),
        Err(e) => Err(e),
    }
}

/// Loads a session the actor coaches (locked): invisible is 404, visible but someone else's 403.
pub async fn managed(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<SessionRow, CoachingError> {
    let row = visible(conn, actor, id, true).await?;
    if row.coach_id == actor.user_id.into_uuid() {
        Ok(row)
    } else {
        Err(CoachingError::Forbidden)
    }
}

fn check_duration(minutes: i32, errors: &mut Vec<FieldError>) {
    if !(MIN_DURATION..=MAX_DURATION).contains(&minutes) {
        errors.push(FieldError::new(
            "duration_minutes",
            "range",
            format!("must be {MIN_DURATION} to {MAX_DURATION} minutes"),
        ));
    }
}

fn collect<T>(
    out: Result<T, CoachingError>,
    errors: &mut Vec<FieldError>,
) -> Result<Option<T>, CoachingError> {
    match out {
        Ok(v) => Ok(Some(v)),
        Err(CoachingError::Invalid(e)) => {
            errors.extend(e);
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Checks focus areas: at most [`MAX_FOCUS_AREAS`], names trimmed, 1 to 100 characters, each
/// once (case-insensitively), scores on `scale`.
fn check_focus(
    areas: &mut [FocusArea],
    scale: settings::Scale,
    errors: &mut Vec<FieldError>,
) -> Result<(), CoachingError> {
    if areas.len() > MAX_FOCUS_AREAS {
        errors.push(FieldError::new(
            "focus_areas",
            "length",
            format!("at most {MAX_FOCUS_AREAS} focus areas"),
        ));
        return Ok(());
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, area) in areas.iter_mut().enumerate() {
        let field = format!("focus_areas[{i}].name");
        if let Some(name) = collect(text(&field, &area.name, MAX_FOCUS_AREA, false), errors)? {
            if !seen.insert(name.to_lowercase()) {
                errors.push(FieldError::new(&field, "duplicate", "named twice"));
            }
            area.name = name;
        }
        for (which, score) in [
            ("score_before", area.score_before),
            ("score_after", area.score_after),
        ] {
            if let Some(v) = score
                && !scale.holds(v)
            {
                errors.push(FieldError::new(
                    format!("focus_areas[{i}].{which}"),
                    "range",
                    format!(
                        "must be from {} to {} with at most two decimals",
                        scale.min, scale.max
                    ),
                ));
            }
        }
    }
    Ok(())
}

#[derive(QueryableByName)]
struct ScoreRow {
    #[diesel(sql_type = SqlUuid)]
    session_id: Uuid,
    #[diesel(sql_type = Text)]
    focus_area: String,
    #[diesel(sql_type = Nullable<Double>)]
    score_before: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    score_after: Option<f64>,
}

async fn scores(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<FocusArea>>, CoachingError> {
    let rows: Vec<ScoreRow> = guild_db::sql(
        "SELECT session_id, focus_area, score_before::float8 AS score_before, \
                score_after::float8 AS score_after \
           FROM coaching_session_scores WHERE tenant_id = $1 AND session_id = ANY($2) \
          ORDER BY session_id, position",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<Array<SqlUuid>, _>(ids)
    .load(conn)
    .await?;
    let mut out: HashMap<Uuid, Vec<FocusArea>> = HashMap::new();
    for r in rows {
        out.entry(r.session_id).or_default().push(FocusArea {
            name: r.focus_area,
            score_before: r.score_before,
            score_after: r.score_after,
        });
    }
    Ok(out)
}

async fn write_scores(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    session: Uuid,
    areas: &[FocusArea],
) -> Result<(), CoachingError> {
    guild_db::sql("DELETE FROM coaching_session_scores WHERE tenant_id = $1 AND session_id = $2")
        .bind::<SqlUuid, _>(tenant)
        .bind::<SqlUuid, _>(session)
        .execute(conn)
        .await?;
    if areas.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = areas.iter().map(|a| a.name.clone()).collect();
    let positions: Vec<i32> = (0..).take(areas.len()).collect();
    let before: Vec<Option<f64>> = areas.iter().map(|a| a.score_before).collect();
    let after: Vec<Option<f64>> = areas.iter().map(|a| a.score_after).collect();
    guild_db::sql(
        "INSERT INTO coaching_session_scores \
           (tenant_id, session_id, focus_area, position, score_before, score_after) \
         SELECT $1, $2, f, p, b::numeric(5, 2), a::numeric(5, 2) \
           FROM unnest($3::text[], $4::int4[], $5::float8[], $6::float8[]) AS t (f, p, b, a)",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<SqlUuid, _>(session)
    .bind::<Array<Text>, _>(names)
    .bind::<Array<Int4>, _>(positions)
    .bind::<Array<Nullable<Double>>, _>(before)
    .bind::<Array<Nullable<Double>>, _>(after)
    .execute(conn)
    .await?;
    Ok(())
}

fn complete(actor: &Actor, row: SessionRow, focus_areas: Vec<FocusArea>) -> Session {
    Session {
        mine_to_manage: actor.acts_as_member() && row.coach_id == actor.user_id.into_uuid(),
        id: row.id,
        coach_id: row.coach_id,
        coachee_id: row.coachee_id,
        scheduled_at: row.scheduled_at,
        duration_minutes: row.duration_minutes,
        status: row.status,
        agenda: row.agenda,
        shared_notes: row.shared_notes,
        focus_areas,
        revision: row.revision,
        status_changed_at: row.status_changed_at,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

async fn complete_rows(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    rows: Vec<SessionRow>,
) -> Result<Vec<Session>, CoachingError> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut all = scores(conn, actor.tenant_id.into_uuid(), &ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let areas = all.remove(&r.id).unwrap_or_default();
            complete(actor, r, areas)
        })
        .collect())
}

/// Schedules a session with a coachee the actor coaches. Audited; publishes
/// [`SessionScheduled`].
pub async fn create(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    input: &SessionInput,
    now: DateTime<Utc>,
) -> Result<Session, CoachingError> {
    let mut input = input.clone();
    relationships::coached(conn, actor, input.coachee_id).await?;
    let tenant = actor.tenant_id.into_uuid();
    let scale = settings::scale(conn, actor.tenant_id).await?;
    let mut errors = Vec::new();
    if input.scheduled_at <= now {
        errors.push(FieldError::new(
            "scheduled_at",
            "range",
            "must be in the future",
        ));
    }
    check_duration(input.duration_minutes, &mut errors);
    if let Some(agenda) = collect(text("agenda", &input.agenda, MAX_AGENDA, true), &mut errors)? {
        input.agenda = agenda;
    }
    check_focus(&mut input.focus_areas, scale, &mut errors)?;
    if !errors.is_empty() {
        return Err(CoachingError::Invalid(errors));
    }
    lock_coachee(conn, tenant, input.coachee_id).await?;
    let recent: i64 = s::table
        .filter(s::tenant_id.eq(tenant))
        .filter(s::coachee_id.eq(input.coachee_id))
        .filter(s::created_at.gt(now - Duration::hours(24)))
        .count()
        .get_result(conn)
        .await?;
    if recent >= MAX_SESSIONS_PER_COACHEE_PER_DAY {
        return Err(CoachingError::LimitReached("session_limit_reached"));
    }
    let id = Uuid::now_v7();
    diesel::insert_into(s::table)
        .values((
            s::tenant_id.eq(tenant),
            s::id.eq(id),
            s::coach_id.eq(actor.user_id.into_uuid()),
            s::coachee_id.eq(input.coachee_id),
            s::scheduled_at.eq(input.scheduled_at),
            s::duration_minutes.eq(input.duration_minutes),
            s::agenda.eq(&input.agenda),
            s::created_at.eq(now),
            s::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    write_scores(conn, tenant, id, &input.focus_areas).await?;
    guild_db::outbox::publish(
        conn,
        Some(actor.tenant_id),
        &SessionScheduled {
            tenant_id: tenant,
            session_id: id,
            coachee_id: input.coachee_id,
        },
    )
    .await?;
    guild_db::audit::record(
        conn,
        actor,
        "coaching_session.created",
        "coaching_session",
        Some(id.to_string()),
        serde_json::json!({ "coachee_id": input.coachee_id }),
    )
    .await?;
    get(conn, actor, id).await
}

/// Serializes writes that count a coachee's recent sessions or notes.
pub(crate) async fn lock_coachee(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    coachee: Uuid,
) -> Result<(), CoachingError> {
    guild_db::sql("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind::<Text, _>(format!("coaching:{tenant}:{coachee}"))
        .execute(conn)
        .await?;
    Ok(())
}

/// A session the actor may see.
pub async fn get(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<Session, CoachingError> {
    let row = visible(conn, actor, id, false).await?;
    complete_rows(conn, actor, vec![row])
        .await?
        .pop()
        .ok_or_else(not_found)
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// Sessions, latest first: of `coachee` when given (for those who see their coaching, 404
/// `coachee_not_found` otherwise), else the actor's own as coach or coachee.
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    coachee: Option<Uuid>,
    page: &PageRequest,
) -> Result<Page<Session>, CoachingError> {
    let after = after_time(page)?;
    let (at, after_id) = after.map_or((None, None), |(at, id)| (Some(at), Some(id)));
    let limit = i64::from(page.limit());
    let tenant = actor.tenant_id.into_uuid();
    let ids: Vec<Id> = match coachee {
        Some(coachee) => {
            relationships::seen(conn, actor, coachee).await?;
            guild_db::sql(
                "SELECT id FROM coaching_sessions WHERE tenant_id = $1 AND coachee_id = $2 \
                   AND ($3::timestamptz IS NULL OR (scheduled_at, id) < ($3, $4)) \
                 ORDER BY scheduled_at DESC, id DESC LIMIT $5",
            )
            .bind::<SqlUuid, _>(tenant)
            .bind::<SqlUuid, _>(coachee)
            .bind::<Nullable<Timestamptz>, _>(at)
            .bind::<Nullable<SqlUuid>, _>(after_id)
            .bind::<BigInt, _>(limit + 1)
            .load(conn)
            .await?
        }
        None if actor.acts_as_member() => {
            guild_db::sql(
                "SELECT id FROM coaching_sessions WHERE tenant_id = $1 \
                   AND (coach_id = $2 OR coachee_id = $2) \
                   AND ($3::timestamptz IS NULL OR (scheduled_at, id) < ($3, $4)) \
                 ORDER BY scheduled_at DESC, id DESC LIMIT $5",
            )
            .bind::<SqlUuid, _>(tenant)
            .bind::<SqlUuid, _>(actor.user_id.into_uuid())
            .bind::<Nullable<Timestamptz>, _>(at)
            .bind::<Nullable<SqlUuid>, _>(after_id)
            .bind::<BigInt, _>(limit + 1)
            .load(conn)
            .await?
        }
        None => Vec::new(),
    };
    let ids: Vec<Uuid> = ids.into_iter().map(|i| i.id).collect();
    let mut found: HashMap<Uuid, SessionRow> = s::table
        .filter(s::tenant_id.eq(tenant))
        .filter(s::id.eq_any(&ids))
        .select(SessionRow::as_select())
        .load(conn)
        .await?
        .into_iter()
        .map(|row| (row.id, row))
        .collect();
    let rows = ids.iter().filter_map(|id| found.remove(id)).collect();
    let sessions = complete_rows(conn, actor, rows).await?;
    Ok(Page::from_overfetch(sessions, page.limit(), |x| {
        time_cursor(x.scheduled_at, x.id)
    }))
}

fn check_revision(row: &SessionRow, expected: i32) -> Result<(), CoachingError> {
    if row.revision == expected {
        Ok(())
    } else {
        Err(CoachingError::StaleRevision {
            expected,
            current: row.revision,
        })
    }
}

/// Changes a session (its coach, `expected` being the revision read). A change of time or
/// duration publishes [`SessionChanged`]. Audited.
pub async fn update(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    expected: i32,
    changes: &SessionChanges,
    now: DateTime<Utc>,
) -> Result<Session, CoachingError> {
    let row = managed(conn, actor, id).await?;
    check_revision(&row, expected)?;
    let moves = changes
        .scheduled_at
        .is_some_and(|at| at != row.scheduled_at)
        || changes
            .duration_minutes
            .is_some_and(|d| d != row.duration_minutes);
    let closed = match row.status {
        SessionStatus::Scheduled => false,
        SessionStatus::Cancelled => true,
        SessionStatus::Completed | SessionStatus::NoShow => moves,
    };
    if closed {
        return Err(CoachingError::SessionClosed);
    }
    let tenant = actor.tenant_id.into_uuid();
    let mut errors = Vec::new();
    let scheduled_at = changes.scheduled_at.unwrap_or(row.scheduled_at);
    if moves && scheduled_at <= now {
        errors.push(FieldError::new(
            "scheduled_at",
            "range",
            "must be in the future",
        ));
    }
    let duration = changes.duration_minutes.unwrap_or(row.duration_minutes);
    check_duration(duration, &mut errors);
    let agenda = match &changes.agenda {
        Some(a) => collect(text("agenda", a, MAX_AGENDA, true), &mut errors)?,
        None => Some(row.agenda.clone()),
    };
    let shared = match &changes.shared_notes {
        Some(n) => collect(text("shared_notes", n, MAX_NOTES, true), &mut errors)?,
        None => Some(row.shared_notes.clone()),
    };
    let mut areas = changes.focus_areas.clone();
    if let Some(areas) = areas.as_mut() {
        let scale = settings::scale(conn, actor.tenant_id).await?;
        check_focus(areas, scale, &mut errors)?;
    }
    if !errors.is_empty() {
        return Err(CoachingError::Invalid(errors));
    }
    let revision = row.revision + 1;
    diesel::update(s::table.find((tenant, id)))
        .set((
            s::scheduled_at.eq(scheduled_at),
            s::duration_minutes.eq(duration),
            s::agenda.eq(agenda.unwrap_or_default()),
            s::shared_notes.eq(shared.unwrap_or_default()),
            s::revision.eq(revision),
            s::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    if let Some(areas) = &areas {
        write_scores(conn, tenant, id, areas).await?;
    }
    if moves {
        guild_db::outbox::publish(
            conn,
            Some(actor.tenant_id),
            &SessionChanged {
                tenant_id: tenant,
                session_id: id,
                coachee_id: row.coachee_id,
                revision,
            },
        )
        .await?;
    }
    guild_db::audit::record(
        conn,
        actor,
        "coaching_session.updated",
        "coaching_session",
        Some(id.to_string()),
        serde_json::json!({ "revision": revision, "moved": moves }),
    )
    .await?;
    get(conn, actor, id).await
}

/// Moves a SCHEDULED session to `status` (its coach, `expected` being the revision read):
/// CANCELLED any time (publishes [`SessionCancelled`]), COMPLETED or NO_SHOW once it started.
/// Audited.
pub async fn set_status(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    expected: i32,
    status: SessionStatus,
    now: DateTime<Utc>,
) -> Result<Session, CoachingError> {
    let row = managed(conn, actor, id).await?;
    check_revision(&row, expected)?;
    if row.status != SessionStatus::Scheduled || status == SessionStatus::Scheduled {
        return Err(CoachingError::SessionClosed);
    }
    if status != SessionStatus::Cancelled && row.scheduled_at > now {
        return Err(CoachingError::NotStarted);
    }
    let tenant = actor.tenant_id.into_uuid();
    diesel::update(s::table.find((tenant, id)))
        .set((
            s::status.eq(status.as_str()),
            s::status_changed_at.eq(now),
            s::revision.eq(row.revision + 1),
            s::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    if status == SessionStatus::Cancelled {
        guild_db::outbox::publish(
            conn,
            Some(actor.tenant_id),
            &SessionCancelled {
                tenant_id: tenant,
                session_id: id,
                coachee_id: row.coachee_id,
            },
        )
        .await?;
    }
    guild_db::audit::record(
        conn,
        actor,
        &format!("coaching_session.{}", status.as_str().to_lowercase()),
        "coaching_session",
        Some(id.to_string()),
        serde_json::json!({ "revision": row.revision + 1 }),
    )
    .await?;
    get(conn, actor, id).await
}

/// The private notes of a session (its coach only: 403 to others who see it). Every read is
/// written to the audit log (`coaching_session.private_notes_read`) in the reading transaction.
pub async fn private_notes(
    conn: &mut AsyncPgConnection,
    keys: &Keyring,
    actor: &Actor,
    id: Uuid,
) -> Result<String, CoachingError> {
    let row = visible(conn, actor, id, false).await?;
    if row.coach_id != actor.user_id.into_uuid() {
        return Err(CoachingError::Forbidden);
    }
    let tenant = actor.tenant_id.into_uuid();
    let sealed: Option<String> = s::table
        .find((tenant, id))
        .select(s::private_notes_sealed)
        .first(conn)
        .await?;
    let notes = match sealed {
        Some(sealed) => open(keys, &context(tenant, id), &sealed)?,
        None => String::new(),
    };
    guild_db::audit::record(
        conn,
        actor,
        "coaching_session.private_notes_read",
        "coaching_session",
        Some(id.to_string()),
        serde_json::json!({ "coachee_id": row.coachee_id }),
    )
    .await?;
    Ok(notes)
}

/// Replaces a session's private notes (its coach; until it is cancelled; up to 20,000
/// characters), sealed under the keyring's current key. Audited (without the text).
pub async fn set_private_notes(
    conn: &mut AsyncPgConnection,
    keys: &Keyring,
    actor: &Actor,
    id: Uuid,
    notes: &str,
    now: DateTime<Utc>,
) -> Result<String, CoachingError> {
    let row = managed(conn, actor, id).await?;
    if row.status == SessionStatus::Cancelled {
        return Err(CoachingError::SessionClosed);
    }
    let notes = text("private_notes", notes, MAX_NOTES, true)?;
    let tenant = actor.tenant_id.into_uuid();
    let sealed = if notes.is_empty() {
        None
    } else {
        Some(keys.seal(&context(tenant, id), notes.as_bytes())?)
    };
    diesel::update(s::table.find((tenant, id)))
        .set((s::private_notes_sealed.eq(sealed), s::updated_at.eq(now)))
        .execute(conn)
        .await?;
    guild_db::audit::record(
        conn,
        actor,
        "coaching_session.private_notes_written",
        "coaching_session",
        Some(id.to_string()),
        serde_json::json!({ "coachee_id": row.coachee_id, "length": notes.chars().count() }),
    )
    .await?;
    Ok(notes)
}

pub(crate) fn open(keys: &Keyring, context: &str, sealed: &str) -> Result<String, CoachingError> {
    let bytes = keys.open(context, sealed)?;
    String::from_utf8(bytes).map_err(|_| guild_kernel::sealed::SealError::Malformed.into())
}

/// What the coachee's notifications and calendar entries say of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The session.
    pub id: Uuid,
    /// The coach's name.
    pub coach_name: String,
    /// The coach's email (the organizer).
    pub coach_email: String,
    /// The coachee's email (the attendee).
    pub coachee_email: String,
    /// Start.
    pub scheduled_at: DateTime<Utc>,
    /// Minutes.
    pub duration_minutes: i32,
    /// Status.
    pub status: SessionStatus,
    /// The agenda.
    pub agenda: String,
    /// The revision (the SEQUENCE is one less).
    pub revision: i32,
}

#[derive(QueryableByName)]
struct NoticeRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    coach_name: String,
    #[diesel(sql_type = Text)]
    coach_email: String,
    #[diesel(sql_type = Text)]
    coachee_email: String,
    #[diesel(sql_type = Timestamptz)]
    scheduled_at: DateTime<Utc>,
    #[diesel(sql_type = Int4)]
    duration_minutes: i32,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Text)]
    agenda: String,
    #[diesel(sql_type = Int4)]
    revision: i32,
}

/// What notifications of session `id` say (`None` when it was deleted).
pub async fn notice(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: Uuid,
) -> Result<Option<Notice>, CoachingError> {
    let row: Option<NoticeRow> = guild_db::sql(
        "SELECT s.id, c.name AS coach_name, c.email AS coach_email, e.email AS coachee_email, \
                s.scheduled_at, s.duration_minutes, s.status, s.agenda, s.revision \
           FROM coaching_sessions s JOIN users c ON c.id = s.coach_id \
           JOIN users e ON e.id = s.coachee_id \
          WHERE s.tenant_id = $1 AND s.id = $2",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(id)
    .load(conn)
    .await?
    .pop();
    Ok(row.map(|r| Notice {
        id: r.id,
        coach_name: r.coach_name,
        coach_email: r.coach_email,
        coachee_email: r.coachee_email,
        scheduled_at: r.scheduled_at,
        duration_minutes: r.duration_minutes,
        status: r.status.parse().unwrap_or(SessionStatus::Scheduled),
        agenda: r.agenda,
        revision: r.revision,
    }))
}

/// How long before its start a session's reminder goes out.
pub const REMINDER_AHEAD: Duration = Duration::hours(24);

/// A session whose coachee is reminded of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminder {
    /// The session.
    pub id: Uuid,
    /// Who is reminded.
    pub coachee_id: Uuid,
    /// When it starts (the reminder is once per session and start time).
    pub scheduled_at: DateTime<Utc>,
}

/// Marks the tenant's SCHEDULED sessions starting within [`REMINDER_AHEAD`] of `now` whose
/// reminder was not sent for their current start time, and returns them: each session once per
/// start time (a rescheduled session is reminded again), however many scans run at once.
pub async fn mark_reminders(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    now: DateTime<Utc>,
) -> Result<Vec<Reminder>, CoachingError> {
    let rows: Vec<(Uuid, Uuid, DateTime<Utc>)> = diesel::update(
        s::table
            .filter(s::tenant_id.eq(tenant.into_uuid()))
            .filter(s::status.eq(SessionStatus::Scheduled.as_str()))
            .filter(s::scheduled_at.gt(now))
            .filter(s::scheduled_at.le(now + REMINDER_AHEAD))
            .filter(
                s::reminder_sent_for
                    .is_null()
                    .or(s::reminder_sent_for.ne(s::scheduled_at.nullable())),
            ),
    )
    .set(s::reminder_sent_for.eq(s::scheduled_at.nullable()))
    .returning((s::id, s::coachee_id, s::scheduled_at))
    .get_results(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, coachee_id, scheduled_at)| Reminder {
            id,
            coachee_id,
            scheduled_at,
        })
        .collect())
}
