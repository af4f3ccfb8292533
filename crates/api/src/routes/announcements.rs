//! Announcements: `/v1/announcements`. ADMIN and above post to the tenant, to groups or to a
//! module's learners; a module's mentors to its learners only. Recipients are notified in-app
//! and by email as their preferences say (through the worker, [`crate::reactions::social`]),
//! list what was addressed to them (pinned first), and mark it read; authors and admins see the
//! read receipts.

use std::time::Duration;

use actix_web::{HttpResponse, delete, get, post, put, web};
use chrono::{DateTime, Utc};
use guild_kernel::ports::RateRule;
use guild_social::announcements::{
    self, Announcement, Audience, AudienceKind, Listing, NewAnnouncement,
};
use guild_social::reactions::TargetKind;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::routes::common::{AuthErrors, InputErrors, NotFound, PageOf, PageParams};
use crate::routes::discussions::{ReactionCountDto, ReactionsDto};
use crate::routes::segment;

/// How many announcements one member posts per hour.
pub const ANNOUNCEMENTS_PER_HOUR: RateRule = RateRule {
    limit: 20,
    window: Duration::from_secs(3600),
};

/// Registers `/v1/announcements`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/announcements")
            .service(list_announcements)
            .service(list_sent_announcements)
            .service(create_announcement)
            .service(get_announcement)
            .service(mark_announcement_read)
            .service(pin_announcement)
            .service(unpin_announcement)
            .service(add_announcement_reaction)
            .service(remove_announcement_reaction),
    );
}

/// How many read an announcement.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReceiptsDto {
    /// The members it was sent to.
    recipients: i32,
    /// Those who read it.
    read: i64,
}

/// An announcement.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AnnouncementDto {
    id: Uuid,
    author_id: Uuid,
    author_name: String,
    title: String,
    /// Plain text.
    body: String,
    /// Who it is for.
    audience: AudienceKind,
    /// The groups (`GROUPS`).
    group_ids: Vec<Uuid>,
    /// The module (`MODULE`).
    module_id: Option<Uuid>,
    /// Listed first until then.
    pinned_until: Option<DateTime<Utc>>,
    /// Pinned now.
    pinned: bool,
    created_at: DateTime<Utc>,
    /// When you read it (absent while unread, or when it is not addressed to you).
    read_at: Option<DateTime<Utc>>,
    /// Read receipts, for its author and ADMIN and above only.
    receipts: Option<ReceiptsDto>,
    reactions: Vec<ReactionCountDto>,
}

impl From<Announcement> for AnnouncementDto {
    fn from(a: Announcement) -> Self {
        Self {
            id: a.id,
            author_id: a.author_id,
            author_name: a.author_name,
            title: a.title,
            body: a.body,
            audience: a.audience,
            group_ids: a.group_ids,
            module_id: a.module_id,
            pinned_until: a.pinned_until,
            pinned: a.pinned,
            created_at: a.created_at,
            read_at: a.read_at,
            receipts: a.receipts.map(|r| ReceiptsDto {
                recipients: r.recipients,
                read: r.read,
            }),
            reactions: ReactionCountDto::list(a.reactions),
        }
    }
}

/// List the announcements addressed to you.
///
/// Pinned ones first (while their pin lasts), then newest first, each with `read_at`.
#[utoipa::path(tag = "announcements", params(PageParams),
    responses((status = 200, body = PageOf<AnnouncementDto>, description = "Your announcements"), AuthErrors, InputErrors))]
#[get("/announcements")]
pub(crate) async fn list_announcements(
    ctx: Ctx,
    query: web::Query<PageParams>,
) -> Result<web::Json<PageOf<AnnouncementDto>>, ApiError> {
    let page = guild_kernel::PageRequest::from(&query.into_inner());
    let now = ctx.now;
    let items = ctx
        .write(async |conn| {
            announcements::list(conn, &ctx.actor, Listing::Received, &page, now).await
        })
        .await?;
    Ok(web::Json(PageOf::map(items, AnnouncementDto::from)))
}

/// List the announcements you posted.
///
/// Newest first, with their read receipts; ADMIN and above see every announcement of the tenant.
#[utoipa::path(tag = "announcements", params(PageParams),
    responses((status = 200, body = PageOf<AnnouncementDto>, description = "Posted announcements"), AuthErrors, InputErrors))]
#[get("/announcements/sent")]
pub(crate) async fn list_sent_announcements(
    ctx: Ctx,
    query: web::Query<PageParams>,
) -> Result<web::Json<PageOf<AnnouncementDto>>, ApiError> {
    let page = guild_kernel::PageRequest::from(&query.into_inner());
    let now = ctx.now;
    let items = ctx
        .write(async |conn| announcements::list(conn, &ctx.actor, Listing::Sent, &page, now).await)
        .await?;
    Ok(web::Json(PageOf::map(items, AnnouncementDto::from)))
}

/// Who a new announcement is for.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AudienceBody {
    /// `TENANT`, `GROUPS` (with `group_ids`) or `MODULE` (with `module_id`).
    kind: AudienceKind,
    /// The groups, for `GROUPS`.
    #[serde(default)]
    #[validate(length(max = 50))]
    #[schema(max_items = 50)]
    group_ids: Vec<Uuid>,
    /// The module, for `MODULE`.
    module_id: Option<Uuid>,
}

/// A new announcement.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "title": "Fire drill on Friday",
    "body": "We meet at the assembly point at 10:00. The module on evacuation routes was updated.",
    "audience": { "kind": "GROUPS", "group_ids": ["0193a1c4-6f1e-7a52-9e2b-5d3c1f0a9b7e"] },
    "pinned_until": "2026-12-12T10:00:00Z"
}))]
pub(crate) struct CreateAnnouncement {
    /// One line.
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    title: String,
    /// Plain text.
    #[validate(
        length(min = 1, max = 10000),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 10000, pattern = "\\S")]
    body: String,
    /// Who it is for.
    #[validate(nested)]
    audience: AudienceBody,
    /// Listed first until then (in the future).
    pinned_until: Option<DateTime<Utc>>,
}

/// Post an announcement.
///
/// ADMIN and above (signed in) post to the tenant, to groups or to a module's learners; a
/// module's mentors to that module's learners only; 403 `forbidden` for anyone else (and for
/// API keys, except a mentor's key acting as a member). The recipients are the active members
/// of the audience now (not you); each gets an ANNOUNCEMENT notification, emailed as their
/// preferences say. 404 `module_not_found`; 422 `group_not_found` in `errors[]`. At most 20 an
/// hour per member (429 `rate_limited`).
#[utoipa::path(tag = "announcements", request_body = CreateAnnouncement,
    responses((status = 201, body = AnnouncementDto, description = "Posted"), AuthErrors, InputErrors, NotFound))]
#[post("/announcements")]
pub(crate) async fn create_announcement(
    ctx: Ctx,
    body: ValidJson<CreateAnnouncement>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let audience = audience(b.audience)?;
    let input = NewAnnouncement {
        title: b.title,
        body: b.body,
        audience,
        pinned_until: b.pinned_until,
    };
    let key = format!(
        "announcements:{}:{}",
        ctx.actor.tenant_id, ctx.actor.user_id
    );
    crate::routes::auth::rate_limit(&ctx.state, &key, ANNOUNCEMENTS_PER_HOUR).await?;
    let now = ctx.now;
    let posted = ctx
        .write(async |conn| announcements::post(conn, &ctx.actor, &input, now).await)
        .await?;
    Ok(HttpResponse::Created().json(AnnouncementDto::from(posted)))
}

/// The audience named by the body: `group_ids` only with `GROUPS`, `module_id` only with
/// `MODULE` (422 otherwise).
fn audience(body: AudienceBody) -> Result<Audience, ApiError> {
    let invalid = |field: &str, message: &str| {
        ApiError::from(guild_social::SocialError::invalid(
            field, "invalid", message,
        ))
    };
    match (body.kind, body.group_ids.is_empty(), body.module_id) {
        (AudienceKind::Tenant, true, None) => Ok(Audience::Tenant),
        (AudienceKind::Groups, false, None) => Ok(Audience::Groups(body.group_ids)),
        (AudienceKind::Module, true, Some(module)) => Ok(Audience::Module(module)),
        (AudienceKind::Groups, true, _) => Err(invalid(
            "audience.group_ids",
            "GROUPS needs at least one group",
        )),
        (AudienceKind::Module, _, None) => {
            Err(invalid("audience.module_id", "MODULE needs a module"))
        }
        _ => Err(invalid(
            "audience",
            "group_ids only with GROUPS, module_id only with MODULE",
        )),
    }
}

/// Get an announcement; opening one addressed to you marks it read.
///
/// Its recipients, its author and ADMIN and above (404 `announcement_not_found` for anyone
/// else, another tenant's included). Read receipts for its author and admins.
#[utoipa::path(tag = "announcements",
    params(("announcement_id" = Uuid, Path, description = "The announcement")),
    responses((status = 200, body = AnnouncementDto, description = "The announcement"), AuthErrors, NotFound))]
#[get("/announcements/{announcement_id}")]
pub(crate) async fn get_announcement(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<AnnouncementDto>, ApiError> {
    let id = path.into_inner();
    let now = ctx.now;
    let item = ctx
        .write(async |conn| announcements::open(conn, &ctx.actor, id, now).await)
        .await?;
    Ok(web::Json(item.into()))
}

/// Mark an announcement addressed to you read.
///
/// The first time counts; 404 `announcement_not_found` when it is not addressed to you.
#[utoipa::path(tag = "announcements",
    params(("announcement_id" = Uuid, Path, description = "The announcement")),
    responses((status = 200, body = AnnouncementDto, description = "Read"), AuthErrors, NotFound))]
#[post("/announcements/{announcement_id}/read")]
pub(crate) async fn mark_announcement_read(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<AnnouncementDto>, ApiError> {
    let id = path.into_inner();
    let now = ctx.now;
    let item = ctx
        .write(async |conn| announcements::mark_read(conn, &ctx.actor, id, now).await)
        .await?;
    Ok(web::Json(item.into()))
}

/// How long an announcement stays pinned.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "until": "2026-12-12T10:00:00Z" }))]
pub(crate) struct PinAnnouncement {
    /// Listed first until then (in the future).
    until: DateTime<Utc>,
}

/// Pin an announcement until a date.
///
/// Its author or ADMIN and above (403 `forbidden` for its recipients). 422 `in_the_past`.
#[utoipa::path(tag = "announcements", request_body = PinAnnouncement,
    params(("announcement_id" = Uuid, Path, description = "The announcement")),
    responses((status = 200, body = AnnouncementDto, description = "Pinned"), AuthErrors, InputErrors, NotFound))]
#[put("/announcements/{announcement_id}/pin")]
pub(crate) async fn pin_announcement(
    ctx: Ctx,
    path: web::Path<Uuid>,
    body: ValidJson<PinAnnouncement>,
) -> Result<web::Json<AnnouncementDto>, ApiError> {
    let id = path.into_inner();
    let until = body.into_inner().until;
    let now = ctx.now;
    let item = ctx
        .write(async |conn| announcements::pin(conn, &ctx.actor, id, Some(until), now).await)
        .await?;
    Ok(web::Json(item.into()))
}

/// Unpin an announcement.
///
/// Its author or ADMIN and above (403 `forbidden` for its recipients).
#[utoipa::path(tag = "announcements",
    params(("announcement_id" = Uuid, Path, description = "The announcement")),
    responses((status = 200, body = AnnouncementDto, description = "Unpinned"), AuthErrors, NotFound))]
#[delete("/announcements/{announcement_id}/pin")]
pub(crate) async fn unpin_announcement(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<AnnouncementDto>, ApiError> {
    let id = path.into_inner();
    let now = ctx.now;
    let item = ctx
        .write(async |conn| announcements::pin(conn, &ctx.actor, id, None, now).await)
        .await?;
    Ok(web::Json(item.into()))
}

/// React to an announcement.
///
/// Anyone who may see it; one reaction per member and emoji (reacting again changes nothing).
/// `emoji` is one of the allow-listed names (see reacting to a discussion post; 422
/// `emoji_not_allowed` in `errors[]` otherwise).
#[utoipa::path(tag = "announcements",
    params(("announcement_id" = Uuid, Path, description = "The announcement"), ("emoji" = guild_social::reactions::Emoji, Path, description = "The emoji's name")),
    responses((status = 200, body = ReactionsDto, description = "Its reactions"), AuthErrors, InputErrors, NotFound))]
#[put("/announcements/{announcement_id}/reactions/{emoji}")]
pub(crate) async fn add_announcement_reaction(
    ctx: Ctx,
    path: web::Path<(Uuid, String)>,
) -> Result<web::Json<ReactionsDto>, ApiError> {
    let (id, emoji) = path.into_inner();
    ReactionsDto::add(&ctx, TargetKind::Announcement, id, &emoji).await
}

/// Remove your reaction from an announcement.
///
/// Removing one you did not make changes nothing.
#[utoipa::path(tag = "announcements",
    params(("announcement_id" = Uuid, Path, description = "The announcement"), ("emoji" = guild_social::reactions::Emoji, Path, description = "The emoji's name")),
    responses((status = 200, body = ReactionsDto, description = "Its reactions"), AuthErrors, InputErrors, NotFound))]
#[delete("/announcements/{announcement_id}/reactions/{emoji}")]
pub(crate) async fn remove_announcement_reaction(
    ctx: Ctx,
    path: web::Path<(Uuid, String)>,
) -> Result<web::Json<ReactionsDto>, ApiError> {
    let (id, emoji) = path.into_inner();
    ReactionsDto::remove(&ctx, TargetKind::Announcement, id, &emoji).await
}
