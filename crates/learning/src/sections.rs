//! Sections of a module: ordered, typed, HTML sanitized on write, video sources validated, each
//! with its own revision (ETag), and one atomic reorder.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::sections;
use guild_kernel::{Actor, Page, PageRequest, SectionId};
use serde::Serialize;
use uuid::Uuid;

use crate::access::{editable, visible};
use crate::{LearningError, html};

guild_kernel::string_enum!(
    /// What a section mainly holds.
    SectionKind {
        /// Text (the default).
        Text => "TEXT",
        /// A video.
        Video => "VIDEO",
        /// Attached files.
        Attachment => "ATTACHMENT",
        /// Several of these.
        Mixed => "MIXED",
    }
);

guild_kernel::string_enum!(
    /// Where a section's video is hosted.
    VideoSource {
        /// An `https://` YouTube or Vimeo URL.
        YoutubeVimeoUrl => "YOUTUBE_VIMEO_URL",
        /// A video asset of the media library (its id).
        Upload => "UPLOAD",
        /// A Cloudflare Stream uid (32 hex digits).
        CloudflareStream => "CLOUDFLARE_STREAM",
        /// A TargetVideo id.
        Targetvideo => "TARGETVIDEO",
    }
);

/// A section.
#[derive(Debug, Clone, Serialize, Queryable, Selectable)]
#[diesel(table_name = sections)]
pub struct Section {
    /// Id.
    pub id: Uuid,
    /// Its module.
    pub module_id: Uuid,
    /// Title.
    pub title: String,
    /// What it mainly holds.
    #[diesel(deserialize_as = String)]
    pub kind: SectionKind,
    /// Sanitized HTML.
    pub content_html: String,
    /// YOUTUBE_VIMEO_URL, UPLOAD, CLOUDFLARE_STREAM or TARGETVIDEO.
    pub video_source: Option<String>,
    /// The URL or id for the video source.
    pub video_ref: Option<String>,
    /// Position, from 0.
    pub sort_order: i32,
    /// Bumped by every change; the ETag.
    pub revision: i32,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// Editable fields; `None` keeps the value.
#[derive(Debug, Clone, Default)]
pub struct SectionInput {
    /// Title.
    pub title: Option<String>,
    /// Kind.
    pub kind: Option<SectionKind>,
    /// HTML (sanitized before storing).
    pub content_html: Option<String>,
    /// Video source and reference together; `Some(None)` removes the video.
    pub video: Option<Option<(String, String)>>,
}

/// Checks a video reference against its source.
pub fn check_video(source: &str, reference: &str) -> Result<(), LearningError> {
    let bad = |m: &str| Err(LearningError::invalid("video_ref", "invalid_video", m));
    match source {
        "YOUTUBE_VIMEO_URL" => {
            let ok_hosts = [
                "youtube.com",
                "www.youtube.com",
                "youtu.be",
                "m.youtube.com",
                "vimeo.com",
                "player.vimeo.com",
                "www.vimeo.com",
            ];
            let host = reference
                .strip_prefix("https://")
                .and_then(|rest| rest.split(['/', '?', '#']).next())
                .unwrap_or_default();
            if guild_kernel::check_link(reference).is_ok() && ok_hosts.contains(&host) {
                Ok(())
            } else {
                bad("must be an https YouTube or Vimeo URL")
            }
        }
        "CLOUDFLARE_STREAM" => {
            if reference.len() == 32 && reference.bytes().all(|b| b.is_ascii_hexdigit()) {
                Ok(())
            } else {
                bad("must be a 32-hex-digit Cloudflare Stream uid")
            }
        }
        "TARGETVIDEO" | "UPLOAD" => {
            let ok = !reference.is_empty()
                && reference.len() <= 256
                && reference
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b));
            if ok {
                Ok(())
            } else {
                bad("must be a plain id")
            }
        }
        _ => Err(LearningError::invalid(
            "video_source",
            "one_of",
            "must be YOUTUBE_VIMEO_URL, UPLOAD, CLOUDFLARE_STREAM or TARGETVIDEO",
        )),
    }
}

/// The module's sections, in order, a page at a time.
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: Uuid,
    page: &PageRequest,
) -> Result<Page<Section>, LearningError> {
    visible(conn, actor, module).await?;
    let limit = page.limit();
    let mut query = sections::table
        .filter(sections::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(sections::module_id.eq(module))
        .select(Section::as_select())
        .order((sections::sort_order, sections::id))
        .limit(i64::from(limit) + 1)
        .into_boxed();
    if let Some((key, id)) = crate::keyset(page)? {
        let after: i32 = key.parse().map_err(|_| LearningError::bad_cursor())?;
        query = query.filter(
            sections::sort_order
                .gt(after)
                .or(sections::sort_order.eq(after).and(sections::id.gt(id))),
        );
    }
    let rows = query.load(conn).await?;
    Ok(Page::from_overfetch(rows, limit, |s: &Section| {
        crate::keyset_key(s.sort_order, s.id)
    }))
}

/// One section.
pub async fn get(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: Uuid,
    id: SectionId,
) -> Result<Section, LearningError> {
    let id = id.into_uuid();
    visible(conn, actor, module).await?;
    find(conn, actor, module, id).await
}

/// A member opening a section: like [`get`], in one round trip for a read-only pipelined
/// transaction (whether the actor may see the module and the section are asked together; the
/// section is not returned unless the check passes). The caller records the opening
/// (`guild_progress::resume`, at once or batched with others).
pub async fn view(
    conn: &AsyncPgConnection,
    actor: &Actor,
    module: Uuid,
    id: SectionId,
) -> Result<Section, LearningError> {
    let (visible, found) = futures_util::future::join(
        crate::access::visible_on(conn, actor, module),
        find(conn, actor, module, id.into_uuid()),
    )
    .await;
    visible?;
    found
}

async fn find(
    mut conn: &AsyncPgConnection,
    actor: &Actor,
    module: Uuid,
    id: Uuid,
) -> Result<Section, LearningError> {
    sections::table
        .find((actor.tenant_id.into_uuid(), id))
        .filter(sections::module_id.eq(module))
        .select(Section::as_select())
        .first(&mut conn)
        .await
        .optional()?
        .ok_or(LearningError::SectionNotFound)
}

/// The asset of an uploaded video (`UPLOAD` source), checked to be a READY video.
async fn uploaded_video(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    video: Option<&(String, String)>,
) -> Result<Option<Uuid>, LearningError> {
    match video {
        Some((source, reference)) if source == "UPLOAD" => Ok(Some(
            crate::media::video_asset(conn, actor, reference).await?,
        )),
        _ => Ok(None),
    }
}

/// Adds a section at the end.
pub async fn create(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: Uuid,
    input: &SectionInput,
    now: DateTime<Utc>,
) -> Result<Section, LearningError> {
    editable(conn, actor, module).await?;
    let title = input
        .title
        .clone()
        .ok_or_else(|| LearningError::invalid("title", "required", "a title is required"))?;
    let kind = input.kind.unwrap_or(SectionKind::Text);
    let video = input.video.clone().flatten();
    if let Some((source, reference)) = &video {
        check_video(source, reference)?;
    }
    let video_asset = uploaded_video(conn, actor, video.as_ref()).await?;
    let tenant = actor.tenant_id.into_uuid();
    let next: Option<i32> = sections::table
        .filter(sections::tenant_id.eq(tenant))
        .filter(sections::module_id.eq(module))
        .select(diesel::dsl::max(sections::sort_order))
        .first(conn)
        .await?;
    let id = Uuid::now_v7();
    let row = diesel::insert_into(sections::table)
        .values((
            sections::tenant_id.eq(tenant),
            sections::id.eq(id),
            sections::module_id.eq(module),
            sections::title.eq(title),
            sections::kind.eq(kind.as_str()),
            sections::content_html.eq(html::sanitize(
                input.content_html.as_deref().unwrap_or_default(),
            )),
            sections::video_source.eq(video.as_ref().map(|v| v.0.clone())),
            sections::video_ref.eq(video.as_ref().map(|v| v.1.clone())),
            sections::video_asset_id.eq(video_asset),
            sections::sort_order.eq(next.map_or(0, |n| n + 1)),
        ))
        .returning(Section::as_returning())
        .get_result(conn)
        .await?;
    crate::versions::touch(conn, actor, module, now).await?;
    crate::audit(
        conn,
        actor,
        "SECTION_CREATED",
        "section",
        id,
        serde_json::json!({ "module_id": module }),
    )
    .await?;
    Ok(row)
}

/// Changes a section; `expected` is the revision the client read.
pub async fn update(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: Uuid,
    id: SectionId,
    expected: i32,
    input: &SectionInput,
    now: DateTime<Utc>,
) -> Result<Section, LearningError> {
    let id = id.into_uuid();
    editable(conn, actor, module).await?;
    let current = find(conn, actor, module, id).await?;
    if current.revision != expected {
        return Err(LearningError::StaleRevision {
            expected,
            current: current.revision,
        });
    }
    if let Some(Some((source, reference))) = &input.video {
        check_video(source, reference)?;
    }
    let video = input.video.clone();
    let video_asset = match &video {
        Some(v) => Some(uploaded_video(conn, actor, v.as_ref()).await?),
        None => None,
    };
    let row = diesel::update(sections::table.find((actor.tenant_id.into_uuid(), id)))
        .filter(sections::revision.eq(expected))
        .set((
            input.title.clone().map(|t| sections::title.eq(t)),
            input.kind.map(|k| sections::kind.eq(k.as_str())),
            input
                .content_html
                .as_deref()
                .map(|h| sections::content_html.eq(html::sanitize(h))),
            video
                .clone()
                .map(|v| sections::video_source.eq(v.map(|(s, _)| s))),
            video.map(|v| sections::video_ref.eq(v.map(|(_, r)| r))),
            video_asset.map(|a| sections::video_asset_id.eq(a)),
            sections::revision.eq(expected + 1),
            sections::updated_at.eq(now),
        ))
        .returning(Section::as_returning())
        .get_result(conn)
        .await
        .optional()?
        .ok_or(LearningError::StaleRevision {
            expected,
            current: expected + 1,
        })?;
    crate::versions::touch(conn, actor, module, now).await?;
    crate::audit(
        conn,
        actor,
        "SECTION_UPDATED",
        "section",
        id,
        serde_json::json!({ "module_id": module, "revision": row.revision }),
    )
    .await?;
    Ok(row)
}

/// Deletes a section and closes the gap in the order.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: Uuid,
    id: SectionId,
    expected: i32,
    now: DateTime<Utc>,
) -> Result<(), LearningError> {
    let id = id.into_uuid();
    editable(conn, actor, module).await?;
    let current = find(conn, actor, module, id).await?;
    if current.revision != expected {
        return Err(LearningError::StaleRevision {
            expected,
            current: current.revision,
        });
    }
    let tenant = actor.tenant_id.into_uuid();
    diesel::delete(sections::table.find((tenant, id)))
        .execute(conn)
        .await?;
    diesel::update(sections::table)
        .filter(sections::tenant_id.eq(tenant))
        .filter(sections::module_id.eq(module))
        .filter(sections::sort_order.gt(current.sort_order))
        .set(sections::sort_order.eq(sections::sort_order - 1))
        .execute(conn)
        .await?;
    crate::versions::touch(conn, actor, module, now).await?;
    crate::audit(
        conn,
        actor,
        "SECTION_DELETED",
        "section",
        id,
        serde_json::json!({ "module_id": module }),
    )
    .await
}

/// Puts the module's sections in the given order, all at once; the list must name each section
/// exactly once.
pub async fn reorder(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: Uuid,
    order: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Vec<Section>, LearningError> {
    editable(conn, actor, module).await?;
    let tenant = actor.tenant_id.into_uuid();
    let mut current: Vec<Uuid> = sections::table
        .filter(sections::tenant_id.eq(tenant))
        .filter(sections::module_id.eq(module))
        .select(sections::id)
        .for_update()
        .load(conn)
        .await?;
    let mut wanted = order.to_vec();
    current.sort();
    wanted.sort();
    if current != wanted {
        return Err(LearningError::BadOrder);
    }
    guild_db::sql(
        "UPDATE sections s SET sort_order = o.position - 1, revision = s.revision + 1, updated_at = now() \
         FROM unnest($3::uuid[]) WITH ORDINALITY AS o(id, position) \
         WHERE s.tenant_id = $1 AND s.module_id = $2 AND s.id = o.id",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant)
    .bind::<diesel::sql_types::Uuid, _>(module)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(order)
    .execute(conn)
    .await?;
    crate::versions::touch(conn, actor, module, now).await?;
    crate::audit(
        conn,
        actor,
        "SECTIONS_REORDERED",
        "module",
        module,
        serde_json::json!({ "order": order }),
    )
    .await?;
    Ok(sections::table
        .filter(sections::tenant_id.eq(tenant))
        .filter(sections::module_id.eq(module))
        .select(Section::as_select())
        .order((sections::sort_order, sections::id))
        .load(conn)
        .await?)
}
