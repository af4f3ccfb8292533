use std::time::Duration;

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection, RunQueryDsl, TransactionManager};
use guild_kernel::TenantId;
use guild_testkit::TestDb;

use crate::{
    DbError, PoolConfig, build_pool, connect, tenant_read, tenant_read_staged, tenant_transaction,
};

#[derive(QueryableByName)]
struct Setting {
    #[diesel(sql_type = Text)]
    value: String,
}

async fn current_tenant(conn: &mut crate::AsyncPgConnection) -> String {
    diesel::sql_query("SELECT coalesce(current_setting('app.tenant_id', true), '') AS value")
        .get_result::<Setting>(conn)
        .await
        .unwrap()
        .value
}

#[tokio::test]
async fn the_tenant_is_set_inside_the_transaction_and_gone_after_it() {
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    let tenant = TenantId::new();

    let seen = tenant_transaction(&mut conn, tenant, async |conn| {
        Ok::<_, DbError>(current_tenant(conn).await)
    })
    .await
    .unwrap();
    assert_eq!(seen, tenant.to_string());
    assert_eq!(
        current_tenant(&mut conn).await,
        "",
        "the setting leaked out"
    );
}

#[tokio::test]
async fn an_error_in_the_closure_rolls_everything_back() {
    let db = TestDb::new().await;
    let mut conn = db.conn().await;

    let outcome: Result<(), DbError> =
        tenant_transaction(&mut conn, TenantId::new(), async |conn| {
            diesel::sql_query(
                "INSERT INTO jobs (id, tenant_id, kind) \
                 VALUES (gen_random_uuid(), app_tenant_id(), 'test.kept')",
            )
            .execute(conn)
            .await?;
            Err(DbError::NotFound)
        })
        .await;
    assert!(matches!(outcome, Err(DbError::NotFound)));
    assert_eq!(count_jobs(&mut conn).await, 0);
}

#[tokio::test]
async fn a_tenant_transaction_queues_no_job_or_event_for_another_tenant() {
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    for (table, columns, extra) in [
        ("jobs", "(id, tenant_id, kind)", ""),
        ("outbox_events", "(id, tenant_id, kind, payload)", ", '{}'"),
    ] {
        for (tenant, accepted) in [
            ("app_tenant_id()", true),
            ("gen_random_uuid()", false),
            ("NULL", false),
        ] {
            let outcome: Result<(), DbError> =
                tenant_transaction(&mut conn, TenantId::new(), async |conn| {
                    diesel::sql_query(format!(
                        "INSERT INTO {table} {columns} \
                         VALUES (gen_random_uuid(), {tenant}, 'test.x'{extra})"
                    ))
                    .execute(conn)
                    .await?;
                    Ok(())
                })
                .await;
            assert_eq!(
                outcome.is_ok(),
                accepted,
                "{table}, tenant {tenant}: {outcome:?}"
            );
        }
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn count_jobs(conn: &mut crate::AsyncPgConnection) -> i64 {
    diesel::sql_query("SELECT count(*) AS n FROM jobs")
        .get_result::<Count>(conn)
        .await
        .unwrap()
        .n
}

#[tokio::test]
async fn cancelled_transactions_never_leak_into_the_next_checkout() {
    let db = TestDb::new().await;
    // One connection, so the next checkout would get the cancelled transaction's connection.
    let pool = build_pool(&PoolConfig {
        url: db.url().to_owned(),
        max_size: 1,
        timeout: Duration::from_secs(5),
    })
    .unwrap();

    let inserted = tokio::sync::Notify::new();
    let request = async {
        let mut conn = connect(&pool).await.unwrap();
        let _: Result<(), DbError> = conn
            .transaction(async |conn| {
                diesel::sql_query("INSERT INTO jobs (id, kind) VALUES (gen_random_uuid(), 'x')")
                    .execute(conn)
                    .await?;
                inserted.notify_one();
                // A client that goes away mid-request: the future is dropped right here.
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(())
            })
            .await;
    };
    tokio::select! {
        () = request => panic!("the request was supposed to hang"),
        () = inserted.notified() => {}
    }

    let mut next = connect(&pool).await.unwrap();
    assert_eq!(count_jobs(&mut next).await, 0, "saw the cancelled insert");
    let in_transaction: Setting =
        // The cancelled transaction wrote a row, so it had an xid: a leaked one would show here.
        diesel::sql_query("SELECT (pg_current_xact_id_if_assigned() IS NULL)::text AS value")
            .get_result(&mut next)
            .await
            .unwrap();
    assert_eq!(
        in_transaction.value, "true",
        "the connection was still in a transaction"
    );
    let mut other = db.conn().await;
    assert_eq!(count_jobs(&mut other).await, 0);
}

#[derive(QueryableByName)]
struct ReadState {
    #[diesel(sql_type = Text)]
    tenant: String,
    #[diesel(sql_type = Text)]
    role: String,
    #[diesel(sql_type = Text)]
    read_only: String,
    #[diesel(sql_type = Text)]
    in_block: String,
}

const READ_STATE: &str = "SELECT coalesce(current_setting('app.tenant_id', true), '') AS tenant, \
     current_user::text AS role, current_setting('transaction_read_only') AS read_only, \
     (now() = statement_timestamp())::text AS in_block";

#[tokio::test]
async fn pipelined_reads_run_inside_a_read_only_tenant_transaction_and_leave_nothing_behind() {
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    let tenant = TenantId::new();

    // Two statements joined: both see the tenant, the restricted role and a read-only
    // transaction (inside a block, now() is the block's start, not the statement's).
    let (a, b) = tenant_read(&mut conn, tenant, async |conn| {
        let mut c1 = conn;
        let mut c2 = conn;
        let first = crate::sql(READ_STATE).get_result::<ReadState>(&mut c1);
        let second = crate::sql(format!("{READ_STATE}, pg_sleep(0.01)::text AS pause"))
            .get_result::<ReadState>(&mut c2);
        futures_util::future::try_join(first, second)
            .await
            .map_err(DbError::from)
    })
    .await
    .unwrap();
    for seen in [&a, &b] {
        assert_eq!(seen.tenant, tenant.to_string());
        assert_eq!(seen.role, crate::tx::APP_ROLE);
        assert_eq!(seen.read_only, "on");
    }
    assert_eq!(
        b.in_block, "false",
        "the second statement ran outside the transaction"
    );

    // Afterwards: no transaction, no setting, the login role, and a pool would reuse it.
    assert_eq!(
        current_tenant(&mut conn).await,
        "",
        "the setting leaked out"
    );
    let after = crate::sql(READ_STATE)
        .get_result::<ReadState>(&mut conn)
        .await
        .unwrap();
    assert_ne!(after.role, crate::tx::APP_ROLE);
    assert_eq!(after.read_only, "off");
    assert!(
        !diesel_async::AnsiTransactionManager::is_broken_transaction_manager(&mut *conn),
        "the pool would discard this connection"
    );
}

#[tokio::test]
async fn a_pipelined_read_refuses_writes_and_keeps_working_after_an_error() {
    let db = TestDb::new().await;
    let mut conn = db.conn().await;

    let outcome: Result<usize, DbError> = tenant_read(&mut conn, TenantId::new(), async |conn| {
        let mut c = conn;
        diesel::sql_query("INSERT INTO jobs (id, kind) VALUES (gen_random_uuid(), 'x')")
            .execute(&mut c)
            .await
            .map_err(DbError::from)
    })
    .await;
    assert!(
        outcome.is_err(),
        "a write went through a read-only transaction"
    );
    assert_eq!(count_jobs(&mut conn).await, 0);
    // The connection is clean and usable for the next read.
    let tenant = TenantId::new();
    let seen = tenant_read(&mut conn, tenant, async |conn| {
        let mut c = conn;
        crate::sql(READ_STATE)
            .get_result::<ReadState>(&mut c)
            .await
            .map_err(DbError::from)
    })
    .await
    .unwrap();
    assert_eq!(seen.tenant, tenant.to_string());
}

#[tokio::test]
async fn a_statement_sent_after_the_pipelined_commit_fails_the_read() {
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    let tenant = TenantId::new();

    // The second statement waits for the first one's answer, so it would run after COMMIT,
    // outside the transaction and without the tenant: the read must fail, not answer.
    let outcome = tenant_read(&mut conn, tenant, async |conn| {
        let mut c = conn;
        let first = crate::sql(READ_STATE)
            .get_result::<ReadState>(&mut c)
            .await?;
        let second = crate::sql(READ_STATE)
            .get_result::<ReadState>(&mut c)
            .await?;
        Ok::<_, DbError>((first, second))
    })
    .await;
    match outcome {
        Err(DbError::Other(e)) => assert!(e.to_string().contains("after its COMMIT"), "{e}"),
        Err(other) => panic!("wrong error: {other:?}"),
        Ok((_, second)) => panic!(
            "served a statement that ran after COMMIT (tenant {:?}, role {})",
            second.tenant, second.role
        ),
    }
    assert_eq!(current_tenant(&mut conn).await, "");

    // A statement built before COMMIT but first polled after another statement's answer (two
    // futures made, then awaited one after the other) is sent after COMMIT too. The guard sees
    // it only when its answer is read after COMMIT's completion was observed, which depends on
    // the order the two answers are polled in: it is not asserted here, and `f` must join its
    // statements (the doc of `tenant_read`).
}

#[derive(QueryableByName, Debug, PartialEq)]
struct Stage {
    #[diesel(sql_type = Text)]
    tenant: String,
    #[diesel(sql_type = Text)]
    read_only: String,
    /// The transaction's start: the same for every statement of one transaction.
    #[diesel(sql_type = Text)]
    began: String,
}

const STAGE: &str = "SELECT coalesce(current_setting('app.tenant_id', true), '') AS tenant, \
     current_setting('transaction_read_only') AS read_only, now()::text AS began";

#[tokio::test]
async fn a_staged_read_runs_its_second_stage_on_the_firsts_answer_in_the_same_read_only_transaction()
 {
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    let tenant = TenantId::new();

    let (first, last) = tenant_read_staged(&mut conn, tenant, async |stages| {
        let conn = stages.conn();
        let first = crate::sql(STAGE).get_result::<Stage>(&mut { conn }).await?;
        // The second stage depends on the first's answer, and sends two statements at once.
        let second = crate::sql(format!("{STAGE} WHERE $1 <> ''"))
            .bind::<Text, _>(first.began.clone())
            .get_result::<Stage>(&mut { conn });
        let third = crate::sql(STAGE).get_result::<Stage>(&mut { conn });
        let last = stages
            .last(futures_util::future::try_join(second, third))
            .await?;
        Ok::<_, DbError>((first, last))
    })
    .await
    .unwrap();
    for seen in [&first, &last.0, &last.1] {
        assert_eq!(seen.tenant, tenant.to_string());
        assert_eq!(seen.read_only, "on");
        assert_eq!(seen.began, first.began, "one transaction");
    }
    assert_eq!(
        current_tenant(&mut conn).await,
        "",
        "the setting leaked out"
    );
    assert!(
        !diesel_async::AnsiTransactionManager::is_broken_transaction_manager(&mut *conn),
        "the pool would discard this connection"
    );

    // Without a last stage it is committed after `f`: the same answer, and nothing left open.
    let only = tenant_read_staged(&mut conn, tenant, async |stages| {
        crate::sql(STAGE)
            .get_result::<Stage>(&mut { stages.conn() })
            .await
            .map_err(DbError::from)
    })
    .await
    .unwrap();
    assert_eq!(only.tenant, tenant.to_string());
    assert_eq!(current_tenant(&mut conn).await, "");
}

#[tokio::test]
async fn a_statement_after_a_staged_reads_last_stage_fails_the_read() {
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    let tenant = TenantId::new();

    // The last stage awaits one statement before sending the next: that one would run after
    // COMMIT, without the tenant.
    let outcome = tenant_read_staged(&mut conn, tenant, async |stages| {
        let conn = stages.conn();
        stages
            .last(async move {
                let first = crate::sql(STAGE).get_result::<Stage>(&mut { conn }).await?;
                let second = crate::sql(STAGE).get_result::<Stage>(&mut { conn }).await?;
                Ok::<_, DbError>((first, second))
            })
            .await
    })
    .await;
    match outcome {
        Err(DbError::Other(e)) => assert!(e.to_string().contains("after its COMMIT"), "{e}"),
        Err(other) => panic!("wrong error: {other:?}"),
        Ok((_, second)) => panic!("served a statement that ran after COMMIT: {second:?}"),
    }
    assert_eq!(current_tenant(&mut conn).await, "");
    // A failing first stage rolls back and leaves the connection usable.
    let failed: Result<Stage, DbError> = tenant_read_staged(&mut conn, tenant, async |stages| {
        crate::sql("SELECT 1/0 AS tenant")
            .get_result::<Stage>(&mut { stages.conn() })
            .await
            .map_err(DbError::from)
    })
    .await;
    assert!(failed.is_err());
    let seen = tenant_read(&mut conn, tenant, async |conn| {
        crate::sql(STAGE)
            .get_result::<Stage>(&mut { conn })
            .await
            .map_err(DbError::from)
    })
    .await
    .unwrap();
    assert_eq!(seen.tenant, tenant.to_string());
}

#[tokio::test]
async fn an_exclusive_connection_holds_its_lock_until_it_is_dropped_and_never_returns_to_the_pool()
{
    let db = TestDb::new().await;
    let pool = build_pool(&PoolConfig {
        url: db.url().to_owned(),
        max_size: 2,
        timeout: Duration::from_secs(5),
    })
    .unwrap();

    let held = crate::exclusive(&pool, "index").await.unwrap();
    assert!(held.is_some(), "the first taker gets the lock");
    assert!(
        crate::exclusive(&pool, "index").await.unwrap().is_none(),
        "a second taker does not, from another connection"
    );
    assert!(
        crate::exclusive(&pool, "another").await.unwrap().is_some(),
        "a lock of another name is free"
    );
    // Taken out of the pool: the pool of two still has both its places.
    let (a, b) = (connect(&pool).await.unwrap(), connect(&pool).await.unwrap());
    drop((a, b));

    drop(held);
    // Closing the connection releases the lock (the server notices the close a moment later).
    let mut again = None;
    for _ in 0..50 {
        again = crate::exclusive(&pool, "index").await.unwrap();
        if again.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(again.is_some(), "dropping the holder releases the lock");
}
