//! Who sees a member's coaching, the limits, and private notes sealed, audited and re-sealed.

use chrono::{DateTime, Duration, TimeZone, Utc};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_kernel::sealed::Keyring;
use guild_kernel::{Actor, ErrorCode, PageRequest, TenantRole};
use guild_testkit::TestDb;
use uuid::Uuid;

use crate::CoachingError;
use crate::relationships::{self, Relation};
use crate::sessions::{self, FocusArea, SessionInput};
use crate::{notes, rekey};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 11, 9, 0, 0).unwrap()
}

async fn exec(conn: &mut AsyncPgConnection, sql: &str) {
    diesel::sql_query(sql)
        .execute(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// A tenant: `director` manages `lead`, who manages `agent`; `peer` is a manager of nobody in
/// that chain (they manage `other`); `admin` is an ADMIN outside the chain.
struct World {
    tenant: Uuid,
    director: Uuid,
    lead: Uuid,
    agent: Uuid,
    peer: Uuid,
    other: Uuid,
    admin: Uuid,
}

async fn person(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    role: &str,
    manager: Option<Uuid>,
) -> Uuid {
    let user = Uuid::now_v7();
    exec(
        conn,
        &format!("INSERT INTO users (id, email, name) VALUES ('{user}', '{user}@x.example.com', 'P {user}')"),
    )
    .await;
    let manager = manager.map_or("NULL".to_owned(), |m| format!("'{m}'"));
    exec(
        conn,
        &format!(
            "INSERT INTO memberships (tenant_id, user_id, role, status, manager_id) \
             VALUES ('{tenant}', '{user}', '{role}', 'ACTIVE', {manager})"
        ),
    )
    .await;
    user
}

impl World {
    async fn new(db: &TestDb) -> Self {
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
        let c = &mut conn;
        let director = person(c, tenant, "EMPLOYEE", None).await;
        let lead = person(c, tenant, "EMPLOYEE", Some(director)).await;
        let agent = person(c, tenant, "EMPLOYEE", Some(lead)).await;
        let peer = person(c, tenant, "EMPLOYEE", None).await;
        let other = person(c, tenant, "EMPLOYEE", Some(peer)).await;
        let admin = person(c, tenant, "ADMIN", None).await;
        Self {
            tenant,
            director,
            lead,
            agent,
            peer,
            other,
            admin,
        }
    }

    fn actor(&self, user: Uuid) -> Actor {
        let role = if user == self.admin {
            TenantRole::Admin
        } else {
            TenantRole::Employee
        };
        guild_testkit::actor(self.tenant, user, role)
    }

    fn session(&self, coachee: Uuid) -> SessionInput {
        SessionInput {
            coachee_id: coachee,
            scheduled_at: now() + Duration::days(1),
            duration_minutes: 45,
            agenda: "Calls of last week".into(),
            focus_areas: vec![FocusArea {
                name: "Listening".into(),
                score_before: Some(2.5),
                score_after: None,
            }],
        }
    }
}

/// Runs `f` on a connection of its own (as the connecting role: the tenant filter is the
/// domain function's own).
async fn tx<T>(
    db: &TestDb,
    _tenant: Uuid,
    f: impl AsyncFnOnce(&mut AsyncPgConnection) -> Result<T, CoachingError>,
) -> Result<T, CoachingError> {
    let mut conn = db.conn().await;
    f(&mut conn).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_coachee_their_coach_and_the_managers_above_see_a_session_and_nobody_else() {
    let db = TestDb::new().await;
    let w = World::new(&db).await;
    let lead = w.actor(w.lead);
    let input = w.session(w.agent);
    let session = tx(&db, w.tenant, async |c| {
        sessions::create(c, &lead, &input, now()).await
    })
    .await
    .expect("the manager coaches their report");
    assert_eq!(session.focus_areas[0].score_before, Some(2.5));
    for (who, rel) in [
        (w.agent, Relation::Own),
        (w.lead, Relation::Coach),
        (w.director, Relation::Manager),
        (w.peer, Relation::None),
        (w.admin, Relation::None),
    ] {
        let actor = w.actor(who);
        let got = tx(&db, w.tenant, async |c| {
            relationships::relation(c, &actor, w.agent).await
        })
        .await
        .expect("a relation");
        assert_eq!(got, rel);
        let seen = tx(&db, w.tenant, async |c| {
            sessions::get(c, &actor, session.id).await
        })
        .await;
        if rel.sees() {
            assert_eq!(seen.expect("seen").id, session.id);
        } else {
            assert_eq!(
                seen.expect_err("hidden").code(),
                "coaching_session_not_found"
            );
        }
    }
    // The director sees it but does not coach it; the peer cannot even see the agent.
    let director = w.actor(w.director);
    let refused = tx(&db, w.tenant, async |c| {
        sessions::create(c, &director, &w.session(w.agent), now()).await
    })
    .await;
    assert_eq!(refused.expect_err("not a coach").code(), "forbidden");
    let peer = w.actor(w.peer);
    let refused = tx(&db, w.tenant, async |c| {
        sessions::create(c, &peer, &w.session(w.agent), now()).await
    })
    .await;
    assert_eq!(refused.expect_err("invisible").code(), "coachee_not_found");
    // Another tenant's transaction sees no such session.
    let elsewhere = World::new(&db).await;
    let stranger = elsewhere.actor(elsewhere.lead);
    let foreign = tx(&db, elsewhere.tenant, async |c| {
        sessions::get(c, &stranger, session.id).await
    })
    .await;
    assert_eq!(
        foreign.expect_err("other tenant").code(),
        "coaching_session_not_found"
    );
    // An admin-added coach coaches too, and nobody coaches themselves.
    let admin = w.actor(w.admin);
    tx(&db, w.tenant, async |c| {
        relationships::add_coach(c, &admin, w.other, w.lead, now()).await
    })
    .await
    .expect("added");
    let input = w.session(w.other);
    tx(&db, w.tenant, async |c| {
        sessions::create(c, &lead, &input, now()).await
    })
    .await
    .expect("an added coach schedules");
    let selfish = tx(&db, w.tenant, async |c| {
        sessions::create(c, &lead, &w.session(w.lead), now()).await
    })
    .await;
    assert_eq!(selfish.expect_err("self").code(), "cannot_coach_self");
    let selfish = tx(&db, w.tenant, async |c| {
        relationships::add_coach(c, &admin, w.agent, w.agent, now()).await
    })
    .await;
    assert_eq!(selfish.expect_err("self").code(), "cannot_coach_self");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_coachee_gets_five_sessions_a_day_and_a_score_off_the_scale_is_refused() {
    let db = TestDb::new().await;
    let w = World::new(&db).await;
    let lead = w.actor(w.lead);
    for _ in 0..sessions::MAX_SESSIONS_PER_COACHEE_PER_DAY {
        let input = w.session(w.agent);
        tx(&db, w.tenant, async |c| {
            sessions::create(c, &lead, &input, now()).await
        })
        .await
        .expect("within the limit");
    }
    let input = w.session(w.agent);
    let over = tx(&db, w.tenant, async |c| {
        sessions::create(c, &lead, &input, now()).await
    })
    .await;
    assert_eq!(over.expect_err("limit").code(), "session_limit_reached");
    let later = now() + Duration::hours(25);
    let mut input = w.session(w.agent);
    input.scheduled_at = later + Duration::days(1);
    tx(&db, w.tenant, async |c| {
        sessions::create(c, &lead, &input, later).await
    })
    .await
    .expect("a day later");
    input.focus_areas[0].score_before = Some(5.5);
    input.focus_areas.push(FocusArea {
        name: "listening".into(),
        score_before: Some(2.123),
        score_after: None,
    });
    let bad = tx(&db, w.tenant, async |c| {
        sessions::create(c, &lead, &input, later).await
    })
    .await
    .expect_err("off the scale");
    let fields: Vec<String> = bad.field_errors().into_iter().map(|f| f.field).collect();
    assert!(
        fields.contains(&"focus_areas[0].score_before".to_owned())
            && fields.contains(&"focus_areas[1].name".to_owned())
            && fields.contains(&"focus_areas[1].score_before".to_owned()),
        "{fields:?}"
    );
}

fn ring(keys: &[(&str, u8)]) -> Keyring {
    Keyring::new(
        keys.iter()
            .map(|(id, b)| ((*id).to_owned(), [*b; 32]))
            .collect(),
    )
    .expect("a keyring")
}

#[derive(diesel::QueryableByName)]
struct Sealed {
    #[diesel(sql_type = diesel::sql_types::Text)]
    sealed: String,
}

async fn sealed_values(db: &TestDb) -> Vec<String> {
    diesel::sql_query(
        "SELECT private_notes_sealed AS sealed FROM coaching_sessions \
          WHERE private_notes_sealed IS NOT NULL \
         UNION ALL SELECT body_sealed FROM coaching_quick_notes",
    )
    .load::<Sealed>(&mut db.conn().await)
    .await
    .expect("sealed values")
    .into_iter()
    .map(|s| s.sealed)
    .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn private_notes_are_sealed_read_by_their_coach_only_audited_and_survive_a_key_rotation() {
    let db = TestDb::new().await;
    let w = World::new(&db).await;
    let lead = w.actor(w.lead);
    let old = ring(&[("k1", 1)]);
    let input = w.session(w.agent);
    let session = tx(&db, w.tenant, async |c| {
        sessions::create(c, &lead, &input, now()).await
    })
    .await
    .expect("scheduled");
    let secret = "Struggles with the new script";
    tx(&db, w.tenant, async |c| {
        sessions::set_private_notes(c, &old, &lead, session.id, secret, now()).await
    })
    .await
    .expect("written");
    tx(&db, w.tenant, async |c| {
        notes::add(c, &old, &lead, w.agent, "Late twice this week", now()).await
    })
    .await
    .expect("a quick note");
    let raw = sealed_values(&db).await;
    assert_eq!(raw.len(), 2);
    for value in &raw {
        assert!(value.starts_with("k1."), "{value}");
        assert!(!value.contains("script") && !value.contains("Late"));
    }
    // The coachee and the director see the session, not its private notes.
    for who in [w.agent, w.director] {
        let actor = w.actor(who);
        let refused = tx(&db, w.tenant, async |c| {
            sessions::private_notes(c, &old, &actor, session.id).await
        })
        .await;
        assert_eq!(refused.expect_err("not the coach").code(), "forbidden");
    }
    let agent = w.actor(w.agent);
    let refused = tx(&db, w.tenant, async |c| {
        notes::list(c, &old, &agent, w.agent, &PageRequest::default()).await
    })
    .await;
    assert_eq!(refused.expect_err("own notes").code(), "forbidden");
    for _ in 0..2 {
        let read = tx(&db, w.tenant, async |c| {
            sessions::private_notes(c, &old, &lead, session.id).await
        })
        .await
        .expect("the coach reads");
        assert_eq!(read, secret);
    }
    let audited: i64 = {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query(format!(
            "SELECT count(*) AS n FROM audit_log WHERE action = 'coaching_session.private_notes_read' \
               AND entity_id = '{}' AND actor_id = '{}'",
            session.id, w.lead
        ))
        .get_result::<N>(&mut db.conn().await)
        .await
        .expect("count")
        .n
    };
    assert_eq!(audited, 2, "every read is audited");

    // A new key first: old values still open; after `rekey` all are under it, and the old key
    // can go.
    let rotated = ring(&[("k2", 2), ("k1", 1)]);
    let read = tx(&db, w.tenant, async |c| {
        sessions::private_notes(c, &rotated, &lead, session.id).await
    })
    .await
    .expect("an old value opens");
    assert_eq!(read, secret);
    let moved = rekey::rekey(&mut *db.conn().await, &rotated)
        .await
        .expect("rekeyed");
    assert_eq!(
        moved,
        rekey::Rekeyed {
            private_notes: 1,
            quick_notes: 1
        }
    );
    for value in sealed_values(&db).await {
        assert!(value.starts_with("k2."), "{value}");
    }
    let again = rekey::rekey(&mut *db.conn().await, &rotated)
        .await
        .expect("rekeyed again");
    assert_eq!(again, rekey::Rekeyed::default(), "nothing left to move");
    let new_only = ring(&[("k2", 2)]);
    let read = tx(&db, w.tenant, async |c| {
        sessions::private_notes(c, &new_only, &lead, session.id).await
    })
    .await
    .expect("opens without the old key");
    assert_eq!(read, secret);
    let listed = tx(&db, w.tenant, async |c| {
        notes::list(c, &new_only, &lead, w.agent, &PageRequest::default()).await
    })
    .await
    .expect("listed");
    assert_eq!(listed.data[0].body, "Late twice this week");
}
