//! Report exports (`/v1/reports`): a report of the members the caller's EXPORT_REPORTS grants
//! reach, made as a CSV, XLSX or (the compliance report) PDF file by a background job (`202 Accepted`, see [`crate::jobs`]),
//! then downloaded through a signed, expiring link.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use guild_analytics::reports::{self, ReportFilter, ReportFormat, ReportKind};
use guild_db::member_jobs::{self, JobState};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::{Ctx, Permitted};
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::idempotency::{Idempotency, IdempotencyHeader};
use crate::reactions::reports::ReportExport;
use crate::routes::common::{AuthErrors, Conflict, InputErrors, NotFound};
use crate::routes::jobs::JobDto;
use crate::routes::media::{DownloadDto, UploadErrors, blob_error};
use crate::routes::segment;

/// Registers `/v1/reports`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/reports")
            .service(create_report)
            .service(get_report),
    );
}

/// What a report covers.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportFiltersDto {
    /// Only members of this group (404 `group_not_found` for a group not in the tenant).
    group_id: Option<Uuid>,
    /// The period's start, inclusive; 30 days before `to` when left out.
    from: Option<DateTime<Utc>>,
    /// The period's end, exclusive; now when left out. At most 366 days after `from`.
    to: Option<DateTime<Utc>>,
    /// Only this module (`completions`, `compliance`).
    module_id: Option<Uuid>,
    /// Only this quiz (`quiz_results`).
    quiz_id: Option<Uuid>,
}

/// A report to make.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "kind": "COMPLETIONS", "format": "XLSX", "filters": { "from": "2026-11-01T00:00:00Z" } }))]
pub(crate) struct ReportRequest {
    kind: ReportKind,
    format: ReportFormat,
    #[serde(default)]
    #[validate(nested)]
    filters: ReportFiltersDto,
}

/// A report: its job, and once it SUCCEEDED a signed link to its file.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReportDto {
    /// The job that makes it (`result` holds `report`, `format`, `rows`, `truncated`, `from`,
    /// `to` and the file's name, type and size once it SUCCEEDED).
    job: JobDto,
    /// The file, once the job SUCCEEDED: GET `url` (no credentials) before `expires_at`.
    download: Option<DownloadDto>,
}

/// Make a report.
///
/// For EXPORT_REPORTS holders (HR, ADMIN and above by default; a grant scoped to groups or a
/// manager subtree limits the report to those members): `kind` is `compliance` (each member's
/// state on each mandatory module; needs a progress permission too), `completions`,
/// `quiz_results`, `xp_ledger`, `event_attendance` or `members`; `format` is `csv` or `xlsx`,
/// or `pdf` for `compliance`: a document for auditors with a title page (tenant, period, when
/// and by whom), a completion chart per group and the table of members × mandatory modules.
/// Answers `202 Accepted` with the job (`Location: /v1/jobs/{id}`); `GET /v1/reports/{id}`
/// gives a signed link to the file once it is made, and you are notified (`REPORT_READY`).
/// Refused before anything is queued: 403 without the permission, 422 `validation_failed` for a
/// period that does not start before it ends or is longer than 366 days (field `from`) or a PDF
/// of another report than `compliance` (field `format`, `pdf_compliance_only`), 404
/// `group_not_found`.
/// 409 `job_limit_reached` while you have 5 jobs waiting or running. At most 100,000 rows.
#[utoipa::path(
    tag = "reports",
    params(IdempotencyHeader),
    request_body = ReportRequest,
    responses(
        (status = 202, body = JobDto, description = "Queued: follow the job",
         headers(("Location" = String, description = "The job: `/v1/jobs/{id}`"))),
        AuthErrors, InputErrors, NotFound, Conflict)
)]
#[post("/reports")]
pub(crate) async fn create_report(
    ctx: Ctx<Permitted>,
    key: Idempotency,
    body: ValidJson<ReportRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let filters = ReportFilter {
        group_id: b.filters.group_id,
        from: b.filters.from,
        to: b.filters.to,
        module_id: b.filters.module_id,
        quiz_id: b.filters.quiz_id,
    };
    let now = ctx.now;
    ctx.write(async |conn| reports::check(conn, &ctx.actor, b.kind, b.format, &filters, now).await)
        .await?;
    crate::jobs::accept(
        &ctx,
        &key,
        ReportExport {
            kind: b.kind,
            format: b.format,
            filters,
        },
    )
    .await
}

/// Get a report.
///
/// Its job (state, progress, result or problem) and, once it SUCCEEDED, a signed `https` link to
/// its file valid five minutes (ask again for a fresh one; files are kept seven days). Read by
/// whoever may read the job (its owner, the tenant's ADMINs and above, the API key that made
/// it); 404 `report_not_found` for anyone else, another tenant's report or a job that is not a
/// report.
#[utoipa::path(
    tag = "reports",
    params(("report_id" = Uuid, Path, description = "The report (its job's id)")),
    responses((status = 200, body = ReportDto, description = "The report"), AuthErrors, NotFound, UploadErrors)
)]
#[get("/reports/{report_id}")]
pub(crate) async fn get_report(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let found = match ctx
        .read(async |conn| member_jobs::find(conn, &ctx.actor, id).await)
        .await
    {
        Ok(job) => Some(job),
        Err(e) if e.code() == "job_not_found" => None,
        Err(e) => return Err(e),
    };
    let job = found
        .filter(|job| job.kind == <ReportExport as crate::jobs::TrackedJob>::KIND)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "report_not_found"))?;
    let download = match (&job.result_blob, job.state) {
        (Some(blob), JobState::Succeeded) => {
            let ttl = guild_learning::media::DOWNLOAD_URL_TTL;
            let url = ctx
                .state
                .blobs
                .signed_get_url(blob, ttl)
                .await
                .map_err(blob_error)?;
            let field = |name: &str| {
                job.result
                    .as_ref()
                    .and_then(|r| r[name].as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            Some(DownloadDto {
                url,
                expires_at: Utc::now() + chrono::Duration::from_std(ttl).unwrap_or_default(),
                file_name: field("file_name"),
                content_type: field("content_type"),
            })
        }
        _ => None,
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(ReportDto {
            job: JobDto::from(job),
            download,
        }))
}
