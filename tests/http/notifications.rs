//! The member's inbox and event stream over HTTP: listing, the badge, read state, the archive,
//! nobody else's; notifications from domain events, once; the stream live and resumed.

use chrono::Utc;
use guild_kernel::{TenantId, UserId};
use guild_notifications::inbox::{self, NewNotification};
use guild_notifications::{EntityKind, NotificationType};
use guild_tests::sse::{frame_id as id_of, next_frame as frame, ready_frame as ready};
use guild_tests::{TestApp, World, access, assert_problem, count};
use serde_json::{Value, json};
use uuid::Uuid;

fn uuid(v: &Value) -> Uuid {
    v.as_str().and_then(|s| s.parse().ok()).expect("a uuid")
}

/// Delivers a notification the way the worker's reactions do, in the tenant's transaction.
async fn deliver(w: &World, tenant: Uuid, user: Uuid, key: &str, title: &str) -> Uuid {
    let mut conn = w.db.conn().await;
    let n = NewNotification {
        user: UserId(user),
        kind: NotificationType::QuizResult,
        title: title.into(),
        body: "You scored 9 of 10.".into(),
        entity: Some((EntityKind::QuizAttempt, Uuid::now_v7())),
        dedup_key: key.into(),
        data: json!({ "module": "Forklift safety", "score": 90 }),
    };
    guild_db::tenant_transaction(&mut conn, TenantId(tenant), async |c| {
        inbox::deliver(c, TenantId(tenant), &n, Utc::now()).await
    })
    .await
    .expect("delivered")
    .expect("a new notification")
    .id
}

#[actix_web::test]
async fn a_member_reads_and_archives_their_own_notifications() {
    let app = TestApp::new().await;
    let signed_up = app.sign_up("acme").await;
    let owner = access(&signed_up);
    let tenant = uuid(&signed_up["tenant"]["id"]);
    let ana = app.member(&owner, "ana@acme.example.com", "EMPLOYEE").await;
    let ana_id: Uuid = app.me_id(&ana).await.parse().expect("a uuid");
    let owner_id: Uuid = app.me_id(&owner).await.parse().expect("a uuid");

    let first = deliver(&app, tenant, ana_id, "quiz:1", "Forklift quiz: passed").await;
    let second = deliver(&app, tenant, ana_id, "quiz:2", "Ladders quiz: passed").await;
    let owners = deliver(&app, tenant, owner_id, "quiz:3", "Owner's result").await;

    let inbox = app.get("/v1/me/notifications", &ana).await;
    assert_eq!(inbox.status, 200, "{}", inbox.text);
    let ids: Vec<Uuid> = inbox.json["data"]
        .as_array()
        .expect("a page")
        .iter()
        .map(|n| uuid(&n["id"]))
        .collect();
    assert_eq!(ids, vec![second, first], "newest first, only Ana's");
    assert_eq!(inbox.json["data"][0]["kind"], "QUIZ_RESULT");
    assert_eq!(inbox.json["data"][0]["link"]["kind"], "QUIZ_ATTEMPT");
    assert_eq!(inbox.json["data"][0]["read_at"], Value::Null);
    let badge = app.get("/v1/me/notifications/unread-count", &ana).await;
    assert_eq!(badge.json["unread"], 2, "{}", badge.text);

    // Someone else's notification is not found, for reading and for archiving.
    for action in ["read", "archive"] {
        let refused = app
            .post(
                &format!("/v1/me/notifications/{owners}/{action}"),
                &ana,
                json!({}),
            )
            .await;
        assert_problem(&refused, 404, "notification_not_found");
    }

    let read = app
        .post(
            &format!("/v1/me/notifications/{first}/read"),
            &ana,
            json!({}),
        )
        .await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert!(read.json["read_at"].is_string());
    let unread = app.get("/v1/me/notifications?unread=true", &ana).await;
    assert_eq!(unread.json["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(uuid(&unread.json["data"][0]["id"]), second);

    let archived = app
        .post(
            &format!("/v1/me/notifications/{second}/archive"),
            &ana,
            json!({}),
        )
        .await;
    assert_eq!(archived.status, 200, "{}", archived.text);
    assert!(archived.json["archived_at"].is_string());
    let inbox = app.get("/v1/me/notifications", &ana).await;
    assert_eq!(inbox.json["data"].as_array().map(Vec::len), Some(1));
    let archive = app.get("/v1/me/notifications?archived=true", &ana).await;
    assert_eq!(uuid(&archive.json["data"][0]["id"]), second);
    let badge = app.get("/v1/me/notifications/unread-count", &ana).await;
    assert_eq!(badge.json["unread"], 0);

    // The owner's badge never moved; read-all clears it.
    let owners_badge = app.get("/v1/me/notifications/unread-count", &owner).await;
    assert_eq!(owners_badge.json["unread"], 1);
    let all = app
        .post("/v1/me/notifications/read-all", &owner, json!({}))
        .await;
    assert_eq!(all.json["marked"], 1, "{}", all.text);
    let owners_badge = app.get("/v1/me/notifications/unread-count", &owner).await;
    assert_eq!(owners_badge.json["unread"], 0);
}

#[actix_web::test]
async fn another_tenants_member_cannot_touch_a_notification() {
    let app = TestApp::new().await;
    let alpha = app.sign_up("alpha").await;
    let beta = app.owner("beta").await;
    let alpha_owner: Uuid = app.me_id(&access(&alpha)).await.parse().expect("a uuid");
    let id = deliver(
        &app,
        uuid(&alpha["tenant"]["id"]),
        alpha_owner,
        "k",
        "Alpha only",
    )
    .await;
    let refused = app
        .post(&format!("/v1/me/notifications/{id}/read"), &beta, json!({}))
        .await;
    assert_problem(&refused, 404, "notification_not_found");
    let seen = app.get("/v1/me/notifications", &beta).await;
    assert_eq!(seen.json["data"].as_array().map(Vec::len), Some(0));
}

/// The owner's token, a member's token and id, and a published module of the tenant. The module
/// is published before the member joins: nobody is told of it (the tests count what follows).
async fn member_and_module(app: &TestApp) -> (String, String, String, String) {
    let owner = app.owner("acme").await;
    app.open_catalog(&owner).await;
    let (module, _) = app.published_module(&owner, "Ladders").await;
    app.run_worker().await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let ann_id = app.me_id(&ann).await;
    (owner, ann, ann_id, module)
}

#[actix_web::test]
async fn a_manager_completing_a_module_for_a_member_notifies_them_once() {
    let app = TestApp::new().await;
    let (owner, ann, ann_id, module) = member_and_module(&app).await;
    app.complete_for(&owner, &ann_id, &module).await;
    app.run_worker().await;

    let inbox = app.get("/v1/me/notifications", &ann).await;
    let mut kinds: Vec<String> = inbox.json["data"]
        .as_array()
        .expect("a page")
        .iter()
        .map(|n| n["kind"].as_str().unwrap_or_default().to_owned())
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        vec!["CERTIFICATE_ISSUED", "PROGRESS_OVERRIDE", "XP_EARNED"],
        "{}",
        inbox.text
    );
    for n in inbox.json["data"]
        .as_array()
        .expect("a page")
        .iter()
        .filter(|n| n["kind"] != "XP_EARNED")
    {
        assert!(
            n["title"].as_str().unwrap_or_default().contains("Ladders"),
            "names the module: {n}"
        );
    }
    let certificate = inbox.json["data"]
        .as_array()
        .expect("a page")
        .iter()
        .find(|n| n["kind"] == "CERTIFICATE_ISSUED")
        .expect("the certificate's notification");
    assert_eq!(certificate["link"]["kind"], "CERTIFICATE");

    // The outbox delivers at least once: every event delivered again notifies nobody twice.
    let before = count(&app, "SELECT count(*) AS n FROM notifications").await;
    let redelivered = count(
        &app,
        "WITH again AS (UPDATE outbox_events SET status = 'PENDING', available_at = now() \
         RETURNING 1) SELECT count(*) AS n FROM again",
    )
    .await;
    assert!(
        redelivered >= 2,
        "the override's events are delivered again"
    );
    app.run_worker().await;
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM notifications").await,
        before
    );
    // Nobody else heard of it.
    let owners = app.get("/v1/me/notifications", &owner).await;
    assert_eq!(owners.json["data"].as_array().map(Vec::len), Some(0));
}

/// Appends an event to the member's stream, as a reaction does; publishes it when `publish`.
async fn push(w: &World, tenant: Uuid, user: Uuid, n: i64, publish: bool) -> i64 {
    use guild_notifications::stream;
    let mut conn = w.db.conn().await;
    let event = guild_db::tenant_transaction(&mut conn, TenantId(tenant), async |c| {
        stream::append(
            c,
            TenantId(tenant),
            UserId(user),
            "notification",
            &json!({ "n": n }),
            Utc::now(),
        )
        .await
    })
    .await
    .expect("appended");
    if publish {
        w.state
            .pubsub
            .publish(
                &stream::channel(TenantId(tenant), UserId(user)),
                &serde_json::to_string(&event).expect("json"),
            )
            .await
            .expect("published");
    }
    event.seq
}

#[actix_web::test]
async fn a_stream_delivers_live_and_resumes_after_the_last_event_id_exactly_once() {
    let app = TestApp::new().await;
    let (owner, ann, ann_id, module) = member_and_module(&app).await;
    let tenant = uuid(&app.get("/v1/me", &ann).await.json["active_tenant"]["id"]);
    let ann_uuid: Uuid = ann_id.parse().expect("a uuid");
    // The stream is read frame by frame from the raw service over the same state (the TestApp
    // collects whole bodies).
    let raw = actix_web::test::init_service(guild_api::build_app_with(
        app.state.clone(),
        Box::new(|_| {}),
    ))
    .await;
    let open = |last: Option<&str>| {
        let mut req = actix_web::test::TestRequest::get()
            .uri("/v1/stream")
            .insert_header(("authorization", format!("Bearer {ann}")));
        if let Some(last) = last {
            req = req.insert_header(("last-event-id", last.to_owned()));
        }
        req.to_request()
    };

    // Live: what the worker's reactions write reaches an open stream.
    let live = actix_web::test::call_service(&raw, open(None)).await;
    assert_eq!(live.status(), 200);
    assert_eq!(
        live.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    let mut body = Box::pin(live.into_body());
    assert_eq!(frame(&mut body).await, ready(0));
    app.complete_for(&owner, &ann_id, &module).await;
    app.run_worker().await;
    // The override, its certificate and the XP it earned: three notifications, in order.
    let live: Vec<String> = [
        frame(&mut body).await,
        frame(&mut body).await,
        frame(&mut body).await,
    ]
    .into();
    assert_eq!(
        live.iter().map(|f| id_of(f)).collect::<Vec<_>>(),
        vec![Some(1), Some(2), Some(3)],
        "{live:?}"
    );
    let first = &live[0];
    assert!(first.contains("event: notification\n"), "{first}");
    assert!(
        first.contains("\"kind\":"),
        "the notification as data: {first}"
    );
    drop(body);

    // Disconnected: two events are written (and published to nobody).
    assert_eq!(push(&app, tenant, ann_uuid, 4, true).await, 4);
    assert_eq!(push(&app, tenant, ann_uuid, 5, false).await, 5);

    // Reconnecting after id 3 receives 4 and 5, then what follows, in order, once each.
    let resumed = actix_web::test::call_service(&raw, open(Some("3"))).await;
    let mut body = Box::pin(resumed.into_body());
    assert_eq!(frame(&mut body).await, ready(3));
    assert_eq!(id_of(&frame(&mut body).await), Some(4));
    assert_eq!(id_of(&frame(&mut body).await), Some(5));
    push(&app, tenant, ann_uuid, 6, true).await;
    assert_eq!(id_of(&frame(&mut body).await), Some(6));
    // A publish that never arrives (7) is read back when the next one (8) shows the gap.
    push(&app, tenant, ann_uuid, 7, false).await;
    push(&app, tenant, ann_uuid, 8, true).await;
    assert_eq!(id_of(&frame(&mut body).await), Some(7));
    assert_eq!(id_of(&frame(&mut body).await), Some(8));
    drop(body);

    // An id the server never gave out: a reset to the current head (`ready` says what was asked,
    // or the head when the id is not a number).
    for (bogus, after) in [("abc", 8), ("99", 99)] {
        let reset = actix_web::test::call_service(&raw, open(Some(bogus))).await;
        let mut body = Box::pin(reset.into_body());
        assert_eq!(frame(&mut body).await, ready(after));
        let reset = frame(&mut body).await;
        assert!(reset.contains("event: reset\n"), "{reset}");
        assert_eq!(id_of(&reset), Some(8));
    }
    // Without a token there is no stream.
    let anonymous = actix_web::test::call_service(
        &raw,
        actix_web::test::TestRequest::get()
            .uri("/v1/stream")
            .to_request(),
    )
    .await;
    assert_eq!(anonymous.status(), 401);
}

#[actix_web::test]
async fn a_notification_written_on_one_instance_reaches_a_stream_held_by_another() {
    use guild_integrations::pubsub::RedisPubSub;
    use guild_integrations::redis::Redis;
    let url = guild_testkit::redis_url();
    let bus = |url: &str| {
        let redis = Redis::connect(url, std::time::Duration::from_secs(2)).expect("redis");
        RedisPubSub::start(redis, url).expect("started")
    };
    let on_a = bus(&url);
    let a_bus = on_a.clone();
    // Instance A: the app and its worker.
    let app = TestApp::with(move |state| state.pubsub = std::sync::Arc::new(a_bus)).await;
    // Instance B: the same database, its own subscription to Redis.
    let on_b = bus(&url);
    let mut state_b = app.state.clone();
    state_b.pubsub = std::sync::Arc::new(on_b.clone());
    let b =
        actix_web::test::init_service(guild_api::build_app_with(state_b, Box::new(|_| {}))).await;
    for instance in [&on_a, &on_b] {
        for _ in 0..100 {
            if instance.is_subscribed() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(instance.is_subscribed(), "subscribed to redis");
    }

    let (owner, ann, ann_id, module) = member_and_module(&app).await;
    let stream = actix_web::test::call_service(
        &b,
        actix_web::test::TestRequest::get()
            .uri("/v1/stream")
            .insert_header(("authorization", format!("Bearer {ann}")))
            .to_request(),
    )
    .await;
    let mut body = Box::pin(stream.into_body());
    assert_eq!(frame(&mut body).await, ready(0));
    app.complete_for(&owner, &ann_id, &module).await;
    app.run_worker().await;
    // A reconnect notice may come first (a Lagged read back from PostgreSQL); either way the
    // two notifications arrive, in order, once.
    let mut ids = Vec::new();
    while ids.len() < 2 {
        if let Some(id) = id_of(&frame(&mut body).await) {
            ids.push(id);
        }
    }
    assert_eq!(ids, vec![1, 2]);
}

#[actix_web::test]
async fn stream_events_older_than_the_retention_window_are_pruned_hourly() {
    use guild_kernel::{Clock, ManualClock};
    use guild_notifications::stream::{self, Resume};
    use std::sync::Arc;
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let c = clock.clone();
    let app = TestApp::with(move |state| state.clock = c).await;
    let (_, ann, ann_id, _) = member_and_module(&app).await;
    let tenant = TenantId(uuid(
        &app.get("/v1/me", &ann).await.json["active_tenant"]["id"],
    ));
    let user = UserId(ann_id.parse().expect("a uuid"));
    let append = async |at| {
        let mut conn = app.db.conn().await;
        guild_db::tenant_transaction(&mut conn, tenant, async |c| {
            stream::append(c, tenant, user, "notification", &json!({}), at).await
        })
        .await
        .expect("appended")
        .seq
    };
    append(clock.now()).await;
    append(clock.now()).await;
    clock.advance(chrono::Duration::hours(25));
    let kept = append(clock.now()).await;
    app.queue_job("notifications.prune_streams").await;
    app.run_worker().await;
    let resume = async |after| {
        let mut conn = app.db.conn().await;
        guild_db::tenant_transaction(&mut conn, tenant, async |c| {
            stream::since(c, tenant, user, after).await
        })
        .await
        .expect("read")
    };
    assert_eq!(resume(0).await, Resume::Reset { head: kept });
    match resume(kept - 1).await {
        Resume::Events { events, .. } => {
            assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![kept]);
        }
        Resume::Reset { .. } => panic!("the event inside the window is kept"),
    }
}

/// The kinds of a member's notifications, sorted.
async fn kinds(app: &TestApp, token: &str) -> Vec<String> {
    let inbox = app.get("/v1/me/notifications", token).await;
    assert_eq!(inbox.status, 200, "{}", inbox.text);
    let mut kinds: Vec<String> = inbox.json["data"]
        .as_array()
        .expect("a page")
        .iter()
        .map(|n| n["kind"].as_str().unwrap_or_default().to_owned())
        .collect();
    kinds.sort();
    kinds
}

/// A member's notifications of `kind`, newest first (the first page).
async fn of_kind(app: &TestApp, token: &str, kind: &str) -> Vec<Value> {
    let inbox = app.get("/v1/me/notifications", token).await;
    assert_eq!(inbox.status, 200, "{}", inbox.text);
    inbox.json["data"]
        .as_array()
        .expect("a page")
        .iter()
        .filter(|n| n["kind"] == kind)
        .cloned()
        .collect()
}

/// Adds a section titled `title` to `module` and publishes the change as a version of `kind`.
async fn publish_change(
    app: &TestApp,
    owner: &str,
    module: &str,
    title: &str,
    summary: &str,
    kind: &str,
) {
    let section = app
        .post(
            &format!("/v1/modules/{module}/sections"),
            owner,
            json!({ "title": title, "content_html": "<p>Changed</p>" }),
        )
        .await;
    assert_eq!(section.status, 201, "{}", section.text);
    let version = app
        .post(
            &format!("/v1/modules/{module}/versions"),
            owner,
            json!({ "summary": summary, "kind": kind }),
        )
        .await;
    assert_eq!(version.status, 201, "{}", version.text);
}

#[actix_web::test]
async fn a_module_published_to_a_group_notifies_its_members_once_and_only_them() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let cy = app.member(&owner, "cy@acme.example.com", "EMPLOYEE").await;
    let (ann_id, cy_id) = (app.me_id(&ann).await, app.me_id(&cy).await);
    let drivers = app.group(&owner, "Drivers", &[&ann_id]).await;
    let (module, _) = app
        .module_with_section(
            &owner,
            json!({ "title": "Forklifts" }),
            json!({ "title": "Intro", "content_html": "<p>Hi</p>" }),
        )
        .await;
    // Assigned while a draft: nobody hears of it yet.
    let assigned = app
        .put(
            &format!("/v1/modules/{module}/groups/{drivers}"),
            &owner,
            json!({ "is_mandatory": true }),
        )
        .await;
    assert_eq!(assigned.status, 200, "{}", assigned.text);
    app.run_worker().await;
    assert!(kinds(&app, &ann).await.is_empty());

    app.publish(&owner, &module).await;
    app.run_worker().await;
    assert_eq!(kinds(&app, &ann).await, vec!["NEW_MODULE"]);
    let inbox = app.get("/v1/me/notifications", &ann).await;
    assert_eq!(inbox.json["data"][0]["title"], "New module: Forklifts");
    assert_eq!(inbox.json["data"][0]["link"]["kind"], "MODULE");
    assert_eq!(inbox.json["data"][0]["link"]["id"], module.as_str());
    assert!(kinds(&app, &bob).await.is_empty(), "not in the group");
    assert!(
        kinds(&app, &owner).await.is_empty(),
        "not told of their own work"
    );

    // Assigned to a second group holding Ann and Cy: Cy hears of it, Ann not twice.
    let loaders = app.group(&owner, "Loaders", &[&ann_id, &cy_id]).await;
    let assigned = app
        .put(
            &format!("/v1/modules/{module}/groups/{loaders}"),
            &owner,
            json!({ "is_mandatory": false }),
        )
        .await;
    assert_eq!(assigned.status, 200, "{}", assigned.text);
    app.run_worker().await;
    assert_eq!(kinds(&app, &cy).await, vec!["NEW_MODULE"]);
    assert_eq!(kinds(&app, &ann).await, vec!["NEW_MODULE"]);

    // Every event delivered again notifies nobody twice.
    let before = count(&app, "SELECT count(*) AS n FROM notifications").await;
    count(
        &app,
        "WITH again AS (UPDATE outbox_events SET status = 'PENDING', available_at = now() \
         RETURNING 1) SELECT count(*) AS n FROM again",
    )
    .await;
    app.run_worker().await;
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM notifications").await,
        before
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM member_stream_events").await,
        before,
        "one stream event per notification"
    );
}

#[actix_web::test]
async fn a_material_update_notifies_the_members_who_read_the_module() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let (module, _) = app.published_module(&owner, "Fire drills").await;
    // Ann reads version 1; Bob never opens it.
    let read = app.get(&format!("/v1/modules/{module}"), &ann).await;
    assert_eq!(read.status, 200, "{}", read.text);
    app.run_worker().await;
    let before_ann = kinds(&app, &ann).await;

    publish_change(&app, &owner, &module, "Typos", "Fixed typos", "MINOR").await;
    app.run_worker().await;
    assert_eq!(
        kinds(&app, &ann).await,
        before_ann,
        "a minor version tells nobody"
    );

    publish_change(
        &app,
        &owner,
        &module,
        "New routes",
        "New evacuation routes",
        "MATERIAL",
    )
    .await;
    app.run_worker().await;
    let updated = of_kind(&app, &ann, "MODULE_UPDATED").await;
    assert_eq!(updated.len(), 1, "{updated:?}");
    assert_eq!(updated[0]["title"], "Fire drills was updated");
    assert_eq!(updated[0]["body"], "Version 3: New evacuation routes");
    assert!(
        !kinds(&app, &bob)
            .await
            .contains(&"MODULE_UPDATED".to_owned()),
        "Bob never read it"
    );
}

#[actix_web::test]
async fn completing_a_module_tells_the_member_the_xp_they_earned_once() {
    let app = TestApp::new().await;
    let (owner, ann, _, module) = member_and_module(&app).await;
    let section = app
        .get(&format!("/v1/modules/{module}/sections"), &ann)
        .await;
    let section = section.json["data"][0]["id"]
        .as_str()
        .expect("a section")
        .to_owned();
    let done = app
        .post(
            &format!("/v1/modules/{module}/sections/{section}/complete"),
            &ann,
            json!({}),
        )
        .await;
    assert!(done.status < 300, "{}", done.text);
    app.run_worker().await;
    let earned = of_kind(&app, &ann, "XP_EARNED").await;
    assert_eq!(earned.len(), 1, "{earned:?}");
    let balance = app.get("/v1/me/xp", &ann).await;
    let total = balance.json["lifetime_xp"].as_i64().expect("a balance");
    assert!(total > 0, "{}", balance.text);
    assert_eq!(earned[0]["title"], format!("You earned {total} XP"));
    assert_eq!(earned[0]["link"]["kind"], "MODULE");
    assert_eq!(earned[0]["link"]["id"], module.as_str());

    // Delivered again: no second award, no second notification.
    count(
        &app,
        "WITH again AS (UPDATE outbox_events SET status = 'PENDING', available_at = now() \
         RETURNING 1) SELECT count(*) AS n FROM again",
    )
    .await;
    app.run_worker().await;
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM notifications WHERE kind = 'XP_EARNED'"
        )
        .await,
        1
    );
    let again = app.get("/v1/me/xp", &ann).await;
    assert_eq!(again.json["lifetime_xp"].as_i64(), Some(total));
    assert!(
        !kinds(&app, &owner).await.contains(&"XP_EARNED".to_owned()),
        "only the member who earned it"
    );
}

#[actix_web::test]
async fn a_submission_tells_the_modules_mentors_and_nobody_else() {
    let app = TestApp::new().await;
    let (owner, ann, _, module) = member_and_module(&app).await;
    let mia = app.member(&owner, "mia@acme.example.com", "EMPLOYEE").await;
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    app.make_mentor(&owner, &module, &mia).await;
    let assignment = app
        .assignment(
            &owner,
            &module,
            json!({ "title": "Summary", "max_score": 10 }),
        )
        .await;
    let assignment = assignment["id"].as_str().expect("an id").to_owned();
    let submitted = app
        .submit_assignment(
            &ann,
            &assignment,
            "key-1",
            json!({ "text_answer": "Draft" }),
        )
        .await;
    assert_eq!(submitted.status, 201, "{}", submitted.text);
    app.run_worker().await;
    let received = of_kind(&app, &mia, "SUBMISSION_RECEIVED").await;
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0]["title"], "New submission to grade in Ladders");
    assert_eq!(received[0]["body"], "A first submission.");
    assert_eq!(received[0]["link"]["kind"], "SUBMISSION");
    assert_eq!(received[0]["link"]["id"], submitted.json["id"]);
    for other in [&ann, &bob] {
        assert!(
            !kinds(&app, other)
                .await
                .contains(&"SUBMISSION_RECEIVED".to_owned()),
            "not a mentor of the module"
        );
    }
}
