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
    guild_db::audit::record_for_user_in(conn, &tenants, user.into_uuid(), action).await?;
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

guild_kernel::string_enum!(
    /// How the audit log is sorted: by a field, ascending, or descending with a leading `-`;
    /// ties by entry id (time-ordered).
    AuditSort {
        /// Oldest first.
        CreatedAt => "created_at",
        /// Newest first (the default).
        CreatedAtDesc => "-created_at",
        /// By action, A to Z.
        Action => "action",
        /// By action, Z to A.
        ActionDesc => "-action",
    }
);

impl AuditSort {
    /// The SQL of the sort key, the SQL type of the cursor's key, and whether it is descending.
    fn parts(self) -> (&'static str, &'static str, bool) {
        match self {
            Self::CreatedAt => ("audit_log.created_at", "timestamptz", false),
            Self::CreatedAtDesc => ("audit_log.created_at", "timestamptz", true),
            Self::Action => ("audit_log.action", "text", false),
            Self::ActionDesc => ("audit_log.action", "text", true),
        }
    }

    fn key(self, e: &AuditEntry) -> String {
        match self {
            Self::CreatedAt | Self::CreatedAtDesc => guild_kernel::Keyset::time_key(e.created_at),
            Self::Action | Self::ActionDesc => e.action.clone(),
        }
    }
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

/// Lists the tenant's audit log, newest first unless `sort` says otherwise (keyset on the sort
/// key and the id); needs VIEW_AUDIT_LOG.
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    filter: &AuditFilter,
    sort: Option<AuditSort>,
    page: &PageRequest,
) -> Result<Page<AuditEntry>, TenancyError> {
    use diesel::dsl::sql;
    use diesel::sql_types::{Bool, Text, Uuid as SqlUuid};
    authorize(actor, Permission::ViewAuditLog, Target::Tenant)?;
    let limit = page.limit();
    let mut query = audit_log::table
        .filter(audit_log::tenant_id.eq(actor.tenant_id.into_uuid()))
        .select(AuditEntry::as_select())
        .limit(i64::from(limit) + 1)
        .into_boxed();
    match sort {
        None => {
            query = query.order(audit_log::id.desc());
            if let Some(cursor) = crate::cursor_uuid(page)? {
                query = query.filter(audit_log::id.lt(cursor));
            }
        }
        Some(sort) => {
            let (key, cast, desc) = sort.parts();
            let dir = if desc { "DESC" } else { "ASC" };
            query = query.order(sql::<Text>(&format!("{key} {dir}, audit_log.id {dir}")));
            if let Some(after) = crate::cursor_keyset(page, sort.as_str())? {
                let op = if desc { "<" } else { ">" };
                query = query.filter(
                    sql::<Bool>(&format!("({key}, audit_log.id) {op} (CAST("))
                        .bind::<Text, _>(after.key)
                        .sql(&format!(" AS {cast}), "))
                        .bind::<SqlUuid, _>(after.id)
                        .sql(")"),
                );
            }
        }
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
    Ok(Page::from_overfetch(
        rows,
        limit,
        |e: &AuditEntry| match sort {
            None => e.id.to_string(),
            Some(sort) => guild_kernel::Keyset {
                sort: sort.as_str().to_owned(),
                key: sort.key(e),
                id: e.id,
            }
            .raw(),
        },
    ))
}
