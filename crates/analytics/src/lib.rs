//! Read-side views over other domains' tables, for those who oversee others' learning:
//!
//! - [`members`]: a member's progress as their manager (or anyone whose grants reach them) sees
//!   it: assigned modules and paths with status and due dates, quiz attempts, certificates, XP.
//! - [`dashboard`]: the manager dashboard: members at risk and why, engagement per member,
//!   the completion heatmap of groups × modules, top performers, completions per week.
//! - [`settings`]: the dashboard's thresholds per tenant (`manager_dashboard_settings`, the one
//!   table this crate owns and writes).
//! - [`insights`]: analytics over time and per module, quiz, event and the XP economy.
//! - [`reports`]: the rows of report exports (compliance, completions, quiz results, the XP
//!   ledger, event attendance, members), written to files by the api layer.
//!
//! Who sees which members is decided once, by [`guild_kernel::member_scope`] (the actor's
//! grants: tenant-wide, groups, manager subtree) rendered in SQL by [`guild_db::scope`]: the
//! member list, the compliance matrix and these views share it.
//!
//! This crate only reads what other crates own (`memberships`, `users`, `groups`,
//! `user_groups`, `modules`, `module_groups`, `assignment_cycles`, `module_completions`,
//! `section_completions`, `certificates`, `quizzes`, `quiz_questions`, `quiz_attempts`,
//! `xp_transactions`, `user_xp_balances`, `reward_redemptions`, `live_events`,
//! `live_event_groups`, `live_event_registrations`, `usage_sessions`, `user_module_access`), in SQL, and depends on `learning`
//! (the assignment rows and their due-date rule, `assignments_sql!` and its Rust form
//! `assigned::group_due_at`) and `progress` (a member's
//! dashboard, `dashboard::dashboard_of`) so that a manager sees what the member sees.

mod assigned;
pub mod dashboard;
pub mod error;
pub mod insights;
pub mod members;
pub mod reports;
pub mod settings;

#[cfg(test)]
mod tests;

pub use error::AnalyticsError;
