//! Modules: `/v1/modules` (modules, their sections, prerequisites, mentors, group assignments
//! and pins here; one sub-module per other sub-resource).

pub mod assignments;
pub mod attachments;
pub mod discussions;
pub mod enrolment;
pub mod progress;
pub mod quizzes;
pub mod renewal;
pub mod self_assessment;
pub mod sources;
pub mod versions;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use chrono::{DateTime, Utc};
use guild_kernel::{GroupId, ModuleId, PageRequest, SectionId};
use guild_learning::modules::{
    self, Difficulty, Module, ModuleFilter, ModuleInput, ModuleSort, ModuleStatus,
};
use guild_learning::sections::{self, Section, SectionInput, SectionKind, VideoSource};
use guild_learning::versions::{ChangeKind, ChangeNote};
use guild_progress::catalog;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, IntoResponses, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::{Ctx, Permitted};
use crate::error::{ApiError, Problem};
use crate::etag::{IfMatch, Tagged, tag_by_body};
use crate::extract::ValidJson;
use crate::idempotency::{Idempotency, IdempotencyHeader, once};
use crate::routes::common::double_option;
use crate::routes::common::{
    AuthErrors, Conflict, InputErrors, NotFound, PageOf, PageParams, forbidden_codes,
};
use crate::routes::segment;

/// Registers `/v1/modules`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/modules")
            .service(list_modules)
            .service(create_module)
            .service(get_module)
            .service(update_module)
            .service(set_module_status)
            .service(delete_module)
            .service(versions::list_module_versions)
            .service(versions::publish_module_version)
            .service(versions::acknowledge_module)
            .service(renewal::start_renewal)
            .service(progress::complete_section)
            .service(progress::get_module_progress)
            .service(enrolment::create_module_enrolment)
            .service(enrolment::delete_module_enrolment)
            .service(discussions::list_discussions)
            .service(self_assessment::update_self_assessment)
            .service(self_assessment::get_self_assessment)
            .service(attachments::list_attachments)
            .service(attachments::attach_asset)
            .service(attachments::detach_asset)
            .service(set_module_prerequisites)
            .service(set_module_mentors)
            .service(assign_module)
            .service(unassign_module)
            .service(pin_module)
            .service(unpin_module)
            .service(pin_module_for_company)
            .service(unpin_module_for_company)
            .service(list_sections)
            .service(create_section)
            .service(reorder_sections)
            .service(get_section)
            .service(update_section)
            .service(delete_section)
            .service(quizzes::list_quizzes)
            .service(quizzes::create_quiz)
            .service(assignments::list_assignments)
            .service(assignments::create_assignment)
            .service(sources::list_module_sources),
    );
}

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
    status: ModuleStatus,
    difficulty: Difficulty,
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

/// A new module. Only `title` is required; it is created as a DRAFT.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "title": "Working at height",
    "description": "Ladders, scaffolds and harnesses: what to check before you climb.",
    "difficulty": "BEGINNER",
    "cover_image_url": "https://cdn.example.com/covers/ladders.png",
    "estimated_minutes": 45,
    "validity_months": 12,
    "tags": ["safety", "onboarding"]
}))]
pub(crate) struct CreateModuleBody {
    /// 1 to 200 characters.
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    title: String,
    /// At most 10,000 characters (default empty).
    #[validate(length(max = 10000))]
    #[schema(max_length = 10000)]
    description: Option<String>,
    /// Default BEGINNER.
    difficulty: Option<Difficulty>,
    /// An `https://` URL of at most 2048 characters; `javascript:`, `data:`, `file:` and
    /// `http:` links are refused.
    #[validate(custom(function = "crate::extract::https_link"))]
    #[schema(
        max_length = 2048,
        pattern = r"^[Hh][Tt][Tt][Pp][Ss]://(?:[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@.:][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@:]*|[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@.][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@]*:[0-9]*|(?:[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@.][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@]*)?:[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@:]*\][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@:]*)(?:[/?#][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\]*)?$"
    )]
    cover_image_url: Option<String>,
    /// A category of the tenant (404 `category_not_found` otherwise).
    category_id: Option<Uuid>,
    /// 1 to 10,000.
    #[validate(range(min = 1, max = 10000))]
    #[schema(minimum = 1, maximum = 10000)]
    estimated_minutes: Option<i32>,
    /// Months a completion stays valid, 1 to 600 (compliance); none: forever.
    #[validate(range(min = 1, max = 600))]
    #[schema(minimum = 1, maximum = 600)]
    validity_months: Option<i32>,
    /// Tag names (at most 30), created on the fly; blank names are ignored.
    #[validate(length(max = 30))]
    #[schema(max_items = 30)]
    tags: Option<Vec<TagName>>,
}

/// A tag's name, at most 50 characters (surrounding white space is trimmed, and a blank name is
/// ignored).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String")]
#[schema(value_type = String, max_length = 50)]
pub(crate) struct TagName(String);

impl TryFrom<String> for TagName {
    type Error = &'static str;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        if name.chars().count() > 50 {
            return Err("a tag name is at most 50 characters");
        }
        Ok(Self(name))
    }
}

impl TagName {
    fn names(tags: Vec<Self>) -> Vec<String> {
        tags.into_iter().map(|t| t.0).collect()
    }
}

impl From<CreateModuleBody> for ModuleInput {
    fn from(b: CreateModuleBody) -> Self {
        Self {
            title: Some(b.title),
            description: b.description,
            difficulty: b.difficulty,
            cover_image_url: Some(b.cover_image_url),
            category_id: Some(b.category_id),
            estimated_minutes: Some(b.estimated_minutes),
            validity_months: Some(b.validity_months),
            tags: b.tags.map(TagName::names),
        }
    }
}

/// Changes to a module: every field left out is kept; `null` clears an optional one.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "title": "Working at height (2027)",
    "estimated_minutes": 50,
    "category_id": null
}))]
pub(crate) struct UpdateModuleBody {
    /// 1 to 200 characters.
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    title: Option<String>,
    /// At most 10,000 characters.
    #[validate(length(max = 10000))]
    #[schema(max_length = 10000)]
    description: Option<String>,
    difficulty: Option<Difficulty>,
    /// An `https://` URL of at most 2048 characters; `javascript:`, `data:`, `file:` and
    /// `http:` links are refused. `null` removes it.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 2048, pattern = r"^[Hh][Tt][Tt][Pp][Ss]://(?:[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@.:][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@:]*|[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@.][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@]*:[0-9]*|(?:[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@.][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@]*)?:[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@:]*\][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@:]*)(?:[/?#][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\]*)?$")]
    #[validate(custom(function = "crate::extract::https_link"))]
    cover_image_url: Option<Option<String>>,
    /// A category of the tenant (404 `category_not_found` otherwise); `null` uncategorizes.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    category_id: Option<Option<Uuid>>,
    /// 1 to 10,000; `null` clears it.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<i32>, minimum = 1, maximum = 10000)]
    #[validate(range(min = 1, max = 10000))]
    estimated_minutes: Option<Option<i32>>,
    /// 1 to 600; `null`: valid forever.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<i32>, minimum = 1, maximum = 600)]
    #[validate(range(min = 1, max = 600))]
    validity_months: Option<Option<i32>>,
    /// Tag names (at most 30), created on the fly; replaces the set.
    #[validate(length(max = 30))]
    #[schema(max_items = 30)]
    tags: Option<Vec<TagName>>,
}

impl From<UpdateModuleBody> for ModuleInput {
    fn from(b: UpdateModuleBody) -> Self {
        Self {
            title: b.title,
            description: b.description,
            difficulty: b.difficulty,
            cover_image_url: b.cover_image_url,
            category_id: b.category_id,
            estimated_minutes: b.estimated_minutes,
            validity_months: b.validity_months,
            tags: b.tags.map(TagName::names),
        }
    }
}

/// Filters, order and paging of the catalog.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ModuleQuery {
    /// Only this status (members only ever see PUBLISHED modules, plus their own).
    status: Option<ModuleStatus>,
    /// Only this category.
    category_id: Option<Uuid>,
    /// Only modules with this tag (case-insensitive).
    tag: Option<String>,
    /// Only the modules you pinned.
    #[serde(default)]
    #[param(default = false)]
    pinned: bool,
    /// Full-text search over titles, descriptions and section text (words, "phrases", -excluded).
    q: Option<String>,
    /// The order (default `created_at`); a leading `-` is descending. A cursor only continues
    /// the order it was issued for.
    sort: Option<ModuleSort>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200, default = 50)]
    #[serde(default, deserialize_with = "crate::routes::common::page_limit")]
    limit: Option<u32>,
    /// The previous page's `next_cursor`.
    #[param(max_length = 1024)]
    cursor: Option<String>,
}

/// List the catalog: every module you may see, with your due dates.
///
/// Managers see every module; a module's creator and mentors see it; members see the published
/// modules assigned to their groups (or all published ones when the tenant's catalog is open).
/// Sorted by `sort` (creation, title or last change, either way), keyset-paginated: 422
/// `validation_failed` (`invalid_cursor`) for a cursor of another order.
#[utoipa::path(
    tag = "modules",
    params(ModuleQuery),
    responses((status = 200, body = PageOf<ModuleDto>, description = "A page of modules"), AuthErrors, InputErrors)
)]
#[get("/modules")]
pub(crate) async fn list_modules(
    ctx: Ctx,
    query: web::Query<ModuleQuery>,
) -> Result<web::Json<PageOf<ModuleDto>>, ApiError> {
    let q = query.into_inner();
    let filter = ModuleFilter {
        status: q.status,
        category_id: q.category_id,
        tag: q.tag,
        pinned: q.pinned,
        q: q.q,
        sort: q.sort.unwrap_or_default(),
    };
    let page = PageRequest::from(&PageParams {
        limit: q.limit,
        cursor: q.cursor,
    });
    let shown = if catalog::answers(&filter) {
        let (member, shared) = catalog_of(&ctx).await?;
        catalog::page(&shared, &member, &ctx.actor, &filter, &page)?
    } else {
        None
    };
    let page = match shown {
        Some(page) => page,
        None => {
            ctx.read_staged(async |stages| modules::list(stages, &ctx.actor, &filter, &page).await)
                .await?
        }
    };
    Ok(web::Json(PageOf::map(page, ModuleDto::from)))
}

/// The actor's own catalog facts (one statement) and the tenant's shared catalog: the kept copy
/// when its stamp is the one just read, otherwise read again (one more statement) and kept.
async fn catalog_of(
    ctx: &Ctx,
) -> Result<(catalog::Member, std::sync::Arc<catalog::Shared>), ApiError> {
    let member = ctx
        .read(async |conn| catalog::member(conn, &ctx.actor).await)
        .await?;
    let tenant = ctx.actor.tenant_id;
    if let Some(shared) = ctx.state.catalog.get(tenant, member.stamp) {
        return Ok((member, shared));
    }
    let shared = ctx
        .read(async |conn| catalog::load(conn, tenant).await)
        .await?;
    ctx.state.catalog.put(tenant, shared.clone());
    Ok((member, shared))
}

/// Create a DRAFT module.
///
/// Needs MANAGE_ALL_MODULES or MANAGE_OWN_MODULES; the creator may then edit it. Publish it with
/// `POST /v1/modules/{module_id}/status` once it has a section. 404 `category_not_found` for a
/// category of no module of yours. With an `Idempotency-Key`, a retry creates nothing more and
/// answers the first response again.
#[utoipa::path(
    tag = "modules",
    params(IdempotencyHeader),
    request_body = CreateModuleBody,
    responses((status = 201, body = ModuleDto, description = "Created; `ETag` is its revision"), AuthErrors, InputErrors, NotFound)
)]
#[post("/modules")]
pub(crate) async fn create_module(
    ctx: Ctx<Permitted>,
    key: Idempotency,
    body: ValidJson<CreateModuleBody>,
) -> Result<HttpResponse, ApiError> {
    let input = ModuleInput::from(body.into_inner());
    let response = once(&ctx, &key, StatusCode::CREATED, async |conn| {
        modules::create(conn, &ctx.actor, &input)
            .await
            .map(ModuleDto::from)
    })
    .await?;
    Ok(tag_by_body(response).await)
}

/// Get (open) a module.
///
/// Anyone who may see the module (404 `module_not_found` otherwise, as if it did not exist);
/// records your access (last opened, and on the first access the version you saw). Views are
/// written in batches, once a second by default: `last_accessed_at` elsewhere (the dashboard's
/// recent modules) follows within that time.
#[utoipa::path(
    tag = "modules",
    params(("module_id" = Uuid, Path, description = "The module")),
    responses((status = 200, body = ModuleDto, description = "The module; `ETag` is its revision"), AuthErrors, NotFound)
)]
#[get("/modules/{module_id}")]
pub(crate) async fn get_module(ctx: Ctx, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let (member, shared) = catalog_of(&ctx).await?;
    let module = catalog::module(&shared, &member, &ctx.actor, id, ctx.now)?;
    let access_log = ctx.state.access_log.clone();
    access_log
        .record(&ctx, ModuleId(id), module.row.version)
        .await?;
    Ok(Tagged(ModuleDto::from(module)).into())
}

/// Update a module; requires `If-Match` with its `ETag`.
///
/// Its editors (MANAGE_ALL_MODULES, or MANAGE_OWN_MODULES as its creator or mentor) change the
/// fields sent; left-out fields are kept. 409 `invalid_status_transition` for an ARCHIVED module
/// (return it to DRAFT first); 404 `category_not_found` for an unknown category.
#[utoipa::path(
    tag = "modules",
    params(("module_id" = Uuid, Path, description = "The module"), ("If-Match" = String, Header, description = "The ETag you read")),
    request_body = UpdateModuleBody,
    responses((status = 200, body = ModuleDto, description = "Updated"), AuthErrors, InputErrors, NotFound, Conflict, PreconditionErrors)
)]
#[patch("/modules/{module_id}")]
pub(crate) async fn update_module(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<UpdateModuleBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let input = ModuleInput::from(body.into_inner());
    let module = ctx
        .write(async |conn| {
            modules::update(conn, &ctx.actor, id, if_match.0, &input, ctx.now).await
        })
        .await?;
    Ok(Tagged(ModuleDto::from(module)).into())
}

/// A status to move to.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "status": "PUBLISHED",
    "summary": "Adds the harness inspection checklist",
    "kind": "MATERIAL"
}))]
pub(crate) struct StatusBody {
    /// PUBLISHED (needs a section), ARCHIVED, or DRAFT.
    status: ModuleStatus,
    /// On publishing a changed module: what changed, 1 to 2000 characters, not blank (default
    /// "First publication" or "Content updated").
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000, pattern = "\\S")]
    summary: Option<String>,
    /// On publishing a changed module (default MATERIAL for the first version, MINOR after).
    /// Only MATERIAL versions flag the module as updated for its readers.
    kind: Option<ChangeKind>,
}

/// Publish, archive or return a module to draft; requires `If-Match`.
///
/// Its editors move DRAFT → PUBLISHED → ARCHIVED, PUBLISHED or ARCHIVED → DRAFT, DRAFT →
/// ARCHIVED; any other move is 409 `invalid_status_transition`, and publishing a module without
/// sections is 422 `module_empty`. Publishing a module that was never published or changed since its latest
/// version records a new version (see the changelog).
#[utoipa::path(
    tag = "modules",
    params(("module_id" = Uuid, Path, description = "The module"), ("If-Match" = String, Header, description = "The ETag you read")),
    request_body = StatusBody,
    responses((status = 200, body = ModuleDto, description = "Moved"), AuthErrors, InputErrors, NotFound, Conflict, PreconditionErrors)
)]
#[post("/modules/{module_id}/status")]
pub(crate) async fn set_module_status(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<StatusBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let body = body.into_inner();
    let note = ChangeNote {
        summary: body.summary,
        kind: body.kind,
    };
    let status = body.status;
    let module = ctx
        .write(async |conn| {
            modules::set_status(conn, &ctx.actor, id, if_match.0, status, &note, ctx.now).await
        })
        .await?;
    Ok(Tagged(ModuleDto::from(module)).into())
}

/// `?force=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeleteModuleQuery {
    /// Delete even though members completed the module (MANAGE_ALL_MODULES on it): its
    /// certificates are revoked and kept, its completions and progress deleted.
    #[serde(default)]
    #[param(default = false)]
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
/// Its editors delete it. A module that members completed is not deleted (409
/// `module_has_completions`): archive it. A holder of MANAGE_ALL_MODULES on it may force the
/// deletion (`?force=true`), which revokes its certificates (they are kept, so holders and
/// verifiers still see them, REVOKED) and deletes its completions and progress.
#[utoipa::path(
    tag = "modules",
    params(("module_id" = Uuid, Path, description = "The module"), ("If-Match" = String, Header, description = "The ETag you read"), DeleteModuleQuery),
    responses((status = 204, description = "Deleted"), AuthErrors, InputErrors, NotFound, PreconditionErrors, DeleteModuleErrors)
)]
#[delete("/modules/{module_id}")]
pub(crate) async fn delete_module(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    query: web::Query<DeleteModuleQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let force = query.force;
    let now = ctx.now;
    ctx.write(async |conn| {
        guild_progress::modules::delete(conn, &ctx.actor, id, if_match.0, force, now).await
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Ids to set (each at most once; at most 100).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "ids": ["0190a0b2-7e55-7c3e-9d6b-52f1e1b8c7a0"] }))]
pub(crate) struct IdsBody {
    /// At most 100 ids.
    #[validate(length(max = 100))]
    #[schema(max_items = 100)]
    ids: Vec<Uuid>,
}

/// Replace a module's prerequisites.
///
/// Its editors set the modules a learner must complete first (modules of the tenant; 404
/// `module_not_found` otherwise). A cycle is refused with 422 `prerequisite_cycle`.
#[utoipa::path(
    tag = "modules",
    params(("module_id" = Uuid, Path, description = "The module")),
    request_body = IdsBody,
    responses((status = 200, body = ModuleDto, description = "Updated"), AuthErrors, InputErrors, NotFound)
)]
#[put("/modules/{module_id}/prerequisites")]
pub(crate) async fn set_module_prerequisites(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    body: ValidJson<IdsBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let ids = body.into_inner().ids;
    let module = ctx
        .write(async |conn| modules::set_prerequisites(conn, &ctx.actor, id, &ids).await)
        .await?;
    Ok(Tagged(ModuleDto::from(module)).into())
}

/// Replace a module's mentors.
///
/// Mentors are members who answer questions, grade and may edit the module with
/// MANAGE_OWN_MODULES. Needs MANAGE_ALL_MODULES on the module (tenant-wide or scoped to it): its
/// creator and mentors cannot choose who grades it (403 `forbidden`). 404 `member_not_found` for
/// an id that is no member.
#[utoipa::path(
    tag = "modules",
    params(("module_id" = Uuid, Path, description = "The module")),
    request_body = IdsBody,
    responses((status = 200, body = ModuleDto, description = "Updated"), AuthErrors, InputErrors, NotFound)
)]
#[put("/modules/{module_id}/mentors")]
pub(crate) async fn set_module_mentors(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    body: ValidJson<IdsBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let ids = body.into_inner().ids;
    let module = ctx
        .write(async |conn| modules::set_mentors(conn, &ctx.actor, id, &ids).await)
        .await?;
    Ok(Tagged(ModuleDto::from(module)).into())
}

/// An assignment's terms.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "deadline_days": 30, "is_mandatory": true }))]
pub(crate) struct GroupAssignmentBody {
    /// Days after a member is assigned by which they should complete it, 1 to 3650.
    #[validate(range(min = 1, max = 3650))]
    #[schema(minimum = 1, maximum = 3650)]
    deadline_days: Option<i32>,
    /// Counts for compliance (default false).
    #[serde(default)]
    #[schema(default = false)]
    is_mandatory: bool,
}

/// Assign a module to a group (or change the assignment).
///
/// Needs MANAGE_ALL_MODULES on the module (tenant-wide or scoped to it): its creator and mentors
/// cannot assign it (403 `forbidden`). 404 `group_not_found` for an unknown group.
#[utoipa::path(
    tag = "modules",
    params(("module_id" = Uuid, Path, description = "The module"), ("group_id" = Uuid, Path, description = "The group")),
    request_body = GroupAssignmentBody,
    responses((status = 200, body = ModuleDto, description = "Assigned"), AuthErrors, InputErrors, NotFound)
)]
#[put("/modules/{module_id}/groups/{group_id}")]
pub(crate) async fn assign_module(
    ctx: Ctx<Permitted>,
    path: web::Path<(Uuid, Uuid)>,
    body: ValidJson<GroupAssignmentBody>,
) -> Result<HttpResponse, ApiError> {
    let (id, group) = path.into_inner();
    let b = body.into_inner();
    let module = ctx
        .write(async |conn| {
            modules::assign(
                conn,
                &ctx.actor,
                id,
                GroupId(group),
                b.deadline_days,
                b.is_mandatory,
            )
            .await
        })
        .await?;
    Ok(Tagged(ModuleDto::from(module)).into())
}

/// Remove a module's assignment to a group.
///
/// Needs MANAGE_ALL_MODULES on the module (tenant-wide or scoped to it). Members of the group keep
/// what they completed; the module is no longer due for them.
#[utoipa::path(
    tag = "modules",
    params(("module_id" = Uuid, Path, description = "The module"), ("group_id" = Uuid, Path, description = "The group")),
    responses((status = 200, body = ModuleDto, description = "Unassigned"), AuthErrors, NotFound)
)]
#[delete("/modules/{module_id}/groups/{group_id}")]
pub(crate) async fn unassign_module(
    ctx: Ctx<Permitted>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (id, group) = path.into_inner();
    let module = ctx
        .write(async |conn| modules::unassign(conn, &ctx.actor, id, GroupId(group)).await)
        .await?;
    Ok(Tagged(ModuleDto::from(module)).into())
}

/// A section. The `ETag` header carries `revision`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SectionDto {
    id: Uuid,
    module_id: Uuid,
    title: String,
    kind: SectionKind,
    /// Sanitized HTML.
    content_html: String,
    video_source: Option<VideoSource>,
    /// The video's URL or id, as its source expects.
    video_ref: Option<String>,
    /// Position in the module, from 0.
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
            video_source: s.video_source.and_then(|v| v.parse().ok()),
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
#[schema(example = json!({ "source": "YOUTUBE_VIMEO_URL", "reference": "https://www.youtube.com/watch?v=dQw4w9WgXcQ" }))]
pub(crate) struct VideoBody {
    source: VideoSource,
    /// For YOUTUBE_VIMEO_URL an `https://` YouTube or Vimeo URL; for CLOUDFLARE_STREAM the
    /// 32-hex-digit uid; for UPLOAD the id of a READY video asset of the media library; for
    /// TARGETVIDEO an id of letters, digits and `-_./`. A reference its source refuses is 422
    /// `validation_failed` (`invalid_video`).
    #[schema(min_length = 1, max_length = 2048)]
    reference: String,
}

/// A new section, added at the end of the module. Only `title` is required.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "title": "Inspecting a ladder",
    "kind": "MIXED",
    "content_html": "<p>Check the feet, the rungs and the locking bars.</p>",
    "video": { "source": "YOUTUBE_VIMEO_URL", "reference": "https://vimeo.com/76979871" }
}))]
pub(crate) struct CreateSectionBody {
    /// 1 to 200 characters.
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    title: String,
    /// Default TEXT.
    kind: Option<SectionKind>,
    /// HTML, at most 500,000 characters; sanitized on write (scripts, event handlers,
    /// `javascript:` URLs removed).
    #[validate(length(max = 500000))]
    #[schema(max_length = 500000)]
    content_html: Option<String>,
    /// The video, if any.
    video: Option<VideoBody>,
}

impl From<CreateSectionBody> for SectionInput {
    fn from(b: CreateSectionBody) -> Self {
        Self {
            title: Some(b.title),
            kind: b.kind,
            content_html: b.content_html,
            video: Some(b.video.map(|v| (v.source.as_str().to_owned(), v.reference))),
        }
    }
}

/// Changes to a section: fields left out are kept.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "title": "Inspecting a ladder before use", "video": null }))]
pub(crate) struct UpdateSectionBody {
    /// 1 to 200 characters.
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    title: Option<String>,
    kind: Option<SectionKind>,
    /// HTML, at most 500,000 characters; sanitized on write (scripts, event handlers,
    /// `javascript:` URLs removed).
    #[validate(length(max = 500000))]
    #[schema(max_length = 500000)]
    content_html: Option<String>,
    /// The video; `null` removes it.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<VideoBody>)]
    video: Option<Option<VideoBody>>,
}

impl From<UpdateSectionBody> for SectionInput {
    fn from(b: UpdateSectionBody) -> Self {
        Self {
            title: b.title,
            kind: b.kind,
            content_html: b.content_html,
            video: b
                .video
                .map(|v| v.map(|v| (v.source.as_str().to_owned(), v.reference))),
        }
    }
}

/// List a module's sections, in order.
///
/// Anyone who may see the module (404 `module_not_found` otherwise); a page at a time.
#[utoipa::path(
    tag = "modules",
    params(("module_id" = Uuid, Path, description = "The module"), PageParams),
    responses((status = 200, body = PageOf<SectionDto>, description = "A page of sections"), AuthErrors, InputErrors, NotFound)
)]
#[get("/modules/{module_id}/sections")]
pub(crate) async fn list_sections(
    ctx: Ctx,
    path: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> Result<web::Json<PageOf<SectionDto>>, ApiError> {
    let id = path.into_inner();
    let page = PageRequest::from(&page.into_inner());
    let list = ctx
        .write(async |conn| sections::list(conn, &ctx.actor, id, &page).await)
        .await?;
    Ok(web::Json(PageOf::map(list, SectionDto::from)))
}

/// Create a section at the end of a module.
///
/// The module's editors. A video reference its source refuses is 422 (`invalid_video`); an
/// UPLOAD video must be a READY video asset (404 `asset_not_found`, 409 `asset_not_ready`). With
/// an `Idempotency-Key`, a retry creates nothing more and answers the first response again.
#[utoipa::path(
    tag = "modules",
    params(("module_id" = Uuid, Path, description = "The module"), IdempotencyHeader),
    request_body = CreateSectionBody,
    responses((status = 201, body = SectionDto, description = "Created; `ETag` is its revision"), AuthErrors, InputErrors, NotFound, Conflict)
)]
#[post("/modules/{module_id}/sections")]
pub(crate) async fn create_section(
    ctx: Ctx<Permitted>,
    key: Idempotency,
    path: web::Path<Uuid>,
    body: ValidJson<CreateSectionBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let input = SectionInput::from(body.into_inner());
    let response = once(&ctx, &key, StatusCode::CREATED, async |conn| {
        sections::create(conn, &ctx.actor, id, &input, ctx.now)
            .await
            .map(SectionDto::from)
    })
    .await?;
    Ok(tag_by_body(response).await)
}

/// Get (open) a section.
///
/// Anyone who may see the module (404 `module_not_found` / `section_not_found` otherwise);
/// records it as the last section you opened in the module (your dashboard's
/// `continue_learning`). Openings are written in batches with module views, once a second by
/// default: `continue_learning` follows within that time.
#[utoipa::path(
    tag = "modules",
    params(("module_id" = Uuid, Path, description = "The module"), ("section_id" = Uuid, Path, description = "The section")),
    responses((status = 200, body = SectionDto, description = "The section; `ETag` is its revision"), AuthErrors, NotFound)
)]
#[get("/modules/{module_id}/sections/{section_id}")]
pub(crate) async fn get_section(
    ctx: Ctx,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (module, id) = path.into_inner();
    let section = ctx
        .read(async |conn| sections::view(conn, &ctx.actor, module, SectionId(id)).await)
        .await?;
    let access_log = ctx.state.access_log.clone();
    access_log
        .record_section(&ctx, ModuleId(module), SectionId(id))
        .await?;
    Ok(Tagged(SectionDto::from(section)).into())
}

/// Update a section; requires `If-Match` with its `ETag`.
///
/// The module's editors change the fields sent. A video reference its source refuses is 422
/// (`invalid_video`); an UPLOAD video must be a READY video asset (404 `asset_not_found`, 409
/// `asset_not_ready`).
#[utoipa::path(
    tag = "modules",
    params(("module_id" = Uuid, Path, description = "The module"), ("section_id" = Uuid, Path, description = "The section"),
        ("If-Match" = String, Header, description = "The ETag you read")),
    request_body = UpdateSectionBody,
    responses((status = 200, body = SectionDto, description = "Updated"), AuthErrors, InputErrors, NotFound, Conflict, PreconditionErrors)
)]
#[patch("/modules/{module_id}/sections/{section_id}")]
pub(crate) async fn update_section(
    ctx: Ctx<Permitted>,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    body: ValidJson<UpdateSectionBody>,
) -> Result<HttpResponse, ApiError> {
    let (module, id) = path.into_inner();
    let input = SectionInput::from(body.into_inner());
    let section = ctx
        .write(async |conn| {
            sections::update(
                conn,
                &ctx.actor,
                module,
                SectionId(id),
                if_match.0,
                &input,
                ctx.now,
            )
            .await
        })
        .await?;
    Ok(Tagged(SectionDto::from(section)).into())
}

/// Delete a section; requires `If-Match`.
///
/// The module's editors; the other sections keep their order.
#[utoipa::path(
    tag = "modules",
    params(("module_id" = Uuid, Path, description = "The module"), ("section_id" = Uuid, Path, description = "The section"),
        ("If-Match" = String, Header, description = "The ETag you read")),
    responses((status = 204, description = "Deleted"), AuthErrors, NotFound, PreconditionErrors)
)]
#[delete("/modules/{module_id}/sections/{section_id}")]
pub(crate) async fn delete_section(
    ctx: Ctx<Permitted>,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let (module, id) = path.into_inner();
    ctx.write(async |conn| {
        sections::delete(conn, &ctx.actor, module, SectionId(id), if_match.0, ctx.now).await
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The sections of a module after a reorder.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SectionList {
    /// Every section, in the new order.
    data: Vec<SectionDto>,
}

/// Reorder all of a module's sections at once.
///
/// The module's editors list every section id exactly once (422 `invalid_order` otherwise).
#[utoipa::path(
    tag = "modules",
    params(("module_id" = Uuid, Path, description = "The module")),
    request_body = IdsBody,
    responses((status = 200, body = SectionList, description = "The sections in their new order"), AuthErrors, InputErrors, NotFound)
)]
#[put("/modules/{module_id}/sections/order")]
pub(crate) async fn reorder_sections(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    body: ValidJson<IdsBody>,
) -> Result<web::Json<SectionList>, ApiError> {
    let id = path.into_inner();
    let order = body.into_inner().ids;
    let list = ctx
        .write(async |conn| sections::reorder(conn, &ctx.actor, id, &order, ctx.now).await)
        .await?;
    Ok(web::Json(SectionList {
        data: list.into_iter().map(SectionDto::from).collect(),
    }))
}

macro_rules! pin_route {
    ($(#[$doc:meta])* $name:ident, $method:ident, $path:literal, $status:literal, $pinned:literal, $func:path, $ctx:ty) => {
        $(#[$doc])*
        #[utoipa::path(
            tag = "modules",
            params(("module_id" = Uuid, Path, description = "The module")),
            responses((status = 200, body = ModuleDto, description = $status), AuthErrors, NotFound)
        )]
        #[$method($path)]
        pub(crate) async fn $name(ctx: $ctx, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
            let id = path.into_inner();
            let module = ctx.write(async |conn| $func(conn, &ctx.actor, id, $pinned).await).await?;
            Ok(Tagged(ModuleDto::from(module)).into())
        }
    };
}

pin_route!(
    /// Pin a module for yourself.
    ///
    /// Anyone who may see the module; pinned modules are listed with `?pinned=true` (idempotent).
    pin_module, put, "/modules/{module_id}/pin", "Pinned", true, modules::pin, Ctx
);
pin_route!(
    /// Unpin a module.
    ///
    /// Removes your own pin (idempotent).
    unpin_module, delete, "/modules/{module_id}/pin", "Unpinned", false, modules::pin, Ctx
);
pin_route!(
    /// Pin a module for the whole company.
    ///
    /// Needs MANAGE_ALL_MODULES; every member sees it as `company_pinned` (idempotent).
    pin_module_for_company, put, "/modules/{module_id}/company-pin", "Pinned for everyone", true, modules::company_pin,
    Ctx<Permitted>
);
pin_route!(
    /// Remove a company-wide pin.
    ///
    /// Needs MANAGE_ALL_MODULES (idempotent).
    unpin_module_for_company, delete, "/modules/{module_id}/company-pin", "Unpinned for everyone", false, modules::company_pin,
    Ctx<Permitted>
);

impl crate::etag::Revised for ModuleDto {
    fn revision(&self) -> i32 {
        self.revision
    }
}

impl crate::etag::Revised for SectionDto {
    fn revision(&self) -> i32 {
        self.revision
    }
}
