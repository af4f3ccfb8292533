//! The current tenant: `/v1/tenant` (its settings, archiving, and its single sign-on settings in
//! [`sso`]). Creating a tenant is [`crate::routes::tenants`].

pub mod sso;

use actix_web::{get, patch, post, web};
use chrono::{DateTime, Utc};
use guild_tenancy::tenants::{self, Plan, Tenant, TenantChanges, Theme};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::{Ctx, Permitted};
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::routes::common::{AuthErrors, Conflict, InputErrors};
use crate::routes::segment;

/// Registers `/v1/tenant`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/tenant")
            .service(get_tenant)
            .service(update_tenant)
            .service(archive_tenant)
            .service(sso::get_tenant_sso)
            .service(sso::set_tenant_sso),
    );
}

/// A tenant.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TenantDto {
    id: Uuid,
    name: String,
    slug: String,
    plan: Plan,
    /// A language tag such as `en` or `sl-SI`.
    locale: String,
    theme: Theme,
    archived_at: Option<DateTime<Utc>>,
    /// Published modules not assigned to a member's groups are open to them.
    catalog_open: bool,
    /// The share of a VIDEO section, in percent, a member must have watched (as their player
    /// reported it) before completing it; 0 turns the rule off.
    video_completion_percent: i32,
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
            video_completion_percent: t.video_completion_percent,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// Get the current tenant.
///
/// Any member may read their tenant's settings.
#[utoipa::path(tag = "tenants", responses((status = 200, body = TenantDto, description = "The tenant"), AuthErrors))]
#[get("/tenant")]
pub(crate) async fn get_tenant(ctx: Ctx) -> Result<web::Json<TenantDto>, ApiError> {
    let tenant = ctx
        .write(async |conn| tenants::get(conn, &ctx.actor).await)
        .await?;
    Ok(web::Json(tenant.into()))
}

/// Settings to change; fields left out are kept.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Acme d.o.o.", "locale": "sl-SI", "theme": "OCEAN", "catalog_open": true}))]
pub(crate) struct UpdateTenant {
    /// The display name.
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    name: Option<String>,
    /// The URL name: lowercase letters, digits and inner hyphens.
    #[validate(length(min = 1, max = 63))]
    #[schema(
        min_length = 1,
        max_length = 63,
        pattern = "^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"
    )]
    slug: Option<String>,
    /// The plan: the platform owner only (403 `plan_change_forbidden` for anyone else).
    plan: Option<Plan>,
    /// A language tag: two lowercase letters, optionally `-` and two uppercase letters (`en`,
    /// `sl-SI`); 422 `invalid_locale` otherwise.
    #[validate(length(min = 2, max = 5))]
    #[schema(min_length = 2, max_length = 5, pattern = "^[a-z]{2}(-[A-Z]{2})?$")]
    locale: Option<String>,
    /// The app's colours.
    theme: Option<Theme>,
    /// Open the catalog of published modules to every member.
    catalog_open: Option<bool>,
    /// The share of a VIDEO section, in percent, to watch before completing it (0 to 100;
    /// default 90; 0 turns the rule off).
    #[validate(range(min = 0, max = 100))]
    #[schema(minimum = 0, maximum = 100)]
    video_completion_percent: Option<i32>,
}

/// Update the current tenant.
///
/// For ADMIN and above (403 `role_not_assignable` below); the plan only by the platform owner
/// (403 `plan_change_forbidden`). 409 `slug_taken`; 422 `invalid_slug`, `invalid_locale`.
#[utoipa::path(
    tag = "tenants",
    request_body = UpdateTenant,
    responses((status = 200, body = TenantDto, description = "Updated"), AuthErrors, InputErrors, Conflict)
)]
#[patch("/tenant")]
pub(crate) async fn update_tenant(
    ctx: Ctx<Permitted>,
    body: ValidJson<UpdateTenant>,
) -> Result<web::Json<TenantDto>, ApiError> {
    let b = body.into_inner();
    let changes = TenantChanges {
        name: b.name,
        slug: b.slug,
        plan: b.plan,
        locale: b.locale,
        theme: b.theme,
        catalog_open: b.catalog_open,
        video_completion_percent: b.video_completion_percent,
    };
    let tenant = ctx
        .write(async |conn| tenants::update(conn, &ctx.actor, &changes, ctx.now).await)
        .await?;
    ctx.state.actors.clear_tenant(ctx.actor.tenant_id);
    Ok(web::Json(tenant.into()))
}

/// Archive the current tenant.
///
/// For its OWNER only (403 `role_not_assignable` for anyone else): every member is refused
/// from then on (403 `tenant_archived`).
#[utoipa::path(tag = "tenants", responses((status = 200, body = TenantDto, description = "Archived"), AuthErrors))]
#[post("/tenant/archive")]
pub(crate) async fn archive_tenant(ctx: Ctx<Permitted>) -> Result<web::Json<TenantDto>, ApiError> {
    let tenant = ctx
        .write(async |conn| tenants::archive(conn, &ctx.actor, ctx.now).await)
        .await?;
    ctx.state.actors.clear_tenant(ctx.actor.tenant_id);
    Ok(web::Json(tenant.into()))
}
