//! Gamification: XP balances and the explained ledger, leaderboards, manual XP, settings, and
//! the reward shop with its redemptions. XP from completed modules, quiz high scores and
//! compliance renewals is awarded by the worker from the outbox
//! ([`crate::reactions::gamification`]).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use chrono::{DateTime, Utc};
use guild_gamification::leaderboard::{self, Board, Period};
use guild_gamification::ledger::{
    self, Balance, LedgerItem, LedgerKind, ManualInput, XpSource, XpSummary,
};
use guild_gamification::rewards::{
    self, Decision, Redemption, RedemptionSort, RedemptionStatus, Reward, RewardInput, RewardSort,
};
use guild_gamification::settings::{self, Rank, Settings, SettingsPatch};
use guild_kernel::{Actor, PageRequest};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, IntoResponses, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::auth::{Auth, Authorized};
use crate::error::{ApiError, Problem};
use crate::extract::ValidJson;
use crate::idempotency::{Idempotency, IdempotencyHeader, RequiredIdempotencyHeader};
use crate::routes::common::double_option;
use crate::routes::common::{
    AuthErrors, Conflict, InputErrors, NotFound, PageOf, PageParams, forbidden_codes, in_tenant,
    read_in_tenant,
};
use crate::state::AppState;

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
    /// From lifetime XP.
    rank: Rank,
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
    next_rank: Option<Rank>,
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

/// Get your XP.
///
/// Any member: your balance, rank and what the next rank needs.
#[utoipa::path(tag = "gamification", responses((status = 200, body = MyXpDto, description = "Your XP"), AuthErrors))]
#[get("/xp")]
pub(crate) async fn get_my_xp(
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
    /// What it did to the balance.
    kind: LedgerKind,
    /// Signed change of the spendable balance.
    amount: i32,
    /// Where the XP came from.
    source: XpSource,
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

/// List your XP ledger.
///
/// Any member: every change of your XP, newest first, explained, a page at a time.
#[utoipa::path(tag = "gamification", params(PageParams),
    responses((status = 200, body = PageOf<LedgerItemDto>, description = "Your ledger"), AuthErrors, InputErrors))]
#[get("/xp/transactions")]
pub(crate) async fn list_my_xp_transactions(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<PageParams>,
) -> Result<web::Json<PageOf<LedgerItemDto>>, ApiError> {
    let actor = auth.0;
    let page = PageRequest::from(&query.into_inner());
    let rows = in_tenant(&state, &actor, async |conn| {
        let tenant = actor.tenant_id;
        ledger::transactions(conn, &actor, &page, async |c, ids| {
            guild_progress::titles::of(c, tenant, ids).await
        })
        .await
    })
    .await?;
    Ok(web::Json(PageOf::map(rows, LedgerItemDto::from)))
}

/// A manual award (positive) or deduction (negative).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "user_id": "0190a0b2-7e55-7c3e-9d6b-52f1e1b8c7a0",
    "amount": 50,
    "reason": "Ran the onboarding workshop"
}))]
pub(crate) struct ManualBody {
    /// The member.
    user_id: Uuid,
    /// Non-zero; negative deducts (never below 0 spendable XP). 0 is 422 `validation_failed`.
    #[validate(range(min = -1_000_000, max = 1_000_000))]
    #[schema(minimum = -1_000_000, maximum = 1_000_000)]
    amount: i32,
    /// Why, 1 to 500 characters.
    #[validate(length(min = 1, max = 500))]
    #[schema(min_length = 1, max_length = 500, pattern = "\\S")]
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

/// Adjust a member's XP by hand.
///
/// For MANAGE_REWARDS holders: award or deduct XP, audited. A deduction larger than the
/// member's spendable XP is 409 `insufficient_xp`; an unknown member 404 `member_not_found`.
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
    #[param(inline)]
    period: Option<Period>,
    /// Only members of this group (positions within it): for its members and those who may see
    /// its members (VIEW_GROUP_PROGRESS, VIEW_ALL_PROGRESS or MANAGE_GROUPS covering it).
    group_id: Option<Uuid>,
    /// Rows per page: 1 to 200, 50 when left out.
    #[param(minimum = 1, maximum = 200, default = 50)]
    #[serde(default, deserialize_with = "crate::routes::common::page_limit")]
    limit: Option<u32>,
    /// The previous page's `next_cursor`.
    #[param(max_length = 1024)]
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

/// Get the leaderboard.
///
/// Any member: all time by lifetime XP, or this month's or week's earned XP.
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
    let period = q.period.unwrap_or(Period::All);
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
#[schema(example = json!({"hidden": true}))]
pub(crate) struct VisibilityBody {
    /// `true`: shown as "Anonymous" without your id.
    hidden: bool,
}

/// Set your leaderboard visibility.
///
/// Any member: hide yourself from the leaderboard (shown as "Anonymous"), or show yourself
/// again. 409 `leaderboard_opt_out_not_allowed` when your organization does not allow hiding.
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

/// Settings to change; fields left out are kept. Every number is 0 to 1000000, and the rank
/// thresholds must rise after the change: 0 < `rank_pomocnik` < `rank_mojster` <
/// `rank_mentor` (422 `validation_failed`, `rank_order`, otherwise).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"xp_module_completed": 100, "rank_mentor": 5000, "leaderboard_opt_out_allowed": true}))]
pub(crate) struct SettingsBody {
    /// XP for a completed module.
    #[schema(minimum = 0, maximum = 1_000_000)]
    xp_module_completed: Option<i32>,
    /// XP for a quiz high score.
    #[schema(minimum = 0, maximum = 1_000_000)]
    xp_quiz_high_score: Option<i32>,
    /// XP for a confirmed mentor answer.
    #[schema(minimum = 0, maximum = 1_000_000)]
    xp_mentor_confirmation: Option<i32>,
    /// XP for a top suggestion.
    #[schema(minimum = 0, maximum = 1_000_000)]
    xp_top_suggestion: Option<i32>,
    /// XP for a compliance renewal.
    #[schema(minimum = 0, maximum = 1_000_000)]
    xp_compliance_renewal: Option<i32>,
    /// XP for an attended event.
    #[schema(minimum = 0, maximum = 1_000_000)]
    xp_event_attended: Option<i32>,
    /// Lifetime XP from which a member is POMOCNIK (above 0).
    #[schema(minimum = 1, maximum = 1_000_000)]
    rank_pomocnik: Option<i32>,
    /// … MOJSTER (above `rank_pomocnik`).
    #[schema(minimum = 1, maximum = 1_000_000)]
    rank_mojster: Option<i32>,
    /// … MENTOR (above `rank_mojster`).
    #[schema(minimum = 1, maximum = 1_000_000)]
    rank_mentor: Option<i32>,
    /// Whether members may hide from the leaderboard.
    leaderboard_opt_out_allowed: Option<bool>,
}

/// Get the gamification settings.
///
/// For MANAGE_REWARDS holders: the tenant's XP amounts, rank thresholds and leaderboard opt-out
/// switch.
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

/// Update the gamification settings.
///
/// For MANAGE_REWARDS holders; fields left out are kept, and the rank thresholds must rise (422
/// `validation_failed` with `rank_order`).
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

/// A new reward.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "title": "Company hoodie",
    "description": "Navy, with the logo; pick your size at the front desk.",
    "image_url": "https://cdn.example.com/rewards/hoodie.png",
    "cost_xp": 500,
    "stock": 25,
    "monthly_limit": 1,
    "approval_required": true
}))]
pub(crate) struct CreateRewardBody {
    /// 1 to 200 characters, not blank (trimmed).
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    title: String,
    /// Up to 5000 characters (empty when left out).
    #[validate(length(max = 5000))]
    #[schema(max_length = 5000)]
    description: Option<String>,
    /// An `https://` URL of at most 2048 characters; `javascript:`, `data:`, `file:` and
    /// `http:` links are refused.
    #[validate(custom(function = "crate::extract::https_link"))]
    #[schema(
        max_length = 2048,
        pattern = r"^[Hh][Tt][Tt][Pp][Ss]://(?:[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@.:][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@:]*|[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@.][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@]*:[0-9]*|(?:[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@.][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@]*)?:[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@:]*\][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@:]*)(?:[/?#][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\]*)?$"
    )]
    image_url: Option<String>,
    /// XP it costs, above 0.
    #[validate(range(min = 1, max = 1_000_000))]
    #[schema(minimum = 1, maximum = 1_000_000)]
    cost_xp: i32,
    /// Units in stock; left out or `null` is unlimited.
    #[validate(range(min = 0, max = 1_000_000))]
    #[schema(minimum = 0, maximum = 1_000_000)]
    stock: Option<i32>,
    /// Redemptions per member per calendar month; left out or `null` is unlimited.
    #[validate(range(min = 1, max = 1000))]
    #[schema(minimum = 1, maximum = 1000)]
    monthly_limit: Option<i32>,
    /// Redemptions wait for an admin (default false).
    approval_required: Option<bool>,
    /// Members may redeem it (default true).
    active: Option<bool>,
}

impl From<CreateRewardBody> for RewardInput {
    fn from(b: CreateRewardBody) -> Self {
        Self {
            title: Some(b.title),
            description: b.description,
            image_url: b.image_url.map(Some),
            cost_xp: Some(b.cost_xp),
            stock: Some(b.stock),
            monthly_limit: Some(b.monthly_limit),
            approval_required: b.approval_required,
            active: b.active,
        }
    }
}

/// Changes to a reward: every field left out is kept; send `null` to clear `image_url`, or to
/// make `stock` or `monthly_limit` unlimited.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"cost_xp": 450, "stock": null, "active": true}))]
pub(crate) struct UpdateRewardBody {
    /// 1 to 200 characters, not blank (trimmed).
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    title: Option<String>,
    /// Up to 5000 characters.
    #[validate(length(max = 5000))]
    #[schema(max_length = 5000)]
    description: Option<String>,
    /// An `https://` URL of at most 2048 characters; `javascript:`, `data:`, `file:` and
    /// `http:` links are refused. `null` removes the image.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 2048, pattern = r"^[Hh][Tt][Tt][Pp][Ss]://(?:[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@.:][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@:]*|[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@.][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@]*:[0-9]*|(?:[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@.][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@]*)?:[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@:]*\][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@:]*)(?:[/?#][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\]*)?$")]
    #[validate(custom(function = "crate::extract::https_link"))]
    image_url: Option<Option<String>>,
    /// XP it costs, above 0.
    #[validate(range(min = 1, max = 1_000_000))]
    #[schema(minimum = 1, maximum = 1_000_000)]
    cost_xp: Option<i32>,
    /// Units in stock; `null` is unlimited.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<i32>, minimum = 0, maximum = 1_000_000)]
    #[validate(range(min = 0, max = 1_000_000))]
    stock: Option<Option<i32>>,
    /// Redemptions per member per calendar month; `null` is unlimited.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<i32>, minimum = 1, maximum = 1000)]
    #[validate(range(min = 1, max = 1000))]
    monthly_limit: Option<Option<i32>>,
    /// Redemptions wait for an admin.
    approval_required: Option<bool>,
    /// Members may redeem it.
    active: Option<bool>,
}

impl From<UpdateRewardBody> for RewardInput {
    fn from(b: UpdateRewardBody) -> Self {
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

/// Reward list paging and order.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct RewardsQuery {
    /// The order: by title, cost or creation, `-` for descending; ties by reward id. Without
    /// it, by reward id. A cursor belongs to the sort it was made with.
    #[param(inline)]
    sort: Option<RewardSort>,
    /// Page size: 1 to 200, 50 when left out.
    #[param(minimum = 1, maximum = 200, default = 50)]
    #[serde(default, deserialize_with = "crate::routes::common::page_limit")]
    limit: Option<u32>,
    /// The previous page's `next_cursor`.
    #[param(max_length = 1024)]
    cursor: Option<String>,
}

/// List the reward shop.
///
/// Any member sees the active rewards; MANAGE_REWARDS holders see every reward. Sorted by
/// `sort`, a page at a time; 422 `invalid_cursor` for a cursor not made by this list with this
/// sort.
#[utoipa::path(tag = "gamification", params(RewardsQuery),
    responses((status = 200, body = PageOf<RewardDto>, description = "The rewards"), AuthErrors, InputErrors))]
#[get("")]
pub(crate) async fn list_rewards(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<RewardsQuery>,
) -> Result<web::Json<PageOf<RewardDto>>, ApiError> {
    let actor = auth.0;
    let q = query.into_inner();
    let sort = q.sort;
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    let rows = in_tenant(&state, &actor, async |conn| {
        rewards::list(conn, &actor, sort, &page).await
    })
    .await?;
    Ok(web::Json(PageOf::map(rows, RewardDto::from)))
}

/// Create a reward.
///
/// For MANAGE_REWARDS holders: a reward in the shop. With an `Idempotency-Key`, a retry answers
/// the first response and creates once (the same key with another request is 422
/// `idempotency_key_reused`; a malformed key 400 `invalid_idempotency_key`).
#[utoipa::path(tag = "gamification", params(IdempotencyHeader), request_body = CreateRewardBody,
    responses((status = 201, body = RewardDto, description = "Created"), AuthErrors, InputErrors))]
#[post("")]
pub(crate) async fn create_reward(
    state: web::Data<AppState>,
    auth: Authorized,
    once: Idempotency,
    body: ValidJson<CreateRewardBody>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let input = RewardInput::from(body.into_inner());
    once.run(&state, &actor, StatusCode::CREATED, async |conn| {
        rewards::create(conn, &actor, &input)
            .await
            .map(RewardDto::from)
    })
    .await
}

/// Update a reward.
///
/// For MANAGE_REWARDS holders; fields left out are kept. 404 `reward_not_found`.
#[utoipa::path(tag = "gamification", params(("reward_id" = Uuid, Path, description = "The reward")), request_body = UpdateRewardBody,
    responses((status = 200, body = RewardDto, description = "Updated"), AuthErrors, InputErrors, NotFound))]
#[patch("/{reward_id}")]
pub(crate) async fn update_reward(
    state: web::Data<AppState>,
    auth: Authorized,
    path: web::Path<Uuid>,
    body: ValidJson<UpdateRewardBody>,
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

/// Delete a reward.
///
/// For MANAGE_REWARDS holders: the reward leaves the shop; its redemptions are kept. 404
/// `reward_not_found`.
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
    /// Where it is.
    status: RedemptionStatus,
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

/// Redeem a reward.
///
/// Any member may redeem an active reward they can afford. Without approval the XP is spent at
/// once (APPROVED); with approval it is held (PENDING) until a MANAGE_REWARDS holder decides.
/// Requires `Idempotency-Key` (400 `idempotency_key_required` without it), so a retried
/// redemption spends once: the retry answers the first response with `Idempotent-Replayed: true`.
/// 409 `insufficient_xp`, `reward_out_of_stock`, `reward_inactive`,
/// `reward_monthly_limit_reached` or `reward_changed`; 404 `reward_not_found`.
#[utoipa::path(tag = "gamification",
    params(("reward_id" = Uuid, Path, description = "The reward"), RequiredIdempotencyHeader),
    responses((status = 201, body = RedemptionDto, description = "Redeemed"), AuthErrors, NotFound, RedeemErrors))]
#[post("/{reward_id}/redemptions")]
pub(crate) async fn redeem_reward(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<Uuid>,
    once: Idempotency,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    once.require()?;
    let id = path.into_inner();
    let now = state.clock.now();
    once.run(&state, &actor, StatusCode::CREATED, async |conn| {
        rewards::redeem(conn, &actor, id, now)
            .await
            .map(RedemptionDto::from)
    })
    .await
}

/// Redemption filters, order and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct RedemptionsQuery {
    /// Only this status.
    status: Option<RedemptionStatus>,
    /// The order: by time or cost, `-` for descending; ties by redemption id. Without it,
    /// newest first. A cursor belongs to the sort it was made with.
    #[param(inline)]
    sort: Option<RedemptionSort>,
    /// Rows per page: 1 to 200, 50 when left out.
    #[param(minimum = 1, maximum = 200, default = 50)]
    #[serde(default, deserialize_with = "crate::routes::common::page_limit")]
    limit: Option<u32>,
    /// The previous page's `next_cursor`.
    #[param(max_length = 1024)]
    cursor: Option<String>,
}

/// List your redemptions.
///
/// Any member: your own redemptions, newest first unless `sort` says otherwise, a page at a
/// time.
#[utoipa::path(tag = "gamification", params(RedemptionsQuery),
    responses((status = 200, body = PageOf<RedemptionDto>, description = "Your redemptions"), AuthErrors, InputErrors))]
#[get("/redemptions")]
pub(crate) async fn list_my_redemptions(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<RedemptionsQuery>,
) -> Result<web::Json<PageOf<RedemptionDto>>, ApiError> {
    list_redemptions_of(state, auth.0, query.into_inner(), true).await
}

/// List every member's redemptions.
///
/// For MANAGE_REWARDS holders: newest first unless `sort` says otherwise, e.g.
/// `?status=PENDING` to review, a page at a time.
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
    let (status, sort) = (q.status, q.sort);
    let rows = in_tenant(&state, &actor, async |conn| {
        rewards::redemptions(conn, &actor, mine, status, sort, &page).await
    })
    .await?;
    Ok(web::Json(PageOf::map(rows, RedemptionDto::from)))
}

/// A reason for rejecting or cancelling.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Out of hoodies in your size until March"}))]
pub(crate) struct ReasonBody {
    /// Up to 500 characters.
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
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

/// Approve a pending redemption.
///
/// For MANAGE_REWARDS holders: the held XP is spent. 409 `redemption_not_pending`; 404
/// `redemption_not_found`. Never your own (403 `cannot_review_own_redemption`).
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

/// Reject a pending redemption.
///
/// For MANAGE_REWARDS holders: the XP and the unit of stock are returned. 409
/// `redemption_not_pending`; 404 `redemption_not_found`. Never your own (403 `cannot_review_own_redemption`; cancel it instead).
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

/// Cancel your own pending redemption.
///
/// Any member, on their own redemption: the XP and the unit of stock are returned. 409
/// `redemption_not_pending`; 404 `redemption_not_found` (also for another member's).
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
