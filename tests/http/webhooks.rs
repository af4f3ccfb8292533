//! Webhooks over HTTP: endpoints managed by MANAGE_WEBHOOKS holders only (an API key only with
//! that permission, another tenant's endpoint 404), the secret shown once, URLs checked by the
//! SSRF guard, test pings signed so that the `standardwebhooks` package from PyPI verifies them
//! (both secrets during a rotation's overlap, only the new one after), and the delivery log.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use guild_integrations::fetch::FetchPolicy;
use guild_kernel::{Clock, ManualClock};
use guild_tests::webhooks::{WebhookReceiver, verify};
use guild_tests::{TestApp, assert_problem, id};
use serde_json::{Value, json};

/// An app whose webhook sender may reach loopback (the receiver), with a manual clock at the
/// real time (the `standardwebhooks` library compares the timestamp with its own clock).
async fn app_with_loopback(clock: Option<Arc<ManualClock>>) -> TestApp {
    TestApp::with(|state| {
        state.webhooks = Arc::new(guild_api::state::webhook_sender(
            FetchPolicy::default()
                .allowing_loopback_for_tests()
                .with_host("internal.example", vec![IpAddr::from([10, 0, 0, 5])]),
        ));
        if let Some(clock) = clock {
            state.clock = clock;
        }
    })
    .await
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

async fn create(app: &TestApp, token: &str, url: &str) -> (Value, String) {
    let reply = app
        .post(
            "/v1/webhooks/endpoints",
            token,
            json!({ "url": url, "description": "CRM", "event_types": ["module.completed"] }),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    (reply.json["endpoint"].clone(), s(&reply.json["secret"]))
}

#[actix_web::test]
async fn an_admin_manages_endpoints_and_sees_each_secret_once() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let admin = app.member(&owner, "ada@acme.example.com", "ADMIN").await;
    let hr = app.member(&owner, "hal@acme.example.com", "HR").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;

    let created = app
        .post(
            "/v1/webhooks/endpoints",
            &admin,
            json!({ "url": "https://hooks.example.com/guild", "event_types": ["module.completed", "certificate.issued"] }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.header("etag"), Some("\"1\""));
    let secret = s(&created.json["secret"]);
    assert!(
        secret.starts_with("whsec_") && secret.len() > 40,
        "{secret}"
    );
    let endpoint = id(&created.json["endpoint"]);
    let uri = format!("/v1/webhooks/endpoints/{endpoint}");

    let got = app.get(&uri, &admin).await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert!(!got.text.contains(&secret[6..]), "never shown again");
    assert_eq!(got.json["enabled"], true);
    let listed = app.get("/v1/webhooks/endpoints", &owner).await;
    assert_eq!(listed.json["data"].as_array().map(Vec::len), Some(1));
    assert!(!listed.text.contains(&secret[6..]));

    // Changes name the revision they saw.
    let body = json!({ "enabled": false });
    assert_problem(
        &app.patch(&uri, &admin, body.clone()).await,
        428,
        "precondition_required",
    );
    assert_problem(
        &app.patch(&uri, &admin, body.clone())
            .if_match("\"7\"")
            .await,
        412,
        "precondition_failed",
    );
    let disabled = app.patch(&uri, &admin, body).if_match("\"1\"").await;
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    assert_eq!(disabled.json["disabled_reason"], "MANUAL");
    assert_problem(
        &app.post(&format!("{uri}/ping"), &admin, json!({})).await,
        409,
        "webhook_endpoint_disabled",
    );
    assert_problem(
        &app.patch(&uri, &admin, json!({ "event_types": ["no.such"] }))
            .if_match("\"2\"")
            .await,
        422,
        "validation_failed",
    );

    // HR and employees lack MANAGE_WEBHOOKS; another tenant's owner finds nothing.
    for token in [&hr, &ann] {
        assert_problem(&app.get(&uri, token).await, 403, "forbidden");
        assert_problem(
            &app.get("/v1/webhooks/endpoints", token).await,
            403,
            "forbidden",
        );
    }
    let stranger = app.owner("globex").await;
    assert_problem(
        &app.get(&uri, &stranger).await,
        404,
        "webhook_endpoint_not_found",
    );
    assert_problem(
        &app.delete(&uri, &stranger).if_match("\"2\"").await,
        404,
        "webhook_endpoint_not_found",
    );
    assert_problem(
        &app.get(&format!("{uri}/deliveries"), &stranger).await,
        404,
        "webhook_endpoint_not_found",
    );
    // Every member reads the catalog.
    let catalog = app.get("/v1/webhooks/event-types", &ann).await;
    assert_eq!(catalog.status, 200, "{}", catalog.text);
    assert!(catalog.text.contains("\"module.completed\""));

    let deleted = app.delete(&uri, &admin).if_match("\"2\"").await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_problem(
        &app.get(&uri, &admin).await,
        404,
        "webhook_endpoint_not_found",
    );

    // At most 20 per tenant.
    for i in 0..20 {
        create(&app, &owner, &format!("https://hooks.example.com/{i}")).await;
    }
    assert_problem(
        &app.post(
            "/v1/webhooks/endpoints",
            &owner,
            json!({ "url": "https://hooks.example.com/21", "event_types": ["quiz.passed"] }),
        )
        .await,
        409,
        "webhook_endpoint_limit_reached",
    );
}

#[actix_web::test]
async fn an_api_key_manages_endpoints_only_with_manage_webhooks() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let (_, with) = app
        .api_key(
            &owner,
            json!({ "name": "Integrations", "permissions": ["MANAGE_WEBHOOKS"] }),
        )
        .await;
    let (_, without) = app
        .api_key(
            &owner,
            json!({ "name": "BI", "permissions": ["VIEW_ANALYTICS"] }),
        )
        .await;
    create(&app, &with, "https://hooks.example.com/guild").await;
    assert_eq!(app.get("/v1/webhooks/endpoints", &with).await.status, 200);
    assert_problem(
        &app.get("/v1/webhooks/endpoints", &without).await,
        403,
        "forbidden",
    );
    assert_problem(
        &app.post(
            "/v1/webhooks/endpoints",
            &without,
            json!({ "url": "https://hooks.example.com/x", "event_types": ["quiz.passed"] }),
        )
        .await,
        403,
        "forbidden",
    );
}

#[actix_web::test]
async fn private_addresses_are_refused_when_created_and_when_a_name_resolves_to_one() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    for url in [
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://192.168.0.10/hook",
        "http://hooks.example.com/hook",
        "https://hooks.example.com:8443/hook",
        "https://user:pass@hooks.example.com/hook",
    ] {
        let reply = app
            .post(
                "/v1/webhooks/endpoints",
                &owner,
                json!({ "url": url, "event_types": ["module.completed"] }),
            )
            .await;
        assert_problem(&reply, 422, "validation_failed");
    }

    // A name is checked on the addresses it resolves to, when the message is sent.
    let app = app_with_loopback(None).await;
    let owner = app.owner("acme").await;
    let (endpoint, _) = create(&app, &owner, "https://internal.example/hook").await;
    let ping = app
        .post(
            &format!("/v1/webhooks/endpoints/{}/ping", s(&endpoint["id"])),
            &owner,
            json!({}),
        )
        .await;
    assert_eq!(ping.status, 200, "{}", ping.text);
    let attempt = &ping.json["attempts"][0];
    assert_eq!(attempt["succeeded"], false);
    assert!(attempt["status_code"].is_null());
    assert!(
        s(&attempt["error"]).contains("refused"),
        "{}",
        attempt["error"]
    );
    assert_eq!(ping.json["status"], "PENDING", "retried later");
}

#[actix_web::test]
async fn a_test_ping_is_signed_so_that_the_standardwebhooks_library_verifies_it() {
    let app = app_with_loopback(None).await;
    let owner = app.owner("acme").await;
    let receiver = WebhookReceiver::start().await;
    let (endpoint, secret) = create(&app, &owner, &receiver.url("/guild")).await;
    let endpoint = s(&endpoint["id"]);

    let ping = app
        .post(
            &format!("/v1/webhooks/endpoints/{endpoint}/ping"),
            &owner,
            json!({}),
        )
        .await;
    assert_eq!(ping.status, 200, "{}", ping.text);
    assert_eq!(ping.json["status"], "SUCCEEDED", "{}", ping.text);
    assert_eq!(ping.json["attempts"][0]["status_code"], 200);
    assert!(s(&ping.json["attempts"][0]["response_excerpt"]).contains("received"));

    let got = receiver.received();
    assert_eq!(got.len(), 1);
    let request = &got[0];
    assert_eq!(request.path, "/guild");
    assert_eq!(
        request.header("webhook-id"),
        Some(s(&ping.json["id"]).as_str())
    );
    assert_eq!(request.header("content-type"), Some("application/json"));
    let payload = verify(&secret, request, None).expect("standardwebhooks verifies the ping");
    assert_eq!(payload["type"], "webhook.ping");
    assert_eq!(payload["data"]["endpoint_id"], endpoint.as_str());
    assert!(payload["timestamp"].is_string());
    // Honest: another secret, or a changed body, does not verify.
    let (_, other) = create(&app, &owner, &receiver.url("/other")).await;
    assert!(verify(&other, request, None).is_err());
    let mut changed = request.clone();
    changed.body.push(b' ');
    assert!(verify(&secret, &changed, None).is_err());

    // A failing receiver: the attempt is logged and the delivery waits for its retry.
    receiver.answer(503);
    let failed = app
        .post(
            &format!("/v1/webhooks/endpoints/{endpoint}/ping"),
            &owner,
            json!({}),
        )
        .await;
    assert_eq!(failed.json["status"], "PENDING", "{}", failed.text);
    assert_eq!(failed.json["attempts"][0]["status_code"], 503);
    assert!(failed.json["next_attempt_at"].is_string());
    let pending = app
        .get(
            &format!("/v1/webhooks/endpoints/{endpoint}/deliveries?status=PENDING"),
            &owner,
        )
        .await;
    assert_eq!(pending.status, 200, "{}", pending.text);
    let ids: Vec<String> = pending.json["data"]
        .as_array()
        .map(|d| d.iter().map(|x| s(&x["id"])).collect())
        .unwrap_or_default();
    assert_eq!(ids, [s(&failed.json["id"])]);
    let all = app
        .get(
            &format!("/v1/webhooks/endpoints/{endpoint}/deliveries"),
            &owner,
        )
        .await;
    assert_eq!(all.json["data"].as_array().map(Vec::len), Some(2));
    let one = app
        .get(
            &format!(
                "/v1/webhooks/endpoints/{endpoint}/deliveries/{}",
                s(&ping.json["id"])
            ),
            &owner,
        )
        .await;
    assert_eq!(one.json["attempts"].as_array().map(Vec::len), Some(1));
}

#[actix_web::test]
async fn during_a_rotation_s_overlap_both_secrets_verify_and_after_it_only_the_new_one() {
    let clock = Arc::new(ManualClock::new(
        Utc.timestamp_opt(Utc::now().timestamp(), 0)
            .single()
            .expect("now"),
    ));
    let app = app_with_loopback(Some(clock.clone())).await;
    let owner = app.owner("acme").await;
    let receiver = WebhookReceiver::start().await;
    let (endpoint, old) = create(&app, &owner, &receiver.url("/guild")).await;
    let endpoint = s(&endpoint["id"]);

    let rotated = app
        .post(
            &format!("/v1/webhooks/endpoints/{endpoint}/rotate-secret"),
            &owner,
            json!({ "overlap_seconds": 60 }),
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let new = s(&rotated.json["secret"]);
    assert!(new.starts_with("whsec_") && new != old);
    assert!(rotated.json["endpoint"]["previous_secret_until"].is_string());

    let ping_uri = format!("/v1/webhooks/endpoints/{endpoint}/ping");
    let first = app.post(&ping_uri, &owner, json!({})).await;
    assert_eq!(first.json["status"], "SUCCEEDED", "{}", first.text);
    let now = clock.now().timestamp();
    let during = &receiver.received()[0];
    assert_eq!(
        during
            .header("webhook-signature")
            .map(|s| s.split(' ').count()),
        Some(2)
    );
    verify(&new, during, Some(now)).expect("the new secret verifies");
    verify(&old, during, Some(now)).expect("the old secret verifies during the overlap");

    clock.advance(Duration::seconds(61));
    let second = app.post(&ping_uri, &owner, json!({})).await;
    assert_eq!(second.json["status"], "SUCCEEDED", "{}", second.text);
    let now = clock.now().timestamp();
    let after = &receiver.received()[1];
    assert_eq!(
        after
            .header("webhook-signature")
            .map(|s| s.split(' ').count()),
        Some(1)
    );
    verify(&new, after, Some(now)).expect("the new secret verifies");
    let refused = verify(&old, after, Some(now)).expect_err("the old secret no longer signs");
    assert!(refused.contains("No matching signature"), "{refused}");

    assert_problem(
        &app.post(
            &format!("/v1/webhooks/endpoints/{endpoint}/rotate-secret"),
            &owner,
            json!({ "overlap_seconds": 604_801 }),
        )
        .await,
        422,
        "validation_failed",
    );
}

#[actix_web::test]
async fn a_receiver_that_fails_then_recovers_gets_each_event_once_on_the_backoff_schedule() {
    let start = Utc
        .timestamp_opt(Utc::now().timestamp(), 0)
        .single()
        .expect("now");
    let clock = Arc::new(ManualClock::new(start));
    let app = app_with_loopback(Some(clock.clone())).await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let ann_id = app.me_id(&ann).await;
    let (module, _) = app.published_module(&owner, "Safety").await;
    let receiver = WebhookReceiver::start().await;
    let (endpoint, secret) = create(&app, &owner, &receiver.url("/guild")).await;
    // Another endpoint wants other events only; a third is disabled.
    let reply = app
        .post(
            "/v1/webhooks/endpoints",
            &owner,
            json!({ "url": receiver.url("/quizzes"), "event_types": ["quiz.passed"] }),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let (disabled, _) = create(&app, &owner, &receiver.url("/off")).await;
    let off = app
        .patch(
            &format!("/v1/webhooks/endpoints/{}", s(&disabled["id"])),
            &owner,
            json!({ "enabled": false }),
        )
        .if_match("\"1\"")
        .await;
    assert_eq!(off.status, 200, "{}", off.text);
    let endpoint = s(&endpoint["id"]);

    receiver.answer(503);
    app.complete_for(&owner, &ann_id, &module).await;
    app.run_worker().await;
    let got = receiver.received();
    assert_eq!(got.len(), 1, "one endpoint wants module.completed");
    let log = app
        .get(
            &format!("/v1/webhooks/endpoints/{endpoint}/deliveries"),
            &owner,
        )
        .await;
    let delivery = log.json["data"][0].clone();
    assert_eq!(delivery["event_type"], "module.completed");
    assert_eq!(delivery["status"], "PENDING");
    assert_eq!(delivery["attempt_count"], 1);
    let data = &delivery["payload"]["data"];
    assert_eq!(data["user_id"], ann_id.as_str());
    assert_eq!(data["module_id"], module.as_str());
    assert!(data.get("tenant_id").is_none(), "no internal field: {data}");

    // Each retry comes when the schedule says, not before: 5 s, 5 min, 30 min after the last.
    let (a, r) = (&app, &receiver);
    let retry = move |at: chrono::Duration| {
        clock.advance(at);
        async move {
            a.queue_job("webhooks.deliver_due").await;
            a.run_worker().await;
            r.received().len()
        }
    };
    assert_eq!(retry(Duration::seconds(4)).await, 1, "not yet");
    assert_eq!(retry(Duration::seconds(1)).await, 2, "5 s after the first");
    assert_eq!(retry(Duration::seconds(299)).await, 2, "not yet");
    assert_eq!(
        retry(Duration::seconds(1)).await,
        3,
        "5 min after the second"
    );
    receiver.answer(204);
    assert_eq!(retry(Duration::minutes(29)).await, 3, "not yet");
    assert_eq!(
        retry(Duration::minutes(1)).await,
        4,
        "30 min after the third: delivered"
    );
    assert_eq!(
        retry(Duration::hours(3)).await,
        4,
        "nothing more once delivered"
    );

    // Every attempt is the same message, each signed at its own time.
    let got = receiver.received();
    let ids: std::collections::BTreeSet<_> =
        got.iter().filter_map(|r| r.header("webhook-id")).collect();
    assert_eq!(ids.len(), 1, "one webhook-id for every attempt");
    for request in &got {
        let at: i64 = request
            .header("webhook-timestamp")
            .and_then(|t| t.parse().ok())
            .expect("a timestamp");
        let payload = verify(&secret, request, Some(at)).expect("standardwebhooks verifies it");
        assert_eq!(payload["type"], "module.completed");
    }
    let stamps: Vec<i64> = got
        .iter()
        .filter_map(|r| r.header("webhook-timestamp").and_then(|t| t.parse().ok()))
        .collect();
    assert_eq!(
        stamps
            .iter()
            .map(|t| t - start.timestamp())
            .collect::<Vec<_>>(),
        [0, 5, 305, 2105]
    );

    // A redelivered outbox event adds no delivery.
    guild_tests::execute(
        &app,
        "UPDATE outbox_events SET status = 'PENDING', available_at = now() \
         WHERE kind = 'learning.module_completed'",
    )
    .await;
    app.run_worker().await;
    assert_eq!(
        guild_tests::count(&app, "SELECT count(*) AS n FROM webhook_deliveries").await,
        1
    );
    assert_eq!(
        guild_tests::count(
            &app,
            "SELECT count(*) AS n FROM webhook_attempts WHERE succeeded"
        )
        .await,
        1
    );
    assert_eq!(receiver.received().len(), 4);
}

#[actix_web::test]
async fn replay_sends_a_delivery_again_and_replay_failed_sends_a_window_s_failed_ones() {
    let app = app_with_loopback(None).await;
    let owner = app.owner("acme").await;
    let receiver = WebhookReceiver::start().await;
    let (endpoint, secret) = create(&app, &owner, &receiver.url("/guild")).await;
    let endpoint = s(&endpoint["id"]);
    let base = format!("/v1/webhooks/endpoints/{endpoint}");

    receiver.answer(500);
    let mut failed = Vec::new();
    for _ in 0..3 {
        let ping = app.post(&format!("{base}/ping"), &owner, json!({})).await;
        assert_eq!(ping.json["status"], "PENDING", "{}", ping.text);
        failed.push(s(&ping.json["id"]));
    }
    // As if every attempt of the schedule had failed.
    guild_tests::execute(
        &app,
        "UPDATE webhook_deliveries SET status = 'FAILED', next_attempt_at = NULL, attempt_count = 11",
    )
    .await;
    receiver.answer(200);

    let replayed = app
        .post(
            &format!("{base}/deliveries/{}/replay", failed[0]),
            &owner,
            json!({}),
        )
        .await;
    assert_eq!(replayed.status, 200, "{}", replayed.text);
    assert_eq!(replayed.json["status"], "SUCCEEDED");
    assert_eq!(replayed.json["attempts"].as_array().map(Vec::len), Some(2));
    let got = receiver.received();
    assert_eq!(got.len(), 4);
    assert_eq!(
        got[3].header("webhook-id"),
        Some(failed[0].as_str()),
        "the same message"
    );
    verify(&secret, &got[3], None).expect("standardwebhooks verifies the replay");

    // A window that holds none of them replays nothing; the one that does, the other two.
    let window = |since: chrono::DateTime<Utc>, until: chrono::DateTime<Utc>| json!({ "since": since.to_rfc3339(), "until": until.to_rfc3339() });
    let now = Utc::now();
    let none = app
        .post(
            &format!("{base}/replay-failed"),
            &owner,
            window(now - Duration::days(3), now - Duration::days(2)),
        )
        .await;
    assert_eq!(none.json["replayed"], 0, "{}", none.text);
    let some = app
        .post(
            &format!("{base}/replay-failed"),
            &owner,
            window(now - Duration::hours(1), now + Duration::hours(1)),
        )
        .await;
    assert_eq!(some.json["replayed"], 2, "{}", some.text);
    app.queue_job("webhooks.deliver_due").await;
    app.run_worker().await;
    let got = receiver.received();
    assert_eq!(got.len(), 6);
    let resent: std::collections::BTreeSet<_> = got[4..]
        .iter()
        .filter_map(|r| r.header("webhook-id"))
        .collect();
    assert_eq!(
        resent,
        failed[1..].iter().map(String::as_str).collect(),
        "the two failed ones"
    );
    assert_problem(
        &app.post(
            &format!("{base}/replay-failed"),
            &owner,
            window(now - Duration::days(8), now),
        )
        .await,
        422,
        "validation_failed",
    );
    let stranger = app.owner("globex").await;
    assert_problem(
        &app.post(
            &format!("{base}/deliveries/{}/replay", failed[0]),
            &stranger,
            json!({}),
        )
        .await,
        404,
        "webhook_endpoint_not_found",
    );
}

#[actix_web::test]
async fn an_endpoint_whose_deliveries_keep_failing_is_disabled_and_its_admins_are_emailed() {
    let app = app_with_loopback(None).await;
    let owner = app.owner("acme").await;
    let ada = app.member(&owner, "ada@acme.example.com", "ADMIN").await;
    app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let receiver = WebhookReceiver::start().await;
    let (endpoint, _) = create(&app, &ada, &receiver.url("/guild")).await;
    let endpoint = s(&endpoint["id"]);
    let base = format!("/v1/webhooks/endpoints/{endpoint}");
    receiver.answer(500);
    for _ in 0..5 {
        let ping = app.post(&format!("{base}/ping"), &owner, json!({})).await;
        assert_eq!(ping.json["status"], "PENDING", "{}", ping.text);
    }
    // Each has one attempt left, due now: four fail for good, and the endpoint stays enabled.
    let last_attempt = |n: usize| {
        format!(
            "UPDATE webhook_deliveries SET attempt_count = 10, next_attempt_at = now() - interval '1 second' \
             WHERE id IN (SELECT id FROM webhook_deliveries WHERE status = 'PENDING' \
                          AND attempt_count < 10 ORDER BY id LIMIT {n})"
        )
    };
    guild_tests::execute(&app, &last_attempt(4)).await;
    app.queue_job("webhooks.deliver_due").await;
    app.run_worker().await;
    let got = app.get(&base, &ada).await;
    assert_eq!(got.json["enabled"], true, "{}", got.text);
    assert_eq!(got.json["consecutive_failures"], 4);
    // The fifth in a row disables it.
    guild_tests::execute(&app, &last_attempt(1)).await;
    app.queue_job("webhooks.deliver_due").await;
    app.run_worker().await;
    let got = app.get(&base, &ada).await;
    assert_eq!(got.json["enabled"], false, "{}", got.text);
    assert_eq!(got.json["disabled_reason"], "FAILING");
    assert_eq!(
        guild_tests::count(
            &app,
            "SELECT count(*) AS n FROM notifications WHERE kind = 'WEBHOOK_DISABLED'"
        )
        .await,
        2,
        "the owner and the admin, not the employee"
    );
    for to in ["owner@acme.example.com", "ada@acme.example.com"] {
        let mail = app
            .mail
            .last_to(to)
            .unwrap_or_else(|| panic!("an email to {to}"));
        assert!(mail.text.contains(&receiver.url("/guild")), "{}", mail.text);
    }
    assert!(
        app.mail
            .last_to("ann@acme.example.com")
            .is_none_or(|m| !m.text.contains("webhook"))
    );
    assert_problem(
        &app.post(&format!("{base}/ping"), &ada, json!({})).await,
        409,
        "webhook_endpoint_disabled",
    );
    // Enabled again, it forgets its failures.
    let etag = got.header("etag").unwrap_or_default().to_owned();
    let on = app
        .patch(&base, &ada, json!({ "enabled": true }))
        .if_match(&etag)
        .await;
    assert_eq!(on.status, 200, "{}", on.text);
    assert_eq!(on.json["consecutive_failures"], 0);
    assert!(on.json["disabled_reason"].is_null());
}

/// Checks `data` against the payload schema the spec's `webhooks` section publishes for
/// `event_type`: the same fields, each of the documented type, format and values.
fn matches_published_schema(spec: &Value, event_type: &str, data: &Value) {
    let schema = &spec["webhooks"][event_type]["post"]["requestBody"]["content"]["application/json"]
        ["schema"]["properties"]["data"];
    let required: std::collections::BTreeSet<&str> = schema["required"]
        .as_array()
        .unwrap_or_else(|| panic!("{event_type} is documented"))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let sent: std::collections::BTreeSet<&str> = data
        .as_object()
        .expect("data is an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(sent, required, "{event_type}: the documented fields");
    for (name, value) in data.as_object().into_iter().flatten() {
        let field = &schema["properties"][name];
        let types: Vec<&str> = match &field["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            other => panic!("{event_type}.{name}: no type ({other})"),
        };
        let kind = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        assert!(
            types.contains(&kind) || (kind == "integer" && types.contains(&"number")),
            "{event_type}.{name}: {value} is not {types:?}"
        );
        if let (Some(s), Some("uuid")) = (value.as_str(), field["format"].as_str()) {
            assert!(uuid::Uuid::parse_str(s).is_ok(), "{event_type}.{name}: {s}");
        }
        if let (Some(s), Some(values)) = (value.as_str(), field["enum"].as_array()) {
            assert!(
                values.iter().any(|v| v == s),
                "{event_type}.{name}: {s} not in {values:?}"
            );
        }
    }
}

#[actix_web::test]
async fn member_and_group_changes_reach_subscribers_as_the_spec_documents_them() {
    let app = app_with_loopback(None).await;
    let owner = app.owner("acme").await;
    let receiver = WebhookReceiver::start().await;
    let types = [
        "member.invited",
        "member.joined",
        "member.role_changed",
        "member.deactivated",
        "member.removed",
        "group.created",
        "group.updated",
        "group.members_added",
        "group.members_removed",
        "group.deleted",
    ];
    let reply = app
        .post(
            "/v1/webhooks/endpoints",
            &owner,
            json!({ "url": receiver.url("/hr"), "event_types": types }),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let secret = s(&reply.json["secret"]);

    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let ann_id = app.me_id(&ann).await;
    let role = app
        .put(
            &format!("/v1/members/{ann_id}/role"),
            &owner,
            json!({ "role": "HR" }),
        )
        .await;
    assert_eq!(role.status, 200, "{}", role.text);
    let group = app
        .post("/v1/groups", &owner, json!({ "name": "Sales" }))
        .await;
    assert_eq!(group.status, 201, "{}", group.text);
    let group_id = s(&group.json["id"]);
    let renamed = app
        .patch(
            &format!("/v1/groups/{group_id}"),
            &owner,
            json!({ "name": "Sales EMEA" }),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    for _ in 0..2 {
        // The second add changes nothing: no message.
        let added = app
            .post(
                &format!("/v1/groups/{group_id}/members"),
                &owner,
                json!({ "user_ids": [ann_id, ann_id] }),
            )
            .await;
        assert_eq!(added.status, 200, "{}", added.text);
    }
    let removed = app
        .post(
            &format!("/v1/groups/{group_id}/members/remove"),
            &owner,
            json!({ "user_ids": [ann_id] }),
        )
        .await;
    assert_eq!(removed.status, 200, "{}", removed.text);
    let off = app
        .post(
            &format!("/v1/members/{ann_id}/deactivate"),
            &owner,
            json!({}),
        )
        .await;
    assert_eq!(off.status, 200, "{}", off.text);
    let gone = app.delete(&format!("/v1/groups/{group_id}"), &owner).await;
    assert_eq!(gone.status, 204, "{}", gone.text);
    let out = app.delete(&format!("/v1/members/{ann_id}"), &owner).await;
    assert_eq!(out.status, 204, "{}", out.text);
    app.run_worker().await;

    let spec = app
        .request(actix_web::http::Method::GET, "/v1/openapi.json")
        .await
        .json;
    let mut got: Vec<(String, Value)> = receiver
        .received()
        .iter()
        .map(|request| {
            let payload = verify(&secret, request, None).expect("standardwebhooks verifies it");
            (s(&payload["type"]), payload["data"].clone())
        })
        .collect();
    for (event_type, data) in &got {
        matches_published_schema(&spec, event_type, data);
    }
    got.sort_by(|a, b| a.0.cmp(&b.0));
    let names: Vec<&str> = got.iter().map(|(t, _)| t.as_str()).collect();
    let mut expected = types.to_vec();
    expected.sort_unstable();
    assert_eq!(
        names, expected,
        "each change once, none for the add that changed nothing"
    );
    let data = |t: &str| {
        got.iter()
            .find(|(n, _)| n == t)
            .map(|(_, d)| d.clone())
            .unwrap()
    };
    assert_eq!(data("member.invited")["status"], "INVITED");
    assert_eq!(data("member.joined")["status"], "ACTIVE");
    assert_eq!(data("member.joined")["email"], "ann@acme.example.com");
    assert_eq!(data("member.role_changed")["role"], "HR");
    assert_eq!(data("member.deactivated")["status"], "DEACTIVATED");
    assert_eq!(data("member.removed")["status"], "REMOVED");
    assert_eq!(data("group.updated")["name"], "Sales EMEA");
    assert_eq!(data("group.members_added")["user_ids"], json!([ann_id]));
    assert_eq!(data("group.members_removed")["user_ids"], json!([ann_id]));
    assert_eq!(data("group.deleted")["group_id"], group_id.as_str());
}

#[actix_web::test]
async fn every_catalog_type_is_documented_in_the_spec_s_webhooks_section() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let spec = app
        .request(actix_web::http::Method::GET, "/v1/openapi.json")
        .await
        .json;
    let listed = app.get("/v1/webhooks/event-types", &owner).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let names: Vec<String> = listed
        .json
        .as_array()
        .expect("a list")
        .iter()
        .map(|t| s(&t["name"]))
        .collect();
    assert!(names.len() >= 30, "{names:?}");
    let documented: Vec<&String> = spec["webhooks"]
        .as_object()
        .expect("a webhooks section")
        .keys()
        .collect();
    assert_eq!(documented.len(), names.len());
    for name in &names {
        let body =
            &spec["webhooks"][name]["post"]["requestBody"]["content"]["application/json"]["schema"];
        assert_eq!(body["properties"]["type"]["enum"], json!([name]), "{name}");
        assert!(body["properties"]["data"]["required"].is_array(), "{name}");
    }
}

#[actix_web::test]
async fn a_pass_of_events_over_two_tenants_reaches_each_tenants_endpoints_only_and_a_failed_event_alone_is_retried()
 {
    let app = app_with_loopback(None).await;
    let receiver = WebhookReceiver::start().await;
    let types = json!(["module.completed", "member.role_changed"]);
    let mut tenants = Vec::new();
    for slug in ["acme", "globex"] {
        let owner = app.owner(slug).await;
        let member = app
            .member(&owner, &format!("ann@{slug}.example.com"), "EMPLOYEE")
            .await;
        let member_id = app.me_id(&member).await;
        let (module, _) = app.published_module(&owner, "Safety").await;
        let reply = app
            .post(
                "/v1/webhooks/endpoints",
                &owner,
                json!({ "url": receiver.url(&format!("/{slug}")), "event_types": types }),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        tenants.push((slug, owner, member_id, module));
    }
    // Acme's role change cannot be fanned out (a fault injected for this one message).
    let (_, _, acme_ann, _) = &tenants[0];
    guild_tests::execute(
        &app,
        &format!(
            "CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
               IF NEW.event_type = 'member.role_changed' AND NEW.payload->>'user_id' = '{acme_ann}' \
               THEN RAISE EXCEPTION 'injected'; END IF; RETURN NEW; END $$; \
             CREATE TRIGGER refuse_one BEFORE INSERT ON webhook_deliveries \
               FOR EACH ROW EXECUTE FUNCTION refuse_one()"
        ),
    )
    .await;

    // Each tenant: a completion, then a role change; the worker takes them in one pass.
    for (_, owner, member_id, module) in &tenants {
        app.complete_for(owner, member_id, module).await;
        let role = app
            .put(
                &format!("/v1/members/{member_id}/role"),
                owner,
                json!({ "role": "HR" }),
            )
            .await;
        assert_eq!(role.status, 200, "{}", role.text);
    }
    app.run_worker().await;
    let received = |path: &str| -> Vec<(String, String)> {
        receiver
            .received()
            .iter()
            .filter(|r| r.path == path)
            .map(|r| {
                let body: Value = serde_json::from_slice(&r.body).expect("json");
                (s(&body["type"]), s(&body["data"]["user_id"]))
            })
            .collect()
    };
    let (_, _, globex_ann, _) = &tenants[1];
    let mut globex = received("/globex");
    globex.sort();
    assert_eq!(
        globex,
        [
            ("member.role_changed".to_owned(), globex_ann.clone()),
            ("module.completed".to_owned(), globex_ann.clone()),
        ],
        "globex's two events, none of acme's"
    );
    assert_eq!(
        received("/acme"),
        [("module.completed".to_owned(), acme_ann.clone())],
        "acme's completion went out though its role change failed"
    );
    let deliveries = async |sql: &str| guild_tests::count(&app, sql).await;
    assert_eq!(
        deliveries(
            "SELECT count(*) AS n FROM webhook_deliveries d JOIN webhook_endpoints e \
             ON e.id = d.endpoint_id WHERE e.tenant_id <> d.tenant_id"
        )
        .await,
        0,
        "every delivery is its endpoint's tenant's"
    );
    assert_eq!(
        deliveries(
            "SELECT count(*) AS n FROM outbox_events \
             WHERE kind = 'tenancy.member_changed' AND status = 'PENDING' AND attempts = 1 \
               AND last_error LIKE 'webhooks_fan_out:%injected%'"
        )
        .await,
        1,
        "only acme's role change waits for a retry"
    );
    // Made in the order of the events: the completion first.
    assert_eq!(
        deliveries(
            "SELECT count(*) AS n FROM (SELECT event_type, \
                    row_number() OVER (PARTITION BY tenant_id ORDER BY id) AS n FROM webhook_deliveries) d \
             WHERE (d.n = 1) <> (d.event_type = 'module.completed')"
        )
        .await,
        0
    );

    // The fault gone, the retry delivers it; every event redelivered adds nothing.
    guild_tests::execute(
        &app,
        "DROP TRIGGER refuse_one ON webhook_deliveries; DROP FUNCTION refuse_one(); \
         UPDATE outbox_events SET available_at = now() WHERE status = 'PENDING'",
    )
    .await;
    app.run_worker().await;
    let mut acme = received("/acme");
    acme.sort();
    assert_eq!(
        acme,
        [
            ("member.role_changed".to_owned(), acme_ann.clone()),
            ("module.completed".to_owned(), acme_ann.clone()),
        ]
    );
    guild_tests::execute(
        &app,
        "UPDATE outbox_events SET status = 'PENDING', available_at = now()",
    )
    .await;
    app.run_worker().await;
    assert_eq!(
        deliveries("SELECT count(*) AS n FROM webhook_deliveries").await,
        4
    );
    assert_eq!(receiver.received().len(), 4);
}
