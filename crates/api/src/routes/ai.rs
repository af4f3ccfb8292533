//! `/v1/ai`: what the tenant spends on AI (`GET /v1/ai/usage`) and its AI settings
//! (`/v1/ai/settings`: the monthly token budget, the questions a member may ask a day, the open
//! questions a mentor holds, how long an assigned question waits to be picked up). Also
//! [`generate`], the one way a handler calls the model: the budget checked first, the call
//! timed, and its usage recorded whatever its outcome; and the module builder
//! (`/v1/ai/module-builds`, [`module_builds`]).

use std::time::Instant;

use actix_web::{get, patch, web};
use chrono::{DateTime, Utc};
use guild_ai::settings::{self, Settings, SettingsChanges};
use guild_ai::usage::{self, Feature};
use guild_kernel::ports::ai::{
    AiCapability, AiError as AiPortError, Audio, Embeddings, GenerateRequest, Generated,
    GeneratedImage, Transcript,
};
use guild_kernel::{Actor, TenantId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use crate::ctx::{Ctx, Permitted};
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::routes::common::{AuthErrors, InputErrors, double_option};
use crate::routes::segment;
use crate::state::AppState;

pub(crate) mod module_builds;

/// Registers `/v1/ai`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/ai")
            .service(get_ai_usage)
            .service(get_ai_settings)
            .service(update_ai_settings)
            .service(module_builds::create_module_build)
            .service(module_builds::get_module_build)
            .service(module_builds::retry_module_build),
    );
}

/// Calls the model for `feature` on behalf of the actor: 503 `ai_not_configured` without a chat
/// model, 429 `ai_budget_exhausted` once the month's tokens reached the budget; the call's usage
/// (model, tokens, latency, outcome) is recorded in a transaction of its own, also when it
/// failed. A provider that keeps failing is 503 `dependency_unavailable`.
pub(crate) async fn generate<A>(
    ctx: &Ctx<A>,
    feature: Feature,
    request: &GenerateRequest,
) -> Result<Generated, ApiError> {
    generate_as(&ctx.state, &ctx.actor, feature, request).await
}

/// [`generate`] for `actor` outside a request (a job).
pub(crate) async fn generate_as(
    state: &AppState,
    actor: &Actor,
    feature: Feature,
    request: &GenerateRequest,
) -> Result<Generated, ApiError> {
    let call = state.ai.generate(request);
    metered(
        state,
        actor.tenant_id,
        Some(actor.user_id),
        feature,
        AiCapability::Generation,
        call,
        |g| (g.model.clone(), g.usage.input, g.usage.output),
    )
    .await
}

/// The words spoken in `audio`, for `actor`, under the same rules as [`generate`] (503
/// `ai_not_configured` without a transcription model, the budget checked first, the call
/// recorded).
pub(crate) async fn transcribe_as(
    state: &AppState,
    actor: &Actor,
    feature: Feature,
    audio: &Audio,
) -> Result<Transcript, ApiError> {
    let call = state.ai.transcribe(audio);
    metered(
        state,
        actor.tenant_id,
        Some(actor.user_id),
        feature,
        AiCapability::Transcription,
        call,
        |t| (t.model.clone(), 0, 0),
    )
    .await
}

/// An image for `prompt` (1024×1024), for `actor`, under the same rules as [`generate`] (503
/// `ai_not_configured` without an image model, the budget checked first, the call recorded;
/// images count no tokens).
pub(crate) async fn image_as(
    state: &AppState,
    actor: &Actor,
    feature: Feature,
    prompt: &str,
) -> Result<GeneratedImage, ApiError> {
    let call = state.ai.image(prompt, "1024x1024");
    metered(
        state,
        actor.tenant_id,
        Some(actor.user_id),
        feature,
        AiCapability::Images,
        call,
        |i| (i.model.clone(), 0, 0),
    )
    .await
}

/// One vector per text for `tenant`, on behalf of `user` (none for a job), under the same rules
/// as [`generate`] (503 `ai_not_configured` without an embedding model, the budget checked
/// first, the call recorded).
pub(crate) async fn embed_for(
    state: &AppState,
    tenant: TenantId,
    user: Option<UserId>,
    feature: Feature,
    texts: &[String],
) -> Result<Embeddings, ApiError> {
    let call = state.ai.embed(texts);
    metered(
        state,
        tenant,
        user,
        feature,
        AiCapability::Embeddings,
        call,
        |e| (e.model.clone(), e.usage.input, e.usage.output),
    )
    .await
}

/// The one way a model is called: refused without a model for `capability` or once the
/// tenant's budget is spent ([`admit`]), then `call` (a future, so nothing is sent before the
/// check) timed, and its usage — `usage` of the answer: model, tokens in, tokens out — recorded
/// whatever its outcome ([`record`]).
async fn metered<T>(
    state: &AppState,
    tenant: TenantId,
    user: Option<UserId>,
    feature: Feature,
    capability: AiCapability,
    call: impl Future<Output = Result<T, AiPortError>>,
    usage: impl FnOnce(&T) -> (String, i64, i64),
) -> Result<T, ApiError> {
    admit(state, tenant, capability).await?;
    let started = Instant::now();
    let result = call.await;
    let outcome = result.as_ref().map(usage);
    record(state, tenant, user, feature, capability, started, outcome).await?;
    result.map_err(|e| failed(feature, e))
}

fn failed(feature: Feature, e: AiPortError) -> ApiError {
    tracing::warn!(error = %e, feature = feature.as_str(), "AI call failed");
    ApiError::from(guild_ai::AiError::from(e))
}

/// Refuses a call without a model for `capability` (503 `ai_not_configured`) or once the
/// month's budget is spent (429 `ai_budget_exhausted`).
async fn admit(
    state: &AppState,
    tenant: TenantId,
    capability: AiCapability,
) -> Result<(), ApiError> {
    if !state.ai.configured(capability) {
        return Err(guild_ai::AiError::NotConfigured.into());
    }
    let now = state.clock.now();
    let mut conn = guild_db::connect(&state.db).await?;
    guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
        usage::check_budget(conn, tenant, now).await
    })
    .await?;
    Ok(())
}

/// Records a call (its model, tokens in and out, latency and outcome) in a transaction of its
/// own.
async fn record(
    state: &AppState,
    tenant: TenantId,
    user: Option<UserId>,
    feature: Feature,
    capability: AiCapability,
    started: Instant,
    outcome: Result<(String, i64, i64), &AiPortError>,
) -> Result<(), ApiError> {
    let latency_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
    let call = match outcome {
        Ok((model, input, output)) => usage::Call {
            feature,
            user,
            model,
            input_tokens: input,
            output_tokens: output,
            latency_ms,
            outcome: "OK".to_owned(),
        },
        Err(e) => usage::Call {
            feature,
            user,
            model: state
                .ai
                .model_name(capability)
                .unwrap_or_default()
                .to_owned(),
            input_tokens: 0,
            output_tokens: 0,
            latency_ms,
            outcome: e.outcome().to_owned(),
        },
    };
    let now = state.clock.now();
    let mut conn = guild_db::connect(&state.db).await?;
    guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
        usage::record(conn, tenant, &call, now).await
    })
    .await?;
    Ok(())
}

/// The month's budget.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BudgetDto {
    /// Tokens allowed this month (input and output together).
    limit: i64,
    /// Tokens used this month.
    used: i64,
    /// Tokens left (0 once spent: calls answer 429 `ai_budget_exhausted`).
    remaining: i64,
    /// The budget is the plan's default (no admin set one).
    plan_default: bool,
    /// When the month began (UTC).
    month_start: DateTime<Utc>,
}

/// One feature's calls this month.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FeatureUsageDto {
    /// `QUESTION_ANSWER` (composing answers to questions), `ANSWER_DRAFT` (mentors' drafts),
    /// `TITLE_SUGGESTIONS`, `TAG_SUGGESTIONS`, `QUESTION_SUGGESTIONS`, `COVER_IMAGE` (editors'
    /// assistants), `GRADING_SUGGESTION` (graders') or `MODULE_BUILDER` (the module builder's
    /// transcriptions and drafts).
    feature: String,
    /// Calls made.
    calls: i64,
    /// Calls that failed (rate limited, unavailable, an output that broke its schema…).
    failed: i64,
    input_tokens: i64,
    output_tokens: i64,
}

/// The tenant's AI usage this month.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AiUsageDto {
    budget: BudgetDto,
    /// Calls this month.
    calls: i64,
    input_tokens: i64,
    output_tokens: i64,
    /// Per feature.
    by_feature: Vec<FeatureUsageDto>,
}

/// Get the tenant's AI usage.
///
/// ADMINs and above (an API key with VIEW_ANALYTICS): this month's calls and tokens, in total and
/// per feature, and the monthly token budget with what is left of it. One usage record is kept
/// per model call (feature, member, model, tokens in and out, latency, outcome).
#[utoipa::path(tag = "ai",
    responses((status = 200, body = AiUsageDto, description = "This month's usage"), AuthErrors))]
#[get("/ai/usage")]
pub(crate) async fn get_ai_usage(ctx: Ctx<Permitted>) -> Result<web::Json<AiUsageDto>, ApiError> {
    let now = ctx.now;
    let report = ctx
        .write(async |conn| usage::report(conn, &ctx.actor, now).await)
        .await?;
    Ok(web::Json(AiUsageDto {
        budget: BudgetDto {
            limit: report.budget.limit,
            used: report.budget.used,
            remaining: report.budget.remaining(),
            plan_default: report.plan_default,
            month_start: report.budget.month_start,
        },
        calls: report.calls,
        input_tokens: report.input_tokens,
        output_tokens: report.output_tokens,
        by_feature: report
            .by_feature
            .into_iter()
            .map(|f| FeatureUsageDto {
                feature: f.feature,
                calls: f.calls,
                failed: f.failed,
                input_tokens: f.input_tokens,
                output_tokens: f.output_tokens,
            })
            .collect(),
    }))
}

/// The tenant's AI settings.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AiSettingsDto {
    /// The budget an admin set, or `null` for the plan's (FREE 200000, STARTER 2000000, PRO
    /// 20000000 tokens a month).
    monthly_token_budget: Option<i64>,
    /// The budget in force.
    effective_monthly_token_budget: i64,
    /// Questions a member may ask in 24 hours.
    questions_per_day: i32,
    /// Escalated questions a mentor is assigned at most at once.
    mentor_open_limit: i32,
    /// Minutes an assigned question waits to be picked up before it goes to the next mentor.
    reassign_after_minutes: i32,
}

impl From<Settings> for AiSettingsDto {
    fn from(s: Settings) -> Self {
        Self {
            monthly_token_budget: s.monthly_token_budget,
            effective_monthly_token_budget: s.budget(),
            questions_per_day: s.questions_per_day,
            mentor_open_limit: s.mentor_open_limit,
            reassign_after_minutes: s.reassign_after_minutes,
        }
    }
}

/// Get the tenant's AI settings.
///
/// ADMINs and above.
#[utoipa::path(tag = "ai",
    responses((status = 200, body = AiSettingsDto, description = "The settings"), AuthErrors))]
#[get("/ai/settings")]
pub(crate) async fn get_ai_settings(ctx: Ctx) -> Result<web::Json<AiSettingsDto>, ApiError> {
    let tenant = ctx.actor.tenant_id;
    settings::check_admin(&ctx.actor)?;
    let found = ctx
        .write(async |conn| settings::load(conn, tenant).await)
        .await?;
    Ok(web::Json(found.into()))
}

/// A change of the AI settings: the fields sent replace the tenant's.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "monthly_token_budget": 500000, "questions_per_day": 30 }))]
pub(crate) struct UpdateAiSettingsBody {
    /// Tokens a month, 0 to 1000000000000; `null` goes back to the plan's budget.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 1000000000000.0)]
    monthly_token_budget: Option<Option<i64>>,
    /// 1 to 1000.
    #[validate(range(min = 1, max = 1000))]
    #[schema(minimum = 1, maximum = 1000)]
    questions_per_day: Option<i32>,
    /// 1 to 1000.
    #[validate(range(min = 1, max = 1000))]
    #[schema(minimum = 1, maximum = 1000)]
    mentor_open_limit: Option<i32>,
    /// 5 to 43200 minutes (30 days).
    #[validate(range(min = 5, max = 43_200))]
    #[schema(minimum = 5, maximum = 43_200)]
    reassign_after_minutes: Option<i32>,
}

/// Change the tenant's AI settings.
///
/// ADMINs and above (never an API key): the monthly token budget (`null`: the plan's), the daily
/// question limit per member, the open-question limit per mentor, and the pick-up time after
/// which an assigned question goes to the next mentor.
#[utoipa::path(tag = "ai", request_body = UpdateAiSettingsBody,
    responses((status = 200, body = AiSettingsDto, description = "The settings"), AuthErrors, InputErrors))]
#[patch("/ai/settings")]
pub(crate) async fn update_ai_settings(
    ctx: Ctx,
    body: ValidJson<UpdateAiSettingsBody>,
) -> Result<web::Json<AiSettingsDto>, ApiError> {
    let b = body.into_inner();
    let changes = SettingsChanges {
        monthly_token_budget: b.monthly_token_budget,
        questions_per_day: b.questions_per_day,
        mentor_open_limit: b.mentor_open_limit,
        reassign_after_minutes: b.reassign_after_minutes,
    };
    let now = ctx.now;
    let saved = ctx
        .write(async |conn| settings::update(conn, &ctx.actor, &changes, now).await)
        .await?;
    Ok(web::Json(saved.into()))
}
