//! Personal data: everything Guild holds about one member in one tenant, as one JSON document
//! (the member's right of access; erasure is `guild_tenancy::members::erase_account`).
//!
//! The document is the account (without its password hash), then one section per table that
//! names the member ([`SECTIONS`]): each of their rows as the table stores it, without the tenant
//! id and without secrets (token and secret hashes, sealed values, storage keys, search vectors).
//! What other people wrote about the member for themselves is not theirs to read and stays out:
//! a coach's private and quick notes (sealed), and the audit entries of others' actions.
//!
//! This crate only reads, with read-only SQL over other crates' tables, in the caller's tenant
//! transaction (row-level security holds). The table and column names come from [`SECTIONS`]
//! only, never from input.

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Array, Jsonb, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::DbError;
use guild_kernel::{Actor, ErrorCode};
use serde_json::{Map, Value, json};

/// The document's format; a new version only adds sections or fields.
pub const FORMAT: &str = "guild.personal-data/1";

/// Rows at most per section: a longer history is cut there and the section says so.
pub const SECTION_ROWS: i64 = 100_000;

/// One table that names the member.
#[derive(Debug, Clone, Copy)]
pub struct Section {
    /// Its name in the document.
    pub name: &'static str,
    /// The table.
    pub table: &'static str,
    /// The column naming the member.
    pub column: &'static str,
    /// Columns left out besides `tenant_id`.
    pub drop: &'static [&'static str],
}

const fn section(name: &'static str, table: &'static str, column: &'static str) -> Section {
    Section {
        name,
        table,
        column,
        drop: &[],
    }
}

const fn without(mut s: Section, drop: &'static [&'static str]) -> Section {
    s.drop = drop;
    s
}

/// Every table that names the member, in the document's order.
pub const SECTIONS: &[Section] = &[
    section("membership", "memberships", "user_id"),
    section("groups", "user_groups", "user_id"),
    section("permissions", "user_permissions", "user_id"),
    section("enrolments", "enrolments", "user_id"),
    section("module_access", "user_module_access", "user_id"),
    section("pinned_modules", "user_pinned_modules", "user_id"),
    section("section_completions", "section_completions", "user_id"),
    section("video_progress", "video_progress", "user_id"),
    section("last_sections", "last_sections", "user_id"),
    without(
        section("section_notes", "section_notes", "user_id"),
        &["search"],
    ),
    section("section_bookmarks", "section_bookmarks", "user_id"),
    section("module_completions", "module_completions", "user_id"),
    section("self_assessments", "module_self_assessments", "user_id"),
    section("path_completions", "path_completions", "user_id"),
    section("assignment_cycles", "assignment_cycles", "user_id"),
    section("deadline_reminders", "deadline_reminders", "user_id"),
    section("progress_overrides", "progress_overrides", "user_id"),
    section("quiz_attempts", "quiz_attempts", "user_id"),
    section(
        "assignment_submissions",
        "assignment_submissions",
        "user_id",
    ),
    section("assignment_files", "assignment_files", "user_id"),
    section("certificates", "certificates", "user_id"),
    section("path_certificates", "path_certificates", "user_id"),
    section("xp_transactions", "xp_transactions", "user_id"),
    section("xp_balance", "user_xp_balances", "user_id"),
    section("xp_period_totals", "xp_period_totals", "user_id"),
    section("redemptions", "reward_redemptions", "user_id"),
    section("notifications", "notifications", "user_id"),
    section("notification_digests", "notification_digests", "user_id"),
    section("email_preferences", "email_preferences", "user_id"),
    section("presence_preferences", "presence_preferences", "user_id"),
    section(
        "announcements_received",
        "announcement_recipients",
        "user_id",
    ),
    section("changelog_reads", "changelog_reads", "user_id"),
    section("chat_messages", "chat_messages", "author_id"),
    section("chat_read_markers", "chat_read_markers", "user_id"),
    section("discussion_threads", "discussion_threads", "author_id"),
    section("discussion_posts", "discussion_posts", "author_id"),
    section("discussion_follows", "discussion_follows", "user_id"),
    section("feed_posts", "feed_posts", "author_id"),
    section("feed_replies", "feed_replies", "author_id"),
    section("feed_saves", "feed_saves", "user_id"),
    section("feed_seen", "feed_seen", "user_id"),
    section("suggestions", "suggestions", "author_id"),
    section("suggestion_comments", "suggestion_comments", "author_id"),
    section("suggestion_votes", "suggestion_votes", "user_id"),
    section("reactions", "reactions", "user_id"),
    without(section("questions", "questions", "asker_id"), &["search"]),
    section("question_turns", "question_turns", "user_id"),
    section(
        "question_email_replies",
        "question_email_replies",
        "user_id",
    ),
    section("ai_usage", "ai_usage", "user_id"),
    section("mentor_away", "mentor_away", "user_id"),
    // The text extracted from the file is the document's, not the member's.
    without(
        section("module_builds", "module_builds", "user_id"),
        &["extracted"],
    ),
    section("mentored_modules", "module_mentors", "user_id"),
    section(
        "live_event_registrations",
        "live_event_registrations",
        "user_id",
    ),
    section("live_events_hosted", "live_event_hosts", "user_id"),
    without(
        section("coaching_sessions", "coaching_sessions", "coachee_id"),
        &["private_notes_sealed"],
    ),
    section(
        "coaching_action_items",
        "coaching_action_items",
        "coachee_id",
    ),
    section("coaches", "coaching_relationships", "coachee_id"),
    section("usage_sessions", "usage_sessions", "user_id"),
    without(
        section("calendar_feed", "calendar_feeds", "user_id"),
        &["secret_hash"],
    ),
    without(
        section("uploads", "media_assets", "uploaded_by"),
        &["blob_key"],
    ),
    section("jobs", "member_jobs", "user_id"),
    section("actions_audited", "audit_log", "actor_id"),
];

/// What building the document may fail with.
#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Only a member acting for themselves (not an API key without `act_as_member`, not an owner
    /// looking into a tenant).
    #[error("forbidden")]
    Forbidden,
}

impl From<diesel::result::Error> for PrivacyError {
    fn from(err: diesel::result::Error) -> Self {
        Self::Db(DbError::from(err))
    }
}

impl ErrorCode for PrivacyError {
    fn code(&self) -> &'static str {
        match self {
            Self::Db(e) => e.code(),
            Self::Forbidden => "forbidden",
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::Db(e) => e.status(),
            Self::Forbidden => 403,
        }
    }
}

#[derive(QueryableByName)]
struct Rows {
    #[diesel(sql_type = Jsonb)]
    rows: Value,
}

/// The SQL reading `section`'s rows of member `$2` in tenant `$1`, without the columns `$3`,
/// at most `$4` (+1, to tell a cut history).
fn section_sql(section: &Section) -> String {
    format!(
        "SELECT coalesce(jsonb_agg(to_jsonb(t) - $3::text[]), '[]'::jsonb) AS rows \
           FROM (SELECT * FROM {table} WHERE tenant_id = $1 AND {column} = $2 LIMIT $4) t",
        table = section.table,
        column = section.column,
    )
}

/// Everything about the actor in their tenant, as of `now` (in the caller's tenant transaction).
pub async fn export(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Value, PrivacyError> {
    if actor.impersonating || !actor.acts_as_member() {
        return Err(PrivacyError::Forbidden);
    }
    let (tenant, user) = (actor.tenant_id.into_uuid(), actor.user_id.into_uuid());
    let account: Rows = guild_db::sql(
        "SELECT coalesce(jsonb_agg(jsonb_build_object('id', id, 'email', email, 'name', name, \
                'global_role', global_role, 'email_verified_at', email_verified_at, \
                'password_changed_at', password_changed_at, 'created_at', created_at, \
                'updated_at', updated_at)), '[]'::jsonb) AS rows FROM users WHERE id = $1",
    )
    .bind::<SqlUuid, _>(user)
    .get_result(conn)
    .await?;
    let tenant_row: Rows = guild_db::sql(
        "SELECT coalesce(jsonb_agg(jsonb_build_object('id', id, 'name', name, 'slug', slug)), \
                '[]'::jsonb) AS rows FROM tenants WHERE id = $1",
    )
    .bind::<SqlUuid, _>(tenant)
    .get_result(conn)
    .await?;
    let mut sections = Map::new();
    let mut truncated = Vec::new();
    let mut records = 0_usize;
    for section in SECTIONS {
        let mut drop = vec!["tenant_id"];
        drop.extend_from_slice(section.drop);
        let found: Rows = guild_db::sql(section_sql(section))
            .bind::<SqlUuid, _>(tenant)
            .bind::<SqlUuid, _>(user)
            .bind::<Array<Text>, _>(&drop)
            .bind::<diesel::sql_types::BigInt, _>(SECTION_ROWS + 1)
            .get_result(conn)
            .await?;
        let mut rows = match found.rows {
            Value::Array(rows) => rows,
            _ => Vec::new(),
        };
        if rows.len() > usize::try_from(SECTION_ROWS).unwrap_or(usize::MAX) {
            rows.truncate(usize::try_from(SECTION_ROWS).unwrap_or(usize::MAX));
            truncated.push(section.name);
        }
        records += rows.len();
        sections.insert(section.name.to_owned(), Value::Array(rows));
    }
    Ok(json!({
        "format": FORMAT,
        "exported_at": now,
        "tenant": tenant_row.rows.get(0).cloned().unwrap_or(Value::Null),
        "account": account.rows.get(0).cloned().unwrap_or(Value::Null),
        "records": records,
        "truncated": truncated,
        "sections": sections,
    }))
}

#[cfg(test)]
mod tests;
