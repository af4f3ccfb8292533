//! Questions: `/v1/questions`. A member asks (about a module or in general) and gets an answer at
//! once from what they may see — composed by the AI model from the cited passages when one is
//! configured, the best passages themselves otherwise; they mark it helpful or escalate it to the
//! module's mentors (round robin), the assigned mentor picks it up and answers, and the asker
//! accepts the answer, which later questions then find. Assignments, answers and acceptances
//! notify through the worker ([`crate::reactions::questions`]).

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use guild_ai::prompts;
use guild_ai::questions::{self, AnswerSource, QuestionRow, QuestionStatus, Scope};
use guild_ai::retrieval::{self, Citation, PassageKind};
use guild_ai::usage::Feature;
use guild_kernel::ports::ai::AiCapability;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::routes::common::{AuthErrors, Conflict, InputErrors, NotFound, PageOf};
use crate::routes::segment;

/// Registers `/v1/questions`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/questions")
            .service(list_knowledge_questions)
            .service(create_knowledge_question)
            .service(get_knowledge_question)
            .service(mark_knowledge_question_helpful)
            .service(escalate_knowledge_question)
            .service(claim_knowledge_question)
            .service(answer_knowledge_question)
            .service(accept_knowledge_question_answer)
            .service(draft_knowledge_question_answer),
    );
}

/// A passage an answer cites.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CitationDto {
    /// `SECTION`, `CHAT_ANSWER` (a mentor confirmed it in the module's room) or
    /// `QUESTION_ANSWER` (an earlier question's accepted answer).
    kind: PassageKind,
    /// The section, confirmed chat answer or question.
    id: Uuid,
    module_id: Uuid,
    module_title: String,
    /// The section's title, or the question asked.
    title: String,
    /// The start of its text.
    excerpt: String,
}

impl From<Citation> for CitationDto {
    fn from(c: Citation) -> Self {
        Self {
            kind: c.kind,
            id: c.id,
            module_id: c.module_id,
            module_title: c.module_title,
            title: c.title,
            excerpt: c.excerpt,
        }
    }
}

/// A question and its answers.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct KnowledgeQuestionDto {
    id: Uuid,
    asker_id: Uuid,
    /// The module it is about (set when a general question is escalated).
    module_id: Option<Uuid>,
    /// The question.
    body: String,
    /// `ANSWERED` → `RESOLVED` (helpful) or `ESCALATED` → `MENTOR_ANSWERED` → `ACCEPTED`.
    status: QuestionStatus,
    /// The first answer, sanitized HTML: the model's, from the cited passages (`AI`), or the
    /// best passages themselves (`RETRIEVAL`).
    answer_html: String,
    answer_source: AnswerSource,
    /// The passages the first answer cites.
    citations: Vec<CitationDto>,
    /// The mentor it is assigned to (escalated).
    assignee_id: Option<Uuid>,
    assigned_at: Option<DateTime<Utc>>,
    /// When the assigned mentor picked it up (it then stays theirs).
    claimed_at: Option<DateTime<Utc>>,
    escalated_at: Option<DateTime<Utc>>,
    /// The mentor's answer (plain text).
    mentor_answer: Option<String>,
    answered_by: Option<Uuid>,
    answered_at: Option<DateTime<Utc>>,
    accepted_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<QuestionRow> for KnowledgeQuestionDto {
    fn from(q: QuestionRow) -> Self {
        let citations = q.citations().into_iter().map(CitationDto::from).collect();
        Self {
            id: q.id,
            asker_id: q.asker_id,
            module_id: q.module_id,
            body: q.body,
            status: q.status,
            answer_html: q.answer_html,
            answer_source: q.answer_source,
            citations,
            assignee_id: q.assignee_id,
            assigned_at: q.assigned_at,
            claimed_at: q.claimed_at,
            escalated_at: q.escalated_at,
            mentor_answer: q.mentor_answer,
            answered_by: q.answered_by,
            answered_at: q.answered_at,
            accepted_at: q.accepted_at,
            created_at: q.created_at,
            updated_at: q.updated_at,
        }
    }
}

/// Which questions a list shows.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum QuestionScopeParam {
    /// Yours.
    #[default]
    Mine,
    /// Those assigned to you, or that you answered.
    Assigned,
    /// Those of the members below you in the manager tree.
    Team,
}

/// Which questions, a page at a time.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct QuestionQuery {
    /// `mine` (default), `assigned` or `team`.
    #[serde(default)]
    #[param(inline)]
    scope: QuestionScopeParam,
    /// Only this status.
    status: Option<QuestionStatus>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200, default = 50)]
    #[serde(default, deserialize_with = "crate::routes::common::page_limit")]
    limit: Option<u32>,
    /// The previous page's `next_cursor` (for the same filters).
    #[param(max_length = 1024)]
    cursor: Option<String>,
}

/// List questions.
///
/// `scope=mine` (default): the questions you asked; `assigned`: those assigned to you or that you
/// answered; `team`: those of the members below you in the manager tree. Newest first.
#[utoipa::path(tag = "questions", params(QuestionQuery),
    responses((status = 200, body = PageOf<KnowledgeQuestionDto>, description = "The questions"), AuthErrors, InputErrors))]
#[get("/questions")]
pub(crate) async fn list_knowledge_questions(
    ctx: Ctx,
    query: web::Query<QuestionQuery>,
) -> Result<web::Json<PageOf<KnowledgeQuestionDto>>, ApiError> {
    let q = query.into_inner();
    let scope = match q.scope {
        QuestionScopeParam::Mine => Scope::Mine,
        QuestionScopeParam::Assigned => Scope::Assigned,
        QuestionScopeParam::Team => Scope::Team,
    };
    let page = guild_kernel::PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    let status = q.status;
    let found = ctx
        .write(async |conn| questions::list(conn, &ctx.actor, scope, status, &page).await)
        .await?;
    Ok(web::Json(PageOf::map(found, KnowledgeQuestionDto::from)))
}

/// A question to ask.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "body": "How often do I renew my first aid certificate?" }))]
pub(crate) struct AskQuestionBody {
    /// 3 to 2000 characters, not only spaces (trimmed).
    #[validate(
        length(min = 3, max = 2000),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 3, max_length = 2000, pattern = "\\S")]
    body: String,
    /// The module it is about (one you may see); left out: a general question.
    module_id: Option<Uuid>,
}

/// Ask a question.
///
/// Any member but a VIEWER (an API key only with `act_as_member`). The answer comes at once from
/// what you may see — sections of published modules visible to you, answers mentors confirmed in
/// their modules' rooms, earlier accepted answers — ranked by full-text search, fused with vector
/// similarity where the database has pgvector and an embedding model is configured: composed by the
/// AI model from the cited passages when one is configured (and the tenant's monthly budget is
/// not spent), the best passages themselves otherwise (`answer_source`). Passages are data to the
/// model: nothing it says is applied, its answer is only shown. At most the tenant's
/// `questions_per_day` (20 by default) in 24 hours: 429 `question_limit_reached`. A module you
/// may not see is 404 `module_not_found`.
#[utoipa::path(tag = "questions", request_body = AskQuestionBody,
    responses((status = 201, body = KnowledgeQuestionDto, description = "Asked and answered"), AuthErrors, InputErrors, NotFound))]
#[post("/questions")]
pub(crate) async fn create_knowledge_question(
    ctx: Ctx,
    body: ValidJson<AskQuestionBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let now = ctx.now;
    let query = question_vector(&ctx, &b.body).await?;
    let asked = ctx
        .write(async |conn| {
            questions::ask(conn, &ctx.actor, &b.body, b.module_id, query.as_ref(), now).await
        })
        .await?;
    let mut question = asked.question;
    let passages = asked.passages;
    // Without passages there is nothing to compose an answer from: no tokens are spent.
    if ctx.state.ai.configured(AiCapability::Generation) && !passages.is_empty() {
        let request = prompts::answer_request(&question.body, &passages);
        match crate::routes::ai::generate(&ctx, Feature::QuestionAnswer, &request).await {
            Ok(generated) => {
                let answer = prompts::read_answer(&generated.value, &passages);
                let (tenant, id, now) = (ctx.actor.tenant_id, question.id, ctx.state.clock.now());
                question = ctx
                    .write(async |conn| {
                        questions::record_ai_answer(conn, tenant, id, &answer, now).await
                    })
                    .await?;
            }
            // The retrieval answer stands: the question still works without the model.
            Err(e) => tracing::info!(code = e.code(), "question answered by retrieval only"),
        }
    }
    Ok(HttpResponse::Created().json(KnowledgeQuestionDto::from(question)))
}

/// The question's embedding, for vector search, when the database and the model allow it and
/// the member may still ask today (nothing is spent on a question refused anyway). A failed or
/// refused call (the budget spent, the provider down) leaves full-text search alone.
async fn question_vector(
    ctx: &Ctx,
    body: &str,
) -> Result<Option<retrieval::QueryVector>, ApiError> {
    if !ctx.state.vector_search().await {
        return Ok(None);
    }
    let now = ctx.now;
    ctx.write(async |conn| questions::within_daily_limit(conn, &ctx.actor, now).await)
        .await?;
    let texts = [body.trim().to_owned()];
    let (tenant, user) = (ctx.actor.tenant_id, Some(ctx.actor.user_id));
    match crate::routes::ai::embed_for(&ctx.state, tenant, user, Feature::QuestionSearch, &texts)
        .await
    {
        Ok(mut embedded) if embedded.vectors.len() == 1 => Ok(Some(retrieval::QueryVector {
            // The name passages were embedded under (`ai.index_passages`).
            model: ctx
                .state
                .ai
                .model_name(AiCapability::Embeddings)
                .unwrap_or_default()
                .to_owned(),
            vector: embedded.vectors.swap_remove(0),
        })),
        Ok(_) => Ok(None),
        Err(e) => {
            tracing::info!(code = e.code(), "question searched by full text only");
            Ok(None)
        }
    }
}

/// Get a question.
///
/// Its asker, the mentor it is assigned to or who answered it, and the managers above the asker
/// in the manager tree; anyone else gets 404 `question_not_found` (another tenant's included).
#[utoipa::path(tag = "questions",
    params(("question_id" = Uuid, Path, description = "The question")),
    responses((status = 200, body = KnowledgeQuestionDto, description = "The question"), AuthErrors, NotFound))]
#[get("/questions/{question_id}")]
pub(crate) async fn get_knowledge_question(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<KnowledgeQuestionDto>, ApiError> {
    let id = path.into_inner();
    let found = ctx
        .write(async |conn| questions::visible(conn, &ctx.actor, id, false).await)
        .await?;
    Ok(web::Json(found.into()))
}

/// Mark a question's answer helpful.
///
/// Its asker: `ANSWERED` → `RESOLVED` (409 `invalid_status_transition` from any other status).
#[utoipa::path(tag = "questions",
    params(("question_id" = Uuid, Path, description = "The question")),
    responses((status = 200, body = KnowledgeQuestionDto, description = "Resolved"), AuthErrors, NotFound, Conflict))]
#[post("/questions/{question_id}/helpful")]
pub(crate) async fn mark_knowledge_question_helpful(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<KnowledgeQuestionDto>, ApiError> {
    let (id, now) = (path.into_inner(), ctx.now);
    let done = ctx
        .write(async |conn| questions::resolve(conn, &ctx.actor, id, now).await)
        .await?;
    Ok(web::Json(done.into()))
}

/// Where an escalated question goes.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({}))]
pub(crate) struct EscalateQuestionBody {
    /// For a general question: the module (one you may see) whose mentors answer it. A question
    /// about a module goes to that module's mentors.
    module_id: Option<Uuid>,
}

/// Escalate a question to a mentor.
///
/// Its asker, from `ANSWERED` or `RESOLVED`: the question goes to one of the module's active
/// mentors by round robin — never you, nobody away now, nobody holding the tenant's
/// `mentor_open_limit` of escalated questions — who is told (QUESTION_ASSIGNED). With none
/// eligible now it waits unassigned and is assigned by the worker as soon as one is; a mentor
/// who does not pick it up within the tenant's `reassign_after_minutes` loses it to the next.
/// 409 `module_has_no_mentor` when nobody else mentors the module; 422 with `module_id`
/// `required` for a general question without a module.
#[utoipa::path(tag = "questions", request_body = EscalateQuestionBody,
    params(("question_id" = Uuid, Path, description = "The question")),
    responses((status = 200, body = KnowledgeQuestionDto, description = "Escalated"), AuthErrors, InputErrors, NotFound, Conflict))]
#[post("/questions/{question_id}/escalate")]
pub(crate) async fn escalate_knowledge_question(
    ctx: Ctx,
    path: web::Path<Uuid>,
    body: ValidJson<EscalateQuestionBody>,
) -> Result<web::Json<KnowledgeQuestionDto>, ApiError> {
    let (id, now, module) = (path.into_inner(), ctx.now, body.into_inner().module_id);
    let done = ctx
        .write(async |conn| questions::escalate(conn, &ctx.actor, id, module, now).await)
        .await?;
    Ok(web::Json(done.into()))
}

/// Pick up a question assigned to you.
///
/// The mentor it is assigned to, while `ESCALATED`: it stays yours (it is not moved to the next
/// mentor after the pick-up time). Idempotent.
#[utoipa::path(tag = "questions",
    params(("question_id" = Uuid, Path, description = "The question")),
    responses((status = 200, body = KnowledgeQuestionDto, description = "Picked up"), AuthErrors, NotFound, Conflict))]
#[post("/questions/{question_id}/claim")]
pub(crate) async fn claim_knowledge_question(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<KnowledgeQuestionDto>, ApiError> {
    let (id, now) = (path.into_inner(), ctx.now);
    let done = ctx
        .write(async |conn| questions::claim(conn, &ctx.actor, id, now).await)
        .await?;
    Ok(web::Json(done.into()))
}

/// A mentor's answer.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "body": "Every two years; the platform reminds you a month before." }))]
pub(crate) struct AnswerQuestionBody {
    /// Plain text, 1 to 10000 characters, not only spaces.
    #[validate(
        length(min = 1, max = 10000),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 10000, pattern = "\\S")]
    body: String,
}

/// Answer a question assigned to you.
///
/// The mentor it is assigned to, while `ESCALATED` (→ `MENTOR_ANSWERED`); the asker is told
/// (QUESTION_ANSWERED).
#[utoipa::path(tag = "questions", request_body = AnswerQuestionBody,
    params(("question_id" = Uuid, Path, description = "The question")),
    responses((status = 200, body = KnowledgeQuestionDto, description = "Answered"), AuthErrors, InputErrors, NotFound, Conflict))]
#[post("/questions/{question_id}/answer")]
pub(crate) async fn answer_knowledge_question(
    ctx: Ctx,
    path: web::Path<Uuid>,
    body: ValidJson<AnswerQuestionBody>,
) -> Result<web::Json<KnowledgeQuestionDto>, ApiError> {
    let (id, now, text) = (path.into_inner(), ctx.now, body.into_inner().body);
    let done = ctx
        .write(async |conn| questions::answer(conn, &ctx.actor, id, &text, now).await)
        .await?;
    Ok(web::Json(done.into()))
}

/// Accept a mentor's answer.
///
/// Its asker, from `MENTOR_ANSWERED` (→ `ACCEPTED`): the question and its answer become knowledge
/// later questions find, and the mentor is told (QUESTION_ACCEPTED) and earns
/// MENTOR_CONFIRMATION XP, once. Nobody accepts their own answer (403
/// `cannot_accept_own_answer`).
#[utoipa::path(tag = "questions",
    params(("question_id" = Uuid, Path, description = "The question")),
    responses((status = 200, body = KnowledgeQuestionDto, description = "Accepted"), AuthErrors, NotFound, Conflict))]
#[post("/questions/{question_id}/accept")]
pub(crate) async fn accept_knowledge_question_answer(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<KnowledgeQuestionDto>, ApiError> {
    let (id, now) = (path.into_inner(), ctx.now);
    let done = ctx
        .write(async |conn| questions::accept(conn, &ctx.actor, id, now).await)
        .await?;
    Ok(web::Json(done.into()))
}

/// A draft answer for the mentor.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AnswerDraftDto {
    /// The draft, sanitized HTML: yours to edit and send (nothing is sent or stored).
    answer_html: String,
    /// The passages it uses.
    citations: Vec<CitationDto>,
}

/// Draft an answer with AI.
///
/// The mentor a question is assigned to, while `ESCALATED`: the model drafts an answer from the
/// passages you may see. Nothing is stored or sent: you answer with
/// `POST /v1/questions/{question_id}/answer`. 503 `ai_not_configured` without a model, 429
/// `ai_budget_exhausted` once the month's tokens are spent, 503 `dependency_unavailable` when the
/// provider keeps failing.
#[utoipa::path(tag = "questions",
    params(("question_id" = Uuid, Path, description = "The question")),
    responses((status = 200, body = AnswerDraftDto, description = "The draft"), AuthErrors, NotFound, Conflict))]
#[post("/questions/{question_id}/draft")]
pub(crate) async fn draft_knowledge_question_answer(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<AnswerDraftDto>, ApiError> {
    let id = path.into_inner();
    let (question, passages) = ctx
        .write(async |conn| questions::draft_material(conn, &ctx.actor, id).await)
        .await?;
    let request = prompts::draft_request(&question.body, &passages);
    let generated = crate::routes::ai::generate(&ctx, Feature::AnswerDraft, &request).await?;
    let answer = prompts::read_answer(&generated.value, &passages);
    Ok(web::Json(AnswerDraftDto {
        answer_html: answer.html,
        citations: answer
            .citations
            .into_iter()
            .map(CitationDto::from)
            .collect(),
    }))
}
