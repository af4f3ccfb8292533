//! Manager views over HTTP: the member list, a member's detail and progress, and the manager
//! dashboard, each scoped by the one member-scope mechanism (tenant-wide, groups, manager
//! subtree), with tenant isolation and API keys.

use actix_web::http::Method;
use guild_tests::{Reply, TestApp, assert_problem};
use serde_json::{Value, json};

/// A tenant: `boss` manages `ann` and `bob`, `ann` manages `carl`; `pete` manages `dave`; both
/// managers hold VIEW_MANAGER_DASHBOARD over their subtree. `lead` holds VIEW_GROUP_PROGRESS over
/// the group Support (`carl`). Tokens and ids by name.
struct Team {
    owner: String,
    tokens: std::collections::HashMap<&'static str, String>,
    ids: std::collections::HashMap<&'static str, String>,
    support: String,
}

impl Team {
    async fn new(app: &TestApp, slug: &str) -> Self {
        let owner = app.owner(slug).await;
        let mut tokens = std::collections::HashMap::new();
        let mut ids = std::collections::HashMap::new();
        for name in ["boss", "ann", "bob", "carl", "pete", "dave", "lead"] {
            let token = app
                .member(&owner, &format!("{name}@{slug}.example.com"), "EMPLOYEE")
                .await;
            ids.insert(name, app.me_id(&token).await);
            tokens.insert(name, token);
        }
        for (member, manager) in [
            ("ann", "boss"),
            ("bob", "boss"),
            ("carl", "ann"),
            ("dave", "pete"),
        ] {
            let set = app
                .put(
                    &format!("/v1/members/{}/manager", ids[member]),
                    &owner,
                    json!({ "manager_id": ids[manager] }),
                )
                .await;
            assert_eq!(set.status, 200, "{}", set.text);
        }
        let support = app.group(&owner, "Support", &[ids["carl"].as_str()]).await;
        app.group(
            &owner,
            "Sales",
            &[ids["ann"].as_str(), ids["dave"].as_str()],
        )
        .await;
        for manager in ["boss", "pete"] {
            app.grant(
                &owner,
                &ids[manager],
                json!([{ "permission": "VIEW_MANAGER_DASHBOARD", "scope": { "manager_subtree": true } }]),
            )
            .await;
        }
        app.grant(
            &owner,
            &ids["lead"],
            json!([
                { "permission": "VIEW_GROUP_PROGRESS", "scope": { "group_ids": [support] } },
                { "permission": "VIEW_MANAGER_DASHBOARD", "scope": { "group_ids": [support] } }
            ]),
        )
        .await;
        Self {
            owner,
            tokens,
            ids,
            support,
        }
    }

    fn names(&self, reply: &Reply, list: &str, field: &str) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = reply.json[list]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|row| {
                self.ids
                    .iter()
                    .find(|(_, id)| row[field].as_str() == Some(id.as_str()))
                    .map(|(name, _)| *name)
            })
            .collect();
        names.sort_unstable();
        names
    }
}

#[actix_web::test]
async fn a_manager_lists_reads_and_follows_exactly_their_subtree_and_a_group_grant_its_group() {
    let app = TestApp::new().await;
    let t = Team::new(&app, "acme").await;
    let boss = &t.tokens["boss"];

    let listed = app.get("/v1/members?limit=200", boss).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(t.names(&listed, "data", "user_id"), ["ann", "bob", "carl"]);
    let listed = app.get("/v1/members", &t.tokens["pete"]).await;
    assert_eq!(t.names(&listed, "data", "user_id"), ["dave"]);
    let listed = app.get("/v1/members", &t.tokens["lead"]).await;
    assert_eq!(t.names(&listed, "data", "user_id"), ["carl"]);
    // Filters still apply within the scope.
    let listed = app.get("/v1/members?q=carl", boss).await;
    assert_eq!(t.names(&listed, "data", "user_id"), ["carl"]);
    let listed = app
        .get(&format!("/v1/members?group_id={}", t.support), boss)
        .await;
    assert_eq!(t.names(&listed, "data", "user_id"), ["carl"]);

    for member in ["ann", "carl"] {
        let id = &t.ids[member];
        let detail = app.get(&format!("/v1/members/{id}"), boss).await;
        assert_eq!(detail.status, 200, "{member}: {}", detail.text);
        let progress = app.get(&format!("/v1/members/{id}/progress"), boss).await;
        assert_eq!(progress.status, 200, "{member}: {}", progress.text);
        assert_eq!(progress.json["user_id"], json!(id));
    }
    // A peer manager's team and the managers themselves are not found.
    for member in ["dave", "pete", "lead"] {
        let id = &t.ids[member];
        assert_problem(
            &app.get(&format!("/v1/members/{id}"), boss).await,
            404,
            "member_not_found",
        );
        assert_problem(
            &app.get(&format!("/v1/members/{id}/progress"), boss).await,
            404,
            "member_not_found",
        );
    }
    let id = &t.ids["ann"];
    assert_problem(
        &app.get(&format!("/v1/members/{id}/progress"), &t.tokens["lead"])
            .await,
        404,
        "member_not_found",
    );

    // A member without a grant reads only themselves.
    let bob = &t.tokens["bob"];
    assert_problem(&app.get("/v1/members", bob).await, 403, "forbidden");
    assert_problem(
        &app.get(&format!("/v1/members/{id}/progress"), bob).await,
        403,
        "forbidden",
    );
    let own = app
        .get(&format!("/v1/members/{}/progress", t.ids["bob"]), bob)
        .await;
    assert_eq!(own.status, 200, "{}", own.text);

    // The owner reads everyone; another tenant's member is not found.
    let everyone = app.get("/v1/members?limit=200", &t.owner).await;
    assert_eq!(everyone.json["data"].as_array().map(Vec::len), Some(8));
    let other = Team::new(&app, "globex").await;
    for uri in [
        format!("/v1/members/{}", other.ids["ann"]),
        format!("/v1/members/{}/progress", other.ids["ann"]),
    ] {
        assert_problem(&app.get(&uri, &t.owner).await, 404, "member_not_found");
    }

    // The compliance matrix reads the same scope: nothing mandatory here, so nobody, but allowed.
    let matrix = app.get("/v1/compliance/matrix", boss).await;
    assert_eq!(matrix.status, 200, "{}", matrix.text);
}

#[actix_web::test]
async fn the_manager_dashboard_covers_the_callers_scope_and_keys_only_with_the_permission() {
    let app = TestApp::new().await;
    let t = Team::new(&app, "acme").await;
    let boss = &t.tokens["boss"];

    let board = app.get("/v1/manager-dashboard", boss).await;
    assert_eq!(board.status, 200, "{}", board.text);
    assert_eq!(board.json["member_count"], 3);
    assert_eq!(
        t.names(&board, "engagement", "user_id"),
        ["ann", "bob", "carl"]
    );
    let lead = app.get("/v1/manager-dashboard", &t.tokens["lead"]).await;
    assert_eq!(t.names(&lead, "engagement", "user_id"), ["carl"]);
    let narrowed = app
        .get(
            &format!("/v1/manager-dashboard?group_id={}", t.support),
            boss,
        )
        .await;
    assert_eq!(t.names(&narrowed, "engagement", "user_id"), ["carl"]);
    let owner = app.get("/v1/manager-dashboard?limit=1000", &t.owner).await;
    assert_eq!(owner.json["member_count"], 8);

    assert_problem(
        &app.get("/v1/manager-dashboard", &t.tokens["bob"]).await,
        403,
        "forbidden",
    );
    let backwards = app
        .get(
            "/v1/manager-dashboard?from=2026-12-10T00:00:00Z&to=2026-12-01T00:00:00Z",
            boss,
        )
        .await;
    assert_problem(&backwards, 422, "validation_failed");
    let other = app.owner("globex").await;
    let foreign = app.group(&other, "Theirs", &[]).await;
    assert_problem(
        &app.get(&format!("/v1/manager-dashboard?group_id={foreign}"), boss)
            .await,
        404,
        "group_not_found",
    );

    // Keys: only with the permission.
    let (_, with) = app
        .api_key(
            &t.owner,
            json!({ "name": "BI", "permissions": ["VIEW_MANAGER_DASHBOARD"] }),
        )
        .await;
    let (_, without) = app
        .api_key(
            &t.owner,
            json!({ "name": "Audit", "permissions": ["VIEW_AUDIT_LOG"] }),
        )
        .await;
    let by_key = app.get("/v1/manager-dashboard", &with).await;
    assert_eq!(by_key.status, 200, "{}", by_key.text);
    assert_problem(
        &app.get("/v1/manager-dashboard", &without).await,
        403,
        "forbidden",
    );
    assert_problem(
        &app.get(&format!("/v1/members/{}/progress", t.ids["ann"]), &without)
            .await,
        403,
        "forbidden",
    );

    // The thresholds: read by the dashboard's holders, set tenant-wide only.
    let settings = app.get("/v1/manager-dashboard/settings", boss).await;
    assert_eq!(
        settings.json,
        json!({ "inactive_days": 14, "failed_attempts": 3 })
    );
    let strict = json!({ "inactive_days": 7, "failed_attempts": 2 });
    assert_problem(
        &app.put("/v1/manager-dashboard/settings", boss, strict.clone())
            .await,
        403,
        "forbidden",
    );
    assert_problem(
        &app.put(
            "/v1/manager-dashboard/settings",
            &t.owner,
            json!({ "inactive_days": 0, "failed_attempts": 2 }),
        )
        .await,
        422,
        "validation_failed",
    );
    let set = app
        .put("/v1/manager-dashboard/settings", &t.owner, strict.clone())
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    let board: Value = app.get("/v1/manager-dashboard", boss).await.json;
    assert_eq!(board["settings"], strict);
}

/// With dashboards kept (as `guild serve` keeps them), a kept view is shared only by callers
/// reaching the same members with the same filter, the permission is still checked on every
/// request, and a change of thresholds drops the tenant's kept views.
#[actix_web::test]
async fn a_kept_dashboard_is_shared_only_by_the_same_reach_and_new_thresholds_drop_it() {
    let app = TestApp::with(|state| {
        state.dashboards = std::sync::Arc::new(guild_api::shared_views::SharedViews::new(
            std::time::Duration::from_secs(300),
        ));
    })
    .await;
    let t = Team::new(&app, "acme").await;
    let boss = &t.tokens["boss"];

    let first = app.get("/v1/manager-dashboard", boss).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(
        first
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    assert_eq!(
        t.names(&first, "engagement", "user_id"),
        ["ann", "bob", "carl"]
    );
    let again = app.get("/v1/manager-dashboard", boss).await;
    assert_eq!(
        again.json["generated_at"], first.json["generated_at"],
        "the same caller and filter get the kept view"
    );
    let zipped = app
        .get("/v1/manager-dashboard", boss)
        .header("accept-encoding", "gzip, deflate, br")
        .await;
    assert_eq!(
        zipped
            .headers
            .get("content-encoding")
            .and_then(|v| v.to_str().ok()),
        Some("gzip")
    );
    let mut plain = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&zipped.body[..]),
        &mut plain,
    )
    .expect("a gzip body");
    assert_eq!(plain, first.body, "the same view, compressed");

    // Another reach, another filter: their own views, never the boss's.
    let lead = app.get("/v1/manager-dashboard", &t.tokens["lead"]).await;
    assert_eq!(t.names(&lead, "engagement", "user_id"), ["carl"]);
    let pete = app.get("/v1/manager-dashboard", &t.tokens["pete"]).await;
    assert_eq!(t.names(&pete, "engagement", "user_id"), ["dave"]);
    let narrowed = app
        .get(
            &format!("/v1/manager-dashboard?group_id={}", t.support),
            boss,
        )
        .await;
    assert_eq!(t.names(&narrowed, "engagement", "user_id"), ["carl"]);
    let other = app.owner("globex").await;
    let theirs = app.get("/v1/manager-dashboard", &other).await;
    assert_eq!(theirs.json["member_count"], 1, "{}", theirs.text);

    // No permission, no view, kept or not.
    assert_problem(
        &app.get("/v1/manager-dashboard", &t.tokens["bob"]).await,
        403,
        "forbidden",
    );

    let strict = json!({ "inactive_days": 7, "failed_attempts": 2 });
    let set = app
        .put("/v1/manager-dashboard/settings", &t.owner, strict.clone())
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    let after = app.get("/v1/manager-dashboard", boss).await;
    assert_eq!(after.json["settings"], strict);
    assert_ne!(after.json["generated_at"], first.json["generated_at"]);
}

/// Ann and dave (pete's) complete the published module "Safety" (by an override) and answer its
/// quiz's one question: ann right (`a`), dave wrong (`b`). The boss holds VIEW_ANALYTICS over
/// their subtree. Answers the module and the quiz.
async fn safety(app: &TestApp, t: &Team) -> (String, String) {
    let (module, _) = app.published_module(&t.owner, "Safety").await;
    let (quiz, questions) = app
        .quiz(
            &t.owner,
            &module,
            json!({ "title": "Safety quiz" }),
            &[json!({
                "kind": "SINGLE_CHOICE", "prompt": "Which exit?", "points": 1,
                "options": [
                    { "id": "a", "text": "Nearest", "correct": true },
                    { "id": "b", "text": "Main", "correct": false }
                ]
            })],
        )
        .await;
    let question = questions[0]["id"].as_str().unwrap_or_default().to_owned();
    for (member, choice) in [("ann", "a"), ("dave", "b")] {
        let token = &t.tokens[member];
        let started = app
            .call(
                Method::POST,
                &format!("/v1/quizzes/{quiz}/attempts"),
                token,
                None,
            )
            .await;
        assert_eq!(started.status, 201, "{}", started.text);
        let attempt = started.json["id"].as_str().unwrap_or_default().to_owned();
        let submitted = app
            .submit_attempt(
                token,
                &attempt,
                &format!("{member}-1"),
                json!([{ "question_id": question, "option_ids": [choice] }]),
            )
            .await;
        assert_eq!(submitted.status, 200, "{}", submitted.text);
        app.complete_for(&t.owner, &t.ids[member], &module).await;
    }
    app.grant(
        &t.owner,
        &t.ids["boss"],
        json!([
            { "permission": "VIEW_MANAGER_DASHBOARD", "scope": { "manager_subtree": true } },
            { "permission": "VIEW_ANALYTICS", "scope": { "manager_subtree": true } }
        ]),
    )
    .await;
    (module, quiz)
}

#[actix_web::test]
async fn analytics_count_only_the_callers_scope_and_hide_other_tenants_modules_and_quizzes() {
    let app = TestApp::new().await;
    let t = Team::new(&app, "acme").await;
    let (module, quiz) = safety(&app, &t).await;
    let boss = &t.tokens["boss"];

    // The boss's subtree (ann, bob, carl): ann's completion and answer only.
    let done = app.get("/v1/analytics/completions", boss).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(
        (&done.json["member_count"], &done.json["completions"]),
        (&json!(3), &json!(1))
    );
    assert_eq!(done.json["granularity"], "WEEK");
    let funnel = app
        .get(&format!("/v1/analytics/modules/{module}/funnel"), boss)
        .await;
    assert_eq!(funnel.status, 200, "{}", funnel.text);
    assert_eq!(
        (&funnel.json["started"], &funnel.json["completed"]),
        (&json!(1), &json!(1)),
        "ann's attempt and completion"
    );
    let items = app
        .get(&format!("/v1/analytics/quizzes/{quiz}/items"), boss)
        .await;
    assert_eq!(items.status, 200, "{}", items.text);
    assert_eq!(items.json["attempts"], 1);
    assert_eq!(items.json["items"][0]["share_correct"], 1.0);
    assert_eq!(items.json["items"][0]["options"][1]["chosen"], 0);

    // The owner: everyone, dave's wrong answer too.
    let items = app
        .get(&format!("/v1/analytics/quizzes/{quiz}/items"), &t.owner)
        .await;
    assert_eq!(items.json["attempts"], 2);
    assert_eq!(items.json["items"][0]["share_correct"], 0.5);
    let options: Vec<(&str, i64)> = items.json["items"][0]["options"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| {
            (
                o["option_id"].as_str().unwrap_or_default(),
                o["chosen"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(options, [("a", 1), ("b", 1)]);
    let funnel = app
        .get(&format!("/v1/analytics/modules/{module}/funnel"), &t.owner)
        .await;
    assert_eq!(funnel.json["completed"], 2);

    for uri in [
        "/v1/analytics/activity?granularity=MONTH",
        "/v1/analytics/xp",
    ] {
        let mine = app.get(uri, boss).await;
        assert_eq!(mine.status, 200, "{uri}: {}", mine.text);
        assert_eq!(mine.json["member_count"], 3, "{uri}");
    }
    let events = app.get("/v1/analytics/events", boss).await;
    assert_eq!(events.status, 200, "{}", events.text);
    assert_eq!(events.json["event_count"], 0);
    let narrowed = app
        .get(&format!("/v1/analytics/xp?group_id={}", t.support), boss)
        .await;
    assert_eq!(narrowed.json["member_count"], 1, "carl");

    // Another tenant's module, quiz and group are not found.
    let other = Team::new(&app, "globex").await;
    let (their_module, their_quiz) = safety(&app, &other).await;
    assert_problem(
        &app.get(
            &format!("/v1/analytics/modules/{their_module}/funnel"),
            &t.owner,
        )
        .await,
        404,
        "module_not_found",
    );
    assert_problem(
        &app.get(
            &format!("/v1/analytics/quizzes/{their_quiz}/items"),
            &t.owner,
        )
        .await,
        404,
        "quiz_not_found",
    );
    assert_problem(
        &app.get(
            &format!("/v1/analytics/events?group_id={}", other.support),
            &t.owner,
        )
        .await,
        404,
        "group_not_found",
    );
    assert_problem(
        &app.get(
            "/v1/analytics/activity?from=2025-01-01T00:00:00Z&to=2026-12-01T00:00:00Z",
            &t.owner,
        )
        .await,
        422,
        "validation_failed",
    );
}

#[actix_web::test]
async fn analytics_need_view_analytics_and_an_api_key_only_with_it() {
    let app = TestApp::new().await;
    let t = Team::new(&app, "acme").await;
    let (module, quiz) = safety(&app, &t).await;
    let uris = [
        "/v1/analytics/activity".to_owned(),
        "/v1/analytics/completions".to_owned(),
        format!("/v1/analytics/modules/{module}/funnel"),
        format!("/v1/analytics/quizzes/{quiz}/items"),
        "/v1/analytics/events".to_owned(),
        "/v1/analytics/xp".to_owned(),
    ];
    let (_, with) = app
        .api_key(
            &t.owner,
            json!({ "name": "BI", "permissions": ["VIEW_ANALYTICS"] }),
        )
        .await;
    let (_, without) = app
        .api_key(
            &t.owner,
            json!({ "name": "Board", "permissions": ["VIEW_MANAGER_DASHBOARD"] }),
        )
        .await;
    for uri in &uris {
        // Bob holds nothing; pete's dashboard grant is not an analytics grant.
        assert_problem(&app.get(uri, &t.tokens["bob"]).await, 403, "forbidden");
        assert_problem(&app.get(uri, &t.tokens["pete"]).await, 403, "forbidden");
        assert_problem(&app.get(uri, &without).await, 403, "forbidden");
        let by_key = app.get(uri, &with).await;
        assert_eq!(by_key.status, 200, "{uri}: {}", by_key.text);
        let boss = app.get(uri, &t.tokens["boss"]).await;
        assert_eq!(boss.status, 200, "{uri}: {}", boss.text);
    }
}
