//! The worker: delivers outbox events to their handlers, runs jobs, and ticks schedules.
//!
//! It runs inside `guild serve` by default and alone as `guild worker`; any number of instances
//! can run at once, because rows are claimed with `FOR UPDATE SKIP LOCKED` and leased (see
//! [`queue`](crate::queue)). Delivery is at least once, so every handler must be idempotent.
//! A handler that fails (or panics) is retried with exponential backoff until its row is `DEAD`.
//! A batch handler ([`Registry::on_events`]) takes every event of its kinds a pass claimed at
//! once, oldest first, and answers for each: a reaction that writes per tenant commits once per
//! tenant and pass instead of once per event; an event it fails is retried alone like any other.
//! Only kinds this process has handlers for are claimed, so an older instance in a rolling deploy
//! leaves newer kinds to the instances that know them.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use futures_util::stream::{self, StreamExt};
use guild_kernel::{DomainEvent, EventId, JobId, TenantId};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::DbError;
use crate::jobs::{Job, Schedule};
use crate::outbox::Event;
use crate::pool::{PgPool, connect};
use crate::queue::{self, Claimed, Queue};

/// What a handler or job returns on failure; the message is stored in `last_error`.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

type EventFn = Arc<dyn Fn(Event) -> BoxFuture<'static, Result<(), HandlerError>> + Send + Sync>;
type BatchFn =
    Arc<dyn Fn(Vec<Event>) -> BoxFuture<'static, Vec<Result<(), HandlerError>>> + Send + Sync>;
type JobFn = Arc<
    dyn Fn(
            JobRun,
            serde_json::Value,
        ) -> BoxFuture<'static, Result<Option<serde_json::Value>, HandlerError>>
        + Send
        + Sync,
>;

/// A job as handed to its runner.
#[derive(Debug, Clone)]
pub struct JobRun {
    /// The job's id.
    pub id: JobId,
    /// Its tenant, if any.
    pub tenant_id: Option<TenantId>,
    /// 1 on the first run, more on retries.
    pub attempt: i32,
}

/// Which handlers run for which event kinds, which runner for which job kind, and the schedules.
#[derive(Default)]
pub struct Registry {
    events: BTreeMap<&'static str, Vec<(&'static str, EventFn)>>,
    batches: Vec<Batch>,
    jobs: HashMap<&'static str, JobFn>,
    schedules: Vec<Schedule>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("events", &self.events.keys().collect::<Vec<_>>())
            .field(
                "batches",
                &self.batches.iter().map(|b| b.name).collect::<Vec<_>>(),
            )
            .field("jobs", &self.jobs.keys().collect::<Vec<_>>())
            .field("schedules", &self.schedules)
            .finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `handler` for every event of type `E`; `name` identifies it in errors and logs.
    pub fn on_event<E, F, Fut>(&mut self, name: &'static str, handler: F) -> &mut Self
    where
        E: DomainEvent,
        F: Fn(Event, E) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        let f: EventFn = Arc::new(move |event: Event| {
            let handler = Arc::clone(&handler);
            async move {
                let payload = serde_json::from_value::<E>(event.payload.clone())
                    .map_err(|e| Box::new(Undecodable(e.to_string())) as HandlerError)?;
                handler(event, payload).await
            }
            .boxed()
        });
        self.events.entry(E::KIND).or_default().push((name, f));
        self
    }

    /// Runs `handler` once per pass over every claimed event of `kinds` (oldest first); it
    /// answers one outcome per event, in the order given, and an event it fails is retried like
    /// one whose handler failed. It runs before the events' own handlers ([`on_event`]
    /// (Self::on_event)), and an event it failed runs none of them this time. It must be
    /// idempotent per event, as every handler; `name` identifies it in errors and logs.
    pub fn on_events<F, Fut>(
        &mut self,
        name: &'static str,
        kinds: &[&'static str],
        handler: F,
    ) -> &mut Self
    where
        F: Fn(Vec<Event>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<Result<(), HandlerError>>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        let f: BatchFn = Arc::new(move |events: Vec<Event>| {
            let handler = Arc::clone(&handler);
            async move { handler(events).await }.boxed()
        });
        self.batches.push(Batch {
            name,
            kinds: kinds.to_vec(),
            f,
        });
        self
    }

    /// Runs `runner` for every job of type `J`; what it returns is stored as the job's `result`.
    pub fn on_job<J, F, Fut>(&mut self, runner: F) -> &mut Self
    where
        J: Job,
        F: Fn(JobRun, J) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Option<serde_json::Value>, HandlerError>> + Send + 'static,
    {
        let runner = Arc::new(runner);
        let f: JobFn = Arc::new(move |run: JobRun, payload: serde_json::Value| {
            let runner = Arc::clone(&runner);
            async move {
                let job = serde_json::from_value::<J>(payload)
                    .map_err(|e| Box::new(Undecodable(e.to_string())) as HandlerError)?;
                runner(run, job).await
            }
            .boxed()
        });
        self.jobs.insert(J::KIND, f);
        self
    }

    /// Enqueues a job every tick of `schedule`; its kind needs a runner (see [`on_job`](Self::on_job)).
    pub fn schedule(&mut self, schedule: Schedule) -> &mut Self {
        self.schedules.push(schedule);
        self
    }

    fn event_kinds(&self) -> Vec<String> {
        let mut kinds: Vec<String> = self
            .events
            .keys()
            .chain(self.batches.iter().flat_map(|b| b.kinds.iter()))
            .map(|k| (*k).to_owned())
            .collect();
        kinds.sort_unstable();
        kinds.dedup();
        kinds
    }

    fn job_kinds(&self) -> Vec<String> {
        self.jobs.keys().map(|k| (*k).to_owned()).collect()
    }
}

/// A handler over many events at once (see [`Registry::on_events`]).
struct Batch {
    name: &'static str,
    kinds: Vec<&'static str>,
    f: BatchFn,
}

/// A payload that does not decode into the handler's type: retrying cannot help.
#[derive(Debug, thiserror::Error)]
#[error("payload does not decode: {0}")]
struct Undecodable(String);

/// How the worker paces itself.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Rows claimed per query.
    pub batch_size: i64,
    /// Rows handled at once.
    pub concurrency: usize,
    /// How long a claim lasts; a row whose worker died becomes due again after it.
    pub lease: Duration,
    /// Sleep between polls when there was nothing to do.
    pub poll_interval: Duration,
    /// First retry delay; doubles each attempt.
    pub backoff_base: Duration,
    /// Longest retry delay.
    pub backoff_max: Duration,
    /// How long `DONE` rows are kept before the daily prune deletes them.
    pub retention: Duration,
    /// Wake as soon as a row is queued (`LISTEN` on [`WAKE_CHANNEL`], one connection taken from
    /// the pool for it), not only every `poll_interval`.
    pub listen: bool,
}

/// The channel an insert into `outbox_events` or `jobs` notifies (a statement trigger), so an
/// idle worker starts on a new row at once instead of at its next poll.
pub const WAKE_CHANNEL: &str = "guild_worker";

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            batch_size: 32,
            concurrency: 8,
            lease: Duration::from_secs(300),
            poll_interval: Duration::from_millis(500),
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(3600),
            retention: Duration::from_secs(7 * 86_400),
            listen: true,
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    /// Events claimed.
    pub events: usize,
    /// Jobs claimed.
    pub jobs: usize,
    /// Scheduled jobs this pass enqueued.
    pub scheduled: usize,
}

impl Pass {
    /// Nothing was due.
    pub fn is_idle(&self) -> bool {
        self.events == 0 && self.jobs == 0 && self.scheduled == 0
    }
}

/// The job behind the built-in daily prune of finished outbox and job rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PruneFinished {
    /// Rows finished longer ago than this many seconds are deleted.
    pub older_than_secs: u64,
}

impl Job for PruneFinished {
    const KIND: &'static str = "platform.prune_finished";
}

/// Wakes the worker whenever a row is queued: `LISTEN`s on [`WAKE_CHANNEL`] over a connection
/// taken out of the pool, reconnecting with backoff when it drops (the worker polls meanwhile).
/// Each (re)connection wakes the worker once, for rows queued while nobody listened.
async fn listen(pool: PgPool, wake: Arc<tokio::sync::Notify>, shutdown: CancellationToken) {
    use diesel_async::RunQueryDsl;
    let mut delay = Duration::from_millis(500);
    loop {
        let listened: Result<(), DbError> = async {
            let mut conn = crate::pool::connect_alone(&pool).await?;
            diesel::sql_query(format!("LISTEN {WAKE_CHANNEL}"))
                .execute(&mut conn)
                .await?;
            wake.notify_one();
            let mut notifications = std::pin::pin!(conn.notifications_stream());
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return Ok(()),
                    next = notifications.next() => match next {
                        Some(Ok(_)) => wake.notify_one(),
                        Some(Err(e)) => return Err(e.into()),
                        None => return Err(DbError::Unavailable(
                            "the listening connection closed".to_owned(),
                        )),
                    },
                }
            }
        }
        .await;
        if shutdown.is_cancelled() {
            return;
        }
        if let Err(err) = listened {
            tracing::warn!(error = %err, retry_in_ms = delay.as_millis(), "worker wake-up listener lost");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(30));
    }
}

/// Delivers events, runs jobs and ticks schedules until cancelled.
pub struct Worker {
    pool: PgPool,
    registry: Arc<Registry>,
    config: WorkerConfig,
    event_kinds: Vec<String>,
    job_kinds: Vec<String>,
    /// The last tick each schedule was ensured for: only saves queries, the table decides.
    ensured: Mutex<HashMap<&'static str, DateTime<Utc>>>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("registry", &self.registry)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker over `registry`, plus the built-in daily prune of finished rows.
    pub fn new(pool: PgPool, mut registry: Registry, config: WorkerConfig) -> Self {
        let prune_pool = pool.clone();
        registry.on_job(move |_run, job: PruneFinished| {
            let pool = prune_pool.clone();
            async move {
                let older_than = Duration::from_secs(job.older_than_secs);
                let mut conn = connect(&pool).await?;
                let events = queue::prune_done(&mut conn, Queue::Outbox, older_than).await?;
                let jobs = queue::prune_done(&mut conn, Queue::Jobs, older_than).await?;
                Ok(Some(serde_json::json!({ "events": events, "jobs": jobs })))
            }
        });
        registry.schedule(Schedule::every(
            "prune_finished",
            Duration::from_secs(86_400),
            &PruneFinished {
                older_than_secs: config.retention.as_secs(),
            },
        ));
        let event_kinds = registry.event_kinds();
        let job_kinds = registry.job_kinds();
        Self {
            pool,
            registry: Arc::new(registry),
            config,
            event_kinds,
            job_kinds,
            ensured: Mutex::new(HashMap::new()),
        }
    }

    /// Runs passes until `shutdown` is cancelled; a pass in progress is finished first, so no
    /// claimed row is abandoned to wait for its lease.
    pub async fn run(&self, shutdown: CancellationToken) {
        tracing::info!(
            events = ?self.event_kinds,
            jobs = ?self.job_kinds,
            "worker started"
        );
        let wake = Arc::new(tokio::sync::Notify::new());
        let listener = self.config.listen.then(|| {
            tokio::spawn(listen(
                self.pool.clone(),
                Arc::clone(&wake),
                shutdown.child_token(),
            ))
        });
        loop {
            let idle = match self.run_once().await {
                Ok(pass) => pass.is_idle(),
                Err(err) => {
                    tracing::warn!(error = %err, "worker pass failed");
                    true
                }
            };
            if shutdown.is_cancelled() {
                break;
            }
            if idle {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(self.config.poll_interval) => {}
                    () = wake.notified() => {}
                }
            }
        }
        if let Some(listener) = listener {
            listener.abort();
        }
        tracing::info!("worker stopped");
    }

    /// One pass: tick schedules, then claim and handle one batch of events and one of jobs.
    pub async fn run_once(&self) -> Result<Pass, DbError> {
        let scheduled = self.tick_schedules(Utc::now()).await?;
        let events = self.claim(Queue::Outbox, &self.event_kinds).await?;
        let n_events = events.len();
        let mut failed = self.run_batches(&events).await;
        stream::iter(events)
            .map(|row| {
                let failure = failed.remove(&row.id);
                (row, failure)
            })
            .for_each_concurrent(self.config.concurrency, |(row, failure)| {
                self.deliver(row, failure)
            })
            .await;
        let jobs = self.claim(Queue::Jobs, &self.job_kinds).await?;
        let n_jobs = jobs.len();
        stream::iter(jobs)
            .for_each_concurrent(self.config.concurrency, |row| self.run_job(row))
            .await;
        Ok(Pass {
            events: n_events,
            jobs: n_jobs,
            scheduled,
        })
    }

    async fn claim(&self, queue: Queue, kinds: &[String]) -> Result<Vec<Claimed>, DbError> {
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = connect(&self.pool).await?;
        Ok(queue::claim(
            &mut conn,
            queue,
            kinds,
            self.config.batch_size,
            self.config.lease,
        )
        .await?)
    }

    async fn tick_schedules(&self, now: DateTime<Utc>) -> Result<usize, DbError> {
        let mut created = 0;
        for schedule in &self.registry.schedules {
            let tick = schedule.tick_start(now);
            let known = self
                .ensured
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(schedule.name)
                == Some(&tick);
            if known {
                continue;
            }
            let mut conn = connect(&self.pool).await?;
            if schedule.ensure_tick(&mut conn, now).await? {
                tracing::info!(schedule = schedule.name, %tick, "scheduled job enqueued");
                created += 1;
            }
            self.ensured
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(schedule.name, tick);
        }
        Ok(created)
    }

    /// Runs the batch handlers over the claimed events of their kinds; answers the events one of
    /// them failed, with the error (never permanent: a batch is retried).
    async fn run_batches(&self, rows: &[Claimed]) -> HashMap<uuid::Uuid, (String, bool)> {
        let mut failed = HashMap::new();
        for batch in &self.registry.batches {
            let mut mine: Vec<&Claimed> = rows
                .iter()
                .filter(|r| batch.kinds.contains(&r.kind.as_str()) && !failed.contains_key(&r.id))
                .collect();
            if mine.is_empty() {
                continue;
            }
            // Event ids are UUIDv7: their order is the order they were published in.
            mine.sort_by_key(|r| r.id);
            let events: Vec<Event> = mine.iter().map(|r| event_of(r)).collect();
            let outcomes = match guarded((batch.f)(events).map(Ok::<_, HandlerError>).boxed()).await
            {
                Ok(outcomes) if outcomes.len() == mine.len() => outcomes,
                Ok(outcomes) => {
                    let message = format!(
                        "answered {} outcomes for {} events",
                        outcomes.len(),
                        mine.len()
                    );
                    mine.iter().map(|_| Err(message.clone().into())).collect()
                }
                Err(panic) => {
                    let message = panic.to_string();
                    mine.iter().map(|_| Err(message.clone().into())).collect()
                }
            };
            for (row, outcome) in mine.iter().zip(outcomes) {
                if let Err(err) = outcome {
                    failed.insert(row.id, (format!("{}: {err}", batch.name), false));
                }
            }
        }
        failed
    }

    /// Runs the event's handlers, unless a batch handler failed it already (`failure`).
    async fn deliver(&self, row: Claimed, failure: Option<(String, bool)>) {
        if failure.is_some() {
            self.settle(Queue::Outbox, &row, failure, None).await;
            return;
        }
        let event = event_of(&row);
        let handlers = self
            .registry
            .events
            .get(row.kind.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut failure = None;
        for (name, handler) in handlers {
            if let Err(err) = guarded(handler(event.clone())).await {
                failure = Some((format!("{name}: {err}"), err.is::<Undecodable>()));
                break;
            }
        }
        self.settle(Queue::Outbox, &row, failure, None).await;
    }

    async fn run_job(&self, row: Claimed) {
        let Some(runner) = self.registry.jobs.get(row.kind.as_str()) else {
            return;
        };
        let run = JobRun {
            id: JobId(row.id),
            tenant_id: row.tenant_id.map(TenantId),
            attempt: row.attempts,
        };
        let outcome = guarded(runner(run, row.payload.clone())).await;
        match outcome {
            Ok(result) => self.settle(Queue::Jobs, &row, None, result).await,
            Err(err) => {
                let permanent = err.is::<Undecodable>();
                self.settle(Queue::Jobs, &row, Some((err.to_string(), permanent)), None)
                    .await;
            }
        }
    }

    /// Records the outcome. If even that fails, the lease runs out and the row is retried.
    async fn settle(
        &self,
        queue: Queue,
        row: &Claimed,
        failure: Option<(String, bool)>,
        result: Option<serde_json::Value>,
    ) {
        let outcome = async {
            let mut conn = connect(&self.pool).await?;
            match &failure {
                None => queue::complete(&mut conn, queue, row.id, result).await?,
                Some((error, permanent)) => {
                    let retry_in = queue::backoff(
                        row.attempts,
                        self.config.backoff_base,
                        self.config.backoff_max,
                    );
                    queue::fail(&mut conn, queue, row, error, retry_in, *permanent).await?;
                }
            }
            Ok::<_, DbError>(())
        }
        .await;
        if let Some((error, _)) = &failure {
            tracing::warn!(queue = ?queue, id = %row.id, kind = %row.kind, attempt = row.attempts, %error, "handler failed");
        }
        if let Err(err) = outcome {
            tracing::error!(queue = ?queue, id = %row.id, error = %err, "could not record outcome");
        }
    }
}

fn event_of(row: &Claimed) -> Event {
    Event {
        id: EventId(row.id),
        tenant_id: row.tenant_id.map(TenantId),
        kind: row.kind.clone(),
        payload: row.payload.clone(),
        attempt: row.attempts,
    }
}

/// Runs a handler future, turning a panic into an error so one bad handler cannot kill the worker.
async fn guarded<T>(fut: BoxFuture<'static, Result<T, HandlerError>>) -> Result<T, HandlerError> {
    match AssertUnwindSafe(fut).catch_unwind().await {
        Ok(outcome) => outcome,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "handler panicked".to_owned());
            Err(format!("panic: {message}").into())
        }
    }
}
