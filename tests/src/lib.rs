//! The harness for Guild's HTTP tests: the real app, in process, on a fresh database.

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::test;
use actix_web::web;
use guild_api::{AppState, build_app_with};
use guild_testkit::TestDb;

/// Builds the app on a fresh database; `configure` adjusts the state, `extra` mounts test-only
/// routes behind the real middleware.
pub async fn app_with(
    configure: impl FnOnce(&mut AppState),
    extra: impl FnOnce(&mut web::ServiceConfig) + 'static,
) -> (
    TestDb,
    impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    >,
) {
    let db = TestDb::new().await;
    let mut state = AppState::new(db.pool());
    configure(&mut state);
    let service = test::init_service(build_app_with(state, Box::new(extra))).await;
    (db, service)
}

/// The app on a fresh database, as `guild serve` builds it.
pub async fn app() -> (
    TestDb,
    impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    >,
) {
    app_with(|_| {}, |_| {}).await
}

/// A response's status, headers and JSON body.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: actix_web::http::header::HeaderMap,
    /// The body, parsed as JSON (`Null` when it is not JSON).
    pub json: serde_json::Value,
    /// The raw body.
    pub text: String,
}

impl Reply {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends `req` and collects the reply.
pub async fn send<S, B>(service: &S, req: actix_http::Request) -> Reply
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let res = test::call_service(service, req).await;
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let bytes = test::read_body(res).await;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    Reply {
        status,
        headers,
        json,
        text,
    }
}

/// Asserts `reply` is a problem with `status` and `code`, carrying the request id of the response.
pub fn assert_problem(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(reply.json["status"], status);
    assert_eq!(reply.json["code"], code, "{}", reply.text);
    assert_eq!(reply.json["type"], format!("urn:guild:problem:{code}"));
    assert!(reply.json["title"].is_string());
    let id = reply.header("x-request-id").expect("x-request-id header");
    assert_eq!(
        reply.json["request_id"], id,
        "request_id differs from the header"
    );
}

/// A JSON request, with a bearer token when given.
pub fn json_request(
    method: actix_web::http::Method,
    uri: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
) -> actix_http::Request {
    let mut req = test::TestRequest::default().method(method).uri(uri);
    if let Some(token) = token {
        req = req.insert_header(("authorization", format!("Bearer {token}")));
    }
    if let Some(body) = body {
        req = req.set_json(body);
    }
    req.to_request()
}

/// Signs up a new tenant with slug `slug`; returns the sign-up reply's JSON.
pub async fn sign_up<S, B>(service: &S, slug: &str) -> serde_json::Value
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let body = serde_json::json!({
        "tenant_name": format!("Company {slug}"),
        "slug": slug,
        "name": format!("Owner of {slug}"),
        "email": format!("owner@{slug}.example.com"),
        "password": "correct horse battery",
    });
    let reply = send(
        service,
        json_request(
            actix_web::http::Method::POST,
            "/v1/auth/signup",
            None,
            Some(body),
        ),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json
}

/// The app plus what tests reach behind it: its database, its state and the recorded emails.
pub struct World {
    /// The test's database.
    pub db: TestDb,
    /// The state the app was built with.
    pub state: AppState,
    /// Every email the app sent.
    pub mail: guild_integrations::mail::RecordingMailer,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

/// The signing secret of test apps, so tests can forge tokens.
pub const TEST_SECRET: &[u8] = b"test-secret-test-secret-test-secret!";

/// Builds the app on a fresh database with a known signing secret, a recording mailer and no
/// actor cache; `configure` adjusts the state further.
pub async fn world(
    configure: impl FnOnce(&mut AppState),
) -> (
    World,
    impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    >,
) {
    let db = TestDb::new().await;
    let mut state = AppState::new(db.pool());
    let mail = guild_integrations::mail::RecordingMailer::new();
    state.mailer = std::sync::Arc::new(mail.clone());
    state.tokens = std::sync::Arc::new(guild_api::auth::TokenKeys::new(
        TEST_SECRET,
        "guild",
        std::time::Duration::from_secs(900),
    ));
    state.actors = std::sync::Arc::new(guild_api::auth::ActorCache::new(std::time::Duration::ZERO));
    configure(&mut state);
    let service = test::init_service(build_app_with(state.clone(), Box::new(|_| {}))).await;
    (World { db, state, mail }, service)
}

impl World {
    /// Runs the worker until nothing is due (delivers queued emails).
    pub async fn run_worker(&self) {
        let worker = guild_db::worker::Worker::new(
            self.db.pool(),
            guild_api::server::registry(&self.state),
            guild_db::worker::WorkerConfig::default(),
        );
        while !worker.run_once().await.expect("worker pass").is_idle() {}
    }

    /// The token in the last email to `to`.
    pub fn token_mailed_to(&self, to: &str) -> String {
        let email = self
            .mail
            .last_to(to)
            .unwrap_or_else(|| panic!("no email to {to}"));
        let token = email.text.split("token=").nth(1).expect("a token link");
        token
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned()
    }
}

/// Invites `email` with `role` as `owner`, delivers the invitation and accepts it; returns the
/// new member's token pair.
pub async fn join<S, B>(
    service: &S,
    world: &World,
    owner: &str,
    email: &str,
    role: &str,
) -> serde_json::Value
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    use actix_web::http::Method;
    let invited = send(
        service,
        json_request(
            Method::POST,
            "/v1/members",
            Some(owner),
            Some(serde_json::json!({ "email": email, "name": email, "role": role })),
        ),
    )
    .await;
    assert_eq!(invited.status, 201, "{}", invited.text);
    world.run_worker().await;
    let token = world.token_mailed_to(email);
    let accepted = send(
        service,
        json_request(
            Method::POST,
            "/v1/auth/accept-invite",
            None,
            Some(serde_json::json!({ "token": token, "password": "member password 1" })),
        ),
    )
    .await;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    accepted.json
}

/// The access token in a token pair (or a sign-up reply).
pub fn access(pair: &serde_json::Value) -> String {
    pair.get("tokens").unwrap_or(pair)["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}
