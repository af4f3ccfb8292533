//! Reactions: members react to what they can see (a discussion post, an announcement, a chat
//! message, a knowledge suggestion) with one of an allow-listed set of emoji ([`Emoji`]).
//!
//! Owns `reactions` (one row per member, emoji and target: reacting twice changes nothing) and
//! `reaction_counts` (one row per target and emoji, kept on write in the same transaction: a
//! counter moves only when a reaction row was really added or removed, so concurrent reactions
//! count exactly). Each change that moved a counter publishes [`ReactionChanged`]; the api
//! layer's reaction pushes it to the stream of the members who may see the target.
//!
//! A target must be visible to the member: a discussion post when its module is (and it is not
//! hidden, unless they moderate it), an announcement when it is addressed to them or they wrote
//! it or administer the tenant, a suggestion always (every member sees every suggestion of their
//! tenant), a feed post when it is approved, theirs, or they moderate the feed. Anything else is
//! 404, as if it did not exist.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{reaction_counts as rc, reactions as r};
use guild_kernel::{Actor, DomainEvent, TenantId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::SocialError;

guild_kernel::string_enum!(
    /// What a reaction is on.
    TargetKind {
        /// A discussion post (a thread's opening post or a reply).
        DiscussionPost => "DISCUSSION_POST",
        /// An announcement.
        Announcement => "ANNOUNCEMENT",
        /// A chat message.
        ChatMessage => "CHAT_MESSAGE",
        /// A knowledge suggestion.
        Suggestion => "SUGGESTION",
        /// A post of the knowledge feed.
        RadarPost => "RADAR_POST",
    }
);

guild_kernel::string_enum!(
    /// The emoji members may react with, by name (in URLs and bodies).
    Emoji {
        /// 👍
        ThumbsUp => "thumbs_up",
        /// ❤️
        Heart => "heart",
        /// 🎉
        Tada => "tada",
        /// 😄
        Laugh => "laugh",
        /// 😮
        Surprised => "surprised",
        /// 😢
        Sad => "sad",
        /// 🤔
        Thinking => "thinking",
        /// 👀
        Eyes => "eyes",
        /// 🚀
        Rocket => "rocket",
        /// ✅
        Check => "check",
        /// 👏
        Clap => "clap",
        /// 🙏
        Pray => "pray",
    }
);

impl Emoji {
    /// The character itself.
    pub fn char(self) -> &'static str {
        match self {
            Self::ThumbsUp => "\u{1F44D}",
            Self::Heart => "\u{2764}\u{FE0F}",
            Self::Tada => "\u{1F389}",
            Self::Laugh => "\u{1F604}",
            Self::Surprised => "\u{1F62E}",
            Self::Sad => "\u{1F622}",
            Self::Thinking => "\u{1F914}",
            Self::Eyes => "\u{1F440}",
            Self::Rocket => "\u{1F680}",
            Self::Check => "\u{2705}",
            Self::Clap => "\u{1F44F}",
            Self::Pray => "\u{1F64F}",
        }
    }
}

/// The character of an allow-listed emoji name.
pub fn emoji_char(name: &str) -> Option<&'static str> {
    name.parse::<Emoji>().ok().map(Emoji::char)
}

/// Where an emoji name sorts: the allow-list's order.
fn position(name: &str) -> usize {
    Emoji::ALL
        .iter()
        .position(|e| e.as_str() == name)
        .unwrap_or(usize::MAX)
}

/// One emoji's count on a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Count {
    /// The emoji's name.
    pub emoji: String,
    /// How many members reacted with it.
    pub count: i32,
    /// Whether the member asking is one of them.
    pub mine: bool,
}

/// A member's reaction changed a target's counts; the api layer pushes the new counts to the
/// members who may see the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionChanged {
    /// The tenant.
    pub tenant_id: Uuid,
    /// `DISCUSSION_POST`, `ANNOUNCEMENT`, `CHAT_MESSAGE`, `SUGGESTION` or `RADAR_POST`.
    pub target_kind: TargetKind,
    /// The target.
    pub target_id: Uuid,
    /// The emoji.
    pub emoji: String,
    /// Who reacted.
    pub user_id: Uuid,
    /// Added (else removed).
    pub added: bool,
    /// The emoji's count on the target after the change.
    pub count: i32,
}

impl DomainEvent for ReactionChanged {
    const KIND: &'static str = "social.reaction_changed";
}

/// The emoji name, refused (422 `emoji_not_allowed`) when it is not an [`Emoji`].
pub fn check_emoji(name: &str) -> Result<&'static str, SocialError> {
    name.parse::<Emoji>().map(Emoji::as_str).map_err(|_| {
        SocialError::invalid(
            "emoji",
            "emoji_not_allowed",
            "not one of the allowed emoji (see the API description)",
        )
    })
}

/// Who may react at all: a member acting for themselves (not a read-only VIEWER, not the
/// platform owner looking into a tenant they do not belong to).
pub(crate) fn check_member(actor: &Actor) -> Result<(), SocialError> {
    if actor.impersonating
        || !actor.acts_as_member()
        || actor.role == guild_kernel::TenantRole::Viewer
    {
        return Err(SocialError::Forbidden);
    }
    Ok(())
}

/// Checks that the actor may see the target (404 with the target's code otherwise).
pub async fn check_visible(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    kind: TargetKind,
    target: Uuid,
) -> Result<(), SocialError> {
    match kind {
        TargetKind::DiscussionPost => {
            crate::discussions::post_visible_to(conn, actor, target).await?;
        }
        TargetKind::Announcement => {
            crate::announcements::visible_to(conn, actor, target).await?;
        }
        TargetKind::ChatMessage => {
            crate::chat::message_visible_to(conn, actor, target).await?;
        }
        TargetKind::Suggestion => {
            crate::suggestions::visible_to(conn, actor, target).await?;
        }
        TargetKind::RadarPost => {
            crate::feed::visible_to(conn, actor, target).await?;
        }
    }
    Ok(())
}

/// Who may see a target now, of those who hear of its reactions: a discussion post's thread's
/// followers who may see its module (nobody while the post is hidden), an announcement's author
/// and recipients, a chat message's room members who may read it, a suggestion's author, voters
/// and commenters.
pub async fn audience(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    kind: TargetKind,
    target: Uuid,
) -> Result<Vec<Uuid>, SocialError> {
    match kind {
        TargetKind::DiscussionPost => crate::discussions::post_audience(conn, tenant, target).await,
        TargetKind::Announcement => crate::announcements::audience(conn, tenant, target).await,
        TargetKind::ChatMessage => {
            crate::chat::messages::reaction_audience(conn, tenant, target).await
        }
        TargetKind::Suggestion => crate::suggestions::audience(conn, tenant, target).await,
        TargetKind::RadarPost => crate::feed::audience(conn, tenant, target).await,
    }
}

/// Adds the actor's `emoji` reaction to a target they may see; answers the target's counts.
/// Reacting again with the same emoji changes nothing.
pub async fn add(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    kind: TargetKind,
    target: Uuid,
    emoji: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Count>, SocialError> {
    check_member(actor)?;
    let emoji = check_emoji(emoji)?;
    check_visible(conn, actor, kind, target).await?;
    let tenant = actor.tenant_id.into_uuid();
    let added = diesel::insert_into(r::table)
        .values((
            r::tenant_id.eq(tenant),
            r::target_kind.eq(kind.as_str()),
            r::target_id.eq(target),
            r::emoji.eq(emoji),
            r::user_id.eq(actor.user_id.into_uuid()),
            r::created_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    if added == 1 {
        let count: i32 = diesel::insert_into(rc::table)
            .values((
                rc::tenant_id.eq(tenant),
                rc::target_kind.eq(kind.as_str()),
                rc::target_id.eq(target),
                rc::emoji.eq(emoji),
                rc::total.eq(1),
            ))
            .on_conflict((rc::tenant_id, rc::target_kind, rc::target_id, rc::emoji))
            .do_update()
            .set(rc::total.eq(rc::total + 1))
            .returning(rc::total)
            .get_result(conn)
            .await?;
        changed(conn, actor, kind, target, emoji, true, count).await?;
    }
    counts_of(conn, actor, kind, target).await
}

/// Removes the actor's `emoji` reaction from a target they may see; answers the target's counts.
/// Removing one that is not there changes nothing.
pub async fn remove(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    kind: TargetKind,
    target: Uuid,
    emoji: &str,
) -> Result<Vec<Count>, SocialError> {
    check_member(actor)?;
    let emoji = check_emoji(emoji)?;
    check_visible(conn, actor, kind, target).await?;
    let tenant = actor.tenant_id.into_uuid();
    let removed = diesel::delete(
        r::table
            .filter(r::tenant_id.eq(tenant))
            .filter(r::target_kind.eq(kind.as_str()))
            .filter(r::target_id.eq(target))
            .filter(r::emoji.eq(emoji))
            .filter(r::user_id.eq(actor.user_id.into_uuid())),
    )
    .execute(conn)
    .await?;
    if removed == 1 {
        let key = rc::table
            .filter(rc::tenant_id.eq(tenant))
            .filter(rc::target_kind.eq(kind.as_str()))
            .filter(rc::target_id.eq(target))
            .filter(rc::emoji.eq(emoji));
        let count: i32 = diesel::update(key)
            .set(rc::total.eq(rc::total - 1))
            .returning(rc::total)
            .get_result(conn)
            .await?;
        if count == 0 {
            diesel::delete(key.filter(rc::total.eq(0)))
                .execute(conn)
                .await?;
        }
        changed(conn, actor, kind, target, emoji, false, count).await?;
    }
    counts_of(conn, actor, kind, target).await
}

async fn changed(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    kind: TargetKind,
    target: Uuid,
    emoji: &str,
    added: bool,
    count: i32,
) -> Result<(), SocialError> {
    guild_db::outbox::publish(
        conn,
        Some(actor.tenant_id),
        &ReactionChanged {
            tenant_id: actor.tenant_id.into_uuid(),
            target_kind: kind,
            target_id: target,
            emoji: emoji.to_owned(),
            user_id: actor.user_id.into_uuid(),
            added,
            count,
        },
    )
    .await?;
    Ok(())
}

async fn counts_of(
    conn: &AsyncPgConnection,
    actor: &Actor,
    kind: TargetKind,
    target: Uuid,
) -> Result<Vec<Count>, SocialError> {
    Ok(counts(conn, actor, kind, &[target])
        .await?
        .remove(&target)
        .unwrap_or_default())
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = SqlUuid)]
    target_id: Uuid,
    #[diesel(sql_type = Text)]
    emoji: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    total: i32,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    mine: bool,
}

/// The counts of each of `targets`, in the allow-list's order, with whether the actor reacted: what a
/// target is returned with. A target nobody reacted to has no entry.
pub async fn counts(
    mut conn: &AsyncPgConnection,
    actor: &Actor,
    kind: TargetKind,
    targets: &[Uuid],
) -> Result<BTreeMap<Uuid, Vec<Count>>, SocialError> {
    if targets.is_empty() {
        return Ok(BTreeMap::new());
    }
    let rows: Vec<CountRow> = guild_db::sql(
        "SELECT c.target_id, c.emoji, c.total, EXISTS (SELECT 1 FROM reactions r \
             WHERE r.tenant_id = c.tenant_id AND r.target_kind = c.target_kind \
               AND r.target_id = c.target_id AND r.emoji = c.emoji AND r.user_id = $3) AS mine \
         FROM reaction_counts c \
         WHERE c.tenant_id = $1 AND c.target_kind = $2 AND c.target_id = ANY($4) AND c.total > 0",
    )
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<Text, _>(kind.as_str())
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<Array<SqlUuid>, _>(targets)
    .load(&mut conn)
    .await?;
    let mut out: BTreeMap<Uuid, Vec<Count>> = BTreeMap::new();
    for row in rows {
        out.entry(row.target_id).or_default().push(Count {
            emoji: row.emoji,
            count: row.total,
            mine: row.mine,
        });
    }
    for list in out.values_mut() {
        list.sort_by_key(|c| position(&c.emoji));
    }
    Ok(out)
}

/// A target's counts as everyone sees them (no `mine`): what a change pushes.
pub async fn totals(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    kind: TargetKind,
    target: Uuid,
) -> Result<Vec<(String, i32)>, SocialError> {
    let mut rows: Vec<(String, i32)> = rc::table
        .filter(rc::tenant_id.eq(tenant.into_uuid()))
        .filter(rc::target_kind.eq(kind.as_str()))
        .filter(rc::target_id.eq(target))
        .filter(rc::total.gt(0))
        .select((rc::emoji, rc::total))
        .load(conn)
        .await?;
    rows.sort_by_key(|(e, _)| position(e));
    Ok(rows)
}
