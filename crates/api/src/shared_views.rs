//! Heavy read-only views shared by the requests of this process for a few seconds.
//!
//! The manager dashboard aggregates every (member, module) pair of a manager's members — for
//! 1,000 members, about 210,000 — and is the same for every request that asks for the same
//! members, filter and thresholds. Computed per request, a manager refreshing it, or a team of
//! managers with the same reach opening it together, would each redo that work. A view is
//! therefore kept, already serialized, under a key holding everything its content depends on
//! (the tenant, the members the caller's grants reach, the filter), and:
//!
//! - used while younger than `fresh_for` (`GUILD_DASHBOARD_FRESH_SECS`, 30 s by default; 0
//!   computes every request, as in tests);
//! - computed once when asked for by several requests at a time: the first computes it, the
//!   others wait for it (single flight);
//! - when older, recomputed by one request while the others keep answering with the previous one
//!   for up to another `fresh_for` — never older than twice `fresh_for`;
//! - bounded: past [`MAX_BYTES`] over every entry, stale entries are dropped, then all others.
//!
//! Authorization is not cached: the caller's permission is checked and their reach computed on
//! every request, before the lookup, and two callers share an entry only when their reach is the
//! same set of members. A change of thresholds drops the tenant's entries in this process
//! ([`SharedViews::forget_tenant`]); other data shows within `fresh_for`, which the view states
//! in its `generated_at`.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use uuid::Uuid;

/// The most bytes kept over every entry.
pub const MAX_BYTES: usize = 64 * 1024 * 1024;

/// What a key needs to say: the tenant it belongs to (to forget a tenant's entries).
pub trait TenantKey {
    /// The tenant.
    fn tenant(&self) -> Uuid;
}

#[derive(Default)]
struct Entry {
    /// The value and when it was computed.
    value: Mutex<Option<(Instant, Bytes)>>,
    /// Held by the request computing the value.
    computing: tokio::sync::Mutex<()>,
}

impl Entry {
    fn current(&self) -> Option<(Instant, Bytes)> {
        self.value.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Serialized views by key (see the module).
pub struct SharedViews<K> {
    fresh_for: Duration,
    entries: Mutex<HashMap<K, Arc<Entry>>>,
}

impl<K> std::fmt::Debug for SharedViews<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedViews")
            .field("fresh_for", &self.fresh_for)
            .finish_non_exhaustive()
    }
}

impl<K: Eq + Hash + Clone + TenantKey> SharedViews<K> {
    /// Views kept for `fresh_for`; zero computes every request.
    pub fn new(fresh_for: Duration) -> Self {
        Self {
            fresh_for,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// How long a view is used.
    pub fn fresh_for(&self) -> Duration {
        self.fresh_for
    }

    /// The view under `key`: kept, or computed by `compute` (once for the requests asking at
    /// the same time).
    pub(crate) async fn get_or_compute<E, F, Fut>(&self, key: K, compute: F) -> Result<Bytes, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Bytes, E>>,
    {
        if self.fresh_for.is_zero() {
            return compute().await;
        }
        let entry = self
            .entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.clone())
            .or_default()
            .clone();
        let current = entry.current();
        if let Some((at, value)) = &current
            && at.elapsed() < self.fresh_for
        {
            return Ok(value.clone());
        }
        let _computing = match entry.computing.try_lock() {
            Ok(guard) => guard,
            Err(_) => {
                // Another request is computing it: answer with the previous value while it is
                // younger than twice `fresh_for`, or wait for the new one.
                if let Some((at, value)) = current
                    && at.elapsed() < self.fresh_for * 2
                {
                    return Ok(value);
                }
                entry.computing.lock().await
            }
        };
        if let Some((at, value)) = entry.current()
            && at.elapsed() < self.fresh_for
        {
            return Ok(value);
        }
        let value = compute().await?;
        *entry.value.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), value.clone()));
        self.bound(&key);
        Ok(value)
    }

    /// Drops every view of `tenant`.
    pub(crate) fn forget_tenant(&self, tenant: Uuid) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|k, _| k.tenant() != tenant);
    }

    /// Past [`MAX_BYTES`], drops the stale entries, then every entry but `keep`.
    fn bound(&self, keep: &K) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let size = |entries: &HashMap<K, Arc<Entry>>| -> usize {
            entries
                .values()
                .filter_map(|e| e.current())
                .map(|(_, v)| v.len())
                .sum()
        };
        if size(&entries) <= MAX_BYTES {
            return;
        }
        let fresh_for = self.fresh_for;
        entries.retain(|k, e| {
            k == keep || e.current().is_some_and(|(at, _)| at.elapsed() < fresh_for)
        });
        if size(&entries) > MAX_BYTES {
            entries.retain(|k, _| k == keep);
        }
    }

    /// Views kept (computed or being computed).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    struct Key(Uuid, u32);

    impl TenantKey for Key {
        fn tenant(&self) -> Uuid {
            self.0
        }
    }

    async fn count(
        views: &SharedViews<Key>,
        key: Key,
        calls: &AtomicUsize,
        wait: Duration,
    ) -> Bytes {
        views
            .get_or_compute(key, || async {
                let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::time::sleep(wait).await;
                Ok::<_, ()>(Bytes::from(n.to_string()))
            })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn requests_at_the_same_time_compute_a_view_once() {
        let views = SharedViews::new(Duration::from_secs(30));
        let calls = AtomicUsize::new(0);
        let key = Key(Uuid::nil(), 1);
        let all = futures_util::future::join_all(
            (0..8).map(|_| count(&views, key.clone(), &calls, Duration::from_millis(50))),
        )
        .await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(all.iter().all(|v| v == "1"), "{all:?}");
        // Kept: no new computation.
        assert_eq!(count(&views, key, &calls, Duration::ZERO).await, "1");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn another_key_or_a_forgotten_tenant_computes_again() {
        let views = SharedViews::new(Duration::from_secs(30));
        let calls = AtomicUsize::new(0);
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert_eq!(count(&views, Key(a, 1), &calls, Duration::ZERO).await, "1");
        // Another reach (or filter) is another view.
        assert_eq!(count(&views, Key(a, 2), &calls, Duration::ZERO).await, "2");
        assert_eq!(count(&views, Key(b, 1), &calls, Duration::ZERO).await, "3");
        views.forget_tenant(a);
        assert_eq!(views.len(), 1);
        assert_eq!(count(&views, Key(a, 1), &calls, Duration::ZERO).await, "4");
        assert_eq!(count(&views, Key(b, 1), &calls, Duration::ZERO).await, "3");
    }

    #[tokio::test]
    async fn a_stale_view_is_recomputed_by_one_request_while_others_use_it() {
        let views = SharedViews::new(Duration::from_millis(100));
        let calls = AtomicUsize::new(0);
        let key = Key(Uuid::nil(), 1);
        assert_eq!(
            count(&views, key.clone(), &calls, Duration::ZERO).await,
            "1"
        );
        tokio::time::sleep(Duration::from_millis(120)).await;
        let slow = count(&views, key.clone(), &calls, Duration::from_millis(60));
        let others = async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            count(&views, key.clone(), &calls, Duration::ZERO).await
        };
        let (recomputed, other) = futures_util::future::join(slow, others).await;
        assert_eq!(recomputed, "2");
        assert_eq!(
            other, "1",
            "the other request answers with the previous view"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn zero_freshness_computes_every_request() {
        let views = SharedViews::new(Duration::ZERO);
        let calls = AtomicUsize::new(0);
        let key = Key(Uuid::nil(), 1);
        count(&views, key.clone(), &calls, Duration::ZERO).await;
        count(&views, key, &calls, Duration::ZERO).await;
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(views.len(), 0);
    }

    #[tokio::test]
    async fn past_the_byte_bound_stale_views_go_first() {
        let views = SharedViews::new(Duration::from_millis(50));
        let big = Bytes::from(vec![b'x'; MAX_BYTES / 2 + 1]);
        let put = |k: u32| {
            let big = big.clone();
            views.get_or_compute(Key(Uuid::nil(), k), move || async move { Ok::<_, ()>(big) })
        };
        put(1).await.unwrap();
        tokio::time::sleep(Duration::from_millis(60)).await;
        put(2).await.unwrap();
        assert_eq!(views.len(), 1, "the stale first view was dropped");
        put(3).await.unwrap();
        assert_eq!(
            views.len(),
            1,
            "over the bound with fresh views: only the newest is kept"
        );
    }
}
