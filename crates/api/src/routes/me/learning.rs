//! "My learning": `GET /v1/me/learning` (the modules and learning paths you were assigned or
//! enrolled in, with your progress on each). Enrolling is under `/modules` and `/paths`.

use actix_web::{HttpResponse, get};
use chrono::{DateTime, Utc};
use guild_progress::enrolment::{self, LearningModule, MyLearning};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::routes::common::AuthErrors;
use crate::routes::paths::PathSummaryDto;

/// A module you are assigned or enrolled in, with your progress.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LearningModuleDto {
    module_id: Uuid,
    title: String,
    assigned: bool,
    enrolled: bool,
    mandatory: bool,
    due_at: Option<DateTime<Utc>>,
    sections_done: i64,
    sections_total: i64,
    /// 0 to 100 (sections; 100 once completed).
    percent: i32,
    completed_at: Option<DateTime<Utc>>,
}

impl From<LearningModule> for LearningModuleDto {
    fn from(m: LearningModule) -> Self {
        Self {
            module_id: m.module_id,
            title: m.title,
            assigned: m.assigned,
            enrolled: m.enrolled,
            mandatory: m.mandatory,
            due_at: m.due_at,
            sections_done: m.sections_done,
            sections_total: m.sections_total,
            percent: m.percent,
            completed_at: m.completed_at,
        }
    }
}

/// What you are learning.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MyLearningDto {
    /// Published modules assigned to you or that you enrolled in, by title.
    modules: Vec<LearningModuleDto>,
    /// Published paths assigned to you or that you enrolled in: overdue first, then by due date.
    paths: Vec<PathSummaryDto>,
}

impl From<MyLearning> for MyLearningDto {
    fn from(m: MyLearning) -> Self {
        Self {
            modules: m.modules.into_iter().map(LearningModuleDto::from).collect(),
            paths: m.paths.into_iter().map(PathSummaryDto::from).collect(),
        }
    }
}

/// Get what you are learning.
///
/// The published modules and learning paths assigned to your groups or that you enrolled in,
/// with your progress on each.
#[utoipa::path(tag = "paths",
    responses((status = 200, body = MyLearningDto, description = "Your modules and paths"), AuthErrors))]
#[get("/me/learning")]
pub(crate) async fn get_my_learning(ctx: Ctx) -> Result<HttpResponse, ApiError> {
    let now = ctx.now;
    let learning = ctx
        .read(async |conn| enrolment::my_learning(conn, &ctx.actor, now).await)
        .await?;
    Ok(HttpResponse::Ok().json(MyLearningDto::from(learning)))
}
