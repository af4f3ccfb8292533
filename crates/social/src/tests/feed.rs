//! Domain tests of the knowledge feed on a real database: tags, who is approved on submit, a
//! decision's event and time, the seen marker, and the demo posts.

use chrono::{DateTime, Duration, TimeZone, Utc};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_kernel::{Actor, PageRequest, TenantRole};
use guild_testkit::TestDb;
use uuid::Uuid;

use crate::SocialError;
use crate::feed::{self, Decision, Listing, NewPost, PostStatus};

fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 10, 9, 0, 0).unwrap() + Duration::minutes(minute)
}

/// A tenant (`slug`) with an admin, a module's mentor and an employee.
async fn world(slug: &str) -> (TestDb, Actor, Actor, Actor) {
    let db = TestDb::new().await;
    let tenant = Uuid::now_v7();
    let module = Uuid::now_v7();
    let mut sql = vec![format!(
        "INSERT INTO tenants (id, name, slug) VALUES ('{tenant}', 'Acme', '{slug}')"
    )];
    let mut actors = Vec::new();
    for (i, role) in ["ADMIN", "EMPLOYEE", "EMPLOYEE"].iter().enumerate() {
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
    let (admin, mentor, ann) = (
        actors.next().unwrap(),
        actors.next().unwrap(),
        actors.next().unwrap(),
    );
    (db, admin, mentor, ann)
}

fn post(path: &str) -> NewPost {
    NewPost {
        url: format!("https://example.com/{path}"),
        description: format!("About {path}"),
        tags: Vec::new(),
        previews: false,
    }
}

async fn events(conn: &mut AsyncPgConnection, kind: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query("SELECT count(*) AS n FROM outbox_events WHERE kind = $1")
        .bind::<diesel::sql_types::Text, _>(kind)
        .get_result::<N>(conn)
        .await
        .expect("counted")
        .n
}

#[test]
fn tags_are_lower_cased_and_limited_to_letters_digits_and_dashes() {
    assert_eq!(feed::tag("tag", " Rust-2024 ").unwrap(), "rust-2024");
    for bad in ["", "two words", "ünïcode", "under_score", &"x".repeat(33)] {
        assert!(feed::tag("tag", bad).is_err(), "{bad:?}");
    }
}

#[tokio::test]
async fn mentors_and_admins_are_approved_on_submit_and_members_wait() {
    let (db, admin, mentor, ann) = world("acme").await;
    let mut conn = db.conn().await;
    let by_admin = feed::submit(&mut conn, &admin, &post("a"), at(0))
        .await
        .unwrap();
    let by_mentor = feed::submit(&mut conn, &mentor, &post("m"), at(1))
        .await
        .unwrap();
    let by_ann = feed::submit(&mut conn, &ann, &post("e"), at(2))
        .await
        .unwrap();
    assert_eq!(by_admin.status, PostStatus::Approved);
    assert_eq!(by_admin.approved_at, Some(at(0)));
    assert_eq!(by_mentor.status, PostStatus::Approved);
    assert_eq!(by_ann.status, PostStatus::Pending);
    assert_eq!(by_ann.approved_at, None);
    assert_eq!(events(&mut conn, "social.feed_post_submitted").await, 3);
}

#[tokio::test]
async fn a_decision_is_the_moderators_alone_and_publishes_one_event() {
    let (db, admin, mentor, ann) = world("acme").await;
    let mut conn = db.conn().await;
    let id = feed::submit(&mut conn, &ann, &post("e"), at(0))
        .await
        .unwrap()
        .id;
    let refused = feed::moderate(&mut conn, &mentor, id, &Decision::Approve, at(1)).await;
    assert!(
        matches!(refused, Err(SocialError::NotFound("feed_post_not_found"))),
        "a mentor does not moderate the feed: {refused:?}"
    );
    let blank = feed::moderate(&mut conn, &admin, id, &Decision::Reject("  ".into()), at(1)).await;
    assert!(matches!(blank, Err(SocialError::Invalid(_))), "{blank:?}");
    let approved = feed::moderate(&mut conn, &admin, id, &Decision::Approve, at(5))
        .await
        .unwrap();
    assert_eq!(
        approved.approved_at,
        Some(at(5)),
        "the approval's time, not the submission's"
    );
    assert_eq!(events(&mut conn, "social.feed_post_moderated").await, 1);
    let again = feed::moderate(&mut conn, &admin, id, &Decision::Approve, at(6)).await;
    assert!(
        matches!(again, Err(SocialError::InvalidTransition)),
        "{again:?}"
    );
    assert_eq!(events(&mut conn, "social.feed_post_moderated").await, 1);
}

#[tokio::test]
async fn the_seen_marker_never_moves_back_nor_past_now() {
    let (db, admin, _, ann) = world("acme").await;
    let mut conn = db.conn().await;
    feed::submit(&mut conn, &admin, &post("a"), at(0))
        .await
        .unwrap();
    feed::submit(&mut conn, &admin, &post("b"), at(10))
        .await
        .unwrap();
    let ahead = feed::mark_seen(&mut conn, &ann, Some(at(60)), at(5))
        .await
        .unwrap();
    assert_eq!(ahead.seen_until, Some(at(5)), "no later than now");
    assert_eq!(ahead.count, 1);
    let back = feed::mark_seen(&mut conn, &ann, Some(at(1)), at(20))
        .await
        .unwrap();
    assert_eq!(back.seen_until, Some(at(5)));
    let now = feed::mark_seen(&mut conn, &ann, None, at(20))
        .await
        .unwrap();
    assert_eq!((now.seen_until, now.count), (Some(at(20)), 0));
}

#[tokio::test]
async fn the_demo_tenant_gets_pinned_approved_posts_and_one_pending_once() {
    let (db, admin, _, ann) = world("demo").await;
    let mut conn = db.conn().await;
    assert!(feed::seed_demo(&mut conn, at(0)).await.unwrap());
    assert!(!feed::seed_demo(&mut conn, at(1)).await.unwrap(), "once");
    let page = PageRequest::default();
    let shown = feed::list(&mut conn, &ann, Listing::Feed, None, &page)
        .await
        .unwrap();
    assert_eq!(shown.data.len(), 3);
    assert!(shown.data[0].pinned);
    assert!(shown.data[1..].iter().all(|p| !p.pinned));
    let pending = feed::list(&mut conn, &admin, Listing::Pending, None, &page)
        .await
        .unwrap();
    assert_eq!(pending.data.len(), 1);
}
