//! What coaching's members hear, in-app and by email according to their preferences, and what
//! other domains' facts do to action plans:
//!
//! - `coaching.session_scheduled`, `coaching.session_changed`, `coaching.session_cancelled`: the
//!   coachee gets COACHING_SESSION_SCHEDULED (once per session), COACHING_SESSION_CHANGED (once
//!   per revision) or COACHING_SESSION_CANCELLED (once per session). The email of each carries
//!   the session's calendar entry as an `.ics` attachment ([`invitation`], called by
//!   [`super::emails`]): METHOD:REQUEST, or METHOD:CANCEL once cancelled, with the same UID and a
//!   SEQUENCE rising with every change.
//! - `coaching.action_item_assigned`: the item's owner gets ACTION_ITEM_ASSIGNED, once per item.
//! - `learning.module_completed` and `progress.path_completed`: the member's open action items
//!   naming that module or path become DONE (once: a redelivered event finds them closed).
//! - The job `coaching.session_reminders` (every 15 minutes): COACHING_SESSION_REMINDER to the
//!   coachee of each session starting within 24 hours, once per session and start time.
//! - The job `coaching.overdue_items` (hourly): ACTION_ITEM_OVERDUE to the owner of each open
//!   item past its due date, once per item and due date.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use guild_coaching::action_items::{self, ItemAssigned, Learning};
use guild_coaching::calendar::{self, Method};
use guild_coaching::sessions::{self, SessionCancelled, SessionChanged, SessionScheduled};
use guild_db::jobs::Schedule;
use guild_db::worker::{HandlerError, Registry};
use guild_kernel::ports::Attachment;
use guild_kernel::{TenantId, UserId};
use guild_notifications::inbox::Broadcast;
use guild_notifications::stream::StreamEvent;
use guild_notifications::{EntityKind, NotificationType};
use guild_progress::completion::ModuleCompleted;
use guild_progress::paths::PathCompleted;
use uuid::Uuid;

use crate::state::AppState;

/// What a reaction can fail with.
#[derive(Debug, thiserror::Error)]
enum CoachingReactionError {
    #[error(transparent)]
    Db(#[from] guild_db::DbError),
    #[error(transparent)]
    Coaching(#[from] guild_coaching::CoachingError),
    #[error(transparent)]
    Notify(#[from] super::notifications::NotifyError),
}

/// The job that reminds coachees of their sessions of the next 24 hours.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct SessionReminders {}

impl guild_db::jobs::Job for SessionReminders {
    const KIND: &'static str = "coaching.session_reminders";
}

/// The job that tells owners of their overdue action items.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct OverdueItems {}

impl guild_db::jobs::Job for OverdueItems {
    const KIND: &'static str = "coaching.overdue_items";
}

/// Registers the reactions to coaching's events, to completions, and the two scans.
pub fn register(registry: &mut Registry, state: &AppState) {
    let s = state.clone();
    registry.on_event(
        "notify_coaching_scheduled",
        move |_, e: SessionScheduled| {
            let state = s.clone();
            async move {
                let key = format!("coaching_session_scheduled:{}", e.session_id);
                tell_coachee(
                    &state,
                    e.tenant_id,
                    e.session_id,
                    e.coachee_id,
                    NotificationType::CoachingSessionScheduled,
                    "New coaching session:",
                    key,
                )
                .await
            }
        },
    );
    let s = state.clone();
    registry.on_event("notify_coaching_changed", move |_, e: SessionChanged| {
        let state = s.clone();
        async move {
            let key = format!("coaching_session_changed:{}:{}", e.session_id, e.revision);
            tell_coachee(
                &state,
                e.tenant_id,
                e.session_id,
                e.coachee_id,
                NotificationType::CoachingSessionChanged,
                "Coaching session moved:",
                key,
            )
            .await
        }
    });
    let s = state.clone();
    registry.on_event(
        "notify_coaching_cancelled",
        move |_, e: SessionCancelled| {
            let state = s.clone();
            async move {
                let key = format!("coaching_session_cancelled:{}", e.session_id);
                tell_coachee(
                    &state,
                    e.tenant_id,
                    e.session_id,
                    e.coachee_id,
                    NotificationType::CoachingSessionCancelled,
                    "Coaching session cancelled:",
                    key,
                )
                .await
            }
        },
    );
    let s = state.clone();
    registry.on_event("notify_action_item_assigned", move |_, e: ItemAssigned| {
        let state = s.clone();
        async move {
            let note = Broadcast {
                kind: NotificationType::ActionItemAssigned,
                title: format!("New action item: \u{201c}{}\u{201d}", e.title),
                body: String::new(),
                entity: Some((EntityKind::ActionItem, e.item_id)),
                dedup_key: format!("action_item_assigned:{}", e.item_id),
                data: serde_json::json!({ "title": e.title }),
            };
            notify(&state, TenantId(e.tenant_id), &[UserId(e.owner_id)], &note).await
        }
    });
    let s = state.clone();
    registry.on_event(
        "close_action_items_of_module",
        move |_, e: ModuleCompleted| {
            let state = s.clone();
            async move {
                close(
                    &state,
                    e.tenant_id,
                    e.user_id,
                    Learning::Module(e.module_id),
                )
                .await
            }
        },
    );
    let s = state.clone();
    registry.on_event("close_action_items_of_path", move |_, e: PathCompleted| {
        let state = s.clone();
        async move { close(&state, e.tenant_id, e.user_id, Learning::Path(e.path_id)).await }
    });
    let s = state.clone();
    registry.on_job(move |_, _: SessionReminders| {
        let state = s.clone();
        async move { remind(&state).await }
    });
    let s = state.clone();
    registry.on_job(move |_, _: OverdueItems| {
        let state = s.clone();
        async move { overdue(&state).await }
    });
    registry.schedule(Schedule::every(
        "coaching_session_reminders",
        Duration::from_secs(15 * 60),
        &SessionReminders::default(),
    ));
    registry.schedule(
        Schedule::every(
            "coaching_overdue_items",
            Duration::from_secs(3600),
            &OverdueItems::default(),
        )
        .at_offset(Duration::from_secs(20 * 60)),
    );
}

/// The calendar file of the session a notification email is about: for
/// COACHING_SESSION_SCHEDULED, _CHANGED and _CANCELLED only, as it is when the email goes out.
pub(crate) async fn invitation(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    about: Option<&guild_notifications::email::About>,
    now: DateTime<Utc>,
) -> Result<Option<Attachment>, guild_coaching::CoachingError> {
    let Some(guild_notifications::email::About {
        kind,
        entity: Some((entity, id)),
        ..
    }) = about
    else {
        return Ok(None);
    };
    let invites = matches!(
        kind,
        NotificationType::CoachingSessionScheduled
            | NotificationType::CoachingSessionChanged
            | NotificationType::CoachingSessionCancelled
    );
    if !invites || *entity != EntityKind::CoachingSession {
        return Ok(None);
    }
    let Some(session) = sessions::notice(conn, tenant, *id).await? else {
        return Ok(None);
    };
    let method = Method::for_email(&session);
    let host = crate::routes::events::uid_host(&state.api_url);
    Ok(Some(Attachment {
        filename: "invite.ics".to_owned(),
        content_type: format!("text/calendar; method={}; charset=UTF-8", method.as_str()),
        content: calendar::session_file(&session, host, method, now).into_bytes(),
    }))
}

fn when(session: &sessions::Notice) -> String {
    format!(
        "{} UTC, {} minutes, with {}",
        session.scheduled_at.format("%a %d %b %Y, %H:%M"),
        session.duration_minutes,
        session.coach_name
    )
}

async fn tell_coachee(
    state: &AppState,
    tenant: Uuid,
    session: Uuid,
    coachee: Uuid,
    kind: NotificationType,
    what: &str,
    key: String,
) -> Result<(), HandlerError> {
    let tenant = TenantId(tenant);
    let now = state.clock.now();
    let mut conn = guild_db::connect(&state.db).await?;
    let events = guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
        let Some(notice) = sessions::notice(conn, tenant, session).await? else {
            return Ok::<_, CoachingReactionError>(Vec::new());
        };
        let note = Broadcast {
            kind,
            title: format!("{what} {}", when(&notice)),
            body: notice.agenda.clone(),
            entity: Some((EntityKind::CoachingSession, session)),
            dedup_key: key,
            data: serde_json::json!({
                "coach": notice.coach_name,
                "scheduled_at": notice.scheduled_at,
                "duration_minutes": notice.duration_minutes,
            }),
        };
        Ok(super::notifications::write_many(conn, tenant, &[UserId(coachee)], &note, now).await?)
    })
    .await?;
    publish_all(state, tenant, &events).await;
    Ok(())
}

async fn notify(
    state: &AppState,
    tenant: TenantId,
    users: &[UserId],
    note: &Broadcast,
) -> Result<(), HandlerError> {
    let now = state.clock.now();
    let mut conn = guild_db::connect(&state.db).await?;
    let events = guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
        super::notifications::write_many(conn, tenant, users, note, now).await
    })
    .await?;
    publish_all(state, tenant, &events).await;
    Ok(())
}

async fn close(
    state: &AppState,
    tenant: Uuid,
    user: Uuid,
    learning: Learning,
) -> Result<(), HandlerError> {
    let tenant = TenantId(tenant);
    let now = state.clock.now();
    let mut conn = guild_db::connect(&state.db).await?;
    guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
        action_items::complete_for(conn, tenant, user, learning, now).await
    })
    .await?;
    Ok(())
}

async fn remind(state: &AppState) -> Result<Option<serde_json::Value>, HandlerError> {
    let now = state.clock.now();
    let mut conn = guild_db::connect(&state.db).await?;
    let mut sent = 0_usize;
    for tenant in guild_progress::compliance::active_tenants(&mut conn).await? {
        let events = guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
            let mut events = Vec::new();
            for due in sessions::mark_reminders(conn, tenant, now).await? {
                let Some(notice) = sessions::notice(conn, tenant, due.id).await? else {
                    continue;
                };
                let note = Broadcast {
                    kind: NotificationType::CoachingSessionReminder,
                    title: format!("Coaching session soon: {}", when(&notice)),
                    body: notice.agenda.clone(),
                    entity: Some((EntityKind::CoachingSession, due.id)),
                    dedup_key: format!(
                        "coaching_session_reminder:{}:{}",
                        due.id,
                        due.scheduled_at.timestamp()
                    ),
                    data: serde_json::json!({
                        "coach": notice.coach_name,
                        "scheduled_at": notice.scheduled_at,
                    }),
                };
                events.extend(
                    super::notifications::write_many(
                        conn,
                        tenant,
                        &[UserId(due.coachee_id)],
                        &note,
                        now,
                    )
                    .await?,
                );
            }
            Ok::<_, CoachingReactionError>(events)
        })
        .await?;
        sent += events.len();
        publish_all(state, tenant, &events).await;
    }
    Ok(Some(serde_json::json!({ "reminded": sent })))
}

async fn overdue(state: &AppState) -> Result<Option<serde_json::Value>, HandlerError> {
    let now = state.clock.now();
    let today = now.date_naive();
    let mut conn = guild_db::connect(&state.db).await?;
    let mut sent = 0_usize;
    for tenant in guild_progress::compliance::active_tenants(&mut conn).await? {
        let events = guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
            let mut events = Vec::new();
            for item in action_items::mark_overdue(conn, tenant, today).await? {
                let note = Broadcast {
                    kind: NotificationType::ActionItemOverdue,
                    title: format!("Overdue action item: \u{201c}{}\u{201d}", item.title),
                    body: format!("It was due on {}.", item.due_date),
                    entity: Some((EntityKind::ActionItem, item.id)),
                    dedup_key: format!("action_item_overdue:{}:{}", item.id, item.due_date),
                    data: serde_json::json!({ "title": item.title, "due_date": item.due_date }),
                };
                events.extend(
                    super::notifications::write_many(
                        conn,
                        tenant,
                        &[UserId(item.owner_id)],
                        &note,
                        now,
                    )
                    .await?,
                );
            }
            Ok::<_, CoachingReactionError>(events)
        })
        .await?;
        sent += events.len();
        publish_all(state, tenant, &events).await;
    }
    Ok(Some(serde_json::json!({ "notified": sent })))
}

async fn publish_all(state: &AppState, tenant: TenantId, events: &[(UserId, StreamEvent)]) {
    for (user, event) in events {
        crate::routes::stream::publish(state, tenant, *user, event).await;
    }
}
