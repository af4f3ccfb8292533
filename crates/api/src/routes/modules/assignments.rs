//! A module's assignments: `/v1/modules/{module_id}/assignments` (the list, creating one). An
//! assignment is [`crate::routes::assignments`].

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use guild_assessment::assignments::{self, AssignmentFileType, AssignmentInput, SubmissionFormat};
use guild_kernel::PageRequest;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::{Ctx, Permitted};
use crate::error::ApiError;
use crate::etag::tag_by_body;
use crate::extract::ValidJson;
use crate::idempotency::{Idempotency, IdempotencyHeader, once};
use crate::routes::assignments::{AssignmentDto, CriterionDto, criteria};
use crate::routes::common::{AuthErrors, NotFound, PageOf, PageParams};
use crate::routes::quizzes::{KeyedInputErrors, QueryErrors};

/// List a module's assignments.
///
/// The assignments of a module you can see, oldest first, a page at a time. 404
/// `module_not_found` when the module is not visible to you.
#[utoipa::path(
    tag = "assignments",
    params(("module_id" = Uuid, Path, description = "The module"), PageParams),
    responses((status = 200, body = PageOf<AssignmentDto>, description = "A page of assignments, oldest first"), AuthErrors, QueryErrors, NotFound)
)]
#[get("/modules/{module_id}/assignments")]
pub(crate) async fn list_assignments(
    ctx: Ctx,
    path: web::Path<Uuid>,
    query: web::Query<PageParams>,
) -> Result<web::Json<PageOf<AssignmentDto>>, ApiError> {
    let module = path.into_inner();
    let q = query.into_inner();
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    let page = ctx
        .write(async |conn| assignments::list(conn, &ctx.actor, module, &page).await)
        .await?;
    Ok(web::Json(PageOf::map(page, AssignmentDto::from)))
}

/// Create an assignment.
///
/// Adds an assignment to a module, for MANAGE_QUIZZES holders and those who may edit the
/// module; the rules are in the body's description. Takes an optional `Idempotency-Key`: a retry
/// with it gets the first assignment back instead of a second one. 404 `module_not_found`.
#[utoipa::path(
    tag = "assignments",
    params(("module_id" = Uuid, Path, description = "The module"), IdempotencyHeader),
    request_body = CreateAssignmentBody,
    responses((status = 201, body = AssignmentDto, description = "Created; `ETag` is its revision",
            headers(("ETag" = String, description = "The revision, to send back as `If-Match`"))), AuthErrors, KeyedInputErrors, NotFound)
)]
#[post("/modules/{module_id}/assignments")]
pub(crate) async fn create_assignment(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    key: Idempotency,
    body: ValidJson<CreateAssignmentBody>,
) -> Result<HttpResponse, ApiError> {
    let module = path.into_inner();
    let input = AssignmentInput::from(body.into_inner());
    let reply = once(&ctx, &key, StatusCode::CREATED, async |conn| {
        assignments::create(conn, &ctx.actor, module, &input)
            .await
            .map(AssignmentDto::from)
    })
    .await?;
    Ok(tag_by_body(reply).await)
}

/// A new assignment; `title` and `max_score` are required, the rest has defaults.
///
/// A rubric has 1 to 20 criteria (ids unique) of 1 to 10 levels; each level's points are 0 to
/// `max_score`, and the best levels of all criteria must add up to exactly `max_score`. A
/// `section_id` must be a section of the module; FILE and BOTH need at least one accepted file
/// type. An assignment that breaks these is 422 `validation_failed`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "title": "Write up a near miss",
    "brief_html": "<p>Describe a near miss you saw and what would have prevented it.</p>",
    "due_at": "2027-01-31T17:00:00Z",
    "max_score": 10,
    "submission_format": "BOTH",
    "allowed_file_types": ["pdf", "jpg"],
    "allow_late": true,
    "required": true,
    "rubric": [
        { "id": "facts", "title": "Facts", "levels": [
            { "id": "vague", "title": "Vague", "points": 0 },
            { "id": "precise", "title": "Precise", "points": 6 }
        ] },
        { "id": "prevention", "title": "Prevention", "levels": [
            { "id": "none", "title": "None", "points": 0 },
            { "id": "concrete", "title": "Concrete", "points": 4 }
        ] }
    ]
}))]
pub(crate) struct CreateAssignmentBody {
    /// 1 to 200 characters, not only spaces (trimmed).
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    title: String,
    /// HTML, up to 100000 characters; sanitized (scripts, handlers and unknown tags removed).
    #[validate(length(max = 100_000))]
    #[schema(max_length = 100_000)]
    brief_html: Option<String>,
    /// A section of the module.
    section_id: Option<Uuid>,
    /// The due date; none by default.
    due_at: Option<DateTime<Utc>>,
    /// 1 to 10000.
    #[validate(range(min = 1, max = 10_000))]
    #[schema(minimum = 1, maximum = 10_000)]
    max_score: i32,
    /// Default TEXT.
    submission_format: Option<SubmissionFormat>,
    /// Up to 20 accepted types (default: pdf, docx, doc, png, jpg, jpeg).
    #[validate(length(max = 20))]
    #[schema(value_type = Option<Vec<AssignmentFileType>>, max_items = 20)]
    allowed_file_types: Option<Vec<String>>,
    /// 1 to 26214400 (25 MiB); default 10 MiB.
    #[validate(range(min = 1, max = 26_214_400))]
    #[schema(minimum = 1, maximum = 26_214_400)]
    max_file_bytes: Option<i64>,
    /// Accept submissions after `due_at`, flagged `late` (default false).
    allow_late: Option<bool>,
    /// Counts toward module completion once graded (default false).
    required: Option<bool>,
    /// 1 to 20 criteria; none by default (graders then give a plain score).
    #[validate(length(min = 1, max = 20))]
    #[schema(min_items = 1, max_items = 20)]
    rubric: Option<Vec<CriterionDto>>,
}

impl From<CreateAssignmentBody> for AssignmentInput {
    fn from(b: CreateAssignmentBody) -> Self {
        Self {
            title: Some(b.title),
            brief_html: b.brief_html,
            section_id: Some(b.section_id),
            due_at: Some(b.due_at),
            max_score: Some(b.max_score),
            submission_format: b.submission_format,
            allowed_file_types: b.allowed_file_types,
            max_file_bytes: b.max_file_bytes,
            allow_late: b.allow_late,
            required: b.required,
            rubric: Some(b.rubric.map(criteria)),
        }
    }
}
