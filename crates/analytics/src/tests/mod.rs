//! Domain tests of the read-side views on a real database, on a fixture whose expected figures
//! are worked out by hand (see [`World`]).

mod dashboard;
mod insights;
mod members;

use chrono::{DateTime, TimeZone, Utc};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_kernel::{Actor, TenantId, UserId};
use guild_testkit::TestDb;
use uuid::Uuid;

/// Friday 11 December 2026, 09:00 UTC.
pub(crate) fn now() -> DateTime<Utc> {
    at("2026-12-11T09:00:00Z")
}

pub(crate) fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|e| panic!("{rfc3339}: {e}"))
}

pub(crate) fn day(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
}

pub(crate) async fn exec(conn: &mut AsyncPgConnection, sql: &str) {
    diesel::sql_query(sql)
        .execute(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// One tenant:
///
/// - `boss` (EMPLOYEE, VIEW_MANAGER_DASHBOARD, VIEW_GROUP_PROGRESS and VIEW_ANALYTICS over the
///   manager subtree)
///   manages `ann` and `bob`; `ann` manages `carl`. `pete` (same grants) manages `dave`.
///   `lead` holds the same three scoped to the group Support.
/// - Groups: Sales (`ann`, `bob`, `dave`, joined 1 Nov), Support (`carl`, joined 1 Nov).
/// - Modules (published unless said): Safety (quiz "Safety quiz"), assigned to Sales as
///   mandatory with a 10-day deadline on 1 Nov (due 11 Nov); Privacy, assigned to Sales
///   (optional, no deadline) and to Support (mandatory, 100 days: due 9 Feb); Draft (DRAFT),
///   assigned to Sales as mandatory with a 1-day deadline.
/// - `ann`: completed Privacy on 20 Dec 2025 (certificate expiring 25 Dec 2026) and Safety on
///   8 Dec (section at 09:00, a passed attempt at 09:30, the completion at 10:00); XP: 50 on
///   20 Nov, +40 by hand on 2 Dec, −15 by hand on 3 Dec, 100 on 8 Dec, −30 spent on 9 Dec; a
///   usage session from 9 Dec 23:50 to 10 Dec 00:20.
/// - `bob` (joined 1 Oct): three failed attempts at the Safety quiz on 2 Nov (09:00, 09:10,
///   09:20), nothing else.
/// - `carl`: two failed attempts at the Safety quiz on 5 Dec; a Privacy certificate that expired
///   on 1 Dec; 75 XP on 10 Dec; a usage session on 10 Dec 08:00–08:30.
/// - `dave`: completed Safety on 9 Dec, 100 XP that day.
pub(crate) struct World {
    pub(crate) tenant: Uuid,
    pub(crate) boss: Uuid,
    pub(crate) pete: Uuid,
    pub(crate) lead: Uuid,
    pub(crate) ann: Uuid,
    pub(crate) bob: Uuid,
    pub(crate) carl: Uuid,
    pub(crate) dave: Uuid,
    pub(crate) sales: Uuid,
    pub(crate) support: Uuid,
    pub(crate) safety: Uuid,
    pub(crate) privacy: Uuid,
    pub(crate) quiz: Uuid,
}

impl World {
    pub(crate) async fn new(db: &TestDb) -> Self {
        let mut conn = db.conn().await;
        let tenant = Uuid::now_v7();
        exec(
            &mut conn,
            &format!(
                "INSERT INTO tenants (id, name, slug) VALUES ('{tenant}', 'T', 't{}')",
                tenant.simple()
            ),
        )
        .await;
        let mut person = async |name: &str, joined: &str, manager: Option<Uuid>| {
            let user = Uuid::now_v7();
            exec(
                &mut conn,
                &format!(
                    "INSERT INTO users (id, email, name) VALUES ('{user}', '{}-{user}@x.example.com', '{name}')",
                    name.to_lowercase()
                ),
            )
            .await;
            let manager = manager.map_or("NULL".to_owned(), |m| format!("'{m}'"));
            exec(
                &mut conn,
                &format!(
                    "INSERT INTO memberships (tenant_id, user_id, role, status, manager_id, created_at) \
                     VALUES ('{tenant}', '{user}', 'EMPLOYEE', 'ACTIVE', {manager}, '{joined}')"
                ),
            )
            .await;
            user
        };
        let boss = person("Boss", "2026-09-01T00:00:00Z", None).await;
        let pete = person("Pete", "2026-09-01T00:00:00Z", None).await;
        let lead = person("Lead", "2026-09-01T00:00:00Z", None).await;
        let ann = person("Ann", "2026-10-01T00:00:00Z", Some(boss)).await;
        let bob = person("Bob", "2026-10-01T00:00:00Z", Some(boss)).await;
        let carl = person("Carl", "2026-10-01T00:00:00Z", Some(ann)).await;
        let dave = person("Dave", "2026-10-01T00:00:00Z", Some(pete)).await;
        let (sales, support) = (Uuid::now_v7(), Uuid::now_v7());
        let (safety, privacy, draft, quiz) = (
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
        );
        let section = Uuid::now_v7();
        let t = tenant;
        let mut sql = vec![
            format!(
                "INSERT INTO groups (tenant_id, id, name) VALUES ('{t}', '{sales}', 'Sales'), ('{t}', '{support}', 'Support')"
            ),
            format!(
                "INSERT INTO modules (tenant_id, id, title, status, created_by) VALUES \
                 ('{t}', '{safety}', 'Safety', 'PUBLISHED', '{boss}'), \
                 ('{t}', '{privacy}', 'Privacy', 'PUBLISHED', '{boss}'), \
                 ('{t}', '{draft}', 'Draft', 'DRAFT', '{boss}')"
            ),
            format!(
                "INSERT INTO sections (tenant_id, id, module_id, title, sort_order) VALUES ('{t}', '{section}', '{safety}', 'Intro', 0)"
            ),
            format!(
                "INSERT INTO quizzes (tenant_id, id, module_id, title, created_by) VALUES ('{t}', '{quiz}', '{safety}', 'Safety quiz', '{boss}')"
            ),
            format!(
                "INSERT INTO module_groups (tenant_id, module_id, group_id, deadline_days, is_mandatory, assigned_at) VALUES \
                 ('{t}', '{safety}', '{sales}', 10, true, '2026-11-01T00:00:00Z'), \
                 ('{t}', '{privacy}', '{sales}', NULL, false, '2026-11-01T00:00:00Z'), \
                 ('{t}', '{privacy}', '{support}', 100, true, '2026-11-01T00:00:00Z'), \
                 ('{t}', '{draft}', '{sales}', 1, true, '2026-11-01T00:00:00Z')"
            ),
            format!(
                "INSERT INTO user_groups (tenant_id, group_id, user_id, created_at) VALUES \
                 ('{t}', '{sales}', '{ann}', '2026-11-01T00:00:00Z'), \
                 ('{t}', '{sales}', '{bob}', '2026-11-01T00:00:00Z'), \
                 ('{t}', '{sales}', '{dave}', '2026-11-01T00:00:00Z'), \
                 ('{t}', '{support}', '{carl}', '2026-11-01T00:00:00Z')"
            ),
        ];
        for (user, scope) in [
            (boss, r#"{"manager_subtree": true}"#.to_owned()),
            (pete, r#"{"manager_subtree": true}"#.to_owned()),
            (lead, format!(r#"{{"group_ids": ["{support}"]}}"#)),
        ] {
            sql.push(format!(
                "INSERT INTO user_permissions (tenant_id, user_id, permission, scope) VALUES \
                 ('{t}', '{user}', 'VIEW_MANAGER_DASHBOARD', '{scope}'), \
                 ('{t}', '{user}', 'VIEW_GROUP_PROGRESS', '{scope}'), \
                 ('{t}', '{user}', 'VIEW_ANALYTICS', '{scope}')"
            ));
        }
        // Ann.
        let (ann_privacy, ann_safety) = (Uuid::now_v7(), Uuid::now_v7());
        sql.extend([
            format!(
                "INSERT INTO module_completions (tenant_id, id, user_id, module_id, completed_at, source) VALUES \
                 ('{t}', '{ann_privacy}', '{ann}', '{privacy}', '2025-12-20T10:00:00Z', 'PROGRESS'), \
                 ('{t}', '{ann_safety}', '{ann}', '{safety}', '2026-12-08T10:00:00Z', 'PROGRESS'), \
                 ('{t}', '{}', '{dave}', '{safety}', '2026-12-09T10:00:00Z', 'PROGRESS')",
                Uuid::now_v7()
            ),
            format!(
                "INSERT INTO certificates (tenant_id, id, code, user_id, module_id, completion_id, holder_name, module_title, issued_at, expires_at) VALUES \
                 ('{t}', '{}', 'ANN-PRIVACY-{code}', '{ann}', '{privacy}', '{ann_privacy}', 'Ann', 'Privacy', '2025-12-20T10:00:00Z', '2026-12-25T10:00:00Z'), \
                 ('{t}', '{}', 'ANN-SAFETY-{code}', '{ann}', '{safety}', '{ann_safety}', 'Ann', 'Safety', '2026-12-08T10:00:00Z', '2027-12-08T10:00:00Z'), \
                 ('{t}', '{}', 'CARL-PRIVACY-{code}', '{carl}', '{privacy}', NULL, 'Carl', 'Privacy', '2025-12-01T10:00:00Z', '2026-12-01T10:00:00Z')",
                Uuid::now_v7(),
                Uuid::now_v7(),
                Uuid::now_v7(),
                code = tenant.simple()
            ),
            format!(
                "INSERT INTO section_completions (tenant_id, id, user_id, module_id, section_id, completed_at) VALUES \
                 ('{t}', '{}', '{ann}', '{safety}', '{section}', '2026-12-08T09:00:00Z')",
                Uuid::now_v7()
            ),
            format!(
                "INSERT INTO usage_sessions (tenant_id, id, user_id, started_at, last_ping_at, latest) VALUES \
                 ('{t}', '{}', '{ann}', '2026-12-09T23:50:00Z', '2026-12-10T00:20:00Z', true), \
                 ('{t}', '{}', '{carl}', '2026-12-10T08:00:00Z', '2026-12-10T08:30:00Z', true)",
                Uuid::now_v7(),
                Uuid::now_v7()
            ),
            format!(
                "INSERT INTO xp_transactions (tenant_id, id, user_id, kind, amount, source, created_at) VALUES \
                 ('{t}', '{}', '{ann}', 'AWARD', 50, 'MODULE_COMPLETED', '2026-11-20T10:00:00Z'), \
                 ('{t}', '{}', '{ann}', 'MANUAL', 40, 'MANUAL', '2026-12-02T10:00:00Z'), \
                 ('{t}', '{}', '{ann}', 'MANUAL', -15, 'MANUAL', '2026-12-03T10:00:00Z'), \
                 ('{t}', '{}', '{ann}', 'AWARD', 100, 'MODULE_COMPLETED', '2026-12-08T10:00:00Z'), \
                 ('{t}', '{}', '{ann}', 'SPEND', -30, 'REDEMPTION', '2026-12-09T10:00:00Z'), \
                 ('{t}', '{}', '{carl}', 'AWARD', 75, 'EVENT_ATTENDED', '2026-12-10T10:00:00Z'), \
                 ('{t}', '{}', '{dave}', 'AWARD', 100, 'MODULE_COMPLETED', '2026-12-09T10:00:00Z')",
                Uuid::now_v7(),
                Uuid::now_v7(),
                Uuid::now_v7(),
                Uuid::now_v7(),
                Uuid::now_v7(),
                Uuid::now_v7(),
                Uuid::now_v7()
            ),
            format!(
                "INSERT INTO user_xp_balances (tenant_id, user_id, lifetime_xp, total_xp, held_xp, rank) VALUES \
                 ('{t}', '{ann}', 190, 145, 0, 'VAJENEC')"
            ),
        ]);
        let attempt = |user: Uuid, number: i32, started: &str, passed: bool| {
            let score = if passed { 90 } else { 40 };
            format!(
                "INSERT INTO quiz_attempts (tenant_id, id, quiz_id, user_id, number, status, started_at, submitted_at, \
                   score_percent, passed, question_order, questions) VALUES \
                 ('{t}', '{}', '{quiz}', '{user}', {number}, 'GRADED', '{started}', '{started}', {score}, {passed}, '[]', '[]')",
                Uuid::now_v7()
            )
        };
        sql.extend([
            attempt(ann, 1, "2026-12-08T09:30:00Z", true),
            attempt(bob, 1, "2026-11-02T09:00:00Z", false),
            attempt(bob, 2, "2026-11-02T09:10:00Z", false),
            attempt(bob, 3, "2026-11-02T09:20:00Z", false),
            attempt(carl, 1, "2026-12-05T09:00:00Z", false),
            attempt(carl, 2, "2026-12-05T09:10:00Z", false),
        ]);
        for s in sql {
            exec(&mut conn, &s).await;
        }
        Self {
            tenant,
            boss,
            pete,
            lead,
            ann,
            bob,
            carl,
            dave,
            sales,
            support,
            safety,
            privacy,
            quiz,
        }
    }

    /// `user` as a request would load them: role, grants and manager subtree.
    pub(crate) async fn actor(&self, db: &TestDb, user: Uuid) -> Actor {
        let mut conn = db.conn().await;
        guild_tenancy::actor::load_actor(&mut conn, UserId(user), TenantId(self.tenant))
            .await
            .expect("load the actor")
    }
}
