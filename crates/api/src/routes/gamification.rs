//! Gamification: XP balances and the explained ledger, leaderboards, manual XP, settings, and
//! the reward shop with its redemptions. XP from completed modules, quiz high scores and
//! compliance renewals is awarded by the worker from the outbox ([`register`]).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use chrono::{DateTime, Utc};
use guild_assessment::events::QuizHighScore;
use guild_db::worker::Registry;
use guild_gamification::GamificationError;
use guild_gamification::leaderboard::{self, Board, Period};
use guild_gamification::ledger::{self, Balance, LedgerItem, ManualInput, XpSummary};
use guild_gamification::rewards::{self, Decision, Redemption, Reward, RewardInput};
use guild_gamification::settings::{self, Settings, SettingsPatch};
use guild_kernel::{Actor, PageRequest, TenantId, UserId};
use guild_learning::compliance::ComplianceRenewal;
use guild_learning::progress::ModuleCompleted;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, IntoResponses, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::auth::{Auth, Authorized};
use crate::error::{ApiError, Problem};
use crate::extract::ValidJson;
use crate::idempotency::{Idempotency, IdempotencyKey, REPLAYED, RequiredIdempotencyHeader};
use crate::routes::common::double_option;
use crate::routes::common::{
    AuthErrors, Conflict, InputErrors, NotFound, PageOf, PageParams, forbidden_codes, in_tenant,
    read_in_tenant,
};
use crate::state::AppState;

/// Registers the XP awards: `learning.module_completed` (per module), `assessment.quiz_high_score`
/// (per quiz) and `learning.compliance_renewal` (per new certificate). Each awards once however
/// often the event is delivered, and nothing for an event that says it is not `rewarded` (an
/// author's or mentor's own module, a second renewal in one validity period).
pub fn register(registry: &mut Registry, state: &AppState) {
    let s = state.clone();
    registry.on_event("xp_module_completed", move |_, e: ModuleCompleted| {
        let state = s.clone();
        async move {
            if !e.rewarded {
                return Ok(());
            }
            award(
                &state,
                e.tenant_id,
                e.user_id,
                "MODULE_COMPLETED",
                e.module_id,
            )
            .await
        }
    });
    let s = state.clone();
    registry.on_event("xp_quiz_high_score", move |_, e: QuizHighScore| {
        let state = s.clone();
        async move {
            if !e.0.rewarded {
                return Ok(());
            }
            award(
                &state,
                e.0.tenant_id,
                e.0.user_id,
                "QUIZ_HIGH_SCORE",
                e.0.quiz_id,
            )
            .await
        }
    });
    let s = state.clone();
    registry.on_event("xp_compliance_renewal", move |_, e: ComplianceRenewal| {
        let state = s.clone();
        async move {
            if !e.rewarded {
                return Ok(());
            }
            award(
                &state,
                e.tenant_id,
                e.user_id,
                "COMPLIANCE_RENEWAL",
                e.certificate_id,
            )
            .await
        }
    });
}

async fn award(
    state: &AppState,
    tenant: Uuid,
    user: Uuid,
    source: &'static str,
    entity: Uuid,
) -> Result<(), guild_db::worker::HandlerError> {
    let mut conn = guild_db::connect(&state.db).await?;
    let tenant = TenantId(tenant);
    guild_db::tenant_transaction(&mut conn, tenant, async |c| {
        ledger::award(c, tenant, UserId(user), source, entity).await
    })
    .await?;
    Ok(())
}

// --- XP -------------------------------------------------------------------------------------

/// A balance.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BalanceDto {
    /// Everything ever earned; decides the rank, never decreases.
    lifetime_xp: i32,
    /// Spendable XP.
    total_xp: i32,
    /// XP held by redemptions waiting for approval.
    held_xp: i32,
    /// VAJENEC, POMOCNIK, MOJSTER or MENTOR.
    rank: String,
    /// Hidden from the leaderboard.
    leaderboard_hidden: bool,
}

impl From<Balance> for BalanceDto {
    fn from(b: Balance) -> Self {
        Self {
            lifetime_xp: b.lifetime_xp,
            total_xp: b.total_xp,
            held_xp: b.held_xp,
            rank: b.rank,
            leaderboard_hidden: b.leaderboard_hidden,
        }
    }
}

/// Your XP.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MyXpDto {
    #[serde(flatten)]
    balance: BalanceDto,
    /// The next rank; absent at MENTOR.
    next_rank: Option<String>,
    /// Lifetime XP the next rank needs.
    next_rank_xp: Option<i32>,
}

impl From<XpSummary> for MyXpDto {
    fn from(s: XpSummary) -> Self {
        Self {
            balance: s.balance.into(),
            next_rank: s.next_rank,
            next_rank_xp: s.next_rank_xp,
        }
    }
}

/// Your balance, rank and what the next rank needs.
#[utoipa::path(tag = "gamification", responses((status = 200, body = MyXpDto, description = "Your XP"), AuthErrors))]
#[get("/xp")]
pub(crate) async fn my_xp(
    state: web::Data<AppState>,
    auth: Auth,
) -> Result<web::Json<MyXpDto>, ApiError> {
    let actor = auth.0;
    let xp = in_tenant(&state, &actor, async |conn| {
        ledger::my_xp(conn, &actor).await
    })
    .await?;
    Ok(web::Json(xp.into()))
}

/// One ledger row.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LedgerItemDto {
    id: Uuid,
    /// AWARD, SPEND, HOLD, RELEASE or MANUAL.
    kind: String,
    /// Signed change of the spendable balance.
    amount: i32,
    /// MODULE_COMPLETED, QUIZ_HIGH_SCORE, MENTOR_CONFIRMATION, TOP_SUGGESTION, COMPLIANCE_RENEWAL,
    /// EVENT_ATTENDED, MANUAL or REDEMPTION.
    source: String,
    /// The module, quiz, certificate or redemption.
    source_entity_id: Option<Uuid>,
    /// E.g. `Completed module “Fire safety”`.
    description: String,
    /// The admin's reason.
    reason: Option<String>,
    created_at: DateTime<Utc>,
}

impl From<LedgerItem> for LedgerItemDto {
    fn from(i: LedgerItem) -> Self {
        Self {
            id: i.id,
            kind: i.kind,
            amount: i.amount,
            source: i.source,
            source_entity_id: i.source_entity_id,
            description: i.description,
            reason: i.reason,
            created_at: i.created_at,
        }
    }
}

/// Your XP ledger, newest first, explained.
#[utoipa::path(tag = "gamification", params(PageParams),
    responses((status = 200, body = PageOf<LedgerItemDto>, description = "Your ledger"), AuthErrors, InputErrors))]
#[get("/xp/transactions")]
pub(crate) async fn my_xp_transactions(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<PageParams>,
) -> Result<web::Json<PageOf<LedgerItemDto>>, ApiError> {
    let actor = auth.0;
    let page = PageRequest::from(&query.into_inner());
    let rows = in_tenant(&state, &actor, async |conn| {
        ledger::transactions(conn, &actor, &page).await
    })
    .await?;
    Ok(web::Json(PageOf::map(rows, LedgerItemDto::from)))
}

/// A manual award (positive) or deduction (negative).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ManualBody {
    /// The member.
    user_id: Uuid,
    /// Non-zero; negative deducts (never below 0 spendable XP).
    #[validate(range(min = -1_000_000, max = 1_000_000))]
    amount: i32,
    /// Why, 1 to 500 characters.
    #[validate(length(min = 1, max = 500))]
    reason: String,
}

/// 403 of a manual adjustment.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "documentation only")]
pub(crate) enum AdjustErrors {
    /// Not allowed.
    #[response(
        status = 403,
        description = concat!(
            "Not allowed: ",
            forbidden_codes!(),
            "; `cannot_award_self` (your own XP is adjusted by another admin, whatever your role)"
        ),
        content_type = "application/problem+json"
    )]
    Forbidden(Problem),
}

/// Award or deduct XP by hand (MANAGE_REWARDS); audited. A deduction larger than the member's
/// spendable XP is 409 `insufficient_xp`.
///
/// Never your own XP (403 `cannot_award_self`). Requires `Idempotency-Key`, so a retried
/// adjustment is applied once.
#[utoipa::path(tag = "gamification", request_body = ManualBody, params(RequiredIdempotencyHeader),
    responses((status = 200, body = BalanceDto, description = "The member's balance after it"), AuthErrors, InputErrors, NotFound, Conflict, AdjustErrors))]
#[post("/adjustments")]
pub(crate) async fn adjust_xp(
    state: web::Data<AppState>,
    auth: Authorized,
    once: Idempotency,
    body: ValidJson<ManualBody>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    once.require()?;
    let b = body.into_inner();
    let input = ManualInput {
        user_id: b.user_id,
        amount: b.amount,
        reason: b.reason,
    };
    once.run(&state, &actor, StatusCode::OK, async |conn| {
        ledger::manual(conn, &actor, &input)
            .await
            .map(BalanceDto::from)
    })
    .await
}

// --- Leaderboard ----------------------------------------------------------------------------

/// Leaderboard filters and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LeaderboardQuery {
    /// `all` (lifetime XP, default), `month` or `week` (XP earned since the start of the UTC
    /// month or ISO week).
    period: Option<String>,
    /// Only members of this group (positions within it): for its members and those who may see
    /// its members (VIEW_GROUP_PROGRESS, VIEW_ALL_PROGRESS or MANAGE_GROUPS covering it).
    group_id: Option<Uuid>,
    /// Rows per page (1–200, default 50).
    limit: Option<u32>,
    /// The previous page's `next_cursor`.
    cursor: Option<String>,
}

/// A leaderboard row.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LeaderboardEntryDto {
    /// 1 for the top; ties share a position.
    rank_position: i64,
    /// Absent for members who hide themselves.
    user_id: Option<Uuid>,
    /// Their name, or "Anonymous".
    name: String,
    /// XP in the period.
    xp: i32,
}

/// Your own place.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LeaderboardMeDto {
    rank_position: i64,
    xp: i32,
}

/// A page of the leaderboard, with your own place even when it is not on the page.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LeaderboardDto {
    data: Vec<LeaderboardEntryDto>,
    next_cursor: Option<String>,
    me: LeaderboardMeDto,
}

impl From<Board> for LeaderboardDto {
    fn from(b: Board) -> Self {
        Self {
            data: b
                .data
                .into_iter()
                .map(|e| LeaderboardEntryDto {
                    rank_position: e.rank_position,
                    user_id: e.user_id,
                    name: e.name,
                    xp: e.xp,
                })
                .collect(),
            next_cursor: b.next_cursor,
            me: LeaderboardMeDto {
                rank_position: b.me.rank_position,
                xp: b.me.xp,
            },
        }
    }
}

/// Who may not see a group's board.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "documentation only")]
pub(crate) enum LeaderboardErrors {
    /// Not allowed.
    #[response(
        status = 403,
        description = concat!(
            "Not allowed: ",
            forbidden_codes!(),
            "; `leaderboard_group_forbidden` (a group's board is for its members and those who may see its members)"
        ),
        content_type = "application/problem+json"
    )]
    Forbidden(Problem),
}

/// The leaderboard: all time by lifetime XP, or this month's or week's earned XP.
///
/// A group's board (`group_id`) is shown to the group's members and to those who may see its
/// members; others get 403 `leaderboard_group_forbidden`, an unknown group 404
/// `group_not_found`. The cursor names no member.
#[utoipa::path(tag = "gamification", params(LeaderboardQuery),
    responses((status = 200, body = LeaderboardDto, description = "The board"), AuthErrors, InputErrors, NotFound, LeaderboardErrors))]
#[get("")]
pub(crate) async fn get_leaderboard(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<LeaderboardQuery>,
) -> Result<web::Json<LeaderboardDto>, ApiError> {
    let actor = auth.0;
    let q = query.into_inner();
    let period = Period::parse(q.period.as_deref().unwrap_or("all")).ok_or_else(|| {
        ApiError::from(GamificationError::invalid(
            "period",
            "invalid",
            "must be all, month or week",
        ))
    })?;
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    let now = state.clock.now();
    let board = read_in_tenant(&state, &actor, async |conn| {
        leaderboard::board(conn, &actor, period, q.group_id, &page, now).await
    })
    .await?;
    Ok(web::Json(board.into()))
}

/// Whether to hide yourself.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VisibilityBody {
    /// `true`: shown as "Anonymous" without your id.
    hidden: bool,
}

/// Hide yourself from the leaderboard (or show yourself again); 409
/// `leaderboard_opt_out_not_allowed` when your organization does not allow hiding.
#[utoipa::path(tag = "gamification", request_body = VisibilityBody,
    responses((status = 200, body = VisibilityBody, description = "Saved"), AuthErrors, InputErrors, Conflict))]
#[put("/leaderboard-visibility")]
pub(crate) async fn set_leaderboard_visibility(
    state: web::Data<AppState>,
    auth: Auth,
    body: ValidJson<VisibilityBody>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let hidden = body.into_inner().hidden;
    let hidden = in_tenant(&state, &actor, async |conn| {
        leaderboard::set_hidden(conn, &actor, hidden).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "hidden": hidden })))
}

// --- Settings -------------------------------------------------------------------------------

/// The tenant's gamification settings.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SettingsDto {
    xp_module_completed: i32,
    xp_quiz_high_score: i32,
    xp_mentor_confirmation: i32,
    xp_top_suggestion: i32,
    xp_compliance_renewal: i32,
    xp_event_attended: i32,
    /// Lifetime XP from which a member is POMOCNIK.
    rank_pomocnik: i32,
    /// … MOJSTER.
    rank_mojster: i32,
    /// … MENTOR.
    rank_mentor: i32,
    /// Whether members may hide from the leaderboard.
    leaderboard_opt_out_allowed: bool,
}

impl From<Settings> for SettingsDto {
    fn from(s: Settings) -> Self {
        Self {
            xp_module_completed: s.xp_module_completed,
            xp_quiz_high_score: s.xp_quiz_high_score,
            xp_mentor_confirmation: s.xp_mentor_confirmation,
            xp_top_suggestion: s.xp_top_suggestion,
            xp_compliance_renewal: s.xp_compliance_renewal,
            xp_event_attended: s.xp_event_attended,
            rank_pomocnik: s.rank_pomocnik,
            rank_mojster: s.rank_mojster,
            rank_mentor: s.rank_mentor,
            leaderboard_opt_out_allowed: s.leaderboard_opt_out_allowed,
        }
    }
}

/// Settings to change; fields left out are kept.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SettingsBody {
    xp_module_completed: Option<i32>,
    xp_quiz_high_score: Option<i32>,
    xp_mentor_confirmation: Option<i32>,
    xp_top_suggestion: Option<i32>,
    xp_compliance_renewal: Option<i32>,
    xp_event_attended: Option<i32>,
    rank_pomocnik: Option<i32>,
    rank_mojster: Option<i32>,
    rank_mentor: Option<i32>,
    leaderboard_opt_out_allowed: Option<bool>,
}

/// The tenant's XP amounts, rank thresholds and leaderboard opt-out switch (MANAGE_REWARDS).
#[utoipa::path(tag = "gamification", responses((status = 200, body = SettingsDto, description = "The settings"), AuthErrors))]
#[get("/settings")]
pub(crate) async fn get_settings(
    state: web::Data<AppState>,
    auth: Authorized,
) -> Result<web::Json<SettingsDto>, ApiError> {
    let actor = auth.0;
    let s = in_tenant(&state, &actor, async |conn| {
        settings::get(conn, &actor).await
    })
    .await?;
    Ok(web::Json(s.into()))
}

/// Change the gamification settings (MANAGE_REWARDS); thresholds must rise.
#[utoipa::path(tag = "gamification", request_body = SettingsBody,
    responses((status = 200, body = SettingsDto, description = "Updated"), AuthErrors, InputErrors))]
#[patch("/settings")]
pub(crate) async fn update_settings(
    state: web::Data<AppState>,
    auth: Authorized,
    body: ValidJson<SettingsBody>,
) -> Result<web::Json<SettingsDto>, ApiError> {
    let actor = auth.0;
    let b = body.into_inner();
    let patch = SettingsPatch {
        xp_module_completed: b.xp_module_completed,
        xp_quiz_high_score: b.xp_quiz_high_score,
        xp_mentor_confirmation: b.xp_mentor_confirmation,
        xp_top_suggestion: b.xp_top_suggestion,
        xp_compliance_renewal: b.xp_compliance_renewal,
        xp_event_attended: b.xp_event_attended,
        rank_pomocnik: b.rank_pomocnik,
        rank_mojster: b.rank_mojster,
        rank_mentor: b.rank_mentor,
        leaderboard_opt_out_allowed: b.leaderboard_opt_out_allowed,
    };
    let s = in_tenant(&state, &actor, async |conn| {
        settings::update(conn, &actor, &patch).await
    })
    .await?;
    Ok(web::Json(s.into()))
}

// --- Rewards --------------------------------------------------------------------------------

/// A reward.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RewardDto {
    id: Uuid,
    title: String,
    description: String,
    image_url: Option<String>,
    /// XP it costs.
    cost_xp: i32,
    /// Units left; `null` is unlimited.
    stock: Option<i32>,
    /// Redemptions per member per calendar month; `null` is unlimited.
    monthly_limit: Option<i32>,
    /// Redemptions wait for an admin.
    approval_required: bool,
    active: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Reward> for RewardDto {
    fn from(r: Reward) -> Self {
        Self {
            id: r.id,
            title: r.title,
            description: r.description,
            image_url: r.image_url,
            cost_xp: r.cost_xp,
            stock: r.stock,
            monthly_limit: r.monthly_limit,
            approval_required: r.approval_required,
            active: r.active,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// A reward's fields. On create `title` and `cost_xp` are required; on update every field left
/// out is kept (send `null` to clear `image_url`, `stock` or `monthly_limit`).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RewardBody {
    #[validate(length(min = 1, max = 200))]
    title: Option<String>,
    #[validate(length(max = 5000))]
    description: Option<String>,
    /// An `https://` URL of at most 2048 characters; `javascript:`, `data:`, `file:` and
    /// `http:` links are refused.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    #[validate(custom(function = "crate::extract::https_link"))]
    image_url: Option<Option<String>>,
    /// Greater than 0.
    #[validate(range(min = 1, max = 1_000_000))]
    cost_xp: Option<i32>,
    /// 0 or more; `null` is unlimited (the default).
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<i32>)]
    #[validate(range(min = 0, max = 1_000_000))]
    stock: Option<Option<i32>>,
    /// 1 or more; `null` is unlimited (the default).
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<i32>)]
    #[validate(range(min = 1, max = 1000))]
    monthly_limit: Option<Option<i32>>,
    approval_required: Option<bool>,
    active: Option<bool>,
}

impl From<RewardBody> for RewardInput {
    fn from(b: RewardBody) -> Self {
        Self {
            title: b.title,
            description: b.description,
            image_url: b.image_url,
            cost_xp: b.cost_xp,
            stock: b.stock,
            monthly_limit: b.monthly_limit,
            approval_required: b.approval_required,
            active: b.active,
        }
    }
}

/// The reward shop: active rewards (every reward for MANAGE_REWARDS holders).
#[utoipa::path(tag = "gamification", params(PageParams),
    responses((status = 200, body = PageOf<RewardDto>, description = "The rewards"), AuthErrors, InputErrors))]
#[get("")]
pub(crate) async fn list_rewards(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<PageParams>,
) -> Result<web::Json<PageOf<RewardDto>>, ApiError> {
    let actor = auth.0;
    let page = PageRequest::from(&query.into_inner());
    let rows = in_tenant(&state, &actor, async |conn| {
        rewards::list(conn, &actor, &page).await
    })
    .await?;
    Ok(web::Json(PageOf::map(rows, RewardDto::from)))
}

/// Create a reward (MANAGE_REWARDS).
#[utoipa::path(tag = "gamification", request_body = RewardBody,
    responses((status = 201, body = RewardDto, description = "Created"), AuthErrors, InputErrors))]
#[post("")]
pub(crate) async fn create_reward(
    state: web::Data<AppState>,
    auth: Authorized,
    body: ValidJson<RewardBody>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let input = RewardInput::from(body.into_inner());
    let r = in_tenant(&state, &actor, async |conn| {
        rewards::create(conn, &actor, &input).await
    })
    .await?;
    Ok(HttpResponse::Created().json(RewardDto::from(r)))
}

/// Change a reward (MANAGE_REWARDS).
#[utoipa::path(tag = "gamification", params(("reward_id" = Uuid, Path, description = "The reward")), request_body = RewardBody,
    responses((status = 200, body = RewardDto, description = "Updated"), AuthErrors, InputErrors, NotFound))]
#[patch("/{reward_id}")]
pub(crate) async fn update_reward(
    state: web::Data<AppState>,
    auth: Authorized,
    path: web::Path<Uuid>,
    body: ValidJson<RewardBody>,
) -> Result<web::Json<RewardDto>, ApiError> {
    let actor = auth.0;
    let id = path.into_inner();
    let input = RewardInput::from(body.into_inner());
    let r = in_tenant(&state, &actor, async |conn| {
        rewards::update(conn, &actor, id, &input).await
    })
    .await?;
    Ok(web::Json(r.into()))
}

/// Remove a reward from the shop (MANAGE_REWARDS); its redemptions are kept.
#[utoipa::path(tag = "gamification", params(("reward_id" = Uuid, Path, description = "The reward")),
    responses((status = 204, description = "Removed"), AuthErrors, NotFound))]
#[delete("/{reward_id}")]
pub(crate) async fn delete_reward(
    state: web::Data<AppState>,
    auth: Authorized,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let id = path.into_inner();
    in_tenant(&state, &actor, async |conn| {
        rewards::delete(conn, &actor, id).await
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A redemption.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RedemptionDto {
    id: Uuid,
    reward_id: Uuid,
    user_id: Uuid,
    cost_xp: i32,
    /// PENDING, APPROVED, REJECTED or CANCELLED.
    status: String,
    /// Why it was rejected or cancelled.
    reason: Option<String>,
    reviewed_by: Option<Uuid>,
    reviewed_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl From<Redemption> for RedemptionDto {
    fn from(r: Redemption) -> Self {
        Self {
            id: r.id,
            reward_id: r.reward_id,
            user_id: r.user_id,
            cost_xp: r.cost_xp,
            status: r.status,
            reason: r.reason,
            reviewed_by: r.reviewed_by,
            reviewed_at: r.reviewed_at,
            created_at: r.created_at,
        }
    }
}

/// What redeeming refuses.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "documentation only")]
pub(crate) enum RedeemErrors {
    /// A missing or malformed Idempotency-Key.
    #[response(
        status = 400,
        description = "`idempotency_key_required`, `invalid_idempotency_key`",
        content_type = "application/problem+json"
    )]
    BadKey(Problem),
    /// The shop refuses.
    #[response(
        status = 409,
        description = "`insufficient_xp`, `reward_out_of_stock`, `reward_inactive`, `reward_monthly_limit_reached`, `reward_changed` (its terms changed during the request; retry)",
        content_type = "application/problem+json"
    )]
    Refused(Problem),
    /// A reused key.
    #[response(
        status = 422,
        description = "`idempotency_key_reused`",
        content_type = "application/problem+json"
    )]
    Reused(Problem),
}

/// Redeem a reward; requires `Idempotency-Key`. Without approval the XP is spent at once
/// (APPROVED); with approval it is held (PENDING) until an admin decides.
#[utoipa::path(tag = "gamification",
    params(("reward_id" = Uuid, Path, description = "The reward"),
        ("Idempotency-Key" = String, Header, description = "A key you make (e.g. a UUID), reused only to retry this same request")),
    responses((status = 201, body = RedemptionDto, description = "Redeemed"), AuthErrors, NotFound, RedeemErrors))]
#[post("/{reward_id}/redemptions")]
pub(crate) async fn redeem_reward(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<Uuid>,
    key: IdempotencyKey,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let id = path.into_inner();
    let now = state.clock.now();
    let r = in_tenant(&state, &actor, async |conn| {
        rewards::redeem(conn, &actor, id, &key.0, now).await
    })
    .await?;
    let mut reply = HttpResponse::Created();
    if r.replayed {
        reply.insert_header((REPLAYED, "true"));
    }
    Ok(reply.json(RedemptionDto::from(r.redemption)))
}

/// Redemption filters and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct RedemptionsQuery {
    /// PENDING, APPROVED, REJECTED or CANCELLED.
    status: Option<String>,
    /// Rows per page (1–200, default 50).
    limit: Option<u32>,
    /// The previous page's `next_cursor`.
    cursor: Option<String>,
}

/// Your redemptions, newest first.
#[utoipa::path(tag = "gamification", params(RedemptionsQuery),
    responses((status = 200, body = PageOf<RedemptionDto>, description = "Your redemptions"), AuthErrors, InputErrors))]
#[get("/redemptions")]
pub(crate) async fn my_redemptions(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<RedemptionsQuery>,
) -> Result<web::Json<PageOf<RedemptionDto>>, ApiError> {
    list_redemptions_of(state, auth.0, query.into_inner(), true).await
}

/// Everyone's redemptions, newest first, e.g. `?status=PENDING` to review (MANAGE_REWARDS).
#[utoipa::path(tag = "gamification", params(RedemptionsQuery),
    responses((status = 200, body = PageOf<RedemptionDto>, description = "The redemptions"), AuthErrors, InputErrors))]
#[get("")]
pub(crate) async fn list_redemptions(
    state: web::Data<AppState>,
    auth: Authorized,
    query: web::Query<RedemptionsQuery>,
) -> Result<web::Json<PageOf<RedemptionDto>>, ApiError> {
    list_redemptions_of(state, auth.0, query.into_inner(), false).await
}

async fn list_redemptions_of(
    state: web::Data<AppState>,
    actor: Actor,
    q: RedemptionsQuery,
    mine: bool,
) -> Result<web::Json<PageOf<RedemptionDto>>, ApiError> {
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    let status = q.status;
    let rows = in_tenant(&state, &actor, async |conn| {
        rewards::redemptions(conn, &actor, mine, status.as_deref(), &page).await
    })
    .await?;
    Ok(web::Json(PageOf::map(rows, RedemptionDto::from)))
}

/// A reason for rejecting or cancelling.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReasonBody {
    /// Up to 500 characters.
    #[validate(length(max = 500))]
    reason: Option<String>,
}

async fn decide(
    state: web::Data<AppState>,
    actor: Actor,
    id: Uuid,
    decision: Decision,
    reason: Option<String>,
) -> Result<web::Json<RedemptionDto>, ApiError> {
    let now = state.clock.now();
    let r = in_tenant(&state, &actor, async |conn| {
        rewards::review(conn, &actor, id, decision, reason.as_deref(), now).await
    })
    .await?;
    Ok(web::Json(r.into()))
}

/// 403 of approving or rejecting a redemption.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "documentation only")]
pub(crate) enum ReviewErrors {
    /// Not allowed.
    #[response(
        status = 403,
        description = concat!(
            "Not allowed: ",
            forbidden_codes!(),
            "; `cannot_review_own_redemption` (another admin decides, whatever your role)"
        ),
        content_type = "application/problem+json"
    )]
    Forbidden(Problem),
}

/// Approve a pending redemption (MANAGE_REWARDS): the held XP is spent.
///
/// Never your own (403 `cannot_review_own_redemption`).
#[utoipa::path(tag = "gamification", params(("redemption_id" = Uuid, Path, description = "The redemption")),
    responses((status = 200, body = RedemptionDto, description = "Approved"), AuthErrors, NotFound, Conflict, ReviewErrors))]
#[post("/{redemption_id}/approve")]
pub(crate) async fn approve_redemption(
    state: web::Data<AppState>,
    auth: Authorized,
    path: web::Path<Uuid>,
) -> Result<web::Json<RedemptionDto>, ApiError> {
    decide(state, auth.0, path.into_inner(), Decision::Approve, None).await
}

/// Reject a pending redemption (MANAGE_REWARDS): the XP and the unit of stock are returned.
///
/// Never your own (403 `cannot_review_own_redemption`; cancel it instead).
#[utoipa::path(tag = "gamification", params(("redemption_id" = Uuid, Path, description = "The redemption")), request_body = ReasonBody,
    responses((status = 200, body = RedemptionDto, description = "Rejected"), AuthErrors, InputErrors, NotFound, Conflict, ReviewErrors))]
#[post("/{redemption_id}/reject")]
pub(crate) async fn reject_redemption(
    state: web::Data<AppState>,
    auth: Authorized,
    path: web::Path<Uuid>,
    body: ValidJson<ReasonBody>,
) -> Result<web::Json<RedemptionDto>, ApiError> {
    decide(
        state,
        auth.0,
        path.into_inner(),
        Decision::Reject,
        body.into_inner().reason,
    )
    .await
}

/// Cancel your own pending redemption: the XP and the unit of stock are returned.
#[utoipa::path(tag = "gamification", params(("redemption_id" = Uuid, Path, description = "The redemption")),
    responses((status = 200, body = RedemptionDto, description = "Cancelled"), AuthErrors, NotFound, Conflict))]
#[post("/{redemption_id}/cancel")]
pub(crate) async fn cancel_redemption(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<Uuid>,
) -> Result<web::Json<RedemptionDto>, ApiError> {
    decide(state, auth.0, path.into_inner(), Decision::Cancel, None).await
}
