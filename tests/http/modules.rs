//! Learning content through the API.

use actix_web::http::Method;
use guild_tests::{Reply, TestApp, assert_problem, count};
use serde_json::{Value, json};

#[actix_web::test]
async fn a_tag_name_longer_than_fifty_characters_is_refused_by_name() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let long = "é".repeat(51);
    let refused = app
        .post(
            "/v1/modules",
            &owner,
            json!({ "title": "Tags", "tags": ["ok", long] }),
        )
        .await;
    assert_problem(&refused, 422, "validation_failed");
    assert_eq!(
        refused.json["errors"][0]["field"], "tags[1]",
        "{}",
        refused.text
    );
    let fifty = "é".repeat(50);
    let created = app
        .post(
            "/v1/modules",
            &owner,
            json!({ "title": "Tags", "tags": [fifty] }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json["tags"], json!([fifty]));
}

#[actix_web::test]
async fn an_author_builds_and_publishes_a_module_with_etags() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let created = app.post("/v1/modules", &owner, json!({ "title": "Safety 101", "difficulty": "BEGINNER", "tags": ["safety", "Onboarding", "safety"], "validity_months": 12 }))
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json["status"], "DRAFT");
    assert_eq!(created.json["tags"], json!(["Onboarding", "safety"]));
    let id = created.json["id"].as_str().unwrap_or_default().to_owned();
    let etag = created.header("etag").unwrap_or_default().to_owned();
    assert_eq!(etag, "\"1\"");

    let empty = app
        .post(
            &format!("/v1/modules/{id}/status"),
            &owner,
            json!({ "status": "PUBLISHED" }),
        )
        .if_match(&etag)
        .await;
    assert_problem(&empty, 422, "module_empty");

    let xss = r#"<p onmouseover="steal()">Wear a helmet<script>alert(document.cookie)</script></p><a href="javascript:alert(1)">click</a><img src=x onerror=alert(1)>"#;
    let section = app
        .post(
            &format!("/v1/modules/{id}/sections"),
            &owner,
            json!({ "title": "Helmets", "content_html": xss }),
        )
        .await;
    assert_eq!(section.status, 201, "{}", section.text);
    let html = section.json["content_html"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase();
    for bad in ["<script", "onmouseover", "onerror", "javascript:"] {
        assert!(!html.contains(bad), "{bad} survived: {html}");
    }
    assert!(html.contains("wear a helmet"));
    let stored = app.get(&format!("/v1/modules/{id}/sections"), &owner).await;
    assert!(!stored.text.contains("<script"), "{}", stored.text);

    let missing = app
        .patch(
            &format!("/v1/modules/{id}"),
            &owner,
            json!({ "title": "x" }),
        )
        .await;
    assert_problem(&missing, 428, "precondition_required");
    let renamed = app
        .patch(
            &format!("/v1/modules/{id}"),
            &owner,
            json!({ "title": "Safety 102", "validity_months": null }),
        )
        .if_match(&etag)
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.json["validity_months"], Value::Null);
    assert_eq!(renamed.header("etag"), Some("\"2\""));
    let stale = app
        .patch(
            &format!("/v1/modules/{id}"),
            &owner,
            json!({ "title": "Lost update" }),
        )
        .if_match(&etag)
        .await;
    assert_problem(&stale, 412, "precondition_failed");

    let published = app
        .post(
            &format!("/v1/modules/{id}/status"),
            &owner,
            json!({ "status": "PUBLISHED" }),
        )
        .if_match("\"2\"")
        .await;
    assert_eq!(published.status, 200, "{}", published.text);
    assert_eq!(published.json["status"], "PUBLISHED");
    assert!(published.json["published_at"].is_string());
    let log = app.get("/v1/audit-log?entity_type=module", &owner).await;
    let actions: Vec<&str> = log.json["data"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["action"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        actions,
        [
            "MODULE_PUBLISHED",
            "MODULE_VERSION_PUBLISHED",
            "MODULE_UPDATED",
            "MODULE_CREATED"
        ]
    );
}

async fn module_with_section(app: &TestApp, token: &str, title: &str) -> String {
    let section = json!({ "title": "Intro", "content_html": "<p>Hi</p>" });
    app.module_with_section(token, json!({ "title": title }), section)
        .await
        .0
}

#[actix_web::test]
async fn employees_see_published_modules_of_their_groups_only() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let ann_id = app.get("/v1/me", &ann).await.json["user"]["id"].clone();
    let group = app
        .post("/v1/groups", &owner, json!({ "name": "Warehouse" }))
        .await
        .json["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    app.post(
        &format!("/v1/groups/{group}/members"),
        &owner,
        json!({ "user_ids": [ann_id] }),
    )
    .await;

    let assigned = module_with_section(&app, &owner, "Forklifts").await;
    let unassigned = module_with_section(&app, &owner, "Finance").await;
    let draft = module_with_section(&app, &owner, "Draft").await;
    app.publish(&owner, &assigned).await;
    app.publish(&owner, &unassigned).await;
    let reply = app
        .put(
            &format!("/v1/modules/{assigned}/groups/{group}"),
            &owner,
            json!({ "deadline_days": 14, "is_mandatory": true }),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    app.put(
        &format!("/v1/modules/{draft}/groups/{group}"),
        &owner,
        json!({}),
    )
    .await;

    let catalog = app.get("/v1/modules", &ann).await;
    let items = catalog.json["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "{}", catalog.text);
    assert_eq!(items[0]["id"], assigned.as_str());
    assert_eq!(items[0]["mandatory"], true);
    assert!(items[0]["due_at"].is_string());
    assert_eq!(items[0]["section_count"], 1);
    for hidden in [&unassigned, &draft] {
        assert_problem(
            &app.get(&format!("/v1/modules/{hidden}"), &ann).await,
            404,
            "module_not_found",
        );
        assert_problem(
            &app.get(&format!("/v1/modules/{hidden}/sections"), &ann)
                .await,
            404,
            "module_not_found",
        );
    }
    assert_eq!(
        app.get(&format!("/v1/modules/{assigned}/sections"), &ann)
            .await
            .status,
        200
    );
    // Seeing is not editing.
    let edit = app
        .patch(
            &format!("/v1/modules/{assigned}"),
            &ann,
            json!({ "title": "Mine now" }),
        )
        .if_match("\"3\"")
        .await;
    assert_problem(&edit, 403, "forbidden");

    // An open catalog shows every published module, still no drafts.
    app.open_catalog(&owner).await;
    let open = app.get("/v1/modules", &ann).await;
    assert_eq!(
        open.json["data"].as_array().map(Vec::len),
        Some(2),
        "{}",
        open.text
    );
    assert_problem(
        &app.get(&format!("/v1/modules/{draft}"), &ann).await,
        404,
        "module_not_found",
    );

    // Admins see all three.
    let all = app.get("/v1/modules", &owner).await;
    assert_eq!(all.json["data"].as_array().map(Vec::len), Some(3));
    // Another tenant sees none of it.
    let other = app.owner("other").await;
    assert_problem(
        &app.get(&format!("/v1/modules/{assigned}"), &other).await,
        404,
        "module_not_found",
    );
    assert_eq!(app.get("/v1/modules", &other).await.json["data"], json!([]));
}

#[actix_web::test]
async fn prerequisite_cycles_are_refused() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let a = module_with_section(&app, &owner, "A").await;
    let b = module_with_section(&app, &owner, "B").await;
    let c = module_with_section(&app, &owner, "C").await;
    let set = |module: &str, ids: Value| {
        app.put(
            &format!("/v1/modules/{module}/prerequisites"),
            &owner,
            json!({ "ids": ids }),
        )
    };
    assert_eq!(app.send(set(&b, json!([a]))).await.status, 200);
    assert_eq!(app.send(set(&c, json!([b]))).await.status, 200);
    assert_problem(
        &app.send(set(&a, json!([c]))).await,
        422,
        "prerequisite_cycle",
    );
    assert_problem(
        &app.send(set(&a, json!([a]))).await,
        422,
        "prerequisite_cycle",
    );
    let other = app.owner("other").await;
    let foreign = module_with_section(&app, &other, "Theirs").await;
    assert_problem(
        &app.send(set(&a, json!([foreign]))).await,
        404,
        "module_not_found",
    );
    assert_eq!(
        app.get(&format!("/v1/modules/{c}"), &owner).await.json["prerequisite_ids"],
        json!([b])
    );
}

#[actix_web::test]
async fn sections_are_reordered_at_once_and_videos_validated() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let module = module_with_section(&app, &owner, "Video course").await;
    let video = |source: &str, reference: &str| json!({ "title": "Clip", "kind": "VIDEO", "video": { "source": source, "reference": reference } });
    let ok = app
        .post(
            &format!("/v1/modules/{module}/sections"),
            &owner,
            video(
                "YOUTUBE_VIMEO_URL",
                "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
            ),
        )
        .await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    for (source, reference) in [
        ("YOUTUBE_VIMEO_URL", "https://evil.example.com/x"),
        ("YOUTUBE_VIMEO_URL", "javascript:alert(1)"),
        ("CLOUDFLARE_STREAM", "not-hex"),
        ("BETAMAX", "x"),
    ] {
        let bad = app
            .post(
                &format!("/v1/modules/{module}/sections"),
                &owner,
                video(source, reference),
            )
            .await;
        assert_problem(&bad, 422, "validation_failed");
    }
    app.post(
        &format!("/v1/modules/{module}/sections"),
        &owner,
        json!({ "title": "Outro" }),
    )
    .await;
    let list = app
        .get(&format!("/v1/modules/{module}/sections"), &owner)
        .await;
    let ids: Vec<Value> = list.json["data"]
        .as_array()
        .map(|a| a.iter().map(|s| s["id"].clone()).collect())
        .unwrap_or_default();
    assert_eq!(ids.len(), 3);
    let reversed: Vec<Value> = ids.iter().rev().cloned().collect();
    let order = |ids: &[Value]| {
        app.put(
            &format!("/v1/modules/{module}/sections/order"),
            &owner,
            json!({ "ids": ids }),
        )
    };
    let reordered = app.send(order(&reversed)).await;
    assert_eq!(reordered.status, 200, "{}", reordered.text);
    let now: Vec<Value> = reordered.json["data"]
        .as_array()
        .map(|a| a.iter().map(|s| s["id"].clone()).collect())
        .unwrap_or_default();
    assert_eq!(now, reversed);
    assert_problem(&app.send(order(&ids[..2])).await, 422, "invalid_order");
    let doubled = [ids[0].clone(), ids[0].clone(), ids[1].clone()];
    assert_problem(&app.send(order(&doubled)).await, 422, "invalid_order");
}

#[actix_web::test]
async fn members_pin_modules_for_themselves_and_admins_for_everyone() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    app.open_catalog(&owner).await;
    let first = module_with_section(&app, &owner, "First").await;
    let second = module_with_section(&app, &owner, "Second").await;
    let draft = module_with_section(&app, &owner, "Draft").await;
    app.publish(&owner, &first).await;
    app.publish(&owner, &second).await;

    let pinned = app
        .call(
            Method::PUT,
            &format!("/v1/modules/{second}/pin"),
            &ann,
            None,
        )
        .await;
    assert_eq!(pinned.status, 200, "{}", pinned.text);
    assert_eq!(pinned.json["pinned"], true);
    let mine = app.get("/v1/modules?pinned=true", &ann).await;
    let ids: Vec<&str> = mine.json["data"]
        .as_array()
        .map(|a| a.iter().filter_map(|m| m["id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(ids, [second.as_str()]);
    // Pins are personal.
    assert_eq!(
        app.get("/v1/modules?pinned=true", &owner).await.json["data"],
        json!([])
    );
    // A module you cannot see cannot be pinned.
    assert_problem(
        &app.call(Method::PUT, &format!("/v1/modules/{draft}/pin"), &ann, None)
            .await,
        404,
        "module_not_found",
    );
    let unpinned = app.delete(&format!("/v1/modules/{second}/pin"), &ann).await;
    assert_eq!(unpinned.json["pinned"], false);

    assert_problem(
        &app.call(
            Method::PUT,
            &format!("/v1/modules/{first}/company-pin"),
            &ann,
            None,
        )
        .await,
        403,
        "forbidden",
    );
    let company = app
        .call(
            Method::PUT,
            &format!("/v1/modules/{first}/company-pin"),
            &owner,
            None,
        )
        .await;
    assert_eq!(company.status, 200, "{}", company.text);
    let seen = app.get(&format!("/v1/modules/{first}"), &ann).await;
    assert_eq!(seen.json["company_pinned"], true);
}

#[actix_web::test]
async fn search_finds_words_in_titles_and_section_text_within_what_you_may_see() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    app.open_catalog(&owner).await;
    let forklift = app
        .post("/v1/modules", &owner, json!({ "title": "Forklift safety" }))
        .await
        .json["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    app.post(&format!("/v1/modules/{forklift}/sections"), &owner, json!({ "title": "Gear", "content_html": "<p>Always wear a <b>helmet</b> on the floor</p>" })).await;
    let finance = module_with_section(&app, &owner, "Finance basics").await;
    let hidden = app
        .post(
            "/v1/modules",
            &owner,
            json!({ "title": "Helmet policy draft" }),
        )
        .await
        .json["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    app.post(
        &format!("/v1/modules/{hidden}/sections"),
        &owner,
        json!({ "title": "x" }),
    )
    .await;
    app.publish(&owner, &forklift).await;
    app.publish(&owner, &finance).await;

    let ids = |reply: &Reply| -> Vec<String> {
        reply.json["data"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|m| m["id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut admin_hits = ids(&app.get("/v1/modules?q=helmet", &owner).await);
    admin_hits.sort();
    let mut expected = vec![forklift.clone(), hidden.clone()];
    expected.sort();
    assert_eq!(admin_hits, expected, "by section text and by title");
    assert_eq!(
        ids(&app.get("/v1/modules?q=helmet", &ann).await),
        std::slice::from_ref(&forklift),
        "drafts stay hidden"
    );
    assert_eq!(
        ids(&app.get("/v1/modules?q=FINANCE", &ann).await),
        [finance]
    );
    assert!(
        ids(&app.get("/v1/modules?q=b", &ann).await).is_empty(),
        "HTML tags are not words"
    );
    assert!(
        ids(&app.get("/v1/modules?q=helmet%20-floor", &ann).await).is_empty(),
        "exclusions apply"
    );
    let other = app.owner("other").await;
    assert!(ids(&app.get("/v1/modules?q=helmet", &other).await).is_empty());
}

#[actix_web::test]
async fn publishing_a_changed_module_records_versions_and_readers_see_material_updates() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    app.open_catalog(&owner).await;
    let id = module_with_section(&app, &owner, "Fire drills").await;
    let draft = app.get(&format!("/v1/modules/{id}"), &owner).await;
    assert_eq!(draft.json["version"], 0);
    // Versions only exist for published modules.
    let early = app
        .post(
            &format!("/v1/modules/{id}/versions"),
            &owner,
            json!({ "summary": "x", "kind": "MINOR" }),
        )
        .await;
    assert_problem(&early, 409, "invalid_status_transition");
    app.publish(&owner, &id).await;

    // Ann reads version 1: nothing is "updated" for her.
    let first = app.get(&format!("/v1/modules/{id}"), &ann).await;
    assert_eq!(first.json["version"], 1, "{}", first.text);
    assert_eq!(first.json["updated_since_last_read"], false);
    assert!(first.json["last_accessed_at"].is_string());

    // Nothing changed: no new version.
    let unchanged = app
        .post(
            &format!("/v1/modules/{id}/versions"),
            &owner,
            json!({ "summary": "Nothing", "kind": "MINOR" }),
        )
        .await;
    assert_problem(&unchanged, 409, "no_changes");

    // A minor edit does not flag the module for readers.
    let section = app
        .post(
            &format!("/v1/modules/{id}/sections"),
            &owner,
            json!({ "title": "Typos", "content_html": "<p>fixed</p>" }),
        )
        .await;
    assert_eq!(section.status, 201);
    let minor = app
        .post(
            &format!("/v1/modules/{id}/versions"),
            &owner,
            json!({ "summary": "Fixed typos", "kind": "MINOR" }),
        )
        .await;
    assert_eq!(minor.status, 201, "{}", minor.text);
    assert_eq!(minor.json["version"], 2);
    let after_minor = app.get(&format!("/v1/modules/{id}"), &ann).await;
    assert_eq!(after_minor.json["updated_since_last_read"], false);

    // A material change does, until Ann acknowledges it; unpublishing and republishing after an
    // edit records the next version.
    let etag = app
        .get(&format!("/v1/modules/{id}"), &owner)
        .await
        .header("etag")
        .unwrap_or_default()
        .to_owned();
    let edited = app
        .patch(
            &format!("/v1/modules/{id}"),
            &owner,
            json!({ "description": "New evacuation routes" }),
        )
        .if_match(&etag)
        .await;
    assert_eq!(edited.status, 200);
    let etag = edited.header("etag").unwrap_or_default().to_owned();
    let bad_kind = app
        .post(
            &format!("/v1/modules/{id}/status"),
            &owner,
            json!({ "status": "PUBLISHED", "kind": "HUGE" }),
        )
        .if_match(&etag)
        .await;
    assert_problem(&bad_kind, 422, "validation_failed");
    let etag = app
        .post(
            &format!("/v1/modules/{id}/status"),
            &owner,
            json!({ "status": "DRAFT" }),
        )
        .if_match(&etag)
        .await
        .header("etag")
        .unwrap_or_default()
        .to_owned();
    let republished = app.post(&format!("/v1/modules/{id}/status"), &owner, json!({ "status": "PUBLISHED", "summary": "New evacuation routes", "kind": "MATERIAL" })).if_match(&etag)
    .await;
    assert_eq!(republished.status, 200, "{}", republished.text);
    assert_eq!(republished.json["version"], 3);
    let flagged = app.get(&format!("/v1/modules/{id}"), &ann).await;
    assert_eq!(flagged.json["updated_since_last_read"], true);
    let listed = app.get("/v1/modules", &ann).await;
    assert_eq!(listed.json["data"][0]["updated_since_last_read"], true);
    let ack = app
        .post(&format!("/v1/modules/{id}/acknowledge"), &ann, json!({}))
        .await;
    assert_eq!(ack.status, 204, "{}", ack.text);
    let read = app.get(&format!("/v1/modules/{id}"), &ann).await;
    assert_eq!(read.json["updated_since_last_read"], false);

    // The changelog, newest first, paged.
    let log = app
        .get(&format!("/v1/modules/{id}/versions?limit=2"), &ann)
        .await;
    assert_eq!(log.status, 200, "{}", log.text);
    let versions: Vec<_> = log.json["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| (e["version"].clone(), e["kind"].clone()))
        .collect();
    assert_eq!(
        versions,
        [(json!(3), json!("MATERIAL")), (json!(2), json!("MINOR"))]
    );
    let cursor = log.json["next_cursor"].as_str().unwrap_or_default();
    let rest = app
        .get(&format!("/v1/modules/{id}/versions?cursor={cursor}"), &ann)
        .await;
    assert_eq!(rest.json["data"][0]["version"], 1);
    assert_eq!(rest.json["data"][0]["summary"], "First publication");
    assert_eq!(rest.json["next_cursor"], Value::Null);

    // Only the material version is announced to notifications.
    let mut conn = app.db.conn().await;
    let kinds: Vec<serde_json::Value> = diesel_async::RunQueryDsl::load(
        diesel::QueryDsl::select(
            diesel::QueryDsl::filter(
                guild_db::schema::outbox_events::table,
                diesel::ExpressionMethods::eq(
                    guild_db::schema::outbox_events::kind,
                    "learning.module_updated",
                ),
            ),
            guild_db::schema::outbox_events::payload,
        ),
        &mut conn,
    )
    .await
    .unwrap_or_default();
    assert_eq!(kinds.len(), 1);
    assert_eq!(kinds[0]["version"], 3);
}

/// A create takes its own body: the spec requires a title, and so does the server.
#[actix_web::test]
async fn creating_a_module_requires_a_title_in_the_spec_and_on_the_server() {
    let spec: Value = serde_json::from_str(&guild_api::openapi::spec_json()).unwrap_or_default();
    let schemas = &spec["components"]["schemas"];
    let create = &spec["paths"]["/v1/modules"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"]["$ref"];
    assert_eq!(create, "#/components/schemas/CreateModuleBody");
    assert_eq!(schemas["CreateModuleBody"]["required"], json!(["title"]));
    assert_eq!(
        spec["paths"]["/v1/modules/{module_id}"]["patch"]["requestBody"]["content"]["application/json"]
            ["schema"]["$ref"],
        "#/components/schemas/UpdateModuleBody"
    );
    assert!(schemas["UpdateModuleBody"]["required"].is_null());
    assert_eq!(
        schemas["ModuleStatus"]["enum"],
        json!(["DRAFT", "PUBLISHED", "ARCHIVED"])
    );

    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let empty = app.post("/v1/modules", &owner, json!({})).await;
    assert_problem(&empty, 422, "validation_failed");
    let bad = app
        .post(
            "/v1/modules",
            &owner,
            json!({ "title": "Ladders", "difficulty": "EASY" }),
        )
        .await;
    assert_problem(&bad, 422, "validation_failed");
}

/// A retried create with the same `Idempotency-Key` creates one module and answers the first
/// response again, `ETag` included; the key with another body is refused.
#[actix_web::test]
async fn a_retried_module_create_with_a_key_creates_one_module() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let body = json!({ "title": "Ladders", "tags": ["safety"] });
    let create = |body: &Value| {
        app.post("/v1/modules", &owner, body.clone())
            .idempotency_key("create-ladders-1")
    };
    let first = app.send(create(&body)).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.header("etag"), Some("\"1\""));
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = app.send(create(&body)).await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.header("etag"), Some("\"1\""));
    assert_eq!(again.json["id"], first.json["id"]);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM modules WHERE title = 'Ladders'"
        )
        .await,
        1
    );
    assert_problem(
        &app.send(create(&json!({ "title": "Scaffolds" }))).await,
        422,
        "idempotency_key_reused",
    );
    // A section and a category are created once too.
    let id = first.json["id"].as_str().unwrap_or_default().to_owned();
    for uri in [
        format!("/v1/modules/{id}/sections"),
        "/v1/module-categories".to_owned(),
    ] {
        let body = if uri.ends_with("sections") {
            json!({ "title": "Feet" })
        } else {
            json!({ "name": "Safety" })
        };
        let req = || {
            app.post(&uri, &owner, body.clone())
                .idempotency_key(uri.as_str())
        };
        let one = app.send(req()).await;
        assert_eq!(one.status, 201, "{uri}: {}", one.text);
        let two = app.send(req()).await;
        assert_eq!(two.status, 201, "{uri}: {}", two.text);
        assert_eq!(two.json["id"], one.json["id"], "{uri}");
        assert_eq!(two.header("idempotent-replayed"), Some("true"));
    }
    assert_eq!(count(&app, "SELECT count(*) AS n FROM sections").await, 1);
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM module_categories").await,
        1
    );
}

/// The text `field` of every row over all pages of `uri` at `limit` a page.
async fn walk(app: &TestApp, token: &str, uri: &str, limit: usize, field: &str) -> Vec<String> {
    let rows = app.walk(token, uri, limit, field).await;
    rows.iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// The catalog sorts by an allow-listed key, either way, and pages through it by keyset; a
/// cursor only continues the order it was issued for.
#[actix_web::test]
async fn the_catalog_sorts_and_pages_by_title_creation_or_change() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    for title in ["Bravo", "Alpha", "Charlie", "Bravo"] {
        let created = app
            .post("/v1/modules", &owner, json!({ "title": title }))
            .await;
        assert_eq!(created.status, 201, "{}", created.text);
    }
    let by_title = walk(&app, &owner, "/v1/modules?sort=title", 1, "title").await;
    let mut expected = by_title.clone();
    expected.sort();
    assert_eq!(by_title, expected);
    assert_eq!(by_title.len(), 4);
    let mut reversed = walk(&app, &owner, "/v1/modules?sort=-title", 3, "title").await;
    reversed.reverse();
    assert_eq!(reversed, by_title);
    let oldest = walk(&app, &owner, "/v1/modules", 2, "title").await;
    assert_eq!(oldest, ["Bravo", "Alpha", "Charlie", "Bravo"]);
    let mut newest = walk(&app, &owner, "/v1/modules?sort=-created_at", 2, "id").await;
    newest.reverse();
    assert_eq!(
        newest,
        walk(&app, &owner, "/v1/modules?sort=created_at", 4, "id").await
    );
    assert_eq!(
        walk(&app, &owner, "/v1/modules?sort=-updated_at", 1, "id")
            .await
            .len(),
        4
    );

    let first = app.get("/v1/modules?sort=title&limit=1", &owner).await;
    let cursor = first.json["next_cursor"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!cursor.is_empty(), "{}", first.text);
    assert_problem(
        &app.get(
            &format!("/v1/modules?sort=-created_at&cursor={cursor}"),
            &owner,
        )
        .await,
        422,
        "validation_failed",
    );
    assert_problem(
        &app.get("/v1/modules?sort=name", &owner).await,
        422,
        "validation_failed",
    );
}

/// Sections and categories are lists with the page envelope.
#[actix_web::test]
async fn sections_and_categories_come_a_page_at_a_time() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let module = app
        .post("/v1/modules", &owner, json!({ "title": "Ladders" }))
        .await;
    let id = module.json["id"].as_str().unwrap_or_default().to_owned();
    for title in ["Feet", "Rungs", "Locks"] {
        let made = app
            .post(
                &format!("/v1/modules/{id}/sections"),
                &owner,
                json!({ "title": title }),
            )
            .await;
        assert_eq!(made.status, 201, "{}", made.text);
    }
    assert_eq!(
        walk(
            &app,
            &owner,
            &format!("/v1/modules/{id}/sections"),
            2,
            "title"
        )
        .await,
        ["Feet", "Rungs", "Locks"]
    );
    for (name, order) in [("Zeta", 0), ("Alpha", 0), ("First", -1)] {
        let made = app
            .post(
                "/v1/module-categories",
                &owner,
                json!({ "name": name, "sort_order": order }),
            )
            .await;
        assert_eq!(made.status, 201, "{}", made.text);
    }
    assert_eq!(
        walk(&app, &owner, "/v1/module-categories", 1, "name").await,
        ["First", "Alpha", "Zeta"]
    );
}

/// An app whose module views and section openings are written in batches, on a manual clock at
/// 2026-12-09 09:00; its owner of "acme" and a member, ann.
async fn batched_access_app() -> (
    std::sync::Arc<guild_kernel::ManualClock>,
    TestApp,
    String,
    String,
) {
    let clock = std::sync::Arc::new(guild_kernel::ManualClock::new(
        chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 12, 9, 9, 0, 0)
            .single()
            .expect("a time"),
    ));
    let app = TestApp::with(|state| {
        state.clock = clock.clone();
        state.access_log = std::sync::Arc::new(guild_api::access_log::AccessLog::batched());
    })
    .await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    (clock, app, owner, ann)
}

#[actix_web::test]
async fn batched_module_views_are_written_once_per_flush_never_back_in_time_and_none_is_lost() {
    let (clock, app, owner, ann) = batched_access_app().await;
    let (module, _) = app.published_module(&owner, "Fire drills").await;
    let (gone, _) = app.published_module(&owner, "Old drills").await;
    let at = |time: &str| {
        format!(
            "SELECT count(*) AS n FROM user_module_access WHERE module_id = '{module}' \
             AND last_accessed_at = '2026-12-09T{time}Z'"
        )
    };
    let log = app.state.access_log.clone();
    let gone_etag = app
        .get(&format!("/v1/modules/{gone}"), &owner)
        .await
        .header("etag")
        .unwrap_or_default()
        .to_owned();
    // What the owner viewed so far.
    log.flush(&app.state.db).await;
    let all = "SELECT count(*) AS n FROM user_module_access";
    let before = count(&app, all).await;

    // Three views of one module a minute apart and one of another: each answered with its own
    // time, nothing written yet.
    for minute in 0..3 {
        if minute > 0 {
            clock.advance(chrono::Duration::minutes(1));
        }
        let view = app.get(&format!("/v1/modules/{module}"), &ann).await;
        assert_eq!(view.status, 200, "{}", view.text);
        assert_eq!(
            view.json["last_accessed_at"],
            format!("2026-12-09T09:0{minute}:00Z")
        );
    }
    assert_eq!(
        app.get(&format!("/v1/modules/{gone}"), &ann).await.status,
        200
    );
    assert_eq!(
        count(&app, all).await,
        before,
        "a view is not a write of its own"
    );
    assert_eq!(
        log.pending(),
        2,
        "ann's views of one module are one pending access"
    );

    // The other module is deleted before the flush: its view is skipped, the rest is written.
    let deleted = app
        .delete(&format!("/v1/modules/{gone}"), &owner)
        .if_match(&gone_etag)
        .await;
    assert!(deleted.status < 300, "{}", deleted.text);
    assert_eq!(log.pending(), 2);
    assert_eq!(log.flush(&app.state.db).await, 1);
    assert_eq!(log.pending(), 0);
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) AS n FROM user_module_access WHERE module_id = '{module}' \
                 AND last_accessed_at = '2026-12-09T09:02:00Z' AND seen_version = 1"
            )
        )
        .await,
        1,
        "the latest of the three views, and the version first seen"
    );
    let dashboard = app.get("/v1/me/dashboard", &ann).await;
    assert_eq!(
        dashboard.json["recent"][0]["module_id"],
        module.as_str(),
        "{}",
        dashboard.text
    );

    // Another instance wrote a later view meanwhile: this one's older batch does not move it back.
    guild_tests::execute(
        &app,
        &format!(
            "UPDATE user_module_access SET last_accessed_at = '2026-12-09T09:30:00Z' \
             WHERE module_id = '{module}'"
        ),
    )
    .await;
    clock.advance(chrono::Duration::minutes(1));
    assert_eq!(
        app.get(&format!("/v1/modules/{module}"), &ann).await.status,
        200
    );
    assert_eq!(log.pending(), 1);
    assert_eq!(log.flush(&app.state.db).await, 1);
    assert_eq!(
        count(&app, &at("09:30:00")).await,
        2,
        "ann's row (and the owner's) still at 09:30"
    );

    // Views that cannot be written (the database does not answer) are kept for the next flush.
    clock.advance(chrono::Duration::hours(1));
    assert_eq!(
        app.get(&format!("/v1/modules/{module}"), &ann).await.status,
        200
    );
    // A pool of a server that does not answer: nothing listens on port 1.
    let broken = guild_db::build_pool(&guild_db::PoolConfig {
        url: "postgres://nobody@127.0.0.1:1/none".to_owned(),
        max_size: 1,
        timeout: std::time::Duration::from_millis(500),
    })
    .expect("a pool");
    assert_eq!(log.flush(&broken).await, 0);
    assert_eq!(log.pending(), 1, "kept");
    assert_eq!(log.flush(&app.state.db).await, 1);
    assert_eq!(count(&app, &at("10:03:00")).await, 1);

    // What `guild serve` runs: a flush every interval until it stops.
    let stop = app.state.stopping.child_token();
    let running = tokio::spawn({
        let (log, pool, stop) = (log.clone(), app.state.db.clone(), stop.clone());
        async move {
            log.run(&pool, std::time::Duration::from_millis(20), stop)
                .await;
        }
    });
    clock.advance(chrono::Duration::minutes(1));
    assert_eq!(
        app.get(&format!("/v1/modules/{module}"), &ann).await.status,
        200
    );
    let mut written = 0;
    for _ in 0..100 {
        written = count(&app, &at("10:04:00")).await;
        if written == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(written, 1, "written by the periodic flush");
    stop.cancel();
    running
        .await
        .expect("the flush loop ends when told to stop");
}

#[actix_web::test]
async fn batched_section_openings_coalesce_to_the_later_one_and_a_failed_flush_keeps_them() {
    let (clock, app, owner, ann) = batched_access_app().await;
    let (module, first) = app.published_module(&owner, "Ladders").await;
    let second = app
        .post(
            &format!("/v1/modules/{module}/sections"),
            &owner,
            json!({ "title": "Angles", "content_html": "<p>75 degrees</p>" }),
        )
        .await;
    assert_eq!(second.status, 201, "{}", second.text);
    let second = guild_tests::id(&second.json);
    let log = app.state.access_log.clone();
    log.flush(&app.state.db).await;
    let last = |section: &str, time: &str| {
        format!(
            "SELECT count(*) AS n FROM last_sections WHERE module_id = '{module}' \
             AND section_id = '{section}' AND opened_at = '2026-12-09T{time}Z'"
        )
    };
    let rows = "SELECT count(*) AS n FROM last_sections";
    let continued = async || {
        app.get("/v1/me/dashboard", &ann).await.json["continue_learning"][0]["section_id"].clone()
    };

    // The module, its second section, then a minute later its first: one pending entry, nothing
    // written, and each answered at once.
    assert_eq!(
        app.get(&format!("/v1/modules/{module}"), &ann).await.status,
        200
    );
    let opened = app
        .get(&format!("/v1/modules/{module}/sections/{second}"), &ann)
        .await;
    assert_eq!(opened.status, 200, "{}", opened.text);
    assert_eq!(opened.json["title"], "Angles");
    clock.advance(chrono::Duration::minutes(1));
    let opened = app
        .get(&format!("/v1/modules/{module}/sections/{first}"), &ann)
        .await;
    assert_eq!(opened.status, 200, "{}", opened.text);
    assert_eq!(
        count(&app, rows).await,
        0,
        "an opening is not a write of its own"
    );
    assert_eq!(log.pending(), 1, "ann's views of one module are one entry");
    assert_eq!(continued().await, Value::Null);

    // The database does not answer: kept, and merged with what is noted meanwhile (an older
    // opening noted late does not win).
    let broken = guild_db::build_pool(&guild_db::PoolConfig {
        url: "postgres://nobody@127.0.0.1:1/none".to_owned(),
        max_size: 1,
        timeout: std::time::Duration::from_millis(500),
    })
    .expect("a pool");
    assert_eq!(log.flush(&broken).await, 0);
    assert_eq!(log.pending(), 1, "kept");
    assert_eq!(
        app.get(&format!("/v1/modules/{module}"), &ann).await.status,
        200
    );
    assert_eq!(log.pending(), 1);

    // Written: the module view and the later opening, two rows in one flush.
    assert_eq!(log.flush(&app.state.db).await, 2);
    assert_eq!(log.pending(), 0);
    assert_eq!(count(&app, rows).await, 1);
    assert_eq!(count(&app, &last(&first, "09:01:00")).await, 1);
    assert_eq!(continued().await, first.as_str());

    // Another instance recorded a later opening meanwhile: this one's older batch leaves it.
    guild_tests::execute(
        &app,
        &format!(
            "UPDATE last_sections SET section_id = '{second}', opened_at = '2026-12-09T09:30:00Z' \
             WHERE module_id = '{module}'"
        ),
    )
    .await;
    clock.advance(chrono::Duration::minutes(1));
    assert_eq!(
        app.get(&format!("/v1/modules/{module}/sections/{first}"), &ann)
            .await
            .status,
        200
    );
    log.flush(&app.state.db).await;
    assert_eq!(count(&app, &last(&second, "09:30:00")).await, 1);

    // Nobody else's: a stranger's opening is refused and notes nothing.
    let other = app.owner("globex").await;
    assert_problem(
        &app.get(&format!("/v1/modules/{module}/sections/{first}"), &other)
            .await,
        404,
        "module_not_found",
    );
    assert_eq!(log.pending(), 0);
}
