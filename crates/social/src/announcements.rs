//! Announcements: a message to the whole tenant, to groups, or to a module's learners, with read
//! receipts.
//!
//! Owns `announcements` and `announcement_recipients`. Who may post: ADMIN and above (signed in,
//! not through an API key) to any audience; a module's mentors (acting as members) to that
//! module's learners only; nobody else (403 `forbidden`). The recipients are decided when it is
//! posted — the active members of the tenant, of the groups, or the module's learners
//! (`guild_learning::audience::learners`), never its author — and kept with each one's read
//! receipt, so a member who joins later does not receive an older announcement.
//!
//! A posted announcement publishes [`AnnouncementPosted`]; the api layer's reaction delivers an
//! ANNOUNCEMENT notification to every recipient in batches (in-app, and by email as each
//! member's preferences say). A recipient lists theirs (pinned first while their pin lasts),
//! opens one (which marks it read) or marks it read; its author and ADMIN and above see how many
//! read it.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{
    Array, BigInt, Bool, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{announcement_recipients as ar, announcements as a, groups};
use guild_kernel::{Actor, DomainEvent, Page, PageRequest, TenantId, UserId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::SocialError;
use crate::discussions::is_admin;
use crate::input::{after_pinned, pinned_cursor, text};
use crate::reactions::{self, Count, TargetKind};

/// The longest title.
pub const MAX_TITLE: usize = 200;
/// The longest body.
pub const MAX_BODY: usize = 10_000;
/// The most groups one announcement names.
pub const MAX_GROUPS: usize = 50;

guild_kernel::string_enum!(
    /// Who an announcement is for.
    AudienceKind {
        /// Every active member of the tenant.
        Tenant => "TENANT",
        /// The members of some groups.
        Groups => "GROUPS",
        /// A module's learners (and mentors).
        Module => "MODULE",
    }
);

/// Who a new announcement is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// Every active member.
    Tenant,
    /// The members of these groups.
    Groups(Vec<Uuid>),
    /// The module's learners.
    Module(Uuid),
}

/// A new announcement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAnnouncement {
    /// One line.
    pub title: String,
    /// The message (plain text).
    pub body: String,
    /// Who it is for.
    pub audience: Audience,
    /// Listed first until then.
    pub pinned_until: Option<DateTime<Utc>>,
}

/// An announcement as the asking member sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// Its id.
    pub id: Uuid,
    /// Who wrote it.
    pub author_id: Uuid,
    /// Their name.
    pub author_name: String,
    /// One line.
    pub title: String,
    /// The message.
    pub body: String,
    /// Who it is for.
    pub audience: AudienceKind,
    /// The groups (`GROUPS`).
    pub group_ids: Vec<Uuid>,
    /// The module (`MODULE`).
    pub module_id: Option<Uuid>,
    /// Listed first until then.
    pub pinned_until: Option<DateTime<Utc>>,
    /// Pinned now.
    pub pinned: bool,
    /// When it was posted.
    pub created_at: DateTime<Utc>,
    /// When the asking member read it (`None` when unread or not a recipient).
    pub read_at: Option<DateTime<Utc>>,
    /// How many it was sent to and how many read it: for its author and ADMIN and above only.
    pub receipts: Option<Receipts>,
    /// Its reactions.
    pub reactions: Vec<Count>,
}

/// Read receipts, counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipts {
    /// Recipients.
    pub recipients: i32,
    /// Recipients who read it.
    pub read: i64,
}

/// An announcement was posted: the worker notifies its recipients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnouncementPosted {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The announcement.
    pub announcement_id: Uuid,
}

impl DomainEvent for AnnouncementPosted {
    const KIND: &'static str = "social.announcement_posted";
}

#[derive(QueryableByName)]
struct Recipient {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
}

/// Posts an announcement as the rules above allow; answers it as its author sees it.
pub async fn post(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    input: &NewAnnouncement,
    now: DateTime<Utc>,
) -> Result<Announcement, SocialError> {
    reactions::check_member(actor)?;
    let admin = is_admin(actor);
    let tenant = actor.tenant_id;
    // Who may post to this audience first: a member learns nothing about groups or modules from
    // a refusal.
    match &input.audience {
        Audience::Tenant | Audience::Groups(_) if !admin => return Err(SocialError::Forbidden),
        Audience::Module(module) => {
            guild_learning::access::visible(conn, actor, *module)
                .await
                .map_err(|e| match e {
                    guild_learning::LearningError::ModuleNotFound => {
                        SocialError::NotFound("module_not_found")
                    }
                    other => SocialError::Learning(other),
                })?;
            let mentor = actor.acts_as_member()
                && guild_learning::access::is_mentor(conn, actor, *module).await?;
            if !admin && !mentor {
                return Err(SocialError::Forbidden);
            }
        }
        _ => {}
    }
    let title = text("title", &input.title, MAX_TITLE)?;
    let body = text("body", &input.body, MAX_BODY)?;
    if input.pinned_until.is_some_and(|until| until <= now) {
        return Err(SocialError::invalid(
            "pinned_until",
            "in_the_past",
            "must be in the future",
        ));
    }
    let author = actor.user_id.into_uuid();
    let (kind, group_ids, module_id, mut recipients) = match &input.audience {
        Audience::Tenant => {
            let rows: Vec<Recipient> = guild_db::sql(
                "SELECT user_id FROM memberships WHERE tenant_id = $1 AND status = 'ACTIVE' \
                 ORDER BY user_id",
            )
            .bind::<SqlUuid, _>(tenant.into_uuid())
            .load(conn)
            .await?;
            let users = rows.into_iter().map(|r| r.user_id).collect();
            (AudienceKind::Tenant, Vec::new(), None, users)
        }
        Audience::Groups(ids) => {
            let mut ids = ids.clone();
            ids.sort_unstable();
            ids.dedup();
            if ids.is_empty() || ids.len() > MAX_GROUPS {
                return Err(SocialError::invalid(
                    "audience.group_ids",
                    "length",
                    &format!("1 to {MAX_GROUPS} groups"),
                ));
            }
            let found: i64 = groups::table
                .filter(groups::tenant_id.eq(tenant.into_uuid()))
                .filter(groups::id.eq_any(&ids))
                .count()
                .get_result(conn)
                .await?;
            if usize::try_from(found).unwrap_or(0) != ids.len() {
                return Err(SocialError::invalid(
                    "audience.group_ids",
                    "group_not_found",
                    "every group must be one of the tenant's",
                ));
            }
            let rows: Vec<Recipient> = guild_db::sql(
                "SELECT DISTINCT m.user_id FROM memberships m \
                 JOIN user_groups ug ON ug.tenant_id = m.tenant_id AND ug.user_id = m.user_id \
                 WHERE m.tenant_id = $1 AND m.status = 'ACTIVE' AND ug.group_id = ANY($2) \
                 ORDER BY m.user_id",
            )
            .bind::<SqlUuid, _>(tenant.into_uuid())
            .bind::<Array<SqlUuid>, _>(&ids)
            .load(conn)
            .await?;
            let users = rows.into_iter().map(|r| r.user_id).collect();
            (AudienceKind::Groups, ids, None, users)
        }
        Audience::Module(module) => {
            let users = guild_learning::audience::learners(conn, tenant, *module).await?;
            (AudienceKind::Module, Vec::new(), Some(*module), users)
        }
    };
    recipients.retain(|u| *u != author);
    let id = Uuid::now_v7();
    diesel::insert_into(a::table)
        .values((
            a::tenant_id.eq(tenant.into_uuid()),
            a::id.eq(id),
            a::author_id.eq(author),
            a::title.eq(&title),
            a::body.eq(&body),
            a::audience.eq(kind.as_str()),
            a::group_ids.eq(&group_ids),
            a::module_id.eq(module_id),
            a::pinned_until.eq(input.pinned_until),
            a::recipient_count.eq(i32::try_from(recipients.len()).unwrap_or(i32::MAX)),
            a::created_at.eq(now),
        ))
        .execute(conn)
        .await?;
    guild_db::sql(
        "INSERT INTO announcement_recipients (tenant_id, announcement_id, user_id) \
         SELECT $1, $2, u FROM unnest($3::uuid[]) AS u",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(id)
    .bind::<Array<SqlUuid>, _>(&recipients)
    .execute(conn)
    .await?;
    guild_db::audit::record(
        conn,
        actor,
        "announcement.posted",
        "announcement",
        Some(id.to_string()),
        serde_json::json!({ "audience": kind.as_str(), "recipients": recipients.len() }),
    )
    .await?;
    guild_db::outbox::publish(
        conn,
        Some(tenant),
        &AnnouncementPosted {
            tenant_id: tenant.into_uuid(),
            announcement_id: id,
        },
    )
    .await?;
    get_row(conn, actor, id, now).await
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    author_id: Uuid,
    #[diesel(sql_type = Text)]
    author_name: String,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Text)]
    body: String,
    #[diesel(sql_type = Text)]
    audience: String,
    #[diesel(sql_type = Array<SqlUuid>)]
    group_ids: Vec<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    module_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pinned_until: Option<DateTime<Utc>>,
    #[diesel(sql_type = Bool)]
    pinned: bool,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    read_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Integer)]
    recipient_count: i32,
    #[diesel(sql_type = BigInt)]
    read_count: i64,
}

/// `$1` tenant, `$2` the asking member, `$3` now.
const COLUMNS: &str = "a.id, a.author_id, coalesce(u.name, '') AS author_name, a.title, a.body, \
     a.audience, a.group_ids, a.module_id, a.pinned_until, \
     coalesce(a.pinned_until > $3, false) AS pinned, a.created_at, \
     (SELECT r.read_at FROM announcement_recipients r WHERE r.tenant_id = a.tenant_id \
        AND r.announcement_id = a.id AND r.user_id = $2) AS read_at, a.recipient_count, \
     (SELECT count(*) FROM announcement_recipients r WHERE r.tenant_id = a.tenant_id \
        AND r.announcement_id = a.id AND r.read_at IS NOT NULL) AS read_count \
     FROM announcements a LEFT JOIN users u ON u.id = a.author_id";

impl Row {
    fn into_announcement(self, actor: &Actor, reactions: Vec<Count>) -> Announcement {
        let sees_receipts = is_admin(actor) || self.author_id == actor.user_id.into_uuid();
        Announcement {
            receipts: sees_receipts.then_some(Receipts {
                recipients: self.recipient_count,
                read: self.read_count,
            }),
            id: self.id,
            author_id: self.author_id,
            author_name: self.author_name,
            title: self.title,
            body: self.body,
            audience: self.audience.parse().unwrap_or(AudienceKind::Tenant),
            group_ids: self.group_ids,
            module_id: self.module_id,
            pinned_until: self.pinned_until,
            pinned: self.pinned,
            created_at: self.created_at,
            read_at: self.read_at,
            reactions,
        }
    }
}

/// What the actor is to an announcement: `None` when they may not see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// A recipient.
    Recipient,
    /// Its author, or ADMIN and above (not a recipient).
    Overseer,
}

/// How the actor relates to an announcement they may see; 404 `announcement_not_found`
/// otherwise (another tenant's included).
pub async fn visible_to(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<Relation, SocialError> {
    let tenant = actor.tenant_id.into_uuid();
    let author: Option<Uuid> = a::table
        .find((tenant, id))
        .select(a::author_id)
        .first(conn)
        .await
        .optional()?;
    let Some(author) = author else {
        return Err(SocialError::NotFound("announcement_not_found"));
    };
    let recipient: bool = diesel::select(diesel::dsl::exists(ar::table.find((
        tenant,
        id,
        actor.user_id.into_uuid(),
    ))))
    .get_result(conn)
    .await?;
    if recipient && actor.acts_as_member() {
        Ok(Relation::Recipient)
    } else if is_admin(actor) || (author == actor.user_id.into_uuid() && actor.acts_as_member()) {
        Ok(Relation::Overseer)
    } else {
        Err(SocialError::NotFound("announcement_not_found"))
    }
}

async fn get_row(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Announcement, SocialError> {
    let row: Row = guild_db::sql(format!(
        "SELECT {COLUMNS} WHERE a.tenant_id = $1 AND a.id = $4"
    ))
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<Timestamptz, _>(now)
    .bind::<SqlUuid, _>(id)
    .get_result(conn)
    .await?;
    let reactions = reactions::counts(conn, actor, TargetKind::Announcement, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    Ok(row.into_announcement(actor, reactions))
}

/// Opens an announcement the actor may see; a recipient's opening marks it read.
pub async fn open(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Announcement, SocialError> {
    if visible_to(conn, actor, id).await? == Relation::Recipient {
        mark(conn, actor, id, now).await?;
    }
    get_row(conn, actor, id, now).await
}

/// Marks an announcement addressed to the actor read (once: the first time stays); 404 when it
/// is not addressed to them.
pub async fn mark_read(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Announcement, SocialError> {
    if visible_to(conn, actor, id).await? != Relation::Recipient {
        return Err(SocialError::NotFound("announcement_not_found"));
    }
    mark(conn, actor, id, now).await?;
    get_row(conn, actor, id, now).await
}

async fn mark(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), SocialError> {
    diesel::update(
        ar::table
            .find((actor.tenant_id.into_uuid(), id, actor.user_id.into_uuid()))
            .filter(ar::read_at.is_null()),
    )
    .set(ar::read_at.eq(Some(now)))
    .execute(conn)
    .await?;
    Ok(())
}

/// Which announcements a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// Those addressed to the actor: pinned first (while pinned), then newest first.
    Received,
    /// Those the actor posted (every one of the tenant's for ADMIN and above), newest first.
    Sent,
}

/// The actor's announcements, a page at a time.
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    listing: Listing,
    page: &PageRequest,
    now: DateTime<Utc>,
) -> Result<Page<Announcement>, SocialError> {
    if !actor.acts_as_member() {
        return Err(SocialError::Forbidden);
    }
    let limit = page.limit();
    let after = after_pinned(page)?;
    let filter = match listing {
        Listing::Received => {
            "EXISTS (SELECT 1 FROM announcement_recipients r WHERE r.tenant_id = a.tenant_id \
               AND r.announcement_id = a.id AND r.user_id = $2)"
        }
        Listing::Sent => "($5 OR a.author_id = $2)",
    };
    let order = match listing {
        Listing::Received => "coalesce(a.pinned_until > $3, false)",
        // Not a constant: PostgreSQL refuses one in ORDER BY.
        Listing::Sent => "(a.id IS NULL)",
    };
    let rows: Vec<Row> = guild_db::sql(format!(
        "SELECT {COLUMNS} WHERE a.tenant_id = $1 AND {filter} \
           AND ($6::boolean IS NULL OR ({order}, a.created_at, a.id) < ($6, $7, $8)) \
         ORDER BY {order} DESC, a.created_at DESC, a.id DESC LIMIT $4"
    ))
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<Timestamptz, _>(now)
    .bind::<BigInt, _>(i64::from(limit) + 1)
    .bind::<Bool, _>(is_admin(actor))
    .bind::<Nullable<Bool>, _>(after.map(|a| a.0))
    .bind::<Nullable<Timestamptz>, _>(after.map(|a| a.1))
    .bind::<Nullable<SqlUuid>, _>(after.map(|a| a.2))
    .load(conn)
    .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut counts = reactions::counts(conn, actor, TargetKind::Announcement, &ids).await?;
    let sent = listing == Listing::Sent;
    let items: Vec<Announcement> = rows
        .into_iter()
        .map(|r| {
            let reactions = counts.remove(&r.id).unwrap_or_default();
            r.into_announcement(actor, reactions)
        })
        .collect();
    Ok(Page::from_overfetch(items, limit, |x: &Announcement| {
        pinned_cursor(x.pinned && !sent, x.created_at, x.id)
    }))
}

/// Changes how long an announcement stays pinned (`None` unpins), as its author or ADMIN and
/// above.
pub async fn pin(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Announcement, SocialError> {
    visible_to(conn, actor, id).await?;
    let author: Uuid = a::table
        .find((actor.tenant_id.into_uuid(), id))
        .select(a::author_id)
        .first(conn)
        .await?;
    let may = is_admin(actor) || (author == actor.user_id.into_uuid() && actor.acts_as_member());
    if !may {
        return Err(SocialError::Forbidden);
    }
    if until.is_some_and(|u| u <= now) {
        return Err(SocialError::invalid(
            "pinned_until",
            "in_the_past",
            "must be in the future",
        ));
    }
    diesel::update(a::table.find((actor.tenant_id.into_uuid(), id)))
        .set(a::pinned_until.eq(until))
        .execute(conn)
        .await?;
    get_row(conn, actor, id, now).await
}

/// What an announcement's notification says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The title.
    pub title: String,
    /// The body.
    pub body: String,
    /// The author's name.
    pub author_name: String,
}

/// The announcement's text for its notifications; `None` once it is gone.
pub async fn notice(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: Uuid,
) -> Result<Option<Notice>, SocialError> {
    use guild_db::schema::users;
    let row: Option<(String, String, Option<String>)> = a::table
        .left_join(users::table.on(users::id.eq(a::author_id)))
        .filter(a::tenant_id.eq(tenant.into_uuid()))
        .filter(a::id.eq(id))
        .select((a::title, a::body, users::name.nullable()))
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(|(title, body, name)| Notice {
        title,
        body,
        author_name: name.unwrap_or_default(),
    }))
}

/// The next `limit` recipients of the announcement after `after`, in user order: the fan-out's
/// batches.
pub async fn recipients_after(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: Uuid,
    after: Option<UserId>,
    limit: i64,
) -> Result<Vec<UserId>, SocialError> {
    let mut query = ar::table
        .filter(ar::tenant_id.eq(tenant.into_uuid()))
        .filter(ar::announcement_id.eq(id))
        .order(ar::user_id.asc())
        .limit(limit)
        .select(ar::user_id)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(ar::user_id.gt(after.into_uuid()));
    }
    Ok(query
        .load::<Uuid>(conn)
        .await?
        .into_iter()
        .map(UserId)
        .collect())
}

/// Who hears of an announcement's reactions: its author and its recipients.
pub async fn audience(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: Uuid,
) -> Result<Vec<Uuid>, SocialError> {
    let rows: Vec<Recipient> = guild_db::sql(
        "SELECT author_id AS user_id FROM announcements WHERE tenant_id = $1 AND id = $2 \
         UNION SELECT user_id FROM announcement_recipients \
           WHERE tenant_id = $1 AND announcement_id = $2 ORDER BY 1",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(id)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.user_id).collect())
}

/// Posts the demo tenant's welcome announcement (to everyone, pinned for a week, by its ADMIN)
/// when the demo tenant exists and has none yet; answers whether it posted. The worker then
/// notifies the demo members.
pub async fn seed_demo(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> Result<bool, SocialError> {
    use guild_db::schema::{memberships, tenants};
    let admin: Option<(Uuid, Uuid)> = tenants::table
        .inner_join(memberships::table.on(memberships::tenant_id.eq(tenants::id)))
        .filter(tenants::slug.eq("demo"))
        .filter(memberships::role.eq("ADMIN"))
        .select((tenants::id, memberships::user_id))
        .first(conn)
        .await
        .optional()?;
    let Some((tenant, user)) = admin else {
        return Ok(false);
    };
    let tenant = TenantId(tenant);
    guild_db::tenant_transaction(conn, tenant, async |conn| {
        let any: i64 = a::table
            .filter(a::tenant_id.eq(tenant.into_uuid()))
            .count()
            .get_result(conn)
            .await?;
        if any > 0 {
            return Ok::<_, SocialError>(false);
        }
        let actor = Actor {
            user_id: UserId(user),
            tenant_id: tenant,
            role: guild_kernel::TenantRole::Admin,
            global_role: guild_kernel::GlobalRole::Employee,
            grants: Vec::new(),
            subtree: Vec::new(),
            impersonating: false,
            api_key: None,
            request_id: None,
        };
        let welcome = NewAnnouncement {
            title: "Welcome to Guild".to_owned(),
            body: "Modules, quizzes and certificates are in the catalog; ask questions in each \
                   module's discussions, and react to this announcement to say hello."
                .to_owned(),
            audience: Audience::Tenant,
            pinned_until: Some(now + chrono::Duration::days(7)),
        };
        post(conn, &actor, &welcome, now).await?;
        Ok(true)
    })
    .await
}
