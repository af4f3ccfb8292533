//! The demo tenant's live events, for a newcomer to find after `make run`: an online session
//! next week open to everyone, and a hybrid workshop of one seat: its second registrant waits;
//! and a fire drill briefing ten days ago, completed, that four registered for and three
//! attended (the analytics' attendance rates).

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_kernel::{Actor, GlobalRole, TenantId, TenantRole, UserId};
use uuid::Uuid;

use crate::LiveError;
use crate::events::{self, EventInput, LocationType};
use crate::registrations;

/// Creates the demo events once; `false` when there is no demo tenant or it has events already.
pub async fn seed_demo(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> Result<bool, LiveError> {
    use guild_db::schema::{live_events, memberships, tenants};
    let members: Vec<(Uuid, Uuid, String)> = tenants::table
        .inner_join(memberships::table.on(memberships::tenant_id.eq(tenants::id)))
        .filter(tenants::slug.eq("demo"))
        .filter(memberships::status.eq("ACTIVE"))
        .order(memberships::user_id)
        .select((tenants::id, memberships::user_id, memberships::role))
        .load(conn)
        .await?;
    let Some(admin) = members.iter().find(|m| m.2 == "ADMIN") else {
        return Ok(false);
    };
    let tenant = TenantId(admin.0);
    let actor = |user: Uuid, role: TenantRole| Actor {
        user_id: UserId(user),
        tenant_id: tenant,
        role,
        global_role: GlobalRole::Employee,
        grants: Vec::new(),
        subtree: Vec::new(),
        impersonating: false,
        api_key: None,
        request_id: None,
    };
    let admin = actor(admin.1, TenantRole::Admin);
    let employees: Vec<Actor> = members
        .iter()
        .filter_map(|m| match m.2.as_str() {
            "EMPLOYEE" => Some(actor(m.1, TenantRole::Employee)),
            "HR" => Some(actor(m.1, TenantRole::Hr)),
            _ => None,
        })
        .collect();
    guild_db::tenant_transaction(conn, tenant, async |conn| {
        let any: i64 = live_events::table
            .filter(live_events::tenant_id.eq(tenant.into_uuid()))
            .count()
            .get_result(conn)
            .await?;
        if any > 0 {
            return Ok::<_, LiveError>(false);
        }
        let day = |days: i64, hour: i64| {
            let midnight = now
                .date_naive()
                .and_hms_opt(0, 0, 0)
                .unwrap_or_default()
                .and_utc();
            midnight + Duration::days(days) + Duration::hours(hour)
        };
        events::create(
            conn,
            &admin,
            &EventInput {
                title: "Ask the safety team".to_owned(),
                description: "An open hour with the safety team: bring your questions about the \
                              new evacuation routes."
                    .to_owned(),
                starts_at: day(7, 9),
                ends_at: day(7, 10),
                time_zone: "Europe/Ljubljana".to_owned(),
                location_type: LocationType::Online,
                meeting_url: Some("https://meet.example.com/safety-hour".to_owned()),
                address: None,
                capacity: 50,
                module_id: None,
                required: false,
                host_ids: Vec::new(),
                group_ids: Vec::new(),
            },
            now,
        )
        .await?;
        let workshop = events::create(
            conn,
            &admin,
            &EventInput {
                title: "First aid workshop".to_owned(),
                description: "Two hours of practice with a trainer, one seat: the next registrant \
                              waits for it to free up."
                    .to_owned(),
                starts_at: day(14, 13),
                ends_at: day(14, 15),
                time_zone: "Europe/Ljubljana".to_owned(),
                location_type: LocationType::Hybrid,
                meeting_url: Some("https://meet.example.com/first-aid".to_owned()),
                address: Some("Training room 2, Main street 1, Ljubljana".to_owned()),
                capacity: 1,
                module_id: None,
                required: false,
                host_ids: Vec::new(),
                group_ids: Vec::new(),
            },
            now,
        )
        .await?;
        for member in employees.iter().take(2) {
            registrations::register(conn, member, workshop.id, now).await?;
        }
        // Created three weeks ago, held ten days ago.
        let then = now - Duration::days(21);
        let briefing = events::create(
            conn,
            &admin,
            &EventInput {
                title: "Fire drill briefing".to_owned(),
                description: "What went well in the spring drill and what we change.".to_owned(),
                starts_at: day(-10, 9),
                ends_at: day(-10, 10),
                time_zone: "Europe/Ljubljana".to_owned(),
                location_type: LocationType::Physical,
                meeting_url: None,
                address: Some("Canteen, Main street 1, Ljubljana".to_owned()),
                capacity: 30,
                module_id: None,
                required: false,
                host_ids: Vec::new(),
                group_ids: Vec::new(),
            },
            then,
        )
        .await?;
        let registered: Vec<&Actor> = employees.iter().rev().take(4).collect();
        for member in &registered {
            registrations::register(conn, member, briefing.id, then + Duration::days(2)).await?;
        }
        let came: Vec<Uuid> = registered
            .iter()
            .take(3)
            .map(|a| a.user_id.into_uuid())
            .collect();
        let after = day(-10, 11);
        crate::attendance::confirm_bulk(conn, &admin, briefing.id, &came, after).await?;
        let revision = events::get(conn, &admin, briefing.id, after)
            .await?
            .revision;
        events::complete(conn, &admin, briefing.id, revision, after).await?;
        Ok(true)
    })
    .await
}
