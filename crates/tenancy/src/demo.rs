//! The demo tenant `make run` creates on an empty database, so a newcomer can try the API from
//! `/docs` at once. Development only: every account shares one published password.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{groups, memberships, tenants, user_groups};
use guild_db::tx::set_tenant;
use guild_kernel::{GlobalRole, TenantId, TenantRole};
use uuid::Uuid;

use crate::TenancyError;
use crate::secrets::hash_password;
use crate::tenants::{Address, insert_membership, insert_user};

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "guild-demo-password";

/// The accounts created, by role.
pub const DEMO_ACCOUNTS: [(&str, TenantRole, &str); 5] = [
    ("owner@demo.guild.local", TenantRole::Owner, "Olivia Owner"),
    ("admin@demo.guild.local", TenantRole::Admin, "Adam Admin"),
    ("hr@demo.guild.local", TenantRole::Hr, "Helen HR"),
    (
        "employee@demo.guild.local",
        TenantRole::Employee,
        "Eve Employee",
    ),
    (
        "viewer@demo.guild.local",
        TenantRole::Viewer,
        "Victor Viewer",
    ),
];

/// Creates the demo tenant unless the database already has a tenant; true if it did.
pub async fn seed(conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> Result<bool, TenancyError> {
    let any: i64 = tenants::table.count().get_result(conn).await?;
    if any > 0 {
        return Ok(false);
    }
    let hash = hash_password(DEMO_PASSWORD).await?;
    let tenant = TenantId::new();
    conn.transaction::<_, TenancyError, _>(async |conn| {
        diesel::insert_into(tenants::table)
            .values((
                tenants::id.eq(tenant.into_uuid()),
                tenants::name.eq("Demo Company"),
                tenants::slug.eq("demo"),
                tenants::plan.eq("PRO"),
                // Open, so members see (and are recommended) every published module.
                tenants::catalog_open.eq(true),
            ))
            .execute(conn)
            .await?;
        let mut users = Vec::new();
        for (email, role, name) in DEMO_ACCOUNTS {
            let user = insert_user(
                conn,
                email,
                name,
                Some(hash.clone()),
                GlobalRole::Employee,
                Address::Trusted,
                now,
            )
            .await?;
            users.push((user, role));
        }
        set_tenant(conn, tenant).await?;
        let owner = users[0].0;
        for (user, role) in &users {
            let manager = (*role != TenantRole::Owner).then(|| owner.into_uuid());
            insert_membership(
                conn,
                tenant,
                *user,
                *role,
                guild_kernel::MembershipStatus::Active,
                manager,
            )
            .await?;
        }
        // As an HR system provisioning over SCIM would leave them: each member and group carries
        // the system's own id (`externalId` at /scim/v2).
        for (i, (user, _)) in users.iter().enumerate() {
            diesel::update(memberships::table.find((tenant.into_uuid(), user.into_uuid())))
                .set(memberships::external_id.eq(Some(format!("hr-{:04}", i + 1))))
                .execute(conn)
                .await?;
        }
        for (i, (name, color)) in [
            ("Engineering", "#2563EB"),
            ("Sales", "#16A34A"),
            ("Support", "#F59E0B"),
        ]
        .into_iter()
        .enumerate()
        {
            let group = Uuid::now_v7();
            diesel::insert_into(groups::table)
                .values((
                    groups::tenant_id.eq(tenant.into_uuid()),
                    groups::id.eq(group),
                    groups::name.eq(name),
                    groups::color.eq(color),
                    groups::external_id.eq(Some(format!("hr-group-{}", i + 1))),
                ))
                .execute(conn)
                .await?;
            let (member, _) = users[3 + i % 2];
            diesel::insert_into(user_groups::table)
                .values((
                    user_groups::tenant_id.eq(tenant.into_uuid()),
                    user_groups::group_id.eq(group),
                    user_groups::user_id.eq(member.into_uuid()),
                ))
                .execute(conn)
                .await?;
        }
        Ok(())
    })
    .await?;
    Ok(true)
}
