//! Finding what answers a question among what the asker may see, with PostgreSQL full-text
//! search.
//!
//! The question is read with `websearch_to_tsquery('english', …)` (so quoted phrases and
//! stemming work) and its terms are OR-ed, since a question in plain words rarely has every one
//! of its words in one passage; `ts_rank_cd` ranks passages that hold more of them, closer
//! together, first. (A question that excludes words with `-` keeps the AND of its terms.)
//!
//! Passages come from three places, each limited to the PUBLISHED modules the asker may see
//! ([`guild_learning::access::visible_published`]):
//! - sections (`sections.search`, generated from the title and the text without tags);
//! - answers a module's mentor confirmed in its chat room (the question and the answer,
//!   searched together; confirmations are few, so they are read without an index of their own);
//! - earlier questions whose mentor's answer their asker accepted (`questions.search`).

use diesel::sql_types::{Array, BigInt, Double, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_kernel::Actor;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AiError;

guild_kernel::string_enum!(
    /// Where a passage comes from.
    PassageKind {
        /// A section of a module.
        Section => "SECTION",
        /// An answer a mentor confirmed in a module's chat room.
        ChatAnswer => "CHAT_ANSWER",
        /// An earlier question's accepted answer.
        QuestionAnswer => "QUESTION_ANSWER",
    }
);

/// A passage that may answer a question.
#[derive(Debug, Clone, PartialEq, diesel::QueryableByName)]
pub struct Passage {
    /// Where it comes from (a [`PassageKind`] name).
    #[diesel(sql_type = Text)]
    pub kind: String,
    /// The section, confirmed answer (`chat_confirmed_answers.id`) or question.
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    /// Its module.
    #[diesel(sql_type = SqlUuid)]
    pub module_id: Uuid,
    /// The module's title.
    #[diesel(sql_type = Text)]
    pub module_title: String,
    /// The section's title, or the question asked.
    #[diesel(sql_type = Text)]
    pub title: String,
    /// Its text (tags removed), at most 2,000 characters.
    #[diesel(sql_type = Text)]
    pub text: String,
    /// Its rank (higher is better).
    #[diesel(sql_type = Double)]
    pub rank: f64,
}

/// A passage as a question cites it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Citation {
    /// Where it comes from.
    pub kind: PassageKind,
    /// The section, confirmed answer or question.
    pub id: Uuid,
    /// Its module.
    pub module_id: Uuid,
    /// The module's title.
    pub module_title: String,
    /// The section's title, or the question asked.
    pub title: String,
    /// The start of its text (at most 300 characters).
    pub excerpt: String,
}

impl From<&Passage> for Citation {
    fn from(p: &Passage) -> Self {
        Self {
            // The query names only the kinds of `PassageKind`.
            kind: p.kind.parse().unwrap_or(PassageKind::Section),
            id: p.id,
            module_id: p.module_id,
            module_title: p.module_title.clone(),
            title: p.title.clone(),
            excerpt: excerpt(&p.text, 300),
        }
    }
}

/// `text` with its whitespace collapsed, cut to `max` characters at a word.
pub fn excerpt(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let cut: String = flat.chars().take(max).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{cut}\u{2026}")
}

const SEARCH: &str = "\
WITH q AS ( \
    SELECT CASE WHEN strpos(w::text, '!') > 0 THEN w \
                ELSE replace(w::text, ' & ', ' | ')::tsquery END AS query \
    FROM websearch_to_tsquery('english'::regconfig, $2) AS w), \
vis AS (SELECT md.id, md.title FROM modules md WHERE md.tenant_id = $1 AND md.id = ANY($3)) \
SELECT * FROM ( \
    SELECT 'SECTION' AS kind, s.id, s.module_id, vis.title AS module_title, s.title, \
           left(btrim(regexp_replace(regexp_replace(s.content_html, '<[^>]*>', ' ', 'g'), \
                '\\s+', ' ', 'g')), 2000) AS text, \
           ts_rank_cd(s.search, q.query, 32)::float8 AS rank \
    FROM sections s JOIN vis ON vis.id = s.module_id, q \
    WHERE s.tenant_id = $1 AND s.search @@ q.query \
    UNION ALL \
    SELECT 'CHAT_ANSWER', ca.id, ca.module_id, vis.title, left(qm.body, 200), \
           left(am.body, 2000), \
           ts_rank_cd(to_tsvector('english'::regconfig, qm.body || ' ' || am.body), q.query, 32)::float8 \
    FROM chat_confirmed_answers ca JOIN vis ON vis.id = ca.module_id \
    JOIN chat_messages qm ON qm.tenant_id = ca.tenant_id AND qm.id = ca.question_id \
                         AND qm.deleted_at IS NULL \
    JOIN chat_messages am ON am.tenant_id = ca.tenant_id AND am.id = ca.answer_id \
                         AND am.deleted_at IS NULL, q \
    WHERE ca.tenant_id = $1 \
      AND to_tsvector('english'::regconfig, qm.body || ' ' || am.body) @@ q.query \
    UNION ALL \
    SELECT 'QUESTION_ANSWER', x.id, x.module_id, vis.title, left(x.body, 200), \
           left(coalesce(x.mentor_answer, ''), 2000), ts_rank_cd(x.search, q.query, 32)::float8 \
    FROM questions x JOIN vis ON vis.id = x.module_id, q \
    WHERE x.tenant_id = $1 AND x.status = 'ACCEPTED' AND x.search @@ q.query \
) found ORDER BY rank DESC, id LIMIT $4";

/// The `limit` best passages for `text` among what the actor may see (within `module` when
/// given), best first.
pub async fn retrieve(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    text: &str,
    module: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Passage>, AiError> {
    let visible = guild_learning::access::visible_published(conn, actor, module).await?;
    if visible.is_empty() {
        return Ok(Vec::new());
    }
    Ok(guild_db::sql(SEARCH)
        .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
        .bind::<Text, _>(text)
        .bind::<Array<SqlUuid>, _>(&visible[..])
        .bind::<BigInt, _>(limit)
        .load(conn)
        .await?)
}
