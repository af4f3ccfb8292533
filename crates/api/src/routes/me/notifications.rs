//! Your in-app notifications in the current tenant: `/v1/me/notifications`.

use actix_web::{get, post, web};
use chrono::{DateTime, Utc};
use guild_notifications::inbox::{self, InboxFilter};
use guild_notifications::{EntityKind, Notification, NotificationType};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::routes::common::{AuthErrors, InputErrors, NotFound, PageOf};

/// A notification.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NotificationDto {
    id: Uuid,
    /// What it is about.
    kind: NotificationType,
    /// One line for the list.
    title: String,
    /// The details (plain text), or empty.
    body: String,
    /// What it links to, if anything.
    link: Option<LinkDto>,
    created_at: DateTime<Utc>,
    /// When you read it; absent while unread.
    read_at: Option<DateTime<Utc>>,
    /// When you archived it; absent while in the inbox.
    archived_at: Option<DateTime<Utc>>,
}

/// The entity a notification links to.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LinkDto {
    kind: EntityKind,
    id: Uuid,
}

impl From<Notification> for NotificationDto {
    fn from(n: Notification) -> Self {
        Self {
            id: n.id,
            kind: n.kind,
            title: n.title,
            body: n.body,
            link: n.link.map(|l| LinkDto {
                kind: l.kind,
                id: l.id,
            }),
            created_at: n.created_at,
            read_at: n.read_at,
            archived_at: n.archived_at,
        }
    }
}

/// Which notifications, and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct NotificationsQuery {
    /// Only unread ones (default false).
    #[serde(default)]
    unread: bool,
    /// The archive instead of the inbox (default false).
    #[serde(default)]
    archived: bool,
    /// Rows per page: 1 to 200, 50 when left out.
    #[param(minimum = 1, maximum = 200, default = 50)]
    #[serde(default, deserialize_with = "crate::routes::common::page_limit")]
    limit: Option<u32>,
    /// The previous page's `next_cursor`.
    #[param(max_length = 1024)]
    cursor: Option<String>,
}

/// The unread badge.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UnreadCountDto {
    /// Unread notifications in the inbox (the archive not counted).
    unread: i64,
}

/// How many notifications were marked read.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MarkedReadDto {
    marked: usize,
}

/// List your notifications.
///
/// Any member: your inbox (or, with `archived=true`, your archive), newest first, a page at a
/// time; `unread=true` keeps only those you have not read.
#[utoipa::path(tag = "notifications", params(NotificationsQuery),
    responses((status = 200, body = PageOf<NotificationDto>, description = "Your notifications"), AuthErrors, InputErrors))]
#[get("/me/notifications")]
pub(crate) async fn list_my_notifications(
    ctx: Ctx,
    query: web::Query<NotificationsQuery>,
) -> Result<web::Json<PageOf<NotificationDto>>, ApiError> {
    let q = query.into_inner();
    let filter = InboxFilter {
        unread_only: q.unread,
        archived: q.archived,
    };
    let page = guild_kernel::PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    let found = ctx
        .read(async |conn| inbox::list(conn, &ctx.actor, filter, &page).await)
        .await?;
    Ok(web::Json(PageOf::map(found, NotificationDto::from)))
}

/// Count your unread notifications.
///
/// Any member: the number for the badge.
#[utoipa::path(tag = "notifications",
    responses((status = 200, body = UnreadCountDto, description = "Unread notifications"), AuthErrors))]
#[get("/me/notifications/unread-count")]
pub(crate) async fn get_my_unread_notification_count(
    ctx: Ctx,
) -> Result<web::Json<UnreadCountDto>, ApiError> {
    let unread = ctx
        .read(async |conn| inbox::unread_count(conn, &ctx.actor).await)
        .await?;
    Ok(web::Json(UnreadCountDto { unread }))
}

/// Mark one of your notifications read.
///
/// Any member, their own notifications only (404 `notification_not_found` otherwise). Reading it
/// again keeps the first `read_at`.
#[utoipa::path(tag = "notifications",
    params(("notification_id" = Uuid, Path, description = "The notification's id")),
    responses((status = 200, body = NotificationDto, description = "The notification, read"), AuthErrors, NotFound))]
#[post("/me/notifications/{notification_id}/read")]
pub(crate) async fn mark_notification_read(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<NotificationDto>, ApiError> {
    let id = path.into_inner();
    let now = ctx.now;
    let read = ctx
        .write(async |conn| inbox::mark_read(conn, &ctx.actor, id, now).await)
        .await?;
    Ok(web::Json(read.into()))
}

/// Mark all your notifications read.
///
/// Any member: every unread notification in your inbox; answers how many changed.
#[utoipa::path(tag = "notifications",
    responses((status = 200, body = MarkedReadDto, description = "How many were marked read"), AuthErrors))]
#[post("/me/notifications/read-all")]
pub(crate) async fn mark_all_notifications_read(
    ctx: Ctx,
) -> Result<web::Json<MarkedReadDto>, ApiError> {
    let now = ctx.now;
    let marked = ctx
        .write(async |conn| inbox::mark_all_read(conn, &ctx.actor, now).await)
        .await?;
    Ok(web::Json(MarkedReadDto { marked }))
}

/// Archive one of your notifications.
///
/// Any member, their own notifications only (404 `notification_not_found` otherwise): it leaves
/// the inbox for the archive (`archived=true`), read.
#[utoipa::path(tag = "notifications",
    params(("notification_id" = Uuid, Path, description = "The notification's id")),
    responses((status = 200, body = NotificationDto, description = "The notification, archived"), AuthErrors, NotFound))]
#[post("/me/notifications/{notification_id}/archive")]
pub(crate) async fn archive_notification(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<NotificationDto>, ApiError> {
    let id = path.into_inner();
    let now = ctx.now;
    let archived = ctx
        .write(async |conn| inbox::archive(conn, &ctx.actor, id, now).await)
        .await?;
    Ok(web::Json(archived.into()))
}
