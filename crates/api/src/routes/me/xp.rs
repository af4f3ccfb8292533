//! `/v1/me/xp`: your XP balance and rank, and the explained ledger of its changes.

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use guild_gamification::ledger::{self, LedgerItem, LedgerKind, XpSource, XpSummary};
use guild_gamification::settings::Rank;
use guild_kernel::PageRequest;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::routes::common::{AuthErrors, InputErrors, PageOf, PageParams};
use crate::routes::xp::BalanceDto;

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
#[get("/me/xp")]
pub(crate) async fn get_my_xp(ctx: Ctx) -> Result<web::Json<MyXpDto>, ApiError> {
    ctx.write(async |conn| ledger::my_xp(conn, &ctx.actor).await)
        .await
        .map(|xp| web::Json(xp.into()))
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
#[get("/me/xp/transactions")]
pub(crate) async fn list_my_xp_transactions(
    ctx: Ctx,
    query: web::Query<PageParams>,
) -> Result<web::Json<PageOf<LedgerItemDto>>, ApiError> {
    let page = PageRequest::from(&query.into_inner());
    let tenant = ctx.actor.tenant_id;
    ctx.write(async |conn| {
        ledger::transactions(conn, &ctx.actor, &page, async |c, ids| {
            guild_progress::titles::of(c, tenant, ids).await
        })
        .await
    })
    .await
    .map(|rows| web::Json(PageOf::map(rows, LedgerItemDto::from)))
}
