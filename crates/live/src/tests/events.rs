//! Domain tests of live events and their registrations on a real database.

use chrono::{DateTime, Duration, TimeZone, Utc};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_kernel::{Actor, ErrorCode, PageRequest, TenantId, TenantRole};
use guild_testkit::TestDb;
use uuid::Uuid;

use crate::LiveError;
use crate::events::{self, EventChanges, EventInput, EventStatus, LocationType, Scope};
use crate::registrations::{self, RegistrationStatus};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 11, 9, 0, 0).unwrap()
}

async fn exec(conn: &mut AsyncPgConnection, sql: &str) {
    diesel::sql_query(sql)
        .execute(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// A tenant with an owner, a mentor of a module assigned to group A, and `members` employees
/// (the first half in group A).
struct World {
    tenant: Uuid,
    owner: Uuid,
    mentor: Uuid,
    module: Uuid,
    group_a: Uuid,
    group_b: Uuid,
    members: Vec<Uuid>,
}

impl World {
    async fn new(db: &TestDb, members: usize) -> Self {
        let mut conn = db.conn().await;
        let tenant = Uuid::now_v7();
        exec(
            &mut conn,
            &format!(
                "INSERT INTO tenants (id, name, slug) VALUES ('{tenant}', 'T', 't{}')",
                tenant.simple()
            ),
        )
        .await;
        let mut person = async |role: &str, i: usize| {
            let user = Uuid::now_v7();
            exec(
                &mut conn,
                &format!(
                    "INSERT INTO users (id, email, name) VALUES ('{user}', '{role}{i}-{user}@x.example.com', '{role} {i}')"
                ),
            )
            .await;
            exec(
                &mut conn,
                &format!(
                    "INSERT INTO memberships (tenant_id, user_id, role, status) VALUES ('{tenant}', '{user}', '{role}', 'ACTIVE')"
                ),
            )
            .await;
            user
        };
        let owner = person("OWNER", 0).await;
        let mentor = person("EMPLOYEE", 0).await;
        let mut list = Vec::new();
        for i in 0..members {
            list.push(person("EMPLOYEE", i + 1).await);
        }
        let (module, group_a, group_b) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let mut sql = vec![
            format!(
                "INSERT INTO groups (tenant_id, id, name) VALUES ('{tenant}', '{group_a}', 'A'), ('{tenant}', '{group_b}', 'B')"
            ),
            format!(
                "INSERT INTO modules (tenant_id, id, title, status, created_by) VALUES ('{tenant}', '{module}', 'Safety', 'PUBLISHED', '{owner}')"
            ),
            format!(
                "INSERT INTO module_mentors (tenant_id, module_id, user_id) VALUES ('{tenant}', '{module}', '{mentor}')"
            ),
            format!(
                "INSERT INTO module_groups (tenant_id, module_id, group_id) VALUES ('{tenant}', '{module}', '{group_a}')"
            ),
        ];
        for m in list.iter().take(members / 2) {
            sql.push(format!(
                "INSERT INTO user_groups (tenant_id, group_id, user_id) VALUES ('{tenant}', '{group_a}', '{m}')"
            ));
        }
        for s in sql {
            exec(&mut conn, &s).await;
        }
        Self {
            tenant,
            owner,
            mentor,
            module,
            group_a,
            group_b,
            members: list,
        }
    }

    fn actor(&self, user: Uuid) -> Actor {
        let role = if user == self.owner {
            TenantRole::Owner
        } else {
            TenantRole::Employee
        };
        guild_testkit::actor(self.tenant, user, role)
    }

    fn input(&self) -> EventInput {
        EventInput {
            title: "Fire drill walkthrough".into(),
            description: "Where to go.".into(),
            starts_at: now() + Duration::days(2),
            ends_at: now() + Duration::days(2) + Duration::hours(1),
            time_zone: "Europe/Paris".into(),
            location_type: LocationType::Hybrid,
            meeting_url: Some("https://meet.example.com/drill".into()),
            address: Some("1 Rue de la Paix, Paris".into()),
            capacity: 20,
            module_id: None,
            required: false,
            host_ids: Vec::new(),
            group_ids: Vec::new(),
        }
    }
}

fn fields(err: &LiveError) -> Vec<String> {
    err.field_errors().into_iter().map(|f| f.field).collect()
}

#[tokio::test]
async fn an_event_is_validated_as_a_whole_and_scoped_to_its_mentors_module_audience() {
    let db = TestDb::new().await;
    let w = World::new(&db, 4).await;
    let owner = w.actor(w.owner);
    let mut conn = db.conn().await;

    let mut bad = w.input();
    bad.ends_at = bad.starts_at;
    bad.time_zone = "Mars/Olympus".into();
    bad.meeting_url = Some("http://meet.example.com".into());
    bad.capacity = 0;
    bad.required = true;
    let err = events::create(&mut conn, &owner, &bad, now())
        .await
        .unwrap_err();
    assert_eq!(err.status(), 422);
    let mut f = fields(&err);
    f.sort();
    assert_eq!(
        f,
        [
            "capacity",
            "ends_at",
            "meeting_url",
            "required",
            "time_zone"
        ]
    );

    let mut physical = w.input();
    physical.location_type = LocationType::Physical;
    let err = events::create(&mut conn, &owner, &physical, now())
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["meeting_url"], "a PHYSICAL event has no URL");
    let mut past = w.input();
    past.starts_at = now() - Duration::hours(1);
    let err = events::create(&mut conn, &owner, &past, now())
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["starts_at"]);

    // An employee may not create an event of the tenant; the module's mentor may, for the
    // module's groups only.
    let mentor = w.actor(w.mentor);
    let err = events::create(&mut conn, &mentor, &w.input(), now())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "forbidden");
    let mut theirs = w.input();
    theirs.module_id = Some(w.module);
    let err = events::create(&mut conn, &mentor, &theirs, now())
        .await
        .unwrap_err();
    assert_eq!(
        fields(&err),
        ["group_ids"],
        "a mentor names the module's groups"
    );
    theirs.group_ids = vec![w.group_b];
    let err = events::create(&mut conn, &mentor, &theirs, now())
        .await
        .unwrap_err();
    assert_eq!(
        fields(&err),
        ["group_ids"],
        "group B is not assigned the module"
    );
    theirs.group_ids = vec![w.group_a];
    theirs.required = true;
    let created = events::create(&mut conn, &mentor, &theirs, now())
        .await
        .unwrap();
    assert_eq!(created.host_ids, [w.mentor], "the creator hosts by default");
    assert_eq!(created.revision, 1);
    assert!(created.manageable);
    let other_member = w.actor(w.members[0]);
    let err = events::create(&mut conn, &other_member, &theirs, now())
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        "forbidden",
        "a learner of the module is no mentor"
    );

    // Targeting: group A's members see it, group B's (the second half) do not.
    let in_a = w.actor(w.members[0]);
    let outside = w.actor(w.members[3]);
    assert!(
        events::get(&mut conn, &in_a, created.id, now())
            .await
            .is_ok()
    );
    let err = events::get(&mut conn, &outside, created.id, now())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "event_not_found");
    let upcoming = events::list(
        &mut conn,
        &outside,
        Scope::Upcoming,
        &PageRequest::default(),
        now(),
    )
    .await
    .unwrap();
    assert!(upcoming.data.is_empty());
    let upcoming = events::list(
        &mut conn,
        &in_a,
        Scope::Upcoming,
        &PageRequest::default(),
        now(),
    )
    .await
    .unwrap();
    assert_eq!(upcoming.data.len(), 1);
    assert!(!upcoming.data[0].manageable);

    // A member of the module's audience does not manage it.
    let err = events::update(
        &mut conn,
        &in_a,
        created.id,
        1,
        &EventChanges::default(),
        now(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "forbidden");
}

#[tokio::test]
async fn edits_need_the_current_revision_and_end_with_cancelled_or_completed() {
    let db = TestDb::new().await;
    let w = World::new(&db, 2).await;
    let owner = w.actor(w.owner);
    let mut conn = db.conn().await;
    let created = events::create(&mut conn, &owner, &w.input(), now())
        .await
        .unwrap();

    let later = EventChanges {
        starts_at: Some(now() + Duration::days(3)),
        ends_at: Some(now() + Duration::days(3) + Duration::hours(2)),
        ..EventChanges::default()
    };
    let err = events::update(&mut conn, &owner, created.id, 7, &later, now())
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.code()), (412, "precondition_failed"));
    let moved = events::update(&mut conn, &owner, created.id, 1, &later, now())
        .await
        .unwrap();
    assert_eq!(moved.revision, 2);
    assert_eq!(moved.starts_at, now() + Duration::days(3));
    let renamed = events::update(
        &mut conn,
        &owner,
        created.id,
        2,
        &EventChanges {
            title: Some("Drill".into()),
            ..EventChanges::default()
        },
        now(),
    )
    .await
    .unwrap();
    assert_eq!(renamed.revision, 3);
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let changed: N =
        diesel::sql_query("SELECT count(*) AS n FROM outbox_events WHERE kind = 'live.changed'")
            .get_result(&mut conn)
            .await
            .unwrap();
    assert_eq!(
        changed.n, 1,
        "only the change of time tells the registrants"
    );

    let err = events::complete(&mut conn, &owner, created.id, 3, now())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "event_not_started");
    let cancelled = events::cancel(&mut conn, &owner, created.id, 3, now())
        .await
        .unwrap();
    assert_eq!(
        (cancelled.status, cancelled.revision),
        (EventStatus::Cancelled, 4)
    );
    let err = events::cancel(&mut conn, &owner, created.id, 4, now())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "event_not_scheduled");
    let member = w.actor(w.members[0]);
    let err = registrations::register(&mut conn, &member, created.id, now())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "event_not_scheduled");
}

#[tokio::test]
async fn two_hundred_members_racing_for_twenty_seats_fill_them_exactly_and_wait_in_order() {
    let db = TestDb::new().await;
    let w = World::new(&db, 200).await;
    let owner = w.actor(w.owner);
    let event = {
        let mut conn = db.conn().await;
        events::create(&mut conn, &owner, &w.input(), now())
            .await
            .unwrap()
            .id
    };
    let tasks: Vec<_> = w
        .members
        .iter()
        .map(|m| {
            let actor = w.actor(*m);
            let pool = db.pool();
            let tenant = w.tenant;
            tokio::spawn(async move {
                let mut conn = guild_db::connect(&pool).await.unwrap();
                guild_db::tenant_transaction(&mut conn, TenantId(tenant), async |c| {
                    registrations::register(c, &actor, event, now()).await
                })
                .await
                .unwrap()
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    let seated = answers
        .iter()
        .filter(|r| r.status == RegistrationStatus::Registered)
        .count();
    assert_eq!(seated, 20);
    assert_eq!(answers.len() - seated, 180);

    let mut conn = db.conn().await;
    let mut all = Vec::new();
    let mut page = PageRequest {
        limit: Some(200),
        cursor: None,
    };
    loop {
        let got = registrations::list(&mut conn, &owner, event, &page)
            .await
            .unwrap();
        all.extend(got.data);
        match got.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(all.len(), 200);
    // Arrival order under the lock: positions 1..=200, the first twenty seated, the rest waiting
    // with places 1..=180 in that order.
    let positions: Vec<i64> = all.iter().map(|r| r.position).collect();
    assert_eq!(positions, (1..=200).collect::<Vec<_>>());
    assert!(
        all[..20]
            .iter()
            .all(|r| r.status == RegistrationStatus::Registered)
    );
    let places: Vec<Option<i64>> = all[20..].iter().map(|r| r.waitlist_place).collect();
    assert_eq!(places, (1..=180).map(Some).collect::<Vec<_>>());
    let got = events::get(&mut conn, &owner, event, now()).await.unwrap();
    assert_eq!((got.registered_count, got.waitlist_count), (20, 180));

    // One seated member leaves: exactly the waitlist's head is seated, and told.
    let leaving = w.actor(all[3].user_id);
    registrations::unregister(&mut conn, &leaving, event, now())
        .await
        .unwrap();
    let got = events::get(&mut conn, &owner, event, now()).await.unwrap();
    assert_eq!((got.registered_count, got.waitlist_count), (20, 179));
    let head = w.actor(all[20].user_id);
    let theirs = events::get(&mut conn, &head, event, now()).await.unwrap();
    assert_eq!(theirs.mine.unwrap().status, RegistrationStatus::Registered);
    let next = w.actor(all[21].user_id);
    let theirs = events::get(&mut conn, &next, event, now()).await.unwrap();
    assert_eq!(theirs.mine.unwrap().waitlist_place, Some(1));
    #[derive(diesel::QueryableByName)]
    struct Who {
        #[diesel(sql_type = diesel::sql_types::Text)]
        user_id: String,
    }
    let promoted: Vec<Who> = diesel::sql_query(
        "SELECT payload->>'user_id' AS user_id FROM outbox_events WHERE kind = 'live.promoted'",
    )
    .load(&mut conn)
    .await
    .unwrap();
    assert_eq!(promoted.len(), 1);
    assert_eq!(promoted[0].user_id, all[20].user_id.to_string());

    // A waiting member leaving frees no seat.
    let waiting = w.actor(all[100].user_id);
    registrations::unregister(&mut conn, &waiting, event, now())
        .await
        .unwrap();
    let got = events::get(&mut conn, &owner, event, now()).await.unwrap();
    assert_eq!((got.registered_count, got.waitlist_count), (20, 178));
}

#[tokio::test]
async fn more_seats_promote_the_waitlist_and_fewer_than_registered_are_refused() {
    let db = TestDb::new().await;
    let w = World::new(&db, 6).await;
    let owner = w.actor(w.owner);
    let mut conn = db.conn().await;
    let mut input = w.input();
    input.capacity = 2;
    let event = events::create(&mut conn, &owner, &input, now())
        .await
        .unwrap()
        .id;
    let added = registrations::add_members(
        &mut conn,
        &owner,
        event,
        &[
            w.members[0],
            w.members[1],
            w.members[2],
            w.members[0],
            Uuid::now_v7(),
        ],
        now(),
    )
    .await
    .unwrap();
    assert_eq!(added.registered, [w.members[0], w.members[1]]);
    assert_eq!(added.waitlisted, [w.members[2]]);
    assert_eq!(added.skipped.len(), 1, "a stranger is skipped");
    let member = w.actor(w.members[3]);
    let mine = registrations::register(&mut conn, &member, event, now())
        .await
        .unwrap();
    assert_eq!(
        (mine.status, mine.waitlist_place),
        (RegistrationStatus::Waitlisted, Some(2))
    );
    let again = registrations::register(&mut conn, &member, event, now())
        .await
        .unwrap();
    assert_eq!(
        again.position, mine.position,
        "registering twice changes nothing"
    );

    let err = events::update(
        &mut conn,
        &owner,
        event,
        1,
        &EventChanges {
            capacity: Some(1),
            ..EventChanges::default()
        },
        now(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "capacity_below_registered");
    let got = events::update(
        &mut conn,
        &owner,
        event,
        1,
        &EventChanges {
            capacity: Some(3),
            ..EventChanges::default()
        },
        now(),
    )
    .await
    .unwrap();
    assert_eq!((got.registered_count, got.waitlist_count), (3, 1));
    let err = registrations::register(&mut conn, &member, event, now() + Duration::days(5))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "registration_closed");
}

#[tokio::test]
async fn the_demo_tenant_gets_an_online_session_and_a_full_workshop_with_a_waitlist_once() {
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    let tenant = Uuid::now_v7();
    exec(
        &mut conn,
        &format!("INSERT INTO tenants (id, name, slug) VALUES ('{tenant}', 'Demo', 'demo')"),
    )
    .await;
    for (i, role) in ["ADMIN", "HR", "EMPLOYEE", "VIEWER"].iter().enumerate() {
        let user = Uuid::now_v7();
        exec(
            &mut conn,
            &format!("INSERT INTO users (id, email, name) VALUES ('{user}', 'demo{i}@x.example.com', 'Demo {i}')"),
        )
        .await;
        exec(
            &mut conn,
            &format!(
                "INSERT INTO memberships (tenant_id, user_id, role, status) VALUES ('{tenant}', '{user}', '{role}', 'ACTIVE')"
            ),
        )
        .await;
    }
    assert!(crate::demo::seed_demo(&mut conn, now()).await.unwrap());
    assert!(
        !crate::demo::seed_demo(&mut conn, now()).await.unwrap(),
        "once"
    );
    #[derive(diesel::QueryableByName)]
    struct Seats {
        #[diesel(sql_type = diesel::sql_types::Text)]
        title: String,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        registered_count: i32,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        waiting: i64,
    }
    let seats: Vec<Seats> = diesel::sql_query(format!(
        "SELECT e.title, e.registered_count, (SELECT count(*) FROM live_event_registrations r \
           WHERE r.tenant_id = e.tenant_id AND r.event_id = e.id AND r.status = 'WAITLISTED') AS waiting \
         FROM live_events e WHERE e.tenant_id = '{tenant}' ORDER BY e.starts_at"
    ))
    .load(&mut conn)
    .await
    .unwrap();
    let seen: Vec<(&str, i32, i64)> = seats
        .iter()
        .map(|s| (s.title.as_str(), s.registered_count, s.waiting))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("Fire drill briefing", 2, 0),
            ("Ask the safety team", 0, 0),
            ("First aid workshop", 1, 1)
        ]
    );
}
