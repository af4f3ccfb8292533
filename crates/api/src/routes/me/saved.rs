//! `/v1/me/saved`: the feed posts the member saved (`PUT /v1/feed/posts/{id}/save`).

use actix_web::{get, web};
use guild_social::feed::Listing;

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::routes::common::{AuthErrors, InputErrors, PageOf, PageParams};
use crate::routes::feed::{FeedPostDto, list_as};

/// List the feed posts you saved.
///
/// Newest save first; a post archived since drops out (unless it is yours).
#[utoipa::path(tag = "feed", params(PageParams),
    responses((status = 200, body = PageOf<FeedPostDto>, description = "Your saved posts"), AuthErrors, InputErrors))]
#[get("/me/saved")]
pub(crate) async fn list_my_saved_feed_posts(
    ctx: Ctx,
    query: web::Query<PageParams>,
) -> Result<web::Json<PageOf<FeedPostDto>>, ApiError> {
    let page = guild_kernel::PageRequest::from(&query.into_inner());
    list_as(&ctx, Listing::Saved, None, page).await
}
