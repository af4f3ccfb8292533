//! Finding what answers a question among what the asker may see, with PostgreSQL full-text
//! search.
//!
//! The question is read with `websearch_to_tsquery('english', …)` (so quoted phrases and
//! stemming work) and its terms are OR-ed, since a question in plain words rarely has every one
//! of its words in one passage. Passages that hold more of them come first (`ts_rank`), and the
//! best [`RERANKED`] of those are ordered again by how close together the terms are
//! (`ts_rank_cd`). (A question that excludes words with `-` keeps the AND of its terms.)
//!
//! Passages come from three places, each limited to the PUBLISHED modules the asker may see
//! ([`guild_learning::access::visible_published`]):
//! - sections (`sections.search`, generated from the title and the text without tags);
//! - answers a module's mentor confirmed in its chat room (the question and the answer,
//!   searched together; confirmations are few, so they are read without an index of their own);
//! - earlier questions whose mentor's answer their asker accepted (`questions.search`).
//!
//! Where the database has pgvector and an embedding model is configured, the question's
//! embedding ([`QueryVector`]) also finds the passages nearest to it by cosine distance among the
//! same visible modules' embeddings ([`crate::embeddings`]), those at least [`MIN_SIMILARITY`]
//! alike; the two rankings are fused by reciprocal rank (each passage scores `1 / (60 + its
//! position)` in each list that has it), so a passage that says the same in other words is found,
//! and one both find comes first.

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

/// The passages of `picked (kind, id, rank)` (a CTE the statement defines first, at most a few
/// rows), with their module's title from `vis (id, title)` and their text, best first. The
/// text, stripped of tags, is made for these rows only: made for every match before ranking, it
/// cost 0.4 s when a question's words were in 3,800 sections.
macro_rules! passages_of_picked {
    () => {
        concat!(
            "SELECT * FROM ( \
            SELECT 'SECTION' AS kind, s.id, s.module_id, vis.title AS module_title, s.title, \
                   left(",
            section_text_sql!(),
            ", 2000) AS text, p.rank \
            FROM picked p JOIN sections s ON s.tenant_id = $1 AND s.id = p.id \
            JOIN vis ON vis.id = s.module_id \
            WHERE p.kind = 'SECTION' \
            UNION ALL \
            SELECT 'CHAT_ANSWER', ca.id, ca.module_id, vis.title, left(qm.body, 200), \
                   left(am.body, 2000), p.rank \
            FROM picked p JOIN chat_confirmed_answers ca ON ca.tenant_id = $1 AND ca.id = p.id \
            JOIN vis ON vis.id = ca.module_id ",
            confirmed_answer_messages_sql!(),
            "WHERE p.kind = 'CHAT_ANSWER' \
            UNION ALL \
            SELECT 'QUESTION_ANSWER', x.id, x.module_id, vis.title, left(x.body, 200), \
                   left(coalesce(x.mentor_answer, ''), 2000), p.rank \
            FROM picked p JOIN questions x ON x.tenant_id = $1 AND x.id = p.id \
                                          AND x.status = 'ACCEPTED' \
            JOIN vis ON vis.id = x.module_id \
            WHERE p.kind = 'QUESTION_ANSWER' \
        ) passages ORDER BY rank DESC, id"
        )
    };
}

/// How many of a question's matches, ordered by `ts_rank` (term frequency: cheap), are ranked
/// again by `ts_rank_cd` (cover density: how close together the terms are, about 9 µs a
/// passage) for the final order. Ranking every match by cover density cost 33 ms when a
/// question's words were in 3,800 sections; the frequency order costs a sixth of that, and the
/// best passages by cover density are among the best by frequency.
pub const RERANKED: i64 = 50;

/// Full-text search: the `$4` best matches of the question `$2` among the visible modules `$3`,
/// ranked before anything else is read of them — the `$5` ([`RERANKED`]) best by `ts_rank`, then
/// those by `ts_rank_cd`.
const SEARCH: &str = concat!(
    "WITH q AS ( \
        SELECT CASE WHEN strpos(w::text, '!') > 0 THEN w \
                    ELSE replace(w::text, ' & ', ' | ')::tsquery END AS query \
        FROM websearch_to_tsquery('english'::regconfig, $2) AS w), \
    vis AS (SELECT md.id, md.title FROM modules md WHERE md.tenant_id = $1 AND md.id = ANY($3)), \
    matched AS ( \
        SELECT 'SECTION'::text AS kind, s.id, s.search AS doc \
        FROM sections s, q \
        WHERE s.tenant_id = $1 AND s.module_id = ANY($3) AND s.search @@ q.query \
        UNION ALL \
        SELECT 'CHAT_ANSWER', ca.id, d.doc \
        FROM chat_confirmed_answers ca ",
    confirmed_answer_messages_sql!(),
    "CROSS JOIN LATERAL (SELECT to_tsvector('english'::regconfig, qm.body || ' ' || am.body) \
                            AS doc) d, q \
        WHERE ca.tenant_id = $1 AND ca.module_id = ANY($3) AND d.doc @@ q.query \
        UNION ALL \
        SELECT 'QUESTION_ANSWER', x.id, x.search \
        FROM questions x, q \
        WHERE x.tenant_id = $1 AND x.module_id = ANY($3) AND x.status = 'ACCEPTED' \
          AND x.search @@ q.query), \
    candidates AS (SELECT m.kind, m.id, m.doc FROM matched m, q \
        ORDER BY ts_rank(m.doc, q.query) DESC, m.id LIMIT $5), \
    picked AS (SELECT c.kind, c.id, ts_rank_cd(c.doc, q.query, 32)::float8 AS rank \
        FROM candidates c, q ORDER BY rank DESC, c.id LIMIT $4) ",
    passages_of_picked!()
);

/// Vector search: the passages nearest to the embedding `$3` (of the model `$4`) among the
/// visible modules' (`$2`), at most `$5`, with the cosine similarity as their rank, those at
/// least `$6` alike.
const NEAREST: &str = concat!(
    "WITH vis AS (SELECT md.id, md.title FROM modules md WHERE md.tenant_id = $1 AND md.id = ANY($2)), \
    picked AS (SELECT * FROM ( \
        SELECT e.kind, e.id, (1 - (e.embedding <=> $3::vector))::float8 AS rank \
        FROM passage_embeddings e JOIN vis ON vis.id = e.module_id \
        WHERE e.tenant_id = $1 AND e.model = $4 \
          AND vector_dims(e.embedding) = vector_dims($3::vector) \
        ORDER BY e.embedding <=> $3::vector LIMIT $5) near WHERE rank >= $6) ",
    passages_of_picked!()
);

/// The least cosine similarity between a question's embedding and a passage's for the passage
/// to count as found by vector search: nearest neighbours are always some passages, and most of
/// them say nothing about the question.
pub const MIN_SIMILARITY: f64 = 0.3;

/// A question's embedding, by the model that embedded the passages.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryVector {
    /// The embedding model's name (only passages it embedded are compared).
    pub model: String,
    /// The question's embedding.
    pub vector: Vec<f32>,
}

/// The `limit` best passages for `text` among what the actor may see (within `module` when
/// given), best first: by full-text search, fused with vector search when `query` is given — which
/// the caller does only where the database has the embeddings ([`crate::embeddings::available`],
/// asked once per process by the api layer).
pub async fn retrieve(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    text: &str,
    module: Option<Uuid>,
    limit: i64,
    query: Option<&QueryVector>,
) -> Result<Vec<Passage>, AiError> {
    let visible = guild_learning::access::visible_published(conn, actor, module).await?;
    if visible.is_empty() {
        return Ok(Vec::new());
    }
    let found: Vec<Passage> = guild_db::sql(SEARCH)
        .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
        .bind::<Text, _>(text)
        .bind::<Array<SqlUuid>, _>(&visible[..])
        .bind::<BigInt, _>(limit)
        .bind::<BigInt, _>(RERANKED.max(limit))
        .load(conn)
        .await?;
    let Some(query) = query.filter(|q| !q.vector.is_empty()) else {
        return Ok(found);
    };
    let near: Vec<Passage> = guild_db::sql(NEAREST)
        .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
        .bind::<Array<SqlUuid>, _>(&visible[..])
        .bind::<Text, _>(crate::embeddings::vector_literal(&query.vector))
        .bind::<Text, _>(&query.model)
        .bind::<BigInt, _>(limit)
        .bind::<Double, _>(MIN_SIMILARITY)
        .load(conn)
        .await?;
    Ok(fuse(found, near, usize::try_from(limit).unwrap_or(0)))
}

/// Reciprocal rank fusion of two rankings, best first: a passage scores `1 / (60 + position)`
/// (from 1) in each list that has it; ties by id. The score becomes its `rank`.
pub fn fuse(text: Vec<Passage>, vector: Vec<Passage>, limit: usize) -> Vec<Passage> {
    const K: f64 = 60.0;
    let mut scored: Vec<Passage> = Vec::with_capacity(text.len() + vector.len());
    for list in [text, vector] {
        for (position, mut passage) in list.into_iter().enumerate() {
            let score = 1.0 / (K + (position + 1) as f64);
            match scored
                .iter_mut()
                .find(|p| p.kind == passage.kind && p.id == passage.id)
            {
                Some(seen) => seen.rank += score,
                None => {
                    passage.rank = score;
                    scored.push(passage);
                }
            }
        }
    }
    scored.sort_by(|a, b| b.rank.total_cmp(&a.rank).then(a.id.cmp(&b.id)));
    scored.truncate(limit);
    scored
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::{Passage, fuse};

    fn passage(n: u128) -> Passage {
        Passage {
            kind: "SECTION".into(),
            id: Uuid::from_u128(n),
            module_id: Uuid::from_u128(99),
            module_title: "M".into(),
            title: format!("p{n}"),
            text: String::new(),
            rank: 0.5,
        }
    }

    #[test]
    fn a_passage_both_searches_find_comes_first_and_each_list_adds_what_the_other_missed() {
        // Text search: 1, 2, 3. Vector search: 4, 2.
        let fused = fuse(
            vec![passage(1), passage(2), passage(3)],
            vec![passage(4), passage(2)],
            3,
        );
        let ids: Vec<u128> = fused.iter().map(|p| p.id.as_u128()).collect();
        // 2: 1/62 + 1/62; 1 and 4: 1/61 each (tie by id); 3: 1/63 is cut by the limit.
        assert_eq!(ids, [2, 1, 4]);
        assert!((fused[0].rank - 2.0 / 62.0).abs() < 1e-12);
        assert!((fused[1].rank - 1.0 / 61.0).abs() < 1e-12);
    }

    #[test]
    fn without_vector_results_the_text_order_is_kept() {
        let fused = fuse(vec![passage(3), passage(1)], Vec::new(), 5);
        let ids: Vec<u128> = fused.iter().map(|p| p.id.as_u128()).collect();
        assert_eq!(ids, [3, 1]);
    }
}
