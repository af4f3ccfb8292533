//! Rate limiters: the Redis limiter against a real Redis (`REDIS_URL`, else the local default),
//! and the in-memory limiter. Every Redis test uses its own key prefix, so tests run in parallel.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use deadpool_redis::redis::cmd;
use guild_integrations::ratelimit::{MemoryRateLimiter, RedisRateLimiter};
use guild_integrations::redis::Redis;
use guild_kernel::ports::{RateLimiter, RateRule};

const TIMEOUT: Duration = Duration::from_millis(500);

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A prefix no other test (or earlier run) uses.
fn unique_prefix(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    format!("test:{test}:{}:{nanos}", std::process::id())
}

fn redis() -> Redis {
    Redis::connect(&redis_url(), TIMEOUT).expect("usable REDIS_URL")
}

fn redis_limiter(prefix: &str) -> RedisRateLimiter {
    RedisRateLimiter::new(&redis(), Some(prefix))
}

fn rule(limit: u32, window_ms: u64) -> RateRule {
    RateRule {
        limit,
        window: Duration::from_millis(window_ms),
    }
}

/// Hits `limit` times (all allowed, `remaining` counting down), then once more (refused).
async fn assert_limit_enforced(limiter: &dyn RateLimiter, key: &str, rule: RateRule) {
    for i in 1..=rule.limit {
        let d = limiter.hit(key, rule).await.expect("decision");
        assert!(d.allowed, "hit {i} should be allowed: {d:?}");
        assert_eq!(d.limit, rule.limit);
        assert_eq!(d.remaining, rule.limit - i, "hit {i}: {d:?}");
        assert!(
            d.reset_after > Duration::ZERO && d.reset_after <= rule.window,
            "{d:?}"
        );
    }
    let d = limiter.hit(key, rule).await.expect("decision");
    assert!(!d.allowed, "hit past the limit should be refused: {d:?}");
    assert_eq!(d.limit, rule.limit);
    assert_eq!(d.remaining, 0);
    assert!(
        d.reset_after > Duration::ZERO && d.reset_after <= rule.window,
        "{d:?}"
    );
}

/// Exhausts the window, waits for it to pass, and checks the key is allowed again.
async fn assert_window_resets(limiter: &dyn RateLimiter, key: &str) {
    let rule = rule(2, 300);
    assert_limit_enforced(limiter, key, rule).await;
    let refused = limiter.hit(key, rule).await.expect("decision");
    assert!(!refused.allowed);
    tokio::time::sleep(refused.reset_after + Duration::from_millis(50)).await;
    let d = limiter.hit(key, rule).await.expect("decision");
    assert!(d.allowed, "a new window should allow the key: {d:?}");
    assert_eq!(d.remaining, 1);
}

/// Fires 50 hits at once at a limit of 10; exactly 10 are allowed, each `remaining` once.
async fn assert_concurrent_hits_counted_exactly(limiter: Arc<dyn RateLimiter>, key: &str) {
    let rule = rule(10, 10_000);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let limiter = Arc::clone(&limiter);
            let key = key.to_owned();
            tokio::spawn(async move { limiter.hit(&key, rule).await })
        })
        .collect();
    let mut remaining_allowed = Vec::new();
    let mut refused = 0;
    for task in tasks {
        let d = task.await.expect("task").expect("decision");
        if d.allowed {
            remaining_allowed.push(d.remaining);
        } else {
            assert_eq!(d.remaining, 0);
            refused += 1;
        }
    }
    remaining_allowed.sort_unstable();
    assert_eq!(remaining_allowed, (0..10).collect::<Vec<u32>>());
    assert_eq!(refused, 40);
}

#[tokio::test]
async fn redis_allows_up_to_the_limit_then_refuses() {
    let limiter = redis_limiter(&unique_prefix("limit"));
    assert_limit_enforced(&limiter, "user:1", rule(5, 10_000)).await;
    // Other keys have their own counters.
    let d = limiter
        .hit("user:2", rule(5, 10_000))
        .await
        .expect("decision");
    assert!(d.allowed);
    assert_eq!(d.remaining, 4);
}

#[tokio::test]
async fn redis_allows_again_after_the_window() {
    let limiter = redis_limiter(&unique_prefix("window"));
    assert_window_resets(&limiter, "login:ip").await;
}

#[tokio::test]
async fn redis_keys_are_prefixed_and_expire_with_the_window() {
    let prefix = unique_prefix("keys");
    let limiter = redis_limiter(&prefix);
    let key = limiter.redis_key("k");
    assert_eq!(key, format!("guild:rl:{prefix}:k"));
    assert_eq!(
        RedisRateLimiter::new(&redis(), None).redis_key("k"),
        "guild:rl:k"
    );

    limiter.hit("k", rule(3, 5_000)).await.expect("decision");
    limiter.hit("k", rule(3, 5_000)).await.expect("decision");
    let pool = deadpool_redis::Config::from_url(redis_url())
        .create_pool(Some(deadpool_redis::Runtime::Tokio1))
        .expect("pool");
    let mut conn = pool.get().await.expect("connection");
    let count: i64 = cmd("GET")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .expect("GET");
    assert_eq!(count, 2);
    let ttl: i64 = cmd("PTTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .expect("PTTL");
    assert!(ttl > 0 && ttl <= 5_000, "ttl {ttl}");
}

#[tokio::test]
async fn redis_prefixes_isolate_limiters() {
    let rule = rule(1, 10_000);
    let a = redis_limiter(&unique_prefix("isolate-a"));
    let b = redis_limiter(&unique_prefix("isolate-b"));
    assert!(a.hit("k", rule).await.expect("decision").allowed);
    assert!(b.hit("k", rule).await.expect("decision").allowed);
    assert!(!a.hit("k", rule).await.expect("decision").allowed);
}

#[tokio::test]
async fn redis_instances_share_the_count() {
    let prefix = unique_prefix("shared");
    // Two pools, as two processes would have.
    let first = RedisRateLimiter::new(&redis(), Some(&prefix));
    let second = RedisRateLimiter::new(&redis(), Some(&prefix));
    let rule = rule(4, 10_000);
    for (i, limiter) in [&first, &second, &first, &second].into_iter().enumerate() {
        let d = limiter.hit("shared", rule).await.expect("decision");
        assert!(d.allowed, "hit {i}: {d:?}");
        assert_eq!(usize::try_from(d.remaining).expect("u32"), 3 - i);
    }
    assert!(!first.hit("shared", rule).await.expect("decision").allowed);
    assert!(!second.hit("shared", rule).await.expect("decision").allowed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_concurrent_hits_allow_exactly_the_limit() {
    let limiter: Arc<dyn RateLimiter> = Arc::new(redis_limiter(&unique_prefix("concurrent")));
    assert_concurrent_hits_counted_exactly(limiter, "burst").await;
}

#[tokio::test]
async fn redis_unreachable_falls_back_to_counting_in_process_quickly() {
    let redis = Redis::connect("redis://127.0.0.1:1", TIMEOUT).expect("valid URL");
    let limiter = RedisRateLimiter::new(&redis, None);
    let started = Instant::now();
    // Limits still hold, counted in this process.
    assert_limit_enforced(&limiter, "k", rule(3, 10_000)).await;
    assert!(limiter.is_degraded() && redis.is_degraded());
    assert_eq!(redis.degradations(), 1, "one outage, counted once");
    assert_peek_counts_nothing(&limiter, "peeked").await;
    // Counted without a future while degraded.
    let local = rule(1, 60_000);
    assert!(limiter.hit_local("local", local).is_some_and(|d| d.allowed));
    assert!(
        limiter
            .hit_local("local", local)
            .is_some_and(|d| !d.allowed)
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

/// A server that accepts connections and never answers; counts the connections.
fn silent_server() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming() {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            held.push(conn);
        }
    });
    (format!("redis://{addr}"), accepted)
}

#[tokio::test]
async fn a_silent_redis_costs_one_timeout_then_is_left_alone_until_its_probe() {
    let (url, accepted) = silent_server();
    let redis = Redis::connect(&url, Duration::from_millis(300))
        .expect("valid URL")
        .with_probe_interval(Duration::from_secs(600));
    let limiter = RedisRateLimiter::new(&redis, None);
    let started = Instant::now();
    let d = limiter.hit("k", rule(10, 60_000)).await.expect("decision");
    assert!(d.allowed && d.remaining == 9, "{d:?}");
    let first = started.elapsed();
    assert!(first < Duration::from_secs(2), "{first:?}");
    // Every later hit is counted here at once: no connection, no timeout.
    for _ in 0..50 {
        limiter.hit("k", rule(10, 60_000)).await.expect("decision");
    }
    assert!(
        started.elapsed() - first < Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );
    let d = limiter.hit("k", rule(10, 60_000)).await.expect("decision");
    assert!(!d.allowed, "{d:?}");
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_redis_that_stays_down_is_probed_at_most_once_per_interval() {
    let (url, accepted) = silent_server();
    let redis = Redis::connect(&url, Duration::from_millis(100))
        .expect("valid URL")
        .with_probe_interval(Duration::from_millis(250));
    let limiter = RedisRateLimiter::new(&redis, None);
    let started = Instant::now();
    let mut hits = 0;
    while started.elapsed() < Duration::from_millis(1_500) {
        limiter
            .hit("k", rule(1_000, 60_000))
            .await
            .expect("decision");
        hits += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The first failure, then a probe every interval plus its own timeout (~350 ms) at most.
    let connections = accepted.load(std::sync::atomic::Ordering::SeqCst);
    assert!(hits > 100, "{hits}");
    assert!((2..=6).contains(&connections), "{connections} connections");
    assert!(redis.is_degraded());
    assert_eq!(redis.degradations(), 1);
}

#[tokio::test]
async fn a_limiter_whose_redis_stops_counts_in_process_then_returns_to_redis_when_it_answers() {
    let mut server = guild_testkit::RedisServer::start();
    let redis = Redis::connect(&server.url(), TIMEOUT)
        .expect("valid URL")
        .with_probe_interval(Duration::from_millis(200));
    let prefix = unique_prefix("outage");
    let limiter = RedisRateLimiter::new(&redis, Some(&prefix));
    let rule = rule(3, 60_000);
    for remaining in [2, 1] {
        let d = limiter.hit("k", rule).await.expect("decision");
        assert_eq!(d.remaining, remaining, "{d:?}");
    }
    assert!(!limiter.is_degraded());

    server.stop();
    // Redis is gone: the count starts again here, and the limit still holds.
    assert_limit_enforced(&limiter, "k", rule).await;
    assert!(limiter.is_degraded());

    server.resume();
    let deadline = Instant::now() + Duration::from_secs(5);
    while limiter.is_degraded() {
        assert!(
            Instant::now() < deadline,
            "the limiter never went back to redis"
        );
        limiter.hit("waiting", rule).await.expect("decision");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Counted in the restarted (empty) Redis again.
    let d = limiter.hit("k", rule).await.expect("decision");
    assert!(d.allowed && d.remaining == 2, "{d:?}");
    let pool = deadpool_redis::Config::from_url(server.url())
        .create_pool(Some(deadpool_redis::Runtime::Tokio1))
        .expect("pool");
    let mut conn = pool.get().await.expect("connection");
    let count: i64 = cmd("GET")
        .arg(limiter.redis_key("k"))
        .query_async(&mut conn)
        .await
        .expect("GET");
    assert_eq!(count, 1);
    assert_eq!(redis.degradations(), 1);
}

#[tokio::test]
async fn memory_allows_up_to_the_limit_then_refuses() {
    let limiter = MemoryRateLimiter::new();
    assert_limit_enforced(&limiter, "user:1", rule(5, 10_000)).await;
    let d = limiter
        .hit("user:2", rule(5, 10_000))
        .await
        .expect("decision");
    assert!(d.allowed);
    assert_eq!(d.remaining, 4);
}

#[tokio::test]
async fn memory_allows_again_after_the_window() {
    assert_window_resets(&MemoryRateLimiter::new(), "login:ip").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_concurrent_hits_allow_exactly_the_limit() {
    let limiter: Arc<dyn RateLimiter> = Arc::new(MemoryRateLimiter::new());
    assert_concurrent_hits_counted_exactly(limiter, "burst").await;
}

#[tokio::test]
async fn memory_prunes_expired_windows() {
    let limiter = MemoryRateLimiter::with_prune_threshold(10);
    let short = rule(1, 20);
    for i in 0..10 {
        limiter
            .hit(&format!("old:{i}"), short)
            .await
            .expect("decision");
    }
    assert_eq!(limiter.tracked_keys(), 10);
    tokio::time::sleep(Duration::from_millis(40)).await;
    // Reaching the threshold with a new key drops the expired windows.
    limiter.hit("new", short).await.expect("decision");
    assert_eq!(limiter.tracked_keys(), 1);

    // Live windows are kept, and the map may grow past the threshold while they live.
    let long = rule(1, 60_000);
    for i in 0..25 {
        limiter
            .hit(&format!("live:{i}"), long)
            .await
            .expect("decision");
    }
    assert!(limiter.tracked_keys() >= 25);
    let d = limiter.hit("live:0", long).await.expect("decision");
    assert!(!d.allowed, "live windows keep their counts: {d:?}");
}

#[tokio::test]
async fn memory_zero_limit_refuses_everything() {
    let limiter = MemoryRateLimiter::new();
    let d = limiter.hit("k", rule(0, 1_000)).await.expect("decision");
    assert!(!d.allowed);
    assert_eq!(d.remaining, 0);
}

/// Peeking counts nothing; it says whether the next hit is allowed and what is left.
async fn assert_peek_counts_nothing(limiter: &dyn RateLimiter, key: &str) {
    let rule = rule(2, 60_000);
    for _ in 0..5 {
        let d = limiter.peek(key, rule).await.expect("decision");
        assert!(d.allowed, "{d:?}");
        assert_eq!(d.remaining, 2, "{d:?}");
    }
    limiter.hit(key, rule).await.expect("decision");
    let d = limiter.peek(key, rule).await.expect("decision");
    assert!(d.allowed && d.remaining == 1, "{d:?}");
    limiter.hit(key, rule).await.expect("decision");
    let d = limiter.peek(key, rule).await.expect("decision");
    assert!(!d.allowed && d.remaining == 0, "{d:?}");
    assert!(d.reset_after > Duration::ZERO && d.reset_after <= rule.window);
}

#[tokio::test]
async fn redis_peek_counts_nothing() {
    let limiter = redis_limiter(&unique_prefix("peek"));
    assert_peek_counts_nothing(&limiter, "k").await;
}

#[tokio::test]
async fn memory_peek_counts_nothing_and_counts_locally() {
    let limiter = MemoryRateLimiter::new();
    assert_peek_counts_nothing(&limiter, "k").await;
    let rule = rule(1, 60_000);
    assert!(limiter.hit_local("local", rule).is_some_and(|d| d.allowed));
    assert!(limiter.hit_local("local", rule).is_some_and(|d| !d.allowed));
    assert!(
        redis_limiter(&unique_prefix("local"))
            .hit_local("k", rule)
            .is_none(),
        "Redis counts through the server"
    );
}
