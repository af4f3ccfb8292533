//! Every error is a problem+json body with a stable code and the request id.

use actix_web::http::Method;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, test, web};
use guild_api::ApiError;
use guild_api::extract::ValidJson;
use guild_tests::{TestApp, assert_problem};
use serde::Deserialize;
use validator::Validate;

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
struct NewThing {
    #[validate(length(min = 1, max = 20, message = "must be 1 to 20 characters"))]
    title: String,
    #[validate(range(min = 1, max = 10))]
    count: u32,
}

async fn create_thing(body: ValidJson<NewThing>) -> HttpResponse {
    let thing = body.into_inner();
    HttpResponse::Created().json(serde_json::json!({ "title": thing.title, "count": thing.count }))
}

async fn explode() -> Result<HttpResponse, ApiError> {
    Err(ApiError::internal(
        "password=hunter2 leaked from the driver",
    ))
}

/// The app with test routes that take a validated body or fail, and a 2 KiB JSON limit.
async fn things() -> TestApp {
    TestApp::with_routes(
        |state| state.http.json_limit = 2048,
        |cfg| {
            cfg.route("/_test/things", web::post().to(create_thing))
                .route("/_test/explode", web::get().to(explode));
        },
    )
    .await
}

fn post_json(body: &str) -> test::TestRequest {
    test::TestRequest::post()
        .uri("/_test/things")
        .insert_header(("content-type", "application/json"))
        .set_payload(body.to_owned())
}

#[actix_web::test]
async fn a_valid_body_passes_through() {
    let app = things().await;
    let reply = app
        .send(post_json(r#"{"title": "ok", "count": 3}"#).to_request())
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.json["count"], 3);
}

#[actix_web::test]
async fn an_unknown_route_is_a_404_problem() {
    let app = TestApp::new().await;
    let reply = app.request(Method::GET, "/v1/nothing-here").await;
    assert_problem(&reply, 404, "route_not_found");
    assert!(
        reply.json["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("/v1/nothing-here")
    );

    let outside = app.request(Method::GET, "/nope").await;
    assert_problem(&outside, 404, "route_not_found");
}

#[actix_web::test]
async fn a_known_route_with_the_wrong_method_is_a_405_with_allow() {
    let app = TestApp::new().await;
    let reply = app.request(Method::DELETE, "/readyz").await;
    assert_problem(&reply, 405, "method_not_allowed");
    assert_eq!(reply.header("allow"), Some("GET"));
}

#[actix_web::test]
async fn malformed_json_is_a_400_problem() {
    let app = things().await;
    for body in [r#"{"title": "ok", "count": 3"#, "", "not json"] {
        let reply = app.send(post_json(body).to_request()).await;
        assert_problem(&reply, 400, "malformed_json");
    }
}

#[actix_web::test]
async fn a_body_over_the_limit_is_a_413_problem() {
    let app = things().await;
    let big = format!(r#"{{"title": "{}", "count": 1}}"#, "x".repeat(4096));
    let reply = app.send(post_json(&big).to_request()).await;
    assert_problem(&reply, 413, "payload_too_large");
}

#[actix_web::test]
async fn a_body_that_is_not_json_is_a_415_problem() {
    let app = things().await;
    let req = test::TestRequest::post()
        .uri("/_test/things")
        .insert_header(("content-type", "text/plain"))
        .set_payload(r#"{"title": "ok", "count": 3}"#)
        .to_request();
    let reply = app.send(req).await;
    assert_problem(&reply, 415, "unsupported_media_type");

    let no_type = test::TestRequest::post()
        .uri("/_test/things")
        .set_payload(r#"{"title": "ok", "count": 3}"#)
        .to_request();
    assert_problem(&app.send(no_type).await, 415, "unsupported_media_type");
}

#[actix_web::test]
async fn invalid_fields_are_a_422_problem_listing_each_field() {
    let app = things().await;
    let reply = app
        .send(post_json(r#"{"title": "", "count": 99}"#).to_request())
        .await;
    assert_problem(&reply, 422, "validation_failed");
    let errors = reply.json["errors"].as_array().cloned().unwrap_or_default();
    let fields: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap_or(""),
                e["code"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(fields, [("count", "range"), ("title", "length")]);
    assert_eq!(errors[1]["message"], "must be 1 to 20 characters");
}

#[actix_web::test]
async fn fields_a_client_may_not_set_are_refused_not_ignored() {
    let app = things().await;
    let reply = app
        .send(post_json(r#"{"title": "ok", "count": 1, "tenant_id": "someone-else"}"#).to_request())
        .await;
    assert_problem(&reply, 422, "validation_failed");
    assert_eq!(reply.json["errors"][0]["field"], "tenant_id");
    assert_eq!(reply.json["errors"][0]["code"], "unknown_field");

    let wrong_type = app
        .send(post_json(r#"{"title": "ok", "count": "three"}"#).to_request())
        .await;
    assert_problem(&wrong_type, 422, "validation_failed");
    assert_eq!(wrong_type.json["errors"][0]["field"], "count");
    assert_eq!(wrong_type.json["errors"][0]["code"], "invalid_type");
}

#[actix_web::test]
async fn a_server_error_shows_only_its_code_and_request_id() {
    let app = things().await;
    let reply = app.request(Method::GET, "/_test/explode").await;
    assert_problem(&reply, 500, "internal_error");
    assert!(
        !reply.text.contains("hunter2"),
        "internal detail leaked: {}",
        reply.text
    );
    assert!(reply.json.get("detail").is_none());
}

#[actix_web::test]
async fn a_client_request_id_is_echoed_and_a_bad_one_replaced() {
    let app = TestApp::new().await;
    let req = app
        .request(Method::GET, "/v1/missing")
        .header("x-request-id", "lb-7f3a.42")
        .to_request();
    let reply = app.send(req).await;
    assert_eq!(reply.header("x-request-id"), Some("lb-7f3a.42"));
    assert_eq!(reply.json["request_id"], "lb-7f3a.42");

    let req = app
        .request(Method::GET, "/livez")
        .header("x-request-id", "has spaces and {braces}")
        .to_request();
    let reply = app.send(req).await;
    let generated = reply.header("x-request-id").unwrap_or_default();
    assert_eq!(generated.len(), 36, "expected a UUID, got {generated:?}");

    let reply = app.request(Method::GET, "/livez").await;
    assert_eq!(reply.status, StatusCode::OK.as_u16());
    assert!(reply.header("x-request-id").is_some());
}
