//! Presence: two `RedisPresence` instances on a real Redis (`REDIS_URL`, else the local default)
//! behave as two Guild instances; one whose Redis does not answer degrades to its own process
//! and returns to Redis once it answers (a `redis-server` this test starts and stops).

use std::time::Duration;

use chrono::{DateTime, Utc};
use guild_integrations::presence::RedisPresence;
use guild_integrations::redis::Redis;
use guild_kernel::ports::{Online, Presence};
use guild_kernel::{TenantId, UserId};
use uuid::Uuid;

const TTL: Duration = Duration::from_secs(90);

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

fn instance(url: &str) -> RedisPresence {
    let redis = Redis::connect(url, Duration::from_secs(2)).expect("usable redis URL");
    RedisPresence::new(&redis, TTL)
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).expect("a time")
}

fn users(mut online: Vec<Online>) -> Vec<(UserId, DateTime<Utc>)> {
    online.sort_by_key(|o| o.since);
    online.into_iter().map(|o| (o.user, o.since)).collect()
}

#[tokio::test]
async fn two_instances_sharing_redis_see_the_same_members_until_the_ttl_passes() {
    let url = redis_url();
    let (a, b) = (instance(&url), instance(&url));
    let (tenant, other) = (TenantId::new(), TenantId::new());
    let (ann, bob) = (UserId::new(), UserId::new());
    a.touch(tenant, ann, at(0)).await;
    b.touch(tenant, ann, at(60)).await;
    b.touch(tenant, bob, at(100)).await;
    a.touch(other, UserId::new(), at(100)).await;
    assert_eq!(
        users(a.online(tenant, at(149)).await),
        vec![(ann, at(0)), (bob, at(100))],
        "one instance sees what the other saw; since is the first sighting"
    );
    assert_eq!(users(b.online(tenant, at(150)).await), vec![(bob, at(100))]);
    // A sighting older than the last one does not move it back.
    a.touch(tenant, bob, at(50)).await;
    assert_eq!(users(a.online(tenant, at(189)).await), vec![(bob, at(100))]);
    assert!(a.online(tenant, at(190)).await.is_empty());
    // Back after the gap: online since the new sighting.
    b.touch(tenant, ann, at(300)).await;
    assert_eq!(users(a.online(tenant, at(301)).await), vec![(ann, at(300))]);
    assert!(!a.is_degraded() && !b.is_degraded());
}

#[tokio::test]
async fn a_members_stream_slots_are_capped_across_instances() {
    let url = redis_url();
    let (a, b) = (instance(&url), instance(&url));
    let (tenant, ann) = (TenantId::new(), UserId::new());
    let streams: Vec<Uuid> = (0..4).map(|_| Uuid::now_v7()).collect();
    assert!(a.open_stream(tenant, ann, streams[0], 2, at(0)).await);
    assert!(b.open_stream(tenant, ann, streams[1], 2, at(10)).await);
    assert!(!a.open_stream(tenant, ann, streams[2], 2, at(20)).await);
    assert!(!b.open_stream(tenant, ann, streams[2], 2, at(20)).await);
    assert_eq!(users(b.online(tenant, at(20)).await), vec![(ann, at(0))]);
    // Closing on one instance frees the slot for the other.
    a.close_stream(tenant, ann, streams[0]).await;
    assert!(b.open_stream(tenant, ann, streams[2], 2, at(30)).await);
    // A slot refreshed is kept; one left alone lapses a TTL after its last refresh.
    a.refresh_stream(tenant, ann, streams[1], at(80)).await;
    assert!(!a.open_stream(tenant, ann, streams[3], 2, at(119)).await);
    assert!(a.open_stream(tenant, ann, streams[3], 2, at(120)).await);
}

/// A `redis-server` on `port`, stopped on drop.
struct Server(std::process::Child);

impl Server {
    async fn start(port: u16) -> Self {
        let server = Self(
            std::process::Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("start redis-server (apt-get install redis-server)"),
        );
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("redis-server did not start on {port}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[tokio::test]
async fn without_redis_presence_answers_from_the_process_and_returns_to_redis_once_it_answers() {
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let retry = Duration::from_millis(100);
    let a = instance(&url).with_retry(retry);
    let (tenant, ann, bob) = (TenantId::new(), UserId::new(), UserId::new());

    // Nothing listens: the instance answers from its own memory.
    a.touch(tenant, ann, at(0)).await;
    assert!(a.is_degraded());
    assert_eq!(users(a.online(tenant, at(1)).await), vec![(ann, at(0))]);
    assert!(a.open_stream(tenant, ann, Uuid::now_v7(), 1, at(1)).await);
    assert!(
        !a.open_stream(tenant, ann, Uuid::now_v7(), 1, at(1)).await,
        "capped per instance meanwhile"
    );

    // Redis comes up: after the retry interval the instance writes there again, where another
    // instance sees it.
    let server = Server::start(port).await;
    tokio::time::sleep(retry * 2).await;
    a.touch(tenant, bob, at(2)).await;
    assert!(!a.is_degraded(), "back on Redis");
    let b = instance(&url);
    assert_eq!(users(b.online(tenant, at(3)).await), vec![(bob, at(2))]);

    // Redis goes away again: still answering, from the process.
    drop(server);
    a.touch(tenant, ann, at(4)).await;
    assert!(a.is_degraded());
    assert!(
        users(a.online(tenant, at(5)).await).contains(&(ann, at(0))),
        "what this instance saw while Redis was down"
    );
}
