//! The jobs you started in the current tenant: `/v1/me/jobs`.

use actix_web::{get, web};
use guild_db::member_jobs;

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::routes::common::{AuthErrors, InputErrors, PageOf, PageParams};
use crate::routes::jobs::JobDto;

/// List your jobs.
///
/// Any member: the jobs you started (exports and the like), newest first, a page at a time,
/// whatever their state. Each is also `GET /v1/jobs/{job_id}`.
#[utoipa::path(tag = "jobs", params(PageParams),
    responses((status = 200, body = PageOf<JobDto>, description = "Your jobs"), AuthErrors, InputErrors))]
#[get("/me/jobs")]
pub(crate) async fn list_my_jobs(
    ctx: Ctx,
    query: web::Query<PageParams>,
) -> Result<web::Json<PageOf<JobDto>>, ApiError> {
    let page = guild_kernel::PageRequest::from(&query.into_inner());
    let jobs = ctx
        .read(async |conn| member_jobs::list_mine(conn, &ctx.actor, &page).await)
        .await?;
    Ok(web::Json(PageOf::map(jobs, JobDto::from)))
}
