//! Analytics on the hand-worked [`World`], with a few more rows per test; every expected figure
//! is derived in the comments beside it. The period is 30 Nov 2026 to now (11 Dec, 09:00) unless
//! said.

use guild_kernel::{ErrorCode, TenantRole};
use guild_testkit::TestDb;
use uuid::Uuid;

use super::{World, day, exec, now};
use crate::insights::activity::{self, ActiveBucket, CompletionBucket};
use crate::insights::events::events;
use crate::insights::funnel::funnel;
use crate::insights::quiz_items::quiz_items;
use crate::insights::xp::{SourceXp, xp};
use crate::insights::{AnalyticsFilter, Granularity};

fn period() -> AnalyticsFilter {
    AnalyticsFilter {
        from: Some(day(2026, 11, 30)),
        to: Some(now()),
        ..AnalyticsFilter::default()
    }
}

fn hr(w: &World) -> guild_kernel::Actor {
    guild_testkit::actor(w.tenant, w.boss, TenantRole::Hr)
}

#[test]
fn buckets_start_at_midnight_on_mondays_and_on_the_first_of_the_month() {
    let at = super::at("2026-12-09T15:00:00Z");
    assert_eq!(Granularity::Day.start_of(at), day(2026, 12, 9));
    assert_eq!(Granularity::Week.start_of(at), day(2026, 12, 7));
    assert_eq!(Granularity::Month.start_of(at), day(2026, 12, 1));
    assert_eq!(
        Granularity::Month.buckets(day(2026, 11, 15), day(2027, 1, 2)),
        [day(2026, 11, 1), day(2026, 12, 1), day(2027, 1, 1)]
    );
    assert_eq!(
        Granularity::Week.buckets(day(2026, 12, 2), day(2026, 12, 14)),
        [day(2026, 11, 30), day(2026, 12, 7)],
        "the 14th is the end, excluded"
    );
}

#[tokio::test]
async fn active_members_per_bucket_count_the_sessions_of_the_callers_scope() {
    let db = TestDb::new().await;
    let w = World::new(&db).await;
    let mut conn = db.conn().await;
    // Dave (pete's) is active on 10 Dec too: not the boss's.
    exec(
        &mut conn,
        &format!(
            "INSERT INTO usage_sessions (tenant_id, id, user_id, started_at, last_ping_at, latest) VALUES \
             ('{}', '{}', '{}', '2026-12-10T12:00:00Z', '2026-12-10T12:30:00Z', true)",
            w.tenant,
            Uuid::now_v7(),
            w.dave
        ),
    )
    .await;
    let boss = w.actor(&db, w.boss).await;

    // Ann's session spans 9 and 10 Dec; carl's is on 10 Dec.
    let a = activity::activity(&mut conn, &boss, &period(), Granularity::Day, now())
        .await
        .expect("activity");
    assert_eq!((a.member_count, a.active_members), (3, 2));
    assert_eq!(a.buckets.len(), 12, "30 Nov to 11 Dec");
    let busy: Vec<&ActiveBucket> = a.buckets.iter().filter(|b| b.active_members > 0).collect();
    assert_eq!(
        busy,
        [
            &ActiveBucket {
                start: day(2026, 12, 9),
                active_members: 1
            },
            &ActiveBucket {
                start: day(2026, 12, 10),
                active_members: 2
            },
        ]
    );

    let weeks = activity::activity(&mut conn, &boss, &period(), Granularity::Week, now())
        .await
        .expect("activity");
    let counts: Vec<i64> = weeks.buckets.iter().map(|b| b.active_members).collect();
    assert_eq!(counts, [0, 2], "each member once per week");

    // Everyone (HR): dave too.
    let all = activity::activity(&mut conn, &hr(&w), &period(), Granularity::Month, now())
        .await
        .expect("activity");
    assert_eq!(all.buckets.len(), 2, "November and December");
    assert_eq!(all.buckets[1].active_members, 3);

    // The lead's group (Support): carl alone.
    let lead = w.actor(&db, w.lead).await;
    let a = activity::activity(&mut conn, &lead, &period(), Granularity::Week, now())
        .await
        .expect("activity");
    assert_eq!((a.member_count, a.active_members), (1, 1));
}

#[tokio::test]
async fn completions_per_bucket_count_modules_and_members_in_the_period() {
    let db = TestDb::new().await;
    let w = World::new(&db).await;
    let mut conn = db.conn().await;
    let boss = w.actor(&db, w.boss).await;
    // Ann: Safety on 8 Dec (week of 7 Dec); dave's on 9 Dec is pete's.
    let c = activity::completions(&mut conn, &boss, &period(), Granularity::Week, now())
        .await
        .expect("completions");
    assert_eq!(
        c.buckets,
        [
            CompletionBucket {
                start: day(2026, 11, 30),
                completions: 0,
                members: 0
            },
            CompletionBucket {
                start: day(2026, 12, 7),
                completions: 1,
                members: 1
            },
        ]
    );
    // From 15 Dec 2025 by month: ann's Privacy (20 Dec 2025) and Safety.
    let year = AnalyticsFilter {
        from: Some(day(2025, 12, 15)),
        ..period()
    };
    let c = activity::completions(&mut conn, &boss, &year, Granularity::Month, now())
        .await
        .expect("completions");
    assert_eq!((c.completions, c.members), (2, 1));
    assert_eq!(c.buckets.len(), 13);
    assert_eq!(c.buckets[0].completions, 1);
    assert_eq!(c.buckets[12].completions, 1);
    // HR sees dave's too: two completions by two members that week.
    let c = activity::completions(&mut conn, &hr(&w), &period(), Granularity::Week, now())
        .await
        .expect("completions");
    assert_eq!((c.completions, c.members), (2, 2));
}

#[tokio::test]
async fn a_modules_funnel_counts_each_step_or_a_later_one_and_the_median_time_to_complete() {
    let db = TestDb::new().await;
    let w = World::new(&db).await;
    let mut conn = db.conn().await;
    let t = w.tenant;
    let section: Uuid = {
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        use guild_db::schema::sections;
        sections::table
            .filter(sections::module_id.eq(w.safety))
            .select(sections::id)
            .first(&mut conn)
            .await
            .expect("the section")
    };
    // Bob only viewed Safety (1 Dec); dave did its section at 08:00 on 9 Dec, two hours before
    // completing it. A view before the period counts for nobody.
    exec(
        &mut conn,
        &format!(
            "INSERT INTO user_module_access (tenant_id, user_id, module_id, last_accessed_at, seen_version) VALUES \
             ('{t}', '{}', '{}', '2026-12-01T10:00:00Z', 1), \
             ('{t}', '{}', '{}', '2026-11-01T10:00:00Z', 1)",
            w.bob, w.safety, w.carl, w.privacy
        ),
    )
    .await;
    exec(
        &mut conn,
        &format!(
            "INSERT INTO section_completions (tenant_id, id, user_id, module_id, section_id, completed_at) VALUES \
             ('{t}', '{}', '{}', '{}', '{section}', '2026-12-09T08:00:00Z')",
            Uuid::now_v7(),
            w.dave,
            w.safety
        ),
    )
    .await;
    // The boss: opened ann, bob, carl; started ann (section, attempt) and carl (attempts on
    // 5 Dec); completed ann, in 09:00 → 10:00 = 3600 s.
    let boss = w.actor(&db, w.boss).await;
    let f = funnel(&mut conn, &boss, w.safety, &period(), now())
        .await
        .expect("the funnel");
    assert_eq!(f.title, "Safety");
    assert_eq!(
        (f.member_count, f.opened, f.started, f.completed),
        (3, 3, 2, 1)
    );
    assert_eq!((f.start_rate, f.completion_rate), (Some(0.6667), Some(0.5)));
    assert_eq!(f.median_seconds_to_complete, Some(3600));

    // HR: dave too (started and completed, 7200 s): the median of 3600 and 7200.
    let f = funnel(&mut conn, &hr(&w), w.safety, &period(), now())
        .await
        .expect("the funnel");
    assert_eq!((f.opened, f.started, f.completed), (4, 3, 2));
    assert_eq!(f.median_seconds_to_complete, Some(5400));

    // Privacy: nothing in the period (carl's view is from November, ann's completion 2025).
    let f = funnel(&mut conn, &hr(&w), w.privacy, &period(), now())
        .await
        .expect("the funnel");
    assert_eq!((f.opened, f.started, f.completed), (0, 0, 0));
    assert_eq!((f.start_rate, f.median_seconds_to_complete), (None, None));

    // Another tenant's module (or none) is not found.
    let err = funnel(&mut conn, &boss, Uuid::now_v7(), &period(), now())
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.code()), (404, "module_not_found"));
}

#[tokio::test]
async fn quiz_items_give_the_share_correct_and_how_often_each_option_was_chosen() {
    let db = TestDb::new().await;
    let w = World::new(&db).await;
    let mut conn = db.conn().await;
    let (t, quiz) = (w.tenant, w.quiz);
    let (q1, q2, q3) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    exec(
        &mut conn,
        &format!(
            "INSERT INTO quiz_questions (tenant_id, id, quiz_id, kind, prompt, options, accepted_answers, sort_order) VALUES \
             ('{t}', '{q1}', '{quiz}', 'SINGLE_CHOICE', 'Which exit?', \
              '[{{\"id\":\"a\",\"text\":\"Nearest\",\"correct\":true}},{{\"id\":\"b\",\"text\":\"Main\",\"correct\":false}},{{\"id\":\"c\",\"text\":\"Lift\",\"correct\":false}}]', '{{}}', 0), \
             ('{t}', '{q2}', '{quiz}', 'FILL_IN_BLANK', 'The number to call', '[]', '{{112}}', 1)"
        ),
    )
    .await;
    // Q3 was deleted since: only carl's second attempt holds it.
    let q3_copy = format!(
        r#"[{{"id":"{q3}","quiz_id":"{quiz}","kind":"TRUE_FALSE","prompt":"Old question","options":[{{"id":"x","text":"True","correct":true}},{{"id":"y","text":"False","correct":false}}],"accepted_answers":[],"points":1,"explanation":null,"sort_order":2,"revision":1,"created_at":"2026-11-01T00:00:00Z","updated_at":"2026-11-01T00:00:00Z"}}]"#
    );
    let result = |q: Uuid, correct: bool| {
        format!(
            r#"{{"question_id":"{q}","kind":"X","points_awarded":{},"max_points":1,"correct":{correct},"feedback":null}}"#,
            u8::from(correct)
        )
    };
    let choice = |q: Uuid, o: &str| format!(r#"{{"question_id":"{q}","option_ids":["{o}"]}}"#);
    let text = |q: Uuid| format!(r#"{{"question_id":"{q}","text":"112"}}"#);
    for (user, started, questions, answers, results) in [
        // Ann: a (right), Q2 right.
        (
            w.ann,
            "2026-12-08T09:30:00Z",
            "[]".to_owned(),
            format!("[{},{}]", choice(q1, "a"), text(q2)),
            format!("[{},{}]", result(q1, true), result(q2, true)),
        ),
        // Carl, first: b (wrong), Q2 wrong.
        (
            w.carl,
            "2026-12-05T09:00:00Z",
            "[]".to_owned(),
            format!("[{},{}]", choice(q1, "b"), text(q2)),
            format!("[{},{}]", result(q1, false), result(q2, false)),
        ),
        // Carl, second: c (wrong), Q2 right, Q3 y (wrong).
        (
            w.carl,
            "2026-12-05T09:10:00Z",
            q3_copy.clone(),
            format!("[{},{},{}]", choice(q1, "c"), text(q2), choice(q3, "y")),
            format!(
                "[{},{},{}]",
                result(q1, false),
                result(q2, true),
                result(q3, false)
            ),
        ),
        // Bob, 2 Nov: before the period.
        (
            w.bob,
            "2026-11-02T09:00:00Z",
            "[]".to_owned(),
            format!("[{}]", choice(q1, "b")),
            format!("[{}]", result(q1, false)),
        ),
    ] {
        exec(
            &mut conn,
            &format!(
                "UPDATE quiz_attempts SET questions = '{questions}', answers = '{answers}', results = '{results}' \
                 WHERE tenant_id = '{t}' AND user_id = '{user}' AND started_at = '{started}'"
            ),
        )
        .await;
    }

    let boss = w.actor(&db, w.boss).await;
    let r = quiz_items(&mut conn, &boss, quiz, &period(), now())
        .await
        .expect("the items");
    assert_eq!((r.title.as_str(), r.attempts), ("Safety quiz", 3));
    let ids: Vec<(Uuid, bool)> = r.items.iter().map(|i| (i.question_id, i.removed)).collect();
    assert_eq!(ids, [(q1, false), (q2, false), (q3, true)]);
    let q = &r.items[0];
    assert_eq!(
        (q.answered, q.scored, q.correct, q.share_correct),
        (3, 3, 1, Some(0.3333))
    );
    let options: Vec<(&str, bool, i64, Option<f64>)> = q
        .options
        .iter()
        .map(|o| (o.option_id.as_str(), o.correct, o.chosen, o.share))
        .collect();
    assert_eq!(
        options,
        [
            ("a", true, 1, Some(0.3333)),
            ("b", false, 1, Some(0.3333)),
            ("c", false, 1, Some(0.3333))
        ]
    );
    let q = &r.items[1];
    assert_eq!(
        (q.answered, q.correct, q.share_correct),
        (3, 2, Some(0.6667))
    );
    assert!(q.options.is_empty(), "no options to a typed answer");
    let q = &r.items[2];
    assert_eq!(q.prompt, "Old question");
    assert_eq!((q.answered, q.correct, q.share_correct), (1, 0, Some(0.0)));
    let options: Vec<(&str, i64)> = q
        .options
        .iter()
        .map(|o| (o.option_id.as_str(), o.chosen))
        .collect();
    assert_eq!(options, [("x", 0), ("y", 1)]);

    // The lead (Support: carl): carl's two attempts only.
    let lead = w.actor(&db, w.lead).await;
    let r = quiz_items(&mut conn, &lead, quiz, &period(), now())
        .await
        .expect("the items");
    assert_eq!(r.attempts, 2);
    assert_eq!((r.items[0].answered, r.items[0].correct), (2, 0));

    let err = quiz_items(&mut conn, &boss, Uuid::now_v7(), &period(), now())
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.code()), (404, "quiz_not_found"));
}

#[tokio::test]
async fn event_attendance_counts_the_invited_registered_and_attended_of_the_scope() {
    let db = TestDb::new().await;
    let w = World::new(&db).await;
    let mut conn = db.conn().await;
    let t = w.tenant;
    let (e1, e2, e3, e4) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    let event = |id: Uuid, title: &str, starts: &str, status: &str, registered: i32| {
        format!(
            "('{t}', '{id}', '{title}', '', '{starts}', '{starts}'::timestamptz + interval '1 hour', 'UTC', 'ONLINE', \
              'https://meet.example.com/x', NULL, 10, '{status}', {registered}, '{}', now(), now())",
            w.boss
        )
    };
    exec(
        &mut conn,
        &format!(
            "INSERT INTO live_events (tenant_id, id, title, description, starts_at, ends_at, time_zone, location_type, \
               meeting_url, address, capacity, status, registered_count, created_by, created_at, updated_at) VALUES {}, {}, {}, {}",
            event(e1, "Drill", "2026-12-01T10:00:00Z", "COMPLETED", 3),
            event(e2, "Town hall", "2026-12-05T10:00:00Z", "COMPLETED", 1),
            event(e3, "Called off", "2026-12-06T10:00:00Z", "CANCELLED", 0),
            event(e4, "Next drill", "2026-12-20T10:00:00Z", "SCHEDULED", 0),
        ),
    )
    .await;
    exec(
        &mut conn,
        &format!(
            "INSERT INTO live_event_groups (tenant_id, event_id, group_id) VALUES ('{t}', '{e1}', '{}')",
            w.sales
        ),
    )
    .await;
    let reg = |event: Uuid, user: Uuid, status: &str, attended: bool| {
        format!(
            "('{t}', '{event}', '{user}', '{status}', 1, now(), now(), {})",
            if attended { "now()" } else { "NULL" }
        )
    };
    exec(
        &mut conn,
        &format!(
            "INSERT INTO live_event_registrations (tenant_id, event_id, user_id, status, position, created_at, updated_at, attended_at) VALUES \
             {}, {}, {}, {}, {}",
            reg(e1, w.ann, "REGISTERED", true),
            reg(e1, w.bob, "REGISTERED", false),
            reg(e1, w.dave, "REGISTERED", true),
            reg(e2, w.carl, "REGISTERED", true),
            reg(e2, w.bob, "WAITLISTED", false),
        ),
    )
    .await;
    // To the end of December: the upcoming drill is listed, not in the totals.
    let december = AnalyticsFilter {
        to: Some(day(2026, 12, 31)),
        ..period()
    };
    let boss = w.actor(&db, w.boss).await;
    let r = events(&mut conn, &boss, &december, now())
        .await
        .expect("attendance");
    let rows: Vec<(Uuid, i64, i64, i64, i64)> = r
        .events
        .iter()
        .map(|e| {
            (
                e.event_id,
                e.invited,
                e.registered,
                e.waitlisted,
                e.attended,
            )
        })
        .collect();
    // Drill (Sales): ann and bob invited and registered, ann attended; dave is pete's. Town
    // hall (everyone): the boss's three invited, carl registered and attended, bob waiting.
    assert_eq!(
        rows,
        [(e1, 2, 2, 0, 1), (e2, 3, 1, 1, 1), (e4, 3, 0, 0, 0)],
        "the cancelled event is left out"
    );
    assert_eq!(
        (r.events[0].registration_rate, r.events[0].attendance_rate),
        (Some(1.0), Some(0.5))
    );
    assert_eq!(r.event_count, 3);
    assert_eq!((r.invited, r.registered, r.attended), (5, 3, 2));
    assert_eq!(
        (r.registration_rate, r.attendance_rate),
        (Some(0.6), Some(0.6667))
    );

    // HR: dave counts in the drill (three Sales members).
    let r = events(&mut conn, &hr(&w), &december, now())
        .await
        .expect("attendance");
    assert_eq!(
        (
            r.events[0].invited,
            r.events[0].registered,
            r.events[0].attended
        ),
        (3, 3, 2)
    );
}

#[tokio::test]
async fn the_xp_economy_adds_up_earned_deducted_spent_held_and_released_in_the_period() {
    let db = TestDb::new().await;
    let w = World::new(&db).await;
    let mut conn = db.conn().await;
    let t = w.tenant;
    let (reward, approved, pending, rejected) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    exec(
        &mut conn,
        &format!(
            "INSERT INTO rewards (tenant_id, id, title, cost_xp) VALUES ('{t}', '{reward}', 'Mug', 30)"
        ),
    )
    .await;
    // Ann spent 30 on 9 Dec (the World's SPEND row); a hold of 10 on 4 Dec given back on 5 Dec.
    // Carl's 20 wait for approval since 10 Dec. Dave's approved redemption is pete's.
    exec(
        &mut conn,
        &format!(
            "INSERT INTO reward_redemptions (tenant_id, id, reward_id, user_id, cost_xp, status, reviewed_at, created_at) VALUES \
             ('{t}', '{approved}', '{reward}', '{ann}', 30, 'APPROVED', '2026-12-09T10:00:00Z', '2026-12-09T10:00:00Z'), \
             ('{t}', '{rejected}', '{reward}', '{ann}', 10, 'REJECTED', '2026-12-05T10:00:00Z', '2026-12-04T10:00:00Z'), \
             ('{t}', '{pending}', '{reward}', '{carl}', 20, 'PENDING', NULL, '2026-12-10T10:00:00Z'), \
             ('{t}', '{}', '{reward}', '{dave}', 50, 'APPROVED', '2026-12-09T10:00:00Z', '2026-12-09T10:00:00Z')",
            Uuid::now_v7(),
            ann = w.ann,
            carl = w.carl,
            dave = w.dave
        ),
    )
    .await;
    exec(
        &mut conn,
        &format!(
            "INSERT INTO xp_transactions (tenant_id, id, user_id, kind, amount, source, created_at) VALUES \
             ('{t}', '{}', '{ann}', 'HOLD', -10, 'REDEMPTION', '2026-12-04T10:00:00Z'), \
             ('{t}', '{}', '{ann}', 'RELEASE', 10, 'REDEMPTION', '2026-12-05T10:00:00Z'), \
             ('{t}', '{}', '{carl}', 'HOLD', -20, 'REDEMPTION', '2026-12-10T10:00:00Z')",
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            ann = w.ann,
            carl = w.carl
        ),
    )
    .await;
    exec(
        &mut conn,
        &format!(
            "INSERT INTO user_xp_balances (tenant_id, user_id, lifetime_xp, total_xp, held_xp, rank) VALUES \
             ('{t}', '{}', 75, 55, 20, 'VAJENEC')",
            w.carl
        ),
    )
    .await;

    let boss = w.actor(&db, w.boss).await;
    let e = xp(&mut conn, &boss, &period(), now()).await.expect("xp");
    // Earned: ann +40 (2 Dec) and 100 (8 Dec), carl 75; ann's 50 of 20 Nov is before. Deducted:
    // ann's −15. Balances now: ann 145, carl 55 (20 held).
    assert_eq!(
        (e.earned, e.deducted, e.spent, e.held, e.released),
        (215, 15, 30, 30, 10)
    );
    assert_eq!((e.balance_now, e.held_now), (200, 20));
    assert_eq!(
        e.earned_by_source,
        [
            SourceXp {
                source: "MODULE_COMPLETED".into(),
                xp: 100
            },
            SourceXp {
                source: "EVENT_ATTENDED".into(),
                xp: 75
            },
            SourceXp {
                source: "MANUAL".into(),
                xp: 40
            },
        ]
    );

    // HR: dave's 100 earned and 50 spent too.
    let e = xp(&mut conn, &hr(&w), &period(), now()).await.expect("xp");
    assert_eq!((e.earned, e.spent), (315, 80));
}

#[tokio::test]
async fn analytics_need_view_analytics_a_period_of_at_most_366_days_and_a_group_of_the_tenant() {
    let db = TestDb::new().await;
    let w = World::new(&db).await;
    let mut conn = db.conn().await;
    // Ann holds no grant; the boss's VIEW_MANAGER_DASHBOARD alone would not do either.
    let ann = w.actor(&db, w.ann).await;
    let err = xp(&mut conn, &ann, &period(), now()).await.unwrap_err();
    assert_eq!((err.status(), err.code()), (403, "forbidden"));
    let err = funnel(&mut conn, &ann, w.safety, &period(), now())
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403, "forbidden before not found");

    let boss = w.actor(&db, w.boss).await;
    let too_long = AnalyticsFilter {
        from: Some(day(2025, 12, 1)),
        ..period()
    };
    let err = activity::activity(&mut conn, &boss, &too_long, Granularity::Day, now())
        .await
        .unwrap_err();
    assert_eq!(err.status(), 422);
    let elsewhere = AnalyticsFilter {
        group_id: Some(Uuid::now_v7()),
        ..period()
    };
    let err = events(&mut conn, &boss, &elsewhere, now())
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.code()), (404, "group_not_found"));
    // Narrowed to Sales: ann and bob of the boss's three.
    let sales = AnalyticsFilter {
        group_id: Some(w.sales),
        ..period()
    };
    let e = xp(&mut conn, &boss, &sales, now()).await.expect("xp");
    assert_eq!((e.member_count, e.earned), (2, 140));
}
