//! Tenant-scoped transactions.
//!
//! [`tenant_transaction`] runs a closure in one transaction that first sets `app.tenant_id` and
//! switches to the role `guild_app`, both with `set_config(…, true)`: transaction-local, so they are
//! gone at commit or rollback and never leak to the next user of the pooled connection.
//! `guild_app` owns no table and cannot bypass row-level security, so the policies (which compare
//! `tenant_id` with `app.tenant_id`) apply: a query that forgot its tenant filter still sees only
//! this tenant's rows, and cannot write another tenant's.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use diesel::connection::{Instrumentation, InstrumentationEvent, TransactionDepthChange};

use diesel::sql_types::Text;
use diesel_async::{
    AnsiTransactionManager, AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection,
    TransactionManager,
};
use guild_kernel::TenantId;

use crate::DbError;

/// The setting row-level security policies read: `current_setting('app.tenant_id', true)`.
pub const TENANT_SETTING: &str = "app.tenant_id";

/// An async closure over a borrowed connection whose future is known to be `Send`.
///
/// Rust cannot yet bound the future of an `AsyncFnOnce` directly; this names it, the same way
/// diesel-async's own `transaction` does, so callers just pass `async |conn| { … }`.
pub trait TxFn<T, R>: AsyncFnOnce(T) -> R + FnOnce(T) -> <Self as TxFn<T, R>>::Fut {
    /// The future the closure returns.
    type Fut: Future<Output = R>;
}

impl<F, T, Fut, R> TxFn<T, R> for F
where
    F: AsyncFnOnce(T) -> R + FnOnce(T) -> Fut,
    Fut: Future<Output = R>,
{
    type Fut = Fut;
}

/// Runs `f` in one transaction on `conn`, with `app.tenant_id` set to `tenant`.
///
/// The transaction commits when `f` returns `Ok` and rolls back when it returns `Err`; if the
/// returned future is dropped half-way, the connection is discarded by the pool rather than reused.
///
/// `BEGIN` and the two settings go to the server as one simple-protocol batch, one round trip
/// instead of two for every tenant request (the tenant id is a UUID, so writing it into the text
/// is safe, and `set_config` costs nothing to parse).
pub async fn tenant_transaction<T, E, F>(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    f: F,
) -> Result<T, E>
where
    for<'r> F: AsyncFnOnce(&'r mut AsyncPgConnection) -> Result<T, E>
        + TxFn<&'r mut AsyncPgConnection, Result<T, E>, Fut: Send>
        + Send,
    E: From<DbError> + Send,
    T: Send,
{
    let db = |e: diesel::result::Error| E::from(DbError::from(e));
    let begin = begin_sql("BEGIN", tenant);
    if let Err(e) = AnsiTransactionManager::begin_transaction_sql(conn, &begin).await {
        // BEGIN may have run without the settings: end it, or the pool would hand out an
        // open transaction. A failure here leaves the error to the caller either way.
        let _ = conn.batch_execute("ROLLBACK").await;
        return Err(db(e));
    }
    match f(&mut *conn).await {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(conn)
                .await
                .map_err(db)?;
            Ok(value)
        }
        Err(err) => match AnsiTransactionManager::rollback_transaction(conn).await {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(err),
            Err(rollback) => Err(db(rollback)),
        },
    }
}

/// The role tenant transactions run as; subject to row-level security.
pub const APP_ROLE: &str = "guild_app";

/// Sets `app.tenant_id`, and the role to [`APP_ROLE`], for the rest of the current transaction.
pub async fn set_tenant(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
) -> Result<(), diesel::result::Error> {
    crate::sql(format!(
        "SELECT set_config('{TENANT_SETTING}', $1, true), set_config('role', '{APP_ROLE}', true)"
    ))
    .bind::<Text, _>(tenant.to_string())
    .execute(conn)
    .await
    .map(drop)
}

/// Runs the read-only `f` in one tenant transaction written to the server as a single pipeline:
/// `BEGIN READ ONLY` with the settings, the statements `f` issues, then `COMMIT`, all sent
/// together and answered together. A read then costs one round trip where [`tenant_transaction`]
/// takes three (its `BEGIN` and its `COMMIT` each wait for an answer), and the database wakes
/// once per request instead of three times.
///
/// **`f` must issue every statement before it first waits**: build its statements on the
/// `&AsyncPgConnection` it is given and join them (`try_join*`), without awaiting one result
/// before sending another statement. `COMMIT` is queued right after `f` first yields, so a
/// statement sent later would run after the transaction ended, without the tenant's settings.
/// A statement *built* after `COMMIT` was queued is caught, never served: a connection-level
/// guard sees it start, and the call fails with [`DbError::Other`], a 500 (a test covers it). A
/// statement built earlier but first awaited after another one's answer is caught only when its
/// own answer is read after `COMMIT`'s was (the guard also flags statements that finish after
/// `COMMIT` finished); which of the two answers is polled first is not fixed, so that mistake
/// is not reliably caught — join the statements. Statements keep their order on the wire because
/// cached and new prepared statements alike wait for the connection's statement cache in the
/// order they were first polled, and `COMMIT` is one of them (no statement here binds a custom
/// SQL type, whose first lookup would take another path).
///
/// Commit and rollback are the same for a read-only transaction, so `f`'s error is returned
/// after a `ROLLBACK` that ends whatever the pipeline left open.
pub async fn tenant_read<T, E, F>(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    f: F,
) -> Result<T, E>
where
    for<'r> F: AsyncFnOnce(&'r AsyncPgConnection) -> Result<T, E>
        + TxFn<&'r AsyncPgConnection, Result<T, E>, Fut: Send>
        + Send,
    E: From<DbError> + Send,
    T: Send,
{
    // The one-stage read is a staged read whose only stage is the last: `f`'s statements go out
    // with BEGIN, and COMMIT right behind them.
    tenant_read_staged(conn, tenant, async move |stages| {
        let shared = stages.conn();
        stages.last(f(shared)).await
    })
    .await
}

/// A read whose second stage depends on its first one's answer (a page of ids, then the facts
/// of those ids), in one read-only tenant transaction and two round trips: `BEGIN READ ONLY`
/// with the settings goes out with the statements `f` issues first, and `COMMIT` with those
/// its last stage issues, which `f` passes to [`ReadStages::last`]. [`tenant_read`] is the
/// one-stage case; the same rule holds for the last stage (**every statement before it first
/// waits**), and the same guard fails the read with [`DbError::Other`] when a statement starts
/// after its `COMMIT` was queued. Stages before the last may await freely: the transaction is
/// open until the last. An `f` that never calls [`ReadStages::last`] is committed after it
/// returns, in one more round trip.
pub async fn tenant_read_staged<T, E, F>(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    f: F,
) -> Result<T, E>
where
    for<'r> F: AsyncFnOnce(ReadStages<'r>) -> Result<T, E>
        + TxFn<ReadStages<'r>, Result<T, E>, Fut: Send>
        + Send,
    E: From<DbError> + Send,
    T: Send,
{
    use std::pin::pin;
    use std::task::Poll;

    use futures_util::future::{join, maybe_done, poll_fn};

    let db = |e: diesel::result::Error| E::from(DbError::from(e));
    depth(conn, TransactionDepthChange::IncreaseDepth).map_err(db)?;
    let guard = PipelineGuard::default();
    conn.set_instrumentation(guard.clone());
    let begin = begin_sql("BEGIN READ ONLY", tenant);
    let (begun, value) = {
        let shared: &AsyncPgConnection = conn;
        let mut begin = pin!(maybe_done(async move {
            (&mut { shared }).batch_execute(&begin).await
        }));
        let stages = ReadStages {
            conn: shared,
            guard: guard.clone(),
        };
        let mut body = pin!(maybe_done(f(stages)));
        // One poll each, in order: BEGIN's batch is queued, then the first statements of `f`.
        poll_fn(|cx| {
            let _ = begin.as_mut().poll(cx);
            let _ = body.as_mut().poll(cx);
            Poll::Ready(())
        })
        .await;
        join(begin.as_mut(), body.as_mut()).await;
        (begin.as_mut().take_output(), body.as_mut().take_output())
    };
    let committed = match guard.take_committed() {
        Some(committed) => Some(committed),
        // `f` had no last stage: commit now, if there is anything to commit.
        None if matches!((&begun, &value), (Some(Ok(())), Some(Ok(_)))) => {
            let commit = crate::sql("COMMIT").execute(conn);
            guard.set(COMMIT_QUEUED);
            let done = commit.await;
            guard.set(COMMIT_DONE);
            Some(done)
        }
        None => None,
    };
    conn.set_instrumentation(diesel::connection::get_default_instrumentation());
    let outcome = match (begun, value, committed) {
        (Some(Ok(())), Some(Ok(value)), Some(Ok(_))) if !guard.violated() => Ok(value),
        (_, _, _) if guard.violated() => Err(db(diesel::result::Error::QueryBuilderError(
            "a statement of a pipelined read ran after its COMMIT: issue every statement of the \
             last stage before its first await"
                .into(),
        ))),
        (Some(Err(e)), _, _) => Err(db(e)),
        (_, Some(Err(e)), _) => Err(e),
        (_, _, Some(Err(e))) => Err(db(e)),
        _ => Err(db(diesel::result::Error::BrokenTransactionManager)),
    };
    if outcome.is_err() {
        conn.batch_execute("ROLLBACK").await.map_err(db)?;
    }
    depth(conn, TransactionDepthChange::DecreaseDepth).map_err(db)?;
    outcome
}

/// The connection of a [`tenant_read_staged`] read, and where its last stage begins.
pub struct ReadStages<'r> {
    conn: &'r AsyncPgConnection,
    guard: PipelineGuard,
}

impl std::fmt::Debug for ReadStages<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadStages").finish_non_exhaustive()
    }
}

impl<'r> ReadStages<'r> {
    /// The transaction's connection: build statements on it (`&mut { conn }`).
    pub fn conn(&self) -> &'r AsyncPgConnection {
        self.conn
    }

    /// Runs the last stage: `stage` is polled once (issuing its statements), `COMMIT` is queued
    /// behind them, and both are answered in the same round trip.
    pub async fn last<T>(self, stage: impl Future<Output = T>) -> T {
        use std::pin::pin;
        use std::task::Poll;

        use futures_util::future::{join, maybe_done, poll_fn};

        let mut body = pin!(maybe_done(stage));
        poll_fn(|cx| {
            let _ = body.as_mut().poll(cx);
            Poll::Ready(())
        })
        .await;
        let commit = crate::sql("COMMIT").execute(&mut { self.conn });
        self.guard.set(COMMIT_QUEUED);
        let guard = &self.guard;
        let commit = async move {
            let done = commit.await;
            guard.set(COMMIT_DONE);
            done
        };
        let ((), committed) = join(body.as_mut(), commit).await;
        self.guard.put_committed(committed);
        body.as_mut()
            .take_output()
            .unwrap_or_else(|| unreachable!("joined to completion"))
    }
}

/// `begin` and the two settings as one simple-protocol batch (the tenant id is a UUID, so writing
/// it into the text is safe, and `set_config` costs nothing to parse).
fn begin_sql(begin: &str, tenant: TenantId) -> String {
    format!(
        "{begin}; SELECT set_config('{TENANT_SETTING}', '{}', true), set_config('role', '{APP_ROLE}', true)",
        tenant.into_uuid()
    )
}

fn depth(conn: &mut AsyncPgConnection, change: TransactionDepthChange) -> diesel::QueryResult<()> {
    AnsiTransactionManager::transaction_manager_status_mut(conn)
        .transaction_state()?
        .change_transaction_depth(change)
}

const COMMIT_QUEUED: u8 = 1;
const COMMIT_DONE: u8 = 2;

/// Watches a pipelined read's statements: none may start once `COMMIT` is queued, nor finish
/// once it has finished (a statement sent after `COMMIT` is answered after it).
#[derive(Clone, Default)]
struct PipelineGuard(Arc<GuardState>);

#[derive(Default)]
struct GuardState {
    phase: AtomicU8,
    late: AtomicBool,
    /// What the `COMMIT` of a staged read's last stage answered.
    committed: std::sync::Mutex<Option<diesel::QueryResult<usize>>>,
}

impl PipelineGuard {
    fn set(&self, phase: u8) {
        AtomicU8::store(&self.0.phase, phase, Ordering::SeqCst);
    }

    fn violated(&self) -> bool {
        AtomicBool::load(&self.0.late, Ordering::SeqCst)
    }

    fn put_committed(&self, committed: diesel::QueryResult<usize>) {
        *self.0.committed.lock().unwrap_or_else(|e| e.into_inner()) = Some(committed);
    }

    fn take_committed(&self) -> Option<diesel::QueryResult<usize>> {
        self.0
            .committed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }
}

impl Instrumentation for PipelineGuard {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        let phase = AtomicU8::load(&self.0.phase, Ordering::SeqCst);
        let late = match event {
            InstrumentationEvent::StartQuery { .. } => phase >= COMMIT_QUEUED,
            InstrumentationEvent::FinishQuery { .. } => phase == COMMIT_DONE,
            _ => false,
        };
        if late {
            AtomicBool::store(&self.0.late, true, Ordering::SeqCst);
        }
    }
}
