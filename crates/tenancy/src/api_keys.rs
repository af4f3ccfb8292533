//! API keys for integrators: bound to one tenant, limited to a subset of permissions (never more
//! than their creator holds), shown once, stored as a SHA-256 hash, revocable, last use recorded.
//!
//! A key does only what its permissions allow. It does what its creator does as a member for
//! themselves (learning, spending XP, grading as a mentor, their own settings) only when it was
//! created with `act_as_member`: no permission grants those, so a key limited to, say,
//! VIEW_AUDIT_LOG must not gain them by acting as its creator. The API's `Auth` extractor refuses
//! other keys on every route that such a member path could reach.
//!
//! A key with PROVISION_SCIM is a SCIM token: it holds that permission alone, never acts as a
//! member, and is accepted only at `/scim/v2` (no `/v1` route checks the permission).
//!
//! A key reads `gk_<tenant id>_<secret>`: the tenant part lets the lookup run inside that tenant's
//! transaction, under row-level security, with a hash unique per tenant.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::api_keys;
use guild_kernel::auth::ApiKeyLimits;
use guild_kernel::{
    Actor, Page, PageRequest, Permission, Target, TenantId, TenantRole, UserId, authorize,
};
use serde::Serialize;
use uuid::Uuid;

use crate::secrets::{new_token, token_hash};
use crate::{TenancyError, audit};

/// Id, creator, permissions, acts as a member, revoked-at, last-used-at.
type KeyRow = (
    Uuid,
    Uuid,
    Vec<String>,
    bool,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

/// Every key starts with this.
pub const KEY_PREFIX: &str = "gk_";

/// An API key's metadata (never the secret).
#[derive(Debug, Clone, Serialize, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    /// Id.
    pub id: Uuid,
    /// A label.
    pub name: String,
    /// The admin who created it; requests with the key act as them.
    pub created_by: Uuid,
    /// What the key may do.
    pub permissions: Vec<String>,
    /// The key may also do what its creator does as a member for themselves.
    pub act_as_member: bool,
    /// When it was last used (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

fn require_admin(actor: &Actor) -> Result<(), TenancyError> {
    if actor.role.rank() > TenantRole::Admin.rank() || actor.api_key.is_some() {
        return Err(TenancyError::RoleNotAssignable);
    }
    Ok(())
}

/// Creates a key (ADMIN and above); returns it with the secret, shown this once. With
/// `act_as_member` the key may also do what its creator does as a member for themselves.
pub async fn create(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    name: &str,
    permissions: &BTreeSet<Permission>,
    act_as_member: bool,
) -> Result<(ApiKey, String), TenancyError> {
    require_admin(actor)?;
    for permission in permissions {
        authorize(actor, *permission, Target::Tenant)?;
    }
    if permissions.contains(&Permission::ProvisionScim) {
        // A SCIM token provisions and nothing else: it is accepted at /scim/v2 only, where it
        // acts with its creator's MANAGE_USERS and MANAGE_GROUPS, so its creator must hold them.
        if permissions.len() != 1 || act_as_member {
            return Err(TenancyError::invalid(
                "permissions",
                "scim_key_exclusive",
                "a PROVISION_SCIM key holds that permission alone and does not act as a member",
            ));
        }
        authorize(actor, Permission::ManageUsers, Target::Tenant)?;
        authorize(actor, Permission::ManageGroups, Target::Tenant)?;
    }
    let secret = format!(
        "{KEY_PREFIX}{}_{}",
        actor.tenant_id.into_uuid().simple(),
        new_token()?
    );
    let id = Uuid::now_v7();
    let key = diesel::insert_into(api_keys::table)
        .values((
            api_keys::tenant_id.eq(actor.tenant_id.into_uuid()),
            api_keys::id.eq(id),
            api_keys::name.eq(name.trim()),
            api_keys::created_by.eq(actor.user_id.into_uuid()),
            api_keys::permissions.eq(permissions
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect::<Vec<_>>()),
            api_keys::key_hash.eq(token_hash(&secret)),
            api_keys::act_as_member.eq(act_as_member),
        ))
        .returning(ApiKey::as_returning())
        .get_result(conn)
        .await?;
    audit::record(
        conn,
        actor,
        "API_KEY_CREATED",
        "api_key",
        Some(id.to_string()),
        serde_json::json!({
            "name": name,
            "permissions": permissions,
            "act_as_member": act_as_member,
        }),
    )
    .await?;
    Ok((key, secret))
}

/// The tenant's keys (ADMIN and above).
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    page: &PageRequest,
) -> Result<Page<ApiKey>, TenancyError> {
    require_admin(actor)?;
    let limit = page.limit();
    let mut query = api_keys::table
        .filter(api_keys::tenant_id.eq(actor.tenant_id.into_uuid()))
        .select(ApiKey::as_select())
        .order(api_keys::id.desc())
        .limit(i64::from(limit) + 1)
        .into_boxed();
    if let Some(before) = crate::cursor_uuid(page)? {
        query = query.filter(api_keys::id.lt(before));
    }
    let rows = query.load(conn).await?;
    Ok(Page::from_overfetch(rows, limit, |k: &ApiKey| {
        k.id.to_string()
    }))
}

/// Revokes a key at once.
pub async fn revoke(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<ApiKey, TenancyError> {
    require_admin(actor)?;
    let key = diesel::update(api_keys::table.find((actor.tenant_id.into_uuid(), id)))
        .set(api_keys::revoked_at.eq(Some(now)))
        .returning(ApiKey::as_returning())
        .get_result(conn)
        .await
        .optional()?
        .ok_or(TenancyError::ApiKeyNotFound)?;
    audit::record(
        conn,
        actor,
        "API_KEY_REVOKED",
        "api_key",
        Some(id.to_string()),
        serde_json::json!({}),
    )
    .await?;
    Ok(key)
}

/// Resolves a presented key to the actor it acts as: its creator, limited to the key's
/// permissions (and to them alone unless the key acts as a member, see
/// [`Actor::acts_as_member`]). Unknown, malformed and revoked keys are all `InvalidToken`.
pub async fn authenticate(
    conn: &mut AsyncPgConnection,
    presented: &str,
    now: DateTime<Utc>,
) -> Result<Actor, TenancyError> {
    let tenant = presented
        .strip_prefix(KEY_PREFIX)
        .and_then(|rest| rest.split_once('_'))
        .and_then(|(tenant, _)| Uuid::parse_str(tenant).ok())
        .map(TenantId)
        .ok_or(TenancyError::InvalidToken)?;
    let hash = token_hash(presented);
    let row: Option<KeyRow> = guild_db::tenant_transaction(conn, tenant, async |conn| {
        api_keys::table
            .filter(api_keys::tenant_id.eq(tenant.into_uuid()))
            .filter(api_keys::key_hash.eq(&hash))
            .select((
                api_keys::id,
                api_keys::created_by,
                api_keys::permissions,
                api_keys::act_as_member,
                api_keys::revoked_at,
                api_keys::last_used_at,
            ))
            .first(conn)
            .await
            .optional()
            .map_err(TenancyError::from)
    })
    .await?;
    let Some((id, creator, permissions, act_as_member, revoked_at, last_used_at)) = row else {
        return Err(TenancyError::InvalidToken);
    };
    if revoked_at.is_some() {
        return Err(TenancyError::InvalidToken);
    }
    // Record use at most once a minute: a busy integration must not write on every request.
    if last_used_at.is_none_or(|at| now - at > Duration::minutes(1)) {
        guild_db::tenant_transaction(conn, tenant, async |conn| {
            diesel::update(api_keys::table.find((tenant.into_uuid(), id)))
                .set(api_keys::last_used_at.eq(Some(now)))
                .execute(conn)
                .await
                .map_err(TenancyError::from)
        })
        .await?;
    }
    let mut actor = crate::actor::load_actor(conn, UserId(creator), tenant).await?;
    actor.api_key = Some(ApiKeyLimits {
        key_id: id,
        permissions: permissions.iter().filter_map(|p| p.parse().ok()).collect(),
        act_as_member,
    });
    Ok(actor)
}
