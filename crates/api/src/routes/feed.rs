//! The knowledge feed: `/v1/feed`. Members share `https` links with a description and tags;
//! mentors' and admins' posts are approved on submit, others wait for a moderator (ADMIN and
//! above, MANAGE_SUGGESTIONS holders), who approves, rejects with a reason or archives — never
//! their own post. Admins pin. Members save posts (listed at `/v1/me/saved`), reply, react, and
//! keep a "seen until" marker whose unseen count is the feed's badge. Link previews are fetched
//! after the post is committed, by the worker ([`crate::reactions::feed`]).

use std::time::Duration;

use actix_web::{HttpResponse, delete, get, http::header, post, put, web};
use chrono::{DateTime, Utc};
use guild_kernel::ports::RateRule;
use guild_social::feed::{
    self, Decision, Listing, NewPost, Post, PostStatus, PreviewStatus, Reply, Unseen,
};
use guild_social::reactions::TargetKind;
use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::routes::common::{AuthErrors, Conflict, InputErrors, NotFound, PageOf, PageParams};
use crate::routes::discussions::{ReactionCountDto, ReactionsDto};
use crate::routes::media::{DownloadDto, blob_error};
use crate::routes::segment;

/// How many posts one member submits per hour.
pub const FEED_POSTS_PER_HOUR: RateRule = RateRule {
    limit: 20,
    window: Duration::from_secs(3600),
};

/// How many replies one member writes per minute.
pub const FEED_REPLIES_PER_MINUTE: RateRule = RateRule {
    limit: 10,
    window: Duration::from_secs(60),
};

/// The tag rule as a pattern (the domain also lower-cases and trims).
const TAG_PATTERN: &str = "^[A-Za-z0-9-]{1,32}$";

/// Registers `/v1/feed`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/feed")
            .service(list_feed_posts)
            .service(create_feed_post)
            .service(list_pending_feed_posts)
            .service(list_my_feed_posts)
            .service(get_feed_unseen_count)
            .service(mark_feed_seen)
            .service(get_feed_post)
            .service(approve_feed_post)
            .service(reject_feed_post)
            .service(archive_feed_post)
            .service(pin_feed_post)
            .service(unpin_feed_post)
            .service(add_saved_feed_post)
            .service(remove_saved_feed_post)
            .service(add_feed_post_reaction)
            .service(remove_feed_post_reaction)
            .service(list_feed_post_replies)
            .service(create_feed_post_reply)
            .service(download_feed_post_preview_image),
    );
}

/// A tag: 1 to 32 letters, digits or `-` (stored lower-case).
#[derive(Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Tag(String);

impl utoipa::PartialSchema for Tag {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(32))
            .pattern(Some(TAG_PATTERN))
            .examples([serde_json::json!("security")])
            .into()
    }
}

impl ToSchema for Tag {}

/// A link's preview, fetched by the server after the post was submitted.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PreviewDto {
    /// `PENDING` until fetched, then `READY` or `FAILED`; `OFF` when previews were switched off.
    status: PreviewStatus,
    title: Option<String>,
    description: Option<String>,
    /// Whether there is an image (`GET …/preview-image` gives a download link).
    has_image: bool,
}

/// A post of the feed.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FeedPostDto {
    id: Uuid,
    author_id: Uuid,
    author_name: String,
    /// The shared link (`https`).
    url: String,
    description: String,
    tags: Vec<String>,
    status: PostStatus,
    /// Why it was rejected: for its author and moderators only.
    reject_reason: Option<String>,
    /// Listed first in the feed.
    pinned: bool,
    preview: PreviewDto,
    save_count: i32,
    reply_count: i32,
    /// You saved it.
    saved: bool,
    created_at: DateTime<Utc>,
    approved_at: Option<DateTime<Utc>>,
    reactions: Vec<ReactionCountDto>,
}

impl From<Post> for FeedPostDto {
    fn from(p: Post) -> Self {
        Self {
            id: p.id,
            author_id: p.author_id,
            author_name: p.author_name,
            url: p.url,
            description: p.description,
            tags: p.tags,
            status: p.status,
            reject_reason: p.reject_reason,
            pinned: p.pinned,
            preview: PreviewDto {
                status: p.preview.status,
                title: p.preview.title,
                description: p.preview.description,
                has_image: p.preview.image_id.is_some(),
            },
            save_count: p.save_count,
            reply_count: p.reply_count,
            saved: p.saved,
            created_at: p.created_at,
            approved_at: p.approved_at,
            reactions: ReactionCountDto::list(p.reactions),
        }
    }
}

/// A reply to a post.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FeedReplyDto {
    id: Uuid,
    post_id: Uuid,
    author_id: Uuid,
    author_name: String,
    body: String,
    created_at: DateTime<Utc>,
}

impl From<Reply> for FeedReplyDto {
    fn from(r: Reply) -> Self {
        Self {
            id: r.id,
            post_id: r.post_id,
            author_id: r.author_id,
            author_name: r.author_name,
            body: r.body,
            created_at: r.created_at,
        }
    }
}

/// `?tag=&limit=&cursor=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct FeedQuery {
    /// Only the posts with this tag (1 to 32 letters, digits or `-`; any case).
    #[param(min_length = 1, max_length = 32, pattern = "^[A-Za-z0-9-]{1,32}$")]
    tag: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200, default = 50)]
    #[serde(default, deserialize_with = "crate::routes::common::page_limit")]
    limit: Option<u32>,
    /// The previous page's `next_cursor`.
    #[param(max_length = 1024)]
    cursor: Option<String>,
}

/// A page of posts of one listing.
pub(crate) async fn list_as(
    ctx: &Ctx,
    listing: Listing,
    tag: Option<String>,
    page: guild_kernel::PageRequest,
) -> Result<web::Json<PageOf<FeedPostDto>>, ApiError> {
    let posts = ctx
        .write(async |conn| feed::list(conn, &ctx.actor, listing, tag.as_deref(), &page).await)
        .await?;
    Ok(web::Json(PageOf::map(posts, FeedPostDto::from)))
}

/// List the feed.
///
/// Approved posts: pinned first, then the newest approvals; `?tag=` keeps those with that tag.
#[utoipa::path(tag = "feed", params(FeedQuery),
    responses((status = 200, body = PageOf<FeedPostDto>, description = "The feed"), AuthErrors, InputErrors))]
#[get("/feed/posts")]
pub(crate) async fn list_feed_posts(
    ctx: Ctx,
    query: web::Query<FeedQuery>,
) -> Result<web::Json<PageOf<FeedPostDto>>, ApiError> {
    let q = query.into_inner();
    let page = guild_kernel::PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    list_as(&ctx, Listing::Feed, q.tag, page).await
}

/// List the posts waiting for a moderator.
///
/// Newest first; moderators only (ADMIN and above, MANAGE_SUGGESTIONS holders; 403 `forbidden`
/// otherwise).
#[utoipa::path(tag = "feed", params(PageParams),
    responses((status = 200, body = PageOf<FeedPostDto>, description = "Pending posts"), AuthErrors, InputErrors))]
#[get("/feed/posts/pending")]
pub(crate) async fn list_pending_feed_posts(
    ctx: Ctx,
    query: web::Query<PageParams>,
) -> Result<web::Json<PageOf<FeedPostDto>>, ApiError> {
    let page = guild_kernel::PageRequest::from(&query.into_inner());
    list_as(&ctx, Listing::Pending, None, page).await
}

/// List the posts you submitted.
///
/// Every status (pending, approved, rejected with its reason, archived), newest first.
#[utoipa::path(tag = "feed", params(PageParams),
    responses((status = 200, body = PageOf<FeedPostDto>, description = "Your posts"), AuthErrors, InputErrors))]
#[get("/feed/posts/mine")]
pub(crate) async fn list_my_feed_posts(
    ctx: Ctx,
    query: web::Query<PageParams>,
) -> Result<web::Json<PageOf<FeedPostDto>>, ApiError> {
    let page = guild_kernel::PageRequest::from(&query.into_inner());
    list_as(&ctx, Listing::Mine, None, page).await
}

/// A new post.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "url": "https://owasp.org/www-project-top-ten/",
    "description": "The ten most critical web application security risks.",
    "tags": ["security"]
}))]
pub(crate) struct CreateFeedPost {
    /// An `https://` URL of at most 2048 characters; `javascript:`, `data:`, `file:` and
    /// `http:` links are refused.
    #[validate(custom(function = "crate::extract::https_link"))]
    #[schema(
        max_length = 2048,
        pattern = r"^[Hh][Tt][Tt][Pp][Ss]://(?:[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@.:][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@:]*|[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@.][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@]*:[0-9]*|(?:[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@.][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@]*)?:[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@:]*\][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@:]*)(?:[/?#][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\]*)?$"
    )]
    url: String,
    /// Why it is worth reading.
    #[validate(
        length(min = 1, max = 2000),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 2000, pattern = "\\S")]
    description: String,
    /// Up to 5 tags.
    #[serde(default)]
    #[validate(length(max = 5))]
    #[schema(max_items = 5)]
    tags: Vec<Tag>,
}

/// Share a link.
///
/// Any member (not a VIEWER). A module's mentor and ADMIN and above are approved at once; any
/// other post waits as `PENDING` for a moderator, seen by its author and moderators only. 422
/// `url` in `errors[]` for a link that is not `https`. The link's preview is fetched afterwards
/// (`preview.status`); a post never waits for it. At most 20 an hour per member (429
/// `rate_limited`).
#[utoipa::path(tag = "feed", request_body = CreateFeedPost,
    responses((status = 201, body = FeedPostDto, description = "Submitted"), AuthErrors, InputErrors))]
#[post("/feed/posts")]
pub(crate) async fn create_feed_post(
    ctx: Ctx,
    body: ValidJson<CreateFeedPost>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let input = NewPost {
        url: b.url,
        description: b.description,
        tags: b.tags.into_iter().map(|t| t.0).collect(),
        previews: ctx.state.previewer.is_some(),
    };
    let key = format!("feed_posts:{}:{}", ctx.actor.tenant_id, ctx.actor.user_id);
    crate::routes::auth::rate_limit(&ctx.state, &key, FEED_POSTS_PER_HOUR).await?;
    let now = ctx.now;
    let post = ctx
        .write(async |conn| feed::submit(conn, &ctx.actor, &input, now).await)
        .await?;
    Ok(HttpResponse::Created().json(FeedPostDto::from(post)))
}

/// Get a post.
///
/// Approved posts for every member; pending, rejected and archived ones for their author and
/// moderators (404 `feed_post_not_found` for anyone else, another tenant's included).
#[utoipa::path(tag = "feed",
    params(("post_id" = Uuid, Path, description = "The post")),
    responses((status = 200, body = FeedPostDto, description = "The post"), AuthErrors, NotFound))]
#[get("/feed/posts/{post_id}")]
pub(crate) async fn get_feed_post(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<FeedPostDto>, ApiError> {
    let id = path.into_inner();
    let post = ctx
        .write(async |conn| feed::get(conn, &ctx.actor, id).await)
        .await?;
    Ok(web::Json(post.into()))
}

async fn moderate(
    ctx: &Ctx,
    id: Uuid,
    decision: Decision,
) -> Result<web::Json<FeedPostDto>, ApiError> {
    let now = ctx.now;
    let post = ctx
        .write(async |conn| feed::moderate(conn, &ctx.actor, id, &decision, now).await)
        .await?;
    Ok(web::Json(post.into()))
}

/// Approve a post.
///
/// Moderators (ADMIN and above, MANAGE_SUGGESTIONS holders; 403 `forbidden` otherwise), never
/// on their own post (403 `cannot_moderate_own_post`). From PENDING or REJECTED (409
/// `invalid_status_transition` otherwise). Its author gets a RADAR_APPROVED notification.
#[utoipa::path(tag = "feed",
    params(("post_id" = Uuid, Path, description = "The post")),
    responses((status = 200, body = FeedPostDto, description = "Approved"), AuthErrors, NotFound, Conflict))]
#[post("/feed/posts/{post_id}/approve")]
pub(crate) async fn approve_feed_post(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<FeedPostDto>, ApiError> {
    moderate(&ctx, path.into_inner(), Decision::Approve).await
}

/// Why a post is rejected.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "reason": "The link is behind a paywall." }))]
pub(crate) struct RejectFeedPost {
    /// Shown to the post's author.
    #[validate(
        length(min = 1, max = 500),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 500, pattern = "\\S")]
    reason: String,
}

/// Reject a post.
///
/// Moderators, never on their own post (403 `cannot_moderate_own_post`), from PENDING only (409
/// `invalid_status_transition`), with a reason its author sees in their RADAR_REJECTED
/// notification.
#[utoipa::path(tag = "feed", request_body = RejectFeedPost,
    params(("post_id" = Uuid, Path, description = "The post")),
    responses((status = 200, body = FeedPostDto, description = "Rejected"), AuthErrors, InputErrors, NotFound, Conflict))]
#[post("/feed/posts/{post_id}/reject")]
pub(crate) async fn reject_feed_post(
    ctx: Ctx,
    path: web::Path<Uuid>,
    body: ValidJson<RejectFeedPost>,
) -> Result<web::Json<FeedPostDto>, ApiError> {
    let reason = body.into_inner().reason;
    moderate(&ctx, path.into_inner(), Decision::Reject(reason)).await
}

/// Archive a post.
///
/// Moderators, never on their own post (403 `cannot_moderate_own_post`): takes it out of the
/// feed (and unpins it). 409 `invalid_status_transition` when it is archived already.
#[utoipa::path(tag = "feed",
    params(("post_id" = Uuid, Path, description = "The post")),
    responses((status = 200, body = FeedPostDto, description = "Archived"), AuthErrors, NotFound, Conflict))]
#[post("/feed/posts/{post_id}/archive")]
pub(crate) async fn archive_feed_post(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<FeedPostDto>, ApiError> {
    moderate(&ctx, path.into_inner(), Decision::Archive).await
}

async fn set_pin(ctx: &Ctx, id: Uuid, pinned: bool) -> Result<web::Json<FeedPostDto>, ApiError> {
    let post = ctx
        .write(async |conn| feed::pin(conn, &ctx.actor, id, pinned).await)
        .await?;
    Ok(web::Json(post.into()))
}

/// Pin a post to the top of the feed.
///
/// ADMIN and above, signed in (403 `forbidden` otherwise); APPROVED posts only (409
/// `invalid_status_transition`).
#[utoipa::path(tag = "feed",
    params(("post_id" = Uuid, Path, description = "The post")),
    responses((status = 200, body = FeedPostDto, description = "Pinned"), AuthErrors, NotFound, Conflict))]
#[put("/feed/posts/{post_id}/pin")]
pub(crate) async fn pin_feed_post(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<FeedPostDto>, ApiError> {
    set_pin(&ctx, path.into_inner(), true).await
}

/// Unpin a post.
///
/// ADMIN and above, signed in (403 `forbidden` otherwise).
#[utoipa::path(tag = "feed",
    params(("post_id" = Uuid, Path, description = "The post")),
    responses((status = 200, body = FeedPostDto, description = "Unpinned"), AuthErrors, NotFound, Conflict))]
#[delete("/feed/posts/{post_id}/pin")]
pub(crate) async fn unpin_feed_post(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<FeedPostDto>, ApiError> {
    set_pin(&ctx, path.into_inner(), false).await
}

/// Save a post.
///
/// Any post you may see; saving twice changes nothing. Listed at `GET /v1/me/saved`.
#[utoipa::path(tag = "feed",
    params(("post_id" = Uuid, Path, description = "The post")),
    responses((status = 200, body = FeedPostDto, description = "Saved"), AuthErrors, NotFound))]
#[put("/feed/posts/{post_id}/save")]
pub(crate) async fn add_saved_feed_post(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<FeedPostDto>, ApiError> {
    let id = path.into_inner();
    let now = ctx.now;
    let post = ctx
        .write(async |conn| feed::save(conn, &ctx.actor, id, now).await)
        .await?;
    Ok(web::Json(post.into()))
}

/// Remove a post from your saved posts.
///
/// Removing one you did not save changes nothing.
#[utoipa::path(tag = "feed",
    params(("post_id" = Uuid, Path, description = "The post")),
    responses((status = 200, body = FeedPostDto, description = "Not saved"), AuthErrors, NotFound))]
#[delete("/feed/posts/{post_id}/save")]
pub(crate) async fn remove_saved_feed_post(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<FeedPostDto>, ApiError> {
    let id = path.into_inner();
    let post = ctx
        .write(async |conn| feed::unsave(conn, &ctx.actor, id).await)
        .await?;
    Ok(web::Json(post.into()))
}

/// React to a post.
///
/// Any post you may see; one reaction per member and emoji. `emoji` is one of the allow-listed
/// names (422 `emoji_not_allowed` in `errors[]` otherwise).
#[utoipa::path(tag = "feed",
    params(("post_id" = Uuid, Path, description = "The post"), ("emoji" = guild_social::reactions::Emoji, Path, description = "The emoji's name")),
    responses((status = 200, body = ReactionsDto, description = "Its reactions"), AuthErrors, InputErrors, NotFound))]
#[put("/feed/posts/{post_id}/reactions/{emoji}")]
pub(crate) async fn add_feed_post_reaction(
    ctx: Ctx,
    path: web::Path<(Uuid, String)>,
) -> Result<web::Json<ReactionsDto>, ApiError> {
    let (id, emoji) = path.into_inner();
    ReactionsDto::add(&ctx, TargetKind::RadarPost, id, &emoji).await
}

/// Remove your reaction from a post.
///
/// Removing one you did not make changes nothing.
#[utoipa::path(tag = "feed",
    params(("post_id" = Uuid, Path, description = "The post"), ("emoji" = guild_social::reactions::Emoji, Path, description = "The emoji's name")),
    responses((status = 200, body = ReactionsDto, description = "Its reactions"), AuthErrors, InputErrors, NotFound))]
#[delete("/feed/posts/{post_id}/reactions/{emoji}")]
pub(crate) async fn remove_feed_post_reaction(
    ctx: Ctx,
    path: web::Path<(Uuid, String)>,
) -> Result<web::Json<ReactionsDto>, ApiError> {
    let (id, emoji) = path.into_inner();
    ReactionsDto::remove(&ctx, TargetKind::RadarPost, id, &emoji).await
}

/// List a post's replies.
///
/// Oldest first, for anyone who may see the post.
#[utoipa::path(tag = "feed", params(("post_id" = Uuid, Path, description = "The post"), PageParams),
    responses((status = 200, body = PageOf<FeedReplyDto>, description = "The replies"), AuthErrors, InputErrors, NotFound))]
#[get("/feed/posts/{post_id}/replies")]
pub(crate) async fn list_feed_post_replies(
    ctx: Ctx,
    path: web::Path<Uuid>,
    query: web::Query<PageParams>,
) -> Result<web::Json<PageOf<FeedReplyDto>>, ApiError> {
    let id = path.into_inner();
    let page = guild_kernel::PageRequest::from(&query.into_inner());
    let replies = ctx
        .write(async |conn| feed::replies(conn, &ctx.actor, id, &page).await)
        .await?;
    Ok(web::Json(PageOf::map(replies, FeedReplyDto::from)))
}

/// A reply.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "body": "Chapter 3 answered our question about retries." }))]
pub(crate) struct CreateFeedReply {
    /// Plain text.
    #[validate(
        length(min = 1, max = 2000),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 2000, pattern = "\\S")]
    body: String,
}

/// Reply to a post.
///
/// Anyone who may see the post (not a VIEWER); its author gets a COMMENT_REPLY notification.
/// At most 500 replies a post (409 `reply_limit_reached`) and 10 a minute per member (429
/// `rate_limited`).
#[utoipa::path(tag = "feed", request_body = CreateFeedReply,
    params(("post_id" = Uuid, Path, description = "The post")),
    responses((status = 201, body = FeedReplyDto, description = "Replied"), AuthErrors, InputErrors, NotFound, Conflict))]
#[post("/feed/posts/{post_id}/replies")]
pub(crate) async fn create_feed_post_reply(
    ctx: Ctx,
    path: web::Path<Uuid>,
    body: ValidJson<CreateFeedReply>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let text = body.into_inner().body;
    let key = format!("feed_replies:{}:{}", ctx.actor.tenant_id, ctx.actor.user_id);
    crate::routes::auth::rate_limit(&ctx.state, &key, FEED_REPLIES_PER_MINUTE).await?;
    let now = ctx.now;
    let reply = ctx
        .write(async |conn| feed::reply(conn, &ctx.actor, id, &text, now).await)
        .await?;
    Ok(HttpResponse::Created().json(FeedReplyDto::from(reply)))
}

/// Download a post's preview image: get a signed download URL.
///
/// The image the server fetched with the link's preview and keeps in the media library (a
/// preview never hot-links). Anyone who may see the post; 404 `preview_image_not_found` when it
/// has none; 503 `storage_unavailable` when the storage cannot sign.
#[utoipa::path(tag = "feed",
    params(("post_id" = Uuid, Path, description = "The post")),
    responses((status = 200, body = DownloadDto, description = "The link"), AuthErrors, NotFound,
        (status = 503, body = crate::error::Problem, content_type = "application/problem+json", description = "`storage_unavailable`")))]
#[get("/feed/posts/{post_id}/preview-image")]
pub(crate) async fn download_feed_post_preview_image(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let (key, content_type) = ctx
        .write(async |conn| feed::preview_image(conn, &ctx.actor, id).await)
        .await?;
    let ttl = guild_learning::media::DOWNLOAD_URL_TTL;
    let url = ctx
        .state
        .blobs
        .signed_get_url(&key, ttl)
        .await
        .map_err(blob_error)?;
    let extension = content_type.rsplit('/').next().unwrap_or("img").to_owned();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(DownloadDto {
            url,
            expires_at: ctx.now + chrono::Duration::from_std(ttl).unwrap_or_default(),
            file_name: format!("preview.{extension}"),
            content_type,
        }))
}

/// Your "seen until" marker and how many approved posts came after it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FeedUnseenDto {
    /// Posts approved after your marker, by others (at most 100: show "99+").
    count: i64,
    /// Your marker (absent before you first marked the feed seen).
    seen_until: Option<DateTime<Utc>>,
}

impl From<Unseen> for FeedUnseenDto {
    fn from(u: Unseen) -> Self {
        Self {
            count: u.count,
            seen_until: u.seen_until,
        }
    }
}

/// Get the feed's unseen count (the badge).
///
/// Approved posts by others since your "seen until" marker; poll it rather than expecting a
/// push for every new post.
#[utoipa::path(tag = "feed",
    responses((status = 200, body = FeedUnseenDto, description = "The unseen count"), AuthErrors))]
#[get("/feed/unseen-count")]
pub(crate) async fn get_feed_unseen_count(ctx: Ctx) -> Result<web::Json<FeedUnseenDto>, ApiError> {
    let unseen = ctx
        .write(async |conn| feed::unseen(conn, &ctx.actor).await)
        .await?;
    Ok(web::Json(unseen.into()))
}

/// Until when you have seen the feed.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "until": "2026-12-10T09:30:00Z" }))]
pub(crate) struct MarkFeedSeen {
    /// The `approved_at` of the newest post you saw (now when left out; a time in the future
    /// counts as now). The marker never moves back.
    until: Option<DateTime<Utc>>,
}

/// Mark the feed seen.
///
/// Moves your marker (never back); answers the unseen count after it.
#[utoipa::path(tag = "feed", request_body = MarkFeedSeen,
    responses((status = 200, body = FeedUnseenDto, description = "Marked"), AuthErrors, InputErrors))]
#[put("/feed/seen")]
pub(crate) async fn mark_feed_seen(
    ctx: Ctx,
    body: ValidJson<MarkFeedSeen>,
) -> Result<web::Json<FeedUnseenDto>, ApiError> {
    let until = body.into_inner().until;
    let now = ctx.now;
    let unseen = ctx
        .write(async |conn| feed::mark_seen(conn, &ctx.actor, until, now).await)
        .await?;
    Ok(web::Json(unseen.into()))
}
