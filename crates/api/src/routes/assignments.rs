//! Assignments of modules: `/v1/assignments` (an assignment, the files members upload for it,
//! submitting, an assignment's submissions; a module's list and creating one are registered by
//! the `/modules` scope). A submission and its grading are [`super::submissions`], the graders'
//! queue [`super::assignment_reviews`].
//!
//! Submissions may be replaced until they are graded or the due date passes (late work is
//! accepted, flagged `late`, when the assignment allows it); grades are final.

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use guild_assessment::assignments::{
    self, Assignment, AssignmentFileType, AssignmentInput, Criterion, Level, SubmissionFile,
    SubmissionFormat,
};
use guild_assessment::submissions::{
    self, RubricChoice, Submission, SubmissionInput, SubmissionSort, SubmissionStatus,
};
use guild_kernel::{AssetId, PageRequest};
use guild_learning::media;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, IntoResponses, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::{Ctx, Permitted};
use crate::error::{ApiError, Problem};
use crate::etag::{IfMatch, Tagged};
use crate::extract::ValidJson;
use crate::idempotency::{
    Idempotency, IdempotencyHeader, REPLAYED, RequiredIdempotencyHeader, once, record_body,
};
use crate::routes::common::{AuthErrors, InputErrors, NotFound, PageOf, double_option};
use crate::routes::media::{blob_error, missing_field, multipart_error};
use crate::routes::quizzes::QueryErrors;
use crate::routes::segment;

/// Registers `/v1/assignments`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/assignments")
            .service(get_assignment)
            .service(update_assignment)
            .service(delete_assignment)
            .service(upload_assignment_file)
            .service(submit_assignment)
            .service(list_submissions),
    );
}

/// One level of a rubric criterion.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LevelDto {
    /// Your id for it, unique in the criterion: 1 to 64 characters, no control characters.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]+$",
        example = "good"
    )]
    id: String,
    /// What the level means ("Excellent"): 1 to 200 characters, not only spaces.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S", example = "Good")]
    title: String,
    /// Points it earns, 0 to the assignment's `max_score`.
    #[schema(minimum = 0, maximum = 10_000)]
    points: i32,
}

/// One criterion of a rubric.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CriterionDto {
    /// Your id for it, unique in the rubric: 1 to 64 characters, no control characters.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]+$",
        example = "structure"
    )]
    id: String,
    /// What is judged ("Structure"): 1 to 200 characters, not only spaces.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "\\S",
        example = "Structure"
    )]
    title: String,
    /// 1 to 10 levels with ids unique in the criterion.
    #[schema(min_items = 1, max_items = 10)]
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
    submission_format: SubmissionFormat,
    /// Accepted file types, as extensions (the type is found from the file's bytes).
    #[schema(value_type = Vec<AssignmentFileType>)]
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

pub(crate) fn criteria(rubric: Vec<CriterionDto>) -> Vec<Criterion> {
    rubric.into_iter().map(Criterion::from).collect()
}

/// Changes to an assignment: fields left out are kept (send `null` to clear `section_id`,
/// `due_at` or `rubric`), and the result is checked as a whole by the rules of a new assignment
/// (e.g. a new `max_score` must still match the rubric).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "due_at": "2027-02-28T17:00:00Z", "allow_late": false }))]
pub(crate) struct UpdateAssignmentBody {
    /// 1 to 200 characters, not only spaces (trimmed).
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    title: Option<String>,
    /// HTML, up to 100000 characters; sanitized.
    #[validate(length(max = 100_000))]
    #[schema(max_length = 100_000)]
    brief_html: Option<String>,
    /// A section of the module; `null` for none.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    section_id: Option<Option<Uuid>>,
    /// The due date; `null` for none.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    due_at: Option<Option<DateTime<Utc>>>,
    /// 1 to 10000.
    #[validate(range(min = 1, max = 10_000))]
    #[schema(minimum = 1, maximum = 10_000)]
    max_score: Option<i32>,
    submission_format: Option<SubmissionFormat>,
    /// Up to 20 accepted types.
    #[validate(length(max = 20))]
    #[schema(value_type = Option<Vec<AssignmentFileType>>, max_items = 20)]
    allowed_file_types: Option<Vec<String>>,
    /// 1 to 26214400 (25 MiB).
    #[validate(range(min = 1, max = 26_214_400))]
    #[schema(minimum = 1, maximum = 26_214_400)]
    max_file_bytes: Option<i64>,
    allow_late: Option<bool>,
    required: Option<bool>,
    /// 1 to 20 criteria; `null` removes the rubric.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<Vec<CriterionDto>>, min_items = 1, max_items = 20)]
    #[validate(length(min = 1, max = 20))]
    rubric: Option<Option<Vec<CriterionDto>>>,
}

impl From<UpdateAssignmentBody> for AssignmentInput {
    fn from(b: UpdateAssignmentBody) -> Self {
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
            rubric: b.rubric.map(|r| r.map(criteria)),
        }
    }
}

/// Get an assignment.
///
/// An assignment of a module you can see. `ETag` carries its revision, to send back as
/// `If-Match` when changing it. 404 `assignment_not_found`.
#[utoipa::path(
    tag = "assignments",
    params(("assignment_id" = Uuid, Path, description = "The assignment")),
    responses((status = 200, body = AssignmentDto, description = "The assignment; `ETag` is its revision"), AuthErrors, NotFound)
)]
#[get("/assignments/{assignment_id}")]
pub(crate) async fn get_assignment(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let found = ctx
        .write(async |conn| assignments::get(conn, &ctx.actor, id).await)
        .await?;
    Ok(Tagged(AssignmentDto::from(found)).into())
}

/// Update an assignment.
///
/// For MANAGE_QUIZZES holders and those who may edit the module. Requires `If-Match` with the
/// assignment's `ETag`; fields left out are kept and the result is checked as a whole. Grades
/// already given stay as they are. 404 `assignment_not_found`.
#[utoipa::path(
    tag = "assignments",
    params(("assignment_id" = Uuid, Path, description = "The assignment"), ("If-Match" = String, Header, description = "The `ETag` you read, e.g. `\"3\"`", pattern = "^(W/)?\"[0-9]{1,9}\"$")),
    request_body = UpdateAssignmentBody,
    responses((status = 200, body = AssignmentDto, description = "Updated; `ETag` is its new revision"), AuthErrors, InputErrors, NotFound)
)]
#[patch("/assignments/{assignment_id}")]
pub(crate) async fn update_assignment(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<UpdateAssignmentBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let input = AssignmentInput::from(body.into_inner());
    let updated = ctx
        .write(async |conn| {
            assignments::update(conn, &ctx.actor, id, if_match.0, &input, ctx.now).await
        })
        .await?;
    Ok(Tagged(AssignmentDto::from(updated)).into())
}

/// Delete an assignment.
///
/// Deletes an assignment with its submissions (the uploaded files stay in the media library),
/// for MANAGE_QUIZZES holders and those who may edit the module. Requires `If-Match` with its
/// `ETag`. 404 `assignment_not_found`.
#[utoipa::path(
    tag = "assignments",
    params(("assignment_id" = Uuid, Path, description = "The assignment"), ("If-Match" = String, Header, description = "The `ETag` you read, e.g. `\"3\"`", pattern = "^(W/)?\"[0-9]{1,9}\"$")),
    responses((status = 204, description = "Deleted"), AuthErrors, NotFound)
)]
#[delete("/assignments/{assignment_id}")]
pub(crate) async fn delete_assignment(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    ctx.write(async |conn| assignments::delete(conn, &ctx.actor, id, if_match.0).await)
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
// Any other part is 422 `unknown_field`, as in the JSON bodies.
#[serde(deny_unknown_fields)]
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
    /// A type the assignment does not accept, a text-only assignment, or a reused key.
    #[response(
        status = 422,
        description = "`file_type_not_allowed`, `unsupported_file_type`, `file_type_mismatch`, `validation_failed` (`file` `not_accepted`: the assignment takes text only), `idempotency_key_reused` (the same key with another file)",
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

/// Upload a file for an assignment submission.
///
/// Any member who can see an assignment that takes files uploads one file (multipart/form-data,
/// one `file` part); it is stored and recorded as theirs, for this assignment only: send its
/// `asset_id` in `asset_ids` when submitting. A file never submitted is removed after a day.
/// Takes an optional `Idempotency-Key`: a retry of the same file with it gets the first answer
/// back instead of a second copy. 413 `file_too_large` beyond the assignment's
/// `max_file_bytes`, `upload_quota_exceeded` beyond your quota of assignment files; 422 for a
/// type the assignment does not accept; 404 `assignment_not_found`.
#[utoipa::path(
    tag = "assignments",
    params(("assignment_id" = Uuid, Path, description = "The assignment"), IdempotencyHeader),
    request_body(content = SubmissionFileForm, content_type = "multipart/form-data"),
    responses((status = 201, body = SubmissionFileDto, description = "Stored"), AuthErrors, NotFound, FileErrors, UploadInputErrors)
)]
#[post("/assignments/{assignment_id}/files")]
pub(crate) async fn upload_assignment_file(
    ctx: Ctx,
    path: web::Path<Uuid>,
    key: Idempotency,
    req: HttpRequest,
    mut form: Multipart,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let quota = ctx.state.assignment_file_quota;
    let (assignment, quota_left) = ctx
        .write(async |conn| {
            let assignment = assignments::upload_target(conn, &ctx.actor, id).await?;
            let left = assignments::file_quota_left(conn, &ctx.actor, quota).await?;
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
    // What a retry with the same key must send again: the file's name and bytes.
    let digest = Sha256::new()
        .chain_update(file_name.as_bytes())
        .chain_update([0])
        .chain_update(&bytes)
        .finalize();
    record_body(&req, &digest);
    let file_type = assignments::check_file(&assignment, &file_name, &bytes)?;
    let asset_id = Uuid::now_v7();
    let blob = media::blob_key(&ctx.actor, asset_id);
    let size = bytes.len() as u64;
    ctx.state
        .blobs
        .put(&blob, bytes, file_type.mime)
        .await
        .map_err(blob_error)?;
    let stored = once(&ctx, &key, StatusCode::CREATED, async |conn| {
        assignments::record_file(
            conn,
            &ctx.actor,
            id,
            AssetId(asset_id),
            &file_name,
            size,
            file_type,
            quota,
        )
        .await
        .map(SubmissionFileDto::from)
    })
    .await;
    // A refused upload, or a replay (whose file is the first one), leaves these bytes unused.
    let unused = stored
        .as_ref()
        .map_or(true, |reply| reply.headers().contains_key(REPLAYED));
    if unused && let Err(e) = ctx.state.blobs.delete(&blob).await {
        tracing::warn!(error = %e, key = blob, "could not remove the blob of an unused upload");
    }
    stored
}

/// 400 and 422 of an upload, besides the file's own.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "documentation only")]
pub(crate) enum UploadInputErrors {
    /// Not a multipart form, or a malformed key.
    #[response(
        status = 400,
        description = "`malformed_multipart`, `invalid_idempotency_key`",
        content_type = "application/problem+json"
    )]
    Malformed(Problem),
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
    status: SubmissionStatus,
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
/// FILE, both for BOTH. A missing part, a part the format does not take, or a file that is not
/// yours for this assignment is 422 `validation_failed`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "text_answer": "The pallet jack was left on the ramp; a parking bay by the door would prevent it.",
    "asset_ids": ["0193a1b2-7e55-7c3e-9d6b-52f1e1b8c7a2"]
}))]
pub(crate) struct SubmitAssignmentBody {
    /// 1 to 50000 characters, not only spaces (TEXT and BOTH; leave it out for FILE).
    #[validate(length(max = 50_000))]
    #[schema(min_length = 1, max_length = 50_000, pattern = "\\S")]
    text_answer: Option<String>,
    /// 1 to 10 distinct files from `POST /v1/assignments/{assignment_id}/files` (FILE and BOTH).
    #[serde(default)]
    #[validate(length(max = 10))]
    #[schema(max_items = 10)]
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

/// Submit work to an assignment.
///
/// Any member who can see the assignment submits their work; it replaces their previous
/// submission until that one is graded (409 `assignment_already_graded` after). After the due
/// date the submission is refused with 409 `assignment_closed`, unless the assignment allows
/// late work: then it is accepted with `late: true`. Requires `Idempotency-Key` (400
/// `idempotency_key_required` without it): a repeat with the same key and body returns the first
/// response (with `Idempotent-Replayed: true`) and changes nothing; the same key with another
/// body is 422 `idempotency_key_reused`. 404 `assignment_not_found`.
#[utoipa::path(
    tag = "assignments",
    params(("assignment_id" = Uuid, Path, description = "The assignment"), RequiredIdempotencyHeader),
    request_body = SubmitAssignmentBody,
    responses((status = 201, body = SubmissionDto, description = "Submitted"), AuthErrors, NotFound, SubmitErrors)
)]
#[post("/assignments/{assignment_id}/submissions")]
pub(crate) async fn submit_assignment(
    ctx: Ctx,
    path: web::Path<Uuid>,
    key: Idempotency,
    body: ValidJson<SubmitAssignmentBody>,
) -> Result<HttpResponse, ApiError> {
    key.require()?;
    let id = path.into_inner();
    let body = body.into_inner();
    let input = SubmissionInput {
        text_answer: body.text_answer,
        asset_ids: body.asset_ids,
    };
    let now = ctx.now;
    once(&ctx, &key, StatusCode::CREATED, async |conn| {
        submissions::submit(conn, &ctx.actor, id, &input, now)
            .await
            .map(SubmissionDto::from)
    })
    .await
}

/// Filters of an assignment's submissions.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubmissionQuery {
    /// Graders: only this member's (others may only name themselves).
    user_id: Option<Uuid>,
    /// The order: `submitted_at` (oldest first, the default) or `-submitted_at` (newest first).
    sort: Option<SubmissionSort>,
    /// Page size: 1 to 200, 50 when left out; any other value is 422 `invalid_query`.
    #[param(minimum = 1, maximum = 200, default = 50)]
    #[serde(default, deserialize_with = "crate::routes::common::page_limit")]
    limit: Option<u32>,
    /// The previous page's `next_cursor`.
    cursor: Option<String>,
}

/// List an assignment's submissions.
///
/// Your own submissions to an assignment, or everyone's for its graders (a mentor of the module
/// or a MANAGE_QUIZZES holder), a page at a time in the `sort` order; superseded submissions are
/// included (`superseded: true`). 403 when a member who does not grade names another member's
/// `user_id`; 404 `assignment_not_found`.
#[utoipa::path(
    tag = "assignments",
    params(("assignment_id" = Uuid, Path, description = "The assignment"), SubmissionQuery),
    responses((status = 200, body = PageOf<SubmissionDto>, description = "A page of submissions"), AuthErrors, QueryErrors, NotFound)
)]
#[get("/assignments/{assignment_id}/submissions")]
pub(crate) async fn list_submissions(
    ctx: Ctx,
    path: web::Path<Uuid>,
    query: web::Query<SubmissionQuery>,
) -> Result<web::Json<PageOf<SubmissionDto>>, ApiError> {
    let id = path.into_inner();
    let q = query.into_inner();
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    let page = ctx
        .write(async |conn| {
            submissions::list(
                conn,
                &ctx.actor,
                id,
                q.user_id,
                q.sort.unwrap_or(SubmissionSort::SubmittedAt),
                &page,
            )
            .await
        })
        .await?;
    Ok(web::Json(PageOf::map(page, SubmissionDto::from)))
}

impl crate::etag::Revised for AssignmentDto {
    fn revision(&self) -> i32 {
        self.revision
    }
}
