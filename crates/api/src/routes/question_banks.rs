//! Question banks: `/v1/question-banks`, the tenant's reusable questions (with their answer keys),
//! for MANAGE_QUIZZES or MANAGE_ALL_MODULES holders tenant-wide. Quizzes draw from them through
//! their `draws` setting (see [`crate::routes::quizzes`]).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use guild_assessment::banks::{self, BankDetail, BankInput, BankQuestion, BankQuestionInput};
use guild_assessment::questions::{ChoiceOption, QuestionInput, QuestionKind};
use guild_kernel::PageRequest;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::{Ctx, Permitted};
use crate::error::ApiError;
use crate::etag::{IfMatch, Revised, Tagged, tag_by_body};
use crate::extract::ValidJson;
use crate::idempotency::{Idempotency, IdempotencyHeader, once};
use crate::routes::common::{AuthErrors, Conflict, InputErrors, NotFound, PageOf, PageParams};
use crate::routes::quizzes::{AcceptedAnswer, BankTag, KeyedInputErrors, OptionDto, QueryErrors};
use crate::routes::segment;

/// Registers `/v1/question-banks`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/question-banks")
            .service(list_question_banks)
            .service(create_question_bank)
            .service(get_question_bank)
            .service(update_question_bank)
            .service(delete_question_bank)
            .service(list_bank_questions)
            .service(create_bank_question)
            .service(get_bank_question)
            .service(update_bank_question)
            .service(delete_bank_question),
    );
}

/// A question bank. The `ETag` header carries `revision`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct QuestionBankDto {
    id: Uuid,
    name: String,
    description: String,
    created_by: Uuid,
    /// Bumped by every change; send it back as `If-Match`.
    revision: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// How many questions it holds (at most 500).
    question_count: i64,
}

impl From<BankDetail> for QuestionBankDto {
    fn from(d: BankDetail) -> Self {
        let b = d.bank;
        Self {
            id: b.id,
            name: b.name,
            description: b.description,
            created_by: b.created_by,
            revision: b.revision,
            created_at: b.created_at,
            updated_at: b.updated_at,
            question_count: d.question_count,
        }
    }
}

/// A new question bank.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "name": "Warehouse safety", "description": "Forklifts, racking and loading bays." }))]
pub(crate) struct CreateQuestionBankBody {
    /// 1 to 200 characters, not only spaces (trimmed).
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    name: String,
    /// Up to 5000 characters (default empty).
    #[validate(length(max = 5000))]
    #[schema(max_length = 5000)]
    description: Option<String>,
}

/// Changes to a question bank: fields left out are kept.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "name": "Warehouse safety (2027)" }))]
pub(crate) struct UpdateQuestionBankBody {
    /// 1 to 200 characters, not only spaces (trimmed).
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    name: Option<String>,
    /// Up to 5000 characters.
    #[validate(length(max = 5000))]
    #[schema(max_length = 5000)]
    description: Option<String>,
}

/// A bank question with its answer key. The `ETag` header carries `revision`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BankQuestionDto {
    id: Uuid,
    bank_id: Uuid,
    kind: QuestionKind,
    prompt: String,
    /// The options (choice kinds).
    options: Vec<OptionDto>,
    /// Accepted answers (FILL_IN_BLANK), compared case-insensitively with whitespace collapsed.
    accepted_answers: Vec<String>,
    points: i32,
    /// Shown to takers with the answers.
    explanation: Option<String>,
    /// Lower-case labels that draws select by.
    tags: Vec<String>,
    revision: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<BankQuestion> for BankQuestionDto {
    fn from(q: BankQuestion) -> Self {
        Self {
            id: q.id,
            bank_id: q.bank_id,
            kind: q.kind,
            prompt: q.prompt,
            options: q.options.into_iter().map(OptionDto::from).collect(),
            accepted_answers: q.accepted_answers,
            points: q.points,
            explanation: q.explanation,
            tags: q.tags,
            revision: q.revision,
            created_at: q.created_at,
            updated_at: q.updated_at,
        }
    }
}

/// A new bank question, by the rules of a quiz question.
///
/// SINGLE_CHOICE and TRUE_FALSE: exactly one correct option (TRUE_FALSE: exactly two options);
/// MULTIPLE_CHOICE: at least one; 2 to 20 options with unique ids. FILL_IN_BLANK: 1 to 50
/// accepted answers, no options. ESSAY: neither. A question that breaks these is 422
/// `validation_failed`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kind": "TRUE_FALSE",
    "prompt": "A forklift may carry a passenger on its forks.",
    "options": [
        { "id": "t", "text": "True", "correct": false },
        { "id": "f", "text": "False", "correct": true }
    ],
    "points": 1,
    "tags": ["forklift"]
}))]
pub(crate) struct CreateBankQuestionBody {
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
    /// Up to 10 tags (default none).
    #[validate(length(max = 10))]
    #[schema(value_type = Option<Vec<BankTag>>, max_items = 10)]
    tags: Option<Vec<String>>,
}

impl From<CreateBankQuestionBody> for BankQuestionInput {
    fn from(b: CreateBankQuestionBody) -> Self {
        Self {
            question: QuestionInput {
                kind: Some(b.kind),
                prompt: Some(b.prompt),
                options: b
                    .options
                    .map(|os| os.into_iter().map(ChoiceOption::from).collect()),
                accepted_answers: b.accepted_answers,
                points: b.points,
                explanation: Some(b.explanation),
            },
            tags: b.tags,
        }
    }
}

/// Changes to a bank question: fields left out are kept, and the result is checked as a whole
/// by the rules of a new question. Attempts that drew it keep it as it was.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "points": 2, "tags": ["forklift", "loading"] }))]
pub(crate) struct UpdateBankQuestionBody {
    kind: Option<QuestionKind>,
    /// 1 to 5000 characters, not only spaces.
    #[validate(length(min = 1, max = 5000))]
    #[schema(min_length = 1, max_length = 5000, pattern = "\\S")]
    prompt: Option<String>,
    /// Replaces the options.
    #[validate(length(max = 20))]
    #[schema(max_items = 20)]
    options: Option<Vec<OptionDto>>,
    /// Replaces the accepted answers.
    #[validate(length(max = 50))]
    #[schema(value_type = Option<Vec<AcceptedAnswer>>, max_items = 50)]
    accepted_answers: Option<Vec<String>>,
    /// 1 to 1000.
    #[validate(range(min = 1, max = 1000))]
    #[schema(minimum = 1, maximum = 1000)]
    points: Option<i32>,
    /// Up to 5000 characters; `null` removes it.
    #[serde(default, with = "crate::routes::common::double_option")]
    #[schema(value_type = Option<String>, max_length = 5000)]
    #[validate(length(max = 5000))]
    explanation: Option<Option<String>>,
    /// Replaces the tags (up to 10).
    #[validate(length(max = 10))]
    #[schema(value_type = Option<Vec<BankTag>>, max_items = 10)]
    tags: Option<Vec<String>>,
}

impl From<UpdateBankQuestionBody> for BankQuestionInput {
    fn from(b: UpdateBankQuestionBody) -> Self {
        Self {
            question: QuestionInput {
                kind: b.kind,
                prompt: b.prompt,
                options: b
                    .options
                    .map(|os| os.into_iter().map(ChoiceOption::from).collect()),
                accepted_answers: b.accepted_answers,
                points: b.points,
                explanation: b.explanation,
            },
            tags: b.tags,
        }
    }
}

/// `?tag=&limit=&cursor=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct BankQuestionQuery {
    /// Only questions carrying this tag (compared lower-cased).
    #[param(min_length = 1, max_length = 50)]
    tag: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200, default = 50)]
    #[serde(default, deserialize_with = "crate::routes::common::page_limit")]
    limit: Option<u32>,
    /// The previous page's `next_cursor` (for the same filter).
    #[param(max_length = 1024)]
    cursor: Option<String>,
}

/// List question banks.
///
/// The tenant's question banks, oldest first, a page at a time, with their sizes: for
/// MANAGE_QUIZZES or MANAGE_ALL_MODULES holders tenant-wide (else 403 `forbidden`).
#[utoipa::path(
    tag = "question-banks",
    params(PageParams),
    responses((status = 200, body = PageOf<QuestionBankDto>, description = "A page of banks, oldest first"), AuthErrors, QueryErrors)
)]
#[get("/question-banks")]
pub(crate) async fn list_question_banks(
    ctx: Ctx<Permitted>,
    query: web::Query<PageParams>,
) -> Result<web::Json<PageOf<QuestionBankDto>>, ApiError> {
    let page = PageRequest::from(&query.into_inner());
    let found = ctx
        .write(async |conn| banks::list(conn, &ctx.actor, &page).await)
        .await?;
    Ok(web::Json(PageOf::map(found, QuestionBankDto::from)))
}

/// Create a question bank.
///
/// For MANAGE_QUIZZES or MANAGE_ALL_MODULES holders tenant-wide; a tenant holds up to 100 banks
/// (409 `question_bank_limit_reached`). Takes an optional `Idempotency-Key`: a retry with it gets
/// the first bank back instead of a second one.
#[utoipa::path(
    tag = "question-banks",
    params(IdempotencyHeader),
    request_body = CreateQuestionBankBody,
    responses((status = 201, body = QuestionBankDto, description = "Created; `ETag` is its revision",
            headers(("ETag" = String, description = "The revision, to send back as `If-Match`"))), AuthErrors, KeyedInputErrors, Conflict)
)]
#[post("/question-banks")]
pub(crate) async fn create_question_bank(
    ctx: Ctx<Permitted>,
    key: Idempotency,
    body: ValidJson<CreateQuestionBankBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let input = BankInput {
        name: Some(body.name),
        description: body.description,
    };
    let reply = once(&ctx, &key, StatusCode::CREATED, async |conn| {
        banks::create(conn, &ctx.actor, &input, ctx.now)
            .await
            .map(QuestionBankDto::from)
    })
    .await?;
    Ok(tag_by_body(reply).await)
}

/// Get a question bank.
///
/// One bank with its size; `ETag` carries its revision. 404 `question_bank_not_found`.
#[utoipa::path(
    tag = "question-banks",
    params(("bank_id" = Uuid, Path, description = "The bank")),
    responses((status = 200, body = QuestionBankDto, description = "The bank; `ETag` is its revision"), AuthErrors, NotFound)
)]
#[get("/question-banks/{bank_id}")]
pub(crate) async fn get_question_bank(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let bank = ctx
        .write(async |conn| banks::get(conn, &ctx.actor, id).await)
        .await?;
    Ok(Tagged(QuestionBankDto::from(bank)).into())
}

/// Update a question bank.
///
/// Renames or redescribes a bank. Requires `If-Match` with its `ETag`; fields left out are kept.
/// 404 `question_bank_not_found`.
#[utoipa::path(
    tag = "question-banks",
    params(("bank_id" = Uuid, Path, description = "The bank"), ("If-Match" = String, Header, description = "The `ETag` you read, e.g. `\"3\"`", pattern = "^(W/)?\"[0-9]{1,9}\"$")),
    request_body = UpdateQuestionBankBody,
    responses((status = 200, body = QuestionBankDto, description = "Updated; `ETag` is its new revision"), AuthErrors, InputErrors, NotFound)
)]
#[patch("/question-banks/{bank_id}")]
pub(crate) async fn update_question_bank(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<UpdateQuestionBankBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let body = body.into_inner();
    let input = BankInput {
        name: body.name,
        description: body.description,
    };
    let bank = ctx
        .write(async |conn| banks::update(conn, &ctx.actor, id, if_match.0, &input, ctx.now).await)
        .await?;
    Ok(Tagged(QuestionBankDto::from(bank)).into())
}

/// Delete a question bank.
///
/// Deletes a bank with its questions; attempts that drew them keep them. Refused while a quiz
/// draws from it (409 `question_bank_in_use`: change the quiz's `draws` first). Requires
/// `If-Match` with its `ETag`. 404 `question_bank_not_found`.
#[utoipa::path(
    tag = "question-banks",
    params(("bank_id" = Uuid, Path, description = "The bank"), ("If-Match" = String, Header, description = "The `ETag` you read, e.g. `\"3\"`", pattern = "^(W/)?\"[0-9]{1,9}\"$")),
    responses((status = 204, description = "Deleted"), AuthErrors, NotFound, Conflict)
)]
#[delete("/question-banks/{bank_id}")]
pub(crate) async fn delete_question_bank(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    ctx.write(async |conn| banks::delete(conn, &ctx.actor, id, if_match.0).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// List a bank's questions.
///
/// A bank's questions with their answer keys, in creation order, a page at a time; `tag` keeps
/// those carrying it. 404 `question_bank_not_found`.
#[utoipa::path(
    tag = "question-banks",
    params(("bank_id" = Uuid, Path, description = "The bank"), BankQuestionQuery),
    responses((status = 200, body = PageOf<BankQuestionDto>, description = "A page of questions"), AuthErrors, QueryErrors, NotFound)
)]
#[get("/question-banks/{bank_id}/questions")]
pub(crate) async fn list_bank_questions(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    query: web::Query<BankQuestionQuery>,
) -> Result<web::Json<PageOf<BankQuestionDto>>, ApiError> {
    let bank = path.into_inner();
    let q = query.into_inner();
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    let tag = q.tag;
    if tag
        .as_deref()
        .is_some_and(|t| t.is_empty() || t.chars().count() > 50)
    {
        return Err(ApiError::validation(vec![crate::error::ProblemField {
            field: "tag".to_owned(),
            code: "length".to_owned(),
            message: "1 to 50 characters".to_owned(),
        }]));
    }
    let found = ctx
        .write(async |conn| {
            banks::list_questions(conn, &ctx.actor, bank, tag.as_deref(), &page).await
        })
        .await?;
    Ok(web::Json(PageOf::map(found, BankQuestionDto::from)))
}

/// Create a bank question.
///
/// Adds a question to a bank, by the rules of a quiz question, with up to 10 tags; a bank holds
/// up to 500 questions (409 `bank_question_limit_reached`). Takes an optional `Idempotency-Key`.
/// 404 `question_bank_not_found`.
#[utoipa::path(
    tag = "question-banks",
    params(("bank_id" = Uuid, Path, description = "The bank"), IdempotencyHeader),
    request_body = CreateBankQuestionBody,
    responses((status = 201, body = BankQuestionDto, description = "Created; `ETag` is its revision",
            headers(("ETag" = String, description = "The revision, to send back as `If-Match`"))), AuthErrors, KeyedInputErrors, NotFound, Conflict)
)]
#[post("/question-banks/{bank_id}/questions")]
pub(crate) async fn create_bank_question(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    key: Idempotency,
    body: ValidJson<CreateBankQuestionBody>,
) -> Result<HttpResponse, ApiError> {
    let bank = path.into_inner();
    let input = BankQuestionInput::from(body.into_inner());
    let reply = once(&ctx, &key, StatusCode::CREATED, async |conn| {
        banks::create_question(conn, &ctx.actor, bank, &input, ctx.now)
            .await
            .map(BankQuestionDto::from)
    })
    .await?;
    Ok(tag_by_body(reply).await)
}

/// Get a bank question.
///
/// One question with its answer key; `ETag` carries its revision. 404 `question_bank_not_found`,
/// `question_not_found`.
#[utoipa::path(
    tag = "question-banks",
    params(("bank_id" = Uuid, Path, description = "The bank"), ("question_id" = Uuid, Path, description = "The question")),
    responses((status = 200, body = BankQuestionDto, description = "The question; `ETag` is its revision"), AuthErrors, NotFound)
)]
#[get("/question-banks/{bank_id}/questions/{question_id}")]
pub(crate) async fn get_bank_question(
    ctx: Ctx<Permitted>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (bank, id) = path.into_inner();
    let question = ctx
        .write(async |conn| banks::get_question(conn, &ctx.actor, bank, id).await)
        .await?;
    Ok(Tagged(BankQuestionDto::from(question)).into())
}

/// Update a bank question.
///
/// Requires `If-Match` with the question's `ETag`; fields left out are kept and the result is
/// checked as a whole. Attempts that drew it keep it as it was. 404 `question_bank_not_found`,
/// `question_not_found`.
#[utoipa::path(
    tag = "question-banks",
    params(("bank_id" = Uuid, Path, description = "The bank"), ("question_id" = Uuid, Path, description = "The question"),
        ("If-Match" = String, Header, description = "The `ETag` you read, e.g. `\"3\"`", pattern = "^(W/)?\"[0-9]{1,9}\"$")),
    request_body = UpdateBankQuestionBody,
    responses((status = 200, body = BankQuestionDto, description = "Updated; `ETag` is its new revision"), AuthErrors, InputErrors, NotFound)
)]
#[patch("/question-banks/{bank_id}/questions/{question_id}")]
pub(crate) async fn update_bank_question(
    ctx: Ctx<Permitted>,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    body: ValidJson<UpdateBankQuestionBody>,
) -> Result<HttpResponse, ApiError> {
    let (bank, id) = path.into_inner();
    let input = BankQuestionInput::from(body.into_inner());
    let question = ctx
        .write(async |conn| {
            banks::update_question(conn, &ctx.actor, bank, id, if_match.0, &input, ctx.now).await
        })
        .await?;
    Ok(Tagged(BankQuestionDto::from(question)).into())
}

/// Delete a bank question.
///
/// Requires `If-Match` with the question's `ETag`. Attempts that drew it keep it.
/// 404 `question_bank_not_found`, `question_not_found`.
#[utoipa::path(
    tag = "question-banks",
    params(("bank_id" = Uuid, Path, description = "The bank"), ("question_id" = Uuid, Path, description = "The question"),
        ("If-Match" = String, Header, description = "The `ETag` you read, e.g. `\"3\"`", pattern = "^(W/)?\"[0-9]{1,9}\"$")),
    responses((status = 204, description = "Deleted"), AuthErrors, NotFound)
)]
#[delete("/question-banks/{bank_id}/questions/{question_id}")]
pub(crate) async fn delete_bank_question(
    ctx: Ctx<Permitted>,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let (bank, id) = path.into_inner();
    ctx.write(async |conn| banks::delete_question(conn, &ctx.actor, bank, id, if_match.0).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

impl Revised for QuestionBankDto {
    fn revision(&self) -> i32 {
        self.revision
    }
}

impl Revised for BankQuestionDto {
    fn revision(&self) -> i32 {
        self.revision
    }
}
