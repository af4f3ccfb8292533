//! The OpenID Connect port: what single sign-on asks of an identity provider over HTTP — its
//! discovery document, its signing keys and the authorization-code exchange — behind one trait,
//! so the tenancy crate verifies tokens without a client library.
//!
//! An adapter (`guild_integrations::oidc`) makes every request through the SSRF guard (`https`
//! to public addresses only; loopback only under the tests' switch), caches each issuer's
//! discovery document and key set for a few minutes, and fetches the keys again when asked to
//! (a token signed by a key it does not know yet).

use super::{BoxFuture, FetchError};

/// The endpoints an issuer's discovery document names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderMetadata {
    /// The issuer, exactly as the document states it (it must equal the configured one).
    pub issuer: String,
    /// Where the member's browser is sent to sign in.
    pub authorization_endpoint: String,
    /// Where the code is exchanged for tokens.
    pub token_endpoint: String,
    /// The provider's signing keys (a JWK set).
    pub jwks_uri: String,
}

/// The client's credentials at the provider, for the token endpoint.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    /// The client id.
    pub client_id: String,
    /// The client secret (sent with HTTP Basic authentication).
    pub client_secret: String,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// Talks to OpenID providers on Guild's behalf.
pub trait OpenIdClient: Send + Sync + std::fmt::Debug {
    /// Whether `issuer` may be used, without connecting: `https` on the default port, no
    /// credentials, query or fragment, an IP literal only if public (plain `http` to loopback
    /// under the tests' switch).
    fn check_issuer(&self, issuer: &str) -> Result<(), FetchError>;

    /// The issuer's discovery document (`<issuer>/.well-known/openid-configuration`), cached.
    /// A document naming another issuer is refused.
    fn discover<'a>(
        &'a self,
        issuer: &'a str,
    ) -> BoxFuture<'a, Result<ProviderMetadata, FetchError>>;

    /// The JWK set at `jwks_uri`, cached; `refresh` fetches it again (a token named a key id the
    /// cached set lacks).
    fn keys<'a>(
        &'a self,
        jwks_uri: &'a str,
        refresh: bool,
    ) -> BoxFuture<'a, Result<serde_json::Value, FetchError>>;

    /// Exchanges an authorization code at `token_endpoint` (`grant_type=authorization_code`,
    /// the PKCE `code_verifier`); answers the provider's JSON, whose `id_token` the caller
    /// verifies. An error answer is [`FetchError::Unusable`] with the provider's `error` code.
    fn exchange<'a>(
        &'a self,
        token_endpoint: &'a str,
        client: &'a ClientCredentials,
        code: &'a str,
        redirect_uri: &'a str,
        code_verifier: &'a str,
    ) -> BoxFuture<'a, Result<serde_json::Value, FetchError>>;
}
