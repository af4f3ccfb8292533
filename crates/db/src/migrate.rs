//! Embedded migrations (`migrations/` at the workspace root), run by `guild migrate`.
//!
//! diesel_migrations is synchronous, so it runs on an `AsyncConnectionWrapper` inside
//! `spawn_blocking`; this works on any tokio runtime, including the current-thread ones of actix
//! and of tests.

use diesel::Connection;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::DbError;

/// Every migration, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

type SyncConn = AsyncConnectionWrapper<AsyncPgConnection>;

async fn with_sync_conn<T: Send + 'static>(
    url: &str,
    f: impl FnOnce(&mut SyncConn) -> Result<T, String> + Send + 'static,
) -> Result<T, DbError> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = SyncConn::establish(&url).map_err(|e| e.to_string())?;
        f(&mut conn)
    })
    .await
    .map_err(|e| DbError::Unavailable(format!("migration task failed: {e}")))?
    .map_err(DbError::Unavailable)
}

/// Applies every pending migration; returns the versions applied.
pub async fn run_pending(url: &str) -> Result<Vec<String>, DbError> {
    with_sync_conn(url, |conn| {
        conn.run_pending_migrations(MIGRATIONS)
            .map(|done| done.iter().map(ToString::to_string).collect())
            .map_err(|e| format!("migration failed: {e}"))
    })
    .await
}

/// Reverts every applied migration, newest first; returns the versions reverted.
pub async fn revert_all(url: &str) -> Result<Vec<String>, DbError> {
    with_sync_conn(url, |conn| {
        conn.revert_all_migrations(MIGRATIONS)
            .map(|done| done.iter().map(ToString::to_string).collect())
            .map_err(|e| format!("revert failed: {e}"))
    })
    .await
}

/// The versions not applied yet.
pub async fn pending(url: &str) -> Result<Vec<String>, DbError> {
    with_sync_conn(url, |conn| {
        conn.pending_migrations(MIGRATIONS)
            .map(|list| list.iter().map(|m| m.name().to_string()).collect())
            .map_err(|e| e.to_string())
    })
    .await
}

/// The names of every embedded migration, oldest first.
pub fn all() -> Vec<String> {
    use diesel::migration::MigrationSource;
    MigrationSource::<diesel::pg::Pg>::migrations(&MIGRATIONS)
        .map(|list| list.iter().map(|m| m.name().to_string()).collect())
        .unwrap_or_default()
}
