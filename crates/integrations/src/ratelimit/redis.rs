//! [`RedisRateLimiter`]: fixed windows whose counters live in Redis, shared by every instance,
//! and in this process while Redis does not answer.

use std::sync::Arc;
use std::time::Duration;

use deadpool_redis::redis::cmd;
use guild_kernel::ports::{BoxFuture, RateDecision, RateLimitUnavailable, RateLimiter, RateRule};

use super::{MAX_WINDOW, MIN_WINDOW, MemoryRateLimiter, decide, peeked};
use crate::redis::Redis;

/// The prefix of every rate-limit key in Redis.
pub const KEY_PREFIX: &str = "guild:rl:";

/// The timeout for one hit when the pool has none configured.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// One hit, atomically: count it, open the window on the first hit, and report the count and the
/// window's remaining time in milliseconds. A key left without an expiry (which this script never
/// does, but another client could) gets one, so no counter lives forever.
///
/// `KEYS[1]` is the counter; `ARGV[1]` the window in milliseconds.
const HIT_SCRIPT: &str = r"
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
";

/// A fixed-window rate limiter whose counters live in Redis, shared by every instance using it.
///
/// Keys are stored as `guild:rl:<key>`, or `guild:rl:<prefix>:<key>` with an extra prefix, and
/// expire with their window.
///
/// While Redis is degraded (a call failed or did not answer within the pool's wait timeout, one
/// second if the pool has none: see [`Redis`]) hits are counted by an in-process
/// [`MemoryRateLimiter`] instead, without calling Redis: limits keep holding, per instance,
/// counted from the start of the outage. Once Redis answers again the counters in Redis are used
/// again. So a hit is never [`RateLimitUnavailable`].
#[derive(Clone)]
pub struct RedisRateLimiter {
    redis: Redis,
    prefix: String,
    timeout: Duration,
    fallback: Arc<MemoryRateLimiter>,
}

impl std::fmt::Debug for RedisRateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRateLimiter")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("degraded", &self.redis.is_degraded())
            .finish_non_exhaustive()
    }
}

impl RedisRateLimiter {
    /// A limiter on `redis`'s pool, sharing its health. `extra_prefix` namespaces the keys
    /// further (`guild:rl:<extra_prefix>:<key>`), e.g. to isolate tests sharing one Redis.
    pub fn new(redis: &Redis, extra_prefix: Option<&str>) -> Self {
        let timeout = redis.pool().timeouts().wait.unwrap_or(DEFAULT_TIMEOUT);
        let prefix = match extra_prefix {
            Some(extra) => format!("{KEY_PREFIX}{extra}:"),
            None => KEY_PREFIX.to_owned(),
        };
        Self {
            redis: redis.clone(),
            prefix,
            timeout,
            fallback: Arc::new(MemoryRateLimiter::new()),
        }
    }

    /// Whether hits are counted in this process because Redis does not answer.
    pub fn is_degraded(&self) -> bool {
        self.redis.is_degraded()
    }

    /// The Redis key holding `key`'s counter.
    pub fn redis_key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    async fn hit_redis(
        &self,
        key: &str,
        rule: RateRule,
    ) -> Result<RateDecision, RateLimitUnavailable> {
        let window = rule.window.clamp(MIN_WINDOW, MAX_WINDOW);
        let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        let redis_key = self.redis_key(key);
        let hit = async {
            let mut conn = self
                .redis
                .pool()
                .get()
                .await
                .map_err(|e| RateLimitUnavailable(format!("redis: {e}")))?;
            cmd("EVAL")
                .arg(HIT_SCRIPT)
                .arg(1)
                .arg(&redis_key)
                .arg(window_ms)
                .query_async::<(i64, i64)>(&mut conn)
                .await
                .map_err(|e| RateLimitUnavailable(format!("redis: {e}")))
        };
        let (count, ttl_ms) = tokio::time::timeout(self.timeout, hit)
            .await
            .map_err(|_| RateLimitUnavailable("redis timed out".into()))??;
        // A negative count means another client wrote the key: refuse rather than trust it.
        let count = u64::try_from(count).unwrap_or(u64::MAX);
        let reset_after = u64::try_from(ttl_ms).map_or(window, Duration::from_millis);
        Ok(decide(rule, count, reset_after.min(window)))
    }
}

impl RedisRateLimiter {
    async fn peek_redis(
        &self,
        key: &str,
        rule: RateRule,
    ) -> Result<RateDecision, RateLimitUnavailable> {
        let window = rule.window.clamp(MIN_WINDOW, MAX_WINDOW);
        let redis_key = self.redis_key(key);
        let read = async {
            let mut conn = self
                .redis
                .pool()
                .get()
                .await
                .map_err(|e| RateLimitUnavailable(format!("redis: {e}")))?;
            deadpool_redis::redis::pipe()
                .cmd("GET")
                .arg(&redis_key)
                .cmd("PTTL")
                .arg(&redis_key)
                .query_async::<(Option<i64>, i64)>(&mut conn)
                .await
                .map_err(|e| RateLimitUnavailable(format!("redis: {e}")))
        };
        let (count, ttl_ms) = tokio::time::timeout(self.timeout, read)
            .await
            .map_err(|_| RateLimitUnavailable("redis timed out".into()))??;
        let count = count.map_or(0, |c| u64::try_from(c).unwrap_or(u64::MAX));
        let reset_after = u64::try_from(ttl_ms).map_or(window, Duration::from_millis);
        Ok(peeked(rule, count, reset_after.min(window)))
    }
}

impl RedisRateLimiter {
    /// A hit counted in Redis, or in this process while Redis is degraded.
    async fn hit_or_fall_back(&self, key: &str, rule: RateRule) -> RateDecision {
        if self.redis.admit() {
            match self.hit_redis(key, rule).await {
                Ok(decision) => return decision,
                Err(e) => self.redis.report_failure("rate limit", &e),
            }
        }
        self.fallback.hit_now(key, rule)
    }

    /// A peek at Redis, or at this process's counters while Redis is degraded.
    async fn peek_or_fall_back(&self, key: &str, rule: RateRule) -> RateDecision {
        if self.redis.admit() {
            match self.peek_redis(key, rule).await {
                Ok(decision) => return decision,
                Err(e) => self.redis.report_failure("rate limit", &e),
            }
        }
        self.fallback.peek_now(key, rule)
    }
}

impl RateLimiter for RedisRateLimiter {
    fn hit<'a>(
        &'a self,
        key: &'a str,
        rule: RateRule,
    ) -> BoxFuture<'a, Result<RateDecision, RateLimitUnavailable>> {
        Box::pin(async move { Ok(self.hit_or_fall_back(key, rule).await) })
    }

    fn peek<'a>(
        &'a self,
        key: &'a str,
        rule: RateRule,
    ) -> BoxFuture<'a, Result<RateDecision, RateLimitUnavailable>> {
        Box::pin(async move { Ok(self.peek_or_fall_back(key, rule).await) })
    }

    /// While Redis is degraded the counters are in this process: counted without a future.
    fn hit_local(&self, key: &str, rule: RateRule) -> Option<RateDecision> {
        (!self.redis.admit()).then(|| self.fallback.hit_now(key, rule))
    }
}
