//! Liveness, readiness and metrics, and the database pools a server opens at start.

use std::time::Duration;

use actix_web::http::Method;
use guild_db::{PoolConfig, build_pool};
use guild_integrations::redis::Redis;
use guild_tests::{TestApp, assert_problem};

#[actix_web::test]
async fn livez_answers_without_touching_anything() {
    let app = TestApp::new().await;
    let reply = app.request(Method::GET, "/livez").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json["status"], "ok");
}

#[actix_web::test]
async fn readyz_is_ready_when_the_database_answers() {
    let app = TestApp::new().await;
    let reply = app.request(Method::GET, "/readyz").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json["checks"]["database"], "ok");
    assert_eq!(reply.json["checks"]["redis"], "not_configured");
}

#[actix_web::test]
async fn readyz_checks_redis_when_it_is_configured() {
    let redis = Redis::connect(&guild_testkit::redis_url(), Duration::from_secs(2)).unwrap();
    let app = TestApp::with(|state| state.redis = Some(redis)).await;
    let reply = app.request(Method::GET, "/readyz").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json["checks"]["redis"], "ok");
}

#[actix_web::test]
async fn readyz_is_503_when_the_database_is_down() {
    let dead_db = build_pool(&PoolConfig {
        url: "postgres://postgres@127.0.0.1:1/nothing".into(),
        max_size: 1,
        timeout: Duration::from_millis(500),
    })
    .unwrap();
    let dead_redis = Redis::connect("redis://127.0.0.1:1", Duration::from_millis(500)).unwrap();
    let app = TestApp::with(|state| {
        state.db = dead_db;
        state.redis = Some(dead_redis);
    })
    .await;
    let reply = app.request(Method::GET, "/readyz").await;
    assert_problem(&reply, 503, "not_ready");
    assert_eq!(reply.json["checks"]["database"], "down");
    assert_eq!(reply.json["checks"]["redis"], "degraded");
    assert!(
        !reply.text.contains("127.0.0.1"),
        "internal detail leaked: {}",
        reply.text
    );
}

#[actix_web::test]
async fn readyz_stays_ready_and_metrics_say_degraded_while_redis_does_not_answer() {
    let dead_redis = Redis::connect("redis://127.0.0.1:1", Duration::from_millis(500)).unwrap();
    let app = TestApp::with(|state| state.redis = Some(dead_redis)).await;
    let metric = |text: &str, name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}{{dependency=\"redis\"}} ")))
            .map(str::to_owned)
    };
    let before = app.request(Method::GET, "/metrics").await;
    assert_eq!(
        metric(&before.text, "guild_dependency_degraded").as_deref(),
        Some("0"),
        "{}",
        before.text
    );

    let reply = app.request(Method::GET, "/readyz").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json["status"], "ready");
    assert_eq!(reply.json["checks"]["database"], "ok");
    assert_eq!(reply.json["checks"]["redis"], "degraded");
    // Asked again: still one outage.
    app.request(Method::GET, "/readyz").await;

    let after = app.request(Method::GET, "/metrics").await;
    assert_eq!(
        metric(&after.text, "guild_dependency_degraded").as_deref(),
        Some("1"),
        "{}",
        after.text
    );
    assert_eq!(
        metric(&after.text, "guild_dependency_degradations_total").as_deref(),
        Some("1"),
        "{}",
        after.text
    );
}

#[actix_web::test]
async fn metrics_count_requests_by_route_pattern() {
    let app = TestApp::new().await;
    app.request(Method::GET, "/livez").await;
    app.request(Method::GET, "/v1/nope/123").await;
    let reply = app.request(Method::GET, "/metrics").await;
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("content-type")
            .unwrap_or_default()
            .starts_with("application/openmetrics-text")
    );
    assert!(
        reply
            .text
            .contains(r#"guild_http_requests_total{method="GET",route="/livez",status="200"} 1"#),
        "{}",
        reply.text
    );
    assert!(
        reply.text.contains(r#"route="unmatched",status="404"} 1"#),
        "{}",
        reply.text
    );
    assert!(
        !reply.text.contains("/v1/nope/123"),
        "raw paths must not become labels"
    );
    assert!(reply.text.contains("guild_db_pool_connections"));
}

#[actix_web::test]
async fn a_workers_pool_is_opened_whole_at_start() {
    let app = TestApp::new().await;
    let pool = build_pool(&PoolConfig {
        url: app.db.url().to_owned(),
        max_size: 4,
        timeout: Duration::from_secs(5),
    })
    .expect("a pool");
    assert_eq!(pool.status().size, 0, "a pool opens nothing until asked");
    guild_api::server::open_every_connection(pool.clone()).await;
    let status = pool.status();
    assert_eq!((status.size, status.available), (4, 4));
}
