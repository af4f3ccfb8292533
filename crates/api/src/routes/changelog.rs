//! The platform changelog ("what's new"): `/v1/changelog`. Every member lists it with an unread
//! marker; the platform owner publishes, edits and deletes entries, and each published entry
//! reaches every active member of every tenant as a SYSTEM notification (through the worker,
//! [`crate::reactions::changelog`]).

use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use guild_notifications::changelog::{self, Entry, EntryChanges, Listed, NewEntry};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::auth::CurrentUser;
use crate::ctx::Ctx;
use crate::ctx::Public;
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::routes::common::{AuthErrors, InputErrors, NotFound, PageOf, PageParams};
use crate::routes::segment;

/// Registers `/v1/changelog`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/changelog")
            .service(list_changelog)
            .service(get_changelog_unread_count)
            .service(mark_changelog_read)
            .service(publish_changelog_entry)
            .service(update_changelog_entry)
            .service(delete_changelog_entry),
    );
}

/// An entry of the changelog.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PlatformChangelogEntryDto {
    id: Uuid,
    /// The release it describes.
    version: String,
    title: String,
    /// What changed (plain text).
    summary: String,
    /// The release's date.
    date: NaiveDate,
    published_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Entry> for PlatformChangelogEntryDto {
    fn from(e: Entry) -> Self {
        Self {
            id: e.id,
            version: e.version,
            title: e.title,
            summary: e.summary,
            date: e.date,
            published_at: e.published_at,
            updated_at: e.updated_at,
        }
    }
}

/// An entry as you list it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PlatformChangelogListEntryDto {
    #[serde(flatten)]
    entry: PlatformChangelogEntryDto,
    /// Published since you last marked the changelog read.
    unread: bool,
}

impl From<Listed> for PlatformChangelogListEntryDto {
    fn from(l: Listed) -> Self {
        Self {
            entry: l.entry.into(),
            unread: l.unread,
        }
    }
}

/// The "what's new" badge.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PlatformChangelogUnreadDto {
    /// Entries published since you last marked the changelog read.
    unread: i64,
}

/// Your read marker.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PlatformChangelogReadDto {
    /// Entries published up to this time are read.
    seen_until: DateTime<Utc>,
}

/// List the changelog.
///
/// Any member: the platform's entries, newest first (by date), a page at a time, each with
/// `unread` when it was published since you last marked the changelog read.
#[utoipa::path(tag = "changelog", params(PageParams),
    responses((status = 200, body = PageOf<PlatformChangelogListEntryDto>, description = "The entries"), AuthErrors, InputErrors))]
#[get("/changelog")]
pub(crate) async fn list_changelog(
    ctx: Ctx,
    query: web::Query<PageParams>,
) -> Result<web::Json<PageOf<PlatformChangelogListEntryDto>>, ApiError> {
    let page = guild_kernel::PageRequest::from(&query.into_inner());
    let entries = ctx
        .read(async |conn| changelog::list(conn, &ctx.actor, &page).await)
        .await?;
    Ok(web::Json(PageOf::map(
        entries,
        PlatformChangelogListEntryDto::from,
    )))
}

/// Count the changelog entries you have not read.
///
/// Any member: the number for the "what's new" badge.
#[utoipa::path(tag = "changelog",
    responses((status = 200, body = PlatformChangelogUnreadDto, description = "Unread entries"), AuthErrors))]
#[get("/changelog/unread-count")]
pub(crate) async fn get_changelog_unread_count(
    ctx: Ctx,
) -> Result<web::Json<PlatformChangelogUnreadDto>, ApiError> {
    let unread = ctx
        .read(async |conn| changelog::unread_count(conn, &ctx.actor).await)
        .await?;
    Ok(web::Json(PlatformChangelogUnreadDto { unread }))
}

/// Mark the changelog read.
///
/// Any member: every entry published so far becomes read for you (your marker never moves
/// back); entries published later are unread. 403 `not_a_member` for a platform owner acting in
/// a tenant they do not belong to.
#[utoipa::path(tag = "changelog",
    responses((status = 200, body = PlatformChangelogReadDto, description = "Your marker"), AuthErrors))]
#[post("/changelog/read")]
pub(crate) async fn mark_changelog_read(
    ctx: Ctx,
) -> Result<web::Json<PlatformChangelogReadDto>, ApiError> {
    let now = ctx.now;
    let seen_until = ctx
        .write(async |conn| changelog::mark_read(conn, &ctx.actor, now).await)
        .await?;
    Ok(web::Json(PlatformChangelogReadDto { seen_until }))
}

/// A new changelog entry.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "version": "2.4",
    "title": "Background exports",
    "summary": "The compliance matrix exports in the background and tells you when it is ready.",
    "date": "2026-12-08"
}))]
pub(crate) struct PublishPlatformChangelogEntry {
    /// The release it describes (`2.4`, `2026.12`).
    #[validate(
        length(min = 1, max = 50),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 50, pattern = "\\S")]
    version: String,
    /// One line.
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    title: String,
    /// What changed (plain text).
    #[validate(
        length(min = 1, max = 5000),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 5000, pattern = "\\S")]
    summary: String,
    /// The release's date; today (UTC) when left out.
    date: Option<NaiveDate>,
}

/// Publish a changelog entry.
///
/// For the platform owner only (403 `forbidden` for anyone else; API keys are refused with 403
/// `api_key_not_permitted`). Every active member of every tenant then gets a SYSTEM
/// notification linking to it, once, delivered by the worker in batches.
#[utoipa::path(tag = "changelog", request_body = PublishPlatformChangelogEntry,
    responses((status = 201, body = PlatformChangelogEntryDto, description = "Published"), AuthErrors, InputErrors))]
#[post("/changelog")]
pub(crate) async fn publish_changelog_entry(
    cx: Public,
    user: CurrentUser,
    body: ValidJson<PublishPlatformChangelogEntry>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let input = NewEntry {
        version: b.version,
        title: b.title,
        summary: b.summary,
        date: b.date,
    };
    let mut conn = cx.conn().await?;
    let entry = changelog::publish(&mut conn, user.user_id, &input, cx.now).await?;
    Ok(HttpResponse::Created().json(PlatformChangelogEntryDto::from(entry)))
}

/// Changes to a changelog entry; fields left out are kept.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "title": "Exports in the background" }))]
pub(crate) struct UpdatePlatformChangelogEntry {
    /// The release it describes.
    #[validate(
        length(min = 1, max = 50),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 50, pattern = "\\S")]
    version: Option<String>,
    /// One line.
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    title: Option<String>,
    /// What changed (plain text).
    #[validate(
        length(min = 1, max = 5000),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 5000, pattern = "\\S")]
    summary: Option<String>,
    /// The release's date.
    date: Option<NaiveDate>,
}

/// Edit a changelog entry.
///
/// For the platform owner only (403 `forbidden` for anyone else). Members are not notified
/// again; 404 `changelog_entry_not_found`.
#[utoipa::path(tag = "changelog", request_body = UpdatePlatformChangelogEntry,
    params(("entry_id" = Uuid, Path, description = "The entry")),
    responses((status = 200, body = PlatformChangelogEntryDto, description = "Updated"), AuthErrors, InputErrors, NotFound))]
#[patch("/changelog/{entry_id}")]
pub(crate) async fn update_changelog_entry(
    cx: Public,
    user: CurrentUser,
    path: web::Path<Uuid>,
    body: ValidJson<UpdatePlatformChangelogEntry>,
) -> Result<web::Json<PlatformChangelogEntryDto>, ApiError> {
    let b = body.into_inner();
    let changes = EntryChanges {
        version: b.version,
        title: b.title,
        summary: b.summary,
        date: b.date,
    };
    let mut conn = cx.conn().await?;
    let entry =
        changelog::update(&mut conn, user.user_id, path.into_inner(), &changes, cx.now).await?;
    Ok(web::Json(entry.into()))
}

/// Delete a changelog entry.
///
/// For the platform owner only (403 `forbidden` for anyone else). Notifications already
/// delivered stay; 404 `changelog_entry_not_found`.
#[utoipa::path(tag = "changelog",
    params(("entry_id" = Uuid, Path, description = "The entry")),
    responses((status = 204, description = "Deleted"), AuthErrors, NotFound))]
#[delete("/changelog/{entry_id}")]
pub(crate) async fn delete_changelog_entry(
    cx: Public,
    user: CurrentUser,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = cx.conn().await?;
    changelog::delete(&mut conn, user.user_id, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
