//! A section's attachments: `/v1/modules/{module_id}/sections/{section_id}/attachments` (files
//! of the media library attached to a section). The library itself is [`crate::routes::media`].

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, post, web};
use guild_kernel::AssetId;
use guild_kernel::{PageRequest, SectionId};
use guild_learning::media::{self, Attachment};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::{Ctx, Permitted};
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::idempotency::{Idempotency, IdempotencyHeader, once};
use crate::routes::common::{AuthErrors, Conflict, InputErrors, NotFound, PageOf, PageParams};
use crate::routes::media::AssetDto;

/// List a section's attachments, in the order they were added.
///
/// Anyone who may see the module (404 `module_not_found` / `section_not_found` otherwise), a
/// page at a time; download each with `GET /v1/media/{id}/download`.
#[utoipa::path(
    tag = "media",
    params(("module_id" = Uuid, Path, description = "The module"), ("section_id" = Uuid, Path, description = "The section"), PageParams),
    responses((status = 200, body = PageOf<AttachmentDto>, description = "A page of attachments"), AuthErrors, InputErrors, NotFound)
)]
#[get("/modules/{module_id}/sections/{section_id}/attachments")]
pub(crate) async fn list_attachments(
    ctx: Ctx,
    path: web::Path<(Uuid, Uuid)>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let (module, section) = path.into_inner();
    let page = PageRequest::from(&page.into_inner());
    let list = ctx
        .write(async |conn| {
            media::attachments(conn, &ctx.actor, module, SectionId(section), &page).await
        })
        .await?;
    Ok(HttpResponse::Ok().json(PageOf::map(list, AttachmentDto::from)))
}

/// Attach a library asset to a section.
///
/// The module's editors; once per section (409 `already_attached`). With an `Idempotency-Key`, a
/// retry creates nothing more and answers the first response again.
#[utoipa::path(
    tag = "media",
    params(("module_id" = Uuid, Path, description = "The module"), ("section_id" = Uuid, Path, description = "The section"), IdempotencyHeader),
    request_body = AttachBody,
    responses((status = 201, body = AttachmentDto, description = "Attached"), AuthErrors, InputErrors, NotFound, Conflict)
)]
#[post("/modules/{module_id}/sections/{section_id}/attachments")]
pub(crate) async fn attach_asset(
    ctx: Ctx<Permitted>,
    key: Idempotency,
    path: web::Path<(Uuid, Uuid)>,
    body: ValidJson<AttachBody>,
) -> Result<HttpResponse, ApiError> {
    let (module, section) = path.into_inner();
    let body = body.into_inner();
    once(&ctx, &key, StatusCode::CREATED, async |conn| {
        media::attach(
            conn,
            &ctx.actor,
            module,
            SectionId(section),
            AssetId(body.asset_id),
            body.title,
            ctx.now,
        )
        .await
        .map(AttachmentDto::from)
    })
    .await
}

/// Delete (detach) an attachment from a section.
///
/// The module's editors; the asset stays in the library.
#[utoipa::path(
    tag = "media",
    params(("module_id" = Uuid, Path, description = "The module"), ("section_id" = Uuid, Path, description = "The section"), ("attachment_id" = Uuid, Path, description = "The attachment")),
    responses((status = 204, description = "Removed"), AuthErrors, NotFound)
)]
#[delete("/modules/{module_id}/sections/{section_id}/attachments/{attachment_id}")]
pub(crate) async fn detach_asset(
    ctx: Ctx<Permitted>,
    path: web::Path<(Uuid, Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (module, section, attachment) = path.into_inner();
    ctx.write(async |conn| {
        media::detach(
            conn,
            &ctx.actor,
            module,
            SectionId(section),
            attachment,
            ctx.now,
        )
        .await
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A section's attachment.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AttachmentDto {
    id: Uuid,
    section_id: Uuid,
    title: String,
    asset: AssetDto,
}

impl From<Attachment> for AttachmentDto {
    fn from(a: Attachment) -> Self {
        Self {
            id: a.id,
            section_id: a.section_id,
            title: a.title,
            asset: AssetDto::from(a.asset),
        }
    }
}

/// An asset to attach.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "asset_id": "0190a0b2-7e55-7c3e-9d6b-52f1e1b8c7a0", "title": "Inspection checklist (PDF)" }))]
pub(crate) struct AttachBody {
    /// A READY asset of the library (409 `asset_not_ready` otherwise).
    asset_id: Uuid,
    /// Display title, 1 to 200 characters (default: the asset's).
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    title: Option<String>,
}
