//! Progress: what members have done with learning content, and what follows from it.
//!
//! - [`completion`]: completed sections, module completion ([`completion::evaluate_completion`],
//!   exactly once per member and module), a member's progress on a module.
//! - [`attempts`]: the assessment writes that can finish a module (a quiz attempt submitted or
//!   graded, an assignment submission graded), each followed by the completion check in its
//!   transaction.
//! - [`certificates`]: issued on completion, verified publicly, revoked, expiring.
//! - [`overrides`]: administrators' progress overrides and members' self-assessments.
//! - [`compliance`]: deadline reminders, certificate expiry and renewal (archiving a member's
//!   cycle), the compliance matrix.
//! - [`catalog`]: the member's catalog, its shared part kept in memory with the tenant's
//!   catalog stamp.
//! - [`dashboard`]: the member's dashboard (assigned modules and paths).
//! - [`enrolment`]: self-enrolment in modules and paths in an open catalog, and "my learning".
//! - [`modules`]: deleting a module, which revokes its certificates.
//! - [`notes`]: members' private notes on sections (searchable) and bookmarks of sections.
//! - [`resume`]: the last section a member opened in each module ("continue where you left
//!   off").
//! - [`paths`]: learning paths (ordered modules, strict order, group assignments, completion
//!   exactly once, path certificates) and self-enrolment.
//! - [`recommendations`]: "next for you" — modules that members who completed the same modules
//!   went on to complete, weighted by shared tags, among those the member may see and has not
//!   done or been given; each with its reason.
//! - [`video`]: what members played of VIDEO sections (the union of reported intervals), where
//!   they resume, and the tenant's watched share required to complete such a section.
//! - [`titles`]: the titles of modules, quizzes and certificates, for gamification's ledger.
//!
//! Owns the tables `section_completions`, `module_completions`, `certificates`,
//! `progress_overrides`, `module_self_assessments`, `compliance_notices`,
//! `deadline_reminders`, `video_progress`, `section_notes`, `section_bookmarks`, `last_sections`, and the learning paths' `learning_paths`, `learning_path_modules`,
//! `learning_path_groups`, `path_completions`, `path_certificates` and `enrolments` (the ownership map is in `docs/ARCHITECTURE.md`). It sits above
//! `guild-learning` and `guild-assessment` and reads their tables; what they own it changes only
//! through their functions (archiving a member's attempts and submissions, a new assignment
//! cycle). Errors are learning's [`LearningError`] (codes such as `module_locked`,
//! `certificate_not_found`), kept as they were when this code lived in learning.

pub mod attempts;
pub mod catalog;
pub mod certificates;
pub mod completion;
pub mod compliance;
pub mod dashboard;
pub mod enrolment;
pub mod modules;
pub mod notes;
pub mod overrides;
pub mod paths;
pub mod recommendations;
pub mod resume;
pub mod titles;
pub mod video;

#[cfg(test)]
mod tests;

pub use completion::evaluate_completion;
pub use guild_learning::LearningError;
