//! Compliance: due dates of mandatory modules, deadline reminders, certificate expiry with
//! re-assignment, renewal, and the compliance matrix.
//!
//! **Due dates.** A member's due date for a module is the earliest over their groups' assignments
//! of `start + deadline_days`, where `start` is the latest of: when they joined the group, when
//! the module was assigned to it, and when their current cycle started (an expiry restarts it).
//! Overdue is computed from it at read time, never stored.
//!
//! **Reminders** ([`send_deadline_reminders`], hourly): 7 days and 1 day before the due date and
//! once overdue, each at most once per member, module and due date (`deadline_reminders` is the
//! record), as [`DeadlineReminder`] events for notifications and email.
//!
//! **Expiry** ([`scan_expiry`], daily; safe on several instances and when run twice, because
//! every effect hangs on inserting a `compliance_notices` row that exists at most once per
//! certificate and kind): 30 days before a certificate expires, [`ModuleExpiring`] once; at
//! expiry, [`ModuleExpired`] once, the member's completions and quiz attempts on the module are
//! archived (kept, read-only, still listed in history), their progress starts over, and a new
//! cycle begins, which gives them a new due date. Only a member's latest certificate of a module
//! counts: after a renewal, the older one expiring changes nothing.
//!
//! **Renewal.** From 30 days before expiry, [`start_renewal`] archives the member's progress so
//! they can take the module again while their certificate stays valid; completing it before the
//! old certificate expires issues a certificate that renews the old one (`renews_certificate_id`)
//! and emits [`ComplianceRenewal`] (see [`crate::completion::evaluate_completion`]).
//!
//! **Renewal XP at most once per validity period.** A module whose validity is no longer than the
//! 30-day renewal window gives a certificate that can be renewed the day it is issued, again and
//! again. So a member's validity periods of a module are counted from their first certificate of
//! it: consecutive spans of the module's `validity_months`. Only the first renewal within a period
//! is `rewarded` ([`first_renewal_of_period`]); later ones in the same period are recorded and
//! announced, but earn no XP. A member renewing every year a few days early, as the window
//! allows, stays in step: each renewal falls in the next period until the days drift by a
//! whole period.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::LazyLock;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_kernel::{
    Actor, DomainEvent, MemberScope, Page, PageRequest, TenantId, UserId, member_scope,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::LearningError;

/// How long before expiry a certificate is "expiring".
pub fn expiring_window() -> Duration {
    Duration::days(30)
}

// --- Events ----------------------------------------------------------------------------------

/// A deadline reminder to send (notifications, email).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeadlineReminder {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The member.
    pub user_id: Uuid,
    /// The module.
    pub module_id: Uuid,
    /// Its title.
    pub module_title: String,
    /// DUE_IN_7_DAYS, DUE_IN_1_DAY or OVERDUE.
    pub kind: String,
    /// The due date.
    pub due_at: DateTime<Utc>,
}

impl DomainEvent for DeadlineReminder {
    const KIND: &'static str = "learning.deadline_reminder";
}

/// A certificate expires within 30 days.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModuleExpiring {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The member.
    pub user_id: Uuid,
    /// The module.
    pub module_id: Uuid,
    /// The certificate.
    pub certificate_id: Uuid,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
}

impl DomainEvent for ModuleExpiring {
    const KIND: &'static str = "learning.module_expiring";
}

/// A certificate expired: the member's progress was reset and the module re-assigned.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModuleExpired {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The member.
    pub user_id: Uuid,
    /// The module.
    pub module_id: Uuid,
    /// The certificate.
    pub certificate_id: Uuid,
    /// When it expired.
    pub expired_at: DateTime<Utc>,
    /// The new due date, when the module is assigned with a deadline.
    pub new_due_at: Option<DateTime<Utc>>,
}

impl DomainEvent for ModuleExpired {
    const KIND: &'static str = "learning.module_expired";
}

/// A member renewed a module before their certificate expired (gamification: XP).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ComplianceRenewal {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The member.
    pub user_id: Uuid,
    /// The module.
    pub module_id: Uuid,
    /// The certificate renewed.
    pub previous_certificate_id: Uuid,
    /// The new one.
    pub certificate_id: Uuid,
    /// It earns renewal XP: only the first renewal of a validity period does
    /// ([`first_renewal_of_period`]). Events written before this field existed earned.
    #[serde(default = "crate::completion::earned")]
    pub rewarded: bool,
}

impl DomainEvent for ComplianceRenewal {
    const KIND: &'static str = "learning.compliance_renewal";
}

// --- Jobs ----------------------------------------------------------------------------------

/// The hourly job that sends deadline reminders in every tenant.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DeadlineReminderScan {}

impl guild_db::jobs::Job for DeadlineReminderScan {
    const KIND: &'static str = "learning.deadline_reminders";
}

/// The daily job that handles certificate expiry in every tenant.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExpiryScanJob {}

impl guild_db::jobs::Job for ExpiryScanJob {
    const KIND: &'static str = "learning.compliance_scan";
}

/// Tenants that are not archived (the scans visit each in its own tenant transaction).
pub async fn active_tenants(conn: &mut AsyncPgConnection) -> Result<Vec<TenantId>, LearningError> {
    use guild_db::schema::tenants;
    Ok(tenants::table
        .filter(tenants::archived_at.is_null())
        .select(tenants::id)
        .order(tenants::id)
        .load::<Uuid>(conn)
        .await?
        .into_iter()
        .map(TenantId)
        .collect())
}

// --- Reminders -------------------------------------------------------------------------------

#[derive(QueryableByName)]
struct DueRow {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    module_id: Uuid,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Timestamptz)]
    due_at: DateTime<Utc>,
}

/// Which reminder is due at `now` for a due date, if any.
pub fn reminder_kind(due_at: DateTime<Utc>, now: DateTime<Utc>) -> Option<&'static str> {
    if now >= due_at {
        Some("OVERDUE")
    } else if now >= due_at - Duration::days(1) {
        Some("DUE_IN_1_DAY")
    } else if now >= due_at - Duration::days(7) {
        Some("DUE_IN_7_DAYS")
    } else {
        None
    }
}

/// Sends the deadline reminders of one tenant that are due at `now`; returns how many.
pub async fn send_deadline_reminders(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    now: DateTime<Utc>,
) -> Result<usize, LearningError> {
    let sql = concat!(
        "SELECT a.user_id, a.module_id, m.title, a.due_at FROM (",
        guild_learning::assignments_sql!(),
        ") a \
         JOIN modules m ON m.tenant_id = a.tenant_id AND m.id = a.module_id \
         JOIN memberships ms ON ms.tenant_id = a.tenant_id AND ms.user_id = a.user_id \
         WHERE a.mandatory AND a.due_at IS NOT NULL AND a.due_at <= $2 + interval '7 days' \
           AND m.status = 'PUBLISHED' AND ms.status = 'ACTIVE' \
           AND NOT EXISTS (SELECT 1 FROM module_completions c WHERE c.tenant_id = a.tenant_id \
                 AND c.user_id = a.user_id AND c.module_id = a.module_id AND c.archived_at IS NULL)"
    );
    let due: Vec<DueRow> = guild_db::sql(sql)
        .bind::<SqlUuid, _>(tenant.into_uuid())
        .bind::<Timestamptz, _>(now)
        .load(conn)
        .await?;
    let mut sent = 0;
    for row in due {
        let Some(kind) = reminder_kind(row.due_at, now) else {
            continue;
        };
        let inserted = guild_db::sql(
            "INSERT INTO deadline_reminders (tenant_id, user_id, module_id, kind, due_at, sent_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind::<SqlUuid, _>(tenant.into_uuid())
        .bind::<SqlUuid, _>(row.user_id)
        .bind::<SqlUuid, _>(row.module_id)
        .bind::<Text, _>(kind)
        .bind::<Timestamptz, _>(row.due_at)
        .bind::<Timestamptz, _>(now)
        .execute(conn)
        .await?;
        if inserted == 1 {
            guild_db::outbox::publish(
                conn,
                Some(tenant),
                &DeadlineReminder {
                    tenant_id: tenant.into_uuid(),
                    user_id: row.user_id,
                    module_id: row.module_id,
                    module_title: row.title,
                    kind: kind.to_owned(),
                    due_at: row.due_at,
                },
            )
            .await?;
            sent += 1;
        }
    }
    Ok(sent)
}

// --- Expiry ----------------------------------------------------------------------------------

#[derive(QueryableByName)]
struct CertRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    module_id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    expires_at: DateTime<Utc>,
}

/// What one expiry scan did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ExpiryScan {
    /// `module_expiring` events emitted.
    pub expiring: usize,
    /// Certificates expired and progress reset.
    pub expired: usize,
}

/// Latest non-revoked certificates (per member and module) whose expiry is before `until` and
/// that have no notice of `kind` yet.
async fn latest_certificates(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    until: DateTime<Utc>,
    kind: &str,
) -> Result<Vec<CertRow>, LearningError> {
    Ok(guild_db::sql(
        "SELECT c.id, c.user_id, c.module_id, c.expires_at FROM certificates c \
         WHERE c.tenant_id = $1 AND c.revoked_at IS NULL AND c.expires_at <= $2 \
           AND NOT EXISTS (SELECT 1 FROM certificates newer WHERE newer.tenant_id = c.tenant_id \
                 AND newer.user_id = c.user_id AND newer.module_id = c.module_id \
                 AND newer.revoked_at IS NULL AND newer.issued_at > c.issued_at) \
           AND NOT EXISTS (SELECT 1 FROM compliance_notices n WHERE n.tenant_id = c.tenant_id \
                 AND n.certificate_id = c.id AND n.kind = $3) \
         ORDER BY c.expires_at",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<Timestamptz, _>(until)
    .bind::<Text, _>(kind)
    .load(conn)
    .await?)
}

async fn claim_notice(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    certificate: Uuid,
    kind: &str,
    now: DateTime<Utc>,
) -> Result<bool, LearningError> {
    let inserted = guild_db::sql(
        "INSERT INTO compliance_notices (tenant_id, certificate_id, kind, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(certificate)
    .bind::<Text, _>(kind)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await?;
    Ok(inserted == 1)
}

/// Archives a member's active progress on a module at `now`: section completions, the module
/// completion, the completions of the learning paths holding the module, video progress, quiz
/// attempts (an attempt still in progress is closed as TIMED_OUT) and assignment submissions.
pub(crate) async fn archive_cycle(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    module: Uuid,
    now: DateTime<Utc>,
) -> Result<(), LearningError> {
    for sql in [
        "UPDATE section_completions SET archived_at = $4 \
         WHERE tenant_id = $1 AND user_id = $2 AND module_id = $3 AND archived_at IS NULL",
        "UPDATE module_completions SET archived_at = $4 \
         WHERE tenant_id = $1 AND user_id = $2 AND module_id = $3 AND archived_at IS NULL",
        // A new cycle of a module is a new cycle of every path holding it.
        "UPDATE path_completions pc SET archived_at = $4 \
         WHERE pc.tenant_id = $1 AND pc.user_id = $2 AND pc.archived_at IS NULL \
           AND EXISTS (SELECT 1 FROM learning_path_modules lm WHERE lm.tenant_id = pc.tenant_id \
                       AND lm.path_id = pc.path_id AND lm.module_id = $3)",
    ] {
        guild_db::sql(sql)
            .bind::<SqlUuid, _>(tenant.into_uuid())
            .bind::<SqlUuid, _>(user.into_uuid())
            .bind::<SqlUuid, _>(module)
            .bind::<Timestamptz, _>(now)
            .execute(conn)
            .await?;
    }
    crate::video::archive_member_module(conn, tenant.into_uuid(), user.into_uuid(), module, now)
        .await?;
    // What assessment owns, archived by assessment.
    guild_assessment::attempts::archive_member_module(conn, tenant, user, module, now).await?;
    guild_assessment::submissions::archive_member_module(conn, tenant, user, module, now).await?;
    Ok(())
}

#[derive(QueryableByName)]
struct NewDue {
    #[diesel(sql_type = Nullable<Timestamptz>)]
    due_at: Option<DateTime<Utc>>,
}

/// Emits expiring notices and processes expiries of one tenant at `now`.
pub async fn scan_expiry(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    now: DateTime<Utc>,
) -> Result<ExpiryScan, LearningError> {
    let mut scan = ExpiryScan::default();
    for cert in latest_certificates(conn, tenant, now + expiring_window(), "EXPIRING").await? {
        // A certificate already expired gets its EXPIRED notice below, not a late warning.
        if cert.expires_at <= now {
            continue;
        }
        if claim_notice(conn, tenant, cert.id, "EXPIRING", now).await? {
            guild_db::outbox::publish(
                conn,
                Some(tenant),
                &ModuleExpiring {
                    tenant_id: tenant.into_uuid(),
                    user_id: cert.user_id,
                    module_id: cert.module_id,
                    certificate_id: cert.id,
                    expires_at: cert.expires_at,
                },
            )
            .await?;
            scan.expiring += 1;
        }
    }
    for cert in latest_certificates(conn, tenant, now, "EXPIRED").await? {
        if !claim_notice(conn, tenant, cert.id, "EXPIRED", now).await? {
            continue;
        }
        let user = UserId(cert.user_id);
        crate::completion::lock_member_module(conn, tenant, user, cert.module_id).await?;
        archive_cycle(conn, tenant, user, cert.module_id, now).await?;
        guild_learning::assigned::restart_cycle(conn, tenant, user, cert.module_id, now).await?;
        let due: Option<NewDue> = guild_db::sql(concat!(
            "SELECT a.due_at FROM (",
            guild_learning::assignments_sql!(),
            ") a WHERE a.user_id = $2 AND a.module_id = $3"
        ))
        .bind::<SqlUuid, _>(tenant.into_uuid())
        .bind::<SqlUuid, _>(cert.user_id)
        .bind::<SqlUuid, _>(cert.module_id)
        .get_result(conn)
        .await
        .optional()?;
        guild_db::outbox::publish(
            conn,
            Some(tenant),
            &ModuleExpired {
                tenant_id: tenant.into_uuid(),
                user_id: cert.user_id,
                module_id: cert.module_id,
                certificate_id: cert.id,
                expired_at: cert.expires_at,
                new_due_at: due.and_then(|d| d.due_at),
            },
        )
        .await?;
        scan.expired += 1;
    }
    Ok(scan)
}

/// Starts renewing a module: allowed from 30 days before the member's certificate expires (and
/// not after); archives their progress so they can take the module again. The certificate stays
/// valid until it expires.
pub async fn start_renewal(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: Uuid,
    now: DateTime<Utc>,
) -> Result<(), LearningError> {
    guild_learning::access::visible(conn, actor, module).await?;
    let tenant = actor.tenant_id;
    let user = actor.user_id;
    crate::completion::lock_member_module(conn, tenant, user, module).await?;
    let expires: Option<Option<DateTime<Utc>>> = guild_db::schema::certificates::table
        .filter(guild_db::schema::certificates::tenant_id.eq(tenant.into_uuid()))
        .filter(guild_db::schema::certificates::user_id.eq(user.into_uuid()))
        .filter(guild_db::schema::certificates::module_id.eq(module))
        .filter(guild_db::schema::certificates::revoked_at.is_null())
        .order(guild_db::schema::certificates::issued_at.desc())
        .select(guild_db::schema::certificates::expires_at)
        .first(conn)
        .await
        .optional()?;
    let active = crate::completion::is_completed(conn, tenant, user, module).await?;
    match expires {
        Some(Some(at)) if active && at > now && at <= now + expiring_window() => {}
        _ => {
            return Err(LearningError::InvalidTransition(
                "a module can be renewed only within 30 days before your certificate expires",
            ));
        }
    }
    archive_cycle(conn, tenant, user, module, now).await?;
    guild_learning::audit(
        conn,
        actor,
        "RENEWAL_STARTED",
        "module",
        module,
        serde_json::json!({}),
    )
    .await
}

/// The start of the validity period `at` falls in, periods being consecutive spans of
/// `validity_months` from `first` (the member's first certificate of the module). Month
/// arithmetic clamps to the end of shorter months, always counted from `first`.
pub fn period_start(
    first: DateTime<Utc>,
    validity_months: u32,
    at: DateTime<Utc>,
) -> DateTime<Utc> {
    use chrono::{Datelike, Months};
    if at <= first || validity_months == 0 {
        return first;
    }
    let after = |months: u32| first.checked_add_months(Months::new(months));
    let mut months = u32::try_from(
        (at.year() - first.year()) * 12 + i32::try_from(at.month()).unwrap_or(0)
            - i32::try_from(first.month()).unwrap_or(0),
    )
    .unwrap_or(0);
    if after(months).is_none_or(|d| d > at) {
        months = months.saturating_sub(1);
    }
    let periods = months / validity_months;
    after(periods * validity_months).unwrap_or(first)
}

#[derive(QueryableByName)]
struct RenewalFacts {
    #[diesel(sql_type = Nullable<Timestamptz>)]
    first: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Integer>)]
    validity_months: Option<i32>,
}

/// Whether the renewal that issued `certificate` at `now` is the member's first renewal of
/// `module` in its validity period (see the module docs): only that one earns renewal XP. Call it
/// under the member's completion lock on the module, as completion does.
pub(crate) async fn first_renewal_of_period(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    module: Uuid,
    certificate: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, LearningError> {
    let facts: RenewalFacts = guild_db::sql(
        "SELECT (SELECT min(c.issued_at) FROM certificates c WHERE c.tenant_id = $1                    AND c.user_id = $2 AND c.module_id = $3) AS first,                 (SELECT m.validity_months FROM modules m WHERE m.tenant_id = $1 AND m.id = $3)                    AS validity_months",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(user.into_uuid())
    .bind::<SqlUuid, _>(module)
    .get_result(conn)
    .await?;
    let first = facts.first.unwrap_or(now);
    // No validity any more: one period, from the first certificate on.
    let start = match facts.validity_months.and_then(|m| u32::try_from(m).ok()) {
        Some(months) if months > 0 => period_start(first, months, now),
        _ => first,
    };
    let earlier: i64 = guild_db::schema::certificates::table
        .filter(guild_db::schema::certificates::tenant_id.eq(tenant.into_uuid()))
        .filter(guild_db::schema::certificates::user_id.eq(user.into_uuid()))
        .filter(guild_db::schema::certificates::module_id.eq(module))
        .filter(guild_db::schema::certificates::renews_certificate_id.is_not_null())
        .filter(guild_db::schema::certificates::issued_at.ge(start))
        .filter(guild_db::schema::certificates::id.ne(certificate))
        .count()
        .get_result(conn)
        .await?;
    Ok(earlier == 0)
}

// --- Matrix ----------------------------------------------------------------------------------

/// The members whose row the actor may see in the matrix: the union of what their
/// VIEW_ALL_PROGRESS, VIEW_GROUP_PROGRESS and VIEW_MANAGER_DASHBOARD grants reach (tenant-wide,
/// the granted groups, the manager subtree), through the one shared mechanism
/// ([`guild_kernel::member_scope`], [`guild_db::scope`]). Nothing → 403.
pub fn scope(actor: &Actor) -> Result<MemberScope, LearningError> {
    Ok(member_scope(actor, guild_kernel::auth::PROGRESS_VIEWERS)?)
}

/// Matrix filters.
#[derive(Debug, Clone, Default)]
pub struct MatrixFilter {
    /// Only members of this group.
    pub group_id: Option<Uuid>,
    /// Only this module.
    pub module_id: Option<Uuid>,
}

guild_kernel::string_enum!(
    /// A member's state on a mandatory module.
    ComplianceStatus {
        /// Completed, with a valid certificate (or none needed).
        Compliant => "COMPLIANT",
        /// The certificate expires within 30 days.
        Expiring => "EXPIRING",
        /// The certificate expired.
        Expired => "EXPIRED",
        /// Past its due date and not completed.
        Overdue => "OVERDUE",
        /// Started, not completed.
        InProgress => "IN_PROGRESS",
        /// Not started.
        NotStarted => "NOT_STARTED",
    }
);

/// One cell: a member's state on a mandatory module.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    /// The module.
    pub module_id: Uuid,
    /// The state.
    pub status: ComplianceStatus,
    /// Since when.
    pub since: Option<DateTime<Utc>>,
    /// The due date.
    pub due_at: Option<DateTime<Utc>>,
    /// The certificate's expiry, when there is one.
    pub expires_at: Option<DateTime<Utc>>,
}

/// One member's row.
#[derive(Debug, Clone, Serialize)]
pub struct MatrixRow {
    /// The member.
    pub user_id: Uuid,
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
    /// Their mandatory modules.
    pub cells: Vec<Cell>,
    /// Their mandatory learning paths (`module_id` is then the path's id): COMPLIANT once
    /// completed this cycle (EXPIRING, EXPIRED by the path certificate's expiry), else OVERDUE
    /// past the due date, IN_PROGRESS with a module of it completed, or NOT_STARTED.
    pub paths: Vec<Cell>,
}

/// A page of the matrix with the titles of the modules in it.
#[derive(Debug, Clone, Serialize)]
pub struct Matrix {
    /// Module id → title, for every module in a cell of this page.
    pub modules: BTreeMap<Uuid, String>,
    /// Path id → title, for every learning path in a path cell of this page.
    pub paths: BTreeMap<Uuid, String>,
    /// The members.
    pub rows: Page<MatrixRow>,
}

#[derive(QueryableByName)]
struct MemberRow {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    email: String,
}

#[derive(QueryableByName)]
struct CellRow {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    module_id: Uuid,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    assigned_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    due_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    completed_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    expires_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Bool)]
    has_certificate: bool,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    issued_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    started_at: Option<DateTime<Utc>>,
}

/// The status of a cell at `now`: a valid certificate (or a completion without one) is
/// COMPLIANT, or EXPIRING within 30 days of its expiry; an expired one is EXPIRED until the member
/// completes the module again, unless their new due date passed (OVERDUE); otherwise OVERDUE,
/// IN_PROGRESS or NOT_STARTED.
fn cell(row: &CellRow, now: DateTime<Utc>) -> Cell {
    let expired = row.expires_at.is_some_and(|e| e <= now);
    let (status, since) = if row.has_certificate && !expired {
        match row.expires_at {
            Some(exp) if exp <= now + expiring_window() => {
                (ComplianceStatus::Expiring, Some(exp - expiring_window()))
            }
            _ => (
                ComplianceStatus::Compliant,
                row.completed_at.or(row.issued_at),
            ),
        }
    } else if row.completed_at.is_some() && row.has_certificate {
        (ComplianceStatus::Expired, row.expires_at)
    } else if row.completed_at.is_some() {
        (ComplianceStatus::Compliant, row.completed_at)
    } else if let Some(due) = row.due_at.filter(|d| *d < now) {
        (ComplianceStatus::Overdue, Some(due))
    } else if row.has_certificate && expired {
        (ComplianceStatus::Expired, row.expires_at)
    } else if row.started_at.is_some() {
        (ComplianceStatus::InProgress, row.started_at)
    } else {
        (ComplianceStatus::NotStarted, row.assigned_at)
    };
    Cell {
        module_id: row.module_id,
        status,
        since,
        due_at: row.due_at,
        expires_at: row.expires_at,
    }
}

/// The members a matrix lists, after `$2` (a user id, or null), in the scope `$3`–`$5` (see
/// [`guild_db::scope`]), filtered by group `$6` and module `$7`: [`matrix`]'s pages and
/// [`matrix_size`]'s count share it. Built once: the text is fixed.
static MATRIX_MEMBERS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "FROM memberships ms \
         JOIN users u ON u.id = ms.user_id \
         WHERE ms.tenant_id = $1 AND ms.status = 'ACTIVE' \
           AND ($2::uuid IS NULL OR ms.user_id > $2) \
           AND {in_scope} \
           AND ($6::uuid IS NULL OR EXISTS (SELECT 1 FROM user_groups g \
                WHERE g.tenant_id = ms.tenant_id AND g.user_id = ms.user_id AND g.group_id = $6)) \
           AND (EXISTS (SELECT 1 FROM module_groups mg JOIN user_groups ug \
                ON ug.tenant_id = mg.tenant_id AND ug.group_id = mg.group_id \
                JOIN modules m ON m.tenant_id = mg.tenant_id AND m.id = mg.module_id \
                WHERE mg.tenant_id = ms.tenant_id AND ug.user_id = ms.user_id AND mg.is_mandatory \
                  AND m.status = 'PUBLISHED' AND ($7::uuid IS NULL OR mg.module_id = $7)) \
             OR ($7::uuid IS NULL AND EXISTS (SELECT 1 FROM learning_path_groups pg \
                JOIN user_groups ug ON ug.tenant_id = pg.tenant_id AND ug.group_id = pg.group_id \
                JOIN learning_paths lp ON lp.tenant_id = pg.tenant_id AND lp.id = pg.path_id \
                WHERE pg.tenant_id = ms.tenant_id AND ug.user_id = ms.user_id AND pg.is_mandatory \
                  AND lp.status = 'PUBLISHED')))",
        in_scope = guild_db::scope::predicate("ms.user_id", "ms.tenant_id", 3)
    )
});

static MATRIX_COUNT: LazyLock<String> =
    LazyLock::new(|| format!("SELECT count(*) AS n {}", MATRIX_MEMBERS.as_str()));

static MATRIX_PAGE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT ms.user_id, u.name, u.email {} ORDER BY ms.user_id LIMIT $8",
        MATRIX_MEMBERS.as_str()
    )
});

#[derive(QueryableByName)]
struct MemberCount {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// A member's cell on a mandatory module or path, with its title.
#[derive(Debug, Clone)]
pub struct TitledCell {
    /// The member.
    pub user_id: Uuid,
    /// The module's or path's title.
    pub title: String,
    /// The state (`module_id` names the path for a path's cell).
    pub cell: Cell,
}

/// The compliance cells of `users` in `tenant`, by member then title: one per mandatory
/// published module they are assigned (only `module` when given), and one per mandatory
/// published learning path (none when a module is asked for). The matrix's rule, for any caller;
/// no permission is checked here: the caller decides who may read them.
pub async fn cells_of(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    users: &[Uuid],
    module: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(Vec<TitledCell>, Vec<TitledCell>), LearningError> {
    let cells: Vec<CellRow> = guild_db::sql(concat!(
        "SELECT a.user_id, a.module_id, m.title, a.assigned_at, a.due_at, \
                mc.completed_at, cert.expires_at, cert.issued_at, \
                (cert.issued_at IS NOT NULL) AS has_certificate, \
                (SELECT min(sc.completed_at) FROM section_completions sc WHERE sc.tenant_id = a.tenant_id \
                   AND sc.user_id = a.user_id AND sc.module_id = a.module_id AND sc.archived_at IS NULL) AS started_at \
         FROM (",
        guild_learning::assignments_sql!(),
        ") a \
         JOIN modules m ON m.tenant_id = a.tenant_id AND m.id = a.module_id \
         LEFT JOIN module_completions mc ON mc.tenant_id = a.tenant_id AND mc.user_id = a.user_id \
              AND mc.module_id = a.module_id AND mc.archived_at IS NULL \
         LEFT JOIN LATERAL (SELECT c.expires_at, c.issued_at FROM certificates c \
              WHERE c.tenant_id = a.tenant_id AND c.user_id = a.user_id AND c.module_id = a.module_id \
                AND c.revoked_at IS NULL ORDER BY c.issued_at DESC LIMIT 1) cert ON true \
         WHERE a.user_id = ANY($2) AND ($3::uuid IS NULL OR a.module_id = $3) \
           AND a.mandatory AND m.status = 'PUBLISHED' \
         ORDER BY a.user_id, m.title"
    ))
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<Array<SqlUuid>, _>(users)
    .bind::<Nullable<SqlUuid>, _>(module)
    .load(conn)
    .await?;
    // The mandatory learning paths of the page's members (none when one module is asked for).
    let path_cells: Vec<CellRow> = guild_db::sql(
        "SELECT ug.user_id, p.id AS module_id, p.title, \
                max(greatest(ug.created_at, pg.assigned_at)) AS assigned_at, \
                min(greatest(ug.created_at, pg.assigned_at) + make_interval(days => pg.deadline_days)) AS due_at, \
                (SELECT pc.completed_at FROM path_completions pc WHERE pc.tenant_id = p.tenant_id \
                   AND pc.user_id = ug.user_id AND pc.path_id = p.id AND pc.archived_at IS NULL) AS completed_at, \
                cert.expires_at, cert.issued_at, (cert.issued_at IS NOT NULL) AS has_certificate, \
                (SELECT min(mc.completed_at) FROM learning_path_modules lm JOIN module_completions mc \
                   ON mc.tenant_id = lm.tenant_id AND mc.module_id = lm.module_id \
                  WHERE lm.tenant_id = p.tenant_id AND lm.path_id = p.id AND mc.user_id = ug.user_id \
                    AND mc.archived_at IS NULL) AS started_at \
         FROM learning_path_groups pg \
         JOIN user_groups ug ON ug.tenant_id = pg.tenant_id AND ug.group_id = pg.group_id \
         JOIN learning_paths p ON p.tenant_id = pg.tenant_id AND p.id = pg.path_id \
         LEFT JOIN LATERAL (SELECT c.expires_at, c.issued_at FROM path_certificates c \
              WHERE c.tenant_id = pg.tenant_id AND c.user_id = ug.user_id AND c.path_id = pg.path_id \
                AND c.revoked_at IS NULL ORDER BY c.issued_at DESC LIMIT 1) cert ON true \
         WHERE pg.tenant_id = $1 AND ug.user_id = ANY($2) AND $3::uuid IS NULL \
           AND pg.is_mandatory AND p.status = 'PUBLISHED' \
         GROUP BY ug.user_id, p.tenant_id, p.id, p.title, cert.expires_at, cert.issued_at \
         ORDER BY ug.user_id, p.title",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<Array<SqlUuid>, _>(users)
    .bind::<Nullable<SqlUuid>, _>(module)
    .load(conn)
    .await?;
    let titled = |rows: Vec<CellRow>| {
        rows.into_iter()
            .map(|row| TitledCell {
                user_id: row.user_id,
                cell: cell(&row, now),
                title: row.title,
            })
            .collect()
    };
    Ok((titled(cells), titled(path_cells)))
}

/// How many members the actor's matrix (with `filter`) lists: what an export pages through.
pub async fn matrix_size(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    filter: &MatrixFilter,
) -> Result<i64, LearningError> {
    let (limited, groups, users) = scope(actor)?.binds();
    let count: MemberCount = guild_db::sql(MATRIX_COUNT.as_str())
        .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
        .bind::<Nullable<SqlUuid>, _>(None::<Uuid>)
        .bind::<Bool, _>(limited)
        .bind::<Array<SqlUuid>, _>(&groups)
        .bind::<Array<SqlUuid>, _>(&users)
        .bind::<Nullable<SqlUuid>, _>(filter.group_id)
        .bind::<Nullable<SqlUuid>, _>(filter.module_id)
        .get_result(conn)
        .await?;
    Ok(count.n)
}

/// A page of the compliance matrix: members in the actor's scope with at least one mandatory
/// module or learning path, ordered by id, each with a cell per mandatory module and per
/// mandatory path. Four queries per page.
pub async fn matrix(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    filter: &MatrixFilter,
    page: &PageRequest,
    now: DateTime<Utc>,
) -> Result<Matrix, LearningError> {
    let (limited, groups, users) = scope(actor)?.binds();
    let after: Option<Uuid> = match page.cursor().map_err(|_| LearningError::bad_cursor())? {
        Some(c) => Some(c.0.parse().map_err(|_| LearningError::bad_cursor())?),
        None => None,
    };
    let limit = page.limit();
    let members: Vec<MemberRow> = guild_db::sql(MATRIX_PAGE.as_str())
        .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
        .bind::<Nullable<SqlUuid>, _>(after)
        .bind::<Bool, _>(limited)
        .bind::<Array<SqlUuid>, _>(&groups)
        .bind::<Array<SqlUuid>, _>(&users)
        .bind::<Nullable<SqlUuid>, _>(filter.group_id)
        .bind::<Nullable<SqlUuid>, _>(filter.module_id)
        .bind::<diesel::sql_types::BigInt, _>(i64::from(limit) + 1)
        .load(conn)
        .await?;
    let page_users: Vec<Uuid> = members.iter().map(|m| m.user_id).collect();
    let (cells, path_cells) =
        cells_of(conn, actor.tenant_id, &page_users, filter.module_id, now).await?;
    let mut paths = BTreeMap::new();
    let mut paths_by_user: HashMap<Uuid, Vec<Cell>> = HashMap::new();
    for row in path_cells {
        paths.insert(row.cell.module_id, row.title);
        paths_by_user.entry(row.user_id).or_default().push(row.cell);
    }
    let mut modules = BTreeMap::new();
    let mut by_user: HashMap<Uuid, Vec<Cell>> = HashMap::new();
    for row in cells {
        modules.insert(row.cell.module_id, row.title);
        by_user.entry(row.user_id).or_default().push(row.cell);
    }
    let rows: Vec<MatrixRow> = members
        .into_iter()
        .map(|m| MatrixRow {
            cells: by_user.remove(&m.user_id).unwrap_or_default(),
            paths: paths_by_user.remove(&m.user_id).unwrap_or_default(),
            user_id: m.user_id,
            name: m.name,
            email: m.email,
        })
        .collect();
    let rows = Page::from_overfetch(rows, limit, |r: &MatrixRow| r.user_id.to_string());
    // Titles only of modules on this page (the overfetched row may have added some).
    let used: HashSet<Uuid> = rows
        .data
        .iter()
        .flat_map(|r| r.cells.iter().map(|c| c.module_id))
        .collect();
    modules.retain(|id, _| used.contains(id));
    let used: HashSet<Uuid> = rows
        .data
        .iter()
        .flat_map(|r| r.paths.iter().map(|c| c.module_id))
        .collect();
    paths.retain(|id, _| used.contains(id));
    Ok(Matrix {
        modules,
        paths,
        rows,
    })
}
