//! The demo tenant's learning history, so the manager dashboard, the analytics and the reports
//! have five weeks to show after `make run`. Each write goes through the crate that owns it, with
//! the time it happened as its `now`: usage sessions (`notifications::sessions::ping`), module
//! views and section completions (`progress::completion::complete_section`, which completes a
//! module and issues its certificate when it was the last step), quiz attempts passed and failed
//! (`assessment::attempts::start`, `progress::attempts::submit`, answered through
//! `assessment::demo::answers`), and the XP those earned, dated when they were earned
//! (`gamification::demo::award_at`). Deterministic: the same plan every time, relative to `now`.
//!
//! What it leaves, with the demo modules of `learning::demo` (assigned 35 days before, due 21,
//! 28 and 14 days after that): Eve, Mia, Ava and Lucas completed the fire safety module, Liam
//! after a failed attempt; Noah failed its quiz three times and has not been back for four
//! weeks (overdue, repeated failures, inactive); Liam and Zoe are late on a mandatory module;
//! the monthly forklift inspection's certificates of Eve, Lucas and Zoe expire within the month;
//! Victor, a viewer, never started.

use chrono::{DateTime, Duration, Utc};
use diesel_async::AsyncPgConnection;
use guild_kernel::{
    Actor, AttemptId, GlobalRole, PageRequest, QuizId, SectionId, TenantId, TenantRole, UserId,
};
use guild_learning::demo::DemoModule;
use uuid::Uuid;

/// Why the demo's history could not be written.
#[derive(Debug)]
pub struct DemoError(String);

impl std::fmt::Display for DemoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DemoError {}

impl From<guild_db::DbError> for DemoError {
    fn from(e: guild_db::DbError) -> Self {
        Self(e.to_string())
    }
}

fn fail(e: impl std::fmt::Display) -> DemoError {
    DemoError(e.to_string())
}

fn actor(tenant: TenantId, user: UserId, role: TenantRole) -> Actor {
    Actor {
        user_id: user,
        tenant_id: tenant,
        role,
        global_role: GlobalRole::Employee,
        grants: Vec::new(),
        subtree: Vec::new(),
        impersonating: false,
        api_key: None,
        request_id: None,
    }
}

/// The demo's admin, as the author of the demo modules.
fn admin_of(demo: &guild_tenancy::demo::DemoTenant) -> Option<Actor> {
    demo.members
        .iter()
        .find(|(_, _, role)| *role == TenantRole::Admin)
        .map(|(user, _, role)| actor(demo.tenant, *user, *role))
}

/// Creates, publishes and assigns the demo modules (`learning::demo`), before the other demos
/// that use them (the learning path, the quiz). False without a demo tenant.
pub async fn seed_modules(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> Result<bool, DemoError> {
    let Some(demo) = guild_tenancy::demo::demo_tenant(conn).await.map_err(fail)? else {
        return Ok(false);
    };
    let Some(admin) = admin_of(&demo) else {
        return Ok(false);
    };
    let groups: Vec<Uuid> = demo.groups.iter().map(|(id, _)| *id).collect();
    let made = guild_db::tenant_transaction(conn, demo.tenant, async |conn| {
        guild_learning::demo::seed_demo(conn, &admin, &groups, now)
            .await
            .map_err(fail)
    })
    .await?;
    Ok(!made.is_empty())
}

/// One thing a member did, `days` before the seed at `hour` (UTC).
#[derive(Debug, Clone, Copy)]
enum Step {
    /// Used Guild (a usage session of about twenty minutes).
    Visit,
    /// Opened a module (by index into the demo modules).
    Open(usize),
    /// Completed a section (module, section).
    Section(usize, usize),
    /// An attempt at the demo quiz: how many of its questions answered right (3 passes).
    Quiz(usize),
}

/// A member's history: their email and what they did (days ago, hour, step).
type Plan = (&'static str, &'static [(i64, i64, Step)]);

use Step::{Open, Quiz, Section, Visit};

/// The modules, by index: 0 fire safety (3 sections and the quiz), 1 data protection (3
/// sections), 2 customer complaints (2, optional), 3 the monthly forklift inspection (2).
const PLANS: [Plan; 7] = [
    (
        "employee@demo.guild.local",
        &[
            (33, 9, Section(0, 0)),
            (33, 10, Section(0, 1)),
            (32, 9, Section(0, 2)),
            (32, 10, Quiz(3)),
            (26, 14, Section(1, 0)),
            (25, 9, Section(1, 1)),
            (25, 10, Section(1, 2)),
            (24, 8, Section(3, 0)),
            (24, 9, Section(3, 1)),
            (19, 13, Visit),
            (12, 15, Visit),
            (6, 9, Open(2)),
            (2, 11, Visit),
        ],
    ),
    (
        "liam@demo.guild.local",
        &[
            (30, 9, Section(0, 0)),
            (29, 10, Section(0, 1)),
            (29, 11, Section(0, 2)),
            (29, 12, Quiz(1)),
            (27, 16, Quiz(3)),
            (20, 9, Visit),
            (5, 10, Section(1, 0)),
            (1, 9, Visit),
        ],
    ),
    (
        "mia@demo.guild.local",
        &[
            (20, 8, Section(0, 0)),
            (20, 9, Section(0, 1)),
            (19, 8, Section(0, 2)),
            (19, 9, Quiz(3)),
            (12, 14, Section(1, 0)),
            (11, 14, Section(1, 1)),
            (10, 14, Section(1, 2)),
            (4, 10, Visit),
            (3, 16, Visit),
        ],
    ),
    (
        "noah@demo.guild.local",
        &[
            (31, 13, Section(0, 0)),
            (30, 13, Section(0, 1)),
            (30, 14, Quiz(1)),
            (29, 9, Quiz(2)),
            (28, 15, Quiz(0)),
            (28, 16, Open(1)),
        ],
    ),
    (
        "ava@demo.guild.local",
        &[
            (34, 9, Section(0, 0)),
            (34, 10, Section(0, 1)),
            (33, 9, Section(0, 2)),
            (33, 10, Quiz(2)),
            (33, 11, Quiz(3)),
            (22, 9, Section(1, 0)),
            (21, 9, Section(1, 1)),
            (21, 10, Section(1, 2)),
            (15, 11, Section(2, 0)),
            (14, 11, Section(2, 1)),
            (7, 9, Visit),
            (1, 14, Visit),
        ],
    ),
    (
        "lucas@demo.guild.local",
        &[
            (27, 7, Section(3, 0)),
            (27, 8, Section(3, 1)),
            (16, 12, Visit),
            (9, 8, Section(0, 0)),
            (8, 8, Section(0, 1)),
            (8, 9, Section(0, 2)),
            (8, 10, Quiz(3)),
            (2, 8, Visit),
        ],
    ),
    (
        "zoe@demo.guild.local",
        &[
            (10, 7, Section(3, 0)),
            (10, 8, Section(3, 1)),
            (6, 13, Visit),
            (3, 9, Section(0, 0)),
            (2, 10, Open(2)),
            (1, 15, Visit),
        ],
    ),
];

/// Writes the history (see the module's note) once the demo modules and the demo quiz exist.
/// False without a demo tenant or its modules.
pub async fn seed_history(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> Result<bool, DemoError> {
    let Some(demo) = guild_tenancy::demo::demo_tenant(conn).await.map_err(fail)? else {
        return Ok(false);
    };
    let Some(admin) = admin_of(&demo) else {
        return Ok(false);
    };
    let tenant = demo.tenant;
    let modules = guild_db::tenant_transaction(conn, tenant, async |conn| {
        guild_learning::demo::demo_modules(conn, tenant)
            .await
            .map_err(fail)
    })
    .await?;
    if modules.len() < 4 {
        return Ok(false);
    }
    let quiz: Option<Uuid> = guild_db::tenant_transaction(conn, tenant, async |conn| {
        let page = PageRequest {
            limit: Some(1),
            cursor: None,
        };
        let quizzes = guild_assessment::quizzes::list(conn, &admin, modules[0].id, &page)
            .await
            .map_err(fail)?;
        Ok::<_, DemoError>(quizzes.data.first().map(|q| q.quiz.id))
    })
    .await?;
    let midnight = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc();
    for (email, steps) in PLANS {
        let Some(user) = demo.member(email) else {
            continue;
        };
        let member = actor(tenant, user, TenantRole::Employee);
        for (days, hour, step) in steps {
            let at = midnight - Duration::days(*days) + Duration::hours(*hour);
            // Each step in its own transaction, as the requests it stands for.
            guild_db::tenant_transaction(conn, tenant, async |conn| {
                act(conn, &member, &modules, quiz, *step, at).await
            })
            .await?;
        }
    }
    guild_db::tenant_transaction(conn, tenant, async |conn| {
        guild_gamification::demo::rebuild_period_totals(conn, tenant)
            .await
            .map_err(fail)
    })
    .await?;
    Ok(true)
}

/// One step of a member's history at `at`: a usage session around it, then what they did, and
/// the XP it earned dated `at`.
async fn act(
    conn: &mut AsyncPgConnection,
    member: &Actor,
    modules: &[DemoModule],
    quiz: Option<Uuid>,
    step: Step,
    at: DateTime<Utc>,
) -> Result<(), DemoError> {
    let (tenant, user) = (member.tenant_id, member.user_id);
    for minutes in [0, 10, 20] {
        guild_notifications::sessions::ping(conn, tenant, user, at + Duration::minutes(minutes))
            .await
            .map_err(fail)?;
    }
    let at = at + Duration::minutes(5);
    match step {
        Visit => {}
        Open(module) => {
            let module = &modules[module];
            let row = guild_learning::modules::get(conn, member, module.id)
                .await
                .map_err(fail)?
                .row;
            guild_learning::versions::record_access(conn, member, &row, at)
                .await
                .map_err(fail)?;
        }
        Section(module, section) => {
            let module = &modules[module];
            let progress = guild_progress::completion::complete_section(
                conn,
                member,
                module.id,
                SectionId(module.sections[section]),
                at,
            )
            .await
            .map_err(fail)?;
            if progress.completed_at.is_some() {
                guild_gamification::demo::award_at(
                    conn,
                    tenant,
                    user,
                    "MODULE_COMPLETED",
                    module.id,
                    at,
                )
                .await
                .map_err(fail)?;
            }
        }
        Quiz(right) => {
            let Some(quiz) = quiz else {
                return Ok(());
            };
            let started = guild_assessment::attempts::start(conn, member, QuizId(quiz), at)
                .await
                .map_err(fail)?;
            let (guild_assessment::attempts::Started::New(view)
            | guild_assessment::attempts::Started::Resumed(view)) = started;
            let attempt = view.attempt.id;
            let answers = guild_assessment::demo::answers(conn, tenant, attempt, right)
                .await
                .map_err(fail)?;
            let done = at + Duration::minutes(6);
            let view =
                guild_progress::attempts::submit(conn, member, AttemptId(attempt), &answers, done)
                    .await
                    .map_err(fail)?;
            if view.attempt.score_percent.is_some_and(|s| s >= 100.0) {
                guild_gamification::demo::award_at(
                    conn,
                    tenant,
                    user,
                    "QUIZ_HIGH_SCORE",
                    quiz,
                    done,
                )
                .await
                .map_err(fail)?;
            }
            let module = modules[0].id;
            if guild_progress::completion::is_completed(conn, tenant, user, module)
                .await
                .map_err(fail)?
            {
                guild_gamification::demo::award_at(
                    conn,
                    tenant,
                    user,
                    "MODULE_COMPLETED",
                    module,
                    done,
                )
                .await
                .map_err(fail)?;
            }
        }
    }
    Ok(())
}
