//! Learning paths: editing with ETags and permissions, visibility and tenant isolation, group
//! assignment (due dates on the dashboard, PATH_ASSIGNED), strict order, completion exactly once
//! with its certificate (PDF, public verification), XP and notification, editing a published
//! path without losing progress, self-enrolment and "my learning".

use actix_web::http::Method;
use guild_tests::{TestApp, assert_problem, count, execute, id};
use serde_json::{Value, json};
use std::future::IntoFuture;

/// A published module titled `title` with one section, the catalog left as it is; returns the
/// module and its section.
async fn module(app: &TestApp, owner: &str, title: &str) -> (String, String) {
    let ids = app
        .module_with_section(
            owner,
            json!({ "title": title }),
            json!({ "title": "Intro", "content_html": "<p>Hi</p>" }),
        )
        .await;
    app.publish(owner, &ids.0).await;
    ids
}

/// A path of `modules` (`strict` order), published; returns its id.
async fn published_path(app: &TestApp, owner: &str, modules: &[&str], strict: bool) -> String {
    let created = app
        .post(
            "/v1/paths",
            owner,
            json!({ "title": "Safety basics", "strict_order": strict, "validity_months": 12,
                    "module_ids": modules }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let path = id(&created.json);
    let etag = created.header("etag").unwrap_or_default().to_owned();
    let published = app
        .post(
            &format!("/v1/paths/{path}/status"),
            owner,
            json!({ "status": "PUBLISHED" }),
        )
        .if_match(&etag)
        .await;
    assert_eq!(published.status, 200, "{}", published.text);
    path
}

async fn assign(app: &TestApp, owner: &str, path: &str, group: &str, body: Value) -> Value {
    let reply = app
        .put(&format!("/v1/paths/{path}/groups/{group}"), owner, body)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json
}

async fn complete(app: &TestApp, token: &str, module: &str, section: &str) -> u16 {
    app.post(
        &format!("/v1/modules/{module}/sections/{section}/complete"),
        token,
        json!({}),
    )
    .await
    .status
}

#[actix_web::test]
async fn editors_write_paths_with_etags_and_members_see_only_the_paths_they_have() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let ann_id = app.me_id(&ann).await;
    let (a, _) = module(&app, &owner, "Ladders").await;
    let (b, _) = module(&app, &owner, "Scaffolds").await;

    // Only MANAGE_ALL_MODULES holders create paths.
    let refused = app
        .post("/v1/paths", &ann, json!({ "title": "Mine" }))
        .await;
    assert_problem(&refused, 403, "forbidden");
    let unknown = app
        .post(
            "/v1/paths",
            &owner,
            json!({ "title": "X", "module_ids": [uuid::Uuid::now_v7()] }),
        )
        .await;
    assert_problem(&unknown, 404, "module_not_found");
    let created = app
        .post(
            "/v1/paths",
            &owner,
            json!({ "title": "Working at height", "module_ids": [a, b] }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let path = id(&created.json);
    let uri = format!("/v1/paths/{path}");
    assert_eq!(created.header("etag"), Some("\"1\""));
    let order: Vec<&str> = created.json["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["module_id"].as_str().unwrap())
        .collect();
    assert_eq!(order, [a.as_str(), b.as_str()]);

    // If-Match is required and must be current.
    let missing = app
        .patch(&uri, &owner, json!({ "module_ids": [b, a] }))
        .await;
    assert_problem(&missing, 428, "precondition_required");
    let stale = app
        .patch(&uri, &owner, json!({ "module_ids": [b, a] }))
        .if_match("\"7\"")
        .await;
    assert_problem(&stale, 412, "precondition_failed");
    let reordered = app
        .patch(
            &uri,
            &owner,
            json!({ "module_ids": [b, a], "strict_order": true }),
        )
        .if_match("\"1\"")
        .await;
    assert_eq!(reordered.status, 200, "{}", reordered.text);
    assert_eq!(reordered.json["modules"][0]["module_id"], b.as_str());
    assert_eq!(reordered.json["strict_order"], true);

    // A draft is nobody's but its editors'; a published one needs every module published.
    assert_problem(&app.get(&uri, &ann).await, 404, "path_not_found");
    let (draft, _) = app
        .module_with_section(
            &owner,
            json!({ "title": "Draft" }),
            json!({ "title": "S", "content_html": "<p>x</p>" }),
        )
        .await;
    let etag = app.etag(&uri, &owner).await;
    let with_draft = app
        .patch(&uri, &owner, json!({ "module_ids": [a, draft] }))
        .if_match(&etag)
        .await;
    assert_eq!(with_draft.status, 200);
    let unpublishable = app
        .post(
            &format!("{uri}/status"),
            &owner,
            json!({ "status": "PUBLISHED" }),
        )
        .if_match(&app.etag(&uri, &owner).await)
        .await;
    assert_problem(&unpublishable, 422, "path_not_publishable");
    let fixed = app
        .patch(&uri, &owner, json!({ "module_ids": [a, b] }))
        .if_match(&app.etag(&uri, &owner).await)
        .await;
    assert_eq!(fixed.status, 200);
    let published = app
        .post(
            &format!("{uri}/status"),
            &owner,
            json!({ "status": "PUBLISHED" }),
        )
        .if_match(&app.etag(&uri, &owner).await)
        .await;
    assert_eq!(published.status, 200, "{}", published.text);

    // Published, but neither assigned to Ann nor in an open catalog: still 404 to her.
    assert_problem(&app.get(&uri, &ann).await, 404, "path_not_found");
    assert_eq!(app.get("/v1/paths", &ann).await.json["data"], json!([]));

    // Assigned to her group with a deadline: she sees it, its due date on her dashboard, and is
    // told once.
    let group = app.group(&owner, "Floor", &[&ann_id]).await;
    let assigned = assign(
        &app,
        &owner,
        &path,
        &group,
        json!({ "deadline_days": 30, "is_mandatory": true }),
    )
    .await;
    assert_eq!(assigned["groups"][0]["deadline_days"], 30);
    // Seeing it is not stewarding it.
    let refused = app
        .put(
            &format!("{uri}/groups/{group}"),
            &ann,
            json!({ "deadline_days": 30 }),
        )
        .await;
    assert_problem(&refused, 403, "forbidden");
    let seen = app.get(&uri, &ann).await;
    assert_eq!(seen.status, 200, "{}", seen.text);
    assert_eq!(seen.json["mandatory"], true);
    assert!(seen.json["due_at"].is_string());
    assert_eq!(
        seen.json["groups"],
        json!([]),
        "members do not see the assignments"
    );
    let dashboard = app.get("/v1/me/dashboard", &ann).await;
    let paths = dashboard.json["paths"].as_array().unwrap();
    assert_eq!(paths.len(), 1, "{}", dashboard.text);
    assert_eq!(paths[0]["path_id"], path.as_str());
    assert_eq!(paths[0]["due_at"], seen.json["due_at"]);
    assert_eq!(paths[0]["overdue"], false);
    assert_eq!(paths[0]["modules_total"], 2);
    // The compliance matrix lists her for the mandatory path alone, with its due date.
    let matrix = app.get("/v1/compliance/matrix", &owner).await;
    assert_eq!(matrix.status, 200, "{}", matrix.text);
    let row = matrix.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["user_id"] == ann_id.as_str())
        .cloned()
        .expect("Ann's row");
    assert_eq!(row["cells"], json!([]));
    assert_eq!(row["paths"][0]["path_id"], path.as_str());
    assert_eq!(row["paths"][0]["status"], "NOT_STARTED");
    assert_eq!(row["paths"][0]["due_at"], seen.json["due_at"]);
    assert_eq!(matrix.json["paths"][&path], "Working at height");
    app.run_worker().await;
    app.run_worker().await;
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) AS n FROM notifications WHERE kind = 'PATH_ASSIGNED' \
                 AND user_id = '{ann_id}' AND entity_kind = 'LEARNING_PATH'"
            )
        )
        .await,
        1
    );

    // Another tenant's path is as if absent, to its owner too.
    let other = app.owner("globex").await;
    assert_problem(&app.get(&uri, &other).await, 404, "path_not_found");
    let foreign = app
        .patch(&uri, &other, json!({ "title": "Mine now" }))
        .if_match(&app.etag(&uri, &owner).await)
        .await;
    assert_problem(&foreign, 404, "path_not_found");
}

#[actix_web::test]
async fn a_strict_path_unlocks_its_modules_in_order() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    app.open_catalog(&owner).await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let ann_id = app.me_id(&ann).await;
    let (first, first_section) = module(&app, &owner, "First").await;
    let (second, second_section) = module(&app, &owner, "Second").await;
    let path = published_path(&app, &owner, &[&first, &second], true).await;
    let group = app.group(&owner, "Floor", &[&ann_id]).await;
    assign(&app, &owner, &path, &group, json!({})).await;

    // Ann has the path: the second module is locked until the first is complete.
    let locked = app
        .post(
            &format!("/v1/modules/{second}/sections/{second_section}/complete"),
            &ann,
            json!({}),
        )
        .await;
    assert_problem(&locked, 409, "module_locked");
    let progress = app.get(&format!("/v1/paths/{path}/progress"), &ann).await;
    assert_eq!(progress.status, 200, "{}", progress.text);
    assert_eq!(progress.json["modules"][0]["locked"], false);
    assert_eq!(progress.json["modules"][1]["locked"], true);
    let catalog = app.get(&format!("/v1/modules/{second}"), &ann).await;
    assert_eq!(catalog.json["locked"], true);
    assert_eq!(complete(&app, &ann, &first, &first_section).await, 200);
    assert_eq!(complete(&app, &ann, &second, &second_section).await, 200);
    let progress = app.get(&format!("/v1/paths/{path}/progress"), &ann).await;
    assert_eq!(progress.json["modules_done"], 2);
    assert_eq!(progress.json["percent"], 100);
    assert!(progress.json["completed_at"].is_string());

    // Bob does not have the path (he sees it in the open catalog): nothing locks for him.
    assert_eq!(complete(&app, &bob, &second, &second_section).await, 200);
}

#[actix_web::test]
async fn the_last_two_modules_racing_complete_the_path_once() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    app.open_catalog(&owner).await;
    let (a, a_section) = module(&app, &owner, "Ladders").await;
    let (b, b_section) = module(&app, &owner, "Scaffolds").await;
    let path = published_path(&app, &owner, &[&a, &b], false).await;
    let members = 10;
    let mut tokens = Vec::new();
    for i in 0..members {
        let token = app
            .member(&owner, &format!("m{i}@acme.example.com"), "EMPLOYEE")
            .await;
        let first = app.post(
            &format!("/v1/modules/{a}/sections/{a_section}/complete"),
            &token,
            json!({}),
        );
        let second = app.post(
            &format!("/v1/modules/{b}/sections/{b_section}/complete"),
            &token,
            json!({}),
        );
        let (x, y) = futures_util::future::join(first.into_future(), second.into_future()).await;
        assert_eq!((x.status, y.status), (200, 200), "{} {}", x.text, y.text);
        tokens.push(token);
    }
    for (sql, expected) in [
        (
            "SELECT count(*) AS n FROM path_completions WHERE archived_at IS NULL",
            members,
        ),
        ("SELECT count(*) AS n FROM path_certificates", members),
        (
            "SELECT count(*) AS n FROM outbox_events WHERE kind = 'progress.path_completed'",
            members,
        ),
    ] {
        assert_eq!(count(&app, sql).await, expected, "{sql}");
    }
    // Delivered twice, the completion awards its XP and notifies once.
    app.run_worker().await;
    execute(
        &app,
        "UPDATE outbox_events SET status = 'PENDING', available_at = now() \
         WHERE kind = 'progress.path_completed'",
    )
    .await;
    app.run_worker().await;
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) AS n FROM xp_transactions WHERE source = 'PATH_COMPLETED' \
                 AND source_entity_id = '{path}' AND amount = 150"
            )
        )
        .await,
        members
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM notifications WHERE kind = 'PATH_COMPLETED'"
        )
        .await,
        members
    );

    // The certificate: its holder reads it and its PDF; anyone verifies its code publicly.
    let progress = app
        .get(&format!("/v1/paths/{path}/progress"), &tokens[0])
        .await;
    let certificate = progress.json["certificate_id"].as_str().unwrap().to_owned();
    let got = app
        .get(&format!("/v1/path-certificates/{certificate}"), &tokens[0])
        .await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.json["path_title"], "Safety basics");
    assert_eq!(got.json["status"], "VALID");
    assert!(got.json["expires_at"].is_string(), "12 months of validity");
    let code = got.json["code"].as_str().unwrap().to_owned();
    assert!(code.starts_with("GP-"));
    let other = app
        .get(&format!("/v1/path-certificates/{certificate}"), &tokens[1])
        .await;
    assert_problem(&other, 404, "certificate_not_found");
    let pdf = app
        .get(
            &format!("/v1/path-certificates/{certificate}/pdf"),
            &tokens[0],
        )
        .await;
    assert_eq!(pdf.status, 200);
    assert!(pdf.body.starts_with(b"%PDF"));
    let public = app
        .request(Method::GET, &format!("/v1/certificates/verify/{code}"))
        .await;
    assert_eq!(public.status, 200, "{}", public.text);
    assert_eq!(public.json["module_title"], "Safety basics");
    assert_eq!(public.json["status"], "VALID");
}

#[actix_web::test]
async fn editing_a_published_path_keeps_what_members_completed() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    app.open_catalog(&owner).await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let (a, a_section) = module(&app, &owner, "Ladders").await;
    let (b, _) = module(&app, &owner, "Scaffolds").await;
    let (c, _) = module(&app, &owner, "Harnesses").await;
    let path = published_path(&app, &owner, &[&a, &b], false).await;
    assert_eq!(complete(&app, &ann, &a, &a_section).await, 200);
    let uri = format!("/v1/paths/{path}");
    let edited = app
        .patch(&uri, &owner, json!({ "module_ids": [c, a, b] }))
        .if_match(&app.etag(&uri, &owner).await)
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    let progress = app.get(&format!("{uri}/progress"), &ann).await;
    assert_eq!(progress.json["modules_total"], 3);
    assert_eq!(progress.json["modules_done"], 1);
    assert_eq!(progress.json["percent"], 33);
    assert!(progress.json["modules"][1]["completed_at"].is_string());
    // Deleting a path nobody completed works; the editors' ETag guards it.
    let deleted = app
        .delete(&uri, &owner)
        .if_match(&app.etag(&uri, &owner).await)
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_problem(&app.get(&uri, &owner).await, 404, "path_not_found");
}

#[actix_web::test]
async fn members_enrol_in_an_open_catalog_and_see_it_in_my_learning() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let (a, a_section) = module(&app, &owner, "Ladders").await;
    let (b, _) = module(&app, &owner, "Scaffolds").await;
    let path = published_path(&app, &owner, &[&a, &b], true).await;

    // A closed catalog: the path is not Ann's to see, nor to enrol in.
    let closed = app
        .put(&format!("/v1/paths/{path}/enrolment"), &ann, json!({}))
        .await;
    assert_problem(&closed, 404, "path_not_found");
    let closed = app
        .put(&format!("/v1/modules/{a}/enrolment"), &owner, json!({}))
        .await;
    assert_problem(&closed, 403, "catalog_closed");

    app.open_catalog(&owner).await;
    let enrolled = app
        .put(&format!("/v1/paths/{path}/enrolment"), &ann, json!({}))
        .await;
    assert_eq!(enrolled.status, 200, "{}", enrolled.text);
    let again = app
        .put(&format!("/v1/paths/{path}/enrolment"), &ann, json!({}))
        .await;
    assert_eq!(again.json["id"], enrolled.json["id"], "once");
    let module_enrolment = app
        .put(&format!("/v1/modules/{a}/enrolment"), &ann, json!({}))
        .await;
    assert_eq!(module_enrolment.status, 200, "{}", module_enrolment.text);

    // Enrolled in a strict path, its order now locks its second module for her.
    assert_eq!(
        app.get(&format!("/v1/modules/{b}"), &ann).await.json["locked"],
        true
    );
    assert_eq!(complete(&app, &ann, &a, &a_section).await, 200);
    let learning = app.get("/v1/me/learning", &ann).await;
    assert_eq!(learning.status, 200, "{}", learning.text);
    assert_eq!(learning.json["modules"].as_array().unwrap().len(), 1);
    assert_eq!(learning.json["modules"][0]["module_id"], a.as_str());
    assert_eq!(learning.json["modules"][0]["enrolled"], true);
    assert_eq!(learning.json["modules"][0]["percent"], 100);
    assert_eq!(learning.json["paths"][0]["path_id"], path.as_str());
    assert_eq!(learning.json["paths"][0]["modules_done"], 1);
    assert_eq!(learning.json["paths"][0]["percent"], 50);

    // Leaving keeps what she completed and takes the path off her list.
    let left = app
        .delete(&format!("/v1/paths/{path}/enrolment"), &ann)
        .await;
    assert_eq!(left.status, 204);
    let learning = app.get("/v1/me/learning", &ann).await;
    assert_eq!(learning.json["paths"], json!([]));
    assert_eq!(learning.json["modules"][0]["percent"], 100);

    // At most 200 enrolments per member: with 199 more, the 201st is refused.
    let ann_id = app.me_id(&ann).await;
    execute(
        &app,
        &format!(
            "WITH made AS (INSERT INTO modules (tenant_id, id, title, status, created_by) \
               SELECT m.tenant_id, gen_random_uuid(), 'Bulk ' || g, 'PUBLISHED', m.user_id \
               FROM memberships m, generate_series(1, 199) g WHERE m.user_id = '{ann_id}' \
               RETURNING tenant_id, id) \
             INSERT INTO enrolments (tenant_id, id, user_id, module_id, enrolled_at) \
             SELECT tenant_id, gen_random_uuid(), '{ann_id}', id, now() FROM made"
        ),
    )
    .await;
    let over = app
        .put(&format!("/v1/modules/{b}/enrolment"), &ann, json!({}))
        .await;
    assert_problem(&over, 409, "enrolment_limit_reached");
}

#[actix_web::test]
async fn api_keys_manage_paths_only_with_the_permission_and_enrol_only_acting_as_a_member() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    app.open_catalog(&owner).await;
    let (a, _) = module(&app, &owner, "Ladders").await;
    let (_, editor) = app
        .api_key(
            &owner,
            json!({ "name": "LMS sync", "permissions": ["MANAGE_ALL_MODULES"] }),
        )
        .await;
    let (_, reader) = app
        .api_key(
            &owner,
            json!({ "name": "Reports", "permissions": ["VIEW_AUDIT_LOG"] }),
        )
        .await;
    let created = app
        .post(
            "/v1/paths",
            &editor,
            json!({ "title": "Synced", "module_ids": [a] }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let refused = app
        .post("/v1/paths", &reader, json!({ "title": "Not mine" }))
        .await;
    assert_problem(&refused, 403, "forbidden");
    let path = published_path(&app, &owner, &[&a], false).await;
    let enrol = app
        .put(&format!("/v1/paths/{path}/enrolment"), &editor, json!({}))
        .await;
    assert_problem(&enrol, 403, "api_key_not_permitted");
    let learning = app.get("/v1/me/learning", &editor).await;
    assert_problem(&learning, 403, "api_key_not_permitted");
}

/// A tenant where Ann completed the published path of one module; returns the owner, Ann, her
/// id, the module, the path and her path certificate.
async fn completed_path(app: &TestApp) -> (String, String, String, String, String, String) {
    let owner = app.owner("acme").await;
    app.open_catalog(&owner).await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let ann_id = app.me_id(&ann).await;
    let (module, section) = module(app, &owner, "Ladders").await;
    let path = published_path(app, &owner, &[&module], false).await;
    assert_eq!(complete(app, &ann, &module, &section).await, 200);
    let progress = app.get(&format!("/v1/paths/{path}/progress"), &ann).await;
    let certificate = progress.json["certificate_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!certificate.is_empty(), "{}", progress.text);
    (owner, ann, ann_id, module, path, certificate)
}

#[actix_web::test]
async fn revoking_a_path_certificate_needs_the_permission_is_audited_and_verifies_as_revoked() {
    let app = TestApp::new().await;
    let (owner, ann, _, _, _, certificate) = completed_path(&app).await;
    let uri = format!("/v1/path-certificates/{certificate}/revoke");
    let reason = json!({ "reason": "Issued by mistake" });

    assert_problem(
        &app.post(&uri, &ann, reason.clone()).await,
        403,
        "forbidden",
    );
    let other = app.owner("globex").await;
    assert_problem(
        &app.post(&uri, &other, reason.clone()).await,
        404,
        "certificate_not_found",
    );
    assert_problem(
        &app.post(&uri, &owner, json!({ "reason": "" })).await,
        422,
        "validation_failed",
    );

    let revoked = app.post(&uri, &owner, reason.clone()).await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    assert_eq!(revoked.json["status"], "REVOKED");
    assert_problem(
        &app.post(&uri, &owner, reason).await,
        409,
        "already_revoked",
    );
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) AS n FROM audit_log WHERE action = 'PATH_CERTIFICATE_REVOKED' \
                 AND entity_id = '{certificate}' AND metadata->>'reason' = 'Issued by mistake'"
            )
        )
        .await,
        1
    );
    let code = revoked.json["code"].as_str().unwrap_or_default().to_owned();
    let public = app
        .request(Method::GET, &format!("/v1/certificates/verify/{code}"))
        .await;
    assert_eq!(public.status, 200, "{}", public.text);
    assert_eq!(public.json["status"], "REVOKED");
    let mine = app
        .get(&format!("/v1/path-certificates/{certificate}"), &ann)
        .await;
    assert_eq!(mine.json["status"], "REVOKED");

    // An API key revokes only with OVERRIDE_PROGRESS.
    let (_, reader) = app
        .api_key(
            &owner,
            json!({ "name": "BI", "permissions": ["VIEW_ALL_PROGRESS"] }),
        )
        .await;
    assert_problem(
        &app.post(&uri, &reader, json!({ "reason": "Again" })).await,
        403,
        "forbidden",
    );
}

#[actix_web::test]
async fn an_override_reset_archives_the_completions_of_the_paths_holding_the_module() {
    let app = TestApp::new().await;
    let (owner, ann, ann_id, module, path, _) = completed_path(&app).await;
    let active = "SELECT count(*) AS n FROM path_completions WHERE archived_at IS NULL";
    assert_eq!(count(&app, active).await, 1);

    let reset = app
        .post(
            &format!("/v1/members/{ann_id}/progress-overrides"),
            &owner,
            json!({ "module_id": module, "action": "RESET", "reason": "Retake after the incident" }),
        )
        .await;
    assert_eq!(reset.status, 201, "{}", reset.text);
    assert_eq!(count(&app, active).await, 0);
    let progress = app.get(&format!("/v1/paths/{path}/progress"), &ann).await;
    assert_eq!(
        progress.json["completed_at"],
        Value::Null,
        "{}",
        progress.text
    );

    // Reverting the reset brings the path's completion back with the module's.
    let reverted = app
        .post(
            &format!("/v1/progress-overrides/{}/revert", id(&reset.json)),
            &owner,
            json!({}),
        )
        .await;
    assert_eq!(reverted.status, 200, "{}", reverted.text);
    assert_eq!(count(&app, active).await, 1);
    let progress = app.get(&format!("/v1/paths/{path}/progress"), &ann).await;
    assert!(
        progress.json["completed_at"].is_string(),
        "{}",
        progress.text
    );
}

#[actix_web::test]
async fn the_compliance_csv_export_has_a_line_per_mandatory_path() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let ann_id = app.me_id(&ann).await;
    let group = app.group(&owner, "Floor", &[&ann_id]).await;
    let (module, _) = module(&app, &owner, "Ladders").await;
    let path = published_path(&app, &owner, &[&module], false).await;
    assign(
        &app,
        &owner,
        &path,
        &group,
        json!({ "deadline_days": 30, "is_mandatory": true }),
    )
    .await;
    let csv = app.get("/v1/compliance/matrix/export", &owner).await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    let lines: Vec<&str> = csv.text.lines().collect();
    assert!(lines[0].ends_with(",kind"), "{}", csv.text);
    let line = lines
        .iter()
        .find(|l| l.starts_with(ann_id.as_str()) && l.contains(path.as_str()))
        .unwrap_or_else(|| panic!("a line for Ann's path: {}", csv.text));
    assert!(line.contains(",\"Safety basics\",NOT_STARTED,"), "{line}");
    assert!(line.ends_with(",PATH"), "{line}");
    // Every line names its kind.
    assert!(
        lines
            .iter()
            .all(|l| *l == lines[0] || l.ends_with(",MODULE") || l.ends_with(",PATH")),
        "{}",
        csv.text
    );
}
