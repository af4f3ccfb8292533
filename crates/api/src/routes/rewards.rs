//! `/v1/rewards`: the reward shop, and redeeming a reward. The redemptions themselves are
//! `/v1/redemptions` (reviewing them) and `/v1/me/redemptions` (yours).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use guild_gamification::rewards::{self, Reward, RewardInput, RewardSort};
use guild_kernel::{PageRequest, RewardId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, IntoResponses, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::{Ctx, Permitted};
use crate::error::{ApiError, Problem};
use crate::extract::ValidJson;
use crate::idempotency::{Idempotency, IdempotencyHeader, RequiredIdempotencyHeader, once};
use crate::routes::common::{AuthErrors, InputErrors, NotFound, PageOf, double_option};
use crate::routes::redemptions::RedemptionDto;
use crate::routes::segment;

/// Registers `/v1/rewards`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/rewards")
            .service(list_rewards)
            .service(create_reward)
            .service(update_reward)
            .service(delete_reward)
            .service(redeem_reward),
    );
}

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
#[get("/rewards")]
pub(crate) async fn list_rewards(
    ctx: Ctx,
    query: web::Query<RewardsQuery>,
) -> Result<web::Json<PageOf<RewardDto>>, ApiError> {
    let q = query.into_inner();
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    ctx.write(async |conn| rewards::list(conn, &ctx.actor, q.sort, &page).await)
        .await
        .map(|rows| web::Json(PageOf::map(rows, RewardDto::from)))
}

/// Create a reward.
///
/// For MANAGE_REWARDS holders: a reward in the shop. With an `Idempotency-Key`, a retry answers
/// the first response and creates once (the same key with another request is 422
/// `idempotency_key_reused`; a malformed key 400 `invalid_idempotency_key`).
#[utoipa::path(tag = "gamification", params(IdempotencyHeader), request_body = CreateRewardBody,
    responses((status = 201, body = RewardDto, description = "Created"), AuthErrors, InputErrors))]
#[post("/rewards")]
pub(crate) async fn create_reward(
    ctx: Ctx<Permitted>,
    key: Idempotency,
    body: ValidJson<CreateRewardBody>,
) -> Result<HttpResponse, ApiError> {
    let input = RewardInput::from(body.into_inner());
    once(&ctx, &key, StatusCode::CREATED, async |conn| {
        rewards::create(conn, &ctx.actor, &input, ctx.now)
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
#[patch("/rewards/{reward_id}")]
pub(crate) async fn update_reward(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    body: ValidJson<UpdateRewardBody>,
) -> Result<web::Json<RewardDto>, ApiError> {
    let id = path.into_inner();
    let input = RewardInput::from(body.into_inner());
    ctx.write(async |conn| rewards::update(conn, &ctx.actor, RewardId(id), &input, ctx.now).await)
        .await
        .map(|r| web::Json(r.into()))
}

/// Delete a reward.
///
/// For MANAGE_REWARDS holders: the reward leaves the shop; its redemptions are kept. 404
/// `reward_not_found`.
#[utoipa::path(tag = "gamification", params(("reward_id" = Uuid, Path, description = "The reward")),
    responses((status = 204, description = "Removed"), AuthErrors, NotFound))]
#[delete("/rewards/{reward_id}")]
pub(crate) async fn delete_reward(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    ctx.write(async |conn| rewards::delete(conn, &ctx.actor, RewardId(id)).await)
        .await
        .map(|()| HttpResponse::NoContent().finish())
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
#[post("/rewards/{reward_id}/redemptions")]
pub(crate) async fn redeem_reward(
    ctx: Ctx,
    path: web::Path<Uuid>,
    key: Idempotency,
) -> Result<HttpResponse, ApiError> {
    key.require()?;
    let id = path.into_inner();
    once(&ctx, &key, StatusCode::CREATED, async |conn| {
        rewards::redeem(conn, &ctx.actor, RewardId(id), ctx.now)
            .await
            .map(RedemptionDto::from)
    })
    .await
}
