//! The graders' queue: `/v1/assignment-reviews` (current, ungraded submissions to the
//! assignments you grade, oldest first; never your own).

use actix_web::{get, web};
use guild_assessment::submissions::{self, ReviewItem};
use guild_kernel::PageRequest;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::routes::assignments::SubmissionDto;
use crate::routes::common::{AuthErrors, PageOf};
use crate::routes::quizzes::QueryErrors;
use crate::routes::segment;

/// Registers `/v1/assignment-reviews`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(segment("/assignment-reviews").service(list_assignment_reviews));
}

/// A submission waiting for a grade.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AssignmentReviewDto {
    submission: SubmissionDto,
    assignment_title: String,
}

impl From<ReviewItem> for AssignmentReviewDto {
    fn from(r: ReviewItem) -> Self {
        Self {
            submission: r.submission.into(),
            assignment_title: r.assignment_title,
        }
    }
}

/// Filters of the graders' queue.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct AssignmentReviewQuery {
    /// Only submissions to this module's assignments.
    module_id: Option<Uuid>,
    /// Only submissions to this assignment.
    assignment_id: Option<Uuid>,
    /// Page size: 1 to 200, 50 when left out; any other value is 422 `invalid_query`.
    #[param(minimum = 1, maximum = 200, default = 50)]
    #[serde(default, deserialize_with = "crate::routes::common::page_limit")]
    limit: Option<u32>,
    /// The previous page's `next_cursor`.
    cursor: Option<String>,
}

/// List the submissions waiting for your grades.
///
/// The current, ungraded submissions, oldest first, a page at a time: the whole tenant's for
/// MANAGE_QUIZZES holders, the modules' they mentor (or hold a module-scoped MANAGE_QUIZZES for)
/// otherwise. Your own submissions are never in it.
#[utoipa::path(
    tag = "assignments",
    params(AssignmentReviewQuery),
    responses((status = 200, body = PageOf<AssignmentReviewDto>, description = "A page of submissions"), AuthErrors, QueryErrors)
)]
#[get("/assignment-reviews")]
pub(crate) async fn list_assignment_reviews(
    ctx: Ctx,
    query: web::Query<AssignmentReviewQuery>,
) -> Result<web::Json<PageOf<AssignmentReviewDto>>, ApiError> {
    let q = query.into_inner();
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    let page = ctx
        .write(async |conn| {
            submissions::review_queue(conn, &ctx.actor, q.module_id, q.assignment_id, &page).await
        })
        .await?;
    Ok(web::Json(PageOf::map(page, AssignmentReviewDto::from)))
}
