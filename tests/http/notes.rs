//! Notes and bookmarks through the API: strictly the member's own (administrators and managers
//! get 404 and see nothing in any list), only on sections the member may see, searchable,
//! bounded; and "continue where you left off" on the dashboard.

use actix_web::http::Method;
use guild_tests::{TestApp, assert_problem, count, execute, id};
use serde_json::{Value, json};

/// A published module with a section in a tenant whose catalog is open; returns both ids.
async fn module(app: &TestApp, owner: &str, title: &str, section: &str) -> (String, String) {
    let (module, section) = app
        .module_with_section(
            owner,
            json!({ "title": title }),
            json!({ "title": section }),
        )
        .await;
    app.publish(owner, &module).await;
    (module, section)
}

fn ids(reply: &Value) -> Vec<String> {
    reply["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(id)
        .collect()
}

#[actix_web::test]
async fn notes_are_invisible_to_everyone_else_admins_and_managers_included() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    app.open_catalog(&owner).await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let ada = app.member(&owner, "ada@acme.example.com", "ADMIN").await;
    let max = app.member(&owner, "max@acme.example.com", "EMPLOYEE").await;
    let (ann_id, max_id) = (app.me_id(&ann).await, app.me_id(&max).await);
    let managed = app
        .put(
            &format!("/v1/members/{ann_id}/manager"),
            &owner,
            json!({ "manager_id": max_id }),
        )
        .await;
    assert_eq!(managed.status, 200, "{}", managed.text);
    let (module, section) = module(&app, &owner, "Ladders", "Angles").await;

    let written = app
        .post(
            "/v1/me/notes",
            &ann,
            json!({ "section_id": section, "body": "Secret ladder trick: one out for four up" }),
        )
        .await;
    assert_eq!(written.status, 201, "{}", written.text);
    assert_eq!(written.json["module_id"], module.as_str());
    assert_eq!(written.json["section_title"], "Angles");
    let note = id(&written.json);
    let uri = format!("/v1/me/notes/{note}");
    assert_eq!(app.get(&uri, &ann).await.status, 200);
    let bookmarked = app
        .put(&format!("/v1/me/bookmarks/{section}"), &ann, json!({}))
        .await;
    assert_eq!(bookmarked.status, 200, "{}", bookmarked.text);

    // The owner, an admin and Ann's manager: 404 on the note, whatever the method.
    for (who, token) in [("owner", &owner), ("admin", &ada), ("manager", &max)] {
        assert_problem(&app.get(&uri, token).await, 404, "note_not_found");
        assert_problem(
            &app.patch(&uri, token, json!({ "body": "Overwritten" }))
                .await,
            404,
            "note_not_found",
        );
        assert_problem(&app.delete(&uri, token).await, 404, "note_not_found");
        // Nothing in any list of theirs, searched or by module.
        for list in [
            "/v1/me/notes".to_owned(),
            "/v1/me/notes?q=ladder".to_owned(),
            format!("/v1/me/notes?module_id={module}"),
            format!("/v1/me/notes?section_id={section}"),
            "/v1/me/bookmarks".to_owned(),
            format!("/v1/me/bookmarks?module_id={module}"),
        ] {
            let reply = app.get(&list, token).await;
            assert_eq!(reply.status, 200, "{who} {list}: {}", reply.text);
            assert_eq!(reply.json["data"], json!([]), "{who} {list}");
        }
        // Nor in what they read of Ann's progress.
        let progress = app
            .get(&format!("/v1/members/{ann_id}/progress"), token)
            .await;
        assert!(
            !progress.text.contains("Secret ladder trick"),
            "{who}: {}",
            progress.text
        );
    }
    // Another tenant's owner: 404 too.
    let other = app.owner("globex").await;
    assert_problem(&app.get(&uri, &other).await, 404, "note_not_found");

    // Ann's note is untouched, and hers to read and export.
    let mine = app.get(&uri, &ann).await;
    assert_eq!(
        mine.json["body"],
        "Secret ladder trick: one out for four up"
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM section_notes").await,
        1
    );
    let listed = app.get("/v1/me/notes?q=ladder", &ann).await;
    assert_eq!(ids(&listed.json), [note]);
}

#[actix_web::test]
async fn notes_are_searched_listed_by_module_edited_and_deleted() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    app.open_catalog(&owner).await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let (ladders, angles) = module(&app, &owner, "Ladders", "Angles").await;
    let (fire, exits) = module(&app, &owner, "Fire safety", "Exits").await;
    let write = |section: &str, body: &str| {
        app.post(
            "/v1/me/notes",
            &ann,
            json!({ "section_id": section, "body": body }),
        )
    };
    let a = id(&write(&angles, "Ladders lean at 75 degrees").await.json);
    let b = id(&write(&angles, "Check the feet before climbing").await.json);
    let c = id(&write(&exits, "Exits are green; never use the lift")
        .await
        .json);

    // Newest first; a page at a time.
    let all = app.walk(&ann, "/v1/me/notes", 1, "id").await;
    assert_eq!(all, [json!(c), json!(b), json!(a)]);
    let by_module = app
        .get(&format!("/v1/me/notes?module_id={ladders}"), &ann)
        .await;
    assert_eq!(ids(&by_module.json), [b.clone(), a.clone()]);
    let other_module = app
        .get(&format!("/v1/me/notes?module_id={fire}"), &ann)
        .await;
    assert_eq!(ids(&other_module.json), [c.as_str()]);
    // Full text, with English stemming: "ladder" finds "Ladders", "climb" finds "climbing".
    for (q, expected) in [
        ("ladder", vec![a.clone()]),
        ("climb", vec![b.clone()]),
        ("lift OR degrees", vec![c.clone(), a.clone()]),
        ("\"green lift\"", vec![]),
        ("submarine", vec![]),
    ] {
        let found = app
            .get(&format!("/v1/me/notes?q={}", urlencode(q)), &ann)
            .await;
        assert_eq!(found.status, 200, "{q}: {}", found.text);
        assert_eq!(ids(&found.json), expected, "{q}");
    }

    let edited = app
        .patch(
            &format!("/v1/me/notes/{a}"),
            &ann,
            json!({ "body": "Ladders: 1 out for every 4 up" }),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    assert_eq!(edited.json["body"], "Ladders: 1 out for every 4 up");
    let found = app.get("/v1/me/notes?q=degrees", &ann).await;
    assert_eq!(ids(&found.json), Vec::<String>::new());
    let deleted = app.delete(&format!("/v1/me/notes/{b}"), &ann).await;
    assert_eq!(deleted.status, 204);
    assert_problem(
        &app.get(&format!("/v1/me/notes/{b}"), &ann).await,
        404,
        "note_not_found",
    );
    assert_problem(
        &app.delete(&format!("/v1/me/notes/{b}"), &ann).await,
        404,
        "note_not_found",
    );
}

fn urlencode(q: &str) -> String {
    q.replace('%', "%25")
        .replace(' ', "%20")
        .replace('"', "%22")
}

#[actix_web::test]
async fn notes_and_bookmarks_need_a_section_the_member_may_see() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    // Published but neither assigned to Ann nor in an open catalog: invisible to her.
    let (hidden, section) = module(&app, &owner, "Board only", "Minutes").await;
    let note = json!({ "section_id": section, "body": "Seen?" });
    assert_problem(
        &app.post("/v1/me/notes", &ann, note.clone()).await,
        404,
        "section_not_found",
    );
    assert_problem(
        &app.put(&format!("/v1/me/bookmarks/{section}"), &ann, json!({}))
            .await,
        404,
        "section_not_found",
    );
    assert_problem(
        &app.get(&format!("/v1/me/notes?module_id={hidden}"), &ann)
            .await,
        404,
        "module_not_found",
    );
    // Another tenant's section is as absent.
    let other = app.owner("globex").await;
    assert_problem(
        &app.post("/v1/me/notes", &other, note.clone()).await,
        404,
        "section_not_found",
    );
    assert_problem(
        &app.put(&format!("/v1/me/bookmarks/{section}"), &other, json!({}))
            .await,
        404,
        "section_not_found",
    );

    // Once the catalog opens she may; when the module is no longer shown to her, her note
    // stays hers to read and delete, but no longer to edit.
    app.open_catalog(&owner).await;
    let written = app.post("/v1/me/notes", &ann, note).await;
    assert_eq!(written.status, 201, "{}", written.text);
    let closed = app
        .patch("/v1/tenant", &owner, json!({ "catalog_open": false }))
        .await;
    assert_eq!(closed.status, 200, "{}", closed.text);
    let uri = format!("/v1/me/notes/{}", id(&written.json));
    assert_eq!(app.get(&uri, &ann).await.status, 200);
    assert_problem(
        &app.patch(&uri, &ann, json!({ "body": "Changed" })).await,
        404,
        "section_not_found",
    );
    assert_eq!(app.delete(&uri, &ann).await.status, 204);

    // An API key that does not act as a member has no notes.
    let (_, key) = app
        .api_key(
            &owner,
            json!({ "name": "BI", "permissions": ["VIEW_AUDIT_LOG"] }),
        )
        .await;
    for (method, uri) in [
        (Method::GET, "/v1/me/notes".to_owned()),
        (Method::GET, "/v1/me/bookmarks".to_owned()),
        (Method::PUT, format!("/v1/me/bookmarks/{section}")),
    ] {
        assert_problem(
            &app.call(method, &uri, &key, None).await,
            403,
            "api_key_not_permitted",
        );
    }
}

#[actix_web::test]
async fn notes_and_bookmarks_are_bounded_with_a_clear_422() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    app.open_catalog(&owner).await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let ann_id = app.me_id(&ann).await;
    let (module, section) = module(&app, &owner, "Ladders", "Angles").await;

    for body in [
        json!({ "section_id": section, "body": "" }),
        json!({ "section_id": section, "body": "   \n " }),
        json!({ "section_id": section, "body": "x".repeat(10_001) }),
        json!({ "section_id": section }),
    ] {
        assert_problem(
            &app.post("/v1/me/notes", &ann, body).await,
            422,
            "validation_failed",
        );
    }
    let longest = app
        .post(
            "/v1/me/notes",
            &ann,
            json!({ "section_id": section, "body": "é".repeat(10_000) }),
        )
        .await;
    assert_eq!(longest.status, 201, "{}", longest.text);
    assert_problem(
        &app.get(&format!("/v1/me/notes?q={}", "a".repeat(201)), &ann)
            .await,
        422,
        "validation_failed",
    );

    // 2,000 notes at most: with 1,998 more, one more fits and the next is refused.
    execute(
        &app,
        &format!(
            "INSERT INTO section_notes (tenant_id, id, user_id, module_id, section_id, body, created_at, updated_at) \
             SELECT s.tenant_id, gen_random_uuid(), '{ann_id}', s.module_id, s.id, 'Bulk ' || g, now(), now() \
             FROM sections s, generate_series(1, 1998) g WHERE s.id = '{section}'"
        ),
    )
    .await;
    let last = json!({ "section_id": section, "body": "The last one" });
    assert_eq!(
        app.post("/v1/me/notes", &ann, last.clone()).await.status,
        201
    );
    assert_problem(
        &app.post("/v1/me/notes", &ann, last).await,
        422,
        "section_note_limit_reached",
    );

    // 1,000 bookmarks at most: with 999 sections bookmarked, one more fits, and bookmarking it
    // again is no new bookmark; the next section is refused.
    let next = "0190a0b2-7e55-7c3e-9d6b-000000000999";
    execute(
        &app,
        &format!(
            "WITH made AS (INSERT INTO sections (tenant_id, id, module_id, title, sort_order) \
               SELECT s.tenant_id, CASE WHEN g = 1000 THEN '{next}'::uuid ELSE gen_random_uuid() END, \
                      s.module_id, 'Bulk ' || g, 100 + g \
               FROM sections s, generate_series(1, 1000) g WHERE s.id = '{section}' \
               RETURNING tenant_id, id, module_id, sort_order) \
             INSERT INTO section_bookmarks (tenant_id, user_id, section_id, module_id, created_at) \
             SELECT tenant_id, '{ann_id}', id, module_id, now() FROM made WHERE sort_order < 1100"
        ),
    )
    .await;
    let one = app
        .put(&format!("/v1/me/bookmarks/{section}"), &ann, json!({}))
        .await;
    assert_eq!(one.status, 200, "{}", one.text);
    let again = app
        .put(&format!("/v1/me/bookmarks/{section}"), &ann, json!({}))
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.json["created_at"], one.json["created_at"]);
    let bookmarked = app
        .walk(
            &ann,
            &format!("/v1/me/bookmarks?module_id={module}"),
            200,
            "section_id",
        )
        .await;
    assert_eq!(bookmarked.len(), 1000);
    assert!(!bookmarked.contains(&json!(next)));
    assert_problem(
        &app.put(&format!("/v1/me/bookmarks/{next}"), &ann, json!({}))
            .await,
        422,
        "bookmark_limit_reached",
    );
    // Removing one makes room; removing it twice is no error.
    let removed = app
        .delete(&format!("/v1/me/bookmarks/{section}"), &ann)
        .await;
    assert_eq!(removed.status, 204);
    assert_eq!(
        app.delete(&format!("/v1/me/bookmarks/{section}"), &ann)
            .await
            .status,
        204
    );
    assert_eq!(
        app.put(&format!("/v1/me/bookmarks/{next}"), &ann, json!({}))
            .await
            .status,
        200
    );
}

#[actix_web::test]
async fn bookmarks_are_listed_newest_first_and_by_module() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    app.open_catalog(&owner).await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let (ladders, angles) = module(&app, &owner, "Ladders", "Angles").await;
    let (_, exits) = module(&app, &owner, "Fire safety", "Exits").await;
    for section in [&angles, &exits] {
        let put = app
            .put(&format!("/v1/me/bookmarks/{section}"), &ann, json!({}))
            .await;
        assert_eq!(put.status, 200, "{}", put.text);
    }
    let all = app.walk(&ann, "/v1/me/bookmarks", 1, "section_id").await;
    assert_eq!(all, [json!(exits), json!(angles)]);
    let by_module = app
        .get(&format!("/v1/me/bookmarks?module_id={ladders}"), &ann)
        .await;
    assert_eq!(by_module.json["data"][0]["section_id"], angles.as_str());
    assert_eq!(by_module.json["data"][0]["module_title"], "Ladders");
    assert_eq!(by_module.json["data"][0]["section_title"], "Angles");
    assert_eq!(by_module.json["data"].as_array().map(Vec::len), Some(1));
}

#[actix_web::test]
async fn the_dashboard_continues_at_the_last_section_opened_with_the_video_position() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    app.open_catalog(&owner).await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let (module, text) = app
        .module_with_section(
            &owner,
            json!({ "title": "Forklifts" }),
            json!({ "title": "Controls" }),
        )
        .await;
    let video = app
        .post(
            &format!("/v1/modules/{module}/sections"),
            &owner,
            json!({ "title": "Clip", "kind": "VIDEO", "video": {
                "source": "YOUTUBE_VIMEO_URL", "reference": "https://www.youtube.com/watch?v=dQw4w9WgXcQ" } }),
        )
        .await;
    assert_eq!(video.status, 201, "{}", video.text);
    let video = id(&video.json);
    app.publish(&owner, &module).await;
    let dashboard = || app.get("/v1/me/dashboard", &ann);

    // Opening the module records no section.
    assert_eq!(
        app.get(&format!("/v1/modules/{module}"), &ann).await.status,
        200
    );
    assert_eq!(dashboard().await.json["continue_learning"], json!([]));

    // Opening a section does.
    let opened = app
        .get(&format!("/v1/modules/{module}/sections/{text}"), &ann)
        .await;
    assert_eq!(opened.status, 200, "{}", opened.text);
    let board = dashboard().await;
    let entry = &board.json["continue_learning"][0];
    assert_eq!(entry["module_id"], module.as_str(), "{}", board.text);
    assert_eq!(entry["module_title"], "Forklifts");
    assert_eq!(entry["section_id"], text.as_str());
    assert_eq!(entry["section_title"], "Controls");
    assert_eq!(entry["video_position_seconds"], Value::Null);

    // Playing the video moves it there, with where to resume.
    let played = app
        .post(
            &format!("/v1/sections/{video}/video-progress"),
            &ann,
            json!({ "intervals": [[0.0, 30.0]], "position": 30.0, "duration": 120.0 }),
        )
        .await;
    assert_eq!(played.status, 200, "{}", played.text);
    let board = dashboard().await;
    let entry = &board.json["continue_learning"][0];
    assert_eq!(entry["section_id"], video.as_str(), "{}", board.text);
    assert_eq!(entry["section_kind"], "VIDEO");
    assert_eq!(entry["video_position_seconds"], 30.0);
    assert_eq!(entry["video_watched_percent"], 25);

    // The module's progress shows it on the video's section, and nothing on the other.
    let progress = app
        .get(&format!("/v1/modules/{module}/progress"), &ann)
        .await;
    assert_eq!(progress.status, 200, "{}", progress.text);
    let sections = &progress.json["sections"];
    assert_eq!(sections[0]["section_id"], text.as_str());
    assert_eq!(sections[0]["video"], Value::Null);
    assert_eq!(sections[1]["video"]["position_seconds"], 30.0);
    assert_eq!(sections[1]["video"]["watched_percent"], 25);

    // Completing a section is working on it too.
    let done = app
        .call(
            Method::POST,
            &format!("/v1/modules/{module}/sections/{text}/complete"),
            &ann,
            None,
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    let board = dashboard().await;
    assert_eq!(
        board.json["continue_learning"][0]["section_id"],
        text.as_str()
    );

    // A completed module is no longer one to continue.
    app.post(
        &format!("/v1/sections/{video}/video-progress"),
        &ann,
        json!({ "intervals": [[30.0, 120.0]], "position": 120.0, "duration": 120.0 }),
    )
    .await;
    let finished = app
        .call(
            Method::POST,
            &format!("/v1/modules/{module}/sections/{video}/complete"),
            &ann,
            None,
        )
        .await;
    assert!(
        finished.json["completed_at"].is_string(),
        "{}",
        finished.text
    );
    assert_eq!(dashboard().await.json["continue_learning"], json!([]));
    // Nobody else's dashboard shows Ann's place.
    assert_eq!(
        app.get("/v1/me/dashboard", &owner).await.json["continue_learning"],
        json!([])
    );
}
