//! Links a client renders (a module's cover image, a reward's image): only `https:` URLs are
//! stored, whatever the field.

use guild_tests::{Reply, TestApp};
use serde_json::json;

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
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let https = "https://cdn.example.com/cover.png";

    // A module's cover, on create and on update.
    for link in REFUSED {
        let body = json!({ "title": "Safety", "cover_image_url": link });
        let reply = app.post("/v1/modules", &owner, body).await;
        assert_refused(&reply, "cover_image_url", link);
    }
    let body = json!({ "title": "Safety", "cover_image_url": https });
    let module = app.post("/v1/modules", &owner, body).await;
    assert_eq!(module.status, 201, "{}", module.text);
    assert_eq!(module.json["cover_image_url"], https);
    let uri = format!(
        "/v1/modules/{}",
        module.json["id"].as_str().unwrap_or_default()
    );
    let etag = module.header("etag").unwrap_or_default().to_owned();
    for link in REFUSED {
        let body = json!({ "cover_image_url": link });
        let reply = app.patch(&uri, &owner, body).if_match(&etag).await;
        assert_refused(&reply, "cover_image_url", link);
    }

    // A reward's image, on create and on update.
    for link in REFUSED {
        let body = json!({ "title": "Mug", "cost_xp": 10, "image_url": link });
        let reply = app.post("/v1/rewards", &owner, body).await;
        assert_refused(&reply, "image_url", link);
    }
    let body = json!({ "title": "Mug", "cost_xp": 10, "image_url": https });
    let reward = app.post("/v1/rewards", &owner, body).await;
    assert_eq!(reward.status, 201, "{}", reward.text);
    assert_eq!(reward.json["image_url"], https);
    let uri = format!(
        "/v1/rewards/{}",
        reward.json["id"].as_str().unwrap_or_default()
    );
    for link in REFUSED {
        let body = json!({ "image_url": link });
        let reply = app.patch(&uri, &owner, body).await;
        assert_refused(&reply, "image_url", link);
    }

    // Nothing refused was stored.
    let modules = app.get("/v1/modules", &owner).await;
    assert_eq!(modules.json["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(modules.json["data"][0]["cover_image_url"], https);
    let rewards = app.get("/v1/rewards", &owner).await;
    assert_eq!(
        rewards.json["data"][0]["image_url"], https,
        "{}",
        rewards.text
    );
}
