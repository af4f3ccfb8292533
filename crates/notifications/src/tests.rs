//! Domain tests of the inbox on a real database: delivery once per dedup key, only to active
//! members, each member's own view, and the read state with a manual clock.

use chrono::{DateTime, Duration, TimeZone, Utc};
use diesel_async::RunQueryDsl;
use guild_db::tenant_transaction;
use guild_kernel::{Actor, Page, PageRequest, TenantId, TenantRole};
use guild_testkit::TestDb;
use uuid::Uuid;

use crate::inbox::{self, InboxFilter, NewNotification};
use crate::{EntityKind, Notification, NotificationType, NotificationsError};

/// Stream tickets, usage sessions and the online list.
mod realtime;

fn actor(tenant: Uuid, user: Uuid) -> Actor {
    guild_testkit::actor(tenant, user, TenantRole::Employee)
}

fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap() + Duration::minutes(minute)
}

/// A tenant whose members have the given membership statuses.
async fn tenant(db: &TestDb, slug: &str, statuses: &[&str]) -> (Uuid, Vec<Actor>) {
    let tenant = Uuid::now_v7();
    let mut conn = db.conn().await;
    let mut sql = vec![format!(
        "INSERT INTO tenants (id, name, slug) VALUES ('{tenant}', '{slug}', '{slug}')"
    )];
    let mut actors = Vec::new();
    for (i, status) in statuses.iter().enumerate() {
        let user = Uuid::now_v7();
        sql.push(format!(
            "INSERT INTO users (id, email, name) VALUES ('{user}', 'm{i}@{slug}.example.com', 'Member {i}')"
        ));
        sql.push(format!(
            "INSERT INTO memberships (tenant_id, user_id, role, status) VALUES ('{tenant}', '{user}', 'EMPLOYEE', '{status}')"
        ));
        actors.push(actor(tenant, user));
    }
    for s in sql {
        diesel::sql_query(s).execute(&mut conn).await.unwrap();
    }
    (tenant, actors)
}

fn note(to: &Actor, key: &str) -> NewNotification {
    NewNotification {
        user: to.user_id,
        kind: NotificationType::CertificateIssued,
        title: "Your certificate for Forklift safety".into(),
        body: "Valid until 1 December 2027.".into(),
        entity: Some((EntityKind::Certificate, Uuid::now_v7())),
        dedup_key: key.into(),
        data: serde_json::json!({ "module": "Forklift safety", "expires_at": null }),
    }
}

async fn deliver(
    db: &TestDb,
    tenant: Uuid,
    n: &NewNotification,
    now: DateTime<Utc>,
) -> Result<Option<Notification>, NotificationsError> {
    let mut conn = db.conn().await;
    tenant_transaction(&mut conn, TenantId(tenant), async |c| {
        inbox::deliver(c, TenantId(tenant), n, now).await
    })
    .await
}

async fn list(
    db: &TestDb,
    who: &Actor,
    filter: InboxFilter,
    page: &PageRequest,
) -> Page<Notification> {
    let mut conn = db.conn().await;
    tenant_transaction(&mut conn, who.tenant_id, async |c| {
        inbox::list(c, who, filter, page).await
    })
    .await
    .unwrap()
}

async fn unread(db: &TestDb, who: &Actor) -> i64 {
    let mut conn = db.conn().await;
    tenant_transaction(&mut conn, who.tenant_id, async |c| {
        inbox::unread_count(c, who).await
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_redelivered_event_notifies_once() {
    let db = TestDb::new().await;
    let (t, people) = tenant(&db, "acme", &["ACTIVE"]).await;
    let ana = &people[0];
    let first = deliver(&db, t, &note(ana, "certificate_issued:1"), at(0))
        .await
        .unwrap()
        .expect("delivered");
    assert_eq!(first.kind, NotificationType::CertificateIssued);
    assert_eq!(first.created_at, at(0));
    assert_eq!(first.link.map(|l| l.kind), Some(EntityKind::Certificate));
    for minute in 1..4 {
        let again = deliver(&db, t, &note(ana, "certificate_issued:1"), at(minute))
            .await
            .unwrap();
        assert_eq!(again, None, "the same key notifies once");
    }
    let other = deliver(&db, t, &note(ana, "certificate_issued:2"), at(5))
        .await
        .unwrap();
    assert!(other.is_some(), "another key is another notification");
    let inbox = list(&db, ana, InboxFilter::default(), &PageRequest::default()).await;
    assert_eq!(inbox.data.len(), 2);
    assert_eq!(unread(&db, ana).await, 2);
}

#[tokio::test]
async fn deliveries_of_one_event_racing_each_other_notify_once() {
    let db = TestDb::new().await;
    let (t, people) = tenant(&db, "acme", &["ACTIVE"]).await;
    let ana = people[0].clone();
    let pool = guild_db::build_pool(&guild_db::PoolConfig {
        url: db.url().to_owned(),
        max_size: 8,
        timeout: std::time::Duration::from_secs(60),
    })
    .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (pool, n) = (pool.clone(), note(&ana, "certificate_issued:race"));
        tasks.push(tokio::spawn(async move {
            let mut conn = guild_db::connect(&pool).await.unwrap();
            tenant_transaction(&mut conn, TenantId(t), async |c| {
                inbox::deliver(c, TenantId(t), &n, at(0)).await
            })
            .await
            .unwrap()
            .is_some()
        }));
    }
    let mut written = 0;
    for task in tasks {
        written += usize::from(task.await.unwrap());
    }
    assert_eq!(written, 1, "one delivery writes, the others find it");
    assert_eq!(unread(&db, &ana).await, 1);
}

#[tokio::test]
async fn only_active_members_are_notified() {
    let db = TestDb::new().await;
    let (t, people) = tenant(
        &db,
        "acme",
        &["ACTIVE", "INVITED", "DEACTIVATED", "REMOVED"],
    )
    .await;
    for (who, expected) in people.iter().zip([true, false, false, false]) {
        let written = deliver(&db, t, &note(who, "k"), at(0)).await.unwrap();
        assert_eq!(written.is_some(), expected, "{:?}", who.user_id);
    }
    // Someone who is not a member of the tenant at all.
    let (_, strangers) = tenant(&db, "other", &["ACTIVE"]).await;
    let written = deliver(&db, t, &note(&strangers[0], "k"), at(0))
        .await
        .unwrap();
    assert_eq!(written, None);
}

#[tokio::test]
async fn a_member_sees_and_changes_only_their_own_inbox() {
    let db = TestDb::new().await;
    let (t, people) = tenant(&db, "acme", &["ACTIVE", "ACTIVE"]).await;
    let (ana, bo) = (&people[0], &people[1]);
    let anas = deliver(&db, t, &note(ana, "a"), at(0))
        .await
        .unwrap()
        .unwrap();
    deliver(&db, t, &note(bo, "b"), at(0))
        .await
        .unwrap()
        .unwrap();
    let bos_view = list(&db, bo, InboxFilter::default(), &PageRequest::default()).await;
    assert_eq!(bos_view.data.len(), 1);
    assert!(
        bos_view
            .data
            .iter()
            .all(|n| n.user_id == bo.user_id.into_uuid())
    );

    let mut conn = db.conn().await;
    let read = tenant_transaction(&mut conn, bo.tenant_id, async |c| {
        inbox::mark_read(c, bo, anas.id, at(1)).await
    })
    .await;
    assert!(matches!(read, Err(NotificationsError::NotFound)));
    let archived = tenant_transaction(&mut conn, bo.tenant_id, async |c| {
        inbox::archive(c, bo, anas.id, at(1)).await
    })
    .await;
    assert!(matches!(archived, Err(NotificationsError::NotFound)));
    assert_eq!(unread(&db, ana).await, 1, "Ana's notification is untouched");

    // Another tenant's transaction sees nothing of this one, whatever the actor says.
    let (other, _) = tenant(&db, "other", &["ACTIVE"]).await;
    let mut intruder = ana.clone();
    intruder.tenant_id = TenantId(other);
    let seen = list(
        &db,
        &intruder,
        InboxFilter::default(),
        &PageRequest::default(),
    )
    .await;
    assert!(seen.data.is_empty());
}

#[tokio::test]
async fn read_state_and_the_archive_follow_the_clock() {
    let db = TestDb::new().await;
    let (t, people) = tenant(&db, "acme", &["ACTIVE"]).await;
    let ana = &people[0];
    let mut ids = Vec::new();
    for i in 0..3 {
        let n = deliver(&db, t, &note(ana, &format!("k{i}")), at(i))
            .await
            .unwrap()
            .unwrap();
        ids.push(n.id);
    }
    let mut conn = db.conn().await;
    let read = tenant_transaction(&mut conn, ana.tenant_id, async |c| {
        inbox::mark_read(c, ana, ids[0], at(10)).await
    })
    .await
    .unwrap();
    assert_eq!(read.read_at, Some(at(10)));
    let again = tenant_transaction(&mut conn, ana.tenant_id, async |c| {
        inbox::mark_read(c, ana, ids[0], at(20)).await
    })
    .await
    .unwrap();
    assert_eq!(
        again.read_at,
        Some(at(10)),
        "reading again keeps the first time"
    );
    assert_eq!(unread(&db, ana).await, 2);

    let unread_only = InboxFilter {
        unread_only: true,
        archived: false,
    };
    let page = list(&db, ana, unread_only, &PageRequest::default()).await;
    assert_eq!(
        page.data.iter().map(|n| n.id).collect::<Vec<_>>(),
        vec![ids[2], ids[1]],
        "unread, newest first"
    );

    let archived = tenant_transaction(&mut conn, ana.tenant_id, async |c| {
        inbox::archive(c, ana, ids[1], at(30)).await
    })
    .await
    .unwrap();
    assert_eq!(archived.archived_at, Some(at(30)));
    assert_eq!(archived.read_at, Some(at(30)), "archiving reads it");
    let inbox_now = list(&db, ana, InboxFilter::default(), &PageRequest::default()).await;
    assert_eq!(
        inbox_now.data.iter().map(|n| n.id).collect::<Vec<_>>(),
        vec![ids[2], ids[0]]
    );
    let archive = InboxFilter {
        unread_only: false,
        archived: true,
    };
    let archive_view = list(&db, ana, archive, &PageRequest::default()).await;
    assert_eq!(
        archive_view.data.iter().map(|n| n.id).collect::<Vec<_>>(),
        vec![ids[1]]
    );

    let changed = tenant_transaction(&mut conn, ana.tenant_id, async |c| {
        inbox::mark_all_read(c, ana, at(40)).await
    })
    .await
    .unwrap();
    assert_eq!(changed, 1, "only the one still unread in the inbox");
    assert_eq!(unread(&db, ana).await, 0);
}

#[tokio::test]
async fn the_inbox_pages_newest_first_without_gaps() {
    let db = TestDb::new().await;
    let (t, people) = tenant(&db, "acme", &["ACTIVE"]).await;
    let ana = &people[0];
    let mut ids = Vec::new();
    for i in 0..7 {
        let n = deliver(&db, t, &note(ana, &format!("k{i}")), at(i))
            .await
            .unwrap()
            .unwrap();
        ids.push(n.id);
    }
    ids.reverse();
    let mut seen = Vec::new();
    let mut page = PageRequest {
        limit: Some(3),
        cursor: None,
    };
    loop {
        let got = list(&db, ana, InboxFilter::default(), &page).await;
        seen.extend(got.data.iter().map(|n| n.id));
        match got.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    let mut conn = db.conn().await;
    let forged = tenant_transaction(&mut conn, ana.tenant_id, async |c| {
        let page = PageRequest {
            limit: None,
            cursor: Some("not-a-cursor".into()),
        };
        inbox::list(c, ana, InboxFilter::default(), &page).await
    })
    .await;
    assert!(matches!(forged, Err(NotificationsError::Invalid(_))));
}

#[tokio::test]
async fn a_broadcast_reaches_each_active_member_once_per_key() {
    let db = TestDb::new().await;
    let (t, people) = tenant(&db, "acme", &["ACTIVE", "ACTIVE", "DEACTIVATED", "ACTIVE"]).await;
    let (_, strangers) = tenant(&db, "other", &["ACTIVE"]).await;
    let note = inbox::Broadcast {
        kind: NotificationType::NewModule,
        title: "New module: Forklifts".into(),
        body: "It is now available to you.".into(),
        entity: Some((EntityKind::Module, Uuid::now_v7())),
        dedup_key: "new_module:1".into(),
        data: serde_json::json!({ "module": "Forklifts" }),
    };
    let send = async |users: Vec<guild_kernel::UserId>| {
        let mut conn = db.conn().await;
        let note = note.clone();
        tenant_transaction(&mut conn, TenantId(t), async |c| {
            inbox::deliver_many(c, TenantId(t), &users, &note, at(0)).await
        })
        .await
        .unwrap()
    };
    // The deactivated member and another tenant's member are skipped.
    let first = send(vec![
        people[0].user_id,
        people[2].user_id,
        strangers[0].user_id,
    ])
    .await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].user_id, people[0].user_id.into_uuid());
    assert_eq!(first[0].kind, NotificationType::NewModule);
    // Sent again with more recipients: only the new ones are written.
    let again = send(people.iter().map(|p| p.user_id).collect()).await;
    let mut got: Vec<Uuid> = again.iter().map(|n| n.user_id).collect();
    got.sort();
    let mut want = vec![people[1].user_id.into_uuid(), people[3].user_id.into_uuid()];
    want.sort();
    assert_eq!(got, want);
    for who in [&people[0], &people[1], &people[3]] {
        assert_eq!(unread(&db, who).await, 1);
    }
    assert_eq!(unread(&db, &people[2]).await, 0);
    assert_eq!(unread(&db, &strangers[0]).await, 0);
    // Each batch that wrote something hands its notifications' emails to the worker at once.
    #[derive(diesel::QueryableByName)]
    struct Batch {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        ids: i64,
    }
    let batches: Vec<Batch> = diesel::sql_query(
        "SELECT jsonb_array_length(payload -> 'notification_ids')::int8 AS ids FROM outbox_events \
         WHERE kind = 'notifications.broadcast_delivered' ORDER BY id",
    )
    .load(&mut *db.conn().await)
    .await
    .unwrap();
    assert_eq!(
        batches.iter().map(|b| b.ids).collect::<Vec<_>>(),
        vec![1, 2]
    );
    let pending: Vec<Batch> = diesel::sql_query(
        "SELECT count(*) AS ids FROM notifications WHERE email_status = 'PENDING' \
           AND data = '{\"module\": \"Forklifts\"}'::jsonb",
    )
    .load(&mut *db.conn().await)
    .await
    .unwrap();
    assert_eq!(pending[0].ids, 3);
}

#[tokio::test]
async fn the_table_takes_every_notification_type_and_entity_kind() {
    let db = TestDb::new().await;
    let (t, people) = tenant(&db, "acme", &["ACTIVE"]).await;
    for (i, kind) in NotificationType::ALL.iter().enumerate() {
        let entity = EntityKind::ALL[i % EntityKind::ALL.len()];
        let n = NewNotification {
            kind: *kind,
            entity: Some((entity, Uuid::now_v7())),
            ..note(&people[0], &format!("every_kind:{i}"))
        };
        let written = deliver(&db, t, &n, at(0)).await;
        assert!(
            matches!(written, Ok(Some(_))),
            "{kind:?} / {entity:?}: {written:?}"
        );
    }
}

#[tokio::test]
async fn long_titles_are_cut_and_blank_ones_refused() {
    let db = TestDb::new().await;
    let (t, people) = tenant(&db, "acme", &["ACTIVE"]).await;
    let ana = &people[0];
    let mut long = note(ana, "long");
    long.title = "ž".repeat(inbox::MAX_TITLE + 40);
    long.body = "b".repeat(inbox::MAX_BODY + 1);
    let written = deliver(&db, t, &long, at(0)).await.unwrap().unwrap();
    assert_eq!(written.title.chars().count(), inbox::MAX_TITLE);
    assert!(written.title.ends_with('…'));
    assert_eq!(written.body.chars().count(), inbox::MAX_BODY);
    let mut blank = note(ana, "blank");
    blank.title = "   ".into();
    assert!(matches!(
        deliver(&db, t, &blank, at(0)).await,
        Err(NotificationsError::Invalid(_))
    ));
    let mut keyless = note(ana, " ");
    keyless.title = "t".into();
    assert!(matches!(
        deliver(&db, t, &keyless, at(0)).await,
        Err(NotificationsError::Invalid(_))
    ));
}

mod streams {
    use std::collections::BTreeSet;
    use std::time::Duration as StdDuration;

    use guild_db::{PoolConfig, build_pool};
    use serde_json::json;

    use super::*;
    use crate::stream::{self, Resume, StreamEvent};

    async fn append(db: &TestDb, who: &Actor, n: i64, now: DateTime<Utc>) -> StreamEvent {
        let mut conn = db.conn().await;
        tenant_transaction(&mut conn, who.tenant_id, async |c| {
            stream::append(
                c,
                who.tenant_id,
                who.user_id,
                "notification",
                &json!({ "n": n }),
                now,
            )
            .await
        })
        .await
        .unwrap()
    }

    async fn since(db: &TestDb, who: &Actor, after: i64) -> Resume {
        let mut conn = db.conn().await;
        tenant_transaction(&mut conn, who.tenant_id, async |c| {
            stream::since(c, who.tenant_id, who.user_id, after).await
        })
        .await
        .unwrap()
    }

    fn seqs(resume: &Resume) -> Vec<i64> {
        match resume {
            Resume::Events { events, .. } => events.iter().map(|e| e.seq).collect(),
            Resume::Reset { .. } => panic!("a reset where events were expected"),
        }
    }

    #[tokio::test]
    async fn a_member_resumes_exactly_after_the_last_id_they_saw() {
        let db = TestDb::new().await;
        let (_, people) = tenant(&db, "acme", &["ACTIVE", "ACTIVE"]).await;
        let (ana, bo) = (&people[0], &people[1]);
        for i in 1..=5 {
            assert_eq!(
                append(&db, ana, i, at(i)).await.seq,
                i,
                "numbered per member"
            );
        }
        assert_eq!(
            append(&db, bo, 1, at(1)).await.seq,
            1,
            "Bo's stream counts on its own"
        );
        assert_eq!(seqs(&since(&db, ana, 0).await), vec![1, 2, 3, 4, 5]);
        assert_eq!(seqs(&since(&db, ana, 3).await), vec![4, 5]);
        assert_eq!(seqs(&since(&db, ana, 5).await), Vec::<i64>::new());
        assert_eq!(seqs(&since(&db, bo, 0).await), vec![1]);
        // An id never given out asks the client to refetch.
        assert_eq!(since(&db, ana, 9).await, Resume::Reset { head: 5 });
        assert_eq!(since(&db, ana, -1).await, Resume::Reset { head: 5 });
    }

    #[tokio::test]
    async fn events_older_than_the_window_resume_as_a_reset() {
        let db = TestDb::new().await;
        let (t, people) = tenant(&db, "acme", &["ACTIVE"]).await;
        let ana = &people[0];
        for i in 1..=4 {
            append(&db, ana, i, at(i * 60)).await;
        }
        let mut conn = db.conn().await;
        let pruned = tenant_transaction(&mut conn, TenantId(t), async |c| {
            stream::prune(c, TenantId(t), at(150)).await
        })
        .await
        .unwrap();
        assert_eq!(pruned, 2, "the events at 60 and 120 minutes");
        assert_eq!(since(&db, ana, 1).await, Resume::Reset { head: 4 });
        assert_eq!(
            seqs(&since(&db, ana, 2).await),
            vec![3, 4],
            "nothing after 2 was lost"
        );
        // Everything pruned: ids keep rising, and an old id is a reset.
        tenant_transaction(&mut conn, TenantId(t), async |c| {
            stream::prune(c, TenantId(t), at(1000)).await
        })
        .await
        .unwrap();
        assert_eq!(since(&db, ana, 3).await, Resume::Reset { head: 4 });
        assert_eq!(seqs(&since(&db, ana, 4).await), Vec::<i64>::new());
        assert_eq!(append(&db, ana, 5, at(2000)).await.seq, 5);
    }

    #[tokio::test]
    async fn concurrent_writers_number_a_members_events_without_gaps_or_repeats() {
        let db = TestDb::new().await;
        let (_, people) = tenant(&db, "acme", &["ACTIVE"]).await;
        let ana = people[0].clone();
        let pool = build_pool(&PoolConfig {
            url: db.url().to_owned(),
            max_size: 8,
            timeout: StdDuration::from_secs(60),
        })
        .unwrap();
        let mut tasks = Vec::new();
        for i in 0..40 {
            let (pool, ana) = (pool.clone(), ana.clone());
            tasks.push(tokio::spawn(async move {
                let mut conn = guild_db::connect(&pool).await.unwrap();
                tenant_transaction(&mut conn, ana.tenant_id, async |c| {
                    stream::append(
                        c,
                        ana.tenant_id,
                        ana.user_id,
                        "notification",
                        &json!({ "i": i }),
                        at(0),
                    )
                    .await
                })
                .await
                .unwrap()
                .seq
            }));
        }
        let mut numbers = BTreeSet::new();
        for task in tasks {
            numbers.insert(task.await.unwrap());
        }
        assert_eq!(numbers, (1..=40).collect::<BTreeSet<i64>>());
        let all = seqs(&since(&db, &ana, 0).await);
        assert_eq!(all, (1..=40).collect::<Vec<i64>>());
    }

    #[tokio::test]
    async fn batches_and_single_appends_racing_number_each_stream_without_gaps() {
        let db = TestDb::new().await;
        let (t, people) = tenant(&db, "acme", &["ACTIVE", "ACTIVE", "ACTIVE"]).await;
        let pool = build_pool(&PoolConfig {
            url: db.url().to_owned(),
            max_size: 8,
            timeout: StdDuration::from_secs(60),
        })
        .unwrap();
        let mut tasks = Vec::new();
        for i in 0..30 {
            let (pool, people) = (pool.clone(), people.clone());
            tasks.push(tokio::spawn(async move {
                let mut conn = guild_db::connect(&pool).await.unwrap();
                tenant_transaction(&mut conn, TenantId(t), async |c| {
                    if i % 3 == 0 {
                        stream::append(
                            c,
                            TenantId(t),
                            people[1].user_id,
                            "notification",
                            &json!({ "i": i }),
                            at(0),
                        )
                        .await
                        .map(|_| ())
                    } else {
                        // Listed in a different order each time; a repeat counts once.
                        let mut batch: Vec<_> = people
                            .iter()
                            .map(|p| (p.user_id, json!({ "i": i, "to": p.user_id })))
                            .collect();
                        batch.rotate_left(i % 3);
                        batch.push(batch[0].clone());
                        let written =
                            stream::append_many(c, TenantId(t), "notification", &batch, at(0))
                                .await?;
                        assert_eq!(written.len(), 3);
                        for (user, event) in &written {
                            assert_eq!(event.payload["to"], json!(user), "each gets their own");
                        }
                        Ok(())
                    }
                })
                .await
                .unwrap();
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        // 20 batches reach everyone; Bo also got 10 single events.
        assert_eq!(
            seqs(&since(&db, &people[0], 0).await),
            (1..=20).collect::<Vec<i64>>()
        );
        assert_eq!(
            seqs(&since(&db, &people[1], 0).await),
            (1..=30).collect::<Vec<i64>>()
        );
        assert_eq!(
            seqs(&since(&db, &people[2], 0).await),
            (1..=20).collect::<Vec<i64>>()
        );
    }
}

/// Announcements to many members at once, and the changelog's read marker.
mod broadcasts {
    use super::*;
    use crate::changelog::{self, NewEntry};
    use crate::inbox::Broadcast;
    use crate::stream;
    use guild_kernel::UserId;
    use serde_json::json;

    fn announcement(key: &str) -> Broadcast {
        Broadcast {
            kind: NotificationType::System,
            title: "What's new in 2.4: Background exports".into(),
            body: "Exports run in the background.".into(),
            entity: Some((EntityKind::ChangelogEntry, Uuid::now_v7())),
            dedup_key: key.into(),
            data: serde_json::Value::Null,
        }
    }

    #[tokio::test]
    async fn a_broadcast_reaches_each_active_member_once_and_numbers_their_streams() {
        let db = TestDb::new().await;
        let (t, people) = tenant(&db, "acme", &["ACTIVE", "ACTIVE", "DEACTIVATED", "ACTIVE"]).await;
        let tenant = TenantId(t);
        let users: Vec<UserId> = people.iter().map(|p| p.user_id).collect();
        // Ana already has an event on her stream.
        let mut conn = db.conn().await;
        tenant_transaction(&mut conn, tenant, async |c| {
            stream::append(c, tenant, users[0], "notification", &json!({}), at(0)).await
        })
        .await
        .unwrap();

        let deliver = async |users: &[UserId]| {
            let mut conn = db.conn().await;
            tenant_transaction(&mut conn, tenant, async |c| {
                let written =
                    inbox::deliver_many(c, tenant, users, &announcement("changelog:1"), at(1))
                        .await?;
                let events: Vec<(UserId, serde_json::Value)> = written
                    .iter()
                    .map(|n| (UserId(n.user_id), json!({ "id": n.id })))
                    .collect();
                let appended =
                    stream::append_many(c, tenant, "notification", &events, at(1)).await?;
                Ok::<_, NotificationsError>((written, appended))
            })
            .await
            .unwrap()
        };
        let (written, appended) = deliver(&users).await;
        let mut expected: Vec<Uuid> = [0, 1, 3].iter().map(|i| users[*i].into_uuid()).collect();
        expected.sort();
        assert_eq!(
            written.iter().map(|n| n.user_id).collect::<Vec<_>>(),
            expected,
            "the deactivated member is skipped"
        );
        let seq_of = |user: UserId| {
            appended
                .iter()
                .find(|(u, _)| *u == user)
                .map(|(_, e)| e.seq)
        };
        assert_eq!(seq_of(users[0]), Some(2), "after Ana's first event");
        assert_eq!(seq_of(users[1]), Some(1));
        assert_eq!(seq_of(users[2]), None);
        assert_eq!(unread(&db, &people[1]).await, 1);

        // Delivered again (a redelivered event, a job run twice): nobody hears of it twice.
        let (again, appended) = deliver(&users).await;
        assert!(again.is_empty() && appended.is_empty());
        assert_eq!(unread(&db, &people[1]).await, 1);
    }

    async fn platform_owner(db: &TestDb) -> UserId {
        let user = Uuid::now_v7();
        diesel::sql_query(format!(
            "INSERT INTO users (id, email, name, global_role) \
             VALUES ('{user}', 'root@guild.example.com', 'Root', 'OWNER')"
        ))
        .execute(&mut db.conn().await)
        .await
        .unwrap();
        UserId(user)
    }

    fn entry(version: &str) -> NewEntry {
        NewEntry {
            version: version.into(),
            title: format!("Release {version}"),
            summary: "What changed.".into(),
            date: None,
        }
    }

    #[tokio::test]
    async fn the_read_marker_covers_what_was_published_before_it_and_never_moves_back() {
        let db = TestDb::new().await;
        let root = platform_owner(&db).await;
        let (_, people) = tenant(&db, "acme", &["ACTIVE"]).await;
        let ana = &people[0];
        let mut conn = db.conn().await;
        let first = changelog::publish(&mut conn, root, &entry("1.0"), at(10))
            .await
            .unwrap();
        assert_eq!(first.date, at(10).date_naive(), "dated today by default");
        changelog::publish(&mut conn, root, &entry("1.1"), at(20))
            .await
            .unwrap();
        // Not the platform owner: refused, and nothing published.
        let refused = changelog::publish(&mut conn, ana.user_id, &entry("x"), at(20)).await;
        assert!(matches!(refused, Err(NotificationsError::NotPlatformOwner)));
        let blank = changelog::publish(&mut conn, root, &entry(" "), at(20)).await;
        assert!(matches!(blank, Err(NotificationsError::Invalid(_))));

        let count = async || {
            let mut conn = db.conn().await;
            tenant_transaction(&mut conn, ana.tenant_id, async |c| {
                changelog::unread_count(c, ana).await
            })
            .await
            .unwrap()
        };
        let mark = async |now| {
            let mut conn = db.conn().await;
            tenant_transaction(&mut conn, ana.tenant_id, async |c| {
                changelog::mark_read(c, ana, now).await
            })
            .await
            .unwrap()
        };
        assert_eq!(count().await, 2);
        assert_eq!(mark(at(30)).await, at(20), "up to the newest publication");
        assert_eq!(count().await, 0);
        changelog::publish(&mut conn, root, &entry("1.2"), at(40))
            .await
            .unwrap();
        assert_eq!(count().await, 1);
        // Deleting the newest entry does not move the marker back.
        let newest = changelog::publish(&mut conn, root, &entry("1.3"), at(50))
            .await
            .unwrap();
        assert_eq!(mark(at(55)).await, at(50));
        changelog::delete(&mut conn, root, newest.id).await.unwrap();
        assert_eq!(mark(at(60)).await, at(50));
        assert_eq!(count().await, 0);
        // A platform owner visiting the tenant keeps no marker there.
        let mut visiting = ana.clone();
        visiting.impersonating = true;
        let refused = tenant_transaction(&mut conn, ana.tenant_id, async |c| {
            changelog::mark_read(c, &visiting, at(60)).await
        })
        .await;
        assert!(matches!(refused, Err(NotificationsError::NotAMember)));
    }

    #[tokio::test]
    async fn the_demo_changelog_is_published_once() {
        let db = TestDb::new().await;
        let mut conn = db.conn().await;
        assert_eq!(changelog::seed_demo(&mut conn, at(0)).await.unwrap(), 3);
        assert_eq!(changelog::seed_demo(&mut conn, at(5)).await.unwrap(), 0);
        let events: i64 = diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "SELECT count(*) FROM outbox_events WHERE kind = 'notifications.changelog_published'",
        )
        .get_result(&mut conn)
        .await
        .unwrap();
        assert_eq!(
            events, 3,
            "each entry reaches the members through the worker"
        );
    }
}
