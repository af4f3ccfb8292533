//! `/v1/ai-assist`: suggestions from the AI model for those who edit modules and grade work —
//! titles and descriptions, tags, quiz questions from a section, a cover image, and a score with
//! its rationale for an essay or a submission. Each only suggests: nothing changes until the
//! editor or grader sends it through the endpoints that change things (`PATCH /v1/modules/{id}`,
//! `POST /v1/quizzes/{id}/questions`, the grading endpoints), under their rules.
//!
//! Every call goes through [`crate::routes::ai::generate`] (or [`image`] for the cover): 503
//! `ai_not_configured` without a model, 429 `ai_budget_exhausted` once the month's tokens are
//! spent, a usage record per call with its feature. The material is read first, under the rules
//! of what it is about, so one who may not edit the module (or grade the work) learns nothing
//! about the model's configuration.

use actix_web::{HttpResponse, post, web};
use guild_ai::assist::{self, RubricCriterion, RubricLevel, SubmissionTask};
use guild_ai::usage::Feature;
use guild_assessment::questions::{ChoiceOption, QuestionKind};
use guild_kernel::AttemptId;
use guild_learning::media::{self, NewUpload};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::{Ctx, Permitted};
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::routes::ai::generate;
use crate::routes::common::{AuthErrors, Conflict, InputErrors, NotFound};
use crate::routes::media::{AssetDto, blob_error};
use crate::routes::quizzes::OptionDto;
use crate::routes::segment;

/// Registers `/v1/ai-assist`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/ai-assist")
            .service(draft_module_titles)
            .service(draft_module_tags)
            .service(draft_quiz_questions)
            .service(create_module_cover_image)
            .service(draft_essay_grade)
            .service(draft_submission_grade),
    );
}

/// A suggested title with its description.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TitleSuggestionDto {
    /// 1 to 200 characters, plain text.
    title: String,
    /// At most 2000 characters, plain text.
    description: String,
}

/// Titles and descriptions to choose from.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TitleSuggestionsDto {
    /// Up to three; apply one with `PATCH /v1/modules/{module_id}`.
    suggestions: Vec<TitleSuggestionDto>,
}

/// Suggest titles and descriptions for a module.
///
/// Those who may edit the module (MANAGE_ALL_MODULES, or MANAGE_OWN_MODULES as its creator or a
/// mentor; visible but not editable is 403, invisible 404 `module_not_found`): up to three titles
/// with descriptions, from its current title, description and sections. Nothing changes: apply
/// one with `PATCH /v1/modules/{module_id}`. 503 `ai_not_configured` without a model, 429
/// `ai_budget_exhausted` once the month's tokens are spent, 503 `dependency_unavailable` when
/// the provider keeps failing or answers something unusable.
#[utoipa::path(tag = "ai",
    params(("module_id" = Uuid, Path, description = "The module")),
    responses((status = 200, body = TitleSuggestionsDto, description = "The suggestions"), AuthErrors, NotFound))]
#[post("/ai-assist/modules/{module_id}/titles")]
pub(crate) async fn draft_module_titles(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<web::Json<TitleSuggestionsDto>, ApiError> {
    let id = path.into_inner();
    let material = ctx
        .write(async |conn| assist::module_material(conn, &ctx.actor, id, None).await)
        .await?;
    let generated = generate(
        &ctx,
        Feature::TitleSuggestions,
        &assist::titles_request(&material),
    )
    .await?;
    Ok(web::Json(TitleSuggestionsDto {
        suggestions: assist::read_titles(&generated.value)
            .into_iter()
            .map(|s| TitleSuggestionDto {
                title: s.title,
                description: s.description,
            })
            .collect(),
    }))
}

/// A suggested tag.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TagSuggestionDto {
    /// 1 to 50 characters; the tenant's own spelling of a tag it has.
    name: String,
    /// The tenant already has this tag.
    existing: bool,
}

/// Tags to choose from.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TagSuggestionsDto {
    /// Up to ten, none of the module's current tags; apply with `PATCH /v1/modules/{module_id}`
    /// (`tags` replaces the set).
    tags: Vec<TagSuggestionDto>,
}

/// Suggest tags for a module.
///
/// Those who may edit the module (403 when visible but not editable, 404 `module_not_found`
/// otherwise): up to ten tags from its content, preferring the tenant's existing tags and never
/// one the module has. Nothing changes: apply them with `PATCH /v1/modules/{module_id}`. 503
/// `ai_not_configured`, 429 `ai_budget_exhausted`, 503 `dependency_unavailable` as for titles.
#[utoipa::path(tag = "ai",
    params(("module_id" = Uuid, Path, description = "The module")),
    responses((status = 200, body = TagSuggestionsDto, description = "The suggestions"), AuthErrors, NotFound))]
#[post("/ai-assist/modules/{module_id}/tags")]
pub(crate) async fn draft_module_tags(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<web::Json<TagSuggestionsDto>, ApiError> {
    let id = path.into_inner();
    let material = ctx
        .write(async |conn| assist::module_material(conn, &ctx.actor, id, None).await)
        .await?;
    let generated = generate(
        &ctx,
        Feature::TagSuggestions,
        &assist::tags_request(&material),
    )
    .await?;
    Ok(web::Json(TagSuggestionsDto {
        tags: assist::read_tags(&generated.value, &material)
            .into_iter()
            .map(|t| TagSuggestionDto {
                name: t.name,
                existing: t.existing,
            })
            .collect(),
    }))
}

/// What questions to suggest.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "count": 3, "kinds": ["SINGLE_CHOICE", "TRUE_FALSE"] }))]
pub(crate) struct SuggestQuestionsBody {
    /// How many, 1 to 10 (default 3).
    #[validate(range(min = 1, max = 10))]
    #[schema(minimum = 1, maximum = 10)]
    count: Option<u32>,
    /// Only these kinds (default: any), at most 5.
    #[validate(length(max = 5))]
    #[schema(max_items = 5)]
    kinds: Option<Vec<QuestionKind>>,
}

/// A suggested question, in the shape `POST /v1/quizzes/{quiz_id}/questions` takes.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SuggestedQuestionDto {
    kind: QuestionKind,
    /// Plain text.
    prompt: String,
    /// The options (choice kinds), with their answer key.
    options: Vec<OptionDto>,
    /// Accepted answers (FILL_IN_BLANK).
    accepted_answers: Vec<String>,
    points: i32,
    /// Shown to takers with the answers.
    explanation: Option<String>,
}

/// Questions to choose from.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct QuestionSuggestionsDto {
    /// Questions that pass the rules of a quiz question; add one with
    /// `POST /v1/quizzes/{quiz_id}/questions`.
    questions: Vec<SuggestedQuestionDto>,
    /// Questions the model proposed that broke those rules, left out.
    rejected: u32,
}

/// A suggested question as assessment's rules check it; `None` when it breaks them.
fn checked(q: assist::SuggestedQuestion) -> Option<SuggestedQuestionDto> {
    let kind: QuestionKind = q.kind.parse().ok()?;
    let options: Vec<ChoiceOption> = q
        .options
        .into_iter()
        .map(|o| ChoiceOption {
            id: o.id,
            text: o.text,
            correct: o.correct,
        })
        .collect();
    guild_assessment::questions::validate(
        kind,
        &q.prompt,
        &options,
        &q.accepted_answers,
        q.points,
        q.explanation.as_deref(),
    )
    .ok()?;
    Some(SuggestedQuestionDto {
        kind,
        prompt: q.prompt,
        options: options.into_iter().map(OptionDto::from).collect(),
        accepted_answers: q.accepted_answers,
        points: q.points,
        explanation: q.explanation,
    })
}

/// Suggest quiz questions from a section.
///
/// Those who may edit the module (403 when visible but not editable, 404 `module_not_found`;
/// a section of another module is 404 `section_not_found`): up to `count` questions written
/// from the section's content, each checked by the rules of a quiz question (those that break
/// them are left out and counted in `rejected`). Nothing is added: add one with
/// `POST /v1/quizzes/{quiz_id}/questions`. 503 `ai_not_configured`, 429 `ai_budget_exhausted`,
/// 503 `dependency_unavailable` as for titles.
#[utoipa::path(tag = "ai",
    params(("module_id" = Uuid, Path, description = "The module"),
           ("section_id" = Uuid, Path, description = "One of its sections")),
    request_body = SuggestQuestionsBody,
    responses((status = 200, body = QuestionSuggestionsDto, description = "The suggestions"), AuthErrors, InputErrors, NotFound))]
#[post("/ai-assist/modules/{module_id}/sections/{section_id}/questions")]
pub(crate) async fn draft_quiz_questions(
    ctx: Ctx<Permitted>,
    path: web::Path<(Uuid, Uuid)>,
    body: ValidJson<SuggestQuestionsBody>,
) -> Result<web::Json<QuestionSuggestionsDto>, ApiError> {
    let (module, section) = path.into_inner();
    let body = body.into_inner();
    let material = ctx
        .write(async |conn| assist::module_material(conn, &ctx.actor, module, Some(section)).await)
        .await?;
    let Some(text) = material.sections.first() else {
        return Err(guild_ai::AiError::NotFound("section_not_found").into());
    };
    let kinds: Vec<String> = body
        .kinds
        .unwrap_or_default()
        .into_iter()
        .map(|k| k.as_str().to_owned())
        .collect();
    let count = usize::try_from(body.count.unwrap_or(3)).unwrap_or(3);
    let request = assist::quiz_request(&material, text, count, &kinds);
    let generated = generate(&ctx, Feature::QuestionSuggestions, &request).await?;
    let proposed = assist::read_questions(&generated.value);
    let total = proposed.len();
    let questions: Vec<SuggestedQuestionDto> = proposed
        .into_iter()
        .filter(|q| kinds.is_empty() || kinds.contains(&q.kind))
        .filter_map(checked)
        .collect();
    Ok(web::Json(QuestionSuggestionsDto {
        rejected: u32::try_from(total - questions.len()).unwrap_or(u32::MAX),
        questions,
    }))
}

/// How the cover should look.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "style": "flat illustration, warm colours" }))]
pub(crate) struct CoverImageBody {
    /// A few words on the style, at most 200 characters.
    #[validate(length(max = 200))]
    #[schema(max_length = 200)]
    style: Option<String>,
}

/// Calls the image model for `feature` as [`generate`] calls the chat model
/// ([`crate::routes::ai::image_as`]; images count no tokens).
async fn image<A>(ctx: &Ctx<A>, feature: Feature, prompt: &str) -> Result<Vec<u8>, ApiError> {
    crate::routes::ai::image_as(&ctx.state, &ctx.actor, feature, prompt)
        .await
        .map(|i| i.bytes)
}

/// Generate a cover image for a module.
///
/// Those who may edit the module (403 when visible but not editable, 404 `module_not_found`)
/// and use the media library: an image generated from the module's title (and your `style`),
/// stored in the media library as your asset (201). The module is not changed: set its cover
/// yourself. 503 `ai_not_configured` without an image model, 429 `ai_budget_exhausted`, 503
/// `dependency_unavailable` when the provider fails; an image that is not PNG, JPEG, GIF or
/// WebP is 422 `unsupported_file_type` and nothing is stored.
#[utoipa::path(tag = "ai",
    params(("module_id" = Uuid, Path, description = "The module")),
    request_body = CoverImageBody,
    responses((status = 201, body = AssetDto, description = "The image, in the media library"), AuthErrors, InputErrors, NotFound))]
#[post("/ai-assist/modules/{module_id}/cover-images")]
pub(crate) async fn create_module_cover_image(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    body: ValidJson<CoverImageBody>,
) -> Result<HttpResponse, ApiError> {
    let module = path.into_inner();
    let body = body.into_inner();
    let material = ctx
        .write(async |conn| {
            let material = assist::module_material(conn, &ctx.actor, module, None).await?;
            media::check_author(&ctx.actor)?;
            Ok::<_, guild_ai::AiError>(material)
        })
        .await?;
    let prompt = assist::cover_prompt(&material, body.style.as_deref());
    let bytes = image(&ctx, Feature::CoverImage, &prompt).await?;
    let id = Uuid::now_v7();
    // Named after what the bytes are: a provider may answer JPEG or WebP as well as PNG.
    let found = media::sniff("cover", &bytes)?;
    if found.kind != media::AssetKind::Image {
        return Err(guild_learning::LearningError::UnsupportedFileType.into());
    }
    let file_name = format!("cover-{id}.{}", found.extensions[0]);
    let file_type = media::check_inline(&ctx.actor, &file_name, &bytes)?;
    let key = media::blob_key(&ctx.actor, id);
    let upload = NewUpload {
        title: Some(format!(
            "Cover: {}",
            material.title.chars().take(190).collect::<String>()
        )),
        file_name,
        size_bytes: bytes.len() as u64,
    };
    ctx.state
        .blobs
        .put(&key, bytes, file_type.mime)
        .await
        .map_err(blob_error)?;
    let stored = ctx
        .write(async |conn| media::create_stored(conn, &ctx.actor, id, &upload, file_type).await)
        .await;
    if stored.is_err()
        && let Err(e) = ctx.state.blobs.delete(&key).await
    {
        tracing::warn!(error = %e, key, "could not remove the blob of a refused cover image");
    }
    Ok(HttpResponse::Created().json(AssetDto::from(stored?)))
}

/// A suggested essay grade.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EssayGradeSuggestionDto {
    /// The essay question.
    question_id: Uuid,
    /// 0 to `max_points`, to two decimals.
    points: f64,
    /// The essay's points.
    max_points: i32,
    /// Why, in plain text: check it against the answer.
    rationale: String,
}

/// Suggest a grade for an essay.
///
/// A grader of the attempt's module (a mentor, or MANAGE_QUIZZES on it), while the attempt waits
/// for review: points within the essay's maximum and a rationale. Nothing is graded: grade with
/// `POST /v1/attempts/{attempt_id}/grades`. Never for your own attempt (403
/// `cannot_grade_own_attempt`); 409 `attempt_not_pending_review`; 404 `attempt_not_found`, or
/// `question_not_found` for a question that is not an essay of the attempt. 503
/// `ai_not_configured`, 429 `ai_budget_exhausted`, 503 `dependency_unavailable` (also when the
/// model's score is out of range: it is never passed on).
#[utoipa::path(tag = "ai",
    params(("attempt_id" = Uuid, Path, description = "The attempt"),
           ("question_id" = Uuid, Path, description = "An essay question of it")),
    responses((status = 200, body = EssayGradeSuggestionDto, description = "The suggestion"), AuthErrors, NotFound, Conflict))]
#[post("/ai-assist/attempts/{attempt_id}/essays/{question_id}/grade")]
pub(crate) async fn draft_essay_grade(
    ctx: Ctx,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<web::Json<EssayGradeSuggestionDto>, ApiError> {
    let (attempt, question) = path.into_inner();
    let essay = ctx
        .write(async |conn| {
            guild_assessment::attempts::essay_to_grade(
                conn,
                &ctx.actor,
                AttemptId(attempt),
                question,
            )
            .await
        })
        .await?;
    let request = assist::essay_request(
        &essay.question.prompt,
        essay.question.explanation.as_deref(),
        &essay.answer,
        essay.max_points,
    );
    let generated = generate(&ctx, Feature::GradingSuggestion, &request).await?;
    let suggestion = assist::read_essay_grade(&generated.value, essay.max_points)?;
    Ok(web::Json(EssayGradeSuggestionDto {
        question_id: question,
        points: suggestion.points,
        max_points: essay.max_points,
        rationale: suggestion.rationale,
    }))
}

/// A level suggested for a criterion.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SuggestedLevelDto {
    criterion_id: String,
    level_id: String,
    /// The level's points.
    points: i32,
}

/// A suggested submission grade.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SubmissionGradeSuggestionDto {
    /// 0 to `max_score`: the chosen levels' points (capped at `max_score`, as grading caps them),
    /// or a plain score.
    score: f64,
    /// The assignment's best score.
    max_score: i32,
    /// One level per criterion, in the rubric's order (assignments with a rubric); `null`
    /// otherwise. Send it as the grade's `rubric_selection`.
    rubric_selection: Option<Vec<SuggestedLevelDto>>,
    /// Why, in plain text.
    rationale: String,
}

/// Suggest a grade for a submission.
///
/// A grader of the assignment's module (a mentor, or MANAGE_QUIZZES on it), for the current
/// ungraded submission: one level per criterion of the rubric (or a plain score within
/// `max_score`) and a rationale, judged on the submission's text (files are not read). Nothing
/// is graded: grade with `POST /v1/submissions/{submission_id}/grade`. Never for your own
/// submission (403 `cannot_grade_own_submission`); 409 `submission_already_graded`,
/// `submission_superseded`; 404 `submission_not_found`. 503 `ai_not_configured`, 429
/// `ai_budget_exhausted`, 503 `dependency_unavailable` (also when the model names a level the
/// rubric lacks or a score out of range: it is never passed on).
#[utoipa::path(tag = "ai",
    params(("submission_id" = Uuid, Path, description = "The submission")),
    responses((status = 200, body = SubmissionGradeSuggestionDto, description = "The suggestion"), AuthErrors, NotFound, Conflict))]
#[post("/ai-assist/submissions/{submission_id}/grade")]
pub(crate) async fn draft_submission_grade(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<SubmissionGradeSuggestionDto>, ApiError> {
    let id = path.into_inner();
    let found = ctx
        .write(async |conn| guild_assessment::submissions::to_grade(conn, &ctx.actor, id).await)
        .await?;
    let rubric: Option<Vec<RubricCriterion>> = found.assignment.rubric.as_ref().map(|r| {
        r.iter()
            .map(|c| RubricCriterion {
                id: c.id.clone(),
                title: c.title.clone(),
                levels: c
                    .levels
                    .iter()
                    .map(|l| RubricLevel {
                        id: l.id.clone(),
                        title: l.title.clone(),
                        points: l.points,
                    })
                    .collect(),
            })
            .collect()
    });
    let task = SubmissionTask {
        title: &found.assignment.title,
        brief: &found.assignment.brief_html,
        max_score: found.assignment.max_score,
        rubric: rubric.as_deref(),
        text: &found.text,
        files: found.files,
    };
    let generated = generate(
        &ctx,
        Feature::GradingSuggestion,
        &assist::submission_request(&task),
    )
    .await?;
    let suggestion = assist::read_submission_grade(&generated.value, &task)?;
    Ok(web::Json(SubmissionGradeSuggestionDto {
        score: suggestion.score,
        max_score: found.assignment.max_score,
        rubric_selection: suggestion.rubric_selection.map(|s| {
            s.into_iter()
                .map(|c| SuggestedLevelDto {
                    criterion_id: c.criterion_id,
                    level_id: c.level_id,
                    points: c.points,
                })
                .collect()
        }),
        rationale: suggestion.rationale,
    }))
}
