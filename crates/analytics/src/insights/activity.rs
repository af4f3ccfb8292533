//! Activity and completions over time.
//!
//! - **Active members** per bucket: the members of the cohort with a usage session (heartbeats
//!   and open streams, `usage_sessions`) spanning some of the bucket within the period. A session
//!   from 23:50 to 00:20 makes its member active on both days. `active_members` counts each
//!   member once over the whole period.
//! - **Completions** per bucket: module completions (`module_completions`, later archived ones
//!   included: the completion happened) whose `completed_at` falls in the bucket and the period,
//!   and how many distinct members completed.
//!
//! Buckets are UTC days, ISO weeks (from Monday) or calendar months, from the one holding the
//! period's start to the last starting before its end; empty buckets are listed with zeros.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::TryFutureExt;
use futures_util::future::try_join;
use guild_kernel::{Actor, Permission};
use serde::Serialize;

use super::{AnalyticsFilter, Granularity, cohort};
use crate::AnalyticsError;
use crate::dashboard::Count;

/// Active members in one bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActiveBucket {
    /// The bucket's start.
    pub start: DateTime<Utc>,
    /// Members active in it.
    pub active_members: i64,
}

/// Active members over time.
#[derive(Debug, Clone, Serialize)]
pub struct Activity {
    /// The period's start.
    pub from: DateTime<Utc>,
    /// The period's end.
    pub to: DateTime<Utc>,
    /// The buckets' width.
    pub granularity: Granularity,
    /// Members in the cohort.
    pub member_count: i64,
    /// Members active at least once in the period.
    pub active_members: i64,
    /// Every bucket, oldest first.
    pub buckets: Vec<ActiveBucket>,
}

/// Completions in one bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CompletionBucket {
    /// The bucket's start.
    pub start: DateTime<Utc>,
    /// Module completions in it.
    pub completions: i64,
    /// Distinct members who completed a module in it.
    pub members: i64,
}

/// Completions over time.
#[derive(Debug, Clone, Serialize)]
pub struct Completions {
    /// The period's start.
    pub from: DateTime<Utc>,
    /// The period's end.
    pub to: DateTime<Utc>,
    /// The buckets' width.
    pub granularity: Granularity,
    /// Members in the cohort.
    pub member_count: i64,
    /// Module completions in the period.
    pub completions: i64,
    /// Distinct members who completed a module in the period.
    pub members: i64,
    /// Every bucket, oldest first.
    pub buckets: Vec<CompletionBucket>,
}

#[derive(QueryableByName)]
struct BucketRow {
    #[diesel(sql_type = Timestamptz)]
    bucket: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = BigInt)]
    members: i64,
}

/// The cohort's (`$2`) usage sessions within the period (`$3`–`$4`), one row per member and
/// bucket (`$5`: day, week or month) the session spans.
const SESSION_BUCKETS: &str = "SELECT us.user_id, \
       (d.b AT TIME ZONE 'UTC') AS bucket \
     FROM usage_sessions us \
     CROSS JOIN LATERAL generate_series( \
       date_trunc($5, greatest(us.started_at, $3::timestamptz) AT TIME ZONE 'UTC'), \
       date_trunc($5, least(us.last_ping_at, $4::timestamptz - interval '1 microsecond') AT TIME ZONE 'UTC'), \
       ('1 ' || $5)::interval) AS d(b) \
     WHERE us.tenant_id = $1 AND us.user_id = ANY($2) AND us.last_ping_at >= $3 AND us.started_at < $4";

static ACTIVE_BY_BUCKET: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT bucket, count(DISTINCT user_id) AS n, count(DISTINCT user_id) AS members \
         FROM ({SESSION_BUCKETS}) s GROUP BY bucket"
    )
});

/// Members with a session overlapping the period.
const ACTIVE_IN_PERIOD: &str = "SELECT count(DISTINCT user_id) AS n FROM usage_sessions \
     WHERE tenant_id = $1 AND user_id = ANY($2) AND last_ping_at >= $3 AND started_at < $4";

/// Completions of the cohort in the period, per bucket.
const COMPLETIONS_BY_BUCKET: &str = "SELECT \
       (date_trunc($5, completed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS bucket, \
       count(*) AS n, count(DISTINCT user_id) AS members \
     FROM module_completions \
     WHERE tenant_id = $1 AND user_id = ANY($2) AND completed_at >= $3 AND completed_at < $4 \
     GROUP BY 1";

/// Distinct members completing in the period.
const COMPLETERS_IN_PERIOD: &str = "SELECT count(DISTINCT user_id) AS n FROM module_completions \
     WHERE tenant_id = $1 AND user_id = ANY($2) AND completed_at >= $3 AND completed_at < $4";

/// Runs a per-bucket statement and a whole-period count for the cohort, in one round trip.
async fn series(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    filter: &AnalyticsFilter,
    granularity: Granularity,
    now: DateTime<Utc>,
    (per_bucket, whole): (&str, &str),
) -> Result<(super::Cohort, Vec<BucketRow>, i64), AnalyticsError> {
    let conn: &AsyncPgConnection = conn;
    let cohort = cohort(conn, actor, Permission::ViewAnalytics, filter, now).await?;
    let tenant = actor.tenant_id.into_uuid();
    let mut c = conn;
    let rows = guild_db::sql(per_bucket)
        .bind::<SqlUuid, _>(tenant)
        .bind::<Array<SqlUuid>, _>(cohort.ids.clone())
        .bind::<Timestamptz, _>(cohort.from)
        .bind::<Timestamptz, _>(cohort.to)
        .bind::<Text, _>(granularity.as_str())
        .load::<BucketRow>(&mut c);
    let total = guild_db::sql(whole)
        .bind::<SqlUuid, _>(tenant)
        .bind::<Array<SqlUuid>, _>(cohort.ids.clone())
        .bind::<Timestamptz, _>(cohort.from)
        .bind::<Timestamptz, _>(cohort.to)
        .get_result::<Count>(&mut c);
    let (rows, total) = try_join(
        rows.err_into::<AnalyticsError>(),
        total.err_into::<AnalyticsError>(),
    )
    .await?;
    Ok((cohort, rows, total.n))
}

/// Active members per bucket (see the module's rules).
pub async fn activity(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    filter: &AnalyticsFilter,
    granularity: Granularity,
    now: DateTime<Utc>,
) -> Result<Activity, AnalyticsError> {
    let (cohort, rows, active) = series(
        conn,
        actor,
        filter,
        granularity,
        now,
        (ACTIVE_BY_BUCKET.as_str(), ACTIVE_IN_PERIOD),
    )
    .await?;
    let by_bucket: HashMap<DateTime<Utc>, i64> =
        rows.into_iter().map(|r| (r.bucket, r.n)).collect();
    Ok(Activity {
        from: cohort.from,
        to: cohort.to,
        granularity,
        member_count: cohort.ids.len() as i64,
        active_members: active,
        buckets: granularity
            .buckets(cohort.from, cohort.to)
            .into_iter()
            .map(|start| ActiveBucket {
                start,
                active_members: by_bucket.get(&start).copied().unwrap_or(0),
            })
            .collect(),
    })
}

/// Completions per bucket (see the module's rules).
pub async fn completions(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    filter: &AnalyticsFilter,
    granularity: Granularity,
    now: DateTime<Utc>,
) -> Result<Completions, AnalyticsError> {
    let (cohort, rows, members) = series(
        conn,
        actor,
        filter,
        granularity,
        now,
        (COMPLETIONS_BY_BUCKET, COMPLETERS_IN_PERIOD),
    )
    .await?;
    let by_bucket: HashMap<DateTime<Utc>, (i64, i64)> = rows
        .into_iter()
        .map(|r| (r.bucket, (r.n, r.members)))
        .collect();
    let buckets: Vec<CompletionBucket> = granularity
        .buckets(cohort.from, cohort.to)
        .into_iter()
        .map(|start| {
            let (completions, members) = by_bucket.get(&start).copied().unwrap_or((0, 0));
            CompletionBucket {
                start,
                completions,
                members,
            }
        })
        .collect();
    Ok(Completions {
        from: cohort.from,
        to: cohort.to,
        granularity,
        member_count: cohort.ids.len() as i64,
        completions: buckets.iter().map(|b| b.completions).sum(),
        members,
        buckets,
    })
}
