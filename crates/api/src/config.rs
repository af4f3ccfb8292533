//! Configuration, read once from environment variables at start-up.
//!
//! Every variable is validated before anything starts; all problems are reported together, each
//! naming the variable, what it expects and what it got. The table in the README lists them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

/// Where Guild runs; decides a few defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// A developer's machine: migrations run at start.
    Development,
    /// Anything users depend on.
    Production,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `GUILD_ENV`.
    pub env: Environment,
    /// `GUILD_HTTP_ADDR`.
    pub http_addr: SocketAddr,
    /// `GUILD_HTTP_WORKERS`.
    pub http_workers: usize,
    /// `GUILD_HTTP_KEEP_ALIVE_SECS`: how long an idle client connection stays open (75 s, longer
    /// than the 60 s idle timeout of common load balancers, so they close first).
    pub http_keep_alive: Duration,
    /// `GUILD_ACCESS_FLUSH_MS`: how often members' module views are written, in one batch per
    /// tenant (1000; 0 writes each view in its request). See `crate::access_log`.
    pub access_flush: Duration,
    /// `GUILD_DASHBOARD_FRESH_SECS`: how long a computed manager dashboard is shared by the
    /// requests asking for the same members and filter (30; 0 computes each request). See
    /// `crate::shared_views`.
    pub dashboard_fresh: Duration,
    /// `GUILD_BENCH_BARE_ADDR`: where `serve` also answers every request with a fixed body from
    /// a bare handler (no middleware, no database), the benchmark's baseline. Unset: not served.
    pub bench_bare_addr: Option<SocketAddr>,
    /// `DATABASE_URL`: required by the commands that touch the database.
    pub database_url: Option<String>,
    /// `GUILD_DB_POOL_SIZE`.
    pub db_pool_size: usize,
    /// `GUILD_DB_TIMEOUT_MS`.
    pub db_timeout: Duration,
    /// `REDIS_URL`: optional; without it, in-process defaults are used.
    pub redis_url: Option<String>,
    /// `GUILD_MIGRATE_ON_START`.
    pub migrate_on_start: bool,
    /// `GUILD_RUN_WORKER`: run the outbox/job worker inside `guild serve`.
    pub run_worker: bool,
    /// `GUILD_WORKER_POLL_MS`.
    pub worker_poll: Duration,
    /// `GUILD_CORS_ORIGINS`: allowed browser origins; `*` for any.
    pub cors_origins: Vec<String>,
    /// `GUILD_JSON_LIMIT_BYTES`: the largest JSON body accepted.
    pub json_limit: usize,
    /// `GUILD_SHUTDOWN_TIMEOUT_SECS`: how long in-flight requests get to finish on SIGTERM.
    pub shutdown_timeout: Duration,
    /// `GUILD_LOG`: a tracing filter such as `info` or `guild_api=debug,info`.
    pub log_filter: String,
    /// `GUILD_LOG_FORMAT`: `json` or `text`.
    pub log_json: bool,
    /// `GUILD_JWT_SECRET`: signs access tokens; required in production (32+ bytes). Without it a
    /// random key is made at start, so tokens die with the process.
    pub jwt_secret: Option<String>,
    /// `GUILD_ACCESS_TOKEN_TTL_SECS`.
    pub access_ttl: Duration,
    /// `GUILD_ACTOR_CACHE_SECS`: how long a validated membership is trusted (0 to 30).
    pub actor_cache: Duration,
    /// `GUILD_SMTP_URL`: without it, emails are recorded (log and `dev_mailbox`), not sent.
    pub smtp_url: Option<String>,
    /// `GUILD_MAIL_FROM`.
    pub mail_from: String,
    /// `GUILD_PUBLIC_URL`: the web app's base URL, for links in emails.
    pub public_url: String,
    /// `GUILD_UNSUBSCRIBE_SECRET`: signs the one-click unsubscribe links of notification emails;
    /// required in production (32+ bytes). Without it a random key is made at start, so links
    /// in emails sent before a restart stop working.
    pub unsubscribe_secret: Option<String>,
    /// `GUILD_INBOUND_MAIL_SECRET`: authenticates the mail service that posts replies to
    /// `POST /v1/inbound/email` (32+ bytes). Without it that operation answers 503
    /// `inbound_mail_not_configured` and no email carries a reply address.
    pub inbound_mail_secret: Option<String>,
    /// `GUILD_MAIL_REPLY_DOMAIN`: the domain of reply addresses (`reply+…@<domain>`), whose mail
    /// the mail service forwards to `POST /v1/inbound/email`; default the domain of
    /// `GUILD_MAIL_FROM`.
    pub mail_reply_domain: Option<String>,
    /// `GUILD_ENCRYPTION_KEYS`: the keys that seal secrets at rest (webhook signing secrets),
    /// `kid1:base64key,kid2:base64key` (32 bytes each); the first seals, all open, so a new key
    /// goes first and the old ones stay until nothing sealed with them is left. Required in
    /// production; elsewhere a fixed development key is used without it, which protects nothing.
    pub encryption_keys: Option<guild_kernel::sealed::Keyring>,
    /// `GUILD_EVENT_LINK_SECRET`: signs the attendance links of live events emailed to their
    /// registrants; required in production (32+ bytes). Without it a random key is made at
    /// start, so links sent before a restart stop working.
    pub event_link_secret: Option<String>,
    /// `GUILD_API_URL`: the API's public base URL (default `http://localhost:<port>`), for links
    /// the API hands out (certificate verification, local-storage URLs).
    pub api_url: String,
    /// Where uploaded media goes.
    pub blobs: BlobConfig,
    /// `GUILD_DAILY_INVITES`: invitation emails a tenant may send per UTC day, by plan
    /// (`FREE=20,STARTER=500,PRO=5000`; plans left out keep their default).
    pub invite_caps: guild_tenancy::quota::InviteCaps,
    /// `GUILD_ASSIGNMENT_FILE_QUOTA_BYTES`: bytes of assignment files a member may keep per
    /// tenant (files never submitted are removed after a day).
    pub assignment_file_quota: u64,
    /// `GUILD_STREAM_RETENTION_HOURS`: how long a member's stream events are kept for clients
    /// that reconnect with `Last-Event-ID` (1 to 720 hours, default 24).
    pub stream_retention: Duration,
    /// `GUILD_STREAMS_PER_MEMBER`: event streams one member may hold open at once, across
    /// instances with Redis (1 to 100, default 5).
    pub streams_per_member: u32,
    /// `GUILD_STREAM_TICKETS_PER_MIN`: stream tickets one member may get per minute (1 to
    /// 1000000, default 30).
    pub stream_tickets_per_min: u32,
    /// `GUILD_CHAT_MESSAGES_PER_10S`: chat messages one member may send in 10 seconds (1 to
    /// 1000000, default 20).
    pub chat_messages_per_10s: u32,
    /// `GUILD_LINK_PREVIEWS`: fetch a title, description and image for the links of new feed
    /// posts, through the SSRF guard (default on; off leaves posts without previews).
    pub link_previews: bool,
    /// `GUILD_PRESENCE_TTL_SECS`: how long a member stays online after their last heartbeat or
    /// their stream's last refresh (10 to 3600 seconds, default 90).
    pub presence_ttl: Duration,
    /// `GUILD_METRICS_ADDR`: serve `/metrics` on this address only (not on the public port).
    pub metrics_addr: Option<SocketAddr>,
    /// `GUILD_TRUSTED_PROXIES`: comma-separated CIDRs whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `GUILD_TENANT_REQUESTS_PER_MIN`: authenticated requests per tenant and minute (0: no limit).
    pub tenant_requests_per_min: u32,
    /// `GUILD_API_KEY_REQUESTS_PER_MIN`: requests per API key and minute (0: no limit).
    pub api_key_requests_per_min: u32,
    /// The AI provider: `GUILD_AI_BASE_URL` (default `https://api.openai.com/v1`),
    /// `GUILD_AI_API_KEY`, and one model per capability (`GUILD_AI_CHAT_MODEL`,
    /// `GUILD_AI_EMBEDDING_MODEL`, `GUILD_AI_TRANSCRIPTION_MODEL`, `GUILD_AI_IMAGE_MODEL`);
    /// `GUILD_AI_TIMEOUT_SECS` per attempt (60). `None` when no model is set: AI features answer
    /// 503 `ai_not_configured`, and what works without a model (answers by retrieval) still does.
    pub ai: Option<guild_integrations::ai::AiConfig>,
}

/// Reads the `GUILD_AI_*` variables: `None` without any model.
fn ai_config(r: &mut Reader<'_>) -> Option<guild_integrations::ai::AiConfig> {
    let base_url = r
        .url("GUILD_AI_BASE_URL", &["http", "https"])
        .unwrap_or_else(|| "https://api.openai.com/v1".to_owned());
    let timeout = Duration::from_secs(r.number("GUILD_AI_TIMEOUT_SECS", 60, 1, 600));
    let mut config = guild_integrations::ai::AiConfig::new(base_url);
    config.api_key = r.raw("GUILD_AI_API_KEY").map(str::to_owned);
    config.chat_model = r.raw("GUILD_AI_CHAT_MODEL").map(str::to_owned);
    config.embedding_model = r.raw("GUILD_AI_EMBEDDING_MODEL").map(str::to_owned);
    config.transcription_model = r.raw("GUILD_AI_TRANSCRIPTION_MODEL").map(str::to_owned);
    config.image_model = r.raw("GUILD_AI_IMAGE_MODEL").map(str::to_owned);
    config.timeout = timeout;
    let any = config.chat_model.is_some()
        || config.embedding_model.is_some()
        || config.transcription_model.is_some()
        || config.image_model.is_some();
    any.then_some(config)
}

/// Whether `value` is a domain name: dot-separated labels of ASCII letters, digits and `-`.
fn is_domain(value: &str) -> bool {
    value.len() <= 253
        && value.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// The domain of a sender address (`Guild <no-reply@guild.example.com>` →
/// `guild.example.com`); `guild.local` when it has none.
pub fn mail_domain(from: &str) -> String {
    from.trim()
        .trim_end_matches('>')
        .rsplit_once('@')
        .map(|(_, domain)| domain.trim().to_ascii_lowercase())
        .filter(|d| is_domain(d))
        .unwrap_or_else(|| "guild.local".to_owned())
}

/// The default of `GUILD_ASSIGNMENT_FILE_QUOTA_BYTES`: 500 MiB per member and tenant.
pub const DEFAULT_ASSIGNMENT_FILE_QUOTA: u64 = 500 * 1024 * 1024;

/// Parses `FREE=20,STARTER=500,PRO=5000` over the defaults.
fn invite_caps(value: &str) -> Option<guild_tenancy::quota::InviteCaps> {
    let mut caps = guild_tenancy::quota::InviteCaps::default();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (plan, cap) = part.split_once('=')?;
        let cap: u32 = cap.trim().parse().ok().filter(|c| *c <= 1_000_000)?;
        match plan.trim().to_ascii_uppercase().as_str() {
            "FREE" => caps.free = cap,
            "STARTER" => caps.starter = cap,
            "PRO" => caps.pro = cap,
            _ => return None,
        }
    }
    Some(caps)
}

/// Media storage: a local directory (the default) or an S3-compatible bucket.
#[derive(Debug, Clone)]
pub enum BlobConfig {
    /// `GUILD_BLOB_DIR` (default `.data/blobs`), signed URLs under `GUILD_API_URL` (default
    /// `http://localhost:<port>`) with `GUILD_BLOB_SIGNING_KEY` (32+ bytes; random when unset,
    /// so URLs die with the process; required in production).
    Local {
        /// The directory.
        dir: std::path::PathBuf,
        /// The API's public base URL.
        api_url: String,
        /// The URL signing key.
        signing_key: Option<String>,
    },
    /// `GUILD_S3_BUCKET` set: `GUILD_S3_ENDPOINT` (optional), `GUILD_S3_REGION` (default
    /// us-east-1), `GUILD_S3_ACCESS_KEY_ID`, `GUILD_S3_SECRET_ACCESS_KEY`, `GUILD_S3_PATH_STYLE`.
    S3(guild_integrations::storage::S3Config),
}

/// Everything wrong with the environment, one line per variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration:\n  {}", .0.join("\n  "))]
pub struct ConfigError(pub Vec<String>);

struct Reader<'a> {
    vars: &'a HashMap<String, String>,
    errors: Vec<String>,
}

impl Reader<'_> {
    fn raw(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn parse<T>(
        &mut self,
        name: &str,
        default: T,
        expected: &str,
        ok: impl Fn(&str) -> Option<T>,
    ) -> T {
        match self.raw(name).map(str::to_owned) {
            None => default,
            Some(value) => ok(&value).unwrap_or_else(|| {
                self.errors
                    .push(format!("{name}: expected {expected}, got {value:?}"));
                default
            }),
        }
    }

    fn number(&mut self, name: &str, default: u64, min: u64, max: u64) -> u64 {
        let expected = format!("an integer from {min} to {max}");
        self.parse(name, default, &expected, |v| {
            v.parse::<u64>().ok().filter(|n| (min..=max).contains(n))
        })
    }

    fn flag(&mut self, name: &str, default: bool) -> bool {
        self.parse(name, default, "true or false", |v| {
            match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Some(true),
                "false" | "0" | "no" | "off" => Some(false),
                _ => None,
            }
        })
    }

    fn url(&mut self, name: &str, schemes: &[&str]) -> Option<String> {
        let value = self.raw(name)?.to_owned();
        let scheme_ok = value
            .split_once("://")
            .is_some_and(|(scheme, rest)| schemes.contains(&scheme) && !rest.is_empty());
        if scheme_ok {
            Some(value)
        } else {
            let expected = schemes
                .iter()
                .map(|s| format!("{s}://…"))
                .collect::<Vec<_>>();
            // Never echo a URL back: it may carry a password.
            self.errors.push(format!(
                "{name}: expected a URL starting with {}",
                expected.join(" or ")
            ));
            None
        }
    }
}

fn blob_config(r: &mut Reader<'_>, env: Environment, api_url: &str) -> BlobConfig {
    if let Some(bucket) = r.raw("GUILD_S3_BUCKET").map(str::to_owned) {
        let endpoint = r.url("GUILD_S3_ENDPOINT", &["http", "https"]);
        let region = r.raw("GUILD_S3_REGION").unwrap_or("us-east-1").to_owned();
        let mut required = |name: &str| {
            r.raw(name).map(str::to_owned).unwrap_or_else(|| {
                r.errors
                    .push(format!("{name}: required when GUILD_S3_BUCKET is set"));
                String::new()
            })
        };
        let access_key_id = required("GUILD_S3_ACCESS_KEY_ID");
        let secret_access_key = required("GUILD_S3_SECRET_ACCESS_KEY");
        let path_style = r.flag("GUILD_S3_PATH_STYLE", endpoint.is_some());
        return BlobConfig::S3(guild_integrations::storage::S3Config {
            endpoint,
            region,
            bucket,
            access_key_id,
            secret_access_key,
            path_style,
        });
    }
    let dir = std::path::PathBuf::from(r.raw("GUILD_BLOB_DIR").unwrap_or(".data/blobs"));
    let api_url = api_url.to_owned();
    let signing_key = r.raw("GUILD_BLOB_SIGNING_KEY").map(str::to_owned);
    match &signing_key {
        Some(key) if key.len() < 32 => r
            .errors
            .push("GUILD_BLOB_SIGNING_KEY: expected at least 32 bytes".into()),
        None if env == Environment::Production => r.errors.push(
            "GUILD_BLOB_SIGNING_KEY: required in production with local storage (or set GUILD_S3_BUCKET)"
                .into(),
        ),
        _ => {}
    }
    BlobConfig::Local {
        dir,
        api_url,
        signing_key,
    }
}

fn origin_ok(origin: &str) -> bool {
    let Some((scheme, host)) = origin.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !host.is_empty()
        && !host.contains('/')
        && !host.contains(char::is_whitespace)
}

impl Config {
    /// Whether sent mail is copied into the `dev_mailbox` table: only in development without an
    /// SMTP server. Mail bodies carry single-use links, so production never keeps one.
    pub fn records_mail(&self) -> bool {
        self.env == Environment::Development && self.smtp_url.is_none()
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&std::env::vars().collect())
    }

    /// Reads the given variables (for tests).
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut r = Reader {
            vars,
            errors: Vec::new(),
        };
        let env = r.parse(
            "GUILD_ENV",
            Environment::Development,
            "development or production",
            |v| match v.to_ascii_lowercase().as_str() {
                "development" | "dev" => Some(Environment::Development),
                "production" | "prod" => Some(Environment::Production),
                _ => None,
            },
        );
        let default_addr = SocketAddr::from(([0, 0, 0, 0], 8080));
        let http_addr = r.parse(
            "GUILD_HTTP_ADDR",
            default_addr,
            "host:port such as 0.0.0.0:8080",
            |v| v.parse().ok(),
        );
        let cpus = std::thread::available_parallelism().map_or(2, usize::from) as u64;
        let http_workers = r.number("GUILD_HTTP_WORKERS", cpus, 1, 256) as usize;
        let http_keep_alive =
            Duration::from_secs(r.number("GUILD_HTTP_KEEP_ALIVE_SECS", 75, 1, 3600));
        let access_flush =
            Duration::from_millis(r.number("GUILD_ACCESS_FLUSH_MS", 1000, 0, 60_000));
        let dashboard_fresh =
            Duration::from_secs(r.number("GUILD_DASHBOARD_FRESH_SECS", 30, 0, 3600));
        let bench_bare_addr = r.parse(
            "GUILD_BENCH_BARE_ADDR",
            None,
            "host:port such as 127.0.0.1:8081",
            |v| v.parse().ok().map(Some),
        );
        let database_url = r.url("DATABASE_URL", &["postgres", "postgresql"]);
        let db_pool_size = r.number("GUILD_DB_POOL_SIZE", 16, 1, 1000) as usize;
        let db_timeout = Duration::from_millis(r.number("GUILD_DB_TIMEOUT_MS", 5000, 100, 600_000));
        let redis_url = r.url("REDIS_URL", &["redis", "rediss"]);
        let migrate_on_start = r.flag("GUILD_MIGRATE_ON_START", env == Environment::Development);
        let run_worker = r.flag("GUILD_RUN_WORKER", true);
        let link_previews = r.flag("GUILD_LINK_PREVIEWS", true);
        let worker_poll = Duration::from_millis(r.number("GUILD_WORKER_POLL_MS", 500, 10, 60_000));
        let cors_origins = match r.raw("GUILD_CORS_ORIGINS") {
            None => Vec::new(),
            Some(list) => {
                let origins: Vec<String> = list
                    .split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_owned())
                    .filter(|o| !o.is_empty())
                    .collect();
                for bad in origins.iter().filter(|o| *o != "*" && !origin_ok(o)) {
                    r.errors.push(format!(
                        "GUILD_CORS_ORIGINS: expected comma-separated origins such as https://app.example.com, or *, got {bad:?}"
                    ));
                }
                origins
            }
        };
        let json_limit = r.number("GUILD_JSON_LIMIT_BYTES", 1 << 20, 1024, 64 << 20) as usize;
        let shutdown_timeout =
            Duration::from_secs(r.number("GUILD_SHUTDOWN_TIMEOUT_SECS", 30, 0, 3600));
        let log_filter = r.raw("GUILD_LOG").unwrap_or("info").to_owned();
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&log_filter) {
            r.errors.push(format!(
                "GUILD_LOG: expected a filter such as info or guild_api=debug,info ({e})"
            ));
        }
        let log_json = r.parse("GUILD_LOG_FORMAT", true, "json or text", |v| match v {
            "json" => Some(true),
            "text" => Some(false),
            _ => None,
        });

        let jwt_secret = r.raw("GUILD_JWT_SECRET").map(str::to_owned);
        match &jwt_secret {
            Some(secret) if secret.len() < 32 => r.errors.push(
                "GUILD_JWT_SECRET: expected at least 32 bytes (e.g. `openssl rand -hex 32`)".into(),
            ),
            None if env == Environment::Production => r
                .errors
                .push("GUILD_JWT_SECRET: required in production (at least 32 bytes)".into()),
            _ => {}
        }
        let unsubscribe_secret = r.raw("GUILD_UNSUBSCRIBE_SECRET").map(str::to_owned);
        match &unsubscribe_secret {
            Some(secret) if secret.len() < 32 => r.errors.push(
                "GUILD_UNSUBSCRIBE_SECRET: expected at least 32 bytes (e.g. `openssl rand -hex 32`)"
                    .into(),
            ),
            None if env == Environment::Production => r.errors.push(
                "GUILD_UNSUBSCRIBE_SECRET: required in production (at least 32 bytes)".into(),
            ),
            _ => {}
        }
        let inbound_mail_secret = r.raw("GUILD_INBOUND_MAIL_SECRET").map(str::to_owned);
        if inbound_mail_secret.as_ref().is_some_and(|s| s.len() < 32) {
            r.errors.push(
                "GUILD_INBOUND_MAIL_SECRET: expected at least 32 bytes (e.g. `openssl rand -hex 32`)"
                    .into(),
            );
        }
        let mail_reply_domain = r.raw("GUILD_MAIL_REPLY_DOMAIN").map(str::to_owned);
        if mail_reply_domain.as_deref().is_some_and(|d| !is_domain(d)) {
            r.errors.push(
                "GUILD_MAIL_REPLY_DOMAIN: expected a domain name such as reply.guild.example.com"
                    .into(),
            );
        }
        let encryption_keys = match r.raw("GUILD_ENCRYPTION_KEYS") {
            Some(spec) => match guild_kernel::sealed::Keyring::parse(spec) {
                Ok(keys) => Some(keys),
                Err(e) => {
                    r.errors.push(format!(
                        "GUILD_ENCRYPTION_KEYS: {e} (expected kid1:base64key,kid2:base64key with 32-byte keys, e.g. `k1:$(openssl rand -base64 32)`)"
                    ));
                    None
                }
            },
            // Sealed secrets (coaches' notes, single sign-on client secrets, webhook secrets)
            // under the public development key would protect nothing.
            None if env == Environment::Production => {
                r.errors.push(
                    "GUILD_ENCRYPTION_KEYS: required in production (e.g. `k1:$(openssl rand -base64 32)`)"
                        .into(),
                );
                None
            }
            None => None,
        };
        let event_link_secret = r.raw("GUILD_EVENT_LINK_SECRET").map(str::to_owned);
        match &event_link_secret {
            Some(secret) if secret.len() < 32 => r.errors.push(
                "GUILD_EVENT_LINK_SECRET: expected at least 32 bytes (e.g. `openssl rand -hex 32`)"
                    .into(),
            ),
            None if env == Environment::Production => r
                .errors
                .push("GUILD_EVENT_LINK_SECRET: required in production (at least 32 bytes)".into()),
            _ => {}
        }
        let access_ttl =
            Duration::from_secs(r.number("GUILD_ACCESS_TOKEN_TTL_SECS", 900, 60, 86_400));
        let actor_cache = Duration::from_secs(r.number("GUILD_ACTOR_CACHE_SECS", 30, 0, 30));
        let smtp_url = r.url("GUILD_SMTP_URL", &["smtp", "smtps"]);
        let mail_from = r
            .raw("GUILD_MAIL_FROM")
            .unwrap_or("Guild <no-reply@guild.local>")
            .to_owned();
        let public_url = r
            .url("GUILD_PUBLIC_URL", &["http", "https"])
            .unwrap_or_else(|| format!("http://localhost:{}", http_addr.port()));

        let api_url = r
            .url("GUILD_API_URL", &["http", "https"])
            .map(|u| u.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| format!("http://localhost:{}", http_addr.port()));
        let blobs = blob_config(&mut r, env, &api_url);
        let metrics_addr = r.parse(
            "GUILD_METRICS_ADDR",
            None,
            "host:port such as 127.0.0.1:9090",
            |v| v.parse().ok().map(Some),
        );
        let trusted_proxies = r.parse(
            "GUILD_TRUSTED_PROXIES",
            Vec::new(),
            "comma-separated CIDRs or addresses such as 10.0.0.0/8,192.168.1.10",
            crate::client::parse_proxies,
        );
        let tenant_requests_per_min =
            r.number("GUILD_TENANT_REQUESTS_PER_MIN", 60_000, 0, 1_000_000_000) as u32;
        let api_key_requests_per_min =
            r.number("GUILD_API_KEY_REQUESTS_PER_MIN", 600, 0, 1_000_000_000) as u32;
        let stream_retention =
            Duration::from_secs(3600 * r.number("GUILD_STREAM_RETENTION_HOURS", 24, 1, 720));
        let streams_per_member = r.number("GUILD_STREAMS_PER_MEMBER", 5, 1, 100) as u32;
        let stream_tickets_per_min =
            r.number("GUILD_STREAM_TICKETS_PER_MIN", 30, 1, 1_000_000) as u32;
        let chat_messages_per_10s =
            r.number("GUILD_CHAT_MESSAGES_PER_10S", 20, 1, 1_000_000) as u32;
        let presence_ttl = Duration::from_secs(r.number("GUILD_PRESENCE_TTL_SECS", 90, 10, 3600));
        let assignment_file_quota = r.number(
            "GUILD_ASSIGNMENT_FILE_QUOTA_BYTES",
            DEFAULT_ASSIGNMENT_FILE_QUOTA,
            0,
            1 << 50,
        );
        let invite_caps = r.parse(
            "GUILD_DAILY_INVITES",
            guild_tenancy::quota::InviteCaps::default(),
            "PLAN=COUNT pairs such as FREE=20,STARTER=500,PRO=5000",
            invite_caps,
        );
        let ai = ai_config(&mut r);

        if !r.errors.is_empty() {
            return Err(ConfigError(r.errors));
        }
        Ok(Self {
            env,
            http_addr,
            http_workers,
            http_keep_alive,
            access_flush,
            dashboard_fresh,
            bench_bare_addr,
            database_url,
            db_pool_size,
            db_timeout,
            redis_url,
            migrate_on_start,
            run_worker,
            worker_poll,
            cors_origins,
            json_limit,
            shutdown_timeout,
            log_filter,
            log_json,
            jwt_secret,
            access_ttl,
            actor_cache,
            smtp_url,
            mail_from,
            public_url,
            unsubscribe_secret,
            inbound_mail_secret,
            mail_reply_domain,
            encryption_keys,
            event_link_secret,
            api_url,
            blobs,
            invite_caps,
            assignment_file_quota,
            stream_retention,
            streams_per_member,
            stream_tickets_per_min,
            chat_messages_per_10s,
            link_previews,
            presence_ttl,
            metrics_addr,
            trusted_proxies,
            tenant_requests_per_min,
            api_key_requests_per_min,
            ai,
        })
    }

    /// `DATABASE_URL`, or the error to show when a command needs it.
    pub fn require_database_url(&self) -> Result<&str, ConfigError> {
        self.database_url.as_deref().ok_or_else(|| {
            ConfigError(vec![
                "DATABASE_URL: required, e.g. postgres://guild:guild@localhost:5432/guild (`make run` starts a local database when it is unset)".into(),
            ])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_need_nothing() {
        let config = Config::from_vars(&HashMap::new()).unwrap();
        assert_eq!(config.env, Environment::Development);
        assert_eq!(config.http_addr.port(), 8080);
        assert!(config.migrate_on_start && config.run_worker);
        assert!(config.database_url.is_none() && config.redis_url.is_none());
        assert!(config.require_database_url().is_err());
        assert!(config.ai.is_none());
    }

    #[test]
    fn inbound_mail_takes_a_long_secret_and_a_reply_domain() {
        let config = Config::from_vars(&vars(&[
            ("GUILD_INBOUND_MAIL_SECRET", &"s".repeat(32)),
            ("GUILD_MAIL_REPLY_DOMAIN", "reply.guild.example.com"),
        ]))
        .unwrap();
        assert_eq!(config.inbound_mail_secret.map(|s| s.len()), Some(32));
        assert_eq!(
            config.mail_reply_domain.as_deref(),
            Some("reply.guild.example.com")
        );
        let err = Config::from_vars(&vars(&[
            ("GUILD_INBOUND_MAIL_SECRET", "short"),
            ("GUILD_MAIL_REPLY_DOMAIN", "not a domain"),
        ]))
        .unwrap_err();
        assert_eq!(err.0.len(), 2, "{err}");
        assert_eq!(
            mail_domain("Guild <no-reply@Guild.Example.com>"),
            "guild.example.com"
        );
        assert_eq!(mail_domain("no-reply@acme.example.com"), "acme.example.com");
        assert_eq!(mail_domain("Guild"), "guild.local");
    }

    #[test]
    fn an_ai_model_configures_the_provider() {
        let config = Config::from_vars(&vars(&[
            ("GUILD_AI_BASE_URL", "http://localhost:11434/v1/"),
            ("GUILD_AI_CHAT_MODEL", "llama3.1"),
        ]))
        .unwrap();
        let ai = config.ai.expect("a provider");
        assert_eq!(ai.base_url, "http://localhost:11434/v1");
        assert_eq!(ai.chat_model.as_deref(), Some("llama3.1"));
        assert!(ai.api_key.is_none() && ai.embedding_model.is_none());
        let bad = Config::from_vars(&vars(&[("GUILD_AI_BASE_URL", "ftp://x")])).unwrap_err();
        assert!(
            bad.0.iter().any(|e| e.starts_with("GUILD_AI_BASE_URL")),
            "{bad}"
        );
    }

    #[test]
    fn production_does_not_migrate_unless_told() {
        let secret = ("GUILD_JWT_SECRET", "0123456789abcdef0123456789abcdef");
        let blob_key = ("GUILD_BLOB_SIGNING_KEY", "fedcba9876543210fedcba9876543210");
        let unsubscribe = (
            "GUILD_UNSUBSCRIBE_SECRET",
            "00112233445566778899aabbccddeeff",
        );
        let event_links = (
            "GUILD_EVENT_LINK_SECRET",
            "ffeeddccbbaa99887766554433221100",
        );
        let keys = (
            "GUILD_ENCRYPTION_KEYS",
            "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        );
        let config = Config::from_vars(&vars(&[
            ("GUILD_ENV", "production"),
            secret,
            blob_key,
            unsubscribe,
            event_links,
            keys,
        ]))
        .unwrap();
        assert!(!config.migrate_on_start);
        let config = Config::from_vars(&vars(&[
            ("GUILD_ENV", "production"),
            ("GUILD_MIGRATE_ON_START", "true"),
            secret,
            blob_key,
            unsubscribe,
            event_links,
            keys,
        ]))
        .unwrap();
        assert!(config.migrate_on_start);
        let err = Config::from_vars(&vars(&[("GUILD_ENV", "production")])).unwrap_err();
        assert!(err.0[0].starts_with("GUILD_JWT_SECRET: required in production"));
        assert!(err.0[1].starts_with("GUILD_UNSUBSCRIBE_SECRET: required in production"));
        assert!(err.0[2].starts_with("GUILD_ENCRYPTION_KEYS: required in production"));
        assert!(err.0[3].starts_with("GUILD_EVENT_LINK_SECRET: required in production"));
        assert!(err.0[4].starts_with("GUILD_BLOB_SIGNING_KEY: required in production"));
        let short = Config::from_vars(&vars(&[("GUILD_UNSUBSCRIBE_SECRET", "short")])).unwrap_err();
        assert_eq!(
            short.0,
            ["GUILD_UNSUBSCRIBE_SECRET: expected at least 32 bytes (e.g. `openssl rand -hex 32`)"]
        );
        let s3 = Config::from_vars(&vars(&[
            ("GUILD_ENV", "production"),
            secret,
            unsubscribe,
            event_links,
            keys,
            ("GUILD_S3_BUCKET", "guild-media"),
        ]))
        .unwrap_err();
        assert_eq!(
            s3.0,
            [
                "GUILD_S3_ACCESS_KEY_ID: required when GUILD_S3_BUCKET is set",
                "GUILD_S3_SECRET_ACCESS_KEY: required when GUILD_S3_BUCKET is set"
            ]
        );
    }

    #[test]
    fn every_bad_value_is_reported_by_name() {
        let err = Config::from_vars(&vars(&[
            ("GUILD_ENV", "staging"),
            ("GUILD_HTTP_ADDR", "8080"),
            ("GUILD_DB_POOL_SIZE", "0"),
            ("DATABASE_URL", "mysql://root:secret@db/guild"),
            ("REDIS_URL", "localhost:6379"),
            ("GUILD_RUN_WORKER", "maybe"),
            ("GUILD_CORS_ORIGINS", "https://ok.example.com, ftp://bad"),
            ("GUILD_LOG_FORMAT", "xml"),
        ]))
        .unwrap_err();
        let names: Vec<&str> = err
            .0
            .iter()
            .map(|l| l.split(':').next().unwrap_or(""))
            .collect();
        assert_eq!(
            names,
            [
                "GUILD_ENV",
                "GUILD_HTTP_ADDR",
                "DATABASE_URL",
                "GUILD_DB_POOL_SIZE",
                "REDIS_URL",
                "GUILD_RUN_WORKER",
                "GUILD_CORS_ORIGINS",
                "GUILD_LOG_FORMAT"
            ]
        );
        assert!(
            !err.to_string().contains("secret"),
            "a password was echoed: {err}"
        );
        assert!(
            err.to_string()
                .contains(r#"GUILD_DB_POOL_SIZE: expected an integer from 1 to 1000, got "0""#)
        );
    }
}
