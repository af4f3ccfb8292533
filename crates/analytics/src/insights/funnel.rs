//! A module's funnel over the period, for the cohort: each step counts the members who reached
//! it or a later one in the period, so the steps never grow downwards.
//!
//! - **Completed**: completed the module (`module_completions`, archived ones included) in the
//!   period.
//! - **Started**: completed a section of it (`section_completions`) or started an attempt at one
//!   of its quizzes (`quiz_attempts`) in the period, or completed it.
//! - **Opened**: viewed it in the period (`user_module_access`, which keeps a member's latest
//!   view only: a member who opened it in the period and again after it counts through the later
//!   steps only), or started it.
//! - **Median time to complete**: over the completions in the period, the time from the
//!   member's first step on the module in that cycle (their earliest section completion or quiz
//!   attempt after their previous completion of it, if any) to the completion. Completions with
//!   no such step (an administrator's override) are left out; `None` without any.

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::TryFutureExt;
use futures_util::future::try_join;
use guild_kernel::{Actor, Permission};
use serde::Serialize;
use uuid::Uuid;

use super::{AnalyticsFilter, cohort, share};
use crate::AnalyticsError;

/// A module's funnel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Funnel {
    /// The module.
    pub module_id: Uuid,
    /// Its title.
    pub title: String,
    /// The period's start.
    pub from: DateTime<Utc>,
    /// The period's end.
    pub to: DateTime<Utc>,
    /// Members in the cohort.
    pub member_count: i64,
    /// Members who opened it (or went further).
    pub opened: i64,
    /// Members who started it (or completed it).
    pub started: i64,
    /// Members who completed it.
    pub completed: i64,
    /// `started / opened`.
    pub start_rate: Option<f64>,
    /// `completed / started`.
    pub completion_rate: Option<f64>,
    /// The median time from the first step to the completion, in whole seconds.
    pub median_seconds_to_complete: Option<i64>,
}

#[derive(QueryableByName)]
struct Steps {
    #[diesel(sql_type = BigInt)]
    opened: i64,
    #[diesel(sql_type = BigInt)]
    started: i64,
    #[diesel(sql_type = BigInt)]
    completed: i64,
    #[diesel(sql_type = Nullable<diesel::sql_types::Double>)]
    median: Option<f64>,
}

#[derive(QueryableByName)]
struct Title {
    #[diesel(sql_type = Text)]
    title: String,
}

/// The funnel's steps for module `$5`, the cohort `$2` and the period `$3`–`$4`.
const STEPS: &str = "WITH completions AS ( \
       SELECT mc.user_id, mc.completed_at FROM module_completions mc \
       WHERE mc.tenant_id = $1 AND mc.module_id = $5 AND mc.user_id = ANY($2) \
         AND mc.completed_at >= $3 AND mc.completed_at < $4), \
     completed AS (SELECT DISTINCT user_id FROM completions), \
     started AS ( \
       SELECT user_id FROM completed \
       UNION SELECT sc.user_id FROM section_completions sc \
        WHERE sc.tenant_id = $1 AND sc.module_id = $5 AND sc.user_id = ANY($2) \
          AND sc.completed_at >= $3 AND sc.completed_at < $4 \
       UNION SELECT qa.user_id FROM quiz_attempts qa \
         JOIN quizzes q ON q.tenant_id = qa.tenant_id AND q.id = qa.quiz_id \
        WHERE qa.tenant_id = $1 AND q.module_id = $5 AND qa.user_id = ANY($2) \
          AND qa.started_at >= $3 AND qa.started_at < $4), \
     opened AS ( \
       SELECT user_id FROM started \
       UNION SELECT a.user_id FROM user_module_access a \
        WHERE a.tenant_id = $1 AND a.module_id = $5 AND a.user_id = ANY($2) \
          AND a.last_accessed_at >= $3 AND a.last_accessed_at < $4), \
     durations AS ( \
       SELECT extract(epoch FROM c.completed_at - f.first_at)::float8 AS secs \
       FROM completions c \
       CROSS JOIN LATERAL (SELECT coalesce(max(p.completed_at), '-infinity'::timestamptz) AS after \
           FROM module_completions p WHERE p.tenant_id = $1 AND p.module_id = $5 \
             AND p.user_id = c.user_id AND p.completed_at < c.completed_at) prev \
       CROSS JOIN LATERAL (SELECT min(t) AS first_at FROM ( \
           SELECT sc.completed_at AS t FROM section_completions sc \
            WHERE sc.tenant_id = $1 AND sc.module_id = $5 AND sc.user_id = c.user_id \
              AND sc.completed_at > prev.after AND sc.completed_at <= c.completed_at \
           UNION ALL SELECT qa.started_at FROM quiz_attempts qa \
             JOIN quizzes q ON q.tenant_id = qa.tenant_id AND q.id = qa.quiz_id \
            WHERE qa.tenant_id = $1 AND q.module_id = $5 AND qa.user_id = c.user_id \
              AND qa.started_at > prev.after AND qa.started_at <= c.completed_at) x) f \
       WHERE f.first_at IS NOT NULL) \
     SELECT (SELECT count(*) FROM opened) AS opened, (SELECT count(*) FROM started) AS started, \
       (SELECT count(*) FROM completed) AS completed, \
       (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY secs) FROM durations) AS median";

/// The funnel of `module` (see the module's rules); 404 `module_not_found` for a module not in
/// the tenant.
pub async fn funnel(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: Uuid,
    filter: &AnalyticsFilter,
    now: DateTime<Utc>,
) -> Result<Funnel, AnalyticsError> {
    let conn: &AsyncPgConnection = conn;
    let cohort = cohort(conn, actor, Permission::ViewAnalytics, filter, now).await?;
    let tenant = actor.tenant_id.into_uuid();
    let mut c = conn;
    let title = guild_db::sql("SELECT title FROM modules WHERE tenant_id = $1 AND id = $2")
        .bind::<SqlUuid, _>(tenant)
        .bind::<SqlUuid, _>(module)
        .load::<Title>(&mut c);
    let steps = guild_db::sql(STEPS)
        .bind::<SqlUuid, _>(tenant)
        .bind::<Array<SqlUuid>, _>(cohort.ids.clone())
        .bind::<Timestamptz, _>(cohort.from)
        .bind::<Timestamptz, _>(cohort.to)
        .bind::<SqlUuid, _>(module)
        .get_result::<Steps>(&mut c);
    let (title, steps) = try_join(
        title.err_into::<AnalyticsError>(),
        steps.err_into::<AnalyticsError>(),
    )
    .await?;
    let title = title
        .into_iter()
        .next()
        .ok_or(AnalyticsError::NotFound("module_not_found"))?
        .title;
    Ok(Funnel {
        module_id: module,
        title,
        from: cohort.from,
        to: cohort.to,
        member_count: cohort.ids.len() as i64,
        opened: steps.opened,
        started: steps.started,
        completed: steps.completed,
        start_rate: share(steps.started, steps.opened),
        completion_rate: share(steps.completed, steps.started),
        median_seconds_to_complete: steps.median.map(|s| s.round() as i64),
    })
}
