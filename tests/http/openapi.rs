//! The published contract: served, browsable offline, and identical to the committed file.

use actix_web::test::TestRequest;
use guild_api::openapi::spec_json;
use guild_tests::{app, send};

#[test]
fn the_committed_spec_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../api-spec/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == spec_json(),
        "api-spec/openapi.json is out of date with the code: run `make spec` and commit it"
    );
}

#[actix_web::test]
async fn the_spec_is_served_as_openapi_3_1() {
    let (_db, app) = app().await;
    let reply = send(
        &app,
        TestRequest::get().uri("/v1/openapi.json").to_request(),
    )
    .await;
    assert_eq!(reply.status, 200);
    let spec = reply.json;
    assert_eq!(spec["openapi"], "3.1.0");
    assert_eq!(
        spec["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert_eq!(
        spec["components"]["securitySchemes"]["bearer"]["bearerFormat"],
        "JWT"
    );
    assert!(spec["components"]["schemas"]["Problem"].is_object());
    let served: serde_json::Value = serde_json::from_str(&spec_json()).unwrap_or_default();
    assert_eq!(spec, served);
}

#[test]
fn every_operation_is_fully_described() {
    let spec: serde_json::Value = serde_json::from_str(&spec_json()).unwrap_or_default();
    let paths = spec["paths"].as_object().cloned().unwrap_or_default();
    assert!(!paths.is_empty());
    let mut ids = Vec::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().cloned().unwrap_or_default() {
            let at = format!("{method} {path}");
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{at}: no operationId"));
            ids.push(id.to_owned());
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{at}: no tag"
            );
            assert!(
                op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{at}: no summary"
            );
            assert!(
                op["security"].is_array() || spec["security"].is_array(),
                "{at}: no security"
            );
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{at}: no responses"
            );
            let public = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r == &serde_json::json!({})));
            if !public {
                assert!(
                    op["responses"]["401"].is_object(),
                    "{at}: authenticated but no 401 response"
                );
            }
        }
    }
    let before = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), before, "operationIds must be unique");
}

#[actix_web::test]
async fn swagger_ui_is_served_without_network_access() {
    let (_db, app) = app().await;
    let redirect = send(&app, TestRequest::get().uri("/docs").to_request()).await;
    assert!((300..400).contains(&redirect.status));
    assert_eq!(redirect.header("location"), Some("/docs/"));

    let page = send(&app, TestRequest::get().uri("/docs/").to_request()).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("swagger-ui"), "{}", page.text);
    assert!(
        !page.text.contains("https://"),
        "the page loads assets from the internet"
    );

    let init = send(
        &app,
        TestRequest::get()
            .uri("/docs/swagger-initializer.js")
            .to_request(),
    )
    .await;
    assert_eq!(init.status, 200);
    assert!(init.text.contains("/v1/openapi.json"), "{}", init.text);
    let bundle = send(
        &app,
        TestRequest::get()
            .uri("/docs/swagger-ui-bundle.js")
            .to_request(),
    )
    .await;
    assert_eq!(bundle.status, 200);
    assert!(bundle.text.len() > 100_000, "the bundle is not vendored");
}
