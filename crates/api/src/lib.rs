//! Guild's HTTP API and the `guild` binary's commands.
//!
//! - [`access_log`]: members' module views, written in batches off the request path.
//! - [`app`]: the actix app — routes declared once, middleware, Swagger UI.
//! - `ctx`: the request context a handler works with (actor, state, `now`, transactions).
//! - [`error`]: `ApiError` and the RFC 9457 `Problem` every error is rendered as.
//! - [`extract`]: extractors that fail with problems (`ValidJson`).
//! - [`jobs`]: long operations members wait on (`202 Accepted`, `/v1/jobs/{id}`, progress on
//!   the stream), the mechanism exports, imports and AI builds plug into.
//! - [`openapi`]: the spec's static parts; `api-spec/openapi.json` is generated from it.
//! - [`reactions`]: the worker's event handlers, jobs and schedules, one file per domain.
//! - [`server`]: `serve`, `worker` and `migrate`.

pub mod access_log;
pub mod app;
pub mod auth;
pub mod client;
pub mod config;
mod ctx;
pub mod demo;
pub mod error;
pub mod etag;
pub mod extract;
pub mod idempotency;
pub mod jobs;
pub mod metrics;
pub mod middleware;
mod no_sql;
pub mod openapi;
pub mod reactions;
pub mod routes;
pub mod server;
pub mod shared_views;
#[cfg(test)]
mod sources;
pub mod state;
pub mod telemetry;

pub use app::{build_app, build_app_with};
pub use config::Config;
pub use error::{ApiError, Problem};
pub use state::{AppState, HttpSettings};
