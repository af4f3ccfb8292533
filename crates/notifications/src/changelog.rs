//! The platform changelog ("what's new"): entries the platform owner publishes for everyone,
//! with each member's read marker.
//!
//! Owns `changelog_entries` (no tenant: written outside tenant transactions, by the platform
//! owner only — a user whose global role is OWNER) and `changelog_reads` (per member). An entry is
//! unread for a member while it was published after their marker (`seen_until`), which
//! [`mark_read`] moves to the newest publication and never back; publication time decides, not
//! the entry's `date`.
//!
//! [`publish`] writes the entry and a [`ChangelogPublished`] event in one transaction; the
//! worker's reaction fans it out to every active member of every tenant as a SYSTEM notification
//! ([`broadcast`], delivered in batches through [`inbox::deliver_many`](crate::inbox::deliver_many)),
//! once per member and entry however often the event or its jobs run.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Nullable, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{changelog_entries as ce, changelog_reads as cr, memberships, users};
use guild_kernel::{Actor, DomainEvent, GlobalRole, Page, PageRequest, TenantId, UserId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::inbox::Broadcast;
use crate::{EntityKind, NotificationType, NotificationsError};

/// The longest version label.
pub const MAX_VERSION: usize = 50;
/// The longest title.
pub const MAX_TITLE: usize = 200;
/// The longest summary.
pub const MAX_SUMMARY: usize = 5000;

/// An entry of the changelog.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = ce)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct Entry {
    /// Its id.
    pub id: Uuid,
    /// The release it describes (`2.4`, `2026.12`).
    pub version: String,
    /// One line.
    pub title: String,
    /// What changed (plain text).
    pub summary: String,
    /// The release's date.
    pub date: NaiveDate,
    /// When it was published.
    pub published_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// An entry as a member lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The entry.
    pub entry: Entry,
    /// Published after the member's read marker.
    pub unread: bool,
}

/// A new entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    /// The release it describes.
    pub version: String,
    /// One line.
    pub title: String,
    /// What changed.
    pub summary: String,
    /// The release's date; today (UTC) when left out.
    pub date: Option<NaiveDate>,
}

/// Changes to an entry; `None` keeps a field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryChanges {
    /// The release it describes.
    pub version: Option<String>,
    /// One line.
    pub title: Option<String>,
    /// What changed.
    pub summary: Option<String>,
    /// The release's date.
    pub date: Option<NaiveDate>,
}

/// An entry was published; the worker notifies every member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangelogPublished {
    /// The entry.
    pub entry_id: Uuid,
}

impl DomainEvent for ChangelogPublished {
    const KIND: &'static str = "notifications.changelog_published";
}

/// Publishes an entry, as the platform owner; the fan-out to members follows from the outbox.
pub async fn publish(
    conn: &mut AsyncPgConnection,
    publisher: UserId,
    input: &NewEntry,
    now: DateTime<Utc>,
) -> Result<Entry, NotificationsError> {
    check_platform_owner(conn, publisher).await?;
    let version = text("version", &input.version, MAX_VERSION)?;
    let title = text("title", &input.title, MAX_TITLE)?;
    let summary = text("summary", &input.summary, MAX_SUMMARY)?;
    let date = input.date.unwrap_or_else(|| now.date_naive());
    insert(conn, Some(publisher), &version, &title, &summary, date, now).await
}

async fn insert(
    conn: &mut AsyncPgConnection,
    publisher: Option<UserId>,
    version: &str,
    title: &str,
    summary: &str,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Entry, NotificationsError> {
    conn.transaction::<_, NotificationsError, _>(async |conn| {
        let entry: Entry = diesel::insert_into(ce::table)
            .values((
                ce::id.eq(Uuid::now_v7()),
                ce::version.eq(version),
                ce::title.eq(title),
                ce::summary.eq(summary),
                ce::date.eq(date),
                ce::published_by.eq(publisher.map(UserId::into_uuid)),
                ce::published_at.eq(now),
                ce::updated_at.eq(now),
            ))
            .returning(Entry::as_returning())
            .get_result(conn)
            .await?;
        guild_db::outbox::publish(conn, None, &ChangelogPublished { entry_id: entry.id }).await?;
        Ok(entry)
    })
    .await
}

/// Changes an entry, as the platform owner. Members are not notified again.
pub async fn update(
    conn: &mut AsyncPgConnection,
    user: UserId,
    id: Uuid,
    changes: &EntryChanges,
    now: DateTime<Utc>,
) -> Result<Entry, NotificationsError> {
    check_platform_owner(conn, user).await?;
    let version = changes
        .version
        .as_deref()
        .map(|v| text("version", v, MAX_VERSION))
        .transpose()?;
    let title = changes
        .title
        .as_deref()
        .map(|v| text("title", v, MAX_TITLE))
        .transpose()?;
    let summary = changes
        .summary
        .as_deref()
        .map(|v| text("summary", v, MAX_SUMMARY))
        .transpose()?;
    diesel::update(ce::table.find(id))
        .set((
            version.map(|v| ce::version.eq(v)),
            title.map(|v| ce::title.eq(v)),
            summary.map(|v| ce::summary.eq(v)),
            changes.date.map(|v| ce::date.eq(v)),
            ce::updated_at.eq(now),
        ))
        .returning(Entry::as_returning())
        .get_result(conn)
        .await
        .optional()?
        .ok_or(NotificationsError::EntryNotFound)
}

/// Deletes an entry, as the platform owner. Notifications already delivered stay.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    user: UserId,
    id: Uuid,
) -> Result<(), NotificationsError> {
    check_platform_owner(conn, user).await?;
    let deleted = diesel::delete(ce::table.find(id)).execute(conn).await?;
    if deleted == 0 {
        return Err(NotificationsError::EntryNotFound);
    }
    Ok(())
}

/// One entry, if it (still) exists.
pub async fn get(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> Result<Option<Entry>, NotificationsError> {
    Ok(ce::table
        .find(id)
        .select(Entry::as_select())
        .first(conn)
        .await
        .optional()?)
}

#[derive(QueryableByName)]
struct ListedRow {
    #[diesel(embed)]
    entry: Entry,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    unread: bool,
}

/// The changelog, newest first (by date, then publication), a page at a time, each entry marked
/// unread or not for the actor.
pub async fn list(
    mut conn: &AsyncPgConnection,
    actor: &Actor,
    page: &PageRequest,
) -> Result<Page<Listed>, NotificationsError> {
    let limit = page.limit();
    let after = after(page)?;
    let rows: Vec<ListedRow> = guild_db::sql(
        "SELECT e.id, e.version, e.title, e.summary, e.date, e.published_at, e.updated_at, \
                (r.seen_until IS NULL OR e.published_at > r.seen_until) AS unread \
         FROM changelog_entries e \
         LEFT JOIN changelog_reads r ON r.tenant_id = $1 AND r.user_id = $2 \
         WHERE $3::date IS NULL OR (e.date, e.id) < ($3::date, $4::uuid) \
         ORDER BY e.date DESC, e.id DESC LIMIT $5",
    )
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<Nullable<Date>, _>(after.map(|(date, _)| date))
    .bind::<Nullable<SqlUuid>, _>(after.map(|(_, id)| id))
    .bind::<BigInt, _>(i64::from(limit) + 1)
    .load(&mut conn)
    .await?;
    let rows: Vec<Listed> = rows
        .into_iter()
        .map(|r| Listed {
            entry: r.entry,
            unread: r.unread,
        })
        .collect();
    Ok(Page::from_overfetch(rows, limit, |l: &Listed| {
        format!("{}|{}", l.entry.date, l.entry.id)
    }))
}

fn after(page: &PageRequest) -> Result<Option<(NaiveDate, Uuid)>, NotificationsError> {
    let bad = || NotificationsError::invalid("cursor", "invalid_cursor", "the cursor is not valid");
    let Some(cursor) = page.cursor().map_err(|_| bad())? else {
        return Ok(None);
    };
    let (date, id) = cursor.0.split_once('|').ok_or_else(bad)?;
    Ok(Some((
        date.parse().map_err(|_| bad())?,
        id.parse().map_err(|_| bad())?,
    )))
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// How many entries the actor has not read (the "what's new" badge).
pub async fn unread_count(
    mut conn: &AsyncPgConnection,
    actor: &Actor,
) -> Result<i64, NotificationsError> {
    let count: Count = guild_db::sql(
        "SELECT count(*) AS n FROM changelog_entries e \
         WHERE e.published_at > coalesce((SELECT seen_until FROM changelog_reads \
             WHERE tenant_id = $1 AND user_id = $2), '-infinity'::timestamptz)",
    )
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .get_result(&mut conn)
    .await?;
    Ok(count.n)
}

/// Marks everything published so far read for the actor (the marker moves to the newest
/// publication, or to `now` when there is none, and never back); answers the marker.
pub async fn mark_read(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, NotificationsError> {
    if actor.impersonating {
        return Err(NotificationsError::NotAMember);
    }
    let newest: Option<DateTime<Utc>> = ce::table
        .select(diesel::dsl::max(ce::published_at))
        .first(conn)
        .await?;
    let until = newest.unwrap_or(now);
    Ok(diesel::insert_into(cr::table)
        .values((
            cr::tenant_id.eq(actor.tenant_id.into_uuid()),
            cr::user_id.eq(actor.user_id.into_uuid()),
            cr::seen_until.eq(until),
        ))
        .on_conflict((cr::tenant_id, cr::user_id))
        .do_update()
        .set(cr::seen_until.eq(diesel::dsl::sql::<Timestamptz>(
            "greatest(changelog_reads.seen_until, excluded.seen_until)",
        )))
        .returning(cr::seen_until)
        .get_result(conn)
        .await?)
}

/// The notification every member gets for `entry`.
pub fn broadcast(entry: &Entry) -> Broadcast {
    Broadcast {
        kind: NotificationType::System,
        title: format!("What's new in {}: {}", entry.version, entry.title),
        body: entry.summary.clone(),
        entity: Some((EntityKind::ChangelogEntry, entry.id)),
        dedup_key: format!("changelog:{}", entry.id),
        data: serde_json::Value::Null,
    }
}

/// The next `limit` active members of `tenant` after `after`, in user order: the fan-out's batches.
pub async fn members_after(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    after: Option<UserId>,
    limit: i64,
) -> Result<Vec<UserId>, NotificationsError> {
    let mut query = memberships::table
        .filter(memberships::tenant_id.eq(tenant.into_uuid()))
        .filter(memberships::status.eq("ACTIVE"))
        .order(memberships::user_id.asc())
        .limit(limit)
        .select(memberships::user_id)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(memberships::user_id.gt(after.into_uuid()));
    }
    Ok(query
        .load::<Uuid>(conn)
        .await?
        .into_iter()
        .map(UserId)
        .collect())
}

/// The entries the demo data shows a newcomer, oldest first.
const DEMO: [(&str, &str, &str, &str); 3] = [
    (
        "1.0",
        "2026-10-01",
        "Guild is live",
        "Modules, quizzes, certificates that expire and renew, and an XP shop for your team.",
    ),
    (
        "1.1",
        "2026-11-15",
        "Assignments and compliance",
        "Graded assignments with rubrics, the compliance matrix with its CSV export, and \
         deadline reminders by email.",
    ),
    (
        "1.2",
        "2026-12-08",
        "Notifications, live updates and background jobs",
        "Your inbox and the live event stream; long exports now run in the background and \
         report their progress as they go.",
    ),
];

/// Publishes the demo entries on a database with no changelog yet (the worker then notifies the
/// demo members); answers how many it published.
pub async fn seed_demo(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> Result<usize, NotificationsError> {
    let any: i64 = ce::table.count().get_result(conn).await?;
    if any > 0 {
        return Ok(0);
    }
    for (i, (version, date, title, summary)) in DEMO.iter().enumerate() {
        let date: NaiveDate = date.parse().unwrap_or_else(|_| now.date_naive());
        // A second apart, so their publication order is the list's.
        let at = now + chrono::Duration::seconds(i64::try_from(i).unwrap_or(0));
        insert(conn, None, version, title, summary, date, at).await?;
    }
    Ok(DEMO.len())
}

async fn check_platform_owner(
    conn: &mut AsyncPgConnection,
    user: UserId,
) -> Result<(), NotificationsError> {
    let role: Option<String> = users::table
        .find(user.into_uuid())
        .select(users::global_role)
        .first(conn)
        .await
        .optional()?;
    if role.as_deref() == Some(GlobalRole::Owner.as_str()) {
        Ok(())
    } else {
        Err(NotificationsError::NotPlatformOwner)
    }
}

/// `value` trimmed, refused when empty or longer than `max` characters.
fn text(field: &str, value: &str, max: usize) -> Result<String, NotificationsError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(NotificationsError::invalid(
            field,
            "required",
            "must not be blank",
        ));
    }
    if value.chars().count() > max {
        return Err(NotificationsError::invalid(
            field,
            "length",
            &format!("must be at most {max} characters"),
        ));
    }
    Ok(value.to_owned())
}
