//! Completion: completed sections and module completion.
//!
//! A member completes sections of modules they can see whose prerequisites they completed
//! (idempotently). A module is complete when every section is done, every quiz of the module
//! has a passed attempt and every required assignment has a graded current submission (any
//! score); the completion is recorded once (a partial unique index allows one
//! active completion per member and module), emits [`ModuleCompleted`] and issues a certificate.
//!
//! **Authors and mentors earn nothing from their own module** (`guild_learning::access::earns_from`). A member who
//! created or mentors a module completes it like anyone (the completion is recorded, so progress,
//! prerequisites and the dashboard stay true), but is issued no certificate, and the
//! completion's event says `rewarded: false`, so no XP is awarded for it (nor, by assessment, for
//! a high score in its quizzes). Otherwise creating, publishing and completing one's own modules
//! would mint XP and certificates without limit. The exception is a module someone else assigned
//! to them: it is assigned to a group they belong to, and that assignment was last set by another
//! member (`module_groups.assigned_by`; assigning needs MANAGE_ALL_MODULES). Whether a completion
//! earns is decided when it is recorded: assigning the module afterwards earns nothing for it.
//!
//! Completion is evaluated by [`evaluate_completion`] after each write that can finish a module
//! (a section completed here; a quiz passed or graded, a required assignment graded: see
//! [`crate::attempts`]), in that write's transaction. It first takes a
//! transaction-level advisory lock on (member, module) *after* the write, so of two racing
//! transactions (the last section and the passing quiz) the second to get the lock sees the
//! first's committed write: the module completes exactly once, whichever order they commit in.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::TryFutureExt;
use guild_db::schema::{module_completions, section_completions, sections, video_progress};
use guild_kernel::{Actor, DomainEvent, SectionId, TenantId, UserId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::LearningError;
use crate::certificates::{self, Certificate};
use guild_learning::access::{earns_from, locked_predicate, visible_on};

/// A member completed a module (notifications, gamification: XP).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModuleCompleted {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The member.
    pub user_id: Uuid,
    /// The module.
    pub module_id: Uuid,
    /// The completion.
    pub completion_id: Uuid,
    /// PROGRESS or OVERRIDE.
    pub source: String,
    /// When.
    pub completed_at: DateTime<Utc>,
    /// It earns XP: false when the member created or mentors the module and nobody else assigned
    /// it to them (`guild_learning::access::earns_from`). Events written before this field existed earned.
    #[serde(default = "earned")]
    pub rewarded: bool,
}

/// What events written before `rewarded` existed say.
pub(crate) fn earned() -> bool {
    true
}

impl DomainEvent for ModuleCompleted {
    const KIND: &'static str = "learning.module_completed";
}

/// One section's state for a member.
#[derive(Debug, Clone, Serialize)]
pub struct SectionState {
    /// The section.
    pub section_id: Uuid,
    /// When the member completed it.
    pub completed_at: Option<DateTime<Utc>>,
    /// On a VIDEO section the member reported progress on (this cycle): where they resume and
    /// how much they watched.
    pub video: Option<SectionVideo>,
}

/// Where a member is in a section's video.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SectionVideo {
    /// Where to resume, in seconds.
    pub position_seconds: f64,
    /// The watched share, 0 to 100, rounded down.
    pub watched_percent: i32,
}

/// A member's progress on a module.
#[derive(Debug, Clone, Serialize)]
pub struct ModuleProgress {
    /// The module.
    pub module_id: Uuid,
    /// Sections done.
    pub sections_done: i64,
    /// Sections in the module.
    pub sections_total: i64,
    /// Quizzes passed.
    pub quizzes_passed: i64,
    /// Quizzes in the module.
    pub quizzes_total: i64,
    /// Required assignments with a graded current submission.
    pub assignments_done: i64,
    /// Required assignments in the module.
    pub assignments_total: i64,
    /// The module has a required live event (one not cancelled): the member must attend one
    /// of its required events to complete it.
    pub attendance_required: bool,
    /// The member's attendance at one of the module's required live events is confirmed,
    /// since their previous cycle of the module ended.
    pub attended: bool,
    /// 0–100: sections, quizzes, required assignments and a required attendance done over all
    /// of them.
    pub percent: i32,
    /// Each section, in order.
    pub sections: Vec<SectionState>,
    /// When the module was completed (this cycle).
    pub completed_at: Option<DateTime<Utc>>,
    /// Its certificate, if one was issued.
    pub certificate_id: Option<Uuid>,
    /// Prerequisites are not all completed yet.
    pub locked: bool,
}

/// The percentage of `done` of `total`, rounded down; 0 of 0 is 0.
pub fn percent(done: i64, total: i64) -> i32 {
    if total <= 0 {
        return 0;
    }
    i32::try_from((done.clamp(0, total) * 100) / total).unwrap_or(0)
}

#[derive(QueryableByName)]
struct Summary {
    #[diesel(sql_type = BigInt)]
    quizzes_total: i64,
    #[diesel(sql_type = BigInt)]
    quizzes_passed: i64,
    #[diesel(sql_type = BigInt)]
    assignments_total: i64,
    #[diesel(sql_type = BigInt)]
    assignments_done: i64,
    #[diesel(sql_type = Bool)]
    attendance_required: bool,
    #[diesel(sql_type = Bool)]
    attended: bool,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    completed_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    certificate_id: Option<Uuid>,
    #[diesel(sql_type = Bool)]
    locked: bool,
}

/// Whether the module `$3` is locked for the member `$2` (learning's one rule).
static SUMMARY_LOCKED: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| locked_predicate("$3"));

/// Everything about the member's state on a module but its sections, in one statement: quizzes
/// and required assignments (total and done), a required live event and the member's confirmed
/// attendance at one, the active completion with its certificate, and whether a prerequisite is
/// missing.
///
/// Live events are live's tables (`live_events`, `live_event_registrations`), read here like
/// assessment's: an attendance counts when it was confirmed after the member's previous cycle
/// of the module was archived, so it expires with the module's compliance cycle.
async fn summary(
    mut conn: &AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    module: Uuid,
) -> Result<Summary, LearningError> {
    Ok(guild_db::sql(format!(
        "SELECT \
           (SELECT count(*) FROM quizzes q WHERE q.tenant_id = $1 AND q.module_id = $3) AS quizzes_total, \
           (SELECT count(*) FROM quizzes q WHERE q.tenant_id = $1 AND q.module_id = $3 \
              AND EXISTS (SELECT 1 FROM quiz_attempts a WHERE a.tenant_id = q.tenant_id \
                          AND a.quiz_id = q.id AND a.user_id = $2 AND a.passed \
                          AND a.archived_at IS NULL)) AS quizzes_passed, \
           (SELECT count(*) FROM assignments a WHERE a.tenant_id = $1 AND a.module_id = $3 \
              AND a.required) AS assignments_total, \
           (SELECT count(*) FROM assignments a WHERE a.tenant_id = $1 AND a.module_id = $3 \
              AND a.required AND EXISTS (SELECT 1 FROM assignment_submissions s \
                  WHERE s.tenant_id = a.tenant_id AND s.assignment_id = a.id AND s.user_id = $2 \
                    AND s.status = 'GRADED' AND NOT s.superseded \
                    AND s.archived_at IS NULL)) AS assignments_done, \
           EXISTS (SELECT 1 FROM live_events e WHERE e.tenant_id = $1 AND e.module_id = $3 \
              AND e.required AND e.status <> 'CANCELLED') AS attendance_required, \
           EXISTS (SELECT 1 FROM live_events e JOIN live_event_registrations r \
                     ON r.tenant_id = e.tenant_id AND r.event_id = e.id \
                   WHERE e.tenant_id = $1 AND e.module_id = $3 AND e.required \
                     AND r.user_id = $2 AND r.attended_at IS NOT NULL \
                     AND r.attended_at > coalesce((SELECT max(p.archived_at) \
                           FROM module_completions p WHERE p.tenant_id = $1 AND p.user_id = $2 \
                            AND p.module_id = $3), '-infinity')) AS attended, \
           c.completed_at, \
           (SELECT ce.id FROM certificates ce WHERE ce.tenant_id = $1 \
              AND ce.completion_id = c.id LIMIT 1) AS certificate_id, \
           {locked} AS locked \
         FROM (SELECT 1) AS one \
         LEFT JOIN module_completions c ON c.tenant_id = $1 AND c.user_id = $2 \
              AND c.module_id = $3 AND c.archived_at IS NULL",
        locked = SUMMARY_LOCKED.as_str()
    ))
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(user.into_uuid())
    .bind::<SqlUuid, _>(module)
    .get_result(&mut conn)
    .await?)
}

async fn active_completion(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    module: Uuid,
) -> Result<Option<(Uuid, DateTime<Utc>)>, LearningError> {
    Ok(module_completions::table
        .filter(module_completions::tenant_id.eq(tenant.into_uuid()))
        .filter(module_completions::user_id.eq(user.into_uuid()))
        .filter(module_completions::module_id.eq(module))
        .filter(module_completions::archived_at.is_null())
        .select((module_completions::id, module_completions::completed_at))
        .first(conn)
        .await
        .optional()?)
}

/// A member's progress on a module, without checking who asks: four reads (the sections, the member's
/// completions and video progress in the module, the summary), pipelined.
pub(crate) async fn load(
    mut conn: &AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    module: Uuid,
) -> Result<ModuleProgress, LearningError> {
    // The sections, then the member's completions in this module (one range of the
    // (tenant, member, module) index), joined here: a join in SQL got a generic plan that
    // scanned all the member's completions once per section.
    let done = section_completions::table
        .filter(section_completions::tenant_id.eq(tenant.into_uuid()))
        .filter(section_completions::user_id.eq(user.into_uuid()))
        .filter(section_completions::module_id.eq(module))
        .filter(section_completions::archived_at.is_null())
        .select((
            section_completions::section_id,
            section_completions::completed_at,
        ))
        .load::<(Uuid, DateTime<Utc>)>(&mut conn);
    let ids = sections::table
        .filter(sections::tenant_id.eq(tenant.into_uuid()))
        .filter(sections::module_id.eq(module))
        .order(sections::sort_order)
        .select(sections::id)
        .load::<Uuid>(&mut conn);
    let videos = video_progress::table
        .filter(video_progress::tenant_id.eq(tenant.into_uuid()))
        .filter(video_progress::user_id.eq(user.into_uuid()))
        .filter(video_progress::module_id.eq(module))
        .filter(video_progress::archived_at.is_null())
        .select((
            video_progress::section_id,
            video_progress::position_seconds,
            video_progress::watched_seconds,
            video_progress::duration_seconds,
        ))
        .load::<(Uuid, f64, f64, f64)>(&mut conn);
    let (done, ids, videos, summary) = futures_util::future::try_join4(
        done.err_into(),
        ids.err_into(),
        videos.err_into(),
        summary(conn, tenant, user, module),
    )
    .await?;
    let done: HashMap<Uuid, DateTime<Utc>> = done.into_iter().collect();
    let videos: HashMap<Uuid, SectionVideo> = videos
        .into_iter()
        .map(|(section, position, watched, duration)| {
            let video = SectionVideo {
                position_seconds: position,
                watched_percent: crate::video::share(watched, duration),
            };
            (section, video)
        })
        .collect();
    let rows: Vec<(Uuid, Option<DateTime<Utc>>)> = ids
        .into_iter()
        .map(|id| (id, done.get(&id).copied()))
        .collect();
    let Summary {
        quizzes_total,
        quizzes_passed,
        assignments_total,
        assignments_done,
        attendance_required,
        attended,
        completed_at,
        certificate_id,
        locked,
    } = summary;
    let attendance_total = i64::from(attendance_required);
    let attendance_done = i64::from(attendance_required && attended);
    let sections_total = rows.len() as i64;
    let sections_done = rows.iter().filter(|(_, done)| done.is_some()).count() as i64;
    Ok(ModuleProgress {
        module_id: module,
        sections_done,
        sections_total,
        quizzes_passed,
        quizzes_total,
        assignments_done,
        assignments_total,
        attendance_required,
        attended,
        percent: if completed_at.is_some() {
            100
        } else {
            percent(
                sections_done + quizzes_passed + assignments_done + attendance_done,
                sections_total + quizzes_total + assignments_total + attendance_total,
            )
        },
        sections: rows
            .into_iter()
            .map(|(section_id, completed_at)| SectionState {
                section_id,
                completed_at,
                video: videos.get(&section_id).copied(),
            })
            .collect(),
        completed_at,
        certificate_id,
        locked,
    })
}

/// The actor's progress on a module they can see.
///
/// One batch of statements, nothing sent after an answer, so it runs as a pipelined read
/// (`guild_db::tenant_read`).
pub async fn progress(
    conn: &AsyncPgConnection,
    actor: &Actor,
    module: Uuid,
) -> Result<ModuleProgress, LearningError> {
    // Whether the actor may see it and what to show, in one round trip; the progress is only
    // returned when the module is visible.
    let (_, progress) = futures_util::future::try_join(
        visible_on(conn, actor, module),
        load(conn, actor.tenant_id, actor.user_id, module),
    )
    .await?;
    Ok(progress)
}

/// Marks a section complete for the actor (idempotent) and completes the module when that was
/// the last thing missing. Refused for modules whose prerequisites the actor has not completed
/// (`module_locked`), for modules not published (`module_not_published`), and for a VIDEO
/// section watched less than the tenant requires (`video_not_watched`, see [`crate::video`]).
pub async fn complete_section(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: Uuid,
    section: SectionId,
    now: DateTime<Utc>,
) -> Result<ModuleProgress, LearningError> {
    let section = section.into_uuid();
    let tenant = actor.tenant_id;
    let user = actor.user_id;
    // Who may see the module, whether the section is in it and whether a prerequisite is
    // missing: pipelined, one round trip.
    let mut shared: &AsyncPgConnection = conn;
    let in_module = diesel::select(diesel::dsl::exists(
        sections::table
            .filter(sections::tenant_id.eq(tenant.into_uuid()))
            .filter(sections::module_id.eq(module))
            .filter(sections::id.eq(section)),
    ))
    .get_result::<bool>(&mut shared);
    let (row, in_module, locked) = futures_util::future::try_join3(
        visible_on(shared, actor, module),
        in_module.err_into(),
        guild_learning::access::locked_modules(shared, tenant, user, &[module]),
    )
    .await?;
    if row.status != guild_learning::modules::ModuleStatus::Published {
        return Err(LearningError::InvalidTransition(
            "only sections of published modules can be completed",
        ));
    }
    if !in_module {
        return Err(LearningError::SectionNotFound);
    }
    if locked.contains(&module) {
        return Err(LearningError::ModuleLocked);
    }
    crate::video::check_watched(conn, actor, section).await?;
    let mut shared: &AsyncPgConnection = conn;
    let completed = guild_db::sql(
        "INSERT INTO section_completions (tenant_id, id, user_id, module_id, section_id, completed_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (tenant_id, user_id, section_id) WHERE archived_at IS NULL DO NOTHING",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(Uuid::now_v7())
    .bind::<SqlUuid, _>(user.into_uuid())
    .bind::<SqlUuid, _>(module)
    .bind::<SqlUuid, _>(section)
    .bind::<Timestamptz, _>(now)
    .execute(&mut shared);
    // Three independent writes, pipelined.
    futures_util::future::try_join3(
        completed.err_into(),
        guild_learning::versions::record_access(shared, actor, &row, now),
        crate::resume::record(shared, tenant, user, module, section, now),
    )
    .await?;
    Ok(evaluate(conn, tenant, user, module, now).await?.1)
}

/// Completes the module for the member if everything is done and it is not complete yet; call
/// it in the transaction of any write that can finish a module, after that write.
pub async fn evaluate_completion(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    module: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, LearningError> {
    Ok(evaluate(conn, tenant, user, module, now).await?.0)
}

/// [`evaluate_completion`], also returning the member's progress on the module after it.
async fn evaluate(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    module: Uuid,
    now: DateTime<Utc>,
) -> Result<(Option<Uuid>, ModuleProgress), LearningError> {
    // The lock first, on its own: a pipelined statement can overtake it (one that still needs
    // preparing waits for its parse while a cached one goes ahead), and the progress must be
    // read after the lock is held.
    lock_member_module(conn, tenant, user, module).await?;
    let progress = load(conn, tenant, user, module).await?;
    let finished = progress.completed_at.is_none()
        && progress.sections_total > 0
        && progress.sections_done == progress.sections_total
        && progress.quizzes_passed >= progress.quizzes_total
        && progress.assignments_done >= progress.assignments_total
        && (!progress.attendance_required || progress.attended);
    if !finished {
        return Ok((None, progress));
    }
    let rewarded = earns_from(conn, tenant, user, module).await?;
    let completion =
        record_completion(conn, tenant, user, module, "PROGRESS", rewarded, now).await?;
    if let Some(id) = completion.filter(|_| rewarded) {
        let previous = certificates::latest_valid(conn, tenant, user, module, now).await?;
        let issued = certificates::issue(conn, tenant, user, module, id, previous, now).await?;
        if let Some(previous) = previous {
            let rewarded = crate::compliance::first_renewal_of_period(
                conn, tenant, user, module, issued.id, now,
            )
            .await?;
            guild_db::outbox::publish(
                conn,
                Some(tenant),
                &crate::compliance::ComplianceRenewal {
                    tenant_id: tenant.into_uuid(),
                    user_id: user.into_uuid(),
                    module_id: module,
                    previous_certificate_id: previous,
                    certificate_id: issued.id,
                    rewarded,
                },
            )
            .await?;
        }
    }
    // The completion and its certificate change what the progress shows.
    Ok((completion, load(conn, tenant, user, module).await?))
}

/// The member has an active completion of the module.
pub async fn is_completed(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    module: Uuid,
) -> Result<bool, LearningError> {
    Ok(active_completion(conn, tenant, user, module)
        .await?
        .is_some())
}

/// Serializes completion decisions for one member and module until the transaction ends.
pub(crate) async fn lock_member_module(
    mut conn: &AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    module: Uuid,
) -> Result<(), LearningError> {
    guild_db::sql("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind::<Text, _>(format!("completion:{tenant}:{user}:{module}"))
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// Records an active completion unless one exists; emits [`ModuleCompleted`], `rewarded` or not.
pub(crate) async fn record_completion(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    module: Uuid,
    source: &str,
    rewarded: bool,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, LearningError> {
    #[derive(QueryableByName)]
    struct Inserted {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
        #[diesel(sql_type = Timestamptz)]
        completed_at: DateTime<Utc>,
    }
    let inserted: Option<Inserted> = guild_db::sql(
        "INSERT INTO module_completions (tenant_id, id, user_id, module_id, source, completed_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (tenant_id, user_id, module_id) WHERE archived_at IS NULL DO NOTHING \
         RETURNING id, completed_at",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(Uuid::now_v7())
    .bind::<SqlUuid, _>(user.into_uuid())
    .bind::<SqlUuid, _>(module)
    .bind::<Text, _>(source)
    .bind::<Timestamptz, _>(now)
    .get_result(conn)
    .await
    .optional()?;
    let Some(row) = inserted else {
        return Ok(None);
    };
    guild_db::outbox::publish(
        conn,
        Some(tenant),
        &ModuleCompleted {
            tenant_id: tenant.into_uuid(),
            user_id: user.into_uuid(),
            module_id: module,
            completion_id: row.id,
            source: source.to_owned(),
            completed_at: row.completed_at,
            rewarded,
        },
    )
    .await?;
    // The paths this completion finishes, in the same transaction, after the write.
    crate::paths::after_module_completed(conn, tenant, user, module, now).await?;
    Ok(Some(row.id))
}

/// The certificate of the member's active completion of `module`, if any.
pub async fn certificate_of(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    module: Uuid,
) -> Result<Option<Certificate>, LearningError> {
    match active_completion(conn, tenant, user, module).await? {
        Some((id, _)) => certificates::by_completion(conn, tenant, id).await,
        None => Ok(None),
    }
}
