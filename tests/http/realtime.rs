//! Stream tickets, the cap on open streams, presence and usage sessions over HTTP: a ticket
//! opens the stream once and nothing else; a member's extra stream is refused; who is online
//! follows heartbeats and open streams until the TTL passes (by the manual clock), across
//! instances through Redis; a pause over 30 minutes starts a new usage session.

use std::sync::Arc;

use actix_web::test::{TestRequest, call_service, read_body};
use chrono::{Duration, SubsecRound, Utc};
use guild_kernel::{Clock, ManualClock};
use guild_tests::sse::{next_frame as frame, ready_frame as ready};
use guild_tests::{TestApp, access, assert_problem, instance};
use serde_json::{Value, json};

/// An app whose clock moves only when told to.
async fn app_with_clock() -> (TestApp, Arc<ManualClock>) {
    // Whole microseconds, as PostgreSQL keeps them.
    let clock = Arc::new(ManualClock::new(Utc::now().trunc_subsecs(6)));
    let c = Arc::clone(&clock);
    (TestApp::with(move |state| state.clock = c).await, clock)
}

/// `GET /v1/stream` with a token (or none), as a browser would send it with a ticket.
fn stream_request(token: Option<&str>, query: &str) -> actix_http::Request {
    let mut req = TestRequest::get().uri(&format!("/v1/stream{query}"));
    if let Some(token) = token {
        req = req.insert_header(("authorization", format!("Bearer {token}")));
    }
    req.to_request()
}

async fn ticket(app: &TestApp, token: &str) -> String {
    let minted = app.post("/v1/stream/tickets", token, json!({})).await;
    assert_eq!(minted.status, 201, "{}", minted.text);
    minted.json["ticket"].as_str().expect("a ticket").to_owned()
}

fn names(reply: &Value) -> Vec<String> {
    reply["data"]
        .as_array()
        .expect("a page")
        .iter()
        .map(|m| m["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[actix_web::test]
async fn a_stream_ticket_opens_the_members_stream_once_within_30_seconds() {
    let (app, clock) = app_with_clock().await;
    let signed_up = app.sign_up("acme").await;
    let owner = access(&signed_up);
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let raw = instance(app.state.clone()).await;

    let minted = app.post("/v1/stream/tickets", &ann, json!({})).await;
    assert_eq!(minted.status, 201, "{}", minted.text);
    assert_eq!(minted.header("cache-control"), Some("no-store"));
    let expires: chrono::DateTime<Utc> = minted.json["expires_at"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .expect("expires_at");
    assert_eq!(expires, clock.now() + Duration::seconds(30));
    let first = minted.json["ticket"].as_str().expect("a ticket").to_owned();

    // Without an Authorization header, the ticket opens Ann's stream.
    let opened = call_service(&raw, stream_request(None, &format!("?ticket={first}"))).await;
    assert_eq!(opened.status(), 200);
    let mut body = Box::pin(opened.into_body());
    assert_eq!(frame(&mut body).await, ready(0));
    drop(body);
    // Once.
    let again = app
        .request(
            actix_web::http::Method::GET,
            &format!("/v1/stream?ticket={first}"),
        )
        .await;
    assert_problem(&again, 401, "invalid_stream_ticket");

    // 30 seconds later it no longer works.
    let late = ticket(&app, &ann).await;
    clock.advance(Duration::seconds(30));
    let expired = app
        .request(
            actix_web::http::Method::GET,
            &format!("/v1/stream?ticket={late}"),
        )
        .await;
    assert_problem(&expired, 401, "invalid_stream_ticket");

    // A forged secret, a malformed ticket, and a real one moved to another tenant.
    let real = ticket(&app, &ann).await;
    let (tenant_part, secret) = real.split_once('.').expect("a dot");
    let other_tenant = app.sign_up("beta").await["tenant"]["id"]
        .as_str()
        .expect("a tenant id")
        .replace('-', "");
    for bad in [
        format!("{tenant_part}.{}", "A".repeat(43)),
        "gst_nothing".to_owned(),
        format!("gst_{other_tenant}.{secret}"),
    ] {
        let refused = app
            .request(
                actix_web::http::Method::GET,
                &format!("/v1/stream?ticket={bad}"),
            )
            .await;
        assert_problem(&refused, 401, "invalid_stream_ticket");
    }
    // The real one was not used up by its moved copy.
    let opened = call_service(&raw, stream_request(None, &format!("?ticket={real}"))).await;
    assert_eq!(opened.status(), 200);
    drop(opened);

    // A ticket minted before a password change ends with the sessions.
    let before = ticket(&app, &ann).await;
    let changed = app
        .post(
            "/v1/me/password",
            &ann,
            json!({ "current_password": "member password 1", "new_password": "a new password 2" }),
        )
        .await;
    assert_eq!(changed.status, 204, "{}", changed.text);
    let ended = app
        .request(
            actix_web::http::Method::GET,
            &format!("/v1/stream?ticket={before}"),
        )
        .await;
    assert_problem(&ended, 401, "session_ended");

    // A member removed after minting cannot use their ticket.
    let bob_pair = app.join(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let bob = access(&bob_pair);
    let bobs = ticket(&app, &bob).await;
    let bob_id = app.me_id(&bob).await;
    let removed = app.delete(&format!("/v1/members/{bob_id}"), &owner).await;
    assert_eq!(removed.status, 204, "{}", removed.text);
    let gone = app
        .request(
            actix_web::http::Method::GET,
            &format!("/v1/stream?ticket={bobs}"),
        )
        .await;
    assert_problem(&gone, 403, "not_a_member");

    // A ticket is no credential anywhere else.
    let elsewhere = app.get("/v1/me/notifications", &real).await;
    assert_eq!(elsewhere.status, 401, "{}", elsewhere.text);
    let anonymous = app
        .request(actix_web::http::Method::POST, "/v1/stream/tickets")
        .await;
    assert_problem(&anonymous, 401, "unauthenticated");
}

#[actix_web::test]
async fn failed_ticket_redemptions_are_limited_per_client_address() {
    let app = TestApp::with(|state| {
        state.limits.token_ip = guild_kernel::ports::RateRule {
            limit: 2,
            window: std::time::Duration::from_secs(60),
        };
    })
    .await;
    let owner = app.owner("acme").await;
    let raw = instance(app.state.clone()).await;
    // Tickets that work count nothing.
    for _ in 0..3 {
        let good = ticket(&app, &owner).await;
        let opened = call_service(&raw, stream_request(None, &format!("?ticket={good}"))).await;
        assert_eq!(opened.status(), 200);
    }
    // Failures do: past the limit even a good ticket waits (and is not used up).
    for _ in 0..2 {
        let forged = app
            .request(actix_web::http::Method::GET, "/v1/stream?ticket=gst_forged")
            .await;
        assert_problem(&forged, 401, "invalid_stream_ticket");
    }
    let good = ticket(&app, &owner).await;
    let limited = app
        .request(
            actix_web::http::Method::GET,
            &format!("/v1/stream?ticket={good}"),
        )
        .await;
    assert_problem(&limited, 429, "rate_limited");
    assert!(limited.header("retry-after").is_some());
    // The Authorization header is not limited by it.
    let opened = call_service(&raw, stream_request(Some(&owner), "")).await;
    assert_eq!(opened.status(), 200);
}

#[actix_web::test]
async fn stream_tickets_are_limited_per_member() {
    let app = TestApp::with(|state| {
        state.limits.stream_tickets = guild_kernel::ports::RateRule {
            limit: 2,
            window: std::time::Duration::from_secs(60),
        };
    })
    .await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    ticket(&app, &ann).await;
    ticket(&app, &ann).await;
    let third = app.post("/v1/stream/tickets", &ann, json!({})).await;
    assert_problem(&third, 429, "rate_limited");
    assert!(third.header("retry-after").is_some());
    assert_eq!(third.header("ratelimit-limit"), Some("2"));
    // Another member's allowance is their own.
    ticket(&app, &owner).await;
}

#[actix_web::test]
async fn a_member_holds_at_most_the_configured_number_of_open_streams() {
    let app = TestApp::with(|state| state.streams_per_member = 2).await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let raw = instance(app.state.clone()).await;

    let first = call_service(&raw, stream_request(Some(&ann), "")).await;
    let second = call_service(&raw, stream_request(Some(&ann), "")).await;
    assert_eq!(first.status(), 200);
    assert_eq!(second.status(), 200);
    let third = app.get("/v1/stream", &ann).await;
    assert_problem(&third, 429, "stream_limit_reached");
    assert_eq!(third.header("ratelimit-limit"), Some("2"));
    assert_eq!(third.header("ratelimit-remaining"), Some("0"));
    assert!(third.header("retry-after").is_some());
    // A ticket's stream counts the same.
    let with_ticket = ticket(&app, &ann).await;
    let refused = app
        .request(
            actix_web::http::Method::GET,
            &format!("/v1/stream?ticket={with_ticket}"),
        )
        .await;
    assert_problem(&refused, 429, "stream_limit_reached");
    // Another member's streams are their own.
    let owners = call_service(&raw, stream_request(Some(&owner), "")).await;
    assert_eq!(owners.status(), 200);

    // Closing one frees its slot.
    drop(first);
    let mut reopened = None;
    for _ in 0..100 {
        let attempt = call_service(&raw, stream_request(Some(&ann), "")).await;
        if attempt.status() == 200 {
            reopened = Some(attempt);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(reopened.is_some(), "a closed stream's slot is released");
    drop(second);
}

#[actix_web::test]
async fn members_are_online_after_a_heartbeat_or_with_an_open_stream_until_the_ttl_passes() {
    let (app, clock) = app_with_clock().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let stranger = app.owner("beta").await;
    let raw = instance(app.state.clone()).await;

    let beat = app.post("/v1/presence/heartbeat", &ann, json!({})).await;
    assert_eq!(beat.status, 204, "{}", beat.text);
    let since = clock.now();
    let seen = app
        .post("/v1/presence/heartbeat", &stranger, json!({}))
        .await;
    assert_eq!(seen.status, 204);
    let online = app.get("/v1/presence", &owner).await;
    assert_eq!(online.status, 200, "{}", online.text);
    assert_eq!(
        names(&online.json),
        vec!["ann@acme.example.com"],
        "only this tenant's"
    );
    assert_eq!(online.json["data"][0]["id"], app.me_id(&ann).await);
    let listed_since: chrono::DateTime<Utc> = online.json["data"][0]["since"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .expect("since");
    assert_eq!(listed_since, since);

    // Bob opens his stream: online while it is open.
    let stream = call_service(&raw, stream_request(Some(&bob), "")).await;
    assert_eq!(stream.status(), 200);
    let online = app.get("/v1/presence", &ann).await;
    assert_eq!(
        names(&online.json),
        vec!["ann@acme.example.com", "bob@acme.example.com"]
    );

    // Ninety seconds without a sign of either: both offline.
    clock.advance(Duration::seconds(89));
    assert_eq!(names(&app.get("/v1/presence", &owner).await.json).len(), 2);
    clock.advance(Duration::seconds(1));
    let online = app.get("/v1/presence", &owner).await;
    assert_eq!(names(&online.json), Vec::<String>::new(), "{}", online.text);
    drop(stream);

    // A member who hides is never listed.
    let hide = app
        .put(
            "/v1/me/presence-visibility",
            &ann,
            json!({ "hidden": true }),
        )
        .await;
    assert_eq!(hide.status, 200, "{}", hide.text);
    assert_eq!(
        app.get("/v1/me/presence-visibility", &ann).await.json["hidden"],
        true
    );
    app.post("/v1/presence/heartbeat", &ann, json!({})).await;
    app.post("/v1/presence/heartbeat", &bob, json!({})).await;
    let online = app.get("/v1/presence", &owner).await;
    assert_eq!(names(&online.json), vec!["bob@acme.example.com"]);
    let unknown = app
        .put(
            "/v1/me/presence-visibility",
            &ann,
            json!({ "hidden": true, "user_id": "x" }),
        )
        .await;
    assert_eq!(unknown.status, 422, "{}", unknown.text);
}

#[actix_web::test]
async fn a_tenant_can_turn_presence_off_and_only_admins_decide() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let admin = app.member(&owner, "ada@acme.example.com", "ADMIN").await;
    let other = app.owner("beta").await;
    app.post("/v1/presence/heartbeat", &ann, json!({})).await;

    let settings = app.get("/v1/presence/settings", &ann).await;
    assert_eq!(settings.json, json!({ "enabled": true }), "on by default");
    let refused = app
        .patch("/v1/presence/settings", &ann, json!({ "enabled": false }))
        .await;
    assert_problem(&refused, 403, "forbidden");
    let off = app
        .patch("/v1/presence/settings", &admin, json!({ "enabled": false }))
        .await;
    assert_eq!(off.status, 200, "{}", off.text);
    assert_eq!(off.json, json!({ "enabled": false }));

    let hidden = app.get("/v1/presence", &ann).await;
    assert_problem(&hidden, 403, "presence_disabled");
    // Heartbeats still count as use.
    assert_eq!(
        app.post("/v1/presence/heartbeat", &ann, json!({}))
            .await
            .status,
        204
    );
    // Another tenant keeps its own switch.
    assert_eq!(app.get("/v1/presence", &other).await.status, 200);
    let log = app.get("/v1/audit-log", &owner).await;
    assert!(
        log.text.contains("PRESENCE_SETTINGS_UPDATED"),
        "{}",
        log.text
    );
    let on = app
        .patch("/v1/presence/settings", &owner, json!({ "enabled": true }))
        .await;
    assert_eq!(on.json["enabled"], true);
    assert_eq!(
        names(&app.get("/v1/presence", &owner).await.json),
        vec!["ann@acme.example.com"]
    );
}

#[actix_web::test]
async fn presence_and_the_stream_cap_are_shared_by_two_instances_through_redis() {
    use guild_integrations::presence::RedisPresence;
    use guild_integrations::redis::Redis;
    let presence = || {
        let redis = Redis::connect(
            &guild_testkit::redis_url(),
            std::time::Duration::from_secs(2),
        )
        .expect("redis");
        Arc::new(RedisPresence::new(
            &redis,
            std::time::Duration::from_secs(90),
        ))
    };
    let on_a = presence();
    let a_presence = Arc::clone(&on_a);
    let app = TestApp::with(move |state| {
        state.presence = a_presence;
        state.streams_per_member = 1;
    })
    .await;
    let mut state_b = app.state.clone();
    state_b.presence = presence();
    let b = instance(state_b).await;

    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    // A heartbeat on instance A…
    assert_eq!(
        app.post("/v1/presence/heartbeat", &ann, json!({}))
            .await
            .status,
        204
    );
    // …is seen on instance B.
    let listed = call_service(
        &b,
        TestRequest::get()
            .uri("/v1/presence")
            .insert_header(("authorization", format!("Bearer {owner}")))
            .to_request(),
    )
    .await;
    assert_eq!(listed.status(), 200);
    let listed: Value = serde_json::from_slice(&read_body(listed).await).expect("json");
    assert_eq!(names(&listed), vec!["ann@acme.example.com"]);

    // Ann's one stream, held on B, leaves her no slot on A.
    let held = call_service(&b, stream_request(Some(&ann), "")).await;
    assert_eq!(held.status(), 200);
    let refused = app.get("/v1/stream", &ann).await;
    assert_problem(&refused, 429, "stream_limit_reached");
    assert!(!on_a.is_degraded());
    drop(held);
}

#[actix_web::test]
async fn a_pause_of_more_than_30_minutes_starts_a_new_usage_session() {
    let (app, clock) = app_with_clock().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let raw = instance(app.state.clone()).await;
    let start = clock.now();

    for _ in 0..2 {
        assert_eq!(
            app.post("/v1/presence/heartbeat", &ann, json!({}))
                .await
                .status,
            204
        );
        clock.advance(Duration::minutes(10));
    }
    // Twenty minutes after the last heartbeat: the same session.
    clock.advance(Duration::minutes(10));
    app.post("/v1/presence/heartbeat", &ann, json!({})).await;
    // Thirty-one minutes of silence, then an open stream: a new session.
    clock.advance(Duration::minutes(31));
    let second_start = clock.now();
    let stream = call_service(&raw, stream_request(Some(&ann), "")).await;
    assert_eq!(stream.status(), 200);
    drop(stream);

    let sessions = app.get("/v1/me/sessions", &ann).await;
    assert_eq!(sessions.status, 200, "{}", sessions.text);
    let rows = sessions.json["data"].as_array().expect("a page");
    assert_eq!(rows.len(), 2, "{}", sessions.text);
    let time = |v: &Value| -> chrono::DateTime<Utc> {
        v.as_str().and_then(|t| t.parse().ok()).expect("a time")
    };
    assert_eq!(time(&rows[0]["started_at"]), second_start, "newest first");
    assert_eq!(rows[0]["duration_seconds"], 0);
    assert_eq!(time(&rows[1]["started_at"]), start);
    assert_eq!(
        time(&rows[1]["last_ping_at"]),
        start + Duration::minutes(30)
    );
    assert_eq!(rows[1]["duration_seconds"], 1800);

    // A page at a time; the owner's sessions are their own.
    let first = app.get("/v1/me/sessions?limit=1", &ann).await;
    let cursor = first.json["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let next = app
        .get(&format!("/v1/me/sessions?limit=1&cursor={cursor}"), &ann)
        .await;
    assert_eq!(time(&next.json["data"][0]["started_at"]), start);
    assert!(next.json["next_cursor"].is_null(), "{}", next.text);
    let owners = app.get("/v1/me/sessions", &owner).await;
    assert_eq!(owners.json["data"].as_array().map(Vec::len), Some(0));
}
