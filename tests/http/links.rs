//! Links a client renders (a module's cover image, a reward's image): only `https:` URLs are
//! stored, whatever the field.

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::Method;
use guild_tests::{Reply, access, request_with, send, sign_up, world};
use serde_json::{Value, json};

async fn call<S, B>(
    app: &S,
    method: Method,
    uri: &str,
    token: &str,
    headers: &[(&str, &str)],
    body: Value,
) -> Reply
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    send(app, request_with(method, uri, token, headers, Some(body))).await
}

/// Asserts a 422 whose only field error is `field` with the `url` rule.
fn assert_refused(reply: &Reply, field: &str, link: &str) {
    assert_eq!(reply.status, 422, "{link}: {}", reply.text);
    assert_eq!(reply.json["code"], "validation_failed", "{}", reply.text);
    assert_eq!(
        reply.json["errors"],
        json!([{
            "field": field,
            "code": "url",
            "message": "must be an https:// URL of at most 2048 characters"
        }]),
        "{link}"
    );
}

const REFUSED: [&str; 5] = [
    "javascript:alert(document.cookie)",
    "data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+",
    "file:///etc/passwd",
    "http://cdn.example.com/cover.png",
    "https://cdn.example.com@evil.example/cover.png",
];

#[actix_web::test]
async fn only_https_links_are_stored_for_the_images_a_client_renders() {
    let (_w, app) = world(|_| {}).await;
    let owner = access(&sign_up(&app, "acme").await);
    let https = "https://cdn.example.com/cover.png";

    // A module's cover, on create and on update.
    for link in REFUSED {
        let body = json!({ "title": "Safety", "cover_image_url": link });
        let reply = call(&app, Method::POST, "/v1/modules", &owner, &[], body).await;
        assert_refused(&reply, "cover_image_url", link);
    }
    let body = json!({ "title": "Safety", "cover_image_url": https });
    let module = call(&app, Method::POST, "/v1/modules", &owner, &[], body).await;
    assert_eq!(module.status, 201, "{}", module.text);
    assert_eq!(module.json["cover_image_url"], https);
    let uri = format!(
        "/v1/modules/{}",
        module.json["id"].as_str().unwrap_or_default()
    );
    let etag = module.header("etag").unwrap_or_default().to_owned();
    for link in REFUSED {
        let body = json!({ "cover_image_url": link });
        let reply = call(
            &app,
            Method::PATCH,
            &uri,
            &owner,
            &[("if-match", &etag)],
            body,
        )
        .await;
        assert_refused(&reply, "cover_image_url", link);
    }

    // A reward's image, on create and on update.
    for link in REFUSED {
        let body = json!({ "title": "Mug", "cost_xp": 10, "image_url": link });
        let reply = call(&app, Method::POST, "/v1/rewards", &owner, &[], body).await;
        assert_refused(&reply, "image_url", link);
    }
    let body = json!({ "title": "Mug", "cost_xp": 10, "image_url": https });
    let reward = call(&app, Method::POST, "/v1/rewards", &owner, &[], body).await;
    assert_eq!(reward.status, 201, "{}", reward.text);
    assert_eq!(reward.json["image_url"], https);
    let uri = format!(
        "/v1/rewards/{}",
        reward.json["id"].as_str().unwrap_or_default()
    );
    for link in REFUSED {
        let body = json!({ "image_url": link });
        let reply = call(&app, Method::PATCH, &uri, &owner, &[], body).await;
        assert_refused(&reply, "image_url", link);
    }

    // Nothing refused was stored.
    let modules = send(
        &app,
        guild_tests::json_request(Method::GET, "/v1/modules", Some(&owner), None),
    )
    .await;
    assert_eq!(modules.json["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(modules.json["data"][0]["cover_image_url"], https);
    let rewards = send(
        &app,
        guild_tests::json_request(Method::GET, "/v1/rewards", Some(&owner), None),
    )
    .await;
    assert_eq!(
        rewards.json["data"][0]["image_url"], https,
        "{}",
        rewards.text
    );
}
