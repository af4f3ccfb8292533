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
