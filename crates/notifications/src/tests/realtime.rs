//! Domain tests of stream tickets (single use, expiry, bound to their tenant and session
//! generation), usage sessions (split by a 30-minute pause, by the manual clock) and the online
//! list (active members who do not hide, the tenant's switch), on a real database.

use chrono::Duration;
use diesel_async::RunQueryDsl;
use guild_db::tenant_transaction;
use guild_kernel::ports::Online;
use guild_kernel::{Actor, PageRequest, TenantId, TenantRole};
use guild_testkit::TestDb;

use super::{at, tenant};
use crate::NotificationsError;
use crate::presence;
use crate::sessions::{self, UsageSession};
use crate::tickets::{self, Redeemed};

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Runs `sql`, selecting one `count(*) AS n`, outside any tenant transaction.
async fn count(db: &TestDb, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<Count>(&mut db.conn().await)
        .await
        .expect(sql)
        .n
}

async fn mint(db: &TestDb, who: &Actor, minute: i64) -> tickets::Minted {
    let mut conn = db.conn().await;
    tenant_transaction(&mut conn, who.tenant_id, async |c| {
        tickets::mint(c, who, at(minute)).await
    })
    .await
    .expect("minted")
}

/// Redeems `ticket` in the tenant it names, as `GET /v1/stream?ticket=` does.
async fn redeem(db: &TestDb, ticket: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Redeemed> {
    let (tenant, hash) = tickets::parse(ticket)?;
    let mut conn = db.conn().await;
    tenant_transaction(&mut conn, tenant, async |c| {
        tickets::redeem(c, tenant, &hash, now).await
    })
    .await
    .expect("redeemed or refused")
}

#[tokio::test]
async fn a_stream_ticket_works_once_within_30_seconds_and_is_stored_hashed() {
    let db = TestDb::new().await;
    let (_, people) = tenant(&db, "acme", &["ACTIVE"]).await;
    let ana = &people[0];

    let first = mint(&db, ana, 0).await;
    assert_eq!(first.ticket.len(), tickets::LEN);
    assert_eq!(first.expires_at, at(0) + Duration::seconds(30));
    let stored = count(
        &db,
        &format!(
            "SELECT count(*) AS n FROM stream_tickets WHERE token_hash = sha256('{}'::bytea)",
            first.ticket
        ),
    )
    .await;
    assert_eq!(stored, 1, "only the ticket's SHA-256 is kept");
    let plain = count(
        &db,
        &format!(
            "SELECT count(*) AS n FROM stream_tickets WHERE position('{}'::bytea in token_hash) > 0",
            &first.ticket[tickets::PREFIX.len()..]
        ),
    )
    .await;
    assert_eq!(plain, 0);

    let used = redeem(&db, &first.ticket, at(0) + Duration::seconds(29)).await;
    assert_eq!(used.map(|r| r.user), Some(ana.user_id));
    assert_eq!(
        redeem(&db, &first.ticket, at(0) + Duration::seconds(29)).await,
        None,
        "used once"
    );

    let late = mint(&db, ana, 1).await;
    assert_eq!(
        redeem(&db, &late.ticket, at(1) + Duration::seconds(30)).await,
        None,
        "expired after 30 s"
    );
    assert_eq!(
        redeem(&db, &late.ticket, at(1)).await,
        None,
        "and gone: an expired ticket is used up too"
    );
}

#[tokio::test]
async fn a_ticket_is_refused_in_another_tenant_and_a_forged_one_anywhere() {
    let db = TestDb::new().await;
    let (_, alpha) = tenant(&db, "alpha", &["ACTIVE"]).await;
    let (beta, _) = tenant(&db, "beta", &["ACTIVE"]).await;
    let minted = mint(&db, &alpha[0], 0).await;
    let secret = minted.ticket.split_once('.').expect("a dot").1;

    // The same secret presented for another tenant is not found there (and stays usable).
    let moved = format!("{}{}.{secret}", tickets::PREFIX, beta.simple());
    assert!(tickets::parse(&moved).is_some());
    assert_eq!(redeem(&db, &moved, at(0)).await, None);
    // Forged secrets and malformed tickets.
    let forged = format!(
        "{}{}.{}",
        tickets::PREFIX,
        alpha[0].tenant_id.into_uuid().simple(),
        "A".repeat(43)
    );
    assert_eq!(redeem(&db, &forged, at(0)).await, None);
    for bad in [
        "",
        "gst_",
        &minted.ticket[1..],
        &format!("{}x", minted.ticket),
    ] {
        assert!(tickets::parse(bad).is_none(), "{bad:?}");
    }
    assert!(redeem(&db, &minted.ticket, at(0)).await.is_some());
}

#[tokio::test]
async fn only_members_get_tickets_and_expired_ones_are_pruned() {
    let db = TestDb::new().await;
    let (t, people) = tenant(&db, "acme", &["ACTIVE"]).await;
    let mut owner = people[0].clone();
    owner.impersonating = true;
    let mut conn = db.conn().await;
    let refused = tenant_transaction(&mut conn, TenantId(t), async |c| {
        tickets::mint(c, &owner, at(0)).await
    })
    .await;
    assert!(matches!(refused, Err(NotificationsError::NotAMember)));

    mint(&db, &people[0], 0).await;
    let kept = mint(&db, &people[0], 10).await;
    let pruned = tenant_transaction(&mut conn, TenantId(t), async |c| {
        tickets::prune(c, TenantId(t), at(1)).await
    })
    .await
    .unwrap();
    assert_eq!(pruned, 1);
    assert!(redeem(&db, &kept.ticket, at(10)).await.is_some());
}

async fn ping(db: &TestDb, who: &Actor, now: chrono::DateTime<chrono::Utc>) {
    let mut conn = db.conn().await;
    tenant_transaction(&mut conn, who.tenant_id, async |c| {
        sessions::ping_mine(c, who, now).await
    })
    .await
    .expect("pinged");
}

async fn my_sessions(
    db: &TestDb,
    who: &Actor,
    page: &PageRequest,
) -> guild_kernel::Page<UsageSession> {
    let mut conn = db.conn().await;
    tenant_transaction(&mut conn, who.tenant_id, async |c| {
        sessions::list_mine(c, who, page).await
    })
    .await
    .expect("listed")
}

#[tokio::test]
async fn a_pause_longer_than_30_minutes_starts_a_new_usage_session() {
    let db = TestDb::new().await;
    let (_, people) = tenant(&db, "acme", &["ACTIVE", "ACTIVE"]).await;
    let (ana, bob) = (&people[0], &people[1]);
    // 9:00 to 9:30 with pings every ten minutes (and one arriving late, out of order).
    for minute in [0, 10, 20, 30] {
        ping(&db, ana, at(minute)).await;
    }
    ping(&db, ana, at(25)).await;
    // Exactly 30 minutes later still continues; 30 minutes and a second later does not.
    ping(&db, ana, at(60)).await;
    ping(&db, ana, at(90) + Duration::seconds(1)).await;
    ping(&db, ana, at(95)).await;
    ping(&db, bob, at(50)).await;

    let page = my_sessions(&db, ana, &PageRequest::default()).await;
    let spans: Vec<_> = page
        .data
        .iter()
        .map(|s| (s.started_at, s.last_ping_at, s.duration_seconds()))
        .collect();
    assert_eq!(
        spans,
        vec![
            (at(90) + Duration::seconds(1), at(95), 299),
            (at(0), at(60), 3600),
        ],
        "newest first"
    );
    assert_eq!(page.next_cursor, None);
    let bobs = my_sessions(&db, bob, &PageRequest::default()).await;
    assert_eq!(bobs.data.len(), 1, "each member's own");

    // One page at a time.
    let first = my_sessions(
        &db,
        ana,
        &PageRequest {
            limit: Some(1),
            cursor: None,
        },
    )
    .await;
    assert_eq!(first.data[0].started_at, at(90) + Duration::seconds(1));
    let second = my_sessions(
        &db,
        ana,
        &PageRequest {
            limit: Some(1),
            cursor: first.next_cursor,
        },
    )
    .await;
    assert_eq!(second.data[0].started_at, at(0));
    assert_eq!(second.next_cursor, None);
}

#[tokio::test]
async fn pings_racing_after_a_pause_start_one_session() {
    let db = TestDb::new().await;
    let (t, people) = tenant(&db, "acme", &["ACTIVE"]).await;
    let ana = people[0].clone();
    ping(&db, &ana, at(0)).await;
    let pool = guild_db::build_pool(&guild_db::PoolConfig {
        url: db.url().to_owned(),
        max_size: 8,
        timeout: std::time::Duration::from_secs(60),
    })
    .unwrap();
    let racers = (0..8).map(|i| {
        let (pool, ana) = (pool.clone(), ana.clone());
        tokio::spawn(async move {
            let mut conn = guild_db::connect(&pool).await.unwrap();
            tenant_transaction(&mut conn, TenantId(t), async |c| {
                sessions::ping_mine(c, &ana, at(60) + Duration::seconds(i)).await
            })
            .await
        })
    });
    for racer in futures_util::future::join_all(racers).await {
        racer.unwrap().unwrap();
    }
    let page = my_sessions(&db, &ana, &PageRequest::default()).await;
    assert_eq!(page.data.len(), 2, "{:?}", page.data);
    assert!(
        page.data[0].started_at >= at(60)
            && page.data[0].started_at < at(60) + Duration::seconds(8)
    );
    assert_eq!(page.data[0].last_ping_at, at(60) + Duration::seconds(7));
}

#[tokio::test]
async fn the_online_list_shows_active_members_who_do_not_hide_unless_the_tenant_turned_it_off() {
    let db = TestDb::new().await;
    let (t, people) = tenant(&db, "acme", &["ACTIVE", "ACTIVE", "ACTIVE", "DEACTIVATED"]).await;
    let (_, strangers) = tenant(&db, "other", &["ACTIVE"]).await;
    let online: Vec<Online> = people
        .iter()
        .chain(&strangers)
        .enumerate()
        .map(|(i, p)| Online {
            user: p.user_id,
            since: at(i as i64),
        })
        .collect();
    let list = async |who: &Actor, page: &PageRequest| {
        let mut conn = db.conn().await;
        tenant_transaction(&mut conn, TenantId(t), async |c| {
            presence::online_members(c, who, &online, page).await
        })
        .await
    };
    let names = |page: &guild_kernel::Page<presence::OnlineMember>| {
        page.data
            .iter()
            .map(|m| (m.name.clone(), m.since))
            .collect::<Vec<_>>()
    };
    let all = list(&people[0], &PageRequest::default()).await.unwrap();
    assert_eq!(
        names(&all),
        vec![
            ("Member 0".to_owned(), at(0)),
            ("Member 1".to_owned(), at(1)),
            ("Member 2".to_owned(), at(2)),
        ],
        "active members of the tenant only"
    );

    // Member 1 hides.
    let mut conn = db.conn().await;
    let hidden = tenant_transaction(&mut conn, TenantId(t), async |c| {
        presence::set_hidden(c, &people[1], true, at(5)).await
    })
    .await
    .unwrap();
    assert!(hidden);
    let page = list(
        &people[0],
        &PageRequest {
            limit: Some(1),
            cursor: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(names(&page), vec![("Member 0".to_owned(), at(0))]);
    let rest = list(
        &people[0],
        &PageRequest {
            limit: Some(1),
            cursor: page.next_cursor,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        names(&rest),
        vec![("Member 2".to_owned(), at(2))],
        "the hidden member is skipped"
    );
    assert_eq!(rest.next_cursor, None);

    // Only an admin turns presence off; then nobody sees the list.
    let refused = tenant_transaction(&mut conn, TenantId(t), async |c| {
        presence::update_settings(c, &people[0], false, at(6)).await
    })
    .await;
    assert!(matches!(refused, Err(NotificationsError::Forbidden)));
    let admin = guild_testkit::actor(t, people[2].user_id.into_uuid(), TenantRole::Admin);
    let off = tenant_transaction(&mut conn, TenantId(t), async |c| {
        presence::update_settings(c, &admin, false, at(6)).await
    })
    .await
    .unwrap();
    assert!(!off.enabled);
    assert!(matches!(
        list(&admin, &PageRequest::default()).await,
        Err(NotificationsError::PresenceDisabled)
    ));
    let audited = count(
        &db,
        "SELECT count(*) AS n FROM audit_log WHERE action = 'PRESENCE_SETTINGS_UPDATED'",
    )
    .await;
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn a_ticket_redeemed_by_racing_requests_opens_one_stream() {
    let db = TestDb::new().await;
    let (_, people) = tenant(&db, "acme", &["ACTIVE"]).await;
    let minted = mint(&db, &people[0], 0).await;
    let pool = guild_db::build_pool(&guild_db::PoolConfig {
        url: db.url().to_owned(),
        max_size: 8,
        timeout: std::time::Duration::from_secs(60),
    })
    .unwrap();
    let (tenant, hash) = tickets::parse(&minted.ticket).expect("a well-formed ticket");
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (pool, hash) = (pool.clone(), hash.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = guild_db::connect(&pool).await.unwrap();
            tenant_transaction(&mut conn, tenant, async |c| {
                tickets::redeem(c, tenant, &hash, at(0)).await
            })
            .await
            .unwrap()
            .is_some()
        }));
    }
    let mut opened = 0;
    for task in tasks {
        opened += usize::from(task.await.unwrap());
    }
    assert_eq!(
        opened, 1,
        "a ticket is single use, however many race for it"
    );
}
