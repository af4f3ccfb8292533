//! Domain tests of knowledge suggestions on a real database: the demo tenant's suggestions.

use chrono::{DateTime, TimeZone, Utc};
use diesel_async::RunQueryDsl;
use guild_kernel::{PageRequest, TenantRole};
use guild_testkit::TestDb;
use uuid::Uuid;

use crate::suggestions::{self, Filter, Sort, SuggestionStatus};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 10, 9, 0, 0).unwrap()
}

#[derive(diesel::QueryableByName)]
struct N {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<N>(&mut db.conn().await)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .n
}

#[tokio::test]
async fn the_demo_tenant_gets_a_popular_an_anonymous_and_a_converted_suggestion_once() {
    let db = TestDb::new().await;
    let tenant = Uuid::now_v7();
    let mut sql = vec![format!(
        "INSERT INTO tenants (id, name, slug) VALUES ('{tenant}', 'Demo', 'demo')"
    )];
    let mut employee = None;
    for (i, role) in ["OWNER", "ADMIN", "HR", "EMPLOYEE", "VIEWER"]
        .iter()
        .enumerate()
    {
        let user = Uuid::now_v7();
        sql.push(format!(
            "INSERT INTO users (id, email, name) VALUES ('{user}', 'm{i}@demo.example.com', 'Member {i}')"
        ));
        sql.push(format!(
            "INSERT INTO memberships (tenant_id, user_id, role, status) VALUES ('{tenant}', '{user}', '{role}', 'ACTIVE')"
        ));
        if *role == "EMPLOYEE" {
            employee = Some(user);
        }
    }
    let mut conn = db.conn().await;
    for s in sql {
        diesel::sql_query(&s)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{s}: {e}"));
    }
    assert!(suggestions::seed_demo(&mut conn, now()).await.unwrap());
    assert!(
        !suggestions::seed_demo(&mut conn, now()).await.unwrap(),
        "once"
    );

    let employee = guild_testkit::actor(tenant, employee.unwrap(), TenantRole::Employee);
    let listed = suggestions::list(
        &mut conn,
        &employee,
        Filter {
            sort: Sort::New,
            status: None,
        },
        &PageRequest::default(),
        now(),
    )
    .await
    .unwrap();
    assert_eq!(listed.data.len(), 3);
    assert!(listed.data.iter().all(|s| s.mine));
    let anonymous: Vec<_> = listed.data.iter().filter(|s| s.anonymous).collect();
    assert_eq!(anonymous.len(), 1);
    assert!(anonymous[0].author.is_none());
    let popular: Vec<_> = listed
        .data
        .iter()
        .filter(|s| s.popular_at.is_some())
        .collect();
    assert_eq!(popular.len(), 1);
    assert_eq!(popular[0].vote_count, 3, "the owner, the admin and HR");
    let converted: Vec<_> = listed
        .data
        .iter()
        .filter(|s| s.status == SuggestionStatus::Converted)
        .collect();
    assert_eq!(converted.len(), 1);
    let module = converted[0].module_id.expect("a module");
    assert_eq!(
        count(
            &db,
            &format!(
                "SELECT count(*) AS n FROM modules m WHERE m.id = '{module}' AND m.status = 'DRAFT' \
                 AND (SELECT count(*) FROM sections s WHERE s.module_id = m.id) = 1"
            )
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) AS n FROM outbox_events WHERE kind = 'social.suggestion_popular'"
        )
        .await,
        1
    );
}
