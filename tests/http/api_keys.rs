//! API keys through the API: a key does what its permissions allow, and what its creator does as
//! a member (learning, spending XP, grading as a mentor, their own settings and dashboard) only
//! when it was created with `act_as_member`.

use actix_web::http::Method;
use guild_tests::{TestApp, assert_problem, count, id};
use serde_json::{Value, json};

/// Creates `what` and returns its id.
async fn create(app: &TestApp, token: &str, uri: &str, body: Value) -> String {
    let reply = app.post(uri, token, body).await;
    assert_eq!(reply.status, 201, "{uri}: {}", reply.text);
    id(&reply.json)
}

#[actix_web::test]
async fn a_key_without_act_as_member_does_nothing_its_creator_does_as_a_member() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let owner_id = app.me_id(&owner).await;
    let (module, section) = app.published_module(&owner, "Safety").await;
    let quiz = create(
        &app,
        &owner,
        &format!("/v1/modules/{module}/quizzes"),
        json!({ "title": "Check" }),
    )
    .await;
    create(
        &app,
        &owner,
        &format!("/v1/quizzes/{quiz}/questions"),
        json!({ "kind": "TRUE_FALSE", "prompt": "Helmets?", "points": 1, "options": [
            { "id": "t", "text": "True", "correct": true },
            { "id": "f", "text": "False", "correct": false }
        ]}),
    )
    .await;
    let assignment = create(
        &app,
        &owner,
        &format!("/v1/modules/{module}/assignments"),
        json!({ "title": "Report", "max_score": 10 }),
    )
    .await;
    let reward = create(
        &app,
        &owner,
        "/v1/rewards",
        json!({ "title": "Mug", "cost_xp": 10 }),
    )
    .await;
    // The owner mentors the module, and Ann's submission waits for a grade.
    let mentors = app
        .put(
            &format!("/v1/modules/{module}/mentors"),
            &owner,
            json!({ "ids": [owner_id] }),
        )
        .await;
    assert_eq!(mentors.status, 200, "{}", mentors.text);
    let submission = app
        .submit_assignment(
            &ann,
            &assignment,
            "ann-1",
            json!({ "text_answer": "What happened" }),
        )
        .await;
    assert_eq!(submission.status, 201, "{}", submission.text);
    let submission = id(&submission.json);

    let (created, key) = app
        .api_key(
            &owner,
            json!({ "name": "BI export", "permissions": ["VIEW_AUDIT_LOG"] }),
        )
        .await;
    assert_eq!(created["key"]["act_as_member"], false, "off by default");

    let refused: [(Method, String, Option<Value>); 18] = [
        (
            Method::POST,
            format!("/v1/modules/{module}/sections/{section}/complete"),
            None,
        ),
        (Method::POST, format!("/v1/quizzes/{quiz}/attempts"), None),
        (
            Method::POST,
            format!("/v1/assignments/{assignment}/submissions"),
            Some(json!({ "text_answer": "By the key" })),
        ),
        (
            Method::POST,
            format!("/v1/rewards/{reward}/redemptions"),
            None,
        ),
        (
            Method::PATCH,
            "/v1/me/email-preferences".to_owned(),
            Some(json!({ "digest": "NEVER" })),
        ),
        (
            Method::POST,
            format!("/v1/submissions/{submission}/grade"),
            Some(json!({ "score": 10, "feedback": "Fine" })),
        ),
        (Method::GET, "/v1/me/dashboard".to_owned(), None),
        (Method::GET, "/v1/me/notifications".to_owned(), None),
        (
            Method::POST,
            "/v1/me/notifications/read-all".to_owned(),
            None,
        ),
        (Method::GET, "/v1/stream".to_owned(), None),
        (Method::GET, "/v1/me/jobs".to_owned(), None),
        (Method::GET, "/v1/changelog".to_owned(), None),
        (Method::POST, "/v1/changelog/read".to_owned(), None),
        (Method::POST, "/v1/stream/tickets".to_owned(), None),
        (Method::POST, "/v1/presence/heartbeat".to_owned(), None),
        (Method::GET, "/v1/presence".to_owned(), None),
        (
            Method::PUT,
            "/v1/me/presence-visibility".to_owned(),
            Some(json!({ "hidden": true })),
        ),
        (Method::GET, "/v1/me/sessions".to_owned(), None),
    ];
    for (method, uri, body) in refused {
        let reply = app
            .call(method.clone(), &uri, &key, body)
            .idempotency_key("key-1")
            .await;
        assert_eq!(
            (reply.status, reply.json["code"].clone()),
            (403, json!("api_key_not_permitted")),
            "{method} {uri}: {}",
            reply.text
        );
    }

    // What its permission allows it still does.
    let log = app.get("/v1/audit-log", &key).await;
    assert_eq!(log.status, 200, "{}", log.text);

    // And nothing was done in the owner's name.
    for (what, sql) in [
        (
            "section completions",
            "SELECT count(*) AS n FROM section_completions",
        ),
        ("quiz attempts", "SELECT count(*) AS n FROM quiz_attempts"),
        (
            "submissions",
            "SELECT count(*) AS n FROM assignment_submissions WHERE status <> 'SUBMITTED'",
        ),
        (
            "redemptions",
            "SELECT count(*) AS n FROM reward_redemptions",
        ),
        (
            "preferences",
            "SELECT count(*) AS n FROM email_preferences WHERE digest = 'NEVER'",
        ),
        ("stream tickets", "SELECT count(*) AS n FROM stream_tickets"),
        ("usage sessions", "SELECT count(*) AS n FROM usage_sessions"),
        (
            "presence preferences",
            "SELECT count(*) AS n FROM presence_preferences",
        ),
    ] {
        assert_eq!(count(&app, sql).await, 0, "{what}");
    }
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM assignment_submissions").await,
        1,
        "only Ann's submission"
    );
}

#[actix_web::test]
async fn a_key_created_to_act_as_a_member_learns_as_its_creator_within_its_permissions() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let (module, section) = app.published_module(&owner, "Safety").await;
    let (created, key) = app.api_key(
        &owner,
        json!({ "name": "My learning app", "permissions": ["VIEW_AUDIT_LOG"], "act_as_member": true }),
    )
    .await;
    assert_eq!(created["key"]["act_as_member"], true, "{created}");

    let completed = app
        .call(
            Method::POST,
            &format!("/v1/modules/{module}/sections/{section}/complete"),
            &key,
            None,
        )
        .await;
    assert_eq!(completed.status, 200, "{}", completed.text);
    let dashboard = app.get("/v1/me/dashboard", &key).await;
    assert_eq!(dashboard.status, 200, "{}", dashboard.text);

    // Acting as a member adds no permission.
    let members = app.get("/v1/members", &key).await;
    assert_problem(&members, 403, "forbidden");
    let listed = app.get("/v1/api-keys", &owner).await;
    assert_eq!(
        listed.json["data"][0]["act_as_member"], true,
        "{}",
        listed.text
    );
}

#[actix_web::test]
async fn routes_decided_by_permissions_admit_a_key_limited_to_them() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let (owner_id, ann_id) = (app.me_id(&owner).await, app.me_id(&ann).await);
    let (_, hr_key) = app
        .api_key(
            &owner,
            json!({ "name": "HR sync", "permissions": ["MANAGE_USERS", "VIEW_ALL_PROGRESS"] }),
        )
        .await;
    let members = app.get("/v1/members", &hr_key).await;
    assert_eq!(members.status, 200, "{}", members.text);
    for user in [&ann_id, &owner_id] {
        let uri = format!("/v1/members/{user}/certificates");
        let certificates = app.get(&uri, &hr_key).await;
        assert_eq!(certificates.status, 200, "{uri}: {}", certificates.text);
    }
    let group = app
        .post(
            "/v1/groups",
            &hr_key,
            json!({ "name": "Support", "color": "#112233" }),
        )
        .await;
    assert_problem(&group, 403, "forbidden");

    // A key reads even its creator's own certificates only through a permission.
    let (_, audit_key) = app
        .api_key(
            &owner,
            json!({ "name": "Audit", "permissions": ["VIEW_AUDIT_LOG"] }),
        )
        .await;
    let own = app
        .get(&format!("/v1/members/{owner_id}/certificates"), &audit_key)
        .await;
    assert_problem(&own, 403, "forbidden");
}
