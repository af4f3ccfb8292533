//! Separation of duties over HTTP: nobody grades, reviews, awards or certifies themselves, and a
//! mentor's rights end at their module's content (who learns it, who grades it and whether its
//! learners' records may go are an administrator's decisions).

use actix_web::http::Method;
use guild_tests::{Reply, TestApp, assert_problem, count, id};
use serde_json::{Value, json};

/// A member with MANAGE_OWN_MODULES, tenant-wide: an author and mentor, no administrator.
async fn author(app: &TestApp, owner: &str, email: &str) -> (String, String) {
    let token = app.member(owner, email, "EMPLOYEE").await;
    let user = app.me_id(&token).await;
    app.grant(
        owner,
        &user,
        json!([{ "permission": "MANAGE_OWN_MODULES", "scope": {} }]),
    )
    .await;
    (token, user)
}

/// A published module by `author` with one section and `fields` (e.g. `validity_months`);
/// returns the module and the section.
async fn module_by(app: &TestApp, author: &str, fields: Value) -> (String, String) {
    let section = json!({ "title": "Intro", "content_html": "<p>Read me</p>" });
    let ids = app.module_with_section(author, fields, section).await;
    app.publish(author, &ids.0).await;
    ids
}

// --- Mentors beyond their module ---------------------------------------------------------------

#[actix_web::test]
async fn a_mentor_can_neither_assign_their_module_to_groups_nor_choose_its_graders() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let (mia, mia_id) = author(&app, &owner, "mia@acme.example.com").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let ann_id = app.me_id(&ann).await;
    let floor = app.group(&owner, "Floor", &[&ann_id]).await;

    // Mia mentors the owner's module and edits its content…
    let (module, _) = module_by(&app, &owner, json!({ "title": "Forklifts" })).await;
    let mentors = app
        .put(
            &format!("/v1/modules/{module}/mentors"),
            &owner,
            json!({ "ids": [mia_id] }),
        )
        .await;
    assert_eq!(mentors.status, 200, "{}", mentors.text);
    let tag = app.etag(&format!("/v1/modules/{}", &module), &mia).await;
    let edited = app
        .patch(
            &format!("/v1/modules/{module}"),
            &mia,
            json!({ "description": "Lifting safely" }),
        )
        .if_match(&tag)
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);

    // …but neither makes it mandatory for a group, nor removes an assignment, nor adds graders.
    let assign = |token: &str, module: &str| {
        app.put(
            &format!("/v1/modules/{module}/groups/{floor}"),
            token,
            json!({ "deadline_days": 7, "is_mandatory": true }),
        )
    };
    assert_problem(&app.send(assign(&mia, &module)).await, 403, "forbidden");
    assert_eq!(app.send(assign(&owner, &module)).await.status, 200);
    let unassigned = app
        .delete(&format!("/v1/modules/{module}/groups/{floor}"), &mia)
        .await;
    assert_problem(&unassigned, 403, "forbidden");
    let graders = app
        .put(
            &format!("/v1/modules/{module}/mentors"),
            &mia,
            json!({ "ids": [mia_id, ann_id] }),
        )
        .await;
    assert_problem(&graders, 403, "forbidden");

    // Nor for a module she created herself.
    let (own, _) = module_by(&app, &mia, json!({ "title": "Mia's tips" })).await;
    assert_problem(&app.send(assign(&mia, &own)).await, 403, "forbidden");
    let own_mentors = app
        .put(
            &format!("/v1/modules/{own}/mentors"),
            &mia,
            json!({ "ids": [ann_id] }),
        )
        .await;
    assert_problem(&own_mentors, 403, "forbidden");
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) AS n FROM module_groups WHERE module_id = '{own}'")
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) AS n FROM module_mentors WHERE module_id = '{module}'")
        )
        .await,
        1
    );

    // MANAGE_ALL_MODULES scoped to her module is enough for that module.
    app.grant(
        &owner,
        &mia_id,
        json!([
            { "permission": "MANAGE_OWN_MODULES", "scope": {} },
            { "permission": "MANAGE_ALL_MODULES", "scope": { "module_ids": [own] } }
        ]),
    )
    .await;
    assert_eq!(app.send(assign(&mia, &own)).await.status, 200);
    assert_problem(&app.send(assign(&mia, &module)).await, 403, "forbidden");
}

#[actix_web::test]
async fn a_completed_module_is_archived_not_deleted_unless_an_admin_forces_it_and_its_certificates_stay_revoked()
 {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    app.open_catalog(&owner).await;
    let (mia, _) = author(&app, &owner, "mia@acme.example.com").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let (module, section) = module_by(
        &app,
        &mia,
        json!({ "title": "Ladders", "validity_months": 12 }),
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
    let certificate = app.get("/v1/me/certificates", &ann).await;
    let code = certificate.json["data"][0]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!code.is_empty(), "{}", certificate.text);

    let delete = |token: &str, query: &str, tag: &str| {
        app.delete(&format!("/v1/modules/{module}{query}"), token)
            .if_match(tag)
            .to_request()
    };
    let tag = app.etag(&format!("/v1/modules/{}", &module), &mia).await;
    assert_problem(
        &app.send(delete(&mia, "", &tag)).await,
        409,
        "module_has_completions",
    );
    assert_problem(
        &app.send(delete(&mia, "?force=true", &tag)).await,
        403,
        "forbidden",
    );
    assert_problem(
        &app.send(delete(&owner, "", &tag)).await,
        409,
        "module_has_completions",
    );
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) AS n FROM modules WHERE id = '{module}'")
        )
        .await,
        1
    );

    let forced = app.send(delete(&owner, "?force=true", &tag)).await;
    assert_eq!(forced.status, 204, "{}", forced.text);
    let kept = app.get("/v1/me/certificates", &ann).await;
    let kept = &kept.json["data"];
    assert_eq!(kept.as_array().map(Vec::len), Some(1), "{kept}");
    assert_eq!(kept[0]["status"], "REVOKED");
    assert_eq!(kept[0]["module_id"], Value::Null);
    assert_eq!(kept[0]["module_title"], "Ladders");
    assert_eq!(kept[0]["revoked_reason"], "The module was deleted");
    let verified = app
        .request(Method::GET, &format!("/v1/certificates/verify/{code}"))
        .await;
    assert_eq!(verified.status, 200, "{}", verified.text);
    assert_eq!(verified.json["status"], "REVOKED");

    // A module nobody completed is still simply deleted by its author.
    let (draft, _) = module_by(&app, &mia, json!({ "title": "Scaffolds" })).await;
    let tag = app.etag(&format!("/v1/modules/{}", &draft), &mia).await;
    let deleted = app
        .delete(&format!("/v1/modules/{draft}"), &mia)
        .if_match(&tag)
        .to_request();
    assert_eq!(app.send(deleted).await.status, 204);
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
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    app.open_catalog(&owner).await;
    let mia = app.member(&owner, "mia@acme.example.com", "EMPLOYEE").await;
    let mia_id = app.me_id(&mia).await;
    let (module, _) = module_by(&app, &owner, json!({ "title": "Reports" })).await;
    let mentors = app
        .put(
            &format!("/v1/modules/{module}/mentors"),
            &owner,
            json!({ "ids": [mia_id] }),
        )
        .await;
    assert_eq!(mentors.status, 200, "{}", mentors.text);

    // Assignments: the mentor and the owner each submit; neither grades their own.
    let assignment = app
        .post(
            &format!("/v1/modules/{module}/assignments"),
            &owner,
            json!({ "title": "Summary", "max_score": 10 }),
        )
        .await;
    assert_eq!(assignment.status, 201, "{}", assignment.text);
    let submit = |token: &str, text: &str| {
        app.submit_assignment(
            token,
            &id(&assignment.json),
            &uuid::Uuid::now_v7().to_string(),
            json!({ "text_answer": text }),
        )
        .to_request()
    };
    let mias = id(&app.send(submit(&mia, "Mia's summary")).await.json);
    let owners = id(&app.send(submit(&owner, "The owner's summary")).await.json);
    let grade = |token: &str, submission: &str| {
        app.post(
            &format!("/v1/submissions/{submission}/grade"),
            token,
            json!({ "score": 10 }),
        )
    };
    assert_problem(
        &app.send(grade(&mia, &mias)).await,
        403,
        "cannot_grade_own_submission",
    );
    assert_problem(
        &app.send(grade(&owner, &owners)).await,
        403,
        "cannot_grade_own_submission",
    );
    let queue = app.get("/v1/assignment-reviews", &mia).await;
    assert_eq!(ids_at(&queue, &["submission", "id"]), [owners.as_str()]);
    assert_eq!(app.send(grade(&mia, &owners)).await.status, 200);
    assert_eq!(app.send(grade(&owner, &mias)).await.status, 200);

    // Essays: the mentor's attempt waits for another grader.
    let quiz = app
        .post(
            &format!("/v1/modules/{module}/quizzes"),
            &owner,
            json!({ "title": "Essay", "passing_score_percent": 50 }),
        )
        .await;
    let quiz = id(&quiz.json);
    let essay = app
        .post(
            &format!("/v1/quizzes/{quiz}/questions"),
            &owner,
            json!({ "kind": "ESSAY", "prompt": "Why summarise?", "points": 4 }),
        )
        .await;
    assert_eq!(essay.status, 201, "{}", essay.text);
    let essay = id(&essay.json);
    let started = app
        .call(
            Method::POST,
            &format!("/v1/quizzes/{quiz}/attempts"),
            &mia,
            None,
        )
        .await;
    let attempt = id(&started.json);
    let submitted = app
        .submit_attempt(
            &mia,
            &attempt,
            "essay",
            json!([{ "question_id": essay, "text": "Readers are busy." }]),
        )
        .await;
    assert_eq!(
        submitted.json["status"], "PENDING_REVIEW",
        "{}",
        submitted.text
    );
    let grades = json!({ "grades": [{ "question_id": essay, "points": 4 }] });
    let own = app
        .post(
            &format!("/v1/attempts/{attempt}/grades"),
            &mia,
            grades.clone(),
        )
        .await;
    assert_problem(&own, 403, "cannot_grade_own_attempt");
    let queue = app.get("/v1/quiz-reviews", &mia).await;
    assert_eq!(queue.json["data"], json!([]), "{}", queue.text);
    let queue = app.get("/v1/quiz-reviews", &owner).await;
    assert_eq!(ids_at(&queue, &["attempt", "id"]), [attempt.as_str()]);
    let graded = app
        .post(&format!("/v1/attempts/{attempt}/grades"), &owner, grades)
        .await;
    assert_eq!(graded.status, 200, "{}", graded.text);
    assert_eq!(graded.json["status"], "GRADED");
}

#[actix_web::test]
async fn an_admin_neither_awards_xp_to_themselves_nor_reviews_their_own_redemption() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let owner_id = app.me_id(&owner).await;
    let ada = app.member(&owner, "ada@acme.example.com", "ADMIN").await;
    let ada_id = app.me_id(&ada).await;
    let adjust = |token: &str, user: &str, amount: i32| {
        app.post(
            "/v1/xp/adjustments",
            token,
            json!({ "user_id": user, "amount": amount, "reason": "Great work" }),
        )
        .idempotency_key(&format!("{user}{amount}"))
    };
    for (token, user, amount) in [
        (&ada, &ada_id, 500),
        (&ada, &ada_id, -1),
        (&owner, &owner_id, 500),
    ] {
        assert_problem(
            &app.send(adjust(token, user, amount)).await,
            403,
            "cannot_award_self",
        );
    }
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM xp_transactions").await,
        0
    );
    assert_eq!(app.send(adjust(&owner, &ada_id, 500)).await.status, 200);

    let reward = app
        .post(
            "/v1/rewards",
            &owner,
            json!({ "title": "Day off", "cost_xp": 100, "approval_required": true }),
        )
        .await;
    assert_eq!(reward.status, 201, "{}", reward.text);
    let redeemed = app
        .call(
            Method::POST,
            &format!("/v1/rewards/{}/redemptions", id(&reward.json)),
            &ada,
            None,
        )
        .idempotency_key("day-off")
        .await;
    assert_eq!(redeemed.json["status"], "PENDING", "{}", redeemed.text);
    let redemption = id(&redeemed.json);
    for decision in ["approve", "reject"] {
        let own = app
            .post(
                &format!("/v1/redemptions/{redemption}/{decision}"),
                &ada,
                json!({}),
            )
            .await;
        assert_problem(&own, 403, "cannot_review_own_redemption");
    }
    let xp = app.get("/v1/me/xp", &ada).await;
    assert_eq!(xp.json["held_xp"], 100, "{}", xp.text);
    let approved = app
        .call(
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
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    app.open_catalog(&owner).await;
    let ada = app.member(&owner, "ada@acme.example.com", "ADMIN").await;
    let ada_id = app.me_id(&ada).await;
    let (module, _) = module_by(&app, &owner, json!({ "title": "Ladders" })).await;
    let complete = |token: &str| {
        app.post(&format!("/v1/members/{ada_id}/progress-overrides"), token, 
                json!({ "module_id": module, "action": "COMPLETE", "reason": "Certified elsewhere", "allow_certificate": true }),
            )
    };
    assert_problem(
        &app.send(complete(&ada)).await,
        403,
        "cannot_override_own_progress",
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM module_completions").await,
        0
    );
    let by_owner = app.send(complete(&owner)).await;
    assert_eq!(by_owner.status, 201, "{}", by_owner.text);
    let reverted = app
        .call(
            Method::POST,
            &format!("/v1/progress-overrides/{}/revert", id(&by_owner.json)),
            &ada,
            None,
        )
        .await;
    assert_problem(&reverted, 403, "cannot_override_own_progress");
}

/// Completes the section for the member; returns their progress on the module.
async fn complete_section(app: &TestApp, token: &str, module: &str, section: &str) -> Value {
    let done = app
        .post(
            &format!("/v1/modules/{module}/sections/{section}/complete"),
            token,
            json!({}),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    done.json
}

async fn xp_and_certificates(app: &TestApp, token: &str) -> (Value, usize) {
    let xp = app.get("/v1/me/xp", token).await;
    let certificates = app.get("/v1/me/certificates", token).await;
    (
        xp.json["lifetime_xp"].clone(),
        certificates.json["data"].as_array().map_or(0, Vec::len),
    )
}

#[actix_web::test]
async fn authors_and_mentors_earn_no_xp_nor_certificate_from_their_own_module_unless_someone_else_assigned_it()
 {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let owner_id = app.me_id(&owner).await;
    app.open_catalog(&owner).await;
    let (mia, _) = author(&app, &owner, "mia@acme.example.com").await;
    let ben = app.member(&owner, "ben@acme.example.com", "EMPLOYEE").await;
    let ben_id = app.me_id(&ben).await;

    // Mia writes a module with a quiz, publishes it and aces it: recorded, but earns nothing.
    let (own, section) = module_by(&app, &mia, json!({ "title": "Mia's tips" })).await;
    let quiz = app
        .post(
            &format!("/v1/modules/{own}/quizzes"),
            &mia,
            json!({ "title": "Check", "passing_score_percent": 100 }),
        )
        .await;
    let quiz = id(&quiz.json);
    let question = app
        .post(
            &format!("/v1/quizzes/{quiz}/questions"),
            &mia,
            json!({ "kind": "TRUE_FALSE", "prompt": "Tips help?", "points": 1, "options": [
            { "id": "t", "text": "True", "correct": true },
            { "id": "f", "text": "False", "correct": false }
        ] }),
        )
        .await;
    assert_eq!(question.status, 201, "{}", question.text);
    complete_section(&app, &mia, &own, &section).await;
    let attempt = app
        .call(
            Method::POST,
            &format!("/v1/quizzes/{quiz}/attempts"),
            &mia,
            None,
        )
        .await;
    let submitted = app
        .submit_attempt(
            &mia,
            &id(&attempt.json),
            "aced",
            json!([{ "question_id": id(&question.json), "option_ids": ["t"] }]),
        )
        .await;
    assert_eq!(submitted.json["score_percent"], 100.0, "{}", submitted.text);
    let progress = app.get(&format!("/v1/modules/{own}/progress"), &mia).await;
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
        let set = app
            .put(
                &format!("/v1/modules/{module}/mentors"),
                &owner,
                json!({ "ids": [ben_id] }),
            )
            .await;
        assert_eq!(set.status, 200, "{}", set.text);
    }
    let floor = app.group(&owner, "Floor", &[&ben_id]).await;
    let put = app
        .put(
            &format!("/v1/modules/{assigned}/groups/{floor}"),
            &owner,
            json!({ "is_mandatory": true }),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    let done = complete_section(&app, &ben, &mentored, &mentored_section).await;
    assert_eq!(done["certificate_id"], Value::Null, "{done}");
    let done = complete_section(&app, &ben, &assigned, &assigned_section).await;
    assert!(done["certificate_id"].is_string(), "{done}");

    // An assignment the author made to their own group is no one else's.
    let (notes, notes_section) = module_by(&app, &owner, json!({ "title": "Notes" })).await;
    let board = app.group(&owner, "Board", &[&owner_id]).await;
    let put = app
        .put(
            &format!("/v1/modules/{notes}/groups/{board}"),
            &owner,
            json!({}),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    let done = complete_section(&app, &owner, &notes, &notes_section).await;
    assert_eq!(done["certificate_id"], Value::Null, "{done}");

    app.run_worker().await;
    assert_eq!(xp_and_certificates(&app, &mia).await, (json!(0), 0));
    assert_eq!(xp_and_certificates(&app, &ben).await, (json!(100), 1));
    assert_eq!(xp_and_certificates(&app, &owner).await, (json!(0), 0));
    assert_eq!(
        count(
            &app,
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
    let app = TestApp::with(move |state| state.clock = c).await;
    let owner = app.owner("acme").await;
    app.open_catalog(&owner).await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
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
        let started = app
            .post(&format!("/v1/modules/{module}/renewal"), &ann, json!({}))
            .await;
        assert_eq!(started.status, 204, "{}", started.text);
        let done = complete_section(&app, &ann, &module, &section).await;
        assert!(done["certificate_id"].is_string(), "{done}");
        app.run_worker().await;
        assert_eq!(count(&app, renewals).await, earned, "on {d}/{m}");
    }
    let xp = app.get("/v1/me/xp", &ann).await;
    assert_eq!(xp.json["lifetime_xp"], 100 + 2 * 50, "{}", xp.text);
}
