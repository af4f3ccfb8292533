//! Discussions of modules: `/v1/discussions`, and a module's list at
//! `/v1/modules/{module_id}/discussions` (registered by the `/modules` scope). Threads of a module (or one of its sections),
//! visible exactly when the module is; replies nested by parent; resolve, pin, lock and hide
//! for moderation; following; and reactions on every post. Replies and mentions notify through
//! the worker ([`crate::reactions::social`]).

use std::time::Duration;

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use chrono::{DateTime, Utc};
use guild_kernel::ports::RateRule;
use guild_social::discussions::{self, Hidden, NewPost, NewThread, Post, Thread, ThreadChanges};
use guild_social::reactions::Count;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::routes::common::{AuthErrors, Conflict, InputErrors, NotFound, PageOf};
use crate::routes::segment;

/// How many posts (threads and replies) one member writes per minute.
pub const POSTS_PER_MINUTE: RateRule = RateRule {
    limit: 10,
    window: Duration::from_secs(60),
};

/// Registers `/v1/discussions`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/discussions")
            .service(create_discussion)
            .service(get_discussion)
            .service(update_discussion)
            .service(follow_discussion)
            .service(unfollow_discussion)
            .service(list_discussion_posts)
            .service(create_discussion_post)
            .service(hide_discussion_post)
            .service(unhide_discussion_post)
            .service(add_discussion_post_reaction)
            .service(remove_discussion_post_reaction),
    );
}

/// One emoji's count on a post or announcement.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReactionCountDto {
    /// The emoji's name (`thumbs_up`, `heart`, …).
    emoji: String,
    /// The emoji itself.
    #[schema(example = "\u{1F44D}")]
    char: String,
    /// How many members reacted with it.
    count: i32,
    /// You are one of them.
    mine: bool,
}

impl ReactionsDto {
    /// The reply to a reaction: the target's counts.
    pub(crate) fn json(counts: Vec<Count>) -> web::Json<Self> {
        web::Json(Self {
            reactions: ReactionCountDto::list(counts),
        })
    }

    /// Adds the actor's `emoji` reaction to a target of `kind`; answers its counts.
    pub(crate) async fn add(
        ctx: &Ctx,
        kind: guild_social::reactions::TargetKind,
        target: Uuid,
        emoji: &str,
    ) -> Result<web::Json<Self>, ApiError> {
        let now = ctx.now;
        let counts = ctx
            .write(async |conn| {
                guild_social::reactions::add(conn, &ctx.actor, kind, target, emoji, now).await
            })
            .await?;
        Ok(Self::json(counts))
    }

    /// Takes the actor's `emoji` reaction off a target of `kind`; answers its counts.
    pub(crate) async fn remove(
        ctx: &Ctx,
        kind: guild_social::reactions::TargetKind,
        target: Uuid,
        emoji: &str,
    ) -> Result<web::Json<Self>, ApiError> {
        let counts = ctx
            .write(async |conn| {
                guild_social::reactions::remove(conn, &ctx.actor, kind, target, emoji).await
            })
            .await?;
        Ok(Self::json(counts))
    }
}

impl ReactionCountDto {
    pub(crate) fn list(counts: Vec<Count>) -> Vec<Self> {
        counts
            .into_iter()
            .map(|c| Self {
                char: guild_social::reactions::emoji_char(&c.emoji)
                    .unwrap_or_default()
                    .to_owned(),
                emoji: c.emoji,
                count: c.count,
                mine: c.mine,
            })
            .collect()
    }
}

/// A target's reactions after a change.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReactionsDto {
    /// Every emoji reacted with, in the allow-list's order.
    pub(crate) reactions: Vec<ReactionCountDto>,
}

/// Why a post is hidden (moderators only see hidden posts).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HiddenDto {
    at: DateTime<Utc>,
    /// The moderator.
    by: Option<Uuid>,
    reason: String,
}

impl From<Hidden> for HiddenDto {
    fn from(h: Hidden) -> Self {
        Self {
            at: h.at,
            by: h.by,
            reason: h.reason,
        }
    }
}

/// A discussion thread with its opening post.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DiscussionDto {
    /// Its id, also its opening post's (react to it as a post).
    id: Uuid,
    module_id: Uuid,
    section_id: Option<Uuid>,
    author_id: Uuid,
    author_name: String,
    title: String,
    /// The opening post (plain text).
    body: String,
    /// The members it mentions.
    mentions: Vec<Uuid>,
    /// Listed first.
    pinned: bool,
    /// Only moderators reply.
    locked: bool,
    resolved: bool,
    resolved_at: Option<DateTime<Utc>>,
    resolved_by: Option<Uuid>,
    /// Replies you see.
    reply_count: i64,
    last_post_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    /// Set when hidden (only moderators see it then).
    hidden: Option<HiddenDto>,
    /// You hear of new posts.
    following: bool,
    /// You moderate it (pin, lock, hide).
    can_moderate: bool,
    /// The opening post's reactions.
    reactions: Vec<ReactionCountDto>,
}

impl From<Thread> for DiscussionDto {
    fn from(t: Thread) -> Self {
        Self {
            id: t.id,
            module_id: t.module_id,
            section_id: t.section_id,
            author_id: t.author_id,
            author_name: t.author_name,
            title: t.title,
            body: t.body,
            mentions: t.mentions,
            pinned: t.pinned,
            locked: t.locked,
            resolved: t.resolved_at.is_some(),
            resolved_at: t.resolved_at,
            resolved_by: t.resolved_by,
            reply_count: t.reply_count,
            last_post_at: t.last_post_at,
            created_at: t.created_at,
            hidden: t.hidden.map(HiddenDto::from),
            following: t.following,
            can_moderate: t.moderator,
            reactions: ReactionCountDto::list(t.reactions),
        }
    }
}

/// A reply.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DiscussionPostDto {
    id: Uuid,
    discussion_id: Uuid,
    /// What it answers: the opening post (the discussion's id) or another reply.
    parent_id: Uuid,
    author_id: Uuid,
    author_name: String,
    /// Plain text.
    body: String,
    mentions: Vec<Uuid>,
    created_at: DateTime<Utc>,
    /// Set when hidden (only moderators see it then).
    hidden: Option<HiddenDto>,
    reactions: Vec<ReactionCountDto>,
}

impl From<Post> for DiscussionPostDto {
    fn from(p: Post) -> Self {
        Self {
            id: p.id,
            discussion_id: p.thread_id,
            parent_id: p.parent_id,
            author_id: p.author_id,
            author_name: p.author_name,
            body: p.body,
            mentions: p.mentions,
            created_at: p.created_at,
            hidden: p.hidden.map(HiddenDto::from),
            reactions: ReactionCountDto::list(p.reactions),
        }
    }
}

/// A new discussion.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "module_id": "0193a1c4-6f1e-7a52-9e2b-5d3c1f0a9b7e",
    "title": "Which extinguisher for an electrical fire?",
    "body": "The section on classes of fire lists two; which one do we keep at the workshop?",
    "mentions": []
}))]
pub(crate) struct CreateDiscussion {
    /// The module.
    module_id: Uuid,
    /// One of its sections, if it is about one.
    section_id: Option<Uuid>,
    /// One line.
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    title: String,
    /// The opening post (plain text).
    #[validate(
        length(min = 1, max = 10000),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 10000, pattern = "\\S")]
    body: String,
    /// Members to mention (ids of active members; notified when they may see the module), besides
    /// those the text mentions as `@<member id>` or `@<email>`.
    #[serde(default)]
    #[validate(length(max = 20))]
    #[schema(max_items = 20)]
    mentions: Vec<Uuid>,
}

/// Start a discussion.
///
/// Any member who may see the module (not VIEWER; API keys only with `act_as_member`); you
/// follow it. 404 `module_not_found`, `section_not_found` (a section of another module); 422
/// `member_not_found` in `mentions`. At most 10 posts a minute per member (429 `rate_limited`).
#[utoipa::path(tag = "discussions", request_body = CreateDiscussion,
    responses((status = 201, body = DiscussionDto, description = "Started"), AuthErrors, InputErrors, NotFound))]
#[post("/discussions")]
pub(crate) async fn create_discussion(
    ctx: Ctx,
    body: ValidJson<CreateDiscussion>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let input = NewThread {
        module_id: b.module_id,
        section_id: b.section_id,
        title: b.title,
        body: b.body,
        mentions: b.mentions,
    };
    limit_posts(&ctx).await?;
    let now = ctx.now;
    let thread = ctx
        .write(async |conn| discussions::create(conn, &ctx.actor, &input, now).await)
        .await?;
    Ok(HttpResponse::Created().json(DiscussionDto::from(thread)))
}

/// Counts a post against the member's limit (429 `rate_limited` past it).
async fn limit_posts(ctx: &Ctx) -> Result<(), ApiError> {
    let key = format!(
        "discussion_posts:{}:{}",
        ctx.actor.tenant_id, ctx.actor.user_id
    );
    crate::routes::auth::rate_limit(&ctx.state, &key, POSTS_PER_MINUTE).await
}

/// Get a discussion with its opening post.
///
/// Any member who may see its module; a hidden discussion only its moderators (404
/// `discussion_not_found` otherwise, another tenant's included).
#[utoipa::path(tag = "discussions",
    params(("discussion_id" = Uuid, Path, description = "The discussion")),
    responses((status = 200, body = DiscussionDto, description = "The discussion"), AuthErrors, NotFound))]
#[get("/discussions/{discussion_id}")]
pub(crate) async fn get_discussion(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<DiscussionDto>, ApiError> {
    let id = path.into_inner();
    let thread = ctx
        .write(async |conn| discussions::get(conn, &ctx.actor, id).await)
        .await?;
    Ok(web::Json(thread.into()))
}

/// Changes to a discussion's state; fields left out are kept.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "resolved": true }))]
pub(crate) struct UpdateDiscussion {
    /// Pin or unpin (moderators).
    pinned: Option<bool>,
    /// Lock or unlock (moderators).
    locked: Option<bool>,
    /// Resolve or reopen (its author or a moderator).
    resolved: Option<bool>,
}

/// Pin, lock or resolve a discussion.
///
/// Pinning and locking are for the module's moderators (its mentors, ADMIN and above signed in);
/// resolving for the discussion's author or a moderator; 403 `forbidden` otherwise.
#[utoipa::path(tag = "discussions", request_body = UpdateDiscussion,
    params(("discussion_id" = Uuid, Path, description = "The discussion")),
    responses((status = 200, body = DiscussionDto, description = "Updated"), AuthErrors, InputErrors, NotFound))]
#[patch("/discussions/{discussion_id}")]
pub(crate) async fn update_discussion(
    ctx: Ctx,
    path: web::Path<Uuid>,
    body: ValidJson<UpdateDiscussion>,
) -> Result<web::Json<DiscussionDto>, ApiError> {
    let id = path.into_inner();
    let b = body.into_inner();
    let changes = ThreadChanges {
        pinned: b.pinned,
        locked: b.locked,
        resolved: b.resolved,
    };
    let now = ctx.now;
    let thread = ctx
        .write(async |conn| discussions::update(conn, &ctx.actor, id, changes, now).await)
        .await?;
    Ok(web::Json(thread.into()))
}

/// Follow a discussion.
///
/// You hear of its new posts on your event stream (`discussion.post_created`) while you may
/// see it. Starting or replying to a discussion follows it.
#[utoipa::path(tag = "discussions",
    params(("discussion_id" = Uuid, Path, description = "The discussion")),
    responses((status = 200, body = DiscussionDto, description = "Followed"), AuthErrors, NotFound))]
#[put("/discussions/{discussion_id}/follow")]
pub(crate) async fn follow_discussion(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<DiscussionDto>, ApiError> {
    let id = path.into_inner();
    let now = ctx.now;
    let thread = ctx
        .write(async |conn| discussions::follow(conn, &ctx.actor, id, true, now).await)
        .await?;
    Ok(web::Json(thread.into()))
}

/// Unfollow a discussion.
///
/// Its new posts no longer reach your stream (replies to you and mentions still notify you).
#[utoipa::path(tag = "discussions",
    params(("discussion_id" = Uuid, Path, description = "The discussion")),
    responses((status = 200, body = DiscussionDto, description = "Unfollowed"), AuthErrors, NotFound))]
#[delete("/discussions/{discussion_id}/follow")]
pub(crate) async fn unfollow_discussion(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<DiscussionDto>, ApiError> {
    let id = path.into_inner();
    let now = ctx.now;
    let thread = ctx
        .write(async |conn| discussions::follow(conn, &ctx.actor, id, false, now).await)
        .await?;
    Ok(web::Json(thread.into()))
}

/// `?limit=&cursor=` of a discussion's replies.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct PostQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200, default = 50)]
    #[serde(default, deserialize_with = "crate::routes::common::page_limit")]
    limit: Option<u32>,
    /// The previous page's `next_cursor`.
    #[param(max_length = 1024)]
    cursor: Option<String>,
}

/// List a discussion's replies.
///
/// Oldest first, a page at a time; each names its `parent_id` (the discussion's id for a reply
/// to the opening post), so clients nest them. Hidden replies are listed for moderators only.
#[utoipa::path(tag = "discussions", params(("discussion_id" = Uuid, Path, description = "The discussion"), PostQuery),
    responses((status = 200, body = PageOf<DiscussionPostDto>, description = "The replies"), AuthErrors, InputErrors, NotFound))]
#[get("/discussions/{discussion_id}/posts")]
pub(crate) async fn list_discussion_posts(
    ctx: Ctx,
    path: web::Path<Uuid>,
    query: web::Query<PostQuery>,
) -> Result<web::Json<PageOf<DiscussionPostDto>>, ApiError> {
    let id = path.into_inner();
    let q = query.into_inner();
    let page = guild_kernel::PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    let posts = ctx
        .write(async |conn| discussions::posts(conn, &ctx.actor, id, &page).await)
        .await?;
    Ok(web::Json(PageOf::map(posts, DiscussionPostDto::from)))
}

/// A reply.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "body": "The CO2 one: powder ruins the machines.",
    "mentions": []
}))]
pub(crate) struct CreateDiscussionPost {
    /// What it answers: a reply of this discussion; the opening post when left out.
    parent_id: Option<Uuid>,
    /// Plain text.
    #[validate(
        length(min = 1, max = 10000),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 10000, pattern = "\\S")]
    body: String,
    /// Members to mention, besides those the text mentions as `@<member id>` or `@<email>`.
    #[serde(default)]
    #[validate(length(max = 20))]
    #[schema(max_items = 20)]
    mentions: Vec<Uuid>,
}

/// Reply in a discussion.
///
/// Any member who may see it; you follow it. The author of what you answer and the members you
/// mention get a COMMENT_REPLY notification (never you). 409 `discussion_locked` (only
/// moderators reply to a locked discussion), `discussion_full` (1,000 posts); 404
/// `post_not_found` for a parent that is not a visible post of this discussion. At most 10
/// posts a minute per member (429 `rate_limited`).
#[utoipa::path(tag = "discussions", request_body = CreateDiscussionPost,
    params(("discussion_id" = Uuid, Path, description = "The discussion")),
    responses((status = 201, body = DiscussionPostDto, description = "Posted"), AuthErrors, InputErrors, NotFound, Conflict))]
#[post("/discussions/{discussion_id}/posts")]
pub(crate) async fn create_discussion_post(
    ctx: Ctx,
    path: web::Path<Uuid>,
    body: ValidJson<CreateDiscussionPost>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let b = body.into_inner();
    let input = NewPost {
        parent_id: b.parent_id,
        body: b.body,
        mentions: b.mentions,
    };
    limit_posts(&ctx).await?;
    let now = ctx.now;
    let post = ctx
        .write(async |conn| discussions::reply(conn, &ctx.actor, id, &input, now).await)
        .await?;
    Ok(HttpResponse::Created().json(DiscussionPostDto::from(post)))
}

/// Why a post is hidden.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "reason": "Personal details of a colleague" }))]
pub(crate) struct HideDiscussionPost {
    /// Shown to moderators, written to the audit log.
    #[validate(
        length(min = 1, max = 500),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 500, pattern = "\\S")]
    reason: String,
}

/// Hide a post for moderation.
///
/// The module's moderators (its mentors, ADMIN and above signed in; 403 `forbidden` otherwise)
/// hide a reply, or the opening post (the discussion's id), which hides the discussion. Members
/// no longer see it; moderators do, with the reason. Written to the audit log.
#[utoipa::path(tag = "discussions", request_body = HideDiscussionPost,
    params(("discussion_id" = Uuid, Path, description = "The discussion"), ("post_id" = Uuid, Path, description = "The post")),
    responses((status = 204, description = "Hidden"), AuthErrors, InputErrors, NotFound))]
#[put("/discussions/{discussion_id}/posts/{post_id}/hidden")]
pub(crate) async fn hide_discussion_post(
    ctx: Ctx,
    path: web::Path<(Uuid, Uuid)>,
    body: ValidJson<HideDiscussionPost>,
) -> Result<HttpResponse, ApiError> {
    let (thread, post) = path.into_inner();
    let reason = body.into_inner().reason;
    let now = ctx.now;
    ctx.write(async |conn| discussions::hide(conn, &ctx.actor, thread, post, &reason, now).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Show a hidden post again.
///
/// The module's moderators only (403 `forbidden` otherwise). Written to the audit log.
#[utoipa::path(tag = "discussions",
    params(("discussion_id" = Uuid, Path, description = "The discussion"), ("post_id" = Uuid, Path, description = "The post")),
    responses((status = 204, description = "Shown"), AuthErrors, NotFound))]
#[delete("/discussions/{discussion_id}/posts/{post_id}/hidden")]
pub(crate) async fn unhide_discussion_post(
    ctx: Ctx,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (thread, post) = path.into_inner();
    ctx.write(async |conn| discussions::unhide(conn, &ctx.actor, thread, post).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// React to a post.
///
/// Any member who may see the post (react to the opening post with the discussion's id). One
/// reaction per member and emoji: reacting again changes nothing. `emoji` is one of
/// `thumbs_up`, `heart`, `tada`, `laugh`, `surprised`, `sad`, `thinking`, `eyes`, `rocket`,
/// `check`, `clap`, `pray` (422 `emoji_not_allowed` in `errors[]` otherwise).
#[utoipa::path(tag = "discussions",
    params(("discussion_id" = Uuid, Path, description = "The discussion"), ("post_id" = Uuid, Path, description = "The post"), ("emoji" = guild_social::reactions::Emoji, Path, description = "The emoji's name")),
    responses((status = 200, body = ReactionsDto, description = "The post's reactions"), AuthErrors, InputErrors, NotFound))]
#[put("/discussions/{discussion_id}/posts/{post_id}/reactions/{emoji}")]
pub(crate) async fn add_discussion_post_reaction(
    ctx: Ctx,
    path: web::Path<(Uuid, Uuid, String)>,
) -> Result<web::Json<ReactionsDto>, ApiError> {
    react(&ctx, path.into_inner(), true).await
}

/// Adds (or removes) the actor's reaction to a post of a discussion.
async fn react(
    ctx: &Ctx,
    (thread, post, emoji): (Uuid, Uuid, String),
    add: bool,
) -> Result<web::Json<ReactionsDto>, ApiError> {
    let now = ctx.now;
    let counts = ctx
        .write(async |conn| {
            discussions::react(conn, &ctx.actor, thread, post, &emoji, add, now).await
        })
        .await?;
    Ok(ReactionsDto::json(counts))
}

/// Remove your reaction from a post.
///
/// Removing one you did not make changes nothing.
#[utoipa::path(tag = "discussions",
    params(("discussion_id" = Uuid, Path, description = "The discussion"), ("post_id" = Uuid, Path, description = "The post"), ("emoji" = guild_social::reactions::Emoji, Path, description = "The emoji's name")),
    responses((status = 200, body = ReactionsDto, description = "The post's reactions"), AuthErrors, InputErrors, NotFound))]
#[delete("/discussions/{discussion_id}/posts/{post_id}/reactions/{emoji}")]
pub(crate) async fn remove_discussion_post_reaction(
    ctx: Ctx,
    path: web::Path<(Uuid, Uuid, String)>,
) -> Result<web::Json<ReactionsDto>, ApiError> {
    react(&ctx, path.into_inner(), false).await
}
