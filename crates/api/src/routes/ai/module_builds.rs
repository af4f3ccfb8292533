//! The module builder (`/v1/ai/module-builds`): a media-library file (PDF, DOCX, video or
//! audio) made into a DRAFT module by a background job (`202 Accepted`, see [`crate::jobs`] and
//! [`crate::reactions::module_builds`]), read back with its progress, its extracted text's
//! summary, the module it created and where each section and question came from; and the retry
//! of a failed build, which reuses the text it kept.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use guild_ai::builds::{self, Build, BuildMethod, BuildStatus, Citation, NewBuild, SourceKind};
use guild_db::DbError;
use guild_db::member_jobs::{self, MemberJob, MemberJobError};
use guild_kernel::ErrorCode;
use guild_kernel::ports::ai::AiCapability;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::{Ctx, Permitted};
use crate::error::{ApiError, Problem};
use crate::extract::ValidJson;
use crate::idempotency::{self, Idempotency, IdempotencyHeader};
use crate::reactions::module_builds::ModuleBuildJob;
use crate::routes::common::{AuthErrors, Conflict, InputErrors, NotFound};
use crate::routes::jobs::JobDto;

/// A module to build.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "asset_id": "0193a1c4-6f1e-7a52-9e2b-5d3c1f0a9b7e", "language": "en", "hints": "For new warehouse staff; keep it short." }))]
pub(crate) struct CreateModuleBuildBody {
    /// A READY media-library asset: a PDF, a DOCX, or a video or audio file (its speech is
    /// transcribed, which needs a transcription model) of at most 25 MiB.
    asset_id: Uuid,
    /// The module's language, a BCP 47 tag (`en`, `de-CH`), for a model to write in.
    #[validate(length(min = 2, max = 35), custom(function = "language_tag"))]
    #[schema(
        min_length = 2,
        max_length = 35,
        pattern = "^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$"
    )]
    language: Option<String>,
    /// What the module should be like, for a model (quoted to it as data, never obeyed as
    /// instructions about anything but the draft).
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    hints: Option<String>,
}

/// A BCP 47 tag's shape: `^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$`, as the schema says.
fn language_tag(value: &str) -> Result<(), validator::ValidationError> {
    let mut parts = value.split('-');
    let first_ok = parts
        .next()
        .is_some_and(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
    let rest_ok =
        parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if first_ok && rest_ok {
        return Ok(());
    }
    let mut err = validator::ValidationError::new("language_tag");
    err.message = Some("must be a BCP 47 language tag such as `en` or `de-CH`".into());
    Err(err)
}

/// Where a section or question of the built module came from.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BuildCitationDto {
    /// The section, for a section's citation.
    section_id: Option<Uuid>,
    /// The quiz question, for a question's.
    question_id: Option<Uuid>,
    /// `PAGE` (PDF pages, from 1), `PARAGRAPH` (DOCX paragraphs, from 1) or `TIME`
    /// (milliseconds of the recording).
    kind: String,
    /// The first page or paragraph, or the start in milliseconds.
    start: i32,
    /// The last page or paragraph, or the end in milliseconds.
    end: i32,
    /// The start of the cited text.
    excerpt: String,
}

impl From<Citation> for BuildCitationDto {
    fn from(c: Citation) -> Self {
        Self {
            section_id: c.section_id,
            question_id: c.question_id,
            kind: c.kind,
            start: c.span_start,
            end: c.span_end,
            excerpt: c.excerpt,
        }
    }
}

/// A module build.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ModuleBuildDto {
    id: Uuid,
    /// QUEUED → RUNNING → SUCCEEDED, FAILED or CANCELLED (FAILED and CANCELLED can be retried).
    status: BuildStatus,
    /// The file (`null` once the asset was deleted).
    asset_id: Option<Uuid>,
    /// `PDF`, `DOCX`, `VIDEO` or `AUDIO`.
    source_kind: Option<SourceKind>,
    language: Option<String>,
    hints: Option<String>,
    /// How much text the file gave and how it begins (once read; kept for a retry).
    summary: Option<String>,
    /// Characters of text extracted.
    extracted_chars: i32,
    /// `MODEL` (a generation model wrote the draft) or `STRUCTURE` (from the document's headings
    /// and paragraphs, no quiz), once SUCCEEDED.
    method: Option<BuildMethod>,
    /// The DRAFT module created, once SUCCEEDED.
    module_id: Option<Uuid>,
    /// Why it failed, once FAILED.
    #[schema(value_type = Option<Problem>)]
    problem: Option<serde_json::Value>,
    /// Runs begun.
    attempts: i32,
    /// Where each section and quiz question came from, in module order.
    citations: Vec<BuildCitationDto>,
    /// The job of its current run: progress (0–100) and what it is doing (`null` once the job
    /// was pruned, seven days after it ended).
    job: Option<JobDto>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
}

impl ModuleBuildDto {
    fn new(build: Build, citations: Vec<Citation>, job: Option<MemberJob>) -> Self {
        let (source_kind, method) = (build.kind(), build.method());
        Self {
            id: build.id,
            status: build.status,
            asset_id: build.asset_id,
            source_kind,
            language: build.language,
            hints: build.hints,
            summary: build.summary,
            extracted_chars: build.extracted_chars,
            method,
            module_id: build.module_id,
            problem: build.problem,
            attempts: build.attempts,
            citations: citations.into_iter().map(BuildCitationDto::from).collect(),
            job: job.map(JobDto::from),
            created_at: build.created_at,
            updated_at: build.updated_at,
            finished_at: build.finished_at,
        }
    }
}

/// A start or retry refused by the builder's rules or the member's job limit.
#[derive(Debug, thiserror::Error)]
enum StartError {
    #[error(transparent)]
    Ai(#[from] guild_ai::AiError),
    #[error(transparent)]
    Jobs(#[from] MemberJobError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl ErrorCode for StartError {
    fn code(&self) -> &'static str {
        match self {
            Self::Ai(e) => e.code(),
            Self::Jobs(e) => e.code(),
            Self::Db(e) => e.code(),
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::Ai(e) => e.status(),
            Self::Jobs(e) => e.status(),
            Self::Db(e) => e.status(),
        }
    }

    fn field_errors(&self) -> Vec<guild_kernel::FieldError> {
        match self {
            Self::Ai(e) => e.field_errors(),
            _ => Vec::new(),
        }
    }
}

/// Refuses a build that needs a model it cannot have: 503 `ai_not_configured` for a video or an
/// audio file without a transcription model; 429 `ai_budget_exhausted` once the month's tokens are spent
/// when a model would be called (transcription, or a generation model writing the draft).
async fn check_models(ctx: &Ctx<Permitted>, kind: SourceKind) -> Result<(), ApiError> {
    let ai = &ctx.state.ai;
    if kind.is_spoken() && !ai.configured(AiCapability::Transcription) {
        return Err(guild_ai::AiError::NotConfigured.into());
    }
    if kind.is_spoken() || ai.configured(AiCapability::Generation) {
        let (tenant, now) = (ctx.actor.tenant_id, ctx.now);
        ctx.write(async |conn| guild_ai::usage::check_budget(conn, tenant, now).await)
            .await?;
    }
    Ok(())
}

fn accepted(answered: idempotency::Answered) -> HttpResponse {
    let location = answered.body["id"]
        .as_str()
        .map(|id| format!("{}/ai/module-builds/{id}", crate::routes::V1))
        .unwrap_or_default();
    answered
        .builder()
        .insert_header((header::LOCATION, location))
        .json(answered.body)
}

/// Build a module from a file.
///
/// For those who may create modules (MANAGE_ALL_MODULES or MANAGE_OWN_MODULES): `asset_id` is a
/// READY media-library PDF, DOCX, video or audio file of at most 25 MiB in your tenant. Answers
/// `202 Accepted` with the build (`Location: /v1/ai/module-builds/{id}`); its `job` reports progress,
/// and once SUCCEEDED `module_id` is a DRAFT module — never published or assigned, whatever the
/// file says — whose sections (and, with a generation model, quiz questions with explanations)
/// each cite the page, paragraph or time of the file they came from. Without a generation model
/// the draft follows the document's headings and paragraphs, without a quiz. Recordings need a
/// transcription model (503 `ai_not_configured`); a model call needs budget (429
/// `ai_budget_exhausted`). 404 `asset_not_found` (another tenant's too), 409 `asset_not_ready`,
/// 422 `validation_failed` (`asset_id`: `unsupported_source` or `too_large`), 409
/// `module_build_limit_reached` (2 builds under way per member, 10 per tenant) or
/// `job_limit_reached`.
#[utoipa::path(
    tag = "ai",
    params(IdempotencyHeader),
    request_body = CreateModuleBuildBody,
    responses(
        (status = 202, body = ModuleBuildDto, description = "Queued: follow the build",
         headers(("Location" = String, description = "The build: `/v1/ai/module-builds/{id}`"))),
        AuthErrors, InputErrors, NotFound, Conflict,
        (status = 429, body = Problem, content_type = "application/problem+json", description = "`ai_budget_exhausted`"),
        (status = 503, body = Problem, content_type = "application/problem+json", description = "`ai_not_configured`"))
)]
#[post("/ai/module-builds")]
pub(crate) async fn create_module_build(
    ctx: Ctx<Permitted>,
    key: Idempotency,
    body: ValidJson<CreateModuleBuildBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let (actor, now) = (&ctx.actor, ctx.now);
    let (_, kind) = ctx
        .write(async |conn| builds::check_start(conn, actor, b.asset_id).await)
        .await?;
    check_models(&ctx, kind).await?;
    let answered = idempotency::once_answered(&ctx, &key, StatusCode::ACCEPTED, async |conn| {
        let (asset, kind) = builds::check_start(conn, actor, b.asset_id).await?;
        let id = Uuid::now_v7();
        let job = crate::jobs::enqueue(conn, actor, ModuleBuildJob { build_id: id }, now).await?;
        let new = NewBuild {
            id,
            job_id: job.id,
            asset_id: asset.id,
            source_kind: kind,
            language: b.language.clone(),
            hints: b.hints.clone(),
        };
        let build = builds::create(conn, actor, &new, now).await?;
        Ok::<_, StartError>(ModuleBuildDto::new(build, Vec::new(), Some(job)))
    })
    .await?;
    Ok(accepted(answered))
}

/// Get a module build.
///
/// Its status, its job's progress, the summary of the text it extracted, the DRAFT module it
/// created and where each section and question came from; the problem once FAILED. Read by the
/// member who started it and MANAGE_ALL_MODULES holders; 404 `module_build_not_found` for anyone
/// else and for another tenant's.
#[utoipa::path(
    tag = "ai",
    params(("build_id" = Uuid, Path, description = "The build")),
    responses((status = 200, body = ModuleBuildDto, description = "The build"), AuthErrors, NotFound)
)]
#[get("/ai/module-builds/{build_id}")]
pub(crate) async fn get_module_build(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let actor = &ctx.actor;
    let (build, citations, job) = ctx
        .write(async |conn| {
            let (build, citations) = builds::find(conn, actor, id).await?;
            let job = match member_jobs::find(&*conn, actor, build.job_id).await {
                Ok(job) => Some(job),
                Err(MemberJobError::NotFound) => None,
                Err(e) => return Err(StartError::from(e)),
            };
            Ok((build, citations, job))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(ModuleBuildDto::new(build, citations, job)))
}

/// Retry a failed module build.
///
/// The member who started it may run a FAILED or CANCELLED build again: the text it extracted
/// before is reused (the file is not read again). Answers `202 Accepted` with the build. 409
/// `invalid_status_transition` for a build that did not fail, 409 `module_build_limit_reached`,
/// 403 for someone else's build they may read, 404 `module_build_not_found`; 429 and 503 as for
/// a new build.
#[utoipa::path(
    tag = "ai",
    params(IdempotencyHeader, ("build_id" = Uuid, Path, description = "The build")),
    responses(
        (status = 202, body = ModuleBuildDto, description = "Queued again: follow the build",
         headers(("Location" = String, description = "The build: `/v1/ai/module-builds/{id}`"))),
        AuthErrors, NotFound, Conflict,
        (status = 429, body = Problem, content_type = "application/problem+json", description = "`ai_budget_exhausted`"),
        (status = 503, body = Problem, content_type = "application/problem+json", description = "`ai_not_configured`"))
)]
#[post("/ai/module-builds/{build_id}/retry")]
pub(crate) async fn retry_module_build(
    ctx: Ctx<Permitted>,
    key: Idempotency,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let (actor, now) = (&ctx.actor, ctx.now);
    let build = ctx
        .write(async |conn| builds::check_retry(conn, actor, id).await)
        .await?;
    if let Some(kind) = build.kind() {
        // A recording whose transcript was kept needs no transcription again.
        let kind = if kind.is_spoken() && build.extracted_chars > 0 {
            SourceKind::Pdf
        } else {
            kind
        };
        check_models(&ctx, kind).await?;
    }
    let answered = idempotency::once_answered(&ctx, &key, StatusCode::ACCEPTED, async |conn| {
        builds::check_retry(conn, actor, id).await?;
        let job = crate::jobs::enqueue(conn, actor, ModuleBuildJob { build_id: id }, now).await?;
        let build = builds::requeue(conn, actor, id, job.id, now).await?;
        Ok::<_, StartError>(ModuleBuildDto::new(build, Vec::new(), Some(job)))
    })
    .await?;
    Ok(accepted(answered))
}
