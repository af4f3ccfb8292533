//! Server-side fetches on a member's behalf (link previews of feed posts) behind the SSRF guard.
//!
//! [`SafeFetcher`] implements the kernel's [`LinkPreviewer`] port. Every request it makes,
//! redirects included, passes the guard twice: the URL first (`https` on its default port, no
//! credentials, an IP literal only if public: [`guard::is_public`]), then every address the host
//! name resolves to, in the resolver the connector uses (so the address checked is the address
//! connected to; a name that answers any private address is refused). Redirects are followed by
//! hand, at most [`FetchPolicy::max_redirects`], each hop checked again. No proxy, no cookies;
//! each request has a time limit and each body a size limit. The page's image is downloaded the
//! same way and must sniff as PNG, JPEG, GIF or WebP.
//!
//! It also implements the kernel's [`WebhookSender`]: a webhook is POSTed with the same checks
//! (URL, then every resolved address), never following a redirect, and only the first
//! [`WEBHOOK_EXCERPT_BYTES`] of the answer are read.
//!
//! The test switch ([`FetchPolicy::allowing_loopback_for_tests`]) lets plain `http` reach
//! loopback addresses (an `https` URL to one is fetched over plain http), so tests serve pages
//! from a local listener; every other private address stays refused with it on.

pub mod guard;
mod html;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use guild_kernel::ports::{
    BoxFuture, FetchError, FetchedImage, LinkPreview, LinkPreviewer, WebhookResponse, WebhookSender,
};
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION, USER_AGENT};
use reqwest::{Url, redirect};

use crate::IntegrationError;
use guard::{GuardedResolver, RefusedName};

/// The limits of a fetch.
#[derive(Debug, Clone)]
pub struct FetchPolicy {
    /// The longest one request may take, body included.
    pub timeout: Duration,
    /// The longest a connection may take to open.
    pub connect_timeout: Duration,
    /// The most of a page that is read (its head is at the start; the rest is not read).
    pub max_page_bytes: usize,
    /// The largest image kept; a larger one leaves the preview without an image.
    pub max_image_bytes: usize,
    /// Redirects followed before the fetch is refused.
    pub max_redirects: usize,
    allow_loopback: bool,
    hosts: HashMap<String, Vec<IpAddr>>,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(8),
            connect_timeout: Duration::from_secs(3),
            max_page_bytes: 1024 * 1024,
            max_image_bytes: 2 * 1024 * 1024,
            max_redirects: 5,
            allow_loopback: false,
            hosts: HashMap::new(),
        }
    }
}

impl FetchPolicy {
    /// The test switch: plain `http` and any port to loopback addresses (`127.0.0.0/8`, `::1`)
    /// are allowed, and an `https` URL to one is fetched over plain http, so a test can serve
    /// pages from a local listener. Every other non-public address stays refused.
    pub fn allowing_loopback_for_tests(mut self) -> Self {
        self.allow_loopback = true;
        self
    }

    /// Answers `name` with `addrs` instead of asking DNS (tests point a name at a private
    /// address with it). The guard checks these answers like any other.
    pub fn with_host(mut self, name: &str, addrs: Vec<IpAddr>) -> Self {
        self.hosts.insert(name.to_ascii_lowercase(), addrs);
        self
    }
}

/// Fetches link previews through the SSRF guard.
#[derive(Debug, Clone)]
pub struct SafeFetcher {
    client: reqwest::Client,
    policy: Arc<FetchPolicy>,
}

impl SafeFetcher {
    /// A fetcher with its own connection pool.
    pub fn new(policy: FetchPolicy) -> Result<Self, IntegrationError> {
        let resolver = GuardedResolver {
            allow_loopback: policy.allow_loopback,
            hosts: Arc::new(policy.hosts.clone()),
        };
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(resolver))
            .redirect(redirect::Policy::none())
            .no_proxy()
            .timeout(policy.timeout)
            .connect_timeout(policy.connect_timeout)
            .user_agent(concat!("GuildLinkPreview/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| IntegrationError::Misconfigured {
                service: "link previews",
                message: e.to_string(),
            })?;
        Ok(Self {
            client,
            policy: Arc::new(policy),
        })
    }

    /// Refuses a URL the guard does not let through before any connection is made; answers
    /// the URL to connect to (the test switch fetches loopback over plain http).
    pub(crate) fn check(&self, url: &Url) -> Result<Url, FetchError> {
        let refuse = |why: &str| Err(FetchError::Refused(why.to_owned()));
        if !url.username().is_empty() || url.password().is_some() {
            return refuse("a URL with credentials");
        }
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => None,
            None => return refuse("a URL without a host"),
        };
        if let Some(ip) = literal
            && !guard::allowed(ip, self.policy.allow_loopback)
        {
            return refuse(&format!("{ip} is not a public address"));
        }
        // The test switch lets loopback listeners serve plain http on any port, for `http` and
        // `https` URLs alike (a test's pages have no certificate).
        if self.policy.allow_loopback && literal.is_some_and(|ip| ip.is_loopback()) {
            let mut plain = url.clone();
            return match url.scheme() {
                "http" | "https" => {
                    let _ = plain.set_scheme("http");
                    Ok(plain)
                }
                _ => refuse("a scheme other than https"),
            };
        }
        if url.scheme() != "https" {
            return refuse("a scheme other than https");
        }
        if url.port().is_some_and(|p| p != 443) {
            return refuse("a port other than 443");
        }
        Ok(url.clone())
    }

    /// GETs `url`, following redirects through the guard; answers the final URL, the content
    /// type and at most `max` bytes of the body (`None` for the body when it was longer and
    /// `whole` was asked).
    pub(crate) async fn get(
        &self,
        url: &str,
        accept: &str,
        max: usize,
        whole: bool,
    ) -> Result<(Url, String, Option<Vec<u8>>), FetchError> {
        let mut url = Url::parse(url).map_err(|_| FetchError::Refused("not a URL".to_owned()))?;
        for _ in 0..=self.policy.max_redirects {
            let target = self.check(&url)?;
            let mut response = self
                .client
                .get(target)
                .header(ACCEPT, accept)
                .send()
                .await
                .map_err(classify)?;
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .ok_or_else(|| FetchError::Unusable(format!("{status} without a location")))?;
                url = url
                    .join(location)
                    .map_err(|_| FetchError::Refused("a redirect to no URL".to_owned()))?;
                continue;
            }
            if !status.is_success() {
                return Err(FetchError::Unusable(format!("answered {status}")));
            }
            let content_type = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_ascii_lowercase();
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(classify)? {
                let room = max - body.len();
                if chunk.len() > room {
                    if whole {
                        return Ok((url, content_type, None));
                    }
                    body.extend_from_slice(&chunk[..room]);
                    break;
                }
                body.extend_from_slice(&chunk);
            }
            return Ok((url, content_type, Some(body)));
        }
        Err(FetchError::Refused(format!(
            "more than {} redirects",
            self.policy.max_redirects
        )))
    }

    async fn image(&self, page: &Url, src: &str) -> Result<Option<FetchedImage>, FetchError> {
        let url = page
            .join(src)
            .map_err(|_| FetchError::Unusable("an image URL that does not parse".to_owned()))?;
        let (_, _, body) = self
            .get(url.as_str(), "image/*", self.policy.max_image_bytes, true)
            .await?;
        let Some(bytes) = body else { return Ok(None) };
        let sniffed = infer::get(&bytes).map(|k| k.mime_type());
        Ok(match sniffed {
            Some(t @ ("image/png" | "image/jpeg" | "image/gif" | "image/webp")) => {
                Some(FetchedImage {
                    content_type: t.to_owned(),
                    bytes,
                })
            }
            _ => None,
        })
    }

    async fn fetch_preview(&self, url: &str) -> Result<LinkPreview, FetchError> {
        let (page_url, content_type, body) = self
            .get(
                url,
                "text/html,application/xhtml+xml",
                self.policy.max_page_bytes,
                false,
            )
            .await?;
        if !(content_type.starts_with("text/html")
            || content_type.starts_with("application/xhtml+xml"))
        {
            return Err(FetchError::Unusable(format!(
                "not an HTML page ({})",
                if content_type.is_empty() {
                    "no content type"
                } else {
                    &content_type
                }
            )));
        }
        let html = String::from_utf8_lossy(body.as_deref().unwrap_or_default());
        let meta = html::page_meta(&html);
        let image = match meta.image {
            Some(src) => match self.image(&page_url, &src).await {
                Ok(image) => image,
                Err(e) => {
                    tracing::debug!(error = %e, "link preview: the page's image was not fetched");
                    None
                }
            },
            None => None,
        };
        Ok(LinkPreview {
            title: meta.title,
            description: meta.description,
            image,
        })
    }
}

impl LinkPreviewer for SafeFetcher {
    fn preview<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<LinkPreview, FetchError>> {
        Box::pin(self.fetch_preview(url))
    }
}

/// How much of a webhook endpoint's answer is read and kept.
pub const WEBHOOK_EXCERPT_BYTES: usize = 1024;

impl SafeFetcher {
    async fn post_webhook(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<WebhookResponse, FetchError> {
        let url = Url::parse(url).map_err(|_| FetchError::Refused("not a URL".to_owned()))?;
        let target = self.check(&url)?;
        let mut request = self
            .client
            .post(target)
            .header(CONTENT_TYPE, "application/json")
            .header(
                USER_AGENT,
                concat!("GuildWebhooks/", env!("CARGO_PKG_VERSION")),
            )
            .body(body.to_vec());
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let mut response = request.send().await.map_err(classify)?;
        let status = response.status().as_u16();
        let mut excerpt = Vec::new();
        while excerpt.len() < WEBHOOK_EXCERPT_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = WEBHOOK_EXCERPT_BYTES - excerpt.len();
                    excerpt.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                // The status is the answer; a body cut short still leaves it.
                Ok(None) | Err(_) => break,
            }
        }
        let mut excerpt = String::from_utf8_lossy(&excerpt).into_owned();
        // Lossy decoding may grow a cut character; keep within the limit on a boundary.
        while excerpt.len() > WEBHOOK_EXCERPT_BYTES {
            excerpt.pop();
        }
        Ok(WebhookResponse { status, excerpt })
    }
}

impl SafeFetcher {
    /// POSTs a form to `url` through the guard, no redirect followed, with optional HTTP Basic
    /// credentials; answers the status and at most `max` bytes of the body (`None` when longer).
    pub(crate) async fn post_form(
        &self,
        url: &str,
        basic: Option<(&str, &str)>,
        form: &[(&str, &str)],
        max: usize,
    ) -> Result<(u16, Option<Vec<u8>>), FetchError> {
        let url = Url::parse(url).map_err(|_| FetchError::Refused("not a URL".to_owned()))?;
        let target = self.check(&url)?;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut request = self
            .client
            .post(target)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .body(body);
        if let Some((user, password)) = basic {
            request = request.basic_auth(user, Some(password));
        }
        let mut response = request.send().await.map_err(classify)?;
        let status = response.status().as_u16();
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if bytes.len() + chunk.len() > max {
                return Ok((status, None));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok((status, Some(bytes)))
    }
}

impl WebhookSender for SafeFetcher {
    fn check_url(&self, url: &str) -> Result<(), FetchError> {
        let parsed = Url::parse(url).map_err(|_| FetchError::Refused("not a URL".to_owned()))?;
        self.check(&parsed).map(|_| ())
    }

    fn post<'a>(
        &'a self,
        url: &'a str,
        headers: &'a [(String, String)],
        body: &'a [u8],
    ) -> BoxFuture<'a, Result<WebhookResponse, FetchError>> {
        Box::pin(self.post_webhook(url, headers, body))
    }
}

/// A refused name anywhere in the error's chain is the guard's refusal; a timeout or a failed
/// connection is the host's unavailability.
fn classify(error: reqwest::Error) -> FetchError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(e) = source {
        if let Some(refused) = e.downcast_ref::<RefusedName>() {
            return FetchError::Refused(refused.to_string());
        }
        source = e.source();
    }
    if error.is_timeout() {
        FetchError::Unavailable("timed out".to_owned())
    } else {
        FetchError::Unavailable(error.without_url().to_string())
    }
}
