//! Manager views over HTTP: the member list, a member's detail and progress, and the manager
//! dashboard, each scoped by the one member-scope mechanism (tenant-wide, groups, manager
//! subtree), with tenant isolation and API keys.

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
