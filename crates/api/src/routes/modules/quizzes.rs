//! A module's quizzes: `/v1/modules/{module_id}/quizzes` (the list, creating one). A quiz is
//! [`crate::routes::quizzes`].

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use guild_assessment::banks::Draw;
use guild_assessment::quizzes::{self, QuizInput, ShowAnswers};
use guild_assessment::scoring::ScoringMode;
use guild_kernel::PageRequest;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::{Ctx, Permitted};
use crate::error::ApiError;
use crate::etag::tag_by_body;
use crate::extract::ValidJson;
use crate::idempotency::{Idempotency, IdempotencyHeader, once};
use crate::routes::common::{AuthErrors, NotFound, PageOf, PageParams};
use crate::routes::quizzes::{DrawDto, KeyedInputErrors, QueryErrors, QuizDto};

/// List a module's quizzes.
///
/// The quizzes of a module you can see, oldest first, a page at a time, with their settings and
/// size but without their questions (read one quiz for those). 404 `module_not_found` when the
/// module is not visible to you.
#[utoipa::path(
    tag = "quizzes",
    params(("module_id" = Uuid, Path, description = "The module"), PageParams),
    responses((status = 200, body = PageOf<QuizDto>, description = "A page of quizzes, oldest first"), AuthErrors, QueryErrors, NotFound)
)]
#[get("/modules/{module_id}/quizzes")]
pub(crate) async fn list_quizzes(
    ctx: Ctx,
    path: web::Path<Uuid>,
    query: web::Query<PageParams>,
) -> Result<web::Json<PageOf<QuizDto>>, ApiError> {
    let module = path.into_inner();
    let q = query.into_inner();
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    let page = ctx
        .write(async |conn| quizzes::list(conn, &ctx.actor, module, &page).await)
        .await?;
    Ok(web::Json(PageOf::map(page, QuizDto::from)))
}

/// Create a quiz.
///
/// Adds a quiz, without questions yet, to a module: for MANAGE_QUIZZES holders and those who may
/// edit the module. Takes an optional `Idempotency-Key`: a retry with it gets the first quiz
/// back instead of a second one. 404 `module_not_found`.
#[utoipa::path(
    tag = "quizzes",
    params(("module_id" = Uuid, Path, description = "The module"), IdempotencyHeader),
    request_body = CreateQuizBody,
    responses((status = 201, body = QuizDto, description = "Created; `ETag` is its revision",
            headers(("ETag" = String, description = "The revision, to send back as `If-Match`"))), AuthErrors, KeyedInputErrors, NotFound)
)]
#[post("/modules/{module_id}/quizzes")]
pub(crate) async fn create_quiz(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    key: Idempotency,
    body: ValidJson<CreateQuizBody>,
) -> Result<HttpResponse, ApiError> {
    let module = path.into_inner();
    let input = QuizInput::from(body.into_inner());
    let reply = once(&ctx, &key, StatusCode::CREATED, async |conn| {
        quizzes::create(conn, &ctx.actor, module, &input)
            .await
            .map(QuizDto::from)
    })
    .await?;
    Ok(tag_by_body(reply).await)
}

/// A new quiz's settings; every field but `title` has a default.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "title": "Forklift safety check",
    "description": "Ten questions on the forklift rules.",
    "passing_score_percent": 80,
    "max_attempts": 3,
    "time_limit_seconds": 900,
    "shuffle_questions": true,
    "shuffle_options": true,
    "show_answers": "AFTER_PASS",
    "multiple_choice_scoring": "PARTIAL"
}))]
pub(crate) struct CreateQuizBody {
    /// 1 to 200 characters, not only spaces (trimmed).
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    title: String,
    /// Up to 10000 characters (default empty).
    #[validate(length(max = 10000))]
    #[schema(max_length = 10000)]
    description: Option<String>,
    /// 0 to 100 (default 70).
    #[validate(range(min = 0, max = 100))]
    #[schema(minimum = 0, maximum = 100)]
    passing_score_percent: Option<i32>,
    /// 1 to 1000; `null` or left out for unlimited.
    #[validate(range(min = 1, max = 1000))]
    #[schema(minimum = 1, maximum = 1000)]
    max_attempts: Option<i32>,
    /// 1 to 604800 (a week); `null` or left out for no limit.
    #[validate(range(min = 1, max = 604_800))]
    #[schema(minimum = 1, maximum = 604_800)]
    time_limit_seconds: Option<i32>,
    /// Each attempt shows the questions in its own order (default false).
    shuffle_questions: Option<bool>,
    /// Each attempt shows the options in its own order (default false).
    shuffle_options: Option<bool>,
    /// Default AFTER_PASS.
    show_answers: Option<ShowAnswers>,
    /// Default ALL_OR_NOTHING.
    multiple_choice_scoring: Option<ScoringMode>,
    /// Up to 10 draws from question banks for each attempt (default none); setting them needs
    /// MANAGE_QUIZZES or MANAGE_ALL_MODULES tenant-wide.
    #[validate(length(max = 10), nested)]
    #[schema(max_items = 10)]
    draws: Option<Vec<DrawDto>>,
}

impl From<CreateQuizBody> for QuizInput {
    fn from(b: CreateQuizBody) -> Self {
        Self {
            title: Some(b.title),
            description: b.description,
            passing_score_percent: b.passing_score_percent,
            max_attempts: Some(b.max_attempts),
            time_limit_seconds: Some(b.time_limit_seconds),
            shuffle_questions: b.shuffle_questions,
            shuffle_options: b.shuffle_options,
            show_answers: b.show_answers,
            multiple_choice_scoring: b.multiple_choice_scoring,
            draws: b.draws.map(|ds| ds.into_iter().map(Draw::from).collect()),
        }
    }
}
