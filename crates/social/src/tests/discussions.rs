//! Domain tests of discussions, announcements and reactions on a real database: who moderates,
//! resolves and announces; hidden posts; counts kept on write; events published once.

use chrono::{DateTime, Duration, TimeZone, Utc};
use diesel_async::RunQueryDsl;
use guild_kernel::{Actor, PageRequest, TenantRole};
use guild_testkit::TestDb;
use uuid::Uuid;

use crate::SocialError;
use crate::announcements::{self, Audience, Listing, NewAnnouncement};
use crate::discussions::{self, NewPost, NewThread, ThreadChanges};
use crate::reactions::{self, TargetKind};

fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 9, 9, 0, 0).unwrap() + Duration::minutes(minute)
}

/// A tenant with an open catalog, an admin, a mentor and two employees, and a published module
/// the mentor mentors.
struct World {
    db: TestDb,
    tenant: Uuid,
    module: Uuid,
    admin: Actor,
    mentor: Actor,
    ann: Actor,
    bob: Actor,
}

async fn world() -> World {
    world_in("acme").await
}

async fn world_in(slug: &str) -> World {
    let db = TestDb::new().await;
    let tenant = Uuid::now_v7();
    let module = Uuid::now_v7();
    let mut sql = vec![format!(
        "INSERT INTO tenants (id, name, slug, catalog_open) VALUES ('{tenant}', 'Acme', '{slug}', true)"
    )];
    let mut actors = Vec::new();
    for (i, role) in ["ADMIN", "EMPLOYEE", "EMPLOYEE", "EMPLOYEE"]
        .iter()
        .enumerate()
    {
        let user = Uuid::now_v7();
        sql.push(format!(
            "INSERT INTO users (id, email, name) VALUES ('{user}', 'm{i}@{slug}.example.com', 'Member {i}')"
        ));
        sql.push(format!(
            "INSERT INTO memberships (tenant_id, user_id, role, status) VALUES ('{tenant}', '{user}', '{role}', 'ACTIVE')"
        ));
        let role = if i == 0 {
            TenantRole::Admin
        } else {
            TenantRole::Employee
        };
        actors.push(guild_testkit::actor(tenant, user, role));
    }
    sql.push(format!(
        "INSERT INTO modules (tenant_id, id, title, status, created_by) \
         VALUES ('{tenant}', '{module}', 'Fire safety', 'PUBLISHED', '{}')",
        actors[0].user_id.into_uuid()
    ));
    sql.push(format!(
        "INSERT INTO module_mentors (tenant_id, module_id, user_id) VALUES ('{tenant}', '{module}', '{}')",
        actors[1].user_id.into_uuid()
    ));
    let mut conn = db.conn().await;
    for s in sql {
        diesel::sql_query(&s)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{s}: {e}"));
    }
    drop(conn);
    let mut actors = actors.into_iter();
    World {
        db,
        tenant,
        module,
        admin: actors.next().unwrap(),
        mentor: actors.next().unwrap(),
        ann: actors.next().unwrap(),
        bob: actors.next().unwrap(),
    }
}

impl World {
    async fn start(&self, who: &Actor) -> Uuid {
        let input = NewThread {
            module_id: self.module,
            section_id: None,
            title: "Extinguishers".into(),
            body: "Which one?".into(),
            mentions: Vec::new(),
        };
        async {
            let mut conn = self.db.conn().await;
            let c: &mut diesel_async::AsyncPgConnection = &mut conn;
            discussions::create(c, who, &input, at(0)).await
        }
        .await
        .expect("started")
        .id
    }

    async fn reply(&self, who: &Actor, thread: Uuid, minute: i64) -> Result<Uuid, SocialError> {
        let input = NewPost {
            parent_id: None,
            body: format!("Reply at {minute}"),
            mentions: Vec::new(),
        };
        async {
            let mut conn = self.db.conn().await;
            let c: &mut diesel_async::AsyncPgConnection = &mut conn;
            discussions::reply(c, who, thread, &input, at(minute)).await
        }
        .await
        .map(|p| p.id)
    }

    async fn events(&self, kind: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query("SELECT count(*) AS n FROM outbox_events WHERE kind = $1")
            .bind::<diesel::sql_types::Text, _>(kind)
            .get_result::<N>(&mut self.db.conn().await)
            .await
            .unwrap()
            .n
    }
}

#[tokio::test]
async fn moderators_are_the_modules_mentors_and_admins_and_the_author_resolves() {
    let w = world().await;
    let thread = w.start(&w.ann).await;
    let pin = ThreadChanges {
        pinned: Some(true),
        ..ThreadChanges::default()
    };
    let resolve = ThreadChanges {
        resolved: Some(true),
        ..ThreadChanges::default()
    };
    for who in [&w.ann, &w.bob] {
        let refused = async {
            let mut conn = w.db.conn().await;
            let c: &mut diesel_async::AsyncPgConnection = &mut conn;
            discussions::update(c, who, thread, pin, at(1)).await
        }
        .await;
        assert!(
            matches!(refused, Err(SocialError::Forbidden)),
            "{refused:?}"
        );
    }
    for who in [&w.mentor, &w.admin] {
        let pinned = async {
            let mut conn = w.db.conn().await;
            let c: &mut diesel_async::AsyncPgConnection = &mut conn;
            discussions::update(c, who, thread, pin, at(1)).await
        }
        .await
        .expect("pinned");
        assert!(pinned.pinned && pinned.moderator);
    }
    let refused = async {
        let mut conn = w.db.conn().await;
        let c: &mut diesel_async::AsyncPgConnection = &mut conn;
        discussions::update(c, &w.bob, thread, resolve, at(2)).await
    }
    .await;
    assert!(matches!(refused, Err(SocialError::Forbidden)));
    let resolved = async {
        let mut conn = w.db.conn().await;
        let c: &mut diesel_async::AsyncPgConnection = &mut conn;
        discussions::update(c, &w.ann, thread, resolve, at(2)).await
    }
    .await
    .expect("resolved by its author");
    assert_eq!(resolved.resolved_at, Some(at(2)));
    assert_eq!(resolved.resolved_by, Some(w.ann.user_id.into_uuid()));
}

#[tokio::test]
async fn a_hidden_reply_is_gone_for_members_and_kept_for_moderators() {
    let w = world().await;
    let thread = w.start(&w.ann).await;
    let reply = w.reply(&w.bob, thread, 1).await.expect("replied");
    async {
        let mut conn = w.db.conn().await;
        let c: &mut diesel_async::AsyncPgConnection = &mut conn;
        discussions::hide(c, &w.mentor, thread, reply, "Off topic", at(2)).await
    }
    .await
    .expect("hidden");
    let page = PageRequest::default();
    let seen = |who: Actor| {
        let (w, page) = (&w, &page);
        async move {
            async {
                let mut conn = w.db.conn().await;
                let c: &mut diesel_async::AsyncPgConnection = &mut conn;
                discussions::posts(c, &who, thread, page).await
            }
            .await
            .expect("listed")
            .data
        }
    };
    assert!(seen(w.ann.clone()).await.is_empty());
    assert!(seen(w.bob.clone()).await.is_empty(), "its author too");
    let kept = seen(w.mentor.clone()).await;
    assert_eq!(kept.len(), 1);
    assert_eq!(
        kept[0].hidden.as_ref().map(|h| h.reason.as_str()),
        Some("Off topic")
    );
    let reacted = async {
        let mut conn = w.db.conn().await;
        let c: &mut diesel_async::AsyncPgConnection = &mut conn;
        reactions::add(c, &w.ann, TargetKind::DiscussionPost, reply, "heart", at(3)).await
    }
    .await;
    assert!(matches!(
        reacted,
        Err(SocialError::NotFound("post_not_found"))
    ));
}

#[tokio::test]
async fn reacting_twice_counts_once_and_publishes_one_change() {
    let w = world().await;
    let thread = w.start(&w.ann).await;
    for _ in 0..3 {
        let counts = async {
            let mut conn = w.db.conn().await;
            let c: &mut diesel_async::AsyncPgConnection = &mut conn;
            reactions::add(c, &w.bob, TargetKind::DiscussionPost, thread, "eyes", at(1)).await
        }
        .await
        .expect("reacted");
        assert_eq!(counts.len(), 1);
        assert_eq!((counts[0].count, counts[0].mine), (1, true));
    }
    assert_eq!(w.events("social.reaction_changed").await, 1);
    let counts = async {
        let mut conn = w.db.conn().await;
        let c: &mut diesel_async::AsyncPgConnection = &mut conn;
        reactions::remove(c, &w.bob, TargetKind::DiscussionPost, thread, "eyes").await
    }
    .await
    .expect("removed");
    assert!(counts.is_empty());
    assert_eq!(w.events("social.reaction_changed").await, 2);
    // Chat messages are chat's to check: none is visible here.
    let chat = async {
        let mut conn = w.db.conn().await;
        let c: &mut diesel_async::AsyncPgConnection = &mut conn;
        {
            reactions::add(
                c,
                &w.bob,
                TargetKind::ChatMessage,
                Uuid::now_v7(),
                "eyes",
                at(1),
            )
            .await
        }
    }
    .await;
    assert!(matches!(
        chat,
        Err(SocialError::NotFound("message_not_found"))
    ));
}

#[tokio::test]
async fn a_locked_thread_refuses_members_and_a_full_one_everyone() {
    let w = world().await;
    let thread = w.start(&w.ann).await;
    let lock = ThreadChanges {
        locked: Some(true),
        ..ThreadChanges::default()
    };
    async {
        let mut conn = w.db.conn().await;
        let c: &mut diesel_async::AsyncPgConnection = &mut conn;
        discussions::update(c, &w.mentor, thread, lock, at(1)).await
    }
    .await
    .expect("locked");
    assert!(matches!(
        w.reply(&w.bob, thread, 2).await,
        Err(SocialError::Locked)
    ));
    w.reply(&w.mentor, thread, 2)
        .await
        .expect("a moderator replies");

    // Filled to the limit straight in the database, then one more is refused.
    let fill = format!(
        "INSERT INTO discussion_posts (tenant_id, id, thread_id, parent_id, author_id, body, created_at) \
         SELECT '{t}', gen_random_uuid(), '{thread}', '{thread}', '{a}', 'x', now() \
         FROM generate_series(1, {n})",
        t = w.tenant,
        a = w.ann.user_id.into_uuid(),
        n = discussions::MAX_POSTS_PER_THREAD - 2,
    );
    diesel::sql_query(fill)
        .execute(&mut w.db.conn().await)
        .await
        .unwrap();
    assert!(matches!(
        w.reply(&w.mentor, thread, 3).await,
        Err(SocialError::Full)
    ));
}

#[tokio::test]
async fn only_admins_announce_to_the_tenant_and_mentors_to_their_modules_learners() {
    let w = world().await;
    let input = |audience: Audience| NewAnnouncement {
        title: "Drill".into(),
        body: "Friday".into(),
        audience,
        pinned_until: None,
    };
    for (who, audience) in [
        (&w.ann, Audience::Tenant),
        (&w.ann, Audience::Module(w.module)),
        (&w.mentor, Audience::Tenant),
    ] {
        let refused = async {
            let mut conn = w.db.conn().await;
            let c: &mut diesel_async::AsyncPgConnection = &mut conn;
            announcements::post(c, who, &input(audience), at(0)).await
        }
        .await;
        assert!(
            matches!(refused, Err(SocialError::Forbidden)),
            "{refused:?}"
        );
    }
    let posted = async {
        let mut conn = w.db.conn().await;
        let c: &mut diesel_async::AsyncPgConnection = &mut conn;
        announcements::post(c, &w.mentor, &input(Audience::Module(w.module)), at(0)).await
    }
    .await
    .expect("posted by the mentor");
    // The catalog is open: every active member learns it, but its author receives nothing.
    assert_eq!(posted.receipts.map(|r| r.recipients), Some(3));
    assert_eq!(w.events("social.announcement_posted").await, 1);
    let page = PageRequest::default();
    let mine = async {
        let mut conn = w.db.conn().await;
        let c: &mut diesel_async::AsyncPgConnection = &mut conn;
        announcements::list(c, &w.mentor, Listing::Received, &page, at(1)).await
    }
    .await
    .expect("listed");
    assert!(mine.data.is_empty());
    let anns = async {
        let mut conn = w.db.conn().await;
        let c: &mut diesel_async::AsyncPgConnection = &mut conn;
        announcements::list(c, &w.ann, Listing::Received, &page, at(1)).await
    }
    .await
    .expect("listed");
    assert_eq!(anns.data.len(), 1);
    assert!(
        anns.data[0].receipts.is_none(),
        "receipts are its author's and admins'"
    );
}

#[tokio::test]
async fn the_demo_tenant_gets_one_pinned_welcome_for_everyone_else() {
    let w = world_in("demo").await;
    let mut conn = w.db.conn().await;
    assert!(announcements::seed_demo(&mut conn, at(0)).await.unwrap());
    assert!(
        !announcements::seed_demo(&mut conn, at(5)).await.unwrap(),
        "once"
    );
    let page = PageRequest::default();
    let listed = announcements::list(&mut conn, &w.ann, Listing::Received, &page, at(10))
        .await
        .unwrap();
    assert_eq!(listed.data.len(), 1);
    assert!(listed.data[0].pinned);
    assert_eq!(listed.data[0].author_id, w.admin.user_id.into_uuid());
    assert_eq!(w.events("social.announcement_posted").await, 1);
}
