//! Domain tests of progress: the rules of who earns what from completing a module.

use chrono::{DateTime, Duration, TimeZone, Utc};
use diesel::QueryableByName;
use diesel::sql_types::Jsonb;
use diesel_async::RunQueryDsl;
use guild_db::tenant_transaction;
use guild_kernel::{Actor, GlobalRole, TenantId, TenantRole, UserId};
use guild_testkit::TestDb;
use uuid::Uuid;

use guild_learning::LearningError;
use guild_learning::modules::{self, ModuleInput};
use guild_learning::sections::{self, SectionInput};
use guild_learning::versions::ChangeNote;

use crate::completion as progress;
use crate::compliance::{self, period_start};

fn actor(tenant: Uuid, user: Uuid, role: TenantRole) -> Actor {
    Actor {
        user_id: UserId(user),
        tenant_id: TenantId(tenant),
        role,
        global_role: GlobalRole::Employee,
        grants: Vec::new(),
        subtree: Vec::new(),
        impersonating: false,
        api_key: None,
        request_id: None,
    }
}

/// A tenant with an open catalog, its owner and one employee.
async fn people(db: &TestDb) -> (Actor, Actor) {
    let (tenant, owner, member) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let mut conn = db.conn().await;
    for sql in [
        format!(
            "INSERT INTO tenants (id, name, slug, catalog_open) VALUES ('{tenant}', 'Acme', 'acme', true)"
        ),
        format!(
            "INSERT INTO users (id, email, name) VALUES ('{owner}', 'owner@acme.example.com', 'Owner'), \
             ('{member}', 'ann@acme.example.com', 'Ann')"
        ),
        format!(
            "INSERT INTO memberships (tenant_id, user_id, role) VALUES ('{tenant}', '{owner}', 'OWNER'), \
             ('{tenant}', '{member}', 'EMPLOYEE')"
        ),
    ] {
        diesel::sql_query(sql).execute(&mut conn).await.unwrap();
    }
    (
        actor(tenant, owner, TenantRole::Owner),
        actor(tenant, member, TenantRole::Employee),
    )
}

fn day(year: i32, month: u32, day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, day, 9, 0, 0).unwrap()
}

#[test]
fn validity_periods_are_counted_from_the_first_certificate() {
    let first = day(2027, 1, 31);
    assert_eq!(period_start(first, 12, first - Duration::days(1)), first);
    assert_eq!(period_start(first, 12, day(2028, 1, 30)), first);
    assert_eq!(period_start(first, 12, day(2028, 1, 31)), day(2028, 1, 31));
    assert_eq!(period_start(first, 12, day(2030, 6, 1)), day(2030, 1, 31));
    // Months are counted from the first certificate, clamped to shorter months.
    assert_eq!(period_start(first, 1, day(2027, 2, 27)), first);
    assert_eq!(period_start(first, 1, day(2027, 3, 1)), day(2027, 2, 28));
    assert_eq!(period_start(first, 1, day(2027, 3, 31)), day(2027, 3, 31));
    assert_eq!(period_start(first, 2, day(2027, 3, 30)), first);
    assert_eq!(period_start(first, 2, day(2027, 3, 31)), day(2027, 3, 31));
}

#[derive(QueryableByName)]
struct Payload {
    #[diesel(sql_type = Jsonb)]
    payload: serde_json::Value,
}

#[tokio::test]
async fn renewal_xp_is_earned_by_the_first_renewal_of_each_validity_period_only() {
    let db = TestDb::new().await;
    let (owner, ann) = people(&db).await;
    let mut conn = db.conn().await;
    // A one-month validity: every certificate is within the 30-day renewal window at once.
    let (module, section) = tenant_transaction(&mut conn, owner.tenant_id, async |c| {
        let input = ModuleInput {
            title: Some("Ladders".into()),
            validity_months: Some(Some(1)),
            ..ModuleInput::default()
        };
        let created = modules::create(c, &owner, &input).await?;
        let section = SectionInput {
            title: Some("Intro".into()),
            ..SectionInput::default()
        };
        let section = sections::create(c, &owner, created.row.id, &section).await?;
        modules::set_status(
            c,
            &owner,
            created.row.id,
            created.row.revision,
            modules::ModuleStatus::Published,
            &ChangeNote::default(),
        )
        .await?;
        Ok::<_, LearningError>((created.row.id, section.id))
    })
    .await
    .unwrap();
    let mut renew_at = async |now: DateTime<Utc>, first: bool| {
        tenant_transaction(&mut conn, ann.tenant_id, async |c| {
            if !first {
                compliance::start_renewal(c, &ann, module, now).await?;
            }
            let progress = progress::complete_section(c, &ann, module, section, now).await?;
            assert!(progress.certificate_id.is_some(), "{now}");
            Ok::<_, LearningError>(())
        })
        .await
        .unwrap();
    };
    renew_at(day(2027, 2, 1), true).await;
    renew_at(day(2027, 2, 2), false).await;
    renew_at(day(2027, 2, 3), false).await;
    renew_at(day(2027, 2, 20), false).await;
    // The second period starts a month after the first certificate.
    renew_at(day(2027, 3, 1), false).await;

    let renewals: Vec<Payload> = diesel::sql_query(
        "SELECT payload FROM outbox_events WHERE kind = 'learning.compliance_renewal' ORDER BY id",
    )
    .load(&mut db.conn().await)
    .await
    .unwrap();
    let rewarded: Vec<bool> = renewals
        .iter()
        .map(|r| r.payload["rewarded"] == true)
        .collect();
    assert_eq!(rewarded, [true, false, false, true]);
}
