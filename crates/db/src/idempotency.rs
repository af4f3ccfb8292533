//! `Idempotency-Key` storage, shared by every domain: the first successful response to a POST that
//! creates or spends is stored per tenant, user and key, and replayed for a repeat.
//!
//! [`claim`] runs first in the request's transaction. It takes a transaction-scoped advisory lock
//! on the key, so a concurrent repeat waits for the first request to commit and then replays its
//! response instead of running the operation again. A repeat whose fingerprint (a hash of the
//! operation, its target and its body) differs is refused by the caller. [`store`] saves the
//! response in the same transaction as the write it describes. Failed requests are not stored: a
//! retry is evaluated again, and refuses the same way when the state that refused it still holds.

use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_kernel::{TenantId, UserId};

use crate::DbError;
use crate::schema::idempotency_keys;

/// What a key means for this request.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// The key is new: run the operation, then [`store`] its response.
    New,
    /// The same request was answered before: send this again.
    Replay {
        /// The stored status.
        status: u16,
        /// The stored body.
        body: serde_json::Value,
    },
    /// The key was used for a different request.
    Reused,
}

/// Locks `key` for the rest of the transaction and tells whether it was used before.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    key: &str,
    fingerprint: &str,
) -> Result<Claim, DbError> {
    crate::sql("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind::<Text, _>(format!("idempotency:{tenant}:{user}:{key}"))
        .execute(conn)
        .await?;
    let stored: Option<(String, i32, serde_json::Value)> = idempotency_keys::table
        .find((tenant.into_uuid(), user.into_uuid(), key))
        .select((
            idempotency_keys::fingerprint,
            idempotency_keys::response_status,
            idempotency_keys::response_body,
        ))
        .first(conn)
        .await
        .optional()?;
    Ok(match stored {
        None => Claim::New,
        Some((stored, status, body)) if stored == fingerprint => Claim::Replay {
            status: u16::try_from(status).unwrap_or(200),
            body,
        },
        Some(_) => Claim::Reused,
    })
}

/// Stores the response to the request that claimed `key`.
pub async fn store(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    key: &str,
    fingerprint: &str,
    status: u16,
    body: &serde_json::Value,
) -> Result<(), DbError> {
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::tenant_id.eq(tenant.into_uuid()),
            idempotency_keys::user_id.eq(user.into_uuid()),
            idempotency_keys::key.eq(key),
            idempotency_keys::fingerprint.eq(fingerprint),
            idempotency_keys::response_status.eq(i32::from(status)),
            idempotency_keys::response_body.eq(body),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// The JSON body to [`store`] for a response. A value that does not serialize (a map with
/// non-string keys) fails as a database error, so the write it answers rolls back.
pub fn body<T: serde::Serialize>(value: &T) -> Result<serde_json::Value, DbError> {
    serde_json::to_value(value)
        .map_err(|e| DbError::Other(diesel::result::Error::SerializationError(Box::new(e))))
}
