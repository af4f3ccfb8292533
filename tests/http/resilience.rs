//! Redis outages degrade, never lock out: two instances share a Redis of the test's own, which
//! is stopped mid-test and started again.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::Method;
use actix_web::test::TestRequest;
use chrono::Utc;
use guild_api::AppState;
use guild_integrations::pubsub::RedisPubSub;
use guild_integrations::ratelimit::RedisRateLimiter;
use guild_integrations::redis::Redis;
use guild_kernel::ports::{PubSub, RateRule};
use guild_kernel::{TenantId, UserId};
use guild_notifications::stream;
use guild_testkit::RedisServer;
use guild_tests::sse::{frame_within, next_event_id, next_frame, open_stream, ready_frame};
use guild_tests::{TestApp, access, assert_problem, send};
use serde_json::json;

/// What one instance builds on Redis, as `guild serve` does: one pool (whose health its adapters
/// share), the limiter and the pub/sub. Redis is probed every 200 ms while it is down.
fn on_redis(url: &str, prefix: &str) -> (Redis, RedisRateLimiter, RedisPubSub) {
    let redis = Redis::connect(url, Duration::from_millis(500))
        .expect("a redis URL")
        .with_probe_interval(Duration::from_millis(200));
    let limiter = RedisRateLimiter::new(&redis, Some(prefix));
    let bus = RedisPubSub::start(redis.clone(), url).expect("started");
    (redis, limiter, bus)
}

fn use_redis(state: &mut AppState, parts: (Redis, RedisRateLimiter, RedisPubSub)) {
    let (redis, limiter, bus) = parts;
    state.redis = Some(redis);
    state.limiter = Arc::new(limiter);
    state.pubsub = Arc::new(bus);
    state.limits.login_ip = RateRule {
        limit: 3,
        window: Duration::from_secs(60),
    };
}

/// Waits (at most 10 s) until `done`.
async fn until(what: &str, done: impl Fn() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("not within 10 s: {what}");
}

/// Appends an event to the member's stream and publishes it on `bus`, as a reaction of the
/// instance owning `bus` does once its transaction committed; answers the event's id.
async fn push(app: &TestApp, bus: &dyn PubSub, tenant: TenantId, user: UserId) -> i64 {
    let mut conn = app.db.conn().await;
    let event = guild_db::tenant_transaction(&mut conn, tenant, async |c| {
        stream::append(c, tenant, user, "notification", &json!({}), Utc::now()).await
    })
    .await
    .expect("appended");
    let message = serde_json::to_string(&event).expect("json");
    bus.publish(&stream::channel(tenant, user), &message)
        .await
        .expect("a publish never fails: it degrades");
    event.seq
}

fn metric(text: &str, name: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}{{dependency=\"redis\"}} ")))
        .map(str::to_owned)
}

#[actix_web::test]
async fn with_redis_stopped_sign_in_limits_and_streams_keep_working_per_instance_and_delivery_between_instances_resumes_once_it_is_back()
 {
    let mut server = RedisServer::start();
    let url = server.url();
    let prefix = uuid::Uuid::now_v7().to_string();
    let parts_a = on_redis(&url, &prefix);
    let parts_b = on_redis(&url, &prefix);
    let (redis_a, bus_a) = (parts_a.0.clone(), parts_a.2.clone());
    let (redis_b, bus_b) = (parts_b.0.clone(), parts_b.2.clone());
    // Instance A: the test app. Instance B: the same database, its own pool and subscription.
    let app = TestApp::with(move |state| use_redis(state, parts_a)).await;
    let mut state_b = app.state.clone();
    use_redis(&mut state_b, parts_b);
    let b =
        actix_web::test::init_service(guild_api::build_app_with(state_b, Box::new(|_| {}))).await;
    until("both instances subscribed", || {
        bus_a.is_subscribed() && bus_b.is_subscribed()
    })
    .await;

    let owner = access(&app.sign_up("acme").await);
    let me = app.get("/v1/me", &owner).await.json;
    let tenant = TenantId(me["active_tenant"]["id"].as_str().unwrap().parse().unwrap());
    let user = UserId(me["user"]["id"].as_str().unwrap().parse().unwrap());
    let login = || {
        TestRequest::post()
            .uri("/v1/auth/login")
            .set_json(
                json!({ "email": "owner@acme.example.com", "password": "correct horse battery" }),
            )
            .to_request()
    };
    assert_eq!(app.send(login()).await.status, 200);

    // One stream on each instance; an event written on A reaches both.
    let a = app_service(&app).await;
    let mut on_a = open_stream(&a, &owner, None).await;
    let mut on_b = open_stream(&b, &owner, None).await;
    assert_eq!(next_frame(&mut on_a).await, ready_frame(0));
    assert_eq!(next_frame(&mut on_b).await, ready_frame(0));
    assert_eq!(push(&app, &bus_a, tenant, user).await, 1);
    assert_eq!(next_event_id(&mut on_a).await, 1);
    assert_eq!(next_event_id(&mut on_b).await, 1);

    server.stop();
    until("both subscriptions lost", || {
        !bus_a.is_subscribed() && !bus_b.is_subscribed()
    })
    .await;

    // Sign-in keeps working; the limit (3 per address) still holds, counted per instance from the
    // start of the outage: A allows 3 more and refuses the fourth, B counts its own.
    for _ in 0..3 {
        let reply = app.send(login()).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    assert_problem(&app.send(login()).await, 429, "rate_limited");
    assert_eq!(send(&b, login()).await.status, 200);
    assert!(redis_a.is_degraded() && redis_b.is_degraded());

    // Ready, saying Redis is degraded; the metrics too.
    let ready = app.request(Method::GET, "/readyz").await;
    assert_eq!(ready.status, 200, "{}", ready.text);
    assert_eq!(ready.json["checks"]["redis"], "degraded");
    assert_eq!(ready.json["checks"]["database"], "ok");
    let metrics = app.request(Method::GET, "/metrics").await.text;
    assert_eq!(
        metric(&metrics, "guild_dependency_degraded").as_deref(),
        Some("1"),
        "{metrics}"
    );

    // Each instance delivers its own writes to its own streams; the other cannot hear them.
    assert_eq!(push(&app, &bus_a, tenant, user).await, 2);
    assert_eq!(next_event_id(&mut on_a).await, 2);
    assert_eq!(
        frame_within(&mut on_b, Duration::from_millis(300)).await,
        None
    );
    assert_eq!(push(&app, &bus_b, tenant, user).await, 3);
    // B's stream sees the gap (2 never arrived) and reads it back with 3.
    assert_eq!(next_event_id(&mut on_b).await, 2);
    assert_eq!(next_event_id(&mut on_b).await, 3);
    assert_eq!(
        frame_within(&mut on_a, Duration::from_millis(300)).await,
        None
    );

    server.resume();
    until("both instances subscribed again", || {
        bus_a.is_subscribed() && bus_b.is_subscribed()
    })
    .await;
    // A's stream reads back what B published during the outage.
    assert_eq!(next_event_id(&mut on_a).await, 3);
    // And writes on one instance reach the other's streams again.
    assert_eq!(push(&app, &bus_a, tenant, user).await, 4);
    assert_eq!(next_event_id(&mut on_b).await, 4);
    assert_eq!(next_event_id(&mut on_a).await, 4);
    assert_eq!(push(&app, &bus_b, tenant, user).await, 5);
    assert_eq!(next_event_id(&mut on_a).await, 5);
    assert_eq!(next_event_id(&mut on_b).await, 5);

    // Limits are shared through Redis again (the restarted Redis starts empty): three sign-ins
    // across both instances, then both refuse.
    assert!(!redis_a.is_degraded() && !redis_b.is_degraded());
    assert_eq!(app.send(login()).await.status, 200);
    assert_eq!(send(&b, login()).await.status, 200);
    assert_eq!(app.send(login()).await.status, 200);
    assert_problem(&send(&b, login()).await, 429, "rate_limited");
    assert_problem(&app.send(login()).await, 429, "rate_limited");

    let ready = app.request(Method::GET, "/readyz").await;
    assert_eq!(ready.json["checks"]["redis"], "ok", "{}", ready.text);
    let metrics = app.request(Method::GET, "/metrics").await.text;
    assert_eq!(
        metric(&metrics, "guild_dependency_degraded").as_deref(),
        Some("0"),
        "{metrics}"
    );
    assert_eq!(
        metric(&metrics, "guild_dependency_degradations_total").as_deref(),
        Some("1"),
        "one outage: {metrics}"
    );
}

/// A second service over instance A's state, to read its streams frame by frame.
async fn app_service(
    app: &TestApp,
) -> impl actix_web::dev::Service<
    actix_http::Request,
    Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
    Error = actix_web::Error,
> {
    actix_web::test::init_service(guild_api::build_app_with(
        app.state.clone(),
        Box::new(|_| {}),
    ))
    .await
}
