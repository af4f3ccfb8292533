//! The OpenAPI 3.1 document.
//!
//! Paths come from the same registration that builds the app ([`crate::app::routes`]), so the
//! routes and the spec cannot drift; this module adds what is not per-route: info, tags, the
//! `bearer` security scheme (required by default; public operations opt out with `security(())`)
//! and the shared `Problem` schema. `api-spec/openapi.json` is this document, committed; a test
//! fails when they differ (`make spec` regenerates it).

use actix_web::dev::ResourceDef;
use actix_web::http::Method;
use utoipa::openapi::OpenApi as Spec;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{Problem, ProblemField};

/// Static parts of the spec.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Guild API",
        description = "Guild is a multi-tenant corporate learning platform: modules and sections, \
quizzes, expiring certificates, mentors, a knowledge feed, live events, and an XP economy with \
ranks and a reward shop.\n\n\
Conventions: JSON with snake_case fields; errors are RFC 9457 `application/problem+json` bodies \
with a stable `code` and the `request_id` (also in the `X-Request-Id` header); lists are \
cursor-paginated with `limit` and `cursor`, returning `{data, next_cursor}`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    components(schemas(Problem, ProblemField)),
    tags(
        (name = "auth", description = "Sign-up, sign-in, sessions and who you are."),
        (name = "tenants", description = "The tenant's settings."),
        (name = "members", description = "Members, roles, managers and permission grants."),
        (name = "groups", description = "Groups of members."),
        (name = "modules", description = "Learning modules, their sections, categories, prerequisites, mentors and group assignments."),
        (name = "progress", description = "Completing sections, progress, the dashboard, administrators' overrides and self-assessments."),
        (name = "certificates", description = "Certificates of completed modules: listing, PDF, revocation and public verification."),
        (name = "compliance", description = "Mandatory training: the compliance matrix and its CSV export, renewals."),
        (name = "media", description = "The media library: uploads, downloads through signed links, where each file is used, section attachments."),
        (name = "quizzes", description = "Quizzes of modules, their questions, attempts, and grading essays."),
        (name = "assignments", description = "Assignments of modules, submission files, submissions (resubmission and late rules), rubric or plain-score grading, and the graders' queue."),
        (name = "gamification", description = "XP balances and the ledger, ranks, leaderboards, the reward shop and redemptions."),
        (name = "api-keys", description = "Keys for integrators."),
        (name = "audit", description = "The audit log."),
        (name = "ops", description = "Liveness, readiness and metrics, for orchestrators and monitoring.")
    ),
    modifiers(&Security)
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, spec: &mut Spec) {
        let components = spec.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An access token from the authentication endpoints."))
                    .build(),
            ),
        );
        spec.security = Some(vec![SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
    }
}

/// The complete document, without building a server.
pub fn spec() -> Spec {
    crate::app::split(actix_web::App::new()).1
}

/// The document as committed in `api-spec/openapi.json`.
pub fn spec_json() -> String {
    let mut json = spec().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}

/// Every route of the spec with its methods, to tell an unknown path (404) from a known path
/// asked with the wrong method (405 with `Allow`).
#[derive(Debug)]
pub struct KnownRoutes(Vec<(ResourceDef, Vec<Method>)>);

impl KnownRoutes {
    /// Collects the routes of `spec`.
    pub fn new(spec: &Spec) -> Self {
        let routes = spec
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    (Method::GET, item.get.is_some()),
                    (Method::PUT, item.put.is_some()),
                    (Method::POST, item.post.is_some()),
                    (Method::DELETE, item.delete.is_some()),
                    (Method::OPTIONS, item.options.is_some()),
                    (Method::HEAD, item.head.is_some()),
                    (Method::PATCH, item.patch.is_some()),
                ]
                .into_iter()
                .filter_map(|(m, present)| present.then_some(m))
                .collect();
                (ResourceDef::new(path.as_str()), methods)
            })
            .collect();
        Self(routes)
    }

    /// The methods `path` answers to; empty when no route matches it.
    pub fn allowed(&self, path: &str) -> Vec<Method> {
        let mut methods: Vec<Method> = self
            .0
            .iter()
            .filter(|(def, _)| def.is_match(path))
            .flat_map(|(_, methods)| methods.iter().cloned())
            .collect();
        methods.dedup();
        methods
    }
}
