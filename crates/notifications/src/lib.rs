//! Notifications: each member's in-app inbox, their event stream, presence and usage sessions.
//!
//! Owns the `notifications`, `member_stream_heads`, `member_stream_events`, `stream_tickets`,
//! `usage_sessions`, `presence_settings`, `presence_preferences`, `notification_templates`,
//! `notification_digests`, `changelog_entries` and `changelog_reads` tables. A notification has a
//! [`NotificationType`], a title and a body already written for its recipient, the entity it
//! links to (an [`EntityKind`] and an id) and its read and archived state.
//!
//! - [`inbox::deliver`] writes one notification, once per recipient and dedup key: the outbox
//!   delivers events at least once, and a redelivered event must not notify twice. Whoever reacts
//!   to an event (the api layer's reactions) builds the notification and names the key.
//! - [`inbox::list`], [`inbox::unread_count`], [`inbox::mark_read`], [`inbox::mark_all_read`] and
//!   [`inbox::archive`] are the member's own view; nobody reads or changes another member's inbox.
//! - [`stream`]: what is pushed to a member (`GET /v1/stream`), numbered per member in commit
//!   order and kept for a window, so a reconnecting client resumes exactly after the last id it
//!   saw, or is told to refetch when that is gone; [`tickets`] let a browser open it without an
//!   `Authorization` header (short-lived, single use, stored hashed).
//! - [`presence`]: who may see who is online (the tenant's switch, each member's choice to hide)
//!   and the online list; the sightings themselves are the kernel's `Presence` port's.
//! - [`sessions`]: each member's usage sessions, pinged by heartbeats and open streams; a pause
//!   longer than 30 minutes starts a new one.
//! - [`reply`]: the signed `Reply-To` address of the email that gives a mentor a question, and
//!   what is kept of an emailed reply (quoted text and signatures cut).
//! - [`changelog`]: the platform's "what's new", which the platform owner publishes and every
//!   member reads with an unread marker and hears about as a SYSTEM notification.
//!
//! Time that decides a rule (`read_at`, `archived_at`, `created_at`, a ticket's expiry, a
//! session's gap) comes in as `now` from the caller's clock. This crate depends on `kernel` and
//! `db` only; it reads `memberships` and `users` (owned by `tenancy`, below it) to skip members
//! who left, name online members and stamp a ticket with the account's session generation.

pub mod changelog;
pub mod email;
pub mod error;
pub mod events;
pub mod inbox;
pub mod kinds;
pub mod presence;
pub mod reply;
pub mod sessions;
pub mod stream;
pub mod templates;
pub mod tickets;
pub mod unsubscribe;

#[cfg(test)]
mod tests;

pub use error::NotificationsError;
pub use inbox::{Link, NewNotification, Notification};
pub use kinds::{EmailCategory, EntityKind, NotificationType};
