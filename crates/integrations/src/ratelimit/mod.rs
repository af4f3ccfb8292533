//! Rate limiting: fixed windows in Redis (several instances) or in memory (one instance).
//!
//! Both limiters implement [`RateLimiter`](guild_kernel::ports::RateLimiter) with the same
//! fixed-window semantics: the first hit on a key opens a window of `rule.window`; every hit in
//! that window counts, and hits past `rule.limit` are refused (`allowed: false`, `remaining: 0`)
//! with `reset_after` saying when the window closes. Refused hits still count, so hammering a key does not shorten its window. When
//! the window has passed, the next hit opens a fresh one. Windows are clamped to between one
//! millisecond and one year.
//!
//! - [`RedisRateLimiter`] keeps the counters in Redis, so every instance of Guild sharing that
//!   Redis shares the limits. Each hit is one atomic Lua script (`INCR`, `PEXPIRE` on the first
//!   hit, `PTTL`). A Redis error or timeout marks Redis degraded (see
//!   [`Redis`](crate::redis::Redis)): until it answers again, hits are counted by an in-process
//!   [`MemoryRateLimiter`] without calling Redis, so limits keep holding per instance and
//!   sign-in stays available; it never answers
//!   [`RateLimitUnavailable`](guild_kernel::ports::RateLimitUnavailable).
//! - [`MemoryRateLimiter`] keeps the counters in the process: the default for a single instance.
//!   It never fails, and prunes expired windows as it grows so memory stays bounded by the keys
//!   active within their windows. It also counts without a future
//!   ([`RateLimiter::hit_local`](guild_kernel::ports::RateLimiter::hit_local)), so the
//!   per-tenant limit on every authenticated request costs a lock, not an allocation.
//!
//! `peek` reads a key's window without counting, for limits that count failures only (sign-in
//! per account): the caller peeks before the attempt and hits after a failure.
//!
//! One file per limiter (`redis.rs`, `memory.rs`); this module keeps the window bounds and the
//! decision both build.

use std::time::Duration;

use guild_kernel::ports::{RateDecision, RateRule};

mod memory;
mod redis;

pub use memory::MemoryRateLimiter;
pub use redis::{KEY_PREFIX, RedisRateLimiter};

/// The shortest window: Redis cannot expire a key after zero milliseconds.
const MIN_WINDOW: Duration = Duration::from_millis(1);

/// The longest window (a year), so deadlines and expiries cannot overflow.
const MAX_WINDOW: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// Builds the decision for the `count`th hit in a window that resets after `reset_after`.
fn decide(rule: RateRule, count: u64, reset_after: Duration) -> RateDecision {
    let allowed = count <= u64::from(rule.limit);
    let remaining = if allowed {
        // `count <= limit`, so this fits; saturate rather than trust the arithmetic.
        u32::try_from(u64::from(rule.limit) - count).unwrap_or(0)
    } else {
        0
    };
    RateDecision {
        allowed,
        limit: rule.limit,
        remaining,
        reset_after,
    }
}

/// The decision for the next hit of a window that holds `count` hits.
fn peeked(rule: RateRule, count: u64, reset_after: Duration) -> RateDecision {
    let mut decision = decide(rule, count.saturating_add(1), reset_after);
    if decision.allowed {
        decision.remaining = decision.remaining.saturating_add(1);
    }
    decision
}
