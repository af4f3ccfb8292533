//! Authentication: access tokens (HS256 JWTs) and the [`Auth`] extractor.
//!
//! An access token names the user (`sub`) and the active tenant (`tid`), is signed with
//! `GUILD_JWT_SECRET`, and lives 15 minutes. Verification pins the algorithm and requires `iss`,
//! `aud`, `exp` and `sub`. Every authenticated request then re-validates the membership through
//! [`guild_tenancy::actor::load_actor`], cached at most `GUILD_ACTOR_CACHE_SECS` (≤ 30 s), so a
//! removed member or an archived tenant loses access within that window.
//!
//! A token also carries the account's session generation (`gen`). A password change, reset or
//! invitation acceptance bumps the account's generation; a token of an earlier generation is
//! refused (401 `session_ended`) as soon as the instance that serves it reads the account again:
//! at once on the instance that made the change (it forgets the account's cached actors), within
//! the cache TTL on the others. Tenant-less routes ([`CurrentUser`]) read the generation on every
//! request.
//!
//! An API key acts as its creator limited to its permissions. Two extractors decide where a key
//! without `act_as_member` may go: [`Auth`] refuses it (403 `api_key_not_permitted`), since a
//! route taking `Auth` may reach what a member does for themselves, which no permission limits;
//! [`Authorized`] admits it, on routes whose domain function decides access by permissions alone
//! (`guild_kernel::authorize` then limits the key to its list). A route is `Auth` unless that
//! holds: a new route is closed to such keys until someone checks it.

use std::collections::HashMap;
use std::future::{Ready, ready};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};
use futures_util::future::{Either, LocalBoxFuture};
use guild_kernel::{Actor, TenantId, UserId};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ApiError;
use crate::middleware::RequestId;
use crate::state::AppState;

/// The audience every access token is minted for.
pub const AUDIENCE: &str = "guild-api";

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user.
    pub sub: Uuid,
    /// The active tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<Uuid>,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Issued at (seconds since the epoch).
    pub iat: u64,
    /// Expires at (seconds since the epoch).
    pub exp: u64,
    /// The account's session generation when the token was minted; a password change, reset or
    /// invitation acceptance moves the account on and the token stops working.
    #[serde(default, rename = "gen")]
    pub generation: i32,
}

/// Signs and verifies access tokens.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    /// How long an access token lives.
    pub ttl: Duration,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("issuer", &self.issuer)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl TokenKeys {
    /// Keys from a shared secret (at least 32 bytes).
    pub fn new(secret: &[u8], issuer: &str, ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: issuer.to_owned(),
            ttl,
        }
    }

    /// Mints an access token for `user` in `tenant`, in the account's session `generation`.
    pub fn issue(
        &self,
        user: UserId,
        tenant: Option<TenantId>,
        generation: i32,
    ) -> Result<String, ApiError> {
        let now = chrono::Utc::now().timestamp().max(0) as u64;
        let claims = Claims {
            sub: user.into_uuid(),
            tid: tenant.map(TenantId::into_uuid),
            iss: self.issuer.clone(),
            aud: AUDIENCE.to_owned(),
            iat: now,
            exp: now + self.ttl.as_secs(),
            generation,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(ApiError::internal)
    }

    /// Verifies a token's signature, algorithm, issuer, audience and expiry.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| {
                let detail = match e.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                        "the access token has expired"
                    }
                    _ => "the access token is invalid",
                };
                unauthenticated("invalid_token", detail)
            })
    }
}

/// A 401 with `WWW-Authenticate: Bearer`.
pub fn unauthenticated(code: &'static str, detail: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, code)
        .detail(detail)
        .header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
}

/// Actors loaded recently, so most requests skip the membership query.
///
/// Each entry lives between half the TTL and the TTL, at random: entries loaded together (every
/// member's first request after a start) would otherwise expire together, and every member's next
/// request would load them again at once, a burst that stalled the server for seconds every TTL.
#[derive(Debug)]
pub struct ActorCache {
    ttl: Duration,
    entries: Mutex<HashMap<(UserId, TenantId), Entry>>,
}

/// A cached actor: when it expires, the actor, and the account's session generation.
type Entry = (Instant, Actor, i32);

impl ActorCache {
    /// Room for every member of many large tenants (an entry is a few hundred bytes): when the
    /// cache fills, expired entries go, and all of them only if that is not enough. At 10,000
    /// it was full with one 10,000-member tenant and emptied itself every few seconds.
    const MAX_ENTRIES: usize = 100_000;

    /// A cache whose entries live `ttl` (capped at 30 s; zero disables it).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl: ttl.min(Duration::from_secs(30)),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Forgets the cached actors of one tenant (after a change to its roles, memberships or
    /// grants; other instances catch up within the TTL). Other tenants' members stay cached.
    pub fn clear_tenant(&self, tenant: TenantId) {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|(_, t), _| *t != tenant);
    }

    /// Forgets every cached actor of one account, in every tenant (after its password or
    /// sessions change).
    pub fn forget_user(&self, user: UserId) {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|(u, _), _| *u != user);
    }

    /// How many actors are cached (for tests).
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn get(&self, key: (UserId, TenantId)) -> Option<(Actor, i32)> {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        entries
            .get(&key)
            .filter(|(expires, _, _)| now < *expires)
            .map(|(_, actor, generation)| (actor.clone(), *generation))
    }

    /// How long a new entry lives: uniformly between half the TTL and the TTL.
    fn lifetime(&self) -> Duration {
        self.ttl.mul_f64(0.5 + fastrand::f64() / 2.0)
    }

    fn put(&self, key: (UserId, TenantId), actor: Actor, generation: i32) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        if entries.len() >= Self::MAX_ENTRIES {
            entries.retain(|_, (expires, _, _)| now < *expires);
            if entries.len() >= Self::MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (now + self.lifetime(), actor, generation));
    }
}

fn bearer(req: &HttpRequest) -> Result<&str, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| unauthenticated("unauthenticated", "send an Authorization: Bearer token"))?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(unauthenticated(
            "unauthenticated",
            "send an Authorization: Bearer token",
        ));
    }
    Ok(token.trim())
}

pub(crate) fn request_id_of(req: &HttpRequest) -> Option<String> {
    req.extensions().get::<RequestId>().map(|r| r.0.clone())
}

/// The signed-in user, with or without an active tenant: an access token, never an API key (403
/// `api_key_not_permitted`).
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// The user.
    pub user_id: UserId,
    /// The token's active tenant.
    pub tenant_id: Option<TenantId>,
    /// The request id.
    pub request_id: Option<String>,
}

impl FromRequest for CurrentUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    /// Verifies the token, then checks its session generation against the account's (one
    /// primary-key read): a token minted before a password change or reset is refused.
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let verified = (|| {
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| ApiError::internal("no app state"))?;
            let token = bearer(req)?;
            // An API key belongs to a tenant and acts within its permissions: what needs the
            // person themselves (their account, the platform owner's writes) is not for it.
            if token.starts_with(guild_tenancy::api_keys::KEY_PREFIX) {
                return Err(
                    ApiError::new(StatusCode::FORBIDDEN, "api_key_not_permitted")
                        .detail("this operation is for a signed-in person; API keys cannot use it"),
                );
            }
            let claims = state.tokens.verify(token)?;
            Ok::<_, ApiError>((state.clone(), claims))
        })();
        let request_id = request_id_of(req);
        Box::pin(async move {
            let (state, claims) = verified?;
            let user_id = UserId(claims.sub);
            let mut conn = guild_db::connect(&state.db).await?;
            let generation = guild_tenancy::sessions::generation(&mut conn, user_id)
                .await
                .map_err(|e| match e {
                    guild_tenancy::TenancyError::InvalidToken => {
                        unauthenticated("invalid_token", "the access token is invalid")
                    }
                    other => ApiError::from(other),
                })?;
            if claims.generation < generation {
                return Err(signed_out());
            }
            Ok(Self {
                user_id,
                tenant_id: claims.tid.map(TenantId),
                request_id,
            })
        })
    }
}

/// A 401 for an access token minted before the account's sessions were ended.
fn signed_out() -> ApiError {
    unauthenticated(
        "session_ended",
        "this session ended when the account's password changed; sign in again",
    )
}

/// The authenticated actor of a tenant-scoped request.
#[derive(Debug, Clone)]
pub struct Auth(pub Actor);

impl FromRequest for Auth {
    type Error = ApiError;
    type Future =
        Either<Ready<Result<Self, ApiError>>, LocalBoxFuture<'static, Result<Self, ApiError>>>;

    /// An access token whose actor is cached is checked without leaving the call (no future to
    /// allocate, no await); an API key, an actor to load, or a platform owner's request to record
    /// goes through the database.
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(state) = req.app_data::<web::Data<AppState>>() else {
            return Either::Left(ready(Err(ApiError::internal("no app state"))));
        };
        let token = match bearer(req) {
            Ok(token) => token,
            Err(e) => return Either::Left(ready(Err(e))),
        };
        if token.starts_with(guild_tenancy::api_keys::KEY_PREFIX) {
            let (state, token, req) = (state.clone(), token.to_owned(), req.clone());
            return Either::Right(Box::pin(async move {
                let actor = api_key_actor(&state, &token).await?;
                // Counted against the key's rate limit even when refused.
                let auth = finish(&state, &req, actor).await?;
                if !auth.0.acts_as_member() {
                    return Err(ApiError::new(StatusCode::FORBIDDEN, "api_key_not_permitted")
                        .detail("this API key may only use its permissions; a key created with act_as_member may act as a member"));
                }
                Ok(auth)
            }));
        }
        let (key, generation) = match session(&state.tokens, token) {
            Ok(session) => session,
            Err(e) => return Either::Left(ready(Err(e))),
        };
        let cached = state.actors.get(key);
        match cached {
            Some((_, current)) if generation < current => Either::Left(ready(Err(signed_out()))),
            Some((mut actor, current)) if !actor.impersonating && generation == current => {
                match crate::client::limit_actor_now(state, req, &actor) {
                    Some(Err(e)) => Either::Left(ready(Err(e))),
                    Some(Ok(())) => {
                        actor.request_id = request_id_of(req);
                        Either::Left(ready(Ok(Self(actor))))
                    }
                    None => {
                        let (state, req) = (state.clone(), req.clone());
                        Either::Right(Box::pin(async move { finish(&state, &req, actor).await }))
                    }
                }
            }
            cached => {
                let (state, req) = (state.clone(), req.clone());
                Either::Right(Box::pin(async move {
                    let actor = match cached {
                        // A token newer than the cached actor: the account moved on since it
                        // was cached (this instance missed it), so read it again.
                        Some((actor, current)) if generation == current => actor,
                        _ => {
                            let mut conn = guild_db::connect(&state.db).await?;
                            let (actor, current) =
                                guild_tenancy::actor::load_session_actor(&mut conn, key.0, key.1)
                                    .await?;
                            state.actors.put(key, actor.clone(), current);
                            if generation < current {
                                return Err(signed_out());
                            }
                            actor
                        }
                    };
                    finish(&state, &req, actor).await
                }))
            }
        }
    }
}

/// The authenticated actor of a request whose domain function decides access by permissions
/// alone (every path through it calls `guild_kernel::authorize`, none admits by a personal
/// relation such as "it is mine" or "I mentor it"). Unlike [`Auth`], it admits every API key:
/// `authorize` limits the key to its permissions.
#[derive(Debug, Clone)]
pub struct Authorized(pub Actor);

impl FromRequest for Authorized {
    type Error = ApiError;
    type Future =
        Either<Ready<Result<Self, ApiError>>, LocalBoxFuture<'static, Result<Self, ApiError>>>;

    /// An API key is resolved here, whatever it may do; everything else is [`Auth`]'s.
    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if let Some(state) = req.app_data::<web::Data<AppState>>()
            && let Ok(token) = bearer(req)
            && token.starts_with(guild_tenancy::api_keys::KEY_PREFIX)
        {
            let (state, token, req) = (state.clone(), token.to_owned(), req.clone());
            return Either::Right(Box::pin(async move {
                let actor = api_key_actor(&state, &token).await?;
                finish(&state, &req, actor)
                    .await
                    .map(|Auth(actor)| Self(actor))
            }));
        }
        match Auth::from_request(req, payload) {
            Either::Left(done) => Either::Left(ready(done.into_inner().map(|Auth(a)| Self(a)))),
            Either::Right(pending) => {
                Either::Right(Box::pin(
                    async move { pending.await.map(|Auth(a)| Self(a)) },
                ))
            }
        }
    }
}

/// The member a stream ticket (`GET /v1/stream?ticket=…`) stands for, admitted as [`Auth`]
/// admits a person: the ticket is used up, then the membership is loaded and checked, the
/// ticket's session generation compared with the account's (a password change since minting
/// ends it, 401 `session_ended`), and the request counted and audited as any other. 401
/// `invalid_stream_ticket` for a ticket that is malformed, forged, used, expired or of another
/// tenant; such failures count against the client address's limit on emailed-token redemptions
/// (peeked first, 429 `rate_limited` past it), while tickets that work count nothing, so an
/// office behind one address reconnects freely.
pub(crate) async fn ticket_actor(
    state: &AppState,
    req: &HttpRequest,
    ticket: &str,
) -> Result<Actor, ApiError> {
    use guild_notifications::tickets;
    let key = format!(
        "token:stream-ticket:ip:{}",
        crate::client::client_key(req, state)
    );
    let rule = state.limits.token_ip;
    let peeked = state
        .limiter
        .peek(&key, rule)
        .await
        .map_err(|e| crate::client::unavailable(&e))?;
    if !peeked.allowed {
        return Err(crate::client::limited(peeked));
    }
    let invalid = async || {
        let _ = state.limiter.hit(&key, rule).await;
        unauthenticated(
            "invalid_stream_ticket",
            "the stream ticket is invalid, expired or already used; get a new one with POST /v1/stream/tickets",
        )
    };
    let Some((tenant, hash)) = tickets::parse(ticket) else {
        return Err(invalid().await);
    };
    let now = state.clock.now();
    let mut conn = guild_db::connect(&state.db).await?;
    let redeemed = guild_db::tenant_transaction(&mut conn, tenant, async |c| {
        tickets::redeem(c, tenant, &hash, now).await
    })
    .await?;
    let Some(redeemed) = redeemed else {
        return Err(invalid().await);
    };
    let (actor, current) =
        guild_tenancy::actor::load_session_actor(&mut conn, redeemed.user, tenant).await?;
    drop(conn);
    if redeemed.session_generation < current {
        return Err(signed_out());
    }
    finish(state, req, actor).await.map(|Auth(actor)| actor)
}

/// The actor of a SCIM request (`/scim/v2`): only an API key holding PROVISION_SCIM (which it
/// holds alone, see `guild_tenancy::api_keys`) is accepted; a person's access token or any other
/// key is 401 or 403. The request counts against the key's rate limits as any other, and the key
/// then acts as its creator limited to MANAGE_USERS and MANAGE_GROUPS: what provisioning needs,
/// and only while its creator still holds them (`authorize` checks the creator's own role and
/// grants as well).
pub(crate) async fn scim_actor(state: &AppState, req: &HttpRequest) -> Result<Actor, ApiError> {
    use guild_kernel::Permission;
    let token = bearer(req)?;
    if !token.starts_with(guild_tenancy::api_keys::KEY_PREFIX) {
        return Err(unauthenticated(
            "invalid_token",
            "SCIM takes an API key holding PROVISION_SCIM",
        ));
    }
    let actor = api_key_actor(state, token).await?;
    let Auth(mut actor) = finish(state, req, actor).await?;
    let Some(key) = actor.api_key.as_mut() else {
        return Err(ApiError::internal("an API key actor without its key"));
    };
    if !key.permissions.contains(&Permission::ProvisionScim) {
        return Err(
            ApiError::new(StatusCode::FORBIDDEN, "api_key_not_permitted")
                .detail("SCIM takes an API key holding PROVISION_SCIM"),
        );
    }
    key.permissions = [Permission::ManageUsers, Permission::ManageGroups]
        .into_iter()
        .collect();
    key.act_as_member = false;
    Ok(actor)
}

/// The actor a presented API key acts as; 401 when it is unknown or revoked.
async fn api_key_actor(state: &AppState, token: &str) -> Result<Actor, ApiError> {
    let mut conn = guild_db::connect(&state.db).await?;
    guild_tenancy::api_keys::authenticate(&mut conn, token, state.clock.now())
        .await
        .map_err(|e| match e {
            guild_tenancy::TenancyError::InvalidToken => {
                unauthenticated("invalid_token", "the API key is invalid or revoked")
            }
            other => ApiError::from(other),
        })
}

/// The user and active tenant of a verified access token, and its session generation; 403 when
/// it has no active tenant.
fn session(tokens: &TokenKeys, token: &str) -> Result<((UserId, TenantId), i32), ApiError> {
    let claims = tokens.verify(token)?;
    let tenant = claims.tid.map(TenantId).ok_or_else(|| {
        ApiError::new(StatusCode::FORBIDDEN, "no_active_tenant")
            .detail("this session has no active tenant; switch to one with POST /v1/auth/refresh")
    })?;
    Ok(((UserId(claims.sub), tenant), claims.generation))
}

/// Counts the request against the tenant's (and API key's) rate limits, stamps the request id on
/// the actor and, when a platform owner acts in a tenant they do not belong to, records the
/// request (reads included) in the tenant's audit log.
async fn finish(state: &AppState, req: &HttpRequest, mut actor: Actor) -> Result<Auth, ApiError> {
    crate::client::limit_actor(state, req, &actor).await?;
    actor.request_id = request_id_of(req);
    if actor.impersonating {
        tracing::info!(user = %actor.user_id, tenant = %actor.tenant_id, "platform owner acting in a tenant");
        let mut conn = guild_db::connect(&state.db).await?;
        let entry = serde_json::json!({ "method": req.method().as_str(), "path": req.path() });
        guild_db::tenant_transaction(&mut conn, actor.tenant_id, async |conn| {
            guild_tenancy::audit::record(
                conn,
                &actor,
                "IMPERSONATED_REQUEST",
                "request",
                None,
                entry,
            )
            .await
        })
        .await?;
    }
    Ok(Auth(actor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_actors_expire_at_spread_times_within_the_ttl() {
        let ttl = Duration::from_secs(30);
        let cache = ActorCache::new(ttl);
        let lifetimes: Vec<Duration> = (0..1000).map(|_| cache.lifetime()).collect();
        assert!(lifetimes.iter().all(|l| *l >= ttl / 2 && *l <= ttl));
        // Spread over the whole range, not bunched: entries loaded together expire apart.
        let early = lifetimes.iter().filter(|l| **l < ttl * 3 / 4).count();
        assert!(
            (300..=700).contains(&early),
            "{early} of 1000 in the first half"
        );
        // The cap still applies.
        assert!(ActorCache::new(Duration::from_secs(600)).lifetime() <= Duration::from_secs(30));
    }
}
