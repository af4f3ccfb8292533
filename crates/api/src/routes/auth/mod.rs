//! `/v1/auth`: sign-up (and verifying the address), sign-in, token refresh (and tenant
//! switching), sign-out, emailed-token flows, and single sign-on ([`sso`]). The signed-in
//! person's own things are under `/v1/me` ([`crate::routes::me`]).

pub mod sso;

use actix_web::{HttpRequest, HttpResponse, post, web};
use chrono::{DateTime, Utc};
use guild_kernel::TenantId;
use guild_kernel::ports::RateRule;
use guild_tenancy::{sessions, tenants};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::Public;
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::routes::common::{Conflict, InputErrors};
use crate::routes::segment;
use crate::routes::tenant::TenantDto;
use crate::state::AppState;

/// Registers `/v1/auth`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/auth")
            .service(sign_up)
            .service(sign_in)
            .service(refresh_session)
            .service(sign_out)
            .service(accept_invite)
            .service(verify_email)
            .service(request_password_reset)
            .service(confirm_password_reset)
            // Single sign-on lives in its own file, under this segment.
            .service(sso::start_sso)
            .service(sso::complete_sso),
    );
}

/// Tokens for a session.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TokenPair {
    /// Send as `Authorization: Bearer …`.
    access_token: String,
    /// Always `Bearer`.
    token_type: &'static str,
    /// Seconds until the access token expires.
    expires_in: u64,
    /// Exchange at `POST /v1/auth/refresh` for the next pair; single use.
    refresh_token: String,
    /// When the refresh token expires.
    refresh_expires_at: DateTime<Utc>,
    /// The active tenant of this session, if any.
    tenant_id: Option<Uuid>,
}

pub(crate) fn token_pair(
    state: &AppState,
    session: sessions::Session,
) -> Result<TokenPair, ApiError> {
    Ok(TokenPair {
        access_token: state
            .tokens
            .issue(session.user_id, session.tenant_id, session.generation)?,
        token_type: "Bearer",
        expires_in: state.tokens.ttl.as_secs(),
        refresh_token: session.refresh_token,
        refresh_expires_at: session.refresh_expires_at,
        tenant_id: session.tenant_id.map(TenantId::into_uuid),
    })
}

/// Counts a hit against a limit; over it, 429 with `Retry-After` and `RateLimit-*` headers. If the
/// limiter cannot answer, the request is refused (fail closed).
pub(crate) async fn rate_limit(
    state: &AppState,
    key: &str,
    rule: RateRule,
) -> Result<(), ApiError> {
    let decision = state
        .limiter
        .hit(key, rule)
        .await
        .map_err(|e| crate::client::unavailable(&e))?;
    if decision.allowed {
        Ok(())
    } else {
        Err(crate::client::limited(decision))
    }
}

/// Sign-up: a new tenant and its owner.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "tenant_name": "Acme d.o.o.",
    "slug": "acme",
    "name": "Ana Novak",
    "email": "ana.novak@example.com",
    "password": "correct horse battery"
}))]
pub(crate) struct SignUpRequest {
    /// The company's name.
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    tenant_name: String,
    /// Its URL name: lowercase letters, digits, inner hyphens.
    #[validate(length(min = 1, max = 63))]
    #[schema(
        min_length = 1,
        max_length = 63,
        pattern = "^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"
    )]
    slug: String,
    /// Your name.
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    name: String,
    /// Your email; you sign in with it.
    #[validate(email)]
    #[schema(format = Email, max_length = 254)]
    email: String,
    /// 10 characters to 1024 bytes (UTF-8).
    #[validate(length(min = 10, max = 1024))]
    #[schema(min_length = 10, max_length = 1024)]
    password: String,
}

/// The new tenant and a session in it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SignUpResponse {
    tenant: TenantDto,
    tokens: TokenPair,
}

/// Sign up: create a FREE tenant and become its OWNER.
///
/// Anyone may sign up; rate limited per client address (429 `rate_limited`). 409 `slug_taken`
/// or `email_taken`; 422 `invalid_slug`, `weak_password`. A verification link is emailed to the address. Until it is followed the account works in the
/// tenant it created, but no other tenant can add it: invitations to it wait until it is verified.
#[utoipa::path(
    tag = "auth",
    security(()),
    request_body = SignUpRequest,
    responses(
        (status = 201, description = "Created, and signed in", body = SignUpResponse),
        InputErrors,
        Conflict,
        (status = 429, description = "`rate_limited`", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/auth/signup")]
pub(crate) async fn sign_up(
    cx: Public,
    req: HttpRequest,
    body: ValidJson<SignUpRequest>,
) -> Result<HttpResponse, ApiError> {
    cx.limit_client("signup", cx.state.limits.signup).await?;
    let body = body.into_inner();
    let mut conn = cx.conn().await?;
    let request_id = crate::auth::request_id_of(&req);
    let (tenant, user) = tenants::sign_up(
        &mut conn,
        &tenants::SignUp {
            tenant_name: body.tenant_name,
            slug: body.slug,
            name: body.name,
            email: body.email.clone(),
            password: body.password.clone(),
        },
        request_id,
        cx.now,
    )
    .await?;
    let session = sessions::login(
        &mut conn,
        &body.email,
        &body.password,
        Some(TenantId(tenant.id)),
        cx.now,
    )
    .await?;
    debug_assert_eq!(session.user_id, user);
    Ok(HttpResponse::Created().json(SignUpResponse {
        tenant: tenant.into(),
        tokens: token_pair(&cx.state, session)?,
    }))
}

/// Email and password.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "ana.novak@example.com", "password": "correct horse battery"}))]
pub(crate) struct LoginRequest {
    /// The account's email.
    #[validate(length(min = 3, max = 254))]
    #[schema(min_length = 3, max_length = 254)]
    email: String,
    /// The password.
    #[validate(length(min = 1, max = 1024))]
    #[schema(min_length = 1, max_length = 1024)]
    password: String,
    /// Start in this tenant (default: your first one).
    tenant_id: Option<Uuid>,
}

/// Sign in with email and password.
///
/// Answers a token pair for the requested tenant (or your first one). 401
/// `invalid_credentials` for a wrong email or password, whichever it was. Rate limited per client address (every attempt) and per account (failed attempts only); over
/// a limit, 429 with `Retry-After`.
#[utoipa::path(
    tag = "auth",
    security(()),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenPair),
        InputErrors,
        (status = 401, description = "`invalid_credentials`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`tenant_archived`, `not_a_member`, `membership_inactive` for the requested tenant; `sso_required` when it (or, without one, every tenant of the account) signs its members in through single sign-on only and you are not its OWNER", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/auth/login")]
pub(crate) async fn sign_in(
    cx: Public,
    body: ValidJson<LoginRequest>,
) -> Result<web::Json<TokenPair>, ApiError> {
    let body = body.into_inner();
    cx.limit_client("login", cx.state.limits.login_ip).await?;
    // Per account, only failures count: a stranger sending requests cannot lock anyone out,
    // and an account that failed too often is refused before its password is hashed again.
    let account = format!("login:account:{}", body.email.trim().to_lowercase());
    let rule = cx.state.limits.login_account;
    let standing = cx
        .state
        .limiter
        .peek(&account, rule)
        .await
        .map_err(|e| crate::client::unavailable(&e))?;
    if !standing.allowed {
        return Err(crate::client::limited(standing));
    }
    let mut conn = cx.conn().await?;
    let session = match sessions::login(
        &mut conn,
        &body.email,
        &body.password,
        body.tenant_id.map(TenantId),
        cx.now,
    )
    .await
    {
        Err(e @ guild_tenancy::TenancyError::InvalidCredentials) => {
            rate_limit(&cx.state, &account, rule).await?;
            return Err(e.into());
        }
        other => other?,
    };
    Ok(web::Json(token_pair(&cx.state, session)?))
}

/// A refresh token, and optionally a tenant to switch to.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "refresh_token": "rt_3q2-7wKcN0v5Y1mZbq9XfQ",
    "tenant_id": "0190a0b2-7e55-7c3e-9d6b-52f1e1b8c7a0"
}))]
pub(crate) struct RefreshRequest {
    /// The current refresh token.
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    refresh_token: String,
    /// Switch the session to this tenant (a membership, or any tenant for the platform owner).
    tenant_id: Option<Uuid>,
}

/// Refresh the session (and switch tenant).
///
/// Anyone holding a refresh token; rate limited per client address. The refresh token is single use: the response carries the next one. Presenting a used token
/// revokes every token of that sign-in (`refresh_token_reused`).
#[utoipa::path(
    tag = "auth",
    security(()),
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "The next token pair", body = TokenPair),
        InputErrors,
        (status = 401, description = "`invalid_token`, `refresh_token_reused`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed in the requested tenant (`sso_required`: it signs its members in through single sign-on only)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/auth/refresh")]
pub(crate) async fn refresh_session(
    cx: Public,
    body: ValidJson<RefreshRequest>,
) -> Result<web::Json<TokenPair>, ApiError> {
    let body = body.into_inner();
    limit_token_use(&cx, "refresh").await?;
    let mut conn = cx.conn().await?;
    let session = sessions::refresh(
        &mut conn,
        &body.refresh_token,
        body.tenant_id.map(TenantId),
        cx.now,
    )
    .await?;
    Ok(web::Json(token_pair(&cx.state, session)?))
}

/// A refresh token to end.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"refresh_token": "rt_3q2-7wKcN0v5Y1mZbq9XfQ"}))]
pub(crate) struct LogoutRequest {
    /// The session's refresh token.
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    refresh_token: String,
}

/// Sign out: revoke the session's refresh tokens.
///
/// Anyone holding the refresh token; an unknown token is also 204. Access tokens already issued stay valid until they expire (at most 15 minutes).
#[utoipa::path(
    tag = "auth",
    security(()),
    request_body = LogoutRequest,
    responses((status = 204, description = "Signed out"), InputErrors)
)]
#[post("/auth/logout")]
pub(crate) async fn sign_out(
    cx: Public,
    body: ValidJson<LogoutRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = cx.conn().await?;
    sessions::logout(&mut conn, &body.into_inner().refresh_token, cx.now).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// An invitation token and the password to set.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "it_9VfJ2mQw0cX4r8LtZp1s", "password": "correct horse battery"}))]
pub(crate) struct AcceptInvite {
    /// The token from the invitation email.
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    token: String,
    /// 10 characters to 1024 bytes (UTF-8).
    #[validate(length(min = 10, max = 1024))]
    #[schema(min_length = 10, max_length = 1024)]
    password: String,
}

/// Accept an invitation: set your password and sign in to the tenant.
///
/// The emailed token proves you read the address's mail: the password becomes the account's,
/// the address counts as verified, and every other session of the account ends. An account that
/// already has a password and a verified address gets no token by email; it accepts in the app
/// (`POST /v1/me/invitations/{tenant_id}/accept`).
#[utoipa::path(
    tag = "auth",
    security(()),
    request_body = AcceptInvite,
    responses(
        (status = 200, description = "Joined, and signed in", body = TokenPair),
        InputErrors,
        (status = 401, description = "`invalid_token`: unknown, used or expired", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/auth/accept-invite")]
pub(crate) async fn accept_invite(
    cx: Public,
    body: ValidJson<AcceptInvite>,
) -> Result<web::Json<TokenPair>, ApiError> {
    let body = body.into_inner();
    limit_token_use(&cx, "accept-invite").await?;
    let mut conn = cx.conn().await?;
    let session =
        guild_tenancy::recovery::accept_invite(&mut conn, &body.token, &body.password, cx.now)
            .await?;
    cx.state.actors.forget_user(session.user_id);
    Ok(web::Json(token_pair(&cx.state, session)?))
}

/// Counts one emailed-token redemption (or refresh) against the client address's limit.
async fn limit_token_use(cx: &Public, flow: &str) -> Result<(), ApiError> {
    cx.limit_client(&format!("token:{flow}"), cx.state.limits.token_ip)
        .await
}

/// The token from a verification email.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "vt_Qm4x8Yp2cL0sN7wB3kRf"}))]
pub(crate) struct VerifyEmail {
    /// The token from the link.
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    token: String,
}

/// Verify your email address with the emailed token.
///
/// Anyone holding the token; rate limited per client address. 401 `invalid_token` for an
/// unknown, used or expired token.
#[utoipa::path(
    tag = "auth",
    security(()),
    request_body = VerifyEmail,
    responses(
        (status = 204, description = "The address is verified"),
        InputErrors,
        (status = 401, description = "`invalid_token`: unknown, used or expired", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/auth/verify-email")]
pub(crate) async fn verify_email(
    cx: Public,
    body: ValidJson<VerifyEmail>,
) -> Result<HttpResponse, ApiError> {
    limit_token_use(&cx, "verify-email").await?;
    let mut conn = cx.conn().await?;
    guild_tenancy::recovery::verify_email(&mut conn, &body.into_inner().token, cx.now).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The account to reset.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "ana.novak@example.com"}))]
pub(crate) struct ResetRequest {
    /// The account's email.
    #[validate(length(min = 3, max = 254))]
    #[schema(min_length = 3, max_length = 254)]
    email: String,
}

/// Ask for a password-reset email.
///
/// Anyone; always 202, whether or not the account exists. Rate limited per client address and per account.
#[utoipa::path(
    tag = "auth",
    security(()),
    request_body = ResetRequest,
    responses(
        (status = 202, description = "If the account exists, an email is on its way"),
        InputErrors,
        (status = 429, description = "`rate_limited`", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/auth/password-reset")]
pub(crate) async fn request_password_reset(
    cx: Public,
    body: ValidJson<ResetRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    cx.limit_client("reset", cx.state.limits.reset).await?;
    let account = body.email.trim().to_lowercase();
    rate_limit(
        &cx.state,
        &format!("reset:account:{account}"),
        cx.state.limits.reset,
    )
    .await?;
    let mut conn = cx.conn().await?;
    guild_tenancy::recovery::request_password_reset(&mut conn, &body.email).await?;
    Ok(HttpResponse::Accepted().finish())
}

/// A reset token and the new password.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "pr_Lx7cQ2vN9mW4tY0bKs3e", "password": "correct horse battery"}))]
pub(crate) struct ResetConfirm {
    /// The token from the reset email.
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    token: String,
    /// 10 characters to 1024 bytes (UTF-8).
    #[validate(length(min = 10, max = 1024))]
    #[schema(min_length = 10, max_length = 1024)]
    password: String,
}

/// Set a new password with a reset token.
///
/// Anyone holding the token; rate limited per client address. Every session of the account
/// ends. 401 `invalid_token`; 422 `weak_password`.
#[utoipa::path(
    tag = "auth",
    security(()),
    request_body = ResetConfirm,
    responses(
        (status = 204, description = "Password changed"),
        InputErrors,
        (status = 401, description = "`invalid_token`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/auth/password-reset/confirm")]
pub(crate) async fn confirm_password_reset(
    cx: Public,
    body: ValidJson<ResetConfirm>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    limit_token_use(&cx, "reset-confirm").await?;
    let mut conn = cx.conn().await?;
    let user =
        guild_tenancy::recovery::reset_password(&mut conn, &body.token, &body.password, cx.now)
            .await?;
    cx.state.actors.forget_user(user);
    Ok(HttpResponse::NoContent().finish())
}
