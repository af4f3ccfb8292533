//! `/v1/me/notes` and `/v1/me/bookmarks`: the member's private notes on sections and their
//! bookmarks of sections (`guild_progress::notes`). Nobody else reads them, administrators and
//! managers included: every operation is on the caller's own.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use chrono::{DateTime, Utc};
use guild_kernel::PageRequest;
use guild_progress::notes::{self, Bookmark, Note, NoteFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::idempotency::{Idempotency, IdempotencyHeader, once};
use crate::routes::common::{AuthErrors, InputErrors, NotFound, PageOf, PageParams};

/// One of your notes.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NoteDto {
    id: Uuid,
    section_id: Uuid,
    section_title: String,
    module_id: Uuid,
    module_title: String,
    /// Your text.
    body: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Note> for NoteDto {
    fn from(n: Note) -> Self {
        Self {
            id: n.id,
            section_id: n.section_id,
            section_title: n.section_title,
            module_id: n.module_id,
            module_title: n.module_title,
            body: n.body,
            created_at: n.created_at,
            updated_at: n.updated_at,
        }
    }
}

/// A new note.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "section_id": "0190a0b2-7e55-7c3e-9d6b-52f1e1b8c7a0",
    "body": "Check the ladder's angle: 1 out for every 4 up."
}))]
pub(crate) struct CreateNoteBody {
    /// The section, of a module you may see.
    section_id: Uuid,
    /// 1 to 10,000 characters, not blank.
    #[validate(length(min = 1, max = 10000))]
    #[schema(min_length = 1, max_length = 10000, pattern = "\\S")]
    body: String,
}

/// A note's new text.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "body": "Check the ladder's angle (1:4) and its feet." }))]
pub(crate) struct UpdateNoteBody {
    /// 1 to 10,000 characters, not blank.
    #[validate(length(min = 1, max = 10000))]
    #[schema(min_length = 1, max_length = 10000, pattern = "\\S")]
    body: String,
}

/// Which of your notes to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct NoteQuery {
    /// Only this module's (404 `module_not_found` for one you may not see).
    module_id: Option<Uuid>,
    /// Only this section's.
    section_id: Option<Uuid>,
    /// Full-text search in your notes (English stemming; quoted phrases, `or`, `-word`), at most
    /// 200 characters.
    #[param(max_length = 200)]
    q: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200, default = 50)]
    #[serde(default, deserialize_with = "crate::routes::common::page_limit")]
    limit: Option<u32>,
    /// The previous page's `next_cursor`.
    #[param(max_length = 1024)]
    cursor: Option<String>,
}

/// Write a note on a section.
///
/// A private note of yours on a section of a module you may see (404 `section_not_found`
/// otherwise). Nobody else reads it, administrators and your manager included. At most 2,000
/// notes (422 `section_note_limit_reached`). With an `Idempotency-Key`, a retry creates nothing more
/// and answers the first response again.
#[utoipa::path(
    tag = "notes",
    params(IdempotencyHeader),
    request_body = CreateNoteBody,
    responses((status = 201, body = NoteDto, description = "Written"), AuthErrors, InputErrors, NotFound)
)]
#[post("/me/notes")]
pub(crate) async fn create_my_note(
    ctx: Ctx,
    key: Idempotency,
    body: ValidJson<CreateNoteBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let now = ctx.now;
    once(&ctx, &key, StatusCode::CREATED, async |conn| {
        notes::create(conn, &ctx.actor, b.section_id, &b.body, now)
            .await
            .map(NoteDto::from)
    })
    .await
}

/// List your notes.
///
/// Newest first: all of them, a module's, a section's, or those matching a full-text search
/// (`q`). A page at a time.
#[utoipa::path(
    tag = "notes",
    params(NoteQuery),
    responses((status = 200, body = PageOf<NoteDto>, description = "A page of your notes"), AuthErrors, InputErrors, NotFound)
)]
#[get("/me/notes")]
pub(crate) async fn list_my_notes(
    ctx: Ctx,
    query: web::Query<NoteQuery>,
) -> Result<web::Json<PageOf<NoteDto>>, ApiError> {
    let q = query.into_inner();
    let filter = NoteFilter {
        module: q.module_id,
        section: q.section_id,
        q: q.q,
    };
    let page = PageRequest::from(&PageParams {
        limit: q.limit,
        cursor: q.cursor,
    });
    let rows = ctx
        .read(async |conn| notes::list(conn, &ctx.actor, &filter, &page).await)
        .await?;
    Ok(web::Json(PageOf::map(rows, NoteDto::from)))
}

/// Get one of your notes.
///
/// 404 `note_not_found` for a note that is not yours.
#[utoipa::path(
    tag = "notes",
    params(("note_id" = Uuid, Path, description = "The note")),
    responses((status = 200, body = NoteDto, description = "Your note"), AuthErrors, NotFound)
)]
#[get("/me/notes/{note_id}")]
pub(crate) async fn get_my_note(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<NoteDto>, ApiError> {
    let id = path.into_inner();
    let note = ctx
        .read(async |conn| notes::get(conn, &ctx.actor, id).await)
        .await?;
    Ok(web::Json(note.into()))
}

/// Update one of your notes.
///
/// Replaces its text while its section is still one you may see (404 `section_not_found`
/// otherwise); 404 `note_not_found` for a note that is not yours.
#[utoipa::path(
    tag = "notes",
    params(("note_id" = Uuid, Path, description = "The note")),
    request_body = UpdateNoteBody,
    responses((status = 200, body = NoteDto, description = "Updated"), AuthErrors, InputErrors, NotFound)
)]
#[patch("/me/notes/{note_id}")]
pub(crate) async fn update_my_note(
    ctx: Ctx,
    path: web::Path<Uuid>,
    body: ValidJson<UpdateNoteBody>,
) -> Result<web::Json<NoteDto>, ApiError> {
    let id = path.into_inner();
    let text = body.into_inner().body;
    let note = ctx
        .write(async |conn| notes::update(conn, &ctx.actor, id, &text, ctx.now).await)
        .await?;
    Ok(web::Json(note.into()))
}

/// Delete one of your notes.
///
/// 404 `note_not_found` for a note that is not yours.
#[utoipa::path(
    tag = "notes",
    params(("note_id" = Uuid, Path, description = "The note")),
    responses((status = 204, description = "Deleted"), AuthErrors, NotFound)
)]
#[delete("/me/notes/{note_id}")]
pub(crate) async fn delete_my_note(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    ctx.write(async |conn| notes::delete(conn, &ctx.actor, id).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// One of your bookmarks.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BookmarkDto {
    section_id: Uuid,
    section_title: String,
    module_id: Uuid,
    module_title: String,
    created_at: DateTime<Utc>,
}

impl From<Bookmark> for BookmarkDto {
    fn from(b: Bookmark) -> Self {
        Self {
            section_id: b.section_id,
            section_title: b.section_title,
            module_id: b.module_id,
            module_title: b.module_title,
            created_at: b.created_at,
        }
    }
}

/// Which of your bookmarks to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct BookmarkQuery {
    /// Only this module's (404 `module_not_found` for one you may not see).
    module_id: Option<Uuid>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200, default = 50)]
    #[serde(default, deserialize_with = "crate::routes::common::page_limit")]
    limit: Option<u32>,
    /// The previous page's `next_cursor`.
    #[param(max_length = 1024)]
    cursor: Option<String>,
}

/// Bookmark a section (idempotent).
///
/// A section of a module you may see (404 `section_not_found` otherwise); bookmarking it again
/// answers the first bookmark. Private, like your notes. At most 1,000 bookmarks (422
/// `bookmark_limit_reached`).
#[utoipa::path(
    tag = "notes",
    params(("section_id" = Uuid, Path, description = "The section")),
    responses((status = 200, body = BookmarkDto, description = "Bookmarked"), AuthErrors, InputErrors, NotFound)
)]
#[put("/me/bookmarks/{section_id}")]
pub(crate) async fn add_my_bookmark(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<BookmarkDto>, ApiError> {
    let section = path.into_inner();
    let bookmark = ctx
        .write(async |conn| notes::bookmark(conn, &ctx.actor, section, ctx.now).await)
        .await?;
    Ok(web::Json(bookmark.into()))
}

/// Remove a bookmark (idempotent).
///
/// Nothing happens when the section is not bookmarked.
#[utoipa::path(
    tag = "notes",
    params(("section_id" = Uuid, Path, description = "The section")),
    responses((status = 204, description = "Removed"), AuthErrors)
)]
#[delete("/me/bookmarks/{section_id}")]
pub(crate) async fn remove_my_bookmark(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let section = path.into_inner();
    ctx.write(async |conn| notes::unbookmark(conn, &ctx.actor, section).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// List your bookmarks.
///
/// Newest first, all of them or a module's; a page at a time.
#[utoipa::path(
    tag = "notes",
    params(BookmarkQuery),
    responses((status = 200, body = PageOf<BookmarkDto>, description = "A page of your bookmarks"), AuthErrors, InputErrors, NotFound)
)]
#[get("/me/bookmarks")]
pub(crate) async fn list_my_bookmarks(
    ctx: Ctx,
    query: web::Query<BookmarkQuery>,
) -> Result<web::Json<PageOf<BookmarkDto>>, ApiError> {
    let q = query.into_inner();
    let module = q.module_id;
    let page = PageRequest::from(&PageParams {
        limit: q.limit,
        cursor: q.cursor,
    });
    let rows = ctx
        .read(async |conn| notes::bookmarks(conn, &ctx.actor, module, &page).await)
        .await?;
    Ok(web::Json(PageOf::map(rows, BookmarkDto::from)))
}
