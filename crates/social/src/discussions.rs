//! Discussions: threads attached to a module (optionally one of its sections), with replies
//! nested by parent, visible exactly when the module is (`guild_learning::access::visible`).
//!
//! Owns `discussion_threads`, `discussion_posts` and `discussion_follows`. A thread's opening
//! post has the thread's id; a reply names its parent (the opening post or another reply of the
//! same thread).
//!
//! - Any member who may see the module (not a VIEWER, not an API key that does not act as a
//!   member) starts threads and replies, at most [`MAX_POSTS_PER_THREAD`] posts a thread; the api
//!   layer limits how fast one member posts.
//! - The module's moderators — its mentors, and ADMIN and above (signed in, not through an API
//!   key) — pin, lock and hide. A locked thread takes replies from moderators only.
//! - Its author or a moderator resolves a thread (and reopens it).
//! - A hidden post keeps its row and the reason (each hiding is written to the audit log);
//!   members no longer see it — a thread whose opening post is hidden vanishes with it —
//!   moderators do.
//! - A post publishes [`DiscussionPosted`]; the api layer notifies the parent's author and the
//!   mentioned members (COMMENT_REPLY, never oneself) and pushes the post to the thread's
//!   followers (its author and everyone who posted, until they unfollow), each only while they
//!   may see the module.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{
    discussion_follows as f, discussion_posts as p, discussion_threads as t, memberships, sections,
};
use guild_kernel::{Actor, DomainEvent, Page, PageRequest, TenantId, TenantRole};
use guild_learning::LearningError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::SocialError;
use crate::input::{after_pinned, after_time, pinned_cursor, text, time_cursor};
use crate::reactions::{self, Count, TargetKind};

/// The longest title.
pub const MAX_TITLE: usize = 200;
/// The longest post.
pub const MAX_BODY: usize = 10_000;
/// The longest moderation reason.
pub const MAX_REASON: usize = 500;
/// The most members one post mentions.
pub const MAX_MENTIONS: usize = 20;
/// The most posts (the opening one included) a thread takes.
pub const MAX_POSTS_PER_THREAD: i64 = 1_000;

/// Why a post is hidden, as moderators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hidden {
    /// When.
    pub at: DateTime<Utc>,
    /// By whom.
    pub by: Option<Uuid>,
    /// Why.
    pub reason: String,
}

/// A thread, with its opening post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thread {
    /// Its id (also its opening post's).
    pub id: Uuid,
    /// The module.
    pub module_id: Uuid,
    /// The section, if it is about one.
    pub section_id: Option<Uuid>,
    /// Who started it.
    pub author_id: Uuid,
    /// Their name.
    pub author_name: String,
    /// One line.
    pub title: String,
    /// The opening post.
    pub body: String,
    /// The members the opening post mentions.
    pub mentions: Vec<Uuid>,
    /// Shown first.
    pub pinned: bool,
    /// Takes replies from moderators only.
    pub locked: bool,
    /// When it was resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// By whom.
    pub resolved_by: Option<Uuid>,
    /// Replies the asking member sees.
    pub reply_count: i64,
    /// The latest post.
    pub last_post_at: DateTime<Utc>,
    /// When it was started.
    pub created_at: DateTime<Utc>,
    /// Set when the opening post is hidden (moderators only see such a thread).
    pub hidden: Option<Hidden>,
    /// The asking member follows it.
    pub following: bool,
    /// The asking member moderates it.
    pub moderator: bool,
    /// The opening post's reactions.
    pub reactions: Vec<Count>,
}

/// A reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    /// Its id.
    pub id: Uuid,
    /// The thread.
    pub thread_id: Uuid,
    /// What it answers: the opening post (the thread's id) or another reply.
    pub parent_id: Uuid,
    /// Who wrote it.
    pub author_id: Uuid,
    /// Their name.
    pub author_name: String,
    /// The text.
    pub body: String,
    /// The members it mentions.
    pub mentions: Vec<Uuid>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// Set when hidden (moderators only see such a post).
    pub hidden: Option<Hidden>,
    /// Its reactions.
    pub reactions: Vec<Count>,
}

/// A new thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewThread {
    /// The module.
    pub module_id: Uuid,
    /// One of its sections, if it is about one.
    pub section_id: Option<Uuid>,
    /// One line.
    pub title: String,
    /// The opening post.
    pub body: String,
    /// Members to mention (notified when they may see the module).
    pub mentions: Vec<Uuid>,
}

/// A new reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPost {
    /// What it answers; the opening post when `None`.
    pub parent_id: Option<Uuid>,
    /// The text.
    pub body: String,
    /// Members to mention.
    pub mentions: Vec<Uuid>,
}

/// Changes to a thread's state; `None` keeps a field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ThreadChanges {
    /// Pin or unpin (moderators).
    pub pinned: Option<bool>,
    /// Lock or unlock (moderators).
    pub locked: Option<bool>,
    /// Resolve or reopen (its author or a moderator).
    pub resolved: Option<bool>,
}

/// A post was written: the worker notifies the parent's author and the mentioned members, and
/// pushes it to the thread's followers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscussionPosted {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The module.
    pub module_id: Uuid,
    /// The thread.
    pub thread_id: Uuid,
    /// The post (the thread's id for an opening post).
    pub post_id: Uuid,
    /// What it answers; `None` for an opening post.
    pub parent_id: Option<Uuid>,
    /// The author of what it answers.
    pub parent_author_id: Option<Uuid>,
    /// Who wrote it.
    pub author_id: Uuid,
    /// Their name.
    pub author_name: String,
    /// The thread's title.
    pub thread_title: String,
    /// The module's title.
    pub module_title: String,
    /// The members it mentions.
    pub mentions: Vec<Uuid>,
    /// When.
    pub at: DateTime<Utc>,
}

impl DomainEvent for DiscussionPosted {
    const KIND: &'static str = "social.discussion_posted";
}

/// What the actor may do in a module's discussions.
struct Access {
    module_title: String,
    moderator: bool,
}

/// ADMIN and above, signed in (an API key never moderates as an administrator).
pub(crate) fn is_admin(actor: &Actor) -> bool {
    actor.role.rank() <= TenantRole::Admin.rank() && actor.api_key.is_none()
}

fn learning(e: LearningError) -> SocialError {
    match e {
        LearningError::ModuleNotFound => SocialError::NotFound("module_not_found"),
        other => SocialError::Learning(other),
    }
}

/// The module, if the actor may see it, and whether they moderate its discussions.
async fn access(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: Uuid,
) -> Result<Access, SocialError> {
    let row = guild_learning::access::visible(conn, actor, module)
        .await
        .map_err(learning)?;
    let moderator = is_admin(actor)
        || (actor.acts_as_member()
            && guild_learning::access::is_mentor(conn, actor, module)
                .await
                .map_err(learning)?);
    Ok(Access {
        module_title: row.title,
        moderator,
    })
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = t)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct ThreadRow {
    module_id: Uuid,
    author_id: Uuid,
    title: String,
    locked: bool,
}

/// The thread (404 `discussion_not_found` for another tenant's or an unknown id) and the actor's
/// access to its module.
async fn thread_access(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    thread: Uuid,
) -> Result<(ThreadRow, Access), SocialError> {
    let row: ThreadRow = t::table
        .find((actor.tenant_id.into_uuid(), thread))
        .select(ThreadRow::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or(SocialError::NotFound("discussion_not_found"))?;
    let access = access(conn, actor, row.module_id)
        .await
        .map_err(|e| match e {
            SocialError::NotFound(_) => SocialError::NotFound("discussion_not_found"),
            other => other,
        })?;
    if !access.moderator && post_hidden(conn, actor.tenant_id, thread).await? {
        return Err(SocialError::NotFound("discussion_not_found"));
    }
    Ok((row, access))
}

async fn post_hidden(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    post: Uuid,
) -> Result<bool, SocialError> {
    let hidden: Option<Option<DateTime<Utc>>> = p::table
        .find((tenant.into_uuid(), post))
        .select(p::hidden_at)
        .first(conn)
        .await
        .optional()?;
    Ok(hidden.flatten().is_some())
}

/// The mentioned members, deduplicated: those `ids` names, each of which must be an active
/// member of the tenant, and those the text mentions as chat messages do (`@<member id>`,
/// `@<email>`: [`crate::chat::messages::resolve_mentions`]).
async fn mentions(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    ids: &[Uuid],
    body: &str,
) -> Result<Vec<Uuid>, SocialError> {
    let tenant = actor.tenant_id;
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.len() > MAX_MENTIONS {
        return Err(SocialError::invalid(
            "mentions",
            "too_many",
            &format!("at most {MAX_MENTIONS} members"),
        ));
    }
    let found: i64 = if ids.is_empty() {
        0
    } else {
        memberships::table
            .filter(memberships::tenant_id.eq(tenant.into_uuid()))
            .filter(memberships::user_id.eq_any(&ids))
            .filter(memberships::status.eq("ACTIVE"))
            .count()
            .get_result(conn)
            .await?
    };
    if usize::try_from(found).unwrap_or(0) != ids.len() {
        return Err(SocialError::invalid(
            "mentions",
            "member_not_found",
            "every mentioned member must be an active member of the tenant",
        ));
    }
    let mut all = ids;
    all.extend(crate::chat::messages::resolve_mentions(conn, actor, body).await?);
    all.sort_unstable();
    all.dedup();
    if all.len() > MAX_MENTIONS {
        return Err(SocialError::invalid(
            "mentions",
            "too_many",
            &format!("at most {MAX_MENTIONS} members"),
        ));
    }
    Ok(all)
}

async fn name_of(conn: &mut AsyncPgConnection, user: Uuid) -> Result<String, SocialError> {
    use guild_db::schema::users;
    Ok(users::table
        .find(user)
        .select(users::name)
        .first(conn)
        .await
        .optional()?
        .unwrap_or_default())
}

async fn follow_as(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    thread: Uuid,
    user: Uuid,
    now: DateTime<Utc>,
) -> Result<(), SocialError> {
    diesel::insert_into(f::table)
        .values((
            f::tenant_id.eq(tenant.into_uuid()),
            f::thread_id.eq(thread),
            f::user_id.eq(user),
            f::created_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(())
}

/// Starts a thread in a module the actor may see; they follow it.
pub async fn create(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    input: &NewThread,
    now: DateTime<Utc>,
) -> Result<Thread, SocialError> {
    reactions::check_member(actor)?;
    let access = access(conn, actor, input.module_id).await?;
    let title = text("title", &input.title, MAX_TITLE)?;
    let body = text("body", &input.body, MAX_BODY)?;
    let tenant = actor.tenant_id;
    if let Some(section) = input.section_id {
        let in_module: Option<Uuid> = sections::table
            .find((tenant.into_uuid(), section))
            .select(sections::module_id)
            .first(conn)
            .await
            .optional()?;
        if in_module != Some(input.module_id) {
            return Err(SocialError::NotFound("section_not_found"));
        }
    }
    let mentions = mentions(conn, actor, &input.mentions, &body).await?;
    let id = Uuid::now_v7();
    let author = actor.user_id.into_uuid();
    diesel::insert_into(t::table)
        .values((
            t::tenant_id.eq(tenant.into_uuid()),
            t::id.eq(id),
            t::module_id.eq(input.module_id),
            t::section_id.eq(input.section_id),
            t::author_id.eq(author),
            t::title.eq(&title),
            t::last_post_at.eq(now),
            t::created_at.eq(now),
        ))
        .execute(conn)
        .await?;
    insert_post(conn, tenant, id, id, None, author, &body, &mentions, now).await?;
    follow_as(conn, tenant, id, author, now).await?;
    let author_name = name_of(conn, author).await?;
    guild_db::outbox::publish(
        conn,
        Some(tenant),
        &DiscussionPosted {
            tenant_id: tenant.into_uuid(),
            module_id: input.module_id,
            thread_id: id,
            post_id: id,
            parent_id: None,
            parent_author_id: None,
            author_id: author,
            author_name,
            thread_title: title,
            module_title: access.module_title,
            mentions,
            at: now,
        },
    )
    .await?;
    get(conn, actor, id).await
}

#[expect(clippy::too_many_arguments, reason = "one row's columns")]
async fn insert_post(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: Uuid,
    thread: Uuid,
    parent: Option<Uuid>,
    author: Uuid,
    body: &str,
    mentions: &[Uuid],
    now: DateTime<Utc>,
) -> Result<(), SocialError> {
    diesel::insert_into(p::table)
        .values((
            p::tenant_id.eq(tenant.into_uuid()),
            p::id.eq(id),
            p::thread_id.eq(thread),
            p::parent_id.eq(parent),
            p::author_id.eq(author),
            p::body.eq(body),
            p::mentions.eq(mentions),
            p::created_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Replies in a thread the actor may see, to its opening post or to a reply they may see; they
/// follow the thread. A locked thread takes replies from moderators only (409
/// `discussion_locked`); a full one from nobody (409 `discussion_full`).
pub async fn reply(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    thread: Uuid,
    input: &NewPost,
    now: DateTime<Utc>,
) -> Result<Post, SocialError> {
    reactions::check_member(actor)?;
    let tenant = actor.tenant_id;
    // The thread's row is locked, so the post limit holds under concurrent replies.
    let locked_row: Option<Uuid> = t::table
        .find((tenant.into_uuid(), thread))
        .select(t::id)
        .for_update()
        .first(conn)
        .await
        .optional()?;
    if locked_row.is_none() {
        return Err(SocialError::NotFound("discussion_not_found"));
    }
    let (row, access) = thread_access(conn, actor, thread).await?;
    if row.locked && !access.moderator {
        return Err(SocialError::Locked);
    }
    let body = text("body", &input.body, MAX_BODY)?;
    let parent = input.parent_id.unwrap_or(thread);
    let parent_row: Option<(Uuid, Uuid, Option<DateTime<Utc>>)> = p::table
        .find((tenant.into_uuid(), parent))
        .select((p::thread_id, p::author_id, p::hidden_at))
        .first(conn)
        .await
        .optional()?;
    let parent_author = match parent_row {
        Some((in_thread, author, hidden))
            if in_thread == thread && (hidden.is_none() || access.moderator) =>
        {
            author
        }
        _ => return Err(SocialError::NotFound("post_not_found")),
    };
    let posts: i64 = p::table
        .filter(p::tenant_id.eq(tenant.into_uuid()))
        .filter(p::thread_id.eq(thread))
        .count()
        .get_result(conn)
        .await?;
    if posts >= MAX_POSTS_PER_THREAD {
        return Err(SocialError::Full);
    }
    let mentions = mentions(conn, actor, &input.mentions, &body).await?;
    let id = Uuid::now_v7();
    let author = actor.user_id.into_uuid();
    insert_post(
        conn,
        tenant,
        id,
        thread,
        Some(parent),
        author,
        &body,
        &mentions,
        now,
    )
    .await?;
    diesel::update(t::table.find((tenant.into_uuid(), thread)))
        .set(t::last_post_at.eq(now))
        .execute(conn)
        .await?;
    follow_as(conn, tenant, thread, author, now).await?;
    let author_name = name_of(conn, author).await?;
    guild_db::outbox::publish(
        conn,
        Some(tenant),
        &DiscussionPosted {
            tenant_id: tenant.into_uuid(),
            module_id: row.module_id,
            thread_id: thread,
            post_id: id,
            parent_id: Some(parent),
            parent_author_id: Some(parent_author),
            author_id: author,
            author_name: author_name.clone(),
            thread_title: row.title,
            module_title: access.module_title,
            mentions: mentions.clone(),
            at: now,
        },
    )
    .await?;
    Ok(Post {
        id,
        thread_id: thread,
        parent_id: parent,
        author_id: author,
        author_name,
        body,
        mentions,
        created_at: now,
        hidden: None,
        reactions: Vec::new(),
    })
}

#[derive(QueryableByName)]
struct ThreadListed {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    module_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    section_id: Option<Uuid>,
    #[diesel(sql_type = SqlUuid)]
    author_id: Uuid,
    #[diesel(sql_type = Text)]
    author_name: String,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Text)]
    body: String,
    #[diesel(sql_type = Array<SqlUuid>)]
    mentions: Vec<Uuid>,
    #[diesel(sql_type = Bool)]
    pinned: bool,
    #[diesel(sql_type = Bool)]
    locked: bool,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    resolved_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    resolved_by: Option<Uuid>,
    #[diesel(sql_type = BigInt)]
    reply_count: i64,
    #[diesel(sql_type = Timestamptz)]
    last_post_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    hidden_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    hidden_by: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    hidden_reason: Option<String>,
    #[diesel(sql_type = Bool)]
    following: bool,
}

/// `$1` tenant, `$2` the asking member, `$3` whether they moderate: a thread's columns.
const THREAD_COLUMNS: &str = "t.id, t.module_id, t.section_id, t.author_id, \
     coalesce(u.name, '') AS author_name, t.title, o.body, o.mentions, t.pinned, t.locked, \
     t.resolved_at, t.resolved_by, \
     (SELECT count(*) FROM discussion_posts r WHERE r.tenant_id = t.tenant_id \
        AND r.thread_id = t.id AND r.id <> t.id AND ($3 OR r.hidden_at IS NULL)) AS reply_count, \
     t.last_post_at, t.created_at, o.hidden_at, o.hidden_by, o.hidden_reason, \
     EXISTS (SELECT 1 FROM discussion_follows f WHERE f.tenant_id = t.tenant_id \
        AND f.thread_id = t.id AND f.user_id = $2) AS following \
     FROM discussion_threads t \
     JOIN discussion_posts o ON o.tenant_id = t.tenant_id AND o.id = t.id \
     LEFT JOIN users u ON u.id = t.author_id";

fn hidden(
    at: Option<DateTime<Utc>>,
    by: Option<Uuid>,
    reason: Option<String>,
    moderator: bool,
) -> Option<Hidden> {
    // Only moderators ever get a hidden row; the reason is theirs to see.
    match (at, moderator) {
        (Some(at), true) => Some(Hidden {
            at,
            by,
            reason: reason.unwrap_or_default(),
        }),
        _ => None,
    }
}

impl ThreadListed {
    fn into_thread(self, moderator: bool, reactions: Vec<Count>) -> Thread {
        Thread {
            id: self.id,
            module_id: self.module_id,
            section_id: self.section_id,
            author_id: self.author_id,
            author_name: self.author_name,
            title: self.title,
            body: self.body,
            mentions: self.mentions,
            pinned: self.pinned,
            locked: self.locked,
            resolved_at: self.resolved_at,
            resolved_by: self.resolved_by,
            reply_count: self.reply_count,
            last_post_at: self.last_post_at,
            created_at: self.created_at,
            hidden: hidden(
                self.hidden_at,
                self.hidden_by,
                self.hidden_reason,
                moderator,
            ),
            following: self.following,
            moderator,
            reactions,
        }
    }
}

/// One thread the actor may see, with its opening post and its reactions.
pub async fn get(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<Thread, SocialError> {
    let (_, access) = thread_access(conn, actor, id).await?;
    let row: ThreadListed = guild_db::sql(format!(
        "SELECT {THREAD_COLUMNS} WHERE t.tenant_id = $1 AND t.id = $4"
    ))
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<Bool, _>(access.moderator)
    .bind::<SqlUuid, _>(id)
    .get_result(conn)
    .await?;
    let reactions = reactions::counts(conn, actor, TargetKind::DiscussionPost, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    Ok(row.into_thread(access.moderator, reactions))
}

/// Which threads a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadFilter {
    /// The module (required).
    pub module_id: Uuid,
    /// Only this section's threads.
    pub section_id: Option<Uuid>,
}

/// A module's threads the actor may see: pinned first, then by latest post, a page at a time.
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    filter: ThreadFilter,
    page: &PageRequest,
) -> Result<Page<Thread>, SocialError> {
    let access = access(conn, actor, filter.module_id).await?;
    let limit = page.limit();
    let after = after_pinned(page)?;
    let rows: Vec<ThreadListed> = guild_db::sql(format!(
        "SELECT {THREAD_COLUMNS} \
         WHERE t.tenant_id = $1 AND t.module_id = $4 \
           AND ($5::uuid IS NULL OR t.section_id = $5) \
           AND ($3 OR o.hidden_at IS NULL) \
           AND ($6::boolean IS NULL OR (t.pinned, t.last_post_at, t.id) < ($6, $7, $8)) \
         ORDER BY t.pinned DESC, t.last_post_at DESC, t.id DESC LIMIT $9"
    ))
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<Bool, _>(access.moderator)
    .bind::<SqlUuid, _>(filter.module_id)
    .bind::<Nullable<SqlUuid>, _>(filter.section_id)
    .bind::<Nullable<Bool>, _>(after.map(|a| a.0))
    .bind::<Nullable<Timestamptz>, _>(after.map(|a| a.1))
    .bind::<Nullable<SqlUuid>, _>(after.map(|a| a.2))
    .bind::<BigInt, _>(i64::from(limit) + 1)
    .load(conn)
    .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut counts = reactions::counts(conn, actor, TargetKind::DiscussionPost, &ids).await?;
    let threads: Vec<Thread> = rows
        .into_iter()
        .map(|r| {
            let reactions = counts.remove(&r.id).unwrap_or_default();
            r.into_thread(access.moderator, reactions)
        })
        .collect();
    Ok(Page::from_overfetch(threads, limit, |t: &Thread| {
        pinned_cursor(t.pinned, t.last_post_at, t.id)
    }))
}

#[derive(QueryableByName)]
struct PostRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    thread_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    parent_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    author_id: Uuid,
    #[diesel(sql_type = Text)]
    author_name: String,
    #[diesel(sql_type = Text)]
    body: String,
    #[diesel(sql_type = Array<SqlUuid>)]
    mentions: Vec<Uuid>,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    hidden_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    hidden_by: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    hidden_reason: Option<String>,
}

/// A thread's replies the actor may see, oldest first, a page at a time (each names its parent,
/// so a client nests them).
pub async fn posts(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    thread: Uuid,
    page: &PageRequest,
) -> Result<Page<Post>, SocialError> {
    let (_, access) = thread_access(conn, actor, thread).await?;
    let limit = page.limit();
    let after = after_time(page)?;
    let rows: Vec<PostRow> = guild_db::sql(
        "SELECT p.id, p.thread_id, p.parent_id, p.author_id, coalesce(u.name, '') AS author_name, \
                p.body, p.mentions, p.created_at, p.hidden_at, p.hidden_by, p.hidden_reason \
         FROM discussion_posts p LEFT JOIN users u ON u.id = p.author_id \
         WHERE p.tenant_id = $1 AND p.thread_id = $2 AND p.id <> $2 \
           AND ($3 OR p.hidden_at IS NULL) \
           AND ($4::timestamptz IS NULL OR (p.created_at, p.id) > ($4, $5)) \
         ORDER BY p.created_at, p.id LIMIT $6",
    )
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(thread)
    .bind::<Bool, _>(access.moderator)
    .bind::<Nullable<Timestamptz>, _>(after.map(|a| a.0))
    .bind::<Nullable<SqlUuid>, _>(after.map(|a| a.1))
    .bind::<BigInt, _>(i64::from(limit) + 1)
    .load(conn)
    .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut counts = reactions::counts(conn, actor, TargetKind::DiscussionPost, &ids).await?;
    let posts: Vec<Post> = rows
        .into_iter()
        .map(|r| Post {
            reactions: counts.remove(&r.id).unwrap_or_default(),
            hidden: hidden(r.hidden_at, r.hidden_by, r.hidden_reason, access.moderator),
            id: r.id,
            thread_id: r.thread_id,
            parent_id: r.parent_id,
            author_id: r.author_id,
            author_name: r.author_name,
            body: r.body,
            mentions: r.mentions,
            created_at: r.created_at,
        })
        .collect();
    Ok(Page::from_overfetch(posts, limit, |p: &Post| {
        time_cursor(p.created_at, p.id)
    }))
}

/// Pins, locks or resolves a thread: pinning and locking are the moderators', resolving its
/// author's or a moderator's (403 `forbidden` otherwise).
pub async fn update(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    changes: ThreadChanges,
    now: DateTime<Utc>,
) -> Result<Thread, SocialError> {
    let (row, access) = thread_access(conn, actor, id).await?;
    if (changes.pinned.is_some() || changes.locked.is_some()) && !access.moderator {
        return Err(SocialError::Forbidden);
    }
    if changes.resolved.is_some()
        && !access.moderator
        && !(row.author_id == actor.user_id.into_uuid() && actor.acts_as_member())
    {
        return Err(SocialError::Forbidden);
    }
    let resolved = changes.resolved.map(|r| {
        if r {
            (Some(now), Some(actor.user_id.into_uuid()))
        } else {
            (None, None)
        }
    });
    diesel::update(t::table.find((actor.tenant_id.into_uuid(), id)))
        .set((
            changes.pinned.map(|v| t::pinned.eq(v)),
            changes.locked.map(|v| t::locked.eq(v)),
            resolved.map(|(at, _)| t::resolved_at.eq(at)),
            resolved.map(|(_, by)| t::resolved_by.eq(by)),
        ))
        .execute(conn)
        .await
        .or_else(|e| match e {
            // Nothing to set: nothing changes.
            diesel::result::Error::QueryBuilderError(_) => Ok(0),
            e => Err(e),
        })?;
    if changes.pinned.is_some() || changes.locked.is_some() {
        guild_db::audit::record(
            conn,
            actor,
            "discussion.moderated",
            "discussion_thread",
            Some(id.to_string()),
            serde_json::json!({ "pinned": changes.pinned, "locked": changes.locked }),
        )
        .await?;
    }
    get(conn, actor, id).await
}

/// Hides a post of a thread (its opening post hides the thread) with a reason, as a moderator;
/// written to the audit log. Hiding it again changes the reason.
pub async fn hide(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    thread: Uuid,
    post: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), SocialError> {
    let (_, access) = thread_access(conn, actor, thread).await?;
    if !access.moderator {
        return Err(SocialError::Forbidden);
    }
    let reason = text("reason", reason, MAX_REASON)?;
    let hidden = diesel::update(
        p::table
            .filter(p::tenant_id.eq(actor.tenant_id.into_uuid()))
            .filter(p::thread_id.eq(thread))
            .filter(p::id.eq(post)),
    )
    .set((
        p::hidden_at.eq(Some(now)),
        p::hidden_by.eq(Some(actor.user_id.into_uuid())),
        p::hidden_reason.eq(Some(&reason)),
    ))
    .execute(conn)
    .await?;
    if hidden == 0 {
        return Err(SocialError::NotFound("post_not_found"));
    }
    guild_db::audit::record(
        conn,
        actor,
        "discussion_post.hidden",
        "discussion_post",
        Some(post.to_string()),
        serde_json::json!({ "thread_id": thread, "reason": reason }),
    )
    .await?;
    Ok(())
}

/// Shows a hidden post again, as a moderator; written to the audit log.
pub async fn unhide(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    thread: Uuid,
    post: Uuid,
) -> Result<(), SocialError> {
    let (_, access) = thread_access(conn, actor, thread).await?;
    if !access.moderator {
        return Err(SocialError::Forbidden);
    }
    let shown = diesel::update(
        p::table
            .filter(p::tenant_id.eq(actor.tenant_id.into_uuid()))
            .filter(p::thread_id.eq(thread))
            .filter(p::id.eq(post)),
    )
    .set((
        p::hidden_at.eq(None::<DateTime<Utc>>),
        p::hidden_by.eq(None::<Uuid>),
        p::hidden_reason.eq(None::<String>),
    ))
    .execute(conn)
    .await?;
    if shown == 0 {
        return Err(SocialError::NotFound("post_not_found"));
    }
    guild_db::audit::record(
        conn,
        actor,
        "discussion_post.shown",
        "discussion_post",
        Some(post.to_string()),
        serde_json::json!({ "thread_id": thread }),
    )
    .await?;
    Ok(())
}

/// Follows (or, with `follow` false, unfollows) a thread the actor may see.
pub async fn follow(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    thread: Uuid,
    follow: bool,
    now: DateTime<Utc>,
) -> Result<Thread, SocialError> {
    reactions::check_member(actor)?;
    thread_access(conn, actor, thread).await?;
    let user = actor.user_id.into_uuid();
    if follow {
        follow_as(conn, actor.tenant_id, thread, user, now).await?;
    } else {
        diesel::delete(f::table.find((actor.tenant_id.into_uuid(), thread, user)))
            .execute(conn)
            .await?;
    }
    get(conn, actor, thread).await
}

/// The thread of a post the actor may see (404 `post_not_found` otherwise): a hidden post only
/// for moderators.
pub async fn post_visible_to(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    post: Uuid,
) -> Result<Uuid, SocialError> {
    let row: Option<(Uuid, Option<DateTime<Utc>>)> = p::table
        .find((actor.tenant_id.into_uuid(), post))
        .select((p::thread_id, p::hidden_at))
        .first(conn)
        .await
        .optional()?;
    let Some((thread, hidden_at)) = row else {
        return Err(SocialError::NotFound("post_not_found"));
    };
    let (_, access) = thread_access(conn, actor, thread)
        .await
        .map_err(|e| match e {
            SocialError::NotFound(_) => SocialError::NotFound("post_not_found"),
            other => other,
        })?;
    if hidden_at.is_some() && !access.moderator {
        return Err(SocialError::NotFound("post_not_found"));
    }
    Ok(thread)
}

/// Adds or removes the actor's reaction to a post of `thread` (404 `post_not_found` when the
/// post is of another thread); answers the post's counts.
pub async fn react(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    thread: Uuid,
    post: Uuid,
    emoji: &str,
    add: bool,
    now: DateTime<Utc>,
) -> Result<Vec<Count>, SocialError> {
    reactions::check_emoji(emoji)?;
    if post_visible_to(conn, actor, post).await? != thread {
        return Err(SocialError::NotFound("post_not_found"));
    }
    if add {
        reactions::add(conn, actor, TargetKind::DiscussionPost, post, emoji, now).await
    } else {
        reactions::remove(conn, actor, TargetKind::DiscussionPost, post, emoji).await
    }
}

/// The thread's followers who may see `module` now, without `except`: who a new post is pushed
/// to.
pub async fn followers(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    module: Uuid,
    thread: Uuid,
    except: Uuid,
) -> Result<Vec<Uuid>, SocialError> {
    let users: Vec<Uuid> = f::table
        .filter(f::tenant_id.eq(tenant.into_uuid()))
        .filter(f::thread_id.eq(thread))
        .filter(f::user_id.ne(except))
        .select(f::user_id)
        .load(conn)
        .await?;
    guild_learning::audience::who_may_see(conn, tenant, module, &users)
        .await
        .map_err(learning)
}

/// Which of `users` may see `module` now: who a post's notifications reach.
pub async fn who_may_see(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    module: Uuid,
    users: &[Uuid],
) -> Result<Vec<Uuid>, SocialError> {
    guild_learning::audience::who_may_see(conn, tenant, module, users)
        .await
        .map_err(learning)
}

/// Whether the post is (still) shown to members; false once hidden or gone.
pub async fn is_shown(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    post: Uuid,
) -> Result<bool, SocialError> {
    let row: Option<Option<DateTime<Utc>>> = p::table
        .find((tenant.into_uuid(), post))
        .select(p::hidden_at)
        .first(conn)
        .await
        .optional()?;
    Ok(matches!(row, Some(None)))
}

/// Who hears of a post's reactions: its thread's followers who may see the module, while the
/// post is shown.
pub async fn post_audience(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    post: Uuid,
) -> Result<Vec<Uuid>, SocialError> {
    let row: Option<(Uuid, Uuid, Option<DateTime<Utc>>)> = p::table
        .inner_join(t::table.on(t::tenant_id.eq(p::tenant_id).and(t::id.eq(p::thread_id))))
        .filter(p::tenant_id.eq(tenant.into_uuid()))
        .filter(p::id.eq(post))
        .select((t::module_id, t::id, p::hidden_at))
        .first(conn)
        .await
        .optional()?;
    match row {
        Some((module, thread, None)) => followers(conn, tenant, module, thread, Uuid::nil()).await,
        _ => Ok(Vec::new()),
    }
}
