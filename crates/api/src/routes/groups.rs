//! Groups and their members.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use guild_kernel::{GroupId, PageRequest, UserId};
use guild_tenancy::groups::{self, Group};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::{Ctx, Permitted};
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::idempotency::{Idempotency, IdempotencyHeader, once};
use crate::routes::common::{AuthErrors, Conflict, InputErrors, NotFound, PageOf, PageParams};
use crate::routes::segment;

/// Registers `/v1/groups`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/groups")
            .service(list_groups)
            .service(create_group)
            .service(get_group)
            .service(update_group)
            .service(delete_group)
            .service(add_group_members)
            .service(remove_group_members),
    );
}

/// A group of members.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct GroupDto {
    id: Uuid,
    name: String,
    /// `#RRGGBB`.
    color: String,
    member_count: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Group> for GroupDto {
    fn from(g: Group) -> Self {
        Self {
            id: g.id,
            name: g.name,
            color: g.color,
            member_count: g.member_count,
            created_at: g.created_at,
            updated_at: g.updated_at,
        }
    }
}

pub(crate) fn hex_color(value: &str) -> Result<(), validator::ValidationError> {
    let ok = value.len() == 7
        && value.starts_with('#')
        && value[1..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(())
    } else {
        let mut err = validator::ValidationError::new("color");
        err.message = Some("must be #RRGGBB".into());
        Err(err)
    }
}

/// A new group.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Sales", "color": "#0EA5E9"}))]
pub(crate) struct CreateGroup {
    /// Unique in the tenant (case-insensitive); trimmed.
    #[validate(
        length(min = 1, max = 100),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    name: String,
    /// `#RRGGBB` (default `#6366F1`).
    #[validate(custom(function = "hex_color"))]
    #[schema(pattern = "^#[0-9A-Fa-f]{6}$")]
    color: Option<String>,
}

/// Changes to a group; fields left out are kept.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Sales EMEA"}))]
pub(crate) struct UpdateGroup {
    /// Unique in the tenant (case-insensitive); trimmed.
    #[validate(
        length(min = 1, max = 100),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    name: Option<String>,
    /// `#RRGGBB`.
    #[validate(custom(function = "hex_color"))]
    #[schema(pattern = "^#[0-9A-Fa-f]{6}$")]
    color: Option<String>,
}

/// Members to add or remove.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"user_ids": ["0190a0b2-7e55-7c3e-9d6b-52f1e1b8c7a0"]}))]
pub(crate) struct GroupMembers {
    /// 1 to 1000 members of the tenant.
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_items = 1, max_items = 1000)]
    user_ids: Vec<Uuid>,
}

/// List the tenant's groups.
///
/// Any member may list them: by name (case-insensitive), with their member counts, a page at a
/// time.
#[utoipa::path(tag = "groups", params(PageParams),
    responses((status = 200, body = PageOf<GroupDto>, description = "The groups"), AuthErrors, InputErrors))]
#[get("/groups")]
pub(crate) async fn list_groups(
    ctx: Ctx,
    query: web::Query<PageParams>,
) -> Result<web::Json<PageOf<GroupDto>>, ApiError> {
    let page = PageRequest::from(&query.into_inner());
    let list = ctx
        .write(async |conn| groups::list(conn, &ctx.actor, &page).await)
        .await?;
    Ok(web::Json(PageOf::map(list, GroupDto::from)))
}

/// Create a group.
///
/// For MANAGE_GROUPS holders. 409 `group_name_taken` when another group has the name. With an
/// `Idempotency-Key`, a retry answers the first response and creates once (the same key with
/// another request is 422 `idempotency_key_reused`; a malformed key 400
/// `invalid_idempotency_key`).
#[utoipa::path(
    tag = "groups",
    params(IdempotencyHeader),
    request_body = CreateGroup,
    responses((status = 201, body = GroupDto, description = "Created"), AuthErrors, InputErrors, Conflict)
)]
#[post("/groups")]
pub(crate) async fn create_group(
    ctx: Ctx<Permitted>,
    key: Idempotency,
    body: ValidJson<CreateGroup>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    once(&ctx, &key, StatusCode::CREATED, async |conn| {
        groups::create(conn, &ctx.actor, &b.name, b.color.as_deref())
            .await
            .map(GroupDto::from)
    })
    .await
}

/// Get a group.
///
/// Any member may read a group of the tenant. 404 `group_not_found`.
#[utoipa::path(
    tag = "groups",
    params(("group_id" = Uuid, Path, description = "The group")),
    responses((status = 200, body = GroupDto, description = "The group"), AuthErrors, NotFound)
)]
#[get("/groups/{group_id}")]
pub(crate) async fn get_group(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<GroupDto>, ApiError> {
    let id = path.into_inner();
    let group = ctx
        .write(async |conn| groups::get(conn, &ctx.actor, GroupId(id)).await)
        .await?;
    Ok(web::Json(group.into()))
}

/// Update a group.
///
/// For MANAGE_GROUPS holders: rename or recolour it. 409 `group_name_taken`.
#[utoipa::path(
    tag = "groups",
    params(("group_id" = Uuid, Path, description = "The group")),
    request_body = UpdateGroup,
    responses((status = 200, body = GroupDto, description = "Updated"), AuthErrors, InputErrors, NotFound, Conflict)
)]
#[patch("/groups/{group_id}")]
pub(crate) async fn update_group(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    body: ValidJson<UpdateGroup>,
) -> Result<web::Json<GroupDto>, ApiError> {
    let id = path.into_inner();
    let b = body.into_inner();
    let group = ctx
        .write(async |conn| {
            groups::update(
                conn,
                &ctx.actor,
                GroupId(id),
                b.name.as_deref(),
                b.color.as_deref(),
                ctx.now,
            )
            .await
        })
        .await?;
    Ok(web::Json(group.into()))
}

/// Delete a group.
///
/// For MANAGE_GROUPS holders; its members stay in the tenant.
#[utoipa::path(
    tag = "groups",
    params(("group_id" = Uuid, Path, description = "The group")),
    responses((status = 204, description = "Deleted"), AuthErrors, NotFound)
)]
#[delete("/groups/{group_id}")]
pub(crate) async fn delete_group(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    ctx.write(async |conn| groups::delete(conn, &ctx.actor, GroupId(id)).await)
        .await?;
    ctx.state.actors.clear_tenant(ctx.actor.tenant_id);
    Ok(HttpResponse::NoContent().finish())
}

/// Add members to a group.
///
/// For MANAGE_GROUPS holders, in bulk; every user must be a member of the tenant (404
/// `member_not_found` otherwise). Members already in the group are left as they are.
#[utoipa::path(
    tag = "groups",
    params(("group_id" = Uuid, Path, description = "The group")),
    request_body = GroupMembers,
    responses((status = 200, body = GroupDto, description = "Updated"), AuthErrors, InputErrors, NotFound)
)]
#[post("/groups/{group_id}/members")]
pub(crate) async fn add_group_members(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    body: ValidJson<GroupMembers>,
) -> Result<web::Json<GroupDto>, ApiError> {
    let id = path.into_inner();
    let users: Vec<UserId> = body.into_inner().user_ids.into_iter().map(UserId).collect();
    let group = ctx
        .write(async |conn| groups::add_members(conn, &ctx.actor, GroupId(id), &users).await)
        .await?;
    ctx.state.actors.clear_tenant(ctx.actor.tenant_id);
    Ok(web::Json(group.into()))
}

/// Remove members from a group.
///
/// For MANAGE_GROUPS holders, in bulk; users not in the group are ignored.
#[utoipa::path(
    tag = "groups",
    params(("group_id" = Uuid, Path, description = "The group")),
    request_body = GroupMembers,
    responses((status = 200, body = GroupDto, description = "Updated"), AuthErrors, InputErrors, NotFound)
)]
#[post("/groups/{group_id}/members/remove")]
pub(crate) async fn remove_group_members(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    body: ValidJson<GroupMembers>,
) -> Result<web::Json<GroupDto>, ApiError> {
    let id = path.into_inner();
    let users: Vec<UserId> = body.into_inner().user_ids.into_iter().map(UserId).collect();
    let group = ctx
        .write(async |conn| groups::remove_members(conn, &ctx.actor, GroupId(id), &users).await)
        .await?;
    ctx.state.actors.clear_tenant(ctx.actor.tenant_id);
    Ok(web::Json(group.into()))
}
