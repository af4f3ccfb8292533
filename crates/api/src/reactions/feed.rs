//! What follows a feed post, after its transaction committed.
//!
//! - `social.feed_post_submitted`: the link's preview is fetched through
//!   [`AppState::previewer`] (the SSRF-guarded fetcher; `None` when previews are off), its image
//!   stored in the media library as a file of the post's author (never hot-linked), and the
//!   post's preview fields set — READY, or FAILED when the fetch was refused or failed: a post
//!   never waits for, nor loses anything by, its preview. A redelivered event fetches nothing
//!   twice (only a PENDING preview is fetched and set). A PENDING post is pushed to the
//!   moderators' streams (`feed.post_submitted`) for their queue.
//! - `social.feed_post_moderated`: the author gets RADAR_APPROVED or RADAR_REJECTED (with the
//!   reason); the author and the moderators get `feed.post_moderated` on their streams. The rest
//!   of the tenant is not pushed anything: members poll the unseen count
//!   (`GET /v1/feed/unseen-count`), so an approval costs a handful of stream rows, not one per
//!   member.
//! - `social.feed_replied`: the post's author gets COMMENT_REPLY (never for their own reply).
//!
//! Each notification's dedup key names the post or reply, so a redelivered event notifies
//! nobody twice.

use guild_db::worker::{HandlerError, Registry};
use guild_kernel::ports::{FetchError, LinkPreview};
use guild_kernel::{Actor, AssetId, TenantId, UserId};
use guild_learning::media;
use guild_notifications::inbox::NewNotification;
use guild_notifications::stream;
use guild_notifications::{EntityKind, NotificationType};
use guild_social::feed::{
    self, FeedPostModerated, FeedPostSubmitted, FeedReplied, PostStatus, Preview, PreviewStatus,
};
use serde_json::json;
use uuid::Uuid;

use crate::state::AppState;

/// What a reaction can fail with.
#[derive(Debug, thiserror::Error)]
enum FeedReactionError {
    #[error(transparent)]
    Db(#[from] guild_db::DbError),
    #[error(transparent)]
    Social(#[from] guild_social::SocialError),
    #[error(transparent)]
    Learning(#[from] guild_learning::LearningError),
    #[error(transparent)]
    Notifications(#[from] guild_notifications::NotificationsError),
    #[error(transparent)]
    Notify(#[from] super::notifications::NotifyError),
}

/// Registers the feed's reactions.
pub fn register(registry: &mut Registry, state: &AppState) {
    let s = state.clone();
    registry.on_event("feed_post_submitted", move |_, e: FeedPostSubmitted| {
        let state = s.clone();
        async move { submitted(&state, e).await }
    });
    let s = state.clone();
    registry.on_event(
        "notify_feed_post_moderated",
        move |_, e: FeedPostModerated| {
            let state = s.clone();
            async move { moderated(&state, e).await }
        },
    );
    let s = state.clone();
    registry.on_event("notify_feed_replied", move |_, e: FeedReplied| {
        let state = s.clone();
        async move { replied(&state, e).await }
    });
}

async fn publish_all(state: &AppState, tenant: TenantId, events: &[(UserId, stream::StreamEvent)]) {
    for (user, event) in events {
        crate::routes::stream::publish(state, tenant, *user, event).await;
    }
}

async fn submitted(state: &AppState, e: FeedPostSubmitted) -> Result<(), HandlerError> {
    let tenant = TenantId(e.tenant_id);
    if e.status == PostStatus::Pending {
        let now = state.clock.now();
        let mut conn = guild_db::connect(&state.db).await?;
        let events = guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
            let moderators = feed::moderators(conn, tenant).await?;
            let payload = json!({ "post_id": e.post_id, "author_id": e.author_id });
            let batch: Vec<(UserId, serde_json::Value)> = moderators
                .into_iter()
                .filter(|m| *m != e.author_id)
                .map(|m| (UserId(m), payload.clone()))
                .collect();
            Ok::<_, FeedReactionError>(
                stream::append_many(conn, tenant, "feed.post_submitted", &batch, now).await?,
            )
        })
        .await?;
        publish_all(state, tenant, &events).await;
    }
    preview(state, tenant, e.post_id).await
}

/// Fetches and stores a post's preview, once.
async fn preview(state: &AppState, tenant: TenantId, post: Uuid) -> Result<(), HandlerError> {
    let mut conn = guild_db::connect(&state.db).await?;
    let pending = guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
        feed::preview_pending(conn, tenant, post).await
    })
    .await?;
    let Some((url, author)) = pending else {
        return Ok(());
    };
    let fetched = match &state.previewer {
        Some(previewer) => previewer.preview(&url).await,
        None => Err(FetchError::Refused("link previews are off".to_owned())),
    };
    let (status, page) = match fetched {
        Ok(page) => (PreviewStatus::Ready, page),
        Err(err) => {
            tracing::info!(%post, error = %err, "no link preview");
            (PreviewStatus::Failed, LinkPreview::default())
        }
    };
    let author = Actor {
        user_id: UserId(author),
        tenant_id: tenant,
        role: guild_kernel::TenantRole::Employee,
        global_role: guild_kernel::GlobalRole::Employee,
        grants: Vec::new(),
        subtree: Vec::new(),
        impersonating: false,
        api_key: None,
        request_id: None,
    };
    let image = match page.image {
        Some(image) => store_image(state, &author, image).await,
        None => None,
    };
    guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
        let mut image_id = None;
        if let Some((id, size, file_type)) = image {
            media::record_member_file(conn, &author, AssetId(id), "preview", size, file_type)
                .await?;
            image_id = Some(id);
        }
        let set = Preview {
            status,
            title: page.title.clone(),
            description: page.description.clone(),
            image_id,
        };
        feed::set_preview(conn, tenant, post, &set).await?;
        Ok::<_, FeedReactionError>(())
    })
    .await?;
    Ok(())
}

/// Stores a fetched image as a media blob when it is an image the library accepts: `(asset id,
/// size, type)`; `None` (no image, the preview stands without it) otherwise.
async fn store_image(
    state: &AppState,
    author: &Actor,
    image: guild_kernel::ports::FetchedImage,
) -> Option<(Uuid, i64, &'static media::FileType)> {
    let file_type = media::sniff("", &image.bytes).ok()?;
    let size = u64::try_from(image.bytes.len()).ok()?;
    if file_type.kind != media::AssetKind::Image || size == 0 || size > file_type.kind.max_size() {
        return None;
    }
    let id = Uuid::now_v7();
    let key = media::blob_key(author, id);
    match state.blobs.put(&key, image.bytes, file_type.mime).await {
        Ok(()) => Some((id, i64::try_from(size).ok()?, file_type)),
        Err(err) => {
            tracing::warn!(error = %err, "could not store a link preview's image");
            None
        }
    }
}

async fn moderated(state: &AppState, e: FeedPostModerated) -> Result<(), HandlerError> {
    let tenant = TenantId(e.tenant_id);
    let now = state.clock.now();
    let mut conn = guild_db::connect(&state.db).await?;
    let events = guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
        let mut out = Vec::new();
        let note = match e.status {
            PostStatus::Approved => Some((
                NotificationType::RadarApproved,
                "Your post is in the knowledge feed".to_owned(),
                String::new(),
            )),
            PostStatus::Rejected => Some((
                NotificationType::RadarRejected,
                "Your post was not approved for the knowledge feed".to_owned(),
                e.reason.clone().unwrap_or_default(),
            )),
            PostStatus::Pending | PostStatus::Archived => None,
        };
        if let Some((kind, title, body)) = note
            && e.author_id != e.moderator_id
        {
            let note = NewNotification {
                user: UserId(e.author_id),
                kind,
                title,
                body,
                entity: Some((EntityKind::RadarPost, e.post_id)),
                dedup_key: format!("feed_post:{}:{}", e.post_id, e.status.as_str()),
                data: json!({ "description": e.description, "reason": e.reason }),
            };
            if let Some(event) = super::notifications::write(conn, tenant, &note, now).await? {
                out.push((UserId(e.author_id), event));
            }
        }
        let mut users = feed::moderators(conn, tenant).await?;
        if !users.contains(&e.author_id) {
            users.push(e.author_id);
        }
        let payload = json!({
            "post_id": e.post_id,
            "status": e.status,
            "moderator_id": e.moderator_id,
        });
        let batch: Vec<(UserId, serde_json::Value)> = users
            .into_iter()
            .map(|u| (UserId(u), payload.clone()))
            .collect();
        out.extend(stream::append_many(conn, tenant, "feed.post_moderated", &batch, now).await?);
        Ok::<_, FeedReactionError>(out)
    })
    .await?;
    publish_all(state, tenant, &events).await;
    Ok(())
}

async fn replied(state: &AppState, e: FeedReplied) -> Result<(), HandlerError> {
    if e.author_id == e.post_author_id {
        return Ok(());
    }
    let tenant = TenantId(e.tenant_id);
    let now = state.clock.now();
    let mut conn = guild_db::connect(&state.db).await?;
    let events = guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
        let note = NewNotification {
            user: UserId(e.post_author_id),
            kind: NotificationType::CommentReply,
            title: format!("{} replied to your post", e.author_name),
            body: String::new(),
            entity: Some((EntityKind::RadarPost, e.post_id)),
            dedup_key: format!("feed_reply:{}", e.reply_id),
            data: json!({ "author": e.author_name }),
        };
        let event = super::notifications::write(conn, tenant, &note, now).await?;
        Ok::<_, FeedReactionError>(event.map(|ev| (UserId(e.post_author_id), ev)))
    })
    .await?;
    publish_all(state, tenant, events.as_slice()).await;
    Ok(())
}
