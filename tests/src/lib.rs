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
