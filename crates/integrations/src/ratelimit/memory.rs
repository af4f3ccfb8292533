//! [`MemoryRateLimiter`]: fixed windows counted in process memory, for a single instance.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use guild_kernel::ports::{BoxFuture, RateDecision, RateLimitUnavailable, RateLimiter, RateRule};

use super::{MAX_WINDOW, MIN_WINDOW, decide, peeked};

/// Pruning starts once this many keys are tracked.
const DEFAULT_PRUNE_THRESHOLD: usize = 10_000;

/// One key's window.
#[derive(Debug, Clone, Copy)]
struct Window {
    count: u64,
    resets_at: Instant,
}

#[derive(Debug)]
struct MemoryState {
    windows: HashMap<String, Window>,
    /// Prune expired windows when the map reaches this size.
    prune_at: usize,
}

/// A fixed-window rate limiter in process memory: the default for a single instance.
///
/// Counters are not shared between processes. Expired windows are pruned whenever the map
/// reaches a threshold (10 000 keys by default, then twice the live keys after each prune), so
/// memory stays proportional to the keys active within their windows and pruning costs O(1)
/// amortized per hit. It never fails.
pub struct MemoryRateLimiter {
    state: Mutex<MemoryState>,
    prune_threshold: usize,
}

impl std::fmt::Debug for MemoryRateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("MemoryRateLimiter");
        if let Ok(state) = self.state.try_lock() {
            d.field("tracked_keys", &state.windows.len());
        }
        d.field("prune_threshold", &self.prune_threshold)
            .finish_non_exhaustive()
    }
}

impl Default for MemoryRateLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryRateLimiter {
    /// An empty limiter pruning from 10 000 tracked keys.
    pub fn new() -> Self {
        Self::with_prune_threshold(DEFAULT_PRUNE_THRESHOLD)
    }

    /// An empty limiter that starts pruning expired windows once `threshold` keys (at least 1)
    /// are tracked.
    pub fn with_prune_threshold(threshold: usize) -> Self {
        let threshold = threshold.max(1);
        Self {
            state: Mutex::new(MemoryState {
                windows: HashMap::new(),
                prune_at: threshold,
            }),
            prune_threshold: threshold,
        }
    }

    /// How many keys are tracked, including expired windows not yet pruned.
    pub fn tracked_keys(&self) -> usize {
        self.lock().windows.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        // The state is consistent after every statement, so a panic elsewhere cannot corrupt it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a hit now.
    pub(super) fn hit_now(&self, key: &str, rule: RateRule) -> RateDecision {
        self.hit_at(key, rule, Instant::now())
    }

    /// Peeks now.
    pub(super) fn peek_now(&self, key: &str, rule: RateRule) -> RateDecision {
        self.peek_at(key, rule, Instant::now())
    }

    fn hit_at(&self, key: &str, rule: RateRule, now: Instant) -> RateDecision {
        let window = rule.window.clamp(MIN_WINDOW, MAX_WINDOW);
        let mut guard = self.lock();
        let state = &mut *guard;
        if let Some(entry) = state.windows.get_mut(key) {
            return count_hit(entry, rule, window, now);
        }
        if state.windows.len() >= state.prune_at {
            state.windows.retain(|_, w| w.resets_at > now);
            state.prune_at = self
                .prune_threshold
                .max(state.windows.len().saturating_mul(2));
        }
        let entry = state.windows.entry(key.to_owned()).or_insert(Window {
            count: 0,
            resets_at: now + window,
        });
        count_hit(entry, rule, window, now)
    }
}

/// Counts a hit at `now` in `entry`, opening a fresh window if its window has passed.
fn count_hit(entry: &mut Window, rule: RateRule, window: Duration, now: Instant) -> RateDecision {
    if entry.resets_at <= now {
        *entry = Window {
            count: 0,
            resets_at: now + window,
        };
    }
    entry.count = entry.count.saturating_add(1);
    decide(
        rule,
        entry.count,
        entry.resets_at.saturating_duration_since(now),
    )
}

impl MemoryRateLimiter {
    fn peek_at(&self, key: &str, rule: RateRule, now: Instant) -> RateDecision {
        let window = rule.window.clamp(MIN_WINDOW, MAX_WINDOW);
        let state = self.lock();
        match state.windows.get(key).filter(|w| w.resets_at > now) {
            Some(w) => peeked(rule, w.count, w.resets_at.saturating_duration_since(now)),
            None => peeked(rule, 0, window),
        }
    }
}

impl RateLimiter for MemoryRateLimiter {
    fn hit<'a>(
        &'a self,
        key: &'a str,
        rule: RateRule,
    ) -> BoxFuture<'a, Result<RateDecision, RateLimitUnavailable>> {
        let decision = self.hit_now(key, rule);
        Box::pin(std::future::ready(Ok(decision)))
    }

    fn peek<'a>(
        &'a self,
        key: &'a str,
        rule: RateRule,
    ) -> BoxFuture<'a, Result<RateDecision, RateLimitUnavailable>> {
        let decision = self.peek_now(key, rule);
        Box::pin(std::future::ready(Ok(decision)))
    }

    fn hit_local(&self, key: &str, rule: RateRule) -> Option<RateDecision> {
        Some(self.hit_now(key, rule))
    }
}
