//! The audit log: one row per mutation, written in the mutation's own transaction, so a change
//! and its record commit or vanish together.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::audit_log;
use guild_kernel::{Actor, Page, PageRequest, Permission, Target, authorize};
use serde::Serialize;
use uuid::Uuid;

use crate::TenancyError;

/// What happened, e.g. `MEMBER_INVITED`. Stable: clients filter on it.
pub type Action = &'static str;

/// Writes one audit row for `actor`'s request (see [`guild_db::audit::record`]).
pub async fn record(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    action: Action,
    entity_type: &str,
    entity_id: Option<String>,
    metadata: serde_json::Value,
) -> Result<(), TenancyError> {
    Ok(guild_db::audit::record(conn, actor, action, entity_type, entity_id, metadata).await?)
}

/// Records a change to a user's own account (password set, reset or changed) in the audit log
/// of every tenant they are an active member of, with the user as the actor.
pub async fn record_for_user(
    conn: &mut AsyncPgConnection,
    user: guild_kernel::UserId,
    action: Action,
) -> Result<(), TenancyError> {
    use guild_db::schema::memberships;
    let tenants: Vec<Uuid> = memberships::table
        .filter(memberships::user_id.eq(user.into_uuid()))
        .filter(memberships::status.eq("ACTIVE"))
        .select(memberships::tenant_id)
        .load(conn)
        .await?;
    let rows: Vec<_> = tenants
        .into_iter()
        .map(|tenant| {
            (
                audit_log::tenant_id.eq(tenant),
                audit_log::id.eq(Uuid::now_v7()),
                audit_log::actor_id.eq(Some(user.into_uuid())),
                audit_log::action.eq(action),
                audit_log::entity_type.eq("user"),
                audit_log::entity_id.eq(Some(user.to_string())),
            )
        })
        .collect();
    if !rows.is_empty() {
        diesel::insert_into(audit_log::table)
            .values(rows)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// One audit entry.
#[derive(Debug, Clone, Serialize, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    /// Id (time-ordered).
    pub id: Uuid,
    /// Who acted (the impersonating platform owner, when `impersonated_by` is set).
    pub actor_id: Option<Uuid>,
    /// Set when a platform owner acted in a tenant they do not belong to.
    pub impersonated_by: Option<Uuid>,
    /// Set when the request used an API key.
    pub api_key_id: Option<Uuid>,
    /// What happened.
    pub action: String,
    /// The kind of thing it happened to.
    pub entity_type: String,
    /// The thing's id.
    pub entity_id: Option<String>,
    /// Details (before/after values).
    pub metadata: serde_json::Value,
    /// The request that did it.
    pub request_id: Option<String>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Filters for [`list`].
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this action.
    pub action: Option<String>,
    /// Only this entity type.
    pub entity_type: Option<String>,
    /// Only this entity.
    pub entity_id: Option<String>,
    /// Only this actor.
    pub actor_id: Option<Uuid>,
}

/// Lists the tenant's audit log, newest first; needs VIEW_AUDIT_LOG.
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    filter: &AuditFilter,
    page: &PageRequest,
) -> Result<Page<AuditEntry>, TenancyError> {
    authorize(actor, Permission::ViewAuditLog, Target::Tenant)?;
    let limit = page.limit();
    let mut query = audit_log::table
        .filter(audit_log::tenant_id.eq(actor.tenant_id.into_uuid()))
        .select(AuditEntry::as_select())
        .order(audit_log::id.desc())
        .limit(i64::from(limit) + 1)
        .into_boxed();
    if let Some(cursor) = crate::cursor_uuid(page)? {
        query = query.filter(audit_log::id.lt(cursor));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_log::action.eq(action.clone()));
    }
    if let Some(entity_type) = &filter.entity_type {
        query = query.filter(audit_log::entity_type.eq(entity_type.clone()));
    }
    if let Some(entity_id) = &filter.entity_id {
        query = query.filter(audit_log::entity_id.eq(entity_id.clone()));
    }
    if let Some(actor_id) = filter.actor_id {
        query = query.filter(audit_log::actor_id.eq(actor_id));
    }
    let rows = query.load(conn).await?;
    Ok(Page::from_overfetch(rows, limit, |e| e.id.to_string()))
}
