//! The knowledge feed: members share an `https` link with a short description and tags.
//!
//! Owns `feed_posts`, `feed_saves`, `feed_replies` and `feed_seen`.
//!
//! - Any member (not a VIEWER, acting for themselves) submits a post; a module's mentor (of any
//!   module) and ADMIN and above (signed in) are APPROVED on submit, everyone else's post waits
//!   as PENDING. The api layer limits how fast one member submits.
//! - Moderators — holders of MANAGE_SUGGESTIONS tenant-wide (ADMIN and above by default; an API
//!   key only when it carries it) — approve, reject (with a reason) and archive, never their
//!   own post (403 `cannot_moderate_own_post`): separation of duties. Each decision is audited
//!   and publishes [`FeedPostModerated`]; the api layer notifies the author (RADAR_APPROVED /
//!   RADAR_REJECTED). ADMIN and above pin and unpin approved posts.
//! - A member sees APPROVED posts, and their own in any status; moderators see every post. Any
//!   other post — another tenant's included — is 404 `feed_post_not_found`.
//! - The feed lists approved posts pinned first, then newest approval first, optionally those
//!   with one tag; moderators list the PENDING queue; an author lists their own posts.
//! - A member saves posts they may see (listed newest save first), replies to them (a flat list,
//!   at most [`MAX_REPLIES`] a post, counted under the post's row lock; [`FeedReplied`] lets the
//!   api layer send the post's author a COMMENT_REPLY) and reacts through [`crate::reactions`].
//! - "Seen until": each member's marker; approvals after it by others are unseen (the badge),
//!   counted up to [`MAX_UNSEEN`]. The marker never moves back, nor past `now`.
//! - Link previews are filled in after the post is committed (the api layer's worker, through
//!   the SSRF-guarded fetcher): PENDING until then, READY or FAILED after, OFF when previews
//!   are switched off. A failed preview never holds the post back.
//!
//! Reads learning's `module_mentors` (who mentors) and `media_assets` (a preview image's blob)
//! in SQL, as tenancy's `memberships`, `users` and `user_permissions`; writes neither.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{
    Array, BigInt, Bool, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{feed_posts as p, feed_saves as s};
use guild_kernel::auth::{Permission, Target, authorize};
use guild_kernel::{Actor, DomainEvent, Page, PageRequest, TenantId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::SocialError;
use crate::discussions::is_admin;
use crate::input::{after_pinned, after_time, pinned_cursor, text, time_cursor};
use crate::reactions::{self, Count, TargetKind};

/// The longest description.
pub const MAX_DESCRIPTION: usize = 2_000;
/// The most tags a post carries.
pub const MAX_TAGS: usize = 5;
/// The longest tag.
pub const MAX_TAG: usize = 32;
/// The longest rejection reason.
pub const MAX_REASON: usize = 500;
/// The longest reply.
pub const MAX_REPLY: usize = 2_000;
/// The most replies one post takes.
pub const MAX_REPLIES: i32 = 500;
/// The unseen count stops here (a badge shows "99+" long before).
pub const MAX_UNSEEN: i64 = 100;

const NOT_FOUND: SocialError = SocialError::NotFound("feed_post_not_found");

guild_kernel::string_enum!(
    /// Where a post is in moderation.
    PostStatus {
        /// Waiting for a moderator.
        Pending => "PENDING",
        /// In the feed.
        Approved => "APPROVED",
        /// Refused, with a reason its author sees.
        Rejected => "REJECTED",
        /// Taken out of the feed.
        Archived => "ARCHIVED",
    }
);

guild_kernel::string_enum!(
    /// Where a post's link preview is.
    PreviewStatus {
        /// Not fetched yet.
        Pending => "PENDING",
        /// Fetched.
        Ready => "READY",
        /// The fetch failed or was refused: the post has no preview.
        Failed => "FAILED",
        /// Previews were off when it was posted.
        Off => "OFF",
    }
);

/// A new post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPost {
    /// An `https` link.
    pub url: String,
    /// Why it is worth reading.
    pub description: String,
    /// Up to [`MAX_TAGS`] tags.
    pub tags: Vec<String>,
    /// Whether the server will fetch its preview.
    pub previews: bool,
}

/// A link preview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    /// Where it is.
    pub status: PreviewStatus,
    /// The page's title.
    pub title: Option<String>,
    /// The page's description.
    pub description: Option<String>,
    /// The stored image, when there is one.
    pub image_id: Option<Uuid>,
}

/// A post as the asking member sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    /// Its id.
    pub id: Uuid,
    /// Who shared it.
    pub author_id: Uuid,
    /// Their name.
    pub author_name: String,
    /// The link.
    pub url: String,
    /// Why it is worth reading.
    pub description: String,
    /// Its tags.
    pub tags: Vec<String>,
    /// Where it is in moderation.
    pub status: PostStatus,
    /// Why it was rejected (its author and moderators only).
    pub reject_reason: Option<String>,
    /// Listed first.
    pub pinned: bool,
    /// The link's preview.
    pub preview: Preview,
    /// How many saved it.
    pub save_count: i32,
    /// How many replies it has.
    pub reply_count: i32,
    /// Whether the asking member saved it.
    pub saved: bool,
    /// When it was submitted.
    pub created_at: DateTime<Utc>,
    /// When it was approved.
    pub approved_at: Option<DateTime<Utc>>,
    /// Its reactions.
    pub reactions: Vec<Count>,
}

/// A reply to a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Its id.
    pub id: Uuid,
    /// The post.
    pub post_id: Uuid,
    /// Who wrote it.
    pub author_id: Uuid,
    /// Their name.
    pub author_name: String,
    /// The text.
    pub body: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A member's "seen until" marker and what came after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unseen {
    /// Approvals by others after the marker (at most [`MAX_UNSEEN`]).
    pub count: i64,
    /// The marker (`None` before the member first marked the feed seen).
    pub seen_until: Option<DateTime<Utc>>,
}

/// A post was submitted: the worker fetches its link's preview, and tells moderators of a
/// pending one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedPostSubmitted {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The post.
    pub post_id: Uuid,
    /// Its author.
    pub author_id: Uuid,
    /// Its status on submit.
    pub status: PostStatus,
}

impl DomainEvent for FeedPostSubmitted {
    const KIND: &'static str = "social.feed_post_submitted";
}

/// A moderator approved, rejected or archived a post: the worker notifies its author.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedPostModerated {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The post.
    pub post_id: Uuid,
    /// Its author.
    pub author_id: Uuid,
    /// The moderator.
    pub moderator_id: Uuid,
    /// The new status.
    pub status: PostStatus,
    /// The reason (REJECTED).
    pub reason: Option<String>,
    /// The post's description (the notification's body).
    pub description: String,
}

impl DomainEvent for FeedPostModerated {
    const KIND: &'static str = "social.feed_post_moderated";
}

/// A member replied to a post: the worker tells its author (COMMENT_REPLY).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedReplied {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The post.
    pub post_id: Uuid,
    /// The reply.
    pub reply_id: Uuid,
    /// The post's author.
    pub post_author_id: Uuid,
    /// The reply's author.
    pub author_id: Uuid,
    /// Their name.
    pub author_name: String,
}

impl DomainEvent for FeedReplied {
    const KIND: &'static str = "social.feed_replied";
}

/// Whether the actor moderates the feed: MANAGE_SUGGESTIONS tenant-wide, acting for themselves.
pub fn is_moderator(actor: &Actor) -> bool {
    actor.acts_as_member()
        && !actor.impersonating
        && authorize(actor, Permission::ManageSuggestions, Target::Tenant).is_ok()
}

/// A tag: trimmed, lower-cased, 1 to [`MAX_TAG`] letters, digits or `-`.
pub fn tag(field: &str, value: &str) -> Result<String, SocialError> {
    let value = value.trim().to_lowercase();
    let ok = !value.is_empty()
        && value.chars().count() <= MAX_TAG
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(value)
    } else {
        Err(SocialError::invalid(
            field,
            "invalid_tag",
            &format!("1 to {MAX_TAG} letters, digits or '-'"),
        ))
    }
}

fn tags(values: &[String]) -> Result<Vec<String>, SocialError> {
    let mut out = Vec::with_capacity(values.len());
    for value in values {
        let t = tag("tags", value)?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if out.len() > MAX_TAGS {
        return Err(SocialError::invalid(
            "tags",
            "length",
            &format!("at most {MAX_TAGS} tags"),
        ));
    }
    Ok(out)
}

#[derive(QueryableByName)]
struct Flag {
    #[diesel(sql_type = Bool)]
    flag: bool,
}

async fn mentors_any(conn: &mut AsyncPgConnection, actor: &Actor) -> Result<bool, SocialError> {
    let row: Flag = guild_db::sql(
        "SELECT EXISTS (SELECT 1 FROM module_mentors WHERE tenant_id = $1 AND user_id = $2) \
         AS flag",
    )
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .get_result(conn)
    .await?;
    Ok(row.flag)
}

/// Submits a post: APPROVED at once for mentors and ADMIN and above, PENDING otherwise.
pub async fn submit(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    input: &NewPost,
    now: DateTime<Utc>,
) -> Result<Post, SocialError> {
    reactions::check_member(actor)?;
    let url = input.url.trim();
    guild_kernel::check_link(url).map_err(|e| SocialError::Invalid(vec![e.field_error("url")]))?;
    let description = text("description", &input.description, MAX_DESCRIPTION)?;
    let tags = tags(&input.tags)?;
    let trusted = is_admin(actor) || mentors_any(conn, actor).await?;
    let status = if trusted {
        PostStatus::Approved
    } else {
        PostStatus::Pending
    };
    let preview = if input.previews {
        PreviewStatus::Pending
    } else {
        PreviewStatus::Off
    };
    let id = Uuid::now_v7();
    let tenant = actor.tenant_id;
    let author = actor.user_id.into_uuid();
    diesel::insert_into(p::table)
        .values((
            p::tenant_id.eq(tenant.into_uuid()),
            p::id.eq(id),
            p::author_id.eq(author),
            p::url.eq(url),
            p::description.eq(&description),
            p::tags.eq(&tags),
            p::status.eq(status.as_str()),
            p::preview_status.eq(preview.as_str()),
            p::created_at.eq(now),
            p::approved_at.eq(trusted.then_some(now)),
        ))
        .execute(conn)
        .await?;
    guild_db::audit::record(
        conn,
        actor,
        "feed_post.submitted",
        "feed_post",
        Some(id.to_string()),
        serde_json::json!({ "status": status.as_str(), "url": url }),
    )
    .await?;
    guild_db::outbox::publish(
        conn,
        Some(tenant),
        &FeedPostSubmitted {
            tenant_id: tenant.into_uuid(),
            post_id: id,
            author_id: author,
            status,
        },
    )
    .await?;
    get(conn, actor, id).await
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
    url: String,
    #[diesel(sql_type = Text)]
    description: String,
    #[diesel(sql_type = Array<Text>)]
    tags: Vec<String>,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Nullable<Text>)]
    reject_reason: Option<String>,
    #[diesel(sql_type = Bool)]
    pinned: bool,
    #[diesel(sql_type = Text)]
    preview_status: String,
    #[diesel(sql_type = Nullable<Text>)]
    preview_title: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    preview_description: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    preview_image_id: Option<Uuid>,
    #[diesel(sql_type = Integer)]
    save_count: i32,
    #[diesel(sql_type = Integer)]
    reply_count: i32,
    #[diesel(sql_type = Bool)]
    saved: bool,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    approved_at: Option<DateTime<Utc>>,
    /// The list's time key: `approved_at` in the feed, the save's time in the saved list,
    /// `created_at` elsewhere.
    #[diesel(sql_type = Timestamptz)]
    list_at: DateTime<Utc>,
}

/// `$1` tenant, `$2` the asking member, `$3` whether they moderate; `{at}` the time key.
fn columns(at: &str) -> String {
    format!(
        "p.id, p.author_id, coalesce(u.name, '') AS author_name, p.url, p.description, p.tags, \
         p.status, p.reject_reason, p.pinned, p.preview_status, p.preview_title, \
         p.preview_description, p.preview_image_id, p.save_count, p.reply_count, \
         EXISTS (SELECT 1 FROM feed_saves fs WHERE fs.tenant_id = p.tenant_id \
           AND fs.post_id = p.id AND fs.user_id = $2) AS saved, \
         p.created_at, p.approved_at, {at} AS list_at"
    )
}

/// Who sees a post: approved ones everyone, the others their author and moderators.
const VISIBLE: &str = "(p.status = 'APPROVED' OR p.author_id = $2 OR $3)";

impl Row {
    fn into_post(self, actor: &Actor, reactions: Vec<Count>) -> Post {
        let overseer = is_moderator(actor) || self.author_id == actor.user_id.into_uuid();
        Post {
            id: self.id,
            author_id: self.author_id,
            author_name: self.author_name,
            url: self.url,
            description: self.description,
            tags: self.tags,
            status: self.status.parse().unwrap_or(PostStatus::Pending),
            reject_reason: self.reject_reason.filter(|_| overseer),
            pinned: self.pinned,
            preview: Preview {
                status: self.preview_status.parse().unwrap_or(PreviewStatus::Off),
                title: self.preview_title,
                description: self.preview_description,
                image_id: self.preview_image_id,
            },
            save_count: self.save_count,
            reply_count: self.reply_count,
            saved: self.saved,
            created_at: self.created_at,
            approved_at: self.approved_at,
            reactions,
        }
    }
}

async fn rows_into_posts(
    conn: &AsyncPgConnection,
    actor: &Actor,
    rows: Vec<Row>,
) -> Result<Vec<(Post, DateTime<Utc>)>, SocialError> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut counts = reactions::counts(conn, actor, TargetKind::RadarPost, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let at = r.list_at;
            let reactions = counts.remove(&r.id).unwrap_or_default();
            (r.into_post(actor, reactions), at)
        })
        .collect())
}

/// A post the actor may see; 404 `feed_post_not_found` otherwise.
pub async fn get(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<Post, SocialError> {
    let row: Option<Row> = guild_db::sql(format!(
        "SELECT {} FROM feed_posts p LEFT JOIN users u ON u.id = p.author_id \
         WHERE p.tenant_id = $1 AND p.id = $4 AND {VISIBLE}",
        columns("p.created_at")
    ))
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<Bool, _>(is_moderator(actor))
    .bind::<SqlUuid, _>(id)
    .get_result(conn)
    .await
    .optional()?;
    let row = row.ok_or(NOT_FOUND)?;
    let mut posts = rows_into_posts(conn, actor, vec![row]).await?;
    Ok(posts.remove(0).0)
}

/// Checks that the actor may see the post (404 `feed_post_not_found` otherwise): what reacting,
/// saving and replying ask first.
pub async fn visible_to(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<(), SocialError> {
    if !actor.acts_as_member() {
        return Err(NOT_FOUND);
    }
    let row: Flag = guild_db::sql(format!(
        "SELECT EXISTS (SELECT 1 FROM feed_posts p WHERE p.tenant_id = $1 AND p.id = $4 \
           AND {VISIBLE}) AS flag"
    ))
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<Bool, _>(is_moderator(actor))
    .bind::<SqlUuid, _>(id)
    .get_result(conn)
    .await?;
    if row.flag { Ok(()) } else { Err(NOT_FOUND) }
}

/// Which posts a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// The approved feed: pinned first, then newest approval first.
    Feed,
    /// The PENDING queue, newest first (moderators only).
    Pending,
    /// The actor's own posts, any status, newest first.
    Mine,
    /// The posts the actor saved that they may still see, newest save first.
    Saved,
}

/// A page of posts; `tag` keeps those carrying it.
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    listing: Listing,
    tag_filter: Option<&str>,
    page: &PageRequest,
) -> Result<Page<Post>, SocialError> {
    if !actor.acts_as_member() {
        return Err(SocialError::Forbidden);
    }
    if listing == Listing::Pending && !is_moderator(actor) {
        return Err(SocialError::Forbidden);
    }
    let tag_filter = tag_filter.map(|t| tag("tag", t)).transpose()?;
    let limit = page.limit();
    let (at, from, filter, pinned) = match listing {
        Listing::Feed => (
            "p.approved_at",
            "feed_posts p",
            "p.status = 'APPROVED'",
            "p.pinned",
        ),
        Listing::Pending => (
            "p.created_at",
            "feed_posts p",
            "p.status = 'PENDING'",
            "false",
        ),
        Listing::Mine => ("p.created_at", "feed_posts p", "p.author_id = $2", "false"),
        Listing::Saved => (
            "sv.created_at",
            "feed_saves sv JOIN feed_posts p ON p.tenant_id = sv.tenant_id AND p.id = sv.post_id",
            "sv.user_id = $2",
            "false",
        ),
    };
    // The cursor is `pinned|time|id`; lists without pins read `false` (PostgreSQL refuses a
    // constant in ORDER BY, so those order by time and id only).
    let after = match listing {
        Listing::Feed => after_pinned(page)?,
        _ => after_time(page)?.map(|(t, id)| (false, t, id)),
    };
    let order = if listing == Listing::Feed {
        "p.pinned DESC, p.approved_at DESC, p.id DESC"
    } else {
        "list_at DESC, p.id DESC"
    };
    let rows: Vec<Row> = guild_db::sql(format!(
        "SELECT {cols} FROM {from} LEFT JOIN users u ON u.id = p.author_id \
         WHERE p.tenant_id = $1 AND {filter} AND {VISIBLE} \
           AND ($4::text IS NULL OR p.tags @> ARRAY[$4::text]) \
           AND ($5::boolean IS NULL OR ({pinned}, {at}, p.id) < ($5, $6, $7)) \
         ORDER BY {order} LIMIT $8",
        cols = columns(at)
    ))
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<Bool, _>(is_moderator(actor))
    .bind::<Nullable<Text>, _>(tag_filter)
    .bind::<Nullable<Bool>, _>(after.map(|a| a.0))
    .bind::<Nullable<Timestamptz>, _>(after.map(|a| a.1))
    .bind::<Nullable<SqlUuid>, _>(after.map(|a| a.2))
    .bind::<BigInt, _>(i64::from(limit) + 1)
    .load(conn)
    .await?;
    let items = rows_into_posts(conn, actor, rows).await?;
    let page = Page::from_overfetch(items, limit, |(post, at)| {
        if listing == Listing::Feed {
            pinned_cursor(post.pinned, *at, post.id)
        } else {
            time_cursor(*at, post.id)
        }
    });
    Ok(Page {
        data: page.data.into_iter().map(|(post, _)| post).collect(),
        next_cursor: page.next_cursor,
    })
}

/// What a moderator decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Into the feed (from PENDING or REJECTED).
    Approve,
    /// Refused with a reason (from PENDING).
    Reject(String),
    /// Out of the feed (from any status but ARCHIVED).
    Archive,
}

/// Approves, rejects or archives a post, as a moderator who is not its author.
pub async fn moderate(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    decision: &Decision,
    now: DateTime<Utc>,
) -> Result<Post, SocialError> {
    visible_to(conn, actor, id).await?;
    if !is_moderator(actor) {
        return Err(SocialError::Forbidden);
    }
    let tenant = actor.tenant_id.into_uuid();
    let (author, status, description, approved_at): (Uuid, String, String, Option<DateTime<Utc>>) =
        p::table
            .find((tenant, id))
            .select((p::author_id, p::status, p::description, p::approved_at))
            .for_update()
            .first(conn)
            .await?;
    if author == actor.user_id.into_uuid() {
        return Err(SocialError::CannotModerateOwnPost);
    }
    let from: PostStatus = status.parse().unwrap_or(PostStatus::Pending);
    let (to, reason) = match decision {
        Decision::Approve => (PostStatus::Approved, None),
        Decision::Reject(reason) => (
            PostStatus::Rejected,
            Some(text("reason", reason, MAX_REASON)?),
        ),
        Decision::Archive => (PostStatus::Archived, None),
    };
    let allowed = match to {
        PostStatus::Approved => matches!(from, PostStatus::Pending | PostStatus::Rejected),
        PostStatus::Rejected => from == PostStatus::Pending,
        PostStatus::Archived => from != PostStatus::Archived,
        PostStatus::Pending => false,
    };
    if !allowed {
        return Err(SocialError::InvalidTransition);
    }
    let approved_at = if to == PostStatus::Approved {
        Some(now)
    } else {
        approved_at
    };
    diesel::update(p::table.find((tenant, id)))
        .set((
            p::status.eq(to.as_str()),
            p::reject_reason.eq(&reason),
            p::moderated_by.eq(Some(actor.user_id.into_uuid())),
            p::moderated_at.eq(Some(now)),
            p::pinned.eq(false),
            p::approved_at.eq(approved_at),
        ))
        .execute(conn)
        .await?;
    guild_db::audit::record(
        conn,
        actor,
        "feed_post.moderated",
        "feed_post",
        Some(id.to_string()),
        serde_json::json!({ "from": from.as_str(), "to": to.as_str(), "reason": reason }),
    )
    .await?;
    guild_db::outbox::publish(
        conn,
        Some(actor.tenant_id),
        &FeedPostModerated {
            tenant_id: tenant,
            post_id: id,
            author_id: author,
            moderator_id: actor.user_id.into_uuid(),
            status: to,
            reason,
            description,
        },
    )
    .await?;
    get(conn, actor, id).await
}

/// Pins or unpins an approved post, as ADMIN and above (409 `invalid_status_transition` for a
/// post that is not APPROVED).
pub async fn pin(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    pinned: bool,
) -> Result<Post, SocialError> {
    visible_to(conn, actor, id).await?;
    if !is_admin(actor) {
        return Err(SocialError::Forbidden);
    }
    let changed = diesel::update(
        p::table
            .find((actor.tenant_id.into_uuid(), id))
            .filter(p::status.eq(PostStatus::Approved.as_str())),
    )
    .set(p::pinned.eq(pinned))
    .execute(conn)
    .await?;
    if changed == 0 {
        return Err(SocialError::InvalidTransition);
    }
    guild_db::audit::record(
        conn,
        actor,
        if pinned {
            "feed_post.pinned"
        } else {
            "feed_post.unpinned"
        },
        "feed_post",
        Some(id.to_string()),
        serde_json::json!({}),
    )
    .await?;
    get(conn, actor, id).await
}

/// Saves a post the actor may see (saving twice changes nothing).
pub async fn save(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Post, SocialError> {
    reactions::check_member(actor)?;
    visible_to(conn, actor, id).await?;
    let tenant = actor.tenant_id.into_uuid();
    let added = diesel::insert_into(s::table)
        .values((
            s::tenant_id.eq(tenant),
            s::user_id.eq(actor.user_id.into_uuid()),
            s::post_id.eq(id),
            s::created_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    if added == 1 {
        diesel::update(p::table.find((tenant, id)))
            .set(p::save_count.eq(p::save_count + 1))
            .execute(conn)
            .await?;
    }
    get(conn, actor, id).await
}

/// Removes a post from the actor's saved posts (unsaving one not saved changes nothing).
pub async fn unsave(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<Post, SocialError> {
    reactions::check_member(actor)?;
    visible_to(conn, actor, id).await?;
    let tenant = actor.tenant_id.into_uuid();
    let removed = diesel::delete(s::table.find((tenant, actor.user_id.into_uuid(), id)))
        .execute(conn)
        .await?;
    if removed == 1 {
        diesel::update(p::table.find((tenant, id)))
            .set(p::save_count.eq(p::save_count - 1))
            .execute(conn)
            .await?;
    }
    get(conn, actor, id).await
}

#[derive(QueryableByName)]
struct ReplyRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    post_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    author_id: Uuid,
    #[diesel(sql_type = Text)]
    author_name: String,
    #[diesel(sql_type = Text)]
    body: String,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
}

impl From<ReplyRow> for Reply {
    fn from(r: ReplyRow) -> Self {
        Self {
            id: r.id,
            post_id: r.post_id,
            author_id: r.author_id,
            author_name: r.author_name,
            body: r.body,
            created_at: r.created_at,
        }
    }
}

const REPLY_COLUMNS: &str = "r.id, r.post_id, r.author_id, coalesce(u.name, '') AS author_name, \
     r.body, r.created_at FROM feed_replies r LEFT JOIN users u ON u.id = r.author_id";

/// Replies to a post the actor may see; at most [`MAX_REPLIES`] a post (409
/// `reply_limit_reached`), counted under the post's row lock.
pub async fn reply(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    post: Uuid,
    body: &str,
    now: DateTime<Utc>,
) -> Result<Reply, SocialError> {
    reactions::check_member(actor)?;
    visible_to(conn, actor, post).await?;
    let body = text("body", body, MAX_REPLY)?;
    let tenant = actor.tenant_id.into_uuid();
    let (count, post_author): (i32, Uuid) = p::table
        .find((tenant, post))
        .select((p::reply_count, p::author_id))
        .for_update()
        .first(conn)
        .await?;
    if count >= MAX_REPLIES {
        return Err(SocialError::ReplyLimit);
    }
    let id = Uuid::now_v7();
    guild_db::sql(
        "INSERT INTO feed_replies (tenant_id, id, post_id, author_id, body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(post)
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<Text, _>(&body)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await?;
    diesel::update(p::table.find((tenant, post)))
        .set(p::reply_count.eq(p::reply_count + 1))
        .execute(conn)
        .await?;
    let row: ReplyRow = guild_db::sql(format!(
        "SELECT {REPLY_COLUMNS} WHERE r.tenant_id = $1 AND r.id = $2"
    ))
    .bind::<SqlUuid, _>(tenant)
    .bind::<SqlUuid, _>(id)
    .get_result(conn)
    .await?;
    guild_db::outbox::publish(
        conn,
        Some(actor.tenant_id),
        &FeedReplied {
            tenant_id: tenant,
            post_id: post,
            reply_id: id,
            post_author_id: post_author,
            author_id: row.author_id,
            author_name: row.author_name.clone(),
        },
    )
    .await?;
    Ok(row.into())
}

/// A post's replies, oldest first, a page at a time.
pub async fn replies(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    post: Uuid,
    page: &PageRequest,
) -> Result<Page<Reply>, SocialError> {
    visible_to(conn, actor, post).await?;
    let limit = page.limit();
    let after = after_time(page)?;
    let rows: Vec<ReplyRow> = guild_db::sql(format!(
        "SELECT {REPLY_COLUMNS} WHERE r.tenant_id = $1 AND r.post_id = $2 \
           AND ($3::timestamptz IS NULL OR (r.created_at, r.id) > ($3, $4)) \
         ORDER BY r.created_at, r.id LIMIT $5"
    ))
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(post)
    .bind::<Nullable<Timestamptz>, _>(after.map(|a| a.0))
    .bind::<Nullable<SqlUuid>, _>(after.map(|a| a.1))
    .bind::<BigInt, _>(i64::from(limit) + 1)
    .load(conn)
    .await?;
    let items: Vec<Reply> = rows.into_iter().map(Reply::from).collect();
    Ok(Page::from_overfetch(items, limit, |r: &Reply| {
        time_cursor(r.created_at, r.id)
    }))
}

#[derive(QueryableByName)]
struct UnseenRow {
    #[diesel(sql_type = BigInt)]
    count: i64,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    seen_until: Option<DateTime<Utc>>,
}

/// The actor's marker and how many approvals by others came after it.
pub async fn unseen(conn: &mut AsyncPgConnection, actor: &Actor) -> Result<Unseen, SocialError> {
    if !actor.acts_as_member() {
        return Err(SocialError::Forbidden);
    }
    let row: UnseenRow = guild_db::sql(
        "WITH m AS (SELECT seen_until FROM feed_seen WHERE tenant_id = $1 AND user_id = $2) \
         SELECT (SELECT count(*) FROM (SELECT 1 FROM feed_posts p \
             WHERE p.tenant_id = $1 AND p.status = 'APPROVED' AND p.author_id <> $2 \
               AND p.approved_at > coalesce((SELECT seen_until FROM m), '-infinity') \
             LIMIT $3) x) AS count, \
           (SELECT seen_until FROM m) AS seen_until",
    )
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<BigInt, _>(MAX_UNSEEN)
    .get_result(conn)
    .await?;
    Ok(Unseen {
        count: row.count,
        seen_until: row.seen_until,
    })
}

/// Moves the actor's marker to `until` (default `now`, never later than it; the marker never
/// moves back); answers what is still unseen.
pub async fn mark_seen(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Unseen, SocialError> {
    reactions::check_member(actor)?;
    let until = until.map_or(now, |u| u.min(now));
    guild_db::sql(
        "INSERT INTO feed_seen (tenant_id, user_id, seen_until) VALUES ($1, $2, $3) \
         ON CONFLICT (tenant_id, user_id) \
         DO UPDATE SET seen_until = greatest(feed_seen.seen_until, EXCLUDED.seen_until)",
    )
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<Timestamptz, _>(until)
    .execute(conn)
    .await?;
    unseen(conn, actor).await
}

/// Where the preview image of a post the actor may see is stored: `(blob_key, content_type)`;
/// 404 `preview_image_not_found` when it has none.
pub async fn preview_image(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<(String, String), SocialError> {
    visible_to(conn, actor, id).await?;
    #[derive(QueryableByName)]
    struct Image {
        #[diesel(sql_type = Text)]
        blob_key: String,
        #[diesel(sql_type = Text)]
        content_type: String,
    }
    let found: Option<Image> = guild_db::sql(
        "SELECT m.blob_key, m.content_type FROM feed_posts p \
         JOIN media_assets m ON m.tenant_id = p.tenant_id AND m.id = p.preview_image_id \
         WHERE p.tenant_id = $1 AND p.id = $2 AND m.status = 'READY'",
    )
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(id)
    .get_result(conn)
    .await
    .optional()?;
    found
        .map(|i| (i.blob_key, i.content_type))
        .ok_or(SocialError::NotFound("preview_image_not_found"))
}

/// A post whose preview is still to fetch: `(url, author)`; `None` once it has one (or failed,
/// or is gone), so a redelivered event fetches nothing twice.
pub async fn preview_pending(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: Uuid,
) -> Result<Option<(String, Uuid)>, SocialError> {
    Ok(p::table
        .find((tenant.into_uuid(), id))
        .filter(p::preview_status.eq(PreviewStatus::Pending.as_str()))
        .select((p::url, p::author_id))
        .first(conn)
        .await
        .optional()?)
}

/// Stores a fetched preview (or its failure) on a post whose preview is still PENDING; answers
/// whether it did.
pub async fn set_preview(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: Uuid,
    preview: &Preview,
) -> Result<bool, SocialError> {
    let clip = |s: &Option<String>, max: usize| {
        s.as_deref()
            .map(|v| v.chars().take(max).collect::<String>())
            .filter(|v| !v.trim().is_empty())
    };
    let changed = diesel::update(
        p::table
            .find((tenant.into_uuid(), id))
            .filter(p::preview_status.eq(PreviewStatus::Pending.as_str())),
    )
    .set((
        p::preview_status.eq(preview.status.as_str()),
        p::preview_title.eq(clip(&preview.title, 300)),
        p::preview_description.eq(clip(&preview.description, 1000)),
        p::preview_image_id.eq(preview.image_id),
    ))
    .execute(conn)
    .await?;
    Ok(changed == 1)
}

#[derive(QueryableByName)]
struct UserRow {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
}

/// The tenant's active feed moderators: ADMIN and above, and holders of a tenant-wide
/// MANAGE_SUGGESTIONS grant.
pub async fn moderators(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
) -> Result<Vec<Uuid>, SocialError> {
    let rows: Vec<UserRow> = guild_db::sql(
        "SELECT m.user_id FROM memberships m WHERE m.tenant_id = $1 AND m.status = 'ACTIVE' \
           AND (m.role IN ('OWNER', 'SUPER_ADMIN', 'ADMIN') OR EXISTS (\
             SELECT 1 FROM user_permissions g WHERE g.tenant_id = m.tenant_id \
               AND g.user_id = m.user_id AND g.permission = 'MANAGE_SUGGESTIONS' \
               AND g.scope = '{}'::jsonb)) \
         ORDER BY m.user_id",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.user_id).collect())
}

/// Who hears of a post's reactions: its author, and while it is APPROVED the members who
/// reacted to it or saved it (the feed itself is polled, never pushed to every member).
pub async fn audience(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: Uuid,
) -> Result<Vec<Uuid>, SocialError> {
    let rows: Vec<UserRow> = guild_db::sql(
        "SELECT author_id AS user_id FROM feed_posts WHERE tenant_id = $1 AND id = $2 \
         UNION SELECT r.user_id FROM reactions r JOIN feed_posts p \
             ON p.tenant_id = r.tenant_id AND p.id = r.target_id AND p.status = 'APPROVED' \
           WHERE r.tenant_id = $1 AND r.target_kind = 'RADAR_POST' AND r.target_id = $2 \
         UNION SELECT sv.user_id FROM feed_saves sv JOIN feed_posts p \
             ON p.tenant_id = sv.tenant_id AND p.id = sv.post_id AND p.status = 'APPROVED' \
           WHERE sv.tenant_id = $1 AND sv.post_id = $2 ORDER BY 1",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(id)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.user_id).collect())
}

/// Shares the demo tenant's first feed posts (three approved, one of them pinned, and one
/// waiting for a moderator) when the demo tenant exists and has none yet; answers whether it
/// did.
pub async fn seed_demo(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> Result<bool, SocialError> {
    use guild_db::schema::{memberships, tenants};
    let members: Vec<(Uuid, Uuid, String)> = tenants::table
        .inner_join(memberships::table.on(memberships::tenant_id.eq(tenants::id)))
        .filter(tenants::slug.eq("demo"))
        .filter(memberships::status.eq("ACTIVE"))
        .order(memberships::user_id)
        .select((tenants::id, memberships::user_id, memberships::role))
        .load(conn)
        .await?;
    let Some(admin) = members.iter().find(|m| m.2 == "ADMIN") else {
        return Ok(false);
    };
    let tenant = TenantId(admin.0);
    let admin_user = admin.1;
    // A member who mentors nothing: their post waits for a moderator.
    let employee: Option<UserRow> = guild_db::sql(
        "SELECT m.user_id FROM memberships m WHERE m.tenant_id = $1 AND m.role = 'EMPLOYEE' \
           AND m.status = 'ACTIVE' AND NOT EXISTS (SELECT 1 FROM module_mentors mm \
             WHERE mm.tenant_id = m.tenant_id AND mm.user_id = m.user_id) \
         ORDER BY m.user_id LIMIT 1",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .get_result(conn)
    .await
    .optional()?;
    let employee = employee.map(|e| e.user_id);
    guild_db::tenant_transaction(conn, tenant, async |conn| {
        let any: i64 = p::table
            .filter(p::tenant_id.eq(tenant.into_uuid()))
            .count()
            .get_result(conn)
            .await?;
        if any > 0 {
            return Ok::<_, SocialError>(false);
        }
        let actor = |user: Uuid, role: guild_kernel::TenantRole| Actor {
            user_id: guild_kernel::UserId(user),
            tenant_id: tenant,
            role,
            global_role: guild_kernel::GlobalRole::Employee,
            grants: Vec::new(),
            subtree: Vec::new(),
            impersonating: false,
            api_key: None,
            request_id: None,
        };
        let admin = actor(admin_user, guild_kernel::TenantRole::Admin);
        let shared = [
            (
                "https://www.rust-lang.org/learn",
                "Where to start with Rust: the book, the exercises and the reference.",
                vec!["rust", "learning"],
            ),
            (
                "https://owasp.org/www-project-top-ten/",
                "The ten most critical web application security risks, worth a yearly re-read.",
                vec!["security"],
            ),
            (
                "https://www.postgresql.org/docs/current/indexes-types.html",
                "Which index type fits which query: B-tree, GIN, BRIN and friends.",
                vec!["databases", "postgresql"],
            ),
        ];
        let mut first = None;
        for (i, (url, description, tags)) in shared.into_iter().enumerate() {
            let post = NewPost {
                url: url.to_owned(),
                description: description.to_owned(),
                tags: tags.into_iter().map(str::to_owned).collect(),
                previews: false,
            };
            let at = now - chrono::Duration::hours(i64::try_from(3 - i).unwrap_or(0));
            let posted = submit(conn, &admin, &post, at).await?;
            first.get_or_insert(posted.id);
        }
        if let Some(first) = first {
            pin(conn, &admin, first, true).await?;
        }
        if let Some(employee) = employee {
            let member = actor(employee, guild_kernel::TenantRole::Employee);
            let post = NewPost {
                url: "https://martinfowler.com/articles/practical-test-pyramid.html".to_owned(),
                description: "A practical take on the test pyramid, with examples.".to_owned(),
                tags: vec!["testing".to_owned()],
                previews: false,
            };
            submit(conn, &member, &post, now).await?;
        }
        Ok(true)
    })
    .await
}
