//! What members hear of live events, in-app and by email according to their preferences (the
//! notification email path):
//!
//! - `live.registered`: the member gets EVENT_REGISTERED (a seat) or, when waitlisted, the same
//!   type saying so; once per registration (its position).
//! - `live.promoted`: the member gets EVENT_PROMOTED, once per registration.
//! - `live.changed`: the registered and waiting members (not who changed it) get EVENT_CHANGED
//!   with the new time and place, once per revision.
//! - `live.cancelled`: the registered and waiting members (not who cancelled it) get
//!   EVENT_CANCELLED, once per event.
//! - `live.completed`: each registrant whose attendance is not confirmed yet gets a
//!   transactional email with their signed attendance link (not an inbox notification: the
//!   token must not sit in the inbox). A redelivered event sends the same links again (they are
//!   derived from the event and the member) to those who have not used theirs.
//! - `live.reminders_due` (from the `live.event_reminders` scan, every five minutes): each
//!   registrant gets EVENT_REMINDER a day and an hour before the start, with the join link, the
//!   address or both; once per reminder and start time.
//! - `live.attended`: EVENT_ATTENDED XP for the member, once per event (the ledger is unique per
//!   member, source and event); and, for an event required for its module, the module's
//!   completion check (the attendance may be what the member still lacked).

use std::time::Duration;

use guild_db::jobs::Schedule;
use guild_db::worker::{HandlerError, Registry};
use guild_kernel::ports::Email;
use guild_kernel::{TenantId, UserId};
use guild_live::attendance::{self, Attended};
use guild_live::events::{self, EventCancelled, EventChanged, EventCompleted, Notice};
use guild_live::registrations::{Promoted, Registered, RegistrationStatus};
use guild_live::reminders::{self, ReminderKind, ReminderScan, RemindersDue};
use guild_notifications::inbox::Broadcast;
use guild_notifications::stream::StreamEvent;
use guild_notifications::{EntityKind, NotificationType};
use uuid::Uuid;

use crate::state::AppState;

/// What a reaction can fail with.
#[derive(Debug, thiserror::Error)]
enum EventReactionError {
    #[error(transparent)]
    Db(#[from] guild_db::DbError),
    #[error(transparent)]
    Live(#[from] guild_live::LiveError),
    #[error(transparent)]
    Notify(#[from] super::notifications::NotifyError),
    #[error(transparent)]
    Learning(#[from] guild_learning::LearningError),
}

/// Registers the reactions to live events.
pub fn register(registry: &mut Registry, state: &AppState) {
    let s = state.clone();
    registry.on_event("notify_event_registered", move |_, e: Registered| {
        let state = s.clone();
        async move {
            let (kind, what) = match e.status {
                RegistrationStatus::Waitlisted => (
                    NotificationType::EventRegistered,
                    "You are on the waitlist for",
                ),
                _ => (NotificationType::EventRegistered, "You are registered for"),
            };
            let key = format!("event_registered:{}:{}", e.event_id, e.position);
            tell(
                &state,
                e.tenant_id,
                e.event_id,
                &[e.user_id],
                kind,
                what,
                key,
            )
            .await
        }
    });
    let s = state.clone();
    registry.on_event("notify_event_promoted", move |_, e: Promoted| {
        let state = s.clone();
        async move {
            let key = format!("event_promoted:{}:{}", e.event_id, e.position);
            tell(
                &state,
                e.tenant_id,
                e.event_id,
                &[e.user_id],
                NotificationType::EventPromoted,
                "A seat freed up: you are now registered for",
                key,
            )
            .await
        }
    });
    let s = state.clone();
    registry.on_event("notify_event_changed", move |_, e: EventChanged| {
        let state = s.clone();
        async move {
            let key = format!("event_changed:{}:{}", e.event_id, e.revision);
            tell_attendees(
                &state,
                e.tenant_id,
                e.event_id,
                e.by,
                NotificationType::EventChanged,
                "The time or place changed for",
                key,
            )
            .await
        }
    });
    let s = state.clone();
    registry.on_event(
        "send_event_attendance_links",
        move |_, e: EventCompleted| {
            let state = s.clone();
            async move { send_links(&state, e).await }
        },
    );
    let s = state.clone();
    registry.on_event("award_event_attended", move |_, e: Attended| {
        let state = s.clone();
        async move {
            super::gamification::award(&state, e.tenant_id, e.user_id, "EVENT_ATTENDED", e.event_id)
                .await
        }
    });
    let s = state.clone();
    registry.on_event("complete_module_on_attendance", move |_, e: Attended| {
        let state = s.clone();
        async move { complete_required(&state, e).await }
    });
    let s = state.clone();
    registry.on_job(move |_, _: ReminderScan| {
        let state = s.clone();
        async move {
            let now = state.clock.now();
            let mut conn = guild_db::connect(&state.db).await?;
            let mut reminded = 0;
            for tenant in reminders::active_tenants(&mut conn).await? {
                reminded += guild_db::tenant_transaction(&mut conn, tenant, async |c| {
                    reminders::send_due(c, tenant, now).await
                })
                .await?;
            }
            Ok(Some(serde_json::json!({ "reminded": reminded })))
        }
    });
    registry.schedule(Schedule::every(
        "event_reminders",
        Duration::from_secs(300),
        &ReminderScan::default(),
    ));
    let s = state.clone();
    registry.on_event("notify_event_reminder", move |_, e: RemindersDue| {
        let state = s.clone();
        async move {
            let what = match e.kind {
                ReminderKind::DayBefore => "Tomorrow:",
                ReminderKind::HourBefore => "In an hour:",
            };
            let key = format!(
                "event_reminder:{}:{}:{}",
                e.event_id,
                e.kind,
                e.starts_at.timestamp()
            );
            tell(
                &state,
                e.tenant_id,
                e.event_id,
                &e.user_ids,
                NotificationType::EventReminder,
                what,
                key,
            )
            .await
        }
    });
    let s = state.clone();
    registry.on_event("notify_event_cancelled", move |_, e: EventCancelled| {
        let state = s.clone();
        async move {
            let key = format!("event_cancelled:{}", e.event_id);
            tell_attendees(
                &state,
                e.tenant_id,
                e.event_id,
                e.by,
                NotificationType::EventCancelled,
                "Cancelled:",
                key,
            )
            .await
        }
    });
}

/// A confirmed attendance at an event required for a module may be what the member still
/// lacked to complete it: the completion rule decides (once, under its lock).
async fn complete_required(state: &AppState, e: Attended) -> Result<(), HandlerError> {
    let tenant = TenantId(e.tenant_id);
    let now = state.clock.now();
    let mut conn = guild_db::connect(&state.db).await?;
    guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
        let Some(module) = events::required_for(conn, tenant, e.event_id).await? else {
            return Ok::<_, EventReactionError>(());
        };
        guild_progress::completion::evaluate_completion(
            conn,
            tenant,
            UserId(e.user_id),
            module,
            now,
        )
        .await?;
        Ok(())
    })
    .await?;
    Ok(())
}

/// Emails each registrant still unconfirmed their attendance link.
async fn send_links(state: &AppState, e: EventCompleted) -> Result<(), HandlerError> {
    let tenant = TenantId(e.tenant_id);
    let mut conn = guild_db::connect(&state.db).await?;
    let found = guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
        let Some(notice) = events::notice(conn, tenant, e.event_id).await? else {
            return Ok::<_, EventReactionError>(None);
        };
        let invitees = attendance::invitees(conn, tenant, e.event_id).await?;
        Ok(Some((notice, invitees)))
    })
    .await?;
    let Some((notice, invitees)) = found else {
        return Ok(());
    };
    drop(conn);
    for who in invitees {
        let link = attendance::link_for(tenant, e.event_id, who.user_id, notice.ends_at);
        let token = state.event_link_key.sign(&link);
        let email = Email {
            to: who.email,
            subject: format!("Did you attend \u{201c}{}\u{201d}?", notice.title),
            text: format!(
                "Hello {},\n\nConfirm that you attended \u{201c}{}\u{201d} ({}):\n\n\
                 {}/events/confirm-attendance?token={token}\n\nThe link works once, until {}.\n",
                who.name,
                notice.title,
                notice.when_and_where(),
                state.public_url,
                link.expires_at.format("%Y-%m-%d"),
            ),
            html: None,
            headers: Vec::new(),
            attachments: Vec::new(),
        };
        super::emails::deliver(state, email).await?;
    }
    Ok(())
}

/// Attaches the calendar invitation to the email of a live event's notification, for a member
/// holding a seat: REQUEST when they got it (registered, promoted) and on every change, CANCEL on
/// a cancellation. A waitlisted member, or one who gave their seat back, gets none: there is
/// nothing of theirs to put in a calendar.
pub(super) async fn attach_invitation(
    state: &AppState,
    conn: &mut diesel_async::AsyncPgConnection,
    tenant: TenantId,
    outgoing: &mut guild_notifications::email::Outgoing,
) -> Result<(), guild_live::LiveError> {
    use guild_live::calendar::{self, Method};
    let Some(about) = outgoing.about else {
        return Ok(());
    };
    let Some((EntityKind::LiveEvent, event)) = about.entity else {
        return Ok(());
    };
    let method = match about.kind {
        NotificationType::EventRegistered
        | NotificationType::EventPromoted
        | NotificationType::EventChanged => Method::Request,
        NotificationType::EventCancelled => Method::Cancel,
        _ => return Ok(()),
    };
    let Some(invitation) =
        calendar::invitation(conn, tenant, event, about.user_id.into_uuid()).await?
    else {
        return Ok(());
    };
    if invitation.status != Some(RegistrationStatus::Registered) {
        return Ok(());
    }
    let file = calendar::invitation_file(
        &invitation.event,
        crate::routes::events::uid_host(&state.api_url),
        method,
        &invitation.organizer,
        &invitation.attendee,
        state.clock.now(),
    );
    let method = if method == Method::Cancel {
        "CANCEL"
    } else {
        "REQUEST"
    };
    outgoing
        .email
        .attachments
        .push(guild_kernel::ports::Attachment {
            filename: "invite.ics".to_owned(),
            content_type: format!("text/calendar; method={method}; charset=UTF-8"),
            content: file.into_bytes(),
        });
    Ok(())
}

fn note(kind: NotificationType, what: &str, event: Uuid, n: &Notice, key: String) -> Broadcast {
    Broadcast {
        kind,
        title: format!("{what} \u{201c}{}\u{201d}", n.title),
        body: n.when_and_where(),
        entity: Some((EntityKind::LiveEvent, event)),
        dedup_key: key,
        data: serde_json::json!({ "event": n.title }),
    }
}

async fn tell(
    state: &AppState,
    tenant: Uuid,
    event: Uuid,
    users: &[Uuid],
    kind: NotificationType,
    what: &str,
    key: String,
) -> Result<(), HandlerError> {
    let tenant = TenantId(tenant);
    let now = state.clock.now();
    let users: Vec<UserId> = users.iter().copied().map(UserId).collect();
    let mut conn = guild_db::connect(&state.db).await?;
    let events = guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
        let Some(notice) = events::notice(conn, tenant, event).await? else {
            return Ok::<_, EventReactionError>(Vec::new());
        };
        let note = note(kind, what, event, &notice, key);
        write(conn, tenant, &users, &note, now).await
    })
    .await?;
    publish_all(state, tenant, &events).await;
    Ok(())
}

async fn tell_attendees(
    state: &AppState,
    tenant: Uuid,
    event: Uuid,
    by: Uuid,
    kind: NotificationType,
    what: &str,
    key: String,
) -> Result<(), HandlerError> {
    let tenant = TenantId(tenant);
    let now = state.clock.now();
    let mut conn = guild_db::connect(&state.db).await?;
    let events = guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
        let Some(notice) = events::notice(conn, tenant, event).await? else {
            return Ok::<_, EventReactionError>(Vec::new());
        };
        let users: Vec<UserId> = events::attendees(conn, tenant, event)
            .await?
            .into_iter()
            .filter(|u| *u != by)
            .map(UserId)
            .collect();
        let note = note(kind, what, event, &notice, key);
        write(conn, tenant, &users, &note, now).await
    })
    .await?;
    publish_all(state, tenant, &events).await;
    Ok(())
}

async fn write(
    conn: &mut diesel_async::AsyncPgConnection,
    tenant: TenantId,
    users: &[UserId],
    note: &Broadcast,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<(UserId, StreamEvent)>, EventReactionError> {
    let mut events = Vec::new();
    for chunk in users.chunks(guild_notifications::inbox::MAX_RECIPIENTS) {
        events.extend(super::notifications::write_many(conn, tenant, chunk, note, now).await?);
    }
    Ok(events)
}

async fn publish_all(state: &AppState, tenant: TenantId, events: &[(UserId, StreamEvent)]) {
    for (user, event) in events {
        crate::routes::stream::publish(state, tenant, *user, event).await;
    }
}
