//! The member's dashboard: their assigned, published modules (overdue first), their learning
//! paths with progress and due dates, what they opened recently, where to continue (the last
//! section opened in each module in progress, with the video's resume position) and how much
//! they completed.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{
    BigInt, Bool, Double, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::AsyncPgConnection;
use diesel_async::RunQueryDsl;
use futures_util::TryFutureExt;
use futures_util::future::try_join5;
use guild_db::schema::module_completions;
use guild_kernel::{Actor, TenantId, UserId};
use guild_learning::LearningError;
use guild_learning::access::locked_predicate;
use serde::Serialize;
use uuid::Uuid;

use crate::completion::percent;

#[derive(QueryableByName)]
struct Pinned {
    #[diesel(sql_type = SqlUuid)]
    module_id: Uuid,
}

/// One assigned module on a member's dashboard.
#[derive(Debug, Clone, Serialize)]
pub struct DashboardModule {
    /// The module.
    pub module_id: Uuid,
    /// Its title.
    pub title: String,
    /// Assigned as mandatory to one of the member's groups.
    pub mandatory: bool,
    /// The earliest due date of the assignments.
    pub due_at: Option<DateTime<Utc>>,
    /// Due and not completed.
    pub overdue: bool,
    /// Sections done.
    pub sections_done: i64,
    /// Sections in the module.
    pub sections_total: i64,
    /// 0–100 (sections only; 100 once completed).
    pub percent: i32,
    /// When completed (this cycle).
    pub completed_at: Option<DateTime<Utc>>,
    /// Pinned by the member or for the company.
    pub pinned: bool,
    /// Prerequisites not completed yet.
    pub locked: bool,
}

/// A recently opened module.
#[derive(Debug, Clone, Serialize)]
pub struct RecentModule {
    /// The module.
    pub module_id: Uuid,
    /// Its title.
    pub title: String,
    /// When the member last opened it.
    pub last_accessed_at: DateTime<Utc>,
}

/// A module in progress with the last section the member opened in it ("continue where you
/// left off").
#[derive(Debug, Clone, Serialize, QueryableByName)]
pub struct ContinueModule {
    /// The module.
    #[diesel(sql_type = SqlUuid)]
    pub module_id: Uuid,
    /// Its title.
    #[diesel(sql_type = Text)]
    pub module_title: String,
    /// The section opened last.
    #[diesel(sql_type = SqlUuid)]
    pub section_id: Uuid,
    /// Its title.
    #[diesel(sql_type = Text)]
    pub section_title: String,
    /// Its kind (TEXT, VIDEO…).
    #[diesel(sql_type = Text)]
    pub section_kind: String,
    /// When the member opened it.
    #[diesel(sql_type = Timestamptz)]
    pub opened_at: DateTime<Utc>,
    /// On a video the member played (this cycle): where to resume, in seconds.
    #[diesel(sql_type = Nullable<Double>)]
    pub video_position_seconds: Option<f64>,
    /// On a video the member played (this cycle): the share watched, 0 to 100.
    #[diesel(sql_type = Nullable<Integer>)]
    pub video_watched_percent: Option<i32>,
}

/// A member's dashboard.
#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    /// Published modules assigned to the member's groups: overdue first, then by due date.
    pub assigned: Vec<DashboardModule>,
    /// The ten modules opened most recently.
    pub recent: Vec<RecentModule>,
    /// Modules completed (this cycle).
    pub completed_count: i64,
    /// Assigned modules overdue.
    pub overdue_count: i64,
    /// Published learning paths assigned to the member or that they enrolled in, with their
    /// progress: overdue first, then by due date.
    pub paths: Vec<crate::paths::PathSummary>,
    /// The ten published modules the member opened a section of most recently and has not
    /// completed (this cycle), each with that section.
    pub continue_learning: Vec<ContinueModule>,
}

#[derive(QueryableByName)]
struct AssignedRow {
    #[diesel(sql_type = SqlUuid)]
    module_id: Uuid,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Bool)]
    mandatory: bool,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    due_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = BigInt)]
    sections_total: i64,
    #[diesel(sql_type = Bool)]
    locked: bool,
}

/// The member's assigned, published modules with their section counts and whether a
/// prerequisite still locks them (`$1` tenant, `$2` member). Built once: the text is fixed.
static DASHBOARD_ASSIGNED: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH assigned AS ({}) \
         SELECT m.id AS module_id, m.title, a.mandatory, a.due_at, \
                (SELECT count(*) FROM sections s WHERE s.tenant_id = m.tenant_id AND s.module_id = m.id) AS sections_total, \
                {locked} AS locked \
         FROM assigned a JOIN modules m ON m.tenant_id = $1 AND m.id = a.module_id \
         WHERE a.user_id = $2 AND m.status = 'PUBLISHED'",
        guild_learning::assignments_sql!(),
        locked = locked_predicate("m.id")
    )
});

#[derive(QueryableByName)]
struct ModuleCount {
    #[diesel(sql_type = SqlUuid)]
    module_id: Uuid,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct RecentRow {
    #[diesel(sql_type = SqlUuid)]
    module_id: Uuid,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Timestamptz)]
    last_accessed_at: DateTime<Utc>,
}

/// The actor's dashboard, in five short queries whatever the number of modules: each one simple
/// enough that PostgreSQL plans it in microseconds and its cached generic plan stays good (one
/// query joining everything cost milliseconds to plan, and its generic plan aggregated the
/// member's completions once per module). A sixth reads the member's learning paths
/// (`paths::summaries`), a seventh the modules to continue (`last_sections`). The seven are independent and sent together, so the dashboard is one
/// batch: it runs as a pipelined read (`guild_db::tenant_read`).
pub async fn dashboard(
    conn: &AsyncPgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Dashboard, LearningError> {
    dashboard_of(conn, actor.tenant_id, actor.user_id, now).await
}

/// The dashboard of `user`, whoever asks: the caller decides who may read it (the member
/// themselves through [`dashboard`]; a manager through `guild_analytics::members::progress`).
/// Issues its seven statements before its first await, so it joins a caller's pipelined read.
pub async fn dashboard_of(
    conn: &AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<Dashboard, LearningError> {
    // Seven independent reads, pipelined: sent together, answered in one round trip.
    let mut shared = conn;
    let assigned = guild_db::sql(DASHBOARD_ASSIGNED.as_str())
        .bind::<SqlUuid, _>(tenant.into_uuid())
        .bind::<SqlUuid, _>(user.into_uuid())
        .load::<AssignedRow>(&mut shared);
    let done = guild_db::sql(
        "SELECT module_id, count(*) AS n FROM section_completions \
         WHERE tenant_id = $1 AND user_id = $2 AND archived_at IS NULL GROUP BY module_id",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(user.into_uuid())
    .load::<ModuleCount>(&mut shared);
    let completed = module_completions::table
        .filter(module_completions::tenant_id.eq(tenant.into_uuid()))
        .filter(module_completions::user_id.eq(user.into_uuid()))
        .filter(module_completions::archived_at.is_null())
        .select((
            module_completions::module_id,
            module_completions::completed_at,
        ))
        .load::<(Uuid, DateTime<Utc>)>(&mut shared);
    let pinned = guild_db::sql(
        "SELECT module_id FROM user_pinned_modules WHERE tenant_id = $1 AND user_id = $2 \
         UNION SELECT module_id FROM company_pinned_modules WHERE tenant_id = $1",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(user.into_uuid())
    .load::<Pinned>(&mut shared);
    let recent = guild_db::sql(
        "SELECT a.module_id, m.title, a.last_accessed_at \
         FROM user_module_access a JOIN modules m ON m.tenant_id = a.tenant_id AND m.id = a.module_id \
         WHERE a.tenant_id = $1 AND a.user_id = $2 \
         ORDER BY a.last_accessed_at DESC LIMIT 10",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(user.into_uuid())
    .load::<RecentRow>(&mut shared);
    // The video's share is computed as `video::share` does: rounded down, within 0..=100.
    let resume = guild_db::sql(
        "SELECT ls.module_id, m.title AS module_title, ls.section_id, s.title AS section_title, \
                s.kind AS section_kind, ls.opened_at, \
                vp.position_seconds AS video_position_seconds, \
                CASE WHEN vp.duration_seconds > 0 THEN least(100, greatest(0, \
                     floor(vp.watched_seconds / vp.duration_seconds * 100)))::integer \
                END AS video_watched_percent \
         FROM last_sections ls \
         JOIN modules m ON m.tenant_id = ls.tenant_id AND m.id = ls.module_id \
         JOIN sections s ON s.tenant_id = ls.tenant_id AND s.id = ls.section_id \
         LEFT JOIN video_progress vp ON vp.tenant_id = ls.tenant_id AND vp.user_id = ls.user_id \
              AND vp.section_id = ls.section_id AND vp.archived_at IS NULL \
         WHERE ls.tenant_id = $1 AND ls.user_id = $2 AND m.status = 'PUBLISHED' \
           AND NOT EXISTS (SELECT 1 FROM module_completions c WHERE c.tenant_id = ls.tenant_id \
                 AND c.user_id = ls.user_id AND c.module_id = ls.module_id AND c.archived_at IS NULL) \
         ORDER BY ls.opened_at DESC LIMIT 10",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(user.into_uuid())
    .load::<ContinueModule>(&mut shared);
    let ((rows, done, completed, pinned, recent), (continue_learning, paths)) =
        futures_util::future::try_join(
            try_join5(assigned, done, completed, pinned, recent).err_into(),
            futures_util::future::try_join(
                resume.err_into(),
                crate::paths::summaries(conn, tenant, user, now),
            ),
        )
        .await?;
    let done: HashMap<Uuid, i64> = done.into_iter().map(|r| (r.module_id, r.n)).collect();
    let completed: HashMap<Uuid, DateTime<Utc>> = completed.into_iter().collect();
    let pinned: HashSet<Uuid> = pinned.into_iter().map(|r| r.module_id).collect();
    let completed_count = completed.len() as i64;
    let mut assigned: Vec<DashboardModule> = rows
        .into_iter()
        .map(|r| {
            let completed_at = completed.get(&r.module_id).copied();
            let sections_done = done.get(&r.module_id).copied().unwrap_or(0);
            let overdue = completed_at.is_none() && r.due_at.is_some_and(|due| due < now);
            DashboardModule {
                module_id: r.module_id,
                locked: r.locked,
                title: r.title,
                mandatory: r.mandatory,
                due_at: r.due_at,
                overdue,
                sections_done,
                sections_total: r.sections_total,
                percent: if completed_at.is_some() {
                    100
                } else {
                    percent(sections_done, r.sections_total)
                },
                completed_at,
                pinned: pinned.contains(&r.module_id),
            }
        })
        .collect();
    assigned.sort_by(|a, b| {
        b.overdue
            .cmp(&a.overdue)
            .then(a.completed_at.is_some().cmp(&b.completed_at.is_some()))
            .then(match (a.due_at, b.due_at) {
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => a.title.cmp(&b.title),
            })
    });
    let overdue_count = assigned.iter().filter(|m| m.overdue).count() as i64;
    Ok(Dashboard {
        assigned,
        recent: recent
            .into_iter()
            .map(|r| RecentModule {
                module_id: r.module_id,
                title: r.title,
                last_accessed_at: r.last_accessed_at,
            })
            .collect(),
        completed_count,
        overdue_count,
        paths,
        continue_learning,
    })
}
