//! Blob storage: `LocalBlobStore` in a temp directory, and `S3BlobStore` against real
//! S3-compatible servers on loopback. Nothing is mocked.
//!
//! Two servers, started per test on a free port and killed when the test ends:
//!
//! - moto (`pip install 'moto[server]'`; `make test` installs it), the reference for AWS's error
//!   responses. It does not check signatures, so it cannot tell a tampered URL from a good one.
//! - s3s-fs (`cargo install s3s-fs@0.14.1 --features binary --locked`; `make test` installs it),
//!   started with credentials, so every request must carry a valid SigV4 signature: it proves the
//!   adapter signs correctly, and refuses tampered and expired presigned URLs.
//!
//! Every S3 scenario runs against both. A missing server fails the test, with the fix.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use guild_integrations::IntegrationError;
use guild_integrations::storage::{LocalBlobStore, S3BlobStore, S3Config};
use guild_kernel::ports::{BlobError, BlobMeta, BlobStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const KEY: &str =
    "tenants/0190a0b1-7c2d-7e3f-8a4b-5c6d7e8f9a0b/assets/0190a0b1-7c2d-7e3f-8a4b-000000000001";
const OTHER_KEY: &str =
    "tenants/0190a0b1-7c2d-7e3f-8a4b-5c6d7e8f9a0b/assets/0190a0b1-7c2d-7e3f-8a4b-000000000002";
const SIGNING_KEY: &[u8] = b"local-signing-key-0123456789abcdef-not-for-production";
const BASE_URL: &str = "https://guild.example.com";

const ACCESS_KEY_ID: &str = "GUILDTESTACCESSKEY01";
const SECRET_ACCESS_KEY: &str = "guild-test-secret-Zq8xVw2mPn4rTy6u";
const BUCKET: &str = "guild-test";
const REGION: &str = "us-east-1";

/// Keys every store must refuse.
fn bad_keys() -> Vec<String> {
    let mut keys: Vec<String> = [
        "",
        "/tenants/a/assets/b",
        "tenants/../etc/passwd",
        "..",
        "tenants/./a",
        "tenants//a",
        "tenants/a/",
        "tenants/a b",
        "tenants/a~data",
        "tenants/a?x=1",
        "tenants/a%2Fb",
        "tenants\\a",
        "tenants/é",
        "tenants/a\0",
        "tenants/a|b",
    ]
    .map(str::to_owned)
    .to_vec();
    keys.push("a/".repeat(256) + "b"); // 513 bytes
    keys.push(format!("tenants/{}", "x".repeat(201))); // one segment too long
    keys
}

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_nanos();
        let path = std::env::temp_dir().join(format!(
            "guild-{label}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("create a temp dir");
        Self(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every file under `dir`, relative to it, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.expect("read a directory entry").path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path.strip_prefix(base).expect("under the base");
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// A port on loopback that nothing listens on (at the moment this returns).
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port")
        .port()
}

// --- LocalBlobStore ------------------------------------------------------------------------------

fn local_store(dir: &TempDir) -> LocalBlobStore {
    LocalBlobStore::new(
        dir.path().join("blobs"),
        format!("{BASE_URL}/"),
        SIGNING_KEY.to_vec(),
    )
    .expect("a valid local store configuration")
}

/// The `expires` and `sig` of a local signed URL, after checking its shape.
fn split_local_url(url: &str, key: &str) -> (u64, String) {
    let prefix = format!("{BASE_URL}/blobs/{key}?expires=");
    let rest = url
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{url} does not start with {prefix}"));
    let (expires, sig) = rest
        .split_once("&sig=")
        .unwrap_or_else(|| panic!("no sig in {url}"));
    (expires.parse().expect("numeric expires"), sig.to_owned())
}

#[tokio::test]
async fn local_put_get_head_delete_round_trip() {
    let dir = TempDir::new("blobs");
    let store = local_store(&dir);
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();

    store
        .put(KEY, bytes.clone(), "video/mp4")
        .await
        .expect("stored");
    assert_eq!(store.get(KEY).await.expect("read back"), bytes);
    assert_eq!(
        store.head(KEY).await.expect("described"),
        BlobMeta {
            key: KEY.to_owned(),
            size: 70_000,
            content_type: "video/mp4".to_owned()
        }
    );

    // Replacing changes bytes and type together; an empty blob is a blob.
    store
        .put(KEY, Vec::new(), "text/plain; charset=utf-8")
        .await
        .expect("replaced");
    assert_eq!(store.get(KEY).await.expect("read back"), b"");
    let meta = store.head(KEY).await.expect("described");
    assert_eq!(
        (meta.size, meta.content_type.as_str()),
        (0, "text/plain; charset=utf-8")
    );

    store.delete(KEY).await.expect("deleted");
    assert_eq!(store.get(KEY).await, Err(BlobError::NotFound));
    assert_eq!(store.head(KEY).await, Err(BlobError::NotFound));
    // No temporary or stray files are left behind.
    assert_eq!(files_under(store.root()), Vec::<String>::new());
}

#[tokio::test]
async fn local_keys_that_are_prefixes_of_each_other_coexist() {
    // S3 allows `a` and `a/b` side by side; so must the local store.
    let dir = TempDir::new("blobs");
    let store = local_store(&dir);
    for (key, body) in [
        ("tenants/t", "parent"),
        ("tenants/t/assets/a", "child"),
        ("tenants/t/assets", "middle"),
    ] {
        store
            .put(key, body.as_bytes().to_vec(), "text/plain")
            .await
            .expect(key);
    }
    for (key, body) in [
        ("tenants/t", "parent"),
        ("tenants/t/assets/a", "child"),
        ("tenants/t/assets", "middle"),
    ] {
        assert_eq!(store.get(key).await.expect(key), body.as_bytes(), "{key}");
    }
    // A directory is not a blob.
    assert_eq!(store.get("tenants").await, Err(BlobError::NotFound));
    assert_eq!(store.head("tenants").await, Err(BlobError::NotFound));
}

#[tokio::test]
async fn local_delete_is_idempotent() {
    let dir = TempDir::new("blobs");
    let store = local_store(&dir);
    // Never stored, not even the root directory exists yet.
    store.delete(KEY).await.expect("deleting nothing is fine");
    store
        .put(KEY, b"x".to_vec(), "application/pdf")
        .await
        .expect("stored");
    store
        .put(OTHER_KEY, b"y".to_vec(), "image/png")
        .await
        .expect("stored");
    store.delete(KEY).await.expect("deleted");
    store.delete(KEY).await.expect("deleted again");
    assert_eq!(store.get(KEY).await, Err(BlobError::NotFound));
    // Only the key asked for went away.
    assert_eq!(store.get(OTHER_KEY).await.expect("still there"), b"y");
}

#[tokio::test]
async fn local_bad_keys_and_content_types_are_rejected_without_touching_disk() {
    let dir = TempDir::new("blobs");
    let store = local_store(&dir);
    for key in bad_keys() {
        let rejected = |r: Result<(), BlobError>, op: &str| {
            assert!(
                matches!(&r, Err(BlobError::Rejected(m)) if m.contains("invalid blob key")),
                "{op} {key:?}: {r:?}"
            );
        };
        rejected(store.put(&key, b"x".to_vec(), "text/plain").await, "put");
        rejected(store.get(&key).await.map(drop), "get");
        rejected(store.head(&key).await.map(drop), "head");
        rejected(store.delete(&key).await, "delete");
        rejected(
            store
                .signed_get_url(&key, Duration::from_secs(60))
                .await
                .map(drop),
            "signed_get_url",
        );
        rejected(
            store
                .signed_put_url(&key, "text/plain", 10, Duration::from_secs(60))
                .await
                .map(drop),
            "signed_put_url",
        );
        rejected(store.read_prefix(&key, 10).await.map(drop), "read_prefix");
        rejected(
            store
                .put_stream(&key, "text/plain", chunks(&[b"x"]), 10)
                .await
                .map(drop),
            "put_stream",
        );
        assert!(!store.verify_signature(&key, unix_now() + 60, "00"));
        assert!(!store.verify_put_signature(&key, unix_now() + 60, 10, "text/plain", "00"));
    }
    for content_type in ["", "text/plain\r\nX-Evil: 1", "text/é", &"a".repeat(256)] {
        for (op, r) in [
            ("put", store.put(KEY, b"x".to_vec(), content_type).await),
            (
                "put_stream",
                store
                    .put_stream(KEY, content_type, chunks(&[b"x"]), 10)
                    .await
                    .map(drop),
            ),
            (
                "signed_put_url",
                store
                    .signed_put_url(KEY, content_type, 10, Duration::from_secs(60))
                    .await
                    .map(drop),
            ),
        ] {
            assert!(
                matches!(&r, Err(BlobError::Rejected(m)) if m.contains("content type")),
                "{op} {content_type:?}: {r:?}"
            );
        }
    }
    assert!(!store.root().exists(), "nothing was written");

    // The longest keys allowed work on a real file system.
    let long = format!("{}/{}", "k".repeat(200), "v".repeat(200));
    store
        .put(&long, b"long".to_vec(), "text/plain")
        .await
        .expect("200-byte segments fit");
    assert_eq!(store.get(&long).await.expect("read back"), b"long");
}

#[tokio::test]
async fn local_signed_url_verifies_and_tampering_fails() {
    let dir = TempDir::new("blobs");
    let store = local_store(&dir);
    let before = unix_now();
    let url = store
        .signed_get_url(KEY, Duration::from_secs(300))
        .await
        .expect("signed");
    let (expires, sig) = split_local_url(&url, KEY);
    assert!(
        (before + 300..=unix_now() + 301).contains(&expires),
        "expires {expires}, now {before}"
    );
    assert_eq!(sig.len(), 64, "hex HMAC-SHA256: {sig}");
    assert!(store.verify_signature(KEY, expires, &sig));

    // Any change to key, expiry or signature breaks it.
    let mut flipped = sig.clone().into_bytes();
    flipped[10] = if flipped[10] == b'0' { b'1' } else { b'0' };
    let flipped = String::from_utf8(flipped).expect("ASCII");
    assert!(!store.verify_signature(KEY, expires, &flipped));
    assert!(!store.verify_signature(KEY, expires + 1, &sig));
    assert!(!store.verify_signature(OTHER_KEY, expires, &sig));
    assert!(!store.verify_signature(KEY, expires, &sig[..62]));
    assert!(!store.verify_signature(KEY, expires, ""));
    assert!(!store.verify_signature(KEY, expires, "not hex at all"));

    // Another signing key does not accept it; the same key (a restart) does.
    let other = LocalBlobStore::new(
        dir.path().join("blobs"),
        BASE_URL.to_owned(),
        b"another-signing-key-0123456789abcdef-xxxxxxxx".to_vec(),
    )
    .expect("valid");
    assert!(!other.verify_signature(KEY, expires, &sig));
    let restarted = local_store(&dir);
    assert!(restarted.verify_signature(KEY, expires, &sig));

    // Signed URLs are deterministic for a given expiry.
    assert_eq!(store.signed_url_until(KEY, expires).expect("signed"), url);
}

#[tokio::test]
async fn local_expired_signature_fails() {
    let dir = TempDir::new("blobs");
    let store = local_store(&dir);

    // Correctly signed, but for a moment already past.
    let url = store.signed_url_until(KEY, unix_now() - 1).expect("signed");
    let (expires, sig) = split_local_url(&url, KEY);
    assert!(!store.verify_signature(KEY, expires, &sig));

    // And one that expires while we wait.
    let url = store
        .signed_get_url(KEY, Duration::from_secs(1))
        .await
        .expect("signed");
    let (expires, sig) = split_local_url(&url, KEY);
    assert!(store.verify_signature(KEY, expires, &sig));
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert!(!store.verify_signature(KEY, expires, &sig));
}

#[tokio::test]
async fn signed_url_lifetimes_are_bounded() {
    let dir = TempDir::new("blobs");
    let local = local_store(&dir);
    // Nothing listens here: S3 must refuse before any network call.
    let s3 = S3BlobStore::new(s3_config(free_port(), BUCKET, SECRET_ACCESS_KEY)).expect("valid");
    let stores: [&dyn BlobStore; 2] = [&local, &s3];
    for store in stores {
        for ttl in [
            Duration::ZERO,
            Duration::from_millis(999),
            Duration::from_secs(7 * 24 * 3600 + 1),
        ] {
            let r = store.signed_get_url(KEY, ttl).await;
            assert!(
                matches!(r, Err(BlobError::Rejected(_))),
                "{store:?} {ttl:?}: {r:?}"
            );
            let r = store.signed_put_url(KEY, "image/png", 100, ttl).await;
            assert!(
                matches!(r, Err(BlobError::Rejected(_))),
                "{store:?} put {ttl:?}: {r:?}"
            );
        }
        let week = Duration::from_secs(7 * 24 * 3600);
        store
            .signed_get_url(KEY, week)
            .await
            .expect("7 days is allowed");
        let before = unix_now();
        let upload = store
            .signed_put_url(KEY, "image/png", 100, week)
            .await
            .expect("7 days is allowed");
        assert!(
            (before + 7 * 24 * 3600..=unix_now() + 7 * 24 * 3600).contains(&upload.expires_at),
            "{store:?}: {upload:?}"
        );
        // A fraction of a second rounds up.
        let before = unix_now();
        let upload = store
            .signed_put_url(KEY, "image/png", 100, Duration::from_millis(1500))
            .await
            .expect("1.5 s is allowed");
        assert!(
            (before + 2..=unix_now() + 2).contains(&upload.expires_at),
            "{store:?}: {upload:?}"
        );
    }
}

#[tokio::test]
async fn local_concurrent_writes_leave_one_whole_blob_and_no_temp_files() {
    let dir = TempDir::new("blobs");
    let store = Arc::new(local_store(&dir));
    let mut tasks = Vec::new();
    for i in 0..16u8 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let bytes = vec![i; 1000 + usize::from(i) * 517];
            store
                .put(KEY, bytes, &format!("application/x-writer-{i}"))
                .await
        }));
    }
    for task in tasks {
        task.await.expect("joined").expect("stored");
    }
    let bytes = store.get(KEY).await.expect("read back");
    let meta = store.head(KEY).await.expect("described");
    let writer = bytes[0];
    assert!(bytes.iter().all(|&b| b == writer), "bytes from one writer");
    assert_eq!(bytes.len(), 1000 + usize::from(writer) * 517);
    assert_eq!(meta.size, bytes.len() as u64);
    assert_eq!(meta.content_type, format!("application/x-writer-{writer}"));
    let files = files_under(store.root());
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(files.iter().all(|f| !f.contains("tmp")), "{files:?}");
}

#[tokio::test]
async fn local_storage_failure_is_unavailable() {
    // The root is a regular file, so nothing can be created under it.
    let dir = TempDir::new("blobs");
    let root = dir.path().join("not-a-directory");
    std::fs::write(&root, b"in the way").expect("write a file");
    let store =
        LocalBlobStore::new(root, BASE_URL.to_owned(), SIGNING_KEY.to_vec()).expect("valid");
    let r = store.put(KEY, b"x".to_vec(), "text/plain").await;
    assert!(matches!(r, Err(BlobError::Unavailable(_))), "{r:?}");
    // Reading through a file is just "not there".
    assert_eq!(store.get(KEY).await, Err(BlobError::NotFound));
}

#[test]
fn local_configuration_is_checked_and_debug_hides_the_signing_key() {
    let root = PathBuf::from("/tmp/guild-never-created");
    let cases: [(PathBuf, &str, &[u8]); 5] = [
        (PathBuf::new(), BASE_URL, SIGNING_KEY),
        (root.clone(), "guild.example.com", SIGNING_KEY),
        (root.clone(), "ftp://guild.example.com", SIGNING_KEY),
        (
            root.clone(),
            "https://user:pw@guild.example.com",
            SIGNING_KEY,
        ),
        (root.clone(), BASE_URL, b"too-short-key"),
    ];
    for (root, url, key) in cases {
        let err = LocalBlobStore::new(root, url.to_owned(), key.to_vec()).expect_err(url);
        assert!(
            matches!(err, IntegrationError::Misconfigured { .. }),
            "{url}: {err:?}"
        );
        assert!(!err.to_string().contains("too-short-key"), "{err}");
    }
    let store = LocalBlobStore::new(
        root,
        "http://127.0.0.1:8080/api///".to_owned(),
        SIGNING_KEY.to_vec(),
    )
    .expect("valid");
    let debug = format!("{store:?}");
    assert!(!debug.contains("local-signing-key"), "{debug}");
    assert!(debug.contains("http://127.0.0.1:8080/api\""), "{debug}");
    assert!(
        store
            .signed_url_until(KEY, 1)
            .expect("signed")
            .starts_with(&format!("http://127.0.0.1:8080/api/blobs/{KEY}?"))
    );
}

// --- LocalBlobStore uploads and prefix reads ------------------------------------------------------

/// A request body that yields `parts` and then ends.
fn chunks(
    parts: &[&[u8]],
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> + use<> {
    futures_util::stream::iter(parts.iter().map(|p| Ok(p.to_vec())).collect::<Vec<_>>())
}

/// The `expires`, `max` and `sig` of a local signed upload URL, after checking its shape.
fn split_local_put_url(url: &str, base: &str, key: &str) -> (u64, u64, String) {
    let prefix = format!("{base}/blobs/{key}?");
    let query = url
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{url} does not start with {prefix}"));
    let params: Vec<(&str, &str)> = query
        .split('&')
        .map(|p| p.split_once('=').expect("name=value"))
        .collect();
    let names: Vec<&str> = params.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["expires", "max", "sig"], "{url}");
    (
        params[0].1.parse().expect("numeric expires"),
        params[1].1.parse().expect("numeric max"),
        params[2].1.to_owned(),
    )
}

/// A stand-in for the API's upload route, on loopback: for each `PUT /blobs/{key}?expires=&max=&sig=`
/// it checks the signature against the request's content type with `verify_put_signature` and
/// streams the body into `put_stream`, reading it off the socket as it comes. Answers 200, 403
/// (bad signature) or 413 (over `max`). Returns the base URL; the server ends with the runtime.
async fn serve_local_uploads(dir: &TempDir) -> (String, LocalBlobStore) {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind the upload server");
    let base = format!("http://{}", listener.local_addr().expect("local address"));
    let store = LocalBlobStore::new(dir.path().join("blobs"), base.clone(), SIGNING_KEY.to_vec())
        .expect("valid");
    let server_store = store.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(handle_local_upload(server_store.clone(), socket));
        }
    });
    (base, store)
}

async fn handle_local_upload(store: LocalBlobStore, socket: tokio::net::TcpStream) {
    let (mut reader, mut writer) = socket.into_split();
    // The request head, and whatever part of the body came with it.
    let mut buffer = Vec::new();
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let mut chunk = [0u8; 4096];
        let n = reader.read(&mut chunk).await.expect("read the request");
        assert!(n > 0, "the connection closed inside the request head");
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buffer[..head_end].to_vec()).expect("an ASCII head");
    let early_body = buffer[head_end + 4..].to_vec();
    let header = |name: &str| {
        head.split("\r\n")
            .skip(1)
            .find_map(|line| {
                let (n, v) = line.split_once(':')?;
                n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
            })
            .unwrap_or_default()
    };
    let content_type = header("content-type");
    let length: usize = header("content-length").parse().expect("a content length");
    let target = head
        .split("\r\n")
        .next()
        .and_then(|line| line.strip_prefix("PUT "))
        .and_then(|rest| rest.strip_suffix(" HTTP/1.1"))
        .expect("a PUT request line");
    let (path, _) = target.split_once('?').expect("a query");
    let key = path.strip_prefix("/blobs/").expect("a blob path");
    let number = |name: &str| query_param(target, name).parse::<u64>().unwrap_or(0);
    let (expires, max, sig) = (number("expires"), number("max"), query_param(target, "sig"));

    // The body: what came with the head, then the socket, up to the content length.
    let body = futures_util::stream::unfold(
        (reader, early_body, length),
        |(mut reader, early, remaining)| async move {
            if remaining == 0 {
                return None;
            }
            if !early.is_empty() {
                let n = early.len().min(remaining);
                let chunk = early[..n].to_vec();
                return Some((Ok(chunk), (reader, Vec::new(), remaining - n)));
            }
            let mut chunk = vec![0u8; 8192.min(remaining)];
            match reader.read(&mut chunk).await {
                Ok(0) => Some((
                    Err("the connection closed mid-body".to_owned()),
                    (reader, Vec::new(), 0),
                )),
                Ok(n) => {
                    chunk.truncate(n);
                    Some((Ok(chunk), (reader, Vec::new(), remaining - n)))
                }
                Err(e) => Some((Err(e.to_string()), (reader, Vec::new(), 0))),
            }
        },
    );
    // Fused: drained below after `put_stream` may have read it to the end.
    let mut body = std::pin::pin!(body.fuse());
    let status = if store.verify_put_signature(key, expires, max, &content_type, sig) {
        match store
            .put_stream(key, &content_type, body.as_mut(), max)
            .await
        {
            Ok(_) => "200 OK",
            Err(BlobError::Rejected(m)) if m.contains("larger than") => "413 Payload Too Large",
            Err(e) => panic!("put_stream: {e:?}"),
        }
    } else {
        "403 Forbidden"
    };
    // Drain what is left, so closing does not reset the connection under the response.
    while body.next().await.is_some() {}
    let response = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    writer
        .write_all(response.as_bytes())
        .await
        .expect("send the response");
    writer.shutdown().await.expect("close the connection");
}

#[tokio::test]
async fn local_signed_put_url_uploads_over_http() {
    let dir = TempDir::new("blobs");
    let (base, store) = serve_local_uploads(&dir).await;
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    let before = unix_now();
    let upload = store
        .signed_put_url(KEY, "video/mp4", 250_000, Duration::from_secs(300))
        .await
        .expect("signed");
    assert_eq!(upload.method, "PUT");
    assert_eq!(
        upload.headers,
        [("content-type".to_owned(), "video/mp4".to_owned())]
    );
    assert!(
        (before + 300..=unix_now() + 300).contains(&upload.expires_at),
        "{upload:?}"
    );
    let (expires, max, sig) = split_local_put_url(&upload.url, &base, KEY);
    assert_eq!((expires, max, sig.len()), (upload.expires_at, 250_000, 64));
    assert!(store.verify_put_signature(KEY, expires, max, "video/mp4", &sig));

    let (status, _) = http_request("PUT", &upload.url, &upload.headers, &bytes).await;
    assert_eq!(status, 200);
    assert_eq!(store.get(KEY).await.expect("stored"), bytes);
    assert_eq!(
        store.head(KEY).await.expect("described"),
        BlobMeta {
            key: KEY.to_owned(),
            size: 200_000,
            content_type: "video/mp4".to_owned(),
        }
    );

    // The same URL with another content type, a raised limit or another key is refused, and
    // changes nothing.
    let other_type = [("content-type".to_owned(), "text/html".to_owned())];
    let refused = [
        (upload.url.clone(), &other_type[..]),
        (
            with_query_param(&upload.url, "max", "250001"),
            &upload.headers[..],
        ),
        (upload.url.replace(KEY, OTHER_KEY), &upload.headers[..]),
        (
            with_query_param(&upload.url, "expires", &(expires + 60).to_string()),
            &upload.headers[..],
        ),
    ];
    for (url, headers) in refused {
        let (status, _) = http_request("PUT", &url, headers, b"<script>").await;
        assert_eq!(status, 403, "{url} {headers:?}");
    }
    assert_eq!(store.get(KEY).await.expect("unchanged"), bytes);
    assert_eq!(store.get(OTHER_KEY).await, Err(BlobError::NotFound));

    // A body over the signed limit is refused, and the blob stays as it was.
    let small = store
        .signed_put_url(KEY, "image/png", 1000, Duration::from_secs(300))
        .await
        .expect("signed");
    let (status, _) = http_request("PUT", &small.url, &small.headers, &[7u8; 1001]).await;
    assert_eq!(status, 413);
    assert_eq!(store.get(KEY).await.expect("unchanged"), bytes);
    let (status, _) = http_request("PUT", &small.url, &small.headers, &[7u8; 1000]).await;
    assert_eq!(status, 200, "exactly the limit is fine");
    assert_eq!(
        store.head(KEY).await.expect("replaced"),
        BlobMeta {
            key: KEY.to_owned(),
            size: 1000,
            content_type: "image/png".to_owned(),
        }
    );
    let files = files_under(store.root());
    assert_eq!(files.len(), 2, "no temporary files: {files:?}");
}

#[tokio::test]
async fn local_put_signature_tampering_and_expiry_fail() {
    let dir = TempDir::new("blobs");
    let store = local_store(&dir);
    let upload = store
        .signed_put_url(KEY, "application/pdf", 5_000_000, Duration::from_secs(300))
        .await
        .expect("signed");
    let (expires, max, sig) = split_local_put_url(&upload.url, BASE_URL, KEY);
    assert!(store.verify_put_signature(KEY, expires, max, "application/pdf", &sig));

    let mut flipped = sig.clone().into_bytes();
    flipped[7] = if flipped[7] == b'0' { b'1' } else { b'0' };
    let flipped = String::from_utf8(flipped).expect("ASCII");
    let pdf = "application/pdf";
    for (key, expires, max, content_type, sig) in [
        (KEY, expires, max, pdf, flipped.as_str()),
        (KEY, expires, max, pdf, &sig[..62]),
        (KEY, expires, max, pdf, ""),
        (KEY, expires, max, pdf, "not hex at all"),
        (OTHER_KEY, expires, max, pdf, &sig),
        (KEY, expires + 1, max, pdf, &sig),
        (KEY, expires, max + 1, pdf, &sig),
        (KEY, expires, 0, pdf, &sig),
        (KEY, expires, max, "application/pdf ", &sig),
        (KEY, expires, max, "text/html", &sig),
        (KEY, expires, max, "", &sig),
    ] {
        assert!(
            !store.verify_put_signature(key, expires, max, content_type, sig),
            "{key} {expires} {max} {content_type:?} {sig}"
        );
    }

    // Another signing key refuses it; the same key after a restart accepts it.
    let other = LocalBlobStore::new(
        dir.path().join("blobs"),
        BASE_URL.to_owned(),
        b"another-signing-key-0123456789abcdef-xxxxxxxx".to_vec(),
    )
    .expect("valid");
    assert!(!other.verify_put_signature(KEY, expires, max, pdf, &sig));
    assert!(local_store(&dir).verify_put_signature(KEY, expires, max, pdf, &sig));
    // Deterministic for a given expiry.
    assert_eq!(
        store
            .signed_put_url_until(KEY, pdf, max, expires)
            .expect("signed"),
        upload
    );

    // Correctly signed, but already past.
    let past = store
        .signed_put_url_until(KEY, pdf, max, unix_now() - 1)
        .expect("signed");
    let (expires, max, sig) = split_local_put_url(&past.url, BASE_URL, KEY);
    assert!(!store.verify_put_signature(KEY, expires, max, pdf, &sig));
    // And one that expires while we wait.
    let short = store
        .signed_put_url(KEY, pdf, 10, Duration::from_secs(1))
        .await
        .expect("signed");
    let (expires, max, sig) = split_local_put_url(&short.url, BASE_URL, KEY);
    assert!(store.verify_put_signature(KEY, expires, max, pdf, &sig));
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert!(!store.verify_put_signature(KEY, expires, max, pdf, &sig));
    assert!(!store.root().exists(), "signing touches no files");
}

#[tokio::test]
async fn local_get_and_put_signatures_are_not_interchangeable() {
    let dir = TempDir::new("blobs");
    let store = local_store(&dir);
    let expires = unix_now() + 300;
    // Keys that look like the start of an upload message, too.
    for key in [KEY, "PUT", "PUT/x"] {
        let get = store.signed_url_until(key, expires).expect("signed");
        let (_, get_sig) = split_local_url(&get, key);
        let put = store
            .signed_put_url_until(key, "text/plain", 0, expires)
            .expect("signed");
        let (_, _, put_sig) = split_local_put_url(&put.url, BASE_URL, key);
        assert!(store.verify_signature(key, expires, &get_sig));
        assert!(store.verify_put_signature(key, expires, 0, "text/plain", &put_sig));
        assert!(!store.verify_signature(key, expires, &put_sig), "{key}");
        for max in [0, 1, expires] {
            for content_type in ["text/plain", "application/octet-stream"] {
                assert!(
                    !store.verify_put_signature(key, expires, max, content_type, &get_sig),
                    "{key} {max} {content_type}"
                );
            }
        }
    }
}

#[tokio::test]
async fn local_put_stream_stores_chunks_and_refuses_a_body_over_max() {
    let dir = TempDir::new("blobs");
    let store = local_store(&dir);

    // Chunks arrive as they come; an empty chunk and an empty body are fine.
    let size = store
        .put_stream(
            KEY,
            "text/plain",
            chunks(&[b"hello ", b"", b"streamed ", b"world"]),
            20,
        )
        .await
        .expect("stored");
    assert_eq!(size, 20);
    assert_eq!(
        store.get(KEY).await.expect("read back"),
        b"hello streamed world"
    );
    let size = store
        .put_stream(OTHER_KEY, "application/x-empty", chunks(&[]), 0)
        .await
        .expect("stored");
    assert_eq!(size, 0);
    assert_eq!(store.head(OTHER_KEY).await.expect("described").size, 0);

    // One byte over: refused, the blob already there untouched, no temporary file left.
    let r = store
        .put_stream(
            KEY,
            "image/png",
            chunks(&[b"0123456789", b"01234567890"]),
            20,
        )
        .await;
    assert!(
        matches!(&r, Err(BlobError::Rejected(m)) if m.contains("larger than 20")),
        "{r:?}"
    );
    assert_eq!(
        store.get(KEY).await.expect("unchanged"),
        b"hello streamed world"
    );
    assert_eq!(
        store.head(KEY).await.expect("unchanged").content_type,
        "text/plain"
    );

    // A new key: nothing is stored at all.
    let third = format!("{KEY}-3");
    let r = store
        .put_stream(&third, "image/png", chunks(&[&[1u8; 21]]), 20)
        .await;
    assert!(matches!(r, Err(BlobError::Rejected(_))), "{r:?}");
    assert_eq!(store.head(&third).await, Err(BlobError::NotFound));

    // It stops reading as soon as the limit is crossed, not at the end of the body.
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&pulled);
    let endless = futures_util::stream::repeat_with(|| Ok::<_, std::io::Error>(vec![9u8; 1000]))
        .inspect(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        });
    let r = store.put_stream(&third, "image/png", endless, 2500).await;
    assert!(matches!(r, Err(BlobError::Rejected(_))), "{r:?}");
    assert_eq!(pulled.load(Ordering::Relaxed), 3);

    // A body that fails midway is refused too, and leaves nothing.
    let failing =
        futures_util::stream::iter([Ok(b"partial".to_vec()), Err("connection reset by peer")]);
    let r = store.put_stream(&third, "image/png", failing, 100).await;
    assert!(
        matches!(&r, Err(BlobError::Rejected(m)) if m.contains("connection reset by peer")),
        "{r:?}"
    );
    assert_eq!(store.head(&third).await, Err(BlobError::NotFound));

    let files = files_under(store.root());
    let expected: Vec<String> = [
        format!("{KEY}~data"),
        format!("{KEY}~type"),
        format!("{OTHER_KEY}~data"),
        format!("{OTHER_KEY}~type"),
    ]
    .into_iter()
    .collect();
    assert_eq!(files, expected);
}

/// `read_prefix` on `store`: long, short and empty blobs, and a missing one.
async fn check_read_prefix(store: &dyn BlobStore) {
    let long: Vec<u8> = (0..100_000u32).map(|i| (i % 241) as u8).collect();
    store
        .put(KEY, long.clone(), "video/mp4")
        .await
        .expect("stored");
    for len in [1, 16, 4096, 99_999, 100_000] {
        assert_eq!(
            store.read_prefix(KEY, len).await.expect("prefix"),
            long[..len],
            "{store:?} {len}"
        );
    }
    assert_eq!(
        store.read_prefix(KEY, 1_000_000).await.expect("prefix"),
        long,
        "{store:?}: longer than the blob"
    );
    assert_eq!(
        store.read_prefix(KEY, 0).await.expect("prefix"),
        b"",
        "{store:?}"
    );

    store
        .put(OTHER_KEY, b"%PDF-".to_vec(), "application/pdf")
        .await
        .expect("stored");
    assert_eq!(
        store.read_prefix(OTHER_KEY, 4096).await.expect("prefix"),
        b"%PDF-",
        "{store:?}"
    );
    store
        .put(OTHER_KEY, Vec::new(), "application/pdf")
        .await
        .expect("stored");
    for len in [0, 1, 4096] {
        assert_eq!(
            store.read_prefix(OTHER_KEY, len).await.expect("prefix"),
            b"",
            "{store:?}: empty blob, {len}"
        );
    }

    let missing = format!("{KEY}-missing");
    for len in [0, 1, 4096] {
        assert_eq!(
            store.read_prefix(&missing, len).await,
            Err(BlobError::NotFound),
            "{store:?} {len}"
        );
    }
}

#[tokio::test]
async fn local_read_prefix_reads_only_the_start() {
    let dir = TempDir::new("blobs");
    let store = local_store(&dir);
    check_read_prefix(&store).await;
    // A directory is not a blob.
    assert_eq!(
        store.read_prefix("tenants", 10).await,
        Err(BlobError::NotFound)
    );
}

#[tokio::test]
async fn the_local_store_streams_a_blob_in_bounded_chunks_as_it_was_when_opened() {
    let dir = TempDir::new("blobs");
    let store = local_store(&dir);
    let bytes: Vec<u8> = (0..=250u8).cycle().take(1_000_003).collect();
    store
        .put(KEY, bytes.clone(), "video/mp4")
        .await
        .expect("stored");
    let (meta, chunks) = store.read_stream(KEY).await.expect("opened");
    assert_eq!(
        (meta.size, meta.content_type.as_str()),
        (1_000_003, "video/mp4")
    );
    // Replaced while the download runs: the reader keeps the file it opened.
    store
        .put(KEY, b"new".to_vec(), "text/plain")
        .await
        .expect("replaced");
    let chunks: Vec<Vec<u8>> = chunks
        .map(|c| c.expect("a chunk"))
        .collect::<Vec<_>>()
        .await;
    assert!(chunks.len() > 1, "one chunk of {} bytes", bytes.len());
    assert!(
        chunks
            .iter()
            .all(|c| !c.is_empty() && c.len() <= guild_integrations::storage::READ_CHUNK),
        "chunks of {:?} bytes",
        chunks.iter().map(Vec::len).collect::<Vec<_>>()
    );
    assert_eq!(chunks.concat(), bytes);
    assert!(matches!(
        store.read_stream(OTHER_KEY).await,
        Err(BlobError::NotFound)
    ));
}

/// `seal` moves a blob with its content type and answers NotFound when there is none.
async fn check_seal(store: &dyn BlobStore) {
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    store
        .put(OTHER_KEY, bytes.clone(), "application/pdf")
        .await
        .expect("uploaded");
    store.seal(OTHER_KEY, KEY).await.expect("sealed");
    assert_eq!(store.get(KEY).await.expect("moved"), bytes);
    assert_eq!(
        store.head(KEY).await.expect("described").content_type,
        "application/pdf"
    );
    assert_eq!(store.head(OTHER_KEY).await, Err(BlobError::NotFound));
    assert_eq!(store.seal(OTHER_KEY, KEY).await, Err(BlobError::NotFound));
    assert_eq!(store.get(KEY).await.expect("still there"), bytes);
}

#[tokio::test]
async fn the_local_store_seals_an_upload_and_refuses_further_writes_to_its_key() {
    let dir = TempDir::new("blobs");
    let store = local_store(&dir);
    check_seal(&store).await;
    assert_eq!(store.is_sealed(OTHER_KEY).await, Ok(true));
    assert_eq!(store.is_sealed(KEY).await, Ok(false));
    // Neither a put nor a streamed upload reaches the sealed key again.
    assert!(matches!(
        store.put(OTHER_KEY, b"swap".to_vec(), "image/png").await,
        Err(BlobError::Rejected(_))
    ));
    let body = futures_util::stream::iter([Ok::<_, String>(b"swap".to_vec())]);
    assert!(matches!(
        store.put_stream(OTHER_KEY, "image/png", body, 100).await,
        Err(BlobError::Rejected(_))
    ));
    assert_eq!(store.head(OTHER_KEY).await, Err(BlobError::NotFound));
}

#[tokio::test]
async fn the_local_store_seals_a_key_nothing_was_uploaded_to() {
    // A completion before any upload: the staging directory was never made. Nothing to move is
    // NotFound (not an unavailable store), and the key is sealed all the same.
    let dir = TempDir::new("blobs");
    let store = local_store(&dir);
    let staging =
        "tenants/0190a0b1-7c2d-7e3f-8a4b-5c6d7e8f9a0b/uploads/0190a0b1-7c2d-7e3f-8a4b-000000000003";
    assert_eq!(store.seal(staging, KEY).await, Err(BlobError::NotFound));
    assert_eq!(store.is_sealed(staging).await, Ok(true));
    assert!(matches!(
        store.put(staging, b"late".to_vec(), "image/png").await,
        Err(BlobError::Rejected(_))
    ));
}

// --- S3 servers ----------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    /// moto: AWS-shaped responses, no signature checks.
    Moto,
    /// s3s-fs with credentials: checks every signature.
    S3sFs,
}

/// An S3-compatible server on 127.0.0.1, killed (and its data removed) on drop.
struct S3Server {
    kind: Server,
    child: Child,
    port: u16,
    dir: TempDir,
}

/// Fails the test, with the fix, when moto (or Python) is missing.
fn require_moto() {
    const FIX: &str =
        "run `make test` (which installs it) or `python3 -m pip install 'moto[server]'`";
    match Command::new("python3")
        .args(["-c", "import moto.server"])
        .output()
    {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let reason = stderr.lines().last().unwrap_or("no error output");
            panic!("the S3 tests need the Python package moto[server] ({reason}): {FIX}")
        }
        Err(e) => panic!(
            "the S3 tests need python3 with moto[server], but python3 did not run ({e}): {FIX}"
        ),
    }
}

/// The s3s-fs binary: on PATH, else in cargo's bin directory. Fails the test, with the fix.
fn s3s_fs_binary() -> PathBuf {
    const FIX: &str = "run `make test` (which installs it) or `cargo install s3s-fs@0.14.1 --features binary --locked`";
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|home| home.join("bin"));
    let path_dirs = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    path_dirs
        .into_iter()
        .chain(cargo_bin)
        .map(|dir| dir.join("s3s-fs"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("the S3 tests need the s3s-fs server, found neither on PATH nor in cargo's bin directory: {FIX}"))
}

impl S3Server {
    /// Starts the server and creates [`BUCKET`] through the SDK.
    async fn start(kind: Server) -> Self {
        let dir = TempDir::new("s3");
        let log = std::fs::File::create(dir.path().join("server.log")).expect("create the log");
        let port = free_port();
        let mut command = match kind {
            Server::Moto => {
                require_moto();
                let mut c = Command::new("python3");
                c.args(["-m", "moto.server", "-H", "127.0.0.1", "-p"])
                    .arg(port.to_string())
                    .env("PYTHONDONTWRITEBYTECODE", "1");
                c
            }
            Server::S3sFs => {
                let data = dir.path().join("data");
                std::fs::create_dir_all(&data).expect("create the data dir");
                let mut c = Command::new(s3s_fs_binary());
                c.args(["--host", "127.0.0.1", "--port"])
                    .arg(port.to_string())
                    .args([
                        "--access-key",
                        ACCESS_KEY_ID,
                        "--secret-key",
                        SECRET_ACCESS_KEY,
                    ])
                    .arg(data)
                    .env("RUST_LOG", "s3s=info");
                c
            }
        };
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {kind:?}: {e}; run `make test`"));
        let mut server = Self {
            kind,
            child,
            port,
            dir,
        };
        server.wait_until_listening(Duration::from_secs(30));
        server
            .store(BUCKET)
            .client()
            .create_bucket()
            .bucket(BUCKET)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "{kind:?}: create_bucket failed: {}\nserver log:\n{}",
                    aws_sdk_s3_error(&e),
                    server.log()
                )
            });
        server
    }

    fn wait_until_listening(&mut self, limit: Duration) {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll the server") {
                panic!(
                    "{:?} exited ({status}) before listening; run `make test`:\n{}",
                    self.kind,
                    self.log()
                );
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{:?} did not listen on {addr} within {limit:?}:\n{}",
                self.kind,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// A store on `bucket` with the right credentials.
    fn store(&self, bucket: &str) -> S3BlobStore {
        self.store_with_secret(bucket, SECRET_ACCESS_KEY)
    }

    fn store_with_secret(&self, bucket: &str, secret: &str) -> S3BlobStore {
        S3BlobStore::new(s3_config(self.port, bucket, secret)).expect("a valid S3 configuration")
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn s3_config(port: u16, bucket: &str, secret: &str) -> S3Config {
    S3Config {
        endpoint: Some(format!("http://127.0.0.1:{port}")),
        region: REGION.to_owned(),
        bucket: bucket.to_owned(),
        access_key_id: ACCESS_KEY_ID.to_owned(),
        secret_access_key: secret.to_owned(),
        path_style: true,
    }
}

fn aws_sdk_s3_error<E: std::error::Error + 'static>(e: &E) -> String {
    aws_sdk_s3::error::DisplayErrorContext(e).to_string()
}

/// A plain HTTP/1.1 GET of `url` (`http://host:port/path?query`) over a TCP socket: what a
/// browser holding a signed URL does, with no SDK and no credentials. Returns status and body.
async fn http_get(url: &str) -> (u16, Vec<u8>) {
    http_request("GET", url, &[], &[]).await
}

/// A plain HTTP/1.1 request over a TCP socket, as a browser sends a signed upload: `method` to
/// `url` (`http://host:port/path?query`) with `headers` and `body`. Returns status and body.
async fn http_request(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> (u16, Vec<u8>) {
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("not an http:// URL: {url}"));
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let fetch = async {
        let mut stream = tokio::net::TcpStream::connect(host)
            .await
            .expect("connect to the server");
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAccept: */*\r\nConnection: close\r\n"
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        if method != "GET" {
            request.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        request.push_str("\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .expect("send the request");
        stream.write_all(body).await.expect("send the body");
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .await
            .expect("read the response");
        response
    };
    let response = tokio::time::timeout(Duration::from_secs(10), fetch)
        .await
        .unwrap_or_else(|_| panic!("the {method} finished within 10 s"));
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response head");
    let head = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
    let body = &response[split + 4..];
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    let body = if head.contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.to_vec()
    };
    (status, body)
}

/// Decodes a `Transfer-Encoding: chunked` body.
fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a chunk size line");
        let size_text = String::from_utf8_lossy(&body[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .expect("a hex chunk size");
        body = &body[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

/// Replaces the value of query parameter `name` in `url` with `value`.
fn with_query_param(url: &str, name: &str, value: &str) -> String {
    let (base, query) = url.split_once('?').expect("a query string");
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if k == name => format!("{k}={value}"),
            _ => pair.to_owned(),
        })
        .collect();
    assert!(
        query.iter().any(|p| p.starts_with(&format!("{name}="))),
        "{url} has no {name}"
    );
    format!("{base}?{}", query.join("&"))
}

fn query_param<'u>(url: &'u str, name: &str) -> &'u str {
    url.split_once('?')
        .expect("a query string")
        .1
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("{url} has no {name}"))
}

// --- S3 scenarios, run against each server --------------------------------------------------------

async fn s3_round_trip(kind: Server) {
    let server = S3Server::start(kind).await;
    let store = server.store(BUCKET);
    store.ping().await.expect("the bucket is reachable");

    let bytes: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    store
        .put(KEY, bytes.clone(), "video/mp4")
        .await
        .expect("stored");
    assert_eq!(store.get(KEY).await.expect("read back"), bytes);
    assert_eq!(
        store.head(KEY).await.expect("described"),
        BlobMeta {
            key: KEY.to_owned(),
            size: 300_000,
            content_type: "video/mp4".to_owned(),
        }
    );

    // Replace with a small text blob; a second key stays apart.
    store
        .put(KEY, b"hello".to_vec(), "text/plain; charset=utf-8")
        .await
        .expect("replaced");
    store
        .put(OTHER_KEY, Vec::new(), "application/pdf")
        .await
        .expect("stored");
    assert_eq!(store.get(KEY).await.expect("read back"), b"hello");
    let meta = store.head(KEY).await.expect("described");
    assert_eq!(
        (meta.size, meta.content_type.as_str()),
        (5, "text/plain; charset=utf-8")
    );
    assert_eq!(store.get(OTHER_KEY).await.expect("read back"), b"");
    assert_eq!(store.head(OTHER_KEY).await.expect("described").size, 0);
}

async fn s3_missing_key_is_not_found(kind: Server) {
    let server = S3Server::start(kind).await;
    let store = server.store(BUCKET);
    assert_eq!(store.get(KEY).await, Err(BlobError::NotFound));
    assert_eq!(store.head(KEY).await, Err(BlobError::NotFound));
}

async fn s3_delete_is_idempotent(kind: Server) {
    let server = S3Server::start(kind).await;
    let store = server.store(BUCKET);
    store.delete(KEY).await.expect("deleting nothing is fine");
    store
        .put(KEY, b"x".to_vec(), "image/png")
        .await
        .expect("stored");
    store
        .put(OTHER_KEY, b"y".to_vec(), "image/png")
        .await
        .expect("stored");
    store.delete(KEY).await.expect("deleted");
    store.delete(KEY).await.expect("deleted again");
    assert_eq!(store.get(KEY).await, Err(BlobError::NotFound));
    assert_eq!(store.head(KEY).await, Err(BlobError::NotFound));
    assert_eq!(store.get(OTHER_KEY).await.expect("untouched"), b"y");
}

async fn s3_presigned_url_downloads_with_plain_http(kind: Server) {
    let server = S3Server::start(kind).await;
    let store = server.store(BUCKET);
    let bytes: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
    store
        .put(KEY, bytes.clone(), "audio/mpeg")
        .await
        .expect("stored");

    let url = store
        .signed_get_url(KEY, Duration::from_secs(600))
        .await
        .expect("presigned");
    assert!(
        url.starts_with(&format!("http://127.0.0.1:{}/{BUCKET}/{KEY}?", server.port)),
        "{url}"
    );
    assert_eq!(query_param(&url, "X-Amz-Expires"), "600");
    assert!(!url.contains(SECRET_ACCESS_KEY));

    let (status, body) = http_get(&url).await;
    assert_eq!(
        status,
        200,
        "{}\nserver log:\n{}",
        String::from_utf8_lossy(&body),
        server.log()
    );
    assert_eq!(body, bytes);

    // A URL for a missing key is signed fine and answers 404.
    let missing = store
        .signed_get_url(OTHER_KEY, Duration::from_secs(600))
        .await
        .expect("presigned");
    assert_eq!(http_get(&missing).await.0, 404);
}

/// Only s3s-fs checks signatures, so only it can refuse tampered and expired URLs.
async fn s3_tampered_or_expired_presigned_url_is_refused(kind: Server) {
    let server = S3Server::start(kind).await;
    let store = server.store(BUCKET);
    store
        .put(KEY, b"secret lesson video".to_vec(), "video/mp4")
        .await
        .expect("stored");
    let url = store
        .signed_get_url(KEY, Duration::from_secs(600))
        .await
        .expect("presigned");
    assert_eq!(http_get(&url).await, (200, b"secret lesson video".to_vec()));

    let sig = query_param(&url, "X-Amz-Signature");
    let mut tampered_sig = sig.to_owned().into_bytes();
    tampered_sig[0] = if tampered_sig[0] == b'a' { b'b' } else { b'a' };
    let tampered_sig = String::from_utf8(tampered_sig).expect("ASCII");
    for tampered in [
        with_query_param(&url, "X-Amz-Signature", &tampered_sig),
        // A longer life than was signed.
        with_query_param(&url, "X-Amz-Expires", "604800"),
        // Another key with the same signature.
        url.replace(KEY, OTHER_KEY),
    ] {
        let (status, body) = http_get(&tampered).await;
        assert_eq!(
            status,
            403,
            "{tampered}: {}",
            String::from_utf8_lossy(&body)
        );
        assert!(
            !body.windows(6).any(|w| w == b"secret"),
            "no content leaked"
        );
    }

    let short = store
        .signed_get_url(KEY, Duration::from_secs(1))
        .await
        .expect("presigned");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, body) = http_get(&short).await;
    assert_eq!(status, 403, "expired: {}", String::from_utf8_lossy(&body));
}

async fn s3_missing_bucket_is_unavailable(kind: Server) {
    let server = S3Server::start(kind).await;
    let store = server.store("no-such-bucket");
    let err = store.ping().await.expect_err("no bucket");
    let IntegrationError::Unavailable { service, message } = &err else {
        panic!("ping: expected Unavailable, got {err:?}");
    };
    assert_eq!(*service, "s3");
    assert!(message.contains("no-such-bucket"), "{message}");
    // s3s-fs answers NoSuchKey for an object in a missing bucket and creates the bucket's
    // directory on a put; S3 (and moto) answer NoSuchBucket, which is a configuration problem,
    // not a missing blob.
    if kind == Server::Moto {
        let r = store.get(KEY).await;
        let Err(BlobError::Unavailable(message)) = &r else {
            panic!("get: expected Unavailable, got {r:?}");
        };
        assert!(message.contains("no-such-bucket"), "{message}");
        let r = store.put(KEY, b"x".to_vec(), "text/plain").await;
        assert!(matches!(r, Err(BlobError::Unavailable(_))), "put: {r:?}");
    }
}

async fn s3_presigned_put_uploads_with_plain_http(kind: Server) {
    let server = S3Server::start(kind).await;
    let store = server.store(BUCKET);
    let bytes: Vec<u8> = (0..120_000u32).map(|i| (i % 239) as u8).collect();
    let before = unix_now();
    let upload = store
        .signed_put_url(KEY, "video/mp4", 120_000, Duration::from_secs(600))
        .await
        .expect("presigned");
    assert_eq!(upload.method, "PUT");
    assert!(
        upload
            .url
            .starts_with(&format!("http://127.0.0.1:{}/{BUCKET}/{KEY}?", server.port)),
        "{upload:?}"
    );
    assert_eq!(query_param(&upload.url, "X-Amz-Expires"), "600");
    for signed in ["content-type", "content-length"] {
        assert!(
            query_param(&upload.url, "X-Amz-SignedHeaders")
                .split("%3B")
                .any(|h| h == signed),
            "{signed}: {upload:?}"
        );
    }
    assert_eq!(
        upload.headers,
        [("content-type".to_owned(), "video/mp4".to_owned())]
    );
    assert!(
        (before + 600..=unix_now() + 600).contains(&upload.expires_at),
        "{upload:?}"
    );
    assert!(!upload.url.contains(SECRET_ACCESS_KEY));

    let (status, body) = http_request("PUT", &upload.url, &upload.headers, &bytes).await;
    assert_eq!(
        status,
        200,
        "{}\nserver log:\n{}",
        String::from_utf8_lossy(&body),
        server.log()
    );
    assert_eq!(store.get(KEY).await.expect("uploaded"), bytes);
    assert_eq!(
        store.head(KEY).await.expect("described"),
        BlobMeta {
            key: KEY.to_owned(),
            size: 120_000,
            content_type: "video/mp4".to_owned(),
        }
    );

    // An empty upload is an empty blob.
    let empty = store
        .signed_put_url(OTHER_KEY, "text/plain", 0, Duration::from_secs(60))
        .await
        .expect("presigned");
    let (status, body) = http_request("PUT", &empty.url, &empty.headers, &[]).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let meta = store.head(OTHER_KEY).await.expect("described");
    assert_eq!((meta.size, meta.content_type.as_str()), (0, "text/plain"));
}

/// Only s3s-fs checks signatures, so only it can refuse tampered and expired upload URLs.
async fn s3_tampered_or_expired_presigned_put_is_refused(kind: Server) {
    let server = S3Server::start(kind).await;
    let store = server.store(BUCKET);
    let upload = store
        .signed_put_url(KEY, "image/png", 1_000, Duration::from_secs(600))
        .await
        .expect("presigned");

    let sig = query_param(&upload.url, "X-Amz-Signature");
    let mut tampered_sig = sig.to_owned().into_bytes();
    tampered_sig[0] = if tampered_sig[0] == b'a' { b'b' } else { b'a' };
    let tampered_sig = String::from_utf8(tampered_sig).expect("ASCII");
    let html = [("content-type".to_owned(), "text/html".to_owned())];
    let refused = [
        (
            with_query_param(&upload.url, "X-Amz-Signature", &tampered_sig),
            &upload.headers[..],
        ),
        // A longer life than was signed.
        (
            with_query_param(&upload.url, "X-Amz-Expires", "604800"),
            &upload.headers[..],
        ),
        // Another key with the same signature.
        (upload.url.replace(KEY, OTHER_KEY), &upload.headers[..]),
        // Another content type than was signed, or none.
        (upload.url.clone(), &html[..]),
        (upload.url.clone(), &[][..]),
    ];
    for (url, headers) in refused {
        let (status, body) = http_request("PUT", &url, headers, &[b'<'; 1_000]).await;
        assert_eq!(
            status,
            403,
            "{url} {headers:?}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    assert_eq!(store.head(KEY).await, Err(BlobError::NotFound));
    assert_eq!(store.head(OTHER_KEY).await, Err(BlobError::NotFound));

    // A download URL is no upload URL.
    let get_url = store
        .signed_get_url(KEY, Duration::from_secs(600))
        .await
        .expect("presigned");
    let (status, _) = http_request("PUT", &get_url, &upload.headers, b"<html>").await;
    assert_eq!(status, 403);
    assert_eq!(store.head(KEY).await, Err(BlobError::NotFound));

    // A body of another length than was declared (and signed).
    for body in [&b"\x89PNG"[..], &[7; 1_001][..], &[7; 999][..]] {
        let (status, reply) = http_request("PUT", &upload.url, &upload.headers, body).await;
        assert_eq!(
            status,
            403,
            "{} bytes: {}",
            body.len(),
            String::from_utf8_lossy(&reply)
        );
    }
    assert_eq!(store.head(KEY).await, Err(BlobError::NotFound));

    let short = store
        .signed_put_url(KEY, "image/png", 4, Duration::from_secs(1))
        .await
        .expect("presigned");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, body) = http_request("PUT", &short.url, &short.headers, b"late").await;
    assert_eq!(status, 403, "expired: {}", String::from_utf8_lossy(&body));
    assert_eq!(store.head(KEY).await, Err(BlobError::NotFound));

    // The untampered URL still works, with the declared length.
    let png = [0x89; 1_000];
    let (status, body) = http_request("PUT", &upload.url, &upload.headers, &png).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(store.get(KEY).await.expect("uploaded"), png);
}

async fn s3_seal(kind: Server) {
    let server = S3Server::start(kind).await;
    check_seal(&server.store(BUCKET)).await;
}

async fn s3_read_prefix(kind: Server) {
    let server = S3Server::start(kind).await;
    check_read_prefix(&server.store(BUCKET)).await;
}

macro_rules! s3_tests {
    ($($scenario:ident => $moto:ident, $s3s:ident;)*) => {$(
        #[tokio::test]
        async fn $moto() {
            $scenario(Server::Moto).await;
        }

        #[tokio::test]
        async fn $s3s() {
            $scenario(Server::S3sFs).await;
        }
    )*};
}

s3_tests! {
    s3_round_trip => moto_round_trip_keeps_bytes_and_content_type, s3s_round_trip_keeps_bytes_and_content_type;
    s3_missing_key_is_not_found => moto_missing_key_is_not_found, s3s_missing_key_is_not_found;
    s3_delete_is_idempotent => moto_delete_is_idempotent, s3s_delete_is_idempotent;
    s3_presigned_url_downloads_with_plain_http => moto_presigned_url_downloads_with_plain_http, s3s_presigned_url_downloads_with_plain_http;
    s3_missing_bucket_is_unavailable => moto_missing_bucket_is_unavailable, s3s_missing_bucket_is_unavailable;
    s3_presigned_put_uploads_with_plain_http => moto_presigned_put_uploads_with_plain_http, s3s_presigned_put_uploads_with_plain_http;
    s3_read_prefix => moto_read_prefix_reads_only_the_start, s3s_read_prefix_reads_only_the_start;
    s3_seal => moto_seal_moves_the_upload_to_its_final_key, s3s_seal_moves_the_upload_to_its_final_key;
}

#[tokio::test]
async fn s3s_tampered_or_expired_presigned_url_is_refused() {
    s3_tampered_or_expired_presigned_url_is_refused(Server::S3sFs).await;
}

#[tokio::test]
async fn s3s_tampered_or_expired_presigned_put_is_refused() {
    s3_tampered_or_expired_presigned_put_is_refused(Server::S3sFs).await;
}

#[tokio::test]
async fn s3s_wrong_secret_is_unavailable_and_not_echoed() {
    let server = S3Server::start(Server::S3sFs).await;
    let wrong_secret = "wrong-secret-Kx93jdQ0pLm2";
    let store = server.store_with_secret(BUCKET, wrong_secret);
    for r in [
        store.put(KEY, b"x".to_vec(), "text/plain").await,
        store.get(KEY).await.map(drop),
    ] {
        let Err(BlobError::Unavailable(message)) = &r else {
            panic!("expected Unavailable, got {r:?}");
        };
        assert!(message.contains("403"), "{message}");
        assert!(!message.contains(wrong_secret), "{message}");
        assert!(!message.contains(ACCESS_KEY_ID), "{message}");
    }
    // Nothing was stored.
    assert_eq!(
        server.store(BUCKET).get(KEY).await,
        Err(BlobError::NotFound)
    );
}

#[tokio::test]
async fn s3_unreachable_endpoint_is_unavailable_without_credentials() {
    let store = S3BlobStore::new(s3_config(free_port(), BUCKET, SECRET_ACCESS_KEY)).expect("valid");
    let started = Instant::now();
    let r = store.put(KEY, b"x".to_vec(), "text/plain").await;
    let Err(BlobError::Unavailable(message)) = &r else {
        panic!("expected Unavailable, got {r:?}");
    };
    assert!(message.contains("127.0.0.1"), "{message}");
    assert!(!message.contains(SECRET_ACCESS_KEY), "{message}");
    assert!(!message.contains(ACCESS_KEY_ID), "{message}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn s3_bad_keys_and_content_types_are_rejected_before_any_request() {
    // Nothing listens here: reaching the network would have been Unavailable.
    let store = S3BlobStore::new(s3_config(free_port(), BUCKET, SECRET_ACCESS_KEY)).expect("valid");
    for key in bad_keys() {
        for (op, r) in [
            ("put", store.put(&key, b"x".to_vec(), "text/plain").await),
            ("get", store.get(&key).await.map(drop)),
            ("head", store.head(&key).await.map(drop)),
            ("delete", store.delete(&key).await),
            (
                "signed_get_url",
                store
                    .signed_get_url(&key, Duration::from_secs(60))
                    .await
                    .map(drop),
            ),
            (
                "signed_put_url",
                store
                    .signed_put_url(&key, "text/plain", 10, Duration::from_secs(60))
                    .await
                    .map(drop),
            ),
            ("read_prefix", store.read_prefix(&key, 10).await.map(drop)),
        ] {
            assert!(
                matches!(r, Err(BlobError::Rejected(_))),
                "{op} {key:?}: {r:?}"
            );
        }
    }
    let r = store.put(KEY, b"x".to_vec(), "text/plain\nX-Evil: 1").await;
    assert!(matches!(r, Err(BlobError::Rejected(_))), "{r:?}");
    let r = store
        .signed_put_url(KEY, "text/plain\nX-Evil: 1", 10, Duration::from_secs(60))
        .await;
    assert!(matches!(r, Err(BlobError::Rejected(_))), "{r:?}");
}

#[test]
fn s3_configuration_is_checked_and_debug_hides_credentials() {
    let good = s3_config(9000, BUCKET, SECRET_ACCESS_KEY);
    let mut cases = Vec::new();
    for edit in [
        (|c: &mut S3Config| c.region = String::new()) as fn(&mut S3Config),
        |c| c.bucket = " ".to_owned(),
        |c| c.bucket = "a/b".to_owned(),
        |c| c.access_key_id = String::new(),
        |c| c.secret_access_key = String::new(),
        |c| c.endpoint = Some("127.0.0.1:9000".to_owned()),
        |c| {
            c.endpoint = Some(format!(
                "http://{ACCESS_KEY_ID}:{SECRET_ACCESS_KEY}@127.0.0.1:9000"
            ))
        },
        |c| c.endpoint = Some(String::new()),
    ] {
        let mut config = good.clone();
        edit(&mut config);
        cases.push(config);
    }
    for config in cases {
        let err = S3BlobStore::new(config.clone()).expect_err("misconfigured");
        let IntegrationError::Misconfigured { service, .. } = &err else {
            panic!("{config:?}: expected Misconfigured, got {err:?}");
        };
        assert_eq!(*service, "s3");
        let text = err.to_string();
        assert!(!text.contains(SECRET_ACCESS_KEY), "{text}");
    }

    // AWS itself: no endpoint, virtual-hosted style.
    let aws = S3Config {
        endpoint: None,
        path_style: false,
        ..good.clone()
    };
    S3BlobStore::new(aws).expect("AWS configuration");

    let store = S3BlobStore::new(good.clone()).expect("valid");
    assert_eq!(store.bucket(), BUCKET);
    for debug in [format!("{store:?}"), format!("{good:?}")] {
        assert!(!debug.contains(SECRET_ACCESS_KEY), "{debug}");
        assert!(!debug.contains(ACCESS_KEY_ID), "{debug}");
        assert!(debug.contains("http://127.0.0.1:9000"), "{debug}");
        assert!(debug.contains(BUCKET), "{debug}");
    }
}
