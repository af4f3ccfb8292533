//! Live events over HTTP: created by admins (and not by employees), seen by the members of their
//! groups only (404 to others and to other tenants), edited with `If-Match`; registration, the
//! waitlist and its promotion with their notifications; changes of time or place and a
//! cancellation told to the registrants; API keys and VIEWERs limited; attendance links (tampered,
//! expired, reused refused; a valid one confirms once) and bulk confirmation, XP once.

use std::sync::Arc;

use chrono::{Duration, SecondsFormat, Utc};
use guild_kernel::{Clock, ManualClock};
use guild_tests::{TestApp, assert_problem, count, parse_ics};
use serde_json::{Value, json};

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

fn at(days: i64, hours: i64) -> String {
    (Utc::now() + Duration::days(days) + Duration::hours(hours))
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn body(groups: &[&str], capacity: i32) -> Value {
    json!({
        "title": "Fire safety walkthrough",
        "description": "We walk the evacuation routes together.",
        "starts_at": at(3, 0),
        "ends_at": at(3, 1),
        "time_zone": "Europe/Paris",
        "location_type": "ONLINE",
        "meeting_url": "https://meet.example.com/fire",
        "capacity": capacity,
        "group_ids": groups,
    })
}

/// The kinds, titles and bodies of `token`'s notifications.
async fn inbox(app: &TestApp, token: &str) -> Vec<(String, String, String)> {
    let got = app.get("/v1/me/notifications", token).await;
    assert_eq!(got.status, 200, "{}", got.text);
    got.json["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|n| (s(&n["kind"]), s(&n["title"]), s(&n["body"])))
        .collect()
}

/// The token of the last attendance link emailed to `to` (notification emails carry other links).
fn attendance_token(app: &TestApp, to: &str) -> String {
    let email = app
        .mail
        .sent()
        .into_iter()
        .rev()
        .find(|e| e.to == to && e.text.contains("/events/confirm-attendance?token="))
        .unwrap_or_else(|| panic!("no attendance link mailed to {to}"));
    email
        .text
        .split("confirm-attendance?token=")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .unwrap_or_default()
        .to_owned()
}

fn of_kind(notes: &[(String, String, String)], kind: &str) -> Vec<(String, String, String)> {
    notes.iter().filter(|n| n.0 == kind).cloned().collect()
}

#[actix_web::test]
async fn an_event_for_a_group_is_seen_by_its_members_only_and_edited_with_if_match() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let inside = app.member(&owner, "in@acme.example.com", "EMPLOYEE").await;
    let outside = app.member(&owner, "out@acme.example.com", "EMPLOYEE").await;
    let inside_id = app.me_id(&inside).await;
    let group = app.group(&owner, "Floor 2", &[&inside_id]).await;

    let refused = app.post("/v1/events", &inside, body(&[], 10)).await;
    assert_problem(&refused, 403, "forbidden");
    let mut bad = body(&[&group], 0);
    bad["time_zone"] = json!("Nowhere/Land");
    bad["meeting_url"] = json!("http://meet.example.com/fire");
    let refused = app.post("/v1/events", &owner, bad).await;
    assert_problem(&refused, 422, "validation_failed");

    let created = app.post("/v1/events", &owner, body(&[&group], 10)).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.header("etag"), Some("\"1\""));
    let id = s(&created.json["id"]);
    let uri = format!("/v1/events/{id}");

    assert_eq!(app.get(&uri, &inside).await.status, 200);
    assert_problem(&app.get(&uri, &outside).await, 404, "event_not_found");
    let stranger = app.owner("globex").await;
    assert_problem(&app.get(&uri, &stranger).await, 404, "event_not_found");
    let listed = app.get("/v1/events", &inside).await;
    assert_eq!(listed.json["data"].as_array().map(Vec::len), Some(1));
    let listed = app.get("/v1/events", &outside).await;
    assert_eq!(listed.json["data"].as_array().map(Vec::len), Some(0));
    let taken = app
        .put(&format!("{uri}/registration"), &outside, json!({}))
        .await;
    assert_problem(&taken, 404, "event_not_found");

    let registered = app
        .put(&format!("{uri}/registration"), &inside, json!({}))
        .await;
    assert_eq!(registered.status, 200, "{}", registered.text);
    assert_eq!(registered.json["status"], "REGISTERED");

    let moved = json!({ "starts_at": at(4, 0), "ends_at": at(4, 2) });
    assert_problem(
        &app.patch(&uri, &owner, moved.clone()).await,
        428,
        "precondition_required",
    );
    let stale = app
        .patch(&uri, &owner, moved.clone())
        .if_match("\"7\"")
        .await;
    assert_problem(&stale, 412, "precondition_failed");
    let updated = app.patch(&uri, &owner, moved).if_match("\"1\"").await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(updated.header("etag"), Some("\"2\""));
    let denied = app
        .patch(&uri, &inside, json!({ "title": "Mine now" }))
        .if_match("\"2\"")
        .await;
    assert_problem(&denied, 403, "forbidden");

    let cancelled = app
        .post(&format!("{uri}/cancel"), &owner, json!({}))
        .if_match("\"2\"")
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(cancelled.json["status"], "CANCELLED");
    let again = app
        .post(&format!("{uri}/cancel"), &owner, json!({}))
        .if_match("\"3\"")
        .await;
    assert_problem(&again, 409, "event_not_scheduled");

    app.run_worker().await;
    app.run_worker().await;
    let notes = inbox(&app, &inside).await;
    assert_eq!(of_kind(&notes, "EVENT_REGISTERED").len(), 1, "{notes:?}");
    let changed = of_kind(&notes, "EVENT_CHANGED");
    assert_eq!(changed.len(), 1, "{notes:?}");
    assert!(
        changed[0].2.contains("Join: https://meet.example.com/fire"),
        "an ONLINE event's change carries its link: {:?}",
        changed[0]
    );
    assert_eq!(of_kind(&notes, "EVENT_CANCELLED").len(), 1, "{notes:?}");
    assert!(inbox(&app, &outside).await.is_empty());
    app.run_worker().await;
    assert_eq!(inbox(&app, &inside).await.len(), 3, "delivered once each");
}

#[actix_web::test]
async fn a_full_event_waitlists_and_a_freed_seat_goes_to_the_first_waiting_who_is_told() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let first = app
        .member(&owner, "first@acme.example.com", "EMPLOYEE")
        .await;
    let second = app
        .member(&owner, "second@acme.example.com", "EMPLOYEE")
        .await;
    let third = app
        .member(&owner, "third@acme.example.com", "EMPLOYEE")
        .await;
    let viewer = app
        .member(&owner, "viewer@acme.example.com", "VIEWER")
        .await;
    let mut physical = body(&[], 1);
    physical["location_type"] = json!("PHYSICAL");
    physical["meeting_url"] = Value::Null;
    physical["address"] = json!("Building B, room 2");
    let created = app.post("/v1/events", &owner, physical).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let uri = format!("/v1/events/{}", s(&created.json["id"]));
    let reg = format!("{uri}/registration");

    assert_problem(&app.put(&reg, &viewer, json!({})).await, 403, "forbidden");
    let a = app.put(&reg, &first, json!({})).await;
    assert_eq!(a.json["status"], "REGISTERED", "{}", a.text);
    let b = app.put(&reg, &second, json!({})).await;
    assert_eq!(b.json["status"], "WAITLISTED", "{}", b.text);
    assert_eq!(b.json["waitlist_place"], 1);
    let c = app.put(&reg, &third, json!({})).await;
    assert_eq!(c.json["waitlist_place"], 2);
    let seen = app.get(&uri, &second).await;
    assert_eq!(seen.json["my_registration"]["status"], "WAITLISTED");
    assert_eq!(
        (
            seen.json["registered_count"].clone(),
            seen.json["waitlist_count"].clone()
        ),
        (json!(1), json!(2))
    );
    assert_problem(
        &app.get(&format!("{uri}/registrations"), &first).await,
        403,
        "forbidden",
    );

    let left = app.delete(&reg, &first).await;
    assert_eq!(left.status, 204, "{}", left.text);
    assert_problem(
        &app.delete(&reg, &first).await,
        404,
        "registration_not_found",
    );
    let listed = app.get(&format!("{uri}/registrations"), &owner).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let rows: Vec<(String, String)> = listed.json["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| (s(&r["name"]), s(&r["status"])))
        .collect();
    assert_eq!(
        rows,
        [
            (
                "second@acme.example.com".to_owned(),
                "REGISTERED".to_owned()
            ),
            ("third@acme.example.com".to_owned(), "WAITLISTED".to_owned()),
        ]
    );

    app.run_worker().await;
    app.run_worker().await;
    let promoted = of_kind(&inbox(&app, &second).await, "EVENT_PROMOTED");
    assert_eq!(promoted.len(), 1);
    assert!(
        promoted[0].2.contains("At: Building B, room 2"),
        "{promoted:?}"
    );
    assert!(of_kind(&inbox(&app, &third).await, "EVENT_PROMOTED").is_empty());

    // The owner adds members in bulk: no seat is left, so they wait, in the order given.
    let fourth = app
        .member(&owner, "fourth@acme.example.com", "EMPLOYEE")
        .await;
    let fourth_id = app.me_id(&fourth).await;
    let first_id = app.me_id(&first).await;
    let added = app
        .post(
            &format!("{uri}/registrations"),
            &owner,
            json!({ "user_ids": [fourth_id, first_id] }),
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.text);
    assert_eq!(added.json["waitlisted"], json!([fourth_id, first_id]));
}

#[actix_web::test]
async fn an_api_key_creates_events_with_its_permission_but_registers_only_as_a_member() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let (_, manager) = app
        .api_key(
            &owner,
            json!({ "name": "scheduler", "permissions": ["MANAGE_ALL_MODULES"] }),
        )
        .await;
    let (_, reader) = app
        .api_key(
            &owner,
            json!({ "name": "reader", "permissions": ["VIEW_ANALYTICS"] }),
        )
        .await;
    assert_problem(
        &app.post("/v1/events", &reader, body(&[], 5)).await,
        403,
        "forbidden",
    );
    let created = app.post("/v1/events", &manager, body(&[], 5)).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let reg = format!("/v1/events/{}/registration", s(&created.json["id"]));
    let refused = app.put(&reg, &manager, json!({})).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
}

#[actix_web::test]
async fn attendance_links_confirm_once_and_hosts_confirm_others_with_xp_awarded_once() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let c = clock.clone();
    let app = TestApp::with(move |state| state.clock = c).await;
    let owner = app.owner("acme").await;
    let mut members = Vec::new();
    for name in ["ann", "bob", "cyd"] {
        let email = format!("{name}@acme.example.com");
        let token = app.member(&owner, &email, "EMPLOYEE").await;
        let id = app.me_id(&token).await;
        members.push((email, token, id));
    }
    let owner_id = app.me_id(&owner).await;
    let start = clock.now() + Duration::days(1);
    let mut b = body(&[], 10);
    b["starts_at"] = json!(start.to_rfc3339_opts(SecondsFormat::Secs, true));
    b["ends_at"] = json!((start + Duration::hours(1)).to_rfc3339_opts(SecondsFormat::Secs, true));
    let created = app.post("/v1/events", &owner, b).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let event = s(&created.json["id"]);
    let uri = format!("/v1/events/{event}");
    for (_, token, _) in &members {
        let r = app
            .put(&format!("{uri}/registration"), token, json!({}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let early = app
        .post(&format!("{uri}/complete"), &owner, json!({}))
        .if_match("\"1\"")
        .await;
    assert_problem(&early, 409, "event_not_started");

    clock.advance(Duration::days(1) + Duration::hours(2));
    let done = app
        .post(&format!("{uri}/complete"), &owner, json!({}))
        .if_match("\"1\"")
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    app.run_worker().await;
    let confirm = |token: String| {
        let app = &app;
        async move {
            app.post_anonymous("/v1/event-attendance", json!({ "token": token }))
                .await
        }
    };

    // Ann: a tampered link is refused, hers confirms once.
    let ann = attendance_token(&app, &members[0].0);
    let mut tampered = ann.clone();
    let last = tampered.pop().unwrap_or('A');
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    assert_problem(&confirm(tampered).await, 401, "invalid_token");
    let mut other_event = ann.clone();
    other_event.replace_range(0..2, if ann.starts_with("AA") { "AB" } else { "AA" });
    assert_problem(&confirm(other_event).await, 401, "invalid_token");
    let ok = confirm(ann.clone()).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.json["event_id"], json!(event));
    assert_problem(&confirm(ann).await, 409, "attendance_link_used");

    // The host confirms others, never themselves; Ann (already confirmed) is skipped.
    let own = app
        .post(
            &format!("{uri}/attendance"),
            &owner,
            json!({ "user_ids": [members[1].2, owner_id] }),
        )
        .await;
    assert_problem(&own, 403, "cannot_confirm_own_attendance");
    let by_member = app
        .post(
            &format!("{uri}/attendance"),
            &members[2].1,
            json!({ "user_ids": [members[1].2] }),
        )
        .await;
    assert_problem(&by_member, 403, "forbidden");
    let bulk = app
        .post(
            &format!("{uri}/attendance"),
            &owner,
            json!({ "user_ids": [members[0].2, members[1].2] }),
        )
        .await;
    assert_eq!(bulk.status, 200, "{}", bulk.text);
    assert_eq!(bulk.json["confirmed"], json!([members[1].2]));
    assert_eq!(bulk.json["skipped"], json!([members[0].2]));
    // Bob's own link still works once, and earns nothing more.
    let bob = attendance_token(&app, &members[1].0);
    assert_eq!(confirm(bob).await.status, 200);

    app.run_worker().await;
    app.run_worker().await;
    let xp = |user: &str| {
        format!(
            "SELECT count(*) AS n FROM xp_transactions WHERE source = 'EVENT_ATTENDED' \
             AND source_entity_id = '{event}' AND user_id = '{user}'"
        )
    };
    assert_eq!(count(&app, &xp(&members[0].2)).await, 1);
    assert_eq!(count(&app, &xp(&members[1].2)).await, 1);
    assert_eq!(count(&app, &xp(&members[2].2)).await, 0);
    let attended = app.get("/v1/events?scope=attended", &members[0].1).await;
    assert_eq!(
        attended.json["data"][0]["id"],
        json!(event),
        "{}",
        attended.text
    );

    // Cyd waited too long: 14 days after the event the link has expired.
    clock.advance(Duration::days(15));
    let cyd = attendance_token(&app, &members[2].0);
    assert_problem(&confirm(cyd).await, 410, "attendance_link_expired");
}

#[actix_web::test]
async fn the_ics_file_keeps_its_uid_bumps_its_sequence_and_says_cancelled_for_a_real_parser() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let mut b = body(&[], 5);
    b["starts_at"] = json!("2031-03-04T08:30:00Z");
    b["ends_at"] = json!("2031-03-04T09:30:00Z");
    let created = app.post("/v1/events", &owner, b).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = s(&created.json["id"]);
    let uri = format!("/v1/events/{id}");
    let first = {
        let got = app.get(&format!("{uri}/ics"), &owner).await;
        assert_eq!(got.status, 200, "{}", got.text);
        assert_eq!(
            got.header("content-type"),
            Some("text/calendar; charset=utf-8")
        );
        parse_ics(&got.text)
    };
    assert_eq!(first["method"], "PUBLISH");
    assert_eq!(
        first["zones"],
        json!(["Europe/Paris"]),
        "the zone is defined in the file"
    );
    let e = &first["events"][0];
    assert_eq!(e["uid"], json!(format!("{id}@localhost")));
    assert_eq!(e["sequence"], 0);
    assert_eq!(e["tzid"], "Europe/Paris");
    assert_eq!(
        e["start"], "2031-03-04T09:30:00+01:00",
        "08:30 UTC is 09:30 in Paris in March"
    );
    assert_eq!(e["status"], "CONFIRMED");
    assert_eq!(e["location"], "https://meet.example.com/fire");

    let moved = app
        .patch(
            &uri,
            &owner,
            json!({ "starts_at": "2031-07-01T07:00:00Z", "ends_at": "2031-07-01T08:00:00Z" }),
        )
        .if_match("\"1\"")
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    let second = {
        let got = app.get(&format!("{uri}/ics"), &owner).await;
        parse_ics(&got.text)
    };
    let e = &second["events"][0];
    assert_eq!(e["uid"], json!(format!("{id}@localhost")), "the same entry");
    assert_eq!(e["sequence"], 1);
    assert_eq!(
        e["start"], "2031-07-01T09:00:00+02:00",
        "summer time in Paris"
    );

    let cancelled = app
        .post(&format!("{uri}/cancel"), &owner, json!({}))
        .if_match("\"2\"")
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    let third = {
        let got = app.get(&format!("{uri}/ics"), &owner).await;
        parse_ics(&got.text)
    };
    let e = &third["events"][0];
    assert_eq!(e["uid"], json!(format!("{id}@localhost")));
    assert_eq!(e["sequence"], 2);
    assert_eq!(e["status"], "CANCELLED");
}

#[actix_web::test]
async fn reminders_go_out_once_a_day_and_an_hour_before_with_where_to_go_and_again_after_a_move() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let c = clock.clone();
    let app = TestApp::with(move |state| state.clock = c).await;
    let owner = app.owner("acme").await;
    let seated = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let waiting = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let start = clock.now() + Duration::hours(30);
    let mut b = body(&[], 1);
    b["location_type"] = json!("HYBRID");
    b["address"] = json!("12 Rue de la Paix, Paris");
    b["starts_at"] = json!(start.to_rfc3339_opts(SecondsFormat::Secs, true));
    b["ends_at"] = json!((start + Duration::hours(1)).to_rfc3339_opts(SecondsFormat::Secs, true));
    let created = app.post("/v1/events", &owner, b).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let uri = format!("/v1/events/{}", s(&created.json["id"]));
    for token in [&seated, &waiting] {
        let r = app
            .put(&format!("{uri}/registration"), token, json!({}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let scan = || async {
        app.queue_job("live.event_reminders").await;
        app.run_worker().await;
    };
    let reminders = |token: &str| {
        let token = token.to_owned();
        let app = &app;
        async move { of_kind(&inbox(app, &token).await, "EVENT_REMINDER") }
    };

    // 30 hours before: nothing is due.
    scan().await;
    assert!(reminders(&seated).await.is_empty());

    // 23 hours before: the day reminder, to the member with a seat only, twice scanned, once sent.
    clock.advance(Duration::hours(7));
    scan().await;
    scan().await;
    let got = reminders(&seated).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].1.starts_with("Tomorrow:"), "{got:?}");
    assert!(
        got[0].2.contains("12 Rue de la Paix, Paris")
            && got[0].2.contains("https://meet.example.com/fire"),
        "a hybrid event's reminder gives the address and the join link: {got:?}"
    );
    assert!(
        reminders(&waiting).await.is_empty(),
        "the waitlist is not reminded"
    );
    let mailed = app
        .mail
        .sent()
        .into_iter()
        .filter(|e| e.to == "ann@acme.example.com" && e.text.contains("12 Rue de la Paix"))
        .count();
    assert!(mailed >= 1, "the reminder is emailed too");

    // 30 minutes before: the hour reminder, once.
    clock.advance(Duration::hours(22) + Duration::minutes(30));
    scan().await;
    scan().await;
    let got = reminders(&seated).await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(
        got.iter()
            .filter(|n| n.1.starts_with("In an hour:"))
            .count(),
        1,
        "{got:?}"
    );

    // Moved to the next day: both reminders are due again for the new time.
    let later = clock.now() + Duration::hours(20);
    let moved = app
        .patch(
            &uri,
            &owner,
            json!({
                "starts_at": later.to_rfc3339_opts(SecondsFormat::Secs, true),
                "ends_at": (later + Duration::hours(1)).to_rfc3339_opts(SecondsFormat::Secs, true),
            }),
        )
        .if_match("\"1\"")
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    scan().await;
    let got = reminders(&seated).await;
    assert_eq!(
        got.iter().filter(|n| n.1.starts_with("Tomorrow:")).count(),
        2,
        "{got:?}"
    );
}

/// The calendar invitations emailed to `to`, oldest first: (content type, the parsed file).
fn invitations_to(app: &TestApp, to: &str) -> Vec<(String, Value)> {
    app.mail
        .sent()
        .into_iter()
        .filter(|e| e.to == to)
        .flat_map(|e| e.attachments)
        .filter(|a| a.filename == "invite.ics")
        .map(|a| {
            let text = String::from_utf8(a.content).expect("UTF-8");
            (a.content_type, parse_ics(&text))
        })
        .collect()
}

#[actix_web::test]
async fn registration_change_and_cancellation_emails_carry_calendar_invitations_for_seat_holders() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let mut b = body(&[], 1);
    b["starts_at"] = json!("2031-03-04T08:30:00Z");
    b["ends_at"] = json!("2031-03-04T09:30:00Z");
    let created = app.post("/v1/events", &owner, b).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = s(&created.json["id"]);
    let uri = format!("/v1/events/{id}");
    for token in [&ann, &bob] {
        let r = app
            .put(&format!("{uri}/registration"), token, json!({}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    app.run_worker().await;

    let got = invitations_to(&app, "ann@acme.example.com");
    assert_eq!(got.len(), 1, "one invitation for the seat: {got:?}");
    let (content_type, ics) = &got[0];
    assert_eq!(content_type, "text/calendar; method=REQUEST; charset=UTF-8");
    assert_eq!(ics["method"], "REQUEST");
    assert_eq!(ics["zones"], json!(["Europe/Paris"]));
    let e = &ics["events"][0];
    assert_eq!(e["uid"], json!(format!("{id}@localhost")));
    assert_eq!(e["sequence"], 0);
    assert_eq!(e["tzid"], "Europe/Paris");
    assert_eq!(e["attendee"], "mailto:ann@acme.example.com");
    assert!(
        e["organizer"]
            .as_str()
            .is_some_and(|o| o.starts_with("mailto:owner")),
        "the creator organises it: {e}"
    );
    assert!(
        invitations_to(&app, "bob@acme.example.com").is_empty(),
        "the waitlist has nothing to put in a calendar"
    );

    let moved = app
        .patch(
            &uri,
            &owner,
            json!({ "starts_at": "2031-07-01T07:00:00Z", "ends_at": "2031-07-01T08:00:00Z" }),
        )
        .if_match("\"1\"")
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    app.run_worker().await;
    let got = invitations_to(&app, "ann@acme.example.com");
    assert_eq!(got.len(), 2, "{got:?}");
    let e = &got[1].1["events"][0];
    assert_eq!(got[1].1["method"], "REQUEST");
    assert_eq!(
        e["uid"],
        json!(format!("{id}@localhost")),
        "the same entry, updated"
    );
    assert_eq!(e["sequence"], 1);
    assert_eq!(e["start"], "2031-07-01T09:00:00+02:00");

    let cancelled = app
        .post(&format!("{uri}/cancel"), &owner, json!({}))
        .if_match("\"2\"")
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    app.run_worker().await;
    let got = invitations_to(&app, "ann@acme.example.com");
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[2].0, "text/calendar; method=CANCEL; charset=UTF-8");
    assert_eq!(got[2].1["method"], "CANCEL");
    let e = &got[2].1["events"][0];
    assert_eq!(e["uid"], json!(format!("{id}@localhost")));
    assert_eq!(e["sequence"], 2);
    assert_eq!(e["status"], "CANCELLED");
    assert!(invitations_to(&app, "bob@acme.example.com").is_empty());
}

#[actix_web::test]
async fn a_calendar_feed_lists_my_seats_and_due_dates_until_revoked_and_nobody_elses() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let ann_id = app.me_id(&ann).await;
    let group = app.group(&owner, "Floor 2", &[&ann_id]).await;
    let (module, _) = app.published_module(&owner, "Fire safety").await;
    let assigned = app
        .put(
            &format!("/v1/modules/{module}/groups/{group}"),
            &owner,
            json!({ "is_mandatory": true, "deadline_days": 30 }),
        )
        .await;
    assert_eq!(assigned.status, 200, "{}", assigned.text);

    let mut b = body(&[], 1);
    b["starts_at"] = json!("2031-03-04T08:30:00Z");
    b["ends_at"] = json!("2031-03-04T09:30:00Z");
    let created = app.post("/v1/events", &owner, b).await;
    let event = s(&created.json["id"]);
    let uri = format!("/v1/events/{event}");
    for token in [&ann, &bob] {
        let r = app
            .put(&format!("{uri}/registration"), token, json!({}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }

    assert_problem(
        &app.get("/v1/me/calendar-feed", &ann).await,
        404,
        "calendar_feed_not_found",
    );
    let issued = app.put("/v1/me/calendar-feed", &ann, json!({})).await;
    assert_eq!(issued.status, 200, "{}", issued.text);
    let url = s(&issued.json["url"]);
    assert!(url.ends_with(".ics"), "{url}");
    assert!(s(&issued.json["webcal_url"]).starts_with("webcal://"));
    let path = &url[url.find("/v1/").expect("an API path")..];

    let read = app.request(actix_web::http::Method::GET, path).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(
        read.header("content-type"),
        Some("text/calendar; charset=utf-8")
    );
    let feed = parse_ics(&read.text);
    assert_eq!(feed["method"], "PUBLISH");
    assert_eq!(feed["zones"], json!(["Europe/Paris"]));
    let entries = feed["events"].as_array().cloned().unwrap_or_default();
    let uids: Vec<String> = entries.iter().map(|e| s(&e["uid"])).collect();
    assert!(uids.contains(&format!("{event}@localhost")), "{feed}");
    let ann_uid = format!("due-{module}-{ann_id}@localhost");
    assert!(
        uids.contains(&ann_uid),
        "the assigned module's due date: {feed}"
    );
    assert_eq!(entries.len(), 2, "{feed}");
    let seen = app.get("/v1/me/calendar-feed", &ann).await;
    assert_eq!(seen.status, 200, "{}", seen.text);
    assert!(seen.json["last_read_at"].is_string(), "{}", seen.text);
    assert!(seen.json.get("url").is_none(), "the URL is shown once");

    // Bob is waitlisted and has no assignment: his own feed is empty of Ann's things.
    let bobs = app.put("/v1/me/calendar-feed", &bob, json!({})).await;
    let bob_url = s(&bobs.json["url"]);
    let bob_feed = app
        .request(
            actix_web::http::Method::GET,
            &bob_url[bob_url.find("/v1/").unwrap()..],
        )
        .await;
    assert_eq!(bob_feed.status, 200, "{}", bob_feed.text);
    assert_eq!(parse_ics(&bob_feed.text)["events"], json!([]));

    // Tampered, another tenant's id, or revoked: 404.
    let token = path
        .rsplit('/')
        .next()
        .unwrap()
        .trim_end_matches(".ics")
        .to_owned();
    let (tenant, secret) = token.split_once('.').unwrap();
    let mut flipped: Vec<char> = secret.chars().collect();
    flipped[0] = if flipped[0] == 'A' { 'B' } else { 'A' };
    let flipped: String = flipped.into_iter().collect();
    for bad in [
        format!("/v1/calendar-feeds/{tenant}.{flipped}"),
        format!("/v1/calendar-feeds/00000000-0000-0000-0000-000000000000.{secret}"),
        "/v1/calendar-feeds/not-a-token".to_owned(),
    ] {
        let got = app.request(actix_web::http::Method::GET, &bad).await;
        assert_problem(&got, 404, "calendar_feed_not_found");
    }
    let reissued = app.put("/v1/me/calendar-feed", &ann, json!({})).await;
    assert_eq!(reissued.status, 200);
    let old = app.request(actix_web::http::Method::GET, path).await;
    assert_problem(&old, 404, "calendar_feed_not_found");
    let revoked = app.delete("/v1/me/calendar-feed", &ann).await;
    assert_eq!(revoked.status, 204, "{}", revoked.text);
    let new_url = s(&reissued.json["url"]);
    let gone = app
        .request(
            actix_web::http::Method::GET,
            &new_url[new_url.find("/v1/").unwrap()..],
        )
        .await;
    assert_problem(&gone, 404, "calendar_feed_not_found");
    assert_problem(
        &app.delete("/v1/me/calendar-feed", &ann).await,
        404,
        "calendar_feed_not_found",
    );

    // An API key without act_as_member has no calendar of its own.
    let (_, key) = app
        .api_key(
            &owner,
            json!({ "name": "sync", "permissions": ["VIEW_ANALYTICS"] }),
        )
        .await;
    let refused = app.put("/v1/me/calendar-feed", &key, json!({})).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
}

#[actix_web::test]
async fn a_required_event_completes_its_module_once_attendance_is_confirmed() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let c = clock.clone();
    let app = TestApp::with(move |state| state.clock = c).await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let ann_id = app.me_id(&ann).await;
    let (module, section) = app.published_module(&owner, "Forklift licence").await;
    let start = clock.now() + Duration::days(1);
    let mut b = body(&[], 10);
    b["module_id"] = json!(module);
    b["required"] = json!(true);
    b["starts_at"] = json!(start.to_rfc3339_opts(SecondsFormat::Secs, true));
    b["ends_at"] = json!((start + Duration::hours(1)).to_rfc3339_opts(SecondsFormat::Secs, true));
    let created = app.post("/v1/events", &owner, b).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let uri = format!("/v1/events/{}", s(&created.json["id"]));
    let r = app
        .put(&format!("{uri}/registration"), &ann, json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Every section done is not enough: the practical session is part of the module.
    let done = app
        .post(
            &format!("/v1/modules/{module}/sections/{section}/complete"),
            &ann,
            json!({}),
        )
        .await;
    assert!(done.status < 300, "{}", done.text);
    app.run_worker().await;
    let progress = app
        .get(&format!("/v1/modules/{module}/progress"), &ann)
        .await;
    assert_eq!(progress.status, 200, "{}", progress.text);
    assert_eq!(progress.json["attendance_required"], true);
    assert_eq!(progress.json["attended"], false);
    assert_eq!(progress.json["percent"], 50);
    assert!(progress.json["completed_at"].is_null(), "{}", progress.text);

    clock.advance(Duration::days(1) + Duration::hours(2));
    let completed = app
        .post(&format!("{uri}/complete"), &owner, json!({}))
        .if_match("\"1\"")
        .await;
    assert_eq!(completed.status, 200, "{}", completed.text);
    let confirmed = app
        .post(
            &format!("{uri}/attendance"),
            &owner,
            json!({ "user_ids": [ann_id] }),
        )
        .await;
    assert!(confirmed.status < 300, "{}", confirmed.text);
    app.run_worker().await;
    let progress = app
        .get(&format!("/v1/modules/{module}/progress"), &ann)
        .await;
    assert_eq!(progress.json["attended"], true, "{}", progress.text);
    assert_eq!(progress.json["percent"], 100);
    assert!(
        progress.json["completed_at"].is_string(),
        "{}",
        progress.text
    );
    assert!(
        progress.json["certificate_id"].is_string(),
        "{}",
        progress.text
    );
    let completions = count(
        &app,
        &format!(
            "SELECT count(*) AS n FROM module_completions WHERE user_id = '{ann_id}' \
             AND module_id = '{module}'"
        ),
    )
    .await;
    assert_eq!(completions, 1);
}

#[actix_web::test]
async fn materials_are_added_by_managers_and_downloaded_by_seat_holders_only() {
    const PDF: &[u8] =
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <</Type /Catalog>> endobj\ntrailer <<>>\n%%EOF\n";
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let uploaded = app
        .upload("/v1/media", &owner, "slides.pdf", PDF, Some("Slides"))
        .await;
    assert_eq!(uploaded.status, 201, "{}", uploaded.text);
    let asset = s(&uploaded.json["id"]);
    let created = app.post("/v1/events", &owner, body(&[], 1)).await;
    let uri = format!("/v1/events/{}", s(&created.json["id"]));
    let material = format!("{uri}/materials/{asset}");

    // A member does not add materials; a manager does, once.
    assert_problem(&app.put(&material, &ann, json!({})).await, 403, "forbidden");
    let added = app.put(&material, &owner, json!({})).await;
    assert_eq!(added.status, 200, "{}", added.text);
    let again = app.put(&material, &owner, json!({})).await;
    assert_eq!(again.json["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(again.json["data"][0]["title"], "Slides");
    let unknown = format!("{uri}/materials/00000000-0000-0000-0000-000000000000");
    assert_problem(
        &app.put(&unknown, &owner, json!({})).await,
        404,
        "asset_not_found",
    );

    // Ann holds the seat, Bob waits: Ann lists and downloads, Bob does neither.
    for token in [&ann, &bob] {
        let r = app
            .put(&format!("{uri}/registration"), token, json!({}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let listed = app.get(&format!("{uri}/materials"), &ann).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.json["data"][0]["asset_id"], json!(asset));
    let link = app.get(&format!("{material}/download"), &ann).await;
    assert_eq!(link.status, 200, "{}", link.text);
    assert_eq!(link.json["file_name"], "slides.pdf");
    let url = s(&link.json["url"]);
    let path = url.strip_prefix("http://localhost:8080").unwrap_or(&url);
    let bytes = app.request(actix_web::http::Method::GET, path).await;
    assert_eq!(bytes.status, 200, "the signed link serves the file");
    assert_problem(
        &app.get(&format!("{uri}/materials"), &bob).await,
        403,
        "forbidden",
    );
    assert_problem(
        &app.get(&format!("{material}/download"), &bob).await,
        403,
        "forbidden",
    );

    // Another tenant sees no event; a file that is not a material is not downloaded through it.
    let stranger = app.owner("globex").await;
    assert_problem(
        &app.get(&format!("{uri}/materials"), &stranger).await,
        404,
        "event_not_found",
    );
    assert_problem(
        &app.get(&format!("{unknown}/download"), &ann).await,
        404,
        "material_not_found",
    );

    let removed = app.delete(&material, &owner).await;
    assert_eq!(removed.status, 204, "{}", removed.text);
    assert_problem(
        &app.delete(&material, &owner).await,
        404,
        "material_not_found",
    );
    let listed = app.get(&format!("{uri}/materials"), &ann).await;
    assert_eq!(listed.json["data"], json!([]));
}

#[actix_web::test]
async fn materials_stop_at_twenty_and_an_api_key_adds_them_only_with_its_permission() {
    const PDF: &[u8] =
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <</Type /Catalog>> endobj\ntrailer <<>>\n%%EOF\n";
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let created = app.post("/v1/events", &owner, body(&[], 5)).await;
    let uri = format!("/v1/events/{}", s(&created.json["id"]));
    let mut assets = Vec::new();
    for i in 0..21 {
        let up = app
            .upload("/v1/media", &owner, &format!("handout-{i}.pdf"), PDF, None)
            .await;
        assert_eq!(up.status, 201, "{}", up.text);
        assets.push(s(&up.json["id"]));
    }
    let (_, reader) = app
        .api_key(
            &owner,
            json!({ "name": "sync", "permissions": ["VIEW_ANALYTICS"] }),
        )
        .await;
    let refused = app
        .put(
            &format!("{uri}/materials/{}", assets[0]),
            &reader,
            json!({}),
        )
        .await;
    assert_problem(&refused, 403, "forbidden");
    let (_, editor) = app
        .api_key(
            &owner,
            json!({ "name": "lms", "permissions": ["MANAGE_ALL_MODULES"] }),
        )
        .await;
    for asset in &assets[..20] {
        let added = app
            .put(&format!("{uri}/materials/{asset}"), &editor, json!({}))
            .await;
        assert_eq!(added.status, 200, "{}", added.text);
    }
    let over = app
        .put(
            &format!("{uri}/materials/{}", assets[20]),
            &owner,
            json!({}),
        )
        .await;
    assert_problem(&over, 409, "material_limit_reached");
    let again = app
        .put(&format!("{uri}/materials/{}", assets[0]), &owner, json!({}))
        .await;
    assert_eq!(
        again.status, 200,
        "adding one it holds is not one more: {}",
        again.text
    );
}
