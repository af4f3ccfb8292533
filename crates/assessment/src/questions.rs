//! Questions of a quiz: ordered, of five kinds, validated on write, each with its own revision
//! (ETag), and one atomic reorder.
//!
//! Rules: SINGLE_CHOICE and TRUE_FALSE have exactly one correct option (TRUE_FALSE exactly two
//! options); MULTIPLE_CHOICE at least one; choice kinds have 2 to 20 options with unique ids and
//! no accepted answers. FILL_IN_BLANK has at least one accepted answer and no options. ESSAY has
//! neither: a grader scores it.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::quiz_questions;
use guild_kernel::{Actor, FieldError, QuizId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AssessmentError;
use crate::quizzes::authored_quiz;
use crate::scoring::normalize;

guild_kernel::string_enum!(
    /// What a question asks for, and how it is scored (see [`crate::scoring`]).
    QuestionKind {
        /// Choose the one correct option among 2 to 20.
        SingleChoice => "SINGLE_CHOICE",
        /// Choose every correct option among 2 to 20 (at least one is correct).
        MultipleChoice => "MULTIPLE_CHOICE",
        /// Choose the correct one of exactly two options.
        TrueFalse => "TRUE_FALSE",
        /// Type an answer; it must equal one of the accepted answers.
        FillInBlank => "FILL_IN_BLANK",
        /// Write freely; a grader scores it.
        Essay => "ESSAY",
    }
);

impl QuestionKind {
    /// Whether it is answered by choosing options.
    pub fn is_choice(self) -> bool {
        matches!(
            self,
            Self::SingleChoice | Self::MultipleChoice | Self::TrueFalse
        )
    }
}

/// One option of a choice question, with its answer key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChoiceOption {
    /// The author's id for it, unique in the question (e.g. `a`).
    pub id: String,
    /// What the taker reads.
    pub text: String,
    /// Part of the right answer.
    pub correct: bool,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = quiz_questions)]
struct Row {
    id: Uuid,
    quiz_id: Uuid,
    #[diesel(deserialize_as = String)]
    kind: QuestionKind,
    prompt: String,
    options: serde_json::Value,
    accepted_answers: Vec<String>,
    points: i32,
    explanation: Option<String>,
    sort_order: i32,
    revision: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// A question with its answer key. An attempt keeps its questions in this shape (see
/// [`crate::attempts`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Question {
    /// Id.
    pub id: Uuid,
    /// Its quiz.
    pub quiz_id: Uuid,
    /// Its kind.
    pub kind: QuestionKind,
    /// What is asked.
    pub prompt: String,
    /// The options (choice kinds).
    pub options: Vec<ChoiceOption>,
    /// Accepted answers (FILL_IN_BLANK).
    pub accepted_answers: Vec<String>,
    /// Points it is worth.
    pub points: i32,
    /// Shown with the answers.
    pub explanation: Option<String>,
    /// Position, from 0.
    pub sort_order: i32,
    /// Bumped by every change; the ETag.
    pub revision: i32,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<Row> for Question {
    fn from(r: Row) -> Self {
        Self {
            id: r.id,
            quiz_id: r.quiz_id,
            kind: r.kind,
            prompt: r.prompt,
            // Only this module writes the column, always from a `Vec<ChoiceOption>`.
            options: serde_json::from_value(r.options).unwrap_or_default(),
            accepted_answers: r.accepted_answers,
            points: r.points,
            explanation: r.explanation,
            sort_order: r.sort_order,
            revision: r.revision,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Editable fields; `None` keeps the value.
#[derive(Debug, Clone, Default)]
pub struct QuestionInput {
    /// Kind.
    pub kind: Option<QuestionKind>,
    /// Prompt.
    pub prompt: Option<String>,
    /// Options; replaces them.
    pub options: Option<Vec<ChoiceOption>>,
    /// Accepted answers; replaces them.
    pub accepted_answers: Option<Vec<String>>,
    /// Points.
    pub points: Option<i32>,
    /// `Some(None)` removes the explanation.
    pub explanation: Option<Option<String>>,
}

/// What a question would be after a write, checked as a whole (a quiz's question or a bank's:
/// both follow the same rules).
pub(crate) struct Draft<'a> {
    pub(crate) kind: QuestionKind,
    pub(crate) prompt: &'a str,
    pub(crate) options: &'a [ChoiceOption],
    pub(crate) accepted_answers: &'a [String],
    pub(crate) points: i32,
    pub(crate) explanation: Option<&'a str>,
}

/// The rules of the module doc, on a question as a whole.
pub(crate) fn check(d: &Draft<'_>) -> Result<(), AssessmentError> {
    let mut errors = Vec::new();
    let mut err = |field: String, code: &str, message: &str| {
        errors.push(FieldError::new(field, code, message));
    };
    if d.prompt.trim().is_empty() || d.prompt.chars().count() > 5000 {
        err("prompt".into(), "length", "must be 1 to 5000 characters");
    }
    if !(1..=1000).contains(&d.points) {
        err("points".into(), "range", "must be 1 to 1000");
    }
    if d.explanation.is_some_and(|e| e.chars().count() > 5000) {
        err(
            "explanation".into(),
            "length",
            "must be at most 5000 characters",
        );
    }
    if d.kind.is_choice() {
        let (min, max) = if d.kind == QuestionKind::TrueFalse {
            (2, 2)
        } else {
            (2, 20)
        };
        if d.options.len() < min || d.options.len() > max {
            let message = if d.kind == QuestionKind::TrueFalse {
                "a TRUE_FALSE question has exactly two options"
            } else {
                "a choice question has 2 to 20 options"
            };
            err("options".into(), "count", message);
        }
        let mut seen = std::collections::HashSet::new();
        for (i, option) in d.options.iter().enumerate() {
            if option.id.trim().is_empty() || option.id.chars().count() > 64 {
                err(
                    format!("options[{i}].id"),
                    "length",
                    "must be 1 to 64 characters",
                );
            } else if !seen.insert(option.id.as_str()) {
                err(
                    format!("options[{i}].id"),
                    "unique",
                    "option ids must be unique",
                );
            }
            if option.text.trim().is_empty() || option.text.chars().count() > 1000 {
                err(
                    format!("options[{i}].text"),
                    "length",
                    "must be 1 to 1000 characters",
                );
            }
        }
        let correct = d.options.iter().filter(|o| o.correct).count();
        if d.kind == QuestionKind::MultipleChoice {
            if correct == 0 {
                err(
                    "options".into(),
                    "min_correct",
                    "mark at least one option correct",
                );
            }
        } else if correct != 1 {
            err(
                "options".into(),
                "one_correct",
                "mark exactly one option correct",
            );
        }
        if !d.accepted_answers.is_empty() {
            err(
                "accepted_answers".into(),
                "not_allowed",
                "only FILL_IN_BLANK questions have accepted answers",
            );
        }
    } else {
        if !d.options.is_empty() {
            err(
                "options".into(),
                "not_allowed",
                "only choice questions have options",
            );
        }
        if d.kind == QuestionKind::FillInBlank {
            if d.accepted_answers.is_empty() {
                err(
                    "accepted_answers".into(),
                    "required",
                    "a FILL_IN_BLANK question needs at least one accepted answer",
                );
            }
            for (i, a) in d.accepted_answers.iter().enumerate() {
                if normalize(a).is_empty() || a.chars().count() > 500 {
                    err(
                        format!("accepted_answers[{i}]"),
                        "length",
                        "must be 1 to 500 characters, not only whitespace",
                    );
                }
            }
            if d.accepted_answers.len() > 50 {
                err(
                    "accepted_answers".into(),
                    "count",
                    "at most 50 accepted answers",
                );
            }
        } else if !d.accepted_answers.is_empty() {
            err(
                "accepted_answers".into(),
                "not_allowed",
                "only FILL_IN_BLANK questions have accepted answers",
            );
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AssessmentError::Invalid(errors))
    }
}

/// Checks a whole question against the rules of the module doc, as creating it in a quiz
/// would (`validation_failed` with the same field codes), without writing anything: for
/// questions proposed elsewhere (a suggestion) before they are shown as ready to add.
pub fn validate(
    kind: QuestionKind,
    prompt: &str,
    options: &[ChoiceOption],
    accepted_answers: &[String],
    points: i32,
    explanation: Option<&str>,
) -> Result<(), AssessmentError> {
    check(&Draft {
        kind,
        prompt,
        options,
        accepted_answers,
        points,
        explanation,
    })
}

pub(crate) fn options_json(options: &[ChoiceOption]) -> serde_json::Value {
    serde_json::to_value(options).unwrap_or_else(|_| serde_json::json!([]))
}

/// The quiz's questions in order, with their answer keys (callers decide who may see them).
pub(crate) async fn load(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    quiz: Uuid,
) -> Result<Vec<Question>, AssessmentError> {
    let rows: Vec<Row> = quiz_questions::table
        .filter(quiz_questions::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(quiz_questions::quiz_id.eq(quiz))
        .select(Row::as_select())
        .order(quiz_questions::sort_order)
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(Question::from).collect())
}

async fn find(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    quiz: Uuid,
    id: Uuid,
) -> Result<Question, AssessmentError> {
    quiz_questions::table
        .find((actor.tenant_id.into_uuid(), id))
        .filter(quiz_questions::quiz_id.eq(quiz))
        .select(Row::as_select())
        .first(conn)
        .await
        .optional()?
        .map(Question::from)
        .ok_or(AssessmentError::QuestionNotFound)
}

/// Adds a question at the end of a quiz.
pub async fn create(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    quiz: QuizId,
    input: &QuestionInput,
) -> Result<Question, AssessmentError> {
    let quiz = quiz.into_uuid();
    authored_quiz(conn, actor, quiz).await?;
    let kind = input
        .kind
        .ok_or_else(|| AssessmentError::invalid("kind", "required", "a kind is required"))?;
    let prompt = input
        .prompt
        .clone()
        .ok_or_else(|| AssessmentError::invalid("prompt", "required", "a prompt is required"))?;
    let options = input.options.clone().unwrap_or_default();
    let accepted = input.accepted_answers.clone().unwrap_or_default();
    let points = input.points.unwrap_or(1);
    let explanation = input.explanation.clone().flatten();
    check(&Draft {
        kind,
        prompt: &prompt,
        options: &options,
        accepted_answers: &accepted,
        points,
        explanation: explanation.as_deref(),
    })?;
    let tenant = actor.tenant_id.into_uuid();
    let last: Option<i32> = quiz_questions::table
        .filter(quiz_questions::tenant_id.eq(tenant))
        .filter(quiz_questions::quiz_id.eq(quiz))
        .select(diesel::dsl::max(quiz_questions::sort_order))
        .first(conn)
        .await?;
    let id = Uuid::now_v7();
    let row: Row = diesel::insert_into(quiz_questions::table)
        .values((
            quiz_questions::tenant_id.eq(tenant),
            quiz_questions::id.eq(id),
            quiz_questions::quiz_id.eq(quiz),
            quiz_questions::kind.eq(kind.as_str()),
            quiz_questions::prompt.eq(&prompt),
            quiz_questions::options.eq(options_json(&options)),
            quiz_questions::accepted_answers.eq(&accepted),
            quiz_questions::points.eq(points),
            quiz_questions::explanation.eq(&explanation),
            quiz_questions::sort_order.eq(last.map_or(0, |n| n + 1)),
        ))
        .returning(Row::as_returning())
        .get_result(conn)
        .await?;
    crate::audit(
        conn,
        actor,
        "QUESTION_CREATED",
        "quiz_question",
        id,
        serde_json::json!({ "quiz_id": quiz, "kind": kind }),
    )
    .await?;
    Ok(row.into())
}

/// Changes a question; `expected` is the revision the client read. The result is validated as a
/// whole (changing the kind may require new options or accepted answers in the same request).
pub async fn update(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    quiz: QuizId,
    id: Uuid,
    expected: i32,
    input: &QuestionInput,
    now: DateTime<Utc>,
) -> Result<Question, AssessmentError> {
    let quiz = quiz.into_uuid();
    authored_quiz(conn, actor, quiz).await?;
    let current = find(conn, actor, quiz, id).await?;
    if current.revision != expected {
        return Err(AssessmentError::StaleRevision {
            expected,
            current: current.revision,
        });
    }
    let kind = input.kind.unwrap_or(current.kind);
    let prompt = input.prompt.clone().unwrap_or(current.prompt);
    let options = input.options.clone().unwrap_or(current.options);
    let accepted = input
        .accepted_answers
        .clone()
        .unwrap_or(current.accepted_answers);
    let points = input.points.unwrap_or(current.points);
    let explanation = input.explanation.clone().unwrap_or(current.explanation);
    check(&Draft {
        kind,
        prompt: &prompt,
        options: &options,
        accepted_answers: &accepted,
        points,
        explanation: explanation.as_deref(),
    })?;
    let row: Row = diesel::update(quiz_questions::table.find((actor.tenant_id.into_uuid(), id)))
        .filter(quiz_questions::revision.eq(expected))
        .set((
            quiz_questions::kind.eq(kind.as_str()),
            quiz_questions::prompt.eq(&prompt),
            quiz_questions::options.eq(options_json(&options)),
            quiz_questions::accepted_answers.eq(&accepted),
            quiz_questions::points.eq(points),
            quiz_questions::explanation.eq(&explanation),
            quiz_questions::revision.eq(expected + 1),
            quiz_questions::updated_at.eq(now),
        ))
        .returning(Row::as_returning())
        .get_result(conn)
        .await
        .optional()?
        .ok_or(AssessmentError::StaleRevision {
            expected,
            current: expected + 1,
        })?;
    crate::audit(
        conn,
        actor,
        "QUESTION_UPDATED",
        "quiz_question",
        id,
        serde_json::json!({ "quiz_id": quiz, "revision": row.revision }),
    )
    .await?;
    Ok(row.into())
}

/// Deletes a question and closes the gap in the order.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    quiz: QuizId,
    id: Uuid,
    expected: i32,
) -> Result<(), AssessmentError> {
    let quiz = quiz.into_uuid();
    authored_quiz(conn, actor, quiz).await?;
    let current = find(conn, actor, quiz, id).await?;
    if current.revision != expected {
        return Err(AssessmentError::StaleRevision {
            expected,
            current: current.revision,
        });
    }
    let tenant = actor.tenant_id.into_uuid();
    diesel::delete(quiz_questions::table.find((tenant, id)))
        .execute(conn)
        .await?;
    diesel::update(quiz_questions::table)
        .filter(quiz_questions::tenant_id.eq(tenant))
        .filter(quiz_questions::quiz_id.eq(quiz))
        .filter(quiz_questions::sort_order.gt(current.sort_order))
        .set(quiz_questions::sort_order.eq(quiz_questions::sort_order - 1))
        .execute(conn)
        .await?;
    crate::audit(
        conn,
        actor,
        "QUESTION_DELETED",
        "quiz_question",
        id,
        serde_json::json!({ "quiz_id": quiz }),
    )
    .await
}

/// Puts the quiz's questions in the given order, all at once; the list must name each question
/// exactly once.
pub async fn reorder(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    quiz: QuizId,
    order: &[Uuid],
) -> Result<Vec<Question>, AssessmentError> {
    let quiz = quiz.into_uuid();
    authored_quiz(conn, actor, quiz).await?;
    let tenant = actor.tenant_id.into_uuid();
    let mut current: Vec<Uuid> = quiz_questions::table
        .filter(quiz_questions::tenant_id.eq(tenant))
        .filter(quiz_questions::quiz_id.eq(quiz))
        .select(quiz_questions::id)
        .for_update()
        .load(conn)
        .await?;
    let mut wanted = order.to_vec();
    current.sort();
    wanted.sort();
    if current != wanted {
        return Err(AssessmentError::BadOrder);
    }
    guild_db::sql(
        "UPDATE quiz_questions q SET sort_order = o.position - 1, revision = q.revision + 1, updated_at = now() \
         FROM unnest($3::uuid[]) WITH ORDINALITY AS o(id, position) \
         WHERE q.tenant_id = $1 AND q.quiz_id = $2 AND q.id = o.id",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant)
    .bind::<diesel::sql_types::Uuid, _>(quiz)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(order)
    .execute(conn)
    .await?;
    crate::audit(
        conn,
        actor,
        "QUESTIONS_REORDERED",
        "quiz",
        quiz,
        serde_json::json!({ "order": order }),
    )
    .await?;
    load(conn, actor, quiz).await
}
