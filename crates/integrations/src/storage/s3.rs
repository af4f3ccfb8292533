//! [`S3BlobStore`]: blobs in an S3-compatible bucket through aws-sdk-s3, with presigned GET and
//! PUT URLs.

use std::time::{Duration, UNIX_EPOCH};

use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use guild_kernel::ports::{
    BlobError, BlobMeta, BlobStore, BoxFuture, SignedUpload, validate_blob_key,
};

use super::{
    DEFAULT_CONTENT_TYPE, check_base_url, rejected, unix_now, validate_content_type, validate_ttl,
    whole_seconds,
};
use crate::IntegrationError;

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
