//! Blob storage: the two [`BlobStore`]s Guild ships.
//!
//! - [`LocalBlobStore`] keeps blobs as files under a directory: the default, needing no setup. It
//!   signs download and upload URLs itself (HMAC-SHA256) and offers
//!   [`LocalBlobStore::verify_signature`], [`LocalBlobStore::verify_put_signature`] and
//!   [`LocalBlobStore::put_stream`], so the API can serve those URLs.
//! - [`S3BlobStore`] talks to any S3-compatible service (AWS S3, MinIO, Cloudflare R2, ...)
//!   through aws-sdk-s3, and hands out presigned GET and PUT URLs.
//!
//! Both check every key with [`validate_blob_key`] before touching storage, sort failures into
//! [`BlobError::NotFound`], [`BlobError::Rejected`] and [`BlobError::Unavailable`], and never put
//! a secret (signing key, S3 secret) into an error message or `Debug` output.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use futures_util::{Stream, StreamExt};
use guild_kernel::ports::{
    BlobError, BlobMeta, BlobStore, BoxFuture, MAX_SIGNED_URL_TTL, SignedUpload, validate_blob_key,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::IntegrationError;

/// The content type reported for a blob stored without one (an S3 object uploaded by another
/// tool, a local blob whose type file went missing).
const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// The longest content type accepted, in bytes.
const MAX_CONTENT_TYPE_LEN: usize = 255;

/// Shortest accepted signing key for [`LocalBlobStore`], in bytes: 256 bits, the strength of
/// HMAC-SHA256.
pub const MIN_SIGNING_KEY_LEN: usize = 32;

fn rejected(message: impl Into<String>) -> BlobError {
    BlobError::Rejected(message.into())
}

/// Content types end up in HTTP headers and in a file: printable ASCII only, bounded.
fn validate_content_type(content_type: &str) -> Result<(), BlobError> {
    if content_type.is_empty() {
        return Err(rejected("invalid content type: empty"));
    }
    if content_type.len() > MAX_CONTENT_TYPE_LEN {
        return Err(rejected("invalid content type: longer than 255 bytes"));
    }
    if !content_type.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        return Err(rejected(
            "invalid content type: only printable ASCII is allowed",
        ));
    }
    Ok(())
}

fn validate_ttl(expires_in: Duration) -> Result<(), BlobError> {
    if expires_in < Duration::from_secs(1) {
        return Err(rejected("a signed URL must live at least one second"));
    }
    if expires_in > MAX_SIGNED_URL_TTL {
        return Err(rejected("a signed URL may live at most 7 days"));
    }
    Ok(())
}

/// A signed URL's lifetime in whole seconds, rounded up so the URL lives at least `expires_in`.
fn whole_seconds(expires_in: Duration) -> u64 {
    expires_in.as_secs() + u64::from(expires_in.subsec_nanos() > 0)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `http://` or `https://` followed by a host, without credentials, query or fragment.
fn check_base_url(url: &str) -> Result<(), String> {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return Err("must start with http:// or https://".to_owned());
    };
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        return Err("has no host".to_owned());
    }
    if authority.contains('@') {
        return Err("must not contain credentials".to_owned());
    }
    if rest.contains(['?', '#']) || rest.contains(char::is_whitespace) {
        return Err("must not contain a query, a fragment or spaces".to_owned());
    }
    Ok(())
}

// --- Local directory -----------------------------------------------------------------------------

/// Suffixes of the files a blob is kept in. `~` cannot occur in a key, so these names never
/// collide with a key or with the directories its `/`-separated segments make: `a` and `a/b` can
/// both exist (`a~data` next to directory `a/`), as on S3.
const DATA_SUFFIX: &str = "~data";
const TYPE_SUFFIX: &str = "~type";
/// An empty file beside a key that [`BlobStore::seal`] moved away: that key takes no more
/// writes, so a signed upload URL for it is dead once its upload is completed. The marker stays
/// (deleting the key does not remove it).
const SEALED_SUFFIX: &str = "~sealed";
const TEMP_INFIX: &str = "~tmp-";

/// Writers to the same key take one of these locks (picked by hashing the key) around the renames
/// that publish a blob, so the content type and the bytes of one `put` stay together.
const LOCK_STRIPES: usize = 32;

/// How many bytes [`LocalBlobStore::put_stream`] gathers before writing to its file.
const STREAM_BUFFER: usize = 64 * 1024;

/// The largest chunk [`LocalBlobStore::read_stream`] yields.
pub const READ_CHUNK: usize = 64 * 1024;

/// Stores blobs as files under a root directory: the default [`BlobStore`].
///
/// Blob `tenants/t/assets/a` lives in `<root>/tenants/t/assets/a~data`, its content type in
/// `a~type` beside it. A `put` writes and fsyncs temporary files in the same directory and
/// renames them into place, so readers see the old blob or the new one, never a partial file.
/// All file access goes through `tokio::fs` (the runtime's blocking pool). Empty directories are
/// left behind by `delete`.
///
/// Signed URLs are `{public_base_url}/blobs/{key}?expires={unix seconds}&sig={hex HMAC-SHA256 of
/// "{key}|{expires}"}`; [`verify_signature`](Self::verify_signature) checks one. Signed uploads are
/// `PUT {public_base_url}/blobs/{key}?expires={unix seconds}&max={bytes}&sig={hex HMAC-SHA256 of
/// "PUT|{key}|{expires}|{max}|{content type}"}` with the `content-type` header;
/// [`verify_put_signature`](Self::verify_put_signature) checks one and
/// [`put_stream`](Self::put_stream) stores the body. Cloning is cheap and clones share their
/// locks.
#[derive(Clone)]
pub struct LocalBlobStore {
    inner: Arc<LocalInner>,
}

struct LocalInner {
    root: PathBuf,
    public_base_url: String,
    signing_key: hmac::Key,
    locks: [tokio::sync::Mutex<()>; LOCK_STRIPES],
}

impl std::fmt::Debug for LocalBlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalBlobStore")
            .field("root", &self.inner.root)
            .field("public_base_url", &self.inner.public_base_url)
            .finish_non_exhaustive()
    }
}

impl LocalBlobStore {
    /// Configures a store under `root` (created on the first `put`).
    ///
    /// `public_base_url` is where the API answers (`https://guild.example.com`), used to build
    /// signed URLs; a trailing `/` is dropped. `signing_key` signs those URLs: at least
    /// [`MIN_SIGNING_KEY_LEN`] random bytes, kept secret and stable across restarts (URLs signed
    /// with another key stop verifying).
    ///
    /// Fails with [`IntegrationError::Misconfigured`] on an empty root, a base URL that is not
    /// `http(s)://host[/path]`, or a short signing key.
    #[expect(
        clippy::needless_pass_by_value,
        reason = "taking the key by value leaves the caller no copy to keep around"
    )]
    pub fn new(
        root: PathBuf,
        public_base_url: String,
        signing_key: Vec<u8>,
    ) -> Result<Self, IntegrationError> {
        let misconfigured = |message: String| IntegrationError::Misconfigured {
            service: "local blob storage",
            message,
        };
        if root.as_os_str().is_empty() {
            return Err(misconfigured("the root directory is empty".to_owned()));
        }
        let mut public_base_url = public_base_url;
        while public_base_url.ends_with('/') {
            public_base_url.pop();
        }
        check_base_url(&public_base_url)
            .map_err(|why| misconfigured(format!("the public base URL {why}")))?;
        if signing_key.len() < MIN_SIGNING_KEY_LEN {
            return Err(misconfigured(format!(
                "the signing key must be at least {MIN_SIGNING_KEY_LEN} bytes"
            )));
        }
        Ok(Self {
            inner: Arc::new(LocalInner {
                root,
                public_base_url,
                signing_key: hmac::Key::new(hmac::HMAC_SHA256, &signing_key),
                locks: std::array::from_fn(|_| tokio::sync::Mutex::new(())),
            }),
        })
    }

    /// The directory blobs are stored under.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// A signed URL for `key` that expires at `expires` (Unix seconds). [`BlobStore::signed_get_url`]
    /// uses this with now + its lifetime; call it directly to hand out stable URLs (rounded expiry
    /// times keep them cacheable).
    pub fn signed_url_until(&self, key: &str, expires: u64) -> Result<String, BlobError> {
        validate_blob_key(key)?;
        let sig = hex::encode(self.tag(key, expires).as_ref());
        Ok(format!(
            "{}/blobs/{key}?expires={expires}&sig={sig}",
            self.inner.public_base_url
        ))
    }

    /// Whether `sig` (hex) is this store's signature of `key` and `expires`, and `expires` (Unix
    /// seconds) has not passed. The comparison runs in constant time.
    pub fn verify_signature(&self, key: &str, expires: u64, sig: &str) -> bool {
        if validate_blob_key(key).is_err() || unix_now() >= expires {
            return false;
        }
        let Ok(tag) = hex::decode(sig) else {
            return false;
        };
        hmac::verify(
            &self.inner.signing_key,
            Self::signed_message(key, expires).as_bytes(),
            &tag,
        )
        .is_ok()
    }

    fn signed_message(key: &str, expires: u64) -> String {
        // Keys cannot contain '|', so the message is unambiguous.
        format!("{key}|{expires}")
    }

    /// A signed upload for `key` that expires at `expires` (Unix seconds), for at most `max` bytes
    /// of `content_type`. [`BlobStore::signed_put_url`] uses this with now + its lifetime.
    ///
    /// The URL is `{public_base_url}/blobs/{key}?expires={expires}&max={max}&sig={hex HMAC}`; the
    /// request must carry `content-type: {content_type}`.
    pub fn signed_put_url_until(
        &self,
        key: &str,
        content_type: &str,
        max: u64,
        expires: u64,
    ) -> Result<SignedUpload, BlobError> {
        validate_blob_key(key)?;
        validate_content_type(content_type)?;
        let tag = hmac::sign(
            &self.inner.signing_key,
            Self::signed_put_message(key, expires, max, content_type).as_bytes(),
        );
        let sig = hex::encode(tag.as_ref());
        Ok(SignedUpload {
            url: format!(
                "{}/blobs/{key}?expires={expires}&max={max}&sig={sig}",
                self.inner.public_base_url
            ),
            method: "PUT",
            headers: vec![("content-type".to_owned(), content_type.to_owned())],
            expires_at: expires,
        })
    }

    /// Whether `sig` (hex) is this store's upload signature for `key`, `expires`, `max` and
    /// `content_type` (the request's `content-type` header), and `expires` (Unix seconds) has not
    /// passed. A download signature never verifies here, nor an upload signature in
    /// [`verify_signature`](Self::verify_signature). The comparison runs in constant time.
    pub fn verify_put_signature(
        &self,
        key: &str,
        expires: u64,
        max: u64,
        content_type: &str,
        sig: &str,
    ) -> bool {
        if validate_blob_key(key).is_err()
            || validate_content_type(content_type).is_err()
            || unix_now() >= expires
        {
            return false;
        }
        let Ok(tag) = hex::decode(sig) else {
            return false;
        };
        hmac::verify(
            &self.inner.signing_key,
            Self::signed_put_message(key, expires, max, content_type).as_bytes(),
            &tag,
        )
        .is_ok()
    }

    fn signed_put_message(key: &str, expires: u64, max: u64, content_type: &str) -> String {
        // Neither keys nor numbers contain '|', and the content type (which may) comes last, so
        // the message is unambiguous. It has four '|' where a download message has one, so the
        // two kinds can never be taken for each other.
        format!("PUT|{key}|{expires}|{max}|{content_type}")
    }

    fn tag(&self, key: &str, expires: u64) -> hmac::Tag {
        hmac::sign(
            &self.inner.signing_key,
            Self::signed_message(key, expires).as_bytes(),
        )
    }

    /// `<root>/<key><suffix>`; the key is already validated, so this stays under the root.
    fn file(&self, key: &str, suffix: &str) -> PathBuf {
        self.inner.root.join(format!("{key}{suffix}"))
    }

    fn lock_for(&self, key: &str) -> &tokio::sync::Mutex<()> {
        let mut hasher = DefaultHasher::new();
        key.hash(&mut hasher);
        let index = usize::try_from(hasher.finish() % LOCK_STRIPES as u64).unwrap_or_default();
        &self.inner.locks[index]
    }

    async fn put_impl(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), BlobError> {
        let temps = self.begin_put(key, content_type).await?;
        write_synced(&temps.paths[0], &bytes)
            .await
            .map_err(|e| io_unavailable("write the blob", &e))?;
        self.finish_put(key, content_type, temps).await
    }

    /// Stores the bytes `body` yields under `key` with its content type, replacing any blob
    /// already there, and returns how many there were.
    ///
    /// Chunks go to a temporary file as they arrive, so the body is never held in memory whole;
    /// the blob is published like [`BlobStore::put`] does (readers see the old blob or the new
    /// one). More than `max` bytes is [`BlobError::Rejected`] as soon as the chunk crossing the
    /// limit arrives, as is a body that fails with an error; either way nothing is stored, the
    /// temporary file is removed and a blob already under `key` stays as it was.
    pub async fn put_stream<S, B, E>(
        &self,
        key: &str,
        content_type: &str,
        body: S,
        max: u64,
    ) -> Result<u64, BlobError>
    where
        S: Stream<Item = Result<B, E>>,
        B: AsRef<[u8]>,
        E: std::fmt::Display,
    {
        let temps = self.begin_put(key, content_type).await?;
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temps.paths[0])
            .await
            .map_err(|e| io_unavailable("write the blob", &e))?;
        let mut file = tokio::io::BufWriter::with_capacity(STREAM_BUFFER, file);
        let mut body = std::pin::pin!(body);
        let mut size: u64 = 0;
        while let Some(chunk) = body.next().await {
            let chunk =
                chunk.map_err(|e| rejected(format!("the upload could not be received: {e}")))?;
            let chunk = chunk.as_ref();
            size = size.saturating_add(chunk.len() as u64);
            if size > max {
                return Err(rejected(format!("the upload is larger than {max} bytes")));
            }
            file.write_all(chunk)
                .await
                .map_err(|e| io_unavailable("write the blob", &e))?;
        }
        file.flush()
            .await
            .map_err(|e| io_unavailable("write the blob", &e))?;
        file.get_ref()
            .sync_all()
            .await
            .map_err(|e| io_unavailable("write the blob", &e))?;
        drop(file);
        self.finish_put(key, content_type, temps).await?;
        Ok(size)
    }

    /// Checks a `put` and prepares it: creates the blob's directory and picks the temporary
    /// names, the data's first.
    async fn begin_put(&self, key: &str, content_type: &str) -> Result<TempFiles, BlobError> {
        validate_blob_key(key)?;
        validate_content_type(content_type)?;
        if self.is_sealed(key).await? {
            return Err(sealed());
        }
        if let Some(dir) = self.file(key, DATA_SUFFIX).parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| io_unavailable("create the blob's directory", &e))?;
        }
        // Removes the temporary files if anything fails or the caller drops the future.
        Ok(TempFiles::new([
            temp_path(&self.inner.root, key),
            temp_path(&self.inner.root, key),
        ]))
    }

    /// Publishes a `put` whose bytes are written (and synced) to the first temporary file.
    async fn finish_put(
        &self,
        key: &str,
        content_type: &str,
        temps: TempFiles,
    ) -> Result<(), BlobError> {
        let [data_tmp, type_tmp] = &temps.paths;
        write_synced(type_tmp, content_type.as_bytes())
            .await
            .map_err(|e| io_unavailable("write the blob", &e))?;
        let _guard = self.lock_for(key).lock().await;
        // Checked again under the lock: `seal` may have run while the body arrived.
        if self.is_sealed(key).await? {
            return Err(sealed());
        }
        // Type first: a new blob becomes visible only once its type is in place.
        tokio::fs::rename(type_tmp, self.file(key, TYPE_SUFFIX))
            .await
            .map_err(|e| io_unavailable("store the blob", &e))?;
        tokio::fs::rename(data_tmp, self.file(key, DATA_SUFFIX))
            .await
            .map_err(|e| io_unavailable("store the blob", &e))?;
        temps.disarm();
        Ok(())
    }

    /// Whether [`BlobStore::seal`] moved `key` away, so it takes no more writes.
    pub async fn is_sealed(&self, key: &str) -> Result<bool, BlobError> {
        validate_blob_key(key)?;
        match tokio::fs::try_exists(self.file(key, SEALED_SUFFIX)).await {
            Ok(found) => Ok(found),
            // A path through a file: nothing was ever stored there.
            Err(e) if e.kind() == io::ErrorKind::NotADirectory => Ok(false),
            Err(e) => Err(io_unavailable("check the upload", &e)),
        }
    }

    async fn seal_impl(&self, from: &str, to: &str) -> Result<(), BlobError> {
        validate_blob_key(from)?;
        validate_blob_key(to)?;
        // Both directories: the marker is written even when nothing was ever uploaded to `from`,
        // so that a later write to it is refused too.
        for key in [to, from] {
            if let Some(dir) = self.file(key, DATA_SUFFIX).parent() {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| io_unavailable("create the blob's directory", &e))?;
            }
        }
        let _guard = self.lock_for(from).lock().await;
        // The marker first: from now on no write to `from` is published, even one whose body
        // is still arriving (it checks again under this lock).
        tokio::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(self.file(from, SEALED_SUFFIX))
            .await
            .map_err(|e| io_unavailable("seal the upload", &e))?;
        if !tokio::fs::try_exists(self.file(from, DATA_SUFFIX))
            .await
            .map_err(|e| io_unavailable("seal the upload", &e))?
        {
            return Err(BlobError::NotFound);
        }
        match tokio::fs::rename(self.file(from, TYPE_SUFFIX), self.file(to, TYPE_SUFFIX)).await {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_unavailable("seal the upload", &e)),
        }
        tokio::fs::rename(self.file(from, DATA_SUFFIX), self.file(to, DATA_SUFFIX))
            .await
            .map_err(|e| io_error("seal the upload", &e))
    }

    async fn get_impl(&self, key: &str) -> Result<Vec<u8>, BlobError> {
        validate_blob_key(key)?;
        tokio::fs::read(self.file(key, DATA_SUFFIX))
            .await
            .map_err(|e| io_error("read the blob", &e))
    }

    /// Opens a blob for a streamed download: its description and its bytes in chunks of at
    /// most [`READ_CHUNK`] bytes, read as the consumer asks for them, so serving a 2 GiB video
    /// holds one chunk in memory, not the file. The stream reads the file opened here: a blob
    /// replaced meanwhile is still read whole, as it was.
    pub async fn read_stream(
        &self,
        key: &str,
    ) -> Result<(BlobMeta, impl Stream<Item = io::Result<Vec<u8>>> + use<>), BlobError> {
        let meta = self.head_impl(key).await?;
        let file = tokio::fs::File::open(self.file(key, DATA_SUFFIX))
            .await
            .map_err(|e| io_error("read the blob", &e))?;
        let size = file
            .metadata()
            .await
            .map_err(|e| io_error("read the blob", &e))?
            .len();
        let meta = BlobMeta { size, ..meta };
        let chunks = futures_util::stream::try_unfold(file, |mut file| async move {
            let mut chunk = vec![0; READ_CHUNK];
            let n = file.read(&mut chunk).await?;
            if n == 0 {
                return Ok(None);
            }
            chunk.truncate(n);
            Ok(Some((chunk, file)))
        });
        Ok((meta, chunks))
    }

    async fn read_prefix_impl(&self, key: &str, len: usize) -> Result<Vec<u8>, BlobError> {
        validate_blob_key(key)?;
        let file = tokio::fs::File::open(self.file(key, DATA_SUFFIX))
            .await
            .map_err(|e| io_error("read the blob", &e))?;
        let size = file
            .metadata()
            .await
            .map_err(|e| io_error("read the blob", &e))?
            .len();
        let want = usize::try_from(size).map_or(len, |size| size.min(len));
        let mut bytes = Vec::with_capacity(want);
        file.take(want as u64)
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| io_error("read the blob", &e))?;
        Ok(bytes)
    }

    async fn head_impl(&self, key: &str) -> Result<BlobMeta, BlobError> {
        validate_blob_key(key)?;
        let meta = tokio::fs::metadata(self.file(key, DATA_SUFFIX))
            .await
            .map_err(|e| io_error("inspect the blob", &e))?;
        if !meta.is_file() {
            return Err(BlobError::NotFound);
        }
        let content_type = match tokio::fs::read_to_string(self.file(key, TYPE_SUFFIX)).await {
            Ok(t) if validate_content_type(t.trim()).is_ok() => t.trim().to_owned(),
            Ok(_) => DEFAULT_CONTENT_TYPE.to_owned(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => DEFAULT_CONTENT_TYPE.to_owned(),
            Err(e) => return Err(io_unavailable("read the blob's content type", &e)),
        };
        Ok(BlobMeta {
            key: key.to_owned(),
            size: meta.len(),
            content_type,
        })
    }

    async fn delete_impl(&self, key: &str) -> Result<(), BlobError> {
        validate_blob_key(key)?;
        let _guard = self.lock_for(key).lock().await;
        // Data first: the blob disappears in one step.
        for suffix in [DATA_SUFFIX, TYPE_SUFFIX] {
            match tokio::fs::remove_file(self.file(key, suffix)).await {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_unavailable("delete the blob", &e)),
            }
        }
        Ok(())
    }
}

/// Temporary files, removed on drop unless [`disarm`](Self::disarm)ed (once renamed away).
struct TempFiles {
    paths: [PathBuf; 2],
    armed: bool,
}

impl TempFiles {
    fn new(paths: [PathBuf; 2]) -> Self {
        Self { paths, armed: true }
    }

    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for TempFiles {
    fn drop(&mut self) {
        if self.armed {
            // Unlinking is quick, and drop cannot await.
            for path in &self.paths {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

/// A fresh temporary name beside `key`'s files.
fn temp_path(root: &Path, key: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    root.join(format!("{key}{TEMP_INFIX}{}-{n}", std::process::id()))
}

async fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .await?;
    file.write_all(bytes).await?;
    file.sync_all().await
}

fn sealed() -> BlobError {
    rejected("the upload is complete: this key takes no more writes")
}

fn io_unavailable(action: &str, e: &io::Error) -> BlobError {
    BlobError::Unavailable(format!("local blob storage could not {action}: {e}"))
}

/// `NotFound` for a missing file (or a path through a file), otherwise unavailable.
fn io_error(action: &str, e: &io::Error) -> BlobError {
    match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory | io::ErrorKind::IsADirectory => {
            BlobError::NotFound
        }
        _ => io_unavailable(action, e),
    }
}

impl BlobStore for LocalBlobStore {
    fn put<'a>(
        &'a self,
        key: &'a str,
        bytes: Vec<u8>,
        content_type: &'a str,
    ) -> BoxFuture<'a, Result<(), BlobError>> {
        Box::pin(self.put_impl(key, bytes, content_type))
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Vec<u8>, BlobError>> {
        Box::pin(self.get_impl(key))
    }

    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<BlobMeta, BlobError>> {
        Box::pin(self.head_impl(key))
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), BlobError>> {
        Box::pin(self.delete_impl(key))
    }

    /// Renames the files (no copy), and leaves a marker at `from` so that no later write to it
    /// (through a signed upload URL, or one still arriving) is published.
    fn seal<'a>(&'a self, from: &'a str, to: &'a str) -> BoxFuture<'a, Result<(), BlobError>> {
        Box::pin(self.seal_impl(from, to))
    }

    fn signed_get_url<'a>(
        &'a self,
        key: &'a str,
        expires_in: Duration,
    ) -> BoxFuture<'a, Result<String, BlobError>> {
        Box::pin(async move {
            validate_ttl(expires_in)?;
            self.signed_url_until(key, unix_now().saturating_add(whole_seconds(expires_in)))
        })
    }

    /// The upload goes to the API, which checks it with
    /// [`verify_put_signature`](LocalBlobStore::verify_put_signature) and stores the body with
    /// [`put_stream`](LocalBlobStore::put_stream), enforcing `max_size` as the bytes arrive.
    fn signed_put_url<'a>(
        &'a self,
        key: &'a str,
        content_type: &'a str,
        max_size: u64,
        expires_in: Duration,
    ) -> BoxFuture<'a, Result<SignedUpload, BlobError>> {
        Box::pin(async move {
            validate_ttl(expires_in)?;
            let expires = unix_now().saturating_add(whole_seconds(expires_in));
            self.signed_put_url_until(key, content_type, max_size, expires)
        })
    }

    fn read_prefix<'a>(
        &'a self,
        key: &'a str,
        len: usize,
    ) -> BoxFuture<'a, Result<Vec<u8>, BlobError>> {
        Box::pin(self.read_prefix_impl(key, len))
    }
}

// --- S3 ------------------------------------------------------------------------------------------

/// An error and its sources, `: `-separated (`dispatch failure: io error: ... Connection refused`).
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let part = e.to_string();
        if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = e.source();
    }
    text
}

/// How to reach an S3-compatible bucket.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Config {
    /// The service URL (`http://127.0.0.1:9000`, `https://<account>.r2.cloudflarestorage.com`);
    /// `None` for AWS S3 itself, found from the region.
    pub endpoint: Option<String>,
    /// The region (`us-east-1`; `auto` for R2).
    pub region: String,
    /// The bucket holding Guild's blobs; it must exist.
    pub bucket: String,
    /// The access key ID.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// Address buckets in the path (`endpoint/bucket/key`) rather than the host name
    /// (`bucket.endpoint/key`): needed by MinIO and most self-hosted servers.
    pub path_style: bool,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("path_style", &self.path_style)
            .finish_non_exhaustive()
    }
}

/// Stores blobs in an S3-compatible bucket (AWS S3, MinIO, Cloudflare R2, ...).
///
/// Built from an [`S3Config`] with static credentials; no environment or profile lookup. Requests
/// are signed with SigV4 over the SDK's rustls (aws-lc) HTTPS client, retried by the SDK's
/// standard policy, and give up connecting after 5 seconds. Signed URLs are presigned `GetObject`
/// requests, signed uploads presigned `PutObject` requests with their `Content-Length` signed
/// (the body must have the declared size), valid for anyone holding them until they expire.
/// Cloning is cheap.
#[derive(Clone)]
pub struct S3BlobStore {
    client: aws_sdk_s3::Client,
    bucket: String,
    /// For `Debug` and error messages.
    endpoint: Option<String>,
    region: String,
    /// Kept only to scrub them from error messages, should a server echo them.
    access_key_id: String,
    secret_access_key: String,
}

impl std::fmt::Debug for S3BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3BlobStore")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

/// How long to wait for a TCP (and TLS) connection to the S3 endpoint.
const S3_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

impl S3BlobStore {
    /// Configures a store; nothing connects until the first call.
    ///
    /// Fails with [`IntegrationError::Misconfigured`] on an empty region, bucket or credential, or
    /// an endpoint that is not `http(s)://host[:port][/path]` (credentials in the endpoint URL are
    /// refused: they belong in the config fields). The message never contains the credentials.
    pub fn new(config: S3Config) -> Result<Self, IntegrationError> {
        let misconfigured = |message: String| IntegrationError::Misconfigured {
            service: "s3",
            message,
        };
        let S3Config {
            endpoint,
            region,
            bucket,
            access_key_id,
            secret_access_key,
            path_style,
        } = config;
        for (name, value) in [
            ("region", &region),
            ("bucket", &bucket),
            ("access key ID", &access_key_id),
            ("secret access key", &secret_access_key),
        ] {
            if value.trim().is_empty() {
                return Err(misconfigured(format!("the {name} is empty")));
            }
        }
        if bucket.contains(['/', '?', '#']) || bucket.contains(char::is_whitespace) {
            return Err(misconfigured(format!("invalid bucket name {bucket:?}")));
        }
        let endpoint = endpoint.map(|e| e.trim_end_matches('/').to_owned());
        if let Some(url) = &endpoint {
            check_base_url(url).map_err(|why| misconfigured(format!("the endpoint URL {why}")))?;
        }

        let credentials = Credentials::new(
            access_key_id.clone(),
            secret_access_key.clone(),
            None,
            None,
            "guild-config",
        );
        let mut builder = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.clone()))
            .credentials_provider(credentials)
            .force_path_style(path_style)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(S3_CONNECT_TIMEOUT)
                    .build(),
            );
        if let Some(url) = &endpoint {
            builder = builder.endpoint_url(url);
        }
        Ok(Self {
            client: aws_sdk_s3::Client::from_conf(builder.build()),
            bucket,
            endpoint,
            region,
            access_key_id,
            secret_access_key,
        })
    }

    /// The SDK client, for what the port does not cover (creating buckets in setup scripts and
    /// tests, listing, lifecycle rules).
    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    /// The bucket blobs go to.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Checks that the bucket exists and the credentials may use it (`HeadBucket`), for readiness
    /// probes.
    pub async fn ping(&self) -> Result<(), IntegrationError> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                let message = match self.sdk_error("check the bucket", &e) {
                    BlobError::NotFound => format!("bucket {:?} does not exist", self.bucket),
                    BlobError::Rejected(m) | BlobError::Unavailable(m) => m,
                };
                IntegrationError::Unavailable {
                    service: "s3",
                    message,
                }
            })
    }

    /// Sorts an SDK error: a missing key is `NotFound`, everything else `Unavailable` (retry
    /// later, or fix the configuration). Messages carry the S3 error code and message, or the
    /// transport error, never the credentials.
    fn sdk_error<E>(&self, action: &str, err: &SdkError<E>) -> BlobError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let message = match err {
            SdkError::ServiceError(service) => {
                let status = service.raw().status().as_u16();
                let code = service.err().code();
                match code {
                    Some("NoSuchBucket") => {
                        format!("S3 bucket {:?} does not exist", self.bucket)
                    }
                    Some("NoSuchKey" | "NotFound") => return BlobError::NotFound,
                    None if status == 404 => return BlobError::NotFound,
                    _ => format!(
                        "S3 could not {action}: HTTP {status} {}: {}",
                        code.unwrap_or("(no error code)"),
                        service.err().message().unwrap_or("(no message)")
                    ),
                }
            }
            SdkError::TimeoutError(_) => format!("S3 could not {action}: timed out"),
            SdkError::DispatchFailure(_) => format!(
                "S3 could not {action}: could not reach {}: {}",
                self.endpoint.as_deref().unwrap_or("AWS S3"),
                error_chain(err)
            ),
            _ => format!("S3 could not {action}: {}", error_chain(err)),
        };
        BlobError::Unavailable(self.scrub(message))
    }

    /// Masks the credentials, in case a server or transport error echoed them.
    fn scrub(&self, message: String) -> String {
        let mut message = message;
        for secret in [&self.secret_access_key, &self.access_key_id] {
            if !secret.is_empty() && message.contains(secret.as_str()) {
                message = message.replace(secret.as_str(), "***");
            }
        }
        message
    }

    async fn put_impl(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), BlobError> {
        validate_blob_key(key)?;
        validate_content_type(content_type)?;
        let length = i64::try_from(bytes.len()).map_err(|_| rejected("blob too large"))?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(length)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| self.sdk_error("store the blob", &e))?;
        Ok(())
    }

    async fn get_impl(&self, key: &str) -> Result<Vec<u8>, BlobError> {
        validate_blob_key(key)?;
        let output = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| self.sdk_error("read the blob", &e))?;
        let body = output.body.collect().await.map_err(|e| {
            BlobError::Unavailable(self.scrub(format!(
                "S3 could not read the blob: the download failed: {}",
                error_chain(&e)
            )))
        })?;
        Ok(body.to_vec())
    }

    async fn head_impl(&self, key: &str) -> Result<BlobMeta, BlobError> {
        validate_blob_key(key)?;
        let output = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| self.sdk_error("inspect the blob", &e))?;
        Ok(BlobMeta {
            key: key.to_owned(),
            size: output
                .content_length()
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or_default(),
            content_type: output
                .content_type()
                .filter(|t| !t.is_empty())
                .unwrap_or(DEFAULT_CONTENT_TYPE)
                .to_owned(),
        })
    }

    async fn delete_impl(&self, key: &str) -> Result<(), BlobError> {
        validate_blob_key(key)?;
        match self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| self.sdk_error("delete the blob", &e))
        {
            // S3 answers 204 for a missing key; some compatible servers say 404.
            Ok(_) | Err(BlobError::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn seal_impl(&self, from: &str, to: &str) -> Result<(), BlobError> {
        validate_blob_key(from)?;
        validate_blob_key(to)?;
        // Keys are `[A-Za-z0-9/._-]` only, so the copy source needs no escaping.
        self.client
            .copy_object()
            .bucket(&self.bucket)
            .copy_source(format!("{}/{from}", self.bucket))
            .key(to)
            .send()
            .await
            .map_err(|e| self.sdk_error("seal the upload", &e))?;
        self.delete_impl(from).await
    }

    async fn signed_get_url_impl(
        &self,
        key: &str,
        expires_in: Duration,
    ) -> Result<String, BlobError> {
        validate_blob_key(key)?;
        validate_ttl(expires_in)?;
        let presigning = PresigningConfig::expires_in(expires_in)
            .map_err(|e| rejected(format!("invalid signed URL lifetime: {e}")))?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(presigning)
            .await
            .map_err(|e| self.sdk_error("sign a download URL", &e))?;
        Ok(request.uri().to_owned())
    }

    async fn signed_put_url_impl(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        expires_in: Duration,
    ) -> Result<SignedUpload, BlobError> {
        validate_blob_key(key)?;
        validate_content_type(content_type)?;
        validate_ttl(expires_in)?;
        let length = i64::try_from(size).map_err(|_| rejected("blob too large"))?;
        // SigV4 counts in whole seconds: start on one, so `expires_at` is exactly when S3 stops
        // accepting the URL.
        let now = unix_now();
        let ttl = whole_seconds(expires_in);
        let presigning = PresigningConfig::builder()
            .start_time(UNIX_EPOCH + Duration::from_secs(now))
            .expires_in(Duration::from_secs(ttl))
            .build()
            .map_err(|e| rejected(format!("invalid signed URL lifetime: {e}")))?;
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(length)
            .presigned(presigning)
            .await
            .map_err(|e| self.sdk_error("sign an upload URL", &e))?;
        Ok(SignedUpload {
            url: request.uri().to_owned(),
            method: "PUT",
            // The signed headers the client sends as given (content-type); its HTTP library sets
            // `host` and `content-length` (signed too: the body must be exactly `size` bytes)
            // itself, and browsers refuse to let a script set them.
            headers: request
                .headers()
                .filter(|(name, _)| {
                    !name.eq_ignore_ascii_case("host")
                        && !name.eq_ignore_ascii_case("content-length")
                })
                .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned()))
                .collect(),
            expires_at: now.saturating_add(ttl),
        })
    }

    async fn read_prefix_impl(&self, key: &str, len: usize) -> Result<Vec<u8>, BlobError> {
        validate_blob_key(key)?;
        if len == 0 {
            // No range means zero bytes; still answer NotFound for a missing blob.
            self.head_impl(key).await?;
            return Ok(Vec::new());
        }
        let output = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .range(format!("bytes=0-{}", len - 1))
            .send()
            .await
        {
            Ok(output) => output,
            // A range starting at 0 is unsatisfiable only for an empty blob.
            Err(SdkError::ServiceError(e))
                if e.raw().status().as_u16() == 416 || e.err().code() == Some("InvalidRange") =>
            {
                return Ok(Vec::new());
            }
            Err(e) => return Err(self.sdk_error("read the blob", &e)),
        };
        // Servers that ignore ranges send the whole blob: stop reading once `len` bytes are in.
        let mut body = output.body;
        let mut bytes = Vec::new();
        while bytes.len() < len {
            match body.next().await {
                Some(Ok(chunk)) => {
                    let take = chunk.len().min(len - bytes.len());
                    bytes.extend_from_slice(&chunk[..take]);
                }
                Some(Err(e)) => {
                    return Err(BlobError::Unavailable(self.scrub(format!(
                        "S3 could not read the blob: the download failed: {}",
                        error_chain(&e)
                    ))));
                }
                None => break,
            }
        }
        Ok(bytes)
    }
}

impl BlobStore for S3BlobStore {
    fn put<'a>(
        &'a self,
        key: &'a str,
        bytes: Vec<u8>,
        content_type: &'a str,
    ) -> BoxFuture<'a, Result<(), BlobError>> {
        Box::pin(self.put_impl(key, bytes, content_type))
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Vec<u8>, BlobError>> {
        Box::pin(self.get_impl(key))
    }

    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<BlobMeta, BlobError>> {
        Box::pin(self.head_impl(key))
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), BlobError>> {
        Box::pin(self.delete_impl(key))
    }

    /// `CopyObject` to `to` (server-side, content type kept; up to 5 GiB, above every kind's
    /// limit), then `DeleteObject` of `from`. A PUT through the upload URL after this lands at
    /// `from` again, never at `to`; the upload sweep deletes it once the URL has expired.
    fn seal<'a>(&'a self, from: &'a str, to: &'a str) -> BoxFuture<'a, Result<(), BlobError>> {
        Box::pin(self.seal_impl(from, to))
    }

    fn signed_get_url<'a>(
        &'a self,
        key: &'a str,
        expires_in: Duration,
    ) -> BoxFuture<'a, Result<String, BlobError>> {
        Box::pin(self.signed_get_url_impl(key, expires_in))
    }

    /// A presigned `PutObject` URL, with the `content-type` header it was signed for and
    /// `content-length` signed as `max_size`: S3 refuses a body of any other length (403), so
    /// the declared size is the uploaded size.
    fn signed_put_url<'a>(
        &'a self,
        key: &'a str,
        content_type: &'a str,
        max_size: u64,
        expires_in: Duration,
    ) -> BoxFuture<'a, Result<SignedUpload, BlobError>> {
        Box::pin(self.signed_put_url_impl(key, content_type, max_size, expires_in))
    }

    /// A ranged `GetObject` (`bytes=0-{len - 1}`).
    fn read_prefix<'a>(
        &'a self,
        key: &'a str,
        len: usize,
    ) -> BoxFuture<'a, Result<Vec<u8>, BlobError>> {
        Box::pin(self.read_prefix_impl(key, len))
    }
}
