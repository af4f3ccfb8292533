//! The XP economy of the cohort: what moved in the period, from the ledger (`xp_transactions`)
//! and the redemptions (`reward_redemptions`), and the balances now (`user_xp_balances`).
//!
//! - **Earned**: awards and positive manual grants; by source (`MODULE_COMPLETED`, …).
//! - **Deducted**: negative manual adjustments, as a positive number.
//! - **Spent**: the cost of redemptions approved in the period (`reviewed_at`; a reward that
//!   needs no approval is approved when redeemed).
//! - **Held** and **released**: XP put on hold by redemptions waiting for approval, and given
//!   back by rejected or cancelled ones, in the period.
//! - **Balance** and **held now**: the cohort's spendable and held XP at the time of the
//!   request, whatever the period.

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::TryFutureExt;
use futures_util::future::try_join;
use guild_kernel::{Actor, Permission};
use serde::Serialize;

use super::{AnalyticsFilter, cohort};
use crate::AnalyticsError;

/// XP earned from one source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceXp {
    /// The source (`MODULE_COMPLETED`, `MANUAL`, …).
    pub source: String,
    /// XP earned from it.
    pub xp: i64,
}

/// The XP economy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct XpEconomy {
    /// The period's start.
    pub from: DateTime<Utc>,
    /// The period's end.
    pub to: DateTime<Utc>,
    /// Members in the cohort.
    pub member_count: i64,
    /// Earned in the period.
    pub earned: i64,
    /// Taken back by hand in the period.
    pub deducted: i64,
    /// Spent on approved redemptions in the period.
    pub spent: i64,
    /// Put on hold in the period.
    pub held: i64,
    /// Given back from holds in the period.
    pub released: i64,
    /// Spendable now.
    pub balance_now: i64,
    /// On hold now.
    pub held_now: i64,
    /// Earned in the period by source, most first.
    pub earned_by_source: Vec<SourceXp>,
}

#[derive(QueryableByName)]
struct Flows {
    #[diesel(sql_type = BigInt)]
    earned: i64,
    #[diesel(sql_type = BigInt)]
    deducted: i64,
    #[diesel(sql_type = BigInt)]
    held: i64,
    #[diesel(sql_type = BigInt)]
    released: i64,
    #[diesel(sql_type = BigInt)]
    spent: i64,
    #[diesel(sql_type = BigInt)]
    balance_now: i64,
    #[diesel(sql_type = BigInt)]
    held_now: i64,
}

#[derive(QueryableByName)]
struct SourceRow {
    #[diesel(sql_type = Text)]
    source: String,
    #[diesel(sql_type = BigInt)]
    xp: i64,
}

const FLOWS: &str = "SELECT \
       coalesce(sum(t.amount) FILTER (WHERE t.kind = 'AWARD' OR (t.kind = 'MANUAL' AND t.amount > 0)), 0)::bigint AS earned, \
       coalesce(-sum(t.amount) FILTER (WHERE t.kind = 'MANUAL' AND t.amount < 0), 0)::bigint AS deducted, \
       coalesce(-sum(t.amount) FILTER (WHERE t.kind = 'HOLD'), 0)::bigint AS held, \
       coalesce(sum(t.amount) FILTER (WHERE t.kind = 'RELEASE'), 0)::bigint AS released, \
       (SELECT coalesce(sum(r.cost_xp), 0)::bigint FROM reward_redemptions r \
         WHERE r.tenant_id = $1 AND r.user_id = ANY($2) AND r.status = 'APPROVED' \
           AND r.reviewed_at >= $3 AND r.reviewed_at < $4) AS spent, \
       (SELECT coalesce(sum(b.total_xp), 0)::bigint FROM user_xp_balances b \
         WHERE b.tenant_id = $1 AND b.user_id = ANY($2)) AS balance_now, \
       (SELECT coalesce(sum(b.held_xp), 0)::bigint FROM user_xp_balances b \
         WHERE b.tenant_id = $1 AND b.user_id = ANY($2)) AS held_now \
     FROM xp_transactions t \
     WHERE t.tenant_id = $1 AND t.user_id = ANY($2) AND t.created_at >= $3 AND t.created_at < $4";

const BY_SOURCE: &str = "SELECT source, sum(amount)::bigint AS xp FROM xp_transactions \
     WHERE tenant_id = $1 AND user_id = ANY($2) AND created_at >= $3 AND created_at < $4 \
       AND (kind = 'AWARD' OR (kind = 'MANUAL' AND amount > 0)) \
     GROUP BY source ORDER BY 2 DESC, 1";

/// The XP economy of the period (see the module's rules).
pub async fn xp(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    filter: &AnalyticsFilter,
    now: DateTime<Utc>,
) -> Result<XpEconomy, AnalyticsError> {
    let conn: &AsyncPgConnection = conn;
    let cohort = cohort(conn, actor, Permission::ViewAnalytics, filter, now).await?;
    let tenant = actor.tenant_id.into_uuid();
    let mut c = conn;
    let bound = |sql: &'static str| {
        guild_db::sql(sql)
            .bind::<SqlUuid, _>(tenant)
            .bind::<Array<SqlUuid>, _>(cohort.ids.clone())
            .bind::<Timestamptz, _>(cohort.from)
            .bind::<Timestamptz, _>(cohort.to)
    };
    let flows = bound(FLOWS).get_result::<Flows>(&mut c);
    let sources = bound(BY_SOURCE).load::<SourceRow>(&mut c);
    let (f, sources) = try_join(
        flows.err_into::<AnalyticsError>(),
        sources.err_into::<AnalyticsError>(),
    )
    .await?;
    Ok(XpEconomy {
        from: cohort.from,
        to: cohort.to,
        member_count: cohort.ids.len() as i64,
        earned: f.earned,
        deducted: f.deducted,
        spent: f.spent,
        held: f.held,
        released: f.released,
        balance_now: f.balance_now,
        held_now: f.held_now,
        earned_by_source: sources
            .into_iter()
            .map(|s| SourceXp {
                source: s.source,
                xp: s.xp,
            })
            .collect(),
    })
}
