//! [`RedisPubSub`]: publish/subscribe between instances through Redis.
//!
//! Each instance keeps one Redis connection subscribed to `guild:*` (a pattern, so subscribing to
//! a new channel costs no round trip) and hands what arrives to its in-process hub, where streams
//! subscribe. Publishing is a `PUBLISH guild:<channel>` on the pool. When Redis is unreachable the
//! instance degrades to its hub alone: what it publishes still reaches its own subscribers, and
//! once the subscription is back every subscriber is told it may have lagged, so it reads back
//! from PostgreSQL what other instances published meanwhile.

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

/// Publish/subscribe across instances through Redis, with an in-process fallback.
#[derive(Debug, Clone)]
pub struct RedisPubSub {
    redis: Redis,
    hub: MemoryPubSub,
    subscribed: Arc<AtomicBool>,
}

impl RedisPubSub {
    /// Starts the subscriber task for `url` (the same Redis as `redis`) on the current tokio
    /// runtime; it reconnects on its own, backing off up to 5 s.
    pub fn start(redis: Redis, url: &str) -> Result<Self, PubSubError> {
        let client = redis::Client::open(url).map_err(|e| PubSubError(e.to_string()))?;
        let bus = Self {
            redis,
            hub: MemoryPubSub::new(),
            subscribed: Arc::new(AtomicBool::new(false)),
        };
        let (hub, subscribed) = (bus.hub.clone(), Arc::clone(&bus.subscribed));
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(100);
            loop {
                match listen(&client, &hub, &subscribed).await {
                    Ok(()) => backoff = Duration::from_millis(100),
                    Err(e) => tracing::warn!(error = %e, "redis pub/sub subscription lost"),
                }
                if subscribed.swap(false, Ordering::SeqCst) {
                    tracing::warn!("redis pub/sub: delivering within this instance only");
                }
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

/// Subscribes and forwards until the connection ends.
async fn listen(
    client: &redis::Client,
    hub: &MemoryPubSub,
    subscribed: &AtomicBool,
) -> redis::RedisResult<()> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.psubscribe(format!("{PREFIX}*")).await?;
    // Whatever was published while the subscription was down is read back by the subscribers.
    hub.lag_all();
    subscribed.store(true, Ordering::SeqCst);
    let mut messages = pubsub.on_message();
    while let Some(message) = messages.next().await {
        let Some(channel) = message.get_channel_name().strip_prefix(PREFIX) else {
            continue;
        };
        let Ok(payload) = message.get_payload::<String>() else {
            continue;
        };
        let _ = hub.publish(channel, &payload).await;
    }
    Ok(())
}

impl PubSub for RedisPubSub {
    fn publish<'a>(
        &'a self,
        channel: &'a str,
        message: &'a str,
    ) -> BoxFuture<'a, Result<(), PubSubError>> {
        Box::pin(async move {
            let sent: Result<(), String> = async {
                let mut conn = self.redis.pool().get().await.map_err(|e| e.to_string())?;
                let _: i64 = cmd("PUBLISH")
                    .arg(format!("{PREFIX}{channel}"))
                    .arg(message)
                    .query_async(&mut conn)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(())
            }
            .await;
            match sent {
                // Our own subscription brings it back to this instance's subscribers, unless it
                // is down: then they get it straight from the hub.
                Ok(()) if self.is_subscribed() => Ok(()),
                Ok(()) => self.hub.publish(channel, message).await,
                Err(e) => {
                    tracing::warn!(error = %e, "redis publish failed; delivering within this instance");
                    self.hub.publish(channel, message).await
                }
            }
        })
    }

    fn subscribe(&self, channel: &str) -> Box<dyn Subscription> {
        self.hub.subscribe(channel)
    }
}
