//! Email-token flows: accepting an invitation, resetting a forgotten password, changing a password.
//!
//! Tokens are minted by the worker when it sends the email (see [`mint_invite`], [`mint_reset`]),
//! stored only as hashes, single use, and expire (invites after 7 days, resets after 1 hour).
//! Minting a new one invalidates the earlier unused ones of the same kind.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{email_tokens, memberships, refresh_tokens, tenants, users};
use guild_kernel::{DomainEvent, TenantId, UserId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::TenancyError;
use crate::secrets::{check_password_rules, hash_password, new_token, token_hash, verify_password};
use crate::sessions::{self, Session};

/// Id, user, invite tenant, expiry, use.
type TokenRow = (
    Uuid,
    Uuid,
    Option<Uuid>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

const INVITE_TTL_DAYS: i64 = 7;
const RESET_TTL_MINUTES: i64 = 60;

/// A password-reset email must go out (the worker mints the token and sends it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PasswordResetRequested {
    /// The account.
    pub user_id: Uuid,
}

impl DomainEvent for PasswordResetRequested {
    const KIND: &'static str = "tenancy.password_reset_requested";
}

/// What an email needs: the recipient and the freshly minted token.
#[derive(Debug, Clone)]
pub struct Minted {
    /// The recipient's address.
    pub email: String,
    /// Their name.
    pub name: String,
    /// The tenant's name (invitations).
    pub tenant_name: Option<String>,
    /// The single-use token, to put in the link; never stored.
    pub token: Option<String>,
}

async fn mint(
    conn: &mut AsyncPgConnection,
    kind: &str,
    user: UserId,
    tenant: Option<TenantId>,
    ttl: Duration,
) -> Result<String, TenancyError> {
    let mut stale = diesel::update(email_tokens::table)
        .filter(email_tokens::user_id.eq(user.into_uuid()))
        .filter(email_tokens::kind.eq(kind))
        .filter(email_tokens::used_at.is_null())
        .into_boxed();
    if let Some(tenant) = tenant {
        stale = stale.filter(email_tokens::invite_tenant_id.eq(tenant.into_uuid()));
    }
    stale
        .set(email_tokens::used_at.eq(Some(Utc::now())))
        .execute(conn)
        .await?;
    let token = new_token()?;
    diesel::insert_into(email_tokens::table)
        .values((
            email_tokens::id.eq(Uuid::now_v7()),
            email_tokens::kind.eq(kind),
            email_tokens::user_id.eq(user.into_uuid()),
            email_tokens::invite_tenant_id.eq(tenant.map(TenantId::into_uuid)),
            email_tokens::token_hash.eq(token_hash(&token)),
            email_tokens::expires_at.eq(Utc::now() + ttl),
        ))
        .execute(conn)
        .await?;
    Ok(token)
}

/// Mints an invitation token for a member still INVITED (none for an existing account that was
/// simply added); `None` when the membership no longer exists.
pub async fn mint_invite(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
) -> Result<Option<Minted>, TenancyError> {
    conn.transaction::<_, TenancyError, _>(async |conn| {
        let row: Option<(String, String, String, String)> = memberships::table
            .inner_join(users::table.on(users::id.eq(memberships::user_id)))
            .inner_join(tenants::table.on(tenants::id.eq(memberships::tenant_id)))
            .filter(memberships::tenant_id.eq(tenant.into_uuid()))
            .filter(memberships::user_id.eq(user.into_uuid()))
            .select((
                users::email,
                users::name,
                tenants::name,
                memberships::status,
            ))
            .first(conn)
            .await
            .optional()?;
        let Some((email, name, tenant_name, status)) = row else {
            return Ok(None);
        };
        let token = if status == "INVITED" {
            Some(
                mint(
                    conn,
                    "INVITE",
                    user,
                    Some(tenant),
                    Duration::days(INVITE_TTL_DAYS),
                )
                .await?,
            )
        } else {
            None
        };
        Ok(Some(Minted {
            email,
            name,
            tenant_name: Some(tenant_name),
            token,
        }))
    })
    .await
}

/// Mints a password-reset token.
pub async fn mint_reset(
    conn: &mut AsyncPgConnection,
    user: UserId,
) -> Result<Option<Minted>, TenancyError> {
    conn.transaction::<_, TenancyError, _>(async |conn| {
        let row: Option<(String, String)> = users::table
            .find(user.into_uuid())
            .select((users::email, users::name))
            .first(conn)
            .await
            .optional()?;
        let Some((email, name)) = row else {
            return Ok(None);
        };
        let token = mint(
            conn,
            "PASSWORD_RESET",
            user,
            None,
            Duration::minutes(RESET_TTL_MINUTES),
        )
        .await?;
        Ok(Some(Minted {
            email,
            name,
            tenant_name: None,
            token: Some(token),
        }))
    })
    .await
}

/// Consumes a token of `kind`: returns its user and invite tenant, or `InvalidToken`.
async fn consume(
    conn: &mut AsyncPgConnection,
    kind: &str,
    token: &str,
) -> Result<(UserId, Option<TenantId>), TenancyError> {
    let row: Option<TokenRow> = email_tokens::table
        .filter(email_tokens::token_hash.eq(token_hash(token)))
        .filter(email_tokens::kind.eq(kind))
        .select((
            email_tokens::id,
            email_tokens::user_id,
            email_tokens::invite_tenant_id,
            email_tokens::expires_at,
            email_tokens::used_at,
        ))
        .for_update()
        .first(conn)
        .await
        .optional()?;
    let Some((id, user, tenant, expires_at, used_at)) = row else {
        return Err(TenancyError::InvalidToken);
    };
    if used_at.is_some() || expires_at <= Utc::now() {
        return Err(TenancyError::InvalidToken);
    }
    diesel::update(email_tokens::table.find(id))
        .set(email_tokens::used_at.eq(Some(Utc::now())))
        .execute(conn)
        .await?;
    Ok((UserId(user), tenant.map(TenantId)))
}

async fn set_password(
    conn: &mut AsyncPgConnection,
    user: UserId,
    hash: String,
) -> Result<(), TenancyError> {
    diesel::update(users::table.find(user.into_uuid()))
        .set((
            users::password_hash.eq(Some(hash)),
            users::password_changed_at.eq(Some(Utc::now())),
            users::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

async fn revoke_sessions(conn: &mut AsyncPgConnection, user: UserId) -> Result<(), TenancyError> {
    diesel::update(refresh_tokens::table)
        .filter(refresh_tokens::user_id.eq(user.into_uuid()))
        .filter(refresh_tokens::revoked_at.is_null())
        .set(refresh_tokens::revoked_at.eq(Some(Utc::now())))
        .execute(conn)
        .await?;
    Ok(())
}

/// Accepts an invitation: sets the password, activates the membership, signs in there.
pub async fn accept_invite(
    conn: &mut AsyncPgConnection,
    token: &str,
    password: &str,
) -> Result<Session, TenancyError> {
    check_password_rules("password", password)?;
    let hash = hash_password(password).await?;
    let (user, tenant) = conn
        .transaction::<_, TenancyError, _>(async |conn| {
            let (user, tenant) = consume(conn, "INVITE", token).await?;
            let tenant = tenant.ok_or(TenancyError::InvalidToken)?;
            set_password(conn, user, hash).await?;
            diesel::update(memberships::table.find((tenant.into_uuid(), user.into_uuid())))
                .filter(memberships::status.eq("INVITED"))
                .set((
                    memberships::status.eq("ACTIVE"),
                    memberships::updated_at.eq(Utc::now()),
                ))
                .execute(conn)
                .await?;
            crate::audit::record_for_user(conn, user, "INVITE_ACCEPTED").await?;
            Ok((user, tenant))
        })
        .await?;
    let email: String = users::table
        .find(user.into_uuid())
        .select(users::email)
        .first(conn)
        .await?;
    sessions::login(conn, &email, password, Some(tenant)).await
}

/// Asks for a reset email. Always succeeds, whether or not the account exists, so the answer
/// does not tell who has an account.
pub async fn request_password_reset(
    conn: &mut AsyncPgConnection,
    email: &str,
) -> Result<(), TenancyError> {
    let user: Option<Uuid> = users::table
        .filter(crate::lower(users::email).eq(email.trim().to_lowercase()))
        .select(users::id)
        .first(conn)
        .await
        .optional()?;
    if let Some(user_id) = user {
        guild_db::outbox::publish(conn, None, &PasswordResetRequested { user_id }).await?;
    }
    Ok(())
}

/// Sets a new password with a reset token; every session of the account ends.
pub async fn reset_password(
    conn: &mut AsyncPgConnection,
    token: &str,
    password: &str,
) -> Result<(), TenancyError> {
    check_password_rules("password", password)?;
    let hash = hash_password(password).await?;
    conn.transaction::<_, TenancyError, _>(async |conn| {
        let (user, _) = consume(conn, "PASSWORD_RESET", token).await?;
        set_password(conn, user, hash).await?;
        crate::audit::record_for_user(conn, user, "PASSWORD_RESET").await?;
        revoke_sessions(conn, user).await
    })
    .await
}

/// Changes the password of a signed-in user who knows the current one; every session ends.
pub async fn change_password(
    conn: &mut AsyncPgConnection,
    user: UserId,
    current: &str,
    new: &str,
) -> Result<(), TenancyError> {
    check_password_rules("new_password", new)?;
    let stored: Option<String> = users::table
        .find(user.into_uuid())
        .select(users::password_hash)
        .first(conn)
        .await?;
    if !verify_password(current, stored.as_deref()).await {
        return Err(TenancyError::invalid(
            "current_password",
            "wrong_password",
            "the current password is wrong",
        ));
    }
    let hash = hash_password(new).await?;
    conn.transaction::<_, TenancyError, _>(async |conn| {
        set_password(conn, user, hash).await?;
        crate::audit::record_for_user(conn, user, "PASSWORD_CHANGED").await?;
        revoke_sessions(conn, user).await
    })
    .await
}
