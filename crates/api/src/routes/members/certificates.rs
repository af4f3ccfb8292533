//! A member's certificates: `GET /v1/members/{user_id}/certificates` (for those who may see
//! the member's progress). Yours are `GET /v1/me/certificates`.

use actix_web::{HttpResponse, get, web};
use guild_kernel::{PageRequest, UserId};
use guild_progress::certificates;
use uuid::Uuid;

use crate::ctx::{Ctx, Permitted};
use crate::error::ApiError;
use crate::routes::certificates::{CertificateDto, certificate_dto};
use crate::routes::common::{AuthErrors, InputErrors, NotFound, PageOf, PageParams};

/// List a member's certificates, newest first.
///
/// Needs VIEW_ALL_PROGRESS (or being that member); 404 `member_not_found` for someone who is not
/// a member of the tenant. A page at a time.
#[utoipa::path(
    tag = "certificates",
    params(("user_id" = Uuid, Path, description = "The member"), PageParams),
    responses((status = 200, body = PageOf<CertificateDto>, description = "A page of the member's certificates"), AuthErrors, InputErrors, NotFound)
)]
#[get("/members/{user_id}/certificates")]
pub(crate) async fn list_member_certificates(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let user = UserId(path.into_inner());
    let page = PageRequest::from(&page.into_inner());
    let list = ctx
        .write(async |conn| certificates::list(conn, &ctx.actor, user, &page).await)
        .await?;
    Ok(HttpResponse::Ok().json(PageOf::map(list, |c| certificate_dto(&ctx.state, c))))
}
