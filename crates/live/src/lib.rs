//! Live events: sessions members attend at a time and place — online (an `https` meeting URL),
//! physical (an address) or both — hosted by members, targeted at groups or the whole tenant,
//! optionally linked to a module.
//!
//! - [`events`] owns `live_events`, `live_event_hosts` and `live_event_groups`: creation and
//!   edits (with the revision as ETag, which is also the iCalendar SEQUENCE), the status flow
//!   SCHEDULED → CANCELLED | COMPLETED, who sees an event (targeting) and who manages it (ADMIN
//!   and above through MANAGE_ALL_MODULES, and the mentors of the linked module for the groups
//!   it is assigned to), the member's lists (upcoming events they are targeted by, past ones
//!   they attended).
//! - [`registrations`] owns `live_event_registrations`: seats taken under the event row's lock
//!   (`SELECT … FOR UPDATE`, `registered_count` never above `capacity`, backed by a CHECK), the
//!   waitlist in arrival order, the promotion of its head when a seat frees, bulk additions by
//!   managers.
//! - [`attendance`] confirms attendance (the `attended_at`, `confirmed_by` and `link_used_at`
//!   columns of `live_event_registrations`): by the member's signed, expiring, single-use link
//!   ([`attendance::AttendanceKey`], HMAC-SHA-256 compared in constant time) or in bulk by the
//!   event's hosts and managers, never for themselves; `live.attended` once per member and event.
//!
//! - [`reminders`]: a day and an hour before an event, each registrant is reminded once per
//!   start time (`reminded_day_for`, `reminded_hour_for`), by a scan every five minutes.
//! - [`feeds`] owns `calendar_feeds`: a member's secret calendar URL (events they hold a seat
//!   for, due dates of their assigned modules), issued, revoked, read by calendar applications.
//! - [`materials`] owns `live_event_materials`: media library files attached to an event, for
//!   its registrants, hosts and managers to download.
//! - [`calendar`] writes an event's iCalendar file (stable UID, SEQUENCE from its revision, the
//!   organiser's TZID, STATUS:CANCELLED).
//! - [`demo`]: the demo tenant's events (an online session, a full workshop with a waitlist).
//!
//! Time that decides a rule comes in as `now` from the caller's clock. This crate depends on
//! `kernel`, `db` and `learning` (a linked module's visibility, mentors and group assignments:
//! `guild_learning::access`); it reads tenancy's identity tables (`memberships`, `groups`,
//! `user_groups`, `users` for an invitation's names) in SQL, and for the calendar feed learning's
//! assignments and progress's `module_completions`. What members hear about (notifications,
//! emails) is done by the api layer's reactions to this crate's events.

pub mod attendance;
pub mod calendar;
pub mod demo;
pub mod error;
pub mod events;
pub mod feeds;
mod input;
pub mod materials;
pub mod registrations;
pub mod reminders;

#[cfg(test)]
mod tests;

pub use error::LiveError;
