//! The current tenant's settings, archiving, and tenant creation by the platform owner.

use actix_web::{HttpResponse, get, patch, post, web};
use chrono::{DateTime, Utc};
use guild_tenancy::tenants::{self, Tenant, TenantChanges};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::auth::{Auth, Authorized, CurrentUser};
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::routes::common::{AuthErrors, Conflict, InputErrors, in_tenant};
use crate::state::AppState;

/// A tenant.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TenantDto {
    id: Uuid,
    name: String,
    slug: String,
    /// FREE, STARTER or PRO.
    plan: String,
    locale: String,
    /// DEFAULT, OCEAN or SUNSET.
    theme: String,
    archived_at: Option<DateTime<Utc>>,
    /// Published modules not assigned to a member's groups are open to them.
    catalog_open: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Tenant> for TenantDto {
    fn from(t: Tenant) -> Self {
        Self {
            id: t.id,
            name: t.name,
            slug: t.slug,
            plan: t.plan,
            locale: t.locale,
            theme: t.theme,
            archived_at: t.archived_at,
            catalog_open: t.catalog_open,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// Get the current tenant's settings.
#[utoipa::path(tag = "tenants", responses((status = 200, body = TenantDto, description = "The tenant"), AuthErrors))]
#[get("")]
pub(crate) async fn get_tenant(
    state: web::Data<AppState>,
    auth: Auth,
) -> Result<web::Json<TenantDto>, ApiError> {
    let actor = auth.0;
    let tenant = in_tenant(&state, &actor, async |conn| {
        tenants::get(conn, &actor).await
    })
    .await?;
    Ok(web::Json(tenant.into()))
}

/// Settings to change.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateTenant {
    #[validate(length(min = 1, max = 200))]
    name: Option<String>,
    #[validate(length(min = 1, max = 63))]
    slug: Option<String>,
    /// FREE, STARTER or PRO (OWNER only).
    #[validate(custom(function = "crate::routes::tenants::plan"))]
    plan: Option<String>,
    /// A language tag such as `en` or `sl-SI`.
    #[validate(length(min = 2, max = 5))]
    locale: Option<String>,
    /// DEFAULT, OCEAN or SUNSET.
    #[validate(custom(function = "crate::routes::tenants::theme"))]
    theme: Option<String>,
    /// Open the catalog of published modules to every member.
    catalog_open: Option<bool>,
}

pub(crate) fn plan(value: &str) -> Result<(), validator::ValidationError> {
    one_of(value, &["FREE", "STARTER", "PRO"])
}

pub(crate) fn theme(value: &str) -> Result<(), validator::ValidationError> {
    one_of(value, &["DEFAULT", "OCEAN", "SUNSET"])
}

fn one_of(value: &str, allowed: &[&str]) -> Result<(), validator::ValidationError> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        let mut err = validator::ValidationError::new("one_of");
        err.message = Some(format!("must be one of {}", allowed.join(", ")).into());
        Err(err)
    }
}

/// Update the current tenant's settings (ADMIN and above; the plan: OWNER).
#[utoipa::path(
    tag = "tenants",
    request_body = UpdateTenant,
    responses((status = 200, body = TenantDto, description = "Updated"), AuthErrors, InputErrors, Conflict)
)]
#[patch("")]
pub(crate) async fn update_tenant(
    state: web::Data<AppState>,
    auth: Authorized,
    body: ValidJson<UpdateTenant>,
) -> Result<web::Json<TenantDto>, ApiError> {
    let actor = auth.0;
    let b = body.into_inner();
    let changes = TenantChanges {
        name: b.name,
        slug: b.slug,
        plan: b.plan,
        locale: b.locale,
        theme: b.theme,
        catalog_open: b.catalog_open,
    };
    let tenant = in_tenant(&state, &actor, async |conn| {
        tenants::update(conn, &actor, &changes).await
    })
    .await?;
    state.actors.clear_tenant(actor.tenant_id);
    Ok(web::Json(tenant.into()))
}

/// Archive the current tenant (OWNER): every member is refused from then on.
#[utoipa::path(tag = "tenants", responses((status = 200, body = TenantDto, description = "Archived"), AuthErrors))]
#[post("/archive")]
pub(crate) async fn archive_tenant(
    state: web::Data<AppState>,
    auth: Authorized,
) -> Result<web::Json<TenantDto>, ApiError> {
    let actor = auth.0;
    let tenant = in_tenant(&state, &actor, async |conn| {
        tenants::archive(conn, &actor).await
    })
    .await?;
    state.actors.clear_tenant(actor.tenant_id);
    Ok(web::Json(tenant.into()))
}

/// A new tenant.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateTenant {
    #[validate(length(min = 1, max = 200))]
    name: String,
    #[validate(length(min = 1, max = 63))]
    slug: String,
    /// FREE (default), STARTER or PRO.
    #[validate(custom(function = "crate::routes::tenants::plan"))]
    plan: Option<String>,
}

/// Create a tenant (platform owner only); you become its OWNER.
#[utoipa::path(
    tag = "tenants",
    request_body = CreateTenant,
    responses((status = 201, body = TenantDto, description = "Created"), AuthErrors, InputErrors, Conflict)
)]
#[post("")]
pub(crate) async fn create_tenant(
    state: web::Data<AppState>,
    user: CurrentUser,
    body: ValidJson<CreateTenant>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let mut conn = guild_db::connect(&state.db).await?;
    let tenant = tenants::create(
        &mut conn,
        user.user_id,
        &b.name,
        &b.slug,
        b.plan.as_deref().unwrap_or("FREE"),
        user.request_id,
    )
    .await?;
    Ok(HttpResponse::Created().json(TenantDto::from(tenant)))
}
