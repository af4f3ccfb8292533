//! A coachee's overview: the chart-ready series a coach reads before a session.
//!
//! For those who see the member's coaching (404 `coachee_not_found` otherwise). Coaching's own
//! facts (scores per focus area across sessions, the action plan's counts) come from its tables;
//! the learning facts are read-only SQL over the tables of the crates below (`progress`:
//! `module_completions`, `section_completions`, `enrolments`, `certificates`; `learning`:
//! `modules`, `sections`, `module_groups`; `assessment`: `quiz_attempts`; `gamification`'s
//! append-only ledger `xp_transactions`), never written. Each series is bounded: the last
//! [`SESSIONS`] sessions, [`MODULES`] modules, 12 months of quiz averages, 12 weeks of XP.
//! Seven statements whatever the member's history.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Double, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_kernel::{Actor, TenantId};
use uuid::Uuid;

use crate::CoachingError;
use crate::relationships;

/// How many of the latest sessions the score series cover.
pub const SESSIONS: i64 = 50;
/// How many modules the progress lists.
pub const MODULES: i64 = 100;

/// One session's scores of a focus area.
#[derive(Debug, Clone, PartialEq)]
pub struct ScorePoint {
    /// The session.
    pub session_id: Uuid,
    /// When it was.
    pub scheduled_at: DateTime<Utc>,
    /// Before.
    pub before: Option<f64>,
    /// After.
    pub after: Option<f64>,
}

/// A focus area's scores across sessions, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreSeries {
    /// The focus area.
    pub focus_area: String,
    /// Its points.
    pub points: Vec<ScorePoint>,
}

/// A module the member has (assigned, enrolled or started) and how far they are.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct ModuleProgress {
    /// The module.
    #[diesel(sql_type = SqlUuid)]
    pub module_id: Uuid,
    /// Its title.
    #[diesel(sql_type = Text)]
    pub title: String,
    /// Its sections.
    #[diesel(sql_type = BigInt)]
    pub sections_total: i64,
    /// Those the member completed.
    #[diesel(sql_type = BigInt)]
    pub sections_done: i64,
    /// When they completed the module.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub completed_at: Option<DateTime<Utc>>,
}

/// A month's quiz results.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct QuizMonth {
    /// The month's first day.
    #[diesel(sql_type = Timestamptz)]
    pub month: DateTime<Utc>,
    /// The average score, in percent.
    #[diesel(sql_type = Double)]
    pub average_percent: f64,
    /// Attempts submitted.
    #[diesel(sql_type = BigInt)]
    pub attempts: i64,
}

/// A week's XP.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct XpWeek {
    /// The week's Monday.
    #[diesel(sql_type = Timestamptz)]
    pub week: DateTime<Utc>,
    /// XP earned that week.
    #[diesel(sql_type = BigInt)]
    pub earned: i64,
}

/// What a compliance item is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComplianceKind {
    /// A mandatory module.
    Module,
    /// A mandatory learning path.
    Path,
}

/// A mandatory module's or path's compliance state, as the compliance matrix computes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ComplianceItem {
    /// A module or a path.
    pub kind: ComplianceKind,
    /// The module (or the path).
    pub module_id: Uuid,
    /// Its title.
    pub title: String,
    /// COMPLIANT, EXPIRING, EXPIRED, OVERDUE, IN_PROGRESS or NOT_STARTED.
    pub status: guild_progress::compliance::ComplianceStatus,
    /// The due date, when the assignment has one.
    pub due_at: Option<DateTime<Utc>>,
    /// The certificate's expiry, when there is one.
    pub expires_at: Option<DateTime<Utc>>,
}

/// The action plan's items by status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanCounts {
    /// OPEN.
    pub open: i64,
    /// IN_PROGRESS.
    pub in_progress: i64,
    /// DONE.
    pub done: i64,
    /// CANCELLED.
    pub cancelled: i64,
    /// Open or in progress, past their due date.
    pub overdue: i64,
}

/// Everything the overview shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Overview {
    /// The member.
    pub coachee_id: Uuid,
    /// Scores per focus area.
    pub scores: Vec<ScoreSeries>,
    /// Module progress.
    pub modules: Vec<ModuleProgress>,
    /// Quiz averages per month.
    pub quiz_averages: Vec<QuizMonth>,
    /// XP per week.
    pub xp_weeks: Vec<XpWeek>,
    /// Mandatory modules.
    pub compliance: Vec<ComplianceItem>,
    /// The action plan.
    pub action_items: PlanCounts,
}

#[derive(QueryableByName)]
struct ScoreRow {
    #[diesel(sql_type = SqlUuid)]
    session_id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    scheduled_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    focus_area: String,
    #[diesel(sql_type = Nullable<Double>)]
    before: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    after: Option<f64>,
}

#[derive(QueryableByName)]
struct StatusCount {
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = BigInt)]
    overdue: i64,
}

/// The overview of `coachee` at `now`.
pub async fn of(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    coachee: Uuid,
    now: DateTime<Utc>,
) -> Result<Overview, CoachingError> {
    relationships::seen(conn, actor, coachee).await?;
    let tenant = actor.tenant_id.into_uuid();
    let rows: Vec<ScoreRow> = guild_db::sql(
        "SELECT s.id AS session_id, s.scheduled_at, c.focus_area, \
                c.score_before::float8 AS before, c.score_after::float8 AS after \
           FROM (SELECT id, scheduled_at FROM coaching_sessions \
                  WHERE tenant_id = $1 AND coachee_id = $2 AND status <> 'CANCELLED' \
                  ORDER BY scheduled_at DESC, id DESC LIMIT $3) s \
           JOIN coaching_session_scores c ON c.tenant_id = $1 AND c.session_id = s.id \
          ORDER BY s.scheduled_at, s.id, c.position",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<SqlUuid, _>(coachee)
    .bind::<BigInt, _>(SESSIONS)
    .load(conn)
    .await?;
    let mut order: Vec<String> = Vec::new();
    let mut by_area: BTreeMap<String, Vec<ScorePoint>> = BTreeMap::new();
    for r in rows {
        if !by_area.contains_key(&r.focus_area) {
            order.push(r.focus_area.clone());
        }
        by_area.entry(r.focus_area).or_default().push(ScorePoint {
            session_id: r.session_id,
            scheduled_at: r.scheduled_at,
            before: r.before,
            after: r.after,
        });
    }
    let scores = order
        .into_iter()
        .map(|area| ScoreSeries {
            points: by_area.remove(&area).unwrap_or_default(),
            focus_area: area,
        })
        .collect();
    let modules: Vec<ModuleProgress> = guild_db::sql(
        "WITH mine AS ( \
             SELECT mg.module_id FROM module_groups mg JOIN user_groups ug \
                 ON ug.tenant_id = mg.tenant_id AND ug.group_id = mg.group_id \
              WHERE mg.tenant_id = $1 AND ug.user_id = $2 \
             UNION SELECT module_id FROM enrolments \
              WHERE tenant_id = $1 AND user_id = $2 AND module_id IS NOT NULL \
             UNION SELECT module_id FROM section_completions \
              WHERE tenant_id = $1 AND user_id = $2 AND archived_at IS NULL) \
         SELECT m.id AS module_id, m.title, \
                (SELECT count(*) FROM sections s WHERE s.tenant_id = $1 AND s.module_id = m.id) \
                    AS sections_total, \
                (SELECT count(DISTINCT sc.section_id) FROM section_completions sc \
                  WHERE sc.tenant_id = $1 AND sc.user_id = $2 AND sc.module_id = m.id \
                    AND sc.archived_at IS NULL) AS sections_done, \
                (SELECT max(mc.completed_at) FROM module_completions mc \
                  WHERE mc.tenant_id = $1 AND mc.user_id = $2 AND mc.module_id = m.id \
                    AND mc.archived_at IS NULL) AS completed_at \
           FROM modules m JOIN mine ON mine.module_id = m.id \
          WHERE m.tenant_id = $1 ORDER BY m.title, m.id LIMIT $3",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<SqlUuid, _>(coachee)
    .bind::<BigInt, _>(MODULES)
    .load(conn)
    .await?;
    let quiz_averages: Vec<QuizMonth> = guild_db::sql(
        "SELECT date_trunc('month', submitted_at, 'UTC') AS month, \
                avg(score_percent)::float8 AS average_percent, count(*) AS attempts \
           FROM quiz_attempts \
          WHERE tenant_id = $1 AND user_id = $2 AND submitted_at IS NOT NULL \
            AND score_percent IS NOT NULL AND submitted_at >= $3 \
          GROUP BY 1 ORDER BY 1",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<SqlUuid, _>(coachee)
    .bind::<Timestamptz, _>(now - Duration::days(366))
    .load(conn)
    .await?;
    let xp_weeks: Vec<XpWeek> = guild_db::sql(
        "SELECT date_trunc('week', created_at, 'UTC') AS week, \
                coalesce(sum(amount) FILTER (WHERE kind IN ('AWARD', 'MANUAL') AND amount > 0), 0)::int8 \
                    AS earned \
           FROM xp_transactions \
          WHERE tenant_id = $1 AND user_id = $2 AND created_at >= $3 \
          GROUP BY 1 ORDER BY 1",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<SqlUuid, _>(coachee)
    .bind::<Timestamptz, _>(now - Duration::weeks(12))
    .load(conn)
    .await?;
    // The compliance matrix's own rule, for this one member.
    let (module_cells, path_cells) =
        guild_progress::compliance::cells_of(conn, TenantId(tenant), &[coachee], None, now)
            .await
            .map_err(|e| CoachingError::Learning(Box::new(e.into())))?;
    let compliance: Vec<ComplianceItem> = module_cells
        .into_iter()
        .map(|c| (c, ComplianceKind::Module))
        .chain(path_cells.into_iter().map(|c| (c, ComplianceKind::Path)))
        .take(MODULES as usize)
        .map(|(c, kind)| ComplianceItem {
            kind,
            module_id: c.cell.module_id,
            title: c.title,
            status: c.cell.status,
            due_at: c.cell.due_at,
            expires_at: c.cell.expires_at,
        })
        .collect();
    let counts: Vec<StatusCount> = guild_db::sql(
        "SELECT status, count(*) AS n, \
                count(*) FILTER (WHERE status IN ('OPEN', 'IN_PROGRESS') AND due_date < $3) \
                    AS overdue \
           FROM coaching_action_items WHERE tenant_id = $1 AND coachee_id = $2 GROUP BY status",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<SqlUuid, _>(coachee)
    .bind::<diesel::sql_types::Date, _>(today(now))
    .load(conn)
    .await?;
    let mut action_items = PlanCounts::default();
    for c in counts {
        action_items.overdue += c.overdue;
        match c.status.as_str() {
            "OPEN" => action_items.open = c.n,
            "IN_PROGRESS" => action_items.in_progress = c.n,
            "DONE" => action_items.done = c.n,
            _ => action_items.cancelled = c.n,
        }
    }
    Ok(Overview {
        coachee_id: coachee,
        scores,
        modules,
        quiz_averages,
        xp_weeks,
        compliance,
        action_items,
    })
}

fn today(now: DateTime<Utc>) -> NaiveDate {
    now.date_naive()
}
