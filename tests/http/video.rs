//! Video progress through the API: the watched share is the union of what was played, a VIDEO
//! section completes only past the tenant's share, and reports are bounded.

use actix_web::http::Method;
use guild_tests::{TestApp, assert_problem, id};
use serde_json::{Value, json};

/// A published module whose only section is a VIDEO; returns the module and the section.
async fn video_module(app: &TestApp, owner: &str) -> (String, String) {
    let (module, section) = app
        .module_with_section(
            owner,
            json!({ "title": "Forklift basics" }),
            json!({ "title": "Clip", "kind": "VIDEO", "video": {
                "source": "YOUTUBE_VIMEO_URL", "reference": "https://www.youtube.com/watch?v=dQw4w9WgXcQ" } }),
        )
        .await;
    app.publish(owner, &module).await;
    app.open_catalog(owner).await;
    (module, section)
}

fn report(intervals: Value, position: f64) -> Value {
    let mut body = json!({ "position": position, "duration": 100.0 });
    body["intervals"] = intervals;
    body
}

#[actix_web::test]
async fn skipped_video_does_not_count_toward_completion_and_overlaps_count_once() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let (module, section) = video_module(&app, &owner).await;
    let uri = format!("/v1/sections/{section}/video-progress");
    let complete = format!("/v1/modules/{module}/sections/{section}/complete");

    let none = app.get(&uri, &ann).await;
    assert_eq!(none.status, 200, "{}", none.text);
    assert_eq!(none.json, Value::Null);

    // Played 0–30 and 10–40, then jumped to 90 and played to the end: 50 of 100 s.
    let first = app
        .post(&uri, &ann, report(json!([[0.0, 30.0], [10.0, 40.0]]), 40.0))
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    let jumped = app
        .post(&uri, &ann, report(json!([[90.0, 100.0]]), 100.0))
        .await;
    assert_eq!(jumped.status, 200, "{}", jumped.text);
    assert_eq!(jumped.json["watched"], json!([[0.0, 40.0], [90.0, 100.0]]));
    assert_eq!(jumped.json["watched_percent"], 50);
    assert_eq!(jumped.json["position_seconds"], 100.0);
    assert_eq!(jumped.json["required_percent"], 90);

    let refused = app.call(Method::POST, &complete, &ann, None).await;
    assert_problem(&refused, 409, "video_not_watched");

    // A shorter duration does not make the share larger: the longest one reported stays.
    let shrunk = app
        .post(
            &uri,
            &ann,
            json!({ "intervals": [], "position": 10.0, "duration": 50.0 }),
        )
        .await;
    assert_eq!(shrunk.status, 200, "{}", shrunk.text);
    assert_eq!(shrunk.json["duration_seconds"], 100.0);
    assert_eq!(shrunk.json["watched_percent"], 50);
    assert_eq!(shrunk.json["position_seconds"], 10.0);

    // Watching the skipped part too reaches the share.
    let rest = app
        .post(&uri, &ann, report(json!([[40.0, 90.0]]), 90.0))
        .await;
    assert_eq!(rest.json["watched_percent"], 100, "{}", rest.text);
    let done = app.call(Method::POST, &complete, &ann, None).await;
    assert_eq!(done.status, 200, "{}", done.text);
    let read = app.get(&uri, &ann).await;
    assert_eq!(read.json["position_seconds"], 90.0);
}

#[actix_web::test]
async fn the_tenant_sets_the_share_and_zero_turns_the_rule_off() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let (module, section) = video_module(&app, &owner).await;
    let uri = format!("/v1/sections/{section}/video-progress");
    let complete = format!("/v1/modules/{module}/sections/{section}/complete");

    let half = app
        .patch(
            "/v1/tenant",
            &owner,
            json!({ "video_completion_percent": 50 }),
        )
        .await;
    assert_eq!(half.status, 200, "{}", half.text);
    assert_eq!(half.json["video_completion_percent"], 50);
    let bad = app
        .patch(
            "/v1/tenant",
            &owner,
            json!({ "video_completion_percent": 101 }),
        )
        .await;
    assert_problem(&bad, 422, "validation_failed");

    app.post(&uri, &ann, report(json!([[0.0, 49.0]]), 49.0))
        .await;
    assert_problem(
        &app.call(Method::POST, &complete, &ann, None).await,
        409,
        "video_not_watched",
    );
    app.post(&uri, &ann, report(json!([[49.0, 50.0]]), 50.0))
        .await;
    assert_eq!(
        app.call(Method::POST, &complete, &ann, None).await.status,
        200
    );

    // Without the rule, a video completes unwatched.
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let off = app
        .patch(
            "/v1/tenant",
            &owner,
            json!({ "video_completion_percent": 0 }),
        )
        .await;
    assert_eq!(off.status, 200, "{}", off.text);
    assert_eq!(
        app.call(Method::POST, &complete, &bob, None).await.status,
        200
    );
}

#[actix_web::test]
async fn reports_are_bounded_and_stay_in_their_tenant() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let (module, section) = video_module(&app, &owner).await;
    let uri = format!("/v1/sections/{section}/video-progress");

    for body in [
        report(json!([[10.0, 5.0]]), 5.0),
        report(json!([[-1.0, 5.0]]), 5.0),
        report(json!([[0.0, 101.0]]), 5.0),
        report(json!([]), 150.0),
        json!({ "intervals": [], "position": 0.0, "duration": 0.0 }),
        json!({ "intervals": [], "position": 0.0, "duration": 10.0, "watched_percent": 100 }),
    ] {
        let reply = app.post(&uri, &ann, body.clone()).await;
        assert_problem(&reply, 422, "validation_failed");
    }
    // An interval is a pair: anything else is not the body's shape.
    let triple = app
        .post(
            &uri,
            &ann,
            json!({ "intervals": [[0.0, 1.0, 2.0]], "position": 0.0, "duration": 10.0 }),
        )
        .await;
    assert_problem(&triple, 400, "malformed_json");
    let too_many: Vec<Value> = (0..201)
        .map(|i| json!([f64::from(i) * 0.1, f64::from(i) * 0.1 + 0.05]))
        .collect();
    assert_problem(
        &app.post(&uri, &ann, report(Value::Array(too_many), 1.0))
            .await,
        422,
        "validation_failed",
    );

    // A section that is not a video records nothing.
    let text = app
        .post(
            &format!("/v1/modules/{module}/sections"),
            &owner,
            json!({ "title": "Notes", "content_html": "<p>Hi</p>" }),
        )
        .await;
    assert_eq!(text.status, 201, "{}", text.text);
    let text = id(&text.json);
    assert_problem(
        &app.post(
            &format!("/v1/sections/{text}/video-progress"),
            &ann,
            report(json!([]), 0.0),
        )
        .await,
        422,
        "validation_failed",
    );

    let stranger = app.owner("globex").await;
    assert_problem(
        &app.post(&uri, &stranger, report(json!([[0.0, 10.0]]), 10.0))
            .await,
        404,
        "section_not_found",
    );
    assert_problem(&app.get(&uri, &stranger).await, 404, "section_not_found");
}
