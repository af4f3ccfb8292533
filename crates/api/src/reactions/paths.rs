//! Learning paths' news: a path assigned to a group, or published while assigned
//! (`progress.path_assigned`: PATH_ASSIGNED to the groups' members, once per member and path),
//! and a completed path (`progress.path_completed`: PATH_COMPLETED to the member, once per
//! completion, and PATH_COMPLETED XP once per member and path unless the member created it).

use guild_db::worker::{HandlerError, Registry};
use guild_kernel::{TenantId, UserId};
use guild_notifications::inbox::{Broadcast, NewNotification};
use guild_notifications::{EntityKind, NotificationType};
use guild_progress::paths::{self, PathAssigned, PathCompleted};
use serde_json::json;

use super::notifications::NotifyError;
use crate::state::AppState;

/// Registers the paths' notifications and XP.
pub fn register(registry: &mut Registry, state: &AppState) {
    let s = state.clone();
    registry.on_event("notify_path_assigned", move |_, e: PathAssigned| {
        let state = s.clone();
        async move {
            let tenant = TenantId(e.tenant_id);
            let mut conn = guild_db::connect(&state.db).await?;
            let (users, title) = guild_db::tenant_transaction(&mut conn, tenant, async |c| {
                let users = paths::assignees(c, tenant, &e).await?;
                Ok::<_, NotifyError>((users, paths::title(c, tenant, e.path_id).await?))
            })
            .await?;
            let Some(title) = title else {
                return Ok(());
            };
            let note = Broadcast {
                kind: NotificationType::PathAssigned,
                title: format!("New learning path: {title}"),
                body: "It was assigned to you.".to_owned(),
                entity: Some((EntityKind::LearningPath, e.path_id)),
                dedup_key: format!("path_assigned:{}", e.path_id),
                data: json!({ "path": title }),
            };
            super::notifications::broadcast(&state, tenant, &users, &note).await
        }
    });
    let s = state.clone();
    registry.on_event("notify_path_completed", move |_, e: PathCompleted| {
        let state = s.clone();
        async move { completed(&state, e).await }
    });
    let s = state.clone();
    registry.on_event("xp_path_completed", move |_, e: PathCompleted| {
        let state = s.clone();
        async move {
            if !e.rewarded {
                return Ok(());
            }
            super::gamification::award(&state, e.tenant_id, e.user_id, "PATH_COMPLETED", e.path_id)
                .await
        }
    });
}

/// PATH_COMPLETED to the member, once per completion.
async fn completed(state: &AppState, e: PathCompleted) -> Result<(), HandlerError> {
    let tenant = TenantId(e.tenant_id);
    let now = state.clock.now();
    let mut conn = guild_db::connect(&state.db).await?;
    let event = guild_db::tenant_transaction(&mut conn, tenant, async |c| {
        let Some(title) = paths::title(c, tenant, e.path_id).await? else {
            return Ok::<_, NotifyError>(None);
        };
        let body = if e.certificate_id.is_some() {
            "Your path certificate is ready.".to_owned()
        } else {
            "Every module of it is complete.".to_owned()
        };
        let note = NewNotification {
            user: UserId(e.user_id),
            kind: NotificationType::PathCompleted,
            title: format!("You completed {title}"),
            body,
            entity: Some((EntityKind::LearningPath, e.path_id)),
            dedup_key: format!("path_completed:{}", e.completion_id),
            data: json!({ "path": title, "certificate_id": e.certificate_id }),
        };
        super::notifications::write(c, tenant, &note, now).await
    })
    .await?;
    if let Some(event) = event {
        crate::routes::stream::publish(state, tenant, UserId(e.user_id), &event).await;
    }
    Ok(())
}
