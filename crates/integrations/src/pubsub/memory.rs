//! [`MemoryPubSub`]: channels within one process, on tokio broadcast channels.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use guild_kernel::ports::{BoxFuture, Delivery, PubSub, PubSubError, Subscription};
use tokio::sync::broadcast;

/// How many messages a subscriber may fall behind before it is told it lagged. A channel's ring
/// of this many slots is allocated when its first subscriber comes (48 bytes a slot): a member's
/// stream holds one, so 10,000 open streams hold 10,000 rings. Subscribers that lag read back
/// from PostgreSQL what they rely on, so a short ring costs a read after a burst, never an event.
const CAPACITY: usize = 16;

/// Sent through every channel by [`MemoryPubSub::lag_all`]; starts with NUL, which no published
/// message does (they are JSON), and reaches subscribers as [`Delivery::Lagged`].
const LAGGED: &str = "\0lagged";

type Channels = Arc<Mutex<HashMap<String, broadcast::Sender<Arc<str>>>>>;

/// Publish/subscribe within this process: what one request publishes reaches the subscribers
/// of the same instance only. A channel exists while it has subscribers.
#[derive(Debug, Clone, Default)]
pub struct MemoryPubSub {
    channels: Channels,
}

impl MemoryPubSub {
    /// A bus with no channels.
    pub fn new() -> Self {
        Self::default()
    }

    /// Tells every subscriber it may have missed messages (they read back what they rely on):
    /// the shared bus feeding this one was cut off for a while.
    pub fn lag_all(&self) {
        let channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        for sender in channels.values() {
            let _ = sender.send(Arc::from(LAGGED));
        }
    }

    /// How many channels have subscribers (for tests and metrics).
    pub fn channel_count(&self) -> usize {
        self.channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl PubSub for MemoryPubSub {
    fn publish<'a>(
        &'a self,
        channel: &'a str,
        message: &'a str,
    ) -> BoxFuture<'a, Result<(), PubSubError>> {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(sender) = channels.get(channel)
            && sender.send(Arc::from(message)).is_err()
        {
            // Nobody listens any more.
            channels.remove(channel);
        }
        Box::pin(std::future::ready(Ok(())))
    }

    fn subscribe(&self, channel: &str) -> Box<dyn Subscription> {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        let receiver = channels
            .entry(channel.to_owned())
            .or_insert_with(|| broadcast::channel(CAPACITY).0)
            .subscribe();
        Box::new(MemorySubscription {
            channel: channel.to_owned(),
            channels: Arc::clone(&self.channels),
            receiver,
        })
    }
}

#[derive(Debug)]
struct MemorySubscription {
    channel: String,
    channels: Channels,
    receiver: broadcast::Receiver<Arc<str>>,
}

impl Subscription for MemorySubscription {
    fn next(&mut self) -> BoxFuture<'_, Option<Delivery>> {
        Box::pin(async move {
            match self.receiver.recv().await {
                Ok(message) if &*message == LAGGED => Some(Delivery::Lagged),
                Ok(message) => Some(Delivery::Message(message.to_string())),
                Err(broadcast::error::RecvError::Lagged(_)) => Some(Delivery::Lagged),
                Err(broadcast::error::RecvError::Closed) => None,
            }
        })
    }
}

impl Drop for MemorySubscription {
    fn drop(&mut self) {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        // The last subscriber removes the channel (this receiver still counts until dropped).
        if channels
            .get(&self.channel)
            .is_some_and(|sender| sender.receiver_count() <= 1)
        {
            channels.remove(&self.channel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn subscribers_of_a_channel_receive_what_is_published_after_they_subscribed() {
        let bus = MemoryPubSub::new();
        bus.publish("a", "before anyone listens").await.unwrap();
        let mut first = bus.subscribe("a");
        let mut second = bus.subscribe("a");
        let mut other = bus.subscribe("b");
        bus.publish("a", "one").await.unwrap();
        bus.publish("a", "two").await.unwrap();
        for sub in [&mut first, &mut second] {
            assert_eq!(sub.next().await, Some(Delivery::Message("one".into())));
            assert_eq!(sub.next().await, Some(Delivery::Message("two".into())));
        }
        bus.publish("b", "for b").await.unwrap();
        assert_eq!(other.next().await, Some(Delivery::Message("for b".into())));
        assert_eq!(bus.channel_count(), 2);
        drop(first);
        assert_eq!(bus.channel_count(), 2, "a has a subscriber left");
        drop(second);
        drop(other);
        assert_eq!(
            bus.channel_count(),
            0,
            "channels go with their last subscriber"
        );
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_is_told_it_lagged() {
        let bus = MemoryPubSub::new();
        let mut slow = bus.subscribe("a");
        for i in 0..(CAPACITY + 10) {
            bus.publish("a", &i.to_string()).await.unwrap();
        }
        assert_eq!(slow.next().await, Some(Delivery::Lagged));
        // It then continues with the messages still kept.
        assert!(matches!(slow.next().await, Some(Delivery::Message(_))));
    }

    #[tokio::test]
    async fn lag_all_tells_every_subscriber() {
        let bus = MemoryPubSub::new();
        let mut a = bus.subscribe("a");
        let mut b = bus.subscribe("b");
        bus.lag_all();
        assert_eq!(a.next().await, Some(Delivery::Lagged));
        assert_eq!(b.next().await, Some(Delivery::Lagged));
    }
}
