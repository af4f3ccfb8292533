//! Modules: CRUD with optimistic concurrency (`revision`, exposed as the ETag), the status flow
//! DRAFT → PUBLISHED → ARCHIVED, tags, mentors, prerequisites (acyclic) and group assignments,
//! and the catalog a member sees in SQL ([`list`]): the API answers full-text searches with it;
//! other catalog pages and the module page come from `guild_progress::catalog`, whose tests
//! compare the two.
//!
//! Who sees what is [`crate::access`]'s rule ([`visible`]).
//!
//! Who changes what: a module's content (fields, sections, tags, prerequisites, status) is edited
//! by MANAGE_ALL_MODULES holders and, with MANAGE_OWN_MODULES, by its creator and mentors
//! ([`editable`]). Who learns it and who grades it are not content: assigning it to groups and
//! setting its mentors need MANAGE_ALL_MODULES on the module, tenant-wide or scoped to it
//! ([`stewardable`]), so a mentor cannot make their module mandatory for anyone nor add graders.
//! Nor can they delete what members earned: a module with completions is archived, and only a
//! MANAGE_ALL_MODULES holder may force its deletion, which revokes its certificates and keeps
//! them (`guild_progress::modules::delete`, over [`lock_for_delete`] and [`delete_locked`]).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{
    company_pinned_modules, module_groups, module_mentors, module_prerequisites, module_tags,
    modules, sections, tags, tenants, user_groups, user_pinned_modules,
};
use guild_kernel::{Actor, GroupId, Page, PageRequest, Permission, Target, authorize};
use serde::Serialize;
use uuid::Uuid;

use crate::LearningError;
use crate::access::{editable, may_manage_all, stewardable, visible};
use crate::error::on_missing_reference;

guild_kernel::string_enum!(
    /// Where a module is in its life.
    ModuleStatus {
        /// Being written; seen by its authors only.
        Draft => "DRAFT",
        /// In the catalog.
        Published => "PUBLISHED",
        /// Out of the catalog; kept with its completions and certificates.
        Archived => "ARCHIVED",
    }
);

guild_kernel::string_enum!(
    /// How demanding a module is.
    Difficulty {
        /// For newcomers (the default).
        Beginner => "BEGINNER",
        /// Needs some experience.
        Intermediate => "INTERMEDIATE",
        /// For experts.
        Advanced => "ADVANCED",
    }
);

/// A module's stored fields.
#[derive(Debug, Clone, Serialize, Queryable, Selectable)]
#[diesel(table_name = modules)]
pub struct ModuleRow {
    /// Id.
    pub id: Uuid,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Where it is in its life.
    #[diesel(deserialize_as = String)]
    pub status: ModuleStatus,
    /// How demanding it is.
    #[diesel(deserialize_as = String)]
    pub difficulty: Difficulty,
    /// Cover image.
    pub cover_image_url: Option<String>,
    /// Category.
    pub category_id: Option<Uuid>,
    /// Estimated minutes to complete.
    pub estimated_minutes: Option<i32>,
    /// Months a completion stays valid (compliance).
    pub validity_months: Option<i32>,
    /// The author.
    pub created_by: Uuid,
    /// Bumped by every change; the ETag.
    pub revision: i32,
    /// The latest published version; 0 before the first publish.
    pub version: i32,
    /// When first published.
    pub published_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A module with its catalog facts, as lists and details show it.
#[derive(Debug, Clone, Serialize)]
pub struct Module {
    /// The stored fields.
    #[serde(flatten)]
    pub row: ModuleRow,
    /// Tag names.
    pub tags: Vec<String>,
    /// Mentors' user ids.
    pub mentor_ids: Vec<Uuid>,
    /// Modules to complete first.
    pub prerequisite_ids: Vec<Uuid>,
    /// How many sections it has.
    pub section_count: i64,
    /// For the actor: the earliest due date from their groups' assignments.
    pub due_at: Option<DateTime<Utc>>,
    /// For the actor: assigned as mandatory to one of their groups.
    pub mandatory: bool,
    /// The actor pinned it.
    pub pinned: bool,
    /// Pinned for the whole company.
    pub company_pinned: bool,
    /// When the actor last opened it.
    pub last_accessed_at: Option<DateTime<Utc>>,
    /// A material version newer than the one the actor read exists (until they acknowledge it).
    pub updated_since_last_read: bool,
    /// The actor has not completed all of its prerequisites yet.
    pub locked: bool,
}

/// The editable fields of a module; `None` keeps the value (on create: the default).
#[derive(Debug, Clone, Default)]
pub struct ModuleInput {
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Difficulty.
    pub difficulty: Option<Difficulty>,
    /// Cover image URL (`https:` only, see [`guild_kernel::links`]); `Some(None)` clears it.
    pub cover_image_url: Option<Option<String>>,
    /// Category; `Some(None)` clears it.
    pub category_id: Option<Option<Uuid>>,
    /// Estimated minutes; `Some(None)` clears it.
    pub estimated_minutes: Option<Option<i32>>,
    /// Validity in months; `Some(None)` clears it.
    pub validity_months: Option<Option<i32>>,
    /// Tag names (created on the fly); replaces the set.
    pub tags: Option<Vec<String>>,
}

#[derive(AsChangeset, Default)]
#[diesel(table_name = modules)]
struct Changes {
    title: Option<String>,
    description: Option<String>,
    difficulty: Option<&'static str>,
    cover_image_url: Option<Option<String>>,
    category_id: Option<Option<Uuid>>,
    estimated_minutes: Option<Option<i32>>,
    validity_months: Option<Option<i32>>,
}

/// What [`facts`] reads about one module for the actor.
#[derive(QueryableByName)]
struct Facts {
    #[diesel(sql_type = SqlUuid)]
    module_id: Uuid,
    #[diesel(sql_type = Array<Text>)]
    tags: Vec<String>,
    #[diesel(sql_type = Array<SqlUuid>)]
    mentor_ids: Vec<Uuid>,
    #[diesel(sql_type = Array<SqlUuid>)]
    prerequisite_ids: Vec<Uuid>,
    #[diesel(sql_type = BigInt)]
    section_count: i64,
    #[diesel(sql_type = Bool)]
    pinned: bool,
    #[diesel(sql_type = Bool)]
    company_pinned: bool,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    due_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Bool)]
    mandatory: bool,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    last_accessed_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Bool)]
    updated_since_last_read: bool,
    #[diesel(sql_type = Bool)]
    locked: bool,
}

/// The catalog facts of the modules `$3` for the member `$2` of the tenant `$1`, a row per
/// module: tags, mentors, prerequisites, the section count, pins, the member's assignment
/// ([`crate::assignments_sql!`]'s rule: the earliest due date of their groups', mandatory in
/// any), their reading state (last opened; a material version newer than the one they read) and
/// whether it is locked ([`crate::access::locked_predicate`]).
///
/// One statement, each fact a subquery probing an index by module (`module_id = u.m`), rather
/// than a statement per fact over `module_id = ANY($3)`: a statement costs the database more
/// than these probes (parse, bind, snapshot, locks), and a prepared `= ANY` beside
/// `tenant_id = $1` got a generic plan that scanned the tenant's rows.
static FACTS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT u.m AS module_id, \
            ARRAY(SELECT t.name FROM module_tags mt \
                    JOIN tags t ON t.tenant_id = mt.tenant_id AND t.id = mt.tag_id \
                  WHERE mt.tenant_id = $1 AND mt.module_id = u.m ORDER BY t.name) AS tags, \
            ARRAY(SELECT mm.user_id FROM module_mentors mm \
                  WHERE mm.tenant_id = $1 AND mm.module_id = u.m) AS mentor_ids, \
            ARRAY(SELECT mp.prerequisite_id FROM module_prerequisites mp \
                  WHERE mp.tenant_id = $1 AND mp.module_id = u.m) AS prerequisite_ids, \
            (SELECT count(*) FROM sections s \
              WHERE s.tenant_id = $1 AND s.module_id = u.m) AS section_count, \
            EXISTS (SELECT 1 FROM user_pinned_modules up \
                    WHERE up.tenant_id = $1 AND up.user_id = $2 AND up.module_id = u.m) AS pinned, \
            EXISTS (SELECT 1 FROM company_pinned_modules cp \
                    WHERE cp.tenant_id = $1 AND cp.module_id = u.m) AS company_pinned, \
            asg.due_at, coalesce(asg.mandatory, false) AS mandatory, \
            rd.last_accessed_at, coalesce(rd.updated, false) AS updated_since_last_read, \
            {locked} AS locked \
         FROM unnest($3::uuid[]) AS u (m) \
         LEFT JOIN LATERAL (SELECT a.due_at, a.mandatory FROM ({assignments}) a \
                            WHERE a.user_id = $2 AND a.module_id = u.m) asg ON true \
         LEFT JOIN LATERAL (SELECT ua.last_accessed_at, \
                                   EXISTS (SELECT 1 FROM module_changelog ch \
                                           WHERE ch.tenant_id = ua.tenant_id \
                                             AND ch.module_id = ua.module_id \
                                             AND ch.version > ua.seen_version \
                                             AND ch.kind = 'MATERIAL') AS updated \
                              FROM user_module_access ua \
                             WHERE ua.tenant_id = $1 AND ua.user_id = $2 \
                               AND ua.module_id = u.m) rd ON true",
        locked = crate::access::locked_predicate("u.m"),
        assignments = crate::assignments_sql!(),
    )
});

/// The catalog facts of `ids` for the actor ([`FACTS`]): one statement whatever their number.
async fn facts(
    mut conn: &AsyncPgConnection,
    actor: &Actor,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Facts>, LearningError> {
    let rows: Vec<Facts> = guild_db::sql(FACTS.as_str())
        .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
        .bind::<SqlUuid, _>(actor.user_id.into_uuid())
        .bind::<Array<SqlUuid>, _>(ids)
        .load(&mut conn)
        .await?;
    Ok(rows.into_iter().map(|f| (f.module_id, f)).collect())
}

/// Attaches tags, mentors, prerequisites, section counts, the actor's assignment, reading
/// state, locks and pins to `rows`.
async fn enrich(
    conn: &AsyncPgConnection,
    actor: &Actor,
    rows: Vec<ModuleRow>,
) -> Result<Vec<Module>, LearningError> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    Ok(assemble(rows, facts(conn, actor, &ids).await?))
}

/// The modules of `rows` with their facts.
fn assemble(rows: Vec<ModuleRow>, mut facts: HashMap<Uuid, Facts>) -> Vec<Module> {
    rows.into_iter()
        .map(|row| match facts.remove(&row.id) {
            Some(f) => Module {
                last_accessed_at: f.last_accessed_at,
                updated_since_last_read: f.updated_since_last_read,
                locked: f.locked,
                tags: f.tags,
                mentor_ids: f.mentor_ids,
                prerequisite_ids: f.prerequisite_ids,
                section_count: f.section_count,
                due_at: f.due_at,
                mandatory: f.mandatory,
                pinned: f.pinned,
                company_pinned: f.company_pinned,
                row,
            },
            // `unnest` answers a row for every id: never reached.
            None => Module {
                last_accessed_at: None,
                updated_since_last_read: false,
                locked: false,
                tags: Vec::new(),
                mentor_ids: Vec::new(),
                prerequisite_ids: Vec::new(),
                section_count: 0,
                due_at: None,
                mandatory: false,
                pinned: false,
                company_pinned: false,
                row,
            },
        })
        .collect()
}

fn check_input(input: &ModuleInput) -> Result<(), LearningError> {
    if let Some(Some(url)) = &input.cover_image_url
        && let Err(e) = guild_kernel::check_link(url)
    {
        return Err(LearningError::Invalid(vec![
            e.field_error("cover_image_url"),
        ]));
    }
    Ok(())
}

async fn set_tags(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: Uuid,
    names: &[String],
) -> Result<(), LearningError> {
    let tenant = actor.tenant_id.into_uuid();
    diesel::delete(
        module_tags::table
            .filter(module_tags::tenant_id.eq(tenant))
            .filter(module_tags::module_id.eq(module)),
    )
    .execute(conn)
    .await?;
    let mut unique: Vec<String> = names
        .iter()
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .collect();
    if unique.iter().any(|n| n.chars().count() > 50) {
        return Err(LearningError::invalid(
            "tags",
            "length",
            "a tag name is at most 50 characters",
        ));
    }
    unique.sort_by_key(|n| n.to_lowercase());
    unique.dedup_by_key(|n| n.to_lowercase());
    if unique.is_empty() {
        return Ok(());
    }
    // Tags are created on the fly; the unique index on lower(name) makes concurrent creation safe.
    let new: Vec<_> = unique
        .iter()
        .map(|n| {
            (
                tags::tenant_id.eq(tenant),
                tags::id.eq(Uuid::now_v7()),
                tags::name.eq(n.clone()),
            )
        })
        .collect();
    diesel::insert_into(tags::table)
        .values(new)
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    let lowered: Vec<String> = unique.iter().map(|n| n.to_lowercase()).collect();
    let ids: Vec<Uuid> = tags::table
        .filter(tags::tenant_id.eq(tenant))
        .filter(crate::lower(tags::name).eq_any(&lowered))
        .select(tags::id)
        .load(conn)
        .await?;
    let links: Vec<_> = ids
        .into_iter()
        .map(|tag| {
            (
                module_tags::tenant_id.eq(tenant),
                module_tags::module_id.eq(module),
                module_tags::tag_id.eq(tag),
            )
        })
        .collect();
    diesel::insert_into(module_tags::table)
        .values(links)
        .execute(conn)
        .await?;
    Ok(())
}

/// Creates a DRAFT module (MANAGE_ALL_MODULES or MANAGE_OWN_MODULES).
pub async fn create(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    input: &ModuleInput,
) -> Result<Module, LearningError> {
    if !may_manage_all(actor, None) {
        authorize(actor, Permission::ManageOwnModules, Target::Tenant)?;
    }
    check_input(input)?;
    let title = input
        .title
        .clone()
        .ok_or_else(|| LearningError::invalid("title", "required", "a title is required"))?;
    let id = Uuid::now_v7();
    diesel::insert_into(modules::table)
        .values((
            modules::tenant_id.eq(actor.tenant_id.into_uuid()),
            modules::id.eq(id),
            modules::title.eq(title),
            modules::description.eq(input.description.clone().unwrap_or_default()),
            modules::difficulty.eq(input.difficulty.unwrap_or(Difficulty::Beginner).as_str()),
            modules::cover_image_url.eq(input.cover_image_url.clone().flatten()),
            modules::category_id.eq(input.category_id.flatten()),
            modules::estimated_minutes.eq(input.estimated_minutes.flatten()),
            modules::validity_months.eq(input.validity_months.flatten()),
            modules::created_by.eq(actor.user_id.into_uuid()),
        ))
        .execute(conn)
        .await
        .map_err(on_missing_reference(LearningError::CategoryNotFound))?;
    if let Some(names) = &input.tags {
        set_tags(conn, actor, id, names).await?;
    }
    crate::audit(
        conn,
        actor,
        "MODULE_CREATED",
        "module",
        id,
        serde_json::json!({ "title": input.title }),
    )
    .await?;
    get(conn, actor, id).await
}

/// One module, with its catalog facts.
pub async fn get(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<Module, LearningError> {
    let row = visible(conn, actor, id).await?;
    Ok(enrich(conn, actor, vec![row]).await?.remove(0))
}

/// Bumps the revision if it is still `expected`; otherwise `StaleRevision`.
pub(crate) async fn bump(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    row: &ModuleRow,
    expected: i32,
    now: DateTime<Utc>,
) -> Result<(), LearningError> {
    if row.revision != expected {
        return Err(LearningError::StaleRevision {
            expected,
            current: row.revision,
        });
    }
    let updated = diesel::update(modules::table.find((actor.tenant_id.into_uuid(), row.id)))
        .filter(modules::revision.eq(expected))
        .set((
            modules::revision.eq(expected + 1),
            modules::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    if updated == 0 {
        return Err(LearningError::StaleRevision {
            expected,
            current: expected + 1,
        });
    }
    Ok(())
}

/// Changes a module; `expected` is the revision the client read (its `If-Match`).
pub async fn update(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    expected: i32,
    input: &ModuleInput,
    now: DateTime<Utc>,
) -> Result<Module, LearningError> {
    let row = editable(conn, actor, id).await?;
    if row.status == ModuleStatus::Archived {
        return Err(LearningError::InvalidTransition(
            "an archived module cannot be edited; restore it first",
        ));
    }
    check_input(input)?;
    bump(conn, actor, &row, expected, now).await?;
    let changes = Changes {
        title: input.title.clone(),
        description: input.description.clone(),
        difficulty: input.difficulty.map(Difficulty::as_str),
        cover_image_url: input.cover_image_url.clone(),
        category_id: input.category_id,
        estimated_minutes: input.estimated_minutes,
        validity_months: input.validity_months,
    };
    diesel::update(modules::table.find((actor.tenant_id.into_uuid(), id)))
        .set((
            changes,
            modules::updated_at.eq(now),
            modules::content_changed_at.eq(now),
        ))
        .execute(conn)
        .await
        .map_err(on_missing_reference(LearningError::CategoryNotFound))?;
    if let Some(names) = &input.tags {
        set_tags(conn, actor, id, names).await?;
    }
    crate::audit(
        conn,
        actor,
        "MODULE_UPDATED",
        "module",
        id,
        serde_json::json!({ "revision": expected + 1 }),
    )
    .await?;
    get(conn, actor, id).await
}

/// Moves a module to `status`: publishing needs a section, and records a new version when the
/// module was never published or changed since its latest version (`note` describes it);
/// archived modules leave the catalog.
pub async fn set_status(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    expected: i32,
    status: ModuleStatus,
    note: &crate::versions::ChangeNote,
    now: DateTime<Utc>,
) -> Result<Module, LearningError> {
    use ModuleStatus::{Archived, Draft, Published};
    let row = editable(conn, actor, id).await?;
    let allowed = matches!(
        (row.status, status),
        (Draft, Published)
            | (Published, Archived)
            | (Published, Draft)
            | (Archived, Draft)
            | (Draft, Archived)
    );
    if !allowed {
        return Err(LearningError::InvalidTransition(
            "this status change is not allowed",
        ));
    }
    if status == Published {
        let count: i64 = sections::table
            .filter(sections::tenant_id.eq(actor.tenant_id.into_uuid()))
            .filter(sections::module_id.eq(id))
            .count()
            .get_result(conn)
            .await?;
        if count == 0 {
            return Err(LearningError::EmptyModule);
        }
    }
    bump(conn, actor, &row, expected, now).await?;
    let published_at = if status == Published {
        row.published_at.or(Some(now))
    } else {
        row.published_at
    };
    diesel::update(modules::table.find((actor.tenant_id.into_uuid(), id)))
        .set((
            modules::status.eq(status.as_str()),
            modules::published_at.eq(published_at),
        ))
        .execute(conn)
        .await?;
    if status == Published {
        crate::versions::record_if_changed(conn, actor, &row, note, now).await?;
        let event = crate::audience::ModuleAvailable {
            tenant_id: actor.tenant_id.into_uuid(),
            module_id: id,
            group_id: None,
            by: actor.user_id.into_uuid(),
            // Compared with `memberships.created_at`, which the database stamps: the same clock.
            at: Utc::now(),
        };
        guild_db::outbox::publish(conn, Some(actor.tenant_id), &event).await?;
    }
    let action = match status {
        Published => "MODULE_PUBLISHED",
        Archived => "MODULE_ARCHIVED",
        Draft => "MODULE_UNPUBLISHED",
    };
    crate::audit(
        conn,
        actor,
        action,
        "module",
        id,
        serde_json::json!({ "from": row.status }),
    )
    .await?;
    get(conn, actor, id).await
}

/// The first half of deleting a module (`guild_progress::modules::delete` does the whole): loads
/// a module the actor may edit at revision `expected` and locks its row for update, so that the
/// completions the caller then counts are all there will be.
pub async fn lock_for_delete(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    expected: i32,
) -> Result<ModuleRow, LearningError> {
    let row = editable(conn, actor, id).await?;
    if row.revision != expected {
        return Err(LearningError::StaleRevision {
            expected,
            current: row.revision,
        });
    }
    // Recording a completion takes a key-share lock on the module row (its foreign key): with
    // the row locked for update, a completion recorded concurrently is either counted by the
    // caller or fails once the module is gone, so no certificate escapes its revocation.
    modules::table
        .find((actor.tenant_id.into_uuid(), id))
        .select(modules::id)
        .for_update()
        .first::<Uuid>(conn)
        .await?;
    Ok(row)
}

/// Deletes a module locked by [`lock_for_delete`], recording in the audit row how many
/// completions it had and how many certificates the caller revoked.
pub async fn delete_locked(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    row: &ModuleRow,
    completions: i64,
    revoked: usize,
) -> Result<(), LearningError> {
    diesel::delete(modules::table.find((actor.tenant_id.into_uuid(), row.id)))
        .execute(conn)
        .await?;
    crate::audit(
        conn,
        actor,
        "MODULE_DELETED",
        "module",
        row.id,
        serde_json::json!({
            "title": row.title,
            "forced": completions > 0,
            "completions": completions,
            "certificates_revoked": revoked,
        }),
    )
    .await?;
    Ok(())
}

guild_kernel::string_enum!(
    /// The orders of the catalog: a field, ascending, or descending with a leading `-`. Ties are
    /// broken by id, in the same direction.
    ModuleSort {
        /// Oldest first (the default).
        CreatedAt => "created_at",
        /// Newest first.
        CreatedAtDesc => "-created_at",
        /// By title, A to Z.
        Title => "title",
        /// By title, Z to A.
        TitleDesc => "-title",
        /// Least recently changed first.
        UpdatedAt => "updated_at",
        /// Most recently changed first.
        UpdatedAtDesc => "-updated_at",
    }
);

#[expect(
    clippy::derivable_impls,
    reason = "string_enum! declares the derives; the default is a choice of the catalog"
)]
impl Default for ModuleSort {
    fn default() -> Self {
        Self::CreatedAt
    }
}

/// Filters for the catalog.
#[derive(Debug, Clone, Default)]
pub struct ModuleFilter {
    /// Only this status (managers; members only ever see PUBLISHED).
    pub status: Option<ModuleStatus>,
    /// Only this category.
    pub category_id: Option<Uuid>,
    /// Only modules with this tag.
    pub tag: Option<String>,
    /// Only modules the actor pinned.
    pub pinned: bool,
    /// Full-text search (web-search syntax: words, "phrases", -excluded) over titles,
    /// descriptions and section text.
    pub q: Option<String>,
    /// The order.
    pub sort: ModuleSort,
}

/// The catalog the actor may see (the SQL form), in `filter.sort`'s order, in a fixed number of queries and two
/// round trips of a read-only transaction ([`guild_db::tenant_read_staged`]): the page's rows
/// with `BEGIN`, then their facts, all sent together, with `COMMIT`. The cursor carries the sort
/// (`{sort}|{key}|{id}`): a cursor of another order is refused.
pub async fn list(
    stages: guild_db::ReadStages<'_>,
    actor: &Actor,
    filter: &ModuleFilter,
    page: &PageRequest,
) -> Result<Page<Module>, LearningError> {
    let tenant = actor.tenant_id.into_uuid();
    let limit = page.limit();
    let mut query = modules::table
        .filter(modules::tenant_id.eq(tenant))
        .select(ModuleRow::as_select())
        .limit(i64::from(limit) + 1)
        .into_boxed();
    query = match filter.sort {
        ModuleSort::CreatedAt => query.order((modules::created_at.asc(), modules::id.asc())),
        ModuleSort::CreatedAtDesc => query.order((modules::created_at.desc(), modules::id.desc())),
        ModuleSort::Title => query.order((modules::title.asc(), modules::id.asc())),
        ModuleSort::TitleDesc => query.order((modules::title.desc(), modules::id.desc())),
        ModuleSort::UpdatedAt => query.order((modules::updated_at.asc(), modules::id.asc())),
        ModuleSort::UpdatedAtDesc => query.order((modules::updated_at.desc(), modules::id.desc())),
    };
    if !may_manage_all(actor, None) {
        let me = actor.user_id.into_uuid();
        // The modules the member mentors and those assigned to their groups are uncorrelated
        // subqueries (`id IN (…)`, each run once and hashed), not `EXISTS` per module: under the
        // generic plan a prepared statement gets from its sixth run, the correlated form probed
        // the member's groups once per assignment of every module of the tenant (11 ms instead
        // of 0.5 ms on the benchmark data set).
        let mine = modules::created_by.eq(me).or(modules::id.eq_any(
            module_mentors::table
                .filter(module_mentors::tenant_id.eq(tenant))
                .filter(module_mentors::user_id.eq(me))
                .select(module_mentors::module_id),
        ));
        // The tenant's open-catalog switch, in the same statement (an uncorrelated subquery,
        // evaluated once) rather than a round trip of its own.
        let open = diesel::dsl::exists(
            tenants::table
                .filter(tenants::id.eq(tenant))
                .filter(tenants::catalog_open),
        );
        let assigned = modules::id.eq_any(
            module_groups::table
                .inner_join(
                    user_groups::table.on(user_groups::tenant_id
                        .eq(module_groups::tenant_id)
                        .and(user_groups::group_id.eq(module_groups::group_id))),
                )
                .filter(user_groups::tenant_id.eq(tenant))
                .filter(user_groups::user_id.eq(me))
                .select(module_groups::module_id),
        );
        let published = modules::status.eq("PUBLISHED");
        query = query.filter(published.and(open.or(assigned)).or(mine));
    }
    if let Some(status) = &filter.status {
        query = query.filter(modules::status.eq(status.as_str()));
    }
    if let Some(category) = filter.category_id {
        query = query.filter(modules::category_id.eq(category));
    }
    if let Some(tag) = &filter.tag {
        query = query.filter(diesel::dsl::exists(
            module_tags::table
                .inner_join(
                    tags::table.on(tags::tenant_id
                        .eq(module_tags::tenant_id)
                        .and(tags::id.eq(module_tags::tag_id))),
                )
                .filter(module_tags::tenant_id.eq(modules::tenant_id))
                .filter(module_tags::module_id.eq(modules::id))
                .filter(crate::lower(tags::name).eq(tag.to_lowercase())),
        ));
    }
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        use diesel::dsl::sql;
        use diesel::sql_types::{Bool, Text};
        // The expressions match the GIN indexes of migration create_module_search.
        let in_module = sql::<Bool>("to_tsvector('simple'::regconfig, modules.title || ' ' || modules.description) @@ websearch_to_tsquery('simple', ")
            .bind::<Text, _>(q.to_owned())
            .sql(")");
        let in_sections = sql::<Bool>(
            "EXISTS (SELECT 1 FROM sections s WHERE s.tenant_id = modules.tenant_id AND s.module_id = modules.id \
             AND to_tsvector('simple'::regconfig, s.title || ' ' || regexp_replace(s.content_html, '<[^>]*>', ' ', 'g')) \
             @@ websearch_to_tsquery('simple', ",
        )
        .bind::<Text, _>(q.to_owned())
        .sql("))");
        query = query.filter(in_module.or(in_sections));
    }
    if filter.pinned {
        query = query.filter(diesel::dsl::exists(
            user_pinned_modules::table
                .filter(user_pinned_modules::tenant_id.eq(modules::tenant_id))
                .filter(user_pinned_modules::module_id.eq(modules::id))
                .filter(user_pinned_modules::user_id.eq(actor.user_id.into_uuid())),
        ));
    }
    if let Some((key, id)) = crate::keyset(page)? {
        let sort = filter.sort.as_str();
        let key = key
            .strip_prefix(sort)
            .and_then(|k| k.strip_prefix('|'))
            .ok_or_else(LearningError::bad_cursor)?;
        let time = || crate::cursor_time(key);
        query = match filter.sort {
            ModuleSort::CreatedAt => {
                let t = time()?;
                query.filter(
                    modules::created_at
                        .gt(t)
                        .or(modules::created_at.eq(t).and(modules::id.gt(id))),
                )
            }
            ModuleSort::CreatedAtDesc => {
                let t = time()?;
                query.filter(
                    modules::created_at
                        .lt(t)
                        .or(modules::created_at.eq(t).and(modules::id.lt(id))),
                )
            }
            ModuleSort::UpdatedAt => {
                let t = time()?;
                query.filter(
                    modules::updated_at
                        .gt(t)
                        .or(modules::updated_at.eq(t).and(modules::id.gt(id))),
                )
            }
            ModuleSort::UpdatedAtDesc => {
                let t = time()?;
                query.filter(
                    modules::updated_at
                        .lt(t)
                        .or(modules::updated_at.eq(t).and(modules::id.lt(id))),
                )
            }
            ModuleSort::Title => query.filter(
                modules::title
                    .gt(key.to_owned())
                    .or(modules::title.eq(key.to_owned()).and(modules::id.gt(id))),
            ),
            ModuleSort::TitleDesc => query.filter(
                modules::title
                    .lt(key.to_owned())
                    .or(modules::title.eq(key.to_owned()).and(modules::id.lt(id))),
            ),
        };
    }
    let conn = stages.conn();
    let rows = query.load(&mut { conn }).await?;
    let sort = filter.sort;
    let page = Page::from_overfetch(rows, limit, |r: &ModuleRow| {
        let key = match sort {
            ModuleSort::CreatedAt | ModuleSort::CreatedAtDesc => crate::time_key(r.created_at),
            ModuleSort::UpdatedAt | ModuleSort::UpdatedAtDesc => crate::time_key(r.updated_at),
            ModuleSort::Title | ModuleSort::TitleDesc => r.title.clone(),
        };
        crate::keyset_key(format!("{}|{key}", sort.as_str()), r.id)
    });
    Ok(Page {
        data: stages.last(enrich(conn, actor, page.data)).await?,
        next_cursor: page.next_cursor,
    })
}

/// Replaces the prerequisites, refusing cycles and other tenants' modules.
pub async fn set_prerequisites(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    prerequisites: &[Uuid],
) -> Result<Module, LearningError> {
    editable(conn, actor, id).await?;
    let tenant = actor.tenant_id.into_uuid();
    if prerequisites.contains(&id) {
        return Err(LearningError::PrerequisiteCycle);
    }
    // Two changes checked at once could each see no cycle and together make one (A needs B, B
    // needs A): the tenant's prerequisite changes take turns.
    guild_db::lock_xact(conn, &format!("module_prerequisites:{tenant}")).await?;
    let found: i64 = modules::table
        .filter(modules::tenant_id.eq(tenant))
        .filter(modules::id.eq_any(prerequisites))
        .count()
        .get_result(conn)
        .await?;
    let mut unique = prerequisites.to_vec();
    unique.sort();
    unique.dedup();
    if usize::try_from(found).unwrap_or(0) != unique.len() {
        return Err(LearningError::ModuleNotFound);
    }
    #[derive(QueryableByName)]
    struct Reached {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        cycle: bool,
    }
    // A cycle exists if `id` is reachable from one of the new prerequisites.
    let reached: Reached = guild_db::sql(
        "WITH RECURSIVE reach AS ( \
             SELECT prerequisite_id AS id FROM module_prerequisites \
             WHERE tenant_id = $1 AND module_id = ANY($2) \
             UNION \
             SELECT p.prerequisite_id FROM module_prerequisites p JOIN reach r ON p.module_id = r.id \
             WHERE p.tenant_id = $1) \
         SELECT EXISTS (SELECT 1 FROM reach WHERE id = $3) AS cycle",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<Array<SqlUuid>, _>(&unique)
    .bind::<SqlUuid, _>(id)
    .get_result(conn)
    .await?;
    if reached.cycle {
        return Err(LearningError::PrerequisiteCycle);
    }
    diesel::delete(
        module_prerequisites::table
            .filter(module_prerequisites::tenant_id.eq(tenant))
            .filter(module_prerequisites::module_id.eq(id)),
    )
    .execute(conn)
    .await?;
    let rows: Vec<_> = unique
        .iter()
        .map(|p| {
            (
                module_prerequisites::tenant_id.eq(tenant),
                module_prerequisites::module_id.eq(id),
                module_prerequisites::prerequisite_id.eq(*p),
            )
        })
        .collect();
    if !rows.is_empty() {
        diesel::insert_into(module_prerequisites::table)
            .values(rows)
            .execute(conn)
            .await?;
    }
    crate::audit(
        conn,
        actor,
        "MODULE_PREREQUISITES_CHANGED",
        "module",
        id,
        serde_json::json!({ "prerequisite_ids": unique }),
    )
    .await?;
    get(conn, actor, id).await
}

/// Replaces the mentors (members of the tenant): MANAGE_ALL_MODULES on the module, since mentors
/// grade its quizzes and assignments.
pub async fn set_mentors(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    users: &[Uuid],
) -> Result<Module, LearningError> {
    stewardable(conn, actor, id).await?;
    let tenant = actor.tenant_id.into_uuid();
    diesel::delete(
        module_mentors::table
            .filter(module_mentors::tenant_id.eq(tenant))
            .filter(module_mentors::module_id.eq(id)),
    )
    .execute(conn)
    .await?;
    let mut unique = users.to_vec();
    unique.sort();
    unique.dedup();
    let rows: Vec<_> = unique
        .iter()
        .map(|u| {
            (
                module_mentors::tenant_id.eq(tenant),
                module_mentors::module_id.eq(id),
                module_mentors::user_id.eq(*u),
            )
        })
        .collect();
    if !rows.is_empty() {
        diesel::insert_into(module_mentors::table)
            .values(rows)
            .execute(conn)
            .await
            .map_err(on_missing_reference(LearningError::MentorNotFound))?;
    }
    crate::audit(
        conn,
        actor,
        "MODULE_MENTORS_CHANGED",
        "module",
        id,
        serde_json::json!({ "mentor_ids": unique }),
    )
    .await?;
    get(conn, actor, id).await
}

/// Assigns the module to a group (or updates the assignment): MANAGE_ALL_MODULES on the module.
/// The actor is recorded as the assignment's assigner (see [`crate::access::earns_from`]).
pub async fn assign(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    group: GroupId,
    deadline_days: Option<i32>,
    mandatory: bool,
) -> Result<Module, LearningError> {
    let group = group.into_uuid();
    let row = stewardable(conn, actor, id).await?;
    let tenant = actor.tenant_id.into_uuid();
    diesel::insert_into(module_groups::table)
        .values((
            module_groups::tenant_id.eq(tenant),
            module_groups::module_id.eq(id),
            module_groups::group_id.eq(group),
            module_groups::deadline_days.eq(deadline_days),
            module_groups::is_mandatory.eq(mandatory),
            module_groups::assigned_by.eq(actor.user_id.into_uuid()),
        ))
        .on_conflict((
            module_groups::tenant_id,
            module_groups::module_id,
            module_groups::group_id,
        ))
        .do_update()
        .set((
            module_groups::deadline_days.eq(deadline_days),
            module_groups::is_mandatory.eq(mandatory),
            module_groups::assigned_by.eq(actor.user_id.into_uuid()),
        ))
        .execute(conn)
        .await
        .map_err(on_missing_reference(LearningError::GroupNotFound))?;
    crate::audit(conn, actor, "MODULE_ASSIGNED", "module", id,
        serde_json::json!({ "group_id": group, "deadline_days": deadline_days, "mandatory": mandatory })).await?;
    if row.status == ModuleStatus::Published {
        let event = crate::audience::ModuleAvailable {
            tenant_id: tenant,
            module_id: id,
            group_id: Some(group),
            by: actor.user_id.into_uuid(),
            // Compared with `memberships.created_at`, which the database stamps: the same clock.
            at: Utc::now(),
        };
        guild_db::outbox::publish(conn, Some(actor.tenant_id), &event).await?;
    }
    get(conn, actor, id).await
}

/// Removes the module's assignment to a group: MANAGE_ALL_MODULES on the module.
pub async fn unassign(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    group: GroupId,
) -> Result<Module, LearningError> {
    let group = group.into_uuid();
    stewardable(conn, actor, id).await?;
    diesel::delete(module_groups::table.find((actor.tenant_id.into_uuid(), id, group)))
        .execute(conn)
        .await?;
    crate::audit(
        conn,
        actor,
        "MODULE_UNASSIGNED",
        "module",
        id,
        serde_json::json!({ "group_id": group }),
    )
    .await?;
    get(conn, actor, id).await
}

/// Pins (or unpins) a module the actor can see, for themselves.
pub async fn pin(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    pinned: bool,
) -> Result<Module, LearningError> {
    visible(conn, actor, id).await?;
    let tenant = actor.tenant_id.into_uuid();
    let me = actor.user_id.into_uuid();
    if pinned {
        diesel::insert_into(user_pinned_modules::table)
            .values((
                user_pinned_modules::tenant_id.eq(tenant),
                user_pinned_modules::user_id.eq(me),
                user_pinned_modules::module_id.eq(id),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await
            .map_err(on_missing_reference(LearningError::ModuleNotFound))?;
    } else {
        diesel::delete(user_pinned_modules::table.find((tenant, me, id)))
            .execute(conn)
            .await?;
    }
    get(conn, actor, id).await
}

/// Pins (or unpins) a module for the whole company (MANAGE_ALL_MODULES).
pub async fn company_pin(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    pinned: bool,
) -> Result<Module, LearningError> {
    visible(conn, actor, id).await?;
    authorize(actor, Permission::ManageAllModules, Target::Module(id))?;
    let tenant = actor.tenant_id.into_uuid();
    if pinned {
        diesel::insert_into(company_pinned_modules::table)
            .values((
                company_pinned_modules::tenant_id.eq(tenant),
                company_pinned_modules::module_id.eq(id),
                company_pinned_modules::pinned_by.eq(actor.user_id.into_uuid()),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
    } else {
        diesel::delete(company_pinned_modules::table.find((tenant, id)))
            .execute(conn)
            .await?;
    }
    let action = if pinned {
        "MODULE_COMPANY_PINNED"
    } else {
        "MODULE_COMPANY_UNPINNED"
    };
    crate::audit(conn, actor, action, "module", id, serde_json::json!({})).await?;
    get(conn, actor, id).await
}
