//! The media library: uploads (inline multipart, or direct to storage through a signed URL),
//! listing with where-used, deletion (refused for used assets unless forced; blobs removed by a
//! job), signed downloads, and section attachments. Also the `/blobs` routes that serve the
//! signed URLs of the local store.

use std::collections::BTreeMap;

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use futures_util::{StreamExt, TryStreamExt};
use guild_kernel::PageRequest;
use guild_kernel::{AssetId, ports::BlobError};
use guild_learning::media::{
    self, Asset, AssetFilter, AssetKind, AssetStatus, NewUpload, Stored, Usage, UsageKind,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, IntoResponses, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::{Ctx, Permitted, Public};
use crate::error::{ApiError, Problem};
use crate::extract::ValidJson;
use crate::routes::common::{AuthErrors, Conflict, InputErrors, NotFound, PageOf, PageParams};
use crate::routes::segment;

/// Registers `/v1/media`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/media")
            .service(upload_media)
            .service(start_media_upload)
            .service(delete_media_in_bulk)
            .service(list_media)
            .service(get_media)
            .service(complete_media_upload)
            .service(delete_media)
            .service(download_media),
    );
}

/// 413 and 503 of uploads.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "documentation only")]
pub(crate) enum UploadErrors {
    /// Larger than the kind allows, or than an inline upload may be.
    #[response(
        status = 413,
        description = "`file_too_large`",
        content_type = "application/problem+json"
    )]
    TooLarge(Problem),
    /// The storage backend failed; retry later.
    #[response(
        status = 503,
        description = "`storage_unavailable`",
        content_type = "application/problem+json"
    )]
    Unavailable(Problem),
}

pub(crate) fn blob_error(err: BlobError) -> ApiError {
    match err {
        BlobError::NotFound => ApiError::new(StatusCode::NOT_FOUND, "blob_not_found")
            .detail("the stored file is missing"),
        BlobError::Rejected(why) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "storage_rejected").detail(why)
        }
        BlobError::Unavailable(why) => {
            tracing::warn!(error = %why, "blob storage unavailable");
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable")
                .detail("file storage is unavailable; retry later")
                .header(header::RETRY_AFTER, HeaderValue::from_static("5"))
        }
    }
}

/// A file in the media library.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AssetDto {
    id: Uuid,
    kind: AssetKind,
    /// PROCESSING until a direct upload is completed.
    status: AssetStatus,
    title: String,
    file_name: String,
    /// Found in the file's bytes once READY.
    content_type: String,
    size_bytes: i64,
    /// Why it FAILED (a problem code) or why its deletion failed.
    failure_reason: Option<String>,
    uploaded_by: Uuid,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Asset> for AssetDto {
    fn from(a: Asset) -> Self {
        Self {
            id: a.id,
            kind: a.kind,
            status: a.status,
            title: a.title,
            file_name: a.file_name,
            content_type: a.content_type,
            size_bytes: a.size_bytes,
            failure_reason: a.failure_reason,
            uploaded_by: a.uploaded_by,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// A section that uses an asset.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UsageDto {
    module_id: Uuid,
    module_title: String,
    section_id: Uuid,
    section_title: String,
    usage: UsageKind,
}

impl From<Usage> for UsageDto {
    fn from(u: Usage) -> Self {
        Self {
            module_id: u.module_id,
            module_title: u.module_title,
            section_id: u.section_id,
            section_title: u.section_title,
            usage: u.usage,
        }
    }
}

/// An asset and where it is used.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AssetDetailDto {
    #[serde(flatten)]
    asset: AssetDto,
    where_used: Vec<UsageDto>,
}

/// The multipart form of an inline upload (at most 25 MiB; larger files use
/// `POST /v1/media/uploads`).
#[derive(Debug, ToSchema)]
// Any other part is 422 `unknown_field`, as in the JSON bodies.
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "documentation only")]
pub(crate) struct UploadForm {
    /// The file, with its name in the part's `filename`. Its type is found from its bytes: PDF,
    /// Word (.docx, .doc), PNG, JPEG, GIF, WebP, MP4, MOV or WebM; the name's extension must
    /// agree. Limits: images 10 MiB, documents 50 MiB, videos 2 GiB.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// A display title, 1 to 200 characters, not blank (default: the file name).
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    title: Option<String>,
}

pub(crate) fn multipart_error(err: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "malformed_multipart").detail(err.to_string())
}

fn too_large_inline() -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "file_too_large").detail(format!(
        "inline uploads may be at most {} bytes; use POST /v1/media/uploads for larger files",
        media::MAX_INLINE_UPLOAD
    ))
}

pub(crate) fn missing_field(field: &str, message: &str) -> ApiError {
    ApiError::validation(vec![crate::error::ProblemField::from(
        guild_kernel::FieldError::new(field, "required", message),
    )])
}

/// Upload a small file to the media library.
///
/// Content authors (MANAGE_ALL_MODULES or MANAGE_OWN_MODULES) send multipart/form-data of at
/// most 25 MiB (413 `file_too_large`; larger files use `POST /v1/media/uploads`). The type is
/// found from the bytes: 422 `unsupported_file_type`, or `file_type_mismatch` when the name's
/// extension disagrees; 400 `malformed_multipart` for a broken form.
#[utoipa::path(
    tag = "media",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = AssetDto, description = "Stored and READY"), AuthErrors, InputErrors, UploadErrors)
)]
#[post("/media")]
pub(crate) async fn upload_media(
    ctx: Ctx<Permitted>,
    mut form: Multipart,
) -> Result<HttpResponse, ApiError> {
    media::check_author(&ctx.actor)?;
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut title: Option<String> = None;
    while let Some(mut field) = form.try_next().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "file" => {
                let file_name = field
                    .content_disposition()
                    .and_then(|cd| cd.get_filename())
                    .map(str::to_owned)
                    .ok_or_else(|| missing_field("file", "the file part needs a filename"))?;
                let mut bytes = Vec::new();
                while let Some(chunk) = field.try_next().await.map_err(multipart_error)? {
                    if (bytes.len() + chunk.len()) as u64 > media::MAX_INLINE_UPLOAD {
                        return Err(too_large_inline());
                    }
                    bytes.extend_from_slice(&chunk);
                }
                file = Some((file_name, bytes));
            }
            "title" => {
                let mut text = Vec::new();
                while let Some(chunk) = field.try_next().await.map_err(multipart_error)? {
                    text.extend_from_slice(&chunk);
                    if text.len() > 1000 {
                        return Err(ApiError::validation(vec![
                            guild_kernel::FieldError::new(
                                "title",
                                "length",
                                "must be 1 to 200 characters",
                            )
                            .into(),
                        ]));
                    }
                }
                title = Some(String::from_utf8(text).map_err(multipart_error)?);
            }
            _ => {
                return Err(ApiError::validation(vec![
                    guild_kernel::FieldError::new(&name, "unknown_field", "unknown form field")
                        .into(),
                ]));
            }
        }
    }
    let (file_name, bytes) = file.ok_or_else(|| missing_field("file", "a file is required"))?;
    let file_type = media::check_inline(&ctx.actor, &file_name, &bytes)?;
    let id = Uuid::now_v7();
    let key = media::blob_key(&ctx.actor, id);
    let upload = NewUpload {
        title,
        file_name,
        size_bytes: bytes.len() as u64,
    };
    ctx.state
        .blobs
        .put(&key, bytes, file_type.mime)
        .await
        .map_err(blob_error)?;
    let stored = ctx
        .write(async |conn| media::create_stored(conn, &ctx.actor, id, &upload, file_type).await)
        .await;
    if stored.is_err()
        && let Err(e) = ctx.state.blobs.delete(&key).await
    {
        tracing::warn!(error = %e, key, "could not remove the blob of a refused upload");
    }
    Ok(HttpResponse::Created().json(AssetDto::from(stored?)))
}

/// A direct upload to start.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "file_name": "harness-inspection.mp4", "title": "Harness inspection", "size_bytes": 73400320 }))]
pub(crate) struct DirectUploadBody {
    /// The file's name, 1 to 255 characters, not blank, without `/`, `\` or control characters;
    /// its extension decides the expected type (checked against the bytes on completion): pdf,
    /// docx, doc, png, jpg, jpeg, gif, webp, mp4, m4v, mov or webm, in any case.
    #[validate(length(min = 1, max = 255))]
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^/\\\x00-\x1f\x7f-\x9f]*[^/\\\s\x00-\x1f\x7f-\x9f][^/\\\x00-\x1f\x7f-\x9f]*\.(?:[Pp][Dd][Ff]|[Dd][Oo][Cc][Xx]?|[Pp][Nn][Gg]|[Jj][Pp][Ee]?[Gg]|[Gg][Ii][Ff]|[Ww][Ee][Bb][Pp]|[Mm][Pp]4|[Mm]4[Vv]|[Mm][Oo][Vv]|[Ww][Ee][Bb][Mm])$"
    )]
    file_name: String,
    /// A display title, 1 to 200 characters, not blank (default: the file name).
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    title: Option<String>,
    /// The file's size in bytes, at least 1: send exactly this many (the upload URL is signed for
    /// it, and the size is checked again on completion). Above the kind's limit (images 10 MiB,
    /// documents 50 MiB, videos 2 GiB) it is 413 `file_too_large`.
    #[validate(range(min = 1))]
    #[schema(minimum = 1)]
    size_bytes: u64,
}

/// Where and how to send the bytes.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SignedUploadDto {
    /// Send the file's bytes here.
    url: String,
    /// With this method (PUT).
    method: String,
    /// And these headers.
    headers: BTreeMap<String, String>,
    expires_at: DateTime<Utc>,
}

/// A started direct upload.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DirectUploadDto {
    /// The PROCESSING asset; complete it with `POST /v1/media/{id}/complete`.
    asset: AssetDto,
    upload: SignedUploadDto,
}

/// Start a direct upload of a large file.
///
/// Content authors get a PROCESSING asset and a signed URL (valid one hour) to PUT the bytes to;
/// then call `POST /v1/media/{id}/complete`, which seals the upload (the URL takes no more
/// files). An upload not completed within the hour is removed. 503 `storage_unavailable` when
/// the storage cannot sign.
#[utoipa::path(
    tag = "media",
    request_body = DirectUploadBody,
    responses((status = 201, body = DirectUploadDto, description = "Upload the bytes, then complete"), AuthErrors, InputErrors, UploadErrors)
)]
#[post("/media/uploads")]
pub(crate) async fn start_media_upload(
    ctx: Ctx<Permitted>,
    body: ValidJson<DirectUploadBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let upload = NewUpload {
        title: body.title,
        file_name: body.file_name,
        size_bytes: body.size_bytes,
    };
    let now = ctx.now;
    let asset = ctx
        .write(async |conn| media::begin_upload(conn, &ctx.actor, &upload, now).await)
        .await?;
    let signed = ctx
        .state
        .blobs
        .signed_put_url(
            &media::upload_key(ctx.actor.tenant_id.into_uuid(), asset.id),
            &asset.content_type,
            body.size_bytes,
            media::UPLOAD_URL_TTL,
        )
        .await
        .map_err(blob_error)?;
    let expires_at = DateTime::from_timestamp(i64::try_from(signed.expires_at).unwrap_or(0), 0)
        .unwrap_or_default();
    Ok(HttpResponse::Created().json(DirectUploadDto {
        asset: AssetDto::from(asset),
        upload: SignedUploadDto {
            url: signed.url,
            method: signed.method.to_owned(),
            headers: signed.headers.into_iter().collect(),
            expires_at,
        },
    }))
}

/// Complete a direct upload.
///
/// The upload is sealed (the upload URL can no longer change the file), then the stored bytes
/// are checked (type from the content, size limit): the asset becomes READY, or FAILED with 422
/// (`upload_missing`, `unsupported_file_type`, `file_type_mismatch`) or 413 `file_too_large` and
/// the blob is removed. Completing a completed upload answers the asset again.
#[utoipa::path(
    tag = "media",
    params(("asset_id" = Uuid, Path, description = "The asset")),
    responses((status = 200, body = AssetDto, description = "READY (or already completed)"), AuthErrors, InputErrors, NotFound, UploadErrors)
)]
#[post("/media/{asset_id}/complete")]
pub(crate) async fn complete_media_upload(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let asset = ctx
        .write(async |conn| media::pending_upload(conn, &ctx.actor, AssetId(id)).await)
        .await?;
    if asset.status != AssetStatus::Processing {
        return Ok(HttpResponse::Ok().json(AssetDto::from(asset)));
    }
    // Sealed before it is read: what is checked is what will be served. Nothing to seal is
    // either no upload, or a completion that sealed and then failed to record (looked up next).
    let staging = media::upload_key(ctx.actor.tenant_id.into_uuid(), asset.id);
    match ctx.state.blobs.seal(&staging, &asset.blob_key).await {
        Ok(()) | Err(BlobError::NotFound) => {}
        Err(e) => return Err(blob_error(e)),
    }
    let stored = match ctx.state.blobs.head(&asset.blob_key).await {
        Ok(meta) => Stored::Found {
            size: meta.size,
            head: ctx
                .state
                .blobs
                .read_prefix(&asset.blob_key, media::SNIFF_LEN)
                .await
                .map_err(blob_error)?,
        },
        Err(BlobError::NotFound) => Stored::Missing,
        Err(e) => return Err(blob_error(e)),
    };
    let (asset, failure) = ctx
        .write(async |conn| {
            media::complete_upload(conn, &ctx.actor, AssetId(id), &stored, ctx.now).await
        })
        .await?;
    if let Some(failure) = failure {
        if matches!(stored, Stored::Found { .. })
            && let Err(e) = ctx.state.blobs.delete(&asset.blob_key).await
        {
            tracing::warn!(error = %e, "could not remove the blob of a failed upload");
        }
        return Err(ApiError::from(failure));
    }
    Ok(HttpResponse::Ok().json(AssetDto::from(asset)))
}

/// Filters of the library.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AssetQuery {
    /// Only this kind.
    kind: Option<AssetKind>,
    /// Only this status.
    status: Option<AssetStatus>,
    /// Title or file name contains this (case-insensitive).
    q: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200, default = 50)]
    #[serde(default, deserialize_with = "crate::routes::common::page_limit")]
    limit: Option<u32>,
    /// The previous page's `next_cursor`.
    #[param(max_length = 1024)]
    cursor: Option<String>,
}

/// List the media library, newest first.
///
/// Content authors (MANAGE_ALL_MODULES or MANAGE_OWN_MODULES), a page at a time; assignment
/// submission files are not listed.
#[utoipa::path(
    tag = "media",
    params(AssetQuery),
    responses((status = 200, body = PageOf<AssetDto>, description = "A page of assets"), AuthErrors, InputErrors)
)]
#[get("/media")]
pub(crate) async fn list_media(
    ctx: Ctx<Permitted>,
    query: web::Query<AssetQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let filter = AssetFilter {
        kind: q.kind,
        status: q.status,
        q: q.q,
    };
    let page = PageRequest::from(&PageParams {
        limit: q.limit,
        cursor: q.cursor,
    });
    let assets = ctx
        .write(async |conn| media::list(conn, &ctx.actor, &filter, &page).await)
        .await?;
    Ok(HttpResponse::Ok().json(PageOf::map(assets, AssetDto::from)))
}

/// Get an asset and the sections that use it.
///
/// Content authors; 404 `asset_not_found` for an asset of no library of yours.
#[utoipa::path(
    tag = "media",
    params(("asset_id" = Uuid, Path, description = "The asset")),
    responses((status = 200, body = AssetDetailDto, description = "The asset"), AuthErrors, NotFound)
)]
#[get("/media/{asset_id}")]
pub(crate) async fn get_media(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let (asset, used) = ctx
        .write(async |conn| media::get(conn, &ctx.actor, AssetId(id)).await)
        .await?;
    Ok(HttpResponse::Ok().json(AssetDetailDto {
        asset: AssetDto::from(asset),
        where_used: used.into_iter().map(UsageDto::from).collect(),
    }))
}

/// Whether to delete used assets.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ForceQuery {
    /// Also remove the attachments and videos that use it (default false: 409 `asset_in_use`).
    #[serde(default)]
    #[param(default = false)]
    force: bool,
}

/// Delete an asset.
///
/// Its uploader or MANAGE_ALL_MODULES. Refused with 409 `asset_in_use` while sections use it,
/// unless `force`. It becomes DELETE_PENDING and its file is removed in the background.
#[utoipa::path(
    tag = "media",
    params(("asset_id" = Uuid, Path, description = "The asset"), ForceQuery),
    responses((status = 202, body = AssetDto, description = "Deletion under way"), AuthErrors, NotFound, Conflict)
)]
#[delete("/media/{asset_id}")]
pub(crate) async fn delete_media(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    query: web::Query<ForceQuery>,
) -> Result<HttpResponse, ApiError> {
    let ids = [path.into_inner()];
    let force = query.force;
    let mut deleted = ctx
        .write(async |conn| media::delete(conn, &ctx.actor, &ids, force, ctx.now).await)
        .await?;
    Ok(HttpResponse::Accepted().json(AssetDto::from(deleted.remove(0))))
}

/// Assets to delete at once.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "ids": ["0190a0b2-7e55-7c3e-9d6b-52f1e1b8c7a0"], "force": false }))]
pub(crate) struct BulkDeleteBody {
    /// 1 to 100 asset ids.
    #[validate(length(min = 1, max = 100))]
    #[schema(min_items = 1, max_items = 100)]
    ids: Vec<Uuid>,
    /// Also remove the attachments and videos that use them (default false).
    #[serde(default)]
    #[schema(default = false)]
    force: bool,
}

/// The assets deleted.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AssetList {
    data: Vec<AssetDto>,
}

/// Delete several assets in one step.
///
/// All or none, with the rights of `DELETE /v1/media/{id}` on each (404 `asset_not_found`, 409
/// `asset_in_use` without `force`); audited as ASSET_BULK_DELETED.
#[utoipa::path(
    tag = "media",
    request_body = BulkDeleteBody,
    responses((status = 202, body = AssetList, description = "Deletion under way"), AuthErrors, InputErrors, NotFound, Conflict)
)]
#[post("/media/bulk-delete")]
pub(crate) async fn delete_media_in_bulk(
    ctx: Ctx<Permitted>,
    body: ValidJson<BulkDeleteBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let deleted = ctx
        .write(async |conn| media::delete(conn, &ctx.actor, &body.ids, body.force, ctx.now).await)
        .await?;
    Ok(HttpResponse::Accepted().json(AssetList {
        data: deleted.into_iter().map(AssetDto::from).collect(),
    }))
}

/// A short-lived download link.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DownloadDto {
    /// GET this (no credentials needed) before it expires.
    pub(crate) url: String,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) file_name: String,
    pub(crate) content_type: String,
}

/// Download an asset: get a signed download URL.
///
/// The URL is valid five minutes and needs no credentials. Content authors, and anyone who can
/// see a section using the asset; 409 `asset_not_ready` for an asset that is not READY, 503
/// `storage_unavailable` when the storage cannot sign.
#[utoipa::path(
    tag = "media",
    params(("asset_id" = Uuid, Path, description = "The asset")),
    responses((status = 200, body = DownloadDto, description = "The link"), AuthErrors, NotFound, Conflict, UploadErrors)
)]
#[get("/media/{asset_id}/download")]
pub(crate) async fn download_media(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let asset = ctx
        .write(async |conn| media::downloadable(conn, &ctx.actor, AssetId(id)).await)
        .await?;
    let url = ctx
        .state
        .blobs
        .signed_get_url(&asset.blob_key, media::DOWNLOAD_URL_TTL)
        .await
        .map_err(blob_error)?;
    let ttl = chrono::Duration::from_std(media::DOWNLOAD_URL_TTL).unwrap_or_default();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(DownloadDto {
            url,
            expires_at: Utc::now() + ttl,
            file_name: asset.file_name,
            content_type: asset.content_type,
        }))
}

// --- The local store's signed URLs ---------------------------------------------------------------

/// The query of a signed blob URL.
#[derive(Debug, Deserialize)]
pub(crate) struct BlobQuery {
    expires: u64,
    sig: String,
    max: Option<u64>,
}

fn upload_sealed() -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "upload_completed")
        .detail("this upload is complete; start a new one to send another file")
}

fn bad_signature() -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "invalid_signature")
        .detail("the link is invalid or has expired")
}

/// Serves a blob of the local store to the holder of a signed GET URL.
pub(crate) async fn serve_blob(
    cx: Public,
    path: web::Path<String>,
    query: web::Query<BlobQuery>,
) -> Result<HttpResponse, ApiError> {
    let store = cx.state.local_blobs.as_ref().ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "route_not_found").detail("no such route")
    })?;
    let key = path.into_inner();
    if query.max.is_some() || !store.verify_signature(&key, query.expires, &query.sig) {
        return Err(bad_signature());
    }
    // Streamed from the file as the client reads: a 2 GiB video never sits in memory.
    let (meta, chunks) = store.read_stream(&key).await.map_err(blob_error)?;
    let body = actix_web::body::SizedStream::new(meta.size, chunks.map_ok(web::Bytes::from));
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, meta.content_type))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "private, max-age=300"))
        .insert_header((header::CONTENT_DISPOSITION, "attachment"))
        .body(body))
}

/// Stores a blob of the local store sent to a signed PUT URL.
pub(crate) async fn receive_blob(
    cx: Public,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<BlobQuery>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let store = cx.state.local_blobs.as_ref().ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "route_not_found").detail("no such route")
    })?;
    let key = path.into_inner();
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let Some(max) = query.max else {
        return Err(bad_signature());
    };
    if !store.verify_put_signature(&key, query.expires, max, &content_type, &query.sig) {
        return Err(bad_signature());
    }
    if store.is_sealed(&key).await.map_err(blob_error)? {
        return Err(upload_sealed());
    }
    let chunks = body.map(|chunk| chunk.map_err(|e| e.to_string()));
    match store.put_stream(&key, &content_type, chunks, max).await {
        Ok(_) => Ok(HttpResponse::Ok().finish()),
        // Completed while the body arrived.
        Err(BlobError::Rejected(_)) if store.is_sealed(&key).await.unwrap_or(false) => {
            Err(upload_sealed())
        }
        Err(BlobError::Rejected(why)) => {
            Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "file_too_large").detail(why))
        }
        Err(e) => Err(blob_error(e)),
    }
}
