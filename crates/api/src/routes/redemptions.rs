//! `/v1/redemptions`: every member's redemptions, and deciding them (approve, reject, cancel
//! your own). Yours are listed at `/v1/me/redemptions` ([`crate::routes::me::redemptions`]);
//! redeeming is `/v1/rewards/{reward_id}/redemptions`.

use actix_web::{get, post, web};
use chrono::{DateTime, Utc};
use guild_gamification::rewards::{self, Decision, Redemption, RedemptionSort, RedemptionStatus};
use guild_kernel::PageRequest;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, IntoResponses, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::{Ctx, Permitted};
use crate::error::{ApiError, Problem};
use crate::extract::ValidJson;
use crate::routes::common::{AuthErrors, Conflict, InputErrors, NotFound, PageOf, forbidden_codes};
use crate::routes::segment;

/// Registers `/v1/redemptions`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/redemptions")
            .service(list_redemptions)
            .service(approve_redemption)
            .service(reject_redemption)
            .service(cancel_redemption),
    );
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

/// List every member's redemptions.
///
/// For MANAGE_REWARDS holders: newest first unless `sort` says otherwise, e.g.
/// `?status=PENDING` to review, a page at a time.
#[utoipa::path(tag = "gamification", params(RedemptionsQuery),
    responses((status = 200, body = PageOf<RedemptionDto>, description = "The redemptions"), AuthErrors, InputErrors))]
#[get("/redemptions")]
pub(crate) async fn list_redemptions(
    ctx: Ctx<Permitted>,
    query: web::Query<RedemptionsQuery>,
) -> Result<web::Json<PageOf<RedemptionDto>>, ApiError> {
    list(&ctx, query.into_inner(), false).await
}

/// A page of redemptions: the actor's own (`mine`), or every member's.
pub(crate) async fn list<A: Sync>(
    ctx: &Ctx<A>,
    q: RedemptionsQuery,
    mine: bool,
) -> Result<web::Json<PageOf<RedemptionDto>>, ApiError> {
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    ctx.write(async |conn| {
        rewards::redemptions(conn, &ctx.actor, mine, q.status, q.sort, &page).await
    })
    .await
    .map(|rows| web::Json(PageOf::map(rows, RedemptionDto::from)))
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

async fn decide<A: Sync>(
    ctx: &Ctx<A>,
    id: Uuid,
    decision: Decision,
    reason: Option<String>,
) -> Result<web::Json<RedemptionDto>, ApiError> {
    ctx.write(async |conn| {
        rewards::review(conn, &ctx.actor, id, decision, reason.as_deref(), ctx.now).await
    })
    .await
    .map(|r| web::Json(r.into()))
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
#[post("/redemptions/{redemption_id}/approve")]
pub(crate) async fn approve_redemption(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<web::Json<RedemptionDto>, ApiError> {
    decide(&ctx, path.into_inner(), Decision::Approve, None).await
}

/// Reject a pending redemption.
///
/// For MANAGE_REWARDS holders: the XP and the unit of stock are returned. 409
/// `redemption_not_pending`; 404 `redemption_not_found`. Never your own (403 `cannot_review_own_redemption`; cancel it instead).
#[utoipa::path(tag = "gamification", params(("redemption_id" = Uuid, Path, description = "The redemption")), request_body = ReasonBody,
    responses((status = 200, body = RedemptionDto, description = "Rejected"), AuthErrors, InputErrors, NotFound, Conflict, ReviewErrors))]
#[post("/redemptions/{redemption_id}/reject")]
pub(crate) async fn reject_redemption(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    body: ValidJson<ReasonBody>,
) -> Result<web::Json<RedemptionDto>, ApiError> {
    let reason = body.into_inner().reason;
    decide(&ctx, path.into_inner(), Decision::Reject, reason).await
}

/// Cancel your own pending redemption.
///
/// Any member, on their own redemption: the XP and the unit of stock are returned. 409
/// `redemption_not_pending`; 404 `redemption_not_found` (also for another member's).
#[utoipa::path(tag = "gamification", params(("redemption_id" = Uuid, Path, description = "The redemption")),
    responses((status = 200, body = RedemptionDto, description = "Cancelled"), AuthErrors, NotFound, Conflict))]
#[post("/redemptions/{redemption_id}/cancel")]
pub(crate) async fn cancel_redemption(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<RedemptionDto>, ApiError> {
    decide(&ctx, path.into_inner(), Decision::Cancel, None).await
}
