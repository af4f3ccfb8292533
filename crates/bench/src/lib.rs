//! The benchmark data set, generated inside PostgreSQL.
//!
//! [`Plan::standard`] is one large tenant (`bench`: 10,000 members in 50 groups, 200 modules of
//! 20 sections with a 10-question quiz on every other module, 1,000,000 section completions,
//! about 200,000 quiz attempts, 1,000,000 XP ledger rows, 100 rewards) and 100 small tenants.
//! Every row is produced by set-based `INSERT … SELECT … FROM generate_series(…)` statements, so
//! nothing crosses the wire but the SQL, and every value is a function of the row's indexes and
//! the seed: ids are `md5(seed/tenant/kind/index)` and content is arithmetic on the indexes, so
//! the same plan loads the same data. Times are offsets from the loading transaction's `now()`.
//!
//! The data is consistent with what the application would have written itself: balances equal
//! their ledger, period totals equal the earned rows, completed modules have all sections done
//! and a passed quiz, certificates belong to completions, and redemptions match their ledger
//! rows. Deadlines fall two months ahead and certificates expire in more than half a year, so
//! the worker's reminder and expiry jobs have nothing to do while a benchmark runs.
//!
//! What each member of a tenant has (per group `g = i mod groups`, the group's `k`-th module):
//! - modules `k < completed`: every section, a failed then a passed attempt, a completion and
//!   a certificate;
//! - modules `completed ≤ k < completed + started`: half of the sections and a failed attempt;
//! - later assigned modules: a failed attempt and an open one (`IN_PROGRESS`), which the quiz
//!   submission benchmark submits.
//!
//! The manager dashboard's scenario: in the large tenant, `user6` (an employee) manages
//! [`TenantPlan::subtree_managers`] managers (users 7 onwards), so about 1,000 members are in
//! their subtree, and holds VIEW_MANAGER_DASHBOARD over it; those members are also in
//! [`TenantPlan::cohorts`] cohort groups, each assigned every published module (half mandatory,
//! due in two months), so the dashboard's heatmap is 100 groups (the members' teams and
//! cohorts) by every published module. The cohort assignments add no activity.

use std::fmt::Write as _;
use std::time::Instant;

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use serde::Serialize;

/// The password of every generated account.
pub const BENCH_PASSWORD: &str = "guild-bench-password";

/// The slug of the large tenant.
pub const BENCH_SLUG: &str = "bench";

/// Why loading failed.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The database refused a statement.
    #[error("{step}: {source}")]
    Database {
        /// The step that failed.
        step: String,
        /// The database's error.
        #[source]
        source: diesel::result::Error,
    },
    /// Beginning or ending a transaction failed.
    #[error("transaction: {0}")]
    Transaction(#[from] diesel::result::Error),
    /// A plan that cannot produce consistent data.
    #[error("invalid plan: {0}")]
    InvalidPlan(String),
}

/// The shape of one tenant's data.
#[derive(Debug, Clone, Serialize)]
pub struct TenantPlan {
    /// The tenant's slug; accounts are `user{i}@{domain}`.
    pub slug: String,
    /// The e-mail domain of its accounts.
    pub domain: String,
    /// Members (`user1` is the owner, `user2`–`user3` admins, `user4`–`user5` HR).
    pub users: u32,
    /// Groups; every member is in group `i mod groups`, every tenth member in a second one.
    pub groups: u32,
    /// Modules; the last twentieth are drafts.
    pub modules: u32,
    /// Sections per module.
    pub sections: u32,
    /// Questions of the quiz on every even-numbered module.
    pub questions: u32,
    /// Modules assigned to each group (half of them mandatory, with a deadline).
    pub modules_per_group: u32,
    /// Assigned modules each member has completed.
    pub completed: u32,
    /// Assigned modules each member has half done.
    pub started: u32,
    /// XP ledger rows per member.
    pub xp_rows: u32,
    /// Rewards; reward 1 is cheap, unlimited and without approval (the contended one).
    pub rewards: u32,
    /// Managers (users 7 onwards) reporting to `user6`, each with their own reports: `user6`'s
    /// subtree; 0 for none. At most the tenant's managers (one per 100 members) after `user7`.
    pub subtree_managers: u32,
    /// Cohort groups holding `user6`'s subtree (member `i` in cohort `(i / 100) mod cohorts`),
    /// each assigned every published module; 0 for none.
    pub cohorts: u32,
}

/// Everything to load.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Changes every id (and certificate code).
    pub seed: u64,
    /// The large tenant.
    pub large: TenantPlan,
    /// How many small tenants.
    pub small_tenants: u32,
    /// The shape of each small tenant (its slug and domain are numbered).
    pub small: TenantPlan,
}

impl Plan {
    /// The data set of the benchmark report.
    pub fn standard(seed: u64) -> Self {
        Self::scaled(seed, 1.0)
    }

    /// The standard plan with members, groups and small tenants multiplied by `scale` (content
    /// and per-member activity stay), e.g. 0.01 for a smoke test.
    pub fn scaled(seed: u64, scale: f64) -> Self {
        let n = |full: u32, min: u32| ((f64::from(full) * scale).round() as u32).max(min);
        Self {
            seed,
            large: TenantPlan {
                slug: BENCH_SLUG.to_owned(),
                domain: "bench.example.com".to_owned(),
                users: n(10_000, 10),
                groups: n(50, 2),
                modules: 200,
                sections: 20,
                questions: 10,
                modules_per_group: 20,
                completed: 4,
                started: 2,
                xp_rows: 100,
                rewards: 100,
                subtree_managers: 9,
                cohorts: 50,
            },
            small_tenants: n(100, 1),
            small: TenantPlan {
                slug: "bench-small".to_owned(),
                domain: "small.bench.example.com".to_owned(),
                users: 20,
                groups: 2,
                modules: 6,
                sections: 5,
                questions: 5,
                modules_per_group: 4,
                completed: 1,
                started: 1,
                xp_rows: 20,
                rewards: 5,
                subtree_managers: 0,
                cohorts: 0,
            },
        }
    }

    fn tenants(&self) -> impl Iterator<Item = (u32, TenantPlan)> + '_ {
        std::iter::once((0, self.large.clone())).chain((1..=self.small_tenants).map(|t| {
            let mut plan = self.small.clone();
            plan.slug = format!("{}-{t}", self.small.slug);
            plan.domain = format!("t{t}.{}", self.small.domain);
            (t, plan)
        }))
    }
}

/// What was loaded.
#[derive(Debug, Clone, Serialize)]
pub struct Loaded {
    /// Seconds spent inserting (all tenants).
    pub load_seconds: f64,
    /// Seconds spent on `VACUUM (ANALYZE)` afterwards.
    pub vacuum_seconds: f64,
    /// Rows of the large tenant, per table.
    pub large_tenant_rows: Vec<(String, i64)>,
    /// Tenants created.
    pub tenants: u32,
}

/// The outcome of [`load`].
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The data set was created.
    Loaded(Loaded),
    /// A tenant with the large tenant's slug exists; nothing was changed.
    AlreadyLoaded,
}

/// Loads `plan` into a migrated database, one transaction per tenant, then vacuums and
/// analyzes. `password_hash` is stored for every account (hash [`BENCH_PASSWORD`] once).
pub async fn load(
    conn: &mut AsyncPgConnection,
    plan: &Plan,
    password_hash: &str,
) -> Result<Outcome, BenchError> {
    validate(&plan.large)?;
    validate(&plan.small)?;
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let existing: Count = diesel::sql_query("SELECT count(*) AS n FROM tenants WHERE slug = $1")
        .bind::<Text, _>(&plan.large.slug)
        .get_result(conn)
        .await
        .map_err(|source| BenchError::Database {
            step: "look for an earlier load".into(),
            source,
        })?;
    if existing.n > 0 {
        return Ok(Outcome::AlreadyLoaded);
    }

    let started = Instant::now();
    let mut tenants = 0;
    for (index, tenant) in plan.tenants() {
        let steps = tenant_sql(plan.seed, index, &tenant, password_hash);
        conn.transaction::<_, BenchError, _>(async |conn| {
            for (step, sql) in &steps {
                let at = Instant::now();
                conn.batch_execute(sql)
                    .await
                    .map_err(|source| BenchError::Database {
                        step: format!("{} ({step})", tenant.slug),
                        source,
                    })?;
                if index == 0 {
                    tracing::info!(
                        step,
                        ms = at.elapsed().as_millis() as u64,
                        "bench data: loaded"
                    );
                }
            }
            Ok(())
        })
        .await?;
        tenants += 1;
    }
    let load_seconds = started.elapsed().as_secs_f64();

    let at = Instant::now();
    conn.batch_execute("VACUUM (ANALYZE)")
        .await
        .map_err(|source| BenchError::Database {
            step: "vacuum".into(),
            source,
        })?;
    let vacuum_seconds = at.elapsed().as_secs_f64();

    let tid = id(plan.seed, 0, "tenant", "0");
    let mut large_tenant_rows = Vec::new();
    for table in COUNTED_TABLES {
        let count: Count = diesel::sql_query(format!(
            "SELECT count(*) AS n FROM {table} WHERE tenant_id = {tid}"
        ))
        .get_result(conn)
        .await
        .map_err(|source| BenchError::Database {
            step: format!("count {table}"),
            source,
        })?;
        large_tenant_rows.push(((*table).to_owned(), count.n));
    }
    Ok(Outcome::Loaded(Loaded {
        load_seconds,
        vacuum_seconds,
        large_tenant_rows,
        tenants,
    }))
}

/// The tables [`Loaded::large_tenant_rows`] counts.
pub const COUNTED_TABLES: &[&str] = &[
    "memberships",
    "groups",
    "user_groups",
    "modules",
    "sections",
    "module_groups",
    "quizzes",
    "quiz_questions",
    "section_completions",
    "module_completions",
    "certificates",
    "quiz_attempts",
    "xp_transactions",
    "user_xp_balances",
    "xp_period_totals",
    "rewards",
    "reward_redemptions",
];

fn validate(t: &TenantPlan) -> Result<(), BenchError> {
    let published = published(t);
    let problem = if t.users < 6 {
        Some("at least 6 users")
    } else if t.groups == 0 || t.groups > t.users {
        Some("between 1 group and one per user")
    } else if t.sections < 2 || t.questions == 0 {
        Some("at least 2 sections and 1 question")
    } else if t.modules_per_group == 0 || t.modules_per_group > published {
        Some("1 to all published modules per group")
    } else if t.completed + t.started > t.modules_per_group {
        Some("completed + started modules within the assigned ones")
    } else if t.rewards < 2 {
        Some("at least 2 rewards")
    } else if t.xp_rows < 20 {
        Some("at least 20 ledger rows per member")
    } else {
        None
    };
    match problem {
        Some(p) => Err(BenchError::InvalidPlan(format!("{}: {p}", t.slug))),
        None => Ok(()),
    }
}

fn published(t: &TenantPlan) -> u32 {
    t.modules - t.modules / 20
}

/// A deterministic uuid: `md5('seed/tenant/kind/' || key)` where `key` is a SQL expression.
fn id(seed: u64, tenant: u32, kind: &str, key: &str) -> String {
    format!("md5('{seed}/{tenant}/{kind}/' || {key})::uuid")
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// The statements that load one tenant, labelled.
fn tenant_sql(seed: u64, t: u32, p: &TenantPlan, password_hash: &str) -> Vec<(String, String)> {
    let tid = id(seed, t, "tenant", "0");
    let uid = |e: &str| id(seed, t, "user", e);
    let gid = |e: &str| id(seed, t, "group", e);
    let mid = |e: &str| id(seed, t, "module", e);
    let sid = |m: &str, s: &str| id(seed, t, "section", &format!("{m} || '/' || {s}"));
    let qid = |e: &str| id(seed, t, "quiz", e);
    let rid = |e: &str| id(seed, t, "reward", e);
    let key = |kind: &str, parts: &[&str]| id(seed, t, kind, &parts.join(" || '/' || "));
    let (n, g, m_all, s_all, q_all) = (p.users, p.groups, p.modules, p.sections, p.questions);
    let pubm = published(p);
    let k_all = p.modules_per_group;
    let (done, started) = (p.completed, p.started);
    // Group g's k-th module is (g * pubm / groups + k * step) mod pubm + 1: groups start at
    // evenly spread offsets and step through all published modules (step coprime with pubm, so
    // a group's modules are distinct).
    let mut step = (pubm / k_all).max(1);
    while gcd(step, pubm) != 1 {
        step += 1;
    }
    let offset = format!("(g * {pubm} / {g})");
    let offset_i = format!("((i % {g}) * {pubm} / {g})");
    let managers = (n / 100).max(1);
    // user6 manages users 7..=6 + sub, as many of them as are managers.
    let sub = p.subtree_managers.min(managers.saturating_sub(7));
    let last_sub = 6 + sub;
    let in_subtree = format!(
        "((i > 6 AND i <= {last_sub}) OR (i > {managers} AND 1 + i % {managers} BETWEEN 6 AND {last_sub}))"
    );
    let categories = (m_all / 20).max(1);
    let slug = &p.slug;
    let domain = &p.domain;
    let pw = password_hash.replace('\'', "''");
    let xp = p.xp_rows;
    let reward_count = p.rewards;
    let name = if t == 0 {
        "Bench Corporation".to_owned()
    } else {
        format!("Small company {t}")
    };
    let admin = uid("1");

    let mut out: Vec<(String, String)> = Vec::new();
    let mut push = |label: &str, sql: String| out.push((label.to_owned(), sql));

    push(
        "tenant",
        format!(
            "INSERT INTO tenants (id, name, slug, plan, created_at, updated_at) \
             VALUES ({tid}, '{name}', '{slug}', 'PRO', now() - interval '400 days', now());\n\
             INSERT INTO gamification_settings (tenant_id) VALUES ({tid});"
        ),
    );
    push(
        "users",
        format!(
            "INSERT INTO users (id, email, name, password_hash, password_changed_at, created_at, updated_at) \
             SELECT {u}, 'user' || i || '@{domain}', 'Member ' || i, '{pw}', \
                    now() - interval '300 days', now() - interval '300 days', now() - interval '300 days' \
             FROM generate_series(1, {n}) i;\n\
             INSERT INTO memberships (tenant_id, user_id, role, manager_id, created_at, updated_at) \
             SELECT {tid}, {u}, \
                    CASE WHEN i = 1 THEN 'OWNER' WHEN i <= 3 THEN 'ADMIN' WHEN i <= 5 THEN 'HR' ELSE 'EMPLOYEE' END, \
                    CASE WHEN i > {managers} THEN {mgr} WHEN i > 6 AND i <= {last_sub} THEN {director} \
                         WHEN i > 1 THEN {admin} END, \
                    now() - interval '300 days', now() - interval '300 days' \
             FROM generate_series(1, {n}) i;",
            u = uid("i"),
            mgr = uid(&format!("(1 + i % {managers})")),
            director = uid("6"),
        ),
    );
    push(
        "groups",
        format!(
            "INSERT INTO groups (tenant_id, id, name, created_at, updated_at) \
             SELECT {tid}, {gg}, 'Team ' || g, now() - interval '350 days', now() - interval '350 days' \
             FROM generate_series(0, {g1}) g;\n\
             INSERT INTO user_groups (tenant_id, group_id, user_id, created_at) \
             SELECT {tid}, {gi}, {u}, now() - interval '300 days' FROM generate_series(1, {n}) i \
             UNION ALL \
             SELECT {tid}, {gi10}, {u}, now() - interval '200 days' FROM generate_series(1, {n}) i \
             WHERE i % 10 = 0 AND (i / 10) % {g} <> i % {g};",
            gg = gid("g"),
            g1 = g - 1,
            gi = gid(&format!("(i % {g})")),
            gi10 = gid(&format!("((i / 10) % {g})")),
            u = uid("i"),
        ),
    );
    push(
        "modules",
        format!(
            "INSERT INTO module_categories (tenant_id, id, name, sort_order, created_at) \
             SELECT {tid}, {cid}, 'Category ' || c, c, now() - interval '400 days' \
             FROM generate_series(0, {c1}) c;\n\
             INSERT INTO modules (tenant_id, id, title, description, status, difficulty, category_id, \
                                  estimated_minutes, validity_months, created_by, revision, published_at, \
                                  created_at, updated_at, version, content_changed_at) \
             SELECT {tid}, {mm}, \
                    'Module ' || m || ': ' || (ARRAY['Safety', 'Compliance', 'Onboarding', 'Leadership', \
                        'Security', 'Quality', 'Sales', 'Support'])[1 + m % 8] || ' essentials', \
                    repeat('What every colleague needs to know about topic ' || m || '. ', 8), \
                    CASE WHEN m <= {pubm} THEN 'PUBLISHED' ELSE 'DRAFT' END, \
                    (ARRAY['BEGINNER', 'INTERMEDIATE', 'ADVANCED'])[1 + m % 3], \
                    {cm}, 15 + m % 46, CASE WHEN m % 3 = 0 THEN 12 END, {admin}, 1, \
                    CASE WHEN m <= {pubm} THEN now() - interval '200 days' END, \
                    now() - interval '250 days', now() - interval '200 days', \
                    CASE WHEN m <= {pubm} THEN 1 ELSE 0 END, now() - interval '200 days' \
             FROM generate_series(1, {m_all}) m;\n\
             INSERT INTO module_changelog (tenant_id, module_id, version, summary, kind, published_by, published_at) \
             SELECT {tid}, {mm}, 1, 'First version', 'MATERIAL', {admin}, now() - interval '200 days' \
             FROM generate_series(1, {pubm}) m;",
            cid = id(seed, t, "category", "c"),
            c1 = categories - 1,
            mm = mid("m"),
            cm = id(seed, t, "category", &format!("(m % {categories})")),
        ),
    );
    push(
        "sections",
        format!(
            "INSERT INTO sections (tenant_id, id, module_id, title, kind, content_html, sort_order, \
                                   created_at, updated_at) \
             SELECT {tid}, {ss}, {mm}, 'Part ' || (s + 1) || ' of module ' || m, 'TEXT', \
                    repeat('<p>Part ' || (s + 1) || ' explains one step of the procedure, with an \
                            example and a short checklist to follow at work.</p>', 12), \
                    s, now() - interval '250 days', now() - interval '200 days' \
             FROM generate_series(1, {m_all}) m, generate_series(0, {s1}) s;",
            ss = sid("m", "s"),
            mm = mid("m"),
            s1 = s_all - 1,
        ),
    );
    push(
        "quizzes",
        format!(
            "INSERT INTO quizzes (tenant_id, id, module_id, title, passing_score_percent, created_by, \
                                  created_at, updated_at) \
             SELECT {tid}, {qq}, {mm}, 'Check: module ' || m, 70, {admin}, \
                    now() - interval '250 days', now() - interval '200 days' \
             FROM generate_series(2, {m_all}, 2) m;\n\
             INSERT INTO quiz_questions (tenant_id, id, quiz_id, kind, prompt, options, points, sort_order, \
                                         created_at, updated_at) \
             SELECT {tid}, {qn}, {qq}, \
                    CASE q % 3 WHEN 0 THEN 'SINGLE_CHOICE' WHEN 1 THEN 'MULTIPLE_CHOICE' ELSE 'TRUE_FALSE' END, \
                    'Question ' || (q + 1) || ' about module ' || m || '?', \
                    (CASE q % 3 \
                      WHEN 0 THEN '[{{\"id\": \"a\", \"text\": \"The right answer\", \"correct\": true}}, \
                                    {{\"id\": \"b\", \"text\": \"A wrong answer\", \"correct\": false}}, \
                                    {{\"id\": \"c\", \"text\": \"Another wrong answer\", \"correct\": false}}, \
                                    {{\"id\": \"d\", \"text\": \"None of these\", \"correct\": false}}]' \
                      WHEN 1 THEN '[{{\"id\": \"a\", \"text\": \"Right\", \"correct\": true}}, \
                                    {{\"id\": \"b\", \"text\": \"Also right\", \"correct\": true}}, \
                                    {{\"id\": \"c\", \"text\": \"Wrong\", \"correct\": false}}, \
                                    {{\"id\": \"d\", \"text\": \"Also wrong\", \"correct\": false}}]' \
                      ELSE '[{{\"id\": \"true\", \"text\": \"True\", \"correct\": true}}, \
                             {{\"id\": \"false\", \"text\": \"False\", \"correct\": false}}]' END)::jsonb, \
                    1, q, now() - interval '250 days', now() - interval '200 days' \
             FROM generate_series(2, {m_all}, 2) m, generate_series(0, {q1}) q;",
            qq = qid("m"),
            mm = mid("m"),
            qn = key("question", &["m", "q"]),
            q1 = q_all - 1,
        ),
    );
    // Assignments start five days ago with 60- or 90-day deadlines: due in two months.
    push(
        "assignments",
        format!(
            "INSERT INTO module_groups (tenant_id, module_id, group_id, deadline_days, is_mandatory, assigned_at) \
             SELECT {tid}, {mgk}, {gg}, CASE WHEN k < {half} THEN 60 + 30 * (k % 2) END, k < {half}, \
                    now() - interval '5 days' \
             FROM generate_series(0, {g1}) g, generate_series(0, {k1}) k;\n\
             CREATE TEMP TABLE bench_work AS \
             SELECT i, k, ({offset_i} + k * {step}) % {pubm} + 1 AS m \
             FROM generate_series(1, {n}) i, generate_series(0, {k1}) k;\n\
             ANALYZE bench_work;",
            mgk = mid(&format!("((({offset} + k * {step}) % {pubm}) + 1)")),
            gg = gid("g"),
            g1 = g - 1,
            k1 = k_all - 1,
            half = k_all / 2,
        ),
    );
    if sub > 0 && p.cohorts > 0 {
        push(
            "the manager dashboard's subtree and cohorts",
            format!(
                "INSERT INTO user_permissions (tenant_id, user_id, permission, scope, created_at) \
                 VALUES ({tid}, {director}, 'VIEW_MANAGER_DASHBOARD', '{{\"manager_subtree\": true}}', \
                         now() - interval '300 days');\n\
                 INSERT INTO groups (tenant_id, id, name, created_at, updated_at) \
                 SELECT {tid}, {cc}, 'Cohort ' || c, now() - interval '350 days', now() - interval '350 days' \
                 FROM generate_series(0, {c1}) c;\n\
                 INSERT INTO user_groups (tenant_id, group_id, user_id, created_at) \
                 SELECT {tid}, {ci}, {u}, now() - interval '300 days' \
                 FROM generate_series(1, {n}) i WHERE {in_subtree};\n\
                 INSERT INTO module_groups (tenant_id, module_id, group_id, deadline_days, is_mandatory, assigned_at) \
                 SELECT {tid}, {mm}, {cc}, CASE WHEN m % 2 = 0 THEN 60 END, m % 2 = 0, now() - interval '5 days' \
                 FROM generate_series(0, {c1}) c, generate_series(1, {pubm}) m;",
                director = uid("6"),
                cc = id(seed, t, "cohort", "c"),
                // By hundreds: the subtree's members are alike modulo 100 (their managers).
                ci = id(seed, t, "cohort", &format!("((i / 100) % {})", p.cohorts)),
                c1 = p.cohorts - 1,
                u = uid("i"),
                mm = mid("m"),
            ),
        );
    }
    let day = "make_interval(days => 6 + (w.i * 7 + w.k * 13) % 150)";
    push(
        "section completions",
        format!(
            "INSERT INTO section_completions (tenant_id, id, user_id, module_id, section_id, completed_at) \
             SELECT {tid}, {sc}, {u}, {mm}, {ss}, now() - {day} + make_interval(mins => s * 7) \
             FROM bench_work w, generate_series(0, {s1}) s \
             WHERE w.k < {done} OR (w.k < {done_started} AND s < {half_s});",
            sc = key("sc", &["w.i", "w.m", "s"]),
            u = uid("w.i"),
            mm = mid("w.m"),
            ss = sid("w.m", "s"),
            s1 = s_all - 1,
            done_started = done + started,
            half_s = s_all / 2,
        ),
    );
    push(
        "module completions and certificates",
        format!(
            "INSERT INTO module_completions (tenant_id, id, user_id, module_id, completed_at, source) \
             SELECT {tid}, {mc}, {u}, {mm}, now() - {day} + interval '3 hours', 'PROGRESS' \
             FROM bench_work w WHERE w.k < {done};\n\
             INSERT INTO certificates (tenant_id, id, code, user_id, module_id, completion_id, holder_name, \
                                       module_title, issued_at, expires_at) \
             SELECT c.tenant_id, {cert}, 'GC-' || upper(substr(md5('{seed}/{t}/code/' || c.id::text), 1, 24)), c.user_id, c.module_id, c.id, \
                    u.name, mo.title, c.completed_at, \
                    c.completed_at + make_interval(months => mo.validity_months) \
             FROM module_completions c \
             JOIN modules mo ON mo.tenant_id = c.tenant_id AND mo.id = c.module_id \
             JOIN users u ON u.id = c.user_id \
             WHERE c.tenant_id = {tid};",
            mc = key("mc", &["w.i", "w.m"]),
            u = uid("w.i"),
            mm = mid("w.m"),
            cert = id(seed, t, "certificate", "c.id::text"),
        ),
    );
    // Completed modules: failed, then passed. Started: failed. Later ones: failed, then open.
    push(
        "quiz attempts",
        format!(
            "CREATE TEMP TABLE bench_quiz AS \
             SELECT m, {qq} AS quiz_id, \
                    jsonb_agg(jsonb_build_object('question_id', qn.id, 'option_ids', \
                        (SELECT jsonb_agg(o -> 'id') FROM jsonb_array_elements(qn.options) o)) \
                        ORDER BY qn.sort_order) AS question_order, \
                    jsonb_agg(jsonb_build_object('question_id', qn.id, 'option_ids', \
                        jsonb_build_array(qn.options -> 0 -> 'id'), 'text', NULL) \
                        ORDER BY qn.sort_order) AS answers, \
                    jsonb_agg(to_jsonb(qn) - 'tenant_id' ORDER BY qn.sort_order) AS questions \
             FROM generate_series(2, {m_all}, 2) m \
             JOIN quiz_questions qn ON qn.tenant_id = {tid} AND qn.quiz_id = {qq} \
             GROUP BY m;\n\
             INSERT INTO quiz_attempts (tenant_id, id, quiz_id, user_id, number, status, started_at, \
                                        submitted_at, score_points, max_points, score_percent, passed, \
                                        question_order, answers, questions) \
             SELECT {tid}, {att}, bq.quiz_id, {u}, a.n, \
                    CASE WHEN a.open THEN 'IN_PROGRESS' ELSE 'GRADED' END, \
                    now() - {day} + make_interval(hours => a.n), \
                    CASE WHEN NOT a.open THEN now() - {day} + make_interval(hours => a.n, mins => 9) END, \
                    CASE WHEN a.open THEN NULL WHEN a.passed THEN {q_all} * 0.9 ELSE {q_all} * 0.4 END, \
                    CASE WHEN NOT a.open THEN {q_all} END, \
                    CASE WHEN a.open THEN NULL WHEN a.passed THEN 90 ELSE 40 END, \
                    CASE WHEN NOT a.open THEN a.passed END, \
                    bq.question_order, CASE WHEN NOT a.open THEN bq.answers END, bq.questions \
             FROM bench_work w \
             JOIN bench_quiz bq ON bq.m = w.m \
             CROSS JOIN LATERAL ( \
                 SELECT n, w.k >= {done_started} AND n = 2 AS open, w.k < {done} AND n = 2 AS passed \
                 FROM generate_series(1, CASE WHEN w.k >= {done} AND w.k < {done_started} THEN 1 ELSE 2 END) n \
             ) a;\n\
             DROP TABLE bench_quiz;\n\
             DROP TABLE bench_work;",
            qq = qid("m"),
            att = key("attempt", &["w.i", "w.m", "a.n"]),
            u = uid("w.i"),
            done_started = done + started,
        ),
    );
    push(
        "rewards",
        format!(
            "INSERT INTO rewards (tenant_id, id, title, description, cost_xp, stock, monthly_limit, \
                                  approval_required, created_at, updated_at) \
             SELECT {tid}, {rr}, \
                    CASE WHEN r = 1 THEN 'Coffee with the team' ELSE 'Reward ' || r END, \
                    'Redeem your XP for something nice.', \
                    CASE WHEN r = 1 THEN 10 ELSE 100 + (r * 37 % 20) * 50 END, \
                    CASE WHEN r = 1 OR r % 3 = 0 THEN NULL ELSE 50 + r END, \
                    CASE WHEN r > 1 AND r % 4 = 0 THEN 2 END, \
                    r > 1 AND r % 5 = 0, now() - interval '300 days', now() - interval '300 days' \
             FROM generate_series(1, {reward_count}) r;",
            rr = rid("r"),
        ),
    );
    // Ledger: per member, 90 % awards, 5 % manual awards, 5 % redemptions, over 120 days; the
    // amounts vary by member so the leaderboard spreads out.
    let at = format!(
        "now() - make_interval(secs => ((j * 120 * 86400) / {xp} + (i * 7919) % 86400)::double precision)"
    );
    push(
        "xp ledger",
        format!(
            "INSERT INTO xp_transactions (tenant_id, id, user_id, kind, amount, source, source_entity_id, \
                                          reason, created_by, created_at) \
             SELECT {tid}, {xid}, {u}, \
                    CASE WHEN j % 20 = 19 THEN 'SPEND' WHEN j % 20 = 9 THEN 'MANUAL' ELSE 'AWARD' END, \
                    CASE WHEN j % 20 = 19 THEN -10 WHEN j % 20 = 9 THEN 20 \
                         ELSE (ARRAY[100, 50, 25, 30])[1 + j % 4] * (1 + i % 8) / 4 + i % 17 END, \
                    CASE WHEN j % 20 = 19 THEN 'REDEMPTION' WHEN j % 20 = 9 THEN 'MANUAL' \
                         ELSE (ARRAY['MODULE_COMPLETED', 'QUIZ_HIGH_SCORE', 'MENTOR_CONFIRMATION', \
                                     'EVENT_ATTENDED'])[1 + j % 4] END, \
                    CASE WHEN j % 20 <> 9 THEN {src} END, \
                    CASE WHEN j % 20 = 9 THEN 'Helped at the onboarding day' END, \
                    CASE WHEN j % 20 = 9 THEN {admin} END, \
                    {at} \
             FROM generate_series(1, {n}) i, generate_series(0, {x1}) j;\n\
             INSERT INTO reward_redemptions (tenant_id, id, reward_id, user_id, cost_xp, status, \
                                             reviewed_at, created_at) \
             SELECT {tid}, {src}, {rred}, {u}, 10, 'APPROVED', {at}, {at} \
             FROM generate_series(1, {n}) i, generate_series(19, {x1}, 20) j;",
            xid = key("xp", &["i", "j"]),
            u = uid("i"),
            src = key("source", &["i", "j"]),
            x1 = xp - 1,
            rred = rid(&format!("(2 + (i + j) % {})", reward_count - 1)),
        ),
    );
    let earned = "kind = 'AWARD' OR (kind = 'MANUAL' AND amount > 0)";
    push(
        "balances and period totals",
        format!(
            "INSERT INTO user_xp_balances (tenant_id, user_id, lifetime_xp, total_xp, held_xp, rank, updated_at) \
             SELECT {tid}, user_id, earned, total, 0, \
                    CASE WHEN earned >= 6000 THEN 'MENTOR' WHEN earned >= 3500 THEN 'MOJSTER' \
                         WHEN earned >= 1500 THEN 'POMOCNIK' ELSE 'VAJENEC' END, now() \
             FROM (SELECT user_id, sum(amount) FILTER (WHERE {earned}) AS earned, sum(amount) AS total \
                   FROM xp_transactions WHERE tenant_id = {tid} GROUP BY user_id) s;\n\
             UPDATE user_xp_balances SET leaderboard_hidden = true \
             WHERE tenant_id = {tid} AND user_id IN (SELECT {u} FROM generate_series(50, {n}, 50) i);\n\
             INSERT INTO xp_period_totals (tenant_id, user_id, period, period_start, xp) \
             SELECT tenant_id, user_id, 'MONTH', \
                    date_trunc('month', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', sum(amount) \
             FROM xp_transactions WHERE tenant_id = {tid} AND ({earned}) GROUP BY 1, 2, 4;\n\
             INSERT INTO xp_period_totals (tenant_id, user_id, period, period_start, xp) \
             SELECT tenant_id, user_id, 'WEEK', \
                    date_trunc('week', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', sum(amount) \
             FROM xp_transactions WHERE tenant_id = {tid} AND ({earned}) GROUP BY 1, 2, 4;",
            u = uid("i"),
        ),
    );
    out
}

/// The id the large tenant gets with `seed`, as SQL (for scripts that look it up).
pub fn large_tenant_id_sql(seed: u64) -> String {
    id(seed, 0, "tenant", "0")
}

/// A summary line per table, for people.
pub fn describe(loaded: &Loaded) -> String {
    let mut text = format!(
        "loaded {} tenants in {:.1} s (vacuum and analyze {:.1} s); the large tenant has:\n",
        loaded.tenants, loaded.load_seconds, loaded.vacuum_seconds
    );
    for (table, rows) in &loaded.large_tenant_rows {
        let _ = writeln!(text, "  {table:<22} {rows:>9}");
    }
    text
}
