//! `/v1/me/recommendations`: "next for you", modules that members who completed the same modules
//! went on to complete (`guild_progress::recommendations`). No model is needed.

use actix_web::{get, web};
use guild_progress::recommendations::{self, DEFAULT_LIMIT, MAX_LIMIT, Recommendation};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::routes::common::AuthErrors;
use crate::routes::quizzes::QueryErrors;

/// `?limit=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecommendationsQuery {
    /// How many, 1 to 50 (default 10); any other value is 422 `invalid_query`.
    #[param(minimum = 1, maximum = 50, default = 10)]
    #[serde(default, deserialize_with = "limit")]
    limit: Option<u32>,
}

/// Reads `limit`, refusing a value outside 1 to [`MAX_LIMIT`] as the parameter documents.
fn limit<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    match Option::<u32>::deserialize(d)? {
        Some(n) if !(1..=MAX_LIMIT).contains(&n) => Err(serde::de::Error::custom(format!(
            "limit must be 1 to {MAX_LIMIT}, got {n}"
        ))),
        other => Ok(other),
    }
}

/// The module of yours a recommendation follows from.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BecauseDto {
    /// A module you completed.
    module_id: Uuid,
    title: String,
    /// Members who completed both it and the recommended module.
    members: i64,
}

/// A recommended module, with why.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RecommendationDto {
    module_id: Uuid,
    title: String,
    description: String,
    /// `co_completers × (1 + number of shared_tags)`: the order, highest first (then
    /// `co_completers`, title, id).
    score: i64,
    /// Other members who completed it and one of the modules you completed.
    co_completers: i64,
    /// The module you completed it is most often completed with.
    because: BecauseDto,
    /// Its tags that one of the modules you completed carries, by name.
    shared_tags: Vec<String>,
    /// The reason in words ("Completed by 3 members who also completed Fire safety basics;
    /// shared tags: safety").
    reason: String,
}

impl From<Recommendation> for RecommendationDto {
    fn from(r: Recommendation) -> Self {
        Self {
            reason: r.reason(),
            module_id: r.module_id,
            title: r.title,
            description: r.description,
            score: r.score,
            co_completers: r.co_completers,
            because: BecauseDto {
                module_id: r.because_module_id,
                title: r.because_title,
                members: r.because_members,
            },
            shared_tags: r.shared_tags,
        }
    }
}

/// Your recommendations: never paginated, at most `limit`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RecommendationsDto {
    /// Best first.
    data: Vec<RecommendationDto>,
}

/// Get modules recommended to you.
///
/// Any member: published modules you may see that members who completed the same modules as you
/// went on to complete, weighted by the tags they share with what you completed; never one you
/// completed, are enrolled in or have been assigned. Each says why. Nothing when you have
/// completed nothing yet. Works without an AI model.
#[utoipa::path(tag = "progress", params(RecommendationsQuery),
    responses((status = 200, body = RecommendationsDto, description = "Your recommendations"), AuthErrors, QueryErrors))]
#[get("/me/recommendations")]
pub(crate) async fn list_my_recommendations(
    ctx: Ctx,
    query: web::Query<RecommendationsQuery>,
) -> Result<web::Json<RecommendationsDto>, ApiError> {
    let limit = query.into_inner().limit.unwrap_or(DEFAULT_LIMIT);
    let found = ctx
        .write(async |conn| recommendations::for_member(conn, &ctx.actor, limit).await)
        .await?;
    Ok(web::Json(RecommendationsDto {
        data: found.into_iter().map(RecommendationDto::from).collect(),
    }))
}
