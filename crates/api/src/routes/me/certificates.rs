//! Your certificates: `GET /v1/me/certificates`. One certificate, its PDF and verification are
//! [`crate::routes::certificates`].

use actix_web::{HttpResponse, get, web};
use guild_kernel::PageRequest;
use guild_progress::certificates;

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::routes::certificates::{CertificateDto, certificate_dto};
use crate::routes::common::{AuthErrors, InputErrors, PageOf, PageParams};

/// List your certificates, newest first.
///
/// Every certificate issued to you, VALID, EXPIRED or REVOKED, a page at a time.
#[utoipa::path(
    tag = "certificates",
    params(PageParams),
    responses((status = 200, body = PageOf<CertificateDto>, description = "A page of your certificates"), AuthErrors, InputErrors)
)]
#[get("/me/certificates")]
pub(crate) async fn list_my_certificates(
    ctx: Ctx,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let me = ctx.actor.user_id;
    let page = PageRequest::from(&page.into_inner());
    let list = ctx
        .write(async |conn| certificates::list(conn, &ctx.actor, me, &page).await)
        .await?;
    Ok(HttpResponse::Ok().json(PageOf::map(list, |c| certificate_dto(&ctx.state, c))))
}
