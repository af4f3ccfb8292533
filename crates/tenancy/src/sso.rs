//! OpenID Connect single sign-on per tenant: the tenant's provider settings, the sign-ins
//! started and not yet finished, the ID token's verification, and what a verified sign-in does
//! to the tenant (linking by a verified email, just-in-time membership, group mapping).
//!
//! Invariants kept here:
//! - The client secret is stored sealed with the kernel's keyring, bound to
//!   `sso_settings:<tenant>`, and never answered: [`Settings`] has no field for it.
//! - A sign-in is started once and finished at most once: its `state` (which names the tenant,
//!   `<tenant>.<random>`) is stored as its SHA-256, its PKCE verifier sealed, and the callback
//!   takes the row with `DELETE … RETURNING` within [`LOGIN_TTL_MINUTES`].
//! - An ID token counts only when signed by one of the issuer's keys (RS*/PS*/ES* algorithms,
//!   never `none` or a shared secret), issued by the configured issuer, for the configured
//!   client (and, with several audiences, authorized for it), unexpired by the caller's `now`,
//!   and carrying the nonce of the sign-in it finishes.
//! - An account is linked only through an email the provider says it verified, whose domain the
//!   tenant allows; a member who was deactivated or removed is not let back in by it.
//! - With `sso_only`, members other than OWNERs cannot enter the tenant with a password
//!   ([`password_allowed`], used by [`crate::sessions`]): owners keep a break-glass password.
//!
//! No HTTP here: the api layer fetches discovery documents and keys and exchanges the code
//! through the kernel's [`OpenIdClient`](guild_kernel::ports::OpenIdClient) port.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{groups, memberships, sso_logins, sso_settings, tenants, users};
use guild_kernel::ports::ClientCredentials;
use guild_kernel::sealed::Keyring;
use guild_kernel::{
    Actor, ErrorCode, FieldError, GlobalRole, MembershipStatus, TenantId, TenantRole, UserId,
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::TenancyError;

/// How long a started sign-in may be finished.
pub const LOGIN_TTL_MINUTES: i64 = 10;
/// The most email domains a tenant lists.
pub const MAX_DOMAINS: usize = 50;
/// The most group names a sign-in's claim maps.
pub const MAX_GROUP_NAMES: usize = 100;
/// Clock skew tolerated on an ID token's `exp` and `iat`, in seconds.
pub const LEEWAY_SECS: i64 = 60;

/// A refused or failed single sign-on.
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    /// The tenant has no enabled single sign-on (or no such tenant).
    #[error("single sign-on is not configured for this tenant")]
    NotConfigured,
    /// The callback's state is unknown, used, expired or malformed.
    #[error("the sign-in is unknown, was already finished or has expired; start again")]
    StateInvalid,
    /// The provider could not be reached or answered something unusable.
    #[error("the identity provider is unavailable: {0}")]
    ProviderUnavailable(String),
    /// The provider refused the authorization code.
    #[error("the identity provider refused the code: {0}")]
    CodeRejected(String),
    /// The ID token failed verification.
    #[error("the ID token is not valid: {0}")]
    TokenInvalid(String),
    /// The ID token names a key id the key set lacks (the caller fetches the keys again once).
    #[error("the ID token is signed with an unknown key")]
    UnknownKey,
    /// The provider did not say it verified the email.
    #[error("the identity provider did not verify the email address")]
    EmailUnverified,
    /// The email's domain is not one the tenant allows.
    #[error("the email's domain is not allowed to sign in to this tenant")]
    DomainNotAllowed,
    /// A sealed value did not seal or open.
    #[error("a sealed value failed: {0}")]
    Sealed(String),
    /// Anything tenancy refuses (membership, permission, validation).
    #[error(transparent)]
    Tenancy(#[from] TenancyError),
}

impl From<guild_db::DbError> for SsoError {
    fn from(e: guild_db::DbError) -> Self {
        Self::Tenancy(TenancyError::Db(e))
    }
}

impl From<guild_kernel::sealed::SealError> for SsoError {
    fn from(e: guild_kernel::sealed::SealError) -> Self {
        Self::Sealed(e.to_string())
    }
}

impl From<diesel::result::Error> for SsoError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Tenancy(TenancyError::from(e))
    }
}

impl ErrorCode for SsoError {
    fn code(&self) -> &'static str {
        match self {
            Self::NotConfigured => "sso_not_configured",
            Self::StateInvalid => "sso_state_invalid",
            Self::ProviderUnavailable(_) => "sso_provider_unavailable",
            Self::CodeRejected(_) => "sso_code_rejected",
            Self::TokenInvalid(_) | Self::UnknownKey => "sso_token_invalid",
            Self::EmailUnverified => "sso_email_unverified",
            Self::DomainNotAllowed => "sso_domain_not_allowed",
            Self::Sealed(_) => "internal_error",
            Self::Tenancy(e) => e.code(),
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::NotConfigured => 404,
            Self::StateInvalid => 401,
            Self::ProviderUnavailable(_) => 503,
            Self::CodeRejected(_) | Self::TokenInvalid(_) | Self::UnknownKey => 401,
            Self::EmailUnverified | Self::DomainNotAllowed => 403,
            Self::Sealed(_) => 500,
            Self::Tenancy(e) => e.status(),
        }
    }

    fn field_errors(&self) -> Vec<FieldError> {
        match self {
            Self::Tenancy(e) => e.field_errors(),
            _ => Vec::new(),
        }
    }
}

/// A tenant's single sign-on settings, as admins read them (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The provider's issuer URL.
    pub issuer: String,
    /// Guild's client id at the provider.
    pub client_id: String,
    /// The id of the key that sealed the client secret.
    pub client_secret_key_id: String,
    /// Email domains that may sign in (lowercase).
    pub allowed_domains: Vec<String>,
    /// The role of members added just in time.
    pub default_role: TenantRole,
    /// The ID token claim whose names map to the tenant's groups.
    pub groups_claim: Option<String>,
    /// Members other than OWNERs sign in through the provider only.
    pub sso_only: bool,
    /// Whether sign-in through the provider is on.
    pub enabled: bool,
    /// Moves on every change (the ETag).
    pub revision: i32,
    /// When they last changed.
    pub updated_at: DateTime<Utc>,
}

type SettingsRow = (
    String,
    String,
    String,
    Vec<String>,
    String,
    Option<String>,
    bool,
    bool,
    i32,
    DateTime<Utc>,
);

fn settings_columns() -> (
    sso_settings::issuer,
    sso_settings::client_id,
    sso_settings::client_secret_key_id,
    sso_settings::allowed_domains,
    sso_settings::default_role,
    sso_settings::groups_claim,
    sso_settings::sso_only,
    sso_settings::enabled,
    sso_settings::revision,
    sso_settings::updated_at,
) {
    (
        sso_settings::issuer,
        sso_settings::client_id,
        sso_settings::client_secret_key_id,
        sso_settings::allowed_domains,
        sso_settings::default_role,
        sso_settings::groups_claim,
        sso_settings::sso_only,
        sso_settings::enabled,
        sso_settings::revision,
        sso_settings::updated_at,
    )
}

fn to_settings(row: SettingsRow) -> Result<Settings, SsoError> {
    let (
        issuer,
        client_id,
        client_secret_key_id,
        allowed_domains,
        role,
        groups_claim,
        sso_only,
        enabled,
        revision,
        updated_at,
    ) = row;
    Ok(Settings {
        issuer,
        client_id,
        client_secret_key_id,
        allowed_domains,
        default_role: crate::parse_column(&role)?,
        groups_claim,
        sso_only,
        enabled,
        revision,
        updated_at,
    })
}

/// Tenant settings are ADMIN and above's, never an API key's (as `tenants::update`).
fn check_admin(actor: &Actor) -> Result<(), SsoError> {
    if actor.role.rank() > TenantRole::Admin.rank() || actor.api_key.is_some() {
        return Err(TenancyError::RoleNotAssignable.into());
    }
    Ok(())
}

fn secret_context(tenant: TenantId) -> String {
    format!("sso_settings:{tenant}")
}

fn login_context(tenant: TenantId, id: Uuid) -> String {
    format!("sso_login:{tenant}:{id}")
}

/// The tenant's settings (ADMIN and above); 404 `sso_not_configured` before the first `put`.
pub async fn get(conn: &mut AsyncPgConnection, actor: &Actor) -> Result<Settings, SsoError> {
    check_admin(actor)?;
    let row: Option<SettingsRow> = sso_settings::table
        .find(actor.tenant_id.into_uuid())
        .select(settings_columns())
        .first(conn)
        .await
        .optional()?;
    to_settings(row.ok_or(SsoError::NotConfigured)?)
}

/// What an admin sets; `client_secret` may be left out once one is stored (it is kept).
#[derive(Clone, PartialEq, Eq)]
pub struct SettingsInput {
    /// The provider's issuer URL (already checked against the fetch guard by the caller).
    pub issuer: String,
    /// Guild's client id at the provider.
    pub client_id: String,
    /// A new client secret, sealed before it is stored.
    pub client_secret: Option<String>,
    /// Email domains that may sign in.
    pub allowed_domains: Vec<String>,
    /// The role of members added just in time.
    pub default_role: TenantRole,
    /// The claim mapped to groups.
    pub groups_claim: Option<String>,
    /// Refuse password sign-in to members other than OWNERs.
    pub sso_only: bool,
    /// Turn sign-in through the provider on.
    pub enabled: bool,
}

impl std::fmt::Debug for SettingsInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SettingsInput")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("allowed_domains", &self.allowed_domains)
            .field("default_role", &self.default_role)
            .field("sso_only", &self.sso_only)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

/// A domain as the tenant lists it: lowercase labels of letters, digits and inner hyphens,
/// at least two of them.
fn normalize_domain(domain: &str) -> Option<String> {
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = domain.split('.').collect();
    let ok = domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            (1..=63).contains(&l.len())
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    ok.then_some(domain)
}

/// Creates or replaces the tenant's settings (ADMIN and above; a default role the actor may
/// give). The first `put` needs a client secret. Audited without the secret.
pub async fn put(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    keyring: &Keyring,
    input: &SettingsInput,
    now: DateTime<Utc>,
) -> Result<Settings, SsoError> {
    check_admin(actor)?;
    if matches!(
        input.default_role,
        TenantRole::Owner | TenantRole::SuperAdmin
    ) || !(actor.role == TenantRole::Owner || actor.role.rank() < input.default_role.rank())
    {
        return Err(TenancyError::RoleNotAssignable.into());
    }
    let mut errors = Vec::new();
    let mut domains: Vec<String> = Vec::new();
    for d in &input.allowed_domains {
        match normalize_domain(d) {
            Some(d) if !domains.contains(&d) => domains.push(d),
            Some(_) => {}
            None => errors.push(FieldError::new(
                "allowed_domains",
                "invalid_domain",
                "each domain is a host name such as example.com",
            )),
        }
    }
    if domains.is_empty() || domains.len() > MAX_DOMAINS {
        errors.push(FieldError::new(
            "allowed_domains",
            "length",
            format!("list 1 to {MAX_DOMAINS} domains"),
        ));
    }
    if let Some(claim) = &input.groups_claim
        && (claim.trim().is_empty() || claim.len() > 100)
    {
        errors.push(FieldError::new(
            "groups_claim",
            "length",
            "1 to 100 characters",
        ));
    }
    let tenant = actor.tenant_id;
    let existing: Option<String> = sso_settings::table
        .find(tenant.into_uuid())
        .select(sso_settings::client_secret_sealed)
        .for_update()
        .first(conn)
        .await
        .optional()?;
    let (sealed, key_id) = match (&input.client_secret, &existing) {
        (Some(secret), _) => (
            keyring.seal(&secret_context(tenant), secret.as_bytes())?,
            keyring.sealing_key_id().to_owned(),
        ),
        (None, Some(sealed)) => {
            let key = sealed.split_once('.').map_or("", |(k, _)| k).to_owned();
            (sealed.clone(), key)
        }
        (None, None) => {
            errors.push(FieldError::new(
                "client_secret",
                "required",
                "the first configuration needs the client secret",
            ));
            (String::new(), String::new())
        }
    };
    if !errors.is_empty() {
        return Err(TenancyError::Invalid(errors).into());
    }
    let role = input.default_role.as_str();
    let claim = input.groups_claim.as_deref().map(str::trim);
    diesel::insert_into(sso_settings::table)
        .values((
            sso_settings::tenant_id.eq(tenant.into_uuid()),
            sso_settings::issuer.eq(&input.issuer),
            sso_settings::client_id.eq(&input.client_id),
            sso_settings::client_secret_sealed.eq(&sealed),
            sso_settings::client_secret_key_id.eq(&key_id),
            sso_settings::allowed_domains.eq(&domains),
            sso_settings::default_role.eq(role),
            sso_settings::groups_claim.eq(claim),
            sso_settings::sso_only.eq(input.sso_only),
            sso_settings::enabled.eq(input.enabled),
            sso_settings::created_at.eq(now),
            sso_settings::updated_at.eq(now),
        ))
        .on_conflict(sso_settings::tenant_id)
        .do_update()
        .set((
            sso_settings::issuer.eq(&input.issuer),
            sso_settings::client_id.eq(&input.client_id),
            sso_settings::client_secret_sealed.eq(&sealed),
            sso_settings::client_secret_key_id.eq(&key_id),
            sso_settings::allowed_domains.eq(&domains),
            sso_settings::default_role.eq(role),
            sso_settings::groups_claim.eq(claim),
            sso_settings::sso_only.eq(input.sso_only),
            sso_settings::enabled.eq(input.enabled),
            sso_settings::revision.eq(sso_settings::revision + 1),
            sso_settings::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    crate::audit::record(
        conn,
        actor,
        "SSO_SETTINGS_UPDATED",
        "tenant",
        Some(tenant.to_string()),
        serde_json::json!({
            "issuer": input.issuer, "client_id": input.client_id,
            "client_secret_changed": input.client_secret.is_some(),
            "allowed_domains": domains, "default_role": role, "groups_claim": claim,
            "sso_only": input.sso_only, "enabled": input.enabled,
        }),
    )
    .await?;
    get(conn, actor).await
}

/// Whether `user` may enter `tenant` with a password: not when the tenant's sign-on is enabled
/// and SSO-only and the member is not an OWNER (403 `sso_required`). Runs outside tenant
/// transactions (sign-in, tenant switching).
pub(crate) async fn password_allowed(
    conn: &mut AsyncPgConnection,
    user: UserId,
    tenant: TenantId,
) -> Result<(), TenancyError> {
    let role: Option<String> = sso_settings::table
        .inner_join(
            memberships::table.on(memberships::tenant_id
                .eq(sso_settings::tenant_id)
                .and(memberships::user_id.eq(user.into_uuid()))),
        )
        .filter(sso_settings::tenant_id.eq(tenant.into_uuid()))
        .filter(sso_settings::enabled)
        .filter(sso_settings::sso_only)
        .select(memberships::role)
        .first(conn)
        .await
        .optional()?;
    match role.as_deref() {
        Some(role) if role != TenantRole::Owner.as_str() => Err(TenancyError::SsoRequired),
        _ => Ok(()),
    }
}

/// The provider a tenant signs in with, found by the tenant's slug (outside any tenant).
#[derive(Debug, Clone)]
pub struct Provider {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The issuer.
    pub issuer: String,
    /// Guild's client id there.
    pub client_id: String,
}

/// The enabled provider of the live tenant `slug`; 404 `sso_not_configured` otherwise (an
/// unknown tenant answers the same).
pub async fn provider_for_slug(
    conn: &mut AsyncPgConnection,
    slug: &str,
) -> Result<Provider, SsoError> {
    let row: Option<(Uuid, String, String)> = sso_settings::table
        .inner_join(tenants::table.on(tenants::id.eq(sso_settings::tenant_id)))
        .filter(tenants::slug.eq(slug))
        .filter(tenants::archived_at.is_null())
        .filter(sso_settings::enabled)
        .select((
            sso_settings::tenant_id,
            sso_settings::issuer,
            sso_settings::client_id,
        ))
        .first(conn)
        .await
        .optional()?;
    let (tenant, issuer, client_id) = row.ok_or(SsoError::NotConfigured)?;
    Ok(Provider {
        tenant_id: TenantId(tenant),
        issuer,
        client_id,
    })
}

fn random_b64(bytes: usize) -> Result<String, SsoError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| SsoError::Sealed(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

fn state_hash(state: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(state.as_bytes()))
}

/// A sign-in just started: what goes into the authorization request.
#[derive(Clone)]
pub struct Begun {
    /// `<tenant>.<random>`: the callback finds the tenant from it.
    pub state: String,
    /// Bound into the ID token by the provider.
    pub nonce: String,
    /// The PKCE S256 challenge of the stored verifier.
    pub code_challenge: String,
}

impl std::fmt::Debug for Begun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Begun").finish_non_exhaustive()
    }
}

/// Records a new sign-in of `tenant` (in its transaction) and answers its state, nonce and PKCE
/// challenge; sign-ins of the tenant that expired are deleted on the way.
pub async fn begin(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    keyring: &Keyring,
    redirect_uri: &str,
    now: DateTime<Utc>,
) -> Result<Begun, SsoError> {
    diesel::delete(sso_logins::table)
        .filter(sso_logins::tenant_id.eq(tenant.into_uuid()))
        .filter(sso_logins::expires_at.le(now))
        .execute(conn)
        .await?;
    let id = Uuid::now_v7();
    let state = format!("{}.{}", tenant.into_uuid().simple(), random_b64(32)?);
    let nonce = random_b64(32)?;
    let verifier = random_b64(32)?;
    let code_challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let sealed = keyring.seal(&login_context(tenant, id), verifier.as_bytes())?;
    diesel::insert_into(sso_logins::table)
        .values((
            sso_logins::tenant_id.eq(tenant.into_uuid()),
            sso_logins::id.eq(id),
            sso_logins::state_hash.eq(state_hash(&state)),
            sso_logins::nonce.eq(&nonce),
            sso_logins::pkce_verifier_sealed.eq(sealed),
            sso_logins::redirect_uri.eq(redirect_uri),
            sso_logins::created_at.eq(now),
            sso_logins::expires_at.eq(now + Duration::minutes(LOGIN_TTL_MINUTES)),
        ))
        .execute(conn)
        .await?;
    Ok(Begun {
        state,
        nonce,
        code_challenge,
    })
}

/// The authorization request's URL: the code flow with PKCE (S256), state and nonce, asking
/// for `openid email profile`.
pub fn authorization_url(
    endpoint: &str,
    client_id: &str,
    redirect_uri: &str,
    begun: &Begun,
) -> Result<String, SsoError> {
    let mut url = url::Url::parse(endpoint)
        .map_err(|_| SsoError::ProviderUnavailable("no authorization endpoint".to_owned()))?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", "openid email profile")
        .append_pair("state", &begun.state)
        .append_pair("nonce", &begun.nonce)
        .append_pair("code_challenge", &begun.code_challenge)
        .append_pair("code_challenge_method", "S256");
    Ok(url.into())
}

/// The tenant a callback's `state` names (checked against the stored sign-in afterwards).
pub fn tenant_of_state(state: &str) -> Result<TenantId, SsoError> {
    let (tenant, rest) = state.split_once('.').ok_or(SsoError::StateInvalid)?;
    if rest.is_empty() || state.len() > 200 {
        return Err(SsoError::StateInvalid);
    }
    Uuid::parse_str(tenant)
        .map(TenantId)
        .map_err(|_| SsoError::StateInvalid)
}

/// A started sign-in taken by its callback: what the code exchange and the verification need.
#[derive(Clone)]
pub struct Pending {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// The PKCE verifier.
    pub code_verifier: String,
    /// The redirect URI the authorization request named.
    pub redirect_uri: String,
    /// The issuer.
    pub issuer: String,
    /// Guild's credentials at the provider.
    pub client: ClientCredentials,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("tenant_id", &self.tenant_id)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// Takes the sign-in `state` names, once (in the tenant's transaction): unknown, already taken
/// or expired is 400 `sso_state_invalid`; a tenant whose sign-on was turned off meanwhile is 404.
pub async fn take(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    state: &str,
    keyring: &Keyring,
    now: DateTime<Utc>,
) -> Result<Pending, SsoError> {
    let row: Option<(Uuid, String, String, String, DateTime<Utc>)> =
        diesel::delete(sso_logins::table)
            .filter(sso_logins::tenant_id.eq(tenant.into_uuid()))
            .filter(sso_logins::state_hash.eq(state_hash(state)))
            .returning((
                sso_logins::id,
                sso_logins::nonce,
                sso_logins::pkce_verifier_sealed,
                sso_logins::redirect_uri,
                sso_logins::expires_at,
            ))
            .get_result(conn)
            .await
            .optional()?;
    let (id, nonce, sealed_verifier, redirect_uri, expires_at) =
        row.ok_or(SsoError::StateInvalid)?;
    if expires_at <= now {
        return Err(SsoError::StateInvalid);
    }
    let verifier = keyring.open(&login_context(tenant, id), &sealed_verifier)?;
    let settings: Option<(String, String, String)> = sso_settings::table
        .find(tenant.into_uuid())
        .filter(sso_settings::enabled)
        .select((
            sso_settings::issuer,
            sso_settings::client_id,
            sso_settings::client_secret_sealed,
        ))
        .first(conn)
        .await
        .optional()?;
    let (issuer, client_id, sealed_secret) = settings.ok_or(SsoError::NotConfigured)?;
    let secret = keyring.open(&secret_context(tenant), &sealed_secret)?;
    Ok(Pending {
        tenant_id: tenant,
        nonce,
        code_verifier: String::from_utf8_lossy(&verifier).into_owned(),
        redirect_uri,
        issuer,
        client: ClientCredentials {
            client_id,
            client_secret: String::from_utf8_lossy(&secret).into_owned(),
        },
    })
}

/// The asymmetric algorithms an ID token may be signed with.
const ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Verifies an ID token against the issuer's key set (`keys`, a JWK set) for `client_id` and
/// `nonce` at `now`, and answers its claims. A key id the set lacks is [`SsoError::UnknownKey`]
/// (fetch the keys again and retry once).
pub fn verify_id_token(
    keys: &Value,
    token: &str,
    issuer: &str,
    client_id: &str,
    nonce: &str,
    now: DateTime<Utc>,
) -> Result<Value, SsoError> {
    let invalid = |why: &str| SsoError::TokenInvalid(why.to_owned());
    let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("not a JWT"))?;
    if !ALGORITHMS.contains(&header.alg) {
        return Err(invalid("an algorithm other than an asymmetric signature"));
    }
    let set: jsonwebtoken::jwk::JwkSet =
        serde_json::from_value(keys.clone()).map_err(|_| invalid("the key set does not parse"))?;
    let jwk = match &header.kid {
        Some(kid) => set.find(kid).ok_or(SsoError::UnknownKey)?,
        // Without a key id, the set's one key (a provider with several names them).
        None if set.keys.len() == 1 => &set.keys[0],
        None => return Err(SsoError::UnknownKey),
    };
    let key = DecodingKey::from_jwk(jwk).map_err(|_| invalid("the key is not usable"))?;
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[client_id]);
    validation.set_required_spec_claims(&["iss", "aud", "sub", "exp"]);
    // Expiry is checked below with the caller's `now`, not the library's clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    let data = jsonwebtoken::decode::<Value>(token, &key, &validation).map_err(|e| {
        use jsonwebtoken::errors::ErrorKind;
        match e.kind() {
            ErrorKind::InvalidIssuer => invalid("another issuer"),
            ErrorKind::InvalidAudience => invalid("another audience"),
            ErrorKind::InvalidSignature => invalid("the signature does not verify"),
            ErrorKind::MissingRequiredClaim(c) => invalid(&format!("no {c} claim")),
            _ => invalid("the token does not verify"),
        }
    })?;
    let claims = data.claims;
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or_else(|| invalid("no exp"))?;
    if exp + LEEWAY_SECS <= now.timestamp() {
        return Err(invalid("expired"));
    }
    if let Some(iat) = claims.get("iat").and_then(Value::as_i64)
        && iat - LEEWAY_SECS > now.timestamp()
    {
        return Err(invalid("issued in the future"));
    }
    // OpenID Connect Core 3.1.3.7: with several audiences, `azp` names this client.
    if let Some(auds) = claims.get("aud").and_then(Value::as_array)
        && auds.len() > 1
        && claims.get("azp").and_then(Value::as_str) != Some(client_id)
    {
        return Err(invalid("another authorized party"));
    }
    if claims.get("nonce").and_then(Value::as_str) != Some(nonce) {
        return Err(invalid("another nonce"));
    }
    Ok(claims)
}

/// Who signed in: the member's account and whether they were added just now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedIn {
    /// The account.
    pub user_id: UserId,
    /// Whether the membership was created (or an invitation accepted) by this sign-in.
    pub joined: bool,
}

fn actor_for(user: UserId, tenant: TenantId, role: TenantRole) -> Actor {
    Actor {
        user_id: user,
        tenant_id: tenant,
        role,
        global_role: GlobalRole::Employee,
        grants: Vec::new(),
        subtree: Vec::new(),
        impersonating: false,
        api_key: None,
        request_id: None,
    }
}

/// The names the groups claim carries: a list of strings or one string.
fn group_names(claims: &Value, claim: &str) -> Vec<String> {
    let mut names: Vec<String> = match claims.get(claim) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    };
    names.truncate(MAX_GROUP_NAMES);
    names
}

/// Admits the verified `claims` into `tenant` (in its transaction): the email must be verified
/// by the provider and of an allowed domain; it links to the account with that email; a new
/// account is created, and a member added with the default role, just in time; an INVITED
/// member becomes ACTIVE (the provider proved the address); a deactivated or removed member is
/// refused. The groups claim adds the member to the tenant's groups of those names (groups are
/// never created, and memberships the claim does not name are left alone). Audited.
pub async fn sign_in(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    claims: &Value,
    now: DateTime<Utc>,
) -> Result<SignedIn, SsoError> {
    let row: Option<(Vec<String>, String, Option<String>)> = sso_settings::table
        .find(tenant.into_uuid())
        .filter(sso_settings::enabled)
        .select((
            sso_settings::allowed_domains,
            sso_settings::default_role,
            sso_settings::groups_claim,
        ))
        .first(conn)
        .await
        .optional()?;
    let (domains, default_role, groups_claim) = row.ok_or(SsoError::NotConfigured)?;
    let default_role: TenantRole = crate::parse_column(&default_role)?;
    let verified = match claims.get("email_verified") {
        Some(Value::Bool(b)) => *b,
        // Some providers send the boolean as a string.
        Some(Value::String(s)) => s == "true",
        _ => false,
    };
    let email = claims
        .get("email")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|e| !e.is_empty() && e.len() <= 254)
        .ok_or(SsoError::EmailUnverified)?;
    if !verified {
        return Err(SsoError::EmailUnverified);
    }
    let domain = email
        .rsplit_once('@')
        .map(|(_, d)| d.to_ascii_lowercase())
        .ok_or(SsoError::DomainNotAllowed)?;
    if !domains.contains(&domain) {
        return Err(SsoError::DomainNotAllowed);
    }
    let existing: Option<Uuid> = users::table
        .filter(crate::lower(users::email).eq(email.to_lowercase()))
        .select(users::id)
        .first(conn)
        .await
        .optional()?;
    let user = match existing {
        Some(id) => UserId(id),
        None => {
            let name = claims
                .get("name")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|n| {
                    !n.is_empty() && n.chars().count() <= 200 && !n.chars().any(char::is_control)
                })
                .unwrap_or_else(|| email.split('@').next().unwrap_or(email));
            crate::tenants::insert_user(
                conn,
                email,
                name,
                None,
                GlobalRole::Employee,
                crate::tenants::Address::Trusted,
                now,
            )
            .await?
        }
    };
    let key = (tenant.into_uuid(), user.into_uuid());
    let membership: Option<(String, String)> = memberships::table
        .find(key)
        .select((memberships::status, memberships::role))
        .for_update()
        .first(conn)
        .await
        .optional()?;
    let (role, joined) = match membership {
        Some((status, role)) => {
            let role: TenantRole = crate::parse_column(&role)?;
            match status.as_str() {
                "ACTIVE" => (role, false),
                "INVITED" => {
                    diesel::update(memberships::table.find(key))
                        .set((
                            memberships::status.eq(MembershipStatus::Active.as_str()),
                            memberships::updated_at.eq(now),
                        ))
                        .execute(conn)
                        .await?;
                    (role, true)
                }
                "REMOVED" => return Err(TenancyError::NotAMember.into()),
                _ => return Err(TenancyError::MembershipInactive.into()),
            }
        }
        None => {
            crate::tenants::insert_membership(
                conn,
                tenant,
                user,
                default_role,
                MembershipStatus::Active,
                None,
            )
            .await?;
            (default_role, true)
        }
    };
    let mut mapped = Vec::new();
    if let Some(claim) = &groups_claim {
        let names = group_names(claims, claim);
        if !names.is_empty() {
            mapped = groups::table
                .filter(groups::tenant_id.eq(tenant.into_uuid()))
                .filter(groups::name.eq_any(&names))
                .select(groups::id)
                .load::<Uuid>(conn)
                .await?;
            crate::members::add_to_groups(conn, tenant, user, &mapped).await?;
        }
    }
    let actor = actor_for(user, tenant, role);
    crate::audit::record(
        conn,
        &actor,
        if joined {
            "MEMBER_JOINED_BY_SSO"
        } else {
            "SSO_SIGNED_IN"
        },
        "member",
        Some(user.to_string()),
        serde_json::json!({
            "subject": claims.get("sub"), "email": email, "role": role, "groups": mapped,
        }),
    )
    .await?;
    Ok(SignedIn {
        user_id: user,
        joined,
    })
}

/// Re-seals every tenant's client secret not sealed under the keyring's first key (`guild
/// rekey`), 500 a transaction, outside any tenant as the connecting role; answers how many.
/// Started sign-ins are left alone: they expire within ten minutes.
pub async fn rekey(conn: &mut AsyncPgConnection, keys: &Keyring) -> Result<u64, SsoError> {
    use diesel_async::AsyncConnection;
    let current = keys.sealing_key_id().to_owned();
    let mut moved = 0_u64;
    loop {
        let batch = conn
            .transaction::<_, SsoError, _>(async |conn| {
                let rows: Vec<(Uuid, String)> = sso_settings::table
                    .filter(sso_settings::client_secret_key_id.ne(&current))
                    .order(sso_settings::tenant_id)
                    .limit(500)
                    .select((sso_settings::tenant_id, sso_settings::client_secret_sealed))
                    .for_update()
                    .load(conn)
                    .await?;
                for (tenant, sealed) in &rows {
                    let context = secret_context(TenantId(*tenant));
                    let plain = keys.open(&context, sealed)?;
                    let again = keys.seal(&context, &plain)?;
                    diesel::update(sso_settings::table.find(*tenant))
                        .set((
                            sso_settings::client_secret_sealed.eq(again),
                            sso_settings::client_secret_key_id.eq(&current),
                        ))
                        .execute(conn)
                        .await?;
                }
                Ok(rows.len())
            })
            .await?;
        moved += batch as u64;
        if batch < 500 {
            return Ok(moved);
        }
    }
}

/// The demo tenant's single sign-on, set up but off: an admin sees the settings (and the
/// redirect URI to register) and turns it on once `issuer` names a real provider.
pub async fn seed_demo(
    conn: &mut AsyncPgConnection,
    keyring: &Keyring,
    now: DateTime<Utc>,
) -> Result<(), SsoError> {
    let tenant: Option<Uuid> = tenants::table
        .filter(tenants::slug.eq("demo"))
        .select(tenants::id)
        .first(conn)
        .await
        .optional()?;
    let Some(tenant) = tenant.map(TenantId) else {
        return Ok(());
    };
    let sealed = keyring.seal(
        &secret_context(tenant),
        b"replace with the provider's client secret",
    )?;
    guild_db::tenant_transaction(conn, tenant, async |conn| {
        diesel::insert_into(sso_settings::table)
            .values((
                sso_settings::tenant_id.eq(tenant.into_uuid()),
                sso_settings::issuer.eq("https://login.demo.guild.local"),
                sso_settings::client_id.eq("guild-demo"),
                sso_settings::client_secret_sealed.eq(&sealed),
                sso_settings::client_secret_key_id.eq(keyring.sealing_key_id()),
                sso_settings::allowed_domains.eq(vec!["demo.guild.local".to_owned()]),
                sso_settings::default_role.eq(TenantRole::Employee.as_str()),
                sso_settings::groups_claim.eq(Some("groups")),
                sso_settings::sso_only.eq(false),
                sso_settings::enabled.eq(false),
                sso_settings::created_at.eq(now),
                sso_settings::updated_at.eq(now),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        Ok::<_, SsoError>(())
    })
    .await
}

#[cfg(test)]
#[path = "sso_tests.rs"]
mod tests;
