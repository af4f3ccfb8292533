//! Jobs members wait on, over HTTP: the compliance export answered `202 Accepted` and polled to
//! its file, cancellation before and while a job runs, who sees a job, the stream's `job`
//! events, API keys, and a job whose owner lost the right to it before it ran.

use std::sync::atomic::{AtomicI32, Ordering};

use actix_web::http::Method;
use chrono::Utc;
use guild_api::jobs::{Output, Run, Stop, TrackedJob};
use guild_kernel::{TenantId, UserId};
use guild_tests::sse::next_frame;
use guild_tests::{Reply, TestApp, access, assert_problem, count, id};
use serde_json::{Value, json};

/// A tenant whose group "Floor" has a published mandatory module and `members` members made in
/// the database; returns the owner's token and the tenant's id.
async fn tenant_with_matrix(app: &TestApp, slug: &str, members: usize) -> (String, String) {
    let signed = app.sign_up(slug).await;
    let owner = access(&signed);
    let tenant = signed["tenant"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let group = app.group(&owner, "Floor", &[]).await;
    let (module, _) = app
        .module_with_section(
            &owner,
            json!({ "title": "Fire safety" }),
            json!({ "title": "Exits" }),
        )
        .await;
    app.publish(&owner, &module).await;
    let assigned = app
        .put(
            &format!("/v1/modules/{module}/groups/{group}"),
            &owner,
            json!({ "deadline_days": 14, "is_mandatory": true }),
        )
        .await;
    assert_eq!(assigned.status, 200, "{}", assigned.text);
    app.bulk_members(&tenant, slug, Some(&group), members).await;
    (owner, tenant)
}

/// Starts a background export as `token`; asserts the 202 and its `Location`.
async fn start_export(app: &TestApp, token: &str) -> (String, Reply) {
    let started = app
        .post("/v1/compliance/matrix/exports", token, json!({}))
        .await;
    assert_eq!(started.status, 202, "{}", started.text);
    let job = id(&started.json);
    assert_eq!(
        started.header("location"),
        Some(format!("/v1/jobs/{job}").as_str())
    );
    (job, started)
}

/// The path and query of a URL the default local store signed.
fn local_path(url: &str) -> String {
    url.strip_prefix("http://localhost:8080")
        .unwrap_or(url)
        .to_owned()
}

#[actix_web::test]
async fn a_background_export_answers_202_and_is_polled_to_the_file_the_synchronous_one_gives() {
    let app = TestApp::new().await;
    let (owner, _) = tenant_with_matrix(&app, "acme", 450).await;

    let start = || {
        app.post("/v1/compliance/matrix/exports", &owner, json!({}))
            .idempotency_key("export-1")
    };
    let started = start().await;
    assert_eq!(started.status, 202, "{}", started.text);
    let job = id(&started.json);
    let location = format!("/v1/jobs/{job}");
    assert_eq!(started.header("location"), Some(location.as_str()));
    assert_eq!(started.json["state"], "QUEUED");
    assert_eq!(started.json["kind"], "compliance.export");
    // A retry with the same key answers the same job; nothing more is queued.
    let again = start().await;
    assert_eq!(again.status, 202, "{}", again.text);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.header("location"), Some(location.as_str()));
    assert_eq!(id(&again.json), job);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM jobs WHERE kind = 'compliance.export'"
        )
        .await,
        1
    );

    let queued = app.get(&location, &owner).await;
    assert_eq!(queued.status, 200, "{}", queued.text);
    assert_eq!(queued.json["state"], "QUEUED");
    assert_eq!(queued.json["result_url"], Value::Null);

    app.run_worker().await;
    let done = app.get(&location, &owner).await;
    assert_eq!(done.json["state"], "SUCCEEDED", "{}", done.text);
    assert_eq!(done.json["progress"], 100);
    assert_eq!(done.json["result"]["members"], 450);
    assert_eq!(done.json["result"]["file_name"], "compliance.csv");
    assert!(done.json["started_at"].is_string() && done.json["finished_at"].is_string());
    let result_url = format!("{location}/result");
    assert_eq!(done.json["result_url"], result_url.as_str());

    // The file is the one the synchronous export answers.
    let link = app.get(&result_url, &owner).await;
    assert_eq!(link.status, 200, "{}", link.text);
    assert_eq!(link.json["file_name"], "compliance.csv");
    let url = link.json["url"].as_str().unwrap_or_default();
    let file = app.request(Method::GET, &local_path(url)).await;
    assert_eq!(file.status, 200, "{}", file.text);
    let sync = app.get("/v1/compliance/matrix/export", &owner).await;
    assert_eq!(sync.status, 200);
    assert_eq!(file.text.lines().count(), 451, "a header and 450 members");
    assert_eq!(file.text, sync.text);
    assert_eq!(
        done.json["result"]["size_bytes"],
        json!(file.body.len()),
        "the size it reports"
    );

    let mine = app.get("/v1/me/jobs", &owner).await;
    assert_eq!(mine.status, 200, "{}", mine.text);
    assert_eq!(mine.json["data"][0]["id"], job.as_str());
    assert_eq!(mine.json["data"].as_array().map(Vec::len), Some(1));
}

#[actix_web::test]
async fn an_export_cancelled_while_queued_never_starts() {
    let app = TestApp::new().await;
    let (owner, _) = tenant_with_matrix(&app, "acme", 3).await;
    let (job, _) = start_export(&app, &owner).await;
    let cancelled = app
        .post(&format!("/v1/jobs/{job}/cancel"), &owner, json!({}))
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(cancelled.json["state"], "CANCELLED");
    // Cancelling again answers it again; it stays cancelled.
    let again = app
        .post(&format!("/v1/jobs/{job}/cancel"), &owner, json!({}))
        .await;
    assert_eq!(again.json["state"], "CANCELLED", "{}", again.text);

    app.run_worker().await;
    let after = app.get(&format!("/v1/jobs/{job}"), &owner).await;
    assert_eq!(after.json["state"], "CANCELLED");
    assert_eq!(after.json["started_at"], Value::Null, "never begun");
    assert_eq!(after.json["progress"], 0);
    assert_eq!(after.json["result"], Value::Null);
    assert_problem(
        &app.get(&format!("/v1/jobs/{job}/result"), &owner).await,
        409,
        "job_result_unavailable",
    );
}

#[actix_web::test]
async fn a_member_waits_on_at_most_five_jobs_at_once() {
    let app = TestApp::new().await;
    let (owner, _) = tenant_with_matrix(&app, "acme", 1).await;
    let hr = app.member(&owner, "hr@acme.example.com", "HR").await;
    let mut jobs = Vec::new();
    for _ in 0..5 {
        jobs.push(start_export(&app, &owner).await.0);
    }
    let sixth = app
        .post("/v1/compliance/matrix/exports", &owner, json!({}))
        .await;
    assert_problem(&sixth, 409, "job_limit_reached");
    // Someone else's jobs are their own.
    start_export(&app, &hr).await;
    // Cancelling one makes room.
    let cancelled = app
        .post(&format!("/v1/jobs/{}/cancel", jobs[0]), &owner, json!({}))
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    start_export(&app, &owner).await;
    assert_problem(
        &app.post("/v1/compliance/matrix/exports", &owner, json!({}))
            .await,
        409,
        "job_limit_reached",
    );
    // Ended jobs do not count.
    app.run_worker().await;
    start_export(&app, &owner).await;
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM jobs WHERE kind = 'compliance.export'"
        )
        .await,
        8
    );
}

/// Steps `SlowCount` took, and the gate it waits at after each.
static STEPS: AtomicI32 = AtomicI32::new(0);
static GATE: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(0);

/// A job of three steps that waits for the test after each: reports, counts the step, waits.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct SlowCount {}

impl TrackedJob for SlowCount {
    const KIND: &'static str = "tests.slow_count";

    async fn run(self, run: &mut Run) -> Result<Output, Stop> {
        for step in 1..=3 {
            run.progress(step * 25, &format!("step {step}")).await?;
            STEPS.fetch_add(1, Ordering::SeqCst);
            GATE.acquire()
                .await
                .map_err(|e| Stop::Failed(guild_api::ApiError::internal(e)))?
                .forget();
        }
        Ok(Output::Json(json!({ "steps": 3 })))
    }
}

#[actix_web::test]
async fn a_running_job_cancelled_by_its_owner_stops_at_its_next_step() {
    let app = TestApp::new().await;
    let signed = app.sign_up("acme").await;
    let owner = access(&signed);
    let tenant = TenantId(
        signed["tenant"]["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("a tenant id"),
    );
    let user = UserId(app.me_id(&owner).await.parse().expect("a user id"));
    let job = {
        let mut conn = app.db.conn().await;
        let actor = guild_tenancy::actor::load_actor(&mut conn, user, tenant)
            .await
            .expect("the owner");
        guild_db::tenant_transaction(&mut conn, tenant, async |c| {
            guild_api::jobs::enqueue(c, &actor, SlowCount {}, Utc::now()).await
        })
        .await
        .expect("queued")
        .id
    };
    let mut registry = guild_api::server::registry(&app.state);
    guild_api::jobs::register::<SlowCount>(&mut registry, &app.state);
    let worker = guild_db::worker::Worker::new(
        app.db.pool(),
        registry,
        guild_db::worker::WorkerConfig::default(),
    );
    let uri = format!("/v1/jobs/{job}");

    let owner_side = async {
        // Wait for the first step, then look and cancel while the job waits at the gate.
        for _ in 0..500 {
            if STEPS.load(Ordering::SeqCst) == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(STEPS.load(Ordering::SeqCst), 1, "the first step ran");
        let running = app.get(&uri, &owner).await;
        assert_eq!(running.json["state"], "RUNNING", "{}", running.text);
        assert_eq!(running.json["progress"], 25);
        assert_eq!(running.json["message"], "step 1");
        let cancelled = app.post(&format!("{uri}/cancel"), &owner, json!({})).await;
        assert_eq!(cancelled.status, 200, "{}", cancelled.text);
        assert_eq!(cancelled.json["state"], "CANCELLED");
        GATE.add_permits(3);
    };
    let (pass, ()) = tokio::join!(worker.run_once(), owner_side);
    pass.expect("the worker's pass");

    assert_eq!(
        STEPS.load(Ordering::SeqCst),
        1,
        "no step ran after the cancellation"
    );
    let after = app.get(&uri, &owner).await;
    assert_eq!(after.json["state"], "CANCELLED");
    assert_eq!(after.json["progress"], 25, "no further progress");
    assert_eq!(after.json["result"], Value::Null);
    // The internal job ended too, not to be run again.
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) AS n FROM jobs WHERE id = '{job}' AND status = 'DONE'")
        )
        .await,
        1
    );
    // On the owner's stream: begun, step 1, cancelled — and nothing after.
    let states = job_events(&app, &user).await;
    assert_eq!(
        states,
        [
            ("RUNNING".to_owned(), 0),
            ("RUNNING".to_owned(), 25),
            ("CANCELLED".to_owned(), 25)
        ]
    );
}

#[derive(diesel::QueryableByName)]
struct JobEvent {
    #[diesel(sql_type = diesel::sql_types::Text)]
    state: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    progress: i32,
}

/// The `job` events of `user`'s stream, in order: each one's state and progress.
async fn job_events(app: &TestApp, user: &UserId) -> Vec<(String, i32)> {
    use diesel_async::RunQueryDsl;
    diesel::sql_query(
        "SELECT payload->>'state' AS state, (payload->>'progress')::int AS progress \
         FROM member_stream_events WHERE user_id = $1 AND kind = 'job' ORDER BY seq",
    )
    .bind::<diesel::sql_types::Uuid, _>(user.into_uuid())
    .load::<JobEvent>(&mut app.db.conn().await)
    .await
    .expect("the stream's job events")
    .into_iter()
    .map(|e| (e.state, e.progress))
    .collect()
}

#[actix_web::test]
async fn a_job_is_seen_by_its_owner_and_the_tenants_admins_and_cancelled_by_its_owner_only() {
    let app = TestApp::new().await;
    let (owner, _) = tenant_with_matrix(&app, "acme", 2).await;
    let hr = app.member(&owner, "hr@acme.example.com", "HR").await;
    let admin = app.member(&owner, "admin@acme.example.com", "ADMIN").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let outsider = app.owner("other").await;
    let (job, _) = start_export(&app, &hr).await;
    let uri = format!("/v1/jobs/{job}");

    assert_eq!(app.get(&uri, &hr).await.status, 200);
    assert_eq!(app.get(&uri, &admin).await.status, 200, "admins see it");
    assert_eq!(app.get(&uri, &owner).await.status, 200, "the owner too");
    for (who, token) in [("a member", &ann), ("another tenant", &outsider)] {
        let seen = app.get(&uri, token).await;
        assert_problem(&seen, 404, "job_not_found");
        let cancelled = app.post(&format!("{uri}/cancel"), token, json!({})).await;
        assert_problem(&cancelled, 404, "job_not_found");
        let result = app.get(&format!("{uri}/result"), token).await;
        assert_problem(&result, 404, "job_not_found");
        let theirs = app.get("/v1/me/jobs", token).await;
        assert_eq!(theirs.json["data"], json!([]), "{who}");
    }
    // An admin sees it but did not start it.
    let by_admin = app.post(&format!("{uri}/cancel"), &admin, json!({})).await;
    assert_problem(&by_admin, 403, "job_not_owned");

    app.run_worker().await;
    let done = app.get(&uri, &hr).await;
    assert_eq!(done.json["state"], "SUCCEEDED", "{}", done.text);
    let too_late = app.post(&format!("{uri}/cancel"), &hr, json!({})).await;
    assert_problem(&too_late, 409, "job_already_finished");
}

/// The JSON data of a stream frame.
fn data(frame: &str) -> Value {
    frame
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or(Value::Null)
}

#[actix_web::test]
async fn a_jobs_progress_and_its_end_arrive_on_its_owners_stream() {
    let app = TestApp::new().await;
    let (owner, _) = tenant_with_matrix(&app, "acme", 450).await;
    let raw = actix_web::test::init_service(guild_api::build_app_with(
        app.state.clone(),
        Box::new(|_| {}),
    ))
    .await;
    let stream = actix_web::test::call_service(
        &raw,
        actix_web::test::TestRequest::get()
            .uri("/v1/stream")
            .insert_header(("authorization", format!("Bearer {owner}")))
            .to_request(),
    )
    .await;
    assert_eq!(stream.status(), 200);
    let mut body = Box::pin(stream.into_body());
    assert!(next_frame(&mut body).await.contains("event: ready"));

    let (job, _) = start_export(&app, &owner).await;
    app.run_worker().await;
    let mut seen = Vec::new();
    loop {
        let next = next_frame(&mut body).await;
        if !next.contains("event: job\n") {
            continue;
        }
        let job_frame = data(&next);
        assert_eq!(job_frame["id"], job.as_str());
        let state = job_frame["state"].as_str().unwrap_or_default().to_owned();
        seen.push((state.clone(), job_frame["progress"].clone()));
        if state == "SUCCEEDED" {
            assert!(job_frame["result_url"].is_string());
            break;
        }
    }
    // Begun, then after each page of 200 members, then done.
    let progress: Vec<Value> = seen.iter().map(|(_, p)| p.clone()).collect();
    assert_eq!(
        progress,
        [json!(0), json!(0), json!(44), json!(88), json!(100)],
        "{seen:?}"
    );
    assert!(seen[..4].iter().all(|(s, _)| s == "RUNNING"), "{seen:?}");
}

#[actix_web::test]
async fn an_api_key_follows_the_jobs_it_started_and_no_other() {
    let app = TestApp::new().await;
    let (owner, _) = tenant_with_matrix(&app, "acme", 2).await;
    let (_, key) = app
        .api_key(
            &owner,
            json!({ "name": "BI", "permissions": ["VIEW_ALL_PROGRESS"] }),
        )
        .await;
    let (_, other_key) = app
        .api_key(
            &owner,
            json!({ "name": "Audit", "permissions": ["VIEW_AUDIT_LOG"] }),
        )
        .await;
    let (by_key, _) = start_export(&app, &key).await;
    let (by_owner, _) = start_export(&app, &owner).await;
    // The key reads its own job; not its creator's, which only a person or a key acting as
    // them may read; another key of the same creator reads neither.
    assert_eq!(
        app.get(&format!("/v1/jobs/{by_key}"), &key).await.status,
        200
    );
    assert_problem(
        &app.get(&format!("/v1/jobs/{by_owner}"), &key).await,
        404,
        "job_not_found",
    );
    assert_problem(
        &app.get(&format!("/v1/jobs/{by_key}"), &other_key).await,
        404,
        "job_not_found",
    );
    // The creator sees the job their key started.
    assert_eq!(
        app.get(&format!("/v1/jobs/{by_key}"), &owner).await.status,
        200
    );
    // Without its permission a key starts nothing; and "my jobs" is a member's own list.
    assert_problem(
        &app.post("/v1/compliance/matrix/exports", &other_key, json!({}))
            .await,
        403,
        "forbidden",
    );
    assert_problem(
        &app.get("/v1/me/jobs", &key).await,
        403,
        "api_key_not_permitted",
    );
    app.run_worker().await;
    let done = app.get(&format!("/v1/jobs/{by_key}"), &key).await;
    assert_eq!(done.json["state"], "SUCCEEDED", "{}", done.text);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM jobs WHERE kind = 'compliance.export'"
        )
        .await,
        2,
        "the refused start queued nothing"
    );
}

#[actix_web::test]
async fn a_job_whose_owner_lost_the_right_before_it_ran_fails_with_the_problem() {
    let app = TestApp::new().await;
    let (owner, _) = tenant_with_matrix(&app, "acme", 2).await;
    let hr = app.member(&owner, "hr@acme.example.com", "HR").await;
    let hr_id = app.me_id(&hr).await;
    let (job, _) = start_export(&app, &hr).await;
    let demoted = app
        .put(
            &format!("/v1/members/{hr_id}/role"),
            &owner,
            json!({ "role": "EMPLOYEE" }),
        )
        .await;
    assert_eq!(demoted.status, 200, "{}", demoted.text);
    app.run_worker().await;
    let failed = app.get(&format!("/v1/jobs/{job}"), &hr).await;
    assert_eq!(failed.json["state"], "FAILED", "{}", failed.text);
    assert_eq!(failed.json["problem"]["code"], "forbidden");
    assert_eq!(failed.json["problem"]["status"], 403);
    assert_eq!(failed.json["result_url"], Value::Null);
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM jobs WHERE status = 'DEAD'").await,
        0,
        "a refusal is not retried"
    );
}
