//! Members' module views, recorded off the request path.
//!
//! Opening a module (`GET /v1/modules/{id}`) records the member's last access, and on their first
//! access the version they saw. Written in the request, every view would be a commit: the read
//! would wait on a write-ahead-log flush. Batched (`GUILD_ACCESS_FLUSH_MS` > 0, the default for
//! `guild serve`), a view is noted in this process and the request answers from a read-only
//! transaction; a background task writes what was noted every interval, one statement per tenant
//! (`guild_learning::versions::record_accesses`), so a member's views of one module are written
//! at most once per interval, however often they open it.
//!
//! Nothing noted is lost on failure: a batch that fails is kept for the next flush (merged with
//! what was noted meanwhile), and the server flushes once more after its last request finished.
//! A process killed outright loses at most one interval of last-access times, which only order
//! "recently opened" lists. When more than [`MAX_PENDING`] views wait (the database unreachable
//! for long), a view is written in its request instead, as with batching off.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use guild_db::PgPool;
use guild_kernel::{ModuleId, TenantId, UserId};
use guild_learning::LearningError;
use guild_learning::versions::{self, Access};

use crate::ctx::Ctx;
use crate::error::ApiError;

/// Views kept waiting at most, over every tenant.
pub const MAX_PENDING: usize = 200_000;

#[derive(Debug, Clone, Copy)]
struct Pending {
    /// The version of the earliest view noted (what a first access records).
    version: i32,
    /// The latest view noted.
    at: DateTime<Utc>,
}

type Views = HashMap<TenantId, HashMap<(UserId, ModuleId), Pending>>;

/// Where module views go: written in the request, or noted and written in batches.
#[derive(Debug)]
pub struct AccessLog {
    batched: bool,
    pending: Mutex<(Views, usize)>,
}

impl AccessLog {
    /// Every view written in its request (tests, and `GUILD_ACCESS_FLUSH_MS=0`).
    pub fn immediate() -> Self {
        Self {
            batched: false,
            pending: Mutex::new((HashMap::new(), 0)),
        }
    }

    /// Views noted and written by [`flush`](Self::flush).
    pub fn batched() -> Self {
        Self {
            batched: true,
            ..Self::immediate()
        }
    }

    /// Records that the actor of `ctx` opened `module` (at version `version`) at `ctx.now`.
    pub(crate) async fn record(
        &self,
        ctx: &Ctx,
        module: ModuleId,
        version: i32,
    ) -> Result<(), ApiError> {
        let access = Access {
            user: ctx.actor.user_id,
            module,
            version,
            at: ctx.now,
        };
        if self.batched && self.note(ctx.actor.tenant_id, access) {
            return Ok(());
        }
        ctx.write(async |conn| {
            versions::record_accesses(conn, ctx.actor.tenant_id, &[access]).await
        })
        .await?;
        Ok(())
    }

    /// Notes a view; `false` when too many wait already (the caller writes it itself).
    fn note(&self, tenant: TenantId, access: Access) -> bool {
        let mut guard = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let (views, count) = &mut *guard;
        let tenant_views = views.entry(tenant).or_default();
        match tenant_views.get_mut(&(access.user, access.module)) {
            Some(pending) => {
                pending.at = pending.at.max(access.at);
                true
            }
            None if *count >= MAX_PENDING => false,
            None => {
                tenant_views.insert(
                    (access.user, access.module),
                    Pending {
                        version: access.version,
                        at: access.at,
                    },
                );
                *count += 1;
                true
            }
        }
    }

    /// Views waiting to be written.
    pub fn pending(&self) -> usize {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).1
    }

    /// Writes every view noted so far, one transaction per tenant; returns how many were
    /// written (views of members or modules gone meanwhile are not). A tenant's batch that fails
    /// is kept for the next flush.
    pub async fn flush(&self, pool: &PgPool) -> usize {
        let taken = {
            let mut guard = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            guard.1 = 0;
            std::mem::take(&mut guard.0)
        };
        let mut written = 0;
        for (tenant, views) in taken {
            let accesses: Vec<Access> = views
                .iter()
                .map(|(&(user, module), p)| Access {
                    user,
                    module,
                    version: p.version,
                    at: p.at,
                })
                .collect();
            let outcome: Result<usize, LearningError> = async {
                let mut conn = guild_db::connect(pool).await?;
                guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
                    versions::record_accesses(conn, tenant, &accesses).await
                })
                .await
            }
            .await;
            match outcome {
                Ok(rows) => written += rows,
                Err(e) => {
                    tracing::warn!(error = %e, %tenant, views = accesses.len(), "module views not written yet; kept for the next flush");
                    self.keep(tenant, views);
                }
            }
        }
        written
    }

    /// Puts back views whose write failed, merged with those noted since.
    fn keep(&self, tenant: TenantId, views: HashMap<(UserId, ModuleId), Pending>) {
        let mut guard = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let (all, count) = &mut *guard;
        let tenant_views = all.entry(tenant).or_default();
        for (key, old) in views {
            match tenant_views.get_mut(&key) {
                Some(newer) => {
                    newer.version = old.version;
                    newer.at = newer.at.max(old.at);
                }
                None => {
                    tenant_views.insert(key, old);
                    *count += 1;
                }
            }
        }
    }

    /// Flushes every `every` until `stop` is cancelled; the caller flushes once more after the
    /// server stopped.
    pub async fn run(
        &self,
        pool: &PgPool,
        every: std::time::Duration,
        stop: tokio_util::sync::CancellationToken,
    ) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => { self.flush(pool).await; }
                () = stop.cancelled() => return,
            }
        }
    }
}
