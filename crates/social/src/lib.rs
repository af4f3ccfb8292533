//! Social: what members say to each other — chat rooms and their messages, discussions attached
//! to modules, announcements, knowledge suggestions, the knowledge feed, and reactions.
//!
//! - [`discussions`] owns `discussion_threads`, `discussion_posts` and `discussion_follows`:
//!   threads of a module (or one of its sections), replies nested by parent, resolve, pin, lock
//!   and hide for moderation.
//! - [`announcements`] owns `announcements` and `announcement_recipients`: messages to the
//!   tenant, to groups or to a module's learners, with read receipts.
//! - [`suggestions`] owns `suggestions`, `suggestion_votes`, `suggestion_comments` and
//!   `suggestion_settings`: ideas members propose (optionally anonymous), vote for once each and
//!   comment on; reviewed by MANAGE_SUGGESTIONS holders, converted into DRAFT modules through
//!   `guild_learning::{modules, sections}`.
//! - [`feed`] owns `feed_posts`, `feed_saves`, `feed_replies` and `feed_seen`: the knowledge
//!   feed's shared links with moderation (PENDING → APPROVED / REJECTED, ARCHIVED), pins, saves,
//!   flat replies, each member's "seen until" marker and the link previews the api layer's
//!   worker fills in.
//! - [`reactions`] owns `reactions` and `reaction_counts`: allow-listed emoji on posts,
//!   announcements, chat messages, suggestions and feed posts, counted on write.
//!
//! Time that decides a rule comes in as `now` from the caller's clock. This crate depends on
//! `kernel`, `db` and `learning` (a module's room and discussions are visible exactly when the
//! module is: `guild_learning::access`); it reads tenancy's identity tables (`memberships`,
//! `users`, `groups`) in SQL. What members hear about (notifications, the stream, XP) is done by
//! the api layer: in the request's transaction for a room's changes (the stream events of
//! [`chat::rooms::audience`]) and mentions, by its reactions to this crate's events for XP.
//!
//! [`chat`] owns `chat_rooms`, `chat_messages`, `chat_message_edits`, `chat_read_markers` and
//! `chat_confirmed_answers`. Module rooms ask learning who may see a module, for many members in
//! one statement ([`chat::rooms::audience`] embeds `guild_learning::audience::SEES_MODULE`, the
//! rule `guild_learning::access::visible` applies to one), and ask `guild_learning::media`
//! whether an attachment may be downloaded.

pub mod announcements;
pub mod chat;
pub mod discussions;
pub mod error;
pub mod feed;
mod input;
pub mod reactions;
pub mod suggestions;

#[cfg(test)]
mod tests;

pub use error::SocialError;
