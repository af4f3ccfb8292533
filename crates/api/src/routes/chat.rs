//! `/v1/chat`: chat rooms (the tenant's room, a room per module, direct conversations), their
//! messages, read markers and unread counts, and mentors' confirmed answers.
//!
//! Every change to a room is appended, in the transaction that makes it, to the stream of each
//! member who joined the room and may still read it (`guild_social::chat::rooms::audience`), and
//! published once that commits: `chat.message_created`, `chat.message_updated` (edited or
//! confirmed), `chat.message_deleted`; a moved read marker is `chat.read_marker` on the member's
//! own stream (their other devices). A member mentioned in a message they may read gets a
//! `CHAT_MENTION` notification.

use actix_web::{HttpMessage, HttpRequest, HttpResponse, delete, get, patch, post, put, web};
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use guild_db::DbError;
use guild_kernel::{ErrorCode, FieldError, TenantId, UserId};
use guild_notifications::inbox::{self, NewNotification};
use guild_notifications::stream::{self as member_stream, StreamEvent};
use guild_notifications::{EntityKind, NotificationType, NotificationsError};
use guild_social::SocialError;
use guild_social::chat::messages::{
    self, Change, Edit, From as HistoryFrom, Message, MessageKind, NewMessage,
};
use guild_social::chat::rooms::{self, Marker, Room, RoomAccess, RoomKind, RoomSummary, Target};
use guild_social::reactions::{self, TargetKind};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, IntoResponses, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::Ctx;
use crate::error::{ApiError, Problem};
use crate::extract::ValidJson;
use crate::routes::common::{AuthErrors, InputErrors, NotFound};
use crate::routes::discussions::{ReactionCountDto, ReactionsDto};
use crate::routes::me::notifications::NotificationDto;
use crate::routes::segment;
use crate::routes::stream::publish;

/// Registers `/v1/chat`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/chat")
            .service(list_chat_rooms)
            .service(open_chat_room)
            .service(get_chat_room)
            .service(list_chat_messages)
            .service(send_chat_message)
            .service(search_chat_messages)
            .service(update_chat_message)
            .service(delete_chat_message)
            .service(list_chat_message_edits)
            .service(confirm_chat_answer)
            .service(add_chat_message_reaction)
            .service(remove_chat_message_reaction)
            .service(mark_chat_room_read),
    );
}

/// What a chat write can fail with: the social rule, or writing the stream events and
/// notifications that go with it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ChatFailure {
    #[error(transparent)]
    Social(#[from] SocialError),
    #[error(transparent)]
    Notifications(#[from] NotificationsError),
}

impl From<DbError> for ChatFailure {
    fn from(e: DbError) -> Self {
        Self::Social(SocialError::Db(e))
    }
}

impl ErrorCode for ChatFailure {
    fn code(&self) -> &'static str {
        match self {
            Self::Social(e) => e.code(),
            Self::Notifications(e) => e.code(),
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::Social(e) => e.status(),
            Self::Notifications(e) => e.status(),
        }
    }

    fn field_errors(&self) -> Vec<FieldError> {
        match self {
            Self::Social(e) => e.field_errors(),
            Self::Notifications(e) => e.field_errors(),
        }
    }
}

/// A chat room.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ChatRoomDto {
    id: Uuid,
    /// TENANT (everyone), MODULE (whoever sees the module) or DIRECT (two members).
    kind: RoomKind,
    /// The module of a MODULE room.
    module_id: Option<Uuid>,
    /// The two members of a DIRECT room.
    member_ids: Vec<Uuid>,
    /// The number of the room's last message (0 before the first).
    last_seq: i64,
    created_at: DateTime<Utc>,
}

impl From<Room> for ChatRoomDto {
    fn from(r: Room) -> Self {
        Self {
            id: r.id,
            kind: r.kind,
            module_id: r.module_id,
            member_ids: r.member_a.into_iter().chain(r.member_b).collect(),
            last_seq: r.last_seq,
            created_at: r.created_at,
        }
    }
}

/// A room you opened, and what you may do in it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OpenedChatRoomDto {
    #[serde(flatten)]
    room: ChatRoomDto,
    /// You delete anyone's message and read edit histories here (ADMIN and above; a module's
    /// mentors in its room).
    moderator: bool,
    /// You mentor the room's module: you confirm answers here.
    mentor: bool,
}

impl From<RoomAccess> for OpenedChatRoomDto {
    fn from(a: RoomAccess) -> Self {
        Self {
            room: a.room.into(),
            moderator: a.moderator,
            mentor: a.mentor,
        }
    }
}

/// One of your rooms, with how much of it you have read.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ChatRoomSummaryDto {
    #[serde(flatten)]
    room: ChatRoomDto,
    /// The number of the last message you read (0: none).
    last_read_seq: i64,
    /// Messages after it by others, not deleted, JOINs aside; counted up to 1000.
    unread: i64,
}

impl From<RoomSummary> for ChatRoomSummaryDto {
    fn from(s: RoomSummary) -> Self {
        Self {
            room: s.room.into(),
            last_read_seq: s.last_read_seq,
            unread: s.unread,
        }
    }
}

/// Your rooms.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ChatRoomListDto {
    /// The tenant's room (once anyone opened it), the module rooms you joined and still see,
    /// and your direct conversations.
    data: Vec<ChatRoomSummaryDto>,
}

/// Which room to open.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "MODULE", "module_id": "0193a1c4-6f1e-7a52-9e2b-5d3c1f0a9b7e"}))]
pub(crate) struct OpenChatRoomBody {
    /// TENANT, MODULE (with `module_id`) or DIRECT (with `member_id`).
    kind: RoomKind,
    /// The module, for a MODULE room.
    module_id: Option<Uuid>,
    /// The other member, for a DIRECT room.
    member_id: Option<Uuid>,
}

/// A chat message.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ChatMessageDto {
    id: Uuid,
    room_id: Uuid,
    /// Its number in the room: 1, 2, … in the order messages were stored.
    seq: i64,
    /// MESSAGE or ACTION (a member's); JOIN (a member joined: `body` is their name) or SYSTEM
    /// (Guild tells the room, e.g. a confirmed answer, replying to it).
    kind: MessageKind,
    /// Who wrote it (for a JOIN, who joined); absent for SYSTEM messages and members removed
    /// since.
    author_id: Option<Uuid>,
    /// Plain text (empty once deleted).
    body: String,
    /// The members it mentions.
    mentions: Vec<Uuid>,
    /// Media-library assets (download with `GET /v1/media/{id}/download`, where allowed).
    attachments: Vec<Uuid>,
    /// The message it replies to.
    reply_to: Option<Uuid>,
    /// A mentor of the module confirmed it as the answer to the question it replies to.
    confirmed: bool,
    confirmed_by: Option<Uuid>,
    confirmed_at: Option<DateTime<Utc>>,
    /// When it was last edited (moderators read earlier texts).
    edited_at: Option<DateTime<Utc>>,
    /// When it was deleted: a tombstone keeps its place.
    deleted_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    /// Its emoji reactions, with whether you are among them, in history and search pages (the
    /// stream's message events carry none: `reaction.changed` events carry their changes).
    reactions: Vec<ReactionCountDto>,
}

impl From<Message> for ChatMessageDto {
    fn from(m: Message) -> Self {
        Self {
            id: m.id,
            room_id: m.room_id,
            seq: m.seq,
            kind: m.kind,
            author_id: m.author_id,
            body: m.body,
            mentions: m.mentions,
            attachments: m.attachments,
            reply_to: m.reply_to,
            confirmed: m.confirmed_at.is_some(),
            confirmed_by: m.confirmed_by,
            confirmed_at: m.confirmed_at,
            edited_at: m.edited_at,
            deleted_at: m.deleted_at,
            created_at: m.created_at,
            reactions: Vec::new(),
        }
    }
}

impl ChatMessageDto {
    /// The messages with their reactions as the actor sees them.
    fn with_reactions(
        messages: Vec<Message>,
        mut counts: std::collections::BTreeMap<Uuid, Vec<reactions::Count>>,
    ) -> Vec<Self> {
        messages
            .into_iter()
            .map(|m| {
                let counts = counts.remove(&m.id).unwrap_or_default();
                Self {
                    reactions: ReactionCountDto::list(counts),
                    ..Self::from(m)
                }
            })
            .collect()
    }
}

/// A message to send.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "body": "@ann@acme.example.com the torque is in section 3",
    "reply_to": "0193a1c4-6f1e-7a52-9e2b-5d3c1f0a9b7e"
}))]
pub(crate) struct SendChatMessageBody {
    /// Plain text, 1 to 4000 characters (trimmed). `@<member id>` or `@<email>` mentions an
    /// active member of your organization.
    #[schema(min_length = 1, max_length = 4000)]
    body: String,
    /// MESSAGE (default) or ACTION; JOIN and SYSTEM are written by Guild only (422
    /// `validation_failed` with `not_allowed` on `kind`).
    kind: Option<MessageKind>,
    /// Up to 5 media-library assets: your own, or ones you may download.
    #[validate(length(max = 5))]
    #[schema(max_items = 5)]
    attachments: Option<Vec<Uuid>>,
    /// A message of the same room this one replies to.
    reply_to: Option<Uuid>,
}

/// A message's new text.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "The torque is in section 4, sorry"}))]
pub(crate) struct UpdateChatMessageBody {
    /// Plain text, 1 to 4000 characters (trimmed); mentions as when sending: a member the edit
    /// newly mentions is notified (`CHAT_MENTION`), nobody twice for one message.
    #[schema(min_length = 1, max_length = 4000)]
    body: String,
}

/// Which page of history.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct HistoryParams {
    /// Messages before this one of the room (older).
    before: Option<Uuid>,
    /// Messages after this one of the room (newer). Not with `before`.
    after: Option<Uuid>,
    /// Page size: 1 to 200, 50 when left out.
    #[param(minimum = 1, maximum = 200, default = 50)]
    #[serde(default, deserialize_with = "crate::routes::common::page_limit")]
    limit: Option<u32>,
}

/// A page of history.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ChatHistoryDto {
    /// Oldest first.
    data: Vec<ChatMessageDto>,
    /// More messages lie beyond this page in the direction read (older without `after`, newer
    /// with it): ask again with the first message's id as `before`, or the last's as `after`.
    has_more: bool,
}

/// What to search for.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SearchParams {
    /// Words to find, 1 to 200 characters (`"a phrase"`, `-word` and `or` work as in web
    /// search engines).
    #[param(min_length = 1, max_length = 200)]
    q: String,
    /// At most this many, 1 to 200, 50 when left out.
    #[param(minimum = 1, maximum = 200, default = 50)]
    #[serde(default, deserialize_with = "crate::routes::common::page_limit")]
    limit: Option<u32>,
}

/// Messages found.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ChatSearchDto {
    /// Newest first; deleted messages are left out.
    data: Vec<ChatMessageDto>,
}

/// An earlier text of a message.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ChatMessageEditDto {
    /// What it said.
    body: String,
    /// When an edit replaced it.
    replaced_at: DateTime<Utc>,
}

impl From<Edit> for ChatMessageEditDto {
    fn from(e: Edit) -> Self {
        Self {
            body: e.body,
            replaced_at: e.replaced_at,
        }
    }
}

/// A message's history, for moderators.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ChatMessageEditsDto {
    /// The message with what it says now (a deleted message's last text included).
    message: ChatMessageDto,
    /// Its earlier texts, oldest first.
    edits: Vec<ChatMessageEditDto>,
}

/// How far you have read.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"message_id": "0193a1c4-6f1e-7a52-9e2b-5d3c1f0a9b7e"}))]
pub(crate) struct MarkChatRoomReadBody {
    /// The last message of the room you read.
    message_id: Uuid,
}

/// Your read marker in a room.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ChatReadMarkerDto {
    room_id: Uuid,
    /// The number of the last message you read.
    last_read_seq: i64,
}

impl From<Marker> for ChatReadMarkerDto {
    fn from(m: Marker) -> Self {
        Self {
            room_id: m.room_id,
            last_read_seq: m.last_read_seq,
        }
    }
}

/// Sending's own 429.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "documentation only")]
pub(crate) enum TooManyMessages {
    /// You sent too many messages in a short time.
    #[response(
        status = 429,
        description = "`rate_limited`: too many messages from you (by default 20 in 10 seconds); wait `Retry-After` seconds. `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` tell the limit",
        content_type = "application/problem+json"
    )]
    TooMany(Problem),
}

/// Appends `payload` as a `kind` event to each member's stream, 500 members per two statements
/// (their heads locked in id order, after the room), in the caller's transaction.
async fn push(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    kind: &str,
    audience: &[UserId],
    payload: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<Vec<(UserId, StreamEvent)>, NotificationsError> {
    let mut written = Vec::with_capacity(audience.len());
    for batch in audience.chunks(500) {
        let events: Vec<(UserId, serde_json::Value)> =
            batch.iter().map(|u| (*u, payload.clone())).collect();
        written.extend(member_stream::append_many(conn, tenant, kind, &events, now).await?);
    }
    Ok(written)
}

/// [`push`] of a changed message to its audience.
async fn push_change(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    kind: &str,
    change: &Change,
    now: DateTime<Utc>,
) -> Result<(ChatMessageDto, Vec<(UserId, StreamEvent)>), ChatFailure> {
    let dto = ChatMessageDto::from(change.message.clone().visible());
    let payload = serde_json::to_value(&dto).unwrap_or_default();
    let events = push(conn, tenant, kind, &change.audience, &payload, now).await?;
    Ok((dto, events))
}

/// Notifies each of `mentioned` (members who may read the room) that `message` mentions them
/// (`CHAT_MENTION`, once per member and message: its dedup key names the message), and appends
/// each notification to their stream.
async fn notify_mentions(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    message: &Message,
    mentioned: &[UserId],
    now: DateTime<Utc>,
) -> Result<Vec<(UserId, StreamEvent)>, ChatFailure> {
    let mut events = Vec::new();
    for user in mentioned {
        let note = NewNotification {
            user: *user,
            kind: NotificationType::ChatMention,
            title: "You were mentioned in chat".to_owned(),
            body: message.body.chars().take(200).collect(),
            entity: Some((EntityKind::ChatRoom, message.room_id)),
            dedup_key: format!("chat_mention:{}", message.id),
            data: serde_json::Value::Null,
        };
        if let Some(written) = inbox::deliver(conn, tenant, &note, now).await? {
            let payload = serde_json::to_value(NotificationDto::from(written)).unwrap_or_default();
            let event =
                member_stream::append(conn, tenant, *user, "notification", &payload, now).await?;
            events.push((*user, event));
        }
    }
    Ok(events)
}

/// Publishes the events of a committed change.
async fn publish_all(ctx: &Ctx, events: &[(UserId, StreamEvent)]) {
    let tenant = ctx.actor.tenant_id;
    futures_util::future::join_all(
        events
            .iter()
            .map(|(user, event)| publish(&ctx.state, tenant, *user, event)),
    )
    .await;
}

/// List your rooms and their unread counts.
///
/// Any member: in one request, the tenant's room (once opened by anyone), the module rooms you
/// joined and may still read, and your direct conversations, each with your read marker and
/// how many messages by others followed it (counted up to 1000).
#[utoipa::path(tag = "chat",
    responses((status = 200, body = ChatRoomListDto, description = "Your rooms"), AuthErrors))]
#[get("/chat/rooms")]
pub(crate) async fn list_chat_rooms(ctx: Ctx) -> Result<web::Json<ChatRoomListDto>, ApiError> {
    let rooms = ctx
        .write(async |conn| rooms::mine(conn, &ctx.actor).await)
        .await?;
    Ok(web::Json(ChatRoomListDto {
        data: rooms.into_iter().map(ChatRoomSummaryDto::from).collect(),
    }))
}

/// Open a room.
///
/// Any member: the tenant's room (`TENANT`), a module's room (`MODULE` with `module_id`: 404
/// `module_not_found` unless you see the module — its audience, creator, mentors and those who
/// manage all modules), or your direct conversation with another active member (`DIRECT` with
/// `member_id`: 404 `member_not_found` otherwise; at most 30 new ones in 24 hours, then 422
/// `validation_failed` with `direct_room_limit_reached` on `member_id`). Made on first use, found afterwards; opening joins you, so the
/// room's messages reach your stream from then on. Your first opening of the tenant's or a
/// module's room (or your first message there) writes a JOIN message with your name, pushed like
/// any message; direct conversations get none.
#[utoipa::path(tag = "chat", request_body = OpenChatRoomBody,
    responses((status = 200, body = OpenedChatRoomDto, description = "The room"), AuthErrors, InputErrors, NotFound))]
#[post("/chat/rooms")]
pub(crate) async fn open_chat_room(
    ctx: Ctx,
    body: ValidJson<OpenChatRoomBody>,
) -> Result<web::Json<OpenedChatRoomDto>, ApiError> {
    let body = body.into_inner();
    let missing = |field: &str| {
        ApiError::from(SocialError::invalid(
            field,
            "required",
            "required for this kind of room",
        ))
    };
    let target = match body.kind {
        RoomKind::Tenant => Target::Tenant,
        RoomKind::Module => Target::Module(body.module_id.ok_or_else(|| missing("module_id"))?),
        RoomKind::Direct => Target::Direct(body.member_id.ok_or_else(|| missing("member_id"))?),
    };
    let (now, tenant) = (ctx.now, ctx.actor.tenant_id);
    let (opened, events) = ctx
        .write(async |conn| {
            let (opened, joined) = rooms::open(conn, &ctx.actor, target, now).await?;
            let events = match joined {
                Some(joined) => {
                    push_change(conn, tenant, "chat.message_created", &joined, now)
                        .await?
                        .1
                }
                None => Vec::new(),
            };
            Ok::<_, ChatFailure>((opened, events))
        })
        .await?;
    publish_all(&ctx, &events).await;
    Ok(web::Json(opened.into()))
}

/// Get a room.
///
/// A member who may read it (404 `room_not_found` otherwise, as for another tenant's), with what
/// you may do there.
#[utoipa::path(tag = "chat", params(("room_id" = Uuid, Path, description = "The room")),
    responses((status = 200, body = OpenedChatRoomDto, description = "The room"), AuthErrors, NotFound))]
#[get("/chat/rooms/{room_id}")]
pub(crate) async fn get_chat_room(
    ctx: Ctx,
    room: web::Path<Uuid>,
) -> Result<web::Json<OpenedChatRoomDto>, ApiError> {
    let room = room.into_inner();
    ctx.write(async |conn| rooms::access(conn, &ctx.actor, room).await)
        .await
        .map(|a| web::Json(a.into()))
}

/// List a room's messages.
///
/// A member who may read the room (404 `room_not_found` otherwise): the latest messages, or
/// those `before` or `after` a message of the room (422 `validation_failed` with `not_in_room`
/// for another), oldest
/// first, `limit` at a time. Deleted messages are tombstones (empty `body`, `deleted_at` set).
#[utoipa::path(tag = "chat", params(("room_id" = Uuid, Path, description = "The room"), HistoryParams),
    responses((status = 200, body = ChatHistoryDto, description = "A page of messages"), AuthErrors, InputErrors, NotFound))]
#[get("/chat/rooms/{room_id}/messages")]
pub(crate) async fn list_chat_messages(
    ctx: Ctx,
    room: web::Path<Uuid>,
    query: web::Query<HistoryParams>,
) -> Result<web::Json<ChatHistoryDto>, ApiError> {
    let (room, query) = (room.into_inner(), query.into_inner());
    let from = match (query.before, query.after) {
        (None, None) => HistoryFrom::Latest,
        (Some(id), None) => HistoryFrom::Before(id),
        (None, Some(id)) => HistoryFrom::After(id),
        (Some(_), Some(_)) => {
            return Err(SocialError::invalid(
                "after",
                "exclusive",
                "give `before` or `after`, not both",
            )
            .into());
        }
    };
    let limit = query.limit.unwrap_or(50);
    let (page, counts) = ctx
        .write(async |conn| {
            let page = messages::history(conn, &ctx.actor, room, from, limit).await?;
            let ids: Vec<Uuid> = page.messages.iter().map(|m| m.id).collect();
            let counts = reactions::counts(conn, &ctx.actor, TargetKind::ChatMessage, &ids).await?;
            Ok::<_, SocialError>((page, counts))
        })
        .await?;
    Ok(web::Json(ChatHistoryDto {
        data: ChatMessageDto::with_reactions(page.messages, counts),
        has_more: page.more,
    }))
}

/// Send a message.
///
/// A member who may read the room (404 `room_not_found` otherwise; sending joins it): plain
/// text with mentions, up to 5 attachments (your own media or media you may download, else 422
/// `validation_failed` with `asset_not_found` on `attachments`), optionally replying to a message of the room. It
/// reaches the stream of every member of the room who may read it (`chat.message_created`), and
/// each active member it mentions who may read the room gets a `CHAT_MENTION` notification.
/// Rate limited per member (429 `rate_limited` with `Retry-After` and `RateLimit-*`).
#[utoipa::path(tag = "chat", params(("room_id" = Uuid, Path, description = "The room")),
    request_body = SendChatMessageBody,
    responses((status = 201, body = ChatMessageDto, description = "Sent"), AuthErrors, InputErrors, NotFound, TooManyMessages))]
#[post("/chat/rooms/{room_id}/messages")]
pub(crate) async fn send_chat_message(
    ctx: Ctx,
    req: HttpRequest,
    room: web::Path<Uuid>,
    body: ValidJson<SendChatMessageBody>,
) -> Result<HttpResponse, ApiError> {
    let key = format!("chat-send:{}:{}", ctx.actor.tenant_id, ctx.actor.user_id);
    let decision = ctx
        .state
        .limiter
        .hit(&key, ctx.state.limits.chat_messages)
        .await
        .map_err(|e| crate::client::unavailable(&e))?;
    req.extensions_mut().insert(decision);
    if !decision.allowed {
        return Err(crate::client::limited(decision));
    }
    let (room, body) = (room.into_inner(), body.into_inner());
    let input = NewMessage {
        kind: body.kind.unwrap_or(MessageKind::Message),
        body: body.body,
        attachments: body.attachments.unwrap_or_default(),
        reply_to: body.reply_to,
    };
    let (now, tenant) = (ctx.now, ctx.actor.tenant_id);
    let (dto, events) = ctx
        .write(async |conn| {
            let sent = messages::send(conn, &ctx.actor, room, input, now).await?;
            let mut events = Vec::new();
            if let Some(joined) = &sent.joined {
                events = push_change(conn, tenant, "chat.message_created", joined, now)
                    .await?
                    .1;
            }
            let (dto, created) =
                push_change(conn, tenant, "chat.message_created", &sent.change, now).await?;
            events.extend(created);
            let message = &sent.change.message;
            events.extend(notify_mentions(conn, tenant, message, &sent.mentioned, now).await?);
            Ok::<_, ChatFailure>((dto, events))
        })
        .await?;
    publish_all(&ctx, &events).await;
    Ok(HttpResponse::Created().json(dto))
}

/// Search a room's messages.
///
/// A member who may read the room (404 `room_not_found` otherwise): messages whose words match
/// `q` (full-text, no stemming: organizations write in many languages), newest first; deleted
/// ones are left out.
#[utoipa::path(tag = "chat", params(("room_id" = Uuid, Path, description = "The room"), SearchParams),
    responses((status = 200, body = ChatSearchDto, description = "Matching messages"), AuthErrors, InputErrors, NotFound))]
#[get("/chat/rooms/{room_id}/search")]
pub(crate) async fn search_chat_messages(
    ctx: Ctx,
    room: web::Path<Uuid>,
    query: web::Query<SearchParams>,
) -> Result<web::Json<ChatSearchDto>, ApiError> {
    let (room, query) = (room.into_inner(), query.into_inner());
    let limit = query.limit.unwrap_or(50);
    let (found, counts) = ctx
        .write(async |conn| {
            let found = messages::search(conn, &ctx.actor, room, &query.q, limit).await?;
            let ids: Vec<Uuid> = found.iter().map(|m| m.id).collect();
            let counts = reactions::counts(conn, &ctx.actor, TargetKind::ChatMessage, &ids).await?;
            Ok::<_, SocialError>((found, counts))
        })
        .await?;
    Ok(web::Json(ChatSearchDto {
        data: ChatMessageDto::with_reactions(found, counts),
    }))
}

/// Edit your message.
///
/// Its author only (403 `forbidden` for anyone else, moderators included); not a deleted one
/// (422 `validation_failed` with `not_editable`). The text it replaces is kept, for moderators
/// (`GET …/messages/{message_id}/edits`). Pushed as `chat.message_updated`.
#[utoipa::path(tag = "chat",
    params(("room_id" = Uuid, Path, description = "The room"), ("message_id" = Uuid, Path, description = "The message")),
    request_body = UpdateChatMessageBody,
    responses((status = 200, body = ChatMessageDto, description = "Edited"), AuthErrors, InputErrors, NotFound))]
#[patch("/chat/rooms/{room_id}/messages/{message_id}")]
pub(crate) async fn update_chat_message(
    ctx: Ctx,
    path: web::Path<(Uuid, Uuid)>,
    body: ValidJson<UpdateChatMessageBody>,
) -> Result<web::Json<ChatMessageDto>, ApiError> {
    let ((room, id), body) = (path.into_inner(), body.into_inner().body);
    let (now, tenant) = (ctx.now, ctx.actor.tenant_id);
    let (dto, events) = ctx
        .write(async |conn| {
            let edited = messages::edit(conn, &ctx.actor, room, id, &body, now).await?;
            let (dto, mut events) =
                push_change(conn, tenant, "chat.message_updated", &edited.change, now).await?;
            let message = &edited.change.message;
            events.extend(notify_mentions(conn, tenant, message, &edited.mentioned, now).await?);
            Ok::<_, ChatFailure>((dto, events))
        })
        .await?;
    publish_all(&ctx, &events).await;
    Ok(web::Json(dto))
}

/// Delete a message.
///
/// Its author, or a moderator of the room (ADMIN and above; the module's mentors in its room);
/// 403 `forbidden` for anyone else. The message stays as a tombstone in its place; deleting it
/// again changes nothing. Pushed as `chat.message_deleted`.
#[utoipa::path(tag = "chat",
    params(("room_id" = Uuid, Path, description = "The room"), ("message_id" = Uuid, Path, description = "The message")),
    responses((status = 204, description = "Deleted"), AuthErrors, NotFound))]
#[delete("/chat/rooms/{room_id}/messages/{message_id}")]
pub(crate) async fn delete_chat_message(
    ctx: Ctx,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (room, id) = path.into_inner();
    let (now, tenant) = (ctx.now, ctx.actor.tenant_id);
    let events = ctx
        .write(async |conn| {
            let Some(change) = messages::delete(conn, &ctx.actor, room, id, now).await? else {
                return Ok::<_, ChatFailure>(Vec::new());
            };
            Ok(
                push_change(conn, tenant, "chat.message_deleted", &change, now)
                    .await?
                    .1,
            )
        })
        .await?;
    publish_all(&ctx, &events).await;
    Ok(HttpResponse::NoContent().finish())
}

/// List a message's earlier texts.
///
/// Moderators of the room only (403 `forbidden` for others, the author included): the message
/// with what it says now — a deleted one's last text too — and each text an edit replaced.
#[utoipa::path(tag = "chat",
    params(("room_id" = Uuid, Path, description = "The room"), ("message_id" = Uuid, Path, description = "The message")),
    responses((status = 200, body = ChatMessageEditsDto, description = "Its history"), AuthErrors, NotFound))]
#[get("/chat/rooms/{room_id}/messages/{message_id}/edits")]
pub(crate) async fn list_chat_message_edits(
    ctx: Ctx,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<web::Json<ChatMessageEditsDto>, ApiError> {
    let (room, id) = path.into_inner();
    let (message, edits) = ctx
        .write(async |conn| messages::edits(conn, &ctx.actor, room, id).await)
        .await?;
    Ok(web::Json(ChatMessageEditsDto {
        message: message.into(),
        edits: edits.into_iter().map(ChatMessageEditDto::from).collect(),
    }))
}

/// Confirm an answer.
///
/// A mentor of the room's module (403 `forbidden` for anyone else, and for your own message):
/// marks a message that replies to a question of the room as its confirmed answer. Its author
/// earns MENTOR_CONFIRMATION XP, once per message; the pair is recorded among the module's
/// confirmed answers, and every member of the room sees the flag (`chat.message_updated`) and a
/// SYSTEM message replying to the answer (`<mentor> confirmed <author>'s answer`).
/// Confirming it again changes nothing. 422 `validation_failed` with `not_a_module_room`,
/// `not_an_answer` (deleted, or not a MESSAGE) or `not_a_reply`.
#[utoipa::path(tag = "chat",
    params(("room_id" = Uuid, Path, description = "The room"), ("message_id" = Uuid, Path, description = "The answer")),
    responses((status = 200, body = ChatMessageDto, description = "Confirmed"), AuthErrors, InputErrors, NotFound))]
#[post("/chat/rooms/{room_id}/messages/{message_id}/confirm")]
pub(crate) async fn confirm_chat_answer(
    ctx: Ctx,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<web::Json<ChatMessageDto>, ApiError> {
    let (room, id) = path.into_inner();
    let (now, tenant) = (ctx.now, ctx.actor.tenant_id);
    let (dto, events) = ctx
        .write(async |conn| {
            let confirmed = messages::confirm(conn, &ctx.actor, room, id, now).await?;
            if !confirmed.first {
                let dto = ChatMessageDto::from(confirmed.change.message);
                return Ok::<_, ChatFailure>((dto, Vec::new()));
            }
            let (dto, mut events) =
                push_change(conn, tenant, "chat.message_updated", &confirmed.change, now).await?;
            if let Some(notice) = &confirmed.notice {
                events.extend(
                    push_change(conn, tenant, "chat.message_created", notice, now)
                        .await?
                        .1,
                );
            }
            Ok((dto, events))
        })
        .await?;
    publish_all(&ctx, &events).await;
    Ok(web::Json(dto))
}

/// Mark a room read.
///
/// A member who may read the room (404 `room_not_found` otherwise): your read marker moves to
/// `message_id` (a message of the room, else 422 `validation_failed` with `not_in_room`), never
/// back. Your other
/// connections hear of it on your stream (`chat.read_marker`).
#[utoipa::path(tag = "chat", params(("room_id" = Uuid, Path, description = "The room")),
    request_body = MarkChatRoomReadBody,
    responses((status = 200, body = ChatReadMarkerDto, description = "Your marker"), AuthErrors, InputErrors, NotFound))]
#[put("/chat/rooms/{room_id}/read")]
pub(crate) async fn mark_chat_room_read(
    ctx: Ctx,
    room: web::Path<Uuid>,
    body: ValidJson<MarkChatRoomReadBody>,
) -> Result<web::Json<ChatReadMarkerDto>, ApiError> {
    let (room, message) = (room.into_inner(), body.into_inner().message_id);
    let (now, tenant, me) = (ctx.now, ctx.actor.tenant_id, ctx.actor.user_id);
    let (marker, events) = ctx
        .write(async |conn| {
            let (marker, moved) = rooms::mark_read(conn, &ctx.actor, room, message, now).await?;
            let dto = ChatReadMarkerDto::from(marker);
            if !moved {
                return Ok::<_, ChatFailure>((dto, Vec::new()));
            }
            let payload = serde_json::to_value(&dto).unwrap_or_default();
            let events = push(conn, tenant, "chat.read_marker", &[me], &payload, now).await?;
            Ok((dto, events))
        })
        .await?;
    publish_all(&ctx, &events).await;
    Ok(web::Json(marker))
}

/// React to a message.
///
/// A member who may read the room (404 `message_not_found` for a message of another room, a
/// deleted one, or one you may not read). One reaction per member and emoji: reacting again
/// changes nothing. `emoji` is one of `thumbs_up`, `heart`, `tada`, `laugh`, `surprised`, `sad`,
/// `thinking`, `eyes`, `rocket`, `check`, `clap`, `pray` (422 `emoji_not_allowed` in `errors[]`
/// otherwise). The room's members who may read it get a `reaction.changed` stream event.
#[utoipa::path(tag = "chat",
    params(("room_id" = Uuid, Path, description = "The room"), ("message_id" = Uuid, Path, description = "The message"), ("emoji" = guild_social::reactions::Emoji, Path, description = "The emoji's name")),
    responses((status = 200, body = ReactionsDto, description = "The message's reactions"), AuthErrors, InputErrors, NotFound))]
#[put("/chat/rooms/{room_id}/messages/{message_id}/reactions/{emoji}")]
pub(crate) async fn add_chat_message_reaction(
    ctx: Ctx,
    path: web::Path<(Uuid, Uuid, String)>,
) -> Result<web::Json<ReactionsDto>, ApiError> {
    react(&ctx, path.into_inner(), true).await
}

/// Remove your reaction from a message.
///
/// Removing one you did not make changes nothing.
#[utoipa::path(tag = "chat",
    params(("room_id" = Uuid, Path, description = "The room"), ("message_id" = Uuid, Path, description = "The message"), ("emoji" = guild_social::reactions::Emoji, Path, description = "The emoji's name")),
    responses((status = 200, body = ReactionsDto, description = "The message's reactions"), AuthErrors, InputErrors, NotFound))]
#[delete("/chat/rooms/{room_id}/messages/{message_id}/reactions/{emoji}")]
pub(crate) async fn remove_chat_message_reaction(
    ctx: Ctx,
    path: web::Path<(Uuid, Uuid, String)>,
) -> Result<web::Json<ReactionsDto>, ApiError> {
    react(&ctx, path.into_inner(), false).await
}

/// Adds (or removes) the actor's reaction to a message of a room.
async fn react(
    ctx: &Ctx,
    (room, message, emoji): (Uuid, Uuid, String),
    add: bool,
) -> Result<web::Json<ReactionsDto>, ApiError> {
    let now = ctx.now;
    let counts = ctx
        .write(async |conn| {
            messages::react(conn, &ctx.actor, room, message, &emoji, add, now).await
        })
        .await?;
    Ok(ReactionsDto::json(counts))
}
