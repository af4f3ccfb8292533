//! Compliance over HTTP with a manual clock: expiring and expired certificates, progress reset
//! and re-assignment, renewal, deadline reminders, and the matrix in each permission scope.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use guild_kernel::{Clock, ManualClock};
use guild_tests::{Reply, TestApp, World, assert_problem, count, id};
use serde_json::{Value, json};

async fn events(w: &World, kind: &str) -> i64 {
    count(
        w,
        &format!("SELECT count(*) AS n FROM outbox_events WHERE kind = '{kind}'"),
    )
    .await
}

/// Runs one job of `job`'s kind through the worker (with the app's clock).
async fn run_job<J: guild_db::jobs::Job>(w: &World, job: &J) {
    let mut conn = w.db.conn().await;
    guild_db::jobs::enqueue(&mut conn, None, job)
        .await
        .expect("enqueue");
    drop(conn);
    w.run_worker().await;
}

async fn scan(w: &World) {
    run_job(w, &guild_progress::compliance::ExpiryScanJob::default()).await;
}

async fn remind(w: &World) {
    run_job(
        w,
        &guild_progress::compliance::DeadlineReminderScan::default(),
    )
    .await;
}

fn move_to(clock: &ManualClock, at: DateTime<Utc>) {
    clock.advance(at - clock.now());
}

struct Setup {
    owner: String,
    ann: String,
    ann_id: String,
    group: String,
    module: String,
    section: String,
    quiz: String,
    question: String,
}

/// A tenant whose group "Floor" (with Ann) has a mandatory module (12 months validity, 14 days
/// deadline) with one section and a one-question quiz.
async fn setup(app: &TestApp) -> Setup {
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let ann_id = app.me_id(&ann).await;
    let group = app.group(&owner, "Floor", &[&ann_id]).await;
    let (module, section) = app
        .module_with_section(
            &owner,
            json!({ "title": "Fire safety", "validity_months": 12 }),
            json!({ "title": "Exits" }),
        )
        .await;
    let question = json!({ "kind": "TRUE_FALSE", "prompt": "Use the lift in a fire?", "points": 1, "options": [
        { "id": "t", "text": "True", "correct": false },
        { "id": "f", "text": "False", "correct": true }
    ] });
    let (quiz, questions) = app
        .quiz(
            &owner,
            &module,
            json!({ "title": "Check", "passing_score_percent": 100 }),
            &[question],
        )
        .await;
    let question = id(&questions[0]);
    app.publish(&owner, &module).await;
    let assigned = app
        .put(
            &format!("/v1/modules/{module}/groups/{group}"),
            &owner,
            json!({ "deadline_days": 14, "is_mandatory": true }),
        )
        .await;
    assert_eq!(assigned.status, 200, "{}", assigned.text);
    Setup {
        owner,
        ann,
        ann_id,
        group,
        module,
        section,
        quiz,
        question,
    }
}

async fn complete(app: &TestApp, s: &Setup, key: &str) {
    let done = app
        .post(
            &format!("/v1/modules/{}/sections/{}/complete", s.module, s.section),
            &s.ann,
            json!({}),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    let started = app
        .post(
            &format!("/v1/quizzes/{}/attempts", s.quiz),
            &s.ann,
            json!({}),
        )
        .await;
    let submitted = app
        .submit_attempt(
            &s.ann,
            &id(&started.json),
            key,
            json!([{ "question_id": s.question, "option_ids": ["f"] }]),
        )
        .await;
    assert_eq!(submitted.json["passed"], true, "{}", submitted.text);
}

async fn ann_cell(app: &TestApp, s: &Setup) -> Value {
    let matrix = app.get("/v1/compliance/matrix", &s.owner).await;
    assert_eq!(matrix.status, 200, "{}", matrix.text);
    matrix.json["data"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["user_id"] == s.ann_id.as_str())
        .map(|r| r["cells"][0].clone())
        .unwrap_or_default()
}

#[actix_web::test]
async fn certificates_expire_progress_resets_and_the_module_is_reassigned_once() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let c = clock.clone();
    let app = TestApp::with(move |state| state.clock = c).await;
    let s = setup(&app).await;
    assert_eq!(ann_cell(&app, &s).await["status"], "NOT_STARTED");
    complete(&app, &s, "first").await;
    let cert = app.get("/v1/me/certificates", &s.ann).await.json["data"][0].clone();
    let expires: DateTime<Utc> =
        serde_json::from_value(cert["expires_at"].clone()).unwrap_or_default();
    assert_eq!(ann_cell(&app, &s).await["status"], "COMPLIANT");

    // Nothing to do yet.
    scan(&app).await;
    assert_eq!(events(&app, "learning.module_expiring").await, 0);

    // 29 days before expiry: one expiring event, however often the scan runs.
    move_to(&clock, expires - Duration::days(29));
    scan(&app).await;
    scan(&app).await;
    assert_eq!(events(&app, "learning.module_expiring").await, 1);
    let cell = ann_cell(&app, &s).await;
    assert_eq!(cell["status"], "EXPIRING");

    // Past expiry: progress reset, attempts archived but still listed, re-assigned.
    move_to(&clock, expires + Duration::hours(1));
    assert_eq!(ann_cell(&app, &s).await["status"], "EXPIRED");
    scan(&app).await;
    assert_eq!(events(&app, "learning.module_expired").await, 1);
    let progress = app
        .get(&format!("/v1/modules/{}/progress", s.module), &s.ann)
        .await;
    assert_eq!(progress.json["sections_done"], 0, "{}", progress.text);
    assert_eq!(progress.json["quizzes_passed"], 0);
    assert_eq!(progress.json["completed_at"], Value::Null);
    let attempts = app
        .get(&format!("/v1/quizzes/{}/attempts", s.quiz), &s.ann)
        .await;
    assert_eq!(
        attempts.json["data"].as_array().map(Vec::len),
        Some(1),
        "{}",
        attempts.text
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM quiz_attempts WHERE archived_at IS NOT NULL"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM module_completions WHERE archived_at IS NOT NULL"
        )
        .await,
        1
    );
    let dashboard = app.get("/v1/me/dashboard", &s.ann).await;
    let due: DateTime<Utc> =
        serde_json::from_value(dashboard.json["assigned"][0]["due_at"].clone()).unwrap_or_default();
    assert!(
        (due - (clock.now() + Duration::days(14)))
            .num_seconds()
            .abs()
            < 5,
        "re-assigned with a new 14-day deadline: {due}"
    );
    assert_eq!(ann_cell(&app, &s).await["status"], "EXPIRED");
    let certs = app.get("/v1/me/certificates", &s.ann).await;
    assert_eq!(certs.json["data"][0]["status"], "EXPIRED");

    // The second run the same day changes nothing.
    let before = (
        count(&app, "SELECT count(*) AS n FROM outbox_events").await,
        count(
            &app,
            "SELECT count(*) AS n FROM module_completions WHERE archived_at IS NOT NULL",
        )
        .await,
        count(&app, "SELECT count(*) AS n FROM assignment_cycles").await,
    );
    scan(&app).await;
    let after = (
        count(&app, "SELECT count(*) AS n FROM outbox_events").await,
        count(
            &app,
            "SELECT count(*) AS n FROM module_completions WHERE archived_at IS NOT NULL",
        )
        .await,
        count(&app, "SELECT count(*) AS n FROM assignment_cycles").await,
    );
    assert_eq!(before, after);

    // Not renewed within the new deadline: overdue.
    move_to(&clock, due + Duration::hours(1));
    let cell = ann_cell(&app, &s).await;
    assert_eq!(cell["status"], "OVERDUE");
    // Taking it again makes Ann compliant, with a new certificate; no renewal (it had expired).
    complete(&app, &s, "second").await;
    assert_eq!(ann_cell(&app, &s).await["status"], "COMPLIANT");
    assert_eq!(events(&app, "learning.compliance_renewal").await, 0);
}

#[actix_web::test]
async fn renewing_before_expiry_is_a_renewal_and_the_old_certificate_expiring_changes_nothing() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let c = clock.clone();
    let app = TestApp::with(move |state| state.clock = c).await;
    let s = setup(&app).await;
    complete(&app, &s, "first").await;
    let expires: DateTime<Utc> = serde_json::from_value(
        app.get("/v1/me/certificates", &s.ann).await.json["data"][0]["expires_at"].clone(),
    )
    .unwrap_or_default();
    let renewal = format!("/v1/modules/{}/renewal", s.module);
    assert_problem(
        &app.post(&renewal, &s.ann, json!({})).await,
        409,
        "invalid_status_transition",
    );
    move_to(&clock, expires - Duration::days(10));
    let started = app.post(&renewal, &s.ann, json!({})).await;
    assert_eq!(started.status, 204, "{}", started.text);
    // Still certified while renewing.
    assert_eq!(ann_cell(&app, &s).await["status"], "EXPIRING");
    complete(&app, &s, "renewal").await;
    assert_eq!(events(&app, "learning.compliance_renewal").await, 1);
    let certs = app.get("/v1/me/certificates", &s.ann).await;
    assert_eq!(certs.json["data"].as_array().map(Vec::len), Some(2));
    // A page at a time, newest first: the renewal's certificate, then the first one.
    let newest = app.get("/v1/me/certificates?limit=1", &s.ann).await;
    assert_eq!(newest.json["data"][0]["id"], certs.json["data"][0]["id"]);
    let next = newest.json["next_cursor"].as_str().unwrap_or_default();
    let older = app
        .get(
            &format!("/v1/me/certificates?limit=1&cursor={next}"),
            &s.ann,
        )
        .await;
    assert_eq!(older.json["data"][0]["id"], certs.json["data"][1]["id"]);
    assert_eq!(older.json["next_cursor"], Value::Null);
    assert!(
        newest.json["data"][0]["issued_at"].as_str() > older.json["data"][0]["issued_at"].as_str()
    );
    // The old certificate reaching its expiry resets nothing: the new one counts.
    move_to(&clock, expires + Duration::days(1));
    scan(&app).await;
    assert_eq!(events(&app, "learning.module_expired").await, 0);
    assert_eq!(ann_cell(&app, &s).await["status"], "COMPLIANT");
}

#[actix_web::test]
async fn deadline_reminders_are_sent_once_each_and_emailed() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let c = clock.clone();
    let app = TestApp::with(move |state| state.clock = c).await;
    let s = setup(&app).await;
    let dashboard = app.get("/v1/me/dashboard", &s.ann).await;
    let due: DateTime<Utc> =
        serde_json::from_value(dashboard.json["assigned"][0]["due_at"].clone()).unwrap_or_default();
    remind(&app).await;
    assert_eq!(events(&app, "learning.deadline_reminder").await, 0);
    move_to(&clock, due - Duration::days(6));
    remind(&app).await;
    remind(&app).await;
    assert_eq!(events(&app, "learning.deadline_reminder").await, 1);
    move_to(&clock, due - Duration::hours(12));
    remind(&app).await;
    move_to(&clock, due + Duration::hours(1));
    remind(&app).await;
    remind(&app).await;
    assert_eq!(events(&app, "learning.deadline_reminder").await, 3);
    let kinds = count(
        &app,
        "SELECT count(DISTINCT kind) AS n FROM deadline_reminders",
    )
    .await;
    assert_eq!(kinds, 3);
    let to_ann: Vec<String> = app
        .mail
        .sent()
        .into_iter()
        .filter(|m| m.to == "ann@acme.example.com")
        .map(|m| m.subject)
        .filter(|s| s.starts_with("Due") || s.starts_with("Overdue"))
        .collect();
    assert_eq!(to_ann.len(), 3, "{to_ann:?}");
    assert!(to_ann.iter().any(|s| s.starts_with("Overdue:")));
    let dashboard = app.get("/v1/me/dashboard", &s.ann).await;
    assert_eq!(dashboard.json["assigned"][0]["overdue"], true);
    assert_eq!(dashboard.json["overdue_count"], 1);
    // Completed modules get no reminders.
    complete(&app, &s, "done").await;
    move_to(&clock, due + Duration::days(2));
    remind(&app).await;
    assert_eq!(events(&app, "learning.deadline_reminder").await, 3);
}

#[actix_web::test]
async fn the_matrix_is_scoped_by_permission_and_exported_as_csv() {
    let app = TestApp::new().await;
    let s = setup(&app).await;
    let bob = app
        .member(&s.owner, "bob@acme.example.com", "EMPLOYEE")
        .await;
    let bob_id = app.get("/v1/me", &bob).await.json["user"]["id"].clone();
    let other_group = id(&app
        .post("/v1/groups", &s.owner, json!({ "name": "Office" }))
        .await
        .json);
    app.post(
        &format!("/v1/groups/{other_group}/members"),
        &s.owner,
        json!({ "user_ids": [bob_id] }),
    )
    .await;
    app.put(
        &format!("/v1/modules/{}/groups/{other_group}", s.module),
        &s.owner,
        json!({ "deadline_days": 30, "is_mandatory": true }),
    )
    .await;
    let lead = app
        .member(&s.owner, "lead@acme.example.com", "EMPLOYEE")
        .await;
    let lead_id = app.get("/v1/me", &lead).await.json["user"]["id"].clone();
    let manager = app
        .member(&s.owner, "mgr@acme.example.com", "EMPLOYEE")
        .await;
    let manager_id = app.get("/v1/me", &manager).await.json["user"]["id"].clone();
    let granted = app.put(&format!("/v1/members/{}/permissions", lead_id.as_str().unwrap_or_default()), &s.owner, json!({ "grants": [{ "permission": "VIEW_GROUP_PROGRESS", "scope": { "group_ids": [s.group] } }] }))
    .await;
    assert_eq!(granted.status, 200, "{}", granted.text);
    app.put(&format!("/v1/members/{}/permissions", manager_id.as_str().unwrap_or_default()), &s.owner, json!({ "grants": [{ "permission": "VIEW_MANAGER_DASHBOARD", "scope": { "manager_subtree": true } }] }))
    .await;
    let managed = app
        .put(
            &format!(
                "/v1/members/{}/manager",
                bob_id.as_str().unwrap_or_default()
            ),
            &s.owner,
            json!({ "manager_id": manager_id }),
        )
        .await;
    assert_eq!(managed.status, 200, "{}", managed.text);
    complete(&app, &s, "ann").await;

    let users = |reply: &Reply| -> Vec<String> {
        let mut v: Vec<String> = reply.json["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["email"].as_str().map(str::to_owned))
            .collect();
        v.sort();
        v
    };
    let all = app.get("/v1/compliance/matrix", &s.owner).await;
    assert_eq!(
        users(&all),
        ["ann@acme.example.com", "bob@acme.example.com"]
    );
    assert_eq!(all.json["modules"][&s.module], "Fire safety");
    let scoped = app.get("/v1/compliance/matrix", &lead).await;
    assert_eq!(scoped.status, 200, "{}", scoped.text);
    assert_eq!(users(&scoped), ["ann@acme.example.com"]);
    let subtree = app.get("/v1/compliance/matrix", &manager).await;
    assert_eq!(users(&subtree), ["bob@acme.example.com"]);
    assert_problem(
        &app.get("/v1/compliance/matrix", &s.ann).await,
        403,
        "forbidden",
    );
    let filtered = app
        .get(
            &format!("/v1/compliance/matrix?group_id={other_group}"),
            &s.owner,
        )
        .await;
    assert_eq!(users(&filtered), ["bob@acme.example.com"]);
    let paged = app.get("/v1/compliance/matrix?limit=1", &s.owner).await;
    assert_eq!(paged.json["data"].as_array().map(Vec::len), Some(1));
    let next = paged.json["next_cursor"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let rest = app
        .get(
            &format!("/v1/compliance/matrix?limit=1&cursor={next}"),
            &s.owner,
        )
        .await;
    assert_eq!(rest.json["data"].as_array().map(Vec::len), Some(1));
    assert_ne!(
        rest.json["data"][0]["user_id"],
        paged.json["data"][0]["user_id"]
    );

    // Another tenant sees none of it.
    let outsider = app.owner("other").await;
    let theirs = app.get("/v1/compliance/matrix", &outsider).await;
    assert_eq!(theirs.json["data"], json!([]));

    // The CSV has the same rows in the same scope.
    let csv = app.get("/v1/compliance/matrix/export", &s.owner).await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    assert!(
        csv.header("content-type")
            .is_some_and(|c| c.starts_with("text/csv"))
    );
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(
        lines[0],
        "user_id,name,email,module_id,module,status,since,due_at,expires_at,kind"
    );
    assert_eq!(lines.len(), 3, "{}", csv.text);
    assert!(csv.text.contains("\"ann@acme.example.com\""));
    assert!(csv.text.contains(",COMPLIANT,"));
    assert!(csv.text.contains(",NOT_STARTED,"));
    let lead_csv = app.get("/v1/compliance/matrix/export", &lead).await;
    assert!(!lead_csv.text.contains("bob@acme.example.com"));
    assert_eq!(lead_csv.text.lines().count(), 2);
}

#[actix_web::test]
async fn an_expiry_archives_graded_assignment_submissions_so_the_member_submits_again() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let c = clock.clone();
    let app = TestApp::with(move |state| state.clock = c).await;
    let s = setup(&app).await;
    let assignment = app.post(&format!("/v1/modules/{}/assignments", s.module), &s.owner, json!({ "title": "Evacuation plan", "max_score": 10, "submission_format": "TEXT", "required": true }))
    .await;
    assert_eq!(assignment.status, 201, "{}", assignment.text);
    let assignment = id(&assignment.json);
    let submit = |key: &'static str| {
        app.submit_assignment(
            &s.ann,
            &assignment,
            key,
            json!({ "text_answer": "Stairs, then the yard" }),
        )
        .to_request()
    };
    let submitted = app.send(submit("cycle-1")).await;
    assert_eq!(submitted.status, 201, "{}", submitted.text);
    let graded = app
        .post(
            &format!("/v1/submissions/{}/grade", id(&submitted.json)),
            &s.owner,
            json!({ "score": 9, "feedback": "Good" }),
        )
        .await;
    assert_eq!(graded.status, 200, "{}", graded.text);
    complete(&app, &s, "quiz-cycle-1").await;
    let progress = app
        .get(&format!("/v1/modules/{}/progress", s.module), &s.ann)
        .await;
    assert!(
        progress.json["completed_at"].is_string(),
        "{}",
        progress.text
    );
    assert_eq!(progress.json["assignments_done"], 1);

    let expires: DateTime<Utc> = serde_json::from_value(
        app.get("/v1/me/certificates", &s.ann).await.json["data"][0]["expires_at"].clone(),
    )
    .unwrap_or_default();
    move_to(&clock, expires + Duration::hours(1));
    scan(&app).await;
    let progress = app
        .get(&format!("/v1/modules/{}/progress", s.module), &s.ann)
        .await;
    assert_eq!(progress.json["assignments_done"], 0, "{}", progress.text);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM assignment_submissions WHERE archived_at IS NOT NULL"
        )
        .await,
        1
    );
    let again = app.send(submit("cycle-2")).await;
    assert_eq!(again.status, 201, "{}", again.text);
    let history = app
        .get(&format!("/v1/assignments/{assignment}/submissions"), &s.ann)
        .await;
    assert_eq!(
        history.json["data"].as_array().map(Vec::len),
        Some(2),
        "{}",
        history.text
    );
}

#[actix_web::test]
async fn an_expiry_archives_video_progress_so_the_member_watches_again() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let c = clock.clone();
    let app = TestApp::with(move |state| state.clock = c).await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let ann_id = app.me_id(&ann).await;
    let group = app.group(&owner, "Floor", &[&ann_id]).await;
    let (module, video) = app
        .module_with_section(
            &owner,
            json!({ "title": "Forklifts", "validity_months": 12 }),
            json!({ "title": "Clip", "kind": "VIDEO", "video": {
                "source": "YOUTUBE_VIMEO_URL", "reference": "https://www.youtube.com/watch?v=dQw4w9WgXcQ" } }),
        )
        .await;
    app.publish(&owner, &module).await;
    let assigned = app
        .put(
            &format!("/v1/modules/{module}/groups/{group}"),
            &owner,
            json!({ "deadline_days": 14, "is_mandatory": true }),
        )
        .await;
    assert_eq!(assigned.status, 200, "{}", assigned.text);
    let progress_uri = format!("/v1/sections/{video}/video-progress");
    let complete = format!("/v1/modules/{module}/sections/{video}/complete");
    let watched = app
        .post(
            &progress_uri,
            &ann,
            json!({ "intervals": [[0.0, 100.0]], "position": 100.0, "duration": 100.0 }),
        )
        .await;
    assert_eq!(watched.status, 200, "{}", watched.text);
    let done = app.post(&complete, &ann, json!({})).await;
    assert!(done.json["completed_at"].is_string(), "{}", done.text);

    let expires: DateTime<Utc> = serde_json::from_value(
        app.get("/v1/me/certificates", &ann).await.json["data"][0]["expires_at"].clone(),
    )
    .unwrap_or_default();
    move_to(&clock, expires + Duration::hours(1));
    scan(&app).await;

    // The new cycle starts unwatched: the old progress is archived, kept as history.
    let read = app.get(&progress_uri, &ann).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.json, Value::Null);
    let progress = app
        .get(&format!("/v1/modules/{module}/progress"), &ann)
        .await;
    assert_eq!(
        progress.json["sections"][0]["video"],
        Value::Null,
        "{}",
        progress.text
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM video_progress WHERE archived_at IS NOT NULL"
        )
        .await,
        1
    );
    assert_problem(
        &app.post(&complete, &ann, json!({})).await,
        409,
        "video_not_watched",
    );
    let again = app
        .post(
            &progress_uri,
            &ann,
            json!({ "intervals": [[0.0, 40.0]], "position": 40.0, "duration": 100.0 }),
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.json["watched_percent"], 40);
}
