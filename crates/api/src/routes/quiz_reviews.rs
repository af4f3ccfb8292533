//! The graders' queue of quiz attempts: `/v1/quiz-reviews` (attempts waiting for essay grades,
//! oldest first; never your own).

use actix_web::{get, web};
use guild_assessment::attempts::{self, ReviewItem};
use guild_kernel::PageRequest;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::routes::common::{AuthErrors, PageOf};
use crate::routes::quizzes::{AttemptSummaryDto, QueryErrors};
use crate::routes::segment;

/// Registers `/v1/quiz-reviews`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(segment("/quiz-reviews").service(list_quiz_reviews));
}

/// An attempt waiting for a grader.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReviewItemDto {
    attempt: AttemptSummaryDto,
    quiz_title: String,
    module_id: Uuid,
}

impl From<ReviewItem> for ReviewItemDto {
    fn from(r: ReviewItem) -> Self {
        Self {
            attempt: r.attempt.into(),
            quiz_title: r.quiz_title,
            module_id: r.module_id,
        }
    }
}

/// Filters for the graders' queue.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReviewQuery {
    /// Only attempts at this module's quizzes.
    module_id: Option<Uuid>,
    /// Page size: 1 to 200, 50 when left out; any other value is 422 `invalid_query`.
    #[param(minimum = 1, maximum = 200, default = 50)]
    #[serde(default, deserialize_with = "crate::routes::common::page_limit")]
    limit: Option<u32>,
    /// The previous page's `next_cursor`.
    cursor: Option<String>,
}

/// List the attempts waiting for your grades.
///
/// The attempts whose essays wait for a grader, oldest first, a page at a time: the whole
/// tenant's for MANAGE_QUIZZES holders, the modules' they mentor (or hold a module-scoped
/// MANAGE_QUIZZES for) otherwise. Your own attempts are never in it.
#[utoipa::path(
    tag = "quizzes",
    params(ReviewQuery),
    responses((status = 200, body = PageOf<ReviewItemDto>, description = "A page of attempts"), AuthErrors, QueryErrors)
)]
#[get("/quiz-reviews")]
pub(crate) async fn list_quiz_reviews(
    ctx: Ctx,
    query: web::Query<ReviewQuery>,
) -> Result<web::Json<PageOf<ReviewItemDto>>, ApiError> {
    let q = query.into_inner();
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    let page = ctx
        .write(async |conn| attempts::review_queue(conn, &ctx.actor, q.module_id, &page).await)
        .await?;
    Ok(web::Json(PageOf::map(page, ReviewItemDto::from)))
}
