//! Who may see, edit and steward a module, whether one mentors it, and who earns from
//! completing it. These are learning's rules; assessment (a quiz is visible exactly when its
//! module is) and progress (completions, certificates) ask them here rather than copying them.
//!
//! Who sees what: holders of MANAGE_ALL_MODULES see every module; a module's creator and mentors
//! see it; everyone else sees PUBLISHED modules assigned to one of their groups, or every
//! PUBLISHED module when the tenant's catalog is open. Anything else is 404, as if it did not
//! exist.

use diesel::prelude::*;
use std::collections::HashSet;

use diesel::sql_types::{Array, Bool, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{module_mentors, modules};
use guild_kernel::{Actor, Permission, Target, TenantId, UserId, authorize};
use uuid::Uuid;

use crate::LearningError;
use crate::modules::{ModuleRow, ModuleStatus};

/// Holds MANAGE_ALL_MODULES for this module (or the whole tenant when `module` is `None`).
pub fn may_manage_all(actor: &Actor, module: Option<Uuid>) -> bool {
    let target = module.map_or(Target::Tenant, Target::Module);
    authorize(actor, Permission::ManageAllModules, target).is_ok()
}

/// The actor is one of the module's mentors.
pub async fn is_mentor(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: Uuid,
) -> Result<bool, LearningError> {
    Ok(diesel::select(diesel::dsl::exists(
        module_mentors::table
            .filter(module_mentors::tenant_id.eq(actor.tenant_id.into_uuid()))
            .filter(module_mentors::module_id.eq(module))
            .filter(module_mentors::user_id.eq(actor.user_id.into_uuid())),
    ))
    .get_result(conn)
    .await?)
}

#[derive(QueryableByName)]
struct Access {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    mentor: bool,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Bool>)]
    catalog_open: Option<bool>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    assigned: bool,
}

/// Loads a module the actor may see, or `ModuleNotFound` (404: invisible is as if absent).
pub async fn visible(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<ModuleRow, LearningError> {
    visible_on(conn, actor, id).await
}

/// [`visible`] on a shared connection, so callers can pipeline it with their own reads: the
/// module and who may see it are asked in one round trip.
pub async fn visible_on(
    mut conn: &AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<ModuleRow, LearningError> {
    let row = modules::table
        .find((actor.tenant_id.into_uuid(), id))
        .select(ModuleRow::as_select())
        .first(&mut conn);
    if may_manage_all(actor, Some(id)) {
        return row.await.optional()?.ok_or(LearningError::ModuleNotFound);
    }
    // Mentor, or (published and) an open catalog or an assignment.
    let access = guild_db::sql(
        "SELECT EXISTS (SELECT 1 FROM module_mentors mm WHERE mm.tenant_id = $1 \
                          AND mm.module_id = $3 AND mm.user_id = $2) AS mentor, \
                (SELECT t.catalog_open FROM tenants t WHERE t.id = $1) AS catalog_open, \
                EXISTS (SELECT 1 FROM module_groups mg JOIN user_groups ug \
                          ON ug.tenant_id = mg.tenant_id AND ug.group_id = mg.group_id \
                        WHERE mg.tenant_id = $1 AND mg.module_id = $3 AND ug.user_id = $2) AS assigned",
    )
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<SqlUuid, _>(id)
    .get_result::<Access>(&mut conn);
    let (row, access) = futures_util::future::join(row, access).await;
    let row = row.optional()?.ok_or(LearningError::ModuleNotFound)?;
    if row.created_by == actor.user_id.into_uuid() {
        return Ok(row);
    }
    let access = access?;
    if access.mentor
        || (row.status == ModuleStatus::Published
            && (access.catalog_open.unwrap_or(false) || access.assigned))
    {
        return Ok(row);
    }
    Err(LearningError::ModuleNotFound)
}

/// Loads a module the actor may edit: MANAGE_ALL_MODULES, or MANAGE_OWN_MODULES as its creator
/// or a mentor. Visible but not editable is 403; invisible is 404.
pub async fn editable(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<ModuleRow, LearningError> {
    let row = visible(conn, actor, id).await?;
    if may_manage_all(actor, Some(id)) {
        return Ok(row);
    }
    let own = row.created_by == actor.user_id.into_uuid() || is_mentor(conn, actor, id).await?;
    authorize(actor, Permission::ManageOwnModules, Target::Module(id))?;
    if own {
        Ok(row)
    } else {
        Err(LearningError::Forbidden(guild_kernel::Denied(
            Permission::ManageAllModules,
        )))
    }
}

/// Loads a module whose assignments and mentors the actor may set: MANAGE_ALL_MODULES on it
/// (tenant-wide or scoped to the module). Its creator and mentors edit its content only. Visible
/// but not allowed is 403; invisible is 404.
pub async fn stewardable(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<ModuleRow, LearningError> {
    let row = visible(conn, actor, id).await?;
    authorize(actor, Permission::ManageAllModules, Target::Module(id))?;
    Ok(row)
}

#[derive(QueryableByName)]
struct Earns {
    #[diesel(sql_type = Bool)]
    earns: bool,
}

/// Whether completing `module` (or a high score in its quizzes) earns the member XP and a
/// certificate: yes, unless they created or mentor it and no assignment of it to one of their
/// groups was made by someone else. Decided from learning's tables only (modules, mentors, group
/// assignments) and the member's groups.
pub async fn earns_from(
    mut conn: &AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    module: Uuid,
) -> Result<bool, LearningError> {
    let row: Earns = guild_db::sql(
        "SELECT (m.created_by <> $2 AND NOT EXISTS (SELECT 1 FROM module_mentors mm                    WHERE mm.tenant_id = m.tenant_id AND mm.module_id = m.id AND mm.user_id = $2))              OR EXISTS (SELECT 1 FROM module_groups mg JOIN user_groups ug                    ON ug.tenant_id = mg.tenant_id AND ug.group_id = mg.group_id                  WHERE mg.tenant_id = m.tenant_id AND mg.module_id = m.id AND ug.user_id = $2                    AND mg.assigned_by <> $2) AS earns          FROM modules m WHERE m.tenant_id = $1 AND m.id = $3",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(user.into_uuid())
    .bind::<SqlUuid, _>(module)
    .get_result(&mut conn)
    .await?;
    Ok(row.earns)
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = SqlUuid)]
    module_id: Uuid,
}

/// The prerequisite `p` lacks an active completion by the member `$2`.
pub const PREREQUISITE_MISSING: &str = "NOT EXISTS (SELECT 1 FROM module_completions pc \
     WHERE pc.tenant_id = p.tenant_id AND pc.user_id = $2 AND pc.module_id = p.prerequisite_id \
       AND pc.archived_at IS NULL)";

/// The one rule of what locks a module, as an SQL predicate on the module id expression
/// `module`, with the tenant bound as `$1` and the member as `$2`: a prerequisite lacks an
/// active completion by them, or the module is in a PUBLISHED strict-order learning path the
/// member has (assigned to one of their groups, or enrolled in) and a module before it in that
/// path lacks an active completion by them.
///
/// Its own aliases start with `x`, so `module` may name a column of the caller's tables.
///
/// Learning paths are progress's tables (`learning_paths`, `learning_path_modules`,
/// `learning_path_groups`, `enrolments`), read here like `module_completions`: the catalog's
/// `locked` flag, the sections progress refuses and the quizzes assessment refuses to start all
/// ask this one predicate.
pub fn locked_predicate(module: &str) -> String {
    format!(
        "(EXISTS (SELECT 1 FROM module_prerequisites p \
                  WHERE p.tenant_id = $1 AND p.module_id = {module} AND {PREREQUISITE_MISSING}) \
          OR EXISTS (SELECT 1 FROM learning_path_modules xlm \
                  JOIN learning_paths xlp ON xlp.tenant_id = xlm.tenant_id AND xlp.id = xlm.path_id \
                  JOIN learning_path_modules xpm ON xpm.tenant_id = xlm.tenant_id \
                       AND xpm.path_id = xlm.path_id AND xpm.position < xlm.position \
                  WHERE xlm.tenant_id = $1 AND xlm.module_id = {module} \
                    AND xlp.strict_order AND xlp.status = 'PUBLISHED' \
                    AND (EXISTS (SELECT 1 FROM learning_path_groups xpg JOIN user_groups xug \
                                   ON xug.tenant_id = xpg.tenant_id AND xug.group_id = xpg.group_id \
                                 WHERE xpg.tenant_id = xlm.tenant_id AND xpg.path_id = xlm.path_id \
                                   AND xug.user_id = $2) \
                         OR EXISTS (SELECT 1 FROM enrolments xe WHERE xe.tenant_id = xlm.tenant_id \
                                   AND xe.user_id = $2 AND xe.path_id = xlm.path_id)) \
                    AND NOT EXISTS (SELECT 1 FROM module_completions xsc \
                        WHERE xsc.tenant_id = xlm.tenant_id AND xsc.user_id = $2 \
                          AND xsc.module_id = xpm.module_id AND xsc.archived_at IS NULL)))"
    )
}

static LOCKED_MODULES: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT u.m AS module_id FROM unnest($3::uuid[]) AS u(m) WHERE {}",
        locked_predicate("u.m")
    )
});

/// Which of `modules` the member cannot start yet ([`locked_predicate`]): a prerequisite lacks
/// an active completion, or a module before it in a strict learning path they have does.
///
/// This reads `module_completions` and the learning paths, which progress owns: the catalog
/// shows whether a module is locked, and assessment refuses to start a quiz of a locked module.
/// These are the reads of tables of a crate above learning (see `docs/ARCHITECTURE.md`, table
/// ownership).
pub async fn locked_modules(
    mut conn: &AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    modules: &[Uuid],
) -> Result<HashSet<Uuid>, LearningError> {
    let rows: Vec<Locked> = guild_db::sql(LOCKED_MODULES.as_str())
        .bind::<SqlUuid, _>(tenant.into_uuid())
        .bind::<SqlUuid, _>(user.into_uuid())
        .bind::<Array<SqlUuid>, _>(modules)
        .load(&mut conn)
        .await?;
    Ok(rows.into_iter().map(|r| r.module_id).collect())
}

/// Whether `module` is locked for `user` ([`locked_predicate`]). Nothing of a locked module can
/// be learned yet: its sections are not completed, its quizzes not started.
pub async fn is_locked(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    module: Uuid,
) -> Result<bool, LearningError> {
    Ok(locked_modules(conn, tenant, user, &[module])
        .await?
        .contains(&module))
}

#[derive(QueryableByName)]
struct VisibleModule {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// The PUBLISHED modules the actor may see ([`visible`]'s rule, for many modules at once, as the
/// catalog's list applies it): every one with MANAGE_ALL_MODULES tenant-wide; else those a grant
/// scopes it to, those they created or mentor, and — the catalog open — all, or else those
/// assigned to one of their groups. `only` keeps one module (when visible). What questions are
/// answered from (`guild_ai::retrieval`) is limited to these.
pub async fn visible_published(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    only: Option<Uuid>,
) -> Result<Vec<Uuid>, LearningError> {
    let all = may_manage_all(actor, None);
    // Modules a scoped MANAGE_ALL_MODULES grant names (role defaults are tenant-wide).
    let granted: Vec<Uuid> = actor
        .grants
        .iter()
        .filter(|g| g.permission == Permission::ManageAllModules)
        .filter_map(|g| g.scope.module_ids.clone())
        .flatten()
        .filter(|id| may_manage_all(actor, Some(*id)))
        .collect();
    let rows: Vec<VisibleModule> = guild_db::sql(
        "SELECT md.id FROM modules md \
         WHERE md.tenant_id = $1 AND md.status = 'PUBLISHED' \
           AND ($3::uuid IS NULL OR md.id = $3) \
           AND ( $4 OR md.id = ANY($5) OR md.created_by = $2 \
              OR EXISTS (SELECT 1 FROM module_mentors mm WHERE mm.tenant_id = $1 \
                           AND mm.module_id = md.id AND mm.user_id = $2) \
              OR (SELECT t.catalog_open FROM tenants t WHERE t.id = $1) \
              OR EXISTS (SELECT 1 FROM module_groups mg JOIN user_groups ug \
                           ON ug.tenant_id = mg.tenant_id AND ug.group_id = mg.group_id \
                         WHERE mg.tenant_id = $1 AND mg.module_id = md.id AND ug.user_id = $2) ) \
         ORDER BY md.id",
    )
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<diesel::sql_types::Nullable<SqlUuid>, _>(only)
    .bind::<Bool, _>(all)
    .bind::<Array<SqlUuid>, _>(&granted[..])
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}
