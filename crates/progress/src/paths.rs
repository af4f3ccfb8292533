//! Learning paths: an ordered list of modules with a title, description, cover (an image of the
//! media library), an optional strict order and a validity for its certificate.
//!
//! - **Who edits.** Holders of MANAGE_ALL_MODULES tenant-wide create, edit, publish, archive,
//!   delete and assign paths; edits carry the revision they read (`If-Match`). Status moves
//!   DRAFT → PUBLISHED → ARCHIVED (and back to DRAFT) like modules; a path is published only
//!   with at least one module, all of them PUBLISHED.
//! - **Who sees.** MANAGE_ALL_MODULES holders see every path; a member sees a PUBLISHED path
//!   assigned to one of their groups, one they enrolled in, or any PUBLISHED path when the
//!   tenant's catalog is open (`tenants.catalog_open`); anything else is 404. Of its modules a
//!   member is shown only those they may see (`guild_learning::access`).
//! - **Strict order.** A module of a published strict path is locked for members who have the
//!   path (assigned or enrolled) until every module before it is complete: the rule is
//!   learning's one locking predicate (`guild_learning::access::locked_predicate`), so sections
//!   and quizzes of such a module are refused exactly like those of a module whose
//!   prerequisites are missing.
//! - **Progress is derived** from module completions (active ones: this cycle), so editing a
//!   published path's modules keeps what members did.
//! - **Completion exactly once.** Every recorded module completion calls [`after_module_completed`]
//!   in its transaction: for each path holding the module that the member may see, it takes a
//!   transaction-level advisory lock on (member, path) *after* the module's completion was
//!   written, then checks that every module of the path has an active completion; a partial
//!   unique index allows one active path completion per member and path. Two racing last
//!   modules therefore complete the path once. The completion issues a path certificate (unless
//!   the member created the path: nobody rewards themselves), with `expires_at` from the path's
//!   `validity_months`, and publishes [`PathCompleted`] (PATH_COMPLETED notification and XP).
//!   A module's new compliance cycle (expiry, renewal) archives the member's completion of every
//!   path holding it (`compliance::archive_cycle`): the path is completed again, and certified
//!   again, in the new cycle.

use std::collections::HashMap;

use chrono::{DateTime, Months, Utc};
use diesel::prelude::*;
use diesel::sql_types::{
    Array, BigInt, Bool, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::DbError;
use guild_db::schema::{
    learning_path_groups, learning_path_modules, learning_paths, path_certificates,
    path_completions, users,
};
use guild_kernel::{
    Actor, Denied, DomainEvent, ErrorCode, FieldError, GroupId, Page, PageRequest, Permission,
    Target, TenantId, UserId, authorize,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::LearningError;
use crate::completion::percent;

/// At most this many modules in a path.
pub const MAX_MODULES: usize = 50;
/// At most this many paths in a tenant.
pub const MAX_PATHS_PER_TENANT: i64 = 1000;

/// A refused or failed operation on learning paths.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    /// No such path visible to the actor (another tenant's included).
    #[error("learning path not found")]
    PathNotFound,
    /// The actor lacks a permission.
    #[error(transparent)]
    Forbidden(#[from] Denied),
    /// `If-Match` names another revision.
    #[error("the path changed since you read it (expected revision {expected}, current {current})")]
    StaleRevision {
        /// What the client had.
        expected: i32,
        /// What is stored.
        current: i32,
    },
    /// The status change is not allowed.
    #[error("{0}")]
    InvalidTransition(&'static str),
    /// Publishing a path without modules, or with a module that is not published.
    #[error("a path needs at least one module, every one of them published, to be published")]
    NotPublishable,
    /// Deleting a path members completed: archive it instead.
    #[error("members completed this path; archive it instead")]
    HasCompletions,
    /// The tenant has as many paths as allowed.
    #[error("this organization has reached its limit of learning paths")]
    LimitReached,
    /// No such group.
    #[error("group not found")]
    GroupNotFound,
    /// Self-enrolment needs the tenant's open catalog.
    #[error("this organization's catalog is not open for self-enrolment")]
    CatalogClosed,
    /// The member has as many active enrolments as allowed.
    #[error("you are enrolled in as many modules and paths as allowed")]
    EnrolmentLimitReached,
    /// Invalid fields.
    #[error("the request has invalid fields")]
    Invalid(Vec<FieldError>),
    /// A learning rule refused (module not found, locked…).
    #[error(transparent)]
    Learning(#[from] LearningError),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for PathError {
    fn from(err: diesel::result::Error) -> Self {
        Self::Db(DbError::from(err))
    }
}

impl PathError {
    fn invalid(field: &str, code: &str, message: &str) -> Self {
        Self::Invalid(vec![FieldError::new(field, code, message)])
    }
}

impl ErrorCode for PathError {
    fn code(&self) -> &'static str {
        match self {
            Self::PathNotFound => "path_not_found",
            Self::Forbidden(e) => e.code(),
            Self::StaleRevision { .. } => "precondition_failed",
            Self::InvalidTransition(_) => "invalid_status_transition",
            Self::NotPublishable => "path_not_publishable",
            Self::HasCompletions => "path_has_completions",
            Self::LimitReached => "path_limit_reached",
            Self::GroupNotFound => "group_not_found",
            Self::CatalogClosed => "catalog_closed",
            Self::EnrolmentLimitReached => "enrolment_limit_reached",
            Self::Invalid(_) => "validation_failed",
            Self::Learning(e) => e.code(),
            Self::Db(e) => e.code(),
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::PathNotFound | Self::GroupNotFound => 404,
            Self::Forbidden(_) | Self::CatalogClosed => 403,
            Self::StaleRevision { .. } => 412,
            Self::InvalidTransition(_)
            | Self::HasCompletions
            | Self::LimitReached
            | Self::EnrolmentLimitReached => 409,
            Self::NotPublishable | Self::Invalid(_) => 422,
            Self::Learning(e) => e.status(),
            Self::Db(e) => e.status(),
        }
    }

    fn field_errors(&self) -> Vec<FieldError> {
        match self {
            Self::Invalid(errors) => errors.clone(),
            Self::Learning(e) => e.field_errors(),
            _ => Vec::new(),
        }
    }
}

guild_kernel::string_enum!(
    /// Where a learning path is in its life.
    PathStatus {
        /// Being written; seen by its editors only.
        Draft => "DRAFT",
        /// Seen by members who have it (assigned, enrolled, or an open catalog).
        Published => "PUBLISHED",
        /// Out of the catalog; kept with its completions and certificates.
        Archived => "ARCHIVED",
    }
);

/// A path's stored fields.
#[derive(Debug, Clone, Serialize, Queryable, Selectable)]
#[diesel(table_name = learning_paths)]
pub struct PathRow {
    /// Id.
    pub id: Uuid,
    /// Title.
    pub title: String,
    /// Description (plain text).
    pub description: String,
    /// The cover image, an IMAGE of the media library.
    pub cover_asset_id: Option<Uuid>,
    /// Modules unlock in order.
    pub strict_order: bool,
    /// Months a path certificate stays valid; `None`: it does not expire.
    pub validity_months: Option<i32>,
    /// Where it is in its life.
    #[diesel(deserialize_as = String)]
    pub status: PathStatus,
    /// Bumped by every change; the ETag.
    pub revision: i32,
    /// Who created it.
    pub created_by: Uuid,
    /// When first published.
    pub published_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// One module of a path, as the actor may see it.
#[derive(Debug, Clone, Serialize)]
pub struct PathModule {
    /// The module.
    pub module_id: Uuid,
    /// Its title.
    pub title: String,
    /// Its place, from 0.
    pub position: i32,
}

/// One group a path is assigned to.
#[derive(Debug, Clone, Serialize, Queryable)]
pub struct PathGroup {
    /// The group.
    pub group_id: Uuid,
    /// Days from assignment (or joining the group) to the due date.
    pub deadline_days: Option<i32>,
    /// Mandatory for the group's members.
    pub is_mandatory: bool,
    /// When assigned.
    pub assigned_at: DateTime<Utc>,
}

/// A path with what the actor may see of it.
#[derive(Debug, Clone, Serialize)]
pub struct Path {
    /// The stored fields.
    #[serde(flatten)]
    pub row: PathRow,
    /// Its modules in order (only those the actor may see).
    pub modules: Vec<PathModule>,
    /// The groups it is assigned to (editors only; empty for members).
    pub groups: Vec<PathGroup>,
    /// For the actor: the earliest due date of its assignments to their groups.
    pub due_at: Option<DateTime<Utc>>,
    /// For the actor: assigned as mandatory to one of their groups.
    pub mandatory: bool,
    /// The actor enrolled in it.
    pub enrolled: bool,
}

/// The editable fields of a path; `None` keeps the value (on create: the default).
#[derive(Debug, Clone, Default)]
pub struct PathInput {
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Cover image; `Some(None)` clears it.
    pub cover_asset_id: Option<Option<Uuid>>,
    /// Strict order.
    pub strict_order: Option<bool>,
    /// Certificate validity in months; `Some(None)` clears it.
    pub validity_months: Option<Option<i32>>,
    /// The modules, in order (replaces them all).
    pub module_ids: Option<Vec<Uuid>>,
}

/// A path was assigned to a group, or a path assigned to groups was published (notifications:
/// PATH_ASSIGNED to the groups' members).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PathAssigned {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The path.
    pub path_id: Uuid,
    /// The group; `None` when the path was published (every group it is assigned to).
    pub group_id: Option<Uuid>,
    /// Who assigned or published it (not notified).
    pub by: Uuid,
}

impl DomainEvent for PathAssigned {
    const KIND: &'static str = "progress.path_assigned";
}

/// A member completed a learning path (notifications: PATH_COMPLETED; gamification: XP).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PathCompleted {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The member.
    pub user_id: Uuid,
    /// The path.
    pub path_id: Uuid,
    /// The completion.
    pub completion_id: Uuid,
    /// Its certificate, when one was issued.
    pub certificate_id: Option<Uuid>,
    /// When.
    pub completed_at: DateTime<Utc>,
    /// It earns XP: false when the member created the path.
    pub rewarded: bool,
}

impl DomainEvent for PathCompleted {
    const KIND: &'static str = "progress.path_completed";
}

fn may_edit(actor: &Actor) -> Result<(), PathError> {
    authorize(actor, Permission::ManageAllModules, Target::Tenant)?;
    Ok(())
}

fn is_editor(actor: &Actor) -> bool {
    guild_learning::access::may_manage_all(actor, None)
}

/// Whether member `$2` has path `p` (tenant `$1`): assigned to one of their groups or enrolled.
const HAS_PATH: &str = "(EXISTS (SELECT 1 FROM learning_path_groups pg JOIN user_groups ug \
       ON ug.tenant_id = pg.tenant_id AND ug.group_id = pg.group_id \
     WHERE pg.tenant_id = p.tenant_id AND pg.path_id = p.id AND ug.user_id = $2) \
   OR EXISTS (SELECT 1 FROM enrolments e WHERE e.tenant_id = p.tenant_id AND e.user_id = $2 \
     AND e.path_id = p.id))";

/// Whether member `$2` may see path `p` (tenant `$1`) as a member: published, and they have it
/// or the catalog is open.
fn member_sees() -> String {
    format!(
        "(p.status = 'PUBLISHED' AND ({HAS_PATH} OR coalesce((SELECT t.catalog_open FROM tenants t \
           WHERE t.id = p.tenant_id), false)))"
    )
}

#[derive(QueryableByName)]
struct Seen {
    #[diesel(sql_type = Bool)]
    seen: bool,
}

/// Loads a path the actor may see, or `PathNotFound`.
pub async fn visible(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<PathRow, PathError> {
    let row: PathRow = learning_paths::table
        .find((actor.tenant_id.into_uuid(), id))
        .select(PathRow::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or(PathError::PathNotFound)?;
    if is_editor(actor) {
        return Ok(row);
    }
    let seen: Seen = guild_db::sql(format!(
        "SELECT {} AS seen FROM learning_paths p WHERE p.tenant_id = $1 AND p.id = $3",
        member_sees()
    ))
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<SqlUuid, _>(id)
    .get_result(conn)
    .await?;
    if seen.seen {
        Ok(row)
    } else {
        Err(PathError::PathNotFound)
    }
}

/// Loads a path for an edit at revision `expected` and bumps its revision.
async fn editable(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    expected: i32,
    now: DateTime<Utc>,
) -> Result<PathRow, PathError> {
    let row = visible(conn, actor, id).await?;
    may_edit(actor)?;
    if row.revision != expected {
        return Err(PathError::StaleRevision {
            expected,
            current: row.revision,
        });
    }
    let updated = diesel::update(learning_paths::table.find((actor.tenant_id.into_uuid(), id)))
        .filter(learning_paths::revision.eq(expected))
        .set((
            learning_paths::revision.eq(expected + 1),
            learning_paths::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    if updated == 0 {
        return Err(PathError::StaleRevision {
            expected,
            current: expected + 1,
        });
    }
    Ok(row)
}

fn check_input(input: &PathInput) -> Result<(), PathError> {
    let mut errors = Vec::new();
    if let Some(title) = &input.title
        && (title.trim().is_empty() || title.chars().count() > 200)
    {
        errors.push(FieldError::new(
            "title",
            "length",
            "1 to 200 characters, not blank",
        ));
    }
    if let Some(description) = &input.description
        && description.chars().count() > 10_000
    {
        errors.push(FieldError::new(
            "description",
            "length",
            "at most 10000 characters",
        ));
    }
    if let Some(Some(months)) = input.validity_months
        && !(1..=120).contains(&months)
    {
        errors.push(FieldError::new("validity_months", "range", "1 to 120"));
    }
    if let Some(ids) = &input.module_ids {
        if ids.len() > MAX_MODULES {
            errors.push(FieldError::new(
                "module_ids",
                "too_many",
                "at most 50 modules",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        if !ids.iter().all(|id| seen.insert(*id)) {
            errors.push(FieldError::new(
                "module_ids",
                "duplicate",
                "a module appears once",
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(PathError::Invalid(errors))
    }
}

#[derive(QueryableByName)]
struct CoverCheck {
    #[diesel(sql_type = Bool)]
    ok: bool,
}

/// The cover must be a READY image of the tenant's media library.
async fn check_cover(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    cover: Option<Uuid>,
) -> Result<(), PathError> {
    let Some(cover) = cover else { return Ok(()) };
    let found: CoverCheck = guild_db::sql(
        "SELECT EXISTS (SELECT 1 FROM media_assets WHERE tenant_id = $1 AND id = $2 \
           AND kind = 'IMAGE' AND status = 'READY') AS ok",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(cover)
    .get_result(conn)
    .await?;
    if found.ok {
        Ok(())
    } else {
        Err(PathError::invalid(
            "cover_asset_id",
            "not_an_image",
            "not a ready image of the media library",
        ))
    }
}

/// Replaces the path's modules with `ids`, in order; every module must exist in the tenant.
async fn set_modules(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    path: Uuid,
    ids: &[Uuid],
) -> Result<(), PathError> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let found: Count =
        guild_db::sql("SELECT count(*) AS n FROM modules WHERE tenant_id = $1 AND id = ANY($2)")
            .bind::<SqlUuid, _>(tenant.into_uuid())
            .bind::<Array<SqlUuid>, _>(ids)
            .get_result(conn)
            .await?;
    if usize::try_from(found.n).unwrap_or(0) != ids.len() {
        return Err(PathError::Learning(LearningError::ModuleNotFound));
    }
    diesel::delete(
        learning_path_modules::table
            .filter(learning_path_modules::tenant_id.eq(tenant.into_uuid()))
            .filter(learning_path_modules::path_id.eq(path)),
    )
    .execute(conn)
    .await?;
    let rows: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            (
                learning_path_modules::tenant_id.eq(tenant.into_uuid()),
                learning_path_modules::path_id.eq(path),
                learning_path_modules::module_id.eq(*id),
                learning_path_modules::position.eq(i32::try_from(i).unwrap_or(i32::MAX)),
            )
        })
        .collect();
    if !rows.is_empty() {
        diesel::insert_into(learning_path_modules::table)
            .values(rows)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Creates a DRAFT path (MANAGE_ALL_MODULES tenant-wide); at most [`MAX_PATHS_PER_TENANT`].
pub async fn create(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    input: &PathInput,
    now: DateTime<Utc>,
) -> Result<Path, PathError> {
    may_edit(actor)?;
    check_input(input)?;
    let title = input
        .title
        .clone()
        .ok_or_else(|| PathError::invalid("title", "required", "a title is required"))?;
    let tenant = actor.tenant_id;
    // Serializes creates in the tenant, so the count below is the count.
    guild_db::sql("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind::<Text, _>(format!("paths:{tenant}"))
        .execute(conn)
        .await?;
    let count: i64 = learning_paths::table
        .filter(learning_paths::tenant_id.eq(tenant.into_uuid()))
        .count()
        .get_result(conn)
        .await?;
    if count >= MAX_PATHS_PER_TENANT {
        return Err(PathError::LimitReached);
    }
    let cover = input.cover_asset_id.flatten();
    check_cover(conn, tenant, cover).await?;
    let id = Uuid::now_v7();
    diesel::insert_into(learning_paths::table)
        .values((
            learning_paths::tenant_id.eq(tenant.into_uuid()),
            learning_paths::id.eq(id),
            learning_paths::title.eq(title.trim()),
            learning_paths::description.eq(input.description.clone().unwrap_or_default()),
            learning_paths::cover_asset_id.eq(cover),
            learning_paths::strict_order.eq(input.strict_order.unwrap_or(false)),
            learning_paths::validity_months.eq(input.validity_months.flatten()),
            learning_paths::created_by.eq(actor.user_id.into_uuid()),
            learning_paths::created_at.eq(now),
            learning_paths::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    if let Some(ids) = &input.module_ids {
        set_modules(conn, tenant, id, ids).await?;
    }
    guild_learning::audit(
        conn,
        actor,
        "PATH_CREATED",
        "learning_path",
        id,
        serde_json::json!({ "title": title }),
    )
    .await?;
    get(conn, actor, id).await
}

/// One path the actor may see.
pub async fn get(conn: &mut AsyncPgConnection, actor: &Actor, id: Uuid) -> Result<Path, PathError> {
    let row = visible(conn, actor, id).await?;
    Ok(enrich(conn, actor, vec![row]).await?.remove(0))
}

/// Changes a path at revision `expected`. Changing a published path's modules keeps members'
/// progress (it is derived from their module completions); a published path keeps at least one
/// module, all published.
pub async fn update(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    expected: i32,
    input: &PathInput,
    now: DateTime<Utc>,
) -> Result<Path, PathError> {
    check_input(input)?;
    let row = editable(conn, actor, id, expected, now).await?;
    if row.status == PathStatus::Archived {
        return Err(PathError::InvalidTransition(
            "an archived path cannot be edited; return it to draft first",
        ));
    }
    let tenant = actor.tenant_id;
    if let Some(cover) = input.cover_asset_id {
        check_cover(conn, tenant, cover).await?;
    }
    let target = learning_paths::table.find((tenant.into_uuid(), id));
    if let Some(title) = &input.title {
        diesel::update(target)
            .set(learning_paths::title.eq(title.trim()))
            .execute(conn)
            .await?;
    }
    if let Some(description) = &input.description {
        diesel::update(target)
            .set(learning_paths::description.eq(description))
            .execute(conn)
            .await?;
    }
    if let Some(cover) = input.cover_asset_id {
        diesel::update(target)
            .set(learning_paths::cover_asset_id.eq(cover))
            .execute(conn)
            .await?;
    }
    if let Some(strict) = input.strict_order {
        diesel::update(target)
            .set(learning_paths::strict_order.eq(strict))
            .execute(conn)
            .await?;
    }
    if let Some(months) = input.validity_months {
        diesel::update(target)
            .set(learning_paths::validity_months.eq(months))
            .execute(conn)
            .await?;
    }
    if let Some(ids) = &input.module_ids {
        set_modules(conn, tenant, id, ids).await?;
        if row.status == PathStatus::Published {
            check_publishable(conn, tenant, id).await?;
        }
    }
    guild_learning::audit(
        conn,
        actor,
        "PATH_UPDATED",
        "learning_path",
        id,
        serde_json::json!({ "revision": expected + 1 }),
    )
    .await?;
    get(conn, actor, id).await
}

async fn check_publishable(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: Uuid,
) -> Result<(), PathError> {
    #[derive(QueryableByName)]
    struct Counts {
        #[diesel(sql_type = BigInt)]
        total: i64,
        #[diesel(sql_type = BigInt)]
        published: i64,
    }
    let counts: Counts = guild_db::sql(
        "SELECT count(*) AS total, count(*) FILTER (WHERE m.status = 'PUBLISHED') AS published \
         FROM learning_path_modules lm JOIN modules m ON m.tenant_id = lm.tenant_id AND m.id = lm.module_id \
         WHERE lm.tenant_id = $1 AND lm.path_id = $2",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(id)
    .get_result(conn)
    .await?;
    if counts.total == 0 || counts.published != counts.total {
        return Err(PathError::NotPublishable);
    }
    Ok(())
}

/// Moves a path to `status` at revision `expected`: DRAFT → PUBLISHED (with at least one module,
/// all published) → ARCHIVED, PUBLISHED or ARCHIVED → DRAFT, DRAFT → ARCHIVED. Publishing a path
/// assigned to groups tells their members (PATH_ASSIGNED).
pub async fn set_status(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    expected: i32,
    status: PathStatus,
    now: DateTime<Utc>,
) -> Result<Path, PathError> {
    use PathStatus::{Archived, Draft, Published};
    let row = editable(conn, actor, id, expected, now).await?;
    let allowed = matches!(
        (row.status, status),
        (Draft, Published)
            | (Published, Archived)
            | (Published, Draft)
            | (Archived, Draft)
            | (Draft, Archived)
    );
    if !allowed {
        return Err(PathError::InvalidTransition(
            "this status change is not allowed",
        ));
    }
    let tenant = actor.tenant_id;
    if status == Published {
        check_publishable(conn, tenant, id).await?;
    }
    diesel::update(learning_paths::table.find((tenant.into_uuid(), id)))
        .set((
            learning_paths::status.eq(status.as_str()),
            learning_paths::published_at.eq(if status == Published {
                row.published_at.or(Some(now))
            } else {
                row.published_at
            }),
        ))
        .execute(conn)
        .await?;
    if status == Published {
        guild_db::outbox::publish(
            conn,
            Some(tenant),
            &PathAssigned {
                tenant_id: tenant.into_uuid(),
                path_id: id,
                group_id: None,
                by: actor.user_id.into_uuid(),
            },
        )
        .await?;
    }
    let action = match status {
        Published => "PATH_PUBLISHED",
        Archived => "PATH_ARCHIVED",
        Draft => "PATH_UNPUBLISHED",
    };
    guild_learning::audit(
        conn,
        actor,
        action,
        "learning_path",
        id,
        serde_json::json!({ "from": row.status }),
    )
    .await?;
    get(conn, actor, id).await
}

/// Deletes a path nobody completed (archive it otherwise: `path_has_completions`).
pub async fn delete(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    expected: i32,
    now: DateTime<Utc>,
) -> Result<(), PathError> {
    editable(conn, actor, id, expected, now).await?;
    let tenant = actor.tenant_id.into_uuid();
    let completed: i64 = path_completions::table
        .filter(path_completions::tenant_id.eq(tenant))
        .filter(path_completions::path_id.eq(id))
        .count()
        .get_result(conn)
        .await?;
    if completed > 0 {
        return Err(PathError::HasCompletions);
    }
    diesel::delete(learning_paths::table.find((tenant, id)))
        .execute(conn)
        .await?;
    guild_learning::audit(
        conn,
        actor,
        "PATH_DELETED",
        "learning_path",
        id,
        serde_json::json!({}),
    )
    .await?;
    Ok(())
}

/// Assigns the path to a group (or changes the assignment): MANAGE_ALL_MODULES tenant-wide.
/// A published path's new assignment tells the group's members (PATH_ASSIGNED).
pub async fn assign(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    group: GroupId,
    deadline_days: Option<i32>,
    mandatory: bool,
    now: DateTime<Utc>,
) -> Result<Path, PathError> {
    let row = visible(conn, actor, id).await?;
    may_edit(actor)?;
    if let Some(days) = deadline_days
        && !(1..=3650).contains(&days)
    {
        return Err(PathError::invalid("deadline_days", "range", "1 to 3650"));
    }
    let tenant = actor.tenant_id.into_uuid();
    let group = group.into_uuid();
    diesel::insert_into(learning_path_groups::table)
        .values((
            learning_path_groups::tenant_id.eq(tenant),
            learning_path_groups::path_id.eq(id),
            learning_path_groups::group_id.eq(group),
            learning_path_groups::deadline_days.eq(deadline_days),
            learning_path_groups::is_mandatory.eq(mandatory),
            learning_path_groups::assigned_by.eq(actor.user_id.into_uuid()),
            learning_path_groups::assigned_at.eq(now),
        ))
        .on_conflict((
            learning_path_groups::tenant_id,
            learning_path_groups::path_id,
            learning_path_groups::group_id,
        ))
        .do_update()
        .set((
            learning_path_groups::deadline_days.eq(deadline_days),
            learning_path_groups::is_mandatory.eq(mandatory),
            learning_path_groups::assigned_by.eq(actor.user_id.into_uuid()),
        ))
        .execute(conn)
        .await
        .map_err(|e| match DbError::from(e) {
            DbError::ForeignKeyViolation { .. } => PathError::GroupNotFound,
            other => PathError::Db(other),
        })?;
    guild_learning::audit(
        conn,
        actor,
        "PATH_ASSIGNED",
        "learning_path",
        id,
        serde_json::json!({ "group_id": group, "deadline_days": deadline_days, "mandatory": mandatory }),
    )
    .await?;
    if row.status == PathStatus::Published {
        guild_db::outbox::publish(
            conn,
            Some(actor.tenant_id),
            &PathAssigned {
                tenant_id: tenant,
                path_id: id,
                group_id: Some(group),
                by: actor.user_id.into_uuid(),
            },
        )
        .await?;
    }
    get(conn, actor, id).await
}

/// Removes the path's assignment to a group.
pub async fn unassign(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    group: GroupId,
) -> Result<Path, PathError> {
    visible(conn, actor, id).await?;
    may_edit(actor)?;
    let group = group.into_uuid();
    diesel::delete(learning_path_groups::table.find((actor.tenant_id.into_uuid(), id, group)))
        .execute(conn)
        .await?;
    guild_learning::audit(
        conn,
        actor,
        "PATH_UNASSIGNED",
        "learning_path",
        id,
        serde_json::json!({ "group_id": group }),
    )
    .await?;
    get(conn, actor, id).await
}

/// The paths the actor may see, newest first, a page at a time.
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    page: &PageRequest,
) -> Result<Page<Path>, PathError> {
    let limit = page.limit();
    let cursor = guild_learning::keyset(page)?;
    let (before, before_id) = match &cursor {
        Some((key, id)) => (Some(guild_learning::cursor_time(key)?), Some(*id)),
        None => (None, None),
    };
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    let visible_filter = if is_editor(actor) {
        "true".to_owned()
    } else {
        member_sees()
    };
    let ids: Vec<Id> = guild_db::sql(format!(
        "SELECT p.id FROM learning_paths p WHERE p.tenant_id = $1 AND {visible_filter} \
           AND ($3::timestamptz IS NULL OR (p.created_at, p.id) < ($3, $4)) \
         ORDER BY p.created_at DESC, p.id DESC LIMIT $5"
    ))
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<Nullable<Timestamptz>, _>(before)
    .bind::<Nullable<SqlUuid>, _>(before_id)
    .bind::<BigInt, _>(i64::from(limit) + 1)
    .load(conn)
    .await?;
    let ids: Vec<Uuid> = ids.into_iter().map(|r| r.id).collect();
    let rows: Vec<PathRow> = learning_paths::table
        .filter(learning_paths::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(learning_paths::id.eq_any(&ids))
        .order((learning_paths::created_at.desc(), learning_paths::id.desc()))
        .select(PathRow::as_select())
        .load(conn)
        .await?;
    let items = enrich(conn, actor, rows).await?;
    Ok(Page::from_overfetch(items, limit, |p: &Path| {
        guild_learning::keyset_key(guild_learning::time_key(p.row.created_at), p.row.id)
    }))
}

#[derive(QueryableByName)]
struct ModuleOfPath {
    #[diesel(sql_type = SqlUuid)]
    path_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    module_id: Uuid,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Integer)]
    position: i32,
}

#[derive(QueryableByName)]
struct Mine {
    #[diesel(sql_type = SqlUuid)]
    path_id: Uuid,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    due_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Bool)]
    mandatory: bool,
    #[diesel(sql_type = Bool)]
    enrolled: bool,
}

/// The modules of `paths` the actor may see, in order: editors see them all; members the
/// published ones assigned to them, or all published ones in an open catalog, or the ones they
/// created or mentor (learning's visibility rule, asked in one statement for every path).
async fn modules_of(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    paths: &[Uuid],
) -> Result<Vec<ModuleOfPath>, PathError> {
    let all = is_editor(actor);
    Ok(guild_db::sql(
        "SELECT lm.path_id, lm.module_id, m.title, lm.position FROM learning_path_modules lm \
         JOIN modules m ON m.tenant_id = lm.tenant_id AND m.id = lm.module_id \
         WHERE lm.tenant_id = $1 AND lm.path_id = ANY($3) \
           AND ($4 OR m.created_by = $2 \
             OR EXISTS (SELECT 1 FROM module_mentors mm WHERE mm.tenant_id = m.tenant_id \
                        AND mm.module_id = m.id AND mm.user_id = $2) \
             OR (m.status = 'PUBLISHED' AND (coalesce((SELECT t.catalog_open FROM tenants t \
                                                       WHERE t.id = $1), false) \
                 OR EXISTS (SELECT 1 FROM module_groups mg JOIN user_groups ug \
                              ON ug.tenant_id = mg.tenant_id AND ug.group_id = mg.group_id \
                            WHERE mg.tenant_id = m.tenant_id AND mg.module_id = m.id \
                              AND ug.user_id = $2)))) \
         ORDER BY lm.path_id, lm.position",
    )
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<Array<SqlUuid>, _>(paths)
    .bind::<Bool, _>(all)
    .load(conn)
    .await?)
}

/// The member's assignments of paths (earliest due date, mandatory) and enrolments.
const MY_PATHS: &str = "SELECT p.id AS path_id, \
       (SELECT min(greatest(ug.created_at, pg.assigned_at) + make_interval(days => pg.deadline_days)) \
          FROM learning_path_groups pg JOIN user_groups ug \
            ON ug.tenant_id = pg.tenant_id AND ug.group_id = pg.group_id \
         WHERE pg.tenant_id = p.tenant_id AND pg.path_id = p.id AND ug.user_id = $2) AS due_at, \
       EXISTS (SELECT 1 FROM learning_path_groups pg JOIN user_groups ug \
            ON ug.tenant_id = pg.tenant_id AND ug.group_id = pg.group_id \
         WHERE pg.tenant_id = p.tenant_id AND pg.path_id = p.id AND ug.user_id = $2 \
           AND pg.is_mandatory) AS mandatory, \
       EXISTS (SELECT 1 FROM enrolments e WHERE e.tenant_id = p.tenant_id AND e.user_id = $2 \
           AND e.path_id = p.id) AS enrolled \
     FROM learning_paths p WHERE p.tenant_id = $1 AND p.id = ANY($3)";

async fn enrich(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    rows: Vec<PathRow>,
) -> Result<Vec<Path>, PathError> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let modules = modules_of(conn, actor, &ids).await?;
    let mine: Vec<Mine> = guild_db::sql(MY_PATHS)
        .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
        .bind::<SqlUuid, _>(actor.user_id.into_uuid())
        .bind::<Array<SqlUuid>, _>(&ids)
        .load(conn)
        .await?;
    let groups: Vec<(Uuid, PathGroup)> = if is_editor(actor) {
        learning_path_groups::table
            .filter(learning_path_groups::tenant_id.eq(actor.tenant_id.into_uuid()))
            .filter(learning_path_groups::path_id.eq_any(&ids))
            .order(learning_path_groups::assigned_at)
            .select((
                learning_path_groups::path_id,
                (
                    learning_path_groups::group_id,
                    learning_path_groups::deadline_days,
                    learning_path_groups::is_mandatory,
                    learning_path_groups::assigned_at,
                ),
            ))
            .load(conn)
            .await?
    } else {
        Vec::new()
    };
    let mut by_path: HashMap<Uuid, Vec<PathModule>> = HashMap::new();
    for m in modules {
        by_path.entry(m.path_id).or_default().push(PathModule {
            module_id: m.module_id,
            title: m.title,
            position: m.position,
        });
    }
    let mut groups_by: HashMap<Uuid, Vec<PathGroup>> = HashMap::new();
    for (path, g) in groups {
        groups_by.entry(path).or_default().push(g);
    }
    let mine: HashMap<Uuid, Mine> = mine.into_iter().map(|m| (m.path_id, m)).collect();
    Ok(rows
        .into_iter()
        .map(|row| {
            let me = mine.get(&row.id);
            Path {
                modules: by_path.remove(&row.id).unwrap_or_default(),
                groups: groups_by.remove(&row.id).unwrap_or_default(),
                due_at: me.and_then(|m| m.due_at),
                mandatory: me.is_some_and(|m| m.mandatory),
                enrolled: me.is_some_and(|m| m.enrolled),
                row,
            }
        })
        .collect())
}

/// One module of a path with the member's state on it.
#[derive(Debug, Clone, Serialize)]
pub struct PathModuleProgress {
    /// The module.
    pub module_id: Uuid,
    /// Its title.
    pub title: String,
    /// Its place, from 0.
    pub position: i32,
    /// When the member completed it (this cycle).
    pub completed_at: Option<DateTime<Utc>>,
    /// Not startable yet (prerequisites, or the path's strict order).
    pub locked: bool,
}

/// A member's progress on a path.
#[derive(Debug, Clone, Serialize)]
pub struct PathProgress {
    /// The path.
    pub path_id: Uuid,
    /// Its title.
    pub title: String,
    /// Modules in order.
    pub modules: Vec<PathModuleProgress>,
    /// Modules completed (this cycle).
    pub modules_done: i64,
    /// Modules in the path.
    pub modules_total: i64,
    /// 0–100.
    pub percent: i32,
    /// The earliest due date of its assignments to the member's groups.
    pub due_at: Option<DateTime<Utc>>,
    /// Due, passed and not completed.
    pub overdue: bool,
    /// Assigned as mandatory.
    pub mandatory: bool,
    /// The member enrolled in it.
    pub enrolled: bool,
    /// When completed (this cycle).
    pub completed_at: Option<DateTime<Utc>>,
    /// The path certificate of that completion, if one was issued.
    pub certificate_id: Option<Uuid>,
}

#[derive(QueryableByName)]
struct ModuleState {
    #[diesel(sql_type = SqlUuid)]
    path_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    module_id: Uuid,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Integer)]
    position: i32,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    completed_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Bool)]
    locked: bool,
}

#[derive(QueryableByName)]
struct CompletionRow {
    #[diesel(sql_type = SqlUuid)]
    path_id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    completed_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    certificate_id: Option<Uuid>,
}

static MODULE_STATES: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT lm.path_id, lm.module_id, m.title, lm.position, \
           (SELECT c.completed_at FROM module_completions c WHERE c.tenant_id = lm.tenant_id \
              AND c.user_id = $2 AND c.module_id = lm.module_id AND c.archived_at IS NULL) AS completed_at, \
           {} AS locked \
         FROM learning_path_modules lm JOIN modules m ON m.tenant_id = lm.tenant_id AND m.id = lm.module_id \
         WHERE lm.tenant_id = $1 AND lm.path_id = ANY($3) ORDER BY lm.path_id, lm.position",
        guild_learning::access::locked_predicate("lm.module_id")
    )
});

/// The progress of member `user` on `paths` (no visibility check: callers decide who asks):
/// two statements whatever the number of paths.
pub(crate) async fn progress_of(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    paths: &[(PathRow, Option<DateTime<Utc>>, bool, bool)],
    now: DateTime<Utc>,
) -> Result<Vec<PathProgress>, PathError> {
    let ids: Vec<Uuid> = paths.iter().map(|p| p.0.id).collect();
    let states: Vec<ModuleState> = guild_db::sql(MODULE_STATES.as_str())
        .bind::<SqlUuid, _>(tenant.into_uuid())
        .bind::<SqlUuid, _>(user.into_uuid())
        .bind::<Array<SqlUuid>, _>(&ids)
        .load(conn)
        .await?;
    let completions: Vec<CompletionRow> = guild_db::sql(
        "SELECT pc.path_id, pc.completed_at, \
           (SELECT ce.id FROM path_certificates ce WHERE ce.tenant_id = pc.tenant_id \
              AND ce.completion_id = pc.id) AS certificate_id \
         FROM path_completions pc WHERE pc.tenant_id = $1 AND pc.user_id = $2 \
           AND pc.path_id = ANY($3) AND pc.archived_at IS NULL",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(user.into_uuid())
    .bind::<Array<SqlUuid>, _>(&ids)
    .load(conn)
    .await?;
    let mut by_path: HashMap<Uuid, Vec<PathModuleProgress>> = HashMap::new();
    for s in states {
        by_path
            .entry(s.path_id)
            .or_default()
            .push(PathModuleProgress {
                module_id: s.module_id,
                title: s.title,
                position: s.position,
                completed_at: s.completed_at,
                locked: s.locked,
            });
    }
    let completions: HashMap<Uuid, CompletionRow> =
        completions.into_iter().map(|c| (c.path_id, c)).collect();
    Ok(paths
        .iter()
        .map(|(row, due_at, mandatory, enrolled)| {
            let modules = by_path.remove(&row.id).unwrap_or_default();
            let total = modules.len() as i64;
            let done = modules.iter().filter(|m| m.completed_at.is_some()).count() as i64;
            let completion = completions.get(&row.id);
            let completed_at = completion.map(|c| c.completed_at);
            PathProgress {
                path_id: row.id,
                title: row.title.clone(),
                modules_done: done,
                modules_total: total,
                percent: if completed_at.is_some() {
                    100
                } else {
                    percent(done, total)
                },
                due_at: *due_at,
                overdue: completed_at.is_none() && due_at.is_some_and(|d| d < now),
                mandatory: *mandatory,
                enrolled: *enrolled,
                completed_at,
                certificate_id: completion.and_then(|c| c.certificate_id),
                modules,
            }
        })
        .collect())
}

/// The actor's progress on a path they may see.
pub async fn progress(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<PathProgress, PathError> {
    let path = get(conn, actor, id).await?;
    let entry = (path.row, path.due_at, path.mandatory, path.enrolled);
    Ok(
        progress_of(conn, actor.tenant_id, actor.user_id, &[entry], now)
            .await?
            .remove(0),
    )
}

#[derive(QueryableByName)]
struct Candidate {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// Completes, for the member, every path holding `module` that is now complete: call it in the
/// transaction that recorded the member's completion of `module`, after that write (see the
/// module docs: a lock per member and path, one active completion per member and path).
pub async fn after_module_completed(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    module: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, LearningError> {
    // The published paths holding the module that the member may see, in id order (the locks
    // are then taken in one order by everyone).
    let candidates: Vec<Candidate> = guild_db::sql(format!(
        "SELECT p.id FROM learning_path_modules lm \
         JOIN learning_paths p ON p.tenant_id = lm.tenant_id AND p.id = lm.path_id \
         WHERE lm.tenant_id = $1 AND lm.module_id = $3 AND {} ORDER BY p.id",
        member_sees()
    ))
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(user.into_uuid())
    .bind::<SqlUuid, _>(module)
    .load(conn)
    .await?;
    let mut completed = Vec::new();
    for Candidate { id: path } in candidates {
        // The lock on its own, then the reads it guards.
        guild_db::sql("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind::<Text, _>(format!("path-completion:{tenant}:{user}:{path}"))
            .execute(conn)
            .await?;
        if let Some(id) = complete_if_done(conn, tenant, user, path, now).await? {
            completed.push(id);
        }
    }
    Ok(completed)
}

#[derive(QueryableByName)]
struct Done {
    #[diesel(sql_type = Bool)]
    done: bool,
}

async fn complete_if_done(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    path: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, LearningError> {
    let done: Done = guild_db::sql(
        "SELECT EXISTS (SELECT 1 FROM learning_path_modules WHERE tenant_id = $1 AND path_id = $3) \
           AND NOT EXISTS (SELECT 1 FROM learning_path_modules lm WHERE lm.tenant_id = $1 \
             AND lm.path_id = $3 AND NOT EXISTS (SELECT 1 FROM module_completions c \
               WHERE c.tenant_id = lm.tenant_id AND c.user_id = $2 AND c.module_id = lm.module_id \
                 AND c.archived_at IS NULL)) AS done",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(user.into_uuid())
    .bind::<SqlUuid, _>(path)
    .get_result(conn)
    .await?;
    if !done.done {
        return Ok(None);
    }
    let completion_id = Uuid::now_v7();
    let inserted: Option<Uuid> = guild_db::sql(
        "INSERT INTO path_completions (tenant_id, id, user_id, path_id, completed_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (tenant_id, user_id, path_id) WHERE archived_at IS NULL DO NOTHING \
         RETURNING id",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(completion_id)
    .bind::<SqlUuid, _>(user.into_uuid())
    .bind::<SqlUuid, _>(path)
    .bind::<Timestamptz, _>(now)
    .get_result::<Candidate>(conn)
    .await
    .optional()?
    .map(|c| c.id);
    let Some(completion_id) = inserted else {
        return Ok(None);
    };
    let (title, validity, created_by): (String, Option<i32>, Uuid) = learning_paths::table
        .find((tenant.into_uuid(), path))
        .select((
            learning_paths::title,
            learning_paths::validity_months,
            learning_paths::created_by,
        ))
        .first(conn)
        .await?;
    // Nobody rewards themselves: the path's author completes it without certificate or XP.
    let rewarded = created_by != user.into_uuid();
    let certificate_id = if rewarded {
        Some(
            issue_certificate(
                conn,
                tenant,
                user,
                path,
                completion_id,
                &title,
                validity,
                now,
            )
            .await?,
        )
    } else {
        None
    };
    guild_db::outbox::publish(
        conn,
        Some(tenant),
        &PathCompleted {
            tenant_id: tenant.into_uuid(),
            user_id: user.into_uuid(),
            path_id: path,
            completion_id,
            certificate_id,
            completed_at: now,
            rewarded,
        },
    )
    .await?;
    Ok(Some(completion_id))
}

/// A new unguessable path certificate code: `GP-` and 20 characters of Crockford base32.
fn new_code() -> String {
    format!("GP-{}", &crate::certificates::new_code()[3..])
}

#[expect(
    clippy::too_many_arguments,
    reason = "what a certificate copies at issue"
)]
async fn issue_certificate(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    path: Uuid,
    completion: Uuid,
    title: &str,
    validity: Option<i32>,
    now: DateTime<Utc>,
) -> Result<Uuid, LearningError> {
    let holder: String = users::table
        .find(user.into_uuid())
        .select(users::name)
        .first(conn)
        .await?;
    let renews: Option<Uuid> = path_certificates::table
        .filter(path_certificates::tenant_id.eq(tenant.into_uuid()))
        .filter(path_certificates::user_id.eq(user.into_uuid()))
        .filter(path_certificates::path_id.eq(path))
        .filter(path_certificates::revoked_at.is_null())
        .order(path_certificates::issued_at.desc())
        .select(path_certificates::id)
        .first(conn)
        .await
        .optional()?;
    let expires_at = validity
        .and_then(|months| now.checked_add_months(Months::new(u32::try_from(months).unwrap_or(0))));
    let id = Uuid::now_v7();
    diesel::insert_into(path_certificates::table)
        .values((
            path_certificates::tenant_id.eq(tenant.into_uuid()),
            path_certificates::id.eq(id),
            path_certificates::code.eq(new_code()),
            path_certificates::user_id.eq(user.into_uuid()),
            path_certificates::path_id.eq(path),
            path_certificates::completion_id.eq(completion),
            path_certificates::holder_name.eq(holder),
            path_certificates::path_title.eq(title),
            path_certificates::issued_at.eq(now),
            path_certificates::expires_at.eq(expires_at),
            path_certificates::renews_certificate_id.eq(renews),
        ))
        .execute(conn)
        .await?;
    Ok(id)
}

/// A path certificate.
#[derive(Debug, Clone, Serialize, Queryable, Selectable)]
#[diesel(table_name = path_certificates)]
pub struct PathCertificate {
    /// Id.
    pub id: Uuid,
    /// The public verification code.
    pub code: String,
    /// The holder.
    pub user_id: Uuid,
    /// The path.
    pub path_id: Uuid,
    /// The completion it certifies.
    pub completion_id: Uuid,
    /// The holder's name when issued.
    pub holder_name: String,
    /// The path's title when issued.
    pub path_title: String,
    /// Issued.
    pub issued_at: DateTime<Utc>,
    /// Expires (issue + the path's validity), if it does.
    pub expires_at: Option<DateTime<Utc>>,
    /// The member's earlier certificate of the path it follows.
    pub renews_certificate_id: Option<Uuid>,
    /// Revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl PathCertificate {
    /// VALID, EXPIRED or REVOKED at `now`.
    pub fn status(&self, now: DateTime<Utc>) -> crate::certificates::CertificateStatus {
        use crate::certificates::CertificateStatus;
        if self.revoked_at.is_some() {
            CertificateStatus::Revoked
        } else if self.expires_at.is_some_and(|e| e <= now) {
            CertificateStatus::Expired
        } else {
            CertificateStatus::Valid
        }
    }
}

/// One path certificate: its holder's (acting as themselves), or anyone's with
/// VIEW_ALL_PROGRESS or OVERRIDE_PROGRESS.
pub async fn certificate(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<PathCertificate, LearningError> {
    let found: PathCertificate = path_certificates::table
        .find((actor.tenant_id.into_uuid(), id))
        .select(PathCertificate::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or(LearningError::CertificateNotFound)?;
    let own = found.user_id == actor.user_id.into_uuid() && actor.acts_as_member();
    let all = authorize(actor, Permission::ViewAllProgress, Target::Tenant).is_ok()
        || authorize(actor, Permission::OverrideProgress, Target::Tenant).is_ok();
    if own || all {
        Ok(found)
    } else {
        Err(LearningError::CertificateNotFound)
    }
}

/// Revokes a path certificate (OVERRIDE_PROGRESS; once: 409 `already_revoked`), with the reason
/// and who revoked it; audited. Its public verification then shows it REVOKED.
pub async fn revoke_certificate(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<PathCertificate, LearningError> {
    authorize(actor, Permission::OverrideProgress, Target::Tenant)?;
    let current: PathCertificate = path_certificates::table
        .find((actor.tenant_id.into_uuid(), id))
        .select(PathCertificate::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
        .ok_or(LearningError::CertificateNotFound)?;
    if current.revoked_at.is_some() {
        return Err(LearningError::AlreadyRevoked);
    }
    let revoked: PathCertificate =
        diesel::update(path_certificates::table.find((actor.tenant_id.into_uuid(), id)))
            .set((
                path_certificates::revoked_at.eq(now),
                path_certificates::revoked_reason.eq(reason),
                path_certificates::revoked_by.eq(actor.user_id.into_uuid()),
            ))
            .returning(PathCertificate::as_returning())
            .get_result(conn)
            .await?;
    guild_learning::audit(
        conn,
        actor,
        "PATH_CERTIFICATE_REVOKED",
        "path_certificate",
        id,
        serde_json::json!({ "reason": reason, "user_id": current.user_id, "path_id": current.path_id }),
    )
    .await?;
    Ok(revoked)
}

/// Looks a path certificate's code up across tenants (outside any tenant transaction), for
/// public verification.
pub(crate) async fn verify(
    conn: &mut AsyncPgConnection,
    code: &str,
    now: DateTime<Utc>,
) -> Result<Option<crate::certificates::Verification>, LearningError> {
    let found = path_certificates::table
        .filter(path_certificates::code.eq(code.to_ascii_uppercase()))
        .select(PathCertificate::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(found.map(|c| crate::certificates::Verification {
        status: c.status(now),
        holder_name: c.holder_name,
        module_title: c.path_title,
        issued_at: c.issued_at,
        expires_at: c.expires_at,
    }))
}

#[derive(QueryableByName)]
struct Recipient {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
}

/// The active members a path assignment is for, excluding who made it: the members of the
/// event's group, or of every group the path is assigned to when it was published. Empty when
/// the path is no longer published.
pub async fn assignees(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    event: &PathAssigned,
) -> Result<Vec<Uuid>, LearningError> {
    let rows: Vec<Recipient> = guild_db::sql(
        "SELECT m.user_id FROM memberships m \
         JOIN learning_paths p ON p.tenant_id = m.tenant_id AND p.id = $2 AND p.status = 'PUBLISHED' \
         WHERE m.tenant_id = $1 AND m.status = 'ACTIVE' AND m.user_id <> $4 \
           AND EXISTS (SELECT 1 FROM learning_path_groups pg JOIN user_groups ug \
                         ON ug.tenant_id = pg.tenant_id AND ug.group_id = pg.group_id \
                       WHERE pg.tenant_id = $1 AND pg.path_id = $2 AND ug.user_id = m.user_id \
                         AND ($3::uuid IS NULL OR pg.group_id = $3)) \
         ORDER BY m.user_id",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(event.path_id)
    .bind::<Nullable<SqlUuid>, _>(event.group_id)
    .bind::<SqlUuid, _>(event.by)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.user_id).collect())
}

/// A path's title, if it still exists.
pub async fn title(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    path: Uuid,
) -> Result<Option<String>, LearningError> {
    Ok(learning_paths::table
        .find((tenant.into_uuid(), path))
        .select(learning_paths::title)
        .first(conn)
        .await
        .optional()?)
}

/// The tenant's display name (for the path certificate's PDF).
pub async fn tenant_name(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
) -> Result<String, LearningError> {
    crate::certificates::tenant_name(conn, actor).await
}

/// A path the member has (assigned to one of their groups, or enrolled in), with their
/// progress: what the dashboard and "my learning" show.
#[derive(Debug, Clone, Serialize, QueryableByName)]
pub struct PathSummary {
    /// The path.
    #[diesel(sql_type = SqlUuid)]
    pub path_id: Uuid,
    /// Its title.
    #[diesel(sql_type = Text)]
    pub title: String,
    /// The earliest due date of its assignments to the member's groups.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub due_at: Option<DateTime<Utc>>,
    /// Assigned as mandatory.
    #[diesel(sql_type = Bool)]
    pub mandatory: bool,
    /// Assigned to one of the member's groups.
    #[diesel(sql_type = Bool)]
    pub assigned: bool,
    /// The member enrolled in it.
    #[diesel(sql_type = Bool)]
    pub enrolled: bool,
    /// Modules in the path.
    #[diesel(sql_type = BigInt)]
    pub modules_total: i64,
    /// Modules of it the member completed (this cycle).
    #[diesel(sql_type = BigInt)]
    pub modules_done: i64,
    /// When the member completed the path (this cycle).
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub completed_at: Option<DateTime<Utc>>,
    /// 0–100 (filled in after the read).
    #[diesel(sql_type = Integer)]
    pub percent: i32,
    /// Due, passed and not completed (filled in after the read).
    #[diesel(sql_type = Bool)]
    pub overdue: bool,
}

/// The member's published paths with their progress, one fixed statement (`$1` tenant, `$2`
/// member).
static SUMMARIES: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT p.id AS path_id, p.title, \
           (SELECT min(greatest(ug.created_at, pg.assigned_at) + make_interval(days => pg.deadline_days)) \
              FROM learning_path_groups pg JOIN user_groups ug \
                ON ug.tenant_id = pg.tenant_id AND ug.group_id = pg.group_id \
             WHERE pg.tenant_id = p.tenant_id AND pg.path_id = p.id AND ug.user_id = $2) AS due_at, \
           EXISTS (SELECT 1 FROM learning_path_groups pg JOIN user_groups ug \
                ON ug.tenant_id = pg.tenant_id AND ug.group_id = pg.group_id \
             WHERE pg.tenant_id = p.tenant_id AND pg.path_id = p.id AND ug.user_id = $2 \
               AND pg.is_mandatory) AS mandatory, \
           EXISTS (SELECT 1 FROM learning_path_groups pg JOIN user_groups ug \
                ON ug.tenant_id = pg.tenant_id AND ug.group_id = pg.group_id \
             WHERE pg.tenant_id = p.tenant_id AND pg.path_id = p.id AND ug.user_id = $2) AS assigned, \
           EXISTS (SELECT 1 FROM enrolments e WHERE e.tenant_id = p.tenant_id AND e.user_id = $2 \
               AND e.path_id = p.id) AS enrolled, \
           (SELECT count(*) FROM learning_path_modules lm \
             WHERE lm.tenant_id = p.tenant_id AND lm.path_id = p.id) AS modules_total, \
           (SELECT count(*) FROM learning_path_modules lm JOIN module_completions c \
                ON c.tenant_id = lm.tenant_id AND c.module_id = lm.module_id AND c.user_id = $2 \
               AND c.archived_at IS NULL \
             WHERE lm.tenant_id = p.tenant_id AND lm.path_id = p.id) AS modules_done, \
           (SELECT pc.completed_at FROM path_completions pc WHERE pc.tenant_id = p.tenant_id \
               AND pc.user_id = $2 AND pc.path_id = p.id AND pc.archived_at IS NULL) AS completed_at, \
           0 AS percent, false AS overdue \
         FROM learning_paths p WHERE p.tenant_id = $1 AND p.status = 'PUBLISHED' AND {HAS_PATH} \
         ORDER BY p.created_at, p.id"
    )
});

/// The member's published paths (assigned or enrolled) with their progress, due date and
/// overdue state, overdue first, then by due date. One statement, so a pipelined read (the
/// dashboard) can send it with its others.
pub async fn summaries(
    mut conn: &AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<Vec<PathSummary>, LearningError> {
    let mut rows: Vec<PathSummary> = guild_db::sql(SUMMARIES.as_str())
        .bind::<SqlUuid, _>(tenant.into_uuid())
        .bind::<SqlUuid, _>(user.into_uuid())
        .load(&mut conn)
        .await?;
    for row in &mut rows {
        row.percent = if row.completed_at.is_some() {
            100
        } else {
            percent(row.modules_done, row.modules_total)
        };
        row.overdue = row.completed_at.is_none() && row.due_at.is_some_and(|d| d < now);
    }
    rows.sort_by(|a, b| {
        b.overdue
            .cmp(&a.overdue)
            .then(a.completed_at.is_some().cmp(&b.completed_at.is_some()))
            .then(match (a.due_at, b.due_at) {
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => a.title.cmp(&b.title),
            })
    });
    Ok(rows)
}

/// Demo data: a DRAFT learning path "Getting started" in the demo tenant (slug `demo`) holding
/// its modules (up to three, by title), created by its first ADMIN; nothing when the tenant does
/// not exist or already has a path. Returns whether it created one.
pub async fn seed_demo(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> Result<bool, LearningError> {
    use guild_db::schema::{memberships, modules, tenants};
    let tenant: Option<Uuid> = tenants::table
        .filter(tenants::slug.eq("demo"))
        .select(tenants::id)
        .first(conn)
        .await
        .optional()?;
    let Some(tenant) = tenant else {
        return Ok(false);
    };
    let tenant = TenantId(tenant);
    guild_db::tenant_transaction(conn, tenant, async |conn| {
        let any: i64 = learning_paths::table
            .filter(learning_paths::tenant_id.eq(tenant.into_uuid()))
            .count()
            .get_result(conn)
            .await?;
        let admin: Option<Uuid> = memberships::table
            .filter(memberships::tenant_id.eq(tenant.into_uuid()))
            .filter(memberships::role.eq("ADMIN"))
            .order(memberships::user_id.asc())
            .select(memberships::user_id)
            .first(conn)
            .await
            .optional()?;
        let (0, Some(admin)) = (any, admin) else {
            return Ok::<_, LearningError>(false);
        };
        let ids: Vec<Uuid> = modules::table
            .filter(modules::tenant_id.eq(tenant.into_uuid()))
            .order((modules::title.asc(), modules::id.asc()))
            .select(modules::id)
            .limit(3)
            .load(conn)
            .await?;
        let id = Uuid::now_v7();
        diesel::insert_into(learning_paths::table)
            .values((
                learning_paths::tenant_id.eq(tenant.into_uuid()),
                learning_paths::id.eq(id),
                learning_paths::title.eq("Getting started"),
                learning_paths::description
                    .eq("The first modules to take, in order: publish it once they are published."),
                learning_paths::strict_order.eq(true),
                learning_paths::validity_months.eq(Some(12)),
                learning_paths::created_by.eq(admin),
                learning_paths::created_at.eq(now),
                learning_paths::updated_at.eq(now),
            ))
            .execute(conn)
            .await?;
        set_modules(conn, tenant, id, &ids)
            .await
            .map_err(|e| match e {
                PathError::Learning(e) => e,
                PathError::Db(e) => LearningError::Db(e),
                _ => LearningError::ModuleNotFound,
            })?;
        Ok(true)
    })
    .await
}
