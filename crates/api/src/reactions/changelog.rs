//! The platform changelog's fan-out: a published entry becomes a SYSTEM notification (and a
//! stream event) for every active member of every tenant.
//!
//! The `notifications.changelog_published` event queues one fan-out job per active tenant,
//! deduplicated by entry and tenant, so a redelivered event queues nothing new. Each job walks
//! its tenant's active members in batches of [`BATCH`], each batch one tenant transaction of a
//! few statements (`inbox::deliver_many`, `stream::append_many`) and its publishes after the
//! commit; a member who already has the entry's notification (the dedup key names the entry) is
//! skipped, so a job run again notifies nobody twice.

use guild_db::worker::{HandlerError, Registry};
use guild_kernel::{TenantId, UserId};
use guild_notifications::changelog::{self, ChangelogPublished};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::state::AppState;

/// Members notified per transaction.
pub const BATCH: i64 = 500;

/// Notifies every active member of the job's tenant of a published entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChangelogFanOut {
    /// The entry.
    pub entry_id: Uuid,
}

impl guild_db::jobs::Job for ChangelogFanOut {
    const KIND: &'static str = "notifications.changelog_fan_out";
}

/// Registers the reaction to a published entry and the per-tenant fan-out job.
pub fn register(registry: &mut Registry, state: &AppState) {
    let s = state.clone();
    registry.on_event(
        "queue_changelog_fan_out",
        move |_, e: ChangelogPublished| {
            let state = s.clone();
            async move {
                let mut conn = guild_db::connect(&state.db).await?;
                for tenant in guild_progress::compliance::active_tenants(&mut conn).await? {
                    let job = ChangelogFanOut {
                        entry_id: e.entry_id,
                    };
                    let key = format!("changelog:{}:{}", e.entry_id, tenant.into_uuid());
                    guild_db::jobs::enqueue_once(&mut conn, Some(tenant), &job, &key).await?;
                }
                Ok::<_, HandlerError>(())
            }
        },
    );
    let s = state.clone();
    registry.on_job(move |run, job: ChangelogFanOut| {
        let state = s.clone();
        async move {
            let Some(tenant) = run.tenant_id else {
                return Ok(None);
            };
            let notified = fan_out(&state, tenant, job.entry_id).await?;
            Ok(Some(serde_json::json!({ "notified": notified })))
        }
    });
}

/// What a fan-out can fail with.
#[derive(Debug, thiserror::Error)]
enum FanOutError {
    #[error(transparent)]
    Db(#[from] guild_db::DbError),
    #[error(transparent)]
    Notifications(#[from] guild_notifications::NotificationsError),
    #[error(transparent)]
    Notify(#[from] super::notifications::NotifyError),
}

/// Notifies the tenant's active members of the entry, a batch at a time; answers how many were
/// notified now (members notified before are skipped).
async fn fan_out(state: &AppState, tenant: TenantId, entry: Uuid) -> Result<usize, HandlerError> {
    let mut conn = guild_db::connect(&state.db).await?;
    let mut after: Option<UserId> = None;
    let mut notified = 0;
    loop {
        let now = state.clock.now();
        let batch = guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
            // Deleted before it reached everyone: nobody else hears of it.
            let Some(entry) = changelog::get(conn, entry).await? else {
                return Ok::<_, FanOutError>(None);
            };
            let members = changelog::members_after(conn, tenant, after, BATCH).await?;
            let note = changelog::broadcast(&entry);
            let appended =
                super::notifications::write_many(conn, tenant, &members, &note, now).await?;
            Ok(Some((members, appended)))
        })
        .await?;
        let Some((members, appended)) = batch else {
            break;
        };
        notified += appended.len();
        for (user, event) in &appended {
            crate::routes::stream::publish(state, tenant, *user, event).await;
        }
        if i64::try_from(members.len()).unwrap_or(0) < BATCH {
            break;
        }
        after = members.last().copied();
    }
    Ok(notified)
}
