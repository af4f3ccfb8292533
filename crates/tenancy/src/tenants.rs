//! Tenants: self-serve sign-up (a FREE tenant whose creator is its OWNER), creation by the
//! platform owner, settings, archiving.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{email_preferences, memberships, tenants, users};
use guild_db::tx::set_tenant;
use guild_kernel::{Actor, GlobalRole, MembershipStatus, TenantId, TenantRole, UserId};
use serde::Serialize;
use uuid::Uuid;

use crate::error::on_unique;
use crate::secrets::{check_password_rules, hash_password};
use crate::{TenancyError, audit, parse_column};

guild_kernel::string_enum!(
    /// What a tenant pays for; the platform owner decides it.
    Plan {
        /// The free plan.
        Free => "FREE",
        /// The starter plan.
        Starter => "STARTER",
        /// The professional plan.
        Pro => "PRO",
    }
);

guild_kernel::string_enum!(
    /// The colours of a tenant's app.
    Theme {
        /// The default colours.
        Default => "DEFAULT",
        /// Blues.
        Ocean => "OCEAN",
        /// Warm colours.
        Sunset => "SUNSET",
    }
);

/// A tenant's settings.
#[derive(Debug, Clone, Serialize, Queryable, Selectable)]
#[diesel(table_name = tenants)]
pub struct Tenant {
    /// Id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// URL-safe unique name.
    pub slug: String,
    /// What it pays for.
    #[diesel(deserialize_as = String)]
    pub plan: Plan,
    /// Language tag, e.g. `en` or `sl-SI`.
    pub locale: String,
    /// Its colours.
    #[diesel(deserialize_as = String)]
    pub theme: Theme,
    /// Set once archived.
    pub archived_at: Option<DateTime<Utc>>,
    /// Whether published modules not assigned to a member's groups are open to them.
    pub catalog_open: bool,
    /// The share of a VIDEO section, in percent, a member must have watched before completing
    /// it (0: no rule).
    pub video_completion_percent: i32,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// Self-serve sign-up.
#[derive(Debug, Clone)]
pub struct SignUp {
    /// The company's name.
    pub tenant_name: String,
    /// Its slug.
    pub slug: String,
    /// The person's name.
    pub name: String,
    /// Their email.
    pub email: String,
    /// Their password.
    pub password: String,
}

/// Whether a new account's address counts as proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Address {
    /// Created by an operator (the platform owner, the demo data): taken as verified.
    Trusted,
    /// Typed by someone who has not shown they read its mail yet.
    Unverified,
}

/// Inserts a user with a password; the email must be free.
pub(crate) async fn insert_user(
    conn: &mut AsyncPgConnection,
    email: &str,
    name: &str,
    password_hash: Option<String>,
    global_role: GlobalRole,
    address: Address,
    now: DateTime<Utc>,
) -> Result<UserId, TenancyError> {
    let id = Uuid::now_v7();
    diesel::insert_into(users::table)
        .values((
            users::id.eq(id),
            users::email_verified_at.eq((address == Address::Trusted).then(Utc::now)),
            users::email.eq(email.trim()),
            users::name.eq(name.trim()),
            users::password_changed_at.eq(password_hash.as_ref().map(|_| now)),
            users::password_hash.eq(password_hash),
            users::global_role.eq(global_role.as_str()),
        ))
        .execute(conn)
        .await
        .map_err(on_unique("users_email_key", TenancyError::EmailTaken))?;
    Ok(UserId(id))
}

async fn insert_tenant(
    conn: &mut AsyncPgConnection,
    id: TenantId,
    name: &str,
    slug: &str,
    plan: Plan,
) -> Result<(), TenancyError> {
    diesel::insert_into(tenants::table)
        .values((
            tenants::id.eq(id.into_uuid()),
            tenants::name.eq(name.trim()),
            tenants::slug.eq(slug),
            tenants::plan.eq(plan.as_str()),
        ))
        .execute(conn)
        .await
        .map_err(on_unique("tenants_slug_key", TenancyError::SlugTaken))?;
    Ok(())
}

/// Adds `user` to `tenant` with `role` (and default email preferences).
pub(crate) async fn insert_membership(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    role: TenantRole,
    status: MembershipStatus,
    manager: Option<Uuid>,
) -> Result<(), TenancyError> {
    diesel::insert_into(memberships::table)
        .values((
            memberships::tenant_id.eq(tenant.into_uuid()),
            memberships::user_id.eq(user.into_uuid()),
            memberships::role.eq(role.as_str()),
            memberships::status.eq(status.as_str()),
            memberships::manager_id.eq(manager),
        ))
        .execute(conn)
        .await
        .map_err(on_unique("memberships_pkey", TenancyError::AlreadyMember))?;
    diesel::insert_into(email_preferences::table)
        .values((
            email_preferences::tenant_id.eq(tenant.into_uuid()),
            email_preferences::user_id.eq(user.into_uuid()),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(())
}

fn check_slug(slug: &str) -> Result<(), TenancyError> {
    let ok = (1..=63).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(TenancyError::invalid(
            "slug",
            "invalid_slug",
            "use 1 to 63 lowercase letters, digits and inner hyphens",
        ))
    }
}

/// A language tag as the tenant stores it: two lowercase letters, optionally a hyphen and two
/// uppercase letters (`en`, `sl-SI`). The API states the same as the field's `pattern`.
fn check_locale(locale: &str) -> Result<(), TenancyError> {
    let b = locale.as_bytes();
    let ok = match b {
        [l1, l2] => l1.is_ascii_lowercase() && l2.is_ascii_lowercase(),
        [l1, l2, b'-', r1, r2] => {
            l1.is_ascii_lowercase()
                && l2.is_ascii_lowercase()
                && r1.is_ascii_uppercase()
                && r2.is_ascii_uppercase()
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(TenancyError::invalid(
            "locale",
            "invalid_locale",
            "use a language tag such as `en` or `sl-SI`",
        ))
    }
}

fn owner_actor(user: UserId, tenant: TenantId, global_role: GlobalRole) -> Actor {
    Actor {
        user_id: user,
        tenant_id: tenant,
        role: TenantRole::Owner,
        global_role,
        grants: Vec::new(),
        subtree: Vec::new(),
        impersonating: false,
        api_key: None,
        request_id: None,
    }
}

/// Creates a FREE tenant and its OWNER account in one transaction, and queues the email that
/// verifies the account's address (until then no other tenant can add the account).
pub async fn sign_up(
    conn: &mut AsyncPgConnection,
    input: &SignUp,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<(Tenant, UserId), TenancyError> {
    check_slug(&input.slug)?;
    check_password_rules("password", &input.password)?;
    let hash = hash_password(&input.password).await?;
    let tenant = TenantId::new();
    conn.transaction::<_, TenancyError, _>(async |conn| {
        let user = insert_user(
            conn,
            &input.email,
            &input.name,
            Some(hash),
            GlobalRole::Employee,
            Address::Unverified,
            now,
        )
        .await?;
        guild_db::outbox::publish(
            conn,
            None,
            &crate::recovery::VerificationRequested {
                user_id: user.into_uuid(),
            },
        )
        .await?;
        insert_tenant(conn, tenant, &input.tenant_name, &input.slug, Plan::Free).await?;
        set_tenant(conn, tenant).await?;
        insert_membership(
            conn,
            tenant,
            user,
            TenantRole::Owner,
            MembershipStatus::Active,
            None,
        )
        .await?;
        let mut actor = owner_actor(user, tenant, GlobalRole::Employee);
        actor.request_id = request_id;
        audit::record(
            conn,
            &actor,
            "TENANT_CREATED",
            "tenant",
            Some(tenant.to_string()),
            serde_json::json!({ "slug": input.slug, "via": "sign_up" }),
        )
        .await?;
        let row = tenants::table
            .find(tenant.into_uuid())
            .select(Tenant::as_select())
            .first(conn)
            .await?;
        Ok((row, user))
    })
    .await
}

/// Creates a tenant as the platform owner, who becomes its OWNER.
pub async fn create(
    conn: &mut AsyncPgConnection,
    creator: UserId,
    name: &str,
    slug: &str,
    plan: Plan,
    request_id: Option<String>,
) -> Result<Tenant, TenancyError> {
    check_slug(slug)?;
    let global_role: String = users::table
        .find(creator.into_uuid())
        .select(users::global_role)
        .first(conn)
        .await?;
    if global_role != GlobalRole::Owner.as_str() {
        return Err(TenancyError::Forbidden(guild_kernel::Denied(
            guild_kernel::Permission::ManageUsers,
        )));
    }
    let tenant = TenantId::new();
    conn.transaction::<_, TenancyError, _>(async |conn| {
        insert_tenant(conn, tenant, name, slug, plan).await?;
        set_tenant(conn, tenant).await?;
        insert_membership(
            conn,
            tenant,
            creator,
            TenantRole::Owner,
            MembershipStatus::Active,
            None,
        )
        .await?;
        let mut actor = owner_actor(creator, tenant, GlobalRole::Owner);
        actor.request_id = request_id;
        audit::record(
            conn,
            &actor,
            "TENANT_CREATED",
            "tenant",
            Some(tenant.to_string()),
            serde_json::json!({ "slug": slug, "plan": plan }),
        )
        .await?;
        Ok(tenants::table
            .find(tenant.into_uuid())
            .select(Tenant::as_select())
            .first(conn)
            .await?)
    })
    .await
}

/// The actor's tenant.
pub async fn get(conn: &mut AsyncPgConnection, actor: &Actor) -> Result<Tenant, TenancyError> {
    tenants::table
        .find(actor.tenant_id.into_uuid())
        .select(Tenant::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or(TenancyError::TenantNotFound)
}

/// Settings to change; `None` keeps the current value.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = tenants)]
pub struct TenantChanges {
    /// New name.
    pub name: Option<String>,
    /// New slug.
    pub slug: Option<String>,
    /// New plan (the platform owner only).
    #[diesel(skip_update)]
    pub plan: Option<Plan>,
    /// New locale.
    pub locale: Option<String>,
    /// New theme.
    #[diesel(skip_update)]
    pub theme: Option<Theme>,
    /// Open the catalog of published modules to every member.
    pub catalog_open: Option<bool>,
    /// The share of a video to watch before completing its section, 0 to 100.
    pub video_completion_percent: Option<i32>,
}

/// Updates settings: ADMIN and above; the plan only by the platform owner.
pub async fn update(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    changes: &TenantChanges,
    now: DateTime<Utc>,
) -> Result<Tenant, TenancyError> {
    if actor.role.rank() > TenantRole::Admin.rank() || actor.api_key.is_some() {
        return Err(TenancyError::RoleNotAssignable);
    }
    // The plan is what the tenant pays for: the platform decides it, not the tenant's own owner.
    if changes.plan.is_some() && (actor.global_role != GlobalRole::Owner || actor.api_key.is_some())
    {
        return Err(TenancyError::PlanChangeForbidden);
    }
    if let Some(slug) = &changes.slug {
        check_slug(slug)?;
    }
    if let Some(locale) = &changes.locale {
        check_locale(locale)?;
    }
    let row = diesel::update(tenants::table.find(actor.tenant_id.into_uuid()))
        .set((
            changes,
            changes.plan.map(|p| tenants::plan.eq(p.as_str())),
            changes.theme.map(|t| tenants::theme.eq(t.as_str())),
            tenants::updated_at.eq(now),
        ))
        .returning(Tenant::as_returning())
        .get_result(conn)
        .await
        .map_err(on_unique("tenants_slug_key", TenancyError::SlugTaken))?;
    audit::record(
        conn,
        actor,
        "TENANT_UPDATED",
        "tenant",
        Some(row.id.to_string()),
        serde_json::json!({ "name": changes.name, "slug": changes.slug, "plan": changes.plan,
            "locale": changes.locale, "theme": changes.theme, "catalog_open": changes.catalog_open,
            "video_completion_percent": changes.video_completion_percent }),
    )
    .await?;
    Ok(row)
}

/// Archives the tenant (OWNER only): its members are refused from then on.
pub async fn archive(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Tenant, TenancyError> {
    if actor.role != TenantRole::Owner || actor.api_key.is_some() {
        return Err(TenancyError::RoleNotAssignable);
    }
    let row = diesel::update(tenants::table.find(actor.tenant_id.into_uuid()))
        .set((tenants::archived_at.eq(now), tenants::updated_at.eq(now)))
        .returning(Tenant::as_returning())
        .get_result(conn)
        .await?;
    audit::record(
        conn,
        actor,
        "TENANT_ARCHIVED",
        "tenant",
        Some(row.id.to_string()),
        serde_json::json!({}),
    )
    .await?;
    Ok(row)
}

/// A tenant the user belongs to, for `/me` and tenant switching.
#[derive(Debug, Clone, Serialize)]
pub struct MembershipSummary {
    /// The tenant.
    pub tenant_id: Uuid,
    /// Its name.
    pub tenant_name: String,
    /// Its slug.
    pub tenant_slug: String,
    /// The user's role there.
    pub role: TenantRole,
    /// ACTIVE, INVITED or DEACTIVATED (a REMOVED membership is not listed).
    pub status: MembershipStatus,
}

/// Every membership of `user` in live tenants (a cross-tenant read, outside any tenant
/// transaction).
pub async fn memberships_of(
    conn: &mut AsyncPgConnection,
    user: UserId,
) -> Result<Vec<MembershipSummary>, TenancyError> {
    let rows: Vec<(Uuid, String, String, String, String)> = memberships::table
        .inner_join(tenants::table.on(tenants::id.eq(memberships::tenant_id)))
        .filter(memberships::user_id.eq(user.into_uuid()))
        .filter(tenants::archived_at.is_null())
        .filter(memberships::status.ne("REMOVED"))
        .order(memberships::created_at.asc())
        .select((
            tenants::id,
            tenants::name,
            tenants::slug,
            memberships::role,
            memberships::status,
        ))
        .load(conn)
        .await?;
    rows.into_iter()
        .map(|(tenant_id, tenant_name, tenant_slug, role, status)| {
            Ok(MembershipSummary {
                tenant_id,
                tenant_name,
                tenant_slug,
                role: parse_column(&role)?,
                status: parse_column(&status)?,
            })
        })
        .collect()
}

/// A user's account.
#[derive(Debug, Clone, Serialize, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    /// Id.
    pub id: Uuid,
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
    /// Platform role.
    #[diesel(deserialize_as = String)]
    pub global_role: GlobalRole,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// When the address was verified, if it was.
    pub email_verified_at: Option<DateTime<Utc>>,
}

/// Reads a user.
pub async fn user(conn: &mut AsyncPgConnection, id: UserId) -> Result<User, TenancyError> {
    users::table
        .find(id.into_uuid())
        .select(User::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or(TenancyError::MemberNotFound)
}

/// Creates (or promotes) the platform owner account; for `guild bootstrap`.
pub async fn bootstrap_owner(
    conn: &mut AsyncPgConnection,
    email: &str,
    name: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<UserId, TenancyError> {
    check_password_rules("password", password)?;
    let hash = hash_password(password).await?;
    let existing: Option<Uuid> = users::table
        .filter(crate::lower(users::email).eq(email.trim().to_lowercase()))
        .select(users::id)
        .first(conn)
        .await
        .optional()?;
    match existing {
        Some(id) => {
            diesel::update(users::table.find(id))
                .set((
                    users::global_role.eq(GlobalRole::Owner.as_str()),
                    users::email_verified_at.eq(Some(now)),
                    users::session_generation.eq(users::session_generation + 1),
                    users::password_hash.eq(Some(hash)),
                    users::password_changed_at.eq(Some(now)),
                    users::updated_at.eq(now),
                ))
                .execute(conn)
                .await?;
            Ok(UserId(id))
        }
        None => {
            insert_user(
                conn,
                email,
                name,
                Some(hash),
                GlobalRole::Owner,
                Address::Trusted,
                now,
            )
            .await
        }
    }
}
