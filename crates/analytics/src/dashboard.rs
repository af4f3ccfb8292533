//! The manager dashboard (`GET /v1/manager-dashboard`): the members a VIEW_MANAGER_DASHBOARD
//! holder reaches (tenant-wide, the granted groups' members, or the manager subtree, through
//! [`guild_kernel::member_scope`] and [`guild_db::scope`]), optionally one group of them, over a
//! period (the last 30 days by default, at most 366):
//!
//! - **At-risk members**, each with every reason that applies now: a mandatory module overdue
//!   (assigned, published, past its due date, not completed this cycle); the latest certificate
//!   of a module still assigned to them expiring within 30 days, or expired; at least
//!   `failed_attempts` failed attempts at a quiz they have not passed (this cycle); no activity
//!   for `inactive_days` (since joining, for a member never active). The thresholds are the
//!   tenant's settings ([`crate::settings`], 3 and 14 by default).
//! - **Engagement** per member, in the period: `score = ⌊xp / 10⌋ + 5 × active_days + 10 ×
//!   completions`, where `xp` is what they earned (awards and positive manual grants; spending
//!   and holds do not count), `completions` the modules they completed (later archived ones
//!   included: the completion happened), and `active_days` the UTC days on which they used Guild
//!   (a usage session — heartbeats and open streams, `usage_sessions` — spanning that day),
//!   completed a section or started a quiz attempt. The least engaged come first.
//! - **Activity**: a member's last activity is the latest of their last usage ping, module view
//!   (`user_module_access`), section completion and quiz attempt.
//! - **The completion heatmap**, groups × modules: for each module assigned to a group, the
//!   members of the group in scope (`assigned`), those who completed it this cycle (`completed`)
//!   and those past this group's deadline without completing it (`overdue`).
//! - **Top performers**: the ten who earned the most XP in the period.
//! - **Completions per week** (ISO weeks from Monday 00:00 UTC) in the period, empty weeks
//!   included.
//!
//! Two round trips after the transaction begins: the members in scope with the settings (and
//! the group asked for), then every figure for those members in one pipeline of twelve short
//! statements, each filtering on `user_id = ANY($2)` so PostgreSQL reads only their index ranges.
//! The overdue modules and the heatmap are computed in this process from the rows they are
//! made of ([`crate::assigned`]), not joined in SQL.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::TryFutureExt;
use futures_util::future::{try_join, try_join3, try_join4};
use guild_kernel::{Actor, MemberScope, Permission, member_scope};
use serde::Serialize;
use uuid::Uuid;

use crate::AnalyticsError;
use crate::assigned;
use crate::members::EXPIRING_DAYS;
use crate::settings::{self, Settings};

/// The period when none is asked for: the 30 days before now.
pub const DEFAULT_PERIOD_DAYS: i64 = 30;
/// The longest period.
pub const MAX_PERIOD_DAYS: i64 = 366;
/// How many top performers are listed.
pub const TOP_PERFORMERS: usize = 10;
/// At most this many at-risk members are listed (`at_risk_count` counts them all).
pub const MAX_AT_RISK: usize = 200;

/// What the dashboard is about.
#[derive(Debug, Clone, Default)]
pub struct DashboardFilter {
    /// Only members of this group.
    pub group_id: Option<Uuid>,
    /// The period's start (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// The period's end (exclusive); now by default.
    pub to: Option<DateTime<Utc>>,
    /// How many members' engagement to list (1–1000, 200 by default).
    pub limit: Option<u32>,
}

guild_kernel::string_enum!(
    /// Why a member is at risk.
    RiskKind {
        /// A mandatory module is past its due date and not completed.
        OverdueMandatory => "OVERDUE_MANDATORY",
        /// A certificate of an assigned module expires within 30 days.
        CertificateExpiring => "CERTIFICATE_EXPIRING",
        /// A certificate of an assigned module expired.
        CertificateExpired => "CERTIFICATE_EXPIRED",
        /// Failed a quiz at least the tenant's threshold of times without passing it.
        RepeatedFailedAttempts => "REPEATED_FAILED_ATTEMPTS",
        /// No activity for at least the tenant's threshold of days.
        Inactive => "INACTIVE",
    }
);

/// One reason a member is at risk.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskReason {
    /// What kind.
    pub kind: RiskKind,
    /// The module (overdue, certificates) or the quiz's module.
    pub module_id: Option<Uuid>,
    /// The quiz (failed attempts).
    pub quiz_id: Option<Uuid>,
    /// The module's or quiz's title.
    pub title: Option<String>,
    /// The due date (overdue), the expiry (certificates), the last activity (inactive).
    pub at: Option<DateTime<Utc>>,
    /// Failed attempts (failed attempts), whole days without activity (inactive).
    pub count: Option<i64>,
}

/// A member at risk.
#[derive(Debug, Clone, Serialize)]
pub struct AtRiskMember {
    /// The member.
    pub user_id: Uuid,
    /// Their name.
    pub name: String,
    /// Every reason, by kind.
    pub reasons: Vec<RiskReason>,
}

/// A member's engagement in the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Engagement {
    /// The member.
    pub user_id: Uuid,
    /// Their name.
    pub name: String,
    /// XP earned in the period.
    pub xp: i64,
    /// Days active in the period.
    pub active_days: i64,
    /// Modules completed in the period.
    pub completions: i64,
    /// `⌊xp / 10⌋ + 5 × active_days + 10 × completions`.
    pub score: i64,
    /// Their latest activity, ever.
    pub last_active_at: Option<DateTime<Utc>>,
}

/// The engagement score (see the module's documentation).
pub fn engagement_score(xp: i64, active_days: i64, completions: i64) -> i64 {
    xp.max(0) / 10 + 5 * active_days + 10 * completions
}

/// A top performer.
#[derive(Debug, Clone, Serialize)]
pub struct Performer {
    /// The member.
    pub user_id: Uuid,
    /// Their name.
    pub name: String,
    /// XP earned in the period.
    pub xp: i64,
}

/// A group of the heatmap.
#[derive(Debug, Clone, Serialize)]
pub struct HeatmapGroup {
    /// The group.
    pub group_id: Uuid,
    /// Its name.
    pub name: String,
}

/// A module of the heatmap.
#[derive(Debug, Clone, Serialize)]
pub struct HeatmapModule {
    /// The module.
    pub module_id: Uuid,
    /// Its title.
    pub title: String,
}

/// One cell: a module assigned to a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeatmapCell {
    /// The group.
    pub group_id: Uuid,
    /// The module.
    pub module_id: Uuid,
    /// Members of the group in scope.
    pub assigned: i64,
    /// Of them, completed this cycle.
    pub completed: i64,
    /// Of them, past the group's deadline without completing.
    pub overdue: i64,
}

/// The completion heatmap.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Heatmap {
    /// Groups with a cell, by name.
    pub groups: Vec<HeatmapGroup>,
    /// Modules with a cell, by title.
    pub modules: Vec<HeatmapModule>,
    /// The cells, by group then module.
    pub cells: Vec<HeatmapCell>,
}

/// Completions in one week.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WeekCompletions {
    /// Monday 00:00 UTC.
    pub week_start: DateTime<Utc>,
    /// Modules completed that week (within the period).
    pub completions: i64,
}

/// The dashboard.
#[derive(Debug, Clone, Serialize)]
pub struct ManagerDashboard {
    /// When it was computed.
    pub generated_at: DateTime<Utc>,
    /// The period's start.
    pub from: DateTime<Utc>,
    /// The period's end.
    pub to: DateTime<Utc>,
    /// The thresholds applied.
    pub settings: Settings,
    /// Members in scope (active ones, of the group when asked for).
    pub member_count: i64,
    /// Members at risk, most reasons first (at most 200).
    pub at_risk: Vec<AtRiskMember>,
    /// How many members are at risk.
    pub at_risk_count: i64,
    /// Engagement, least engaged first (at most `limit`).
    pub engagement: Vec<Engagement>,
    /// The heatmap.
    pub heatmap: Heatmap,
    /// The ten who earned the most XP in the period (ties by name).
    pub top_performers: Vec<Performer>,
    /// Completions per week in the period.
    pub completions_per_week: Vec<WeekCompletions>,
}

#[derive(QueryableByName)]
pub(crate) struct ScopedMember {
    #[diesel(sql_type = SqlUuid)]
    pub(crate) user_id: Uuid,
    #[diesel(sql_type = Text)]
    pub(crate) name: String,
    #[diesel(sql_type = Timestamptz)]
    pub(crate) joined_at: DateTime<Utc>,
}

#[derive(QueryableByName)]
pub(crate) struct Count {
    #[diesel(sql_type = BigInt)]
    pub(crate) n: i64,
}

#[derive(QueryableByName)]
struct UserCount {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct WeekRow {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    week: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct LastActive {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    last_active_at: Option<DateTime<Utc>>,
}

#[derive(QueryableByName)]
struct DueRow {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    module_id: Uuid,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    at: Option<DateTime<Utc>>,
}

#[derive(QueryableByName)]
struct FailedRow {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    quiz_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    module_id: Uuid,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = BigInt)]
    failed: i64,
}

/// The active members in scope (`$1` tenant, `$2`–`$4` the scope, `$5` a group or null).
static SCOPED_MEMBERS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT ms.user_id, u.name, ms.created_at AS joined_at \
         FROM memberships ms JOIN users u ON u.id = ms.user_id \
         WHERE ms.tenant_id = $1 AND ms.status = 'ACTIVE' AND {in_scope} \
           AND ($5::uuid IS NULL OR EXISTS (SELECT 1 FROM user_groups g \
                WHERE g.tenant_id = ms.tenant_id AND g.user_id = ms.user_id AND g.group_id = $5)) \
         ORDER BY ms.user_id",
        in_scope = guild_db::scope::predicate("ms.user_id", "ms.tenant_id", 2)
    )
});

/// XP earned in the period (`$3`–`$4`) by the members `$2`.
const XP_EARNED: &str = "SELECT user_id, sum(amount)::bigint AS n FROM xp_transactions \
     WHERE tenant_id = $1 AND user_id = ANY($2) AND created_at >= $3 AND created_at < $4 \
       AND (kind = 'AWARD' OR (kind = 'MANUAL' AND amount > 0)) \
     GROUP BY user_id";

/// Distinct UTC days with activity in the period (`$3`–`$4`) per member of `$2`.
const ACTIVE_DAYS: &str = "SELECT user_id, count(DISTINCT day) AS n FROM ( \
       SELECT us.user_id, d.day FROM usage_sessions us \
         CROSS JOIN LATERAL generate_series( \
           date_trunc('day', greatest(us.started_at, $3::timestamptz) AT TIME ZONE 'UTC'), \
           date_trunc('day', least(us.last_ping_at, $4::timestamptz - interval '1 microsecond') AT TIME ZONE 'UTC'), \
           interval '1 day') AS d(day) \
        WHERE us.tenant_id = $1 AND us.user_id = ANY($2) AND us.last_ping_at >= $3 AND us.started_at < $4 \
       UNION ALL \
       SELECT sc.user_id, date_trunc('day', sc.completed_at AT TIME ZONE 'UTC') FROM section_completions sc \
        WHERE sc.tenant_id = $1 AND sc.user_id = ANY($2) AND sc.completed_at >= $3 AND sc.completed_at < $4 \
       UNION ALL \
       SELECT qa.user_id, date_trunc('day', qa.started_at AT TIME ZONE 'UTC') FROM quiz_attempts qa \
        WHERE qa.tenant_id = $1 AND qa.user_id = ANY($2) AND qa.started_at >= $3 AND qa.started_at < $4 \
     ) a GROUP BY user_id";

/// Module completions in the period per member and ISO week.
const COMPLETIONS_BY_WEEK: &str = "SELECT user_id, \
       (date_trunc('week', completed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS week, count(*) AS n \
     FROM module_completions \
     WHERE tenant_id = $1 AND user_id = ANY($2) AND completed_at >= $3 AND completed_at < $4 \
     GROUP BY 1, 2";

/// Each member's latest activity, ever.
const LAST_ACTIVE: &str = "SELECT u.id AS user_id, greatest( \
       (SELECT max(us.last_ping_at) FROM usage_sessions us \
         WHERE us.tenant_id = $1 AND us.user_id = u.id AND us.latest), \
       (SELECT max(a.last_accessed_at) FROM user_module_access a \
         WHERE a.tenant_id = $1 AND a.user_id = u.id), \
       (SELECT max(sc.completed_at) FROM section_completions sc \
         WHERE sc.tenant_id = $1 AND sc.user_id = u.id), \
       (SELECT max(qa.started_at) FROM quiz_attempts qa \
         WHERE qa.tenant_id = $1 AND qa.user_id = u.id)) AS last_active_at \
     FROM unnest($2::uuid[]) AS u(id)";

/// The groups of the members `$2`, with when each joined them (their due dates count from it).
const MEMBER_GROUPS: &str = "SELECT ug.user_id, ug.group_id, ug.created_at AS joined_at \
     FROM user_groups ug WHERE ug.tenant_id = $1 AND ug.user_id = ANY($2)";

/// The groups of the members `$2`, by id, with their names.
const GROUPS_OF_MEMBERS: &str = "SELECT g.id, g.name AS label FROM groups g \
     WHERE g.tenant_id = $1 AND g.id IN (SELECT ug.group_id FROM user_groups ug \
           WHERE ug.tenant_id = $1 AND ug.user_id = ANY($2))";

/// The modules assigned to a group of the members `$2`: one row per assignment (those of
/// modules not published are left out by [`MODULES_OF_GROUPS`], which lists the published ones).
const GROUP_MODULES: &str = "SELECT mg.group_id, mg.module_id, mg.is_mandatory, mg.assigned_at, \
       mg.deadline_days \
     FROM module_groups mg \
     WHERE mg.tenant_id = $1 AND mg.group_id IN (SELECT ug.group_id FROM user_groups ug \
           WHERE ug.tenant_id = $1 AND ug.user_id = ANY($2))";

/// The titles of the published modules assigned to a group of the members `$2`.
const MODULES_OF_GROUPS: &str = "SELECT m.id, m.title AS label FROM modules m \
     WHERE m.tenant_id = $1 AND m.status = 'PUBLISHED' AND m.id IN (SELECT mg.module_id \
           FROM module_groups mg WHERE mg.tenant_id = $1 AND mg.group_id IN ( \
             SELECT ug.group_id FROM user_groups ug WHERE ug.tenant_id = $1 AND ug.user_id = ANY($2)))";

/// The modules the members `$2` completed in their current cycle.
const COMPLETED: &str = "SELECT user_id, module_id FROM module_completions \
     WHERE tenant_id = $1 AND user_id = ANY($2) AND archived_at IS NULL";

/// When the members `$2` started a new cycle of a module (a renewal): their due date counts from it.
const CYCLES: &str = "SELECT user_id, module_id, started_at FROM assignment_cycles \
     WHERE tenant_id = $1 AND user_id = ANY($2)";

/// The latest certificate of each module still assigned to the member, when it expires by `$3`.
const CERTIFICATES_DUE: &str = "SELECT c.user_id, c.module_id, c.module_title AS title, c.expires_at AS at FROM ( \
       SELECT DISTINCT ON (user_id, module_id) user_id, module_id, module_title, expires_at \
       FROM certificates \
       WHERE tenant_id = $1 AND user_id = ANY($2) AND revoked_at IS NULL AND module_id IS NOT NULL \
       ORDER BY user_id, module_id, issued_at DESC) c \
     WHERE c.expires_at <= $3 \
       AND EXISTS (SELECT 1 FROM module_groups mg JOIN user_groups ug \
             ON ug.tenant_id = mg.tenant_id AND ug.group_id = mg.group_id \
           WHERE mg.tenant_id = $1 AND mg.module_id = c.module_id AND ug.user_id = c.user_id) \
     ORDER BY c.user_id, c.expires_at";

/// Quizzes not passed this cycle with at least `$3` failed attempts.
const FAILED_ATTEMPTS: &str = "SELECT a.user_id, a.quiz_id, q.module_id, q.title, \
       count(*) FILTER (WHERE a.passed = false) AS failed \
     FROM quiz_attempts a JOIN quizzes q ON q.tenant_id = a.tenant_id AND q.id = a.quiz_id \
     WHERE a.tenant_id = $1 AND a.user_id = ANY($2) AND a.archived_at IS NULL \
     GROUP BY a.user_id, a.quiz_id, q.module_id, q.title \
     HAVING NOT coalesce(bool_or(a.passed), false) \
        AND count(*) FILTER (WHERE a.passed = false) >= $3 \
     ORDER BY a.user_id, q.title";

/// The period asked for: `to` (now by default) and `from` (30 days before `to` by default),
/// `from` before `to` and at most 366 days apart.
pub fn period(
    filter: &DashboardFilter,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), AnalyticsError> {
    period_between(filter.from, filter.to, now)
}

/// [`period`] for any view: `to` (now by default) and `from` (30 days before `to` by default),
/// `from` before `to` and at most 366 days apart.
pub fn period_between(
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), AnalyticsError> {
    let to = to.unwrap_or(now);
    let from = from.unwrap_or(to - Duration::days(DEFAULT_PERIOD_DAYS));
    if from >= to {
        return Err(AnalyticsError::invalid(
            "from",
            "range",
            "the period must start before it ends",
        ));
    }
    if to - from > Duration::days(MAX_PERIOD_DAYS) {
        return Err(AnalyticsError::invalid(
            "from",
            "range",
            "the period is at most 366 days",
        ));
    }
    Ok((from, to))
}

/// The active members in `scope` (of `group`, when given; 404 `group_not_found` for a group not
/// in the tenant), by id: statements sent together, for the caller's first round trip, which
/// also has the rest of the transaction plan each statement for its own binds.
pub(crate) async fn scoped_members(
    conn: &AsyncPgConnection,
    actor: &Actor,
    scope: &MemberScope,
    group: Option<Uuid>,
) -> Result<Vec<ScopedMember>, AnalyticsError> {
    let tenant = actor.tenant_id.into_uuid();
    let (limited, groups, users) = scope.binds();
    let mut c = conn;
    let members = guild_db::sql(SCOPED_MEMBERS.as_str())
        .bind::<SqlUuid, _>(tenant)
        .bind::<Bool, _>(limited)
        .bind::<Array<SqlUuid>, _>(groups)
        .bind::<Array<SqlUuid>, _>(users)
        .bind::<Nullable<SqlUuid>, _>(group)
        .load::<ScopedMember>(&mut c);
    let found = guild_db::sql("SELECT count(*) AS n FROM groups WHERE tenant_id = $1 AND id = $2")
        .bind::<SqlUuid, _>(tenant)
        .bind::<SqlUuid, _>(group.unwrap_or_else(Uuid::nil))
        .get_result::<Count>(&mut c);
    // The statements that follow bind the members as one array of up to thousands of ids.
    // PostgreSQL's generic plan for `user_id = ANY($2)`, which it switches a prepared statement
    // to after its fifth run on a connection, assumes a short array: on the benchmark's 999
    // members it made the dashboard five times slower (100 ms to 500 ms; the current cycle's
    // completions alone from 27 ms to 150 ms). Planning each statement for its array costs a
    // millisecond or two.
    let custom = guild_db::sql("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)")
        .execute(&mut c);
    let (members, found, _) = try_join3(
        members.err_into::<AnalyticsError>(),
        found.err_into::<AnalyticsError>(),
        custom.err_into::<AnalyticsError>(),
    )
    .await?;
    if group.is_some() && found.n == 0 {
        return Err(AnalyticsError::NotFound("group_not_found"));
    }
    Ok(members)
}

/// Monday 00:00 UTC of the week holding `at`.
fn week_start(at: DateTime<Utc>) -> DateTime<Utc> {
    let day = at.date_naive() - Duration::days(i64::from(at.weekday().num_days_from_monday()));
    Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default())
}

/// The dashboard for `actor` (see the module's rules).
pub async fn manager_dashboard(
    conn: &AsyncPgConnection,
    actor: &Actor,
    filter: &DashboardFilter,
    now: DateTime<Utc>,
) -> Result<ManagerDashboard, AnalyticsError> {
    let scope: MemberScope = member_scope(actor, &[Permission::ViewManagerDashboard])?;
    let (from, to) = period(filter, now)?;
    let limit = match filter.limit {
        None => 200,
        Some(n @ 1..=1000) => n as usize,
        Some(_) => {
            return Err(AnalyticsError::invalid(
                "limit",
                "range",
                "must be 1 to 1000",
            ));
        }
    };
    let tenant = actor.tenant_id.into_uuid();
    let shared: &AsyncPgConnection = conn;

    // First round trip: who is in scope, the thresholds, and whether the group exists.
    let (members, settings) = try_join(
        scoped_members(shared, actor, &scope, filter.group_id),
        settings::of_tenant(shared, actor.tenant_id),
    )
    .await?;
    let ids: Vec<Uuid> = members.iter().map(|m| m.user_id).collect();

    // Second round trip: every figure for those members, pipelined.
    let mut c = shared;
    let in_period = |sql: &'static str| {
        guild_db::sql(sql)
            .bind::<SqlUuid, _>(tenant)
            .bind::<Array<SqlUuid>, _>(ids.clone())
            .bind::<Timestamptz, _>(from)
            .bind::<Timestamptz, _>(to)
    };
    let xp = in_period(XP_EARNED).load::<UserCount>(&mut c);
    let active = in_period(ACTIVE_DAYS).load::<UserCount>(&mut c);
    let weeks = in_period(COMPLETIONS_BY_WEEK).load::<WeekRow>(&mut c);
    let last = guild_db::sql(LAST_ACTIVE)
        .bind::<SqlUuid, _>(tenant)
        .bind::<Array<SqlUuid>, _>(ids.clone())
        .load::<LastActive>(&mut c);
    let certificates = guild_db::sql(CERTIFICATES_DUE)
        .bind::<SqlUuid, _>(tenant)
        .bind::<Array<SqlUuid>, _>(ids.clone())
        .bind::<Timestamptz, _>(now + Duration::days(EXPIRING_DAYS))
        .load::<DueRow>(&mut c);
    let failed = guild_db::sql(FAILED_ATTEMPTS)
        .bind::<SqlUuid, _>(tenant)
        .bind::<Array<SqlUuid>, _>(ids.clone())
        .bind::<BigInt, _>(i64::from(settings.failed_attempts))
        .load::<FailedRow>(&mut c);
    let of_members = |sql: &'static str| {
        guild_db::sql(sql)
            .bind::<SqlUuid, _>(tenant)
            .bind::<Array<SqlUuid>, _>(ids.clone())
    };
    let member_groups = of_members(MEMBER_GROUPS).load::<assigned::MemberGroup>(&mut c);
    let groups = of_members(GROUPS_OF_MEMBERS).load::<assigned::Labeled>(&mut c);
    let group_modules = of_members(GROUP_MODULES).load::<assigned::GroupModule>(&mut c);
    let modules = of_members(MODULES_OF_GROUPS).load::<assigned::Labeled>(&mut c);
    let completed = of_members(COMPLETED).load::<assigned::Completed>(&mut c);
    let cycles = of_members(CYCLES).load::<assigned::Cycle>(&mut c);
    let ((xp, active, weeks, last), (certificates, failed, member_groups, groups), rest) =
        try_join3(
            try_join4(xp, active, weeks, last),
            try_join4(certificates, failed, member_groups, groups),
            try_join4(group_modules, modules, completed, cycles),
        )
        .await?;
    let (group_modules, modules, completed, cycles) = rest;
    let assignments = assigned::compute(
        &ids,
        assigned::Rows {
            member_groups,
            groups,
            group_modules,
            modules,
            completed,
            cycles,
        },
        filter.group_id,
        now,
    );

    let xp: HashMap<Uuid, i64> = xp.into_iter().map(|r| (r.user_id, r.n)).collect();
    let active: HashMap<Uuid, i64> = active.into_iter().map(|r| (r.user_id, r.n)).collect();
    let last: HashMap<Uuid, Option<DateTime<Utc>>> = last
        .into_iter()
        .map(|r| (r.user_id, r.last_active_at))
        .collect();
    let mut completions: HashMap<Uuid, i64> = HashMap::new();
    let mut per_week: HashMap<DateTime<Utc>, i64> = HashMap::new();
    for row in weeks {
        *completions.entry(row.user_id).or_default() += row.n;
        *per_week.entry(row.week).or_default() += row.n;
    }

    // Reasons, by member, in the order of the kinds.
    let mut reasons: HashMap<Uuid, Vec<RiskReason>> = HashMap::new();
    for row in assignments.overdue {
        reasons.entry(row.user_id).or_default().push(RiskReason {
            kind: RiskKind::OverdueMandatory,
            module_id: Some(row.module_id),
            quiz_id: None,
            title: Some(row.title),
            at: Some(row.due_at),
            count: None,
        });
    }
    for row in certificates {
        let expired = row.at.is_some_and(|at| at <= now);
        reasons.entry(row.user_id).or_default().push(RiskReason {
            kind: if expired {
                RiskKind::CertificateExpired
            } else {
                RiskKind::CertificateExpiring
            },
            module_id: Some(row.module_id),
            quiz_id: None,
            title: Some(row.title),
            at: row.at,
            count: None,
        });
    }
    for row in failed {
        reasons.entry(row.user_id).or_default().push(RiskReason {
            kind: RiskKind::RepeatedFailedAttempts,
            module_id: Some(row.module_id),
            quiz_id: Some(row.quiz_id),
            title: Some(row.title),
            at: None,
            count: Some(row.failed),
        });
    }
    let inactive_after = Duration::days(i64::from(settings.inactive_days));
    for m in &members {
        let last_active = last.get(&m.user_id).copied().flatten();
        let since = last_active.unwrap_or(m.joined_at);
        if now - since >= inactive_after {
            reasons.entry(m.user_id).or_default().push(RiskReason {
                kind: RiskKind::Inactive,
                module_id: None,
                quiz_id: None,
                title: None,
                at: last_active,
                count: Some((now - since).num_days()),
            });
        }
    }

    let mut at_risk: Vec<AtRiskMember> = members
        .iter()
        .filter_map(|m| {
            reasons.remove(&m.user_id).map(|reasons| AtRiskMember {
                user_id: m.user_id,
                name: m.name.clone(),
                reasons,
            })
        })
        .collect();
    at_risk.sort_by(|a, b| {
        b.reasons
            .len()
            .cmp(&a.reasons.len())
            .then_with(|| a.name.cmp(&b.name))
            .then(a.user_id.cmp(&b.user_id))
    });
    let at_risk_count = at_risk.len() as i64;
    at_risk.truncate(MAX_AT_RISK);

    let mut engagement: Vec<Engagement> = members
        .iter()
        .map(|m| {
            let xp = xp.get(&m.user_id).copied().unwrap_or(0);
            let active_days = active.get(&m.user_id).copied().unwrap_or(0);
            let completions = completions.get(&m.user_id).copied().unwrap_or(0);
            Engagement {
                user_id: m.user_id,
                name: m.name.clone(),
                xp,
                active_days,
                completions,
                score: engagement_score(xp, active_days, completions),
                last_active_at: last.get(&m.user_id).copied().flatten(),
            }
        })
        .collect();
    let mut top: Vec<Performer> = engagement
        .iter()
        .filter(|e| e.xp > 0)
        .map(|e| Performer {
            user_id: e.user_id,
            name: e.name.clone(),
            xp: e.xp,
        })
        .collect();
    top.sort_by(|a, b| {
        b.xp.cmp(&a.xp)
            .then_with(|| a.name.cmp(&b.name))
            .then(a.user_id.cmp(&b.user_id))
    });
    top.truncate(TOP_PERFORMERS);
    engagement.sort_by(|a, b| {
        a.score
            .cmp(&b.score)
            .then_with(|| a.name.cmp(&b.name))
            .then(a.user_id.cmp(&b.user_id))
    });
    engagement.truncate(limit);

    let mut completions_per_week = Vec::new();
    let mut week = week_start(from);
    while week < to {
        completions_per_week.push(WeekCompletions {
            week_start: week,
            completions: per_week.get(&week).copied().unwrap_or(0),
        });
        week += Duration::days(7);
    }

    Ok(ManagerDashboard {
        generated_at: now,
        from,
        to,
        settings,
        member_count: members.len() as i64,
        at_risk,
        at_risk_count,
        engagement,
        heatmap: assignments.heatmap,
        top_performers: top,
        completions_per_week,
    })
}
