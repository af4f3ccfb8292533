//! The jobs members start and wait on (`/v1/jobs`): the member's side of a row of the internal
//! queue ([`jobs`](crate::jobs)).
//!
//! [`start`] enqueues the internal job and records its member job under the same id, in the
//! caller's transaction: the two exist together or not at all. The runner then moves the member
//! job forward with [`begin`], [`report`], [`succeed`] and [`fail`], each a conditional `UPDATE`
//! on its state, and the owner may [`cancel`] it:
//!
//! - `QUEUED → RUNNING`: [`begin`] (also `RUNNING → RUNNING` when a crashed run is retried); a
//!   cancelled job is not begun, so a job cancelled while queued never starts.
//! - [`report`] and [`succeed`] apply only while the job is `RUNNING`: a runner whose job was
//!   cancelled learns it at its next step (the update changes nothing) and stops there.
//! - `SUCCEEDED`, `FAILED` and `CANCELLED` are final; finished jobs are pruned after
//!   [`RETENTION`].
//!
//! Who sees a job: its owner, and the tenant's ADMINs and above; an API key sees the jobs it
//! started (and, when it acts as a member, its creator's). Only the owner (or the key that
//! started it) cancels. Everyone else, in this tenant or another, gets `job_not_found`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_kernel::{Actor, ErrorCode, FieldError, JobId, Page, PageRequest, TenantId, TenantRole};
use uuid::Uuid;

use crate::DbError;
use crate::jobs::Job;
use crate::schema::member_jobs as mj;

/// How long a finished job (and the file it produced) is kept.
pub const RETENTION: std::time::Duration = std::time::Duration::from_secs(7 * 86_400);

/// The most jobs a member may have waiting or running at once (per tenant): each holds a worker
/// and, for an export, a file; a member who wants more waits for one to end or cancels one.
pub const MAX_UNFINISHED: i64 = 5;

/// The longest progress message kept; a longer one is cut.
pub const MAX_MESSAGE: usize = 500;

guild_kernel::string_enum!(
    /// Where a member's job is.
    JobState {
        /// Waiting for a worker.
        Queued => "QUEUED",
        /// A worker is on it.
        Running => "RUNNING",
        /// Done; its result is there.
        Succeeded => "SUCCEEDED",
        /// Given up on; its problem says why.
        Failed => "FAILED",
        /// Stopped by its owner.
        Cancelled => "CANCELLED",
    }
);

impl JobState {
    /// Whether the job will not change any more.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }
}

/// A job a member started.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = mj)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct MemberJob {
    /// Its id (the internal job's too).
    pub id: Uuid,
    /// Its tenant.
    pub tenant_id: Uuid,
    /// Who started it.
    pub user_id: Uuid,
    /// The API key that started it, if one did.
    pub api_key_id: Option<Uuid>,
    /// What it does (the internal job's kind, e.g. `compliance.export`).
    pub kind: String,
    /// Where it is.
    #[diesel(deserialize_as = String)]
    pub state: JobState,
    /// 0 to 100.
    pub progress: i32,
    /// What it is doing, for people.
    pub message: String,
    /// What it produced (SUCCEEDED).
    pub result: Option<serde_json::Value>,
    /// The blob of the file it produced, if any (SUCCEEDED).
    pub result_blob: Option<String>,
    /// Why it failed (FAILED): a problem without a request id.
    pub problem: Option<serde_json::Value>,
    /// When it was started.
    pub created_at: DateTime<Utc>,
    /// When a worker first took it.
    pub started_at: Option<DateTime<Utc>>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
}

/// What member-job operations refuse.
#[derive(Debug, thiserror::Error)]
pub enum MemberJobError {
    /// No such job that the actor may see.
    #[error("job not found")]
    NotFound,
    /// The actor sees the job but did not start it.
    #[error("only whoever started a job may cancel it")]
    NotOwner,
    /// The job already ended.
    #[error("the job already ended")]
    Finished,
    /// The member already has [`MAX_UNFINISHED`] jobs waiting or running.
    #[error("you have 5 jobs waiting or running; wait for one to end or cancel one")]
    TooMany,
    /// The job has not produced a file (it has not succeeded, or produces none).
    #[error("the job has no file to download")]
    NoFile,
    /// The actor is not a member of the tenant (a platform owner acting in it).
    #[error("only members of the tenant start jobs")]
    NotAMember,
    /// Input that breaks a rule (a cursor this list did not issue).
    #[error("the request has invalid fields")]
    Invalid(Vec<FieldError>),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for MemberJobError {
    fn from(err: diesel::result::Error) -> Self {
        Self::Db(DbError::from(err))
    }
}

impl ErrorCode for MemberJobError {
    fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "job_not_found",
            Self::NotOwner => "job_not_owned",
            Self::Finished => "job_already_finished",
            Self::NoFile => "job_result_unavailable",
            Self::TooMany => "job_limit_reached",
            Self::NotAMember => "not_a_member",
            Self::Invalid(_) => "validation_failed",
            Self::Db(e) => e.code(),
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::NotFound => 404,
            Self::NotOwner | Self::NotAMember => 403,
            Self::Finished | Self::NoFile | Self::TooMany => 409,
            Self::Invalid(_) => 422,
            Self::Db(e) => e.status(),
        }
    }

    fn field_errors(&self) -> Vec<FieldError> {
        match self {
            Self::Invalid(errors) => errors.clone(),
            _ => Vec::new(),
        }
    }
}

/// Whether `actor` may see `job`.
pub fn visible_to(actor: &Actor, job: &MemberJob) -> bool {
    match &actor.api_key {
        Some(_) => started_by(actor, job),
        None => {
            job.user_id == actor.user_id.into_uuid()
                || actor.role.rank() <= TenantRole::Admin.rank()
        }
    }
}

/// Whether `actor` started `job` (as a person, or as the key that started it; a key that acts
/// as a member also stands for its creator).
fn started_by(actor: &Actor, job: &MemberJob) -> bool {
    let owner = job.user_id == actor.user_id.into_uuid();
    match &actor.api_key {
        Some(key) => job.api_key_id == Some(key.key_id) || (key.act_as_member && owner),
        None => owner,
    }
}

/// Enqueues `job` for the worker and records it as the actor's, both in the caller's transaction
/// (for the actor's tenant), unless the actor already has [`MAX_UNFINISHED`] jobs waiting or
/// running (`job_limit_reached`). Answers the member job, `QUEUED`.
pub async fn start<J: Job>(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    job: &J,
    now: DateTime<Utc>,
) -> Result<MemberJob, MemberJobError> {
    if actor.impersonating {
        return Err(MemberJobError::NotAMember);
    }
    // Two starts racing for the last place take turns.
    crate::lock_xact(
        conn,
        &format!("member_jobs:{}:{}", actor.tenant_id, actor.user_id),
    )
    .await?;
    let unfinished: i64 = mj::table
        .filter(mj::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(mj::user_id.eq(actor.user_id.into_uuid()))
        .filter(mj::finished_at.is_null())
        .count()
        .get_result(conn)
        .await?;
    if unfinished >= MAX_UNFINISHED {
        return Err(MemberJobError::TooMany);
    }
    let id = crate::jobs::enqueue(conn, Some(actor.tenant_id), job).await?;
    Ok(diesel::insert_into(mj::table)
        .values((
            mj::tenant_id.eq(actor.tenant_id.into_uuid()),
            mj::id.eq(id.into_uuid()),
            mj::user_id.eq(actor.user_id.into_uuid()),
            mj::api_key_id.eq(actor.api_key.as_ref().map(|k| k.key_id)),
            mj::kind.eq(J::KIND),
            mj::state.eq(JobState::Queued.as_str()),
            mj::created_at.eq(now),
            mj::updated_at.eq(now),
        ))
        .returning(MemberJob::as_returning())
        .get_result(conn)
        .await?)
}

/// One job the actor may see; `job_not_found` otherwise (another tenant's included).
pub async fn find(
    mut conn: &AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<MemberJob, MemberJobError> {
    let job = mj::table
        .filter(mj::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(mj::id.eq(id))
        .select(MemberJob::as_select())
        .first(&mut conn)
        .await
        .optional()?;
    job.filter(|j| visible_to(actor, j))
        .ok_or(MemberJobError::NotFound)
}

/// The file a job produced, as its download names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultFile {
    /// Where it is stored.
    pub blob_key: String,
    /// Its name.
    pub file_name: String,
    /// Its content type.
    pub content_type: String,
}

/// The file a job the actor may see produced; `job_result_unavailable` until it succeeded with
/// one.
pub async fn result_file(
    conn: &AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<ResultFile, MemberJobError> {
    let job = find(conn, actor, id).await?;
    let (Some(blob_key), Some(result)) = (job.result_blob, job.result) else {
        return Err(MemberJobError::NoFile);
    };
    let field = |name: &str| result[name].as_str().unwrap_or_default().to_owned();
    Ok(ResultFile {
        blob_key,
        file_name: field("file_name"),
        content_type: field("content_type"),
    })
}

/// The jobs the actor started, newest first, a page at a time.
pub async fn list_mine(
    mut conn: &AsyncPgConnection,
    actor: &Actor,
    page: &PageRequest,
) -> Result<Page<MemberJob>, MemberJobError> {
    let limit = page.limit();
    let mut query = mj::table
        .filter(mj::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(mj::user_id.eq(actor.user_id.into_uuid()))
        .order(mj::id.desc())
        .limit(i64::from(limit) + 1)
        .select(MemberJob::as_select())
        .into_boxed();
    let bad = || {
        MemberJobError::Invalid(vec![FieldError::new(
            "cursor",
            "invalid_cursor",
            "the cursor is not valid",
        )])
    };
    if let Some(cursor) = page.cursor().map_err(|_| bad())? {
        let before: Uuid = cursor.0.parse().map_err(|_| bad())?;
        query = query.filter(mj::id.lt(before));
    }
    let rows = query.load(&mut conn).await?;
    Ok(Page::from_overfetch(rows, limit, |j: &MemberJob| {
        j.id.to_string()
    }))
}

/// Cancels a job the actor started: a queued one never starts, a running one stops at its next
/// step. Cancelling a cancelled job answers it again; a job that ended otherwise is
/// `job_already_finished`.
pub async fn cancel(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<MemberJob, MemberJobError> {
    let job = mj::table
        .filter(mj::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(mj::id.eq(id))
        .select(MemberJob::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
        .filter(|j| visible_to(actor, j))
        .ok_or(MemberJobError::NotFound)?;
    if !started_by(actor, &job) {
        return Err(MemberJobError::NotOwner);
    }
    match job.state {
        JobState::Cancelled => Ok(job),
        JobState::Succeeded | JobState::Failed => Err(MemberJobError::Finished),
        JobState::Queued | JobState::Running => Ok(diesel::update(
            mj::table.filter(mj::tenant_id.eq(job.tenant_id).and(mj::id.eq(id))),
        )
        .set((
            mj::state.eq(JobState::Cancelled.as_str()),
            mj::message.eq("Cancelled"),
            mj::updated_at.eq(now),
            mj::finished_at.eq(Some(now)),
        ))
        .returning(MemberJob::as_returning())
        .get_result(conn)
        .await?),
    }
}

/// One job, whatever its state, for its runner.
pub async fn get(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: JobId,
) -> Result<Option<MemberJob>, MemberJobError> {
    Ok(mj::table
        .filter(mj::tenant_id.eq(tenant.into_uuid()))
        .filter(mj::id.eq(id.into_uuid()))
        .select(MemberJob::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Takes the job to `RUNNING` (a retry after a crash finds it there already); `None` when it was
/// cancelled or has ended: the runner then does nothing.
pub async fn begin(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: JobId,
    now: DateTime<Utc>,
) -> Result<Option<MemberJob>, MemberJobError> {
    Ok(diesel::update(unfinished(tenant, id))
        .set((
            mj::state.eq(JobState::Running.as_str()),
            mj::progress.eq(0),
            mj::message.eq(""),
            mj::started_at.eq(diesel::dsl::sql::<
                diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
            >("coalesce(started_at, ")
            .bind::<diesel::sql_types::Timestamptz, _>(now)
            .sql(")")),
            mj::updated_at.eq(now),
        ))
        .returning(MemberJob::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}

/// Records how far a running job got (`progress` clamped to 0–100); `None` when it is no longer
/// running (cancelled): the runner stops.
pub async fn report(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: JobId,
    progress: i32,
    message: &str,
    now: DateTime<Utc>,
) -> Result<Option<MemberJob>, MemberJobError> {
    Ok(diesel::update(running(tenant, id))
        .set((
            mj::progress.eq(progress.clamp(0, 100)),
            mj::message.eq(cut(message)),
            mj::updated_at.eq(now),
        ))
        .returning(MemberJob::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}

/// Finishes a running job with what it produced; `None` when it was cancelled meanwhile (its
/// result is then dropped by the caller).
pub async fn succeed(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: JobId,
    result: &serde_json::Value,
    blob: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<MemberJob>, MemberJobError> {
    Ok(diesel::update(running(tenant, id))
        .set((
            mj::state.eq(JobState::Succeeded.as_str()),
            mj::progress.eq(100),
            mj::message.eq("Done"),
            mj::result.eq(Some(result)),
            mj::result_blob.eq(blob),
            mj::updated_at.eq(now),
            mj::finished_at.eq(Some(now)),
        ))
        .returning(MemberJob::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}

/// Gives up on a job that has not ended, with the problem that stopped it; `None` when it had
/// (cancelled meanwhile).
pub async fn fail(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: JobId,
    problem: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<Option<MemberJob>, MemberJobError> {
    Ok(diesel::update(unfinished(tenant, id))
        .set((
            mj::state.eq(JobState::Failed.as_str()),
            mj::message.eq("Failed"),
            mj::problem.eq(Some(problem)),
            mj::updated_at.eq(now),
            mj::finished_at.eq(Some(now)),
        ))
        .returning(MemberJob::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}

/// Deletes the tenant's jobs that ended before `before`; answers the blobs of the files they
/// produced, for the caller to delete.
pub async fn prune(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    before: DateTime<Utc>,
) -> Result<Vec<String>, MemberJobError> {
    let blobs: Vec<Option<String>> = diesel::delete(
        mj::table
            .filter(mj::tenant_id.eq(tenant.into_uuid()))
            .filter(mj::finished_at.lt(before)),
    )
    .returning(mj::result_blob)
    .get_results(conn)
    .await?;
    Ok(blobs.into_iter().flatten().collect())
}

type Running = diesel::dsl::Filter<
    diesel::dsl::Filter<
        diesel::dsl::Filter<mj::table, diesel::dsl::Eq<mj::tenant_id, Uuid>>,
        diesel::dsl::Eq<mj::id, Uuid>,
    >,
    diesel::dsl::Eq<mj::state, &'static str>,
>;

/// The job, while it has not ended (QUEUED or RUNNING).
fn unfinished(tenant: TenantId, id: JobId) -> Unfinished {
    mj::table
        .filter(mj::tenant_id.eq(tenant.into_uuid()))
        .filter(mj::id.eq(id.into_uuid()))
        .filter(mj::finished_at.is_null())
}

type Unfinished = diesel::dsl::Filter<
    diesel::dsl::Filter<
        diesel::dsl::Filter<mj::table, diesel::dsl::Eq<mj::tenant_id, Uuid>>,
        diesel::dsl::Eq<mj::id, Uuid>,
    >,
    diesel::dsl::IsNull<mj::finished_at>,
>;

/// The job, while it is RUNNING.
fn running(tenant: TenantId, id: JobId) -> Running {
    mj::table
        .filter(mj::tenant_id.eq(tenant.into_uuid()))
        .filter(mj::id.eq(id.into_uuid()))
        .filter(mj::state.eq(JobState::Running.as_str()))
}

fn cut(message: &str) -> String {
    message.trim().chars().take(MAX_MESSAGE).collect()
}
