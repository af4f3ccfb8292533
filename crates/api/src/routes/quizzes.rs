//! Quizzes of modules: `/v1/quizzes` (a quiz, its questions, starting an attempt, a taker's
//! attempts; a module's list and creating one are registered by the `/modules` scope).
//! Attempts and their grading are [`super::attempts`], the graders' queue
//! [`super::quiz_reviews`].
//!
//! Authors see questions with their answer keys; takers never do: questions reach them through an
//! attempt, without `correct` flags, accepted answers or explanations, and results with the right
//! answers follow the quiz's `show_answers`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use chrono::{DateTime, Utc};
use guild_assessment::attempts::{
    self, AttemptStatus, AttemptSummary, AttemptView, RevealedResult, Started, TakerQuestion,
};
use guild_assessment::banks::Draw;
use guild_assessment::questions::{self, ChoiceOption, Question, QuestionInput, QuestionKind};
use guild_assessment::quizzes::{self, QuizDetail, QuizInput, ShowAnswers};
use guild_assessment::scoring::{Answer, ScoringMode};
use guild_kernel::{PageRequest, QuizId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoResponses, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::{Ctx, Permitted};
use crate::error::{ApiError, Problem};
use crate::etag::{IfMatch, Tagged, tag_by_body};
use crate::extract::ValidJson;
use crate::idempotency::{Idempotency, IdempotencyHeader, once};
use crate::routes::common::{AuthErrors, InputErrors, NotFound, PageOf, PageParams, double_option};
use crate::routes::segment;

/// Registers `/v1/quizzes`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/quizzes")
            .service(get_quiz)
            .service(update_quiz)
            .service(delete_quiz)
            .service(create_question)
            .service(reorder_questions)
            .service(update_question)
            .service(delete_question)
            .service(start_attempt)
            .service(list_my_attempts),
    );
}

/// 400 and 422 of a write that takes a JSON body and an `Idempotency-Key`.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "documentation only")]
pub(crate) enum KeyedInputErrors {
    /// The body is not JSON, or the key is malformed.
    #[response(
        status = 400,
        description = "`malformed_json`, `invalid_idempotency_key`",
        content_type = "application/problem+json"
    )]
    Malformed(Problem),
    /// A field is missing, unknown, of the wrong type or breaks a rule (see `errors[]`), or the
    /// key was used with another request.
    #[response(
        status = 422,
        description = "`validation_failed`, `idempotency_key_reused` (the same key with another request)",
        content_type = "application/problem+json"
    )]
    Invalid(Problem),
}

/// 422 of a list's query parameters.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "documentation only")]
pub(crate) enum QueryErrors {
    /// A parameter of the wrong type or out of its set, or a cursor Guild did not make.
    #[response(
        status = 422,
        description = "`validation_failed` (`invalid_query`, e.g. a `limit` outside 1 to 200; `invalid_cursor` on `cursor`)",
        content_type = "application/problem+json"
    )]
    Invalid(Problem),
}

/// An accepted answer of a FILL_IN_BLANK question (the schema of its items).
pub(crate) struct AcceptedAnswer;

impl utoipa::PartialSchema for AcceptedAnswer {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .description(Some(
                "1 to 500 characters, not only spaces; compared case-insensitively with \
                 whitespace collapsed.",
            ))
            .min_length(Some(1))
            .max_length(Some(500))
            .pattern(Some("\\S"))
            .examples([serde_json::json!("hard hat")])
            .into()
    }
}

impl ToSchema for AcceptedAnswer {}

/// An option with its answer key (authors only).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OptionDto {
    /// Your id for it, unique in the question (e.g. `a`): 1 to 64 characters, not only spaces.
    #[schema(min_length = 1, max_length = 64, pattern = "\\S", example = "a")]
    id: String,
    /// What the taker reads: 1 to 1000 characters, not only spaces.
    #[schema(
        min_length = 1,
        max_length = 1000,
        pattern = "\\S",
        example = "2.5 tonnes"
    )]
    text: String,
    /// Part of the right answer.
    #[serde(default)]
    correct: bool,
}

impl From<ChoiceOption> for OptionDto {
    fn from(o: ChoiceOption) -> Self {
        Self {
            id: o.id,
            text: o.text,
            correct: o.correct,
        }
    }
}

impl From<OptionDto> for ChoiceOption {
    fn from(o: OptionDto) -> Self {
        Self {
            id: o.id,
            text: o.text,
            correct: o.correct,
        }
    }
}

/// A question with its answer key (authors only). The `ETag` header carries `revision`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct QuestionDto {
    id: Uuid,
    quiz_id: Uuid,
    kind: QuestionKind,
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
            options: q.options.into_iter().map(OptionDto::from).collect(),
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

/// What each attempt draws from a question bank: `count` questions chosen at random (seeded by
/// the attempt), among those carrying any of `tags` when given; fewer when the bank has fewer.
#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "bank_id": "0193a1b2-7e55-7c3e-9d6b-52f1e1b8c7a1", "count": 5, "tags": ["forklift"] }))]
pub(crate) struct DrawDto {
    /// A bank of your tenant (else 404 `question_bank_not_found`).
    bank_id: Uuid,
    /// 1 to 100.
    #[validate(range(min = 1, max = 100))]
    #[schema(minimum = 1, maximum = 100)]
    count: i32,
    /// Up to 10 tags, each 1 to 50 characters (compared lower-cased); none for the whole bank.
    #[serde(default)]
    #[validate(length(max = 10))]
    #[schema(value_type = Vec<BankTag>, max_items = 10)]
    tags: Vec<String>,
}

/// A tag of a bank question (the schema of its items).
pub(crate) struct BankTag;

impl utoipa::PartialSchema for BankTag {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .description(Some(
                "1 to 50 characters, not only spaces; stored trimmed and lower-cased.",
            ))
            .min_length(Some(1))
            .max_length(Some(50))
            .pattern(Some("\\S"))
            .examples([serde_json::json!("forklift")])
            .into()
    }
}

impl ToSchema for BankTag {}

impl From<Draw> for DrawDto {
    fn from(d: Draw) -> Self {
        Self {
            bank_id: d.bank_id,
            count: d.count,
            tags: d.tags,
        }
    }
}

impl From<DrawDto> for Draw {
    fn from(d: DrawDto) -> Self {
        Self {
            bank_id: d.bank_id,
            count: d.count,
            tags: d.tags,
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
    show_answers: ShowAnswers,
    multiple_choice_scoring: ScoringMode,
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
    /// What each attempt draws from question banks besides the quiz's own questions, in order.
    draws: Vec<DrawDto>,
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
            draws: d.draws.into_iter().map(DrawDto::from).collect(),
        }
    }
}

/// Changes to a quiz's settings: every field left out is kept (send `null` to clear
/// `max_attempts` or `time_limit_seconds`).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "passing_score_percent": 75, "max_attempts": null }))]
pub(crate) struct UpdateQuizBody {
    /// 1 to 200 characters, not only spaces (trimmed).
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    title: Option<String>,
    /// Up to 10000 characters.
    #[validate(length(max = 10000))]
    #[schema(max_length = 10000)]
    description: Option<String>,
    /// 0 to 100.
    #[validate(range(min = 0, max = 100))]
    #[schema(minimum = 0, maximum = 100)]
    passing_score_percent: Option<i32>,
    /// 1 to 1000; `null` for unlimited.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<i32>, minimum = 1, maximum = 1000)]
    #[validate(range(min = 1, max = 1000))]
    max_attempts: Option<Option<i32>>,
    /// 1 to 604800 (a week); `null` for no limit.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<i32>, minimum = 1, maximum = 604_800)]
    #[validate(range(min = 1, max = 604_800))]
    time_limit_seconds: Option<Option<i32>>,
    shuffle_questions: Option<bool>,
    shuffle_options: Option<bool>,
    show_answers: Option<ShowAnswers>,
    multiple_choice_scoring: Option<ScoringMode>,
    /// Replaces the draws from question banks (up to 10; `[]` removes them); needs
    /// MANAGE_QUIZZES or MANAGE_ALL_MODULES tenant-wide. Attempts already started keep what they
    /// drew.
    #[validate(length(max = 10), nested)]
    #[schema(max_items = 10)]
    draws: Option<Vec<DrawDto>>,
}

impl From<UpdateQuizBody> for QuizInput {
    fn from(b: UpdateQuizBody) -> Self {
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
            draws: b.draws.map(|ds| ds.into_iter().map(Draw::from).collect()),
        }
    }
}

/// A new question.
///
/// SINGLE_CHOICE and TRUE_FALSE: exactly one correct option (TRUE_FALSE: exactly two options);
/// MULTIPLE_CHOICE: at least one; 2 to 20 options with unique ids. FILL_IN_BLANK: 1 to 50
/// accepted answers (each 1 to 500 characters, not only spaces), no options. ESSAY: neither
/// (graded by hand). A question that breaks these is 422 `validation_failed`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kind": "SINGLE_CHOICE",
    "prompt": "What is the largest load of the warehouse forklift?",
    "options": [
        { "id": "a", "text": "1 tonne", "correct": false },
        { "id": "b", "text": "2.5 tonnes", "correct": true }
    ],
    "points": 2,
    "explanation": "The load plate on the mast says 2.5 tonnes."
}))]
pub(crate) struct CreateQuestionBody {
    kind: QuestionKind,
    /// 1 to 5000 characters, not only spaces.
    #[validate(length(min = 1, max = 5000))]
    #[schema(min_length = 1, max_length = 5000, pattern = "\\S")]
    prompt: String,
    /// The options of a choice question (2 to 20; exactly 2 for TRUE_FALSE); none otherwise.
    #[validate(length(max = 20))]
    #[schema(max_items = 20)]
    options: Option<Vec<OptionDto>>,
    /// The accepted answers of a FILL_IN_BLANK question (1 to 50); none otherwise.
    #[validate(length(max = 50))]
    #[schema(value_type = Option<Vec<AcceptedAnswer>>, max_items = 50)]
    accepted_answers: Option<Vec<String>>,
    /// 1 to 1000 (default 1).
    #[validate(range(min = 1, max = 1000))]
    #[schema(minimum = 1, maximum = 1000)]
    points: Option<i32>,
    /// Shown to takers with the answers; up to 5000 characters.
    #[validate(length(max = 5000))]
    #[schema(max_length = 5000)]
    explanation: Option<String>,
}

impl From<CreateQuestionBody> for QuestionInput {
    fn from(b: CreateQuestionBody) -> Self {
        Self {
            kind: Some(b.kind),
            prompt: Some(b.prompt),
            options: b
                .options
                .map(|os| os.into_iter().map(ChoiceOption::from).collect()),
            accepted_answers: b.accepted_answers,
            points: b.points,
            explanation: Some(b.explanation),
        }
    }
}

/// Changes to a question: fields left out are kept, and the result is checked as a whole by the
/// rules of a new question (changing the kind may need new options or accepted answers in the
/// same request).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "points": 3, "explanation": null }))]
pub(crate) struct UpdateQuestionBody {
    kind: Option<QuestionKind>,
    /// 1 to 5000 characters, not only spaces.
    #[validate(length(min = 1, max = 5000))]
    #[schema(min_length = 1, max_length = 5000, pattern = "\\S")]
    prompt: Option<String>,
    /// Replaces the options (2 to 20 for choice kinds; exactly 2 for TRUE_FALSE).
    #[validate(length(max = 20))]
    #[schema(max_items = 20)]
    options: Option<Vec<OptionDto>>,
    /// Replaces the accepted answers (FILL_IN_BLANK: 1 to 50).
    #[validate(length(max = 50))]
    #[schema(value_type = Option<Vec<AcceptedAnswer>>, max_items = 50)]
    accepted_answers: Option<Vec<String>>,
    /// 1 to 1000.
    #[validate(range(min = 1, max = 1000))]
    #[schema(minimum = 1, maximum = 1000)]
    points: Option<i32>,
    /// Up to 5000 characters; `null` removes it.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 5000)]
    #[validate(length(max = 5000))]
    explanation: Option<Option<String>>,
}

impl From<UpdateQuestionBody> for QuestionInput {
    fn from(b: UpdateQuestionBody) -> Self {
        Self {
            kind: b.kind,
            prompt: b.prompt,
            options: b
                .options
                .map(|os| os.into_iter().map(ChoiceOption::from).collect()),
            accepted_answers: b.accepted_answers,
            points: b.points,
            explanation: b.explanation,
        }
    }
}

/// Every question id of the quiz, once, in the new order.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "ids": [
    "0193a1b2-7e55-7c3e-9d6b-52f1e1b8c7a1",
    "0193a1b2-7e55-7c3e-9d6b-52f1e1b8c7a0"
] }))]
pub(crate) struct OrderBody {
    /// Every question id of the quiz exactly once (else 422 `invalid_order`).
    #[validate(length(max = 500))]
    #[schema(max_items = 500)]
    ids: Vec<Uuid>,
}

/// Get a quiz.
///
/// A quiz of a module you can see, with its settings and size; its questions with their answer
/// keys are included only for those who may author it. `ETag` carries its revision, to send
/// back as `If-Match` when changing it. 404 `quiz_not_found`.
#[utoipa::path(
    tag = "quizzes",
    params(("quiz_id" = Uuid, Path, description = "The quiz")),
    responses((status = 200, body = QuizDto, description = "The quiz; `ETag` is its revision"), AuthErrors, NotFound)
)]
#[get("/quizzes/{quiz_id}")]
pub(crate) async fn get_quiz(ctx: Ctx, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let quiz = ctx
        .write(async |conn| quizzes::get(conn, &ctx.actor, QuizId(id)).await)
        .await?;
    Ok(Tagged(QuizDto::from(quiz)).into())
}

/// Update a quiz's settings.
///
/// For MANAGE_QUIZZES holders and those who may edit the module. Requires `If-Match` with the
/// quiz's `ETag`; fields left out are kept. Attempts already started keep their questions.
/// 404 `quiz_not_found`.
#[utoipa::path(
    tag = "quizzes",
    params(("quiz_id" = Uuid, Path, description = "The quiz"), ("If-Match" = String, Header, description = "The `ETag` you read, e.g. `\"3\"`", pattern = "^(W/)?\"[0-9]{1,9}\"$")),
    request_body = UpdateQuizBody,
    responses((status = 200, body = QuizDto, description = "Updated; `ETag` is its new revision"), AuthErrors, InputErrors, NotFound)
)]
#[patch("/quizzes/{quiz_id}")]
pub(crate) async fn update_quiz(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<UpdateQuizBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let input = QuizInput::from(body.into_inner());
    let quiz = ctx
        .write(async |conn| {
            quizzes::update(conn, &ctx.actor, QuizId(id), if_match.0, &input, ctx.now).await
        })
        .await?;
    Ok(Tagged(QuizDto::from(quiz)).into())
}

/// Delete a quiz.
///
/// Deletes a quiz with its questions and attempts, for MANAGE_QUIZZES holders and those who may
/// edit the module. Requires `If-Match` with the quiz's `ETag`. 404 `quiz_not_found`.
#[utoipa::path(
    tag = "quizzes",
    params(("quiz_id" = Uuid, Path, description = "The quiz"), ("If-Match" = String, Header, description = "The `ETag` you read, e.g. `\"3\"`", pattern = "^(W/)?\"[0-9]{1,9}\"$")),
    responses((status = 204, description = "Deleted"), AuthErrors, NotFound)
)]
#[delete("/quizzes/{quiz_id}")]
pub(crate) async fn delete_quiz(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    ctx.write(async |conn| quizzes::delete(conn, &ctx.actor, QuizId(id), if_match.0).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Create a question.
///
/// Adds a question at the end of a quiz, for its authors (MANAGE_QUIZZES, or who may edit the
/// module); the rules per kind are in the body's description. Takes an optional
/// `Idempotency-Key`: a retry with it gets the first question back instead of a second one.
/// 404 `quiz_not_found`.
#[utoipa::path(
    tag = "quizzes",
    params(("quiz_id" = Uuid, Path, description = "The quiz"), IdempotencyHeader),
    request_body = CreateQuestionBody,
    responses((status = 201, body = QuestionDto, description = "Created; `ETag` is its revision",
            headers(("ETag" = String, description = "The revision, to send back as `If-Match`"))), AuthErrors, KeyedInputErrors, NotFound)
)]
#[post("/quizzes/{quiz_id}/questions")]
pub(crate) async fn create_question(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    key: Idempotency,
    body: ValidJson<CreateQuestionBody>,
) -> Result<HttpResponse, ApiError> {
    let quiz = path.into_inner();
    let input = QuestionInput::from(body.into_inner());
    let reply = once(&ctx, &key, StatusCode::CREATED, async |conn| {
        questions::create(conn, &ctx.actor, QuizId(quiz), &input)
            .await
            .map(QuestionDto::from)
    })
    .await?;
    Ok(tag_by_body(reply).await)
}

/// Reorder a quiz's questions.
///
/// Puts all of a quiz's questions in a new order at once, for its authors: list every question
/// id exactly once (else 422 `invalid_order`). Answers every question in its new order.
/// 404 `quiz_not_found`.
#[utoipa::path(
    tag = "quizzes",
    params(("quiz_id" = Uuid, Path, description = "The quiz")),
    request_body = OrderBody,
    responses((status = 200, body = Vec<QuestionDto>, description = "Every question of the quiz, in the new order"), AuthErrors, InputErrors, NotFound)
)]
#[put("/quizzes/{quiz_id}/questions/order")]
pub(crate) async fn reorder_questions(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    body: ValidJson<OrderBody>,
) -> Result<web::Json<Vec<QuestionDto>>, ApiError> {
    let quiz = path.into_inner();
    let order = body.into_inner().ids;
    let list = ctx
        .write(async |conn| questions::reorder(conn, &ctx.actor, QuizId(quiz), &order).await)
        .await?;
    Ok(web::Json(list.into_iter().map(QuestionDto::from).collect()))
}

/// Update a question.
///
/// For the quiz's authors. Requires `If-Match` with the question's `ETag`; fields left out are
/// kept and the result is checked as a whole. Attempts already started keep the question as it
/// was. 404 `quiz_not_found`, `question_not_found`.
#[utoipa::path(
    tag = "quizzes",
    params(("quiz_id" = Uuid, Path, description = "The quiz"), ("question_id" = Uuid, Path, description = "The question"),
        ("If-Match" = String, Header, description = "The `ETag` you read, e.g. `\"3\"`", pattern = "^(W/)?\"[0-9]{1,9}\"$")),
    request_body = UpdateQuestionBody,
    responses((status = 200, body = QuestionDto, description = "Updated; `ETag` is its new revision"), AuthErrors, InputErrors, NotFound)
)]
#[patch("/quizzes/{quiz_id}/questions/{question_id}")]
pub(crate) async fn update_question(
    ctx: Ctx<Permitted>,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    body: ValidJson<UpdateQuestionBody>,
) -> Result<HttpResponse, ApiError> {
    let (quiz, id) = path.into_inner();
    let input = QuestionInput::from(body.into_inner());
    let question = ctx
        .write(async |conn| {
            questions::update(
                conn,
                &ctx.actor,
                QuizId(quiz),
                id,
                if_match.0,
                &input,
                ctx.now,
            )
            .await
        })
        .await?;
    Ok(Tagged(QuestionDto::from(question)).into())
}

/// Delete a question.
///
/// For the quiz's authors; requires `If-Match` with the question's `ETag`. The questions after
/// it move up. Attempts already started keep it. 404 `quiz_not_found`, `question_not_found`.
#[utoipa::path(
    tag = "quizzes",
    params(("quiz_id" = Uuid, Path, description = "The quiz"), ("question_id" = Uuid, Path, description = "The question"),
        ("If-Match" = String, Header, description = "The `ETag` you read, e.g. `\"3\"`", pattern = "^(W/)?\"[0-9]{1,9}\"$")),
    responses((status = 204, description = "Deleted"), AuthErrors, NotFound)
)]
#[delete("/quizzes/{quiz_id}/questions/{question_id}")]
pub(crate) async fn delete_question(
    ctx: Ctx<Permitted>,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let (quiz, id) = path.into_inner();
    ctx.write(async |conn| questions::delete(conn, &ctx.actor, QuizId(quiz), id, if_match.0).await)
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
    status: AttemptStatus,
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
    kind: QuestionKind,
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

/// One answer: `option_ids` for choice questions (one, except MULTIPLE_CHOICE; each at most
/// once), `text` for FILL_IN_BLANK and ESSAY (up to 20000 characters). Each question of the
/// attempt at most once.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AnswerDto {
    /// A question of the attempt.
    question_id: Uuid,
    /// The options you choose (choice questions).
    #[serde(default)]
    #[schema(max_items = 20)]
    option_ids: Vec<String>,
    /// Your answer (FILL_IN_BLANK and ESSAY).
    #[serde(default)]
    #[schema(max_length = 20000)]
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

impl From<AnswerDto> for Answer {
    fn from(a: AnswerDto) -> Self {
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
    kind: QuestionKind,
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

/// The attempt a start answers, and whether it was already in progress (201 or 200).
#[derive(Debug, Serialize)]
#[serde(transparent)]
struct StartReply {
    attempt: AttemptDto,
    #[serde(skip)]
    resumed: bool,
}

/// 400, 409 and 422 of starting an attempt.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "documentation only")]
pub(crate) enum StartErrors {
    /// A malformed key.
    #[response(
        status = 400,
        description = "`invalid_idempotency_key`",
        content_type = "application/problem+json"
    )]
    BadKey(Problem),
    /// No attempt may start.
    #[response(
        status = 409,
        description = "`quiz_max_attempts_reached` (every allowed attempt is used), `module_locked` (complete the module's prerequisites first)",
        content_type = "application/problem+json"
    )]
    Refused(Problem),
    /// An empty quiz, or a reused key.
    #[response(
        status = 422,
        description = "`quiz_empty` (the quiz has no questions), `idempotency_key_reused` (the same key with another request)",
        content_type = "application/problem+json"
    )]
    Invalid(Problem),
}

/// Start an attempt at a quiz.
///
/// Any member who can see the quiz's module starts an attempt: its questions (without answers)
/// in the order fixed for it, and `deadline_at` when the quiz is timed. An attempt still in
/// progress (and within its time) is returned as 200 instead of starting another; one whose time
/// ran out is closed as TIMED_OUT first and counts. Takes an optional `Idempotency-Key`: a retry
/// with it answers the first response again. 409 `quiz_max_attempts_reached` when every allowed
/// attempt is used, 409 `module_locked` while you have not completed the module's
/// prerequisites; 422 `quiz_empty` when the quiz has no questions; 404 `quiz_not_found`.
#[utoipa::path(
    tag = "quizzes",
    params(("quiz_id" = Uuid, Path, description = "The quiz"), IdempotencyHeader),
    responses(
        (status = 201, body = AttemptDto, description = "Started"),
        (status = 200, body = AttemptDto, description = "Resumed: the attempt in progress"),
        AuthErrors, NotFound, StartErrors
    )
)]
#[post("/quizzes/{quiz_id}/attempts")]
pub(crate) async fn start_attempt(
    ctx: Ctx,
    path: web::Path<Uuid>,
    key: Idempotency,
) -> Result<HttpResponse, ApiError> {
    let quiz = path.into_inner();
    let now = ctx.now;
    // Kept even when the start is then refused: the expired attempt counts either way.
    ctx.write(async |conn| attempts::close_expired(conn, &ctx.actor, QuizId(quiz), now).await)
        .await?;
    let status = |reply: &StartReply| {
        if reply.resumed {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        }
    };
    once(&ctx, &key, status, async |conn| {
        attempts::start(conn, &ctx.actor, QuizId(quiz), now)
            .await
            .map(|started| match started {
                Started::New(a) => StartReply {
                    attempt: AttemptDto::from(*a),
                    resumed: false,
                },
                Started::Resumed(a) => StartReply {
                    attempt: AttemptDto::from(*a),
                    resumed: true,
                },
            })
    })
    .await
}

/// List your attempts at a quiz.
///
/// Your own attempts at a quiz you can see, by number, a page at a time, archived ones of
/// earlier compliance cycles included. 404 `quiz_not_found`.
#[utoipa::path(
    tag = "quizzes",
    params(("quiz_id" = Uuid, Path, description = "The quiz"), PageParams),
    responses((status = 200, body = PageOf<AttemptSummaryDto>, description = "A page of your attempts, by number"), AuthErrors, QueryErrors, NotFound)
)]
#[get("/quizzes/{quiz_id}/attempts")]
pub(crate) async fn list_my_attempts(
    ctx: Ctx,
    path: web::Path<Uuid>,
    query: web::Query<PageParams>,
) -> Result<web::Json<PageOf<AttemptSummaryDto>>, ApiError> {
    let quiz = path.into_inner();
    let q = query.into_inner();
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    let page = ctx
        .write(async |conn| attempts::mine(conn, &ctx.actor, QuizId(quiz), &page).await)
        .await?;
    Ok(web::Json(PageOf::map(page, AttemptSummaryDto::from)))
}

impl crate::etag::Revised for QuizDto {
    fn revision(&self) -> i32 {
        self.revision
    }
}

impl crate::etag::Revised for QuestionDto {
    fn revision(&self) -> i32 {
        self.revision
    }
}
