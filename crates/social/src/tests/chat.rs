//! Domain tests of chat on a real database: numbering in a room, read markers that never move
//! back, confirmation rules, and the demo room written once.

use chrono::{DateTime, Duration, TimeZone, Utc};
use diesel_async::RunQueryDsl;
use guild_db::tenant_transaction;
use guild_kernel::{Actor, TenantRole};
use guild_testkit::TestDb;
use uuid::Uuid;

use crate::SocialError;
use crate::chat::messages::{self, MessageKind, NewMessage};
use crate::chat::rooms::{self, Target};

fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap() + Duration::minutes(minute)
}

/// A tenant (`slug`) with `n` active employees.
async fn tenant(db: &TestDb, slug: &str, n: usize) -> Vec<Actor> {
    let tenant = Uuid::now_v7();
    let mut conn = db.conn().await;
    diesel::sql_query(format!(
        "INSERT INTO tenants (id, name, slug) VALUES ('{tenant}', '{slug}', '{slug}')"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let mut actors = Vec::new();
    for i in 0..n {
        let user = Uuid::now_v7();
        for sql in [
            format!(
                "INSERT INTO users (id, email, name) VALUES ('{user}', 'm{i}@{slug}.example.com', 'Member {i}')"
            ),
            format!(
                "INSERT INTO memberships (tenant_id, user_id, role, status) VALUES ('{tenant}', '{user}', 'EMPLOYEE', 'ACTIVE')"
            ),
        ] {
            diesel::sql_query(sql).execute(&mut conn).await.unwrap();
        }
        actors.push(guild_testkit::actor(tenant, user, TenantRole::Employee));
    }
    actors
}

fn text(body: &str) -> NewMessage {
    NewMessage {
        kind: MessageKind::Message,
        body: body.to_owned(),
        attachments: Vec::new(),
        reply_to: None,
    }
}

#[tokio::test]
async fn a_rooms_messages_are_numbered_in_order_and_markers_never_move_back() {
    let db = TestDb::new().await;
    let people = tenant(&db, "acme", 2).await;
    let (ann, bob) = (&people[0], &people[1]);
    let tenant = ann.tenant_id;
    let mut conn = db.conn().await;
    let (room, sent) = tenant_transaction(&mut conn, tenant, async |c| {
        let (room, ann_joined) = rooms::open(c, ann, Target::Tenant, at(0)).await?;
        let (_, bob_joined) = rooms::open(c, bob, Target::Tenant, at(0)).await?;
        let (_, again) = rooms::open(c, bob, Target::Tenant, at(0)).await?;
        let mut sent = Vec::new();
        for (i, body) in ["one", "two", "three"].into_iter().enumerate() {
            let who = if i % 2 == 0 { ann } else { bob };
            sent.push(messages::send(c, who, room.room.id, text(body), at(1)).await?);
        }
        let joins = [ann_joined, bob_joined, again].map(|j| j.map(|j| j.message));
        Ok::<_, SocialError>((room.room, (joins, sent)))
    })
    .await
    .unwrap();
    let (joins, sent) = sent;
    // Each member's first opening wrote a JOIN, in the room's numbering; a second one nothing.
    let [Some(ann_join), Some(bob_join), None] = joins else {
        panic!("one JOIN per member: {joins:?}");
    };
    assert_eq!((ann_join.seq, ann_join.kind), (1, MessageKind::Join));
    assert_eq!(ann_join.author_id, Some(ann.user_id.into_uuid()));
    assert_eq!((bob_join.seq, bob_join.kind), (2, MessageKind::Join));
    assert!(sent.iter().all(|s| s.joined.is_none()));
    let seqs: Vec<i64> = sent.iter().map(|s| s.change.message.seq).collect();
    assert_eq!(seqs, [3, 4, 5]);
    // Both joined: each change reaches both of them.
    assert_eq!(sent[2].change.audience.len(), 2);

    let (marker, back) = tenant_transaction(&mut conn, tenant, async |c| {
        let third = sent[2].change.message.id;
        let first = sent[0].change.message.id;
        let marker = rooms::mark_read(c, bob, room.id, third, at(2)).await?;
        let back = rooms::mark_read(c, bob, room.id, first, at(3)).await?;
        Ok::<_, SocialError>((marker, back))
    })
    .await
    .unwrap();
    assert_eq!((marker.0.last_read_seq, marker.1), (5, true));
    assert_eq!((back.0.last_read_seq, back.1), (5, false));
}

#[tokio::test]
async fn answers_are_confirmed_only_in_a_module_room() {
    let db = TestDb::new().await;
    let people = tenant(&db, "acme", 2).await;
    let (ann, bob) = (&people[0], &people[1]);
    let mut conn = db.conn().await;
    let refused = tenant_transaction(&mut conn, ann.tenant_id, async |c| {
        let room = rooms::open(c, ann, Target::Tenant, at(0)).await?.0.room;
        let question = messages::send(c, ann, room.id, text("why?"), at(1)).await?;
        let mut reply = text("because");
        reply.reply_to = Some(question.change.message.id);
        let answer = messages::send(c, bob, room.id, reply, at(2)).await?;
        messages::confirm(c, ann, room.id, answer.change.message.id, at(3)).await
    })
    .await;
    assert!(
        matches!(&refused, Err(SocialError::Invalid(e)) if e[0].code == "not_a_module_room"),
        "{refused:?}"
    );
}

#[tokio::test]
async fn the_demo_room_is_written_once() {
    let db = TestDb::new().await;
    let people = tenant(&db, "demo", 3).await;
    let mut conn = db.conn().await;
    assert_eq!(
        crate::chat::demo::seed_demo(&mut conn, at(0))
            .await
            .unwrap(),
        6
    );
    assert_eq!(
        crate::chat::demo::seed_demo(&mut conn, at(5))
            .await
            .unwrap(),
        0
    );
    let page = tenant_transaction(&mut conn, people[0].tenant_id, async |c| {
        let room = rooms::open(c, &people[0], Target::Tenant, at(6))
            .await?
            .0
            .room;
        messages::history(c, &people[0], room.id, messages::From::Latest, 10).await
    })
    .await
    .unwrap();
    // Its three members joined, then spoke; opening it again joins nobody anew.
    assert_eq!(page.messages.len(), 6);
    let kinds: Vec<MessageKind> = page.messages.iter().map(|m| m.kind).collect();
    assert_eq!(kinds[..3], [MessageKind::Join; 3]);
    assert_eq!(kinds[3..], [MessageKind::Message; 3]);
    assert_eq!(page.messages[5].reply_to, Some(page.messages[4].id));
}

#[tokio::test]
async fn the_platform_owner_visiting_a_tenant_reads_its_room_but_says_nothing() {
    let db = TestDb::new().await;
    let people = tenant(&db, "acme", 1).await;
    let ann = &people[0];
    let mut visitor =
        guild_testkit::actor(ann.tenant_id.into_uuid(), Uuid::now_v7(), TenantRole::Owner);
    visitor.impersonating = true;
    let mut conn = db.conn().await;
    let (read, sent) = tenant_transaction(&mut conn, ann.tenant_id, async |c| {
        let room = rooms::open(c, ann, Target::Tenant, at(0)).await?.0.room;
        messages::send(c, ann, room.id, text("hello"), at(1)).await?;
        let read = messages::history(c, &visitor, room.id, messages::From::Latest, 10).await?;
        let sent = messages::send(c, &visitor, room.id, text("hi"), at(2)).await;
        Ok::<_, SocialError>((read, sent))
    })
    .await
    .unwrap();
    assert_eq!(read.messages.len(), 2, "Ann's JOIN and her message");
    assert!(matches!(sent, Err(SocialError::Forbidden)), "{sent:?}");
}
