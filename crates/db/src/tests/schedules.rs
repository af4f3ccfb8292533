use std::time::Duration;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use guild_testkit::TestDb;
use serde::{Deserialize, Serialize};

use crate::jobs::{self, Job, Schedule};
use crate::schema::jobs as jobs_table;
use crate::worker::{Registry, Worker, WorkerConfig};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Report {
    size: u32,
}

impl Job for Report {
    const KIND: &'static str = "test.report";
}

fn worker(db: &TestDb) -> Worker {
    let mut registry = Registry::new();
    registry
        .on_job(
            |_, job: Report| async move { Ok(Some(serde_json::json!({ "rows": job.size * 2 }))) },
        )
        .schedule(Schedule::every(
            "hourly_report",
            Duration::from_secs(3600),
            &Report { size: 1 },
        ));
    Worker::new(db.pool(), registry, WorkerConfig::default())
}

#[tokio::test]
async fn a_scheduled_job_is_enqueued_once_per_tick_across_instances() {
    let db = TestDb::new().await;
    let (a, b) = (worker(&db), worker(&db));
    let (pa, pb) = tokio::join!(a.run_once(), b.run_once());
    let (pa, pb) = (pa.unwrap(), pb.unwrap());
    // Each schedule (ours and the built-in prune) was created by exactly one instance.
    assert_eq!(pa.scheduled + pb.scheduled, 2);
    assert_eq!(a.run_once().await.unwrap().scheduled, 0);

    let keys: Vec<Option<String>> = jobs_table::table
        .filter(jobs_table::kind.eq(Report::KIND))
        .select(jobs_table::dedupe_key)
        .load(&mut db.conn().await)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1);
    assert!(
        keys[0]
            .as_deref()
            .unwrap_or_default()
            .starts_with("schedule:hourly_report:")
    );
}

#[tokio::test]
async fn a_job_runs_and_keeps_its_result() {
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    let id = jobs::enqueue(&mut conn, None, &Report { size: 21 })
        .await
        .unwrap();
    let again = jobs::enqueue_once(&mut conn, None, &Report { size: 1 }, "k")
        .await
        .unwrap();
    assert!(again.is_some());
    assert!(
        jobs::enqueue_once(&mut conn, None, &Report { size: 1 }, "k")
            .await
            .unwrap()
            .is_none()
    );

    let w = worker(&db);
    while w.run_once().await.unwrap().jobs > 0 {}

    let job = jobs::find(&mut conn, id).await.unwrap();
    assert_eq!(job.status, "DONE");
    assert_eq!(job.result, Some(serde_json::json!({ "rows": 42 })));
}

#[tokio::test]
async fn a_job_whose_payload_does_not_decode_is_dead_at_once() {
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    diesel::sql_query("INSERT INTO jobs (id, kind, payload) VALUES (gen_random_uuid(), 'test.report', '{\"size\": \"big\"}')")
        .execute(&mut conn)
        .await
        .unwrap();
    worker(&db).run_once().await.unwrap();
    let (status, attempts): (String, i32) = jobs_table::table
        .filter(jobs_table::kind.eq(Report::KIND))
        // Not the one the schedule enqueued in the same pass.
        .filter(jobs_table::dedupe_key.is_null())
        .select((jobs_table::status, jobs_table::attempts))
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!((status.as_str(), attempts), ("DEAD", 1));
}
