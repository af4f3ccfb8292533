//! The guard that keeps SQL out of this crate (`docs/ARCHITECTURE.md`: `api` holds no SQL).
//!
//! Queries belong to the crate that owns the table (the domain crates, or `guild-db` for the
//! idempotency store, the outbox, jobs and the readiness check); handlers and the worker's
//! reactions call their typed functions. The crate does not even depend on `diesel`, so a
//! query-builder call would not compile; this test also reads every source file under `src/`
//! for raw SQL, diesel paths, the schema, and the calls that run a statement, and fails naming
//! each line.

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;

    /// What gives a query away: diesel paths and traits, the schema, raw SQL helpers, the calls
    /// that run a statement, and SQL statements in string literals.
    const NEEDLES: &[&str] = &[
        "diesel::",
        "RunQueryDsl",
        "QueryDsl",
        "ExpressionMethods",
        "sql_query",
        "guild_db::sql(",
        "guild_db::sql::",
        ".execute(",
        ".load(&",
        ".load(conn",
        ".load::<",
        ".get_result",
        ".first(&",
        ".first(conn",
        ".first::<",
        "\"SELECT ",
        "\"INSERT INTO",
        "\"UPDATE ",
        "\"DELETE FROM",
        "\"WITH ",
    ];

    /// `schema::` outside utoipa's `openapi::schema::` (the OpenAPI document, not the database).
    fn names_the_schema(line: &str) -> bool {
        line.match_indices("schema::")
            .any(|(at, _)| !line[..at].ends_with("openapi::"))
    }

    /// The offending lines of `text`, as `file:line: text`.
    fn findings(file: &str, text: &str) -> Vec<String> {
        text.lines()
            .enumerate()
            .filter(|(_, line)| {
                NEEDLES.iter().any(|needle| line.contains(needle)) || names_the_schema(line)
            })
            .map(|(i, line)| format!("{file}:{}: {}", i + 1, line.trim()))
            .collect()
    }

    #[test]
    fn no_file_of_the_api_crate_holds_sql() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let files = crate::sources::rust_files(&root);
        assert!(files.len() > 20, "the scan found the sources");
        let mut found = Vec::new();
        for path in files {
            // This file names what it looks for.
            if path.ends_with("no_sql.rs") {
                continue;
            }
            let text = fs::read_to_string(&path).expect("read a source file");
            let name = path
                .strip_prefix(&root)
                .unwrap_or(&path)
                .display()
                .to_string();
            found.extend(findings(&name, &text));
        }
        assert!(
            found.is_empty(),
            "SQL in crates/api (move each query into the crate that owns its table):\n{}",
            found.join("\n")
        );
    }

    #[test]
    fn the_scan_spots_a_reintroduced_query() {
        let handler = r#"
use diesel_async::RunQueryDsl;
async fn ready(conn: &mut AsyncPgConnection) {
    diesel::sql_query("SELECT 1").execute(conn).await;
}"#;
        assert_eq!(findings("ops.rs", handler).len(), 2, "{handler}");
        let builder = "let n = users::table.count().get_result::<i64>(conn).await?;\n\
                       use guild_db::schema::users;";
        assert_eq!(findings("a.rs", builder).len(), 2);
        let raw = r#"let rows = guild_db::sql("DELETE FROM dev_mailbox").execute(&mut c);"#;
        assert_eq!(findings("b.rs", raw).len(), 1);
        let clean = "use utoipa::openapi::schema::ArrayItems;\n\
                     let conn: &mut diesel_async::AsyncPgConnection = c;\n\
                     let n = counter.load(Ordering::Relaxed);";
        assert!(
            findings("c.rs", clean).is_empty(),
            "{:?}",
            findings("c.rs", clean)
        );
    }
}
