//! Publish/subscribe: two `RedisPubSub` instances on a real Redis (`REDIS_URL`, else the local
//! default) behave as two Guild instances; one pointed at a Redis that does not answer degrades
//! to its own process; and on a Redis of the test's own, stopped and started again, both keep
//! delivering to their own subscribers and deliver to each other again once it is back.

use std::time::Duration;

use guild_integrations::pubsub::RedisPubSub;
use guild_integrations::redis::Redis;
use guild_kernel::ports::{Delivery, PubSub, Subscription};

const TIMEOUT: Duration = Duration::from_secs(2);

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

fn instance(url: &str) -> RedisPubSub {
    let redis = Redis::connect(url, TIMEOUT).expect("usable redis URL");
    RedisPubSub::start(redis, url).expect("started")
}

async fn until_subscribed(bus: &RedisPubSub) {
    until(bus, true).await;
}

/// Waits until `bus`'s subscription is up (`true`) or down, at most 10 s.
async fn until(bus: &RedisPubSub, subscribed: bool) {
    for _ in 0..200 {
        if bus.is_subscribed() == subscribed {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the redis subscription is not {subscribed} after 10 s");
}

async fn next(sub: &mut Box<dyn Subscription>) -> Option<Delivery> {
    tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("a delivery within 5 s")
}

#[tokio::test]
async fn what_one_instance_publishes_reaches_the_subscribers_of_another() {
    let url = redis_url();
    let (a, b) = (instance(&url), instance(&url));
    until_subscribed(&a).await;
    until_subscribed(&b).await;
    let channel = format!("test:{}", uuid::Uuid::now_v7());
    let mut on_b = b.subscribe(&channel);
    let mut on_a = a.subscribe(&channel);
    // Subscribing to the connection is the pattern's; the first message may only race the
    // reconnect notice, which is a Lagged.
    a.publish(&channel, "{\"seq\":1}").await.expect("published");
    for sub in [&mut on_b, &mut on_a] {
        let mut got = next(sub).await;
        if got == Some(Delivery::Lagged) {
            got = next(sub).await;
        }
        assert_eq!(got, Some(Delivery::Message("{\"seq\":1}".into())));
    }
    let mut elsewhere = b.subscribe(&format!("test:{}", uuid::Uuid::now_v7()));
    assert!(
        tokio::time::timeout(Duration::from_millis(300), elsewhere.next())
            .await
            .is_err(),
        "another channel hears nothing"
    );
}

#[tokio::test]
async fn without_redis_an_instance_still_delivers_to_its_own_subscribers() {
    // Nothing listens on port 1.
    let bus = instance("redis://127.0.0.1:1");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!bus.is_subscribed());
    let mut sub = bus.subscribe("test:local");
    bus.publish("test:local", "{\"seq\":1}")
        .await
        .expect("degrades instead of failing");
    assert_eq!(
        next(&mut sub).await,
        Some(Delivery::Message("{\"seq\":1}".into()))
    );
}

#[tokio::test]
async fn with_redis_stopped_instances_deliver_to_their_own_and_to_each_other_once_it_is_back() {
    let mut server = guild_testkit::RedisServer::start();
    let url = server.url();
    let (a, b) = (instance(&url), instance(&url));
    until_subscribed(&a).await;
    until_subscribed(&b).await;
    let channel = format!("test:{}", uuid::Uuid::now_v7());
    let mut on_a = a.subscribe(&channel);
    let mut on_b = b.subscribe(&channel);

    server.stop();
    until(&a, false).await;
    until(&b, false).await;
    a.publish(&channel, "{\"seq\":1}")
        .await
        .expect("degrades instead of failing");
    assert_eq!(
        next(&mut on_a).await,
        Some(Delivery::Message("{\"seq\":1}".into())),
        "the publishing instance's own subscribers still get it"
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(300), on_b.next())
            .await
            .is_err(),
        "the other instance cannot hear it"
    );

    server.resume();
    until_subscribed(&a).await;
    until_subscribed(&b).await;
    // Both are told they may have missed something (they read it back), then hear each other.
    assert_eq!(next(&mut on_b).await, Some(Delivery::Lagged));
    assert_eq!(next(&mut on_a).await, Some(Delivery::Lagged));
    a.publish(&channel, "{\"seq\":2}").await.expect("published");
    for sub in [&mut on_b, &mut on_a] {
        assert_eq!(
            next(sub).await,
            Some(Delivery::Message("{\"seq\":2}".into()))
        );
    }
}
