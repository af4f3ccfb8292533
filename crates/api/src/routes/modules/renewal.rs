//! Starting a module's renewal early: `POST /v1/modules/{module_id}/renewal`. The rest of
//! compliance is [`crate::routes::compliance`].

use actix_web::{HttpResponse, post, web};
use guild_progress::compliance;
use uuid::Uuid;

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::routes::common::{AuthErrors, Conflict, NotFound};

/// Start renewing a module.
///
/// Allowed within 30 days before your certificate of the module expires (409
/// `invalid_status_transition` otherwise): your
/// progress starts over while the certificate stays valid. Completing it again before expiry is
/// a renewal.
#[utoipa::path(
    tag = "compliance",
    params(("module_id" = Uuid, Path, description = "The module")),
    responses((status = 204, description = "Progress archived; take the module again"), AuthErrors, NotFound, Conflict)
)]
#[post("/modules/{module_id}/renewal")]
pub(crate) async fn start_renewal(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let module = path.into_inner();
    let now = ctx.now;
    ctx.write(async |conn| compliance::start_renewal(conn, &ctx.actor, module, now).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
