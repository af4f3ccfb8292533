//! Redis, through a deadpool connection pool, and whether it answers.
//!
//! Every adapter built on one [`Redis`] (rate limits, pub/sub) shares its health. The first call
//! that fails marks Redis *degraded*: that is logged once and counted ([`Redis::degradations`]),
//! and from then on the adapters do not call it but fall back to this instance's own state
//! (in-process counters, the in-process hub), so an outage costs requests no timeouts. While
//! degraded, one probe (`PING`, in the background; no request waits for it) tries Redis at most
//! once per probe interval (5 s by default); a probe that answers, the pub/sub subscription coming
//! back, or a readiness check that answers ends the outage, which is logged once too.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use deadpool_redis::redis::cmd;
use deadpool_redis::{Config, Pool, Runtime};

use crate::IntegrationError;

const SERVICE: &str = "redis";

/// How long adapters leave Redis alone after a failure before a probe tries it again.
pub const DEFAULT_PROBE_INTERVAL: Duration = Duration::from_secs(5);

/// A Redis connection pool, and whether Redis answers.
#[derive(Clone)]
pub struct Redis {
    pool: Pool,
    timeout: Duration,
    health: Arc<Health>,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("timeout", &self.timeout)
            .field("degraded", &self.is_degraded())
            .finish_non_exhaustive()
    }
}

/// What the adapters on one Redis saw of it.
#[derive(Debug)]
struct Health {
    /// Read on every call: set from the first failure until Redis answers again.
    degraded: AtomicBool,
    /// The current outage, while `degraded`.
    outage: Mutex<Option<Outage>>,
    /// Outages seen since start.
    degradations: AtomicU64,
    probe_interval: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Outage {
    since: Instant,
    /// No probe before this.
    next_probe: Instant,
    /// A probe is running.
    probing: bool,
}

impl Health {
    fn new(probe_interval: Duration) -> Self {
        Self {
            degraded: AtomicBool::new(false),
            outage: Mutex::new(None),
            degradations: AtomicU64::new(0),
            probe_interval,
        }
    }

    fn outage(&self) -> std::sync::MutexGuard<'_, Option<Outage>> {
        // Each statement leaves the state consistent, so a panic elsewhere cannot corrupt it.
        self.outage.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Redis {
    /// Builds a pool for `url` (`redis://host:port/db`). Connections open lazily, so this only
    /// fails on an unusable URL. Each call waits at most `timeout`.
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
        Ok(Self {
            pool,
            timeout,
            health: Arc::new(Health::new(DEFAULT_PROBE_INTERVAL)),
        })
    }

    /// The same Redis probed at most once per `interval` while it is down (5 s by default).
    /// Call it before building adapters on it: they share the health of the `Redis` they were
    /// given.
    #[must_use]
    pub fn with_probe_interval(mut self, interval: Duration) -> Self {
        self.health = Arc::new(Health::new(interval));
        self
    }

    /// The underlying pool, for adapters in this crate that build on Redis.
    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    /// How long one call may wait.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Whether Redis is considered down: adapters use their in-process fallbacks.
    pub fn is_degraded(&self) -> bool {
        self.health.degraded.load(Ordering::Acquire)
    }

    /// How many times Redis went from answering to degraded since start.
    pub fn degradations(&self) -> u64 {
        self.health.degradations.load(Ordering::Relaxed)
    }

    /// Whether an adapter should call Redis now: yes while it answers. While it is degraded no,
    /// and once per probe interval a background probe is started that ends the outage if Redis
    /// answers.
    pub(crate) fn admit(&self) -> bool {
        if !self.is_degraded() {
            return true;
        }
        let now = Instant::now();
        {
            let mut outage = self.health.outage();
            let Some(o) = outage.as_mut() else {
                // Cleared between the two reads: Redis answers again.
                return !self.is_degraded();
            };
            if o.probing || now < o.next_probe {
                return false;
            }
            let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                return false;
            };
            o.probing = true;
            let redis = self.clone();
            runtime.spawn(async move {
                // `ping` reports what it finds.
                let answered = redis.ping().await.is_ok();
                let mut outage = redis.health.outage();
                if let Some(o) = outage.as_mut() {
                    o.probing = false;
                    if !answered {
                        o.next_probe = Instant::now() + redis.health.probe_interval;
                    }
                }
            });
        }
        false
    }

    /// Records that a call to Redis failed: the first failure starts an outage (logged once,
    /// counted), during which adapters fall back to their in-process state.
    pub(crate) fn report_failure(&self, what: &str, error: &dyn std::fmt::Display) {
        if self.health.degraded.load(Ordering::Acquire) {
            tracing::debug!(%error, what, "redis still unreachable");
            return;
        }
        let mut outage = self.health.outage();
        if self.health.degraded.swap(true, Ordering::AcqRel) {
            return;
        }
        let now = Instant::now();
        *outage = Some(Outage {
            since: now,
            next_probe: now + self.health.probe_interval,
            probing: false,
        });
        self.health.degradations.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            %error,
            what,
            probe_every_ms = u64::try_from(self.health.probe_interval.as_millis()).unwrap_or(u64::MAX),
            "redis is unreachable: rate limits and real-time pushes fall back to this instance until it answers"
        );
    }

    /// Records that Redis answered a connection or a probe: an outage ends (logged once).
    pub(crate) fn report_answered(&self) {
        if !self.health.degraded.load(Ordering::Acquire) {
            return;
        }
        let mut outage = self.health.outage();
        if !self.health.degraded.swap(false, Ordering::AcqRel) {
            return;
        }
        let lasted = outage.take().map(|o| o.since.elapsed()).unwrap_or_default();
        tracing::info!(
            outage_ms = u64::try_from(lasted.as_millis()).unwrap_or(u64::MAX),
            "redis answers again: rate limits and real-time pushes are shared again"
        );
    }

    /// Sends `PING`; fails if Redis does not answer `PONG` within the timeout. The outcome is
    /// reported to the adapters' shared health (an answer ends an outage, a failure starts one).
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
        let result = tokio::time::timeout(self.timeout, ping)
            .await
            .map_err(|_| unavailable("timed out".into()))
            .and_then(|r| r);
        match &result {
            Ok(()) => self.report_answered(),
            Err(e) => self.report_failure("ping", e),
        }
        result
    }
}
