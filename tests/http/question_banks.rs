//! Question banks through the API: authoring with ETags and the quiz question rules, who may
//! read them, tenant isolation, limits, and quizzes drawing from them for each attempt.

use actix_web::http::Method;
use guild_tests::{TestApp, assert_problem, count, execute, id};
use serde_json::{Value, json};
use std::future::IntoFuture;

/// A TRUE_FALSE question whose right answer is `t`.
fn truth(prompt: &str, tags: &[&str]) -> Value {
    json!({
        "kind": "TRUE_FALSE", "prompt": prompt, "tags": tags,
        "options": [
            { "id": "t", "text": "True", "correct": true },
            { "id": "f", "text": "False", "correct": false }
        ]
    })
}

/// A bank named `name` with `n` questions ("Q0"…), the even ones tagged `even`; returns the bank
/// and its questions as created.
async fn bank(app: &TestApp, token: &str, name: &str, n: usize) -> (String, Vec<Value>) {
    let created = app
        .post("/v1/question-banks", token, json!({ "name": name }))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let bank = id(&created.json);
    let mut questions = Vec::new();
    for i in 0..n {
        let tags: &[&str] = if i % 2 == 0 { &["Even"] } else { &[] };
        let q = app
            .post(
                &format!("/v1/question-banks/{bank}/questions"),
                token,
                truth(&format!("Q{i}"), tags),
            )
            .await;
        assert_eq!(q.status, 201, "{}", q.text);
        questions.push(q.json);
    }
    (bank, questions)
}

fn prompts(attempt: &Value) -> Vec<String> {
    attempt["questions"]
        .as_array()
        .map(|qs| {
            qs.iter()
                .map(|q| q["prompt"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Every question of `attempt` answered `t` (right).
fn right_answers(attempt: &Value) -> Value {
    Value::Array(
        attempt["questions"]
            .as_array()
            .map(|qs| {
                qs.iter()
                    .map(|q| json!({ "question_id": q["id"], "option_ids": ["t"] }))
                    .collect()
            })
            .unwrap_or_default(),
    )
}

#[actix_web::test]
async fn authors_keep_banks_of_tagged_questions_checked_like_quiz_questions() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let (bank, questions) = bank(&app, &owner, "Warehouse", 3).await;
    let uri = format!("/v1/question-banks/{bank}");

    let read = app.get(&uri, &owner).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.json["question_count"], 3);
    assert_eq!(read.header("etag"), Some("\"1\""));
    assert_eq!(questions[0]["tags"], json!(["even"]));

    let invalid = app
        .post(
            &format!("{uri}/questions"),
            &owner,
            json!({ "kind": "SINGLE_CHOICE", "prompt": "Two right?", "options": [
                { "id": "a", "text": "A", "correct": true }, { "id": "b", "text": "B", "correct": true }] }),
        )
        .await;
    assert_problem(&invalid, 422, "validation_failed");
    let blank_tag = app
        .post(&format!("{uri}/questions"), &owner, truth("Blank", &["  "]))
        .await;
    assert_problem(&blank_tag, 422, "validation_failed");
    let smuggled = app
        .post(
            "/v1/question-banks",
            &owner,
            json!({ "name": "X", "tenant_id": "x" }),
        )
        .await;
    assert_problem(&smuggled, 422, "validation_failed");

    let tagged = app.get(&format!("{uri}/questions?tag=EVEN"), &owner).await;
    assert_eq!(tagged.status, 200, "{}", tagged.text);
    assert_eq!(tagged.json["data"].as_array().map(Vec::len), Some(2));

    let q = id(&questions[1]);
    let stale = app
        .patch(
            &format!("{uri}/questions/{q}"),
            &owner,
            json!({ "points": 3 }),
        )
        .if_match("\"7\"")
        .await;
    assert_problem(&stale, 412, "precondition_failed");
    let changed = app
        .patch(
            &format!("{uri}/questions/{q}"),
            &owner,
            json!({ "points": 3, "tags": ["Loading"] }),
        )
        .if_match("\"1\"")
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.json["points"], 3);
    assert_eq!(changed.json["tags"], json!(["loading"]));
    assert_eq!(changed.header("etag"), Some("\"2\""));

    let renamed = app
        .patch(&uri, &owner, json!({ "name": "Warehouse 2027" }))
        .if_match("\"1\"")
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.json["name"], "Warehouse 2027");

    let removed = app
        .delete(&format!("{uri}/questions/{q}"), &owner)
        .if_match("\"2\"")
        .await;
    assert_eq!(removed.status, 204, "{}", removed.text);
    let list = app.get("/v1/question-banks", &owner).await;
    assert_eq!(list.json["data"][0]["question_count"], 2);
    let deleted = app.delete(&uri, &owner).if_match("\"2\"").await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_problem(&app.get(&uri, &owner).await, 404, "question_bank_not_found");
}

#[actix_web::test]
async fn only_quiz_authors_tenant_wide_reach_banks_and_other_tenants_get_404() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let (bank, questions) = bank(&app, &owner, "Warehouse", 1).await;
    let uri = format!("/v1/question-banks/{bank}");

    assert_problem(&app.get(&uri, &ann).await, 403, "forbidden");
    assert_problem(
        &app.post("/v1/question-banks", &ann, json!({ "name": "Mine" }))
            .await,
        403,
        "forbidden",
    );
    // A grant scoped to one module does not reach the tenant's banks.
    let module = app.published_module(&owner, "Site safety").await.0;
    let ann_id = app.me_id(&ann).await;
    app.grant(
        &owner,
        &ann_id,
        json!([{ "permission": "MANAGE_QUIZZES", "scope": { "module_ids": [module] } }]),
    )
    .await;
    assert_problem(&app.get(&uri, &ann).await, 403, "forbidden");
    app.grant(
        &owner,
        &ann_id,
        json!([{ "permission": "MANAGE_QUIZZES", "scope": {} }]),
    )
    .await;
    assert_eq!(app.get(&uri, &ann).await.status, 200);

    // API keys: only with a permission that reaches banks.
    let (_, reader) = app
        .api_key(
            &owner,
            json!({ "name": "reader", "permissions": ["VIEW_ANALYTICS"] }),
        )
        .await;
    assert_problem(&app.get(&uri, &reader).await, 403, "forbidden");
    let (_, author) = app
        .api_key(
            &owner,
            json!({ "name": "author", "permissions": ["MANAGE_ALL_MODULES"] }),
        )
        .await;
    assert_eq!(app.get(&uri, &author).await.status, 200);

    let stranger = app.owner("globex").await;
    let q = id(&questions[0]);
    assert_problem(
        &app.get(&uri, &stranger).await,
        404,
        "question_bank_not_found",
    );
    assert_problem(
        &app.get(&format!("{uri}/questions/{q}"), &stranger).await,
        404,
        "question_bank_not_found",
    );
    assert_problem(
        &app.patch(&uri, &stranger, json!({ "name": "Mine" }))
            .if_match("\"1\"")
            .await,
        404,
        "question_bank_not_found",
    );
    let theirs = app.published_module(&stranger, "Theirs").await.0;
    let borrowed = app
        .post(
            &format!("/v1/modules/{theirs}/quizzes"),
            &stranger,
            json!({ "title": "Borrowed", "draws": [{ "bank_id": bank, "count": 1 }] }),
        )
        .await;
    assert_problem(&borrowed, 404, "question_bank_not_found");
}

#[actix_web::test]
async fn a_tenant_holds_at_most_100_banks_and_a_bank_500_questions() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let (bank, _) = bank(&app, &owner, "First", 0).await;
    execute(
        &app,
        &format!(
            "INSERT INTO question_banks (tenant_id, id, name, created_by, created_at, updated_at) \
             SELECT tenant_id, gen_random_uuid(), 'Bank ' || i, created_by, now(), now() \
             FROM question_banks, generate_series(2, 100) AS i WHERE id = '{bank}'; \
             INSERT INTO question_bank_questions (tenant_id, id, bank_id, kind, prompt, created_at, updated_at) \
             SELECT tenant_id, gen_random_uuid(), id, 'ESSAY', 'Why ' || i, now(), now() \
             FROM question_banks, generate_series(1, 500) AS i WHERE id = '{bank}';"
        ),
    )
    .await;
    assert_problem(
        &app.post("/v1/question-banks", &owner, json!({ "name": "One more" }))
            .await,
        409,
        "question_bank_limit_reached",
    );
    assert_problem(
        &app.post(
            &format!("/v1/question-banks/{bank}/questions"),
            &owner,
            truth("One more", &[]),
        )
        .await,
        409,
        "bank_question_limit_reached",
    );
    let too_many_draws: Vec<Value> = (0..11)
        .map(|_| json!({ "bank_id": bank, "count": 1 }))
        .collect();
    let module = app.published_module(&owner, "Site safety").await.0;
    let refused = app
        .post(
            &format!("/v1/modules/{module}/quizzes"),
            &owner,
            json!({ "title": "Greedy", "draws": too_many_draws }),
        )
        .await;
    assert_problem(&refused, 422, "validation_failed");
}

#[actix_web::test]
async fn two_creations_racing_for_the_last_place_make_exactly_one() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let (bank, _) = bank(&app, &owner, "First", 0).await;
    // 99 banks and 499 questions: one place left of each.
    execute(
        &app,
        &format!(
            "INSERT INTO question_banks (tenant_id, id, name, created_by, created_at, updated_at) \
             SELECT tenant_id, gen_random_uuid(), 'Bank ' || i, created_by, now(), now() \
             FROM question_banks, generate_series(2, 99) AS i WHERE id = '{bank}'; \
             INSERT INTO question_bank_questions (tenant_id, id, bank_id, kind, prompt, created_at, updated_at) \
             SELECT tenant_id, gen_random_uuid(), id, 'ESSAY', 'Why ' || i, now(), now() \
             FROM question_banks, generate_series(1, 499) AS i WHERE id = '{bank}';"
        ),
    )
    .await;
    let first = app.post("/v1/question-banks", &owner, json!({ "name": "Racer A" }));
    let second = app.post("/v1/question-banks", &owner, json!({ "name": "Racer B" }));
    let (a, b) = futures_util::future::join(first.into_future(), second.into_future()).await;
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409], "{} {}", a.text, b.text);
    let loser = if a.status == 409 { &a } else { &b };
    assert_problem(loser, 409, "question_bank_limit_reached");
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM question_banks").await,
        100
    );

    let uri = format!("/v1/question-banks/{bank}/questions");
    let first = app.post(&uri, &owner, truth("Racer A", &[]));
    let second = app.post(&uri, &owner, truth("Racer B", &[]));
    let (a, b) = futures_util::future::join(first.into_future(), second.into_future()).await;
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409], "{} {}", a.text, b.text);
    let loser = if a.status == 409 { &a } else { &b };
    assert_problem(loser, 409, "bank_question_limit_reached");
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) AS n FROM question_bank_questions WHERE bank_id = '{bank}'")
        )
        .await,
        500
    );
}

#[actix_web::test]
async fn each_attempt_draws_its_own_questions_and_keeps_them_whatever_the_bank_becomes() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let module = app.published_module(&owner, "Site safety").await.0;
    let (bank, _) = bank(&app, &owner, "Warehouse", 30).await;
    let (quiz, _) = app
        .quiz(
            &owner,
            &module,
            json!({ "title": "Drawn", "draws": [{ "bank_id": bank, "count": 5, "tags": ["even"] }] }),
            &[],
        )
        .await;
    let read = app.get(&format!("/v1/quizzes/{quiz}"), &ann).await;
    assert_eq!(
        read.json["draws"],
        json!([{ "bank_id": bank, "count": 5, "tags": ["even"] }])
    );

    let start = || {
        app.call(
            Method::POST,
            &format!("/v1/quizzes/{quiz}/attempts"),
            &ann,
            None,
        )
    };
    let first = start().await;
    assert_eq!(first.status, 201, "{}", first.text);
    let drawn = prompts(&first.json);
    assert_eq!(drawn.len(), 5);
    assert!(
        drawn
            .iter()
            .all(|p| p[1..].parse::<usize>().unwrap() % 2 == 0),
        "{drawn:?}"
    );
    assert!(first.json["questions"][0].get("options").is_some());
    assert!(!first.text.contains("\"correct\""), "{}", first.text);
    let attempt = id(&first.json);
    assert_eq!(prompts(&start().await.json), drawn);
    let reread = app.get(&format!("/v1/attempts/{attempt}"), &ann).await;
    assert_eq!(prompts(&reread.json), drawn);

    // The bank changes under the attempt: its questions' answers flip, one is deleted.
    let bank_questions = app
        .get(
            &format!("/v1/question-banks/{bank}/questions?limit=200"),
            &owner,
        )
        .await;
    for q in bank_questions.json["data"].as_array().unwrap() {
        let changed = app
            .patch(
                &format!("/v1/question-banks/{bank}/questions/{}", id(q)),
                &owner,
                json!({ "prompt": "Changed", "options": [
                    { "id": "t", "text": "True", "correct": false },
                    { "id": "f", "text": "False", "correct": true }] }),
            )
            .if_match("\"1\"")
            .await;
        assert_eq!(changed.status, 200, "{}", changed.text);
    }
    let first_drawn = first.json["questions"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let gone = app
        .delete(
            &format!("/v1/question-banks/{bank}/questions/{first_drawn}"),
            &owner,
        )
        .if_match("\"2\"")
        .await;
    assert_eq!(gone.status, 204, "{}", gone.text);
    let after = app.get(&format!("/v1/attempts/{attempt}"), &ann).await;
    assert_eq!(prompts(&after.json), drawn);

    let submitted = app
        .submit_attempt(&ann, &attempt, "first", right_answers(&first.json))
        .await;
    assert_eq!(submitted.status, 200, "{}", submitted.text);
    assert_eq!(submitted.json["score_percent"], 100.0);
    assert_eq!(submitted.json["max_points"], 5);

    // Later attempts draw from the bank as it is now, each its own way.
    let mut sets = Vec::new();
    for n in 0..3 {
        let next = start().await;
        assert_eq!(next.status, 201, "{}", next.text);
        assert!(prompts(&next.json).iter().all(|p| p == "Changed"));
        let mut ids: Vec<String> = next.json["questions"]
            .as_array()
            .unwrap()
            .iter()
            .map(id)
            .collect();
        ids.sort();
        sets.push(ids);
        let done = app
            .submit_attempt(&ann, &id(&next.json), &format!("n{n}"), json!([]))
            .await;
        assert_eq!(done.status, 200, "{}", done.text);
    }
    assert!(
        sets[0] != sets[1] || sets[1] != sets[2],
        "three attempts drew the same 5 of 14: {sets:?}"
    );
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) AS n FROM quiz_attempts WHERE quiz_id = '{quiz}'")
        )
        .await,
        4
    );

    // A bank a quiz draws from stays until the quiz stops drawing from it.
    let in_use = app
        .delete(&format!("/v1/question-banks/{bank}"), &owner)
        .if_match("\"1\"")
        .await;
    assert_problem(&in_use, 409, "question_bank_in_use");
    let etag = app.etag(&format!("/v1/quizzes/{quiz}"), &owner).await;
    let cleared = app
        .patch(
            &format!("/v1/quizzes/{quiz}"),
            &owner,
            json!({ "draws": [] }),
        )
        .if_match(&etag)
        .await;
    assert_eq!(cleared.status, 200, "{}", cleared.text);
    assert_eq!(cleared.json["draws"], json!([]));
    let deleted = app
        .delete(&format!("/v1/question-banks/{bank}"), &owner)
        .if_match("\"1\"")
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    let kept = app.get(&format!("/v1/attempts/{attempt}"), &ann).await;
    assert_eq!(prompts(&kept.json), drawn);
}

#[actix_web::test]
async fn setting_draws_needs_the_bank_permission_besides_authoring_the_quiz() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let module = app.published_module(&owner, "Site safety").await.0;
    let (bank, _) = bank(&app, &owner, "Warehouse", 2).await;
    let ann_id = app.me_id(&ann).await;
    app.grant(
        &owner,
        &ann_id,
        json!([{ "permission": "MANAGE_QUIZZES", "scope": { "module_ids": [module] } }]),
    )
    .await;
    let refused = app
        .post(
            &format!("/v1/modules/{module}/quizzes"),
            &ann,
            json!({ "title": "Drawn", "draws": [{ "bank_id": bank, "count": 1 }] }),
        )
        .await;
    assert_problem(&refused, 403, "forbidden");
    let plain = app
        .post(
            &format!("/v1/modules/{module}/quizzes"),
            &ann,
            json!({ "title": "Plain" }),
        )
        .await;
    assert_eq!(plain.status, 201, "{}", plain.text);
}
