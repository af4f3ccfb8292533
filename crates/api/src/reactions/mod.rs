//! The worker's reactions, all in one place: what runs when a domain event is delivered from the
//! outbox, what each job kind does, and the schedules that enqueue jobs. One file per domain;
//! route files hold only HTTP handlers.
//!
//! - [`emails`]: invitation, password-reset, verification and deadline-reminder emails, and the
//!   daily prune of the development mailbox.
//! - [`media`]: removing deleted assets' blobs, and the hourly upload sweep.
//! - [`compliance`]: the hourly deadline-reminder scan and the daily expiry scan.
//! - [`reports`]: report exports (`POST /v1/reports`) as background jobs.
//! - [`module_builds`]: the module builder (`POST /v1/ai/module-builds`): a file's text made into
//!   a DRAFT module with citations, as a background job.
//! - [`gamification`]: XP awards from completions, quiz high scores and compliance renewals.
//! - [`notifications`]: in-app notifications (and their stream events) from the events a member
//!   should hear about.
//! - [`changelog`]: a published changelog entry's SYSTEM notification to every member, in
//!   per-tenant batches.
//! - [`social`]: replies and mentions in discussions (COMMENT_REPLY), announcements to their
//!   recipients, the stream events of new posts and changed reactions, and MENTOR_CONFIRMATION
//!   XP for an answer a mentor confirmed in a module's chat room.
//! - [`suggestions`]: knowledge suggestions that became popular (SUGGESTION_POPULAR to their
//!   reviewers, TOP_SUGGESTION XP to their author), changed status (SUGGESTION_STATUS_CHANGED to
//!   their author and voters) or whose module was first published (NEW_KNOWLEDGE to their
//!   voters), and the stream events of their votes, comments and status.
//! - [`feed`]: a feed post's link preview (fetched through the SSRF guard, its image stored in
//!   the media library), its moderators' queue, RADAR_APPROVED / RADAR_REJECTED to its author,
//!   and COMMENT_REPLY for replies.
//! - [`paths`]: learning paths assigned (PATH_ASSIGNED to the groups' members) and completed
//!   (PATH_COMPLETED to the member, PATH_COMPLETED XP).
//! - [`webhooks`]: the catalog's events fanned out to subscribed webhook endpoints, their
//!   attempts signed and sent through the SSRF guard, and the job that retries due deliveries
//!   each minute.
//! - [`events`]: live events' registrations (EVENT_REGISTERED, also when waitlisted),
//!   promotions from the waitlist (EVENT_PROMOTED), changes of time or place (EVENT_CHANGED) and
//!   cancellations (EVENT_CANCELLED) to their registrants and waitlist.
//! - [`questions`]: questions assigned to a mentor (QUESTION_ASSIGNED), answered
//!   (QUESTION_ANSWERED to the asker) and accepted (QUESTION_ACCEPTED and MENTOR_CONFIRMATION XP
//!   to the mentor), and the job that assigns waiting questions each minute.
//! - [`coaching`]: coaching sessions scheduled, moved and cancelled (COACHING_SESSION_* to the
//!   coachee, the email carrying the calendar invitation), their reminders, action items
//!   assigned and overdue, and action items closed by the completion of their module or path.
//! - [`jobs`]: the daily prune of the jobs members waited on, and their files. (Each such job is
//!   registered by its domain's file, e.g. the compliance export by [`compliance`].)
//!
//! Delivery is at least once, so every reaction is idempotent (see `docs/ARCHITECTURE.md`).

use guild_db::worker::Registry;

use crate::state::AppState;

pub mod changelog;
pub mod coaching;
pub mod compliance;
pub mod emails;
pub mod events;
pub mod feed;
pub mod gamification;
pub mod jobs;
pub mod media;
pub mod module_builds;
pub mod notifications;
pub mod paths;
pub mod privacy;
pub mod questions;
pub mod reports;
pub mod social;
pub mod suggestions;
pub mod webhooks;

/// Registers every event handler, job and schedule this binary runs.
pub fn register_all(registry: &mut Registry, state: &AppState) {
    emails::register(registry, state);
    media::register(registry, state);
    compliance::register(registry, state);
    privacy::register(registry, state);
    gamification::register(registry, state);
    notifications::register(registry, state);
    changelog::register(registry, state);
    social::register(registry, state);
    suggestions::register(registry, state);
    paths::register(registry, state);
    feed::register(registry, state);
    webhooks::register(registry, state);
    events::register(registry, state);
    questions::register(registry, state);
    coaching::register(registry, state);
    jobs::register(registry, state);
    reports::register(registry, state);
    module_builds::register(registry, state);
}
