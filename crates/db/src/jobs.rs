//! Durable background jobs and schedules.
//!
//! [`enqueue`] inserts a job inside the caller's transaction (so a job exists exactly when the
//! write that asked for it committed). A [`Schedule`] makes the worker enqueue a job once per tick:
//! the job's `dedupe_key` is `schedule:<name>:<tick start>`, unique in the table, so any number of
//! instances ticking together create one job.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_kernel::{JobId, TenantId};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::DbError;
use crate::schema::jobs;

/// A kind of job: its payload type and its stable name.
pub trait Job: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// A stable dotted name, e.g. `learning.compliance_scan`. Rows in `jobs` carry it.
    const KIND: &'static str;
    /// Runs tried before the job is `DEAD`.
    const MAX_ATTEMPTS: i32 = 5;
}

#[derive(Insertable)]
#[diesel(table_name = jobs)]
struct NewJob<'a> {
    id: Uuid,
    tenant_id: Option<Uuid>,
    kind: &'a str,
    payload: serde_json::Value,
    max_attempts: i32,
    dedupe_key: Option<&'a str>,
}

fn new_job<'a, J: Job>(
    tenant: Option<TenantId>,
    job: &J,
    dedupe_key: Option<&'a str>,
) -> Result<NewJob<'a>, DbError> {
    let payload = serde_json::to_value(job)
        .map_err(|e| DbError::Other(diesel::result::Error::SerializationError(Box::new(e))))?;
    Ok(NewJob {
        id: JobId::new().into_uuid(),
        tenant_id: tenant.map(TenantId::into_uuid),
        kind: J::KIND,
        payload,
        max_attempts: J::MAX_ATTEMPTS,
        dedupe_key,
    })
}

/// Enqueues a job inside the caller's transaction.
pub async fn enqueue<J: Job>(
    conn: &mut AsyncPgConnection,
    tenant: Option<TenantId>,
    job: &J,
) -> Result<JobId, DbError> {
    let row = new_job(tenant, job, None)?;
    let id = row.id;
    diesel::insert_into(jobs::table)
        .values(row)
        .execute(conn)
        .await?;
    Ok(JobId(id))
}

/// Enqueues a job unless one with the same `dedupe_key` was ever enqueued (and not pruned);
/// returns the new job's id, or `None` when it already existed.
pub async fn enqueue_once<J: Job>(
    conn: &mut AsyncPgConnection,
    tenant: Option<TenantId>,
    job: &J,
    dedupe_key: &str,
) -> Result<Option<JobId>, DbError> {
    let row = new_job(tenant, job, Some(dedupe_key))?;
    let id = row.id;
    let inserted = diesel::insert_into(jobs::table)
        .values(row)
        .on_conflict(jobs::dedupe_key)
        .do_nothing()
        .execute(conn)
        .await?;
    Ok((inserted == 1).then_some(JobId(id)))
}

/// A job row, as a user waiting on it (or a test) sees it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = jobs)]
pub struct JobRow {
    /// Id.
    pub id: Uuid,
    /// Tenant, if any.
    pub tenant_id: Option<Uuid>,
    /// Job kind.
    pub kind: String,
    /// `PENDING`, `RUNNING`, `DONE` or `DEAD`.
    pub status: String,
    /// Runs tried so far.
    pub attempts: i32,
    /// The last error.
    pub last_error: Option<String>,
    /// What the job produced, when done.
    pub result: Option<serde_json::Value>,
    /// The deduplication key, for scheduled jobs.
    pub dedupe_key: Option<String>,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
    /// When it finished or was given up on.
    pub finished_at: Option<DateTime<Utc>>,
}

/// Reads one job.
pub async fn find(conn: &mut AsyncPgConnection, id: JobId) -> Result<JobRow, DbError> {
    jobs::table
        .find(id.into_uuid())
        .select(JobRow::as_select())
        .first(conn)
        .await
        .map_err(DbError::from)
}

/// Work that recurs: a job enqueued once per `every`, at `offset` into each period (UTC, counted
/// from the Unix epoch: `every = 1 day, offset = 2 h` runs daily at 02:00 UTC).
#[derive(Debug, Clone)]
pub struct Schedule {
    /// Unique among schedules; part of the dedupe key.
    pub name: &'static str,
    /// The period.
    pub every: Duration,
    /// Where in the period the tick falls.
    pub offset: Duration,
    pub(crate) kind: &'static str,
    pub(crate) payload: serde_json::Value,
    pub(crate) max_attempts: i32,
}

impl Schedule {
    /// Enqueues `job` once per `every`.
    pub fn every<J: Job>(name: &'static str, every: Duration, job: &J) -> Self {
        Self {
            name,
            every: every.max(Duration::from_secs(1)),
            offset: Duration::ZERO,
            kind: J::KIND,
            payload: serde_json::to_value(job).unwrap_or_default(),
            max_attempts: J::MAX_ATTEMPTS,
        }
    }

    /// Shifts the tick `offset` into each period.
    #[must_use]
    pub fn at_offset(mut self, offset: Duration) -> Self {
        self.offset = offset;
        self
    }

    /// The start of the tick that contains `now`.
    pub fn tick_start(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let every = i64::try_from(self.every.as_millis()).unwrap_or(i64::MAX);
        let offset = i64::try_from(self.offset.as_millis()).unwrap_or(0) % every;
        let since = now.timestamp_millis() - offset;
        let start = since.div_euclid(every) * every + offset;
        DateTime::from_timestamp_millis(start).unwrap_or(now)
    }

    /// The dedupe key of the tick that contains `now`.
    pub fn dedupe_key(&self, now: DateTime<Utc>) -> String {
        format!(
            "schedule:{}:{}",
            self.name,
            self.tick_start(now).format("%Y-%m-%dT%H:%M:%SZ")
        )
    }

    /// Enqueues this tick's job unless an instance already did; true if this call created it.
    pub(crate) async fn ensure_tick(
        &self,
        conn: &mut AsyncPgConnection,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let key = self.dedupe_key(now);
        let inserted = diesel::insert_into(jobs::table)
            .values(NewJob {
                id: JobId::new().into_uuid(),
                tenant_id: None,
                kind: self.kind,
                payload: self.payload.clone(),
                max_attempts: self.max_attempts,
                dedupe_key: Some(&key),
            })
            .on_conflict(jobs::dedupe_key)
            .do_nothing()
            .execute(conn)
            .await?;
        Ok(inserted == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, serde::Deserialize)]
    struct Nightly;
    impl Job for Nightly {
        const KIND: &'static str = "test.nightly";
    }

    #[test]
    fn ticks_fall_at_the_offset_of_each_period() {
        let daily_at_two = Schedule::every("nightly", Duration::from_secs(86_400), &Nightly)
            .at_offset(Duration::from_secs(2 * 3600));
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap_or_default();
        assert_eq!(
            daily_at_two.tick_start(at("2026-11-26T01:59:59Z")),
            at("2026-11-25T02:00:00Z")
        );
        assert_eq!(
            daily_at_two.tick_start(at("2026-11-26T02:00:00Z")),
            at("2026-11-26T02:00:00Z")
        );
        assert_eq!(
            daily_at_two.dedupe_key(at("2026-11-26T23:00:00Z")),
            "schedule:nightly:2026-11-26T02:00:00Z"
        );
    }
}
