//! Quiz attempts: `/v1/attempts` (an attempt, submitting its answers once, scored at once or
//! waiting for a grader while essays are ungraded, grading essays; nobody grades their own).
//! Starting an attempt and a taker's list are under `/quizzes` ([`super::quizzes`]); the
//! graders' queue is [`super::quiz_reviews`].

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use guild_assessment::attempts::{self, EssayGrade};
use guild_assessment::scoring::Answer;
use guild_kernel::AttemptId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoResponses, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::Ctx;
use crate::error::{ApiError, Problem};
use crate::extract::ValidJson;
use crate::idempotency::{Idempotency, RequiredIdempotencyHeader, once};
use crate::routes::common::{AuthErrors, Conflict, InputErrors, NotFound, forbidden_codes};
use crate::routes::quizzes::{AnswerDto, AttemptDto};
use crate::routes::segment;

/// Registers `/v1/attempts`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/attempts")
            .service(get_attempt)
            .service(submit_attempt)
            .service(grade_attempt),
    );
}

/// Get an attempt.
///
/// Your own attempt, with results and right answers as the quiz's `show_answers` allows; or an
/// attempt you grade (a mentor of the module or a MANAGE_QUIZZES holder), with every result.
/// Anyone else's is 404 `attempt_not_found`.
#[utoipa::path(
    tag = "quizzes",
    params(("attempt_id" = Uuid, Path, description = "The attempt")),
    responses((status = 200, body = AttemptDto, description = "The attempt"), AuthErrors, NotFound)
)]
#[get("/attempts/{attempt_id}")]
pub(crate) async fn get_attempt(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<AttemptDto>, ApiError> {
    let id = path.into_inner();
    let view = ctx
        .write(async |conn| attempts::get(conn, &ctx.actor, AttemptId(id)).await)
        .await?;
    Ok(web::Json(view.into()))
}

/// Your answers. Questions left out earn no points.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "answers": [
    { "question_id": "0193a1b2-7e55-7c3e-9d6b-52f1e1b8c7a0", "option_ids": ["b"] },
    { "question_id": "0193a1b2-7e55-7c3e-9d6b-52f1e1b8c7a1", "text": "Hard hat" }
] }))]
pub(crate) struct SubmitAttemptBody {
    /// At most one per question of the attempt.
    #[validate(length(max = 500))]
    #[schema(max_items = 500)]
    answers: Vec<AnswerDto>,
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
    /// The attempt cannot take answers.
    #[response(
        status = 409,
        description = "`attempt_timed_out` (deadline + 30 s passed; the attempt is now TIMED_OUT), `attempt_not_in_progress`",
        content_type = "application/problem+json"
    )]
    Closed(Problem),
    /// Invalid answers, or a reused key.
    #[response(
        status = 422,
        description = "`validation_failed`, `idempotency_key_reused` (same key, different body)",
        content_type = "application/problem+json"
    )]
    Invalid(Problem),
}

/// Submit an attempt's answers.
///
/// The taker submits their answers once; they are scored at once: GRADED with the final score,
/// or PENDING_REVIEW (`passed` null) while essays wait for a grader. Requires `Idempotency-Key`
/// (400 `idempotency_key_required` without it): a repeat with the same key and body returns the
/// first response (with `Idempotent-Replayed: true`) and changes nothing; the same key with
/// another body is 422 `idempotency_key_reused`. After the deadline plus a 30-second grace
/// period the submission is refused with 409 `attempt_timed_out`, and the attempt counts as a
/// failed attempt (TIMED_OUT); a submitted attempt is 409 `attempt_not_in_progress`. 404
/// `attempt_not_found` for anyone else's attempt.
#[utoipa::path(
    tag = "quizzes",
    params(("attempt_id" = Uuid, Path, description = "The attempt"), RequiredIdempotencyHeader),
    request_body = SubmitAttemptBody,
    responses((status = 200, body = AttemptDto, description = "Scored"), AuthErrors, NotFound, SubmitErrors)
)]
#[post("/attempts/{attempt_id}/submit")]
pub(crate) async fn submit_attempt(
    ctx: Ctx,
    path: web::Path<Uuid>,
    key: Idempotency,
    body: ValidJson<SubmitAttemptBody>,
) -> Result<HttpResponse, ApiError> {
    key.require()?;
    let id = path.into_inner();
    let answers: Vec<Answer> = body
        .into_inner()
        .answers
        .into_iter()
        .map(Answer::from)
        .collect();
    let now = ctx.now;
    // Kept even though the submission is then refused: the attempt counts as failed.
    ctx.write(async |conn| attempts::close_if_expired(conn, &ctx.actor, AttemptId(id), now).await)
        .await?;
    once(&ctx, &key, StatusCode::OK, async |conn| {
        guild_progress::attempts::submit(conn, &ctx.actor, AttemptId(id), &answers, now)
            .await
            .map(AttemptDto::from)
    })
    .await
}

/// One essay's grade.
#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GradeDto {
    /// An ESSAY question of the attempt.
    question_id: Uuid,
    /// 0 to the question's points (rounded to two decimals).
    #[schema(minimum = 0, maximum = 1000)]
    points: f64,
    /// For the taker, up to 5000 characters.
    #[validate(length(max = 5000))]
    #[schema(max_length = 5000)]
    feedback: Option<String>,
}

/// Grades for some or all essays of an attempt.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "grades": [
    { "question_id": "0193a1b2-7e55-7c3e-9d6b-52f1e1b8c7a1", "points": 4, "feedback": "Clear and complete." }
] }))]
pub(crate) struct GradesBody {
    /// 1 to 500 grades, each of an essay of the attempt.
    #[validate(length(min = 1, max = 500), nested)]
    #[schema(min_items = 1, max_items = 500)]
    grades: Vec<GradeDto>,
}

/// 403 of grading essays.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "documentation only")]
pub(crate) enum GradeAttemptErrors {
    /// Not allowed.
    #[response(
        status = 403,
        description = concat!(
            "Not allowed: ",
            forbidden_codes!(),
            "; `cannot_grade_own_attempt` (nobody grades their own work, whatever their role)"
        ),
        content_type = "application/problem+json"
    )]
    Forbidden(Problem),
}

/// Grade an attempt's essays.
///
/// A mentor of the module or a MANAGE_QUIZZES holder grades some or all essays of an attempt
/// waiting for review. When every essay has a grade the score is final: the attempt becomes
/// GRADED with `passed`. 409 `attempt_not_pending_review` when it is not waiting for review;
/// 422 `validation_failed` for a question that is not an essay of the attempt or points out of
/// range. Never your own attempt (403 `cannot_grade_own_attempt`): another grader grades it.
/// 404 `attempt_not_found`.
#[utoipa::path(
    tag = "quizzes",
    params(("attempt_id" = Uuid, Path, description = "The attempt")),
    request_body = GradesBody,
    responses((status = 200, body = AttemptDto, description = "Graded; the attempt with every result"), AuthErrors, InputErrors, NotFound, Conflict, GradeAttemptErrors)
)]
#[post("/attempts/{attempt_id}/grades")]
pub(crate) async fn grade_attempt(
    ctx: Ctx,
    path: web::Path<Uuid>,
    body: ValidJson<GradesBody>,
) -> Result<web::Json<AttemptDto>, ApiError> {
    let id = path.into_inner();
    let grades: Vec<EssayGrade> = body
        .into_inner()
        .grades
        .into_iter()
        .map(|g| EssayGrade {
            question_id: g.question_id,
            points: g.points,
            feedback: g.feedback,
        })
        .collect();
    let now = ctx.now;
    let view = ctx
        .write(async |conn| {
            guild_progress::attempts::grade(conn, &ctx.actor, AttemptId(id), &grades, now).await
        })
        .await?;
    Ok(web::Json(view.into()))
}
