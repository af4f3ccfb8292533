//! The media library's background work: removing the blobs of deleted assets
//! (`media.remove_blob`, retried, `DELETE_FAILED` after its last attempt) and the hourly upload
//! sweep, which spans two domains: `assessment` names the orphaned assignment files, `learning`
//! (which owns `media_assets`) marks them and queues their removal.

use chrono::{DateTime, Utc};
use guild_db::worker::{HandlerError, Registry};
use guild_kernel::AssetId;
use guild_learning::media::{self, Removal, RemoveAssetBlob};
use serde::{Deserialize, Serialize};

use crate::state::AppState;

/// The hourly sweep of uploads: abandoned direct uploads, staging blobs of finished ones, and
/// assignment files never submitted.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SweepUploads {}

impl guild_db::jobs::Job for SweepUploads {
    const KIND: &'static str = "media.sweep_uploads";
}

/// How long an assignment file may wait for a submission before the sweep removes it.
const ORPHAN_FILE_AGE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Staging blobs deleted per tenant and sweep (the rest wait for the next hour).
const SWEEP_BATCH: i64 = 500;

/// One tenant's sweep: abandoned uploads and orphaned assignment files are marked and their
/// removal queued (the removal job deletes blobs, then rows); staging blobs of finished uploads
/// are deleted here. Returns (abandoned, staging blobs deleted, orphaned files).
async fn sweep_tenant(
    conn: &mut diesel_async::AsyncPgConnection,
    blobs: std::sync::Arc<dyn guild_kernel::ports::BlobStore>,
    tenant: guild_kernel::TenantId,
    now: DateTime<Utc>,
) -> Result<(usize, usize, usize), HandlerError> {
    let t = tenant.into_uuid();
    let before = now - chrono::Duration::from_std(ORPHAN_FILE_AGE).unwrap_or_default();
    let (abandoned, orphaned) = guild_db::tenant_transaction(conn, tenant, async |c| {
        let abandoned = media::abandon_uploads(c, t, now).await?;
        let files = guild_assessment::assignments::orphaned_files(c, t, before).await?;
        let orphaned = media::remove_assets(c, t, &files, "orphaned_assignment_file", now).await?;
        Ok::<_, guild_assessment::AssessmentError>((abandoned, orphaned))
    })
    .await?;
    let expired = guild_db::tenant_transaction(conn, tenant, async |c| {
        media::expired_upload_keys(c, t, now, SWEEP_BATCH).await
    })
    .await?;
    let mut swept = Vec::with_capacity(expired.len());
    for (id, key) in expired {
        match blobs.delete(&key).await {
            Ok(()) => swept.push(id),
            Err(e) => tracing::warn!(error = %e, key, "could not delete a staging blob"),
        }
    }
    if !swept.is_empty() {
        guild_db::tenant_transaction(conn, tenant, async |c| {
            media::forget_upload_urls(c, t, &swept).await
        })
        .await?;
    }
    Ok((abandoned, swept.len(), orphaned))
}

/// Registers the job that removes deleted assets' blobs, and the hourly upload sweep.
pub fn register(registry: &mut Registry, state: &AppState) {
    let pool = state.db.clone();
    let blobs = state.blobs.clone();
    let clock = state.clock.clone();
    registry.on_job(move |run, job: RemoveAssetBlob| {
        let pool = pool.clone();
        let blobs = blobs.clone();
        let clock = clock.clone();
        async move {
            let tenant = run
                .tenant_id
                .ok_or_else(|| HandlerError::from("the job has no tenant"))?;
            let mut conn = guild_db::connect(&pool).await?;
            let plan = guild_db::tenant_transaction(&mut conn, tenant, async |c| {
                media::plan_removal(c, tenant.into_uuid(), AssetId(job.asset_id)).await
            })
            .await?;
            let Removal::DeleteBlobs(keys) = plan else {
                return Ok(None);
            };
            let mut result = Ok(());
            for key in &keys {
                result = result.and(blobs.delete(key).await);
            }
            let last = run.attempt >= <RemoveAssetBlob as guild_db::jobs::Job>::MAX_ATTEMPTS;
            if result.is_ok() || last {
                guild_db::tenant_transaction(&mut conn, tenant, async |c| {
                    media::finish_removal(
                        c,
                        tenant.into_uuid(),
                        AssetId(job.asset_id),
                        &result,
                        clock.now(),
                    )
                    .await
                })
                .await?;
            }
            result.map(|()| None).map_err(HandlerError::from)
        }
    });
    let s = state.clone();
    registry.on_job(move |_, _: SweepUploads| {
        let state = s.clone();
        async move {
            let now = state.clock.now();
            let mut conn = guild_db::connect(&state.db).await?;
            let (mut abandoned, mut staging, mut orphaned) = (0, 0, 0);
            for tenant in guild_progress::compliance::active_tenants(&mut conn).await? {
                let (a, s, o) = sweep_tenant(&mut conn, state.blobs.clone(), tenant, now).await?;
                abandoned += a;
                staging += s;
                orphaned += o;
            }
            Ok(Some(serde_json::json!({
                "abandoned_uploads": abandoned,
                "staging_blobs": staging,
                "orphaned_files": orphaned,
            })))
        }
    });
    registry.schedule(guild_db::jobs::Schedule::every(
        "sweep_uploads",
        std::time::Duration::from_secs(3600),
        &SweepUploads::default(),
    ));
}
