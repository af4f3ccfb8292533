//! [`RedisPresence`]: who is online and their open streams, in Redis, shared by every instance.
//!
//! Per tenant `T` (the `{T}` hash tag keeps a tenant's keys in one cluster slot):
//!
//! - `guild:presence:{T}`, a sorted set of members scored by their last sighting (Unix ms of the
//!   caller's clock), and `guild:presence:{T}:since`, a hash of when each came online. Both
//!   expire twice the TTL after the tenant's last sighting; a listing drops members gone
//!   offline from both.
//! - `guild:streams:{T}:<user>`, a sorted set of the member's open streams scored by when their
//!   slot lapses; it expires twice the TTL after its last change.
//!
//! Each call is one Lua script (`EVAL`, atomic: two instances claiming a member's last stream
//! slot at once cannot both get it); a listing's cost grows with the tenant's online members.
//!
//! When Redis fails or does not answer within a second, the adapter answers from its own
//! [`MemoryPresence`] and logs it once; it tries Redis again after the retry interval (5 s by
//! default) and logs once more when Redis answers. Meanwhile its answers are this instance's
//! alone: members seen by other instances are missing, and the stream cap counts per instance.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use deadpool_redis::Pool;
use deadpool_redis::redis;
use guild_kernel::ports::{BoxFuture, Online, Presence};
use guild_kernel::{TenantId, UserId};
use uuid::Uuid;

use super::MemoryPresence;
use crate::redis::Redis;

/// The prefix of every presence key.
const PREFIX: &str = "guild:presence:";

/// The prefix of every stream-slot key.
const STREAMS_PREFIX: &str = "guild:streams:";

/// The longest a presence call waits for Redis before answering from the process.
const MAX_WAIT: Duration = Duration::from_secs(1);

/// How long the adapter answers from the process before trying Redis again.
const DEFAULT_RETRY: Duration = Duration::from_secs(5);

/// Marks a sighting: `since` is reset when the member was offline, the score only moves forward.
/// KEYS: the presence set, the since hash. ARGV: user, now (ms), TTL (ms).
const TOUCH: &str = r"
local function touch()
  local now = tonumber(ARGV[2])
  local ttl = tonumber(ARGV[3])
  local last = redis.call('ZSCORE', KEYS[1], ARGV[1])
  if (not last) or (tonumber(last) + ttl <= now) then
    redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
  end
  if (not last) or (tonumber(last) < now) then
    redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
  end
  redis.call('PEXPIRE', KEYS[1], ttl * 2)
  redis.call('PEXPIRE', KEYS[2], ttl * 2)
end
";

/// Claims a slot (KEYS[3], ARGV[4] the stream, ARGV[5] the cap) unless every slot is held, then
/// touches; answers 1 when claimed, 0 when refused.
const OPEN_STREAM: &str = r"
local now = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if (not redis.call('ZSCORE', KEYS[3], ARGV[4])) and redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[5]) then
  return 0
end
redis.call('ZADD', KEYS[3], now + ttl, ARGV[4])
redis.call('PEXPIRE', KEYS[3], ttl * 2)
touch()
return 1
";

/// Keeps a slot (KEYS[3], ARGV[4] the stream) for another TTL, then touches.
const REFRESH_STREAM: &str = r"
local now = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
redis.call('ZADD', KEYS[3], now + ttl, ARGV[4])
redis.call('PEXPIRE', KEYS[3], ttl * 2)
touch()
return 1
";

/// Drops the members last seen at or before the cutoff (ARGV[1], ms) from the set and the since
/// hash, then answers the others as `user, since` pairs (`since` empty if missing). One script:
/// the hash is read only for the members listed.
const ONLINE: &str = r"
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
for _, user in ipairs(gone) do
  redis.call('ZREM', KEYS[1], user)
  redis.call('HDEL', KEYS[2], user)
end
local users = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf')
local out = {}
for i, user in ipairs(users) do
  out[2 * i - 1] = user
  out[2 * i] = redis.call('HGET', KEYS[2], user) or ''
end
return out
";

/// Whether Redis answers, and since when it did not.
#[derive(Debug)]
struct Health {
    degraded: AtomicBool,
    /// While degraded: when to try Redis again.
    retry_at: Mutex<Instant>,
    retry: Duration,
}

/// Presence in Redis, shared by every instance, falling back to this process's memory while
/// Redis is unreachable.
#[derive(Debug)]
pub struct RedisPresence {
    pool: Pool,
    ttl_ms: i64,
    timeout: Duration,
    touch: String,
    open: String,
    refresh: String,
    fallback: MemoryPresence,
    health: Health,
}

impl RedisPresence {
    /// Presence on `redis`'s pool; members stay online `ttl` after they were last seen.
    pub fn new(redis: &Redis, ttl: Duration) -> Self {
        let pool = redis.pool().clone();
        let timeout = pool.timeouts().wait.unwrap_or(MAX_WAIT).min(MAX_WAIT);
        Self {
            pool,
            ttl_ms: i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 4),
            timeout,
            touch: format!("{TOUCH}\ntouch()\nreturn 1"),
            open: format!("{TOUCH}\n{OPEN_STREAM}"),
            refresh: format!("{TOUCH}\n{REFRESH_STREAM}"),
            fallback: MemoryPresence::new(ttl),
            health: Health {
                degraded: AtomicBool::new(false),
                retry_at: Mutex::new(Instant::now()),
                retry: DEFAULT_RETRY,
            },
        }
    }

    /// Tries Redis again `retry` after it last failed (5 s by default).
    #[must_use]
    pub fn with_retry(mut self, retry: Duration) -> Self {
        self.health.retry = retry;
        self
    }

    /// Whether the adapter currently answers from this process (Redis failed, not yet back).
    pub fn is_degraded(&self) -> bool {
        self.health.degraded.load(Ordering::SeqCst)
    }

    fn keys(tenant: TenantId) -> (String, String) {
        let set = format!("{PREFIX}{{{tenant}}}");
        let since = format!("{set}:since");
        (set, since)
    }

    fn stream_key(tenant: TenantId, user: UserId) -> String {
        format!("{STREAMS_PREFIX}{{{tenant}}}:{user}")
    }

    /// Runs `op` on Redis unless it failed less than the retry interval ago; `None` (logged
    /// once per outage) when it fails or does not answer in time.
    async fn attempt<T>(
        &self,
        op: impl AsyncFnOnce(&mut deadpool_redis::Connection) -> redis::RedisResult<T>,
    ) -> Option<T> {
        if self.is_degraded()
            && Instant::now()
                < *self
                    .health
                    .retry_at
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
        {
            return None;
        }
        let call = async {
            let mut conn = self.pool.get().await.map_err(|e| e.to_string())?;
            op(&mut conn).await.map_err(|e| e.to_string())
        };
        let outcome = match tokio::time::timeout(self.timeout, call).await {
            Ok(outcome) => outcome,
            Err(_) => Err("timed out".to_owned()),
        };
        match outcome {
            Ok(value) => {
                if self.health.degraded.swap(false, Ordering::SeqCst) {
                    tracing::info!("redis presence is back: presence is shared again");
                }
                Some(value)
            }
            Err(e) => {
                *self
                    .health
                    .retry_at
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Instant::now() + self.health.retry;
                if !self.health.degraded.swap(true, Ordering::SeqCst) {
                    tracing::warn!(error = %e, "redis presence unavailable: answering from this instance until it is back");
                }
                None
            }
        }
    }

    async fn touch_redis(&self, tenant: TenantId, user: UserId, now: DateTime<Utc>) -> bool {
        let (set, since) = Self::keys(tenant);
        self.attempt(async |conn| {
            redis::cmd("EVAL")
                .arg(&self.touch)
                .arg(2)
                .arg(&set)
                .arg(&since)
                .arg(user.to_string())
                .arg(now.timestamp_millis())
                .arg(self.ttl_ms)
                .query_async::<i64>(conn)
                .await
        })
        .await
        .is_some()
    }

    async fn online_redis(&self, tenant: TenantId, now: DateTime<Utc>) -> Option<Vec<Online>> {
        let (set, since) = Self::keys(tenant);
        let cutoff = now.timestamp_millis().saturating_sub(self.ttl_ms);
        let pairs: Vec<String> = self
            .attempt(async |conn| {
                redis::cmd("EVAL")
                    .arg(ONLINE)
                    .arg(2)
                    .arg(&set)
                    .arg(&since)
                    .arg(cutoff)
                    .query_async::<Vec<String>>(conn)
                    .await
            })
            .await?;
        Some(
            pairs
                .chunks_exact(2)
                .filter_map(|pair| {
                    let user = pair[0].parse::<UserId>().ok()?;
                    let since = pair[1]
                        .parse::<i64>()
                        .ok()
                        .and_then(DateTime::from_timestamp_millis)
                        .unwrap_or(now);
                    Some(Online { user, since })
                })
                .collect(),
        )
    }

    async fn stream_script(
        &self,
        script: &str,
        tenant: TenantId,
        user: UserId,
        stream: Uuid,
        cap: u32,
        now: DateTime<Utc>,
    ) -> Option<bool> {
        let (set, since) = Self::keys(tenant);
        let slots = Self::stream_key(tenant, user);
        self.attempt(async |conn| {
            redis::cmd("EVAL")
                .arg(script)
                .arg(3)
                .arg(&set)
                .arg(&since)
                .arg(&slots)
                .arg(user.to_string())
                .arg(now.timestamp_millis())
                .arg(self.ttl_ms)
                .arg(stream.to_string())
                .arg(cap)
                .query_async::<i64>(conn)
                .await
        })
        .await
        .map(|claimed| claimed == 1)
    }
}

impl Presence for RedisPresence {
    fn touch<'a>(
        &'a self,
        tenant: TenantId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if !self.touch_redis(tenant, user, now).await {
                self.fallback.touch_now(tenant, user, now);
            }
        })
    }

    fn online<'a>(&'a self, tenant: TenantId, now: DateTime<Utc>) -> BoxFuture<'a, Vec<Online>> {
        Box::pin(async move {
            match self.online_redis(tenant, now).await {
                Some(online) => online,
                None => self.fallback.online_now(tenant, now),
            }
        })
    }

    fn open_stream<'a>(
        &'a self,
        tenant: TenantId,
        user: UserId,
        stream: Uuid,
        cap: u32,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            match self
                .stream_script(&self.open, tenant, user, stream, cap, now)
                .await
            {
                Some(claimed) => claimed,
                None => self
                    .fallback
                    .open_stream_now(tenant, user, stream, cap, now),
            }
        })
    }

    fn refresh_stream<'a>(
        &'a self,
        tenant: TenantId,
        user: UserId,
        stream: Uuid,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let refreshed = self
                .stream_script(&self.refresh, tenant, user, stream, 0, now)
                .await;
            if refreshed.is_none() {
                self.fallback.refresh_stream_now(tenant, user, stream, now);
            }
        })
    }

    fn close_stream<'a>(
        &'a self,
        tenant: TenantId,
        user: UserId,
        stream: Uuid,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            // The slot may have been claimed from either store (Redis, or this process while
            // Redis was down): release both.
            self.fallback.close_stream_now(tenant, user, stream);
            let slots = Self::stream_key(tenant, user);
            let _ = self
                .attempt(async |conn| {
                    redis::cmd("ZREM")
                        .arg(&slots)
                        .arg(stream.to_string())
                        .query_async::<i64>(conn)
                        .await
                })
                .await;
        })
    }
}
