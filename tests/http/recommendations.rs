//! "Next for you" (`GET /v1/me/recommendations`), without a model: co-completion counts weighted
//! by shared tags, in a fixture worked out by hand, and never a module the member completed, was
//! given, or cannot see (unpublished, archived, or outside a closed catalog).

use guild_tests::{TestApp, assert_problem};
use serde_json::{Value, json};

/// A published module titled `title` with `tags`; returns its id.
async fn module(app: &TestApp, owner: &str, title: &str, tags: &[&str]) -> String {
    let (module, _) = app
        .module_with_section(
            owner,
            json!({ "title": title, "tags": tags }),
            json!({ "title": "Intro", "content_html": "<p>Hi</p>" }),
        )
        .await;
    app.publish(owner, &module).await;
    module
}

async fn set_status(app: &TestApp, owner: &str, module: &str, status: &str) {
    let uri = format!("/v1/modules/{module}");
    let etag = app.etag(&uri, owner).await;
    let moved = app
        .post(&format!("{uri}/status"), owner, json!({ "status": status }))
        .if_match(&etag)
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
}

fn titles(reply: &Value) -> Vec<String> {
    reply["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["title"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[actix_web::test]
async fn recommendations_follow_co_completions_weighted_by_shared_tags() {
    let app = TestApp::new().await;
    let owner = app.owner("recs").await;
    app.open_catalog(&owner).await;
    let ann = app.member(&owner, "ann@recs.example.com", "EMPLOYEE").await;
    let ann_id = app.me_id(&ann).await;
    let mut peers = Vec::new();
    for name in ["b1", "b2", "b3", "b4", "b5"] {
        let token = app
            .member(&owner, &format!("{name}@recs.example.com"), "EMPLOYEE")
            .await;
        peers.push(app.me_id(&token).await);
    }
    let alpha = module(&app, &owner, "Alpha", &["safety"]).await;
    let bravo = module(&app, &owner, "Bravo", &["safety", "fire"]).await;
    let charlie = module(&app, &owner, "Charlie", &["office"]).await;
    let delta = module(&app, &owner, "Delta", &["safety"]).await;
    let echo = module(&app, &owner, "Echo", &["safety"]).await;
    let foxtrot = module(&app, &owner, "Foxtrot", &["safety"]).await;
    let golf = module(&app, &owner, "Golf", &["safety"]).await;
    let hotel = module(&app, &owner, "Hotel", &["safety", "fire"]).await;

    // Nothing completed yet: no signal, nothing recommended.
    let none = app.get("/v1/me/recommendations", &ann).await;
    assert_eq!(none.status, 200, "{}", none.text);
    assert_eq!(none.json["data"], json!([]));

    let [b1, b2, b3, b4, b5] = [0, 1, 2, 3, 4].map(|i| peers[i].clone());
    for (user, modules) in [
        (&ann_id, vec![&alpha]),
        (&b1, vec![&alpha, &bravo, &charlie, &echo, &foxtrot, &hotel]),
        (&b2, vec![&alpha, &bravo, &delta]),
        (&b3, vec![&alpha, &charlie, &delta]),
        (&b4, vec![&alpha, &delta]),
        // Golf's only completer shares nothing with Ann.
        (&b5, vec![&golf]),
    ] {
        for m in modules {
            app.complete_for(&owner, user, m).await;
        }
    }
    // Echo goes back to draft, Foxtrot is archived; Hotel is assigned to Ann's group.
    set_status(&app, &owner, &echo, "DRAFT").await;
    set_status(&app, &owner, &foxtrot, "ARCHIVED").await;
    let group = app.group(&owner, "Crew", &[&ann_id]).await;
    let assigned = app
        .put(
            &format!("/v1/modules/{hotel}/groups/{group}"),
            &owner,
            json!({ "is_mandatory": false }),
        )
        .await;
    assert_eq!(assigned.status, 200, "{}", assigned.text);

    // By hand, with Ann's tags {safety}:
    //   Delta   co-completers b2, b3, b4 = 3, shared {safety}  → 3 × 2 = 6
    //   Bravo   co-completers b1, b2     = 2, shared {safety}  → 2 × 2 = 4
    //   Charlie co-completers b1, b3     = 2, shared {}        → 2 × 1 = 2
    // Alpha (completed), Echo (unpublished), Foxtrot (archived), Golf (no co-completion) and
    // Hotel (assigned) never appear.
    let got = app.get("/v1/me/recommendations", &ann).await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(titles(&got.json), ["Delta", "Bravo", "Charlie"]);
    let first = &got.json["data"][0];
    assert_eq!(first["module_id"], delta.as_str());
    assert_eq!(first["score"], 6);
    assert_eq!(first["co_completers"], 3);
    assert_eq!(
        first["because"],
        json!({ "module_id": alpha, "title": "Alpha", "members": 3 })
    );
    assert_eq!(first["shared_tags"], json!(["safety"]));
    assert_eq!(
        first["reason"],
        "Completed by 3 members who also completed Alpha; shared tags: safety"
    );
    let scores: Vec<Value> = got.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| json!([r["score"], r["co_completers"], r["shared_tags"]]))
        .collect();
    assert_eq!(
        scores,
        [
            json!([6, 3, ["safety"]]),
            json!([4, 2, ["safety"]]),
            json!([2, 2, []])
        ]
    );
    assert_eq!(
        got.json["data"][2]["reason"],
        "Completed by 2 members who also completed Alpha"
    );

    // The same answer every time, cut at `limit`; a limit out of bounds is refused.
    let two = app.get("/v1/me/recommendations?limit=2", &ann).await;
    assert_eq!(titles(&two.json), ["Delta", "Bravo"]);
    for bad in ["0", "51", "x"] {
        assert_problem(
            &app.get(&format!("/v1/me/recommendations?limit={bad}"), &ann)
                .await,
            422,
            "validation_failed",
        );
    }

    // Completing Delta takes it off the list; Bravo now leads.
    app.complete_for(&owner, &ann_id, &delta).await;
    let after = app.get("/v1/me/recommendations", &ann).await;
    assert_eq!(titles(&after.json)[0], "Bravo");
    assert!(!titles(&after.json).contains(&"Delta".to_owned()));

    // A closed catalog hides what Ann was not given: nothing is left to recommend.
    let closed = app
        .patch("/v1/tenant", &owner, json!({ "catalog_open": false }))
        .await;
    assert_eq!(closed.status, 200, "{}", closed.text);
    let hidden = app.get("/v1/me/recommendations", &ann).await;
    assert_eq!(hidden.json["data"], json!([]), "{}", hidden.text);
}

#[actix_web::test]
async fn the_demo_recommends_two_safety_modules_before_a_third_to_its_employee() {
    let app = TestApp::new().await;
    let mut conn = app.db.conn().await;
    let now = chrono::Utc::now();
    assert!(guild_tenancy::demo::seed(&mut conn, now).await.unwrap());
    assert!(
        guild_progress::recommendations::seed_demo(&mut conn, now)
            .await
            .unwrap()
    );
    assert!(
        !guild_progress::recommendations::seed_demo(&mut conn, now)
            .await
            .unwrap(),
        "seeded once"
    );
    let login = app
        .post_anonymous(
            "/v1/auth/login",
            json!({ "email": "employee@demo.guild.local", "password": guild_tenancy::demo::DEMO_PASSWORD }),
        )
        .await;
    assert_eq!(login.status, 200, "{}", login.text);
    let eve = guild_tests::access(&login.json);
    let got = app.get("/v1/me/recommendations", &eve).await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(
        titles(&got.json),
        [
            "First aid at work",
            "Working at height",
            "Ergonomics at the desk"
        ]
    );
    assert_eq!(
        got.json["data"][0]["reason"],
        "Completed by 2 members who also completed Fire safety basics; shared tags: safety"
    );
}
