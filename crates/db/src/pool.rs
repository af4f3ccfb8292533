//! The connection pool: diesel-async connections managed by deadpool.
//!
//! diesel-async refuses to recycle a connection whose transaction is still open (a request future
//! dropped mid-transaction leaves one), so such a connection is closed, never handed to the next
//! request; `cancelled_transactions_never_leak_into_the_next_checkout` proves it.

use std::time::Duration;

use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};

use crate::DbError;

/// A pool of PostgreSQL connections.
pub type PgPool = diesel_async::pooled_connection::deadpool::Pool<AsyncPgConnection>;
/// A connection checked out of a [`PgPool`]; returns to the pool on drop.
pub type PooledConn = diesel_async::pooled_connection::deadpool::Object<AsyncPgConnection>;
/// The error a checkout can fail with.
pub type PoolError = diesel_async::pooled_connection::deadpool::PoolError;

/// How to build a pool.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// `postgres://user:password@host:port/database`.
    pub url: String,
    /// The most connections this process opens.
    pub max_size: usize,
    /// How long a request waits for a free connection (and for a new one to open) before it gets
    /// a 503 `database_unavailable`.
    pub timeout: Duration,
}

/// Builds a pool. Connections open lazily, so this succeeds even if the database is down.
///
/// A checkout does not ping the server (`RecyclingMethod::Fast`: only a connection left in a
/// transaction or marked broken is discarded), which saves a round trip per request; a
/// connection that died meanwhile fails its next statement, is marked broken and replaced.
pub fn build_pool(config: &PoolConfig) -> Result<PgPool, DbError> {
    let mut manager_config = ManagerConfig::default();
    manager_config.recycling_method = RecyclingMethod::Fast;
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(
        config.url.clone(),
        manager_config,
    );
    PgPool::builder(manager)
        .max_size(config.max_size)
        .wait_timeout(Some(config.timeout))
        .create_timeout(Some(config.timeout))
        .recycle_timeout(Some(config.timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map_err(|e| DbError::Unavailable(e.to_string()))
}

/// Checks a connection out of the pool.
pub async fn connect(pool: &PgPool) -> Result<PooledConn, DbError> {
    pool.get().await.map_err(DbError::from)
}

/// Whether the database answers: a connection from `pool` runs `SELECT 1`. For readiness probes.
pub async fn ping(pool: &PgPool) -> Result<(), DbError> {
    use diesel_async::RunQueryDsl;
    let mut conn = connect(pool).await?;
    diesel::sql_query("SELECT 1").execute(&mut conn).await?;
    Ok(())
}
