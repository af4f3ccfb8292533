//! Messages: sending (text with mentions, attachments from the media library, a reply to a
//! message of the same room), the messages Guild writes itself (a member's JOIN on first joining
//! the tenant's or a module's room; a SYSTEM notice when a mentor confirms an answer), editing
//! one's own (the previous text kept for moderators; a mention the edit adds is notified),
//! deleting (one's own, or any as a moderator: a tombstone stays in its place), history a page
//! at a time either way from a message, full-text search in a room, and a mentor's confirmation
//! of an answer.
//!
//! Invariants: a message's number is taken from its room's row under that row's lock
//! (`UPDATE … RETURNING`), so a room's numbers are gapless in commit order; a confirmed answer is
//! recorded once per message (`chat_confirmed_answers` is unique on it), and only that first
//! confirmation publishes [`AnswerConfirmed`], from which gamification awards
//! MENTOR_CONFIRMATION XP once per message; nobody confirms their own message.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{
    chat_confirmed_answers as ca, chat_message_edits as ce, chat_messages as cm, chat_rooms as r,
    media_assets, memberships, users,
};
use guild_kernel::{Actor, DomainEvent, UserId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::rooms::{self, Room, RoomAccess, RoomKind};
use super::{MAX_ATTACHMENTS, MAX_MENTIONS, MAX_TEXT, check_member};
use crate::SocialError;

guild_kernel::string_enum!(
    /// What a message is.
    MessageKind {
        /// Something a member said.
        Message => "MESSAGE",
        /// A member joined the room.
        Join => "JOIN",
        /// Said by Guild.
        System => "SYSTEM",
        /// Something a member did (`/me waves`).
        Action => "ACTION",
    }
);

/// A message as stored. A deleted one keeps its row (a tombstone); [`Message::visible`] blanks
/// what it said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Queryable, Selectable)]
#[diesel(table_name = cm)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct Message {
    /// The message.
    pub id: Uuid,
    /// Its room.
    pub room_id: Uuid,
    /// Its number in the room (1, 2, …, in commit order).
    pub seq: i64,
    /// What it is.
    #[diesel(deserialize_as = String)]
    pub kind: MessageKind,
    /// Who wrote it (`None` for Guild's own, or a member removed since).
    pub author_id: Option<Uuid>,
    /// Plain text.
    pub body: String,
    /// The members it mentions.
    pub mentions: Vec<Uuid>,
    /// Media-library assets attached.
    pub attachments: Vec<Uuid>,
    /// The message it replies to.
    pub reply_to: Option<Uuid>,
    /// The mentor who confirmed it as the answer.
    pub confirmed_by: Option<Uuid>,
    /// When.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// When it was last edited.
    pub edited_at: Option<DateTime<Utc>>,
    /// When it was deleted.
    pub deleted_at: Option<DateTime<Utc>>,
    /// Who deleted it.
    pub deleted_by: Option<Uuid>,
    /// When it was sent.
    pub created_at: DateTime<Utc>,
}

impl Message {
    /// What members see: a deleted message says nothing, mentions and attaches nothing.
    pub fn visible(mut self) -> Self {
        if self.deleted_at.is_some() {
            self.body = String::new();
            self.mentions.clear();
            self.attachments.clear();
        }
        self
    }
}

/// What a member sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// MESSAGE or ACTION (JOIN and SYSTEM are Guild's).
    pub kind: MessageKind,
    /// Plain text, 1 to [`MAX_TEXT`] characters; `@<member id>` and `@<email>` mention a member.
    pub body: String,
    /// Media-library assets: the sender's own or ones they may download; at most
    /// [`MAX_ATTACHMENTS`].
    pub attachments: Vec<Uuid>,
    /// A message of the same room.
    pub reply_to: Option<Uuid>,
}

/// A change to a room, and who hears of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The message as it is now (deleted ones as tombstones).
    pub message: Message,
    /// The room's members who may read it, in id order.
    pub audience: Vec<UserId>,
}

/// A sent message.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    /// The JOIN message written before it when sending joined the sender to the room.
    pub joined: Option<Change>,
    /// The message and its audience.
    pub change: Change,
    /// The members it mentions who may read the room, the sender aside.
    pub mentioned: Vec<UserId>,
    /// The room.
    pub room: Room,
}

/// A mentor confirmed a reply as the answer to a question in a module's room: its author earns
/// MENTOR_CONFIRMATION XP (once per message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerConfirmed {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The module whose room it is.
    pub module_id: Uuid,
    /// The room.
    pub room_id: Uuid,
    /// The question (the message replied to).
    pub question_id: Uuid,
    /// The answer.
    pub message_id: Uuid,
    /// Its author, who earns the XP.
    pub author_id: Uuid,
    /// The mentor who confirmed it.
    pub confirmed_by: Uuid,
}

impl DomainEvent for AnswerConfirmed {
    const KIND: &'static str = "social.answer_confirmed";
}

/// The tokens after `@` in `text`: member ids or email addresses.
fn mention_tokens(text: &str) -> (Vec<Uuid>, Vec<String>) {
    let (mut ids, mut emails) = (Vec::new(), Vec::new());
    for (at, _) in text.match_indices('@') {
        // An `@` inside a word (an email address in the text) mentions no one by itself.
        if text[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '.' || c == '_' || c == '-' || c == '+')
        {
            continue;
        }
        let token: String = text[at + 1..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || "._%+-@".contains(*c))
            .collect();
        let token = token.trim_end_matches(['.', '-']);
        if let Ok(id) = Uuid::parse_str(token) {
            ids.push(id);
        } else if token.contains('@') {
            emails.push(token.to_lowercase());
        }
    }
    ids.sort();
    ids.dedup();
    emails.sort();
    emails.dedup();
    (ids, emails)
}

/// The active members of the tenant the text mentions, at most [`MAX_MENTIONS`].
pub(crate) async fn resolve_mentions(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    text: &str,
) -> Result<Vec<Uuid>, SocialError> {
    let (ids, emails) = mention_tokens(text);
    if ids.len() + emails.len() > MAX_MENTIONS {
        return Err(SocialError::invalid(
            "body",
            "too_many_mentions",
            &format!("at most {MAX_MENTIONS} mentions"),
        ));
    }
    if ids.is_empty() && emails.is_empty() {
        return Ok(Vec::new());
    }
    let mut found: Vec<Uuid> = memberships::table
        .inner_join(users::table.on(users::id.eq(memberships::user_id)))
        .filter(memberships::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(memberships::status.eq("ACTIVE"))
        .filter(
            memberships::user_id
                .eq_any(&ids)
                .or(
                    diesel::dsl::sql::<diesel::sql_types::Bool>("lower(users.email) = ANY(")
                        .bind::<diesel::sql_types::Array<Text>, _>(&emails)
                        .sql(")"),
                ),
        )
        .select(memberships::user_id)
        .load(conn)
        .await?;
    found.sort();
    found.dedup();
    Ok(found)
}

/// Checks each attachment: a READY asset of the tenant the actor uploaded, or one they may
/// download (`guild_learning::media::downloadable`); 422 `attachments` otherwise.
async fn check_attachments(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    ids: &[Uuid],
) -> Result<Vec<Uuid>, SocialError> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    if ids.len() > MAX_ATTACHMENTS {
        return Err(SocialError::invalid(
            "attachments",
            "too_many",
            &format!("at most {MAX_ATTACHMENTS} attachments"),
        ));
    }
    let own: Vec<Uuid> = media_assets::table
        .filter(media_assets::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(media_assets::id.eq_any(&ids))
        .filter(media_assets::uploaded_by.eq(actor.user_id.into_uuid()))
        .filter(media_assets::status.eq("READY"))
        .select(media_assets::id)
        .load(conn)
        .await?;
    for id in ids.iter().filter(|id| !own.contains(id)) {
        guild_learning::media::downloadable(conn, actor, guild_kernel::AssetId(*id))
            .await
            .map_err(|e| match e {
                guild_learning::LearningError::Db(db) => SocialError::Db(db),
                _ => SocialError::invalid(
                    "attachments",
                    "asset_not_found",
                    "an asset that is not yours and that you may not download, or not ready",
                ),
            })?;
    }
    Ok(ids)
}

/// A message of the room (tombstones included), or 404 `message_not_found`.
async fn in_room(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    room: Uuid,
    id: Uuid,
) -> Result<Message, SocialError> {
    cm::table
        .find((actor.tenant_id.into_uuid(), id))
        .filter(cm::room_id.eq(room))
        .select(Message::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or(SocialError::NotFound("message_not_found"))
}

/// Writes a message of Guild's own (JOIN, SYSTEM) to a room, numbered like any other under the
/// room's row lock.
#[expect(
    clippy::too_many_arguments,
    reason = "a message's columns, each its own"
)]
pub(crate) async fn write_guild_message(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    room: Uuid,
    kind: MessageKind,
    author: Option<Uuid>,
    body: &str,
    reply_to: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Message, SocialError> {
    let seq: i64 = diesel::update(r::table.find((tenant, room)))
        .set(r::last_seq.eq(r::last_seq + 1))
        .returning(r::last_seq)
        .get_result(conn)
        .await?;
    Ok(diesel::insert_into(cm::table)
        .values((
            cm::tenant_id.eq(tenant),
            cm::id.eq(Uuid::now_v7()),
            cm::room_id.eq(room),
            cm::seq.eq(seq),
            cm::kind.eq(kind.as_str()),
            cm::author_id.eq(author),
            cm::body.eq(body),
            cm::mentions.eq(Vec::<Uuid>::new()),
            cm::attachments.eq(Vec::<Uuid>::new()),
            cm::reply_to.eq(reply_to),
            cm::created_at.eq(now),
        ))
        .returning(Message::as_returning())
        .get_result(conn)
        .await?)
}

/// A member's name as messages of Guild's own show it (empty for someone no longer found).
pub(crate) async fn member_name(
    conn: &mut AsyncPgConnection,
    user: Uuid,
) -> Result<String, SocialError> {
    Ok(users::table
        .find(user)
        .select(users::name)
        .first::<String>(conn)
        .await
        .optional()?
        .unwrap_or_default())
}

/// Sends a message to a room the actor may read (joining it). 404 `room_not_found`; 422 for
/// text, mentions, attachments or a reply that break a rule.
pub async fn send(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    room: Uuid,
    input: NewMessage,
    now: DateTime<Utc>,
) -> Result<Sent, SocialError> {
    if !matches!(input.kind, MessageKind::Message | MessageKind::Action) {
        return Err(SocialError::invalid(
            "kind",
            "not_allowed",
            "members send MESSAGE or ACTION",
        ));
    }
    check_member(actor)?;
    let body = crate::input::text("body", &input.body, MAX_TEXT)?;
    let RoomAccess { room, .. } = rooms::access(conn, actor, room).await?;
    if let Some(reply_to) = input.reply_to {
        in_room(conn, actor, room.id, reply_to).await.map_err(|_| {
            SocialError::invalid("reply_to", "not_in_room", "not a message of this room")
        })?;
    }
    let attachments = check_attachments(conn, actor, &input.attachments).await?;
    let mentions = resolve_mentions(conn, actor, &body).await?;
    let tenant = actor.tenant_id.into_uuid();
    // A first message joins the room: its JOIN comes first.
    let joined = rooms::join(conn, actor, &room, now).await?;
    // The room's row stays locked until commit: numbers follow commit order.
    let seq: i64 = diesel::update(r::table.find((tenant, room.id)))
        .set(r::last_seq.eq(r::last_seq + 1))
        .returning(r::last_seq)
        .get_result(conn)
        .await?;
    let message: Message = diesel::insert_into(cm::table)
        .values((
            cm::tenant_id.eq(tenant),
            cm::id.eq(Uuid::now_v7()),
            cm::room_id.eq(room.id),
            cm::seq.eq(seq),
            cm::kind.eq(input.kind.as_str()),
            cm::author_id.eq(actor.user_id.into_uuid()),
            cm::body.eq(&body),
            cm::mentions.eq(&mentions),
            cm::attachments.eq(&attachments),
            cm::reply_to.eq(input.reply_to),
            cm::created_at.eq(now),
        ))
        .returning(Message::as_returning())
        .get_result(conn)
        .await?;
    // One's own message is read; sending joins the room.
    guild_db::sql(
        "INSERT INTO chat_read_markers AS k (tenant_id, room_id, user_id, last_read_seq, updated_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (tenant_id, user_id, room_id) DO UPDATE \
           SET last_read_seq = greatest(k.last_read_seq, EXCLUDED.last_read_seq), \
               updated_at = EXCLUDED.updated_at",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<SqlUuid, _>(room.id)
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<diesel::sql_types::BigInt, _>(seq)
    .bind::<diesel::sql_types::Timestamptz, _>(now)
    .execute(conn)
    .await?;
    let audience = rooms::audience(conn, actor.tenant_id, &room, None).await?;
    let joined = joined.map(|message| Change {
        message,
        audience: audience.clone(),
    });
    let others: Vec<Uuid> = mentions
        .iter()
        .copied()
        .filter(|m| *m != actor.user_id.into_uuid())
        .collect();
    let mentioned = if others.is_empty() {
        Vec::new()
    } else {
        rooms::audience(conn, actor.tenant_id, &room, Some(&others)).await?
    };
    Ok(Sent {
        joined,
        change: Change { message, audience },
        mentioned,
        room,
    })
}

/// An edited message.
#[derive(Debug, Clone, PartialEq)]
pub struct Edited {
    /// The message and its audience.
    pub change: Change,
    /// The members the edit newly mentions (not mentioned before it) who may read the room, the
    /// author aside: notified as a sent message's are, under the same key (once per member and
    /// message, however often they are mentioned again).
    pub mentioned: Vec<UserId>,
}

/// Edits the actor's own message (MESSAGE or ACTION, not deleted): the text it replaces is kept
/// for moderators. 403 for someone else's; 422 for a deleted one or text that breaks a rule.
pub async fn edit(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    room: Uuid,
    id: Uuid,
    body: &str,
    now: DateTime<Utc>,
) -> Result<Edited, SocialError> {
    let body = crate::input::text("body", body, MAX_TEXT)?;
    let RoomAccess { room, .. } = rooms::access(conn, actor, room).await?;
    let message = in_room(conn, actor, room.id, id).await?;
    if message.author_id != Some(actor.user_id.into_uuid()) {
        return Err(SocialError::Forbidden);
    }
    if message.deleted_at.is_some()
        || !matches!(message.kind, MessageKind::Message | MessageKind::Action)
    {
        return Err(SocialError::invalid(
            "id",
            "not_editable",
            "a deleted message, or one Guild wrote, cannot be edited",
        ));
    }
    let mentions = resolve_mentions(conn, actor, &body).await?;
    let newly: Vec<Uuid> = mentions
        .iter()
        .copied()
        .filter(|m| *m != actor.user_id.into_uuid() && !message.mentions.contains(m))
        .collect();
    let tenant = actor.tenant_id.into_uuid();
    diesel::insert_into(ce::table)
        .values((
            ce::tenant_id.eq(tenant),
            ce::id.eq(Uuid::now_v7()),
            ce::message_id.eq(id),
            ce::body.eq(&message.body),
            ce::edited_at.eq(now),
        ))
        .execute(conn)
        .await?;
    let message: Message = diesel::update(cm::table.find((tenant, id)))
        .set((
            cm::body.eq(&body),
            cm::mentions.eq(&mentions),
            cm::edited_at.eq(now),
        ))
        .returning(Message::as_returning())
        .get_result(conn)
        .await?;
    let audience = rooms::audience(conn, actor.tenant_id, &room, None).await?;
    let mentioned = if newly.is_empty() {
        Vec::new()
    } else {
        rooms::audience(conn, actor.tenant_id, &room, Some(&newly)).await?
    };
    Ok(Edited {
        change: Change { message, audience },
        mentioned,
    })
}

/// Deletes a message: its author, or a moderator of the room; it stays as a tombstone. Deleting
/// a deleted message changes nothing (`None`). 403 for someone else's message without moderation.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    room: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<Change>, SocialError> {
    let RoomAccess {
        room, moderator, ..
    } = rooms::access(conn, actor, room).await?;
    let message = in_room(conn, actor, room.id, id).await?;
    if message.author_id != Some(actor.user_id.into_uuid()) && !moderator {
        return Err(SocialError::Forbidden);
    }
    let tenant = actor.tenant_id.into_uuid();
    let deleted: Option<Message> = diesel::update(
        cm::table
            .find((tenant, id))
            .filter(cm::deleted_at.is_null()),
    )
    .set((
        cm::deleted_at.eq(now),
        cm::deleted_by.eq(actor.user_id.into_uuid()),
    ))
    .returning(Message::as_returning())
    .get_result(conn)
    .await
    .optional()?;
    let Some(message) = deleted else {
        return Ok(None);
    };
    let audience = rooms::audience(conn, actor.tenant_id, &room, None).await?;
    Ok(Some(Change { message, audience }))
}

/// One earlier text of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Queryable)]
pub struct Edit {
    /// What it said.
    pub body: String,
    /// Until when (the edit that replaced it).
    pub replaced_at: DateTime<Utc>,
}

/// A message's earlier texts, oldest first, and the message with what it says now (deleted ones
/// included): moderators of the room only (403 for others).
pub async fn edits(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    room: Uuid,
    id: Uuid,
) -> Result<(Message, Vec<Edit>), SocialError> {
    let access = rooms::access(conn, actor, room).await?;
    let message = in_room(conn, actor, access.room.id, id).await?;
    if !access.moderator {
        return Err(SocialError::Forbidden);
    }
    let history = ce::table
        .filter(ce::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(ce::message_id.eq(id))
        .order((ce::edited_at.asc(), ce::id.asc()))
        .select((ce::body, ce::edited_at))
        .load::<Edit>(conn)
        .await?;
    Ok((message, history))
}

/// Where a page of history starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum From {
    /// The latest messages.
    Latest,
    /// The messages before this one.
    Before(Uuid),
    /// The messages after this one.
    After(Uuid),
}

/// A page of history, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    /// The messages (tombstones for deleted ones).
    pub messages: Vec<Message>,
    /// More messages lie beyond the page in the direction read.
    pub more: bool,
}

/// A page of the room's messages, oldest first: the latest `limit`, or `limit` before or after a
/// message of the room (422 `not_in_room` when it is not one).
pub async fn history(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    room: Uuid,
    from: From,
    limit: u32,
) -> Result<History, SocialError> {
    let room = rooms::access(conn, actor, room).await?.room;
    let tenant = actor.tenant_id.into_uuid();
    let at = |id: Uuid| {
        cm::table
            .filter(cm::tenant_id.eq(tenant))
            .filter(cm::room_id.eq(room.id))
            .filter(cm::id.eq(id))
            .select(cm::seq)
    };
    let base = cm::table
        .filter(cm::tenant_id.eq(tenant))
        .filter(cm::room_id.eq(room.id))
        .select(Message::as_select())
        .limit(i64::from(limit) + 1);
    let not_in_room =
        || SocialError::invalid("cursor", "not_in_room", "not a message of this room");
    let (mut rows, newest_first): (Vec<Message>, bool) = match from {
        From::Latest => (base.order(cm::seq.desc()).load(conn).await?, true),
        From::Before(id) => {
            let seq: i64 = at(id)
                .first(conn)
                .await
                .optional()?
                .ok_or_else(not_in_room)?;
            (
                base.filter(cm::seq.lt(seq))
                    .order(cm::seq.desc())
                    .load(conn)
                    .await?,
                true,
            )
        }
        From::After(id) => {
            let seq: i64 = at(id)
                .first(conn)
                .await
                .optional()?
                .ok_or_else(not_in_room)?;
            (
                base.filter(cm::seq.gt(seq))
                    .order(cm::seq.asc())
                    .load(conn)
                    .await?,
                false,
            )
        }
    };
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    if newest_first {
        rows.reverse();
    }
    Ok(History {
        messages: rows.into_iter().map(Message::visible).collect(),
        more,
    })
}

/// Messages of the room matching `query` (words, PostgreSQL's `websearch_to_tsquery` with the
/// `simple` configuration), newest first, deleted ones left out; `query` is 1 to 200 characters.
pub async fn search(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    room: Uuid,
    query: &str,
    limit: u32,
) -> Result<Vec<Message>, SocialError> {
    let query = query.trim();
    if query.is_empty() || query.chars().count() > 200 {
        return Err(SocialError::invalid("q", "length", "1 to 200 characters"));
    }
    let room = rooms::access(conn, actor, room).await?.room;
    // The expression must match the index chat_messages_search_idx.
    Ok(cm::table
        .filter(cm::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(cm::room_id.eq(room.id))
        .filter(cm::deleted_at.is_null())
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
            "to_tsvector('simple'::regconfig, chat_messages.body) @@ websearch_to_tsquery('simple'::regconfig, ",
        )
        .bind::<Text, _>(query.to_owned())
        .sql(")"))
        .order(cm::seq.desc())
        .limit(i64::from(limit))
        .select(Message::as_select())
        .load(conn)
        .await?)
}

/// A confirmation, and whether it was the first.
#[derive(Debug, Clone, PartialEq)]
pub struct Confirmed {
    /// The answer, flagged, and who hears of it.
    pub change: Change,
    /// This call confirmed it (a second confirmation changes nothing).
    pub first: bool,
    /// The SYSTEM message that tells the room (`<mentor> confirmed <author>'s answer`), replying
    /// to the answer: written by the first confirmation only.
    pub notice: Option<Change>,
}

/// A mentor of the room's module confirms `id` (a reply to a question, by someone else) as the
/// answer: the message is flagged, the pair recorded, and [`AnswerConfirmed`] published, once.
/// 403 for anyone but the module's mentors, and for one's own message; 422 in a room that is not
/// a module's, for a deleted message, or one that replies to nothing.
pub async fn confirm(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    room: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Confirmed, SocialError> {
    check_member(actor)?;
    let access = rooms::access(conn, actor, room).await?;
    let room = access.room;
    let (RoomKind::Module, Some(module)) = (room.kind, room.module_id) else {
        return Err(SocialError::invalid(
            "room_id",
            "not_a_module_room",
            "answers are confirmed in a module's room",
        ));
    };
    if !access.mentor {
        return Err(SocialError::Forbidden);
    }
    let tenant = actor.tenant_id.into_uuid();
    // One confirmation at a time per message: the flag and the pair are decided together.
    let message: Message = cm::table
        .find((tenant, id))
        .filter(cm::room_id.eq(room.id))
        .select(Message::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
        .ok_or(SocialError::NotFound("message_not_found"))?;
    let Some(author) = message.author_id else {
        return Err(SocialError::invalid(
            "id",
            "not_an_answer",
            "a member's message answers",
        ));
    };
    if author == actor.user_id.into_uuid() {
        return Err(SocialError::Forbidden);
    }
    if message.deleted_at.is_some() || message.kind != MessageKind::Message {
        return Err(SocialError::invalid(
            "id",
            "not_an_answer",
            "a deleted message, or one that is not a MESSAGE, is no answer",
        ));
    }
    let question = match message.reply_to {
        Some(q) => in_room(conn, actor, room.id, q).await.ok(),
        None => None,
    };
    let Some(question) = question.filter(|q| q.deleted_at.is_none()) else {
        return Err(SocialError::invalid(
            "id",
            "not_a_reply",
            "the answer replies to a question of this room",
        ));
    };
    if message.confirmed_at.is_some() {
        return Ok(Confirmed {
            change: Change {
                message,
                audience: Vec::new(),
            },
            first: false,
            notice: None,
        });
    }
    diesel::insert_into(ca::table)
        .values((
            ca::tenant_id.eq(tenant),
            ca::id.eq(Uuid::now_v7()),
            ca::module_id.eq(module),
            ca::room_id.eq(room.id),
            ca::question_id.eq(question.id),
            ca::answer_id.eq(id),
            ca::confirmed_by.eq(actor.user_id.into_uuid()),
            ca::confirmed_at.eq(now),
        ))
        .execute(conn)
        .await?;
    let message: Message = diesel::update(cm::table.find((tenant, id)))
        .set((
            cm::confirmed_by.eq(actor.user_id.into_uuid()),
            cm::confirmed_at.eq(now),
        ))
        .returning(Message::as_returning())
        .get_result(conn)
        .await?;
    guild_db::outbox::publish(
        conn,
        Some(actor.tenant_id),
        &AnswerConfirmed {
            tenant_id: tenant,
            module_id: module,
            room_id: room.id,
            question_id: question.id,
            message_id: id,
            author_id: author,
            confirmed_by: actor.user_id.into_uuid(),
        },
    )
    .await?;
    let text = format!(
        "{} confirmed {}'s answer",
        member_name(conn, actor.user_id.into_uuid()).await?,
        member_name(conn, author).await?
    );
    let notice = write_guild_message(
        conn,
        tenant,
        room.id,
        MessageKind::System,
        None,
        &text,
        Some(id),
        now,
    )
    .await?;
    let audience = rooms::audience(conn, actor.tenant_id, &room, None).await?;
    Ok(Confirmed {
        change: Change {
            message,
            audience: audience.clone(),
        },
        first: true,
        notice: Some(Change {
            message: notice,
            audience,
        }),
    })
}

/// Checks that the actor may read the message's room and the message is not deleted (404
/// `message_not_found` otherwise, other tenants' ids included); answers its room. What a
/// reaction to a message asks first.
pub async fn message_visible_to(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<Uuid, SocialError> {
    let (room, deleted_at): (Uuid, Option<DateTime<Utc>>) = cm::table
        .find((actor.tenant_id.into_uuid(), id))
        .select((cm::room_id, cm::deleted_at))
        .first(conn)
        .await
        .optional()?
        .ok_or(SocialError::NotFound("message_not_found"))?;
    if deleted_at.is_some() {
        return Err(SocialError::NotFound("message_not_found"));
    }
    rooms::access(conn, actor, room)
        .await
        .map(|_| room)
        .map_err(|e| match e {
            SocialError::NotFound(_) => SocialError::NotFound("message_not_found"),
            other => other,
        })
}

/// Adds (`add`) or removes the actor's `emoji` reaction to a message of `room`; answers the
/// message's counts. A message of another room, a deleted one or one the actor may not read is
/// 404 `message_not_found`.
pub async fn react(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    room: Uuid,
    message: Uuid,
    emoji: &str,
    add: bool,
    now: DateTime<Utc>,
) -> Result<Vec<crate::reactions::Count>, SocialError> {
    use crate::reactions::{self, TargetKind};
    reactions::check_emoji(emoji)?;
    if message_visible_to(conn, actor, message).await? != room {
        return Err(SocialError::NotFound("message_not_found"));
    }
    if add {
        reactions::add(conn, actor, TargetKind::ChatMessage, message, emoji, now).await
    } else {
        reactions::remove(conn, actor, TargetKind::ChatMessage, message, emoji).await
    }
}

/// Who hears of a change to the message's reactions: its room's joined members who may read it
/// now (nobody once it is deleted).
pub async fn reaction_audience(
    conn: &mut AsyncPgConnection,
    tenant: guild_kernel::TenantId,
    message: Uuid,
) -> Result<Vec<Uuid>, SocialError> {
    let found: Option<(Uuid, Option<DateTime<Utc>>)> = cm::table
        .find((tenant.into_uuid(), message))
        .select((cm::room_id, cm::deleted_at))
        .first(conn)
        .await
        .optional()?;
    let Some((room, None)) = found else {
        return Ok(Vec::new());
    };
    let Some(room) = rooms::find(conn, tenant, room).await? else {
        return Ok(Vec::new());
    };
    Ok(rooms::audience(conn, tenant, &room, None)
        .await?
        .into_iter()
        .map(UserId::into_uuid)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::mention_tokens;

    #[test]
    fn mentions_are_member_ids_and_addresses_after_an_at_sign() {
        let id = uuid::Uuid::now_v7();
        let (ids, emails) = mention_tokens(&format!(
            "hi @{id}, and @Ann@Acme.example.com. mail me at bob@acme.example.com"
        ));
        assert_eq!(ids, vec![id]);
        assert_eq!(emails, vec!["ann@acme.example.com".to_owned()]);
    }
}
