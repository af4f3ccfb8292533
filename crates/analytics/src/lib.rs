//! Read-side views over other domains' tables, for those who oversee others' learning:
//!
//! - [`members`]: a member's progress as their manager (or anyone whose grants reach them) sees
//!   it: assigned modules and paths with status and due dates, quiz attempts, certificates, XP.
//!
//! Who sees which members is decided once, by [`guild_kernel::member_scope`] (the actor's
//! grants: tenant-wide, groups, manager subtree) rendered in SQL by [`guild_db::scope`]: the
//! member list, the compliance matrix and this view share it.
//!
//! This crate only reads what other crates own (`memberships`, `users`, `user_groups`,
//! `certificates`, `quizzes`, `quiz_attempts`, `user_xp_balances`), in SQL, and depends on `learning`
//! (the assignment rows and their due-date rule, `assignments_sql!`) and `progress` (a member's
//! dashboard, `dashboard::dashboard_of`) so that a manager sees what the member sees.

pub mod error;
pub mod members;

#[cfg(test)]
mod tests;

pub use error::AnalyticsError;
