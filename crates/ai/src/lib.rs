//! AI: what a tenant spends on models, and questions members ask — answered first from the
//! knowledge base, then by a module's mentor.
//!
//! - [`settings`] owns `ai_settings`: the monthly token budget (the plan's default unless an
//!   admin sets one), the questions a member may ask a day, the open questions a mentor holds
//!   at most, and how long an assigned question may wait to be picked up before it moves on.
//! - [`usage`] owns `ai_usage`: one row per model call (feature, member, model, tokens in and
//!   out, latency, outcome), the month's totals, and the budget check every call passes first
//!   (429 `ai_budget_exhausted` once the month's tokens reach the budget).
//! - [`retrieval`] ranks passages with PostgreSQL full-text search (`websearch_to_tsquery`, its
//!   terms OR-ed, ranked by `ts_rank`, the best 50 again by `ts_rank_cd`) over what the asker
//!   may see: sections of PUBLISHED modules visible to them
//!   (`guild_learning::access::visible_published`, the one visibility rule), answers a mentor
//!   confirmed in those modules' chat rooms, and earlier accepted question answers. Sections
//!   and accepted questions carry a generated `tsvector` column with a GIN index. With
//!   pgvector and an embedding model, vector search over the same passages is fused with it.
//! - [`embeddings`] owns `passage_embeddings` (only where the database has pgvector): which
//!   passages are to be embedded (new, changed, or by another model), storing their vectors,
//!   forgetting those no longer searchable.
//! - [`prompts`] turns a question and its passages into a generation request whose passages are
//!   fenced as data, and reads the model's answer back: text (sanitized HTML) and citations of
//!   the passages given, nothing else.
//! - [`questions`] owns `questions`, `question_turns`, `mentor_away` and
//!   `question_email_replies`: asking (a daily limit under a per-member lock), marking an answer
//!   helpful, escalating to the module's mentors by round robin (skipping the asker, mentors away
//!   now, and mentors at their open-question limit), picking up, answering (by email too, once
//!   per message), accepting (never one's own answer), re-assigning questions
//!   not picked up in time, and who sees a question (its asker, its assigned or answering
//!   mentor, managers of the asker; anyone else gets 404).
//! - [`assist`]: the editor assistants (titles and descriptions, tags, quiz questions from a
//!   section, a cover image's prompt) and grading suggestions (an essay's points, a submission's
//!   rubric levels or score): the material they are shown, read under the rules of what it is
//!   about, fenced as data, and the model's suggestions read back as plain text within the
//!   bounds of what they suggest. Suggestions only: nothing here writes.
//! - [`builds`] owns `module_builds` and `module_build_citations`: the module builder's builds
//!   (who may start one, on which file, how many at once, retry of a failed one with the text it
//!   kept) and where each built section and question came from; [`builder`] makes the draft — from
//!   the document's headings without a model, or a fenced prompt, a JSON schema and the reading of
//!   the answer with one.
//! - [`demo`]: the demo tenant's questions.
//!
//! Nothing here calls a model: the api layer does (through the kernel's `AiModel` port), between
//! transactions, and records each call here. This crate depends on `kernel`, `db` and `learning`
//! (module visibility, mentors, the HTML sanitizer); it reads social's confirmed chat answers
//! (`chat_confirmed_answers`, `chat_messages`) and tenancy's identity tables in SQL.

/// SQL: the text of section `s` without its tags, its whitespace collapsed — what a section
/// passage shows and is embedded as.
macro_rules! section_text_sql {
    () => {
        "btrim(regexp_replace(regexp_replace(s.content_html, '<[^>]*>', ' ', 'g'), \
              '\\s+', ' ', 'g'))"
    };
}

/// SQL: the question (`qm`) and answer (`am`) messages of the confirmed chat answer `ca`. A
/// confirmation counts as a passage only while neither message is deleted.
macro_rules! confirmed_answer_messages_sql {
    () => {
        "JOIN chat_messages qm ON qm.tenant_id = ca.tenant_id AND qm.id = ca.question_id \
                             AND qm.deleted_at IS NULL \
         JOIN chat_messages am ON am.tenant_id = ca.tenant_id AND am.id = ca.answer_id \
                             AND am.deleted_at IS NULL "
    };
}

pub mod assist;
pub mod builder;
pub mod builds;
pub mod demo;
pub mod embeddings;
pub mod error;
pub mod prompts;
pub mod questions;
pub mod retrieval;
pub mod settings;
pub mod usage;

#[cfg(test)]
mod tests;

pub use error::AiError;
