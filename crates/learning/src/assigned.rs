//! The assignments of members to modules: a module assigned to a group (`module_groups`, with
//! whether it is mandatory and its deadline in days) is assigned to every member of the group.
//! A member's due date for a module is the earliest over their groups' assignments of
//! `start + deadline_days`, where `start` is the latest of: when they joined the group, when the
//! module was assigned to it, and when their current cycle started (`assignment_cycles`: an
//! expired certificate restarts it, see [`restart_cycle`]).
//!
//! The rows are [`assignments_sql!`](crate::assignments_sql): one fixed statement text that the
//! queries needing assignments (the catalog, the dashboard, reminders, expiry, the matrix) embed.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_kernel::{TenantId, UserId};
use uuid::Uuid;

use crate::LearningError;

/// The assignments of members to modules, one row per (member, module) of the tenant bound as
/// `$1`: `tenant_id, user_id, module_id, mandatory, assigned_at, due_at`.
///
/// A fixed text, a string literal, so a statement embeds it with `concat!` as a subquery
/// (`FROM (…) a`) and binds the tenant as its own `$1`; nothing is built at run time. A caller
/// filters the rows outside, on `a.user_id` and `a.module_id`: those are grouping columns, so
/// PostgreSQL pushes the filter into the subquery's `WHERE` (in custom and generic plans alike),
/// and the statement reads the same index ranges as with the filter written inside.
#[macro_export]
macro_rules! assignments_sql {
    () => {
        "SELECT mg.tenant_id, ug.user_id, mg.module_id, \
                bool_or(mg.is_mandatory) AS mandatory, \
                max(greatest(ug.created_at, mg.assigned_at, c.started_at)) AS assigned_at, \
                min(greatest(ug.created_at, mg.assigned_at, c.started_at) \
                    + make_interval(days => mg.deadline_days)) AS due_at \
         FROM module_groups mg \
         JOIN user_groups ug ON ug.tenant_id = mg.tenant_id AND ug.group_id = mg.group_id \
         LEFT JOIN assignment_cycles c ON c.tenant_id = mg.tenant_id AND c.user_id = ug.user_id \
                                      AND c.module_id = mg.module_id \
         WHERE mg.tenant_id = $1 \
         GROUP BY mg.tenant_id, ug.user_id, mg.module_id"
    };
}

/// One group's due date for a member, the rule [`assignments_sql!`](crate::assignments_sql)
/// applies in SQL, for callers that compute over loaded rows: `start + deadline_days`, where
/// `start` is the latest of `joined` (the member joined the group), `assigned` (the module was
/// assigned to it) and `cycle` (the member's current cycle started); none without a deadline.
/// A member's due date for a module is the earliest of their groups' ([`earliest`]).
pub fn group_due_at(
    joined: DateTime<Utc>,
    assigned: DateTime<Utc>,
    cycle: Option<DateTime<Utc>>,
    deadline_days: Option<i32>,
) -> Option<DateTime<Utc>> {
    let start = joined.max(assigned).max(cycle.unwrap_or(assigned));
    deadline_days.map(|days| start + chrono::Duration::days(i64::from(days)))
}

/// The earlier of two due dates, ignoring a missing one (SQL's `min`).
pub fn earliest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Starts a new cycle of the member on the module at `at`: their due date counts from it.
pub async fn restart_cycle(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    module: Uuid,
    at: DateTime<Utc>,
) -> Result<(), LearningError> {
    guild_db::sql(
        "INSERT INTO assignment_cycles (tenant_id, user_id, module_id, started_at) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (tenant_id, user_id, module_id) DO UPDATE SET started_at = EXCLUDED.started_at",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(user.into_uuid())
    .bind::<SqlUuid, _>(module)
    .bind::<Timestamptz, _>(at)
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};

    use super::{earliest, group_due_at};

    #[test]
    fn the_due_date_counts_from_the_latest_start_and_the_earliest_group_wins() {
        let t = |d: u32| Utc.with_ymd_and_hms(2026, 1, d, 9, 0, 0).unwrap();
        // Joined after the assignment: counts from joining.
        assert_eq!(group_due_at(t(5), t(2), None, Some(7)), Some(t(12)));
        // Assigned after joining: counts from the assignment.
        assert_eq!(group_due_at(t(2), t(5), None, Some(7)), Some(t(12)));
        // A renewal's cycle, later than both, moves it.
        assert_eq!(group_due_at(t(2), t(5), Some(t(10)), Some(1)), Some(t(11)));
        // An older cycle does not move it back.
        assert_eq!(group_due_at(t(2), t(5), Some(t(1)), Some(1)), Some(t(6)));
        // No deadline, no due date.
        assert_eq!(group_due_at(t(2), t(5), None, None), None);
        assert_eq!(earliest(Some(t(3)), Some(t(2))), Some(t(2)));
        assert_eq!(earliest(None, Some(t(2))), Some(t(2)));
        assert_eq!(earliest(Some(t(4)), None), Some(t(4)));
        assert_eq!(earliest(None, None), None);
        assert_eq!(t(2) + Duration::days(1), t(3));
    }
}
