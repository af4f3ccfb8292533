//! Members' module views and section openings, recorded off the request path.
//!
//! Opening a module (`GET /v1/modules/{id}`) records the member's last access, and on their first
//! access the version they saw; opening a section (`GET /v1/modules/{id}/sections/{section_id}`)
//! records it as the last section they opened in the module (the dashboard's "continue
//! learning"). Written in the request, every view would be a commit: the read would wait on a
//! write-ahead-log flush. Batched (`GUILD_ACCESS_FLUSH_MS` > 0, the default for `guild serve`),
//! a view is noted in this process and the request answers from a read-only transaction; a
//! background task writes what was noted every interval, one transaction per tenant with one
//! statement per table (`guild_learning::versions::record_accesses`,
//! `guild_progress::resume::record_many`), so a member's views of one module and its sections
//! are written at most once per interval, however often they open them: the module's latest
//! view (with the version of the earliest), and the section opened last.
//!
//! Nothing noted is lost on failure: a batch that fails is kept for the next flush (merged with
//! what was noted meanwhile), and the server flushes once more after its last request finished.
//! A process killed outright loses at most one interval of last-access times and last sections,
//! which only order "recently opened" lists and say where to continue. Time never moves back:
//! of two openings the later wins, here and in the database (an older batch written late
//! changes nothing). When more than [`MAX_PENDING`] member×module entries wait (the database
//! unreachable for long), a view is written in its request instead, as with batching off.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use guild_db::PgPool;
use guild_kernel::{ModuleId, SectionId, TenantId, UserId};
use guild_learning::LearningError;
use guild_learning::versions::{self, Access};
use guild_progress::resume::{self, Opening};

use crate::ctx::Ctx;
use crate::error::ApiError;

/// Member×module entries kept waiting at most, over every tenant.
pub const MAX_PENDING: usize = 200_000;

/// What waits to be written for one member and module.
#[derive(Debug, Clone, Copy, Default)]
struct Pending {
    /// Module views: the version of the earliest (what a first access records) and the time of
    /// the latest.
    view: Option<(i32, DateTime<Utc>)>,
    /// The section opened last, and when.
    section: Option<(SectionId, DateTime<Utc>)>,
}

impl Pending {
    /// Adds what was noted after `self`: views keep the earliest version and the latest time;
    /// of two section openings the later wins, the newer on a tie.
    fn merge_later(&mut self, later: Self) {
        self.view = match (self.view, later.view) {
            (Some((version, at)), Some((_, then))) => Some((version, at.max(then))),
            (earlier, later) => earlier.or(later),
        };
        self.section = match (self.section, later.section) {
            (Some(kept), Some(newer)) if kept.1 > newer.1 => Some(kept),
            (kept, newer) => newer.or(kept),
        };
    }
}

type Entries = HashMap<TenantId, HashMap<(UserId, ModuleId), Pending>>;

/// Where module views and section openings go: written in the request, or noted and written in
/// batches.
#[derive(Debug)]
pub struct AccessLog {
    batched: bool,
    pending: Mutex<(Entries, usize)>,
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
        let noted = Pending {
            view: Some((version, ctx.now)),
            section: None,
        };
        if self.batched && self.note(ctx.actor.tenant_id, (ctx.actor.user_id, module), noted) {
            return Ok(());
        }
        let access = Access {
            user: ctx.actor.user_id,
            module,
            version,
            at: ctx.now,
        };
        ctx.write(async |conn| {
            versions::record_accesses(conn, ctx.actor.tenant_id, &[access]).await
        })
        .await?;
        Ok(())
    }

    /// Records that the actor of `ctx` opened `section` of `module` at `ctx.now`: the last
    /// section they opened in it.
    pub(crate) async fn record_section(
        &self,
        ctx: &Ctx,
        module: ModuleId,
        section: SectionId,
    ) -> Result<(), ApiError> {
        let noted = Pending {
            view: None,
            section: Some((section, ctx.now)),
        };
        if self.batched && self.note(ctx.actor.tenant_id, (ctx.actor.user_id, module), noted) {
            return Ok(());
        }
        let opening = Opening {
            user: ctx.actor.user_id,
            module,
            section,
            at: ctx.now,
        };
        ctx.write(async |conn| resume::record_many(conn, ctx.actor.tenant_id, &[opening]).await)
            .await?;
        Ok(())
    }

    /// Notes a view or an opening; `false` when too many wait already (the caller writes it
    /// itself).
    fn note(&self, tenant: TenantId, key: (UserId, ModuleId), noted: Pending) -> bool {
        let mut guard = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let (entries, count) = &mut *guard;
        let tenant_entries = entries.entry(tenant).or_default();
        match tenant_entries.get_mut(&key) {
            Some(pending) => {
                pending.merge_later(noted);
                true
            }
            None if *count >= MAX_PENDING => false,
            None => {
                tenant_entries.insert(key, noted);
                *count += 1;
                true
            }
        }
    }

    /// Member×module entries waiting to be written (a module's views and its last section
    /// opened count once).
    pub fn pending(&self) -> usize {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).1
    }

    /// Writes everything noted so far, one transaction per tenant; returns how many rows were
    /// written (views and openings of members, modules or sections gone meanwhile are not). A
    /// tenant's batch that fails is kept for the next flush.
    pub async fn flush(&self, pool: &PgPool) -> usize {
        let taken = {
            let mut guard = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            guard.1 = 0;
            std::mem::take(&mut guard.0)
        };
        let mut written = 0;
        for (tenant, entries) in taken {
            let mut accesses = Vec::new();
            let mut openings = Vec::new();
            for (&(user, module), pending) in &entries {
                if let Some((version, at)) = pending.view {
                    accesses.push(Access {
                        user,
                        module,
                        version,
                        at,
                    });
                }
                if let Some((section, at)) = pending.section {
                    openings.push(Opening {
                        user,
                        module,
                        section,
                        at,
                    });
                }
            }
            let outcome: Result<usize, LearningError> = async {
                let mut conn = guild_db::connect(pool).await?;
                guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
                    let mut rows = 0;
                    if !accesses.is_empty() {
                        rows += versions::record_accesses(conn, tenant, &accesses).await?;
                    }
                    if !openings.is_empty() {
                        rows += resume::record_many(conn, tenant, &openings).await?;
                    }
                    Ok(rows)
                })
                .await
            }
            .await;
            match outcome {
                Ok(rows) => written += rows,
                Err(e) => {
                    tracing::warn!(error = %e, %tenant, views = accesses.len(), openings = openings.len(), "module views not written yet; kept for the next flush");
                    self.keep(tenant, entries);
                }
            }
        }
        written
    }

    /// Puts back entries whose write failed, merged with those noted since.
    fn keep(&self, tenant: TenantId, entries: HashMap<(UserId, ModuleId), Pending>) {
        let mut guard = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let (all, count) = &mut *guard;
        let tenant_entries = all.entry(tenant).or_default();
        for (key, mut old) in entries {
            match tenant_entries.get_mut(&key) {
                Some(newer) => {
                    old.merge_later(*newer);
                    *newer = old;
                }
                None => {
                    tenant_entries.insert(key, old);
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
