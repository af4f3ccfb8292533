//! Rate limiting: fixed windows in Redis (several instances) or in memory (one instance).
//!
//! Both limiters implement [`RateLimiter`] with the same fixed-window semantics: the first hit on
//! a key opens a window of `rule.window`; every hit in that window counts, and hits past
//! `rule.limit` are refused (`allowed: false`, `remaining: 0`) with `reset_after` saying when the
//! window closes. Refused hits still count, so hammering a key does not shorten its window. When
//! the window has passed, the next hit opens a fresh one. Windows are clamped to between one
//! millisecond and one year.
//!
//! - [`RedisRateLimiter`] keeps the counters in Redis, so every instance of Guild sharing that
//!   Redis shares the limits. Each hit is one atomic Lua script (`INCR`, `PEXPIRE` on the first
//!   hit, `PTTL`). Any Redis error or timeout is [`RateLimitUnavailable`]: callers fail closed.
//! - [`MemoryRateLimiter`] keeps the counters in the process: the default for a single instance.
//!   It never fails, and prunes expired windows as it grows so memory stays bounded by the keys
//!   active within their windows. It also counts without a future ([`RateLimiter::hit_local`]),
//!   so the per-tenant limit on every authenticated request costs a lock, not an allocation.
//!
//! `peek` reads a key's window without counting, for limits that count failures only (sign-in
//! per account): the caller peeks before the attempt and hits after a failure.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use deadpool_redis::Pool;
use deadpool_redis::redis::cmd;
use guild_kernel::ports::{BoxFuture, RateDecision, RateLimitUnavailable, RateLimiter, RateRule};

use crate::redis::Redis;

/// The prefix of every rate-limit key in Redis.
pub const KEY_PREFIX: &str = "guild:rl:";

/// The timeout for one hit when the pool has none configured.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// The shortest window: Redis cannot expire a key after zero milliseconds.
const MIN_WINDOW: Duration = Duration::from_millis(1);

/// The longest window (a year), so deadlines and expiries cannot overflow.
const MAX_WINDOW: Duration = Duration::from_secs(365 * 24 * 60 * 60);

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

/// Builds the decision for the `count`th hit in a window that resets after `reset_after`.
fn decide(rule: RateRule, count: u64, reset_after: Duration) -> RateDecision {
    let allowed = count <= u64::from(rule.limit);
    let remaining = if allowed {
        // `count <= limit`, so this fits; saturate rather than trust the arithmetic.
        u32::try_from(u64::from(rule.limit) - count).unwrap_or(0)
    } else {
        0
    };
    RateDecision {
        allowed,
        limit: rule.limit,
        remaining,
        reset_after,
    }
}

/// A fixed-window rate limiter whose counters live in Redis, shared by every instance using it.
///
/// Keys are stored as `guild:rl:<key>`, or `guild:rl:<prefix>:<key>` with an extra prefix, and
/// expire with their window. A hit that Redis does not answer within the pool's wait timeout
/// (one second if the pool has none) is [`RateLimitUnavailable`].
#[derive(Clone)]
pub struct RedisRateLimiter {
    pool: Pool,
    prefix: String,
    timeout: Duration,
}

impl std::fmt::Debug for RedisRateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRateLimiter")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisRateLimiter {
    /// A limiter on `redis`'s pool. `extra_prefix` namespaces the keys further
    /// (`guild:rl:<extra_prefix>:<key>`), e.g. to isolate tests sharing one Redis.
    pub fn new(redis: &Redis, extra_prefix: Option<&str>) -> Self {
        let pool = redis.pool().clone();
        let timeout = pool.timeouts().wait.unwrap_or(DEFAULT_TIMEOUT);
        let prefix = match extra_prefix {
            Some(extra) => format!("{KEY_PREFIX}{extra}:"),
            None => KEY_PREFIX.to_owned(),
        };
        Self {
            pool,
            prefix,
            timeout,
        }
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
                .pool
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
                .pool
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

/// The decision for the next hit of a window that holds `count` hits.
fn peeked(rule: RateRule, count: u64, reset_after: Duration) -> RateDecision {
    let mut decision = decide(rule, count.saturating_add(1), reset_after);
    if decision.allowed {
        decision.remaining = decision.remaining.saturating_add(1);
    }
    decision
}

impl RateLimiter for RedisRateLimiter {
    fn hit<'a>(
        &'a self,
        key: &'a str,
        rule: RateRule,
    ) -> BoxFuture<'a, Result<RateDecision, RateLimitUnavailable>> {
        Box::pin(self.hit_redis(key, rule))
    }

    fn peek<'a>(
        &'a self,
        key: &'a str,
        rule: RateRule,
    ) -> BoxFuture<'a, Result<RateDecision, RateLimitUnavailable>> {
        Box::pin(self.peek_redis(key, rule))
    }
}

/// Pruning starts once this many keys are tracked.
const DEFAULT_PRUNE_THRESHOLD: usize = 10_000;

/// One key's window.
#[derive(Debug, Clone, Copy)]
struct Window {
    count: u64,
    resets_at: Instant,
}

#[derive(Debug)]
struct MemoryState {
    windows: HashMap<String, Window>,
    /// Prune expired windows when the map reaches this size.
    prune_at: usize,
}

/// A fixed-window rate limiter in process memory: the default for a single instance.
///
/// Counters are not shared between processes. Expired windows are pruned whenever the map
/// reaches a threshold (10 000 keys by default, then twice the live keys after each prune), so
/// memory stays proportional to the keys active within their windows and pruning costs O(1)
/// amortized per hit. It never fails.
pub struct MemoryRateLimiter {
    state: Mutex<MemoryState>,
    prune_threshold: usize,
}

impl std::fmt::Debug for MemoryRateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("MemoryRateLimiter");
        if let Ok(state) = self.state.try_lock() {
            d.field("tracked_keys", &state.windows.len());
        }
        d.field("prune_threshold", &self.prune_threshold)
            .finish_non_exhaustive()
    }
}

impl Default for MemoryRateLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryRateLimiter {
    /// An empty limiter pruning from 10 000 tracked keys.
    pub fn new() -> Self {
        Self::with_prune_threshold(DEFAULT_PRUNE_THRESHOLD)
    }

    /// An empty limiter that starts pruning expired windows once `threshold` keys (at least 1)
    /// are tracked.
    pub fn with_prune_threshold(threshold: usize) -> Self {
        let threshold = threshold.max(1);
        Self {
            state: Mutex::new(MemoryState {
                windows: HashMap::new(),
                prune_at: threshold,
            }),
            prune_threshold: threshold,
        }
    }

    /// How many keys are tracked, including expired windows not yet pruned.
    pub fn tracked_keys(&self) -> usize {
        self.lock().windows.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        // The state is consistent after every statement, so a panic elsewhere cannot corrupt it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn hit_now(&self, key: &str, rule: RateRule, now: Instant) -> RateDecision {
        let window = rule.window.clamp(MIN_WINDOW, MAX_WINDOW);
        let mut guard = self.lock();
        let state = &mut *guard;
        if let Some(entry) = state.windows.get_mut(key) {
            return count_hit(entry, rule, window, now);
        }
        if state.windows.len() >= state.prune_at {
            state.windows.retain(|_, w| w.resets_at > now);
            state.prune_at = self
                .prune_threshold
                .max(state.windows.len().saturating_mul(2));
        }
        let entry = state.windows.entry(key.to_owned()).or_insert(Window {
            count: 0,
            resets_at: now + window,
        });
        count_hit(entry, rule, window, now)
    }
}

/// Counts a hit at `now` in `entry`, opening a fresh window if its window has passed.
fn count_hit(entry: &mut Window, rule: RateRule, window: Duration, now: Instant) -> RateDecision {
    if entry.resets_at <= now {
        *entry = Window {
            count: 0,
            resets_at: now + window,
        };
    }
    entry.count = entry.count.saturating_add(1);
    decide(
        rule,
        entry.count,
        entry.resets_at.saturating_duration_since(now),
    )
}

impl MemoryRateLimiter {
    fn peek_now(&self, key: &str, rule: RateRule, now: Instant) -> RateDecision {
        let window = rule.window.clamp(MIN_WINDOW, MAX_WINDOW);
        let state = self.lock();
        match state.windows.get(key).filter(|w| w.resets_at > now) {
            Some(w) => peeked(rule, w.count, w.resets_at.saturating_duration_since(now)),
            None => peeked(rule, 0, window),
        }
    }
}

impl RateLimiter for MemoryRateLimiter {
    fn hit<'a>(
        &'a self,
        key: &'a str,
        rule: RateRule,
    ) -> BoxFuture<'a, Result<RateDecision, RateLimitUnavailable>> {
        let decision = self.hit_now(key, rule, Instant::now());
        Box::pin(std::future::ready(Ok(decision)))
    }

    fn peek<'a>(
        &'a self,
        key: &'a str,
        rule: RateRule,
    ) -> BoxFuture<'a, Result<RateDecision, RateLimitUnavailable>> {
        let decision = self.peek_now(key, rule, Instant::now());
        Box::pin(std::future::ready(Ok(decision)))
    }

    fn hit_local(&self, key: &str, rule: RateRule) -> Option<RateDecision> {
        Some(self.hit_now(key, rule, Instant::now()))
    }
}
