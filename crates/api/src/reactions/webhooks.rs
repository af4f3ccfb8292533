//! Webhook deliveries: sending one attempt of a delivery (the test ping sends its first at once).
//!
//! An attempt reads the delivery and signs its message with every secret that signs at the
//! clock's `now` (in a tenant transaction), POSTs it through [`AppState::webhooks`] (the SSRF
//! guard: `https`, public addresses only, no redirects, 10 s, 1 KiB of the answer kept) with no
//! transaction open, then records what came back in another, which moves the delivery on
//! (`guild_webhooks::deliveries::record_attempt`: succeeded, retried later, or failed).

use guild_kernel::TenantId;
use guild_webhooks::WebhookError;
use guild_webhooks::deliveries::{self, Outcome};
use uuid::Uuid;

use crate::state::AppState;

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
