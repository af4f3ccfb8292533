//! The long-running commands: `guild serve`, `guild worker`, and `guild migrate`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpResponse, HttpServer};
use guild_db::worker::{Registry, Worker, WorkerConfig};
use guild_db::{DbError, PgPool, PoolConfig, build_pool, migrate};
use guild_integrations::IntegrationError;
use guild_integrations::mail::SmtpMailer;
use guild_integrations::ratelimit::RedisRateLimiter;
use guild_integrations::redis::Redis;
use guild_integrations::storage::{LocalBlobStore, S3BlobStore};
use guild_notifications::unsubscribe::UnsubscribeKey;
use tokio_util::sync::CancellationToken;

use crate::app::build_app;
use crate::auth::{ActorCache, TokenKeys};
use crate::config::{BlobConfig, Config, ConfigError};
use crate::metrics::Metrics;
use crate::state::{AppState, HttpSettings};

/// Why a command could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// An external service failed.
    #[error(transparent)]
    Integration(#[from] IntegrationError),
    /// The socket could not be bound, or the server failed.
    #[error("http server: {0}")]
    Io(#[from] std::io::Error),
}

fn pool(config: &Config) -> Result<PgPool, ServerError> {
    pool_of_size(config, config.db_pool_size)
}

fn pool_of_size(config: &Config, max_size: usize) -> Result<PgPool, ServerError> {
    Ok(build_pool(&PoolConfig {
        url: config.require_database_url()?.to_owned(),
        max_size,
        timeout: config.db_timeout,
    })?)
}

/// One pool per HTTP worker thread, `GUILD_DB_POOL_SIZE` split evenly between them.
///
/// A connection's I/O task runs on the thread that opened it (each actix worker is a
/// single-threaded runtime). With one pool shared by every worker, a request on one thread would
/// use a connection driven by another, and every statement would cross threads twice: a wake-up
/// and a context switch each way. On 2 cores the leaderboard went from about 5,000 to 7,000
/// req/s (256 connections) once each worker kept to connections of its own.
fn worker_pools(config: &Config) -> Result<Vec<PgPool>, ServerError> {
    let workers = config.http_workers.max(1);
    let size = config.db_pool_size.div_ceil(workers);
    (0..workers).map(|_| pool_of_size(config, size)).collect()
}

/// Opens every connection of an HTTP worker's pool, on the worker's own thread (where their I/O
/// runs, see [`worker_pools`]), so that the first requests after a start do not each wait for a
/// new connection. A connection that cannot be opened now is opened by the request that needs it.
pub async fn open_every_connection(pool: PgPool) {
    let size = pool.status().max_size;
    let opened = futures_util::future::join_all((0..size).map(|_| guild_db::connect(&pool))).await;
    let failed = opened.iter().filter(|c| c.is_err()).count();
    if failed > 0 {
        tracing::warn!(
            failed,
            size,
            "could not open every database connection at start"
        );
    }
}

/// Applies pending migrations.
pub async fn run_migrations(config: &Config) -> Result<(), ServerError> {
    let applied = migrate::run_pending(config.require_database_url()?).await?;
    if applied.is_empty() {
        tracing::info!("database schema is up to date");
    } else {
        tracing::info!(?applied, "migrations applied");
    }
    Ok(())
}

/// The handlers, jobs and schedules this binary runs: [`crate::reactions`].
pub fn registry(state: &AppState) -> Registry {
    let mut registry = Registry::new();
    crate::reactions::register_all(&mut registry, state);
    registry
}

fn worker_config(config: &Config) -> WorkerConfig {
    WorkerConfig {
        poll_interval: config.worker_poll,
        ..WorkerConfig::default()
    }
}

async fn state(config: &Config) -> Result<AppState, ServerError> {
    let redis = config
        .redis_url
        .as_deref()
        .map(|url| Redis::connect(url, config.db_timeout))
        .transpose()?;
    let mut state = AppState::new(pool(config)?);
    if let Some(secret) = &config.jwt_secret {
        state.tokens = Arc::new(TokenKeys::new(
            secret.as_bytes(),
            "guild",
            config.access_ttl,
        ));
    } else {
        tracing::warn!(
            "GUILD_JWT_SECRET is not set: using a random key; sessions end when the process stops"
        );
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| std::io::Error::other(e.to_string()))?;
        state.tokens = Arc::new(TokenKeys::new(&secret, "guild", config.access_ttl));
    }
    state.actors = Arc::new(ActorCache::new(config.actor_cache));
    if let Some(redis) = &redis {
        state.limiter = Arc::new(RedisRateLimiter::new(redis, None));
        if let Some(url) = &config.redis_url {
            state.pubsub = Arc::new(
                guild_integrations::pubsub::RedisPubSub::start(redis.clone(), url).map_err(
                    |e| ServerError::Config(ConfigError(vec![format!("REDIS_URL: {e}")])),
                )?,
            );
        }
    }
    if let Some(url) = &config.smtp_url {
        state.mailer = Arc::new(SmtpMailer::new(
            url,
            &config.mail_from,
            Duration::from_secs(30),
        )?);
    }
    state.dev_mailbox = config.records_mail();
    state.invite_caps = config.invite_caps;
    state.assignment_file_quota = config.assignment_file_quota;
    state.stream_retention = config.stream_retention;
    state.streams_per_member = config.streams_per_member;
    if config.link_previews {
        let fetcher = guild_integrations::fetch::SafeFetcher::new(
            guild_integrations::fetch::FetchPolicy::default(),
        )?;
        state.previewer = Some(Arc::new(fetcher));
    }
    if let Some(ai) = &config.ai {
        state.ai = Arc::new(guild_integrations::ai::OpenAiCompatible::new(ai.clone())?);
    }
    match &config.encryption_keys {
        Some(keys) => state.keyring = Arc::new(keys.clone()),
        // Production refuses to start without keys (`Config::from_env`).
        None => tracing::warn!(
            "GUILD_ENCRYPTION_KEYS is not set: using the development key for secrets at rest"
        ),
    }
    state.presence_ttl = config.presence_ttl;
    state.presence = match &redis {
        Some(redis) => Arc::new(guild_integrations::presence::RedisPresence::new(
            redis,
            config.presence_ttl,
        )),
        None => Arc::new(guild_integrations::presence::MemoryPresence::new(
            config.presence_ttl,
        )),
    };
    state.trusted_proxies = std::sync::Arc::from(config.trusted_proxies.clone());
    let per_minute = |limit| guild_kernel::ports::RateRule {
        limit,
        window: Duration::from_secs(60),
    };
    state.limits.tenant = Some(per_minute(config.tenant_requests_per_min));
    state.limits.api_key = Some(per_minute(config.api_key_requests_per_min));
    state.limits.stream_tickets = per_minute(config.stream_tickets_per_min);
    state.limits.chat_messages = guild_kernel::ports::RateRule {
        limit: config.chat_messages_per_10s,
        window: Duration::from_secs(10),
    };
    state.redis = redis;
    state.metrics = Arc::new(Metrics::new());
    state.http = HttpSettings {
        json_limit: config.json_limit,
        cors_origins: config.cors_origins.clone(),
        metrics_public: config.metrics_addr.is_none(),
    };
    state.public_url = config.public_url.clone();
    state.api_url = config.api_url.clone();
    if !config.access_flush.is_zero() {
        state.access_log = Arc::new(crate::access_log::AccessLog::batched());
    }
    state.dashboards = Arc::new(crate::shared_views::SharedViews::new(
        config.dashboard_fresh,
    ));
    match &config.unsubscribe_secret {
        Some(secret) => state.unsubscribe_key = UnsubscribeKey::new(secret.as_bytes()),
        None => tracing::warn!(
            "GUILD_UNSUBSCRIBE_SECRET is not set: using a random key; unsubscribe links in emails stop working when the process stops"
        ),
    }
    state.mail_domain = crate::config::mail_domain(&config.mail_from);
    state.inbound_mail =
        config
            .inbound_mail_secret
            .as_ref()
            .map(|secret| crate::state::InboundMail {
                secret: secret.as_bytes().to_vec(),
                reply_domain: config
                    .mail_reply_domain
                    .clone()
                    .unwrap_or_else(|| state.mail_domain.clone()),
            });
    match &config.event_link_secret {
        Some(secret) => {
            state.event_link_key = guild_live::attendance::AttendanceKey::new(secret.as_bytes());
        }
        None => tracing::warn!(
            "GUILD_EVENT_LINK_SECRET is not set: using a random key; attendance links in emails stop working when the process stops"
        ),
    }
    match &config.blobs {
        BlobConfig::Local {
            dir,
            api_url,
            signing_key,
        } => {
            let key = match signing_key {
                Some(key) => key.as_bytes().to_vec(),
                None => {
                    tracing::warn!(
                        "GUILD_BLOB_SIGNING_KEY is not set: using a random key; media URLs stop working when the process stops"
                    );
                    let mut key = vec![0u8; 32];
                    getrandom::fill(&mut key).map_err(|e| IntegrationError::Misconfigured {
                        service: "local blob storage",
                        message: e.to_string(),
                    })?;
                    key
                }
            };
            state = state.with_local_blobs(LocalBlobStore::new(dir.clone(), api_url.clone(), key)?);
        }
        BlobConfig::S3(s3) => {
            state.blobs = Arc::new(S3BlobStore::new(s3.clone())?);
            state.local_blobs = None;
        }
    }
    Ok(state)
}

/// `guild serve`: the HTTP API, plus the worker unless `GUILD_RUN_WORKER=false`.
///
/// On SIGTERM or SIGINT it shuts down as [`shut_down`] does: it stops accepting connections,
/// ends open event streams, lets in-flight requests finish (up to
/// `GUILD_SHUTDOWN_TIMEOUT_SECS`), then lets the worker finish its current pass. A second signal
/// stops at once.
pub async fn serve(config: Config) -> Result<(), ServerError> {
    if config.migrate_on_start {
        run_migrations(&config).await?;
    }
    let mut state = state(&config).await?;
    // Requests use the worker threads' pools; this one serves the outbox/job worker, which
    // holds at most one connection per handler it runs at once, plus one for its claims.
    let background = config
        .db_pool_size
        .min(worker_config(&config).concurrency + 1);
    state.db = pool_of_size(&config, background)?;
    let shutdown = CancellationToken::new();
    let access_log = (!config.access_flush.is_zero()).then(|| {
        let (log, pool, every, stop) = (
            state.access_log.clone(),
            state.db.clone(),
            config.access_flush,
            shutdown.clone(),
        );
        actix_web::rt::spawn(async move { log.run(&pool, every, stop).await })
    });
    let worker = config.run_worker.then(|| {
        let worker = Worker::new(state.db.clone(), registry(&state), worker_config(&config));
        let shutdown = shutdown.clone();
        actix_web::rt::spawn(async move { worker.run(shutdown).await })
    });

    // Each worker thread takes a pool of its own; a thread past the count (actix starts exactly
    // `workers`, so none should) shares the background pool.
    let pools = Arc::new(std::sync::Mutex::new(worker_pools(&config)?));
    let app_state = state.clone();
    let server = HttpServer::new(move || {
        let mut state = app_state.clone();
        if let Some(pool) = pools.lock().ok().and_then(|mut p| p.pop()) {
            actix_web::rt::spawn(open_every_connection(pool.clone()));
            state.db = pool;
        }
        build_app(state)
    })
    .workers(config.http_workers)
    .keep_alive(config.http_keep_alive)
    .shutdown_timeout(config.shutdown_timeout.as_secs())
    // Signals are handled here, so that shutting down also ends the open event streams.
    .disable_signals()
    .bind(config.http_addr)?
    .run();
    let handle = server.handle();
    let stopping = state.stopping.clone();
    actix_web::rt::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: finishing in-flight requests, ending event streams");
        let forced = handle.clone();
        actix_web::rt::spawn(async move {
            wait_for_signal().await;
            tracing::warn!("second signal: stopping now");
            forced.stop(false).await;
        });
        shut_down(&handle, &stopping).await;
    });
    let metrics = match config.metrics_addr {
        Some(addr) => {
            let metrics = metrics_server(addr, state.clone())?;
            let handle = metrics.handle();
            actix_web::rt::spawn(metrics);
            tracing::info!(%addr, "serving /metrics");
            Some(handle)
        }
        None => None,
    };
    let bare = match config.bench_bare_addr {
        Some(addr) => {
            let bare = bare_server(addr, config.http_workers)?;
            let handle = bare.handle();
            actix_web::rt::spawn(bare);
            tracing::info!(%addr, "serving the bare benchmark handler");
            Some(handle)
        }
        None => None,
    };
    tracing::info!(
        addr = %config.http_addr,
        docs = format!("http://{}/docs/", config.http_addr),
        worker = config.run_worker,
        redis = state.redis.is_some(),
        "guild is listening"
    );
    server.await?;
    if let Some(bare) = bare {
        bare.stop(true).await;
    }
    if let Some(metrics) = metrics {
        metrics.stop(true).await;
    }

    shutdown.cancel();
    if let Some(flushing) = access_log {
        let _ = flushing.await;
        // The last requests' views.
        state.access_log.flush(&state.db).await;
    }
    if let Some(worker) = worker {
        let _ = worker.await;
    }
    state.db.close();
    tracing::info!("guild stopped");
    Ok(())
}

/// Shuts a running server down gracefully: it stops accepting connections and lets in-flight
/// requests finish (up to its shutdown timeout), while `stopping` (the state's
/// [`AppState::stopping`]) ends every open event stream at once, which would otherwise hold the
/// server until that timeout. Completes when the server has stopped.
pub async fn shut_down(server: &actix_web::dev::ServerHandle, stopping: &CancellationToken) {
    // Sent at once: no new connection is accepted from here on.
    let stopped = server.stop(true);
    stopping.cancel();
    stopped.await;
}

/// `/metrics` alone on its own address (`GUILD_METRICS_ADDR`), for a scraper on a private network;
/// the public port then answers 404 there.
pub fn metrics_server(
    addr: SocketAddr,
    state: AppState,
) -> std::io::Result<actix_web::dev::Server> {
    let data = actix_web::web::Data::new(state);
    Ok(HttpServer::new(move || {
        actix_web::App::new().app_data(data.clone()).route(
            "/metrics",
            actix_web::web::get().to(crate::routes::ops::render_metrics),
        )
    })
    .workers(1)
    .disable_signals()
    .bind(addr)?
    .run())
}

/// The benchmark's baseline: the same actix runtime and worker count, one handler that returns
/// a fixed body, no middleware and no database.
fn bare_server(addr: SocketAddr, workers: usize) -> std::io::Result<actix_web::dev::Server> {
    async fn bare() -> HttpResponse {
        HttpResponse::Ok()
            .content_type("application/json")
            .body(r#"{"status":"ok"}"#)
    }
    Ok(
        HttpServer::new(|| actix_web::App::new().default_service(actix_web::web::to(bare)))
            .workers(workers)
            .disable_signals()
            .bind(addr)?
            .run(),
    )
}

/// `guild worker`: only the outbox/job worker, until SIGTERM or SIGINT.
pub async fn worker(config: Config) -> Result<(), ServerError> {
    let state = state(&config).await?;
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    actix_web::rt::spawn(async move {
        wait_for_signal().await;
        tracing::info!("stopping after the current pass");
        stop.cancel();
    });
    Worker::new(state.db.clone(), registry(&state), worker_config(&config))
        .run(shutdown)
        .await;
    state.db.close();
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// What `guild bootstrap` needs.
#[derive(Debug)]
pub struct BootstrapArgs {
    email: String,
    name: String,
    password: String,
}

impl BootstrapArgs {
    /// Reads `--email`, `--name`, `--password`, falling back to `GUILD_BOOTSTRAP_EMAIL`,
    /// `GUILD_BOOTSTRAP_NAME` and `GUILD_BOOTSTRAP_PASSWORD` (prefer the variable for the
    /// password: arguments are visible to other users of the machine).
    pub fn parse(args: &[String]) -> Result<Self, ServerError> {
        let flag = |name: &str| {
            args.iter()
                .position(|a| a == name)
                .and_then(|i| args.get(i + 1))
                .cloned()
        };
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let missing =
            |what: &str| ServerError::Config(ConfigError(vec![format!("bootstrap: {what}")]));
        let email = flag("--email")
            .or_else(|| env("GUILD_BOOTSTRAP_EMAIL"))
            .ok_or_else(|| missing("--email or GUILD_BOOTSTRAP_EMAIL is required"))?;
        let password = flag("--password")
            .or_else(|| env("GUILD_BOOTSTRAP_PASSWORD"))
            .ok_or_else(|| missing("GUILD_BOOTSTRAP_PASSWORD (or --password) is required"))?;
        let name = flag("--name")
            .or_else(|| env("GUILD_BOOTSTRAP_NAME"))
            .unwrap_or_else(|| "Platform owner".to_owned());
        Ok(Self {
            email,
            name,
            password,
        })
    }
}

/// `guild bootstrap`: creates the platform owner, or promotes an existing account to it.
pub async fn bootstrap(config: &Config, args: &BootstrapArgs) -> Result<(), ServerError> {
    run_migrations(config).await?;
    let pool = pool(config)?;
    let mut conn = guild_db::connect(&pool).await?;
    let user = guild_tenancy::tenants::bootstrap_owner(
        &mut conn,
        &args.email,
        &args.name,
        &args.password,
        chrono::Utc::now(),
    )
    .await
    .map_err(|e| ServerError::Config(ConfigError(vec![format!("bootstrap: {e}")])))?;
    tracing::info!(%user, email = %args.email, "platform owner ready");
    Ok(())
}

/// `guild seed-demo`: the demo tenant, the demo changelog, a welcome announcement, a few
/// knowledge suggestions and the first feed posts, published modules with five weeks of
/// learning history, on an empty database; returns how to sign in.
pub async fn seed_demo(config: &Config) -> Result<Option<String>, ServerError> {
    if config.env != crate::config::Environment::Development {
        return Err(ServerError::Config(ConfigError(vec![
            "seed-demo: only in development (GUILD_ENV=development)".into(),
        ])));
    }
    run_migrations(config).await?;
    let pool = pool(config)?;
    let mut conn = guild_db::connect(&pool).await?;
    let keys = config
        .encryption_keys
        .clone()
        .unwrap_or_else(guild_kernel::sealed::Keyring::development);
    let created = seed_demo_with(&mut conn, &keys, chrono::Utc::now()).await?;
    if created.is_some() {
        // A sample handbook in the media library, for the module builder to build from (stored
        // through this configuration's blob store).
        let blobs = state(config).await?.blobs;
        let handbook = guild_documents::samples::pdf(
            "Safety handbook",
            &guild_documents::samples::handbook(5),
            1,
        )
        .map_err(|e| ServerError::Config(ConfigError(vec![format!("seed-demo: {e}")])))?;
        guild_ai::demo::seed_handbook(&mut conn, blobs.as_ref(), handbook)
            .await
            .map_err(|e| ServerError::Config(ConfigError(vec![format!("seed-demo: {e}")])))?;
    }
    Ok(created)
}

/// [`seed_demo`] on a connection (outside any tenant: the connecting role), at `now`.
pub async fn seed_demo_with(
    conn: &mut diesel_async::AsyncPgConnection,
    keys: &guild_kernel::sealed::Keyring,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<String>, ServerError> {
    let failed = |e: &dyn std::fmt::Display| {
        ServerError::Config(ConfigError(vec![format!("seed-demo: {e}")]))
    };
    let created = guild_tenancy::demo::seed(conn, now)
        .await
        .map_err(|e| failed(&e))?;
    if !created {
        return Ok(None);
    }
    // Published modules with sections, assigned to the groups five weeks ago.
    crate::demo::seed_modules(conn, now)
        .await
        .map_err(|e| failed(&e))?;
    // What's new, for a newcomer to find (the worker notifies the demo members of each entry).
    guild_notifications::changelog::seed_demo(conn, now)
        .await
        .map_err(|e| failed(&e))?;
    // A pinned welcome announcement to every demo member (the worker notifies them).
    guild_social::announcements::seed_demo(conn, now)
        .await
        .map_err(|e| failed(&e))?;
    // Knowledge suggestions: a popular one, an anonymous one, one converted into a module.
    guild_social::suggestions::seed_demo(conn, now)
        .await
        .map_err(|e| failed(&e))?;
    // The knowledge feed: three approved posts (one pinned) and one waiting for a moderator.
    guild_social::feed::seed_demo(conn, now)
        .await
        .map_err(|e| failed(&e))?;
    // The team room, with a short conversation.
    guild_social::chat::demo::seed_demo(conn, now)
        .await
        .map_err(|e| failed(&e))?;
    // A draft learning path of the demo's modules.
    guild_progress::paths::seed_demo(conn, now)
        .await
        .map_err(|e| failed(&e))?;
    // A question bank of safety questions, and a quiz on the first module drawing from it.
    guild_assessment::demo::seed_demo(conn, now)
        .await
        .map_err(|e| failed(&e))?;
    // Live events: an online session next week, a two-seat workshop with one member waiting, a
    // briefing held ten days ago.
    guild_live::demo::seed_demo(conn, now)
        .await
        .map_err(|e| failed(&e))?;
    // Questions answered from the knowledge base, one escalated to a mentor.
    guild_ai::demo::seed_demo(conn, now)
        .await
        .map_err(|e| failed(&e))?;
    // Published safety and health modules completed by the owner, the admin and HR, so the
    // employee's "next for you" (`GET /v1/me/recommendations`) has something to say.
    guild_progress::recommendations::seed_demo(conn, now)
        .await
        .map_err(|e| failed(&e))?;
    // Coaching: the owner coaches Eve (a past session with scores and private notes, the next
    // one, an action plan, a quick note), sealed with this configuration's keys.
    guild_coaching::demo::seed_demo(conn, keys, now)
        .await
        .map_err(|e| failed(&e))?;
    // Single sign-on set up but off (an admin points it at a real provider and turns it on).
    guild_tenancy::sso::seed_demo(conn, keys, now)
        .await
        .map_err(|e| failed(&e))?;
    // Five weeks of use: sessions, sections, quiz attempts, completions, certificates, XP.
    crate::demo::seed_history(conn, now)
        .await
        .map_err(|e| failed(&e))?;
    let mut text = String::from(
        "Created the demo tenant \"demo\". Sign in at POST /v1/auth/login (try it from /docs) with:\n",
    );
    for (email, role, _) in guild_tenancy::demo::DEMO_ACCOUNTS {
        text.push_str(&format!("  {:<9} {email}\n", role.as_str()));
    }
    text.push_str(&format!(
        "  password  {} (every demo account)\nThen send the access_token as `Authorization: Bearer …` (the Authorize button in /docs).",
        guild_tenancy::demo::DEMO_PASSWORD
    ));
    Ok(Some(text))
}

/// `guild rekey`: re-seals every secret kept at rest (coaching's private notes and quick notes,
/// webhook signing secrets, single sign-on client secrets) under the first key of `GUILD_ENCRYPTION_KEYS`, so the keys after it
/// can be dropped once it has run; returns what it moved.
pub async fn rekey(config: &Config) -> Result<String, ServerError> {
    let keys = config.encryption_keys.clone().ok_or_else(|| {
        ServerError::Config(ConfigError(vec![
            "rekey: GUILD_ENCRYPTION_KEYS must be set (the new key first, the old ones after it)"
                .into(),
        ]))
    })?;
    let pool = pool(config)?;
    let mut conn = guild_db::connect(&pool).await?;
    rekey_with(&mut conn, &keys).await
}

/// [`rekey`] on a connection (outside any tenant: the connecting role, which owns the tables).
pub async fn rekey_with(
    conn: &mut diesel_async::AsyncPgConnection,
    keys: &guild_kernel::sealed::Keyring,
) -> Result<String, ServerError> {
    let failed =
        |e: &dyn std::fmt::Display| ServerError::Config(ConfigError(vec![format!("rekey: {e}")]));
    let coaching = guild_coaching::rekey::rekey(conn, keys)
        .await
        .map_err(|e| failed(&e))?;
    let webhooks = guild_webhooks::endpoints::rekey(conn, keys)
        .await
        .map_err(|e| failed(&e))?;
    let sso = guild_tenancy::sso::rekey(conn, keys)
        .await
        .map_err(|e| failed(&e))?;
    Ok(format!(
        "re-sealed under key {}: {} private session notes, {} quick notes, {} webhook secrets, {} single sign-on client secrets",
        keys.sealing_key_id(),
        coaching.private_notes,
        coaching.quick_notes,
        webhooks,
        sso
    ))
}

/// What `guild seed-bench` loads.
#[derive(Debug)]
pub struct SeedBenchArgs {
    seed: u64,
    scale: f64,
}

impl SeedBenchArgs {
    /// Reads `--seed N` (default 1) and `--scale F` (default 1: the standard data set).
    pub fn parse(args: &[String]) -> Result<Self, ServerError> {
        let bad =
            |what: String| ServerError::Config(ConfigError(vec![format!("seed-bench: {what}")]));
        let mut parsed = Self {
            seed: 1,
            scale: 1.0,
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let value = it
                .next()
                .ok_or_else(|| bad(format!("{flag} needs a value")))?;
            match flag.as_str() {
                "--seed" => {
                    parsed.seed = value
                        .parse()
                        .map_err(|_| bad(format!("--seed: expected an integer, got {value:?}")))?;
                }
                "--scale" => {
                    parsed.scale = value
                        .parse::<f64>()
                        .ok()
                        .filter(|s| *s > 0.0 && *s <= 10.0)
                        .ok_or_else(|| {
                            bad(format!(
                                "--scale: expected a number in (0, 10], got {value:?}"
                            ))
                        })?;
                }
                other => return Err(bad(format!("unknown option {other:?}"))),
            }
        }
        Ok(parsed)
    }
}

/// `guild seed-bench`: loads the benchmark data set into the database (nothing if it is there).
pub async fn seed_bench(config: &Config, args: &SeedBenchArgs) -> Result<String, ServerError> {
    run_migrations(config).await?;
    let pool = pool(config)?;
    let mut conn = guild_db::connect(&pool).await?;
    let plan = guild_bench::Plan::scaled(args.seed, args.scale);
    let hash = guild_tenancy::secrets::hash_password(guild_bench::BENCH_PASSWORD)
        .await
        .map_err(|e| ServerError::Config(ConfigError(vec![format!("seed-bench: {e}")])))?;
    let outcome = guild_bench::load(&mut conn, &plan, &hash)
        .await
        .map_err(|e| ServerError::Config(ConfigError(vec![format!("seed-bench: {e}")])))?;
    Ok(match outcome {
        guild_bench::Outcome::Loaded(loaded) => guild_bench::describe(&loaded),
        guild_bench::Outcome::AlreadyLoaded => format!(
            "the tenant {:?} exists already: nothing loaded",
            guild_bench::BENCH_SLUG
        ),
    })
}

/// `guild bench-tokens`: access tokens for members `user{from}` … of the benchmark tenant, one
/// `user_id<TAB>token` line each, signed with this configuration's key.
pub async fn bench_tokens(config: &Config, from: u32, count: u32) -> Result<String, ServerError> {
    let pool = pool(config)?;
    let mut conn = guild_db::connect(&pool).await?;
    let members =
        guild_tenancy::members::of_tenant_slug(&mut conn, guild_bench::BENCH_SLUG).await?;
    let by_email: std::collections::HashMap<&str, &guild_tenancy::members::SlugMember> =
        members.iter().map(|m| (m.email.as_str(), m)).collect();
    let secret = config.jwt_secret.as_deref().ok_or_else(|| {
        ServerError::Config(ConfigError(vec![
            "bench-tokens: GUILD_JWT_SECRET must be set (to the server's)".into(),
        ]))
    })?;
    let keys = TokenKeys::new(secret.as_bytes(), "guild", config.access_ttl);
    let mut out = String::new();
    for i in from..from.saturating_add(count) {
        let email = format!("user{i}@bench.example.com");
        let member = by_email.get(email.as_str()).ok_or_else(|| {
            ServerError::Config(ConfigError(vec![format!(
                "bench-tokens: no member {email} (run guild seed-bench first)"
            )]))
        })?;
        let token = keys
            .issue(
                guild_kernel::UserId(member.user_id),
                Some(guild_kernel::TenantId(member.tenant_id)),
                0,
            )
            .map_err(|e| ServerError::Config(ConfigError(vec![format!("bench-tokens: {e:?}")])))?;
        out.push_str(&format!("{}\t{token}\n", member.user_id));
    }
    Ok(out)
}
