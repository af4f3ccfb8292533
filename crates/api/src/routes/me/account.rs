//! The signed-in person: `GET /v1/me` (who you are, your memberships and, in the current tenant,
//! your effective grants), changing your password, and asking for another email verification
//! link. Signing up, in and out are [`crate::routes::auth`].

use actix_web::{HttpResponse, get, post, web};
use guild_kernel::auth::effective_grants;
use guild_kernel::{GlobalRole, GrantScope, MembershipStatus, TenantRole};
use guild_tenancy::tenants;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::auth::CurrentUser;
use crate::ctx::Public;
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::routes::auth::rate_limit;
use crate::routes::common::{AuthErrors, InputErrors};
use crate::routes::tenant::TenantDto;

/// The signed-in user.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UserDto {
    id: Uuid,
    email: String,
    name: String,
    /// Platform-wide.
    global_role: GlobalRole,
    /// Whether the address is verified; until it is, no other tenant can add the account.
    email_verified: bool,
}

/// A tenant the user belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MembershipDto {
    tenant_id: Uuid,
    tenant_name: String,
    tenant_slug: String,
    role: TenantRole,
    /// A REMOVED membership is not listed.
    status: MembershipStatus,
}

impl From<tenants::MembershipSummary> for MembershipDto {
    fn from(m: tenants::MembershipSummary) -> Self {
        Self {
            tenant_id: m.tenant_id,
            tenant_name: m.tenant_name,
            tenant_slug: m.tenant_slug,
            role: m.role,
            status: m.status,
        }
    }
}

/// A permission and where it applies.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GrantDto {
    /// The permission.
    pub(crate) permission: guild_kernel::Permission,
    /// Where it applies; empty means tenant-wide.
    #[serde(default)]
    #[schema(value_type = ScopeDto)]
    pub(crate) scope: GrantScope,
}

/// Limits of a grant; every part left out does not restrict.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ScopeDto {
    /// Only resources of these groups.
    group_ids: Option<Vec<Uuid>>,
    /// Only these modules.
    module_ids: Option<Vec<Uuid>>,
    /// Only members below you in the manager tree (`false` when left out; not `null`).
    #[serde(default)]
    manager_subtree: bool,
}

impl From<guild_kernel::Grant> for GrantDto {
    fn from(g: guild_kernel::Grant) -> Self {
        Self {
            permission: g.permission,
            scope: g.scope,
        }
    }
}

/// Everything a client needs to decide what to show.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Me {
    user: UserDto,
    memberships: Vec<MembershipDto>,
    /// The session's tenant.
    active_tenant: Option<TenantDto>,
    /// Your role there.
    role: Option<TenantRole>,
    /// Effective permissions there (role defaults and grants), with scopes.
    permissions: Vec<GrantDto>,
    /// True when the platform owner acts in a tenant they are not a member of.
    impersonating: bool,
}

/// Get who you are.
///
/// Any signed-in user: the account, its memberships, the session's tenant, your role and
/// effective permissions there (role defaults and grants, with scopes).
#[utoipa::path(tag = "auth", responses((status = 200, description = "You", body = Me), AuthErrors))]
#[get("/me")]
pub(crate) async fn get_me(cx: Public, user: CurrentUser) -> Result<web::Json<Me>, ApiError> {
    let mut conn = cx.conn().await?;
    let account = tenants::user(&mut conn, user.user_id).await?;
    let memberships = tenants::memberships_of(&mut conn, user.user_id).await?;
    let (active_tenant, role, permissions, impersonating) = match user.tenant_id {
        None => (None, None, Vec::new(), false),
        Some(tenant) => {
            let actor = guild_tenancy::actor::load_actor(&mut conn, user.user_id, tenant).await?;
            let row = guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
                tenants::get(conn, &actor).await
            })
            .await?;
            let permissions = effective_grants(&actor)
                .into_iter()
                .map(GrantDto::from)
                .collect();
            (
                Some(row.into()),
                Some(actor.role),
                permissions,
                actor.impersonating,
            )
        }
    };
    Ok(web::Json(Me {
        user: UserDto {
            id: account.id,
            email: account.email,
            name: account.name,
            global_role: account.global_role,
            email_verified: account.email_verified_at.is_some(),
        },
        memberships: memberships.into_iter().map(MembershipDto::from).collect(),
        active_tenant,
        role,
        permissions,
        impersonating,
    }))
}

/// Send the verification email again.
///
/// Any signed-in user whose address is not verified (409 `email_already_verified`); rate
/// limited per account.
#[utoipa::path(
    tag = "auth",
    responses(
        (status = 202, description = "An email with a new link is on its way (earlier links stop working)"),
        AuthErrors,
        (status = 409, description = "`email_already_verified`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/me/email-verification")]
pub(crate) async fn request_email_verification(
    cx: Public,
    user: CurrentUser,
) -> Result<HttpResponse, ApiError> {
    rate_limit(
        &cx.state,
        &format!("verify:account:{}", user.user_id),
        cx.state.limits.verification,
    )
    .await?;
    let mut conn = cx.conn().await?;
    guild_tenancy::recovery::request_verification(&mut conn, user.user_id).await?;
    Ok(HttpResponse::Accepted().finish())
}

/// The current and the new password.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"current_password": "correct horse battery", "new_password": "battery staple horse"}))]
pub(crate) struct ChangePassword {
    /// Your password now.
    #[validate(length(min = 1, max = 1024))]
    #[schema(min_length = 1, max_length = 1024)]
    current_password: String,
    /// 10 characters to 1024 bytes (UTF-8).
    #[validate(length(min = 10, max = 1024))]
    #[schema(min_length = 10, max_length = 1024)]
    new_password: String,
}

/// Change your password.
///
/// Any signed-in user; every session ends (sign in again). 401 `invalid_credentials` for a
/// wrong current password; 422 `weak_password`. Rate limited per account like failed sign-ins (every attempt counts).
#[utoipa::path(
    tag = "auth",
    request_body = ChangePassword,
    responses(
        (status = 204, description = "Password changed"),
        AuthErrors,
        InputErrors,
        (status = 429, description = "`rate_limited`", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/me/password")]
pub(crate) async fn change_password(
    cx: Public,
    user: CurrentUser,
    body: ValidJson<ChangePassword>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    // Checking the current password hashes it: a stolen access token must not buy unlimited
    // guesses (nor unlimited hashing).
    rate_limit(
        &cx.state,
        &format!("password:account:{}", user.user_id),
        cx.state.limits.login_account,
    )
    .await?;
    let mut conn = cx.conn().await?;
    guild_tenancy::recovery::change_password(
        &mut conn,
        user.user_id,
        &body.current_password,
        &body.new_password,
        cx.now,
    )
    .await?;
    cx.state.actors.forget_user(user.user_id);
    Ok(HttpResponse::NoContent().finish())
}
