//! Who a module's news reaches: the members a newly available module is for, the readers of
//! a module that changed materially, its learners (announcements) and which members may see it
//! (what its discussions push and notify). The notifications built from these are written by the
//! worker (`api/src/reactions/`), in batches.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Nullable, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_kernel::{DomainEvent, TenantId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::LearningError;

/// A published module became available to members: it was published while assigned to groups
/// (or in a tenant with an open catalog), or assigned to a group while published.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModuleAvailable {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The module.
    pub module_id: Uuid,
    /// The group it was just assigned to; `None` when the module was published.
    pub group_id: Option<Uuid>,
    /// Who made it available (not told about their own work).
    pub by: Uuid,
    /// When: members who joined the tenant later are not told (it was not news to them).
    pub at: DateTime<Utc>,
}

impl DomainEvent for ModuleAvailable {
    const KIND: &'static str = "learning.module_available";
}

#[derive(diesel::QueryableByName)]
struct Recipient {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
}

/// The active members a newly available module is for, excluding `by` and those who joined
/// after it became available: the members of `group`
/// (or of every group the module is assigned to), and everyone when the tenant's catalog is
/// open and the whole module was published. Empty when the module is no longer published.
pub async fn newly_available(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    event: &ModuleAvailable,
) -> Result<Vec<Uuid>, LearningError> {
    let rows: Vec<Recipient> = guild_db::sql(
        "SELECT m.user_id FROM memberships m \
         JOIN modules md ON md.tenant_id = m.tenant_id AND md.id = $2 AND md.status = 'PUBLISHED' \
         WHERE m.tenant_id = $1 AND m.status = 'ACTIVE' AND m.user_id <> $4 \
           AND m.created_at <= $5 \
           AND ( ($3::uuid IS NULL AND (SELECT t.catalog_open FROM tenants t WHERE t.id = $1)) \
              OR EXISTS (SELECT 1 FROM module_groups mg JOIN user_groups ug \
                           ON ug.tenant_id = mg.tenant_id AND ug.group_id = mg.group_id \
                         WHERE mg.tenant_id = $1 AND mg.module_id = $2 AND ug.user_id = m.user_id \
                           AND ($3::uuid IS NULL OR mg.group_id = $3)) ) \
         ORDER BY m.user_id",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(event.module_id)
    .bind::<Nullable<SqlUuid>, _>(event.group_id)
    .bind::<SqlUuid, _>(event.by)
    .bind::<Timestamptz, _>(event.at)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.user_id).collect())
}

/// The active members who have opened `module` before version `version` was published: they are
/// the ones a material change concerns, while they may still see it. Empty when the module is
/// no longer published.
pub async fn readers(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    module: Uuid,
    version: i32,
) -> Result<Vec<Uuid>, LearningError> {
    let rows: Vec<Recipient> = guild_db::sql(
        "SELECT a.user_id FROM user_module_access a \
         JOIN memberships m ON m.tenant_id = a.tenant_id AND m.user_id = a.user_id \
                           AND m.status = 'ACTIVE' \
         JOIN modules md ON md.tenant_id = a.tenant_id AND md.id = a.module_id \
                        AND md.status = 'PUBLISHED' \
         WHERE a.tenant_id = $1 AND a.module_id = $2 AND a.seen_version < $3 \
           AND ( (SELECT t.catalog_open FROM tenants t WHERE t.id = $1) \
              OR EXISTS (SELECT 1 FROM module_mentors mm WHERE mm.tenant_id = $1 \
                           AND mm.module_id = $2 AND mm.user_id = a.user_id) \
              OR EXISTS (SELECT 1 FROM module_groups mg JOIN user_groups ug \
                           ON ug.tenant_id = mg.tenant_id AND ug.group_id = mg.group_id \
                         WHERE mg.tenant_id = $1 AND mg.module_id = $2 \
                           AND ug.user_id = a.user_id) ) \
         ORDER BY a.user_id",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(module)
    .bind::<diesel::sql_types::Integer, _>(version)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.user_id).collect())
}

/// The active mentors of `module`: who grades its submissions and answers its questions.
pub async fn mentors(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    module: Uuid,
) -> Result<Vec<Uuid>, LearningError> {
    let rows: Vec<Recipient> = guild_db::sql(
        "SELECT mm.user_id FROM module_mentors mm \
         JOIN memberships m ON m.tenant_id = mm.tenant_id AND m.user_id = mm.user_id \
                           AND m.status = 'ACTIVE' \
         WHERE mm.tenant_id = $1 AND mm.module_id = $2 ORDER BY mm.user_id",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(module)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.user_id).collect())
}

/// Who may see `module` as [`access::visible`](crate::access::visible) decides it, as SQL over a
/// candidate `m.user_id` (an active membership `m` of tenant `$1`) and the module `md` (id `$2`),
/// for queries that pick many members at once (here, and chat's module rooms): holders
/// of MANAGE_ALL_MODULES (by role or by a grant unscoped or scoped to the module), its creator
/// and mentors, and — once it is published — everyone when the catalog is open, else the members
/// of the groups it is assigned to.
pub const SEES_MODULE: &str = "( m.role IN ('OWNER', 'SUPER_ADMIN', 'ADMIN') \
    OR EXISTS (SELECT 1 FROM user_permissions up WHERE up.tenant_id = $1 \
                 AND up.user_id = m.user_id AND up.permission = 'MANAGE_ALL_MODULES' \
                 AND (up.scope = '{}'::jsonb OR (up.scope -> 'module_ids') ? ($2::uuid)::text)) \
    OR md.created_by = m.user_id \
    OR EXISTS (SELECT 1 FROM module_mentors mm WHERE mm.tenant_id = $1 AND mm.module_id = $2 \
                 AND mm.user_id = m.user_id) \
    OR (md.status = 'PUBLISHED' AND ( (SELECT t.catalog_open FROM tenants t WHERE t.id = $1) \
        OR EXISTS (SELECT 1 FROM module_groups mg JOIN user_groups ug \
                     ON ug.tenant_id = mg.tenant_id AND ug.group_id = mg.group_id \
                   WHERE mg.tenant_id = $1 AND mg.module_id = $2 AND ug.user_id = m.user_id))) )";

/// Which of `users` (active members) may see `module` now, in user order: what a module's
/// discussion may push to or notify. Empty when the module is gone.
pub async fn who_may_see(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    module: Uuid,
    users: &[Uuid],
) -> Result<Vec<Uuid>, LearningError> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<Recipient> = guild_db::sql(format!(
        "SELECT m.user_id FROM memberships m \
         JOIN modules md ON md.tenant_id = m.tenant_id AND md.id = $2 \
         WHERE m.tenant_id = $1 AND m.status = 'ACTIVE' AND m.user_id = ANY($3) \
           AND {SEES_MODULE} ORDER BY m.user_id"
    ))
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(module)
    .bind::<diesel::sql_types::Array<SqlUuid>, _>(users)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.user_id).collect())
}

/// The learners of a published `module`: the active members it is assigned to through their
/// groups, or every active member when the tenant's catalog is open; its mentors too. Empty when
/// the module is not published (an announcement to its learners reaches nobody yet).
pub async fn learners(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    module: Uuid,
) -> Result<Vec<Uuid>, LearningError> {
    let rows: Vec<Recipient> = guild_db::sql(
        "SELECT m.user_id FROM memberships m \
         JOIN modules md ON md.tenant_id = m.tenant_id AND md.id = $2 AND md.status = 'PUBLISHED' \
         WHERE m.tenant_id = $1 AND m.status = 'ACTIVE' \
           AND ( (SELECT t.catalog_open FROM tenants t WHERE t.id = $1) \
              OR EXISTS (SELECT 1 FROM module_mentors mm WHERE mm.tenant_id = $1 \
                           AND mm.module_id = $2 AND mm.user_id = m.user_id) \
              OR EXISTS (SELECT 1 FROM module_groups mg JOIN user_groups ug \
                           ON ug.tenant_id = mg.tenant_id AND ug.group_id = mg.group_id \
                         WHERE mg.tenant_id = $1 AND mg.module_id = $2 \
                           AND ug.user_id = m.user_id) ) \
         ORDER BY m.user_id",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(module)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.user_id).collect())
}
