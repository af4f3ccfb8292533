//! A real OpenID provider for the single sign-on tests: `node scripts/oidc/provider.mjs`
//! (`oidc-provider` from npm, which `make test` installs) on a free loopback port, stopped on
//! drop, and a browser stand-in that walks its sign-in redirects.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// The running provider.
#[derive(Debug)]
pub struct OidcProvider {
    child: std::process::Child,
    /// Its issuer, `http://127.0.0.1:<port>`.
    pub issuer: String,
    http: reqwest::Client,
}

/// A client the provider knows.
#[derive(Debug, Clone)]
pub struct OidcClient {
    /// The client id.
    pub id: String,
    /// The client secret.
    pub secret: String,
}

impl OidcProvider {
    /// Starts the provider with `clients` (each may redirect to `redirect_uri`), and waits until
    /// it answers.
    pub async fn start(clients: &[OidcClient], redirect_uri: &str) -> Self {
        let port = crate::free_port();
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/oidc/provider.mjs");
        let clients: Vec<Value> = clients
            .iter()
            .map(|c| {
                json!({ "client_id": c.id, "client_secret": c.secret, "redirect_uris": [redirect_uri] })
            })
            .collect();
        let child = std::process::Command::new("node")
            .arg(script)
            .env("PORT", port.to_string())
            .env("OIDC_CLIENTS", Value::Array(clients).to_string())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start node scripts/oidc/provider.mjs (run `make test`, which installs it)");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the OpenID provider did not start; run `make test`, which installs it (npm ci in scripts/oidc)"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Self {
            child,
            issuer: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("an HTTP client"),
        }
    }

    /// Makes the next token response carry an ID token changed as `query` says (`aud=…`,
    /// `nonce=…`, `kid=unknown`), signed again.
    pub async fn tamper_next_token(&self, query: &str) {
        let reply = self
            .http
            .get(format!("{}/__test/tamper?{query}", self.issuer))
            .send()
            .await
            .expect("the provider answers");
        assert!(reply.status().is_success());
    }

    /// Replaces the provider's signing key.
    pub async fn rotate_keys(&self) {
        let reply = self
            .http
            .get(format!("{}/__test/rotate", self.issuer))
            .send()
            .await
            .expect("the provider answers");
        assert!(reply.status().is_success());
    }

    /// Walks the sign-in as a browser would, from Guild's `authorization_url`, signed in at the
    /// provider as the account of `claims`; answers the URL the provider sends the browser back
    /// to (Guild's callback with `code` and `state`).
    pub async fn sign_in(&self, authorization_url: &str, claims: &Value) -> String {
        let hint = URL_SAFE_NO_PAD.encode(claims.to_string());
        let mut url = reqwest::Url::parse(authorization_url).expect("a URL");
        url.query_pairs_mut().append_pair("login_hint", &hint);
        let mut cookies: BTreeMap<String, String> = BTreeMap::new();
        for _ in 0..10 {
            if !url.as_str().starts_with(&self.issuer) {
                return url.into();
            }
            let mut request = self.http.get(url.clone());
            if !cookies.is_empty() {
                let header: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
                request = request.header("cookie", header.join("; "));
            }
            let reply = request.send().await.expect("the provider answers");
            for value in reply.headers().get_all("set-cookie") {
                let pair = value
                    .to_str()
                    .unwrap_or_default()
                    .split(';')
                    .next()
                    .unwrap_or_default();
                if let Some((name, value)) = pair.split_once('=') {
                    cookies.insert(name.trim().to_owned(), value.trim().to_owned());
                }
            }
            let status = reply.status();
            let location = reply
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .map(str::to_owned);
            let Some(location) = location else {
                let body = reply.text().await.unwrap_or_default();
                panic!("the provider answered {status} without a redirect: {body}");
            };
            url = url.join(&location).expect("a redirect URL");
        }
        panic!("the provider kept redirecting");
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The path and query of Guild's callback URL the provider redirected to (for `app.get`).
pub fn callback_path(url: &str) -> String {
    let url = reqwest::Url::parse(url).expect("a callback URL");
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}
