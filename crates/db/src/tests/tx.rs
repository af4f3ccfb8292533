use std::time::Duration;

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection, RunQueryDsl};
use guild_kernel::TenantId;
use guild_testkit::TestDb;

use crate::{DbError, PoolConfig, build_pool, connect, tenant_transaction};

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
                "INSERT INTO jobs (id, kind) VALUES (gen_random_uuid(), 'test.kept')",
            )
            .execute(conn)
            .await?;
            Err(DbError::NotFound)
        })
        .await;
    assert!(matches!(outcome, Err(DbError::NotFound)));
    assert_eq!(count_jobs(&mut conn).await, 0);
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
