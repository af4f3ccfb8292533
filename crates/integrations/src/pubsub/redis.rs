//! [`RedisPubSub`]: publish/subscribe between instances through Redis.
//!
//! Each instance keeps one Redis connection subscribed to `guild:*` (a pattern, so subscribing to
//! a new channel costs no round trip) and hands what arrives to its in-process hub, where streams
//! subscribe. Publishing is a `PUBLISH guild:<channel>` on the pool. When Redis is unreachable the
//! instance degrades to its hub alone: what it publishes still reaches its own subscribers (and
//! publishing skips Redis while it is degraded, see [`Redis`]), and once the subscription is back
//! every subscriber is told it may have lagged, so it reads back from PostgreSQL what other
//! instances published meanwhile. The subscription is pinged every 15 s, so a connection that
//! silently stopped answering is noticed and replaced too.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use deadpool_redis::redis::{self, cmd};
use futures_util::StreamExt;
use guild_kernel::ports::{BoxFuture, PubSub, PubSubError, Subscription};

use super::MemoryPubSub;
use crate::redis::Redis;

/// The prefix of every Guild channel in Redis.
const PREFIX: &str = "guild:";

/// How often an idle subscription checks that Redis still answers on it.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// Publish/subscribe across instances through Redis, with an in-process fallback.
#[derive(Debug, Clone)]
pub struct RedisPubSub {
    redis: Redis,
    hub: MemoryPubSub,
    subscribed: Arc<AtomicBool>,
}

impl RedisPubSub {
    /// Starts the subscriber task for `url` (the same Redis as `redis`, whose health it shares)
    /// on the current tokio runtime; it reconnects on its own, backing off up to 5 s.
    pub fn start(redis: Redis, url: &str) -> Result<Self, PubSubError> {
        let client = redis::Client::open(url).map_err(|e| PubSubError(e.to_string()))?;
        let bus = Self {
            redis,
            hub: MemoryPubSub::new(),
            subscribed: Arc::new(AtomicBool::new(false)),
        };
        let (hub, subscribed, redis) = (
            bus.hub.clone(),
            Arc::clone(&bus.subscribed),
            bus.redis.clone(),
        );
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(100);
            loop {
                let lost = match listen(&client, &redis, &hub, &subscribed).await {
                    Ok(()) => "the connection closed".to_owned(),
                    Err(e) => e.to_string(),
                };
                if subscribed.swap(false, Ordering::SeqCst) {
                    // Once per lost subscription; retries below are quiet.
                    backoff = Duration::from_millis(100);
                    tracing::warn!(error = %lost, "redis pub/sub subscription lost: delivering within this instance only");
                } else {
                    tracing::debug!(error = %lost, "redis pub/sub: still not subscribed");
                }
                redis.report_failure("pub/sub", &lost);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        });
        Ok(bus)
    }

    /// Whether the subscription to Redis is up (what other instances publish arrives).
    pub fn is_subscribed(&self) -> bool {
        self.subscribed.load(Ordering::SeqCst)
    }
}

/// Subscribes and forwards until the connection ends or stops answering.
async fn listen(
    client: &redis::Client,
    redis: &Redis,
    hub: &MemoryPubSub,
    subscribed: &AtomicBool,
) -> redis::RedisResult<()> {
    let timeout = redis.timeout();
    let timed_out = || redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut));
    let pubsub = tokio::time::timeout(timeout, client.get_async_pubsub())
        .await
        .map_err(|_| timed_out())??;
    let (mut sink, mut messages) = pubsub.split();
    tokio::time::timeout(timeout, sink.psubscribe(format!("{PREFIX}*")))
        .await
        .map_err(|_| timed_out())??;
    subscribed.store(true, Ordering::SeqCst);
    redis.report_answered();
    tracing::info!("redis pub/sub subscribed: deliveries between instances are on");
    // Whatever was published while the subscription was down is read back by the subscribers.
    hub.lag_all();
    let mut keepalive =
        tokio::time::interval_at(tokio::time::Instant::now() + KEEPALIVE, KEEPALIVE);
    loop {
        tokio::select! {
            message = messages.next() => {
                let Some(message) = message else {
                    return Ok(());
                };
                let Some(channel) = message.get_channel_name().strip_prefix(PREFIX) else {
                    continue;
                };
                let Ok(payload) = message.get_payload::<String>() else {
                    continue;
                };
                let _ = hub.publish(channel, &payload).await;
            }
            _ = keepalive.tick() => {
                tokio::time::timeout(timeout, sink.ping::<redis::Value>())
                    .await
                    .map_err(|_| timed_out())??;
            }
        }
    }
}

impl PubSub for RedisPubSub {
    fn publish<'a>(
        &'a self,
        channel: &'a str,
        message: &'a str,
    ) -> BoxFuture<'a, Result<(), PubSubError>> {
        Box::pin(async move {
            if !self.redis.admit() {
                // Redis is degraded: this instance's subscribers only.
                return self.hub.publish(channel, message).await;
            }
            let sent = async {
                let mut conn = self.redis.pool().get().await.map_err(|e| e.to_string())?;
                let _: i64 = cmd("PUBLISH")
                    .arg(format!("{PREFIX}{channel}"))
                    .arg(message)
                    .query_async(&mut conn)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok::<(), String>(())
            };
            let sent = tokio::time::timeout(self.redis.timeout(), sent)
                .await
                .unwrap_or_else(|_| Err("timed out".to_owned()));
            match sent {
                // Our own subscription brings it back to this instance's subscribers, unless it
                // is down: then they get it straight from the hub.
                Ok(()) if self.is_subscribed() => Ok(()),
                Ok(()) => self.hub.publish(channel, message).await,
                Err(e) => {
                    self.redis.report_failure("publish", &e);
                    self.hub.publish(channel, message).await
                }
            }
        })
    }

    fn subscribe(&self, channel: &str) -> Box<dyn Subscription> {
        self.hub.subscribe(channel)
    }
}
