//! Assessment: quizzes attached to modules, their ordered questions, members' attempts, automatic
//! scoring and manual grading of essays; graded assignments and their submissions.
//!
//! - [`quizzes`]: quiz CRUD with optimistic concurrency (`revision`, the ETag).
//! - [`questions`]: questions of five kinds, validated on write, atomically reordered.
//! - [`attempts`]: start (resume, max attempts under a lock), submit (scored, late submissions
//!   refused), manual grading, the graders' queue, and [`attempts::passed_quiz_ids`].
//! - [`banks`]: question banks of the tenant (tagged questions of the same kinds and rules) and
//!   the draws a quiz makes from them for each attempt, seeded by the attempt.
//! - [`scoring`]: the pure scoring rules.
//! - [`assignments`]: assignments of modules (brief, due date, format, accepted files, rubric)
//!   and the files members upload for them.
//! - [`submissions`]: submitting and resubmitting (late rules), rubric or plain-score grading
//!   (final), the graders' queue (sortable lists).
//!
//! Closed sets are enums ([`questions::QuestionKind`], [`quizzes::ShowAnswers`],
//! [`scoring::ScoringMode`], [`attempts::AttemptStatus`], [`assignments::SubmissionFormat`],
//! [`submissions::SubmissionStatus`]) that travel as their SCREAMING_SNAKE names; lists are
//! keyset-paginated (`guild_kernel::Page`). Retries are the API's business: its
//! `Idempotency-Key` mechanism wraps these functions' transactions.
//!
//! Who may do what: a quiz is visible exactly when its module is (invisible is 404, as if
//! absent); authoring needs MANAGE_QUIZZES on the module or the right to edit the module;
//! grading needs MANAGE_QUIZZES on the module or being one of its mentors, and is never of one's
//! own attempt or submission (`cannot_grade_own_attempt`, `cannot_grade_own_submission`, whatever
//! the role: separation of duties is not a permission an owner bypasses). Every mutation writes
//! an audit row in its transaction; `assessment.quiz_passed` and `assessment.quiz_high_score`
//! go to the outbox in the transaction that makes a score final; `assessment.assignment_submitted`
//! and `assessment.assignment_graded` in the transaction that records them. Assignments are
//! authored and graded under the same rules as quizzes.
//!
//! Owns the tables `quizzes`, `quiz_questions`, `quiz_bank_draws`, `question_banks`,
//! `question_bank_questions`, `quiz_attempts`, `assignments`,
//! `assignment_files` and `assignment_submissions` (the ownership map is in
//! `docs/ARCHITECTURE.md`).
//!
//! **Below `guild-progress`, above `guild-learning`.** A quiz belongs to a module, and who may
//! see or edit a module (catalog rules, group assignments, mentors) is learning's decision.
//! Re-implementing those rules here would let the two drift apart and leak hidden modules'
//! quizzes, so this crate calls `guild_learning::access::{visible, editable, is_mentor}` inside
//! its own transactions. For the same reason, whether a score earns XP (not for an author or
//! mentor of the module whom nobody else assigned it to) is asked of
//! `guild_learning::access::earns_from`, the rule completions follow, and whether a module's
//! prerequisites still lock it for a member (no attempt is started then) of
//! `guild_learning::access::is_locked`, the rule sections follow. Module completion is not
//! decided here: a final score says whether it passed ([`attempts::AttemptView`]) and a grade
//! whether its assignment is required ([`submissions::Graded`]), and `guild_progress::attempts`
//! evaluates the completion in the same transaction. Starting a member's new compliance cycle
//! archives their attempts and submissions through [`attempts::archive_member_module`] and
//! [`submissions::archive_member_module`].

pub mod assignments;
pub mod attempts;
pub mod banks;
pub mod demo;
pub mod error;
pub mod events;
pub mod questions;
pub mod quizzes;
pub mod scoring;
pub mod submissions;

#[cfg(test)]
mod tests;

pub use error::AssessmentError;

use diesel_async::AsyncPgConnection;
use guild_kernel::{Actor, PageRequest};
use uuid::Uuid;

/// The key a page's cursor names (the sort key of the last row of the previous page), or
/// `invalid_cursor` for a cursor Guild did not make. An empty cursor is the first page.
pub(crate) fn cursor_after<T: std::str::FromStr>(
    page: &PageRequest,
) -> Result<Option<T>, AssessmentError> {
    if page.cursor.as_deref().is_some_and(str::is_empty) {
        return Ok(None);
    }
    let bad = || AssessmentError::invalid("cursor", "invalid_cursor", "the cursor is not valid");
    match page.cursor().map_err(|_| bad())? {
        Some(cursor) => Ok(Some(cursor.0.parse().map_err(|_| bad())?)),
        None => Ok(None),
    }
}

pub(crate) async fn audit(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    action: &str,
    entity_type: &str,
    id: Uuid,
    metadata: serde_json::Value,
) -> Result<(), AssessmentError> {
    Ok(guild_db::audit::record(
        conn,
        actor,
        action,
        entity_type,
        Some(id.to_string()),
        metadata,
    )
    .await?)
}
