//! The embeddings of the passages questions are answered from, for vector search (pgvector).
//!
//! Owns `passage_embeddings`, which exists only where the database has the pgvector extension
//! (the migration's `guild_enable_vector()`; [`available`] says whether it does). A job embeds,
//! tenant by tenant, what is searchable and not embedded yet, or was embedded from other text or
//! by another model ([`pending`], then [`store`] what the model answered), and forgets what is no
//! longer searchable ([`prune`]). [`crate::retrieval`] then ranks passages by their cosine
//! distance to the question's embedding beside full-text search.
//!
//! A passage is embedded from the text retrieval shows: a section's title and text without tags,
//! a confirmed chat answer's question and answer, an accepted question and its mentor's answer;
//! at most [`MAX_TEXT`] characters. Its digest (MD5 of that text, a change detector, not a
//! security measure) tells when the text changed.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Bool, Integer, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_kernel::TenantId;
use uuid::Uuid;

use crate::AiError;

/// The most characters of a passage that are embedded.
pub const MAX_TEXT: i32 = 8000;

/// What is searchable in tenant `$1`: `kind`, `id`, `module_id`, `text`. Sections of PUBLISHED
/// modules, confirmed chat answers whose messages are not deleted, accepted questions about a
/// module — what [`crate::retrieval`] searches, before the asker's visibility is applied.
macro_rules! searchable_sql {
    () => {
        concat!(
            "WITH src AS ( \
            SELECT 'SECTION'::text AS kind, s.id, s.module_id, \
                   left(s.title || E'\\n' || ",
            section_text_sql!(),
            ", $2) AS text \
            FROM sections s \
            JOIN modules m ON m.tenant_id = s.tenant_id AND m.id = s.module_id \
                          AND m.status = 'PUBLISHED' \
            WHERE s.tenant_id = $1 \
            UNION ALL \
            SELECT 'CHAT_ANSWER', ca.id, ca.module_id, left(qm.body || E'\\n' || am.body, $2) \
            FROM chat_confirmed_answers ca ",
            confirmed_answer_messages_sql!(),
            "WHERE ca.tenant_id = $1 AND ca.module_id IS NOT NULL \
            UNION ALL \
            SELECT 'QUESTION_ANSWER', x.id, x.module_id, \
                   left(x.body || E'\\n' || coalesce(x.mentor_answer, ''), $2) \
            FROM questions x \
            WHERE x.tenant_id = $1 AND x.status = 'ACCEPTED' AND x.module_id IS NOT NULL) "
        )
    };
}

/// A passage to embed.
#[derive(Debug, Clone, PartialEq, Eq, diesel::QueryableByName)]
pub struct Pending {
    /// A [`crate::retrieval::PassageKind`] name.
    #[diesel(sql_type = Text)]
    pub kind: String,
    /// The section, confirmed answer or question.
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    /// Its module.
    #[diesel(sql_type = SqlUuid)]
    pub module_id: Uuid,
    /// What is embedded.
    #[diesel(sql_type = Text)]
    pub text: String,
    /// MD5 of `text`.
    #[diesel(sql_type = Text)]
    pub digest: String,
}

#[derive(diesel::QueryableByName)]
struct Exists {
    #[diesel(sql_type = Bool)]
    found: bool,
}

/// Whether this database has `passage_embeddings` (pgvector installed when it was migrated, or
/// `guild_enable_vector()` called since).
pub async fn available(conn: &mut AsyncPgConnection) -> Result<bool, AiError> {
    let row: Exists =
        guild_db::sql("SELECT to_regclass('passage_embeddings') IS NOT NULL AS found")
            .get_result(conn)
            .await?;
    Ok(row.found)
}

/// At most `limit` passages of `tenant` that `model` has not embedded as they read now, in a
/// stable order. Only where [`available`].
pub async fn pending(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    model: &str,
    limit: i64,
) -> Result<Vec<Pending>, AiError> {
    Ok(guild_db::sql(concat!(
        searchable_sql!(),
        "SELECT src.kind, src.id, src.module_id, src.text, md5(src.text) AS digest \
         FROM src \
         LEFT JOIN passage_embeddings e ON e.tenant_id = $1 AND e.kind = src.kind AND e.id = src.id \
         WHERE e.id IS NULL OR e.model <> $3 OR e.digest <> md5(src.text) \
            OR e.module_id <> src.module_id \
         ORDER BY src.kind, src.id LIMIT $4"
    ))
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<Integer, _>(MAX_TEXT)
    .bind::<Text, _>(model)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?)
}

/// `vector` as pgvector's text form (`[0.1,0.2]`), bound as text and cast in SQL.
pub fn vector_literal(vector: &[f32]) -> String {
    let mut out = String::with_capacity(vector.len() * 10 + 2);
    out.push('[');
    for (i, x) in vector.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        // Not-a-number and infinities are not vectors pgvector takes: zero stands in.
        let x = if x.is_finite() { *x } else { 0.0 };
        out.push_str(&x.to_string());
    }
    out.push(']');
    out
}

/// Stores what `model` answered for `passages` (a vector each, in order), replacing earlier
/// embeddings. Refuses a vector count that does not match, or an empty vector.
pub async fn store(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    model: &str,
    passages: &[Pending],
    vectors: &[Vec<f32>],
    now: DateTime<Utc>,
) -> Result<usize, AiError> {
    if passages.len() != vectors.len() || vectors.iter().any(Vec::is_empty) {
        return Err(AiError::from(
            guild_kernel::ports::ai::AiError::InvalidOutput(format!(
                "{} embeddings for {} passages, or an empty one",
                vectors.len(),
                passages.len()
            )),
        ));
    }
    let kinds: Vec<&str> = passages.iter().map(|p| p.kind.as_str()).collect();
    let ids: Vec<Uuid> = passages.iter().map(|p| p.id).collect();
    let modules: Vec<Uuid> = passages.iter().map(|p| p.module_id).collect();
    let digests: Vec<&str> = passages.iter().map(|p| p.digest.as_str()).collect();
    let literals: Vec<String> = vectors.iter().map(|v| vector_literal(v)).collect();
    Ok(guild_db::sql(
        "INSERT INTO passage_embeddings \
             (tenant_id, kind, id, module_id, model, digest, embedding, embedded_at) \
         SELECT $1, u.k, u.i, u.m, $2, u.d, u.v::vector, $3 \
         FROM unnest($4::text[], $5::uuid[], $6::uuid[], $7::text[], $8::text[]) AS u (k, i, m, d, v) \
         ON CONFLICT (tenant_id, kind, id) DO UPDATE SET \
             module_id = EXCLUDED.module_id, model = EXCLUDED.model, digest = EXCLUDED.digest, \
             embedding = EXCLUDED.embedding, embedded_at = EXCLUDED.embedded_at",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<Text, _>(model)
    .bind::<Timestamptz, _>(now)
    .bind::<Array<Text>, _>(&kinds)
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Array<SqlUuid>, _>(&modules)
    .bind::<Array<Text>, _>(&digests)
    .bind::<Array<Text>, _>(&literals)
    .execute(conn)
    .await?)
}

/// Deletes the embeddings of `tenant`'s passages that are no longer searchable (a section of a
/// module taken out of the catalog or deleted, a confirmation withdrawn, a message deleted);
/// how many.
pub async fn prune(conn: &mut AsyncPgConnection, tenant: TenantId) -> Result<usize, AiError> {
    Ok(guild_db::sql(concat!(
        searchable_sql!(),
        "DELETE FROM passage_embeddings e \
         WHERE e.tenant_id = $1 \
           AND NOT EXISTS (SELECT 1 FROM src WHERE src.kind = e.kind AND src.id = e.id)"
    ))
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<Integer, _>(MAX_TEXT)
    .execute(conn)
    .await?)
}

/// The job (every minute, where vector search is on) that embeds each tenant's new and changed
/// passages and forgets those no longer searchable.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct IndexJob {}

impl guild_db::jobs::Job for IndexJob {
    const KIND: &'static str = "ai.index_passages";
}

/// Passages embedded per model call.
pub const BATCH: i64 = 32;

/// Model calls per tenant per run of [`IndexJob`] (so one tenant's backlog does not hold the
/// others' for long; the rest waits for the next run).
pub const BATCHES_PER_RUN: usize = 8;

#[cfg(test)]
mod tests {
    use super::vector_literal;

    #[test]
    fn a_vector_is_written_in_pgvectors_text_form_with_zero_for_what_is_not_a_number() {
        assert_eq!(vector_literal(&[1.0, -0.25, 3.5e-3]), "[1,-0.25,0.0035]");
        assert_eq!(vector_literal(&[f32::NAN, f32::INFINITY, 2.0]), "[0,0,2]");
        assert_eq!(vector_literal(&[]), "[]");
    }
}
