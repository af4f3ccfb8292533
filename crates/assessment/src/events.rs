//! Facts this crate tells the rest of Guild through the outbox, written in the transaction that
//! makes an attempt's score final (submit without essays, or the last essay graded), or that
//! records an assignment's submission or grade.

use guild_kernel::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What the score events carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuizScore {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The member who took the quiz.
    pub user_id: Uuid,
    /// The quiz.
    pub quiz_id: Uuid,
    /// The quiz's module.
    pub module_id: Uuid,
    /// The attempt (unique per event kind: handlers key on it to stay idempotent).
    pub attempt_id: Uuid,
    /// Points scored.
    pub score_points: f64,
    /// Points possible.
    pub max_points: i32,
    /// Score in percent, 0 to 100, rounded to two decimals.
    pub score_percent: f64,
    /// It earns XP: false when the member created or mentors the quiz's module and nobody else
    /// assigned it to them (`guild_learning::access::earns_from`). Events written before this
    /// field existed earned.
    #[serde(default = "earned")]
    pub rewarded: bool,
}

/// What events written before `rewarded` existed say.
fn earned() -> bool {
    true
}

/// A member passed a quiz (score at or above its passing score).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuizPassed(pub QuizScore);

impl DomainEvent for QuizPassed {
    const KIND: &'static str = "assessment.quiz_passed";
}

/// A member's attempt was scored below the quiz's passing score (webhooks).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuizFailed(pub QuizScore);

impl DomainEvent for QuizFailed {
    const KIND: &'static str = "assessment.quiz_failed";
}

/// A member scored at least [`HIGH_SCORE_PERCENT`] on a quiz (XP is awarded for it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuizHighScore(pub QuizScore);

impl DomainEvent for QuizHighScore {
    const KIND: &'static str = "assessment.quiz_high_score";
}

/// The score, in percent, from which an attempt is a high score.
pub const HIGH_SCORE_PERCENT: f64 = 90.0;

/// A member submitted (or resubmitted) work for an assignment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignmentSubmitted {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The member who submitted.
    pub user_id: Uuid,
    /// The assignment.
    pub assignment_id: Uuid,
    /// The assignment's module.
    pub module_id: Uuid,
    /// The submission (unique per event: handlers key on it to stay idempotent).
    pub submission_id: Uuid,
    /// 1 for the first submission, 2 for the first resubmission…
    pub number: i32,
    /// Submitted after the due date.
    pub late: bool,
}

impl DomainEvent for AssignmentSubmitted {
    const KIND: &'static str = "assessment.assignment_submitted";
}

/// A grader graded a member's submission (grades are final: once per submission).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignmentGraded {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The member whose work was graded.
    pub user_id: Uuid,
    /// The assignment.
    pub assignment_id: Uuid,
    /// The assignment's module.
    pub module_id: Uuid,
    /// The submission (unique per event).
    pub submission_id: Uuid,
    /// The score, 0 to `max_score`.
    pub score: f64,
    /// The assignment's maximum score.
    pub max_score: i32,
    /// Who graded it.
    pub graded_by: Uuid,
}

impl DomainEvent for AssignmentGraded {
    const KIND: &'static str = "assessment.assignment_graded";
}
