//! Single sign-on through each tenant's OpenID provider: the authorization code flow
//! (`/v1/auth/sso/…`). The tenant's settings are [`crate::routes::tenant::sso`].
//!
//! The flow: `GET /v1/auth/sso/{tenant_slug}/start` records a sign-in (state, nonce, PKCE
//! verifier) and answers `302 Found` to the provider's authorization endpoint, the URL also in
//! the JSON body for clients that do not follow redirects. The provider sends the browser back to
//! `GET /v1/auth/sso/callback?code&state` (the redirect URI registered at the provider is
//! `<GUILD_API_URL>/v1/auth/sso/callback`), which takes the sign-in once, exchanges the code
//! through the kernel's `OpenIdClient` (SSRF-guarded), verifies the ID token (fetching the
//! provider's keys once more when it names an unknown key), admits the member
//! (`guild_tenancy::sso::sign_in`) and answers the same token pair as password sign-in, as JSON.
//! No transaction is open while the provider is called.

use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, get, web};
use guild_kernel::ports::FetchError;
use guild_tenancy::sessions;
use guild_tenancy::sso::{self, SsoError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::ctx::Public;
use crate::error::ApiError;
use crate::routes::auth::{TokenPair, token_pair};

pub(crate) fn redirect_uri(state: &crate::AppState) -> String {
    format!(
        "{}/v1/auth/sso/callback",
        state.api_url.trim_end_matches('/')
    )
}

/// Where to send the browser to sign in.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SsoStartDto {
    /// The provider's authorization URL (also the `Location` of the 302).
    authorization_url: String,
}

fn provider_error(e: FetchError) -> SsoError {
    tracing::warn!(error = %e, "single sign-on: the identity provider failed");
    SsoError::ProviderUnavailable(match e {
        FetchError::Refused(_) => "refused by the fetch guard".to_owned(),
        FetchError::Unusable(m) | FetchError::Unavailable(m) => m,
    })
}

/// Start signing in to a tenant through its identity provider.
///
/// Anyone; rate limited per client address. Answers `302 Found` to the provider's authorization
/// endpoint (authorization code flow with PKCE S256, a state and a nonce; the sign-in must be
/// finished within 10 minutes), the URL also in the body. 404 `sso_not_configured` when the
/// tenant has no enabled single sign-on (or does not exist); 503 `sso_provider_unavailable` when
/// its discovery document cannot be read.
#[utoipa::path(
    tag = "auth",
    security(()),
    params(("tenant_slug" = String, Path, description = "The tenant's slug", max_length = 63)),
    responses(
        (status = 302, description = "To the provider", body = SsoStartDto,
            headers(("Location" = String, description = "The provider's authorization URL"))),
        (status = 404, description = "`sso_not_configured`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`sso_provider_unavailable`", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[get("/auth/sso/{tenant_slug}/start")]
pub(crate) async fn start_sso(
    cx: Public,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    cx.limit_client("sso", cx.state.limits.login_ip).await?;
    let slug = path.into_inner();
    let mut conn = cx.conn().await?;
    let provider = sso::provider_for_slug(&mut conn, &slug).await?;
    let metadata = cx
        .state
        .oidc
        .discover(&provider.issuer)
        .await
        .map_err(provider_error)?;
    let redirect_uri = redirect_uri(&cx.state);
    let (keyring, now, tenant) = (cx.state.keyring.clone(), cx.now, provider.tenant_id);
    let begun = guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
        sso::begin(conn, tenant, &keyring, &redirect_uri, now).await
    })
    .await?;
    let url = sso::authorization_url(
        &metadata.authorization_endpoint,
        &provider.client_id,
        &redirect_uri,
        &begun,
    )?;
    Ok(HttpResponse::Found()
        .insert_header((LOCATION, url.clone()))
        .json(SsoStartDto {
            authorization_url: url,
        }))
}

/// What the provider sends back.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CallbackQuery {
    /// The authorization code.
    #[param(max_length = 2000)]
    code: Option<String>,
    /// The state `start` made.
    #[param(max_length = 200)]
    state: Option<String>,
    /// The provider's error code when the sign-in did not happen (`access_denied`, …).
    #[param(max_length = 200)]
    error: Option<String>,
}

/// Finish signing in through the identity provider: the provider's redirect target.
///
/// Anyone; rate limited per client address. Takes the sign-in `state` names (once; 401
/// `sso_state_invalid` when unknown, used or older than 10 minutes), exchanges the code (401
/// `sso_code_rejected` when the provider refuses it or reported an error), verifies the ID token
/// (issuer, audience, expiry, nonce, a signature by the provider's keys: 401 `sso_token_invalid`),
/// then admits the member: the provider must have verified the email (403
/// `sso_email_unverified`) and its domain be allowed (403 `sso_domain_not_allowed`); it links
/// to the account with that email, adds a member with the default role on a first sign-in, and
/// puts them in the groups the groups claim names. A deactivated or removed member is refused
/// (403 `membership_inactive`, `not_a_member`). Answers the same token pair as password sign-in.
#[utoipa::path(
    tag = "auth",
    security(()),
    params(CallbackQuery),
    responses(
        (status = 200, description = "Signed in", body = TokenPair),
        (status = 401, description = "`sso_state_invalid`, `sso_code_rejected`, `sso_token_invalid`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`sso_email_unverified`, `sso_domain_not_allowed`, `membership_inactive`, `not_a_member`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`sso_not_configured`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`sso_provider_unavailable`", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[get("/auth/sso/callback")]
pub(crate) async fn complete_sso(
    cx: Public,
    query: web::Query<CallbackQuery>,
) -> Result<web::Json<TokenPair>, ApiError> {
    cx.limit_client("sso", cx.state.limits.login_ip).await?;
    let query = query.into_inner();
    let state = query.state.as_deref().ok_or(SsoError::StateInvalid)?;
    let tenant = sso::tenant_of_state(state)?;
    let (keyring, now) = (cx.state.keyring.clone(), cx.now);
    let mut conn = cx.conn().await?;
    // Taken (and committed) first: a state is used once, whatever happens next.
    let pending = guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
        sso::take(conn, tenant, state, &keyring, now).await
    })
    .await?;
    if let Some(error) = query.error {
        return Err(SsoError::CodeRejected(error.chars().take(200).collect()).into());
    }
    let code = query
        .code
        .ok_or_else(|| SsoError::CodeRejected("no code".to_owned()))?;
    let oidc = &cx.state.oidc;
    let metadata = oidc
        .discover(&pending.issuer)
        .await
        .map_err(provider_error)?;
    let answer = oidc
        .exchange(
            &metadata.token_endpoint,
            &pending.client,
            &code,
            &pending.redirect_uri,
            &pending.code_verifier,
        )
        .await
        .map_err(|e| match e {
            FetchError::Unusable(m) => SsoError::CodeRejected(m),
            other => provider_error(other),
        })?;
    let id_token = answer
        .get("id_token")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| SsoError::TokenInvalid("no ID token".to_owned()))?;
    let verify = |keys: &serde_json::Value| {
        sso::verify_id_token(
            keys,
            id_token,
            &pending.issuer,
            &pending.client.client_id,
            &pending.nonce,
            now,
        )
    };
    let keys = oidc
        .keys(&metadata.jwks_uri, false)
        .await
        .map_err(provider_error)?;
    let claims = match verify(&keys) {
        // The provider may have rotated its keys since they were cached: fetch them once more.
        Err(SsoError::UnknownKey) => verify(
            &oidc
                .keys(&metadata.jwks_uri, true)
                .await
                .map_err(provider_error)?,
        )?,
        other => other?,
    };
    let signed_in = guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
        sso::sign_in(conn, tenant, &claims, now).await
    })
    .await?;
    if signed_in.joined {
        cx.state.actors.clear_tenant(tenant);
    }
    let session = sessions::start_after_sso(&mut conn, signed_in.user_id, tenant, now).await?;
    Ok(web::Json(token_pair(&cx.state, session)?))
}
