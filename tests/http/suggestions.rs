//! Knowledge suggestions over HTTP: an anonymous author named by no response to anyone (every
//! body searched); votes counted exactly under concurrency; popularity notified and rewarded once
//! when votes race across the threshold; review by MANAGE_SUGGESTIONS holders (never one's own)
//! with its notifications; conversion into a DRAFT module whose first publication tells the
//! voters once; threaded comments, sorting, limits; other tenants' 404; who may do what.

use std::cell::RefCell;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use diesel_async::RunQueryDsl;
use guild_kernel::{Clock, ManualClock, TenantId, UserId};
use guild_tests::{Reply, TestApp, access, assert_problem, count, events, execute};
use serde_json::{Value, json};

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// Every response body the test saw, to search.
#[derive(Default)]
struct Seen(RefCell<Vec<String>>);

impl Seen {
    fn keep(&self, reply: Reply) -> Reply {
        self.0.borrow_mut().push(reply.text.clone());
        reply
    }
}

async fn propose(app: &TestApp, token: &str, title: &str, anonymous: bool) -> Value {
    let created = app
        .post(
            "/v1/suggestions",
            token,
            json!({ "title": title, "description": format!("{title}: why and how."), "anonymous": anonymous }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    created.json
}

/// The kinds and titles of `token`'s notifications.
async fn inbox(app: &TestApp, token: &str) -> Vec<(String, String)> {
    let got = app.get("/v1/me/notifications", token).await;
    assert_eq!(got.status, 200, "{}", got.text);
    got.json["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|n| (s(&n["kind"]), s(&n["title"])))
        .collect()
}

fn kinds(notes: &[(String, String)], kind: &str) -> usize {
    notes.iter().filter(|(k, _)| k == kind).count()
}

#[derive(diesel::QueryableByName)]
struct IdRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: uuid::Uuid,
}

/// `n` active EMPLOYEE members of the tenant made in the database, with access tokens.
async fn bulk_tokens(app: &TestApp, tenant: &str, slug: &str, n: usize) -> Vec<String> {
    app.bulk_members(tenant, slug, None, n).await;
    let rows: Vec<IdRow> = diesel::sql_query(format!(
        "SELECT id FROM users WHERE email LIKE 'bulk%@{slug}.example.com' ORDER BY id"
    ))
    .load(&mut app.db.conn().await)
    .await
    .expect("bulk members");
    let tenant = TenantId(tenant.parse().expect("a tenant id"));
    rows.iter()
        .map(|r| {
            app.state
                .tokens
                .issue(UserId(r.id), Some(tenant), 0)
                .expect("a token")
        })
        .collect()
}

async fn set_threshold(app: &TestApp, token: &str, n: i32) {
    let set = app
        .patch(
            "/v1/suggestions/settings",
            token,
            json!({ "popularity_threshold": n }),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(set.json["popularity_threshold"], n);
}

#[actix_web::test]
async fn an_anonymous_authors_identity_is_in_no_response_to_anyone() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let ada = app.member(&owner, "ada@acme.example.com", "ADMIN").await;
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let cy = app.member(&owner, "cy@acme.example.com", "EMPLOYEE").await;
    let ann_id = app.me_id(&ann).await;
    set_threshold(&app, &owner, 2).await;
    let seen = Seen::default();

    let created = seen.keep(
        app.post(
            "/v1/suggestions",
            &ann,
            json!({ "title": "Quiet hours", "description": "For the workshop.", "anonymous": true }),
        )
        .await,
    );
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json["author"], Value::Null);
    assert_eq!(created.json["mine"], true, "its author sees it as theirs");
    let id = s(&created.json["id"]);
    let uri = format!("/v1/suggestions/{id}");

    // Votes (the second makes it popular), comments, a reaction, a review.
    for token in [&bob, &cy] {
        let voted = seen.keep(app.put(&format!("{uri}/vote"), token, json!({})).await);
        assert_eq!(voted.status, 200, "{}", voted.text);
    }
    let first = seen.keep(
        app.post(
            &format!("{uri}/comments"),
            &bob,
            json!({ "body": "Yes please" }),
        )
        .await,
    );
    assert_eq!(first.status, 201, "{}", first.text);
    let reply = seen.keep(
        app.post(
            &format!("{uri}/comments"),
            &cy,
            json!({ "body": "Mornings?", "parent_id": first.json["id"] }),
        )
        .await,
    );
    assert_eq!(reply.status, 201, "{}", reply.text);
    seen.keep(
        app.put(&format!("{uri}/reactions/heart"), &bob, json!({}))
            .await,
    );
    let approved = seen.keep(
        app.put(
            &format!("{uri}/status"),
            &ada,
            json!({ "status": "APPROVED", "reason": "Good idea" }),
        )
        .await,
    );
    assert_eq!(approved.status, 200, "{}", approved.text);
    app.run_worker().await;
    app.run_worker().await;

    // Everything anyone reads, administrators included.
    for token in [&owner, &ada, &bob, &cy, &ann] {
        for list in [
            "/v1/suggestions",
            "/v1/suggestions?sort=new",
            "/v1/suggestions?sort=trending",
            "/v1/suggestions?status=APPROVED",
        ] {
            let got = seen.keep(app.get(list, token).await);
            assert_eq!(got.status, 200, "{}", got.text);
            assert_eq!(got.json["data"][0]["id"], id.as_str());
            assert_eq!(got.json["data"][0]["author"], Value::Null);
        }
        let got = seen.keep(app.get(&uri, token).await);
        assert_eq!(got.json["mine"], *token == ann, "{}", got.text);
        seen.keep(app.get(&format!("{uri}/comments"), token).await);
    }
    for token in [&owner, &ada, &bob, &cy] {
        seen.keep(app.get("/v1/me/notifications", token).await);
    }
    let bodies = seen.0.borrow().clone();
    assert!(bodies.len() > 30);
    for body in bodies.iter() {
        assert!(!body.contains(&ann_id), "the author's id in {body}");
        assert!(
            !body.to_lowercase().contains("ann@acme"),
            "the author's name or email in {body}"
        );
    }
    // Nobody else's stream carries them either.
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) AS n FROM member_stream_events \
                 WHERE user_id <> '{ann_id}' AND payload::text LIKE '%{ann_id}%'"
            )
        )
        .await,
        0
    );
    assert!(
        count(
            &app,
            "SELECT count(*) AS n FROM member_stream_events WHERE kind = 'suggestion.changed'"
        )
        .await
            > 0
    );
    // The reviewers heard it became popular; its author still hears of it and earned the XP.
    for token in [&owner, &ada] {
        assert_eq!(kinds(&inbox(&app, token).await, "SUGGESTION_POPULAR"), 1);
    }
    let mine = inbox(&app, &ann).await;
    assert_eq!(kinds(&mine, "SUGGESTION_STATUS_CHANGED"), 1, "{mine:?}");
    assert_eq!(kinds(&mine, "XP_EARNED"), 1, "{mine:?}");
    // The audit trail keeps who wrote it.
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) AS n FROM audit_log WHERE action = 'suggestion.created' \
                 AND actor_id = '{ann_id}' AND entity_id = '{id}'"
            )
        )
        .await,
        1
    );
}

#[actix_web::test]
async fn a_hundred_racing_votes_and_unvotes_leave_the_count_equal_to_the_rows() {
    let app = TestApp::new().await;
    let acme = app.sign_up("acme").await;
    let owner = access(&acme);
    let tenant = s(&acme["tenant"]["id"]);
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let voters = bulk_tokens(&app, &tenant, "acme", 100).await;
    let id = s(&propose(&app, &ann, "Forklift refresher", false).await["id"]);
    let uri = format!("/v1/suggestions/{id}/vote");

    let votes = voters.iter().map(|token| {
        let (app, uri) = (&app, &uri);
        async move { app.put(uri, token, json!({})).await }
    });
    for reply in futures_util::future::join_all(votes).await {
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    let got = app.get(&format!("/v1/suggestions/{id}"), &owner).await;
    assert_eq!(got.json["vote_count"], 100, "{}", got.text);

    // Half take their vote back twice, the other half vote again, all at once.
    let mixed = voters.iter().enumerate().flat_map(|(i, token)| {
        let (app, uri) = (&app, &uri);
        (0..2).map(move |_| async move {
            if i % 2 == 0 {
                app.delete(uri, token).await
            } else {
                app.put(uri, token, json!({})).await
            }
        })
    });
    for reply in futures_util::future::join_all(mixed).await {
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    let got = app.get(&format!("/v1/suggestions/{id}"), &owner).await;
    assert_eq!(got.json["vote_count"], 50, "{}", got.text);
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM suggestion_votes").await,
        50
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM suggestions s WHERE vote_count <> (SELECT count(*) \
             FROM suggestion_votes v WHERE v.suggestion_id = s.id)"
        )
        .await,
        0
    );
}

#[actix_web::test]
async fn votes_racing_across_the_threshold_notify_the_reviewers_and_reward_the_author_once() {
    let app = TestApp::new().await;
    let acme = app.sign_up("acme").await;
    let owner = access(&acme);
    let tenant = s(&acme["tenant"]["id"]);
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let ada = app.member(&owner, "ada@acme.example.com", "ADMIN").await;
    let ann_id = app.me_id(&ann).await;
    let voters = bulk_tokens(&app, &tenant, "acme", 20).await;
    let id = s(&propose(&app, &ann, "Ladder checklist", false).await["id"]);
    let uri = format!("/v1/suggestions/{id}/vote");

    // Never for one's own.
    assert_problem(
        &app.put(&uri, &ann, json!({})).await,
        403,
        "cannot_vote_own_suggestion",
    );
    // 20 votes at once across the default threshold (5).
    let votes = voters.iter().map(|token| {
        let (app, uri) = (&app, &uri);
        async move { app.put(uri, token, json!({})).await }
    });
    for reply in futures_util::future::join_all(votes).await {
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    // Down below it and back up again: still popular once.
    for token in &voters[..18] {
        assert_eq!(app.delete(&uri, token).await.status, 200);
    }
    for token in &voters[..18] {
        assert_eq!(app.put(&uri, token, json!({})).await.status, 200);
    }
    app.run_worker().await;
    app.run_worker().await;
    let got = app.get(&format!("/v1/suggestions/{id}"), &ann).await;
    assert_eq!(got.json["popular"], true, "{}", got.text);
    assert_eq!(events(&app, "social.suggestion_popular").await.len(), 1);
    for token in [&owner, &ada] {
        assert_eq!(kinds(&inbox(&app, token).await, "SUGGESTION_POPULAR"), 1);
    }
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM notifications WHERE kind = 'SUGGESTION_POPULAR'"
        )
        .await,
        2,
        "the reviewers only"
    );
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) AS n FROM xp_transactions WHERE source = 'TOP_SUGGESTION' \
                 AND user_id = '{ann_id}' AND source_entity_id = '{id}'"
            )
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM xp_transactions WHERE source = 'TOP_SUGGESTION'"
        )
        .await,
        1,
        "voters earn nothing"
    );
}

#[actix_web::test]
async fn reviewers_approve_and_reject_with_a_reason_never_their_own_and_tell_author_and_voters() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let ada = app.member(&owner, "ada@acme.example.com", "ADMIN").await;
    let hal = app.member(&owner, "hal@acme.example.com", "HR").await;
    let hal_id = app.me_id(&hal).await;
    let id = s(&propose(&app, &ann, "Feedback module", false).await["id"]);
    let status = format!("/v1/suggestions/{id}/status");
    assert_eq!(
        app.put(&format!("/v1/suggestions/{id}/vote"), &bob, json!({}))
            .await
            .status,
        200
    );
    let approve = json!({ "status": "APPROVED", "reason": "Next quarter" });

    // Members, HR without the grant and keys without the permission may not.
    for token in [&ann, &bob, &hal] {
        assert_problem(
            &app.put(&status, token, approve.clone()).await,
            403,
            "forbidden",
        );
    }
    let (_, key) = app
        .api_key(
            &owner,
            json!({ "name": "BI", "permissions": ["MANAGE_ALL_MODULES"], "act_as_member": true }),
        )
        .await;
    assert_problem(
        &app.put(&status, &key, approve.clone()).await,
        403,
        "forbidden",
    );
    assert_problem(
        &app.put(
            &status,
            &ada,
            json!({ "status": "CONVERTED", "reason": "Done" }),
        )
        .await,
        422,
        "validation_failed",
    );

    let approved = app.put(&status, &ada, approve.clone()).await;
    assert_eq!(approved.status, 200, "{}", approved.text);
    assert_eq!(approved.json["status"], "APPROVED");
    assert_eq!(approved.json["status_reason"], "Next quarter");
    assert_problem(
        &app.put(&status, &ada, approve.clone()).await,
        409,
        "invalid_status_transition",
    );
    app.run_worker().await;
    for token in [&ann, &bob] {
        let notes = inbox(&app, token).await;
        assert_eq!(kinds(&notes, "SUGGESTION_STATUS_CHANGED"), 1, "{notes:?}");
        assert!(notes.iter().any(|(_, t)| t.contains("was approved")));
    }
    assert_eq!(
        kinds(&inbox(&app, &ada).await, "SUGGESTION_STATUS_CHANGED"),
        0,
        "not the reviewer"
    );

    // Separation of duties: a reviewer's own suggestion is another reviewer's decision.
    let own = s(&propose(&app, &ada, "Admin's idea", false).await["id"]);
    let reject = json!({ "status": "REJECTED", "reason": "Out of scope" });
    assert_problem(
        &app.put(
            &format!("/v1/suggestions/{own}/status"),
            &ada,
            reject.clone(),
        )
        .await,
        403,
        "cannot_review_own_suggestion",
    );
    assert_problem(
        &app.post(&format!("/v1/suggestions/{own}/module"), &ada, json!({}))
            .await,
        403,
        "cannot_review_own_suggestion",
    );
    // A grant makes HR a reviewer.
    app.grant(
        &owner,
        &hal_id,
        json!([{ "permission": "MANAGE_SUGGESTIONS", "scope": {} }]),
    )
    .await;
    let rejected = app
        .put(
            &format!("/v1/suggestions/{own}/status"),
            &hal,
            reject.clone(),
        )
        .await;
    assert_eq!(rejected.status, 200, "{}", rejected.text);
    // Closed: votes no longer change.
    assert_problem(
        &app.put(&format!("/v1/suggestions/{own}/vote"), &bob, json!({}))
            .await,
        409,
        "suggestion_closed",
    );
    // A key holding the permission reviews, within it.
    let (_, reviewer_key) = app
        .api_key(
            &owner,
            json!({ "name": "Triage", "permissions": ["MANAGE_SUGGESTIONS"] }),
        )
        .await;
    let rejected = app.put(&status, &reviewer_key, reject).await;
    assert_eq!(rejected.status, 200, "{}", rejected.text);
    assert_problem(
        &app.post(
            &format!("/v1/suggestions/{id}/comments"),
            &reviewer_key,
            json!({ "body": "x" }),
        )
        .await,
        403,
        "api_key_not_permitted",
    );
}

/// Moves `module` to `status` at its current ETag.
async fn move_module(app: &TestApp, token: &str, module: &str, status: &str) {
    let uri = format!("/v1/modules/{module}");
    let etag = app.etag(&uri, token).await;
    let moved = app
        .post(&format!("{uri}/status"), token, json!({ "status": status }))
        .if_match(&etag)
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
}

#[actix_web::test]
async fn a_converted_suggestion_becomes_a_draft_module_whose_first_publication_tells_the_voters() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    app.open_catalog(&owner).await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let cy = app.member(&owner, "cy@acme.example.com", "EMPLOYEE").await;
    let ada = app.member(&owner, "ada@acme.example.com", "ADMIN").await;
    let hal = app.member(&owner, "hal@acme.example.com", "HR").await;
    let hal_id = app.me_id(&hal).await;
    app.grant(
        &owner,
        &hal_id,
        json!([{ "permission": "MANAGE_SUGGESTIONS", "scope": {} }]),
    )
    .await;
    let created = app
        .post(
            "/v1/suggestions",
            &ann,
            json!({ "title": "Ladder safety", "description": "Three points of contact.\n\nAlways <b>check</b> the feet." }),
        )
        .await;
    let id = s(&created.json["id"]);
    for token in [&bob, &cy] {
        assert_eq!(
            app.put(&format!("/v1/suggestions/{id}/vote"), token, json!({}))
                .await
                .status,
            200
        );
    }
    let convert = format!("/v1/suggestions/{id}/module");

    // A reviewer who may not create modules may not convert.
    assert_problem(&app.post(&convert, &hal, json!({})).await, 403, "forbidden");
    let converted = app
        .post(&convert, &ada, json!({ "reason": "Drafted" }))
        .await;
    assert_eq!(converted.status, 201, "{}", converted.text);
    let module = s(&converted.json["module_id"]);
    assert_eq!(converted.json["suggestion_id"], id.as_str());
    assert_eq!(converted.json["suggestion"]["status"], "CONVERTED");
    assert_eq!(converted.json["suggestion"]["module_id"], module.as_str());
    assert_problem(
        &app.post(&convert, &ada, json!({})).await,
        409,
        "invalid_status_transition",
    );

    let got = app.get(&format!("/v1/modules/{module}"), &ada).await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.json["status"], "DRAFT");
    assert_eq!(got.json["title"], "Ladder safety");
    let sections = app
        .get(&format!("/v1/modules/{module}/sections"), &ada)
        .await;
    let sections = sections.json["data"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(sections.len(), 1, "{sections:?}");
    assert_eq!(
        s(&converted.json["section_id"]),
        s(&sections[0]["id"]),
        "{sections:?}"
    );
    let section = app
        .get(
            &format!("/v1/modules/{module}/sections/{}", s(&sections[0]["id"])),
            &ada,
        )
        .await;
    let html = s(&section.json["content_html"]);
    assert!(html.contains("Three points of contact."), "{html}");
    assert!(
        html.contains("&lt;b&gt;check&lt;/b&gt;"),
        "the text stays text: {html}"
    );

    app.run_worker().await;
    for token in [&ann, &bob, &cy] {
        let notes = inbox(&app, token).await;
        assert_eq!(kinds(&notes, "SUGGESTION_STATUS_CHANGED"), 1, "{notes:?}");
        assert_eq!(kinds(&notes, "NEW_KNOWLEDGE"), 0);
    }
    // Published: the voters hear of it, once, however often it is published again.
    move_module(&app, &ada, &module, "PUBLISHED").await;
    app.run_worker().await;
    move_module(&app, &ada, &module, "DRAFT").await;
    move_module(&app, &ada, &module, "PUBLISHED").await;
    app.run_worker().await;
    for token in [&bob, &cy] {
        let notes = inbox(&app, token).await;
        assert_eq!(kinds(&notes, "NEW_KNOWLEDGE"), 1, "{notes:?}");
    }
    assert_eq!(
        kinds(&inbox(&app, &ann).await, "NEW_KNOWLEDGE"),
        0,
        "voters only"
    );
}

#[actix_web::test]
async fn another_tenants_suggestion_is_not_found_and_readers_only_read() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let vic = app.member(&owner, "vic@acme.example.com", "VIEWER").await;
    let id = s(&propose(&app, &ann, "Acme's idea", false).await["id"]);
    let comment = app
        .post(
            &format!("/v1/suggestions/{id}/comments"),
            &ann,
            json!({ "body": "More detail" }),
        )
        .await;
    let comment = s(&comment.json["id"]);
    let globex = app.owner("globex").await;
    let gus = app
        .member(&globex, "gus@globex.example.com", "EMPLOYEE")
        .await;

    let base = format!("/v1/suggestions/{id}");
    for token in [&globex, &gus] {
        for reply in [
            app.get(&base, token).await,
            app.put(&format!("{base}/vote"), token, json!({})).await,
            app.delete(&format!("{base}/vote"), token).await,
            app.get(&format!("{base}/comments"), token).await,
            app.post(&format!("{base}/comments"), token, json!({ "body": "Hi" }))
                .await,
            app.put(&format!("{base}/reactions/heart"), token, json!({}))
                .await,
            app.delete(&format!("{base}/comments/{comment}"), token)
                .await,
        ] {
            assert_problem(&reply, 404, "suggestion_not_found");
        }
        let listed = app.get("/v1/suggestions", token).await;
        assert_eq!(listed.json["data"], json!([]), "{}", listed.text);
    }
    for reply in [
        app.put(
            &format!("{base}/status"),
            &globex,
            json!({ "status": "REJECTED", "reason": "No" }),
        )
        .await,
        app.post(&format!("{base}/module"), &globex, json!({}))
            .await,
    ] {
        assert_problem(&reply, 404, "suggestion_not_found");
    }

    // A VIEWER reads but neither proposes, votes nor comments.
    assert_eq!(app.get(&base, &vic).await.status, 200);
    assert_eq!(app.get("/v1/suggestions", &vic).await.status, 200);
    for reply in [
        app.post(
            "/v1/suggestions",
            &vic,
            json!({ "title": "Mine", "description": "x" }),
        )
        .await,
        app.put(&format!("{base}/vote"), &vic, json!({})).await,
        app.post(&format!("{base}/comments"), &vic, json!({ "body": "x" }))
            .await,
    ] {
        assert_problem(&reply, 403, "forbidden");
    }
    // A key that neither acts as a member nor reviews reads nothing.
    let (_, key) = app
        .api_key(
            &owner,
            json!({ "name": "BI", "permissions": ["MANAGE_ALL_MODULES"] }),
        )
        .await;
    assert_eq!(app.get("/v1/suggestions", &key).await.status, 403);
    // Only reviewers change the settings.
    assert_problem(
        &app.patch(
            "/v1/suggestions/settings",
            &ann,
            json!({ "popularity_threshold": 1 }),
        )
        .await,
        403,
        "forbidden",
    );
    let settings = app.get("/v1/suggestions/settings", &ann).await;
    assert_eq!(
        settings.json["popularity_threshold"], 5,
        "{}",
        settings.text
    );
}

#[actix_web::test]
async fn comments_are_threaded_edited_by_their_author_and_deleted_by_them_or_a_reviewer() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let ada = app.member(&owner, "ada@acme.example.com", "ADMIN").await;
    let id = s(&propose(&app, &ann, "Idea", false).await["id"]);
    let other = s(&propose(&app, &ann, "Other idea", false).await["id"]);
    let uri = format!("/v1/suggestions/{id}/comments");

    let first = app.post(&uri, &bob, json!({ "body": "Good" })).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let first_id = s(&first.json["id"]);
    let reply = app
        .post(
            &uri,
            &ann,
            json!({ "body": "Thanks", "parent_id": first_id }),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.json["parent_id"], first_id.as_str());
    // A parent of another suggestion is not one of this one's.
    assert_problem(
        &app.post(
            &format!("/v1/suggestions/{other}/comments"),
            &ann,
            json!({ "body": "x", "parent_id": first_id }),
        )
        .await,
        404,
        "comment_not_found",
    );
    let one = format!("{uri}/{first_id}");
    assert_problem(
        &app.patch(&one, &ann, json!({ "body": "Changed" })).await,
        403,
        "forbidden",
    );
    assert_problem(
        &app.patch(&one, &ada, json!({ "body": "Changed" })).await,
        403,
        "forbidden",
    );
    let edited = app.patch(&one, &bob, json!({ "body": "Very good" })).await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    assert_eq!(edited.json["body"], "Very good");
    assert!(edited.json["edited_at"].is_string());
    assert_problem(&app.delete(&one, &ann).await, 403, "forbidden");
    assert_eq!(app.delete(&one, &ada).await.status, 204);
    let listed = app.get(&uri, &bob).await;
    let rows = listed.json["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 2, "{}", listed.text);
    assert_eq!(rows[0]["deleted"], true);
    assert_eq!(rows[0]["body"], "");
    assert_eq!(rows[0]["author"], Value::Null);
    assert_eq!(
        rows[1]["parent_id"],
        first_id.as_str(),
        "the reply keeps its place"
    );
    let got = app.get(&format!("/v1/suggestions/{id}"), &bob).await;
    assert_eq!(got.json["comment_count"], 1);
    // Its author deletes their own.
    let reply_id = s(&rows[1]["id"]);
    assert_eq!(
        app.delete(&format!("{uri}/{reply_id}"), &ann).await.status,
        204
    );
}

#[actix_web::test]
async fn lists_sort_by_top_new_and_trending_a_page_at_a_time_and_members_are_limited() {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0)
            .single()
            .expect("a time"),
    ));
    let c = clock.clone();
    let app = TestApp::with(move |state| state.clock = c).await;
    let acme = app.sign_up("acme").await;
    let owner = access(&acme);
    let tenant = s(&acme["tenant"]["id"]);
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let cy = app.member(&owner, "cy@acme.example.com", "EMPLOYEE").await;
    let vote = |id: String, token: String| {
        let app = &app;
        async move {
            let r = app
                .put(&format!("/v1/suggestions/{id}/vote"), &token, json!({}))
                .await;
            assert_eq!(r.status, 200, "{}", r.text);
        }
    };
    // B: two votes, eight days ago; C: one vote today; A: none, newest.
    let b = s(&propose(&app, &ann, "B", false).await["id"]);
    vote(b.clone(), bob.clone()).await;
    vote(b.clone(), cy.clone()).await;
    clock.advance(Duration::days(8));
    assert!(clock.now() > Utc.with_ymd_and_hms(2026, 12, 8, 0, 0, 0).unwrap());
    let c_id = s(&propose(&app, &ann, "C", false).await["id"]);
    vote(c_id.clone(), bob.clone()).await;
    clock.advance(Duration::minutes(1));
    let a = s(&propose(&app, &ann, "A", false).await["id"]);

    let titles = |uri: &'static str| {
        let (app, ann) = (&app, &ann);
        async move {
            app.walk(ann, uri, 1, "title")
                .await
                .iter()
                .map(s)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(titles("/v1/suggestions").await, ["B", "C", "A"]);
    assert_eq!(titles("/v1/suggestions?sort=top").await, ["B", "C", "A"]);
    assert_eq!(titles("/v1/suggestions?sort=new").await, ["A", "C", "B"]);
    assert_eq!(
        titles("/v1/suggestions?sort=trending").await,
        ["C", "A", "B"]
    );
    let approved = app
        .put(
            &format!("/v1/suggestions/{a}/status"),
            &owner,
            json!({ "status": "APPROVED", "reason": "Yes" }),
        )
        .await;
    assert_eq!(approved.status, 200, "{}", approved.text);
    assert_eq!(titles("/v1/suggestions?status=APPROVED").await, ["A"]);
    assert_eq!(
        titles("/v1/suggestions?status=OPEN&sort=new").await,
        ["C", "B"]
    );
    assert_problem(
        &app.get("/v1/suggestions?sort=best", &ann).await,
        422,
        "validation_failed",
    );
    let _ = c_id;

    // Ten new suggestions an hour per member, and twenty OPEN at once.
    for i in 0..7 {
        propose(&app, &ann, &format!("More {i}"), false).await;
    }
    let limited = app
        .post(
            "/v1/suggestions",
            &ann,
            json!({ "title": "One more", "description": "x" }),
        )
        .await;
    assert_problem(&limited, 429, "rate_limited");
    let dan = app.member(&owner, "dan@acme.example.com", "EMPLOYEE").await;
    let dan_id = app.me_id(&dan).await;
    execute(
        &app,
        &format!(
            "INSERT INTO suggestions (tenant_id, id, author_id, anonymous, title, description, created_at) \
             SELECT '{tenant}', gen_random_uuid(), '{dan_id}', false, 'Old ' || i, 'x', now() \
             FROM generate_series(1, 20) AS i"
        ),
    )
    .await;
    assert_problem(
        &app.post(
            "/v1/suggestions",
            &dan,
            json!({ "title": "One more", "description": "x" }),
        )
        .await,
        409,
        "suggestion_limit_reached",
    );
}
