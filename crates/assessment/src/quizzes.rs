//! Quizzes of a module: CRUD with optimistic concurrency (`revision`, exposed as the ETag).
//!
//! A quiz is visible exactly when its module is: an invisible module's quizzes are 404
//! `quiz_not_found`, as if absent. Authors (MANAGE_QUIZZES on the module, or whoever may edit
//! the module) see questions with their answer keys; everyone else sees the quiz's settings and
//! size only — questions reach a taker through an attempt, without answers.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{module_mentors, quiz_questions, quizzes};
use guild_kernel::{Actor, Page, PageRequest, Permission, QuizId, Target, authorize};
use guild_learning::LearningError;
use guild_learning::access::{editable, is_mentor, visible};
use serde::Serialize;
use uuid::Uuid;

use crate::AssessmentError;
use crate::banks::{self, Draw};
use crate::questions::{self, Question};
use crate::scoring::ScoringMode;

guild_kernel::string_enum!(
    /// What a taker is shown of the right answers after submitting.
    ShowAnswers {
        /// The score and the verdict only.
        Never => "NEVER",
        /// The right answers and explanations once the attempt passed.
        AfterPass => "AFTER_PASS",
        /// The right answers and explanations after every submission.
        Always => "ALWAYS",
    }
);

/// A quiz's stored fields.
#[derive(Debug, Clone, Serialize, Queryable, Selectable)]
#[diesel(table_name = quizzes)]
pub struct Quiz {
    /// Id.
    pub id: Uuid,
    /// Its module.
    pub module_id: Uuid,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Score, in percent, needed to pass.
    pub passing_score_percent: i32,
    /// Attempts each member may make; `None` is unlimited.
    pub max_attempts: Option<i32>,
    /// Seconds an attempt may last; `None` is untimed.
    pub time_limit_seconds: Option<i32>,
    /// Each attempt shows the questions in its own random order.
    pub shuffle_questions: bool,
    /// Each attempt shows the options in its own random order.
    pub shuffle_options: bool,
    /// What takers see of the right answers.
    #[diesel(deserialize_as = String)]
    pub show_answers: ShowAnswers,
    /// How MULTIPLE_CHOICE questions are scored.
    #[diesel(deserialize_as = String)]
    pub multiple_choice_scoring: ScoringMode,
    /// The author.
    pub created_by: Uuid,
    /// Bumped by every change; the ETag.
    pub revision: i32,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A quiz with its size, and its questions when the actor may author it.
#[derive(Debug, Clone, Serialize)]
pub struct QuizDetail {
    /// The stored fields.
    #[serde(flatten)]
    pub quiz: Quiz,
    /// How many questions it has.
    pub question_count: i64,
    /// The points of all its questions.
    pub total_points: i64,
    /// The questions with their answer keys (authors only).
    pub questions: Option<Vec<Question>>,
    /// What each attempt draws from question banks, in order, besides the quiz's own questions.
    pub draws: Vec<Draw>,
}

/// Editable fields; `None` keeps the value (on create: the default).
#[derive(Debug, Clone, Default)]
pub struct QuizInput {
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Passing score in percent (default 70).
    pub passing_score_percent: Option<i32>,
    /// `Some(None)` makes attempts unlimited.
    pub max_attempts: Option<Option<i32>>,
    /// `Some(None)` removes the time limit.
    pub time_limit_seconds: Option<Option<i32>>,
    /// Shuffle questions per attempt.
    pub shuffle_questions: Option<bool>,
    /// Shuffle options per attempt.
    pub shuffle_options: Option<bool>,
    /// What takers see of the right answers (default AFTER_PASS).
    pub show_answers: Option<ShowAnswers>,
    /// How MULTIPLE_CHOICE questions are scored (default ALL_OR_NOTHING).
    pub multiple_choice_scoring: Option<ScoringMode>,
    /// Replaces what each attempt draws from question banks (default none).
    pub draws: Option<Vec<Draw>>,
}

#[derive(AsChangeset, Default)]
#[diesel(table_name = quizzes)]
struct Changes {
    title: Option<String>,
    description: Option<String>,
    passing_score_percent: Option<i32>,
    max_attempts: Option<Option<i32>>,
    time_limit_seconds: Option<Option<i32>>,
    shuffle_questions: Option<bool>,
    shuffle_options: Option<bool>,
    show_answers: Option<&'static str>,
    multiple_choice_scoring: Option<&'static str>,
}

fn check_input(input: &QuizInput) -> Result<(), AssessmentError> {
    let mut errors = Vec::new();
    if let Some(t) = &input.title
        && (t.trim().is_empty() || t.chars().count() > 200)
    {
        errors.push(guild_kernel::FieldError::new(
            "title",
            "length",
            "must be 1 to 200 characters",
        ));
    }
    if input
        .passing_score_percent
        .is_some_and(|p| !(0..=100).contains(&p))
    {
        errors.push(guild_kernel::FieldError::new(
            "passing_score_percent",
            "range",
            "must be 0 to 100",
        ));
    }
    if matches!(input.max_attempts, Some(Some(n)) if n < 1) {
        errors.push(guild_kernel::FieldError::new(
            "max_attempts",
            "range",
            "must be at least 1 (or null for unlimited)",
        ));
    }
    if matches!(input.time_limit_seconds, Some(Some(n)) if n < 1) {
        errors.push(guild_kernel::FieldError::new(
            "time_limit_seconds",
            "range",
            "must be at least 1 (or null for no limit)",
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AssessmentError::Invalid(errors))
    }
}

/// The actor may author quizzes of `module` (which they can see): MANAGE_QUIZZES on it, or the
/// right to edit it. Invisible is 404, visible but not allowed is 403.
pub(crate) async fn check_author(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: Uuid,
) -> Result<(), AssessmentError> {
    visible(conn, actor, module).await?;
    if authorize(actor, Permission::ManageQuizzes, Target::Module(module)).is_ok() {
        return Ok(());
    }
    editable(conn, actor, module).await?;
    Ok(())
}

/// Whether the actor may author quizzes of a module they can see.
pub(crate) async fn may_author(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: Uuid,
) -> Result<bool, AssessmentError> {
    if authorize(actor, Permission::ManageQuizzes, Target::Module(module)).is_ok() {
        return Ok(true);
    }
    match editable(conn, actor, module).await {
        Ok(_) => Ok(true),
        Err(LearningError::Forbidden(_) | LearningError::ModuleNotFound) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Whether the actor grades attempts at `module`'s quizzes: MANAGE_QUIZZES on it, or a mentor
/// (a personal relation, so not through an API key that does not act as a member).
pub async fn may_grade(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: Uuid,
) -> Result<bool, AssessmentError> {
    Ok(
        authorize(actor, Permission::ManageQuizzes, Target::Module(module)).is_ok()
            || (actor.acts_as_member() && is_mentor(conn, actor, module).await?),
    )
}

/// The modules whose quiz attempts and submissions the actor grades, for one who does not grade
/// everywhere (MANAGE_QUIZZES tenant-wide): those they mentor (not through an API key that does
/// not act as a member) and those a module-scoped MANAGE_QUIZZES grant covers.
pub(crate) async fn graded_modules(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
) -> Result<Vec<Uuid>, AssessmentError> {
    let mut allowed: Vec<Uuid> = if actor.acts_as_member() {
        module_mentors::table
            .filter(module_mentors::tenant_id.eq(actor.tenant_id.into_uuid()))
            .filter(module_mentors::user_id.eq(actor.user_id.into_uuid()))
            .select(module_mentors::module_id)
            .load(conn)
            .await?
    } else {
        Vec::new()
    };
    allowed.extend(
        actor
            .grants
            .iter()
            .filter(|g| g.permission == Permission::ManageQuizzes)
            .filter_map(|g| g.scope.module_ids.clone())
            .flatten()
            .filter(|m| authorize(actor, Permission::ManageQuizzes, Target::Module(*m)).is_ok()),
    );
    Ok(allowed)
}

/// Loads a quiz whose module the actor can see, or `QuizNotFound`.
pub(crate) async fn visible_quiz(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<Quiz, AssessmentError> {
    let quiz = quizzes::table
        .find((actor.tenant_id.into_uuid(), id))
        .select(Quiz::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or(AssessmentError::QuizNotFound)?;
    match visible(conn, actor, quiz.module_id).await {
        Ok(_) => Ok(quiz),
        Err(LearningError::ModuleNotFound) => Err(AssessmentError::QuizNotFound),
        Err(e) => Err(e.into()),
    }
}

/// Loads a quiz the actor may author (404 if invisible, 403 if not theirs to edit).
pub(crate) async fn authored_quiz(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<Quiz, AssessmentError> {
    let quiz = visible_quiz(conn, actor, id).await?;
    check_author(conn, actor, quiz.module_id).await?;
    Ok(quiz)
}

/// Question count and total points per quiz, in one query.
async fn sizes(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, (i64, i64)>, AssessmentError> {
    let rows: Vec<(Uuid, i64, Option<i64>)> = quiz_questions::table
        .filter(quiz_questions::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(quiz_questions::quiz_id.eq_any(ids))
        .group_by(quiz_questions::quiz_id)
        .select((
            quiz_questions::quiz_id,
            diesel::dsl::count_star(),
            diesel::dsl::sum(quiz_questions::points),
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, count, points)| (id, (count, points.unwrap_or(0))))
        .collect())
}

async fn detail(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    quiz: Quiz,
) -> Result<QuizDetail, AssessmentError> {
    let (question_count, total_points) = sizes(conn, actor, &[quiz.id])
        .await?
        .get(&quiz.id)
        .copied()
        .unwrap_or((0, 0));
    let questions = if may_author(conn, actor, quiz.module_id).await? {
        Some(questions::load(conn, actor, quiz.id).await?)
    } else {
        None
    };
    let draws = banks::draws_of(conn, actor, &[quiz.id])
        .await?
        .remove(&quiz.id)
        .unwrap_or_default();
    Ok(QuizDetail {
        quiz,
        question_count,
        total_points,
        questions,
        draws,
    })
}

/// A page of the quizzes of a module the actor can see, oldest first, without their questions.
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: Uuid,
    page: &PageRequest,
) -> Result<Page<QuizDetail>, AssessmentError> {
    visible(conn, actor, module).await?;
    let limit = page.limit();
    let mut query = quizzes::table
        .filter(quizzes::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(quizzes::module_id.eq(module))
        .select(Quiz::as_select())
        .order(quizzes::id)
        .limit(i64::from(limit) + 1)
        .into_boxed();
    if let Some(after) = crate::cursor_after::<Uuid>(page)? {
        query = query.filter(quizzes::id.gt(after));
    }
    let rows: Vec<Quiz> = query.load(conn).await?;
    let page = Page::from_overfetch(rows, limit, |q| q.id.to_string());
    let ids: Vec<Uuid> = page.data.iter().map(|q| q.id).collect();
    let sizes = sizes(conn, actor, &ids).await?;
    let mut draws = banks::draws_of(conn, actor, &ids).await?;
    Ok(Page {
        data: page
            .data
            .into_iter()
            .map(|quiz| {
                let (question_count, total_points) = sizes.get(&quiz.id).copied().unwrap_or((0, 0));
                QuizDetail {
                    draws: draws.remove(&quiz.id).unwrap_or_default(),
                    quiz,
                    question_count,
                    total_points,
                    questions: None,
                }
            })
            .collect(),
        next_cursor: page.next_cursor,
    })
}

/// One quiz; with its questions and answer keys when the actor may author it.
pub async fn get(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: QuizId,
) -> Result<QuizDetail, AssessmentError> {
    let id = id.into_uuid();
    let quiz = visible_quiz(conn, actor, id).await?;
    detail(conn, actor, quiz).await
}

/// Creates a quiz in a module.
pub async fn create(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: Uuid,
    input: &QuizInput,
) -> Result<QuizDetail, AssessmentError> {
    check_author(conn, actor, module).await?;
    check_input(input)?;
    let title = input
        .title
        .clone()
        .ok_or_else(|| AssessmentError::invalid("title", "required", "a title is required"))?;
    let id = Uuid::now_v7();
    let quiz = diesel::insert_into(quizzes::table)
        .values((
            quizzes::tenant_id.eq(actor.tenant_id.into_uuid()),
            quizzes::id.eq(id),
            quizzes::module_id.eq(module),
            quizzes::title.eq(title.trim()),
            quizzes::description.eq(input.description.clone().unwrap_or_default()),
            quizzes::passing_score_percent.eq(input.passing_score_percent.unwrap_or(70)),
            quizzes::max_attempts.eq(input.max_attempts.flatten()),
            quizzes::time_limit_seconds.eq(input.time_limit_seconds.flatten()),
            quizzes::shuffle_questions.eq(input.shuffle_questions.unwrap_or(false)),
            quizzes::shuffle_options.eq(input.shuffle_options.unwrap_or(false)),
            quizzes::show_answers.eq(input
                .show_answers
                .unwrap_or(ShowAnswers::AfterPass)
                .as_str()),
            quizzes::multiple_choice_scoring.eq(input
                .multiple_choice_scoring
                .unwrap_or(ScoringMode::AllOrNothing)
                .as_str()),
            quizzes::created_by.eq(actor.user_id.into_uuid()),
        ))
        .returning(Quiz::as_returning())
        .get_result(conn)
        .await?;
    if let Some(draws) = &input.draws {
        banks::set_draws(conn, actor, id, draws).await?;
    }
    crate::audit(
        conn,
        actor,
        "QUIZ_CREATED",
        "quiz",
        id,
        serde_json::json!({ "module_id": module, "title": quiz.title }),
    )
    .await?;
    detail(conn, actor, quiz).await
}

/// Changes a quiz's settings; `expected` is the revision the client read.
pub async fn update(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: QuizId,
    expected: i32,
    input: &QuizInput,
    now: DateTime<Utc>,
) -> Result<QuizDetail, AssessmentError> {
    let id = id.into_uuid();
    let current = authored_quiz(conn, actor, id).await?;
    if current.revision != expected {
        return Err(AssessmentError::StaleRevision {
            expected,
            current: current.revision,
        });
    }
    check_input(input)?;
    let changes = Changes {
        title: input.title.as_ref().map(|t| t.trim().to_owned()),
        description: input.description.clone(),
        passing_score_percent: input.passing_score_percent,
        max_attempts: input.max_attempts,
        time_limit_seconds: input.time_limit_seconds,
        shuffle_questions: input.shuffle_questions,
        shuffle_options: input.shuffle_options,
        show_answers: input.show_answers.map(ShowAnswers::as_str),
        multiple_choice_scoring: input.multiple_choice_scoring.map(ScoringMode::as_str),
    };
    let quiz = diesel::update(quizzes::table.find((actor.tenant_id.into_uuid(), id)))
        .filter(quizzes::revision.eq(expected))
        .set((
            changes,
            quizzes::revision.eq(expected + 1),
            quizzes::updated_at.eq(now),
        ))
        .returning(Quiz::as_returning())
        .get_result(conn)
        .await
        .optional()?
        .ok_or(AssessmentError::StaleRevision {
            expected,
            current: expected + 1,
        })?;
    if let Some(draws) = &input.draws {
        banks::set_draws(conn, actor, id, draws).await?;
    }
    crate::audit(
        conn,
        actor,
        "QUIZ_UPDATED",
        "quiz",
        id,
        serde_json::json!({ "module_id": quiz.module_id, "revision": quiz.revision }),
    )
    .await?;
    detail(conn, actor, quiz).await
}

/// Deletes a quiz with its questions and attempts.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: QuizId,
    expected: i32,
) -> Result<(), AssessmentError> {
    let id = id.into_uuid();
    let current = authored_quiz(conn, actor, id).await?;
    if current.revision != expected {
        return Err(AssessmentError::StaleRevision {
            expected,
            current: current.revision,
        });
    }
    diesel::delete(quizzes::table.find((actor.tenant_id.into_uuid(), id)))
        .execute(conn)
        .await?;
    crate::audit(
        conn,
        actor,
        "QUIZ_DELETED",
        "quiz",
        id,
        serde_json::json!({ "module_id": current.module_id, "title": current.title }),
    )
    .await
}
