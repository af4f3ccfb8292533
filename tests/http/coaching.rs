//! Coaching over HTTP: a member's coaching seen by them, their coach and the managers above them
//! and 404 to a peer manager, an admin outside the chain and another tenant; coaches added by
//! admins; nobody coaches themselves; sessions edited with `If-Match` through their status flow;
//! private notes and quick notes sealed in the database, never shown to the coachee, every read
//! audited, re-sealed by `guild rekey`; limits and API keys; action items that enrol the coachee
//! and close themselves on completion, overdue and assigned notifications; the session's
//! calendar file for a real parser and as the coachee's invitation; reminders once; the overview.

use chrono::{Duration, SecondsFormat, Utc};
use guild_tests::{TestApp, assert_problem, count, parse_ics};
use serde_json::{Value, json};

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

fn at(days: i64) -> String {
    (Utc::now() + Duration::days(days)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn session(coachee: &str) -> Value {
    json!({
        "coachee_id": coachee,
        "scheduled_at": at(2),
        "duration_minutes": 45,
        "agenda": "Review last week's calls",
        "focus_areas": [{ "name": "Active listening", "score_before": 3 }],
    })
}

/// Makes `manager` the manager of `user` (ids), as `owner`.
async fn manage(app: &TestApp, owner: &str, user: &str, manager: &str) {
    let set = app
        .put(
            &format!("/v1/members/{user}/manager"),
            owner,
            json!({ "manager_id": manager }),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
}

/// A tenant where `director` manages `lead`, who manages `agent`; `peer` manages `other`.
struct Org {
    owner: String,
    director: String,
    lead: String,
    agent: String,
    peer: String,
    other: String,
    agent_id: String,
    lead_id: String,
    other_id: String,
}

async fn org(app: &TestApp) -> Org {
    let owner = app.owner("acme").await;
    let mut tokens = Vec::new();
    let mut ids = Vec::new();
    for name in ["director", "lead", "agent", "peer", "other"] {
        let token = app
            .member(&owner, &format!("{name}@acme.example.com"), "EMPLOYEE")
            .await;
        ids.push(app.me_id(&token).await);
        tokens.push(token);
    }
    manage(app, &owner, &ids[1], &ids[0]).await;
    manage(app, &owner, &ids[2], &ids[1]).await;
    manage(app, &owner, &ids[4], &ids[3]).await;
    let mut t = tokens.into_iter();
    let mut next = || t.next().unwrap_or_default();
    Org {
        owner,
        director: next(),
        lead: next(),
        agent: next(),
        peer: next(),
        other: next(),
        agent_id: ids[2].clone(),
        lead_id: ids[1].clone(),
        other_id: ids[4].clone(),
    }
}

#[actix_web::test]
async fn a_members_coaching_is_seen_by_them_their_coach_and_the_managers_above_and_by_nobody_else()
{
    let app = TestApp::new().await;
    let o = org(&app).await;

    let created = app
        .post("/v1/coaching/sessions", &o.lead, session(&o.agent_id))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.header("etag"), Some("\"1\""));
    assert_eq!(created.json["focus_areas"][0]["score_before"], json!(3.0));
    let id = s(&created.json["id"]);
    let uri = format!("/v1/coaching/sessions/{id}");

    for (token, manageable) in [(&o.agent, false), (&o.lead, true), (&o.director, false)] {
        let seen = app.get(&uri, token).await;
        assert_eq!(seen.status, 200, "{}", seen.text);
        assert_eq!(seen.json["manageable"], json!(manageable));
    }
    for token in [&o.peer, &o.other, &o.owner] {
        assert_problem(
            &app.get(&uri, token).await,
            404,
            "coaching_session_not_found",
        );
    }
    let stranger = app.owner("globex").await;
    assert_problem(
        &app.get(&uri, &stranger).await,
        404,
        "coaching_session_not_found",
    );
    let list = format!("/v1/coaching/sessions?coachee_id={}", o.agent_id);
    assert_problem(&app.get(&list, &o.peer).await, 404, "coachee_not_found");
    assert_problem(&app.get(&list, &stranger).await, 404, "coachee_not_found");
    let listed = app.get(&list, &o.director).await;
    assert_eq!(listed.json["data"].as_array().map(Vec::len), Some(1));
    let mine = app.get("/v1/coaching/sessions", &o.agent).await;
    assert_eq!(mine.json["data"][0]["id"], json!(id));

    // Seeing is not coaching; nobody coaches themselves.
    assert_problem(
        &app.post("/v1/coaching/sessions", &o.director, session(&o.agent_id))
            .await,
        403,
        "forbidden",
    );
    assert_problem(
        &app.post("/v1/coaching/sessions", &o.peer, session(&o.agent_id))
            .await,
        404,
        "coachee_not_found",
    );
    assert_problem(
        &app.post("/v1/coaching/sessions", &o.lead, session(&o.lead_id))
            .await,
        403,
        "cannot_coach_self",
    );

    // An admin makes the lead a coach of someone outside their team.
    let coaches = format!("/v1/coaching/coachees/{}/coaches", o.other_id);
    assert_problem(
        &app.put(&format!("{coaches}/{}", o.lead_id), &o.agent, json!({}))
            .await,
        403,
        "forbidden",
    );
    assert_problem(
        &app.put(&format!("{coaches}/{}", o.other_id), &o.owner, json!({}))
            .await,
        403,
        "cannot_coach_self",
    );
    let added = app
        .put(&format!("{coaches}/{}", o.lead_id), &o.owner, json!({}))
        .await;
    assert_eq!(added.status, 200, "{}", added.text);
    let sources: Vec<String> = added.json["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|c| s(&c["source"]))
        .collect();
    assert_eq!(sources, ["MANAGER", "ASSIGNED"]);
    let coachees = app.get("/v1/coaching/coachees", &o.lead).await;
    assert_eq!(coachees.json["data"].as_array().map(Vec::len), Some(2));
    let theirs = app
        .post("/v1/coaching/sessions", &o.lead, session(&o.other_id))
        .await;
    assert_eq!(theirs.status, 201, "{}", theirs.text);
    let removed = app
        .delete(&format!("{coaches}/{}", o.lead_id), &o.owner)
        .await;
    assert_eq!(removed.status, 204, "{}", removed.text);
    assert_problem(
        &app.delete(&format!("{coaches}/{}", o.lead_id), &o.owner)
            .await,
        404,
        "coach_not_found",
    );

    // The coach edits with If-Match; the coachee may not.
    let change = json!({
        "shared_notes": "Agreed to shadow two calls.",
        "focus_areas": [{ "name": "Active listening", "score_before": 3, "score_after": 3.5 }],
    });
    assert_problem(
        &app.patch(&uri, &o.lead, change.clone())
            .if_match("\"9\"")
            .await,
        412,
        "precondition_failed",
    );
    assert_problem(
        &app.patch(&uri, &o.agent, change.clone())
            .if_match("\"1\"")
            .await,
        403,
        "forbidden",
    );
    let updated = app.patch(&uri, &o.lead, change).if_match("\"1\"").await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(updated.header("etag"), Some("\"2\""));
    assert_eq!(
        updated.json["focus_areas"][0]["score_after"],
        json!(3.5),
        "{}",
        updated.text
    );
    let status = format!("{uri}/status");
    assert_problem(
        &app.post(&status, &o.lead, json!({ "status": "COMPLETED" }))
            .if_match("\"2\"")
            .await,
        409,
        "coaching_session_not_started",
    );
    let cancelled = app
        .post(&status, &o.lead, json!({ "status": "CANCELLED" }))
        .if_match("\"2\"")
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(cancelled.json["status"], "CANCELLED");
    assert_problem(
        &app.post(&status, &o.lead, json!({ "status": "NO_SHOW" }))
            .if_match("\"3\"")
            .await,
        409,
        "coaching_session_closed",
    );
}

#[actix_web::test]
async fn private_notes_never_reach_the_coachee_are_sealed_in_the_database_and_every_read_is_audited()
 {
    let app = TestApp::with(|state| {
        state.keyring = std::sync::Arc::new(ring(&[("k1", 1)]));
    })
    .await;
    let o = org(&app).await;
    let created = app
        .post("/v1/coaching/sessions", &o.lead, session(&o.agent_id))
        .await;
    let id = s(&created.json["id"]);
    let uri = format!("/v1/coaching/sessions/{id}");
    let secret = "Seems overwhelmed by the new script";
    let saved = app
        .put(
            &format!("{uri}/private-notes"),
            &o.lead,
            json!({ "private_notes": secret }),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.text);

    // Never in what the coachee or the managers above read.
    for token in [&o.agent, &o.director] {
        assert_problem(
            &app.get(&format!("{uri}/private-notes"), token).await,
            403,
            "forbidden",
        );
        let seen = app.get(&uri, token).await;
        assert!(!seen.text.contains("overwhelmed"), "{}", seen.text);
        let listed = app.get("/v1/coaching/sessions", token).await;
        assert!(!listed.text.contains("overwhelmed"));
    }
    assert_problem(
        &app.get(&format!("{uri}/private-notes"), &o.peer).await,
        404,
        "coaching_session_not_found",
    );
    // Unreadable in the database without the key: sealed under key k1, no plain text.
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM coaching_sessions WHERE private_notes_sealed LIKE 'k1.%' \
               AND private_notes_sealed NOT LIKE '%overwhelmed%'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM coaching_sessions WHERE agenda LIKE '%overwhelmed%' \
               OR shared_notes LIKE '%overwhelmed%'"
        )
        .await,
        0
    );
    for _ in 0..3 {
        let read = app.get(&format!("{uri}/private-notes"), &o.lead).await;
        assert_eq!(read.status, 200, "{}", read.text);
        assert_eq!(read.json["private_notes"], secret);
    }
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) AS n FROM audit_log \
                  WHERE action = 'coaching_session.private_notes_read' AND entity_id = '{id}'"
            )
        )
        .await,
        3,
        "every read of the private notes is audited"
    );

    // Quick notes: the coach's own, sealed, audited when read.
    let notes = format!("/v1/coaching/coachees/{}/notes", o.agent_id);
    let note = app
        .post(&notes, &o.lead, json!({ "body": "Late twice this week" }))
        .await;
    assert_eq!(note.status, 201, "{}", note.text);
    assert_problem(&app.get(&notes, &o.agent).await, 403, "forbidden");
    assert_problem(&app.get(&notes, &o.peer).await, 404, "coachee_not_found");
    assert_problem(
        &app.post(&notes, &o.director, json!({ "body": "Not mine to write" }))
            .await,
        403,
        "forbidden",
    );
    let theirs = app.get(&notes, &o.director).await;
    assert_eq!(theirs.json["data"].as_array().map(Vec::len), Some(0));
    let mine = app.get(&notes, &o.lead).await;
    assert_eq!(mine.json["data"][0]["body"], "Late twice this week");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM coaching_quick_notes WHERE body_sealed LIKE 'k1.%' \
               AND body_sealed NOT LIKE '%twice%'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM audit_log WHERE action = 'coaching_quick_notes.read'"
        )
        .await,
        2
    );

    // `guild rekey` moves every sealed value to the first key, which then opens it alone; a
    // keyring whose old key is wrong opens nothing and moves nothing.
    let wrong = ring(&[("k2", 2), ("k1", 7)]);
    let refused = guild_api::server::rekey_with(&mut *app.db.conn().await, &wrong).await;
    assert!(
        refused.is_err(),
        "values sealed under another key do not open"
    );
    let rotated = ring(&[("k2", 2), ("k1", 1)]);
    let text = guild_api::server::rekey_with(&mut *app.db.conn().await, &rotated)
        .await
        .expect("rekeyed");
    assert!(
        text.contains("1 private session notes, 1 quick notes, 0 webhook secrets"),
        "{text}"
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM coaching_sessions WHERE private_notes_sealed LIKE 'k2.%'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM coaching_quick_notes WHERE body_sealed LIKE 'k2.%'"
        )
        .await,
        1
    );
}

fn ring(keys: &[(&str, u8)]) -> guild_kernel::sealed::Keyring {
    guild_kernel::sealed::Keyring::new(
        keys.iter()
            .map(|(id, b)| ((*id).to_owned(), [*b; 32]))
            .collect(),
    )
    .expect("a keyring")
}

#[actix_web::test]
async fn limits_settings_and_api_keys_hold() {
    let app = TestApp::new().await;
    let o = org(&app).await;

    // The scale: everyone reads it, ADMINs and above change it.
    let scale = app.get("/v1/coaching/settings", &o.agent).await;
    assert_eq!(scale.json, json!({ "scale_min": 1.0, "scale_max": 5.0 }));
    let mut off = session(&o.agent_id);
    off["focus_areas"][0]["score_before"] = json!(7);
    assert_problem(
        &app.post("/v1/coaching/sessions", &o.lead, off.clone())
            .await,
        422,
        "validation_failed",
    );
    assert_problem(
        &app.put(
            "/v1/coaching/settings",
            &o.lead,
            json!({ "scale_min": 0, "scale_max": 10 }),
        )
        .await,
        403,
        "forbidden",
    );
    let set = app
        .put(
            "/v1/coaching/settings",
            &o.owner,
            json!({ "scale_min": 0, "scale_max": 10 }),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    let created = app.post("/v1/coaching/sessions", &o.lead, off).await;
    assert_eq!(created.status, 201, "{}", created.text);

    // Five sessions a day per coachee; text lengths.
    for _ in 0..4 {
        let more = app
            .post("/v1/coaching/sessions", &o.lead, session(&o.agent_id))
            .await;
        assert_eq!(more.status, 201, "{}", more.text);
    }
    assert_problem(
        &app.post("/v1/coaching/sessions", &o.lead, session(&o.agent_id))
            .await,
        409,
        "session_limit_reached",
    );
    let mut long = session(&o.other_id);
    long["agenda"] = json!("x".repeat(5001));
    assert_problem(
        &app.post("/v1/coaching/sessions", &o.peer, long).await,
        422,
        "validation_failed",
    );
    let notes = format!("/v1/coaching/coachees/{}/notes", o.agent_id);
    assert_problem(
        &app.post(&notes, &o.lead, json!({ "body": "y".repeat(5001) }))
            .await,
        422,
        "validation_failed",
    );
    for i in 0..50 {
        let note = app
            .post(&notes, &o.lead, json!({ "body": format!("note {i}") }))
            .await;
        assert_eq!(note.status, 201, "{}", note.text);
    }
    assert_problem(
        &app.post(&notes, &o.lead, json!({ "body": "one too many" }))
            .await,
        409,
        "note_limit_reached",
    );

    // API keys: coaching is personal (act_as_member); managing coaches needs MANAGE_USERS.
    let (_, users_key) = app
        .api_key(
            &o.owner,
            json!({ "name": "hr sync", "permissions": ["MANAGE_USERS"] }),
        )
        .await;
    let (_, reader_key) = app
        .api_key(
            &o.owner,
            json!({ "name": "reader", "permissions": ["VIEW_ANALYTICS"] }),
        )
        .await;
    assert_problem(
        &app.post("/v1/coaching/sessions", &users_key, session(&o.agent_id))
            .await,
        403,
        "api_key_not_permitted",
    );
    assert_problem(
        &app.get(&notes, &users_key).await,
        403,
        "api_key_not_permitted",
    );
    let coaches = format!("/v1/coaching/coachees/{}/coaches/{}", o.other_id, o.lead_id);
    assert_problem(
        &app.put(&coaches, &reader_key, json!({})).await,
        403,
        "forbidden",
    );
    let added = app.put(&coaches, &users_key, json!({})).await;
    assert_eq!(added.status, 200, "{}", added.text);
    assert_problem(
        &app.put(
            "/v1/coaching/settings",
            &users_key,
            json!({ "scale_min": 1, "scale_max": 5 }),
        )
        .await,
        403,
        "api_key_not_permitted",
    );
}

/// The kinds of `token`'s notifications.
async fn kinds(app: &TestApp, token: &str) -> Vec<String> {
    let got = app.get("/v1/me/notifications", token).await;
    assert_eq!(got.status, 200, "{}", got.text);
    got.json["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|n| s(&n["kind"]))
        .collect()
}

fn of(kinds: &[String], kind: &str) -> usize {
    kinds.iter().filter(|k| *k == kind).count()
}

#[actix_web::test]
async fn an_action_item_tied_to_a_module_enrols_the_coachee_and_closes_itself_when_they_complete_it()
 {
    let app = TestApp::new().await;
    let o = org(&app).await;
    let (module, section) = app.published_module(&o.owner, "De-escalation").await;
    let plan = format!("/v1/coaching/coachees/{}/action-items", o.agent_id);

    assert_problem(
        &app.post(
            &plan,
            &o.director,
            json!({ "title": "Not my plan to write" }),
        )
        .await,
        403,
        "forbidden",
    );
    assert_problem(
        &app.post(
            &format!("/v1/coaching/coachees/{}/action-items", o.lead_id),
            &o.lead,
            json!({ "title": "Mine" }),
        )
        .await,
        403,
        "cannot_coach_self",
    );
    let created = app
        .post(
            &plan,
            &o.lead,
            json!({ "title": "Complete the de-escalation module", "module_id": module }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json["owner_id"], json!(o.agent_id));
    assert_eq!(created.json["status"], "OPEN");
    let item = s(&created.json["id"]);
    let uri = format!("/v1/coaching/action-items/{item}");
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) AS n FROM enrolments WHERE user_id = '{}' AND module_id = '{module}'",
                o.agent_id
            )
        )
        .await,
        1,
        "the coachee is enrolled"
    );
    assert_problem(&app.get(&uri, &o.peer).await, 404, "action_item_not_found");
    assert_eq!(app.get(&uri, &o.director).await.status, 200);
    assert_problem(
        &app.patch(&uri, &o.agent, json!({ "title": "Renamed" }))
            .if_match("\"1\"")
            .await,
        403,
        "forbidden",
    );
    let started = app
        .patch(&uri, &o.agent, json!({ "status": "IN_PROGRESS" }))
        .if_match("\"1\"")
        .await;
    assert_eq!(started.status, 200, "{}", started.text);
    app.run_worker().await;
    assert_eq!(of(&kinds(&app, &o.agent).await, "ACTION_ITEM_ASSIGNED"), 1);

    // The coachee completes the module: the worker closes the item, once.
    let done = app
        .post(
            &format!("/v1/modules/{module}/sections/{section}/complete"),
            &o.agent,
            json!({}),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    app.run_worker().await;
    let closed = app.get(&uri, &o.lead).await;
    assert_eq!(closed.json["status"], "DONE", "{}", closed.text);
    assert_eq!(closed.json["closed_by_completion"], true);
    assert_problem(
        &app.patch(&uri, &o.lead, json!({ "status": "CANCELLED" }))
            .if_match(closed.header("etag").unwrap_or_default())
            .await,
        409,
        "action_item_closed",
    );

    // A module the coachee cannot see is refused; an overdue item is told once per due date.
    let (hidden, _) = app
        .module_with_section(
            &o.owner,
            json!({ "title": "Draft" }),
            json!({ "title": "Intro", "content_html": "<p>Hi</p>" }),
        )
        .await;
    assert_problem(
        &app.post(
            &plan,
            &o.lead,
            json!({ "title": "Draft work", "module_id": hidden }),
        )
        .await,
        422,
        "validation_failed",
    );
    let yesterday = (Utc::now() - Duration::days(1)).date_naive().to_string();
    let late = app
        .post(
            &plan,
            &o.lead,
            json!({ "title": "Send the call review", "due_date": yesterday }),
        )
        .await;
    assert_eq!(late.status, 201, "{}", late.text);
    for _ in 0..2 {
        app.queue_job("coaching.overdue_items").await;
        app.run_worker().await;
    }
    assert_eq!(of(&kinds(&app, &o.agent).await, "ACTION_ITEM_OVERDUE"), 1);
    let plan_listed = app.get(&plan, &o.director).await;
    assert_eq!(plan_listed.json["data"].as_array().map(Vec::len), Some(2));
    assert_problem(&app.get(&plan, &o.peer).await, 404, "coachee_not_found");

    // The overview: the module's progress, the plan's counts, the session scores.
    let created = app
        .post("/v1/coaching/sessions", &o.lead, session(&o.agent_id))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let overview = format!("/v1/coaching/coachees/{}/overview", o.agent_id);
    assert_problem(&app.get(&overview, &o.peer).await, 404, "coachee_not_found");
    let seen = app.get(&overview, &o.director).await;
    assert_eq!(seen.status, 200, "{}", seen.text);
    assert_eq!(seen.json["scores"][0]["focus_area"], "Active listening");
    assert_eq!(seen.json["scores"][0]["points"][0]["before"], json!(3.0));
    let modules = seen.json["modules"].as_array().cloned().unwrap_or_default();
    let ours = modules
        .iter()
        .find(|m| m["module_id"] == json!(module))
        .cloned()
        .unwrap_or_default();
    assert_eq!(ours["percent"], 100, "{}", seen.text);
    assert_eq!(seen.json["action_items"]["done"], 1);
    assert_eq!(seen.json["action_items"]["open"], 1);
    assert_eq!(seen.json["action_items"]["overdue"], 1);
    assert!(seen.json["xp_weeks"].is_array() && seen.json["quiz_averages"].is_array());
}

/// The content type and parsed calendar of the last email to `to` with an attachment.
fn invite(app: &TestApp, to: &str) -> (String, Value) {
    let email = app
        .mail
        .sent()
        .into_iter()
        .rev()
        .find(|e| e.to == to && !e.attachments.is_empty())
        .unwrap_or_else(|| panic!("no invitation mailed to {to}"));
    let file = &email.attachments[0];
    (
        file.content_type.clone(),
        parse_ics(&String::from_utf8_lossy(&file.content)),
    )
}

#[actix_web::test]
async fn the_sessions_calendar_entry_keeps_its_uid_bumps_its_sequence_and_cancels_for_a_real_parser()
 {
    let app = TestApp::new().await;
    let o = org(&app).await;
    let mut b = session(&o.agent_id);
    b["scheduled_at"] = json!("2031-03-04T08:30:00Z");
    let created = app.post("/v1/coaching/sessions", &o.lead, b).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = s(&created.json["id"]);
    let uri = format!("/v1/coaching/sessions/{id}");
    let uid = json!(format!("coaching-{id}@localhost"));

    let got = app.get(&format!("{uri}/ics"), &o.agent).await;
    assert_eq!(got.status, 200, "{}", got.text);
    let file = parse_ics(&got.text);
    assert_eq!(file["method"], "PUBLISH");
    assert_eq!(file["events"][0]["uid"], uid);
    assert_eq!(file["events"][0]["sequence"], 0);
    assert_eq!(file["events"][0]["start"], "2031-03-04T08:30:00+00:00");
    assert_problem(
        &app.get(&format!("{uri}/ics"), &o.peer).await,
        404,
        "coaching_session_not_found",
    );

    // The coachee's email carries the invitation.
    app.run_worker().await;
    let agent_email = "agent@acme.example.com";
    let (kind, file) = invite(&app, agent_email);
    assert_eq!(kind, "text/calendar; method=REQUEST; charset=UTF-8");
    assert_eq!(file["method"], "REQUEST");
    assert_eq!(file["events"][0]["uid"], uid);
    assert_eq!(file["events"][0]["sequence"], 0);
    assert_eq!(
        file["events"][0]["attendee"],
        json!(format!("mailto:{agent_email}"))
    );
    assert_eq!(
        file["events"][0]["organizer"],
        json!("mailto:lead@acme.example.com")
    );

    let moved = app
        .patch(
            &uri,
            &o.lead,
            json!({ "scheduled_at": "2031-03-05T10:00:00Z" }),
        )
        .if_match("\"1\"")
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    app.run_worker().await;
    let (_, file) = invite(&app, agent_email);
    assert_eq!(file["events"][0]["uid"], uid, "the same entry");
    assert_eq!(file["events"][0]["sequence"], 1);
    assert_eq!(file["events"][0]["start"], "2031-03-05T10:00:00+00:00");

    let cancelled = app
        .post(
            &format!("{uri}/status"),
            &o.lead,
            json!({ "status": "CANCELLED" }),
        )
        .if_match("\"2\"")
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    app.run_worker().await;
    let (kind, file) = invite(&app, agent_email);
    assert_eq!(kind, "text/calendar; method=CANCEL; charset=UTF-8");
    assert_eq!(file["method"], "CANCEL");
    assert_eq!(file["events"][0]["uid"], uid);
    assert_eq!(file["events"][0]["sequence"], 2);
    assert_eq!(file["events"][0]["status"], "CANCELLED");
    let notes = kinds(&app, &o.agent).await;
    for kind in [
        "COACHING_SESSION_SCHEDULED",
        "COACHING_SESSION_CHANGED",
        "COACHING_SESSION_CANCELLED",
    ] {
        assert_eq!(of(&notes, kind), 1, "{kind}: {notes:?}");
    }
}

#[actix_web::test]
async fn a_coachee_is_reminded_of_a_session_once_per_start_time() {
    let app = TestApp::new().await;
    let o = org(&app).await;
    let mut soon = session(&o.agent_id);
    soon["scheduled_at"] =
        json!((Utc::now() + Duration::hours(3)).to_rfc3339_opts(SecondsFormat::Secs, true));
    let created = app.post("/v1/coaching/sessions", &o.lead, soon).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let later = app
        .post("/v1/coaching/sessions", &o.lead, session(&o.agent_id))
        .await;
    assert_eq!(later.status, 201, "{}", later.text);
    for _ in 0..2 {
        app.queue_job("coaching.session_reminders").await;
        app.run_worker().await;
    }
    assert_eq!(
        of(&kinds(&app, &o.agent).await, "COACHING_SESSION_REMINDER"),
        1,
        "the session in two days is not due yet; the one in three hours once"
    );
    // Moved to another time within the day: reminded again for the new time.
    let id = s(&created.json["id"]);
    let moved = app
        .patch(
            &format!("/v1/coaching/sessions/{id}"),
            &o.lead,
            json!({ "scheduled_at": (Utc::now() + Duration::hours(5)).to_rfc3339_opts(SecondsFormat::Secs, true) }),
        )
        .if_match("\"1\"")
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    app.queue_job("coaching.session_reminders").await;
    app.run_worker().await;
    assert_eq!(
        of(&kinds(&app, &o.agent).await, "COACHING_SESSION_REMINDER"),
        2
    );
}

#[actix_web::test]
async fn settings_coachee_lists_and_overviews_stay_in_their_tenant_and_keys_need_a_member() {
    let app = TestApp::new().await;
    let o = org(&app).await;
    let other_owner = app.owner("globex").await;
    let bob = app
        .member(&other_owner, "bob@globex.example.com", "EMPLOYEE")
        .await;
    let bob_id = app.me_id(&bob).await;
    manage(&app, &other_owner, &bob_id, &app.me_id(&other_owner).await).await;

    // Each tenant has its own scale.
    let set = app
        .put(
            "/v1/coaching/settings",
            &o.owner,
            json!({ "scale_min": 0, "scale_max": 10 }),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    let theirs = app.get("/v1/coaching/settings", &bob).await;
    assert_eq!(theirs.json, json!({ "scale_min": 1.0, "scale_max": 5.0 }));

    // Another tenant's owner lists only their own coachees and finds nothing of acme's.
    let listed = app.get("/v1/coaching/coachees", &other_owner).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let ids: Vec<&str> = listed.json["data"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|p| p["user_id"].as_str())
        .collect();
    assert_eq!(ids, [bob_id.as_str()]);
    for tail in ["overview", "coaches", "notes", "action-items"] {
        assert_problem(
            &app.get(
                &format!("/v1/coaching/coachees/{}/{tail}", o.agent_id),
                &other_owner,
            )
            .await,
            404,
            "coachee_not_found",
        );
    }
    // Within the tenant the lead reads their coachee's overview; a peer manager does not.
    let lead_list = app.get("/v1/coaching/coachees", &o.lead).await;
    assert!(lead_list.text.contains(&o.agent_id), "{}", lead_list.text);
    let overview = format!("/v1/coaching/coachees/{}/overview", o.agent_id);
    assert_problem(&app.get(&overview, &o.peer).await, 404, "coachee_not_found");

    // The overview's compliance is the matrix's: not started, then compliant once completed.
    let group = app.group(&o.owner, "Floor", &[&o.agent_id]).await;
    let (module, section) = app
        .module_with_section(
            &o.owner,
            json!({ "title": "Fire safety", "validity_months": 12 }),
            json!({ "title": "Exits" }),
        )
        .await;
    app.publish(&o.owner, &module).await;
    let assigned = app
        .put(
            &format!("/v1/modules/{module}/groups/{group}"),
            &o.owner,
            json!({ "deadline_days": 14, "is_mandatory": true }),
        )
        .await;
    assert_eq!(assigned.status, 200, "{}", assigned.text);
    let state = async || {
        let read = app.get(&overview, &o.lead).await;
        assert_eq!(read.status, 200, "{}", read.text);
        let item = read.json["compliance"][0].clone();
        assert_eq!(item["kind"], "MODULE", "{item}");
        assert_eq!(item["module_id"], module.as_str(), "{item}");
        assert!(item["due_at"].is_string(), "{item}");
        item
    };
    assert_eq!(state().await["status"], "NOT_STARTED");
    let done = app
        .post(
            &format!("/v1/modules/{module}/sections/{section}/complete"),
            &o.agent,
            json!({}),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    let item = state().await;
    assert_eq!(item["status"], "COMPLIANT");
    assert!(
        item["expires_at"].is_string(),
        "a 12-month certificate: {item}"
    );

    // Coachee lists and overviews are personal: an API key, even an all-powerful one, is refused.
    let (_, key) = app
        .api_key(
            &o.owner,
            json!({ "name": "hr sync", "permissions": ["MANAGE_USERS", "VIEW_ANALYTICS"] }),
        )
        .await;
    for uri in ["/v1/coaching/coachees", overview.as_str()] {
        assert_problem(&app.get(uri, &key).await, 403, "api_key_not_permitted");
    }
}
