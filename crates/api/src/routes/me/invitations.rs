//! Your invitations: `/v1/me/invitations` (pending invitations to other tenants, accepting or
//! declining one while signed in). Accepting by the emailed link is `POST /v1/auth/accept-invite`.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use guild_kernel::{PageRequest, TenantId, TenantRole};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::CurrentUser;
use crate::ctx::Public;
use crate::error::ApiError;
use crate::routes::common::{AuthErrors, InputErrors, PageOf, PageParams};
use crate::routes::me::account::MembershipDto;

/// An invitation waiting for your answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct InvitationDto {
    /// The tenant that invited you; the invitation's id.
    tenant_id: Uuid,
    tenant_name: String,
    tenant_slug: String,
    /// The role offered.
    role: TenantRole,
    /// When you were invited.
    invited_at: DateTime<Utc>,
}

/// List your pending invitations.
///
/// Any signed-in user: invitations of live tenants waiting for your answer, oldest first, a
/// page at a time.
#[utoipa::path(
    tag = "auth",
    params(PageParams),
    responses((status = 200, description = "Your invitations", body = PageOf<InvitationDto>), AuthErrors, InputErrors)
)]
#[get("/me/invitations")]
pub(crate) async fn list_my_invitations(
    cx: Public,
    user: CurrentUser,
    query: web::Query<PageParams>,
) -> Result<web::Json<PageOf<InvitationDto>>, ApiError> {
    let page = PageRequest::from(&query.into_inner());
    let mut conn = cx.conn().await?;
    let page = guild_tenancy::invitations::pending(&mut conn, user.user_id, &page).await?;
    Ok(web::Json(PageOf::map(page, |i| InvitationDto {
        tenant_id: i.tenant_id,
        tenant_name: i.tenant_name,
        tenant_slug: i.tenant_slug,
        role: i.role,
        invited_at: i.invited_at,
    })))
}

/// Accept an invitation.
///
/// Any signed-in user invited to the tenant; your address must be verified (403
/// `email_not_verified`). Switch to the tenant with `POST /v1/auth/refresh` and its `tenant_id`.
#[utoipa::path(
    tag = "auth",
    params(("tenant_id" = Uuid, Path, description = "The inviting tenant")),
    responses(
        (status = 200, description = "You are an active member", body = MembershipDto),
        AuthErrors,
        (status = 404, description = "`invitation_not_found`", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/me/invitations/{tenant_id}/accept")]
pub(crate) async fn accept_my_invitation(
    cx: Public,
    user: CurrentUser,
    path: web::Path<Uuid>,
) -> Result<web::Json<MembershipDto>, ApiError> {
    let mut conn = cx.conn().await?;
    let m = guild_tenancy::invitations::accept(&mut conn, user.user_id, TenantId(*path), cx.now)
        .await?;
    Ok(web::Json(MembershipDto::from(m)))
}

/// Decline an invitation.
///
/// Any signed-in user invited to the tenant: the invitation is withdrawn.
#[utoipa::path(
    tag = "auth",
    params(("tenant_id" = Uuid, Path, description = "The inviting tenant")),
    responses(
        (status = 204, description = "Declined"),
        AuthErrors,
        (status = 404, description = "`invitation_not_found`", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/me/invitations/{tenant_id}/decline")]
pub(crate) async fn decline_my_invitation(
    cx: Public,
    user: CurrentUser,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = cx.conn().await?;
    guild_tenancy::invitations::decline(&mut conn, user.user_id, TenantId(*path)).await?;
    Ok(HttpResponse::NoContent().finish())
}
