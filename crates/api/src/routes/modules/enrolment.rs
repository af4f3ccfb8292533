//! Enrolling in a module of the open catalog: `/v1/modules/{module_id}/enrolment`. Enrolling in
//! a learning path is under `/paths`; what you are enrolled in is `GET /v1/me/learning`.

use actix_web::{HttpResponse, delete, put, web};
use guild_progress::enrolment::{self, Target};
use uuid::Uuid;

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::routes::common::{AuthErrors, Conflict, NotFound};
use crate::routes::paths::EnrolmentDto;

/// Enrol in a module.
///
/// Members (API keys with `act_as_member`), in an organization whose catalog is open (403
/// `catalog_closed` otherwise), in a PUBLISHED module you may see (404 `module_not_found`, 409
/// `invalid_status_transition`). Enrolling again answers the same enrolment. At most 200
/// enrolments per member (409 `enrolment_limit_reached`).
#[utoipa::path(tag = "paths", params(("module_id" = Uuid, Path, description = "The module")),
    responses((status = 200, body = EnrolmentDto, description = "Enrolled"), AuthErrors, NotFound, Conflict))]
#[put("/modules/{module_id}/enrolment")]
pub(crate) async fn create_module_enrolment(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<EnrolmentDto>, ApiError> {
    let target = Target::Module(path.into_inner());
    let now = ctx.now;
    let item = ctx
        .write(async |conn| enrolment::enrol(conn, &ctx.actor, target, now).await)
        .await?;
    Ok(web::Json(item.into()))
}

/// Leave a module you enrolled in.
///
/// What you completed stays; leaving a module you are not enrolled in changes nothing.
#[utoipa::path(tag = "paths", params(("module_id" = Uuid, Path, description = "The module")),
    responses((status = 204, description = "Left"), AuthErrors))]
#[delete("/modules/{module_id}/enrolment")]
pub(crate) async fn delete_module_enrolment(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let target = Target::Module(path.into_inner());
    ctx.write(async |conn| enrolment::leave(conn, &ctx.actor, target).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
