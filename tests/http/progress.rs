//! The employee learning flow over HTTP: assigned module → sections → quiz → completion →
//! certificate → public verification → PDF; completion races; overrides; prerequisites;
//! self-assessment.

use actix_web::http::Method;
use diesel::QueryableByName;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;
use guild_tests::{access, assert_problem, join, json_request, send, sign_up, world};
use serde_json::{Value, json};

fn get(uri: &str, token: &str) -> actix_http::Request {
    json_request(Method::GET, uri, Some(token), None)
}

fn post(uri: &str, token: &str, body: Value) -> actix_http::Request {
    json_request(Method::POST, uri, Some(token), Some(body))
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_owned()
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn count(w: &guild_tests::World, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<Count>(&mut w.db.conn().await)
        .await
        .map(|c| c.n)
        .unwrap_or(-1)
}

/// A module with `sections` sections and, if `with_quiz`, a one-question quiz (answer "b");
/// published. Returns (module, section ids, quiz id, question id).
async fn build_module<S, B>(
    app: &S,
    owner: &str,
    title: &str,
    sections: usize,
    with_quiz: bool,
) -> (String, Vec<String>, String, String)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let module = send(
        app,
        post(
            "/v1/modules",
            owner,
            json!({ "title": title, "validity_months": 12 }),
        ),
    )
    .await;
    assert_eq!(module.status, 201, "{}", module.text);
    let module = id(&module.json);
    let mut ids = Vec::new();
    for i in 0..sections {
        let s = send(
            app,
            post(
                &format!("/v1/modules/{module}/sections"),
                owner,
                json!({ "title": format!("Part {i}"), "content_html": "<p>Read me</p>" }),
            ),
        )
        .await;
        ids.push(id(&s.json));
    }
    let (mut quiz, mut question) = (String::new(), String::new());
    if with_quiz {
        let q = send(
            app,
            post(
                &format!("/v1/modules/{module}/quizzes"),
                owner,
                json!({ "title": "Check", "passing_score_percent": 100 }),
            ),
        )
        .await;
        assert_eq!(q.status, 201, "{}", q.text);
        quiz = id(&q.json);
        let made = send(
            app,
            post(
                &format!("/v1/quizzes/{quiz}/questions"),
                owner,
                json!({ "kind": "SINGLE_CHOICE", "prompt": "Which?", "points": 1, "options": [
                    { "id": "a", "text": "A", "correct": false },
                    { "id": "b", "text": "B", "correct": true }
                ] }),
            ),
        )
        .await;
        assert_eq!(made.status, 201, "{}", made.text);
        question = id(&made.json);
    }
    let etag = send(app, get(&format!("/v1/modules/{module}"), owner))
        .await
        .header("etag")
        .unwrap_or_default()
        .to_owned();
    let published = send(
        app,
        actix_web::test::TestRequest::post()
            .uri(&format!("/v1/modules/{module}/status"))
            .insert_header(("authorization", format!("Bearer {owner}")))
            .insert_header(("if-match", etag))
            .set_json(json!({ "status": "PUBLISHED" }))
            .to_request(),
    )
    .await;
    assert_eq!(published.status, 200, "{}", published.text);
    (module, ids, quiz, question)
}

async fn take_quiz<S, B>(app: &S, token: &str, quiz: &str, question: &str, answer: &str) -> Value
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let started = send(
        app,
        post(&format!("/v1/quizzes/{quiz}/attempts"), token, json!({})),
    )
    .await;
    assert!(
        started.status == 201 || started.status == 200,
        "{}",
        started.text
    );
    let attempt = id(&started.json);
    let submitted = send(
        app,
        actix_web::test::TestRequest::post()
            .uri(&format!("/v1/attempts/{attempt}/submit"))
            .insert_header(("authorization", format!("Bearer {token}")))
            .insert_header(("idempotency-key", format!("submit-{attempt}")))
            .set_json(json!({ "answers": [{ "question_id": question, "option_ids": [answer] }] }))
            .to_request(),
    )
    .await;
    assert_eq!(submitted.status, 200, "{}", submitted.text);
    submitted.json
}

#[actix_web::test]
async fn an_employee_learns_passes_and_gets_a_verifiable_certificate() {
    let (w, app) = world(|_| {}).await;
    let owner = access(&sign_up(&app, "acme").await);
    let ann = access(&join(&app, &w, &owner, "ann@acme.example.com", "EMPLOYEE").await);
    let ann_id = send(&app, get("/v1/me", &ann)).await.json["user"]["id"].clone();
    let group = id(&send(
        &app,
        post("/v1/groups", &owner, json!({ "name": "Warehouse" })),
    )
    .await
    .json);
    send(
        &app,
        post(
            &format!("/v1/groups/{group}/members"),
            &owner,
            json!({ "user_ids": [ann_id] }),
        ),
    )
    .await;
    let (module, sections, quiz, question) =
        build_module(&app, &owner, "Forklift safety", 2, true).await;
    let assigned = send(
        &app,
        json_request(
            Method::PUT,
            &format!("/v1/modules/{module}/groups/{group}"),
            Some(&owner),
            Some(json!({ "deadline_days": 14, "is_mandatory": true })),
        ),
    )
    .await;
    assert_eq!(assigned.status, 200, "{}", assigned.text);

    // The dashboard shows the assignment with its due date, not started.
    let dashboard = send(&app, get("/v1/me/dashboard", &ann)).await;
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
    let first = send(&app, post(&complete(&sections[0]), &ann, json!({}))).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.json["sections_done"], 1);
    assert_eq!(first.json["percent"], 33, "1 of 2 sections + 1 quiz");
    let again = send(&app, post(&complete(&sections[0]), &ann, json!({}))).await;
    assert_eq!(again.json["sections_done"], 1);
    let all = send(&app, post(&complete(&sections[1]), &ann, json!({}))).await;
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
        send(&app, get(&format!("/v1/modules/{module}/progress"), &ann))
            .await
            .json["completed_at"],
        Value::Null
    );
    let passed = take_quiz(&app, &ann, &quiz, &question, "b").await;
    assert_eq!(passed["passed"], true);
    let progress = send(&app, get(&format!("/v1/modules/{module}/progress"), &ann)).await;
    assert_eq!(progress.json["percent"], 100, "{}", progress.text);
    assert!(progress.json["completed_at"].is_string());
    let certificate_id = progress.json["certificate_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!certificate_id.is_empty());

    // The certificate: listed, valid for the module's 12 months, verifiable without signing in.
    let mine = send(&app, get("/v1/me/certificates", &ann)).await;
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
    let public = send(
        &app,
        actix_web::test::TestRequest::get()
            .uri(&format!("/v1/certificates/verify/{code}"))
            .to_request(),
    )
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
    let ann_name = send(&app, get("/v1/me", &ann)).await.json["user"]["name"].clone();
    assert_eq!(public.json["holder_name"], ann_name);
    assert_eq!(public.json["status"], "VALID");
    assert_problem(
        &send(
            &app,
            actix_web::test::TestRequest::get()
                .uri("/v1/certificates/verify/GC-NOT-A-REAL-CODE-0000")
                .to_request(),
        )
        .await,
        404,
        "certificate_not_found",
    );

    // The PDF.
    let pdf = send(
        &app,
        get(&format!("/v1/certificates/{certificate_id}/pdf"), &ann),
    )
    .await;
    assert_eq!(pdf.status, 200, "{}", pdf.text);
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    assert!(pdf.body.starts_with(b"%PDF-"));
    assert!(String::from_utf8_lossy(&pdf.body).contains("FontFile2"));

    // Exactly one completion and one certificate event.
    assert_eq!(
        count(
            &w,
            "SELECT count(*) AS n FROM outbox_events WHERE kind = 'learning.module_completed'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &w,
            "SELECT count(*) AS n FROM outbox_events WHERE kind = 'learning.certificate_issued'"
        )
        .await,
        1
    );

    // Colleagues and other tenants cannot read it by id (only the public code verifies it);
    // revocation shows in verification.
    let outsider = access(&sign_up(&app, "other").await);
    for path in [
        format!("/v1/certificates/{certificate_id}"),
        format!("/v1/certificates/{certificate_id}/pdf"),
    ] {
        assert_problem(
            &send(&app, get(&path, &outsider)).await,
            404,
            "certificate_not_found",
        );
    }
    let theirs = send(
        &app,
        get(
            &format!(
                "/v1/members/{}/certificates",
                ann_id.as_str().unwrap_or_default()
            ),
            &outsider,
        ),
    )
    .await;
    assert_problem(&theirs, 404, "member_not_found");
    let bob = access(&join(&app, &w, &owner, "bob@acme.example.com", "EMPLOYEE").await);
    assert_problem(
        &send(
            &app,
            get(&format!("/v1/certificates/{certificate_id}"), &bob),
        )
        .await,
        404,
        "certificate_not_found",
    );
    assert_problem(
        &send(
            &app,
            post(
                &format!("/v1/certificates/{certificate_id}/revoke"),
                &bob,
                json!({ "reason": "x" }),
            ),
        )
        .await,
        403,
        "forbidden",
    );
    let revoked = send(
        &app,
        post(
            &format!("/v1/certificates/{certificate_id}/revoke"),
            &owner,
            json!({ "reason": "Issued in error" }),
        ),
    )
    .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    let public = send(
        &app,
        actix_web::test::TestRequest::get()
            .uri(&format!("/v1/certificates/verify/{code}"))
            .to_request(),
    )
    .await;
    assert_eq!(public.json["status"], "REVOKED");
    assert!(!public.text.contains("Issued in error"));
}

#[actix_web::test]
async fn the_last_section_and_the_passing_quiz_racing_complete_the_module_once() {
    let (w, app) = world(|_| {}).await;
    let owner = access(&sign_up(&app, "acme").await);
    send(
        &app,
        json_request(
            Method::PATCH,
            "/v1/tenant",
            Some(&owner),
            Some(json!({ "catalog_open": true })),
        ),
    )
    .await;
    let (module, sections, quiz, question) = build_module(&app, &owner, "Race", 1, true).await;
    let members = 12;
    for i in 0..members {
        let token = access(
            &join(
                &app,
                &w,
                &owner,
                &format!("m{i}@acme.example.com"),
                "EMPLOYEE",
            )
            .await,
        );
        let started = send(
            &app,
            post(&format!("/v1/quizzes/{quiz}/attempts"), &token, json!({})),
        )
        .await;
        let attempt = id(&started.json);
        let section = send(
            &app,
            post(
                &format!("/v1/modules/{module}/sections/{}/complete", sections[0]),
                &token,
                json!({}),
            ),
        );
        let submit = send(
            &app,
            actix_web::test::TestRequest::post()
                .uri(&format!("/v1/attempts/{attempt}/submit"))
                .insert_header(("authorization", format!("Bearer {token}")))
                .insert_header(("idempotency-key", format!("race-{i}")))
                .set_json(json!({ "answers": [{ "question_id": question, "option_ids": ["b"] }] }))
                .to_request(),
        );
        let (a, b) = futures_util::future::join(section, submit).await;
        assert_eq!((a.status, b.status), (200, 200), "{} {}", a.text, b.text);
    }
    assert_eq!(
        count(
            &w,
            "SELECT count(*) AS n FROM module_completions WHERE archived_at IS NULL"
        )
        .await,
        members
    );
    assert_eq!(
        count(
            &w,
            "SELECT count(*) AS n FROM outbox_events WHERE kind = 'learning.module_completed'"
        )
        .await,
        members
    );
    assert_eq!(
        count(&w, "SELECT count(*) AS n FROM certificates").await,
        members
    );
}

#[actix_web::test]
async fn administrators_override_progress_and_revert_it() {
    let (w, app) = world(|_| {}).await;
    let owner = access(&sign_up(&app, "acme").await);
    send(
        &app,
        json_request(
            Method::PATCH,
            "/v1/tenant",
            Some(&owner),
            Some(json!({ "catalog_open": true })),
        ),
    )
    .await;
    let ann = access(&join(&app, &w, &owner, "ann@acme.example.com", "EMPLOYEE").await);
    let ann_id = send(&app, get("/v1/me", &ann)).await.json["user"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (module, sections, _, _) = build_module(&app, &owner, "Ladders", 1, false).await;
    let overrides = format!("/v1/members/{ann_id}/progress-overrides");

    assert_problem(
        &send(
            &app,
            post(
                &overrides,
                &ann,
                json!({ "module_id": module, "action": "COMPLETE", "reason": "me" }),
            ),
        )
        .await,
        403,
        "forbidden",
    );
    assert_problem(
        &send(
            &app,
            post(
                &overrides,
                &owner,
                json!({ "module_id": module, "action": "SKIP", "reason": "x" }),
            ),
        )
        .await,
        422,
        "validation_failed",
    );
    let done = send(
        &app,
        post(&overrides, &owner, json!({ "module_id": module, "action": "COMPLETE", "reason": "Certified externally", "allow_certificate": true })),
    )
    .await;
    assert_eq!(done.status, 201, "{}", done.text);
    let progress = send(&app, get(&format!("/v1/modules/{module}/progress"), &ann)).await;
    assert!(progress.json["completed_at"].is_string());
    assert!(progress.json["certificate_id"].is_string());
    assert_problem(
        &send(
            &app,
            post(
                &overrides,
                &owner,
                json!({ "module_id": module, "action": "COMPLETE", "reason": "twice" }),
            ),
        )
        .await,
        409,
        "already_completed",
    );
    // Reverting it archives the completion and revokes the certificate.
    let reverted = send(
        &app,
        post(
            &format!("/v1/progress-overrides/{}/revert", id(&done.json)),
            &owner,
            json!({}),
        ),
    )
    .await;
    assert_eq!(reverted.status, 200, "{}", reverted.text);
    assert!(reverted.json["reverted_at"].is_string());
    let progress = send(&app, get(&format!("/v1/modules/{module}/progress"), &ann)).await;
    assert_eq!(progress.json["completed_at"], Value::Null);
    let certs = send(&app, get("/v1/me/certificates", &ann)).await;
    assert_eq!(certs.json["data"][0]["status"], "REVOKED");

    // Ann completes it herself; a RESET archives that, its revert restores it.
    let own = send(
        &app,
        post(
            &format!("/v1/modules/{module}/sections/{}/complete", sections[0]),
            &ann,
            json!({}),
        ),
    )
    .await;
    assert!(own.json["completed_at"].is_string(), "{}", own.text);
    let reset = send(
        &app,
        post(
            &overrides,
            &owner,
            json!({ "module_id": module, "action": "RESET", "reason": "Redo after incident" }),
        ),
    )
    .await;
    assert_eq!(reset.status, 201, "{}", reset.text);
    let progress = send(&app, get(&format!("/v1/modules/{module}/progress"), &ann)).await;
    assert_eq!(progress.json["sections_done"], 0);
    assert_eq!(progress.json["completed_at"], Value::Null);
    let restored = send(
        &app,
        post(
            &format!("/v1/progress-overrides/{}/revert", id(&reset.json)),
            &owner,
            json!({}),
        ),
    )
    .await;
    assert_eq!(restored.status, 200, "{}", restored.text);
    let progress = send(&app, get(&format!("/v1/modules/{module}/progress"), &ann)).await;
    assert_eq!(progress.json["sections_done"], 1);
    assert!(progress.json["completed_at"].is_string());
    let certs = send(&app, get("/v1/me/certificates", &ann)).await;
    let statuses: Vec<&str> = certs.json["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["status"].as_str())
        .collect();
    assert_eq!(statuses, ["VALID", "REVOKED"]);
    assert_problem(
        &send(
            &app,
            post(
                &format!("/v1/progress-overrides/{}/revert", id(&reset.json)),
                &owner,
                json!({}),
            ),
        )
        .await,
        409,
        "already_reverted",
    );
    let history = send(&app, get(&overrides, &owner)).await;
    assert_eq!(history.json["data"].as_array().map(Vec::len), Some(2));
    let newest = send(&app, get(&format!("{overrides}?limit=1"), &owner)).await;
    assert_eq!(newest.json["data"][0]["id"], history.json["data"][0]["id"]);
    let next = newest.json["next_cursor"].as_str().unwrap_or_default();
    let older = send(
        &app,
        get(&format!("{overrides}?limit=1&cursor={next}"), &owner),
    )
    .await;
    assert_eq!(older.json["data"][0]["id"], history.json["data"][1]["id"]);
    assert_eq!(older.json["next_cursor"], Value::Null);
    let audit = send(&app, get("/v1/audit-log?limit=100", &owner)).await;
    for action in ["PROGRESS_OVERRIDDEN", "PROGRESS_OVERRIDE_REVERTED"] {
        assert!(audit.text.contains(action), "{action} missing");
    }
}

#[actix_web::test]
async fn prerequisites_lock_a_module_until_completed_and_members_assess_themselves() {
    let (w, app) = world(|_| {}).await;
    let owner = access(&sign_up(&app, "acme").await);
    send(
        &app,
        json_request(
            Method::PATCH,
            "/v1/tenant",
            Some(&owner),
            Some(json!({ "catalog_open": true })),
        ),
    )
    .await;
    let ann = access(&join(&app, &w, &owner, "ann@acme.example.com", "EMPLOYEE").await);
    let (basics, basic_sections, _, _) = build_module(&app, &owner, "Basics", 1, false).await;
    let (advanced, advanced_sections, _, _) =
        build_module(&app, &owner, "Advanced", 1, false).await;
    let set = send(
        &app,
        json_request(
            Method::PUT,
            &format!("/v1/modules/{advanced}/prerequisites"),
            Some(&owner),
            Some(json!({ "ids": [basics] })),
        ),
    )
    .await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(
        send(&app, get(&format!("/v1/modules/{advanced}"), &ann))
            .await
            .json["locked"],
        true
    );
    // Assigned to her, both show on her dashboard, the advanced one locked.
    let ann_id = send(&app, get("/v1/me", &ann)).await.json["user"]["id"].clone();
    let group = id(&send(
        &app,
        post("/v1/groups", &owner, json!({ "name": "Drivers" })),
    )
    .await
    .json);
    send(
        &app,
        post(
            &format!("/v1/groups/{group}/members"),
            &owner,
            json!({ "user_ids": [ann_id] }),
        ),
    )
    .await;
    for module in [&basics, &advanced] {
        let assigned = send(
            &app,
            json_request(
                Method::PUT,
                &format!("/v1/modules/{module}/groups/{group}"),
                Some(&owner),
                Some(json!({ "is_mandatory": false })),
            ),
        )
        .await;
        assert_eq!(assigned.status, 200, "{}", assigned.text);
    }
    let locked_on_dashboard = async || {
        let dashboard = send(&app, get("/v1/me/dashboard", &ann)).await;
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
        &send(
            &app,
            post(
                &format!(
                    "/v1/modules/{advanced}/sections/{}/complete",
                    advanced_sections[0]
                ),
                &ann,
                json!({}),
            ),
        )
        .await,
        409,
        "module_locked",
    );
    send(
        &app,
        post(
            &format!(
                "/v1/modules/{basics}/sections/{}/complete",
                basic_sections[0]
            ),
            &ann,
            json!({}),
        ),
    )
    .await;
    assert_eq!(
        send(&app, get(&format!("/v1/modules/{advanced}"), &ann))
            .await
            .json["locked"],
        false
    );
    assert!(
        locked_on_dashboard()
            .await
            .iter()
            .all(|(_, locked)| !locked),
        "still locked on the dashboard"
    );
    let unlocked = send(
        &app,
        post(
            &format!(
                "/v1/modules/{advanced}/sections/{}/complete",
                advanced_sections[0]
            ),
            &ann,
            json!({}),
        ),
    )
    .await;
    assert_eq!(unlocked.status, 200, "{}", unlocked.text);
    // A section of another module is not found.
    assert_problem(
        &send(
            &app,
            post(
                &format!(
                    "/v1/modules/{advanced}/sections/{}/complete",
                    basic_sections[0]
                ),
                &ann,
                json!({}),
            ),
        )
        .await,
        404,
        "section_not_found",
    );

    let url = format!("/v1/modules/{basics}/self-assessment");
    assert_problem(
        &send(&app, get(&url, &ann)).await,
        404,
        "self_assessment_not_found",
    );
    let bad = send(
        &app,
        json_request(Method::PUT, &url, Some(&ann), Some(json!({ "rating": 6 }))),
    )
    .await;
    assert_problem(&bad, 422, "validation_failed");
    let saved = send(
        &app,
        json_request(
            Method::PUT,
            &url,
            Some(&ann),
            Some(json!({ "rating": 4, "note": "Need practice" })),
        ),
    )
    .await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    let read = send(&app, get(&url, &ann)).await;
    assert_eq!(
        (read.json["rating"].clone(), read.json["note"].clone()),
        (json!(4), json!("Need practice"))
    );
    // The dashboard lists recently opened modules.
    let dashboard = send(&app, get("/v1/me/dashboard", &ann)).await;
    assert!(
        dashboard.json["recent"]
            .as_array()
            .is_some_and(|r| r.len() == 2),
        "{}",
        dashboard.text
    );
    assert_eq!(dashboard.json["completed_count"], 2);
}
