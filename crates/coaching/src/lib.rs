//! Coaching: a coach (a member's manager, or a coach an admin added) meets a coachee in 1:1
//! sessions about focus areas scored before and after, keeps an action plan with them, and
//! writes private notes nobody else reads.
//!
//! - [`relationships`] owns `coaching_relationships`: who coaches whom (the manager by default,
//!   coaches added by MANAGE_USERS holders), and who sees a member's coaching — the member, their
//!   coaches, the managers above them; 404 to anyone else.
//! - [`settings`] owns `coaching_settings`: the tenant's scoring scale (1 to 5 by default).
//! - [`sessions`] owns `coaching_sessions` and `coaching_session_scores`: scheduling, changes
//!   with the revision as ETag and iCalendar SEQUENCE, the status flow SCHEDULED → COMPLETED |
//!   CANCELLED | NO_SHOW, focus areas and their scores, the coach's sealed private notes.
//! - [`action_items`] owns `coaching_action_items`: each coachee's action plan, items that name
//!   a module or path (enrolling the coachee, closed by their completion), overdue items.
//! - [`notes`] owns `coaching_quick_notes`: a coach's sealed, timestamped notes on a coachee.
//! - [`calendar`]: a session's iCalendar entry (stable UID, SEQUENCE from its revision,
//!   REQUEST or CANCEL).
//! - [`overview`]: a coachee's chart-ready series (scores per focus area, module progress, quiz
//!   averages, XP per week, compliance, the action plan's counts).
//! - [`demo`]: the demo tenant's coaching (sessions, an action plan, notes).
//! - [`rekey`]: re-sealing every sealed coaching value under the keyring's current key.
//!
//! Private text is sealed with `guild_kernel::sealed::Keyring` (AES-256-GCM, the key id kept in
//! the value, each value bound to its row) and every read of it is written to the audit log.
//! Time that decides a rule comes in as `now` from the caller's clock. This crate depends on
//! `kernel`, `db` and `progress`: an action item that names a module or path enrols the coachee
//! through `guild_progress::enrolment` (the rules of who may enrol in what stay there), and the
//! coachee overview reads progress, assessment and gamification facts with read-only SQL; it
//! reads tenancy's identity tables (`memberships`, `users`) in SQL and writes only its own.
//! What members hear about (notifications, calendar invitations) is done by the api layer's
//! reactions to this crate's events.

pub mod action_items;
pub mod calendar;
pub mod demo;
pub mod error;
mod input;
pub mod notes;
pub mod overview;
pub mod rekey;
pub mod relationships;
pub mod sessions;
pub mod settings;

#[cfg(test)]
mod tests;

pub use error::CoachingError;
