//! What every handler can reach: the database pool, optional adapters, metrics.

use std::sync::Arc;

use guild_db::PgPool;
use guild_integrations::redis::Redis;

use crate::metrics::Metrics;

/// Shared, cheaply cloned application state.
#[derive(Clone)]
pub struct AppState {
    /// The PostgreSQL pool.
    pub db: PgPool,
    /// Redis, when `REDIS_URL` is set.
    pub redis: Option<Redis>,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// HTTP settings the app is built with.
    pub http: HttpSettings,
}

/// Settings that shape the HTTP app.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Largest JSON body.
    pub json_limit: usize,
    /// Allowed CORS origins (`*` for any); empty disables CORS.
    pub cors_origins: Vec<String>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            json_limit: 1 << 20,
            cors_origins: Vec::new(),
        }
    }
}

impl AppState {
    /// State over a pool, without Redis, with default HTTP settings.
    pub fn new(db: PgPool) -> Self {
        Self {
            db,
            redis: None,
            metrics: Arc::new(Metrics::new()),
            http: HttpSettings::default(),
        }
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("db", &self.db.status())
            .field("redis", &self.redis)
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}
