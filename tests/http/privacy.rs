//! A member's personal data export: their records and nobody else's, without secrets or their
//! coach's private notes, for them alone.

use actix_web::http::Method;
use guild_tests::{TestApp, assert_problem, id};
use serde_json::{Value, json};

/// Runs `token`'s export to its end and answers the file, parsed.
async fn export(app: &TestApp, token: &str) -> Value {
    let started = app
        .post("/v1/me/data-export", token, json!({}))
        .idempotency_key("export-1")
        .await;
    assert_eq!(started.status, 202, "{}", started.text);
    let job = id(&started.json);
    app.run_worker().await;
    let done = app.get(&format!("/v1/jobs/{job}"), token).await;
    assert_eq!(done.json["state"], "SUCCEEDED", "{}", done.text);
    assert_eq!(done.json["result"]["file_name"], "personal-data.json");
    let link = app.get(&format!("/v1/jobs/{job}/result"), token).await;
    assert_eq!(link.status, 200, "{}", link.text);
    let url = link.json["url"].as_str().unwrap_or_default();
    let path = url.strip_prefix("http://localhost:8080").unwrap_or(url);
    let file = app.request(Method::GET, path).await;
    assert_eq!(file.status, 200, "{}", file.text);
    serde_json::from_slice(&file.body).expect("a JSON document")
}

#[actix_web::test]
async fn a_member_exports_their_own_records_and_nobody_else_s() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let owner_id = app.me_id(&owner).await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let ann_id = app.me_id(&ann).await;
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let bob_id = app.me_id(&bob).await;
    let (module, section) = app
        .module_with_section(
            &owner,
            json!({ "title": "Fire safety" }),
            json!({ "title": "Exits" }),
        )
        .await;
    app.publish(&owner, &module).await;
    app.open_catalog(&owner).await;
    for token in [&ann, &bob] {
        let done = app
            .post(
                &format!("/v1/modules/{module}/sections/{section}/complete"),
                token,
                json!({}),
            )
            .await;
        assert_eq!(done.status, 200, "{}", done.text);
    }
    // Ann's coach (her manager) keeps private notes on a session with her.
    let managed = app
        .put(
            &format!("/v1/members/{ann_id}/manager"),
            &owner,
            json!({ "manager_id": owner_id }),
        )
        .await;
    assert_eq!(managed.status, 200, "{}", managed.text);
    let at = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let session = app
        .post(
            "/v1/coaching/sessions",
            &owner,
            json!({ "coachee_id": ann_id, "scheduled_at": at, "duration_minutes": 30,
                    "agenda": "Shared agenda" }),
        )
        .await;
    assert_eq!(session.status, 201, "{}", session.text);
    let notes = app
        .put(
            &format!("/v1/coaching/sessions/{}/private-notes", id(&session.json)),
            &owner,
            json!({ "private_notes": "coach-only remark" }),
        )
        .await;
    assert!(notes.status == 200 || notes.status == 204, "{}", notes.text);
    app.run_worker().await;

    let doc = export(&app, &ann).await;
    assert_eq!(doc["format"], "guild.personal-data/1");
    assert_eq!(doc["account"]["id"], ann_id.as_str());
    assert_eq!(doc["account"]["email"], "ann@acme.example.com");
    assert!(
        doc["account"].get("password_hash").is_none(),
        "{}",
        doc["account"]
    );
    let sections = &doc["sections"];
    let completions = sections["module_completions"]
        .as_array()
        .expect("a section");
    assert_eq!(completions.len(), 1);
    assert_eq!(completions[0]["module_id"], module.as_str());
    assert!(completions[0].get("tenant_id").is_none());
    assert!(
        !sections["xp_transactions"]
            .as_array()
            .expect("xp")
            .is_empty()
    );
    assert!(
        !sections["notifications"]
            .as_array()
            .expect("inbox")
            .is_empty()
    );
    let coaching = sections["coaching_sessions"].as_array().expect("sessions");
    assert_eq!(coaching.len(), 1);
    assert_eq!(coaching[0]["agenda"], "Shared agenda");
    assert!(coaching[0].get("private_notes_sealed").is_none());
    let text = doc.to_string();
    assert!(!text.contains(&bob_id), "nothing of Bob's");
    assert!(!text.contains("bob@acme.example.com"));
    assert!(!text.contains("coach-only remark"));
    assert!(
        doc["records"].as_u64().unwrap_or(0) >= 4,
        "{}",
        doc["records"]
    );

    // Bob's own export is his: his completion, not Ann's.
    let theirs = export(&app, &bob).await;
    assert_eq!(theirs["account"]["id"], bob_id.as_str());
    assert!(!theirs.to_string().contains(&ann_id));

    // Nobody reads another member's export, and a key must act as a member.
    let started = app
        .post("/v1/me/data-export", &ann, json!({}))
        .idempotency_key("export-2")
        .await;
    let job = id(&started.json);
    assert_problem(
        &app.get(&format!("/v1/jobs/{job}"), &bob).await,
        404,
        "job_not_found",
    );
    let (_, key) = app
        .api_key(
            &owner,
            json!({ "name": "hr sync", "permissions": ["MANAGE_USERS"] }),
        )
        .await;
    assert_problem(
        &app.post("/v1/me/data-export", &key, json!({}))
            .idempotency_key("export-3")
            .await,
        403,
        "api_key_not_permitted",
    );
}
