use std::collections::BTreeMap;

use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use guild_testkit::TestDb;

use crate::migrate;

#[tokio::test]
async fn every_migration_reverts_cleanly() {
    let db = TestDb::new().await;
    assert!(migrate::pending(db.url()).await.unwrap().is_empty());

    let reverted = migrate::revert_all(db.url()).await.unwrap();
    assert_eq!(reverted.len(), migrate::all().len());
    assert!(columns(&db).await.is_empty(), "down.sql left tables behind");

    let applied = migrate::run_pending(db.url()).await.unwrap();
    assert_eq!(applied.len(), migrate::all().len());
    assert!(!applied.is_empty());
    assert!(!columns(&db).await.is_empty());
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    udt_name: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
}

/// `table -> [(column, diesel type)]` as the database has them.
async fn columns(db: &TestDb) -> BTreeMap<String, Vec<(String, String)>> {
    let rows: Vec<Column> = diesel::sql_query(
        "SELECT table_name::text, column_name::text, udt_name::text, is_nullable::text \
         FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations' \
         ORDER BY table_name, ordinal_position",
    )
    .load(&mut db.conn().await)
    .await
    .unwrap();
    let mut tables: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for row in rows {
        let base = match row.udt_name.as_str() {
            "uuid" => "Uuid",
            "text" => "Text",
            "jsonb" => "Jsonb",
            "int4" => "Int4",
            "int8" => "Int8",
            "bool" => "Bool",
            "timestamptz" => "Timestamptz",
            "date" => "Date",
            "bytea" => "Bytea",
            "_text" => "Array<Text>",
            "_uuid" => "Array<Uuid>",
            "float8" => "Float8",
            "tsvector" => "Tsvector",
            "numeric" => "Numeric",
            other => panic!("add a mapping for {other} to this test"),
        };
        let ty = if row.is_nullable == "YES" {
            format!("Nullable<{base}>")
        } else {
            base.to_owned()
        };
        tables
            .entry(row.table_name)
            .or_default()
            .push((row.column_name, ty));
    }
    tables
}

/// `table -> [(column, diesel type)]` as `schema.rs` declares them.
fn declared() -> BTreeMap<String, Vec<(String, String)>> {
    let source = include_str!("../schema.rs");
    let mut tables: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut current = None;
    for line in source.lines().map(str::trim) {
        if let Some(rest) = line.strip_suffix('{') {
            let name = rest.split_whitespace().next().unwrap_or_default();
            if !name.is_empty() && name != "diesel::table!" {
                current = Some(name.to_owned());
            }
        } else if line == "}" {
            current = None;
        } else if let (Some(table), Some((column, ty))) = (&current, line.split_once("->")) {
            tables.entry(table.clone()).or_default().push((
                column.trim().trim_start_matches("r#").to_owned(),
                ty.trim().trim_end_matches(',').to_owned(),
            ));
        }
    }
    tables
}

#[tokio::test]
async fn schema_rs_matches_the_migrations() {
    let db = TestDb::new().await;
    assert_eq!(
        declared(),
        columns(&db).await,
        "crates/db/src/schema.rs differs from migrations/: update it (see migrations/README.md)"
    );
}

#[derive(QueryableByName)]
struct TenantTable {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    rls: bool,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    forced: bool,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    policies: i64,
}

#[tokio::test]
async fn every_tenant_owned_table_has_row_level_security() {
    let db = TestDb::new().await;
    let tables: Vec<TenantTable> = diesel::sql_query(
        "SELECT c.relname::text AS name, c.relrowsecurity AS rls, c.relforcerowsecurity AS forced, \
             (SELECT count(*) FROM pg_policies p \
              WHERE p.schemaname = 'public' AND p.tablename = c.relname) AS policies \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') \
           AND EXISTS (SELECT 1 FROM information_schema.columns col \
                       WHERE col.table_schema = 'public' AND col.table_name = c.relname \
                         AND col.column_name = 'tenant_id') \
         ORDER BY 1",
    )
    .load(&mut db.conn().await)
    .await
    .unwrap();

    assert!(
        tables.iter().any(|t| t.name == "outbox_events") && tables.iter().any(|t| t.name == "jobs"),
        "the outbox and the jobs carry a tenant too"
    );
    for table in &tables {
        assert!(
            table.rls && table.forced && table.policies > 0,
            "{} has a tenant_id but no forced row-level security policy",
            table.name
        );
    }
}

#[derive(QueryableByName)]
struct Allowed {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    allowed: bool,
}

#[tokio::test]
async fn the_application_role_reads_no_sign_in_secret_and_gets_no_future_table() {
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    let check = async |conn: &mut diesel_async::AsyncPgConnection, sql: &str| -> bool {
        diesel::sql_query(sql)
            .get_result::<Allowed>(conn)
            .await
            .unwrap()
            .allowed
    };
    for (sql, expected) in [
        (
            "SELECT has_column_privilege('guild_app', 'users', 'password_hash', 'SELECT') AS allowed",
            false,
        ),
        (
            "SELECT has_column_privilege('guild_app', 'users', 'password_hash', 'INSERT') AS allowed",
            true,
        ),
        (
            "SELECT has_column_privilege('guild_app', 'users', 'email', 'SELECT') AS allowed",
            true,
        ),
        (
            "SELECT has_table_privilege('guild_app', 'refresh_tokens', 'SELECT') AS allowed",
            false,
        ),
        (
            "SELECT has_table_privilege('guild_app', 'email_tokens', 'SELECT') AS allowed",
            false,
        ),
        (
            "SELECT has_column_privilege('guild_app', 'dev_mailbox', 'text_body', 'SELECT') AS allowed",
            false,
        ),
        (
            "SELECT has_table_privilege('guild_app', 'memberships', 'SELECT') AS allowed",
            true,
        ),
    ] {
        assert_eq!(check(&mut conn, sql).await, expected, "{sql}");
    }
    diesel::sql_query("CREATE TABLE later_table (id int)")
        .execute(&mut conn)
        .await
        .unwrap();
    assert!(
        !check(
            &mut conn,
            "SELECT has_table_privilege('guild_app', 'later_table', 'SELECT') AS allowed"
        )
        .await,
        "a table created later is not granted to guild_app by default"
    );
}
