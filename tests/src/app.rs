//! [`TestApp`]: the app in process with its [`World`], and the one way an HTTP test makes a request.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::Method;
use actix_web::test::TestRequest;
use actix_web::web;
use guild_api::AppState;
use serde_json::Value;

use crate::{Reply, World, send};

/// A future local to the test's thread, as actix's test runtime runs them.
type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Sends a request to the app, whatever the concrete service type `init_service` built.
trait Call {
    fn call(&self, req: actix_http::Request) -> LocalFuture<'_, Reply>;
}

impl<S, B> Call for S
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody + 'static,
{
    fn call(&self, req: actix_http::Request) -> LocalFuture<'_, Reply> {
        Box::pin(send(self, req))
    }
}

/// The app, in process on a fresh database, and what tests reach behind it (its [`World`], which
/// it dereferences to): `app.get(uri, token).await`, `app.post(uri, token, body).if_match(&etag)
/// .await`, `app.run_worker().await`.
pub struct TestApp {
    /// The database, state and recorded emails behind the app.
    pub world: World,
    service: Box<dyn Call>,
}

impl std::fmt::Debug for TestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApp")
            .field("world", &self.world)
            .finish_non_exhaustive()
    }
}

impl std::ops::Deref for TestApp {
    type Target = World;
    fn deref(&self) -> &World {
        &self.world
    }
}

impl TestApp {
    /// The app on a fresh database with a known signing secret ([`crate::TEST_SECRET`]), a
    /// recording mailer and no actor cache.
    pub async fn new() -> Self {
        Self::with(|_| {}).await
    }

    /// [`TestApp::new`] with the state adjusted by `configure` (a clock, a store, limits…).
    pub async fn with(configure: impl FnOnce(&mut AppState)) -> Self {
        Self::with_routes(configure, |_| {}).await
    }

    /// [`TestApp::with`] on a database of the PostgreSQL with pgvector
    /// ([`guild_testkit::TestDb::with_pgvector`]): questions are searched by vectors too.
    pub async fn with_pgvector(configure: impl FnOnce(&mut AppState)) -> Self {
        let world = World::on(guild_testkit::TestDb::with_pgvector().await, configure);
        let service = crate::serve(world.state.clone(), Box::new(|_| {})).await;
        Self {
            world,
            service: Box::new(service),
        }
    }

    /// [`TestApp::with`] plus test-only routes mounted by `extra` behind the real middleware.
    pub async fn with_routes(
        configure: impl FnOnce(&mut AppState),
        extra: impl FnOnce(&mut web::ServiceConfig) + 'static,
    ) -> Self {
        let world = World::new(configure).await;
        let service = crate::serve(world.state.clone(), Box::new(extra)).await;
        Self {
            world,
            service: Box::new(service),
        }
    }

    /// Sends a request built elsewhere (by a closure, or ahead of a race) and collects the reply.
    pub async fn send(&self, req: impl IntoRequest) -> Reply {
        self.service.call(req.into_request()).await
    }

    /// A request to build further (token, headers, body) and then `.await`.
    pub fn request(&self, method: Method, uri: &str) -> Request<'_> {
        Request {
            app: self,
            req: TestRequest::default().method(method).uri(uri),
        }
    }

    /// `GET uri` with `token`.
    pub fn get(&self, uri: &str, token: &str) -> Request<'_> {
        self.request(Method::GET, uri).token(token)
    }

    /// `POST uri` with `token` and a JSON `body`.
    pub fn post(&self, uri: &str, token: &str, body: Value) -> Request<'_> {
        self.request(Method::POST, uri).token(token).json(body)
    }

    /// `POST uri` with a JSON `body` and no token (sign-up, sign-in, the emailed links).
    pub fn post_anonymous(&self, uri: &str, body: Value) -> Request<'_> {
        self.request(Method::POST, uri).json(body)
    }

    /// `PUT uri` with `token` and a JSON `body`.
    pub fn put(&self, uri: &str, token: &str, body: Value) -> Request<'_> {
        self.request(Method::PUT, uri).token(token).json(body)
    }

    /// `PATCH uri` with `token` and a JSON `body`.
    pub fn patch(&self, uri: &str, token: &str, body: Value) -> Request<'_> {
        self.request(Method::PATCH, uri).token(token).json(body)
    }

    /// `DELETE uri` with `token`.
    pub fn delete(&self, uri: &str, token: &str) -> Request<'_> {
        self.request(Method::DELETE, uri).token(token)
    }

    /// A request with `method`, `token` and an optional JSON `body`, for tests that choose the
    /// method at run time.
    pub fn call(&self, method: Method, uri: &str, token: &str, body: Option<Value>) -> Request<'_> {
        let req = self.request(method, uri).token(token);
        match body {
            Some(body) => req.json(body),
            None => req,
        }
    }

    /// A multipart/form-data `POST` of `bytes` as `file_name` to `uri`, with an optional title.
    pub fn upload(
        &self,
        uri: &str,
        token: &str,
        file_name: &str,
        bytes: &[u8],
        title: Option<&str>,
    ) -> Request<'_> {
        self.request(Method::POST, uri)
            .token(token)
            .multipart(file_name, bytes, title)
    }
}

/// What [`TestApp::send`] sends: a [`Request`] built here, or one built with actix's own
/// `TestRequest`.
pub trait IntoRequest {
    /// The request to send.
    fn into_request(self) -> actix_http::Request;
}

impl IntoRequest for actix_http::Request {
    fn into_request(self) -> actix_http::Request {
        self
    }
}

impl IntoRequest for Request<'_> {
    fn into_request(self) -> actix_http::Request {
        self.req.to_request()
    }
}

/// A request being built; `.await` it to send it and collect the [`Reply`].
pub struct Request<'a> {
    app: &'a TestApp,
    req: TestRequest,
}

impl std::fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request").finish_non_exhaustive()
    }
}

impl Request<'_> {
    /// Authenticates with a bearer token.
    #[must_use]
    pub fn token(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// Adds a header.
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.req = self.req.insert_header((name.to_owned(), value.to_owned()));
        self
    }

    /// Adds every header of `headers`.
    #[must_use]
    pub fn headers(self, headers: &[(&str, &str)]) -> Self {
        headers
            .iter()
            .fold(self, |req, (name, value)| req.header(name, value))
    }

    /// Makes the request conditional on `etag`.
    #[must_use]
    pub fn if_match(self, etag: &str) -> Self {
        self.header("if-match", etag)
    }

    /// Makes the request retryable under `key`.
    #[must_use]
    pub fn idempotency_key(self, key: &str) -> Self {
        self.header("idempotency-key", key)
    }

    /// Sets a JSON body.
    #[must_use]
    pub fn json(mut self, body: Value) -> Self {
        self.req = self.req.set_json(body);
        self
    }

    /// Sets a raw body (the content type, if any, is a header of its own).
    #[must_use]
    pub fn payload(mut self, body: impl Into<actix_web::web::Bytes>) -> Self {
        self.req = self.req.set_payload(body);
        self
    }

    /// Sets a multipart/form-data body: `bytes` as the file `file_name`, and a title if given.
    #[must_use]
    pub fn multipart(mut self, file_name: &str, bytes: &[u8], title: Option<&str>) -> Self {
        let (content_type, body) = crate::multipart_body(file_name, bytes, title);
        self.req = self
            .req
            .insert_header(("content-type", content_type))
            .set_payload(body);
        self
    }

    /// The request as built, to send later (races) with [`TestApp::send`].
    pub fn to_request(self) -> actix_http::Request {
        self.req.to_request()
    }
}

impl<'a> IntoFuture for Request<'a> {
    type Output = Reply;
    type IntoFuture = LocalFuture<'a, Reply>;

    fn into_future(self) -> Self::IntoFuture {
        let app = self.app;
        let req = self.req.to_request();
        Box::pin(async move { app.send(req).await })
    }
}
