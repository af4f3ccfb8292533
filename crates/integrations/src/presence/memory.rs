//! [`MemoryPresence`]: who is online and their open streams, in process memory.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use guild_kernel::ports::{BoxFuture, Online, Presence};
use guild_kernel::{TenantId, UserId};
use uuid::Uuid;

/// Pruning of members gone offline starts once this many sightings are kept.
const PRUNE_THRESHOLD: usize = 10_000;

/// A member's last sighting.
#[derive(Debug, Clone, Copy)]
struct Seen {
    since: DateTime<Utc>,
    last: DateTime<Utc>,
}

#[derive(Debug, Default)]
struct State {
    seen: HashMap<TenantId, HashMap<UserId, Seen>>,
    /// Sightings kept, over every tenant.
    kept: usize,
    /// Prune when `kept` reaches this.
    prune_at: usize,
    /// Each member's open streams and when their slots lapse.
    streams: HashMap<(TenantId, UserId), HashMap<Uuid, DateTime<Utc>>>,
}

/// Presence in process memory: the default for a single instance, and what [`super::RedisPresence`]
/// answers from while Redis is unreachable. Sightings of members gone offline are pruned as the
/// map grows (from 10,000, then at twice what is left), and a tenant's when it is listed.
#[derive(Debug)]
pub struct MemoryPresence {
    ttl: chrono::Duration,
    state: Mutex<State>,
}

impl MemoryPresence {
    /// Members stay online `ttl` after they were last seen.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl: chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::seconds(90)),
            state: Mutex::new(State {
                prune_at: PRUNE_THRESHOLD,
                ..State::default()
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every statement leaves the state consistent, so a panic elsewhere cannot corrupt it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks a sighting at `now`.
    pub fn touch_now(&self, tenant: TenantId, user: UserId, now: DateTime<Utc>) {
        let ttl = self.ttl;
        let mut guard = self.lock();
        let state = &mut *guard;
        if state.kept >= state.prune_at {
            let mut kept = 0;
            for users in state.seen.values_mut() {
                users.retain(|_, s| s.last + ttl > now);
                kept += users.len();
            }
            state.seen.retain(|_, users| !users.is_empty());
            state.kept = kept;
            state.prune_at = PRUNE_THRESHOLD.max(kept.saturating_mul(2));
        }
        let users = state.seen.entry(tenant).or_default();
        match users.get_mut(&user) {
            Some(seen) if seen.last + ttl > now => seen.last = seen.last.max(now),
            Some(seen) => {
                *seen = Seen {
                    since: now,
                    last: now,
                }
            }
            None => {
                users.insert(
                    user,
                    Seen {
                        since: now,
                        last: now,
                    },
                );
                state.kept += 1;
            }
        }
    }

    /// The tenant's members online at `now`.
    pub fn online_now(&self, tenant: TenantId, now: DateTime<Utc>) -> Vec<Online> {
        let ttl = self.ttl;
        let mut guard = self.lock();
        let state = &mut *guard;
        let Some(users) = state.seen.get_mut(&tenant) else {
            return Vec::new();
        };
        let before = users.len();
        users.retain(|_, s| s.last + ttl > now);
        state.kept -= before - users.len();
        let online = users
            .iter()
            .map(|(user, s)| Online {
                user: *user,
                since: s.since,
            })
            .collect();
        if users.is_empty() {
            state.seen.remove(&tenant);
        }
        online
    }

    /// Claims a stream slot at `now`; `false` when the member holds `cap` live ones.
    pub fn open_stream_now(
        &self,
        tenant: TenantId,
        user: UserId,
        stream: Uuid,
        cap: u32,
        now: DateTime<Utc>,
    ) -> bool {
        {
            let mut state = self.lock();
            let slots = state.streams.entry((tenant, user)).or_default();
            slots.retain(|_, lapses| *lapses > now);
            if !slots.contains_key(&stream) && slots.len() >= cap as usize {
                if slots.is_empty() {
                    state.streams.remove(&(tenant, user));
                }
                return false;
            }
            slots.insert(stream, now + self.ttl);
        }
        self.touch_now(tenant, user, now);
        true
    }

    /// Keeps a stream's slot until a TTL after `now`.
    pub fn refresh_stream_now(
        &self,
        tenant: TenantId,
        user: UserId,
        stream: Uuid,
        now: DateTime<Utc>,
    ) {
        self.lock()
            .streams
            .entry((tenant, user))
            .or_default()
            .insert(stream, now + self.ttl);
        self.touch_now(tenant, user, now);
    }

    /// Releases a stream's slot.
    pub fn close_stream_now(&self, tenant: TenantId, user: UserId, stream: Uuid) {
        let mut state = self.lock();
        if let Some(slots) = state.streams.get_mut(&(tenant, user)) {
            slots.remove(&stream);
            if slots.is_empty() {
                state.streams.remove(&(tenant, user));
            }
        }
    }

    /// How many sightings are kept, offline members not yet pruned included (for tests).
    pub fn kept(&self) -> usize {
        self.lock().kept
    }
}

impl Default for MemoryPresence {
    fn default() -> Self {
        Self::new(super::DEFAULT_TTL)
    }
}

impl Presence for MemoryPresence {
    fn touch<'a>(
        &'a self,
        tenant: TenantId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, ()> {
        self.touch_now(tenant, user, now);
        Box::pin(std::future::ready(()))
    }

    fn online<'a>(&'a self, tenant: TenantId, now: DateTime<Utc>) -> BoxFuture<'a, Vec<Online>> {
        Box::pin(std::future::ready(self.online_now(tenant, now)))
    }

    fn open_stream<'a>(
        &'a self,
        tenant: TenantId,
        user: UserId,
        stream: Uuid,
        cap: u32,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, bool> {
        Box::pin(std::future::ready(
            self.open_stream_now(tenant, user, stream, cap, now),
        ))
    }

    fn refresh_stream<'a>(
        &'a self,
        tenant: TenantId,
        user: UserId,
        stream: Uuid,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, ()> {
        self.refresh_stream_now(tenant, user, stream, now);
        Box::pin(std::future::ready(()))
    }

    fn close_stream<'a>(
        &'a self,
        tenant: TenantId,
        user: UserId,
        stream: Uuid,
    ) -> BoxFuture<'a, ()> {
        self.close_stream_now(tenant, user, stream);
        Box::pin(std::future::ready(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    #[tokio::test]
    async fn a_member_is_online_until_the_ttl_after_their_last_sighting() {
        let presence = MemoryPresence::new(Duration::from_secs(90));
        let (tenant, other) = (TenantId::new(), TenantId::new());
        let (ann, bob) = (UserId::new(), UserId::new());
        presence.touch(tenant, ann, at(0)).await;
        presence.touch(tenant, ann, at(60)).await;
        presence.touch(tenant, bob, at(100)).await;
        let mut online = presence.online(tenant, at(149)).await;
        online.sort_by_key(|o| o.since);
        assert_eq!(
            online,
            vec![
                Online {
                    user: ann,
                    since: at(0)
                },
                Online {
                    user: bob,
                    since: at(100)
                }
            ]
        );
        assert!(presence.online(other, at(149)).await.is_empty());
        // Ann was last seen at 60: offline from 150; Bob stays until 190.
        assert_eq!(
            presence.online(tenant, at(150)).await,
            vec![Online {
                user: bob,
                since: at(100)
            }]
        );
        // Back after a gap: online since the new sighting.
        presence.touch(tenant, ann, at(200)).await;
        assert_eq!(
            presence.online(tenant, at(201)).await,
            vec![Online {
                user: ann,
                since: at(200)
            }]
        );
        assert_eq!(presence.kept(), 1, "offline members are pruned when listed");
    }

    #[tokio::test]
    async fn a_member_holds_at_most_cap_stream_slots_until_closed_or_lapsed() {
        let presence = MemoryPresence::new(Duration::from_secs(90));
        let (tenant, ann) = (TenantId::new(), UserId::new());
        let streams: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        assert!(
            presence
                .open_stream(tenant, ann, streams[0], 2, at(0))
                .await
        );
        assert!(
            presence
                .open_stream(tenant, ann, streams[1], 2, at(10))
                .await
        );
        assert!(
            !presence
                .open_stream(tenant, ann, streams[2], 2, at(20))
                .await
        );
        assert_eq!(
            presence.online(tenant, at(20)).await.len(),
            1,
            "online while streaming"
        );
        presence.close_stream(tenant, ann, streams[0]).await;
        assert!(
            presence
                .open_stream(tenant, ann, streams[2], 2, at(30))
                .await
        );
        // A refreshed slot is kept; one left alone lapses a TTL after it was last refreshed.
        presence
            .refresh_stream(tenant, ann, streams[1], at(80))
            .await;
        let fourth = Uuid::now_v7();
        assert!(!presence.open_stream(tenant, ann, fourth, 2, at(119)).await);
        assert!(
            presence.open_stream(tenant, ann, fourth, 2, at(120)).await,
            "the slot opened at 30 lapsed at 120"
        );
        // Another member's slots are their own.
        assert!(
            presence
                .open_stream(tenant, UserId::new(), Uuid::now_v7(), 2, at(120))
                .await
        );
    }

    #[test]
    fn sightings_of_members_gone_offline_are_pruned_as_the_map_grows() {
        let presence = MemoryPresence::new(Duration::from_secs(90));
        let tenant = TenantId::new();
        for _ in 0..PRUNE_THRESHOLD {
            presence.touch_now(tenant, UserId::new(), at(0));
        }
        assert_eq!(presence.kept(), PRUNE_THRESHOLD);
        presence.touch_now(tenant, UserId::new(), at(1000));
        assert_eq!(presence.kept(), 1);
    }
}
