//! The media library: images, documents and videos uploaded once and shared by sections, as
//! attachments and as uploaded videos.
//!
//! Types are decided by the bytes, never by the name or the declared content type: a file is
//! accepted only when its content is one of [`FILE_TYPES`] and its extension (if any) names the
//! same type, so a `.pdf` that is not a PDF is refused. Each kind has a size limit ([`Kind::max_size`]).
//!
//! Small files arrive in one request ([`create_stored`], after the caller stored the blob).
//! Large ones are uploaded straight to storage: [`begin_upload`] creates a PROCESSING asset and
//! the caller hands out a signed upload URL for its [`upload_key`], a staging key; on completion
//! the caller seals the upload (moves the blob from the staging key to the asset's `blob_key`,
//! which no signed URL names) and only then reads it, and [`complete_upload`] checks the sealed
//! blob's size and first bytes and marks the asset READY, or FAILED with a reason. So what was
//! checked is what is served: the upload URL, valid for an hour, cannot swap the file after.
//!
//! The upload sweep ([`abandon_uploads`], [`expired_upload_keys`]) runs once the upload URL has
//! expired (`upload_expires_at`): a still PROCESSING asset was abandoned and is removed like a
//! deleted one; for the others the staging key is deleted (an S3 URL can still PUT there until
//! it expires, though nothing reads it). [`remove_assets`] removes files others found orphaned.
//!
//! Deleting an asset that a section uses is refused unless forced; forcing removes the
//! references first. A deleted asset becomes DELETE_PENDING and a [`RemoveAssetBlob`] job removes
//! its blob and then its row; foreign keys (RESTRICT) guarantee the row outlives every
//! reference. A blob that cannot be removed leaves the asset DELETE_FAILED (delete it again to
//! retry).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{media_assets, modules, section_attachments, sections};
use guild_kernel::{Actor, AssetId, Page, PageRequest, Permission, Target, authorize};
use guild_kernel::{SectionId, ports::BlobError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::LearningError;
use crate::access::{editable, may_manage_all, visible};

guild_kernel::string_enum!(
    /// A kind of asset.
    AssetKind {
        /// PNG, JPEG, GIF, WebP.
        Image => "IMAGE",
        /// PDF, Word.
        Document => "DOCUMENT",
        /// MP4, QuickTime, WebM.
        Video => "VIDEO",
        /// MP3, M4A, WAV, Ogg (the module builder transcribes them).
        Audio => "AUDIO",
    }
);

/// The kind of asset, by its former name.
pub use AssetKind as Kind;

guild_kernel::string_enum!(
    /// Where an asset is in its life.
    AssetStatus {
        /// A direct upload not completed yet.
        Processing => "PROCESSING",
        /// Stored and checked: usable.
        Ready => "READY",
        /// Its upload failed (see `failure_reason`).
        Failed => "FAILED",
        /// Deleted; its file is being removed.
        DeletePending => "DELETE_PENDING",
        /// Its file could not be removed.
        DeleteFailed => "DELETE_FAILED",
    }
);

guild_kernel::string_enum!(
    /// How a section uses an asset.
    UsageKind {
        /// As an attachment.
        Attachment => "ATTACHMENT",
        /// As its uploaded video.
        Video => "VIDEO",
    }
);

const MIB: u64 = 1024 * 1024;

impl AssetKind {
    /// The largest file of this kind, in bytes: 10 MiB for images, 50 MiB for documents,
    /// 2 GiB for videos, 500 MiB for audio.
    pub const fn max_size(self) -> u64 {
        match self {
            Self::Image => 10 * MIB,
            Self::Document => 50 * MIB,
            Self::Video => 2048 * MIB,
            Self::Audio => 500 * MIB,
        }
    }
}

/// The largest file accepted in one multipart request; larger ones use a direct upload.
pub const MAX_INLINE_UPLOAD: u64 = 25 * MIB;

/// How many leading bytes identify a file.
pub const SNIFF_LEN: usize = 64 * 1024;

/// How long signed download URLs live.
pub const DOWNLOAD_URL_TTL: std::time::Duration = std::time::Duration::from_secs(300);

/// How long signed upload URLs live.
pub const UPLOAD_URL_TTL: std::time::Duration = std::time::Duration::from_secs(3600);

/// An accepted file type.
#[derive(Debug)]
pub struct FileType {
    /// Its kind.
    pub kind: Kind,
    /// Its content type.
    pub mime: &'static str,
    /// File name extensions that announce it (lower case).
    pub extensions: &'static [&'static str],
    matches: fn(&[u8]) -> bool,
}

/// Every accepted file type, recognised by its content.
pub static FILE_TYPES: [FileType; 14] = [
    FileType {
        kind: Kind::Document,
        mime: "application/pdf",
        extensions: &["pdf"],
        matches: infer::archive::is_pdf,
    },
    FileType {
        kind: Kind::Document,
        mime: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        extensions: &["docx"],
        matches: infer::doc::is_docx,
    },
    FileType {
        kind: Kind::Document,
        mime: "application/msword",
        extensions: &["doc"],
        matches: infer::doc::is_doc,
    },
    FileType {
        kind: Kind::Image,
        mime: "image/png",
        extensions: &["png"],
        matches: infer::image::is_png,
    },
    FileType {
        kind: Kind::Image,
        mime: "image/jpeg",
        extensions: &["jpg", "jpeg"],
        matches: infer::image::is_jpeg,
    },
    FileType {
        kind: Kind::Image,
        mime: "image/gif",
        extensions: &["gif"],
        matches: infer::image::is_gif,
    },
    FileType {
        kind: Kind::Image,
        mime: "image/webp",
        extensions: &["webp"],
        matches: infer::image::is_webp,
    },
    // Before the videos: an M4A file is an MP4 container too (its brand says audio).
    FileType {
        kind: Kind::Audio,
        mime: "audio/mp4",
        extensions: &["m4a"],
        matches: infer::audio::is_m4a,
    },
    FileType {
        kind: Kind::Audio,
        mime: "audio/mpeg",
        extensions: &["mp3"],
        matches: infer::audio::is_mp3,
    },
    FileType {
        kind: Kind::Audio,
        mime: "audio/wav",
        extensions: &["wav"],
        matches: infer::audio::is_wav,
    },
    FileType {
        kind: Kind::Audio,
        mime: "audio/ogg",
        extensions: &["ogg", "oga", "opus"],
        matches: infer::audio::is_ogg,
    },
    FileType {
        kind: Kind::Video,
        mime: "video/mp4",
        extensions: &["mp4", "m4v"],
        matches: infer::video::is_mp4,
    },
    FileType {
        kind: Kind::Video,
        mime: "video/quicktime",
        extensions: &["mov"],
        matches: infer::video::is_mov,
    },
    FileType {
        kind: Kind::Video,
        mime: "video/webm",
        extensions: &["webm"],
        matches: infer::video::is_webm,
    },
];

fn extension(file_name: &str) -> Option<String> {
    let (stem, ext) = file_name.rsplit_once('.')?;
    (!stem.is_empty()).then(|| ext.to_ascii_lowercase())
}

/// The type announced by a file name's extension.
pub fn type_of_name(file_name: &str) -> Option<&'static FileType> {
    let ext = extension(file_name)?;
    FILE_TYPES
        .iter()
        .find(|t| t.extensions.contains(&ext.as_str()))
}

/// Identifies a file from its leading bytes and checks its name agrees.
pub fn sniff(file_name: &str, head: &[u8]) -> Result<&'static FileType, LearningError> {
    let found = FILE_TYPES
        .iter()
        .find(|t| (t.matches)(head))
        .ok_or(LearningError::UnsupportedFileType)?;
    if let Some(ext) = extension(file_name)
        && !found.extensions.contains(&ext.as_str())
    {
        return Err(LearningError::FileTypeMismatch {
            extension: ext,
            actual: found.mime,
        });
    }
    Ok(found)
}

fn check_size(kind: Kind, size: u64) -> Result<(), LearningError> {
    if size > kind.max_size() {
        return Err(LearningError::FileTooLarge {
            kind: kind.as_str(),
            max: kind.max_size(),
        });
    }
    if size == 0 {
        return Err(LearningError::invalid("file", "empty", "the file is empty"));
    }
    Ok(())
}

fn check_file_name(file_name: &str) -> Result<(), LearningError> {
    let ok = !file_name.trim().is_empty()
        && file_name.chars().count() <= 255
        && !file_name
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\');
    if ok {
        Ok(())
    } else {
        Err(LearningError::invalid(
            "file_name",
            "invalid_file_name",
            "must be 1 to 255 characters without '/', '\\' or control characters",
        ))
    }
}

/// A stored asset.
#[derive(Debug, Clone, Serialize, Queryable, Selectable)]
#[diesel(table_name = media_assets)]
pub struct Asset {
    /// Id.
    pub id: Uuid,
    /// Its kind.
    #[diesel(deserialize_as = String)]
    pub kind: AssetKind,
    /// Where it is in its life.
    #[diesel(deserialize_as = String)]
    pub status: AssetStatus,
    /// A display title.
    pub title: String,
    /// The uploaded file's name.
    pub file_name: String,
    /// The content type found in its bytes (declared, while PROCESSING).
    pub content_type: String,
    /// Size in bytes (declared, while PROCESSING).
    pub size_bytes: i64,
    /// Where the bytes are.
    pub blob_key: String,
    /// Why it FAILED.
    pub failure_reason: Option<String>,
    /// Who uploaded it.
    pub uploaded_by: Uuid,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A place an asset is used.
#[derive(Debug, Clone, Serialize)]
pub struct Usage {
    /// The module.
    pub module_id: Uuid,
    /// Its title.
    pub module_title: String,
    /// The section.
    pub section_id: Uuid,
    /// Its title.
    pub section_title: String,
    /// How it is used.
    pub usage: UsageKind,
}

/// An attachment of a section.
#[derive(Debug, Clone, Serialize)]
pub struct Attachment {
    /// Id.
    pub id: Uuid,
    /// The section.
    pub section_id: Uuid,
    /// Display title.
    pub title: String,
    /// The asset.
    pub asset: Asset,
}

/// Removes a deleted asset's blob, then its row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RemoveAssetBlob {
    /// The asset.
    pub asset_id: Uuid,
}

impl guild_db::jobs::Job for RemoveAssetBlob {
    const KIND: &'static str = "media.remove_blob";
    const MAX_ATTEMPTS: i32 = 6;
}

/// The blob key of a new asset.
pub fn blob_key(actor: &Actor, id: Uuid) -> String {
    format!("tenants/{}/assets/{id}", actor.tenant_id)
}

/// Records a file a member uploaded for an assignment submission (see
/// `guild_assessment::assignments::record_file`) whose bytes the caller stored under
/// [`blob_key`]: a READY media asset uploaded by the actor, marked as a submission file so the
/// library leaves it out. Not audited here: the caller audits what the file is for.
pub async fn record_member_file(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    asset_id: AssetId,
    file_name: &str,
    size_bytes: i64,
    file_type: &'static FileType,
) -> Result<(), LearningError> {
    let asset_id = asset_id.into_uuid();
    diesel::insert_into(media_assets::table)
        .values((
            media_assets::tenant_id.eq(actor.tenant_id.into_uuid()),
            media_assets::id.eq(asset_id),
            media_assets::kind.eq(file_type.kind.as_str()),
            media_assets::status.eq("READY"),
            media_assets::title.eq(file_name.chars().take(200).collect::<String>().trim()),
            media_assets::file_name.eq(file_name),
            media_assets::content_type.eq(file_type.mime),
            media_assets::size_bytes.eq(size_bytes),
            media_assets::blob_key.eq(blob_key(actor, asset_id)),
            media_assets::uploaded_by.eq(actor.user_id.into_uuid()),
            media_assets::submission_file.eq(true),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// The staging key a direct upload's signed URL writes to; completing the upload moves the blob
/// to the asset's `blob_key`.
pub fn upload_key(tenant: Uuid, id: Uuid) -> String {
    format!("tenants/{tenant}/uploads/{id}")
}

/// How long after its signed URL was made a direct upload counts as abandoned: the URL's life
/// and a minute for clocks and requests in flight.
const UPLOAD_GRACE: std::time::Duration = std::time::Duration::from_secs(60);

/// May use the library: MANAGE_ALL_MODULES or MANAGE_OWN_MODULES. Uploads call it before they
/// read a body, so a caller who may not upload never makes the server buffer one.
pub fn check_author(actor: &Actor) -> Result<(), LearningError> {
    if may_manage_all(actor, None) {
        return Ok(());
    }
    authorize(actor, Permission::ManageOwnModules, Target::Tenant)?;
    Ok(())
}

/// May change this asset: MANAGE_ALL_MODULES, or its uploader.
fn check_owner(actor: &Actor, asset: &Asset) -> Result<(), LearningError> {
    check_author(actor)?;
    if may_manage_all(actor, None) || asset.uploaded_by == actor.user_id.into_uuid() {
        Ok(())
    } else {
        Err(LearningError::Forbidden(guild_kernel::Denied(
            Permission::ManageAllModules,
        )))
    }
}

/// Files members uploaded for their assignment submissions ([`record_member_file`]; the
/// assessment crate links them to their assignment): they are not part of the library, and are
/// reached only through their submissions, by their uploader and the assignment's graders.
#[diesel::dsl::auto_type]
fn not_a_submission_file() -> _ {
    media_assets::submission_file.eq(false)
}

async fn find(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<Asset, LearningError> {
    media_assets::table
        .find((actor.tenant_id.into_uuid(), id))
        .filter(not_a_submission_file())
        .select(Asset::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or(LearningError::AssetNotFound)
}

/// What a new upload says about itself.
#[derive(Debug, Clone)]
pub struct NewUpload {
    /// Display title (defaults to the file name).
    pub title: Option<String>,
    /// The file's name.
    pub file_name: String,
    /// Its size in bytes.
    pub size_bytes: u64,
}

/// Records a READY asset whose blob the caller already stored under `blob_key(actor, id)`;
/// `head` is the file's first bytes (all of it, for small files).
pub async fn create_stored(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    upload: &NewUpload,
    file_type: &'static FileType,
) -> Result<Asset, LearningError> {
    check_author(actor)?;
    check_file_name(&upload.file_name)?;
    check_size(file_type.kind, upload.size_bytes)?;
    let asset = insert(conn, actor, id, upload, file_type, "READY").await?;
    crate::audit(
        conn,
        actor,
        "ASSET_UPLOADED",
        "media_asset",
        id,
        serde_json::json!({ "file_name": asset.file_name, "kind": asset.kind, "size_bytes": asset.size_bytes }),
    )
    .await?;
    Ok(asset)
}

/// Checks an inline upload before its bytes are stored: the caller's permission, the name, the
/// type found in `bytes` and the size. Returns the file's type.
pub fn check_inline(
    actor: &Actor,
    file_name: &str,
    bytes: &[u8],
) -> Result<&'static FileType, LearningError> {
    check_author(actor)?;
    check_file_name(file_name)?;
    let file_type = sniff(file_name, bytes)?;
    check_size(file_type.kind, bytes.len() as u64)?;
    Ok(file_type)
}

async fn insert(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    upload: &NewUpload,
    file_type: &'static FileType,
    status: &str,
) -> Result<Asset, LearningError> {
    let title = upload
        .title
        .clone()
        .unwrap_or_else(|| upload.file_name.clone());
    if title.trim().is_empty() || title.chars().count() > 200 {
        return Err(LearningError::invalid(
            "title",
            "length",
            "must be 1 to 200 characters",
        ));
    }
    Ok(diesel::insert_into(media_assets::table)
        .values((
            media_assets::tenant_id.eq(actor.tenant_id.into_uuid()),
            media_assets::id.eq(id),
            media_assets::kind.eq(file_type.kind.as_str()),
            media_assets::status.eq(status),
            media_assets::title.eq(title.trim()),
            media_assets::file_name.eq(&upload.file_name),
            media_assets::content_type.eq(file_type.mime),
            media_assets::size_bytes.eq(i64::try_from(upload.size_bytes).unwrap_or(i64::MAX)),
            media_assets::blob_key.eq(blob_key(actor, id)),
            media_assets::uploaded_by.eq(actor.user_id.into_uuid()),
        ))
        .returning(Asset::as_returning())
        .get_result(conn)
        .await?)
}

/// Starts a direct upload: checks the declared name and size and creates a PROCESSING asset;
/// the caller hands out a signed upload URL (valid [`UPLOAD_URL_TTL`] from `now`) for its
/// [`upload_key`] and `content_type`.
pub async fn begin_upload(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    upload: &NewUpload,
    now: DateTime<Utc>,
) -> Result<Asset, LearningError> {
    check_author(actor)?;
    check_file_name(&upload.file_name)?;
    let file_type = type_of_name(&upload.file_name).ok_or(LearningError::UnsupportedFileType)?;
    check_size(file_type.kind, upload.size_bytes)?;
    let id = Uuid::now_v7();
    let asset = insert(conn, actor, id, upload, file_type, "PROCESSING").await?;
    let expires =
        now + chrono::Duration::from_std(UPLOAD_URL_TTL + UPLOAD_GRACE).unwrap_or_default();
    diesel::update(media_assets::table.find((actor.tenant_id.into_uuid(), id)))
        .set(media_assets::upload_expires_at.eq(expires))
        .execute(conn)
        .await?;
    crate::audit(
        conn,
        actor,
        "ASSET_UPLOAD_STARTED",
        "media_asset",
        id,
        serde_json::json!({ "file_name": asset.file_name, "size_bytes": asset.size_bytes }),
    )
    .await?;
    Ok(asset)
}

/// What the stored blob of a direct upload turned out to be.
#[derive(Debug, Clone)]
pub enum Stored {
    /// Its size and first [`SNIFF_LEN`] bytes.
    Found {
        /// Size in bytes.
        size: u64,
        /// The first bytes.
        head: Vec<u8>,
    },
    /// Nothing was uploaded.
    Missing,
}

/// The asset a direct upload is completed for, checked before the caller looks at the blob.
pub async fn pending_upload(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: AssetId,
) -> Result<Asset, LearningError> {
    let id = id.into_uuid();
    let asset = find(conn, actor, id).await?;
    check_owner(actor, &asset)?;
    Ok(asset)
}

/// Finishes a direct upload from what was stored: READY when the bytes are the file type its
/// name announces and within the kind's size limit, else FAILED with the reason (its problem
/// code), returned beside the asset — the caller then deletes the blob and reports it. An asset
/// that is no longer PROCESSING is returned as is.
pub async fn complete_upload(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: AssetId,
    stored: &Stored,
    now: DateTime<Utc>,
) -> Result<(Asset, Option<LearningError>), LearningError> {
    let id = id.into_uuid();
    pending_upload(conn, actor, AssetId(id)).await?;
    // Locked: the upload sweep may be abandoning it at this moment.
    let asset: Asset = media_assets::table
        .find((actor.tenant_id.into_uuid(), id))
        .select(Asset::as_select())
        .for_update()
        .first(conn)
        .await?;
    if asset.status != AssetStatus::Processing {
        return Ok((asset, None));
    }
    let outcome = match stored {
        Stored::Missing => Err(LearningError::UploadMissing),
        Stored::Found { size, head } => sniff(&asset.file_name, head).and_then(|t| {
            check_size(t.kind, *size)?;
            Ok((t, *size))
        }),
    };
    let tenant = actor.tenant_id.into_uuid();
    let (updated, failure) = match outcome {
        Ok((file_type, size)) => (
            diesel::update(media_assets::table.find((tenant, id)))
                .set((
                    media_assets::status.eq("READY"),
                    media_assets::kind.eq(file_type.kind.as_str()),
                    media_assets::content_type.eq(file_type.mime),
                    media_assets::size_bytes.eq(i64::try_from(size).unwrap_or(i64::MAX)),
                    media_assets::updated_at.eq(now),
                ))
                .returning(Asset::as_returning())
                .get_result(conn)
                .await?,
            None,
        ),
        Err(err) => {
            use guild_kernel::ErrorCode;
            let row = diesel::update(media_assets::table.find((tenant, id)))
                .set((
                    media_assets::status.eq("FAILED"),
                    media_assets::failure_reason.eq(err.code()),
                    media_assets::updated_at.eq(now),
                ))
                .returning(Asset::as_returning())
                .get_result(conn)
                .await?;
            (row, Some(err))
        }
    };
    crate::audit(
        conn,
        actor,
        if updated.status == AssetStatus::Ready {
            "ASSET_UPLOADED"
        } else {
            "ASSET_UPLOAD_FAILED"
        },
        "media_asset",
        id,
        serde_json::json!({ "file_name": updated.file_name, "failure_reason": updated.failure_reason }),
    )
    .await?;
    Ok((updated, failure))
}

/// Filters for [`list`].
#[derive(Debug, Clone, Default)]
pub struct AssetFilter {
    /// Only this kind.
    pub kind: Option<AssetKind>,
    /// Only this status.
    pub status: Option<AssetStatus>,
    /// Title or file name contains this (case-insensitive).
    pub q: Option<String>,
}

/// The library, newest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    filter: &AssetFilter,
    page: &PageRequest,
) -> Result<Page<Asset>, LearningError> {
    check_author(actor)?;
    let limit = page.limit();
    let mut query = media_assets::table
        .filter(media_assets::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(not_a_submission_file())
        .order(media_assets::id.desc())
        .limit(i64::from(limit) + 1)
        .select(Asset::as_select())
        .into_boxed();
    if let Some(cursor) = page.cursor().map_err(|_| LearningError::bad_cursor())? {
        let before: Uuid = cursor.0.parse().map_err(|_| LearningError::bad_cursor())?;
        query = query.filter(media_assets::id.lt(before));
    }
    if let Some(kind) = &filter.kind {
        query = query.filter(media_assets::kind.eq(kind.as_str()));
    }
    if let Some(status) = &filter.status {
        query = query.filter(media_assets::status.eq(status.as_str()));
    }
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = format!(
            "%{}%",
            q.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        query = query.filter(
            media_assets::title
                .ilike(pattern.clone())
                .or(media_assets::file_name.ilike(pattern)),
        );
    }
    let rows = query.load(conn).await?;
    Ok(Page::from_overfetch(rows, limit, |a: &Asset| {
        a.id.to_string()
    }))
}

/// One asset and where it is used.
pub async fn get(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: AssetId,
) -> Result<(Asset, Vec<Usage>), LearningError> {
    let id = id.into_uuid();
    check_author(actor)?;
    let asset = find(conn, actor, id).await?;
    let used = where_used(conn, actor, &[id]).await?;
    Ok((asset, used.into_iter().map(|(_, u)| u).collect()))
}

type UsageRow = (Uuid, Uuid, String, Uuid, String);

/// Every section using one of `ids`, as (asset, usage).
async fn where_used(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    ids: &[Uuid],
) -> Result<Vec<(Uuid, Usage)>, LearningError> {
    let tenant = actor.tenant_id.into_uuid();
    let attached: Vec<UsageRow> = section_attachments::table
        .inner_join(
            sections::table.on(sections::tenant_id
                .eq(section_attachments::tenant_id)
                .and(sections::id.eq(section_attachments::section_id))),
        )
        .inner_join(
            modules::table.on(modules::tenant_id
                .eq(sections::tenant_id)
                .and(modules::id.eq(sections::module_id))),
        )
        .filter(section_attachments::tenant_id.eq(tenant))
        .filter(section_attachments::asset_id.eq_any(ids))
        .select((
            section_attachments::asset_id,
            modules::id,
            modules::title,
            sections::id,
            sections::title,
        ))
        .order((modules::title, sections::sort_order))
        .load(conn)
        .await?;
    let videos: Vec<(Option<Uuid>, Uuid, String, Uuid, String)> = sections::table
        .inner_join(
            modules::table.on(modules::tenant_id
                .eq(sections::tenant_id)
                .and(modules::id.eq(sections::module_id))),
        )
        .filter(sections::tenant_id.eq(tenant))
        .filter(sections::video_asset_id.eq_any(ids))
        .select((
            sections::video_asset_id,
            modules::id,
            modules::title,
            sections::id,
            sections::title,
        ))
        .order((modules::title, sections::sort_order))
        .load(conn)
        .await?;
    let usage = |usage: UsageKind| {
        move |(asset, module_id, module_title, section_id, section_title): UsageRow| {
            (
                asset,
                Usage {
                    module_id,
                    module_title,
                    section_id,
                    section_title,
                    usage,
                },
            )
        }
    };
    Ok(attached
        .into_iter()
        .map(usage(UsageKind::Attachment))
        .chain(
            videos
                .into_iter()
                .filter_map(|(a, m, mt, s, st)| a.map(|a| (a, m, mt, s, st)))
                .map(usage(UsageKind::Video)),
        )
        .collect())
}

/// Deletes assets: refused with `AssetInUse` when a section uses one of them, unless `force`,
/// which first removes those attachments and videos. The assets become DELETE_PENDING and a job
/// removes their blobs. One id audits ASSET_DELETED; several, one ASSET_BULK_DELETED.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    ids: &[Uuid],
    force: bool,
    now: DateTime<Utc>,
) -> Result<Vec<Asset>, LearningError> {
    check_author(actor)?;
    let tenant = actor.tenant_id.into_uuid();
    let mut unique = ids.to_vec();
    unique.sort();
    unique.dedup();
    if unique.is_empty() || unique.len() > 100 {
        return Err(LearningError::invalid(
            "ids",
            "length",
            "name 1 to 100 assets",
        ));
    }
    let assets: Vec<Asset> = media_assets::table
        .filter(media_assets::tenant_id.eq(tenant))
        .filter(media_assets::id.eq_any(&unique))
        .select(Asset::as_select())
        .for_update()
        .load(conn)
        .await?;
    if assets.len() != unique.len() {
        return Err(LearningError::AssetNotFound);
    }
    for asset in &assets {
        check_owner(actor, asset)?;
    }
    let used = where_used(conn, actor, &unique).await?;
    if !used.is_empty() && !force {
        return Err(LearningError::AssetInUse(used.len()));
    }
    if !used.is_empty() {
        diesel::delete(
            section_attachments::table
                .filter(section_attachments::tenant_id.eq(tenant))
                .filter(section_attachments::asset_id.eq_any(&unique)),
        )
        .execute(conn)
        .await?;
        diesel::update(
            sections::table
                .filter(sections::tenant_id.eq(tenant))
                .filter(sections::video_asset_id.eq_any(&unique)),
        )
        .set((
            sections::video_asset_id.eq(None::<Uuid>),
            sections::video_source.eq(None::<String>),
            sections::video_ref.eq(None::<String>),
            sections::revision.eq(sections::revision + 1),
            sections::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
        let mut touched: Vec<Uuid> = used.iter().map(|(_, u)| u.module_id).collect();
        touched.sort();
        touched.dedup();
        for module in touched {
            crate::versions::touch(conn, actor, module, now).await?;
        }
    }
    let deleted: Vec<Asset> = diesel::update(
        media_assets::table
            .filter(media_assets::tenant_id.eq(tenant))
            .filter(media_assets::id.eq_any(&unique))
            .filter(media_assets::status.ne("DELETE_PENDING")),
    )
    .set((
        media_assets::status.eq("DELETE_PENDING"),
        media_assets::updated_at.eq(now),
    ))
    .returning(Asset::as_returning())
    .get_results(conn)
    .await?;
    for asset in &deleted {
        guild_db::jobs::enqueue(
            conn,
            Some(actor.tenant_id),
            &RemoveAssetBlob { asset_id: asset.id },
        )
        .await?;
    }
    let metadata = serde_json::json!({
        "force": force,
        "references_removed": used.len(),
        "file_names": assets.iter().map(|a| a.file_name.as_str()).collect::<Vec<_>>(),
    });
    if let [only] = unique.as_slice() {
        crate::audit(conn, actor, "ASSET_DELETED", "media_asset", *only, metadata).await?;
    } else {
        let mut metadata = metadata;
        metadata["ids"] = serde_json::json!(unique);
        guild_db::audit::record(
            conn,
            actor,
            "ASSET_BULK_DELETED",
            "media_asset",
            None,
            metadata,
        )
        .await?;
    }
    Ok(assets
        .into_iter()
        .map(|mut a| {
            a.status = AssetStatus::DeletePending;
            a
        })
        .collect())
}

/// What the removal job should do with an asset.
#[derive(Debug, Clone)]
pub enum Removal {
    /// Delete these blobs (the asset's, and the staging blob of a direct upload whose URL has
    /// not been swept), then call [`finish_removal`].
    DeleteBlobs(Vec<String>),
    /// Nothing: the asset is gone, not deleted, or used again.
    Skip,
}

/// The removal job's first step, in the asset's tenant.
pub async fn plan_removal(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    asset: AssetId,
) -> Result<Removal, LearningError> {
    let asset = asset.into_uuid();
    let row: Option<(String, String, Option<DateTime<Utc>>)> = media_assets::table
        .find((tenant, asset))
        .select((
            media_assets::status,
            media_assets::blob_key,
            media_assets::upload_expires_at,
        ))
        .first(conn)
        .await
        .optional()?;
    let Some((status, key, upload_expires_at)) = row else {
        return Ok(Removal::Skip);
    };
    if status != "DELETE_PENDING" && status != "DELETE_FAILED" {
        return Ok(Removal::Skip);
    }
    let referenced: bool = diesel::select(
        diesel::dsl::exists(
            section_attachments::table
                .filter(section_attachments::tenant_id.eq(tenant))
                .filter(section_attachments::asset_id.eq(asset)),
        )
        .or(diesel::dsl::exists(
            sections::table
                .filter(sections::tenant_id.eq(tenant))
                .filter(sections::video_asset_id.eq(asset)),
        )),
    )
    .get_result(conn)
    .await?;
    if referenced {
        return Ok(Removal::Skip);
    }
    let mut keys = vec![key];
    if upload_expires_at.is_some() {
        keys.push(upload_key(tenant, asset));
    }
    Ok(Removal::DeleteBlobs(keys))
}

/// Marks `ids` (READY assets of `tenant`) DELETE_PENDING with `reason` and queues the removal of
/// their blobs and rows, as [`delete`] does: for files the caller found orphaned (assignment
/// files never submitted). Returns how many were marked.
pub async fn remove_assets(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    ids: &[Uuid],
    reason: &str,
    now: DateTime<Utc>,
) -> Result<usize, LearningError> {
    if ids.is_empty() {
        return Ok(0);
    }
    let marked: Vec<Uuid> = diesel::update(
        media_assets::table
            .filter(media_assets::tenant_id.eq(tenant))
            .filter(media_assets::id.eq_any(ids))
            .filter(media_assets::status.eq("READY")),
    )
    .set((
        media_assets::status.eq("DELETE_PENDING"),
        media_assets::failure_reason.eq(reason),
        media_assets::updated_at.eq(now),
    ))
    .returning(media_assets::id)
    .get_results(conn)
    .await?;
    for asset_id in &marked {
        guild_db::jobs::enqueue(
            conn,
            Some(guild_kernel::TenantId(tenant)),
            &RemoveAssetBlob {
                asset_id: *asset_id,
            },
        )
        .await?;
    }
    Ok(marked.len())
}

/// The upload sweep's first step in `tenant`: direct uploads still PROCESSING when their URL
/// expired were abandoned; they become DELETE_PENDING (`upload_abandoned`) and their blobs (the
/// staging one included) and rows are removed by [`RemoveAssetBlob`]. Returns how many.
pub async fn abandon_uploads(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    now: DateTime<Utc>,
) -> Result<usize, LearningError> {
    let abandoned: Vec<Uuid> = diesel::update(
        media_assets::table
            .filter(media_assets::tenant_id.eq(tenant))
            .filter(media_assets::upload_expires_at.lt(now))
            .filter(media_assets::status.eq("PROCESSING")),
    )
    .set((
        media_assets::status.eq("DELETE_PENDING"),
        media_assets::failure_reason.eq("upload_abandoned"),
        media_assets::updated_at.eq(now),
    ))
    .returning(media_assets::id)
    .get_results(conn)
    .await?;
    for asset_id in &abandoned {
        guild_db::jobs::enqueue(
            conn,
            Some(guild_kernel::TenantId(tenant)),
            &RemoveAssetBlob {
                asset_id: *asset_id,
            },
        )
        .await?;
    }
    Ok(abandoned.len())
}

/// The upload sweep's second step: direct uploads past their URL's life that are no longer
/// PROCESSING, as `(asset, staging key)`, at most `limit`. The caller deletes each staging blob
/// and then calls [`forget_upload_urls`].
pub async fn expired_upload_keys(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<(Uuid, String)>, LearningError> {
    let ids: Vec<Uuid> = media_assets::table
        .filter(media_assets::tenant_id.eq(tenant))
        .filter(media_assets::upload_expires_at.lt(now))
        .filter(media_assets::status.ne("PROCESSING"))
        .select(media_assets::id)
        .order(media_assets::upload_expires_at)
        .limit(limit)
        .load(conn)
        .await?;
    Ok(ids
        .into_iter()
        .map(|id| (id, upload_key(tenant, id)))
        .collect())
}

/// Records that the staging blobs of `ids` are gone: the sweep will not visit them again.
pub async fn forget_upload_urls(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    ids: &[Uuid],
) -> Result<(), LearningError> {
    diesel::update(
        media_assets::table
            .filter(media_assets::tenant_id.eq(tenant))
            .filter(media_assets::id.eq_any(ids))
            .filter(media_assets::status.ne("PROCESSING")),
    )
    .set(media_assets::upload_expires_at.eq(None::<DateTime<Utc>>))
    .execute(conn)
    .await?;
    Ok(())
}

/// The removal job's last step: the blob is gone (`Ok`), so the row goes; or it could not be
/// deleted and this was the last try, so the asset is DELETE_FAILED.
pub async fn finish_removal(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    asset: AssetId,
    blob: &Result<(), BlobError>,
    now: DateTime<Utc>,
) -> Result<(), LearningError> {
    let asset = asset.into_uuid();
    match blob {
        Ok(()) => {
            diesel::delete(
                media_assets::table
                    .find((tenant, asset))
                    .filter(media_assets::status.eq_any(["DELETE_PENDING", "DELETE_FAILED"])),
            )
            .execute(conn)
            .await?;
        }
        Err(err) => {
            diesel::update(media_assets::table.find((tenant, asset)))
                .set((
                    media_assets::status.eq("DELETE_FAILED"),
                    media_assets::failure_reason.eq(err.to_string()),
                    media_assets::updated_at.eq(now),
                ))
                .execute(conn)
                .await?;
        }
    }
    Ok(())
}

/// Where to read an asset the actor may download: managers of the library, and anyone who can
/// see a section using it. Returns the asset (READY only).
pub async fn downloadable(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: AssetId,
) -> Result<Asset, LearningError> {
    let id = id.into_uuid();
    let asset = find(conn, actor, id).await?;
    if asset.status != AssetStatus::Ready {
        return Err(LearningError::AssetNotReady);
    }
    if check_author(actor).is_ok() {
        return Ok(asset);
    }
    for (_, usage) in where_used(conn, actor, &[id]).await? {
        if visible(conn, actor, usage.module_id).await.is_ok() {
            return Ok(asset);
        }
    }
    Err(LearningError::AssetNotFound)
}

async fn section_in(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: Uuid,
    section: Uuid,
) -> Result<(), LearningError> {
    let found: bool = diesel::select(diesel::dsl::exists(
        sections::table
            .filter(sections::tenant_id.eq(actor.tenant_id.into_uuid()))
            .filter(sections::module_id.eq(module))
            .filter(sections::id.eq(section)),
    ))
    .get_result(conn)
    .await?;
    if found {
        Ok(())
    } else {
        Err(LearningError::SectionNotFound)
    }
}

/// A section's attachments, in the order they were added, a page at a time.
pub async fn attachments(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: Uuid,
    section: SectionId,
    page: &PageRequest,
) -> Result<Page<Attachment>, LearningError> {
    let section = section.into_uuid();
    visible(conn, actor, module).await?;
    section_in(conn, actor, module, section).await?;
    let limit = page.limit();
    let mut query = section_attachments::table
        .inner_join(
            media_assets::table.on(media_assets::tenant_id
                .eq(section_attachments::tenant_id)
                .and(media_assets::id.eq(section_attachments::asset_id))),
        )
        .filter(section_attachments::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(section_attachments::section_id.eq(section))
        .order(section_attachments::id)
        .limit(i64::from(limit) + 1)
        .select((
            section_attachments::id,
            section_attachments::section_id,
            section_attachments::title,
            Asset::as_select(),
        ))
        .into_boxed();
    if let Some(cursor) = page.cursor().map_err(|_| LearningError::bad_cursor())? {
        let after: Uuid = cursor.0.parse().map_err(|_| LearningError::bad_cursor())?;
        query = query.filter(section_attachments::id.gt(after));
    }
    let rows: Vec<(Uuid, Uuid, String, Asset)> = query.load(conn).await?;
    let rows = rows
        .into_iter()
        .map(|(id, section_id, title, asset)| Attachment {
            id,
            section_id,
            title,
            asset,
        })
        .collect();
    Ok(Page::from_overfetch(rows, limit, |a: &Attachment| {
        a.id.to_string()
    }))
}

/// Attaches a READY asset to a section (once per section).
pub async fn attach(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: Uuid,
    section: SectionId,
    asset: AssetId,
    title: Option<String>,
    now: DateTime<Utc>,
) -> Result<Attachment, LearningError> {
    let asset = asset.into_uuid();
    let section = section.into_uuid();
    editable(conn, actor, module).await?;
    section_in(conn, actor, module, section).await?;
    let found = find(conn, actor, asset).await?;
    if found.status != AssetStatus::Ready {
        return Err(LearningError::AssetNotReady);
    }
    let title = title.unwrap_or_else(|| found.title.clone());
    let id = Uuid::now_v7();
    diesel::insert_into(section_attachments::table)
        .values((
            section_attachments::tenant_id.eq(actor.tenant_id.into_uuid()),
            section_attachments::id.eq(id),
            section_attachments::section_id.eq(section),
            section_attachments::asset_id.eq(asset),
            section_attachments::title.eq(&title),
        ))
        .execute(conn)
        .await
        .map_err(|e| match guild_db::DbError::from(e) {
            guild_db::DbError::UniqueViolation { .. } => LearningError::AlreadyAttached,
            other => LearningError::Db(other),
        })?;
    crate::versions::touch(conn, actor, module, now).await?;
    crate::audit(
        conn,
        actor,
        "ATTACHMENT_ADDED",
        "section",
        section,
        serde_json::json!({ "module_id": module, "asset_id": asset, "attachment_id": id }),
    )
    .await?;
    Ok(Attachment {
        id,
        section_id: section,
        title,
        asset: found,
    })
}

/// Removes an attachment (the asset stays in the library).
pub async fn detach(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: Uuid,
    section: SectionId,
    attachment: Uuid,
    now: DateTime<Utc>,
) -> Result<(), LearningError> {
    let section = section.into_uuid();
    editable(conn, actor, module).await?;
    section_in(conn, actor, module, section).await?;
    let removed = diesel::delete(
        section_attachments::table
            .find((actor.tenant_id.into_uuid(), attachment))
            .filter(section_attachments::section_id.eq(section)),
    )
    .execute(conn)
    .await?;
    if removed == 0 {
        return Err(LearningError::AttachmentNotFound);
    }
    crate::versions::touch(conn, actor, module, now).await?;
    crate::audit(
        conn,
        actor,
        "ATTACHMENT_REMOVED",
        "section",
        section,
        serde_json::json!({ "module_id": module, "attachment_id": attachment }),
    )
    .await
}

/// Checks an uploaded video (`video_source` UPLOAD): `reference` is a READY VIDEO asset's id.
pub(crate) async fn video_asset(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    reference: &str,
) -> Result<Uuid, LearningError> {
    let invalid = || {
        LearningError::invalid(
            "video_ref",
            "invalid_video",
            "must be the id of a READY video in the media library",
        )
    };
    let id: Uuid = reference.parse().map_err(|_| invalid())?;
    let asset = find(conn, actor, id).await.map_err(|_| invalid())?;
    if asset.kind != AssetKind::Video || asset.status != AssetStatus::Ready {
        return Err(invalid());
    }
    Ok(id)
}
