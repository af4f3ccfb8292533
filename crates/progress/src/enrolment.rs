//! Self-enrolment: in a tenant whose catalog is open (`tenants.catalog_open`), members enrol in
//! published modules and learning paths themselves, and leave them; "my learning" lists what
//! they are enrolled in or assigned, with their progress.
//!
//! An enrolment is one row per member and module or path (`enrolments`, unique); enrolling twice
//! changes nothing. A member holds at most [`MAX_ACTIVE_ENROLMENTS`]: the count is read under a
//! per-member advisory lock, so racing enrolments cannot pass it. Enrolling in a strict path
//! makes its order lock its modules for the member, as an assignment does
//! (`guild_learning::access::locked_predicate`). Leaving keeps what the member completed.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{enrolments, tenants};
use guild_kernel::{Actor, TenantId, UserId};
use serde::Serialize;
use uuid::Uuid;

use crate::completion::percent;
use crate::paths::{PathError, PathStatus, PathSummary};

/// At most this many enrolments per member.
pub const MAX_ACTIVE_ENROLMENTS: i64 = 200;

/// What a member enrols in.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// A published module.
    Module(Uuid),
    /// A published learning path.
    Path(Uuid),
}

/// An enrolment.
#[derive(Debug, Clone, Serialize, Queryable, Selectable)]
#[diesel(table_name = enrolments)]
pub struct Enrolment {
    /// Id.
    pub id: Uuid,
    /// The module, for a module's enrolment.
    pub module_id: Option<Uuid>,
    /// The path, for a path's enrolment.
    pub path_id: Option<Uuid>,
    /// When.
    pub enrolled_at: DateTime<Utc>,
}

async fn catalog_open(conn: &mut AsyncPgConnection, tenant: TenantId) -> Result<bool, PathError> {
    Ok(tenants::table
        .find(tenant.into_uuid())
        .select(tenants::catalog_open)
        .first(conn)
        .await?)
}

fn of_target(
    query: enrolments::BoxedQuery<'static, diesel::pg::Pg>,
    target: Target,
) -> enrolments::BoxedQuery<'static, diesel::pg::Pg> {
    match target {
        Target::Module(id) => query.filter(enrolments::module_id.eq(id)),
        Target::Path(id) => query.filter(enrolments::path_id.eq(id)),
    }
}

/// Enrols the actor (acting as a member) in a published module or path they may see, in a
/// tenant whose catalog is open (`catalog_closed` otherwise); once (a second call answers the
/// first enrolment); at most [`MAX_ACTIVE_ENROLMENTS`] (`enrolment_limit_reached`).
pub async fn enrol(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    target: Target,
    now: DateTime<Utc>,
) -> Result<Enrolment, PathError> {
    let tenant = actor.tenant_id;
    let user = actor.user_id;
    match target {
        Target::Module(id) => {
            let row = guild_learning::access::visible(conn, actor, id).await?;
            if row.status != guild_learning::modules::ModuleStatus::Published {
                return Err(PathError::InvalidTransition(
                    "only published modules can be enrolled in",
                ));
            }
        }
        Target::Path(id) => {
            let row = crate::paths::visible(conn, actor, id).await?;
            if row.status != PathStatus::Published {
                return Err(PathError::InvalidTransition(
                    "only published paths can be enrolled in",
                ));
            }
        }
    }
    if !catalog_open(conn, tenant).await? {
        return Err(PathError::CatalogClosed);
    }
    guild_db::sql("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind::<Text, _>(format!("enrolments:{tenant}:{user}"))
        .execute(conn)
        .await?;
    let mine = || {
        enrolments::table
            .filter(enrolments::tenant_id.eq(tenant.into_uuid()))
            .filter(enrolments::user_id.eq(user.into_uuid()))
            .into_boxed()
    };
    if let Some(existing) = of_target(mine(), target)
        .select(Enrolment::as_select())
        .first(conn)
        .await
        .optional()?
    {
        return Ok(existing);
    }
    let count: i64 = mine().count().get_result(conn).await?;
    if count >= MAX_ACTIVE_ENROLMENTS {
        return Err(PathError::EnrolmentLimitReached);
    }
    let (module, path) = match target {
        Target::Module(id) => (Some(id), None),
        Target::Path(id) => (None, Some(id)),
    };
    Ok(diesel::insert_into(enrolments::table)
        .values((
            enrolments::tenant_id.eq(tenant.into_uuid()),
            enrolments::id.eq(Uuid::now_v7()),
            enrolments::user_id.eq(user.into_uuid()),
            enrolments::module_id.eq(module),
            enrolments::path_id.eq(path),
            enrolments::enrolled_at.eq(now),
        ))
        .returning(Enrolment::as_returning())
        .get_result(conn)
        .await?)
}

/// Ends the actor's enrolment in a module or path (nothing when there is none); what they
/// completed stays.
pub async fn leave(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    target: Target,
) -> Result<(), PathError> {
    let tenant = actor.tenant_id.into_uuid();
    let user = actor.user_id.into_uuid();
    let base = enrolments::table
        .filter(enrolments::tenant_id.eq(tenant))
        .filter(enrolments::user_id.eq(user));
    match target {
        Target::Module(id) => {
            diesel::delete(base.filter(enrolments::module_id.eq(id)))
                .execute(conn)
                .await?
        }
        Target::Path(id) => {
            diesel::delete(base.filter(enrolments::path_id.eq(id)))
                .execute(conn)
                .await?
        }
    };
    Ok(())
}

/// A module the member is assigned or enrolled in, with their progress.
#[derive(Debug, Clone, Serialize, QueryableByName)]
pub struct LearningModule {
    /// The module.
    #[diesel(sql_type = SqlUuid)]
    pub module_id: Uuid,
    /// Its title.
    #[diesel(sql_type = Text)]
    pub title: String,
    /// Assigned to one of the member's groups.
    #[diesel(sql_type = Bool)]
    pub assigned: bool,
    /// The member enrolled in it.
    #[diesel(sql_type = Bool)]
    pub enrolled: bool,
    /// Assigned as mandatory.
    #[diesel(sql_type = Bool)]
    pub mandatory: bool,
    /// The earliest due date of its assignments.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub due_at: Option<DateTime<Utc>>,
    /// Sections in the module.
    #[diesel(sql_type = BigInt)]
    pub sections_total: i64,
    /// Sections the member completed (this cycle).
    #[diesel(sql_type = BigInt)]
    pub sections_done: i64,
    /// When the member completed it (this cycle).
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub completed_at: Option<DateTime<Utc>>,
    /// 0–100 (sections; 100 once completed).
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub percent: i32,
}

/// What a member is learning: their assigned and enrolled modules and paths.
#[derive(Debug, Clone, Serialize)]
pub struct MyLearning {
    /// Published modules assigned to them or that they enrolled in.
    pub modules: Vec<LearningModule>,
    /// Published paths assigned to them or that they enrolled in.
    pub paths: Vec<PathSummary>,
}

static MY_MODULES: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "WITH assigned AS ({}), \
         mine AS (SELECT module_id FROM assigned WHERE user_id = $2 \
                  UNION SELECT module_id FROM enrolments \
                  WHERE tenant_id = $1 AND user_id = $2 AND module_id IS NOT NULL) \
         SELECT m.id AS module_id, m.title, (a.module_id IS NOT NULL) AS assigned, \
           EXISTS (SELECT 1 FROM enrolments e WHERE e.tenant_id = m.tenant_id AND e.user_id = $2 \
                   AND e.module_id = m.id) AS enrolled, \
           coalesce(a.mandatory, false) AS mandatory, a.due_at, \
           (SELECT count(*) FROM sections s WHERE s.tenant_id = m.tenant_id AND s.module_id = m.id) \
             AS sections_total, \
           (SELECT count(*) FROM section_completions sc WHERE sc.tenant_id = m.tenant_id \
              AND sc.user_id = $2 AND sc.module_id = m.id AND sc.archived_at IS NULL) AS sections_done, \
           (SELECT c.completed_at FROM module_completions c WHERE c.tenant_id = m.tenant_id \
              AND c.user_id = $2 AND c.module_id = m.id AND c.archived_at IS NULL) AS completed_at, \
           0 AS percent \
         FROM mine JOIN modules m ON m.tenant_id = $1 AND m.id = mine.module_id \
           AND m.status = 'PUBLISHED' \
         LEFT JOIN assigned a ON a.user_id = $2 AND a.module_id = m.id \
         ORDER BY m.title, m.id",
        guild_learning::assignments_sql!()
    )
});

/// The actor's assigned and enrolled modules and paths, with their progress: two statements,
/// sent together.
pub async fn my_learning(
    mut conn: &AsyncPgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<MyLearning, PathError> {
    let tenant: TenantId = actor.tenant_id;
    let user: UserId = actor.user_id;
    let modules = guild_db::sql(MY_MODULES.as_str())
        .bind::<SqlUuid, _>(tenant.into_uuid())
        .bind::<SqlUuid, _>(user.into_uuid())
        .load::<LearningModule>(&mut conn);
    let (mut modules, paths) =
        futures_util::future::try_join(async { modules.await.map_err(PathError::from) }, async {
            crate::paths::summaries(conn, tenant, user, now)
                .await
                .map_err(PathError::from)
        })
        .await?;
    for m in &mut modules {
        m.percent = if m.completed_at.is_some() {
            100
        } else {
            percent(m.sections_done, m.sections_total)
        };
    }
    Ok(MyLearning { modules, paths })
}
