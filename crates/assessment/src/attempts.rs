//! Attempts: a member takes a quiz of a module they can see.
//!
//! - **Start** is refused (`module_locked`) while the module's prerequisites lock it for the
//!   member. It creates an attempt with the question (and option) order fixed for it — shuffled
//!   when the quiz says so — and `deadline_at = now + time limit`. A member with an attempt in
//!   progress whose time has not run out gets that attempt back (resume) instead of a new one.
//!   Starts of one member at one quiz are serialized by a transaction-scoped advisory lock, under
//!   which the attempts are counted, so `max_attempts` holds under any concurrency (the unique
//!   `(user, quiz, number)` index is the backstop).
//! - **Submit** scores the answers at once, in the same transaction that records them. (Callers
//!   make a repeated submission replay the first one with the API's `Idempotency-Key`.)
//! - **Late submissions**: an attempt may be submitted until its deadline plus a grace period of
//!   [`GRACE_SECONDS`] (network latency, a slow click). After that the submission is refused with
//!   `attempt_timed_out` and the attempt is closed as TIMED_OUT: it counts as an attempt and is
//!   not passed. An expired attempt found when starting again is closed the same way. Closing is
//!   a write of its own ([`close_if_expired`], [`close_expired`]): a caller runs it in its own
//!   transaction first, so that it is kept when the start or the submission is then refused.
//! - **Essays** are scored by a grader (a mentor of the module or a MANAGE_QUIZZES holder): the
//!   attempt waits as PENDING_REVIEW with `passed` unknown until every answered essay is graded,
//!   then becomes GRADED with its final score. Nobody grades their own attempt
//!   (`cannot_grade_own_attempt`, whatever their role; it is left out of their queue).
//! - What a taker sees: questions never carry answer keys. After submitting, per-question
//!   results with the correct answers and explanations are shown according to the quiz's
//!   `show_answers` — NEVER (score and pass only), AFTER_PASS (when passed), ALWAYS.
//!
//! A final score (GRADED) writes `assessment.quiz_passed` when passed and
//! `assessment.quiz_high_score` at 90 % or more to the outbox, in the same transaction; both say
//! whether the score earns XP (`rewarded`: not for an author or mentor of the quiz's module
//! whom nobody else assigned it to, as learning decides for completions). Submit
//! and grade return the attempt with its `module_id` and `passed`, so a caller can run a
//! module-completion check inside the same transaction; [`passed_quiz_ids`] tells which quizzes
//! of a module a member has passed.
//!
//! An attempt keeps its questions as they were when it started, answer keys and explanations
//! included (`quiz_attempts.questions`), the quiz's own and those it drew from question banks
//! (see [`crate::banks`]: seeded by the attempt's id): what it shows, how it is scored and graded and what its
//! review reveals come from that copy, so an editor changing or deleting a question afterwards
//! changes nothing of an attempt already started.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::outbox;
use guild_db::schema::{quiz_attempts, quizzes};
use guild_kernel::{
    Actor, AttemptId, FieldError, Page, PageRequest, Permission, QuizId, Target, TenantId, UserId,
    authorize,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AssessmentError;
use crate::events::{HIGH_SCORE_PERCENT, QuizFailed, QuizHighScore, QuizPassed, QuizScore};
use crate::questions::{self, Question, QuestionKind};
use crate::quizzes::{Quiz, ShowAnswers, graded_modules, may_grade, visible_quiz};
use crate::scoring::{self, Answer, QuestionResult, round2};

guild_kernel::string_enum!(
    /// Where an attempt is.
    AttemptStatus {
        /// Started, not submitted; the deadline (plus the grace period) has not passed.
        InProgress => "IN_PROGRESS",
        /// Submitted, not scored yet (not written by this version; kept for stored rows).
        Submitted => "SUBMITTED",
        /// Submitted; answered essays wait for a grader, so `passed` is unknown.
        PendingReview => "PENDING_REVIEW",
        /// Scored: `passed` and `score_percent` are final.
        Graded => "GRADED",
        /// Not submitted in time: counts as an attempt, not passed.
        TimedOut => "TIMED_OUT",
    }
);

/// Seconds after the deadline during which a submission is still accepted.
pub const GRACE_SECONDS: i64 = 30;

fn grace() -> Duration {
    Duration::seconds(GRACE_SECONDS)
}

/// One question of an attempt, with its options in the order this attempt shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    /// The question.
    pub question_id: Uuid,
    /// Its options' ids, in order.
    pub option_ids: Vec<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = quiz_attempts)]
struct Row {
    id: Uuid,
    quiz_id: Uuid,
    user_id: Uuid,
    number: i32,
    #[diesel(deserialize_as = String)]
    status: AttemptStatus,
    started_at: DateTime<Utc>,
    deadline_at: Option<DateTime<Utc>>,
    submitted_at: Option<DateTime<Utc>>,
    score_points: Option<f64>,
    max_points: Option<i32>,
    score_percent: Option<f64>,
    passed: Option<bool>,
    question_order: serde_json::Value,
    answers: Option<serde_json::Value>,
    results: Option<serde_json::Value>,
    archived_at: Option<DateTime<Utc>>,
    questions: serde_json::Value,
}

impl Row {
    /// The attempt's questions as they were when it started, by id.
    fn questions(&self) -> HashMap<Uuid, Question> {
        // Only `start` writes the column (the migration that added it, from the same rows).
        serde_json::from_value::<Vec<Question>>(self.questions.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|q| (q.id, q))
            .collect()
    }

    fn slots(&self) -> Vec<Slot> {
        serde_json::from_value(self.question_order.clone()).unwrap_or_default()
    }

    fn answers(&self) -> Vec<Answer> {
        self.answers
            .clone()
            .and_then(|a| serde_json::from_value(a).ok())
            .unwrap_or_default()
    }

    fn results(&self) -> Vec<QuestionResult> {
        self.results
            .clone()
            .and_then(|r| serde_json::from_value(r).ok())
            .unwrap_or_default()
    }

    fn summary(&self) -> AttemptSummary {
        AttemptSummary {
            id: self.id,
            quiz_id: self.quiz_id,
            user_id: self.user_id,
            number: self.number,
            status: self.status,
            started_at: self.started_at,
            deadline_at: self.deadline_at,
            submitted_at: self.submitted_at,
            score_points: self.score_points,
            max_points: self.max_points,
            score_percent: self.score_percent,
            passed: self.passed,
        }
    }
}

/// An attempt's facts, as lists show them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptSummary {
    /// Id.
    pub id: Uuid,
    /// The quiz.
    pub quiz_id: Uuid,
    /// Who takes it.
    pub user_id: Uuid,
    /// 1 for the member's first attempt at the quiz.
    pub number: i32,
    /// Where it is.
    pub status: AttemptStatus,
    /// Started.
    pub started_at: DateTime<Utc>,
    /// When time runs out (submissions are accepted [`GRACE_SECONDS`] longer).
    pub deadline_at: Option<DateTime<Utc>>,
    /// Submitted.
    pub submitted_at: Option<DateTime<Utc>>,
    /// Points earned (so far, while essays wait).
    pub score_points: Option<f64>,
    /// Points possible.
    pub max_points: Option<i32>,
    /// Final score in percent.
    pub score_percent: Option<f64>,
    /// Final verdict; `None` until the score is final.
    pub passed: Option<bool>,
}

/// An option as a taker sees it: no answer key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TakerOption {
    /// Id.
    pub id: String,
    /// Text.
    pub text: String,
}

/// A question as a taker sees it: no answer key, no explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TakerQuestion {
    /// Id.
    pub id: Uuid,
    /// Kind.
    pub kind: QuestionKind,
    /// Prompt.
    pub prompt: String,
    /// Points.
    pub points: i32,
    /// Options in this attempt's order (choice kinds).
    pub options: Vec<TakerOption>,
}

/// One question's outcome with the right answer, shown when the quiz's `show_answers` allows
/// (and always to graders).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RevealedResult {
    /// The question.
    pub question_id: Uuid,
    /// Its kind.
    pub kind: QuestionKind,
    /// Points earned; `None` while an essay waits for a grader.
    pub points_awarded: Option<f64>,
    /// Points possible.
    pub max_points: i32,
    /// Whether the answer earned every point (`None` for essays).
    pub correct: Option<bool>,
    /// The correct options (choice kinds).
    pub correct_option_ids: Vec<String>,
    /// The accepted answers (FILL_IN_BLANK).
    pub accepted_answers: Vec<String>,
    /// The author's explanation.
    pub explanation: Option<String>,
    /// The grader's feedback (essays).
    pub feedback: Option<String>,
}

/// An attempt as its taker (or a grader) sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptView {
    /// The attempt's facts.
    pub attempt: AttemptSummary,
    /// The quiz's module.
    pub module_id: Uuid,
    /// The questions, in this attempt's order, without answers.
    pub questions: Vec<TakerQuestion>,
    /// What the taker answered.
    pub answers: Vec<Answer>,
    /// Per-question results with the right answers; `None` when not (yet) shown.
    pub results: Option<Vec<RevealedResult>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reveal {
    /// What the quiz's `show_answers` allows the taker.
    Policy,
    /// Everything (graders).
    All,
}

fn view(
    row: &Row,
    quiz: &Quiz,
    questions: &HashMap<Uuid, Question>,
    reveal: Reveal,
) -> AttemptView {
    let taker_questions = row
        .slots()
        .into_iter()
        .filter_map(|slot| {
            let q = questions.get(&slot.question_id)?;
            let mut options: Vec<TakerOption> = slot
                .option_ids
                .iter()
                .filter_map(|id| q.options.iter().find(|o| &o.id == id))
                .chain(
                    q.options
                        .iter()
                        .filter(|o| !slot.option_ids.contains(&o.id)),
                )
                .map(|o| TakerOption {
                    id: o.id.clone(),
                    text: o.text.clone(),
                })
                .collect();
            options.dedup_by(|a, b| a.id == b.id);
            Some(TakerQuestion {
                id: q.id,
                kind: q.kind,
                prompt: q.prompt.clone(),
                points: q.points,
                options,
            })
        })
        .collect();
    let shown = match reveal {
        Reveal::All => true,
        Reveal::Policy => match quiz.show_answers {
            ShowAnswers::Always => true,
            ShowAnswers::AfterPass => row.passed == Some(true),
            ShowAnswers::Never => false,
        },
    };
    let results = (shown && row.results.is_some()).then(|| {
        row.results()
            .into_iter()
            .map(|r| {
                let q = questions.get(&r.question_id);
                RevealedResult {
                    question_id: r.question_id,
                    kind: r.kind,
                    points_awarded: r.points_awarded,
                    max_points: r.max_points,
                    correct: r.correct,
                    correct_option_ids: q
                        .map(|q| {
                            q.options
                                .iter()
                                .filter(|o| o.correct)
                                .map(|o| o.id.clone())
                                .collect()
                        })
                        .unwrap_or_default(),
                    accepted_answers: q.map(|q| q.accepted_answers.clone()).unwrap_or_default(),
                    explanation: q.and_then(|q| q.explanation.clone()),
                    feedback: r.feedback,
                }
            })
            .collect()
    });
    AttemptView {
        attempt: row.summary(),
        module_id: quiz.module_id,
        questions: taker_questions,
        answers: row.answers(),
        results,
    }
}

/// Serializes starts of one member at one quiz until the transaction ends.
async fn lock_member_quiz(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    quiz: Uuid,
) -> Result<(), AssessmentError> {
    guild_db::sql("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind::<Text, _>(format!(
            "quiz_attempts:{}:{}:{quiz}",
            actor.tenant_id, actor.user_id
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Closes an expired attempt: it counts as an attempt and is not passed.
async fn time_out(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    row: &Row,
) -> Result<(), AssessmentError> {
    diesel::update(quiz_attempts::table.find((actor.tenant_id.into_uuid(), row.id)))
        .filter(quiz_attempts::status.eq(AttemptStatus::InProgress.as_str()))
        .set((
            quiz_attempts::status.eq(AttemptStatus::TimedOut.as_str()),
            quiz_attempts::passed.eq(Some(false)),
        ))
        .execute(conn)
        .await?;
    crate::audit(
        conn,
        actor,
        "ATTEMPT_TIMED_OUT",
        "quiz_attempt",
        row.id,
        serde_json::json!({ "quiz_id": row.quiz_id, "deadline_at": row.deadline_at }),
    )
    .await
}

/// What starting gave.
#[derive(Debug, Clone)]
pub enum Started {
    /// A new attempt, with its questions and no answers.
    New(Box<AttemptView>),
    /// The attempt in progress, returned instead of a new one.
    Resumed(Box<AttemptView>),
}

/// Closes the actor's attempts at `quiz` still in progress whose deadline plus the grace period
/// has passed (TIMED_OUT: they count, not passed). Run it in its own transaction before
/// [`start`], so that the closing is kept when the start is refused
/// (`quiz_max_attempts_reached`).
pub async fn close_expired(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    quiz: QuizId,
    now: DateTime<Utc>,
) -> Result<(), AssessmentError> {
    let quiz = quiz.into_uuid();
    lock_member_quiz(conn, actor, quiz).await?;
    let open: Vec<Row> = quiz_attempts::table
        .filter(quiz_attempts::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(quiz_attempts::user_id.eq(actor.user_id.into_uuid()))
        .filter(quiz_attempts::quiz_id.eq(quiz))
        .filter(quiz_attempts::status.eq(AttemptStatus::InProgress.as_str()))
        .filter(quiz_attempts::archived_at.is_null())
        .select(Row::as_select())
        .load(conn)
        .await?;
    for row in open
        .iter()
        .filter(|r| r.deadline_at.is_some_and(|d| now > d + grace()))
    {
        time_out(conn, actor, row).await?;
    }
    Ok(())
}

/// Closes the actor's attempt `id` as TIMED_OUT when it is still in progress and its deadline
/// plus the grace period has passed. Run it in its own transaction before [`submit`], so that the
/// closing is kept when the submission is then refused (`attempt_timed_out`).
pub async fn close_if_expired(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: AttemptId,
    now: DateTime<Utc>,
) -> Result<(), AssessmentError> {
    let id = id.into_uuid();
    let row: Option<Row> = quiz_attempts::table
        .find((actor.tenant_id.into_uuid(), id))
        .filter(quiz_attempts::user_id.eq(actor.user_id.into_uuid()))
        .filter(quiz_attempts::status.eq(AttemptStatus::InProgress.as_str()))
        .select(Row::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?;
    if let Some(row) = row
        && row.deadline_at.is_some_and(|d| now > d + grace())
    {
        time_out(conn, actor, &row).await?;
    }
    Ok(())
}

/// Starts an attempt at a quiz, or resumes the one in progress (closing an expired one first;
/// see [`close_expired`]). Refused with `module_locked` while a prerequisite of the quiz's module
/// lacks the actor's completion, as learning decides for sections, and with
/// `quiz_max_attempts_reached` when every allowed attempt is used.
pub async fn start(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    quiz_id: QuizId,
    now: DateTime<Utc>,
) -> Result<Started, AssessmentError> {
    let quiz_id = quiz_id.into_uuid();
    let quiz = visible_quiz(conn, actor, quiz_id).await?;
    if guild_learning::access::is_locked(conn, actor.tenant_id, actor.user_id, quiz.module_id)
        .await?
    {
        return Err(AssessmentError::ModuleLocked);
    }
    lock_member_quiz(conn, actor, quiz.id).await?;
    let tenant = actor.tenant_id.into_uuid();
    let mine: Vec<Row> = quiz_attempts::table
        .filter(quiz_attempts::tenant_id.eq(tenant))
        .filter(quiz_attempts::user_id.eq(actor.user_id.into_uuid()))
        .filter(quiz_attempts::quiz_id.eq(quiz.id))
        .select(Row::as_select())
        .order(quiz_attempts::number)
        .load(conn)
        .await?;
    // Attempts of earlier compliance cycles are archived: kept, numbered, but no longer counted.
    let active: Vec<&Row> = mine.iter().filter(|a| a.archived_at.is_none()).collect();
    if let Some(open) = active
        .iter()
        .find(|a| a.status == AttemptStatus::InProgress)
    {
        if open.deadline_at.is_none_or(|d| now <= d + grace()) {
            return Ok(Started::Resumed(Box::new(view(
                open,
                &quiz,
                &open.questions(),
                Reveal::Policy,
            ))));
        }
        time_out(conn, actor, open).await?;
    }
    if let Some(max) = quiz.max_attempts
        && active.len() >= usize::try_from(max).unwrap_or(0)
    {
        return Err(AssessmentError::MaxAttemptsReached);
    }
    // The attempt's id seeds its draw from the quiz's banks and its shuffles: reproducible for
    // the attempt, independent between attempts.
    let id = Uuid::now_v7();
    let mut rng = fastrand::Rng::with_seed(crate::banks::seed(id));
    let mut all = questions::load(conn, actor, quiz.id).await?;
    let first = i32::try_from(all.len()).unwrap_or(i32::MAX);
    all.extend(crate::banks::draw(conn, actor, quiz.id, &mut rng, first).await?);
    if all.is_empty() {
        return Err(AssessmentError::QuizEmpty);
    }
    if quiz.shuffle_questions {
        rng.shuffle(&mut all);
    }
    let slots: Vec<Slot> = all
        .iter()
        .map(|q| {
            let mut option_ids: Vec<String> = q.options.iter().map(|o| o.id.clone()).collect();
            if quiz.shuffle_options {
                rng.shuffle(&mut option_ids);
            }
            Slot {
                question_id: q.id,
                option_ids,
            }
        })
        .collect();
    let number = mine.iter().map(|a| a.number).max().unwrap_or(0) + 1;
    let row: Row = diesel::insert_into(quiz_attempts::table)
        .values((
            quiz_attempts::tenant_id.eq(tenant),
            quiz_attempts::id.eq(id),
            quiz_attempts::quiz_id.eq(quiz.id),
            quiz_attempts::user_id.eq(actor.user_id.into_uuid()),
            quiz_attempts::number.eq(number),
            quiz_attempts::started_at.eq(now),
            quiz_attempts::deadline_at.eq(quiz
                .time_limit_seconds
                .map(|s| now + Duration::seconds(i64::from(s)))),
            quiz_attempts::question_order
                .eq(serde_json::to_value(&slots).unwrap_or_else(|_| serde_json::json!([]))),
            quiz_attempts::questions
                .eq(serde_json::to_value(&all).unwrap_or_else(|_| serde_json::json!([]))),
        ))
        .returning(Row::as_returning())
        .get_result(conn)
        .await?;
    crate::audit(
        conn,
        actor,
        "ATTEMPT_STARTED",
        "quiz_attempt",
        id,
        serde_json::json!({ "quiz_id": quiz.id, "number": number }),
    )
    .await?;
    let questions = all.into_iter().map(|q| (q.id, q)).collect();
    Ok(Started::New(Box::new(view(
        &row,
        &quiz,
        &questions,
        Reveal::Policy,
    ))))
}

fn check_answers(
    answers: &[Answer],
    questions: &HashMap<Uuid, Question>,
) -> Result<(), AssessmentError> {
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for (i, a) in answers.iter().enumerate() {
        let Some(q) = questions.get(&a.question_id) else {
            errors.push(FieldError::new(
                format!("answers[{i}].question_id"),
                "unknown",
                "not a question of this attempt",
            ));
            continue;
        };
        if !seen.insert(a.question_id) {
            errors.push(FieldError::new(
                format!("answers[{i}].question_id"),
                "unique",
                "answer each question at most once",
            ));
        }
        if q.kind.is_choice() {
            if a.text.is_some() {
                errors.push(FieldError::new(
                    format!("answers[{i}].text"),
                    "not_allowed",
                    "choice questions are answered with option_ids",
                ));
            }
            let unique: HashSet<&String> = a.option_ids.iter().collect();
            if unique.len() != a.option_ids.len() {
                errors.push(FieldError::new(
                    format!("answers[{i}].option_ids"),
                    "unique",
                    "choose each option at most once",
                ));
            }
            if a.option_ids
                .iter()
                .any(|id| !q.options.iter().any(|o| &o.id == id))
            {
                errors.push(FieldError::new(
                    format!("answers[{i}].option_ids"),
                    "unknown",
                    "not an option of this question",
                ));
            }
            if q.kind != QuestionKind::MultipleChoice && a.option_ids.len() > 1 {
                errors.push(FieldError::new(
                    format!("answers[{i}].option_ids"),
                    "count",
                    "choose one option",
                ));
            }
        } else {
            if !a.option_ids.is_empty() {
                errors.push(FieldError::new(
                    format!("answers[{i}].option_ids"),
                    "not_allowed",
                    "this question is answered with text",
                ));
            }
            if a.text.as_ref().is_some_and(|t| t.chars().count() > 20000) {
                errors.push(FieldError::new(
                    format!("answers[{i}].text"),
                    "length",
                    "must be at most 20000 characters",
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AssessmentError::Invalid(errors))
    }
}

async fn publish_final(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    row: &Row,
    quiz: &Quiz,
) -> Result<(), AssessmentError> {
    let (Some(score_points), Some(max_points), Some(score_percent)) =
        (row.score_points, row.max_points, row.score_percent)
    else {
        return Ok(());
    };
    let score = QuizScore {
        tenant_id: tenant.into_uuid(),
        user_id: row.user_id,
        quiz_id: quiz.id,
        module_id: quiz.module_id,
        attempt_id: row.id,
        score_points,
        max_points,
        score_percent,
        rewarded: guild_learning::access::earns_from(
            conn,
            tenant,
            guild_kernel::UserId(row.user_id),
            quiz.module_id,
        )
        .await?,
    };
    if row.passed == Some(true) {
        // Passing may finish the module: the caller decides that in this transaction
        // (`guild_progress::attempts`), told by the attempt's `passed`.
        outbox::publish(conn, Some(tenant), &QuizPassed(score.clone())).await?;
    } else if row.passed == Some(false) {
        outbox::publish(conn, Some(tenant), &QuizFailed(score.clone())).await?;
    }
    if score_percent >= HIGH_SCORE_PERCENT {
        outbox::publish(conn, Some(tenant), &QuizHighScore(score)).await?;
    }
    Ok(())
}

/// Submits the actor's answers to their attempt and scores them: GRADED, or PENDING_REVIEW while
/// essays wait. Returns the attempt as its taker may see it; `module_id` and `attempt.passed`
/// tell a caller whether a completion check is due (`guild_progress::attempts::submit`). Refused with `attempt_timed_out` after the
/// deadline plus the grace period (run [`close_if_expired`] first to have the attempt closed).
pub async fn submit(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: AttemptId,
    answers: &[Answer],
    now: DateTime<Utc>,
) -> Result<AttemptView, AssessmentError> {
    let id = id.into_uuid();
    let tenant = actor.tenant_id.into_uuid();
    let row: Row = quiz_attempts::table
        .find((tenant, id))
        .filter(quiz_attempts::user_id.eq(actor.user_id.into_uuid()))
        .select(Row::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
        .ok_or(AssessmentError::AttemptNotFound)?;
    let quiz = match visible_quiz(conn, actor, row.quiz_id).await {
        Err(AssessmentError::QuizNotFound) => return Err(AssessmentError::AttemptNotFound),
        other => other?,
    };
    match row.status {
        AttemptStatus::InProgress => {}
        AttemptStatus::TimedOut => return Err(AssessmentError::AttemptTimedOut),
        _ => return Err(AssessmentError::AttemptNotInProgress),
    }
    if row.deadline_at.is_some_and(|d| now > d + grace()) {
        return Err(AssessmentError::AttemptTimedOut);
    }
    let questions = row.questions();
    check_answers(answers, &questions)?;
    let by_question: HashMap<Uuid, &Answer> = answers.iter().map(|a| (a.question_id, a)).collect();
    let results: Vec<QuestionResult> = row
        .slots()
        .iter()
        .filter_map(|slot| questions.get(&slot.question_id))
        .map(|q| {
            scoring::score(
                q,
                by_question.get(&q.id).copied(),
                quiz.multiple_choice_scoring,
            )
        })
        .collect();
    let max: i32 = results.iter().map(|r| r.max_points).sum();
    if max == 0 {
        return Err(AssessmentError::QuizEmpty);
    }
    let earned = round2(results.iter().filter_map(|r| r.points_awarded).sum());
    let pending = results.iter().any(|r| r.points_awarded.is_none());
    let (status, percent, passed) = if pending {
        (AttemptStatus::PendingReview, None, None)
    } else {
        let percent = scoring::percent(earned, max);
        (
            AttemptStatus::Graded,
            Some(percent),
            Some(percent >= f64::from(quiz.passing_score_percent)),
        )
    };
    let row: Row = diesel::update(quiz_attempts::table.find((tenant, id)))
        .set((
            quiz_attempts::status.eq(status.as_str()),
            quiz_attempts::submitted_at.eq(Some(now)),
            quiz_attempts::score_points.eq(Some(earned)),
            quiz_attempts::max_points.eq(Some(max)),
            quiz_attempts::score_percent.eq(percent),
            quiz_attempts::passed.eq(passed),
            quiz_attempts::answers.eq(serde_json::to_value(answers).ok()),
            quiz_attempts::results.eq(serde_json::to_value(&results).ok()),
        ))
        .returning(Row::as_returning())
        .get_result(conn)
        .await?;
    if !pending {
        publish_final(conn, actor.tenant_id, &row, &quiz).await?;
    }
    crate::audit(
        conn,
        actor,
        "ATTEMPT_SUBMITTED",
        "quiz_attempt",
        id,
        serde_json::json!({ "quiz_id": quiz.id, "status": status, "score_percent": percent }),
    )
    .await?;
    Ok(view(&row, &quiz, &questions, Reveal::Policy))
}

/// A grader's score for one essay.
#[derive(Debug, Clone)]
pub struct EssayGrade {
    /// The essay question.
    pub question_id: Uuid,
    /// Points, from 0 to the question's points.
    pub points: f64,
    /// Feedback for the taker.
    pub feedback: Option<String>,
}

/// Grades essays of an attempt waiting for review, never the grader's own
/// (`cannot_grade_own_attempt`); when every essay has a grade, the score is final (GRADED,
/// events written). Returns the attempt as graders see it; `module_id` and `attempt.passed`
/// tell a caller whether a completion check is due (`guild_progress::attempts::grade`).
pub async fn grade(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: AttemptId,
    grades: &[EssayGrade],
) -> Result<AttemptView, AssessmentError> {
    let id = id.into_uuid();
    let tenant = actor.tenant_id.into_uuid();
    let row: Row = quiz_attempts::table
        .find((tenant, id))
        .select(Row::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
        .ok_or(AssessmentError::AttemptNotFound)?;
    let quiz = match visible_quiz(conn, actor, row.quiz_id).await {
        Err(AssessmentError::QuizNotFound) => return Err(AssessmentError::AttemptNotFound),
        other => other?,
    };
    if !may_grade(conn, actor, quiz.module_id).await? {
        return Err(if row.user_id == actor.user_id.into_uuid() {
            AssessmentError::Forbidden(guild_kernel::Denied(Permission::ManageQuizzes))
        } else {
            AssessmentError::AttemptNotFound
        });
    }
    if row.user_id == actor.user_id.into_uuid() {
        return Err(AssessmentError::CannotGradeOwnAttempt);
    }
    if row.status != AttemptStatus::PendingReview {
        return Err(AssessmentError::AttemptNotPendingReview);
    }
    if grades.is_empty() {
        return Err(AssessmentError::invalid(
            "grades",
            "required",
            "grade at least one essay",
        ));
    }
    let mut results = row.results();
    let mut errors = Vec::new();
    for (i, g) in grades.iter().enumerate() {
        let Some(result) = results
            .iter_mut()
            .find(|r| r.question_id == g.question_id && r.kind == QuestionKind::Essay)
        else {
            errors.push(FieldError::new(
                format!("grades[{i}].question_id"),
                "unknown",
                "not an essay of this attempt",
            ));
            continue;
        };
        if !g.points.is_finite() || g.points < 0.0 || g.points > f64::from(result.max_points) {
            errors.push(FieldError::new(
                format!("grades[{i}].points"),
                "range",
                format!("must be 0 to {}", result.max_points),
            ));
            continue;
        }
        if g.feedback
            .as_ref()
            .is_some_and(|f| f.chars().count() > 5000)
        {
            errors.push(FieldError::new(
                format!("grades[{i}].feedback"),
                "length",
                "must be at most 5000 characters",
            ));
            continue;
        }
        result.points_awarded = Some(round2(g.points));
        result.feedback.clone_from(&g.feedback);
    }
    if !errors.is_empty() {
        return Err(AssessmentError::Invalid(errors));
    }
    let max = row.max_points.unwrap_or(0);
    let earned = round2(results.iter().filter_map(|r| r.points_awarded).sum());
    let complete = results.iter().all(|r| r.points_awarded.is_some());
    let (status, percent, passed) = if complete {
        let percent = scoring::percent(earned, max);
        (
            AttemptStatus::Graded,
            Some(percent),
            Some(percent >= f64::from(quiz.passing_score_percent)),
        )
    } else {
        (AttemptStatus::PendingReview, None, None)
    };
    let row: Row = diesel::update(quiz_attempts::table.find((tenant, id)))
        .set((
            quiz_attempts::status.eq(status.as_str()),
            quiz_attempts::score_points.eq(Some(earned)),
            quiz_attempts::score_percent.eq(percent),
            quiz_attempts::passed.eq(passed),
            quiz_attempts::results.eq(serde_json::to_value(&results).ok()),
        ))
        .returning(Row::as_returning())
        .get_result(conn)
        .await?;
    if complete {
        publish_final(conn, actor.tenant_id, &row, &quiz).await?;
    }
    let graded: Vec<Uuid> = grades.iter().map(|g| g.question_id).collect();
    crate::audit(
        conn,
        actor,
        "ATTEMPT_GRADED",
        "quiz_attempt",
        id,
        serde_json::json!({ "quiz_id": quiz.id, "question_ids": graded, "final": complete, "score_percent": percent }),
    )
    .await?;
    Ok(view(&row, &quiz, &row.questions(), Reveal::All))
}

/// One attempt: its taker sees it as `show_answers` allows, a grader of the module sees
/// everything; anyone else gets `attempt_not_found`.
pub async fn get(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: AttemptId,
) -> Result<AttemptView, AssessmentError> {
    let id = id.into_uuid();
    let row: Row = quiz_attempts::table
        .find((actor.tenant_id.into_uuid(), id))
        .select(Row::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or(AssessmentError::AttemptNotFound)?;
    let quiz = match visible_quiz(conn, actor, row.quiz_id).await {
        Err(AssessmentError::QuizNotFound) => return Err(AssessmentError::AttemptNotFound),
        other => other?,
    };
    let reveal = if row.user_id == actor.user_id.into_uuid() {
        Reveal::Policy
    } else if may_grade(conn, actor, quiz.module_id).await? {
        Reveal::All
    } else {
        return Err(AssessmentError::AttemptNotFound);
    };
    Ok(view(&row, &quiz, &row.questions(), reveal))
}

/// A page of the actor's attempts at a quiz, by number.
pub async fn mine(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    quiz: QuizId,
    page: &PageRequest,
) -> Result<Page<AttemptSummary>, AssessmentError> {
    let quiz = quiz.into_uuid();
    let quiz = visible_quiz(conn, actor, quiz).await?;
    let limit = page.limit();
    let mut query = quiz_attempts::table
        .filter(quiz_attempts::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(quiz_attempts::user_id.eq(actor.user_id.into_uuid()))
        .filter(quiz_attempts::quiz_id.eq(quiz.id))
        .select(Row::as_select())
        .order(quiz_attempts::number)
        .limit(i64::from(limit) + 1)
        .into_boxed();
    if let Some(after) = crate::cursor_after::<i32>(page)? {
        query = query.filter(quiz_attempts::number.gt(after));
    }
    let rows: Vec<Row> = query.load(conn).await?;
    let page = Page::from_overfetch(rows, limit, |r| r.number.to_string());
    Ok(Page {
        data: page.data.iter().map(Row::summary).collect(),
        next_cursor: page.next_cursor,
    })
}

/// An attempt waiting for a grader.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewItem {
    /// The attempt.
    pub attempt: AttemptSummary,
    /// The quiz's title.
    pub quiz_title: String,
    /// The quiz's module.
    pub module_id: Uuid,
}

/// The attempts waiting for review that the actor may grade (MANAGE_QUIZZES tenant-wide: all;
/// else those of modules they mentor or hold MANAGE_QUIZZES for), oldest first; never their own.
pub async fn review_queue(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: Option<Uuid>,
    page: &PageRequest,
) -> Result<Page<ReviewItem>, AssessmentError> {
    let tenant = actor.tenant_id.into_uuid();
    let limit = page.limit();
    let mut query = quiz_attempts::table
        .inner_join(
            quizzes::table.on(quizzes::tenant_id
                .eq(quiz_attempts::tenant_id)
                .and(quizzes::id.eq(quiz_attempts::quiz_id))),
        )
        .filter(quiz_attempts::tenant_id.eq(tenant))
        .filter(quiz_attempts::user_id.ne(actor.user_id.into_uuid()))
        .filter(quiz_attempts::status.eq(AttemptStatus::PendingReview.as_str()))
        .select((Row::as_select(), quizzes::title, quizzes::module_id))
        .order(quiz_attempts::id.asc())
        .limit(i64::from(limit) + 1)
        .into_boxed();
    if authorize(actor, Permission::ManageQuizzes, Target::Tenant).is_err() {
        query = query.filter(quizzes::module_id.eq_any(graded_modules(conn, actor).await?));
    }
    if let Some(module) = module {
        query = query.filter(quizzes::module_id.eq(module));
    }
    if let Some(after) = crate::cursor_after::<Uuid>(page)? {
        query = query.filter(quiz_attempts::id.gt(after));
    }
    let rows: Vec<(Row, String, Uuid)> = query.load(conn).await?;
    let page = Page::from_overfetch(rows, limit, |(r, _, _)| r.id.to_string());
    Ok(Page {
        data: page
            .data
            .into_iter()
            .map(|(row, quiz_title, module_id)| ReviewItem {
                attempt: row.summary(),
                quiz_title,
                module_id,
            })
            .collect(),
        next_cursor: page.next_cursor,
    })
}

/// The quizzes of `module` that `user` has passed (a final score at or above the passing score):
/// what a module-completion check needs. Run it in the caller's tenant transaction.
pub async fn passed_quiz_ids(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    module: Uuid,
) -> Result<Vec<Uuid>, AssessmentError> {
    Ok(quiz_attempts::table
        .inner_join(
            quizzes::table.on(quizzes::tenant_id
                .eq(quiz_attempts::tenant_id)
                .and(quizzes::id.eq(quiz_attempts::quiz_id))),
        )
        .filter(quiz_attempts::tenant_id.eq(tenant.into_uuid()))
        .filter(quiz_attempts::user_id.eq(user.into_uuid()))
        .filter(quiz_attempts::passed.eq(true))
        .filter(quiz_attempts::archived_at.is_null())
        .filter(quizzes::module_id.eq(module))
        .select(quiz_attempts::quiz_id)
        .distinct()
        .order(quiz_attempts::quiz_id)
        .load(conn)
        .await?)
}

/// Archives a member's active attempts at the quizzes of `module` at `now`, for a new compliance
/// cycle: kept and numbered, no longer counted. An attempt still in progress is closed as
/// TIMED_OUT (not passed), as the deadline closes it.
pub async fn archive_member_module(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    module: Uuid,
    now: DateTime<Utc>,
) -> Result<(), guild_db::DbError> {
    guild_db::sql(
        "UPDATE quiz_attempts a SET archived_at = $4, \
                status = CASE WHEN a.status = 'IN_PROGRESS' THEN 'TIMED_OUT' ELSE a.status END, \
                passed = CASE WHEN a.status = 'IN_PROGRESS' THEN false ELSE a.passed END \
         FROM quizzes q WHERE q.tenant_id = a.tenant_id AND q.id = a.quiz_id \
           AND a.tenant_id = $1 AND a.user_id = $2 AND q.module_id = $3 AND a.archived_at IS NULL",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant.into_uuid())
    .bind::<diesel::sql_types::Uuid, _>(user.into_uuid())
    .bind::<diesel::sql_types::Uuid, _>(module)
    .bind::<diesel::sql_types::Timestamptz, _>(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// What a grader needs to judge one essay of an attempt: the question as the attempt keeps it
/// and the taker's answer.
#[derive(Debug, Clone)]
pub struct EssayToGrade {
    /// The attempt's quiz's module.
    pub module_id: Uuid,
    /// The essay question, as the attempt keeps it (its explanation is the author's guidance).
    pub question: Question,
    /// The taker's text (empty when they left it blank).
    pub answer: String,
    /// The most points the essay gives.
    pub max_points: i32,
}

/// The essay `question` of attempt `id`, read under [`grade`]'s rules, for a grading
/// suggestion: a grader of the module (others: `attempt_not_found`, or 403 for the taker), never
/// of their own attempt (`cannot_grade_own_attempt`), while the attempt waits for review
/// (`attempt_not_pending_review`); a question that is not an essay of it is
/// `question_not_found`. Reads only.
pub async fn essay_to_grade(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: AttemptId,
    question: Uuid,
) -> Result<EssayToGrade, AssessmentError> {
    let row: Row = quiz_attempts::table
        .find((actor.tenant_id.into_uuid(), id.into_uuid()))
        .select(Row::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or(AssessmentError::AttemptNotFound)?;
    let quiz = match visible_quiz(conn, actor, row.quiz_id).await {
        Err(AssessmentError::QuizNotFound) => return Err(AssessmentError::AttemptNotFound),
        other => other?,
    };
    if !may_grade(conn, actor, quiz.module_id).await? {
        return Err(if row.user_id == actor.user_id.into_uuid() {
            AssessmentError::Forbidden(guild_kernel::Denied(Permission::ManageQuizzes))
        } else {
            AssessmentError::AttemptNotFound
        });
    }
    if row.user_id == actor.user_id.into_uuid() {
        return Err(AssessmentError::CannotGradeOwnAttempt);
    }
    if row.status != AttemptStatus::PendingReview {
        return Err(AssessmentError::AttemptNotPendingReview);
    }
    let result = row
        .results()
        .into_iter()
        .find(|r| r.question_id == question && r.kind == QuestionKind::Essay)
        .ok_or(AssessmentError::QuestionNotFound)?;
    let question = row
        .questions()
        .remove(&question)
        .ok_or(AssessmentError::QuestionNotFound)?;
    let answer = row
        .answers()
        .into_iter()
        .find(|a| a.question_id == question.id)
        .and_then(|a| a.text)
        .unwrap_or_default();
    Ok(EssayToGrade {
        module_id: quiz.module_id,
        question,
        answer,
        max_points: result.max_points,
    })
}
