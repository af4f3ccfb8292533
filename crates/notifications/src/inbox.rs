//! A member's inbox: delivering notifications once, listing them, and their read state.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{memberships, notifications as n};
use guild_kernel::{Actor, Page, PageRequest, TenantId, UserId};
use uuid::Uuid;

use crate::events::{BroadcastDelivered, NotificationDelivered};
use crate::{EntityKind, NotificationType, NotificationsError};

/// The longest title kept; a longer one is cut at a character boundary and ends with `…`.
pub const MAX_TITLE: usize = 200;
/// The longest body kept, cut the same way.
pub const MAX_BODY: usize = 2000;

/// A notification to deliver to one member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    /// The recipient.
    pub user: UserId,
    /// What it is about.
    pub kind: NotificationType,
    /// One line for the list, written for the recipient.
    pub title: String,
    /// The details (plain text), or empty.
    pub body: String,
    /// What it links to.
    pub entity: Option<(EntityKind, Uuid)>,
    /// Names the event and the reason it notifies (`"certificate_issued:{id}"`): the recipient is
    /// notified once per key, however often the event is delivered.
    pub dedup_key: String,
    /// The values its email template names beside the title and body (`module`, `due_at`…; see
    /// [`templates::variables`](crate::templates::variables)): a JSON object, or `null` for none.
    pub data: serde_json::Value,
}

/// A notification in a member's inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Its id (UUIDv7: newer ids sort later).
    pub id: Uuid,
    /// The recipient.
    pub user_id: Uuid,
    /// What it is about.
    pub kind: NotificationType,
    /// One line for the list.
    pub title: String,
    /// The details, or empty.
    pub body: String,
    /// What it links to.
    pub link: Option<Link>,
    /// When it was delivered.
    pub created_at: DateTime<Utc>,
    /// When the member read it.
    pub read_at: Option<DateTime<Utc>>,
    /// When the member archived it (gone from the inbox, kept for the archive view).
    pub archived_at: Option<DateTime<Utc>>,
}

/// The entity a notification links to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// Its kind.
    pub kind: EntityKind,
    /// Its id.
    pub id: Uuid,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = n)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct Row {
    id: Uuid,
    user_id: Uuid,
    #[diesel(deserialize_as = String)]
    kind: NotificationType,
    title: String,
    body: String,
    entity_kind: Option<String>,
    entity_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    read_at: Option<DateTime<Utc>>,
    archived_at: Option<DateTime<Utc>>,
}

/// [`Row`] as raw SQL returns it (the kind as text).
#[derive(QueryableByName)]
#[diesel(table_name = n)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct RawRow {
    id: Uuid,
    user_id: Uuid,
    kind: String,
    title: String,
    body: String,
    entity_kind: Option<String>,
    entity_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    read_at: Option<DateTime<Utc>>,
    archived_at: Option<DateTime<Utc>>,
}

impl RawRow {
    /// The row, unless its kind is not one of the set (the column's CHECK keeps it in the set).
    fn typed(self) -> Option<Row> {
        Some(Row {
            id: self.id,
            user_id: self.user_id,
            kind: self.kind.parse().ok()?,
            title: self.title,
            body: self.body,
            entity_kind: self.entity_kind,
            entity_id: self.entity_id,
            created_at: self.created_at,
            read_at: self.read_at,
            archived_at: self.archived_at,
        })
    }
}

impl From<Row> for Notification {
    fn from(row: Row) -> Self {
        // The column's CHECK holds `entity_kind` to the set and to `entity_id`'s presence.
        let link = match (row.entity_kind.and_then(|k| k.parse().ok()), row.entity_id) {
            (Some(kind), Some(id)) => Some(Link { kind, id }),
            _ => None,
        };
        Self {
            id: row.id,
            user_id: row.user_id,
            kind: row.kind,
            title: row.title,
            body: row.body,
            link,
            created_at: row.created_at,
            read_at: row.read_at,
            archived_at: row.archived_at,
        }
    }
}

/// Which part of the inbox to list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InboxFilter {
    /// Only notifications not read yet.
    pub unread_only: bool,
    /// The archive instead of the inbox.
    pub archived: bool,
}

/// Delivers `notification` to its recipient in `tenant`, unless they already have one with its
/// dedup key or are no longer an active member. Answers the notification written, if any.
///
/// Run it in a transaction for `tenant`; the write commits with the caller's.
pub async fn deliver(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    notification: &NewNotification,
    now: DateTime<Utc>,
) -> Result<Option<Notification>, NotificationsError> {
    let key = dedup_key(&notification.dedup_key)?;
    let active: Option<String> = memberships::table
        .filter(memberships::tenant_id.eq(tenant.into_uuid()))
        .filter(memberships::user_id.eq(notification.user.into_uuid()))
        .select(memberships::status)
        .first(conn)
        .await
        .optional()?;
    if active.as_deref() != Some("ACTIVE") {
        return Ok(None);
    }
    let title = title_of(&notification.title)?;
    let data = template_data(&notification.data)?;
    let written = diesel::insert_into(n::table)
        .values((
            n::tenant_id.eq(tenant.into_uuid()),
            n::id.eq(Uuid::now_v7()),
            n::user_id.eq(notification.user.into_uuid()),
            n::kind.eq(notification.kind.as_str()),
            n::title.eq(title),
            n::body.eq(cut(notification.body.trim(), MAX_BODY)),
            n::entity_kind.eq(notification.entity.map(|(kind, _)| kind.as_str())),
            n::entity_id.eq(notification.entity.map(|(_, id)| id)),
            n::dedup_key.eq(key),
            n::created_at.eq(now),
            n::data.eq(data),
            n::email_status.eq(Some("PENDING")),
        ))
        .on_conflict((n::tenant_id, n::user_id, n::dedup_key))
        .do_nothing()
        .returning(Row::as_returning())
        .get_result::<Row>(conn)
        .await
        .optional()?;
    if let Some(row) = &written {
        guild_db::outbox::publish(
            conn,
            Some(tenant),
            &NotificationDelivered {
                tenant_id: tenant.into_uuid(),
                user_id: row.user_id,
                notification_id: row.id,
            },
        )
        .await?;
    }
    Ok(written.map(Notification::from))
}

/// The template values as stored: `null` is no values, anything but an object is refused.
fn template_data(data: &serde_json::Value) -> Result<serde_json::Value, NotificationsError> {
    match data {
        serde_json::Value::Null => Ok(serde_json::Value::Object(serde_json::Map::new())),
        object @ serde_json::Value::Object(_) => Ok(object.clone()),
        _ => Err(NotificationsError::invalid(
            "data",
            "invalid_type",
            "the template values are a JSON object",
        )),
    }
}

/// One notification for many members (a platform announcement): the same text, link and dedup
/// key for each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broadcast {
    /// What it is about.
    pub kind: NotificationType,
    /// One line for the list.
    pub title: String,
    /// The details (plain text), or empty.
    pub body: String,
    /// What it links to.
    pub entity: Option<(EntityKind, Uuid)>,
    /// Each recipient is notified once per key (see [`NewNotification::dedup_key`]).
    pub dedup_key: String,
    /// The values its email template names (see [`NewNotification::data`]).
    pub data: serde_json::Value,
}

/// The most recipients [`deliver_many`] takes at once (its emails follow in one outbox event).
pub const MAX_RECIPIENTS: usize = 1000;

/// Delivers `broadcast` to each of `users` in `tenant` who is an active member and does not have
/// it yet, in two statements whatever their number; answers the notifications written (one per
/// member at most, in user order). Run it in a transaction for `tenant`.
pub async fn deliver_many(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    users: &[UserId],
    broadcast: &Broadcast,
    now: DateTime<Utc>,
) -> Result<Vec<Notification>, NotificationsError> {
    use diesel::sql_types::{Array, Nullable, Text, Timestamptz, Uuid as SqlUuid};
    if users.len() > MAX_RECIPIENTS {
        return Err(NotificationsError::invalid(
            "users",
            "too_many",
            "at most 1000 recipients at once",
        ));
    }
    let key = dedup_key(&broadcast.dedup_key)?;
    let title = title_of(&broadcast.title)?;
    let data = template_data(&broadcast.data)?;
    let users: Vec<Uuid> = users.iter().map(|u| u.into_uuid()).collect();
    // The active ones, in one statement whatever its plan: joined to the insert below, a cached
    // generic plan (made for an array of ten) could look each member up by a scan.
    let mut users: Vec<Uuid> = memberships::table
        .filter(memberships::tenant_id.eq(tenant.into_uuid()))
        .filter(memberships::user_id.eq_any(&users))
        .filter(memberships::status.eq("ACTIVE"))
        .select(memberships::user_id)
        .load(conn)
        .await?;
    users.sort_unstable();
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = users.iter().map(|_| Uuid::now_v7()).collect();
    let rows: Vec<RawRow> = guild_db::sql(
        "INSERT INTO notifications (tenant_id, id, user_id, kind, title, body, entity_kind, \
             entity_id, dedup_key, created_at, data, email_status) \
         SELECT $1, t.id, t.user_id, $4, $5, $6, $7, $8, $9, $10, $11, 'PENDING' \
         FROM unnest($2::uuid[], $3::uuid[]) AS t(id, user_id) \
         ORDER BY t.user_id \
         ON CONFLICT (tenant_id, user_id, dedup_key) DO NOTHING \
         RETURNING id, user_id, kind, title, body, entity_kind, entity_id, created_at, read_at, \
             archived_at",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Array<SqlUuid>, _>(&users)
    .bind::<Text, _>(broadcast.kind.as_str())
    .bind::<Text, _>(&title)
    .bind::<Text, _>(cut(broadcast.body.trim(), MAX_BODY))
    .bind::<Nullable<Text>, _>(broadcast.entity.map(|(kind, _)| kind.as_str()))
    .bind::<Nullable<SqlUuid>, _>(broadcast.entity.map(|(_, id)| id))
    .bind::<Text, _>(key)
    .bind::<Timestamptz, _>(now)
    .bind::<diesel::sql_types::Jsonb, _>(&data)
    .load(conn)
    .await?;
    let mut written: Vec<Notification> = rows
        .into_iter()
        .filter_map(RawRow::typed)
        .map(Notification::from)
        .collect();
    written.sort_by_key(|n| n.user_id);
    // One event for the batch: its emails follow like a single delivery's.
    if !written.is_empty() {
        guild_db::outbox::publish(
            conn,
            Some(tenant),
            &BroadcastDelivered {
                tenant_id: tenant.into_uuid(),
                notification_ids: written.iter().map(|n| n.id).collect(),
            },
        )
        .await?;
    }
    Ok(written)
}

/// The actor's own notifications, newest first, a page at a time.
pub async fn list(
    mut conn: &AsyncPgConnection,
    actor: &Actor,
    filter: InboxFilter,
    page: &PageRequest,
) -> Result<Page<Notification>, NotificationsError> {
    let limit = page.limit();
    let mut query = mine(actor)
        .order(n::id.desc())
        .limit(i64::from(limit) + 1)
        .select(Row::as_select())
        .into_boxed();
    query = if filter.archived {
        query.filter(n::archived_at.is_not_null())
    } else {
        query.filter(n::archived_at.is_null())
    };
    if filter.unread_only {
        query = query.filter(n::read_at.is_null());
    }
    if let Some(before) = after_id(page)? {
        query = query.filter(n::id.lt(before));
    }
    let rows: Vec<Notification> = query
        .load::<Row>(&mut conn)
        .await?
        .into_iter()
        .map(Notification::from)
        .collect();
    Ok(Page::from_overfetch(rows, limit, |row: &Notification| {
        row.id.to_string()
    }))
}

/// How many notifications in the actor's inbox are unread (the badge).
pub async fn unread_count(
    mut conn: &AsyncPgConnection,
    actor: &Actor,
) -> Result<i64, NotificationsError> {
    Ok(mine(actor)
        .filter(n::read_at.is_null())
        .filter(n::archived_at.is_null())
        .count()
        .get_result(&mut conn)
        .await?)
}

/// Marks one of the actor's notifications read (a second time keeps the first `read_at`).
pub async fn mark_read(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Notification, NotificationsError> {
    diesel::update(mine(actor).filter(n::id.eq(id)))
        .set(
            n::read_at.eq(diesel::dsl::sql::<
                diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
            >("coalesce(read_at, ")
            .bind::<diesel::sql_types::Timestamptz, _>(now)
            .sql(")")),
        )
        .returning(Row::as_returning())
        .get_result::<Row>(conn)
        .await
        .optional()?
        .map(Notification::from)
        .ok_or(NotificationsError::NotFound)
}

/// Marks every unread notification in the actor's inbox read; answers how many changed.
pub async fn mark_all_read(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<usize, NotificationsError> {
    Ok(diesel::update(
        mine(actor)
            .filter(n::read_at.is_null())
            .filter(n::archived_at.is_null()),
    )
    .set(n::read_at.eq(now))
    .execute(conn)
    .await?)
}

/// Moves one of the actor's notifications to the archive (read, if it was not).
pub async fn archive(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Notification, NotificationsError> {
    use diesel::dsl::sql;
    use diesel::sql_types::{Nullable, Timestamptz};
    let keep_or_now = |column: &str| {
        sql::<Nullable<Timestamptz>>(&format!("coalesce({column}, "))
            .bind::<Timestamptz, _>(now)
            .sql(")")
    };
    diesel::update(mine(actor).filter(n::id.eq(id)))
        .set((
            n::read_at.eq(keep_or_now("read_at")),
            n::archived_at.eq(keep_or_now("archived_at")),
        ))
        .returning(Row::as_returning())
        .get_result::<Row>(conn)
        .await
        .optional()?
        .map(Notification::from)
        .ok_or(NotificationsError::NotFound)
}

/// The actor's own rows: their tenant and their user, nobody else's.
type Mine = diesel::dsl::Filter<
    diesel::dsl::Filter<n::table, diesel::dsl::Eq<n::tenant_id, Uuid>>,
    diesel::dsl::Eq<n::user_id, Uuid>,
>;

fn mine(actor: &Actor) -> Mine {
    n::table
        .filter(n::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(n::user_id.eq(actor.user_id.into_uuid()))
}

fn after_id(page: &PageRequest) -> Result<Option<Uuid>, NotificationsError> {
    let bad = || NotificationsError::invalid("cursor", "invalid_cursor", "the cursor is not valid");
    match page.cursor().map_err(|_| bad())? {
        Some(c) => Ok(Some(c.0.parse().map_err(|_| bad())?)),
        None => Ok(None),
    }
}

/// The dedup key, trimmed: 1 to 300 characters.
fn dedup_key(key: &str) -> Result<&str, NotificationsError> {
    let key = key.trim();
    if key.is_empty() || key.chars().count() > 300 {
        return Err(NotificationsError::invalid(
            "dedup_key",
            "length",
            "must be 1 to 300 characters",
        ));
    }
    Ok(key)
}

/// The title as kept: trimmed, cut to [`MAX_TITLE`], never blank.
fn title_of(title: &str) -> Result<String, NotificationsError> {
    let title = cut(title.trim(), MAX_TITLE);
    if title.is_empty() {
        return Err(NotificationsError::invalid(
            "title",
            "required",
            "a notification needs a title",
        ));
    }
    Ok(title)
}

/// `text` cut to at most `max` characters, ending with `…` when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}
