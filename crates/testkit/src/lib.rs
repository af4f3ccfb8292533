//! Test support: every test gets its own PostgreSQL database.
//!
//! [`TestDb::new`] clones a database from a migrated template with `CREATE DATABASE … TEMPLATE`,
//! which takes milliseconds. The template is named after a hash of `migrations/`, so editing a
//! migration builds a new one; it is built once, under an advisory lock, by whichever test process
//! gets there first, under a temporary name that is renamed when complete (a build that died
//! half-way is never used). Each test database is dropped when its `TestDb` is.
//!
//! The server comes from `GUILD_TEST_DATABASE_URL`, else `DATABASE_URL`, else
//! `postgres://postgres@127.0.0.1:5432/postgres`; only the databases this crate names are
//! created or dropped there.
//!
//! [`TestDb::with_pgvector`] makes one on the server `GUILD_TEST_PGVECTOR_URL` names, a
//! PostgreSQL with the pgvector extension (`scripts/test.sh` starts one), for the vector search.
//!
//! [`RedisServer`] is a Redis of a test's own, for tests that stop it mid-way.

use std::path::Path;
use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use guild_db::{PgPool, PoolConfig, PooledConn, build_pool};
use sha2::{Digest, Sha256};

mod redis_server;

pub use redis_server::RedisServer;

const DEFAULT_SERVER: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const TEMPLATE_LOCK: i64 = 0x6775_696c_6454_504c; // "guildTPL"

/// The PostgreSQL server tests run against (any database on it).
pub fn server_url() -> String {
    std::env::var("GUILD_TEST_DATABASE_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .unwrap_or_else(|_| DEFAULT_SERVER.to_owned())
}

/// The PostgreSQL server with pgvector the vector search tests run against:
/// `GUILD_TEST_PGVECTOR_URL` (`scripts/test.sh` starts one and sets it).
///
/// # Panics
/// When it is not set: these tests need the extension, which the machine's server may lack.
pub fn pgvector_server_url() -> String {
    std::env::var("GUILD_TEST_PGVECTOR_URL").unwrap_or_else(|_| {
        panic!(
            "GUILD_TEST_PGVECTOR_URL is not set: run the tests with scripts/test.sh (make test), \
             which starts a PostgreSQL with pgvector, or point it at one"
        )
    })
}

/// The Redis tests run against: `REDIS_URL`, else the default local port.
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// `url` with its database name replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

/// The name of the template for the current `migrations/`.
pub fn template_name() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.path())
        .collect();
    entries.sort();
    let mut hash = Sha256::new();
    // What this build will actually apply, so a build that embedded an older set of migrations
    // never shares a template with one that embedded the new set.
    for name in guild_db::migrate::all() {
        hash.update(name.as_bytes());
    }
    for migration in entries {
        hash.update(migration.file_name().unwrap_or_default().as_encoded_bytes());
        for file in ["up.sql", "down.sql"] {
            hash.update(std::fs::read(migration.join(file)).unwrap_or_default());
        }
    }
    format!("guild_tpl_{}", &hex::encode(hash.finalize())[..16])
}

/// A fresh, migrated database for one test; dropped with it.
pub struct TestDb {
    server: String,
    name: String,
    url: String,
    pool: PgPool,
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb").field("name", &self.name).finish()
    }
}

async fn admin(server: &str) -> AsyncPgConnection {
    let url = with_database(server, "postgres");
    AsyncPgConnection::establish(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL for tests at {url}: {e}"))
}

async fn database_exists(conn: &mut AsyncPgConnection, name: &str) -> bool {
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        found: bool,
    }
    diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS found")
        .bind::<diesel::sql_types::Text, _>(name)
        .get_result::<Found>(conn)
        .await
        .map(|r| r.found)
        .unwrap_or_else(|e| panic!("cannot list databases: {e}"))
}

async fn ensure_template(conn: &mut AsyncPgConnection, server: &str, template: &str) {
    if database_exists(conn, template).await {
        return;
    }
    conn.batch_execute(&format!("SELECT pg_advisory_lock({TEMPLATE_LOCK})"))
        .await
        .unwrap_or_else(|e| panic!("cannot take the template lock: {e}"));
    if !database_exists(conn, template).await {
        let building = format!("{template}_building");
        let steps = [
            format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"),
            format!("CREATE DATABASE \"{building}\""),
        ];
        for sql in steps {
            conn.batch_execute(&sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        guild_db::migrate::run_pending(&with_database(server, &building))
            .await
            .unwrap_or_else(|e| panic!("cannot migrate the test template: {e}"));
        // The migration connection may take a moment to go away; the rename needs none open.
        let rename = format!("ALTER DATABASE \"{building}\" RENAME TO \"{template}\"");
        let mut tries = 0;
        while let Err(e) = conn.batch_execute(&rename).await {
            tries += 1;
            assert!(tries < 50, "{rename}: {e}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    conn.batch_execute(&format!("SELECT pg_advisory_unlock({TEMPLATE_LOCK})"))
        .await
        .unwrap_or_else(|e| panic!("cannot release the template lock: {e}"));
}

impl TestDb {
    /// Creates this test's database from the migrated template (building it if needed).
    pub async fn new() -> Self {
        Self::on(server_url()).await
    }

    /// [`TestDb::new`] on the PostgreSQL with pgvector ([`pgvector_server_url`]), whose
    /// migrations created `passage_embeddings`.
    pub async fn with_pgvector() -> Self {
        Self::on(pgvector_server_url()).await
    }

    async fn on(server: String) -> Self {
        let template = template_name();
        let mut conn = admin(&server).await;
        ensure_template(&mut conn, &server, &template).await;
        let name = format!("guild_test_{}", uuid::Uuid::now_v7().simple());
        let create = format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"");
        let mut tries = 0;
        // Fails only while another session is connected to the template, which is brief.
        while let Err(e) = conn.batch_execute(&create).await {
            tries += 1;
            assert!(tries < 50, "{create}: {e}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let url = with_database(&server, &name);
        let pool = build_pool(&PoolConfig {
            url: url.clone(),
            max_size: 8,
            timeout: Duration::from_secs(10),
        })
        .unwrap_or_else(|e| panic!("cannot build the test pool: {e}"));
        Self {
            server,
            name,
            url,
            pool,
        }
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A URL that connects to this database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A pool on this database.
    pub fn pool(&self) -> PgPool {
        self.pool.clone()
    }

    /// A connection from the pool.
    pub async fn conn(&self) -> PooledConn {
        guild_db::connect(&self.pool)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {}: {e}", self.name))
    }
}

impl Drop for TestDb {
    #[expect(
        clippy::print_stderr,
        reason = "a failed cleanup is worth a line in the test's output"
    )]
    fn drop(&mut self) {
        self.pool.close();
        let name = std::mem::take(&mut self.name);
        let server = std::mem::take(&mut self.server);
        // Drop runs inside the test's runtime, which cannot be blocked on: use a thread of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut conn = admin(&server).await;
                conn.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await
                    .map_err(std::io::Error::other)
            })
        })
        .join();
        if let Ok(Err(e)) | Err(e) = dropped.map_err(|_| std::io::Error::other("panicked")) {
            eprintln!("warning: could not drop a test database: {e}");
        }
    }
}

/// A member of `tenant` signed in as a person (no grants, no API key), for domain tests.
pub fn actor(
    tenant: uuid::Uuid,
    user: uuid::Uuid,
    role: guild_kernel::TenantRole,
) -> guild_kernel::Actor {
    guild_kernel::Actor {
        user_id: guild_kernel::UserId(user),
        tenant_id: guild_kernel::TenantId(tenant),
        role,
        global_role: guild_kernel::GlobalRole::Employee,
        grants: Vec::new(),
        subtree: Vec::new(),
        impersonating: false,
        api_key: None,
        request_id: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_replaced_in_urls() {
        assert_eq!(
            with_database("postgres://u:p@h:5/app?sslmode=disable", "t"),
            "postgres://u:p@h:5/t?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h:5", "t"), "postgres://h:5/t");
        assert_eq!(with_database("postgres://h/app", "t"), "postgres://h/t");
    }
}
