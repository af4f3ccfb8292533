//! Live events' attendance: for each event starting in the period and not cancelled, the
//! cohort's members it invited, registered, waitlisted and attended.
//!
//! - **Invited**: an event for groups invites their members; an event for nobody in particular
//!   (no group) invites every member, so the whole cohort.
//! - **Registered**: holding a seat (`REGISTERED`); **waitlisted**: waiting for one;
//!   **attended**: registered and confirmed as attended (`attended_at`).
//! - Rates: `registration_rate = registered / invited`, `attendance_rate = attended /
//!   registered`. The totals add up the events that started before now (an upcoming event has
//!   no attendance yet).
//!
//! At most [`MAX_EVENTS`] events are listed, earliest first (`event_count` counts them all; the
//! totals cover them all).

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Bool, Integer, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_kernel::{Actor, Permission};
use serde::Serialize;
use uuid::Uuid;

use super::{AnalyticsFilter, cohort, share};
use crate::AnalyticsError;

/// The most events listed.
pub const MAX_EVENTS: usize = 500;

/// One event's attendance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventAttendance {
    /// The event.
    pub event_id: Uuid,
    /// Its title.
    pub title: String,
    /// When it starts.
    pub starts_at: DateTime<Utc>,
    /// SCHEDULED or COMPLETED.
    pub status: String,
    /// Its seats.
    pub capacity: i32,
    /// Invited members of the cohort.
    pub invited: i64,
    /// Registered members of the cohort.
    pub registered: i64,
    /// Waitlisted members of the cohort.
    pub waitlisted: i64,
    /// Registered members of the cohort who attended.
    pub attended: i64,
    /// `registered / invited`.
    pub registration_rate: Option<f64>,
    /// `attended / registered`.
    pub attendance_rate: Option<f64>,
}

/// Attendance over the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventsReport {
    /// The period's start.
    pub from: DateTime<Utc>,
    /// The period's end.
    pub to: DateTime<Utc>,
    /// Events in the period.
    pub event_count: i64,
    /// Invited, over the events that started.
    pub invited: i64,
    /// Registered, over the events that started.
    pub registered: i64,
    /// Attended, over the events that started.
    pub attended: i64,
    /// `registered / invited` over the events that started.
    pub registration_rate: Option<f64>,
    /// `attended / registered` over the events that started.
    pub attendance_rate: Option<f64>,
    /// The events, earliest first (at most 500).
    pub events: Vec<EventAttendance>,
}

#[derive(QueryableByName)]
struct EventRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Timestamptz)]
    starts_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Integer)]
    capacity: i32,
    #[diesel(sql_type = Bool)]
    targeted: bool,
    #[diesel(sql_type = BigInt)]
    invited: i64,
    #[diesel(sql_type = BigInt)]
    registered: i64,
    #[diesel(sql_type = BigInt)]
    waitlisted: i64,
    #[diesel(sql_type = BigInt)]
    attended: i64,
}

/// The events starting in the period (`$3`–`$4`) with the cohort's (`$2`) figures.
pub(crate) const EVENTS: &str = "SELECT e.id, e.title, e.starts_at, e.status, e.capacity, \
       EXISTS (SELECT 1 FROM live_event_groups g WHERE g.tenant_id = e.tenant_id AND g.event_id = e.id) AS targeted, \
       (SELECT count(DISTINCT ug.user_id) FROM live_event_groups g \
          JOIN user_groups ug ON ug.tenant_id = g.tenant_id AND ug.group_id = g.group_id \
         WHERE g.tenant_id = e.tenant_id AND g.event_id = e.id AND ug.user_id = ANY($2)) AS invited, \
       count(r.user_id) FILTER (WHERE r.status = 'REGISTERED') AS registered, \
       count(r.user_id) FILTER (WHERE r.status = 'WAITLISTED') AS waitlisted, \
       count(r.user_id) FILTER (WHERE r.status = 'REGISTERED' AND r.attended_at IS NOT NULL) AS attended \
     FROM live_events e \
     LEFT JOIN live_event_registrations r ON r.tenant_id = e.tenant_id AND r.event_id = e.id \
          AND r.user_id = ANY($2) \
     WHERE e.tenant_id = $1 AND e.starts_at >= $3 AND e.starts_at < $4 AND e.status <> 'CANCELLED' \
     GROUP BY e.tenant_id, e.id \
     ORDER BY e.starts_at, e.id";

/// Attendance of the events in the period (see the module's rules).
pub async fn events(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    filter: &AnalyticsFilter,
    now: DateTime<Utc>,
) -> Result<EventsReport, AnalyticsError> {
    let conn: &AsyncPgConnection = conn;
    let cohort = cohort(conn, actor, Permission::ViewAnalytics, filter, now).await?;
    let mut c = conn;
    let rows = guild_db::sql(EVENTS)
        .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
        .bind::<Array<SqlUuid>, _>(cohort.ids.clone())
        .bind::<Timestamptz, _>(cohort.from)
        .bind::<Timestamptz, _>(cohort.to)
        .load::<EventRow>(&mut c)
        .await?;
    let members = cohort.ids.len() as i64;
    let mut events: Vec<EventAttendance> = rows
        .into_iter()
        .map(|r| {
            let invited = if r.targeted { r.invited } else { members };
            EventAttendance {
                event_id: r.id,
                title: r.title,
                starts_at: r.starts_at,
                status: r.status,
                capacity: r.capacity,
                invited,
                registered: r.registered,
                waitlisted: r.waitlisted,
                attended: r.attended,
                registration_rate: share(r.registered, invited),
                attendance_rate: share(r.attended, r.registered),
            }
        })
        .collect();
    let started = events.iter().filter(|e| e.starts_at <= now);
    let (invited, registered, attended) = started.fold((0, 0, 0), |(i, r, a), e| {
        (i + e.invited, r + e.registered, a + e.attended)
    });
    let event_count = events.len() as i64;
    events.truncate(MAX_EVENTS);
    Ok(EventsReport {
        from: cohort.from,
        to: cohort.to,
        event_count,
        invited,
        registered,
        attended,
        registration_rate: share(registered, invited),
        attendance_rate: share(attended, registered),
        events,
    })
}
