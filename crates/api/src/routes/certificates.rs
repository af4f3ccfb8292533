//! Module certificates: `/v1/certificates` (a certificate, its printable PDF, revoking it, and
//! public verification by code, for module and learning-path certificates alike). Your list is
//! [`super::me::certificates`], a member's [`super::members::certificates`]; path certificates
//! are [`super::path_certificates`].

use actix_web::http::header;
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use guild_progress::certificates::{self, Certificate, CertificateStatus, Verification};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::{Ctx, Permitted, Public};
use crate::error::{ApiError, Problem};
use crate::extract::ValidJson;
use crate::routes::common::{AuthErrors, Conflict, InputErrors, NotFound};
use crate::routes::segment;
use crate::state::AppState;

/// Registers `/v1/certificates`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/certificates")
            .service(verify_certificate)
            .service(get_certificate)
            .service(get_certificate_pdf)
            .service(revoke_certificate),
    );
}

/// A certificate.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CertificateDto {
    id: Uuid,
    /// The public verification code.
    code: String,
    user_id: Uuid,
    /// Null once the module was deleted (its certificates were revoked then).
    module_id: Option<Uuid>,
    holder_name: String,
    module_title: String,
    issued_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    status: CertificateStatus,
    revoked_at: Option<DateTime<Utc>>,
    revoked_reason: Option<String>,
    /// Where anyone can verify it.
    verify_url: String,
}

/// Where anyone verifies the certificate of `code` (module and path certificates alike).
pub(crate) fn verify_url(state: &AppState, code: &str) -> String {
    format!("{}/v1/certificates/verify/{code}", state.api_url)
}

pub(crate) fn certificate_dto(state: &AppState, c: Certificate) -> CertificateDto {
    CertificateDto {
        status: c.status(state.clock.now()),
        verify_url: verify_url(state, &c.code),
        id: c.id,
        code: c.code,
        user_id: c.user_id,
        module_id: c.module_id,
        holder_name: c.holder_name,
        module_title: c.module_title,
        issued_at: c.issued_at,
        expires_at: c.expires_at,
        revoked_at: c.revoked_at,
        revoked_reason: c.revoked_reason,
    }
}

/// Get a certificate.
///
/// Its holder, or VIEW_ALL_PROGRESS; anyone else gets 404 `certificate_not_found`.
#[utoipa::path(
    tag = "certificates",
    params(("certificate_id" = Uuid, Path, description = "The certificate")),
    responses((status = 200, body = CertificateDto, description = "The certificate"), AuthErrors, NotFound)
)]
#[get("/certificates/{certificate_id}")]
pub(crate) async fn get_certificate(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let certificate = ctx
        .write(async |conn| certificates::get(conn, &ctx.actor, id).await)
        .await?;
    Ok(HttpResponse::Ok().json(certificate_dto(&ctx.state, certificate)))
}

/// Get a certificate as a printable PDF.
///
/// A4 landscape, with the holder, the module, the dates and a QR code of its verification URL.
/// Its holder, or VIEW_ALL_PROGRESS; anyone else gets 404 `certificate_not_found`.
#[utoipa::path(
    tag = "certificates",
    params(("certificate_id" = Uuid, Path, description = "The certificate")),
    responses((status = 200, content_type = "application/pdf", body = PdfFile, description = "The PDF (shown inline)"), AuthErrors, NotFound)
)]
#[get("/certificates/{certificate_id}/pdf")]
pub(crate) async fn get_certificate_pdf(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let (certificate, tenant_name) = ctx
        .write(async |conn| {
            let certificate = certificates::get(conn, &ctx.actor, id).await?;
            let name = certificates::tenant_name(conn, &ctx.actor).await?;
            Ok::<_, guild_learning::LearningError>((certificate, name))
        })
        .await?;
    pdf_response(
        &ctx.state,
        PdfFacts {
            tenant_name,
            holder_name: certificate.holder_name,
            title: certificate.module_title,
            issued_at: certificate.issued_at,
            expires_at: certificate.expires_at,
            code: certificate.code,
        },
    )
    .await
}

/// What a certificate's PDF shows (a module's or a learning path's).
pub(crate) struct PdfFacts {
    pub(crate) tenant_name: String,
    pub(crate) holder_name: String,
    /// The module's or the path's title.
    pub(crate) title: String,
    pub(crate) issued_at: DateTime<Utc>,
    pub(crate) expires_at: Option<DateTime<Utc>>,
    pub(crate) code: String,
}

/// A certificate's printable PDF (A4 landscape, with a QR code of its verification URL), drawn
/// on a blocking thread, shown inline and never cached.
pub(crate) async fn pdf_response(
    state: &AppState,
    facts: PdfFacts,
) -> Result<HttpResponse, ApiError> {
    let url = verify_url(state, &facts.code);
    let issued = facts.issued_at.format("%Y-%m-%d").to_string();
    let expires = facts.expires_at.map(|e| e.format("%Y-%m-%d").to_string());
    let code = facts.code.clone();
    let bytes = web::block(move || {
        guild_documents::certificate_pdf(&guild_documents::Certificate {
            tenant_name: &facts.tenant_name,
            holder_name: &facts.holder_name,
            module_title: &facts.title,
            issued_on: &issued,
            expires_on: expires.as_deref(),
            code: &facts.code,
            verify_url: &url,
        })
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("inline; filename=\"certificate-{code}.pdf\""),
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(bytes))
}

/// A PDF file.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary, content_media_type = "application/pdf")]
#[expect(dead_code, reason = "documentation only")]
pub(crate) struct PdfFile(Vec<u8>);

/// A revocation.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "reason": "Issued by mistake: the quiz was graded twice" }))]
pub(crate) struct RevokeBody {
    /// Why, 1 to 1000 characters (shown to administrators; verification only shows REVOKED).
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000)]
    pub(crate) reason: String,
}

/// Revoke a certificate.
///
/// Needs OVERRIDE_PROGRESS; audited. Verification then shows it REVOKED. 409 `already_revoked`
/// for a certificate revoked before.
#[utoipa::path(
    tag = "certificates",
    params(("certificate_id" = Uuid, Path, description = "The certificate")),
    request_body = RevokeBody,
    responses((status = 200, body = CertificateDto, description = "Revoked"), AuthErrors, InputErrors, NotFound, Conflict)
)]
#[post("/certificates/{certificate_id}/revoke")]
pub(crate) async fn revoke_certificate(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    body: ValidJson<RevokeBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let reason = body.into_inner().reason;
    let certificate = ctx
        .write(async |conn| certificates::revoke(conn, &ctx.actor, id, &reason, ctx.now).await)
        .await?;
    Ok(HttpResponse::Ok().json(certificate_dto(&ctx.state, certificate)))
}

/// What a public verification shows: nothing but these fields.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VerificationDto {
    holder_name: String,
    module_title: String,
    issued_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    status: CertificateStatus,
}

impl From<Verification> for VerificationDto {
    fn from(v: Verification) -> Self {
        Self {
            holder_name: v.holder_name,
            module_title: v.module_title,
            issued_at: v.issued_at,
            expires_at: v.expires_at,
            status: v.status,
        }
    }
}

/// Verify a certificate by its code.
///
/// Public, no sign-in: anyone holding the code printed on a certificate sees its holder, module,
/// dates and status, and nothing else. 404 `certificate_not_found` for an unknown code.
#[utoipa::path(
    tag = "certificates",
    security(()),
    params(("code" = String, Path, description = "The code printed on the certificate")),
    responses(
        (status = 200, body = VerificationDto, description = "The certificate's holder, module, dates and status"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`certificate_not_found`")
    )
)]
#[get("/certificates/verify/{code}")]
pub(crate) async fn verify_certificate(
    cx: Public,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let code = path.into_inner();
    let mut conn = cx.conn().await?;
    let found = certificates::verify(&mut conn, &code, cx.now).await?;
    match found {
        Some(v) => Ok(HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(VerificationDto::from(v))),
        None => Err(ApiError::from(
            guild_learning::LearningError::CertificateNotFound,
        )),
    }
}
