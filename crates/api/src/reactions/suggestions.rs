//! What members hear of knowledge suggestions. None of it names an anonymous suggestion's
//! author to anyone else: the author is looked up here only to notify them and award their XP.
//!
//! - `social.suggestion_popular`: every MANAGE_SUGGESTIONS holder gets SUGGESTION_POPULAR, and
//!   the author earns TOP_SUGGESTION XP (with its XP_EARNED), each once per suggestion however
//!   often the event is delivered (the dedup key; the ledger's unique source entity).
//! - `social.suggestion_status_changed`: the author and the voters (not the reviewer) get
//!   SUGGESTION_STATUS_CHANGED, once per suggestion and status; the suggestion's audience gets a
//!   `suggestion.changed` stream event.
//! - `social.suggestion_voted`, `social.suggestion_commented`: the suggestion's audience (its
//!   author, voters and commenters, bounded by `guild_social::suggestions::MAX_FANOUT`) gets a
//!   `suggestion.changed` stream event with the new count, or the new comment's ids.
//! - `learning.module_available` of a publication: when the module was converted from a
//!   suggestion and is published for the first time, its voters who may see it get
//!   NEW_KNOWLEDGE (once: the suggestion remembers it told them).

use guild_db::worker::{HandlerError, Registry};
use guild_kernel::{TenantId, UserId};
use guild_learning::audience::ModuleAvailable;
use guild_notifications::inbox::Broadcast;
use guild_notifications::stream::{self, StreamEvent};
use guild_notifications::{EntityKind, NotificationType};
use guild_social::suggestions::{
    self, SuggestionCommented, SuggestionPopular, SuggestionStatus, SuggestionStatusChanged,
    SuggestionVoted,
};
use serde_json::json;
use uuid::Uuid;

use crate::state::AppState;

/// What a reaction can fail with.
#[derive(Debug, thiserror::Error)]
enum SuggestionReactionError {
    #[error(transparent)]
    Db(#[from] guild_db::DbError),
    #[error(transparent)]
    Social(#[from] guild_social::SocialError),
    #[error(transparent)]
    Notifications(#[from] guild_notifications::NotificationsError),
    #[error(transparent)]
    Notify(#[from] super::notifications::NotifyError),
}

/// Registers the reactions to suggestions.
pub fn register(registry: &mut Registry, state: &AppState) {
    let s = state.clone();
    registry.on_event(
        "notify_suggestion_popular",
        move |_, e: SuggestionPopular| {
            let state = s.clone();
            async move { popular(&state, e).await }
        },
    );
    let s = state.clone();
    registry.on_event(
        "notify_suggestion_status_changed",
        move |_, e: SuggestionStatusChanged| {
            let state = s.clone();
            async move { status_changed(&state, e).await }
        },
    );
    let s = state.clone();
    registry.on_event("push_suggestion_voted", move |_, e: SuggestionVoted| {
        let state = s.clone();
        async move {
            let payload = json!({
                "suggestion_id": e.suggestion_id,
                "change": "votes",
                "vote_count": e.vote_count,
            });
            push(&state, TenantId(e.tenant_id), e.suggestion_id, payload).await
        }
    });
    let s = state.clone();
    registry.on_event(
        "push_suggestion_commented",
        move |_, e: SuggestionCommented| {
            let state = s.clone();
            async move {
                let payload = json!({
                    "suggestion_id": e.suggestion_id,
                    "change": "comment",
                    "comment_id": e.comment_id,
                    "parent_id": e.parent_id,
                    "author_id": e.author_id,
                    "created_at": e.at,
                });
                push(&state, TenantId(e.tenant_id), e.suggestion_id, payload).await
            }
        },
    );
    let s = state.clone();
    registry.on_event(
        "notify_suggestion_published",
        move |_, e: ModuleAvailable| {
            let state = s.clone();
            async move {
                // A publication (not an assignment to a group of a module already published).
                if e.group_id.is_some() {
                    return Ok(());
                }
                knowledge(&state, e).await
            }
        },
    );
}

async fn publish_all(state: &AppState, tenant: TenantId, events: &[(UserId, StreamEvent)]) {
    for (user, event) in events {
        crate::routes::stream::publish(state, tenant, *user, event).await;
    }
}

async fn append(
    conn: &mut diesel_async::AsyncPgConnection,
    tenant: TenantId,
    id: Uuid,
    payload: &serde_json::Value,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<(UserId, StreamEvent)>, SuggestionReactionError> {
    let users = suggestions::audience(conn, tenant, id).await?;
    let batch: Vec<(UserId, serde_json::Value)> = users
        .into_iter()
        .map(|u| (UserId(u), payload.clone()))
        .collect();
    Ok(stream::append_many(conn, tenant, "suggestion.changed", &batch, now).await?)
}

async fn push(
    state: &AppState,
    tenant: TenantId,
    id: Uuid,
    payload: serde_json::Value,
) -> Result<(), HandlerError> {
    let now = state.clock.now();
    let mut conn = guild_db::connect(&state.db).await?;
    let events = guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
        append(conn, tenant, id, &payload, now).await
    })
    .await?;
    publish_all(state, tenant, &events).await;
    Ok(())
}

async fn popular(state: &AppState, e: SuggestionPopular) -> Result<(), HandlerError> {
    let tenant = TenantId(e.tenant_id);
    let now = state.clock.now();
    let mut conn = guild_db::connect(&state.db).await?;
    let done = guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
        let Some(notice) = suggestions::notice(conn, tenant, e.suggestion_id).await? else {
            return Ok::<_, SuggestionReactionError>(None);
        };
        let reviewers: Vec<UserId> = suggestions::reviewers(conn, tenant)
            .await?
            .into_iter()
            .map(UserId)
            .collect();
        let note = Broadcast {
            kind: NotificationType::SuggestionPopular,
            title: format!("\u{201c}{}\u{201d} is popular", notice.title),
            body: format!("{} members voted for it.", notice.vote_count),
            entity: Some((EntityKind::Suggestion, e.suggestion_id)),
            dedup_key: format!("suggestion_popular:{}", e.suggestion_id),
            data: serde_json::Value::Null,
        };
        let mut events = Vec::new();
        for chunk in reviewers.chunks(guild_notifications::inbox::MAX_RECIPIENTS) {
            events.extend(super::notifications::write_many(conn, tenant, chunk, &note, now).await?);
        }
        Ok(Some((notice.author_id, events)))
    })
    .await?;
    let Some((author, events)) = done else {
        return Ok(());
    };
    publish_all(state, tenant, &events).await;
    super::gamification::award(
        state,
        e.tenant_id,
        author,
        "TOP_SUGGESTION",
        e.suggestion_id,
    )
    .await
}

async fn status_changed(state: &AppState, e: SuggestionStatusChanged) -> Result<(), HandlerError> {
    let tenant = TenantId(e.tenant_id);
    let now = state.clock.now();
    let mut conn = guild_db::connect(&state.db).await?;
    let events = guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
        let Some(notice) = suggestions::notice(conn, tenant, e.suggestion_id).await? else {
            return Ok::<_, SuggestionReactionError>(Vec::new());
        };
        let mut users = suggestions::voters(conn, tenant, e.suggestion_id).await?;
        users.push(notice.author_id);
        users.sort_unstable();
        users.dedup();
        let users: Vec<UserId> = users
            .into_iter()
            .filter(|u| *u != e.by)
            .map(UserId)
            .collect();
        let what = match e.status {
            SuggestionStatus::Approved => "was approved",
            SuggestionStatus::Rejected => "was rejected",
            SuggestionStatus::Converted => "became a module",
            SuggestionStatus::Open => "was reopened",
        };
        let note = Broadcast {
            kind: NotificationType::SuggestionStatusChanged,
            title: format!("\u{201c}{}\u{201d} {what}", notice.title),
            body: notice.reason.unwrap_or_default(),
            entity: Some((EntityKind::Suggestion, e.suggestion_id)),
            dedup_key: format!("suggestion_status:{}:{}", e.suggestion_id, e.status),
            data: serde_json::Value::Null,
        };
        let mut events = Vec::new();
        for chunk in users.chunks(guild_notifications::inbox::MAX_RECIPIENTS) {
            events.extend(super::notifications::write_many(conn, tenant, chunk, &note, now).await?);
        }
        let payload = json!({
            "suggestion_id": e.suggestion_id,
            "change": "status",
            "status": e.status,
            "module_id": notice.module_id,
        });
        events.extend(append(conn, tenant, e.suggestion_id, &payload, now).await?);
        Ok(events)
    })
    .await?;
    publish_all(state, tenant, &events).await;
    Ok(())
}

async fn knowledge(state: &AppState, e: ModuleAvailable) -> Result<(), HandlerError> {
    let tenant = TenantId(e.tenant_id);
    let now = state.clock.now();
    let mut conn = guild_db::connect(&state.db).await?;
    let events = guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
        let Some((id, title, voters)) =
            suggestions::knowledge_ready(conn, tenant, e.module_id, now).await?
        else {
            return Ok::<_, SuggestionReactionError>(Vec::new());
        };
        let voters: Vec<UserId> = voters.into_iter().map(UserId).collect();
        let note = Broadcast {
            kind: NotificationType::NewKnowledge,
            title: format!("\u{201c}{title}\u{201d}, which you voted for, is now a module"),
            body: String::new(),
            entity: Some((EntityKind::Module, e.module_id)),
            dedup_key: format!("suggestion_knowledge:{id}"),
            data: serde_json::Value::Null,
        };
        let mut events = Vec::new();
        for chunk in voters.chunks(guild_notifications::inbox::MAX_RECIPIENTS) {
            events.extend(super::notifications::write_many(conn, tenant, chunk, &note, now).await?);
        }
        Ok(events)
    })
    .await?;
    publish_all(state, tenant, &events).await;
    Ok(())
}
