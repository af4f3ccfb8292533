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

/// A connection taken out of `pool` for good: it counts no longer against the pool's size and
/// closes when dropped, never reaching another checkout. For a connection that holds session
/// state a request must not inherit (a `LISTEN`, a session lock).
pub async fn connect_alone(pool: &PgPool) -> Result<AsyncPgConnection, DbError> {
    Ok(PooledConn::take(connect(pool).await?))
}

/// A connection of its own, taken out of `pool`, that holds the session advisory lock named
/// `name`; `None` while another connection holds it.
///
/// For work that must not run twice at once across processes and that spans several
/// transactions with slow calls between them (a model call between reading what is pending and
/// storing the result), where a transaction-scoped lock cannot cover the whole run. The lock lasts
/// exactly as long as the connection: it never returns to the pool, and dropping it closes it and
/// releases the lock, however its holder ends (an error, a panic, a cancelled future).
pub async fn exclusive(pool: &PgPool, name: &str) -> Result<Option<AsyncPgConnection>, DbError> {
    use diesel::sql_types::{Bool, Text};
    use diesel_async::RunQueryDsl;

    #[derive(diesel::QueryableByName)]
    struct Locked {
        #[diesel(sql_type = Bool)]
        locked: bool,
    }

    let mut conn = connect_alone(pool).await?;
    let got = diesel::sql_query("SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked")
        .bind::<Text, _>(name)
        .get_result::<Locked>(&mut conn)
        .await?;
    Ok(got.locked.then_some(conn))
}

/// Whether the database answers: a connection from `pool` runs `SELECT 1`. For readiness probes.
pub async fn ping(pool: &PgPool) -> Result<(), DbError> {
    use diesel_async::RunQueryDsl;
    let mut conn = connect(pool).await?;
    diesel::sql_query("SELECT 1").execute(&mut conn).await?;
    Ok(())
}
