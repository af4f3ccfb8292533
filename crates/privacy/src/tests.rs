//! The sections against the migrated database: every table and column they name exists, and
//! every table with a column naming a member is either exported or left out on purpose.

use std::collections::BTreeSet;

use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use guild_testkit::TestDb;

use crate::SECTIONS;

/// Tables naming a member that the document leaves out, and why.
const LEFT_OUT: &[(&str, &str)] = &[
    ("users", "the account, exported on its own"),
    ("refresh_tokens", "secrets (token hashes)"),
    ("email_tokens", "secrets (token hashes)"),
    ("stream_tickets", "secrets, valid 30 seconds"),
    (
        "idempotency_keys",
        "stored replies to requests, kept 24 hours",
    ),
    (
        "member_stream_events",
        "the live stream's buffer of notifications already exported",
    ),
    ("member_stream_heads", "the live stream's counters"),
    ("api_keys", "the tenant's integration keys, not personal"),
    ("coaching_quick_notes", "the coach's own sealed notes"),
    ("announcements", "announcements written for the tenant"),
    ("assignments", "assignments written for learners"),
    ("chat_rooms", "rooms, whose messages are exported"),
    ("modules", "content written for the tenant"),
    ("quizzes", "content written for the tenant"),
    ("learning_paths", "content written for the tenant"),
    ("live_events", "events organised for the tenant"),
    ("webhook_endpoints", "integrations, not personal"),
];

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

#[tokio::test]
async fn every_table_naming_a_member_is_exported_or_left_out_on_purpose() {
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    let columns: Vec<Column> = diesel::sql_query(
        "SELECT table_name::text AS table_name, column_name::text AS column_name \
           FROM information_schema.columns WHERE table_schema = 'public'",
    )
    .load(&mut conn)
    .await
    .expect("the catalog");
    let has = |table: &str, column: &str| {
        columns
            .iter()
            .any(|c| c.table_name == table && c.column_name == column)
    };
    for section in SECTIONS {
        assert!(
            has(section.table, "tenant_id"),
            "{}: tenant_id",
            section.table
        );
        assert!(
            has(section.table, section.column),
            "{}.{}",
            section.table,
            section.column
        );
        for dropped in section.drop {
            assert!(has(section.table, dropped), "{}.{dropped}", section.table);
        }
    }
    let naming: BTreeSet<&str> = columns
        .iter()
        .filter(|c| {
            matches!(
                c.column_name.as_str(),
                "user_id" | "author_id" | "asker_id" | "coachee_id" | "uploaded_by" | "actor_id"
            )
        })
        .map(|c| c.table_name.as_str())
        .collect();
    let covered: BTreeSet<&str> = SECTIONS
        .iter()
        .map(|s| s.table)
        .chain(LEFT_OUT.iter().map(|(t, _)| *t))
        .collect();
    let missing: Vec<_> = naming.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "tables naming a member, neither exported nor left out on purpose: {missing:?}"
    );
    // Sections the database does not have would fail the export; names must be unique.
    let names: BTreeSet<&str> = SECTIONS.iter().map(|s| s.name).collect();
    assert_eq!(names.len(), SECTIONS.len());
}
