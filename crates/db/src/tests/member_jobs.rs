//! The member-job state machine on a real database: a queued job cancelled is never begun, a
//! running one stops reporting once cancelled, an ended job does not change; who sees and who
//! cancels a job.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use diesel_async::RunQueryDsl;
use guild_kernel::auth::ApiKeyLimits;
use guild_kernel::{Actor, JobId, TenantId, TenantRole};
use guild_testkit::TestDb;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::jobs::Job;
use crate::member_jobs::{self, JobState, MemberJob, MemberJobError};
use crate::tx::TxFn;
use crate::{AsyncPgConnection, tenant_transaction};

#[derive(Serialize, Deserialize)]
struct Export {}

impl Job for Export {
    const KIND: &'static str = "test.export";
}

fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 8, 13, 0, 0).unwrap() + Duration::minutes(minute)
}

/// A tenant with members of these roles; their actors.
async fn tenant(db: &TestDb, roles: &[TenantRole]) -> Vec<Actor> {
    let tenant = Uuid::now_v7();
    let mut conn = db.conn().await;
    diesel::sql_query(format!(
        "INSERT INTO tenants (id, name, slug) VALUES ('{tenant}', 't', 't-{tenant}')"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let mut actors = Vec::new();
    for (i, role) in roles.iter().enumerate() {
        let user = Uuid::now_v7();
        for sql in [
            format!(
                "INSERT INTO users (id, email, name) VALUES ('{user}', 'm{i}-{user}@x.example.com', 'M')"
            ),
            format!(
                "INSERT INTO memberships (tenant_id, user_id, role, status) \
                 VALUES ('{tenant}', '{user}', '{role}', 'ACTIVE')"
            ),
        ] {
            diesel::sql_query(sql).execute(&mut conn).await.unwrap();
        }
        actors.push(guild_testkit::actor(tenant, user, *role));
    }
    actors
}

async fn start(db: &TestDb, actor: &Actor) -> MemberJob {
    let mut conn = db.conn().await;
    tenant_transaction(&mut conn, actor.tenant_id, async |c| {
        member_jobs::start(c, actor, &Export {}, at(0)).await
    })
    .await
    .unwrap()
}

/// Runs `f` in the job's tenant.
async fn with<T, F>(db: &TestDb, tenant: TenantId, f: F) -> Result<T, MemberJobError>
where
    for<'r> F: AsyncFnOnce(&'r mut AsyncPgConnection) -> Result<T, MemberJobError>
        + TxFn<&'r mut AsyncPgConnection, Result<T, MemberJobError>, Fut: Send>
        + Send,
    T: Send,
{
    let mut conn = db.conn().await;
    tenant_transaction(&mut conn, tenant, f).await
}

#[tokio::test]
async fn a_job_is_queued_with_its_queue_row_and_moves_only_forward() {
    let db = TestDb::new().await;
    let owner = &tenant(&db, &[TenantRole::Hr]).await[0];
    let (t, job) = (owner.tenant_id, start(&db, owner).await);
    let id = JobId(job.id);
    assert_eq!(job.state, JobState::Queued);
    let mut conn = db.conn().await;
    let queued = crate::jobs::find(&mut conn, id).await.unwrap();
    assert_eq!(
        (queued.kind.as_str(), queued.tenant_id),
        ("test.export", Some(t.into_uuid())),
        "the queue's row has the same id"
    );

    let begun = with(&db, t, async |c| member_jobs::begin(c, t, id, at(1)).await)
        .await
        .unwrap()
        .expect("begun");
    assert_eq!(
        (begun.state, begun.started_at),
        (JobState::Running, Some(at(1)))
    );
    // A retry after a crash begins it again, keeping when it first started.
    let again = with(&db, t, async |c| member_jobs::begin(c, t, id, at(2)).await)
        .await
        .unwrap()
        .expect("begun again");
    assert_eq!(again.started_at, Some(at(1)));
    let reported = with(&db, t, async |c| {
        member_jobs::report(c, t, id, 140, "most", at(3)).await
    })
    .await
    .unwrap()
    .expect("reported");
    assert_eq!(
        (reported.progress, reported.message.as_str()),
        (100, "most")
    );

    let result = serde_json::json!({ "rows": 3 });
    let done = with(&db, t, async |c| {
        member_jobs::succeed(c, t, id, &result, Some("tenants/x/jobs/y/f.csv"), at(4)).await
    })
    .await
    .unwrap()
    .expect("succeeded");
    assert_eq!(
        (done.state, done.finished_at),
        (JobState::Succeeded, Some(at(4)))
    );
    // Nothing moves an ended job.
    let problem = serde_json::json!({ "code": "internal_error" });
    for moved in [
        with(&db, t, async |c| member_jobs::begin(c, t, id, at(5)).await).await,
        with(&db, t, async |c| {
            member_jobs::report(c, t, id, 1, "x", at(5)).await
        })
        .await,
        with(&db, t, async |c| {
            member_jobs::fail(c, t, id, &problem, at(5)).await
        })
        .await,
    ] {
        assert_eq!(moved.unwrap(), None);
    }
    let cancel = with(&db, t, async |c| {
        member_jobs::cancel(c, owner, job.id, at(5)).await
    })
    .await;
    assert!(matches!(cancel, Err(MemberJobError::Finished)));

    // Pruned once ended longer ago than asked, answering its file.
    let blobs = with(&db, t, async |c| member_jobs::prune(c, t, at(4)).await)
        .await
        .unwrap();
    assert!(blobs.is_empty(), "ended exactly then: kept");
    let blobs = with(&db, t, async |c| member_jobs::prune(c, t, at(60)).await)
        .await
        .unwrap();
    assert_eq!(blobs, ["tenants/x/jobs/y/f.csv"]);
}

#[tokio::test]
async fn a_cancelled_job_is_not_begun_and_a_running_one_stops_reporting() {
    let db = TestDb::new().await;
    let owner = &tenant(&db, &[TenantRole::Employee]).await[0];
    let t = owner.tenant_id;

    let queued = start(&db, owner).await;
    let cancelled = with(&db, t, async |c| {
        member_jobs::cancel(c, owner, queued.id, at(1)).await
    })
    .await
    .unwrap();
    assert_eq!(
        (cancelled.state, cancelled.finished_at),
        (JobState::Cancelled, Some(at(1)))
    );
    let begun = with(&db, t, async |c| {
        member_jobs::begin(c, t, JobId(queued.id), at(2)).await
    })
    .await
    .unwrap();
    assert_eq!(begun, None, "a job cancelled while queued never starts");

    let running = start(&db, owner).await;
    let id = JobId(running.id);
    with(&db, t, async |c| member_jobs::begin(c, t, id, at(1)).await)
        .await
        .unwrap();
    with(&db, t, async |c| {
        member_jobs::report(c, t, id, 30, "a third", at(2)).await
    })
    .await
    .unwrap()
    .expect("reported while running");
    with(&db, t, async |c| {
        member_jobs::cancel(c, owner, running.id, at(3)).await
    })
    .await
    .unwrap();
    let after = with(&db, t, async |c| {
        member_jobs::report(c, t, id, 60, "more", at(4)).await
    })
    .await
    .unwrap();
    assert_eq!(after, None, "the runner learns it was cancelled");
    let result = serde_json::json!({});
    let finished = with(&db, t, async |c| {
        member_jobs::succeed(c, t, id, &result, None, at(5)).await
    })
    .await
    .unwrap();
    assert_eq!(finished, None, "and cannot finish it");
    let kept = with(&db, t, async |c| member_jobs::get(c, t, id).await)
        .await
        .unwrap()
        .expect("the job");
    assert_eq!((kept.state, kept.progress), (JobState::Cancelled, 30));
    // Cancelling again answers the cancelled job.
    let again = with(&db, t, async |c| {
        member_jobs::cancel(c, owner, running.id, at(6)).await
    })
    .await
    .unwrap();
    assert_eq!(again.finished_at, Some(at(3)));
}

#[tokio::test]
async fn a_job_is_seen_by_its_owner_and_admins_and_cancelled_by_its_owner_only() {
    let db = TestDb::new().await;
    let members = tenant(
        &db,
        &[TenantRole::Hr, TenantRole::Admin, TenantRole::Employee],
    )
    .await;
    let (hr, admin, employee) = (&members[0], &members[1], &members[2]);
    let outsider = &tenant(&db, &[TenantRole::Owner]).await[0];
    let job = start(&db, hr).await;
    let t = hr.tenant_id;
    let find = async |who: &Actor| {
        let mut conn = db.conn().await;
        tenant_transaction(&mut conn, who.tenant_id, async |c| {
            member_jobs::find(&*c, who, job.id).await
        })
        .await
    };
    assert!(find(hr).await.is_ok());
    assert!(find(admin).await.is_ok());
    assert!(matches!(
        find(employee).await,
        Err(MemberJobError::NotFound)
    ));
    assert!(matches!(
        find(outsider).await,
        Err(MemberJobError::NotFound)
    ));

    // API keys: the key that started a job sees it; a key of the owner that does not act as
    // them does not, and neither does an admin's key.
    let key = |actor: &Actor, act_as_member: bool| {
        let mut keyed = actor.clone();
        keyed.api_key = Some(ApiKeyLimits {
            key_id: Uuid::now_v7(),
            permissions: BTreeSet::new(),
            act_as_member,
        });
        keyed
    };
    assert!(matches!(
        find(&key(hr, false)).await,
        Err(MemberJobError::NotFound)
    ));
    assert!(find(&key(hr, true)).await.is_ok());
    assert!(matches!(
        find(&key(admin, true)).await,
        Err(MemberJobError::NotFound)
    ));
    let keyed = key(hr, false);
    let by_key = start(&db, &keyed).await;
    assert_eq!(by_key.api_key_id, keyed.api_key.as_ref().map(|k| k.key_id));
    let seen = with(&db, t, async |c| {
        member_jobs::find(&*c, &keyed, by_key.id).await
    })
    .await;
    assert!(seen.is_ok());

    let by_admin = with(&db, t, async |c| {
        member_jobs::cancel(c, admin, job.id, at(1)).await
    })
    .await;
    assert!(matches!(by_admin, Err(MemberJobError::NotOwner)));
    let by_employee = with(&db, t, async |c| {
        member_jobs::cancel(c, employee, job.id, at(1)).await
    })
    .await;
    assert!(matches!(by_employee, Err(MemberJobError::NotFound)));

    // A platform owner acting in the tenant is not a member: no job of theirs.
    let mut visiting = admin.clone();
    visiting.impersonating = true;
    let refused = with(&db, t, async |c| {
        member_jobs::start(c, &visiting, &Export {}, at(0)).await
    })
    .await;
    assert!(matches!(refused, Err(MemberJobError::NotAMember)));
}

#[tokio::test]
async fn starts_racing_for_the_last_places_stay_within_the_limit() {
    let db = TestDb::new().await;
    let ann = tenant(&db, &[TenantRole::Employee]).await.remove(0);
    let pool = crate::build_pool(&crate::PoolConfig {
        url: db.url().to_owned(),
        max_size: 8,
        timeout: std::time::Duration::from_secs(60),
    })
    .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let (pool, ann) = (pool.clone(), ann.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = crate::connect(&pool).await.unwrap();
            tenant_transaction(&mut conn, ann.tenant_id, async |c| {
                member_jobs::start(c, &ann, &Export {}, at(0)).await
            })
            .await
        }));
    }
    let (mut started, mut refused) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => started += 1,
            Err(MemberJobError::TooMany) => refused += 1,
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(
        (started, refused),
        (
            member_jobs::MAX_UNFINISHED,
            12 - member_jobs::MAX_UNFINISHED
        )
    );
}
