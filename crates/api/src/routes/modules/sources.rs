//! Where a built module came from: `GET /v1/modules/{module_id}/sources` (the source spans its
//! sections and questions cite). Builds are [`crate::routes::ai::module_builds`].

use actix_web::{get, web};
use guild_ai::builds;
use uuid::Uuid;

use crate::ctx::{Ctx, Permitted};
use crate::error::ApiError;
use crate::routes::ai::module_builds::BuildCitationDto;
use crate::routes::common::{AuthErrors, NotFound};

/// Where a module's sections and quiz questions came from.
///
/// For those who may edit the module (403 when you may see it but not edit it, 404
/// `module_not_found` otherwise, another tenant's included): the citations the module builder
/// recorded — the page, paragraph or time span of the source file each built section and quiz
/// question came from, with the start of its text — the latest build's first. Empty for a module
/// written by hand.
#[utoipa::path(
    tag = "ai",
    params(("module_id" = Uuid, Path, description = "The module")),
    responses(
        (status = 200, body = Vec<BuildCitationDto>, description = "The citations, in order"),
        AuthErrors, NotFound)
)]
#[get("/modules/{module_id}/sources")]
pub(crate) async fn list_module_sources(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<web::Json<Vec<BuildCitationDto>>, ApiError> {
    let module = path.into_inner();
    let citations = ctx
        .write(async |conn| builds::of_module(conn, &ctx.actor, module).await)
        .await?;
    Ok(web::Json(
        citations.into_iter().map(BuildCitationDto::from).collect(),
    ))
}
