//! Quizzes through the API: authoring, taking, scoring, grading, and what a taker never sees.

use actix_web::http::Method;
use diesel_async::RunQueryDsl;
use guild_tests::{Reply, TestApp, access, assert_problem, count, events, id};
use serde_json::{Value, json};

fn single(prompt: &str, right: &str) -> Value {
    json!({
        "kind": "SINGLE_CHOICE", "prompt": prompt, "points": 1,
        "options": [
            { "id": "a", "text": "Alpha", "correct": right == "a" },
            { "id": "b", "text": "Bravo", "correct": right == "b" },
            { "id": "c", "text": "Charlie", "correct": right == "c" }
        ]
    })
}

#[actix_web::test]
async fn authors_build_quizzes_and_invalid_questions_are_refused_field_by_field() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let module = app.published_module(&owner, "Site safety").await.0;

    let bad_quiz = app
        .post(
            &format!("/v1/modules/{module}/quizzes"),
            &owner,
            json!({ "title": "Q", "passing_score_percent": 150, "show_answers": "SOMETIMES" }),
        )
        .await;
    assert_problem(&bad_quiz, 422, "validation_failed");
    let smuggled = app
        .post(
            &format!("/v1/modules/{module}/quizzes"),
            &owner,
            json!({ "title": "Q", "tenant_id": "x" }),
        )
        .await;
    assert_problem(&smuggled, 422, "validation_failed");
    let by_employee = app
        .post(
            &format!("/v1/modules/{module}/quizzes"),
            &ann,
            json!({ "title": "Mine" }),
        )
        .await;
    assert_problem(&by_employee, 403, "forbidden");

    let (quiz_id, _) = app
        .quiz(&owner, &module, json!({ "title": "Helmets" }), &[])
        .await;
    let questions = format!("/v1/quizzes/{quiz_id}/questions");
    let field_errors = |reply: &Reply| -> Vec<(String, String)> {
        reply.json["errors"]
            .as_array()
            .map(|es| {
                es.iter()
                    .map(|e| {
                        (
                            e["field"].as_str().unwrap_or_default().to_owned(),
                            e["code"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let cases = [
        (
            json!({ "kind": "SINGLE_CHOICE", "prompt": "Two right?", "options": [
            { "id": "a", "text": "A", "correct": true }, { "id": "b", "text": "B", "correct": true }] }),
            ("options", "one_correct"),
        ),
        (
            json!({ "kind": "TRUE_FALSE", "prompt": "None right?", "options": [
            { "id": "t", "text": "True" }, { "id": "f", "text": "False" }] }),
            ("options", "one_correct"),
        ),
        (
            json!({ "kind": "MULTIPLE_CHOICE", "prompt": "None right?", "options": [
            { "id": "a", "text": "A" }, { "id": "b", "text": "B" }] }),
            ("options", "min_correct"),
        ),
        (
            json!({ "kind": "SINGLE_CHOICE", "prompt": "Same ids?", "options": [
            { "id": "a", "text": "A", "correct": true }, { "id": "a", "text": "B" }] }),
            ("options[1].id", "unique"),
        ),
        (
            json!({ "kind": "FILL_IN_BLANK", "prompt": "Wear a ___" }),
            ("accepted_answers", "required"),
        ),
        (
            json!({ "kind": "ESSAY", "prompt": "Why?", "accepted_answers": ["because"] }),
            ("accepted_answers", "not_allowed"),
        ),
        (
            json!({ "kind": "RIDDLE", "prompt": "Hm?" }),
            ("kind", "invalid_value"),
        ),
    ];
    for (body, (field, code)) in cases {
        let reply = app.post(&questions, &owner, body.clone()).await;
        assert_problem(&reply, 422, "validation_failed");
        assert!(
            field_errors(&reply).contains(&(field.to_owned(), code.to_owned())),
            "{body}: {}",
            reply.text
        );
    }

    let first = app.post(&questions, &owner, single("Pick b", "b")).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.header("etag"), Some("\"1\""));
    let second = app.post(&questions, &owner, json!({
        "kind": "FILL_IN_BLANK", "prompt": "Wear a ___", "accepted_answers": ["hard hat"], "points": 2,
        "explanation": "Head protection"
    })).await;
    assert_eq!(second.status, 201, "{}", second.text);
    let (first_id, second_id) = (id(&first.json), id(&second.json));

    let bad_order = app
        .put(
            &format!("{questions}/order"),
            &owner,
            json!({ "ids": [first_id] }),
        )
        .await;
    assert_problem(&bad_order, 422, "invalid_order");
    let reordered = app
        .put(
            &format!("{questions}/order"),
            &owner,
            json!({ "ids": [second_id, first_id] }),
        )
        .await;
    assert_eq!(reordered.status, 200, "{}", reordered.text);
    assert_eq!(reordered.json[0]["id"], second_id.as_str());
    assert_eq!(reordered.json[1]["sort_order"], 1);

    let stale = app
        .patch(
            &format!("{questions}/{first_id}"),
            &owner,
            json!({ "points": 3 }),
        )
        .if_match("\"1\"")
        .await;
    assert_problem(&stale, 412, "precondition_failed");
    let no_etag = app
        .patch(
            &format!("{questions}/{first_id}"),
            &owner,
            json!({ "points": 3 }),
        )
        .await;
    assert_problem(&no_etag, 428, "precondition_required");
    let updated = app
        .patch(
            &format!("{questions}/{first_id}"),
            &owner,
            json!({ "points": 3 }),
        )
        .if_match("\"2\"")
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(updated.json["points"], 3);
    let broken = app
        .patch(
            &format!("{questions}/{first_id}"),
            &owner,
            json!({ "kind": "MULTIPLE_CHOICE", "options": [] }),
        )
        .if_match("\"3\"")
        .await;
    assert_problem(&broken, 422, "validation_failed");

    let for_author = app.get(&format!("/v1/quizzes/{quiz_id}"), &owner).await;
    assert_eq!(for_author.status, 200);
    assert_eq!(for_author.json["question_count"], 2);
    assert_eq!(for_author.json["total_points"], 5);
    assert_eq!(
        for_author.json["questions"][1]["options"][1]["correct"],
        true
    );
    assert_eq!(
        for_author.json["questions"][0]["accepted_answers"],
        json!(["hard hat"])
    );
    let for_ann = app.get(&format!("/v1/quizzes/{quiz_id}"), &ann).await;
    assert_eq!(for_ann.status, 200, "{}", for_ann.text);
    assert!(for_ann.json.get("questions").is_none(), "{}", for_ann.text);
    for leak in [
        "correct",
        "accepted_answers",
        "hard hat",
        "explanation",
        "Head protection",
    ] {
        assert!(
            !for_ann.text.contains(leak),
            "{leak} leaked: {}",
            for_ann.text
        );
    }
    let listed = app
        .get(&format!("/v1/modules/{module}/quizzes"), &ann)
        .await;
    assert_eq!(
        listed.json["data"].as_array().map(Vec::len),
        Some(1),
        "{}",
        listed.text
    );
    assert!(!listed.text.contains("correct"));

    let renamed = app
        .patch(
            &format!("/v1/quizzes/{quiz_id}"),
            &owner,
            json!({ "title": "Helmets 2", "max_attempts": 2 }),
        )
        .if_match("\"1\"")
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.header("etag"), Some("\"2\""));
    let deleted_q = app
        .delete(&format!("{questions}/{second_id}"), &owner)
        .if_match("\"2\"")
        .await;
    assert_eq!(deleted_q.status, 204, "{}", deleted_q.text);
    let deleted = app
        .delete(&format!("/v1/quizzes/{quiz_id}"), &owner)
        .if_match("\"2\"")
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    let gone = app.get(&format!("/v1/quizzes/{quiz_id}"), &owner).await;
    assert_problem(&gone, 404, "quiz_not_found");

    let log = app.get("/v1/audit-log?limit=50", &owner).await;
    let actions: Vec<&str> = log.json["data"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["action"].as_str()).collect())
        .unwrap_or_default();
    for action in [
        "QUIZ_CREATED",
        "QUESTION_CREATED",
        "QUESTIONS_REORDERED",
        "QUESTION_UPDATED",
        "QUIZ_UPDATED",
        "QUESTION_DELETED",
        "QUIZ_DELETED",
    ] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
}

#[actix_web::test]
async fn a_taker_never_sees_answer_keys_anywhere() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let module = app.published_module(&owner, "Site safety").await.0;
    let (quiz_id, made) = app.quiz(&owner, &module,
        json!({ "title": "Never tell", "show_answers": "NEVER", "shuffle_questions": true, "shuffle_options": true }),
        &[
            json!({ "kind": "SINGLE_CHOICE", "prompt": "Pick one", "explanation": "Secret reasoning",
                    "options": [{ "id": "a", "text": "Alpha", "correct": true }, { "id": "b", "text": "Bravo" }] }),
            json!({ "kind": "MULTIPLE_CHOICE", "prompt": "Pick some",
                    "options": [{ "id": "a", "text": "Alpha", "correct": true }, { "id": "b", "text": "Bravo", "correct": true }, { "id": "c", "text": "Charlie" }] }),
            json!({ "kind": "TRUE_FALSE", "prompt": "Sky is blue",
                    "options": [{ "id": "t", "text": "True", "correct": true }, { "id": "f", "text": "False" }] }),
            json!({ "kind": "FILL_IN_BLANK", "prompt": "Wear a ___", "accepted_answers": ["zygomorphic helmet"] }),
            json!({ "kind": "ESSAY", "prompt": "Tell us why", "points": 2 }),
        ]).await;
    let assert_clean = |what: &str, reply: &Reply| {
        for leak in [
            "correct",
            "accepted_answers",
            "zygomorphic",
            "explanation",
            "Secret reasoning",
        ] {
            assert!(
                !reply.text.contains(leak),
                "{what} leaked {leak}: {}",
                reply.text
            );
        }
    };

    let started = app
        .call(
            Method::POST,
            &format!("/v1/quizzes/{quiz_id}/attempts"),
            &ann,
            None,
        )
        .await;
    assert_eq!(started.status, 201, "{}", started.text);
    assert_clean("start", &started);
    assert_eq!(started.json["questions"].as_array().map(Vec::len), Some(5));
    assert_eq!(started.json["status"], "IN_PROGRESS");
    let attempt = id(&started.json);
    let resumed = app
        .call(
            Method::POST,
            &format!("/v1/quizzes/{quiz_id}/attempts"),
            &ann,
            None,
        )
        .await;
    assert_eq!(resumed.status, 200, "{}", resumed.text);
    assert_eq!(resumed.json["id"], attempt.as_str());
    assert_eq!(
        resumed.json["questions"], started.json["questions"],
        "the shuffled order is stable"
    );
    assert_clean("resume", &resumed);

    let fetched = app.get(&format!("/v1/attempts/{attempt}"), &ann).await;
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.json["questions"], started.json["questions"]);
    assert_clean("get", &fetched);

    let answers = json!([
        { "question_id": id(&made[0]), "option_ids": ["a"] },
        { "question_id": id(&made[1]), "option_ids": ["a", "c"] },
        { "question_id": id(&made[2]), "option_ids": ["f"] },
        { "question_id": id(&made[3]), "text": "a hat" },
        { "question_id": id(&made[4]), "text": "Safety first." }
    ]);
    let submitted = app.submit_attempt(&ann, &attempt, "k-1", answers).await;
    assert_eq!(submitted.status, 200, "{}", submitted.text);
    assert_eq!(submitted.json["status"], "PENDING_REVIEW");
    assert!(submitted.json.get("results").is_none());
    assert_clean("submit", &submitted);
    let after = app.get(&format!("/v1/attempts/{attempt}"), &ann).await;
    assert_clean("get after submit", &after);
    let mine = app
        .get(&format!("/v1/quizzes/{quiz_id}/attempts"), &ann)
        .await;
    assert_eq!(mine.json["data"].as_array().map(Vec::len), Some(1));
    assert_clean("list", &mine);

    // Graded to a final score: still only the score and the verdict.
    let graded = app
        .post(
            &format!("/v1/attempts/{attempt}/grades"),
            &owner,
            json!({ "grades": [{ "question_id": id(&made[4]), "points": 2 }] }),
        )
        .await;
    assert_eq!(graded.status, 200, "{}", graded.text);
    let final_view = app.get(&format!("/v1/attempts/{attempt}"), &ann).await;
    assert_eq!(final_view.json["status"], "GRADED");
    assert_eq!(final_view.json["passed"], false);
    assert_clean("get when graded", &final_view);
}

#[actix_web::test]
async fn fifty_racing_starts_of_one_member_never_exceed_max_attempts() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let module = app.published_module(&owner, "Site safety").await.0;
    let (quiz_id, made) = app
        .quiz(
            &owner,
            &module,
            json!({ "title": "Three tries", "max_attempts": 3 }),
            &[single("Pick a", "a")],
        )
        .await;
    let question = id(&made[0]);

    // 50 concurrent clients of the same member each start (or resume) and submit at once, over
    // and over until refused, so starts keep racing each other and the submissions that free the
    // way for the next attempt.
    let runs = (0..50).map(|i| {
        let (app, ann, quiz_id, question) = (&app, &ann, &quiz_id, &question);
        async move {
            let mut created = 0;
            for round in 0..10 {
                let started = app
                    .call(
                        Method::POST,
                        &format!("/v1/quizzes/{quiz_id}/attempts"),
                        ann,
                        None,
                    )
                    .await;
                match started.status {
                    201 | 200 => {
                        created += i32::from(started.status == 201);
                        let key = format!("run-{i}-{round}");
                        let answer = json!([{ "question_id": question, "option_ids": ["b"] }]);
                        app.submit_attempt(ann, &id(&started.json), &key, answer)
                            .await;
                    }
                    _ => {
                        assert_problem(&started, 409, "quiz_max_attempts_reached");
                        return (created, true);
                    }
                }
            }
            (created, false)
        }
    });
    let outcomes = futures_util::future::join_all(runs).await;
    assert!(
        outcomes.iter().all(|(_, refused)| *refused),
        "every client ends refused: {outcomes:?}"
    );
    assert_eq!(
        outcomes.iter().map(|(created, _)| created).sum::<i32>(),
        3,
        "{outcomes:?}"
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM quiz_attempts").await,
        3
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(DISTINCT number) AS n FROM quiz_attempts WHERE number BETWEEN 1 AND 3"
        )
        .await,
        3
    );
    // Whatever is still open can be finished, and then the limit stands.
    let mine = app
        .get(&format!("/v1/quizzes/{quiz_id}/attempts"), &ann)
        .await;
    for a in mine.json["data"].as_array().cloned().unwrap_or_default() {
        if a["status"] == "IN_PROGRESS" {
            app.submit_attempt(&ann, &id(&a), "finish", json!([])).await;
        }
    }
    let again = app
        .call(
            Method::POST,
            &format!("/v1/quizzes/{quiz_id}/attempts"),
            &ann,
            None,
        )
        .await;
    assert_problem(&again, 409, "quiz_max_attempts_reached");
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM quiz_attempts").await,
        3
    );

    // Other members are not held back by ann's attempts.
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let bobs = app
        .call(
            Method::POST,
            &format!("/v1/quizzes/{quiz_id}/attempts"),
            &bob,
            None,
        )
        .await;
    assert_eq!(bobs.status, 201, "{}", bobs.text);
}

#[actix_web::test]
async fn a_replayed_submit_returns_the_same_body_and_changes_nothing() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let module = app.published_module(&owner, "Site safety").await.0;
    let (quiz_id, made) = app
        .quiz(
            &owner,
            &module,
            json!({ "title": "Once", "show_answers": "ALWAYS" }),
            &[single("Pick c", "c")],
        )
        .await;
    let started = app
        .call(
            Method::POST,
            &format!("/v1/quizzes/{quiz_id}/attempts"),
            &ann,
            None,
        )
        .await;
    let attempt = id(&started.json);
    let answers = json!([{ "question_id": id(&made[0]), "option_ids": ["c"] }]);

    let missing = app
        .post(
            &format!("/v1/attempts/{attempt}/submit"),
            &ann,
            json!({ "answers": answers }),
        )
        .await;
    assert_problem(&missing, 400, "idempotency_key_required");

    let first = app
        .submit_attempt(&ann, &attempt, "submit-1", answers.clone())
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.json["passed"], true);
    assert_eq!(first.json["results"][0]["correct_option_ids"], json!(["c"]));
    let before = (
        events(&app, "assessment.%").await.len(),
        count(&app, "SELECT count(*) AS n FROM audit_log").await,
        count(&app, "SELECT count(*) AS n FROM quiz_attempts").await,
        count(&app, "SELECT count(*) AS n FROM idempotency_keys").await,
    );
    assert_eq!(before.0, 2, "quiz_passed and quiz_high_score");

    let replay = app
        .submit_attempt(&ann, &attempt, "submit-1", answers.clone())
        .await;
    assert_eq!(replay.status, 200, "{}", replay.text);
    assert_eq!(
        replay.text, first.text,
        "a replay answers byte for byte the same"
    );
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    let after = (
        events(&app, "assessment.%").await.len(),
        count(&app, "SELECT count(*) AS n FROM audit_log").await,
        count(&app, "SELECT count(*) AS n FROM quiz_attempts").await,
        count(&app, "SELECT count(*) AS n FROM idempotency_keys").await,
    );
    assert_eq!(before, after, "a replay creates nothing");

    let other_body = app
        .submit_attempt(
            &ann,
            &attempt,
            "submit-1",
            json!([{ "question_id": id(&made[0]), "option_ids": ["a"] }]),
        )
        .await;
    assert_problem(&other_body, 422, "idempotency_key_reused");
    let other_key = app
        .submit_attempt(&ann, &attempt, "submit-2", answers)
        .await;
    assert_problem(&other_key, 409, "attempt_not_in_progress");
}

#[actix_web::test]
async fn a_submission_after_the_deadline_and_grace_is_refused_and_counts_as_an_attempt() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let module = app.published_module(&owner, "Site safety").await.0;
    let (quiz_id, made) = app
        .quiz(
            &owner,
            &module,
            json!({ "title": "Timed", "time_limit_seconds": 60, "max_attempts": 3 }),
            &[single("Pick a", "a")],
        )
        .await;
    let answers = json!([{ "question_id": id(&made[0]), "option_ids": ["a"] }]);
    let start = async || {
        let reply = app
            .call(
                Method::POST,
                &format!("/v1/quizzes/{quiz_id}/attempts"),
                &ann,
                None,
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        assert!(reply.json["deadline_at"].is_string());
        id(&reply.json)
    };
    let move_deadline = async |attempt: &str, seconds_ago: i32| {
        diesel::sql_query(format!(
            "UPDATE quiz_attempts SET deadline_at = now() - interval '{seconds_ago} seconds' WHERE id = '{attempt}'"
        ))
        .execute(&mut app.db.conn().await)
        .await
        .unwrap_or_default();
    };

    // 31 s past the deadline: beyond the 30 s grace.
    let late = start().await;
    move_deadline(&late, 31).await;
    let refused = app
        .submit_attempt(&ann, &late, "late", answers.clone())
        .await;
    assert_problem(&refused, 409, "attempt_timed_out");
    let closed = app.get(&format!("/v1/attempts/{late}"), &ann).await;
    assert_eq!(closed.json["status"], "TIMED_OUT");
    assert_eq!(closed.json["passed"], false);
    let retried = app
        .submit_attempt(&ann, &late, "late", answers.clone())
        .await;
    assert_problem(&retried, 409, "attempt_timed_out");

    // 10 s past the deadline: within the grace, accepted.
    let slow = start().await;
    move_deadline(&slow, 10).await;
    let accepted = app
        .submit_attempt(&ann, &slow, "slow", answers.clone())
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    assert_eq!(accepted.json["passed"], true);

    // An expired attempt left open is closed when the member starts again, and counts.
    let abandoned = start().await;
    move_deadline(&abandoned, 120).await;
    let next = app
        .call(
            Method::POST,
            &format!("/v1/quizzes/{quiz_id}/attempts"),
            &ann,
            None,
        )
        .await;
    assert_problem(&next, 409, "quiz_max_attempts_reached");
    let statuses: Vec<Value> = app
        .get(&format!("/v1/quizzes/{quiz_id}/attempts"), &ann)
        .await
        .json["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|a| a["status"].clone())
        .collect();
    assert_eq!(
        statuses,
        [json!("TIMED_OUT"), json!("GRADED"), json!("TIMED_OUT")]
    );
}

#[actix_web::test]
async fn fill_in_blank_answers_ignore_case_and_extra_whitespace() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let module = app.published_module(&owner, "Site safety").await.0;
    let (quiz_id, made) = app.quiz(&owner, &module, json!({ "title": "Blanks", "show_answers": "ALWAYS" }), &[
        json!({ "kind": "FILL_IN_BLANK", "prompt": "Wear a ___", "accepted_answers": ["Hard Hat", "helmet"] }),
        json!({ "kind": "FILL_IN_BLANK", "prompt": "Use ___ boots", "accepted_answers": ["steel toe"] }),
        json!({ "kind": "FILL_IN_BLANK", "prompt": "Call the ___", "accepted_answers": ["supervisor"] }),
    ]).await;
    let started = app
        .call(
            Method::POST,
            &format!("/v1/quizzes/{quiz_id}/attempts"),
            &ann,
            None,
        )
        .await;
    let reply = app
        .submit_attempt(
            &ann,
            &id(&started.json),
            "k",
            json!([
                { "question_id": id(&made[0]), "text": "  hard \t  HAT " },
                { "question_id": id(&made[1]), "text": "Steel\nToe" },
                { "question_id": id(&made[2]), "text": "super visor" },
            ]),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let points: Vec<Value> = reply.json["results"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| r["points_awarded"].clone())
        .collect();
    assert_eq!(points, [json!(1.0), json!(1.0), json!(0.0)]);
    assert_eq!(reply.json["score_points"], 2.0);
    assert_eq!(reply.json["score_percent"], 66.67);
    assert_eq!(
        reply.json["passed"], false,
        "70 % is the default passing score"
    );
    assert_eq!(
        reply.json["results"][2]["accepted_answers"],
        json!(["supervisor"])
    );
}

#[actix_web::test]
async fn multiple_choice_earns_partial_credit_or_all_or_nothing_as_configured() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let module = app.published_module(&owner, "Site safety").await.0;
    let question = json!({ "kind": "MULTIPLE_CHOICE", "prompt": "Which protect you?", "points": 3,
        "options": [{ "id": "a", "text": "Helmet", "correct": true }, { "id": "b", "text": "Gloves", "correct": true },
                    { "id": "c", "text": "Goggles", "correct": true }, { "id": "d", "text": "Sandals" }] });
    let mut outcomes = Vec::new();
    for mode in ["PARTIAL", "ALL_OR_NOTHING"] {
        let (quiz_id, made) = app.quiz(&owner, &module,
            json!({ "title": mode, "multiple_choice_scoring": mode, "passing_score_percent": 60, "show_answers": "AFTER_PASS" }),
            std::slice::from_ref(&question)).await;
        let started = app
            .call(
                Method::POST,
                &format!("/v1/quizzes/{quiz_id}/attempts"),
                &ann,
                None,
            )
            .await;
        // Two of three right and one wrong: 3 × (2 − 1) / 3 = 1 point partially.
        let wrong = app
            .submit_attempt(
                &ann,
                &id(&started.json),
                &format!("{mode}-1"),
                json!([{ "question_id": id(&made[0]), "option_ids": ["a", "b", "d"] }]),
            )
            .await;
        assert_eq!(wrong.status, 200, "{}", wrong.text);
        let started = app
            .call(
                Method::POST,
                &format!("/v1/quizzes/{quiz_id}/attempts"),
                &ann,
                None,
            )
            .await;
        let two_right = app
            .submit_attempt(
                &ann,
                &id(&started.json),
                &format!("{mode}-2"),
                json!([{ "question_id": id(&made[0]), "option_ids": ["a", "b"] }]),
            )
            .await;
        outcomes.push((
            wrong.json["score_points"].clone(),
            two_right.json["score_points"].clone(),
            two_right.json["score_percent"].clone(),
            two_right.json["passed"].clone(),
            two_right.json.get("results").is_some(),
        ));
    }
    assert_eq!(
        outcomes[0],
        (json!(1.0), json!(2.0), json!(66.67), json!(true), true)
    );
    assert_eq!(
        outcomes[1],
        (json!(0.0), json!(0.0), json!(0.0), json!(false), false)
    );
    // Passed at 66.67 %: quiz_passed, but no high score; every other attempt failed.
    let kinds: Vec<String> = events(&app, "assessment.%")
        .await
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        kinds,
        [
            "assessment.quiz_failed",
            "assessment.quiz_passed",
            "assessment.quiz_failed",
            "assessment.quiz_failed"
        ]
    );
}

#[actix_web::test]
async fn essays_wait_for_a_mentor_and_the_graded_score_is_final() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let ann_id = app.get("/v1/me", &ann).await.json["user"]["id"].clone();
    let mentor_pair = app.join(&owner, "mia@acme.example.com", "EMPLOYEE").await;
    let mia = access(&mentor_pair);
    let mia_id = app.get("/v1/me", &mia).await.json["user"]["id"].clone();
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let module = app.published_module(&owner, "Site safety").await.0;
    let mentors = app
        .put(
            &format!("/v1/modules/{module}/mentors"),
            &owner,
            json!({ "ids": [mia_id] }),
        )
        .await;
    assert_eq!(mentors.status, 200, "{}", mentors.text);
    let (quiz_id, made) = app
        .quiz(
            &owner,
            &module,
            json!({ "title": "Essay", "passing_score_percent": 50 }),
            &[
                single("Pick a", "a"),
                json!({ "kind": "ESSAY", "prompt": "Explain lockout/tagout", "points": 4 }),
            ],
        )
        .await;
    let started = app
        .call(
            Method::POST,
            &format!("/v1/quizzes/{quiz_id}/attempts"),
            &ann,
            None,
        )
        .await;
    let attempt = id(&started.json);
    let submitted = app
        .submit_attempt(
            &ann,
            &attempt,
            "k",
            json!([
                { "question_id": id(&made[0]), "option_ids": ["a"] },
                { "question_id": id(&made[1]), "text": "Isolate energy, lock it, tag it, verify." },
            ]),
        )
        .await;
    assert_eq!(submitted.status, 200, "{}", submitted.text);
    assert_eq!(submitted.json["status"], "PENDING_REVIEW");
    assert_eq!(submitted.json["passed"], Value::Null);
    assert_eq!(submitted.json["score_percent"], Value::Null);
    assert!(
        events(&app, "assessment.%").await.is_empty(),
        "no verdict, no event"
    );

    let queue = app.get("/v1/quiz-reviews", &mia).await;
    assert_eq!(queue.status, 200, "{}", queue.text);
    assert_eq!(queue.json["data"][0]["attempt"]["id"], attempt.as_str());
    assert_eq!(queue.json["data"][0]["quiz_title"], "Essay");
    let filtered = app
        .get(&format!("/v1/quiz-reviews?module_id={module}"), &owner)
        .await;
    assert_eq!(filtered.json["data"].as_array().map(Vec::len), Some(1));
    let not_bobs = app.get("/v1/quiz-reviews", &bob).await;
    assert_eq!(not_bobs.json["data"], json!([]), "{}", not_bobs.text);
    let by_bob = app
        .post(
            &format!("/v1/attempts/{attempt}/grades"),
            &bob,
            json!({ "grades": [{ "question_id": id(&made[1]), "points": 4 }] }),
        )
        .await;
    assert_problem(&by_bob, 404, "attempt_not_found");
    let by_ann = app
        .post(
            &format!("/v1/attempts/{attempt}/grades"),
            &ann,
            json!({ "grades": [{ "question_id": id(&made[1]), "points": 4 }] }),
        )
        .await;
    assert_problem(&by_ann, 403, "forbidden");

    let too_many = app
        .post(
            &format!("/v1/attempts/{attempt}/grades"),
            &mia,
            json!({ "grades": [{ "question_id": id(&made[1]), "points": 5 }] }),
        )
        .await;
    assert_problem(&too_many, 422, "validation_failed");
    let not_essay = app
        .post(
            &format!("/v1/attempts/{attempt}/grades"),
            &mia,
            json!({ "grades": [{ "question_id": id(&made[0]), "points": 1 }] }),
        )
        .await;
    assert_problem(&not_essay, 422, "validation_failed");

    let graded = app.post(&format!("/v1/attempts/{attempt}/grades"), &mia, json!({ "grades": [{ "question_id": id(&made[1]), "points": 3.5, "feedback": "Mention verification first." }] })).await;
    assert_eq!(graded.status, 200, "{}", graded.text);
    assert_eq!(graded.json["status"], "GRADED");
    assert_eq!(graded.json["score_points"], 4.5);
    assert_eq!(graded.json["max_points"], 5);
    assert_eq!(graded.json["score_percent"], 90.0);
    assert_eq!(graded.json["passed"], true);
    assert_eq!(
        graded.json["results"][1]["feedback"],
        "Mention verification first."
    );

    let again = app
        .post(
            &format!("/v1/attempts/{attempt}/grades"),
            &mia,
            json!({ "grades": [{ "question_id": id(&made[1]), "points": 4 }] }),
        )
        .await;
    assert_problem(&again, 409, "attempt_not_pending_review");
    let empty_queue = app.get("/v1/quiz-reviews", &mia).await;
    assert_eq!(empty_queue.json["data"], json!([]));

    // 90 %: passed and a high score, each once, with everything an XP or completion handler needs.
    let events = events(&app, "assessment.%").await;
    let kinds: Vec<&str> = events.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        ["assessment.quiz_high_score", "assessment.quiz_passed"]
    );
    for (_, payload) in &events {
        assert_eq!(payload["attempt_id"], attempt.as_str());
        assert_eq!(payload["quiz_id"], quiz_id.as_str());
        assert_eq!(payload["module_id"], module.as_str());
        assert_eq!(payload["user_id"], ann_id);
        assert_eq!(payload["score_percent"], 90.0);
        assert!(payload["tenant_id"].is_string());
    }
    let log = app.get("/v1/audit-log?limit=50", &owner).await;
    assert!(log.text.contains("ATTEMPT_GRADED"), "{}", log.text);
}

#[actix_web::test]
async fn quizzes_of_other_tenants_and_hidden_modules_are_not_found() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let module = app.published_module(&owner, "Site safety").await.0;
    let (quiz_id, made) = app
        .quiz(
            &owner,
            &module,
            json!({ "title": "Ours" }),
            &[single("Pick a", "a")],
        )
        .await;
    let started = app
        .call(
            Method::POST,
            &format!("/v1/quizzes/{quiz_id}/attempts"),
            &ann,
            None,
        )
        .await;
    let attempt = id(&started.json);

    let rival = app.owner("rival").await;
    for (method, uri) in [
        (Method::GET, format!("/v1/quizzes/{quiz_id}")),
        (Method::POST, format!("/v1/quizzes/{quiz_id}/attempts")),
        (Method::GET, format!("/v1/quizzes/{quiz_id}/attempts")),
    ] {
        let reply = app.call(method, &uri, &rival, None).await;
        assert_problem(&reply, 404, "quiz_not_found");
    }
    let listed = app
        .get(&format!("/v1/modules/{module}/quizzes"), &rival)
        .await;
    assert_problem(&listed, 404, "module_not_found");
    let peek = app.get(&format!("/v1/attempts/{attempt}"), &rival).await;
    assert_problem(&peek, 404, "attempt_not_found");
    let answers = json!([{ "question_id": id(&made[0]), "option_ids": ["a"] }]);
    let hijack = app
        .submit_attempt(&rival, &attempt, "x", answers.clone())
        .await;
    assert_problem(&hijack, 404, "attempt_not_found");
    let grade = app
        .post(
            &format!("/v1/attempts/{attempt}/grades"),
            &rival,
            json!({ "grades": [{ "question_id": id(&made[0]), "points": 1 }] }),
        )
        .await;
    assert_problem(&grade, 404, "attempt_not_found");
    let edit = app
        .post(
            &format!("/v1/quizzes/{quiz_id}/questions"),
            &rival,
            single("X", "a"),
        )
        .await;
    assert_problem(&edit, 404, "quiz_not_found");

    // A colleague cannot read or submit someone else's attempt either.
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let peek = app.get(&format!("/v1/attempts/{attempt}"), &bob).await;
    assert_problem(&peek, 404, "attempt_not_found");
    let hijack = app.submit_attempt(&bob, &attempt, "x", answers).await;
    assert_problem(&hijack, 404, "attempt_not_found");

    // A draft module's quiz is invisible to members.
    let draft = app
        .post("/v1/modules", &owner, json!({ "title": "Draft" }))
        .await;
    let (hidden, _) = app
        .quiz(
            &owner,
            &id(&draft.json),
            json!({ "title": "Hidden" }),
            &[single("Pick a", "a")],
        )
        .await;
    let start_hidden = app
        .call(
            Method::POST,
            &format!("/v1/quizzes/{hidden}/attempts"),
            &ann,
            None,
        )
        .await;
    assert_problem(&start_hidden, 404, "quiz_not_found");
}

#[actix_web::test]
async fn an_attempt_is_scored_and_reviewed_with_the_answer_key_it_was_started_with() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let cy = app.member(&owner, "cy@acme.example.com", "EMPLOYEE").await;
    let module = app.published_module(&owner, "Site safety").await.0;
    let mut question = single("Pick a", "a");
    question["explanation"] = json!("Alpha it is");
    let (quiz_id, made) = app
        .quiz(
            &owner,
            &module,
            json!({ "title": "Keys", "show_answers": "ALWAYS" }),
            &[question],
        )
        .await;
    let q = id(&made[0]);
    let attempts = format!("/v1/quizzes/{quiz_id}/attempts");
    let answer_a = json!([{ "question_id": q, "option_ids": ["a"] }]);

    // Ann takes the quiz and passes; Bob starts before the key changes.
    let taken = app.call(Method::POST, &attempts, &ann, None).await;
    assert_eq!(taken.status, 201, "{}", taken.text);
    let taken = id(&taken.json);
    let passed = app
        .submit_attempt(&ann, &taken, "ann-1", answer_a.clone())
        .await;
    assert_eq!(passed.json["passed"], true, "{}", passed.text);
    let open = app.call(Method::POST, &attempts, &bob, None).await;
    assert_eq!(open.status, 201, "{}", open.text);
    let open = id(&open.json);

    // An editor changes the prompt, the key and the explanation.
    let changed = app
        .patch(
            &format!("/v1/quizzes/{quiz_id}/questions/{q}"),
            &owner,
            json!({
                "prompt": "Pick b", "explanation": "Bravo now",
                "options": [
                    { "id": "a", "text": "Alpha", "correct": false },
                    { "id": "b", "text": "Bravo", "correct": true },
                    { "id": "c", "text": "Charlie", "correct": false }
                ]
            }),
        )
        .if_match(&format!("\"{}\"", made[0]["revision"]))
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);

    // Ann's review, to her and to a grader, shows the question and key she was scored with.
    let as_taken = |reply: &Reply| {
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.json["passed"], true, "{}", reply.text);
        assert_eq!(
            reply.json["questions"][0]["prompt"], "Pick a",
            "{}",
            reply.text
        );
        assert_eq!(reply.json["results"][0]["correct"], true, "{}", reply.text);
        assert_eq!(
            reply.json["results"][0]["correct_option_ids"],
            json!(["a"]),
            "{}",
            reply.text
        );
        assert_eq!(reply.json["results"][0]["explanation"], "Alpha it is");
    };
    for token in [&ann, &owner] {
        as_taken(&app.get(&format!("/v1/attempts/{taken}"), token).await);
    }
    // Bob's attempt, started before the change, is scored with the key of the question he saw.
    let bobs = app
        .submit_attempt(&bob, &open, "bob-1", answer_a.clone())
        .await;
    as_taken(&bobs);
    // An attempt started after the change uses the new key.
    let fresh = app.call(Method::POST, &attempts, &cy, None).await;
    assert_eq!(
        fresh.json["questions"][0]["prompt"], "Pick b",
        "{}",
        fresh.text
    );
    let cys = app
        .submit_attempt(&cy, &id(&fresh.json), "cy-1", answer_a)
        .await;
    assert_eq!(cys.json["passed"], false, "{}", cys.text);
    assert_eq!(cys.json["results"][0]["correct_option_ids"], json!(["b"]));

    // Deleting the question takes nothing from the attempts already taken.
    let deleted = app
        .delete(&format!("/v1/quizzes/{quiz_id}/questions/{q}"), &owner)
        .if_match(&format!("\"{}\"", changed.json["revision"]))
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    as_taken(&app.get(&format!("/v1/attempts/{taken}"), &ann).await);
}

#[actix_web::test]
async fn a_quiz_of_a_module_locked_by_its_prerequisites_cannot_be_started() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let (basics, basics_section) = app.published_module(&owner, "Basics").await;
    let (advanced, _) = app.published_module(&owner, "Advanced").await;
    let (quiz_id, _) = app
        .quiz(
            &owner,
            &advanced,
            json!({ "title": "Advanced check" }),
            &[single("Pick a", "a")],
        )
        .await;
    let set = app
        .put(
            &format!("/v1/modules/{advanced}/prerequisites"),
            &owner,
            json!({ "ids": [basics] }),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    let attempts = format!("/v1/quizzes/{quiz_id}/attempts");

    let refused = app.call(Method::POST, &attempts, &ann, None).await;
    assert_problem(&refused, 409, "module_locked");
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM quiz_attempts").await,
        0
    );

    // Once the prerequisite is completed, the quiz starts.
    let completed = app
        .call(
            Method::POST,
            &format!("/v1/modules/{basics}/sections/{basics_section}/complete"),
            &ann,
            None,
        )
        .await;
    assert_eq!(completed.status, 200, "{}", completed.text);
    let started = app.call(Method::POST, &attempts, &ann, None).await;
    assert_eq!(started.status, 201, "{}", started.text);
}

#[actix_web::test]
async fn a_create_retried_with_its_key_makes_one_quiz_and_lists_come_in_pages() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let module = app.published_module(&owner, "Site safety").await.0;
    let uri = format!("/v1/modules/{module}/quizzes");
    let create = async |key: &str, title: &str| {
        app.post(
            &uri,
            &owner,
            json!({ "title": title, "show_answers": "NEVER" }),
        )
        .idempotency_key(key)
        .await
    };

    let first = create("quiz-1", "One").await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.header("etag"), Some("\"1\""));
    assert_eq!(first.header("idempotent-replayed"), None);
    let retry = create("quiz-1", "One").await;
    assert_eq!(retry.status, 201, "{}", retry.text);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(retry.header("etag"), Some("\"1\""));
    assert_eq!(retry.json["id"], first.json["id"]);
    assert_eq!(retry.json["show_answers"], "NEVER");
    assert_problem(
        &create("quiz-1", "Other").await,
        422,
        "idempotency_key_reused",
    );
    assert_eq!(count(&app, "SELECT count(*) AS n FROM quizzes").await, 1);

    for title in ["Two", "Three"] {
        let made = app.post(&uri, &owner, json!({ "title": title })).await;
        assert_eq!(made.status, 201, "{}", made.text);
    }
    let page = app.get(&format!("{uri}?limit=2"), &owner).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let titles = |reply: &Reply| -> Vec<Value> {
        reply.json["data"]
            .as_array()
            .map(|qs| qs.iter().map(|q| q["title"].clone()).collect())
            .unwrap_or_default()
    };
    assert_eq!(titles(&page), [json!("One"), json!("Two")]);
    let cursor = page.json["next_cursor"].as_str().unwrap_or_default();
    assert!(!cursor.is_empty(), "{}", page.text);
    let last = app
        .get(&format!("{uri}?limit=2&cursor={cursor}"), &owner)
        .await;
    assert_eq!(titles(&last), [json!("Three")]);
    assert_eq!(last.json["next_cursor"], Value::Null);
    let forged = app
        .get(&format!("{uri}?cursor=bm90LWEtdXVpZA"), &owner)
        .await;
    assert_problem(&forged, 422, "validation_failed");
    let empty = app.get(&format!("{uri}?cursor="), &owner).await;
    assert_eq!(titles(&empty), [json!("One"), json!("Two"), json!("Three")]);
    for limit in [0, 201] {
        let out = app.get(&format!("{uri}?limit={limit}"), &owner).await;
        assert_problem(&out, 422, "validation_failed");
    }
}

#[actix_web::test]
async fn a_start_retried_with_its_key_answers_the_same_attempt_and_attempts_come_in_pages() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let module = app.published_module(&owner, "Site safety").await.0;
    let (quiz_id, made) = app
        .quiz(
            &owner,
            &module,
            json!({ "title": "Again" }),
            &[single("Pick a", "a")],
        )
        .await;
    let attempts = format!("/v1/quizzes/{quiz_id}/attempts");
    let start = async |key: &str| {
        app.call(Method::POST, &attempts, &ann, None)
            .idempotency_key(key)
            .await
    };

    let first = start("start-1").await;
    assert_eq!(first.status, 201, "{}", first.text);
    let retry = start("start-1").await;
    assert_eq!(retry.status, 201, "{}", retry.text);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(retry.json["id"], first.json["id"]);
    let resumed = start("start-2").await;
    assert_eq!(resumed.status, 200, "{}", resumed.text);
    assert_eq!(resumed.json["id"], first.json["id"]);
    assert_eq!(
        start("start-2").await.status,
        200,
        "a replay answers the stored status"
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM quiz_attempts").await,
        1
    );

    let answers = json!([{ "question_id": id(&made[0]), "option_ids": ["a"] }]);
    app.submit_attempt(&ann, &id(&first.json), "submit-1", answers.clone())
        .await;
    let second = app.call(Method::POST, &attempts, &ann, None).await;
    assert_eq!(second.status, 201, "{}", second.text);
    app.submit_attempt(&ann, &id(&second.json), "submit-2", answers)
        .await;

    let page = app.get(&format!("{attempts}?limit=1"), &ann).await;
    assert_eq!(page.json["data"][0]["number"], 1, "{}", page.text);
    assert_eq!(page.json["data"][0]["status"], "GRADED");
    let cursor = page.json["next_cursor"].as_str().unwrap_or_default();
    let next = app
        .get(&format!("{attempts}?limit=1&cursor={cursor}"), &ann)
        .await;
    assert_eq!(next.json["data"][0]["number"], 2, "{}", next.text);
    assert_eq!(next.json["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(next.json["next_cursor"], Value::Null);
}
