//! In-app notifications from domain events: each event a member should hear about becomes one
//! notification in their inbox (once, however often it is delivered: the dedup key names the
//! event), then an event on their stream, published to the instances holding it once committed.

use chrono::{DateTime, Utc};
use guild_assessment::events::{AssignmentGraded, AssignmentSubmitted, QuizPassed};
use guild_db::worker::{HandlerError, Registry};
use guild_gamification::events::{RankChanged, RedemptionApproved, RedemptionRejected};
use guild_kernel::{RewardId, TenantId, UserId};
use guild_learning::audience::{self, ModuleAvailable};
use guild_learning::versions::ModuleUpdated;
use guild_notifications::inbox::{self, Broadcast, NewNotification};
use guild_notifications::stream;
use guild_notifications::{EntityKind, NotificationType};
use guild_progress::certificates::CertificateIssued;
use guild_progress::compliance::{DeadlineReminder, ModuleExpired, ModuleExpiring};
use guild_progress::overrides::ProgressOverridden;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::routes::me::notifications::NotificationDto;
use crate::state::AppState;

/// What a notification says; the module (or reward) it names is looked up when it is written.
struct Draft {
    tenant: Uuid,
    user: Uuid,
    kind: NotificationType,
    entity: Option<(EntityKind, Uuid)>,
    dedup_key: String,
    subject: Subject,
    /// Writes the title, the body and the email template's values from the subject's name.
    text: Box<dyn FnOnce(String) -> (String, String, Value) + Send>,
}

/// What the text names.
enum Subject {
    Module(Uuid),
    Reward(Uuid),
    Nothing,
}

/// Removes stream events older than the retention window (`GUILD_STREAM_RETENTION_HOURS`) and
/// expired stream tickets, hourly.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct PruneStreams {}

impl guild_db::jobs::Job for PruneStreams {
    const KIND: &'static str = "notifications.prune_streams";
}

/// Registers one notification per event kind a member should hear about, and the hourly prune
/// of stream events and expired stream tickets.
pub fn register(registry: &mut Registry, state: &AppState) {
    let s = state.clone();
    registry.on_job(move |_, _: PruneStreams| {
        let state = s.clone();
        async move {
            let retention = chrono::Duration::from_std(state.stream_retention)
                .map_err(|e| Box::new(e) as HandlerError)?;
            let now = state.clock.now();
            let before = now - retention;
            let mut conn = guild_db::connect(&state.db).await?;
            let (mut pruned, mut tickets_pruned) = (0, 0);
            for tenant in guild_progress::compliance::active_tenants(&mut conn).await? {
                let (events, tickets) =
                    guild_db::tenant_transaction(&mut conn, tenant, async |c| {
                        let events = stream::prune(c, tenant, before).await?;
                        let tickets = guild_notifications::tickets::prune(c, tenant, now).await?;
                        Ok::<_, guild_notifications::NotificationsError>((events, tickets))
                    })
                    .await?;
                pruned += events;
                tickets_pruned += tickets;
            }
            Ok(Some(
                serde_json::json!({ "pruned": pruned, "tickets_pruned": tickets_pruned }),
            ))
        }
    });
    registry.schedule(
        guild_db::jobs::Schedule::every(
            "prune_streams",
            std::time::Duration::from_secs(3600),
            &PruneStreams::default(),
        )
        .at_offset(std::time::Duration::from_secs(25 * 60)),
    );
    let s = state.clone();
    registry.on_event("notify_module_available", move |_, e: ModuleAvailable| {
        let state = s.clone();
        async move {
            let tenant = TenantId(e.tenant_id);
            let mut conn = guild_db::connect(&state.db).await?;
            let (users, title) = guild_db::tenant_transaction(&mut conn, tenant, async |c| {
                let users = audience::newly_available(c, tenant, &e).await?;
                Ok::<_, NotifyError>((users, module_title(c, tenant, e.module_id).await?))
            })
            .await?;
            let Some(title) = title else {
                return Ok(());
            };
            let note = Broadcast {
                kind: NotificationType::NewModule,
                title: format!("New module: {title}"),
                body: "It is now available to you.".to_owned(),
                entity: Some((EntityKind::Module, e.module_id)),
                dedup_key: format!("new_module:{}", e.module_id),
                data: json!({ "module": title }),
            };
            broadcast(&state, tenant, &users, &note).await
        }
    });
    let s = state.clone();
    registry.on_event("notify_module_updated", move |_, e: ModuleUpdated| {
        let state = s.clone();
        async move {
            let tenant = TenantId(e.tenant_id);
            let mut conn = guild_db::connect(&state.db).await?;
            let (users, title) = guild_db::tenant_transaction(&mut conn, tenant, async |c| {
                let users = audience::readers(c, tenant, e.module_id, e.version).await?;
                Ok::<_, NotifyError>((users, module_title(c, tenant, e.module_id).await?))
            })
            .await?;
            let Some(title) = title else {
                return Ok(());
            };
            let note = Broadcast {
                kind: NotificationType::ModuleUpdated,
                title: format!("{title} was updated"),
                body: format!("Version {}: {}", e.version, e.summary),
                entity: Some((EntityKind::Module, e.module_id)),
                dedup_key: format!("module_updated:{}:{}", e.module_id, e.version),
                data: json!({ "module": title, "version": e.version, "summary": e.summary }),
            };
            broadcast(&state, tenant, &users, &note).await
        }
    });
    let s = state.clone();
    registry.on_event(
        "notify_submission_received",
        move |_, e: AssignmentSubmitted| {
            let state = s.clone();
            async move {
                let tenant = TenantId(e.tenant_id);
                let mut conn = guild_db::connect(&state.db).await?;
                let (mut users, title) =
                    guild_db::tenant_transaction(&mut conn, tenant, async |c| {
                        let users = audience::mentors(c, tenant, e.module_id).await?;
                        Ok::<_, NotifyError>((users, module_title(c, tenant, e.module_id).await?))
                    })
                    .await?;
                // A mentor who submitted to their own module's assignment is not told of it.
                users.retain(|u| *u != e.user_id);
                let Some(title) = title else {
                    return Ok(());
                };
                let what = if e.number > 1 {
                    format!("Resubmission {}", e.number)
                } else {
                    "A first submission".to_owned()
                };
                let note = Broadcast {
                    kind: NotificationType::SubmissionReceived,
                    title: format!("New submission to grade in {title}"),
                    body: format!(
                        "{what}{}.",
                        if e.late { ", after the due date" } else { "" }
                    ),
                    entity: Some((EntityKind::Submission, e.submission_id)),
                    dedup_key: format!("submission_received:{}", e.submission_id),
                    data: json!({ "module": title, "late": e.late }),
                };
                broadcast(&state, tenant, &users, &note).await
            }
        },
    );
    on(
        registry,
        state,
        "notify_certificate_issued",
        |e: CertificateIssued| Draft {
            tenant: e.tenant_id,
            user: e.user_id,
            kind: NotificationType::CertificateIssued,
            entity: Some((EntityKind::Certificate, e.certificate_id)),
            dedup_key: format!("certificate_issued:{}", e.certificate_id),
            subject: Subject::Module(e.module_id),
            text: Box::new(move |module| {
                let body = match e.expires_at {
                    Some(at) => format!("It is valid until {}.", day(at)),
                    None => "It does not expire.".to_owned(),
                };
                let data = json!({ "module": module, "expires_at": e.expires_at.map(stamp) });
                (format!("Your certificate for {module}"), body, data)
            }),
        },
    );
    on(
        registry,
        state,
        "notify_module_expiring",
        |e: ModuleExpiring| Draft {
            tenant: e.tenant_id,
            user: e.user_id,
            kind: NotificationType::ModuleExpiring,
            entity: Some((EntityKind::Module, e.module_id)),
            dedup_key: format!("module_expiring:{}", e.certificate_id),
            subject: Subject::Module(e.module_id),
            text: Box::new(move |module| {
                (
                    format!("{module} needs renewing"),
                    format!(
                        "Your certificate expires on {}; take the module again before then.",
                        day(e.expires_at)
                    ),
                    json!({ "module": module, "expires_at": stamp(e.expires_at) }),
                )
            }),
        },
    );
    on(
        registry,
        state,
        "notify_module_expired",
        |e: ModuleExpired| Draft {
            tenant: e.tenant_id,
            user: e.user_id,
            kind: NotificationType::ModuleExpired,
            entity: Some((EntityKind::Module, e.module_id)),
            dedup_key: format!("module_expired:{}", e.certificate_id),
            subject: Subject::Module(e.module_id),
            text: Box::new(move |module| {
                let body = match e.new_due_at {
                    Some(due) => format!(
                        "Your certificate expired and your progress was reset; it is due again on {}.",
                        day(due)
                    ),
                    None => "Your certificate expired and your progress was reset.".to_owned(),
                };
                let data = json!({ "module": module, "due_at": e.new_due_at.map(stamp) });
                (format!("{module} expired"), body, data)
            }),
        },
    );
    on(
        registry,
        state,
        "notify_deadline_reminder",
        |e: DeadlineReminder| {
            let overdue = e.kind == "OVERDUE";
            Draft {
                tenant: e.tenant_id,
                user: e.user_id,
                kind: NotificationType::DeadlineReminder,
                entity: Some((EntityKind::Module, e.module_id)),
                dedup_key: format!(
                    "deadline:{}:{}:{}",
                    e.module_id,
                    e.kind,
                    e.due_at.timestamp()
                ),
                subject: Subject::Nothing,
                text: Box::new(move |_| {
                    let data = json!({
                        "module": e.module_title,
                        "due_at": stamp(e.due_at),
                        "reminder": e.kind,
                    });
                    if overdue {
                        (
                            format!("{} is overdue", e.module_title),
                            format!("It was due on {}.", day(e.due_at)),
                            data,
                        )
                    } else {
                        (
                            format!("{} is due soon", e.module_title),
                            format!("It is due on {}.", day(e.due_at)),
                            data,
                        )
                    }
                }),
            }
        },
    );
    on(
        registry,
        state,
        "notify_progress_override",
        |e: ProgressOverridden| Draft {
            tenant: e.tenant_id,
            user: e.user_id,
            kind: NotificationType::ProgressOverride,
            entity: Some((EntityKind::Module, e.module_id)),
            dedup_key: format!("override:{}:{}", e.override_id, e.action),
            subject: Subject::Module(e.module_id),
            text: Box::new(move |module| {
                let title = match e.action.as_str() {
                    "COMPLETE" => format!("{module} was marked complete for you"),
                    "RESET" => format!("Your progress in {module} was reset"),
                    _ => format!("A change to your progress in {module} was undone"),
                };
                let data = json!({ "module": module, "action": e.action });
                (title, String::new(), data)
            }),
        },
    );
    on(registry, state, "notify_quiz_passed", |e: QuizPassed| {
        let score = e.0;
        Draft {
            tenant: score.tenant_id,
            user: score.user_id,
            kind: NotificationType::QuizResult,
            entity: Some((EntityKind::QuizAttempt, score.attempt_id)),
            dedup_key: format!("quiz_passed:{}", score.attempt_id),
            subject: Subject::Module(score.module_id),
            text: Box::new(move |module| {
                (
                    format!("You passed the quiz of {module}"),
                    format!("You scored {:.0}%.", score.score_percent),
                    json!({ "module": module, "score": score.score_percent.round() }),
                )
            }),
        }
    });
    on(
        registry,
        state,
        "notify_assignment_graded",
        |e: AssignmentGraded| Draft {
            tenant: e.tenant_id,
            user: e.user_id,
            kind: NotificationType::AssignmentGraded,
            entity: Some((EntityKind::Submission, e.submission_id)),
            dedup_key: format!("assignment_graded:{}", e.submission_id),
            subject: Subject::Module(e.module_id),
            text: Box::new(move |module| {
                (
                    format!("Your assignment in {module} was graded"),
                    format!("You scored {} of {}.", e.score, e.max_score),
                    json!({ "module": module, "score": e.score, "max_score": e.max_score }),
                )
            }),
        },
    );
    on(registry, state, "notify_rank_up", |e: RankChanged| Draft {
        tenant: e.tenant_id,
        user: e.user_id,
        kind: NotificationType::RankUp,
        entity: None,
        dedup_key: format!("rank:{}:{}", e.to, e.lifetime_xp),
        subject: Subject::Nothing,
        text: Box::new(move |_| {
            (
                format!("You reached the rank {}", e.to),
                format!("With {} XP earned.", e.lifetime_xp),
                json!({ "rank": e.to, "lifetime_xp": e.lifetime_xp }),
            )
        }),
    });
    on(
        registry,
        state,
        "notify_reward_approved",
        |e: RedemptionApproved| {
            let r = e.0;
            Draft {
                tenant: r.tenant_id,
                user: r.user_id,
                kind: NotificationType::RewardApproved,
                entity: Some((EntityKind::Redemption, r.redemption_id)),
                dedup_key: format!("redemption_reviewed:{}", r.redemption_id),
                subject: Subject::Reward(r.reward_id),
                text: Box::new(move |reward| {
                    (
                        format!("Your redemption of {reward} was approved"),
                        format!("{} XP spent.", r.cost_xp),
                        json!({ "reward": reward, "cost_xp": r.cost_xp }),
                    )
                }),
            }
        },
    );
    on(
        registry,
        state,
        "notify_reward_rejected",
        |e: RedemptionRejected| {
            let r = e.0;
            Draft {
                tenant: r.tenant_id,
                user: r.user_id,
                kind: NotificationType::RewardRejected,
                entity: Some((EntityKind::Redemption, r.redemption_id)),
                dedup_key: format!("redemption_reviewed:{}", r.redemption_id),
                subject: Subject::Reward(r.reward_id),
                text: Box::new(move |reward| {
                    let data =
                        json!({ "reward": reward, "cost_xp": r.cost_xp, "reason": r.reason });
                    let body = match &r.reason {
                        Some(reason) => format!("{} XP returned. Reason: {reason}", r.cost_xp),
                        None => format!("{} XP returned.", r.cost_xp),
                    };
                    (
                        format!("Your redemption of {reward} was rejected"),
                        body,
                        data,
                    )
                }),
            }
        },
    );
}

/// Runs `draft` for every event of type `E`.
fn on<E, F>(registry: &mut Registry, state: &AppState, name: &'static str, draft: F)
where
    E: guild_kernel::DomainEvent,
    F: Fn(E) -> Draft + Send + Sync + Copy + 'static,
{
    let state = state.clone();
    registry.on_event(name, move |_, event: E| {
        let state = state.clone();
        async move { notify(&state, draft(event)).await }
    });
}

/// What writing a notification can fail with.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NotifyError {
    #[error(transparent)]
    Db(#[from] guild_db::DbError),
    #[error(transparent)]
    Gamification(#[from] guild_gamification::GamificationError),
    #[error(transparent)]
    Learning(#[from] guild_learning::LearningError),
    #[error(transparent)]
    Notifications(#[from] guild_notifications::NotificationsError),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

/// Writes `note` and its stream event in the caller's tenant transaction; answers the event to
/// publish once that commits (`None` when the member already has it or is not active).
pub(crate) async fn write(
    conn: &mut diesel_async::AsyncPgConnection,
    tenant: TenantId,
    note: &NewNotification,
    now: DateTime<Utc>,
) -> Result<Option<stream::StreamEvent>, NotifyError> {
    let Some(written) = inbox::deliver(conn, tenant, note, now).await? else {
        return Ok(None);
    };
    let payload = serde_json::to_value(NotificationDto::from(written))?;
    Ok(Some(
        stream::append(conn, tenant, note.user, "notification", &payload, now).await?,
    ))
}

/// [`write`] for many members: `note` to each of `users` who does not have it yet, and their
/// stream events, in the caller's tenant transaction; answers the events to publish once that
/// commits.
pub(crate) async fn write_many(
    conn: &mut diesel_async::AsyncPgConnection,
    tenant: TenantId,
    users: &[UserId],
    note: &Broadcast,
    now: DateTime<Utc>,
) -> Result<Vec<(UserId, stream::StreamEvent)>, NotifyError> {
    let written = inbox::deliver_many(conn, tenant, users, note, now).await?;
    let payloads = written
        .into_iter()
        .map(|n| {
            Ok((
                UserId(n.user_id),
                serde_json::to_value(NotificationDto::from(n))?,
            ))
        })
        .collect::<Result<Vec<_>, serde_json::Error>>()?;
    Ok(stream::append_many(conn, tenant, "notification", &payloads, now).await?)
}

/// Writes the notification and its stream event in the member's tenant, then publishes it.
async fn notify(state: &AppState, draft: Draft) -> Result<(), HandlerError> {
    let tenant = TenantId(draft.tenant);
    let user = UserId(draft.user);
    let now = state.clock.now();
    let mut conn = guild_db::connect(&state.db).await?;
    let published = guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
        let name = match draft.subject {
            Subject::Module(id) => module_title(conn, tenant, id).await?,
            Subject::Reward(id) => {
                guild_gamification::rewards::title_of(conn, tenant, RewardId(id)).await?
            }
            Subject::Nothing => Some(String::new()),
        };
        // The module or reward was deleted since: nothing to tell about.
        let Some(name) = name else {
            return Ok(None);
        };
        let (title, body, data) = (draft.text)(name);
        let note = NewNotification {
            user,
            kind: draft.kind,
            title,
            body,
            entity: draft.entity,
            dedup_key: draft.dedup_key,
            data,
        };
        write(conn, tenant, &note, now).await
    })
    .await?;
    if let Some(event) = published {
        crate::routes::stream::publish(state, tenant, user, &event).await;
    }
    Ok(())
}

/// How many recipients of a broadcast are written per transaction.
const BROADCAST_BATCH: usize = 500;

/// Delivers one notification to many members, a batch per transaction, each batch's stream
/// events published once it commits. A redelivered event skips whoever was already notified.
pub(crate) async fn broadcast(
    state: &AppState,
    tenant: TenantId,
    users: &[Uuid],
    note: &Broadcast,
) -> Result<(), HandlerError> {
    let now = state.clock.now();
    let mut conn = guild_db::connect(&state.db).await?;
    for chunk in users.chunks(BROADCAST_BATCH) {
        let recipients: Vec<UserId> = chunk.iter().copied().map(UserId).collect();
        let events = guild_db::tenant_transaction(&mut conn, tenant, async |c| {
            write_many(c, tenant, &recipients, note, now).await
        })
        .await?;
        for (user, event) in &events {
            crate::routes::stream::publish(state, tenant, *user, event).await;
        }
    }
    Ok(())
}

/// A module's title, `None` once it is deleted.
async fn module_title(
    conn: &mut diesel_async::AsyncPgConnection,
    tenant: TenantId,
    module: Uuid,
) -> Result<Option<String>, NotifyError> {
    Ok(guild_progress::titles::of(conn, tenant, &[module])
        .await?
        .pop()
        .map(|(_, title)| title))
}

fn day(at: DateTime<Utc>) -> String {
    at.format("%-d %B %Y").to_string()
}

/// A moment as email templates get it: `2026-12-08 17:00 UTC`.
fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}
