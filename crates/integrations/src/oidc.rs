//! [`OidcHttp`]: the kernel's [`OpenIdClient`] over the SSRF-guarded [`SafeFetcher`].
//!
//! Discovery documents and key sets are cached per URL for [`CACHE_TTL`] in this process (each
//! instance keeps its own: they are the provider's public data, and a stale one is corrected by
//! the refetch below). A key set is fetched again when the caller asks (a token named a key id the
//! cached set lacks: the provider rotated its keys), at most once per [`MIN_REFRESH`] per URL, so
//! tokens naming unknown keys cannot make Guild hammer the provider. Answers are read up to
//! [`MAX_BYTES`]; the token endpoint's error answers are surfaced as the provider's `error` code.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use guild_kernel::ports::{
    BoxFuture, ClientCredentials, FetchError, OpenIdClient, ProviderMetadata,
};
use reqwest::Url;
use serde_json::Value;

use crate::fetch::SafeFetcher;

/// How long a discovery document or key set is reused.
pub const CACHE_TTL: Duration = Duration::from_secs(600);
/// The least time between two forced fetches of one key set.
pub const MIN_REFRESH: Duration = Duration::from_secs(10);
/// The most of an answer that is read.
pub const MAX_BYTES: usize = 256 * 1024;

/// OpenID providers reached through the SSRF guard, their public documents cached.
#[derive(Debug)]
pub struct OidcHttp {
    fetcher: SafeFetcher,
    cache: Mutex<HashMap<String, (Instant, Value)>>,
    /// When each key set was last fetched on request (a token named an unknown key).
    forced: Mutex<HashMap<String, Instant>>,
}

impl OidcHttp {
    /// An adapter over `fetcher` (its policy decides whether loopback may be reached).
    pub fn new(fetcher: SafeFetcher) -> Self {
        Self {
            fetcher,
            cache: Mutex::new(HashMap::new()),
            forced: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, url: &str, max_age: Duration) -> Option<Value> {
        let cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache
            .get(url)
            .filter(|(at, _)| at.elapsed() < max_age)
            .map(|(_, v)| v.clone())
    }

    fn remember(&self, url: &str, value: &Value) {
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Bounded: a cache of other tenants' providers never grows without limit.
        if cache.len() >= 1000 {
            cache.retain(|_, (at, _)| at.elapsed() < CACHE_TTL);
            if cache.len() >= 1000 {
                cache.clear();
            }
        }
        cache.insert(url.to_owned(), (Instant::now(), value.clone()));
    }

    async fn get_json(&self, url: &str) -> Result<Value, FetchError> {
        let (_, content_type, body) = self
            .fetcher
            .get(url, "application/json", MAX_BYTES, true)
            .await?;
        let body =
            body.ok_or_else(|| FetchError::Unusable("the answer is too large".to_owned()))?;
        if !content_type.is_empty() && !content_type.contains("json") {
            return Err(FetchError::Unusable(format!("not JSON ({content_type})")));
        }
        serde_json::from_slice(&body).map_err(|_| FetchError::Unusable("not JSON".to_owned()))
    }

    async fn fetch_metadata(&self, issuer: &str) -> Result<ProviderMetadata, FetchError> {
        self.check_issuer(issuer)?;
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let doc = match self.cached(&url, CACHE_TTL) {
            Some(doc) => doc,
            None => {
                let doc = self.get_json(&url).await?;
                self.remember(&url, &doc);
                doc
            }
        };
        let field = |name: &str| {
            doc.get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| {
                    FetchError::Unusable(format!("the discovery document has no {name}"))
                })
        };
        let metadata = ProviderMetadata {
            issuer: field("issuer")?,
            authorization_endpoint: field("authorization_endpoint")?,
            token_endpoint: field("token_endpoint")?,
            jwks_uri: field("jwks_uri")?,
        };
        // OpenID Connect Discovery 1.0, section 4.3: the document's issuer is the one asked for.
        if metadata.issuer != issuer {
            return Err(FetchError::Unusable(format!(
                "the discovery document names another issuer ({})",
                metadata.issuer
            )));
        }
        // Endpoints pass the guard's URL rules like the issuer (the browser goes to the first).
        for endpoint in [
            &metadata.authorization_endpoint,
            &metadata.token_endpoint,
            &metadata.jwks_uri,
        ] {
            self.check_issuer_like(endpoint)?;
        }
        Ok(metadata)
    }

    fn check_issuer_like(&self, url: &str) -> Result<(), FetchError> {
        let parsed = Url::parse(url).map_err(|_| FetchError::Refused("not a URL".to_owned()))?;
        self.fetcher.check(&parsed).map(|_| ())
    }

    /// Whether a fetch on request may go out now (none in the last [`MIN_REFRESH`]); notes it.
    fn may_force(&self, url: &str) -> bool {
        let mut forced = self
            .forced
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if forced.get(url).is_some_and(|at| at.elapsed() < MIN_REFRESH) {
            return false;
        }
        if forced.len() >= 1000 {
            forced.retain(|_, at| at.elapsed() < MIN_REFRESH);
        }
        forced.insert(url.to_owned(), Instant::now());
        true
    }

    async fn fetch_keys(&self, jwks_uri: &str, refresh: bool) -> Result<Value, FetchError> {
        let fetch_now = refresh && self.may_force(jwks_uri);
        if !fetch_now && let Some(keys) = self.cached(jwks_uri, CACHE_TTL) {
            return Ok(keys);
        }
        let keys = self.get_json(jwks_uri).await?;
        if !keys.get("keys").is_some_and(Value::is_array) {
            return Err(FetchError::Unusable("not a JWK set".to_owned()));
        }
        self.remember(jwks_uri, &keys);
        Ok(keys)
    }

    async fn post_code(
        &self,
        token_endpoint: &str,
        client: &ClientCredentials,
        code: &str,
        redirect_uri: &str,
        code_verifier: &str,
    ) -> Result<Value, FetchError> {
        // RFC 6749, section 2.3.1: the id and secret are form-encoded before Basic encoding.
        let encode =
            |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let (id, secret) = (encode(&client.client_id), encode(&client.client_secret));
        let (status, body) = self
            .fetcher
            .post_form(
                token_endpoint,
                Some((&id, &secret)),
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", redirect_uri),
                    ("code_verifier", code_verifier),
                ],
                MAX_BYTES,
            )
            .await?;
        let body =
            body.ok_or_else(|| FetchError::Unusable("the answer is too large".to_owned()))?;
        let json: Value = serde_json::from_slice(&body)
            .map_err(|_| FetchError::Unusable(format!("answered {status} without JSON")))?;
        if !(200..300).contains(&status) {
            let error = json.get("error").and_then(Value::as_str).unwrap_or("error");
            return Err(FetchError::Unusable(format!(
                "the token endpoint answered {status} {error}"
            )));
        }
        Ok(json)
    }
}

impl OpenIdClient for OidcHttp {
    fn check_issuer(&self, issuer: &str) -> Result<(), FetchError> {
        let parsed = Url::parse(issuer).map_err(|_| FetchError::Refused("not a URL".to_owned()))?;
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(FetchError::Refused(
                "an issuer with a query or fragment".to_owned(),
            ));
        }
        self.fetcher.check(&parsed).map(|_| ())
    }

    fn discover<'a>(
        &'a self,
        issuer: &'a str,
    ) -> BoxFuture<'a, Result<ProviderMetadata, FetchError>> {
        Box::pin(self.fetch_metadata(issuer))
    }

    fn keys<'a>(
        &'a self,
        jwks_uri: &'a str,
        refresh: bool,
    ) -> BoxFuture<'a, Result<Value, FetchError>> {
        Box::pin(self.fetch_keys(jwks_uri, refresh))
    }

    fn exchange<'a>(
        &'a self,
        token_endpoint: &'a str,
        client: &'a ClientCredentials,
        code: &'a str,
        redirect_uri: &'a str,
        code_verifier: &'a str,
    ) -> BoxFuture<'a, Result<Value, FetchError>> {
        Box::pin(self.post_code(token_endpoint, client, code, redirect_uri, code_verifier))
    }
}
