//! What every handler can reach: the database pool, optional adapters, metrics.

use std::sync::Arc;
use std::time::Duration;

use guild_db::PgPool;
use guild_integrations::mail::RecordingMailer;
use guild_integrations::ratelimit::MemoryRateLimiter;
use guild_integrations::redis::Redis;
use guild_integrations::storage::LocalBlobStore;
use guild_kernel::ports::{BlobStore, Mailer, Presence, PubSub, RateLimiter, RateRule};
use guild_kernel::{Clock, SystemClock};
use guild_notifications::email::MailLinks;
use guild_notifications::unsubscribe::UnsubscribeKey;
use tokio_util::sync::CancellationToken;

use crate::auth::{ActorCache, TokenKeys};
use crate::metrics::Metrics;

/// Shared, cheaply cloned application state.
#[derive(Clone)]
pub struct AppState {
    /// The PostgreSQL pool.
    pub db: PgPool,
    /// Redis, when `REDIS_URL` is set.
    pub redis: Option<Redis>,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// HTTP settings the app is built with.
    pub http: HttpSettings,
    /// Access-token keys.
    pub tokens: Arc<TokenKeys>,
    /// Recently loaded actors (at most 30 s old).
    pub actors: Arc<ActorCache>,
    /// Rate limits on sign-in and recovery (Redis with several instances, counted per instance
    /// while Redis is down).
    pub limiter: Arc<dyn RateLimiter>,
    /// The limits applied.
    pub limits: Limits,
    /// Proxies whose `X-Forwarded-For` is believed (`GUILD_TRUSTED_PROXIES`).
    pub trusted_proxies: Arc<[ipnet::IpNet]>,
    /// Invitation emails a tenant may send per day, by plan.
    pub invite_caps: guild_tenancy::quota::InviteCaps,
    /// Bytes of assignment files a member may keep per tenant.
    pub assignment_file_quota: u64,
    /// Outgoing email.
    pub mailer: Arc<dyn Mailer>,
    /// The base URL of the web app, for links in emails.
    pub public_url: String,
    /// Record every email in the `dev_mailbox` table (development without SMTP only).
    pub dev_mailbox: bool,
    /// The time (a manual clock in tests that move time).
    pub clock: Arc<dyn Clock>,
    /// The API's public base URL, for links it hands out.
    pub api_url: String,
    /// Where uploaded media is stored.
    pub blobs: Arc<dyn BlobStore>,
    /// The same store when it is the local directory one: `/blobs` then serves its signed URLs.
    pub local_blobs: Option<LocalBlobStore>,
    /// Real-time pushes between instances (in-process by default).
    pub pubsub: Arc<dyn PubSub>,
    /// How long a member's stream events are kept for reconnecting clients.
    pub stream_retention: Duration,
    /// Who is online and each member's open streams (in-process by default, Redis when set).
    pub presence: Arc<dyn Presence>,
    /// How long a member stays online after they were last seen.
    pub presence_ttl: Duration,
    /// Event streams one member may hold open at once.
    pub streams_per_member: u32,
    /// Signs the one-click unsubscribe links of notification emails.
    pub unsubscribe_key: UnsubscribeKey,
    /// The domain of the sender's address (`GUILD_MAIL_FROM`), for the `Message-ID`s of emails.
    pub mail_domain: String,
    /// Replies by email (`GUILD_INBOUND_MAIL_SECRET`): `None` until configured, and then
    /// `POST /v1/inbound/email` answers 503 and no email carries a reply address.
    pub inbound_mail: Option<InboundMail>,
    /// Signs the attendance links of live events.
    pub event_link_key: guild_live::attendance::AttendanceKey,
    /// Fetches link previews of feed posts through the SSRF guard; `None` when previews are
    /// off (`GUILD_LINK_PREVIEWS=false`, and in tests unless one sets it): posts then have none.
    pub previewer: Option<Arc<dyn guild_kernel::ports::LinkPreviewer>>,
    /// Posts webhook messages through the SSRF guard and checks endpoint URLs with it (tests
    /// set one `allowing_loopback_for_tests`).
    pub webhooks: Arc<dyn guild_kernel::ports::WebhookSender>,
    /// The AI model (`GUILD_AI_*`); [`NoModel`](guild_kernel::ports::ai::NoModel) without one:
    /// generation answers 503 `ai_not_configured`.
    pub ai: Arc<dyn guild_kernel::ports::AiModel>,
    /// Talks to tenants' OpenID providers for single sign-on, through the SSRF guard (tests set
    /// one whose fetcher may reach loopback, where they start a provider).
    pub oidc: Arc<dyn guild_kernel::ports::OpenIdClient>,
    /// Seals and opens secrets at rest (`GUILD_ENCRYPTION_KEYS`; the development key without it).
    pub keyring: Arc<guild_kernel::sealed::Keyring>,
    /// Cancelled when the instance starts shutting down: open event streams end at once, so
    /// they do not hold the server until its shutdown timeout.
    pub stopping: CancellationToken,
    /// Where members' module views are recorded: in the request (the default here), or noted
    /// and written in batches (`guild serve` with `GUILD_ACCESS_FLUSH_MS` > 0).
    pub access_log: Arc<crate::access_log::AccessLog>,
    /// Manager dashboards kept and shared for `GUILD_DASHBOARD_FRESH_SECS` (none here: each
    /// request computes its own; see `crate::shared_views`).
    pub dashboards:
        Arc<crate::shared_views::SharedViews<crate::routes::manager_dashboard::DashboardKey>>,
    /// The shared part of tenants' catalogs, each with the catalog stamp it is as of
    /// (`guild_progress::catalog`): used only while the database's stamp is the same.
    pub catalog: Arc<guild_progress::catalog::CatalogCache>,
    /// Whether the database has pgvector's `passage_embeddings` (asked once, see
    /// [`AppState::vector_search`]).
    pub vector_tables: Arc<tokio::sync::OnceCell<bool>>,
}

/// How replies to notification emails come back: the secret the mail service authenticates
/// with, and the domain of reply addresses.
#[derive(Clone)]
pub struct InboundMail {
    /// `GUILD_INBOUND_MAIL_SECRET`.
    pub secret: Vec<u8>,
    /// `GUILD_MAIL_REPLY_DOMAIN`, else the sender's domain.
    pub reply_domain: String,
}

impl std::fmt::Debug for InboundMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundMail")
            .field("reply_domain", &self.reply_domain)
            .finish_non_exhaustive()
    }
}

/// Rate limits of the unauthenticated endpoints.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Logins per client address.
    pub login_ip: RateRule,
    /// Logins per account.
    pub login_account: RateRule,
    /// Sign-ups per client address.
    pub signup: RateRule,
    /// Password-reset requests per client address and per account.
    pub reset: RateRule,
    /// Emailed-token redemptions (accept an invitation, confirm a reset, verify an address) per
    /// client address: a token is 256 random bits, the limit keeps the server from hashing
    /// passwords for anyone who sends requests.
    pub token_ip: RateRule,
    /// Verification emails asked for per account.
    pub verification: RateRule,
    /// Authenticated requests per tenant (`None` or a zero limit: unlimited).
    pub tenant: Option<RateRule>,
    /// Requests per API key (`None` or a zero limit: unlimited).
    pub api_key: Option<RateRule>,
    /// Stream tickets a member may mint (a ticket lives 30 s; a browser needs one per connect).
    pub stream_tickets: RateRule,
    /// Chat messages a member sends.
    pub chat_messages: RateRule,
}

impl Default for Limits {
    fn default() -> Self {
        let per = |limit, secs| RateRule {
            limit,
            window: Duration::from_secs(secs),
        };
        Self {
            login_ip: per(30, 60),
            login_account: per(10, 900),
            signup: per(10, 3600),
            reset: per(5, 3600),
            token_ip: per(30, 60),
            verification: per(5, 3600),
            tenant: Some(per(60_000, 60)),
            api_key: Some(per(600, 60)),
            stream_tickets: per(30, 60),
            chat_messages: per(20, 10),
        }
    }
}

/// Settings that shape the HTTP app.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Largest JSON body.
    pub json_limit: usize,
    /// Allowed CORS origins (`*` for any); empty disables CORS.
    pub cors_origins: Vec<String>,
    /// Whether `/metrics` is served on the public port (not when `GUILD_METRICS_ADDR` is set).
    pub metrics_public: bool,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            json_limit: 1 << 20,
            cors_origins: Vec::new(),
            metrics_public: true,
        }
    }
}

impl AppState {
    /// State over a pool with the in-process defaults: no Redis, random signing keys (access
    /// tokens, unsubscribe and attendance links), the in-memory rate limiter and the recording mailer.
    ///
    /// Media goes to a fresh directory under the system's temporary directory, with a random
    /// signing key and `http://localhost:8080` as the base of its URLs.
    pub fn new(db: PgPool) -> Self {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).unwrap_or_default();
        let mut blob_key = vec![0u8; 32];
        getrandom::fill(&mut blob_key).unwrap_or_default();
        let mut unsubscribe_secret = [0u8; 32];
        getrandom::fill(&mut unsubscribe_secret).unwrap_or_default();
        let mut event_link_secret = [0u8; 32];
        getrandom::fill(&mut event_link_secret).unwrap_or_default();
        let local = LocalBlobStore::new(
            std::env::temp_dir().join(format!("guild-blobs-{}", uuid::Uuid::now_v7())),
            "http://localhost:8080".to_owned(),
            blob_key,
        )
        .expect("a valid default blob store");
        Self {
            db,
            redis: None,
            metrics: Arc::new(Metrics::new()),
            http: HttpSettings::default(),
            tokens: Arc::new(TokenKeys::new(&secret, "guild", Duration::from_secs(900))),
            actors: Arc::new(ActorCache::new(Duration::from_secs(30))),
            limiter: Arc::new(MemoryRateLimiter::new()),
            limits: Limits::default(),
            mailer: Arc::new(RecordingMailer::new()),
            public_url: "http://localhost:8080".to_owned(),
            dev_mailbox: true,
            invite_caps: guild_tenancy::quota::InviteCaps::default(),
            assignment_file_quota: crate::config::DEFAULT_ASSIGNMENT_FILE_QUOTA,
            trusted_proxies: Arc::from(Vec::new()),
            api_url: "http://localhost:8080".to_owned(),
            clock: Arc::new(SystemClock),
            blobs: Arc::new(local.clone()),
            local_blobs: Some(local),
            pubsub: Arc::new(guild_integrations::pubsub::MemoryPubSub::new()),
            stream_retention: Duration::from_secs(24 * 3600),
            presence: Arc::new(guild_integrations::presence::MemoryPresence::new(
                guild_integrations::presence::DEFAULT_TTL,
            )),
            presence_ttl: guild_integrations::presence::DEFAULT_TTL,
            streams_per_member: 5,
            unsubscribe_key: UnsubscribeKey::new(&unsubscribe_secret),
            event_link_key: guild_live::attendance::AttendanceKey::new(&event_link_secret),
            mail_domain: "guild.local".to_owned(),
            inbound_mail: None,
            previewer: None,
            webhooks: Arc::new(webhook_sender(
                guild_integrations::fetch::FetchPolicy::default(),
            )),
            ai: Arc::new(guild_kernel::ports::ai::NoModel),
            oidc: Arc::new(oidc_client(
                guild_integrations::fetch::FetchPolicy::default(),
            )),
            keyring: Arc::new(guild_kernel::sealed::Keyring::development()),
            stopping: CancellationToken::new(),
            access_log: Arc::new(crate::access_log::AccessLog::immediate()),
            dashboards: Arc::new(crate::shared_views::SharedViews::new(Duration::ZERO)),
            catalog: Arc::new(guild_progress::catalog::CatalogCache::default()),
            vector_tables: Arc::new(tokio::sync::OnceCell::new()),
        }
    }

    /// Whether questions are searched by vectors too: an embedding model is configured and the
    /// database has `passage_embeddings` (pgvector; asked once per process, false while the
    /// database cannot be asked, and asked again then).
    pub async fn vector_search(&self) -> bool {
        use guild_kernel::ports::ai::AiCapability;
        if !self.ai.configured(AiCapability::Embeddings) {
            return false;
        }
        let asked = self
            .vector_tables
            .get_or_try_init(|| async {
                let mut conn = guild_db::connect(&self.db).await.map_err(|_| ())?;
                guild_ai::embeddings::available(&mut conn)
                    .await
                    .map_err(|_| ())
            })
            .await;
        asked.copied().unwrap_or(false)
    }

    /// Where notification emails link to, and their unsubscribe key.
    pub fn mail_links(&self) -> MailLinks {
        MailLinks {
            app_url: self.public_url.clone(),
            api_url: self.api_url.clone(),
            key: self.unsubscribe_key.clone(),
            mail_domain: self.mail_domain.clone(),
            reply_domain: self.inbound_mail.as_ref().map(|i| i.reply_domain.clone()),
        }
    }

    /// Uses `store` for media; a local store also gets its `/blobs` routes.
    pub fn with_local_blobs(mut self, store: LocalBlobStore) -> Self {
        self.blobs = Arc::new(store.clone());
        self.local_blobs = Some(store);
        self
    }
}

/// The SSRF-guarded sender of webhook messages: [`FetchPolicy`](guild_integrations::fetch::FetchPolicy)
/// `policy` with a 10 s limit per request.
pub fn webhook_sender(
    mut policy: guild_integrations::fetch::FetchPolicy,
) -> guild_integrations::fetch::SafeFetcher {
    policy.timeout = Duration::from_secs(10);
    // Building a client fails only when TLS cannot start at all: then nothing can be sent.
    guild_integrations::fetch::SafeFetcher::new(policy).expect("an HTTP client")
}

/// The SSRF-guarded client of OpenID providers: [`FetchPolicy`](guild_integrations::fetch::FetchPolicy)
/// `policy` with a 10 s limit per request.
pub fn oidc_client(
    policy: guild_integrations::fetch::FetchPolicy,
) -> guild_integrations::oidc::OidcHttp {
    guild_integrations::oidc::OidcHttp::new(webhook_sender(policy))
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("db", &self.db.status())
            .field("redis", &self.redis)
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}
