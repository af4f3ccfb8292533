//! A member's progress as those who see it read it (`GET /v1/members/{id}/progress`): the
//! modules and learning paths assigned to them with their status and due dates (the member's own
//! dashboard, [`guild_progress::dashboard::dashboard_of`]), their quiz attempts, certificates and
//! XP.
//!
//! Who reads it: the member themselves, and whoever's VIEW_ALL_PROGRESS, VIEW_GROUP_PROGRESS or
//! VIEW_MANAGER_DASHBOARD grants reach them ([`guild_kernel::member_scope`], the mechanism the
//! member list and the compliance matrix share). A member outside the reader's scope is 404, as
//! one of another tenant; a reader with none of these permissions is 403.
//!
//! One pipelined read: every statement is sent before the first answer, and nothing is answered
//! unless the member exists in the tenant and is in scope.

use chrono::{DateTime, Duration, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{
    Array, BigInt, Bool, Float8, Int4, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::TryFutureExt;
use futures_util::future::try_join5;
use guild_kernel::auth::PROGRESS_VIEWERS;
use guild_kernel::{Actor, TenantId, UserId, member_scope};
use guild_progress::dashboard::{DashboardModule, dashboard_of};
use guild_progress::paths::PathSummary;
use serde::Serialize;
use uuid::Uuid;

use crate::AnalyticsError;

/// Days before its expiry from which a certificate counts as expiring.
pub const EXPIRING_DAYS: i64 = 30;

guild_kernel::string_enum!(
    /// Where a member is on an assigned module.
    LearnerModuleStatus {
        /// Nothing done yet.
        NotStarted => "NOT_STARTED",
        /// A section done, not completed.
        InProgress => "IN_PROGRESS",
        /// Completed (this cycle).
        Completed => "COMPLETED",
        /// Past its due date and not completed.
        Overdue => "OVERDUE",
    }
);

guild_kernel::string_enum!(
    /// A certificate's state at the time of reading.
    CertificateState {
        /// Valid for more than 30 days, or without expiry.
        Valid => "VALID",
        /// Expires within 30 days.
        Expiring => "EXPIRING",
        /// Expired.
        Expired => "EXPIRED",
        /// Revoked.
        Revoked => "REVOKED",
    }
);

/// One assigned module.
#[derive(Debug, Clone, Serialize)]
pub struct AssignedModule {
    /// The module.
    pub module_id: Uuid,
    /// Its title.
    pub title: String,
    /// Assigned as mandatory.
    pub mandatory: bool,
    /// Where the member is on it.
    pub status: LearnerModuleStatus,
    /// The earliest due date of its assignments.
    pub due_at: Option<DateTime<Utc>>,
    /// 0–100.
    pub percent: i32,
    /// Sections done.
    pub sections_done: i64,
    /// Sections in it.
    pub sections_total: i64,
    /// When completed (this cycle).
    pub completed_at: Option<DateTime<Utc>>,
}

impl AssignedModule {
    fn from_dashboard(m: DashboardModule) -> Self {
        let status = if m.completed_at.is_some() {
            LearnerModuleStatus::Completed
        } else if m.overdue {
            LearnerModuleStatus::Overdue
        } else if m.sections_done > 0 {
            LearnerModuleStatus::InProgress
        } else {
            LearnerModuleStatus::NotStarted
        };
        Self {
            module_id: m.module_id,
            title: m.title,
            mandatory: m.mandatory,
            status,
            due_at: m.due_at,
            percent: m.percent,
            sections_done: m.sections_done,
            sections_total: m.sections_total,
            completed_at: m.completed_at,
        }
    }
}

/// A member's attempts at one quiz (this cycle: archived attempts are left out).
#[derive(Debug, Clone, Serialize, QueryableByName)]
pub struct QuizAttempts {
    /// The quiz.
    #[diesel(sql_type = SqlUuid)]
    pub quiz_id: Uuid,
    /// Its module.
    #[diesel(sql_type = SqlUuid)]
    pub module_id: Uuid,
    /// Its title.
    #[diesel(sql_type = Text)]
    pub title: String,
    /// Attempts started.
    #[diesel(sql_type = BigInt)]
    pub attempts: i64,
    /// Attempts submitted and failed.
    #[diesel(sql_type = BigInt)]
    pub failed: i64,
    /// An attempt passed.
    #[diesel(sql_type = Bool)]
    pub passed: bool,
    /// The best score, 0–100, of a scored attempt.
    #[diesel(sql_type = Nullable<Float8>)]
    pub best_score_percent: Option<f64>,
    /// When the latest attempt started.
    #[diesel(sql_type = Timestamptz)]
    pub last_attempt_at: DateTime<Utc>,
}

/// One of the member's certificates.
#[derive(Debug, Clone, Serialize)]
pub struct CertificateSummary {
    /// The certificate.
    pub certificate_id: Uuid,
    /// Its public code.
    pub code: String,
    /// The module (none once the module was deleted).
    pub module_id: Option<Uuid>,
    /// The module's title when issued.
    pub module_title: String,
    /// When issued.
    pub issued_at: DateTime<Utc>,
    /// When it expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// Its state now.
    pub state: CertificateState,
}

/// The member's XP.
#[derive(Debug, Clone, Default, Serialize)]
pub struct XpSummary {
    /// Earned in all, never decreasing: decides the rank.
    pub lifetime_xp: i32,
    /// Spendable.
    pub total_xp: i32,
    /// Held by redemptions waiting for approval.
    pub held_xp: i32,
    /// The rank (none before the first XP).
    pub rank: Option<String>,
}

/// A member's progress.
#[derive(Debug, Clone, Serialize)]
pub struct MemberProgress {
    /// The member.
    pub user_id: Uuid,
    /// Their name.
    pub name: String,
    /// Published modules assigned to them: overdue first, then by due date.
    pub modules: Vec<AssignedModule>,
    /// Their published learning paths (assigned or enrolled), with progress.
    pub paths: Vec<PathSummary>,
    /// Modules completed (this cycle).
    pub completed_count: i64,
    /// Assigned modules overdue.
    pub overdue_count: i64,
    /// Their quiz attempts by quiz, latest first.
    pub attempts: Vec<QuizAttempts>,
    /// Their certificates, newest first (at most 200).
    pub certificates: Vec<CertificateSummary>,
    /// Their XP.
    pub xp: XpSummary,
}

#[derive(QueryableByName)]
struct MemberRow {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Array<SqlUuid>)]
    group_ids: Vec<Uuid>,
}

#[derive(QueryableByName)]
struct CertificateRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    code: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    module_id: Option<Uuid>,
    #[diesel(sql_type = Text)]
    module_title: String,
    #[diesel(sql_type = Timestamptz)]
    issued_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    expires_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    revoked_at: Option<DateTime<Utc>>,
}

#[derive(QueryableByName)]
struct XpRow {
    #[diesel(sql_type = Int4)]
    lifetime_xp: i32,
    #[diesel(sql_type = Int4)]
    total_xp: i32,
    #[diesel(sql_type = Int4)]
    held_xp: i32,
    #[diesel(sql_type = Text)]
    rank: String,
}

/// A certificate's state at `now`.
pub fn certificate_state(
    expires_at: Option<DateTime<Utc>>,
    revoked: bool,
    now: DateTime<Utc>,
) -> CertificateState {
    match expires_at {
        _ if revoked => CertificateState::Revoked,
        Some(at) if at <= now => CertificateState::Expired,
        Some(at) if at <= now + Duration::days(EXPIRING_DAYS) => CertificateState::Expiring,
        _ => CertificateState::Valid,
    }
}

/// The progress of `user`, read by `actor` (see the module's rules), in one pipelined read.
pub async fn progress(
    conn: &AsyncPgConnection,
    actor: &Actor,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<MemberProgress, AnalyticsError> {
    let own = user == actor.user_id && actor.acts_as_member();
    // Decided before anything is read: a reader with no such permission learns nothing.
    let scope = if own {
        None
    } else {
        Some(member_scope(actor, PROGRESS_VIEWERS)?)
    };
    let tenant: TenantId = actor.tenant_id;
    let mut shared = conn;
    let member = guild_db::sql(
        "SELECT u.name, ARRAY(SELECT g.group_id FROM user_groups g \
             WHERE g.tenant_id = ms.tenant_id AND g.user_id = ms.user_id ORDER BY g.group_id) AS group_ids \
         FROM memberships ms JOIN users u ON u.id = ms.user_id \
         WHERE ms.tenant_id = $1 AND ms.user_id = $2",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(user.into_uuid())
    .load::<MemberRow>(&mut shared);
    let attempts = guild_db::sql(
        "SELECT q.id AS quiz_id, q.module_id, q.title, count(*) AS attempts, \
                count(*) FILTER (WHERE a.passed = false) AS failed, \
                coalesce(bool_or(a.passed), false) AS passed, \
                max(a.score_percent) AS best_score_percent, max(a.started_at) AS last_attempt_at \
         FROM quiz_attempts a JOIN quizzes q ON q.tenant_id = a.tenant_id AND q.id = a.quiz_id \
         WHERE a.tenant_id = $1 AND a.user_id = $2 AND a.archived_at IS NULL \
         GROUP BY q.id, q.module_id, q.title \
         ORDER BY max(a.started_at) DESC, q.id",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(user.into_uuid())
    .load::<QuizAttempts>(&mut shared);
    let certificates = guild_db::sql(
        "SELECT id, code, module_id, module_title, issued_at, expires_at, revoked_at \
         FROM certificates WHERE tenant_id = $1 AND user_id = $2 \
         ORDER BY issued_at DESC, id DESC LIMIT 200",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(user.into_uuid())
    .load::<CertificateRow>(&mut shared);
    let xp = guild_db::sql(
        "SELECT lifetime_xp, total_xp, held_xp, rank FROM user_xp_balances \
         WHERE tenant_id = $1 AND user_id = $2",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(user.into_uuid())
    .load::<XpRow>(&mut shared);
    let (member, attempts, certificates, xp, dashboard) = try_join5(
        member.err_into::<AnalyticsError>(),
        attempts.err_into(),
        certificates.err_into(),
        xp.err_into(),
        dashboard_of(conn, tenant, user, now).err_into(),
    )
    .await?;
    let member = member
        .into_iter()
        .next()
        .ok_or(AnalyticsError::NotFound("member_not_found"))?;
    if let Some(scope) = scope
        && !scope.covers(user, &member.group_ids)
    {
        return Err(AnalyticsError::NotFound("member_not_found"));
    }
    Ok(MemberProgress {
        user_id: user.into_uuid(),
        name: member.name,
        modules: dashboard
            .assigned
            .into_iter()
            .map(AssignedModule::from_dashboard)
            .collect(),
        paths: dashboard.paths,
        completed_count: dashboard.completed_count,
        overdue_count: dashboard.overdue_count,
        attempts,
        certificates: certificates
            .into_iter()
            .map(|c| CertificateSummary {
                certificate_id: c.id,
                code: c.code,
                module_id: c.module_id,
                module_title: c.module_title,
                issued_at: c.issued_at,
                state: certificate_state(c.expires_at, c.revoked_at.is_some(), now),
                expires_at: c.expires_at,
            })
            .collect(),
        xp: xp
            .into_iter()
            .next()
            .map(|x| XpSummary {
                lifetime_xp: x.lifetime_xp,
                total_xp: x.total_xp,
                held_xp: x.held_xp,
                rank: Some(x.rank),
            })
            .unwrap_or_default(),
    })
}
