//! `/v1/me/redemptions`: your own redemptions.

use actix_web::{get, web};

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::routes::common::{AuthErrors, InputErrors, PageOf};
use crate::routes::redemptions::{RedemptionDto, RedemptionsQuery, list};

/// List your redemptions.
///
/// Any member: your own redemptions, newest first unless `sort` says otherwise, a page at a
/// time.
#[utoipa::path(tag = "gamification", params(RedemptionsQuery),
    responses((status = 200, body = PageOf<RedemptionDto>, description = "Your redemptions"), AuthErrors, InputErrors))]
#[get("/me/redemptions")]
pub(crate) async fn list_my_redemptions(
    ctx: Ctx,
    query: web::Query<RedemptionsQuery>,
) -> Result<web::Json<PageOf<RedemptionDto>>, ApiError> {
    list(&ctx, query.into_inner(), true).await
}
