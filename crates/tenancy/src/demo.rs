//! The demo tenant `make run` creates on an empty database, so a newcomer can try the API from
//! `/docs` at once. Development only: every account shares one published password.
//!
//! Besides the accounts to sign in with, six learners report to the admin, so the manager
//! dashboard and the analytics have a team to show; everyone joined eight weeks before the seed
//! (the history the other crates' demos add spans the five weeks after), and [`demo_tenant`]
//! names them for those demos.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{groups, memberships, tenants, user_groups};
use guild_db::tx::set_tenant;
use guild_kernel::{GlobalRole, TenantId, TenantRole, UserId};
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

/// The learners: email, name and the group (by index into the demo's groups: Engineering,
/// Sales, Support) they belong to. They report to the admin.
pub const DEMO_LEARNERS: [(&str, &str, usize); 6] = [
    ("liam@demo.guild.local", "Liam Novak", 0),
    ("mia@demo.guild.local", "Mia Kovač", 0),
    ("noah@demo.guild.local", "Noah Horvat", 1),
    ("ava@demo.guild.local", "Ava Zupan", 1),
    ("lucas@demo.guild.local", "Lucas Krajnc", 2),
    ("zoe@demo.guild.local", "Zoe Potočnik", 2),
];

/// How long before the seed the demo's members joined their groups.
pub const DEMO_JOINED_DAYS_AGO: i64 = 56;

/// The demo tenant as the other crates' demos need it.
#[derive(Debug, Clone)]
pub struct DemoTenant {
    /// The tenant.
    pub tenant: TenantId,
    /// Every active member: id, email, role.
    pub members: Vec<(UserId, String, TenantRole)>,
    /// The groups, by name: id and name.
    pub groups: Vec<(Uuid, String)>,
    /// Each group's members.
    pub group_members: Vec<(Uuid, Vec<UserId>)>,
}

impl DemoTenant {
    /// The member with `email`.
    pub fn member(&self, email: &str) -> Option<UserId> {
        self.members
            .iter()
            .find(|(_, e, _)| e == email)
            .map(|(id, _, _)| *id)
    }
}

/// The demo tenant, when the database has one.
pub async fn demo_tenant(conn: &mut AsyncPgConnection) -> Result<Option<DemoTenant>, TenancyError> {
    use guild_db::schema::users;
    let tenant: Option<Uuid> = tenants::table
        .filter(tenants::slug.eq("demo"))
        .select(tenants::id)
        .first(conn)
        .await
        .optional()?;
    let Some(tenant) = tenant else {
        return Ok(None);
    };
    let tenant = TenantId(tenant);
    guild_db::tenant_transaction(conn, tenant, async |conn| {
        let members: Vec<(Uuid, String, String)> = memberships::table
            .inner_join(users::table.on(users::id.eq(memberships::user_id)))
            .filter(memberships::tenant_id.eq(tenant.into_uuid()))
            .filter(memberships::status.eq("ACTIVE"))
            .order(memberships::user_id.asc())
            .select((memberships::user_id, users::email, memberships::role))
            .load(conn)
            .await?;
        let groups: Vec<(Uuid, String)> = groups::table
            .filter(groups::tenant_id.eq(tenant.into_uuid()))
            .order((groups::name.asc(), groups::id.asc()))
            .select((groups::id, groups::name))
            .load(conn)
            .await?;
        let pairs: Vec<(Uuid, Uuid)> = user_groups::table
            .filter(user_groups::tenant_id.eq(tenant.into_uuid()))
            .order((user_groups::group_id.asc(), user_groups::user_id.asc()))
            .select((user_groups::group_id, user_groups::user_id))
            .load(conn)
            .await?;
        let group_members = groups
            .iter()
            .map(|(id, _)| {
                let users = pairs
                    .iter()
                    .filter(|(g, _)| g == id)
                    .map(|(_, u)| UserId(*u))
                    .collect();
                (*id, users)
            })
            .collect();
        Ok::<_, TenancyError>(Some(DemoTenant {
            tenant,
            members: members
                .into_iter()
                .filter_map(|(id, email, role)| {
                    role.parse::<TenantRole>()
                        .ok()
                        .map(|role| (UserId(id), email, role))
                })
                .collect(),
            groups,
            group_members,
        }))
    })
    .await
}

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
        let mut learners = Vec::new();
        for (email, name, _) in DEMO_LEARNERS {
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
            learners.push(user);
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
        let admin = users[1].0;
        for user in &learners {
            insert_membership(
                conn,
                tenant,
                *user,
                TenantRole::Employee,
                guild_kernel::MembershipStatus::Active,
                Some(admin.into_uuid()),
            )
            .await?;
        }
        let joined = now - chrono::Duration::days(DEMO_JOINED_DAYS_AGO);
        diesel::update(memberships::table.filter(memberships::tenant_id.eq(tenant.into_uuid())))
            .set(memberships::created_at.eq(joined))
            .execute(conn)
            .await?;
        // As an HR system provisioning over SCIM would leave them: each member and group carries
        // the system's own id (`externalId` at /scim/v2).
        let everyone: Vec<UserId> = users
            .iter()
            .map(|(user, _)| *user)
            .chain(learners.iter().copied())
            .collect();
        for (i, user) in everyone.iter().enumerate() {
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
            let team = DEMO_LEARNERS
                .iter()
                .zip(&learners)
                .filter(|((_, _, g), _)| *g == i)
                .map(|(_, user)| *user);
            for user in std::iter::once(member).chain(team) {
                diesel::insert_into(user_groups::table)
                    .values((
                        user_groups::tenant_id.eq(tenant.into_uuid()),
                        user_groups::group_id.eq(group),
                        user_groups::user_id.eq(user.into_uuid()),
                        user_groups::created_at.eq(joined),
                    ))
                    .execute(conn)
                    .await?;
            }
        }
        Ok(())
    })
    .await?;
    Ok(true)
}
