//! Redis, through a deadpool connection pool.

use std::time::Duration;

use deadpool_redis::redis::cmd;
use deadpool_redis::{Config, Pool, Runtime};

use crate::IntegrationError;

const SERVICE: &str = "redis";

/// A Redis connection pool.
#[derive(Clone)]
pub struct Redis {
    pool: Pool,
    timeout: Duration,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Redis {
    /// Builds a pool for `url` (`redis://host:port/db`). Connections open lazily, so this only
    /// fails on an unusable URL.
    pub fn connect(url: &str, timeout: Duration) -> Result<Self, IntegrationError> {
        let misconfigured = |e: &dyn std::fmt::Display| IntegrationError::Misconfigured {
            service: SERVICE,
            message: e.to_string(),
        };
        deadpool_redis::redis::parse_redis_url(url)
            .ok_or_else(|| misconfigured(&"not a redis:// URL"))?;
        let pool = Config::from_url(url)
            .builder()
            .map_err(|e| misconfigured(&e))?
            .max_size(16)
            .wait_timeout(Some(timeout))
            .create_timeout(Some(timeout))
            .recycle_timeout(Some(timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| misconfigured(&e))?;
        Ok(Self { pool, timeout })
    }

    /// The underlying pool, for adapters in this crate that build on Redis.
    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Sends `PING`; fails if Redis does not answer `PONG` within the timeout.
    pub async fn ping(&self) -> Result<(), IntegrationError> {
        let unavailable = |message: String| IntegrationError::Unavailable {
            service: SERVICE,
            message,
        };
        let ping = async {
            let mut conn = self
                .pool
                .get()
                .await
                .map_err(|e| unavailable(e.to_string()))?;
            let reply: String = cmd("PING")
                .query_async(&mut conn)
                .await
                .map_err(|e| unavailable(e.to_string()))?;
            if reply == "PONG" {
                Ok(())
            } else {
                Err(unavailable(format!("unexpected reply {reply:?}")))
            }
        };
        tokio::time::timeout(self.timeout, ping)
            .await
            .map_err(|_| unavailable("timed out".into()))?
    }
}
