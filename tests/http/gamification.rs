//! Gamification over HTTP: XP from a completed module through the worker, redelivered events,
//! the explained ledger, manual XP, the reward shop and its review flow, leaderboards (periods,
//! groups, anonymity, own position) and the settings.

use actix_web::http::Method;
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use guild_tests::{Reply, TestApp, access, assert_problem, count, id};
use serde_json::{Value, json};

async fn redeem(app: &TestApp, token: &str, reward: &str, key: &str) -> Reply {
    app.request(Method::POST, &format!("/v1/rewards/{reward}/redemptions"))
        .token(token)
        .idempotency_key(key)
        .await
}

async fn adjust(app: &TestApp, owner: &str, user: &str, amount: i32) -> Reply {
    static KEYS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let key = format!(
        "adjust-{}",
        KEYS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    app.post(
        "/v1/xp/adjustments",
        owner,
        json!({ "user_id": user, "amount": amount, "reason": "test" }),
    )
    .idempotency_key(&key)
    .await
}

#[actix_web::test]
async fn completing_a_module_earns_xp_once_through_the_worker() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    app.open_catalog(&owner).await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;

    let module = app
        .post("/v1/modules", &owner, json!({ "title": "Fire safety" }))
        .await;
    assert_eq!(module.status, 201, "{}", module.text);
    let module = id(&module.json);
    let section = app
        .post(
            &format!("/v1/modules/{module}/sections"),
            &owner,
            json!({ "title": "Exits", "content_html": "<p>Read me</p>" }),
        )
        .await;
    let section = id(&section.json);
    app.publish(&owner, &module).await;

    let done = app
        .post(
            &format!("/v1/modules/{module}/sections/{section}/complete"),
            &ann,
            json!({}),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    let before = app.get("/v1/me/xp", &ann).await;
    assert_eq!(before.json["total_xp"], 0, "{}", before.text);

    app.run_worker().await;
    let xp = app.get("/v1/me/xp", &ann).await;
    assert_eq!(xp.status, 200, "{}", xp.text);
    assert_eq!(xp.json["total_xp"], 100, "{}", xp.text);
    assert_eq!(xp.json["lifetime_xp"], 100);
    assert_eq!(xp.json["rank"], "VAJENEC");
    assert_eq!(xp.json["next_rank"], "POMOCNIK");
    assert_eq!(xp.json["next_rank_xp"], 1500);

    // The same event delivered again awards nothing.
    let copy = "INSERT INTO outbox_events (id, tenant_id, kind, payload) \
                SELECT gen_random_uuid(), tenant_id, kind, payload FROM outbox_events \
                WHERE kind = 'learning.module_completed'";
    diesel::sql_query(copy)
        .execute(&mut app.db.conn().await)
        .await
        .unwrap();
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM outbox_events WHERE kind = 'learning.module_completed'"
        )
        .await,
        2
    );
    app.run_worker().await;
    let xp = app.get("/v1/me/xp", &ann).await;
    assert_eq!(xp.json["total_xp"], 100, "{}", xp.text);
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM xp_transactions").await,
        1
    );

    let ledger = app.get("/v1/me/xp/transactions", &ann).await;
    assert_eq!(ledger.status, 200, "{}", ledger.text);
    assert_eq!(
        ledger.json["data"][0]["description"],
        "Completed module “Fire safety”"
    );
    assert_eq!(ledger.json["data"][0]["amount"], 100);
}

#[actix_web::test]
async fn the_reward_shop_spends_holds_approves_rejects_and_cancels() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let ann_id = app.me_id(&ann).await;

    // Members cannot manage the shop or give XP.
    let refused = app
        .post(
            "/v1/rewards",
            &ann,
            json!({ "title": "Mug", "cost_xp": 10 }),
        )
        .await;
    assert_problem(&refused, 403, "forbidden");
    assert_problem(&adjust(&app, &ann, &ann_id, 10).await, 403, "forbidden");
    let invalid = app
        .post(
            "/v1/rewards",
            &owner,
            json!({ "title": "Mug", "cost_xp": 0 }),
        )
        .await;
    assert_eq!(invalid.status, 422, "{}", invalid.text);

    assert_eq!(adjust(&app, &owner, &ann_id, 500).await.status, 200);
    assert_problem(
        &adjust(&app, &owner, &ann_id, -600).await,
        409,
        "insufficient_xp",
    );

    let mug = app
        .post(
            "/v1/rewards",
            &owner,
            json!({ "title": "Mug", "cost_xp": 100, "stock": 2 }),
        )
        .await;
    assert_eq!(mug.status, 201, "{}", mug.text);
    let mug = id(&mug.json);
    let day_off = app.post("/v1/rewards", &owner, json!({ "title": "Day off", "cost_xp": 150, "approval_required": true, "monthly_limit": 2 }))
    .await;
    let day_off = id(&day_off.json);

    // Without the header: 400; redeeming spends at once; a replay changes nothing.
    let no_key = app
        .request(Method::POST, &format!("/v1/rewards/{mug}/redemptions"))
        .token(&ann)
        .await;
    assert_problem(&no_key, 400, "idempotency_key_required");
    let first = redeem(&app, &ann, &mug, "mug-1").await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.json["status"], "APPROVED");
    let replay = redeem(&app, &ann, &mug, "mug-1").await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.json["id"], first.json["id"]);
    let xp = app.get("/v1/me/xp", &ann).await;
    assert_eq!(
        (xp.json["total_xp"].clone(), xp.json["lifetime_xp"].clone()),
        (json!(400), json!(500))
    );

    // Held redemptions: approve one, reject one; the monthly limit counts pending and approved.
    let a = redeem(&app, &ann, &day_off, "day-1").await;
    assert_eq!(a.json["status"], "PENDING", "{}", a.text);
    let b = redeem(&app, &ann, &day_off, "day-2").await;
    assert_eq!(b.status, 201, "{}", b.text);
    assert_problem(
        &redeem(&app, &ann, &day_off, "day-3").await,
        409,
        "reward_monthly_limit_reached",
    );
    let xp = app.get("/v1/me/xp", &ann).await;
    assert_eq!(
        (xp.json["total_xp"].clone(), xp.json["held_xp"].clone()),
        (json!(100), json!(300))
    );

    let pending = app.get("/v1/redemptions?status=PENDING", &owner).await;
    assert_eq!(
        pending.json["data"].as_array().map(Vec::len),
        Some(2),
        "{}",
        pending.text
    );
    assert_problem(&app.get("/v1/redemptions", &ann).await, 403, "forbidden");
    let approved = app
        .call(
            Method::POST,
            &format!("/v1/redemptions/{}/approve", id(&a.json)),
            &owner,
            None,
        )
        .await;
    assert_eq!(approved.json["status"], "APPROVED", "{}", approved.text);
    let rejected = app
        .post(
            &format!("/v1/redemptions/{}/reject", id(&b.json)),
            &owner,
            json!({ "reason": "busy season" }),
        )
        .await;
    assert_eq!(rejected.json["status"], "REJECTED", "{}", rejected.text);
    assert_problem(
        &app.call(
            Method::POST,
            &format!("/v1/redemptions/{}/approve", id(&b.json)),
            &owner,
            None,
        )
        .await,
        409,
        "redemption_not_pending",
    );
    let xp = app.get("/v1/me/xp", &ann).await;
    assert_eq!(
        (xp.json["total_xp"].clone(), xp.json["held_xp"].clone()),
        (json!(250), json!(0))
    );

    // Cancel your own pending one.
    let c = redeem(&app, &ann, &day_off, "day-4").await;
    let cancelled = app
        .call(
            Method::POST,
            &format!("/v1/redemptions/{}/cancel", id(&c.json)),
            &ann,
            None,
        )
        .await;
    assert_eq!(cancelled.json["status"], "CANCELLED", "{}", cancelled.text);
    let mine = app.get("/v1/me/redemptions", &ann).await;
    assert_eq!(
        mine.json["data"].as_array().map(Vec::len),
        Some(4),
        "{}",
        mine.text
    );

    // Not enough XP, out of stock, removed rewards.
    assert_eq!(redeem(&app, &ann, &mug, "mug-2").await.status, 201);
    assert_problem(
        &redeem(&app, &ann, &mug, "mug-3").await,
        409,
        "reward_out_of_stock",
    );
    let pricey = app
        .post(
            "/v1/rewards",
            &owner,
            json!({ "title": "Bike", "cost_xp": 10000 }),
        )
        .await;
    assert_problem(
        &redeem(&app, &ann, &id(&pricey.json), "bike").await,
        409,
        "insufficient_xp",
    );
    let gone = app
        .delete(&format!("/v1/rewards/{}", id(&pricey.json)), &owner)
        .await;
    assert_eq!(gone.status, 204);
    assert_problem(
        &redeem(&app, &ann, &id(&pricey.json), "bike-2").await,
        404,
        "reward_not_found",
    );

    // Σ ledger = total_xp, Σ earned = lifetime_xp.
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM user_xp_balances b WHERE total_xp <> \
                   (SELECT coalesce(sum(amount), 0) FROM xp_transactions t WHERE t.tenant_id = b.tenant_id AND t.user_id = b.user_id) \
                   OR lifetime_xp <> (SELECT coalesce(sum(amount), 0) FROM xp_transactions t WHERE t.tenant_id = b.tenant_id \
                   AND t.user_id = b.user_id AND (kind = 'AWARD' OR (kind = 'MANUAL' AND amount > 0)))").await,
        0
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM outbox_events WHERE kind IN ('gamification.redemption_approved', 'gamification.redemption_rejected')").await,
        4
    );
}

#[actix_web::test]
async fn leaderboards_rank_by_period_and_group_hide_opted_out_members_and_show_your_place() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let mut tokens = Vec::new();
    let mut ids = Vec::new();
    for (i, xp) in [300, 200, 100].into_iter().enumerate() {
        let t = access(
            &app.join(&owner, &format!("m{i}@acme.example.com"), "EMPLOYEE")
                .await,
        );
        let u = app.me_id(&t).await;
        assert_eq!(adjust(&app, &owner, &u, xp).await.status, 200);
        tokens.push(t);
        ids.push(u);
    }
    // An old award outside this week and month counts only all time.
    diesel::sql_query(format!(
        "UPDATE xp_transactions SET created_at = now() - interval '70 days' WHERE user_id = '{}'",
        ids[0]
    ))
    .execute(&mut app.db.conn().await)
    .await
    .unwrap();
    // ... and so do the period totals the month and week boards read.
    diesel::sql_query(format!(
        "UPDATE xp_period_totals SET period_start = period_start - interval '70 days' WHERE user_id = '{}'",
        ids[0]
    ))
    .execute(&mut app.db.conn().await)
    .await
    .unwrap();

    let all = app.get("/v1/leaderboard?limit=2", &tokens[2]).await;
    assert_eq!(all.status, 200, "{}", all.text);
    let xps: Vec<&Value> = all.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["xp"])
        .collect();
    assert_eq!(xps, [&json!(300), &json!(200)]);
    assert_eq!(all.json["me"], json!({ "rank_position": 3, "xp": 100 }));
    let next = app
        .get(
            &format!(
                "/v1/leaderboard?limit=2&cursor={}",
                all.json["next_cursor"].as_str().unwrap()
            ),
            &tokens[2],
        )
        .await;
    assert_eq!(next.json["data"][0]["rank_position"], 3, "{}", next.text);
    assert!(next.json["next_cursor"].is_null());

    for period in ["week", "month"] {
        let board = app
            .get(&format!("/v1/leaderboard?period={period}"), &tokens[0])
            .await;
        assert_eq!(
            board.json["data"].as_array().map(Vec::len),
            Some(2),
            "{}",
            board.text
        );
        assert_eq!(board.json["data"][0]["xp"], 200);
        assert_eq!(board.json["me"]["xp"], 0);
    }
    assert_eq!(
        app.get("/v1/leaderboard?period=year", &owner).await.status,
        422
    );

    // A group's board ranks its members only.
    let group = app
        .post("/v1/groups", &owner, json!({ "name": "Night shift" }))
        .await;
    let group = id(&group.json);
    app.post(
        &format!("/v1/groups/{group}/members"),
        &owner,
        json!({ "user_ids": [ids[2]] }),
    )
    .await;
    let board = app
        .get(&format!("/v1/leaderboard?group_id={group}"), &tokens[2])
        .await;
    assert_eq!(
        board.json["data"].as_array().map(Vec::len),
        Some(1),
        "{}",
        board.text
    );
    assert_eq!(board.json["me"]["rank_position"], 1);

    // Opting out: anonymous for others, yourself for you; refused when the tenant forbids it.
    let hidden = app
        .put(
            "/v1/me/leaderboard-visibility",
            &tokens[0],
            json!({ "hidden": true }),
        )
        .await;
    assert_eq!(hidden.status, 200, "{}", hidden.text);
    let seen = app.get("/v1/leaderboard", &tokens[1]).await;
    assert_eq!(seen.json["data"][0]["name"], "Anonymous");
    assert!(seen.json["data"][0]["user_id"].is_null());
    let own = app.get("/v1/leaderboard", &tokens[0]).await;
    assert_eq!(own.json["data"][0]["user_id"], ids[0].as_str());

    let settings = app
        .patch(
            "/v1/gamification/settings",
            &owner,
            json!({ "leaderboard_opt_out_allowed": false, "xp_module_completed": 120 }),
        )
        .await;
    assert_eq!(settings.status, 200, "{}", settings.text);
    assert_eq!(settings.json["xp_module_completed"], 120);
    assert_eq!(settings.json["rank_mentor"], 6000);
    assert_problem(
        &app.put(
            "/v1/me/leaderboard-visibility",
            &tokens[1],
            json!({ "hidden": true }),
        )
        .await,
        409,
        "leaderboard_opt_out_not_allowed",
    );
    // Once opting out is not allowed, those who had hidden are shown again.
    let seen = app.get("/v1/leaderboard", &tokens[1]).await;
    assert_eq!(
        seen.json["data"][0]["user_id"],
        ids[0].as_str(),
        "{}",
        seen.text
    );
    assert_problem(
        &app.get("/v1/gamification/settings", &tokens[1]).await,
        403,
        "forbidden",
    );
    let bad = app
        .patch(
            "/v1/gamification/settings",
            &owner,
            json!({ "rank_pomocnik": 9000 }),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
}

#[actix_web::test]
async fn leaderboard_cursors_name_no_member_and_still_page_through_ties() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let mut tokens = Vec::new();
    let mut ids = Vec::new();
    // One leader and five members tied at 100 XP: pages of two cut through the tie.
    for (i, xp) in [200, 100, 100, 100, 100, 100].into_iter().enumerate() {
        let t = access(
            &app.join(&owner, &format!("m{i}@acme.example.com"), "EMPLOYEE")
                .await,
        );
        let u = app.me_id(&t).await;
        assert_eq!(adjust(&app, &owner, &u, xp).await.status, 200);
        tokens.push(t);
        ids.push(u);
    }
    for t in &tokens[1..] {
        let hidden = app
            .put(
                "/v1/me/leaderboard-visibility",
                t,
                json!({ "hidden": true }),
            )
            .await;
        assert_eq!(hidden.status, 200, "{}", hidden.text);
    }
    let mut seen = Vec::new();
    let mut uri = "/v1/leaderboard?limit=2".to_owned();
    loop {
        let page = app.get(&uri, &tokens[0]).await;
        assert_eq!(page.status, 200, "{}", page.text);
        for e in page.json["data"].as_array().unwrap() {
            seen.push((e["xp"].as_i64().unwrap(), e["user_id"].clone()));
        }
        let Some(cursor) = page.json["next_cursor"].as_str() else {
            break;
        };
        let text = guild_kernel::Cursor::decode(cursor).unwrap().0;
        for hidden in &ids[1..] {
            assert!(!text.contains(hidden.as_str()), "{text} names {hidden}");
        }
        assert!(
            uuid::Uuid::parse_str(text.rsplit(':').next().unwrap()).is_err(),
            "{text}"
        );
        uri = format!("/v1/leaderboard?limit=2&cursor={cursor}");
    }
    // Every member once, in order; the hidden ones without an id.
    assert_eq!(
        seen,
        [
            (200, json!(ids[0])),
            (100, Value::Null),
            (100, Value::Null),
            (100, Value::Null),
            (100, Value::Null),
            (100, Value::Null),
        ]
    );
    // A cursor carrying a member id (the old shape) is refused.
    let old = guild_kernel::Cursor(format!("100:{}", ids[1])).encode();
    assert_problem(
        &app.get(&format!("/v1/leaderboard?cursor={old}"), &tokens[0])
            .await,
        422,
        "validation_failed",
    );
}

#[actix_web::test]
async fn a_groups_leaderboard_is_shown_only_to_its_members_and_those_who_may_see_them() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let inside = app.member(&owner, "in@acme.example.com", "EMPLOYEE").await;
    let outside = app.member(&owner, "out@acme.example.com", "EMPLOYEE").await;
    let lead = app
        .member(&owner, "lead@acme.example.com", "EMPLOYEE")
        .await;
    let other_lead = app
        .member(&owner, "lead2@acme.example.com", "EMPLOYEE")
        .await;
    let hr = app.member(&owner, "hr@acme.example.com", "HR").await;
    let inside_id = app.me_id(&inside).await;
    assert_eq!(adjust(&app, &owner, &inside_id, 50).await.status, 200);
    let mut groups = Vec::new();
    for name in ["Night shift", "Day shift"] {
        let g = app
            .post("/v1/groups", &owner, json!({ "name": name }))
            .await;
        assert_eq!(g.status, 201, "{}", g.text);
        groups.push(id(&g.json));
    }
    let (night, day) = (&groups[0], &groups[1]);
    let added = app
        .post(
            &format!("/v1/groups/{night}/members"),
            &owner,
            json!({ "user_ids": [inside_id] }),
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.text);
    for (token, group) in [(&lead, night), (&other_lead, day)] {
        let user = app.me_id(token).await;
        let granted = app.put(&format!("/v1/members/{user}/permissions"), &owner, json!({ "grants": [{ "permission": "VIEW_GROUP_PROGRESS", "scope": { "group_ids": [group] } }] }))
        .await;
        assert_eq!(granted.status, 200, "{}", granted.text);
    }
    let board = format!("/v1/leaderboard?group_id={night}");
    // Its member, a lead scoped to it, HR and the owner see who is in it.
    for token in [&inside, &lead, &hr, &owner] {
        let seen = app.get(&board, token).await;
        assert_eq!(seen.status, 200, "{}", seen.text);
        assert_eq!(
            seen.json["data"][0]["user_id"],
            inside_id.as_str(),
            "{}",
            seen.text
        );
    }
    // A member of another group and a lead of another group learn nothing about its members.
    for token in [&outside, &other_lead] {
        let refused = app.get(&board, token).await;
        assert_problem(&refused, 403, "leaderboard_group_forbidden");
        assert!(!refused.text.contains(&inside_id), "{}", refused.text);
    }
    assert_problem(
        &app.get(
            &format!("/v1/leaderboard?group_id={}", uuid::Uuid::now_v7()),
            &owner,
        )
        .await,
        404,
        "group_not_found",
    );
}

#[actix_web::test]
async fn quiz_high_scores_and_compliance_renewals_earn_their_settings_amounts_once() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let ann_id = app.me_id(&ann).await;
    let changed = app
        .patch(
            "/v1/gamification/settings",
            &owner,
            json!({ "xp_quiz_high_score": 60, "rank_pomocnik": 100 }),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    let tenant: String = {
        #[derive(QueryableByName)]
        struct T {
            #[diesel(sql_type = diesel::sql_types::Text)]
            id: String,
        }
        diesel::sql_query("SELECT tenant_id::text AS id FROM memberships LIMIT 1")
            .get_result::<T>(&mut app.db.conn().await)
            .await
            .unwrap()
            .id
    };
    let (quiz, module, attempt, cert) = (
        uuid::Uuid::now_v7(),
        uuid::Uuid::now_v7(),
        uuid::Uuid::now_v7(),
        uuid::Uuid::now_v7(),
    );
    let high = json!({ "tenant_id": tenant, "user_id": ann_id, "quiz_id": quiz, "module_id": module,
        "attempt_id": attempt, "score_points": 10.0, "max_points": 10, "score_percent": 100.0 });
    let renewal = json!({ "tenant_id": tenant, "user_id": ann_id, "module_id": module,
        "previous_certificate_id": uuid::Uuid::now_v7(), "certificate_id": cert });
    // Each delivered twice.
    for (kind, payload) in [
        ("assessment.quiz_high_score", &high),
        ("learning.compliance_renewal", &renewal),
        ("assessment.quiz_high_score", &high),
        ("learning.compliance_renewal", &renewal),
    ] {
        diesel::sql_query(format!(
            "INSERT INTO outbox_events (id, tenant_id, kind, payload) \
             VALUES (gen_random_uuid(), '{tenant}', '{kind}', '{payload}'::jsonb)"
        ))
        .execute(&mut app.db.conn().await)
        .await
        .unwrap();
    }
    app.run_worker().await;
    let xp = app.get("/v1/me/xp", &ann).await;
    assert_eq!(xp.json["total_xp"], 110, "{}", xp.text);
    assert_eq!(xp.json["rank"], "POMOCNIK");
    let ledger = app.get("/v1/me/xp/transactions?limit=1", &ann).await;
    assert_eq!(ledger.json["data"].as_array().map(Vec::len), Some(1));
    assert!(ledger.json["next_cursor"].is_string(), "{}", ledger.text);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM outbox_events WHERE kind = 'gamification.rank_changed'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM outbox_events WHERE status <> 'DONE' AND kind NOT LIKE 'gamification.%'"
        )
        .await,
        0
    );
}

#[actix_web::test]
async fn a_retried_xp_adjustment_is_applied_once_and_a_reused_key_is_refused() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let ann_id = app.me_id(&ann).await;
    let body = json!({ "user_id": ann_id, "amount": 40, "reason": "Great work" });
    let key = [("Idempotency-Key", "award-ann-1")];
    let first = app
        .post("/v1/xp/adjustments", &owner, body.clone())
        .headers(&key)
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = app
        .post("/v1/xp/adjustments", &owner, body)
        .headers(&key)
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json, first.json);
    let other = json!({ "user_id": ann_id, "amount": 41, "reason": "Great work" });
    assert_problem(
        &app.post("/v1/xp/adjustments", &owner, other.clone())
            .headers(&key)
            .await,
        422,
        "idempotency_key_reused",
    );
    assert_problem(
        &app.post("/v1/xp/adjustments", &owner, other).await,
        400,
        "idempotency_key_required",
    );
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) AS n FROM xp_transactions WHERE user_id = '{ann_id}'")
        )
        .await,
        1
    );
}

#[actix_web::test]
async fn rewards_and_redemptions_sort_by_an_allowed_key_a_page_at_a_time() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let ann_id = app.me_id(&ann).await;
    assert_eq!(adjust(&app, &owner, &ann_id, 1000).await.status, 200);
    let mut rewards = Vec::new();
    for (title, cost) in [("Mug", 100), ("Book", 300), ("Cap", 200)] {
        let r = app
            .post(
                "/v1/rewards",
                &owner,
                json!({ "title": title, "cost_xp": cost }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        rewards.push(id(&r.json));
    }
    assert_eq!(
        app.walk(&ann, "/v1/rewards?sort=cost_xp", 1, "title").await,
        [json!("Mug"), json!("Cap"), json!("Book")]
    );
    assert_eq!(
        app.walk(&ann, "/v1/rewards?sort=-title", 1, "title").await,
        [json!("Mug"), json!("Cap"), json!("Book")]
    );
    assert_eq!(
        app.walk(&ann, "/v1/rewards?sort=created_at", 1, "title")
            .await,
        [json!("Mug"), json!("Book"), json!("Cap")]
    );
    for (i, reward) in rewards.iter().enumerate() {
        let r = redeem(&app, &ann, reward, &format!("sorted-{i}")).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    assert_eq!(
        app.walk(&ann, "/v1/me/redemptions?sort=-cost_xp", 1, "cost_xp")
            .await,
        [json!(300), json!(200), json!(100)]
    );
    assert_eq!(
        app.walk(&owner, "/v1/redemptions?sort=created_at", 1, "cost_xp")
            .await,
        [json!(100), json!(300), json!(200)]
    );
    assert_eq!(
        app.walk(&owner, "/v1/redemptions?status=APPROVED", 1, "cost_xp")
            .await,
        [json!(200), json!(300), json!(100)],
        "newest first without a sort"
    );
    for bad in ["sort=stock", "status=LOST", "limit=0"] {
        assert_problem(
            &app.get(&format!("/v1/rewards?{bad}"), &ann).await,
            422,
            "validation_failed",
        );
    }
    let first = app.get("/v1/rewards?sort=title&limit=1", &ann).await;
    let cursor = first.json["next_cursor"].as_str().unwrap_or_default();
    assert_problem(
        &app.get(&format!("/v1/rewards?sort=cost_xp&cursor={cursor}"), &ann)
            .await,
        422,
        "validation_failed",
    );
}

#[actix_web::test]
async fn a_reward_needs_its_title_and_cost_and_a_retried_creation_creates_one() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let empty = app.post("/v1/rewards", &owner, json!({})).await;
    assert_problem(&empty, 422, "validation_failed");
    let create = async |title: &str| {
        app.post(
            "/v1/rewards",
            &owner,
            json!({ "title": title, "cost_xp": 500 }),
        )
        .idempotency_key("reward-hoodie")
        .await
    };
    let first = create("Hoodie").await;
    assert_eq!(first.status, 201, "{}", first.text);
    let again = create("Hoodie").await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json["id"], first.json["id"]);
    assert_problem(&create("Scarf").await, 422, "idempotency_key_reused");
    assert_eq!(count(&app, "SELECT count(*) AS n FROM rewards").await, 1);
}
