//! Report exports (`POST /v1/reports`): the rows of a report, for the api layer to write as CSV or
//! XLSX (`guild_documents::tabular`) in a background job.
//!
//! Every report is limited to the **cohort** of the caller's EXPORT_REPORTS grants (the active
//! members it reaches, of a group when asked for; see [`crate::insights::cohort`]) and, where it
//! lists things that happened, to the period (`from`–`to`, the last 30 days by default, at most
//! 366 days). [`check`] refuses at once what [`rows`] would refuse when the job runs (403, 422,
//! 404 `group_not_found`), so a request that cannot succeed is not queued.
//!
//! The `COMPLIANCE` report is also made as a PDF for auditors ([`compliance_document`]): the
//! same lines, and per group the counts its chart draws.
//!
//! | kind | one row per | period applies to |
//! |---|---|---|
//! | `compliance` | member and mandatory module (the compliance matrix; needs a progress permission too) | — (now) |
//! | `completions` | module completion (`module_id` narrows) | `completed_at` |
//! | `quiz_results` | submitted quiz attempt (`quiz_id` narrows) | `submitted_at` |
//! | `xp_ledger` | XP ledger row | `created_at` |
//! | `event_attendance` | registration to a live event not cancelled | the event's `starts_at` |
//! | `members` | member, with their groups, lifetime XP and completions | — |
//!
//! At most [`MAX_ROWS`] rows are written; `truncated` says when more matched.

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{
    Array, BigInt, Bool, Double, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_kernel::{Actor, PageRequest, Permission};
use guild_progress::compliance::{self, ComplianceStatus, MatrixFilter};
use uuid::Uuid;

use crate::AnalyticsError;
use crate::insights::{AnalyticsFilter, cohort};

/// The most rows a report holds.
pub const MAX_ROWS: usize = 100_000;

guild_kernel::string_enum!(
    /// What a report lists.
    ReportKind {
        /// Each member's state on each mandatory module.
        Compliance => "COMPLIANCE",
        /// Module completions.
        Completions => "COMPLETIONS",
        /// Submitted quiz attempts.
        QuizResults => "QUIZ_RESULTS",
        /// XP ledger rows.
        XpLedger => "XP_LEDGER",
        /// Registrations to live events.
        EventAttendance => "EVENT_ATTENDANCE",
        /// Members.
        Members => "MEMBERS",
    }
);

guild_kernel::string_enum!(
    /// A report's file format.
    ReportFormat {
        /// Comma-separated values, UTF-8.
        Csv => "CSV",
        /// An Excel workbook.
        Xlsx => "XLSX",
        /// A printable document for auditors (the `COMPLIANCE` report only): a title page, a
        /// chart per group, the table of members × mandatory modules.
        Pdf => "PDF",
    }
);

impl ReportFormat {
    /// The file's content type.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Self::Pdf => "application/pdf",
        }
    }
}

/// What a report covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReportFilter {
    /// Only members of this group.
    pub group_id: Option<Uuid>,
    /// The period's start (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// The period's end (exclusive).
    pub to: Option<DateTime<Utc>>,
    /// Only this module (`completions`, `compliance`).
    pub module_id: Option<Uuid>,
    /// Only this quiz (`quiz_results`).
    pub quiz_id: Option<Uuid>,
}

impl ReportFilter {
    fn period(&self) -> AnalyticsFilter {
        AnalyticsFilter {
            group_id: self.group_id,
            from: self.from,
            to: self.to,
        }
    }
}

/// One value of a report.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Nothing.
    Empty,
    /// Text.
    Text(String),
    /// A whole number.
    Int(i64),
    /// A number.
    Number(f64),
    /// A time (written as RFC 3339, UTC).
    Time(DateTime<Utc>),
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Self::Text(s)
    }
}

impl From<Uuid> for Value {
    fn from(id: Uuid) -> Self {
        Self::Text(id.to_string())
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Self::Int(n)
    }
}

impl From<DateTime<Utc>> for Value {
    fn from(t: DateTime<Utc>) -> Self {
        Self::Time(t)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Self::Empty, Into::into)
    }
}

/// A report's rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// What it lists.
    pub kind: ReportKind,
    /// The period it covers.
    pub from: DateTime<Utc>,
    /// The period's end.
    pub to: DateTime<Utc>,
    /// The columns.
    pub columns: &'static [&'static str],
    /// The rows (at most [`MAX_ROWS`]).
    pub rows: Vec<Vec<Value>>,
    /// More rows matched than were kept.
    pub truncated: bool,
}

/// Refuses what [`rows`] (or [`compliance_document`]) would refuse, before anything is queued;
/// and a PDF of any report but `COMPLIANCE` (422, field `format`, `pdf_compliance_only`).
pub async fn check(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    kind: ReportKind,
    format: ReportFormat,
    filter: &ReportFilter,
    now: DateTime<Utc>,
) -> Result<(), AnalyticsError> {
    if format == ReportFormat::Pdf && kind != ReportKind::Compliance {
        return Err(AnalyticsError::invalid(
            "format",
            "pdf_compliance_only",
            "a PDF is made of the COMPLIANCE report only",
        ));
    }
    if kind == ReportKind::Compliance {
        compliance::scope(actor)?;
    }
    cohort(
        conn,
        actor,
        Permission::ExportReports,
        &filter.period(),
        now,
    )
    .await?;
    Ok(())
}

// Every statement below takes the same six parameters: the tenant, the cohort, the period's start
// and end, the id that narrows it (a module for completions, a quiz for quiz results; null for
// the others, which state it), and the row limit.

const COMPLETIONS: &str = "SELECT mc.completed_at, mc.user_id, u.name, u.email, mc.module_id, \
       m.title, mc.source \
     FROM module_completions mc \
     JOIN users u ON u.id = mc.user_id \
     JOIN modules m ON m.tenant_id = mc.tenant_id AND m.id = mc.module_id \
     WHERE mc.tenant_id = $1 AND mc.user_id = ANY($2) AND mc.completed_at >= $3 AND mc.completed_at < $4 \
       AND ($5::uuid IS NULL OR mc.module_id = $5) \
     ORDER BY mc.completed_at, mc.id LIMIT $6";

#[derive(QueryableByName)]
struct CompletionRow {
    #[diesel(sql_type = Timestamptz)]
    completed_at: DateTime<Utc>,
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = SqlUuid)]
    module_id: Uuid,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Text)]
    source: String,
}

const QUIZ_RESULTS: &str = "SELECT a.submitted_at, a.user_id, u.name, u.email, a.quiz_id, \
       q.title, a.number, a.status, a.score_percent, a.passed \
     FROM quiz_attempts a \
     JOIN users u ON u.id = a.user_id \
     JOIN quizzes q ON q.tenant_id = a.tenant_id AND q.id = a.quiz_id \
     WHERE a.tenant_id = $1 AND a.user_id = ANY($2) AND a.submitted_at >= $3 AND a.submitted_at < $4 \
       AND ($5::uuid IS NULL OR a.quiz_id = $5) \
     ORDER BY a.submitted_at, a.id LIMIT $6";

#[derive(QueryableByName)]
struct AttemptRow {
    #[diesel(sql_type = Timestamptz)]
    submitted_at: DateTime<Utc>,
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = SqlUuid)]
    quiz_id: Uuid,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Integer)]
    number: i32,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Nullable<Double>)]
    score_percent: Option<f64>,
    #[diesel(sql_type = Nullable<Bool>)]
    passed: Option<bool>,
}

const XP_LEDGER: &str = "SELECT t.created_at, t.user_id, u.name, u.email, t.kind, t.amount, \
       t.source, t.reason \
     FROM xp_transactions t JOIN users u ON u.id = t.user_id \
     WHERE t.tenant_id = $1 AND t.user_id = ANY($2) AND t.created_at >= $3 AND t.created_at < $4 \
       AND $5::uuid IS NULL \
     ORDER BY t.created_at, t.id LIMIT $6";

#[derive(QueryableByName)]
struct LedgerRow {
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Integer)]
    amount: i32,
    #[diesel(sql_type = Text)]
    source: String,
    #[diesel(sql_type = Nullable<Text>)]
    reason: Option<String>,
}

const ATTENDANCE: &str = "SELECT e.id AS event_id, e.title, e.starts_at, r.user_id, u.name, \
       u.email, r.status, r.attended_at \
     FROM live_event_registrations r \
     JOIN live_events e ON e.tenant_id = r.tenant_id AND e.id = r.event_id \
     JOIN users u ON u.id = r.user_id \
     WHERE r.tenant_id = $1 AND r.user_id = ANY($2) AND e.starts_at >= $3 AND e.starts_at < $4 \
       AND e.status <> 'CANCELLED' AND $5::uuid IS NULL \
     ORDER BY e.starts_at, e.id, u.name, r.user_id LIMIT $6";

#[derive(QueryableByName)]
struct AttendanceRow {
    #[diesel(sql_type = SqlUuid)]
    event_id: Uuid,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Timestamptz)]
    starts_at: DateTime<Utc>,
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    attended_at: Option<DateTime<Utc>>,
}

const MEMBERS: &str = "SELECT ms.user_id, u.name, u.email, ms.role, ms.created_at AS joined_at, \
       coalesce((SELECT string_agg(g.name, '; ' ORDER BY g.name) FROM user_groups ug \
         JOIN groups g ON g.tenant_id = ug.tenant_id AND g.id = ug.group_id \
         WHERE ug.tenant_id = ms.tenant_id AND ug.user_id = ms.user_id), '') AS groups, \
       coalesce((SELECT b.lifetime_xp FROM user_xp_balances b \
         WHERE b.tenant_id = ms.tenant_id AND b.user_id = ms.user_id), 0)::bigint AS lifetime_xp, \
       (SELECT count(*) FROM module_completions mc WHERE mc.tenant_id = ms.tenant_id \
         AND mc.user_id = ms.user_id AND mc.archived_at IS NULL) AS completions \
     FROM memberships ms JOIN users u ON u.id = ms.user_id \
     WHERE ms.tenant_id = $1 AND ms.user_id = ANY($2) AND $3::timestamptz < $4 \
       AND $5::uuid IS NULL \
     ORDER BY u.name, ms.user_id LIMIT $6";

#[derive(QueryableByName)]
struct MemberRow {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = Text)]
    role: String,
    #[diesel(sql_type = Timestamptz)]
    joined_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    groups: String,
    #[diesel(sql_type = BigInt)]
    lifetime_xp: i64,
    #[diesel(sql_type = BigInt)]
    completions: i64,
}

/// The report's columns.
pub fn columns(kind: ReportKind) -> &'static [&'static str] {
    match kind {
        ReportKind::Compliance => &[
            "user_id",
            "name",
            "email",
            "module_id",
            "module",
            "status",
            "since",
            "due_at",
            "expires_at",
        ],
        ReportKind::Completions => &[
            "completed_at",
            "user_id",
            "name",
            "email",
            "module_id",
            "module",
            "source",
        ],
        ReportKind::QuizResults => &[
            "submitted_at",
            "user_id",
            "name",
            "email",
            "quiz_id",
            "quiz",
            "attempt",
            "status",
            "score_percent",
            "passed",
        ],
        ReportKind::XpLedger => &[
            "created_at",
            "user_id",
            "name",
            "email",
            "kind",
            "amount",
            "source",
            "reason",
        ],
        ReportKind::EventAttendance => &[
            "event_id",
            "event",
            "starts_at",
            "user_id",
            "name",
            "email",
            "status",
            "attended_at",
        ],
        ReportKind::Members => &[
            "user_id",
            "name",
            "email",
            "role",
            "joined_at",
            "groups",
            "lifetime_xp",
            "completions",
        ],
    }
}

/// The rows of a report for `actor` (see the module's table).
pub async fn rows(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    kind: ReportKind,
    filter: &ReportFilter,
    now: DateTime<Utc>,
) -> Result<Report, AnalyticsError> {
    let c = cohort(
        conn,
        actor,
        Permission::ExportReports,
        &filter.period(),
        now,
    )
    .await?;
    let mut report = Report {
        kind,
        from: c.from,
        to: c.to,
        columns: columns(kind),
        rows: Vec::new(),
        truncated: false,
    };
    if kind == ReportKind::Compliance {
        compliance_rows(conn, actor, filter, now, &c.ids, &mut report).await?;
        return Ok(report);
    }
    let narrow = match kind {
        ReportKind::Completions => filter.module_id,
        ReportKind::QuizResults => filter.quiz_id,
        _ => None,
    };
    let sql = match kind {
        ReportKind::Completions => COMPLETIONS,
        ReportKind::QuizResults => QUIZ_RESULTS,
        ReportKind::XpLedger => XP_LEDGER,
        ReportKind::EventAttendance => ATTENDANCE,
        ReportKind::Members | ReportKind::Compliance => MEMBERS,
    };
    let query = guild_db::sql(sql)
        .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
        .bind::<Array<SqlUuid>, _>(c.ids.clone())
        .bind::<Timestamptz, _>(c.from)
        .bind::<Timestamptz, _>(c.to)
        .bind::<Nullable<SqlUuid>, _>(narrow)
        .bind::<BigInt, _>(MAX_ROWS as i64 + 1);
    let mut shared: &AsyncPgConnection = conn;
    let rows: Vec<Vec<Value>> = match kind {
        ReportKind::Completions => query
            .load::<CompletionRow>(&mut shared)
            .await?
            .into_iter()
            .map(|r| {
                vec![
                    r.completed_at.into(),
                    r.user_id.into(),
                    r.name.into(),
                    r.email.into(),
                    r.module_id.into(),
                    r.title.into(),
                    r.source.into(),
                ]
            })
            .collect(),
        ReportKind::QuizResults => query
            .load::<AttemptRow>(&mut shared)
            .await?
            .into_iter()
            .map(|r| {
                vec![
                    r.submitted_at.into(),
                    r.user_id.into(),
                    r.name.into(),
                    r.email.into(),
                    r.quiz_id.into(),
                    r.title.into(),
                    i64::from(r.number).into(),
                    r.status.into(),
                    r.score_percent.map_or(Value::Empty, Value::Number),
                    r.passed.map(|p| p.to_string()).into(),
                ]
            })
            .collect(),
        ReportKind::XpLedger => query
            .load::<LedgerRow>(&mut shared)
            .await?
            .into_iter()
            .map(|r| {
                vec![
                    r.created_at.into(),
                    r.user_id.into(),
                    r.name.into(),
                    r.email.into(),
                    r.kind.into(),
                    i64::from(r.amount).into(),
                    r.source.into(),
                    r.reason.into(),
                ]
            })
            .collect(),
        ReportKind::EventAttendance => query
            .load::<AttendanceRow>(&mut shared)
            .await?
            .into_iter()
            .map(|r| {
                vec![
                    r.event_id.into(),
                    r.title.into(),
                    r.starts_at.into(),
                    r.user_id.into(),
                    r.name.into(),
                    r.email.into(),
                    r.status.into(),
                    r.attended_at.into(),
                ]
            })
            .collect(),
        ReportKind::Members | ReportKind::Compliance => query
            .load::<MemberRow>(&mut shared)
            .await?
            .into_iter()
            .map(|r| {
                vec![
                    r.user_id.into(),
                    r.name.into(),
                    r.email.into(),
                    r.role.into(),
                    r.joined_at.into(),
                    r.groups.into(),
                    r.lifetime_xp.into(),
                    r.completions.into(),
                ]
            })
            .collect(),
    };
    report.rows = rows;
    report.truncated = report.rows.len() > MAX_ROWS;
    report.rows.truncate(MAX_ROWS);
    Ok(report)
}

/// A member's state on a mandatory module, as the compliance report lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplianceLine {
    /// The member.
    pub user_id: Uuid,
    /// Their name.
    pub name: String,
    /// Their email.
    pub email: String,
    /// The module.
    pub module_id: Uuid,
    /// Its title.
    pub module: String,
    /// The state.
    pub status: ComplianceStatus,
    /// Since when.
    pub since: Option<DateTime<Utc>>,
    /// The due date.
    pub due_at: Option<DateTime<Utc>>,
    /// The certificate's expiry.
    pub expires_at: Option<DateTime<Utc>>,
}

/// The compliance report's rows.
async fn compliance_rows(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    filter: &ReportFilter,
    now: DateTime<Utc>,
    cohort: &[Uuid],
    report: &mut Report,
) -> Result<(), AnalyticsError> {
    let (lines, truncated) = compliance_lines(conn, actor, filter, now, cohort).await?;
    report.truncated = truncated;
    report.rows = lines
        .into_iter()
        .map(|l| {
            vec![
                l.user_id.into(),
                l.name.into(),
                l.email.into(),
                l.module_id.into(),
                l.module.into(),
                l.status.as_str().to_owned().into(),
                l.since.into(),
                l.due_at.into(),
                l.expires_at.into(),
            ]
        })
        .collect();
    Ok(())
}

/// The compliance matrix, a page at a time, one line per member and mandatory module, kept to
/// the cohort (the matrix's own scope is the progress permissions'; the report's is
/// EXPORT_REPORTS'); at most [`MAX_ROWS`], and whether more matched.
async fn compliance_lines(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    filter: &ReportFilter,
    now: DateTime<Utc>,
    cohort: &[Uuid],
) -> Result<(Vec<ComplianceLine>, bool), AnalyticsError> {
    let cohort: std::collections::HashSet<Uuid> = cohort.iter().copied().collect();
    let matrix_filter = MatrixFilter {
        group_id: filter.group_id,
        module_id: filter.module_id,
    };
    let mut lines = Vec::new();
    let mut cursor = None;
    loop {
        let page = PageRequest {
            limit: Some(200),
            cursor: cursor.take(),
        };
        let matrix = compliance::matrix(conn, actor, &matrix_filter, &page, now).await?;
        for row in matrix
            .rows
            .data
            .iter()
            .filter(|r| cohort.contains(&r.user_id))
        {
            for cell in &row.cells {
                if lines.len() == MAX_ROWS {
                    return Ok((lines, true));
                }
                lines.push(ComplianceLine {
                    user_id: row.user_id,
                    name: row.name.clone(),
                    email: row.email.clone(),
                    module_id: cell.module_id,
                    module: matrix
                        .modules
                        .get(&cell.module_id)
                        .cloned()
                        .unwrap_or_default(),
                    status: cell.status,
                    since: cell.since,
                    due_at: cell.due_at,
                    expires_at: cell.expires_at,
                });
            }
        }
        match matrix.rows.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok((lines, false)),
        }
    }
}

/// A group's mandatory module in the compliance report's chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleBar {
    /// The module.
    pub module_id: Uuid,
    /// Its title.
    pub title: String,
    /// The group's members in the report who must complete it.
    pub assigned: u64,
    /// Of those, COMPLIANT or EXPIRING (completed, the certificate still valid).
    pub completed: u64,
    /// Of those, OVERDUE.
    pub overdue: u64,
}

/// A group's chart in the compliance report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupBars {
    /// The group.
    pub group_id: Uuid,
    /// Its name.
    pub name: String,
    /// Its mandatory published modules, by title.
    pub modules: Vec<ModuleBar>,
}

/// The compliance report as a document for auditors (`PDF`): who made it and when, the
/// period asked for, a chart per group of the report's members, and the lines by member name.
#[derive(Debug, Clone, PartialEq)]
pub struct ComplianceDocument {
    /// The tenant's name.
    pub tenant_name: String,
    /// The name of the member who asked.
    pub generated_by: String,
    /// When it was made.
    pub generated_at: DateTime<Utc>,
    /// The period's start.
    pub from: DateTime<Utc>,
    /// The period's end.
    pub to: DateTime<Utc>,
    /// Groups with a member in the report and a mandatory module, by name.
    pub groups: Vec<GroupBars>,
    /// The lines, by member name, email, then module title.
    pub lines: Vec<ComplianceLine>,
    /// More lines matched than [`MAX_ROWS`].
    pub truncated: bool,
}

#[derive(QueryableByName)]
struct Heading {
    #[diesel(sql_type = Text)]
    tenant_name: String,
    #[diesel(sql_type = Text)]
    author: String,
}

#[derive(QueryableByName)]
struct GroupModule {
    #[diesel(sql_type = SqlUuid)]
    group_id: Uuid,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = SqlUuid)]
    module_id: Uuid,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Array<SqlUuid>)]
    members: Vec<Uuid>,
}

/// Each group's mandatory published modules with its members in the cohort (`$2`), of group
/// `$3` and module `$4` when given.
const GROUP_MODULES: &str = "SELECT g.id AS group_id, g.name, mg.module_id, m.title, \
       array_agg(ug.user_id ORDER BY ug.user_id) AS members \
     FROM module_groups mg \
     JOIN groups g ON g.tenant_id = mg.tenant_id AND g.id = mg.group_id \
     JOIN modules m ON m.tenant_id = mg.tenant_id AND m.id = mg.module_id \
     JOIN user_groups ug ON ug.tenant_id = mg.tenant_id AND ug.group_id = mg.group_id \
     WHERE mg.tenant_id = $1 AND mg.is_mandatory AND m.status = 'PUBLISHED' \
       AND ug.user_id = ANY($2) AND ($3::uuid IS NULL OR mg.group_id = $3) \
       AND ($4::uuid IS NULL OR mg.module_id = $4) \
     GROUP BY g.id, g.name, mg.module_id, m.title \
     ORDER BY g.name, g.id, m.title, mg.module_id";

/// The compliance report for `actor` as a document: the lines of [`rows`]'s `COMPLIANCE` report
/// (the same scope: EXPORT_REPORTS and a progress permission), and per group the counts of its
/// members in those lines on each of its mandatory modules.
pub async fn compliance_document(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    filter: &ReportFilter,
    now: DateTime<Utc>,
) -> Result<ComplianceDocument, AnalyticsError> {
    compliance::scope(actor)?;
    let c = cohort(
        conn,
        actor,
        Permission::ExportReports,
        &filter.period(),
        now,
    )
    .await?;
    let (mut lines, truncated) = compliance_lines(conn, actor, filter, now, &c.ids).await?;
    let tenant = actor.tenant_id.into_uuid();
    let mut shared: &AsyncPgConnection = conn;
    let heading: Heading = guild_db::sql(
        "SELECT t.name AS tenant_name, coalesce((SELECT u.name FROM users u WHERE u.id = $2), '') \
           AS author FROM tenants t WHERE t.id = $1",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .get_result(&mut shared)
    .await?;
    let assignments: Vec<GroupModule> = guild_db::sql(GROUP_MODULES)
        .bind::<SqlUuid, _>(tenant)
        .bind::<Array<SqlUuid>, _>(&c.ids)
        .bind::<Nullable<SqlUuid>, _>(filter.group_id)
        .bind::<Nullable<SqlUuid>, _>(filter.module_id)
        .load(&mut shared)
        .await?;
    let status: std::collections::HashMap<(Uuid, Uuid), ComplianceStatus> = lines
        .iter()
        .map(|l| ((l.user_id, l.module_id), l.status))
        .collect();
    let mut groups: Vec<GroupBars> = Vec::new();
    for a in assignments {
        let mut bar = ModuleBar {
            module_id: a.module_id,
            title: a.title,
            assigned: 0,
            completed: 0,
            overdue: 0,
        };
        for user in &a.members {
            let Some(state) = status.get(&(*user, a.module_id)) else {
                continue;
            };
            bar.assigned += 1;
            match state {
                ComplianceStatus::Compliant | ComplianceStatus::Expiring => bar.completed += 1,
                ComplianceStatus::Overdue => bar.overdue += 1,
                _ => {}
            }
        }
        if bar.assigned == 0 {
            continue;
        }
        match groups.last_mut() {
            Some(g) if g.group_id == a.group_id => g.modules.push(bar),
            _ => groups.push(GroupBars {
                group_id: a.group_id,
                name: a.name,
                modules: vec![bar],
            }),
        }
    }
    lines.sort_by(|a, b| {
        (
            a.name.as_str(),
            a.email.as_str(),
            a.module.as_str(),
            a.module_id,
        )
            .cmp(&(
                b.name.as_str(),
                b.email.as_str(),
                b.module.as_str(),
                b.module_id,
            ))
    });
    Ok(ComplianceDocument {
        tenant_name: heading.tenant_name,
        generated_by: heading.author,
        generated_at: now,
        from: c.from,
        to: c.to,
        groups,
        lines,
        truncated,
    })
}
