//! The actix application: every route, declared once, and the middleware around them.
//!
//! Order of middleware, outermost first: [`observe`] (request id, span, access log, metrics) →
//! [`problems`] (every error becomes problem+json with the request id) → CORS → routes.

use std::sync::Arc;

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpRequest, HttpResponse, web};
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_actix_web::scope::scope;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_swagger_ui::SwaggerUi;

use crate::error::ApiError;
use crate::extract::configure_extractors;
use crate::middleware::{observe, problems};
use crate::openapi::{ApiDoc, KnownRoutes};
use crate::routes::{
    V1, ai, ai_assist, analytics, announcements, api_keys, assignment_reviews, assignments,
    attempts, audit, auth, calendar_feeds, certificates, changelog, chat, coaching, compliance,
    discussions, email, event_attendance, events, feed, gamification, groups, inbound, jobs,
    leaderboard, manager_dashboard, me, media, members, module_categories, modules,
    notification_templates, ops, path_certificates, paths, presence, progress_overrides,
    question_banks, questions, quiz_reviews, quizzes, redemptions, reports, rewards, sections,
    stream, submissions, suggestions, tenant, tenants, webhooks, xp,
};
use crate::state::AppState;

/// Where the spec is served; Swagger UI at `/docs` reads it from here.
pub const SPEC_PATH: &str = "/v1/openapi.json";

/// Every documented route. Registering here is what puts a route in both the app and the spec.
fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(ops::get_liveness)
        .service(ops::get_readiness)
        .service(ops::get_metrics)
        .route("/blobs/{key:.+}", web::get().to(media::serve_blob))
        .route("/blobs/{key:.+}", web::put().to(media::receive_blob))
        .service(scope(V1).configure(v1));
}

/// The versioned API: one scope per first path segment, so a request is matched against the
/// routes of its resource only (a route is a regex match; a flat list of ~135 was tried in turn,
/// for every request). A route file declares its segment (`routes::segment`) and registers its
/// handlers in its `configure`. Order within a scope is registration order, and the spec lists
/// paths in that order.
fn v1(cfg: &mut ServiceConfig<'_>) {
    // The spec itself is not an operation of the spec.
    cfg.route("/openapi.json", web::get().to(openapi_json))
        .configure(auth::configure)
        .configure(me::configure)
        .configure(tenant::configure)
        .configure(tenants::configure)
        .configure(stream::configure)
        .configure(jobs::configure)
        .configure(changelog::configure)
        .configure(presence::configure)
        .configure(chat::configure)
        .configure(notification_templates::configure)
        .configure(email::configure)
        .configure(inbound::configure)
        .configure(members::configure)
        .configure(groups::configure)
        .configure(audit::configure)
        .configure(api_keys::configure)
        .configure(modules::configure)
        .configure(compliance::configure)
        .configure(manager_dashboard::configure)
        .configure(analytics::configure)
        .configure(reports::configure)
        .configure(paths::configure)
        .configure(path_certificates::configure)
        .configure(certificates::configure)
        .configure(progress_overrides::configure)
        .configure(sections::configure)
        .configure(media::configure)
        .configure(module_categories::configure)
        .configure(quizzes::configure)
        .configure(attempts::configure)
        .configure(quiz_reviews::configure)
        .configure(question_banks::configure)
        .configure(assignments::configure)
        .configure(submissions::configure)
        .configure(assignment_reviews::configure)
        .configure(xp::configure)
        .configure(leaderboard::configure)
        .configure(gamification::configure)
        .configure(rewards::configure)
        .configure(redemptions::configure)
        .configure(discussions::configure)
        .configure(announcements::configure)
        .configure(suggestions::configure)
        .configure(event_attendance::configure)
        .configure(events::configure)
        .configure(calendar_feeds::configure)
        .configure(coaching::configure)
        .configure(feed::configure)
        .configure(webhooks::configure)
        .configure(ai::configure)
        .configure(ai_assist::configure)
        .configure(questions::configure);
}

/// Registers the routes on `app`, returning it with the paths and schemas they declare (the
/// spec before [`crate::openapi::complete`]).
pub(crate) fn split<T>(app: App<T>) -> (App<T>, utoipa::openapi::OpenApi)
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = actix_web::Error, InitError = ()>,
{
    app.into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes)
        .split_for_parts()
}

#[derive(Debug, Clone)]
struct SpecJson(Arc<String>);

/// The spec as served and the routes it lists, made once per process: every HTTP worker builds
/// the same application, and each serializing its own copy of the document cost it memory the
/// allocator kept.
static PUBLISHED: std::sync::OnceLock<(SpecJson, Arc<KnownRoutes>)> = std::sync::OnceLock::new();

async fn openapi_json(spec: web::Data<SpecJson>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(spec.0.as_str().to_owned())
}

/// Unknown path: 404 `route_not_found`; known path, other method: 405 with `Allow`.
async fn fallback(
    req: HttpRequest,
    known: web::Data<KnownRoutes>,
) -> Result<HttpResponse, ApiError> {
    let allowed = known.allowed(req.path());
    if allowed.is_empty() {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "route_not_found")
            .detail(format!("no route matches {}", req.path())));
    }
    Err(method_not_allowed(&req, &allowed))
}

/// When a path parameter cannot be read, the path may name another resource that does not answer
/// this method (`GET /v1/media/bulk-delete` reaches `GET /v1/media/{asset_id}`): 405 with that
/// resource's `Allow`, not 404. `None` when the method is one the resource answers.
pub(crate) fn wrong_method_for(req: &HttpRequest) -> Option<ApiError> {
    let known = req.app_data::<web::Data<KnownRoutes>>()?;
    let allowed = known.allowed(req.path());
    (!allowed.is_empty() && !allowed.contains(req.method()))
        .then(|| method_not_allowed(req, &allowed))
}

fn method_not_allowed(req: &HttpRequest, allowed: &[actix_web::http::Method]) -> ApiError {
    let list = allowed
        .iter()
        .map(actix_web::http::Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
        .detail(format!(
            "{} does not answer {}; it answers {list}",
            req.path(),
            req.method()
        ))
        .header(
            header::ALLOW,
            HeaderValue::from_str(&list).unwrap_or(HeaderValue::from_static("GET")),
        )
}

fn cors(origins: &[String]) -> Cors {
    if origins.is_empty() {
        return Cors::default();
    }
    let cors = Cors::default()
        .allow_any_method()
        .allow_any_header()
        .expose_headers([
            header::HeaderName::from_static("x-request-id"),
            header::ETAG,
            header::RETRY_AFTER,
            header::HeaderName::from_static(crate::idempotency::REPLAYED),
        ])
        .max_age(3600);
    if origins.iter().any(|o| o == "*") {
        cors.allow_any_origin()
    } else {
        origins
            .iter()
            .fold(cors, |cors, origin| cors.allowed_origin(origin))
    }
}

/// Test-only routes to mount beside the documented ones.
pub type ExtraRoutes = Box<dyn FnOnce(&mut web::ServiceConfig)>;

/// The application over `state`.
pub fn build_app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    build_app_with(state, Box::new(|_| {}))
}

/// The application with extra, undocumented routes mounted by `extra` (tests use it to reach
/// extractors and errors through the real middleware stack). They must live outside `/v1`, whose
/// scope answers every path under it.
pub fn build_app_with(
    state: AppState,
    extra: ExtraRoutes,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let json_limit = state.http.json_limit;
    let cors = cors(&state.http.cors_origins);
    let (app, spec) = split(App::new());
    let (spec_json, known) = PUBLISHED.get_or_init(move || {
        let mut spec = spec;
        crate::openapi::complete(&mut spec);
        let json = spec.to_json().unwrap_or_default();
        (SpecJson(Arc::new(json)), Arc::new(KnownRoutes::new(&spec)))
    });
    app.app_data(web::Data::new(state))
        .app_data(web::Data::from(Arc::clone(known)))
        .app_data(web::Data::new(spec_json.clone()))
        .configure(|cfg| configure_extractors(cfg, json_limit))
        .configure(extra)
        .configure(crate::routes::scim::configure)
        .service(web::redirect("/docs", "/docs/"))
        .service(SwaggerUi::new("/docs/{_:.*}").config(utoipa_swagger_ui::Config::new([SPEC_PATH])))
        .default_service(web::to(fallback))
        .wrap(cors)
        .wrap(from_fn(problems))
        .wrap(from_fn(observe))
}
