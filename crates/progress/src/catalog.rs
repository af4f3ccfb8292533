//! The member's catalog (`GET /v1/modules`), answered from two parts:
//!
//! - **What every member of the tenant shares** ([`Shared`]): its modules with their tags,
//!   mentors, prerequisites, section counts, company pins and latest material version, and its
//!   published strict-order learning paths. A server keeps it in memory ([`CatalogCache`]) with
//!   the tenant's *catalog stamp*, a counter that triggers on those tables move in the changing
//!   transaction (migration `create_catalog_stamps`).
//! - **What is the member's own** ([`Member`]): the stamp, the open-catalog switch, their groups,
//!   their groups' assignments, cycles, pins, readings, active completions and path enrolments, as
//!   arrays in one statement of a read-only transaction ([`member`]).
//!
//! When the member's stamp equals the kept copy's, the copy is what the database holds and the
//! page is computed here, with no further statement; otherwise the shared part is read again
//! ([`load`], one statement and its stamp, so what is kept matches its stamp) and kept. The
//! module page (`GET /v1/modules/{id}`) is answered the same way ([`module`]). The rules are
//! those of the SQL catalog (`guild_learning::modules::{list, get}`, still used by editors'
//! reads and full-text searches): visibility
//! ([`guild_learning::access`]), the due date ([`guild_learning::assigned::group_due_at`]), the
//! lock ([`guild_learning::access::locked_predicate`]) and "updated since last read"; the tests
//! compare the two on the same data.
//!
//! A full-text search (`q`) and a title cursor whose module is gone or renamed are answered by
//! [`guild_learning::modules::list`] (SQL): titles sort in the database's collation, which this
//! side does not have; it orders titles by the rank the database gave them.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Bool, Int4, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_kernel::{Actor, Page, PageRequest, TenantId};
use guild_learning::LearningError;
use guild_learning::access::may_manage_all;
use guild_learning::assigned::{earliest, group_due_at};
use guild_learning::modules::{
    Difficulty, Module, ModuleFilter, ModuleRow, ModuleSort, ModuleStatus,
};
use uuid::Uuid;

/// One module as every member of the tenant sees it, before their own facts.
#[derive(Debug, Clone)]
struct SharedModule {
    row: ModuleRow,
    tags: Vec<String>,
    mentor_ids: Vec<Uuid>,
    prerequisite_ids: Vec<Uuid>,
    section_count: i64,
    company_pinned: bool,
    /// The latest MATERIAL version in its changelog (0: none).
    material_version: i32,
    /// Its place among the tenant's modules by title, then id, in the database's collation.
    title_rank: i64,
}

/// A published strict-order learning path: its modules in order and the groups it is assigned to.
#[derive(Debug, Clone, serde::Deserialize)]
struct StrictPath {
    id: Uuid,
    modules: Vec<Uuid>,
    groups: Vec<Uuid>,
}

/// The part of a tenant's catalog every member shares, as of `stamp`.
#[derive(Debug)]
pub struct Shared {
    stamp: i64,
    /// In `created_at`, then id, order.
    modules: Vec<SharedModule>,
    paths: Vec<StrictPath>,
    bytes: usize,
}

impl Shared {
    /// The catalog stamp it was read at.
    pub fn stamp(&self) -> i64 {
        self.stamp
    }
}

/// The shared parts of tenants' catalogs a server keeps, each with its stamp; at most
/// `max_bytes` of them (roughly counted), the least recently used dropped first.
#[derive(Debug)]
pub struct CatalogCache {
    entries: Mutex<HashMap<TenantId, (Arc<Shared>, Instant)>>,
    max_bytes: usize,
}

impl Default for CatalogCache {
    fn default() -> Self {
        Self::new(32 * 1024 * 1024)
    }
}

impl CatalogCache {
    /// A cache of at most `max_bytes`.
    pub fn new(max_bytes: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            max_bytes,
        }
    }

    /// The kept part of `tenant`'s catalog if it is as of `stamp`.
    pub fn get(&self, tenant: TenantId, stamp: i64) -> Option<Arc<Shared>> {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (shared, used) = entries.get_mut(&tenant)?;
        if shared.stamp != stamp {
            return None;
        }
        *used = Instant::now();
        Some(Arc::clone(shared))
    }

    /// Keeps `shared` for `tenant`, unless a copy of a later stamp is kept already.
    pub fn put(&self, tenant: TenantId, shared: Arc<Shared>) {
        if shared.bytes > self.max_bytes {
            return;
        }
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries
            .get(&tenant)
            .is_some_and(|(kept, _)| kept.stamp > shared.stamp)
        {
            return;
        }
        entries.remove(&tenant);
        let mut total: usize = entries.values().map(|(s, _)| s.bytes).sum();
        while total + shared.bytes > self.max_bytes {
            let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(t, _)| *t)
            else {
                break;
            };
            if let Some((s, _)) = entries.remove(&oldest) {
                total -= s.bytes;
            }
        }
        entries.insert(tenant, (shared, Instant::now()));
    }

    /// How many tenants' catalogs are kept.
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(QueryableByName)]
struct SharedRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Text)]
    description: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Text)]
    difficulty: String,
    #[diesel(sql_type = Nullable<Text>)]
    cover_image_url: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    category_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Int4>)]
    estimated_minutes: Option<i32>,
    #[diesel(sql_type = Nullable<Int4>)]
    validity_months: Option<i32>,
    #[diesel(sql_type = SqlUuid)]
    created_by: Uuid,
    #[diesel(sql_type = Int4)]
    revision: i32,
    #[diesel(sql_type = Int4)]
    version: i32,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    published_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    updated_at: DateTime<Utc>,
    #[diesel(sql_type = Array<Text>)]
    tags: Vec<String>,
    #[diesel(sql_type = Array<SqlUuid>)]
    mentor_ids: Vec<Uuid>,
    #[diesel(sql_type = Array<SqlUuid>)]
    prerequisite_ids: Vec<Uuid>,
    #[diesel(sql_type = BigInt)]
    section_count: i64,
    #[diesel(sql_type = Bool)]
    company_pinned: bool,
    #[diesel(sql_type = Int4)]
    material_version: i32,
    #[diesel(sql_type = BigInt)]
    title_rank: i64,
    #[diesel(sql_type = BigInt)]
    stamp: i64,
    /// The strict paths, as JSON, on every row (one statement reads them with the stamp).
    #[diesel(sql_type = Text)]
    paths: String,
}

/// The stamp, as [`member`] and [`load`] read it (0 before the first change).
const STAMP: &str = "coalesce((SELECT cs.stamp FROM catalog_stamps cs WHERE cs.tenant_id = $1), 0)";

static LOAD: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT m.id, m.title, m.description, m.status, m.difficulty, m.cover_image_url, \
                m.category_id, m.estimated_minutes, m.validity_months, m.created_by, m.revision, \
                m.version, m.published_at, m.created_at, m.updated_at, \
                ARRAY(SELECT t.name FROM module_tags mt \
                        JOIN tags t ON t.tenant_id = mt.tenant_id AND t.id = mt.tag_id \
                      WHERE mt.tenant_id = m.tenant_id AND mt.module_id = m.id ORDER BY t.name) AS tags, \
                ARRAY(SELECT mm.user_id FROM module_mentors mm \
                      WHERE mm.tenant_id = m.tenant_id AND mm.module_id = m.id) AS mentor_ids, \
                ARRAY(SELECT mp.prerequisite_id FROM module_prerequisites mp \
                      WHERE mp.tenant_id = m.tenant_id AND mp.module_id = m.id) AS prerequisite_ids, \
                (SELECT count(*) FROM sections s \
                  WHERE s.tenant_id = m.tenant_id AND s.module_id = m.id) AS section_count, \
                EXISTS (SELECT 1 FROM company_pinned_modules cp \
                        WHERE cp.tenant_id = m.tenant_id AND cp.module_id = m.id) AS company_pinned, \
                coalesce((SELECT max(ch.version) FROM module_changelog ch \
                          WHERE ch.tenant_id = m.tenant_id AND ch.module_id = m.id \
                            AND ch.kind = 'MATERIAL'), 0) AS material_version, \
                row_number() OVER (ORDER BY m.title, m.id) AS title_rank, \
                st.stamp, st.paths \
         FROM modules m, \
              (SELECT {STAMP} AS stamp, \
                      coalesce((SELECT json_agg(json_build_object( \
                          'id', p.id, \
                          'modules', ARRAY(SELECT lm.module_id FROM learning_path_modules lm \
                                           WHERE lm.tenant_id = p.tenant_id AND lm.path_id = p.id \
                                           ORDER BY lm.position), \
                          'groups', ARRAY(SELECT lg.group_id FROM learning_path_groups lg \
                                          WHERE lg.tenant_id = p.tenant_id AND lg.path_id = p.id))) \
                        FROM learning_paths p \
                        WHERE p.tenant_id = $1 AND p.strict_order AND p.status = 'PUBLISHED'), \
                      '[]')::text AS paths) st \
         WHERE m.tenant_id = $1 \
         ORDER BY m.created_at, m.id"
    )
});

/// A stored value this code does not know (a column's text out of its enum).
fn unknown(e: impl std::error::Error + Send + Sync + 'static) -> LearningError {
    guild_db::DbError::from(diesel::result::Error::DeserializationError(Box::new(e))).into()
}

/// Reads the shared part of `tenant`'s catalog, with the stamp it is as of, in one statement.
/// A tenant without modules has no row to carry the stamp: its stamp is read on its own.
pub async fn load(
    mut conn: &AsyncPgConnection,
    tenant: TenantId,
) -> Result<Arc<Shared>, LearningError> {
    #[derive(QueryableByName)]
    struct Stamp {
        #[diesel(sql_type = BigInt)]
        stamp: i64,
    }
    // Both sent at once (a pipelined read issues every statement before its first await); the
    // stamp alone is used only when there is no module to carry it.
    let stamp_query = format!("SELECT {STAMP} AS stamp");
    let (rows, alone) = futures_util::future::join(
        guild_db::sql(LOAD.as_str())
            .bind::<SqlUuid, _>(tenant.into_uuid())
            .load::<SharedRow>(&mut { conn }),
        guild_db::sql(&stamp_query)
            .bind::<SqlUuid, _>(tenant.into_uuid())
            .get_result::<Stamp>(&mut conn),
    )
    .await;
    let (rows, alone) = (rows?, alone?);
    // (The slice's `first`: diesel's `RunQueryDsl::first` is in scope too.)
    let (stamp, paths) = match <[SharedRow]>::first(&rows) {
        Some(r) => (
            r.stamp,
            serde_json::from_str::<Vec<StrictPath>>(&r.paths).map_err(unknown)?,
        ),
        None => (alone.stamp, Vec::new()),
    };
    let mut bytes = 256;
    let modules = rows
        .into_iter()
        .map(|r| {
            let status: ModuleStatus = r.status.parse().map_err(unknown)?;
            let difficulty: Difficulty = r.difficulty.parse().map_err(unknown)?;
            bytes += 512
                + r.title.len()
                + r.description.len()
                + r.cover_image_url.as_ref().map_or(0, String::len)
                + r.tags.iter().map(|t| t.len() + 24).sum::<usize>()
                + 16 * (r.mentor_ids.len() + r.prerequisite_ids.len());
            Ok(SharedModule {
                row: ModuleRow {
                    id: r.id,
                    title: r.title,
                    description: r.description,
                    status,
                    difficulty,
                    cover_image_url: r.cover_image_url,
                    category_id: r.category_id,
                    estimated_minutes: r.estimated_minutes,
                    validity_months: r.validity_months,
                    created_by: r.created_by,
                    revision: r.revision,
                    version: r.version,
                    published_at: r.published_at,
                    created_at: r.created_at,
                    updated_at: r.updated_at,
                },
                tags: r.tags,
                mentor_ids: r.mentor_ids,
                prerequisite_ids: r.prerequisite_ids,
                section_count: r.section_count,
                company_pinned: r.company_pinned,
                material_version: r.material_version,
                title_rank: r.title_rank,
            })
        })
        .collect::<Result<Vec<_>, LearningError>>()?;
    bytes += paths
        .iter()
        .map(|p| 64 + 16 * (p.modules.len() + p.groups.len()))
        .sum::<usize>();
    Ok(Arc::new(Shared {
        stamp,
        modules,
        paths,
        bytes,
    }))
}

/// What the catalog needs of one member, read in one statement ([`member`]).
#[derive(Debug, QueryableByName)]
pub struct Member {
    /// The tenant's catalog stamp.
    #[diesel(sql_type = BigInt)]
    pub stamp: i64,
    #[diesel(sql_type = Bool)]
    catalog_open: bool,
    #[diesel(sql_type = Array<SqlUuid>)]
    group_ids: Vec<Uuid>,
    #[diesel(sql_type = Array<Timestamptz>)]
    joined_at: Vec<DateTime<Utc>>,
    #[diesel(sql_type = Array<SqlUuid>)]
    assigned_modules: Vec<Uuid>,
    #[diesel(sql_type = Array<SqlUuid>)]
    assigned_groups: Vec<Uuid>,
    #[diesel(sql_type = Array<Bool>)]
    assigned_mandatory: Vec<bool>,
    #[diesel(sql_type = Array<Timestamptz>)]
    assigned_at: Vec<DateTime<Utc>>,
    #[diesel(sql_type = Array<Nullable<Int4>>)]
    deadline_days: Vec<Option<i32>>,
    #[diesel(sql_type = Array<SqlUuid>)]
    cycle_modules: Vec<Uuid>,
    #[diesel(sql_type = Array<Timestamptz>)]
    cycle_started_at: Vec<DateTime<Utc>>,
    #[diesel(sql_type = Array<SqlUuid>)]
    pinned: Vec<Uuid>,
    #[diesel(sql_type = Array<SqlUuid>)]
    read_modules: Vec<Uuid>,
    #[diesel(sql_type = Array<Timestamptz>)]
    read_last: Vec<DateTime<Utc>>,
    #[diesel(sql_type = Array<Int4>)]
    read_seen: Vec<i32>,
    #[diesel(sql_type = Array<SqlUuid>)]
    completed: Vec<Uuid>,
    #[diesel(sql_type = Array<SqlUuid>)]
    enrolled_paths: Vec<Uuid>,
}

/// The member's facts: each a range of one index by member, aggregated into arrays, so the
/// statement costs the same whatever the page (a statement per fact, or a subquery per module
/// of the page, costs the database more than these few ranges).
static MEMBER: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {STAMP} AS stamp, coalesce(t.catalog_open, false) AS catalog_open, \
                g.ids AS group_ids, g.joined AS joined_at, \
                a.modules AS assigned_modules, a.groups AS assigned_groups, \
                a.mandatory AS assigned_mandatory, a.at AS assigned_at, a.days AS deadline_days, \
                c.modules AS cycle_modules, c.started AS cycle_started_at, \
                p.modules AS pinned, r.modules AS read_modules, r.last AS read_last, \
                r.seen AS read_seen, d.modules AS completed, e.paths AS enrolled_paths \
         FROM (SELECT $1::uuid AS id) me \
         LEFT JOIN tenants t ON t.id = me.id, \
         LATERAL (SELECT coalesce(array_agg(ug.group_id), '{{}}') AS ids, \
                         coalesce(array_agg(ug.created_at), '{{}}') AS joined \
                  FROM user_groups ug WHERE ug.tenant_id = $1 AND ug.user_id = $2) g, \
         LATERAL (SELECT coalesce(array_agg(mg.module_id), '{{}}') AS modules, \
                         coalesce(array_agg(mg.group_id), '{{}}') AS groups, \
                         coalesce(array_agg(mg.is_mandatory), '{{}}') AS mandatory, \
                         coalesce(array_agg(mg.assigned_at), '{{}}') AS at, \
                         coalesce(array_agg(mg.deadline_days), '{{}}') AS days \
                  FROM user_groups ug JOIN module_groups mg \
                       ON mg.tenant_id = ug.tenant_id AND mg.group_id = ug.group_id \
                  WHERE ug.tenant_id = $1 AND ug.user_id = $2) a, \
         LATERAL (SELECT coalesce(array_agg(x.module_id), '{{}}') AS modules, \
                         coalesce(array_agg(x.started_at), '{{}}') AS started \
                  FROM assignment_cycles x WHERE x.tenant_id = $1 AND x.user_id = $2) c, \
         LATERAL (SELECT coalesce(array_agg(x.module_id), '{{}}') AS modules \
                  FROM user_pinned_modules x WHERE x.tenant_id = $1 AND x.user_id = $2) p, \
         LATERAL (SELECT coalesce(array_agg(x.module_id), '{{}}') AS modules, \
                         coalesce(array_agg(x.last_accessed_at), '{{}}') AS last, \
                         coalesce(array_agg(x.seen_version), '{{}}') AS seen \
                  FROM user_module_access x WHERE x.tenant_id = $1 AND x.user_id = $2) r, \
         LATERAL (SELECT coalesce(array_agg(x.module_id), '{{}}') AS modules \
                  FROM module_completions x \
                  WHERE x.tenant_id = $1 AND x.user_id = $2 AND x.archived_at IS NULL) d, \
         LATERAL (SELECT coalesce(array_agg(x.path_id), '{{}}') AS paths \
                  FROM enrolments x \
                  WHERE x.tenant_id = $1 AND x.user_id = $2 AND x.path_id IS NOT NULL) e"
    )
});

/// Reads the actor's own catalog facts and the tenant's stamp (one statement).
pub async fn member(mut conn: &AsyncPgConnection, actor: &Actor) -> Result<Member, LearningError> {
    Ok(guild_db::sql(MEMBER.as_str())
        .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
        .bind::<SqlUuid, _>(actor.user_id.into_uuid())
        .get_result(&mut conn)
        .await?)
}

/// Whether [`page`] answers this filter; a full-text search is the database's.
pub fn answers(filter: &ModuleFilter) -> bool {
    filter.q.as_deref().is_none_or(|q| q.trim().is_empty())
}

/// One assignment of a module to one of the member's groups: the group, mandatory, when
/// assigned, its deadline in days.
type Assignment = (Uuid, bool, DateTime<Utc>, Option<i32>);

/// The member's facts, indexed.
struct Facts<'m> {
    me: Uuid,
    manage_all: bool,
    open: bool,
    groups: HashMap<Uuid, DateTime<Utc>>,
    /// Module → its assignments to the member's groups.
    assigned: HashMap<Uuid, Vec<Assignment>>,
    cycles: HashMap<Uuid, DateTime<Utc>>,
    pinned: HashSet<Uuid>,
    reads: HashMap<Uuid, (DateTime<Utc>, i32)>,
    completed: HashSet<Uuid>,
    enrolled: HashSet<Uuid>,
    paths: &'m [StrictPath],
}

impl<'m> Facts<'m> {
    fn new(actor: &Actor, m: &Member, shared: &'m Shared) -> Self {
        let mut assigned: HashMap<Uuid, Vec<_>> = HashMap::new();
        for i in 0..m.assigned_modules.len() {
            assigned.entry(m.assigned_modules[i]).or_default().push((
                m.assigned_groups[i],
                m.assigned_mandatory[i],
                m.assigned_at[i],
                m.deadline_days[i],
            ));
        }
        Self {
            me: actor.user_id.into_uuid(),
            manage_all: may_manage_all(actor, None),
            open: m.catalog_open,
            groups: m
                .group_ids
                .iter()
                .copied()
                .zip(m.joined_at.iter().copied())
                .collect(),
            assigned,
            cycles: m
                .cycle_modules
                .iter()
                .copied()
                .zip(m.cycle_started_at.iter().copied())
                .collect(),
            pinned: m.pinned.iter().copied().collect(),
            reads: m
                .read_modules
                .iter()
                .copied()
                .zip(m.read_last.iter().copied().zip(m.read_seen.iter().copied()))
                .collect(),
            completed: m.completed.iter().copied().collect(),
            enrolled: m.enrolled_paths.iter().copied().collect(),
            paths: &shared.paths,
        }
    }

    /// [`guild_learning::access`]'s rule: every module for MANAGE_ALL_MODULES holders; their own
    /// and those they mentor; published ones assigned to their groups, or all published ones in
    /// an open catalog.
    fn visible(&self, m: &SharedModule) -> bool {
        self.manage_all
            || m.row.created_by == self.me
            || m.mentor_ids.contains(&self.me)
            || (m.row.status == ModuleStatus::Published
                && (self.open || self.assigned.contains_key(&m.row.id)))
    }

    /// The earliest due date of the member's groups' assignments, and mandatory in any.
    fn assignment(&self, module: Uuid) -> (Option<DateTime<Utc>>, bool) {
        let Some(groups) = self.assigned.get(&module) else {
            return (None, false);
        };
        let cycle = self.cycles.get(&module).copied();
        groups
            .iter()
            .fold((None, false), |(due, mandatory), (group, m, at, days)| {
                let joined = self.groups.get(group).copied().unwrap_or(*at);
                (
                    earliest(due, group_due_at(joined, *at, cycle, *days)),
                    mandatory || *m,
                )
            })
    }

    /// [`guild_learning::access::locked_predicate`]: a prerequisite without an active
    /// completion, or a module before it in a strict path the member has (by a group or an
    /// enrolment) without one.
    fn locked(&self, m: &SharedModule) -> bool {
        if m.prerequisite_ids
            .iter()
            .any(|p| !self.completed.contains(p))
        {
            return true;
        }
        self.paths.iter().any(|path| {
            let Some(at) = path.modules.iter().position(|x| *x == m.row.id) else {
                return false;
            };
            (self.enrolled.contains(&path.id)
                || path.groups.iter().any(|g| self.groups.contains_key(g)))
                && path.modules[..at]
                    .iter()
                    .any(|x| !self.completed.contains(x))
        })
    }

    fn module(&self, m: &SharedModule) -> Module {
        let (due_at, mandatory) = self.assignment(m.row.id);
        let read = self.reads.get(&m.row.id);
        Module {
            row: m.row.clone(),
            tags: m.tags.clone(),
            mentor_ids: m.mentor_ids.clone(),
            prerequisite_ids: m.prerequisite_ids.clone(),
            section_count: m.section_count,
            due_at,
            mandatory,
            pinned: self.pinned.contains(&m.row.id),
            company_pinned: m.company_pinned,
            last_accessed_at: read.map(|(last, _)| *last),
            updated_since_last_read: read.is_some_and(|(_, seen)| m.material_version > *seen),
            locked: self.locked(m),
        }
    }
}

/// One module as [`guild_learning::modules::get`] shows it to the actor (a member opening it at
/// `now`), computed from the shared part and the member's facts; `ModuleNotFound` when they may
/// not see it. A MANAGE_ALL_MODULES grant scoped to this module counts here.
pub fn module(
    shared: &Shared,
    member: &Member,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Module, LearningError> {
    let mut facts = Facts::new(actor, member, shared);
    facts.manage_all = may_manage_all(actor, Some(id));
    let found = shared
        .modules
        .iter()
        .find(|m| m.row.id == id)
        .filter(|m| facts.visible(m))
        .ok_or(LearningError::ModuleNotFound)?;
    let mut module = facts.module(found);
    module.last_accessed_at = Some(now);
    Ok(module)
}

/// The page of the catalog `filter` and `page` ask for, computed from the shared part and the
/// member's facts, in [`guild_learning::modules::list`]'s order and with its cursors; `None`
/// when the database must answer ([`answers`] is false, or a title cursor's module is no longer
/// where the cursor saw it).
pub fn page(
    shared: &Shared,
    member: &Member,
    actor: &Actor,
    filter: &ModuleFilter,
    page: &PageRequest,
) -> Result<Option<Page<Module>>, LearningError> {
    if !answers(filter) {
        return Ok(None);
    }
    let facts = Facts::new(actor, member, shared);
    let tag = filter.tag.as_deref().map(str::to_lowercase);
    let mut rows: Vec<&SharedModule> = shared
        .modules
        .iter()
        .filter(|m| facts.visible(m))
        .filter(|m| filter.status.is_none_or(|s| m.row.status == s))
        .filter(|m| {
            filter
                .category_id
                .is_none_or(|c| m.row.category_id == Some(c))
        })
        .filter(|m| {
            tag.as_deref()
                .is_none_or(|tag| m.tags.iter().any(|t| t.to_lowercase() == tag))
        })
        .filter(|m| !filter.pinned || facts.pinned.contains(&m.row.id))
        .collect();
    let by_updated = |a: &&SharedModule, b: &&SharedModule| {
        (a.row.updated_at, a.row.id).cmp(&(b.row.updated_at, b.row.id))
    };
    match filter.sort {
        ModuleSort::CreatedAt => {}
        ModuleSort::CreatedAtDesc => rows.reverse(),
        ModuleSort::Title => rows.sort_by_key(|m| m.title_rank),
        ModuleSort::TitleDesc => rows.sort_by_key(|m| std::cmp::Reverse(m.title_rank)),
        ModuleSort::UpdatedAt => rows.sort_by(by_updated),
        ModuleSort::UpdatedAtDesc => rows.sort_by(|a, b| by_updated(b, a)),
    }
    if let Some((key, id)) = guild_learning::keyset(page)? {
        let sort = filter.sort.as_str();
        let key = key
            .strip_prefix(sort)
            .and_then(|k| k.strip_prefix('|'))
            .ok_or_else(LearningError::bad_cursor)?;
        let after: Box<dyn Fn(&SharedModule) -> bool> = match filter.sort {
            ModuleSort::CreatedAt | ModuleSort::CreatedAtDesc => {
                let t = guild_learning::cursor_time(key)?;
                let asc = filter.sort == ModuleSort::CreatedAt;
                Box::new(move |m| {
                    let k = (m.row.created_at, m.row.id);
                    if asc { k > (t, id) } else { k < (t, id) }
                })
            }
            ModuleSort::UpdatedAt | ModuleSort::UpdatedAtDesc => {
                let t = guild_learning::cursor_time(key)?;
                let asc = filter.sort == ModuleSort::UpdatedAt;
                Box::new(move |m| {
                    let k = (m.row.updated_at, m.row.id);
                    if asc { k > (t, id) } else { k < (t, id) }
                })
            }
            ModuleSort::Title | ModuleSort::TitleDesc => {
                let Some(rank) = shared
                    .modules
                    .iter()
                    .find(|m| m.row.id == id && m.row.title == key)
                    .map(|m| m.title_rank)
                else {
                    return Ok(None);
                };
                let asc = filter.sort == ModuleSort::Title;
                Box::new(move |m| {
                    if asc {
                        m.title_rank > rank
                    } else {
                        m.title_rank < rank
                    }
                })
            }
        };
        rows.retain(|m| after(m));
    }
    let limit = page.limit();
    rows.truncate(limit as usize + 1);
    let sort = filter.sort;
    let page = Page::from_overfetch(rows, limit, |m: &&SharedModule| {
        let key = match sort {
            ModuleSort::CreatedAt | ModuleSort::CreatedAtDesc => {
                guild_learning::time_key(m.row.created_at)
            }
            ModuleSort::UpdatedAt | ModuleSort::UpdatedAtDesc => {
                guild_learning::time_key(m.row.updated_at)
            }
            ModuleSort::Title | ModuleSort::TitleDesc => m.row.title.clone(),
        };
        guild_learning::keyset_key(format!("{}|{key}", sort.as_str()), m.row.id)
    });
    Ok(Some(Page {
        data: page.data.into_iter().map(|m| facts.module(m)).collect(),
        next_cursor: page.next_cursor,
    }))
}

#[cfg(test)]
mod tests {
    //! The catalog computed here against the SQL catalog (`guild_learning::modules::list`) on
    //! one data set that exercises every rule; the stamp moving on every shared table; the cache.

    use chrono::{Duration, TimeZone};
    use guild_kernel::TenantRole;
    use guild_testkit::{TestDb, actor};

    use super::*;

    struct Fixture {
        tenant: Uuid,
        owner: Actor,
        ann: Actor,
        modules: Vec<Uuid>,
        category: Uuid,
    }

    async fn exec(db: &TestDb, sql: &str) {
        use diesel_async::SimpleAsyncConnection;
        db.conn()
            .await
            .batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{e}: {sql}"));
    }

    /// A closed catalog; Ann is in two groups. Modules, in creation order:
    /// 0 assigned to both groups (mandatory with 30 days in one, optional with 10 in the other),
    /// tagged, pinned by Ann, read before its latest material version, in a new cycle;
    /// 1 assigned to the second group without a deadline, company-pinned, read after a minor
    /// change only, completed by Ann; 2 published but assigned to nobody (hidden from Ann);
    /// 3 a draft Ann created; 4 published, not assigned, mentored by Ann; 5 assigned, its
    /// prerequisite is module 0 (not completed: locked); 6 assigned, after module 0 in a strict
    /// path of Ann's group (locked), and its title sorts first; 7 archived and assigned (hidden).
    async fn fixture(db: &TestDb) -> Fixture {
        let (tenant, owner, ann) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let (g1, g2, category, path) = (
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
        );
        let modules: Vec<Uuid> = (0..8).map(|_| Uuid::now_v7()).collect();
        let at = |days: i64| {
            (Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0).unwrap() + Duration::days(days)).to_rfc3339()
        };
        exec(db, &format!(
            "INSERT INTO tenants (id, name, slug, catalog_open) VALUES ('{tenant}', 'Acme', 'acme-{tenant}', false)"
        )).await;
        exec(db, &format!(
            "INSERT INTO users (id, email, name) VALUES ('{owner}', 'o-{owner}@acme.example.com', 'Owner'), \
             ('{ann}', 'a-{ann}@acme.example.com', 'Ann')"
        )).await;
        exec(db, &format!(
            "INSERT INTO memberships (tenant_id, user_id, role) VALUES ('{tenant}', '{owner}', 'OWNER'), \
             ('{tenant}', '{ann}', 'EMPLOYEE')"
        )).await;
        exec(db, &format!(
            "INSERT INTO groups (tenant_id, id, name) VALUES ('{tenant}', '{g1}', 'One'), ('{tenant}', '{g2}', 'Two'); \
             INSERT INTO user_groups (tenant_id, group_id, user_id, created_at) VALUES \
             ('{tenant}', '{g1}', '{ann}', '{}'), ('{tenant}', '{g2}', '{ann}', '{}')",
            at(5), at(20)
        )).await;
        exec(db, &format!(
            "INSERT INTO module_categories (tenant_id, id, name) VALUES ('{tenant}', '{category}', 'Safety')"
        )).await;
        let spec = [
            ("Beta basics", "PUBLISHED", owner),
            ("Gamma", "PUBLISHED", owner),
            ("delta", "PUBLISHED", owner),
            ("Epsilon draft", "DRAFT", ann),
            ("Zeta mentored", "PUBLISHED", owner),
            ("eta", "PUBLISHED", owner),
            ("Alpha first", "PUBLISHED", owner),
            ("Theta archived", "ARCHIVED", owner),
        ];
        for (i, (title, status, by)) in spec.iter().enumerate() {
            let m = modules[i];
            let category = if i % 2 == 0 {
                format!("'{category}'")
            } else {
                "NULL".into()
            };
            exec(db, &format!(
                "INSERT INTO modules (tenant_id, id, title, description, status, created_by, category_id, \
                 version, created_at, updated_at, published_at) \
                 VALUES ('{tenant}', '{m}', '{title}', 'About {title}', '{status}', '{by}', {category}, \
                 2, '{}', '{}', '{}')",
                at(i as i64), at(40 - 3 * i as i64), at(i as i64)
            )).await;
        }
        let m = &modules;
        exec(db, &format!(
            "INSERT INTO module_groups (tenant_id, module_id, group_id, deadline_days, is_mandatory, assigned_at) VALUES \
             ('{tenant}', '{}', '{g1}', 30, true, '{}'), ('{tenant}', '{}', '{g2}', 10, false, '{}'), \
             ('{tenant}', '{}', '{g2}', NULL, false, '{}'), ('{tenant}', '{}', '{g1}', 7, false, '{}'), \
             ('{tenant}', '{}', '{g1}', NULL, true, '{}'), ('{tenant}', '{}', '{g1}', 5, true, '{}')",
            m[0], at(1), m[0], at(2), m[1], at(3), m[5], at(4), m[6], at(5), m[7], at(6)
        )).await;
        exec(db, &format!(
            "INSERT INTO assignment_cycles (tenant_id, user_id, module_id, started_at) VALUES ('{tenant}', '{ann}', '{}', '{}')",
            m[0], at(25)
        )).await;
        exec(db, &format!(
            "INSERT INTO tags (tenant_id, id, name) VALUES ('{tenant}', '{}', 'Safety'), ('{tenant}', '{}', 'alpha'); \
             INSERT INTO module_tags (tenant_id, module_id, tag_id) SELECT '{tenant}', '{}', id FROM tags WHERE tenant_id = '{tenant}'",
            Uuid::now_v7(), Uuid::now_v7(), m[0]
        )).await;
        for (i, count) in [(0, 3), (1, 1), (6, 2)] {
            for k in 0..count {
                exec(db, &format!(
                    "INSERT INTO sections (tenant_id, id, module_id, title, sort_order) VALUES ('{tenant}', '{}', '{}', 'Part {k}', {k})",
                    Uuid::now_v7(), m[i]
                )).await;
            }
        }
        exec(db, &format!(
            "INSERT INTO module_mentors (tenant_id, module_id, user_id) VALUES ('{tenant}', '{}', '{ann}'); \
             INSERT INTO module_prerequisites (tenant_id, module_id, prerequisite_id) VALUES ('{tenant}', '{}', '{}'); \
             INSERT INTO user_pinned_modules (tenant_id, user_id, module_id) VALUES ('{tenant}', '{ann}', '{}'); \
             INSERT INTO company_pinned_modules (tenant_id, module_id, pinned_by) VALUES ('{tenant}', '{}', '{owner}')",
            m[4], m[5], m[0], m[0], m[1]
        )).await;
        exec(db, &format!(
            "INSERT INTO module_changelog (tenant_id, module_id, version, summary, kind, published_by) VALUES \
             ('{tenant}', '{}', 2, 'More', 'MATERIAL', '{owner}'), ('{tenant}', '{}', 2, 'Typo', 'MINOR', '{owner}'); \
             INSERT INTO user_module_access (tenant_id, user_id, module_id, last_accessed_at, seen_version) VALUES \
             ('{tenant}', '{ann}', '{}', '{}', 1), ('{tenant}', '{ann}', '{}', '{}', 1)",
            m[0], m[1], m[0], at(30), m[1], at(31)
        )).await;
        exec(db, &format!(
            "INSERT INTO module_completions (tenant_id, id, user_id, module_id, source) VALUES \
             ('{tenant}', '{}', '{ann}', '{}', 'PROGRESS'), ('{tenant}', '{}', '{ann}', '{}', 'PROGRESS')",
            Uuid::now_v7(), m[1], Uuid::now_v7(), m[2]
        )).await;
        exec(db, &format!(
            "INSERT INTO learning_paths (tenant_id, id, title, strict_order, status, created_by, created_at, updated_at) VALUES \
             ('{tenant}', '{path}', 'Path', true, 'PUBLISHED', '{owner}', now(), now()); \
             INSERT INTO learning_path_modules (tenant_id, path_id, module_id, position) VALUES \
             ('{tenant}', '{path}', '{}', 1), ('{tenant}', '{path}', '{}', 2), ('{tenant}', '{path}', '{}', 3); \
             INSERT INTO learning_path_groups (tenant_id, path_id, group_id, assigned_by, assigned_at) VALUES ('{tenant}', '{path}', '{g1}', '{owner}', now())",
            m[1], m[0], m[6]
        )).await;
        Fixture {
            tenant,
            owner: actor(tenant, owner, TenantRole::Owner),
            ann: actor(tenant, ann, TenantRole::Employee),
            modules,
            category,
        }
    }

    /// The page from the SQL catalog.
    async fn by_sql(
        db: &TestDb,
        actor: &Actor,
        filter: &ModuleFilter,
        page: &PageRequest,
    ) -> serde_json::Value {
        let mut conn = db.conn().await;
        let page = guild_db::tenant_read_staged(&mut conn, actor.tenant_id, async |stages| {
            guild_learning::modules::list(stages, actor, filter, page).await
        })
        .await
        .unwrap();
        serde_json::to_value(&page).unwrap()
    }

    async fn member_of(db: &TestDb, actor: &Actor) -> Member {
        let mut conn = db.conn().await;
        guild_db::tenant_read(&mut conn, actor.tenant_id, async |c| member(c, actor).await)
            .await
            .unwrap()
    }

    async fn shared_of(db: &TestDb, tenant: TenantId) -> Arc<Shared> {
        let mut conn = db.conn().await;
        guild_db::tenant_read(&mut conn, tenant, async |c| load(c, tenant).await)
            .await
            .unwrap()
    }

    /// The page computed here.
    async fn here(
        db: &TestDb,
        actor: &Actor,
        filter: &ModuleFilter,
        page: &PageRequest,
    ) -> Option<serde_json::Value> {
        let shared = shared_of(db, actor.tenant_id).await;
        let member = member_of(db, actor).await;
        assert_eq!(member.stamp, shared.stamp);
        super::page(&shared, &member, actor, filter, page)
            .unwrap()
            .map(|p| serde_json::to_value(&p).unwrap())
    }

    fn request(limit: u32, cursor: Option<String>) -> PageRequest {
        PageRequest {
            limit: Some(limit),
            cursor,
        }
    }

    #[tokio::test]
    async fn every_filter_order_and_page_matches_the_sql_catalog() {
        let db = TestDb::new().await;
        let f = fixture(&db).await;
        let filters = [
            ModuleFilter::default(),
            ModuleFilter {
                sort: ModuleSort::CreatedAtDesc,
                ..ModuleFilter::default()
            },
            ModuleFilter {
                sort: ModuleSort::Title,
                ..ModuleFilter::default()
            },
            ModuleFilter {
                sort: ModuleSort::TitleDesc,
                ..ModuleFilter::default()
            },
            ModuleFilter {
                sort: ModuleSort::UpdatedAt,
                ..ModuleFilter::default()
            },
            ModuleFilter {
                sort: ModuleSort::UpdatedAtDesc,
                ..ModuleFilter::default()
            },
            ModuleFilter {
                tag: Some("SAFETY".into()),
                ..ModuleFilter::default()
            },
            ModuleFilter {
                pinned: true,
                ..ModuleFilter::default()
            },
            ModuleFilter {
                status: Some(ModuleStatus::Draft),
                ..ModuleFilter::default()
            },
            ModuleFilter {
                category_id: Some(f.category),
                ..ModuleFilter::default()
            },
        ];
        for who in [&f.ann, &f.owner] {
            for filter in &filters {
                // The whole list, then pages of 2 following each one's cursor.
                let all = by_sql(&db, who, filter, &request(50, None)).await;
                assert_eq!(
                    here(&db, who, filter, &request(50, None)).await.as_ref(),
                    Some(&all),
                    "{filter:?}"
                );
                let mut cursor = None;
                loop {
                    let want = by_sql(&db, who, filter, &request(2, cursor.clone())).await;
                    let got = here(&db, who, filter, &request(2, cursor.clone())).await;
                    assert_eq!(got.as_ref(), Some(&want), "{filter:?} after {cursor:?}");
                    cursor = want["next_cursor"].as_str().map(str::to_owned);
                    if cursor.is_none() {
                        break;
                    }
                }
            }
        }
        // What the data set was built to show, for Ann.
        let all = by_sql(&db, &f.ann, &ModuleFilter::default(), &request(50, None)).await;
        let ids: Vec<&str> = all["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect();
        let m: Vec<String> = f.modules.iter().map(Uuid::to_string).collect();
        assert_eq!(
            ids,
            [&m[0], &m[1], &m[3], &m[4], &m[5], &m[6]],
            "assigned, own draft, mentored"
        );
        let first = &all["data"][0];
        let mut tags: Vec<&str> = first["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        tags.sort_unstable();
        assert_eq!(tags, ["Safety", "alpha"]);
        assert_eq!(first["section_count"], 3);
        assert_eq!(first["mandatory"], true);
        assert_eq!(first["pinned"], true);
        assert_eq!(first["updated_since_last_read"], true);
        // Joined the second group on day 20, its 10 days from then: day 30; but a new cycle
        // started on day 25 moves both groups' dates: the earliest is day 35.
        assert_eq!(first["due_at"], serde_json::json!("2026-02-05T09:00:00Z"));
        assert_eq!(all["data"][1]["company_pinned"], true);
        assert_eq!(all["data"][1]["updated_since_last_read"], false);
        assert_eq!(all["data"][4]["locked"], true, "prerequisite not completed");
        assert_eq!(
            all["data"][5]["locked"], true,
            "after an uncompleted module in a strict path"
        );
        assert_eq!(
            all["data"][0]["locked"], false,
            "its module before it in the path is completed"
        );
    }

    #[tokio::test]
    async fn every_module_opened_matches_the_sql_view_and_a_hidden_one_is_not_found() {
        let db = TestDb::new().await;
        let f = fixture(&db).await;
        let now = Utc::now();
        for who in [&f.ann, &f.owner] {
            let shared = shared_of(&db, who.tenant_id).await;
            let member = member_of(&db, who).await;
            for (i, id) in f.modules.iter().enumerate() {
                let mut conn = db.conn().await;
                let want = guild_db::tenant_transaction(&mut conn, who.tenant_id, async |c| {
                    guild_learning::modules::get(c, who, *id).await
                })
                .await
                .map(|mut m| {
                    m.last_accessed_at = Some(now);
                    serde_json::to_value(&m).unwrap()
                })
                .map_err(|e| e.to_string());
                let got = module(&shared, &member, who, *id, now)
                    .map(|m| serde_json::to_value(&m).unwrap())
                    .map_err(|e| e.to_string());
                assert_eq!(got, want, "module {i}");
            }
        }
        let shared = shared_of(&db, f.ann.tenant_id).await;
        let member = member_of(&db, &f.ann).await;
        for hidden in [2, 7] {
            assert!(matches!(
                module(&shared, &member, &f.ann, f.modules[hidden], now),
                Err(LearningError::ModuleNotFound)
            ));
        }
        // Another tenant's module is not in this tenant's shared part.
        let other = fixture(&db).await;
        assert!(matches!(
            module(&shared, &member, &f.ann, other.modules[0], now),
            Err(LearningError::ModuleNotFound)
        ));
    }

    #[tokio::test]
    async fn a_full_text_search_or_a_title_cursor_of_a_renamed_module_is_left_to_the_database() {
        let db = TestDb::new().await;
        let f = fixture(&db).await;
        let search = ModuleFilter {
            q: Some("basics".into()),
            ..ModuleFilter::default()
        };
        assert!(!answers(&search));
        assert_eq!(here(&db, &f.ann, &search, &request(10, None)).await, None);
        let by_title = ModuleFilter {
            sort: ModuleSort::Title,
            ..ModuleFilter::default()
        };
        let first = by_sql(&db, &f.ann, &by_title, &request(1, None)).await;
        let cursor = first["next_cursor"].as_str().unwrap().to_owned();
        exec(
            &db,
            &format!(
                "UPDATE modules SET title = 'Aardvark' WHERE id = '{}'",
                f.modules[6]
            ),
        )
        .await;
        assert_eq!(
            here(&db, &f.ann, &by_title, &request(1, Some(cursor))).await,
            None
        );
    }

    #[tokio::test]
    async fn every_change_to_what_members_share_moves_the_stamp_and_nothing_else_does() {
        let db = TestDb::new().await;
        let f = fixture(&db).await;
        let (t, m) = (f.tenant, f.modules[2]);
        let stamp = async || shared_of(&db, TenantId(t)).await.stamp;
        let changes = [
            format!("UPDATE modules SET description = 'New' WHERE id = '{m}'"),
            format!(
                "INSERT INTO sections (tenant_id, id, module_id, title, sort_order) VALUES ('{t}', '{}', '{m}', 'New', 9)",
                Uuid::now_v7()
            ),
            format!("DELETE FROM sections WHERE module_id = '{m}'"),
            format!(
                "UPDATE tags SET name = 'Security' WHERE tenant_id = '{t}' AND name = 'Safety'"
            ),
            format!(
                "INSERT INTO module_tags (tenant_id, module_id, tag_id) SELECT '{t}', '{m}', id FROM tags WHERE tenant_id = '{t}' LIMIT 1"
            ),
            format!(
                "INSERT INTO module_mentors (tenant_id, module_id, user_id) VALUES ('{t}', '{m}', '{}')",
                f.owner.user_id.into_uuid()
            ),
            format!("DELETE FROM module_prerequisites WHERE tenant_id = '{t}'"),
            format!("DELETE FROM company_pinned_modules WHERE tenant_id = '{t}'"),
            format!(
                "INSERT INTO module_changelog (tenant_id, module_id, version, summary, kind, published_by) VALUES ('{t}', '{m}', 3, 'x', 'MATERIAL', '{}')",
                f.owner.user_id.into_uuid()
            ),
            format!("UPDATE learning_paths SET strict_order = false WHERE tenant_id = '{t}'"),
            format!("DELETE FROM learning_path_modules WHERE tenant_id = '{t}' AND position = 3"),
            format!("DELETE FROM learning_path_groups WHERE tenant_id = '{t}'"),
            format!("DELETE FROM modules WHERE id = '{m}'"),
        ];
        let mut last = stamp().await;
        for change in &changes {
            exec(&db, change).await;
            let now = stamp().await;
            assert!(now > last, "{change} did not move the stamp");
            last = now;
        }
        // A member's own facts and a section's content are not shared.
        for own in [
            format!("DELETE FROM user_pinned_modules WHERE tenant_id = '{t}'"),
            format!("UPDATE user_module_access SET seen_version = 2 WHERE tenant_id = '{t}'"),
            format!("DELETE FROM module_completions WHERE tenant_id = '{t}'"),
            format!("UPDATE sections SET content_html = '<p>x</p>' WHERE tenant_id = '{t}'"),
            format!("DELETE FROM module_groups WHERE tenant_id = '{t}'"),
        ] {
            exec(&db, &own).await;
            assert_eq!(stamp().await, last, "{own} moved the stamp");
        }
        // Another tenant's stamp did not move with these.
        let other = fixture(&db).await;
        let before = shared_of(&db, TenantId(other.tenant)).await.stamp;
        exec(
            &db,
            &format!("UPDATE modules SET title = 'x' WHERE tenant_id = '{t}'"),
        )
        .await;
        assert_eq!(shared_of(&db, TenantId(other.tenant)).await.stamp, before);
    }

    #[tokio::test]
    async fn a_tenant_transaction_moves_its_own_stamp_and_the_kept_copy_is_refused_after() {
        let db = TestDb::new().await;
        let f = fixture(&db).await;
        let tenant = TenantId(f.tenant);
        let cache = CatalogCache::default();
        let shared = shared_of(&db, tenant).await;
        cache.put(tenant, shared.clone());
        assert!(
            cache
                .get(tenant, member_of(&db, &f.ann).await.stamp)
                .is_some()
        );
        // An editor adds a tag through the domain, as the application role.
        let mut conn = db.conn().await;
        guild_db::tenant_transaction(&mut conn, tenant, async |c| {
            guild_learning::modules::update(
                c,
                &f.owner,
                f.modules[1],
                1,
                &guild_learning::modules::ModuleInput {
                    tags: Some(vec!["New".into()]),
                    ..Default::default()
                },
                Utc::now(),
            )
            .await
        })
        .await
        .unwrap();
        let member = member_of(&db, &f.ann).await;
        assert!(member.stamp > shared.stamp);
        assert!(
            cache.get(tenant, member.stamp).is_none(),
            "the kept copy is stale"
        );
        let fresh = shared_of(&db, tenant).await;
        assert_eq!(fresh.stamp, member.stamp);
        let page = super::page(
            &fresh,
            &member,
            &f.ann,
            &ModuleFilter::default(),
            &request(50, None),
        )
        .unwrap()
        .unwrap();
        assert_eq!(page.data[1].tags, ["New"]);
    }

    #[tokio::test]
    async fn a_tenant_without_modules_has_an_empty_catalog_read_in_one_round_trip() {
        let db = TestDb::new().await;
        let tenant = Uuid::now_v7();
        exec(&db, &format!(
            "INSERT INTO tenants (id, name, slug) VALUES ('{tenant}', 'Empty', 'empty-{tenant}')"
        ))
        .await;
        let owner = actor(tenant, Uuid::now_v7(), TenantRole::Owner);
        let shared = shared_of(&db, TenantId(tenant)).await;
        assert_eq!((shared.stamp, shared.modules.len()), (0, 0));
        let member = member_of(&db, &owner).await;
        let page = super::page(
            &shared,
            &member,
            &owner,
            &ModuleFilter::default(),
            &request(20, None),
        )
        .unwrap()
        .unwrap();
        assert!(page.data.is_empty() && page.next_cursor.is_none());
    }

    #[test]
    fn the_cache_keeps_the_latest_stamp_and_drops_the_least_recently_used_beyond_its_bytes() {
        let shared = |stamp, bytes| {
            Arc::new(Shared {
                stamp,
                modules: Vec::new(),
                paths: Vec::new(),
                bytes,
            })
        };
        let (a, b, c) = (
            TenantId(Uuid::now_v7()),
            TenantId(Uuid::now_v7()),
            TenantId(Uuid::now_v7()),
        );
        let cache = CatalogCache::new(1000);
        cache.put(a, shared(2, 400));
        cache.put(a, shared(1, 400));
        assert!(
            cache.get(a, 2).is_some(),
            "an older copy does not replace a newer one"
        );
        assert!(cache.get(a, 1).is_none());
        cache.put(b, shared(1, 400));
        assert!(cache.get(a, 2).is_some());
        cache.put(c, shared(1, 400));
        assert!(cache.get(b, 1).is_none(), "b was used least recently");
        assert!(cache.get(a, 2).is_some() && cache.get(c, 1).is_some());
        cache.put(b, shared(1, 2000));
        assert!(
            cache.get(b, 1).is_none(),
            "larger than the whole cache: not kept"
        );
        assert_eq!(cache.len(), 2);
    }
}
