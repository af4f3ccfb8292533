//! Submissions to assignments, and their grades.
//!
//! - **Submit.** A member who can see the assignment submits text, files (uploaded for this
//!   assignment through [`crate::assignments::record_file`]) or both, as its
//!   `submission_format` says. Submissions are numbered per member; a resubmission supersedes the
//!   current one, and only the current one can be graded. Submissions of one member to one
//!   assignment are serialized by a transaction-scoped advisory lock (a partial unique index
//!   keeps one current submission per member and assignment as the backstop). (Callers make a
//!   repeated submission replay the first one with the API's `Idempotency-Key`.)
//! - **Resubmission rules.** Allowed until the current submission is graded
//!   (`assignment_already_graded`) or the due date passes. After the due date a submission is
//!   refused with `assignment_closed`, unless the assignment allows late work: then it is
//!   accepted and flagged `late`.
//! - **Grading** (a mentor of the module, or MANAGE_QUIZZES on it): the current submission only
//!   (`submission_superseded` otherwise), with the rubric when the assignment has one (one level
//!   per criterion, the score is the sum of their points; a plain score is refused) or with a
//!   plain score from 0 to `max_score`, plus feedback. **Nobody grades their own work**: a
//!   grader's own submission is refused (`cannot_grade_own_submission`, whatever their role) and
//!   left out of their queue; another grader grades it. **Grades are final**: a graded submission
//!   cannot be graded again (`submission_already_graded`) nor replaced by the member, so the
//!   `assessment.assignment_graded` event is written exactly once per submission.
//! - **Completion.** A graded current submission (whatever its score) to a *required*
//!   assignment counts toward module completion: [`grade`] says whether the assignment is
//!   required, and the caller (`guild_progress::attempts::grade_submission`) evaluates the
//!   completion in the same transaction.
//! - **Who sees what.** The member sees their own submissions with grade and feedback; graders
//!   of the module see everyone's; anyone else gets `submission_not_found`.
//!
//! Every mutation writes an audit row; `assessment.assignment_submitted` and
//! `assessment.assignment_graded` go to the outbox in the same transaction.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::outbox;
use guild_db::schema::{assignment_files, assignment_submissions, assignments, media_assets};
use guild_kernel::{
    Actor, AssetId, Denied, FieldError, Keyset, Page, PageRequest, Permission, Target, TenantId,
    UserId, authorize,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AssessmentError;
use crate::assignments::{Assignment, SubmissionFile, visible_assignment};
use crate::events::{AssignmentGraded, AssignmentSubmitted};
use crate::quizzes::{graded_modules, may_grade};
use crate::scoring::round2;

guild_kernel::string_enum!(
    /// Where a submission is.
    SubmissionStatus {
        /// Waiting for a grade (or superseded by a resubmission).
        Submitted => "SUBMITTED",
        /// Graded: final.
        Graded => "GRADED",
    }
);

guild_kernel::string_enum!(
    /// The orders a list of submissions can take; `-` is descending, ties go by id.
    SubmissionSort {
        /// Oldest first (the default).
        SubmittedAt => "submitted_at",
        /// Newest first.
        SubmittedAtDesc => "-submitted_at",
    }
);

/// The most files one submission may have.
pub const MAX_FILES: usize = 10;

/// The longest text answer, in characters.
pub const MAX_TEXT: usize = 50_000;

/// The longest feedback, in characters.
pub const MAX_FEEDBACK: usize = 20_000;

/// The level chosen for one criterion, with the points it gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RubricChoice {
    /// The criterion.
    pub criterion_id: String,
    /// Its chosen level.
    pub level_id: String,
    /// The level's points (stored with the grade).
    #[serde(default)]
    pub points: i32,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = assignment_submissions)]
struct Row {
    id: Uuid,
    assignment_id: Uuid,
    user_id: Uuid,
    number: i32,
    text_answer: Option<String>,
    asset_ids: Vec<Uuid>,
    submitted_at: DateTime<Utc>,
    late: bool,
    #[diesel(deserialize_as = String)]
    status: SubmissionStatus,
    superseded: bool,
    score: Option<f64>,
    rubric_selection: Option<serde_json::Value>,
    feedback: Option<String>,
    graded_by: Option<Uuid>,
    graded_at: Option<DateTime<Utc>>,
    archived_at: Option<DateTime<Utc>>,
}

/// A submission with its files and grade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    /// Id.
    pub id: Uuid,
    /// The assignment.
    pub assignment_id: Uuid,
    /// The assignment's module.
    pub module_id: Uuid,
    /// Who submitted.
    pub user_id: Uuid,
    /// 1 for the member's first submission to the assignment.
    pub number: i32,
    /// The text answer.
    pub text_answer: Option<String>,
    /// The files.
    pub files: Vec<SubmissionFile>,
    /// When.
    pub submitted_at: DateTime<Utc>,
    /// After the due date.
    pub late: bool,
    /// Where it is.
    pub status: SubmissionStatus,
    /// Replaced by a later submission.
    pub superseded: bool,
    /// The grade, 0 to `max_score`.
    pub score: Option<f64>,
    /// The assignment's maximum score.
    pub max_score: i32,
    /// The rubric levels chosen, when graded with the rubric.
    pub rubric_selection: Option<Vec<RubricChoice>>,
    /// The grader's feedback.
    pub feedback: Option<String>,
    /// Who graded it.
    pub graded_by: Option<Uuid>,
    /// When.
    pub graded_at: Option<DateTime<Utc>>,
}

/// The files of `rows`, in one query.
async fn files_of(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    rows: &[Row],
) -> Result<HashMap<Uuid, SubmissionFile>, AssessmentError> {
    let ids: Vec<Uuid> = rows.iter().flat_map(|r| r.asset_ids.clone()).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let files: Vec<(Uuid, String, String, i64)> = media_assets::table
        .filter(media_assets::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(media_assets::id.eq_any(&ids))
        .select((
            media_assets::id,
            media_assets::file_name,
            media_assets::content_type,
            media_assets::size_bytes,
        ))
        .load(conn)
        .await?;
    Ok(files
        .into_iter()
        .map(|(asset_id, file_name, content_type, size_bytes)| {
            (
                asset_id,
                SubmissionFile {
                    asset_id,
                    file_name,
                    content_type,
                    size_bytes,
                },
            )
        })
        .collect())
}

fn view(
    row: Row,
    module_id: Uuid,
    max_score: i32,
    files: &HashMap<Uuid, SubmissionFile>,
) -> Submission {
    Submission {
        id: row.id,
        assignment_id: row.assignment_id,
        module_id,
        user_id: row.user_id,
        number: row.number,
        text_answer: row.text_answer,
        // A file deleted from the media library since is left out.
        files: row
            .asset_ids
            .iter()
            .filter_map(|id| files.get(id).cloned())
            .collect(),
        submitted_at: row.submitted_at,
        late: row.late,
        status: row.status,
        superseded: row.superseded,
        score: row.score,
        max_score,
        rubric_selection: row
            .rubric_selection
            .and_then(|v| serde_json::from_value(v).ok()),
        feedback: row.feedback,
        graded_by: row.graded_by,
        graded_at: row.graded_at,
    }
}

async fn views(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    rows: Vec<Row>,
    assignment: &Assignment,
) -> Result<Vec<Submission>, AssessmentError> {
    let files = files_of(conn, actor, &rows).await?;
    Ok(rows
        .into_iter()
        .map(|r| view(r, assignment.module_id, assignment.max_score, &files))
        .collect())
}

/// What a member submits.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SubmissionInput {
    /// The text answer (TEXT and BOTH).
    pub text_answer: Option<String>,
    /// Files uploaded for this assignment (FILE and BOTH).
    pub asset_ids: Vec<Uuid>,
}

async fn lock_member_assignment(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    assignment: Uuid,
) -> Result<(), AssessmentError> {
    guild_db::sql("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind::<Text, _>(format!(
            "assignment_submissions:{}:{}:{assignment}",
            actor.tenant_id, actor.user_id
        ))
        .execute(conn)
        .await?;
    Ok(())
}

async fn check_input(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    assignment: &Assignment,
    input: &SubmissionInput,
) -> Result<(), AssessmentError> {
    let mut errors = Vec::new();
    let text = input
        .text_answer
        .as_deref()
        .filter(|t| !t.trim().is_empty());
    if assignment.takes_text() {
        if text.is_none() {
            errors.push(FieldError::new(
                "text_answer",
                "required",
                "this assignment needs a text answer",
            ));
        } else if text.is_some_and(|t| t.chars().count() > MAX_TEXT) {
            errors.push(FieldError::new(
                "text_answer",
                "length",
                format!("must be at most {MAX_TEXT} characters"),
            ));
        }
    } else if input.text_answer.is_some() {
        errors.push(FieldError::new(
            "text_answer",
            "not_allowed",
            "this assignment takes files only",
        ));
    }
    if assignment.takes_files() {
        let unique: HashSet<&Uuid> = input.asset_ids.iter().collect();
        if input.asset_ids.is_empty() {
            errors.push(FieldError::new(
                "asset_ids",
                "required",
                "this assignment needs at least one file",
            ));
        } else if input.asset_ids.len() > MAX_FILES {
            errors.push(FieldError::new(
                "asset_ids",
                "length",
                format!("at most {MAX_FILES} files"),
            ));
        } else if unique.len() != input.asset_ids.len() {
            errors.push(FieldError::new(
                "asset_ids",
                "unique",
                "name each file once",
            ));
        } else {
            let mine: Vec<Uuid> = assignment_files::table
                .inner_join(
                    media_assets::table.on(media_assets::tenant_id
                        .eq(assignment_files::tenant_id)
                        .and(media_assets::id.eq(assignment_files::asset_id))),
                )
                .filter(assignment_files::tenant_id.eq(actor.tenant_id.into_uuid()))
                .filter(assignment_files::assignment_id.eq(assignment.id))
                .filter(assignment_files::user_id.eq(actor.user_id.into_uuid()))
                .filter(assignment_files::asset_id.eq_any(&input.asset_ids))
                .filter(media_assets::status.eq("READY"))
                .select(assignment_files::asset_id)
                // Held until the submission commits: the sweep of orphaned files skips them.
                .for_share()
                .load(conn)
                .await?;
            for (i, id) in input.asset_ids.iter().enumerate() {
                if !mine.contains(id) {
                    errors.push(FieldError::new(
                        format!("asset_ids[{i}]"),
                        "unknown",
                        "not a file you uploaded for this assignment",
                    ));
                }
            }
        }
    } else if !input.asset_ids.is_empty() {
        errors.push(FieldError::new(
            "asset_ids",
            "not_allowed",
            "this assignment takes text only",
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AssessmentError::Invalid(errors))
    }
}

/// Submits the actor's work to an assignment; supersedes their current submission. See the
/// module docs for the rules.
pub async fn submit(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    assignment_id: Uuid,
    input: &SubmissionInput,
    now: DateTime<Utc>,
) -> Result<Submission, AssessmentError> {
    let assignment = visible_assignment(conn, actor, assignment_id).await?;
    lock_member_assignment(conn, actor, assignment.id).await?;
    let tenant = actor.tenant_id.into_uuid();
    let user = actor.user_id.into_uuid();
    let mine: Vec<Row> = assignment_submissions::table
        .filter(assignment_submissions::tenant_id.eq(tenant))
        .filter(assignment_submissions::user_id.eq(user))
        .filter(assignment_submissions::assignment_id.eq(assignment.id))
        .select(Row::as_select())
        .order(assignment_submissions::number)
        .load(conn)
        .await?;
    // Submissions of an earlier compliance cycle are archived and no longer current.
    let current = mine
        .iter()
        .find(|r| !r.superseded && r.archived_at.is_none());
    if current.is_some_and(|c| c.status == SubmissionStatus::Graded) {
        return Err(AssessmentError::AssignmentAlreadyGraded);
    }
    let late = assignment.due_at.is_some_and(|due| now > due);
    if late && !assignment.allow_late {
        return Err(AssessmentError::AssignmentClosed);
    }
    check_input(conn, actor, &assignment, input).await?;
    if let Some(current) = current {
        diesel::update(assignment_submissions::table.find((tenant, current.id)))
            .set(assignment_submissions::superseded.eq(true))
            .execute(conn)
            .await?;
    }
    let number = mine.iter().map(|r| r.number).max().unwrap_or(0) + 1;
    let id = Uuid::now_v7();
    let row: Row = diesel::insert_into(assignment_submissions::table)
        .values((
            assignment_submissions::tenant_id.eq(tenant),
            assignment_submissions::id.eq(id),
            assignment_submissions::assignment_id.eq(assignment.id),
            assignment_submissions::user_id.eq(user),
            assignment_submissions::number.eq(number),
            assignment_submissions::text_answer.eq(input
                .text_answer
                .as_deref()
                .filter(|_| assignment.takes_text())),
            assignment_submissions::asset_ids.eq(&input.asset_ids),
            assignment_submissions::submitted_at.eq(now),
            assignment_submissions::late.eq(late),
        ))
        .returning(Row::as_returning())
        .get_result(conn)
        .await?;
    outbox::publish(
        conn,
        Some(actor.tenant_id),
        &AssignmentSubmitted {
            tenant_id: tenant,
            user_id: user,
            assignment_id: assignment.id,
            module_id: assignment.module_id,
            submission_id: id,
            number,
            late,
        },
    )
    .await?;
    crate::audit(
        conn,
        actor,
        "ASSIGNMENT_SUBMITTED",
        "assignment_submission",
        id,
        serde_json::json!({
            "assignment_id": assignment.id,
            "number": number,
            "late": late,
            "supersedes": current.map(|c| c.id),
        }),
    )
    .await?;
    views(conn, actor, vec![row], &assignment)
        .await?
        .pop()
        .ok_or(AssessmentError::SubmissionNotFound)
}

/// A grader's grade: a rubric selection (one level per criterion) when the assignment has a
/// rubric, else a plain score.
#[derive(Debug, Clone, Default)]
pub struct GradeInput {
    /// A plain score, 0 to `max_score` (assignments without a rubric).
    pub score: Option<f64>,
    /// `(criterion_id, level_id)` for every criterion (assignments with a rubric).
    pub rubric_selection: Option<Vec<(String, String)>>,
    /// Feedback for the member.
    pub feedback: Option<String>,
}

/// The score and stored selection a grade gives, or what is wrong with it.
fn score_of(
    assignment: &Assignment,
    input: &GradeInput,
) -> Result<(f64, Option<Vec<RubricChoice>>), AssessmentError> {
    if input
        .feedback
        .as_ref()
        .is_some_and(|f| f.chars().count() > MAX_FEEDBACK)
    {
        return Err(AssessmentError::invalid(
            "feedback",
            "length",
            &format!("must be at most {MAX_FEEDBACK} characters"),
        ));
    }
    match (&assignment.rubric, &input.rubric_selection, input.score) {
        (Some(_), _, Some(_)) => Err(AssessmentError::invalid(
            "score",
            "not_allowed",
            "this assignment is graded with its rubric: send rubric_selection instead",
        )),
        (Some(_), None, None) => Err(AssessmentError::invalid(
            "rubric_selection",
            "required",
            "choose one level for every criterion of the rubric",
        )),
        (Some(rubric), Some(selection), None) => {
            let mut errors = Vec::new();
            let mut chosen: HashMap<&str, &str> = HashMap::new();
            for (i, (criterion, level)) in selection.iter().enumerate() {
                let Some(c) = rubric.iter().find(|c| &c.id == criterion) else {
                    errors.push(FieldError::new(
                        format!("rubric_selection[{i}].criterion_id"),
                        "unknown",
                        "not a criterion of this rubric",
                    ));
                    continue;
                };
                if !c.levels.iter().any(|l| &l.id == level) {
                    errors.push(FieldError::new(
                        format!("rubric_selection[{i}].level_id"),
                        "unknown",
                        "not a level of this criterion",
                    ));
                    continue;
                }
                if chosen.insert(criterion, level).is_some() {
                    errors.push(FieldError::new(
                        format!("rubric_selection[{i}].criterion_id"),
                        "unique",
                        "choose one level per criterion",
                    ));
                }
            }
            if errors.is_empty() {
                for c in rubric
                    .iter()
                    .filter(|c| !chosen.contains_key(c.id.as_str()))
                {
                    errors.push(FieldError::new(
                        "rubric_selection",
                        "missing_criterion",
                        format!("choose a level for criterion {:?}", c.id),
                    ));
                }
            }
            if !errors.is_empty() {
                return Err(AssessmentError::Invalid(errors));
            }
            let choices: Vec<RubricChoice> = rubric
                .iter()
                .filter_map(|c| {
                    let level_id = chosen.get(c.id.as_str())?;
                    let level = c.levels.iter().find(|l| l.id == *level_id)?;
                    Some(RubricChoice {
                        criterion_id: c.id.clone(),
                        level_id: level.id.clone(),
                        points: level.points,
                    })
                })
                .collect();
            let score = choices.iter().map(|c| f64::from(c.points)).sum::<f64>();
            // A rubric edited after validation could exceed the maximum; never store more.
            Ok((score.min(f64::from(assignment.max_score)), Some(choices)))
        }
        (None, Some(_), _) => Err(AssessmentError::invalid(
            "rubric_selection",
            "not_allowed",
            "this assignment has no rubric: send a score",
        )),
        (None, None, None) => Err(AssessmentError::invalid(
            "score",
            "required",
            "send a score",
        )),
        (None, None, Some(score)) => {
            if !score.is_finite() || score < 0.0 || score > f64::from(assignment.max_score) {
                Err(AssessmentError::invalid(
                    "score",
                    "range",
                    &format!("must be 0 to {}", assignment.max_score),
                ))
            } else {
                Ok((round2(score), None))
            }
        }
    }
}

/// Loads a submission with its assignment when the actor may see it: its author, or a grader of
/// the module. Returns whether the actor grades it.
async fn accessible(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    lock: bool,
) -> Result<(Row, Assignment, bool), AssessmentError> {
    let query = assignment_submissions::table
        .find((actor.tenant_id.into_uuid(), id))
        .select(Row::as_select());
    let row: Row = if lock {
        query.for_update().first(conn).await
    } else {
        query.first(conn).await
    }
    .optional()?
    .ok_or(AssessmentError::SubmissionNotFound)?;
    let assignment = match visible_assignment(conn, actor, row.assignment_id).await {
        Err(AssessmentError::AssignmentNotFound) => {
            return Err(AssessmentError::SubmissionNotFound);
        }
        other => other?,
    };
    let grader = may_grade(conn, actor, assignment.module_id).await?;
    if !grader && row.user_id != actor.user_id.into_uuid() {
        return Err(AssessmentError::SubmissionNotFound);
    }
    Ok((row, assignment, grader))
}

/// A submission just graded.
#[derive(Debug, Clone)]
pub struct Graded {
    /// The submission, as its grader sees it.
    pub submission: Submission,
    /// Its assignment is required: the grade counts toward completing the module.
    pub required: bool,
}

/// Grades the current submission of a member (a mentor of the module, or MANAGE_QUIZZES), never
/// the grader's own (`cannot_grade_own_submission`). Grades are final. A graded required
/// assignment may complete the module: [`Graded::required`] tells the caller to check.
pub async fn grade(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    input: &GradeInput,
    now: DateTime<Utc>,
) -> Result<Graded, AssessmentError> {
    let (row, assignment, grader) = accessible(conn, actor, id, true).await?;
    if !grader {
        return Err(AssessmentError::Forbidden(Denied(
            Permission::ManageQuizzes,
        )));
    }
    if row.user_id == actor.user_id.into_uuid() {
        return Err(AssessmentError::CannotGradeOwnSubmission);
    }
    if row.superseded || row.archived_at.is_some() {
        return Err(AssessmentError::SubmissionSuperseded);
    }
    if row.status == SubmissionStatus::Graded {
        return Err(AssessmentError::SubmissionAlreadyGraded);
    }
    let (score, selection) = score_of(&assignment, input)?;
    let tenant = actor.tenant_id.into_uuid();
    let grader_id = actor.user_id.into_uuid();
    let row: Row = diesel::update(assignment_submissions::table.find((tenant, id)))
        .set((
            assignment_submissions::status.eq(SubmissionStatus::Graded.as_str()),
            assignment_submissions::score.eq(Some(score)),
            assignment_submissions::rubric_selection.eq(selection
                .as_ref()
                .and_then(|s| serde_json::to_value(s).ok())),
            assignment_submissions::feedback.eq(input.feedback.as_deref()),
            assignment_submissions::graded_by.eq(Some(grader_id)),
            assignment_submissions::graded_at.eq(Some(now)),
        ))
        .returning(Row::as_returning())
        .get_result(conn)
        .await?;
    outbox::publish(
        conn,
        Some(actor.tenant_id),
        &AssignmentGraded {
            tenant_id: tenant,
            user_id: row.user_id,
            assignment_id: assignment.id,
            module_id: assignment.module_id,
            submission_id: id,
            score,
            max_score: assignment.max_score,
            graded_by: grader_id,
        },
    )
    .await?;
    crate::audit(
        conn,
        actor,
        "ASSIGNMENT_GRADED",
        "assignment_submission",
        id,
        serde_json::json!({
            "assignment_id": assignment.id,
            "user_id": row.user_id,
            "score": score,
            "max_score": assignment.max_score,
            "rubric": selection.is_some(),
        }),
    )
    .await?;
    let submission = views(conn, actor, vec![row], &assignment)
        .await?
        .pop()
        .ok_or(AssessmentError::SubmissionNotFound)?;
    Ok(Graded {
        submission,
        required: assignment.required,
    })
}

/// One submission: its author's, or any for a grader of the module.
pub async fn get(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<Submission, AssessmentError> {
    let (row, assignment, _) = accessible(conn, actor, id, false).await?;
    views(conn, actor, vec![row], &assignment)
        .await?
        .pop()
        .ok_or(AssessmentError::SubmissionNotFound)
}

/// A file of a submission the actor may see, to download: `(blob_key, file_name, content_type)`.
pub async fn file(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    submission: Uuid,
    asset: AssetId,
) -> Result<(String, String, String), AssessmentError> {
    let asset = asset.into_uuid();
    let (row, _, _) = accessible(conn, actor, submission, false).await?;
    if !row.asset_ids.contains(&asset) {
        return Err(AssessmentError::SubmissionNotFound);
    }
    media_assets::table
        .find((actor.tenant_id.into_uuid(), asset))
        .filter(media_assets::status.eq("READY"))
        .select((
            media_assets::blob_key,
            media_assets::file_name,
            media_assets::content_type,
        ))
        .first(conn)
        .await
        .optional()?
        .ok_or(AssessmentError::SubmissionNotFound)
}

/// A page of the submissions to an assignment, in the `sort` order: the actor's own, or — for
/// graders of the module — everyone's, optionally of one member (`user`). A non-grader asking for
/// another member's is refused.
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    assignment: Uuid,
    user: Option<Uuid>,
    sort: SubmissionSort,
    page: &PageRequest,
) -> Result<Page<Submission>, AssessmentError> {
    let assignment = visible_assignment(conn, actor, assignment).await?;
    let me = actor.user_id.into_uuid();
    let grader = may_grade(conn, actor, assignment.module_id).await?;
    let user = match user {
        Some(other) if other != me && !grader => {
            return Err(AssessmentError::Forbidden(Denied(
                Permission::ManageQuizzes,
            )));
        }
        None if !grader => Some(me),
        other => other,
    };
    let limit = page.limit();
    let mut query = assignment_submissions::table
        .filter(assignment_submissions::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(assignment_submissions::assignment_id.eq(assignment.id))
        .select(Row::as_select())
        .limit(i64::from(limit) + 1)
        .into_boxed();
    if let Some(user) = user {
        query = query.filter(assignment_submissions::user_id.eq(user));
    }
    let after = if page.cursor.as_deref().is_some_and(str::is_empty) {
        None
    } else {
        let bad =
            || AssessmentError::invalid("cursor", "invalid_cursor", "the cursor is not valid");
        let keyset = page.keyset(sort.as_str()).map_err(|_| bad())?;
        keyset
            .map(|k| k.time().map(|at| (at, k.id)))
            .transpose()
            .map_err(|_| bad())?
    };
    use assignment_submissions::{id, submitted_at};
    query = match sort {
        SubmissionSort::SubmittedAt => query.order((submitted_at.asc(), id.asc())),
        SubmissionSort::SubmittedAtDesc => query.order((submitted_at.desc(), id.desc())),
    };
    if let Some((at, last)) = after {
        query = match sort {
            SubmissionSort::SubmittedAt => {
                query.filter(submitted_at.gt(at).or(submitted_at.eq(at).and(id.gt(last))))
            }
            SubmissionSort::SubmittedAtDesc => {
                query.filter(submitted_at.lt(at).or(submitted_at.eq(at).and(id.lt(last))))
            }
        };
    }
    let rows: Vec<Row> = query.load(conn).await?;
    let page = Page::from_overfetch(rows, limit, |r| {
        Keyset {
            sort: sort.as_str().to_owned(),
            key: Keyset::time_key(r.submitted_at),
            id: r.id,
        }
        .raw()
    });
    Ok(Page {
        data: views(conn, actor, page.data, &assignment).await?,
        next_cursor: page.next_cursor,
    })
}

/// A submission waiting for a grade.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewItem {
    /// The submission.
    pub submission: Submission,
    /// The assignment's title.
    pub assignment_title: String,
}

/// The current, ungraded submissions the actor may grade (MANAGE_QUIZZES tenant-wide: all; else
/// those of modules they mentor or hold MANAGE_QUIZZES for), oldest first; never their own.
pub async fn review_queue(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: Option<Uuid>,
    assignment: Option<Uuid>,
    page: &PageRequest,
) -> Result<Page<ReviewItem>, AssessmentError> {
    let tenant = actor.tenant_id.into_uuid();
    let limit = page.limit();
    let mut query = assignment_submissions::table
        .inner_join(
            assignments::table.on(assignments::tenant_id
                .eq(assignment_submissions::tenant_id)
                .and(assignments::id.eq(assignment_submissions::assignment_id))),
        )
        .filter(assignment_submissions::tenant_id.eq(tenant))
        .filter(assignment_submissions::user_id.ne(actor.user_id.into_uuid()))
        .filter(assignment_submissions::status.eq(SubmissionStatus::Submitted.as_str()))
        .filter(assignment_submissions::superseded.eq(false))
        .filter(assignment_submissions::archived_at.is_null())
        .select((
            Row::as_select(),
            assignments::title,
            assignments::module_id,
            assignments::max_score,
        ))
        .order(assignment_submissions::id.asc())
        .limit(i64::from(limit) + 1)
        .into_boxed();
    if authorize(actor, Permission::ManageQuizzes, Target::Tenant).is_err() {
        query = query.filter(assignments::module_id.eq_any(graded_modules(conn, actor).await?));
    }
    if let Some(module) = module {
        query = query.filter(assignments::module_id.eq(module));
    }
    if let Some(assignment) = assignment {
        query = query.filter(assignments::id.eq(assignment));
    }
    if let Some(after) = crate::cursor_after::<Uuid>(page)? {
        query = query.filter(assignment_submissions::id.gt(after));
    }
    let rows: Vec<(Row, String, Uuid, i32)> = query.load(conn).await?;
    let page = Page::from_overfetch(rows, limit, |(r, ..)| r.id.to_string());
    let submissions: Vec<Row> = page.data.iter().map(|(r, ..)| r.clone()).collect();
    let files = files_of(conn, actor, &submissions).await?;
    Ok(Page {
        data: page
            .data
            .into_iter()
            .map(|(row, assignment_title, module_id, max_score)| ReviewItem {
                submission: view(row, module_id, max_score, &files),
                assignment_title,
            })
            .collect(),
        next_cursor: page.next_cursor,
    })
}

/// Archives a member's active submissions to the assignments of `module` at `now`, for a new
/// compliance cycle: kept, no longer counted.
pub async fn archive_member_module(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    module: Uuid,
    now: DateTime<Utc>,
) -> Result<(), guild_db::DbError> {
    guild_db::sql(
        "UPDATE assignment_submissions s SET archived_at = $4 \
         FROM assignments a WHERE a.tenant_id = s.tenant_id AND a.id = s.assignment_id \
           AND s.tenant_id = $1 AND s.user_id = $2 AND a.module_id = $3 AND s.archived_at IS NULL",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant.into_uuid())
    .bind::<diesel::sql_types::Uuid, _>(user.into_uuid())
    .bind::<diesel::sql_types::Uuid, _>(module)
    .bind::<diesel::sql_types::Timestamptz, _>(now)
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assignments::{Criterion, Level};

    fn assignment(rubric: Option<Vec<Criterion>>) -> Assignment {
        let now = Utc::now();
        Assignment {
            id: Uuid::now_v7(),
            module_id: Uuid::now_v7(),
            section_id: None,
            title: "A".into(),
            brief_html: String::new(),
            due_at: None,
            max_score: 10,
            submission_format: crate::assignments::SubmissionFormat::Text,
            allowed_file_types: vec![],
            max_file_bytes: 1,
            allow_late: false,
            required: false,
            rubric,
            created_by: Uuid::now_v7(),
            revision: 1,
            created_at: now,
            updated_at: now,
        }
    }

    fn criterion(id: &str, points: &[i32]) -> Criterion {
        Criterion {
            id: id.into(),
            title: id.into(),
            levels: points
                .iter()
                .map(|p| Level {
                    id: format!("l{p}"),
                    title: format!("{p}"),
                    points: *p,
                })
                .collect(),
        }
    }

    #[test]
    fn a_rubric_grade_is_the_sum_of_the_chosen_levels() {
        let a = assignment(Some(vec![criterion("a", &[0, 6]), criterion("b", &[1, 4])]));
        let pick = |x: &str, y: &str| GradeInput {
            rubric_selection: Some(vec![("a".into(), x.into()), ("b".into(), y.into())]),
            ..GradeInput::default()
        };
        let (score, choices) = score_of(&a, &pick("l6", "l1")).unwrap();
        assert!((score - 7.0).abs() < f64::EPSILON);
        assert_eq!(choices.map(|c| c.len()), Some(2));
        assert!(score_of(&a, &pick("l5", "l1")).is_err());
        let twice = GradeInput {
            rubric_selection: Some(vec![("a".into(), "l0".into()), ("a".into(), "l6".into())]),
            ..GradeInput::default()
        };
        assert!(score_of(&a, &twice).is_err());
        let plain = GradeInput {
            score: Some(5.0),
            ..GradeInput::default()
        };
        assert!(score_of(&a, &plain).is_err());
    }

    #[test]
    fn a_plain_score_is_between_zero_and_the_maximum() {
        let a = assignment(None);
        let score = |s: f64| GradeInput {
            score: Some(s),
            ..GradeInput::default()
        };
        assert!(score_of(&a, &score(10.0)).is_ok());
        assert!(score_of(&a, &score(0.0)).is_ok());
        assert!(score_of(&a, &score(10.01)).is_err());
        assert!(score_of(&a, &score(f64::NAN)).is_err());
        assert!(score_of(&a, &GradeInput::default()).is_err());
    }
}

/// What a grader needs to judge a submission: its assignment (brief, `max_score`, rubric) and
/// the member's text.
#[derive(Debug, Clone)]
pub struct SubmissionToGrade {
    /// The assignment.
    pub assignment: Assignment,
    /// The text answer (empty when the submission is files only).
    pub text: String,
    /// How many files it has (their content is not read).
    pub files: usize,
}

/// Submission `id`, read under [`grade`]'s rules, for a grading suggestion: a grader of the
/// module (the member themselves: 403; anyone else: `submission_not_found`), never their own
/// (`cannot_grade_own_submission`), only the current ungraded one (`submission_superseded`,
/// `submission_already_graded`). Reads only.
pub async fn to_grade(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<SubmissionToGrade, AssessmentError> {
    let (row, assignment, grader) = accessible(conn, actor, id, false).await?;
    if !grader {
        return Err(AssessmentError::Forbidden(Denied(
            Permission::ManageQuizzes,
        )));
    }
    if row.user_id == actor.user_id.into_uuid() {
        return Err(AssessmentError::CannotGradeOwnSubmission);
    }
    if row.superseded || row.archived_at.is_some() {
        return Err(AssessmentError::SubmissionSuperseded);
    }
    if row.status == SubmissionStatus::Graded {
        return Err(AssessmentError::SubmissionAlreadyGraded);
    }
    Ok(SubmissionToGrade {
        assignment,
        text: row.text_answer.unwrap_or_default(),
        files: row.asset_ids.len(),
    })
}
