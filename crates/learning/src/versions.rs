//! Module versions: a changelog entry for each publish of a changed module, and what each member
//! has read.
//!
//! A module's `version` is 0 until it is first published; publishing it records version 1.
//! Later, whenever its content changed (its own fields or any section: `content_changed_at`)
//! since the latest entry, publishing again — or [`publish_version`] while it stays published —
//! records the next version with a summary and a kind: MINOR (typos, wording) or MATERIAL (what
//! a learner must know changed). Only MATERIAL versions raise "updated since you last read" and
//! emit [`ModuleUpdated`] for notifications.
//!
//! Opening a module records the member's last access; the first access also records the version
//! they saw. [`record_accesses`] writes many at once: the API coalesces members' module views
//! and writes them in batches, so viewing a module is not a commit of its own. [`acknowledge`] moves that to the current version.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Integer, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{module_changelog, modules, user_module_access};
use guild_kernel::{Actor, DomainEvent, ModuleId, Page, PageRequest, TenantId, UserId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::LearningError;
use crate::access::{editable, visible};
use crate::modules::ModuleRow;

guild_kernel::string_enum!(
    /// How much a new version of a module changed.
    ChangeKind {
        /// Wording, typos: readers are not told.
        Minor => "MINOR",
        /// What a learner must know changed: readers see the module as updated until they
        /// acknowledge it.
        Material => "MATERIAL",
    }
);

/// What a publisher says about a new version.
#[derive(Debug, Clone, Default)]
pub struct ChangeNote {
    /// What changed; defaults to "First publication" / "Content updated".
    pub summary: Option<String>,
    /// Defaults to MATERIAL for the first version, MINOR after.
    pub kind: Option<ChangeKind>,
}

/// One changelog entry.
#[derive(Debug, Clone, Serialize, Queryable, Selectable)]
#[diesel(table_name = module_changelog)]
pub struct ChangelogEntry {
    /// The module.
    pub module_id: Uuid,
    /// 1, 2, …
    pub version: i32,
    /// What changed.
    pub summary: String,
    /// How much changed.
    #[diesel(deserialize_as = String)]
    pub kind: ChangeKind,
    /// Who published it.
    pub published_by: Uuid,
    /// When.
    pub published_at: DateTime<Utc>,
}

/// A material new version of a published module (notifications tell its readers).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModuleUpdated {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The module.
    pub module_id: Uuid,
    /// The new version.
    pub version: i32,
    /// What changed.
    pub summary: String,
}

impl DomainEvent for ModuleUpdated {
    const KIND: &'static str = "learning.module_updated";
}

/// Marks a module's content as changed (its fields or a section), so the next publish records a
/// version.
pub(crate) async fn touch(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: Uuid,
    now: DateTime<Utc>,
) -> Result<(), LearningError> {
    diesel::update(modules::table.find((actor.tenant_id.into_uuid(), module)))
        .set(modules::content_changed_at.eq(now))
        .execute(conn)
        .await?;
    Ok(())
}

fn check_note(note: &ChangeNote) -> Result<(), LearningError> {
    if let Some(summary) = &note.summary
        && (summary.trim().is_empty() || summary.chars().count() > 2000)
    {
        return Err(LearningError::invalid(
            "summary",
            "length",
            "must be 1 to 2000 characters",
        ));
    }
    Ok(())
}

async fn latest(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: Uuid,
) -> Result<Option<ChangelogEntry>, LearningError> {
    Ok(module_changelog::table
        .filter(module_changelog::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(module_changelog::module_id.eq(module))
        .order(module_changelog::version.desc())
        .select(ChangelogEntry::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Records the next version of `row` if it was never published or changed since its latest
/// version; `None` when nothing changed. Called when a module is published.
pub(crate) async fn record_if_changed(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    row: &ModuleRow,
    note: &ChangeNote,
    now: DateTime<Utc>,
) -> Result<Option<ChangelogEntry>, LearningError> {
    check_note(note)?;
    let (version, content_changed_at): (i32, DateTime<Utc>) = modules::table
        .find((actor.tenant_id.into_uuid(), row.id))
        .select((modules::version, modules::content_changed_at))
        .for_update()
        .first(conn)
        .await?;
    let changed = match latest(conn, actor, row.id).await? {
        None => true,
        Some(entry) => content_changed_at > entry.published_at,
    };
    if !changed {
        return Ok(None);
    }
    let next = version + 1;
    let (default_summary, default_kind) = if next == 1 {
        ("First publication", ChangeKind::Material)
    } else {
        ("Content updated", ChangeKind::Minor)
    };
    let entry = ChangelogEntry {
        module_id: row.id,
        version: next,
        summary: note
            .summary
            .as_deref()
            .map_or(default_summary, str::trim)
            .to_owned(),
        kind: note.kind.unwrap_or(default_kind),
        published_by: actor.user_id.into_uuid(),
        published_at: now,
    };
    diesel::insert_into(module_changelog::table)
        .values((
            module_changelog::tenant_id.eq(actor.tenant_id.into_uuid()),
            module_changelog::module_id.eq(entry.module_id),
            module_changelog::version.eq(entry.version),
            module_changelog::summary.eq(&entry.summary),
            module_changelog::kind.eq(entry.kind.as_str()),
            module_changelog::published_by.eq(entry.published_by),
            module_changelog::published_at.eq(entry.published_at),
        ))
        .execute(conn)
        .await?;
    diesel::update(modules::table.find((actor.tenant_id.into_uuid(), row.id)))
        .set(modules::version.eq(next))
        .execute(conn)
        .await?;
    if entry.kind == ChangeKind::Material && next > 1 {
        guild_db::outbox::publish(
            conn,
            Some(actor.tenant_id),
            &ModuleUpdated {
                tenant_id: actor.tenant_id.into_uuid(),
                module_id: row.id,
                version: next,
                summary: entry.summary.clone(),
            },
        )
        .await?;
    }
    crate::audit(
        conn,
        actor,
        "MODULE_VERSION_PUBLISHED",
        "module",
        row.id,
        serde_json::json!({ "version": next, "kind": entry.kind, "summary": entry.summary }),
    )
    .await?;
    Ok(Some(entry))
}

/// Publishes the changes made to a module that stays PUBLISHED as its next version.
/// `NoChanges` when nothing changed since the latest version.
pub async fn publish_version(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: ModuleId,
    note: &ChangeNote,
    now: DateTime<Utc>,
) -> Result<ChangelogEntry, LearningError> {
    let module = module.into_uuid();
    let row = editable(conn, actor, module).await?;
    if row.status != crate::modules::ModuleStatus::Published {
        return Err(LearningError::InvalidTransition(
            "only a published module gets new versions; publish it instead",
        ));
    }
    let entry = record_if_changed(conn, actor, &row, note, now)
        .await?
        .ok_or(LearningError::NoChanges)?;
    diesel::update(modules::table.find((actor.tenant_id.into_uuid(), module)))
        .set((
            modules::revision.eq(modules::revision + 1),
            modules::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(entry)
}

/// A module's changelog, newest first.
pub async fn changelog(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: ModuleId,
    page: &PageRequest,
) -> Result<Page<ChangelogEntry>, LearningError> {
    let module = module.into_uuid();
    visible(conn, actor, module).await?;
    let limit = page.limit();
    let mut query = module_changelog::table
        .filter(module_changelog::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(module_changelog::module_id.eq(module))
        .order(module_changelog::version.desc())
        .limit(i64::from(limit) + 1)
        .select(ChangelogEntry::as_select())
        .into_boxed();
    if let Some(cursor) = page.cursor().map_err(|_| LearningError::bad_cursor())? {
        let before: i32 = cursor.0.parse().map_err(|_| LearningError::bad_cursor())?;
        query = query.filter(module_changelog::version.lt(before));
    }
    let rows = query.load(conn).await?;
    Ok(Page::from_overfetch(rows, limit, |e: &ChangelogEntry| {
        e.version.to_string()
    }))
}

/// A member's opening of a module, to record with [`record_accesses`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    /// The member.
    pub user: UserId,
    /// The module.
    pub module: ModuleId,
    /// The module's version they saw (kept only by their first access).
    pub version: i32,
    /// When they opened it.
    pub at: DateTime<Utc>,
}

/// Records members' accesses to modules of one tenant in one statement: each one's last access
/// (never moved back: an older access recorded late changes nothing) and, on a member's first
/// access to a module, the version they saw. Accesses of members or modules that no longer
/// exist are skipped. At most one access per member and module (the caller coalesces them).
pub async fn record_accesses(
    mut conn: &AsyncPgConnection,
    tenant: TenantId,
    accesses: &[Access],
) -> Result<usize, LearningError> {
    let mut sorted = accesses.to_vec();
    // One order for every writer, so two instances writing overlapping batches cannot deadlock.
    sorted.sort_by_key(|a| (a.user.into_uuid(), a.module.into_uuid()));
    let users: Vec<Uuid> = sorted.iter().map(|a| a.user.into_uuid()).collect();
    let modules: Vec<Uuid> = sorted.iter().map(|a| a.module.into_uuid()).collect();
    let versions: Vec<i32> = sorted.iter().map(|a| a.version).collect();
    let at: Vec<DateTime<Utc>> = sorted.iter().map(|a| a.at).collect();
    Ok(guild_db::sql(
        "INSERT INTO user_module_access (tenant_id, user_id, module_id, last_accessed_at, seen_version) \
         SELECT $1, a.user_id, a.module_id, a.at, a.version \
         FROM unnest($2::uuid[], $3::uuid[], $4::integer[], $5::timestamptz[]) \
              AS a(user_id, module_id, version, at) \
         WHERE EXISTS (SELECT 1 FROM memberships m WHERE m.tenant_id = $1 AND m.user_id = a.user_id) \
           AND EXISTS (SELECT 1 FROM modules d WHERE d.tenant_id = $1 AND d.id = a.module_id) \
         ORDER BY a.user_id, a.module_id \
         ON CONFLICT (tenant_id, user_id, module_id) DO UPDATE \
         SET last_accessed_at = greatest(user_module_access.last_accessed_at, EXCLUDED.last_accessed_at)",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<Array<SqlUuid>, _>(users)
    .bind::<Array<SqlUuid>, _>(modules)
    .bind::<Array<Integer>, _>(versions)
    .bind::<Array<Timestamptz>, _>(at)
    .execute(&mut conn)
    .await?)
}

/// Records that the actor opened `row` now; the first access also records the version seen.
pub async fn record_access(
    mut conn: &AsyncPgConnection,
    actor: &Actor,
    row: &ModuleRow,
    now: DateTime<Utc>,
) -> Result<(), LearningError> {
    diesel::insert_into(user_module_access::table)
        .values((
            user_module_access::tenant_id.eq(actor.tenant_id.into_uuid()),
            user_module_access::user_id.eq(actor.user_id.into_uuid()),
            user_module_access::module_id.eq(row.id),
            user_module_access::last_accessed_at.eq(now),
            user_module_access::seen_version.eq(row.version),
        ))
        .on_conflict((
            user_module_access::tenant_id,
            user_module_access::user_id,
            user_module_access::module_id,
        ))
        .do_update()
        .set(user_module_access::last_accessed_at.eq(now))
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// Marks the module's current version as read by the actor.
pub async fn acknowledge(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: ModuleId,
    now: DateTime<Utc>,
) -> Result<(), LearningError> {
    let module = module.into_uuid();
    let row = visible(conn, actor, module).await?;
    let version = row.version;
    diesel::insert_into(user_module_access::table)
        .values((
            user_module_access::tenant_id.eq(actor.tenant_id.into_uuid()),
            user_module_access::user_id.eq(actor.user_id.into_uuid()),
            user_module_access::module_id.eq(row.id),
            user_module_access::last_accessed_at.eq(now),
            user_module_access::seen_version.eq(version),
            user_module_access::acknowledged_at.eq(now),
        ))
        .on_conflict((
            user_module_access::tenant_id,
            user_module_access::user_id,
            user_module_access::module_id,
        ))
        .do_update()
        .set((
            user_module_access::seen_version.eq(version),
            user_module_access::acknowledged_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}
