//! Groups and their members.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use guild_kernel::UserId;
use guild_tenancy::groups::{self, Group};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::auth::{Auth, Authorized};
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::routes::common::{AuthErrors, Conflict, InputErrors, NotFound, in_tenant};
use crate::state::AppState;

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
pub(crate) struct CreateGroup {
    #[validate(length(min = 1, max = 100))]
    name: String,
    /// `#RRGGBB` (default `#6366F1`).
    #[validate(custom(function = "hex_color"))]
    color: Option<String>,
}

/// Changes to a group.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateGroup {
    #[validate(length(min = 1, max = 100))]
    name: Option<String>,
    #[validate(custom(function = "hex_color"))]
    color: Option<String>,
}

/// Members to add or remove.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GroupMembers {
    #[validate(length(min = 1, max = 1000))]
    user_ids: Vec<Uuid>,
}

/// List the tenant's groups with their member counts.
#[utoipa::path(tag = "groups", responses((status = 200, body = Vec<GroupDto>, description = "The groups"), AuthErrors))]
#[get("")]
pub(crate) async fn list_groups(
    state: web::Data<AppState>,
    auth: Auth,
) -> Result<web::Json<Vec<GroupDto>>, ApiError> {
    let actor = auth.0;
    let list = in_tenant(&state, &actor, async |conn| {
        groups::list(conn, &actor).await
    })
    .await?;
    Ok(web::Json(list.into_iter().map(GroupDto::from).collect()))
}

/// Create a group (MANAGE_GROUPS).
#[utoipa::path(
    tag = "groups",
    request_body = CreateGroup,
    responses((status = 201, body = GroupDto, description = "Created"), AuthErrors, InputErrors, Conflict)
)]
#[post("")]
pub(crate) async fn create_group(
    state: web::Data<AppState>,
    auth: Authorized,
    body: ValidJson<CreateGroup>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let b = body.into_inner();
    let group = in_tenant(&state, &actor, async |conn| {
        groups::create(conn, &actor, &b.name, b.color.as_deref()).await
    })
    .await?;
    Ok(HttpResponse::Created().json(GroupDto::from(group)))
}

/// Get a group.
#[utoipa::path(
    tag = "groups",
    params(("group_id" = Uuid, Path, description = "The group")),
    responses((status = 200, body = GroupDto, description = "The group"), AuthErrors, NotFound)
)]
#[get("/{group_id}")]
pub(crate) async fn get_group(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<Uuid>,
) -> Result<web::Json<GroupDto>, ApiError> {
    let actor = auth.0;
    let id = path.into_inner();
    let group = in_tenant(&state, &actor, async |conn| {
        groups::get(conn, &actor, id).await
    })
    .await?;
    Ok(web::Json(group.into()))
}

/// Rename or recolour a group (MANAGE_GROUPS).
#[utoipa::path(
    tag = "groups",
    params(("group_id" = Uuid, Path, description = "The group")),
    request_body = UpdateGroup,
    responses((status = 200, body = GroupDto, description = "Updated"), AuthErrors, InputErrors, NotFound, Conflict)
)]
#[patch("/{group_id}")]
pub(crate) async fn update_group(
    state: web::Data<AppState>,
    auth: Authorized,
    path: web::Path<Uuid>,
    body: ValidJson<UpdateGroup>,
) -> Result<web::Json<GroupDto>, ApiError> {
    let actor = auth.0;
    let id = path.into_inner();
    let b = body.into_inner();
    let group = in_tenant(&state, &actor, async |conn| {
        groups::update(conn, &actor, id, b.name.as_deref(), b.color.as_deref()).await
    })
    .await?;
    Ok(web::Json(group.into()))
}

/// Delete a group (MANAGE_GROUPS); its members stay in the tenant.
#[utoipa::path(
    tag = "groups",
    params(("group_id" = Uuid, Path, description = "The group")),
    responses((status = 204, description = "Deleted"), AuthErrors, NotFound)
)]
#[delete("/{group_id}")]
pub(crate) async fn delete_group(
    state: web::Data<AppState>,
    auth: Authorized,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.0;
    let id = path.into_inner();
    in_tenant(&state, &actor, async |conn| {
        groups::delete(conn, &actor, id).await
    })
    .await?;
    state.actors.clear_tenant(actor.tenant_id);
    Ok(HttpResponse::NoContent().finish())
}

/// Add members to a group in bulk (all must be members of the tenant).
#[utoipa::path(
    tag = "groups",
    params(("group_id" = Uuid, Path, description = "The group")),
    request_body = GroupMembers,
    responses((status = 200, body = GroupDto, description = "Updated"), AuthErrors, InputErrors, NotFound)
)]
#[post("/{group_id}/members")]
pub(crate) async fn add_group_members(
    state: web::Data<AppState>,
    auth: Authorized,
    path: web::Path<Uuid>,
    body: ValidJson<GroupMembers>,
) -> Result<web::Json<GroupDto>, ApiError> {
    let actor = auth.0;
    let id = path.into_inner();
    let users: Vec<UserId> = body.into_inner().user_ids.into_iter().map(UserId).collect();
    let group = in_tenant(&state, &actor, async |conn| {
        groups::add_members(conn, &actor, id, &users).await
    })
    .await?;
    state.actors.clear_tenant(actor.tenant_id);
    Ok(web::Json(group.into()))
}

/// Remove members from a group in bulk.
#[utoipa::path(
    tag = "groups",
    params(("group_id" = Uuid, Path, description = "The group")),
    request_body = GroupMembers,
    responses((status = 200, body = GroupDto, description = "Updated"), AuthErrors, InputErrors, NotFound)
)]
#[post("/{group_id}/members/remove")]
pub(crate) async fn remove_group_members(
    state: web::Data<AppState>,
    auth: Authorized,
    path: web::Path<Uuid>,
    body: ValidJson<GroupMembers>,
) -> Result<web::Json<GroupDto>, ApiError> {
    let actor = auth.0;
    let id = path.into_inner();
    let users: Vec<UserId> = body.into_inner().user_ids.into_iter().map(UserId).collect();
    let group = in_tenant(&state, &actor, async |conn| {
        groups::remove_members(conn, &actor, id, &users).await
    })
    .await?;
    state.actors.clear_tenant(actor.tenant_id);
    Ok(web::Json(group.into()))
}
