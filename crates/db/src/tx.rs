//! Tenant-scoped transactions.
//!
//! [`tenant_transaction`] runs a closure in one transaction that first sets `app.tenant_id` and
//! switches to the role `guild_app`, both with `set_config(…, true)`: transaction-local, so they are
//! gone at commit or rollback and never leak to the next user of the pooled connection.
//! `guild_app` owns no table and cannot bypass row-level security, so the policies (which compare
//! `tenant_id` with `app.tenant_id`) apply: a query that forgot its tenant filter still sees only
//! this tenant's rows, and cannot write another tenant's.

use std::future::Future;

use diesel::sql_types::Text;
use diesel_async::{
    AnsiTransactionManager, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection,
    TransactionManager,
};
use guild_kernel::TenantId;

use crate::DbError;

/// The setting row-level security policies read: `current_setting('app.tenant_id', true)`.
pub const TENANT_SETTING: &str = "app.tenant_id";

/// An async closure over a borrowed connection whose future is known to be `Send`.
///
/// Rust cannot yet bound the future of an `AsyncFnOnce` directly; this names it, the same way
/// diesel-async's own `transaction` does, so callers just pass `async |conn| { … }`.
pub trait TxFn<T, R>: AsyncFnOnce(T) -> R + FnOnce(T) -> <Self as TxFn<T, R>>::Fut {
    /// The future the closure returns.
    type Fut: Future<Output = R>;
}

impl<F, T, Fut, R> TxFn<T, R> for F
where
    F: AsyncFnOnce(T) -> R + FnOnce(T) -> Fut,
    Fut: Future<Output = R>,
{
    type Fut = Fut;
}

/// Runs `f` in one transaction on `conn`, with `app.tenant_id` set to `tenant`.
///
/// The transaction commits when `f` returns `Ok` and rolls back when it returns `Err`; if the
/// returned future is dropped half-way, the connection is discarded by the pool rather than reused.
///
/// `BEGIN` and the two settings go to the server as one simple-protocol batch, one round trip
/// instead of two for every tenant request (the tenant id is a UUID, so writing it into the text
/// is safe, and `set_config` costs nothing to parse).
pub async fn tenant_transaction<T, E, F>(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    f: F,
) -> Result<T, E>
where
    for<'r> F: AsyncFnOnce(&'r mut AsyncPgConnection) -> Result<T, E>
        + TxFn<&'r mut AsyncPgConnection, Result<T, E>, Fut: Send>
        + Send,
    E: From<DbError> + Send,
    T: Send,
{
    let db = |e: diesel::result::Error| E::from(DbError::from(e));
    let begin = format!(
        "BEGIN; SELECT set_config('{TENANT_SETTING}', '{}', true), set_config('role', '{APP_ROLE}', true)",
        tenant.into_uuid()
    );
    if let Err(e) = AnsiTransactionManager::begin_transaction_sql(conn, &begin).await {
        // BEGIN may have run without the settings: end it, or the pool would hand out an
        // open transaction. A failure here leaves the error to the caller either way.
        let _ = conn.batch_execute("ROLLBACK").await;
        return Err(db(e));
    }
    match f(&mut *conn).await {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(conn)
                .await
                .map_err(db)?;
            Ok(value)
        }
        Err(err) => match AnsiTransactionManager::rollback_transaction(conn).await {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(err),
            Err(rollback) => Err(db(rollback)),
        },
    }
}

/// The role tenant transactions run as; subject to row-level security.
pub const APP_ROLE: &str = "guild_app";

/// Sets `app.tenant_id`, and the role to [`APP_ROLE`], for the rest of the current transaction.
pub async fn set_tenant(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
) -> Result<(), diesel::result::Error> {
    crate::sql(format!(
        "SELECT set_config('{TENANT_SETTING}', $1, true), set_config('role', '{APP_ROLE}', true)"
    ))
    .bind::<Text, _>(tenant.to_string())
    .execute(conn)
    .await
    .map(drop)
}
