//! The lease-based queue shared by `outbox_events` and `jobs` (same lifecycle columns).
//!
//! A worker claims due rows with `FOR UPDATE SKIP LOCKED`, so concurrent workers never take the
//! same row, and sets `available_at` to the end of its lease. If the worker dies, the lease runs
//! out and the row becomes due again: delivery is at least once. Every claim counts an attempt;
//! after `max_attempts` failures a row is `DEAD` and stays for inspection.

use std::time::Duration;

use diesel::QueryableByName;
use diesel::sql_types::{Array, Double, Int4, Jsonb, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// Which table a queue operation applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Queue {
    Outbox,
    Jobs,
}

impl Queue {
    fn table(self) -> &'static str {
        match self {
            Self::Outbox => "outbox_events",
            Self::Jobs => "jobs",
        }
    }
}

/// A row claimed by this worker for the duration of its lease.
#[derive(Debug, Clone, QueryableByName)]
pub(crate) struct Claimed {
    #[diesel(sql_type = SqlUuid)]
    pub(crate) id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub(crate) tenant_id: Option<Uuid>,
    #[diesel(sql_type = Text)]
    pub(crate) kind: String,
    #[diesel(sql_type = Jsonb)]
    pub(crate) payload: serde_json::Value,
    #[diesel(sql_type = Int4)]
    pub(crate) attempts: i32,
    #[diesel(sql_type = Int4)]
    pub(crate) max_attempts: i32,
}

/// Claims up to `batch` due rows of the given kinds, oldest first, for `lease`. The due rows are
/// read kind by kind (the outbox's due index is led by the kind), so rows of kinds this worker
/// does not handle cost nothing however many wait.
pub(crate) async fn claim(
    conn: &mut AsyncPgConnection,
    queue: Queue,
    kinds: &[String],
    batch: i64,
    lease: Duration,
) -> Result<Vec<Claimed>, diesel::result::Error> {
    let table = queue.table();
    crate::sql(format!(
        "UPDATE {table} SET status = 'RUNNING', attempts = attempts + 1, \
             available_at = now() + make_interval(secs => $3) \
         WHERE id IN ( \
             SELECT d.id FROM unnest($1::text[]) AS k(kind) CROSS JOIN LATERAL ( \
                 SELECT id, available_at FROM {table} \
                 WHERE kind = k.kind AND status IN ('PENDING', 'RUNNING') AND available_at <= now() \
                 ORDER BY available_at LIMIT $2 FOR UPDATE SKIP LOCKED) d \
             ORDER BY d.available_at LIMIT $2) \
         RETURNING id, tenant_id, kind, payload, attempts, max_attempts"
    ))
    .bind::<Array<Text>, _>(kinds)
    .bind::<diesel::sql_types::BigInt, _>(batch)
    .bind::<Double, _>(lease.as_secs_f64())
    .load(conn)
    .await
}

/// Marks a claimed row done, with the job's result if any.
pub(crate) async fn complete(
    conn: &mut AsyncPgConnection,
    queue: Queue,
    id: Uuid,
    result: Option<serde_json::Value>,
) -> Result<(), diesel::result::Error> {
    match queue {
        Queue::Outbox => crate::sql(
            "UPDATE outbox_events SET status = 'DONE', finished_at = now(), last_error = NULL \
             WHERE id = $1 AND status = 'RUNNING'",
        )
        .bind::<SqlUuid, _>(id)
        .execute(conn)
        .await
        .map(drop),
        Queue::Jobs => crate::sql(
            "UPDATE jobs SET status = 'DONE', finished_at = now(), last_error = NULL, result = $2 \
             WHERE id = $1 AND status = 'RUNNING'",
        )
        .bind::<SqlUuid, _>(id)
        .bind::<Nullable<Jsonb>, _>(result)
        .execute(conn)
        .await
        .map(drop),
    }
}

/// Records a failure: the row is retried after `retry_in`, or is `DEAD` when `permanent` or out of
/// attempts.
pub(crate) async fn fail(
    conn: &mut AsyncPgConnection,
    queue: Queue,
    row: &Claimed,
    error: &str,
    retry_in: Duration,
    permanent: bool,
) -> Result<(), diesel::result::Error> {
    let table = queue.table();
    let dead = permanent || row.attempts >= row.max_attempts;
    let error: String = error.chars().take(4000).collect();
    let sql = format!(
        "UPDATE {table} SET \
             status = CASE WHEN $4 THEN 'DEAD' ELSE 'PENDING' END, \
             finished_at = CASE WHEN $4 THEN now() END, \
             available_at = CASE WHEN $4 THEN available_at \
                 ELSE now() + make_interval(secs => $3) END, \
             last_error = $2 \
         WHERE id = $1 AND status = 'RUNNING'"
    );
    crate::sql(sql)
        .bind::<SqlUuid, _>(row.id)
        .bind::<Text, _>(error)
        .bind::<Double, _>(retry_in.as_secs_f64())
        .bind::<diesel::sql_types::Bool, _>(dead)
        .execute(conn)
        .await
        .map(drop)
}

/// Deletes rows finished (`DONE`) longer than `older_than` ago; returns how many.
pub(crate) async fn prune_done(
    conn: &mut AsyncPgConnection,
    queue: Queue,
    older_than: Duration,
) -> Result<usize, diesel::result::Error> {
    let table = queue.table();
    crate::sql(format!(
        "DELETE FROM {table} WHERE status = 'DONE' \
         AND finished_at < now() - make_interval(secs => $1)"
    ))
    .bind::<Double, _>(older_than.as_secs_f64())
    .execute(conn)
    .await
}

/// Exponential backoff with jitter: `base * 2^(attempt-1)`, capped at `max`, plus up to 20%.
pub(crate) fn backoff(attempt: i32, base: Duration, max: Duration) -> Duration {
    let exp = u32::try_from(attempt.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    let delay = base.saturating_mul(2u32.pow(exp)).min(max);
    delay + delay.mul_f64(fastrand::f64() * 0.2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let base = Duration::from_secs(1);
        let max = Duration::from_secs(60);
        let first = backoff(1, base, max);
        assert!(first >= base && first <= base.mul_f64(1.2));
        let fourth = backoff(4, base, max);
        assert!(fourth >= Duration::from_secs(8) && fourth <= Duration::from_secs_f64(9.6));
        let late = backoff(40, base, max);
        assert!(late >= max && late <= max.mul_f64(1.2));
    }
}
