//! Webhook deliveries: the catalog's domain events fanned out to the endpoints subscribed to
//! them, and the attempts that send them.
//!
//! - Each domain event of the catalog (`guild_webhooks::catalog`) becomes one delivery per
//!   enabled endpoint subscribed to its type, unique per endpoint and outbox event (a redelivered
//!   event adds nothing); the new deliveries are attempted at once. The events a worker pass
//!   claimed are fanned out together ([`Registry::on_events`]): one transaction per tenant, two
//!   statements whatever their number, deliveries made in the events' order. Should a tenant's
//!   batch fail, its events are fanned out again one by one, so only an event whose own fan-out
//!   (or one of its attempts) fails is retried.
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

/// The domain events the catalog is made from (`catalog::sources`, which a test compares), by
/// their types' kinds.
const SOURCES: [&str; 23] = [
    guild_tenancy::events::MemberChanged::KIND,
    guild_tenancy::events::GroupChanged::KIND,
    guild_tenancy::events::GroupMembersChanged::KIND,
    guild_learning::audience::ModuleAvailable::KIND,
    guild_learning::versions::ModuleUpdated::KIND,
    guild_progress::completion::ModuleCompleted::KIND,
    guild_progress::certificates::CertificateIssued::KIND,
    guild_progress::paths::PathAssigned::KIND,
    guild_progress::paths::PathCompleted::KIND,
    guild_assessment::events::QuizPassed::KIND,
    guild_assessment::events::QuizFailed::KIND,
    guild_assessment::events::AssignmentSubmitted::KIND,
    guild_assessment::events::AssignmentGraded::KIND,
    guild_live::events::EventChanged::KIND,
    guild_live::events::EventCancelled::KIND,
    guild_live::events::EventCompleted::KIND,
    guild_live::registrations::Registered::KIND,
    guild_live::registrations::Promoted::KIND,
    guild_live::attendance::Attended::KIND,
    guild_gamification::events::RankChanged::KIND,
    guild_gamification::events::RedemptionApproved::KIND,
    guild_gamification::events::RedemptionRejected::KIND,
    guild_social::suggestions::SuggestionStatusChanged::KIND,
];

/// Attempts of new deliveries made at once.
const ATTEMPTS_AT_ONCE: usize = 8;

/// Registers the fan-out of every catalog event, the retry job and its schedule.
pub fn register(registry: &mut Registry, state: &AppState) {
    let s = state.clone();
    registry.on_events("webhooks_fan_out", &SOURCES, move |events| {
        let state = s.clone();
        async move { fan_out(&state, &events).await }
    });
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

/// Fans `events` out to the endpoints subscribed to their catalog types, one transaction per
/// tenant, and attempts the new deliveries; answers for each event.
pub(crate) async fn fan_out(state: &AppState, events: &[Event]) -> Vec<Result<(), HandlerError>> {
    use futures_util::stream::{self, StreamExt};

    let mut outcomes: Vec<Result<(), HandlerError>> = events.iter().map(|_| Ok(())).collect();
    let mut tenants: Vec<(TenantId, Vec<usize>)> = Vec::new();
    for (index, event) in events.iter().enumerate() {
        let Some(tenant) = event.tenant_id else {
            continue;
        };
        match tenants.iter_mut().find(|(t, _)| *t == tenant) {
            Some((_, of_tenant)) => of_tenant.push(index),
            None => tenants.push((tenant, vec![index])),
        }
    }
    let now = state.clock.now();
    let mut created: Vec<(TenantId, usize, Uuid)> = Vec::new();
    for (tenant, of_tenant) in tenants {
        match fan_out_tenant(state, tenant, events, &of_tenant, now).await {
            Ok(made) => created.extend(made.into_iter().map(|(i, d)| (tenant, i, d))),
            Err(e) => {
                tracing::info!(error = %e, %tenant, events = of_tenant.len(), "webhook fan-out batch failed; one event at a time");
                for index in of_tenant {
                    match fan_out_tenant(state, tenant, events, &[index], now).await {
                        Ok(made) => created.extend(made.into_iter().map(|(i, d)| (tenant, i, d))),
                        Err(e) => outcomes[index] = Err(Box::new(e)),
                    }
                }
            }
        }
    }
    let attempted: Vec<(usize, Result<(), WebhookError>)> =
        stream::iter(created)
            .map(|(tenant, index, delivery)| async move {
                (index, attempt(state, tenant, delivery).await)
            })
            .buffered(ATTEMPTS_AT_ONCE)
            .collect()
            .await;
    for (index, outcome) in attempted {
        if let (Err(e), Ok(())) = (outcome, &outcomes[index]) {
            outcomes[index] = Err(Box::new(e));
        }
    }
    outcomes
}

/// Fans the events of `tenant` at `indexes` out in one transaction; answers the new deliveries
/// with the index of their event.
async fn fan_out_tenant(
    state: &AppState,
    tenant: TenantId,
    events: &[Event],
    indexes: &[usize],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<(usize, Uuid)>, WebhookError> {
    let mut messages = Vec::new();
    let mut of_message = Vec::new();
    for &index in indexes {
        let event = &events[index];
        for kind in catalog::from_source(&event.kind, &event.payload) {
            messages.push(deliveries::Message {
                event_type: kind.name,
                source_event_id: event.id.into_uuid(),
                data: catalog::data_of(kind, &event.payload),
            });
            of_message.push(index);
        }
    }
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    let mut conn = guild_db::connect(&state.db).await?;
    let made = guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
        deliveries::fan_out(conn, tenant, &messages, now).await
    })
    .await?;
    Ok(made
        .into_iter()
        .map(|(message, delivery)| (of_message[message], delivery))
        .collect())
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

#[cfg(test)]
mod tests {
    #[test]
    fn every_source_of_the_catalog_is_fanned_out_and_nothing_else() {
        let mut sources = super::SOURCES.to_vec();
        sources.sort_unstable();
        assert_eq!(sources, guild_webhooks::catalog::sources());
    }
}
