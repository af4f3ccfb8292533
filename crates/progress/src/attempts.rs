//! The assessment writes that can finish a module, each followed by the completion check in the
//! same transaction: a quiz attempt submitted or graded with a passing final score, a required
//! assignment's submission graded (whatever the score).
//!
//! Assessment owns attempts and submissions and says what happened (the attempt's `passed`, the
//! assignment being required); deciding whether the module is now complete is progress's, so
//! assessment never calls up. [`crate::completion::evaluate_completion`] takes the member and
//! module's advisory lock after the final score is written, so a quiz passed while the last
//! section is completed finishes the module exactly once.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use guild_assessment::AssessmentError;
use guild_assessment::attempts::{self, AttemptView, EssayGrade};
use guild_assessment::scoring::Answer;
use guild_assessment::submissions::{self, GradeInput, Submission};
use guild_kernel::{Actor, AttemptId, UserId};
use uuid::Uuid;

use crate::completion::evaluate_completion;

/// Completes the module for the attempt's taker when the attempt's score is final and passing.
async fn after_attempt(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    view: &AttemptView,
    now: DateTime<Utc>,
) -> Result<(), AssessmentError> {
    if view.attempt.passed == Some(true) {
        evaluate_completion(
            conn,
            actor.tenant_id,
            UserId(view.attempt.user_id),
            view.module_id,
            now,
        )
        .await?;
    }
    Ok(())
}

/// Submits the actor's answers to their attempt ([`attempts::submit`]) and, when the score is
/// final and passing, completes the module if that was the last thing missing.
pub async fn submit(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: AttemptId,
    answers: &[Answer],
    now: DateTime<Utc>,
) -> Result<AttemptView, AssessmentError> {
    let view = attempts::submit(conn, actor, id, answers, now).await?;
    after_attempt(conn, actor, &view, now).await?;
    Ok(view)
}

/// Grades essays of an attempt ([`attempts::grade`]) and, when that makes the score final and
/// passing, completes the module for its taker if that was the last thing missing.
pub async fn grade(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: AttemptId,
    grades: &[EssayGrade],
    now: DateTime<Utc>,
) -> Result<AttemptView, AssessmentError> {
    let view = attempts::grade(conn, actor, id, grades).await?;
    after_attempt(conn, actor, &view, now).await?;
    Ok(view)
}

/// Grades a member's current submission ([`submissions::grade`]) and, for a required
/// assignment, completes the module for them if that was the last thing missing.
pub async fn grade_submission(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    input: &GradeInput,
    now: DateTime<Utc>,
) -> Result<Submission, AssessmentError> {
    let graded = submissions::grade(conn, actor, id, input, now).await?;
    if graded.required {
        evaluate_completion(
            conn,
            actor.tenant_id,
            UserId(graded.submission.user_id),
            graded.submission.module_id,
            now,
        )
        .await?;
    }
    Ok(graded.submission)
}
