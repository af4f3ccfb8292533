//! What members hear of discussions, announcements and reactions.
//!
//! - `social.discussion_posted`: the author of what a reply answers, and every member a post
//!   mentions, get a COMMENT_REPLY notification (once per post, never for their own post, only
//!   while they may see the module and the post is shown); the thread's followers who may see the
//!   module get a `discussion.post_created` event on their stream.
//! - `social.announcement_posted`: every recipient gets an ANNOUNCEMENT notification (emailed as
//!   their preferences say), in batches of [`BATCH`] per transaction.
//! - `social.reaction_changed`: the members who may see the target get a `reaction.changed`
//!   event with its new counts.
//!
//! - `social.answer_confirmed`: the author of an answer a module's mentor confirmed in its chat
//!   room earns MENTOR_CONFIRMATION XP, once per message however often the event is delivered
//!   (the ledger is unique per member, source and source entity).
//!
//! Each notification's dedup key names the post or announcement, so a redelivered event
//! notifies nobody twice; stream events are written in the same transaction as the notifications
//! and published once it commits.

use guild_db::worker::{HandlerError, Registry};
use guild_kernel::{TenantId, UserId};
use guild_notifications::inbox::{Broadcast, NewNotification};
use guild_notifications::stream::{self, StreamEvent};
use guild_notifications::{EntityKind, NotificationType};
use guild_social::announcements::{self, AnnouncementPosted};
use guild_social::chat::AnswerConfirmed;
use guild_social::discussions::{self, DiscussionPosted};
use guild_social::reactions::{self, ReactionChanged};
use serde_json::json;
use uuid::Uuid;

use crate::state::AppState;

/// Recipients written per transaction.
pub const BATCH: i64 = 500;

/// What a reaction can fail with.
#[derive(Debug, thiserror::Error)]
enum SocialReactionError {
    #[error(transparent)]
    Db(#[from] guild_db::DbError),
    #[error(transparent)]
    Social(#[from] guild_social::SocialError),
    #[error(transparent)]
    Notifications(#[from] guild_notifications::NotificationsError),
    #[error(transparent)]
    Notify(#[from] super::notifications::NotifyError),
}

/// Registers the reactions to posts, announcements and reactions.
pub fn register(registry: &mut Registry, state: &AppState) {
    let s = state.clone();
    registry.on_event("notify_discussion_posted", move |_, e: DiscussionPosted| {
        let state = s.clone();
        async move { discussion_posted(&state, e).await }
    });
    let s = state.clone();
    registry.on_event(
        "notify_announcement_posted",
        move |_, e: AnnouncementPosted| {
            let state = s.clone();
            async move { announcement_posted(&state, e).await }
        },
    );
    let s = state.clone();
    registry.on_event("push_reaction_changed", move |_, e: ReactionChanged| {
        let state = s.clone();
        async move { reaction_changed(&state, e).await }
    });
    let s = state.clone();
    registry.on_event("xp_answer_confirmed", move |_, e: AnswerConfirmed| {
        let state = s.clone();
        async move {
            // Social refuses a confirmation of one's own message; this keeps it so for any event.
            if e.author_id == e.confirmed_by {
                return Ok(());
            }
            super::gamification::award(
                &state,
                e.tenant_id,
                e.author_id,
                "MENTOR_CONFIRMATION",
                e.message_id,
            )
            .await
        }
    });
}

async fn publish_all(state: &AppState, tenant: TenantId, events: &[(UserId, StreamEvent)]) {
    for (user, event) in events {
        crate::routes::stream::publish(state, tenant, *user, event).await;
    }
}

async fn discussion_posted(state: &AppState, e: DiscussionPosted) -> Result<(), HandlerError> {
    let tenant = TenantId(e.tenant_id);
    let now = state.clock.now();
    let mut conn = guild_db::connect(&state.db).await?;
    let events = guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
        let mut out = Vec::new();
        // Hidden (or gone) before the worker came to it: nobody hears of it.
        if !discussions::is_shown(conn, tenant, e.post_id).await? {
            return Ok::<_, SocialReactionError>(out);
        }
        let reply_to = e.parent_author_id.filter(|a| *a != e.author_id);
        let mut candidates: Vec<Uuid> = reply_to.into_iter().collect();
        candidates.extend(
            e.mentions
                .iter()
                .copied()
                .filter(|m| *m != e.author_id && Some(*m) != reply_to),
        );
        let allowed = discussions::who_may_see(conn, tenant, e.module_id, &candidates).await?;
        for user in candidates.into_iter().filter(|u| allowed.contains(u)) {
            let replied = Some(user) == reply_to;
            let (title, key) = if replied {
                (
                    format!(
                        "{} replied in \u{201c}{}\u{201d}",
                        e.author_name, e.thread_title
                    ),
                    format!("discussion_reply:{}", e.post_id),
                )
            } else {
                (
                    format!(
                        "{} mentioned you in \u{201c}{}\u{201d}",
                        e.author_name, e.thread_title
                    ),
                    format!("discussion_mention:{}", e.post_id),
                )
            };
            let note = NewNotification {
                user: UserId(user),
                kind: NotificationType::CommentReply,
                title,
                body: String::new(),
                entity: Some((EntityKind::DiscussionThread, e.thread_id)),
                dedup_key: key,
                data: json!({ "module": e.module_title, "author": e.author_name }),
            };
            if let Some(event) = super::notifications::write(conn, tenant, &note, now).await? {
                out.push((UserId(user), event));
            }
        }
        let followers =
            discussions::followers(conn, tenant, e.module_id, e.thread_id, e.author_id).await?;
        let payload = json!({
            "discussion_id": e.thread_id,
            "post_id": e.post_id,
            "parent_id": e.parent_id,
            "module_id": e.module_id,
            "author_id": e.author_id,
            "author_name": e.author_name,
            "title": e.thread_title,
            "created_at": e.at,
        });
        for chunk in followers.chunks(usize::try_from(BATCH).unwrap_or(500)) {
            let batch: Vec<(UserId, serde_json::Value)> = chunk
                .iter()
                .map(|u| (UserId(*u), payload.clone()))
                .collect();
            out.extend(
                stream::append_many(conn, tenant, "discussion.post_created", &batch, now).await?,
            );
        }
        Ok(out)
    })
    .await?;
    publish_all(state, tenant, &events).await;
    Ok(())
}

async fn announcement_posted(state: &AppState, e: AnnouncementPosted) -> Result<(), HandlerError> {
    let tenant = TenantId(e.tenant_id);
    let mut conn = guild_db::connect(&state.db).await?;
    let mut after: Option<UserId> = None;
    loop {
        let now = state.clock.now();
        let batch = guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
            let Some(notice) = announcements::notice(conn, tenant, e.announcement_id).await? else {
                return Ok::<_, SocialReactionError>(None);
            };
            let users =
                announcements::recipients_after(conn, tenant, e.announcement_id, after, BATCH)
                    .await?;
            let note = Broadcast {
                kind: NotificationType::Announcement,
                title: notice.title,
                body: notice.body,
                entity: Some((EntityKind::Announcement, e.announcement_id)),
                dedup_key: format!("announcement:{}", e.announcement_id),
                data: json!({ "author": notice.author_name }),
            };
            let events = super::notifications::write_many(conn, tenant, &users, &note, now).await?;
            Ok(Some((users, events)))
        })
        .await?;
        let Some((users, events)) = batch else {
            break;
        };
        publish_all(state, tenant, &events).await;
        if i64::try_from(users.len()).unwrap_or(0) < BATCH {
            break;
        }
        after = users.last().copied();
    }
    Ok(())
}

async fn reaction_changed(state: &AppState, e: ReactionChanged) -> Result<(), HandlerError> {
    let tenant = TenantId(e.tenant_id);
    let now = state.clock.now();
    let mut conn = guild_db::connect(&state.db).await?;
    let events = guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
        let users = reactions::audience(conn, tenant, e.target_kind, e.target_id).await?;
        let totals = reactions::totals(conn, tenant, e.target_kind, e.target_id).await?;
        let payload = json!({
            "target_kind": e.target_kind,
            "target_id": e.target_id,
            "emoji": e.emoji,
            "user_id": e.user_id,
            "added": e.added,
            "reactions": totals
                .iter()
                .map(|(emoji, count)| json!({ "emoji": emoji, "count": count }))
                .collect::<Vec<_>>(),
        });
        let mut out = Vec::new();
        for chunk in users.chunks(usize::try_from(BATCH).unwrap_or(500)) {
            let batch: Vec<(UserId, serde_json::Value)> = chunk
                .iter()
                .map(|u| (UserId(*u), payload.clone()))
                .collect();
            out.extend(stream::append_many(conn, tenant, "reaction.changed", &batch, now).await?);
        }
        Ok::<_, SocialReactionError>(out)
    })
    .await?;
    publish_all(state, tenant, &events).await;
    Ok(())
}
