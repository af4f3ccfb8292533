//! Domain tests of gamification under real parallelism (many pooled connections on a
//! multi-threaded runtime): stock and balances never oversold, awards summing to the ledger,
//! redelivered events awarding once, and the ledger invariants after a mix of operations.

use std::sync::Arc;
use std::time::Duration;

use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use guild_db::{PgPool, PoolConfig, build_pool, tenant_transaction};
use guild_kernel::{Actor, PageRequest, RewardId, TenantRole};
use guild_testkit::TestDb;
use uuid::Uuid;

use crate::GamificationError;
use crate::leaderboard::{self, Period};
use crate::ledger::{self, Balance, ManualInput};
use crate::rewards::{self, Decision, RewardInput};

use guild_testkit::actor;

/// A tenant with its owner and `n` employees.
async fn people(db: &TestDb, n: usize) -> (Actor, Vec<Actor>) {
    let tenant = Uuid::now_v7();
    let owner = Uuid::now_v7();
    let members: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
    let mut conn = db.conn().await;
    let mut sql = vec![
        format!("INSERT INTO tenants (id, name, slug) VALUES ('{tenant}', 'Acme', 'acme')"),
        format!(
            "INSERT INTO users (id, email, name) VALUES ('{owner}', 'owner@acme.example.com', 'Owner')"
        ),
        format!(
            "INSERT INTO memberships (tenant_id, user_id, role) VALUES ('{tenant}', '{owner}', 'OWNER')"
        ),
    ];
    for (i, m) in members.iter().enumerate() {
        sql.push(format!(
            "INSERT INTO users (id, email, name) VALUES ('{m}', 'm{i}@acme.example.com', 'Member {i}')"
        ));
        sql.push(format!(
            "INSERT INTO memberships (tenant_id, user_id, role) VALUES ('{tenant}', '{m}', 'EMPLOYEE')"
        ));
    }
    for s in sql {
        diesel::sql_query(s).execute(&mut conn).await.unwrap();
    }
    (
        actor(tenant, owner, TenantRole::Owner),
        members
            .into_iter()
            .map(|m| actor(tenant, m, TenantRole::Employee))
            .collect(),
    )
}

fn pool(db: &TestDb) -> PgPool {
    build_pool(&PoolConfig {
        url: db.url().to_owned(),
        max_size: 16,
        timeout: Duration::from_secs(120),
    })
    .unwrap()
}

async fn manual(
    db: &TestDb,
    owner: &Actor,
    user: &Actor,
    amount: i32,
) -> Result<Balance, GamificationError> {
    let mut conn = db.conn().await;
    let input = ManualInput {
        user_id: user.user_id.into_uuid(),
        amount,
        reason: "test".into(),
    };
    tenant_transaction(&mut conn, owner.tenant_id, async |c| {
        ledger::manual(c, owner, &input).await
    })
    .await
}

async fn reward(db: &TestDb, owner: &Actor, cost: i32, stock: Option<i32>, approval: bool) -> Uuid {
    let mut conn = db.conn().await;
    let input = RewardInput {
        title: Some("Mug".into()),
        cost_xp: Some(cost),
        stock: Some(stock),
        approval_required: Some(approval),
        ..RewardInput::default()
    };
    tenant_transaction(&mut conn, owner.tenant_id, async |c| {
        rewards::create(c, owner, &input, chrono::Utc::now()).await
    })
    .await
    .unwrap()
    .id
}

async fn redeem_on(
    pool: &PgPool,
    member: &Actor,
    reward: Uuid,
    _key: &str,
) -> Result<rewards::Redemption, GamificationError> {
    let mut conn = guild_db::connect(pool).await.unwrap();
    tenant_transaction(&mut conn, member.tenant_id, async |c| {
        rewards::redeem(c, member, RewardId(reward), chrono::Utc::now()).await
    })
    .await
}

async fn balance(db: &TestDb, member: &Actor) -> Balance {
    let mut conn = db.conn().await;
    tenant_transaction(&mut conn, member.tenant_id, async |c| {
        ledger::balance(c, member.tenant_id, member.user_id).await
    })
    .await
    .unwrap()
}

#[derive(diesel::QueryableByName, Debug, PartialEq)]
struct Mismatch {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = BigInt)]
    total_xp: i64,
    #[diesel(sql_type = BigInt)]
    ledger_total: i64,
    #[diesel(sql_type = BigInt)]
    lifetime_xp: i64,
    #[diesel(sql_type = BigInt)]
    ledger_earned: i64,
}

/// Members whose balance differs from their ledger (should be none).
async fn mismatches(db: &TestDb) -> Vec<Mismatch> {
    diesel::sql_query(
        "SELECT b.user_id, b.total_xp::bigint AS total_xp, \
                coalesce(sum(t.amount), 0)::bigint AS ledger_total, \
                b.lifetime_xp::bigint AS lifetime_xp, \
                coalesce(sum(t.amount) FILTER (WHERE t.kind = 'AWARD' OR (t.kind = 'MANUAL' AND t.amount > 0)), 0)::bigint AS ledger_earned \
         FROM user_xp_balances b LEFT JOIN xp_transactions t ON t.tenant_id = b.tenant_id AND t.user_id = b.user_id \
         GROUP BY b.tenant_id, b.user_id, b.total_xp, b.lifetime_xp \
         HAVING b.total_xp <> coalesce(sum(t.amount), 0) \
             OR b.lifetime_xp <> coalesce(sum(t.amount) FILTER (WHERE t.kind = 'AWARD' OR (t.kind = 'MANUAL' AND t.amount > 0)), 0)",
    )
    .load(&mut db.conn().await)
    .await
    .unwrap()
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let n: N = diesel::sql_query(sql)
        .get_result(&mut db.conn().await)
        .await
        .unwrap();
    n.n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_racing_redemptions_of_the_last_unit_succeed_once() {
    let db = Arc::new(TestDb::new().await);
    let (owner, members) = people(&db, 20).await;
    for m in &members {
        manual(&db, &owner, m, 1000).await.unwrap();
    }
    let reward = reward(&db, &owner, 100, Some(1), false).await;
    let pool = pool(&db);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let (pool, member) = (pool.clone(), members[i % members.len()].clone());
        tasks.spawn(async move { redeem_on(&pool, &member, reward, &format!("k{i}")).await });
    }
    let (mut ok, mut out_of_stock) = (0, 0);
    while let Some(r) = tasks.join_next().await {
        match r.unwrap() {
            Ok(_) => ok += 1,
            Err(GamificationError::OutOfStock) => out_of_stock += 1,
            Err(e) => panic!("unexpected: {e:?}"),
        }
    }
    assert_eq!((ok, out_of_stock), (1, 199));
    assert_eq!(
        count(&db, "SELECT stock::bigint AS n FROM rewards").await,
        0
    );
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM reward_redemptions").await,
        1
    );
    assert!(mismatches(&db).await.is_empty());
    // The month and week totals the leaderboards read equal the ledger's earned XP.
    for period in ["month", "week"] {
        let off = count(
            &db,
            &format!(
                "SELECT count(*) AS n FROM ( \
                   SELECT t.user_id, sum(t.amount) AS earned FROM xp_transactions t \
                   WHERE (t.kind = 'AWARD' OR (t.kind = 'MANUAL' AND t.amount > 0)) \
                     AND t.created_at >= date_trunc('{period}', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' \
                   GROUP BY t.user_id) l \
                 FULL JOIN (SELECT user_id, xp FROM xp_period_totals WHERE period = upper('{period}') \
                   AND period_start = date_trunc('{period}', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') p \
                   ON p.user_id = l.user_id \
                 WHERE coalesce(l.earned, 0) <> coalesce(p.xp, 0)"
            ),
        )
        .await;
        assert_eq!(off, 0, "{period} totals differ from the ledger");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_racing_redemptions_of_one_member_stop_at_the_balance() {
    let db = Arc::new(TestDb::new().await);
    let (owner, members) = people(&db, 1).await;
    let member = members[0].clone();
    manual(&db, &owner, &member, 350).await.unwrap();
    let reward = reward(&db, &owner, 100, None, true).await;
    let pool = pool(&db);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..100 {
        let (pool, member) = (pool.clone(), member.clone());
        tasks.spawn(async move { redeem_on(&pool, &member, reward, &format!("k{i}")).await });
    }
    let (mut ok, mut refused) = (0, 0);
    while let Some(r) = tasks.join_next().await {
        match r.unwrap() {
            Ok(_) => ok += 1,
            Err(GamificationError::InsufficientXp { .. }) => refused += 1,
            Err(e) => panic!("unexpected: {e:?}"),
        }
    }
    assert_eq!((ok, refused), (3, 97));
    let b = balance(&db, &member).await;
    assert_eq!((b.total_xp, b.held_xp, b.lifetime_xp), (50, 300, 350));
    assert!(mismatches(&db).await.is_empty());
}

async fn review_on(
    pool: &PgPool,
    actor: &Actor,
    id: Uuid,
    decision: Decision,
) -> Result<rewards::Redemption, GamificationError> {
    let mut conn = guild_db::connect(pool).await.unwrap();
    tenant_transaction(&mut conn, actor.tenant_id, async |c| {
        rewards::review(c, actor, id, decision, None, chrono::Utc::now()).await
    })
    .await
}

// Redemptions lock the member's balance and then the reward; cancellations and rejections must
// take them in the same order, or they deadlock (and PostgreSQL aborts one) under this load.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_redemptions_cancellations_and_rejections_of_one_reward_keep_its_stock() {
    let db = Arc::new(TestDb::new().await);
    let (owner, members) = people(&db, 16).await;
    for m in &members {
        manual(&db, &owner, m, 1000).await.unwrap();
    }
    let reward = reward(&db, &owner, 10, Some(24), true).await;
    let pool = pool(&db);
    let mut tasks = tokio::task::JoinSet::new();
    for (i, member) in members.iter().enumerate() {
        let (pool, member, owner) = (pool.clone(), member.clone(), owner.clone());
        tasks.spawn(async move {
            let mut out_of_stock = 0;
            for round in 0..6 {
                match redeem_on(&pool, &member, reward, &format!("k{i}-{round}")).await {
                    Ok(r) => {
                        let (who, decision) = match round % 3 {
                            0 => (&member, Decision::Cancel),
                            1 => (&owner, Decision::Reject),
                            _ => continue,
                        };
                        review_on(&pool, who, r.id, decision).await.unwrap();
                    }
                    Err(GamificationError::OutOfStock) => out_of_stock += 1,
                    Err(e) => panic!("unexpected: {e:?}"),
                }
            }
            out_of_stock
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    let pending = count(
        &db,
        "SELECT count(*) AS n FROM reward_redemptions WHERE status = 'PENDING'",
    )
    .await;
    assert!(pending > 0 && pending <= 24, "{pending} pending");
    assert_eq!(
        count(&db, "SELECT stock::bigint AS n FROM rewards").await,
        24 - pending
    );
    assert_eq!(
        count(
            &db,
            "SELECT sum(held_xp)::bigint AS n FROM user_xp_balances"
        )
        .await,
        10 * pending
    );
    assert!(mismatches(&db).await.is_empty());
}

// An admin's edit that commits while a redemption is under way: the redemption waits for it at
// the reward's row lock, sees the new terms, and is refused and rolled back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reward_edited_during_a_redemption_refuses_it_and_takes_nothing() {
    let db = Arc::new(TestDb::new().await);
    let (owner, members) = people(&db, 1).await;
    let member = members[0].clone();
    manual(&db, &owner, &member, 500).await.unwrap();
    let unlimited = reward(&db, &owner, 100, None, false).await;
    let limited = reward(&db, &owner, 100, Some(5), false).await;
    let pool = pool(&db);
    let cases = [
        (unlimited, "cost_xp = 50", "reward_changed"),
        (unlimited, "active = false", "reward_inactive"),
        (limited, "stock = 0", "reward_out_of_stock"),
        (limited, "approval_required = true", "reward_changed"),
    ];
    for (i, (reward, edit, code)) in cases.into_iter().enumerate() {
        let mut admin = db.conn().await;
        diesel::sql_query("BEGIN")
            .execute(&mut admin)
            .await
            .unwrap();
        // Lock the row the way an admin's PATCH does, before the redemption starts.
        diesel::sql_query(format!(
            "SELECT 1 FROM rewards WHERE id = '{reward}' FOR UPDATE"
        ))
        .execute(&mut admin)
        .await
        .unwrap();
        let task = {
            let (pool, member) = (pool.clone(), member.clone());
            tokio::spawn(async move { redeem_on(&pool, &member, reward, &format!("e{i}")).await })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!task.is_finished(), "{edit}: the redemption did not wait");
        diesel::sql_query(format!("UPDATE rewards SET {edit} WHERE id = '{reward}'"))
            .execute(&mut admin)
            .await
            .unwrap();
        diesel::sql_query("COMMIT")
            .execute(&mut admin)
            .await
            .unwrap();
        let err = task.await.unwrap().unwrap_err();
        assert_eq!(guild_kernel::ErrorCode::code(&err), code, "{edit}");
        diesel::sql_query(format!(
            "UPDATE rewards SET cost_xp = 100, active = true, approval_required = false, \
             stock = CASE WHEN stock IS NULL THEN NULL ELSE 5 END WHERE id = '{reward}'"
        ))
        .execute(&mut admin)
        .await
        .unwrap();
    }
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM reward_redemptions").await,
        0
    );
    let b = balance(&db, &member).await;
    assert_eq!((b.total_xp, b.held_xp), (500, 0));
    // With the terms back, the same member redeems both.
    for (i, reward) in [unlimited, limited].into_iter().enumerate() {
        redeem_on(&pool, &member, reward, &format!("ok{i}"))
            .await
            .unwrap();
    }
    assert_eq!(
        count(
            &db,
            "SELECT stock::bigint AS n FROM rewards WHERE stock IS NOT NULL"
        )
        .await,
        4
    );
    assert!(mismatches(&db).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_racing_awards_equal_the_ledger_sum() {
    let db = Arc::new(TestDb::new().await);
    let (_, members) = people(&db, 1).await;
    let member = members[0].clone();
    let pool = pool(&db);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..500 {
        let (pool, member) = (pool.clone(), member.clone());
        tasks.spawn(async move {
            let mut conn = guild_db::connect(&pool).await.unwrap();
            tenant_transaction(&mut conn, member.tenant_id, async |c| {
                ledger::award(
                    c,
                    member.tenant_id,
                    member.user_id,
                    "MODULE_COMPLETED",
                    Uuid::now_v7(),
                )
                .await
            })
            .await
            .unwrap()
            .is_some()
        });
    }
    while let Some(awarded) = tasks.join_next().await {
        assert!(awarded.unwrap());
    }
    let b = balance(&db, &member).await;
    assert_eq!((b.total_xp, b.lifetime_xp), (50_000, 50_000));
    assert_eq!(b.rank.as_str(), "MENTOR");
    assert!(mismatches(&db).await.is_empty());
    // One rank change per threshold crossed, however the awards interleaved.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) AS n FROM outbox_events WHERE kind = 'gamification.rank_changed'"
        )
        .await,
        3
    );
}

#[tokio::test]
async fn the_same_event_twice_awards_once() {
    let db = TestDb::new().await;
    let (_, members) = people(&db, 1).await;
    let m = &members[0];
    let module = Uuid::now_v7();
    let mut conn = db.conn().await;
    for expected in [true, false] {
        let awarded = tenant_transaction(&mut conn, m.tenant_id, async |c| {
            ledger::award(c, m.tenant_id, m.user_id, "MODULE_COMPLETED", module).await
        })
        .await
        .unwrap();
        assert_eq!(awarded.is_some(), expected);
    }
    assert_eq!(balance(&db, m).await.total_xp, 100);
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM xp_transactions").await,
        1
    );
}

#[tokio::test]
async fn a_rank_change_emits_an_event() {
    let db = TestDb::new().await;
    let (owner, members) = people(&db, 1).await;
    let m = &members[0];
    manual(&db, &owner, m, 1499).await.unwrap();
    let kind = "SELECT count(*) AS n FROM outbox_events WHERE kind = 'gamification.rank_changed'";
    assert_eq!(count(&db, kind).await, 0);
    let b = manual(&db, &owner, m, 1).await.unwrap();
    assert_eq!(b.rank.as_str(), "POMOCNIK");
    assert_eq!(count(&db, kind).await, 1);
    // Spending never lowers the rank.
    manual(&db, &owner, m, -1500).await.unwrap();
    let b = balance(&db, m).await;
    assert_eq!(
        (b.rank.as_str(), b.total_xp, b.lifetime_xp),
        ("POMOCNIK", 0, 1500)
    );
    assert!(matches!(
        manual(&db, &owner, m, -1).await,
        Err(GamificationError::InsufficientXp { .. })
    ));
}

#[tokio::test]
async fn balances_equal_the_ledger_after_a_mix_of_operations() {
    let db = TestDb::new().await;
    let (owner, members) = people(&db, 3).await;
    let pool = pool(&db);
    let limited = reward(&db, &owner, 40, Some(5), true).await;
    let instant = reward(&db, &owner, 30, None, false).await;
    for (i, m) in members.iter().enumerate() {
        let mut conn = db.conn().await;
        tenant_transaction(&mut conn, m.tenant_id, async |c| {
            ledger::award(
                c,
                m.tenant_id,
                m.user_id,
                "MODULE_COMPLETED",
                Uuid::now_v7(),
            )
            .await?;
            ledger::award(c, m.tenant_id, m.user_id, "QUIZ_HIGH_SCORE", Uuid::now_v7()).await
        })
        .await
        .unwrap();
        manual(&db, &owner, m, 20).await.unwrap();
        manual(&db, &owner, m, -10).await.unwrap();
        redeem_on(&pool, m, instant, "a").await.unwrap();
        let mut ids = Vec::new();
        for k in 0..3 {
            ids.push(
                redeem_on(&pool, m, limited, &format!("h{k}"))
                    .await
                    .unwrap()
                    .id,
            );
        }
        let mut conn = db.conn().await;
        let decisions = [
            (Decision::Approve, &owner),
            (Decision::Reject, &owner),
            (Decision::Cancel, m),
        ];
        for ((decision, who), id) in decisions.into_iter().zip(ids) {
            let now = chrono::Utc::now();
            tenant_transaction(&mut conn, who.tenant_id, async |c| {
                rewards::review(c, who, id, decision, Some("because"), now).await
            })
            .await
            .unwrap();
        }
        let b = balance(&db, m).await;
        // 100 + 50 + 20 - 10 - 30 (instant) - 40 (approved) = 90; rejected and cancelled returned.
        assert_eq!(
            (b.total_xp, b.held_xp, b.lifetime_xp),
            (90, 0, 170),
            "member {i}"
        );
    }
    assert!(mismatches(&db).await.is_empty());
    // 5 units, 3 members each kept one approved: 2 left.
    assert_eq!(
        count(
            &db,
            &format!("SELECT stock::bigint AS n FROM rewards WHERE id = '{limited}'")
        )
        .await,
        2
    );
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM outbox_events WHERE kind = 'gamification.redemption_rejected'").await,
        3
    );
    // A decided redemption cannot be decided again.
    let mut conn = db.conn().await;
    let first: Vec<rewards::Redemption> =
        tenant_transaction(&mut conn, owner.tenant_id, async |c| {
            rewards::redemptions(
                c,
                &owner,
                false,
                Some(rewards::RedemptionStatus::Approved),
                None,
                &PageRequest::default(),
            )
            .await
        })
        .await
        .unwrap()
        .data;
    let id = first[0].id;
    let again = tenant_transaction(&mut conn, owner.tenant_id, async |c| {
        rewards::review(c, &owner, id, Decision::Reject, None, chrono::Utc::now()).await
    })
    .await;
    assert!(matches!(
        again,
        Err(GamificationError::RedemptionNotPending)
    ));
}

#[tokio::test]
async fn the_all_time_leaderboard_reads_its_index() {
    let db = TestDb::new().await;
    let (owner, members) = people(&db, 3).await;
    for (i, m) in members.iter().enumerate() {
        manual(&db, &owner, m, 100 * (i32::try_from(i).unwrap() + 1))
            .await
            .unwrap();
    }
    #[derive(diesel::QueryableByName)]
    struct Plan {
        #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
        line: String,
    }
    let tenant = owner.tenant_id.into_uuid();
    let mut conn = db.conn().await;
    // A small table would be read sequentially anyway; what matters is that the plan can walk
    // the index in order, which it does once sequential scans cost what they cost on big tables.
    diesel::sql_query("SET enable_seqscan = off")
        .execute(&mut conn)
        .await
        .unwrap();
    let sql = leaderboard::page_sql(Period::All)
        .replace("$1", &format!("'{tenant}'::uuid"))
        .replace("$2", "NULL")
        .replace("$3", "NULL")
        .replace("$4", "NULL")
        .replace("$5", "NULL")
        .replace("$6", "51");
    let plan: Vec<Plan> = diesel::sql_query(format!("EXPLAIN {sql}"))
        .load(&mut conn)
        .await
        .unwrap();
    let plan = plan
        .into_iter()
        .map(|p| p.line)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(plan.contains("user_xp_balances_leaderboard_idx"), "{plan}");
    assert!(!plan.contains("Sort"), "the index gives the order: {plan}");

    let mut conn = db.conn().await;
    let board = tenant_transaction(&mut conn, owner.tenant_id, async |c| {
        leaderboard::board(
            c,
            &members[0],
            Period::All,
            None,
            &PageRequest {
                limit: Some(2),
                cursor: None,
            },
            chrono::Utc::now(),
        )
        .await
    })
    .await
    .unwrap();
    let xps: Vec<i32> = board.data.iter().map(|e| e.xp).collect();
    assert_eq!(xps, [300, 200]);
    assert_eq!((board.me.rank_position, board.me.xp), (3, 100));
    assert!(board.next_cursor.is_some());
}
