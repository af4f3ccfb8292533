//! Module versions: `/v1/modules/{module_id}/versions` (the changelog, publishing a new version
//! of a published module) and acknowledging an update (`/v1/modules/{module_id}/acknowledge`).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use guild_kernel::ModuleId;
use guild_learning::versions::{self, ChangeKind, ChangeNote, ChangelogEntry};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::{Ctx, Permitted};
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::idempotency::{Idempotency, IdempotencyHeader, once};
use crate::routes::common::{AuthErrors, Conflict, InputErrors, NotFound, PageOf, PageParams};

/// One version of a module.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ChangelogEntryDto {
    module_id: Uuid,
    /// 1, 2, …
    version: i32,
    /// What changed.
    summary: String,
    kind: ChangeKind,
    /// Who published it.
    published_by: Uuid,
    published_at: DateTime<Utc>,
}

impl From<ChangelogEntry> for ChangelogEntryDto {
    fn from(e: ChangelogEntry) -> Self {
        Self {
            module_id: e.module_id,
            version: e.version,
            summary: e.summary,
            kind: e.kind,
            published_by: e.published_by,
            published_at: e.published_at,
        }
    }
}

/// A new version's description.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "summary": "Adds the harness inspection checklist", "kind": "MATERIAL" }))]
pub(crate) struct VersionBody {
    /// What changed, 1 to 2000 characters, not blank.
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000, pattern = "\\S")]
    summary: String,
    /// MINOR (wording, typos) or MATERIAL (what a learner must know changed: readers see the
    /// module as updated until they acknowledge it).
    kind: ChangeKind,
}

/// List a module's changelog, newest version first.
///
/// Anyone who may see the module (404 `module_not_found` otherwise), a page at a time.
#[utoipa::path(
    tag = "modules",
    params(("module_id" = Uuid, Path, description = "The module"), PageParams),
    responses((status = 200, body = PageOf<ChangelogEntryDto>, description = "A page of versions"), AuthErrors, InputErrors, NotFound)
)]
#[get("/modules/{module_id}/versions")]
pub(crate) async fn list_module_versions(
    ctx: Ctx,
    path: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let page = guild_kernel::PageRequest::from(&page.into_inner());
    let entries = ctx
        .write(async |conn| versions::changelog(conn, &ctx.actor, ModuleId(id), &page).await)
        .await?;
    Ok(HttpResponse::Ok().json(PageOf::map(entries, ChangelogEntryDto::from)))
}

/// Publish the changes made to a published module as its next version.
///
/// The module's editors record what changed since the latest version while the module stays
/// published: 409 `no_changes` when nothing changed since, 409 `invalid_status_transition` when
/// the module is not PUBLISHED. A MATERIAL version flags the module as updated for its readers.
/// With an `Idempotency-Key`, a retry records nothing more and answers the first response again.
#[utoipa::path(
    tag = "modules",
    params(("module_id" = Uuid, Path, description = "The module"), IdempotencyHeader),
    request_body = VersionBody,
    responses((status = 201, body = ChangelogEntryDto, description = "The new version"), AuthErrors, InputErrors, NotFound, Conflict)
)]
#[post("/modules/{module_id}/versions")]
pub(crate) async fn publish_module_version(
    ctx: Ctx<Permitted>,
    key: Idempotency,
    path: web::Path<Uuid>,
    body: ValidJson<VersionBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let body = body.into_inner();
    let note = ChangeNote {
        summary: Some(body.summary),
        kind: Some(body.kind),
    };
    once(&ctx, &key, StatusCode::CREATED, async |conn| {
        versions::publish_version(conn, &ctx.actor, ModuleId(id), &note, ctx.now)
            .await
            .map(ChangelogEntryDto::from)
    })
    .await
}

/// Acknowledge the module's latest version.
///
/// Anyone who may see the module: it is no longer shown as updated since you last read it.
#[utoipa::path(
    tag = "modules",
    params(("module_id" = Uuid, Path, description = "The module")),
    responses((status = 204, description = "Acknowledged"), AuthErrors, NotFound)
)]
#[post("/modules/{module_id}/acknowledge")]
pub(crate) async fn acknowledge_module(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    ctx.write(async |conn| versions::acknowledge(conn, &ctx.actor, ModuleId(id), ctx.now).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
