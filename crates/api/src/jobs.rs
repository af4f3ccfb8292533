//! Long operations a member waits on (exports, imports, AI builds): the `202 Accepted` pattern.
//!
//! A feature plugs in with a [`TrackedJob`] (its input, a stable `KIND` and a `run` that does the
//! work in steps), one line in its reactions file ([`register`]) and one in its handler
//! ([`accept`]), which answers `202 Accepted` with `Location: /v1/jobs/{id}` and the job:
//!
//! ```ignore
//! // reactions/<domain>.rs
//! crate::jobs::register::<ComplianceExport>(registry, state);
//! // routes/<scope>.rs
//! crate::jobs::accept(&ctx, &key, ComplianceExport { group_id, module_id }).await
//! ```
//!
//! What it gets: the job is a row of the worker's queue and a member job
//! (`guild_db::member_jobs`, same id) written in the request's transaction; the runner takes it
//! to RUNNING, runs it as the member who started it (their actor loaded again, within the API
//! key's permissions when a key started it), and records its end: SUCCEEDED with its result (a
//! file it produced is stored and downloaded through `GET /v1/jobs/{id}/result`), FAILED with
//! the problem a client would have got (a 4xx at once; a 5xx after the job's last attempt), or
//! CANCELLED. [`Run::progress`] records how far it got and is where a running job learns that
//! its owner cancelled it: it answers [`Stop::Cancelled`], which the job returns with `?`. Every
//! change is pushed on the owner's stream (`event: job`, data: the job) once committed.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use actix_web::HttpResponse;
use actix_web::http::header;
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use futures_util::FutureExt;
use guild_db::member_jobs::{self, MemberJob, MemberJobError};
use guild_db::tx::TxFn;
use guild_db::worker::{HandlerError, JobRun, Registry};
use guild_kernel::auth::ApiKeyLimits;
use guild_kernel::{Actor, ErrorCode, JobId, Permission, TenantId, UserId};
use guild_notifications::NotificationsError;
use guild_notifications::stream::{self, StreamEvent};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::idempotency::{self, Idempotency};
use crate::routes::jobs::JobDto;
use crate::state::AppState;

/// The stream event type of a job's changes.
pub const STREAM_KIND: &str = "job";

/// A long operation a member starts and waits on.
pub trait TrackedJob: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// A stable dotted name (`compliance.export`), never renamed: the kind of its rows.
    const KIND: &'static str;
    /// Runs tried while it fails on something that may pass (the database or the storage being
    /// down); a refusal (4xx) fails it at once.
    const MAX_ATTEMPTS: i32 = 3;
    /// When set, its owner gets this in-app notification (`REPORT_READY`, linking to the job)
    /// once the job SUCCEEDED: a title for the inbox.
    const READY_NOTICE: Option<&'static str> = None;

    /// Does the work as [`Run::actor`], reporting between steps with [`Run::progress`] (and
    /// returning its [`Stop::Cancelled`] with `?`); answers what it produced.
    fn run(self, run: &mut Run) -> impl Future<Output = Result<Output, Stop>> + Send;
}

/// What a job produced.
#[derive(Debug)]
pub enum Output {
    /// A JSON result (a report, the ids of what it made).
    Json(serde_json::Value),
    /// A file, stored and then downloaded through `GET /v1/jobs/{id}/result`; `summary` goes in
    /// the result beside the file's name, type and size.
    File {
        /// The file's name (`compliance.csv`): letters, digits, `.`, `_` and `-`.
        name: String,
        /// Its content type.
        content_type: String,
        /// Its bytes.
        bytes: Vec<u8>,
        /// What else the result says (`{"members": 120}`).
        summary: serde_json::Value,
    },
}

/// Why a job stopped before producing anything.
#[derive(Debug)]
pub enum Stop {
    /// Its owner cancelled it.
    Cancelled,
    /// It failed with this problem.
    Failed(ApiError),
}

impl<E: ErrorCode> From<E> for Stop {
    fn from(err: E) -> Self {
        Self::Failed(ApiError::from(err))
    }
}

impl From<ApiError> for Stop {
    fn from(err: ApiError) -> Self {
        Self::Failed(err)
    }
}

/// An API key's limits, as a job carries them to its runner.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct KeyLimits {
    key_id: Uuid,
    permissions: Vec<Permission>,
    act_as_member: bool,
}

/// The queued job: who started it and what they asked for.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope<J> {
    owner: Uuid,
    api_key: Option<KeyLimits>,
    input: J,
}

impl<J: TrackedJob> guild_db::jobs::Job for Envelope<J> {
    const KIND: &'static str = J::KIND;
    const MAX_ATTEMPTS: i32 = J::MAX_ATTEMPTS;
}

/// Starts `input` as the actor's job in the caller's tenant transaction; answers it, QUEUED.
/// For a handler that starts a job inside a write of its own; most call [`accept`].
pub async fn enqueue<J: TrackedJob>(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    input: J,
    now: DateTime<Utc>,
) -> Result<MemberJob, MemberJobError> {
    let envelope = Envelope {
        owner: actor.user_id.into_uuid(),
        api_key: actor.api_key.as_ref().map(|key| KeyLimits {
            key_id: key.key_id,
            permissions: key.permissions.iter().copied().collect(),
            act_as_member: key.act_as_member,
        }),
        input,
    };
    member_jobs::start(conn, actor, &envelope, now).await
}

/// Starts `input` as the actor's job and answers `202 Accepted` with `Location: /v1/jobs/{id}`
/// and the job; with an `Idempotency-Key`, a retry answers the same job.
pub(crate) async fn accept<A, J: TrackedJob>(
    ctx: &Ctx<A>,
    key: &Idempotency,
    input: J,
) -> Result<HttpResponse, ApiError> {
    let (actor, now) = (&ctx.actor, ctx.now);
    let answered = idempotency::once_answered(
        ctx,
        key,
        actix_web::http::StatusCode::ACCEPTED,
        async |conn| enqueue(conn, actor, input, now).await.map(JobDto::from),
    )
    .await?;
    let location = answered.body["id"]
        .as_str()
        .map(|id| format!("{}/jobs/{id}", crate::routes::V1))
        .unwrap_or_default();
    Ok(answered
        .builder()
        .insert_header((header::LOCATION, location))
        .json(answered.body))
}

/// Runs jobs of type `J` in the worker (see the module docs).
pub fn register<J: TrackedJob>(registry: &mut Registry, state: &AppState) {
    let state = state.clone();
    registry.on_job(move |run: JobRun, envelope: Envelope<J>| {
        let state = state.clone();
        async move { execute(state, run, envelope).await }
    });
}

/// A running job's handle: who it runs as, its transactions, and its progress.
pub struct Run {
    /// The app state (storage, clock, settings).
    pub state: AppState,
    /// The member who started the job, as they are now (within the key's limits, if a key
    /// started it).
    pub actor: Actor,
    /// When this run began: the job's `now` for every rule it applies.
    pub now: DateTime<Utc>,
    id: JobId,
    last: (i32, String),
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Run")
            .field("id", &self.id)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl Run {
    /// The job's id.
    pub fn id(&self) -> JobId {
        self.id
    }

    /// Records how far the job got (`percent`, 0–100, and a line for people) and pushes it to
    /// the owner's stream when it changed; [`Stop::Cancelled`] when the owner cancelled the job,
    /// which the job returns at once. Call it between steps.
    pub async fn progress(&mut self, percent: i32, message: &str) -> Result<(), Stop> {
        let (tenant, id, now) = (self.actor.tenant_id, self.id, self.state.clock.now());
        let changed = (percent, message.to_owned()) != self.last;
        let changed_job = transition(&self.state, tenant, changed, async |conn| {
            member_jobs::report(conn, tenant, id, percent, message, now).await
        })
        .await?;
        if changed_job.is_none() {
            return Err(Stop::Cancelled);
        }
        self.last = (percent, message.to_owned());
        Ok(())
    }

    /// Runs `f` in one transaction scoped to the job's tenant.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, Stop>
    where
        for<'r> F: AsyncFnOnce(&'r mut AsyncPgConnection) -> Result<T, E>
            + TxFn<&'r mut AsyncPgConnection, Result<T, E>, Fut: Send>
            + Send,
        E: From<guild_db::DbError> + ErrorCode + Send,
        T: Send,
    {
        let mut conn = guild_db::connect(&self.state.db).await?;
        Ok(guild_db::tenant_transaction(&mut conn, self.actor.tenant_id, f).await?)
    }
}

/// A member job's change, and the stream event that tells its owner, in one transaction.
#[derive(Debug, thiserror::Error)]
enum TransitionError {
    #[error(transparent)]
    Jobs(#[from] MemberJobError),
    #[error(transparent)]
    Stream(#[from] NotificationsError),
    #[error(transparent)]
    Db(#[from] guild_db::DbError),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

impl ErrorCode for TransitionError {
    fn code(&self) -> &'static str {
        match self {
            Self::Jobs(e) => e.code(),
            Self::Stream(e) => e.code(),
            Self::Db(e) => e.code(),
            Self::Json(_) => "internal_error",
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::Jobs(e) => e.status(),
            Self::Stream(e) => e.status(),
            Self::Db(e) => e.status(),
            Self::Json(_) => 500,
        }
    }
}

/// Appends the job, as its owner sees it, to their stream.
async fn push_event(
    conn: &mut AsyncPgConnection,
    job: &MemberJob,
    now: DateTime<Utc>,
) -> Result<StreamEvent, TransitionError> {
    let payload = serde_json::to_value(JobDto::from(job.clone()))?;
    Ok(stream::append(
        conn,
        TenantId(job.tenant_id),
        UserId(job.user_id),
        STREAM_KIND,
        &payload,
        now,
    )
    .await?)
}

/// Publishes a job's stream event once its transaction committed.
pub(crate) async fn publish(state: &AppState, job: &MemberJob, event: &StreamEvent) {
    crate::routes::stream::publish(state, TenantId(job.tenant_id), UserId(job.user_id), event)
        .await;
}

/// Applies `change` in the job's tenant; when it changed the job and `push` is set, tells the
/// owner's stream in the same transaction and publishes after the commit. Answers the job as
/// changed, or `None` when the change did not apply (the job was not in a state it applies to).
async fn transition<F>(
    state: &AppState,
    tenant: TenantId,
    push: bool,
    change: F,
) -> Result<Option<MemberJob>, ApiError>
where
    for<'r> F: AsyncFnOnce(&'r mut AsyncPgConnection) -> Result<Option<MemberJob>, MemberJobError>
        + TxFn<&'r mut AsyncPgConnection, Result<Option<MemberJob>, MemberJobError>, Fut: Send>
        + Send,
{
    let now = state.clock.now();
    let mut conn = guild_db::connect(&state.db).await?;
    let changed = guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
        let Some(job) = change(conn).await? else {
            return Ok::<_, TransitionError>(None);
        };
        let event = if push {
            Some(push_event(conn, &job, now).await?)
        } else {
            None
        };
        Ok(Some((job, event)))
    })
    .await?;
    let Some((job, event)) = changed else {
        return Ok(None);
    };
    if let Some(event) = event {
        publish(state, &job, &event).await;
    }
    Ok(Some(job))
}

/// Cancels a job for its owner (see `member_jobs::cancel`) and tells their stream.
pub(crate) async fn cancel<A>(ctx: &Ctx<A>, id: Uuid) -> Result<MemberJob, ApiError> {
    let (actor, now) = (&ctx.actor, ctx.now);
    let (job, event) = ctx
        .write(async |conn| {
            let before = member_jobs::find(&*conn, actor, id).await?;
            let job = member_jobs::cancel(conn, actor, id, now).await?;
            let event = if before.state == job.state {
                None
            } else {
                Some(push_event(conn, &job, now).await?)
            };
            Ok::<_, TransitionError>((job, event))
        })
        .await?;
    if let Some(event) = event {
        publish(&ctx.state, &job, &event).await;
    }
    Ok(job)
}

/// The worker's side of one job: begin, load the actor, run, record the end.
async fn execute<J: TrackedJob>(
    state: AppState,
    run: JobRun,
    envelope: Envelope<J>,
) -> Result<Option<serde_json::Value>, HandlerError> {
    let Some(tenant) = run.tenant_id else {
        tracing::warn!(job = %run.id, kind = J::KIND, "a member job without a tenant: skipped");
        return Ok(None);
    };
    let id = run.id;
    let now = state.clock.now();
    // A job cancelled while it waited is not begun.
    let begun = transition(&state, tenant, true, async |conn| {
        member_jobs::begin(conn, tenant, id, now).await
    })
    .await
    .map_err(boxed)?;
    if begun.is_none() {
        return Ok(None);
    }
    let last_attempt = run.attempt >= J::MAX_ATTEMPTS;
    let actor = match actor_of(&state, tenant, &envelope).await {
        Ok(actor) => actor,
        Err(err) => return settle_failure(&state, tenant, id, err, last_attempt).await,
    };
    let mut handle = Run {
        state: state.clone(),
        actor,
        now,
        id,
        last: (0, String::new()),
    };
    let outcome = AssertUnwindSafe(envelope.input.run(&mut handle))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| Err(Stop::Failed(ApiError::internal("the job panicked"))));
    match outcome {
        Ok(output) => match finish(&state, tenant, id, output).await {
            Ok(Some(job)) => {
                if let Some(title) = J::READY_NOTICE {
                    notify_ready(&state, &job, title).await;
                }
                Ok(None)
            }
            Ok(None) => Ok(None),
            Err(err) => settle_failure(&state, tenant, id, err, last_attempt).await,
        },
        Err(Stop::Cancelled) => Ok(None),
        Err(Stop::Failed(err)) => settle_failure(&state, tenant, id, err, last_attempt).await,
    }
}

/// The member who started the job, as they are now, within the key's limits.
async fn actor_of<J>(
    state: &AppState,
    tenant: TenantId,
    envelope: &Envelope<J>,
) -> Result<Actor, ApiError> {
    let mut conn = guild_db::connect(&state.db).await?;
    let mut actor =
        guild_tenancy::actor::load_actor(&mut conn, UserId(envelope.owner), tenant).await?;
    actor.api_key = envelope.api_key.as_ref().map(|key| ApiKeyLimits {
        key_id: key.key_id,
        permissions: key.permissions.iter().copied().collect(),
        act_as_member: key.act_as_member,
    });
    Ok(actor)
}

/// A failed run: retried (the error returned to the worker) while it may pass and attempts
/// remain, else the job is FAILED with the problem. A job cancelled meanwhile stays CANCELLED.
async fn settle_failure(
    state: &AppState,
    tenant: TenantId,
    id: JobId,
    err: ApiError,
    last_attempt: bool,
) -> Result<Option<serde_json::Value>, HandlerError> {
    use actix_web::ResponseError;
    let transient = err.status_code().is_server_error();
    if transient && !last_attempt {
        return Err(boxed(err));
    }
    if let Some(cause) = err.log_cause() {
        tracing::warn!(job = %id, error = %cause, "job failed");
    }
    let problem = serde_json::to_value(err.problem()).map_err(boxed)?;
    let now = state.clock.now();
    transition(state, tenant, true, async |conn| {
        member_jobs::fail(conn, tenant, id, &problem, now).await
    })
    .await
    .map_err(boxed)?;
    Ok(None)
}

/// Tells the owner of a job that SUCCEEDED that it is ready (`REPORT_READY`), once per job. A
/// failure to tell is logged: the job stays done and its file downloadable.
async fn notify_ready(state: &AppState, job: &MemberJob, title: &str) {
    use guild_notifications::inbox::Broadcast;
    use guild_notifications::{EntityKind, NotificationType};

    let (tenant, user, now) = (
        TenantId(job.tenant_id),
        UserId(job.user_id),
        state.clock.now(),
    );
    let note = Broadcast {
        kind: NotificationType::ReportReady,
        title: title.to_owned(),
        body: "Download it from the job before it is removed, seven days after it ended."
            .to_owned(),
        entity: Some((EntityKind::Job, job.id)),
        dedup_key: format!("report_ready:{}", job.id),
        data: serde_json::Value::Null,
    };
    let written = async {
        let mut conn = guild_db::connect(&state.db)
            .await
            .map_err(|e| e.to_string())?;
        guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
            crate::reactions::notifications::write_many(conn, tenant, &[user], &note, now).await
        })
        .await
        .map_err(|e| e.to_string())
    }
    .await;
    match written {
        Ok(events) => {
            for (user, event) in &events {
                crate::routes::stream::publish(state, tenant, *user, event).await;
            }
        }
        Err(e) => {
            tracing::warn!(job = %job.id, error = %e, "could not tell that a report is ready")
        }
    }
}

/// Records what the job produced: its file stored first, then SUCCEEDED (a file of a job
/// cancelled meanwhile is deleted again). Answers the job, SUCCEEDED, or `None` when it was
/// cancelled meanwhile.
async fn finish(
    state: &AppState,
    tenant: TenantId,
    id: JobId,
    output: Output,
) -> Result<Option<MemberJob>, ApiError> {
    let (result, blob) = match output {
        Output::Json(value) => (value, None),
        Output::File {
            name,
            content_type,
            bytes,
            summary,
        } => {
            let name: String = name
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
                .take(100)
                .collect();
            let key = format!(
                "tenants/{}/jobs/{}/{name}",
                tenant.into_uuid(),
                id.into_uuid()
            );
            let size = bytes.len();
            state
                .blobs
                .put(&key, bytes, &content_type)
                .await
                .map_err(crate::routes::media::blob_error)?;
            let mut result = serde_json::json!({
                "file_name": name,
                "content_type": content_type,
                "size_bytes": size,
            });
            if let (Some(result), serde_json::Value::Object(extra)) =
                (result.as_object_mut(), summary)
            {
                for (k, v) in extra {
                    result.entry(k).or_insert(v);
                }
            }
            (result, Some(key))
        }
    };
    let now = state.clock.now();
    let done = transition(state, tenant, true, async |conn| {
        member_jobs::succeed(conn, tenant, id, &result, blob.as_deref(), now).await
    })
    .await?;
    if done.is_none()
        && let Some(key) = blob
        && let Err(e) = state.blobs.delete(&key).await
    {
        tracing::warn!(job = %id, error = %e, "could not delete a cancelled job's file");
    }
    Ok(done)
}

fn boxed(err: impl std::fmt::Display) -> HandlerError {
    err.to_string().into()
}
