//! Question banks: a tenant's reusable questions, tagged, of the five quiz kinds and checked by
//! the same rules ([`crate::questions::check`]), and the draws a quiz makes from them.
//!
//! - **Who**: banks and their questions (answer keys included) are read and written by holders of
//!   MANAGE_QUIZZES or MANAGE_ALL_MODULES tenant-wide; a grant scoped to modules does not reach
//!   them (a bank is shared by every module). Anyone else gets 403; another tenant's bank is 404.
//!   Setting a quiz's draws needs the quiz's author rule *and* this permission, so nobody pulls
//!   bank questions (whose answers an attempt may reveal) into a quiz without being allowed to
//!   read them.
//! - **Limits**: [`MAX_BANKS_PER_TENANT`] banks per tenant (counted under a per-tenant advisory
//!   lock), [`MAX_QUESTIONS_PER_BANK`] questions per bank (counted under the bank's row lock),
//!   [`MAX_TAGS`] tags per question, [`MAX_DRAWS`] draws per quiz of 1 to [`MAX_DRAW_COUNT`]
//!   questions each. Over a count limit: 409 `question_bank_limit_reached` /
//!   `bank_question_limit_reached`.
//! - **Draws**: each attempt draws, for each of the quiz's draws in order, `count` questions of
//!   the bank (those carrying any of the draw's tags, when it names some), never one already drawn
//!   for the attempt; fewer when the bank has fewer. The choice is a seeded shuffle of the
//!   candidates in id order ([`pick`]), the seed made from the attempt's id ([`seed`]), so an
//!   attempt's draw is reproducible and attempts differ. The attempt keeps a copy of what it drew
//!   (`quiz_attempts.questions`): later edits of the bank change nothing of it.
//! - A bank some quiz draws from is not deleted: 409 `question_bank_in_use` (the foreign key
//!   restricts it too).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{question_bank_questions, question_banks, quiz_bank_draws};
use guild_kernel::{Actor, Denied, FieldError, Page, PageRequest, Permission, Target, authorize};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AssessmentError;
use crate::questions::{ChoiceOption, Draft, Question, QuestionKind, check, options_json};

/// Banks a tenant may hold.
pub const MAX_BANKS_PER_TENANT: i64 = 100;
/// Questions a bank may hold.
pub const MAX_QUESTIONS_PER_BANK: i64 = 500;
/// Tags a bank question may carry.
pub const MAX_TAGS: usize = 10;
/// Characters of a tag.
pub const MAX_TAG_CHARS: usize = 50;
/// Draws a quiz may make.
pub const MAX_DRAWS: usize = 10;
/// Questions one draw may take.
pub const MAX_DRAW_COUNT: i32 = 100;

/// Refuses an actor who may not read or write banks (403).
pub fn check_manager(actor: &Actor) -> Result<(), AssessmentError> {
    if authorize(actor, Permission::ManageQuizzes, Target::Tenant).is_ok()
        || authorize(actor, Permission::ManageAllModules, Target::Tenant).is_ok()
    {
        Ok(())
    } else {
        Err(AssessmentError::Forbidden(Denied(
            Permission::ManageQuizzes,
        )))
    }
}

/// A bank's stored fields.
#[derive(Debug, Clone, Serialize, Queryable, Selectable)]
#[diesel(table_name = question_banks)]
pub struct Bank {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Who created it.
    pub created_by: Uuid,
    /// Bumped by every change; the ETag.
    pub revision: i32,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A bank with its size.
#[derive(Debug, Clone, Serialize)]
pub struct BankDetail {
    /// The stored fields.
    #[serde(flatten)]
    pub bank: Bank,
    /// How many questions it holds.
    pub question_count: i64,
}

/// A bank's editable fields; `None` keeps the value.
#[derive(Debug, Clone, Default)]
pub struct BankInput {
    /// 1 to 200 characters (trimmed).
    pub name: Option<String>,
    /// Up to 5000 characters.
    pub description: Option<String>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = question_bank_questions)]
struct Row {
    id: Uuid,
    bank_id: Uuid,
    #[diesel(deserialize_as = String)]
    kind: QuestionKind,
    prompt: String,
    options: serde_json::Value,
    accepted_answers: Vec<String>,
    points: i32,
    explanation: Option<String>,
    tags: Vec<String>,
    revision: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// A bank question with its answer key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BankQuestion {
    /// Id.
    pub id: Uuid,
    /// Its bank.
    pub bank_id: Uuid,
    /// Kind.
    pub kind: QuestionKind,
    /// What is asked.
    pub prompt: String,
    /// Options (choice kinds).
    pub options: Vec<ChoiceOption>,
    /// Accepted answers (FILL_IN_BLANK).
    pub accepted_answers: Vec<String>,
    /// Points it is worth.
    pub points: i32,
    /// Shown with the answers.
    pub explanation: Option<String>,
    /// Lower-case labels draws select by.
    pub tags: Vec<String>,
    /// Bumped by every change; the ETag.
    pub revision: i32,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<Row> for BankQuestion {
    fn from(r: Row) -> Self {
        Self {
            id: r.id,
            bank_id: r.bank_id,
            kind: r.kind,
            prompt: r.prompt,
            // Only this module writes the column, always from a `Vec<ChoiceOption>`.
            options: serde_json::from_value(r.options).unwrap_or_default(),
            accepted_answers: r.accepted_answers,
            points: r.points,
            explanation: r.explanation,
            tags: r.tags,
            revision: r.revision,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

impl BankQuestion {
    /// The question as an attempt at `quiz` keeps it, at `position`.
    fn into_quiz_question(self, quiz: Uuid, position: i32) -> Question {
        Question {
            id: self.id,
            quiz_id: quiz,
            kind: self.kind,
            prompt: self.prompt,
            options: self.options,
            accepted_answers: self.accepted_answers,
            points: self.points,
            explanation: self.explanation,
            sort_order: position,
            revision: self.revision,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// A bank question's editable fields; `None` keeps the value.
#[derive(Debug, Clone, Default)]
pub struct BankQuestionInput {
    /// The question's fields, as a quiz question's.
    pub question: crate::questions::QuestionInput,
    /// Replaces the tags.
    pub tags: Option<Vec<String>>,
}

/// What a quiz draws for each attempt: `count` questions of `bank_id`, among those carrying any
/// of `tags` when it names some.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draw {
    /// The bank.
    pub bank_id: Uuid,
    /// How many questions, 1 to [`MAX_DRAW_COUNT`].
    pub count: i32,
    /// Only questions carrying any of these (all of the bank's when empty).
    pub tags: Vec<String>,
}

/// Tags trimmed, lower-cased and deduplicated, or the field errors of `field`.
fn normalize_tags(field: &str, tags: &[String]) -> Result<Vec<String>, Vec<FieldError>> {
    let mut errors = Vec::new();
    if tags.len() > MAX_TAGS {
        errors.push(FieldError::new(
            field,
            "count",
            format!("at most {MAX_TAGS} tags"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, tag) in tags.iter().enumerate() {
        let tag = tag.trim().to_lowercase();
        if tag.is_empty() || tag.chars().count() > MAX_TAG_CHARS {
            errors.push(FieldError::new(
                format!("{field}[{i}]"),
                "length",
                format!("must be 1 to {MAX_TAG_CHARS} characters, not only spaces"),
            ));
        } else if !out.contains(&tag) {
            out.push(tag);
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn check_bank_input(input: &BankInput) -> Result<(), AssessmentError> {
    let mut errors = Vec::new();
    if let Some(name) = &input.name
        && (name.trim().is_empty() || name.trim().chars().count() > 200)
    {
        errors.push(FieldError::new(
            "name",
            "length",
            "must be 1 to 200 characters",
        ));
    }
    if input
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 5000)
    {
        errors.push(FieldError::new(
            "description",
            "length",
            "must be at most 5000 characters",
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AssessmentError::Invalid(errors))
    }
}

async fn find_bank(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    lock: bool,
) -> Result<Bank, AssessmentError> {
    let query = question_banks::table
        .find((actor.tenant_id.into_uuid(), id))
        .select(Bank::as_select());
    let found = if lock {
        query.for_update().first(conn).await.optional()?
    } else {
        query.first(conn).await.optional()?
    };
    found.ok_or(AssessmentError::QuestionBankNotFound)
}

/// Question counts per bank, in one query.
async fn sizes(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, i64>, AssessmentError> {
    let rows: Vec<(Uuid, i64)> = question_bank_questions::table
        .filter(question_bank_questions::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(question_bank_questions::bank_id.eq_any(ids))
        .group_by(question_bank_questions::bank_id)
        .select((question_bank_questions::bank_id, count_star()))
        .load(conn)
        .await?;
    Ok(rows.into_iter().collect())
}

async fn detail(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    bank: Bank,
) -> Result<BankDetail, AssessmentError> {
    let question_count = sizes(conn, actor, &[bank.id])
        .await?
        .get(&bank.id)
        .copied()
        .unwrap_or(0);
    Ok(BankDetail {
        bank,
        question_count,
    })
}

/// A page of the tenant's banks, oldest first, with their sizes.
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    page: &PageRequest,
) -> Result<Page<BankDetail>, AssessmentError> {
    check_manager(actor)?;
    let limit = page.limit();
    let mut query = question_banks::table
        .filter(question_banks::tenant_id.eq(actor.tenant_id.into_uuid()))
        .select(Bank::as_select())
        .order(question_banks::id)
        .limit(i64::from(limit) + 1)
        .into_boxed();
    if let Some(after) = crate::cursor_after::<Uuid>(page)? {
        query = query.filter(question_banks::id.gt(after));
    }
    let rows: Vec<Bank> = query.load(conn).await?;
    let page = Page::from_overfetch(rows, limit, |b| b.id.to_string());
    let ids: Vec<Uuid> = page.data.iter().map(|b| b.id).collect();
    let sizes = sizes(conn, actor, &ids).await?;
    Ok(Page {
        data: page
            .data
            .into_iter()
            .map(|bank| BankDetail {
                question_count: sizes.get(&bank.id).copied().unwrap_or(0),
                bank,
            })
            .collect(),
        next_cursor: page.next_cursor,
    })
}

/// One bank.
pub async fn get(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<BankDetail, AssessmentError> {
    check_manager(actor)?;
    let bank = find_bank(conn, actor, id, false).await?;
    detail(conn, actor, bank).await
}

/// Creates a bank, within [`MAX_BANKS_PER_TENANT`].
pub async fn create(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    input: &BankInput,
    now: DateTime<Utc>,
) -> Result<BankDetail, AssessmentError> {
    check_manager(actor)?;
    check_bank_input(input)?;
    let name = input
        .name
        .as_deref()
        .ok_or_else(|| AssessmentError::invalid("name", "required", "a name is required"))?
        .trim()
        .to_owned();
    let tenant = actor.tenant_id.into_uuid();
    guild_db::sql("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind::<Text, _>(format!("question_banks:{tenant}"))
        .execute(conn)
        .await?;
    let held: i64 = question_banks::table
        .filter(question_banks::tenant_id.eq(tenant))
        .select(count_star())
        .first(conn)
        .await?;
    if held >= MAX_BANKS_PER_TENANT {
        return Err(AssessmentError::QuestionBankLimitReached);
    }
    let id = Uuid::now_v7();
    let bank: Bank = diesel::insert_into(question_banks::table)
        .values((
            question_banks::tenant_id.eq(tenant),
            question_banks::id.eq(id),
            question_banks::name.eq(&name),
            question_banks::description.eq(input.description.clone().unwrap_or_default()),
            question_banks::created_by.eq(actor.user_id.into_uuid()),
            question_banks::created_at.eq(now),
            question_banks::updated_at.eq(now),
        ))
        .returning(Bank::as_returning())
        .get_result(conn)
        .await?;
    crate::audit(
        conn,
        actor,
        "QUESTION_BANK_CREATED",
        "question_bank",
        id,
        serde_json::json!({ "name": name }),
    )
    .await?;
    Ok(BankDetail {
        bank,
        question_count: 0,
    })
}

fn stale(expected: i32, current: i32) -> AssessmentError {
    AssessmentError::StaleRevision { expected, current }
}

/// Renames or redescribes a bank; `expected` is the revision the client read.
pub async fn update(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    expected: i32,
    input: &BankInput,
    now: DateTime<Utc>,
) -> Result<BankDetail, AssessmentError> {
    check_manager(actor)?;
    let current = find_bank(conn, actor, id, true).await?;
    if current.revision != expected {
        return Err(stale(expected, current.revision));
    }
    check_bank_input(input)?;
    let bank: Bank = diesel::update(question_banks::table.find((actor.tenant_id.into_uuid(), id)))
        .set((
            question_banks::name.eq(input
                .name
                .as_deref()
                .map_or(current.name.clone(), |n| n.trim().to_owned())),
            question_banks::description.eq(input
                .description
                .clone()
                .unwrap_or(current.description.clone())),
            question_banks::revision.eq(expected + 1),
            question_banks::updated_at.eq(now),
        ))
        .returning(Bank::as_returning())
        .get_result(conn)
        .await?;
    crate::audit(
        conn,
        actor,
        "QUESTION_BANK_UPDATED",
        "question_bank",
        id,
        serde_json::json!({ "revision": bank.revision }),
    )
    .await?;
    detail(conn, actor, bank).await
}

/// Deletes a bank with its questions; refused while a quiz draws from it.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    expected: i32,
) -> Result<(), AssessmentError> {
    check_manager(actor)?;
    let current = find_bank(conn, actor, id, true).await?;
    if current.revision != expected {
        return Err(stale(expected, current.revision));
    }
    let tenant = actor.tenant_id.into_uuid();
    let used: i64 = quiz_bank_draws::table
        .filter(quiz_bank_draws::tenant_id.eq(tenant))
        .filter(quiz_bank_draws::bank_id.eq(id))
        .select(count_star())
        .first(conn)
        .await?;
    if used > 0 {
        return Err(AssessmentError::QuestionBankInUse);
    }
    diesel::delete(question_banks::table.find((tenant, id)))
        .execute(conn)
        .await?;
    crate::audit(
        conn,
        actor,
        "QUESTION_BANK_DELETED",
        "question_bank",
        id,
        serde_json::json!({ "name": current.name }),
    )
    .await
}

/// A page of a bank's questions in id order, only those tagged `tag` when given.
pub async fn list_questions(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    bank: Uuid,
    tag: Option<&str>,
    page: &PageRequest,
) -> Result<Page<BankQuestion>, AssessmentError> {
    check_manager(actor)?;
    find_bank(conn, actor, bank, false).await?;
    let limit = page.limit();
    let mut query = question_bank_questions::table
        .filter(question_bank_questions::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(question_bank_questions::bank_id.eq(bank))
        .select(Row::as_select())
        .order(question_bank_questions::id)
        .limit(i64::from(limit) + 1)
        .into_boxed();
    if let Some(tag) = tag {
        let tag = tag.trim().to_lowercase();
        query = query.filter(question_bank_questions::tags.contains(vec![tag]));
    }
    if let Some(after) = crate::cursor_after::<Uuid>(page)? {
        query = query.filter(question_bank_questions::id.gt(after));
    }
    let rows: Vec<Row> = query.load(conn).await?;
    let page = Page::from_overfetch(rows, limit, |q| q.id.to_string());
    Ok(Page {
        data: page.data.into_iter().map(BankQuestion::from).collect(),
        next_cursor: page.next_cursor,
    })
}

async fn find_question(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    bank: Uuid,
    id: Uuid,
) -> Result<BankQuestion, AssessmentError> {
    question_bank_questions::table
        .find((actor.tenant_id.into_uuid(), id))
        .filter(question_bank_questions::bank_id.eq(bank))
        .select(Row::as_select())
        .first(conn)
        .await
        .optional()?
        .map(BankQuestion::from)
        .ok_or(AssessmentError::QuestionNotFound)
}

/// One question of a bank, with its answer key.
pub async fn get_question(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    bank: Uuid,
    id: Uuid,
) -> Result<BankQuestion, AssessmentError> {
    check_manager(actor)?;
    find_bank(conn, actor, bank, false).await?;
    find_question(conn, actor, bank, id).await
}

/// The question fields of `input` over `current`'s, checked as a whole with the tags.
struct Merged {
    kind: QuestionKind,
    prompt: String,
    options: Vec<ChoiceOption>,
    accepted: Vec<String>,
    points: i32,
    explanation: Option<String>,
    tags: Vec<String>,
}

fn merge(
    input: &BankQuestionInput,
    current: Option<&BankQuestion>,
) -> Result<Merged, AssessmentError> {
    let q = &input.question;
    let kind = q
        .kind
        .or(current.map(|c| c.kind))
        .ok_or_else(|| AssessmentError::invalid("kind", "required", "a kind is required"))?;
    let prompt = q
        .prompt
        .clone()
        .or(current.map(|c| c.prompt.clone()))
        .ok_or_else(|| AssessmentError::invalid("prompt", "required", "a prompt is required"))?;
    let merged = Merged {
        kind,
        prompt,
        options: q
            .options
            .clone()
            .or(current.map(|c| c.options.clone()))
            .unwrap_or_default(),
        accepted: q
            .accepted_answers
            .clone()
            .or(current.map(|c| c.accepted_answers.clone()))
            .unwrap_or_default(),
        points: q.points.or(current.map(|c| c.points)).unwrap_or(1),
        explanation: match &q.explanation {
            Some(e) => e.clone(),
            None => current.and_then(|c| c.explanation.clone()),
        },
        tags: Vec::new(),
    };
    let tags = input
        .tags
        .clone()
        .or(current.map(|c| c.tags.clone()))
        .unwrap_or_default();
    let tags = normalize_tags("tags", &tags);
    let checked = check(&Draft {
        kind: merged.kind,
        prompt: &merged.prompt,
        options: &merged.options,
        accepted_answers: &merged.accepted,
        points: merged.points,
        explanation: merged.explanation.as_deref(),
    });
    match (checked, tags) {
        (Ok(()), Ok(tags)) => Ok(Merged { tags, ..merged }),
        (Err(AssessmentError::Invalid(mut errors)), Err(more)) => {
            errors.extend(more);
            Err(AssessmentError::Invalid(errors))
        }
        (Err(e), _) => Err(e),
        (Ok(()), Err(errors)) => Err(AssessmentError::Invalid(errors)),
    }
}

/// Adds a question to a bank, within [`MAX_QUESTIONS_PER_BANK`].
pub async fn create_question(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    bank: Uuid,
    input: &BankQuestionInput,
    now: DateTime<Utc>,
) -> Result<BankQuestion, AssessmentError> {
    check_manager(actor)?;
    // The bank's row lock serializes additions, so the count holds under concurrency.
    find_bank(conn, actor, bank, true).await?;
    let m = merge(input, None)?;
    let tenant = actor.tenant_id.into_uuid();
    let held: i64 = question_bank_questions::table
        .filter(question_bank_questions::tenant_id.eq(tenant))
        .filter(question_bank_questions::bank_id.eq(bank))
        .select(count_star())
        .first(conn)
        .await?;
    if held >= MAX_QUESTIONS_PER_BANK {
        return Err(AssessmentError::BankQuestionLimitReached);
    }
    let id = Uuid::now_v7();
    let row: Row = diesel::insert_into(question_bank_questions::table)
        .values((
            question_bank_questions::tenant_id.eq(tenant),
            question_bank_questions::id.eq(id),
            question_bank_questions::bank_id.eq(bank),
            question_bank_questions::kind.eq(m.kind.as_str()),
            question_bank_questions::prompt.eq(&m.prompt),
            question_bank_questions::options.eq(options_json(&m.options)),
            question_bank_questions::accepted_answers.eq(&m.accepted),
            question_bank_questions::points.eq(m.points),
            question_bank_questions::explanation.eq(&m.explanation),
            question_bank_questions::tags.eq(&m.tags),
            question_bank_questions::created_at.eq(now),
            question_bank_questions::updated_at.eq(now),
        ))
        .returning(Row::as_returning())
        .get_result(conn)
        .await?;
    crate::audit(
        conn,
        actor,
        "BANK_QUESTION_CREATED",
        "question_bank_question",
        id,
        serde_json::json!({ "bank_id": bank, "kind": m.kind }),
    )
    .await?;
    Ok(row.into())
}

/// Changes a bank question; `expected` is the revision the client read. Attempts that drew it
/// keep it as it was.
pub async fn update_question(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    bank: Uuid,
    id: Uuid,
    expected: i32,
    input: &BankQuestionInput,
    now: DateTime<Utc>,
) -> Result<BankQuestion, AssessmentError> {
    check_manager(actor)?;
    find_bank(conn, actor, bank, false).await?;
    let current = find_question(conn, actor, bank, id).await?;
    if current.revision != expected {
        return Err(stale(expected, current.revision));
    }
    let m = merge(input, Some(&current))?;
    let row: Row =
        diesel::update(question_bank_questions::table.find((actor.tenant_id.into_uuid(), id)))
            .filter(question_bank_questions::revision.eq(expected))
            .set((
                question_bank_questions::kind.eq(m.kind.as_str()),
                question_bank_questions::prompt.eq(&m.prompt),
                question_bank_questions::options.eq(options_json(&m.options)),
                question_bank_questions::accepted_answers.eq(&m.accepted),
                question_bank_questions::points.eq(m.points),
                question_bank_questions::explanation.eq(&m.explanation),
                question_bank_questions::tags.eq(&m.tags),
                question_bank_questions::revision.eq(expected + 1),
                question_bank_questions::updated_at.eq(now),
            ))
            .returning(Row::as_returning())
            .get_result(conn)
            .await
            .optional()?
            .ok_or_else(|| stale(expected, expected + 1))?;
    crate::audit(
        conn,
        actor,
        "BANK_QUESTION_UPDATED",
        "question_bank_question",
        id,
        serde_json::json!({ "bank_id": bank, "revision": row.revision }),
    )
    .await?;
    Ok(row.into())
}

/// Deletes a bank question; attempts that drew it keep it.
pub async fn delete_question(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    bank: Uuid,
    id: Uuid,
    expected: i32,
) -> Result<(), AssessmentError> {
    check_manager(actor)?;
    find_bank(conn, actor, bank, false).await?;
    let current = find_question(conn, actor, bank, id).await?;
    if current.revision != expected {
        return Err(stale(expected, current.revision));
    }
    diesel::delete(question_bank_questions::table.find((actor.tenant_id.into_uuid(), id)))
        .filter(question_bank_questions::revision.eq(expected))
        .execute(conn)
        .await?;
    crate::audit(
        conn,
        actor,
        "BANK_QUESTION_DELETED",
        "question_bank_question",
        id,
        serde_json::json!({ "bank_id": bank }),
    )
    .await
}

/// The draws of each quiz in `quizzes`, in order.
pub(crate) async fn draws_of(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    quizzes: &[Uuid],
) -> Result<HashMap<Uuid, Vec<Draw>>, AssessmentError> {
    let rows: Vec<(Uuid, Uuid, i32, Vec<String>)> = quiz_bank_draws::table
        .filter(quiz_bank_draws::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(quiz_bank_draws::quiz_id.eq_any(quizzes))
        .order((quiz_bank_draws::quiz_id, quiz_bank_draws::position))
        .select((
            quiz_bank_draws::quiz_id,
            quiz_bank_draws::bank_id,
            quiz_bank_draws::question_count,
            quiz_bank_draws::tags,
        ))
        .load(conn)
        .await?;
    let mut out: HashMap<Uuid, Vec<Draw>> = HashMap::new();
    for (quiz, bank_id, count, tags) in rows {
        out.entry(quiz).or_default().push(Draw {
            bank_id,
            count,
            tags,
        });
    }
    Ok(out)
}

/// Replaces a quiz's draws (the caller has checked that the actor authors the quiz). Needs the
/// bank permission; every bank must be the tenant's (404 `question_bank_not_found`).
pub(crate) async fn set_draws(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    quiz: Uuid,
    draws: &[Draw],
) -> Result<Vec<Draw>, AssessmentError> {
    check_manager(actor)?;
    let mut errors = Vec::new();
    if draws.len() > MAX_DRAWS {
        errors.push(FieldError::new(
            "draws",
            "count",
            format!("at most {MAX_DRAWS} draws"),
        ));
    }
    let mut clean = Vec::with_capacity(draws.len());
    for (i, d) in draws.iter().enumerate() {
        if !(1..=MAX_DRAW_COUNT).contains(&d.count) {
            errors.push(FieldError::new(
                format!("draws[{i}].count"),
                "range",
                format!("must be 1 to {MAX_DRAW_COUNT}"),
            ));
        }
        match normalize_tags(&format!("draws[{i}].tags"), &d.tags) {
            Ok(tags) => clean.push(Draw {
                bank_id: d.bank_id,
                count: d.count,
                tags,
            }),
            Err(more) => errors.extend(more),
        }
    }
    if !errors.is_empty() {
        return Err(AssessmentError::Invalid(errors));
    }
    let tenant = actor.tenant_id.into_uuid();
    let wanted: HashSet<Uuid> = clean.iter().map(|d| d.bank_id).collect();
    let wanted: Vec<Uuid> = wanted.into_iter().collect();
    let found: i64 = question_banks::table
        .filter(question_banks::tenant_id.eq(tenant))
        .filter(question_banks::id.eq_any(&wanted))
        .select(count_star())
        .first(conn)
        .await?;
    if usize::try_from(found).unwrap_or(0) != wanted.len() {
        return Err(AssessmentError::QuestionBankNotFound);
    }
    diesel::delete(quiz_bank_draws::table)
        .filter(quiz_bank_draws::tenant_id.eq(tenant))
        .filter(quiz_bank_draws::quiz_id.eq(quiz))
        .execute(conn)
        .await?;
    if !clean.is_empty() {
        let rows: Vec<_> = clean
            .iter()
            .zip(0..)
            .map(|(d, position): (&Draw, i32)| {
                (
                    quiz_bank_draws::tenant_id.eq(tenant),
                    quiz_bank_draws::quiz_id.eq(quiz),
                    quiz_bank_draws::position.eq(position),
                    quiz_bank_draws::bank_id.eq(d.bank_id),
                    quiz_bank_draws::question_count.eq(d.count),
                    quiz_bank_draws::tags.eq(d.tags.clone()),
                )
            })
            .collect();
        diesel::insert_into(quiz_bank_draws::table)
            .values(rows)
            .execute(conn)
            .await?;
    }
    Ok(clean)
}

/// The seed of an attempt's draw and shuffles: made from its id, so the same attempt always
/// draws the same and two attempts draw independently.
pub fn seed(attempt: Uuid) -> u64 {
    let (high, low) = attempt.as_u64_pair();
    high ^ low.rotate_left(17)
}

/// `count` of `candidates` (in a stable order) chosen by `rng`: a partial Fisher-Yates shuffle,
/// so the same seed over the same candidates picks the same, in the same order.
pub fn pick<T>(rng: &mut fastrand::Rng, mut candidates: Vec<T>, count: usize) -> Vec<T> {
    let count = count.min(candidates.len());
    for i in 0..count {
        let j = rng.usize(i..candidates.len());
        candidates.swap(i, j);
    }
    candidates.truncate(count);
    candidates
}

/// What a new attempt at `quiz` draws from its banks, as the attempt keeps its questions,
/// numbered from `first_position`: for each draw in order, [`pick`] over the bank's questions
/// (those with any of its tags) not drawn yet for this attempt.
pub(crate) async fn draw(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    quiz: Uuid,
    rng: &mut fastrand::Rng,
    first_position: i32,
) -> Result<Vec<Question>, AssessmentError> {
    let draws = draws_of(conn, actor, &[quiz])
        .await?
        .remove(&quiz)
        .unwrap_or_default();
    if draws.is_empty() {
        return Ok(Vec::new());
    }
    let banks: Vec<Uuid> = draws.iter().map(|d| d.bank_id).collect();
    let rows: Vec<Row> = question_bank_questions::table
        .filter(question_bank_questions::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(question_bank_questions::bank_id.eq_any(&banks))
        .select(Row::as_select())
        .order(question_bank_questions::id)
        .load(conn)
        .await?;
    let all: Vec<BankQuestion> = rows.into_iter().map(BankQuestion::from).collect();
    let mut taken: HashSet<Uuid> = HashSet::new();
    let mut drawn = Vec::new();
    for d in &draws {
        let candidates: Vec<&BankQuestion> = all
            .iter()
            .filter(|q| q.bank_id == d.bank_id && !taken.contains(&q.id))
            .filter(|q| d.tags.is_empty() || q.tags.iter().any(|t| d.tags.contains(t)))
            .collect();
        let count = usize::try_from(d.count).unwrap_or(0);
        for q in pick(rng, candidates, count) {
            taken.insert(q.id);
            drawn.push(q.clone());
        }
    }
    Ok(drawn
        .into_iter()
        .zip(first_position..)
        .map(|(q, position)| q.into_quiz_question(quiz, position))
        .collect())
}
