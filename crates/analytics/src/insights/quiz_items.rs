//! Item analysis of a quiz: per question, how the cohort's submitted attempts in the period
//! (`submitted_at` in it, scored: `results` recorded) answered it.
//!
//! - `answered`: attempts whose results hold the question (every question of the attempt, left
//!   blank or not); `scored`: those with a verdict (essays have none: they earn points only);
//!   `correct`: those that earned every point. `share_correct = correct / scored`.
//! - For choice questions, each option with how many attempts chose it and that as a share of
//!   `answered` (distractor analysis: a wrong option chosen often is a misleading one).
//! - The questions are the quiz's current ones in their order, then those since deleted that
//!   the attempts still hold (`removed`, with the text of the latest attempt's copy); an option
//!   chosen in an attempt but no longer in the question is listed after the others, without
//!   text.
//!
//! Attempts keep their own copy of the questions (`quiz_attempts.questions`), so figures follow
//! question ids: an edited question's figures mix its versions.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Integer, Jsonb, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::TryFutureExt;
use futures_util::future::try_join4;
use guild_kernel::{Actor, Permission};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{AnalyticsFilter, cohort, share};
use crate::AnalyticsError;

/// How often one option was chosen.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptionStats {
    /// The option's id in the question.
    pub option_id: String,
    /// Its text.
    pub text: String,
    /// Whether it is (part of) the right answer.
    pub correct: bool,
    /// Attempts that chose it.
    pub chosen: i64,
    /// `chosen / answered`.
    pub share: Option<f64>,
}

/// One question's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemStats {
    /// The question.
    pub question_id: Uuid,
    /// Its kind (`SINGLE_CHOICE`, …).
    pub kind: String,
    /// What it asks.
    pub prompt: String,
    /// Deleted from the quiz since.
    pub removed: bool,
    /// Attempts that held it.
    pub answered: i64,
    /// Of them, with a verdict.
    pub scored: i64,
    /// Of them, right.
    pub correct: i64,
    /// `correct / scored`.
    pub share_correct: Option<f64>,
    /// Its options with how often each was chosen (choice kinds; empty otherwise).
    pub options: Vec<OptionStats>,
}

/// A quiz's item analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuizItems {
    /// The quiz.
    pub quiz_id: Uuid,
    /// Its title.
    pub title: String,
    /// The period's start.
    pub from: DateTime<Utc>,
    /// The period's end.
    pub to: DateTime<Utc>,
    /// Scored attempts counted.
    pub attempts: i64,
    /// The questions.
    pub items: Vec<ItemStats>,
}

#[derive(QueryableByName)]
struct QuizRow {
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = BigInt)]
    attempts: i64,
}

#[derive(QueryableByName)]
struct QuestionRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    prompt: String,
    #[diesel(sql_type = Jsonb)]
    options: serde_json::Value,
    #[diesel(sql_type = Integer)]
    sort_order: i32,
}

#[derive(QueryableByName)]
struct ResultRow {
    #[diesel(sql_type = SqlUuid)]
    question_id: Uuid,
    #[diesel(sql_type = BigInt)]
    answered: i64,
    #[diesel(sql_type = BigInt)]
    scored: i64,
    #[diesel(sql_type = BigInt)]
    correct: i64,
}

#[derive(QueryableByName)]
struct PickRow {
    #[diesel(sql_type = SqlUuid)]
    question_id: Uuid,
    #[diesel(sql_type = Text)]
    option_id: String,
    #[diesel(sql_type = BigInt)]
    chosen: i64,
}

#[derive(Deserialize)]
struct StoredOption {
    id: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    correct: bool,
}

/// The scored attempts at quiz `$5` of the cohort `$2` submitted in the period `$3`–`$4`.
const ATTEMPTS: &str = "quiz_attempts a WHERE a.tenant_id = $1 AND a.quiz_id = $5 \
     AND a.user_id = ANY($2) AND a.submitted_at >= $3 AND a.submitted_at < $4 \
     AND jsonb_typeof(a.results) = 'array'";

static QUIZ: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT q.title, (SELECT count(*) FROM {ATTEMPTS}) AS attempts \
         FROM quizzes q WHERE q.tenant_id = $1 AND q.id = $5"
    )
});

/// The quiz's questions now, in order, then the latest attempt's copies of those since deleted
/// (`sort_order` -1).
static QUESTIONS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT x.id, x.kind, x.prompt, x.options, x.sort_order FROM ( \
           SELECT id, kind, prompt, options, sort_order FROM quiz_questions \
           WHERE tenant_id = $1 AND quiz_id = $5 \
           UNION ALL \
           (SELECT DISTINCT ON (q->>'id') (q->>'id')::uuid, coalesce(q->>'kind', ''), \
              coalesce(q->>'prompt', ''), coalesce(q->'options', '[]'::jsonb), -1 \
            FROM (SELECT a.* FROM {ATTEMPTS}) a CROSS JOIN LATERAL jsonb_array_elements(a.questions) q \
            WHERE jsonb_typeof(a.questions) = 'array' AND NOT EXISTS (SELECT 1 FROM quiz_questions cq \
              WHERE cq.tenant_id = $1 AND cq.quiz_id = $5 AND cq.id::text = q->>'id') \
            ORDER BY q->>'id', a.started_at DESC)) x \
         ORDER BY x.sort_order < 0, x.sort_order, x.id"
    )
});

static RESULTS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT (r->>'question_id')::uuid AS question_id, count(*) AS answered, \
           count(*) FILTER (WHERE r->>'correct' IS NOT NULL) AS scored, \
           count(*) FILTER (WHERE r->>'correct' = 'true') AS correct \
         FROM (SELECT a.* FROM {ATTEMPTS}) a CROSS JOIN LATERAL jsonb_array_elements(a.results) r \
         GROUP BY 1"
    )
});

static PICKS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT (ans->>'question_id')::uuid AS question_id, o.option_id, count(*) AS chosen \
         FROM (SELECT a.* FROM {ATTEMPTS}) a \
         CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(a.answers) = 'array' \
           THEN a.answers ELSE '[]'::jsonb END) ans \
         CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(ans->'option_ids') = 'array' \
           THEN ans->'option_ids' ELSE '[]'::jsonb END) o(option_id) \
         GROUP BY 1, 2"
    )
});

/// The item analysis of `quiz` (see the module's rules); 404 `quiz_not_found` for a quiz not in
/// the tenant.
pub async fn quiz_items(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    quiz: Uuid,
    filter: &AnalyticsFilter,
    now: DateTime<Utc>,
) -> Result<QuizItems, AnalyticsError> {
    let conn: &AsyncPgConnection = conn;
    let cohort = cohort(conn, actor, Permission::ViewAnalytics, filter, now).await?;
    let tenant = actor.tenant_id.into_uuid();
    let mut c = conn;
    let bound = |sql: &'static str| {
        guild_db::sql(sql)
            .bind::<SqlUuid, _>(tenant)
            .bind::<Array<SqlUuid>, _>(cohort.ids.clone())
            .bind::<Timestamptz, _>(cohort.from)
            .bind::<Timestamptz, _>(cohort.to)
            .bind::<SqlUuid, _>(quiz)
    };
    let head = bound(QUIZ.as_str()).load::<QuizRow>(&mut c);
    let questions = bound(QUESTIONS.as_str()).load::<QuestionRow>(&mut c);
    let results = bound(RESULTS.as_str()).load::<ResultRow>(&mut c);
    let picks = bound(PICKS.as_str()).load::<PickRow>(&mut c);
    let (head, questions, results, picks) = try_join4(
        head.err_into::<AnalyticsError>(),
        questions.err_into::<AnalyticsError>(),
        results.err_into::<AnalyticsError>(),
        picks.err_into::<AnalyticsError>(),
    )
    .await?;
    let head = head
        .into_iter()
        .next()
        .ok_or(AnalyticsError::NotFound("quiz_not_found"))?;
    let results: HashMap<Uuid, ResultRow> =
        results.into_iter().map(|r| (r.question_id, r)).collect();
    let mut chosen: HashMap<Uuid, Vec<(String, i64)>> = HashMap::new();
    for p in picks {
        chosen
            .entry(p.question_id)
            .or_default()
            .push((p.option_id, p.chosen));
    }
    let items = questions
        .into_iter()
        .map(|q| {
            let r = results.get(&q.id);
            let answered = r.map_or(0, |r| r.answered);
            let (scored, correct) = r.map_or((0, 0), |r| (r.scored, r.correct));
            let stored: Vec<StoredOption> = serde_json::from_value(q.options).unwrap_or_default();
            let mut picked = chosen.remove(&q.id).unwrap_or_default();
            let mut options: Vec<OptionStats> = stored
                .into_iter()
                .map(|o| {
                    let n = picked
                        .iter()
                        .position(|(id, _)| *id == o.id)
                        .map_or(0, |i| picked.swap_remove(i).1);
                    OptionStats {
                        option_id: o.id,
                        text: o.text,
                        correct: o.correct,
                        chosen: n,
                        share: share(n, answered),
                    }
                })
                .collect();
            picked.sort();
            options.extend(picked.into_iter().map(|(option_id, n)| OptionStats {
                option_id,
                text: String::new(),
                correct: false,
                chosen: n,
                share: share(n, answered),
            }));
            ItemStats {
                question_id: q.id,
                kind: q.kind,
                prompt: q.prompt,
                removed: q.sort_order < 0,
                answered,
                scored,
                correct,
                share_correct: share(correct, scored),
                options,
            }
        })
        .collect();
    Ok(QuizItems {
        quiz_id: quiz,
        title: head.title,
        from: cohort.from,
        to: cohort.to,
        attempts: head.attempts,
        items,
    })
}
