//! The employee learning flow over HTTP: assigned module → sections → quiz → completion →
//! certificate → public verification → PDF; completion races; overrides; prerequisites;
//! self-assessment.

use actix_web::http::Method;
use guild_tests::{TestApp, access, assert_problem, count, id};
use serde_json::{Value, json};
use std::future::IntoFuture;

/// A module with `sections` sections and, if `with_quiz`, a one-question quiz (answer "b");
/// published. Returns (module, section ids, quiz id, question id).
async fn build_module(
    app: &TestApp,
    owner: &str,
    title: &str,
    sections: usize,
    with_quiz: bool,
) -> (String, Vec<String>, String, String) {
    let module = app
        .post(
            "/v1/modules",
            owner,
            json!({ "title": title, "validity_months": 12 }),
        )
        .await;
    assert_eq!(module.status, 201, "{}", module.text);
    let module = id(&module.json);
    let mut ids = Vec::new();
    for i in 0..sections {
        let s = app
            .post(
                &format!("/v1/modules/{module}/sections"),
                owner,
                json!({ "title": format!("Part {i}"), "content_html": "<p>Read me</p>" }),
            )
            .await;
        ids.push(id(&s.json));
    }
    let (mut quiz, mut question) = (String::new(), String::new());
    if with_quiz {
        let which = json!({ "kind": "SINGLE_CHOICE", "prompt": "Which?", "points": 1, "options": [
            { "id": "a", "text": "A", "correct": false },
            { "id": "b", "text": "B", "correct": true }
        ] });
        let settings = json!({ "title": "Check", "passing_score_percent": 100 });
        let (made, questions) = app.quiz(owner, &module, settings, &[which]).await;
        (quiz, question) = (made, id(&questions[0]));
    }
    app.publish(owner, &module).await;
    (module, ids, quiz, question)
}

async fn take_quiz(app: &TestApp, token: &str, quiz: &str, question: &str, answer: &str) -> Value {
    let started = app
        .post(&format!("/v1/quizzes/{quiz}/attempts"), token, json!({}))
        .await;
    assert!(
        started.status == 201 || started.status == 200,
        "{}",
        started.text
    );
    let attempt = id(&started.json);
    let submitted = app
        .submit_attempt(
            token,
            &attempt,
            &format!("submit-{attempt}"),
            json!([{ "question_id": question, "option_ids": [answer] }]),
        )
        .await;
    assert_eq!(submitted.status, 200, "{}", submitted.text);
    submitted.json
}

#[actix_web::test]
async fn an_employee_learns_passes_and_gets_a_verifiable_certificate() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let ann_id = app.get("/v1/me", &ann).await.json["user"]["id"].clone();
    let group = id(&app
        .post("/v1/groups", &owner, json!({ "name": "Warehouse" }))
        .await
        .json);
    app.post(
        &format!("/v1/groups/{group}/members"),
        &owner,
        json!({ "user_ids": [ann_id] }),
    )
    .await;
    let (module, sections, quiz, question) =
        build_module(&app, &owner, "Forklift safety", 2, true).await;
    let assigned = app
        .put(
            &format!("/v1/modules/{module}/groups/{group}"),
            &owner,
            json!({ "deadline_days": 14, "is_mandatory": true }),
        )
        .await;
    assert_eq!(assigned.status, 200, "{}", assigned.text);

    // The dashboard shows the assignment with its due date, not started.
    let dashboard = app.get("/v1/me/dashboard", &ann).await;
    assert_eq!(dashboard.status, 200, "{}", dashboard.text);
    let item = &dashboard.json["assigned"][0];
    assert_eq!(item["module_id"], module.as_str());
    assert_eq!(item["mandatory"], true);
    assert_eq!(item["overdue"], false);
    assert!(item["due_at"].is_string());
    assert_eq!(
        (item["sections_done"].clone(), item["percent"].clone()),
        (json!(0), json!(0))
    );

    // Sections, idempotently.
    let complete = |s: &str| format!("/v1/modules/{module}/sections/{s}/complete");
    let first = app.post(&complete(&sections[0]), &ann, json!({})).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.json["sections_done"], 1);
    assert_eq!(first.json["percent"], 33, "1 of 2 sections + 1 quiz");
    let again = app.post(&complete(&sections[0]), &ann, json!({})).await;
    assert_eq!(again.json["sections_done"], 1);
    let all = app.post(&complete(&sections[1]), &ann, json!({})).await;
    assert_eq!(all.json["sections_done"], 2);
    assert_eq!(
        all.json["completed_at"],
        Value::Null,
        "the quiz is still missing"
    );

    // A failed quiz does not complete it; a passed one does.
    let failed = take_quiz(&app, &ann, &quiz, &question, "a").await;
    assert_eq!(failed["passed"], false);
    assert_eq!(
        app.get(&format!("/v1/modules/{module}/progress"), &ann)
            .await
            .json["completed_at"],
        Value::Null
    );
    let passed = take_quiz(&app, &ann, &quiz, &question, "b").await;
    assert_eq!(passed["passed"], true);
    let progress = app
        .get(&format!("/v1/modules/{module}/progress"), &ann)
        .await;
    assert_eq!(progress.json["percent"], 100, "{}", progress.text);
    assert!(progress.json["completed_at"].is_string());
    let certificate_id = progress.json["certificate_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!certificate_id.is_empty());

    // The certificate: listed, valid for the module's 12 months, verifiable without signing in.
    let mine = app.get("/v1/me/certificates", &ann).await;
    assert_eq!(
        mine.json["data"].as_array().map(Vec::len),
        Some(1),
        "{}",
        mine.text
    );
    let cert = &mine.json["data"][0];
    assert_eq!(cert["status"], "VALID");
    assert_eq!(cert["module_title"], "Forklift safety");
    let issued: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(cert["issued_at"].clone()).unwrap_or_default();
    let expires: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(cert["expires_at"].clone()).unwrap_or_default();
    assert!((365..=366).contains(&(expires - issued).num_days()));
    let code = cert["code"].as_str().unwrap_or_default().to_owned();
    assert!(code.len() >= 20);
    let public = app
        .request(Method::GET, &format!("/v1/certificates/verify/{code}"))
        .await;
    assert_eq!(public.status, 200, "{}", public.text);
    let mut keys: Vec<&str> = public
        .json
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "expires_at",
            "holder_name",
            "issued_at",
            "module_title",
            "status"
        ]
    );
    let ann_name = app.get("/v1/me", &ann).await.json["user"]["name"].clone();
    assert_eq!(public.json["holder_name"], ann_name);
    assert_eq!(public.json["status"], "VALID");
    assert_problem(
        &app.request(
            Method::GET,
            "/v1/certificates/verify/GC-NOT-A-REAL-CODE-0000",
        )
        .await,
        404,
        "certificate_not_found",
    );

    // The PDF.
    let pdf = app
        .get(&format!("/v1/certificates/{certificate_id}/pdf"), &ann)
        .await;
    assert_eq!(pdf.status, 200, "{}", pdf.text);
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    assert!(pdf.body.starts_with(b"%PDF-"));
    assert!(String::from_utf8_lossy(&pdf.body).contains("FontFile2"));

    // Exactly one completion and one certificate event.
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM outbox_events WHERE kind = 'learning.module_completed'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM outbox_events WHERE kind = 'learning.certificate_issued'"
        )
        .await,
        1
    );

    // Colleagues and other tenants cannot read it by id (only the public code verifies it);
    // revocation shows in verification.
    let outsider = app.owner("other").await;
    for path in [
        format!("/v1/certificates/{certificate_id}"),
        format!("/v1/certificates/{certificate_id}/pdf"),
    ] {
        assert_problem(
            &app.get(&path, &outsider).await,
            404,
            "certificate_not_found",
        );
    }
    let theirs = app
        .get(
            &format!(
                "/v1/members/{}/certificates",
                ann_id.as_str().unwrap_or_default()
            ),
            &outsider,
        )
        .await;
    assert_problem(&theirs, 404, "member_not_found");
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    assert_problem(
        &app.get(&format!("/v1/certificates/{certificate_id}"), &bob)
            .await,
        404,
        "certificate_not_found",
    );
    assert_problem(
        &app.post(
            &format!("/v1/certificates/{certificate_id}/revoke"),
            &bob,
            json!({ "reason": "x" }),
        )
        .await,
        403,
        "forbidden",
    );
    let revoked = app
        .post(
            &format!("/v1/certificates/{certificate_id}/revoke"),
            &owner,
            json!({ "reason": "Issued in error" }),
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    let public = app
        .request(Method::GET, &format!("/v1/certificates/verify/{code}"))
        .await;
    assert_eq!(public.json["status"], "REVOKED");
    assert!(!public.text.contains("Issued in error"));
}

#[actix_web::test]
async fn the_last_section_and_the_passing_quiz_racing_complete_the_module_once() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    app.open_catalog(&owner).await;
    let (module, sections, quiz, question) = build_module(&app, &owner, "Race", 1, true).await;
    let members = 12;
    for i in 0..members {
        let token = access(
            &app.join(&owner, &format!("m{i}@acme.example.com"), "EMPLOYEE")
                .await,
        );
        let started = app
            .post(&format!("/v1/quizzes/{quiz}/attempts"), &token, json!({}))
            .await;
        let attempt = id(&started.json);
        let section = app.post(
            &format!("/v1/modules/{module}/sections/{}/complete", sections[0]),
            &token,
            json!({}),
        );
        let submit = app.submit_attempt(
            &token,
            &attempt,
            &format!("race-{i}"),
            json!([{ "question_id": question, "option_ids": ["b"] }]),
        );
        let (a, b) = futures_util::future::join(section.into_future(), submit.into_future()).await;
        assert_eq!((a.status, b.status), (200, 200), "{} {}", a.text, b.text);
    }
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM module_completions WHERE archived_at IS NULL"
        )
        .await,
        members
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM outbox_events WHERE kind = 'learning.module_completed'"
        )
        .await,
        members
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM certificates").await,
        members
    );
}

#[actix_web::test]
async fn administrators_override_progress_and_revert_it() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    app.open_catalog(&owner).await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let ann_id = app.me_id(&ann).await;
    let (module, sections, _, _) = build_module(&app, &owner, "Ladders", 1, false).await;
    let overrides = format!("/v1/members/{ann_id}/progress-overrides");

    assert_problem(
        &app.post(
            &overrides,
            &ann,
            json!({ "module_id": module, "action": "COMPLETE", "reason": "me" }),
        )
        .await,
        403,
        "forbidden",
    );
    assert_problem(
        &app.post(
            &overrides,
            &owner,
            json!({ "module_id": module, "action": "SKIP", "reason": "x" }),
        )
        .await,
        422,
        "validation_failed",
    );
    let done = app.post(&overrides, &owner, json!({ "module_id": module, "action": "COMPLETE", "reason": "Certified externally", "allow_certificate": true }))
    .await;
    assert_eq!(done.status, 201, "{}", done.text);
    let progress = app
        .get(&format!("/v1/modules/{module}/progress"), &ann)
        .await;
    assert!(progress.json["completed_at"].is_string());
    assert!(progress.json["certificate_id"].is_string());
    assert_problem(
        &app.post(
            &overrides,
            &owner,
            json!({ "module_id": module, "action": "COMPLETE", "reason": "twice" }),
        )
        .await,
        409,
        "already_completed",
    );
    // Reverting it archives the completion and revokes the certificate.
    let reverted = app
        .post(
            &format!("/v1/progress-overrides/{}/revert", id(&done.json)),
            &owner,
            json!({}),
        )
        .await;
    assert_eq!(reverted.status, 200, "{}", reverted.text);
    assert!(reverted.json["reverted_at"].is_string());
    let progress = app
        .get(&format!("/v1/modules/{module}/progress"), &ann)
        .await;
    assert_eq!(progress.json["completed_at"], Value::Null);
    let certs = app.get("/v1/me/certificates", &ann).await;
    assert_eq!(certs.json["data"][0]["status"], "REVOKED");

    // Ann completes it herself; a RESET archives that, its revert restores it.
    let own = app
        .post(
            &format!("/v1/modules/{module}/sections/{}/complete", sections[0]),
            &ann,
            json!({}),
        )
        .await;
    assert!(own.json["completed_at"].is_string(), "{}", own.text);
    let reset = app
        .post(
            &overrides,
            &owner,
            json!({ "module_id": module, "action": "RESET", "reason": "Redo after incident" }),
        )
        .await;
    assert_eq!(reset.status, 201, "{}", reset.text);
    let progress = app
        .get(&format!("/v1/modules/{module}/progress"), &ann)
        .await;
    assert_eq!(progress.json["sections_done"], 0);
    assert_eq!(progress.json["completed_at"], Value::Null);
    let restored = app
        .post(
            &format!("/v1/progress-overrides/{}/revert", id(&reset.json)),
            &owner,
            json!({}),
        )
        .await;
    assert_eq!(restored.status, 200, "{}", restored.text);
    let progress = app
        .get(&format!("/v1/modules/{module}/progress"), &ann)
        .await;
    assert_eq!(progress.json["sections_done"], 1);
    assert!(progress.json["completed_at"].is_string());
    let certs = app.get("/v1/me/certificates", &ann).await;
    let statuses: Vec<&str> = certs.json["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["status"].as_str())
        .collect();
    assert_eq!(statuses, ["VALID", "REVOKED"]);
    assert_problem(
        &app.post(
            &format!("/v1/progress-overrides/{}/revert", id(&reset.json)),
            &owner,
            json!({}),
        )
        .await,
        409,
        "already_reverted",
    );
    let history = app.get(&overrides, &owner).await;
    assert_eq!(history.json["data"].as_array().map(Vec::len), Some(2));
    let newest = app.get(&format!("{overrides}?limit=1"), &owner).await;
    assert_eq!(newest.json["data"][0]["id"], history.json["data"][0]["id"]);
    let next = newest.json["next_cursor"].as_str().unwrap_or_default();
    let older = app
        .get(&format!("{overrides}?limit=1&cursor={next}"), &owner)
        .await;
    assert_eq!(older.json["data"][0]["id"], history.json["data"][1]["id"]);
    assert_eq!(older.json["next_cursor"], Value::Null);
    let audit = app.get("/v1/audit-log?limit=100", &owner).await;
    for action in ["PROGRESS_OVERRIDDEN", "PROGRESS_OVERRIDE_REVERTED"] {
        assert!(audit.text.contains(action), "{action} missing");
    }
}

#[actix_web::test]
async fn prerequisites_lock_a_module_until_completed_and_members_assess_themselves() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    app.open_catalog(&owner).await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let (basics, basic_sections, _, _) = build_module(&app, &owner, "Basics", 1, false).await;
    let (advanced, advanced_sections, _, _) =
        build_module(&app, &owner, "Advanced", 1, false).await;
    let set = app
        .put(
            &format!("/v1/modules/{advanced}/prerequisites"),
            &owner,
            json!({ "ids": [basics] }),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(
        app.get(&format!("/v1/modules/{advanced}"), &ann).await.json["locked"],
        true
    );
    // Assigned to her, both show on her dashboard, the advanced one locked.
    let ann_id = app.get("/v1/me", &ann).await.json["user"]["id"].clone();
    let group = id(&app
        .post("/v1/groups", &owner, json!({ "name": "Drivers" }))
        .await
        .json);
    app.post(
        &format!("/v1/groups/{group}/members"),
        &owner,
        json!({ "user_ids": [ann_id] }),
    )
    .await;
    for module in [&basics, &advanced] {
        let assigned = app
            .put(
                &format!("/v1/modules/{module}/groups/{group}"),
                &owner,
                json!({ "is_mandatory": false }),
            )
            .await;
        assert_eq!(assigned.status, 200, "{}", assigned.text);
    }
    let locked_on_dashboard = async || {
        let dashboard = app.get("/v1/me/dashboard", &ann).await;
        let mut locked: Vec<(String, bool)> = dashboard.json["assigned"]
            .as_array()
            .unwrap_or_else(|| panic!("{}", dashboard.text))
            .iter()
            .map(|m| {
                (
                    m["module_id"].as_str().unwrap_or_default().to_owned(),
                    m["locked"] == true,
                )
            })
            .collect();
        locked.sort();
        locked
    };
    let mut expected = vec![(basics.clone(), false), (advanced.clone(), true)];
    expected.sort();
    assert_eq!(locked_on_dashboard().await, expected);
    assert_problem(
        &app.post(
            &format!(
                "/v1/modules/{advanced}/sections/{}/complete",
                advanced_sections[0]
            ),
            &ann,
            json!({}),
        )
        .await,
        409,
        "module_locked",
    );
    app.post(
        &format!(
            "/v1/modules/{basics}/sections/{}/complete",
            basic_sections[0]
        ),
        &ann,
        json!({}),
    )
    .await;
    assert_eq!(
        app.get(&format!("/v1/modules/{advanced}"), &ann).await.json["locked"],
        false
    );
    assert!(
        locked_on_dashboard()
            .await
            .iter()
            .all(|(_, locked)| !locked),
        "still locked on the dashboard"
    );
    let unlocked = app
        .post(
            &format!(
                "/v1/modules/{advanced}/sections/{}/complete",
                advanced_sections[0]
            ),
            &ann,
            json!({}),
        )
        .await;
    assert_eq!(unlocked.status, 200, "{}", unlocked.text);
    // A section of another module is not found.
    assert_problem(
        &app.post(
            &format!(
                "/v1/modules/{advanced}/sections/{}/complete",
                basic_sections[0]
            ),
            &ann,
            json!({}),
        )
        .await,
        404,
        "section_not_found",
    );

    let url = format!("/v1/modules/{basics}/self-assessment");
    assert_problem(&app.get(&url, &ann).await, 404, "self_assessment_not_found");
    let bad = app.put(&url, &ann, json!({ "rating": 6 })).await;
    assert_problem(&bad, 422, "validation_failed");
    let saved = app
        .put(&url, &ann, json!({ "rating": 4, "note": "Need practice" }))
        .await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    let read = app.get(&url, &ann).await;
    assert_eq!(
        (read.json["rating"].clone(), read.json["note"].clone()),
        (json!(4), json!("Need practice"))
    );
    // The dashboard lists recently opened modules.
    let dashboard = app.get("/v1/me/dashboard", &ann).await;
    assert!(
        dashboard.json["recent"]
            .as_array()
            .is_some_and(|r| r.len() == 2),
        "{}",
        dashboard.text
    );
    assert_eq!(dashboard.json["completed_count"], 2);
}
