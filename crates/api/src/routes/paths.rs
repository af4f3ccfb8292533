//! Learning paths: `/v1/paths` (ordered modules with an optional strict order, assigned to
//! groups, a member's progress, enrolment); their certificates are
//! [`super::path_certificates`]. "My learning" (`GET /v1/me/learning`) and enrolling in modules
//! (`/v1/modules/{module_id}/enrolment`) are registered by the `/me` and `/modules` scopes.
//! Assignments and completions notify through the worker ([`crate::reactions::paths`]).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use chrono::{DateTime, Utc};
use guild_kernel::{GroupId, PageRequest};
use guild_progress::enrolment::{self, Enrolment, Target};
use guild_progress::paths::{
    self, Path, PathGroup, PathInput, PathModule, PathModuleProgress, PathProgress, PathStatus,
    PathSummary,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::{Ctx, Permitted};
use crate::error::ApiError;
use crate::etag::{IfMatch, Revised, Tagged, tag_by_body};
use crate::extract::ValidJson;
use crate::idempotency::{Idempotency, IdempotencyHeader, once};
use crate::routes::common::{
    AuthErrors, Conflict, InputErrors, NotFound, PageOf, PageParams, double_option,
};
use crate::routes::modules::PreconditionErrors;
use crate::routes::segment;

/// Registers `/v1/paths`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/paths")
            .service(list_paths)
            .service(create_path)
            .service(get_path)
            .service(update_path)
            .service(set_path_status)
            .service(delete_path)
            .service(assign_path)
            .service(unassign_path)
            .service(get_path_progress)
            .service(create_path_enrolment)
            .service(delete_path_enrolment),
    );
}

/// One module of a path.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PathModuleDto {
    module_id: Uuid,
    title: String,
    /// Its place, from 0.
    position: i32,
}

impl From<PathModule> for PathModuleDto {
    fn from(m: PathModule) -> Self {
        Self {
            module_id: m.module_id,
            title: m.title,
            position: m.position,
        }
    }
}

/// A group a path is assigned to.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PathGroupDto {
    group_id: Uuid,
    /// Days from the assignment (or joining the group) to the due date.
    deadline_days: Option<i32>,
    is_mandatory: bool,
    assigned_at: DateTime<Utc>,
}

impl From<PathGroup> for PathGroupDto {
    fn from(g: PathGroup) -> Self {
        Self {
            group_id: g.group_id,
            deadline_days: g.deadline_days,
            is_mandatory: g.is_mandatory,
            assigned_at: g.assigned_at,
        }
    }
}

/// A learning path. The `ETag` header carries `revision`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PathDto {
    id: Uuid,
    title: String,
    /// Plain text.
    description: String,
    /// An IMAGE of the media library.
    cover_asset_id: Option<Uuid>,
    /// A module unlocks when the ones before it are complete (for members who have the path).
    strict_order: bool,
    /// Months a path certificate stays valid; absent: it does not expire.
    validity_months: Option<i32>,
    status: PathStatus,
    revision: i32,
    created_by: Uuid,
    published_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// Its modules in order: those you may see.
    modules: Vec<PathModuleDto>,
    /// The groups it is assigned to (shown to its editors only).
    groups: Vec<PathGroupDto>,
    /// For you: the earliest due date of its assignments to your groups.
    due_at: Option<DateTime<Utc>>,
    /// For you: assigned as mandatory to one of your groups.
    mandatory: bool,
    /// You enrolled in it.
    enrolled: bool,
}

impl Revised for PathDto {
    fn revision(&self) -> i32 {
        self.revision
    }
}

impl From<Path> for PathDto {
    fn from(p: Path) -> Self {
        Self {
            id: p.row.id,
            title: p.row.title,
            description: p.row.description,
            cover_asset_id: p.row.cover_asset_id,
            strict_order: p.row.strict_order,
            validity_months: p.row.validity_months,
            status: p.row.status,
            revision: p.row.revision,
            created_by: p.row.created_by,
            published_at: p.row.published_at,
            created_at: p.row.created_at,
            updated_at: p.row.updated_at,
            modules: p.modules.into_iter().map(PathModuleDto::from).collect(),
            groups: p.groups.into_iter().map(PathGroupDto::from).collect(),
            due_at: p.due_at,
            mandatory: p.mandatory,
            enrolled: p.enrolled,
        }
    }
}

/// List the learning paths you may see, newest first.
///
/// Editors (MANAGE_ALL_MODULES) see every path; members the PUBLISHED ones assigned to their
/// groups, those they enrolled in, and every PUBLISHED one when the catalog is open.
#[utoipa::path(tag = "paths", params(PageParams),
    responses((status = 200, body = PageOf<PathDto>, description = "A page of paths"), AuthErrors, InputErrors))]
#[get("/paths")]
pub(crate) async fn list_paths(
    ctx: Ctx<Permitted>,
    page: web::Query<PageParams>,
) -> Result<web::Json<PageOf<PathDto>>, ApiError> {
    let page = PageRequest::from(&page.into_inner());
    let items = ctx
        .write(async |conn| paths::list(conn, &ctx.actor, &page).await)
        .await?;
    Ok(web::Json(PageOf::map(items, PathDto::from)))
}

/// A new learning path.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "title": "Safety basics",
    "description": "Everything a new colleague on the floor needs, in order.",
    "strict_order": true,
    "validity_months": 12,
    "module_ids": []
}))]
pub(crate) struct CreatePathBody {
    /// 1 to 200 characters.
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    title: String,
    /// At most 10,000 characters.
    #[validate(length(max = 10000))]
    #[schema(max_length = 10000)]
    description: Option<String>,
    /// A READY image of the media library (422 otherwise).
    cover_asset_id: Option<Uuid>,
    /// Modules unlock in order (default false).
    #[serde(default)]
    strict_order: bool,
    /// 1 to 120; absent: the path certificate does not expire.
    #[validate(range(min = 1, max = 120))]
    #[schema(minimum = 1, maximum = 120)]
    validity_months: Option<i32>,
    /// The modules in order, at most 50, each once (404 `module_not_found` for an unknown one).
    #[validate(length(max = 50))]
    #[schema(max_items = 50)]
    #[serde(default)]
    module_ids: Vec<Uuid>,
}

/// Create a DRAFT learning path.
///
/// Needs MANAGE_ALL_MODULES tenant-wide. At most 1,000 paths per organization (409
/// `path_limit_reached`). With an `Idempotency-Key`, a retry creates nothing more.
#[utoipa::path(tag = "paths", params(IdempotencyHeader), request_body = CreatePathBody,
    responses((status = 201, body = PathDto, description = "Created; `ETag` is its revision"), AuthErrors, InputErrors, NotFound, Conflict))]
#[post("/paths")]
pub(crate) async fn create_path(
    ctx: Ctx<Permitted>,
    key: Idempotency,
    body: ValidJson<CreatePathBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let input = PathInput {
        title: Some(b.title),
        description: b.description,
        cover_asset_id: Some(b.cover_asset_id),
        strict_order: Some(b.strict_order),
        validity_months: Some(b.validity_months),
        module_ids: Some(b.module_ids),
    };
    let now = ctx.now;
    let response = once(&ctx, &key, StatusCode::CREATED, async |conn| {
        paths::create(conn, &ctx.actor, &input, now)
            .await
            .map(PathDto::from)
    })
    .await?;
    Ok(tag_by_body(response).await)
}

/// Get a learning path.
///
/// Anyone who may see it (404 `path_not_found` otherwise, another tenant's included).
#[utoipa::path(tag = "paths", params(("path_id" = Uuid, Path, description = "The path")),
    responses((status = 200, body = PathDto, description = "The path; `ETag` is its revision"), AuthErrors, NotFound))]
#[get("/paths/{path_id}")]
pub(crate) async fn get_path(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let item = ctx
        .write(async |conn| paths::get(conn, &ctx.actor, id).await)
        .await?;
    Ok(Tagged(PathDto::from(item)).into())
}

/// Changes to a learning path; left-out fields are kept.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "title": "Safety basics (2027)", "validity_months": 24 }))]
pub(crate) struct UpdatePathBody {
    /// 1 to 200 characters.
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    title: Option<String>,
    /// At most 10,000 characters.
    #[validate(length(max = 10000))]
    #[schema(max_length = 10000)]
    description: Option<String>,
    /// A READY image of the media library; `null` removes it.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    cover_asset_id: Option<Option<Uuid>>,
    strict_order: Option<bool>,
    /// 1 to 120; `null`: the path certificate does not expire.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<i32>, minimum = 1, maximum = 120)]
    #[validate(range(min = 1, max = 120))]
    validity_months: Option<Option<i32>>,
    /// The modules in order (replaces them), at most 50, each once. Members' progress is kept:
    /// it is derived from their module completions.
    #[validate(length(max = 50))]
    #[schema(max_items = 50)]
    module_ids: Option<Vec<Uuid>>,
}

/// Update a learning path; requires `If-Match` with its `ETag`.
///
/// Needs MANAGE_ALL_MODULES tenant-wide. 409 `invalid_status_transition` for an ARCHIVED path;
/// a PUBLISHED path keeps at least one module, all published (422 `path_not_publishable`).
#[utoipa::path(tag = "paths",
    params(("path_id" = Uuid, Path, description = "The path"), ("If-Match" = String, Header, description = "The ETag you read")),
    request_body = UpdatePathBody,
    responses((status = 200, body = PathDto, description = "Updated"), AuthErrors, InputErrors, NotFound, Conflict, PreconditionErrors))]
#[patch("/paths/{path_id}")]
pub(crate) async fn update_path(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<UpdatePathBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let b = body.into_inner();
    let input = PathInput {
        title: b.title,
        description: b.description,
        cover_asset_id: b.cover_asset_id,
        strict_order: b.strict_order,
        validity_months: b.validity_months,
        module_ids: b.module_ids,
    };
    let now = ctx.now;
    let item = ctx
        .write(async |conn| paths::update(conn, &ctx.actor, id, if_match.0, &input, now).await)
        .await?;
    Ok(Tagged(PathDto::from(item)).into())
}

/// A status to move a path to.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "status": "PUBLISHED" }))]
pub(crate) struct PathStatusBody {
    /// PUBLISHED (needs a module, all published), ARCHIVED, or DRAFT.
    status: PathStatus,
}

/// Publish, archive or return a learning path to draft; requires `If-Match`.
///
/// Needs MANAGE_ALL_MODULES tenant-wide. DRAFT → PUBLISHED → ARCHIVED, PUBLISHED or ARCHIVED →
/// DRAFT, DRAFT → ARCHIVED; anything else is 409 `invalid_status_transition`. Publishing needs
/// at least one module, all PUBLISHED (422 `path_not_publishable`), and tells the members of
/// the groups it is assigned to (PATH_ASSIGNED).
#[utoipa::path(tag = "paths",
    params(("path_id" = Uuid, Path, description = "The path"), ("If-Match" = String, Header, description = "The ETag you read")),
    request_body = PathStatusBody,
    responses((status = 200, body = PathDto, description = "Moved"), AuthErrors, InputErrors, NotFound, Conflict, PreconditionErrors))]
#[post("/paths/{path_id}/status")]
pub(crate) async fn set_path_status(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<PathStatusBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let status = body.into_inner().status;
    let now = ctx.now;
    let item = ctx
        .write(async |conn| paths::set_status(conn, &ctx.actor, id, if_match.0, status, now).await)
        .await?;
    Ok(Tagged(PathDto::from(item)).into())
}

/// Delete a learning path nobody completed; requires `If-Match`.
///
/// Needs MANAGE_ALL_MODULES tenant-wide. A path members completed is archived instead (409
/// `path_has_completions`): its completions and certificates stay.
#[utoipa::path(tag = "paths",
    params(("path_id" = Uuid, Path, description = "The path"), ("If-Match" = String, Header, description = "The ETag you read")),
    responses((status = 204, description = "Deleted"), AuthErrors, NotFound, Conflict, PreconditionErrors))]
#[delete("/paths/{path_id}")]
pub(crate) async fn delete_path(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let now = ctx.now;
    ctx.write(async |conn| paths::delete(conn, &ctx.actor, id, if_match.0, now).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A path's assignment to a group.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "deadline_days": 30, "is_mandatory": true }))]
pub(crate) struct PathAssignmentBody {
    /// Days from the assignment (or joining the group) to the due date, 1 to 3650; absent: no
    /// due date.
    #[validate(range(min = 1, max = 3650))]
    #[schema(minimum = 1, maximum = 3650)]
    deadline_days: Option<i32>,
    /// Mandatory for the group's members (default false).
    #[serde(default)]
    is_mandatory: bool,
}

/// Assign a learning path to a group (or change the assignment).
///
/// Needs MANAGE_ALL_MODULES tenant-wide; 404 `group_not_found` for an unknown group. The
/// group's members see the path, its due date on their dashboard, and (when it is published)
/// are told (PATH_ASSIGNED).
#[utoipa::path(tag = "paths",
    params(("path_id" = Uuid, Path, description = "The path"), ("group_id" = Uuid, Path, description = "The group")),
    request_body = PathAssignmentBody,
    responses((status = 200, body = PathDto, description = "Assigned"), AuthErrors, InputErrors, NotFound))]
#[put("/paths/{path_id}/groups/{group_id}")]
pub(crate) async fn assign_path(
    ctx: Ctx<Permitted>,
    path: web::Path<(Uuid, Uuid)>,
    body: ValidJson<PathAssignmentBody>,
) -> Result<HttpResponse, ApiError> {
    let (id, group) = path.into_inner();
    let b = body.into_inner();
    let now = ctx.now;
    let item = ctx
        .write(async |conn| {
            paths::assign(
                conn,
                &ctx.actor,
                id,
                GroupId(group),
                b.deadline_days,
                b.is_mandatory,
                now,
            )
            .await
        })
        .await?;
    Ok(Tagged(PathDto::from(item)).into())
}

/// Remove a learning path's assignment to a group.
///
/// Needs MANAGE_ALL_MODULES tenant-wide. Members keep what they completed.
#[utoipa::path(tag = "paths",
    params(("path_id" = Uuid, Path, description = "The path"), ("group_id" = Uuid, Path, description = "The group")),
    responses((status = 200, body = PathDto, description = "Unassigned"), AuthErrors, NotFound))]
#[delete("/paths/{path_id}/groups/{group_id}")]
pub(crate) async fn unassign_path(
    ctx: Ctx<Permitted>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (id, group) = path.into_inner();
    let item = ctx
        .write(async |conn| paths::unassign(conn, &ctx.actor, id, GroupId(group)).await)
        .await?;
    Ok(Tagged(PathDto::from(item)).into())
}

/// A module of a path with your state on it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PathModuleProgressDto {
    module_id: Uuid,
    title: String,
    position: i32,
    /// When you completed it (this cycle).
    completed_at: Option<DateTime<Utc>>,
    /// Not startable yet: a prerequisite, or a module before it in a strict path you have.
    locked: bool,
}

impl From<PathModuleProgress> for PathModuleProgressDto {
    fn from(m: PathModuleProgress) -> Self {
        Self {
            module_id: m.module_id,
            title: m.title,
            position: m.position,
            completed_at: m.completed_at,
            locked: m.locked,
        }
    }
}

/// Your progress on a learning path.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PathProgressDto {
    path_id: Uuid,
    title: String,
    modules: Vec<PathModuleProgressDto>,
    modules_done: i64,
    modules_total: i64,
    /// 0 to 100.
    percent: i32,
    due_at: Option<DateTime<Utc>>,
    /// Past its due date and not completed.
    overdue: bool,
    mandatory: bool,
    enrolled: bool,
    /// When you completed the path (this cycle).
    completed_at: Option<DateTime<Utc>>,
    /// Its certificate (`GET /v1/path-certificates/{certificate_id}`).
    certificate_id: Option<Uuid>,
}

impl From<PathProgress> for PathProgressDto {
    fn from(p: PathProgress) -> Self {
        Self {
            path_id: p.path_id,
            title: p.title,
            modules: p
                .modules
                .into_iter()
                .map(PathModuleProgressDto::from)
                .collect(),
            modules_done: p.modules_done,
            modules_total: p.modules_total,
            percent: p.percent,
            due_at: p.due_at,
            overdue: p.overdue,
            mandatory: p.mandatory,
            enrolled: p.enrolled,
            completed_at: p.completed_at,
            certificate_id: p.certificate_id,
        }
    }
}

/// Get your progress on a learning path.
///
/// Anyone who may see the path (404 `path_not_found` otherwise): each module with whether you
/// completed it and whether it is locked, modules done, the percentage, the due date, and the
/// completion and its certificate once every module is complete.
#[utoipa::path(tag = "paths", params(("path_id" = Uuid, Path, description = "The path")),
    responses((status = 200, body = PathProgressDto, description = "Your progress"), AuthErrors, NotFound))]
#[get("/paths/{path_id}/progress")]
pub(crate) async fn get_path_progress(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let now = ctx.now;
    let progress = ctx
        .write(async |conn| paths::progress(conn, &ctx.actor, id, now).await)
        .await?;
    Ok(HttpResponse::Ok().json(PathProgressDto::from(progress)))
}

/// An enrolment.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EnrolmentDto {
    id: Uuid,
    /// The module (a module's enrolment).
    module_id: Option<Uuid>,
    /// The path (a path's enrolment).
    path_id: Option<Uuid>,
    enrolled_at: DateTime<Utc>,
}

impl From<Enrolment> for EnrolmentDto {
    fn from(e: Enrolment) -> Self {
        Self {
            id: e.id,
            module_id: e.module_id,
            path_id: e.path_id,
            enrolled_at: e.enrolled_at,
        }
    }
}

/// Enrol in a learning path.
///
/// Members (API keys with `act_as_member`), in an organization whose catalog is open (403
/// `catalog_closed` otherwise), in a PUBLISHED path (409 `invalid_status_transition`
/// otherwise). Enrolling again answers the same enrolment. At most 200 enrolments per member
/// (409 `enrolment_limit_reached`). A strict path's order then locks its modules for you.
#[utoipa::path(tag = "paths", params(("path_id" = Uuid, Path, description = "The path")),
    responses((status = 200, body = EnrolmentDto, description = "Enrolled"), AuthErrors, NotFound, Conflict))]
#[put("/paths/{path_id}/enrolment")]
pub(crate) async fn create_path_enrolment(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<EnrolmentDto>, ApiError> {
    let target = Target::Path(path.into_inner());
    let now = ctx.now;
    let item = ctx
        .write(async |conn| enrolment::enrol(conn, &ctx.actor, target, now).await)
        .await?;
    Ok(web::Json(item.into()))
}

/// Leave a learning path you enrolled in.
///
/// What you completed stays; leaving a path you are not enrolled in changes nothing.
#[utoipa::path(tag = "paths", params(("path_id" = Uuid, Path, description = "The path")),
    responses((status = 204, description = "Left"), AuthErrors))]
#[delete("/paths/{path_id}/enrolment")]
pub(crate) async fn delete_path_enrolment(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let target = Target::Path(path.into_inner());
    ctx.write(async |conn| enrolment::leave(conn, &ctx.actor, target).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A path you have, with your progress (dashboard, my learning).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PathSummaryDto {
    path_id: Uuid,
    title: String,
    /// The earliest due date of its assignments to your groups.
    due_at: Option<DateTime<Utc>>,
    /// Past its due date and not completed.
    overdue: bool,
    mandatory: bool,
    /// Assigned to one of your groups.
    assigned: bool,
    /// You enrolled in it.
    enrolled: bool,
    modules_done: i64,
    modules_total: i64,
    /// 0 to 100.
    percent: i32,
    completed_at: Option<DateTime<Utc>>,
}

impl From<PathSummary> for PathSummaryDto {
    fn from(p: PathSummary) -> Self {
        Self {
            path_id: p.path_id,
            title: p.title,
            due_at: p.due_at,
            overdue: p.overdue,
            mandatory: p.mandatory,
            assigned: p.assigned,
            enrolled: p.enrolled,
            modules_done: p.modules_done,
            modules_total: p.modules_total,
            percent: p.percent,
            completed_at: p.completed_at,
        }
    }
}
