//! The OpenAPI 3.1 document.
//!
//! Paths come from the same registration that builds the app ([`crate::app::routes`]), so the
//! routes and the spec cannot drift; this module adds what is not per-route: info, tags, the
//! `bearer` security scheme (required by default; public operations opt out with `security(())`)
//! and the shared `Problem` schema. `api-spec/openapi.json` is this document, committed; a test
//! fails when they differ (`make spec` regenerates it).
//!
//! [`complete`] then adds, once the routes have registered their operations, what every operation
//! shares and no handler should repeat: `servers` and `contact`, the responses any request can get
//! (429, 500, 503, and 413/415 with a body, 428/412 with `If-Match`…) as `$ref`s to
//! `components.responses`, the response headers (`X-Request-Id`, `RateLimit-*`, `Retry-After`,
//! `ETag`, `Idempotent-Replayed`, `WWW-Authenticate`) as `$ref`s to `components.headers`, and the
//! `enum` of every problem `code` ([`PROBLEM_CODES`]).

use std::collections::BTreeSet;

use actix_web::dev::ResourceDef;
use actix_web::http::Method;
use utoipa::openapi::OpenApi as Spec;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::info::ContactBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::ArrayItems;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::server::{ServerBuilder, ServerVariableBuilder};
use utoipa::openapi::{Components, ObjectBuilder, Ref, RefOr, Schema, Type};
use utoipa::{Modify, OpenApi};

use crate::error::{Problem, ProblemField};

mod webhooks;

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
    // Types named only by query parameters are `$ref`ed there but not collected by utoipa: they are
    // registered here (a test fails on any `$ref` that does not resolve).
    components(schemas(
        Problem,
        ProblemField,
        guild_analytics::insights::Granularity,
        guild_assessment::submissions::SubmissionSort,
        guild_learning::modules::ModuleSort,
        guild_social::reactions::Emoji
    )),
    tags(
        (name = "auth", description = "Sign-up, sign-in, sessions and who you are."),
        (name = "tenants", description = "The tenant's settings."),
        (name = "members", description = "Members, roles, managers and permission grants."),
        (name = "groups", description = "Groups of members."),
        (name = "modules", description = "Learning modules, their sections, categories, prerequisites, mentors and group assignments."),
        (name = "progress", description = "Completing sections, progress, the dashboard, administrators' overrides and self-assessments."),
        (name = "notes", description = "Your private notes on sections (full-text searchable, listed by module) and your bookmarks of sections: nobody else reads them, administrators and managers included."),
        (name = "certificates", description = "Certificates of completed modules: listing, PDF, revocation and public verification."),
        (name = "paths", description = "Learning paths: ordered modules with an optional strict order, assigned to groups with a deadline, a member's progress, completion certified once per cycle (path certificates, verified publicly like module certificates); self-enrolment in modules and paths in an open catalog, and \"my learning\"."),
        (name = "compliance", description = "Mandatory training: the compliance matrix and its CSV export, renewals."),
        (name = "analytics", description = "For those who oversee others' learning, over the members their grants reach: the manager dashboard (members at risk and why, engagement, the completion heatmap of groups × modules, top performers, completions per week) and its thresholds; analytics (active members and completions over time, a module's funnel, a quiz's item analysis, live events' attendance, the XP economy)."),
        (name = "reports", description = "Report exports (compliance, completions, quiz results, the XP ledger, event attendance, members) as CSV or XLSX files, made by a background job over the members the caller's EXPORT_REPORTS grants reach, downloaded through a signed, expiring link."),
        (name = "media", description = "The media library: uploads, downloads through signed links, where each file is used, section attachments."),
        (name = "quizzes", description = "Quizzes of modules, their questions, attempts, and grading essays."),
        (name = "question-banks", description = "Question banks: the tenant's reusable, tagged questions (the quiz question kinds and rules), for MANAGE_QUIZZES or MANAGE_ALL_MODULES holders tenant-wide. A quiz's `draws` take questions of banks at random for each attempt, seeded by the attempt and kept with it, so editing a bank never changes an attempt already started."),
        (name = "assignments", description = "Assignments of modules, submission files, submissions (resubmission and late rules), rubric or plain-score grading, and the graders' queue."),
        (name = "gamification", description = "XP balances and the ledger, ranks, leaderboards, the reward shop and redemptions."),
        (name = "notifications", description = "Your in-app notifications: the inbox, the unread badge, read state and the archive; your event stream and its tickets; the tenant's notification email templates; one-click unsubscribe from notification emails."),
        (name = "presence", description = "Who is online, heartbeats, hiding your presence, and your usage sessions."),
        (name = "chat", description = "Chat rooms (the organization's, a module's, direct conversations), their messages with mentions, attachments and replies, edit history for moderators, read markers and unread counts, and answers confirmed by a module's mentors; changes arrive on your event stream."),
        (name = "jobs", description = "Long operations you wait on: an operation that starts one answers `202 Accepted` with `Location: /v1/jobs/{id}`; poll the job (or follow it on your event stream), cancel it, download what it produced."),
        (name = "changelog", description = "The platform's changelog (what's new): every member reads it with an unread marker; the platform owner publishes it."),
        (name = "discussions", description = "Discussions of modules: threads visible exactly when their module is, replies nested by parent, resolve, pin, lock, hiding for moderation, following, and emoji reactions on posts."),
        (name = "feed", description = "The knowledge feed: shared links with descriptions and tags, moderated (approve, reject with a reason, archive; never one's own), pinned, saved, replied to and reacted to; link previews fetched by the server; a \"seen until\" marker for the unseen badge."),
        (name = "announcements", description = "Announcements to the tenant, to groups or to a module's learners: notified in-app and by email, pinned until a date, read receipts, emoji reactions."),
        (name = "suggestions", description = "Knowledge suggestions: ideas members propose (optionally anonymous, the author then named by no response), vote for once each and discuss in threaded comments; sorted by top, new or trending; approved, rejected or converted into a DRAFT module by MANAGE_SUGGESTIONS holders; emoji reactions; the popularity threshold."),
        (name = "events", description = "Live events: sessions online, on site or both, for groups or the whole tenant, created by ADMINs and by the mentors of a linked module; registration with seats and a waitlist promoted in order, bulk additions; changes of time or place and cancellations notify the registrants."),
        (name = "questions", description = "Questions members ask: answered at once from what they may see (sections of visible published modules, confirmed chat answers, accepted answers), composed by the AI model from the cited passages when one is configured, the passages themselves otherwise; marked helpful, or escalated to the module's mentors by round robin (skipping mentors away or at their open-question limit, re-assigned when not picked up in time), answered and accepted, which earns the mentor XP and makes the answer knowledge. Mentors' away periods."),
        (name = "ai", description = "AI usage and settings: a usage record per model call (feature, member, model, tokens, latency, outcome), the month's totals and per feature, the monthly token budget (the plan's, or an admin's), the daily question limit, the mentors' open-question limit and pick-up time. Suggestions for editors (titles and descriptions, tags, quiz questions from a section, a cover image) and graders (an essay's points, a submission's rubric levels or score, with a rationale): nothing changes until a person applies them."),
        (name = "coaching", description = "Coaching: a member's manager coaches them by default and admins add coaches; 1:1 sessions with an agenda, focus areas scored before and after on the tenant's scale, shared notes and the coach's private notes (sealed at rest, every read audited), quick notes between sessions, calendar invitations. Seen by the member, their coaches and the managers above them only."),
        (name = "api-keys", description = "Keys for integrators."),
        (name = "webhooks", description = "Signed webhooks (Standard Webhooks): endpoints for the catalog's event types, their `whsec_` secrets (shown once, rotated with an overlap in which both sign), the delivery log with every attempt, replays and test pings. Messages are POSTed through the SSRF guard; each event type's payload is described in this document's `webhooks` section."),
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
        components.add_security_scheme(
            "stream_ticket",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "ticket",
                "A single-use ticket from `POST /v1/stream/tickets` (30 seconds), for the event \
stream only: browsers' `EventSource` cannot send an `Authorization` header.",
            ))),
        );
        components.add_security_scheme(
            "inbound_mail_basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "The deployment's inbound mail secret (`GUILD_INBOUND_MAIL_SECRET`) as the \
password, any user name: for the mail service that forwards replies to notification emails.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "inbound_mail_bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The deployment's inbound mail secret (`GUILD_INBOUND_MAIL_SECRET`) as a \
bearer token: for the mail service that forwards replies to notification emails.",
                    ))
                    .build(),
            ),
        );
        spec.security = Some(vec![SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
    }
}

/// Every `code` a problem can carry, sorted: the `enum` of `Problem.code`. A test scans the
/// sources (`fn code` of every `ErrorCode`, `ApiError::new`, `unauthenticated`, the framework's
/// `code_for_status`) and fails when a code answered there is missing here.
pub const PROBLEM_CODES: &[&str] = &[
    "action_item_closed",
    "action_item_limit_reached",
    "action_item_not_found",
    "ai_budget_exhausted",
    "ai_not_configured",
    "already_attached",
    "already_completed",
    "already_exists",
    "already_member",
    "already_reverted",
    "already_revoked",
    "announcement_not_found",
    "api_key_not_found",
    "api_key_not_permitted",
    "asset_in_use",
    "asset_not_found",
    "asset_not_ready",
    "assignment_already_graded",
    "assignment_closed",
    "assignment_not_found",
    "attachment_not_found",
    "attempt_not_found",
    "attempt_not_in_progress",
    "attempt_not_pending_review",
    "attempt_timed_out",
    "attendance_link_expired",
    "attendance_link_used",
    "bad_request",
    "bank_question_limit_reached",
    "blob_not_found",
    "bookmark_limit_reached",
    "calendar_feed_not_found",
    "cannot_accept_own_answer",
    "cannot_award_self",
    "cannot_coach_self",
    "cannot_confirm_own_attendance",
    "cannot_grade_own_attempt",
    "cannot_grade_own_submission",
    "cannot_moderate_own_post",
    "cannot_override_own_progress",
    "cannot_review_own_redemption",
    "cannot_review_own_suggestion",
    "cannot_vote_own_suggestion",
    "capacity_below_registered",
    "catalog_closed",
    "category_name_taken",
    "category_not_found",
    "certificate_not_found",
    "changelog_entry_not_found",
    "coach_limit_reached",
    "coach_not_found",
    "coachee_not_found",
    "coaching_session_closed",
    "coaching_session_not_found",
    "coaching_session_not_started",
    "comment_not_found",
    "concurrent_update",
    "conflict",
    "constraint_violated",
    "database_error",
    "database_unavailable",
    "dependency_unavailable",
    "discussion_full",
    "discussion_locked",
    "discussion_not_found",
    "email_already_verified",
    "email_not_verified",
    "email_taken",
    "email_unreadable",
    "enrolment_limit_reached",
    "event_limit_reached",
    "event_not_found",
    "event_not_scheduled",
    "event_not_started",
    "feed_post_not_found",
    "file_too_large",
    "file_type_mismatch",
    "file_type_not_allowed",
    "forbidden",
    "gateway_timeout",
    "group_name_taken",
    "group_not_found",
    "headers_too_large",
    "idempotency_key_required",
    "idempotency_key_reused",
    "import_invalid",
    "inbound_mail_not_configured",
    "insufficient_xp",
    "integration_misconfigured",
    "internal_error",
    "invalid_credentials",
    "invalid_idempotency_key",
    "invalid_order",
    "invalid_path_parameter",
    "invalid_signature",
    "invalid_status_transition",
    "invalid_stream_ticket",
    "invalid_token",
    "invitation_cap_reached",
    "invitation_not_found",
    "invitation_pending",
    "job_already_finished",
    "job_limit_reached",
    "job_not_found",
    "job_not_owned",
    "job_result_unavailable",
    "last_owner",
    "leaderboard_group_forbidden",
    "leaderboard_opt_out_not_allowed",
    "length_required",
    "malformed_json",
    "malformed_multipart",
    "manager_cycle",
    "material_limit_reached",
    "material_not_found",
    "member_not_found",
    "member_not_removed",
    "member_of_another_tenant",
    "member_removed",
    "membership_inactive",
    "message_not_found",
    "method_not_allowed",
    "module_build_limit_reached",
    "module_build_not_found",
    "module_empty",
    "module_has_completions",
    "module_has_no_mentor",
    "module_locked",
    "module_not_found",
    "no_active_tenant",
    "no_changes",
    "not_a_member",
    "not_acceptable",
    "not_found",
    "not_ready",
    "note_limit_reached",
    "note_not_found",
    "notification_not_found",
    "override_not_found",
    "path_has_completions",
    "path_limit_reached",
    "path_not_found",
    "path_not_publishable",
    "payload_too_large",
    "plan_change_forbidden",
    "post_not_found",
    "precondition_failed",
    "precondition_required",
    "prerequisite_cycle",
    "presence_disabled",
    "preview_image_not_found",
    "question_bank_in_use",
    "question_bank_limit_reached",
    "question_bank_not_found",
    "question_limit_reached",
    "question_not_found",
    "quiz_empty",
    "quiz_max_attempts_reached",
    "quiz_not_found",
    "rate_limited",
    "rate_limiter_unavailable",
    "redemption_not_found",
    "redemption_not_pending",
    "reference_conflict",
    "refresh_token_reused",
    "registration_closed",
    "registration_limit_reached",
    "registration_not_found",
    "reply_address_invalid",
    "reply_address_missing",
    "reply_limit_reached",
    "report_not_found",
    "request_timeout",
    "reward_changed",
    "reward_inactive",
    "reward_monthly_limit_reached",
    "reward_not_found",
    "reward_out_of_stock",
    "role_not_assignable",
    "room_not_found",
    "route_not_found",
    "section_not_found",
    "section_note_limit_reached",
    "self_assessment_not_found",
    "service_unavailable",
    "session_ended",
    "session_limit_reached",
    "slug_taken",
    "source_has_no_text",
    "source_too_large",
    "source_unreadable",
    "sso_code_rejected",
    "sso_domain_not_allowed",
    "sso_email_unverified",
    "sso_not_configured",
    "sso_provider_unavailable",
    "sso_required",
    "sso_state_invalid",
    "sso_token_invalid",
    "storage_rejected",
    "storage_unavailable",
    "stream_limit_reached",
    "submission_already_graded",
    "submission_not_found",
    "submission_superseded",
    "suggestion_closed",
    "suggestion_comments_full",
    "suggestion_limit_reached",
    "suggestion_not_found",
    "template_limit_reached",
    "template_not_found",
    "template_render_error",
    "template_syntax_error",
    "tenant_archived",
    "tenant_not_found",
    "unauthenticated",
    "unsupported_file_type",
    "unsupported_media_type",
    "upload_completed",
    "upload_missing",
    "upload_quota_exceeded",
    "uri_too_long",
    "validation_failed",
    "video_not_watched",
    "webhook_delivery_not_found",
    "webhook_endpoint_disabled",
    "webhook_endpoint_limit_reached",
    "webhook_endpoint_not_found",
];

/// The media type of problem bodies, as the spec names it.
const PROBLEM: &str = crate::error::PROBLEM_JSON;

/// Completes the document built from the routes with what every operation shares (see the
/// module's documentation). Called once the routes have registered their operations.
pub(crate) fn complete(spec: &mut Spec) {
    spec.servers = Some(vec![
        ServerBuilder::new()
            .url("/")
            .description(Some(
                "The server that serves this document (`/v1/openapi.json`): paths are relative to \
its origin.",
            ))
            .build(),
        ServerBuilder::new()
            .url("{scheme}://{host}")
            .description(Some(
                "A deployment, addressed by its public API origin (`GUILD_API_URL`).",
            ))
            .parameter(
                "scheme",
                ServerVariableBuilder::new()
                    .default_value("https")
                    .enum_values(Some(["https", "http"]))
                    .description(Some("`http` only for a local server.")),
            )
            .parameter(
                "host",
                ServerVariableBuilder::new()
                    .default_value("localhost:8080")
                    .description(Some(
                        "Host and port of the API (`make run` serves `localhost:8080`).",
                    )),
            )
            .build(),
    ]);
    spec.info.contact = Some(
        ContactBuilder::new()
            .name(Some("Guild API maintainers"))
            .build(),
    );

    let components = spec.components.get_or_insert_with(Default::default);
    shared_headers(components);
    shared_responses(components);
    problem_code_enum(components);
    page_items_by_ref(components);

    // The paths whose GET or write answers an `ETag`: those of the writes that take `If-Match`
    // (the resource itself, read with GET and written with PUT/DELETE/POST).
    let mut etag_paths = BTreeSet::new();
    for (path, item) in &spec.paths.paths {
        let takes_if_match = [&item.get, &item.put, &item.post, &item.delete, &item.patch]
            .into_iter()
            .flatten()
            .any(|op| has_header(op, "If-Match"));
        if takes_if_match {
            etag_paths.insert(path.clone());
        }
    }
    let mut used = BTreeSet::new();
    for (path, item) in &mut spec.paths.paths {
        let methods = [
            ("get", &mut item.get),
            ("put", &mut item.put),
            ("post", &mut item.post),
            ("delete", &mut item.delete),
            ("patch", &mut item.patch),
        ];
        for (method, op) in methods {
            if let Some(op) = op {
                // A create on the collection answers the new resource's `ETag` too.
                let creates_tagged = method == "post"
                    && etag_paths
                        .iter()
                        .any(|p| p.strip_prefix(path.as_str()).is_some_and(is_one_param));
                let etag = etag_paths.contains(path) && method != "delete" || creates_tagged;
                complete_operation(path, op, etag);
                for response in op.responses.responses.values() {
                    if let RefOr::Ref(r) = response {
                        used.insert(r.ref_location.clone());
                    }
                }
            }
        }
    }
    webhooks::document(spec);
    // Keep only the shared responses some operation uses.
    if let Some(components) = spec.components.as_mut() {
        components
            .responses
            .retain(|name, _| used.contains(&format!("#/components/responses/{name}")));
    }
}

/// `/{id}`: one path parameter segment.
fn is_one_param(rest: &str) -> bool {
    rest.strip_prefix("/{")
        .and_then(|r| r.strip_suffix('}'))
        .is_some_and(|name| !name.contains('/'))
}

fn has_header(op: &Operation, name: &str) -> bool {
    op.parameters.iter().flatten().any(|p| match p {
        RefOr::T(p) => p.parameter_in == ParameterIn::Header && p.name.eq_ignore_ascii_case(name),
        RefOr::Ref(_) => false,
    })
}

fn has_param_in(op: &Operation, place: &ParameterIn) -> bool {
    op.parameters.iter().flatten().any(|p| match p {
        RefOr::T(p) => &p.parameter_in == place,
        RefOr::Ref(_) => false,
    })
}

fn is_public(op: &Operation) -> bool {
    op.security
        .as_ref()
        .is_some_and(|s| s.iter().any(|r| *r == SecurityRequirement::default()))
}

const X_REQUEST_ID: &str = "X-Request-Id";
const RATE_LIMIT_HEADERS: [&str; 3] = ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"];

fn header_ref(name: &str) -> RefOr<Header> {
    RefOr::Ref(Ref::new(format!("#/components/headers/{name}")))
}

fn header(schema: Type, description: &str) -> Header {
    HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(schema)))
        .description(Some(description))
        .build()
}

fn shared_headers(components: &mut Components) {
    let mut request_id = header(
        Type::String,
        "The request's id: the client's own `X-Request-Id` when it is 1 to 128 characters of \
`A-Z a-z 0-9 - _ . :`, otherwise one the server made (a UUIDv7). Problems carry it as \
`request_id`; quote it when reporting a problem.",
    );
    // utoipa's `Header` has no `required` field; the OpenAPI header object does.
    request_id.extensions = Some(Extensions::from_iter([("required", true)]));
    let headers = [
        (X_REQUEST_ID, request_id),
        (
            "RateLimit-Limit",
            header(
                Type::Integer,
                "Requests allowed per window by the tightest rate limit this request counted \
against (the tenant's or the API key's). Absent when no limit applies.",
            ),
        ),
        (
            "RateLimit-Remaining",
            header(
                Type::Integer,
                "Requests left in the current window of that limit.",
            ),
        ),
        (
            "RateLimit-Reset",
            header(
                Type::Integer,
                "Seconds until the window of that limit resets.",
            ),
        ),
        (
            "Retry-After",
            header(Type::Integer, "Seconds to wait before retrying."),
        ),
        (
            "ETag",
            header(
                Type::String,
                "The resource's revision; send it back as `If-Match` to change or delete it.",
            ),
        ),
        (
            "Idempotent-Replayed",
            HeaderBuilder::new()
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some(["true"])),
                ))
                .description(Some(
                    "`true` when this is the stored response of an earlier request with the same \
`Idempotency-Key` (the write did not run again).",
                ))
                .build(),
        ),
        (
            "WWW-Authenticate",
            header(Type::String, "`Bearer`: how to authenticate."),
        ),
    ];
    for (name, header) in headers {
        components.headers.insert(name.to_owned(), RefOr::T(header));
    }
}

fn problem_response(description: &str) -> ResponseBuilder {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .header_ref(
            X_REQUEST_ID,
            Ref::new(format!("#/components/headers/{X_REQUEST_ID}")),
        )
}

/// The shared responses, by status, with their `components.responses` names.
const SHARED: [(&str, &str); 11] = [
    ("400", "BadRequest"),
    ("401", "Unauthenticated"),
    ("403", "Forbidden"),
    ("404", "NotFound"),
    ("412", "PreconditionFailed"),
    ("413", "PayloadTooLarge"),
    ("415", "UnsupportedMediaType"),
    ("422", "ValidationFailed"),
    ("428", "PreconditionRequired"),
    ("429", "RateLimited"),
    ("500", "InternalError"),
];
const UNAVAILABLE: (&str, &str) = ("503", "ServiceUnavailable");

fn shared_responses(components: &mut Components) {
    let mut add = |name: &str, response: ResponseBuilder| {
        components
            .responses
            .insert(name.to_owned(), RefOr::T(response.build()));
    };
    add(
        "BadRequest",
        problem_response(
            "The request cannot be read: `bad_request`, `malformed_json` (the body is not JSON), \
`invalid_idempotency_key`, `idempotency_key_required` (on the operations that spend).",
        ),
    );
    add(
        "Unauthenticated",
        problem_response(
            "Not signed in: `unauthenticated`, `invalid_token`, `session_ended` (a token minted \
before the account's password changed).",
        )
        .header_ref(
            "WWW-Authenticate",
            Ref::new("#/components/headers/WWW-Authenticate"),
        ),
    );
    add(
        "Forbidden",
        problem_response(
            "Not allowed: `forbidden`, `role_not_assignable`, `not_a_member`, \
`membership_inactive`, `tenant_archived`, `no_active_tenant`, `api_key_not_permitted`.",
        ),
    );
    add(
        "NotFound",
        problem_response(
            "Not found in your tenant (another tenant's is also 404), or `invalid_path_parameter` \
(a path parameter that cannot name anything, such as a malformed UUID).",
        ),
    );
    add(
        "PreconditionFailed",
        problem_response(
            "`precondition_failed`: `If-Match` names a revision that is not the current one (read \
the resource again and reapply the change).",
        ),
    );
    add(
        "PayloadTooLarge",
        problem_response(
            "`payload_too_large`: the body is larger than the server accepts \
(`GUILD_JSON_LIMIT_BYTES` for JSON, 1 MiB by default).",
        ),
    );
    add(
        "UnsupportedMediaType",
        problem_response(
            "`unsupported_media_type`: the body is not of the documented media type \
(`application/json` for JSON bodies).",
        ),
    );
    add(
        "ValidationFailed",
        problem_response(
            "`validation_failed`: a field or query parameter is missing, unknown, of the wrong type \
or breaks a rule; `errors[]` names each.",
        ),
    );
    add(
        "PreconditionRequired",
        problem_response("`precondition_required`: send the `ETag` you read as `If-Match`."),
    );
    let mut limited = problem_response(
        "`rate_limited`: too many requests (the tenant's, the API key's, or a per-client or \
per-account limit of sign-in, sign-up and recovery); retry after `Retry-After` seconds.",
    )
    .header_ref("Retry-After", Ref::new("#/components/headers/Retry-After"));
    for name in RATE_LIMIT_HEADERS {
        limited = limited.header_ref(name, Ref::new(format!("#/components/headers/{name}")));
    }
    add("RateLimited", limited);
    add(
        "InternalError",
        problem_response(
            "`internal_error` (or `database_error`, `integration_misconfigured`): the server's \
fault, logged with the request id; the problem carries no detail.",
        ),
    );
    add(
        "ServiceUnavailable",
        problem_response(
            "A dependency is down: `database_unavailable`, `rate_limiter_unavailable`, \
`storage_unavailable`, `dependency_unavailable`, `service_unavailable`; retry later.",
        ),
    );
}

/// A page's rows name their schema: `PageOf_X.data.items` becomes a `$ref` to `X` when `X` is a
/// component (the generic is inlined otherwise, leaving `X` unused and clients with two types for
/// one row).
fn page_items_by_ref(components: &mut Components) {
    let names: BTreeSet<String> = components.schemas.keys().cloned().collect();
    for (name, schema) in &mut components.schemas {
        let Some(row) = name.strip_prefix("PageOf_") else {
            continue;
        };
        if !names.contains(row) {
            continue;
        }
        let RefOr::T(Schema::Object(page)) = schema else {
            continue;
        };
        if let Some(RefOr::T(Schema::Array(data))) = page.properties.get_mut("data") {
            data.items = ArrayItems::RefOrSchema(Box::new(RefOr::Ref(Ref::from_schema_name(row))));
        }
    }
}

/// `Problem.code` becomes the `enum` of [`PROBLEM_CODES`].
fn problem_code_enum(components: &mut Components) {
    let Some(RefOr::T(Schema::Object(problem))) = components.schemas.get_mut("Problem") else {
        return;
    };
    let description = match problem.properties.get("code") {
        Some(RefOr::T(Schema::Object(code))) => code.description.clone(),
        _ => None,
    };
    problem.properties.insert(
        "code".to_owned(),
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(description)
            .enum_values(Some(PROBLEM_CODES.iter().copied()))
            .into(),
    );
}

/// Adds the shared responses an operation can get but does not list, and the headers of its
/// responses.
fn complete_operation(path: &str, op: &mut Operation, etag: bool) {
    let public = is_public(op);
    let body = op.request_body.is_some();
    let query = has_param_in(op, &ParameterIn::Query);
    let headers = has_param_in(op, &ParameterIn::Header);
    let if_match = has_header(op, "If-Match");
    let idempotent = has_header(op, "Idempotency-Key");
    // The probes check nothing that can fail (liveness) or only render counters (metrics).
    let probe = path == "/livez" || path == "/metrics";

    let wanted = |status: &str| match status {
        "400" => body || headers,
        "401" | "403" => !public,
        "404" => path.contains('{'),
        "413" | "415" => body,
        // A reused `Idempotency-Key` with a different request is 422 `idempotency_key_reused`.
        "422" => body || query || idempotent,
        "412" | "428" => if_match,
        "429" => !public,
        "500" => true,
        _ => false,
    };
    let responses = &mut op.responses.responses;
    for (status, name) in SHARED {
        if wanted(status) && !responses.contains_key(status) {
            responses.insert(status.to_owned(), RefOr::Ref(Ref::from_response_name(name)));
        }
    }
    if !probe && !responses.contains_key(UNAVAILABLE.0) {
        responses.insert(
            UNAVAILABLE.0.to_owned(),
            RefOr::Ref(Ref::from_response_name(UNAVAILABLE.1)),
        );
    }

    for (status, response) in responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        add_header(response, X_REQUEST_ID);
        let success = status.starts_with('2');
        if (success && !public) || status == "429" {
            for name in RATE_LIMIT_HEADERS {
                add_header(response, name);
            }
        }
        if status == "429" {
            add_header(response, "Retry-After");
        }
        if status == "401" {
            add_header(response, "WWW-Authenticate");
        }
        if success && etag && status != "204" {
            add_header(response, "ETag");
        }
        if success && idempotent {
            add_header(response, "Idempotent-Replayed");
        }
    }
}

fn add_header(response: &mut Response, name: &str) {
    response
        .headers
        .entry(name.to_owned())
        .or_insert_with(|| header_ref(name));
}

/// The complete document, without building a server.
pub fn spec() -> Spec {
    let mut spec = crate::app::split(actix_web::App::new()).1;
    complete(&mut spec);
    spec
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
pub struct KnownRoutes(Vec<(ResourceDef, usize, Vec<Method>)>);

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
                let parameters = path.matches('{').count();
                (ResourceDef::new(path.as_str()), parameters, methods)
            })
            .collect();
        Self(routes)
    }

    /// The methods `path` answers to; empty when no route matches it. When several routes match
    /// (`/v1/media/bulk-delete` and `/v1/media/{asset_id}`), the one with the fewest parameters
    /// is the resource the path names, as the spec documents it: only its methods count.
    pub fn allowed(&self, path: &str) -> Vec<Method> {
        let matching: Vec<_> = self
            .0
            .iter()
            .filter(|(def, _, _)| def.is_match(path))
            .collect();
        let Some(fewest) = matching.iter().map(|(_, params, _)| *params).min() else {
            return Vec::new();
        };
        let mut methods: Vec<Method> = Vec::new();
        for (_, _, route_methods) in matching.iter().filter(|(_, p, _)| *p == fewest) {
            for method in route_methods {
                if !methods.contains(method) {
                    methods.push(method.clone());
                }
            }
        }
        methods
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_names_the_methods_of_the_most_specific_route() {
        let known = KnownRoutes::new(&spec());
        let names = |path: &str| {
            known
                .allowed(path)
                .iter()
                .map(|m| m.as_str().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(names("/v1/media/bulk-delete"), ["POST"]);
        let id = "01a24b1a-456b-755c-af29-32b3cd95f302";
        assert_eq!(names(&format!("/v1/modules/{id}/sections/order")), ["PUT"]);
        assert!(names(&format!("/v1/modules/{id}")).contains(&"GET".to_owned()));
        assert!(names("/v1/no-such-thing").is_empty());
    }
}
