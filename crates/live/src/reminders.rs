//! Reminders of live events: a day and an hour before an event starts, each registrant (holding
//! a seat, not waitlisted) hears of it once, with where to go — the join link for ONLINE, the
//! address for PHYSICAL, both for HYBRID (the api layer's reaction writes them from
//! [`crate::events::Notice`]).
//!
//! The scan ([`ReminderScan`], every five minutes) claims the registrations due for a reminder
//! by writing the start time they are reminded of (`reminded_day_for`, `reminded_hour_for`) in
//! the same statement that finds them, so two scans never remind anyone twice; an event moved
//! to another time is reminded of again for the new time. A scan that runs late sends only the
//! reminder still meaningful: past the one-hour mark the day reminder is skipped, the hour one
//! sent.

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Array, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_kernel::{DomainEvent, TenantId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::LiveError;

guild_kernel::string_enum!(
    /// Which reminder.
    ReminderKind {
        /// A day before the start.
        DayBefore => "DAY_BEFORE",
        /// An hour before the start.
        HourBefore => "HOUR_BEFORE",
    }
);

/// The job that sends the reminders that are due in every tenant.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ReminderScan {}

impl guild_db::jobs::Job for ReminderScan {
    const KIND: &'static str = "live.event_reminders";
}

/// Registrants of an event are to be reminded of it (EVENT_REMINDER).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemindersDue {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The event.
    pub event_id: Uuid,
    /// Which reminder.
    pub kind: ReminderKind,
    /// The start time they are reminded of (part of the notification's identity).
    pub starts_at: DateTime<Utc>,
    /// Who.
    pub user_ids: Vec<Uuid>,
}

impl DomainEvent for RemindersDue {
    const KIND: &'static str = "live.reminders_due";
}

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = SqlUuid)]
    event_id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    starts_at: DateTime<Utc>,
    #[diesel(sql_type = Array<SqlUuid>)]
    user_ids: Vec<Uuid>,
}

/// Claims the registrations of `tenant` due for a reminder at `now` and publishes one
/// [`RemindersDue`] per event and reminder; returns how many members are reminded.
pub async fn send_due(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    now: DateTime<Utc>,
) -> Result<usize, LiveError> {
    let mut reminded = 0;
    for kind in [ReminderKind::HourBefore, ReminderKind::DayBefore] {
        // The day reminder is due from 24 h before the start until the hour reminder is; the
        // hour reminder from 1 h before until the start.
        let (column, from, until) = match kind {
            ReminderKind::DayBefore => ("reminded_day_for", "24 hours", "1 hour"),
            ReminderKind::HourBefore => ("reminded_hour_for", "1 hour", "0 hours"),
        };
        let claimed: Vec<Claimed> = guild_db::sql(format!(
            "WITH due AS ( \
                 UPDATE live_event_registrations r SET {column} = e.starts_at \
                   FROM live_events e \
                  WHERE e.tenant_id = $1 AND e.status = 'SCHEDULED' \
                    AND e.starts_at > $2 + interval '{until}' \
                    AND e.starts_at <= $2 + interval '{from}' \
                    AND r.tenant_id = e.tenant_id AND r.event_id = e.id \
                    AND r.status = 'REGISTERED' \
                    AND r.{column} IS DISTINCT FROM e.starts_at \
                 RETURNING r.event_id, r.user_id, e.starts_at) \
             SELECT event_id, starts_at, array_agg(user_id ORDER BY user_id) AS user_ids \
               FROM due GROUP BY event_id, starts_at"
        ))
        .bind::<SqlUuid, _>(tenant.into_uuid())
        .bind::<Timestamptz, _>(now)
        .load(conn)
        .await?;
        for row in claimed {
            reminded += row.user_ids.len();
            guild_db::outbox::publish(
                conn,
                Some(tenant),
                &RemindersDue {
                    tenant_id: tenant.into_uuid(),
                    event_id: row.event_id,
                    kind,
                    starts_at: row.starts_at,
                    user_ids: row.user_ids,
                },
            )
            .await?;
        }
    }
    Ok(reminded)
}

/// Tenants that are not archived, for the scan to visit each in its own tenant transaction.
pub async fn active_tenants(conn: &mut AsyncPgConnection) -> Result<Vec<TenantId>, LiveError> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    let rows: Vec<Row> =
        guild_db::sql("SELECT id FROM tenants WHERE archived_at IS NULL ORDER BY id")
            .load(conn)
            .await?;
    Ok(rows.into_iter().map(|r| TenantId(r.id)).collect())
}
