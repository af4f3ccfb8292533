//! A member's private notes on sections and their bookmarks of sections.
//!
//! Owns `section_notes` and `section_bookmarks`. Both are strictly the member's own: every
//! statement filters by the actor as well as the tenant, so nobody else — administrators and
//! managers included, whatever their permissions — reads, lists, changes or deletes them; a
//! note of someone else is 404 `note_not_found`, as one that does not exist. The only copy that
//! leaves is the member's own personal data export (`guild_privacy`).
//!
//! A note or a bookmark is made on a section of a module the member may see
//! (`guild_learning::access::visible_on`; 404 `section_not_found` otherwise), and a note is
//! changed only while that is still so. Reading one's own notes and bookmarks needs no more: what
//! a member wrote stays theirs even when the module is no longer shown to them. A list by module
//! asks the module's visibility first (404 `module_not_found`).
//!
//! Notes are searchable in full text (`q`: `websearch_to_tsquery('english', …)` over a
//! generated `tsvector` with a GIN index). Limits: a note is 1 to [`MAX_NOTE_CHARS`]
//! characters, not blank (422 `validation_failed`); a member keeps at most [`MAX_NOTES`] notes
//! and [`MAX_BOOKMARKS`] bookmarks (422 `section_note_limit_reached`, `bookmark_limit_reached`), counted
//! under a per-member advisory lock so racing creations cannot pass them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::TryFutureExt;
use guild_db::DbError;
use guild_db::schema::{section_bookmarks, section_notes, sections};
use guild_kernel::{Actor, ErrorCode, FieldError, Page, PageRequest, TenantId, UserId};
use guild_learning::LearningError;
use guild_learning::access::visible_on;
use serde::Serialize;
use uuid::Uuid;

/// The longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 10_000;
/// Notes a member keeps at most.
pub const MAX_NOTES: i64 = 2_000;
/// Bookmarks a member keeps at most.
pub const MAX_BOOKMARKS: i64 = 1_000;
/// The longest search text.
pub const MAX_QUERY_CHARS: usize = 200;

/// What refuses a note or a bookmark.
#[derive(Debug, thiserror::Error)]
pub enum NoteError {
    /// No such note of the actor's (another member's, another tenant's, or none).
    #[error("note not found")]
    NoteNotFound,
    /// The member keeps as many notes as allowed.
    #[error("you have as many notes as allowed ({MAX_NOTES}); delete some first")]
    NoteLimitReached,
    /// The member keeps as many bookmarks as allowed.
    #[error("you have as many bookmarks as allowed ({MAX_BOOKMARKS}); remove some first")]
    BookmarkLimitReached,
    /// Invalid fields.
    #[error("the request has invalid fields")]
    Invalid(Vec<FieldError>),
    /// A learning rule refused (section or module not found, a bad cursor).
    #[error(transparent)]
    Learning(#[from] LearningError),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for NoteError {
    fn from(err: diesel::result::Error) -> Self {
        Self::Db(DbError::from(err))
    }
}

impl ErrorCode for NoteError {
    fn code(&self) -> &'static str {
        match self {
            Self::NoteNotFound => "note_not_found",
            Self::NoteLimitReached => "section_note_limit_reached",
            Self::BookmarkLimitReached => "bookmark_limit_reached",
            Self::Invalid(_) => "validation_failed",
            Self::Learning(e) => e.code(),
            Self::Db(e) => e.code(),
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::NoteNotFound => 404,
            Self::NoteLimitReached | Self::BookmarkLimitReached | Self::Invalid(_) => 422,
            Self::Learning(e) => e.status(),
            Self::Db(e) => e.status(),
        }
    }

    fn field_errors(&self) -> Vec<FieldError> {
        match self {
            Self::Invalid(errors) => errors.clone(),
            Self::Learning(e) => e.field_errors(),
            _ => Vec::new(),
        }
    }
}

/// A note, with the titles of its section and module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, QueryableByName)]
pub struct Note {
    /// Id.
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    /// The section it is on.
    #[diesel(sql_type = SqlUuid)]
    pub section_id: Uuid,
    /// The section's title.
    #[diesel(sql_type = Text)]
    pub section_title: String,
    /// The section's module.
    #[diesel(sql_type = SqlUuid)]
    pub module_id: Uuid,
    /// The module's title.
    #[diesel(sql_type = Text)]
    pub module_title: String,
    /// Its text.
    #[diesel(sql_type = Text)]
    pub body: String,
    /// When it was written.
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
}

/// A bookmark of a section, with the titles of the section and its module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, QueryableByName)]
pub struct Bookmark {
    /// The section.
    #[diesel(sql_type = SqlUuid)]
    pub section_id: Uuid,
    /// Its title.
    #[diesel(sql_type = Text)]
    pub section_title: String,
    /// Its module.
    #[diesel(sql_type = SqlUuid)]
    pub module_id: Uuid,
    /// The module's title.
    #[diesel(sql_type = Text)]
    pub module_title: String,
    /// When it was bookmarked.
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

/// Which of the actor's notes to list.
#[derive(Debug, Clone, Default)]
pub struct NoteFilter {
    /// Only this module's (which the actor must see).
    pub module: Option<Uuid>,
    /// Only this section's.
    pub section: Option<Uuid>,
    /// Only those matching this full-text search.
    pub q: Option<String>,
}

/// The module of `section` when the actor may see it, else `SectionNotFound` (another tenant's,
/// an invisible module's, or none).
async fn seen_section(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    section: Uuid,
) -> Result<Uuid, NoteError> {
    let module: Option<Uuid> = sections::table
        .find((actor.tenant_id.into_uuid(), section))
        .select(sections::module_id)
        .first(conn)
        .await
        .optional()?;
    let Some(module) = module else {
        return Err(LearningError::SectionNotFound.into());
    };
    match visible_on(&*conn, actor, module).await {
        Ok(_) => Ok(module),
        Err(LearningError::ModuleNotFound) => Err(LearningError::SectionNotFound.into()),
        Err(e) => Err(e.into()),
    }
}

/// The text of a note: not blank, at most [`MAX_NOTE_CHARS`] characters (kept as written).
fn body(text: &str) -> Result<&str, NoteError> {
    if text.trim().is_empty() {
        return Err(NoteError::Invalid(vec![FieldError::new(
            "body",
            "required",
            "a note needs some text",
        )]));
    }
    if text.chars().count() > MAX_NOTE_CHARS {
        return Err(NoteError::Invalid(vec![FieldError::new(
            "body",
            "length",
            format!("at most {MAX_NOTE_CHARS} characters"),
        )]));
    }
    Ok(text)
}

/// Serializes the member's creations of notes and bookmarks (their limits are counts).
async fn lock_member(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
) -> Result<(), NoteError> {
    guild_db::sql("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind::<Text, _>(format!("section_notes:{tenant}:{user}"))
        .execute(conn)
        .await?;
    Ok(())
}

const NOTE_COLUMNS: &str = "n.id, n.section_id, s.title AS section_title, n.module_id, \
     m.title AS module_title, n.body, n.created_at, n.updated_at \
     FROM section_notes n \
     JOIN sections s ON s.tenant_id = n.tenant_id AND s.id = n.section_id \
     JOIN modules m ON m.tenant_id = n.tenant_id AND m.id = n.module_id";

/// The actor's note `id`, or `NoteNotFound`.
async fn own_note(
    mut conn: &AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<Note, NoteError> {
    guild_db::sql(format!(
        "SELECT {NOTE_COLUMNS} WHERE n.tenant_id = $1 AND n.user_id = $2 AND n.id = $3"
    ))
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<SqlUuid, _>(id)
    .get_result(&mut conn)
    .await
    .optional()?
    .ok_or(NoteError::NoteNotFound)
}

/// Writes a note of the actor's on a section they may see.
pub async fn create(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    section: Uuid,
    text: &str,
    now: DateTime<Utc>,
) -> Result<Note, NoteError> {
    let text = body(text)?;
    let module = seen_section(conn, actor, section).await?;
    let tenant = actor.tenant_id;
    let user = actor.user_id;
    lock_member(conn, tenant, user).await?;
    let count: i64 = section_notes::table
        .filter(section_notes::tenant_id.eq(tenant.into_uuid()))
        .filter(section_notes::user_id.eq(user.into_uuid()))
        .count()
        .get_result(conn)
        .await?;
    if count >= MAX_NOTES {
        return Err(NoteError::NoteLimitReached);
    }
    let id = Uuid::now_v7();
    diesel::insert_into(section_notes::table)
        .values((
            section_notes::tenant_id.eq(tenant.into_uuid()),
            section_notes::id.eq(id),
            section_notes::user_id.eq(user.into_uuid()),
            section_notes::module_id.eq(module),
            section_notes::section_id.eq(section),
            section_notes::body.eq(text),
            section_notes::created_at.eq(now),
            section_notes::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    own_note(&*conn, actor, id).await
}

/// The actor's note `id` (anyone else's is `NoteNotFound`).
pub async fn get(conn: &AsyncPgConnection, actor: &Actor, id: Uuid) -> Result<Note, NoteError> {
    own_note(conn, actor, id).await
}

/// Replaces the text of the actor's note `id`, while its section is still one they may see.
pub async fn update(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    text: &str,
    now: DateTime<Utc>,
) -> Result<Note, NoteError> {
    let text = body(text)?;
    let note = own_note(&*conn, actor, id).await?;
    seen_section(conn, actor, note.section_id).await?;
    diesel::update(section_notes::table.find((actor.tenant_id.into_uuid(), id)))
        .filter(section_notes::user_id.eq(actor.user_id.into_uuid()))
        .set((
            section_notes::body.eq(text),
            section_notes::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    own_note(&*conn, actor, id).await
}

/// Deletes the actor's note `id` (anyone else's is `NoteNotFound`).
pub async fn delete(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<(), NoteError> {
    let deleted = diesel::delete(section_notes::table.find((actor.tenant_id.into_uuid(), id)))
        .filter(section_notes::user_id.eq(actor.user_id.into_uuid()))
        .execute(conn)
        .await?;
    if deleted == 0 {
        return Err(NoteError::NoteNotFound);
    }
    Ok(())
}

/// Refuses a search text longer than [`MAX_QUERY_CHARS`].
fn check_query(q: Option<&str>) -> Result<(), NoteError> {
    if let Some(q) = q
        && q.chars().count() > MAX_QUERY_CHARS
    {
        return Err(NoteError::Invalid(vec![FieldError::new(
            "q",
            "length",
            format!("at most {MAX_QUERY_CHARS} characters"),
        )]));
    }
    Ok(())
}

/// Whether the actor may see `module` (when a list is filtered by one): `ModuleNotFound` if not.
/// Its statements are sent at its first poll, so a list joins it with its own query and stays
/// one pipelined batch (`guild_db::tenant_read` sends nothing after the first answer).
async fn module_visible(
    conn: &AsyncPgConnection,
    actor: &Actor,
    module: Option<Uuid>,
) -> Result<(), NoteError> {
    if let Some(module) = module {
        visible_on(conn, actor, module).await?;
    }
    Ok(())
}

/// The start of a page after the cursor: `(created_at, id)` of the last row, or none.
fn after(page: &PageRequest) -> Result<(Option<DateTime<Utc>>, Option<Uuid>), NoteError> {
    match guild_learning::keyset(page)? {
        Some((key, id)) => Ok((Some(guild_learning::cursor_time(&key)?), Some(id))),
        None => Ok((None, None)),
    }
}

/// The actor's notes, newest first: all of them, a module's (which they must see), a section's,
/// or those matching a full-text search, a page at a time.
pub async fn list(
    mut conn: &AsyncPgConnection,
    actor: &Actor,
    filter: &NoteFilter,
    page: &PageRequest,
) -> Result<Page<Note>, NoteError> {
    // A NUL cannot reach PostgreSQL's text, and separates nothing a search could match.
    let q = filter.q.as_deref().map(|q| q.replace('\0', " "));
    let q = q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    check_query(q)?;
    let (at, id) = after(page)?;
    let limit = page.limit();
    let rows = guild_db::sql(format!(
        "SELECT {NOTE_COLUMNS} \
         WHERE n.tenant_id = $1 AND n.user_id = $2 \
           AND ($3::uuid IS NULL OR n.module_id = $3) \
           AND ($4::uuid IS NULL OR n.section_id = $4) \
           AND ($5::text IS NULL OR n.search @@ websearch_to_tsquery('english'::regconfig, $5)) \
           AND ($6::timestamptz IS NULL OR (n.created_at, n.id) < ($6, $7)) \
         ORDER BY n.created_at DESC, n.id DESC LIMIT $8"
    ))
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<Nullable<SqlUuid>, _>(filter.module)
    .bind::<Nullable<SqlUuid>, _>(filter.section)
    .bind::<Nullable<Text>, _>(q)
    .bind::<Nullable<Timestamptz>, _>(at)
    .bind::<Nullable<SqlUuid>, _>(id)
    .bind::<diesel::sql_types::BigInt, _>(i64::from(limit) + 1)
    .load::<Note>(&mut conn);
    let ((), rows) =
        futures_util::future::try_join(module_visible(conn, actor, filter.module), rows.err_into())
            .await?;
    Ok(Page::from_overfetch(rows, limit, |n: &Note| {
        guild_learning::keyset_key(guild_learning::time_key(n.created_at), n.id)
    }))
}

const BOOKMARK_COLUMNS: &str = "b.section_id, s.title AS section_title, b.module_id, \
     m.title AS module_title, b.created_at \
     FROM section_bookmarks b \
     JOIN sections s ON s.tenant_id = b.tenant_id AND s.id = b.section_id \
     JOIN modules m ON m.tenant_id = b.tenant_id AND m.id = b.module_id";

async fn own_bookmark(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    section: Uuid,
) -> Result<Option<Bookmark>, NoteError> {
    Ok(guild_db::sql(format!(
        "SELECT {BOOKMARK_COLUMNS} \
         WHERE b.tenant_id = $1 AND b.user_id = $2 AND b.section_id = $3"
    ))
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<SqlUuid, _>(section)
    .get_result(conn)
    .await
    .optional()?)
}

/// Bookmarks a section the actor may see; once (a second call answers the first bookmark).
pub async fn bookmark(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    section: Uuid,
    now: DateTime<Utc>,
) -> Result<Bookmark, NoteError> {
    let module = seen_section(conn, actor, section).await?;
    let tenant = actor.tenant_id;
    let user = actor.user_id;
    lock_member(conn, tenant, user).await?;
    if let Some(existing) = own_bookmark(conn, actor, section).await? {
        return Ok(existing);
    }
    let count: i64 = section_bookmarks::table
        .filter(section_bookmarks::tenant_id.eq(tenant.into_uuid()))
        .filter(section_bookmarks::user_id.eq(user.into_uuid()))
        .count()
        .get_result(conn)
        .await?;
    if count >= MAX_BOOKMARKS {
        return Err(NoteError::BookmarkLimitReached);
    }
    diesel::insert_into(section_bookmarks::table)
        .values((
            section_bookmarks::tenant_id.eq(tenant.into_uuid()),
            section_bookmarks::user_id.eq(user.into_uuid()),
            section_bookmarks::section_id.eq(section),
            section_bookmarks::module_id.eq(module),
            section_bookmarks::created_at.eq(now),
        ))
        .execute(conn)
        .await?;
    own_bookmark(conn, actor, section)
        .await?
        .ok_or(NoteError::Learning(LearningError::SectionNotFound))
}

/// Removes the actor's bookmark of `section` (nothing when there is none). The section need
/// not be visible any more: what is removed is the member's own.
pub async fn unbookmark(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    section: Uuid,
) -> Result<(), NoteError> {
    diesel::delete(section_bookmarks::table.find((
        actor.tenant_id.into_uuid(),
        actor.user_id.into_uuid(),
        section,
    )))
    .execute(conn)
    .await?;
    Ok(())
}

/// The actor's bookmarks, newest first (only a module's, which they must see), a page at a time.
pub async fn bookmarks(
    mut conn: &AsyncPgConnection,
    actor: &Actor,
    module: Option<Uuid>,
    page: &PageRequest,
) -> Result<Page<Bookmark>, NoteError> {
    let (at, id) = after(page)?;
    let limit = page.limit();
    let rows = guild_db::sql(format!(
        "SELECT {BOOKMARK_COLUMNS} \
         WHERE b.tenant_id = $1 AND b.user_id = $2 \
           AND ($3::uuid IS NULL OR b.module_id = $3) \
           AND ($4::timestamptz IS NULL OR (b.created_at, b.section_id) < ($4, $5)) \
         ORDER BY b.created_at DESC, b.section_id DESC LIMIT $6"
    ))
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<Nullable<SqlUuid>, _>(module)
    .bind::<Nullable<Timestamptz>, _>(at)
    .bind::<Nullable<SqlUuid>, _>(id)
    .bind::<diesel::sql_types::BigInt, _>(i64::from(limit) + 1)
    .load::<Bookmark>(&mut conn);
    let ((), rows) =
        futures_util::future::try_join(module_visible(conn, actor, module), rows.err_into())
            .await?;
    Ok(Page::from_overfetch(rows, limit, |b: &Bookmark| {
        guild_learning::keyset_key(guild_learning::time_key(b.created_at), b.section_id)
    }))
}
