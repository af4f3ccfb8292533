//! The media library through the API: uploads with types found in the bytes, direct uploads
//! to local storage and to a real S3 server (moto), signed downloads, attachments, where-used,
//! and deletion with the blob removed by the worker.

use std::sync::Arc;

use diesel_async::RunQueryDsl;

use actix_web::http::Method;
use guild_tests::{MotoS3, Reply, TestApp, assert_problem, count, http_call, id};
use serde_json::{Value, json};

const PDF: &[u8] =
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <</Type /Catalog>> endobj\ntrailer <<>>\n%%EOF\n";
const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
const MP4: &[u8] = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2\0\0\0\x08free";

/// The path and query of a URL the default local store signed.
fn local_path(url: &str) -> String {
    url.strip_prefix("http://localhost:8080")
        .unwrap_or(url)
        .to_owned()
}

/// A published module "Safety" with one attachment section "Rules"; returns both ids.
async fn published_module_with_section(app: &TestApp, token: &str) -> (String, String) {
    let section = json!({ "title": "Rules", "kind": "ATTACHMENT" });
    let ids = app
        .module_with_section(token, json!({ "title": "Safety" }), section)
        .await;
    app.publish(token, &ids.0).await;
    ids
}

#[actix_web::test]
async fn uploads_are_typed_by_their_bytes_and_sized_by_their_kind() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;

    let pdf = app
        .upload("/v1/media", &owner, "Rules.PDF", PDF, Some("House rules"))
        .await;
    assert_eq!(pdf.status, 201, "{}", pdf.text);
    assert_eq!(pdf.json["kind"], "DOCUMENT");
    assert_eq!(pdf.json["status"], "READY");
    assert_eq!(pdf.json["content_type"], "application/pdf");
    assert_eq!(pdf.json["title"], "House rules");
    assert_eq!(pdf.json["size_bytes"], PDF.len());

    // A PNG named .pdf, a text file, an empty file, an oversized image.
    let forged = app
        .upload("/v1/media", &owner, "invoice.pdf", PNG, None)
        .await;
    assert_problem(&forged, 422, "file_type_mismatch");
    let text = app
        .upload("/v1/media", &owner, "notes.pdf", b"just some text", None)
        .await;
    assert_problem(&text, 422, "unsupported_file_type");
    let mut huge = PNG.to_vec();
    huge.resize(11 * 1024 * 1024, 0);
    let too_big = app
        .upload("/v1/media", &owner, "poster.png", &huge, None)
        .await;
    assert_problem(&too_big, 413, "file_too_large");
    let mut over_inline = MP4.to_vec();
    over_inline.resize(26 * 1024 * 1024, 0);
    let inline = app
        .upload("/v1/media", &owner, "talk.mp4", &over_inline, None)
        .await;
    assert_problem(&inline, 413, "file_too_large");
    let no_file = app
        .request(Method::POST, "/v1/media")
        .token(&owner)
        .header("content-type", "multipart/form-data; boundary=x")
        .payload(
            "--x\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nNo file\r\n--x--\r\n",
        )
        .await;
    assert_problem(&no_file, 422, "validation_failed");
    let not_multipart = app.post("/v1/media", &owner, json!({ "file": "x" })).await;
    assert_eq!(not_multipart.status, 400, "{}", not_multipart.text);

    // Employees do not manage the library; other tenants do not see it.
    let denied = app.upload("/v1/media", &ann, "rules.pdf", PDF, None).await;
    assert_problem(&denied, 403, "forbidden");
    let listed = app.get("/v1/media?kind=DOCUMENT", &owner).await;
    assert_eq!(listed.json["data"].as_array().map(Vec::len), Some(1));
    let other = app.owner("other").await;
    let pdf_id = id(&pdf.json);
    assert_problem(
        &app.get(&format!("/v1/media/{pdf_id}"), &other).await,
        404,
        "asset_not_found",
    );
    assert_problem(
        &app.get(&format!("/v1/media/{pdf_id}/download"), &other)
            .await,
        404,
        "asset_not_found",
    );
    assert_eq!(app.get("/v1/media", &other).await.json["data"], json!([]));
}

#[actix_web::test]
async fn shared_assets_are_downloaded_by_signed_links_and_deleted_only_when_forced() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    app.open_catalog(&owner).await;
    let pdf = id(&app
        .upload("/v1/media", &owner, "rules.pdf", PDF, None)
        .await
        .json);
    let video = app
        .upload("/v1/media", &owner, "intro.mp4", MP4, None)
        .await;
    assert_eq!(video.json["kind"], "VIDEO", "{}", video.text);
    let video = id(&video.json);
    let (module, section) = published_module_with_section(&app, &owner).await;

    // Before it is attached, Ann cannot download it.
    assert_problem(
        &app.get(&format!("/v1/media/{pdf}/download"), &ann).await,
        404,
        "asset_not_found",
    );
    let attachments = format!("/v1/modules/{module}/sections/{section}/attachments");
    let attached = app
        .post(&attachments, &owner, json!({ "asset_id": pdf }))
        .await;
    assert_eq!(attached.status, 201, "{}", attached.text);
    assert_problem(
        &app.post(&attachments, &owner, json!({ "asset_id": pdf }))
            .await,
        409,
        "already_attached",
    );
    // The same asset is shared by a second section, and the video is an uploaded video.
    let second = id(&app.post(&format!("/v1/modules/{module}/sections"), &owner, json!({ "title": "Video", "kind": "VIDEO", "video": { "source": "UPLOAD", "reference": video } }))
        .await.json);
    assert!(!second.is_empty());
    let bad_video = app
        .post(
            &format!("/v1/modules/{module}/sections"),
            &owner,
            json!({ "title": "Bad", "video": { "source": "UPLOAD", "reference": pdf } }),
        )
        .await;
    assert_problem(&bad_video, 422, "validation_failed");
    app.post(
        &format!("/v1/modules/{module}/sections/{second}/attachments"),
        &owner,
        json!({ "asset_id": pdf, "title": "Rules again" }),
    )
    .await;

    let listed = app.get(&attachments, &ann).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.json["data"][0]["asset"]["id"], pdf.as_str());
    let link = app.get(&format!("/v1/media/{pdf}/download"), &ann).await;
    assert_eq!(link.status, 200, "{}", link.text);
    let url = link.json["url"].as_str().unwrap_or_default().to_owned();
    let path = local_path(&url);
    let fetched = app.request(Method::GET, &path).await;
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.header("content-type"), Some("application/pdf"));
    assert_eq!(fetched.body, PDF);
    let tampered = path.replace("sig=", "sig=00");
    assert_problem(
        &app.request(Method::GET, &tampered).await,
        403,
        "invalid_signature",
    );

    // Where used: two attachments; deleting is refused without force.
    let detail = app.get(&format!("/v1/media/{pdf}"), &owner).await;
    let usages = detail.json["where_used"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(usages.len(), 2, "{}", detail.text);
    let video_detail = app.get(&format!("/v1/media/{video}"), &owner).await;
    assert_eq!(video_detail.json["where_used"][0]["usage"], "VIDEO");
    assert_problem(
        &app.delete(&format!("/v1/media/{pdf}"), &owner).await,
        409,
        "asset_in_use",
    );
    let forced = app
        .delete(&format!("/v1/media/{pdf}?force=true"), &owner)
        .await;
    assert_eq!(forced.status, 202, "{}", forced.text);
    assert_eq!(forced.json["status"], "DELETE_PENDING");
    assert_eq!(
        app.get(&attachments, &ann).await.json,
        json!({ "data": [], "next_cursor": null })
    );
    // Not downloadable any more, and the worker removes the blob and the row.
    assert_problem(
        &app.get(&format!("/v1/media/{pdf}/download"), &owner).await,
        409,
        "asset_not_ready",
    );
    app.run_worker().await;
    assert_problem(
        &app.get(&format!("/v1/media/{pdf}"), &owner).await,
        404,
        "asset_not_found",
    );
    assert_problem(
        &app.request(Method::GET, &path).await,
        404,
        "blob_not_found",
    );

    // A bulk delete of the video (forced: a section plays it) is audited as one action.
    let bulk = app
        .post(
            "/v1/media/bulk-delete",
            &owner,
            json!({ "ids": [video], "force": true }),
        )
        .await;
    assert_eq!(bulk.status, 202, "{}", bulk.text);
    let sections = app
        .get(&format!("/v1/modules/{module}/sections"), &owner)
        .await;
    assert!(
        sections.json["data"].as_array().is_some_and(
            |list| !list.is_empty() && list.iter().all(|s| s["video_source"].is_null())
        ),
        "{}",
        sections.text
    );
    let actions = app.get("/v1/audit-log?limit=50", &owner).await;
    let names: Vec<&str> = actions.json["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for expected in ["ASSET_UPLOADED", "ATTACHMENT_ADDED", "ASSET_DELETED"] {
        assert!(names.contains(&expected), "{expected} missing: {names:?}");
    }
    // A single-id bulk delete audits as a single deletion.
    assert!(names.iter().filter(|n| **n == "ASSET_DELETED").count() >= 2);
}

async fn direct_upload(
    app: &TestApp,
    token: &str,
    file_name: &str,
    size: usize,
) -> (String, Value) {
    let started = app
        .post(
            "/v1/media/uploads",
            token,
            json!({ "file_name": file_name, "size_bytes": size }),
        )
        .await;
    assert_eq!(started.status, 201, "{}", started.text);
    assert_eq!(started.json["asset"]["status"], "PROCESSING");
    assert_eq!(started.json["upload"]["method"], "PUT");
    (
        started.json["asset"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        started.json["upload"].clone(),
    )
}

fn upload_headers(upload: &Value) -> Vec<(String, String)> {
    upload["headers"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect()
}

#[actix_web::test]
async fn direct_uploads_to_local_storage_are_checked_on_completion() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let too_big = app
        .post(
            "/v1/media/uploads",
            &owner,
            json!({ "file_name": "talk.mp4", "size_bytes": 3_000_000_000_u64 }),
        )
        .await;
    assert_problem(&too_big, 413, "file_too_large");

    let mut video = MP4.to_vec();
    video.resize(3 * 1024 * 1024, 7);
    let (id, upload) = direct_upload(&app, &owner, "talk.mp4", video.len()).await;
    let stored = put_local(&app, &upload, &video).await;
    assert_eq!(stored.status, 200, "{}", stored.text);
    let done = app
        .post(&format!("/v1/media/{id}/complete"), &owner, json!({}))
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.json["status"], "READY");
    assert_eq!(done.json["size_bytes"], video.len());
    assert_eq!(done.json["content_type"], "video/mp4");

    // A PNG sent for a .pdf: the asset FAILS and the blob is removed.
    let (forged, upload) = direct_upload(&app, &owner, "contract.pdf", PNG.len()).await;
    assert_eq!(put_local(&app, &upload, PNG).await.status, 200);
    let refused = app
        .post(&format!("/v1/media/{forged}/complete"), &owner, json!({}))
        .await;
    assert_problem(&refused, 422, "file_type_mismatch");
    let failed = app.get(&format!("/v1/media/{forged}"), &owner).await;
    assert_eq!(failed.json["status"], "FAILED");
    assert_eq!(failed.json["failure_reason"], "file_type_mismatch");

    // A body over the signed maximum is refused by the store; completing with nothing uploaded
    // fails, and the upload URL is dead from then on.
    let (missing, upload) = direct_upload(&app, &owner, "empty.pdf", 100).await;
    let oversized = put_local(&app, &upload, &[b'%'; 500]).await;
    assert_problem(&oversized, 413, "file_too_large");
    assert_problem(
        &app.post(&format!("/v1/media/{missing}/complete"), &owner, json!({}))
            .await,
        422,
        "upload_missing",
    );
    assert_problem(
        &put_local(&app, &upload, PDF).await,
        409,
        "upload_completed",
    );
}

#[actix_web::test]
async fn direct_uploads_and_downloads_work_against_a_real_s3_server() {
    let s3 = MotoS3::start().await;
    let store = Arc::new(
        guild_integrations::storage::S3BlobStore::new(s3.config.clone()).expect("an S3 store"),
    );
    let app = TestApp::with(|state| {
        state.blobs = store;
        state.local_blobs = None;
    })
    .await;
    let owner = app.owner("acme").await;

    // Inline upload, then a signed download straight from S3.
    let pdf = id(&app
        .upload("/v1/media", &owner, "rules.pdf", PDF, None)
        .await
        .json);
    let link = app.get(&format!("/v1/media/{pdf}/download"), &owner).await;
    assert_eq!(link.status, 200, "{}", link.text);
    let (status, body) = http_call(
        "GET",
        link.json["url"].as_str().unwrap_or_default(),
        &[],
        b"",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body, PDF);
    // The local store's routes are off with S3.
    assert_eq!(
        app.request(Method::GET, "/blobs/x?expires=1&sig=00")
            .await
            .status,
        404
    );

    // Direct upload through a presigned PUT URL.
    let mut image = PNG.to_vec();
    image.resize(200_000, 1);
    let (id, upload) = direct_upload(&app, &owner, "poster.png", image.len()).await;
    let (status, _) = http_call(
        "PUT",
        upload["url"].as_str().unwrap_or_default(),
        &upload_headers(&upload),
        &image,
    )
    .await;
    assert_eq!(status, 200);
    let done = app
        .post(&format!("/v1/media/{id}/complete"), &owner, json!({}))
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.json["status"], "READY");
    assert_eq!(done.json["kind"], "IMAGE");

    // Deleting removes the object from the bucket.
    let deleted = app.delete(&format!("/v1/media/{id}"), &owner).await;
    assert_eq!(deleted.status, 202, "{}", deleted.text);
    app.run_worker().await;
    let key = format!(
        "tenants/{}/assets/{id}",
        guild_tests::id(&app.get("/v1/tenant", &owner).await.json)
    );
    let store = guild_integrations::storage::S3BlobStore::new(s3.config.clone()).expect("store");
    assert!(matches!(
        guild_kernel::ports::BlobStore::head(&store, &key).await,
        Err(guild_kernel::ports::BlobError::NotFound)
    ));
}

/// A local store whose deletes always fail, as when the storage backend is down.
#[derive(Debug)]
struct UndeletableStore(guild_integrations::storage::LocalBlobStore);

impl guild_kernel::ports::BlobStore for UndeletableStore {
    fn put<'a>(
        &'a self,
        key: &'a str,
        bytes: Vec<u8>,
        content_type: &'a str,
    ) -> guild_kernel::ports::BoxFuture<'a, Result<(), guild_kernel::ports::BlobError>> {
        self.0.put(key, bytes, content_type)
    }
    fn get<'a>(
        &'a self,
        key: &'a str,
    ) -> guild_kernel::ports::BoxFuture<'a, Result<Vec<u8>, guild_kernel::ports::BlobError>> {
        self.0.get(key)
    }
    fn head<'a>(
        &'a self,
        key: &'a str,
    ) -> guild_kernel::ports::BoxFuture<
        'a,
        Result<guild_kernel::ports::BlobMeta, guild_kernel::ports::BlobError>,
    > {
        self.0.head(key)
    }
    fn delete<'a>(
        &'a self,
        _key: &'a str,
    ) -> guild_kernel::ports::BoxFuture<'a, Result<(), guild_kernel::ports::BlobError>> {
        Box::pin(async {
            Err(guild_kernel::ports::BlobError::Unavailable(
                "storage is down".to_owned(),
            ))
        })
    }
    fn signed_get_url<'a>(
        &'a self,
        key: &'a str,
        expires_in: std::time::Duration,
    ) -> guild_kernel::ports::BoxFuture<'a, Result<String, guild_kernel::ports::BlobError>> {
        self.0.signed_get_url(key, expires_in)
    }
}

#[actix_web::test]
async fn a_blob_that_cannot_be_removed_leaves_the_asset_delete_failed_after_the_last_retry() {
    let app = TestApp::with(|state| {
        let local = state.local_blobs.clone().expect("the default local store");
        state.blobs = Arc::new(UndeletableStore(local));
    })
    .await;
    let owner = app.owner("acme").await;
    let pdf = id(&app
        .upload("/v1/media", &owner, "rules.pdf", PDF, None)
        .await
        .json);
    let deleted = app.delete(&format!("/v1/media/{pdf}"), &owner).await;
    assert_eq!(deleted.status, 202, "{}", deleted.text);
    app.run_worker().await;
    // Retried with backoff: still pending after the first failure.
    let pending = app.get(&format!("/v1/media/{pdf}"), &owner).await;
    assert_eq!(pending.json["status"], "DELETE_PENDING", "{}", pending.text);
    // Fast-forward to the last attempt.
    diesel::sql_query(
        "UPDATE jobs SET available_at = now(), attempts = max_attempts - 1 \
         WHERE kind = 'media.remove_blob'",
    )
    .execute(&mut app.db.conn().await)
    .await
    .expect("fast-forward the job");
    app.run_worker().await;
    let failed = app.get(&format!("/v1/media/{pdf}"), &owner).await;
    assert_eq!(failed.json["status"], "DELETE_FAILED", "{}", failed.text);
    assert!(
        failed.json["failure_reason"]
            .as_str()
            .is_some_and(|r| r.contains("storage is down")),
        "{}",
        failed.text
    );
}

#[actix_web::test]
async fn a_member_who_may_not_upload_is_refused_before_the_body_is_read() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    // Over the inline limit: read first, this would be 413; refused first, it is 403.
    let mut big = PDF.to_vec();
    big.resize(26 * 1024 * 1024, b' ');
    let refused = app.upload("/v1/media", &ann, "rules.pdf", &big, None).await;
    assert_problem(&refused, 403, "forbidden");
    // Not even a well-formed body is needed to be refused.
    let garbage = app
        .request(Method::POST, "/v1/media")
        .token(&ann)
        .header("content-type", "multipart/form-data; boundary=x")
        .payload("not multipart at all")
        .await;
    assert_problem(&garbage, 403, "forbidden");
}

async fn put_local(app: &TestApp, upload: &Value, bytes: &[u8]) -> Reply {
    let uri = local_path(upload["url"].as_str().unwrap_or_default());
    upload_headers(upload)
        .iter()
        .fold(app.request(Method::PUT, &uri), |put, (name, value)| {
            put.header(name, value)
        })
        .payload(bytes.to_vec())
        .await
}

async fn download(app: &TestApp, token: &str, id: &str) -> Vec<u8> {
    let link = app.get(&format!("/v1/media/{id}/download"), token).await;
    assert_eq!(link.status, 200, "{}", link.text);
    let url = link.json["url"].as_str().unwrap_or_default();
    if url.starts_with("http://localhost:8080") {
        let fetched = app.request(Method::GET, &local_path(url)).await;
        assert_eq!(fetched.status, 200);
        fetched.body
    } else {
        let (status, body) = http_call("GET", url, &[], b"").await;
        assert_eq!(status, 200);
        body
    }
}

#[actix_web::test]
async fn a_completed_direct_upload_cannot_be_swapped_through_its_upload_url() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let (id, upload) = direct_upload(&app, &owner, "rules.pdf", PDF.len()).await;
    assert!(
        upload["url"]
            .as_str()
            .is_some_and(|u| u.contains("/uploads/")),
        "{upload}"
    );
    assert_eq!(put_local(&app, &upload, PDF).await.status, 200);
    let done = app
        .post(&format!("/v1/media/{id}/complete"), &owner, json!({}))
        .await;
    assert_eq!(done.json["status"], "READY", "{}", done.text);
    // The URL still has most of its hour, but the upload is sealed.
    let mut swapped = PNG.to_vec();
    swapped.resize(PDF.len(), 0);
    let again = put_local(&app, &upload, &swapped).await;
    assert_problem(&again, 409, "upload_completed");
    assert_eq!(download(&app, &owner, &id).await, PDF);
}

#[actix_web::test]
async fn a_completed_direct_upload_to_s3_serves_the_checked_file_whatever_is_put_after() {
    let s3 = MotoS3::start().await;
    let store = Arc::new(
        guild_integrations::storage::S3BlobStore::new(s3.config.clone()).expect("an S3 store"),
    );
    let app = TestApp::with(|state| {
        state.blobs = store;
        state.local_blobs = None;
    })
    .await;
    let owner = app.owner("acme").await;
    let (id, upload) = direct_upload(&app, &owner, "rules.pdf", PDF.len()).await;
    let url = upload["url"].as_str().unwrap_or_default().to_owned();
    let headers = upload_headers(&upload);
    assert_eq!(http_call("PUT", &url, &headers, PDF).await.0, 200);
    let done = app
        .post(&format!("/v1/media/{id}/complete"), &owner, json!({}))
        .await;
    assert_eq!(done.json["status"], "READY", "{}", done.text);
    let mut swapped = PNG.to_vec();
    swapped.resize(PDF.len(), 0);
    // S3 takes the PUT (the URL is valid), but it lands beside the sealed file, not on it.
    assert_eq!(http_call("PUT", &url, &headers, &swapped).await.0, 200);
    assert_eq!(download(&app, &owner, &id).await, PDF);
}

#[actix_web::test]
async fn abandoned_direct_uploads_are_removed_by_the_upload_sweep_once_their_url_expired() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let tenant = id(&app.get("/v1/tenant", &owner).await.json);
    let (abandoned, upload) = direct_upload(&app, &owner, "talk.pdf", PDF.len()).await;
    assert_eq!(put_local(&app, &upload, PDF).await.status, 200);
    let (fresh, _) = direct_upload(&app, &owner, "fresh.pdf", PDF.len()).await;
    let (done, upload) = direct_upload(&app, &owner, "done.pdf", PDF.len()).await;
    assert_eq!(put_local(&app, &upload, PDF).await.status, 200);
    let completed = app
        .post(&format!("/v1/media/{done}/complete"), &owner, json!({}))
        .await;
    assert_eq!(completed.json["status"], "READY", "{}", completed.text);
    diesel::sql_query(format!(
        "UPDATE media_assets SET upload_expires_at = now() - interval '1 minute' \
         WHERE id IN ('{abandoned}', '{done}')"
    ))
    .execute(&mut app.db.conn().await)
    .await
    .expect("expire the upload URLs");
    app.queue_job("media.sweep_uploads").await;
    app.run_worker().await;

    assert_problem(
        &app.get(&format!("/v1/media/{abandoned}"), &owner).await,
        404,
        "asset_not_found",
    );
    let staging = format!("tenants/{tenant}/uploads/{abandoned}");
    assert!(matches!(
        app.state.blobs.head(&staging).await,
        Err(guild_kernel::ports::BlobError::NotFound)
    ));
    // The upload whose URL still works waits; the completed one is untouched.
    let waiting = app.get(&format!("/v1/media/{fresh}"), &owner).await;
    assert_eq!(waiting.json["status"], "PROCESSING", "{}", waiting.text);
    assert_eq!(download(&app, &owner, &done).await, PDF);
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) AS n FROM media_assets \
                 WHERE id = '{done}' AND upload_expires_at IS NULL"
            )
        )
        .await,
        1
    );
}
