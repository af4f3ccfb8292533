//! Quizzes of modules, their questions, attempts, grading and the graders' queue.
//!
//! Authors see questions with their answer keys; takers never do: questions reach them through an
//! attempt, without `correct` flags, accepted answers or explanations, and results with the right
//! answers follow the quiz's `show_answers`.

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use chrono::{DateTime, Utc};
use guild_assessment::AssessmentError;
use guild_assessment::attempts::{
    self, AttemptSummary, AttemptView, EssayGrade, RevealedResult, ReviewItem, Started, Submitted,
    TakerQuestion,
};
use guild_assessment::questions::{self, ChoiceOption, Question, QuestionInput};
use guild_assessment::quizzes::{self, QuizDetail, QuizInput};
use guild_assessment::scoring::Answer;
use guild_kernel::PageRequest;
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
    AuthErrors, Conflict, InputErrors, NotFound, PageOf, forbidden_codes, in_tenant,
};
use crate::routes::modules::PreconditionErrors;
use crate::state::AppState;

/// An option with its answer key (authors only).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OptionDto {
    /// Your id for it, unique in the question (e.g. `a`), 1 to 64 characters.
    id: String,
    /// What the taker reads.
    text: String,
    /// Part of the right answer.
    #[serde(default)]
    correct: bool,
}

/// A question with its answer key (authors only). The `ETag` header carries `revision`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct QuestionDto {
    id: Uuid,
    quiz_id: Uuid,
    /// SINGLE_CHOICE, MULTIPLE_CHOICE, TRUE_FALSE, FILL_IN_BLANK or ESSAY.
    kind: String,
    prompt: String,
    /// The options (choice kinds).
    options: Vec<OptionDto>,
    /// Accepted answers (FILL_IN_BLANK), compared case-insensitively with whitespace collapsed.
    accepted_answers: Vec<String>,
    points: i32,
    /// Shown to takers with the answers.
    explanation: Option<String>,
    sort_order: i32,
    revision: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Question> for QuestionDto {
    fn from(q: Question) -> Self {
        Self {
            id: q.id,
            quiz_id: q.quiz_id,
            kind: q.kind,
            prompt: q.prompt,
            options: q
                .options
                .into_iter()
                .map(|o| OptionDto {
                    id: o.id,
                    text: o.text,
                    correct: o.correct,
                })
                .collect(),
            accepted_answers: q.accepted_answers,
            points: q.points,
            explanation: q.explanation,
            sort_order: q.sort_order,
            revision: q.revision,
            created_at: q.created_at,
            updated_at: q.updated_at,
        }
    }
}

/// A quiz. The `ETag` header carries `revision`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct QuizDto {
    id: Uuid,
    module_id: Uuid,
    title: String,
    description: String,
    /// Score, in percent, needed to pass.
    passing_score_percent: i32,
    /// Attempts each member may make; `null` is unlimited.
    max_attempts: Option<i32>,
    /// Seconds an attempt may last; `null` is untimed. Submissions are accepted 30 s longer.
    time_limit_seconds: Option<i32>,
    shuffle_questions: bool,
    shuffle_options: bool,
    /// NEVER (score and pass only), AFTER_PASS (answers once passed) or ALWAYS.
    show_answers: String,
    /// ALL_OR_NOTHING, or PARTIAL: points × max(0, (correct chosen − wrong chosen) / correct total).
    multiple_choice_scoring: String,
    created_by: Uuid,
    /// Bumped by every change; send it back as `If-Match`.
    revision: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    question_count: i64,
    total_points: i64,
    /// The questions with their answer keys: present only for those who may author the quiz.
    #[serde(skip_serializing_if = "Option::is_none")]
    questions: Option<Vec<QuestionDto>>,
}

impl From<QuizDetail> for QuizDto {
    fn from(d: QuizDetail) -> Self {
        let q = d.quiz;
        Self {
            id: q.id,
            module_id: q.module_id,
            title: q.title,
            description: q.description,
            passing_score_percent: q.passing_score_percent,
            max_attempts: q.max_attempts,
            time_limit_seconds: q.time_limit_seconds,
            shuffle_questions: q.shuffle_questions,
            shuffle_options: q.shuffle_options,
            show_answers: q.show_answers,
            multiple_choice_scoring: q.multiple_choice_scoring,
            created_by: q.created_by,
            revision: q.revision,
            created_at: q.created_at,
            updated_at: q.updated_at,
            question_count: d.question_count,
            total_points: d.total_points,
            questions: d
                .questions
                .map(|qs| qs.into_iter().map(QuestionDto::from).collect()),
        }
    }
}

fn quiz_reply(status: actix_web::HttpResponseBuilder, quiz: QuizDetail) -> HttpResponse {
    let revision = quiz.quiz.revision;
    with_etag(status, revision, &QuizDto::from(quiz))
}

/// A quiz's settings. On create `title` is required; on update every field left out is kept
/// (send `null` to clear `max_attempts` or `time_limit_seconds`).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct QuizBody {
    #[validate(length(min = 1, max = 200))]
    title: Option<String>,
    #[validate(length(max = 10000))]
    description: Option<String>,
    /// 0 to 100 (default 70).
    #[validate(range(min = 0, max = 100))]
    passing_score_percent: Option<i32>,
    /// At least 1; `null` for unlimited (the default).
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<i32>)]
    #[validate(range(min = 1, max = 1000))]
    max_attempts: Option<Option<i32>>,
    /// At least 1; `null` for no limit (the default).
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<i32>)]
    #[validate(range(min = 1, max = 604_800))]
    time_limit_seconds: Option<Option<i32>>,
    shuffle_questions: Option<bool>,
    shuffle_options: Option<bool>,
    /// NEVER, AFTER_PASS (default) or ALWAYS.
    show_answers: Option<String>,
    /// ALL_OR_NOTHING (default) or PARTIAL.
    multiple_choice_scoring: Option<String>,
}

impl From<QuizBody> for QuizInput {
    fn from(b: QuizBody) -> Self {
        Self {
            title: b.title,
            description: b.description,
            passing_score_percent: b.passing_score_percent,
            max_attempts: b.max_attempts,
            time_limit_seconds: b.time_limit_seconds,
            shuffle_questions: b.shuffle_questions,
            shuffle_options: b.shuffle_options,
            show_answers: b.show_answers,
            multiple_choice_scoring: b.multiple_choice_scoring,
        }
    }
}

/// A question's fields. On create `kind` and `prompt` are required; on update fields left out
/// are kept and the result is checked as a whole.
///
/// SINGLE_CHOICE and TRUE_FALSE: exactly one correct option (TRUE_FALSE: exactly two options);
/// MULTIPLE_CHOICE: at least one; 2 to 20 options with unique ids. FILL_IN_BLANK: at least one
/// accepted answer, no options. ESSAY: neither (graded by hand).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct QuestionBody {
    /// SINGLE_CHOICE, MULTIPLE_CHOICE, TRUE_FALSE, FILL_IN_BLANK or ESSAY.
    kind: Option<String>,
    #[validate(length(min = 1, max = 5000))]
    prompt: Option<String>,
    #[validate(length(max = 20))]
    options: Option<Vec<OptionDto>>,
    #[validate(length(max = 50))]
    accepted_answers: Option<Vec<String>>,
    /// 1 to 1000 (default 1).
    #[validate(range(min = 1, max = 1000))]
    points: Option<i32>,
    /// `null` removes it.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    #[validate(length(max = 5000))]
    explanation: Option<Option<String>>,
}

impl From<QuestionBody> for QuestionInput {
    fn from(b: QuestionBody) -> Self {
        Self {
            kind: b.kind,
            prompt: b.prompt,
            options: b.options.map(|os| {
                os.into_iter()
                    .map(|o| ChoiceOption {
                        id: o.id,
                        text: o.text,
                        correct: o.correct,
                    })
                    .collect()
            }),
            accepted_answers: b.accepted_answers,
            points: b.points,
            explanation: b.explanation,
        }
    }
}

/// Every question id of the quiz, once, in the new order.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OrderBody {
    #[validate(length(max = 500))]
    ids: Vec<Uuid>,
}

/// List a module's quizzes (without questions).
#[utoipa::path(
    tag = "quizzes",
    params(("module_id" = Uuid, Path, description = "The module")),
    responses((status = 200, body = Vec<QuizDto>, description = "The quizzes, oldest first"), AuthErrors, NotFound)
)]
#[get("/{module_id}/quizzes")]
pub(crate) async fn list_quizzes(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<Uuid>,
) -> Result<web::Json<Vec<QuizDto>>, ApiError> {
    let actor = auth.0;
    let module = path.into_inner();
    let list = in_tenant(&state, &actor, async |conn| {
        quizzes::list(conn, &actor, module).await
    })
    .await?;
    Ok(web::Json(list.into_iter().map(QuizDto::from).collect()))
}

/// Create a quiz in a module (MANAGE_QUIZZES, or the right to edit the module).
#[utoipa::path(
    tag = "quizzes",
    params(("module_id" = Uuid, Path, description = "The module")),
    request_body = QuizBody,
    responses((status = 201, body = QuizDto, description = "Created"), AuthErrors, InputErrors, NotFound)
)]
#[post("/{module_id}/quizzes")]
pub(crate) async fn create_quiz(
    state: web::Data<AppState>,
    auth: Authorized,
    path: web::Path<Uuid>,
    body: ValidJson<QuizBody>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let module = path.into_inner();
    let input = QuizInput::from(body.into_inner());
    let quiz = in_tenant(&state, &actor, async |conn| {
        quizzes::create(conn, &actor, module, &input).await
    })
    .await?;
    Ok(quiz_reply(HttpResponse::Created(), quiz))
}

/// Get a quiz; its questions with answer keys are included only for its authors.
#[utoipa::path(
    tag = "quizzes",
    params(("quiz_id" = Uuid, Path, description = "The quiz")),
    responses((status = 200, body = QuizDto, description = "The quiz; `ETag` is its revision"), AuthErrors, NotFound)
)]
#[get("/{quiz_id}")]
pub(crate) async fn get_quiz(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let id = path.into_inner();
    let quiz = in_tenant(&state, &actor, async |conn| {
        quizzes::get(conn, &actor, id).await
    })
    .await?;
    Ok(quiz_reply(HttpResponse::Ok(), quiz))
}

/// Change a quiz's settings; requires `If-Match` with its `ETag`.
#[utoipa::path(
    tag = "quizzes",
    params(("quiz_id" = Uuid, Path, description = "The quiz"), ("If-Match" = String, Header, description = "The ETag you read")),
    request_body = QuizBody,
    responses((status = 200, body = QuizDto, description = "Updated"), AuthErrors, InputErrors, NotFound, PreconditionErrors)
)]
#[patch("/{quiz_id}")]
pub(crate) async fn update_quiz(
    state: web::Data<AppState>,
    auth: Authorized,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<QuizBody>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let id = path.into_inner();
    let input = QuizInput::from(body.into_inner());
    let quiz = in_tenant(&state, &actor, async |conn| {
        quizzes::update(conn, &actor, id, if_match.0, &input).await
    })
    .await?;
    Ok(quiz_reply(HttpResponse::Ok(), quiz))
}

/// Delete a quiz with its questions and attempts; requires `If-Match`.
#[utoipa::path(
    tag = "quizzes",
    params(("quiz_id" = Uuid, Path, description = "The quiz"), ("If-Match" = String, Header, description = "The ETag you read")),
    responses((status = 204, description = "Deleted"), AuthErrors, NotFound, PreconditionErrors)
)]
#[delete("/{quiz_id}")]
pub(crate) async fn delete_quiz(
    state: web::Data<AppState>,
    auth: Authorized,
    path: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let id = path.into_inner();
    in_tenant(&state, &actor, async |conn| {
        quizzes::delete(conn, &actor, id, if_match.0).await
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Add a question at the end of a quiz.
#[utoipa::path(
    tag = "quizzes",
    params(("quiz_id" = Uuid, Path, description = "The quiz")),
    request_body = QuestionBody,
    responses((status = 201, body = QuestionDto, description = "Created; `ETag` is its revision"), AuthErrors, InputErrors, NotFound)
)]
#[post("/{quiz_id}/questions")]
pub(crate) async fn create_question(
    state: web::Data<AppState>,
    auth: Authorized,
    path: web::Path<Uuid>,
    body: ValidJson<QuestionBody>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let quiz = path.into_inner();
    let input = QuestionInput::from(body.into_inner());
    let question = in_tenant(&state, &actor, async |conn| {
        questions::create(conn, &actor, quiz, &input).await
    })
    .await?;
    let revision = question.revision;
    Ok(with_etag(
        HttpResponse::Created(),
        revision,
        &QuestionDto::from(question),
    ))
}

/// Reorder all of a quiz's questions at once: list every question id exactly once.
#[utoipa::path(
    tag = "quizzes",
    params(("quiz_id" = Uuid, Path, description = "The quiz")),
    request_body = OrderBody,
    responses((status = 200, body = Vec<QuestionDto>, description = "The questions in their new order"), AuthErrors, InputErrors, NotFound)
)]
#[put("/{quiz_id}/questions/order")]
pub(crate) async fn reorder_questions(
    state: web::Data<AppState>,
    auth: Authorized,
    path: web::Path<Uuid>,
    body: ValidJson<OrderBody>,
) -> Result<web::Json<Vec<QuestionDto>>, ApiError> {
    let actor = auth.0;
    let quiz = path.into_inner();
    let order = body.into_inner().ids;
    let list = in_tenant(&state, &actor, async |conn| {
        questions::reorder(conn, &actor, quiz, &order).await
    })
    .await?;
    Ok(web::Json(list.into_iter().map(QuestionDto::from).collect()))
}

/// Change a question; requires `If-Match` with its `ETag`.
#[utoipa::path(
    tag = "quizzes",
    params(("quiz_id" = Uuid, Path, description = "The quiz"), ("question_id" = Uuid, Path, description = "The question"),
        ("If-Match" = String, Header, description = "The ETag you read")),
    request_body = QuestionBody,
    responses((status = 200, body = QuestionDto, description = "Updated"), AuthErrors, InputErrors, NotFound, PreconditionErrors)
)]
#[patch("/{quiz_id}/questions/{question_id}")]
pub(crate) async fn update_question(
    state: web::Data<AppState>,
    auth: Authorized,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    body: ValidJson<QuestionBody>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let (quiz, id) = path.into_inner();
    let input = QuestionInput::from(body.into_inner());
    let question = in_tenant(&state, &actor, async |conn| {
        questions::update(conn, &actor, quiz, id, if_match.0, &input).await
    })
    .await?;
    let revision = question.revision;
    Ok(with_etag(
        HttpResponse::Ok(),
        revision,
        &QuestionDto::from(question),
    ))
}

/// Delete a question; requires `If-Match`.
#[utoipa::path(
    tag = "quizzes",
    params(("quiz_id" = Uuid, Path, description = "The quiz"), ("question_id" = Uuid, Path, description = "The question"),
        ("If-Match" = String, Header, description = "The ETag you read")),
    responses((status = 204, description = "Deleted"), AuthErrors, NotFound, PreconditionErrors)
)]
#[delete("/{quiz_id}/questions/{question_id}")]
pub(crate) async fn delete_question(
    state: web::Data<AppState>,
    auth: Authorized,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let (quiz, id) = path.into_inner();
    in_tenant(&state, &actor, async |conn| {
        questions::delete(conn, &actor, quiz, id, if_match.0).await
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// An attempt's facts.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AttemptSummaryDto {
    id: Uuid,
    quiz_id: Uuid,
    user_id: Uuid,
    /// 1 for your first attempt at the quiz.
    number: i32,
    /// IN_PROGRESS, PENDING_REVIEW (essays wait for a grader), GRADED or TIMED_OUT.
    status: String,
    started_at: DateTime<Utc>,
    /// When time runs out; submissions are accepted 30 s longer.
    deadline_at: Option<DateTime<Utc>>,
    submitted_at: Option<DateTime<Utc>>,
    /// Points earned (so far, while essays wait).
    score_points: Option<f64>,
    max_points: Option<i32>,
    /// The final score in percent (two decimals).
    score_percent: Option<f64>,
    /// The final verdict; `null` until the score is final.
    passed: Option<bool>,
}

impl From<AttemptSummary> for AttemptSummaryDto {
    fn from(a: AttemptSummary) -> Self {
        Self {
            id: a.id,
            quiz_id: a.quiz_id,
            user_id: a.user_id,
            number: a.number,
            status: a.status,
            started_at: a.started_at,
            deadline_at: a.deadline_at,
            submitted_at: a.submitted_at,
            score_points: a.score_points,
            max_points: a.max_points,
            score_percent: a.score_percent,
            passed: a.passed,
        }
    }
}

/// An option as a taker sees it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TakerOptionDto {
    id: String,
    text: String,
}

/// A question as a taker sees it: no answer key, no explanation.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TakerQuestionDto {
    id: Uuid,
    /// SINGLE_CHOICE, MULTIPLE_CHOICE, TRUE_FALSE, FILL_IN_BLANK or ESSAY.
    kind: String,
    prompt: String,
    points: i32,
    /// In this attempt's order.
    options: Vec<TakerOptionDto>,
}

impl From<TakerQuestion> for TakerQuestionDto {
    fn from(q: TakerQuestion) -> Self {
        Self {
            id: q.id,
            kind: q.kind,
            prompt: q.prompt,
            points: q.points,
            options: q
                .options
                .into_iter()
                .map(|o| TakerOptionDto {
                    id: o.id,
                    text: o.text,
                })
                .collect(),
        }
    }
}

/// One answer: `option_ids` for choice questions, `text` for FILL_IN_BLANK and ESSAY.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AnswerDto {
    question_id: Uuid,
    #[serde(default)]
    option_ids: Vec<String>,
    #[serde(default)]
    text: Option<String>,
}

impl From<Answer> for AnswerDto {
    fn from(a: Answer) -> Self {
        Self {
            question_id: a.question_id,
            option_ids: a.option_ids,
            text: a.text,
        }
    }
}

/// One question's outcome with the right answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ResultDto {
    question_id: Uuid,
    kind: String,
    /// `null` while an essay waits for a grader.
    points_awarded: Option<f64>,
    max_points: i32,
    /// The answer earned every point (`null` for essays).
    correct: Option<bool>,
    correct_option_ids: Vec<String>,
    accepted_answers: Vec<String>,
    explanation: Option<String>,
    /// The grader's feedback (essays).
    feedback: Option<String>,
}

impl From<RevealedResult> for ResultDto {
    fn from(r: RevealedResult) -> Self {
        Self {
            question_id: r.question_id,
            kind: r.kind,
            points_awarded: r.points_awarded,
            max_points: r.max_points,
            correct: r.correct,
            correct_option_ids: r.correct_option_ids,
            accepted_answers: r.accepted_answers,
            explanation: r.explanation,
            feedback: r.feedback,
        }
    }
}

/// An attempt with its questions (never their answers), your answers, and — when the quiz's
/// `show_answers` allows, or for graders — the per-question results with the right answers.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AttemptDto {
    #[serde(flatten)]
    attempt: AttemptSummaryDto,
    module_id: Uuid,
    questions: Vec<TakerQuestionDto>,
    answers: Vec<AnswerDto>,
    /// Absent under `show_answers` NEVER, under AFTER_PASS until passed, and before submitting.
    #[serde(skip_serializing_if = "Option::is_none")]
    results: Option<Vec<ResultDto>>,
}

impl From<AttemptView> for AttemptDto {
    fn from(v: AttemptView) -> Self {
        Self {
            attempt: v.attempt.into(),
            module_id: v.module_id,
            questions: v
                .questions
                .into_iter()
                .map(TakerQuestionDto::from)
                .collect(),
            answers: v.answers.into_iter().map(AnswerDto::from).collect(),
            results: v
                .results
                .map(|rs| rs.into_iter().map(ResultDto::from).collect()),
        }
    }
}

/// Start an attempt, or get back the one in progress.
///
/// A new attempt is 201; an attempt still in progress (and within its time) is returned as 200
/// instead of starting another. 409 `quiz_max_attempts_reached` when every allowed attempt is
/// used, 409 `module_locked` while you have not completed the module's prerequisites; 422
/// `quiz_empty` when the quiz has no questions.
#[utoipa::path(
    tag = "quizzes",
    params(("quiz_id" = Uuid, Path, description = "The quiz")),
    responses(
        (status = 201, body = AttemptDto, description = "Started"),
        (status = 200, body = AttemptDto, description = "Resumed: the attempt in progress"),
        AuthErrors, NotFound, Conflict,
        (status = 422, body = Problem, content_type = "application/problem+json", description = "`quiz_empty`")
    )
)]
#[post("/{quiz_id}/attempts")]
pub(crate) async fn start_attempt(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let quiz = path.into_inner();
    let now = state.clock.now();
    let started = in_tenant(&state, &actor, async |conn| {
        attempts::start(conn, &actor, quiz, now).await
    })
    .await?;
    match started {
        Started::New(attempt) => Ok(HttpResponse::Created().json(AttemptDto::from(*attempt))),
        Started::Resumed(attempt) => Ok(HttpResponse::Ok().json(AttemptDto::from(*attempt))),
        Started::LimitReached => Err(AssessmentError::MaxAttemptsReached.into()),
    }
}

/// List your attempts at a quiz.
#[utoipa::path(
    tag = "quizzes",
    params(("quiz_id" = Uuid, Path, description = "The quiz")),
    responses((status = 200, body = Vec<AttemptSummaryDto>, description = "Your attempts, by number"), AuthErrors, NotFound)
)]
#[get("/{quiz_id}/attempts")]
pub(crate) async fn list_my_attempts(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<Uuid>,
) -> Result<web::Json<Vec<AttemptSummaryDto>>, ApiError> {
    let actor = auth.0;
    let quiz = path.into_inner();
    let list = in_tenant(&state, &actor, async |conn| {
        attempts::mine(conn, &actor, quiz).await
    })
    .await?;
    Ok(web::Json(
        list.into_iter().map(AttemptSummaryDto::from).collect(),
    ))
}

/// Get an attempt: yours (results as the quiz's `show_answers` allows), or one you grade.
#[utoipa::path(
    tag = "quizzes",
    params(("attempt_id" = Uuid, Path, description = "The attempt")),
    responses((status = 200, body = AttemptDto, description = "The attempt"), AuthErrors, NotFound)
)]
#[get("/{attempt_id}")]
pub(crate) async fn get_attempt(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<Uuid>,
) -> Result<web::Json<AttemptDto>, ApiError> {
    let actor = auth.0;
    let id = path.into_inner();
    let view = in_tenant(&state, &actor, async |conn| {
        attempts::get(conn, &actor, id).await
    })
    .await?;
    Ok(web::Json(view.into()))
}

/// Your answers. Questions left out earn no points.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubmitAttemptBody {
    #[validate(length(max = 500))]
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

/// Submit your answers; requires `Idempotency-Key`.
///
/// Scored at once: GRADED with the final score, or PENDING_REVIEW (`passed` null) while essays
/// wait for a grader. A repeat with the same `Idempotency-Key` and body returns the same response
/// (with `Idempotent-Replayed: true`) and changes nothing. After the deadline plus a 30-second
/// grace period the submission is refused with 409 `attempt_timed_out`, and the attempt counts as
/// a failed attempt (TIMED_OUT).
#[utoipa::path(
    tag = "quizzes",
    params(("attempt_id" = Uuid, Path, description = "The attempt"),
        ("Idempotency-Key" = String, Header, description = "A key you make (e.g. a UUID), reused only to retry this same request")),
    request_body = SubmitAttemptBody,
    responses((status = 200, body = AttemptDto, description = "Scored"), AuthErrors, NotFound, SubmitErrors)
)]
#[post("/{attempt_id}/submit")]
pub(crate) async fn submit_attempt(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<Uuid>,
    key: IdempotencyKey,
    body: ValidJson<SubmitAttemptBody>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let id = path.into_inner();
    let answers: Vec<Answer> = body
        .into_inner()
        .answers
        .into_iter()
        .map(|a| Answer {
            question_id: a.question_id,
            option_ids: a.option_ids,
            text: a.text,
        })
        .collect();
    let now = state.clock.now();
    let outcome = in_tenant(&state, &actor, async |conn| {
        attempts::submit(conn, &actor, id, &answers, &key.0, now).await
    })
    .await?;
    match outcome {
        Submitted::Scored { attempt, replayed } => {
            let mut reply = HttpResponse::Ok();
            if replayed {
                reply.insert_header((REPLAYED, "true"));
            }
            Ok(reply.json(AttemptDto::from(*attempt)))
        }
        Submitted::TimedOut { .. } => Err(AssessmentError::AttemptTimedOut.into()),
    }
}

/// An attempt waiting for a grader.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReviewItemDto {
    attempt: AttemptSummaryDto,
    quiz_title: String,
    module_id: Uuid,
}

impl From<ReviewItem> for ReviewItemDto {
    fn from(r: ReviewItem) -> Self {
        Self {
            attempt: r.attempt.into(),
            quiz_title: r.quiz_title,
            module_id: r.module_id,
        }
    }
}

/// Filters for the graders' queue.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReviewQuery {
    /// Only attempts at this module's quizzes.
    module_id: Option<Uuid>,
    /// Page size, 1 to 200.
    limit: Option<u32>,
    /// The previous page's `next_cursor`.
    cursor: Option<String>,
}

/// The attempts waiting for you to grade their essays, oldest first.
///
/// MANAGE_QUIZZES holders see the whole tenant's; mentors see their modules'. Your own attempts
/// are never in it.
#[utoipa::path(
    tag = "quizzes",
    params(ReviewQuery),
    responses((status = 200, body = PageOf<ReviewItemDto>, description = "A page of attempts"), AuthErrors, InputErrors)
)]
#[get("")]
pub(crate) async fn list_quiz_reviews(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<ReviewQuery>,
) -> Result<web::Json<PageOf<ReviewItemDto>>, ApiError> {
    let actor = auth.0;
    let q = query.into_inner();
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    let page = in_tenant(&state, &actor, async |conn| {
        attempts::review_queue(conn, &actor, q.module_id, &page).await
    })
    .await?;
    Ok(web::Json(PageOf::map(page, ReviewItemDto::from)))
}

/// One essay's grade.
#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GradeDto {
    /// An ESSAY question of the attempt.
    question_id: Uuid,
    /// 0 to the question's points.
    points: f64,
    /// For the taker.
    #[validate(length(max = 5000))]
    feedback: Option<String>,
}

/// Grades for some or all essays of an attempt.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GradesBody {
    #[validate(length(min = 1, max = 500), nested)]
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

/// Grade essays of an attempt waiting for review (a mentor of the module, or MANAGE_QUIZZES).
///
/// When every essay has a grade the score is final: the attempt becomes GRADED with `passed`.
/// 409 `attempt_not_pending_review` when it is not waiting for review. Never your own attempt
/// (403 `cannot_grade_own_attempt`): another grader grades it.
#[utoipa::path(
    tag = "quizzes",
    params(("attempt_id" = Uuid, Path, description = "The attempt")),
    request_body = GradesBody,
    responses((status = 200, body = AttemptDto, description = "Graded; the attempt with every result"), AuthErrors, InputErrors, NotFound, Conflict, GradeAttemptErrors)
)]
#[post("/{attempt_id}/grades")]
pub(crate) async fn grade_attempt(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<Uuid>,
    body: ValidJson<GradesBody>,
) -> Result<web::Json<AttemptDto>, ApiError> {
    let actor = auth.0;
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
    let now = state.clock.now();
    let view = in_tenant(&state, &actor, async |conn| {
        attempts::grade(conn, &actor, id, &grades, now).await
    })
    .await?;
    Ok(web::Json(view.into()))
}
