//! The demo `make run` seeds: after it, the demo admin's manager dashboard and every analytics
//! view have something to show, and the at-risk member is at risk for the reasons the demo's
//! history gives him.

use guild_tests::{TestApp, access};
use serde_json::{Value, json};

/// The entry of `list` named `name`.
fn named<'a>(list: &'a Value, name: &str) -> Option<&'a Value> {
    list.as_array()?.iter().find(|m| m["name"] == name)
}

#[actix_web::test]
async fn after_the_demo_seed_the_dashboard_and_every_analytics_view_show_its_history() {
    let app = TestApp::new().await;
    let now = chrono::Utc::now();
    {
        let mut conn = app.db.conn().await;
        let keys = guild_kernel::sealed::Keyring::development();
        let seeded = guild_api::server::seed_demo_with(&mut conn, &keys, now)
            .await
            .expect("the demo seeds");
        assert!(seeded.is_some(), "a new demo tenant");
    }
    let login = app
        .post_anonymous(
            "/v1/auth/login",
            json!({ "email": "admin@demo.guild.local", "password": guild_tenancy::demo::DEMO_PASSWORD }),
        )
        .await;
    assert_eq!(login.status, 200, "{}", login.text);
    let admin = access(&login.json);

    // The dashboard, over the default 30 days.
    let dash = app.get("/v1/manager-dashboard", &admin).await;
    assert_eq!(dash.status, 200, "{}", dash.text);
    let d = &dash.json;
    let noah = named(&d["at_risk"], "Noah Horvat").expect("Noah is at risk");
    let kinds: Vec<&str> = noah["reasons"]
        .as_array()
        .map(|r| r.iter().filter_map(|r| r["kind"].as_str()).collect())
        .unwrap_or_default();
    for kind in ["OVERDUE_MANDATORY", "REPEATED_FAILED_ATTEMPTS", "INACTIVE"] {
        assert!(kinds.contains(&kind), "{kind}: {noah}");
    }
    assert!(
        d["at_risk"]
            .as_array()
            .is_some_and(|all| all.iter().any(|m| m["reasons"]
                .as_array()
                .is_some_and(|r| r.iter().any(|r| r["kind"] == "CERTIFICATE_EXPIRING")))),
        "a certificate about to expire: {}",
        d["at_risk"]
    );
    let mia = named(&d["engagement"], "Mia Kovač").expect("Mia's engagement");
    assert!(mia["score"].as_i64() > Some(0), "{mia}");
    assert!(mia["active_days"].as_i64() > Some(1), "{mia}");
    let cells = d["heatmap"]["cells"].as_array().expect("cells");
    assert!(
        cells.iter().any(|c| c["completed"].as_i64() > Some(0)),
        "{cells:?}"
    );
    assert!(
        cells.iter().any(|c| c["overdue"].as_i64() > Some(0)),
        "{cells:?}"
    );
    assert!(
        d["top_performers"]
            .as_array()
            .is_some_and(|t| !t.is_empty()),
        "{}",
        d["top_performers"]
    );
    assert!(
        d["completions_per_week"]
            .as_array()
            .is_some_and(|w| w.iter().any(|w| w["completions"].as_i64() > Some(0))),
        "{}",
        d["completions_per_week"]
    );

    // Analytics over the last six weeks.
    let from = (now - chrono::Duration::days(42)).format("%Y-%m-%dT%H:%M:%SZ");
    let period = format!("from={from}");
    let activity = app
        .get(&format!("/v1/analytics/activity?{period}"), &admin)
        .await;
    assert_eq!(activity.status, 200, "{}", activity.text);
    assert!(
        activity.json["active_members"].as_i64() >= Some(6),
        "{}",
        activity.text
    );
    let busy_days = activity.json["buckets"].as_array().map_or(0, |b| {
        b.iter()
            .filter(|b| b["active_members"].as_i64() > Some(0))
            .count()
    });
    assert!(busy_days >= 20, "sessions on varied days: {busy_days}");
    let completions = app
        .get(&format!("/v1/analytics/completions?{period}"), &admin)
        .await;
    assert_eq!(completions.status, 200, "{}", completions.text);
    assert!(
        completions.json["completions"].as_i64() >= Some(10),
        "{}",
        completions.text
    );

    let modules = app.get("/v1/modules?limit=50", &admin).await;
    let fire = modules.json["data"]
        .as_array()
        .and_then(|all| {
            all.iter()
                .find(|m| m["title"] == "Evacuation and fire safety")
        })
        .expect("the fire safety module");
    let fire = fire["id"].as_str().expect("an id");
    let funnel = app
        .get(
            &format!("/v1/analytics/modules/{fire}/funnel?{period}"),
            &admin,
        )
        .await;
    assert_eq!(funnel.status, 200, "{}", funnel.text);
    let f = &funnel.json;
    assert!(f["completed"].as_i64() >= Some(5), "{f}");
    assert!(f["started"].as_i64() > f["completed"].as_i64(), "{f}");
    assert!(f["median_seconds_to_complete"].as_i64() > Some(0), "{f}");

    let quizzes = app
        .get(&format!("/v1/modules/{fire}/quizzes"), &admin)
        .await;
    let quiz = quizzes.json["data"][0]["id"]
        .as_str()
        .expect("the demo quiz");
    let items = app
        .get(
            &format!("/v1/analytics/quizzes/{quiz}/items?{period}"),
            &admin,
        )
        .await;
    assert_eq!(items.status, 200, "{}", items.text);
    assert!(
        items.json["attempts"].as_i64() >= Some(10),
        "{}",
        items.text
    );
    let distractors = items.json["items"].as_array().map_or(0, |items| {
        items
            .iter()
            .flat_map(|i| i["options"].as_array().cloned().unwrap_or_default())
            .filter(|o| o["correct"] == false && o["chosen"].as_i64() > Some(0))
            .count()
    });
    assert!(distractors > 0, "wrong options were chosen: {}", items.text);

    let events = app.get("/v1/analytics/events", &admin).await;
    assert_eq!(events.status, 200, "{}", events.text);
    let briefing = events.json["events"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["title"] == "Fire drill briefing"))
        .expect("the briefing held ten days ago");
    assert_eq!(briefing["registered"], 4, "{briefing}");
    assert_eq!(briefing["attended"], 3, "{briefing}");

    let xp = app.get(&format!("/v1/analytics/xp?{period}"), &admin).await;
    assert_eq!(xp.status, 200, "{}", xp.text);
    assert!(xp.json["earned"].as_i64() > Some(0), "{}", xp.text);
    assert_eq!(
        xp.json["earned"].as_i64(),
        xp.json["balance_now"].as_i64(),
        "every XP was earned in the period and none spent: {}",
        xp.text
    );
}
