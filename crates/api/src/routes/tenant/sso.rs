//! The tenant's single sign-on settings: `/v1/tenant/sso` (its OpenID provider, client and
//! the domains whose members sign in through it). The sign-in flow is
//! [`crate::routes::auth::sso`].

use actix_web::{get, put};
use chrono::{DateTime, Utc};
use guild_kernel::TenantRole;
use guild_tenancy::TenancyError;
use guild_tenancy::sso::{self, SsoError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::ctx::{Ctx, Permitted};
use crate::error::ApiError;
use crate::etag::{Revised, Tagged};
use crate::extract::ValidJson;
use crate::routes::auth::sso::redirect_uri;
use crate::routes::common::{AuthErrors, InputErrors, NotFound};

/// A tenant's single sign-on settings. The client secret is write-only: never answered.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SsoSettingsDto {
    /// The provider's issuer URL (`https`).
    issuer: String,
    /// Guild's client id at the provider.
    client_id: String,
    /// A client secret is stored (sealed); it is never shown.
    client_secret_set: bool,
    /// Email domains whose verified addresses may sign in.
    allowed_domains: Vec<String>,
    /// The role of members added on their first sign-in.
    default_role: TenantRole,
    /// The ID token claim listing group names; the member is added to the tenant's groups of
    /// those names at each sign-in.
    groups_claim: Option<String>,
    /// Members other than OWNERs cannot sign in with a password (403 `sso_required`).
    sso_only: bool,
    /// Sign-in through the provider is on.
    enabled: bool,
    /// The redirect URI to register at the provider.
    redirect_uri: String,
    /// The `ETag`.
    revision: i32,
    updated_at: DateTime<Utc>,
}

impl Revised for SsoSettingsDto {
    fn revision(&self) -> i32 {
        self.revision
    }
}

fn dto(s: sso::Settings, redirect_uri: String) -> SsoSettingsDto {
    SsoSettingsDto {
        issuer: s.issuer,
        client_id: s.client_id,
        client_secret_set: !s.client_secret_key_id.is_empty(),
        allowed_domains: s.allowed_domains,
        default_role: s.default_role,
        groups_claim: s.groups_claim,
        sso_only: s.sso_only,
        enabled: s.enabled,
        redirect_uri,
        revision: s.revision,
        updated_at: s.updated_at,
    }
}

/// Get the tenant's single sign-on settings.
///
/// For ADMIN and above (403 `role_not_assignable` below; never an API key). 404
/// `sso_not_configured` before they are first set. The client secret is never answered.
#[utoipa::path(
    tag = "tenants",
    responses((status = 200, body = SsoSettingsDto, description = "The settings"), AuthErrors, NotFound)
)]
#[get("/tenant/sso")]
pub(crate) async fn get_tenant_sso(
    ctx: Ctx<Permitted>,
) -> Result<Tagged<SsoSettingsDto>, ApiError> {
    let settings = ctx
        .write(async |conn| sso::get(conn, &ctx.actor).await)
        .await?;
    Ok(Tagged(dto(settings, redirect_uri(&ctx.state))))
}

/// Single sign-on settings to set (all of them; the secret may be left out once stored).
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "issuer": "https://login.example.com",
    "client_id": "guild",
    "client_secret": "s3cr3t-from-the-provider",
    "allowed_domains": ["example.com"],
    "default_role": "EMPLOYEE",
    "groups_claim": "groups",
    "sso_only": false,
    "enabled": true
}))]
pub(crate) struct PutSsoSettings {
    /// The provider's issuer URL: `https` on the default port, no query (422
    /// `validation_failed` with `issuer_not_allowed` otherwise). Discovery reads
    /// `<issuer>/.well-known/openid-configuration`.
    #[validate(length(min = 8, max = 500))]
    #[schema(min_length = 8, max_length = 500, pattern = "^https://")]
    issuer: String,
    /// Guild's client id at the provider.
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    client_id: String,
    /// The client secret: write-only, stored sealed. Required the first time
    /// (`validation_failed` with `required`), kept when left out afterwards.
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000, write_only)]
    client_secret: Option<String>,
    /// Email domains (`example.com`) whose provider-verified addresses may sign in: 1 to 50
    /// (`invalid_domain` for one that is not a host name).
    #[validate(length(min = 1, max = 50))]
    #[schema(min_items = 1, max_items = 50)]
    allowed_domains: Vec<String>,
    /// The role of members added on their first sign-in: ADMIN, HR, EMPLOYEE or VIEWER, and one
    /// below your own unless you are an OWNER (403 `role_not_assignable`).
    default_role: TenantRole,
    /// The ID token claim listing group names (a list of strings, or one string).
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    groups_claim: Option<String>,
    /// Refuse password sign-in to members other than OWNERs.
    sso_only: bool,
    /// Turn sign-in through the provider on.
    enabled: bool,
}

impl std::fmt::Debug for PutSsoSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PutSsoSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// Set the tenant's single sign-on settings.
///
/// For ADMIN and above (403 `role_not_assignable` below; never an API key). The issuer is
/// checked by the SSRF guard's rules (`https`, a public address) but not fetched here: the first
/// sign-in reads its discovery document. Audited, without the secret.
#[utoipa::path(
    tag = "tenants",
    request_body = PutSsoSettings,
    responses((status = 200, body = SsoSettingsDto, description = "The settings"), AuthErrors, InputErrors)
)]
#[put("/tenant/sso")]
pub(crate) async fn set_tenant_sso(
    ctx: Ctx<Permitted>,
    body: ValidJson<PutSsoSettings>,
) -> Result<Tagged<SsoSettingsDto>, ApiError> {
    let b = body.into_inner();
    ctx.state.oidc.check_issuer(&b.issuer).map_err(|e| {
        SsoError::from(TenancyError::invalid(
            "issuer",
            "issuer_not_allowed",
            &format!("the issuer must be an https URL of a public host ({e})"),
        ))
    })?;
    let input = sso::SettingsInput {
        issuer: b.issuer,
        client_id: b.client_id.trim().to_owned(),
        client_secret: b.client_secret,
        allowed_domains: b.allowed_domains,
        default_role: b.default_role,
        groups_claim: b.groups_claim,
        sso_only: b.sso_only,
        enabled: b.enabled,
    };
    let keyring = ctx.state.keyring.clone();
    let settings = ctx
        .write(async |conn| sso::put(conn, &ctx.actor, &keyring, &input, ctx.now).await)
        .await?;
    Ok(Tagged(dto(settings, redirect_uri(&ctx.state))))
}
