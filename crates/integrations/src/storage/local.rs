//! [`LocalBlobStore`]: blobs as files under a directory, the default [`BlobStore`]. It signs
//! download and upload URLs itself (HMAC-SHA256) so the API can serve them.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_lc_rs::hmac;
use futures_util::{Stream, StreamExt};
use guild_kernel::ports::{
    BlobError, BlobMeta, BlobStore, BoxFuture, SignedUpload, validate_blob_key,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{
    DEFAULT_CONTENT_TYPE, check_base_url, rejected, unix_now, validate_content_type, validate_ttl,
    whole_seconds,
};
use crate::IntegrationError;

/// Shortest accepted signing key for [`LocalBlobStore`], in bytes: 256 bits, the strength of
/// HMAC-SHA256.
pub const MIN_SIGNING_KEY_LEN: usize = 32;

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
