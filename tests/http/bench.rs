//! The benchmark data set at smoke-test size: it loads, it is consistent (balances equal the
//! ledger, completions have their sections, passed quizzes and certificates), loading twice
//! changes nothing, and every benchmark scenario works on it over HTTP.

use actix_web::http::Method;
use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use guild_bench::{Outcome, Plan};
use guild_kernel::{TenantId, UserId};
use guild_tests::{TEST_SECRET, TestApp, World, count};

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = Text)]
    id: String,
}

async fn ids(w: &World, sql: &str) -> Vec<String> {
    diesel::sql_query(sql)
        .load::<Id>(&mut w.db.conn().await)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|r| r.id)
        .collect()
}

#[actix_web::test]
async fn the_bench_data_set_loads_consistently_and_serves_every_scenario() {
    let app = TestApp::new().await;
    let plan = Plan::scaled(7, 0.01);
    let mut conn = app.db.conn().await;
    let loaded = match guild_bench::load(&mut conn, &plan, "not-a-real-hash").await {
        Ok(Outcome::Loaded(loaded)) => loaded,
        other => panic!("expected a load, got {other:?}"),
    };
    assert_eq!(loaded.tenants, 2, "the large tenant and one small one");
    let rows: std::collections::HashMap<_, _> = loaded.large_tenant_rows.into_iter().collect();
    // 100 members: 100 section completions each (4 modules of 20 sections, 2 of 10), 4 completed
    // modules with certificates, 100 ledger rows of which 5 are redemptions.
    assert_eq!(rows["memberships"], 100);
    assert_eq!(rows["modules"], 200);
    assert_eq!(rows["sections"], 4000);
    assert_eq!(rows["quizzes"], 100);
    assert_eq!(rows["section_completions"], 10_000);
    assert_eq!(rows["module_completions"], 400);
    assert_eq!(rows["certificates"], 400);
    assert_eq!(rows["xp_transactions"], 10_000);
    assert_eq!(rows["user_xp_balances"], 100);
    assert_eq!(rows["reward_redemptions"], 500);
    assert_eq!(rows["rewards"], 100);
    assert!(rows["quiz_attempts"] > 1000, "{}", rows["quiz_attempts"]);

    // Loading again changes nothing.
    assert!(matches!(
        guild_bench::load(&mut conn, &plan, "x").await,
        Ok(Outcome::AlreadyLoaded)
    ));
    drop(conn);

    // Balances equal the ledger; period totals equal the earned rows.
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM user_xp_balances b JOIN (SELECT tenant_id, user_id, sum(amount) AS total, \
               sum(amount) FILTER (WHERE kind = 'AWARD' OR (kind = 'MANUAL' AND amount > 0)) AS earned \
               FROM xp_transactions GROUP BY 1, 2) l USING (tenant_id, user_id) \
             WHERE b.total_xp <> l.total OR b.lifetime_xp <> l.earned OR b.total_xp < 0"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM (SELECT tenant_id, user_id, sum(xp) AS xp FROM xp_period_totals \
               WHERE period = 'MONTH' GROUP BY 1, 2) p JOIN user_xp_balances b USING (tenant_id, user_id) \
             WHERE p.xp <> b.lifetime_xp"
        )
        .await,
        0
    );
    // Every completion has all its sections done, a passed attempt when the module has a quiz,
    // and exactly one certificate.
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM module_completions c \
             WHERE (SELECT count(*) FROM sections s WHERE s.tenant_id = c.tenant_id AND s.module_id = c.module_id) \
                <> (SELECT count(*) FROM section_completions sc WHERE sc.tenant_id = c.tenant_id \
                    AND sc.user_id = c.user_id AND sc.module_id = c.module_id) \
                OR (EXISTS (SELECT 1 FROM quizzes q WHERE q.tenant_id = c.tenant_id AND q.module_id = c.module_id) \
                    AND NOT EXISTS (SELECT 1 FROM quiz_attempts a JOIN quizzes q ON q.tenant_id = a.tenant_id \
                        AND q.id = a.quiz_id WHERE a.tenant_id = c.tenant_id AND a.user_id = c.user_id \
                        AND q.module_id = c.module_id AND a.passed)) \
                OR (SELECT count(*) FROM certificates ce WHERE ce.tenant_id = c.tenant_id \
                    AND ce.completion_id = c.id) <> 1"
        )
        .await,
        0
    );

    // The scenarios of `make bench`, as member 20 of the large tenant.
    let member = ids(
        &app,
        "SELECT m.user_id::text || ' ' || m.tenant_id::text AS id FROM memberships m \
         JOIN users u ON u.id = m.user_id WHERE u.email = 'user20@bench.example.com'",
    )
    .await;
    let (user, tenant) = member[0].split_once(' ').expect("user and tenant");
    let keys =
        guild_api::auth::TokenKeys::new(TEST_SECRET, "guild", std::time::Duration::from_secs(900));
    let token = keys
        .issue(
            UserId(user.parse().expect("uuid")),
            Some(TenantId(tenant.parse().expect("uuid"))),
            0,
        )
        .expect("a token");

    let dashboard = app.get("/v1/me/dashboard", &token).await;
    assert_eq!(dashboard.status, 200, "{}", dashboard.text);
    assert_eq!(
        dashboard.json["assigned"].as_array().map(Vec::len),
        Some(20)
    );
    assert_eq!(dashboard.json["completed_count"], 4);

    let completed = ids(
        &app,
        &format!(
            "SELECT module_id::text AS id FROM module_completions WHERE user_id = '{user}' LIMIT 1"
        ),
    )
    .await;
    let progress = app
        .get(&format!("/v1/modules/{}/progress", completed[0]), &token)
        .await;
    assert_eq!(progress.status, 200, "{}", progress.text);
    assert_eq!(progress.json["percent"], 100);
    assert!(progress.json["certificate_id"].is_string());

    let board = app.get("/v1/leaderboard?period=all", &token).await;
    assert_eq!(board.status, 200, "{}", board.text);
    assert!(!board.json["data"].as_array().expect("entries").is_empty());
    let month = app.get("/v1/leaderboard?period=month", &token).await;
    assert_eq!(month.status, 200, "{}", month.text);

    // The member's catalog (20 a page, the assigned modules among them) and a module's page.
    let catalog = app.get("/v1/modules?limit=20", &token).await;
    assert_eq!(catalog.status, 200, "{}", catalog.text);
    assert_eq!(catalog.json["data"].as_array().map(Vec::len), Some(20));
    let page = app
        .get(&format!("/v1/modules/{}", completed[0]), &token)
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(page.json["id"], completed[0].as_str());

    // Complete a section of a half-done module.
    let open_section = ids(
        &app,
        &format!(
            "SELECT s.module_id::text || '/sections/' || s.id::text AS id FROM sections s \
             WHERE s.module_id IN (SELECT module_id FROM section_completions WHERE user_id = '{user}' \
                                   GROUP BY module_id HAVING count(*) = 10) \
               AND NOT EXISTS (SELECT 1 FROM section_completions sc WHERE sc.user_id = '{user}' \
                               AND sc.section_id = s.id) LIMIT 1"
        ),
    )
    .await;
    let done = app
        .call(
            Method::POST,
            &format!("/v1/modules/{}/complete", open_section[0]),
            &token,
            None,
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.json["sections_done"], 11);

    // Submit an open attempt with the answers the bench sends.
    let attempt = ids(
        &app,
        &format!(
            "SELECT id::text || ' ' || answers_json AS id FROM ( \
               SELECT a.id, (SELECT json_agg(json_build_object('question_id', e ->> 'question_id', \
                   'option_ids', json_build_array(e -> 'option_ids' ->> 0)))::text \
                   FROM jsonb_array_elements(a.question_order) e) AS answers_json \
               FROM quiz_attempts a WHERE a.user_id = '{user}' AND a.status = 'IN_PROGRESS' LIMIT 1) x"
        ),
    )
    .await;
    let (attempt_id, answers) = attempt[0].split_once(' ').expect("an open attempt");
    let answers: serde_json::Value = serde_json::from_str(answers).expect("answers");
    let submitted = app
        .submit_attempt(&token, attempt_id, attempt_id, answers)
        .await;
    assert_eq!(submitted.status, 200, "{}", submitted.text);
    assert_eq!(submitted.json["status"], "GRADED");

    // Redeem the contended reward.
    let reward = ids(
        &app,
        &format!(
            "SELECT id::text AS id FROM rewards WHERE tenant_id = '{tenant}' AND title = 'Coffee with the team'"
        ),
    )
    .await;
    let redeemed = app
        .call(
            Method::POST,
            &format!("/v1/rewards/{}/redemptions", reward[0]),
            &token,
            None,
        )
        .idempotency_key("bench-smoke-1")
        .await;
    assert_eq!(redeemed.status, 201, "{}", redeemed.text);
    assert_eq!(redeemed.json["status"], "APPROVED");
}

/// A token for the large tenant's member with `email`.
async fn token_of(app: &TestApp, email: &str) -> String {
    let member = ids(
        app,
        &format!(
            "SELECT m.user_id::text || ' ' || m.tenant_id::text AS id FROM memberships m \
             JOIN users u ON u.id = m.user_id WHERE u.email = '{email}'"
        ),
    )
    .await;
    let (user, tenant) = member[0].split_once(' ').expect("user and tenant");
    let keys =
        guild_api::auth::TokenKeys::new(TEST_SECRET, "guild", std::time::Duration::from_secs(900));
    keys.issue(
        UserId(user.parse().expect("uuid")),
        Some(TenantId(tenant.parse().expect("uuid"))),
        0,
    )
    .expect("a token")
}

#[actix_web::test]
async fn the_manager_dashboard_scenario_covers_user6s_subtree_in_its_teams_and_cohorts() {
    let app = TestApp::new().await;
    // 800 members: eight managers, so user7 reports to user6 (one subtree manager).
    let plan = Plan::scaled(7, 0.08);
    let mut conn = app.db.conn().await;
    assert!(matches!(
        guild_bench::load(&mut conn, &plan, "not-a-real-hash").await,
        Ok(Outcome::Loaded(_))
    ));
    drop(conn);
    let below = "WITH RECURSIVE below AS ( \
           SELECT m.tenant_id, m.user_id FROM memberships m JOIN users u ON u.id = m.manager_id \
           WHERE u.email = 'user6@bench.example.com' \
           UNION SELECT m.tenant_id, m.user_id FROM memberships m \
           JOIN below b ON m.tenant_id = b.tenant_id AND m.manager_id = b.user_id)";
    let subtree = count(&app, &format!("{below} SELECT count(*) AS n FROM below")).await;
    assert!(subtree > 150, "user7 and both their reports: {subtree}");
    // Their teams and cohorts (each with assigned modules).
    let group_count = |like: &'static str| {
        let sql = format!(
            "{below} SELECT count(DISTINCT ug.group_id) AS n FROM below b \
             JOIN user_groups ug ON ug.tenant_id = b.tenant_id AND ug.user_id = b.user_id \
             JOIN groups g ON g.tenant_id = ug.tenant_id AND g.id = ug.group_id \
             WHERE g.name LIKE '{like}'"
        );
        let app = &app;
        async move { count(app, &sql).await }
    };
    let teams = group_count("Team %").await;
    let cohorts = group_count("Cohort %").await;
    assert!(
        cohorts >= 8,
        "the subtree spread over the cohorts: {cohorts}"
    );
    let published = count(
        &app,
        "SELECT count(*) AS n FROM modules m JOIN tenants t ON t.id = m.tenant_id \
         WHERE t.slug = 'bench' AND m.status = 'PUBLISHED'",
    )
    .await;

    let token = token_of(&app, "user6@bench.example.com").await;
    let dashboard = app.get("/v1/manager-dashboard", &token).await;
    assert_eq!(dashboard.status, 200, "{}", dashboard.text);
    let d = &dashboard.json;
    assert_eq!(d["member_count"].as_i64(), Some(subtree));
    let groups = d["heatmap"]["groups"].as_array().map_or(0, Vec::len);
    assert_eq!(
        i64::try_from(groups).ok(),
        Some(teams + cohorts),
        "the members' teams and cohorts"
    );
    let modules = d["heatmap"]["modules"].as_array().map_or(0, Vec::len);
    assert_eq!(
        i64::try_from(modules).ok(),
        Some(published),
        "every published module"
    );
    // Another member has no such view.
    let other = token_of(&app, "user20@bench.example.com").await;
    assert_eq!(app.get("/v1/manager-dashboard", &other).await.status, 403);
}
