//! Domain events: facts that other parts of Guild react to (module completed, quiz passed…).
//!
//! A domain function appends its events to the outbox in the same transaction as its write
//! (`guild_db::outbox::publish`), and the worker delivers each one at least once to every handler
//! registered for its kind. Handlers must therefore be idempotent.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A fact that happened, stored in the outbox as JSON under its [`KIND`](DomainEvent::KIND).
pub trait DomainEvent: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// A stable dotted name, e.g. `learning.module_completed`. Never renamed once shipped: rows in
    /// the outbox carry it.
    const KIND: &'static str;
}
