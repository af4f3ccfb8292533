//! The platform changelog over HTTP: only the platform owner writes it; publishing notifies
//! every active member of every tenant once (in batches, however often it is delivered); every
//! member lists it newest first with an unread marker.

use guild_tests::{TestApp, access, assert_problem, count, execute};
use serde_json::{Value, json};

/// The platform owner's token (in no tenant).
async fn platform_owner(app: &TestApp) -> String {
    let signed_in = app.platform_owner().await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    access(&signed_in.json)
}

/// Publishes an entry as `token`; answers the reply.
async fn publish(app: &TestApp, token: &str, version: &str, date: &str) -> guild_tests::Reply {
    app.post(
        "/v1/changelog",
        token,
        json!({
            "version": version,
            "title": format!("Release {version}"),
            "summary": "What changed, in a sentence.",
            "date": date,
        }),
    )
    .await
}

#[actix_web::test]
async fn publishing_an_entry_notifies_every_active_member_of_every_tenant_once() {
    let app = TestApp::new().await;
    let root = platform_owner(&app).await;
    let acme = app.sign_up("acme").await;
    let acme_owner = access(&acme);
    let ann = app
        .member(&acme_owner, "ann@acme.example.com", "EMPLOYEE")
        .await;
    let beta_owner = app.owner("beta").await;
    // A tenant larger than one batch of the fan-out (500), and a member who left.
    let acme_id = acme["tenant"]["id"].as_str().unwrap_or_default().to_owned();
    app.bulk_members(&acme_id, "acme", None, 1100).await;
    let gone = app
        .member(&acme_owner, "gone@acme.example.com", "EMPLOYEE")
        .await;
    let gone_id = app.me_id(&gone).await;
    let deactivated = app
        .post(
            &format!("/v1/members/{gone_id}/deactivate"),
            &acme_owner,
            json!({}),
        )
        .await;
    assert_eq!(deactivated.status, 200, "{}", deactivated.text);

    let published = publish(&app, &root, "2.4", "2026-12-08").await;
    assert_eq!(published.status, 201, "{}", published.text);
    let entry = published.json["id"].as_str().unwrap_or_default().to_owned();
    // Nothing is delivered in the request: the worker fans it out.
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM notifications").await,
        0
    );
    app.run_worker().await;

    let system = format!(
        "SELECT count(*) AS n FROM notifications WHERE kind = 'SYSTEM' \
         AND entity_kind = 'CHANGELOG_ENTRY' AND entity_id = '{entry}'"
    );
    // acme: its owner, Ann and 1,100 more; beta: its owner. Not the deactivated member.
    assert_eq!(count(&app, &system).await, 1103);
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) AS n FROM notifications WHERE user_id = '{gone_id}'")
        )
        .await,
        0
    );
    for token in [&ann, &beta_owner] {
        let inbox = app.get("/v1/me/notifications", token).await;
        assert_eq!(inbox.json["data"].as_array().map(Vec::len), Some(1));
        let note = &inbox.json["data"][0];
        assert_eq!(note["kind"], "SYSTEM");
        assert_eq!(note["title"], "What's new in 2.4: Release 2.4");
        assert_eq!(note["link"]["kind"], "CHANGELOG_ENTRY");
        assert_eq!(note["link"]["id"], entry.as_str());
    }
    // Each notification went to the member's stream too.
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM member_stream_events WHERE kind = 'notification'"
        )
        .await,
        1103
    );

    // Delivered again — the event and every fan-out job — nobody is notified twice.
    execute(
        &app,
        "UPDATE outbox_events SET status = 'PENDING', available_at = now(); \
         UPDATE jobs SET status = 'PENDING', available_at = now() \
         WHERE kind = 'notifications.changelog_fan_out'",
    )
    .await;
    app.run_worker().await;
    assert_eq!(count(&app, &system).await, 1103);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM member_stream_events WHERE kind = 'notification'"
        )
        .await,
        1103
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM jobs WHERE kind = 'notifications.changelog_fan_out'"
        )
        .await,
        2,
        "one fan-out per tenant, however often the event is delivered"
    );
}

fn versions(page: &Value) -> Vec<(String, bool)> {
    page["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["version"].as_str().unwrap_or_default().to_owned(),
                e["unread"].as_bool().unwrap_or_default(),
            )
        })
        .collect()
}

#[actix_web::test]
async fn members_list_the_changelog_newest_first_with_an_unread_marker() {
    let app = TestApp::new().await;
    let root = platform_owner(&app).await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    for (version, date) in [
        ("1.0", "2026-10-01"),
        ("1.2", "2026-12-01"),
        ("1.1", "2026-11-01"),
    ] {
        assert_eq!(publish(&app, &root, version, date).await.status, 201);
    }

    let listed = app.get("/v1/changelog", &ann).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(
        versions(&listed.json),
        [
            ("1.2".to_owned(), true),
            ("1.1".to_owned(), true),
            ("1.0".to_owned(), true)
        ],
        "by date, newest first"
    );
    let paged = app.walk(&ann, "/v1/changelog", 1, "version").await;
    assert_eq!(paged, [json!("1.2"), json!("1.1"), json!("1.0")]);
    let badge = app.get("/v1/changelog/unread-count", &ann).await;
    assert_eq!(badge.json["unread"], 3, "{}", badge.text);

    let read = app.post("/v1/changelog/read", &ann, json!({})).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert!(read.json["seen_until"].is_string());
    assert_eq!(
        app.get("/v1/changelog/unread-count", &ann).await.json["unread"],
        0
    );
    assert!(
        versions(&app.get("/v1/changelog", &ann).await.json)
            .iter()
            .all(|(_, unread)| !unread)
    );
    // The owner's marker did not move.
    assert_eq!(
        app.get("/v1/changelog/unread-count", &owner).await.json["unread"],
        3
    );

    // An entry published later, even dated earlier, is new.
    assert_eq!(publish(&app, &root, "0.9", "2026-09-01").await.status, 201);
    assert_eq!(
        app.get("/v1/changelog/unread-count", &ann).await.json["unread"],
        1
    );
    let listed = app.get("/v1/changelog", &ann).await;
    assert_eq!(
        versions(&listed.json).last(),
        Some(&("0.9".to_owned(), true))
    );
    assert_problem(
        &app.get("/v1/changelog?cursor=bm90LWEtY3Vyc29y", &ann).await,
        422,
        "validation_failed",
    );
}

#[actix_web::test]
async fn only_the_platform_owner_publishes_edits_and_deletes_entries() {
    let app = TestApp::new().await;
    let root = platform_owner(&app).await;
    let owner = app.owner("acme").await;
    let (_, key) = app
        .api_key(
            &owner,
            json!({ "name": "All", "permissions": ["MANAGE_USERS"], "act_as_member": true }),
        )
        .await;

    // A tenant's owner is not the platform's; an API key is refused whatever it may do.
    assert_problem(
        &publish(&app, &owner, "1.0", "2026-12-01").await,
        403,
        "forbidden",
    );
    assert_problem(
        &publish(&app, &key, "1.0", "2026-12-01").await,
        403,
        "api_key_not_permitted",
    );
    let anonymous = app
        .post_anonymous(
            "/v1/changelog",
            json!({ "version": "1", "title": "t", "summary": "s" }),
        )
        .await;
    assert_problem(&anonymous, 401, "unauthenticated");
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM changelog_entries").await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM outbox_events WHERE kind = 'notifications.changelog_published'"
        )
        .await,
        0,
        "nothing to fan out"
    );

    let published = app
        .post(
            "/v1/changelog",
            &root,
            json!({ "version": "2.0", "title": "Jobs", "summary": "Exports in the background." }),
        )
        .await;
    assert_eq!(published.status, 201, "{}", published.text);
    assert!(published.json["date"].is_string(), "today by default");
    let uri = format!(
        "/v1/changelog/{}",
        published.json["id"].as_str().unwrap_or_default()
    );

    for token in [&owner, &key] {
        let edit = app.patch(&uri, token, json!({ "title": "Mine" })).await;
        assert_eq!(edit.status, 403, "{}", edit.text);
        let delete = app.delete(&uri, token).await;
        assert_eq!(delete.status, 403, "{}", delete.text);
    }
    let edited = app
        .patch(&uri, &root, json!({ "title": "Background jobs" }))
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    assert_eq!(edited.json["title"], "Background jobs");
    assert_eq!(edited.json["version"], "2.0");
    let blank = app.patch(&uri, &root, json!({ "title": "  " })).await;
    assert_problem(&blank, 422, "validation_failed");
    let listed = app.get("/v1/changelog", &owner).await;
    assert_eq!(listed.json["data"][0]["title"], "Background jobs");

    assert_eq!(app.delete(&uri, &root).await.status, 204);
    assert_problem(
        &app.delete(&uri, &root).await,
        404,
        "changelog_entry_not_found",
    );
    assert_eq!(
        app.get("/v1/changelog", &owner).await.json["data"],
        json!([])
    );
}
