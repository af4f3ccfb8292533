//! The kernel's [`PubSub`](guild_kernel::ports::PubSub): [`MemoryPubSub`], within one process
//! (the default, for a single instance).

mod memory;

pub use memory::MemoryPubSub;
