use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel_async::{AsyncConnection, RunQueryDsl};
use guild_kernel::{DomainEvent, EventId, TenantId};
use guild_testkit::TestDb;
use serde::{Deserialize, Serialize};

use crate::worker::{Registry, Worker, WorkerConfig};
use crate::{DbError, PgPool, outbox};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pinged {
    n: u32,
}

impl DomainEvent for Pinged {
    const KIND: &'static str = "test.pinged";
}

/// Deliveries seen, per event id.
type Seen = Arc<Mutex<HashMap<EventId, u32>>>;

fn recording_worker(pool: PgPool, config: WorkerConfig) -> (Worker, Seen) {
    let seen = Seen::default();
    let mut registry = Registry::new();
    let record = Arc::clone(&seen);
    registry.on_event("record", move |event, _: Pinged| {
        let record = Arc::clone(&record);
        async move {
            *record.lock().unwrap().entry(event.id).or_default() += 1;
            Ok(())
        }
    });
    (Worker::new(pool, registry, config), seen)
}

fn quick() -> WorkerConfig {
    WorkerConfig {
        lease: Duration::from_secs(2),
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(20),
        ..WorkerConfig::default()
    }
}

async fn publish_in_tx(db: &TestDb, commit: bool) -> EventId {
    let mut conn = db.conn().await;
    let mut published = None;
    let _ = conn
        .transaction::<(), DbError, _>(async |conn| {
            published = Some(outbox::publish(conn, Some(TenantId::new()), &Pinged { n: 1 }).await?);
            if commit {
                Ok(())
            } else {
                Err(DbError::Conflict)
            }
        })
        .await;
    published.unwrap()
}

#[tokio::test]
async fn an_event_from_a_rolled_back_transaction_is_never_delivered() {
    let db = TestDb::new().await;
    let rolled_back = publish_in_tx(&db, false).await;
    let committed = publish_in_tx(&db, true).await;

    let (worker, seen) = recording_worker(db.pool(), quick());
    let pass = worker.run_once().await.unwrap();

    assert_eq!(pass.events, 1);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.get(&committed), Some(&1));
    assert_eq!(seen.get(&rolled_back), None);
    let mut conn = db.conn().await;
    assert!(matches!(
        outbox::find(&mut conn, rolled_back).await,
        Err(DbError::NotFound)
    ));
    let row = outbox::find(&mut conn, committed).await.unwrap();
    assert_eq!(row.status, "DONE");
    assert!(row.finished_at.is_some());
}

#[tokio::test]
async fn a_committed_event_is_delivered_even_if_the_worker_crashed_mid_way() {
    let db = TestDb::new().await;
    let id = publish_in_tx(&db, true).await;

    // The first worker claims the event and dies inside its handler.
    let mut registry = Registry::new();
    registry.on_event("hangs", |_, _: Pinged| std::future::pending());
    let doomed = Worker::new(db.pool(), registry, quick());
    let crashed = tokio::spawn(async move { doomed.run_once().await });
    let mut conn = db.conn().await;
    while outbox::find(&mut conn, id).await.unwrap().status != "RUNNING" {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    crashed.abort();

    // Another instance cannot take it while the lease holds, and does once it runs out.
    let (survivor, seen) = recording_worker(db.pool(), quick());
    assert_eq!(survivor.run_once().await.unwrap().events, 0);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(survivor.run_once().await.unwrap().events, 1);

    assert_eq!(seen.lock().unwrap().get(&id), Some(&1));
    let row = outbox::find(&mut conn, id).await.unwrap();
    assert_eq!((row.status.as_str(), row.attempts), ("DONE", 2));
}

#[tokio::test]
async fn a_failing_handler_is_retried_with_backoff_then_dead_lettered() {
    let db = TestDb::new().await;
    let id = publish_in_tx(&db, true).await;
    let calls = Arc::new(Mutex::new(0u32));
    let mut registry = Registry::new();
    let counter = Arc::clone(&calls);
    registry.on_event("fails", move |_, _: Pinged| {
        let counter = Arc::clone(&counter);
        async move {
            *counter.lock().unwrap() += 1;
            Err("smtp is down".into())
        }
    });
    let config = WorkerConfig {
        backoff_base: Duration::from_secs(60),
        backoff_max: Duration::from_secs(60),
        ..quick()
    };
    let worker = Worker::new(db.pool(), registry, config);
    let mut conn = db.conn().await;

    worker.run_once().await.unwrap();
    let row = outbox::find(&mut conn, id).await.unwrap();
    assert_eq!(row.status, "PENDING");
    assert_eq!(row.last_error.as_deref(), Some("fails: smtp is down"));
    // Not due again until the backoff has passed.
    assert_eq!(worker.run_once().await.unwrap().events, 0);

    // Let the backoff pass each time, until the attempts run out.
    for _ in 0..20 {
        diesel::sql_query("UPDATE outbox_events SET available_at = now()")
            .execute(&mut conn)
            .await
            .unwrap();
        worker.run_once().await.unwrap();
    }
    let row = outbox::find(&mut conn, id).await.unwrap();
    assert_eq!(row.status, "DEAD");
    assert_eq!(row.attempts, 12, "the default max_attempts");
    assert_eq!(*calls.lock().unwrap(), 12);
}

#[tokio::test]
async fn a_panicking_handler_is_a_failure_not_a_dead_worker() {
    let db = TestDb::new().await;
    let id = publish_in_tx(&db, true).await;
    let mut registry = Registry::new();
    registry.on_event("panics", |_, event: Pinged| async move {
        assert_eq!(event.n, 0, "bad event");
        Ok(())
    });
    let worker = Worker::new(db.pool(), registry, quick());
    worker.run_once().await.unwrap();
    let row = outbox::find(&mut *db.conn().await, id).await.unwrap();
    assert_eq!(row.status, "PENDING");
    assert!(row.last_error.unwrap_or_default().contains("bad event"));
}

#[tokio::test]
async fn concurrent_workers_deliver_each_event_once() {
    let db = TestDb::new().await;
    let mut ids = Vec::new();
    for _ in 0..60 {
        ids.push(publish_in_tx(&db, true).await);
    }
    let config = WorkerConfig {
        batch_size: 7,
        ..quick()
    };
    let (a, seen_a) = recording_worker(db.pool(), config.clone());
    let (b, seen_b) = recording_worker(db.pool(), config);
    let drain =
        |worker: Worker| async move { while worker.run_once().await.unwrap().events > 0 {} };
    tokio::join!(drain(a), drain(b));

    let (seen_a, seen_b) = (
        seen_a.lock().unwrap().clone(),
        seen_b.lock().unwrap().clone(),
    );
    for id in ids {
        let total = seen_a.get(&id).unwrap_or(&0) + seen_b.get(&id).unwrap_or(&0);
        assert_eq!(total, 1, "event {id} delivered {total} times");
    }
}

#[tokio::test]
async fn an_idle_worker_wakes_on_a_new_event_without_waiting_for_its_poll() {
    let db = TestDb::new().await;
    // A poll interval far longer than the test: only the wake-up can deliver in time.
    let config = WorkerConfig {
        poll_interval: Duration::from_secs(600),
        ..quick()
    };
    let (worker, seen) = recording_worker(db.pool(), config);
    let shutdown = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { worker.run(shutdown).await }
    });
    let delivered = async |id: EventId| {
        for _ in 0..100 {
            if seen.lock().unwrap().contains_key(&id) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    };
    // Let the worker finish its first (empty) pass and go idle, twice over.
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let id = publish_in_tx(&db, true).await;
        assert!(delivered(id).await, "delivered within 5 s of the commit");
    }
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("the worker stops when cancelled")
        .unwrap();
}

#[tokio::test]
async fn a_worker_that_does_not_listen_waits_for_its_poll() {
    let db = TestDb::new().await;
    let config = WorkerConfig {
        poll_interval: Duration::from_secs(600),
        listen: false,
        ..quick()
    };
    let (worker, seen) = recording_worker(db.pool(), config);
    let shutdown = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { worker.run(shutdown).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let id = publish_in_tx(&db, true).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !seen.lock().unwrap().contains_key(&id),
        "the control: without the wake-up the event waits for the next poll"
    );
    shutdown.cancel();
    running.await.unwrap();
}

/// What each call of a batch handler got: the events' `n` and tenant.
type Calls = Arc<Mutex<Vec<Vec<(u32, Option<TenantId>)>>>>;

#[tokio::test]
async fn a_batch_handler_gets_a_passs_events_oldest_first_and_only_the_events_it_fails_are_retried()
{
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    let (acme, globex) = (TenantId::new(), TenantId::new());
    let mut published = Vec::new();
    for (n, tenant) in [(1, acme), (2, globex), (3, acme), (4, globex)] {
        published.push(
            outbox::publish(&mut conn, Some(tenant), &Pinged { n })
                .await
                .unwrap(),
        );
    }
    // The batch fails the third event the first time; the per-event handler records the rest.
    let batches: Calls = Arc::default();
    let failed_once = Arc::new(Mutex::new(false));
    let (worker, seen) = {
        let seen = Seen::default();
        let mut registry = Registry::new();
        let (record, calls, once) = (
            Arc::clone(&seen),
            Arc::clone(&batches),
            Arc::clone(&failed_once),
        );
        registry.on_events("batch", &[Pinged::KIND], move |events| {
            let (calls, once) = (Arc::clone(&calls), Arc::clone(&once));
            async move {
                let got: Vec<(u32, Option<TenantId>)> = events
                    .iter()
                    .map(|e| {
                        let n = e.payload["n"].as_u64().unwrap_or_default() as u32;
                        (n, e.tenant_id)
                    })
                    .collect();
                calls.lock().unwrap().push(got.clone());
                let mut once = once.lock().unwrap();
                got.iter()
                    .map(|(n, _)| {
                        if *n == 3 && !*once {
                            *once = true;
                            Err("endpoint table locked".into())
                        } else {
                            Ok(())
                        }
                    })
                    .collect()
            }
        });
        registry.on_event("record", move |event, _: Pinged| {
            let record = Arc::clone(&record);
            async move {
                *record.lock().unwrap().entry(event.id).or_default() += 1;
                Ok(())
            }
        });
        (Worker::new(db.pool(), registry, quick()), seen)
    };

    assert_eq!(worker.run_once().await.unwrap().events, 4);
    assert_eq!(
        *batches.lock().unwrap(),
        [vec![
            (1, Some(acme)),
            (2, Some(globex)),
            (3, Some(acme)),
            (4, Some(globex))
        ]],
        "one call for the pass, in the order published"
    );
    let third = outbox::find(&mut conn, published[2]).await.unwrap();
    assert_eq!(third.status, "PENDING");
    assert_eq!(
        third.last_error.as_deref(),
        Some("batch: endpoint table locked")
    );
    assert!(
        !seen.lock().unwrap().contains_key(&published[2]),
        "a failed event runs none of its own handlers"
    );
    for id in [published[0], published[1], published[3]] {
        assert_eq!(outbox::find(&mut conn, id).await.unwrap().status, "DONE");
    }

    // Retried alone once due.
    diesel::sql_query("UPDATE outbox_events SET available_at = now()")
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(worker.run_once().await.unwrap().events, 1);
    assert_eq!(batches.lock().unwrap()[1], [(3, Some(acme))]);
    let third = outbox::find(&mut conn, published[2]).await.unwrap();
    assert_eq!((third.status.as_str(), third.attempts), ("DONE", 2));
    let seen = seen.lock().unwrap();
    assert!(published.iter().all(|id| seen.get(id) == Some(&1)));
}
