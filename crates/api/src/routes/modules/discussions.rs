//! A module's discussions: `GET /v1/modules/{module_id}/discussions`. Threads and replies are
//! [`crate::routes::discussions`].

use actix_web::{get, web};
use guild_social::discussions::{self, ThreadFilter};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::routes::common::{AuthErrors, InputErrors, NotFound, PageOf};
use crate::routes::discussions::DiscussionDto;

/// List a module's discussions.
///
/// Any member who may see the module (404 `module_not_found` otherwise, another tenant's
/// included): pinned first, then by latest post. Hidden discussions are listed for the module's
/// moderators only (its mentors, ADMIN and above).
#[utoipa::path(tag = "discussions", params(("module_id" = Uuid, Path, description = "The module"), DiscussionQuery),
    responses((status = 200, body = PageOf<DiscussionDto>, description = "The discussions"), AuthErrors, InputErrors, NotFound))]
#[get("/modules/{module_id}/discussions")]
pub(crate) async fn list_discussions(
    ctx: Ctx,
    module_id: web::Path<Uuid>,
    query: web::Query<DiscussionQuery>,
) -> Result<web::Json<PageOf<DiscussionDto>>, ApiError> {
    let q = query.into_inner();
    let filter = ThreadFilter {
        module_id: module_id.into_inner(),
        section_id: q.section_id,
    };
    let page = guild_kernel::PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    let threads = ctx
        .write(async |conn| discussions::list(conn, &ctx.actor, filter, &page).await)
        .await?;
    Ok(web::Json(PageOf::map(threads, DiscussionDto::from)))
}

/// A module's discussions, a page at a time.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct DiscussionQuery {
    /// Only the discussions of this section.
    section_id: Option<Uuid>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200, default = 50)]
    #[serde(default, deserialize_with = "crate::routes::common::page_limit")]
    limit: Option<u32>,
    /// The previous page's `next_cursor`.
    #[param(max_length = 1024)]
    cursor: Option<String>,
}
