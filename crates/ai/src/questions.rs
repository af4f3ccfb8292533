//! Questions members ask (`questions`), the round robin that hands escalated ones to a module's
//! mentors (`question_turns`), mentors' away periods (`mentor_away`), and the emails that answered
//! questions (`question_email_replies`).
//!
//! - **Asking**: any member but a VIEWER, about a module they may see or in general, at most the
//!   tenant's `questions_per_day` in 24 hours (counted under a per-member lock, 429
//!   `question_limit_reached`). The question is answered at once from retrieval (the best
//!   passages, cited) and stored ANSWERED; the api layer may then replace that answer with one a
//!   model composed from the same passages ([`record_ai_answer`]).
//! - **Status**: ANSWERED → RESOLVED (the asker found it helpful) or ESCALATED (the asker wants a
//!   mentor) → MENTOR_ANSWERED (the assigned mentor answered) → ACCEPTED (the asker accepted;
//!   the question and its answer become knowledge later questions find, and the mentor earns
//!   MENTOR_CONFIRMATION XP through [`QuestionAccepted`]). Any other move is 409
//!   `invalid_status_transition`.
//! - **Round robin**: an escalated question goes to the module's active mentor — never the
//!   asker, nobody away now, nobody holding `mentor_open_limit` escalated questions — whose last
//!   turn is the oldest (or who had none), under a per-module lock; ties go by user id. With no
//!   eligible mentor it waits unassigned, and [`reassign_stale`] (a worker job every minute)
//!   assigns it when one is; it also moves a question its mentor did not pick up (claim or
//!   answer) within `reassign_after_minutes` to the next mentor.
//! - **Answering by email**: the mentor may reply to the email that gave them the question
//!   ([`answer_by_email`]): the same rules as [`answer`], once per message (its Message-ID is
//!   kept in `question_email_replies`).
//! - **Who sees a question**: its asker, the mentor it is assigned to or who answered it, and
//!   the managers above the asker in the manager tree; anyone else gets 404
//!   `question_not_found`, as if it did not exist.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{mentor_away as a, question_turns as t, questions as q};
use guild_kernel::page::Keyset;
use guild_kernel::{Actor, DomainEvent, Page, PageRequest, TenantId, TenantRole};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AiError;
use crate::prompts::{self, Answer};
use crate::retrieval::{self, Citation, Passage};
use crate::settings::{self, Settings};

/// The longest question.
pub const MAX_BODY: usize = 2000;
/// The longest mentor's answer.
pub const MAX_ANSWER: usize = 10_000;
/// Passages an answer is made from.
pub const PASSAGES: i64 = 5;
/// Questions [`reassign_stale`] moves per tenant and run.
pub const REASSIGN_BATCH: i64 = 200;
/// The longest away period.
pub const MAX_AWAY_DAYS: i64 = 366;

guild_kernel::string_enum!(
    /// Where a question is.
    QuestionStatus {
        /// Answered from the knowledge base.
        Answered => "ANSWERED",
        /// The asker found the answer helpful.
        Resolved => "RESOLVED",
        /// Waiting for a mentor.
        Escalated => "ESCALATED",
        /// A mentor answered.
        MentorAnswered => "MENTOR_ANSWERED",
        /// The asker accepted the mentor's answer.
        Accepted => "ACCEPTED",
    }
);

guild_kernel::string_enum!(
    /// Who wrote the first answer.
    AnswerSource {
        /// A model, from the cited passages.
        Ai => "AI",
        /// The best passages themselves (no model, or it failed).
        Retrieval => "RETRIEVAL",
    }
);

/// A question.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = q)]
pub struct QuestionRow {
    /// The tenant.
    pub tenant_id: Uuid,
    /// Its id.
    pub id: Uuid,
    /// Who asked.
    pub asker_id: Uuid,
    /// The module it is about (set on escalation for a general question).
    pub module_id: Option<Uuid>,
    /// The question.
    pub body: String,
    /// Where it is.
    #[diesel(deserialize_as = String)]
    pub status: QuestionStatus,
    /// The first answer (sanitized HTML).
    pub answer_html: String,
    /// Who wrote it.
    #[diesel(deserialize_as = String)]
    pub answer_source: AnswerSource,
    /// The passages it cites.
    pub citations: serde_json::Value,
    /// The mentor it is assigned to.
    pub assignee_id: Option<Uuid>,
    /// When it was assigned to them.
    pub assigned_at: Option<DateTime<Utc>>,
    /// When they picked it up.
    pub claimed_at: Option<DateTime<Utc>>,
    /// When it was escalated.
    pub escalated_at: Option<DateTime<Utc>>,
    /// The mentor's answer (plain text).
    pub mentor_answer: Option<String>,
    /// Who answered.
    pub answered_by: Option<Uuid>,
    /// When.
    pub answered_at: Option<DateTime<Utc>>,
    /// When the asker accepted it.
    pub accepted_at: Option<DateTime<Utc>>,
    /// Asked.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl QuestionRow {
    /// The citations as stored.
    pub fn citations(&self) -> Vec<Citation> {
        serde_json::from_value(self.citations.clone()).unwrap_or_default()
    }
}

/// A mentor was given a question: the api layer tells them (QUESTION_ASSIGNED).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionAssigned {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The question.
    pub question_id: Uuid,
    /// The mentor.
    pub mentor_id: Uuid,
    /// The module's round-robin turn (one notification per assignment).
    pub turn: i64,
}

impl DomainEvent for QuestionAssigned {
    const KIND: &'static str = "ai.question_assigned";
}

/// A mentor answered a question: the api layer tells the asker (QUESTION_ANSWERED).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionAnswered {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The question.
    pub question_id: Uuid,
    /// Who asked.
    pub asker_id: Uuid,
    /// Who answered.
    pub mentor_id: Uuid,
}

impl DomainEvent for QuestionAnswered {
    const KIND: &'static str = "ai.question_answered";
}

/// The asker accepted a mentor's answer: the mentor is told (QUESTION_ACCEPTED) and earns
/// MENTOR_CONFIRMATION XP, once per question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionAccepted {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The question.
    pub question_id: Uuid,
    /// Who asked (and accepted).
    pub asker_id: Uuid,
    /// Who answered.
    pub mentor_id: Uuid,
}

impl DomainEvent for QuestionAccepted {
    const KIND: &'static str = "ai.question_accepted";
}

fn not_found() -> AiError {
    AiError::NotFound("question_not_found")
}

fn text(field: &str, value: &str, min: usize, max: usize) -> Result<String, AiError> {
    let value = value.trim();
    let len = value.chars().count();
    if len < min || len > max {
        return Err(AiError::invalid(
            field,
            "length",
            &format!("must be {min} to {max} characters"),
        ));
    }
    Ok(value.to_owned())
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// A question just asked, with the passages its answer was made from (for a model to compose a
/// better one).
#[derive(Debug, Clone)]
pub struct Asked {
    /// The question, answered from retrieval.
    pub question: QuestionRow,
    /// The passages, best first.
    pub passages: Vec<Passage>,
}

/// Asks a question (see the module doc): answered at once from retrieval.
pub async fn ask(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    body: &str,
    module: Option<Uuid>,
    query: Option<&retrieval::QueryVector>,
    now: DateTime<Utc>,
) -> Result<Asked, AiError> {
    if actor.role == TenantRole::Viewer {
        return Err(AiError::Forbidden);
    }
    // Blank text is refused by the API; trimmed, any length up to the limit is a question.
    let body = text("body", body, 1, MAX_BODY)?;
    if let Some(module) = module {
        guild_learning::access::visible(conn, actor, module).await?;
    }
    let tenant = actor.tenant_id;
    let me = actor.user_id.into_uuid();
    guild_db::lock_xact(conn, &format!("questions:{tenant}:{me}")).await?;
    within_daily_limit(conn, actor, now).await?;
    let passages = retrieval::retrieve(conn, actor, &body, module, PASSAGES, query).await?;
    let answer = prompts::retrieval_answer(&passages);
    let id = Uuid::now_v7();
    let row = diesel::insert_into(q::table)
        .values((
            q::tenant_id.eq(tenant.into_uuid()),
            q::id.eq(id),
            q::asker_id.eq(me),
            q::module_id.eq(module),
            q::body.eq(&body),
            q::status.eq(QuestionStatus::Answered.as_str()),
            q::answer_html.eq(&answer.html),
            q::answer_source.eq(AnswerSource::Retrieval.as_str()),
            q::citations.eq(serde_json::to_value(&answer.citations).unwrap_or_default()),
            q::created_at.eq(now),
            q::updated_at.eq(now),
        ))
        .returning(QuestionRow::as_returning())
        .get_result(conn)
        .await?;
    Ok(Asked {
        question: row,
        passages,
    })
}

/// 429 `question_limit_reached` once the actor asked the tenant's `questions_per_day` in the
/// last 24 hours. [`ask`] checks it under the member's lock; a caller may check it first, before
/// spending anything on the question (embedding it).
pub async fn within_daily_limit(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(), AiError> {
    let settings = settings::load(conn, actor.tenant_id).await?;
    let asked: Count = guild_db::sql(
        "SELECT count(*) AS n FROM questions \
         WHERE tenant_id = $1 AND asker_id = $2 AND created_at > $3",
    )
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<Timestamptz, _>(now - Duration::hours(24))
    .get_result(conn)
    .await?;
    if asked.n >= i64::from(settings.questions_per_day) {
        return Err(AiError::QuestionLimitReached);
    }
    Ok(())
}

/// Replaces a question's retrieval answer with a model's (when it is still the first answer of
/// an ANSWERED question); the question as it is now.
pub async fn record_ai_answer(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: Uuid,
    answer: &Answer,
    now: DateTime<Utc>,
) -> Result<QuestionRow, AiError> {
    diesel::update(q::table.find((tenant.into_uuid(), id)))
        .filter(q::status.eq(QuestionStatus::Answered.as_str()))
        .filter(q::answer_source.eq(AnswerSource::Retrieval.as_str()))
        .set((
            q::answer_html.eq(&answer.html),
            q::answer_source.eq(AnswerSource::Ai.as_str()),
            q::citations.eq(serde_json::to_value(&answer.citations).unwrap_or_default()),
            q::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(q::table
        .find((tenant.into_uuid(), id))
        .select(QuestionRow::as_select())
        .first(conn)
        .await?)
}

#[derive(QueryableByName)]
struct Below {
    #[diesel(sql_type = Bool)]
    below: bool,
}

/// Whether `user` is below `manager` in the tenant's manager tree.
async fn is_below(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    manager: Uuid,
    user: Uuid,
) -> Result<bool, AiError> {
    let row: Below = guild_db::sql(
        "WITH RECURSIVE below AS ( \
             SELECT user_id FROM memberships WHERE tenant_id = $1 AND manager_id = $2 \
             UNION \
             SELECT m.user_id FROM memberships m JOIN below b ON m.manager_id = b.user_id \
             WHERE m.tenant_id = $1) \
         SELECT EXISTS (SELECT 1 FROM below WHERE user_id = $3) AS below",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(manager)
    .bind::<SqlUuid, _>(user)
    .get_result(conn)
    .await?;
    Ok(row.below)
}

/// Loads a question the actor may see (404 `question_not_found` otherwise); `lock` holds its
/// row for the rest of the transaction.
pub async fn visible(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    lock: bool,
) -> Result<QuestionRow, AiError> {
    let tenant = actor.tenant_id;
    let query = q::table
        .find((tenant.into_uuid(), id))
        .select(QuestionRow::as_select());
    let row = if lock {
        query.for_update().first(conn).await
    } else {
        query.first(conn).await
    }
    .optional()?
    .ok_or_else(not_found)?;
    let me = actor.user_id.into_uuid();
    if row.asker_id == me || row.assignee_id == Some(me) || row.answered_by == Some(me) {
        return Ok(row);
    }
    if is_below(conn, tenant, me, row.asker_id).await? {
        return Ok(row);
    }
    Err(not_found())
}

fn check_status(row: &QuestionRow, allowed: &[QuestionStatus]) -> Result<(), AiError> {
    if allowed.contains(&row.status) {
        Ok(())
    } else {
        Err(AiError::InvalidStatus)
    }
}

/// The asker found the answer helpful: ANSWERED → RESOLVED.
pub async fn resolve(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<QuestionRow, AiError> {
    let row = visible(conn, actor, id, true).await?;
    if row.asker_id != actor.user_id.into_uuid() {
        return Err(AiError::Forbidden);
    }
    check_status(&row, &[QuestionStatus::Answered])?;
    Ok(diesel::update(q::table.find((row.tenant_id, id)))
        .set((
            q::status.eq(QuestionStatus::Resolved.as_str()),
            q::updated_at.eq(now),
        ))
        .returning(QuestionRow::as_returning())
        .get_result(conn)
        .await?)
}

/// The asker wants a mentor: ANSWERED or RESOLVED → ESCALATED, assigned by round robin to one
/// of the module's mentors (the question's module, or `module` for a general question).
pub async fn escalate(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    module: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<QuestionRow, AiError> {
    let row = visible(conn, actor, id, true).await?;
    if row.asker_id != actor.user_id.into_uuid() {
        return Err(AiError::Forbidden);
    }
    check_status(&row, &[QuestionStatus::Answered, QuestionStatus::Resolved])?;
    let module = match (row.module_id, module) {
        (Some(own), Some(other)) if own != other => {
            return Err(AiError::invalid(
                "module_id",
                "module_mismatch",
                "the question is about another module",
            ));
        }
        (Some(own), _) => own,
        (None, Some(chosen)) => {
            guild_learning::access::visible(conn, actor, chosen).await?;
            chosen
        }
        (None, None) => {
            return Err(AiError::invalid(
                "module_id",
                "required",
                "a general question names the module whose mentors answer it",
            ));
        }
    };
    let tenant = actor.tenant_id;
    let mentors = guild_learning::audience::mentors(conn, tenant, module).await?;
    if !mentors.iter().any(|m| *m != row.asker_id) {
        return Err(AiError::NoMentor);
    }
    diesel::update(q::table.find((tenant.into_uuid(), id)))
        .set((
            q::status.eq(QuestionStatus::Escalated.as_str()),
            q::module_id.eq(Some(module)),
            q::escalated_at.eq(Some(now)),
            q::assignee_id.eq(None::<Uuid>),
            q::assigned_at.eq(None::<DateTime<Utc>>),
            q::claimed_at.eq(None::<DateTime<Utc>>),
            q::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    let settings = settings::load(conn, tenant).await?;
    assign_next(conn, tenant, id, module, row.asker_id, None, &settings, now).await?;
    Ok(q::table
        .find((tenant.into_uuid(), id))
        .select(QuestionRow::as_select())
        .first(conn)
        .await?)
}

#[derive(QueryableByName)]
struct Candidate {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
}

#[derive(QueryableByName)]
struct Turn {
    #[diesel(sql_type = BigInt)]
    turn: i64,
}

/// Gives question `id` of `module` to the next eligible mentor (see the module doc), never
/// `asker` nor `exclude`; the mentor given, if any. Publishes [`QuestionAssigned`].
#[expect(
    clippy::too_many_arguments,
    reason = "one call site per caller, all named"
)]
async fn assign_next(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: Uuid,
    module: Uuid,
    asker: Uuid,
    exclude: Option<Uuid>,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, AiError> {
    guild_db::lock_xact(conn, &format!("question_turns:{tenant}:{module}")).await?;
    let next: Option<Candidate> = guild_db::sql(
        "SELECT mm.user_id FROM module_mentors mm \
         JOIN memberships m ON m.tenant_id = mm.tenant_id AND m.user_id = mm.user_id \
                           AND m.status = 'ACTIVE' \
         LEFT JOIN question_turns t ON t.tenant_id = mm.tenant_id AND t.module_id = mm.module_id \
                                   AND t.user_id = mm.user_id \
         WHERE mm.tenant_id = $1 AND mm.module_id = $2 AND mm.user_id <> $3 \
           AND ($4::uuid IS NULL OR mm.user_id <> $4) \
           AND NOT EXISTS (SELECT 1 FROM mentor_away a WHERE a.tenant_id = $1 \
                 AND a.user_id = mm.user_id AND a.away_from <= $5 AND a.away_until > $5) \
           AND (SELECT count(*) FROM questions x WHERE x.tenant_id = $1 \
                 AND x.assignee_id = mm.user_id AND x.status = 'ESCALATED') < $6 \
         ORDER BY t.last_turn ASC NULLS FIRST, mm.user_id \
         LIMIT 1",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(module)
    .bind::<SqlUuid, _>(asker)
    .bind::<Nullable<SqlUuid>, _>(exclude)
    .bind::<Timestamptz, _>(now)
    .bind::<BigInt, _>(i64::from(settings.mentor_open_limit))
    .get_result(conn)
    .await
    .optional()?;
    let Some(next) = next else {
        return Ok(None);
    };
    let turn: Turn = guild_db::sql(
        "SELECT coalesce(max(last_turn), 0) + 1 AS turn FROM question_turns \
         WHERE tenant_id = $1 AND module_id = $2",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(module)
    .get_result(conn)
    .await?;
    diesel::insert_into(t::table)
        .values((
            t::tenant_id.eq(tenant.into_uuid()),
            t::module_id.eq(module),
            t::user_id.eq(next.user_id),
            t::last_turn.eq(turn.turn),
        ))
        .on_conflict((t::tenant_id, t::module_id, t::user_id))
        .do_update()
        .set(t::last_turn.eq(turn.turn))
        .execute(conn)
        .await?;
    diesel::update(q::table.find((tenant.into_uuid(), id)))
        .set((
            q::assignee_id.eq(Some(next.user_id)),
            q::assigned_at.eq(Some(now)),
            q::claimed_at.eq(None::<DateTime<Utc>>),
            q::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    guild_db::outbox::publish(
        conn,
        Some(tenant),
        &QuestionAssigned {
            tenant_id: tenant.into_uuid(),
            question_id: id,
            mentor_id: next.user_id,
            turn: turn.turn,
        },
    )
    .await?;
    Ok(Some(next.user_id))
}

/// Loads a question assigned to the actor, locked: visible but not theirs is 403.
async fn assigned_to_me(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<QuestionRow, AiError> {
    let row = visible(conn, actor, id, true).await?;
    if row.assignee_id != Some(actor.user_id.into_uuid()) {
        return Err(AiError::Forbidden);
    }
    check_status(&row, &[QuestionStatus::Escalated])?;
    Ok(row)
}

/// The assigned mentor picks the question up: it stays theirs (no re-assignment).
pub async fn claim(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<QuestionRow, AiError> {
    let row = assigned_to_me(conn, actor, id).await?;
    Ok(diesel::update(q::table.find((row.tenant_id, id)))
        .set((
            q::claimed_at.eq(Some(row.claimed_at.unwrap_or(now))),
            q::updated_at.eq(now),
        ))
        .returning(QuestionRow::as_returning())
        .get_result(conn)
        .await?)
}

/// The assigned mentor answers: ESCALATED → MENTOR_ANSWERED; the asker is told.
pub async fn answer(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    body: &str,
    now: DateTime<Utc>,
) -> Result<QuestionRow, AiError> {
    let row = assigned_to_me(conn, actor, id).await?;
    let body = text("body", body, 1, MAX_ANSWER)?;
    let me = actor.user_id.into_uuid();
    let updated = diesel::update(q::table.find((row.tenant_id, id)))
        .set((
            q::status.eq(QuestionStatus::MentorAnswered.as_str()),
            q::mentor_answer.eq(Some(&body)),
            q::answered_by.eq(Some(me)),
            q::answered_at.eq(Some(now)),
            q::claimed_at.eq(Some(row.claimed_at.unwrap_or(now))),
            q::updated_at.eq(now),
        ))
        .returning(QuestionRow::as_returning())
        .get_result(conn)
        .await?;
    guild_db::outbox::publish(
        conn,
        Some(actor.tenant_id),
        &QuestionAnswered {
            tenant_id: row.tenant_id,
            question_id: id,
            asker_id: row.asker_id,
            mentor_id: me,
        },
    )
    .await?;
    Ok(updated)
}

/// The members a reply address of question `id` may stand for: the mentor it is assigned to and
/// the one who answered it (a reply address binds its member without naming them; see
/// `guild_notifications::reply`). `None` when `tenant` has no such question.
pub async fn repliers(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: Uuid,
) -> Result<Option<Vec<Uuid>>, AiError> {
    let row: Option<(Option<Uuid>, Option<Uuid>)> = q::table
        .find((tenant.into_uuid(), id))
        .select((q::assignee_id, q::answered_by))
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(|(assignee, answerer)| {
        let mut ids: Vec<Uuid> = assignee.into_iter().chain(answerer).collect();
        ids.dedup();
        ids
    }))
}

/// What an answer by email did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailedAnswer {
    /// The question was answered with it, and is now this.
    Answered(Box<QuestionRow>),
    /// The same message answered it before: nothing changed.
    AlreadyReceived,
}

/// The assigned mentor answers by replying to the email that gave them the question: the rules
/// of [`answer`] exactly, once per message (`message_key`: the email's Message-ID, or a hash of
/// it without one, at most 300 characters). A message that answered before changes nothing
/// ([`EmailedAnswer::AlreadyReceived`]); one that was refused is refused again.
pub async fn answer_by_email(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    body: &str,
    message_key: &str,
    now: DateTime<Utc>,
) -> Result<EmailedAnswer, AiError> {
    use guild_db::schema::question_email_replies as r;
    // Locks the question: the same message delivered twice at once is decided one after the
    // other, and the second finds the first's row.
    let row = visible(conn, actor, id, true).await?;
    let claimed = diesel::insert_into(r::table)
        .values((
            r::tenant_id.eq(row.tenant_id),
            r::message_key.eq(message_key),
            r::question_id.eq(id),
            r::user_id.eq(actor.user_id.into_uuid()),
            r::received_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    if claimed == 0 {
        return Ok(EmailedAnswer::AlreadyReceived);
    }
    // A refusal rolls the transaction back, the message's row with it.
    Ok(EmailedAnswer::Answered(Box::new(
        answer(conn, actor, id, body, now).await?,
    )))
}

/// The asker accepts the mentor's answer: MENTOR_ANSWERED → ACCEPTED. Nobody accepts their own
/// answer (403 `cannot_accept_own_answer`).
pub async fn accept(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<QuestionRow, AiError> {
    let row = visible(conn, actor, id, true).await?;
    let me = actor.user_id.into_uuid();
    if row.asker_id != me {
        return Err(AiError::Forbidden);
    }
    check_status(&row, &[QuestionStatus::MentorAnswered])?;
    if row.answered_by == Some(me) {
        return Err(AiError::CannotAcceptOwnAnswer);
    }
    let updated = diesel::update(q::table.find((row.tenant_id, id)))
        .set((
            q::status.eq(QuestionStatus::Accepted.as_str()),
            q::accepted_at.eq(Some(now)),
            q::updated_at.eq(now),
        ))
        .returning(QuestionRow::as_returning())
        .get_result(conn)
        .await?;
    if let Some(mentor) = row.answered_by {
        guild_db::outbox::publish(
            conn,
            Some(actor.tenant_id),
            &QuestionAccepted {
                tenant_id: row.tenant_id,
                question_id: id,
                asker_id: me,
                mentor_id: mentor,
            },
        )
        .await?;
    }
    Ok(updated)
}

/// What a draft of the mentor's answer is made from: the question and the passages the mentor
/// may see. Only the mentor it is assigned to, while it is ESCALATED.
pub async fn draft_material(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<(QuestionRow, Vec<Passage>), AiError> {
    let row = assigned_to_me(conn, actor, id).await?;
    let passages =
        retrieval::retrieve(conn, actor, &row.body, row.module_id, PASSAGES, None).await?;
    Ok((row, passages))
}

/// Which questions a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The actor's own.
    Mine,
    /// Those assigned to the actor, or that they answered.
    Assigned,
    /// Those of the members below the actor in the manager tree.
    Team,
}

fn bad_cursor() -> AiError {
    AiError::invalid("cursor", "invalid_cursor", "the cursor is not valid")
}

/// The actor's questions of `scope`, newest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    scope: Scope,
    status: Option<QuestionStatus>,
    page: &PageRequest,
) -> Result<Page<QuestionRow>, AiError> {
    let tenant = actor.tenant_id.into_uuid();
    let me = actor.user_id.into_uuid();
    let limit = page.limit();
    let mut query = q::table
        .filter(q::tenant_id.eq(tenant))
        .select(QuestionRow::as_select())
        .order((q::created_at.desc(), q::id.desc()))
        .limit(i64::from(limit) + 1)
        .into_boxed();
    query = match scope {
        Scope::Mine => query.filter(q::asker_id.eq(me)),
        Scope::Assigned => query.filter(q::assignee_id.eq(me).or(q::answered_by.eq(me))),
        Scope::Team => {
            let below = guild_db::sql(
                "WITH RECURSIVE below AS ( \
                     SELECT user_id FROM memberships WHERE tenant_id = $1 AND manager_id = $2 \
                     UNION \
                     SELECT m.user_id FROM memberships m JOIN below b ON m.manager_id = b.user_id \
                     WHERE m.tenant_id = $1) \
                 SELECT user_id FROM below",
            )
            .bind::<SqlUuid, _>(tenant)
            .bind::<SqlUuid, _>(me)
            .load::<Candidate>(conn)
            .await?
            .into_iter()
            .map(|c| c.user_id)
            .collect::<Vec<_>>();
            query.filter(q::asker_id.eq_any(below))
        }
    };
    if let Some(status) = status {
        query = query.filter(q::status.eq(status.as_str()));
    }
    if let Some(cursor) = page.cursor().map_err(|_| bad_cursor())? {
        let (at, id) = cursor.0.split_once('|').ok_or_else(bad_cursor)?;
        let at = DateTime::parse_from_rfc3339(at)
            .map_err(|_| bad_cursor())?
            .with_timezone(&Utc);
        let id: Uuid = id.parse().map_err(|_| bad_cursor())?;
        query = query.filter(
            q::created_at
                .lt(at)
                .or(q::created_at.eq(at).and(q::id.lt(id))),
        );
    }
    let rows = query.load(conn).await?;
    Ok(Page::from_overfetch(rows, limit, |r| {
        format!("{}|{}", Keyset::time_key(r.created_at), r.id)
    }))
}

#[derive(QueryableByName)]
struct Stale {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    module_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    asker_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    assignee_id: Option<Uuid>,
}

/// Assigns the tenant's escalated questions that wait without a mentor, and moves those their
/// mentor did not pick up within `reassign_after_minutes` to the next one (a question stays
/// with its mentor when nobody else is eligible). How many changed hands.
pub async fn reassign_stale(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    now: DateTime<Utc>,
) -> Result<usize, AiError> {
    let settings = settings::load(conn, tenant).await?;
    let due = now - Duration::minutes(i64::from(settings.reassign_after_minutes));
    let stale: Vec<Stale> = guild_db::sql(
        "SELECT id, module_id, asker_id, assignee_id FROM questions \
         WHERE tenant_id = $1 AND status = 'ESCALATED' AND module_id IS NOT NULL \
           AND (assignee_id IS NULL OR (claimed_at IS NULL AND assigned_at <= $2)) \
         ORDER BY escalated_at, id LIMIT $3 FOR UPDATE SKIP LOCKED",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<Timestamptz, _>(due)
    .bind::<BigInt, _>(REASSIGN_BATCH)
    .load(conn)
    .await?;
    let mut moved = 0;
    for s in stale {
        if assign_next(
            conn,
            tenant,
            s.id,
            s.module_id,
            s.asker_id,
            s.assignee_id,
            &settings,
            now,
        )
        .await?
        .is_some()
        {
            moved += 1;
        }
    }
    Ok(moved)
}

/// The job (every minute) that assigns waiting questions and moves those not picked up in time.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ReassignJob {}

impl guild_db::jobs::Job for ReassignJob {
    const KIND: &'static str = "ai.reassign_questions";
}

/// Tenants that are not archived (the job visits each in its own tenant transaction).
pub async fn active_tenants(conn: &mut AsyncPgConnection) -> Result<Vec<TenantId>, AiError> {
    use guild_db::schema::tenants;
    Ok(tenants::table
        .filter(tenants::archived_at.is_null())
        .select(tenants::id)
        .order(tenants::id)
        .load::<Uuid>(conn)
        .await?
        .into_iter()
        .map(TenantId)
        .collect())
}

/// A member's away period.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = a)]
pub struct Away {
    /// From.
    pub away_from: DateTime<Utc>,
    /// Until (excluded).
    pub away_until: DateTime<Utc>,
}

/// The actor's away period, if any.
pub async fn away(conn: &mut AsyncPgConnection, actor: &Actor) -> Result<Option<Away>, AiError> {
    Ok(a::table
        .find((actor.tenant_id.into_uuid(), actor.user_id.into_uuid()))
        .select(Away::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Sets the actor's away period: no question is assigned to them from `from` until `until`
/// (after `from`, in the future, at most 366 days long).
pub async fn set_away(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Away, AiError> {
    if until <= from {
        return Err(AiError::invalid("until", "range", "must be after from"));
    }
    if until <= now {
        return Err(AiError::invalid("until", "range", "must be in the future"));
    }
    if until - from > Duration::days(MAX_AWAY_DAYS) {
        return Err(AiError::invalid(
            "until",
            "range",
            "an away period lasts at most 366 days",
        ));
    }
    let values = (
        a::tenant_id.eq(actor.tenant_id.into_uuid()),
        a::user_id.eq(actor.user_id.into_uuid()),
        a::away_from.eq(from),
        a::away_until.eq(until),
        a::updated_at.eq(now),
    );
    Ok(diesel::insert_into(a::table)
        .values(values)
        .on_conflict((a::tenant_id, a::user_id))
        .do_update()
        .set((
            a::away_from.eq(from),
            a::away_until.eq(until),
            a::updated_at.eq(now),
        ))
        .returning(Away::as_returning())
        .get_result(conn)
        .await?)
}

/// Ends the actor's away period (nothing when there is none).
pub async fn clear_away(conn: &mut AsyncPgConnection, actor: &Actor) -> Result<(), AiError> {
    diesel::delete(a::table.find((actor.tenant_id.into_uuid(), actor.user_id.into_uuid())))
        .execute(conn)
        .await?;
    Ok(())
}
