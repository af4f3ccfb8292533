//! CORS follows `GUILD_CORS_ORIGINS`.

use actix_web::test::TestRequest;
use guild_tests::{app, app_with, send};

fn preflight(origin: &str) -> actix_http::Request {
    TestRequest::default()
        .method(actix_web::http::Method::OPTIONS)
        .uri("/readyz")
        .insert_header(("origin", origin))
        .insert_header(("access-control-request-method", "GET"))
        .to_request()
}

#[actix_web::test]
async fn an_allowed_origin_may_call_the_api_from_a_browser() {
    let (_db, app) = app_with(
        |state| state.http.cors_origins = vec!["https://app.example.com".into()],
        |_| {},
    )
    .await;
    let reply = send(&app, preflight("https://app.example.com")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );

    let get = TestRequest::get()
        .uri("/livez")
        .insert_header(("origin", "https://app.example.com"))
        .to_request();
    let reply = send(&app, get).await;
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    let exposed = reply
        .header("access-control-expose-headers")
        .unwrap_or_default();
    assert!(exposed.contains("x-request-id"), "{exposed}");
}

#[actix_web::test]
async fn other_origins_get_no_cors_grant() {
    let (_db, service) = app_with(
        |state| state.http.cors_origins = vec!["https://app.example.com".into()],
        |_| {},
    )
    .await;
    let reply = send(&service, preflight("https://evil.example.net")).await;
    assert!(reply.header("access-control-allow-origin").is_none());
    assert!(reply.status >= 400, "{}", reply.status);

    let (_db, closed) = app().await;
    let reply = send(&closed, preflight("https://app.example.com")).await;
    assert!(reply.header("access-control-allow-origin").is_none());
}
