//! Assignments of modules, the files members upload for them, submissions, grading with a
//! rubric or a plain score, and the graders' queue.
//!
//! Submissions may be replaced until they are graded or the due date passes (late work is
//! accepted, flagged `late`, when the assignment allows it); grades are final.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use guild_assessment::assignments::{
    self, Assignment, AssignmentInput, Criterion, Level, SubmissionFile,
};
use guild_assessment::submissions::{
    self, GradeInput, ReviewItem, RubricChoice, Submission, SubmissionInput,
};
use guild_kernel::PageRequest;
use guild_learning::media;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, IntoResponses, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::auth::{Auth, Authorized};
use crate::error::{ApiError, Problem};
use crate::etag::{IfMatch, with_etag};
use crate::extract::ValidJson;
use crate::idempotency::{IdempotencyKey, REPLAYED};
use crate::routes::common::double_option;
use crate::routes::common::{
    AuthErrors, InputErrors, NotFound, PageOf, forbidden_codes, in_tenant,
};
use crate::routes::media::{DownloadDto, blob_error, missing_field, multipart_error};
use crate::routes::modules::PreconditionErrors;
use crate::state::AppState;

/// One level of a rubric criterion.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LevelDto {
    /// Your id for it, unique in the criterion, 1 to 64 characters.
    id: String,
    /// What the level means ("Excellent").
    title: String,
    /// Points it earns, 0 to the assignment's `max_score`.
    points: i32,
}

/// One criterion of a rubric.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CriterionDto {
    /// Your id for it, unique in the rubric, 1 to 64 characters.
    id: String,
    /// What is judged ("Structure").
    title: String,
    /// 1 to 10 levels.
    levels: Vec<LevelDto>,
}

impl From<Criterion> for CriterionDto {
    fn from(c: Criterion) -> Self {
        Self {
            id: c.id,
            title: c.title,
            levels: c
                .levels
                .into_iter()
                .map(|l| LevelDto {
                    id: l.id,
                    title: l.title,
                    points: l.points,
                })
                .collect(),
        }
    }
}

impl From<CriterionDto> for Criterion {
    fn from(c: CriterionDto) -> Self {
        Self {
            id: c.id,
            title: c.title,
            levels: c
                .levels
                .into_iter()
                .map(|l| Level {
                    id: l.id,
                    title: l.title,
                    points: l.points,
                })
                .collect(),
        }
    }
}

/// An assignment. The `ETag` header carries `revision`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AssignmentDto {
    id: Uuid,
    module_id: Uuid,
    /// The section of the module it belongs to, if any.
    section_id: Option<Uuid>,
    title: String,
    /// Sanitized HTML.
    brief_html: String,
    /// Submissions after this are late: refused, or flagged `late` when `allow_late`.
    due_at: Option<DateTime<Utc>>,
    max_score: i32,
    /// TEXT, FILE or BOTH.
    submission_format: String,
    /// Accepted file types, as extensions (the type is found from the file's bytes).
    allowed_file_types: Vec<String>,
    /// The largest file accepted, in bytes.
    max_file_bytes: i64,
    allow_late: bool,
    /// A graded submission is needed to complete the module.
    required: bool,
    /// Graders choose one level per criterion; the score is the sum of their points.
    rubric: Option<Vec<CriterionDto>>,
    created_by: Uuid,
    /// Bumped by every change; send it back as `If-Match`.
    revision: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Assignment> for AssignmentDto {
    fn from(a: Assignment) -> Self {
        Self {
            id: a.id,
            module_id: a.module_id,
            section_id: a.section_id,
            title: a.title,
            brief_html: a.brief_html,
            due_at: a.due_at,
            max_score: a.max_score,
            submission_format: a.submission_format,
            allowed_file_types: a.allowed_file_types,
            max_file_bytes: a.max_file_bytes,
            allow_late: a.allow_late,
            required: a.required,
            rubric: a
                .rubric
                .map(|r| r.into_iter().map(CriterionDto::from).collect()),
            created_by: a.created_by,
            revision: a.revision,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

fn assignment_reply(status: actix_web::HttpResponseBuilder, a: Assignment) -> HttpResponse {
    let revision = a.revision;
    with_etag(status, revision, &AssignmentDto::from(a))
}

/// An assignment's fields. On create `title` and `max_score` are required; on update fields
/// left out are kept (send `null` to clear `section_id`, `due_at` or `rubric`) and the result is
/// checked as a whole.
///
/// A rubric has 1 to 20 criteria of 1 to 10 levels; each level's points are 0 to `max_score`,
/// and the best levels of all criteria must add up to exactly `max_score`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AssignmentBody {
    #[validate(length(min = 1, max = 200))]
    title: Option<String>,
    /// HTML; sanitized (scripts, handlers and unknown tags removed).
    #[validate(length(max = 100_000))]
    brief_html: Option<String>,
    /// A section of the module.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    section_id: Option<Option<Uuid>>,
    /// The due date.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    due_at: Option<Option<DateTime<Utc>>>,
    /// 1 to 10000.
    #[validate(range(min = 1, max = 10_000))]
    max_score: Option<i32>,
    /// TEXT (default), FILE or BOTH.
    submission_format: Option<String>,
    /// Extensions of accepted types: pdf, docx, doc, png, jpg, jpeg, gif, webp, mp4, m4v, mov,
    /// webm (default: pdf, docx, doc, png, jpg, jpeg).
    #[validate(length(max = 20))]
    allowed_file_types: Option<Vec<String>>,
    /// 1 to 26214400 (25 MiB); default 10 MiB.
    max_file_bytes: Option<i64>,
    /// Accept submissions after `due_at`, flagged `late` (default false).
    allow_late: Option<bool>,
    /// Counts toward module completion once graded (default false).
    required: Option<bool>,
    /// The rubric; `null` removes it.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<Vec<CriterionDto>>)]
    rubric: Option<Option<Vec<CriterionDto>>>,
}

impl From<AssignmentBody> for AssignmentInput {
    fn from(b: AssignmentBody) -> Self {
        Self {
            title: b.title,
            brief_html: b.brief_html,
            section_id: b.section_id,
            due_at: b.due_at,
            max_score: b.max_score,
            submission_format: b.submission_format,
            allowed_file_types: b.allowed_file_types,
            max_file_bytes: b.max_file_bytes,
            allow_late: b.allow_late,
            required: b.required,
            rubric: b
                .rubric
                .map(|r| r.map(|cs| cs.into_iter().map(Criterion::from).collect())),
        }
    }
}

/// List a module's assignments, oldest first.
#[utoipa::path(
    tag = "assignments",
    params(("module_id" = Uuid, Path, description = "The module")),
    responses((status = 200, body = Vec<AssignmentDto>, description = "The assignments"), AuthErrors, NotFound)
)]
#[get("/{module_id}/assignments")]
pub(crate) async fn list_assignments(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<Uuid>,
) -> Result<web::Json<Vec<AssignmentDto>>, ApiError> {
    let actor = auth.0;
    let module = path.into_inner();
    let list = in_tenant(&state, &actor, async |conn| {
        assignments::list(conn, &actor, module).await
    })
    .await?;
    Ok(web::Json(
        list.into_iter().map(AssignmentDto::from).collect(),
    ))
}

/// Create an assignment in a module (MANAGE_QUIZZES, or the right to edit the module).
#[utoipa::path(
    tag = "assignments",
    params(("module_id" = Uuid, Path, description = "The module")),
    request_body = AssignmentBody,
    responses((status = 201, body = AssignmentDto, description = "Created; `ETag` is its revision"), AuthErrors, InputErrors, NotFound)
)]
#[post("/{module_id}/assignments")]
pub(crate) async fn create_assignment(
    state: web::Data<AppState>,
    auth: Authorized,
    path: web::Path<Uuid>,
    body: ValidJson<AssignmentBody>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let module = path.into_inner();
    let input = AssignmentInput::from(body.into_inner());
    let created = in_tenant(&state, &actor, async |conn| {
        assignments::create(conn, &actor, module, &input).await
    })
    .await?;
    Ok(assignment_reply(HttpResponse::Created(), created))
}

/// Get an assignment.
#[utoipa::path(
    tag = "assignments",
    params(("assignment_id" = Uuid, Path, description = "The assignment")),
    responses((status = 200, body = AssignmentDto, description = "The assignment; `ETag` is its revision"), AuthErrors, NotFound)
)]
#[get("/{assignment_id}")]
pub(crate) async fn get_assignment(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let id = path.into_inner();
    let found = in_tenant(&state, &actor, async |conn| {
        assignments::get(conn, &actor, id).await
    })
    .await?;
    Ok(assignment_reply(HttpResponse::Ok(), found))
}

/// Change an assignment; requires `If-Match` with its `ETag`.
#[utoipa::path(
    tag = "assignments",
    params(("assignment_id" = Uuid, Path, description = "The assignment"), ("If-Match" = String, Header, description = "The ETag you read")),
    request_body = AssignmentBody,
    responses((status = 200, body = AssignmentDto, description = "Updated"), AuthErrors, InputErrors, NotFound, PreconditionErrors)
)]
#[patch("/{assignment_id}")]
pub(crate) async fn update_assignment(
    state: web::Data<AppState>,
    auth: Authorized,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<AssignmentBody>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let id = path.into_inner();
    let input = AssignmentInput::from(body.into_inner());
    let updated = in_tenant(&state, &actor, async |conn| {
        assignments::update(conn, &actor, id, if_match.0, &input).await
    })
    .await?;
    Ok(assignment_reply(HttpResponse::Ok(), updated))
}

/// Delete an assignment with its submissions; requires `If-Match`.
#[utoipa::path(
    tag = "assignments",
    params(("assignment_id" = Uuid, Path, description = "The assignment"), ("If-Match" = String, Header, description = "The ETag you read")),
    responses((status = 204, description = "Deleted"), AuthErrors, NotFound, PreconditionErrors)
)]
#[delete("/{assignment_id}")]
pub(crate) async fn delete_assignment(
    state: web::Data<AppState>,
    auth: Authorized,
    path: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let id = path.into_inner();
    in_tenant(&state, &actor, async |conn| {
        assignments::delete(conn, &actor, id, if_match.0).await
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A file of a submission.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SubmissionFileDto {
    /// Put it in `asset_ids` when submitting.
    asset_id: Uuid,
    file_name: String,
    /// Found in the file's bytes.
    content_type: String,
    size_bytes: i64,
}

impl From<SubmissionFile> for SubmissionFileDto {
    fn from(f: SubmissionFile) -> Self {
        Self {
            asset_id: f.asset_id,
            file_name: f.file_name,
            content_type: f.content_type,
            size_bytes: f.size_bytes,
        }
    }
}

/// The multipart form of a submission file.
#[derive(Debug, ToSchema)]
#[expect(dead_code, reason = "documentation only")]
pub(crate) struct SubmissionFileForm {
    /// The file, with its name in the part's `filename`. Its type is found from its bytes and
    /// must be one of the assignment's `allowed_file_types`; its size at most `max_file_bytes`.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// 413, 422 and 503 of submission files.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "documentation only")]
pub(crate) enum FileErrors {
    /// Larger than the assignment allows, or than the member's upload quota has left.
    #[response(
        status = 413,
        description = "`file_too_large`, `upload_quota_exceeded`",
        content_type = "application/problem+json"
    )]
    TooLarge(Problem),
    /// A type the assignment does not accept, or a text-only assignment.
    #[response(
        status = 422,
        description = "`file_type_not_allowed`, `unsupported_file_type`, `file_type_mismatch`, `validation_failed` (`file` `not_accepted`: the assignment takes text only)",
        content_type = "application/problem+json"
    )]
    Invalid(Problem),
    /// The storage backend failed; retry later.
    #[response(
        status = 503,
        description = "`storage_unavailable`",
        content_type = "application/problem+json"
    )]
    Unavailable(Problem),
}

/// Upload a file for your submission to an assignment (multipart/form-data, one `file` part).
///
/// The file is stored and recorded as yours, for this assignment only; send its `asset_id` in
/// `asset_ids` when you submit.
#[utoipa::path(
    tag = "assignments",
    params(("assignment_id" = Uuid, Path, description = "The assignment")),
    request_body(content = SubmissionFileForm, content_type = "multipart/form-data"),
    responses((status = 201, body = SubmissionFileDto, description = "Stored"), AuthErrors, NotFound, FileErrors,
        (status = 400, body = Problem, content_type = "application/problem+json", description = "`malformed_multipart`"))
)]
#[post("/{assignment_id}/files")]
pub(crate) async fn upload_assignment_file(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<Uuid>,
    mut form: Multipart,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let id = path.into_inner();
    let quota = state.assignment_file_quota;
    let (assignment, quota_left) = in_tenant(&state, &actor, async |conn| {
        let assignment = assignments::upload_target(conn, &actor, id).await?;
        let left = assignments::file_quota_left(conn, &actor, quota).await?;
        Ok::<_, guild_assessment::AssessmentError>((assignment, left))
    })
    .await?;
    let limit = u64::try_from(assignment.max_file_bytes).unwrap_or(0);
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Some(mut field) = form.try_next().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name != "file" {
            return Err(ApiError::validation(vec![
                guild_kernel::FieldError::new(&name, "unknown_field", "unknown form field").into(),
            ]));
        }
        let file_name = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_owned)
            .ok_or_else(|| missing_field("file", "the file part needs a filename"))?;
        let mut bytes = Vec::new();
        while let Some(chunk) = field.try_next().await.map_err(multipart_error)? {
            let size = (bytes.len() + chunk.len()) as u64;
            if size > limit {
                return Err(guild_assessment::AssessmentError::FileTooLarge { max: limit }.into());
            }
            if size > quota_left {
                return Err(guild_assessment::AssessmentError::UploadQuotaExceeded {
                    quota,
                    used: quota - quota_left,
                }
                .into());
            }
            bytes.extend_from_slice(&chunk);
        }
        file = Some((file_name, bytes));
    }
    let (file_name, bytes) = file.ok_or_else(|| missing_field("file", "a file is required"))?;
    let file_type = assignments::check_file(&assignment, &file_name, &bytes)?;
    let asset_id = Uuid::now_v7();
    let key = media::blob_key(&actor, asset_id);
    let size = bytes.len() as u64;
    state
        .blobs
        .put(&key, bytes, file_type.mime)
        .await
        .map_err(blob_error)?;
    let stored = in_tenant(&state, &actor, async |conn| {
        assignments::record_file(
            conn, &actor, id, asset_id, &file_name, size, file_type, quota,
        )
        .await
    })
    .await;
    if stored.is_err()
        && let Err(e) = state.blobs.delete(&key).await
    {
        tracing::warn!(error = %e, key, "could not remove the blob of a refused upload");
    }
    Ok(HttpResponse::Created().json(SubmissionFileDto::from(stored?)))
}

/// The level chosen for one criterion.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RubricChoiceDto {
    criterion_id: String,
    level_id: String,
    /// The level's points.
    points: i32,
}

impl From<RubricChoice> for RubricChoiceDto {
    fn from(c: RubricChoice) -> Self {
        Self {
            criterion_id: c.criterion_id,
            level_id: c.level_id,
            points: c.points,
        }
    }
}

/// A submission, with its grade and feedback once graded.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SubmissionDto {
    id: Uuid,
    assignment_id: Uuid,
    module_id: Uuid,
    user_id: Uuid,
    /// 1 for the member's first submission to the assignment.
    number: i32,
    text_answer: Option<String>,
    files: Vec<SubmissionFileDto>,
    submitted_at: DateTime<Utc>,
    /// Submitted after the due date (the assignment allows late work).
    late: bool,
    /// SUBMITTED or GRADED.
    status: String,
    /// Replaced by a later submission (never graded).
    superseded: bool,
    /// The grade, 0 to `max_score`; `null` until graded.
    score: Option<f64>,
    max_score: i32,
    /// The levels chosen, when graded with the rubric.
    rubric_selection: Option<Vec<RubricChoiceDto>>,
    /// The grader's feedback.
    feedback: Option<String>,
    graded_by: Option<Uuid>,
    graded_at: Option<DateTime<Utc>>,
}

impl From<Submission> for SubmissionDto {
    fn from(s: Submission) -> Self {
        Self {
            id: s.id,
            assignment_id: s.assignment_id,
            module_id: s.module_id,
            user_id: s.user_id,
            number: s.number,
            text_answer: s.text_answer,
            files: s.files.into_iter().map(SubmissionFileDto::from).collect(),
            submitted_at: s.submitted_at,
            late: s.late,
            status: s.status,
            superseded: s.superseded,
            score: s.score,
            max_score: s.max_score,
            rubric_selection: s
                .rubric_selection
                .map(|r| r.into_iter().map(RubricChoiceDto::from).collect()),
            feedback: s.feedback,
            graded_by: s.graded_by,
            graded_at: s.graded_at,
        }
    }
}

/// Your work: `text_answer` for TEXT, `asset_ids` (files you uploaded for this assignment) for
/// FILE, both for BOTH.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubmitAssignmentBody {
    #[validate(length(max = 50_000))]
    text_answer: Option<String>,
    /// 1 to 10 files from `POST /v1/assignments/{assignment_id}/files`.
    #[serde(default)]
    #[validate(length(max = 10))]
    asset_ids: Vec<Uuid>,
}

/// 400, 409 and 422 of a submission.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "documentation only")]
pub(crate) enum SubmitErrors {
    /// Bad body or header.
    #[response(
        status = 400,
        description = "`malformed_json`, `idempotency_key_required`, `invalid_idempotency_key`",
        content_type = "application/problem+json"
    )]
    BadRequest(Problem),
    /// The assignment takes no more submissions from you.
    #[response(
        status = 409,
        description = "`assignment_closed` (due date passed, late work not allowed), `assignment_already_graded` (your submission was graded)",
        content_type = "application/problem+json"
    )]
    Closed(Problem),
    /// Invalid work, or a reused key.
    #[response(
        status = 422,
        description = "`validation_failed` (missing text or files, files not yours), `idempotency_key_reused` (same key, different body)",
        content_type = "application/problem+json"
    )]
    Invalid(Problem),
}

/// Submit your work to an assignment; requires `Idempotency-Key`.
///
/// Replaces your previous submission until it is graded. After the due date the submission is
/// refused with 409 `assignment_closed`, unless the assignment allows late work: then it is
/// accepted with `late: true`. A repeat with the same `Idempotency-Key` and body returns the
/// same response (with `Idempotent-Replayed: true`) and changes nothing.
#[utoipa::path(
    tag = "assignments",
    params(("assignment_id" = Uuid, Path, description = "The assignment"),
        ("Idempotency-Key" = String, Header, description = "A key you make (e.g. a UUID), reused only to retry this same request")),
    request_body = SubmitAssignmentBody,
    responses((status = 201, body = SubmissionDto, description = "Submitted"), AuthErrors, NotFound, SubmitErrors)
)]
#[post("/{assignment_id}/submissions")]
pub(crate) async fn submit_assignment(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<Uuid>,
    key: IdempotencyKey,
    body: ValidJson<SubmitAssignmentBody>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let id = path.into_inner();
    let body = body.into_inner();
    let input = SubmissionInput {
        text_answer: body.text_answer,
        asset_ids: body.asset_ids,
    };
    let now = state.clock.now();
    let outcome = in_tenant(&state, &actor, async |conn| {
        submissions::submit(conn, &actor, id, &input, &key.0, now).await
    })
    .await?;
    let mut reply = HttpResponse::Created();
    if outcome.replayed {
        reply.insert_header((REPLAYED, "true"));
    }
    Ok(reply.json(SubmissionDto::from(*outcome.submission)))
}

/// Filters of an assignment's submissions.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubmissionQuery {
    /// Graders: only this member's (others may only name themselves).
    user_id: Option<Uuid>,
    /// Page size, 1 to 200.
    limit: Option<u32>,
    /// The previous page's `next_cursor`.
    cursor: Option<String>,
}

/// List submissions to an assignment, oldest first: yours, or everyone's for its graders.
///
/// Superseded submissions are included (`superseded: true`).
#[utoipa::path(
    tag = "assignments",
    params(("assignment_id" = Uuid, Path, description = "The assignment"), SubmissionQuery),
    responses((status = 200, body = PageOf<SubmissionDto>, description = "A page of submissions"), AuthErrors, InputErrors, NotFound)
)]
#[get("/{assignment_id}/submissions")]
pub(crate) async fn list_submissions(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<Uuid>,
    query: web::Query<SubmissionQuery>,
) -> Result<web::Json<PageOf<SubmissionDto>>, ApiError> {
    let actor = auth.0;
    let id = path.into_inner();
    let q = query.into_inner();
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    let page = in_tenant(&state, &actor, async |conn| {
        submissions::list(conn, &actor, id, q.user_id, &page).await
    })
    .await?;
    Ok(web::Json(PageOf::map(page, SubmissionDto::from)))
}

/// Get a submission: yours (with its grade and feedback), or one you grade.
#[utoipa::path(
    tag = "assignments",
    params(("submission_id" = Uuid, Path, description = "The submission")),
    responses((status = 200, body = SubmissionDto, description = "The submission"), AuthErrors, NotFound)
)]
#[get("/{submission_id}")]
pub(crate) async fn get_submission(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<Uuid>,
) -> Result<web::Json<SubmissionDto>, ApiError> {
    let actor = auth.0;
    let id = path.into_inner();
    let found = in_tenant(&state, &actor, async |conn| {
        submissions::get(conn, &actor, id).await
    })
    .await?;
    Ok(web::Json(found.into()))
}

/// A signed download URL (five minutes) for a file of a submission you may see.
#[utoipa::path(
    tag = "assignments",
    params(("submission_id" = Uuid, Path, description = "The submission"), ("asset_id" = Uuid, Path, description = "One of its files")),
    responses((status = 200, body = DownloadDto, description = "The link"), AuthErrors, NotFound,
        (status = 503, body = Problem, content_type = "application/problem+json", description = "`storage_unavailable`"))
)]
#[get("/{submission_id}/files/{asset_id}/download")]
pub(crate) async fn download_submission_file(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let (submission, asset) = path.into_inner();
    let (key, file_name, content_type) = in_tenant(&state, &actor, async |conn| {
        submissions::file(conn, &actor, submission, asset).await
    })
    .await?;
    let url = state
        .blobs
        .signed_get_url(&key, media::DOWNLOAD_URL_TTL)
        .await
        .map_err(blob_error)?;
    let ttl = chrono::Duration::from_std(media::DOWNLOAD_URL_TTL).unwrap_or_default();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(DownloadDto {
            url,
            expires_at: Utc::now() + ttl,
            file_name,
            content_type,
        }))
}

/// A level chosen for a criterion.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RubricPickDto {
    criterion_id: String,
    level_id: String,
}

/// A grade: `rubric_selection` (one level per criterion) when the assignment has a rubric, else
/// `score`; plus optional feedback for the member.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GradeBody {
    /// 0 to `max_score` (assignments without a rubric).
    score: Option<f64>,
    /// One level for every criterion (assignments with a rubric); the score is their sum.
    #[validate(length(max = 20))]
    rubric_selection: Option<Vec<RubricPickDto>>,
    #[validate(length(max = 20_000))]
    feedback: Option<String>,
}

/// 403 and 409 of grading.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "documentation only")]
pub(crate) enum GradeErrors {
    /// Not allowed.
    #[response(
        status = 403,
        description = concat!(
            "Not allowed: ",
            forbidden_codes!(),
            "; `cannot_grade_own_submission` (nobody grades their own work, whatever their role)"
        ),
        content_type = "application/problem+json"
    )]
    Forbidden(Problem),
    /// Not gradable.
    #[response(
        status = 409,
        description = "`submission_already_graded` (grades are final), `submission_superseded` (grade the latest)",
        content_type = "application/problem+json"
    )]
    Conflict(Problem),
}

/// Grade a submission (a mentor of the module, or MANAGE_QUIZZES). Grades are final.
///
/// Never your own submission (403 `cannot_grade_own_submission`): another grader grades it.
///
/// With the assignment's rubric when it has one (a plain `score` is then refused), else with a
/// plain score. A graded required assignment counts toward module completion.
#[utoipa::path(
    tag = "assignments",
    params(("submission_id" = Uuid, Path, description = "The submission")),
    request_body = GradeBody,
    responses((status = 200, body = SubmissionDto, description = "Graded"), AuthErrors, InputErrors, NotFound, GradeErrors)
)]
#[post("/{submission_id}/grade")]
pub(crate) async fn grade_submission(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<Uuid>,
    body: ValidJson<GradeBody>,
) -> Result<web::Json<SubmissionDto>, ApiError> {
    let actor = auth.0;
    let id = path.into_inner();
    let body = body.into_inner();
    let input = GradeInput {
        score: body.score,
        rubric_selection: body.rubric_selection.map(|picks| {
            picks
                .into_iter()
                .map(|p| (p.criterion_id, p.level_id))
                .collect()
        }),
        feedback: body.feedback,
    };
    let now = state.clock.now();
    let graded = in_tenant(&state, &actor, async |conn| {
        submissions::grade(conn, &actor, id, &input, now).await
    })
    .await?;
    Ok(web::Json(graded.into()))
}

/// A submission waiting for a grade.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AssignmentReviewDto {
    submission: SubmissionDto,
    assignment_title: String,
}

impl From<ReviewItem> for AssignmentReviewDto {
    fn from(r: ReviewItem) -> Self {
        Self {
            submission: r.submission.into(),
            assignment_title: r.assignment_title,
        }
    }
}

/// Filters of the graders' queue.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct AssignmentReviewQuery {
    /// Only submissions to this module's assignments.
    module_id: Option<Uuid>,
    /// Only submissions to this assignment.
    assignment_id: Option<Uuid>,
    /// Page size, 1 to 200.
    limit: Option<u32>,
    /// The previous page's `next_cursor`.
    cursor: Option<String>,
}

/// The submissions waiting for you to grade them, oldest first.
///
/// MANAGE_QUIZZES holders see the whole tenant's; mentors see their modules'. Your own
/// submissions are never in it.
#[utoipa::path(
    tag = "assignments",
    params(AssignmentReviewQuery),
    responses((status = 200, body = PageOf<AssignmentReviewDto>, description = "A page of submissions"), AuthErrors, InputErrors)
)]
#[get("")]
pub(crate) async fn list_assignment_reviews(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<AssignmentReviewQuery>,
) -> Result<web::Json<PageOf<AssignmentReviewDto>>, ApiError> {
    let actor = auth.0;
    let q = query.into_inner();
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    let page = in_tenant(&state, &actor, async |conn| {
        submissions::review_queue(conn, &actor, q.module_id, q.assignment_id, &page).await
    })
    .await?;
    Ok(web::Json(PageOf::map(page, AssignmentReviewDto::from)))
}
