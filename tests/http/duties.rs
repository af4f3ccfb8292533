//! Separation of duties over HTTP: nobody grades, reviews, awards or certifies themselves, and a
//! mentor's rights end at their module's content (who learns it, who grades it and whether its
//! learners' records may go are an administrator's decisions).

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::Method;
use diesel::QueryableByName;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;
use guild_tests::{
    Reply, World, access, assert_problem, call, join, json_request, send, sign_up, with_headers,
    world,
};
use serde_json::{Value, json};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_owned()
}

async fn me_id<S, B>(app: &S, token: &str) -> String
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    call(app, Method::GET, "/v1/me", token, None).await.json["user"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn count(w: &World, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<Count>(&mut w.db.conn().await)
        .await
        .map(|c| c.n)
        .unwrap_or(-1)
}

/// Replaces `user`'s grants.
async fn grant<S, B>(app: &S, owner: &str, user: &str, grants: Value)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let reply = call(
        app,
        Method::PUT,
        &format!("/v1/members/{user}/permissions"),
        owner,
        Some(json!({ "grants": grants })),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

/// A member with MANAGE_OWN_MODULES, tenant-wide: an author and mentor, no administrator.
async fn author<S, B>(app: &S, w: &World, owner: &str, email: &str) -> (String, String)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let token = access(&join(app, w, owner, email, "EMPLOYEE").await);
    let user = me_id(app, &token).await;
    grant(
        app,
        owner,
        &user,
        json!([{ "permission": "MANAGE_OWN_MODULES", "scope": {} }]),
    )
    .await;
    (token, user)
}

/// The module's current ETag.
async fn etag<S, B>(app: &S, token: &str, module: &str) -> String
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    call(
        app,
        Method::GET,
        &format!("/v1/modules/{module}"),
        token,
        None,
    )
    .await
    .header("etag")
    .unwrap_or_default()
    .to_owned()
}

/// A published module by `author` with one section and `fields` (e.g. `validity_months`);
/// returns the module and the section.
async fn module_by<S, B>(app: &S, author: &str, fields: Value) -> (String, String)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let created = call(app, Method::POST, "/v1/modules", author, Some(fields)).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let module = id(&created.json);
    let section = call(
        app,
        Method::POST,
        &format!("/v1/modules/{module}/sections"),
        author,
        Some(json!({ "title": "Intro", "content_html": "<p>Read me</p>" })),
    )
    .await;
    assert_eq!(section.status, 201, "{}", section.text);
    let tag = etag(app, author, &module).await;
    let published = with_headers(
        app,
        Method::POST,
        &format!("/v1/modules/{module}/status"),
        author,
        &[("if-match", &tag)],
        Some(json!({ "status": "PUBLISHED" })),
    )
    .await;
    assert_eq!(published.status, 200, "{}", published.text);
    (module, id(&section.json))
}

/// A group with `members`; returns its id.
async fn group<S, B>(app: &S, owner: &str, name: &str, members: &[&str]) -> String
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let created = call(
        app,
        Method::POST,
        "/v1/groups",
        owner,
        Some(json!({ "name": name })),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let group = id(&created.json);
    if !members.is_empty() {
        let added = call(
            app,
            Method::POST,
            &format!("/v1/groups/{group}/members"),
            owner,
            Some(json!({ "user_ids": members })),
        )
        .await;
        assert!(added.status < 300, "{}", added.text);
    }
    group
}

async fn open_catalog<S, B>(app: &S, owner: &str)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let opened = call(
        app,
        Method::PATCH,
        "/v1/tenant",
        owner,
        Some(json!({ "catalog_open": true })),
    )
    .await;
    assert_eq!(opened.status, 200, "{}", opened.text);
}

// --- Mentors beyond their module ---------------------------------------------------------------

#[actix_web::test]
async fn a_mentor_can_neither_assign_their_module_to_groups_nor_choose_its_graders() {
    let (w, app) = world(|_| {}).await;
    let owner = access(&sign_up(&app, "acme").await);
    let (mia, mia_id) = author(&app, &w, &owner, "mia@acme.example.com").await;
    let ann = access(&join(&app, &w, &owner, "ann@acme.example.com", "EMPLOYEE").await);
    let ann_id = me_id(&app, &ann).await;
    let floor = group(&app, &owner, "Floor", &[&ann_id]).await;

    // Mia mentors the owner's module and edits its content…
    let (module, _) = module_by(&app, &owner, json!({ "title": "Forklifts" })).await;
    let mentors = call(
        &app,
        Method::PUT,
        &format!("/v1/modules/{module}/mentors"),
        &owner,
        Some(json!({ "ids": [mia_id] })),
    )
    .await;
    assert_eq!(mentors.status, 200, "{}", mentors.text);
    let tag = etag(&app, &mia, &module).await;
    let edited = with_headers(
        &app,
        Method::PATCH,
        &format!("/v1/modules/{module}"),
        &mia,
        &[("if-match", &tag)],
        Some(json!({ "description": "Lifting safely" })),
    )
    .await;
    assert_eq!(edited.status, 200, "{}", edited.text);

    // …but neither makes it mandatory for a group, nor removes an assignment, nor adds graders.
    let assign = |token: &str, module: &str| {
        json_request(
            Method::PUT,
            &format!("/v1/modules/{module}/groups/{floor}"),
            Some(token),
            Some(json!({ "deadline_days": 7, "is_mandatory": true })),
        )
    };
    assert_problem(&send(&app, assign(&mia, &module)).await, 403, "forbidden");
    assert_eq!(send(&app, assign(&owner, &module)).await.status, 200);
    let unassigned = call(
        &app,
        Method::DELETE,
        &format!("/v1/modules/{module}/groups/{floor}"),
        &mia,
        None,
    )
    .await;
    assert_problem(&unassigned, 403, "forbidden");
    let graders = call(
        &app,
        Method::PUT,
        &format!("/v1/modules/{module}/mentors"),
        &mia,
        Some(json!({ "ids": [mia_id, ann_id] })),
    )
    .await;
    assert_problem(&graders, 403, "forbidden");

    // Nor for a module she created herself.
    let (own, _) = module_by(&app, &mia, json!({ "title": "Mia's tips" })).await;
    assert_problem(&send(&app, assign(&mia, &own)).await, 403, "forbidden");
    let own_mentors = call(
        &app,
        Method::PUT,
        &format!("/v1/modules/{own}/mentors"),
        &mia,
        Some(json!({ "ids": [ann_id] })),
    )
    .await;
    assert_problem(&own_mentors, 403, "forbidden");
    assert_eq!(
        count(
            &w,
            &format!("SELECT count(*) AS n FROM module_groups WHERE module_id = '{own}'")
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &w,
            &format!("SELECT count(*) AS n FROM module_mentors WHERE module_id = '{module}'")
        )
        .await,
        1
    );

    // MANAGE_ALL_MODULES scoped to her module is enough for that module.
    grant(
        &app,
        &owner,
        &mia_id,
        json!([
            { "permission": "MANAGE_OWN_MODULES", "scope": {} },
            { "permission": "MANAGE_ALL_MODULES", "scope": { "module_ids": [own] } }
        ]),
    )
    .await;
    assert_eq!(send(&app, assign(&mia, &own)).await.status, 200);
    assert_problem(&send(&app, assign(&mia, &module)).await, 403, "forbidden");
}

#[actix_web::test]
async fn a_completed_module_is_archived_not_deleted_unless_an_admin_forces_it_and_its_certificates_stay_revoked()
 {
    let (w, app) = world(|_| {}).await;
    let owner = access(&sign_up(&app, "acme").await);
    open_catalog(&app, &owner).await;
    let (mia, _) = author(&app, &w, &owner, "mia@acme.example.com").await;
    let ann = access(&join(&app, &w, &owner, "ann@acme.example.com", "EMPLOYEE").await);
    let (module, section) = module_by(
        &app,
        &mia,
        json!({ "title": "Ladders", "validity_months": 12 }),
    )
    .await;
    let done = call(
        &app,
        Method::POST,
        &format!("/v1/modules/{module}/sections/{section}/complete"),
        &ann,
        Some(json!({})),
    )
    .await;
    assert_eq!(done.status, 200, "{}", done.text);
    let certificate = call(&app, Method::GET, "/v1/me/certificates", &ann, None).await;
    let code = certificate.json["data"][0]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!code.is_empty(), "{}", certificate.text);

    let delete = |token: &str, query: &str, tag: &str| {
        actix_web::test::TestRequest::delete()
            .uri(&format!("/v1/modules/{module}{query}"))
            .insert_header(("authorization", format!("Bearer {token}")))
            .insert_header(("if-match", tag.to_owned()))
            .to_request()
    };
    let tag = etag(&app, &mia, &module).await;
    assert_problem(
        &send(&app, delete(&mia, "", &tag)).await,
        409,
        "module_has_completions",
    );
    assert_problem(
        &send(&app, delete(&mia, "?force=true", &tag)).await,
        403,
        "forbidden",
    );
    assert_problem(
        &send(&app, delete(&owner, "", &tag)).await,
        409,
        "module_has_completions",
    );
    assert_eq!(
        count(
            &w,
            &format!("SELECT count(*) AS n FROM modules WHERE id = '{module}'")
        )
        .await,
        1
    );

    let forced = send(&app, delete(&owner, "?force=true", &tag)).await;
    assert_eq!(forced.status, 204, "{}", forced.text);
    let kept = call(&app, Method::GET, "/v1/me/certificates", &ann, None).await;
    let kept = &kept.json["data"];
    assert_eq!(kept.as_array().map(Vec::len), Some(1), "{kept}");
    assert_eq!(kept[0]["status"], "REVOKED");
    assert_eq!(kept[0]["module_id"], Value::Null);
    assert_eq!(kept[0]["module_title"], "Ladders");
    assert_eq!(kept[0]["revoked_reason"], "The module was deleted");
    let verified = send(
        &app,
        actix_web::test::TestRequest::get()
            .uri(&format!("/v1/certificates/verify/{code}"))
            .to_request(),
    )
    .await;
    assert_eq!(verified.status, 200, "{}", verified.text);
    assert_eq!(verified.json["status"], "REVOKED");

    // A module nobody completed is still simply deleted by its author.
    let (draft, _) = module_by(&app, &mia, json!({ "title": "Scaffolds" })).await;
    let tag = etag(&app, &mia, &draft).await;
    let deleted = actix_web::test::TestRequest::delete()
        .uri(&format!("/v1/modules/{draft}"))
        .insert_header(("authorization", format!("Bearer {mia}")))
        .insert_header(("if-match", tag))
        .to_request();
    assert_eq!(send(&app, deleted).await.status, 204);
}

// --- Separation of duties ----------------------------------------------------------------------

/// The ids in a page's `data`, at `path` (e.g. `["submission", "id"]`).
fn ids_at(page: &Reply, path: &[&str]) -> Vec<String> {
    page.json["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|item| {
            path.iter()
                .fold(item, |v, key| &v[*key])
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

#[actix_web::test]
async fn nobody_grades_their_own_submission_or_essay_whatever_their_role() {
    let (w, app) = world(|_| {}).await;
    let owner = access(&sign_up(&app, "acme").await);
    open_catalog(&app, &owner).await;
    let mia = access(&join(&app, &w, &owner, "mia@acme.example.com", "EMPLOYEE").await);
    let mia_id = me_id(&app, &mia).await;
    let (module, _) = module_by(&app, &owner, json!({ "title": "Reports" })).await;
    let mentors = call(
        &app,
        Method::PUT,
        &format!("/v1/modules/{module}/mentors"),
        &owner,
        Some(json!({ "ids": [mia_id] })),
    )
    .await;
    assert_eq!(mentors.status, 200, "{}", mentors.text);

    // Assignments: the mentor and the owner each submit; neither grades their own.
    let assignment = call(
        &app,
        Method::POST,
        &format!("/v1/modules/{module}/assignments"),
        &owner,
        Some(json!({ "title": "Summary", "max_score": 10 })),
    )
    .await;
    assert_eq!(assignment.status, 201, "{}", assignment.text);
    let submit = |token: &str, text: &str| {
        actix_web::test::TestRequest::post()
            .uri(&format!(
                "/v1/assignments/{}/submissions",
                id(&assignment.json)
            ))
            .insert_header(("authorization", format!("Bearer {token}")))
            .insert_header(("idempotency-key", uuid::Uuid::now_v7().to_string()))
            .set_json(json!({ "text_answer": text }))
            .to_request()
    };
    let mias = id(&send(&app, submit(&mia, "Mia's summary")).await.json);
    let owners = id(&send(&app, submit(&owner, "The owner's summary")).await.json);
    let grade = |token: &str, submission: &str| {
        json_request(
            Method::POST,
            &format!("/v1/submissions/{submission}/grade"),
            Some(token),
            Some(json!({ "score": 10 })),
        )
    };
    assert_problem(
        &send(&app, grade(&mia, &mias)).await,
        403,
        "cannot_grade_own_submission",
    );
    assert_problem(
        &send(&app, grade(&owner, &owners)).await,
        403,
        "cannot_grade_own_submission",
    );
    let queue = call(&app, Method::GET, "/v1/assignment-reviews", &mia, None).await;
    assert_eq!(ids_at(&queue, &["submission", "id"]), [owners.as_str()]);
    assert_eq!(send(&app, grade(&mia, &owners)).await.status, 200);
    assert_eq!(send(&app, grade(&owner, &mias)).await.status, 200);

    // Essays: the mentor's attempt waits for another grader.
    let quiz = call(
        &app,
        Method::POST,
        &format!("/v1/modules/{module}/quizzes"),
        &owner,
        Some(json!({ "title": "Essay", "passing_score_percent": 50 })),
    )
    .await;
    let quiz = id(&quiz.json);
    let essay = call(
        &app,
        Method::POST,
        &format!("/v1/quizzes/{quiz}/questions"),
        &owner,
        Some(json!({ "kind": "ESSAY", "prompt": "Why summarise?", "points": 4 })),
    )
    .await;
    assert_eq!(essay.status, 201, "{}", essay.text);
    let essay = id(&essay.json);
    let started = call(
        &app,
        Method::POST,
        &format!("/v1/quizzes/{quiz}/attempts"),
        &mia,
        None,
    )
    .await;
    let attempt = id(&started.json);
    let submitted = with_headers(
        &app,
        Method::POST,
        &format!("/v1/attempts/{attempt}/submit"),
        &mia,
        &[("idempotency-key", "essay")],
        Some(json!({ "answers": [{ "question_id": essay, "text": "Readers are busy." }] })),
    )
    .await;
    assert_eq!(
        submitted.json["status"], "PENDING_REVIEW",
        "{}",
        submitted.text
    );
    let grades = json!({ "grades": [{ "question_id": essay, "points": 4 }] });
    let own = call(
        &app,
        Method::POST,
        &format!("/v1/attempts/{attempt}/grades"),
        &mia,
        Some(grades.clone()),
    )
    .await;
    assert_problem(&own, 403, "cannot_grade_own_attempt");
    let queue = call(&app, Method::GET, "/v1/quiz-reviews", &mia, None).await;
    assert_eq!(queue.json["data"], json!([]), "{}", queue.text);
    let queue = call(&app, Method::GET, "/v1/quiz-reviews", &owner, None).await;
    assert_eq!(ids_at(&queue, &["attempt", "id"]), [attempt.as_str()]);
    let graded = call(
        &app,
        Method::POST,
        &format!("/v1/attempts/{attempt}/grades"),
        &owner,
        Some(grades),
    )
    .await;
    assert_eq!(graded.status, 200, "{}", graded.text);
    assert_eq!(graded.json["status"], "GRADED");
}

#[actix_web::test]
async fn an_admin_neither_awards_xp_to_themselves_nor_reviews_their_own_redemption() {
    let (w, app) = world(|_| {}).await;
    let owner = access(&sign_up(&app, "acme").await);
    let owner_id = me_id(&app, &owner).await;
    let ada = access(&join(&app, &w, &owner, "ada@acme.example.com", "ADMIN").await);
    let ada_id = me_id(&app, &ada).await;
    let adjust = |token: &str, user: &str, amount: i32| {
        guild_tests::request_with(
            Method::POST,
            "/v1/xp/adjustments",
            token,
            &[("Idempotency-Key", &format!("{user}{amount}"))],
            Some(json!({ "user_id": user, "amount": amount, "reason": "Great work" })),
        )
    };
    for (token, user, amount) in [
        (&ada, &ada_id, 500),
        (&ada, &ada_id, -1),
        (&owner, &owner_id, 500),
    ] {
        assert_problem(
            &send(&app, adjust(token, user, amount)).await,
            403,
            "cannot_award_self",
        );
    }
    assert_eq!(
        count(&w, "SELECT count(*) AS n FROM xp_transactions").await,
        0
    );
    assert_eq!(send(&app, adjust(&owner, &ada_id, 500)).await.status, 200);

    let reward = call(
        &app,
        Method::POST,
        "/v1/rewards",
        &owner,
        Some(json!({ "title": "Day off", "cost_xp": 100, "approval_required": true })),
    )
    .await;
    assert_eq!(reward.status, 201, "{}", reward.text);
    let redeemed = with_headers(
        &app,
        Method::POST,
        &format!("/v1/rewards/{}/redemptions", id(&reward.json)),
        &ada,
        &[("idempotency-key", "day-off")],
        None,
    )
    .await;
    assert_eq!(redeemed.json["status"], "PENDING", "{}", redeemed.text);
    let redemption = id(&redeemed.json);
    for decision in ["approve", "reject"] {
        let own = call(
            &app,
            Method::POST,
            &format!("/v1/redemptions/{redemption}/{decision}"),
            &ada,
            Some(json!({})),
        )
        .await;
        assert_problem(&own, 403, "cannot_review_own_redemption");
    }
    let xp = call(&app, Method::GET, "/v1/me/xp", &ada, None).await;
    assert_eq!(xp.json["held_xp"], 100, "{}", xp.text);
    let approved = call(
        &app,
        Method::POST,
        &format!("/v1/redemptions/{redemption}/approve"),
        &owner,
        None,
    )
    .await;
    assert_eq!(approved.json["status"], "APPROVED", "{}", approved.text);
    assert_eq!(approved.json["reviewed_by"], owner_id.as_str());
}

#[actix_web::test]
async fn nobody_overrides_their_own_progress_nor_reverts_an_override_of_it() {
    let (w, app) = world(|_| {}).await;
    let owner = access(&sign_up(&app, "acme").await);
    open_catalog(&app, &owner).await;
    let ada = access(&join(&app, &w, &owner, "ada@acme.example.com", "ADMIN").await);
    let ada_id = me_id(&app, &ada).await;
    let (module, _) = module_by(&app, &owner, json!({ "title": "Ladders" })).await;
    let complete = |token: &str| {
        json_request(
            Method::POST,
            &format!("/v1/members/{ada_id}/progress-overrides"),
            Some(token),
            Some(
                json!({ "module_id": module, "action": "COMPLETE", "reason": "Certified elsewhere", "allow_certificate": true }),
            ),
        )
    };
    assert_problem(
        &send(&app, complete(&ada)).await,
        403,
        "cannot_override_own_progress",
    );
    assert_eq!(
        count(&w, "SELECT count(*) AS n FROM module_completions").await,
        0
    );
    let by_owner = send(&app, complete(&owner)).await;
    assert_eq!(by_owner.status, 201, "{}", by_owner.text);
    let reverted = call(
        &app,
        Method::POST,
        &format!("/v1/progress-overrides/{}/revert", id(&by_owner.json)),
        &ada,
        None,
    )
    .await;
    assert_problem(&reverted, 403, "cannot_override_own_progress");
}

/// Completes the section for the member; returns their progress on the module.
async fn complete_section<S, B>(app: &S, token: &str, module: &str, section: &str) -> Value
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let done = call(
        app,
        Method::POST,
        &format!("/v1/modules/{module}/sections/{section}/complete"),
        token,
        Some(json!({})),
    )
    .await;
    assert_eq!(done.status, 200, "{}", done.text);
    done.json
}

async fn xp_and_certificates<S, B>(app: &S, token: &str) -> (Value, usize)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let xp = call(app, Method::GET, "/v1/me/xp", token, None).await;
    let certificates = call(app, Method::GET, "/v1/me/certificates", token, None).await;
    (
        xp.json["lifetime_xp"].clone(),
        certificates.json["data"].as_array().map_or(0, Vec::len),
    )
}

#[actix_web::test]
async fn authors_and_mentors_earn_no_xp_nor_certificate_from_their_own_module_unless_someone_else_assigned_it()
 {
    let (w, app) = world(|_| {}).await;
    let owner = access(&sign_up(&app, "acme").await);
    let owner_id = me_id(&app, &owner).await;
    open_catalog(&app, &owner).await;
    let (mia, _) = author(&app, &w, &owner, "mia@acme.example.com").await;
    let ben = access(&join(&app, &w, &owner, "ben@acme.example.com", "EMPLOYEE").await);
    let ben_id = me_id(&app, &ben).await;

    // Mia writes a module with a quiz, publishes it and aces it: recorded, but earns nothing.
    let (own, section) = module_by(&app, &mia, json!({ "title": "Mia's tips" })).await;
    let quiz = call(
        &app,
        Method::POST,
        &format!("/v1/modules/{own}/quizzes"),
        &mia,
        Some(json!({ "title": "Check", "passing_score_percent": 100 })),
    )
    .await;
    let quiz = id(&quiz.json);
    let question = call(
        &app,
        Method::POST,
        &format!("/v1/quizzes/{quiz}/questions"),
        &mia,
        Some(
            json!({ "kind": "TRUE_FALSE", "prompt": "Tips help?", "points": 1, "options": [
            { "id": "t", "text": "True", "correct": true },
            { "id": "f", "text": "False", "correct": false }
        ] }),
        ),
    )
    .await;
    assert_eq!(question.status, 201, "{}", question.text);
    complete_section(&app, &mia, &own, &section).await;
    let attempt = call(
        &app,
        Method::POST,
        &format!("/v1/quizzes/{quiz}/attempts"),
        &mia,
        None,
    )
    .await;
    let submitted = with_headers(
        &app,
        Method::POST,
        &format!("/v1/attempts/{}/submit", id(&attempt.json)),
        &mia,
        &[("idempotency-key", "aced")],
        Some(json!({ "answers": [{ "question_id": id(&question.json), "option_ids": ["t"] }] })),
    )
    .await;
    assert_eq!(submitted.json["score_percent"], 100.0, "{}", submitted.text);
    let progress = call(
        &app,
        Method::GET,
        &format!("/v1/modules/{own}/progress"),
        &mia,
        None,
    )
    .await;
    assert!(
        progress.json["completed_at"].is_string(),
        "{}",
        progress.text
    );
    assert_eq!(progress.json["certificate_id"], Value::Null);

    // Ben mentors two of the owner's modules; only the one the owner assigned to his group earns.
    let (mentored, mentored_section) =
        module_by(&app, &owner, json!({ "title": "Forklifts" })).await;
    let (assigned, assigned_section) = module_by(&app, &owner, json!({ "title": "Ladders" })).await;
    for module in [&mentored, &assigned] {
        let set = call(
            &app,
            Method::PUT,
            &format!("/v1/modules/{module}/mentors"),
            &owner,
            Some(json!({ "ids": [ben_id] })),
        )
        .await;
        assert_eq!(set.status, 200, "{}", set.text);
    }
    let floor = group(&app, &owner, "Floor", &[&ben_id]).await;
    let put = call(
        &app,
        Method::PUT,
        &format!("/v1/modules/{assigned}/groups/{floor}"),
        &owner,
        Some(json!({ "is_mandatory": true })),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.text);
    let done = complete_section(&app, &ben, &mentored, &mentored_section).await;
    assert_eq!(done["certificate_id"], Value::Null, "{done}");
    let done = complete_section(&app, &ben, &assigned, &assigned_section).await;
    assert!(done["certificate_id"].is_string(), "{done}");

    // An assignment the author made to their own group is no one else's.
    let (notes, notes_section) = module_by(&app, &owner, json!({ "title": "Notes" })).await;
    let board = group(&app, &owner, "Board", &[&owner_id]).await;
    let put = call(
        &app,
        Method::PUT,
        &format!("/v1/modules/{notes}/groups/{board}"),
        &owner,
        Some(json!({})),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.text);
    let done = complete_section(&app, &owner, &notes, &notes_section).await;
    assert_eq!(done["certificate_id"], Value::Null, "{done}");

    w.run_worker().await;
    assert_eq!(xp_and_certificates(&app, &mia).await, (json!(0), 0));
    assert_eq!(xp_and_certificates(&app, &ben).await, (json!(100), 1));
    assert_eq!(xp_and_certificates(&app, &owner).await, (json!(0), 0));
    assert_eq!(
        count(
            &w,
            "SELECT count(*) AS n FROM outbox_events WHERE kind = 'learning.module_completed'"
        )
        .await,
        4
    );
}

#[actix_web::test]
async fn renewing_again_within_one_validity_period_earns_the_renewal_xp_once() {
    use chrono::TimeZone;
    use guild_kernel::Clock;
    let day = |d: u32, m: u32| chrono::Utc.with_ymd_and_hms(2027, m, d, 9, 0, 0).unwrap();
    let clock = std::sync::Arc::new(guild_kernel::ManualClock::new(day(1, 2)));
    let c = clock.clone();
    let (w, app) = world(move |state| state.clock = c).await;
    let owner = access(&sign_up(&app, "acme").await);
    open_catalog(&app, &owner).await;
    let ann = access(&join(&app, &w, &owner, "ann@acme.example.com", "EMPLOYEE").await);
    // Valid for one month: a certificate is renewable the day it is issued.
    let (module, section) = module_by(
        &app,
        &owner,
        json!({ "title": "Ladders", "validity_months": 1 }),
    )
    .await;
    let renewals = "SELECT count(*) AS n FROM xp_transactions WHERE source = 'COMPLIANCE_RENEWAL'";
    complete_section(&app, &ann, &module, &section).await;
    for (d, m, earned) in [(2, 2, 1), (3, 2, 1), (20, 2, 1), (1, 3, 2)] {
        clock.advance(day(d, m) - clock.now());
        let started = call(
            &app,
            Method::POST,
            &format!("/v1/modules/{module}/renewal"),
            &ann,
            Some(json!({})),
        )
        .await;
        assert_eq!(started.status, 204, "{}", started.text);
        let done = complete_section(&app, &ann, &module, &section).await;
        assert!(done["certificate_id"].is_string(), "{done}");
        w.run_worker().await;
        assert_eq!(count(&w, renewals).await, earned, "on {d}/{m}");
    }
    let xp = call(&app, Method::GET, "/v1/me/xp", &ann, None).await;
    assert_eq!(xp.json["lifetime_xp"], 100 + 2 * 50, "{}", xp.text);
}
