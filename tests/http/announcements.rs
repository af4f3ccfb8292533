//! Announcements over HTTP: who may announce to whom (an employee never, a mentor to their
//! module's learners only, an API key not as an administrator); recipients notified in-app and
//! by email as their preferences say, never the author; pinned first until the pin ends; read
//! receipts counted for the author and admins; another tenant's 404; reactions.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use guild_kernel::{Clock, ManualClock};
use guild_tests::{TestApp, assert_problem, fields};
use serde_json::{Value, json};

/// An app with HTTPS links (notification emails carry them) and a manual clock.
async fn app_with(clock: Arc<ManualClock>) -> TestApp {
    TestApp::with(|state| {
        state.api_url = "https://api.guild.example.com".to_owned();
        state.public_url = "https://guild.example.com".to_owned();
        state.clock = clock;
    })
    .await
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 12, 9, 9, 0, 0)
            .single()
            .expect("a time"),
    ))
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

async fn announce(app: &TestApp, token: &str, body: Value) -> Value {
    let posted = app.post("/v1/announcements", token, body).await;
    assert_eq!(posted.status, 201, "{}", posted.text);
    posted.json
}

/// The titles of the announcements addressed to `token`, in list order.
async fn received(app: &TestApp, token: &str) -> Vec<String> {
    app.walk(token, "/v1/announcements", 1, "title")
        .await
        .iter()
        .map(s)
        .collect()
}

/// The subjects of the notification emails sent to `to`.
fn mailed(app: &TestApp, to: &str) -> Vec<String> {
    app.mail
        .sent()
        .into_iter()
        .filter(|m| m.to.contains(to) && m.headers.iter().any(|(n, _)| n == "List-Unsubscribe"))
        .map(|m| m.subject)
        .collect()
}

#[actix_web::test]
async fn an_employee_cannot_announce_and_a_mentor_only_to_their_modules_learners() {
    let app = app_with(clock()).await;
    let owner = app.owner("acme").await;
    let (module, _) = app.published_module(&owner, "Fire safety").await;
    let (other, _) = app.published_module(&owner, "Ladders").await;
    let mentor = app.member(&owner, "mia@acme.example.com", "EMPLOYEE").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let hr = app.member(&owner, "hal@acme.example.com", "HR").await;
    app.make_mentor(&owner, &module, &mentor).await;
    let group = app.group(&owner, "Workshop", &[]).await;

    let to_tenant =
        json!({ "title": "Hello", "body": "All of you", "audience": { "kind": "TENANT" } });
    let to_group = json!({ "title": "Hello", "body": "Group", "audience": { "kind": "GROUPS", "group_ids": [group] } });
    let to_module = |m: &str| json!({ "title": "Drill", "body": "Friday", "audience": { "kind": "MODULE", "module_id": m } });
    for (token, body) in [
        (&ann, to_tenant.clone()),
        (&ann, to_module(&module)),
        (&hr, to_tenant.clone()),
        (&mentor, to_tenant.clone()),
        (&mentor, to_group.clone()),
        (&mentor, to_module(&other)),
    ] {
        let refused = app.post("/v1/announcements", token, body.clone()).await;
        assert_problem(&refused, 403, "forbidden");
    }
    let posted = announce(&app, &mentor, to_module(&module)).await;
    assert_eq!(posted["audience"], "MODULE");
    app.run_worker().await;
    assert_eq!(
        received(&app, &ann).await,
        ["Drill"],
        "the catalog is open: Ann learns it"
    );
    assert!(
        received(&app, &mentor).await.is_empty(),
        "never to its author"
    );

    // Admins announce to anyone, in person only.
    announce(&app, &owner, to_group.clone()).await;
    announce(&app, &owner, to_tenant.clone()).await;
    let (_, key) = app
        .api_key(
            &owner,
            json!({ "name": "App", "permissions": ["MANAGE_ALL_MODULES"], "act_as_member": true }),
        )
        .await;
    assert_problem(
        &app.post("/v1/announcements", &key, to_tenant.clone()).await,
        403,
        "forbidden",
    );
    let (_, bare) = app
        .api_key(
            &owner,
            json!({ "name": "BI", "permissions": ["MANAGE_ALL_MODULES"] }),
        )
        .await;
    assert_problem(
        &app.post("/v1/announcements", &bare, to_tenant).await,
        403,
        "api_key_not_permitted",
    );

    // A group of another tenant, or none, is refused.
    let foreign = app.owner("globex").await;
    let foreign_group = app.group(&foreign, "Theirs", &[]).await;
    let refused = app
        .post(
            "/v1/announcements",
            &owner,
            json!({ "title": "Hi", "body": "x", "audience": { "kind": "GROUPS", "group_ids": [foreign_group] } }),
        )
        .await;
    assert_problem(&refused, 422, "validation_failed");
    assert_eq!(
        fields(&refused),
        vec![(
            "audience.group_ids".to_owned(),
            "group_not_found".to_owned()
        )]
    );
    let refused = app
        .post(
            "/v1/announcements",
            &owner,
            json!({ "title": "Hi", "body": "x", "audience": { "kind": "GROUPS" } }),
        )
        .await;
    assert_problem(&refused, 422, "validation_failed");
}

#[actix_web::test]
async fn recipients_hear_of_an_announcement_in_app_and_by_email_as_they_prefer() {
    let app = app_with(clock()).await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let cy = app.member(&owner, "cy@acme.example.com", "EMPLOYEE").await;
    let off = app
        .patch(
            "/v1/me/email-preferences",
            &bob,
            json!({ "types": { "ANNOUNCEMENT": false } }),
        )
        .await;
    assert_eq!(off.status, 200, "{}", off.text);
    let (ann_id, bob_id) = (app.me_id(&ann).await, app.me_id(&bob).await);
    let group = app
        .group(&owner, "Workshop", &[ann_id.as_str(), bob_id.as_str()])
        .await;

    let posted = announce(
        &app,
        &owner,
        json!({ "title": "Fire drill on Friday", "body": "10:00 at the assembly point",
                "audience": { "kind": "GROUPS", "group_ids": [group] } }),
    )
    .await;
    assert_eq!(posted["receipts"], json!({ "recipients": 2, "read": 0 }));
    app.run_worker().await;
    app.run_worker().await;

    let inbox = |token: String| {
        let app = &app;
        async move {
            let got = app.get("/v1/me/notifications", &token).await;
            got.json["data"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|n| n["kind"] == "ANNOUNCEMENT")
                .map(|n| (s(&n["title"]), s(&n["link"]["kind"])))
                .collect::<Vec<_>>()
        }
    };
    let expected = vec![("Fire drill on Friday".to_owned(), "ANNOUNCEMENT".to_owned())];
    assert_eq!(inbox(ann.clone()).await, expected);
    assert_eq!(
        inbox(bob.clone()).await,
        expected,
        "in-app whatever the emails"
    );
    assert!(inbox(cy.clone()).await.is_empty(), "not in the group");
    assert!(inbox(owner.clone()).await.is_empty(), "not its author");

    assert_eq!(
        mailed(&app, "ann@acme.example.com"),
        ["Fire drill on Friday"]
    );
    assert!(
        mailed(&app, "bob@acme.example.com").is_empty(),
        "Bob turned them off"
    );
    assert!(mailed(&app, "cy@acme.example.com").is_empty());

    // Delivered again, nobody hears twice.
    app.run_worker().await;
    assert_eq!(inbox(ann).await.len(), 1);
    assert_eq!(mailed(&app, "ann@acme.example.com").len(), 1);
}

#[actix_web::test]
async fn read_receipts_count_who_opened_or_marked_an_announcement_read() {
    let app = app_with(clock()).await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let cy = app.member(&owner, "cy@acme.example.com", "EMPLOYEE").await;
    let (ann_id, bob_id) = (app.me_id(&ann).await, app.me_id(&bob).await);
    let group = app
        .group(&owner, "Workshop", &[ann_id.as_str(), bob_id.as_str()])
        .await;
    let id = s(&announce(
        &app,
        &owner,
        json!({ "title": "Drill", "body": "Friday", "audience": { "kind": "GROUPS", "group_ids": [group] } }),
    )
    .await["id"]);
    let uri = format!("/v1/announcements/{id}");

    // Opening it marks it read; a member sees no receipts.
    let opened = app.get(&uri, &ann).await;
    assert_eq!(opened.status, 200, "{}", opened.text);
    assert!(opened.json["read_at"].is_string(), "{}", opened.text);
    assert!(opened.json["receipts"].is_null());
    let marked = app.post(&format!("{uri}/read"), &bob, json!({})).await;
    assert_eq!(marked.status, 200, "{}", marked.text);
    app.post(&format!("{uri}/read"), &bob, json!({})).await;

    let seen = app.get(&uri, &owner).await;
    assert_eq!(seen.json["receipts"], json!({ "recipients": 2, "read": 2 }));
    let sent = app.get("/v1/announcements/sent", &owner).await;
    assert_eq!(sent.json["data"][0]["receipts"]["read"], 2, "{}", sent.text);

    // Not addressed to Cy, nor anything of another tenant.
    assert_problem(&app.get(&uri, &cy).await, 404, "announcement_not_found");
    assert_problem(
        &app.post(&format!("{uri}/read"), &cy, json!({})).await,
        404,
        "announcement_not_found",
    );
    let other = app.owner("globex").await;
    assert_problem(&app.get(&uri, &other).await, 404, "announcement_not_found");
    assert_problem(
        &app.put(&format!("{uri}/reactions/heart"), &other, json!({}))
            .await,
        404,
        "announcement_not_found",
    );
    // A recipient does not pin it.
    let refused = app
        .put(
            &format!("{uri}/pin"),
            &ann,
            json!({ "until": "2027-01-01T00:00:00Z" }),
        )
        .await;
    assert_problem(&refused, 403, "forbidden");

    // Recipients react; the author sees the counts.
    let reacted = app
        .put(&format!("{uri}/reactions/clap"), &ann, json!({}))
        .await;
    assert_eq!(reacted.status, 200, "{}", reacted.text);
    app.put(&format!("{uri}/reactions/clap"), &bob, json!({}))
        .await;
    let seen = app.get(&uri, &owner).await;
    assert_eq!(seen.json["reactions"][0]["count"], 2, "{}", seen.text);
    let refused = app
        .put(&format!("{uri}/reactions/skull"), &ann, json!({}))
        .await;
    assert_problem(&refused, 422, "validation_failed");
}

#[actix_web::test]
async fn pinned_announcements_come_first_until_their_pin_ends() {
    let clock = clock();
    let app = app_with(clock.clone()).await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let tenant = json!({ "kind": "TENANT" });
    let until = clock.now() + Duration::days(1);
    announce(
        &app,
        &owner,
        json!({ "title": "Pinned", "body": "x", "audience": tenant, "pinned_until": until }),
    )
    .await;
    clock.advance(Duration::minutes(1));
    announce(
        &app,
        &owner,
        json!({ "title": "Newer", "body": "x", "audience": tenant }),
    )
    .await;
    clock.advance(Duration::minutes(1));
    let last = announce(
        &app,
        &owner,
        json!({ "title": "Newest", "body": "x", "audience": tenant }),
    )
    .await;
    assert_eq!(received(&app, &ann).await, ["Pinned", "Newest", "Newer"]);

    clock.advance(Duration::days(2));
    assert_eq!(received(&app, &ann).await, ["Newest", "Newer", "Pinned"]);

    // Pinned again by its author, until a date in the future only.
    let uri = format!("/v1/announcements/{}/pin", s(&last["id"]));
    let past = app
        .put(
            &uri,
            &owner,
            json!({ "until": clock.now() - Duration::hours(1) }),
        )
        .await;
    assert_problem(&past, 422, "validation_failed");
    let pinned = app
        .put(
            &uri,
            &owner,
            json!({ "until": clock.now() + Duration::hours(1) }),
        )
        .await;
    assert_eq!(pinned.json["pinned"], true, "{}", pinned.text);
    assert_eq!(received(&app, &ann).await[0], "Newest");
    let unpinned = app.delete(&uri, &owner).await;
    assert_eq!(unpinned.json["pinned"], false, "{}", unpinned.text);
}
