//! Email-token flows: verifying an address, accepting an invitation, resetting a forgotten
//! password, changing a password.
//!
//! Tokens are minted by the worker when it sends the email (see [`mint_invite`], [`mint_reset`],
//! [`mint_verification`]), stored only as hashes, single use, and expire (invites after 7 days,
//! verifications after 2 days, resets after 1 hour). Minting a new one invalidates the earlier
//! unused ones of the same kind.
//!
//! An emailed token proves control of the address, so whoever holds one owns the account: accepting
//! an invitation or a reset sets the password, marks the address verified and ends every other
//! session (refresh tokens revoked, the session generation bumped so older access tokens fail).
//! Once an account has a password and a verified address, no invitation token is minted for it
//! (it accepts in the app), and setting a password or verifying kills every unused invitation
//! token, so a leaked invitation link cannot take an account over later.
//!
//! Token checks run before argon2: an unknown, used or expired token is refused without hashing.

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
const VERIFY_TTL_HOURS: i64 = 48;

/// A verification email must go out to a new account (the worker mints the token and sends it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerificationRequested {
    /// The account.
    pub user_id: Uuid,
}

impl DomainEvent for VerificationRequested {
    const KIND: &'static str = "tenancy.verification_requested";
}

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
    now: DateTime<Utc>,
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
        .set(email_tokens::used_at.eq(Some(now)))
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
            email_tokens::expires_at.eq(now + ttl),
        ))
        .execute(conn)
        .await?;
    Ok(token)
}

/// What the invitation email says for a member still INVITED: a token when the account has no
/// password or an unverified address, none for an established account (it accepts in the app);
/// `None` when the membership no longer exists or was already accepted.
pub async fn mint_invite(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<Option<Minted>, TenancyError> {
    conn.transaction::<_, TenancyError, _>(async |conn| {
        type Row = (String, String, Option<String>, String, String, bool);
        let row: Option<Row> = memberships::table
            .inner_join(users::table.on(users::id.eq(memberships::user_id)))
            .inner_join(tenants::table.on(tenants::id.eq(memberships::tenant_id)))
            .filter(memberships::tenant_id.eq(tenant.into_uuid()))
            .filter(memberships::user_id.eq(user.into_uuid()))
            .select((
                users::email,
                users::name,
                memberships::invited_name,
                tenants::name,
                memberships::status,
                users::password_hash
                    .is_not_null()
                    .and(users::email_verified_at.is_not_null()),
            ))
            .first(conn)
            .await
            .optional()?;
        let Some((email, name, invited_name, tenant_name, status, established)) = row else {
            return Ok(None);
        };
        if status != "INVITED" {
            return Ok(None);
        }
        // The greeting uses the name the inviter typed: an existing account's own name is not
        // the inviter's to see, nor to put in an email the inviter chose the address of.
        let name = invited_name.unwrap_or(name);
        let token = if !established {
            Some(
                mint(
                    conn,
                    "INVITE",
                    user,
                    Some(tenant),
                    Duration::days(INVITE_TTL_DAYS),
                    now,
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
    now: DateTime<Utc>,
) -> Result<Option<Minted>, TenancyError> {
    mint_for_account(
        conn,
        user,
        "PASSWORD_RESET",
        Duration::minutes(RESET_TTL_MINUTES),
        false,
        now,
    )
    .await
}

/// Mints an email-verification token; `None` when the account is gone or already verified.
pub async fn mint_verification(
    conn: &mut AsyncPgConnection,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<Option<Minted>, TenancyError> {
    mint_for_account(
        conn,
        user,
        "VERIFY_EMAIL",
        Duration::hours(VERIFY_TTL_HOURS),
        true,
        now,
    )
    .await
}

/// Mints an account token of `kind` with what its email needs; `None` when the account is gone
/// (or, with `unverified_only`, already verified).
async fn mint_for_account(
    conn: &mut AsyncPgConnection,
    user: UserId,
    kind: &str,
    ttl: Duration,
    unverified_only: bool,
    now: DateTime<Utc>,
) -> Result<Option<Minted>, TenancyError> {
    conn.transaction::<_, TenancyError, _>(async |conn| {
        let row: Option<(String, String, Option<DateTime<Utc>>)> = users::table
            .find(user.into_uuid())
            .select((users::email, users::name, users::email_verified_at))
            .first(conn)
            .await
            .optional()?;
        let Some((email, name, verified)) = row else {
            return Ok(None);
        };
        if unverified_only && verified.is_some() {
            return Ok(None);
        }
        let token = mint(conn, kind, user, None, ttl, now).await?;
        Ok(Some(Minted {
            email,
            name,
            tenant_name: None,
            token: Some(token),
        }))
    })
    .await
}

/// Asks for another verification email for a signed-in account; `EmailAlreadyVerified` when
/// there is nothing to verify.
pub async fn request_verification(
    conn: &mut AsyncPgConnection,
    user: UserId,
) -> Result<(), TenancyError> {
    let verified: Option<DateTime<Utc>> = users::table
        .find(user.into_uuid())
        .select(users::email_verified_at)
        .first(conn)
        .await?;
    if verified.is_some() {
        return Err(TenancyError::EmailAlreadyVerified);
    }
    guild_db::outbox::publish(
        conn,
        None,
        &VerificationRequested {
            user_id: user.into_uuid(),
        },
    )
    .await?;
    Ok(())
}

/// Verifies an address with the emailed token.
pub async fn verify_email(
    conn: &mut AsyncPgConnection,
    token: &str,
    now: DateTime<Utc>,
) -> Result<(), TenancyError> {
    conn.transaction::<_, TenancyError, _>(async |conn| {
        let (user, _) = consume(conn, "VERIFY_EMAIL", token, now).await?;
        mark_verified(conn, user, now).await?;
        crate::audit::record_for_user(conn, user, "EMAIL_VERIFIED").await
    })
    .await
}

/// Marks the address verified (once) and kills unused invitation tokens: a verified account
/// accepts its invitations in the app.
async fn mark_verified(
    conn: &mut AsyncPgConnection,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<(), TenancyError> {
    diesel::update(users::table.find(user.into_uuid()))
        .filter(users::email_verified_at.is_null())
        .set(users::email_verified_at.eq(Some(now)))
        .execute(conn)
        .await?;
    kill_invite_tokens(conn, user, now).await
}

async fn kill_invite_tokens(
    conn: &mut AsyncPgConnection,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<(), TenancyError> {
    diesel::update(email_tokens::table)
        .filter(email_tokens::user_id.eq(user.into_uuid()))
        .filter(email_tokens::kind.eq("INVITE"))
        .filter(email_tokens::used_at.is_null())
        .set(email_tokens::used_at.eq(Some(now)))
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether a token of `kind` is currently usable, without consuming it: lets a flow refuse a bad
/// token before it spends time hashing a password.
async fn check_usable(
    conn: &mut AsyncPgConnection,
    kind: &str,
    token: &str,
    now: DateTime<Utc>,
) -> Result<(), TenancyError> {
    let usable: Option<Uuid> = email_tokens::table
        .filter(email_tokens::token_hash.eq(token_hash(token)))
        .filter(email_tokens::kind.eq(kind))
        .filter(email_tokens::used_at.is_null())
        .filter(email_tokens::expires_at.gt(now))
        .select(email_tokens::id)
        .first(conn)
        .await
        .optional()?;
    usable.map(|_| ()).ok_or(TenancyError::InvalidToken)
}

/// Consumes a token of `kind`: returns its user and invite tenant, or `InvalidToken`.
async fn consume(
    conn: &mut AsyncPgConnection,
    kind: &str,
    token: &str,
    now: DateTime<Utc>,
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
    if used_at.is_some() || expires_at <= now {
        return Err(TenancyError::InvalidToken);
    }
    diesel::update(email_tokens::table.find(id))
        .set(email_tokens::used_at.eq(Some(now)))
        .execute(conn)
        .await?;
    Ok((UserId(user), tenant.map(TenantId)))
}

/// Sets the password, ends every session of the account (refresh tokens revoked, access tokens
/// of earlier generations refused) and kills unused invitation tokens.
async fn set_password(
    conn: &mut AsyncPgConnection,
    user: UserId,
    hash: String,
    now: DateTime<Utc>,
) -> Result<(), TenancyError> {
    diesel::update(users::table.find(user.into_uuid()))
        .set((
            users::password_hash.eq(Some(hash)),
            users::password_changed_at.eq(Some(now)),
            users::session_generation.eq(users::session_generation + 1),
            users::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    kill_invite_tokens(conn, user, now).await?;
    revoke_sessions(conn, user, now).await
}

async fn revoke_sessions(
    conn: &mut AsyncPgConnection,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<(), TenancyError> {
    diesel::update(refresh_tokens::table)
        .filter(refresh_tokens::user_id.eq(user.into_uuid()))
        .filter(refresh_tokens::revoked_at.is_null())
        .set(refresh_tokens::revoked_at.eq(Some(now)))
        .execute(conn)
        .await?;
    Ok(())
}

/// Accepts an invitation with its emailed token: sets the password, verifies the address,
/// activates the membership, ends every other session of the account and signs in there.
pub async fn accept_invite(
    conn: &mut AsyncPgConnection,
    token: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<Session, TenancyError> {
    check_password_rules("password", password)?;
    check_usable(conn, "INVITE", token, now).await?;
    let hash = hash_password(password).await?;
    let (user, tenant) = conn
        .transaction::<_, TenancyError, _>(async |conn| {
            let (user, tenant) = consume(conn, "INVITE", token, now).await?;
            let tenant = tenant.ok_or(TenancyError::InvalidToken)?;
            set_password(conn, user, hash, now).await?;
            mark_verified(conn, user, now).await?;
            let joined =
                diesel::update(memberships::table.find((tenant.into_uuid(), user.into_uuid())))
                    .filter(memberships::status.eq("INVITED"))
                    .set((
                        memberships::status.eq("ACTIVE"),
                        memberships::updated_at.eq(now),
                    ))
                    .execute(conn)
                    .await?;
            crate::audit::record_for_user(conn, user, "INVITE_ACCEPTED").await?;
            if joined == 1 {
                guild_db::tx::set_tenant(conn, tenant).await?;
                let member = crate::members::load(conn, tenant, user).await?;
                crate::events::member(conn, tenant, "JOINED", &member).await?;
            }
            Ok((user, tenant))
        })
        .await?;
    let email: String = users::table
        .find(user.into_uuid())
        .select(users::email)
        .first(conn)
        .await?;
    sessions::login(conn, &email, password, Some(tenant), now).await
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

/// Sets a new password with a reset token; every session of the account ends and the address
/// counts as verified.
pub async fn reset_password(
    conn: &mut AsyncPgConnection,
    token: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<UserId, TenancyError> {
    check_password_rules("password", password)?;
    check_usable(conn, "PASSWORD_RESET", token, now).await?;
    let hash = hash_password(password).await?;
    conn.transaction::<_, TenancyError, _>(async |conn| {
        let (user, _) = consume(conn, "PASSWORD_RESET", token, now).await?;
        set_password(conn, user, hash, now).await?;
        // The reset link reached the address: it is the owner's.
        mark_verified(conn, user, now).await?;
        crate::audit::record_for_user(conn, user, "PASSWORD_RESET").await?;
        Ok(user)
    })
    .await
}

/// Changes the password of a signed-in user who knows the current one; every session ends.
pub async fn change_password(
    conn: &mut AsyncPgConnection,
    user: UserId,
    current: &str,
    new: &str,
    now: DateTime<Utc>,
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
        set_password(conn, user, hash, now).await?;
        crate::audit::record_for_user(conn, user, "PASSWORD_CHANGED").await
    })
    .await
}
