//! Domain tests of tenancy that need no HTTP.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use guild_db::schema::{groups, memberships};
use guild_kernel::TenantId;
use guild_testkit::TestDb;

use crate::TenancyError;
use crate::tenants::{SignUp, sign_up};

async fn tenant(db: &TestDb, slug: &str) -> TenantId {
    let mut conn = db.conn().await;
    let input = SignUp {
        tenant_name: slug.to_owned(),
        slug: slug.to_owned(),
        name: "Owner".into(),
        email: format!("owner@{slug}.example.com"),
        password: "correct horse battery".into(),
    };
    let (tenant, _) = sign_up(&mut conn, &input, None, chrono::Utc::now())
        .await
        .unwrap();
    let mut conn = db.conn().await;
    diesel::insert_into(groups::table)
        .values((
            groups::tenant_id.eq(tenant.id),
            groups::id.eq(uuid::Uuid::now_v7()),
            groups::name.eq(format!("{slug} team")),
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    TenantId(tenant.id)
}

#[tokio::test]
async fn a_query_without_a_tenant_filter_sees_only_its_own_tenant() {
    let db = TestDb::new().await;
    let (a, b) = (tenant(&db, "alpha").await, tenant(&db, "beta").await);
    let mut conn = db.conn().await;

    // Deliberately no tenant filter: row-level security alone must hide tenant B.
    let (names, members): (Vec<String>, Vec<uuid::Uuid>) =
        guild_db::tenant_transaction(&mut conn, a, async |conn| {
            let names = groups::table
                .select(groups::name)
                .load::<String>(conn)
                .await?;
            let members = memberships::table
                .select(memberships::tenant_id)
                .load(conn)
                .await?;
            Ok::<_, TenancyError>((names, members))
        })
        .await
        .unwrap();
    assert_eq!(names, ["alpha team"]);
    assert!(members.iter().all(|t| *t == a.into_uuid()), "{members:?}");

    // Nor can it write into tenant B.
    let write = guild_db::tenant_transaction(&mut conn, a, async |conn| {
        diesel::insert_into(groups::table)
            .values((
                groups::tenant_id.eq(b.into_uuid()),
                groups::id.eq(uuid::Uuid::now_v7()),
                groups::name.eq("planted"),
            ))
            .execute(conn)
            .await
            .map_err(TenancyError::from)
    })
    .await;
    assert!(write.is_err(), "wrote a row into another tenant");

    // Outside a tenant transaction (as the owner), both tenants are there.
    let all: i64 = groups::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!(all, 2);
}

#[tokio::test]
async fn the_demo_tenant_carries_an_hr_systems_ids_as_scim_would_leave_them() {
    use guild_db::schema::tenants;
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    assert!(
        crate::demo::seed(&mut conn, chrono::Utc::now())
            .await
            .unwrap()
    );
    let tenant: uuid::Uuid = tenants::table
        .filter(tenants::slug.eq("demo"))
        .select(tenants::id)
        .first(&mut conn)
        .await
        .unwrap();
    let counts = guild_db::tenant_transaction(&mut conn, TenantId(tenant), async |c| {
        let members: i64 = memberships::table
            .filter(memberships::external_id.is_not_null())
            .count()
            .get_result(c)
            .await?;
        let groups: i64 = groups::table
            .filter(groups::external_id.is_not_null())
            .count()
            .get_result(c)
            .await?;
        Ok::<_, TenancyError>((members, groups))
    })
    .await
    .unwrap();
    // The five accounts and the six learners who report to the admin; three groups.
    assert_eq!(counts, (11, 3));
}
