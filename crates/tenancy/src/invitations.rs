//! A signed-in user's pending invitations: list, accept, decline.
//!
//! An invitation is an INVITED membership. It becomes ACTIVE only through its holder: with the
//! emailed token ([`crate::recovery::accept_invite`]) or here, signed in as an account whose
//! address is verified. Nothing an inviter does can activate it, so an account registered in
//! advance under someone else's address never joins a tenant that invites that address.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{memberships, tenants, users};
use guild_kernel::{Keyset, MembershipStatus, Page, PageRequest, TenantId, TenantRole, UserId};
use serde::Serialize;
use uuid::Uuid;

use crate::tenants::MembershipSummary;
use crate::{TenancyError, parse_column};

/// An invitation waiting for the user's answer.
#[derive(Debug, Clone, Serialize)]
pub struct Invitation {
    /// The tenant invited to (the invitation's id).
    pub tenant_id: Uuid,
    /// Its name.
    pub tenant_name: String,
    /// Its slug.
    pub tenant_slug: String,
    /// The role offered.
    pub role: TenantRole,
    /// When the invitation was made.
    pub invited_at: DateTime<Utc>,
}

/// The user's pending invitations to live tenants, oldest first (a cross-tenant read), a page
/// at a time (keyset on the invitation's time and tenant).
pub async fn pending(
    conn: &mut AsyncPgConnection,
    user: UserId,
    page: &PageRequest,
) -> Result<Page<Invitation>, TenancyError> {
    const SORT: &str = "invited_at";
    let limit = page.limit();
    let mut query = memberships::table
        .inner_join(tenants::table.on(tenants::id.eq(memberships::tenant_id)))
        .filter(memberships::user_id.eq(user.into_uuid()))
        .filter(memberships::status.eq(MembershipStatus::Invited.as_str()))
        .filter(tenants::archived_at.is_null())
        .order((memberships::created_at.asc(), memberships::tenant_id.asc()))
        .select((
            tenants::id,
            tenants::name,
            tenants::slug,
            memberships::role,
            memberships::created_at,
        ))
        .limit(i64::from(limit) + 1)
        .into_boxed();
    if let Some(after) = crate::cursor_keyset(page, SORT)? {
        let at = after.time().map_err(|_| crate::invalid_cursor())?;
        query = query.filter(
            memberships::created_at.gt(at).or(memberships::created_at
                .eq(at)
                .and(memberships::tenant_id.gt(after.id))),
        );
    }
    let rows: Vec<(Uuid, String, String, String, DateTime<Utc>)> = query.load(conn).await?;
    let rows = rows
        .into_iter()
        .map(|(tenant_id, tenant_name, tenant_slug, role, invited_at)| {
            Ok(Invitation {
                tenant_id,
                tenant_name,
                tenant_slug,
                role: parse_column(&role)?,
                invited_at,
            })
        })
        .collect::<Result<Vec<_>, TenancyError>>()?;
    Ok(Page::from_overfetch(rows, limit, |i: &Invitation| {
        Keyset {
            sort: SORT.to_owned(),
            key: Keyset::time_key(i.invited_at),
            id: i.tenant_id,
        }
        .raw()
    }))
}

/// Locks the user's INVITED membership of a live tenant, or `InvitationNotFound`.
async fn lock_pending(
    conn: &mut AsyncPgConnection,
    user: UserId,
    tenant: TenantId,
) -> Result<(String, String, String), TenancyError> {
    let role: String = memberships::table
        .filter(memberships::tenant_id.eq(tenant.into_uuid()))
        .filter(memberships::user_id.eq(user.into_uuid()))
        .filter(memberships::status.eq("INVITED"))
        .select(memberships::role)
        .for_update()
        .first(conn)
        .await
        .optional()?
        .ok_or(TenancyError::InvitationNotFound)?;
    let (name, slug): (String, String) = tenants::table
        .find(tenant.into_uuid())
        .filter(tenants::archived_at.is_null())
        .select((tenants::name, tenants::slug))
        .first(conn)
        .await
        .optional()?
        .ok_or(TenancyError::InvitationNotFound)?;
    Ok((name, slug, role))
}

/// Accepts an invitation in the app: the account's address must be verified.
pub async fn accept(
    conn: &mut AsyncPgConnection,
    user: UserId,
    tenant: TenantId,
    now: DateTime<Utc>,
) -> Result<MembershipSummary, TenancyError> {
    conn.transaction::<_, TenancyError, _>(async |conn| {
        let (tenant_name, tenant_slug, role) = lock_pending(conn, user, tenant).await?;
        let role = parse_column(&role)?;
        let verified: Option<DateTime<Utc>> = users::table
            .find(user.into_uuid())
            .select(users::email_verified_at)
            .first(conn)
            .await?;
        if verified.is_none() {
            return Err(TenancyError::EmailNotVerified);
        }
        diesel::update(memberships::table.find((tenant.into_uuid(), user.into_uuid())))
            .set((
                memberships::status.eq(MembershipStatus::Active.as_str()),
                memberships::invited_name.eq(None::<String>),
                memberships::updated_at.eq(now),
            ))
            .execute(conn)
            .await?;
        record(conn, user, tenant, "INVITE_ACCEPTED").await?;
        let member = crate::members::load(conn, tenant, user).await?;
        crate::events::member(conn, tenant, "JOINED", &member).await?;
        Ok(MembershipSummary {
            tenant_id: tenant.into_uuid(),
            tenant_name,
            tenant_slug,
            role,
            status: MembershipStatus::Active,
        })
    })
    .await
}

/// Declines an invitation: the INVITED membership goes.
pub async fn decline(
    conn: &mut AsyncPgConnection,
    user: UserId,
    tenant: TenantId,
) -> Result<(), TenancyError> {
    conn.transaction::<_, TenancyError, _>(async |conn| {
        lock_pending(conn, user, tenant).await?;
        diesel::delete(memberships::table.find((tenant.into_uuid(), user.into_uuid())))
            .execute(conn)
            .await?;
        record(conn, user, tenant, "INVITE_DECLINED").await
    })
    .await
}

/// Records the answer in the inviting tenant's audit log, with the user as the actor.
async fn record(
    conn: &mut AsyncPgConnection,
    user: UserId,
    tenant: TenantId,
    action: crate::audit::Action,
) -> Result<(), TenancyError> {
    guild_db::tx::set_tenant(conn, tenant).await?;
    let actor = guild_kernel::Actor {
        user_id: user,
        tenant_id: tenant,
        role: guild_kernel::TenantRole::Viewer,
        global_role: guild_kernel::GlobalRole::Employee,
        grants: Vec::new(),
        subtree: Vec::new(),
        impersonating: false,
        api_key: None,
        request_id: None,
    };
    crate::audit::record(
        conn,
        &actor,
        action,
        "member",
        Some(user.to_string()),
        serde_json::json!({}),
    )
    .await
}
