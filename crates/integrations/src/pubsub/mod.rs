//! The kernel's [`PubSub`](guild_kernel::ports::PubSub): [`MemoryPubSub`], within one process
//! (the default, for a single instance), and [`RedisPubSub`], across instances through Redis
//! (when `REDIS_URL` is set).

mod memory;
mod redis;

pub use memory::MemoryPubSub;
pub use redis::RedisPubSub;
