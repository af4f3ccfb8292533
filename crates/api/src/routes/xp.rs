//! `/v1/xp`: XP adjusted by hand. A member's own XP and ledger are `/v1/me/xp`
//! ([`crate::routes::me::xp`]); XP from completed modules, quiz high scores and compliance
//! renewals is awarded by the worker from the outbox ([`crate::reactions::gamification`]).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, post};
use guild_gamification::ledger::{self, Balance, ManualInput};
use guild_gamification::settings::Rank;
use serde::{Deserialize, Serialize};
use utoipa::{IntoResponses, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::{Ctx, Permitted};
use crate::error::{ApiError, Problem};
use crate::extract::ValidJson;
use crate::idempotency::{Idempotency, RequiredIdempotencyHeader, once};
use crate::routes::common::{AuthErrors, Conflict, InputErrors, NotFound, forbidden_codes};
use crate::routes::segment;

/// Registers `/v1/xp`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(segment("/xp").service(adjust_xp));
}

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
#[post("/xp/adjustments")]
pub(crate) async fn adjust_xp(
    ctx: Ctx<Permitted>,
    key: Idempotency,
    body: ValidJson<ManualBody>,
) -> Result<HttpResponse, ApiError> {
    key.require()?;
    let b = body.into_inner();
    let input = ManualInput {
        user_id: b.user_id,
        amount: b.amount,
        reason: b.reason,
    };
    once(&ctx, &key, StatusCode::OK, async |conn| {
        ledger::manual(conn, &ctx.actor, &input)
            .await
            .map(BalanceDto::from)
    })
    .await
}
