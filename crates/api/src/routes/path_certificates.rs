//! Learning paths' certificates: `/v1/path-certificates` (a completed path's certificate, its
//! PDF, revoking it). Verification is `GET /v1/certificates/verify/{code}`, as for module
//! certificates; the paths themselves are [`super::paths`].

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use guild_progress::certificates::CertificateStatus;
use guild_progress::paths::{self, PathCertificate};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::ctx::{Ctx, Permitted};
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::routes::certificates::{PdfFacts, PdfFile, pdf_response, verify_url};
use crate::routes::common::{AuthErrors, Conflict, InputErrors, NotFound};
use crate::routes::segment;

/// Registers `/v1/path-certificates`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/path-certificates")
            .service(get_path_certificate)
            .service(get_path_certificate_pdf)
            .service(revoke_path_certificate),
    );
}

/// A learning path's certificate.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PathCertificateDto {
    id: Uuid,
    /// The public verification code (`GP-…`).
    code: String,
    user_id: Uuid,
    path_id: Uuid,
    holder_name: String,
    path_title: String,
    issued_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    /// The holder's earlier certificate of the path it follows.
    renews_certificate_id: Option<Uuid>,
    status: CertificateStatus,
    /// Where anyone can verify it.
    verify_url: String,
}

fn path_certificate_dto(state: &crate::state::AppState, c: PathCertificate) -> PathCertificateDto {
    PathCertificateDto {
        status: c.status(state.clock.now()),
        verify_url: verify_url(state, &c.code),
        id: c.id,
        code: c.code,
        user_id: c.user_id,
        path_id: c.path_id,
        holder_name: c.holder_name,
        path_title: c.path_title,
        issued_at: c.issued_at,
        expires_at: c.expires_at,
        renews_certificate_id: c.renews_certificate_id,
    }
}

/// Get a learning path's certificate.
///
/// Its holder, or VIEW_ALL_PROGRESS; anyone else gets 404 `certificate_not_found`.
#[utoipa::path(tag = "paths",
    params(("certificate_id" = Uuid, Path, description = "The certificate")),
    responses((status = 200, body = PathCertificateDto, description = "The certificate"), AuthErrors, NotFound))]
#[get("/path-certificates/{certificate_id}")]
pub(crate) async fn get_path_certificate(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let c = ctx
        .write(async |conn| paths::certificate(conn, &ctx.actor, id).await)
        .await?;
    Ok(HttpResponse::Ok().json(path_certificate_dto(&ctx.state, c)))
}

/// Revoke a learning path's certificate.
///
/// Needs OVERRIDE_PROGRESS; audited. Verification then shows it REVOKED. 409 `already_revoked`
/// for a certificate revoked before.
#[utoipa::path(tag = "paths",
    params(("certificate_id" = Uuid, Path, description = "The certificate")),
    request_body = crate::routes::certificates::RevokeBody,
    responses((status = 200, body = PathCertificateDto, description = "Revoked"), AuthErrors, InputErrors, NotFound, Conflict))]
#[post("/path-certificates/{certificate_id}/revoke")]
pub(crate) async fn revoke_path_certificate(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    body: ValidJson<crate::routes::certificates::RevokeBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let reason = body.into_inner().reason;
    let c = ctx
        .write(async |conn| paths::revoke_certificate(conn, &ctx.actor, id, &reason, ctx.now).await)
        .await?;
    Ok(HttpResponse::Ok().json(path_certificate_dto(&ctx.state, c)))
}

/// Get a learning path's certificate as a printable PDF.
///
/// A4 landscape, with the holder, the path, the dates and a QR code of its verification URL.
/// Its holder, or VIEW_ALL_PROGRESS; anyone else gets 404 `certificate_not_found`.
#[utoipa::path(tag = "paths",
    params(("certificate_id" = Uuid, Path, description = "The certificate")),
    responses((status = 200, content_type = "application/pdf", body = PdfFile, description = "The PDF (shown inline)"), AuthErrors, NotFound))]
#[get("/path-certificates/{certificate_id}/pdf")]
pub(crate) async fn get_path_certificate_pdf(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let (c, tenant_name) = ctx
        .write(async |conn| {
            let c = paths::certificate(conn, &ctx.actor, id).await?;
            let name = paths::tenant_name(conn, &ctx.actor).await?;
            Ok::<_, guild_learning::LearningError>((c, name))
        })
        .await?;
    pdf_response(
        &ctx.state,
        PdfFacts {
            tenant_name,
            holder_name: c.holder_name,
            title: c.path_title,
            issued_at: c.issued_at,
            expires_at: c.expires_at,
            code: c.code,
        },
    )
    .await
}
