//! Assignment submissions: `/v1/submissions` (one submission, a download link for its files,
//! grading with the assignment's rubric or a plain score; grades are final and nobody grades
//! their own work). Submitting and listing an assignment's submissions are
//! [`super::assignments`]; the graders' queue is [`super::assignment_reviews`].

use actix_web::http::header;
use actix_web::{HttpResponse, get, post, web};
use chrono::Utc;
use guild_assessment::submissions::{self, GradeInput};
use guild_kernel::AssetId;
use guild_learning::media;
use serde::{Deserialize, Serialize};
use utoipa::{IntoResponses, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::Ctx;
use crate::error::{ApiError, Problem};
use crate::extract::ValidJson;
use crate::routes::assignments::SubmissionDto;
use crate::routes::common::{AuthErrors, InputErrors, NotFound, forbidden_codes};
use crate::routes::media::{DownloadDto, blob_error};
use crate::routes::segment;

/// Registers `/v1/submissions`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/submissions")
            .service(get_submission)
            .service(download_submission_file)
            .service(grade_submission),
    );
}

/// Get a submission.
///
/// Your own submission, with its grade and feedback once graded, or one you grade (a mentor of
/// the module or a MANAGE_QUIZZES holder). Anyone else's is 404 `submission_not_found`.
#[utoipa::path(
    tag = "assignments",
    params(("submission_id" = Uuid, Path, description = "The submission")),
    responses((status = 200, body = SubmissionDto, description = "The submission"), AuthErrors, NotFound)
)]
#[get("/submissions/{submission_id}")]
pub(crate) async fn get_submission(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<SubmissionDto>, ApiError> {
    let id = path.into_inner();
    let found = ctx
        .write(async |conn| submissions::get(conn, &ctx.actor, id).await)
        .await?;
    Ok(web::Json(found.into()))
}

/// Get a download link for a submission's file.
///
/// A signed URL, valid five minutes, for a file of a submission you may see (yours, or one you
/// grade). 404 `submission_not_found` when the submission or the file is not one you may see;
/// 503 `storage_unavailable` when the storage backend fails.
#[utoipa::path(
    tag = "assignments",
    params(("submission_id" = Uuid, Path, description = "The submission"), ("asset_id" = Uuid, Path, description = "One of its files")),
    responses((status = 200, body = DownloadDto, description = "The link"), AuthErrors, NotFound,
        (status = 503, body = Problem, content_type = "application/problem+json", description = "`storage_unavailable`"))
)]
#[get("/submissions/{submission_id}/files/{asset_id}/download")]
pub(crate) async fn download_submission_file(
    ctx: Ctx,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (submission, asset) = path.into_inner();
    let (key, file_name, content_type) = ctx
        .write(async |conn| submissions::file(conn, &ctx.actor, submission, AssetId(asset)).await)
        .await?;
    let url = ctx
        .state
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
    /// A criterion of the assignment's rubric.
    #[schema(min_length = 1, max_length = 64)]
    criterion_id: String,
    /// One of its levels.
    #[schema(min_length = 1, max_length = 64)]
    level_id: String,
}

/// A grade: `rubric_selection` (one level per criterion) when the assignment has a rubric, else
/// `score`; plus optional feedback for the member. The other field, or neither, is 422
/// `validation_failed`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "rubric_selection": [
        { "criterion_id": "facts", "level_id": "precise" },
        { "criterion_id": "prevention", "level_id": "none" }
    ],
    "feedback": "Precise account; think about what would have stopped it."
}))]
pub(crate) struct GradeBody {
    /// 0 to the assignment's `max_score`, rounded to two decimals (assignments without a rubric).
    #[schema(minimum = 0, maximum = 10_000)]
    score: Option<f64>,
    /// One level for every criterion (assignments with a rubric); the score is their sum.
    #[validate(length(max = 20))]
    #[schema(max_items = 20)]
    rubric_selection: Option<Vec<RubricPickDto>>,
    /// For the member, up to 20000 characters.
    #[validate(length(max = 20_000))]
    #[schema(max_length = 20_000)]
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

/// Grade a submission.
///
/// A mentor of the module or a MANAGE_QUIZZES holder grades the current submission, with the
/// assignment's rubric when it has one (a plain `score` is then refused), else with a plain
/// score. Grades are final (409 `submission_already_graded`); a superseded submission is 409
/// `submission_superseded`. Never your own submission (403 `cannot_grade_own_submission`):
/// another grader grades it. A graded required assignment counts toward module completion. 404
/// `submission_not_found`.
#[utoipa::path(
    tag = "assignments",
    params(("submission_id" = Uuid, Path, description = "The submission")),
    request_body = GradeBody,
    responses((status = 200, body = SubmissionDto, description = "Graded"), AuthErrors, InputErrors, NotFound, GradeErrors)
)]
#[post("/submissions/{submission_id}/grade")]
pub(crate) async fn grade_submission(
    ctx: Ctx,
    path: web::Path<Uuid>,
    body: ValidJson<GradeBody>,
) -> Result<web::Json<SubmissionDto>, ApiError> {
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
    let now = ctx.now;
    let graded = ctx
        .write(async |conn| {
            guild_progress::attempts::grade_submission(conn, &ctx.actor, id, &input, now).await
        })
        .await?;
    Ok(web::Json(graded.into()))
}
