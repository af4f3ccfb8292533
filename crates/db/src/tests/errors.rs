use std::time::Duration;

use diesel_async::RunQueryDsl;
use guild_kernel::{ErrorCode, JobId};
use guild_testkit::TestDb;

use crate::jobs;
use crate::{DbError, PoolConfig, build_pool, connect};

#[tokio::test]
async fn constraint_failures_map_to_stable_codes() {
    let db = TestDb::new().await;
    let mut conn = db.conn().await;

    let insert = "INSERT INTO jobs (id, kind, dedupe_key) VALUES (gen_random_uuid(), 'k', 'same')";
    diesel::sql_query(insert).execute(&mut conn).await.unwrap();
    let dup = DbError::from(
        diesel::sql_query(insert)
            .execute(&mut conn)
            .await
            .unwrap_err(),
    );
    assert!(
        matches!(&dup, DbError::UniqueViolation { constraint } if constraint == "jobs_dedupe_key_key"),
        "{dup:?}"
    );
    assert_eq!((dup.code(), dup.status()), ("already_exists", 409));

    let check = DbError::from(
        diesel::sql_query("INSERT INTO jobs (id, kind) VALUES (gen_random_uuid(), '')")
            .execute(&mut conn)
            .await
            .unwrap_err(),
    );
    assert_eq!((check.code(), check.status()), ("constraint_violated", 422));

    let missing = jobs::find(&mut conn, JobId::new()).await.unwrap_err();
    assert_eq!((missing.code(), missing.status()), ("not_found", 404));
}

#[tokio::test]
async fn an_unreachable_database_is_unavailable_not_an_internal_error() {
    let pool = build_pool(&PoolConfig {
        url: "postgres://postgres@127.0.0.1:1/nothing".into(),
        max_size: 1,
        timeout: Duration::from_secs(2),
    })
    .unwrap();
    let Err(err) = connect(&pool).await else {
        panic!("connected to a closed port")
    };
    assert_eq!((err.code(), err.status()), ("database_unavailable", 503));
}
