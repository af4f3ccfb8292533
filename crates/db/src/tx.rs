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
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
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

enum TxError<E> {
    Db(diesel::result::Error),
    App(E),
}

impl<E> From<diesel::result::Error> for TxError<E> {
    fn from(err: diesel::result::Error) -> Self {
        Self::Db(err)
    }
}

/// Runs `f` in one transaction on `conn`, with `app.tenant_id` set to `tenant`.
///
/// The transaction commits when `f` returns `Ok` and rolls back when it returns `Err`; if the
/// returned future is dropped half-way, the connection is discarded by the pool rather than reused.
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
    let result = conn
        .transaction::<T, TxError<E>, _>(async move |conn| {
            set_tenant(conn, tenant).await?;
            f(conn).await.map_err(TxError::App)
        })
        .await;
    result.map_err(|err| match err {
        TxError::Db(e) => E::from(DbError::from(e)),
        TxError::App(e) => e,
    })
}

/// The role tenant transactions run as; subject to row-level security.
pub const APP_ROLE: &str = "guild_app";

/// Sets `app.tenant_id`, and the role to [`APP_ROLE`], for the rest of the current transaction.
pub async fn set_tenant(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
) -> Result<(), diesel::result::Error> {
    crate::sql(
        "SELECT set_config('app.tenant_id', $1, true), set_config('role', 'guild_app', true)",
    )
    .bind::<Text, _>(tenant.to_string())
    .execute(conn)
    .await
    .map(drop)
}
