//! Stream tickets: short-lived, single-use stand-ins for an access token on `GET /v1/stream`,
//! for browsers, whose `EventSource` cannot send an `Authorization` header.
//!
//! A ticket is `gst_<tenant id, 32 hex digits>.<32 random bytes, URL-safe base64>`: the tenant
//! part lets the redemption run in that tenant's transaction (under row-level security), the
//! random part is the secret. Only its SHA-256 is stored, with the member, the account's session
//! generation when it was minted, and when it expires ([`TTL`] after minting, by the caller's
//! clock). [`redeem`] deletes the row it matches and answers what it held: two redemptions of one
//! ticket, on any instances, cannot both get it. A ticket whose tenant part is changed names
//! another tenant, where its hash is not found.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bytea, Int4, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::stream_tickets as t;
use guild_kernel::{Actor, TenantId, UserId};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::NotificationsError;

/// How long a ticket works after it was minted.
pub const TTL: Duration = Duration::from_secs(30);

/// What every ticket starts with.
pub const PREFIX: &str = "gst_";

/// The length of a ticket: the prefix, 32 hex digits, a dot and 43 base64 characters.
pub const LEN: usize = PREFIX.len() + 32 + 1 + 43;

/// A ticket as handed to its member (the only time it exists in plain text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Minted {
    /// The ticket.
    pub ticket: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// What a redeemed ticket stood for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redeemed {
    /// The member it was minted for.
    pub user: UserId,
    /// The account's session generation when it was minted: a ticket minted before a password
    /// change or reset is refused like the access token it stood for.
    pub session_generation: i32,
}

/// A ticket split into the tenant it names and the hash of its secret; `None` when it is not
/// shaped like one.
pub fn parse(ticket: &str) -> Option<(TenantId, Vec<u8>)> {
    if ticket.len() != LEN {
        return None;
    }
    let rest = ticket.strip_prefix(PREFIX)?;
    let (tenant, secret) = rest.split_once('.')?;
    if tenant.len() != 32 || !tenant.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let tenant = Uuid::try_parse(tenant).ok()?;
    if URL_SAFE_NO_PAD.decode(secret).ok()?.len() != 32 {
        return None;
    }
    Some((TenantId(tenant), Sha256::digest(ticket.as_bytes()).to_vec()))
}

/// Mints a ticket for the actor, valid until [`TTL`] after `now`. Only a member signed in to the
/// tenant gets one: the platform owner acting in a tenant they do not belong to is refused
/// (`not_a_member`).
pub async fn mint(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Minted, NotificationsError> {
    if actor.impersonating {
        return Err(NotificationsError::NotAMember);
    }
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| {
        NotificationsError::Db(guild_db::DbError::Unavailable(format!(
            "no randomness: {e}"
        )))
    })?;
    let ticket = format!(
        "{PREFIX}{}.{}",
        actor.tenant_id.into_uuid().simple(),
        URL_SAFE_NO_PAD.encode(secret)
    );
    let expires_at = now + chrono::Duration::from_std(TTL).unwrap_or_default();
    let hash = Sha256::digest(ticket.as_bytes()).to_vec();
    // The generation is the account's now: the token minting it was checked against it.
    let minted = guild_db::sql(
        "INSERT INTO stream_tickets \
           (tenant_id, token_hash, user_id, session_generation, expires_at, created_at) \
         SELECT $1, $2, u.id, u.session_generation, $4, $5 FROM users u WHERE u.id = $3",
    )
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<Bytea, _>(hash)
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<Timestamptz, _>(expires_at)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await?;
    if minted != 1 {
        return Err(NotificationsError::NotAMember);
    }
    Ok(Minted { ticket, expires_at })
}

#[derive(QueryableByName)]
struct Held {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = Int4)]
    session_generation: i32,
    #[diesel(sql_type = Timestamptz)]
    expires_at: DateTime<Utc>,
}

/// Uses up the ticket whose secret hashes to `hash` in `tenant`: answers whom it stood for, or
/// `None` when there is no such ticket (never minted, already used, or of another tenant) or it
/// expired by `now`. Run it in `tenant`'s transaction; the ticket is gone once that commits.
pub async fn redeem(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    hash: &[u8],
    now: DateTime<Utc>,
) -> Result<Option<Redeemed>, NotificationsError> {
    let held: Option<Held> = guild_db::sql(
        "DELETE FROM stream_tickets WHERE tenant_id = $1 AND token_hash = $2 \
         RETURNING user_id, session_generation, expires_at",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<Bytea, _>(hash.to_vec())
    .get_result(conn)
    .await
    .optional()?;
    Ok(held.filter(|h| h.expires_at > now).map(|h| Redeemed {
        user: UserId(h.user_id),
        session_generation: h.session_generation,
    }))
}

/// Removes the tenant's tickets that expired before `now`; answers how many.
pub async fn prune(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    now: DateTime<Utc>,
) -> Result<usize, NotificationsError> {
    Ok(diesel::delete(
        t::table
            .filter(t::tenant_id.eq(tenant.into_uuid()))
            .filter(t::expires_at.le(now)),
    )
    .execute(conn)
    .await?)
}
