//! CORS follows `GUILD_CORS_ORIGINS`.

use actix_web::http::Method;
use actix_web::test::TestRequest;
use guild_tests::TestApp;

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
    let app =
        TestApp::with(|state| state.http.cors_origins = vec!["https://app.example.com".into()])
            .await;
    let reply = app.send(preflight("https://app.example.com")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );

    let get = app
        .request(Method::GET, "/livez")
        .header("origin", "https://app.example.com")
        .to_request();
    let reply = app.send(get).await;
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
    let service =
        TestApp::with(|state| state.http.cors_origins = vec!["https://app.example.com".into()])
            .await;
    let reply = service.send(preflight("https://evil.example.net")).await;
    assert!(reply.header("access-control-allow-origin").is_none());
    assert!(reply.status >= 400, "{}", reply.status);

    let closed = TestApp::new().await;
    let reply = closed.send(preflight("https://app.example.com")).await;
    assert!(reply.header("access-control-allow-origin").is_none());
}
