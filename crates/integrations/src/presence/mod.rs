//! The kernel's [`Presence`](guild_kernel::ports::Presence): [`MemoryPresence`], within one
//! process (the default, for a single instance), and [`RedisPresence`], shared by every instance
//! through Redis (when `REDIS_URL` is set), which answers from its own [`MemoryPresence`] while
//! Redis is unreachable.
//!
//! Both keep the same rules: a member is online while `now` is before their last sighting plus
//! the TTL; `since` is the first sighting after they were last offline; a stream's slot lapses a
//! TTL after it was opened or last refreshed, and a member holds at most `cap` slots. Time is the
//! caller's `now` (the app's clock), never the store's.

mod memory;
mod redis;

pub use memory::MemoryPresence;
pub use redis::RedisPresence;

/// The default presence TTL: online for 90 s after the last sighting.
pub const DEFAULT_TTL: std::time::Duration = std::time::Duration::from_secs(90);
