//! Social: what members say to each other — chat rooms and their messages, discussions attached
//! to modules, announcements, and reactions.
//!
//! Time that decides a rule comes in as `now` from the caller's clock. This crate depends on
//! `kernel`, `db` and `learning` (a module's room and discussions are visible exactly when the
//! module is: `guild_learning::access`); it reads tenancy's identity tables (`memberships`,
//! `users`, `groups`) in SQL. What members hear about (notifications, the stream, XP) is done by
//! the api layer's reactions to this crate's events.

pub mod chat;
pub mod error;

pub use error::SocialError;
