//! A member's progress on a VIDEO section: `/v1/sections/{section_id}/video-progress` (what the
//! player played, merged, and where to resume). Completing a section is under `/modules`
//! ([`super::modules::progress`]).

use actix_web::{get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::routes::common::{AuthErrors, InputErrors, NotFound};
use crate::routes::segment;

/// Registers `/v1/sections`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/sections")
            .service(submit_video_progress)
            .service(get_video_progress),
    );
}

/// Your progress on a VIDEO section.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VideoProgressDto {
    section_id: Uuid,
    module_id: Uuid,
    /// The longest duration your player reported, in seconds.
    duration_seconds: f64,
    /// What you played, merged: sorted, disjoint `[from, to]` intervals in seconds.
    #[schema(value_type = Vec<Interval>)]
    watched: Vec<(f64, f64)>,
    /// Seconds of `watched`.
    watched_seconds: f64,
    /// `watched_seconds` over the duration, 0 to 100, rounded down.
    watched_percent: i32,
    /// Where to resume, in seconds.
    position_seconds: f64,
    /// The share the tenant requires before the section can be completed (0: none).
    required_percent: i32,
    updated_at: DateTime<Utc>,
}

impl From<guild_progress::video::VideoProgress> for VideoProgressDto {
    fn from(v: guild_progress::video::VideoProgress) -> Self {
        Self {
            section_id: v.section_id,
            module_id: v.module_id,
            duration_seconds: v.duration_seconds,
            watched: v.watched,
            watched_seconds: v.watched_seconds,
            watched_percent: v.watched_percent,
            position_seconds: v.position_seconds,
            required_percent: v.required_percent,
            updated_at: v.updated_at,
        }
    }
}

/// A played interval `[from, to]` in seconds (the schema of the intervals' items).
pub(crate) struct Interval;

impl utoipa::PartialSchema for Interval {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
        ArrayBuilder::new()
            .items(ObjectBuilder::new().schema_type(SchemaType::new(Type::Number)))
            .min_items(Some(2))
            .max_items(Some(2))
            .description(Some(
                "`[from, to]` in seconds, `0 <= from < to <= duration`.",
            ))
            .examples([serde_json::json!([0.0, 42.5])])
            .into()
    }
}

impl ToSchema for Interval {}

/// What your player played since its last report.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "intervals": [[0.0, 42.5], [60.0, 75.0]], "position": 75.0, "duration": 300.0 }))]
pub(crate) struct VideoProgressBody {
    /// The intervals actually played, `[from, to]` in seconds with `0 <= from < to <= duration`
    /// (up to 200); a jump ahead is not played, so it is not reported.
    #[validate(length(max = 200))]
    #[schema(value_type = Vec<Interval>, max_items = 200)]
    intervals: Vec<(f64, f64)>,
    /// Where the player is now, in seconds (0 to `duration`): where you resume.
    #[validate(range(min = 0.0, max = 86_400.0))]
    #[schema(minimum = 0.0, maximum = 86_400.0)]
    position: f64,
    /// The video's duration in seconds (above 0, at most a day).
    #[validate(range(exclusive_min = 0.0, max = 86_400.0))]
    #[schema(exclusive_minimum = 0, maximum = 86_400.0)]
    duration: f64,
}

/// Report video progress.
///
/// Your player reports what it played of a VIDEO section of a module you can see: the watched
/// share is the union of every interval reported (overlaps count once, seeking ahead adds
/// nothing); the position is where you resume. The tenant's `video_completion_percent` (default
/// 90) must be watched before completing the section (409 `video_not_watched`). 404
/// `section_not_found`; 422 `validation_failed` for an interval outside the video, a position
/// past it, or a section that is not a video (`not_a_video`).
#[utoipa::path(
    tag = "progress",
    params(("section_id" = Uuid, Path, description = "The VIDEO section")),
    request_body = VideoProgressBody,
    responses((status = 200, body = VideoProgressDto, description = "Your progress on the video"), AuthErrors, InputErrors, NotFound)
)]
#[post("/sections/{section_id}/video-progress")]
pub(crate) async fn submit_video_progress(
    ctx: Ctx,
    path: web::Path<Uuid>,
    body: ValidJson<VideoProgressBody>,
) -> Result<web::Json<VideoProgressDto>, ApiError> {
    let section = path.into_inner();
    let b = body.into_inner();
    let report = guild_progress::video::Report {
        intervals: b.intervals,
        position: b.position,
        duration: b.duration,
    };
    let progress = ctx
        .write(async |conn| {
            guild_progress::video::report(conn, &ctx.actor, section, &report, ctx.now).await
        })
        .await?;
    Ok(web::Json(progress.into()))
}

/// Get your video progress.
///
/// What you watched of a VIDEO section and where to resume; `null` before your first report.
/// 404 `section_not_found` (also for a section that is not a video).
#[utoipa::path(
    tag = "progress",
    params(("section_id" = Uuid, Path, description = "The VIDEO section")),
    responses((status = 200, body = Option<VideoProgressDto>, description = "Your progress on the video, or null"), AuthErrors, NotFound)
)]
#[get("/sections/{section_id}/video-progress")]
pub(crate) async fn get_video_progress(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<Option<VideoProgressDto>>, ApiError> {
    let section = path.into_inner();
    let progress = ctx
        .write(async |conn| guild_progress::video::get(conn, &ctx.actor, section).await)
        .await?;
    Ok(web::Json(progress.map(VideoProgressDto::from)))
}
