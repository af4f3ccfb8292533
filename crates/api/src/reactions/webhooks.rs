//! Webhook deliveries: the catalog's domain events fanned out to the endpoints subscribed to
//! them, and the attempts that send them.
//!
//! - Each domain event of the catalog (`guild_webhooks::catalog`) becomes one delivery per
//!   enabled endpoint subscribed to its type, in one transaction, unique per endpoint and outbox
//!   event (a redelivered event adds nothing); the new deliveries are attempted at once.
//! - `webhooks.deliver_due`, every minute, attempts every delivery whose retry is due by the
//!   app clock, in each active tenant (claimed with a lease, so instances running it together
//!   do not send one twice).
//! - `webhooks.endpoint_disabled` (an endpoint whose deliveries kept failing was disabled):
//!   WEBHOOK_DISABLED to the tenant's admins (ADMIN and above, MANAGE_WEBHOOKS holders), once per
//!   disabling, emailed through the notification email path.
//!
//! An attempt reads the delivery and signs its message with every secret that signs at the
//! clock's `now` (in a tenant transaction), POSTs it through [`AppState::webhooks`] (the SSRF
//! guard: `https`, public addresses only, no redirects, 10 s, 1 KiB of the answer kept) with no
//! transaction open, then records what came back in another, which moves the delivery on
//! (`guild_webhooks::deliveries::record_attempt`: succeeded, retried later, or failed).

use std::time::Duration;

use guild_db::jobs::Schedule;
use guild_db::outbox::Event;
use guild_db::worker::{HandlerError, Registry};
use guild_kernel::UserId;
use guild_kernel::{DomainEvent, TenantId};
use guild_notifications::inbox::Broadcast;
use guild_notifications::{EntityKind, NotificationType};
use guild_webhooks::deliveries::{self, DeliverDue, EndpointDisabled, Outcome};
use guild_webhooks::{WebhookError, catalog};
use uuid::Uuid;

use crate::state::AppState;

/// Deliveries claimed per batch by the retry job.
const BATCH: i64 = 50;

/// Registers the fan-out of every catalog event, the retry job and its schedule.
pub fn register(registry: &mut Registry, state: &AppState) {
    on::<guild_tenancy::events::MemberChanged>(registry, state, "webhooks_member_changed");
    on::<guild_tenancy::events::GroupChanged>(registry, state, "webhooks_group_changed");
    on::<guild_tenancy::events::GroupMembersChanged>(
        registry,
        state,
        "webhooks_group_members_changed",
    );
    on::<guild_learning::audience::ModuleAvailable>(registry, state, "webhooks_module_available");
    on::<guild_learning::versions::ModuleUpdated>(registry, state, "webhooks_module_updated");
    on::<guild_progress::completion::ModuleCompleted>(registry, state, "webhooks_module_completed");
    on::<guild_progress::certificates::CertificateIssued>(
        registry,
        state,
        "webhooks_certificate_issued",
    );
    on::<guild_progress::paths::PathAssigned>(registry, state, "webhooks_path_assigned");
    on::<guild_progress::paths::PathCompleted>(registry, state, "webhooks_path_completed");
    on::<guild_assessment::events::QuizPassed>(registry, state, "webhooks_quiz_passed");
    on::<guild_assessment::events::QuizFailed>(registry, state, "webhooks_quiz_failed");
    on::<guild_assessment::events::AssignmentSubmitted>(
        registry,
        state,
        "webhooks_assignment_submitted",
    );
    on::<guild_assessment::events::AssignmentGraded>(registry, state, "webhooks_assignment_graded");
    on::<guild_live::events::EventChanged>(registry, state, "webhooks_event_changed");
    on::<guild_live::events::EventCancelled>(registry, state, "webhooks_event_cancelled");
    on::<guild_live::events::EventCompleted>(registry, state, "webhooks_event_completed");
    on::<guild_live::registrations::Registered>(registry, state, "webhooks_event_registered");
    on::<guild_live::registrations::Promoted>(registry, state, "webhooks_event_promoted");
    on::<guild_live::attendance::Attended>(registry, state, "webhooks_event_attended");
    on::<guild_gamification::events::RankChanged>(registry, state, "webhooks_rank_changed");
    on::<guild_gamification::events::RedemptionApproved>(
        registry,
        state,
        "webhooks_redemption_approved",
    );
    on::<guild_gamification::events::RedemptionRejected>(
        registry,
        state,
        "webhooks_redemption_rejected",
    );
    on::<guild_social::suggestions::SuggestionStatusChanged>(
        registry,
        state,
        "webhooks_suggestion_status_changed",
    );
    let s = state.clone();
    registry.on_event(
        "notify_webhook_disabled",
        move |event: Event, e: EndpointDisabled| {
            let state = s.clone();
            async move { disabled(&state, &event, e).await }
        },
    );
    let s = state.clone();
    registry.on_job(move |_, _: DeliverDue| {
        let state = s.clone();
        async move {
            let mut conn = guild_db::connect(&state.db).await?;
            let tenants = guild_progress::compliance::active_tenants(&mut conn).await?;
            drop(conn);
            let mut attempted = 0;
            for tenant in tenants {
                attempted += deliver_due(&state, tenant).await?;
            }
            Ok(Some(serde_json::json!({ "attempted": attempted })))
        }
    });
    registry.schedule(Schedule::every(
        "webhooks_deliver_due",
        Duration::from_secs(60),
        &DeliverDue::default(),
    ));
}

/// Fans the events of `E` out to the endpoints subscribed to their catalog types.
fn on<E: DomainEvent>(registry: &mut Registry, state: &AppState, name: &'static str) {
    let s = state.clone();
    registry.on_event(name, move |event: Event, _: E| {
        let state = s.clone();
        async move { fan_out(&state, &event).await }
    });
}

async fn fan_out(state: &AppState, event: &Event) -> Result<(), HandlerError> {
    let Some(tenant) = event.tenant_id else {
        return Ok(());
    };
    let now = state.clock.now();
    let source = event.id.into_uuid();
    let mut conn = guild_db::connect(&state.db).await?;
    let created = guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
        let mut created = Vec::new();
        for kind in catalog::from_source(&event.kind, &event.payload) {
            let data = catalog::data_of(kind, &event.payload);
            created.extend(deliveries::fan_out(conn, tenant, kind.name, source, &data, now).await?);
        }
        Ok::<_, WebhookError>(created)
    })
    .await?;
    drop(conn);
    for delivery in created {
        attempt(state, tenant, delivery).await?;
    }
    Ok(())
}

/// What telling the admins may fail with.
#[derive(Debug, thiserror::Error)]
enum DisabledError {
    #[error(transparent)]
    Webhook(#[from] WebhookError),
    #[error(transparent)]
    Notify(#[from] super::notifications::NotifyError),
    #[error(transparent)]
    Db(#[from] guild_db::DbError),
}

/// Tells the tenant's admins that an endpoint was disabled for failing.
async fn disabled(
    state: &AppState,
    event: &Event,
    e: EndpointDisabled,
) -> Result<(), HandlerError> {
    let tenant = TenantId(e.tenant_id);
    let now = state.clock.now();
    let mut conn = guild_db::connect(&state.db).await?;
    let events = guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
        let admins: Vec<UserId> = deliveries::admins(conn, tenant)
            .await?
            .into_iter()
            .map(UserId)
            .collect();
        let note = Broadcast {
            kind: NotificationType::WebhookDisabled,
            title: "A webhook endpoint was disabled".to_owned(),
            body: format!(
                "{} failed {} deliveries in a row (each retried for about three days) and was disabled. Fix the receiver, then enable it again and replay its failed deliveries.",
                e.url, e.failed_deliveries
            ),
            entity: Some((EntityKind::WebhookEndpoint, e.endpoint_id)),
            dedup_key: format!("webhook_disabled:{}", event.id.into_uuid()),
            data: serde_json::Value::Null,
        };
        Ok::<_, DisabledError>(
            super::notifications::write_many(conn, tenant, &admins, &note, now).await?,
        )
    })
    .await?;
    drop(conn);
    for (user, stream_event) in &events {
        crate::routes::stream::publish(state, tenant, *user, stream_event).await;
    }
    Ok(())
}

/// Attempts every delivery of `tenant` due at the clock's `now`; answers how many.
async fn deliver_due(state: &AppState, tenant: TenantId) -> Result<usize, WebhookError> {
    let mut attempted = 0;
    loop {
        let now = state.clock.now();
        let mut conn = guild_db::connect(&state.db).await?;
        let due = guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
            deliveries::claim_due(conn, tenant, now, BATCH).await
        })
        .await?;
        drop(conn);
        for delivery in &due {
            attempt(state, tenant, *delivery).await?;
        }
        attempted += due.len();
        if (due.len() as i64) < BATCH {
            return Ok(attempted);
        }
    }
}

/// Makes one attempt of a `PENDING` delivery to an enabled endpoint; nothing otherwise.
pub(crate) async fn attempt(
    state: &AppState,
    tenant: TenantId,
    delivery: Uuid,
) -> Result<(), WebhookError> {
    let mut conn = guild_db::connect(&state.db).await?;
    let now = state.clock.now();
    let keys = state.keyring.clone();
    let prepared = guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
        deliveries::prepare(conn, &keys, tenant, delivery, now).await
    })
    .await?;
    let Some(message) = prepared else {
        return Ok(());
    };
    let started = std::time::Instant::now();
    let sent = state
        .webhooks
        .post(&message.url, &message.headers, &message.body)
        .await;
    let latency_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
    let outcome = match sent {
        Ok(answer) => Outcome {
            status_code: Some(answer.status),
            excerpt: answer.excerpt,
            error: None,
            latency_ms,
        },
        Err(e) => {
            tracing::info!(%delivery, error = %e, "webhook attempt got no answer");
            Outcome {
                status_code: None,
                excerpt: String::new(),
                error: Some(e.to_string()),
                latency_ms,
            }
        }
    };
    guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
        deliveries::record_attempt(conn, tenant, delivery, &outcome, now).await
    })
    .await?;
    Ok(())
}
