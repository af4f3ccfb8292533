//! Assignments through the API: authoring with rubrics, submission formats and files,
//! resubmission and late rules, rubric and plain-score grading, completion, isolation.

use actix_web::http::Method;
use diesel_async::RunQueryDsl;
use guild_tests::{Reply, TestApp, assert_problem, count, events, fields, id};
use serde_json::{Value, json};

const PDF: &[u8] =
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <</Type /Catalog>> endobj\ntrailer <<>>\n%%EOF\n";
const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

/// Submits `body` to `assignment` with a fresh Idempotency-Key.
async fn submit(app: &TestApp, token: &str, assignment: &str, body: Value) -> Reply {
    let key = uuid::Uuid::now_v7().to_string();
    app.submit_assignment(token, assignment, &key, body).await
}

async fn grade(app: &TestApp, token: &str, submission: &str, body: Value) -> Reply {
    app.post(&format!("/v1/submissions/{submission}/grade"), token, body)
        .await
}

fn rubric() -> Value {
    json!([
        { "id": "content", "title": "Content", "levels": [
            { "id": "weak", "title": "Weak", "points": 0 },
            { "id": "good", "title": "Good", "points": 4 },
            { "id": "great", "title": "Great", "points": 6 }
        ]},
        { "id": "style", "title": "Style", "levels": [
            { "id": "poor", "title": "Poor", "points": 1 },
            { "id": "clear", "title": "Clear", "points": 4 }
        ]}
    ])
}

#[actix_web::test]
async fn rubrics_are_validated_and_rubric_grading_adds_up_the_chosen_levels() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let mia = app.member(&owner, "mia@acme.example.com", "EMPLOYEE").await;
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let (module, section) = app.published_module(&owner, "Report writing").await;
    app.make_mentor(&owner, &module, &mia).await;

    // Rubrics that do not add up, or break a rule, are refused field by field.
    let uri = format!("/v1/modules/{module}/assignments");
    let short = app
        .post(
            &uri,
            &owner,
            json!({ "title": "Report", "max_score": 12, "rubric": rubric() }),
        )
        .await;
    assert_problem(&short, 422, "validation_failed");
    assert_eq!(
        fields(&short),
        vec![("rubric".to_owned(), "rubric_total".to_owned())]
    );
    let broken = app
        .post(
            &uri,
            &owner,
            json!({ "title": "Report", "max_score": 10, "rubric": [
                { "id": "a", "title": "A", "levels": [
                    { "id": "x", "title": "X", "points": 11 },
                    { "id": "x", "title": "Y", "points": 1 }
                ]},
                { "id": "a", "title": "", "levels": [] }
            ]}),
        )
        .await;
    assert_problem(&broken, 422, "validation_failed");
    let broken = fields(&broken);
    for expected in [
        ("rubric[0].levels[0].points", "range"),
        ("rubric[0].levels[1].id", "unique"),
        ("rubric[1].id", "unique"),
        ("rubric[1].title", "length"),
        ("rubric[1].levels", "length"),
    ] {
        assert!(
            broken.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} missing from {broken:?}"
        );
    }
    // A section of another module, and an employee authoring, are refused.
    let other = app
        .post(
            &uri,
            &owner,
            json!({ "title": "Report", "max_score": 10, "section_id": uuid::Uuid::now_v7() }),
        )
        .await;
    assert_eq!(
        fields(&other),
        vec![("section_id".to_owned(), "not_in_module".to_owned())]
    );
    let by_ann = app
        .post(&uri, &ann, json!({ "title": "Report", "max_score": 10 }))
        .await;
    assert_problem(&by_ann, 403, "forbidden");

    let created = app
        .assignment(
            &owner,
            &module,
            json!({
                "title": "Incident report", "section_id": section, "max_score": 10,
                "brief_html": "<p>Write it up</p><script>alert(1)</script>", "rubric": rubric()
            }),
        )
        .await;
    let assignment_id = id(&created);
    assert_eq!(created["brief_html"], "<p>Write it up</p>");
    assert_eq!(created["rubric"][1]["levels"][1]["points"], 4);
    assert_eq!(created["submission_format"], "TEXT");
    let listed = app.get(&uri, &ann).await;
    assert_eq!(listed.json["data"].as_array().map(Vec::len), Some(1));

    let submitted = submit(
        &app,
        &ann,
        &assignment_id,
        json!({ "text_answer": "What happened" }),
    )
    .await;
    assert_eq!(submitted.status, 201, "{}", submitted.text);
    assert_eq!(submitted.json["status"], "SUBMITTED");
    assert_eq!(submitted.json["late"], false);
    let submission = id(&submitted.json);

    // The graders' queue shows it to the mentor, not to other members.
    let queue = app.get("/v1/assignment-reviews", &mia).await;
    assert_eq!(queue.status, 200, "{}", queue.text);
    assert_eq!(queue.json["data"][0]["submission"]["id"], submission);
    assert_eq!(queue.json["data"][0]["assignment_title"], "Incident report");
    let none = app.get("/v1/assignment-reviews", &bob).await;
    assert_eq!(none.json["data"], json!([]));

    // Another member neither sees nor grades it; the author cannot grade their own.
    let peek = app
        .get(&format!("/v1/submissions/{submission}"), &bob)
        .await;
    assert_problem(&peek, 404, "submission_not_found");
    let bob_list = app
        .get(
            &format!("/v1/assignments/{assignment_id}/submissions"),
            &bob,
        )
        .await;
    assert_eq!(bob_list.json["data"], json!([]));
    let selection = json!([
        { "criterion_id": "content", "level_id": "good" },
        { "criterion_id": "style", "level_id": "clear" }
    ]);
    let by_bob = grade(
        &app,
        &bob,
        &submission,
        json!({ "rubric_selection": selection }),
    )
    .await;
    assert_problem(&by_bob, 404, "submission_not_found");
    let by_ann = grade(
        &app,
        &ann,
        &submission,
        json!({ "rubric_selection": selection }),
    )
    .await;
    assert_problem(&by_ann, 403, "forbidden");

    // With a rubric: no plain score, every criterion once, known levels only.
    let plain = grade(&app, &mia, &submission, json!({ "score": 8 })).await;
    assert_eq!(
        fields(&plain),
        vec![("score".to_owned(), "not_allowed".to_owned())]
    );
    let unknown = grade(
        &app,
        &mia,
        &submission,
        json!({ "rubric_selection": [
            { "criterion_id": "content", "level_id": "superb" },
            { "criterion_id": "style", "level_id": "clear" }
        ]}),
    )
    .await;
    assert_eq!(
        fields(&unknown),
        vec![(
            "rubric_selection[0].level_id".to_owned(),
            "unknown".to_owned()
        )]
    );
    let partial = grade(
        &app,
        &mia,
        &submission,
        json!({ "rubric_selection": [{ "criterion_id": "content", "level_id": "good" }] }),
    )
    .await;
    assert_eq!(
        fields(&partial),
        vec![(
            "rubric_selection".to_owned(),
            "missing_criterion".to_owned()
        )]
    );
    let graded = grade(
        &app,
        &mia,
        &submission,
        json!({ "rubric_selection": selection, "feedback": "Clear, but thin on causes." }),
    )
    .await;
    assert_eq!(graded.status, 200, "{}", graded.text);
    assert_eq!(graded.json["status"], "GRADED");
    assert_eq!(graded.json["score"], 8.0, "4 (good) + 4 (clear)");
    assert_eq!(graded.json["rubric_selection"][0]["points"], 4);

    // Grades are final; the student sees theirs and can no longer resubmit.
    let again = grade(
        &app,
        &mia,
        &submission,
        json!({ "rubric_selection": selection }),
    )
    .await;
    assert_problem(&again, 409, "submission_already_graded");
    let seen = app
        .get(&format!("/v1/submissions/{submission}"), &ann)
        .await;
    assert_eq!(seen.status, 200, "{}", seen.text);
    assert_eq!(seen.json["score"], 8.0);
    assert_eq!(seen.json["max_score"], 10);
    assert_eq!(seen.json["feedback"], "Clear, but thin on causes.");
    let mine = app
        .get(
            &format!("/v1/assignments/{assignment_id}/submissions"),
            &ann,
        )
        .await;
    assert_eq!(mine.json["data"][0]["score"], 8.0);
    let resubmit = submit(
        &app,
        &ann,
        &assignment_id,
        json!({ "text_answer": "More causes" }),
    )
    .await;
    assert_problem(&resubmit, 409, "assignment_already_graded");
    let queue = app.get("/v1/assignment-reviews", &mia).await;
    assert_eq!(queue.json["data"], json!([]));

    // Both facts went to the outbox, and every mutation was audited.
    let events = events(&app, "assessment.assignment_%").await;
    let kinds: Vec<&str> = events.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "assessment.assignment_submitted",
            "assessment.assignment_graded"
        ]
    );
    let graded_event = &events[1].1;
    assert_eq!(graded_event["assignment_id"], assignment_id);
    assert_eq!(graded_event["module_id"], module);
    assert_eq!(graded_event["score"], 8.0);
    assert_eq!(graded_event["max_score"], 10);
    assert_eq!(graded_event["user_id"], submitted.json["user_id"]);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM audit_log WHERE action IN \
             ('ASSIGNMENT_CREATED', 'ASSIGNMENT_SUBMITTED', 'ASSIGNMENT_GRADED')"
        )
        .await,
        3
    );
}

#[actix_web::test]
async fn resubmissions_replace_the_previous_until_graded_and_plain_scores_are_ranged() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let (module, _) = app.published_module(&owner, "Report writing").await;
    let created = app
        .assignment(
            &owner,
            &module,
            json!({ "title": "Summary", "max_score": 10 }),
        )
        .await;
    let assignment_id = id(&created);

    let first = app
        .submit_assignment(
            &ann,
            &assignment_id,
            "key-1",
            json!({ "text_answer": "Draft" }),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    // A retry with the same key and body replays the response and changes nothing.
    let replay = app
        .submit_assignment(
            &ann,
            &assignment_id,
            "key-1",
            json!({ "text_answer": "Draft" }),
        )
        .await;
    assert_eq!(replay.status, 201, "{}", replay.text);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.json["id"], first.json["id"]);
    let reused = app
        .submit_assignment(
            &ann,
            &assignment_id,
            "key-1",
            json!({ "text_answer": "Other" }),
        )
        .await;
    assert_problem(&reused, 422, "idempotency_key_reused");

    let second = submit(
        &app,
        &ann,
        &assignment_id,
        json!({ "text_answer": "Final" }),
    )
    .await;
    assert_eq!(second.status, 201, "{}", second.text);
    assert_eq!(second.json["number"], 2);
    let mine = app
        .get(
            &format!("/v1/assignments/{assignment_id}/submissions"),
            &ann,
        )
        .await;
    let data = mine.json["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["superseded"], true);
    assert_eq!(data[1]["superseded"], false);
    assert_eq!(data[1]["text_answer"], "Final");

    // Only the latest is graded; plain scores are 0 to max_score; no rubric here.
    let old = grade(&app, &owner, &id(&first.json), json!({ "score": 5 })).await;
    assert_problem(&old, 409, "submission_superseded");
    let latest = id(&second.json);
    for bad in [json!({ "score": 10.5 }), json!({ "score": -1 }), json!({})] {
        let reply = grade(&app, &owner, &latest, bad).await;
        assert_problem(&reply, 422, "validation_failed");
    }
    let with_rubric = grade(
        &app,
        &owner,
        &latest,
        json!({ "rubric_selection": [{ "criterion_id": "a", "level_id": "b" }] }),
    )
    .await;
    assert_eq!(
        fields(&with_rubric),
        vec![("rubric_selection".to_owned(), "not_allowed".to_owned())]
    );
    let graded = grade(&app, &owner, &latest, json!({ "score": 7.5 })).await;
    assert_eq!(graded.status, 200, "{}", graded.text);
    assert_eq!(graded.json["score"], 7.5);
    assert_eq!(graded.json["feedback"], Value::Null);
    let after = submit(
        &app,
        &ann,
        &assignment_id,
        json!({ "text_answer": "Too late" }),
    )
    .await;
    assert_problem(&after, 409, "assignment_already_graded");
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM assignment_submissions").await,
        2
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM outbox_events WHERE kind = 'assessment.assignment_submitted'"
        )
        .await,
        2
    );
}

#[actix_web::test]
async fn after_the_due_date_submissions_are_refused_unless_late_work_is_allowed() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let (module, _) = app.published_module(&owner, "Report writing").await;
    let due = (chrono::Utc::now() + chrono::Duration::days(7)).to_rfc3339();
    let strict = id(&app
        .assignment(
            &owner,
            &module,
            json!({ "title": "Strict", "max_score": 5, "due_at": due }),
        )
        .await);
    let lenient = id(&app
        .assignment(
            &owner,
            &module,
            json!({ "title": "Lenient", "max_score": 5, "due_at": due, "allow_late": true }),
        )
        .await);
    let on_time = submit(&app, &ann, &strict, json!({ "text_answer": "On time" })).await;
    assert_eq!(on_time.status, 201, "{}", on_time.text);
    assert_eq!(on_time.json["late"], false);

    diesel::sql_query("UPDATE assignments SET due_at = now() - interval '1 hour'")
        .execute(&mut app.db.conn().await)
        .await
        .expect("move the due dates into the past");

    let refused = submit(&app, &ann, &strict, json!({ "text_answer": "Again" })).await;
    assert_problem(&refused, 409, "assignment_closed");
    let late = submit(&app, &ann, &lenient, json!({ "text_answer": "Late" })).await;
    assert_eq!(late.status, 201, "{}", late.text);
    assert_eq!(late.json["late"], true);
    let resubmitted = submit(&app, &ann, &lenient, json!({ "text_answer": "Later" })).await;
    assert_eq!(resubmitted.status, 201, "{}", resubmitted.text);
    assert_eq!(resubmitted.json["late"], true);
    assert_eq!(resubmitted.json["number"], 2);
    let events = events(&app, "assessment.assignment_%").await;
    assert_eq!(
        events.last().map(|(_, p)| p["late"].clone()),
        Some(json!(true))
    );
}

#[actix_web::test]
async fn submission_formats_and_file_rules_are_enforced() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let (module, _) = app.published_module(&owner, "Report writing").await;
    let text = id(&app
        .assignment(&owner, &module, json!({ "title": "Text", "max_score": 5 }))
        .await);
    let file = id(&app
        .assignment(
            &owner,
            &module,
            json!({ "title": "File", "max_score": 5, "submission_format": "FILE",
                "allowed_file_types": ["PDF"] }),
        )
        .await);
    let both = id(&app
        .assignment(
            &owner,
            &module,
            json!({ "title": "Both", "max_score": 5, "submission_format": "BOTH",
                "allowed_file_types": ["pdf", "png"], "max_file_bytes": 100 }),
        )
        .await);
    let bad_type = app
        .post(
            &format!("/v1/modules/{module}/assignments"),
            &owner,
            json!({ "title": "X", "max_score": 5, "submission_format": "FILE",
                     "allowed_file_types": ["exe"] }),
        )
        .await;
    assert_eq!(
        fields(&bad_type),
        vec![("allowed_file_types".to_owned(), "one_of".to_owned())]
    );
    let upload = |assignment: &str, token: &str, name: &str, bytes: &[u8]| {
        app.upload(
            &format!("/v1/assignments/{assignment}/files"),
            token,
            name,
            bytes,
            None,
        )
    };

    // TEXT: a text answer and no files.
    let empty = submit(&app, &ann, &text, json!({ "text_answer": "  " })).await;
    assert_eq!(
        fields(&empty),
        vec![("text_answer".to_owned(), "required".to_owned())]
    );
    let to_text = app.send(upload(&text, &ann, "work.pdf", PDF)).await;
    assert_problem(&to_text, 422, "validation_failed");

    // FILE: the type comes from the bytes and must be allowed; at least one file, no text.
    let png = app.send(upload(&file, &ann, "work.png", PNG)).await;
    assert_problem(&png, 422, "file_type_not_allowed");
    let forged = app.send(upload(&file, &ann, "work.pdf", PNG)).await;
    assert_problem(&forged, 422, "file_type_mismatch");
    let pdf = app.send(upload(&file, &ann, "work.pdf", PDF)).await;
    assert_eq!(pdf.status, 201, "{}", pdf.text);
    assert_eq!(pdf.json["content_type"], "application/pdf");
    let asset = pdf.json["asset_id"].as_str().unwrap_or_default().to_owned();
    let bobs = app.send(upload(&file, &bob, "bob.pdf", PDF)).await;
    let bobs_asset = bobs.json["asset_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let no_files = submit(&app, &ann, &file, json!({ "asset_ids": [] })).await;
    assert_eq!(
        fields(&no_files),
        vec![("asset_ids".to_owned(), "required".to_owned())]
    );
    let with_text = submit(
        &app,
        &ann,
        &file,
        json!({ "asset_ids": [asset], "text_answer": "hi" }),
    )
    .await;
    assert_eq!(
        fields(&with_text),
        vec![("text_answer".to_owned(), "not_allowed".to_owned())]
    );
    let not_mine = submit(&app, &ann, &file, json!({ "asset_ids": [bobs_asset] })).await;
    assert_eq!(
        fields(&not_mine),
        vec![("asset_ids[0]".to_owned(), "unknown".to_owned())]
    );
    let to_text_with_file = submit(
        &app,
        &ann,
        &text,
        json!({ "text_answer": "hi", "asset_ids": [asset] }),
    )
    .await;
    assert_eq!(
        fields(&to_text_with_file),
        vec![("asset_ids".to_owned(), "not_allowed".to_owned())]
    );
    let filed = submit(&app, &ann, &file, json!({ "asset_ids": [asset] })).await;
    assert_eq!(filed.status, 201, "{}", filed.text);
    assert_eq!(filed.json["files"][0]["file_name"], "work.pdf");
    let submission = id(&filed.json);
    let download = format!("/v1/submissions/{submission}/files/{asset}/download");
    let link = app.get(&download, &owner).await;
    assert_eq!(link.status, 200, "{}", link.text);
    assert!(
        link.json["url"]
            .as_str()
            .is_some_and(|u| u.contains("sig="))
    );
    let peek = app.get(&download, &bob).await;
    assert_problem(&peek, 404, "submission_not_found");
    // Submission files are not part of the media library, even for its managers.
    let library = app.get("/v1/media", &owner).await;
    assert_eq!(library.status, 200, "{}", library.text);
    assert_eq!(library.json["data"], json!([]));
    let as_media = app.get(&format!("/v1/media/{asset}"), &owner).await;
    assert_problem(&as_media, 404, "asset_not_found");

    // BOTH: a text answer and files, each within max_file_bytes.
    let mut big = PDF.to_vec();
    big.resize(101, b' ');
    let too_big = app.send(upload(&both, &ann, "big.pdf", &big)).await;
    assert_problem(&too_big, 413, "file_too_large");
    let image = app.send(upload(&both, &ann, "chart.png", PNG)).await;
    assert_eq!(image.status, 201, "{}", image.text);
    let chart = image.json["asset_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let only_text = submit(&app, &ann, &both, json!({ "text_answer": "See chart" })).await;
    assert_eq!(
        fields(&only_text),
        vec![("asset_ids".to_owned(), "required".to_owned())]
    );
    // A file uploaded for another assignment does not count here.
    let elsewhere = submit(
        &app,
        &ann,
        &both,
        json!({ "text_answer": "See chart", "asset_ids": [asset] }),
    )
    .await;
    assert_eq!(
        fields(&elsewhere),
        vec![("asset_ids[0]".to_owned(), "unknown".to_owned())]
    );
    let both_ok = submit(
        &app,
        &ann,
        &both,
        json!({ "text_answer": "See chart", "asset_ids": [chart] }),
    )
    .await;
    assert_eq!(both_ok.status, 201, "{}", both_ok.text);
    assert_eq!(both_ok.json["files"][0]["content_type"], "image/png");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM audit_log WHERE action = 'ASSIGNMENT_FILE_UPLOADED'"
        )
        .await,
        3
    );
}

#[actix_web::test]
async fn a_required_assignment_blocks_completion_until_it_is_graded() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let mia = app.member(&owner, "mia@acme.example.com", "EMPLOYEE").await;
    let (module, section) = app.published_module(&owner, "Report writing").await;
    app.make_mentor(&owner, &module, &mia).await;
    let required = id(&app
        .assignment(
            &owner,
            &module,
            json!({ "title": "Capstone", "max_score": 10, "required": true }),
        )
        .await);
    // An optional assignment never blocks completion.
    app.assignment(
        &owner,
        &module,
        json!({ "title": "Extra", "max_score": 10 }),
    )
    .await;

    let done = app
        .post(
            &format!("/v1/modules/{module}/sections/{section}/complete"),
            &ann,
            json!({}),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.json["completed_at"], Value::Null);
    assert_eq!(done.json["assignments_total"], 1);
    assert_eq!(done.json["assignments_done"], 0);
    assert_eq!(done.json["percent"], 50);

    let submitted = submit(&app, &ann, &required, json!({ "text_answer": "Mine" })).await;
    let progress_uri = format!("/v1/modules/{module}/progress");
    let waiting = app.get(&progress_uri, &ann).await;
    assert_eq!(waiting.json["completed_at"], Value::Null, "not graded yet");

    // Any grade counts.
    let graded = grade(&app, &mia, &id(&submitted.json), json!({ "score": 2 })).await;
    assert_eq!(graded.status, 200, "{}", graded.text);
    let progress = app.get(&progress_uri, &ann).await;
    assert_eq!(progress.json["assignments_done"], 1);
    assert_eq!(progress.json["percent"], 100);
    assert!(
        progress.json["completed_at"].is_string(),
        "{}",
        progress.text
    );
    assert!(progress.json["certificate_id"].is_string());
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM outbox_events WHERE kind = 'learning.module_completed'"
        )
        .await,
        1
    );
}

#[actix_web::test]
async fn assignments_and_submissions_of_other_tenants_are_not_found() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let (module, _) = app.published_module(&owner, "Report writing").await;
    let created = app
        .assignment(
            &owner,
            &module,
            json!({ "title": "Ours", "max_score": 5, "submission_format": "BOTH" }),
        )
        .await;
    let assignment_id = id(&created);
    let submitted = submit(&app, &ann, &assignment_id, json!({ "text_answer": "x" })).await;
    assert_eq!(
        submitted.status, 422,
        "BOTH needs a file: {}",
        submitted.text
    );

    let rival = app.owner("rival").await;
    for (method, uri) in [
        (Method::GET, format!("/v1/assignments/{assignment_id}")),
        (
            Method::GET,
            format!("/v1/assignments/{assignment_id}/submissions"),
        ),
    ] {
        let reply = app.call(method, &uri, &rival, None).await;
        assert_problem(&reply, 404, "assignment_not_found");
    }
    let listed = app
        .get(&format!("/v1/modules/{module}/assignments"), &rival)
        .await;
    assert_problem(&listed, 404, "module_not_found");
    let upload = app
        .upload(
            &format!("/v1/assignments/{assignment_id}/files"),
            &rival,
            "x.pdf",
            PDF,
            None,
        )
        .await;
    assert_problem(&upload, 404, "assignment_not_found");
    let hijack = submit(&app, &rival, &assignment_id, json!({ "text_answer": "x" })).await;
    assert_problem(&hijack, 404, "assignment_not_found");

    let mine = app
        .upload(
            &format!("/v1/assignments/{assignment_id}/files"),
            &ann,
            "x.pdf",
            PDF,
            None,
        )
        .await;
    let asset = mine.json["asset_id"].clone();
    let ok = submit(
        &app,
        &ann,
        &assignment_id,
        json!({ "text_answer": "x", "asset_ids": [asset] }),
    )
    .await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    let submission = id(&ok.json);
    let peek = app
        .get(&format!("/v1/submissions/{submission}"), &rival)
        .await;
    assert_problem(&peek, 404, "submission_not_found");
    let graded = grade(&app, &rival, &submission, json!({ "score": 5 })).await;
    assert_problem(&graded, 404, "submission_not_found");
    let queue = app.get("/v1/assignment-reviews", &rival).await;
    assert_eq!(queue.json["data"], json!([]));
}

#[actix_web::test]
async fn twenty_racing_submissions_of_one_member_leave_one_current_submission() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let (module, _) = app.published_module(&owner, "Report writing").await;
    let assignment_id = id(&app
        .assignment(&owner, &module, json!({ "title": "Race", "max_score": 5 }))
        .await);
    let runs = (0..20).map(|i| {
        let (app, ann, assignment_id) = (&app, &ann, &assignment_id);
        async move {
            submit(
                app,
                ann,
                assignment_id,
                json!({ "text_answer": format!("version {i}") }),
            )
            .await
            .status
        }
    });
    let statuses = futures_util::future::join_all(runs).await;
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    assert_eq!(
        count(
            &app,
            "SELECT count(DISTINCT number) AS n FROM assignment_submissions \
             WHERE number BETWEEN 1 AND 20"
        )
        .await,
        20
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM assignment_submissions WHERE NOT superseded"
        )
        .await,
        1
    );
}

/// A PDF of `len` bytes.
fn pdf_of(len: usize) -> Vec<u8> {
    let mut bytes = PDF.to_vec();
    bytes.resize(len, b' ');
    bytes
}

#[actix_web::test]
async fn a_members_assignment_files_are_capped_by_the_upload_quota_per_tenant() {
    let app = TestApp::with(|state| state.assignment_file_quota = 2_500).await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let (module, _) = app.published_module(&owner, "Report writing").await;
    let mut targets = Vec::new();
    for title in ["First", "Second"] {
        targets.push(id(&app
            .assignment(
                &owner,
                &module,
                json!({ "title": title, "max_score": 5, "submission_format": "FILE" }),
            )
            .await));
    }
    let upload = |assignment: &str, token: &str, bytes: &[u8]| {
        app.upload(
            &format!("/v1/assignments/{assignment}/files"),
            token,
            "work.pdf",
            bytes,
            None,
        )
    };
    // 1,000 + 1,000 bytes fit in 2,500, over two assignments; 1,000 more do not.
    for target in &targets {
        let stored = app.send(upload(target, &ann, &pdf_of(1_000))).await;
        assert_eq!(stored.status, 201, "{}", stored.text);
    }
    let over = app.send(upload(&targets[0], &ann, &pdf_of(1_000))).await;
    assert_problem(&over, 413, "upload_quota_exceeded");
    // What is left still fits; the quota is the member's, not the tenant's.
    let rest = app.send(upload(&targets[1], &ann, &pdf_of(500))).await;
    assert_eq!(rest.status, 201, "{}", rest.text);
    let bobs = app.send(upload(&targets[0], &bob, &pdf_of(2_000))).await;
    assert_eq!(bobs.status, 201, "{}", bobs.text);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM assignment_files f JOIN media_assets m \
             ON m.tenant_id = f.tenant_id AND m.id = f.asset_id"
        )
        .await,
        4
    );
}

#[actix_web::test]
async fn assignment_files_never_submitted_are_removed_by_the_upload_sweep() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let (module, _) = app.published_module(&owner, "Report writing").await;
    let target = id(&app
        .assignment(
            &owner,
            &module,
            json!({ "title": "Report", "max_score": 5, "submission_format": "FILE" }),
        )
        .await);
    let mut assets = Vec::new();
    for name in ["kept.pdf", "dropped.pdf", "recent.pdf"] {
        let stored = app
            .upload(
                &format!("/v1/assignments/{target}/files"),
                &ann,
                name,
                PDF,
                None,
            )
            .await;
        assert_eq!(stored.status, 201, "{}", stored.text);
        assets.push(
            stored.json["asset_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    let filed = submit(&app, &ann, &target, json!({ "asset_ids": [assets[0]] })).await;
    assert_eq!(filed.status, 201, "{}", filed.text);
    // Two of them were uploaded two days ago.
    diesel::sql_query(format!(
        "UPDATE assignment_files SET created_at = now() - interval '2 days' \
         WHERE asset_id IN ('{}', '{}')",
        assets[0], assets[1]
    ))
    .execute(&mut app.db.conn().await)
    .await
    .expect("age the files");
    app.queue_job("media.sweep_uploads").await;
    app.run_worker().await;
    let left = |asset: &str| format!("SELECT count(*) AS n FROM media_assets WHERE id = '{asset}'");
    assert_eq!(
        count(&app, &left(&assets[0])).await,
        1,
        "the submitted file"
    );
    assert_eq!(count(&app, &left(&assets[1])).await, 0, "the orphaned file");
    assert_eq!(count(&app, &left(&assets[2])).await, 1, "the recent file");
    let tenant = app.get("/v1/tenant", &owner).await.json["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let blob = |asset: &str| format!("tenants/{tenant}/assets/{asset}");
    assert!(app.state.blobs.head(&blob(&assets[0])).await.is_ok());
    assert!(matches!(
        app.state.blobs.head(&blob(&assets[1])).await,
        Err(guild_kernel::ports::BlobError::NotFound)
    ));
    // The submission still downloads its file.
    let submission = id(&filed.json);
    let link = app
        .get(
            &format!("/v1/submissions/{submission}/files/{}/download", assets[0]),
            &owner,
        )
        .await;
    assert_eq!(link.status, 200, "{}", link.text);
}

#[actix_web::test]
async fn a_create_retried_with_its_key_makes_one_assignment_and_submissions_sort_both_ways() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let (module, _) = app.published_module(&owner, "Report writing").await;
    let uri = format!("/v1/modules/{module}/assignments");
    let create =
        async |key: &str, body: Value| app.post(&uri, &owner, body).idempotency_key(key).await;
    let body = json!({ "title": "Summary", "max_score": 10, "submission_format": "TEXT" });

    let first = create("assignment-1", body.clone()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.header("etag"), Some("\"1\""));
    let retry = create("assignment-1", body).await;
    assert_eq!(retry.status, 201, "{}", retry.text);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(retry.header("etag"), Some("\"1\""));
    assert_eq!(retry.json["id"], first.json["id"]);
    let reused = create("assignment-1", json!({ "title": "Other", "max_score": 10 })).await;
    assert_problem(&reused, 422, "idempotency_key_reused");
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM assignments").await,
        1
    );
    let missing = app.post(&uri, &owner, json!({ "title": "No score" })).await;
    assert_eq!(
        fields(&missing),
        vec![("max_score".to_owned(), "required".to_owned())]
    );

    let assignment_id = id(&first.json);
    for (token, text) in [(&ann, "First"), (&bob, "Second"), (&ann, "Third")] {
        let reply = submit(&app, token, &assignment_id, json!({ "text_answer": text })).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
    let list = format!("/v1/assignments/{assignment_id}/submissions");
    let texts = async |query: &str| -> (Vec<Value>, Option<String>) {
        let reply = app.get(&format!("{list}?{query}"), &owner).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let texts = reply.json["data"]
            .as_array()
            .map(|ss| ss.iter().map(|s| s["text_answer"].clone()).collect())
            .unwrap_or_default();
        (texts, reply.json["next_cursor"].as_str().map(str::to_owned))
    };
    let (oldest, _) = texts("").await;
    assert_eq!(oldest, [json!("First"), json!("Second"), json!("Third")]);
    let (newest, cursor) = texts("sort=-submitted_at&limit=2").await;
    assert_eq!(newest, [json!("Third"), json!("Second")]);
    let cursor = cursor.unwrap_or_default();
    let (rest, end) = texts(&format!("sort=-submitted_at&limit=2&cursor={cursor}")).await;
    assert_eq!(rest, [json!("First")]);
    assert_eq!(end, None);
    let crossed = app
        .get(&format!("{list}?sort=submitted_at&cursor={cursor}"), &owner)
        .await;
    assert_problem(&crossed, 422, "validation_failed");
    let (ascending, cursor) = texts("sort=submitted_at&limit=1").await;
    assert_eq!(ascending, [json!("First")]);
    let cursor = cursor.unwrap_or_default();
    let (next, _) = texts(&format!("sort=submitted_at&limit=1&cursor={cursor}")).await;
    assert_eq!(next, [json!("Second")]);
    let unknown = app.get(&format!("{list}?sort=score"), &owner).await;
    assert_problem(&unknown, 422, "validation_failed");
}

#[actix_web::test]
async fn an_upload_retried_with_its_key_stores_one_file() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let (module, _) = app.published_module(&owner, "Report writing").await;
    let target = id(&app
        .assignment(
            &owner,
            &module,
            json!({ "title": "Files", "max_score": 5, "submission_format": "FILE" }),
        )
        .await);
    let upload = |key: &'static str, bytes: &[u8]| {
        app.upload(
            &format!("/v1/assignments/{target}/files"),
            &ann,
            "work.pdf",
            bytes,
            None,
        )
        .idempotency_key(key)
    };

    let first = app.send(upload("upload-1", &pdf_of(300))).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let retry = app.send(upload("upload-1", &pdf_of(300))).await;
    assert_eq!(retry.status, 201, "{}", retry.text);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(retry.json["asset_id"], first.json["asset_id"]);
    let other = app.send(upload("upload-1", &pdf_of(400))).await;
    assert_problem(&other, 422, "idempotency_key_reused");
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM assignment_files").await,
        1
    );
    let submitted = submit(
        &app,
        &ann,
        &target,
        json!({ "asset_ids": [first.json["asset_id"]] }),
    )
    .await;
    assert_eq!(submitted.status, 201, "{}", submitted.text);
}
