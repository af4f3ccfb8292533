//! XP history for the demo tenant: awards dated in the past, so the dashboard's top performers,
//! the engagement scores, the analytics' XP economy and the week and month leaderboards have a
//! few weeks to show after `make run`. Each award goes through [`crate::ledger::award`] (the
//! balance, the rank), then its ledger row takes the date it was earned; the period totals the
//! leaderboards read are rebuilt from the ledger once all are in ([`rebuild_period_totals`]).

use chrono::{DateTime, Utc};
use diesel::sql_types::{Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_kernel::{TenantId, UserId};
use uuid::Uuid;

use crate::GamificationError;
use crate::ledger;

/// Awards `source` for `entity` to `user` as [`ledger::award`] does, dated `at`; false when
/// nothing was awarded (already awarded, or the source is worth nothing). Run it in the
/// tenant's transaction, then [`rebuild_period_totals`].
pub async fn award_at(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    source: &str,
    entity: Uuid,
    at: DateTime<Utc>,
) -> Result<bool, GamificationError> {
    if ledger::award(conn, tenant, user, source, entity)
        .await?
        .is_none()
    {
        return Ok(false);
    }
    guild_db::sql(
        "UPDATE xp_transactions SET created_at = $5 WHERE tenant_id = $1 AND user_id = $2 \
           AND kind = 'AWARD' AND source = $3 AND source_entity_id = $4",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(user.into_uuid())
    .bind::<Text, _>(source)
    .bind::<SqlUuid, _>(entity)
    .bind::<Timestamptz, _>(at)
    .execute(conn)
    .await?;
    Ok(true)
}

/// Recomputes the tenant's week and month XP totals from its ledger (as the migration that
/// introduced them did): after [`award_at`] moved awards into earlier periods.
pub async fn rebuild_period_totals(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
) -> Result<(), GamificationError> {
    guild_db::sql("DELETE FROM xp_period_totals WHERE tenant_id = $1")
        .bind::<SqlUuid, _>(tenant.into_uuid())
        .execute(conn)
        .await?;
    for (period, unit) in [("MONTH", "month"), ("WEEK", "week")] {
        guild_db::sql(format!(
            "INSERT INTO xp_period_totals (tenant_id, user_id, period, period_start, xp) \
             SELECT tenant_id, user_id, '{period}', \
                    date_trunc('{unit}', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', sum(amount) \
             FROM xp_transactions \
             WHERE tenant_id = $1 AND (kind = 'AWARD' OR (kind = 'MANUAL' AND amount > 0)) \
             GROUP BY 1, 2, 4"
        ))
        .bind::<SqlUuid, _>(tenant.into_uuid())
        .execute(conn)
        .await?;
    }
    Ok(())
}
