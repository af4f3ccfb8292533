//! The jobs members wait on (`crate::jobs`): finished ones, and the files they produced, are
//! deleted once `guild_db::member_jobs::RETENTION` (7 days) has passed, daily.

use std::time::Duration;

use guild_db::jobs::Schedule;
use guild_db::member_jobs;
use guild_db::worker::{HandlerError, Registry};

use crate::state::AppState;

/// Deletes member jobs that ended more than the retention ago, with their files.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct PruneMemberJobs {}

impl guild_db::jobs::Job for PruneMemberJobs {
    const KIND: &'static str = "jobs.prune_member_jobs";
}

/// Registers the daily prune (at 03:10 UTC).
pub fn register(registry: &mut Registry, state: &AppState) {
    let s = state.clone();
    registry.on_job(move |_, _: PruneMemberJobs| {
        let state = s.clone();
        async move {
            let retention = chrono::Duration::from_std(member_jobs::RETENTION)
                .map_err(|e| Box::new(e) as HandlerError)?;
            let before = state.clock.now() - retention;
            let mut conn = guild_db::connect(&state.db).await?;
            let (mut jobs, mut files) = (0, 0);
            for tenant in guild_progress::compliance::active_tenants(&mut conn).await? {
                let blobs = guild_db::tenant_transaction(&mut conn, tenant, async |c| {
                    member_jobs::prune(c, tenant, before).await
                })
                .await?;
                jobs += blobs.len();
                for key in blobs {
                    // A file left behind is only storage; the job is gone either way.
                    match state.blobs.delete(&key).await {
                        Ok(()) => files += 1,
                        Err(e) => tracing::warn!(%key, error = %e, "could not delete a job's file"),
                    }
                }
            }
            Ok(Some(serde_json::json!({ "jobs": jobs, "files": files })))
        }
    });
    registry.schedule(
        Schedule::every(
            "prune_member_jobs",
            Duration::from_secs(86_400),
            &PruneMemberJobs::default(),
        )
        .at_offset(Duration::from_secs(3 * 3600 + 10 * 60)),
    );
}
