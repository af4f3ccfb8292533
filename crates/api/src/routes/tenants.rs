//! Tenant creation by the platform owner: `/v1/tenants`. The current tenant is
//! [`super::tenant`].

use actix_web::{HttpResponse, post};
use guild_tenancy::tenants::{self, Plan};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use crate::auth::CurrentUser;
use crate::ctx::Public;
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::routes::common::{AuthErrors, Conflict, InputErrors};
use crate::routes::segment;
use crate::routes::tenant::TenantDto;

/// Registers `/v1/tenants`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(segment("/tenants").service(create_tenant));
}

/// A new tenant.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Acme d.o.o.", "slug": "acme", "plan": "STARTER"}))]
pub(crate) struct CreateTenant {
    /// The display name.
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    name: String,
    /// The URL name: lowercase letters, digits and inner hyphens.
    #[validate(length(min = 1, max = 63))]
    #[schema(
        min_length = 1,
        max_length = 63,
        pattern = "^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"
    )]
    slug: String,
    /// The plan (FREE when left out).
    plan: Option<Plan>,
}

/// Create a tenant.
///
/// For the platform owner only (403 `forbidden` for anyone else); you become its OWNER. 409
/// `slug_taken`; 422 `invalid_slug`.
#[utoipa::path(
    tag = "tenants",
    request_body = CreateTenant,
    responses((status = 201, body = TenantDto, description = "Created"), AuthErrors, InputErrors, Conflict)
)]
#[post("/tenants")]
pub(crate) async fn create_tenant(
    cx: Public,
    user: CurrentUser,
    body: ValidJson<CreateTenant>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let mut conn = cx.conn().await?;
    let tenant = tenants::create(
        &mut conn,
        user.user_id,
        &b.name,
        &b.slug,
        b.plan.unwrap_or(Plan::Free),
        user.request_id,
    )
    .await?;
    Ok(HttpResponse::Created().json(TenantDto::from(tenant)))
}
