//! Modules, their sections, categories, prerequisites, mentors and group assignments.

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use chrono::{DateTime, Utc};
use guild_kernel::PageRequest;
use guild_learning::categories::{self, Category};
use guild_learning::modules::{self, Module, ModuleFilter, ModuleInput};
use guild_learning::sections::{self, Section, SectionInput};
use guild_learning::versions::ChangeNote;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, IntoResponses, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::auth::{Auth, Authorized};
use crate::error::{ApiError, Problem};
use crate::etag::{IfMatch, with_etag};
use crate::extract::ValidJson;
use crate::routes::common::double_option;
use crate::routes::common::{
    AuthErrors, Conflict, InputErrors, NotFound, PageOf, PageParams, forbidden_codes, in_tenant,
};
use crate::state::AppState;

/// 412 and 428, on every write of an editable resource.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "documentation only")]
pub(crate) enum PreconditionErrors {
    /// `If-Match` names an older revision: read again and retry.
    #[response(
        status = 412,
        description = "`precondition_failed`",
        content_type = "application/problem+json"
    )]
    Stale(Problem),
    /// `If-Match` is missing.
    #[response(
        status = 428,
        description = "`precondition_required`",
        content_type = "application/problem+json"
    )]
    Required(Problem),
}

/// A module with its catalog facts. The `ETag` header carries `revision`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ModuleDto {
    id: Uuid,
    title: String,
    description: String,
    /// DRAFT, PUBLISHED or ARCHIVED.
    status: String,
    /// BEGINNER, INTERMEDIATE or ADVANCED.
    difficulty: String,
    cover_image_url: Option<String>,
    category_id: Option<Uuid>,
    estimated_minutes: Option<i32>,
    /// Months a completion stays valid (compliance).
    validity_months: Option<i32>,
    created_by: Uuid,
    /// Bumped by every change; send it back as `If-Match`.
    revision: i32,
    /// The latest published version (see the changelog); 0 before the first publish.
    version: i32,
    published_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    tags: Vec<String>,
    mentor_ids: Vec<Uuid>,
    prerequisite_ids: Vec<Uuid>,
    section_count: i64,
    /// Your earliest due date from your groups' assignments.
    due_at: Option<DateTime<Utc>>,
    /// Assigned to one of your groups as mandatory.
    mandatory: bool,
    /// You pinned it.
    pinned: bool,
    /// Pinned for the whole company.
    company_pinned: bool,
    /// When you last opened it.
    last_accessed_at: Option<DateTime<Utc>>,
    /// A material version newer than the one you read exists; cleared by acknowledging it.
    updated_since_last_read: bool,
    /// You have not completed all of its prerequisites yet.
    locked: bool,
}

impl From<Module> for ModuleDto {
    fn from(m: Module) -> Self {
        let r = m.row;
        Self {
            id: r.id,
            title: r.title,
            description: r.description,
            status: r.status,
            difficulty: r.difficulty,
            cover_image_url: r.cover_image_url,
            category_id: r.category_id,
            estimated_minutes: r.estimated_minutes,
            validity_months: r.validity_months,
            created_by: r.created_by,
            revision: r.revision,
            version: r.version,
            published_at: r.published_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
            tags: m.tags,
            mentor_ids: m.mentor_ids,
            prerequisite_ids: m.prerequisite_ids,
            section_count: m.section_count,
            due_at: m.due_at,
            mandatory: m.mandatory,
            pinned: m.pinned,
            company_pinned: m.company_pinned,
            last_accessed_at: m.last_accessed_at,
            updated_since_last_read: m.updated_since_last_read,
            locked: m.locked,
        }
    }
}

pub(crate) fn module_reply(status: actix_web::HttpResponseBuilder, module: Module) -> HttpResponse {
    let revision = module.row.revision;
    with_etag(status, revision, &ModuleDto::from(module))
}

fn difficulty_level(value: &str) -> Result<(), validator::ValidationError> {
    if ["BEGINNER", "INTERMEDIATE", "ADVANCED"].contains(&value) {
        Ok(())
    } else {
        let mut err = validator::ValidationError::new("one_of");
        err.message = Some("must be BEGINNER, INTERMEDIATE or ADVANCED".into());
        Err(err)
    }
}

/// A module's fields. On create `title` is required; on update every field left out is kept
/// (send `null` to clear an optional one).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ModuleBody {
    #[validate(length(min = 1, max = 200))]
    title: Option<String>,
    #[validate(length(max = 10000))]
    description: Option<String>,
    #[validate(custom(function = "difficulty_level"))]
    difficulty: Option<String>,
    /// An `https://` URL of at most 2048 characters; `javascript:`, `data:`, `file:` and
    /// `http:` links are refused.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    #[validate(custom(function = "crate::extract::https_link"))]
    cover_image_url: Option<Option<String>>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    category_id: Option<Option<Uuid>>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<i32>)]
    #[validate(range(min = 1, max = 10000))]
    estimated_minutes: Option<Option<i32>>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<i32>)]
    #[validate(range(min = 1, max = 600))]
    validity_months: Option<Option<i32>>,
    /// Tag names, created on the fly; replaces the set.
    #[validate(length(max = 30))]
    tags: Option<Vec<String>>,
}

impl From<ModuleBody> for ModuleInput {
    fn from(b: ModuleBody) -> Self {
        Self {
            title: b.title,
            description: b.description,
            difficulty: b.difficulty,
            cover_image_url: b.cover_image_url,
            category_id: b.category_id,
            estimated_minutes: b.estimated_minutes,
            validity_months: b.validity_months,
            tags: b.tags,
        }
    }
}

/// Filters for the catalog.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ModuleQuery {
    /// DRAFT, PUBLISHED or ARCHIVED (members only ever see PUBLISHED, plus their own).
    status: Option<String>,
    category_id: Option<Uuid>,
    /// A tag name.
    tag: Option<String>,
    /// Only the modules you pinned.
    #[serde(default)]
    pinned: bool,
    /// Full-text search over titles, descriptions and section text (words, "phrases", -excluded).
    q: Option<String>,
    /// Page size, 1 to 200.
    limit: Option<u32>,
    /// The previous page's `next_cursor`.
    cursor: Option<String>,
}

/// The catalog: every module you may see, with your due dates.
///
/// Managers see every module; a module's creator and mentors see it; members see the published
/// modules assigned to their groups (or all published ones when the tenant's catalog is open).
#[utoipa::path(
    tag = "modules",
    params(ModuleQuery),
    responses((status = 200, body = PageOf<ModuleDto>, description = "A page of modules"), AuthErrors, InputErrors)
)]
#[get("")]
pub(crate) async fn list_modules(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<ModuleQuery>,
) -> Result<web::Json<PageOf<ModuleDto>>, ApiError> {
    let actor = auth.0;
    let q = query.into_inner();
    let filter = ModuleFilter {
        status: q.status,
        category_id: q.category_id,
        tag: q.tag,
        pinned: q.pinned,
        q: q.q,
    };
    let page = PageRequest::from(&PageParams {
        limit: q.limit,
        cursor: q.cursor,
    });
    let page = in_tenant(&state, &actor, async |conn| {
        modules::list(conn, &actor, &filter, &page).await
    })
    .await?;
    Ok(web::Json(PageOf::map(page, ModuleDto::from)))
}

/// Create a DRAFT module (MANAGE_ALL_MODULES or MANAGE_OWN_MODULES).
#[utoipa::path(
    tag = "modules",
    request_body = ModuleBody,
    responses((status = 201, body = ModuleDto, description = "Created"), AuthErrors, InputErrors, NotFound)
)]
#[post("")]
pub(crate) async fn create_module(
    state: web::Data<AppState>,
    auth: Authorized,
    body: ValidJson<ModuleBody>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let input = ModuleInput::from(body.into_inner());
    let module = in_tenant(&state, &actor, async |conn| {
        modules::create(conn, &actor, &input).await
    })
    .await?;
    Ok(module_reply(HttpResponse::Created(), module))
}

/// Open a module (404 if you may not see it); records your access.
#[utoipa::path(
    tag = "modules",
    params(("module_id" = Uuid, Path, description = "The module")),
    responses((status = 200, body = ModuleDto, description = "The module; `ETag` is its revision"), AuthErrors, NotFound)
)]
#[get("/{module_id}")]
pub(crate) async fn get_module(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let id = path.into_inner();
    let module = in_tenant(&state, &actor, async |conn| {
        modules::open(conn, &actor, id).await
    })
    .await?;
    Ok(module_reply(HttpResponse::Ok(), module))
}

/// Update a module; requires `If-Match` with its `ETag`.
#[utoipa::path(
    tag = "modules",
    params(("module_id" = Uuid, Path, description = "The module"), ("If-Match" = String, Header, description = "The ETag you read")),
    request_body = ModuleBody,
    responses((status = 200, body = ModuleDto, description = "Updated"), AuthErrors, InputErrors, NotFound, Conflict, PreconditionErrors)
)]
#[patch("/{module_id}")]
pub(crate) async fn update_module(
    state: web::Data<AppState>,
    auth: Authorized,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<ModuleBody>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let id = path.into_inner();
    let input = ModuleInput::from(body.into_inner());
    let module = in_tenant(&state, &actor, async |conn| {
        modules::update(conn, &actor, id, if_match.0, &input).await
    })
    .await?;
    Ok(module_reply(HttpResponse::Ok(), module))
}

/// A status to move to.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusBody {
    /// PUBLISHED (needs a section), ARCHIVED, or DRAFT.
    status: String,
    /// On publishing a changed module: what changed (default "First publication" or
    /// "Content updated").
    #[validate(length(min = 1, max = 2000))]
    summary: Option<String>,
    /// On publishing a changed module: MINOR or MATERIAL (default MATERIAL for the first version,
    /// MINOR after). Only MATERIAL versions flag the module as updated for its readers.
    #[validate(custom(function = "crate::routes::versions::change_kind"))]
    kind: Option<String>,
}

/// Publish, archive or return a module to draft; requires `If-Match`. Publishing a module that
/// was never published or changed since its latest version records a new version.
#[utoipa::path(
    tag = "modules",
    params(("module_id" = Uuid, Path, description = "The module"), ("If-Match" = String, Header, description = "The ETag you read")),
    request_body = StatusBody,
    responses((status = 200, body = ModuleDto, description = "Moved"), AuthErrors, InputErrors, NotFound, Conflict, PreconditionErrors)
)]
#[post("/{module_id}/status")]
pub(crate) async fn set_module_status(
    state: web::Data<AppState>,
    auth: Authorized,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<StatusBody>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let id = path.into_inner();
    let body = body.into_inner();
    let note = ChangeNote {
        summary: body.summary,
        kind: body.kind,
    };
    let status = body.status;
    let module = in_tenant(&state, &actor, async |conn| {
        modules::set_status(conn, &actor, id, if_match.0, &status, &note).await
    })
    .await?;
    Ok(module_reply(HttpResponse::Ok(), module))
}

/// `?force=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeleteModuleQuery {
    /// Delete even though members completed the module (MANAGE_ALL_MODULES on it): its
    /// certificates are revoked and kept, its completions and progress deleted.
    #[serde(default)]
    force: bool,
}

/// What deleting a module refuses.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "documentation only")]
pub(crate) enum DeleteModuleErrors {
    /// Not allowed.
    #[response(
        status = 403,
        description = concat!(
            "Not allowed: ",
            forbidden_codes!(),
            "; `forbidden` also for `force` without MANAGE_ALL_MODULES on the module"
        ),
        content_type = "application/problem+json"
    )]
    Forbidden(Problem),
    /// Members completed it.
    #[response(
        status = 409,
        description = "`module_has_completions`: archive it instead, or delete it with `force`",
        content_type = "application/problem+json"
    )]
    HasCompletions(Problem),
}

/// Delete a module and its sections; requires `If-Match`.
///
/// A module that members completed is not deleted (409 `module_has_completions`): archive it.
/// A holder of MANAGE_ALL_MODULES on it may force the deletion (`?force=true`), which revokes
/// its certificates (they are kept, so holders and verifiers still see them, REVOKED) and deletes
/// its completions and progress.
#[utoipa::path(
    tag = "modules",
    params(("module_id" = Uuid, Path, description = "The module"), ("If-Match" = String, Header, description = "The ETag you read"), DeleteModuleQuery),
    responses((status = 204, description = "Deleted"), AuthErrors, NotFound, PreconditionErrors, DeleteModuleErrors)
)]
#[delete("/{module_id}")]
pub(crate) async fn delete_module(
    state: web::Data<AppState>,
    auth: Authorized,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    query: web::Query<DeleteModuleQuery>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let id = path.into_inner();
    let force = query.force;
    let now = state.clock.now();
    in_tenant(&state, &actor, async |conn| {
        modules::delete(conn, &actor, id, if_match.0, force, now).await
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Ids to set.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct IdsBody {
    #[validate(length(max = 100))]
    ids: Vec<Uuid>,
}

/// Replace a module's prerequisites (cycles are refused with `prerequisite_cycle`).
#[utoipa::path(
    tag = "modules",
    params(("module_id" = Uuid, Path, description = "The module")),
    request_body = IdsBody,
    responses((status = 200, body = ModuleDto, description = "Updated"), AuthErrors, InputErrors, NotFound)
)]
#[put("/{module_id}/prerequisites")]
pub(crate) async fn set_module_prerequisites(
    state: web::Data<AppState>,
    auth: Authorized,
    path: web::Path<Uuid>,
    body: ValidJson<IdsBody>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let id = path.into_inner();
    let ids = body.into_inner().ids;
    let module = in_tenant(&state, &actor, async |conn| {
        modules::set_prerequisites(conn, &actor, id, &ids).await
    })
    .await?;
    Ok(module_reply(HttpResponse::Ok(), module))
}

/// Replace a module's mentors (members who answer questions, grade and may edit it with MANAGE_OWN_MODULES).
///
/// Needs MANAGE_ALL_MODULES on the module (tenant-wide or scoped to it): its creator and mentors
/// cannot choose who grades it (403 `forbidden`).
#[utoipa::path(
    tag = "modules",
    params(("module_id" = Uuid, Path, description = "The module")),
    request_body = IdsBody,
    responses((status = 200, body = ModuleDto, description = "Updated"), AuthErrors, InputErrors, NotFound)
)]
#[put("/{module_id}/mentors")]
pub(crate) async fn set_module_mentors(
    state: web::Data<AppState>,
    auth: Authorized,
    path: web::Path<Uuid>,
    body: ValidJson<IdsBody>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let id = path.into_inner();
    let ids = body.into_inner().ids;
    let module = in_tenant(&state, &actor, async |conn| {
        modules::set_mentors(conn, &actor, id, &ids).await
    })
    .await?;
    Ok(module_reply(HttpResponse::Ok(), module))
}

/// An assignment's terms.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GroupAssignmentBody {
    /// Days after a member is assigned by which they should complete it.
    #[validate(range(min = 1, max = 3650))]
    deadline_days: Option<i32>,
    #[serde(default)]
    is_mandatory: bool,
}

/// Assign a module to a group (or change the assignment).
///
/// Needs MANAGE_ALL_MODULES on the module (tenant-wide or scoped to it): its creator and mentors
/// cannot assign it (403 `forbidden`).
#[utoipa::path(
    tag = "modules",
    params(("module_id" = Uuid, Path, description = "The module"), ("group_id" = Uuid, Path, description = "The group")),
    request_body = GroupAssignmentBody,
    responses((status = 200, body = ModuleDto, description = "Assigned"), AuthErrors, InputErrors, NotFound)
)]
#[put("/{module_id}/groups/{group_id}")]
pub(crate) async fn assign_module(
    state: web::Data<AppState>,
    auth: Authorized,
    path: web::Path<(Uuid, Uuid)>,
    body: ValidJson<GroupAssignmentBody>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let (id, group) = path.into_inner();
    let b = body.into_inner();
    let module = in_tenant(&state, &actor, async |conn| {
        modules::assign(conn, &actor, id, group, b.deadline_days, b.is_mandatory).await
    })
    .await?;
    Ok(module_reply(HttpResponse::Ok(), module))
}

/// Remove a module's assignment to a group.
///
/// Needs MANAGE_ALL_MODULES on the module (tenant-wide or scoped to it).
#[utoipa::path(
    tag = "modules",
    params(("module_id" = Uuid, Path, description = "The module"), ("group_id" = Uuid, Path, description = "The group")),
    responses((status = 200, body = ModuleDto, description = "Unassigned"), AuthErrors, NotFound)
)]
#[delete("/{module_id}/groups/{group_id}")]
pub(crate) async fn unassign_module(
    state: web::Data<AppState>,
    auth: Authorized,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let (id, group) = path.into_inner();
    let module = in_tenant(&state, &actor, async |conn| {
        modules::unassign(conn, &actor, id, group).await
    })
    .await?;
    Ok(module_reply(HttpResponse::Ok(), module))
}

/// A section. The `ETag` header carries `revision`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SectionDto {
    id: Uuid,
    module_id: Uuid,
    title: String,
    /// TEXT, VIDEO, ATTACHMENT or MIXED.
    kind: String,
    /// Sanitized HTML.
    content_html: String,
    /// YOUTUBE_VIMEO_URL, UPLOAD, CLOUDFLARE_STREAM or TARGETVIDEO.
    video_source: Option<String>,
    video_ref: Option<String>,
    sort_order: i32,
    revision: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Section> for SectionDto {
    fn from(s: Section) -> Self {
        Self {
            id: s.id,
            module_id: s.module_id,
            title: s.title,
            kind: s.kind,
            content_html: s.content_html,
            video_source: s.video_source,
            video_ref: s.video_ref,
            sort_order: s.sort_order,
            revision: s.revision,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// A video: its source and reference.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VideoBody {
    /// YOUTUBE_VIMEO_URL, UPLOAD, CLOUDFLARE_STREAM or TARGETVIDEO.
    source: String,
    /// The https URL (YouTube/Vimeo) or the id.
    reference: String,
}

/// A section's fields; on create `title` is required; on update, fields left out are kept.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SectionBody {
    #[validate(length(min = 1, max = 200))]
    title: Option<String>,
    /// TEXT (default), VIDEO, ATTACHMENT or MIXED.
    kind: Option<String>,
    /// HTML; sanitized on write (scripts, event handlers, `javascript:` URLs removed).
    #[validate(length(max = 500000))]
    content_html: Option<String>,
    /// The video; `null` removes it.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<VideoBody>)]
    video: Option<Option<VideoBody>>,
}

impl From<SectionBody> for SectionInput {
    fn from(b: SectionBody) -> Self {
        Self {
            title: b.title,
            kind: b.kind,
            content_html: b.content_html,
            video: b.video.map(|v| v.map(|v| (v.source, v.reference))),
        }
    }
}

/// List a module's sections, in order.
#[utoipa::path(
    tag = "modules",
    params(("module_id" = Uuid, Path, description = "The module")),
    responses((status = 200, body = Vec<SectionDto>, description = "The sections"), AuthErrors, NotFound)
)]
#[get("/{module_id}/sections")]
pub(crate) async fn list_sections(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<Uuid>,
) -> Result<web::Json<Vec<SectionDto>>, ApiError> {
    let actor = auth.0;
    let id = path.into_inner();
    let list = in_tenant(&state, &actor, async |conn| {
        sections::list(conn, &actor, id).await
    })
    .await?;
    Ok(web::Json(list.into_iter().map(SectionDto::from).collect()))
}

/// Add a section at the end of a module.
#[utoipa::path(
    tag = "modules",
    params(("module_id" = Uuid, Path, description = "The module")),
    request_body = SectionBody,
    responses((status = 201, body = SectionDto, description = "Created"), AuthErrors, InputErrors, NotFound)
)]
#[post("/{module_id}/sections")]
pub(crate) async fn create_section(
    state: web::Data<AppState>,
    auth: Authorized,
    path: web::Path<Uuid>,
    body: ValidJson<SectionBody>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let id = path.into_inner();
    let input = SectionInput::from(body.into_inner());
    let section = in_tenant(&state, &actor, async |conn| {
        sections::create(conn, &actor, id, &input).await
    })
    .await?;
    let revision = section.revision;
    Ok(with_etag(
        HttpResponse::Created(),
        revision,
        &SectionDto::from(section),
    ))
}

/// Get a section.
#[utoipa::path(
    tag = "modules",
    params(("module_id" = Uuid, Path, description = "The module"), ("section_id" = Uuid, Path, description = "The section")),
    responses((status = 200, body = SectionDto, description = "The section; `ETag` is its revision"), AuthErrors, NotFound)
)]
#[get("/{module_id}/sections/{section_id}")]
pub(crate) async fn get_section(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let (module, id) = path.into_inner();
    let section = in_tenant(&state, &actor, async |conn| {
        sections::get(conn, &actor, module, id).await
    })
    .await?;
    let revision = section.revision;
    Ok(with_etag(
        HttpResponse::Ok(),
        revision,
        &SectionDto::from(section),
    ))
}

/// Update a section; requires `If-Match` with its `ETag`.
#[utoipa::path(
    tag = "modules",
    params(("module_id" = Uuid, Path, description = "The module"), ("section_id" = Uuid, Path, description = "The section"),
        ("If-Match" = String, Header, description = "The ETag you read")),
    request_body = SectionBody,
    responses((status = 200, body = SectionDto, description = "Updated"), AuthErrors, InputErrors, NotFound, PreconditionErrors)
)]
#[patch("/{module_id}/sections/{section_id}")]
pub(crate) async fn update_section(
    state: web::Data<AppState>,
    auth: Authorized,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    body: ValidJson<SectionBody>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let (module, id) = path.into_inner();
    let input = SectionInput::from(body.into_inner());
    let section = in_tenant(&state, &actor, async |conn| {
        sections::update(conn, &actor, module, id, if_match.0, &input).await
    })
    .await?;
    let revision = section.revision;
    Ok(with_etag(
        HttpResponse::Ok(),
        revision,
        &SectionDto::from(section),
    ))
}

/// Delete a section; requires `If-Match`.
#[utoipa::path(
    tag = "modules",
    params(("module_id" = Uuid, Path, description = "The module"), ("section_id" = Uuid, Path, description = "The section"),
        ("If-Match" = String, Header, description = "The ETag you read")),
    responses((status = 204, description = "Deleted"), AuthErrors, NotFound, PreconditionErrors)
)]
#[delete("/{module_id}/sections/{section_id}")]
pub(crate) async fn delete_section(
    state: web::Data<AppState>,
    auth: Authorized,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let (module, id) = path.into_inner();
    in_tenant(&state, &actor, async |conn| {
        sections::delete(conn, &actor, module, id, if_match.0).await
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Reorder all of a module's sections at once: list every section id exactly once.
#[utoipa::path(
    tag = "modules",
    params(("module_id" = Uuid, Path, description = "The module")),
    request_body = IdsBody,
    responses((status = 200, body = Vec<SectionDto>, description = "The sections in their new order"), AuthErrors, InputErrors, NotFound)
)]
#[put("/{module_id}/sections/order")]
pub(crate) async fn reorder_sections(
    state: web::Data<AppState>,
    auth: Authorized,
    path: web::Path<Uuid>,
    body: ValidJson<IdsBody>,
) -> Result<web::Json<Vec<SectionDto>>, ApiError> {
    let actor = auth.0;
    let id = path.into_inner();
    let order = body.into_inner().ids;
    let list = in_tenant(&state, &actor, async |conn| {
        sections::reorder(conn, &actor, id, &order).await
    })
    .await?;
    Ok(web::Json(list.into_iter().map(SectionDto::from).collect()))
}

/// A category.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CategoryDto {
    id: Uuid,
    name: String,
    sort_order: i32,
    created_at: DateTime<Utc>,
}

impl From<Category> for CategoryDto {
    fn from(c: Category) -> Self {
        Self {
            id: c.id,
            name: c.name,
            sort_order: c.sort_order,
            created_at: c.created_at,
        }
    }
}

/// A category's fields.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CategoryBody {
    #[validate(length(min = 1, max = 100))]
    name: Option<String>,
    sort_order: Option<i32>,
}

/// List module categories, in order.
#[utoipa::path(tag = "modules", responses((status = 200, body = Vec<CategoryDto>, description = "The categories"), AuthErrors))]
#[get("")]
pub(crate) async fn list_categories(
    state: web::Data<AppState>,
    auth: Auth,
) -> Result<web::Json<Vec<CategoryDto>>, ApiError> {
    let actor = auth.0;
    let list = in_tenant(&state, &actor, async |conn| {
        categories::list(conn, &actor).await
    })
    .await?;
    Ok(web::Json(list.into_iter().map(CategoryDto::from).collect()))
}

/// Create a category (MANAGE_ALL_MODULES).
#[utoipa::path(
    tag = "modules",
    request_body = CategoryBody,
    responses((status = 201, body = CategoryDto, description = "Created"), AuthErrors, InputErrors, Conflict)
)]
#[post("")]
pub(crate) async fn create_category(
    state: web::Data<AppState>,
    auth: Authorized,
    body: ValidJson<CategoryBody>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let b = body.into_inner();
    let name = b.name.ok_or_else(|| {
        ApiError::validation(vec![crate::error::ProblemField {
            field: "name".into(),
            code: "required".into(),
            message: "a name is required".into(),
        }])
    })?;
    let category = in_tenant(&state, &actor, async |conn| {
        categories::create(conn, &actor, &name, b.sort_order.unwrap_or(0)).await
    })
    .await?;
    Ok(HttpResponse::Created().json(CategoryDto::from(category)))
}

/// Rename or move a category (MANAGE_ALL_MODULES).
#[utoipa::path(
    tag = "modules",
    params(("category_id" = Uuid, Path, description = "The category")),
    request_body = CategoryBody,
    responses((status = 200, body = CategoryDto, description = "Updated"), AuthErrors, InputErrors, NotFound, Conflict)
)]
#[patch("/{category_id}")]
pub(crate) async fn update_category(
    state: web::Data<AppState>,
    auth: Authorized,
    path: web::Path<Uuid>,
    body: ValidJson<CategoryBody>,
) -> Result<web::Json<CategoryDto>, ApiError> {
    let actor = auth.0;
    let id = path.into_inner();
    let b = body.into_inner();
    let category = in_tenant(&state, &actor, async |conn| {
        categories::update(conn, &actor, id, b.name.as_deref(), b.sort_order).await
    })
    .await?;
    Ok(web::Json(category.into()))
}

/// Delete a category; its modules become uncategorized (MANAGE_ALL_MODULES).
#[utoipa::path(
    tag = "modules",
    params(("category_id" = Uuid, Path, description = "The category")),
    responses((status = 204, description = "Deleted"), AuthErrors, NotFound)
)]
#[delete("/{category_id}")]
pub(crate) async fn delete_category(
    state: web::Data<AppState>,
    auth: Authorized,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let id = path.into_inner();
    in_tenant(&state, &actor, async |conn| {
        categories::delete(conn, &actor, id).await
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

macro_rules! pin_route {
    ($(#[$doc:meta])* $name:ident, $method:ident, $path:literal, $status:literal, $pinned:literal, $func:path, $auth:ty) => {
        $(#[$doc])*
        #[utoipa::path(
            tag = "modules",
            params(("module_id" = Uuid, Path, description = "The module")),
            responses((status = 200, body = ModuleDto, description = $status), AuthErrors, NotFound)
        )]
        #[$method($path)]
        pub(crate) async fn $name(state: web::Data<AppState>, auth: $auth, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
            let actor = auth.0;
            let id = path.into_inner();
            let module = in_tenant(&state, &actor, async |conn| $func(conn, &actor, id, $pinned).await).await?;
            Ok(module_reply(HttpResponse::Ok(), module))
        }
    };
}

pin_route!(
    /// Pin a module for yourself.
    pin_module, put, "/{module_id}/pin", "Pinned", true, modules::pin, Auth
);
pin_route!(
    /// Unpin a module.
    unpin_module, delete, "/{module_id}/pin", "Unpinned", false, modules::pin, Auth
);
pin_route!(
    /// Pin a module for the whole company (MANAGE_ALL_MODULES).
    company_pin_module, put, "/{module_id}/company-pin", "Pinned for everyone", true, modules::company_pin,
    Authorized
);
pin_route!(
    /// Remove a company-wide pin (MANAGE_ALL_MODULES).
    company_unpin_module, delete, "/{module_id}/company-pin", "Unpinned for everyone", false, modules::company_pin,
    Authorized
);
