//! Jobs members wait on: `/v1/jobs/{job_id}` (state, progress, result or problem), its
//! cancellation and the file it produced. Operations that start one answer `202 Accepted` with
//! `Location: /v1/jobs/{id}` (see [`crate::jobs`]); `GET /v1/me/jobs` lists your own.
//!
//! These take `Ctx<Permitted>`, which admits every API key: a key follows the jobs it started
//! itself. `guild_db::member_jobs` decides for a key by the key (its own jobs, and its creator's
//! only when it acts as a member), never by its creator's role.

use actix_web::http::header;
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use guild_db::member_jobs::{self, JobState, MemberJob};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::ctx::{Ctx, Permitted};
use crate::error::ApiError;
use crate::routes::common::{AuthErrors, Conflict, NotFound};
use crate::routes::media::{DownloadDto, UploadErrors, blob_error};
use crate::routes::segment;

/// Registers `/v1/jobs`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/jobs")
            .service(get_job)
            .service(cancel_job)
            .service(download_job_result),
    );
}

/// A job you started (or, for admins, anyone's in the tenant).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1c4-6f1e-7a52-9e2b-5d3c1f0a9b7e",
    "kind": "compliance.export",
    "state": "RUNNING",
    "progress": 40,
    "message": "80 of 200 members",
    "owner_id": "0193a1c4-6f1e-7a52-9e2b-5d3c1f0a9b00",
    "result": null,
    "result_url": null,
    "problem": null,
    "created_at": "2026-12-08T13:00:00Z",
    "started_at": "2026-12-08T13:00:01Z",
    "updated_at": "2026-12-08T13:00:03Z",
    "finished_at": null
}))]
pub(crate) struct JobDto {
    id: Uuid,
    /// What it does: `compliance.export`, …
    kind: String,
    /// QUEUED → RUNNING → SUCCEEDED, FAILED or CANCELLED (the last three are final).
    state: JobState,
    /// How far it got, 0 to 100.
    #[schema(minimum = 0, maximum = 100)]
    progress: i32,
    /// What it is doing, for people.
    message: String,
    /// Who started it.
    owner_id: Uuid,
    /// What it produced, once SUCCEEDED (for a file: `file_name`, `content_type`, `size_bytes`
    /// and what the job adds).
    #[schema(value_type = Option<Object>)]
    result: Option<serde_json::Value>,
    /// Where to get the file it produced, once SUCCEEDED: `GET` it for a short-lived link.
    result_url: Option<String>,
    /// Why it failed, once FAILED: the problem a request would have answered.
    #[schema(value_type = Option<crate::error::Problem>)]
    problem: Option<serde_json::Value>,
    created_at: DateTime<Utc>,
    /// When a worker took it.
    started_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    /// When it ended.
    finished_at: Option<DateTime<Utc>>,
}

impl From<MemberJob> for JobDto {
    fn from(j: MemberJob) -> Self {
        let result_url = j
            .result_blob
            .as_ref()
            .map(|_| format!("{}/jobs/{}/result", crate::routes::V1, j.id));
        Self {
            id: j.id,
            kind: j.kind,
            state: j.state,
            progress: j.progress,
            message: j.message,
            owner_id: j.user_id,
            result: j.result,
            result_url,
            problem: j.problem,
            created_at: j.created_at,
            started_at: j.started_at,
            updated_at: j.updated_at,
            finished_at: j.finished_at,
        }
    }
}

/// Get a job.
///
/// Poll it after an operation answered `202 Accepted` (its `Location`), or follow it on your
/// event stream (`event: job`). Its owner and the tenant's ADMINs and above may read it; an API
/// key, the jobs it started (and its creator's, when it acts as a member). Anyone else, in this
/// tenant or another, gets 404 `job_not_found`.
#[utoipa::path(tag = "jobs",
    params(("job_id" = Uuid, Path, description = "The job")),
    responses((status = 200, body = JobDto, description = "The job"), AuthErrors, NotFound))]
#[get("/jobs/{job_id}")]
pub(crate) async fn get_job(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let job = ctx
        .read(async |conn| member_jobs::find(conn, &ctx.actor, id).await)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(JobDto::from(job)))
}

/// Cancel a job.
///
/// For whoever started it (403 `job_not_owned` for an admin who only sees it; 404
/// `job_not_found` for anyone else): a QUEUED job never starts; a RUNNING one stops at its next
/// step, keeping the progress it reported. Cancelling a cancelled job answers it again; one that
/// ended otherwise is 409 `job_already_finished`.
#[utoipa::path(tag = "jobs",
    params(("job_id" = Uuid, Path, description = "The job")),
    responses((status = 200, body = JobDto, description = "The job, CANCELLED"), AuthErrors, NotFound, Conflict))]
#[post("/jobs/{job_id}/cancel")]
pub(crate) async fn cancel_job(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<web::Json<JobDto>, ApiError> {
    let job = crate::jobs::cancel(&ctx, path.into_inner()).await?;
    Ok(web::Json(job.into()))
}

/// Download the file a job produced: get a signed download URL.
///
/// Whoever may read the job; the URL is valid five minutes and needs no credentials. 409
/// `job_result_unavailable` until the job SUCCEEDED with a file (its `result_url`); files are
/// kept seven days after the job ends.
#[utoipa::path(tag = "jobs",
    params(("job_id" = Uuid, Path, description = "The job")),
    responses((status = 200, body = DownloadDto, description = "The link"), AuthErrors, NotFound, Conflict, UploadErrors))]
#[get("/jobs/{job_id}/result")]
pub(crate) async fn download_job_result(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let file = ctx
        .read(async |conn| member_jobs::result_file(conn, &ctx.actor, id).await)
        .await?;
    let ttl = guild_learning::media::DOWNLOAD_URL_TTL;
    let url = ctx
        .state
        .blobs
        .signed_get_url(&file.blob_key, ttl)
        .await
        .map_err(blob_error)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(DownloadDto {
            url,
            expires_at: Utc::now() + chrono::Duration::from_std(ttl).unwrap_or_default(),
            file_name: file.file_name,
            content_type: file.content_type,
        }))
}
