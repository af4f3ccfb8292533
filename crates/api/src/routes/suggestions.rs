//! Knowledge suggestions: `/v1/suggestions`. Members propose ideas (optionally anonymous: the
//! author is then named by no response, to anyone), vote for them once each, and discuss them in
//! threaded comments; MANAGE_SUGGESTIONS holders approve, reject or convert them into DRAFT
//! modules. Popularity, status changes and published conversions notify through the worker
//! ([`crate::reactions::suggestions`]).

use std::time::Duration;

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use chrono::{DateTime, Utc};
use guild_kernel::ports::RateRule;
use guild_social::reactions::TargetKind;
use guild_social::suggestions::{
    self, Comment, Filter, NewSuggestion, Settings, Sort, Suggestion, SuggestionStatus,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::{Ctx, Permitted};
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::routes::common::{AuthErrors, Conflict, InputErrors, NotFound, PageOf, PageParams};
use crate::routes::discussions::{ReactionCountDto, ReactionsDto};
use crate::routes::segment;

/// How many suggestions one member proposes per hour.
pub const SUGGESTIONS_PER_HOUR: RateRule = RateRule {
    limit: 10,
    window: Duration::from_secs(3600),
};

/// How many comments one member writes on suggestions per minute.
pub const COMMENTS_PER_MINUTE: RateRule = RateRule {
    limit: 10,
    window: Duration::from_secs(60),
};

/// Registers `/v1/suggestions`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/suggestions")
            .service(get_suggestion_settings)
            .service(update_suggestion_settings)
            .service(list_suggestions)
            .service(create_suggestion)
            .service(get_suggestion)
            .service(add_suggestion_vote)
            .service(remove_suggestion_vote)
            .service(change_suggestion_status)
            .service(create_suggestion_module)
            .service(list_suggestion_comments)
            .service(create_suggestion_comment)
            .service(update_suggestion_comment)
            .service(delete_suggestion_comment)
            .service(add_suggestion_reaction)
            .service(remove_suggestion_reaction),
    );
}

/// A member named on a suggestion or comment.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuthorDto {
    id: Uuid,
    name: String,
}

/// A knowledge suggestion.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SuggestionDto {
    id: Uuid,
    /// Who proposed it; absent when it is anonymous (for everyone, administrators included).
    author: Option<AuthorDto>,
    /// Its author is shown to nobody.
    anonymous: bool,
    /// You proposed it.
    mine: bool,
    title: String,
    /// Plain text.
    description: String,
    status: SuggestionStatus,
    /// The reviewer's reason (absent while `OPEN`).
    status_reason: Option<String>,
    status_changed_at: Option<DateTime<Utc>>,
    vote_count: i32,
    /// Votes of the last 7 days (what `sort=trending` orders by).
    recent_votes: i64,
    /// You voted for it.
    voted: bool,
    /// It reached the popularity threshold.
    popular: bool,
    /// When it first did.
    popular_at: Option<DateTime<Utc>>,
    /// The module it was converted into (`CONVERTED`, until that module is deleted).
    module_id: Option<Uuid>,
    /// Comments, deleted ones left out.
    comment_count: i64,
    created_at: DateTime<Utc>,
    reactions: Vec<ReactionCountDto>,
}

impl From<Suggestion> for SuggestionDto {
    fn from(s: Suggestion) -> Self {
        Self {
            id: s.id,
            author: s.author.map(|a| AuthorDto {
                id: a.id,
                name: a.name,
            }),
            anonymous: s.anonymous,
            mine: s.mine,
            title: s.title,
            description: s.description,
            status: s.status,
            status_reason: s.status_reason,
            status_changed_at: s.status_changed_at,
            vote_count: s.vote_count,
            recent_votes: s.recent_votes,
            voted: s.voted,
            popular: s.popular_at.is_some(),
            popular_at: s.popular_at,
            module_id: s.module_id,
            comment_count: s.comment_count,
            created_at: s.created_at,
            reactions: ReactionCountDto::list(s.reactions),
        }
    }
}

/// How a list of suggestions is ordered.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum SortParam {
    /// Most votes first.
    #[default]
    Top,
    /// Newest first.
    New,
    /// Most votes in the last 7 days first.
    Trending,
}

/// Which suggestions, in which order, a page at a time.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct SuggestionQuery {
    /// `top` (default), `new` or `trending`; ties newest first.
    #[serde(default)]
    #[param(inline)]
    sort: SortParam,
    /// Only suggestions of this status.
    status: Option<SuggestionStatus>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200, default = 50)]
    #[serde(default, deserialize_with = "crate::routes::common::page_limit")]
    limit: Option<u32>,
    /// The previous page's `next_cursor` (for the same `sort` and `status`).
    #[param(max_length = 1024)]
    cursor: Option<String>,
}

/// List the suggestions.
///
/// Any member (a VIEWER too; API keys with `act_as_member` or MANAGE_SUGGESTIONS), every
/// suggestion of the tenant: `sort=top` (most votes), `new` or `trending` (most votes in the last
/// 7 days), optionally of one `status`.
#[utoipa::path(tag = "suggestions", params(SuggestionQuery),
    responses((status = 200, body = PageOf<SuggestionDto>, description = "The suggestions"), AuthErrors, InputErrors))]
#[get("/suggestions")]
pub(crate) async fn list_suggestions(
    ctx: Ctx<Permitted>,
    query: web::Query<SuggestionQuery>,
) -> Result<web::Json<PageOf<SuggestionDto>>, ApiError> {
    let q = query.into_inner();
    let filter = Filter {
        sort: match q.sort {
            SortParam::Top => Sort::Top,
            SortParam::New => Sort::New,
            SortParam::Trending => Sort::Trending,
        },
        status: q.status,
    };
    let page = guild_kernel::PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    let now = ctx.now;
    let items = ctx
        .write(async |conn| suggestions::list(conn, &ctx.actor, filter, &page, now).await)
        .await?;
    Ok(web::Json(PageOf::map(items, SuggestionDto::from)))
}

/// A new suggestion.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "title": "A module on giving feedback",
    "description": "Short scenarios on giving and receiving feedback in reviews, with a checklist.",
    "anonymous": false
}))]
pub(crate) struct CreateSuggestion {
    /// One line.
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    title: String,
    /// The idea (plain text).
    #[validate(
        length(min = 1, max = 10000),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 10000, pattern = "\\S")]
    description: String,
    /// Show you as its author to nobody (the audit log still records it).
    #[serde(default)]
    anonymous: bool,
}

/// Propose a suggestion.
///
/// Any member but a VIEWER (API keys only with `act_as_member`). Anonymous, no response names
/// you as its author, to anyone; you see it as `mine`. At most 20 OPEN suggestions per member
/// (409 `suggestion_limit_reached`) and 10 new ones an hour (429 `rate_limited`).
#[utoipa::path(tag = "suggestions", request_body = CreateSuggestion,
    responses((status = 201, body = SuggestionDto, description = "Proposed"), AuthErrors, InputErrors, Conflict))]
#[post("/suggestions")]
pub(crate) async fn create_suggestion(
    ctx: Ctx,
    body: ValidJson<CreateSuggestion>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let input = NewSuggestion {
        title: b.title,
        description: b.description,
        anonymous: b.anonymous,
    };
    let key = format!("suggestions:{}:{}", ctx.actor.tenant_id, ctx.actor.user_id);
    crate::routes::auth::rate_limit(&ctx.state, &key, SUGGESTIONS_PER_HOUR).await?;
    let now = ctx.now;
    let created = ctx
        .write(async |conn| suggestions::create(conn, &ctx.actor, &input, now).await)
        .await?;
    Ok(HttpResponse::Created().json(SuggestionDto::from(created)))
}

/// Get a suggestion.
///
/// Any member; 404 `suggestion_not_found` (another tenant's included).
#[utoipa::path(tag = "suggestions",
    params(("suggestion_id" = Uuid, Path, description = "The suggestion")),
    responses((status = 200, body = SuggestionDto, description = "The suggestion"), AuthErrors, NotFound))]
#[get("/suggestions/{suggestion_id}")]
pub(crate) async fn get_suggestion(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<web::Json<SuggestionDto>, ApiError> {
    let id = path.into_inner();
    let now = ctx.now;
    let item = ctx
        .write(async |conn| suggestions::get(conn, &ctx.actor, id, now).await)
        .await?;
    Ok(web::Json(item.into()))
}

/// Vote for a suggestion.
///
/// Any member but a VIEWER, once (voting again changes nothing), never for your own (403
/// `cannot_vote_own_suggestion`), while it is `OPEN` or `APPROVED` (409 `suggestion_closed`).
/// The vote that first brings it to the tenant's popularity threshold tells the
/// MANAGE_SUGGESTIONS holders (SUGGESTION_POPULAR) and earns its author TOP_SUGGESTION XP, once.
#[utoipa::path(tag = "suggestions",
    params(("suggestion_id" = Uuid, Path, description = "The suggestion")),
    responses((status = 200, body = SuggestionDto, description = "Voted"), AuthErrors, NotFound, Conflict))]
#[put("/suggestions/{suggestion_id}/vote")]
pub(crate) async fn add_suggestion_vote(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<SuggestionDto>, ApiError> {
    let id = path.into_inner();
    let now = ctx.now;
    let item = ctx
        .write(async |conn| suggestions::vote(conn, &ctx.actor, id, now).await)
        .await?;
    Ok(web::Json(item.into()))
}

/// Take back your vote.
///
/// Taking back a vote you did not give changes nothing; 409 `suggestion_closed` once it is
/// `REJECTED` or `CONVERTED`.
#[utoipa::path(tag = "suggestions",
    params(("suggestion_id" = Uuid, Path, description = "The suggestion")),
    responses((status = 200, body = SuggestionDto, description = "Not voted"), AuthErrors, NotFound, Conflict))]
#[delete("/suggestions/{suggestion_id}/vote")]
pub(crate) async fn remove_suggestion_vote(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<SuggestionDto>, ApiError> {
    let id = path.into_inner();
    let now = ctx.now;
    let item = ctx
        .write(async |conn| suggestions::unvote(conn, &ctx.actor, id, now).await)
        .await?;
    Ok(web::Json(item.into()))
}

/// What a review decides (create a module from a suggestion to make it `CONVERTED`).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum ReviewStatus {
    /// It should be done.
    Approved,
    /// It will not be.
    Rejected,
}

/// A review decision.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "status": "APPROVED", "reason": "We will write it next quarter." }))]
pub(crate) struct ChangeSuggestionStatus {
    /// The decision.
    status: ReviewStatus,
    /// Why (told to its author and voters).
    #[validate(
        length(min = 1, max = 500),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 500, pattern = "\\S")]
    reason: String,
}

/// Approve or reject a suggestion.
///
/// MANAGE_SUGGESTIONS holders (ADMIN and above, or by grant), never on a suggestion of their own
/// (403 `cannot_review_own_suggestion`, whatever the role): `OPEN` → `APPROVED` or `REJECTED`,
/// `APPROVED` → `REJECTED` (409 `invalid_status_transition` otherwise). Its author and voters
/// get SUGGESTION_STATUS_CHANGED.
#[utoipa::path(tag = "suggestions", request_body = ChangeSuggestionStatus,
    params(("suggestion_id" = Uuid, Path, description = "The suggestion")),
    responses((status = 200, body = SuggestionDto, description = "Changed"), AuthErrors, InputErrors, NotFound, Conflict))]
#[put("/suggestions/{suggestion_id}/status")]
pub(crate) async fn change_suggestion_status(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    body: ValidJson<ChangeSuggestionStatus>,
) -> Result<web::Json<SuggestionDto>, ApiError> {
    let id = path.into_inner();
    let b = body.into_inner();
    let status = match b.status {
        ReviewStatus::Approved => SuggestionStatus::Approved,
        ReviewStatus::Rejected => SuggestionStatus::Rejected,
    };
    let now = ctx.now;
    let item = ctx
        .write(async |conn| {
            suggestions::set_status(conn, &ctx.actor, id, status, &b.reason, now).await
        })
        .await?;
    Ok(web::Json(item.into()))
}

/// Converting a suggestion into a module.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "reason": "Drafted as a module: add the checklist before publishing." }))]
pub(crate) struct CreateSuggestionModule {
    /// Told to its author and voters ("Converted into a module" when left out).
    #[validate(
        length(min = 1, max = 500),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 500, pattern = "\\S")]
    reason: Option<String>,
}

/// What converting a suggestion made.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SuggestionModuleDto {
    /// The suggestion, now `CONVERTED`, naming the module.
    suggestion: SuggestionDto,
    /// The new DRAFT module (`GET /v1/modules/{module_id}`).
    module_id: Uuid,
    /// Its first section: the suggestion's text.
    section_id: Uuid,
    /// The suggestion it came from.
    suggestion_id: Uuid,
}

/// Convert a suggestion into a DRAFT module.
///
/// A MANAGE_SUGGESTIONS holder who may also create modules (MANAGE_ALL_MODULES or
/// MANAGE_OWN_MODULES; 403 `forbidden` otherwise), never on their own suggestion (403
/// `cannot_review_own_suggestion`), of an `OPEN` or `APPROVED` one (409
/// `invalid_status_transition`). The module takes its title and description and a first text
/// section with its text; the suggestion becomes `CONVERTED` and names it. Its author and voters
/// get SUGGESTION_STATUS_CHANGED now, and its voters NEW_KNOWLEDGE when the module is first
/// published.
#[utoipa::path(tag = "suggestions", request_body = CreateSuggestionModule,
    params(("suggestion_id" = Uuid, Path, description = "The suggestion")),
    responses((status = 201, body = SuggestionModuleDto, description = "Converted"), AuthErrors, InputErrors, NotFound, Conflict))]
#[post("/suggestions/{suggestion_id}/module")]
pub(crate) async fn create_suggestion_module(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    body: ValidJson<CreateSuggestionModule>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let reason = body.into_inner().reason;
    let now = ctx.now;
    let done = ctx
        .write(async |conn| {
            suggestions::convert(conn, &ctx.actor, id, reason.as_deref(), now).await
        })
        .await?;
    Ok(HttpResponse::Created().json(SuggestionModuleDto {
        suggestion_id: done.suggestion.id,
        suggestion: done.suggestion.into(),
        module_id: done.module_id,
        section_id: done.section_id,
    }))
}

/// A comment on a suggestion.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SuggestionCommentDto {
    id: Uuid,
    suggestion_id: Uuid,
    /// The comment it answers.
    parent_id: Option<Uuid>,
    /// Who wrote it (absent once deleted).
    author: Option<AuthorDto>,
    /// You wrote it.
    mine: bool,
    /// Plain text (empty once deleted).
    body: String,
    created_at: DateTime<Utc>,
    edited_at: Option<DateTime<Utc>>,
    /// Deleted: kept so that its replies keep their place.
    deleted: bool,
}

impl From<Comment> for SuggestionCommentDto {
    fn from(c: Comment) -> Self {
        Self {
            id: c.id,
            suggestion_id: c.suggestion_id,
            parent_id: c.parent_id,
            author: c.author.map(|a| AuthorDto {
                id: a.id,
                name: a.name,
            }),
            mine: c.mine,
            body: c.body,
            created_at: c.created_at,
            edited_at: c.edited_at,
            deleted: c.deleted,
        }
    }
}

/// List a suggestion's comments.
///
/// Any member; oldest first, replies naming their `parent_id`, deleted ones as tombstones.
#[utoipa::path(tag = "suggestions", params(("suggestion_id" = Uuid, Path, description = "The suggestion"), PageParams),
    responses((status = 200, body = PageOf<SuggestionCommentDto>, description = "The comments"), AuthErrors, InputErrors, NotFound))]
#[get("/suggestions/{suggestion_id}/comments")]
pub(crate) async fn list_suggestion_comments(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    query: web::Query<PageParams>,
) -> Result<web::Json<PageOf<SuggestionCommentDto>>, ApiError> {
    let id = path.into_inner();
    let page = guild_kernel::PageRequest::from(&query.into_inner());
    let items = ctx
        .write(async |conn| suggestions::comments(conn, &ctx.actor, id, &page).await)
        .await?;
    Ok(web::Json(PageOf::map(items, SuggestionCommentDto::from)))
}

/// A new comment.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "body": "Yes, and add the ladder checklist.", "parent_id": null }))]
pub(crate) struct CreateSuggestionComment {
    /// Plain text.
    #[validate(
        length(min = 1, max = 5000),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 5000, pattern = "\\S")]
    body: String,
    /// The comment of this suggestion it answers.
    parent_id: Option<Uuid>,
}

/// Comment on a suggestion.
///
/// Any member but a VIEWER (API keys only with `act_as_member`); comments are never anonymous.
/// 404 `comment_not_found` for a `parent_id` that is not a comment of this suggestion (or is
/// deleted); at most 1000 comments a suggestion (409 `suggestion_comments_full`) and 10 a minute
/// per member (429 `rate_limited`).
#[utoipa::path(tag = "suggestions", request_body = CreateSuggestionComment,
    params(("suggestion_id" = Uuid, Path, description = "The suggestion")),
    responses((status = 201, body = SuggestionCommentDto, description = "Written"), AuthErrors, InputErrors, NotFound, Conflict))]
#[post("/suggestions/{suggestion_id}/comments")]
pub(crate) async fn create_suggestion_comment(
    ctx: Ctx,
    path: web::Path<Uuid>,
    body: ValidJson<CreateSuggestionComment>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let b = body.into_inner();
    let key = format!(
        "suggestion_comments:{}:{}",
        ctx.actor.tenant_id, ctx.actor.user_id
    );
    crate::routes::auth::rate_limit(&ctx.state, &key, COMMENTS_PER_MINUTE).await?;
    let now = ctx.now;
    let comment = ctx
        .write(async |conn| {
            suggestions::comment(conn, &ctx.actor, id, b.parent_id, &b.body, now).await
        })
        .await?;
    Ok(HttpResponse::Created().json(SuggestionCommentDto::from(comment)))
}

/// A comment's new text.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "body": "Yes, and add the ladder checklist to it." }))]
pub(crate) struct UpdateSuggestionComment {
    /// Plain text.
    #[validate(
        length(min = 1, max = 5000),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 5000, pattern = "\\S")]
    body: String,
}

/// Edit your comment.
///
/// Its author only (403 `forbidden` for anyone else's); 404 `comment_not_found` once deleted.
#[utoipa::path(tag = "suggestions", request_body = UpdateSuggestionComment,
    params(("suggestion_id" = Uuid, Path, description = "The suggestion"), ("comment_id" = Uuid, Path, description = "The comment")),
    responses((status = 200, body = SuggestionCommentDto, description = "Edited"), AuthErrors, InputErrors, NotFound))]
#[patch("/suggestions/{suggestion_id}/comments/{comment_id}")]
pub(crate) async fn update_suggestion_comment(
    ctx: Ctx,
    path: web::Path<(Uuid, Uuid)>,
    body: ValidJson<UpdateSuggestionComment>,
) -> Result<web::Json<SuggestionCommentDto>, ApiError> {
    let (id, comment) = path.into_inner();
    let text = body.into_inner().body;
    let now = ctx.now;
    let item = ctx
        .write(async |conn| {
            suggestions::edit_comment(conn, &ctx.actor, id, comment, &text, now).await
        })
        .await?;
    Ok(web::Json(item.into()))
}

/// Delete a comment.
///
/// Its author, or a MANAGE_SUGGESTIONS holder (moderation, audited); 403 `forbidden` for anyone
/// else. It stays as a tombstone without its text or author; deleting it again changes nothing.
#[utoipa::path(tag = "suggestions",
    params(("suggestion_id" = Uuid, Path, description = "The suggestion"), ("comment_id" = Uuid, Path, description = "The comment")),
    responses((status = 204, description = "Deleted"), AuthErrors, NotFound))]
#[delete("/suggestions/{suggestion_id}/comments/{comment_id}")]
pub(crate) async fn delete_suggestion_comment(
    ctx: Ctx<Permitted>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (id, comment) = path.into_inner();
    let now = ctx.now;
    ctx.write(async |conn| suggestions::delete_comment(conn, &ctx.actor, id, comment, now).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// React to a suggestion.
///
/// Any member but a VIEWER; one reaction per member and emoji (reacting again changes nothing).
/// `emoji` is one of the allow-listed names (422 `emoji_not_allowed` in `errors[]` otherwise).
#[utoipa::path(tag = "suggestions",
    params(("suggestion_id" = Uuid, Path, description = "The suggestion"), ("emoji" = guild_social::reactions::Emoji, Path, description = "The emoji's name")),
    responses((status = 200, body = ReactionsDto, description = "Its reactions"), AuthErrors, InputErrors, NotFound))]
#[put("/suggestions/{suggestion_id}/reactions/{emoji}")]
pub(crate) async fn add_suggestion_reaction(
    ctx: Ctx,
    path: web::Path<(Uuid, String)>,
) -> Result<web::Json<ReactionsDto>, ApiError> {
    let (id, emoji) = path.into_inner();
    ReactionsDto::add(&ctx, TargetKind::Suggestion, id, &emoji).await
}

/// Remove your reaction from a suggestion.
///
/// Removing one you did not make changes nothing.
#[utoipa::path(tag = "suggestions",
    params(("suggestion_id" = Uuid, Path, description = "The suggestion"), ("emoji" = guild_social::reactions::Emoji, Path, description = "The emoji's name")),
    responses((status = 200, body = ReactionsDto, description = "Its reactions"), AuthErrors, InputErrors, NotFound))]
#[delete("/suggestions/{suggestion_id}/reactions/{emoji}")]
pub(crate) async fn remove_suggestion_reaction(
    ctx: Ctx,
    path: web::Path<(Uuid, String)>,
) -> Result<web::Json<ReactionsDto>, ApiError> {
    let (id, emoji) = path.into_inner();
    ReactionsDto::remove(&ctx, TargetKind::Suggestion, id, &emoji).await
}

/// The tenant's suggestion settings.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SuggestionSettingsDto {
    /// Votes that make a suggestion popular (5 unless changed).
    popularity_threshold: i32,
}

impl From<Settings> for SuggestionSettingsDto {
    fn from(s: Settings) -> Self {
        Self {
            popularity_threshold: s.popularity_threshold,
        }
    }
}

/// A change of the suggestion settings.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "popularity_threshold": 10 }))]
pub(crate) struct UpdateSuggestionSettings {
    /// Votes that make a suggestion popular, 1 to 10000.
    #[validate(range(min = 1, max = 10000))]
    #[schema(minimum = 1, maximum = 10000)]
    popularity_threshold: i32,
}

/// Get the suggestion settings.
///
/// Any member: how many votes make a suggestion popular.
#[utoipa::path(tag = "suggestions",
    responses((status = 200, body = SuggestionSettingsDto, description = "The settings"), AuthErrors))]
#[get("/suggestions/settings")]
pub(crate) async fn get_suggestion_settings(
    ctx: Ctx<Permitted>,
) -> Result<web::Json<SuggestionSettingsDto>, ApiError> {
    let settings = ctx
        .write(async |conn| suggestions::get_settings(conn, &ctx.actor).await)
        .await?;
    Ok(web::Json(settings.into()))
}

/// Update the suggestion settings.
///
/// MANAGE_SUGGESTIONS holders; audited. Suggestions already popular stay so; the others become
/// popular at their next vote that reaches the new threshold.
#[utoipa::path(tag = "suggestions", request_body = UpdateSuggestionSettings,
    responses((status = 200, body = SuggestionSettingsDto, description = "Updated"), AuthErrors, InputErrors))]
#[patch("/suggestions/settings")]
pub(crate) async fn update_suggestion_settings(
    ctx: Ctx<Permitted>,
    body: ValidJson<UpdateSuggestionSettings>,
) -> Result<web::Json<SuggestionSettingsDto>, ApiError> {
    let threshold = body.into_inner().popularity_threshold;
    let now = ctx.now;
    let settings = ctx
        .write(async |conn| suggestions::update_settings(conn, &ctx.actor, threshold, now).await)
        .await?;
    Ok(web::Json(settings.into()))
}
