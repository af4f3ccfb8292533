//! Sign-in sessions: password login, sessions started by single sign-on, refresh-token rotation
//! with reuse detection, logout.
//!
//! A tenant whose members sign in through its identity provider only (`sso_only`) is not entered
//! with a password, nor switched into with a refresh token, by a member other than its OWNERs
//! (403 `sso_required`); a session single sign-on started stays in its tenant through refreshes.
//!
//! A refresh token is single-use: each refresh marks it used and issues the next one in the same
//! *family*. Presenting a used token means it was stolen or replayed, so the whole family is
//! revoked and every holder must sign in again. Access tokens (short-lived JWTs) are minted by
//! the api layer from the [`Session`] returned here.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{memberships, refresh_tokens, tenants, users};
use guild_kernel::{GlobalRole, TenantId, UserId};
use uuid::Uuid;

use crate::TenancyError;
use crate::secrets::{new_token, token_hash, verify_password};

/// How long a refresh token lives.
pub const REFRESH_TTL_DAYS: i64 = 30;

/// A signed-in session: who, in which tenant, and the refresh token to continue it.
#[derive(Debug, Clone)]
pub struct Session {
    /// The user.
    pub user_id: UserId,
    /// The active tenant, if the user has any usable membership.
    pub tenant_id: Option<TenantId>,
    /// The refresh token, shown once.
    pub refresh_token: String,
    /// When it expires.
    pub refresh_expires_at: DateTime<Utc>,
    /// The account's session generation: access tokens minted for this session carry it, and
    /// a password change, reset or invitation acceptance moves the account past it.
    pub generation: i32,
}

/// The account's current session generation (see [`Session::generation`]).
pub async fn generation(conn: &mut AsyncPgConnection, user: UserId) -> Result<i32, TenancyError> {
    users::table
        .find(user.into_uuid())
        .select(users::session_generation)
        .first(conn)
        .await
        .optional()?
        .ok_or(TenancyError::InvalidToken)
}

/// Checks that `user` may act in `tenant` now: an active membership of a live tenant, or the
/// platform owner.
pub async fn check_tenant_access(
    conn: &mut AsyncPgConnection,
    user: UserId,
    tenant: TenantId,
) -> Result<(), TenancyError> {
    let row: Option<(Option<DateTime<Utc>>, Option<String>, String)> = tenants::table
        .inner_join(users::table.on(users::id.eq(user.into_uuid())))
        .left_join(
            memberships::table.on(memberships::tenant_id
                .eq(tenants::id)
                .and(memberships::user_id.eq(users::id))),
        )
        .filter(tenants::id.eq(tenant.into_uuid()))
        .select((
            tenants::archived_at,
            memberships::status.nullable(),
            users::global_role,
        ))
        .first(conn)
        .await
        .optional()?;
    let Some((archived_at, status, global_role)) = row else {
        return Err(TenancyError::NotAMember);
    };
    if archived_at.is_some() {
        return Err(TenancyError::TenantArchived);
    }
    match status.as_deref() {
        Some("ACTIVE") => Ok(()),
        Some("REMOVED") => Err(TenancyError::NotAMember),
        Some(_) => Err(TenancyError::MembershipInactive),
        None if global_role == GlobalRole::Owner.as_str() => Ok(()),
        None => Err(TenancyError::NotAMember),
    }
}

async fn issue(
    conn: &mut AsyncPgConnection,
    user: UserId,
    tenant: Option<TenantId>,
    family: Uuid,
    now: DateTime<Utc>,
) -> Result<Session, TenancyError> {
    let generation = generation(conn, user).await?;
    let token = new_token()?;
    let expires_at = now + Duration::days(REFRESH_TTL_DAYS);
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(Uuid::now_v7()),
            refresh_tokens::family_id.eq(family),
            refresh_tokens::user_id.eq(user.into_uuid()),
            refresh_tokens::active_tenant_id.eq(tenant.map(TenantId::into_uuid)),
            refresh_tokens::token_hash.eq(token_hash(&token)),
            refresh_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await?;
    Ok(Session {
        user_id: user,
        tenant_id: tenant,
        refresh_token: token,
        refresh_expires_at: expires_at,
        generation,
    })
}

/// Signs in with email and password, optionally straight into `tenant`.
pub async fn login(
    conn: &mut AsyncPgConnection,
    email: &str,
    password: &str,
    tenant: Option<TenantId>,
    now: DateTime<Utc>,
) -> Result<Session, TenancyError> {
    let user: Option<(Uuid, Option<String>)> = users::table
        .filter(crate::lower(users::email).eq(email.trim().to_lowercase()))
        .select((users::id, users::password_hash))
        .first(conn)
        .await
        .optional()?;
    let hash = user.as_ref().and_then(|(_, h)| h.as_deref());
    // Always verify, so a missing account takes as long as a wrong password.
    if !verify_password(password, hash).await {
        return Err(TenancyError::InvalidCredentials);
    }
    let Some((user_id, _)) = user else {
        return Err(TenancyError::InvalidCredentials);
    };
    let user = UserId(user_id);
    let tenant = match tenant {
        Some(requested) => {
            check_tenant_access(conn, user, requested).await?;
            crate::sso::password_allowed(conn, user, requested).await?;
            Some(requested)
        }
        None => pick_password_tenant(conn, user).await?,
    };
    issue(conn, user, tenant, Uuid::now_v7(), now).await
}

/// The oldest usable membership a password may enter: tenants whose members sign in through
/// single sign-on only are skipped (unless the member is their OWNER); when those are all the
/// account has, 403 `sso_required`.
async fn pick_password_tenant(
    conn: &mut AsyncPgConnection,
    user: UserId,
) -> Result<Option<TenantId>, TenancyError> {
    let usable: Vec<Uuid> = memberships::table
        .inner_join(tenants::table.on(tenants::id.eq(memberships::tenant_id)))
        .filter(memberships::user_id.eq(user.into_uuid()))
        .filter(memberships::status.eq("ACTIVE"))
        .filter(tenants::archived_at.is_null())
        .order(memberships::created_at.asc())
        .select(memberships::tenant_id)
        .load(conn)
        .await?;
    for tenant in &usable {
        match crate::sso::password_allowed(conn, user, TenantId(*tenant)).await {
            Ok(()) => return Ok(Some(TenantId(*tenant))),
            Err(TenancyError::SsoRequired) => {}
            Err(e) => return Err(e),
        }
    }
    if usable.is_empty() {
        Ok(None)
    } else {
        Err(TenancyError::SsoRequired)
    }
}

/// Starts a session of `user` in `tenant` after a single sign-on (the membership was checked
/// by [`crate::sso::sign_in`] in the tenant's transaction): a new refresh-token family.
pub async fn start_after_sso(
    conn: &mut AsyncPgConnection,
    user: UserId,
    tenant: TenantId,
    now: DateTime<Utc>,
) -> Result<Session, TenancyError> {
    check_tenant_access(conn, user, tenant).await?;
    issue(conn, user, Some(tenant), Uuid::now_v7(), now).await
}

enum Rotation {
    Rotated(Session),
    Reused,
}

/// Exchanges a refresh token for the next one, optionally switching the active tenant.
///
/// A token that was already used revokes its whole family and fails with `RefreshReused`.
pub async fn refresh(
    conn: &mut AsyncPgConnection,
    token: &str,
    switch_to: Option<TenantId>,
    now: DateTime<Utc>,
) -> Result<Session, TenancyError> {
    let hash = token_hash(token);
    let outcome = conn
        .transaction::<_, TenancyError, _>(async |conn| {
            type Row = (
                Uuid,
                Uuid,
                Uuid,
                Option<Uuid>,
                DateTime<Utc>,
                Option<DateTime<Utc>>,
                Option<DateTime<Utc>>,
            );
            let row: Option<Row> = refresh_tokens::table
                .filter(refresh_tokens::token_hash.eq(&hash))
                .select((
                    refresh_tokens::id,
                    refresh_tokens::family_id,
                    refresh_tokens::user_id,
                    refresh_tokens::active_tenant_id,
                    refresh_tokens::expires_at,
                    refresh_tokens::used_at,
                    refresh_tokens::revoked_at,
                ))
                .for_update()
                .first(conn)
                .await
                .optional()?;
            let Some((id, family, user, active, expires_at, used_at, revoked_at)) = row else {
                return Err(TenancyError::InvalidToken);
            };
            if used_at.is_some() {
                diesel::update(refresh_tokens::table)
                    .filter(refresh_tokens::family_id.eq(family))
                    .filter(refresh_tokens::revoked_at.is_null())
                    .set(refresh_tokens::revoked_at.eq(now))
                    .execute(conn)
                    .await?;
                return Ok(Rotation::Reused);
            }
            if revoked_at.is_some() || expires_at <= now {
                return Err(TenancyError::InvalidToken);
            }
            diesel::update(refresh_tokens::table.find(id))
                .set(refresh_tokens::used_at.eq(now))
                .execute(conn)
                .await?;
            let user = UserId(user);
            let tenant = match switch_to {
                // Staying in the session's tenant is no switch.
                Some(tenant) if Some(tenant.into_uuid()) == active => {
                    check_tenant_access(conn, user, tenant).await?;
                    Some(tenant)
                }
                // Entering another tenant with a refresh token is like signing in with the
                // password: a tenant that takes single sign-on only refuses it.
                Some(tenant) => {
                    check_tenant_access(conn, user, tenant).await?;
                    crate::sso::password_allowed(conn, user, tenant).await?;
                    Some(tenant)
                }
                // A session whose tenant became unusable falls back to another membership.
                None => match active.map(TenantId) {
                    Some(t) if check_tenant_access(conn, user, t).await.is_ok() => Some(t),
                    _ => match pick_password_tenant(conn, user).await {
                        Err(TenancyError::SsoRequired) => None,
                        other => other?,
                    },
                },
            };
            Ok(Rotation::Rotated(
                issue(conn, user, tenant, family, now).await?,
            ))
        })
        .await?;
    match outcome {
        Rotation::Rotated(session) => Ok(session),
        Rotation::Reused => {
            tracing::warn!("refresh token reused; its family is revoked");
            Err(TenancyError::RefreshReused)
        }
    }
}

/// Ends the session the refresh token belongs to (its whole family). Unknown tokens are ignored.
pub async fn logout(
    conn: &mut AsyncPgConnection,
    token: &str,
    now: DateTime<Utc>,
) -> Result<(), TenancyError> {
    let family: Option<Uuid> = refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_hash(token)))
        .select(refresh_tokens::family_id)
        .first(conn)
        .await
        .optional()?;
    if let Some(family) = family {
        diesel::update(refresh_tokens::table)
            .filter(refresh_tokens::family_id.eq(family))
            .filter(refresh_tokens::revoked_at.is_null())
            .set(refresh_tokens::revoked_at.eq(now))
            .execute(conn)
            .await?;
    }
    Ok(())
}
